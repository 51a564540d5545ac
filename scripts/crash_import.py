"""Kills `assure evidence import` of a large batch while it writes the ledger, many times, and checks
that every batch is all or nothing: the reader sees whole batches only, `evidence verify` reports
the remains of an interrupted batch, and the next import removes them.

    python3 scripts/crash_import.py ASSURE_BIN [TRIALS] [FILES]

Each trial imports FILES one-row CSV files as one batch (new content each trial, so nothing is
deduplicated) and sends SIGKILL the moment the ledger file starts to grow, after a delay that moves
through the write from trial to trial.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time


def ledger_lines(path: str) -> list[str]:
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace").split("\n")


def state(path: str) -> tuple[int, int, dict]:
    """(committed entries, lines after the last committed entry, entries per committed batch)."""
    lines = [l for l in ledger_lines(path) if l]
    last_commit = -1
    for i, l in enumerate(lines):
        try:
            if json.loads(l).get("commit") is not None:
                last_commit = i
        except json.JSONDecodeError:
            pass
    batches: dict = {}
    for l in lines[: last_commit + 1]:
        e = json.loads(l)
        batches.setdefault(e.get("batch"), [0, None])
        batches[e.get("batch")][0] += 1
        if e.get("commit") is not None:
            batches[e.get("batch")][1] = e["commit"]
    return last_commit + 1, len(lines) - last_commit - 1, batches


def main() -> None:
    bin_ = sys.argv[1]
    trials = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    files = int(sys.argv[3]) if len(sys.argv) > 3 else 8000
    work = tempfile.mkdtemp()
    project = os.path.join(work, "p")
    subprocess.run([bin_, "init", project], check=True, capture_output=True)
    ledger = os.path.join(project, ".assure", "evidence", "ledger.jsonl")
    mid_write = whole = before_write = 0
    for trial in range(trials):
        src = os.path.join(work, f"in{trial}")
        os.makedirs(src)
        for i in range(files):
            with open(os.path.join(src, f"t{i:05}.csv"), "w") as f:
                f.write(f"email,course,completed_at\nu{i}-{trial}@x.example,sec,2026-01-01T09:00:00Z\n")
        size0 = os.path.getsize(ledger) if os.path.exists(ledger) else 0
        committed0, _, _ = state(ledger) if size0 else (0, 0, {})
        delay = (trial % 10) * 0.0005
        child = subprocess.Popen([bin_, "evidence", "import", "-p", project, src],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        grown_at = None
        while child.poll() is None:
            size = os.path.getsize(ledger) if os.path.exists(ledger) else 0
            if size > size0:
                grown_at = time.monotonic()
                time.sleep(delay)
                break
        os.kill(child.pid, signal.SIGKILL) if child.poll() is None else None
        child.wait()
        committed, remains, batches = state(ledger)
        for b, (n, commit) in batches.items():
            assert n == commit, f"trial {trial}: batch {b} has {n} entries but commits {commit}"
        added = committed - committed0
        assert added in (0, files), f"trial {trial}: {added} of {files} entries committed"
        if added == files:
            whole += 1
        elif remains > 0:
            mid_write += 1
        else:
            before_write += 1
        out = subprocess.run([bin_, "evidence", "verify", "-p", project], capture_output=True, text=True)
        said = [l for l in (out.stdout + out.stderr).strip().splitlines() if "uncommitted" in l.lower()] or \
            (out.stdout + out.stderr).strip().splitlines()[-1:]
        if remains > 0:
            assert out.returncode != 0 and "uncommitted" in (out.stdout + out.stderr).lower(), \
                f"trial {trial}: verify did not report {remains} uncommitted lines: {said[:3]}"
        print(f"trial {trial:2}: killed {'mid-write' if remains else 'after commit' if added else 'before the write'}"
              f" ({remains} uncommitted lines on disk); committed +{added}; verify: {said[0].strip() if said else ''}",
              flush=True)
    # The next import removes the remains and the ledger verifies.
    final = subprocess.run([bin_, "evidence", "import", "-p", project, os.path.join(work, "in0")],
                           capture_output=True, text=True)
    out = subprocess.run([bin_, "evidence", "verify", "-p", project], capture_output=True, text=True)
    print(f"{trials} trials of {files} files: {mid_write} killed mid-write, {whole} whole, "
          f"{before_write} before the write; every batch all or nothing; final verify exit {out.returncode}")
    assert out.returncode == 0, out.stdout + out.stderr
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
