#!/usr/bin/env bash
# Proves that Assure's control tests run unchanged on Apache DataFusion Ballista: builds
# distributed/ballista-proof (its own workspace; the product does not link Ballista), generates a
# synthetic company, emits the expanded SQL of every test (`assure test --emit-sql`), and runs each
# on embedded DataFusion and on a Ballista standalone cluster, comparing the counts.
#
#   bash scripts/ballista-proof.sh [PEOPLE]       # ASSURE_BIN=path to use a binary you built
set -euo pipefail
cd "$(dirname "$0")/.."
PEOPLE="${1:-300}"
bin="${ASSURE_BIN:-}"
if [ -z "$bin" ]; then
  cargo build -q -p assure
  bin="${CARGO_TARGET_DIR:-target}/debug/assure"
fi
proof_target="${CARGO_TARGET_DIR:-$PWD/target}-ballista"
(cd distributed/ballista-proof && cargo build -q --target-dir "$proof_target")
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin" init --template saas "$work/p" >/dev/null
"$bin" synth -p "$work/p" -o "$work/exports" --people "$PEOPLE" >/dev/null
"$bin" evidence import -p "$work/p" "$work"/exports/*.csv >/dev/null 2>&1
"$bin" test "$work/p" --as-of 2026-12-31 --emit-sql "$work/sql" >/dev/null
"$proof_target/debug/ballista-proof" "$work/exports" "$work/sql"
