#!/usr/bin/env bash
# The README's test command: installs the independent readers the tests use (if missing),
# finds PostgreSQL (the web tests run on it and never skip): the machine's at 127.0.0.1:5432, or
# ASSURE_TEST_PG=host:port; when none answers there it installs PostgreSQL from Debian's packages
# if needed and runs a throwaway cluster on a free port for this run only (stopped and deleted at
# the end). Then runs every Rust test. Safe to run again; it installs nothing already there.
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
export ASSURE_TEST_PG="${ASSURE_TEST_PG:-127.0.0.1:5432}"
pg_host="${ASSURE_TEST_PG%:*}"
pg_port="${ASSURE_TEST_PG##*:}"
if ! psql -h "$pg_host" -p "$pg_port" -U postgres -d test -Atc "select 1" >/dev/null 2>&1; then
  echo "no PostgreSQL answers at $ASSURE_TEST_PG (user postgres, database test): starting a throwaway cluster for this run"
  bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "installing postgresql from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  fi
  # A free port, and a cluster owned by an unprivileged user (PostgreSQL refuses to run as root).
  pg_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  pg_dir="$(mktemp -d /tmp/assure-test-pg.XXXXXX)"
  runas=()
  if [ "$(id -u)" = 0 ]; then
    id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$pg_dir"
    runas=(runuser -u postgres --)
  fi
  "${runas[@]}" "$bindir/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
  "${runas[@]}" "$bindir/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir -c fsync=off" start >/dev/null
  stop_pg() {
    "${runas[@]}" "$bindir/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  }
  trap stop_pg EXIT
  psql -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -Atc "create database test" >/dev/null
  export ASSURE_TEST_PG="127.0.0.1:$pg_port"
  echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') is listening on $ASSURE_TEST_PG for this run"
fi

# Arguments narrow the run (`bash scripts/test.sh -p assure-web`); without them, every test.
if [ "$#" -gt 0 ]; then
  cargo test "$@"
else
  cargo test --workspace
fi
