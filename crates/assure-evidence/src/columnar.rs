//! The columnar copy of every imported file: its validated rows as typed Arrow columns in one
//! Parquet file, written once at import (in the same pass as validation) and read by every test run
//! instead of re-parsing the original. The original bytes stay the evidence; the columnar copy is
//! derived, recorded with its own BLAKE3 in the import's ledger entry, checked against that hash
//! whenever it is read, and can be rebuilt from the original at any time (`assure evidence rebuild`),
//! giving the same bytes.
//!
//! Layout: the table's columns in their canonical types (dates as `Date32`, instants as UTC
//! microseconds, lists as lists of text) and `_row` (the line or record number in the original).
//! `_source` and `_evidence` are the same for every row of a file, so they are added when the file is
//! read, from its ledger entry, instead of being stored.

use std::sync::Arc;

use crate::read::{Cell, Chunks};
use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Int64Builder, ListBuilder, RecordBatch, StringArray, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use assure_schema::tables::{ColumnType, Table};
use chrono::{DateTime, NaiveDate};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;

/// Rows per Parquet row group and per Arrow batch.
pub const BATCH_ROWS: usize = 65_536;

/// Bytes a text value is given room for when a row group's builders are made for its rows.
const TEXT_BYTES: usize = 16;

/// How new copies' columns are encoded and their rows numbered, recorded with each copy
/// (`ColumnarRef::layout`) so that `rebuild` writes the same bytes:
/// - 1: every column with a dictionary (copies recorded without a layout);
/// - 2: the same but for `_row` and the column that identifies a row ([`identifier`]), which are
///   unique per row and written plain (a dictionary of unique values only costs time to build and
///   space to store: a tenth of an import's time and 15% of the copies' size);
/// - 3: also the text columns that are nearly unique per row ([`NEARLY_UNIQUE`]) written plain, and
///   a CSV's rows numbered with the line each record starts on
///   ([`crate::read::Lines::Start`]; layouts 1 and 2 keep the `csv` reader's own count,
///   [`crate::read::Lines::AsRead`], which is a line early after a `\r\n` and names the first of
///   any blank lines before a record).
pub const LAYOUT: u32 = 3;

/// Text columns whose values are nearly all different (titles, ticket and serial numbers), written
/// without a dictionary from layout 3: building one costs time and stores them larger (on the
/// synthetic company, 5.7 MB of titles plain against 7.8 MB with a dictionary). Instants keep
/// theirs: written plain, each of the changes' instants took 2.5 times the space (5.4 MB against
/// 2.1 MB), compressing the larger pages took back the time the dictionaries had cost, and the
/// copies were 10% larger.
pub const NEARLY_UNIQUE: &[&str] = &["title", "ticket_id", "serial_number"];

/// How a CSV's rows are numbered in a copy of `layout`.
pub fn lines_of(layout: u32) -> crate::read::Lines {
    if layout >= 3 {
        crate::read::Lines::Start
    } else {
        crate::read::Lines::AsRead
    }
}

/// The layout as the ledger records it: absent for layout 1.
pub fn recorded_layout(layout: u32) -> Option<u32> {
    (layout != 1).then_some(layout)
}

/// The column that identifies a row of `table` on its own (the last of its key columns, such as
/// `event_id` or `change_id`; none for tables keyed by the whole row).
pub fn identifier(table: &Table) -> Option<&'static str> {
    assure_schema::tables::key_of(table.name).last().copied()
}

/// The writer's properties for `table` in `layout`; an error for a layout this build does not know.
fn properties(table: &Table, layout: u32) -> Result<WriterProperties, ColumnarError> {
    // Snappy: about as fast to write and read as no compression, and half the size.
    let mut props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(BATCH_ROWS))
        .set_created_by("assure".into());
    match layout {
        1 => {}
        2 => {
            for plain in std::iter::once("_row").chain(identifier(table)) {
                props = props.set_column_dictionary_enabled(ColumnPath::from(plain), false);
            }
        }
        3 => {
            let nearly_unique = table
                .columns
                .iter()
                .filter(|c| NEARLY_UNIQUE.contains(&c.name))
                .map(|c| c.name);
            for plain in std::iter::once("_row").chain(identifier(table)).chain(nearly_unique) {
                props = props.set_column_dictionary_enabled(ColumnPath::from(plain), false);
            }
        }
        other => return Err(ColumnarError::Layout(other)),
    }
    Ok(props.build())
}

/// The Arrow type of a canonical column in the columnar copy (the engine's, `ColumnType::engine_type`).
pub fn data_type(ty: ColumnType) -> DataType {
    ty.engine_type()
}

/// The schema of a table's columnar copy: its columns, then `_row`.
pub fn stored_schema(table: &Table) -> SchemaRef {
    let mut fields: Vec<Field> = table
        .columns
        .iter()
        .map(|c| Field::new(c.name, data_type(c.ty), true))
        .collect();
    fields.push(Field::new("_row", DataType::Int64, false));
    Arc::new(Schema::new(fields))
}

/// Why a columnar copy could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ColumnarError {
    /// A validated value did not convert (a bug: validation and conversion disagree).
    #[error("column `{column}`, row {row}: `{value}` is not a {expected}")]
    Value {
        /// The column.
        column: String,
        /// The row in the original file.
        row: u64,
        /// The value.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
    /// A layout this build does not write.
    #[error(
        "the copy's recorded layout {0} is not one this build of Assure writes; rebuild it with the Assure that imported it, or a newer one"
    )]
    Layout(u32),
    /// Arrow refused the batch.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Parquet refused the file.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

enum Builder {
    Text(StringBuilder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Bool(BooleanBuilder),
    Int(Int64Builder),
    List(ListBuilder<StringBuilder>),
}

impl Builder {
    /// A builder with room for `rows` values (text: `TEXT_BYTES` bytes a value), so a row group
    /// of known size is built without growing and copying its buffers on the way.
    fn new(ty: ColumnType, rows: usize) -> Builder {
        let text = || StringBuilder::with_capacity(rows, rows * TEXT_BYTES);
        match ty {
            ColumnType::Text => Builder::Text(text()),
            ColumnType::Date => Builder::Date(Date32Builder::with_capacity(rows)),
            ColumnType::Timestamp => Builder::Timestamp(TimestampMicrosecondBuilder::with_capacity(rows)),
            ColumnType::Bool => Builder::Bool(BooleanBuilder::with_capacity(rows)),
            ColumnType::Int => Builder::Int(Int64Builder::with_capacity(rows)),
            ColumnType::TextList => Builder::List(ListBuilder::with_capacity(text(), rows)),
        }
    }

    /// Reads a normalised value (as the validator emits it) in this column's type; `Err` names
    /// what it should have been.
    fn read<'v>(&self, value: &'v str) -> Result<Cell<'v>, &'static str> {
        Ok(match self {
            Builder::Text(_) | Builder::List(_) => Cell::Text(std::borrow::Cow::Borrowed(value)),
            Builder::Date(_) => Cell::Date(crate::read::date_days(value).ok_or("date")?),
            Builder::Timestamp(_) => Cell::Instant(match crate::read::rfc3339_micros(value) {
                Some(micros) => micros,
                None => DateTime::parse_from_rfc3339(value)
                    .map_err(|_| "timestamp")?
                    .timestamp_micros(),
            }),
            Builder::Bool(_) => Cell::Bool(value == "true"),
            Builder::Int(_) => Cell::Int(value.parse().map_err(|_| "whole number")?),
        })
    }

    /// Appends a value read in this column's type; `Err` names what it should have been.
    fn append(&mut self, value: Option<&Cell<'_>>) -> Result<(), &'static str> {
        match (self, value) {
            (Builder::Text(b), None) => b.append_null(),
            (Builder::Text(b), Some(Cell::Text(v))) => b.append_value(v),
            (Builder::Date(b), None) => b.append_null(),
            (Builder::Date(b), Some(Cell::Date(days))) => b.append_value(*days),
            (Builder::Timestamp(b), None) => b.append_null(),
            (Builder::Timestamp(b), Some(Cell::Instant(micros))) => b.append_value(*micros),
            (Builder::Bool(b), None) => b.append_null(),
            (Builder::Bool(b), Some(Cell::Bool(v))) => b.append_value(*v),
            (Builder::Int(b), None) => b.append_null(),
            (Builder::Int(b), Some(Cell::Int(n))) => b.append_value(*n),
            (Builder::List(b), None) => b.append(true),
            (Builder::List(b), Some(Cell::Text(v))) => {
                for part in v.split(';').filter(|p| !p.is_empty()) {
                    b.values().append_value(part);
                }
                b.append(true);
            }
            (Builder::Text(_) | Builder::List(_), Some(_)) => return Err("text"),
            (Builder::Date(_), Some(_)) => return Err("date"),
            (Builder::Timestamp(_), Some(_)) => return Err("timestamp"),
            (Builder::Bool(_), Some(_)) => return Err("boolean"),
            (Builder::Int(_), Some(_)) => return Err("whole number"),
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::List(b) => Arc::new(b.finish()),
        }
    }
}

/// A row group's rows being built: the table's columns, `_row`, and the days the dated columns cover.
struct Part {
    builders: Vec<Builder>,
    rows: Int64Builder,
    len: usize,
    covers: Option<Days>,
    error: Option<ColumnarError>,
}

/// The first and last day (since 1970) of the dates and instants seen.
type Days = (i32, i32);

/// The day (since 1970, UTC) of a date or an instant.
fn day_of(cell: &Cell<'_>) -> Option<i32> {
    match cell {
        Cell::Date(days) => Some(*days),
        Cell::Instant(micros) => i32::try_from(micros.div_euclid(86_400_000_000)).ok(),
        _ => None,
    }
}

/// Widens `covers` to take in the days `first` to `last`.
fn widen(covers: &mut Option<Days>, (first, last): Days) {
    *covers = Some(match *covers {
        None => (first, last),
        Some((f, l)) => (f.min(first), l.max(last)),
    });
}

/// A day since 1970 as `YYYY-MM-DD`, as coverage is recorded.
fn day_text(days: i32) -> String {
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::TimeDelta::days(i64::from(days))))
        .map_or_else(String::new, |d| d.format("%Y-%m-%d").to_string())
}

impl Part {
    /// A part with room for `rows` rows.
    fn new(table: &Table, rows: usize) -> Part {
        Part {
            builders: table.columns.iter().map(|c| Builder::new(c.ty, rows)).collect(),
            rows: Int64Builder::with_capacity(rows),
            len: 0,
            covers: None,
            error: None,
        }
    }

    /// Adds a row of normalised text values (as the validator emits them), reading each in its type.
    fn push_text<S: AsRef<str>>(&mut self, table: &Table, dated: &[usize], row: u64, values: &[Option<S>]) {
        if self.error.is_some() {
            return;
        }
        let mut cells = Vec::with_capacity(values.len());
        for (i, b) in self.builders.iter().enumerate() {
            let v = values.get(i).and_then(|v| v.as_ref()).map(AsRef::as_ref);
            match v.map(|v| b.read(v)).transpose() {
                Ok(cell) => cells.push(cell),
                Err(expected) => {
                    self.fail(table, i, row, v.unwrap_or_default().to_string(), expected);
                    return;
                }
            }
        }
        self.push(table, dated, row, &cells);
    }

    fn fail(&mut self, table: &Table, i: usize, row: u64, value: String, expected: &'static str) {
        self.error = Some(ColumnarError::Value {
            column: table.columns.get(i).map_or("?", |c| c.name).to_string(),
            row,
            value,
            expected,
        });
    }

    /// Adds a row of values read in their columns' types.
    fn push(&mut self, table: &Table, dated: &[usize], row: u64, values: &[Option<Cell<'_>>]) {
        if self.error.is_some() {
            return;
        }
        for (i, b) in self.builders.iter_mut().enumerate() {
            let v = values.get(i).and_then(Option::as_ref);
            if let Err(expected) = b.append(v) {
                let value = match v {
                    Some(Cell::Text(t)) => t.to_string(),
                    other => format!("{other:?}"),
                };
                self.fail(table, i, row, value, expected);
                return;
            }
        }
        for &i in dated {
            if let Some(day) = values.get(i).and_then(Option::as_ref).and_then(day_of) {
                widen(&mut self.covers, (day, day));
            }
        }
        self.rows.append_value(i64::try_from(row).unwrap_or(i64::MAX));
        self.len += 1;
    }
}

/// One row group of a columnar copy, encoded and compressed, ready to be appended to the file in
/// its place: encoding is most of the work of writing a copy, so row groups can be encoded on
/// several threads (with an [`Encoder`]) and appended in order (with [`Writer::append`]).
pub struct Encoded {
    chunks: Vec<ArrowColumnChunk>,
    rows: u64,
    covers: Option<Days>,
}

impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoded")
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

/// Encodes row groups of one table's columnar copy; shared by the threads that encode them.
#[derive(Clone)]
pub struct Encoder {
    table: &'static Table,
    schema: SchemaRef,
    factory: Arc<ArrowRowGroupWriterFactory>,
    dated: Arc<[usize]>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("table", &self.table.name)
            .finish_non_exhaustive()
    }
}

impl Encoder {
    fn encode_part(&self, index: usize, part: &mut Part) -> Result<Encoded, ColumnarError> {
        if let Some(e) = part.error.take() {
            return Err(e);
        }
        let mut arrays: Vec<ArrayRef> = part.builders.iter_mut().map(Builder::finish).collect();
        arrays.push(Arc::new(part.rows.finish()));
        let mut writers = self.factory.create_column_writers(index)?;
        let mut next = writers.iter_mut();
        for (field, array) in self.schema.fields().iter().zip(&arrays) {
            for leaf in compute_leaves(field, array)? {
                next.next()
                    .ok_or_else(|| parquet::errors::ParquetError::General("more leaves than column writers".into()))?
                    .write(&leaf)?;
            }
        }
        let chunks = writers
            .into_iter()
            .map(ArrowColumnWriter::close)
            .collect::<Result<Vec<_>, _>>()?;
        let rows = part.len as u64;
        part.len = 0;
        Ok(Encoded {
            chunks,
            rows,
            covers: part.covers.take(),
        })
    }
}

/// A row group being gathered on the thread that checks its rows ([`Encoder`]'s [`Chunks`]).
pub struct RowGroup {
    index: usize,
    part: Part,
}

impl std::fmt::Debug for RowGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowGroup")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// A CSV's chunks become row groups: each chunk's valid rows are built into Arrow columns and
/// encoded on the worker that checked them.
impl Chunks for Encoder {
    type Part = RowGroup;
    type Done = Result<Encoded, ColumnarError>;

    fn start(&self, index: usize, rows: usize) -> RowGroup {
        RowGroup {
            index,
            part: Part::new(self.table, rows.min(BATCH_ROWS)),
        }
    }

    fn push(&self, group: &mut RowGroup, row: u64, values: &[Option<Cell<'_>>]) {
        group.part.push(self.table, &self.dated, row, values);
    }

    fn finish(&self, mut group: RowGroup) -> Self::Done {
        self.encode_part(group.index, &mut group.part)
    }
}

/// Writes a table's rows as they are validated into an in-memory Parquet file, a row group at a
/// time, so memory holds one row group's rows, not the file. Rows are either pushed one by one
/// (encoded on this thread) or appended as row groups encoded elsewhere ([`Writer::encoder`]).
pub struct Writer {
    encoder: Encoder,
    part: Part,
    total: u64,
    groups: usize,
    file: SerializedFileWriter<Vec<u8>>,
    error: Option<ColumnarError>,
    /// The earliest and latest day seen in the columns holding dates or times.
    covers: Option<Days>,
    /// The layout written.
    layout: u32,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("table", &self.encoder.table.name)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// A writer for `table`, in the current [`LAYOUT`].
    pub fn new(table: &'static Table) -> Result<Writer, ColumnarError> {
        Writer::with_layout(table, LAYOUT)
    }

    /// A writer for `table` in `layout` (a rebuild writes the layout the copy was recorded with).
    pub fn with_layout(table: &'static Table, layout: u32) -> Result<Writer, ColumnarError> {
        let schema = stored_schema(table);
        let props = properties(table, layout)?;
        // The Arrow writer's own file writer (it records the Arrow schema in the file's metadata),
        // driven a row group at a time.
        let (file, factory) =
            ArrowWriter::try_new(Vec::new(), Arc::clone(&schema), Some(props))?.into_serialized_writer()?;
        Ok(Writer {
            encoder: Encoder {
                table,
                schema,
                factory: Arc::new(factory),
                dated: table
                    .columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| matches!(c.ty, ColumnType::Date | ColumnType::Timestamp))
                    .map(|(i, _)| i)
                    .collect(),
            },
            part: Part::new(table, 1024),
            total: 0,
            groups: 0,
            file,
            error: None,
            covers: None,
            layout,
        })
    }

    /// The layout this writer writes.
    pub fn layout(&self) -> u32 {
        self.layout
    }

    /// What encodes this copy's row groups on other threads, for a writer that has written none
    /// yet; hand the results to [`Writer::append`] in order.
    pub fn encoder(&self) -> Encoder {
        self.encoder.clone()
    }

    /// Adds one validated row (values in the table's column order) with its row number.
    pub fn push(&mut self, row: u64, values: &[Option<String>]) {
        if self.error.is_some() {
            return;
        }
        self.part
            .push_text(self.encoder.table, &self.encoder.dated, row, values);
        if self.part.error.is_some() || self.part.len >= BATCH_ROWS {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.part.len == 0 && self.part.error.is_none() {
            return;
        }
        let encoded = self.encoder.encode_part(self.groups, &mut self.part);
        self.append(encoded);
    }

    /// Appends the next row group, encoded elsewhere; the first error is the writer's.
    pub fn append(&mut self, encoded: Result<Encoded, ColumnarError>) {
        if self.error.is_some() {
            return;
        }
        let result = encoded.and_then(|e| {
            let mut group = self.file.next_row_group()?;
            for chunk in e.chunks {
                chunk.append_to_row_group(&mut group)?;
            }
            group.close()?;
            self.groups += 1;
            self.total += e.rows;
            if let Some(days) = e.covers {
                widen(&mut self.covers, days);
            }
            Ok(())
        });
        if let Err(e) = result {
            self.error = Some(e);
        }
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.total + self.part.len as u64
    }

    /// The earliest and latest day in the dated columns of the rows written so far.
    pub fn covers(&self) -> Option<[String; 2]> {
        let mut covers = self.covers;
        if let Some(days) = self.part.covers {
            widen(&mut covers, days);
        }
        covers.map(|(first, last)| [day_text(first), day_text(last)])
    }

    /// Finishes the file; returns its bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, ColumnarError> {
        self.flush();
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        Ok(self.file.into_inner()?)
    }
}

/// Reads a columnar copy back into batches, adding the constant lineage columns `_source` (the
/// connector) and `_evidence` (the original file's BLAKE3).
pub fn read(bytes: Vec<u8>, source: &str, evidence: &str) -> Result<Vec<RecordBatch>, ColumnarError> {
    read_columns(bytes, source, evidence, None)
}

/// [`read`] of only the named columns (`_row` among them when wanted), or of every column.
pub fn read_columns(
    bytes: Vec<u8>,
    source: &str,
    evidence: &str,
    columns: Option<&std::collections::BTreeSet<String>>,
) -> Result<Vec<RecordBatch>, ColumnarError> {
    read_columns_where(bytes, source, evidence, columns, None)
}

/// Which rows of a file to decode: the columns the predicate reads are decoded first, for every
/// row; the other columns only for the rows it keeps.
pub struct Predicate {
    /// The columns `keep` is given.
    pub columns: Vec<String>,
    /// Text columns among `columns` that `keep` is given as dictionaries (`Dictionary(Int32, Utf8)`)
    /// of the values the file stores for them, so a predicate can be evaluated once per distinct
    /// value instead of once per row; the rows kept still come back as text. (Person columns are
    /// always given, and come back, as dictionaries: see [`kept_as_dictionary`].)
    pub dictionary: Vec<String>,
    /// Which rows of a batch of those columns to keep (called from several threads at once: row
    /// groups are decoded side by side).
    pub keep: Box<dyn Fn(RecordBatch) -> arrow::array::BooleanArray + Send + Sync>,
}

impl std::fmt::Debug for Predicate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Predicate")
            .field("columns", &self.columns)
            .field("dictionary", &self.dictionary)
            .finish_non_exhaustive()
    }
}

/// [`read_columns`] of only the rows `predicate` keeps (every row without one): only the rows kept
/// are ever held beside the file's bytes.
pub fn read_columns_where(
    bytes: Vec<u8>,
    source: &str,
    evidence: &str,
    columns: Option<&std::collections::BTreeSet<String>>,
    predicate: Option<Predicate>,
) -> Result<Vec<RecordBatch>, ColumnarError> {
    read_verified(&mut std::io::Cursor::new(bytes), source, evidence, columns, predicate)
        .map_err(|e| ColumnarError::Parquet(parquet::errors::ParquetError::External(Box::new(e))))?
        .rows
}

/// A batch as read from a columnar copy, with `_source` and `_evidence` added.
fn with_lineage(batch: RecordBatch, source: &str, evidence: &str) -> Result<RecordBatch, ColumnarError> {
    {
        let n = batch.num_rows();
        let mut fields: Vec<Field> = batch.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        // One value for the whole file: a dictionary of one entry, 4 bytes a row.
        let constant = |v: &str| -> ArrayRef {
            Arc::new(arrow::array::DictionaryArray::<arrow::datatypes::Int32Type>::new(
                arrow::array::Int32Array::from(vec![0; n]),
                Arc::new(StringArray::from(vec![v])),
            ))
        };
        fields.push(Field::new("_source", assure_schema::tables::lineage_type(), false));
        fields.push(Field::new("_evidence", assure_schema::tables::lineage_type(), false));
        columns.push(constant(source));
        columns.push(constant(evidence));
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
    }
}

/// Whether a column is a person column (see [`assure_schema::tables::PERSON_COLUMNS`]) of text or
/// a list of text: such a column is read as a dictionary of the values the file stores for it, and
/// stays one (one key a row, each distinct address once per row group), so that identity
/// resolution maps each distinct value once rather than hashing every row's text, and a person
/// column is never materialised as text only to be replaced by keys.
pub fn kept_as_dictionary(f: &Field) -> bool {
    is_person_column(f.name())
        && match f.data_type() {
            DataType::Utf8 => true,
            DataType::List(item) => item.data_type() == &DataType::Utf8,
            _ => false,
        }
}

/// Whether `name` is a person column, firm or soft.
fn is_person_column(name: &str) -> bool {
    assure_schema::tables::PERSON_COLUMNS
        .iter()
        .chain(assure_schema::tables::SOFT_PERSON_COLUMNS)
        .any(|c| *c == name)
}

/// The type of text read as a dictionary of its values.
fn text_dictionary() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// `plain` (the file's own Arrow schema) with the text columns named in `names`, and every person
/// column ([`kept_as_dictionary`]), read as dictionaries of the values stored for them; `plain`
/// itself when there are none, or when the reader does not accept the hint.
fn with_dictionaries(
    plain: parquet::arrow::arrow_reader::ArrowReaderMetadata,
    names: &[String],
) -> parquet::arrow::arrow_reader::ArrowReaderMetadata {
    let schema = plain.schema();
    let hinted =
        |f: &Field| kept_as_dictionary(f) || (names.iter().any(|n| n == f.name()) && f.data_type() == &DataType::Utf8);
    if !schema.fields().iter().any(|f| hinted(f)) {
        return plain;
    }
    let fields: Vec<Arc<Field>> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::List(item) if hinted(f) => Arc::new(f.as_ref().clone().with_data_type(DataType::List(Arc::new(
                item.as_ref().clone().with_data_type(text_dictionary()),
            )))),
            _ if hinted(f) => Arc::new(f.as_ref().clone().with_data_type(text_dictionary())),
            _ => Arc::clone(f),
        })
        .collect();
    let hint = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    parquet::arrow::arrow_reader::ArrowReaderMetadata::try_new(
        Arc::clone(plain.metadata()),
        parquet::arrow::arrow_reader::ArrowReaderOptions::new().with_schema(hint),
    )
    .unwrap_or(plain)
}

/// `batch` with every column read as a dictionary of text only for a predicate (see
/// [`Predicate::dictionary`]) as text again: the type every reader of the copy expects. Person
/// columns stay dictionaries ([`kept_as_dictionary`]).
fn as_text(batch: RecordBatch) -> Result<RecordBatch, ColumnarError> {
    let is_dictionary = |t: &DataType| matches!(t, DataType::Dictionary(_, v) if v.as_ref() == &DataType::Utf8);
    let cast_back = |f: &Field| is_dictionary(f.data_type()) && !is_person_column(f.name());
    if !batch.schema().fields().iter().any(|f| cast_back(f)) {
        return Ok(batch);
    }
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        if cast_back(f) {
            fields.push(f.as_ref().clone().with_data_type(DataType::Utf8));
            columns.push(arrow::compute::cast(c, &DataType::Utf8)?);
        } else {
            fields.push(f.as_ref().clone());
            columns.push(Arc::clone(c));
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, batch.schema().metadata().clone())),
        columns,
    )?)
}

/// The error for a part of a copy the Parquet reader failed on (it panicked).
fn refused(part: &str) -> ColumnarError {
    ColumnarError::Parquet(parquet::errors::ParquetError::General(format!(
        "the Parquet reader failed on {part} (it is malformed in a way the reader does not handle)"
    )))
}

/// Something a columnar copy can be read from in order: a file, or bytes already in memory.
pub trait ReadSeek: std::io::Read + std::io::Seek + Send {}

impl<T: std::io::Read + std::io::Seek + Send> ReadSeek for T {}

/// What [`read_verified`] read: the BLAKE3 of every byte of the file, and its rows (or why they
/// could not be decoded). Use the rows only when the hash is the recorded one.
#[derive(Debug)]
pub struct Verified {
    /// The BLAKE3 (hex) of the whole file as read.
    pub blake3: String,
    /// The rows decoded from exactly the bytes hashed.
    pub rows: Result<Vec<RecordBatch>, ColumnarError>,
}

/// Bytes of one stretch of a file, served to the Parquet reader at their offsets in the file; a
/// request outside the stretch is refused (the reader was asked for bytes that were not hashed).
struct Stretch {
    start: u64,
    bytes: bytes::Bytes,
    file_len: u64,
}

impl parquet::file::reader::Length for Stretch {
    fn len(&self) -> u64 {
        self.file_len
    }
}

impl parquet::file::reader::ChunkReader for Stretch {
    type T = bytes::buf::Reader<bytes::Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let from = self.offset(start, 0)?;
        Ok(bytes::Buf::reader(self.bytes.slice(from..)))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        let from = self.offset(start, length)?;
        Ok(self.bytes.slice(from..from + length))
    }
}

impl Stretch {
    fn offset(&self, start: u64, length: usize) -> parquet::errors::Result<usize> {
        let end = self.start + self.bytes.len() as u64;
        if start < self.start || start.saturating_add(length as u64) > end {
            return Err(parquet::errors::ParquetError::General(format!(
                "bytes {start}..{} lie outside the row group's {}..{end}",
                start.saturating_add(length as u64),
                self.start
            )));
        }
        usize::try_from(start - self.start).map_err(|e| parquet::errors::ParquetError::General(e.to_string()))
    }
}

/// Reads a columnar copy front to back once, hashing every byte and decoding each row group from
/// the very bytes just hashed, so only one row group's bytes are held at a time (a file of 20
/// million events is never in memory whole) and the rows used are the rows the hash covers. The
/// footer is read first to find the row groups, and compared at the end with the footer hashed.
/// Decoding stops at the first error, but the file is still hashed to its end; a file that
/// changes length while it is read is an I/O error.
pub fn read_verified(
    file: &mut dyn ReadSeek,
    source: &str,
    evidence: &str,
    columns: Option<&std::collections::BTreeSet<String>>,
    predicate: Option<Predicate>,
) -> std::io::Result<Verified> {
    use std::io::SeekFrom;
    let file_len = file.seek(SeekFrom::End(0))?;
    // The footer: the metadata's length and the magic, after the metadata.
    let footer = (|| -> std::io::Result<Option<(u64, Vec<u8>)>> {
        if file_len < 12 {
            return Ok(None);
        }
        file.seek(SeekFrom::End(-8))?;
        let mut end = [0u8; 8];
        file.read_exact(&mut end)?;
        let [a, b, c, d, m0, m1, m2, m3] = end;
        if [m0, m1, m2, m3] != *b"PAR1" {
            return Ok(None);
        }
        let meta_len = u64::from(u32::from_le_bytes([a, b, c, d]));
        let Some(start) = file_len.checked_sub(meta_len + 8).filter(|s| *s >= 4) else {
            return Ok(None);
        };
        file.seek(SeekFrom::Start(start))?;
        let mut tail = vec![0u8; usize::try_from(meta_len + 8).unwrap_or(0)];
        file.read_exact(&mut tail)?;
        Ok(Some((start, tail)))
    })()?;
    let dictionary: Vec<String> = match &predicate {
        Some(p) => p.dictionary.clone(),
        None => Vec::new(),
    };
    let plan = footer.as_ref().map_or_else(
        || {
            Err(ColumnarError::Parquet(parquet::errors::ParquetError::General(
                "not a Parquet file".into(),
            )))
        },
        |(_, tail)| {
            // The reader library may panic on a malformed footer (a copy altered on disk is read
            // before its hash is known): that is this file's error, never the process's end.
            std::panic::catch_unwind(|| {
                let meta = parquet::file::metadata::ParquetMetaDataReader::decode_metadata(
                    tail.get(..tail.len().saturating_sub(8)).unwrap_or_default(),
                )?;
                let plain = parquet::arrow::arrow_reader::ArrowReaderMetadata::try_new(
                    Arc::new(meta),
                    parquet::arrow::arrow_reader::ArrowReaderOptions::new(),
                )?;
                Ok(with_dictionaries(plain, &dictionary))
            })
            .unwrap_or_else(|_| Err(refused("the footer")))
        },
    );
    let keep = predicate.map(|p| (p.columns, Arc::new(p.keep)));
    file.seek(SeekFrom::Start(0))?;
    let mut hasher = blake3::Hasher::new();
    let mut pos = 0u64;
    let take = |file: &mut dyn ReadSeek, upto: u64, hasher: &mut blake3::Hasher, pos: &mut u64| {
        let mut buf = vec![0u8; usize::try_from(upto.saturating_sub(*pos)).unwrap_or(0)];
        file.read_exact(&mut buf)?;
        hasher.update(&buf);
        *pos = upto;
        std::io::Result::Ok(buf)
    };
    let mut rows: Result<Vec<RecordBatch>, ColumnarError> = plan
        .as_ref()
        .map(|_| Vec::new())
        .map_err(|e| ColumnarError::Parquet(parquet::errors::ParquetError::General(e.to_string())));
    if let Ok(meta) = &plan {
        let footer_start = footer.as_ref().map_or(file_len, |(s, _)| *s);
        // Decoding one row group from the very bytes hashed. A panic in the reader library (as for
        // the footer) stops decoding, not the hashing.
        let decode = |i: usize, stretch: Stretch| -> Result<Vec<RecordBatch>, ColumnarError> {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(
                || -> Result<Vec<RecordBatch>, ColumnarError> {
                    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(stretch, meta.clone())
                        .with_row_groups(vec![i])
                        .with_batch_size(BATCH_ROWS);
                    let builder = match columns {
                        Some(names) => {
                            let mask = parquet::arrow::ProjectionMask::columns(
                                builder.parquet_schema(),
                                names.iter().map(String::as_str),
                            );
                            builder.with_projection(mask)
                        }
                        None => builder,
                    };
                    let builder = match &keep {
                        Some((names, keep)) => {
                            let mask = parquet::arrow::ProjectionMask::columns(
                                builder.parquet_schema(),
                                names.iter().map(String::as_str),
                            );
                            let keep = Arc::clone(keep);
                            let filter =
                                parquet::arrow::arrow_reader::ArrowPredicateFn::new(mask, move |b| Ok((*keep)(b)));
                            builder
                                .with_row_filter(parquet::arrow::arrow_reader::RowFilter::new(vec![Box::new(filter)]))
                        }
                        None => builder,
                    };
                    let mut out = Vec::new();
                    for batch in builder.build()? {
                        out.push(with_lineage(as_text(batch?)?, source, evidence)?);
                    }
                    Ok(out)
                },
            ))
            .unwrap_or_else(|_| Err(refused(&format!("row group {i}"))))
        };
        let groups = meta.metadata().row_groups();
        // This thread reads and hashes the file in order; up to one worker per core decodes the
        // row groups already hashed, each at most one group behind, so at most two groups' bytes
        // per core are held at once. A file of one row group is decoded here.
        let workers = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(groups.len())
            .max(1);
        std::thread::scope(|scope| -> std::io::Result<()> {
            let (jobs, results) = if workers > 1 {
                let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<(usize, Stretch)>(workers);
                let job_rx = std::sync::Mutex::new(job_rx);
                let (res_tx, res_rx) = std::sync::mpsc::channel();
                let (job_rx, decode) = (Arc::new(job_rx), &decode);
                for _ in 0..workers {
                    let (job_rx, res_tx) = (Arc::clone(&job_rx), res_tx.clone());
                    scope.spawn(move || {
                        loop {
                            let job = match job_rx.lock() {
                                Ok(rx) => rx.recv(),
                                Err(_) => return,
                            };
                            let Ok((i, stretch)) = job else { return };
                            if res_tx.send((i, decode(i, stretch))).is_err() {
                                return;
                            }
                        }
                    });
                }
                (Some(job_tx), Some(res_rx))
            } else {
                (None, None)
            };
            // Decoded groups by index, put in order at the end; the first error (by group) wins.
            let mut decoded: std::collections::BTreeMap<usize, Result<Vec<RecordBatch>, ColumnarError>> =
                std::collections::BTreeMap::new();
            let mut failed = false;
            for (i, group) in groups.iter().enumerate() {
                // Each column chunk's stretch, from the footer as written. Not `byte_range()`: it
                // asserts (panics) on a negative offset or length, and a footer altered on disk can
                // hold either.
                let ranges: Option<Vec<(u64, u64)>> = group
                    .columns()
                    .iter()
                    .map(|c| {
                        let s = u64::try_from(c.dictionary_page_offset().unwrap_or(c.data_page_offset())).ok()?;
                        let l = u64::try_from(c.compressed_size()).ok()?;
                        Some((s, s.saturating_add(l)))
                    })
                    .collect();
                let Some(ranges) = ranges else {
                    decoded.insert(
                        i,
                        Err(ColumnarError::Parquet(parquet::errors::ParquetError::General(format!(
                            "row group {i} has a column with a negative byte offset or length"
                        )))),
                    );
                    break;
                };
                let start = ranges.iter().map(|(s, _)| *s).min().unwrap_or(pos);
                let end = ranges.iter().map(|(_, e)| *e).max().unwrap_or(pos);
                if start < pos || end > footer_start || start > end {
                    decoded.insert(
                        i,
                        Err(ColumnarError::Parquet(parquet::errors::ParquetError::General(format!(
                            "row group {i} lies at bytes {start}..{end}, not after byte {pos} and before the footer"
                        )))),
                    );
                    break;
                }
                take(file, start, &mut hasher, &mut pos)?;
                let bytes = bytes::Bytes::from(take(file, end, &mut hasher, &mut pos)?);
                if let Some(results) = &results {
                    for (k, r) in results.try_iter() {
                        failed |= r.is_err();
                        decoded.insert(k, r);
                    }
                }
                // After an error the rest is hashed, not decoded.
                if failed {
                    continue;
                }
                let stretch = Stretch { start, bytes, file_len };
                match &jobs {
                    Some(jobs) => {
                        if jobs.send((i, stretch)).is_err() {
                            failed = true;
                        }
                    }
                    None => {
                        let r = decode(i, stretch);
                        failed |= r.is_err();
                        decoded.insert(i, r);
                    }
                }
            }
            drop(jobs);
            if let Some(results) = results {
                decoded.extend(results);
            }
            if let Ok(out) = &mut rows {
                for (_, r) in decoded {
                    match r {
                        Ok(batches) => out.extend(batches),
                        Err(e) => {
                            rows = Err(e);
                            break;
                        }
                    }
                }
            }
            Ok(())
        })?;
    }
    // The rest of the file (the footer), hashed, and the footer the row groups were found with
    // compared with the footer hashed.
    let rest = take(file, file_len, &mut hasher, &mut pos)?;
    if let Some((_, tail)) = &footer
        && !rest.ends_with(tail)
        && rows.is_ok()
    {
        rows = Err(ColumnarError::Parquet(parquet::errors::ParquetError::General(
            "the file's footer changed while it was read".into(),
        )));
    }
    Ok(Verified {
        blake3: hasher.finalize().to_hex().to_string(),
        rows,
    })
}
