//! Evidence through the binary: import, verify, tamper, export; crashes and concurrent imports.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use assure_evidence::store::{EvidenceStore, FsStore};
use assure_ledger::{Entry, parse_public_key, verify};

use crate::cli::assure;

fn trainings(dir: &Path, files: usize, rows: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for f in 0..files {
        let mut s = String::from("email,course,completed_at\n");
        for r in 0..rows {
            s.push_str(&format!(
                "user{r}@northwind.example,security-awareness,2026-0{}-1{}T09:00:00Z\n",
                1 + f % 9,
                r % 10
            ));
        }
        std::fs::write(dir.join(format!("trainings-{f:03}.csv")), s).unwrap();
    }
}

fn ledger_state(project: &Path) -> (assure_ledger::Report, BTreeMap<String, usize>) {
    let manifest = std::fs::read_to_string(project.join("assure.toml")).unwrap();
    let pk = manifest
        .lines()
        .find_map(|l| l.strip_prefix("public_key = "))
        .unwrap()
        .trim_matches('"')
        .to_string();
    let store = FsStore::open(project).unwrap();
    let text = store.ledger().unwrap();
    let report = verify(&text, &parse_public_key(&pk).unwrap(), &mut |b| store.check_blob(b));
    let mut batches = BTreeMap::new();
    for e in text.lines().filter_map(|l| serde_json::from_str::<Entry>(l).ok()) {
        *batches.entry(e.draft.batch.unwrap_or_default()).or_insert(0) += 1;
    }
    (report, batches)
}

#[test]
fn import_verify_tamper_export_and_verify_offline() {
    let tmp = tempfile::tempdir().unwrap();
    assure(&["init", "p"], None, tmp.path());
    trainings(&tmp.path().join("in"), 3, 5);
    let r = assure(&["evidence", "import", "-p", "p", "in"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("connector canonical-csv (by content), table trainings, 5 rows"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout
            .starts_with("imported 3 export(s), 15 rows, and 0 record(s), as ledger entries 1–3"),
        "{}",
        r.stdout
    );
    let r = assure(
        &[
            "evidence",
            "add",
            "-p",
            "p",
            "in/trainings-000.csv",
            "--control",
            "GOV-07",
            "--note",
            "LMS screenshot",
        ],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = assure(
        &[
            "evidence",
            "add",
            "-p",
            "p",
            "in/trainings-000.csv",
            "--control",
            "NOPE-1",
        ],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 1);
    let r = assure(&["evidence", "list", "-p", "p"], None, tmp.path());
    assert!(
        r.stdout.contains("4 entries") && r.stdout.contains("GOV-07"),
        "{}",
        r.stdout
    );
    let r = assure(&["evidence", "show", "4", "-p", "p"], None, tmp.path());
    assert!(r.stdout.contains("note           LMS screenshot"), "{}", r.stdout);
    let r = assure(&["evidence", "verify", "-p", "p"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("OK: no entry or file was altered"));
    // Export, then verify offline from a directory with no project, pinning the key.
    let key = assure(&["evidence", "key", "-p", "p"], None, tmp.path())
        .stdout
        .trim()
        .to_string();
    assert_eq!(key.len(), 64);
    let r = assure(&["evidence", "export", "-p", "p", "-o", "pkg.tar"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::copy(tmp.path().join("pkg.tar"), elsewhere.path().join("pkg.tar")).unwrap();
    let r = assure(
        &["evidence", "verify", "pkg.tar", "--key", &key],
        None,
        elsewhere.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    let r = assure(
        &["evidence", "verify", "pkg.tar", "--key", &"ab".repeat(32)],
        None,
        elsewhere.path(),
    );
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("key-mismatch"));
    // Edit an entry in place: verify names it.
    let ledger = tmp.path().join("p/.assure/evidence/ledger.jsonl");
    let text = std::fs::read_to_string(&ledger)
        .unwrap()
        .replacen("\"rows\":5", "\"rows\":6", 1);
    std::fs::write(&ledger, text).unwrap();
    let r = assure(&["evidence", "verify", "-p", "p", "--json"], None, tmp.path());
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["report"]["findings"][0]["seq"], 1);
    assert_eq!(v["report"]["findings"][0]["code"], "hash");
    // A swapped private key is refused before anything is signed with it.
    std::fs::write(tmp.path().join("p/.assure/keys/ledger.key"), "11".repeat(32)).unwrap();
    let r = assure(
        &["evidence", "import", "-p", "p", "in/trainings-001.csv"],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not the key pinned"), "{}", r.stderr);
}

#[test]
fn a_bad_file_means_nothing_is_imported() {
    let tmp = tempfile::tempdir().unwrap();
    assure(&["init", "p"], None, tmp.path());
    trainings(&tmp.path().join("in"), 2, 3);
    std::fs::write(
        tmp.path().join("in/zz-broken.csv"),
        "email,course,completed_at\na@x,sa,yesterday\n",
    )
    .unwrap();
    let r = assure(&["evidence", "import", "-p", "p", "in"], None, tmp.path());
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("zz-broken.csv, row 2, column `completed_at`: `yesterday` is not a timestamp"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing was imported"));
    assert!(
        !tmp.path().join("p/.assure/evidence/ledger.jsonl").exists()
            || std::fs::read_to_string(tmp.path().join("p/.assure/evidence/ledger.jsonl"))
                .unwrap()
                .is_empty()
    );
}

#[test]
fn an_import_killed_at_random_points_is_recorded_whole_or_not_at_all() {
    let tmp = tempfile::tempdir().unwrap();
    assure(&["init", "p"], None, tmp.path());
    let files = 30;
    trainings(&tmp.path().join("in"), files, 400);
    // A deterministic spread of kill times across the import's phases (validate, store, append).
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut killed = 0;
    for _ in 0..16 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let delay = Duration::from_millis(state % 60);
        let mut child = Command::new(env!("CARGO_BIN_EXE_assure"))
            .args(["evidence", "import", "-p", "p", "in"])
            .current_dir(tmp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = child.kill();
        child.wait().unwrap();
        let (report, batches) = ledger_state(&tmp.path().join("p"));
        let torn_only = report.findings.iter().all(|f| f.code == "truncated");
        assert!(torn_only, "{:?}", report.findings);
        for (batch, n) in &batches {
            assert_eq!(*n, files, "batch {batch} has {n} of {files} entries");
        }
    }
    assert!(killed > 0, "no run was interrupted; the test proves nothing");
    // The store keeps working after the crashes.
    let r = assure(&["evidence", "import", "-p", "p", "in"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (report, _) = ledger_state(&tmp.path().join("p"));
    assert!(report.ok(), "{:?}", report.findings);
}

#[test]
fn concurrent_imports_from_several_processes_keep_the_ledger_whole() {
    let tmp = tempfile::tempdir().unwrap();
    assure(&["init", "p"], None, tmp.path());
    for i in 0..4 {
        trainings(&tmp.path().join(format!("in{i}")), 6, 50);
    }
    let children: Vec<_> = (0..4)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_assure"))
                .args(["evidence", "import", "-p", "p", &format!("in{i}")])
                .current_dir(tmp.path())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let (report, batches) = ledger_state(&tmp.path().join("p"));
    assert!(report.ok(), "{:?}", report.findings);
    assert_eq!(report.entries, 24);
    assert_eq!(batches.len(), 4);
    assert!(batches.values().all(|&n| n == 6));
}

#[test]
fn an_hr_roster_is_read_through_the_project_s_column_mapping() {
    let tmp = tempfile::tempdir().unwrap();
    assure(&["init", "p"], None, tmp.path());
    let manifest = tmp.path().join("p/assure.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str(
        "\n[connectors.hr_roster]\ndate_format = \"%m/%d/%Y\"\n\n[connectors.hr_roster.columns]\nperson_id = \"Employee ID\"\nemail = \"Work Email\"\nname = \"Full Name\"\nworker_type = \"Employment Type\"\nhire_date = \"Start Date\"\ntermination_date = \"Last Day\"\n\n[connectors.hr_roster.worker_types]\n\"Full-Time\" = \"employee\"\n\"Contractor\" = \"contractor\"\n",
    );
    std::fs::write(&manifest, &text).unwrap();
    assert_eq!(assure(&["validate", "p"], None, tmp.path()).code, 0);
    std::fs::write(
        tmp.path().join("roster.csv"),
        "Employee ID,Full Name,Work Email,Employment Type,Start Date,Last Day,Cost Center\n1001,Ana Ruiz,Ana@Acme.example,Full-Time,01/10/2024,,CC1\n1002,Bo Chen,bo@acme.example,Contractor,02/02/2026,08/31/2026,CC2\n",
    )
    .unwrap();
    // A note that contains the words the version 1 ledger used to carry the mapping changes nothing.
    let r = assure(
        &[
            "evidence",
            "import",
            "-p",
            "p",
            "roster.csv",
            "--note",
            "column mapping: see HR",
        ],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("connector hr-roster (by its columns (the project's mapping)), table people, 2 rows"),
        "{}",
        r.stderr
    );
    // The mapping is recorded with the entry (a typed field, ledger format 2), so the rows can be
    // read back the same way later, whatever the note says.
    let r = assure(&["evidence", "show", "1", "-p", "p"], None, tmp.path());
    assert!(
        r.stdout.contains("  mapping ") && r.stdout.contains("\"person_id\":\"Employee ID\""),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("  note           column mapping: see HR\n"),
        "{}",
        r.stdout
    );
    let r = assure(&["evidence", "show", "1", "-p", "p", "--json"], None, tmp.path());
    let e: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(e["format"], 2);
    assert_eq!(e["mapping"]["columns"]["person_id"], "Employee ID");
    // A bad date in the roster names its row and column.
    std::fs::write(tmp.path().join("bad.csv"), "Employee ID,Full Name,Work Email,Employment Type,Start Date,Last Day\n1003,Cy,cy@acme.example,Full-Time,2026-13-45,\n").unwrap();
    let r = assure(&["evidence", "import", "-p", "p", "bad.csv"], None, tmp.path());
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("bad.csv, row 2, column `hire_date`: `2026-13-45` is not a date"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_jira_export_is_read_through_its_mapping_with_local_times() {
    let tmp = tempfile::tempdir().unwrap();
    assure(&["init", "p"], None, tmp.path());
    let manifest = tmp.path().join("p/assure.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str(
        "\n[connectors.jira]\ntable = \"access_requests\"\ntimestamp_format = \"%d/%b/%y %l:%M %p\"\nutc_offset = \"-05:00\"\n\n[connectors.jira.columns]\nrequest_id = \"Issue key\"\nsystem = \"Custom field (System)\"\nemail = \"Custom field (Requested For)\"\nrequested_at = \"Created\"\napprover_email = \"Custom field (Approver)\"\napproved_at = \"Custom field (Approved At)\"\ngranted_at = \"Resolved\"\n",
    );
    std::fs::write(&manifest, &text).unwrap();
    assert_eq!(assure(&["validate", "p"], None, tmp.path()).code, 0);
    std::fs::write(
        tmp.path().join("jira.csv"),
        "Summary,Issue key,Issue id,Issue Type,Status,Created,Resolved,Custom field (System),Custom field (Requested For),Custom field (Approver),Custom field (Approved At)\n\
Access to AWS,IT-101,10101,Access Request,Done,02/Feb/26 9:15 AM,02/Feb/26 4:40 PM,aws-prod,bo@acme.example,ana@acme.example,02/Feb/26 11:05 AM\n\
GitHub write,IT-102,10102,Access Request,Done,03/Feb/26 10:00 PM,04/Feb/26 8:00 AM,github,cy@acme.example,,\n",
    )
    .unwrap();
    let r = assure(&["evidence", "import", "-p", "p", "jira.csv"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("connector jira (by its columns (the project's mapping)), table access_requests, 2 rows"),
        "{}",
        r.stderr
    );
    // The approval test's population is the grants, from the accounts exports: none of these
    // requests has its grant among them, so each request is tested on its own dates.
    std::fs::write(
        tmp.path().join("accounts.csv"),
        "system,account_id,email,kind,role,privileged,mfa_enabled,status,created_at\nokta,00u1,ana@acme.example,human,member,false,true,active,2024-01-10T09:00:00Z\n",
    )
    .unwrap();
    let r = assure(&["evidence", "import", "-p", "p", "accounts.csv"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Local times become UTC instants: 10:00 PM at -05:00 is 03:00 the next day.
    let r = assure(
        &[
            "test",
            "p",
            "--period",
            "2026-01-01..2026-06-30",
            "--as-of",
            "2026-06-30",
            "--test",
            "access-approved-before-grant",
            "--json",
        ],
        None,
        tmp.path(),
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let items = &v["run"]["tests"][0]["items"];
    assert_eq!(items[0]["item"], "IT-101");
    assert_eq!(items[0]["status"], "pass");
    assert_eq!(items[1]["status"], "fail");
    assert_eq!(items[1]["reason"], "access request has no recorded approval");
}

#[test]
fn a_ledger_line_that_is_not_an_entry_is_named_never_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    assure(&["init", "p"], None, tmp.path());
    trainings(&tmp.path().join("in"), 2, 3);
    let r = assure(&["evidence", "import", "-p", "p", "in"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let path = tmp.path().join("p/.assure/evidence/ledger.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(1, "{\"format\":2,\"seq\":2,\"note\":\"hand-edited\"}");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();

    let r = assure(&["evidence", "verify", "-p", "p"], None, tmp.path());
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("  line 2: malformed: not a ledger entry (missing field `prev`"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("FAILED"), "{}", r.stdout);
    // Readers still show what they can read, and say what they could not.
    let r = assure(&["evidence", "list", "-p", "p"], None, tmp.path());
    assert!(r.stdout.contains("2 entries"), "{}", r.stdout);
    assert!(r.stderr.contains("warning: ledger line 2: malformed"), "{}", r.stderr);
    // Nothing that signs or exports works from a ledger with a hole in it.
    let r = assure(&["sample", "p", "--control", "GOV-07"], None, tmp.path());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("not entries"), "{}", r.stderr);
    let r = assure(&["test", "p", "--as-of", "2026-12-31"], None, tmp.path());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("a run now would leave their evidence out"),
        "{}",
        r.stderr
    );
    let r = assure(&["evidence", "export", "-p", "p", "-o", "pkg.tar"], None, tmp.path());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("nothing was exported"), "{}", r.stderr);
    assert!(!tmp.path().join("pkg.tar").exists());
}

#[test]
fn a_run_proves_its_inputs_and_a_columnar_copy_is_rebuilt_from_its_original() {
    let tmp = tempfile::tempdir().unwrap();
    assure(&["init", "p"], None, tmp.path());
    trainings(&tmp.path().join("in"), 2, 3);
    let r = assure(&["evidence", "import", "-p", "p", "in"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Each import records the hash of its columnar copy.
    let r = assure(&["evidence", "show", "1", "-p", "p", "--json"], None, tmp.path());
    let e: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(e["columnar"]["rows"], 3, "{}", r.stdout);
    let blob = e["blob"]["blake3"].as_str().unwrap().to_string();
    let copy = tmp
        .path()
        .join("p/.assure/evidence/columnar")
        .join(&blob[..2])
        .join(format!("{}.parquet", &blob[2..]));
    assert!(copy.exists());
    let original = std::fs::read(&copy).unwrap();
    let run = |tmp: &Path| -> serde_json::Value {
        let r = assure(
            &[
                "test",
                "-p",
                "p",
                "--as-of",
                "2026-12-31",
                "--test",
                "training-annual",
                "--json",
            ],
            None,
            tmp,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap()["run"].clone()
    };
    let clean = run(tmp.path());
    // (The training test also needs the roster, which this project lacks; that is its only note.)
    assert!(
        clean["tests"][0]["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("no evidence for `people` covers ")),
        "{clean}"
    );
    assert!(
        clean["inputs"][0]["columnar"].is_string(),
        "the run lists the copy it read: {clean}"
    );
    // Someone alters the copy on disk: the test that reads it does not run, and says why.
    let mut altered = original.clone();
    let last = altered.len() - 10;
    altered[last] ^= 0xff;
    std::fs::write(&copy, &altered).unwrap();
    let tampered = run(tmp.path());
    let t = &tampered["tests"][0];
    assert_eq!(t["conclusion"], "not_run", "{tampered}");
    let note = t["note"].as_str().unwrap();
    assert!(
        note.contains("was altered after import") && note.contains("trainings-000.csv") && note.contains("entry 1"),
        "{note}"
    );
    // The copy is derived: rebuilding it from the original gives the recorded bytes back.
    let r = assure(&["evidence", "rebuild", "-p", "p"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("rebuilt 2 columnar copies"), "{}", r.stdout);
    assert_eq!(std::fs::read(&copy).unwrap(), original);
    assert_eq!(run(tmp.path())["tests"][0]["note"], clean["tests"][0]["note"]);
}

/// The finding of the hardening review: `head -n` of a ledger verified "OK". A signed head statement
/// handed to an auditor earlier catches it, and every run records the head it read.
#[test]
fn a_signed_head_catches_a_ledger_that_lost_its_tail() {
    let tmp = tempfile::tempdir().unwrap();
    assure(&["init", "p"], None, tmp.path());
    trainings(&tmp.path().join("in"), 3, 2);
    // Three imports, one file each: three batches.
    for f in ["in/trainings-000.csv", "in/trainings-001.csv", "in/trainings-002.csv"] {
        assert_eq!(assure(&["evidence", "import", "-p", "p", f], None, tmp.path()).code, 0);
    }
    let r = assure(&["evidence", "head", "-p", "p", "-o", "head.json"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let head: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("head.json")).unwrap()).unwrap();
    assert_eq!(head["entries"], 3);
    let r = assure(
        &["evidence", "verify", "-p", "p", "--expect-head", "head.json"],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    // The ledger grows: it still holds the head.
    let r = assure(
        &["test", "-p", "p", "--as-of", "2026-12-31", "--json"],
        None,
        tmp.path(),
    );
    let run: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        // Three imports, then the copies of the project's risk and vendor registers it reads.
        run["run"]["head"].as_str().unwrap().starts_with("5:"),
        "the run records the head it read"
    );
    assert_eq!(
        assure(
            &["evidence", "verify", "-p", "p", "--expect-head", "head.json"],
            None,
            tmp.path()
        )
        .code,
        0
    );
    // Cut at a batch boundary to its first two entries: on its own it verifies...
    let path = tmp.path().join("p/.assure/evidence/ledger.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let cut: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, cut).unwrap();
    let r = assure(&["evidence", "verify", "-p", "p"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stdout);
    // ...but not against the head the auditor holds.
    let r = assure(
        &["evidence", "verify", "-p", "p", "--expect-head", "head.json"],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("head-missing: the ledger has 2 entries, but on")
            && r.stdout.contains("it had 3: entries were removed since"),
        "{}",
        r.stdout
    );
}

/// A file stored by an import that was interrupted before its entry was written is listed by
/// verify as not evidence, and does not make the ledger fail.
#[test]
fn verify_lists_files_no_entry_names() {
    let tmp = tempfile::tempdir().unwrap();
    assure(&["init", "p"], None, tmp.path());
    trainings(&tmp.path().join("in"), 1, 2);
    assert_eq!(
        assure(&["evidence", "import", "-p", "p", "in"], None, tmp.path()).code,
        0
    );
    let stray = tmp.path().join("p/.assure/evidence/blobs/ab");
    std::fs::create_dir_all(&stray).unwrap();
    std::fs::write(stray.join("c".repeat(62)), b"half an import").unwrap();
    let r = assure(&["evidence", "verify", "-p", "p"], None, tmp.path());
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stderr.contains("1 stored file(s) are named by no ledger entry"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(&format!("ab/{}", "c".repeat(62))), "{}", r.stderr);
}

/// `ASSURE_EVIDENCE_STORE=s3://…` puts a project's evidence in S3-compatible object storage (here
/// moto's server from PyPI, started by the test): import, list, test and verify all go through the
/// bucket, and nothing is stored on the local disk.
#[test]
fn a_project_s_evidence_in_object_storage_end_to_end() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut moto = Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with moto[server] (scripts/test.sh installs it)");
    let started = std::time::Instant::now();
    let mut conn = loop {
        if let Ok(c) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            break c;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "moto did not start");
        std::thread::sleep(Duration::from_millis(100));
    };
    use std::io::{Read as _, Write as _};
    write!(
        conn,
        "PUT /evidence HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let tmp = tempfile::tempdir().unwrap();
    assure(&["init", "p"], None, tmp.path());
    trainings(&tmp.path().join("in"), 3, 20);
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_assure"))
            .args(args)
            .current_dir(tmp.path())
            .env("ASSURE_EVIDENCE_STORE", "s3://evidence/acme")
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, out) = run(&["evidence", "import", "-p", "p", "in"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&["evidence", "list", "-p", "p"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("3 entries"), "{out}");
    let (code, out) = run(&["test", "-p", "p"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&["evidence", "verify", "-p", "p"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK"), "{out}");
    // Nothing of it is on the local disk: the local store is empty.
    let local = FsStore::open(&tmp.path().join("p")).unwrap();
    assert_eq!(local.ledger().unwrap(), "");
    // And without the variable the project reads its (empty) local store.
    let r = assure(&["evidence", "list", "-p", "p"], None, tmp.path());
    assert!(r.stdout.contains("0 entries"), "{}", r.stdout);
    let _ = moto.kill();
    let _ = moto.wait();
}

/// A roster preset reads BambooHR, Rippling and Workday exports by their own field names, with the
/// vendor's worker types and empty dates; a column the project maps itself overrides the preset's,
/// and an unknown preset is a validation error naming the presets.
#[test]
fn hr_roster_presets_read_each_vendor_s_field_names() {
    let rosters = [
        (
            "bamboohr",
            "",
            "employeeNumber,displayName,workEmail,jobTitle,department,supervisorEmail,employmentHistoryStatus,hireDate,terminationDate\n\
             17,Ana Ruiz,Ana@acme.example,Engineer,Platform,hal@acme.example,Full-Time,2024-01-10,0000-00-00\n\
             18,Bo Chen,bo@acme.example,Analyst,Finance,,Contractor,2026-02-02,2026-08-31\n\
             19,Cy Park,cy@acme.example,Intern,Platform,ana@acme.example,Intern,2026-06-01,0000-00-00\n",
        ),
        (
            "rippling",
            "",
            "id,name,workEmail,title,department,employmentType,startDate,endDate,roleState\n\
             5f1a,Ana Ruiz,ana@acme.example,Engineer,Platform,SALARIED_FT,2024-01-10,,ACTIVE\n\
             5f1b,Bo Chen,bo@acme.example,Analyst,Finance,CONTRACTOR,2026-02-02,2026-08-31,TERMINATED\n",
        ),
        (
            "workday",
            "\n[connectors.hr_roster.columns]\nemail = \"Primary_Work_Email\"\n",
            "Employee_ID,Legal_Name,Primary_Work_Email,Business_Title,Supervisory_Organization,Worker_Type,Hire_Date,Termination_Date\n\
             21001,Ana Ruiz,ana@acme.example,Engineer,Platform (Ana Ruiz),Regular,2024-01-10,\n\
             21002,Bo Chen,bo@acme.example,Analyst,Finance,Contingent Worker,2026-02-02,2026-08-31\n",
        ),
    ];
    for (preset, extra, csv) in rosters {
        let tmp = tempfile::tempdir().unwrap();
        assure(&["init", "p"], None, tmp.path());
        let manifest = tmp.path().join("p/assure.toml");
        let mut text = std::fs::read_to_string(&manifest).unwrap();
        text.push_str(&format!("\n[connectors.hr_roster]\npreset = \"{preset}\"\n{extra}"));
        std::fs::write(&manifest, &text).unwrap();
        let v = assure(&["validate", "p"], None, tmp.path());
        assert_eq!(v.code, 0, "{preset}: {}", v.stderr);
        std::fs::write(tmp.path().join("roster.csv"), csv).unwrap();
        let r = assure(&["evidence", "import", "-p", "p", "roster.csv"], None, tmp.path());
        assert_eq!(r.code, 0, "{preset}: {}", r.stderr);
        let rows = csv.lines().count() - 1;
        assert!(
            r.stderr.contains(&format!(
                "connector hr-roster (by its columns (the project's mapping)), table people, {rows} rows"
            )),
            "{preset}: {}",
            r.stderr
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    assure(&["init", "p"], None, tmp.path());
    let manifest = tmp.path().join("p/assure.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("\n[connectors.hr_roster]\npreset = \"gusto\"\n");
    std::fs::write(&manifest, &text).unwrap();
    let v = assure(&["validate", "p"], None, tmp.path());
    assert_eq!(v.code, 1);
    let said = format!("{}{}", v.stdout, v.stderr);
    assert!(
        said.contains(
            "`[connectors.hr_roster]`: unknown roster preset `gusto`; the presets are bamboohr, rippling, workday"
        ),
        "{said}"
    );
}

/// Real mainline histories nobody here wrote (libuv's rebase workflow with `Reviewed-By:` trailers,
/// golang/net's Gerrit reviews): the change-approval test finds exactly the changes an independent
/// script finds without an independent reviewer.
#[test]
fn real_histories_give_exactly_the_independently_found_exceptions() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real");
    for (name, from, to) in [
        ("libuv-2019-06-07", "2019-06-01", "2019-07-31"),
        ("golang-net-2015", "2015-01-01", "2015-12-31"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        assure(&["init", "p"], None, tmp.path());
        let file = fixtures.join(format!("{name}.gitlog"));
        let r = assure(
            &["evidence", "import", "-p", "p", file.to_str().unwrap()],
            None,
            tmp.path(),
        );
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let period = format!("{from}..{to}");
        let r = assure(
            &[
                "test",
                "p",
                "--period",
                &period,
                "--as-of",
                to,
                "--test",
                "changes-peer-approved",
                "--json",
            ],
            None,
            tmp.path(),
        );
        let v: serde_json::Value =
            serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{name}: {e}: {}", r.stderr));
        let mut found: Vec<String> = v["run"]["tests"][0]["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["status"] == "fail")
            .map(|i| i["item"].as_str().unwrap().rsplit('#').next().unwrap().to_string())
            .collect();
        found.sort();
        let expected: Vec<String> = std::fs::read_to_string(fixtures.join(format!("{name}.unreviewed")))
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        assert!(!expected.is_empty(), "{name}: the fixture should hold exceptions");
        assert_eq!(found, expected, "{name}");
    }
}
