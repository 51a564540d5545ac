//! Workpapers: a test's whole population as an auditor works it — every item with every
//! attribute, filtered, sorted by each column's type (numbers as numbers, dates as dates), paged,
//! each item traced to the evidence it was read from (ledger entry, file, row, SHA-256) — and the
//! same population as a workbook sheet. Pure: it reads a recorded run and writes nothing.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use crate::matrix::{Cell, Sheet};
use assure_assess::results::{ItemRecord, ItemStatus, RunRecord, TestOutcome};

/// The lineage columns a test's query may return for each item: the BLAKE3 of the file the row
/// came from, and its row (line or record number) in that file.
pub const LINEAGE: [&str; 2] = ["_evidence", "_row"];

/// How a column's values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Every value is a number.
    Number,
    /// Every value is a date or a timestamp (ISO 8601).
    Date,
    /// Anything else, compared without regard to case.
    Text,
}

/// Where an item was read from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Lineage {
    /// The ledger entry that recorded the file.
    pub seq: u64,
    /// The file's name.
    pub file: String,
    /// The row in it.
    pub row: String,
    /// The file's SHA-256.
    pub sha256: String,
}

/// What to show of a population.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PopulationQuery {
    /// `pass`, `fail`, `not_applicable`, `sampled`, or empty for every item.
    pub status: String,
    /// Words every shown item contains somewhere (item, reason or an attribute), or empty.
    pub text: String,
    /// The column to sort by (`item`, `status`, `reason` or an attribute), or empty: exceptions
    /// first, then by item.
    pub sort: String,
    /// Sort descending.
    pub descending: bool,
    /// The page, from 1.
    pub page: usize,
    /// Items per page (1 to 1,000; 0 means 100).
    pub per_page: usize,
}

/// One page of a population.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PopulationPage<'a> {
    /// The attribute columns, in the query's order (lineage columns left out).
    pub columns: Vec<String>,
    /// How each column (`item`, `status`, `reason`, then the attributes) sorts.
    pub types: BTreeMap<String, ColumnType>,
    /// Items matching the filter.
    pub matching: usize,
    /// The page shown (from 1) and the number of pages.
    pub page: usize,
    /// Pages in all.
    pub pages: usize,
    /// The items on this page, each with whether it is sampled and where it came from.
    pub items: Vec<PopulationItem<'a>>,
}

/// One item on a page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PopulationItem<'a> {
    /// The recorded item.
    pub item: &'a ItemRecord,
    /// Whether a sample of one of the test's controls selected it.
    pub sampled: bool,
    /// Where it was read from, when the test's query returns lineage.
    pub lineage: Option<Lineage>,
}

/// The attribute columns of a test's items, in the order the query returns them, without the
/// lineage columns.
pub fn columns(t: &TestOutcome) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for i in &t.items {
        for (k, _) in &i.attributes {
            if !LINEAGE.contains(&k.as_str()) && seen.insert(k.clone()) {
                out.push(k.clone());
            }
        }
    }
    out
}

fn value<'a>(i: &'a ItemRecord, column: &str) -> &'a str {
    match column {
        "item" => &i.item,
        "status" => i.status.as_str(),
        "reason" => &i.reason,
        other => i
            .attributes
            .iter()
            .find(|(k, _)| k == other)
            .map(|(_, v)| v.as_str())
            .unwrap_or(""),
    }
}

fn is_date(v: &str) -> bool {
    v.len() >= 10 && chrono::NaiveDate::parse_from_str(&v[..10], "%Y-%m-%d").is_ok()
}

/// How a column's values compare: numbers when every non-empty value is one, dates when every
/// one is a date or timestamp, text otherwise.
pub fn column_type<'a>(values: impl Iterator<Item = &'a str>) -> ColumnType {
    let (mut number, mut date, mut any) = (true, true, false);
    for v in values.filter(|v| !v.is_empty()) {
        any = true;
        number &= v.parse::<f64>().is_ok_and(f64::is_finite);
        date &= is_date(v);
        if !number && !date {
            return ColumnType::Text;
        }
    }
    match (any, number, date) {
        (true, true, _) => ColumnType::Number,
        (true, _, true) => ColumnType::Date,
        _ => ColumnType::Text,
    }
}

fn compare(kind: ColumnType, a: &str, b: &str) -> Ordering {
    // Empty values sort last whichever way the column sorts.
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    match kind {
        ColumnType::Number => {
            let (x, y) = (a.parse::<f64>().unwrap_or(0.0), b.parse::<f64>().unwrap_or(0.0));
            x.total_cmp(&y)
        }
        // ISO dates and timestamps sort as text; a date sorts before a timestamp of that day.
        ColumnType::Date => a.cmp(b),
        ColumnType::Text => a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b)),
    }
}

/// Where each input file of a run came from, by the BLAKE3 the items' `_evidence` names.
fn sources(run: &RunRecord) -> BTreeMap<&str, &assure_assess::results::Source> {
    run.inputs.iter().map(|s| (s.blake3.as_str(), s)).collect()
}

/// Where an item was read from: its compact `from` (file index and row), or, in records that keep
/// them as attributes, its `_evidence` and `_row`.
fn lineage_of(
    t: &TestOutcome,
    i: &ItemRecord,
    by_blake: &BTreeMap<&str, &assure_assess::results::Source>,
) -> Option<Lineage> {
    let (blake, row) = match i.from {
        Some((k, row)) => (t.files.get(k as usize)?.as_str(), row.to_string()),
        None => (value(i, "_evidence"), value(i, "_row").to_string()),
    };
    let src = by_blake.get(blake)?;
    Some(Lineage {
        seq: src.seq,
        file: src.name.clone(),
        row,
        sha256: src.sha256.clone(),
    })
}

/// The items of a test a sample selected, by the names samples give them (`item` or `test/item`).
pub fn sampled<'a>(t: &TestOutcome, samples: &'a [assure_assess::results::SampleRecord]) -> BTreeSet<&'a str> {
    samples
        .iter()
        .filter(|s| t.controls.contains(&s.control))
        .flat_map(|s| s.selected.iter().chain(&s.added).map(String::as_str))
        .collect()
}

/// One page of a test's population, filtered and sorted as asked.
pub fn population<'a>(
    run: &RunRecord,
    t: &'a TestOutcome,
    samples: &[assure_assess::results::SampleRecord],
    q: &PopulationQuery,
) -> PopulationPage<'a> {
    let columns = columns(t);
    let mut types = BTreeMap::new();
    for c in ["item", "reason"]
        .iter()
        .map(|c| c.to_string())
        .chain(columns.iter().cloned())
    {
        let kind = column_type(t.items.iter().map(|i| value(i, &c)));
        types.insert(c, kind);
    }
    types.insert("status".into(), ColumnType::Text);
    let picked = sampled(t, samples);
    let is_sampled =
        |i: &ItemRecord| picked.contains(i.item.as_str()) || picked.contains(format!("{}/{}", t.id, i.item).as_str());
    let words: Vec<String> = q.text.split_whitespace().map(str::to_lowercase).collect();
    let mut items: Vec<&ItemRecord> = t
        .items
        .iter()
        .filter(|i| match q.status.as_str() {
            "" => true,
            "sampled" => is_sampled(i),
            s => i.status.as_str() == s,
        })
        .filter(|i| {
            words.is_empty() || {
                let hay = format!(
                    "{} {} {}",
                    i.item,
                    i.reason,
                    i.attributes
                        .iter()
                        .map(|(_, v)| v.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                )
                .to_lowercase();
                words.iter().all(|w| hay.contains(w))
            }
        })
        .collect();
    match types.get(q.sort.as_str()) {
        Some(kind) => {
            let kind = *kind;
            items.sort_by(|a, b| {
                let o = compare(kind, value(a, &q.sort), value(b, &q.sort));
                let o = if q.descending { o.reverse() } else { o };
                o.then_with(|| a.item.cmp(&b.item))
            });
        }
        None => {
            items.sort_by(|a, b| (a.status != ItemStatus::Fail, &a.item).cmp(&(b.status != ItemStatus::Fail, &b.item)))
        }
    }
    let per = match q.per_page {
        0 => 100,
        n => n.min(1000),
    };
    let matching = items.len();
    let pages = matching.div_ceil(per).max(1);
    let page = q.page.clamp(1, pages);
    let by_blake = sources(run);
    let shown = items
        .into_iter()
        .skip((page - 1) * per)
        .take(per)
        .map(|i| PopulationItem {
            item: i,
            sampled: is_sampled(i),
            lineage: lineage_of(t, i, &by_blake),
        })
        .collect();
    PopulationPage {
        columns,
        types,
        matching,
        page,
        pages,
        items: shown,
    }
}

/// The whole population of a test as a workbook sheet: every item with every attribute, numbers
/// as numbers and dates as dates, whether it was sampled, and its lineage with the file's SHA-256.
pub fn population_sheet(
    run_seq: u64,
    run: &RunRecord,
    t: &TestOutcome,
    samples: &[assure_assess::results::SampleRecord],
) -> Sheet {
    let page = population(
        run,
        t,
        samples,
        &PopulationQuery {
            per_page: 1000,
            ..Default::default()
        },
    );
    let columns = page.columns.clone();
    let types = page.types.clone();
    let picked = sampled(t, samples);
    let by_blake = sources(run);
    let cell = |kind: Option<&ColumnType>, v: &str| -> Cell {
        match kind {
            _ if v.is_empty() => Cell::Empty,
            Some(ColumnType::Number) => match v.parse::<i64>() {
                Ok(n) => Cell::Int(n),
                Err(_) => Cell::Text(v.to_string()),
            },
            Some(ColumnType::Date) if v.len() == 10 => chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(Cell::Date)
                .unwrap_or_else(|_| Cell::Text(v.to_string())),
            _ => Cell::Text(v.to_string()),
        }
    };
    let mut items: Vec<&ItemRecord> = t.items.iter().collect();
    items.sort_by(|a, b| (a.status != ItemStatus::Fail, &a.item).cmp(&(b.status != ItemStatus::Fail, &b.item)));
    let rows = items
        .into_iter()
        .map(|i| {
            let mut row = vec![
                Cell::Text(i.item.clone()),
                Cell::Text(i.status.as_str().to_string()),
                Cell::Text(i.reason.clone()),
            ];
            row.extend(columns.iter().map(|c| cell(types.get(c), value(i, c))));
            let sampled = picked.contains(i.item.as_str()) || picked.contains(format!("{}/{}", t.id, i.item).as_str());
            row.push(Cell::Text(if sampled { "yes".into() } else { String::new() }));
            match lineage_of(t, i, &by_blake) {
                Some(l) => row.extend([
                    Cell::Int(i64::try_from(l.seq).unwrap_or(i64::MAX)),
                    Cell::Text(l.file),
                    l.row.parse::<i64>().map(Cell::Int).unwrap_or(Cell::Text(l.row)),
                    Cell::Text(l.sha256),
                ]),
                None => row.extend([Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty]),
            }
            row
        })
        .collect();
    let mut headers: Vec<String> = ["Item", "Status", "Reason"].map(String::from).to_vec();
    headers.extend(columns.iter().cloned());
    headers.extend(["Sampled", "Ledger entry", "File", "Row", "SHA-256"].map(String::from));
    let mut widths = vec![28, 10, 48];
    widths.extend(columns.iter().map(|_| 20));
    widths.extend([8, 8, 28, 8, 68]);
    Sheet {
        name: t.id.chars().take(31).collect(),
        preface: vec![
            ("Test".into(), format!("{}: {}", t.id, t.title)),
            ("Controls".into(), t.controls.join(", ")),
            (
                "Population".into(),
                format!(
                    "{} items, {} exceptions, {} not applicable",
                    t.population, t.exceptions, t.not_applicable
                ),
            ),
            (
                "Run".into(),
                format!(
                    "ledger entry {run_seq}, period {} to {}, as of {}",
                    run.period_start, run.period_end, run.as_of
                ),
            ),
        ],
        headers,
        widths,
        rows,
    }
}
