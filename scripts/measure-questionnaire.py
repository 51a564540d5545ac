"""Measures how well `assure questionnaire answer` answers a company's questionnaire from that
company's own earlier answers: LIBRARY is one completed questionnaire (imported into the answer
library), TARGET another completed questionnaire of the same company, whose answers are the truth.
Both are `id|question|answer` lines. The project has no controls, policies or subservice
organisations, so every answer comes from the library (or is an abstention).

  python3 scripts/measure-questionnaire.py ASSURE_BIN LIBRARY.psv TARGET.psv [MODEL_DIR]

With MODEL_DIR (a build with `--features semantic`), the library is matched by meaning too.

Classes: Yes, No, Partial, N/A (a compensating or inherited control, `CC`, counts as N/A).
Balanced accuracy is the mean over the truth's classes of the share of that class answered right;
"always yes" scores 1/k on it however common yes is.
"""
import csv, json, os, shutil, subprocess, sys, tempfile
from collections import Counter, defaultdict

CLASS = {"y": "Yes", "yes": "Yes", "n": "No", "no": "No", "p": "Partial", "partial": "Partial",
         "n/a": "N/A", "na": "N/A", "cc": "N/A", "csp-inherited": "N/A"}

def rows(path):
    out = []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.strip():
            i, q, a = line.split("|")
            out.append((i, q, CLASS[a.strip().lower()]))
    return out

def main(bin_, lib_path, target_path, model=None):
    work = tempfile.mkdtemp()
    proj = os.path.join(work, "p")
    subprocess.run([bin_, "init", proj], check=True, capture_output=True)
    for d in ("controls", "policies", "tests"):
        shutil.rmtree(os.path.join(proj, d), ignore_errors=True)
    lib_csv = os.path.join(work, "library.csv")
    with open(lib_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Question ID", "Question", "Answer"])
        for i, q, a in rows(lib_path):
            w.writerow([i, q, a])
    subprocess.run([bin_, "questionnaire", "library", "add", lib_csv, "-p", proj, "--owner", "measure@example.com"], check=True, capture_output=True)
    truth = rows(target_path)
    tgt_csv = os.path.join(work, "target.csv")
    with open(tgt_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Question ID", "Question", "Answer"])
        for i, q, _ in truth:
            w.writerow([i, q, ""])
    cmd = [bin_, "questionnaire", "answer", tgt_csv, "-p", proj, "--json"] + (["--model", model] if model else [])
    r = subprocess.run(cmd, check=True, capture_output=True, text=True)
    got = {}
    for line in r.stdout.splitlines():
        v = json.loads(line)
        cls = {"yes": "Yes", "no": "No", "partial": "Partial", "not_applicable": "N/A"}.get(v["class"])
        got[v["id"]] = (cls, v["level"])
    per = defaultdict(lambda: [0, 0])  # class -> [right, answered]
    per_all = defaultdict(lambda: [0, 0])  # class -> [right, total]
    abstained = 0
    high = [0, 0]
    levels = defaultdict(lambda: [0, 0])
    confusion = Counter()
    for i, _, t in truth:
        cls, level = got.get(i, (None, "none"))
        per_all[t][1] += 1
        if cls is None:
            abstained += 1
            confusion[(t, "abstain")] += 1
            continue
        confusion[(t, cls)] += 1
        per[t][1] += 1
        if cls == t:
            per[t][0] += 1
            per_all[t][0] += 1
        levels[level][1] += 1
        levels[level][0] += cls == t
        if level == "high":
            high[1] += 1
            high[0] += cls == t
    n = len(truth)
    answered = n - abstained
    ba = sum(r / a for r, a in per.values() if a) / max(1, sum(1 for r, a in per.values() if a))
    ba_all = sum(r / a for r, a in per_all.values()) / len(per_all)
    print(f"questions: {n}; truth: {dict(Counter(t for _, _, t in truth))}")
    print(f"answered {answered}, abstained {abstained} ({abstained / n:.1%})")
    print(f"balanced accuracy of the answers given: {ba:.3f} (over {sum(1 for r, a in per.values() if a)} classes answered)")
    print(f"balanced accuracy counting abstentions as wrong: {ba_all:.3f}; 'always yes' scores {1 / len(per_all):.3f}")
    print(f"raw agreement of the answers given: {sum(r for r, _ in per.values()) / max(1, answered):.3f}")
    print(f"high-confidence answers: {high[1]}, right {high[0]} ({high[0] / max(1, high[1]):.1%})")
    print("by confidence: " + ", ".join(f"{l}: {r}/{a} right" for l, (r, a) in sorted(levels.items())))
    print("confusion (truth -> answer): " + ", ".join(f"{t}->{a}: {c}" for (t, a), c in sorted(confusion.items())))
    shutil.rmtree(work)

if __name__ == "__main__":
    main(*sys.argv[1:5])
