//! Report drafts built from every `init` template: each required section and element is present,
//! and each element the project lacks is shown as a gap and listed on the cover.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]
use assure_assess::gap::{self, Assessment, Signals};
use assure_project::init::{Template, init};
use assure_project::{Project, check};
use assure_report::doc::{Block, Document, html};
use assure_report::{Inputs, bridge, matrix, readiness, soc1, soc2, soc3};
use chrono::NaiveDate;

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn project(t: Template) -> Project {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("p");
    init(t, &root).unwrap();
    check(&root).unwrap().project
}

fn assess(p: &Project) -> Assessment {
    gap::assess(p, as_of(), &Signals::default())
}

fn inputs<'a>(p: &'a Project, a: &'a Assessment) -> Inputs<'a> {
    Inputs {
        project: p,
        assessment: a,
        run: None,
        samples: &[],
        ledger: &[],
        as_of: as_of(),
        history: &[],
    }
}

fn text(d: &Document) -> String {
    d.text_lines().join("\n")
}

fn headings(d: &Document) -> Vec<String> {
    d.blocks
        .iter()
        .filter_map(|b| match b {
            Block::Heading { level: 1, text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

const TEMPLATES: [Template; 3] = [Template::Saas, Template::Payroll, Template::Fintech];

#[test]
fn soc2_drafts_have_every_section_and_description_element_for_every_template() {
    for t in TEMPLATES {
        let p = project(t);
        let a = assess(&p);
        let d = soc2(&inputs(&p, &a)).unwrap();
        let h = headings(&d);
        for s in ["Section I:", "Section II:", "Section III:", "Section IV:", "Section V:"] {
            assert!(h.iter().any(|x| x.starts_with(s)), "{t:?}: no {s} in {h:?}");
        }
        let body = text(&d);
        for dc in ["DC1.", "DC2.", "DC3.", "DC4.", "DC5.", "DC6.", "DC7.", "DC8.", "DC9."] {
            assert!(body.contains(dc), "{t:?}: {dc} missing");
        }
        assert!(body.contains("Reserved for the independent service auditor's report"));
        // Without a test run, a Type 2 draft cannot report results: a visible gap, listed on the cover.
        assert!(
            d.missing.iter().any(|m| m.element == "Section IV"),
            "{t:?}: {:?}",
            d.missing
        );
        assert!(
            d.blocks
                .iter()
                .any(|b| matches!(b, Block::Gap { element, .. } if element == "Section IV"))
        );
    }
}

#[test]
fn soc1_drafts_use_the_objectives_and_the_at_c_320_elements() {
    for t in [Template::Payroll, Template::Fintech] {
        let p = project(t);
        let a = assess(&p);
        let d = soc1(&inputs(&p, &a)).unwrap();
        let body = text(&d);
        for e in [
            "SOC1-SERVICES.",
            "SOC1-TXN.",
            "SOC1-RECORDS.",
            "SOC1-EVENTS.",
            "SOC1-REPORTING.",
            "SOC1-OBJECTIVES.",
            "SOC1-CUEC.",
            "SOC1-SUBSERVICE.",
            "SOC1-COSO.",
            "SOC1-CHANGES.",
        ] {
            assert!(body.contains(e), "{t:?}: {e} missing");
        }
        assert!(
            headings(&d)
                .iter()
                .any(|h| h == "Section IV: Control objectives, controls, tests and results")
        );
        let first = &p.objectives[0];
        assert!(
            body.contains(first.statement.as_str()),
            "{t:?}: objective statement not in the draft"
        );
        assert!(
            !body.contains("DC5."),
            "a SOC 1 draft must not be organized by the SOC 2 criteria"
        );
    }
}

#[test]
fn soc3_has_no_tests_and_no_detailed_description() {
    let p = project(Template::Saas);
    let a = assess(&p);
    let d = soc3(&inputs(&p, &a)).unwrap();
    let h = headings(&d);
    assert_eq!(
        h,
        [
            "Independent service auditor's report",
            "Assertion of Northwind Analytics management",
            "Attachment A: The system and its boundaries",
            "Attachment B: Principal service commitments and system requirements"
        ]
    );
    let body = text(&d);
    assert!(!body.contains("Tests performed") && !body.contains("Population"));
    assert!(body.contains("SR-1"), "commitments and requirements are listed");
}

#[test]
fn readiness_and_matrix_for_every_template() {
    for t in TEMPLATES {
        let p = project(t);
        let a = assess(&p);
        let inp = inputs(&p, &a);
        let r = readiness(&inp).unwrap();
        assert_eq!(
            headings(&r),
            [
                "Summary",
                "Gaps, most blocking first",
                "Plan by owner",
                "Criteria and objectives",
                "Controls",
                "Policies"
            ]
        );
        assert!(text(&r).contains(&format!("{:.1} %", a.overall.value * 100.0)));
        let m = matrix::matrix(&inp);
        let names: Vec<&str> = m.sheets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["Control matrix", "Criteria map", "Request list"],
            "{t:?}: no run, so no test sheets"
        );
        assert_eq!(m.sheets[0].rows.len(), p.controls.len());
        let requests = &m.sheets[2];
        let wanted: usize = p.controls.iter().map(|c| c.evidence.len()).sum::<usize>() + p.policies.len();
        assert_eq!(
            requests.rows.len(),
            wanted,
            "{t:?}: one request per evidence item and per policy"
        );
        // Nothing has been collected yet: evidence requests are open, or overdue 14 days after the period.
        let status = requests.headers.iter().position(|h| h == "Status").unwrap();
        let statuses: std::collections::BTreeSet<String> = requests
            .rows
            .iter()
            .filter(|r| r[1].text() != "document")
            .map(|r| r[status].text())
            .collect();
        let end = p.manifest.scope.period_end.as_ref().unwrap().get_ref().0;
        let expected = if as_of() > end + chrono::Days::new(14) {
            "overdue"
        } else {
            "open"
        };
        assert_eq!(statuses.into_iter().collect::<Vec<_>>(), [expected], "{t:?}");
    }
}

#[test]
fn missing_cuecs_are_a_gap_where_dc6_belongs_and_on_the_cover() {
    let mut p = project(Template::Saas);
    p.manifest.cuec.clear();
    let a = assess(&p);
    let d = soc2(&inputs(&p, &a)).unwrap();
    let m: Vec<_> = d.missing.iter().filter(|m| m.element == "DC6").collect();
    assert_eq!(m.len(), 1);
    insta::assert_snapshot!(format!("{}: {} {}", m[0].element, m[0].text, m[0].fix), @"DC6: No complementary user entity controls are stated. Add [[cuec]] entries to assure.toml (what customers must do, and the criteria it supports).");
    let pos_gap = d
        .blocks
        .iter()
        .position(|b| matches!(b, Block::Gap { element, .. } if element == "DC6"))
        .unwrap();
    let pos_heading = d
        .blocks
        .iter()
        .position(|b| matches!(b, Block::Heading { text, .. } if text.starts_with("DC6.")))
        .unwrap();
    assert!(pos_heading < pos_gap, "the gap sits under its own heading");
}

#[test]
fn carve_out_without_expected_controls_is_a_dc7_gap() {
    let mut p = project(Template::Saas);
    p.manifest.subservice[0].csocs.clear();
    let a = assess(&p);
    let d = soc2(&inputs(&p, &a)).unwrap();
    assert!(
        d.missing
            .iter()
            .any(|m| m.element == "DC7" && m.text.contains("Amazon Web Services")),
        "{:?}",
        d.missing
    );
}

#[test]
fn not_relevant_without_a_reason_is_a_dc8_gap_and_empty_components_a_dc3_gap() {
    let mut p = project(Template::Saas);
    p.manifest.scope.not_relevant.push(assure_project::model::NotRelevant {
        criterion: assure_project::model::Ref::new("CC6.4"),
        reason: String::new(),
    });
    p.manifest.system.components.data.clear();
    p.manifest.system.boundaries.clear();
    let a = assess(&p);
    let d = soc2(&inputs(&p, &a)).unwrap();
    let got: Vec<String> = d
        .missing
        .iter()
        .filter(|m| m.element != "Section IV")
        .map(|m| format!("{}: {}", m.element, m.text))
        .collect();
    insta::assert_snapshot!(got.join("\n"), @r"
    DC3: The data component is not described.
    DC3: The boundaries of the system are not stated.
    DC8: Criterion CC6.4 is marked not relevant without a reason.
    ");
}

#[test]
fn a_project_without_scope_says_so_instead_of_inventing_a_period() {
    let mut p = project(Template::Saas);
    p.manifest.scope.exam_type = None;
    p.manifest.scope.period_start = None;
    p.manifest.scope.period_end = None;
    let a = assess(&p);
    let d = soc2(&inputs(&p, &a)).unwrap();
    let scope: Vec<&str> = d
        .missing
        .iter()
        .filter(|m| m.element == "Scope")
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(
        scope,
        [
            "The examination type (Type 1 or Type 2) is not chosen.",
            "The report period is not set."
        ]
    );
    assert!(d.header.contains("no period in the scope"), "{}", d.header);
}

#[test]
fn bridge_letter_covers_the_days_after_the_period_and_refuses_dates_inside_it() {
    let p = project(Template::Saas);
    let a = assess(&p);
    let inp = inputs(&p, &a);
    let d = bridge(&inp, NaiveDate::from_ymd_opt(2027, 3, 31).unwrap()).unwrap();
    let body = text(&d);
    assert!(body.contains("1 January 2027 to 31 March 2027"), "{body}");
    assert!(body.contains("(the bridge period, 90 days)"), "{body}");
    assert!(body.contains("We are not aware of any significant change"));
    let long = bridge(&inp, NaiveDate::from_ymd_opt(2027, 6, 30).unwrap()).unwrap();
    assert!(text(&long).contains("longer than three months"));
    let err = bridge(&inp, NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()).unwrap_err();
    insta::assert_snapshot!(err.to_string(), @"the bridge date 2026-12-31 is not after the period's end (2026-12-31); give --to a later date");
}

#[test]
fn html_escapes_project_text_and_has_no_scripts() {
    let mut p = project(Template::Saas);
    p.manifest.organization.name = "Acme <script>alert(1)</script> & Co".into();
    let a = assess(&p);
    let page = html(&soc2(&inputs(&p, &a)).unwrap());
    assert!(
        !page.contains("<script"),
        "raw markup from the project reached the page"
    );
    assert!(page.contains("Acme &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"));
}

#[test]
fn drafts_are_deterministic() {
    let p = project(Template::Fintech);
    let a = assess(&p);
    let one = html(&soc1(&inputs(&p, &a)).unwrap());
    let two = html(&soc1(&inputs(&p, &a)).unwrap());
    assert_eq!(one, two);
}
