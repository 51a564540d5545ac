//! One fixture per canonical format, including the ugly real-world cases, and one per kind of bad input.

use std::path::{Path, PathBuf};

use assure_evidence::import::{Options, Planned, plan};
use assure_evidence::read::Problem;
use assure_evidence::tables::{TABLES, table};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn ok(name: &str, bytes: &[u8], opts: Options) -> Planned {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), name, bytes);
    let mut planned = plan(&[p], &opts).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    planned.remove(0)
}

fn problems(name: &str, bytes: &[u8], opts: Options) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), name, bytes);
    let errs: Vec<Problem> = plan(&[p], &opts).unwrap_err();
    errs.iter()
        .map(|e| format!("{e}\n").replace(&tmp.path().display().to_string(), "[TMP]"))
        .collect()
}

const PEOPLE_UGLY: &[u8] = b"\xef\xbb\xbfPerson_ID,Email,Name,Title,Department,Manager Email,Worker-Type,Hire_Date,Termination_Date,Cost Center\r\n\
E1,ana@northwind.example,\"Ruiz, Ana\",\"Staff Engineer\nPlatform\",Eng,,employee,2025-03-01,,CC-10\r\n\
E2,bo@northwind.example,Bo Chen,,,,contractor,2026-02-10,2026-08-31,CC-20\r\n";

#[test]
fn canonical_csv_with_bom_crlf_quoted_newlines_mixed_case_headers_and_extra_columns() {
    let p = ok("people.csv", PEOPLE_UGLY, Options::default());
    assert_eq!(
        (p.connector, p.chosen, p.table, p.rows),
        ("canonical-csv", "by content", "people", 2)
    );
    assert_eq!(p.extra_columns, ["x_cost_center"]);
}

#[test]
fn canonical_json_with_mixed_case_keys_and_lists() {
    let json = br#"[{"Change_ID":"42","System":"api","Author_Email":"ana@x.example","Approver_Emails":["bo@x.example","cy@x.example"],
      "Created_At":"2026-03-01T10:00:00Z","merged_at":"2026-03-02T10:00:00+02:00","emergency":false,"tests_passed":true}]"#;
    let p = ok("prs.json", json, Options::default());
    assert_eq!((p.connector, p.table, p.rows), ("canonical-json", "changes", 1));
}

#[test]
fn canonical_ndjson_with_missing_optional_fields_and_blank_lines() {
    let nd = b"{\"asset_id\":\"db1\",\"asset_type\":\"database\",\"name\":\"orders\",\"environment\":\"production\"}\n\n{\"asset_id\":\"b1\",\"asset_type\":\"bucket\",\"name\":\"exports\",\"environment\":\"production\",\"encrypted_at_rest\":true,\"data_classification\":\"confidential\"}\n";
    let p = ok("assets.ndjson", nd, Options::default());
    assert_eq!((p.connector, p.table, p.rows), ("canonical-ndjson", "assets", 2));
}

#[test]
fn every_table_has_a_schema_with_lineage_columns() {
    for t in TABLES {
        let s = t.arrow_schema();
        for lineage in ["_source", "_evidence", "_row"] {
            assert!(s.field_with_name(lineage).is_ok(), "{}", t.name);
        }
        assert_eq!(s.fields().len(), t.columns.len() + 3);
    }
    assert_eq!(TABLES.len(), 18);
    assert!(
        table("changes")
            .unwrap()
            .arrow_schema()
            .field_with_name("approver_emails")
            .unwrap()
            .data_type()
            .is_nested()
    );
}

#[test]
fn bad_values_name_file_row_and_column() {
    let csv = b"person_id,email,name,worker_type,hire_date,termination_date\nE1,a@x,Ann,staff,2026-13-01,\n,b@x,Bo,employee,2026-01-05,2026-02-30\n";
    insta::assert_snapshot!(problems("people.csv", csv, Options::default()));
}

#[test]
fn timestamps_without_a_zone_are_refused() {
    let csv = b"email,course,completed_at\na@x,security-awareness,2026-03-01 10:00:00\n";
    insta::assert_snapshot!(problems("trainings.csv", csv, Options::default()));
}

#[test]
fn missing_required_column() {
    let csv = b"person_id,email,name,hire_date\nE1,a@x,Ann,2026-01-01\n";
    insta::assert_snapshot!(problems(
        "people.csv",
        csv,
        Options {
            table: Some("people".into()),
            connector: None,
            hr_roster: None,
            jira: None,
            spool: None,
        }
    ));
}

#[test]
fn columns_that_fit_no_table() {
    insta::assert_snapshot!(problems("mystery.csv", b"foo,bar\n1,2\n", Options::default()));
}

#[test]
fn ragged_csv_row() {
    insta::assert_snapshot!(problems(
        "trainings.csv",
        b"email,course,completed_at\na@x,sa,2026-01-01T00:00:00Z,extra\n",
        Options::default()
    ));
}

#[test]
fn truncated_json() {
    insta::assert_snapshot!(problems("events.json", br#"[{"event_id":"e1","occurred_at":"2026-01-01T00:00:00Z","source":"cloudtrail","action":"x","raw_action":"X"},{"event_id":"#, Options { table: Some("events".into()), connector: None, hr_roster: None, jira: None, spool: None }));
}

#[test]
fn malformed_ndjson_line() {
    let nd = b"{\"email\":\"a@x\",\"course\":\"sa\",\"completed_at\":\"2026-01-01T00:00:00Z\"}\n{\"email\":\"b@x\",\"course\":\n";
    insta::assert_snapshot!(problems("trainings.ndjson", nd, Options::default()));
}

#[test]
fn invalid_utf8_and_utf16() {
    let latin1 = b"email,course,completed_at\ncaf\xe9@x,sa,2026-01-01T00:00:00Z\n";
    let mut out = problems("trainings.csv", latin1, Options::default());
    out.push_str(&problems("utf16.csv", b"\xff\xfee\x00m\x00", Options::default()));
    insta::assert_snapshot!(out);
}

#[test]
fn a_line_longer_than_the_limit() {
    let mut csv = b"email,course,completed_at\n".to_vec();
    csv.extend(std::iter::repeat_n(b'a', 17 * 1024 * 1024));
    csv.extend(b",sa,2026-01-01T00:00:00Z\n");
    insta::assert_snapshot!(problems(
        "trainings.csv",
        &csv,
        Options {
            table: Some("trainings".into()),
            connector: None,
            hr_roster: None,
            jira: None,
            spool: None,
        }
    ));
}

#[test]
fn files_that_are_not_what_their_extension_says() {
    let mut out = problems("users.csv", b"{\"a\":1}\n", Options::default());
    out.push_str(&problems("report.xlsx", b"PK\x03\x04rest-of-zip", Options::default()));
    out.push_str(&problems("logs.json", b"\x1f\x8b\x08\x00", Options::default()));
    out.push_str(&problems("data.json", b"email,course\n", Options::default()));
    out.push_str(&problems("blob.csv", b"a,b\n\x00\x01", Options::default()));
    insta::assert_snapshot!(out);
}

#[test]
fn unknown_table_and_connector_are_refused_with_the_choices() {
    let mut out = problems(
        "x.csv",
        b"a\n1\n",
        Options {
            table: Some("users".into()),
            connector: None,
            hr_roster: None,
            jira: None,
            spool: None,
        },
    );
    out.push_str(&problems(
        "x.csv",
        b"a\n1\n",
        Options {
            table: None,
            connector: Some("okta".into()),
            hr_roster: None,
            jira: None,
            spool: None,
        },
    ));
    insta::assert_snapshot!(out);
}

#[test]
fn one_bad_file_stops_the_whole_import() {
    let tmp = tempfile::tempdir().unwrap();
    let good = write(tmp.path(), "people.csv", PEOPLE_UGLY);
    let bad = write(tmp.path(), "bad.csv", b"foo\n1\n");
    let errs = plan(&[good, bad], &Options::default()).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert!(errs[0].file.ends_with("bad.csv"));
}

#[test]
fn problems_are_capped_and_counted() {
    let mut csv = b"email,course,completed_at\n".to_vec();
    for i in 0..250 {
        csv.extend(format!("u{i}@x,sa,not-a-time\n").as_bytes());
    }
    let out = problems("trainings.csv", &csv, Options::default());
    assert_eq!(out.matches("is not a timestamp").count(), 100);
    assert!(out.contains("and 150 more problems"));
}

/// Every connector in the registry imports its own fixture, recognised by content where it can be,
/// and reads the same rows back through the same dispatch: adding a connector without a working
/// fixture fails here.
#[test]
fn every_registered_connector_imports_and_reads_back_its_fixture() {
    use assure_evidence::connectors::{Kind, REGISTRY, detect, get, ids};
    use assure_evidence::import::{Meta, commit};
    let mut seen = std::collections::BTreeSet::new();
    for c in REGISTRY {
        assert!(seen.insert(c.id()), "connector id `{}` is registered twice", c.id());
        assert!(get(c.id()).is_some_and(|g| g.id() == c.id()));
        assert!(!c.about().is_empty(), "{} has no documentation", c.id());
        let fx = c.fixture();
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(fx.name);
        std::fs::write(&path, fx.bytes).unwrap();
        let mapping = fx.mapping.map(|m| {
            serde_json::from_str::<assure_evidence::vendor::Mapping>(m)
                .unwrap_or_else(|e| panic!("{}: mapping fixture: {e}", c.id()))
        });
        let opts = match c.kind() {
            Kind::Mapped { .. } if c.id() == "jira" => Options {
                jira: mapping,
                ..Options::default()
            },
            Kind::Mapped { .. } => Options {
                hr_roster: mapping,
                ..Options::default()
            },
            _ => Options::default(),
        };
        // Spooled as the application imports: what is stored is the copy made while validating,
        // so it must be every byte of the file even where the reader stops at its last record.
        let opts = Options {
            spool: Some(assure_evidence::store::spool_dir(tmp.path())),
            ..opts
        };
        // Recognised by content (no connector named), as a user's import would be.
        let planned = plan(std::slice::from_ref(&path), &opts).unwrap_or_else(|e| panic!("{}: {e:?}", c.id()));
        assert_eq!(
            planned[0].connector,
            c.id(),
            "{} was read as {}",
            fx.name,
            planned[0].connector
        );
        assert!(planned[0].rows > 0, "{}: no rows", c.id());
        if let Kind::Vendor { table } = c.kind() {
            assert_eq!(planned[0].table, table);
            assert_eq!(detect(fx.bytes).map(|d| d.id()), Some(c.id()));
        } else {
            assert!(detect(fx.bytes).is_none(), "{} is taken for a vendor format", c.id());
        }
        let store = assure_evidence::store::FsStore::open(tmp.path()).unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let meta = Meta {
            at: "2026-06-01T00:00:00Z".into(),
            by: "t".into(),
            batch: "b".into(),
            ..Meta::default()
        };
        let entries = commit(&store, &key, &planned, &meta, &|_| Vec::new()).unwrap();
        let blob = entries[0].draft.blob.as_ref().unwrap();
        let mut stored = Vec::new();
        std::io::Read::read_to_end(
            &mut assure_evidence::store::EvidenceStore::open_blob(&store, &blob.blake3).unwrap(),
            &mut stored,
        )
        .unwrap();
        assert!(stored == fx.bytes, "{}: the stored original is not the file", c.id());
        assert_eq!(blob.size, fx.bytes.len() as u64, "{}", c.id());
        let loaded = assure_evidence::load::load(&store).unwrap();
        assert!(loaded.problems.is_empty(), "{}: {:?}", c.id(), loaded.problems);
        let rows = loaded.tables[planned[0].table].rows.len() as u64;
        assert_eq!(
            rows,
            planned[0].rows,
            "{}: read back {rows} of {} rows",
            c.id(),
            planned[0].rows
        );
    }
    assert_eq!(ids().len(), REGISTRY.len());
}

/// The README's connector table names every connector this build has.
#[test]
fn every_connector_is_in_the_readme_s_connector_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let table: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| connector | reads | fills |"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert!(table.len() > 2, "the README has no connector table");
    for id in assure_evidence::connectors::ids() {
        assert!(
            table.iter().any(|l| l.contains(&format!("`{id}`"))),
            "the README's connector table does not list `{id}`"
        );
    }
}

/// What a row is stored as: instants in UTC with six fraction digits (each compared with what
/// chrono's `%Y-%m-%dT%H:%M:%S%.6fZ` writes for it), booleans, allowed values and addresses in
/// any case read as the same value, other text as given.
#[test]
fn values_are_stored_in_one_form() {
    use assure_evidence::read::{Format, read_rows};
    let instants = [
        "2026-03-01T10:00:00Z",
        "2026-03-01T10:00:00.5+02:00",
        "2026-12-31T23:30:00.123456789-05:30",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z",
        "2016-12-31T23:59:60Z",
        "2026-06-30T00:00:00.000001+14:00",
    ];
    let mut csv = String::from("system,account_id,email,kind,privileged,status,created_at\n");
    for (i, at) in instants.iter().enumerate() {
        csv.push_str(&format!("okta,A{i},Ann.Lee{i}@X.example,Human,YeS,ACTIVE,{at}\n"));
    }
    csv.push_str("okta,B1,Ünal@Ex.example,service,0,Suspended,2026-01-01T00:00:00Z\n");
    let accounts = table("accounts").unwrap();
    let mut rows = Vec::new();
    let mut emit = |_: u64, values: Vec<Option<String>>| rows.push(values);
    let out = read_rows(csv.as_bytes(), Format::Csv, accounts, "accounts.csv", Some(&mut emit));
    assert!(out.problems.is_empty(), "{:?}", out.problems);
    assert_eq!(rows.len(), instants.len() + 1);
    let col = |name: &str| accounts.columns.iter().position(|c| c.name == name).unwrap();
    for (row, at) in rows.iter().zip(instants) {
        let expected = chrono::DateTime::parse_from_rfc3339(at)
            .unwrap()
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string();
        assert_eq!(row[col("created_at")].as_deref(), Some(expected.as_str()), "{at}");
        assert_eq!(row[col("kind")].as_deref(), Some("human"));
        assert_eq!(row[col("privileged")].as_deref(), Some("true"));
        assert_eq!(row[col("status")].as_deref(), Some("active"));
        assert!(row[col("email")].as_deref().unwrap().starts_with("ann.lee"));
        assert_eq!(row[col("role")], None);
    }
    let last = rows.last().unwrap();
    assert_eq!(last[col("email")].as_deref(), Some("ünal@ex.example"));
    assert_eq!(last[col("privileged")].as_deref(), Some("false"));
    assert_eq!(last[col("status")].as_deref(), Some("suspended"));
    assert_eq!(last[col("account_id")].as_deref(), Some("B1"));
    // Allowed values are compared without regard to ASCII case, which is what lower-casing the
    // cell did only because every allowed value is written in lower case.
    for t in TABLES {
        for c in t.columns {
            for a in c.allowed {
                assert_eq!(*a, a.to_lowercase(), "{}.{}", t.name, c.name);
            }
        }
    }
}

/// The digit-by-digit reading of an instant gives, for every text it reads, the instant RFC 3339
/// parsing gives; it reads every common form; and whatever it does not read is left to that parser,
/// so validation accepts and refuses exactly what it did.
/// The fast reading counts days by arithmetic: for the first, the last and the 28th to 32nd day of
/// every month number 0 to 13 of every year it reads, it names the day `chrono` names, and no day
/// `chrono` does not know.
#[test]
fn instants_read_digit_by_digit_count_every_year_s_days_as_chrono_does() {
    let mut checked = 0;
    for year in 1..=9998 {
        for month in 0..=13 {
            for day in [0, 1, 28, 29, 30, 31, 32] {
                let text = format!("{year:04}-{month:02}-{day:02}T00:00:00Z");
                let expected = chrono::NaiveDate::from_ymd_opt(year, month, day)
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| d.and_utc().timestamp_micros());
                assert_eq!(assure_evidence::read::rfc3339_micros(&text), expected, "{text}");
                checked += usize::from(expected.is_some());
            }
        }
    }
    // A year holds 53 of these days (5 in each of seven 31-day months, 4 in each of four 30-day
    // months, 2 in February), and one more in each of the 2,424 leap years from 1 to 9998.
    assert_eq!(checked, 9998 * 53 + 2424);
}

#[test]
fn instants_read_digit_by_digit_agree_with_rfc3339_parsing() {
    use assure_evidence::read::rfc3339_micros;
    let days = [
        "0000-01-01",
        "0001-01-01",
        "1969-12-31",
        "1970-01-01",
        "2024-02-29",
        "2026-02-29",
        "2026-02-30",
        "2026-13-01",
        "2026-00-10",
        "9998-12-31",
        "9999-12-31",
        "26-01-01",
        "2026-1-01",
    ];
    let times = [
        "00:00:00", "23:59:59", "12:34:56", "24:00:00", "12:60:00", "23:59:60", "1:00:00",
    ];
    let fractions = [
        "",
        ".",
        ".1",
        ".12",
        ".123456",
        ".1234567",
        ".123456789",
        ".1234567891",
        ".x",
    ];
    let zones = [
        "Z", "z", "+00:00", "-00:00", "+05:30", "-03:45", "-23:59", "+24:00", "+05:60", "+0530", "", "Zx",
    ];
    let (mut read, mut refused_by_both, mut left) = (0, 0, 0);
    for day in days {
        for sep in ["T", "t", " "] {
            for time in times {
                for fraction in fractions {
                    for zone in zones {
                        let text = format!("{day}{sep}{time}{fraction}{zone}");
                        let full = chrono::DateTime::parse_from_rfc3339(&text)
                            .ok()
                            .map(|d| d.timestamp_micros());
                        match rfc3339_micros(&text) {
                            Some(micros) => {
                                assert_eq!(Some(micros), full, "{text}");
                                read += 1;
                            }
                            None if full.is_some() => {
                                // Only the rarer forms are left to the full parser.
                                let rare = sep != "T"
                                    || zone == "z"
                                    || time == "23:59:60"
                                    || fraction == ".1234567891"
                                    || day.starts_with("0000")
                                    || day.starts_with("9999");
                                assert!(rare, "{text} is valid and common, yet not read digit by digit");
                                left += 1;
                            }
                            None => refused_by_both += 1,
                        }
                    }
                }
            }
        }
    }
    assert!(
        read >= 500 && left > 0 && refused_by_both > 1000,
        "{read} {left} {refused_by_both}"
    );
}

/// Instants in every form a file may write them are stored as the same instants, whichever way
/// validation read them.
#[test]
fn an_import_stores_each_instant_whatever_form_it_was_written_in() {
    let forms = [
        ("2026-03-01T10:00:00Z", "2026-03-01T10:00:00"),
        ("2026-03-01T10:00:00.5Z", "2026-03-01T10:00:00.500"),
        ("2026-03-01T12:30:00.123456789+02:30", "2026-03-01T10:00:00.123456"),
        ("2026-03-01T05:00:00-05:00", "2026-03-01T10:00:00"),
        ("2026-03-01t10:00:00z", "2026-03-01T10:00:00"),
        ("2026-03-01 10:00:00.000001Z", "2026-03-01T10:00:00.000001"),
        // A leap second, left to the full parser as before, is the next instant.
        ("2016-12-31T23:59:60Z", "2017-01-01T00:00:00"),
        ("2026-03-01T10:00:00.000000Z", "2026-03-01T10:00:00"),
    ];
    let mut csv = String::from("email,course,completed_at\n");
    for (text, _) in forms {
        csv.push_str(&format!("a@x,security-awareness,{text}\n"));
    }
    let planned = ok("trainings.csv", csv.as_bytes(), Options::default());
    let batches = assure_evidence::columnar::read(planned.columnar.clone().unwrap(), "trainings.csv", "e").unwrap();
    let shown: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            let column = b.column_by_name("completed_at").unwrap();
            (0..b.num_rows())
                .map(|i| arrow::util::display::array_value_to_string(column, i).unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    let expected: Vec<&str> = forms.iter().map(|(_, stored)| *stored).collect();
    assert_eq!(shown, expected);
}

/// The `_row`s of the copy of `layout` that `connector` makes of `text`.
fn copy_rows(
    connector: &str,
    text: &str,
    mapping: Option<&assure_evidence::vendor::Mapping>,
    table: &str,
    layout: u32,
) -> Vec<i64> {
    let c = assure_evidence::connectors::get(connector).unwrap();
    let table = assure_schema::tables::table(table).unwrap();
    let mut w = assure_evidence::columnar::Writer::with_layout(table, layout).unwrap();
    let out =
        assure_evidence::connectors::read_into(c, Box::new(text.as_bytes()), table, "export.csv", mapping, &mut w);
    assert!(out.problems.is_empty(), "{:?}", out.problems);
    let copy = w.finish().unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(copy))
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .flat_map(|b| {
            let a =
                arrow::array::AsArray::as_primitive::<arrow::datatypes::Int64Type>(b.column_by_name("_row").unwrap())
                    .clone();
            (0..a.len()).map(move |i| a.value(i)).collect::<Vec<_>>()
        })
        .collect()
}

/// A mapped export (an HR roster saved from a spreadsheet: `\r\n` line ends, a blank line, a
/// quoted name over two lines) and a vendor's CSV (Okta's users, with `\r\n` line ends) are
/// numbered with the line each record starts on in a new copy and in their problems; a copy of
/// layout 2 keeps the `csv` reader's own numbering, so it rebuilds to the same bytes.
#[test]
fn exports_number_rows_with_the_line_they_start_on() {
    use assure_evidence::connectors::{get, read};
    let c = get("hr-roster").unwrap();
    let mapping: assure_evidence::vendor::Mapping = serde_json::from_str(c.fixture().mapping.unwrap()).unwrap();
    let text = "Employee ID,Full Name,Work Email,Employment Type,Start Date,Last Day,Cost Center\r\n\
        1001,Ana Ruiz,ana@acme.example,Full-Time,01/10/2024,,CC1\r\n\
        \r\n\
        1002,\"Bo\r\nChen\",bo@acme.example,Contractor,02/02/2026,08/31/2026,CC2\r\n\
        1003,Cy Diaz,cy@acme.example,Full-Time,03/03/2025,,CC1\r\n";
    let rows = |layout| copy_rows("hr-roster", text, Some(&mapping), "people", layout);
    assert_eq!(rows(3), [2, 4, 6], "the lines an editor shows");
    assert_eq!(rows(2), [1, 2, 5], "the csv reader's count, kept for layout 2");
    // A problem names the line its record starts on.
    let bad = text.replace("03/03/2025", "the third");
    let out = read(
        c,
        Box::new(bad.as_bytes()),
        assure_schema::tables::table("people").unwrap(),
        "roster.csv",
        Some(&mapping),
        None,
    );
    let problem_rows: Vec<_> = out.problems.iter().map(|p| p.row).collect();
    assert_eq!(problem_rows, [Some(6)], "{:?}", out.problems);

    let okta = get("okta-users").unwrap();
    let fixture = String::from_utf8(okta.fixture().bytes.to_vec()).unwrap();
    let crlf = fixture.replace("\r\n", "\n").replace('\n', "\r\n");
    let records = crlf.matches("\r\n").count() as i64 - 1;
    let rows = |layout| copy_rows("okta-users", &crlf, None, "accounts", layout);
    assert_eq!(rows(3), (2..records + 2).collect::<Vec<_>>());
    assert_eq!(rows(2), (1..records + 1).collect::<Vec<_>>());
}
