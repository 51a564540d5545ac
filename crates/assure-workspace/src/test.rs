//! Running the control tests and recording the run. The SQL engine is behind [`Runner`], which the
//! binary supplies (`assure-run`), so this crate and the web application do not build DataFusion.

use std::collections::BTreeSet;

use assure_evidence::load::LoadedBatches;
use assure_evidence::store::EvidenceStore;
use assure_ledger::{Action, Draft, Entry};
use assure_project::Project;
use assure_project::model::ExamType;
use assure_schema::Window;
use assure_schema::results::{ControlOutcome, RunRecord, TestOutcome, Unresolved};

use crate::{Workspace, WorkspaceError, records};

/// What the engine concluded, before the run is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The engine's version.
    pub engine: String,
    /// BLAKE3 of the test definitions (ids, SQL and parameters).
    pub definitions: String,
    /// Identities that matched nobody.
    pub unresolved: Vec<Unresolved>,
    /// Every selected test.
    pub tests: Vec<TestOutcome>,
    /// Every tested control.
    pub controls: Vec<ControlOutcome>,
}

/// Runs a project's SQL tests over loaded tables. Implemented by `assure-run` over the engine.
pub trait Runner {
    /// Evaluates the tests selected by `only` (all when empty) over `loaded` for the window;
    /// `progress(done, total, test)` is called as tests finish.
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
}

/// The tables the selected tests read, and the roster for identities.
pub fn wanted_tables<'a>(project: &'a Project, only: &[String]) -> BTreeSet<&'a str> {
    let mut wanted: BTreeSet<&str> = project
        .tests
        .iter()
        .filter(|t| only.is_empty() || only.iter().any(|o| o == t.id.as_str()))
        .flat_map(|t| t.tables.iter().map(|r| r.as_str()))
        .collect();
    wanted.insert("people");
    wanted
}

impl Workspace {
    /// Runs the project's tests with `runner` and records the run in the ledger. Refuses when the
    /// ledger has lines that are not entries (the run would silently leave their evidence out) or a
    /// recorded file does not read back.
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
        let entries = w.whole_ledger("a run now would leave their evidence out")?;
        let wanted = wanted_tables(&w.project, &opts.only);
        let loaded = assure_evidence::load::load_batches(&w.store, &entries, Some(&wanted))?;
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
        let inputs = loaded.sources.clone();
        let eval = runner.evaluate(&w.project, loaded, opts.window, opts.exam, &opts.only, progress);
        let occurrences = records::occurrences(&w.project, &entries, &opts.window);
        let record = RunRecord {
            format: 1,
            engine: eval.engine,
            exam_type: if opts.exam == ExamType::Type1 { 1 } else { 2 },
            period_start: opts.window.period_start,
            period_end: opts.window.period_end,
            as_of: opts.window.as_of,
            definitions: eval.definitions,
            inputs,
            unresolved: eval.unresolved,
            tests: eval.tests,
            controls: eval.controls,
            occurrences,
        };
        let json = serde_json::to_string_pretty(&record).unwrap_or_default();
        let blob = w
            .store
            .put_blob(&mut json.as_bytes(), &format!("test-run-{}.json", opts.window.as_of))?;
        let population: usize = record.tests.iter().map(|t| t.population).sum();
        let exceptions: usize = record.tests.iter().map(|t| t.exceptions).sum();
        let mut draft = Draft::new(Action::TestRun, opts.at.clone(), opts.by.clone());
        draft.blob = Some(blob);
        draft.rows = Some(population as u64);
        draft.period_start = Some(opts.window.period_start.to_string());
        draft.period_end = Some(opts.window.period_end.to_string());
        draft.controls = record.controls.iter().map(|c| c.id.clone()).collect();
        draft.note = Some(format!(
            "{} tests, {population} items, {exceptions} exceptions; engine {}; definitions {}",
            record.tests.len(),
            record.engine,
            record.definitions.get(..16).unwrap_or_default()
        ));
        let entry = w
            .store
            .append(vec![draft], &w.key)?
            .pop()
            .ok_or(WorkspaceError::Store(assure_evidence::store::StoreError::BrokenTip))?;
        Ok((record, entry))
    }
}
