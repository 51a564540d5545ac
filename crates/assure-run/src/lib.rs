//! Running control tests end to end: read the project's test definitions and the evidence recorded
//! in the ledger, build the tables (with identity resolution), run the engine for the window,
//! conclude per test and per control, and record the run in the ledger so it can be re-performed.
//!
//! This is an edge crate (it reads the store and writes the ledger); the engine it calls does no I/O.

#![warn(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};

use assure_assess::gap::{EvidenceSignal, Signals, TestSignal};
use assure_engine::{Identities, Param, Row, TableData, TestSpec, Unresolved, Window, project_policies};
use assure_evidence::load::{Source, load};
use assure_evidence::store::{EvidenceStore, StoreError};
use assure_evidence::tables::TABLES;
use assure_ledger::{Draft, Entry};
use assure_project::Project;
use assure_project::model::{ExamType, Frequency};
use chrono::NaiveDate;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

/// The conclusion for one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// Type 2: every item passed.
    NoExceptions,
    /// Type 2: at least one item failed.
    Exceptions,
    /// Type 1: at least one item shows the control in place.
    Implemented,
    /// Type 1: no item shows the control in place.
    NotShown,
    /// The population is empty, so nothing can be concluded.
    NoPopulation,
    /// The test could not run.
    NotRun,
}

impl Conclusion {
    /// Returns the words a reader sees.
    pub fn label(self) -> &'static str {
        match self {
            Conclusion::NoExceptions => "no exceptions",
            Conclusion::Exceptions => "exceptions noted",
            Conclusion::Implemented => "implemented",
            Conclusion::NotShown => "not shown",
            Conclusion::NoPopulation => "no population",
            Conclusion::NotRun => "not run",
        }
    }
}

/// One item as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRecord {
    /// The item.
    pub item: String,
    /// `pass`, `fail`, `not_applicable`.
    pub status: String,
    /// Why.
    pub reason: String,
    /// Further columns.
    pub attributes: Vec<(String, String)>,
}

/// One test's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestOutcome {
    /// The test id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The controls it tests.
    pub controls: Vec<String>,
    /// Items in the population.
    pub population: usize,
    /// Exceptions.
    pub exceptions: usize,
    /// Items not applicable.
    pub not_applicable: usize,
    /// The conclusion.
    pub conclusion: Conclusion,
    /// Why it did not run, when it did not.
    pub note: Option<String>,
    /// Every item.
    pub items: Vec<ItemRecord>,
}

/// The conclusion for a control, from its tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlOutcome {
    /// The control.
    pub id: String,
    /// Its tests.
    pub tests: Vec<String>,
    /// Exceptions across its tests.
    pub exceptions: usize,
    /// The combined conclusion: the worst of its tests'.
    pub conclusion: Conclusion,
}

/// A whole run, as recorded in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Format version.
    pub format: u32,
    /// The engine version.
    pub engine: String,
    /// Type 1 or 2.
    pub exam_type: u8,
    /// First day of the period.
    pub period_start: NaiveDate,
    /// Last day of the period.
    pub period_end: NaiveDate,
    /// The as-of date.
    pub as_of: NaiveDate,
    /// BLAKE3 of the test definitions (ids, SQL and parameters).
    pub definitions: String,
    /// The evidence files used, with their hashes.
    pub inputs: Vec<Source>,
    /// Identities that matched nobody.
    pub unresolved: Vec<Unresolved>,
    /// Every test.
    pub tests: Vec<TestOutcome>,
    /// Every tested control.
    pub controls: Vec<ControlOutcome>,
}

/// Why a run could not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn params_of(table: &toml::Table) -> BTreeMap<String, Param> {
    table
        .iter()
        .map(|(k, v)| {
            let p = match v {
                toml::Value::Integer(i) => Param::Int(*i),
                toml::Value::Float(f) => Param::Float(*f),
                toml::Value::Boolean(b) => Param::Bool(*b),
                toml::Value::String(s) => Param::Text(s.clone()),
                other => Param::Text(other.to_string()),
            };
            (k.clone(), p)
        })
        .collect()
}

/// Builds the identity map: every person in `people.toml` with their aliases, and every email on
/// the HR roster as its own identity.
pub fn identities(project: &Project, tables: &[TableData]) -> Identities {
    let mut ids = Identities::default();
    for p in &project.people {
        ids.add(&p.email, &p.aliases);
    }
    if let Some(people) = tables.iter().find(|t| t.name == "people")
        && let Some(i) = people.columns.iter().position(|(n, _)| n == "email")
    {
        for r in &people.rows {
            if let Some(Some(e)) = r.values.get(i) {
                ids.add(e, &[]);
            }
        }
    }
    ids
}

/// Runs the project's tests (or `only` those) for the window and records the run.
#[allow(
    clippy::too_many_arguments,
    reason = "each argument is a distinct input of a run; a struct would only rename them"
)]
pub fn run_tests(
    project: &Project,
    store: &dyn EvidenceStore,
    key: &SigningKey,
    window: Window,
    exam: ExamType,
    only: &[String],
    at: &str,
    by: &str,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<(RunRecord, Entry), RunError> {
    let loaded = load(store)?;
    let mut tables: Vec<TableData> = TABLES
        .iter()
        .map(|t| {
            let mut d = TableData::for_table(t);
            if let Some(l) = loaded.tables.get(t.name) {
                d.rows = l
                    .rows
                    .iter()
                    .map(|r| Row {
                        values: r.values.clone(),
                        source: r.source.clone(),
                        evidence: r.evidence.clone(),
                        row: r.row,
                    })
                    .collect();
            }
            d
        })
        .collect();
    tables.push(project_policies(
        &project
            .policies
            .iter()
            .map(|p| {
                (
                    p.id.to_string(),
                    p.version.clone().unwrap_or_default(),
                    p.approved_on.map(|d| d.0),
                    p.applies_to.clone().unwrap_or_else(|| "all".into()),
                )
            })
            .collect::<Vec<_>>(),
    ));
    let ids = identities(project, &tables);
    let unresolved = ids.apply(&mut tables);
    let with_rows: BTreeSet<&str> = tables
        .iter()
        .filter(|t| !t.rows.is_empty())
        .map(|t| t.name.as_str())
        .collect();

    let mut selected: Vec<&assure_project::model::TestDef> = project
        .tests
        .iter()
        .filter(|t| only.is_empty() || only.iter().any(|o| o == t.id.as_str()))
        .collect();
    selected.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let mut defs = blake3::Hasher::new();
    let mut specs = Vec::new();
    let mut skipped: BTreeMap<String, String> = BTreeMap::new();
    for t in &selected {
        let mut params = t.params.clone();
        if let Some(over) = project.manifest.test_params.get(t.id.as_str()) {
            for (k, v) in over {
                params.insert(k.clone(), v.clone());
            }
        }
        defs.update(t.id.as_bytes());
        defs.update(t.sql.as_bytes());
        defs.update(toml::to_string(&params).unwrap_or_default().as_bytes());
        let missing: Vec<&str> = t
            .tables
            .iter()
            .map(|r| r.as_str())
            .filter(|n| !with_rows.contains(n))
            .collect();
        if !missing.is_empty() {
            skipped.insert(
                t.id.to_string(),
                format!(
                    "no evidence imported for {}",
                    missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
                ),
            );
            continue;
        }
        specs.push(TestSpec {
            id: t.id.to_string(),
            sql: t.sql.clone(),
            params: params_of(&params),
        });
    }
    let total = specs.len();
    let run = assure_engine::run(&tables, &specs, &window, &mut |done, id| progress(done, total, id));
    let diagnostics: BTreeMap<String, String> = run
        .diagnostics
        .iter()
        .map(|d| (d.test.clone(), d.message.clone()))
        .collect();

    let mut tests = Vec::new();
    for t in &selected {
        let id = t.id.to_string();
        let controls: Vec<String> = t.controls.iter().map(|c| c.to_string()).collect();
        let base = TestOutcome {
            id: id.clone(),
            title: t.title.clone(),
            controls,
            population: 0,
            exceptions: 0,
            not_applicable: 0,
            conclusion: Conclusion::NotRun,
            note: None,
            items: Vec::new(),
        };
        if let Some(why) = skipped.get(&id).or_else(|| diagnostics.get(&id)) {
            tests.push(TestOutcome {
                note: Some(why.clone()),
                ..base
            });
            continue;
        }
        let Some(r) = run.results.iter().find(|r| r.id == id) else {
            continue;
        };
        let passes = r.population - r.failed - r.not_applicable;
        let conclusion = match exam {
            _ if r.population == r.not_applicable => Conclusion::NoPopulation,
            ExamType::Type2 if r.failed > 0 => Conclusion::Exceptions,
            ExamType::Type2 => Conclusion::NoExceptions,
            ExamType::Type1 if passes > 0 => Conclusion::Implemented,
            ExamType::Type1 => Conclusion::NotShown,
        };
        tests.push(TestOutcome {
            population: r.population,
            exceptions: r.failed,
            not_applicable: r.not_applicable,
            conclusion,
            items: r
                .items
                .iter()
                .map(|i| ItemRecord {
                    item: i.item.clone(),
                    status: serde_json::to_value(i.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    reason: i.reason.clone(),
                    attributes: i.attributes.clone(),
                })
                .collect(),
            ..base
        });
    }
    let mut by_control: BTreeMap<String, Vec<&TestOutcome>> = BTreeMap::new();
    for t in &tests {
        for c in &t.controls {
            by_control.entry(c.clone()).or_default().push(t);
        }
    }
    let rank = |c: Conclusion| match c {
        Conclusion::Exceptions | Conclusion::NotShown => 0,
        Conclusion::NotRun => 1,
        Conclusion::NoPopulation => 2,
        Conclusion::NoExceptions | Conclusion::Implemented => 3,
    };
    let controls = by_control
        .into_iter()
        .map(|(id, ts)| ControlOutcome {
            id,
            tests: ts.iter().map(|t| t.id.clone()).collect(),
            exceptions: ts.iter().map(|t| t.exceptions).sum(),
            conclusion: ts
                .iter()
                .map(|t| t.conclusion)
                .min_by_key(|c| rank(*c))
                .unwrap_or(Conclusion::NotRun),
        })
        .collect();
    let record = RunRecord {
        format: 1,
        engine: assure_engine::VERSION.to_string(),
        exam_type: if exam == ExamType::Type1 { 1 } else { 2 },
        period_start: window.period_start,
        period_end: window.period_end,
        as_of: window.as_of,
        definitions: defs.finalize().to_hex().to_string(),
        inputs: loaded.sources,
        unresolved,
        tests,
        controls,
    };
    let json = serde_json::to_string_pretty(&record).unwrap_or_default();
    let blob = store.put_blob(&mut json.as_bytes(), &format!("test-run-{}.json", window.as_of))?;
    let population: usize = record.tests.iter().map(|t| t.population).sum();
    let exceptions: usize = record.tests.iter().map(|t| t.exceptions).sum();
    let draft = Draft {
        action: "test-run".into(),
        at: at.to_string(),
        by: by.to_string(),
        blob: Some(blob),
        connector: None,
        table: None,
        rows: Some(population as u64),
        period_start: Some(window.period_start.to_string()),
        period_end: Some(window.period_end.to_string()),
        controls: record.controls.iter().map(|c| c.id.clone()).collect(),
        note: Some(format!(
            "{} tests, {population} items, {exceptions} exceptions; engine {}; definitions {}",
            record.tests.len(),
            record.engine,
            record.definitions.get(..16).unwrap_or_default()
        )),
        batch: None,
    };
    let mut entries = store.append(vec![draft], key)?;
    let entry = entries.pop().ok_or(RunError::Store(StoreError::BrokenTip))?;
    Ok((record, entry))
}

/// Reads the latest recorded test run, if any.
pub fn latest_run(store: &dyn EvidenceStore) -> Result<Option<(Entry, RunRecord)>, StoreError> {
    let text = store.ledger()?;
    let Some(entry) = text
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Entry>(l).ok())
        .find(|e| e.draft.action == "test-run")
    else {
        return Ok(None);
    };
    let Some(blob) = &entry.draft.blob else { return Ok(None) };
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut store.open_blob(&blob.blake3)?, &mut bytes).map_err(|source| StoreError::Io {
        what: "read",
        path: blob.name.clone().into(),
        source,
    })?;
    Ok(serde_json::from_slice::<RunRecord>(&bytes).ok().map(|r| (entry, r)))
}

fn max_age_days(f: Option<Frequency>) -> i64 {
    match f {
        Some(Frequency::Daily) => 2,
        Some(Frequency::Weekly) => 8,
        Some(Frequency::Monthly) => 32,
        Some(Frequency::Quarterly) => 93,
        Some(Frequency::SemiAnnual) => 184,
        Some(Frequency::Annual) => 366,
        Some(Frequency::Continuous | Frequency::PerEvent) | None => 32,
    }
}

/// Derives the gap analysis's operating signals from the ledger: the latest test run's results and,
/// per control, whether evidence recorded for it covers the as-of date closely enough for its frequency.
pub fn signals(project: &Project, store: &dyn EvidenceStore, as_of: NaiveDate) -> Result<Signals, StoreError> {
    let mut s = Signals::default();
    if let Some((_, run)) = latest_run(store)? {
        for t in &run.tests {
            let sig = match t.conclusion {
                Conclusion::NoExceptions | Conclusion::Implemented => TestSignal::Passed,
                Conclusion::Exceptions | Conclusion::NotShown => TestSignal::Failed {
                    exceptions: t.exceptions as u64,
                },
                Conclusion::NoPopulation => TestSignal::Errored {
                    message: "no population".into(),
                },
                Conclusion::NotRun => TestSignal::Errored {
                    message: t.note.clone().unwrap_or_else(|| "not run".into()),
                },
            };
            s.tests.insert(t.id.clone(), sig);
        }
    }
    let text = store.ledger()?;
    let entries: Vec<Entry> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|e: &Entry| e.draft.action != "test-run")
        .collect();
    if entries.is_empty() {
        return Ok(s);
    }
    let parse = |t: &str| NaiveDate::parse_from_str(t.get(..10).unwrap_or(""), "%Y-%m-%d").ok();
    for c in &project.controls {
        let latest = entries
            .iter()
            .filter(|e| e.draft.controls.iter().any(|x| x == c.id.as_str()))
            .filter_map(|e| {
                let covered = e.draft.period_end.as_deref().and_then(parse);
                let collected = parse(&e.draft.at);
                covered.into_iter().chain(collected).filter(|d| *d <= as_of).max()
            })
            .max();
        let fresh = latest.is_some_and(|d| (as_of - d).num_days() <= max_age_days(c.frequency));
        s.evidence.insert(c.id.to_string(), EvidenceSignal { latest, fresh });
    }
    Ok(s)
}
