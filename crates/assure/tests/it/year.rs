//! The compliance year end to end: test and report 2026, roll to 2027, import and test a synthetic
//! 2027, and check that 2026 stays frozen, 2027 shows only 2027 and the comparison shows both.

use std::collections::BTreeSet;
use std::path::Path;

use crate::cli::assure;

fn planted(path: &Path) -> BTreeSet<(String, String)> {
    let v: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v.iter()
        .map(|p| {
            (
                p["test"].as_str().unwrap().to_string(),
                p["item"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn failures(run: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for t in run["tests"].as_array().unwrap() {
        for i in t["items"].as_array().unwrap() {
            if i["status"] == "fail" {
                out.insert((
                    t["id"].as_str().unwrap().to_string(),
                    i["item"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    out
}

#[test]
fn a_year_rolls_forward_without_mixing_periods_and_the_closed_year_stays_frozen() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let r = assure(&["demo", "d", "--people", "60", "--seed", "5"], None, cwd);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let planted_2026 = planted(&cwd.join("d/exports/_planted.json"));

    // 2026, tested and reported before the roll.
    for (kind, out) in [
        ("soc2", "before-soc2.pdf"),
        ("matrix", "before-matrix.xlsx"),
        ("soc3", "before-soc3.html"),
    ] {
        let r = assure(
            &["report", kind, "-p", "d", "--as-of", "2027-01-15", "-o", out],
            None,
            cwd,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr.contains("period 2026 (2026-01-01 to 2026-12-31, open)"),
            "{}",
            r.stderr
        );
    }

    // A period cannot close before it ends; then the roll closes 2026 and opens 2027.
    let r = assure(&["period", "close", "-p", "d", "--on", "2026-12-30"], None, cwd);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("before it has ended"), "{}", r.stderr);
    let r = assure(
        &[
            "period",
            "roll",
            "-p",
            "d",
            "--on",
            "2027-01-15",
            "--issued-on",
            "2027-02-20",
        ],
        None,
        cwd,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("soc2.pdf frozen as ledger entry"), "{}", r.stderr);
    let r = assure(&["period", "list", "-p", "d", "--json"], None, cwd);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["current"], "2027", "{v}");
    assert_eq!(v["periods"][0]["status"], "closed");
    assert_eq!(v["periods"][0]["closed_on"], "2027-01-15");
    assert_eq!(v["periods"][1]["start"], "2027-01-01");
    assert_eq!(v["periods"][1]["end"], "2027-12-31");
    let r = assure(&["validate", "d"], None, cwd);
    assert_eq!(r.code, 0, "the rolled project is valid: {}{}", r.stdout, r.stderr);

    // Nothing more is recorded for the closed year.
    let r = assure(&["test", "d", "--period", "2026", "--as-of", "2026-12-31"], None, cwd);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("closed on 2027-01-15") && r.stderr.contains("frozen"),
        "{}",
        r.stderr
    );
    let r = assure(&["sample", "d", "--control", "AC-01", "--period", "2026"], None, cwd);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("does not draw samples"), "{}", r.stderr);

    // Before anything for 2027 is imported, 2027 has no evidence: the 2026 exports are not 2027's.
    let r = assure(&["test", "d", "--as-of", "2027-03-31", "--json"], None, cwd);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    // Only the project's own risk register is read (it is the project's, whatever the period), and
    // none of its risks has been reviewed in 2027 yet.
    let (risks, others): (BTreeSet<_>, BTreeSet<_>) = failures(&v["run"])
        .into_iter()
        .partition(|(t, _)| t == "risk-register-reviewed");
    assert!(others.is_empty(), "{}", v["run"]);
    assert_eq!(risks.len(), 8, "{risks:?}");
    assert!(
        v["run"]["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["name"].as_str().unwrap().starts_with("register/")),
        "no 2026 file is read for 2027: {}",
        v["run"]["inputs"]
    );

    // A synthetic 2027 for the open period, under the same file names, imported and tested.
    let r = assure(
        &[
            "synth",
            "-p",
            "d",
            "-o",
            "exports-2027",
            "--people",
            "60",
            "--seed",
            "6",
        ],
        None,
        cwd,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let planted_2027 = planted(&cwd.join("exports-2027/_planted.json"));
    assert!(planted_2027.len() >= 20);
    // The answer key beside the exports (`_planted.json`) is not evidence: the import skips it.
    let r = assure(&["evidence", "import", "-p", "d", "exports-2027"], None, cwd);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("_planted"), "{}", r.stderr);
    assert!(!r.stderr.contains("outside the period"), "{}", r.stderr);
    let r = assure(&["test", "d", "--as-of", "2027-12-31", "--json"], None, cwd);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    // The registers are the project's own files, not 2027's exports: nobody reviewed a risk or a
    // vendor in 2027, and those tests say so.
    let registers = [
        "risk-register-reviewed",
        "vendors-reviewed-annually",
        "subservice-soc-report-current",
    ];
    let found: BTreeSet<_> = failures(&v["run"])
        .into_iter()
        .filter(|(t, _)| !registers.contains(&t.as_str()))
        .collect();
    assert_eq!(found, planted_2027, "2027 finds exactly what was planted in 2027");
    let register_2027 = failures(&v["run"]).len() - found.len();
    assert_eq!(
        register_2027, 12,
        "8 risks, 3 vendor reviews and 1 SOC report are a year old"
    );
    assert_eq!(v["run"]["inputs"].as_array().unwrap().len(), 17);
    let all_tests = v["run"]["tests"].as_array().unwrap().len();
    // A run of one test on another day carries the others' latest results instead of hiding them.
    let r = assure(
        &[
            "test",
            "d",
            "--as-of",
            "2027-12-30",
            "--test",
            "changes-peer-approved",
            "--json",
        ],
        None,
        cwd,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let partial: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(partial["run"]["tests"].as_array().unwrap().len(), all_tests);
    assert_eq!(partial["run"]["carried"].as_array().unwrap().len(), all_tests - 1);

    // 2026's reports are the frozen bytes, whatever changed since.
    for (kind, before, fmt) in [
        ("soc2", "before-soc2.pdf", "pdf"),
        ("matrix", "before-matrix.xlsx", "xlsx"),
        ("soc3", "before-soc3.html", "html"),
    ] {
        let out = format!("after-{kind}.{fmt}");
        let r = assure(&["report", kind, "-p", "d", "--period", "2026", "-o", &out], None, cwd);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.stderr.contains("as frozen when the period closed"), "{}", r.stderr);
        assert_eq!(
            std::fs::read(cwd.join(before)).unwrap(),
            std::fs::read(cwd.join(&out)).unwrap(),
            "{kind} for 2026 changed after the roll"
        );
    }
    // A form that was not frozen is refused rather than drafted again.
    let r = assure(
        &[
            "report", "soc2", "-p", "d", "--period", "2026", "--format", "oscal", "-o", "o",
        ],
        None,
        cwd,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("was not frozen"), "{}", r.stderr);

    // The 2027 draft shows 2027 only.
    let r = assure(
        &[
            "report",
            "soc2",
            "-p",
            "d",
            "--as-of",
            "2027-12-31",
            "--format",
            "json",
            "-o",
            "soc2-2027.json",
        ],
        None,
        cwd,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc = std::fs::read_to_string(cwd.join("soc2-2027.json")).unwrap();
    assert!(
        doc.contains("2027-01-01") && !doc.contains("2026-12-31"),
        "the 2027 draft mentions 2026"
    );

    // Year over year: both periods, each with its own run and its own exceptions.
    let r = assure(
        &[
            "period",
            "compare",
            "-p",
            "d",
            "--as-of",
            "2027-12-31",
            "--json",
            "-o",
            "yoy.xlsx",
        ],
        None,
        cwd,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let total = |i: usize| -> u64 {
        v[i]["tests"]
            .as_object()
            .unwrap()
            .values()
            .map(|t| t["exceptions"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(v.as_array().unwrap().len(), 2);
    // The closed year's readiness is the figure its frozen report printed; the open year's is live.
    assert_eq!(
        (v[0]["readiness_frozen"].as_bool(), v[1]["readiness_frozen"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(total(0), planted_2026.len() as u64);
    assert_eq!(total(1), (planted_2027.len() + register_2027) as u64);
    assert!(v[0]["run"]["seq"].as_u64().unwrap() < v[1]["run"]["seq"].as_u64().unwrap());
    let x = crate::reports::xlsx(&cwd.join("yoy.xlsx"));
    let sheets: Vec<&str> = x["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(sheets, ["Periods", "Tests", "Controls"]);
    let r = assure(&["period", "compare", "-p", "d", "--as-of", "2027-12-31"], None, cwd);
    assert!(
        r.stdout.contains("2026 to") || r.stdout.contains("2026-01-01 to 2026-12-31"),
        "{}",
        r.stdout
    );

    // A bridge letter follows the period that ended before the day it runs to.
    let r = assure(
        &[
            "report",
            "bridge",
            "-p",
            "d",
            "--to",
            "2027-03-31",
            "--as-of",
            "2027-04-02",
            "--format",
            "html",
            "-o",
            "bridge.html",
        ],
        None,
        cwd,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("period 2026"), "{}", r.stderr);
}

#[test]
fn the_changes_during_the_period_come_from_the_projects_git_history() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let r = assure(&["init", "--template", "saas", "--no-git", "p"], None, cwd);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let p = cwd.join("p");
    let git = |args: &[&str], date: &str| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&p)
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args(args)
            .env("GIT_AUTHOR_DATE", date)
            .env("GIT_COMMITTER_DATE", date)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["init", "-q"], "2025-12-01T10:00:00Z");
    git(&["add", "-A"], "2025-12-01T10:00:00Z");
    git(&["commit", "-qm", "Start the project"], "2025-12-01T10:00:00Z");
    let control = std::fs::read_dir(p.join("controls"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&control).unwrap();
    std::fs::write(&control, text.replacen("title = \"", "title = \"Revised: ", 1)).unwrap();
    git(&["commit", "-qam", "Tighten the access review"], "2026-04-02T10:00:00Z");
    let r = assure(
        &[
            "report",
            "soc2",
            "-p",
            "p",
            "--as-of",
            "2026-12-31",
            "--format",
            "json",
            "-o",
            "soc2.json",
        ],
        None,
        cwd,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc = std::fs::read_to_string(cwd.join("soc2.json")).unwrap();
    let name = control.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        doc.contains("Tighten the access review") && doc.contains(&format!("controls/{name}")),
        "{doc}"
    );
    // The commit before the period is not a change during it.
    assert!(!doc.contains("Start the project"), "{doc}");
}
