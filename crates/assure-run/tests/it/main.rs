//! The runner's one integration-test binary: a project from a template, an export imported through
//! the application layer, and the engine evaluating it; conclusions per test and control, and the
//! run recorded so it can be re-performed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

use assure_evidence::import::Meta;
use assure_project::init::Template;
use assure_project::model::ExamType;
use assure_run::{Conclusion, Engine, ItemStatus};
use assure_workspace::{RunOptions, Workspace};
use chrono::NaiveDate;

const CHANGES: &str = "change_id,system,title,author_email,approver_emails,created_at,approved_at,merged_at,deployed_at,tests_passed,emergency,ticket_id
101,api,ok,ana@northwind.example,bo@northwind.example,2026-03-01T09:00:00Z,2026-03-01T10:00:00Z,2026-03-01T11:00:00Z,,true,false,
102,api,self-approved,ana@northwind.example,ana@northwind.example,2026-03-02T09:00:00Z,2026-03-02T10:00:00Z,2026-03-02T11:00:00Z,,true,false,
103,api,none,bo@northwind.example,,2026-03-03T09:00:00Z,,2026-03-03T11:00:00Z,,true,false,
104,api,late approval,bo@northwind.example,ana@northwind.example,2026-03-04T09:00:00Z,2026-03-05T10:00:00Z,2026-03-04T11:00:00Z,,true,false,
105,api,emergency,bo@northwind.example,,2026-03-06T09:00:00Z,,2026-03-06T11:00:00Z,,true,true,
106,api,outside the period,ana@northwind.example,,2025-12-01T09:00:00Z,,2025-12-01T11:00:00Z,,true,false,
";

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn setup() -> (tempfile::TempDir, Workspace) {
    let tmp = tempfile::tempdir().unwrap();
    let ws = Workspace::new(tmp.path().join("p"));
    ws.init(Template::Saas).unwrap();
    let file = tmp.path().join("changes.csv");
    std::fs::write(&file, CHANGES).unwrap();
    let planned = ws.plan_import(&[file], None, None).unwrap();
    ws.commit_import(&planned, &meta("b")).unwrap();
    (tmp, ws)
}

/// An import for the first half of 2026.
fn meta(batch: &str) -> Meta {
    Meta {
        at: "2026-07-01T10:00:00Z".into(),
        by: "tester".into(),
        period_start: Some("2026-01-01".into()),
        period_end: Some("2026-06-30".into()),
        note: None,
        batch: batch.into(),
    }
}

fn opts(exam: ExamType, only: &[&str]) -> RunOptions {
    RunOptions {
        window: assure_schema::Window {
            period_start: day(2026, 1, 1),
            period_end: day(2026, 6, 30),
            as_of: day(2026, 6, 30),
        },
        exam,
        only: only.iter().map(ToString::to_string).collect(),
        at: "2026-07-01T12:00:00Z".into(),
        by: "tester".into(),
        full: false,
        keep_if_unchanged: false,
        every_row: false,
    }
}

#[test]
fn a_type_2_run_finds_each_exception_and_records_the_run() {
    let (_tmp, ws) = setup();
    let mut seen = Vec::new();
    let (record, entry) = ws
        .run_tests(
            &Engine,
            &opts(ExamType::Type2, &["changes-peer-approved"]),
            &mut |done, total, id| {
                seen.push(format!("{done}/{total} {id}"));
            },
        )
        .unwrap();
    // Each step is announced as it starts.
    assert_eq!(
        seen,
        [
            "0/1 reading the evidence",
            "0/1 resolving identities",
            "0/1 changes-peer-approved",
            "1/1 recording the run"
        ]
    );
    let t = &record.tests[0];
    // 101-104 are in the period and not emergencies; 105 is an emergency, 106 before the period.
    assert_eq!(
        (t.population, t.exceptions, t.conclusion),
        (4, 3, Conclusion::Exceptions)
    );
    let mut fails: Vec<(&str, &str)> = t
        .items
        .iter()
        .filter(|i| i.status == ItemStatus::Fail)
        .map(|i| (i.item.as_str(), i.reason.as_str()))
        .collect();
    fails.sort_unstable();
    assert_eq!(
        fails,
        [
            ("api#102", "approved only by its author ana@northwind.example"),
            ("api#103", "merged without any approval"),
            ("api#104", "approved after it was merged"),
        ]
    );
    // In memory the outcome keeps only what did not pass: its rows were recorded as the test ended.
    assert!(t.items.iter().all(|i| i.status != ItemStatus::Pass), "{t:?}");
    // Passing items are recorded by id only.
    let whole = ws.recorded_run(&entry).unwrap();
    let pass = whole.tests[0]
        .items
        .iter()
        .find(|i| i.status == ItemStatus::Pass)
        .unwrap();
    assert_eq!((pass.item.as_str(), pass.reason.as_str()), ("api#101", ""));
    assert_eq!(whole.tests[0].items.len(), 4);
    assert_eq!(record.controls[0].id, "CHG-01");
    assert_eq!(record.controls[0].conclusion, Conclusion::Exceptions);
    assert_eq!(record.inputs.len(), 1);
    assert_eq!(entry.draft.action, assure_ledger::Action::TestRun);
    assert_eq!(entry.draft.rows, Some(4));
    // The ledger reads the same run back; the snapshot, which shows the project's period (the whole
    // year), does not take a run of half of it as the period's results.
    let store = ws.store().unwrap();
    let entries = assure_ledger::parse(&assure_evidence::store::EvidenceStore::ledger(&store).unwrap()).entries;
    let (back, _) = assure_workspace::records::latest_run(&store, &entries).unwrap();
    assert_eq!(back.as_ref().map(|(s, r)| (*s, r)), Some((entry.seq, &whole)));
    let snap = ws.snapshot(day(2026, 6, 30)).unwrap();
    assert!(snap.run.is_none());
}

#[test]
fn type_1_and_missing_tables_conclude_as_such() {
    let (_tmp, ws) = setup();
    let (record, _) = ws
        .run_tests(
            &Engine,
            &opts(ExamType::Type1, &["changes-peer-approved", "training-annual"]),
            &mut |_, _, _| {},
        )
        .unwrap();
    let by_id = |id: &str| record.tests.iter().find(|t| t.id == id).unwrap();
    assert_eq!(by_id("changes-peer-approved").conclusion, Conclusion::Implemented);
    let training = by_id("training-annual");
    assert_eq!(training.conclusion, Conclusion::NotRun);
    assert!(
        training.note.as_deref().unwrap().starts_with("no evidence for"),
        "{training:?}"
    );
}

#[test]
fn the_same_inputs_give_the_same_run_and_a_second_run_reuses_what_did_not_change() {
    let (tmp, ws) = setup();
    let o = opts(ExamType::Type2, &[]);
    let (a, first) = ws.run_tests(&Engine, &o, &mut |_, _, _| {}).unwrap();
    assert!(a.reused.is_empty() && a.reused_from.is_none());
    assert_eq!(a.definitions.len(), 64);
    // Nothing changed: every outcome is reused, and each is what the first run concluded.
    let mut steps = Vec::new();
    let (b, second) = ws
        .run_tests(&Engine, &o, &mut |_, _, step| steps.push(step.to_string()))
        .unwrap();
    let ran: Vec<&String> = steps.iter().filter(|s| a.tests.iter().any(|t| &t.id == *s)).collect();
    assert!(ran.is_empty(), "no test ran again: {ran:?}");
    // Every concluded outcome is reused; tests that could not run (no evidence) are simply tried again.
    let concluded: Vec<&str> = a
        .tests
        .iter()
        .filter(|t| t.conclusion != Conclusion::NotRun)
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(b.reused, concluded);
    assert_eq!(b.reused_from, Some(first.seq));
    // In memory a reused outcome keeps only its items that did not pass (its passing items were not
    // read); the recorded run holds every item, as the first run did.
    assert_eq!(b.tests.len(), a.tests.len());
    assert!(
        b.tests
            .iter()
            .zip(&a.tests)
            .all(|(x, y)| assure_workspace::runfile::same_outcome(x, y))
    );
    // The first run too held only what did not pass; its recorded file holds every item.
    let whole = ws.recorded_run(&first).unwrap().tests;
    assert!(whole.iter().all(|t| t.items.len() == t.population));
    assert!(
        whole
            .iter()
            .zip(&a.tests)
            .all(|(x, y)| assure_workspace::runfile::same_outcome(x, y))
    );
    assert_eq!(ws.recorded_run(&second).unwrap().tests, whole);
    // A recorded run altered on disk is never reused or copied: it is refused by name, and the
    // next run tests everything again.
    let hash = &second.draft.blob.as_ref().unwrap().blake3;
    let path = tmp
        .path()
        .join("p/.assure/evidence/blobs")
        .join(&hash[..2])
        .join(&hash[2..]);
    let mut bytes = std::fs::read(&path).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let last = bytes.len() - 20;
    bytes[last] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let e = ws.recorded_run(&second).unwrap_err().to_string();
    assert!(
        e.contains(&format!(
            "the test run recorded as entry {} does not match its recorded BLAKE3",
            second.seq
        )),
        "{e}"
    );
    let (again, _) = ws.run_tests(&Engine, &o, &mut |_, _, _| {}).unwrap();
    assert!(
        again.reused.is_empty() && again.reused_from.is_none(),
        "{:?}",
        again.reused
    );
    assert_eq!(ws.recorded_run(&ws_last_run(&ws)).unwrap().tests, whole);
    assert_eq!(b.controls, a.controls);
    assert_eq!(b.inputs, a.inputs);
    // --full runs everything again and concludes the same.
    let full = RunOptions {
        full: true,
        keep_if_unchanged: false,
        every_row: false,
        ..o.clone()
    };
    let (c, _) = ws.run_tests(&Engine, &full, &mut |_, _, _| {}).unwrap();
    assert!(c.reused.is_empty());
    assert_eq!(c.tests, a.tests);
    // A new export of one table re-runs only the tests that read it.
    let file = tmp.path().join("changes-2.csv");
    std::fs::write(&file, CHANGES.replace(",api,", ",web,")).unwrap();
    let planned = ws.plan_import(&[file], None, None).unwrap();
    let meta = Meta {
        at: "2026-07-02T10:00:00Z".into(),
        by: "tester".into(),
        batch: "c".into(),
        ..Meta::default()
    };
    ws.commit_import(&planned, &meta).unwrap();
    let (d, _) = ws.run_tests(&Engine, &o, &mut |_, _, _| {}).unwrap();
    let rerun: Vec<&str> = d
        .tests
        .iter()
        .filter(|t| t.conclusion != Conclusion::NotRun && !d.reused.contains(&t.id))
        .map(|t| t.id.as_str())
        .collect();
    assert!(!rerun.is_empty());
    assert!(
        rerun.iter().all(|id| [
            "changes-linked-to-ticket",
            "changes-peer-approved",
            "changes-tested-before-merge",
            "emergency-changes-approved-afterwards"
        ]
        .contains(id)),
        "{rerun:?}"
    );
    let peer = d.tests.iter().find(|t| t.id == "changes-peer-approved").unwrap();
    assert_eq!(peer.exceptions, 6, "both exports count");
    // An outcome is reused only while its evidence still checks out: alter a columnar copy on
    // disk and the tests that read it run again, and stop, naming the file.
    let dir = ws.dir().join(".assure/evidence/columnar");
    // A copy of a changes export (the registers' copies are recorded too), kept under the
    // original's hash.
    let ledger = std::fs::read_to_string(ws.dir().join(".assure/evidence/ledger.jsonl")).unwrap();
    let changes: Vec<String> = assure_ledger::parse(&ledger)
        .entries
        .iter()
        .filter(|e| e.draft.table.as_deref() == Some("changes"))
        .map(|e| e.draft.blob.as_ref().unwrap().blake3.clone())
        .collect();
    let copy = walk(&dir)
        .into_iter()
        .find(|p| {
            changes
                .iter()
                .any(|h| p.to_string_lossy().ends_with(&format!("{}.parquet", &h[2..])))
        })
        .unwrap();
    let mut bytes = std::fs::read(&copy).unwrap();
    let k = bytes.len() / 2;
    bytes[k] ^= 0x55;
    std::fs::write(&copy, bytes).unwrap();
    let (e, _) = ws.run_tests(&Engine, &o, &mut |_, _, _| {}).unwrap();
    let peer = e.tests.iter().find(|t| t.id == "changes-peer-approved").unwrap();
    assert_eq!(peer.conclusion, Conclusion::NotRun);
    assert!(
        peer.note.as_deref().unwrap().contains("was altered after import"),
        "{peer:?}"
    );
    assert!(!e.reused.contains(&peer.id));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// A project whose ledger was written by an earlier version (format 1, no columnar copies) is
/// migrated on its first run: each original is checked, copied, and the copy recorded in a signed
/// `derive` entry; the results are those of the originals.
#[test]
fn a_format_1_ledger_is_migrated_on_first_use() {
    use assure_evidence::store::EvidenceStore as _;
    let tmp = tempfile::tempdir().unwrap();
    let ws = Workspace::new(tmp.path().join("p"));
    ws.init(Template::Saas).unwrap();
    let w = ws.open_write(false).unwrap();
    let blob = w.store.put_blob(&mut CHANGES.as_bytes(), "changes.csv").unwrap();
    let mut d = assure_ledger::Draft::new(assure_ledger::Action::Import, "2026-07-01T10:00:00Z", "tester");
    d.blob = Some(blob);
    d.connector = Some("canonical-csv".into());
    d.table = Some("changes".into());
    d.rows = Some(6);
    d.controls = vec!["CHG-01".into()];
    let (_, text) = assure_ledger::seal_as(1, &assure_ledger::Tip::default(), vec![d], &w.key);
    std::fs::write(ws.dir().join(".assure/evidence/ledger.jsonl"), text).unwrap();
    let mut steps = Vec::new();
    let (record, entry) = ws
        .run_tests(
            &Engine,
            &opts(ExamType::Type2, &["changes-peer-approved"]),
            &mut |_, _, what| {
                steps.push(what.to_string());
            },
        )
        .unwrap();
    assert!(
        steps.iter().any(|s| s == "writing the columnar copy of changes.csv"),
        "{steps:?}"
    );
    assert_eq!(record.tests[0].exceptions, 3);
    assert!(record.inputs[0].columnar.is_some(), "{:?}", record.inputs);
    let parsed = assure_ledger::parse(&w.store.ledger().unwrap());
    assert!(parsed.ok());
    let derive = &parsed.entries[1];
    assert_eq!(derive.draft.action, assure_ledger::Action::Derive);
    assert_eq!(derive.format, 2);
    assert_eq!(entry.seq, 3);
    // The migrated copy is derived data: rebuilding it gives the recorded bytes.
    let rebuilt = assure_evidence::load::rebuild(&w.store, &parsed.entries, &mut |_, _| {}).unwrap();
    assert_eq!(rebuilt.len(), 1);
    assert_eq!(rebuilt[0].result, Ok(()));
    // The whole ledger, format 1 and 2 together, verifies.
    let v = ws.verify(None).unwrap().unwrap();
    assert!(v.report.ok(), "{:?}", v.report.findings);
}

/// The registers a project keeps (risks/*.toml, vendors/*.toml) are what their tests read: a copy
/// is recorded at the run when the register changed (and only then), the run names it as an input,
/// an edit to the register shows in the next run, and an imported copy of the table is refused.
#[test]
fn the_tests_read_the_project_s_registers_not_an_imported_copy() {
    let (tmp, ws) = setup();
    let only = ["risk-register-reviewed", "subservice-soc-report-current"];
    let (_, entry) = ws
        .run_tests(&Engine, &opts(ExamType::Type2, &only), &mut |_, _, _| {})
        .unwrap();
    let record = ws.recorded_run(&entry).unwrap();
    let names: Vec<&str> = record.inputs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["register/risks.csv", "register/vendors.csv"]);
    let risks = record.tests.iter().find(|t| t.id == "risk-register-reviewed").unwrap();
    // The template's eight risks were assessed on 2026-03-16, inside the half-year.
    assert_eq!((risks.population, risks.exceptions), (8, 0), "{risks:?}");
    let aws = record
        .tests
        .iter()
        .find(|t| t.id == "subservice-soc-report-current")
        .unwrap();
    assert_eq!(aws.items.len(), 1);
    assert_eq!(aws.items[0].item, "aws");
    assert_eq!(aws.items[0].status, ItemStatus::Pass, "{aws:?}");
    // Nothing changed: no new copy.
    let ledger = |ws: &Workspace| std::fs::read_to_string(ws.dir().join(".assure/evidence/ledger.jsonl")).unwrap();
    let before = ledger(&ws).lines().count();
    ws.run_tests(&Engine, &opts(ExamType::Type2, &only), &mut |_, _, _| {})
        .unwrap();
    assert_eq!(ledger(&ws).lines().count(), before + 1, "only the run is recorded");
    // The register changes: a risk's assessment is older, a complementary control loses its mapping.
    let path = ws.dir().join("risks/register.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("reviewed_on = 2026-03-16", "reviewed_on = 2025-10-01", 1),
    )
    .unwrap();
    let path = ws.dir().join("vendors/aws.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("controls = [\"AC-01\"]", "controls = []", 1)).unwrap();
    let (record, _) = ws
        .run_tests(&Engine, &opts(ExamType::Type2, &only), &mut |_, _, _| {})
        .unwrap();
    let risks = record.tests.iter().find(|t| t.id == "risk-register-reviewed").unwrap();
    assert_eq!(risks.exceptions, 1);
    let r01 = risks.items.iter().find(|i| i.status == ItemStatus::Fail).unwrap();
    assert_eq!(r01.item, "R-01");
    assert_eq!(r01.reason, "last reviewed on 2025-10-01, before the period");
    let aws = record
        .tests
        .iter()
        .find(|t| t.id == "subservice-soc-report-current")
        .unwrap();
    assert_eq!(
        aws.items[0].reason,
        "Amazon Web Services report expects 1 complementary control(s) of us that no control of ours carries out"
    );
    // The run read the new copies, each recorded under the same name, superseding the old.
    assert_eq!(record.inputs.len(), 2);
    assert!(record.inputs.iter().all(|s| s.seq > before as u64));
    // A register entry the table cannot hold stops the run, naming the file, the entry and the
    // field; nothing is recorded.
    let path = ws.dir().join("vendors/datadog.toml");
    let good = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        good.replace("criticality = \"medium\"\n", "criticality = \"severe\"\n"),
    )
    .unwrap();
    let lines = ledger(&ws).lines().count();
    let e = ws
        .run_tests(&Engine, &opts(ExamType::Type2, &only), &mut |_, _, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("vendors/datadog.toml, `datadog`, field `criticality`"),
        "{e}"
    );
    assert_eq!(ledger(&ws).lines().count(), lines, "nothing recorded");
    std::fs::write(&path, good).unwrap();
    // An imported risks table is refused, saying where the register is.
    let file = tmp.path().join("risks.csv");
    std::fs::write(
        &file,
        "risk_id,title,likelihood,impact,owner_email,treatment,last_reviewed_at\nR-01,x,1,1,,accept,2026-05-01T00:00:00Z\n",
    )
    .unwrap();
    let planned = ws.plan_import(&[file], None, None).unwrap();
    let e = ws.commit_import(&planned, &meta("r")).unwrap_err().to_string();
    assert!(
        e.contains("this project keeps that register in risks/*.toml") && e.contains("an imported copy could disagree"),
        "{e}"
    );
}

/// A passing item shows its evidence row as an exception does: each item's lineage (file and row)
/// is read back from the store and its columns added after the attributes the query returned.
#[test]
fn every_item_of_a_population_carries_its_evidence_row() {
    let (_tmp, ws) = setup();
    let (_, entry) = ws
        .run_tests(
            &Engine,
            &opts(ExamType::Type2, &["changes-peer-approved"]),
            &mut |_, _, _| {},
        )
        .unwrap();
    let record = ws.recorded_run(&entry).unwrap();
    let t = &record.tests[0];
    let pass = t.items.iter().find(|i| i.item.ends_with("101")).unwrap();
    assert_eq!(pass.status, ItemStatus::Pass);
    assert!(pass.from.is_some(), "{pass:?}");
    let ledger = std::fs::read_to_string(ws.dir().join(".assure/evidence/ledger.jsonl")).unwrap();
    let entries = assure_ledger::parse(&ledger).entries;
    let filled = ws.with_evidence_rows(t, &entries).unwrap();
    let pass = filled.items.iter().find(|i| i.item.ends_with("101")).unwrap();
    let get = |k: &str| pass.attributes.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("title"), Some("ok"));
    assert_eq!(get("author_email"), Some("ana@northwind.example"));
    assert_eq!(get("approver_emails"), Some("bo@northwind.example"));
    let fail = filled.items.iter().find(|i| i.item.ends_with("102")).unwrap();
    // An exception keeps its query's attributes first, then gains the row's other columns.
    let original = t.items.iter().find(|i| i.item.ends_with("102")).unwrap();
    assert_eq!(fail.attributes[..original.attributes.len()], original.attributes[..]);
    assert!(
        fail.attributes
            .iter()
            .any(|(n, v)| n == "title" && v == "self-approved"),
        "{fail:?}"
    );
    // An original altered since it was recorded gives no rows, only an error naming it.
    let blake = &t.files[0];
    let blob = ws
        .dir()
        .join(".assure/evidence/blobs")
        .join(&blake[..2])
        .join(&blake[2..]);
    let text = std::fs::read_to_string(&blob).unwrap();
    std::fs::write(&blob, text.replace("self-approved", "self-approves")).unwrap();
    let e = ws.with_evidence_rows(t, &entries).unwrap_err().to_string();
    assert!(
        e.contains("no longer matches its file") && e.contains("changes.csv"),
        "{e}"
    );
}

/// The latest test-run entry of the workspace's ledger.
fn ws_last_run(ws: &Workspace) -> assure_ledger::Entry {
    let store = ws.store().unwrap();
    assure_ledger::parse(&assure_evidence::store::EvidenceStore::ledger(&store).unwrap())
        .entries
        .into_iter()
        .rev()
        .find(|e| e.draft.action == assure_ledger::Action::TestRun)
        .unwrap()
}

/// Imports `text` as `name` (no period stated), returning its ledger entry.
fn import(ws: &Workspace, tmp: &tempfile::TempDir, name: &str, text: &str, batch: &str) -> u64 {
    let file = tmp.path().join(name);
    std::fs::write(&file, text).unwrap();
    let planned = ws.plan_import(&[file], None, None).unwrap();
    let meta = Meta {
        at: "2026-07-02T10:00:00Z".into(),
        by: "tester".into(),
        batch: batch.into(),
        ..Meta::default()
    };
    ws.commit_import(&planned, &meta).unwrap()[0].seq
}

/// A run's outcomes as a reader sees them, each item's lineage as the file's hash and row (the
/// order of an outcome's file list is the order the engine met them in).
fn seen(ws: &Workspace, entry: &assure_ledger::Entry) -> Vec<String> {
    let run = ws.recorded_run(entry).unwrap();
    run.tests
        .iter()
        .map(|t| {
            let items: Vec<String> = t
                .items
                .iter()
                .map(|i| {
                    let from = i.from.map(|(f, r)| format!("{}:{r}", &t.files[f as usize][..8]));
                    format!("{} {:?} {} {:?} {:?}", i.item, i.status, i.reason, i.attributes, from)
                })
                .collect();
            format!(
                "{} {} {} {} {:?} key {:?}\n{}",
                t.id,
                t.population,
                t.exceptions,
                t.not_applicable,
                t.conclusion,
                t.key,
                items.join("\n")
            )
        })
        .collect()
}

const CHANGE_TESTS: [&str; 4] = [
    "changes-linked-to-ticket",
    "changes-peer-approved",
    "changes-tested-before-merge",
    "emergency-changes-approved-afterwards",
];

#[test]
fn a_new_export_s_rows_are_tested_on_their_own_and_added_to_the_recorded_outcome() {
    let (tmp, ws) = setup();
    let o = opts(ExamType::Type2, &[]);
    let full = RunOptions {
        full: true,
        ..o.clone()
    };
    let (_, first) = ws.run_tests(&Engine, &o, &mut |_, _, _| {}).unwrap();
    // New changes of another system: the change tests read `changes` row by row, so only the new
    // file's rows are tested, and every other test is reused.
    let seq = import(&ws, &tmp, "changes-2.csv", &CHANGES.replace(",api,", ",web,"), "c");
    let mut steps = Vec::new();
    let (d, second) = ws
        .run_tests(&Engine, &o, &mut |_, _, s| steps.push(s.to_string()))
        .unwrap();
    assert_eq!(d.extended.keys().map(String::as_str).collect::<Vec<_>>(), CHANGE_TESTS);
    assert!(d.extended.values().all(|v| v == &vec![seq]), "{:?}", d.extended);
    assert_eq!(d.reused_from, Some(first.seq));
    assert!(steps.iter().any(|s| s == "reading the new evidence"), "{steps:?}");
    // (Tests that found no evidence before are tried again as usual; none of the change tests is.)
    assert!(!steps.iter().any(|s| CHANGE_TESTS.contains(&s.as_str())), "{steps:?}");
    let peer = d.tests.iter().find(|t| t.id == "changes-peer-approved").unwrap();
    assert_eq!((peer.population, peer.exceptions), (8, 6));
    // What it recorded is what a run over every file records, item for item.
    let (f, whole) = ws.run_tests(&Engine, &full, &mut |_, _, _| {}).unwrap();
    assert!(f.extended.is_empty() && f.reused.is_empty(), "--full tests every file");
    assert_eq!(seen(&ws, &second), seen(&ws, &whole));
    assert_eq!(d.controls, f.controls);
    assert_eq!(d.unresolved, f.unresolved);
    assert_eq!(d.merged, f.merged);
    assert_eq!(d.inputs, f.inputs);
    // In memory an extended outcome holds its exceptions, in item order, as the full run's.
    for (x, y) in d.tests.iter().zip(&f.tests) {
        let not_passing = |t: &assure_run::TestOutcome| {
            t.items
                .iter()
                .filter(|i| i.status != ItemStatus::Pass)
                .map(|i| (i.item.clone(), i.status, i.reason.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(not_passing(x), not_passing(y), "{}", x.id);
        assert_eq!(
            (x.population, x.exceptions, x.conclusion),
            (y.population, y.exceptions, y.conclusion)
        );
    }
    // An export that writes one name beside a known and an unknown address teaches a same-name
    // rule (tested with every file); a later export's rows that use the unknown address alone
    // resolve by that rule when they are tested on their own, as they would among every file.
    let named = "change_id,system,title,author_email,approver_emails,created_at,approved_at,merged_at,deployed_at,tests_passed,emergency,ticket_id
401,ops,a,Priya Raman <priya.raman@northwind.example>,bo@northwind.example,2026-04-03T09:00:00Z,2026-04-03T10:00:00Z,2026-04-03T11:00:00Z,,true,false,T-1
402,ops,b,Priya Raman <praman@mail.example>,bo@northwind.example,2026-04-04T09:00:00Z,2026-04-04T10:00:00Z,2026-04-04T11:00:00Z,,true,false,T-2
";
    import(&ws, &tmp, "changes-6.csv", named, "g");
    let (g, _) = ws.run_tests(&Engine, &o, &mut |_, _, _| {}).unwrap();
    assert!(g.extended.is_empty(), "{:?}", g.extended);
    assert!(
        g.merged
            .iter()
            .any(|m| m.value.contains("praman@mail.example") && m.rule == "same-name"),
        "{:?}",
        g.merged
    );
    let bare = "change_id,system,title,author_email,approver_emails,created_at,approved_at,merged_at,deployed_at,tests_passed,emergency,ticket_id
501,ops,c,praman@mail.example,priya.raman@northwind.example,2026-04-05T09:00:00Z,2026-04-05T10:00:00Z,2026-04-05T11:00:00Z,,true,false,T-3
";
    import(&ws, &tmp, "changes-7.csv", bare, "h");
    let (h, extended) = ws.run_tests(&Engine, &o, &mut |_, _, _| {}).unwrap();
    assert_eq!(h.extended.keys().map(String::as_str).collect::<Vec<_>>(), CHANGE_TESTS);
    let peer = h.tests.iter().find(|t| t.id == "changes-peer-approved").unwrap();
    assert!(
        peer.items
            .iter()
            .any(|i| i.item == "ops#501" && i.status == ItemStatus::Fail),
        "approved by its author under another address: {:?}",
        peer.items
    );
    let (f, whole) = ws.run_tests(&Engine, &full, &mut |_, _, _| {}).unwrap();
    assert_eq!(seen(&ws, &extended), seen(&ws, &whole));
    assert_eq!((h.merged.clone(), h.unresolved.clone()), (f.merged, f.unresolved));
}

#[test]
fn a_new_export_is_tested_with_every_file_when_its_rows_could_change_earlier_results() {
    let (tmp, ws) = setup();
    let o = opts(ExamType::Type2, &[]);
    let full = RunOptions {
        full: true,
        ..o.clone()
    };
    ws.run_tests(&Engine, &o, &mut |_, _, _| {}).unwrap();
    // A re-export that corrects change 102 (now approved by someone else): the later row replaces
    // the earlier one, so the earlier file's results do not stand.
    let corrected = "change_id,system,title,author_email,approver_emails,created_at,approved_at,merged_at,deployed_at,tests_passed,emergency,ticket_id
102,api,self-approved,ana@northwind.example,bo@northwind.example,2026-03-02T09:00:00Z,2026-03-02T10:00:00Z,2026-03-02T11:00:00Z,,true,false,
201,api,new,ana@northwind.example,bo@northwind.example,2026-04-02T09:00:00Z,2026-04-02T10:00:00Z,2026-04-02T11:00:00Z,,true,false,
";
    import(&ws, &tmp, "changes-3.csv", corrected, "d");
    let mut steps = Vec::new();
    let (d, second) = ws
        .run_tests(&Engine, &o, &mut |_, _, s| steps.push(s.to_string()))
        .unwrap();
    assert!(d.extended.is_empty(), "{:?}", d.extended);
    assert!(steps.iter().any(|s| s == "reading the evidence"), "{steps:?}");
    let peer = d.tests.iter().find(|t| t.id == "changes-peer-approved").unwrap();
    assert_eq!(
        (peer.population, peer.exceptions),
        (5, 2),
        "102 is approved now; 201 is new"
    );
    let (_, whole) = ws.run_tests(&Engine, &full, &mut |_, _, _| {}).unwrap();
    assert_eq!(seen(&ws, &second), seen(&ws, &whole));
    // A stranger written as git writes every author (`Name <address>`, nobody on the roster by
    // that name) teaches no same-name rule: the new rows are tested on their own, and the address
    // is reported as unresolved as a run over every file reports it.
    let stranger = "change_id,system,title,author_email,approver_emails,created_at,approved_at,merged_at,deployed_at,tests_passed,emergency,ticket_id
301,ops,named,Zed Quinn <zed@elsewhere.example>,bo@northwind.example,2026-04-03T09:00:00Z,2026-04-03T10:00:00Z,2026-04-03T11:00:00Z,,true,false,
";
    import(&ws, &tmp, "changes-4.csv", stranger, "e");
    let (e, third) = ws.run_tests(&Engine, &o, &mut |_, _, _| {}).unwrap();
    assert_eq!(e.extended.keys().map(String::as_str).collect::<Vec<_>>(), CHANGE_TESTS);
    assert!(
        e.unresolved.iter().any(|u| u.value.contains("zed@elsewhere.example")),
        "{:?}",
        e.unresolved
    );
    let (f, whole) = ws.run_tests(&Engine, &full, &mut |_, _, _| {}).unwrap();
    assert_eq!(seen(&ws, &third), seen(&ws, &whole));
    assert_eq!((e.unresolved.clone(), e.merged.clone()), (f.unresolved, f.merged));
    // A name on the roster beside an address nothing else resolves teaches a rule (that address is
    // that person), which could change earlier rows: every file is tested together.
    let roster_name = "change_id,system,title,author_email,approver_emails,created_at,approved_at,merged_at,deployed_at,tests_passed,emergency,ticket_id
302,ops,named,Priya Raman <p.raman@elsewhere.example>,bo@northwind.example,2026-04-04T09:00:00Z,2026-04-04T10:00:00Z,2026-04-04T11:00:00Z,,true,false,
";
    import(&ws, &tmp, "changes-4b.csv", roster_name, "e2");
    let (e, fourth) = ws.run_tests(&Engine, &o, &mut |_, _, _| {}).unwrap();
    assert!(e.extended.is_empty(), "{:?}", e.extended);
    assert!(
        e.merged
            .iter()
            .any(|m| m.value.contains("p.raman@elsewhere.example") && m.rule == "roster-name"),
        "{:?}",
        e.merged
    );
    let (_, whole) = ws.run_tests(&Engine, &full, &mut |_, _, _| {}).unwrap();
    assert_eq!(seen(&ws, &fourth), seen(&ws, &whole));
    // A test that combines rows (a count per author) is never extended.
    let tests = ws.dir().join("tests");
    std::fs::write(
        tests.join("changes-per-author.toml"),
        r#"id = "changes-per-author"
title = "Changes per author"
controls = ["CHG-01"]
tables = ["changes"]
sql = """
SELECT author_email AS item, 'pass' AS status, CAST(count(*) AS VARCHAR) || ' changes' AS reason
FROM changes GROUP BY author_email
"""
"#,
    )
    .unwrap();
    ws.run_tests(&Engine, &o, &mut |_, _, _| {}).unwrap();
    import(&ws, &tmp, "changes-5.csv", &CHANGES.replace(",api,", ",batch,"), "f");
    let (g, last) = ws.run_tests(&Engine, &o, &mut |_, _, _| {}).unwrap();
    assert!(!g.extended.contains_key("changes-per-author"), "{:?}", g.extended);
    // The change tests are read in full because the counting test reads their table in full.
    assert!(g.extended.is_empty(), "{:?}", g.extended);
    let (_, whole) = ws.run_tests(&Engine, &full, &mut |_, _, _| {}).unwrap();
    assert_eq!(seen(&ws, &last), seen(&ws, &whole));
}

/// Log events, most of them actions no test reads: a sign-in by the root account, one without MFA,
/// logging stopped, an access grant, and API calls and sign-outs, one of which names a person by
/// another case of their address (resolution reports it as merged though its row is not loaded).
const EVENTS: &str = "event_id,occurred_at,source,actor,action,raw_action,target,outcome,mfa,source_ip
E1,2026-02-01T10:00:00Z,cloudtrail,root,console_login,ConsoleLogin,,success,false,198.51.100.7
E2,2026-02-02T10:00:00Z,cloudtrail,dana@northwind.example,console_login,ConsoleLogin,,success,false,203.0.113.5
E3,2026-02-03T10:00:00Z,cloudtrail,dana@northwind.example,console_login,ConsoleLogin,,success,true,203.0.113.5
E4,2026-03-01T10:00:00Z,cloudtrail,deploy-bot,stop_logging,StopLogging,org-trail,success,,10.0.0.4
E5,2026-03-02T10:00:00Z,okta,dana@northwind.example,grant_access,application.user_membership.add,priya@northwind.example,success,,203.0.113.5
E6,2026-03-03T10:00:00Z,cloudtrail,deploy-bot,api_call,PutObject,Ravi.Subramanian@Northwind.example,success,,10.0.0.4
E7,2026-03-04T10:00:00Z,cloudtrail,deploy-bot,api_call,GetObject,reports-bucket,success,,10.0.0.4
E8,2026-03-05T10:00:00Z,okta,priya@northwind.example,sign_out,user.session.end,,success,,203.0.113.5
E9,2025-12-30T10:00:00Z,cloudtrail,root,console_login,ConsoleLogin,,success,false,198.51.100.7
";

#[test]
fn a_run_loads_only_the_log_rows_its_tests_read_and_records_what_it_would_over_every_row() {
    let (tmp, ws) = setup();
    let file = tmp.path().join("events.csv");
    std::fs::write(&file, EVENTS).unwrap();
    let planned = ws.plan_import(&[file], None, None).unwrap();
    ws.commit_import(&planned, &meta("e")).unwrap();
    let project = ws.open_read().unwrap().project;
    let reading_events: Vec<String> = project
        .tests
        .iter()
        .filter(|t| t.reads().any(|r| r.as_str() == "events"))
        .map(|t| t.id.to_string())
        .collect();
    assert!(reading_events.len() >= 3, "{reading_events:?}");
    let o = opts(ExamType::Type2, &[]);
    // Every test reading the events filters them, so only the rows some test can read are loaded.
    let filter = assure_run::row_filter(&project, &reading_events, o.window);
    assert!(filter.filters("events"), "{:?}", filter.describe("events"));
    // Over the stored columnar copy: of the 9 rows, the 5 some test reads (sign-ins, logging
    // stopped and the grant, in the period) are kept, and every row's target (4 distinct) is remembered.
    let store = ws.store().unwrap();
    let entries = assure_ledger::parse(&assure_evidence::store::EvidenceStore::ledger(&store).unwrap()).entries;
    let loaded = assure_evidence::load::load_batches_with(
        &store,
        &entries,
        None,
        Some((day(2026, 1, 1), day(2026, 6, 30))),
        &|_| true,
        &std::collections::BTreeMap::new(),
        Some(
            &(std::sync::Arc::new(assure_run::Rows(assure_run::row_filter(
                &project,
                &reading_events,
                o.window,
            ))) as std::sync::Arc<dyn assure_evidence::load::RowFilter>),
        ),
    )
    .unwrap();
    assert_eq!(loaded.filtered.get("events"), Some(&(9, 5)));
    assert_eq!(
        loaded.tables["events"]
            .batches
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>(),
        5
    );
    assert_eq!(loaded.seen["events"]["target"].len(), 4);
    assert_eq!(loaded.filtered.get("changes"), None);
    let full = RunOptions { full: true, ..o };
    let every_row = RunOptions {
        every_row: true,
        ..full.clone()
    };
    let (filtered, _) = ws.run_tests(&Engine, &full, &mut |_, _, _| {}).unwrap();
    let (every, _) = ws.run_tests(&Engine, &every_row, &mut |_, _, _| {}).unwrap();
    assert_eq!(filtered.tests, every.tests);
    assert_eq!(filtered.unresolved, every.unresolved);
    assert_eq!(filtered.merged, every.merged);
    assert_eq!(filtered.controls, every.controls);
    // The tests found their exceptions, and the address written in another case in a row no
    // test reads is still reported as merged into its person.
    let found = |id: &str| {
        let t = filtered.tests.iter().find(|t| t.id == id).unwrap();
        (t.population, t.exceptions)
    };
    assert_eq!(found("root-account-used"), (1, 1));
    assert_eq!(found("console-login-without-mfa"), (3, 2));
    assert!(
        filtered
            .merged
            .iter()
            .any(|m| m.value == "Ravi.Subramanian@Northwind.example" && m.seen_in == ["events.target"]),
        "{:?}",
        filtered.merged
    );
    // A second export that repeats E6 as a sign-in without MFA: with two files, duplicates are
    // decided among every row first (the later import's E6 wins), then the rows are filtered.
    let second = tmp.path().join("events-later.csv");
    std::fs::write(
        &second,
        "event_id,occurred_at,source,actor,action,raw_action,target,outcome,mfa,source_ip
E6,2026-03-03T10:00:00Z,cloudtrail,priya@northwind.example,console_login,ConsoleLogin,,success,false,203.0.113.9
E10,2026-04-01T10:00:00Z,cloudtrail,deploy-bot,api_call,ListBuckets,,success,,10.0.0.4
",
    )
    .unwrap();
    let planned = ws.plan_import(&[second], None, None).unwrap();
    ws.commit_import(&planned, &meta("e2")).unwrap();
    let (filtered, _) = ws.run_tests(&Engine, &full, &mut |_, _, _| {}).unwrap();
    let (every, _) = ws.run_tests(&Engine, &every_row, &mut |_, _, _| {}).unwrap();
    assert_eq!(filtered.tests, every.tests);
    assert_eq!(filtered.merged, every.merged);
    assert_eq!(filtered.duplicates, every.duplicates);
    assert_eq!(filtered.duplicates.get("events"), Some(&1));
    let t = filtered
        .tests
        .iter()
        .find(|t| t.id == "console-login-without-mfa")
        .unwrap();
    assert_eq!((t.population, t.exceptions), (4, 3));
}
