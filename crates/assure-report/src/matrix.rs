//! The control matrix, the per-test populations and the request list (PBC): what the XLSX
//! workbook holds, built here so every format shows the same figures.

use std::collections::BTreeSet;

use chrono::{Days, NaiveDate};
use serde::Serialize;

use crate::doc::Document;
use crate::{Inputs, control_result, long_date, procedures};

/// One cell, typed so a workbook can store real numbers and dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A date.
    Date(NaiveDate),
    /// Nothing.
    Empty,
}

impl Cell {
    /// The text a reader sees.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Date(d) => d.to_string(),
            Cell::Empty => String::new(),
        }
    }
}

fn t(s: impl Into<String>) -> Cell {
    let s = s.into();
    if s.is_empty() { Cell::Empty } else { Cell::Text(s) }
}

fn n(v: usize) -> Cell {
    Cell::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

/// A sheet: a title block, headers and rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sheet {
    /// The sheet's name (at most 31 characters, unique).
    pub name: String,
    /// Lines above the table.
    pub preface: Vec<(String, String)>,
    /// Column headers.
    pub headers: Vec<String>,
    /// Suggested column widths in characters.
    pub widths: Vec<u16>,
    /// The rows.
    pub rows: Vec<Vec<Cell>>,
}

/// The whole workbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matrix {
    /// The organization.
    pub organization: String,
    /// As-of date.
    pub as_of: NaiveDate,
    /// Control matrix, criteria map, request list, then one sheet per test.
    pub sheets: Vec<Sheet>,
}

fn sheet_name(base: &str, used: &mut BTreeSet<String>) -> String {
    let clean: String = base
        .chars()
        .map(|c| {
            if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') {
                '-'
            } else {
                c
            }
        })
        .take(31)
        .collect();
    let mut name = clean.clone();
    let mut i = 2;
    while used.contains(&name.to_lowercase()) {
        let suffix = format!(" ({i})");
        name = format!("{}{suffix}", clean.chars().take(31 - suffix.len()).collect::<String>());
        i += 1;
    }
    used.insert(name.to_lowercase());
    name
}

/// Days after the period's end by which the request list asks for each item.
pub const PBC_DAYS_AFTER_PERIOD: u64 = 14;

fn n_or_empty(x: usize) -> Cell {
    if x > 0 { n(x) } else { Cell::Empty }
}

fn pct(v: Option<f64>) -> Cell {
    v.map_or(Cell::Empty, |v| t(format!("{:.0}%", v * 100.0)))
}

/// One framework read through the crosswalk: each requirement, its status and readiness, what it is
/// read through (criteria with the relation, or SOC 1 objectives) and the company's controls.
fn crosswalk_sheet(fa: &assure_assess::framework::FrameworkAssessment, used: &mut BTreeSet<String>) -> Sheet {
    Sheet {
        name: sheet_name(&format!("Crosswalk {}", fa.framework), used),
        preface: vec![
            ("Framework".into(), fa.name.to_string()),
            (
                "Readiness".into(),
                format!(
                    "{:.1}% over {} requirements; {} not covered by the SOC scope",
                    fa.readiness * 100.0,
                    fa.total,
                    fa.delta.len()
                ),
            ),
            ("Note".into(), fa.soc_note.to_string()),
        ],
        headers: [
            "Requirement",
            "Kind",
            "Title",
            "Status",
            "Readiness",
            "Relation",
            "Criteria",
            "SOC 1 objectives",
            "Controls",
            "What differs",
        ]
        .map(String::from)
        .to_vec(),
        widths: vec![20, 11, 50, 20, 10, 11, 24, 18, 30, 50],
        rows: fa
            .requirements
            .iter()
            .map(|r| {
                vec![
                    t(r.id),
                    t(r.kind),
                    t(r.title),
                    t(r.status),
                    pct(r.score),
                    t(r.relation.unwrap_or("")),
                    t(r.criteria.join(", ")),
                    t(r.objectives.join(", ")),
                    t(r.controls.join(", ")),
                    t(r.note),
                ]
            })
            .collect(),
    }
}

/// A draft ISO/IEC 27001:2022 Statement of Applicability: each Annex A control, whether it
/// applies (never excluded by Assure: a control with nothing behind it is marked for decision), why,
/// whether it is in place, and the company's controls.
fn statement_of_applicability(
    fa: &assure_assess::framework::FrameworkAssessment,
    as_of: NaiveDate,
    used: &mut BTreeSet<String>,
) -> Sheet {
    Sheet {
        name: sheet_name("Statement of Applicability", used),
        preface: vec![
            (
                "Statement of Applicability".into(),
                "A draft for ISO/IEC 27001:2022 clause 6.1.3 d): each Annex A control, whether it applies, why, and whether it is in place. Applicability is management's decision: a control with no company control behind it is marked for decision, never excluded by Assure.".into(),
            ),
            ("As of".into(), as_of.to_string()),
        ],
        headers: ["Control", "Title", "Applicable", "Justification", "Implemented", "Company controls"]
            .map(String::from)
            .to_vec(),
        widths: vec![9, 46, 12, 60, 16, 30],
        rows: fa
            .requirements
            .iter()
            .filter(|r| r.id.starts_with("A."))
            .map(|r| {
                let (applicable, why) = if r.controls.is_empty() {
                    ("to decide", "no company control addresses it yet".to_string())
                } else if r.criteria.is_empty() {
                    ("yes", format!("met by the company's own controls ({})", r.controls.join(", ")))
                } else {
                    (
                        "yes",
                        format!(
                            "addresses risks the SOC 2 scope also treats ({}: {})",
                            r.relation.unwrap_or("intersects"),
                            r.criteria.join(", ")
                        ),
                    )
                };
                let implemented = match r.score {
                    Some(v) if v >= 0.999 => "yes",
                    Some(v) if v > 0.0 => "partly",
                    _ => "not yet",
                };
                vec![
                    t(r.id),
                    t(r.title),
                    t(applicable),
                    t(why),
                    t(implemented),
                    t(r.controls.join(", ")),
                ]
            })
            .collect(),
    }
}

/// A workbook for one framework: its crosswalk sheet, and for ISO 27001 the draft Statement of
/// Applicability first (`assure gap --framework iso27001 --format xlsx`). `None` for a framework
/// Assure does not know.
pub fn framework_workbook(inp: &Inputs<'_>, framework: &str) -> Option<Matrix> {
    let fa = assure_assess::framework::assess(inp.project, inp.assessment, framework)?;
    let mut used = BTreeSet::new();
    let mut sheets = Vec::new();
    if fa.framework == "iso27001" {
        sheets.push(statement_of_applicability(&fa, inp.as_of, &mut used));
    }
    let mut cw = crosswalk_sheet(&fa, &mut used);
    cw.preface
        .insert(0, ("Organization".into(), inp.legal_name().to_string()));
    cw.preface.insert(1, ("As of".into(), inp.as_of.to_string()));
    sheets.push(cw);
    Some(Matrix {
        organization: inp.project.manifest.organization.name.clone(),
        as_of: inp.as_of,
        sheets,
    })
}

/// Builds the workbook's content.
pub fn matrix(inp: &Inputs<'_>) -> Matrix {
    let p = inp.project;
    let mut used = BTreeSet::new();
    let mut sheets = Vec::new();
    let run_text = match inp.run {
        Some((seq, r)) => format!(
            "ledger entry {seq} (period {} to {}, as of {})",
            r.period_start, r.period_end, r.as_of
        ),
        None => "none recorded: run `assure test`".into(),
    };
    let preface = vec![
        ("Organization".to_string(), inp.legal_name().to_string()),
        ("Period".to_string(), inp.period_text()),
        ("As of".to_string(), inp.as_of.to_string()),
        ("Test run".to_string(), run_text),
    ];

    // Control matrix.
    let mut controls: Vec<_> = p.controls.iter().collect();
    controls.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let mut rows = Vec::new();
    for c in &controls {
        let (result, exc) = control_result(inp, c.id.as_str());
        let tests = inp.tests_of(c.id.as_str());
        // Each test's population on its own: populations of different tests are never added up.
        let mut parts: Vec<(String, usize)> = tests.iter().map(|t| (t.id.clone(), t.population)).collect();
        if let Some(o) = inp.occurrences_of(c.id.as_str()) {
            parts.push((format!("{} occurrences", o.frequency), o.expected));
        }
        let population: usize = parts.iter().map(|(_, n)| *n).max().unwrap_or(0);
        let population_cell = match parts.as_slice() {
            [] => Cell::Empty,
            [(_, n)] => n_or_empty(*n),
            many => t(many
                .iter()
                .map(|(id, n)| format!("{id}: {n}"))
                .collect::<Vec<_>>()
                .join("\n")),
        };
        let sample = inp.sample_of(c.id.as_str()).map(|s| s.selected.len() + s.added.len());
        rows.push(vec![
            t(c.id.as_str()),
            t(c.title.clone()),
            t(c.criteria.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")),
            t(c.objectives.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")),
            t(inp.person_name(c.owner.as_ref())),
            t(c.frequency.map(|f| f.as_str().to_string()).unwrap_or_default()),
            t(c.nature.map(|x| format!("{x:?}").to_lowercase()).unwrap_or_default()),
            t(c.control_type
                .map(|x| format!("{x:?}").to_lowercase())
                .unwrap_or_default()),
            t(if c.key { "yes" } else { "no" }),
            t(procedures(inp, c).join("\n")),
            population_cell,
            match sample {
                Some(s) => n(s),
                None if population > 0 => t("all"),
                None => Cell::Empty,
            },
            t(result),
            if inp.run.is_some() { n(exc) } else { Cell::Empty },
        ]);
    }
    sheets.push(Sheet {
        name: sheet_name("Control matrix", &mut used),
        preface: preface.clone(),
        headers: [
            "Control",
            "Title",
            "Criteria",
            "Objectives",
            "Owner",
            "Frequency",
            "Nature",
            "Type",
            "Key",
            "Test procedure",
            "Population",
            "Sample",
            "Result",
            "Exceptions",
        ]
        .map(String::from)
        .to_vec(),
        widths: vec![10, 40, 18, 14, 20, 12, 11, 11, 5, 60, 11, 8, 22, 11],
        rows,
    });

    // Criteria and objectives map: one row per mapping, so a filter on a criterion shows its controls.
    let mut rows = Vec::new();
    let cats = p.manifest.scope.categories();
    for cr in assure_catalog::criteria().iter().filter(|c| cats.contains(&c.category)) {
        let mapped = inp.controls_for(|c| c.criteria.iter().any(|r| r.as_str() == cr.id));
        let nr = p
            .manifest
            .scope
            .not_relevant
            .iter()
            .find(|n| n.criterion.as_str() == cr.id);
        if mapped.is_empty() {
            rows.push(vec![
                t("SOC 2"),
                t(cr.id),
                t(cr.title),
                Cell::Empty,
                t(match nr {
                    Some(n) => format!("not relevant: {}", n.reason),
                    None => "no control".to_string(),
                }),
            ]);
        }
        for c in mapped {
            rows.push(vec![
                t("SOC 2"),
                t(cr.id),
                t(cr.title),
                t(c.id.as_str()),
                t(c.title.clone()),
            ]);
        }
    }
    let mut objs: Vec<_> = p.objectives.iter().collect();
    objs.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    for o in objs {
        let mapped = inp.controls_for(|c| c.objectives.iter().any(|r| r.as_str() == o.id.as_str()));
        if mapped.is_empty() {
            rows.push(vec![
                t("SOC 1"),
                t(o.id.as_str()),
                t(o.statement.clone()),
                Cell::Empty,
                t("no control"),
            ]);
        }
        for c in mapped {
            rows.push(vec![
                t("SOC 1"),
                t(o.id.as_str()),
                t(o.statement.clone()),
                t(c.id.as_str()),
                t(c.title.clone()),
            ]);
        }
    }
    sheets.push(Sheet {
        name: sheet_name("Criteria map", &mut used),
        preface: preface.clone(),
        headers: [
            "Framework",
            "Criterion or objective",
            "Subject",
            "Control",
            "Control title",
        ]
        .map(String::from)
        .to_vec(),
        widths: vec![10, 12, 50, 10, 50],
        rows,
    });

    // Other frameworks the project names, read through Assure's crosswalk; for ISO 27001, a draft
    // Statement of Applicability.
    for fw in &inp.project.manifest.scope.frameworks {
        let Some(fa) = assure_assess::framework::assess(inp.project, inp.assessment, fw.as_str()) else {
            continue;
        };
        sheets.push(crosswalk_sheet(&fa, &mut used));
        if fa.framework == "iso27001" {
            sheets.push(statement_of_applicability(&fa, inp.as_of, &mut used));
        }
    }

    sheets.push(requests(inp, &mut used, preface.clone()));

    // One sheet per test that ran.
    if let Some((seq, r)) = inp.run {
        for test in &r.tests {
            // The whole population with every attribute, typed, sampled items marked, and each
            // item's lineage (ledger entry, file, row, SHA-256) when the test returns it.
            let mut sheet = crate::workpaper::population_sheet(seq, r, test, inp.samples);
            sheet.name = sheet_name(&test.id, &mut used);
            sheet
                .preface
                .insert(3, ("Conclusion".into(), test.conclusion.label().to_string()));
            sheets.push(sheet);
        }
    }
    // Who each value in the evidence was taken to be: every merge with its rule, and every value
    // that matched nobody (with the people it could be, when a name matched several).
    if let Some((seq, r)) = inp.run
        && (!r.merged.is_empty() || !r.unresolved.is_empty())
    {
        let mut rows: Vec<Vec<Cell>> = r
            .merged
            .iter()
            .map(|m| {
                vec![
                    t(m.value.clone()),
                    t(m.person.clone()),
                    t(m.rule.clone()),
                    t(m.seen_in.join(", ")),
                ]
            })
            .collect();
        rows.extend(r.unresolved.iter().map(|u| {
            let rule = if u.candidates.is_empty() {
                "matches nobody".to_string()
            } else {
                format!("its name is several people's: {}", u.candidates.join(", "))
            };
            vec![t(u.value.clone()), t(""), t(rule), t(u.seen_in.join(", "))]
        }));
        sheets.push(Sheet {
            name: sheet_name("Identities", &mut used),
            preface: vec![
                (
                    "Identities".into(),
                    "Values in the evidence resolved to a person by a rule other than being their primary email, and values that matched nobody".into(),
                ),
                ("Run".into(), format!("ledger entry {seq}, as of {}", r.as_of)),
            ],
            headers: vec!["Value".into(), "Person".into(), "Rule".into(), "Seen in".into()],
            widths: vec![40, 32, 36, 40],
            rows,
        });
    }
    // Every evidence file of the period with its SHA-256, and how to check them.
    let files = inp.evidence_files();
    if !files.is_empty() {
        sheets.push(Sheet {
            name: sheet_name("Evidence", &mut used),
            preface: vec![
                (
                    "Evidence".into(),
                    "Every file recorded in the signed ledger for the period, with the SHA-256 that `sha256sum` prints for it".into(),
                ),
                ("To verify".into(), inp.verify_command()),
            ],
            headers: ["Entry", "Recorded", "Action", "File", "Table or controls", "Rows", "Bytes", "SHA-256"]
                .map(String::from)
                .to_vec(),
            widths: vec![8, 12, 8, 36, 24, 10, 12, 70],
            rows: files
                .into_iter()
                .map(|f| {
                    vec![
                        n(f.seq as usize),
                        NaiveDate::parse_from_str(&f.recorded, "%Y-%m-%d").map_or(t(f.recorded.clone()), Cell::Date),
                        t(f.action),
                        t(f.name),
                        t(f.what),
                        f.rows.map_or(Cell::Empty, |r| n(r as usize)),
                        n(f.size as usize),
                        t(f.sha256),
                    ]
                })
                .collect(),
        });
    }
    Matrix {
        organization: inp.org().to_string(),
        as_of: inp.as_of,
        sheets,
    }
}

/// The standard request list alone (one request per control evidence item and per policy, status
/// from the ledger), without building the rest of the workbook: what the web application shows.
pub fn request_list(inp: &Inputs<'_>) -> Sheet {
    requests(inp, &mut BTreeSet::new(), Vec::new())
}

fn requests(inp: &Inputs<'_>, used: &mut BTreeSet<String>, mut preface: Vec<(String, String)>) -> Sheet {
    let p = inp.project;
    let (_, end) = inp.period();
    let due = end
        .unwrap_or(inp.as_of)
        .checked_add_days(Days::new(PBC_DAYS_AFTER_PERIOD));
    preface.push((
        "Due dates".into(),
        format!(
            "{PBC_DAYS_AFTER_PERIOD} days after the period's end; status from the evidence ledger as of the as-of date"
        ),
    ));
    let by_control = inp.imports_by_control();
    let by_table = inp.imports_by_table();
    let mut rows = Vec::new();
    let mut k = 0usize;
    let mut push = |kind: &str,
                    request: String,
                    control: String,
                    criteria: String,
                    owner: String,
                    received: Option<(NaiveDate, String)>| {
        k += 1;
        let status = match (&received, due) {
            (Some(_), _) => "received",
            (None, Some(d)) if inp.as_of > d => "overdue",
            _ => "open",
        };
        rows.push(vec![
            t(format!("PBC-{k:03}")),
            t(kind),
            t(request),
            t(control),
            t(criteria),
            t(owner),
            due.map(Cell::Date).unwrap_or(Cell::Empty),
            t(status),
            received.as_ref().map(|(d, _)| Cell::Date(*d)).unwrap_or(Cell::Empty),
            t(received.map(|(_, r)| r).unwrap_or_default()),
        ]);
    };
    let date_of =
        |e: &assure_ledger::Entry| NaiveDate::parse_from_str(e.draft.at.get(..10).unwrap_or(""), "%Y-%m-%d").ok();
    let mut controls: Vec<_> = p.controls.iter().collect();
    controls.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    for c in controls {
        for spec in &c.evidence {
            let entries: Vec<_> = match &spec.table {
                Some(tb) => by_table.get(tb.as_str()).cloned().unwrap_or_default(),
                None => by_control.get(c.id.as_str()).cloned().unwrap_or_default(),
            };
            let entries: Vec<_> = entries
                .into_iter()
                .filter(|e| date_of(e).is_some_and(|d| d <= inp.as_of))
                .collect();
            let received = entries.iter().filter_map(|e| date_of(e)).max().map(|d| {
                let seqs: Vec<String> = entries.iter().map(|e| e.seq.to_string()).collect();
                (d, format!("ledger {}", seqs.join(", ")))
            });
            let kind = if spec.table.is_some() { "population" } else { "record" };
            push(
                kind,
                spec.name.clone(),
                c.id.as_str().to_string(),
                c.criteria.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "),
                inp.person_name(c.owner.as_ref()),
                received,
            );
        }
    }
    let mut policies: Vec<_> = p.policies.iter().collect();
    policies.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    for pol in policies {
        let received = pol.approved_on.filter(|d| d.0 <= inp.as_of).map(|d| {
            (
                d.0,
                format!(
                    "version {} approved {}",
                    pol.version.clone().unwrap_or_default(),
                    long_date(d.0)
                ),
            )
        });
        push(
            "document",
            format!("{} (approved, with version history)", pol.title),
            String::new(),
            pol.criteria.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "),
            inp.person_name(pol.owner.as_ref()),
            received,
        );
    }
    Sheet {
        name: sheet_name("Request list", used),
        preface,
        headers: [
            "Request",
            "Kind",
            "What is requested",
            "Control",
            "Criteria",
            "Owner",
            "Due",
            "Status",
            "Received",
            "Evidence",
        ]
        .map(String::from)
        .to_vec(),
        widths: vec![9, 11, 50, 10, 16, 20, 11, 10, 11, 30],
        rows,
    }
}

/// The matrix as a document, for HTML and PDF: every sheet but the per-test populations.
pub fn document(m: &Matrix, inp: &Inputs<'_>) -> Document {
    let mut d = Document {
        kind: "matrix".into(),
        title: "Control matrix and request list".into(),
        subtitle: format!("{}: controls, tests, results and the evidence requested", inp.org()),
        organization: inp.org().to_string(),
        header: format!("Control matrix · {}", inp.period_text()),
        as_of: inp.as_of.to_string(),
        notice: format!(
            "Prepared with Assure as of {}. Populations per test are in the XLSX workbook.",
            long_date(inp.as_of)
        ),
        cover: m.sheets.first().map(|s| s.preface.clone()).unwrap_or_default(),
        missing: Vec::new(),
        outline: true,
        breaks: true,
        blocks: Vec::new(),
    };
    // The matrix, the criteria map, the framework crosswalks, and the request list: every sheet up
    // to the request list (the per-test populations follow it).
    let upto = m
        .sheets
        .iter()
        .position(|s| s.name.starts_with("Request list"))
        .map_or(m.sheets.len().min(3), |i| i + 1);
    for s in m.sheets.iter().take(upto) {
        d.h(1, s.name.clone());
        let keep: Vec<usize> = if s.headers.len() > 10 {
            vec![0, 1, 2, 4, 5, 10, 11, 12, 13]
        } else {
            (0..s.headers.len()).collect()
        };
        let cols: Vec<&str> = keep
            .iter()
            .filter_map(|i| s.headers.get(*i).map(String::as_str))
            .collect();
        let widths: Vec<u8> = keep
            .iter()
            .map(|i| {
                s.widths
                    .get(*i)
                    .map(|w| u8::try_from((*w / 5).clamp(1, 12)).unwrap_or(1))
                    .unwrap_or(1)
            })
            .collect();
        let rows = s
            .rows
            .iter()
            .map(|r| {
                keep.iter()
                    .map(|i| r.get(*i).map(Cell::text).unwrap_or_default())
                    .collect()
            })
            .collect();
        d.table(&cols, &widths, rows);
    }
    d
}
