//! Running control tests end to end: read the project's test definitions and the evidence recorded
//! in the ledger, build the tables (with identity resolution), run the engine for the window,
//! conclude per test and per control, and record the run in the ledger so it can be re-performed.
//!
//! This is an edge crate (it reads the store and writes the ledger); the engine it calls does no I/O.

#![warn(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};

use assure_assess::gap::{EvidenceSignal, Signals, TestSignal};
use assure_engine::{Identities, Param, Row, TableData, TestSpec, Window, project_policies};

use assure_evidence::store::{EvidenceStore, StoreError};
use assure_evidence::tables::TABLES;
use assure_ledger::{Draft, Entry};
use assure_project::Project;
use assure_project::model::{ExamType, Frequency};
use chrono::NaiveDate;
use ed25519_dalek::SigningKey;

pub use assure_assess::results::{
    Conclusion, ControlOccurrences, ControlOutcome, ItemRecord, RunRecord, SampleRecord, Source, TestOutcome,
    Unresolved,
};

/// Why a run could not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Converts a test's TOML parameters into engine parameters.
pub fn params_of(table: &toml::Table) -> BTreeMap<String, Param> {
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
    // Read only the tables the selected tests need (and the roster, for identities).
    let mut wanted: BTreeSet<&str> = project
        .tests
        .iter()
        .filter(|t| only.is_empty() || only.iter().any(|o| o == t.id.as_str()))
        .flat_map(|t| t.tables.iter().map(|r| r.as_str()))
        .collect();
    wanted.insert("people");
    let mut loaded = assure_evidence::load::load_only(store, Some(&wanted))?;
    let mut tables: Vec<TableData> = TABLES
        .iter()
        .map(|t| {
            let mut d = TableData::for_table(t);
            if let Some(l) = loaded.tables.remove(t.name) {
                d.rows = l
                    .rows
                    .into_iter()
                    .map(|r| Row {
                        values: r.values,
                        source: r.source,
                        evidence: r.evidence,
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
                .map(|i| {
                    // Passing items are recorded by id only; exceptions and exclusions keep their
                    // reason and attributes. Re-running with the same inputs gives the rest.
                    let pass = i.status == assure_engine::Status::Pass;
                    ItemRecord {
                        item: i.item.clone(),
                        status: serde_json::to_value(i.status)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        reason: if pass { String::new() } else { i.reason.clone() },
                        attributes: if pass { Vec::new() } else { i.attributes.clone() },
                    }
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
    let occurrences = occurrences_of(project, store, &window)?;
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
        occurrences,
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

fn parse_day(t: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(t.get(..10).unwrap_or(""), "%Y-%m-%d").ok()
}

/// Counts, for every manual control with a periodic frequency, the slots expected in the window and
/// the evidence recorded for each (entries naming the control whose period lies inside the slot).
pub fn occurrences_of(
    project: &Project,
    store: &dyn EvidenceStore,
    window: &Window,
) -> Result<Vec<ControlOccurrences>, StoreError> {
    use assure_assess::occurrences::{Dated, expected, matched};
    let text = store.ledger()?;
    let entries: Vec<Entry> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let mut out = Vec::new();
    let mut controls: Vec<&assure_project::model::Control> = project
        .controls
        .iter()
        .filter(|c| c.nature == Some(assure_project::model::Nature::Manual))
        .filter(|c| !matches!(c.frequency, None | Some(Frequency::Continuous | Frequency::PerEvent)))
        .collect();
    controls.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    for c in controls {
        let Some(freq) = c.frequency else { continue };
        let slots = expected(freq, window.period_start, window.period_end, window.as_of);
        if slots.is_empty() {
            continue;
        }
        let dated: Vec<Dated> = entries
            .iter()
            .filter(|e| e.draft.action != "test-run" && e.draft.controls.iter().any(|x| x == c.id.as_str()))
            .filter_map(|e| {
                let start = e
                    .draft
                    .period_start
                    .as_deref()
                    .and_then(parse_day)
                    .or_else(|| parse_day(&e.draft.at))?;
                let end = e.draft.period_end.as_deref().and_then(parse_day).unwrap_or(start);
                Some(Dated { seq: e.seq, start, end })
            })
            .collect();
        let found = matched(&slots, &dated);
        let missing: Vec<String> = found
            .iter()
            .filter(|o| o.evidence.is_empty())
            .map(|o| format!("{}..{}", o.slot.start, o.slot.end))
            .collect();
        out.push(ControlOccurrences {
            control: c.id.to_string(),
            frequency: freq.as_str().to_string(),
            expected: slots.len(),
            found: slots.len() - missing.len(),
            missing,
        });
    }
    Ok(out)
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

/// Reads the latest sample drawn for each control, sorted by control.
pub fn latest_samples(store: &dyn EvidenceStore) -> Result<Vec<SampleRecord>, StoreError> {
    let text = store.ledger()?;
    let mut latest: BTreeMap<String, Entry> = BTreeMap::new();
    for e in text.lines().filter_map(|l| serde_json::from_str::<Entry>(l).ok()) {
        if e.draft.action == "sample"
            && let Some(c) = e.draft.controls.first()
        {
            latest.insert(c.clone(), e);
        }
    }
    let mut out = Vec::new();
    for e in latest.values() {
        let Some(blob) = &e.draft.blob else { continue };
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut store.open_blob(&blob.blake3)?, &mut bytes).map_err(|source| {
            StoreError::Io {
                what: "read",
                path: blob.name.clone().into(),
                source,
            }
        })?;
        if let Ok(r) = serde_json::from_slice::<SampleRecord>(&bytes) {
            out.push(r);
        }
    }
    Ok(out)
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
        for o in &run.occurrences {
            s.occurrences.insert(o.control.clone(), (o.expected, o.found));
        }
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

/// Why a sample could not be drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SampleError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No such control.
    #[error("unknown control `{0}`")]
    UnknownControl(String),
    /// Nothing to sample from.
    #[error(
        "control `{0}` has no population yet: run `assure test`, or record its evidence with `assure evidence add`"
    )]
    NoPopulation(String),
    /// An added item is not in the population.
    #[error("`{0}` is not in the population; items are listed with --json")]
    NotInPopulation(String),
}

/// Draws (and records) a reproducible sample for a control.
#[allow(
    clippy::too_many_arguments,
    reason = "each argument is a distinct choice an auditor makes"
)]
pub fn sample(
    project: &Project,
    store: &dyn EvidenceStore,
    key: &SigningKey,
    control: &str,
    seed: Option<u64>,
    size: Option<usize>,
    risk: Option<assure_assess::sampling::Risk>,
    add: &[String],
    at: &str,
    by: &str,
) -> Result<(SampleRecord, Entry), SampleError> {
    use assure_assess::sampling::{Risk, SampleTable, sample_size, select};
    let c = project
        .control(control)
        .ok_or_else(|| SampleError::UnknownControl(control.to_string()))?;
    let mut population = Vec::new();
    let mut source = String::new();
    let mut run_hash = String::new();
    if let Some((entry, run)) = latest_run(store)? {
        run_hash = entry.hash.clone();
        for t in run.tests.iter().filter(|t| t.controls.iter().any(|x| x == control)) {
            population.extend(
                t.items
                    .iter()
                    .filter(|i| i.status != "not_applicable")
                    .map(|i| format!("{}/{}", t.id, i.item)),
            );
        }
        if !population.is_empty() {
            source = format!(
                "items of its tests in the test run recorded as ledger entry {}",
                entry.seq
            );
        }
    }
    if population.is_empty() {
        let text = store.ledger()?;
        population = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Entry>(l).ok())
            .filter(|e| {
                e.draft.action != "test-run"
                    && e.draft.action != "sample"
                    && e.draft.controls.iter().any(|x| x == control)
            })
            .map(|e| {
                format!(
                    "entry {}: {}",
                    e.seq,
                    e.draft.blob.as_ref().map_or("", |b| b.name.as_str())
                )
            })
            .collect();
        source = "ledger entries recorded for the control".into();
    }
    population.sort();
    population.dedup();
    if population.is_empty() {
        return Err(SampleError::NoPopulation(control.to_string()));
    }
    for a in add {
        if !population.contains(a) {
            return Err(SampleError::NotInPopulation(a.clone()));
        }
    }
    let mut table = SampleTable::default();
    for (k, v) in &project.manifest.sampling {
        if k == "per-event-large" {
            table.large_population = *v;
        } else {
            table.sizes.insert(k.clone(), *v);
        }
    }
    let risk = risk
        .or_else(|| c.risk.as_deref().and_then(Risk::parse))
        .unwrap_or(if c.key { Risk::Moderate } else { Risk::Low });
    let freq = c.frequency.unwrap_or(Frequency::PerEvent);
    let rule = match size {
        Some(n) => assure_assess::sampling::SizeRule {
            size: n.min(population.len()),
            rule: format!("{n} chosen by the auditor"),
        },
        None => sample_size(&table, freq, risk, population.len()),
    };
    let seed = seed.unwrap_or_else(|| {
        let mut h = blake3::Hasher::new();
        h.update(control.as_bytes());
        h.update(run_hash.as_bytes());
        for p in &population {
            h.update(p.as_bytes());
        }
        let bytes = h.finalize();
        u64::from_le_bytes(
            bytes
                .as_bytes()
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .unwrap_or([0; 8]),
        )
    });
    let selected = select(&population, rule.size, seed);
    let record = SampleRecord {
        format: 1,
        control: control.to_string(),
        frequency: freq.as_str().to_string(),
        risk: format!("{risk:?}").to_lowercase(),
        population_source: source,
        population,
        size: rule.size,
        rule: rule.rule,
        seed,
        selected,
        added: add.to_vec(),
    };
    let json = serde_json::to_string_pretty(&record).unwrap_or_default();
    let blob = store.put_blob(&mut json.as_bytes(), &format!("sample-{control}.json"))?;
    let draft = Draft {
        action: "sample".into(),
        at: at.to_string(),
        by: by.to_string(),
        blob: Some(blob),
        connector: None,
        table: None,
        rows: Some(record.population.len() as u64),
        period_start: None,
        period_end: None,
        controls: vec![control.to_string()],
        note: Some(format!(
            "{} of {} items, seed {}",
            record.selected.len() + record.added.len(),
            record.population.len(),
            record.seed
        )),
        batch: None,
    };
    let mut entries = store.append(vec![draft], key)?;
    let entry = entries.pop().ok_or(SampleError::Store(StoreError::BrokenTip))?;
    Ok((record, entry))
}
