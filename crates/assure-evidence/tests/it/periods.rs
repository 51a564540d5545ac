//! Which recorded files a run's window reads (the rules in `load`): one fixture per rule.

use std::path::Path;

use assure_evidence::import::{Meta, Options, commit, plan};
use assure_evidence::load::load_batches;
use assure_evidence::store::{EvidenceStore as _, FsStore};
use chrono::NaiveDate;

const HEADER: &str = "change_id,system,title,author_email,approver_emails,created_at,approved_at,merged_at,deployed_at,tests_passed,emergency,ticket_id\n";

fn change(id: &str, day: &str, title: &str) -> String {
    format!("{id},app,{title},a@x.example,b@x.example,{day}T09:00:00Z,{day}T10:00:00Z,{day}T11:00:00Z,,true,false,\n")
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Imports `name` with `body` into the store, recorded for `period`.
fn import(dir: &Path, store: &FsStore, name: &str, body: &str, period: (&str, &str)) {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    let planned = plan(std::slice::from_ref(&path), &Options::default()).unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
    let meta = Meta {
        at: "2027-01-10T00:00:00Z".into(),
        by: "t".into(),
        batch: name.into(),
        period_start: Some(period.0.into()),
        period_end: Some(period.1.into()),
        note: None,
    };
    commit(store, &key, &planned, &meta, &|_| Vec::new()).unwrap();
    std::fs::remove_file(&path).unwrap();
}

/// The change ids and titles a window reads, and the duplicates it left out.
fn read(store: &FsStore, from: &str, to: &str) -> (Vec<String>, u64) {
    let entries = assure_ledger::parse(&store.ledger().unwrap()).entries;
    let wanted = ["changes", "people"].into_iter().collect();
    let loaded = load_batches(store, &entries, Some(&wanted), Some((day(from), day(to)))).unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let mut out = Vec::new();
    if let Some(t) = loaded.tables.get("changes") {
        for b in &t.batches {
            let ids = b.column_by_name("change_id").unwrap();
            let titles = b.column_by_name("title").unwrap();
            let ids = ids.as_any().downcast_ref::<arrow::array::StringArray>().unwrap();
            let titles = titles.as_any().downcast_ref::<arrow::array::StringArray>().unwrap();
            for i in 0..b.num_rows() {
                out.push(format!("{}:{}", ids.value(i), titles.value(i)));
            }
        }
    }
    out.sort();
    (out, loaded.duplicates.get("changes").copied().unwrap_or(0))
}

#[test]
fn next_years_export_under_the_same_name_neither_replaces_nor_joins_this_years() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FsStore::open(tmp.path()).unwrap();
    let y2026 = format!(
        "{HEADER}{}{}",
        change("C1", "2026-03-01", "one"),
        change("C2", "2026-11-01", "two")
    );
    let y2027 = format!("{HEADER}{}", change("C3", "2027-02-01", "three"));
    import(tmp.path(), &store, "changes.csv", &y2026, ("2026-01-01", "2026-12-31"));
    import(tmp.path(), &store, "changes.csv", &y2027, ("2027-01-01", "2027-12-31"));
    assert_eq!(read(&store, "2026-01-01", "2026-12-31").0, ["C1:one", "C2:two"]);
    assert_eq!(read(&store, "2027-01-01", "2027-12-31").0, ["C3:three"]);
}

#[test]
fn an_export_is_used_by_the_days_it_covers_whatever_period_it_was_recorded_for() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FsStore::open(tmp.path()).unwrap();
    // Recorded for 2026 by mistake, but its rows are all 2027's: 2027 reads it, 2026 does not.
    let late = format!("{HEADER}{}", change("C9", "2027-01-20", "late"));
    import(
        tmp.path(),
        &store,
        "changes-jan.csv",
        &late,
        ("2026-01-01", "2026-12-31"),
    );
    assert!(read(&store, "2026-01-01", "2026-12-31").0.is_empty());
    assert_eq!(read(&store, "2027-01-01", "2027-12-31").0, ["C9:late"]);
}

#[test]
fn an_export_spanning_two_periods_serves_both() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FsStore::open(tmp.path()).unwrap();
    let span = format!(
        "{HEADER}{}{}",
        change("C1", "2026-07-01", "summer"),
        change("C2", "2027-03-01", "spring")
    );
    import(tmp.path(), &store, "changes.csv", &span, ("2026-01-01", "2026-12-31"));
    // Each window reads the file; each test keeps the rows of its own window in its SQL.
    assert_eq!(read(&store, "2026-01-01", "2026-12-31").0, ["C1:summer", "C2:spring"]);
    assert_eq!(read(&store, "2027-01-01", "2027-12-31").0, ["C1:summer", "C2:spring"]);
}

#[test]
fn a_row_exported_twice_counts_once_as_the_later_import_has_it() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FsStore::open(tmp.path()).unwrap();
    let h1 = format!(
        "{HEADER}{}{}",
        change("C1", "2026-02-01", "old"),
        change("C2", "2026-06-30", "first")
    );
    let h2 = format!(
        "{HEADER}{}{}",
        change("C2", "2026-06-30", "again"),
        change("C3", "2026-09-01", "third")
    );
    import(tmp.path(), &store, "changes-h1.csv", &h1, ("2026-01-01", "2026-12-31"));
    import(tmp.path(), &store, "changes-h2.csv", &h2, ("2026-01-01", "2026-12-31"));
    let (rows, dropped) = read(&store, "2026-01-01", "2026-12-31");
    assert_eq!(rows, ["C1:old", "C2:again", "C3:third"]);
    assert_eq!(dropped, 1);
}

#[test]
fn a_re_export_of_the_same_file_for_the_same_days_replaces_it() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FsStore::open(tmp.path()).unwrap();
    let first = format!(
        "{HEADER}{}{}",
        change("C1", "2026-02-01", "draft"),
        change("C2", "2026-03-01", "gone")
    );
    let fixed = format!("{HEADER}{}", change("C1", "2026-02-01", "fixed"));
    import(tmp.path(), &store, "changes.csv", &first, ("2026-01-01", "2026-12-31"));
    import(tmp.path(), &store, "changes.csv", &fixed, ("2026-01-01", "2026-12-31"));
    assert_eq!(
        read(&store, "2026-01-01", "2026-12-31"),
        (vec!["C1:fixed".to_string()], 0)
    );
}

#[test]
fn a_roster_belongs_to_the_period_it_was_imported_for() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FsStore::open(tmp.path()).unwrap();
    // Hire dates are history, not the days the roster covers.
    let roster = "person_id,email,name,worker_type,hire_date\np1,a@x.example,A,employee,2019-04-01\n";
    import(tmp.path(), &store, "people.csv", roster, ("2026-01-01", "2026-12-31"));
    let entries = assure_ledger::parse(&store.ledger().unwrap()).entries;
    let wanted = ["people"].into_iter().collect();
    let people = |from: &str, to: &str| {
        load_batches(&store, &entries, Some(&wanted), Some((day(from), day(to))))
            .unwrap()
            .tables
            .get("people")
            .map_or(0, |t| {
                t.batches.iter().map(arrow::array::RecordBatch::num_rows).sum::<usize>()
            })
    };
    assert_eq!(people("2026-01-01", "2026-12-31"), 1);
    assert_eq!(people("2027-01-01", "2027-12-31"), 0);
    assert_eq!(people("2019-01-01", "2019-12-31"), 0);
}
