//! Vendor connectors on fixtures that follow each vendor's documented fields, read through the same
//! import and load path as a real export.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use assure_evidence::import::{Meta, Options, commit, plan};
use assure_evidence::load::load;
use assure_evidence::store::FsStore;
use ed25519_dalek::SigningKey;

const CLOUDTRAIL: &str = include_str!("../../fixtures/connectors/cloudtrail.json");

const OKTA: &str = include_str!("../../fixtures/connectors/okta-system-log.json");

const TRIVY: &str = include_str!("../../fixtures/connectors/trivy-json.json");

const GITHUB: &str = include_str!("../../fixtures/connectors/github-pulls.json");

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Imports the files and returns the loaded rows of `table`, each as `column=value` text.
fn import_and_load(files: &[PathBuf], table: &str) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let store = FsStore::open(tmp.path()).unwrap();
    let planned = plan(files, &Options::default()).unwrap_or_else(|e| panic!("{e:?}"));
    let key = SigningKey::from_bytes(&[1; 32]);
    commit(
        &store,
        &key,
        &planned,
        &Meta {
            at: "2026-06-01T00:00:00Z".into(),
            by: "t".into(),
            batch: "b".into(),
            ..Meta::default()
        },
        &|_| Vec::new(),
    )
    .unwrap();
    let loaded = load(&store).unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let t = &loaded.tables[table];
    t.rows
        .iter()
        .map(|r| {
            t.table
                .columns
                .iter()
                .zip(&r.values)
                .filter_map(|(c, v)| v.as_ref().map(|v| format!("{}={v}", c.name)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn cloudtrail_gzipped_files_in_a_directory_tree() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "AWSLogs/123456789012/CloudTrail/us-east-1/2026/03/08/a.json.gz",
        &gz(CLOUDTRAIL.as_bytes()),
    );
    let files = assure_evidence::import::expand(&[tmp.path().join("AWSLogs")]).unwrap();
    let planned = plan(&files, &Options::default()).unwrap();
    assert_eq!(
        (
            planned[0].connector,
            planned[0].chosen,
            planned[0].table,
            planned[0].rows
        ),
        ("cloudtrail", "by content", "events", 3)
    );
    insta::assert_snapshot!(import_and_load(&files, "events").join("\n"));
}

#[test]
fn okta_system_log_as_json_and_ndjson() {
    let tmp = tempfile::tempdir().unwrap();
    let a = write(tmp.path(), "okta.json", OKTA.as_bytes());
    let events: Vec<serde_json::Value> = serde_json::from_str(OKTA).unwrap();
    let nd: String = events.iter().map(|e| format!("{e}\n")).collect();
    let b = write(tmp.path(), "okta-2.ndjson", nd.as_bytes());
    let planned = plan(&[a.clone(), b], &Options::default()).unwrap();
    assert!(planned.iter().all(|p| p.connector == "okta-system-log"));
    insta::assert_snapshot!(import_and_load(&[a], "events").join("\n"));
}

#[test]
fn trivy_report() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), "trivy.json", TRIVY.as_bytes());
    insta::assert_snapshot!(import_and_load(&[f], "vulnerabilities").join("\n"));
}

#[test]
fn github_pull_requests_with_reviews() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), "pulls.json", GITHUB.as_bytes());
    // The unmerged pull request is not a change; the approval given after a merge does not count.
    insta::assert_snapshot!(import_and_load(&[f], "changes").join("\n"));
}

#[test]
fn truncated_gzip_and_a_named_connector_that_does_not_fit() {
    let tmp = tempfile::tempdir().unwrap();
    let full = gz(CLOUDTRAIL.as_bytes());
    let f = write(tmp.path(), "cut.json.gz", &full[..full.len() / 2]);
    let errs = plan(
        &[f],
        &Options {
            table: None,
            connector: Some("cloudtrail".into()),
            hr_roster: None,
            jira: None,
            spool: None,
        },
    )
    .unwrap_err();
    assert!(
        errs[0].message.starts_with("cannot read") || errs[0].message.starts_with("not valid JSON"),
        "{errs:?}"
    );
    assert!(errs[0].file.ends_with("cut.json.gz"));
    let g = write(tmp.path(), "trivy.json", TRIVY.as_bytes());
    let errs = plan(
        &[g],
        &Options {
            table: None,
            connector: Some("cloudtrail".into()),
            hr_roster: None,
            jira: None,
            spool: None,
        },
    )
    .unwrap_err();
    assert!(errs[0].message.contains("`Records`"), "{errs:?}");
}

const OKTA_USERS: &str = include_str!("../../fixtures/connectors/okta-users.csv");

const SARIF: &str = include_str!("../../fixtures/connectors/sarif.sarif");

#[test]
fn okta_user_export_with_bom_crlf_quotes_and_lifecycle_states() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), "okta-users.csv", OKTA_USERS.as_bytes());
    insta::assert_snapshot!(import_and_load(&[f], "accounts").join("\n"));
}

#[test]
fn sarif_results_with_security_severity_and_levels() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), "codeql.sarif", SARIF.as_bytes());
    insta::assert_snapshot!(import_and_load(&[f], "vulnerabilities").join("\n"));
}

/// Runs git in `repo` at fixed dates, failing the test if git fails; returns what it printed.
fn git_in(repo: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_AUTHOR_DATE", "2026-03-02T10:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-03-02T11:00:00Z")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_git_repository_s_merges_and_review_trailers() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("api");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| git_in(&repo, args);
    git(&["init", "-q", "-b", "main"]);
    git(&[
        "-c",
        "user.email=ana@acme.example",
        "-c",
        "user.name=Ana",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "root",
    ]);
    for (branch, author, trailer) in [
        ("feature", "bo@acme.example", "Reviewed-by: Ana <ana@acme.example>"),
        ("selfie", "cy@acme.example", "Reviewed-by: cy@acme.example"),
        (
            "pair",
            "di@acme.example",
            "Co-authored-by: Ed <ed@acme.example>\nReviewed-by: Ed <ed@acme.example>",
        ),
    ] {
        git(&["checkout", "-q", "-b", branch]);
        git(&[
            "-c",
            &format!("user.email={author}"),
            "-c",
            "user.name=X",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            &format!("work on {branch}"),
        ]);
        git(&["checkout", "-q", "main"]);
        git(&[
            "-c",
            &format!("user.email={author}"),
            "-c",
            "user.name=X",
            "merge",
            "-q",
            "--no-ff",
            branch,
            "-m",
            &format!("Merge {branch}\n\n{trailer}"),
        ]);
    }
    let files = assure_evidence::import::expand(std::slice::from_ref(&repo)).unwrap();
    assert!(files[0].to_string_lossy().ends_with("api.gitlog"));
    // Recorded under the repository's name, not the temporary file's path, so that importing the
    // same repository again replaces its history instead of adding it twice.
    let planned = plan(&files, &Options::default()).unwrap();
    assert_eq!(planned[0].name, "api.gitlog");
    let again = assure_evidence::import::expand(std::slice::from_ref(&repo)).unwrap();
    assert_ne!(again[0], files[0], "each expansion writes its own temporary file");
    assert_eq!(plan(&again, &Options::default()).unwrap()[0].name, "api.gitlog");
    let rows = import_and_load(&files, "changes");
    let text: Vec<String> = rows
        .iter()
        .map(|r| {
            r.split(' ')
                .filter(|f| !f.starts_with("change_id="))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    insta::assert_snapshot!(text.join("\n"));
}

/// Two things curl's real history holds: a message written in Latin-1 with no declared encoding
/// (recorded whole, the bytes read as the characters they were meant to be), and an author credited
/// by name with no address (the change is kept, its author the name).
#[test]
fn a_git_history_with_latin_1_and_an_author_without_address_is_read_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("old");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| git_in(&repo, args);
    git(&["init", "-q", "-b", "main"]);
    // Written as a raw commit object: today's `git commit` converts such a message to UTF-8, but
    // commits made by older tools hold the bytes as they were typed.
    git(&["hash-object", "-t", "tree", "-w", "/dev/null"]);
    let object = tmp.path().join("commit");
    std::fs::write(
        &object,
        b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author Ian Blanes <> 1772445600 +0000\n\
committer Bo <bo@acme.example> 1772449200 +0000\n\n\
fix the parser\n\nThanks to Martin Storsj\xf6 for the report.\n\nReviewed-by: Ana <ana@acme.example>\n",
    )
    .unwrap();
    let id = git(&["hash-object", "-t", "commit", "-w", object.to_str().unwrap()]);
    git(&["update-ref", "refs/heads/main", id.trim()]);
    let files = assure_evidence::import::expand(std::slice::from_ref(&repo)).unwrap();
    let recorded = std::fs::read_to_string(&files[0]).expect("the recorded history is UTF-8");
    assert!(recorded.contains("Martin Storsjö"), "{recorded}");
    let rows = import_and_load(&files, "changes");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].contains("ana@acme.example"),
        "the reviewer is read: {}",
        rows[0]
    );
    assert!(
        rows[0].contains("author_email=ian blanes"),
        "the author is the name: {}",
        rows[0]
    );
}

#[test]
fn google_workspace_users_from_the_directory_api() {
    let csv = "primaryEmail,id,creationTime,isAdmin,isEnrolledIn2Sv,lastLoginTime,suspended,archived\n\
ana@acme.example,1001,2024-01-10T09:00:00.000Z,True,True,2026-11-20T08:00:00.000Z,False,False\n\
bo@acme.example,1002,2026-02-02T09:00:00.000Z,False,False,1970-01-01T00:00:00.000Z,False,False\n\
di@acme.example,1003,2023-05-01T09:00:00.000Z,False,True,2026-04-14T17:00:00.000Z,True,False\n";
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), "gam-users.csv", csv.as_bytes());
    insta::assert_snapshot!(import_and_load(&[f], "accounts").join("\n"));
}

#[test]
fn canonical_xlsx_with_real_dates_and_a_compression_bomb_refused() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("people.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in [
        "Person ID",
        "Email",
        "Name",
        "Worker Type",
        "Hire Date",
        "Termination Date",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_number(1, 0, 1001.0).unwrap();
    ws.write_string(1, 1, "ana@acme.example").unwrap();
    ws.write_string(1, 2, "Ana").unwrap();
    ws.write_string(1, 3, "Employee").unwrap();
    ws.write_datetime_with_format(1, 4, ExcelDateTime::from_ymd(2024, 1, 10).unwrap(), &date)
        .unwrap();
    ws.write_number(2, 0, 1002.0).unwrap();
    ws.write_string(2, 1, "bo@acme.example").unwrap();
    ws.write_string(2, 2, "Bo").unwrap();
    ws.write_string(2, 3, "contractor").unwrap();
    ws.write_datetime_with_format(2, 4, ExcelDateTime::from_ymd(2026, 2, 2).unwrap(), &date)
        .unwrap();
    ws.write_datetime_with_format(2, 5, ExcelDateTime::from_ymd(2026, 8, 31).unwrap(), &date)
        .unwrap();
    wb.save(&path).unwrap();
    let planned = plan(std::slice::from_ref(&path), &Options::default()).unwrap();
    assert_eq!(
        (planned[0].connector, planned[0].table, planned[0].rows),
        ("canonical-xlsx", "people", 2)
    );
    insta::assert_snapshot!(import_and_load(&[path], "people").join("\n"));

    // A zip that expands far beyond the limit is refused before it is decompressed.
    let bomb = tmp.path().join("bomb.xlsx");
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(&bomb).unwrap());
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        z.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..600 {
            z.write_all(&zeros).unwrap();
        }
        z.finish().unwrap();
    }
    assert!(std::fs::metadata(&bomb).unwrap().len() < 4 << 20);
    let errs = plan(
        &[bomb],
        &Options {
            table: Some("people".into()),
            ..Options::default()
        },
    )
    .unwrap_err();
    assert!(errs[0].message.contains("compression bomb"), "{errs:?}");
}

/// Writes an `accounts` file the way a warehouse export or pandas would: typed columns, a zoned and
/// a zone-less timestamp, booleans, nulls and a column the table does not know.
fn accounts_parquet(bad_kind: bool) -> Vec<u8> {
    use arrow::array::{ArrayRef, BooleanArray, StringArray, TimestampMicrosecondArray};
    use arrow::record_batch::RecordBatch;
    use std::sync::Arc;
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("System", Arc::new(StringArray::from(vec!["okta", "aws"]))),
        ("account_id", Arc::new(StringArray::from(vec!["00u1", "ci-deployer"]))),
        (
            "email",
            Arc::new(StringArray::from(vec![Some("ana@acme.example"), None])),
        ),
        (
            "kind",
            Arc::new(StringArray::from(vec![
                "human",
                if bad_kind { "robot" } else { "service" },
            ])),
        ),
        ("privileged", Arc::new(BooleanArray::from(vec![true, false]))),
        ("mfa_enabled", Arc::new(BooleanArray::from(vec![Some(true), None]))),
        ("status", Arc::new(StringArray::from(vec!["active", "active"]))),
        (
            "created_at",
            Arc::new(
                TimestampMicrosecondArray::from(vec![1_767_225_600_000_000, 1_767_312_000_000_000])
                    .with_timezone("UTC"),
            ),
        ),
        (
            "last_login_at",
            Arc::new(TimestampMicrosecondArray::from(vec![Some(1_780_000_000_000_000), None])),
        ),
        ("cost_centre", Arc::new(StringArray::from(vec!["R&D", "Ops"]))),
    ];
    let batch = RecordBatch::try_from_iter(cols).unwrap();
    let mut out = Vec::new();
    // Zstandard, as Polars and DuckDB users commonly write.
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    out
}

#[test]
fn canonical_parquet_with_typed_columns_and_nulls() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), "accounts.parquet", &accounts_parquet(false));
    let planned = plan(std::slice::from_ref(&f), &Options::default()).unwrap();
    let p = &planned[0];
    assert_eq!((p.connector, p.table, p.rows), ("canonical-parquet", "accounts", 2));
    insta::assert_snapshot!(import_and_load(&[f], "accounts").join("\n"), @"
    system=okta account_id=00u1 email=ana@acme.example kind=human privileged=true mfa_enabled=true status=active created_at=2026-01-01T00:00:00.000000Z last_login_at=2026-05-28T20:26:40.000000Z
    system=aws account_id=ci-deployer kind=service privileged=false status=active created_at=2026-01-02T00:00:00.000000Z
    ");
}

/// Writes a file, plans its import and returns the problems as a user sees them.
fn refused(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let f = write(dir, name, bytes);
    plan(&[f], &Options::default())
        .unwrap_err()
        .iter()
        .map(|e| format!("{e}\n").replace(&dir.display().to_string(), "[TMP]"))
        .collect()
}

#[test]
fn parquet_values_are_checked_like_any_other_row() {
    let tmp = tempfile::tempdir().unwrap();
    let text = refused(tmp.path(), "accounts.parquet", &accounts_parquet(true));
    insta::assert_snapshot!(text, @"
    [TMP]/accounts.parquet, row 2, column `kind`: `robot` is not an allowed value
      = hint: use one of: human, service
    ");
}

#[test]
fn a_truncated_parquet_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = accounts_parquet(false);
    let text = refused(tmp.path(), "accounts.parquet", &bytes[..bytes.len() - 20]);
    insta::assert_snapshot!(text, @"
    [TMP]/accounts.parquet: not a readable Parquet file (Parquet error: Invalid Parquet file. Corrupt footer)
      = hint: write the file again; it may be truncated
    ");
}

/// A Parquet file found by fuzzing that made the parquet reader panic: one clear problem now, and
/// the process goes on.
#[test]
fn a_file_that_crashes_its_reader_is_one_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = include_bytes!("../../fixtures/crashes/parquet-metadata.parquet");
    for table in [Some("accounts"), None] {
        let out = refused_for(tmp.path(), "x.parquet", bytes, table);
        assert!(
            out.contains("reader failed on this file") || out.contains("parquet"),
            "{out}"
        );
    }
}

fn refused_for(dir: &Path, name: &str, bytes: &[u8], table: Option<&str>) -> String {
    let f = write(dir, name, bytes);
    let opts = Options {
        table: table.map(str::to_string),
        ..Options::default()
    };
    plan(&[f], &opts)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Small files built to exhaust memory (each once took the process down): every one is one clear
/// problem now, read within bounded memory.
#[test]
fn files_made_to_exhaust_memory_are_refused_with_one_clear_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], Option<&str>); 11] = [
        // Cells at A1 and XFD1048576: the sheet declares 17 billion cells and holds two.
        (
            "far-cell.xlsx",
            include_bytes!("../../fixtures/crashes/xlsx-far-cell.xlsx"),
            Some("accounts"),
        ),
        // A shared-string table that declares 400 billion strings and holds one.
        (
            "strings.xlsx",
            include_bytes!("../../fixtures/crashes/xlsx-shared-strings-count.xlsx"),
            None,
        ),
        // 117 KB of gzip that expands to 120 MB of `,0`: 60 million JSON values.
        (
            "values.json.gz",
            include_bytes!("../../fixtures/crashes/cloudtrail-values.json.gz"),
            None,
        ),
        // 6 KB of gzip holding two million empty CloudTrail records.
        (
            "records.json.gz",
            include_bytes!("../../fixtures/crashes/cloudtrail-many-records.json.gz"),
            None,
        ),
        // 4 KB of Parquet whose dictionary repeats one 4 MB value on 200,000 rows (800 GB decoded).
        (
            "dictionary.parquet",
            include_bytes!("../../fixtures/crashes/parquet-dictionary.parquet"),
            None,
        ),
        (
            "dictionary-named.parquet",
            include_bytes!("../../fixtures/crashes/parquet-dictionary.parquet"),
            Some("accounts"),
        ),
        // 359 bytes of Parquet declaring 50 million rows whose every cell is empty (one run of
        // definition levels per column).
        (
            "null-rows.parquet",
            include_bytes!("../../fixtures/crashes/parquet-null-rows.parquet"),
            Some("accounts"),
        ),
        // 212 bytes: one run-length-encoded `true` on 50 million rows.
        (
            "boolean-rows.parquet",
            include_bytes!("../../fixtures/crashes/parquet-boolean-rows.parquet"),
            Some("accounts"),
        ),
        // The same page under a footer that declares one row: the pages' own counts are what the
        // reader decodes, so they are what is bounded.
        (
            "footer-rows.parquet",
            include_bytes!("../../fixtures/crashes/parquet-footer-rows.parquet"),
            Some("accounts"),
        ),
        // 292 bytes: one row whose `role` is a list of 50 million empty values.
        (
            "list-values.parquet",
            include_bytes!("../../fixtures/crashes/parquet-list-values.parquet"),
            Some("accounts"),
        ),
        // 219 bytes: 50 million rows of a nested column no table names (what fuzzing found: a
        // boolean inside a struct, decoded whole before this check).
        (
            "struct-unknown.parquet",
            include_bytes!("../../fixtures/crashes/parquet-struct-unknown.parquet"),
            Some("accounts"),
        ),
    ];
    let mut seen = String::new();
    for (name, bytes, table) in cases {
        let out = refused_for(tmp.path(), name, bytes, table).replace(&tmp.path().display().to_string(), "[TMP]");
        seen.push_str(&format!(
            "## {name}\n{}\n",
            out.lines().take(4).collect::<Vec<_>>().join("\n")
        ));
    }
    insta::assert_snapshot!(seen);
}

/// A NUL byte (which text formats can carry only escaped) or a value longer than a cell may be is
/// refused at its row and column.
#[test]
fn nul_bytes_and_over_long_cells_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let long = "x".repeat(70 * 1024);
    let ndjson = format!(
        "{{\"email\": \"a@x.example\", \"course\": \"sec\\u0000ret\", \"completed_at\": \"2026-02-03T10:00:00Z\"}}\n{{\"email\": \"b@x.example\", \"course\": \"{long}\", \"completed_at\": \"2026-02-03T10:00:00Z\"}}\n"
    );
    let text = refused(tmp.path(), "trainings.ndjson", ndjson.as_bytes());
    insta::assert_snapshot!(text, @"
    [TMP]/trainings.ndjson, row 1, column `course`: the value holds a NUL character
      = hint: export the file again as text; NUL is not part of any value
    [TMP]/trainings.ndjson, row 2, column `course`: the value is 70 KiB, longer than 64 KiB
      = hint: keep evidence cells short: a reference or an id, not a document
    ");
}

/// A JSON array is read one row at a time; a single row larger than a line may be (here written
/// over many lines) is refused before it is built.
#[test]
fn a_json_row_larger_than_a_line_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let huge = format!(
        "[{{\"email\": \"a@x.example\", \"course\": \"sec\", \"completed_at\": \"2026-02-03T10:00:00Z\"}},\n {{\"email\": \"b@x.example\", \"x_notes\": [{}0]}}]",
        "0,\n".repeat(6 * 1024 * 1024)
    );
    let text = refused(tmp.path(), "trainings.json", huge.as_bytes());
    insta::assert_snapshot!(text, @"
    [TMP]/trainings.json: a row is longer than 16 MiB at line 5614239 column 1
      = hint: split the row, or write NDJSON (one object per line)
    ");
}

/// Every workflow in one history (`fixtures/connectors/git-log.gitlog`, written by `git log` from a
/// repository built for it): a squash merge with a reviewer and a co-author, a squash merge whose
/// only reviewer is its co-author, a Gerrit change with `Code-Review+2` votes and a `Fixes:`
/// ticket, a commit only acknowledged (`Acked-by`), and a merged branch whose author is not the
/// person who merged it.
#[test]
fn git_history_of_every_workflow_reads_reviewers_tickets_and_branch_authors() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("api.gitlog");
    std::fs::write(&path, include_bytes!("../../fixtures/connectors/git-log.gitlog")).unwrap();
    let rows = import_and_load(&[path], "changes");
    insta::assert_snapshot!(rows.join("\n"));
}

/// A history recorded by an earlier version (merge commits only) reads back as it was recorded.
#[test]
fn a_git_history_recorded_by_version_1_reads_back_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("api.gitlog");
    std::fs::write(&path, include_bytes!("../../fixtures/connectors/git-log-v1.gitlog")).unwrap();
    let rows = import_and_load(&[path], "changes");
    insta::assert_snapshot!(rows.join("\n"));
}

/// The AWS IAM credential report as AWS documents it and moto's IAM (5.2.1, Apache-2.0) writes it:
/// the root user (privileged, no password column of its own), console users with and without MFA, a
/// deployer with only an access key (a service account) and a user with no credential left.
#[test]
fn the_aws_credential_report_names_root_service_and_console_users() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("credential-report.csv");
    std::fs::write(
        &path,
        include_bytes!("../../fixtures/connectors/aws-credential-report.csv"),
    )
    .unwrap();
    let rows = import_and_load(&[path], "accounts");
    insta::assert_snapshot!(rows.join("\n"));
}

/// Messages are not only ASCII: a reference right after a curly quote or an accented letter is read,
/// never split inside a character.
#[test]
fn git_messages_in_any_script_read_their_ticket_references() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("api.gitlog");
    let commit = |hash: &str, subject: &str, body: &str| {
        format!(
            "\u{1e}{hash}\u{1f}p1\u{1f}Zoë\u{1f}zoe@acme.example\u{1f}2026-03-01T10:00:00Z\u{1f}Zoë\u{1f}zoe@acme.example\u{1f}2026-03-01T10:00:00Z\u{1f}{subject}\u{1f}{body}\n"
        )
    };
    let text = format!(
        "assure-git-log v2 api\n{}{}",
        commit("a1", "Corrige “#12” et é#13", "Relu-par: quelqu’un\nFixes: 課題#14\n"),
        commit(
            "a2",
            "Résout ÉQUIPE-7 — ok",
            "Reviewed-by: Zoë Ärger <zoe2@acme.example>\n"
        )
    );
    std::fs::write(&path, text).unwrap();
    let rows = import_and_load(&[path], "changes");
    assert!(rows[0].contains("ticket_id=#12;#13;#14"), "{}", rows[0]);
    assert!(
        rows[1].contains("approver_emails=zoë ärger <zoe2@acme.example>") && !rows[1].contains("ticket_id"),
        "{}",
        rows[1]
    );
}

/// Imports one connector fixture by content (no connector named) and returns the connector chosen
/// and the rows read back.
fn fixture_rows(name: &str, bytes: &[u8], table: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let planned = plan(std::slice::from_ref(&path), &Options::default()).unwrap_or_else(|e| panic!("{e:?}"));
    let rows = import_and_load(&[path], table);
    format!("connector: {}\n{}", planned[0].connector, rows.join("\n"))
}

/// Jamf Pro's computer inventory as its API documents it: FileVault from `fileVault2Enabled` or the
/// boot partition's state, configuration profiles listed, an unmanaged computer retired, emails
/// lower-cased and an empty one left empty.
#[test]
fn jamf_computers_read_filevault_profiles_and_management() {
    insta::assert_snapshot!(fixture_rows(
        "computers-inventory.json",
        include_bytes!("../../fixtures/connectors/jamf-computers.json"),
        "devices"
    ));
}

/// Kandji's device details (FileVault, installed profiles, assigned user) and list entries (no
/// encryption state: unknown, never assumed), a removed device retired, an iPad as `ipados`.
#[test]
fn kandji_devices_from_details_and_from_the_list() {
    insta::assert_snapshot!(fixture_rows(
        "kandji.json",
        include_bytes!("../../fixtures/connectors/kandji-devices.json"),
        "devices"
    ));
}

/// Intune managed devices as Microsoft Graph returns them: `isEncrypted`, compliance verdicts
/// (`inGracePeriod` is unknown), the user principal name when no email is set.
#[test]
fn intune_devices_read_encryption_and_compliance() {
    insta::assert_snapshot!(fixture_rows(
        "managedDevices.json",
        include_bytes!("../../fixtures/connectors/intune-devices.json"),
        "devices"
    ));
}

/// Entra ID users with the registration report's MFA and admin fields: a disabled guest suspended,
/// a deleted user deprovisioned on its deletion date, a user without `mail` named by their UPN.
#[test]
fn entra_users_read_status_mfa_and_admins() {
    insta::assert_snapshot!(fixture_rows(
        "users.json",
        include_bytes!("../../fixtures/connectors/entra-users.json"),
        "accounts"
    ));
}

/// Entra ID sign-ins: interactive ones are console sign-ins with MFA from the authentication
/// requirement or the steps, a failed password a failure, a token refresh not a console sign-in.
#[test]
fn entra_signins_read_mfa_and_outcomes() {
    insta::assert_snapshot!(fixture_rows(
        "signIns.json",
        include_bytes!("../../fixtures/connectors/entra-signins.json"),
        "events"
    ));
}

/// GitHub organization members from GraphQL: owners privileged, two-factor status where GitHub
/// shows it (null stays unknown), logins as account ids for `github:` aliases.
#[test]
fn github_members_read_roles_and_two_factor() {
    insta::assert_snapshot!(fixture_rows(
        "members.json",
        include_bytes!("../../fixtures/connectors/github-members.json"),
        "accounts"
    ));
}

/// Repositories and their default branch's protection: a protected branch with two approvals,
/// code owners and required checks; an unprotected one (GitHub's 404, saved as null); a
/// protected one that still allows force pushes and requires no reviews.
#[test]
fn github_repositories_read_branch_protection() {
    insta::assert_snapshot!(fixture_rows(
        "repositories.json",
        include_bytes!("../../fixtures/connectors/github-repositories.json"),
        "repositories"
    ));
}

/// The GitHub organization audit log: millisecond timestamps as instants, grants, an owner
/// promotion, a branch-protection override and a removal in the shared verbs.
#[test]
fn github_audit_log_reads_grants_and_overrides() {
    insta::assert_snapshot!(fixture_rows(
        "audit-log.json",
        include_bytes!("../../fixtures/connectors/github-audit-log.json"),
        "events"
    ));
}

/// Google Workspace login and admin activity: MFA from the challenge methods, 2-Step Verification
/// turned off, and an activity holding two admin events read as two rows.
#[test]
fn google_workspace_activity_reads_logins_and_admin_events() {
    insta::assert_snapshot!(fixture_rows(
        "login-activity.json",
        include_bytes!("../../fixtures/connectors/google-workspace-activity.json"),
        "events"
    ));
}

/// A Kubernetes audit log as the API server writes it: one row per request (its earlier stage
/// skipped), exec into a pod, a forbidden secret read as a failure, impersonation named.
#[test]
fn kubernetes_audit_log_reads_one_row_per_request() {
    insta::assert_snapshot!(fixture_rows(
        "audit.log",
        include_bytes!("../../fixtures/connectors/kubernetes-audit.log"),
        "events"
    ));
}

/// PagerDuty incidents: severity from priority, or from urgency when there is none; resolved
/// incidents resolved at their resolution (or last status change), open ones unresolved.
#[test]
fn pagerduty_incidents_read_severity_and_resolution() {
    insta::assert_snapshot!(fixture_rows(
        "incidents.json",
        include_bytes!("../../fixtures/connectors/pagerduty-incidents.json"),
        "incidents"
    ));
}

/// Review forms beyond `Key: value` trailers: Phabricator's `Reviewed By:` and WebKit's
/// `Reviewed by A and B.`; a revert carries the ticket of the change it reverts; prose with a
/// colon is not a trailer; issue links are tickets, a pull request link (libuv's `PR-URL:`) is not.
#[test]
fn phabricator_and_webkit_reviews_and_reverts_that_keep_their_ticket() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("api.gitlog");
    let commit = |hash: &str, when: &str, subject: &str, body: &str| {
        format!(
            "\u{1e}{hash}\u{1f}p\u{1f}Dee\u{1f}dee@acme.example\u{1f}{when}\u{1f}Dee\u{1f}dee@acme.example\u{1f}{when}\u{1f}{subject}\u{1f}{body}\n"
        )
    };
    let text = format!(
        "assure-git-log v2 api\n{}{}{}",
        commit(
            "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3",
            "2026-03-03T10:00:00Z",
            "Tweak the docs",
            "Note for readers of this section: the example moved.\n\nPR-URL: https://github.com/libuv/libuv/pull/5082\nFixes: https://github.com/libuv/libuv/issues/5081\nRefs: https://gitlab.example/acme/web/-/issues/7.\n",
        ),
        commit(
            "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2",
            "2026-03-02T10:00:00Z",
            "Revert \"Rotate signing keys\"",
            "This reverts commit a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1.\n\nReviewed by Bo Chen <bo@acme.example> and Cy Park.\n",
        ),
        commit(
            "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
            "2026-03-01T10:00:00Z",
            "Rotate signing keys",
            "Summary: rotate.\n\nReviewers: ana, bo\nReviewed By: Ana Ruiz <ana@acme.example>\nDifferential Revision: https://reviews.example/D42\nFixes: SEC-50\n",
        ),
    );
    std::fs::write(&path, text).unwrap();
    let rows = import_and_load(&[path], "changes");
    insta::assert_snapshot!(rows.join("\n"));
}
