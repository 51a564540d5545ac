//! A test per scoping path: every rule fires in a scenario, every contradiction is caught.

use std::collections::BTreeSet;

use assure_assess::scope::{Answers, Outcome, ProblemKind, RULES, Window, decide, render_text, set_answer};
use chrono::NaiveDate;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

/// A small SaaS company answering for a SOC 2 Security report.
fn base() -> Answers {
    let mut a = Answers::default();
    for (k, v) in [
        ("services", "saas"),
        ("affects_financial_reporting", "no"),
        ("data", "none"),
        ("requesters", "security_teams"),
        ("commitments", "none"),
        ("regulations", "none"),
        ("public_summary", "no"),
        ("report_needed_in_months", "9"),
        ("observation_window_possible", "yes"),
    ] {
        set_answer(&mut a, k, v).unwrap();
    }
    a
}

fn with(pairs: &[(&str, &str)]) -> Answers {
    let mut a = base();
    for (k, v) in pairs {
        set_answer(&mut a, k, v).unwrap();
    }
    a
}

fn fired(a: &Answers) -> BTreeSet<String> {
    match decide(a, today()) {
        Outcome::Decided(d) => d
            .reports
            .iter()
            .flat_map(|r| r.because.iter())
            .chain(d.categories.iter().flat_map(|c| c.because.iter()))
            .chain(d.exam_type.because.iter())
            .chain(d.window.because.iter())
            .map(|(rule, _)| rule.clone())
            .collect(),
        Outcome::Problems { problems } => panic!("unexpected problems: {problems:?}"),
    }
}

/// `(scenario, answers changed from the base, rules that must fire)`.
type Scenario = (&'static str, Vec<(&'static str, &'static str)>, Vec<&'static str>);

fn scenarios() -> Vec<Scenario> {
    vec![
        (
            "plain saas",
            vec![],
            vec![
                "soc2-security-teams",
                "soc2-service-type",
                "security-always",
                "type2-window",
                "soc2-period",
            ],
        ),
        (
            "financial impact",
            vec![("affects_financial_reporting", "yes"), ("services", "payroll")],
            vec!["soc1-icfr", "soc1-period"],
        ),
        (
            "user auditors ask",
            vec![("affects_financial_reporting", "yes"), ("requesters", "user_auditors")],
            vec!["soc1-user-auditors", "soc1-icfr"],
        ),
        (
            "sox named",
            vec![("affects_financial_reporting", "yes"), ("regulations", "sox")],
            vec!["soc1-sox"],
        ),
        ("sensitive data", vec![("data", "payment")], vec!["soc2-sensitive-data"]),
        (
            "public summary",
            vec![("public_summary", "yes")],
            vec!["soc2-public-summary", "soc3-public-summary"],
        ),
        ("uptime", vec![("commitments", "uptime")], vec!["availability-uptime"]),
        (
            "hosting",
            vec![("services", "hosting")],
            vec!["availability-hosting", "soc2-service-type"],
        ),
        (
            "confidential data",
            vec![("data", "confidential")],
            vec!["confidentiality-data"],
        ),
        (
            "confidentiality promised",
            vec![("commitments", "confidentiality")],
            vec!["confidentiality-commitment"],
        ),
        (
            "health data under hipaa",
            vec![("data", "health"), ("regulations", "hipaa")],
            vec!["confidentiality-health"],
        ),
        (
            "accuracy promised",
            vec![("commitments", "processing_accuracy")],
            vec!["processing-integrity-accuracy"],
        ),
        (
            "privacy promised",
            vec![("data", "personal"), ("commitments", "privacy")],
            vec!["privacy-commitment"],
        ),
        (
            "gdpr",
            vec![("data", "personal"), ("regulations", "gdpr")],
            vec!["privacy-regulation"],
        ),
        (
            "no window",
            vec![("observation_window_possible", "no")],
            vec!["type1-no-window", "type1-date"],
        ),
        (
            "urgent",
            vec![("report_needed_in_months", "3")],
            vec!["type1-urgent", "type1-date"],
        ),
    ]
}

#[test]
fn every_scenario_fires_its_rules() {
    for (name, pairs, rules) in scenarios() {
        let got = fired(&with(&pairs));
        for r in rules {
            assert!(got.contains(r), "{name}: `{r}` did not fire; fired {got:?}");
        }
    }
}

#[test]
fn every_rule_in_the_table_has_a_scenario() {
    let covered: BTreeSet<&str> = scenarios().into_iter().flat_map(|(_, _, r)| r).collect();
    for rule in RULES {
        assert!(covered.contains(rule.id), "rule `{}` has no scenario", rule.id);
    }
}

#[test]
fn rules_that_should_not_fire_do_not() {
    let got = fired(&base());
    for r in [
        "soc1-icfr",
        "soc1-user-auditors",
        "soc3-public-summary",
        "availability-uptime",
        "privacy-commitment",
        "type1-no-window",
    ] {
        assert!(!got.contains(r), "{r} fired on the base answers");
    }
}

#[test]
fn soc1_period_overlaps_a_customer_fiscal_year_by_six_months() {
    // (fiscal year-end, months until needed, expected start, expected end, late)
    for (fye, needed, start, end, late) in [
        ("12-31", "12", "2026-12-01", "2027-10-31", false),
        ("06-30", "12", "2026-12-01", "2027-06-30", false),
        ("03-31", "12", "2026-12-01", "2027-10-31", false),
        ("09-30", "12", "2026-12-01", "2027-09-30", false),
        ("12-31", "5", "2026-12-01", "2027-06-30", true),
    ] {
        let a = with(&[
            ("affects_financial_reporting", "yes"),
            ("requesters", "user_auditors"),
            ("customer_fiscal_year_end", fye),
            ("report_needed_in_months", needed),
        ]);
        let Outcome::Decided(d) = decide(&a, today()) else {
            panic!()
        };
        let Window::Period { start: s, end: e } = d.window.value else {
            panic!()
        };
        assert_eq!(
            (s.to_string(), e.to_string()),
            (start.to_string(), end.to_string()),
            "{fye} in {needed}"
        );
        assert_eq!(
            d.notes.iter().any(|n| n.contains("after the report is needed")),
            late,
            "{fye} in {needed}"
        );
        assert!(d.window.because[0].1.contains("by ") && !d.window.because[0].1.contains("by 0"));
    }
}

use chrono::Datelike as _;

/// The finding: every proposed Type 2 period ended the day before the report was due, while its
/// reason said the auditor had a month. Now the period ends at the last month end that leaves the
/// auditor their months of reporting (one by default, or `auditor_reporting_months`), and the
/// reason states the days left; a deadline too close for that says so.
#[test]
fn soc2_period_fits_before_the_report_is_needed() {
    for (needed, reporting, months, short) in [
        (4, None, 3, true),
        (9, None, 7, false),
        (13, None, 11, false),
        (24, None, 12, false),
        (13, Some("2"), 10, false),
    ] {
        let mut a = with(&[("report_needed_in_months", &needed.to_string())]);
        a.auditor_reporting_months = reporting.map(|r| r.parse().unwrap());
        let Outcome::Decided(d) = decide(&a, today()) else {
            panic!()
        };
        let Window::Period { start, end } = d.window.value else {
            panic!()
        };
        assert_eq!(start, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        let got = (end.year() - start.year()) * 12 + end.month() as i32 - start.month() as i32 + 1;
        assert_eq!(got, months, "needed in {needed}");
        let due = today().checked_add_months(chrono::Months::new(needed)).unwrap();
        let left = (due - end).num_days();
        let want = 28 * i64::from(reporting.map_or(1, |r| r.parse::<u32>().unwrap()));
        assert_eq!(left < want, short, "needed in {needed}: {left} days left");
        assert!(
            d.window.because[0]
                .1
                .contains(&format!("leaves the service auditor {left} days")),
            "{}",
            d.window.because[0].1
        );
        assert_eq!(
            d.notes.iter().any(|n| n.contains("agree the date")),
            short,
            "{:?}",
            d.notes
        );
    }
}

#[test]
fn type1_date_is_the_end_of_next_month() {
    let Outcome::Decided(d) = decide(&with(&[("observation_window_possible", "no")]), today()) else {
        panic!()
    };
    assert_eq!(
        d.window.value,
        Window::AsOf {
            date: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        }
    );
    assert_eq!(d.exam_type.value, 1);
}

fn problems(pairs: &[(&str, &str)]) -> Vec<(ProblemKind, Vec<&'static str>)> {
    match decide(&with(pairs), today()) {
        Outcome::Problems { problems } => problems.into_iter().map(|p| (p.kind, p.answers)).collect(),
        Outcome::Decided(_) => Vec::new(),
    }
}

#[test]
fn each_contradiction_is_reported() {
    let c = ProblemKind::Contradiction;
    assert_eq!(
        problems(&[("requesters", "user_auditors")]),
        [(c, vec!["affects_financial_reporting", "requesters"])]
    );
    assert_eq!(
        problems(&[("regulations", "sox")]),
        [(c, vec!["affects_financial_reporting", "regulations"])]
    );
    assert_eq!(
        problems(&[("regulations", "hipaa")]),
        [(c, vec!["regulations", "data"])]
    );
    assert_eq!(
        problems(&[("regulations", "ccpa"), ("data", "payment")]),
        [(c, vec!["regulations", "data"])]
    );
    assert_eq!(
        problems(&[("commitments", "privacy")]),
        [(c, vec!["commitments", "data"])]
    );
    assert_eq!(
        problems(&[("public_summary", "yes"), ("observation_window_possible", "no")]),
        [(c, vec!["public_summary", "observation_window_possible"])]
    );
}

#[test]
fn missing_answers_are_listed_and_nothing_is_decided() {
    let mut a = Answers::default();
    set_answer(&mut a, "services", "saas").unwrap();
    let out = decide(&a, today());
    insta::assert_snapshot!(render_text(&out));
}

#[test]
fn bad_typed_answers_are_refused_with_the_choices() {
    let mut a = Answers::default();
    assert_eq!(
        set_answer(&mut a, "services", "saas, crypto").unwrap_err().0,
        "`crypto` is not one of: payroll, billing, payments, gl_integration, fund_admin, saas, hosting, managed_it, none"
    );
    assert!(set_answer(&mut a, "public_summary", "maybe").is_err());
    assert!(set_answer(&mut a, "report_needed_in_months", "0").is_err());
    assert!(set_answer(&mut a, "customer_fiscal_year_end", "02-30").is_err());
    // Numbers pick choices by position.
    set_answer(&mut a, "services", "1,6").unwrap();
    assert_eq!(
        assure_assess::scope::answer_text(&a, "services").unwrap(),
        "payroll, saas"
    );
}

#[test]
fn saas_decision_text() {
    let a = with(&[
        ("data", "confidential,personal"),
        ("commitments", "uptime,confidentiality"),
        ("public_summary", "yes"),
        ("report_needed_in_months", "10"),
    ]);
    insta::assert_snapshot!(render_text(&decide(&a, today())));
}

#[test]
fn payroll_decision_text() {
    let a = with(&[
        ("services", "payroll"),
        ("affects_financial_reporting", "yes"),
        ("data", "personal,payment"),
        ("requesters", "user_auditors,security_teams"),
        ("regulations", "sox"),
        ("report_needed_in_months", "12"),
    ]);
    insta::assert_snapshot!(render_text(&decide(&a, today())));
}

#[test]
fn no_report_needed_is_said_plainly() {
    let a = with(&[
        ("services", "billing"),
        ("requesters", "security_teams"),
        ("services", "billing"),
    ]);
    let Outcome::Decided(d) = decide(&a, today()) else {
        panic!()
    };
    assert_eq!(d.report_kinds(), [assure_project::model::ReportKind::Soc2]);
    assert!(d.notes.iter().any(|n| n.contains("add a SOC 1")));
}

#[test]
fn answers_files_parse_in_toml_and_json() {
    let toml_text = "services = [\"saas\"]\naffects_financial_reporting = false\ndata = []\nrequesters = [\"security_teams\"]\ncommitments = [\"uptime\"]\nregulations = []\npublic_summary = false\nreport_needed_in_months = 9\nobservation_window_possible = true\n";
    let a: Answers = toml::from_str(toml_text).unwrap();
    let j: Answers = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
    assert_eq!(a, j);
    assert!(matches!(decide(&a, today()), Outcome::Decided(_)));
    assert!(toml::from_str::<Answers>("servicez = []").is_err());
}
