//! Running control tests over the engine: build the tables from the loaded evidence (with identity
//! resolution), run each test's SQL for the window, and conclude per test and per control. This is
//! the [`assure_workspace::Runner`] the binary hands the application layer; loading the evidence
//! and recording the run are the application layer's.

#![warn(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};

use assure_engine::{Identities, Param, TableBatches, TableData, TestSpec, Window, project_policies};
use assure_evidence::load::LoadedBatches;
use assure_evidence::runfile::EncodedRows;
use assure_project::Project;
use assure_project::model::ExamType;
use assure_schema::tables::TABLES;
use assure_workspace::{Evaluation, Runner};

pub use assure_schema::results::{
    Conclusion, ControlOccurrences, ControlOutcome, ItemRecord, ItemStatus, RunRecord, SampleRecord, Source,
    TestOutcome, Unresolved,
};

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

/// [`identities`] over typed tables: people, and every email on the HR roster's columnar copy, with
/// the same-name rules the evidence supports.
pub fn identities_of_batches(project: &Project, tables: &[TableBatches]) -> Identities {
    // The same-name rules read the names the evidence writes beside its addresses.
    base_identities(project, tables).with_names_in(tables)
}

/// The identities that need no names from the evidence: `people.toml` and the HR roster.
fn base_identities(project: &Project, tables: &[TableBatches]) -> Identities {
    use arrow::array::{Array, AsArray};
    let mut ids = Identities::default();
    for p in &project.people {
        ids.add_named(&p.email, &p.name, &p.aliases);
    }
    // The roster's text, whether read as text or (a person column) as a dictionary of its values.
    let text = |c: &arrow::array::ArrayRef| -> Option<arrow::array::StringArray> {
        match c.data_type() {
            arrow::datatypes::DataType::Dictionary(_, _) => arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8)
                .ok()
                .and_then(|a| a.as_string_opt::<i32>().cloned()),
            _ => c.as_string_opt::<i32>().cloned(),
        }
    };
    if let Some(people) = tables.iter().find(|t| t.name == "people") {
        for b in &people.batches {
            let names = b.column_by_name("name").and_then(text);
            let names = names.as_ref();
            if let Some(col) = b.column_by_name("email")
                && let Some(emails) = text(col)
            {
                for i in 0..emails.len() {
                    if emails.is_valid(i) {
                        match names.filter(|n| n.is_valid(i)) {
                            Some(n) => ids.add_named(emails.value(i), n.value(i), &[]),
                            None => ids.add(emails.value(i), &[]),
                        }
                    }
                }
            }
        }
    }
    ids
}

/// The SQL engine (DataFusion) as the application layer's test runner.
#[derive(Debug, Clone, Copy, Default)]
pub struct Engine;

impl Runner for Engine {
    fn engine(&self) -> String {
        assure_engine::VERSION.to_string()
    }

    fn evaluate(
        &self,
        project: &Project,
        loaded: LoadedBatches,
        window: Window,
        exam: ExamType,
        only: &[String],
        spool: Option<&std::path::Path>,
        progress: &mut dyn FnMut(usize, usize, &str),
    ) -> Evaluation {
        evaluate(project, loaded, window, exam, only, spool, progress)
    }

    fn columns(&self, project: &Project, tests: &[String], window: Window) -> BTreeMap<String, BTreeSet<String>> {
        columns(project, tests, window)
    }

    fn row_local(&self, project: &Project, tests: &[String], window: Window) -> BTreeMap<String, String> {
        row_local(project, tests, window)
    }

    fn row_filter(
        &self,
        project: &Project,
        tests: &[String],
        window: Window,
    ) -> Option<Box<dyn assure_evidence::load::RowFilter>> {
        self.reads(project, tests, window, true).1
    }

    fn reads(&self, project: &Project, tests: &[String], window: Window, rows: bool) -> assure_workspace::Reads {
        let (columns, filter) = reads(project, tests, window, rows);
        let filter = filter
            .filter(|f| f.tables().next().is_some())
            .map(|f| Box::new(Rows(f)) as Box<dyn assure_evidence::load::RowFilter>);
        (columns, filter)
    }

    fn extend(
        &self,
        project: &Project,
        loaded: LoadedBatches,
        window: Window,
        exam: ExamType,
        tests: &[String],
        prior: &RunRecord,
    ) -> Result<Evaluation, String> {
        extend(project, loaded, window, exam, tests, prior)
    }
}

/// The tables the engine is given: every canonical table (empty where nothing was loaded), the
/// project's policies, and the optional tables the selected tests name; and what could not be
/// prepared.
fn engine_tables(project: &Project, loaded: &mut LoadedBatches, only: &[String]) -> (Vec<TableBatches>, Vec<String>) {
    let mut problems: Vec<String> = Vec::new();
    let mut tables: Vec<TableBatches> = Vec::new();
    for t in TABLES {
        match loaded.tables.remove(t.name) {
            Some(l) if !l.batches.is_empty() => {
                let schema = l
                    .batches
                    .first()
                    .map(|b| b.schema())
                    .unwrap_or_else(|| std::sync::Arc::new(arrow::datatypes::Schema::empty()));
                tables.push(TableBatches {
                    name: t.name.to_string(),
                    schema,
                    batches: l.batches,
                });
            }
            _ => match TableBatches::from_rows(&TableData::for_table(t)) {
                Ok(empty) => tables.push(empty),
                Err(e) => problems.push(format!("table `{}`: {e}", t.name)),
            },
        }
    }
    let policies = project_policies(
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
    );
    match TableBatches::from_rows(&policies) {
        Ok(p) => tables.push(p),
        Err(e) => problems.push(format!("table `project_policies`: {e}")),
    }
    // A table a selected test reads only where it holds evidence is there, empty, when it holds none.
    let optional: BTreeSet<&str> = project
        .tests
        .iter()
        .filter(|t| only.is_empty() || only.iter().any(|o| o == t.id.as_str()))
        .flat_map(|t| t.optional_tables.iter().map(|r| r.as_str()))
        .collect();
    for name in optional {
        if !tables.iter().any(|t| t.name == name)
            && let Some(def) = assure_evidence::tables::table(name)
        {
            match TableBatches::from_rows(&assure_engine::TableData::for_table(def)) {
                Ok(empty) => tables.push(empty),
                Err(e) => problems.push(format!("table `{name}`: {e}")),
            }
        }
    }
    (tables, problems)
}

/// The columns of each table that evaluating `tests` reads (tables not named: every column): what
/// their queries read (from the optimised plan), the columns identity resolution reads and rewrites,
/// and the key that decides which of two imports' rows is used (a table without a key compares
/// whole rows, so every column is read). The roster is always read whole, for identities. Reading
/// only these columns gives the same results as reading every column, with less to decode and hold.
pub fn columns(project: &Project, tests: &[String], window: Window) -> BTreeMap<String, BTreeSet<String>> {
    reads(project, tests, window, false).0
}

/// [`columns`] and, when `rows`, [`row_filter`], both decided from one plan of each test.
pub fn reads(
    project: &Project,
    tests: &[String],
    window: Window,
    rows: bool,
) -> (BTreeMap<String, BTreeSet<String>>, Option<assure_engine::RowFilter>) {
    let (tables, selected, specs) = to_plan(project, tests);
    let plans = assure_engine::Plans::new(&tables, &specs, &window);
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut whole: BTreeSet<String> = ["people".to_string()].into_iter().collect();
    for (t, read) in selected.iter().zip(plans.columns_read()) {
        match read {
            Some(read) => {
                for (table, cols) in read {
                    out.entry(table).or_default().extend(cols);
                }
            }
            None => whole.extend(t.reads().map(|r| r.as_str().to_string())),
        }
    }
    for (table, cols) in out.iter_mut() {
        let Some(def) = assure_evidence::tables::table(table) else {
            continue;
        };
        let key = assure_schema::tables::key_of(table);
        if key.is_empty() {
            whole.insert(table.clone());
            continue;
        }
        cols.extend(key.iter().map(|k| k.to_string()));
        cols.extend(
            assure_engine::identity_columns()
                .filter(|c| def.columns.iter().any(|d| d.name == *c))
                .map(str::to_string),
        );
        cols.insert("_row".into());
    }
    out.retain(|table, _| !whole.contains(table) && assure_evidence::tables::table(table).is_some());
    let filter = rows.then(|| {
        let declared: Vec<Vec<String>> = selected
            .iter()
            .map(|t| t.reads().map(|r| r.as_str().to_string()).collect())
            .collect();
        assure_engine::RowFilter::of_plans(&tables, &plans, &declared)
    });
    (out, filter)
}

/// The rows of each table evaluating `tests` needs (see [`assure_engine::RowFilter`]): a table whose
/// every scan carries a predicate decidable before identity resolution is loaded with only the rows
/// that satisfy one of them. The results are those of loading every row.
pub fn row_filter(project: &Project, tests: &[String], window: Window) -> assure_engine::RowFilter {
    reads(project, tests, window, true).1.unwrap_or_default()
}

/// The engine's row filter as the loader's.
#[derive(Debug)]
pub struct Rows(pub assure_engine::RowFilter);

impl assure_evidence::load::RowFilter for Rows {
    fn filters(&self, table: &str) -> bool {
        self.0.filters(table)
    }
    fn reads(&self, table: &str) -> Vec<String> {
        self.0.reads(table)
    }
    fn keep(&self, table: &str, batch: &arrow::array::RecordBatch) -> Option<arrow::array::BooleanArray> {
        self.0.keep(table, batch)
    }
    fn remembered(&self, table: &str) -> Vec<String> {
        self.0.remembered(table).to_vec()
    }
}

/// The tests among `tests` whose query reads one table row by row, with that table (see
/// [`assure_engine::row_local_table`]).
pub fn row_local(project: &Project, tests: &[String], window: Window) -> BTreeMap<String, String> {
    let (tables, selected, specs) = to_plan(project, tests);
    selected
        .iter()
        .zip(assure_engine::row_local_tables(&tables, &specs, &window))
        .filter_map(|(t, table)| {
            table
                .filter(|table| t.reads().any(|r| r.as_str() == table))
                .map(|table| (t.id.to_string(), table))
        })
        .collect()
}

/// What planning `tests` without data needs: every table empty with its schema, the tests, and
/// each as the engine runs it.
fn to_plan<'p>(
    project: &'p Project,
    tests: &[String],
) -> (
    Vec<TableBatches>,
    Vec<&'p assure_project::model::TestDef>,
    Vec<TestSpec>,
) {
    let (tables, _) = engine_tables(project, &mut LoadedBatches::default(), tests);
    let selected: Vec<&assure_project::model::TestDef> = project
        .tests
        .iter()
        .filter(|t| tests.iter().any(|o| o == t.id.as_str()))
        .collect();
    let specs = selected.iter().map(|t| spec_of(project, t)).collect();
    (tables, selected, specs)
}

/// A test as the engine runs it: its SQL and its effective parameters.
fn spec_of(project: &Project, t: &assure_project::model::TestDef) -> TestSpec {
    TestSpec {
        id: t.id.to_string(),
        sql: t.sql.clone(),
        params: params_of(&project.test_params(t)),
    }
}

/// Evaluates `tests` (each reading one table row by row, see [`row_local`]) over only the rows
/// `loaded` holds: the new files of their tables, and the roster. Identities resolve as in the
/// earlier run `prior`: its same-name rules are taken back from what it recorded. When the new rows
/// would teach a same-name rule of their own (a name beside an unresolved address that the same
/// file or the roster ties to someone), it could change how earlier rows resolve, so this refuses
/// and says why (the caller then runs the tests over every file). The outcomes hold the new rows' items only, every one of them.
pub fn extend(
    project: &Project,
    mut loaded: LoadedBatches,
    window: Window,
    exam: ExamType,
    tests: &[String],
    prior: &RunRecord,
) -> Result<Evaluation, String> {
    if let Some(why) = loaded.unusable.values().flatten().next() {
        return Err(why.clone());
    }
    let (mut tables, problems) = engine_tables(project, &mut loaded, tests);
    if let Some(p) = problems.first() {
        return Err(p.clone());
    }
    let base = base_identities(project, &tables);
    let new_rows: Vec<TableBatches> = tables.iter().filter(|t| t.name != "people").cloned().collect();
    if let Some(v) = base.rules_taught_by(&new_rows).first() {
        return Err(format!(
            "a new row names `{v}` beside a name, which teaches a same-name rule that could change how earlier rows resolve"
        ));
    }
    drop(new_rows);
    // The roster was read only to resolve: its rows are not new, and its values were counted by the
    // earlier run.
    for t in tables.iter_mut().filter(|t| t.name == "people") {
        t.batches.clear();
    }
    let ids = base.with_recorded(&prior.merged, &prior.unresolved);
    let assure_engine::Resolved { merged, unresolved } = ids.resolve_batches(&mut tables, &[])?;
    let mut specs = Vec::new();
    for t in project
        .tests
        .iter()
        .filter(|t| tests.iter().any(|o| o == t.id.as_str()))
    {
        specs.push(TestSpec {
            id: t.id.to_string(),
            sql: t.sql.clone(),
            params: params_of(&project.test_params(t)),
        });
    }
    let run = assure_engine::run_batches(&tables, &specs, &window, &mut |_, _| {});
    if let Some(d) = run.diagnostics.first() {
        return Err(format!("test `{}`: {}", d.test, d.message));
    }
    let mut outcomes = Vec::new();
    for r in run.results {
        let Some(t) = project.tests.iter().find(|t| t.id.as_str() == r.id) else {
            continue;
        };
        outcomes.push(outcome_of(t, r, exam));
    }
    outcomes.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Evaluation {
        engine: assure_engine::VERSION.to_string(),
        unresolved,
        merged,
        tests: outcomes,
        rows: BTreeMap::new(),
    })
}

/// A test's outcome from its result: figures, conclusion, and every item (lineage kept compactly:
/// an index into the outcome's files and the row; a passing item keeps no other attributes).
fn outcome_of(t: &assure_project::model::TestDef, r: assure_engine::TestResult, exam: ExamType) -> TestOutcome {
    let items = r
        .items
        .into_iter()
        .map(|i| {
            let pass = i.status == ItemStatus::Pass;
            ItemRecord {
                item: i.item,
                status: i.status,
                reason: if pass { String::new() } else { i.reason },
                attributes: i.attributes,
                from: i.from,
            }
        })
        .collect();
    TestOutcome {
        id: t.id.to_string(),
        title: t.title.clone(),
        controls: t.controls.iter().map(|c| c.to_string()).collect(),
        population: r.population,
        exceptions: r.failed,
        not_applicable: r.not_applicable,
        conclusion: assure_workspace::conclusion(exam, r.population, r.failed, r.not_applicable),
        note: None,
        items,
        key: None,
        files: r.files,
    }
}

/// The distinct values a row filter noted in every row of its tables, each column as a table of
/// that name with one column: what [`Identities::merges`] reads of rows that were not kept.
fn seen_tables(loaded: &LoadedBatches) -> Vec<TableBatches> {
    use std::sync::Arc;
    let mut out = Vec::new();
    for (table, columns) in &loaded.seen {
        for (column, values) in columns {
            let schema = Arc::new(arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new(
                column.as_str(),
                arrow::datatypes::DataType::Utf8,
                true,
            )]));
            let array: arrow::array::ArrayRef = Arc::new(arrow::array::StringArray::from_iter_values(
                values.iter().map(String::as_str),
            ));
            if let Ok(batch) = arrow::array::RecordBatch::try_new(Arc::clone(&schema), vec![array]) {
                out.push(TableBatches {
                    name: table.clone(),
                    schema,
                    batches: vec![batch],
                });
            }
        }
    }
    out
}

/// Evaluates the project's tests (or `only` those) over the loaded evidence for the window. Each
/// test's rows are encoded for the run file as it ends, into an unnamed file in `spool` when one is
/// given (see [`assure_evidence::runfile::encode_population`]), in memory otherwise.
pub fn evaluate(
    project: &Project,
    mut loaded: LoadedBatches,
    window: Window,
    exam: ExamType,
    only: &[String],
    spool: Option<&std::path::Path>,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Evaluation {
    let (mut tables, mut problems) = engine_tables(project, &mut loaded, only);
    progress(
        0,
        if only.is_empty() {
            project.tests.len()
        } else {
            only.len()
        },
        "resolving identities",
    );
    let ids = identities_of_batches(project, &tables);
    // Values of rows a row filter left out still count among what resolution merged.
    let assure_engine::Resolved { merged, unresolved } = match ids.resolve_batches(&mut tables, &seen_tables(&loaded)) {
        Ok(r) => r,
        Err(e) => {
            problems.push(e);
            assure_engine::Resolved::default()
        }
    };
    // A table whose rows a filter left out had rows all the same: its tests run (on no rows).
    let with_rows: BTreeSet<&str> = tables
        .iter()
        .filter(|t| t.batches.iter().any(|b| b.num_rows() > 0))
        .map(|t| t.name.as_str())
        .chain(
            loaded
                .filtered
                .iter()
                .filter(|(_, (read, _))| *read > 0)
                .map(|(t, _)| t.as_str()),
        )
        .collect();

    let mut selected: Vec<&assure_project::model::TestDef> = project
        .tests
        .iter()
        .filter(|t| only.is_empty() || only.iter().any(|o| o == t.id.as_str()))
        .collect();
    selected.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let mut specs = Vec::new();
    let mut skipped: BTreeMap<String, String> = BTreeMap::new();
    for t in &selected {
        let params = project.test_params(t);
        // Evidence that did not prove itself (a columnar copy altered, a file missing) stops every
        // test that reads its table, naming what went wrong; the other tests run.
        let unusable: Vec<String> = t
            .reads()
            .filter_map(|r| loaded.unusable.get(r.as_str()))
            .flatten()
            .cloned()
            .collect();
        if !unusable.is_empty() {
            skipped.insert(
                t.id.to_string(),
                format!("not run, its evidence does not check out: {}", unusable.join("; ")),
            );
            continue;
        }
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
                    "no evidence for {} covers {} to {}",
                    missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
                    window.period_start,
                    window.period_end
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
    // Each outcome as its test ends: its rows encoded for the run file, its passing items dropped,
    // so a run holds one test's items per core at a time rather than every test's until it is recorded.
    let mut done: BTreeMap<String, (TestOutcome, Option<EncodedRows>)> = BTreeMap::new();
    let mut failed_to_encode: Vec<assure_engine::Diagnostic> = Vec::new();
    // A table that could not be prepared stops every test (it would run on part of the evidence).
    let run_diagnostics = if problems.is_empty() {
        assure_engine::run_each_with(
            &tables,
            &specs,
            &window,
            assure_engine::Detail::Recorded,
            &mut |k, id| progress(k, total, id),
            // Each outcome made and its rows encoded on the thread that ran its test: its items
            // are only those that did not pass, every item is in the result's columns.
            &|mut r| {
                let t = selected.iter().find(|t| t.id.as_str() == r.id)?;
                let population = std::mem::take(&mut r.rows);
                let outcome = outcome_of(t, r, exam);
                let columns = assure_evidence::runfile::Population {
                    ids: &population.ids,
                    status: &population.status,
                    file: &population.file,
                    row: &population.row,
                };
                Some(
                    match assure_evidence::runfile::encode_population(&outcome, columns, spool) {
                        Ok(rows) => Ok((outcome, rows)),
                        Err(e) => Err(assure_engine::Diagnostic {
                            test: outcome.id.clone(),
                            message: format!("its items could not be encoded for the run file: {e}"),
                        }),
                    },
                )
            },
            &mut |r| match r {
                Some(Ok((outcome, rows))) => {
                    done.insert(outcome.id.clone(), (outcome, Some(rows)));
                }
                Some(Err(d)) => failed_to_encode.push(d),
                None => {}
            },
        )
    } else {
        specs
            .iter()
            .map(|t| assure_engine::Diagnostic {
                test: t.id.clone(),
                message: problems.join("; "),
            })
            .collect()
    };
    let diagnostics: BTreeMap<String, String> = run_diagnostics
        .iter()
        .chain(&failed_to_encode)
        .map(|d| (d.test.clone(), d.message.clone()))
        .collect();

    let mut tests = Vec::new();
    let mut rows = BTreeMap::new();
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
            key: None,
            files: Vec::new(),
        };
        if let Some(why) = skipped.get(&id).or_else(|| diagnostics.get(&id)) {
            tests.push(TestOutcome {
                note: Some(why.clone()),
                ..base
            });
            continue;
        }
        // Each result is taken, not copied: a large company's run holds millions of items.
        let Some((outcome, encoded)) = done.remove(&id) else {
            continue;
        };
        if let Some(e) = encoded {
            rows.insert(id, e);
        }
        tests.push(outcome);
    }
    Evaluation {
        engine: assure_engine::VERSION.to_string(),
        unresolved,
        merged,
        tests,
        rows,
    }
}
