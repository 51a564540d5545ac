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
mod rows;
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
pub use identity::{Identities, Resolved, Unresolved};
pub use params::{Param, Window, expand};
pub use rows::RowFilter;

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
    /// Further columns the test returned, as text: kept for exceptions and exclusions; a passing
    /// item keeps none (at a large company they would be most of a run's memory, and re-running the
    /// test or reading its evidence row gives them back).
    pub attributes: Vec<(String, String)>,
    /// Its lineage, when the query returned `_evidence` and `_row`: an index into the result's
    /// [`TestResult::files`] and the line or record number in that file.
    pub from: Option<(u32, u64)>,
}

/// The result of one test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestResult {
    /// The test id.
    pub id: String,
    /// Every item ([`Detail::Everything`]) or only the items that did not pass ([`Detail::Recorded`]),
    /// sorted by id, status, reason and lineage.
    pub items: Vec<Item>,
    /// Items in the population.
    pub population: usize,
    /// Exceptions.
    pub failed: usize,
    /// Items the test does not apply to.
    pub not_applicable: usize,
    /// The evidence files (BLAKE3 of each original) the items' lineage points into, in hash order.
    pub files: Vec<String>,
    /// Every item's id, status and lineage, in the order of `items`.
    #[serde(skip)]
    pub rows: Population,
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

/// Runs every test over tables of rows for the window. `progress(done, test)` is called as each test starts.
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
/// batches it came in (no copy). `progress(done, test)` is called as each test starts.
pub fn run_batches(
    tables: &[TableBatches],
    tests: &[TestSpec],
    window: &Window,
    progress: &mut dyn FnMut(usize, &str),
) -> Run {
    let mut results = Vec::new();
    let diagnostics = run_each(tables, tests, window, Detail::Everything, progress, &mut |r| {
        results.push(r);
    });
    Run { results, diagnostics }
}

/// What an item keeps of the columns a test returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Every item whole, with its reason (what a test's author checks its SQL against).
    Everything,
    /// What a run records: a passing item is only its id, status and lineage in
    /// [`TestResult::rows`], with no reason and no [`Item`]; the items that did not pass are kept
    /// whole. At a large company nearly every item passes, and an `Item` each would be most of a
    /// test's time and memory.
    Recorded,
}

/// [`run_batches`], handing each test's result to `each` in the order the tests were given (so a
/// caller that records it compactly never holds every test's items at once), with the items'
/// `detail`. Returns the tests that could not run.
pub fn run_each(
    tables: &[TableBatches],
    tests: &[TestSpec],
    window: &Window,
    detail: Detail,
    progress: &mut dyn FnMut(usize, &str),
    each: &mut dyn FnMut(TestResult),
) -> Vec<Diagnostic> {
    run_each_with(tables, tests, window, detail, progress, &|r| r, each)
}

/// How many population items the tests running side by side may hold at once, counted as the rows
/// of the largest table each reads. Sized when an item took about 190 bytes while it was sorted and
/// encoded (some 570 MB); since a result is gathered as columns ([`Population`]) an item takes
/// less, so the budget is conservative until it is measured again. At 20,000 people two change
/// tests (1.2 million changes each) run together; at 50,000 (2.9 million) one at a time, beside the
/// small tests, so running side by side does not raise a large company's peak memory.
pub const ITEMS_IN_FLIGHT: u64 = 3_000_000;

/// [`run_each`], where `finish` turns each test's result into what the caller keeps (encoding its
/// items, say) on the thread that ran the test, and `each` is handed that in the order the tests
/// were given. Up to one test per core runs at a time, each on its own thread over one shared
/// engine, so independent tests run side by side and so do the partitions of each scan, within
/// [`ITEMS_IN_FLIGHT`]; a test that finished ahead of an earlier one waits, finished, for its turn.
pub fn run_each_with<R: Send>(
    tables: &[TableBatches],
    tests: &[TestSpec],
    window: &Window,
    detail: Detail,
    progress: &mut dyn FnMut(usize, &str),
    finish: &(dyn Fn(TestResult) -> R + Sync),
    each: &mut dyn FnMut(R),
) -> Vec<Diagnostic> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from).max(1);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return tests
                .iter()
                .map(|t| Diagnostic {
                    test: t.id.clone(),
                    message: format!("cannot start the engine: {e}"),
                })
                .collect();
        }
    };
    let ctx = SessionContext::new();
    udf::register(&ctx);
    let mut diagnostics = Vec::new();
    for t in tables {
        // One partition per core, batches dealt round-robin, so every scan uses every core.
        let partitions: Vec<Vec<RecordBatch>> = (0..cores)
            .map(|k| t.batches.iter().skip(k).step_by(cores).cloned().collect())
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
    enum Said<R> {
        Started(usize),
        Done(usize, Result<R, String>),
    }
    // What a test may hold at once: one item for each row of the largest table it scans (from its
    // plan as written, which scans every table the optimised one does; a query that does not
    // plan, the largest table of all).
    let rows_of: BTreeMap<&str, u64> = tables
        .iter()
        .map(|t| (t.name.as_str(), t.batches.iter().map(|b| b.num_rows() as u64).sum()))
        .collect();
    let largest = rows_of.values().copied().max().unwrap_or(0);
    let costs: Vec<u64> = tables_scanned(tables, tests, window)
        .into_iter()
        .map(|read| match read {
            Some(read) => read
                .iter()
                .map(|t| rows_of.get(t.as_str()).copied().unwrap_or(0))
                .max()
                .unwrap_or(0),
            None => largest,
        })
        .collect();
    // Tests start in the order given; one waits while the tests running would, with it, exceed
    // the budget of items in flight (a test alone always runs).
    struct Slots {
        next: usize,
        in_flight: u64,
    }
    let slots = std::sync::Mutex::new(Slots { next: 0, in_flight: 0 });
    let freed = std::sync::Condvar::new();
    let (said, heard) = std::sync::mpsc::channel::<Said<R>>();
    std::thread::scope(|scope| {
        for _ in 0..cores.min(tests.len()) {
            let (said, slots, freed, costs, rt, ctx) = (said.clone(), &slots, &freed, &costs, &rt, &ctx);
            scope.spawn(move || {
                loop {
                    let (k, cost) = {
                        let mut s = slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        loop {
                            let k = s.next;
                            if k >= tests.len() {
                                return;
                            }
                            let cost = costs.get(k).copied().unwrap_or(0);
                            if s.in_flight == 0 || s.in_flight.saturating_add(cost) <= ITEMS_IN_FLIGHT {
                                s.next += 1;
                                s.in_flight = s.in_flight.saturating_add(cost);
                                break (k, cost);
                            }
                            s = freed.wait(s).unwrap_or_else(std::sync::PoisonError::into_inner);
                        }
                    };
                    let Some(t) = tests.get(k) else { return };
                    let sent = said.send(Said::Started(k)).is_ok();
                    // A panic while a test runs is that test's failure: its slot is freed (the
                    // tests waiting for the budget would otherwise wait for ever) and the others run.
                    let r = sent.then(|| {
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            rt.block_on(run_one(ctx, t, window, detail)).map(finish)
                        }))
                        .unwrap_or_else(|_| {
                            Err("the engine stopped on this test (an internal error); the other tests ran".into())
                        })
                    });
                    {
                        let mut s = slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        s.in_flight = s.in_flight.saturating_sub(cost);
                    }
                    freed.notify_all();
                    let Some(r) = r else { return };
                    if said.send(Said::Done(k, r)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(said);
        // Finished tests handed on in order; a test that started is reported as it starts.
        let mut waiting: BTreeMap<usize, Result<R, String>> = BTreeMap::new();
        let mut turn = 0;
        for message in heard {
            match message {
                Said::Started(k) => progress(k, tests.get(k).map_or("", |t| t.id.as_str())),
                Said::Done(k, r) => {
                    waiting.insert(k, r);
                }
            }
            while let Some(r) = waiting.remove(&turn) {
                match r {
                    Ok(r) => each(r),
                    Err(message) => diagnostics.push(Diagnostic {
                        test: tests.get(turn).map(|t| t.id.clone()).unwrap_or_default(),
                        message,
                    }),
                }
                turn += 1;
            }
        }
    });
    diagnostics
}

async fn run_one(ctx: &SessionContext, t: &TestSpec, window: &Window, detail: Detail) -> Result<TestResult, String> {
    let sql = expand(&t.sql, window, &t.params)?;
    let df = ctx.sql(&sql).await.map_err(|e| clean(&e.to_string()))?;
    // The result read batch by batch, each gathered into columns and dropped: the query's own
    // columns (a reason and the lineage for each of millions of changes) are never all held beside
    // the population made of them.
    let mut stream = df.execute_stream().await.map_err(|e| clean(&e.to_string()))?;
    let mut gathered = Gathered::default();
    while let Some(batch) = futures::StreamExt::next(&mut stream).await {
        let batch = batch.map_err(|e| clean(&e.to_string()))?;
        gathered.add(&batch, detail)?;
    }
    drop(stream);
    gathered.finish(&t.id)
}

/// Sorts `idx`, indices of `ids` whose first `depth` bytes are the same, by id as text and then by
/// `tie`: by the next 8 bytes of each id as a big-endian number (an id that ends sooner padded
/// with zeros, so it sorts first, as text does), then each run of equal numbers by the 8 bytes
/// after those, down to groups small enough to compare as text. Equal numbers never order two ids
/// differently from text, so the result is the order of comparing ids as text.
fn sort_ids(
    ids: &arrow::array::StringArray,
    idx: &mut [u32],
    depth: usize,
    tie: &dyn Fn(usize, usize) -> std::cmp::Ordering,
) {
    let text = |k: u32| ids.value(k as usize).as_bytes();
    let by_text = |a: &u32, b: &u32| text(*a).cmp(text(*b)).then_with(|| tie(*a as usize, *b as usize));
    // Below this many, comparing ids as text is cheaper than another pass.
    const SMALL: usize = 32;
    if idx.len() <= SMALL || idx.iter().all(|&k| text(k).len() <= depth) {
        idx.sort_unstable_by(by_text);
        return;
    }
    let key = |k: u32| {
        let rest = text(k).get(depth..).unwrap_or_default();
        let mut key = [0u8; 8];
        let take = rest.len().min(8);
        key[..take].copy_from_slice(&rest[..take]);
        u64::from_be_bytes(key)
    };
    let mut keyed: Vec<(u64, u32)> = idx.iter().map(|&k| (key(k), k)).collect();
    keyed.sort_unstable_by_key(|&(key, _)| key);
    for (slot, (_, k)) in idx.iter_mut().zip(&keyed) {
        *slot = *k;
    }
    let mut start = 0;
    while start < keyed.len() {
        let first = keyed[start].0;
        let end = start + keyed[start..].iter().take_while(|(key, _)| *key == first).count();
        if end - start > 1 {
            sort_ids(ids, &mut idx[start..end], depth + 8, tie);
        }
        start = end;
    }
}

fn clean(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_string()
}

/// Every item of a test's result as columns, in the order of [`TestResult::items`]: what a run
/// records of each item. A passing item needs no [`Item`] of its own when only what is recorded is
/// kept ([`Detail::Recorded`]): at a large company nearly every item passes, and an `Item` each (a
/// `String` and a move of some 100 bytes every time the population is sorted) was most of the time
/// and memory of a change test.
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    /// Each item's id.
    pub ids: arrow::array::StringArray,
    /// Each item's status.
    pub status: Vec<Status>,
    /// Each item's lineage file: 0 when it has none, `k + 1` for [`TestResult::files`]`[k]`.
    pub file: Vec<u32>,
    /// Each item's line or record number in that file (0 when it has no lineage).
    pub row: Vec<u64>,
}

impl Eq for Population {}

impl Default for Population {
    fn default() -> Population {
        Population {
            ids: arrow::array::StringArray::from(Vec::<&str>::new()),
            status: Vec::new(),
            file: Vec::new(),
            row: Vec::new(),
        }
    }
}

impl Population {
    /// How many items.
    pub fn len(&self) -> usize {
        self.status.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.status.is_empty()
    }
}

/// A test's result as it is read, batch by batch: the population as columns, and an [`Item`] for
/// each item kept whole (every item, or only those that did not pass).
#[derive(Default)]
struct Gathered {
    ids: Vec<arrow::array::ArrayRef>,
    status: Vec<Status>,
    /// 0 for no lineage, `k + 1` for `files[k]` (in the order first seen).
    file: Vec<u32>,
    row: Vec<u64>,
    /// Each row's index in `items`, or `u32::MAX` when it keeps no item (a passing item, recorded).
    kept: Vec<u32>,
    items: Vec<Item>,
    files: Vec<String>,
}

impl Gathered {
    fn add(&mut self, batch: &RecordBatch, detail: Detail) -> Result<(), String> {
        use arrow::array::{Array, AsArray};
        let schema = batch.schema();
        let col = |name: &str| schema.index_of(name).ok().map(|i| Arc::clone(batch.column(i)));
        let (Some(item), Some(status), Some(reason)) = (col("item"), col("status"), col("reason")) else {
            return Err("the query must return the columns `item`, `status` and `reason`".into());
        };
        // An id read from a person column is a dictionary (as resolution writes them): as text.
        let item = match item.data_type() {
            arrow::datatypes::DataType::Dictionary(_, _) => {
                arrow::compute::cast(&item, &arrow::datatypes::DataType::Utf8).map_err(|e| e.to_string())?
            }
            _ => item,
        };
        let opts = FormatOptions::default().with_null("");
        // Text ids kept as the query returned them (no copy); anything else written as text, a
        // missing id as empty text.
        let ids: arrow::array::ArrayRef = match item.as_string_opt::<i32>() {
            Some(a) if a.null_count() == 0 => Arc::clone(&item),
            _ => {
                let fi = ArrayFormatter::try_new(item.as_ref(), &opts).map_err(|e| e.to_string())?;
                let text = item.as_string_opt::<i32>();
                let mut b = arrow::array::StringBuilder::with_capacity(batch.num_rows(), batch.num_rows() * 16);
                for r in 0..batch.num_rows() {
                    match text {
                        Some(a) if a.is_valid(r) => b.append_value(a.value(r)),
                        _ => b.append_value(fi.value(r).to_string()),
                    }
                }
                Arc::new(b.finish())
            }
        };
        let ids_text = ids.as_string::<i32>();
        let status = arrow::compute::cast(&status, &arrow::datatypes::DataType::Utf8).map_err(|e| e.to_string())?;
        let fs = status.as_string_opt::<i32>().ok_or("the column `status` is not text")?;
        let fr = ArrayFormatter::try_new(reason.as_ref(), &opts).map_err(|e| e.to_string())?;
        // Lineage read as values, not formatted: the file as an index into `files`, the row as a number.
        let evidence = col("_evidence")
            .map(|c| arrow::compute::cast(&c, &arrow::datatypes::DataType::Utf8))
            .transpose()
            .map_err(|e| e.to_string())?;
        let evidence = evidence.as_ref().and_then(|c| c.as_string_opt::<i32>());
        let rows = col("_row")
            .map(|c| arrow::compute::cast(&c, &arrow::datatypes::DataType::Int64))
            .transpose()
            .map_err(|e| e.to_string())?;
        let rows = rows
            .as_ref()
            .and_then(|c| c.as_primitive_opt::<arrow::datatypes::Int64Type>());
        let others: Vec<(String, ArrayFormatter<'_>)> = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| !matches!(f.name().as_str(), "item" | "status" | "reason" | "_evidence" | "_row"))
            .filter_map(|(i, f)| {
                ArrayFormatter::try_new(batch.column(i).as_ref(), &opts)
                    .ok()
                    .map(|a| (f.name().clone(), a))
            })
            .collect();
        let mut last_file: Option<u32> = None;
        let n = batch.num_rows();
        self.status.reserve(n);
        self.file.reserve(n);
        self.row.reserve(n);
        self.kept.reserve(n);
        for r in 0..n {
            let status = match if fs.is_valid(r) { fs.value(r) } else { "" } {
                "pass" => Status::Pass,
                "fail" => Status::Fail,
                "not_applicable" => Status::NotApplicable,
                other => {
                    return Err(format!(
                        "row {} has status `{other}`; a test returns pass, fail or not_applicable",
                        self.status.len() + 1
                    ));
                }
            };
            let file = evidence
                .filter(|e| e.is_valid(r) && !e.value(r).is_empty())
                .map(|e| e.value(r))
                .map(|f| {
                    let files = &mut self.files;
                    let hit = last_file.filter(|k| files.get(*k as usize).is_some_and(|x| x == f));
                    let k = hit.unwrap_or_else(|| match files.iter().position(|x| x == f) {
                        Some(k) => u32::try_from(k).unwrap_or(u32::MAX - 1),
                        None => {
                            files.push(f.to_string());
                            u32::try_from(files.len() - 1).unwrap_or(u32::MAX - 1)
                        }
                    });
                    last_file = Some(k);
                    k
                });
            let row = rows
                .filter(|a| a.is_valid(r))
                .and_then(|a| u64::try_from(a.value(r)).ok());
            let (file, row) = match file.zip(row) {
                Some((f, row)) => (f + 1, row),
                None => (0, 0),
            };
            self.status.push(status);
            self.file.push(file);
            self.row.push(row);
            if detail == Detail::Everything || status != Status::Pass {
                self.kept.push(u32::try_from(self.items.len()).unwrap_or(u32::MAX));
                self.items.push(Item {
                    item: ids_text.value(r).to_owned(),
                    status,
                    reason: fr.value(r).to_string(),
                    attributes: if status == Status::Pass {
                        Vec::new()
                    } else {
                        others
                            .iter()
                            .map(|(n, f)| (n.clone(), f.value(r).to_string()))
                            .collect()
                    },
                    from: None,
                });
            } else {
                self.kept.push(u32::MAX);
            }
        }
        self.ids.push(ids);
        Ok(())
    }

    /// The result: the files in hash order, whatever order the scan's partitions returned their
    /// rows in, and the items sorted by id, status, reason and lineage, so the same inputs give the
    /// same result.
    fn finish(self, id: &str) -> Result<TestResult, String> {
        let Gathered {
            ids,
            status,
            file,
            row,
            kept,
            items,
            mut files,
        } = self;
        let mut order: Vec<usize> = (0..files.len()).collect();
        order.sort_by(|a, b| files[*a].cmp(&files[*b]));
        let mut remap = vec![0u32; files.len()];
        for (new, old) in order.iter().enumerate() {
            remap[*old] = u32::try_from(new + 1).unwrap_or(u32::MAX);
        }
        let files: Vec<String> = order.iter().map(|k| std::mem::take(&mut files[*k])).collect();
        let file: Vec<u32> = file
            .into_iter()
            .map(|f| {
                if f == 0 {
                    0
                } else {
                    remap.get(f as usize - 1).copied().unwrap_or(f)
                }
            })
            .collect();
        // The ids joined into one array piece by piece, each piece let go of once it is copied:
        // the pieces and the joined array are never all held at once (at 50,000 people a change
        // test's ids are some 70 MB, and two tests finish side by side).
        let mut pieces = Vec::with_capacity(ids.len());
        for a in ids {
            let text = arrow::array::AsArray::as_string_opt::<i32>(a.as_ref())
                .ok_or("a test's ids are not text")?
                .clone();
            pieces.push(text);
        }
        let (len, bytes) = pieces.iter().fold((0usize, 0usize), |(n, b), a| {
            let o = a.value_offsets();
            let span = o.last().zip(o.first()).map_or(0, |(l, f)| l - f);
            (n + arrow::array::Array::len(a), b + usize::try_from(span).unwrap_or(0))
        });
        let mut joined = arrow::array::StringBuilder::with_capacity(len, bytes);
        for piece in pieces {
            joined.append_array(&piece).map_err(|e| e.to_string())?;
        }
        let all = joined.finish();
        // Sorted as indices (not items), ties broken by arrival so the order is total. A passing
        // item recorded without its reason sorts as one with an empty reason. Ids at a company
        // share long starts (`platform#PR-`): they are sorted 8 bytes at a time, as numbers
        // (`sort_ids`), and compared as text only within small groups.
        let n = status.len();
        let reason = |k: usize| match kept[k] {
            u32::MAX => "",
            i => items.get(i as usize).map_or("", |x| x.reason.as_str()),
        };
        let mut idx: Vec<u32> = (0..u32::try_from(n).map_err(|_| "the result has too many rows")?).collect();
        sort_ids(&all, &mut idx, 0, &|a, b| {
            status[a]
                .cmp(&status[b])
                .then_with(|| reason(a).cmp(reason(b)))
                .then((file[a], row[a]).cmp(&(file[b], row[b])))
                .then(a.cmp(&b))
        });
        let mut items: Vec<Option<Item>> = items.into_iter().map(Some).collect();
        let mut sorted_items = Vec::with_capacity(items.len());
        for &k in &idx {
            let k = k as usize;
            if let Some(mut item) = items.get_mut(kept[k] as usize).and_then(Option::take) {
                item.from = (file[k] != 0).then(|| (file[k] - 1, row[k]));
                sorted_items.push(item);
            }
        }
        // Each column put in order and the column as gathered let go of at once, so that at most
        // one column is held twice beside the ids (at 50,000 people a change test has 2.9 million
        // items: the columns as gathered, 17 bytes an item, were held until the result was made).
        drop((items, kept));
        let status: Vec<Status> = {
            let gathered = status;
            idx.iter().map(|&k| gathered[k as usize]).collect()
        };
        let file: Vec<u32> = {
            let gathered = file;
            idx.iter().map(|&k| gathered[k as usize]).collect()
        };
        let row: Vec<u64> = {
            let gathered = row;
            idx.iter().map(|&k| gathered[k as usize]).collect()
        };
        // The indices handed over to the take, not copied.
        let taken =
            arrow::compute::take(&all, &arrow::array::UInt32Array::from(idx), None).map_err(|e| e.to_string())?;
        drop(all);
        let population = Population {
            ids: arrow::array::AsArray::as_string::<i32>(&taken).clone(),
            status,
            file,
            row,
        };
        let failed = population.status.iter().filter(|s| **s == Status::Fail).count();
        let not_applicable = population
            .status
            .iter()
            .filter(|s| **s == Status::NotApplicable)
            .count();
        Ok(TestResult {
            id: id.to_string(),
            population: n,
            failed,
            not_applicable,
            items: sorted_items,
            files,
            rows: population,
        })
    }
}

/// Returns the first and last day of the quarters that end inside the window, up to the as-of date.
pub fn completed_quarters(start: NaiveDate, end: NaiveDate, as_of: NaiveDate) -> Vec<NaiveDate> {
    params::quarter_starts(start, end, as_of)
}

/// Returns the table definition a `TableData` was built for, if any.
pub fn table_of(data: &TableData) -> Option<&'static Table> {
    assure_schema::tables::table(&data.name)
}

/// The one table a test's query reads row by row, if it does: a selection and projection of a
/// single table and nothing else (no join, grouping, aggregate, window, ordering, limit, distinct,
/// subquery, unnesting, or function whose value depends on when it runs). Such a test's result over several files is the union
/// of its results over each file, so rows added by a new file can be tested on their own and added
/// to the recorded result. Decided from DataFusion's logical plan of the query as written (before
/// optimisation), with `tables` giving the schemas; `None` when the query is anything else or does
/// not plan.
pub fn row_local_table(tables: &[TableBatches], t: &TestSpec, window: &Window) -> Option<String> {
    row_local_tables(tables, std::slice::from_ref(t), window)
        .pop()
        .flatten()
}

/// [`row_local_table`] of each of `tests`, planned in one context.
pub fn row_local_tables(tables: &[TableBatches], tests: &[TestSpec], window: &Window) -> Vec<Option<String>> {
    let planner = Planner::new(tables);
    tests
        .iter()
        .map(|t| {
            let plan = planner.as_ref()?.plan(t, window)?;
            row_local_scan(&plan)
        })
        .collect()
}

/// The table a plan reads row by row, if it does (see [`row_local_table`]).
fn row_local_scan(plan: &datafusion::logical_expr::LogicalPlan) -> Option<String> {
    use datafusion::logical_expr::LogicalPlan;
    match plan {
        LogicalPlan::Projection(p) if p.expr.iter().all(row_wise) => row_local_scan(&p.input),
        LogicalPlan::Filter(f) if row_wise(&f.predicate) => row_local_scan(&f.input),
        LogicalPlan::SubqueryAlias(a) => row_local_scan(&a.input),
        LogicalPlan::TableScan(s) if s.filters.is_empty() && s.fetch.is_none() => {
            Some(s.table_name.table().to_string())
        }
        _ => None,
    }
}

/// Whether an expression is a fact of one row alone: columns, literals, operators and immutable
/// functions; no subquery, aggregate, window, outer reference or function of when it runs.
pub(crate) fn row_wise(e: &datafusion::logical_expr::Expr) -> bool {
    use datafusion::common::tree_node::TreeNode;
    use datafusion::logical_expr::{Expr, Volatility};
    fn allowed(e: &Expr) -> bool {
        match e {
            Expr::Alias(_)
            | Expr::Column(_)
            | Expr::Literal(..)
            | Expr::BinaryExpr(_)
            | Expr::Like(_)
            | Expr::SimilarTo(_)
            | Expr::Not(_)
            | Expr::IsNotNull(_)
            | Expr::IsNull(_)
            | Expr::IsTrue(_)
            | Expr::IsFalse(_)
            | Expr::IsUnknown(_)
            | Expr::IsNotTrue(_)
            | Expr::IsNotFalse(_)
            | Expr::IsNotUnknown(_)
            | Expr::Negative(_)
            | Expr::Between(_)
            | Expr::Case(_)
            | Expr::Cast(_)
            | Expr::TryCast(_)
            | Expr::InList(_) => true,
            // `now()` and `current_date` are stable, not immutable: they would differ between the
            // run that tested earlier rows and one testing new rows, or between a filter decided
            // before loading and the query.
            Expr::ScalarFunction(f) => f.func.signature().volatility == Volatility::Immutable,
            _ => false,
        }
    }
    !e.exists(|x| Ok(!allowed(x))).unwrap_or(true)
}

/// Plans queries over empty tables with the given schemas: what a query reads, without data.
struct Planner {
    rt: tokio::runtime::Runtime,
    ctx: SessionContext,
}

impl Planner {
    fn new(tables: &[TableBatches]) -> Option<Planner> {
        let rt = tokio::runtime::Builder::new_current_thread().build().ok()?;
        let ctx = SessionContext::new();
        udf::register(&ctx);
        for table in tables {
            let empty = datafusion::datasource::MemTable::try_new(Arc::clone(&table.schema), vec![Vec::new()]).ok()?;
            ctx.register_table(table.name.as_str(), Arc::new(empty)).ok()?;
        }
        Some(Planner { rt, ctx })
    }

    /// The logical plan of a test's query as written (before optimisation).
    fn plan(&self, t: &TestSpec, window: &Window) -> Option<datafusion::logical_expr::LogicalPlan> {
        let sql = expand(&t.sql, window, &t.params).ok()?;
        self.rt.block_on(self.ctx.state().create_logical_plan(&sql)).ok()
    }
}

/// The columns each table holds that a query reads.
pub type ColumnsRead = BTreeMap<String, std::collections::BTreeSet<String>>;

/// Each of a run's tests planned once over the tables' schemas, without data: what the columns
/// to read ([`Plans::columns_read`]) and the rows to read ([`RowFilter::of_plans`]) are both
/// decided from. Planning and optimising a query costs milliseconds, and before the evidence is
/// read nothing else runs: each test is planned there once, where it was planned twice.
#[derive(Debug)]
pub struct Plans {
    planned: Vec<Option<Planned>>,
}

/// One test's query as planned over empty tables.
#[derive(Debug)]
pub(crate) struct Planned {
    /// The optimised logical plan.
    pub(crate) optimized: datafusion::logical_expr::LogicalPlan,
    /// Whether the query as written (before the optimiser folds `now()` into the time it plans)
    /// gives the same answer whenever it runs: no function of the time or of chance.
    pub(crate) timeless: bool,
}

impl Plans {
    /// Plans each of `tests` over `tables`' schemas for the window, in one context. A test whose
    /// query does not plan has no plan: the callers then read what its definition says.
    pub fn new(tables: &[TableBatches], tests: &[TestSpec], window: &Window) -> Plans {
        use datafusion::common::tree_node::TreeNodeRecursion;
        let planner = Planner::new(tables);
        let planned = tests
            .iter()
            .map(|t| {
                let planner = planner.as_ref()?;
                let plan = planner.plan(t, window)?;
                let mut timed = false;
                let walked = plan.apply_with_subqueries(|n| {
                    timed |= n.expressions().iter().any(|e| !rows::timeless(e));
                    Ok(TreeNodeRecursion::Continue)
                });
                let timeless = walked.is_ok() && !timed;
                let optimized = planner.ctx.state().optimize(&plan).ok()?;
                Some(Planned { optimized, timeless })
            })
            .collect();
        Plans { planned }
    }

    /// Each test's plan, in the order the tests were given.
    pub(crate) fn planned(&self) -> impl Iterator<Item = Option<&Planned>> {
        self.planned.iter().map(Option::as_ref)
    }

    /// The columns of each table each test reads (see [`columns_read`]).
    pub fn columns_read(&self) -> Vec<Option<ColumnsRead>> {
        use datafusion::common::tree_node::TreeNodeRecursion;
        use datafusion::logical_expr::LogicalPlan;
        self.planned
            .iter()
            .map(|planned| {
                let plan = &planned.as_ref()?.optimized;
                let mut out = ColumnsRead::new();
                plan.apply_with_subqueries(|p| {
                    if let LogicalPlan::TableScan(s) = p {
                        let schema = s.source.schema();
                        let names: Vec<String> = match &s.projection {
                            Some(idx) => idx
                                .iter()
                                .filter_map(|i| schema.fields().get(*i).map(|f| f.name().clone()))
                                .collect(),
                            None => schema.fields().iter().map(|f| f.name().clone()).collect(),
                        };
                        let filtered: Vec<String> = s
                            .filters
                            .iter()
                            .flat_map(|f| f.column_refs().into_iter().map(|c| c.name.clone()).collect::<Vec<_>>())
                            .collect();
                        out.entry(s.table_name.table().to_string())
                            .or_default()
                            .extend(names.into_iter().chain(filtered));
                    }
                    Ok(TreeNodeRecursion::Continue)
                })
                .ok()?;
                Some(out)
            })
            .collect()
    }
}

/// The columns of each table each of `tests` reads, from DataFusion's optimised logical plan of its
/// query (the projection pushed into each table scan, and any filter pushed there; subqueries
/// included), with `tables` giving the schemas, planned in one context. `None` for a query that
/// does not plan: the caller then reads every column.
pub fn columns_read(tables: &[TableBatches], tests: &[TestSpec], window: &Window) -> Vec<Option<ColumnsRead>> {
    Plans::new(tables, tests, window).columns_read()
}

/// The tables each of `tests` scans (subqueries included), from its logical plan as written: what
/// a test's share of the items in flight is counted from. Not optimised, as only which tables are
/// scanned matters here. `None` for a query that does not plan.
fn tables_scanned(tables: &[TableBatches], tests: &[TestSpec], window: &Window) -> Vec<Option<Vec<String>>> {
    use datafusion::common::tree_node::TreeNodeRecursion;
    use datafusion::logical_expr::LogicalPlan;
    let planner = Planner::new(tables);
    tests
        .iter()
        .map(|t| {
            let plan = planner.as_ref()?.plan(t, window)?;
            let mut out = Vec::new();
            plan.apply_with_subqueries(|p| {
                if let LogicalPlan::TableScan(s) = p {
                    out.push(s.table_name.table().to_string());
                }
                Ok(TreeNodeRecursion::Continue)
            })
            .ok()?;
            Some(out)
        })
        .collect()
}

/// The columns identity resolution reads and rewrites, in any table that has them.
pub fn identity_columns() -> impl Iterator<Item = &'static str> {
    identity::identity_columns()
}
