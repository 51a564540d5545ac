//! A recorded run in the columnar layout: the record in the footer, every item as a row.

use std::collections::BTreeMap;

use assure_evidence::runfile::{self, RunFile, RunFileError};
use assure_schema::results::{ItemStatus, RunRecord};

fn record() -> RunRecord {
    let file_a = "a".repeat(64);
    let file_b = "b".repeat(64);
    let items = |n: usize, fails: &[usize], na: &[usize]| -> serde_json::Value {
        (0..n)
            .map(|i| {
                let (status, reason, attributes) = if fails.contains(&i) {
                    (
                        "fail",
                        "merged without an approval",
                        serde_json::json!([["approver", ""]]),
                    )
                } else if na.contains(&i) {
                    (
                        "not_applicable",
                        "a bot's change",
                        serde_json::json!([["author", "dependabot"]]),
                    )
                } else {
                    ("pass", "approved by a second person", serde_json::json!([]))
                };
                serde_json::json!({"item": format!("PR-{i}"), "status": status, "reason": reason,
                    "attributes": attributes, "from": [i % 2, i as u64 + 2]})
            })
            .collect()
    };
    serde_json::from_value(serde_json::json!({
        "format": 2, "engine": "datafusion 55", "exam_type": 2,
        "period_start": "2026-01-01", "period_end": "2026-12-31", "as_of": "2026-12-31",
        "definitions": "d".repeat(64), "inputs": [], "unresolved": [],
        "tests": [
            {"id": "change-approval", "title": "Changes are approved", "controls": ["CM-1"],
             "population": 70_000, "exceptions": 2, "not_applicable": 1, "conclusion": "exceptions",
             "note": null, "items": items(70_000, &[5, 69_999], &[7]), "key": "k1", "files": [file_a, file_b]},
            {"id": "empty", "title": "Nothing to test", "controls": ["CM-2"], "population": 0,
             "exceptions": 0, "not_applicable": 0, "conclusion": "no_population", "note": null, "items": []},
            {"id": "no-lineage", "title": "Items without files", "controls": ["CM-2"], "population": 3,
             "exceptions": 1, "not_applicable": 0, "conclusion": "exceptions", "note": null,
             "items": [{"item": "x", "status": "pass", "reason": "", "attributes": []},
                       {"item": "y", "status": "fail", "reason": "late", "attributes": [["days", "9"]]},
                       {"item": "x", "status": "pass", "reason": "", "attributes": []}]}
        ],
        "controls": []
    }))
    .unwrap()
}

#[test]
fn a_run_reads_back_whole_and_its_footer_holds_only_what_did_not_pass() {
    let r = record();
    let bytes = runfile::encode(&r, &BTreeMap::new()).unwrap();
    assert!(runfile::is_columnar(&bytes));
    // The same record gives the same bytes.
    assert_eq!(bytes, runfile::encode(&r, &BTreeMap::new()).unwrap());
    let file = RunFile::parse(bytes).unwrap();
    assert!(!file.is_whole());
    let light = file.record();
    let kept: Vec<(&str, ItemStatus)> = light.tests[0]
        .items
        .iter()
        .map(|i| (i.item.as_str(), i.status))
        .collect();
    assert_eq!(
        kept,
        [
            ("PR-5", ItemStatus::Fail),
            ("PR-7", ItemStatus::NotApplicable),
            ("PR-69999", ItemStatus::Fail)
        ]
    );
    assert_eq!(
        light.tests[0].items[0].attributes,
        [("approver".to_string(), String::new())]
    );
    assert_eq!(light.tests[0].population, 70_000);
    assert_eq!(file.into_full().unwrap(), r);
}

#[test]
fn an_outcome_reused_from_an_earlier_run_copies_its_rows() {
    let first = record();
    let earlier = RunFile::parse(runfile::encode(&first, &BTreeMap::new()).unwrap()).unwrap();
    // The next run holds the reused outcome as the earlier file's record has it: exceptions only.
    let mut next = earlier.record().clone();
    next.reused = vec!["change-approval".into()];
    next.tests[2] = first.tests[2].clone();
    let copied = BTreeMap::from([("change-approval".to_string(), &earlier)]);
    let file = RunFile::parse(runfile::encode(&next, &copied).unwrap()).unwrap();
    let full = file.into_full().unwrap();
    assert_eq!(full.tests, first.tests);
    assert_eq!(full.reused, ["change-approval"]);
}

/// A run that copies nothing from the earlier run lets go of its rows and keeps its record; rows
/// asked for afterwards are refused, never copied as an empty test.
#[test]
fn an_earlier_run_whose_rows_were_let_go_of_keeps_its_record_and_copies_no_rows() {
    let first = record();
    let mut earlier = RunFile::parse(runfile::encode(&first, &BTreeMap::new()).unwrap()).unwrap();
    let kept = earlier.record().clone();
    earlier.release_rows();
    assert_eq!(earlier.record(), &kept);
    let mut next = kept.clone();
    next.reused = vec!["change-approval".into()];
    let copied = BTreeMap::from([("change-approval".to_string(), &earlier)]);
    assert_eq!(
        runfile::encode(&next, &copied).unwrap_err().to_string(),
        "its rows were let go of before they were copied; run `assure test --full`"
    );
    assert_eq!(
        earlier.into_full().unwrap_err().to_string(),
        "its rows were let go of before they were copied; run `assure test --full`"
    );
}

#[test]
fn rows_encoded_as_each_test_ran_give_the_file_its_items_give() {
    let r = record();
    let whole = runfile::encode(&r, &BTreeMap::new()).unwrap();
    // Each test's rows encoded on their own, its outcome then holding only what did not pass.
    let encoded: Vec<_> = r.tests.iter().map(|t| runfile::encode_outcome(t).unwrap()).collect();
    assert_eq!(encoded[0].rows(), 70_000);
    assert_eq!(encoded[0].test(), "change-approval");
    // Far smaller than the items they stand for (an item record is over 100 bytes before its text).
    assert!(encoded[0].len() < 70_000 * 16, "{} bytes", encoded[0].len());
    let mut light = r.clone();
    for t in &mut light.tests {
        t.items.retain(|i| i.status != ItemStatus::Pass);
    }
    let rows: BTreeMap<String, Vec<runfile::Rows<'_>>> = encoded
        .iter()
        .map(|e| (e.test().to_string(), vec![runfile::Rows::Encoded(e)]))
        .collect();
    let bytes = runfile::encode_rows(&light, &rows).unwrap();
    // The same rows give the same bytes, and the file reads back as the one written from every item.
    assert!(bytes == runfile::encode_rows(&light, &rows).unwrap());
    let back = RunFile::parse(bytes).unwrap();
    assert_eq!(back.record(), RunFile::parse(whole.clone()).unwrap().record());
    assert_eq!(back.into_full().unwrap(), r);
    assert_eq!(RunFile::parse(whole).unwrap().into_full().unwrap(), r);
    // Rows encoded for one test are refused for another, and must add up to its population.
    let wrong = BTreeMap::from([("change-approval".to_string(), vec![runfile::Rows::Encoded(&encoded[2])])]);
    assert_eq!(
        runfile::encode_rows(&light, &wrong).unwrap_err().to_string(),
        "test `change-approval`: the rows given for it were encoded for test `no-lineage`"
    );
    let mut short = light.clone();
    short.tests[2].population = 4;
    assert_eq!(
        runfile::encode_rows(&short, &rows).unwrap_err().to_string(),
        "test `no-lineage`: its rows number 3 for a population of 4"
    );
    // An outcome holding only its exceptions, with no rows given for it, is refused too.
    let rows = BTreeMap::from([("no-lineage".to_string(), vec![runfile::Rows::Encoded(&encoded[2])])]);
    assert_eq!(
        runfile::encode_rows(&light, &rows).unwrap_err().to_string(),
        "test `change-approval`: its rows number 3 for a population of 70000"
    );
}

#[test]
fn rows_encoded_from_the_population_columns_are_those_of_every_item() {
    // A run records a passing item without its reason; the engine hands over every item's id,
    // status and lineage as columns, and as records only the items that did not pass.
    let mut r = record();
    for t in &mut r.tests {
        for i in &mut t.items {
            if i.status == ItemStatus::Pass {
                i.reason.clear();
            }
        }
    }
    let columns = |t: &assure_schema::results::TestOutcome| {
        let ids = arrow::array::StringArray::from_iter_values(t.items.iter().map(|i| i.item.as_str()));
        let status: Vec<ItemStatus> = t.items.iter().map(|i| i.status).collect();
        let file: Vec<u32> = t.items.iter().map(|i| i.from.map_or(0, |(f, _)| f + 1)).collect();
        let row: Vec<u64> = t.items.iter().map(|i| i.from.map_or(0, |(_, r)| r)).collect();
        (ids, status, file, row)
    };
    let spool = tempfile::tempdir().unwrap();
    let mut light_record = r.clone();
    let mut in_memory = Vec::new();
    let mut on_disk = Vec::new();
    for t in &r.tests {
        let (ids, status, file, row) = columns(t);
        let population = runfile::Population {
            ids: &ids,
            status: &status,
            file: &file,
            row: &row,
        };
        let light = t.with_items(|i| i.status != ItemStatus::Pass);
        let from_columns = runfile::encode_population(&light, population, None).unwrap();
        // The same bytes as the rows encoded from every item.
        let every_item = runfile::encode_outcome(t).unwrap();
        assert_eq!(
            from_columns.to_bytes().unwrap(),
            every_item.to_bytes().unwrap(),
            "{}",
            t.id
        );
        assert_eq!(from_columns.rows(), t.population as u64);
        assert!(!from_columns.is_spooled());
        // Kept on disk, they are the same bytes too, in a file with no name in the spool directory.
        let spooled = runfile::encode_population(&light, population, Some(spool.path())).unwrap();
        assert!(spooled.is_spooled());
        assert_eq!(spooled.to_bytes().unwrap(), every_item.to_bytes().unwrap(), "{}", t.id);
        assert_eq!(spooled.len(), every_item.len());
        assert_eq!(spooled.rows(), t.population as u64);
        in_memory.push(from_columns);
        on_disk.push(spooled);
    }
    assert_eq!(
        std::fs::read_dir(spool.path()).unwrap().count(),
        0,
        "the spool directory lists no file"
    );
    // A run file written from rows kept on disk is the one written from rows kept in memory.
    for t in &mut light_record.tests {
        t.items.retain(|i| i.status != ItemStatus::Pass);
    }
    let rows_of = |held: &[runfile::EncodedRows]| -> Vec<u8> {
        let rows: BTreeMap<String, Vec<runfile::Rows<'_>>> = held
            .iter()
            .map(|e| (e.test().to_string(), vec![runfile::Rows::Encoded(e)]))
            .collect();
        runfile::encode_rows(&light_record, &rows).unwrap()
    };
    let from_disk = rows_of(&on_disk);
    assert!(from_disk == rows_of(&in_memory));
    assert_eq!(RunFile::parse(from_disk).unwrap().into_full().unwrap(), r);
    drop(on_disk);
    // A spool directory that cannot be made says which test, where, and what to do.
    let blocked = spool.path().join("a-file");
    std::fs::write(&blocked, b"").unwrap();
    let t = &r.tests[0];
    let (ids, status, file, row) = columns(t);
    let population = runfile::Population {
        ids: &ids,
        status: &status,
        file: &file,
        row: &row,
    };
    let light = t.with_items(|i| i.status != ItemStatus::Pass);
    let refused = runfile::encode_population(&light, population, Some(&blocked.join("spool")))
        .unwrap_err()
        .to_string();
    assert!(
        refused.starts_with(&format!(
            "the rows of test `change-approval` could not be kept in {} until the run is recorded (",
            blocked.join("spool").display()
        )),
        "{refused}"
    );
    assert!(
        refused.ends_with("); check that the directory is writable and its disk has room"),
        "{refused}"
    );
    // Records that are not the population's items that did not pass are refused, naming the item:
    // one in another item's place, one missing, one too many.
    let t = &r.tests[0];
    let (ids, status, file, row) = columns(t);
    let light = t.with_items(|i| i.status != ItemStatus::Pass);
    let mut fewer = light.clone();
    fewer.items.pop();
    let refused = |outcome: &assure_schema::results::TestOutcome, k: usize| {
        let mut status = status.clone();
        status[k] = if status[k] == ItemStatus::Pass {
            ItemStatus::Fail
        } else {
            ItemStatus::Pass
        };
        let population = runfile::Population {
            ids: &ids,
            status: &status,
            file: &file,
            row: &row,
        };
        runfile::encode_population(outcome, population, None)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        refused(&light, 5),
        "test `change-approval`: the outcome lists `PR-5` (fail) where the population has `PR-7` (not_applicable)"
    );
    assert_eq!(
        refused(&light, 8),
        "test `change-approval`: the outcome lists `PR-69999` (fail) where the population has `PR-8` (fail)"
    );
    let population = runfile::Population {
        ids: &ids,
        status: &status,
        file: &file,
        row: &row,
    };
    assert_eq!(
        runfile::encode_population(&fewer, population, None)
            .unwrap_err()
            .to_string(),
        "test `change-approval`: its item `PR-69999` did not pass in the population, but the outcome does not list it"
    );
    assert_eq!(
        refused(&light, 69_999),
        "test `change-approval`: its item `PR-69999` did not pass in the outcome, but is not in the population as such"
    );
}

#[test]
fn a_record_written_before_the_columnar_layout_still_reads() {
    let r = RunRecord { format: 1, ..record() };
    let file = RunFile::parse(serde_json::to_vec(&r).unwrap()).unwrap();
    assert!(file.is_whole());
    assert_eq!(file.record().tests[0].items.len(), 70_000);
    // Its outcomes can be copied into a run in the new layout.
    let mut next = r.clone();
    next.tests[0].items.retain(|i| i.status != ItemStatus::Pass);
    let copied = BTreeMap::from([("change-approval".to_string(), &file)]);
    let again = RunFile::parse(runfile::encode(&next, &copied).unwrap()).unwrap();
    assert_eq!(again.into_full().unwrap().tests, r.tests);
}

#[test]
fn rows_that_disagree_with_the_record_are_refused() {
    let first = record();
    let earlier = RunFile::parse(runfile::encode(&first, &BTreeMap::new()).unwrap()).unwrap();
    let mut next = earlier.record().clone();
    next.tests[0].population = 69_000;
    let copied = BTreeMap::from([("change-approval".to_string(), &earlier)]);
    let e = runfile::encode(&next, &copied).unwrap_err();
    assert_eq!(
        e.to_string(),
        "test `change-approval`: the earlier run it comes from holds 70000 rows for a population of 69000"
    );
    // A record whose exceptions are not those of its rows.
    let RunFile::Parquet {
        bytes,
        mut record,
        groups,
        unordered,
    } = earlier
    else {
        panic!("columnar")
    };
    record.tests[0].items[0].item = "PR-6".into();
    let e = RunFile::Parquet {
        bytes,
        record,
        groups,
        unordered,
    }
    .into_full()
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "test `change-approval`: its rows and its record disagree about item `PR-5`"
    );
}

#[test]
fn a_parquet_file_that_is_not_a_run_says_so() {
    let mut r = record();
    r.tests.truncate(1);
    let bytes = runfile::encode(&r, &BTreeMap::new()).unwrap();
    // Garbage after the magic bytes: Parquet's own error, never a panic.
    let e = RunFile::parse(bytes[..bytes.len() / 2].to_vec()).unwrap_err();
    assert!(matches!(e, RunFileError::Parquet(_)), "{e}");
    let e = RunFile::parse(b"PAR1 not a run".to_vec()).unwrap_err();
    assert!(matches!(e, RunFileError::Parquet(_)), "{e}");
    // A Parquet file of something else.
    use arrow::array::{RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    let schema = std::sync::Arc::new(Schema::new(vec![Field::new("x", DataType::Utf8, false)]));
    let mut w = parquet::arrow::ArrowWriter::try_new(Vec::new(), schema.clone(), None).unwrap();
    w.write(&RecordBatch::try_new(schema, vec![std::sync::Arc::new(StringArray::from(vec!["a"]))]).unwrap())
        .unwrap();
    assert_eq!(
        RunFile::parse(w.into_inner().unwrap()).unwrap_err().to_string(),
        "it is a Parquet file without a run record (no `assure.run` in its metadata)"
    );
}

#[test]
fn an_outcome_extended_by_new_rows_reads_back_whole_in_item_order() {
    let first = record();
    let earlier = RunFile::parse(runfile::encode(&first, &BTreeMap::new()).unwrap()).unwrap();
    // New rows: one passing item that sorts first, one exception that sorts in the middle.
    let added: assure_schema::results::TestOutcome = serde_json::from_value(serde_json::json!({
        "id": "change-approval", "title": "Changes are approved", "controls": ["CM-1"],
        "population": 2, "exceptions": 1, "not_applicable": 0, "conclusion": "exceptions", "note": null,
        "items": [
            {"item": "A-1", "status": "pass", "reason": "", "attributes": [], "from": [0, 2]},
            {"item": "PR-50000x", "status": "fail", "reason": "merged without an approval",
             "attributes": [["approver", ""]], "from": [0, 3]}
        ],
        "files": ["c".repeat(64)]
    }))
    .unwrap();
    // The record: the earlier outcome's figures plus the new rows', its exceptions in item order.
    let mut next = earlier.record().clone();
    let t = &mut next.tests[0];
    t.population += 2;
    t.exceptions += 1;
    t.files.push("c".repeat(64));
    let mut new_fail = added.items[1].clone();
    new_fail.from = Some((2, 3));
    t.items.push(new_fail);
    t.items.sort_by(|a, b| a.item.cmp(&b.item));
    // Every outcome's earlier rows are copied (the others are reused as they were).
    let copied: BTreeMap<String, &RunFile> = next.tests.iter().map(|t| (t.id.clone(), &earlier)).collect();
    let extra = BTreeMap::from([("change-approval".to_string(), added.clone())]);
    let bytes = runfile::encode_extended(&next, &copied, &extra).unwrap();
    let file = RunFile::parse(bytes.clone()).unwrap();
    let whole = file.into_full().unwrap();
    let mut expected = first.tests[0].clone();
    expected.population += 2;
    expected.exceptions += 1;
    expected.files.push("c".repeat(64));
    let mut a = added.items[0].clone();
    a.from = Some((2, 2));
    let mut b = added.items[1].clone();
    b.from = Some((2, 3));
    expected.items.extend([a, b]);
    expected
        .items
        .sort_by(|x, y| (&x.item, x.status, &x.reason).cmp(&(&y.item, y.status, &y.reason)));
    assert_eq!(whole.tests[0], expected);
    assert_eq!(
        whole.tests[1..],
        first.tests[1..],
        "the other outcomes are as they were"
    );
    // Copied on into a later run (reused), it still reads back in item order.
    let later = RunFile::parse(bytes).unwrap();
    let next2 = later.record().clone();
    let copied: BTreeMap<String, &RunFile> = next2.tests.iter().map(|t| (t.id.clone(), &later)).collect();
    let again = RunFile::parse(runfile::encode(&next2, &copied).unwrap()).unwrap();
    assert_eq!(again.into_full().unwrap().tests[0], expected);
    // Rows added to an outcome with nothing to copy it from are refused.
    let e = runfile::encode_extended(&next, &BTreeMap::new(), &extra).unwrap_err();
    assert_eq!(
        e.to_string(),
        "test `change-approval`: rows are added to an outcome with no earlier run to copy it from"
    );
}

/// The encodings of `column` in every row group of the Parquet file `bytes`.
fn encodings(bytes: &[u8], column: &str) -> std::collections::BTreeSet<parquet::basic::Encoding> {
    let meta = parquet::file::metadata::ParquetMetaDataReader::new()
        .parse_and_finish(&bytes::Bytes::copy_from_slice(bytes))
        .unwrap();
    meta.row_groups()
        .iter()
        .flat_map(|g| g.columns().iter().filter(|c| c.column_path().string() == column))
        .flat_map(|c| c.encodings().collect::<Vec<_>>())
        .collect()
}

/// The run file as an earlier Assure wrote it: the same rows, row groups and record, with every
/// id and row written plain, and, as then, no statistics and no offset index.
fn written_plain(bytes: &[u8]) -> Vec<u8> {
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::basic::Encoding;
    use parquet::file::properties::WriterProperties;
    use parquet::schema::types::ColumnPath;
    let bytes = bytes::Bytes::copy_from_slice(bytes);
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes.clone()).unwrap();
    let (schema, meta) = (builder.schema().clone(), builder.metadata().clone());
    let props = WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::None)
        .set_offset_index_disabled(true)
        .set_column_dictionary_enabled(ColumnPath::from("item"), false)
        .set_column_encoding(ColumnPath::from("item"), Encoding::PLAIN)
        .set_column_dictionary_enabled(ColumnPath::from("row"), false)
        .set_column_encoding(ColumnPath::from("row"), Encoding::PLAIN)
        .set_key_value_metadata(meta.file_metadata().key_value_metadata().cloned())
        .build();
    let mut out = ArrowWriter::try_new(Vec::new(), schema, Some(props)).unwrap();
    for g in 0..meta.num_row_groups() {
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes.clone())
            .unwrap()
            .with_row_groups(vec![g])
            .with_batch_size(1 << 20)
            .build()
            .unwrap();
        for batch in reader {
            out.write(&batch.unwrap()).unwrap();
        }
        out.flush().unwrap();
    }
    out.into_inner().unwrap()
}

/// A test's items are sorted by id, and ids share most of their text: each is stored as what it
/// shares with the one before and the rest, and rows as bit-packed differences. A run file an
/// earlier Assure wrote plain still reads, and its rows are copied into a new run as they are.
#[test]
fn ids_are_stored_by_what_they_share_with_the_one_before_and_plain_run_files_still_read() {
    use parquet::basic::Encoding;
    let first = record();
    let bytes = runfile::encode(&first, &BTreeMap::new()).unwrap();
    assert!(encodings(&bytes, "item").contains(&Encoding::DELTA_BYTE_ARRAY));
    assert!(!encodings(&bytes, "item").contains(&Encoding::PLAIN));
    assert!(encodings(&bytes, "row").contains(&Encoding::DELTA_BINARY_PACKED));
    let plain = written_plain(&bytes);
    assert!(encodings(&plain, "item").contains(&Encoding::PLAIN));
    assert!(
        bytes.len() * 2 < plain.len(),
        "{} bytes against {} written plain",
        bytes.len(),
        plain.len()
    );
    // The plain file reads back to the same run, whole and as its footer.
    let earlier = RunFile::parse(plain.clone()).unwrap();
    assert_eq!(earlier.record(), RunFile::parse(bytes).unwrap().record());
    assert_eq!(RunFile::parse(plain).unwrap().into_full().unwrap(), first);
    // A new run reusing an outcome copies its plain row groups beside rows written now.
    let mut next = earlier.record().clone();
    next.reused = vec!["change-approval".into()];
    next.tests[2] = first.tests[2].clone();
    let copied = BTreeMap::from([("change-approval".to_string(), &earlier)]);
    let mixed = runfile::encode(&next, &copied).unwrap();
    assert!(encodings(&mixed, "item").contains(&Encoding::PLAIN));
    assert!(encodings(&mixed, "item").contains(&Encoding::DELTA_BYTE_ARRAY));
    let full = RunFile::parse(mixed).unwrap().into_full().unwrap();
    assert_eq!(full.tests, first.tests);
}
