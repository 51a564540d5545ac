//! Running the control tests and recording the run. The SQL engine is behind [`Runner`], which the
//! binary supplies (`assure-run`), so this crate and the web application do not build DataFusion.

use std::collections::{BTreeMap, BTreeSet};

use assure_evidence::load::LoadedBatches;
use assure_evidence::runfile;
use assure_evidence::store::EvidenceStore;
use assure_ledger::{Action, Draft, Entry};
use assure_project::Project;
use assure_project::model::ExamType;
use assure_schema::Window;
use assure_schema::results::{Conclusion, ControlOutcome, RunRecord, Source, TestOutcome, Unresolved};

use crate::{Workspace, WorkspaceError, records};

/// What the engine concluded, before the run is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The engine's version.
    pub engine: String,
    /// Identities that matched nobody.
    pub unresolved: Vec<Unresolved>,
    /// Values merged into a person, with the rule that merged each.
    pub merged: Vec<assure_schema::results::IdentityMerge>,
    /// Every selected test.
    pub tests: Vec<TestOutcome>,
}

/// Runs a project's SQL tests over loaded tables. Implemented by `assure-run` over the engine.
pub trait Runner {
    /// The engine's version, recorded with every run; a change of engine re-runs every test.
    fn engine(&self) -> String;
    /// Evaluates the tests selected by `only` (all when empty) over `loaded` for the window;
    /// `progress(done, total, step)` is called as each step starts: reading the evidence, resolving
    /// identities, each test, recording the run.
    fn evaluate(
        &self,
        project: &Project,
        loaded: LoadedBatches,
        window: Window,
        exam: ExamType,
        only: &[String],
        progress: &mut dyn FnMut(usize, usize, &str),
    ) -> Evaluation;
}

/// What a test run is asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The window.
    pub window: Window,
    /// Type 1 or Type 2.
    pub exam: ExamType,
    /// Only these tests (all when empty).
    pub only: Vec<String>,
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub by: String,
    /// Re-run every test, even those whose inputs, definitions and parameters are unchanged since
    /// the last run of the same window.
    pub full: bool,
    /// When the outcome is exactly that of the latest run of the same window and as-of date (same
    /// definitions, same inputs, same results), return that run instead of recording an identical
    /// one: what a monitoring cycle does, so hourly cycles do not fill the ledger with copies.
    pub keep_if_unchanged: bool,
}

/// The tables the selected tests read, and the roster for identities.
pub fn wanted_tables<'a>(project: &'a Project, only: &[String]) -> BTreeSet<&'a str> {
    let mut wanted: BTreeSet<&str> = project
        .tests
        .iter()
        .filter(|t| only.is_empty() || only.iter().any(|o| o == t.id.as_str()))
        .flat_map(|t| t.reads().map(|r| r.as_str()))
        .collect();
    wanted.insert("people");
    wanted
}

impl Workspace {
    /// Runs the project's tests with `runner` and records the run in the ledger. Refuses when the
    /// ledger has lines that are not entries (the run would silently leave their evidence out) or a
    /// recorded file does not read back.
    ///
    /// The record returned holds every item of the tests this run ran; an outcome reused or carried
    /// from an earlier run holds only its items that did not pass (its passing items are rows of the
    /// recorded file: read the whole run with [`Workspace::recorded_run`]).
    pub fn run_tests(
        &self,
        runner: &dyn Runner,
        opts: &RunOptions,
        progress: &mut dyn FnMut(usize, usize, &str),
    ) -> Result<(RunRecord, Entry), WorkspaceError> {
        let w = self.open_write(true)?;
        if !w.project.incomplete.is_empty() {
            return Err(WorkspaceError::invalid(
                "some project files could not be read",
                Some("run `assure validate` and fix them first"),
            ));
        }
        if opts.window.as_of < opts.window.period_start {
            return Err(WorkspaceError::invalid(
                format!(
                    "the period {} to {} has not started by the as-of date {}: no evidence can fall in it yet, and every test would find no population",
                    opts.window.period_start, opts.window.period_end, opts.window.as_of
                ),
                Some("choose a period that has begun (--period FROM..TO), or an as-of date inside it (--as-of)"),
            ));
        }
        self.refuse_closed(
            &w.project,
            opts.window.period_start,
            opts.window.period_end,
            "record test runs",
        )?;
        let mut entries = w.whole_ledger("a run now would leave their evidence out")?;
        // The registers the project keeps (risks, vendors) are what their tests read: a copy is
        // recorded when the register changed, and copies imported from elsewhere are left out.
        if self.record_registers(
            &w,
            &entries,
            &wanted_tables(&w.project, &opts.only),
            (opts.window.period_start, opts.window.period_end),
            &opts.at,
            &opts.by,
        )? {
            entries = w.whole_ledger("a run now would leave their evidence out")?;
        }
        entries.retain(|e| !crate::registers::is_outside_copy(&w.project, e));
        let project = &w.project;
        // Files imported before columnar copies existed are migrated on first use: each original is
        // checked against its hash, copied, and the copy's hash recorded in a signed `derive` entry.
        let all_wanted = wanted_tables(project, &opts.only);
        if !assure_evidence::load::without_copies(&entries, Some(&all_wanted)).is_empty() {
            let (drafts, _problems) = assure_evidence::load::migrate(
                &w.store,
                &entries,
                Some(&all_wanted),
                &opts.at,
                &opts.by,
                &mut |done, total, name| progress(done, total, &format!("writing the columnar copy of {name}")),
            )?;
            // Files that could not be migrated are read from their originals below, and any
            // problem with them stops the tests that read them.
            if !drafts.is_empty() {
                w.store.append(drafts, &w.key)?;
                entries = w.whole_ledger("a run now would leave their evidence out")?;
            }
        }
        let mut selected: Vec<&assure_project::model::TestDef> = project
            .tests
            .iter()
            .filter(|t| opts.only.is_empty() || opts.only.iter().any(|o| o == t.id.as_str()))
            .collect();
        selected.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        let wanted = wanted_tables(project, &opts.only);
        let window = Some((opts.window.period_start, opts.window.period_end));
        let inputs = assure_evidence::load::sources(&entries, Some(&wanted), window);
        let keys: BTreeMap<String, String> = selected
            .iter()
            .map(|t| (t.id.to_string(), test_key(project, t, &inputs, opts)))
            .collect();
        // The latest run of the same window: what it concluded from the same inputs is reused,
        // and a run of some tests carries the others' outcomes from it.
        let (ws, we) = (opts.window.period_start.to_string(), opts.window.period_end.to_string());
        let same_window = |e: &Entry| {
            e.draft.period_start.as_deref() == Some(ws.as_str()) && e.draft.period_end.as_deref() == Some(we.as_str())
        };
        // A monitoring cycle that finds nothing changed (every test's key as in the latest run of
        // the same window and as-of date, every input intact, the same occurrences) keeps that
        // run without reading its items: from its summary, see [`RunSummaries`].
        if opts.keep_if_unchanged
            && !opts.full
            && opts.only.is_empty()
            && let Some(last) = entries
                .iter()
                .rev()
                .find(|e| e.draft.action == Action::TestRun && same_window(e))
            && let Some(summary) = self.run_summaries().get(last)
            && summary.as_of == opts.window.as_of
            && summary.engine == runner.engine()
            && summary.exam_type == exam_number(opts.exam)
            && summary.tests.len() == selected.len()
            && summary.tests.iter().all(|t| {
                t.conclusion != Conclusion::NotRun
                    && keys.get(&t.id).is_some_and(|k| t.key.as_deref() == Some(k.as_str()))
            })
            && summary.definitions == definitions(project, &selected)
            && summary.occurrences == records::occurrences(project, &entries, &opts.window)
            && altered_tables(&w.store, &entries, &inputs)?.is_empty()
        {
            return Ok((summary, last.clone()));
        }
        // The latest run of the same window and type carries its other tests' outcomes into a run
        // of some tests (whatever its as-of date: they are those tests' latest results); only a
        // run as of the same date by the same engine has outcomes that can be reused as this run's.
        let carrier = records::latest_run_file_where(&w.store, &entries, &same_window)?
            .0
            .filter(|(_, f)| {
                let r = f.record();
                r.period_start == opts.window.period_start
                    && r.period_end == opts.window.period_end
                    && r.exam_type == exam_number(opts.exam)
            });
        let prior = carrier
            .clone()
            .filter(|(_, f)| f.record().as_of == opts.window.as_of && f.record().engine == runner.engine());
        let previous = if opts.full { None } else { prior.clone() };
        let carried: Vec<TestOutcome> = match &carrier {
            Some((_, p)) if !opts.only.is_empty() => p
                .record()
                .tests
                .iter()
                .filter(|t| !selected.iter().any(|s| s.id.as_str() == t.id))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        let mut reused: Vec<TestOutcome> = Vec::new();
        if let Some((_, prev)) = &previous {
            for t in &prev.record().tests {
                // Only a concluded outcome is reused: a test that did not run is tried again.
                if t.conclusion != Conclusion::NotRun
                    && keys.get(&t.id).is_some_and(|k| t.key.as_deref() == Some(k.as_str()))
                {
                    reused.push(t.clone());
                }
            }
        }
        // A reused outcome still proves its inputs: each file of its tables is hashed as it is now
        // and compared with the ledger; a test whose evidence changed on disk is run again (and
        // stops there, naming the file).
        if !reused.is_empty() {
            let reused_tables: BTreeSet<&str> = selected
                .iter()
                .filter(|t| reused.iter().any(|r| r.id == t.id.as_str()))
                .flat_map(|t| t.reads().map(|r| r.as_str()).chain(["people"]))
                .collect();
            let to_check: Vec<Source> = inputs
                .iter()
                .filter(|s| reused_tables.contains(s.table.as_str()))
                .cloned()
                .collect();
            let altered = altered_tables(&w.store, &entries, &to_check)?;
            if !altered.is_empty() {
                reused.retain(|r| {
                    selected.iter().find(|t| t.id.as_str() == r.id).is_some_and(|t| {
                        !t.reads().any(|x| altered.contains(x.as_str())) && !altered.contains("people")
                    })
                });
            }
        }
        let to_run: Vec<String> = selected
            .iter()
            .map(|t| t.id.to_string())
            .filter(|id| !reused.iter().any(|r| &r.id == id))
            .collect();
        let mut eval = Evaluation {
            engine: runner.engine(),
            unresolved: Vec::new(),
            merged: Vec::new(),
            tests: Vec::new(),
        };
        let mut read = Vec::new();
        let mut duplicates = BTreeMap::new();
        if !to_run.is_empty() {
            let need = wanted_tables(project, &to_run);
            progress(0, to_run.len(), "reading the evidence");
            let loaded = assure_evidence::load::load_batches(&w.store, &entries, Some(&need), window)?;
            // Problems tied to a table stop the tests that read it (the runner says so per test);
            // anything else stops the run.
            let per_table: usize = loaded.unusable.values().map(Vec::len).sum();
            if loaded.problems.len() > per_table {
                let mut lines: Vec<String> = loaded.problems.iter().take(5).map(ToString::to_string).collect();
                if loaded.problems.len() > 5 {
                    lines.push(format!("and {} more", loaded.problems.len() - 5));
                }
                return Err(WorkspaceError::invalid(
                    format!("recorded evidence does not read back: {}", lines.join("; ")),
                    Some("run `assure evidence verify`; a stored file may have been altered"),
                ));
            }
            read = loaded.sources.clone();
            duplicates.clone_from(&loaded.duplicates);
            eval = runner.evaluate(project, loaded, opts.window, opts.exam, &to_run, progress);
        }
        // Identities that matched nobody: this run's, and the earlier run's for tables not read now.
        let mut unresolved = eval.unresolved;
        let mut merged = eval.merged;
        if let Some((_, prev)) = carrier.as_ref().filter(|_| !reused.is_empty() || !carried.is_empty()) {
            let read_tables: std::collections::BTreeSet<&str> = read.iter().map(|s| s.table.as_str()).collect();
            for m in &prev.record().merged {
                let elsewhere = m
                    .seen_in
                    .iter()
                    .all(|s| !read_tables.contains(s.split('.').next().unwrap_or_default()));
                if elsewhere && !merged.iter().any(|x| x.value == m.value) {
                    merged.push(m.clone());
                }
            }
            merged.sort_by(|a, b| a.value.cmp(&b.value));
            for u in &prev.record().unresolved {
                let elsewhere = u
                    .seen_in
                    .iter()
                    .all(|s| !read_tables.contains(s.split('.').next().unwrap_or_default()));
                if elsewhere && !unresolved.iter().any(|x| x.value == u.value) {
                    unresolved.push(u.clone());
                }
            }
            unresolved.sort_by(|a, b| a.value.cmp(&b.value));
        }
        let reused_ids: Vec<String> = reused.iter().map(|t| t.id.clone()).collect();
        let carried_ids: Vec<String> = carried.iter().map(|t| t.id.clone()).collect();
        let mut tests: Vec<TestOutcome> = eval
            .tests
            .into_iter()
            .map(|mut t| {
                t.key = keys.get(&t.id).cloned();
                t
            })
            .chain(reused)
            .chain(carried)
            .collect();
        tests.sort_by(|a, b| a.id.cmp(&b.id));
        // The files the run stands on: the copies it read and verified now, and, for reused
        // outcomes, the recorded copies their keys name.
        let mut inputs: Vec<Source> = inputs
            .into_iter()
            .map(|s| read.iter().find(|r| r.seq == s.seq).cloned().unwrap_or(s))
            .collect();
        // Carried outcomes stand on the files their run recorded.
        if let Some((_, p)) = carrier.as_ref().filter(|_| !carried_ids.is_empty()) {
            for s in &p.record().inputs {
                if !inputs.iter().any(|i| i.seq == s.seq) {
                    inputs.push(s.clone());
                }
            }
            inputs.sort_by_key(|s| s.seq);
        }
        let in_record: Vec<&assure_project::model::TestDef> = project
            .tests
            .iter()
            .filter(|t| tests.iter().any(|o| o.id == t.id.as_str()))
            .collect();
        let occurrences = records::occurrences(project, &entries, &opts.window);
        let record = RunRecord {
            format: runfile::FORMAT,
            engine: eval.engine,
            exam_type: exam_number(opts.exam),
            period_start: opts.window.period_start,
            period_end: opts.window.period_end,
            as_of: opts.window.as_of,
            definitions: definitions(project, &in_record),
            inputs,
            unresolved,
            controls: conclude_controls(&tests),
            tests,
            occurrences,
            reused_from: (!reused_ids.is_empty())
                .then(|| previous.as_ref().map(|(s, _)| *s))
                .flatten(),
            head: entries.last().map(|e| format!("{}:{}", e.seq, e.hash)),
            reused: reused_ids,
            carried_from: (!carried_ids.is_empty())
                .then(|| carrier.as_ref().map(|(s, _)| *s))
                .flatten(),
            carried: carried_ids,
            duplicates,
            merged,
        };
        if opts.keep_if_unchanged
            && let Some((seq, last)) = &prior
            && let last = last.record()
            && last.definitions == record.definitions
            && last.tests.len() == record.tests.len()
            && last
                .tests
                .iter()
                .zip(&record.tests)
                .all(|(a, b)| runfile::same_outcome(a, b))
            && last.controls == record.controls
            && last.occurrences == record.occurrences
            && last.unresolved == record.unresolved
            && last.merged == record.merged
            && let Some(entry) = entries.iter().find(|e| e.seq == *seq)
        {
            // Kept: its summary lets the next unchanged cycle skip reading it.
            self.run_summaries().put(entry, last);
            return Ok((last.clone(), entry.clone()));
        }
        progress(record.tests.len(), record.tests.len(), "recording the run");
        // One Parquet file: every item as a row, the record in its metadata. Reused and carried
        // outcomes hold only their items that did not pass; their rows are copied from the run
        // they come from.
        let mut copied: BTreeMap<String, &runfile::RunFile> = BTreeMap::new();
        if let Some((_, f)) = &previous {
            for id in &record.reused {
                copied.insert(id.clone(), f);
            }
        }
        if let Some((_, f)) = &carrier {
            for id in &record.carried {
                copied.insert(id.clone(), f);
            }
        }
        let bytes = runfile::encode(&record, &copied).map_err(|e| {
            WorkspaceError::invalid(
                format!("the run could not be recorded: {e}"),
                Some("the earlier run its unchanged outcomes come from does not read back; run `assure evidence verify`, then `assure test --full`"),
            )
        })?;
        let blob = w.store.put_blob(
            &mut bytes.as_slice(),
            &format!("test-run-{}.parquet", opts.window.as_of),
        )?;
        drop(bytes);
        let population: usize = record.tests.iter().map(|t| t.population).sum();
        let exceptions: usize = record.tests.iter().map(|t| t.exceptions).sum();
        let mut draft = Draft::new(Action::TestRun, opts.at.clone(), opts.by.clone());
        draft.blob = Some(blob);
        draft.rows = Some(population as u64);
        draft.period_start = Some(opts.window.period_start.to_string());
        draft.period_end = Some(opts.window.period_end.to_string());
        draft.controls = record.controls.iter().map(|c| c.id.clone()).collect();
        draft.note = Some(format!(
            "{} tests{}, {population} items, {exceptions} exceptions; engine {}; definitions {}",
            record.tests.len(),
            record
                .carried_from
                .map(|seq| format!(" ({} carried from entry {seq})", record.carried.len()))
                .unwrap_or_default(),
            record.engine,
            record.definitions.get(..16).unwrap_or_default()
        ));
        let entry = w.append_one(draft)?;
        self.run_summaries().put(&entry, &record);
        Ok((record, entry))
    }
}

/// The tables whose recorded files no longer read back as the ledger says: each columnar copy is
/// hashed as it is now (an original without a copy is checked against its blob hash).
fn altered_tables(
    store: &dyn assure_evidence::store::EvidenceStore,
    entries: &[Entry],
    inputs: &[Source],
) -> Result<BTreeSet<String>, WorkspaceError> {
    let mut altered = BTreeSet::new();
    for s in inputs {
        let intact = match &s.columnar {
            Some(recorded) => store
                .read_columnar(&s.blake3)?
                .is_some_and(|bytes| blake3::hash(&bytes).to_hex().as_str() == recorded),
            None => entries
                .iter()
                .find(|e| e.seq == s.seq)
                .and_then(|e| e.draft.blob.as_ref())
                .is_some_and(|b| store.check_blob(b) == assure_ledger::BlobCheck::Intact),
        };
        if !intact {
            altered.insert(s.table.clone());
        }
    }
    Ok(altered)
}

/// Small, derived copies of recorded runs for monitoring: the run record with only its failing
/// items, in `.assure/runs/<blake3 of the run>.json`. A run of a large company records millions of
/// items (159 MB at 20,000 people); a cycle that changes nothing needs only the figures and the
/// exceptions. A summary is trusted only when its file names the run's own hash and it parses;
/// anything else is ignored (the cycle then runs the usual way) and it can always be deleted.
#[derive(Debug)]
pub struct RunSummaries {
    dir: std::path::PathBuf,
}

impl RunSummaries {
    fn path(&self, entry: &Entry) -> Option<std::path::PathBuf> {
        let blob = entry.draft.blob.as_ref()?;
        Some(self.dir.join(format!("{}.json", blob.blake3)))
    }

    /// The summary of a run entry, if one was kept.
    pub fn get(&self, entry: &Entry) -> Option<RunRecord> {
        let text = std::fs::read_to_string(self.path(entry)?).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Keeps the summary of a recorded run (best effort: a summary is a cache).
    pub fn put(&self, entry: &Entry, record: &RunRecord) {
        let Some(path) = self.path(entry) else { return };
        // Copied without its passing items (cloning them first would double a large run's memory).
        let summary = RunRecord {
            tests: record
                .tests
                .iter()
                .map(|t| t.with_items(|i| i.status == assure_schema::results::ItemStatus::Fail))
                .collect(),
            ..record.clone_without_tests()
        };
        let tmp = path.with_extension("json.tmp");
        let written = std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(&tmp, serde_json::to_vec(&summary).unwrap_or_default()))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

impl Workspace {
    /// The run recorded as `entry`, every item of every test (reused and carried outcomes too).
    pub fn recorded_run(&self, entry: &Entry) -> Result<RunRecord, WorkspaceError> {
        let store = self.store()?;
        records::run_of(&store, entry)?.map_err(|u| {
            WorkspaceError::invalid(
                u.message,
                Some("run `assure evidence verify`; the stored file may have been altered"),
            )
        })
    }

    /// Where run summaries are kept for this project.
    pub fn run_summaries(&self) -> RunSummaries {
        RunSummaries {
            dir: self.dir.join(".assure").join("runs"),
        }
    }
}

fn exam_number(exam: ExamType) -> u8 {
    if exam == ExamType::Type1 { 1 } else { 2 }
}

/// BLAKE3 of the selected tests' definitions (ids, SQL and effective parameters), in id order.
fn definitions(project: &Project, selected: &[&assure_project::model::TestDef]) -> String {
    let mut defs = blake3::Hasher::new();
    for t in selected {
        defs.update(t.id.as_bytes());
        defs.update(t.sql.as_bytes());
        defs.update(toml::to_string(&project.test_params(t)).unwrap_or_default().as_bytes());
    }
    defs.finalize().to_hex().to_string()
}

/// What a test's outcome depends on, hashed: the window and exam type, its definition and effective
/// parameters, who is who (people and their aliases, and the HR roster's files), and every file of
/// the tables it reads (by the hash of the copy a run reads).
fn test_key(project: &Project, t: &assure_project::model::TestDef, inputs: &[Source], opts: &RunOptions) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"assure-test-key-v1");
    for d in [opts.window.period_start, opts.window.period_end, opts.window.as_of] {
        h.update(d.to_string().as_bytes());
    }
    h.update(&[exam_number(opts.exam)]);
    h.update(t.id.as_bytes());
    h.update(t.sql.as_bytes());
    h.update(toml::to_string(&project.test_params(t)).unwrap_or_default().as_bytes());
    let mut people: Vec<String> = project
        .people
        .iter()
        .map(|p| format!("{}={}", p.email, p.aliases.join(",")))
        .collect();
    people.sort();
    for p in people {
        h.update(p.as_bytes());
    }
    let mut tables: Vec<&str> = t.reads().map(|r| r.as_str()).collect();
    tables.push("people");
    tables.sort_unstable();
    tables.dedup();
    for table in tables {
        for s in inputs.iter().filter(|s| s.table == table) {
            h.update(table.as_bytes());
            h.update(s.name.as_bytes());
            h.update(s.columnar.as_deref().unwrap_or(&s.blake3).as_bytes());
        }
    }
    h.finalize().to_hex().to_string()
}

/// The conclusion per control: its tests, their exceptions, and the worst of their conclusions.
pub fn conclude_controls(tests: &[TestOutcome]) -> Vec<ControlOutcome> {
    let mut by_control: BTreeMap<String, Vec<&TestOutcome>> = BTreeMap::new();
    for t in tests {
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
    by_control
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
        .collect()
}
