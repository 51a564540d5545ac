//! Reading a columnar copy the way a run does: hashed front to back as its row groups are decoded.

use std::io::Cursor;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use assure_evidence::columnar::{self, Predicate};

/// A columnar copy of `n` events (several row groups), with every 1000th row a sign-in.
fn events(n: u64) -> Vec<u8> {
    let table = assure_schema::tables::table("events").unwrap();
    let mut w = columnar::Writer::new(table).unwrap();
    for i in 0..n {
        let action = if i % 1000 == 0 { "login" } else { "object_read" };
        let values: Vec<Option<String>> = vec![
            Some(format!("ev-{i}")),
            Some("2026-03-01T10:00:00Z".into()),
            Some("aws".into()),
            Some(format!("user{}@example.com", i % 97)),
            Some(action.into()),
            Some(format!("raw:{action}")),
            None,
            Some("success".into()),
            Some("true".into()),
            None,
        ];
        w.push(i + 2, &values);
    }
    w.finish().unwrap()
}

fn ids(batches: &[RecordBatch]) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name("event_id").unwrap().as_string::<i32>().clone();
            (0..a.len()).map(move |i| a.value(i).to_string())
        })
        .collect()
}

fn sign_ins() -> Predicate {
    Predicate {
        columns: vec!["action".into()],
        keep: Box::new(|b: RecordBatch| {
            let a = b.column(0).as_string::<i32>();
            (0..a.len())
                .map(|i| Some(a.value(i) == "login"))
                .collect::<BooleanArray>()
        }),
    }
}

/// The file as the Parquet library reads it whole, on its own: the oracle.
fn plainly(bytes: &[u8]) -> Vec<RecordBatch> {
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes.to_vec()))
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn names(b: &RecordBatch) -> Vec<String> {
    b.schema().fields().iter().map(|f| f.name().clone()).collect()
}

fn row_numbers(batches: &[RecordBatch]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b
                .column_by_name("_row")
                .unwrap()
                .as_primitive::<arrow::datatypes::Int64Type>()
                .clone();
            (0..a.len()).map(move |i| a.value(i))
        })
        .collect()
}

#[test]
fn a_copy_read_in_order_gives_the_rows_and_hash_of_the_whole_file() {
    let bytes = events(200_000);
    let whole = plainly(&bytes);
    let read = columnar::read_verified(&mut Cursor::new(bytes.clone()), "csv", "e1", None, None).unwrap();
    assert_eq!(read.blake3, blake3::hash(&bytes).to_hex().to_string());
    let rows = read.rows.unwrap();
    assert_eq!(ids(&rows).len(), 200_000);
    assert_eq!(ids(&rows), ids(&whole));
    assert_eq!(row_numbers(&rows), row_numbers(&whole));
    let mut expected = names(&whole[0]);
    expected.extend(["_source".to_string(), "_evidence".to_string()]);
    assert_eq!(names(&rows[0]), expected, "the stored columns, then the lineage");

    // Only some columns, and only the rows a predicate keeps, across every row group. The oracle:
    // every 1000th event, picked from the whole file.
    let signed_in: Vec<String> = ids(&whole).into_iter().step_by(1000).collect();
    let wanted: std::collections::BTreeSet<String> = ["event_id", "action", "_row"].map(String::from).into();
    let read = columnar::read_verified(
        &mut Cursor::new(bytes.clone()),
        "csv",
        "e1",
        Some(&wanted),
        Some(sign_ins()),
    )
    .unwrap();
    assert_eq!(read.blake3, blake3::hash(&bytes).to_hex().to_string());
    let rows = read.rows.unwrap();
    assert_eq!(ids(&rows).len(), 200);
    assert_eq!(ids(&rows), signed_in);
    assert_eq!(
        names(&rows[0]),
        ["event_id", "action", "_row", "_source", "_evidence"],
        "only the columns asked for, then the lineage"
    );
    // The in-memory reader is the same reading.
    let filtered = columnar::read_columns_where(bytes.clone(), "csv", "e1", Some(&wanted), Some(sign_ins())).unwrap();
    assert_eq!(ids(&filtered), signed_in);
}

#[test]
fn a_changed_byte_in_a_row_group_changes_the_hash_read() {
    let mut bytes = events(100_000);
    let original = blake3::hash(&bytes).to_hex().to_string();
    // A byte inside the second row group's data.
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    let read = columnar::read_verified(&mut Cursor::new(bytes.clone()), "csv", "e1", None, None).unwrap();
    assert_ne!(read.blake3, original);
    assert_eq!(
        read.blake3,
        blake3::hash(&bytes).to_hex().to_string(),
        "every byte was hashed"
    );
}

#[test]
fn a_cut_or_foreign_file_is_hashed_whole_and_gives_no_rows() {
    let bytes = events(100_000);
    let cut = bytes[..bytes.len() - 100].to_vec();
    let read = columnar::read_verified(&mut Cursor::new(cut.clone()), "csv", "e1", None, None).unwrap();
    assert_eq!(read.blake3, blake3::hash(&cut).to_hex().to_string());
    assert!(read.rows.is_err());

    let text = b"change_id,system\n1,web\n".to_vec();
    let read = columnar::read_verified(&mut Cursor::new(text.clone()), "csv", "e1", None, None).unwrap();
    assert_eq!(read.blake3, blake3::hash(&text).to_hex().to_string());
    let e = read.rows.unwrap_err().to_string();
    assert!(e.contains("not a Parquet file"), "{e}");
}

/// `bytes` with the second row group's first column chunk given `offset` and `size` in a footer
/// written anew: a copy whose footer was altered on disk.
fn with_chunk_at(bytes: &[u8], offset: i64, size: i64) -> Vec<u8> {
    use parquet::file::metadata::{ParquetMetaDataReader, ParquetMetaDataWriter};
    let n = bytes.len();
    let meta_len = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize;
    let body = &bytes[..n - 8 - meta_len];
    let meta = ParquetMetaDataReader::decode_metadata(&bytes[n - 8 - meta_len..n - 8]).unwrap();
    let mut builder = meta.into_builder();
    let mut groups = builder.take_row_groups();
    assert!(groups.len() > 1, "the copy has several row groups");
    let group = groups.remove(1);
    let mut columns = group.columns().to_vec();
    columns[0] = columns[0]
        .clone()
        .into_builder()
        .set_dictionary_page_offset(None)
        .set_data_page_offset(offset)
        .set_total_compressed_size(size)
        .build()
        .unwrap();
    groups.insert(1, group.into_builder().set_column_metadata(columns).build().unwrap());
    let meta = builder.set_row_groups(groups).build();
    let mut out = body.to_vec();
    ParquetMetaDataWriter::new(&mut out, &meta).finish().unwrap();
    out
}

#[test]
fn a_footer_with_an_impossible_stretch_is_an_error_naming_the_row_group_not_a_panic() {
    let bytes = events(100_000);
    for (offset, size, says) in [
        (
            -5,
            100,
            "row group 1 has a column with a negative byte offset or length",
        ),
        (4, -1, "row group 1 has a column with a negative byte offset or length"),
        // Past the largest signed offset: the end is still computed (not wrapped) and refused.
        (i64::MAX, 1_000_000, "..9223372036855775807, not after byte"),
        (4, 8, "row group 1 lies at bytes 4.."),
    ] {
        let altered = with_chunk_at(&bytes, offset, size);
        let read = columnar::read_verified(&mut Cursor::new(altered.clone()), "csv", "e1", None, None).unwrap();
        assert_eq!(
            read.blake3,
            blake3::hash(&altered).to_hex().to_string(),
            "every byte was hashed ({offset}, {size})"
        );
        let e = read.rows.unwrap_err().to_string();
        assert!(e.contains(says), "({offset}, {size}): {e}");
    }
}
