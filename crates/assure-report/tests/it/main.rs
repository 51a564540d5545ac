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
use assure_report::matrix::Cell;
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
        incidents: None,
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
        // Every AT-C 320 element has its part, headed in words (our codes for them appear nowhere).
        let all: Vec<String> = d
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Heading { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect();
        for e in assure_catalog::description_elements()
            .iter()
            .filter(|e| e.id.starts_with("SOC1-"))
        {
            assert!(all.iter().any(|h| h == e.title), "{t:?}: no part headed {:?}", e.title);
            assert!(!body.contains(e.id), "{t:?}: our code {} is printed", e.id);
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
        // A crosswalk sheet per framework the template names (ISO 27001 with its Statement of
        // Applicability); no run, so no test sheets after the request list.
        let mut want = vec!["Control matrix", "Criteria map"];
        for f in &p.manifest.scope.frameworks {
            want.push(match f.as_str() {
                "iso27001" => "Crosswalk iso27001",
                "gdpr" => "Crosswalk gdpr",
                "ccpa" => "Crosswalk ccpa",
                _ => "Crosswalk sox-itgc",
            });
            if f.as_str() == "iso27001" {
                want.push("Statement of Applicability");
            }
        }
        want.push("Request list");
        assert_eq!(names, want, "{t:?}: no run, so no test sheets");
        assert_eq!(m.sheets[0].rows.len(), p.controls.len());
        let requests = m.sheets.iter().find(|s| s.name == "Request list").unwrap();
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
        .position(|b| matches!(b, Block::Heading { text, .. } if text.starts_with("Controls user entities are expected to operate")))
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

/// The headings of every level.
fn all_headings(d: &Document) -> Vec<String> {
    d.blocks
        .iter()
        .filter_map(|b| match b {
            Block::Heading { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

/// The assertion's text: from its heading to the next level-1 heading.
fn assertion_text(d: &Document) -> String {
    let lines = d.text_lines();
    let start = lines.iter().position(|l| l.contains("Assertion of")).unwrap();
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.starts_with("Section III") || l.starts_with("Attachment A"))
        .map_or(lines.len(), |i| start + 1 + i);
    lines[start..end].join("\n")
}

#[test]
fn each_assertion_speaks_its_own_report_and_signs_a_legal_name_once() {
    for t in TEMPLATES {
        let p = project(t);
        let a = assess(&p);
        let inp = inputs(&p, &a);
        let soc2_text = assertion_text(&soc2(&inp).unwrap());
        for soc1_words in ["control objective", "achieved", "financial statements"] {
            assert!(
                !soc2_text.contains(soc1_words),
                "{t:?}: the SOC 2 assertion says {soc1_words:?}:\n{soc2_text}"
            );
        }
        assert!(soc2_text.contains("service commitments and system requirements"));
        let soc1_text = assertion_text(&soc1(&inp).unwrap());
        assert!(
            soc1_text.contains("control objectives would be achieved"),
            "{soc1_text}"
        );
        assert!(!soc1_text.contains("trust services criteria"), "{soc1_text}");
        let soc3_text = assertion_text(&soc3(&inp).unwrap());
        for restricted in ["sufficient understanding", "user entities", "business partners"] {
            assert!(
                !soc3_text.contains(restricted),
                "{t:?}: the SOC 3 assertion, which is for general use, says {restricted:?}:\n{soc3_text}"
            );
        }
        // "Ledgerline Payments, Inc." ends with a full stop already.
        for d in [soc2(&inp).unwrap(), soc1(&inp).unwrap(), soc3(&inp).unwrap()] {
            assert!(!text(&d).contains(".."), "{t:?}: a doubled full stop in the {}", d.kind);
        }
        let letter = bridge(&inp, NaiveDate::from_ymd_opt(2027, 3, 31).unwrap()).unwrap();
        assert!(
            !text(&letter).contains(".."),
            "{t:?}: a doubled full stop in the bridge letter"
        );
    }
}

#[test]
fn headings_are_words_and_codes_live_in_the_text() {
    for t in TEMPLATES {
        let p = project(t);
        let a = assess(&p);
        let inp = inputs(&p, &a);
        for d in [soc2(&inp).unwrap(), soc1(&inp).unwrap()] {
            for h in all_headings(&d) {
                let first = h.split([' ', ':', '.']).next().unwrap_or("");
                let code_like = first.chars().any(|c| c.is_ascii_digit())
                    && first
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '.');
                assert!(!code_like, "{t:?} {}: heading {h:?} starts with a code", d.kind);
            }
        }
        let body = text(&soc2(&inp).unwrap());
        assert!(body.contains("This part answers description criterion DC4."));
        assert!(
            body.contains("Criterion CC6.1."),
            "{t:?}: criteria are named in the text"
        );
    }
}

fn outcome(id: &str, control: &str, population: usize, exceptions: usize) -> serde_json::Value {
    serde_json::json!({
        "id": id, "title": format!("title of {id}"), "controls": [control],
        "population": population, "exceptions": exceptions, "not_applicable": 0,
        "conclusion": if exceptions > 0 { "exceptions" } else { "no_exceptions" },
        "note": null, "items": []
    })
}

#[test]
fn section_iv_is_laid_out_by_criterion_with_each_tests_own_population() {
    let p = project(Template::Saas);
    let a = assess(&p);
    // A control with two tests, whose populations must never be added up (1,243 + 1).
    let c = p
        .controls
        .iter()
        .filter(|c| c.tests.len() >= 2 && !c.criteria.is_empty())
        .min_by(|x, y| x.id.as_str().cmp(y.id.as_str()))
        .expect("a control with two tests");
    let (t1, t2) = (c.tests[0].as_str(), c.tests[1].as_str());
    let run: assure_assess::results::RunRecord = serde_json::from_value(serde_json::json!({
        "format": 1, "engine": "test", "exam_type": 2,
        "period_start": "2026-01-01", "period_end": "2026-12-31", "as_of": "2026-12-31",
        "definitions": "x", "inputs": [], "unresolved": [],
        "tests": [outcome(t1, c.id.as_str(), 1243, 0), outcome(t2, c.id.as_str(), 1, 1)],
        "controls": []
    }))
    .unwrap();
    let inp = Inputs {
        run: Some((7, &run)),
        ..inputs(&p, &a)
    };
    let d = soc2(&inp).unwrap();
    let body = text(&d);
    assert!(!body.contains("1244"), "populations of two tests were added together");
    let rows: Vec<&Vec<String>> = d
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Table { rows, .. } => Some(rows),
            _ => None,
        })
        .flatten()
        .collect();
    let row1 = rows
        .iter()
        .find(|r| r.len() == 6 && r[2].starts_with(&format!("Test {t1}:")))
        .unwrap();
    assert_eq!((row1[3].as_str(), row1[5].as_str()), ("1243", "no exceptions noted"));
    let row2 = rows
        .iter()
        .find(|r| r.len() == 6 && r[2].starts_with(&format!("Test {t2}:")))
        .unwrap();
    assert_eq!((row2[3].as_str(), row2[5].as_str()), ("1", "exceptions noted (1 of 1)"));
    // Laid out by criterion: each of the control's criteria is a heading in words, and the
    // control appears under each.
    let h = all_headings(&d);
    for cr in &c.criteria {
        let title = assure_catalog::criterion(cr.as_str()).unwrap().title;
        assert!(h.iter().any(|x| x == title), "no heading for {}", cr.as_str());
    }
    let under = rows.iter().filter(|r| r.len() == 6 && r[0] == c.id.as_str()).count();
    assert!(
        under >= c.criteria.len(),
        "{} rows for {} criteria",
        under,
        c.criteria.len()
    );
    // The matrix workbook never sums them either.
    let m = matrix::matrix(&inp);
    let sheet = &m.sheets[0];
    let row = sheet
        .rows
        .iter()
        .find(|r| matches!(&r[0], Cell::Text(x) if x == c.id.as_str()))
        .unwrap();
    assert_eq!(row[10], Cell::Text(format!("{t1}: 1243\n{t2}: 1")));
}

fn incident(id: &str, sev: &str, day: &str) -> assure_report::Incident {
    assure_report::Incident {
        id: id.into(),
        severity: sev.into(),
        category: "availability".into(),
        detected_on: NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap(),
        resolved_on: None,
        postmortem_on: None,
        customer_impact: Some(true),
        file: "incidents.csv".into(),
        row: 2,
        sha256: "ab".repeat(32),
    }
}

#[test]
fn significant_incidents_come_from_the_incidents_evidence_with_the_threshold_stated() {
    let p = project(Template::Saas);
    let a = assess(&p);
    let dc4 = |d: &Document| {
        let lines = d.text_lines();
        let s = lines.iter().position(|l| l.contains("criterion DC4")).unwrap();
        let e = lines.iter().position(|l| l.contains("criterion DC5")).unwrap() - 1;
        lines[s..e].join("\n")
    };
    // No incidents evidence: the draft says it cannot check, and claims nothing.
    let none = dc4(&soc2(&inputs(&p, &a)).unwrap());
    assert!(none.contains("No incidents evidence is recorded"), "{none}");
    assert!(!none.contains("No significant"), "{none}");
    // sev1 and sev2 in the period are listed; sev3 and last year's sev1 are not.
    let list = [
        incident("INC-1", "sev1", "2026-03-02"),
        incident("INC-2", "sev2", "2026-07-19"),
        incident("INC-3", "sev3", "2026-08-01"),
        incident("INC-0", "sev1", "2025-11-30"),
    ];
    let inp = Inputs {
        incidents: Some(&list),
        ..inputs(&p, &a)
    };
    let d = soc2(&inp).unwrap();
    let text4 = dc4(&d);
    insta::assert_snapshot!(text4);
    assert!(d.missing.iter().any(|m| m.element == "DC4" && m.text.contains("INC-1")));
    // Only minor incidents: the evidence says none was significant, and how many there were.
    let minor = [incident("INC-3", "sev3", "2026-08-01")];
    let inp = Inputs {
        incidents: Some(&minor),
        ..inputs(&p, &a)
    };
    let t = dc4(&soc2(&inp).unwrap());
    assert!(
        t.contains("The incidents evidence records 1 incident during the period, none of them rated sev1 or sev2"),
        "{t}"
    );
    // The bridge letter reads the same evidence over the bridge period.
    let later = [incident("INC-9", "sev2", "2027-02-03")];
    let inp = Inputs {
        incidents: Some(&later),
        ..inputs(&p, &a)
    };
    let letter = text(&bridge(&inp, NaiveDate::from_ymd_opt(2027, 3, 31).unwrap()).unwrap());
    assert!(
        letter.contains("3 February 2027: incident INC-9 (sev2, availability), not yet resolved"),
        "{letter}"
    );
}

/// The auditor's issue: 29 of 40 sampled items could not be seen because pages stopped at 1,000
/// rows and numbers sorted as text. Every item is reachable by paging, numbers sort as numbers,
/// dates as dates, filters narrow, and each item names the file, row and SHA-256 it came from.
#[test]
fn a_population_pages_sorts_by_type_filters_and_traces_each_item() {
    use assure_report::workpaper::{ColumnType, PopulationQuery, population, population_sheet};
    let items: Vec<serde_json::Value> = (1..=2500)
        .map(|i| {
            serde_json::json!({
                "item": format!("CHG-{i}"),
                "status": if i % 500 == 0 { "fail" } else { "pass" },
                "reason": if i % 500 == 0 { "approved only by its author" } else { "approved" },
                "attributes": [["lines", (i * 7 % 1000).to_string()],
                               ["merged_at", format!("2026-{:02}-{:02}T10:00:00", 1 + i % 12, 1 + i % 28)],
                               ["_evidence", "ab".repeat(32)], ["_row", (i + 1).to_string()]]
            })
        })
        .collect();
    let run: assure_assess::results::RunRecord = serde_json::from_value(serde_json::json!({
        "format": 1, "engine": "test", "exam_type": 2,
        "period_start": "2026-01-01", "period_end": "2026-12-31", "as_of": "2026-12-31",
        "definitions": "x", "unresolved": [], "controls": [],
        "inputs": [{"seq": 4, "table": "changes", "name": "exports/changes.csv", "blake3": "ab".repeat(32),
                    "sha256": "5e".repeat(32), "connector": "canonical-csv", "rows": 2500}],
        "tests": [{"id": "changes-peer-approved", "title": "Peer approval", "controls": ["CHG-01"],
                   "population": 2500, "exceptions": 5, "not_applicable": 0, "conclusion": "exceptions",
                   "note": null, "items": items}]
    }))
    .unwrap();
    let t = &run.tests[0];
    let page = population(&run, t, &[], &PopulationQuery::default());
    assert_eq!((page.matching, page.pages, page.items.len()), (2500, 25, 100));
    assert_eq!(
        page.columns,
        ["lines", "merged_at"],
        "lineage columns are not attributes"
    );
    assert_eq!(page.types["lines"], ColumnType::Number);
    assert_eq!(page.types["merged_at"], ColumnType::Date);
    assert_eq!(page.types["item"], ColumnType::Text);
    // Exceptions first by default.
    assert!(
        page.items[..5]
            .iter()
            .all(|i| i.item.reason == "approved only by its author")
    );
    // The last page holds the last items: nothing is cut off.
    let last = population(
        &run,
        t,
        &[],
        &PopulationQuery {
            page: 25,
            ..Default::default()
        },
    );
    assert_eq!(last.items.len(), 100);
    // Numbers sort as numbers (9 before 10 before 100), descending too.
    let by_lines = population(
        &run,
        t,
        &[],
        &PopulationQuery {
            sort: "lines".into(),
            per_page: 2500,
            ..Default::default()
        },
    );
    let lines: Vec<i64> = by_lines
        .items
        .iter()
        .map(|i| i.item.attributes[0].1.parse().unwrap())
        .collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "not numeric order");
    let down = population(
        &run,
        t,
        &[],
        &PopulationQuery {
            sort: "lines".into(),
            descending: true,
            ..Default::default()
        },
    );
    assert_eq!(down.items[0].item.attributes[0].1, "999");
    // Filters: exceptions only; words anywhere.
    let fails = population(
        &run,
        t,
        &[],
        &PopulationQuery {
            status: "fail".into(),
            ..Default::default()
        },
    );
    assert_eq!(fails.matching, 5);
    let found = population(
        &run,
        t,
        &[],
        &PopulationQuery {
            text: "chg-2500".into(),
            ..Default::default()
        },
    );
    assert_eq!(found.matching, 1);
    // Lineage: ledger entry, file, row, SHA-256.
    let l = found.items[0].lineage.as_ref().unwrap();
    assert_eq!(
        (l.seq, l.file.as_str(), l.row.as_str()),
        (4, "exports/changes.csv", "2501")
    );
    assert_eq!(l.sha256, "5e".repeat(32));
    // The sheet: every item, numbers as numbers, lineage columns named for people.
    let sheet = population_sheet(9, &run, t, &[]);
    assert_eq!(sheet.rows.len(), 2500);
    assert_eq!(
        sheet.headers,
        [
            "Item",
            "Status",
            "Reason",
            "lines",
            "merged_at",
            "Sampled",
            "Ledger entry",
            "File",
            "Row",
            "SHA-256"
        ]
    );
    assert!(matches!(sheet.rows[0][3], Cell::Int(_)));
    assert_eq!(sheet.rows[0][9], Cell::Text("5e".repeat(32)));
    // Runs record a passing item's lineage compactly (`from`: file index and row), without its
    // other attributes: it still traces to the file, row and hash.
    let mut compact = run.clone();
    let t = &mut compact.tests[0];
    t.files = vec!["ab".repeat(32)];
    for (n, i) in t.items.iter_mut().enumerate() {
        i.attributes.clear();
        i.from = Some((0, n as u64 + 2));
    }
    let page = population(
        &compact,
        &compact.tests[0],
        &[],
        &PopulationQuery {
            text: "chg-7".into(),
            ..Default::default()
        },
    );
    let l = page
        .items
        .iter()
        .find(|i| i.item.item == "CHG-7")
        .unwrap()
        .lineage
        .clone()
        .unwrap();
    assert_eq!((l.seq, l.row.as_str(), l.sha256.len()), (4, "8", 64));
}
