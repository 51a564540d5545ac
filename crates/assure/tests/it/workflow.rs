//! Policies, sampling and expected occurrences through the binary.

use crate::cli::assure;

/// The risk register: heat maps of inherent and residual risk, risks ranked by residual score
/// with their controls' results and assessment status, one risk in full, and clear errors.
#[test]
fn the_risk_register_lists_ranks_and_shows_risks() {
    let tmp = tempfile::tempdir().unwrap();
    assure(&["init", "--no-git", "p"], None, tmp.path());
    let r = assure(&["risk", "list", "-p", "p", "--as-of", "2026-11-22"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("risk_list", r.stdout);
    let r = assure(
        &["risk", "list", "-p", "p", "--as-of", "2027-06-30", "--json"],
        None,
        tmp.path(),
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert!(
        rows.iter().all(|x| x["review_due"] == true),
        "a year and more after 2026-03-16 every assessment is due"
    );
    let ranks: Vec<u64> = rows
        .iter()
        .map(|x| {
            x["residual"][2]
                .as_u64()
                .unwrap_or_else(|| x["score"].as_u64().unwrap())
        })
        .collect();
    assert!(
        ranks.windows(2).all(|w| w[0] >= w[1]),
        "not ranked by residual score: {ranks:?}"
    );
    let r = assure(
        &["risk", "show", "R-01", "-p", "p", "--as-of", "2026-11-22"],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("score       3×5=15 (high), residual 2×5=10 (medium)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("AC-01"), "{}", r.stdout);
    let r = assure(&["risk", "show", "R-99", "-p", "p"], None, tmp.path());
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("there is no risk `R-99`"), "{}", r.stderr);
    // Half a residual assessment is an error validate names.
    let path = tmp.path().join("p/risks/register.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("residual_impact = 5\n", "", 1);
    std::fs::write(&path, text).unwrap();
    let r = assure(&["validate", "p"], None, tmp.path());
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("has only one of residual_likelihood and residual_impact"),
        "{}",
        r.stdout
    );
}

#[test]
fn policies_list_show_and_render() {
    let tmp = tempfile::tempdir().unwrap();
    assure(&["init", "--no-git", "p"], None, tmp.path());
    let r = assure(
        &["policy", "list", "-p", "p", "--as-of", "2026-11-22"],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("19 policies"), "{}", r.stdout);
    // A new project's policies are drafts: nobody has approved them.
    assert_eq!(r.stdout.matches(" not approved ").count(), 38, "{}", r.stdout);
    // Only a named approver approves, and the approval is recorded in the ledger.
    let approve = |who: &str, on: &str, id: &str| {
        assure(
            &[
                "policy",
                "approve",
                "-p",
                "p",
                id,
                "--approver",
                who,
                "--on",
                on,
                "--note",
                "board minute 2026-03",
            ],
            None,
            tmp.path(),
        )
    };
    let r = approve("priya.raman", "2026-01-15", "access-control");
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("Priya Raman (priya.raman) may not approve policies: the approvers are dana.whitfield"),
        "{}",
        r.stderr
    );
    let r = approve("dana.whitfield", "2099-01-01", "access-control");
    assert!(r.stderr.contains("is in the future"), "{}", r.stderr);
    let mut policies: Vec<String> = std::fs::read_dir(tmp.path().join("p/policies"))
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    policies.sort();
    for id in &policies {
        let r = approve("dana.whitfield", "2026-01-15", id);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let r = approve("dana.whitfield", "2026-01-15", "access-control");
    assert!(
        r.stderr
            .contains("version 1.0 of `access-control` is already approved: by Dana Whitfield on 2026-01-15"),
        "{}",
        r.stderr
    );
    let r = assure(
        &["policy", "list", "-p", "p", "--as-of", "2026-11-22"],
        None,
        tmp.path(),
    );
    assert_eq!(r.stdout.matches(" current ").count(), 19, "{}", r.stdout);
    let r = assure(
        &["policy", "show", "access-control", "-p", "p", "--as-of", "2026-11-22"],
        None,
        tmp.path(),
    );
    // Who recorded it and when are the machine's; the rest is what the user sees.
    let shown: String = r
        .stdout
        .lines()
        .map(|l| l.split("; recorded by ").next().unwrap_or(l).to_string() + "\n")
        .collect();
    insta::assert_snapshot!("policy_show", shown);
    // A typed approval is a claim, not an approval.
    let path = tmp.path().join("p/policies/encryption.md");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("+++\n", "+++\n# Approved: the front matter can say anything.\n", 1),
    )
    .unwrap();
    let r = assure(
        &["policy", "show", "encryption", "-p", "p", "--as-of", "2026-11-22"],
        None,
        tmp.path(),
    );
    assert!(r.stdout.contains("Approval: edited since its approval"), "{}", r.stdout);
    assert!(r.stdout.contains("status       not approved"), "{}", r.stdout);
    let r = approve("dana.whitfield", "2026-03-01", "encryption");
    assert!(
        r.stderr
            .contains("version 1.0 of `encryption` was approved on 2026-01-15 with other text")
            && r.stderr.contains("raise `version`"),
        "{}",
        r.stderr
    );
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen(
            "version = \"1.0\"",
            "version = \"1.1\"\napproved_by = \"priya.raman\"",
            1,
        ),
    )
    .unwrap();
    let r = assure(
        &["policy", "show", "encryption", "-p", "p", "--as-of", "2026-11-22"],
        None,
        tmp.path(),
    );
    assert!(r.stdout.contains("approved by  none"), "{}", r.stdout);
    let r = approve("dana.whitfield", "2026-03-01", "encryption");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = assure(
        &[
            "policy",
            "show",
            "encryption",
            "-p",
            "p",
            "--as-of",
            "2026-11-22",
            "--json",
        ],
        None,
        tmp.path(),
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["approved_by"], "Dana Whitfield");
    assert_eq!(v["approval"]["state"], "approved");
    assert_eq!(v["approval"]["history"].as_array().unwrap().len(), 2);
    assert_eq!(v["approval"]["current"]["version"], "1.1");
    let r = assure(
        &[
            "policy",
            "render",
            "access-control",
            "-p",
            "p",
            "--format",
            "html",
            "--as-of",
            "2026-11-22",
        ],
        None,
        tmp.path(),
    );
    assert!(
        r.stdout.starts_with("<!doctype html>") && r.stdout.contains("Version history") && r.stdout.contains("<table>")
    );
    assert!(!r.stdout.contains("<script"));
    let r = assure(
        &[
            "policy", "render", "--all", "-p", "p", "--format", "md", "-o", "rendered",
        ],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_dir(tmp.path().join("rendered")).unwrap().count(), 19);
    let md = std::fs::read_to_string(tmp.path().join("rendered/incident-response.md")).unwrap();
    assert!(
        md.contains("| Approved by | Dana Whitfield |") && md.contains("IR-6."),
        "{md}"
    );
    // A year later every review is overdue.
    let r = assure(
        &["policy", "list", "-p", "p", "--as-of", "2027-06-01"],
        None,
        tmp.path(),
    );
    assert_eq!(r.stdout.matches("review overdue").count(), 19);
    let r = assure(&["policy", "show", "nope", "-p", "p"], None, tmp.path());
    assert_eq!(r.code, 1);
}

#[test]
fn samples_are_reproducible_and_recorded_and_occurrences_are_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let r = assure(&["demo", "d", "--people", "60", "--seed", "3"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    // A per-event control sampled from its test's population.
    let a = assure(
        &["sample", "d", "--control", "AC-06", "--seed", "42", "--json"],
        None,
        tmp.path(),
    );
    assert_eq!(a.code, 0, "{}", a.stderr);
    let b = assure(
        &["sample", "d", "--control", "AC-06", "--seed", "42", "--json"],
        None,
        tmp.path(),
    );
    let (va, vb): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&a.stdout).unwrap(),
        serde_json::from_str(&b.stdout).unwrap(),
    );
    assert_eq!(va["sample"]["selected"], vb["sample"]["selected"]);
    assert_ne!(va["ledger_entry"], vb["ledger_entry"], "each draw is recorded");
    let pop = va["sample"]["population"].as_array().unwrap().len();
    let sel = va["sample"]["selected"].as_array().unwrap().len();
    assert!(sel <= pop && sel > 0);
    // A quarterly manual control sampled from its recorded evidence.
    let r = assure(&["sample", "d", "--control", "GOV-09"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("quarterly control") && r.stdout.contains("ledger entries recorded for the control"),
        "{}",
        r.stdout
    );
    // Adding an item that is not in the population is refused.
    let r = assure(
        &["sample", "d", "--control", "AC-06", "--add", "nothing"],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 1);
    // The run counts expected occurrences; the only one missing is the one the demo left out.
    let r = assure(&["test", "d", "--as-of", "2026-12-31", "--json"], None, tmp.path());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let missing: Vec<String> = v["run"]["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| {
            o["missing"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |m| format!("{} {}", o["control"].as_str().unwrap(), m.as_str().unwrap()))
        })
        .collect();
    let planted: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("d/exports/_planted-occurrences.json")).unwrap())
            .unwrap();
    assert_eq!(missing, planted);
    let text = assure(&["test", "d", "--as-of", "2026-12-31"], None, tmp.path()).stdout;
    assert!(
        text.contains(
            "GOV-09 Security committee meets quarterly (quarterly): 3 of 4 found; missing 2026-07-01..2026-09-30"
        ),
        "{text}"
    );
}
