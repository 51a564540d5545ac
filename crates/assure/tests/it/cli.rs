//! Runs the real binary the way a user does.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn assure(args: &[&str], stdin: Option<&str>, cwd: &Path) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_assure"))
        .args(args)
        .current_dir(cwd)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

#[test]
fn init_validate_coverage_and_gap_on_the_saas_template() {
    let tmp = tempfile::tempdir().unwrap();
    let r = assure(&["init", "--template", "saas", "acme"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("init", r.stdout);
    // The project is a git repository whose first commit holds every file but the runtime state
    // (the signing key under .assure/ never goes into git); `--no-git` leaves git out.
    let git = |dir: &str, args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(tmp.path().join(dir))
            .args(args)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(git("acme", &["rev-list", "--count", "HEAD"]).trim(), "1");
    let tracked = git("acme", &["ls-files"]);
    assert!(
        tracked.contains("assure.toml") && tracked.contains("controls/AC-01.toml"),
        "{tracked}"
    );
    assert!(!tracked.contains(".assure/"), "{tracked}");
    assert_eq!(git("acme", &["status", "--porcelain"]), "");
    let r = assure(&["init", "--no-git", "plain"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!tmp.path().join("plain/.git").exists());
    assert!(!r.stdout.contains("git repository"), "{}", r.stdout);
    let r = assure(&["validate", "acme"], None, tmp.path());
    assert_eq!(r.code, 0);
    insta::assert_snapshot!("validate_clean", r.stdout);
    let r = assure(&["catalog", "coverage", "acme"], None, tmp.path());
    assert_eq!(r.code, 0);
    assert!(
        r.stdout
            .contains("Security                                           33       33        33"),
        "{}",
        r.stdout
    );
    let r = assure(
        &["gap", "acme", "--as-of", "2026-11-22", "--format", "json"],
        None,
        tmp.path(),
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["as_of"], "2026-11-22");
    let r = assure(
        &[
            "gap",
            "acme",
            "--as-of",
            "2026-11-22",
            "--format",
            "html",
            "-o",
            "gap.html",
        ],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = std::fs::read_to_string(tmp.path().join("gap.html")).unwrap();
    let again = assure(
        &["gap", "acme", "--as-of", "2026-11-22", "--format", "html"],
        None,
        tmp.path(),
    );
    assert_eq!(html, again.stdout, "byte for byte");
}

#[test]
fn exit_codes_separate_problems_from_failures() {
    let tmp = tempfile::tempdir().unwrap();
    assure(&["init", "p"], None, tmp.path());
    // Not a project: could not run.
    let r = assure(&["validate", "nowhere"], None, tmp.path());
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("not_a_project", r.stderr);
    // A project with problems.
    let path = tmp.path().join("p/controls/AC-01.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("criteria = [\"CC6.1\"]", "criteria = [\"CC6.1\", \"CC6.10\"]");
    std::fs::write(&path, text).unwrap();
    let r = assure(&["validate", "p"], None, tmp.path());
    assert_eq!(r.code, 1);
    insta::assert_snapshot!("validate_problems", r.stdout);
    let r = assure(&["validate", "p", "--json"], None, tmp.path());
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["diagnostics"][0]["code"], "unknown-criterion");
    assert_eq!(v["diagnostics"][0]["line"], 9);
    // The gap analysis runs on a project with readiness errors and says so...
    let r = assure(&["gap", "p", "--as-of", "2026-11-22"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("`assure validate` reports 1 error(s)"),
        "{}",
        r.stderr
    );
    // ...but refuses one whose files cannot be read.
    std::fs::write(tmp.path().join("p/controls/AC-02.toml"), "id = \"AC-02\"\ntitle = \n").unwrap();
    let r = assure(&["gap", "p"], None, tmp.path());
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("could not be read") && r.stderr.contains("controls/AC-02.toml:2"),
        "{}",
        r.stderr
    );
    let r = assure(&["init", "--template", "payroll", "q", "--json"], None, tmp.path());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["objectives"], 18);
    assert!(v["files"].as_array().unwrap().iter().any(|f| f == "objectives.toml"));
    // init never overwrites.
    let r = assure(&["init", "p"], None, tmp.path());
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("already exists"));
    // Usage errors are failures too.
    assert_eq!(assure(&["gap", "p", "--as-of", "yesterday"], None, tmp.path()).code, 2);
}

#[test]
fn catalog_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let r = assure(&["catalog", "list"], None, tmp.path());
    assert!(r.stdout.ends_with("61 criteria\n"));
    let r = assure(
        &["catalog", "list", "--category", "privacy", "--json"],
        None,
        tmp.path(),
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 18);
    let r = assure(&["catalog", "list", "--series", "CC6"], None, tmp.path());
    assert!(r.stdout.ends_with("8 criteria\n"));
    insta::assert_snapshot!(
        "show_cc1_1",
        assure(&["catalog", "show", "cc1.1"], None, tmp.path()).stdout
    );
    insta::assert_snapshot!(
        "show_objective",
        assure(&["catalog", "show", "PAY-TAX"], None, tmp.path()).stdout
    );
    let r = assure(&["catalog", "show", "CC6.9"], None, tmp.path());
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("did you mean"), "{}", r.stderr);
    let r = assure(&["catalog", "search", "vendor"], None, tmp.path());
    assert!(r.stdout.starts_with("CC9.2"));
    let r = assure(&["catalog", "list", "--objectives", "payroll"], None, tmp.path());
    assert!(r.stdout.contains("PAY-CALC"));
    let r = assure(&["catalog", "list", "--description"], None, tmp.path());
    assert!(r.stdout.contains("DC9") && r.stdout.contains("(Type 2 only)"));
}

const ANSWERS: &str = r#"
# What the company told its advisor.
services = ["payroll"]
affects_financial_reporting = true
data = ["personal", "payment"]
requesters = ["user_auditors", "security_teams"]
commitments = ["processing_accuracy"]
regulations = ["sox"]
public_summary = false
report_needed_in_months = 12
observation_window_possible = true
customer_fiscal_year_end = "12-31"
"#;

#[test]
fn scope_from_an_answers_file_writes_assure_toml_keeping_comments() {
    let tmp = tempfile::tempdir().unwrap();
    assure(&["init", "p"], None, tmp.path());
    std::fs::write(tmp.path().join("answers.toml"), ANSWERS).unwrap();
    let before = std::fs::read_to_string(tmp.path().join("p/assure.toml")).unwrap();
    let r = assure(
        &["scope", "p", "--answers", "answers.toml", "--as-of", "2026-11-22"],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("scope_answers_file", r.stdout);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("p/assure.toml")).unwrap(),
        before,
        "nothing written without --write"
    );
    let r = assure(
        &[
            "scope",
            "p",
            "--answers",
            "answers.toml",
            "--as-of",
            "2026-11-22",
            "--write",
        ],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let after = std::fs::read_to_string(tmp.path().join("p/assure.toml")).unwrap();
    assert!(after.contains("reports = [\"soc1\", \"soc2\"]"));
    assert!(after.contains("categories = [\"security\", \"processing_integrity\"]"));
    assert!(after.contains("period_start = 2026-12-01") && after.contains("period_end = 2027-10-31"));
    // Everything but the scope is unchanged, comments included.
    let strip = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with("reports") && !l.starts_with("categories") && !l.starts_with("period_"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&before), strip(&after));
    assert!(after.starts_with("# Assure project: Northwind Analytics."));
    // JSON answers and JSON output.
    let json = serde_json::json!({"services": ["saas"], "affects_financial_reporting": false, "data": [], "requesters": ["security_teams"],
        "commitments": [], "regulations": [], "public_summary": false, "report_needed_in_months": 9, "observation_window_possible": true});
    std::fs::write(tmp.path().join("a.json"), json.to_string()).unwrap();
    let r = assure(
        &["scope", "--answers", "a.json", "--as-of", "2026-11-22", "--json"],
        None,
        tmp.path(),
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["outcome"], "decided");
    // A bad answers file names the line.
    std::fs::write(
        tmp.path().join("bad.toml"),
        "services = [\"saas\"]\nrequesters = [\"auditors\"]\n",
    )
    .unwrap();
    let r = assure(&["scope", "--answers", "bad.toml"], None, tmp.path());
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("line 2"), "{}", r.stderr);
}

#[test]
fn scope_with_contradictory_flags_decides_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let r = assure(
        &[
            "scope",
            "--service",
            "saas",
            "--affects-financial-reporting",
            "no",
            "--data",
            "none",
            "--requester",
            "user_auditors",
            "--commitment",
            "none",
            "--regulation",
            "none",
            "--public-summary",
            "no",
            "--needed-in-months",
            "6",
            "--window",
            "yes",
        ],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("contradiction (affects_financial_reporting, requesters)"),
        "{}",
        r.stdout
    );
}

#[test]
fn interactive_scope_with_defaults_going_back_and_confirmation() {
    let tmp = tempfile::tempdir().unwrap();
    assure(&["init", "p"], None, tmp.path());
    // Answers: services, afr, data, requesters, commitments, then go back and change commitments,
    // regulations, public summary, needed, window, fiscal year-end; then one bad answer retried; confirm.
    let input = "saas\nno\nconfidential\n2\nnone\n<\nuptime\n\nyes\nmaybe\n10\n\n\ny\n";
    let r = assure(
        &["scope", "p", "--interactive", "--as-of", "2026-11-22"],
        Some(input),
        tmp.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("answer with a whole number of months, not `maybe`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Summary"));
    let after = std::fs::read_to_string(tmp.path().join("p/assure.toml")).unwrap();
    assert!(after.contains("reports = [\"soc2\", \"soc3\"]"), "{after}");
    assert!(after.contains("categories = [\"security\", \"availability\", \"confidentiality\"]"));
    assert!(after.contains("period_start = 2026-12-01") && after.contains("period_end = 2027-07-31"));
    // Quitting writes nothing.
    let before = std::fs::read_to_string(tmp.path().join("p/assure.toml")).unwrap();
    let r = assure(&["scope", "p", "--interactive"], Some("payroll\nq\n"), tmp.path());
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("nothing was written"));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("p/assure.toml")).unwrap(),
        before
    );
}

#[test]
fn the_project_is_named_with_p_everywhere_and_positionally_where_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(assure(&["init", "p"], None, tmp.path()).code, 0);
    // `-p DIR` works before or after the subcommand, for every command that reads a project.
    for args in [
        vec!["-p", "p", "validate"],
        vec!["validate", "-p", "p"],
        vec!["validate", "p"],
        vec!["gap", "-p", "p", "--as-of", "2026-12-31", "--format", "json"],
        vec!["catalog", "coverage", "-p", "p"],
        vec!["policy", "list", "-p", "p"],
        vec!["-p", "p", "policy", "list"],
        vec!["evidence", "list", "-p", "p"],
        vec!["test", "-p", "p", "--emit-sql", "sql"],
        vec![
            "report",
            "readiness",
            "-p",
            "p",
            "--as-of",
            "2026-12-31",
            "-o",
            "r.html",
        ],
    ] {
        let r = assure(&args, None, tmp.path());
        assert_eq!(r.code, 0, "assure {}: {}", args.join(" "), r.stderr);
    }
    // Naming two different projects is refused; the same one twice is fine.
    let r = assure(&["validate", "p", "-p", "q"], None, tmp.path());
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("the project is named twice: `-p q` and `p`"),
        "{}",
        r.stderr
    );
    assert_eq!(assure(&["validate", "p", "-p", "p"], None, tmp.path()).code, 0);
    // `init` and `demo` create a directory: -p is not theirs.
    let r = assure(&["init", "-p", "x", "y"], None, tmp.path());
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("pass the new directory as the last argument"),
        "{}",
        r.stderr
    );
    assert!(!tmp.path().join("y").exists());
}

/// Other frameworks through Assure's crosswalk: the frameworks listed, one framework's requirements
/// with what each maps to, a requirement and a criterion crosswalked both ways, and the readiness of
/// each template against the frameworks it names, with what a SOC 2 leaves to show.
#[test]
fn frameworks_are_listed_crosswalked_and_assessed_per_template() {
    let tmp = tempfile::tempdir().unwrap();
    // `assure gap DIR --framework FW --as-of 2026-11-22 --format FORMAT`.
    let gap = |dir: &std::path::Path, fw: &str, format: &str| {
        assure(
            &[
                "gap",
                dir.to_str().unwrap(),
                "--framework",
                fw,
                "--as-of",
                "2026-11-22",
                "--format",
                format,
            ],
            None,
            tmp.path(),
        )
    };
    let r = assure(&["catalog", "list", "--framework"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("frameworks", r.stdout);
    let r = assure(&["catalog", "list", "--framework", "hipaa", "--json"], None, tmp.path());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let reqs = v["requirements"].as_array().unwrap();
    let ra = reqs.iter().find(|x| x["id"] == "164.308(a)(1)(ii)(A)").unwrap();
    assert_eq!(ra["kind"], "required");
    assert_eq!(ra["mapping"]["relation"], "superset");
    let r = assure(&["catalog", "crosswalk", "iso27001:A.8.32"], None, tmp.path());
    assert!(
        r.stdout.contains("Maps to (equal):") && r.stdout.contains("CC8.1"),
        "{}",
        r.stdout
    );
    let r = assure(&["catalog", "crosswalk", "hipaa:164.316(b)(2)(i)"], None, tmp.path());
    assert!(
        r.stdout
            .contains("No criterion covers it: Keeping documentation six years"),
        "{}",
        r.stdout
    );
    let r = assure(&["catalog", "crosswalk", "CC6.7"], None, tmp.path());
    assert!(
        r.stdout.contains("iso27001  A.5.14") && r.stdout.contains("hipaa     164.312(e)(2)(ii)"),
        "{}",
        r.stdout
    );
    let r = assure(&["catalog", "crosswalk", "pci:1.1"], None, tmp.path());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("unknown framework `pci`"), "{}", r.stderr);
    for (template, frameworks) in [
        ("saas", &["iso27001", "gdpr"][..]),
        ("payroll", &["sox-itgc"][..]),
        ("fintech", &["sox-itgc", "ccpa"][..]),
        ("health", &["hipaa"][..]),
    ] {
        let dir = tmp.path().join(template);
        let r = assure(
            &["init", "--template", template, dir.to_str().unwrap()],
            None,
            tmp.path(),
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        for fw in frameworks {
            let r = gap(&dir, fw, "text");
            assert_eq!(r.code, 0, "{}", r.stderr);
            insta::assert_snapshot!(format!("framework_gap_{template}_{fw}"), r.stdout);
            let r = gap(&dir, fw, "json");
            let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
            assert_eq!(v["in_project"], true);
            for f in ["md", "html"] {
                let r = gap(&dir, fw, f);
                assert_eq!(r.code, 0, "{}", r.stderr);
            }
        }
    }
    // The SaaS company's ISO 27001 delta includes the management system ISO asks for.
    let r = gap(&tmp.path().join("saas"), "iso27001", "json");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let delta: Vec<&str> = v["delta"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(delta.contains(&"4.3") && delta.contains(&"A.5.32"), "{delta:?}");
    // SOX IT general controls read through the payroll company's SOC 1 objectives: backups
    // (CO-02) are achieved by ITGC-BR although SOC 2 Availability is not in its scope.
    let r = gap(&tmp.path().join("payroll"), "sox-itgc", "json");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let co2 = v["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "CO-02")
        .unwrap();
    assert_eq!(co2["status"], "covered by SOC 1", "{co2}");
    assert_eq!(co2["objectives"], serde_json::json!(["ITGC-BR"]));
    assert_eq!(v["delta"], serde_json::json!([]));
    // The health company's own HIPAA controls meet what no criterion covers.
    let r = gap(&tmp.path().join("health"), "hipaa", "json");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let ba = v["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "164.316(b)(2)(i)")
        .unwrap();
    assert_eq!(
        (ba["status"].as_str(), ba["controls"][0].as_str()),
        (Some("own controls"), Some("HIP-04"))
    );
    // The Statement of Applicability as its own workbook, read back by openpyxl; a gap analysis
    // without a framework has no workbook form, and a workbook needs a file.
    let saas = tmp.path().join("saas");
    let r = assure(
        &[
            "gap",
            saas.to_str().unwrap(),
            "--framework",
            "iso27001",
            "--as-of",
            "2026-11-22",
            "--format",
            "xlsx",
            "-o",
            tmp.path().join("soa.xlsx").to_str().unwrap(),
        ],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let x = crate::reports::xlsx(&tmp.path().join("soa.xlsx"));
    assert_eq!(
        x["sheets"],
        serde_json::json!(["Statement of Applicability", "Crosswalk iso27001"])
    );
    assert_eq!(x["detail"]["Statement of Applicability"]["rows"], 93);
    let r = gap(&saas, "iso27001", "xlsx");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("add -o FILE.xlsx"), "{}", r.stderr);
    let r = assure(
        &["gap", saas.to_str().unwrap(), "--format", "xlsx", "-o", "x.xlsx"],
        None,
        tmp.path(),
    );
    assert!(r.stderr.contains("add --framework NAME"), "{}", r.stderr);
    // A control that names a requirement directly meets it; a wrong reference is refused.
    let ctl = tmp.path().join("saas/controls/GOV-01.toml");
    let text = std::fs::read_to_string(&ctl).unwrap();
    std::fs::write(&ctl, text.replacen("\n", "\nrequirements = [\"iso27001:A.5.32\"]\n", 1)).unwrap();
    let r = gap(&tmp.path().join("saas"), "iso27001", "json");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let ip = v["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "A.5.32")
        .unwrap();
    assert_eq!(
        (ip["status"].as_str(), ip["controls"][0].as_str()),
        (Some("own controls"), Some("GOV-01"))
    );
    std::fs::write(&ctl, text.replacen("\n", "\nrequirements = [\"iso27001:A.9.9\"]\n", 1)).unwrap();
    let r = assure(
        &["validate", tmp.path().join("saas").to_str().unwrap()],
        None,
        tmp.path(),
    );
    assert!(
        r.stdout.contains("unknown-requirement") && r.stdout.contains("iso27001:A.9.9"),
        "{}",
        r.stdout
    );
}

/// A project given positionally to a command that takes `-p DIR` gets the command line that works;
/// other unknown arguments get the parser's message alone.
#[test]
fn a_project_passed_positionally_to_a_dash_p_command_gets_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(assure(&["init", "--no-git", "payroll"], None, tmp.path()).code, 0);
    let r = assure(&["policy", "list", "payroll"], None, tmp.path());
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(
            "hint: `payroll` is a project: this command takes it as `-p payroll`: `assure policy list -p payroll`"
        ),
        "{}",
        r.stderr
    );
    let r = assure(&["policy", "list", "nothing-here"], None, tmp.path());
    assert_eq!(r.code, 2);
    assert!(!r.stderr.contains("hint:"), "{}", r.stderr);
}
