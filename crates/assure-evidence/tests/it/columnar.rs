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
        dictionary: Vec::new(),
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

/// A person column (text, or a list of text) is read as the copy's own dictionary of its values and
/// stays one, in every row group and for a predicate too: the values are those stored, and every
/// other text column is text.
#[test]
fn person_columns_are_read_as_the_copys_dictionaries() {
    let table = assure_schema::tables::table("changes").unwrap();
    let mut w = columnar::Writer::new(table).unwrap();
    for i in 0..70_000u64 {
        let values: Vec<Option<String>> = table
            .columns
            .iter()
            .map(|c| match c.name {
                "change_id" => Some(format!("PR-{i}")),
                "system" => Some("platform".into()),
                "title" => Some(format!("change {i}")),
                "author_email" => Some(format!("dev{}@example.com", i % 50)),
                "approver_emails" => {
                    (i % 10 != 0).then(|| format!("rev{}@example.com;lead{}@example.com", i % 7, i % 3))
                }
                "created_at" | "merged_at" => Some("2026-03-01T10:00:00Z".into()),
                "emergency" | "tests_passed" => Some("false".into()),
                _ => None,
            })
            .collect();
        w.push(i + 2, &values);
    }
    let bytes = w.finish().unwrap();
    let whole = plainly(&bytes);
    assert!(whole.len() > 1);
    let dictionary = arrow::datatypes::DataType::Dictionary(
        Box::new(arrow::datatypes::DataType::Int32),
        Box::new(arrow::datatypes::DataType::Utf8),
    );
    // Each column's values as text, row by row (a list's items joined with `;`).
    let texts = |batches: &[RecordBatch], column: &str| -> Vec<String> {
        let mut out = Vec::new();
        for b in batches {
            let c = b.column_by_name(column).unwrap();
            for r in 0..b.num_rows() {
                let one = match c.as_list_opt::<i32>() {
                    Some(l) if l.is_null(r) => "-".to_string(),
                    Some(l) => {
                        let items = arrow::compute::cast(&l.value(r), &arrow::datatypes::DataType::Utf8).unwrap();
                        let items = items.as_string::<i32>();
                        (0..items.len()).map(|k| items.value(k)).collect::<Vec<_>>().join(";")
                    }
                    None => {
                        let v = arrow::compute::cast(&c.slice(r, 1), &arrow::datatypes::DataType::Utf8).unwrap();
                        v.as_string::<i32>().value(0).to_string()
                    }
                };
                out.push(one);
            }
        }
        out
    };
    let read = columnar::read_verified(&mut Cursor::new(bytes.clone()), "csv", "e1", None, None).unwrap();
    let rows = read.rows.unwrap();
    for b in &rows {
        let schema = b.schema();
        assert_eq!(schema.field_with_name("author_email").unwrap().data_type(), &dictionary);
        match schema.field_with_name("approver_emails").unwrap().data_type() {
            arrow::datatypes::DataType::List(item) => assert_eq!(item.data_type(), &dictionary),
            other => panic!("approver_emails read as {other}"),
        }
        assert_eq!(
            schema.field_with_name("title").unwrap().data_type(),
            &arrow::datatypes::DataType::Utf8
        );
    }
    for column in ["author_email", "approver_emails", "title"] {
        assert_eq!(texts(&rows, column), texts(&whole, column), "{column}");
    }
    // A predicate on a person column is given it as a dictionary, and the rows it keeps keep it so.
    let one_author = Predicate {
        columns: vec!["author_email".into()],
        dictionary: Vec::new(),
        keep: Box::new(|b: RecordBatch| {
            let d = b.column(0).as_dictionary::<arrow::datatypes::Int32Type>();
            let v = d.values().as_string::<i32>();
            (0..d.len())
                .map(|i| Some(v.value(usize::try_from(d.keys().value(i)).unwrap()) == "dev7@example.com"))
                .collect::<BooleanArray>()
        }),
    };
    let kept = columnar::read_columns_where(bytes, "csv", "e1", None, Some(one_author)).unwrap();
    let authors = texts(&kept, "author_email");
    assert_eq!(authors.len(), 1400);
    assert!(authors.iter().all(|a| a == "dev7@example.com"));
    assert_eq!(
        kept[0].schema().field_with_name("author_email").unwrap().data_type(),
        &dictionary
    );
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

/// An events export of `n` rows as canonical CSV; `bad(i)` replaces row `i`'s line.
fn events_csv(n: u64, bad: &dyn Fn(u64) -> Option<String>) -> Vec<u8> {
    let table = assure_schema::tables::table("events").unwrap();
    let mut out = table.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(",");
    out.push('\n');
    for i in 0..n {
        let line = bad(i).unwrap_or_else(|| {
            let action = if i % 1000 == 0 { "login" } else { "object_read" };
            format!(
                "ev-{i},2026-03-{:02}T10:00:00+02:00,aws,User{}@Example.com,{action},raw:{action},,success,yes,",
                i % 28 + 1,
                i % 97
            )
        });
        out.push_str(&line);
        out.push('\n');
    }
    out.into_bytes()
}

/// The file read in one pass on this thread (each valid row pushed to a writer as it is read) and
/// read in chunks checked and encoded side by side: the outcome and the copy's bytes.
fn both_ways(csv: &[u8]) -> [(assure_evidence::read::Outcome, Option<Vec<u8>>); 2] {
    both_ways_of("events", csv).map(|(outcome, copy, _)| (outcome, copy))
}

/// [`both_ways`] for any table, with the days each copy covers.
type Read = (assure_evidence::read::Outcome, Option<Vec<u8>>, Option<[String; 2]>);
fn both_ways_of(table: &str, csv: &[u8]) -> [Read; 2] {
    use assure_evidence::read::{Format, read_rows};
    let table = assure_schema::tables::table(table).unwrap();
    let mut one = columnar::Writer::new(table).unwrap();
    let in_one = {
        let mut emit = |row: u64, values: Vec<Option<String>>| one.push(row, &values);
        read_rows(
            Cursor::new(csv.to_vec()),
            Format::Csv,
            table,
            "events.csv",
            Some(&mut emit),
        )
    };
    let mut chunked = columnar::Writer::new(table).unwrap();
    let csv_connector = assure_evidence::connectors::canonical(Format::Csv);
    let in_chunks = assure_evidence::connectors::read_into(
        csv_connector,
        Box::new(Cursor::new(csv.to_vec())),
        table,
        "events.csv",
        None,
        &mut chunked,
    );
    let copy = |w: columnar::Writer, o: &assure_evidence::read::Outcome| {
        let covers = w.covers();
        (o.clone(), o.problems.is_empty().then(|| w.finish().unwrap()), covers)
    };
    [copy(one, &in_one), copy(chunked, &in_chunks)]
}

/// Dates, numbers and booleans are read once, while they are checked, when a CSV is read in chunks:
/// the copy holds the same values, byte for byte, as one written from their checked text, and
/// covers the same days. Dates in a form other than `YYYY-MM-DD` that `chrono` reads are read as it
/// reads them.
#[test]
fn typed_values_read_while_checked_give_the_copy_and_days_of_their_text() {
    let mut csv = String::from("person_id,email,name,worker_type,hire_date,termination_date\n");
    let hired = ["2019-03-04", "2024-02-29", "1999-12-31", "2019-3-4", "0099-01-01"];
    for i in 0..150_000 {
        let left = if i % 7 == 0 { "2026-11-30" } else { "" };
        csv.push_str(&format!(
            "E{i},p{i}@example.com,P {i},Employee,{},{left}\n",
            hired[i % hired.len()]
        ));
    }
    let [(one, one_copy, one_days), (chunks, chunks_copy, chunks_days)] = both_ways_of("people", csv.as_bytes());
    assert!(one.problems.is_empty(), "{:?}", one.problems);
    assert_eq!(chunks, one);
    assert_eq!(blake3::hash(&chunks_copy.unwrap()), blake3::hash(&one_copy.unwrap()));
    assert_eq!(chunks_days, one_days);
    assert_eq!(chunks_days, Some(["0099-01-01".to_string(), "2026-11-30".to_string()]));

    // Access reviews hold whole numbers.
    let mut csv = String::from(
        "review_id,system,period_start,period_end,reviewer_email,completed_at,accounts_reviewed,accounts_removed\n",
    );
    for i in 0..70_000 {
        csv.push_str(&format!(
            "R{i},aws,2026-01-01,2026-03-31,r@example.com,2026-04-0{}T09:00:00-05:00,{},{}\n",
            i % 9 + 1,
            i * 3,
            i % 5
        ));
    }
    let [(one, one_copy, one_days), (chunks, chunks_copy, chunks_days)] =
        both_ways_of("access_reviews", csv.as_bytes());
    assert!(one.problems.is_empty(), "{:?}", one.problems);
    assert_eq!(chunks, one);
    assert_eq!(blake3::hash(&chunks_copy.unwrap()), blake3::hash(&one_copy.unwrap()));
    assert_eq!(chunks_days, one_days);
    assert_eq!(chunks_days, Some(["2026-01-01".to_string(), "2026-04-09".to_string()]));
}

/// The digit-by-digit reading of a date names, for every day it reads, the day `chrono` names, and
/// leaves every other text to `chrono`.
#[test]
fn dates_read_digit_by_digit_are_the_days_chrono_reads() {
    let chrono_days = |t: &str| {
        let d = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()?;
        i32::try_from((d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days()).ok()
    };
    let mut read = 0;
    for year in (0..=10_000).step_by(7).chain([1, 1600, 1900, 2000, 2024, 2100, 9999]) {
        for month in 0..=13 {
            for day in [0, 1, 28, 29, 30, 31, 32] {
                let text = format!("{year:04}-{month:02}-{day:02}");
                let days = assure_evidence::read::date_days(&text);
                assert_eq!(days, chrono_days(&text), "{text}");
                read += usize::from(days.is_some());
            }
        }
    }
    assert!(read > 70_000, "{read}");
    for odd in [
        "2026-1-5",
        "+2026-01-05",
        "2026-01-5",
        " 2026-01-05",
        "2026-01-05 ",
        "20260105",
        "2026/01/05",
        "",
    ] {
        assert_eq!(assure_evidence::read::date_days(odd), chrono_days(odd), "{odd:?}");
    }
}

#[test]
fn a_csv_checked_in_chunks_side_by_side_gives_the_same_outcome_and_the_same_copy_as_one_pass() {
    // 200,000 rows: three whole chunks and a part, more chunks than workers.
    let csv = events_csv(200_000, &|_| None);
    let [(one, one_copy), (chunks, chunks_copy)] = both_ways(&csv);
    assert_eq!(chunks, one);
    assert_eq!(chunks.rows, 200_000);
    assert!(chunks.problems.is_empty(), "{:?}", chunks.problems);
    let (one_copy, chunks_copy) = (one_copy.unwrap(), chunks_copy.unwrap());
    assert_eq!(blake3::hash(&chunks_copy), blake3::hash(&one_copy), "the same bytes");
    // And the rows are there, in file order, with their lines, as the Parquet library reads them.
    let batches = plainly(&chunks_copy);
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 200_000);
    assert_eq!(row_numbers(&batches), (2..200_002).collect::<Vec<i64>>());
    assert_eq!(ids(&batches)[131_072], "ev-131072");
    // Normalised as in one pass: the instant in UTC, `yes` a boolean.
    let at = batches[0].column_by_name("occurred_at").unwrap();
    let at = at.as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
    assert_eq!(at.value(0), 1_772_352_000_000_000, "2026-03-01T08:00:00Z");
    assert!(batches[0].column_by_name("mfa").unwrap().as_boolean().value(0));
}

#[test]
fn problems_in_several_chunks_are_listed_in_file_order_up_to_the_limit_as_in_one_pass() {
    // A bad value in the first chunk, 150 in the third (past the 100 listed), a missing value in the
    // fourth, then a row with a field too many, which stops the reading there.
    let csv = events_csv(240_000, &|i| match i {
        7 => Some("ev-7,not a time,aws,a@example.com,login,raw,,success,yes,".into()),
        140_000..140_150 => Some(format!(
            "ev-{i},2026-03-01T10:00:00Z,aws,a@example.com,login,raw,,maybe,yes,"
        )),
        200_001 => Some(",2026-03-01T10:00:00Z,aws,a@example.com,login,raw,,success,yes,".into()),
        230_000 => Some("ev-x,2026-03-01T10:00:00Z,aws,a@example.com,login,raw,,success,yes,,extra".into()),
        _ => None,
    });
    let [(one, one_copy), (chunks, chunks_copy)] = both_ways(&csv);
    assert_eq!(chunks, one);
    assert!(one_copy.is_none() && chunks_copy.is_none());
    assert_eq!(chunks.problems.len(), 100);
    assert_eq!(chunks.more_problems, 153 - 100);
    assert_eq!(chunks.problems[0].row, Some(9), "{}", chunks.problems[0]);
    assert_eq!(chunks.problems[1].row, Some(140_002));
    assert_eq!(chunks.rows, 230_000, "rows before the broken one");
    let shown: Vec<String> = chunks.problems.iter().take(2).map(ToString::to_string).collect();
    assert_eq!(
        shown.join("\n"),
        "events.csv, row 9, column `occurred_at`: `not a time` is not a timestamp\n  = hint: write a timestamp (RFC 3339 with a time zone, such as 2026-03-01T09:30:00Z)\nevents.csv, row 140002, column `outcome`: `maybe` is not an allowed value\n  = hint: use one of: success, failure"
    );
}

#[test]
fn instants_in_the_stored_form_are_read_to_the_same_microsecond_as_by_rfc3339_parsing() {
    // The stored form is read digit by digit; a leap second (not a valid time of day there) and a
    // date that does not exist take the full parser, as every instant used to.
    let table = assure_schema::tables::table("events").unwrap();
    let instants = [
        "2026-03-01T08:00:00.000000Z",
        "1969-12-31T23:59:59.999999Z",
        "0001-01-01T00:00:00.000001Z",
        "9999-12-31T23:59:59.999999Z",
        "2024-02-29T12:34:56.123456Z",
        "2016-12-31T23:59:60.500000Z",
    ];
    let mut w = columnar::Writer::new(table).unwrap();
    for (i, at) in instants.iter().enumerate() {
        let mut values: Vec<Option<String>> = vec![None; table.columns.len()];
        values[0] = Some(format!("ev-{i}"));
        values[1] = Some((*at).to_string());
        values[2] = Some("aws".into());
        values[4] = Some("login".into());
        values[5] = Some("login".into());
        w.push(i as u64 + 2, &values);
    }
    let batches = plainly(&w.finish().unwrap());
    let read = batches[0].column_by_name("occurred_at").unwrap();
    let read = read.as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
    for (i, at) in instants.iter().enumerate() {
        let parsed = chrono::DateTime::parse_from_rfc3339(at).unwrap().timestamp_micros();
        assert_eq!(read.value(i), parsed, "{at}");
    }

    let mut w = columnar::Writer::new(table).unwrap();
    let mut values: Vec<Option<String>> = vec![None; table.columns.len()];
    values[0] = Some("ev-x".into());
    values[1] = Some("2026-02-30T08:00:00.000000Z".into());
    values[2] = Some("aws".into());
    values[4] = Some("login".into());
    values[5] = Some("login".into());
    w.push(2, &values);
    let error = w.finish().unwrap_err().to_string();
    assert_eq!(
        error,
        "column `occurred_at`, row 2: `2026-02-30T08:00:00.000000Z` is not a timestamp"
    );
}

#[test]
fn a_predicate_can_read_text_as_the_dictionary_the_file_stores() {
    let bytes = events(200_000);
    let whole = plainly(&bytes);
    let signed_in: Vec<String> = ids(&whole).into_iter().step_by(1000).collect();
    // The predicate sees `action` (and `actor`, 97 distinct) as dictionaries: the distinct values
    // of the row group, with keys. It answers per distinct value and maps the keys.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let noted = std::sync::Arc::clone(&seen);
    let predicate = Predicate {
        columns: vec!["action".into(), "actor".into()],
        dictionary: vec!["action".into(), "actor".into(), "occurred_at".into()],
        keep: Box::new(move |b: RecordBatch| {
            let action = b.column_by_name("action").unwrap();
            let actor = b.column_by_name("actor").unwrap();
            noted.lock().unwrap().push((
                action.data_type().clone(),
                action.as_any_dictionary().values().len(),
                actor.as_any_dictionary().values().len(),
            ));
            let d = action.as_dictionary::<arrow::datatypes::Int32Type>();
            let values = d.values().as_string::<i32>();
            let login: Vec<bool> = values.iter().map(|v| v == Some("login")).collect();
            d.keys().iter().map(|k| Some(login[k.unwrap() as usize])).collect()
        }),
    };
    let wanted: std::collections::BTreeSet<String> = ["event_id", "action", "actor", "_row"].map(String::from).into();
    let read = columnar::read_verified(
        &mut Cursor::new(bytes.clone()),
        "csv",
        "e1",
        Some(&wanted),
        Some(predicate),
    )
    .unwrap();
    assert_eq!(read.blake3, blake3::hash(&bytes).to_hex().to_string());
    let rows = read.rows.unwrap();
    assert_eq!(ids(&rows), signed_in);
    // What the rest of a run reads is text, as without the dictionaries.
    for b in &rows {
        assert_eq!(
            b.column_by_name("action").unwrap().data_type(),
            &arrow::datatypes::DataType::Utf8
        );
        assert_eq!(
            b.column_by_name("actor").unwrap().data_type(),
            &arrow::datatypes::DataType::Utf8
        );
        let actions = b.column_by_name("action").unwrap().as_string::<i32>();
        assert!(actions.iter().all(|a| a == Some("login")));
    }
    let plain = columnar::read_columns_where(bytes, "csv", "e1", Some(&wanted), Some(sign_ins())).unwrap();
    assert_eq!(rows.len(), plain.len());
    for (a, b) in rows.iter().zip(&plain) {
        assert_eq!(a.schema(), b.schema());
        assert_eq!(a, b);
    }
    let seen = seen.lock().unwrap();
    assert!(seen.len() >= 3, "one call per row group: {seen:?}");
    for (ty, actions, actors) in seen.iter() {
        assert!(matches!(ty, arrow::datatypes::DataType::Dictionary(_, _)), "{ty:?}");
        assert_eq!((*actions, *actors), (2, 97), "the row group's distinct values");
    }
}

/// The file read in one pass on this thread, and parsed in blocks of about `block` bytes on the
/// workers, each into a copy of `layout` (its records numbered as that layout numbers them): the
/// outcomes and the copies' bytes.
fn in_blocks(csv: &[u8], block: usize, layout: u32) -> [(assure_evidence::read::Outcome, Option<Vec<u8>>); 2] {
    let table = assure_schema::tables::table("events").unwrap();
    let lines = columnar::lines_of(layout);
    let mut one = columnar::Writer::with_layout(table, layout).unwrap();
    let in_one = {
        let mut emit = |row: u64, values: Vec<Option<String>>| one.push(row, &values);
        assure_evidence::read::read_csv_numbered(Cursor::new(csv.to_vec()), table, "events.csv", lines, Some(&mut emit))
    };
    let one_copy = in_one.problems.is_empty().then(|| one.finish().unwrap());
    let mut w = columnar::Writer::with_layout(table, layout).unwrap();
    let encoder = w.encoder();
    let mut each = |done| w.append(done);
    let out = assure_evidence::read::read_csv_in_blocks(
        Cursor::new(csv.to_vec()),
        table,
        "events.csv",
        &encoder,
        &mut each,
        block,
        lines,
    );
    let copy = out.problems.is_empty().then(|| w.finish().unwrap());
    [(in_one, one_copy), (out, copy)]
}

/// A small random number source, the same sequence every run.
struct Dice(u64);
impl Dice {
    fn roll(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Texts whose blocks could be cut in the wrong place: quoted fields holding commas, quotes and line
/// ends of every kind, quotes inside a field that do not quote it, `\r\n`, `\r` and `\n` line ends,
/// blank lines (before the header too), a byte-order mark (at the start, and starting a record),
/// no line end at the end. Cut into blocks of many sizes, each reads
/// to the outcome, the lines and the copy of reading it in one pass; so do texts with a row of the
/// wrong width, text that is not UTF-8, or a bad value.
#[test]
fn a_csv_cut_into_blocks_anywhere_reads_as_in_one_pass() {
    let table = assure_schema::tables::table("events").unwrap();
    let header = table.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(",");
    let targets = [
        "plain",
        "\"a,b\"",
        "\"line one\nline two\"",
        "\"cr\r\nlf\"",
        "\"say \"\"hi\"\"\"",
        "ab\"c",
        "\"x\"y",
        "\"\"",
        "\"\"\"\"",
        "\"ends with a line end\n\"",
        "\"\r\"",
        "",
    ];
    let ends = ["\n", "\r\n", "\r"];
    let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
    let mut compared = 0;
    for case in 0..60 {
        let mut csv: Vec<u8> = Vec::new();
        if case % 7 == 0 {
            csv.extend_from_slice(b"\xef\xbb\xbf");
        }
        // Blank lines before the header (the fuzzer's first find: the first block must hold it).
        if case % 11 == 1 {
            csv.extend_from_slice(if case % 2 == 0 { b"\n\n" } else { b"\r\n" });
        }
        csv.extend_from_slice(header.as_bytes());
        let end = ends[case % 3];
        csv.extend_from_slice(end.as_bytes());
        let rows = 50 + dice.roll(400);
        for i in 0..rows {
            let target = targets[dice.roll(targets.len())];
            let quoted_id = if dice.roll(5) == 0 {
                format!("\"ev-{i}\"")
            } else {
                format!("ev-{i}")
            };
            let mut line = format!(
                "{quoted_id},2026-03-01T10:00:00Z,aws,u{}@example.com,login,\"raw, {i}\",{target},success,yes,",
                i % 13
            );
            // The cases with problems: one bad row somewhere.
            if case % 5 == 4 && i == rows / 2 {
                match case % 3 {
                    0 => line.push_str(",extra"),
                    1 => line = line.replace("success", "maybe"),
                    _ => {}
                }
            }
            let mut bytes = line.into_bytes();
            // A record that starts with a byte-order mark's bytes, read as text mid-file.
            if case % 13 == 3 && i % 50 == 7 {
                bytes.splice(0..0, b"\xef\xbb\xbf".iter().copied());
            }
            if case % 5 == 4 && case % 3 == 2 && i == rows / 2 {
                bytes.extend_from_slice(b"\xff");
                // Too wide as well: the width is reported, as in one pass (the fuzzer's second find).
                if case % 2 == 0 {
                    bytes.extend_from_slice(b",extra");
                }
            }
            csv.extend_from_slice(&bytes);
            if i + 1 < rows || case % 4 != 0 {
                csv.extend_from_slice(ends[if dice.roll(10) == 0 { dice.roll(3) } else { case % 3 }].as_bytes());
            }
            if dice.roll(25) == 0 {
                for _ in 0..=dice.roll(3) {
                    csv.extend_from_slice(ends[dice.roll(3)].as_bytes());
                }
            }
        }
        // Numbered as new copies are and as layouts 1 and 2 were.
        for layout in [3, 2] {
            for block in [1, 2, 3, 17, 64, 300, 4096, 1 << 20] {
                let [(one, one_copy), (blocks, blocks_copy)] = in_blocks(&csv, block, layout);
                assert_eq!(blocks, one, "case {case}, blocks of {block}, layout {layout}");
                assert_eq!(
                    blocks_copy.map(|c| blake3::hash(&c)),
                    one_copy.map(|c| blake3::hash(&c)),
                    "case {case}, blocks of {block}, layout {layout}"
                );
                if case % 5 == 4 {
                    assert!(!one.problems.is_empty(), "case {case}");
                } else {
                    assert!(one.problems.is_empty(), "case {case}: {:?}", one.problems);
                }
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 960);

    // A quoted field of many lines, far longer than a block: its record is one block's.
    let long = format!("\"{}\"", "a line\n".repeat(5_000));
    let mut csv = format!("{header}\n").into_bytes();
    for i in 0..20 {
        csv.extend_from_slice(
            format!("ev-{i},2026-03-01T10:00:00Z,aws,u@example.com,login,raw,{long},success,yes,\n").as_bytes(),
        );
    }
    for block in [64, 4096] {
        let [(one, one_copy), (blocks, blocks_copy)] = in_blocks(&csv, block, columnar::LAYOUT);
        assert_eq!(blocks, one);
        assert_eq!(blocks.rows, 20);
        assert!(blocks.problems.is_empty(), "{:?}", blocks.problems);
        assert_eq!(blake3::hash(&blocks_copy.unwrap()), blake3::hash(&one_copy.unwrap()));
    }

    // Many blocks and several chunks: the copy is the same bytes.
    let csv = events_csv(140_000, &|_| None);
    let [(one, one_copy), (blocks, blocks_copy)] = in_blocks(&csv, 1000, columnar::LAYOUT);
    assert_eq!(blocks, one);
    assert_eq!(blocks.rows, 140_000);
    assert_eq!(blake3::hash(&blocks_copy.unwrap()), blake3::hash(&one_copy.unwrap()));
}

/// The line ends before each of `starts` in `text`, counted a byte at a time: `\n`, `\r\n` and a
/// lone `\r` each end a line.
fn naive_lines(text: &[u8], starts: &[usize]) -> Vec<i64> {
    starts
        .iter()
        .map(|&start| {
            let before = &text[..start];
            let ends = before
                .iter()
                .enumerate()
                .filter(|&(i, &b)| b == b'\r' || (b == b'\n' && (i == 0 || before[i - 1] != b'\r')))
                .count();
            ends as i64 + 1
        })
        .collect()
}

/// Every row of a new copy, and every problem, is numbered with the line its record starts on, as
/// an editor shows it: after `\r\n`, `\n` and lone `\r` line ends, blank lines, quoted fields over
/// several lines and a byte-order mark, read in one pass or in blocks of any size. Copies in
/// layouts 1 and 2 keep the `csv` reader's own numbering, so they rebuild to the same bytes.
#[test]
fn rows_are_numbered_with_the_line_their_record_starts_on() {
    let table = assure_schema::tables::table("events").unwrap();
    let header = table.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(",");
    let row = |i: usize, target: &str, outcome: &str| {
        format!("ev-{i},2026-03-01T10:00:00Z,aws,u@example.com,login,raw,{target},{outcome},yes,")
    };
    let ends = ["\n", "\r\n", "\r"];
    let targets = [
        "plain",
        "\"two\nlines\"",
        "\"three\r\nlines\r\nhere\"",
        "\"cr\rinside\"",
    ];
    let mut dice = Dice(0x2545_f491_4f6c_dd1d);
    for case in 0..24 {
        let mut text: Vec<u8> = Vec::new();
        if case % 4 == 1 {
            text.extend_from_slice(b"\xef\xbb\xbf");
        }
        if case % 6 == 2 {
            text.extend_from_slice(b"\r\n\n");
        }
        let end = ends[case % 3];
        text.extend_from_slice(header.as_bytes());
        text.extend_from_slice(end.as_bytes());
        let rows = 40 + dice.roll(60);
        let bad = (case % 4 == 3).then_some(rows - 7);
        let mut starts = Vec::new();
        for i in 0..rows {
            // Blank lines of every kind before some records.
            if dice.roll(6) == 0 {
                for _ in 0..=dice.roll(3) {
                    text.extend_from_slice(ends[dice.roll(3)].as_bytes());
                }
            }
            starts.push(text.len());
            let outcome = if bad == Some(i) { "maybe" } else { "success" };
            text.extend_from_slice(row(i, targets[dice.roll(targets.len())], outcome).as_bytes());
            text.extend_from_slice(if dice.roll(8) == 0 { ends[dice.roll(3)] } else { end }.as_bytes());
        }
        let expected = naive_lines(&text, &starts);
        let in_one = assure_evidence::read::read(
            Cursor::new(text.clone()),
            assure_evidence::read::Format::Csv,
            table,
            "events.csv",
        );
        for block in [1, 5, 64, 1 << 20] {
            let [(one, one_copy), (blocks, blocks_copy)] = in_blocks(&text, block, columnar::LAYOUT);
            assert_eq!(one, in_one, "case {case}");
            assert_eq!(blocks, one, "case {case}, blocks of {block}");
            match bad {
                Some(i) => {
                    let rows: Vec<_> = one.problems.iter().map(|p| p.row).collect();
                    assert_eq!(rows, [Some(expected[i] as u64)], "case {case}: {:?}", one.problems);
                }
                None => {
                    assert!(one.problems.is_empty(), "case {case}: {:?}", one.problems);
                    assert_eq!(row_numbers(&plainly(&one_copy.unwrap())), expected, "case {case}");
                    assert_eq!(row_numbers(&plainly(&blocks_copy.unwrap())), expected, "case {case}");
                }
            }
        }
    }

    // The `csv` reader's own count, kept for older copies: a line early after each `\r\n`, and
    // the first of the blank lines before a record.
    let text = format!(
        "{header}\r\n{}\r\n{}\r\n\n\n{}\n",
        row(0, "", "success"),
        row(1, "", "success"),
        row(2, "", "success")
    );
    let [(_, new), _] = in_blocks(text.as_bytes(), 1 << 20, 3);
    assert_eq!(row_numbers(&plainly(&new.unwrap())), [2, 3, 6]);
    for old in [1, 2] {
        let [(_, one), (_, blocks)] = in_blocks(text.as_bytes(), 7, old);
        assert_eq!(row_numbers(&plainly(&one.unwrap())), [1, 2, 3], "layout {old}");
        assert_eq!(row_numbers(&plainly(&blocks.unwrap())), [1, 2, 3], "layout {old}");
    }

    // A header after blank lines: what is wrong with it is reported on the line it is on, in one
    // pass and in blocks (the older numbering, for rebuilding old copies, says line 1).
    for (end, bom) in ends.iter().flat_map(|e| [(e, ""), (e, "\u{feff}")]) {
        let renamed = header.replacen("event_id", "event_ref", 1);
        let text = format!("{bom}{end}{end}{renamed}{end}{}{end}", row(0, "plain", "success"));
        let expected = naive_lines(text.as_bytes(), &[bom.len() + 2 * end.len()]);
        assert_eq!(expected, [3], "{end:?}");
        for block in [1, 5, 1 << 20] {
            let [(one, _), (blocks, _)] = in_blocks(text.as_bytes(), block, columnar::LAYOUT);
            assert_eq!(blocks, one, "{end:?}, blocks of {block}");
            let found: Vec<_> = one.problems.iter().map(|p| (p.row, p.column.as_deref())).collect();
            assert_eq!(found, [(Some(3), Some("event_id"))], "{end:?}: {:?}", one.problems);
            let [(old, _), (old_blocks, _)] = in_blocks(text.as_bytes(), block, 2);
            assert_eq!(old_blocks, old, "{end:?}, blocks of {block}, layout 2");
            assert_eq!(old.problems.first().and_then(|p| p.row), Some(1), "{end:?}");
        }
    }
}
