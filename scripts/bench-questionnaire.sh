#!/usr/bin/env bash
# Questionnaire benchmark: a 300-question workbook answered, and a 10 MB workbook (300 questions
# beside a 450,000-cell reference sheet, whole-sheet validations) read, answered and written back.
# Beside it, openpyxl (what a user would script) loading the same 10 MB workbook.
#
#   scripts/bench-questionnaire.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --release -q -p assure-questionnaire --example qbench
bin="$CARGO_TARGET_DIR/release/examples/qbench"
work=out/bench-questionnaire
rm -rf "$work"; mkdir -p "$work"
python3 scripts/bench_questionnaire.py write "$work"
for f in q300.xlsx big.xlsx; do
  /usr/bin/time -f "  peak memory %M KB, %e s in all" "$bin" "$work/$f"
done
python3 -c "import openpyxl" 2>/dev/null || python3 -m pip install -q "openpyxl==3.1.5"
read -r secs rss cells < <(python3 scripts/bench_questionnaire.py openpyxl "$work/big.xlsx" 2>/dev/null)
echo "openpyxl load_workbook of big.xlsx: $secs s, peak memory $((rss * 1024)) KB, $cells cells"
