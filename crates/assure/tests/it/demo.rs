//! The first five minutes: the demo through the public commands only.

use std::collections::BTreeSet;

use crate::cli::assure;

#[test]
fn the_demo_reports_exactly_the_planted_exceptions_and_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let r = assure(&["demo", "d", "--people", "80", "--seed", "11"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Next, try:"), "{}", r.stdout);
    let planted: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("d/exports/_planted.json")).unwrap()).unwrap();
    let planted: BTreeSet<(String, String)> = planted
        .iter()
        .map(|p| {
            (
                p["test"].as_str().unwrap().to_string(),
                p["item"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(planted.len() >= 20, "{planted:?}");

    // The public test command, run again, finds exactly those exceptions.
    let r = assure(&["test", "d", "--as-of", "2026-12-31", "--json"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let mut found = BTreeSet::new();
    for t in v["run"]["tests"].as_array().unwrap() {
        assert_ne!(t["conclusion"], "not_run", "{t}");
        for i in t["items"].as_array().unwrap() {
            if i["status"] == "fail" {
                found.insert((
                    t["id"].as_str().unwrap().to_string(),
                    i["item"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    assert_eq!(found, planted);
    // Every input file of the run is named with its hash, so it can be re-performed.
    assert_eq!(v["run"]["inputs"].as_array().unwrap().len(), 17);

    // The chain of custody holds.
    let r = assure(&["evidence", "verify", "-p", "d"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stdout);

    // Every report file opens with an independent reader and carries the run's results.
    let reports = tmp.path().join("d/reports");
    let soc2 = crate::reports::pdf_text(&reports.join("soc2-type2.pdf"));
    assert!(!soc2.contains("This draft lacks"), "the demo's draft is complete");
    assert!(soc2.contains("Exceptions noted"));
    for (test, _) in &planted {
        assert!(soc2.contains(test.as_str()), "the SOC 2 draft does not name {test}");
    }
    assert!(soc2.contains("Management's responses to exceptions"));
    // Significant incidents come from the incidents evidence, with the threshold stated and
    // management's account of each; never "no significant incidents" over sev1 and sev2 rows.
    assert!(soc2.contains("An incident is significant here when the incident record rates it sev1 or sev2"));
    assert!(
        soc2.contains("incidents rated sev1 or sev2 during the period"),
        "{soc2}"
    );
    assert!(soc2.contains("Management's account of each"));
    assert!(!soc2.contains("No significant system incidents") && !soc2.contains("none of them rated"));
    // Every evidence file is listed with its SHA-256 and how to verify it offline.
    assert!(soc2.contains("Evidence recorded for the period"));
    assert!(soc2.contains("assure evidence verify evidence.tar --key"));
    // No doubled full stop after "Northwind Analytics, Inc.".
    assert!(!soc2.contains("Inc.."));
    assert!(crate::reports::pdf_text(&reports.join("soc3.pdf")).contains("SOC 3 report"));
    assert!(crate::reports::pdf_text(&reports.join("readiness.pdf")).contains("Readiness assessment"));
    let x = crate::reports::xlsx(&reports.join("control-matrix.xlsx"));
    let sheets: Vec<&str> = x["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(sheets.contains(&"Evidence"), "{sheets:?}");
    let ev = &x["detail"]["Evidence"];
    assert_eq!(ev["headers"][7], "SHA-256");
    assert_eq!(ev["first_values"][7].as_str().unwrap().len(), 64);
    let tests: BTreeSet<&str> = planted.iter().map(|(t, _)| t.as_str()).collect();
    for t in &tests {
        let name: String = t.chars().take(31).collect();
        assert!(sheets.contains(&name.as_str()), "no sheet for {t}: {sheets:?}");
    }
    crate::reports::oscal_valid(&reports.join("oscal"));
    let ar: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("oscal/assessment-results.json")).unwrap()).unwrap();
    let findings = ar["assessment-results"]["results"][0]["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["target"]["status"]["state"] == "not-satisfied")
    );

    // The readiness outputs open and carry the test results.
    let html = std::fs::read_to_string(tmp.path().join("d/reports/readiness.html")).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("Criteria heat map"));
    let md = std::fs::read_to_string(tmp.path().join("d/reports/readiness.md")).unwrap();
    assert!(md.contains("test-failing"), "the gap analysis uses the test results");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("d/reports/test-results.json")).unwrap())
            .unwrap();
    assert_eq!(results["exam_type"], 2);
    let r = assure(
        &["gap", "d", "--as-of", "2026-12-31", "--format", "json"],
        None,
        tmp.path(),
    );
    let g: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(g["operating_inputs"], true);
}

#[test]
fn the_same_seed_gives_the_same_company() {
    let tmp = tempfile::tempdir().unwrap();
    assure(&["demo", "a", "--people", "40", "--seed", "5"], None, tmp.path());
    assure(&["demo", "b", "--people", "40", "--seed", "5"], None, tmp.path());
    for f in [
        "people.csv",
        "accounts.csv",
        "changes.csv",
        "events.csv",
        "_planted.json",
    ] {
        let a = std::fs::read(tmp.path().join("a/exports").join(f)).unwrap();
        let b = std::fs::read(tmp.path().join("b/exports").join(f)).unwrap();
        assert_eq!(a, b, "{f}");
    }
}

/// The finding: a one-test run replaced everything (the dashboard said no exceptions, readiness
/// rose, 28 exceptions vanished). Now the run of one test carries every other test's latest result
/// for the same window, says so, and gap analysis is unchanged.
#[test]
fn a_run_of_one_test_keeps_every_other_result() {
    let tmp = tempfile::tempdir().unwrap();
    let r = assure(&["demo", "d", "--people", "80", "--seed", "11"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let at = ["--as-of", "2026-12-31"];
    let full = assure(&["test", "d", at[0], at[1], "--json"], None, tmp.path());
    let full: serde_json::Value = serde_json::from_str(&full.stdout).unwrap();
    let exceptions = |v: &serde_json::Value| -> u64 {
        v["run"]["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["exceptions"].as_u64().unwrap())
            .sum()
    };
    let gap_before = assure(&["gap", "d", at[0], at[1]], None, tmp.path()).stdout;

    let one = assure(
        &["test", "d", at[0], at[1], "--test", "vendors-reviewed-annually"],
        None,
        tmp.path(),
    );
    assert_eq!(one.code, 0, "{}", one.stderr);
    let tests = full["run"]["tests"].as_array().unwrap().len();
    assert!(
        one.stdout.contains(&format!(
            "Ran 1 selected test(s); the other {} keep their latest results",
            tests - 1
        )),
        "{}",
        one.stdout
    );
    let one = assure(
        &[
            "test",
            "d",
            at[0],
            at[1],
            "--test",
            "vendors-reviewed-annually",
            "--json",
        ],
        None,
        tmp.path(),
    );
    let one: serde_json::Value = serde_json::from_str(&one.stdout).unwrap();
    assert_eq!(one["run"]["tests"].as_array().unwrap().len(), tests);
    assert_eq!(one["run"]["carried"].as_array().unwrap().len(), tests - 1);
    assert_eq!(exceptions(&one), exceptions(&full));
    assert!(exceptions(&full) > 0);
    // What every view reads (the latest run) still holds every test: readiness and gaps unchanged.
    let gap_after = assure(&["gap", "d", at[0], at[1]], None, tmp.path()).stdout;
    assert_eq!(gap_after, gap_before);

    // The finding: a fresh template with no evidence scored higher than the demo with a year of
    // it. Once the period has begun, what cannot be shown counts as unmet.
    assure(&["init", "--template", "saas", "fresh"], None, tmp.path());
    let score = |text: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix("Overall readiness: "))
            .and_then(|l| l.split('%').next())
            .unwrap()
            .parse()
            .unwrap()
    };
    let fresh = assure(&["gap", "fresh", at[0], at[1]], None, tmp.path()).stdout;
    assert!(
        score(&fresh) < score(&gap_after),
        "fresh {} vs demo {}",
        score(&fresh),
        score(&gap_after)
    );
    // Failing tests and missed occurrences come before any documentation gap.
    let first_gap = gap_after.lines().find(|l| l.trim_start().starts_with("1. ")).unwrap();
    assert!(first_gap.contains("test-failing"), "{first_gap}");
}

/// The findings: a period that had not started was tested (every test "no population", no
/// warning); a report printed another period's run as its own; the bridge letter said management
/// knew of no deficiency and then cited the exceptions its tests noted.
#[test]
fn periods_are_not_mixed_and_the_bridge_letter_agrees_with_its_results() {
    let tmp = tempfile::tempdir().unwrap();
    let r = assure(&["demo", "d", "--people", "80", "--seed", "11"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);

    // A period that has not begun by the as-of date is refused, with what to do.
    let r = assure(
        &[
            "test",
            "d",
            "--period",
            "2027-01-01..2027-12-31",
            "--as-of",
            "2026-12-31",
        ],
        None,
        tmp.path(),
    );
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("the period 2027-01-01 to 2027-12-31 has not started by the as-of date 2026-12-31"),
        "{}",
        r.stderr
    );

    // The latest run covers the bridge period, not the report's year: the SOC 2 draft prints the
    // year's own run instead, and the bridge letter uses the later one.
    let r = assure(
        &[
            "test",
            "d",
            "--period",
            "2026-07-01..2027-01-31",
            "--as-of",
            "2027-01-31",
        ],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = tmp.path().join("soc2.html");
    let r = assure(
        &[
            "report",
            "soc2",
            "d",
            "--as-of",
            "2027-01-31",
            "-o",
            out.to_str().unwrap(),
        ],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(
        !html.contains("No test run is recorded") && html.contains("tests, as of 31 December 2026"),
        "the draft must print its own period's run, not the later one"
    );

    let out = tmp.path().join("bridge.html");
    let r = assure(
        &[
            "report",
            "bridge",
            "d",
            "--as-of",
            "2027-01-31",
            "--to",
            "2027-01-31",
            "-o",
            out.to_str().unwrap(),
        ],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("which management is evaluating"), "{html}");
    assert!(
        !html.contains("any deficiency in the design or operation"),
        "the letter denies deficiencies its own tests noted"
    );
}

/// A folder as users have it: the demo's own `exports/` (canonical exports, meeting records named
/// after their controls, the answer keys as JSON documents) imports whole, saying what went where;
/// a CSV no table fits is one clear line.
#[test]
fn a_folder_of_exports_and_records_imports_and_says_which_went_where() {
    let tmp = tempfile::tempdir().unwrap();
    let r = assure(&["demo", "d", "--people", "40", "--seed", "3"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = assure(&["init", "--template", "saas", "q"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = assure(&["evidence", "import", "-p", "q", "d/exports"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let records = std::fs::read_dir(tmp.path().join("d/exports/records")).unwrap().count();
    assert!(
        r.stdout.contains("imported 15 export(s), ") && r.stdout.contains(&format!("and {} record(s)", records)),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr
            .contains("GOV-09-2026-01-01.md: a record, for control GOV-09, dated 2026-01-01"),
        "{}",
        r.stderr
    );
    // The answer keys beside the exports (`_planted.json`, `_planted-occurrences.json`) are not
    // evidence: a directory's `_` and `.` files are skipped.
    assert!(!r.stderr.contains("_planted"), "{}", r.stderr);
    // A recorded meeting fills its slot: the occurrence count sees it.
    let r = assure(&["test", "q", "--as-of", "2026-12-31", "--json"], None, tmp.path());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let gov09 = v["run"]["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["control"] == "GOV-09")
        .unwrap()
        .clone();
    assert_eq!(
        (gov09["expected"].as_u64(), gov09["found"].as_u64()),
        (Some(4), Some(3)),
        "{gov09}"
    );

    std::fs::create_dir_all(tmp.path().join("odd")).unwrap();
    std::fs::write(tmp.path().join("odd/mystery.csv"), "colour,size\nred,3\n").unwrap();
    std::fs::write(tmp.path().join("odd/minutes.pdf"), "%PDF-1.4\n").unwrap();
    let r = assure(&["evidence", "import", "-p", "q", "odd"], None, tmp.path());
    assert_eq!(r.code, 1, "{}", r.stderr);
    let lines: Vec<&str> = r.stderr.lines().filter(|l| l.contains("mystery.csv")).collect();
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("nothing was imported"), "{}", r.stderr);
}
