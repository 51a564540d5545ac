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
use assure_schema::results::{Conclusion, ControlOutcome, ItemStatus, RunRecord, Source, TestOutcome, Unresolved};

use crate::{Workspace, WorkspaceError, records};

/// What the engine concluded, before the run is recorded.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The engine's version.
    pub engine: String,
    /// Identities that matched nobody.
    pub unresolved: Vec<Unresolved>,
    /// Values merged into a person, with the rule that merged each.
    pub merged: Vec<assure_schema::results::IdentityMerge>,
    /// Every selected test.
    pub tests: Vec<TestOutcome>,
    /// The rows of tests whose items the runner encoded as each test ended
    /// ([`runfile::encode_outcome`]): such a test's outcome holds only its items that did not pass,
    /// and the run file copies these rows. A test not named here has every item in its outcome.
    pub rows: BTreeMap<String, runfile::EncodedRows>,
}

/// What a run reads ([`Runner::reads`]): the columns of each table (a table not named is read
/// whole), and which rows of each, when the runner filters them.
pub type Reads = (
    BTreeMap<String, BTreeSet<String>>,
    Option<Box<dyn assure_evidence::load::RowFilter>>,
);

/// Runs a project's SQL tests over loaded tables. Implemented by `assure-run` over the engine.
pub trait Runner {
    /// The engine's version, recorded with every run; a change of engine re-runs every test.
    fn engine(&self) -> String;
    /// Evaluates the tests selected by `only` (all when empty) over `loaded` for the window;
    /// `progress(done, total, step)` is called as each step starts: reading the evidence, resolving
    /// identities, each test, recording the run. A runner that encodes each test's rows as it ends
    /// ([`Evaluation::rows`]) keeps them in `spool` (a local directory for work in progress, where
    /// they are unnamed files gone when dropped) until the run is recorded, when one is given.
    #[allow(
        clippy::too_many_arguments,
        reason = "the window, exam, selection, spool and progress are each the caller's to give"
    )]
    fn evaluate(
        &self,
        project: &Project,
        loaded: LoadedBatches,
        window: Window,
        exam: ExamType,
        only: &[String],
        spool: Option<&std::path::Path>,
        progress: &mut dyn FnMut(usize, usize, &str),
    ) -> Evaluation;
    /// The columns of each table that evaluating `tests` reads; a table not named is read whole
    /// (the default: every column of every table).
    fn columns(&self, _project: &Project, _tests: &[String], _window: Window) -> BTreeMap<String, BTreeSet<String>> {
        BTreeMap::new()
    }
    /// Which rows of each table evaluating `tests` needs (see `assure_evidence::load::RowFilter`);
    /// `None` (the default) loads every row.
    fn row_filter(
        &self,
        _project: &Project,
        _tests: &[String],
        _window: Window,
    ) -> Option<Box<dyn assure_evidence::load::RowFilter>> {
        None
    }
    /// [`Runner::columns`] and, when `rows`, [`Runner::row_filter`]: what a run reads, asked once.
    /// A runner that plans its tests to answer both can plan them once (the default asks each).
    fn reads(&self, project: &Project, tests: &[String], window: Window, rows: bool) -> Reads {
        let filter = if rows {
            self.row_filter(project, tests, window)
        } else {
            None
        };
        (self.columns(project, tests, window), filter)
    }
    /// The tests among `tests` whose query reads one table row by row (a selection and projection
    /// of that table, nothing more), each with its table: their outcome over several files is the
    /// union of their outcomes over each. None by default.
    fn row_local(&self, _project: &Project, _tests: &[String], _window: Window) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
    /// Evaluates `tests` (row by row, see [`Runner::row_local`]) over only the rows in `loaded`
    /// (new files), resolving identities as the earlier run `prior` did; every item of each outcome
    /// is returned. `Err` says why the rows cannot be tested on their own (the tests then run over
    /// every file).
    fn extend(
        &self,
        _project: &Project,
        _loaded: LoadedBatches,
        _window: Window,
        _exam: ExamType,
        _tests: &[String],
        _prior: &RunRecord,
    ) -> Result<Evaluation, String> {
        Err("this runner tests every file together".into())
    }
}

/// What a test's figures conclude for the kind of examination: a Type 2 test with an exception has
/// exceptions; a Type 1 test is shown implemented by one passing item.
pub fn conclusion(exam: ExamType, population: usize, failed: usize, not_applicable: usize) -> Conclusion {
    let passes = population.saturating_sub(failed + not_applicable);
    match exam {
        _ if population == not_applicable => Conclusion::NoPopulation,
        ExamType::Type2 if failed > 0 => Conclusion::Exceptions,
        ExamType::Type2 => Conclusion::NoExceptions,
        ExamType::Type1 if passes > 0 => Conclusion::Implemented,
        ExamType::Type1 => Conclusion::NotShown,
    }
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
    /// Load every row of every table, not only the rows the tests can read (see
    /// [`Runner::row_filter`]): slower, with the same results; for re-performing a run without
    /// the filter, and for measuring it.
    pub every_row: bool,
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
    /// The record returned holds each outcome's items that did not pass, and every item only of the
    /// tests whose runner did not encode their rows as they ended (see [`Evaluation::rows`]); an
    /// outcome reused or carried from an earlier run holds only its items that did not pass. The
    /// passing items are rows of the recorded file: read the whole run with
    /// [`Workspace::recorded_run`].
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
        let mut carrier = records::latest_run_file_where(&w.store, &entries, &same_window)?
            .0
            .filter(|(_, f)| {
                let r = f.record();
                r.period_start == opts.window.period_start
                    && r.period_end == opts.window.period_end
                    && r.exam_type == exam_number(opts.exam)
            });
        let mut prior = carrier
            .clone()
            .filter(|(_, f)| f.record().as_of == opts.window.as_of && f.record().engine == runner.engine());
        let mut previous = if opts.full { None } else { prior.clone() };
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
        // Tests whose only change since the previous run is new files of the one table they read
        // row by row: the new files' rows are tested on their own and added to the recorded outcome.
        let mut extension: Option<(Evaluation, BTreeMap<String, Vec<u64>>)> = None;
        let mut extension_read: Vec<Source> = Vec::new();
        if let Some((_, prev)) = &previous {
            let outcome = self.extension(&w, &entries, runner, opts, &selected, &reused, &inputs, prev, progress)?;
            if let Some((eval, plan, read)) = outcome {
                extension = Some((eval, plan));
                extension_read = read;
            }
        }
        let to_run: Vec<String> = selected
            .iter()
            .map(|t| t.id.to_string())
            .filter(|id| !reused.iter().any(|r| &r.id == id))
            .filter(|id| !extension.as_ref().is_some_and(|(_, plan)| plan.contains_key(id)))
            .collect();
        // Rows of the earlier run are copied only into outcomes reused, extended or carried from
        // it; when there are none, its file (some 80 MB at 50,000 people) is let go of before the
        // tests load their evidence, and only its record is kept.
        if reused.is_empty() && extension.is_none() && carried.is_empty() {
            for (_, f) in [&mut carrier, &mut prior, &mut previous].into_iter().flatten() {
                f.release_rows();
            }
        }
        let mut eval = Evaluation {
            engine: runner.engine(),
            unresolved: Vec::new(),
            merged: Vec::new(),
            tests: Vec::new(),
            rows: BTreeMap::new(),
        };
        let mut read = Vec::new();
        let mut duplicates = BTreeMap::new();
        if !to_run.is_empty() {
            let need = wanted_tables(project, &to_run);
            progress(0, to_run.len(), "reading the evidence");
            // Only the columns the tests, identity resolution and rule 3 read are decoded.
            // Only the rows some test can read, of the tables whose every read is filtered.
            let (columns, rows) = runner.reads(project, &to_run, opts.window, !opts.every_row);
            let rows: Option<std::sync::Arc<dyn assure_evidence::load::RowFilter>> = rows.map(std::sync::Arc::from);
            let loaded = assure_evidence::load::load_batches_with(
                &w.store,
                &entries,
                Some(&need),
                window,
                &|_| true,
                &columns,
                rows.as_ref(),
            )?;
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
            // Finished tests' encoded rows wait on local disk, not in memory, while the others run.
            let spool = assure_evidence::store::spool_dir(self.dir());
            eval = runner.evaluate(project, loaded, opts.window, opts.exam, &to_run, Some(&spool), progress);
        }
        // Identities that matched nobody: this run's, and the earlier run's for tables not read now.
        let mut unresolved = eval.unresolved;
        let mut merged = eval.merged;
        if let Some((_, prev)) = carrier
            .as_ref()
            .filter(|_| !reused.is_empty() || !carried.is_empty() || extension.is_some())
        {
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
            // Rows left out as duplicates, in the tables not read in full now, as that run counted them.
            for (table, n) in &prev.record().duplicates {
                if !read_tables.contains(table.as_str()) {
                    duplicates.entry(table.clone()).or_insert(*n);
                }
            }
        }
        // The new rows' identities, added to the earlier rows' (kept above: their tables were not
        // read in full).
        if let Some((e, _)) = &mut extension {
            // Where each value was seen: the earlier places and the new ones, once each, in order.
            let union = |into: &mut Vec<String>, more: Vec<String>| {
                into.extend(more);
                into.sort();
                into.dedup();
            };
            for u in std::mem::take(&mut e.unresolved) {
                match unresolved.iter_mut().find(|x| x.value == u.value) {
                    Some(x) => {
                        x.rows += u.rows;
                        union(&mut x.seen_in, u.seen_in);
                    }
                    None => unresolved.push(u),
                }
            }
            unresolved.sort_by(|a, b| a.value.cmp(&b.value));
            for m in std::mem::take(&mut e.merged) {
                match merged.iter_mut().find(|x| x.value == m.value) {
                    Some(x) => union(&mut x.seen_in, m.seen_in),
                    None => merged.push(m),
                }
            }
            merged.sort_by(|a, b| a.value.cmp(&b.value));
        }
        // Each extended outcome: the earlier one with the new rows' figures and exceptions added;
        // its rows are the earlier run's, copied, then the new rows.
        let mut added: BTreeMap<String, TestOutcome> = BTreeMap::new();
        let mut extended_outcomes: Vec<TestOutcome> = Vec::new();
        let mut extended: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        if let (Some((e, plan)), Some((_, prev))) = (extension, &previous) {
            for n in e.tests {
                let Some(p) = prev.record().tests.iter().find(|t| t.id == n.id) else {
                    continue;
                };
                let mut t = p.clone();
                let mut index: Vec<u32> = Vec::with_capacity(n.files.len());
                for f in &n.files {
                    let k = match t.files.iter().position(|x| x == f) {
                        Some(k) => k,
                        None => {
                            t.files.push(f.clone());
                            t.files.len() - 1
                        }
                    };
                    index.push(u32::try_from(k).unwrap_or(u32::MAX));
                }
                t.items
                    .extend(n.items.iter().filter(|i| i.status != ItemStatus::Pass).map(|i| {
                        let mut i = i.clone();
                        i.from = i.from.and_then(|(f, r)| index.get(f as usize).map(|k| (*k, r)));
                        i
                    }));
                t.items
                    .sort_by(|a, b| (&a.item, a.status, &a.reason).cmp(&(&b.item, b.status, &b.reason)));
                t.population += n.population;
                t.exceptions += n.exceptions;
                t.not_applicable += n.not_applicable;
                t.conclusion = conclusion(opts.exam, t.population, t.exceptions, t.not_applicable);
                t.key = keys.get(&t.id).cloned();
                t.note = None;
                if let Some(seqs) = plan.get(&t.id) {
                    extended.insert(t.id.clone(), seqs.clone());
                }
                extended_outcomes.push(t);
                added.insert(n.id.clone(), n);
            }
        }
        read.extend(extension_read);
        let reused_ids: Vec<String> = reused.iter().map(|t| t.id.clone()).collect();
        let carried_ids: Vec<String> = carried.iter().map(|t| t.id.clone()).collect();
        let encoded = eval.rows;
        let mut tests: Vec<TestOutcome> = eval
            .tests
            .into_iter()
            .map(|mut t| {
                t.key = keys.get(&t.id).cloned();
                t
            })
            .chain(reused)
            .chain(extended_outcomes)
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
            reused_from: (!reused_ids.is_empty() || !extended.is_empty())
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
            extended,
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
        // they come from. So do the outcomes whose rows were encoded as their test ended; an
        // extended outcome's new rows follow the earlier ones.
        let mut rows: BTreeMap<String, Vec<runfile::Rows<'_>>> = BTreeMap::new();
        if let Some((_, f)) = &previous {
            for id in record.reused.iter().chain(record.extended.keys()) {
                rows.insert(id.clone(), vec![runfile::Rows::Earlier(f)]);
            }
        }
        if let Some((_, f)) = &carrier {
            for id in &record.carried {
                rows.insert(id.clone(), vec![runfile::Rows::Earlier(f)]);
            }
        }
        for (id, more) in &added {
            rows.entry(id.clone()).or_default().push(runfile::Rows::Items(more));
        }
        for (id, e) in &encoded {
            rows.insert(id.clone(), vec![runfile::Rows::Encoded(e)]);
        }
        let bytes = runfile::encode_rows(&record, &rows).map_err(|e| {
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

/// What testing only the new files' rows came to: the evaluation of those rows, each extended test
/// with the ledger entries of its new files, and the files read.
type Extension = (Evaluation, BTreeMap<String, Vec<u64>>, Vec<Source>);

impl Workspace {
    /// Plans and runs the tests that can be extended by new files instead of run over every file
    /// (see [`RunRecord::extended`]): a test whose query reads one table row by row, whose previous
    /// outcome (same window, as-of date and engine) was concluded, and whose inputs differ from that
    /// run's only by files added to that table. The earlier files must read back as recorded, no
    /// new row may carry an earlier row's key (the later row would replace it), no other test run
    /// now may read the table in full, and the new files may teach no same-name rule; otherwise the test
    /// runs over every file as usual. `None` when no test qualifies.
    #[allow(
        clippy::too_many_arguments,
        reason = "one step of `run_tests`, given what it has read"
    )]
    fn extension(
        &self,
        w: &crate::Writable,
        entries: &[Entry],
        runner: &dyn Runner,
        opts: &RunOptions,
        selected: &[&assure_project::model::TestDef],
        reused: &[TestOutcome],
        inputs: &[Source],
        prev: &runfile::RunFile,
        progress: &mut dyn FnMut(usize, usize, &str),
    ) -> Result<Option<Extension>, WorkspaceError> {
        let project = &w.project;
        let prev_seqs: BTreeSet<u64> = prev.record().inputs.iter().map(|s| s.seq).collect();
        let concluded = |id: &str| {
            prev.record()
                .tests
                .iter()
                .find(|t| t.id == id)
                .filter(|t| t.conclusion != Conclusion::NotRun && t.note.is_none())
                .and_then(|t| t.key.clone())
        };
        let candidates: Vec<String> = selected
            .iter()
            .map(|t| t.id.to_string())
            .filter(|id| !reused.iter().any(|r| &r.id == id) && concluded(id).is_some())
            .collect();
        if candidates.is_empty() {
            return Ok(None);
        }
        let mut plan: BTreeMap<String, (String, Vec<u64>)> = BTreeMap::new();
        for (id, table) in runner.row_local(project, &candidates, opts.window) {
            // A new roster changes how every row resolves: never extended.
            if table == "people" {
                continue;
            }
            let Some(t) = selected.iter().find(|t| t.id.as_str() == id) else {
                continue;
            };
            let reads: BTreeSet<&str> = t.reads().map(|r| r.as_str()).chain(["people"]).collect();
            let (older, added): (Vec<Source>, Vec<Source>) = inputs
                .iter()
                .filter(|s| reads.contains(s.table.as_str()))
                .cloned()
                .partition(|s| prev_seqs.contains(&s.seq));
            if added.is_empty() || added.iter().any(|s| s.table != table) {
                continue;
            }
            // Everything else the test stands on (definition, parameters, window, people, the
            // earlier files) is as in that run: its key over the earlier files is that run's key.
            if concluded(&id).as_deref() != Some(test_key(project, t, &older, opts).as_str()) {
                continue;
            }
            plan.insert(id, (table, added.iter().map(|s| s.seq).collect()));
        }
        // A table another test run now reads in full (one changed otherwise, or one that could not
        // run before and is tried again) is read in full: its tests run as usual.
        let others: Vec<String> = selected
            .iter()
            .map(|t| t.id.to_string())
            .filter(|id| !plan.contains_key(id) && !reused.iter().any(|r| &r.id == id))
            .collect();
        let full: BTreeSet<&str> = if others.is_empty() {
            BTreeSet::new()
        } else {
            wanted_tables(project, &others)
        };
        plan.retain(|_, (table, _)| !full.contains(table.as_str()));
        if plan.is_empty() {
            return Ok(None);
        }
        // The earlier files' results are kept: those files must read back as recorded.
        let tables: BTreeSet<String> = plan.values().map(|(t, _)| t.clone()).collect();
        let older: Vec<Source> = inputs
            .iter()
            .filter(|s| (tables.contains(&s.table) || s.table == "people") && prev_seqs.contains(&s.seq))
            .cloned()
            .collect();
        let altered = altered_tables(&w.store, entries, &older)?;
        if altered.contains("people") {
            return Ok(None);
        }
        plan.retain(|_, (table, _)| !altered.contains(table));
        if plan.is_empty() {
            return Ok(None);
        }
        let new_seqs: BTreeSet<u64> = plan.values().flat_map(|(_, s)| s.iter().copied()).collect();
        let wanted: BTreeSet<&str> = plan.values().map(|(t, _)| t.as_str()).chain(["people"]).collect();
        progress(0, plan.len(), "reading the new evidence");
        let window = Some((opts.window.period_start, opts.window.period_end));
        let mut loaded = assure_evidence::load::load_batches_with(
            &w.store,
            entries,
            Some(&wanted),
            window,
            &|s| s.table == "people" || new_seqs.contains(&s.seq),
            &BTreeMap::new(),
            None,
        )?;
        if !loaded.problems.is_empty() {
            return Ok(None);
        }
        // A new row with an earlier row's key would replace it: those tables are read in full.
        for table in &tables {
            let older: Vec<Source> = inputs
                .iter()
                .filter(|s| &s.table == table && prev_seqs.contains(&s.seq))
                .cloned()
                .collect();
            let batches = loaded
                .tables
                .get(table.as_str())
                .map_or(&[][..], |t| t.batches.as_slice());
            if !matches!(
                assure_evidence::load::keys_shared(&w.store, table, &older, batches),
                Ok(None)
            ) {
                plan.retain(|_, (t, _)| t != table);
                loaded.tables.remove(table.as_str());
            }
        }
        if plan.is_empty() {
            return Ok(None);
        }
        let ids: Vec<String> = plan.keys().cloned().collect();
        let read = loaded.sources.clone();
        match runner.extend(project, loaded, opts.window, opts.exam, &ids, prev.record()) {
            Ok(eval) if eval.tests.len() == ids.len() => Ok(Some((
                eval,
                plan.into_iter().map(|(id, (_, seqs))| (id, seqs)).collect(),
                read,
            ))),
            _ => Ok(None),
        }
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
            // Hashed as it is read, never held whole; a copy that cannot be read is not intact.
            Some(recorded) => store.open_columnar(&s.blake3)?.is_some_and(|mut file| {
                let mut hasher = blake3::Hasher::new();
                std::io::copy(&mut file, &mut hasher).is_ok() && hasher.finalize().to_hex().as_str() == recorded
            }),
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
