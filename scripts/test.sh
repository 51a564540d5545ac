#!/usr/bin/env bash
# The README's test command: installs the independent readers the tests use (if missing),
# checks that PostgreSQL is reachable (the web tests run on it and never skip), then runs every
# Rust test. Safe to run again; it installs nothing that is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=""
command -v pdftotext >/dev/null 2>&1 || need_apt="$need_apt poppler-utils"
command -v psql >/dev/null 2>&1 || need_apt="$need_apt postgresql-client"
command -v openssl >/dev/null 2>&1 || need_apt="$need_apt openssl"
command -v npm >/dev/null 2>&1 || need_apt="$need_apt nodejs npm"
if [ -n "$need_apt" ]; then
  echo "installing:$need_apt"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need_apt >/dev/null
fi
if ! python3 -c "import openpyxl, docx, trestle, schemathesis, moto.server, aiosmtpd" >/dev/null 2>&1; then
  echo "installing openpyxl, python-docx (reads the Word drafts back), compliance-trestle, schemathesis, moto (an AWS API server for the object-storage and collector tests) and aiosmtpd (an SMTP server for the email-alert test) from PyPI"
  python3 -m pip install -q --disable-pip-version-check "openpyxl==3.1.5" "python-docx==1.2.0" "compliance-trestle==5.2.0" "schemathesis==4.32.5" "moto[server]==5.2.1" "aiosmtpd==1.4.6"
fi
if [ ! -d tests/fixtures-server/node_modules/@octokit/fixtures-server ]; then
  echo "installing @octokit/fixtures-server from npm (replays recorded API answers for the collector tests)"
  (cd tests/fixtures-server && npm ci --no-audit --no-fund --silent)
fi
if ! psql -h 127.0.0.1 -U postgres -d test -Atc "select 1" >/dev/null; then
  echo "PostgreSQL is not reachable at 127.0.0.1:5432 (user postgres, database test); the web tests need it" >&2
  exit 1
fi

cargo test --workspace
