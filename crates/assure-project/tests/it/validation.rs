//! One fixture and one snapshot per validation error kind.
//!
//! Each fixture starts from a small valid project and changes one thing; the snapshot is the text
//! `assure validate` prints for it.

use assure_project::check;

const CC: &str = r#"["CC1.1","CC1.2","CC1.3","CC1.4","CC1.5","CC2.1","CC2.2","CC2.3","CC3.1","CC3.2","CC3.3","CC3.4","CC4.1","CC4.2","CC5.1","CC5.2","CC5.3","CC6.1","CC6.2","CC6.3","CC6.4","CC6.5","CC6.6","CC6.7","CC6.8","CC7.1","CC7.2","CC7.3","CC7.4","CC7.5","CC8.1","CC9.1","CC9.2"]"#;

fn base() -> Vec<(&'static str, String)> {
    vec![
        (
            "assure.toml",
            r#"[organization]
name = "Fixture Co"
compliance_lead = "pat"

[scope]
reports = ["soc1", "soc2"]
type = 2
categories = ["security"]
period_start = 2026-01-01
period_end = 2026-06-30

[[subservice]]
id = "cloud"
name = "Cloud Co"
vendor = "cloudco"
treatment = "carve-out"
criteria = ["CC6.4"]

[[subservice.csocs]]
id = "CSOC-1"
text = "Data centers restrict physical access."
criteria = ["CC6.4"]
"#
            .to_string(),
        ),
        (
            "people.toml",
            "[[person]]\nid = \"pat\"\nname = \"Pat Lee\"\nemail = \"pat@fixture.example\"\naliases = [\"github:patlee\"]\n"
                .to_string(),
        ),
        (
            "objectives.toml",
            "[[objective]]\nid = \"OBJ-1\"\ntitle = \"Logical access\"\nstatement = \"Controls provide reasonable assurance that access is restricted.\"\n"
                .to_string(),
        ),
        (
            "controls/C-1.toml",
            format!(
                "id = \"C-1\"\ntitle = \"Everything control\"\ndescription = \"Does it all.\"\nowner = \"pat\"\nfrequency = \"quarterly\"\nnature = \"manual\"\ncontrol_type = \"detective\"\ncriteria = {CC}\nobjectives = [\"OBJ-1\"]\npolicies = [\"pol\"]\ntests = [\"t1\"]\nvendors = [\"cloudco\"]\n\n[[evidence]]\nname = \"Reviews\"\ntable = \"access_reviews\"\n"
            ),
        ),
        (
            "policies/pol.md",
            "+++\nid = \"pol\"\ntitle = \"Policy\"\nowner = \"pat\"\nversion = \"1.0\"\napproved_by = \"pat\"\napproved_on = 2026-01-10\nreview_interval_months = 12\n+++\n# Policy\n\n1. Do the thing.\n".to_string(),
        ),
        (
            "tests/t1.toml",
            "id = \"t1\"\ntitle = \"A test\"\ncontrols = [\"C-1\"]\ntables = [\"access_reviews\"]\nsql = \"SELECT 1\"\n".to_string(),
        ),
        ("vendors/cloudco.toml", "id = \"cloudco\"\nname = \"Cloud Co\"\nsubservice = true\n".to_string()),
    ]
}

/// Applies `edit` to the base project, validates it and returns what `assure validate` prints.
fn run(edit: impl FnOnce(&mut Vec<(&'static str, String)>)) -> String {
    let mut files = base();
    edit(&mut files);
    let tmp = tempfile::tempdir().unwrap();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    crate::write(tmp.path(), &refs);
    let checked = check(tmp.path()).unwrap();
    crate::render(&checked.diagnostics)
}

fn replace(files: &mut [(&'static str, String)], file: &str, from: &str, to: &str) {
    let entry = files.iter_mut().find(|(p, _)| *p == file).unwrap();
    assert!(entry.1.contains(from), "fixture: `{from}` not in {file}");
    entry.1 = entry.1.replacen(from, to, 1);
}

fn add(files: &mut Vec<(&'static str, String)>, file: &'static str, text: &str) {
    files.push((file, text.to_string()));
}

#[test]
fn base_fixture_is_clean() {
    assert_eq!(run(|_| {}), "");
}

#[test]
fn invalid_toml_syntax() {
    insta::assert_snapshot!(run(|f| replace(
        f,
        "controls/C-1.toml",
        "owner = \"pat\"",
        "owner = \"pat"
    )));
}

#[test]
fn unknown_field() {
    insta::assert_snapshot!(run(|f| replace(
        f,
        "controls/C-1.toml",
        "owner = \"pat\"",
        "owner = \"pat\"\nowners = \"pat\""
    )));
}

#[test]
fn wrong_value_type() {
    insta::assert_snapshot!(run(|f| replace(
        f,
        "controls/C-1.toml",
        "frequency = \"quarterly\"",
        "frequency = \"fortnightly\""
    )));
}

#[test]
fn unknown_criterion() {
    insta::assert_snapshot!(run(|f| replace(
        f,
        "controls/C-1.toml",
        "\"CC9.2\"]",
        "\"CC9.2\",\"CC9.9\"]"
    )));
}

#[test]
fn unknown_objective_from_library_not_adopted() {
    insta::assert_snapshot!(run(|f| replace(
        f,
        "controls/C-1.toml",
        "[\"OBJ-1\"]",
        "[\"OBJ-1\", \"ITGC-CM\"]"
    )));
}

#[test]
fn control_addresses_nothing() {
    insta::assert_snapshot!(run(|f| add(
        f,
        "controls/C-2.toml",
        "id = \"C-2\"\ntitle = \"Orphan\"\nowner = \"pat\"\npolicies = [\"pol\"]\n"
    )));
}

/// A control that meets only a framework requirement (no criterion, no objective) is valid.
#[test]
fn control_meeting_only_a_framework_requirement() {
    let out = run(|f| {
        replace(
            f,
            "assure.toml",
            "period_end = 2026-06-30\n",
            "period_end = 2026-06-30\nframeworks = [\"hipaa\"]\n",
        );
        add(
            f,
            "controls/C-2.toml",
            "id = \"C-2\"\ntitle = \"Breach notices\"\nowner = \"pat\"\npolicies = [\"pol\"]\nrequirements = [\"hipaa:164.410\"]\n",
        )
    });
    assert_eq!(out, "");
}

#[test]
fn additional_subject_matter() {
    // Not among `frameworks`, and a framework Assure writes no additional subject matter for.
    insta::assert_snapshot!(run(|f| replace(
        f,
        "assure.toml",
        "period_end = 2026-06-30\n",
        "period_end = 2026-06-30\nframeworks = [\"iso27001\"]\nadditional_subject_matter = [\"hipaa\", \"iso27001\"]\n",
    )));
}

#[test]
fn criterion_without_control() {
    insta::assert_snapshot!(run(|f| replace(f, "controls/C-1.toml", ",\"CC9.2\"]", "]")));
}

#[test]
fn objective_without_control() {
    insta::assert_snapshot!(run(|f| {
        let o = f.iter_mut().find(|(p, _)| *p == "objectives.toml").unwrap();
        o.1.push_str("\n[[objective]]\nid = \"OBJ-2\"\ntitle = \"Backups\"\nstatement = \"Controls provide reasonable assurance that data is backed up.\"\n");
    }));
}

#[test]
fn duplicate_id() {
    insta::assert_snapshot!(run(|f| {
        let c = f.iter().find(|(p, _)| *p == "controls/C-1.toml").unwrap().1.clone();
        f.push(("controls/C-1-copy.toml", c));
    }));
}

#[test]
fn unknown_owner() {
    insta::assert_snapshot!(run(|f| replace(
        f,
        "controls/C-1.toml",
        "owner = \"pat\"",
        "owner = \"sam\""
    )));
}

#[test]
fn owner_resolves_by_email_and_alias() {
    assert_eq!(
        run(|f| replace(
            f,
            "controls/C-1.toml",
            "owner = \"pat\"",
            "owner = \"PAT@fixture.example\""
        )),
        ""
    );
    assert_eq!(
        run(|f| replace(f, "controls/C-1.toml", "owner = \"pat\"", "owner = \"github:patlee\"")),
        ""
    );
}

#[test]
fn unknown_policy_test_and_vendor() {
    insta::assert_snapshot!(run(|f| {
        replace(
            f,
            "controls/C-1.toml",
            "policies = [\"pol\"]",
            "policies = [\"pol\", \"nope\"]",
        );
        replace(f, "controls/C-1.toml", "tests = [\"t1\"]", "tests = [\"t1\", \"t9\"]");
        replace(
            f,
            "controls/C-1.toml",
            "vendors = [\"cloudco\"]",
            "vendors = [\"cloudco\", \"acme\"]",
        );
    }));
}

#[test]
fn unknown_control_in_test() {
    insta::assert_snapshot!(run(|f| replace(f, "tests/t1.toml", "[\"C-1\"]", "[\"C-1\", \"C-7\"]")));
}

#[test]
fn unknown_evidence_table() {
    insta::assert_snapshot!(run(|f| replace(
        f,
        "tests/t1.toml",
        "[\"access_reviews\"]",
        "[\"access_review\"]"
    )));
}

#[test]
fn test_without_query() {
    insta::assert_snapshot!(run(|f| replace(
        f,
        "tests/t1.toml",
        "sql = \"SELECT 1\"",
        "sql = \"  \""
    )));
}

#[test]
fn policy_without_owner() {
    insta::assert_snapshot!(run(|f| replace(f, "policies/pol.md", "owner = \"pat\"\n", "")));
}

#[test]
fn policy_without_review() {
    insta::assert_snapshot!(run(|f| replace(
        f,
        "policies/pol.md",
        "review_interval_months = 12\n",
        ""
    )));
}

#[test]
fn policy_without_front_matter() {
    insta::assert_snapshot!(run(|f| add(f, "policies/notes.md", "# Just notes\n")));
}

#[test]
fn period_that_ends_before_it_starts() {
    insta::assert_snapshot!(run(|f| replace(
        f,
        "assure.toml",
        "period_end = 2026-06-30",
        "period_end = 2025-06-30"
    )));
}

#[test]
fn type2_without_period() {
    insta::assert_snapshot!(run(|f| replace(f, "assure.toml", "period_end = 2026-06-30\n", "")));
}

#[test]
fn type1_without_date() {
    insta::assert_snapshot!(run(|f| replace(f, "assure.toml", "type = 2", "type = 1")));
}

#[test]
fn unusual_period_is_a_warning() {
    insta::assert_snapshot!(run(|f| replace(
        f,
        "assure.toml",
        "period_end = 2026-06-30",
        "period_end = 2026-01-31"
    )));
}

#[test]
fn invalid_date() {
    insta::assert_snapshot!(run(|f| replace(
        f,
        "assure.toml",
        "period_end = 2026-06-30",
        "period_end = \"2026-02-30\""
    )));
}

#[test]
fn carve_out_without_csocs() {
    insta::assert_snapshot!(run(|f| {
        let m = f.iter_mut().find(|(p, _)| *p == "assure.toml").unwrap();
        let cut = m.1.find("\n[[subservice.csocs]]").unwrap();
        m.1.truncate(cut + 1);
    }));
}

#[test]
fn not_relevant_without_reason() {
    insta::assert_snapshot!(run(|f| {
        let m = f.iter_mut().find(|(p, _)| *p == "assure.toml").unwrap();
        m.1 = m.1.replace("period_end = 2026-06-30\n", "period_end = 2026-06-30\n\n[[scope.not_relevant]]\ncriterion = \"A1.1\"\n\n[[scope.not_relevant]]\ncriterion = \"CC6.4\"\nreason = \"\"\n");
    }));
}

#[test]
fn incomplete_scope() {
    insta::assert_snapshot!(run(|f| {
        replace(f, "assure.toml", "reports = [\"soc1\", \"soc2\"]\n", "");
        replace(f, "assure.toml", "type = 2\n", "");
    }));
}

#[test]
fn soc1_without_objectives() {
    insta::assert_snapshot!(run(|f| {
        f.retain(|(p, _)| *p != "objectives.toml");
        replace(f, "controls/C-1.toml", "objectives = [\"OBJ-1\"]\n", "");
    }));
}

#[test]
fn control_without_owner_is_a_warning() {
    insta::assert_snapshot!(run(|f| replace(f, "controls/C-1.toml", "owner = \"pat\"\n", "")));
}

#[test]
fn stray_file_in_a_project_folder_is_a_warning() {
    insta::assert_snapshot!(run(|f| add(f, "controls/C-2.yaml", "id: C-2\n")));
}

#[test]
fn risk_scores_out_of_range() {
    insta::assert_snapshot!(run(|f| add(
        f,
        "risks/register.toml",
        "[[risk]]\nid = \"R-1\"\ntitle = \"Risk\"\nlikelihood = 7\nimpact = 3\ntreatment = \"mitigate\"\ncontrols = [\"C-1\"]\n"
    )));
}

#[test]
fn every_problem_is_reported_at_once_in_a_stable_order() {
    let out = run(|f| {
        replace(f, "controls/C-1.toml", "owner = \"pat\"", "owner = \"sam\"");
        replace(f, "tests/t1.toml", "[\"C-1\"]", "[\"C-1\", \"C-7\"]");
        replace(f, "policies/pol.md", "owner = \"pat\"\n", "");
    });
    insta::assert_snapshot!(out);
}

#[test]
fn response_to_an_unknown_subject() {
    insta::assert_snapshot!(run(|f| add(
        f,
        "responses.toml",
        "[[response]]\nsubject = \"t9\"\ntext = \"Fixed.\"\nowner = \"pat\"\n"
    )), @r"
    error[unknown-subject]: response to `t9`: `t9` is neither a test nor a control
      --> responses.toml:2
      = hint: `subject` names the test (tests/) or control (controls/) whose exceptions the response answers
    ");
}

#[test]
fn response_without_text() {
    insta::assert_snapshot!(run(|f| add(f, "responses.toml", "[[response]]\nsubject = \"t1\"\ntext = \"  \"\n")), @r"
    error[empty-response]: response to `t1` has no text
      --> responses.toml:2
      = hint: say what caused the exceptions, what was done about them and when
    ");
}

#[test]
fn response_to_a_control_by_a_known_owner_is_clean() {
    assert_eq!(
        run(|f| add(
            f,
            "responses.toml",
            "[[response]]\nsubject = \"C-1\"\ntext = \"Fixed.\"\nowner = \"pat\"\nremediated_on = 2026-07-15\n"
        )),
        ""
    );
}

#[test]
fn statement_links_name_a_missing_statement_and_an_unknown_control() {
    insta::assert_snapshot!(run(|f| {
        replace(
            f,
            "policies/pol.md",
            "review_interval_months = 12\n",
            "review_interval_months = 12\n[statements]\nPO-1 = { controls = [\"C-1\"], tests = [\"t1\"] }\nPO-2 = { controls = [\"C-9\"] }\n",
        );
        replace(f, "policies/pol.md", "1. Do the thing.", "1. PO-1. Do the thing.");
    }));
}

const PERIODS: &str = "\n[[period]]\nname = \"2025\"\nstart = 2025-07-01\nend = 2025-12-31\nstatus = \"closed\"\nclosed_on = 2026-01-20\n\n[[period]]\nname = \"2026\"\nstart = 2026-01-01\nend = 2026-06-30\nstatus = \"open\"\n";

fn with_periods(f: &mut Vec<(&'static str, String)>, periods: &str) {
    let i = f.iter().position(|(n, _)| *n == "assure.toml").unwrap();
    f[i].1.push_str(periods);
}

#[test]
fn periods_that_agree_with_the_scope_are_clean() {
    assert_eq!(run(|f| with_periods(f, PERIODS)), "");
}

#[test]
fn overlapping_periods() {
    insta::assert_snapshot!(run(|f| with_periods(
        f,
        &PERIODS.replace("end = 2025-12-31", "end = 2026-01-31")
    )));
}

#[test]
fn two_open_periods() {
    insta::assert_snapshot!(run(|f| with_periods(
        f,
        &PERIODS.replace("status = \"closed\"", "status = \"open\"")
    )));
}

#[test]
fn scope_dates_are_not_the_current_periods() {
    insta::assert_snapshot!(run(|f| with_periods(
        f,
        &PERIODS.replace("end = 2026-06-30", "end = 2026-09-30")
    )));
}

#[test]
fn duplicate_period_name_and_dates_backwards() {
    insta::assert_snapshot!(run(|f| with_periods(
        f,
        &PERIODS
            .replace("name = \"2026\"", "name = \"2025\"")
            .replace("start = 2026-01-01", "start = 2026-07-01")
    )));
}

#[test]
fn an_alias_two_people_claim() {
    insta::assert_snapshot!(run(|f| {
        let i = f.iter().position(|(n, _)| *n == "people.toml").unwrap();
        f[i].1.push_str("\n[[person]]\nid = \"sam\"\nname = \"Sam Lee\"\nemail = \"sam@fixture.example\"\naliases = [\"GitHub:PatLee\"]\n");
    }));
}

fn with_monitoring(files: &mut [(&'static str, String)], text: &str) {
    let entry = files.iter_mut().find(|(p, _)| *p == "assure.toml").unwrap();
    entry.1.push_str(text);
}

#[test]
fn monitoring_schedule_unknown() {
    insta::assert_snapshot!(run(|f| with_monitoring(
        f,
        "\n[monitoring]\nschedule = \"every fortnight\"\n"
    )));
}

#[test]
fn monitoring_alert_kind_not_deliverable() {
    insta::assert_snapshot!(run(|f| with_monitoring(
        f,
        "\n[[monitoring.alert]]\nkind = \"pager\"\nurl = \"https://pager.acme.example\"\n"
    )));
}

#[test]
fn monitoring_email_without_server_or_recipients() {
    insta::assert_snapshot!(run(|f| with_monitoring(
        f,
        "\n[[monitoring.alert]]\nkind = \"email\"\nserver = \"smtp.acme.example\"\nfrom = \"assure@acme.example\"\n"
    )));
}

#[test]
fn monitoring_webhook_without_url() {
    insta::assert_snapshot!(run(|f| with_monitoring(
        f,
        "\n[[monitoring.alert]]\nkind = \"webhook\"\n"
    )));
}

#[test]
fn monitoring_secret_written_instead_of_named() {
    insta::assert_snapshot!(run(|f| with_monitoring(
        f,
        "\n[[monitoring.alert]]\nkind = \"webhook\"\nurl = \"https://hooks.acme.example/assure\"\nsecret_env = \"s3cret value\"\n"
    )));
}

#[test]
fn monitoring_collector_kind_unknown() {
    insta::assert_snapshot!(run(|f| with_monitoring(
        f,
        "\n[[monitoring.collect]]\nkind = \"servicenow\"\nendpoint = \"https://acme.service-now.com\"\n"
    )));
}

#[test]
fn monitoring_github_collector_without_org() {
    insta::assert_snapshot!(run(|f| with_monitoring(
        f,
        "\n[[monitoring.collect]]\nkind = \"github\"\nrepos = [\"acme/api\"]\n"
    )));
}

#[test]
fn monitoring_github_repository_not_owner_slash_name() {
    insta::assert_snapshot!(run(|f| with_monitoring(
        f,
        "\n[[monitoring.collect]]\nkind = \"github\"\norg = \"acme\"\nrepos = [\"api\"]\n"
    )));
}

#[test]
fn monitoring_okta_collector_without_endpoint() {
    insta::assert_snapshot!(run(|f| with_monitoring(
        f,
        "\n[[monitoring.collect]]\nkind = \"okta\"\n"
    )));
}

#[test]
fn monitoring_secrets_file_inside_the_project() {
    insta::assert_snapshot!(run(|f| with_monitoring(
        f,
        "\n[monitoring]\nsecrets_file = \"secrets.toml\"\n"
    )));
}

#[test]
fn monitoring_digest_unknown() {
    insta::assert_snapshot!(run(|f| with_monitoring(f, "\n[monitoring]\ndigest = \"weekly\"\n")));
}

#[test]
fn monitoring_cloudtrail_collector_without_bucket() {
    insta::assert_snapshot!(run(|f| with_monitoring(
        f,
        "\n[[monitoring.collect]]\nkind = \"cloudtrail\"\n"
    )));
}

#[test]
fn monitoring_jira_collector_without_search_or_mapping() {
    insta::assert_snapshot!(run(|f| with_monitoring(
        f,
        "\n[[monitoring.collect]]\nkind = \"jira\"\nendpoint = \"https://acme.atlassian.net\"\njql = \"project = IT ORDER BY created\"\n"
    )));
}
