//! Turning validated, normalised rows into Arrow record batches.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Int64Builder, ListBuilder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema};
use assure_schema::tables::{ColumnType, Table};
use chrono::{DateTime, NaiveDate};

/// One row: its values in the table's column order, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Values as normalised text; `None` is null.
    pub values: Vec<Option<String>>,
    /// The connector that read it (`_source`).
    pub source: String,
    /// The BLAKE3 of the file it came from (`_evidence`).
    pub evidence: String,
    /// Its line or record number in that file (`_row`).
    pub row: u64,
}

/// A table's rows, ready for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableData {
    /// The table name the SQL uses.
    pub name: String,
    /// Column names and types.
    pub columns: Vec<(String, ColumnType)>,
    /// The rows.
    pub rows: Vec<Row>,
}

impl TableData {
    /// Creates an empty table with a canonical table's columns.
    pub fn for_table(t: &Table) -> TableData {
        TableData {
            name: t.name.to_string(),
            columns: t.columns.iter().map(|c| (c.name.to_string(), c.ty)).collect(),
            rows: Vec::new(),
        }
    }
}

/// Builds the `project_policies` table the policy-acceptance test joins against.
pub fn project_policies(policies: &[(String, String, Option<NaiveDate>, String)]) -> TableData {
    TableData {
        name: "project_policies".into(),
        columns: vec![
            ("policy_id".into(), ColumnType::Text),
            ("version".into(), ColumnType::Text),
            ("approved_on".into(), ColumnType::Date),
            ("applies_to".into(), ColumnType::Text),
        ],
        rows: policies
            .iter()
            .map(|(id, v, d, a)| Row {
                values: vec![
                    Some(id.clone()),
                    Some(v.clone()),
                    d.map(|d| d.to_string()),
                    Some(a.clone()),
                ],
                source: "project".into(),
                evidence: String::new(),
                row: 0,
            })
            .collect(),
    }
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

fn data_type(ty: ColumnType) -> DataType {
    ty.engine_type()
}

/// Converts a table to one record batch with the lineage columns.
pub fn to_batch(t: &TableData) -> Result<RecordBatch, String> {
    let mut fields: Vec<Field> = t
        .columns
        .iter()
        .map(|(n, ty)| Field::new(n, data_type(*ty), true))
        .collect();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (i, (name, ty)) in t.columns.iter().enumerate() {
        let cell = |r: &Row| r.values.get(i).cloned().flatten();
        let bad = |r: &Row, v: &str| {
            format!(
                "column `{name}`, row {} of {}: `{v}` is not a {}",
                r.row,
                r.evidence,
                ty.label()
            )
        };
        let array: ArrayRef = match ty {
            ColumnType::Text => {
                let mut b = StringBuilder::new();
                for r in &t.rows {
                    b.append_option(cell(r));
                }
                Arc::new(b.finish())
            }
            ColumnType::Date => {
                let mut b = Date32Builder::new();
                for r in &t.rows {
                    match cell(r) {
                        None => b.append_null(),
                        Some(v) => {
                            let d = NaiveDate::parse_from_str(&v, "%Y-%m-%d").map_err(|_| bad(r, &v))?;
                            b.append_value(i32::try_from((d - epoch()).num_days()).map_err(|_| bad(r, &v))?);
                        }
                    }
                }
                Arc::new(b.finish())
            }
            ColumnType::Timestamp => {
                let mut b = TimestampMicrosecondBuilder::new();
                for r in &t.rows {
                    match cell(r) {
                        None => b.append_null(),
                        Some(v) => b.append_value(
                            DateTime::parse_from_rfc3339(&v)
                                .map_err(|_| bad(r, &v))?
                                .timestamp_micros(),
                        ),
                    }
                }
                Arc::new(b.finish())
            }
            ColumnType::Bool => {
                let mut b = BooleanBuilder::new();
                for r in &t.rows {
                    b.append_option(cell(r).map(|v| v == "true"));
                }
                Arc::new(b.finish())
            }
            ColumnType::Int => {
                let mut b = Int64Builder::new();
                for r in &t.rows {
                    match cell(r) {
                        None => b.append_null(),
                        Some(v) => b.append_value(v.parse().map_err(|_| bad(r, &v))?),
                    }
                }
                Arc::new(b.finish())
            }
            ColumnType::TextList => {
                let mut b = ListBuilder::new(StringBuilder::new());
                for r in &t.rows {
                    for part in cell(r).unwrap_or_default().split(';').filter(|p| !p.is_empty()) {
                        b.values().append_value(part);
                    }
                    b.append(true);
                }
                Arc::new(b.finish())
            }
        };
        arrays.push(array);
    }
    let mut src = arrow::array::StringDictionaryBuilder::<arrow::datatypes::Int32Type>::new();
    let mut ev = arrow::array::StringDictionaryBuilder::<arrow::datatypes::Int32Type>::new();
    let mut row = Int64Builder::new();
    for r in &t.rows {
        src.append_value(&r.source);
        ev.append_value(&r.evidence);
        row.append_value(i64::try_from(r.row).unwrap_or(i64::MAX));
    }
    fields.push(Field::new("_source", assure_schema::tables::lineage_type(), false));
    fields.push(Field::new("_evidence", assure_schema::tables::lineage_type(), false));
    fields.push(Field::new("_row", DataType::Int64, false));
    arrays.push(Arc::new(src.finish()));
    arrays.push(Arc::new(ev.finish()));
    arrays.push(Arc::new(row.finish()));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| e.to_string())
}
