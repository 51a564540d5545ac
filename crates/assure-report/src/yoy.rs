//! Year over year: each examination period's results side by side, per test and per control
//! (population, exceptions, conclusion) with readiness, as text and as a workbook. Pure: the
//! application layer gathers each period's latest run; this module lays them out.

use std::collections::{BTreeMap, BTreeSet};

use assure_project::period::Period;
use chrono::NaiveDate;

use crate::matrix::{Cell, Matrix, Sheet};

/// One test's or control's result in one period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Result1 {
    /// Items tested (the whole population; for a control, its largest test's).
    pub population: usize,
    /// Items that failed.
    pub exceptions: usize,
    /// The conclusion, as a reader sees it.
    pub conclusion: String,
}

/// The run a period's results come from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunRef {
    /// Its ledger entry.
    pub seq: u64,
    /// The date it was evaluated as of.
    pub as_of: NaiveDate,
    /// When it was recorded (RFC 3339).
    pub at: String,
}

/// One period's results.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PeriodResults {
    /// The period.
    pub period: Period,
    /// The run its results come from, when it has one.
    pub run: Option<RunRef>,
    /// The date readiness was assessed as of: the closing date, else today or the period's end.
    pub as_of: NaiveDate,
    /// Overall readiness, 0 to 1.
    pub readiness: f64,
    /// Whether readiness is the figure frozen in the readiness report when the period closed
    /// (a closed period's figure never changes), rather than assessed now.
    pub readiness_frozen: bool,
    /// Per test id.
    pub tests: BTreeMap<String, Result1>,
    /// Per control id.
    pub controls: BTreeMap<String, Result1>,
}

fn cell(r: Option<&Result1>) -> String {
    match r {
        Some(r) => format!("{} / {} ({})", r.population, r.exceptions, r.conclusion),
        None => "-".into(),
    }
}

/// The comparison as plain text: one column per period.
pub fn text(periods: &[PeriodResults]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if periods.is_empty() {
        return "The project has no examination period.\n".into();
    }
    let w = 30usize;
    let row = |out: &mut String, label: &str, cells: Vec<String>| {
        let _ = write!(out, "{label:<40}");
        for c in cells {
            let _ = write!(out, "  {c:<w$}");
        }
        out.push('\n');
    };
    row(
        &mut out,
        "period",
        periods.iter().map(|p| p.period.name.clone()).collect(),
    );
    row(
        &mut out,
        "dates",
        periods
            .iter()
            .map(|p| format!("{} to {}", p.period.start, p.period.end))
            .collect(),
    );
    row(
        &mut out,
        "status",
        periods.iter().map(|p| p.period.status.as_str().to_string()).collect(),
    );
    row(
        &mut out,
        "results from",
        periods
            .iter()
            .map(|p| match &p.run {
                Some(r) => format!("entry {}, as of {}", r.seq, r.as_of),
                None => "no run".into(),
            })
            .collect(),
    );
    row(
        &mut out,
        "readiness",
        periods
            .iter()
            .map(|p| {
                let how = if p.readiness_frozen { "frozen at close" } else { "as of" };
                format!("{:.1}% ({how} {})", p.readiness * 100.0, p.as_of)
            })
            .collect(),
    );
    for (title, pick) in [
        ("test: population / exceptions (conclusion)", 0),
        ("control: population / exceptions (conclusion)", 1),
    ] {
        out.push('\n');
        out.push_str(title);
        out.push('\n');
        let ids: BTreeSet<&String> = periods
            .iter()
            .flat_map(|p| if pick == 0 { p.tests.keys() } else { p.controls.keys() })
            .collect();
        for id in ids {
            row(
                &mut out,
                id,
                periods
                    .iter()
                    .map(|p| cell(if pick == 0 { p.tests.get(id) } else { p.controls.get(id) }))
                    .collect(),
            );
        }
    }
    out
}

/// The comparison as a workbook: the periods with readiness, then tests and controls, one
/// population, exceptions and conclusion column per period.
pub fn workbook(organization: &str, as_of: NaiveDate, periods: &[PeriodResults]) -> Matrix {
    let mut sheets = vec![Sheet {
        name: "Periods".into(),
        preface: vec![(
            "Year over year".into(),
            "each period's latest test run of its own dates; a closed period's results are frozen".into(),
        )],
        headers: [
            "Period",
            "Start",
            "End",
            "Status",
            "Report issued",
            "Run (ledger entry)",
            "Run as of",
            "Readiness %",
        ]
        .map(String::from)
        .to_vec(),
        widths: vec![12, 12, 12, 11, 13, 18, 12, 12],
        rows: periods
            .iter()
            .map(|p| {
                vec![
                    Cell::Text(p.period.name.clone()),
                    Cell::Date(p.period.start),
                    Cell::Date(p.period.end),
                    Cell::Text(p.period.status.as_str().into()),
                    p.period.report_issued_on.map_or(Cell::Empty, Cell::Date),
                    p.run
                        .as_ref()
                        .map_or(Cell::Empty, |r| Cell::Int(i64::try_from(r.seq).unwrap_or(i64::MAX))),
                    p.run.as_ref().map_or(Cell::Empty, |r| Cell::Date(r.as_of)),
                    Cell::Text(format!("{:.1}", p.readiness * 100.0)),
                ]
            })
            .collect(),
    }];
    for (name, pick) in [("Tests", 0), ("Controls", 1)] {
        let mut headers = vec![if pick == 0 { "Test" } else { "Control" }.to_string()];
        let mut widths = vec![34];
        for p in periods {
            for h in ["population", "exceptions", "conclusion"] {
                headers.push(format!("{} {h}", p.period.name));
                widths.push(if h == "conclusion" { 18 } else { 12 });
            }
        }
        let ids: BTreeSet<&String> = periods
            .iter()
            .flat_map(|p| if pick == 0 { p.tests.keys() } else { p.controls.keys() })
            .collect();
        let rows = ids
            .into_iter()
            .map(|id| {
                let mut r = vec![Cell::Text(id.clone())];
                for p in periods {
                    match if pick == 0 { p.tests.get(id) } else { p.controls.get(id) } {
                        Some(x) => {
                            r.push(Cell::Int(i64::try_from(x.population).unwrap_or(i64::MAX)));
                            r.push(Cell::Int(i64::try_from(x.exceptions).unwrap_or(i64::MAX)));
                            r.push(Cell::Text(x.conclusion.clone()));
                        }
                        None => r.extend([Cell::Empty, Cell::Empty, Cell::Text("not run".into())]),
                    }
                }
                r
            })
            .collect();
        sheets.push(Sheet {
            name: name.into(),
            preface: Vec::new(),
            headers,
            widths,
            rows,
        });
    }
    Matrix {
        organization: organization.to_string(),
        as_of,
        sheets,
    }
}
