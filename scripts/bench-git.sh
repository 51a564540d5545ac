#!/usr/bin/env bash
# Benchmark of the git-log connector: builds a repository of COMMITS mainline commits (default
# 100,000; every tenth a merge of a one-commit branch, trailers with reviewers, co-authors and
# ticket keys) with `git fast-import`, then times, in one run on the same repository: `git log`
# writing the history the connector reads (the floor: what any tool must spend to read it), and
# `assure evidence import` of the repository (git log, parsing, validation, columnar copy, ledger).
# Prints both times, the ratio and the peak memory. ASSURE_BIN=PATH measures a binary you built;
# without it the script builds a release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
COMMITS="${1:-100000}"
BIN="${ASSURE_BIN:-}"
if [ -z "$BIN" ]; then
  cargo build -q --release -p assure
  BIN="${CARGO_TARGET_DIR:-target}/release/assure"
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
REPO="$WORK/repo"
git init -q -b main "$REPO"
python3 - "$COMMITS" <<'PY' | git -C "$REPO" fast-import --quiet
import sys
n = int(sys.argv[1])
people = [f"dev{i}" for i in range(200)]
out = sys.stdout
mark = 0
t0 = 1_700_000_000
def commit(ref, author, msg, ts, parent=None, merge=None):
    global mark
    mark += 1
    data = msg.encode()
    out.write(f"commit {ref}\nmark :{mark}\n")
    out.write(f"author {author} <{author}@example.com> {ts} +0000\n")
    out.write(f"committer {author} <{author}@example.com> {ts} +0000\n")
    out.write(f"data {len(data)}\n{msg}\n")
    if parent:
        out.write(f"from :{parent}\n")
    if merge:
        out.write(f"merge :{merge}\n")
    out.write(f"M 644 inline f{mark % 50}.txt\ndata {len(str(mark))}\n{mark}\n\n")
    return mark
last = None
for i in range(n):
    a = people[i % len(people)]
    r = people[(i * 7 + 3) % len(people)]
    ts = t0 + i * 60
    if i % 10 == 9 and last:
        b = commit(f"refs/heads/b{i}", a, f"work on ENG-{i}\n", ts - 30, parent=last)
        last = commit("refs/heads/main", r, f"Merge pull request #{i} from org/feature/ENG-{i}-x\n\nReviewed-by: {r} <{r}@example.com>\n", ts, parent=last, merge=b)
    else:
        body = f"Change {i} (#{i})\n\nFixes #{i}\nReviewed-by: {r} <{r}@example.com>\nCo-authored-by: {people[(i+1)%200]} <{people[(i+1)%200]}@example.com>\n"
        last = commit("refs/heads/main", a, body, ts, parent=last)
PY
echo "repository: $(git -C "$REPO" rev-list --count HEAD) commits, $(git -C "$REPO" rev-list --first-parent --count HEAD) on the mainline"
"$BIN" init --template saas "$WORK/p" >/dev/null 2>&1
t() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -1; }
read -r GIT_S GIT_KB < <(t git -C "$REPO" log --first-parent "--format=%x1e%H%x1f%P%x1f%aN%x1f%aE%x1f%aI%x1f%cN%x1f%cE%x1f%cI%x1f%s%x1f%b" HEAD)
read -r IMP_S IMP_KB < <(t "$BIN" evidence import -p "$WORK/p" --period 2023-01-01..2026-12-31 "$REPO")
python3 - "$GIT_S" "$GIT_KB" "$IMP_S" "$IMP_KB" "$COMMITS" <<'PY'
import sys
g, gk, i, ik, n = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f"git log (the floor)      {g:7.2f} s  {gk/1024:7.1f} MB peak")
print(f"assure evidence import   {i:7.2f} s  {ik/1024:7.1f} MB peak  ({n/i:,.0f} commits/s)")
print(f"ratio import / git log   {i/g:7.2f}x")
PY
