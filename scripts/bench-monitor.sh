#!/usr/bin/env bash
# Monitoring cycle benchmark: a synthetic company (default 20,000 people), every export imported,
# then (1) a baseline cycle, (2) cycles with no new evidence (the steady state of hourly
# monitoring) and (3) a cycle after one small new export, which re-runs only the tests that read
# it. Beside them, `assure test --full` on the same data: what a cycle would cost without reuse.
#
#   scripts/bench-monitor.sh [PEOPLE]
#
# ASSURE_BIN=path runs a binary you built (e.g. the debug build) instead of building release.
set -euo pipefail
cd "$(dirname "$0")/.."
PEOPLE="${1:-20000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
if [ -n "${ASSURE_BIN:-}" ]; then
  bin="$ASSURE_BIN"
else
  cargo build --release -q --bin assure
  bin="$CARGO_TARGET_DIR/release/assure"
fi
work=out/bench-monitor
rm -rf "$work"
mkdir -p "$work"
"$bin" init --template saas "$work/p" >/dev/null
"$bin" synth -p "$work/p" -o "$work/exports" --people "$PEOPLE" >/dev/null
echo "data: $(ls "$work"/exports/*.csv | wc -l) CSV files, $(cat "$work"/exports/*.csv | wc -c) bytes, $PEOPLE people"
"$bin" evidence import -p "$work/p" "$work"/exports/*.csv >/dev/null 2>&1
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
t0=$(now); "$bin" monitor "$work/p" --once --as-of 2026-12-31 > "$work/baseline.txt"; t1=$(now)
echo "baseline cycle (every test runs): $(secs "$t0" "$t1") s"
for i in 1 2 3; do
  t0=$(now); "$bin" monitor "$work/p" --once --as-of 2026-12-31 > "$work/quiet-$i.txt"; t1=$(now)
  echo "cycle with no new evidence #$i: $(secs "$t0" "$t1") s: $(sed -n 2p "$work/quiet-$i.txt" | sed 's/^ *//')"
done
python3 - "$work" <<'PY'
import sys
work = sys.argv[1]
lines = open(f"{work}/exports/changes.csv").read().splitlines()
open(f"{work}/changes-new.csv", "w").write("\n".join([lines[0]] + ["inc-" + l for l in lines[1:101]]) + "\n")
PY
"$bin" evidence import -p "$work/p" "$work/changes-new.csv" >/dev/null 2>&1
t0=$(now); "$bin" monitor "$work/p" --once --as-of 2026-12-31 > "$work/one-export.txt"; t1=$(now)
echo "cycle after one new export (100 changes): $(secs "$t0" "$t1") s: $(sed -n 2p "$work/one-export.txt" | sed 's/^ *//')"
t0=$(now); "$bin" test "$work/p" --as-of 2026-12-31 --full > /dev/null; t1=$(now)
echo "assure test --full on the same data (no reuse): $(secs "$t0" "$t1") s"
echo "history: $(wc -c < "$work/p/.assure/monitor/history.jsonl") bytes for $(wc -l < "$work/p/.assure/monitor/history.jsonl") cycles"
