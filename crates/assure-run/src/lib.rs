//! Running control tests over the engine: build the tables from the loaded evidence (with identity
//! resolution), run each test's SQL for the window, and conclude per test and per control. This is
//! the [`assure_workspace::Runner`] the binary hands the application layer; loading the evidence
//! and recording the run are the application layer's.

#![warn(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};

use assure_engine::{Identities, Param, TableBatches, TableData, TestSpec, Window, project_policies};
use assure_evidence::load::LoadedBatches;
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

/// [`identities`] over typed tables: people, and every email on the HR roster's columnar copy.
pub fn identities_of_batches(project: &Project, tables: &[TableBatches]) -> Identities {
    use arrow::array::{Array, AsArray};
    let mut ids = Identities::default();
    for p in &project.people {
        ids.add_named(&p.email, &p.name, &p.aliases);
    }
    if let Some(people) = tables.iter().find(|t| t.name == "people") {
        for b in &people.batches {
            let names = b.column_by_name("name").and_then(|c| c.as_string_opt::<i32>());
            if let Some(col) = b.column_by_name("email")
                && let Some(emails) = col.as_string_opt::<i32>()
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
    // The same-name rules read the names the evidence writes beside its addresses.
    ids.with_names_in(tables)
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
        progress: &mut dyn FnMut(usize, usize, &str),
    ) -> Evaluation {
        evaluate(project, loaded, window, exam, only, progress)
    }
}

/// Evaluates the project's tests (or `only` those) over the loaded evidence for the window.
pub fn evaluate(
    project: &Project,
    mut loaded: LoadedBatches,
    window: Window,
    exam: ExamType,
    only: &[String],
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Evaluation {
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
    let merged = ids.merges(&tables);
    let unresolved = match ids.apply_batches(&mut tables) {
        Ok(u) => u,
        Err(e) => {
            problems.push(e);
            Vec::new()
        }
    };
    let with_rows: BTreeSet<&str> = tables
        .iter()
        .filter(|t| t.batches.iter().any(|b| b.num_rows() > 0))
        .map(|t| t.name.as_str())
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
    let mut run = assure_engine::run_batches(&tables, &specs, &window, &mut |done, id| progress(done, total, id));
    // A table that could not be prepared stops every test (it would run on part of the evidence).
    if !problems.is_empty() {
        run.results.clear();
        run.diagnostics = specs
            .iter()
            .map(|t| assure_engine::Diagnostic {
                test: t.id.clone(),
                message: problems.join("; "),
            })
            .collect();
    }
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
        let Some(r) = run
            .results
            .iter()
            .position(|r| r.id == id)
            .map(|k| run.results.swap_remove(k))
        else {
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
        // Lineage (`_evidence`, `_row`) is kept for every item, compactly: an index into the
        // test's list of files and the row. Passing items are otherwise recorded by id only (the
        // engine keeps no attributes for them); exceptions and exclusions keep their reason and
        // other attributes. Re-running with the same inputs gives the rest.
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
        let files = r.files;
        tests.push(TestOutcome {
            population: r.population,
            exceptions: r.failed,
            not_applicable: r.not_applicable,
            conclusion,
            items,
            files,
            ..base
        });
    }
    Evaluation {
        engine: assure_engine::VERSION.to_string(),
        unresolved,
        merged,
        tests,
    }
}
