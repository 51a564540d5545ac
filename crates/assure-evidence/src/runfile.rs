//! A recorded test run as one Parquet file: every item of every test as a row, and the run's record
//! (its figures, conclusions, inputs, and each test's exceptions and not-applicable items with their
//! attributes) as JSON in the file's metadata.
//!
//! A run of a large company records millions of items, nearly all of them passing. Kept as JSON,
//! the record of 2.6 M items was 198 MB, and every later run parsed all of it to reuse or carry
//! outcomes it never looked inside. In this layout a reader that needs the figures and the
//! exceptions reads only the footer ([`RunFile::parse`]); one that needs the whole population reads
//! the rows ([`RunFile::into_full`]); and a run that reuses an earlier outcome copies that test's
//! rows without turning them into records ([`encode`]). The file is still one blob, named and
//! hashed by one ledger entry, so verification and the auditor's package are unchanged; and the
//! rows are an ordinary table an auditor can query (`SELECT status, count(*) FROM 'run.parquet'
//! GROUP BY status`) to re-perform every figure.
//!
//! Rows: `test`, `item`, `status` (`pass`, `fail`, `not_applicable`), `reason`, `evidence` (the
//! BLAKE3 of the file the item was read from) and `row` (its row in that file), in the order the
//! record lists the tests, each test's rows in its own row groups. Metadata: `assure.run` (the
//! record, each test's `items` holding only the items that did not pass) and `assure.groups`
//! (each test's first row group and count).
//!
//! Records written before this layout are JSON with every item inline; [`RunFile::parse`] reads
//! both.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StringArray, StringBuilder, UInt64Array, UInt64Builder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use assure_schema::results::{ItemRecord, ItemStatus, RunRecord, TestOutcome};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::arrow_writer::{ArrowRowGroupWriterFactory, compute_leaves};
use parquet::arrow::{ArrowSchemaConverter, add_encoded_arrow_schema_to_metadata};
use parquet::basic::{Compression, Encoding};
use parquet::column::writer::ColumnCloseResult;
use parquet::file::metadata::{KeyValue, ParquetMetaDataReader};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::reader::ChunkReader;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;

/// The metadata key of the record.
pub const RECORD_KEY: &str = "assure.run";
/// The metadata key of each test's row groups.
pub const GROUPS_KEY: &str = "assure.groups";
/// The metadata key of the tests whose rows are not in item order (an outcome extended by a new
/// file's rows has them after the earlier rows): readers put their items in order.
pub const UNORDERED_KEY: &str = "assure.unordered";
/// The record format of runs kept in this layout.
pub const FORMAT: u32 = 2;
/// Rows per row group.
const GROUP_ROWS: usize = 65_536;

/// Why a run file does not read or write.
#[derive(Debug, thiserror::Error)]
pub enum RunFileError {
    /// The record's JSON does not parse.
    #[error("its record does not read ({0})")]
    Json(#[from] serde_json::Error),
    /// Parquet refused the file.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Arrow refused a batch.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The rows were let go of ([`RunFile::release_rows`]) and then asked for.
    #[error("its rows were let go of before they were copied; run `assure test --full`")]
    Released,
    /// A Parquet file without a record in its metadata.
    #[error("it is a Parquet file without a run record (no `{RECORD_KEY}` in its metadata)")]
    NoRecord,
    /// A test's encoded rows could not be kept on disk until the run is recorded.
    #[error("the rows of test `{test}` could not be kept in {} until the run is recorded ({source}); check that the directory is writable and its disk has room", dir.display())]
    Spool {
        /// The test.
        test: String,
        /// The spool directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The rows and the record disagree.
    #[error("test `{test}`: {what}")]
    Disagree {
        /// The test.
        test: String,
        /// How.
        what: String,
    },
}

/// Each test's row groups: (first, count).
type Groups = BTreeMap<String, (usize, usize)>;

/// A recorded run as read from its blob.
#[derive(Debug, Clone)]
pub enum RunFile {
    /// A record written before the columnar layout: every item inline.
    Json(RunRecord),
    /// The columnar layout.
    Parquet {
        /// The file.
        bytes: bytes::Bytes,
        /// The record, each test's `items` holding only the items that did not pass.
        record: RunRecord,
        /// Each test's row groups.
        groups: Groups,
        /// The tests whose rows are not in item order.
        unordered: std::collections::BTreeSet<String>,
    },
}

/// Whether `bytes` are a run in the columnar layout (otherwise they are JSON).
pub fn is_columnar(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PAR1")
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("test", DataType::Utf8, false),
        Field::new("item", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("evidence", DataType::Utf8, true),
        Field::new("row", DataType::UInt64, true),
    ]))
}

fn status_of(text: &str) -> Option<ItemStatus> {
    match text {
        "pass" => Some(ItemStatus::Pass),
        "fail" => Some(ItemStatus::Fail),
        "not_applicable" => Some(ItemStatus::NotApplicable),
        _ => None,
    }
}

/// `t` with only the items that did not pass.
fn light(t: &TestOutcome) -> TestOutcome {
    t.with_items(|i| i.status != ItemStatus::Pass)
}

/// Whether two outcomes are the same apart from passing items left out of one of them: every field,
/// the items that did not pass, and the counts.
pub fn same_outcome(a: &TestOutcome, b: &TestOutcome) -> bool {
    let not_passing = |t: &TestOutcome| {
        t.items
            .iter()
            .filter(|i| i.status != ItemStatus::Pass)
            .cloned()
            .collect::<Vec<_>>()
    };
    a.id == b.id
        && a.title == b.title
        && a.controls == b.controls
        && a.population == b.population
        && a.exceptions == b.exceptions
        && a.not_applicable == b.not_applicable
        && a.conclusion == b.conclusion
        && a.note == b.note
        && a.key == b.key
        && a.files == b.files
        && not_passing(a) == not_passing(b)
}

impl RunFile {
    /// Reads a recorded run: for the columnar layout only its footer (the record and the groups);
    /// the rows stay in `bytes` until asked for.
    pub fn parse(bytes: Vec<u8>) -> Result<RunFile, RunFileError> {
        if !is_columnar(&bytes) {
            return Ok(RunFile::Json(serde_json::from_slice(&bytes)?));
        }
        let bytes = bytes::Bytes::from(bytes);
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes.clone())?;
        let kv = builder.metadata().file_metadata().key_value_metadata();
        let value = |key: &str| {
            kv.and_then(|kv| kv.iter().find(|x| x.key == key))
                .and_then(|x| x.value.clone())
        };
        let record: RunRecord = serde_json::from_str(&value(RECORD_KEY).ok_or(RunFileError::NoRecord)?)?;
        let groups: Groups = serde_json::from_str(&value(GROUPS_KEY).unwrap_or_else(|| "{}".into()))?;
        let unordered = serde_json::from_str(&value(UNORDERED_KEY).unwrap_or_else(|| "[]".into()))?;
        let count = builder.metadata().num_row_groups();
        if let Some((test, _)) = groups.iter().find(|(_, (first, n))| first + n > count) {
            return Err(RunFileError::Disagree {
                test: test.clone(),
                what: format!("its rows are said to be in row groups the file does not have ({count} in all)"),
            });
        }
        Ok(RunFile::Parquet {
            bytes,
            record,
            groups,
            unordered,
        })
    }

    /// The record: for the columnar layout, each test with only the items that did not pass.
    pub fn record(&self) -> &RunRecord {
        match self {
            RunFile::Json(r) | RunFile::Parquet { record: r, .. } => r,
        }
    }

    /// The record without the rows (see [`RunFile::record`]).
    pub fn into_record(self) -> RunRecord {
        match self {
            RunFile::Json(r) | RunFile::Parquet { record: r, .. } => r,
        }
    }

    /// Lets go of the file's rows and keeps its record, for a caller that will copy none of them (a
    /// run file at 50,000 people is some 80 MB, otherwise held while the next run loads its
    /// evidence). Rows asked for afterwards are [`RunFileError::Released`], never an empty test.
    pub fn release_rows(&mut self) {
        if let RunFile::Parquet { bytes, .. } = self {
            *bytes = bytes::Bytes::new();
        }
    }

    /// Whether the record holds every item (a JSON record does; a columnar one keeps the passing
    /// items in its rows).
    pub fn is_whole(&self) -> bool {
        matches!(self, RunFile::Json(_))
    }

    /// The rows of test `id`, in order.
    fn rows(&self, id: &str) -> Result<Vec<RecordBatch>, RunFileError> {
        match self {
            RunFile::Json(r) => match r.tests.iter().find(|t| t.id == id) {
                Some(t) => Ok(vec![batch_of(t)?]),
                None => Ok(Vec::new()),
            },
            RunFile::Parquet { bytes, .. } if bytes.is_empty() => Err(RunFileError::Released),
            RunFile::Parquet { bytes, groups, .. } => {
                let Some(&(first, n)) = groups.get(id) else {
                    return Ok(Vec::new());
                };
                if n == 0 {
                    return Ok(Vec::new());
                }
                let reader = ParquetRecordBatchReaderBuilder::try_new(bytes.clone())?
                    .with_row_groups((first..first + n).collect())
                    .with_batch_size(GROUP_ROWS)
                    .build()?;
                Ok(reader.collect::<Result<Vec<_>, _>>()?)
            }
        }
    }

    /// The whole record, every item of every test in its place.
    pub fn into_full(self) -> Result<RunRecord, RunFileError> {
        let file = match self {
            RunFile::Json(r) => return Ok(r),
            f @ RunFile::Parquet { .. } => f,
        };
        let mut tests = Vec::with_capacity(file.record().tests.len());
        let unordered = match &file {
            RunFile::Parquet { unordered, .. } => unordered.clone(),
            RunFile::Json(_) => std::collections::BTreeSet::new(),
        };
        for t in &file.record().tests {
            tests.push(whole(t, &file.rows(&t.id)?, unordered.contains(&t.id))?);
        }
        let mut record = file.into_record();
        record.tests = tests;
        Ok(record)
    }
}

/// The outcome `t` (its items the ones that did not pass) with every item, from its rows.
fn whole(t: &TestOutcome, batches: &[RecordBatch], unordered: bool) -> Result<TestOutcome, RunFileError> {
    let disagree = |what: String| RunFileError::Disagree {
        test: t.id.clone(),
        what,
    };
    let mut out = light(t);
    // The items that did not pass, found by item and status: a test extended by a new file's rows
    // has them after the earlier rows, while its record lists every exception in item order.
    let mut others: Vec<Option<ItemRecord>> = std::mem::take(&mut out.items).into_iter().map(Some).collect();
    let mut pending: std::collections::HashMap<(&str, ItemStatus), std::collections::VecDeque<usize>> =
        std::collections::HashMap::new();
    let keys: Vec<(String, ItemStatus)> = others.iter().flatten().map(|o| (o.item.clone(), o.status)).collect();
    for (k, (item, status)) in keys.iter().enumerate() {
        pending.entry((item.as_str(), *status)).or_default().push_back(k);
    }
    let mut items = Vec::with_capacity(t.population);
    let index: BTreeMap<&str, u32> = t
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.as_str(), u32::try_from(i).unwrap_or(u32::MAX)))
        .collect();
    for b in batches {
        let text = |i: usize| b.column(i).as_any().downcast_ref::<StringArray>();
        let (Some(item), Some(status), Some(reason), Some(evidence), Some(row)) = (
            text(1),
            text(2),
            text(3),
            text(4),
            b.column(5).as_any().downcast_ref::<UInt64Array>(),
        ) else {
            return Err(disagree("its rows do not have the columns of a run file".into()));
        };
        for r in 0..b.num_rows() {
            let st = status_of(status.value(r)).ok_or_else(|| {
                disagree(format!(
                    "row status `{}` is not pass, fail or not_applicable",
                    status.value(r)
                ))
            })?;
            if st == ItemStatus::Pass {
                let from = if evidence.is_null(r) || row.is_null(r) {
                    None
                } else {
                    let f = index.get(evidence.value(r)).copied().ok_or_else(|| {
                        disagree(format!(
                            "item `{}` names the file {}, which the record does not list",
                            item.value(r),
                            evidence.value(r)
                        ))
                    })?;
                    Some((f, row.value(r)))
                };
                items.push(ItemRecord {
                    item: item.value(r).to_string(),
                    status: st,
                    reason: reason.value(r).to_string(),
                    attributes: Vec::new(),
                    from,
                });
            } else {
                let found = pending
                    .get_mut(&(item.value(r), st))
                    .and_then(std::collections::VecDeque::pop_front)
                    .and_then(|k| others.get_mut(k).and_then(Option::take));
                match found {
                    Some(o) => items.push(o),
                    None => {
                        return Err(disagree(format!(
                            "its rows and its record disagree about item `{}`",
                            item.value(r)
                        )));
                    }
                }
            }
        }
    }
    if others.iter().any(Option::is_some) || items.len() != t.population {
        return Err(disagree(format!(
            "the record counts {} items and its rows hold {}",
            t.population,
            items.len()
        )));
    }
    // An extended outcome's items in item order, as a run over every file gives them.
    let order = |a: &ItemRecord, b: &ItemRecord| (&a.item, a.status, &a.reason).cmp(&(&b.item, b.status, &b.reason));
    if unordered && !items.is_sorted_by(|a, b| order(a, b).is_le()) {
        items.sort_by(order);
    }
    out.items = items;
    Ok(out)
}

/// The rows of one outcome held in memory.
fn batch_of(t: &TestOutcome) -> Result<RecordBatch, RunFileError> {
    batch_of_items(t, &t.items)
}

/// Writes the rows of one outcome held in memory, a row group at a time (so a test of millions of
/// items never has all its rows built at once beside its items).
fn write_items<W: Write + Send>(
    writer: &mut SerializedFileWriter<W>,
    factory: &ArrowRowGroupWriterFactory,
    schema: &SchemaRef,
    t: &TestOutcome,
) -> Result<(), RunFileError> {
    for part in t.items.chunks(GROUP_ROWS) {
        write_rows(writer, factory, schema, &[batch_of_items(t, part)?])?;
    }
    Ok(())
}

/// The rows of `items`, items of the outcome `t`.
fn batch_of_items(t: &TestOutcome, items: &[ItemRecord]) -> Result<RecordBatch, RunFileError> {
    let n = items.len();
    let bytes: usize = items.iter().map(|i| i.item.len()).sum();
    let mut test = StringBuilder::with_capacity(n, n * t.id.len());
    let mut item = StringBuilder::with_capacity(n, bytes);
    let mut status = StringBuilder::with_capacity(n, n * 4);
    let mut reason = StringBuilder::new();
    let mut evidence = StringBuilder::new();
    let mut row = UInt64Builder::with_capacity(n);
    for i in items {
        test.append_value(&t.id);
        item.append_value(&i.item);
        status.append_value(i.status.as_str());
        reason.append_value(&i.reason);
        match i.from.and_then(|(f, r)| Some((t.files.get(f as usize)?, r))) {
            Some((f, r)) => {
                evidence.append_value(f);
                row.append_value(r);
            }
            None => {
                evidence.append_null();
                row.append_null();
            }
        }
    }
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(test.finish()),
            Arc::new(item.finish()),
            Arc::new(status.finish()),
            Arc::new(reason.finish()),
            Arc::new(evidence.finish()),
            Arc::new(row.finish()),
        ],
    )?)
}

/// Writes `record` in the columnar layout. Each test's rows come from its items, or, for a test
/// named in `copied`, from the rows of the earlier run file given there (the record then holds
/// only that outcome's items that did not pass, as [`RunFile::record`] gives them): its row groups
/// are copied as they are encoded, without decoding them. The same record and rows give the same
/// bytes.
pub fn encode(record: &RunRecord, copied: &BTreeMap<String, &RunFile>) -> Result<Vec<u8>, RunFileError> {
    encode_extended(record, copied, &BTreeMap::new())
}

/// [`encode`], where a test named in `added` also has the rows of that outcome (every item of the
/// rows a new file added) after the rows copied for it from `copied`. The record's outcome is the
/// sum of the two, its items the ones that did not pass.
pub fn encode_extended(
    record: &RunRecord,
    copied: &BTreeMap<String, &RunFile>,
    added: &BTreeMap<String, TestOutcome>,
) -> Result<Vec<u8>, RunFileError> {
    let mut rows: BTreeMap<String, Vec<Rows<'_>>> = BTreeMap::new();
    for t in &record.tests {
        if let Some(f) = copied.get(&t.id) {
            rows.entry(t.id.clone()).or_default().push(Rows::Earlier(f));
        } else if added.contains_key(&t.id) {
            return Err(RunFileError::Disagree {
                test: t.id.clone(),
                what: "rows are added to an outcome with no earlier run to copy it from".into(),
            });
        }
        if let Some(a) = added.get(&t.id) {
            rows.entry(t.id.clone()).or_default().push(Rows::Items(a));
        }
    }
    encode_rows(record, &rows)
}

/// Where some of a test's rows come from when a run is written (see [`encode_rows`]).
#[derive(Debug, Clone, Copy)]
pub enum Rows<'a> {
    /// The test's rows in an earlier run file: copied as encoded when the layout is the same.
    Earlier(&'a RunFile),
    /// Rows encoded when the test ran ([`encode_outcome`]): copied as encoded.
    Encoded(&'a EncodedRows),
    /// Every item of this outcome, encoded now.
    Items(&'a TestOutcome),
}

/// One test's rows, encoded as row groups of the run file's layout as soon as the test ran, so a
/// run of millions of passing items holds them compressed (a few bytes each) rather than as
/// records until the run is written. The outcome then keeps only the items that did not pass.
#[derive(Debug, Clone)]
pub struct EncodedRows {
    /// A Parquet file of the run file's layout holding only these rows.
    held: Held,
    /// Its size in bytes.
    size: u64,
    /// The test.
    test: String,
    /// How many rows.
    rows: u64,
}

/// Where a test's encoded rows are kept until the run is written.
#[derive(Debug, Clone)]
enum Held {
    /// In memory.
    Memory(bytes::Bytes),
    /// In an unnamed file of a spool directory ([`crate::store::spool_unnamed`]), gone when the
    /// last handle is dropped.
    Spooled(Arc<std::fs::File>),
}

impl EncodedRows {
    /// How many rows.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The test whose rows these are.
    pub fn test(&self) -> &str {
        &self.test
    }

    /// Bytes held, in memory or on disk.
    pub fn len(&self) -> u64 {
        self.size
    }

    /// Whether no bytes are held (never: an empty Parquet file still has its footer).
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Whether the rows are kept on disk rather than in memory.
    pub fn is_spooled(&self) -> bool {
        matches!(self.held, Held::Spooled(_))
    }

    /// The encoded bytes (a Parquet file of the run file's layout), read back when kept on disk.
    pub fn to_bytes(&self) -> Result<bytes::Bytes, RunFileError> {
        match &self.held {
            Held::Memory(b) => Ok(b.clone()),
            Held::Spooled(f) => Ok(f.get_bytes(0, usize::try_from(self.size).unwrap_or(usize::MAX))?),
        }
    }

    /// Copies these rows' row groups into `writer` as encoded; the rows copied, or `None` when
    /// their layout is not `layout`.
    fn copy_into<W: Write + Send>(
        &self,
        writer: &mut SerializedFileWriter<W>,
        layout: &parquet::schema::types::SchemaDescriptor,
    ) -> Result<Option<u64>, RunFileError> {
        match &self.held {
            Held::Memory(b) => copy_groups(writer, layout, b, 0, usize::MAX),
            Held::Spooled(f) => copy_groups(writer, layout, &**f, 0, usize::MAX),
        }
    }
}

/// Encodes every item of `t` as the rows [`encode_rows`] copies for it (see [`EncodedRows`]).
pub fn encode_outcome(t: &TestOutcome) -> Result<EncodedRows, RunFileError> {
    let (mut writer, factory, schema, _) = new_writer(Vec::new())?;
    write_items(&mut writer, &factory, &schema, t)?;
    let bytes = writer.into_inner()?;
    Ok(EncodedRows {
        size: bytes.len() as u64,
        held: Held::Memory(bytes::Bytes::from(bytes)),
        test: t.id.clone(),
        rows: t.items.len() as u64,
    })
}

/// Every item of a test's result as columns, in item order (see [`encode_population`]).
#[derive(Debug, Clone, Copy)]
pub struct Population<'a> {
    /// Each item's id.
    pub ids: &'a StringArray,
    /// Each item's status.
    pub status: &'a [ItemStatus],
    /// Each item's lineage file: 0 when it has none, `k + 1` for the outcome's `files[k]`.
    pub file: &'a [u32],
    /// Each item's row in that file.
    pub row: &'a [u64],
}

/// [`encode_outcome`] of an outcome whose `items` are only the items that did not pass, with every
/// item in `population`: the passing items are written from those columns (with no reason, as a
/// run records them), the others with their reasons, in the population's order. The same rows
/// give the same bytes as [`encode_outcome`] of the outcome holding every item.
///
/// With a `spool` directory the rows are written straight into an unnamed file there
/// ([`crate::store::spool_unnamed`]) and kept on disk until the run is written, so a run does not
/// hold every finished test's rows in memory while the other tests run; without one they are kept
/// in memory.
pub fn encode_population(
    t: &TestOutcome,
    population: Population<'_>,
    spool: Option<&Path>,
) -> Result<EncodedRows, RunFileError> {
    let rows = population.status.len() as u64;
    let (held, size) = match spool {
        None => {
            let bytes = write_population(new_writer(Vec::new())?, t, population)?.into_inner()?;
            let size = bytes.len() as u64;
            (Held::Memory(bytes::Bytes::from(bytes)), size)
        }
        Some(dir) => {
            let spool_error = |source| RunFileError::Spool {
                test: t.id.clone(),
                dir: dir.to_path_buf(),
                source,
            };
            let file = crate::store::spool_unnamed(dir).map_err(spool_error)?;
            let mut file = write_population(new_writer(file)?, t, population)?.into_inner()?;
            let size = std::io::Seek::stream_position(&mut file).map_err(spool_error)?;
            (Held::Spooled(Arc::new(file)), size)
        }
    };
    Ok(EncodedRows {
        held,
        size,
        test: t.id.clone(),
        rows,
    })
}

/// Writes the rows of [`encode_population`] with `writer`; the writer, its footer not written.
fn write_population<W: Write + Send>(
    (mut writer, factory, schema, _): Writer<W>,
    t: &TestOutcome,
    population: Population<'_>,
) -> Result<SerializedFileWriter<W>, RunFileError> {
    let n = population.status.len();
    let disagree = |what: String| RunFileError::Disagree {
        test: t.id.clone(),
        what,
    };
    if population.ids.len() != n || population.file.len() != n || population.row.len() != n {
        return Err(disagree(format!(
            "its population's columns have different lengths ({} ids, {n} statuses, {} files, {} rows)",
            population.ids.len(),
            population.file.len(),
            population.row.len()
        )));
    }
    let mut others = t.items.iter();
    let mut offset = 0;
    while offset < n {
        let len = GROUP_ROWS.min(n - offset);
        let range = offset..offset + len;
        let mut reason = StringBuilder::new();
        let mut evidence = StringBuilder::with_capacity(len, len * 64);
        let mut row = UInt64Builder::with_capacity(len);
        for k in range.clone() {
            let status = population.status[k];
            if status == ItemStatus::Pass {
                reason.append_value("");
            } else {
                let Some(i) = others.next() else {
                    return Err(disagree(format!(
                        "its item `{}` did not pass in the population, but the outcome does not list it",
                        population.ids.value(k)
                    )));
                };
                if i.item != population.ids.value(k) || i.status != status {
                    return Err(disagree(format!(
                        "the outcome lists `{}` ({}) where the population has `{}` ({})",
                        i.item,
                        i.status.as_str(),
                        population.ids.value(k),
                        status.as_str()
                    )));
                }
                reason.append_value(&i.reason);
            }
            match population.file[k].checked_sub(1).and_then(|f| t.files.get(f as usize)) {
                Some(f) => {
                    evidence.append_value(f);
                    row.append_value(population.row[k]);
                }
                None => {
                    evidence.append_null();
                    row.append_null();
                }
            }
        }
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(StringArray::from_iter_values(std::iter::repeat_n(t.id.as_str(), len))),
                Arc::new(population.ids.slice(offset, len)),
                Arc::new(StringArray::from_iter_values(
                    population.status[range].iter().map(|s| s.as_str()),
                )),
                Arc::new(reason.finish()),
                Arc::new(evidence.finish()),
                Arc::new(row.finish()),
            ],
        )?;
        write_rows(&mut writer, &factory, &schema, &[batch])?;
        offset += len;
    }
    if let Some(i) = others.next() {
        return Err(disagree(format!(
            "its item `{}` did not pass in the outcome, but is not in the population as such",
            i.item
        )));
    }
    Ok(writer)
}

/// The writer of a run file, the factory of its column writers, and its Arrow and Parquet schemas.
type Writer<W> = (
    SerializedFileWriter<W>,
    ArrowRowGroupWriterFactory,
    SchemaRef,
    parquet::schema::types::SchemaDescriptor,
);

fn new_writer<W: Write + Send>(out: W) -> Result<Writer<W>, RunFileError> {
    let schema = schema();
    let mut props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(GROUP_ROWS))
        .set_created_by("assure".into())
        // No page indexes: copied row groups carry none, and readers read whole row groups. No
        // statistics either: nothing reads a run file by ranges of values, and a minimum and a
        // maximum of every column cost two comparisons of every value written (ids are long).
        .set_statistics_enabled(EnabledStatistics::None)
        .set_offset_index_disabled(true)
        // An item's id and its row are (nearly) unique: a dictionary of them is all cost (every
        // value hashed and compared to be interned) and no saving. A test's items are sorted by
        // id, so each id is stored as what it shares with the one before and the rest (ids such
        // as `platform#PR-1041` share most of their text), and rows as differences, bit-packed:
        // at 20,000 people the two columns were 32 MB of a 33 MB run file written plain, and so
        // most of what was compressed, copied into the store and hashed again by the next run.
        // Readers read every encoding, and row groups copied from a run file written plain keep
        // theirs.
        .set_column_dictionary_enabled(ColumnPath::from("item"), false)
        .set_column_encoding(ColumnPath::from("item"), Encoding::DELTA_BYTE_ARRAY)
        .set_column_dictionary_enabled(ColumnPath::from("row"), false)
        .set_column_encoding(ColumnPath::from("row"), Encoding::DELTA_BINARY_PACKED)
        .build();
    add_encoded_arrow_schema_to_metadata(&schema, &mut props);
    let parquet_schema = ArrowSchemaConverter::new()
        .with_coerce_types(props.coerce_types())
        .convert(&schema)?;
    let writer = SerializedFileWriter::new(out, parquet_schema.root_schema_ptr(), Arc::new(props))?;
    let factory = ArrowRowGroupWriterFactory::new(&writer, Arc::clone(&schema));
    Ok((writer, factory, schema, parquet_schema))
}

/// Copies row groups `first..first + n` of the Parquet file `bytes` as encoded, when its layout is
/// `layout`; returns the rows copied, or `None` (nothing written) when the layout differs.
fn copy_groups<W: Write + Send, R: ChunkReader>(
    writer: &mut SerializedFileWriter<W>,
    layout: &parquet::schema::types::SchemaDescriptor,
    bytes: &R,
    first: usize,
    n: usize,
) -> Result<Option<u64>, RunFileError> {
    let meta = ParquetMetaDataReader::new().parse_and_finish(bytes)?;
    if meta.file_metadata().schema_descr().root_schema() != layout.root_schema() {
        return Ok(None);
    }
    let mut rows = 0;
    for g in meta.row_groups().iter().skip(first).take(n) {
        let mut out = writer.next_row_group()?;
        for c in g.columns() {
            out.append_column(
                bytes,
                ColumnCloseResult {
                    bytes_written: u64::try_from(c.compressed_size()).unwrap_or(0),
                    rows_written: u64::try_from(g.num_rows()).unwrap_or(0),
                    metadata: c.clone(),
                    bloom_filter: None,
                    column_index: None,
                    offset_index: None,
                },
            )?;
        }
        out.close()?;
        rows += u64::try_from(g.num_rows()).unwrap_or(0);
    }
    Ok(Some(rows))
}

/// Writes `record` in the columnar layout, each test's rows from the sources `rows` lists for it,
/// in that order, or, for a test it does not name, from the test's items. A test whose rows come
/// from more than one source is marked as not in item order (its readers sort it). The rows must
/// add up to each test's population. The same record and rows give the same bytes.
pub fn encode_rows(record: &RunRecord, rows: &BTreeMap<String, Vec<Rows<'_>>>) -> Result<Vec<u8>, RunFileError> {
    let (mut writer, factory, schema, parquet_schema) = new_writer(Vec::new())?;
    let mut groups = Groups::new();
    let mut unordered: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    let mut tests = Vec::with_capacity(record.tests.len());
    for t in &record.tests {
        let first = writer.flushed_row_groups().len();
        let sources = rows.get(&t.id).map_or(&[][..], Vec::as_slice);
        if sources.len() > 1 {
            unordered.insert(t.id.as_str());
        }
        // Rows from sources other than an earlier run, to say how many the earlier run held.
        let mut added: u64 = 0;
        let mut written: u64 = 0;
        if sources.is_empty() {
            write_items(&mut writer, &factory, &schema, t)?;
            written = t.items.len() as u64;
        }
        for source in sources {
            match *source {
                Rows::Earlier(
                    file @ RunFile::Parquet {
                        bytes,
                        groups: from_groups,
                        unordered: u,
                        ..
                    },
                ) => {
                    if bytes.is_empty() {
                        return Err(RunFileError::Released);
                    }
                    if u.contains(&t.id) {
                        unordered.insert(t.id.as_str());
                    }
                    let (from, n) = from_groups.get(&t.id).copied().unwrap_or((0, 0));
                    match copy_groups(&mut writer, &parquet_schema, bytes, from, n)? {
                        Some(k) => written += k,
                        None => {
                            let batches = file.rows(&t.id)?;
                            written += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
                            write_rows(&mut writer, &factory, &schema, &batches)?;
                        }
                    }
                }
                Rows::Earlier(file) => {
                    let batches = file.rows(&t.id)?;
                    written += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
                    write_rows(&mut writer, &factory, &schema, &batches)?;
                }
                Rows::Encoded(e) => {
                    if e.test != t.id {
                        return Err(RunFileError::Disagree {
                            test: t.id.clone(),
                            what: format!("the rows given for it were encoded for test `{}`", e.test),
                        });
                    }
                    match e.copy_into(&mut writer, &parquet_schema)? {
                        Some(k) => {
                            written += k;
                            added += k;
                        }
                        None => {
                            return Err(RunFileError::Disagree {
                                test: t.id.clone(),
                                what: "the rows encoded for it are not in the run file's layout".into(),
                            });
                        }
                    }
                }
                Rows::Items(a) => {
                    write_items(&mut writer, &factory, &schema, a)?;
                    written += a.items.len() as u64;
                    added += a.items.len() as u64;
                }
            }
        }
        if written != t.population as u64 {
            let earlier = written.saturating_sub(added);
            return Err(RunFileError::Disagree {
                test: t.id.clone(),
                what: if sources.iter().any(|s| matches!(s, Rows::Earlier(_))) {
                    format!(
                        "the earlier run it comes from holds {earlier} rows for a population of {}",
                        t.population
                    )
                } else {
                    format!("its rows number {written} for a population of {}", t.population)
                },
            });
        }
        groups.insert(t.id.clone(), (first, writer.flushed_row_groups().len() - first));
        tests.push(light(t));
    }
    let light_record = RunRecord {
        format: FORMAT,
        tests,
        ..record.clone_without_tests()
    };
    writer.append_key_value_metadata(KeyValue::new(RECORD_KEY.into(), serde_json::to_string(&light_record)?));
    writer.append_key_value_metadata(KeyValue::new(GROUPS_KEY.into(), serde_json::to_string(&groups)?));
    if !unordered.is_empty() {
        writer.append_key_value_metadata(KeyValue::new(UNORDERED_KEY.into(), serde_json::to_string(&unordered)?));
    }
    Ok(writer.into_inner()?)
}

/// Encodes `batches` as row groups of at most [`GROUP_ROWS`] rows.
fn write_rows<W: Write + Send>(
    writer: &mut SerializedFileWriter<W>,
    factory: &ArrowRowGroupWriterFactory,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<(), RunFileError> {
    for b in batches {
        let mut offset = 0;
        while offset < b.num_rows() {
            let part = b.slice(offset, GROUP_ROWS.min(b.num_rows() - offset));
            offset += part.num_rows();
            let mut columns = factory.create_column_writers(writer.flushed_row_groups().len())?;
            for ((w, field), array) in columns.iter_mut().zip(schema.fields()).zip(part.columns()) {
                for leaf in compute_leaves(field, array)? {
                    w.write(&leaf)?;
                }
            }
            let mut group = writer.next_row_group()?;
            for w in columns {
                w.close()?.append_to_row_group(&mut group)?;
            }
            group.close()?;
        }
    }
    Ok(())
}
