#!/usr/bin/env bash
# Fuzzes every connector and the ledger reader with cargo-fuzz (libFuzzer) for a bounded time each,
# starting from the corpus kept in fuzz/corpus (seeded with every connector's fixture and every input
# that once crashed, plus what earlier runs found, minimised, in corpus/<target>-grown.tar.gz). A crash, an uncontained panic, a timeout or an allocation over the limit fails
# the run and leaves the input in fuzz/artifacts/<target>/: fix it and keep it as a regression
# fixture under crates/assure-evidence/fixtures/crashes/.
#
#   bash scripts/fuzz.sh                 # 60 s per target (CI)
#   FUZZ_SECONDS=1800 bash scripts/fuzz.sh --keep   # longer, and keep what grows coverage
#
# cargo-fuzz needs flags only nightly compilers accept; RUSTC_BOOTSTRAP lets this stable toolchain
# take them (the machine has one toolchain and fetches no other).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
keep=0
[ "${1:-}" = "--keep" ] && keep=1
export RUSTC_BOOTSTRAP=1
target_dir="${CARGO_TARGET_DIR:-$PWD/target}-fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz from crates.io"
  cargo install -q --locked cargo-fuzz@0.13.2
fi

cd fuzz
cargo fuzz build -O --debug-assertions --target-dir "$target_dir" 2>&1 | grep -v "^\s*Compiling" || true
bin_dir="$target_dir/x86_64-unknown-linux-gnu/release"
status=0
limits=(-rss_limit_mb=3072 -malloc_limit_mb=2048 -timeout=30 -max_len=262144)
for target in connector ledger; do
  work="$(mktemp -d)"
  mkdir -p "$work/new" "$work/grown" "artifacts/$target"
  # The seeds are files in corpus/<target>/; what earlier runs found is kept minimised in
  # corpus/<target>-grown.tar.gz (thousands of small files, so one archive).
  if [ -f "corpus/$target-grown.tar.gz" ]; then
    tar xzf "corpus/$target-grown.tar.gz" -C "$work/grown" --strip-components=1
  fi
  echo "== fuzz $target for ${seconds}s (corpus: $(ls "corpus/$target" | wc -l) seeds, $(ls "$work/grown" | wc -l) kept)"
  # The connector target also reads a canonical CSV in blocks on worker threads; glibc's record of
  # each finished thread's thread-local destructors is reported as a leak there, so leaks are not
  # looked for in that target (its other checks all stand).
  extra=()
  [ "$target" = connector ] && extra=(-detect_leaks=0)
  if ! "$bin_dir/$target" "$work/new" "corpus/$target" "$work/grown" -max_total_time="$seconds" "${limits[@]}" "${extra[@]}" \
      -artifact_prefix="artifacts/$target/" -print_final_stats=1 2>"$work/log"; then
    status=1
    tail -40 "$work/log"
  fi
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ *DONE)" "$work/log" || tail -3 "$work/log"
  if [ "$keep" = 1 ] && [ "$status" = 0 ]; then
    # Keep what adds coverage, minimised, back in the archive.
    mkdir -p "$work/merged/$target"
    "$bin_dir/$target" -merge=1 "$work/merged/$target" "corpus/$target" "$work/grown" "$work/new" "${limits[@]}" 2>/dev/null
    tar czf "corpus/$target-grown.tar.gz" -C "$work/merged" "$target"
    echo "kept corpus: $(ls "$work/merged/$target" | wc -l) files"
  fi
  rm -rf "$work"
done
if [ "$status" != 0 ]; then
  echo "fuzzing found a crash: see fuzz/artifacts/" >&2
fi
exit "$status"
