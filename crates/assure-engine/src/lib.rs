//! The control-test engine: runs each test's SQL over the canonical evidence tables for one audit
//! window on an embedded Apache DataFusion context, and returns every population item with its
//! status and reason, plus diagnostics.
//!
//! **Architecture Invariant:** no I/O and no clock. The engine takes rows already read by the
//! evidence loader, the test definitions and the window, and returns data. A test that cannot run
//! (bad SQL, a missing table, a result without `item`, `status` and `reason`) becomes a diagnostic
//! for that test; the other tests still run.

#![warn(missing_docs)]

mod convert;
mod identity;
mod params;
mod udf;

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use assure_schema::tables::Table;
use chrono::NaiveDate;
use datafusion::prelude::SessionContext;
use serde::Serialize;

pub use convert::{Row, TableData, project_policies};
pub use identity::{Identities, Unresolved};
pub use params::{Param, Window, expand};

/// The engine's version, recorded with every run so it can be re-performed.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+datafusion-55");

/// A test to run.
#[derive(Debug, Clone)]
pub struct TestSpec {
    /// The id.
    pub id: String,
    /// The SQL, with `:name` parameters.
    pub sql: String,
    /// Parameter values (defaults merged with project overrides).
    pub params: BTreeMap<String, Param>,
}

/// The status of one population item (the recorded vocabulary).
pub use assure_schema::results::ItemStatus as Status;

/// One population item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The item's id.
    pub item: String,
    /// Pass, fail or not applicable.
    pub status: Status,
    /// What was expected and what was found.
    pub reason: String,
    /// Further columns the test returned, as text.
    pub attributes: Vec<(String, String)>,
}

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestResult {
    /// The test id.
    pub id: String,
    /// Every item, sorted by id.
    pub items: Vec<Item>,
    /// Items in the population.
    pub population: usize,
    /// Exceptions.
    pub failed: usize,
    /// Items the test does not apply to.
    pub not_applicable: usize,
}

/// A problem that stopped one test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The test id.
    pub test: String,
    /// What went wrong.
    pub message: String,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    /// Tests that ran, in the order given.
    pub results: Vec<TestResult>,
    /// Tests that could not run.
    pub diagnostics: Vec<Diagnostic>,
}

/// A table as Arrow batches, ready for the engine: what the columnar copies of its files hold.
#[derive(Debug, Clone)]
pub struct TableBatches {
    /// The table name the SQL uses.
    pub name: String,
    /// The schema every batch has (an empty table still has one).
    pub schema: arrow::datatypes::SchemaRef,
    /// The rows.
    pub batches: Vec<RecordBatch>,
}

impl TableBatches {
    /// Converts rows of text (test fixtures, `project_policies`) into a typed table.
    pub fn from_rows(t: &TableData) -> Result<TableBatches, String> {
        let batch = convert::to_batch(t)?;
        Ok(TableBatches {
            name: t.name.clone(),
            schema: batch.schema(),
            batches: vec![batch],
        })
    }
}

/// Runs every test over tables of rows for the window. `progress` is called after each test.
pub fn run(tables: &[TableData], tests: &[TestSpec], window: &Window, progress: &mut dyn FnMut(usize, &str)) -> Run {
    let mut typed = Vec::new();
    let mut diagnostics = Vec::new();
    for t in tables {
        match TableBatches::from_rows(t) {
            Ok(b) => typed.push(b),
            Err(e) => diagnostics.push(Diagnostic {
                test: "*".into(),
                message: format!("table `{}`: {e}", t.name),
            }),
        }
    }
    let mut run = run_batches(&typed, tests, window, progress);
    diagnostics.append(&mut run.diagnostics);
    run.diagnostics = diagnostics;
    run
}

/// Runs every test over typed tables for the window, each table registered once, in memory, as the
/// batches it came in (no copy). `progress` is called after each test.
pub fn run_batches(
    tables: &[TableBatches],
    tests: &[TestSpec],
    window: &Window,
    progress: &mut dyn FnMut(usize, &str),
) -> Run {
    let rt = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => {
            return Run {
                results: Vec::new(),
                diagnostics: tests
                    .iter()
                    .map(|t| Diagnostic {
                        test: t.id.clone(),
                        message: format!("cannot start the engine: {e}"),
                    })
                    .collect(),
            };
        }
    };
    let ctx = SessionContext::new();
    udf::register(&ctx);
    let mut diagnostics = Vec::new();
    for t in tables {
        // One partition per core, batches dealt round-robin, so every scan uses every core.
        let n = std::thread::available_parallelism().map_or(1, usize::from).max(1);
        let partitions: Vec<Vec<RecordBatch>> = (0..n)
            .map(|k| t.batches.iter().skip(k).step_by(n).cloned().collect())
            .collect();
        let registered = datafusion::datasource::MemTable::try_new(Arc::clone(&t.schema), partitions)
            .and_then(|m| ctx.register_table(t.name.as_str(), Arc::new(m)));
        if let Err(e) = registered {
            diagnostics.push(Diagnostic {
                test: "*".into(),
                message: format!("cannot register table `{}`: {e}", t.name),
            });
        }
    }
    let mut results = Vec::new();
    for (i, t) in tests.iter().enumerate() {
        match rt.block_on(run_one(&ctx, t, window)) {
            Ok(r) => results.push(r),
            Err(message) => diagnostics.push(Diagnostic {
                test: t.id.clone(),
                message,
            }),
        }
        progress(i + 1, &t.id);
    }
    Run { results, diagnostics }
}

async fn run_one(ctx: &SessionContext, t: &TestSpec, window: &Window) -> Result<TestResult, String> {
    let sql = expand(&t.sql, window, &t.params)?;
    let df = ctx.sql(&sql).await.map_err(|e| clean(&e.to_string()))?;
    let batches: Vec<RecordBatch> = df.collect().await.map_err(|e| clean(&e.to_string()))?;
    let mut items = Vec::new();
    for b in &batches {
        items.extend(items_of(b)?);
    }
    items.sort_by(|a, b| (&a.item, a.status, &a.reason).cmp(&(&b.item, b.status, &b.reason)));
    let failed = items.iter().filter(|i| i.status == Status::Fail).count();
    let not_applicable = items.iter().filter(|i| i.status == Status::NotApplicable).count();
    Ok(TestResult {
        id: t.id.clone(),
        population: items.len(),
        failed,
        not_applicable,
        items,
    })
}

fn clean(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_string()
}

fn items_of(batch: &RecordBatch) -> Result<Vec<Item>, String> {
    let schema = batch.schema();
    let col = |name: &str| schema.index_of(name).ok().map(|i| Arc::clone(batch.column(i)));
    let (Some(item), Some(status), Some(reason)) = (col("item"), col("status"), col("reason")) else {
        return Err("the query must return the columns `item`, `status` and `reason`".into());
    };
    let opts = FormatOptions::default().with_null("");
    let fi = ArrayFormatter::try_new(item.as_ref(), &opts).map_err(|e| e.to_string())?;
    let fs = ArrayFormatter::try_new(status.as_ref(), &opts).map_err(|e| e.to_string())?;
    let fr = ArrayFormatter::try_new(reason.as_ref(), &opts).map_err(|e| e.to_string())?;
    let others: Vec<(String, ArrayFormatter<'_>)> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| !matches!(f.name().as_str(), "item" | "status" | "reason"))
        .filter_map(|(i, f)| {
            ArrayFormatter::try_new(batch.column(i).as_ref(), &opts)
                .ok()
                .map(|a| (f.name().clone(), a))
        })
        .collect();
    let mut out = Vec::with_capacity(batch.num_rows());
    for r in 0..batch.num_rows() {
        let status_text = fs.value(r).to_string();
        let status = match status_text.as_str() {
            "pass" => Status::Pass,
            "fail" => Status::Fail,
            "not_applicable" => Status::NotApplicable,
            other => {
                return Err(format!(
                    "row {} has status `{other}`; a test returns pass, fail or not_applicable",
                    r + 1
                ));
            }
        };
        out.push(Item {
            item: fi.value(r).to_string(),
            status,
            reason: fr.value(r).to_string(),
            attributes: others
                .iter()
                .map(|(n, f)| (n.clone(), f.value(r).to_string()))
                .collect(),
        });
    }
    Ok(out)
}

/// Returns the first and last day of the quarters that end inside the window, up to the as-of date.
pub fn completed_quarters(start: NaiveDate, end: NaiveDate, as_of: NaiveDate) -> Vec<NaiveDate> {
    params::quarter_starts(start, end, as_of)
}

/// Returns the table definition a `TableData` was built for, if any.
pub fn table_of(data: &TableData) -> Option<&'static Table> {
    assure_schema::tables::table(&data.name)
}
