//! The store: content addressing, atomic appends, torn-tail recovery, concurrency, packages.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use assure_evidence::package::{export, verify_package};
use assure_evidence::store::{EvidenceStore, FsStore};
use assure_ledger::{Draft, verify};
use ed25519_dalek::SigningKey;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

fn draft(store: &FsStore, bytes: &[u8], name: &str) -> Draft {
    let blob = store.put_blob(&mut &bytes[..], name).unwrap();
    Draft {
        action: assure_ledger::Action::Add,
        at: "2026-11-22T12:00:00Z".into(),
        by: "tester".into(),
        blob: Some(blob),
        connector: None,
        table: None,
        rows: None,
        period_start: None,
        period_end: None,
        controls: vec!["AC-07".into()],
        note: None,
        batch: None,
        mapping: None,
        columnar: None,
        commit: None,
    }
}

fn verify_store(store: &FsStore) -> assure_ledger::Report {
    let text = store.ledger().unwrap();
    verify(&text, &key().verifying_key(), &mut |b| store.check_blob(b))
}

#[test]
fn blobs_are_stored_once_by_content_with_both_hashes() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FsStore::open(tmp.path()).unwrap();
    let a = store.put_blob(&mut &b"abc"[..], "a.txt").unwrap();
    let b = store.put_blob(&mut &b"abc"[..], "b.txt").unwrap();
    assert_eq!(a.blake3, b.blake3);
    assert_eq!(
        a.sha256,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let files: Vec<_> = walk(&tmp.path().join(".assure/evidence/blobs"));
    assert_eq!(files.len(), 1);
    assert!(std::fs::metadata(&files[0]).unwrap().permissions().readonly());
    assert!(
        walk(&tmp.path().join(".assure/evidence/tmp")).is_empty(),
        "no temporary files left"
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn appends_chain_and_verify_and_a_flipped_byte_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FsStore::open(tmp.path()).unwrap();
    let d1 = draft(&store, b"quarterly review Q1", "q1.pdf");
    let d2 = draft(&store, b"quarterly review Q2", "q2.pdf");
    store.append(vec![d1, d2], &key()).unwrap();
    let d3 = draft(&store, b"quarterly review Q3", "q3.pdf");
    let e = store.append(vec![d3], &key()).unwrap();
    assert_eq!(e[0].seq, 3);
    assert!(verify_store(&store).ok());
    // Flip one byte of the second blob.
    let path = store.blob_path(
        &store
            .ledger()
            .unwrap()
            .lines()
            .nth(1)
            .map(|l| serde_json::from_str::<assure_ledger::Entry>(l).unwrap())
            .unwrap()
            .draft
            .blob
            .unwrap()
            .blake3,
    );
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false, reason = "the test plays the attacker")]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[3] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let r = verify_store(&store);
    assert_eq!(r.findings.len(), 1);
    assert_eq!((r.findings[0].seq, r.findings[0].code), (Some(2), "blob-altered"));
    // A missing blob is named too.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(verify_store(&store).findings[0].code, "blob-missing");
}

#[test]
fn a_torn_last_line_is_cut_off_by_the_next_append() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FsStore::open(tmp.path()).unwrap();
    let d = draft(&store, b"x", "x");
    store.append(vec![d], &key()).unwrap();
    // Simulate power loss in the middle of a second append.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(store.ledger_path())
        .unwrap();
    f.write_all(b"{\"format\":1,\"seq\":2,\"prev\":\"ab").unwrap();
    drop(f);
    assert_eq!(verify_store(&store).findings.last().unwrap().code, "truncated");
    let d = draft(&store, b"y", "y");
    let e = store.append(vec![d], &key()).unwrap();
    assert_eq!(e[0].seq, 2);
    assert!(verify_store(&store).ok());
}

#[test]
fn concurrent_appends_never_corrupt_the_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(tmp.path()).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..25 {
                    let d = draft(&store, format!("thread {t} item {i}").as_bytes(), &format!("t{t}-{i}"));
                    store.append(vec![d], &key()).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let r = verify_store(&store);
    assert!(r.ok(), "{:?}", r.findings);
    assert_eq!(r.entries, 200);
}

#[test]
fn packages_round_trip_and_tampering_inside_them_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FsStore::open(tmp.path()).unwrap();
    let ds = vec![
        draft(&store, b"evidence one", "one.csv"),
        draft(&store, b"evidence two", "two.csv"),
    ];
    store.append(ds, &key()).unwrap();
    let pk = hex::encode(key().verifying_key().to_bytes());
    let pkg = tmp.path().join("pkg.tar");
    let m = export(&store, "Northwind", &key(), &pkg).unwrap();
    assert_eq!((m.entries, m.blobs), (2, 2));
    let (_, r) = verify_package(&pkg, Some(&pk)).unwrap();
    assert!(r.ok(), "{:?}", r.findings);
    // The same ledger gives the same package bytes.
    let again = tmp.path().join("again.tar");
    export(&store, "Northwind", &key(), &again).unwrap();
    assert_eq!(std::fs::read(&pkg).unwrap(), std::fs::read(&again).unwrap());
    // Pinned to another key: refused.
    let (_, r) = verify_package(&pkg, Some(&"11".repeat(32))).unwrap();
    assert_eq!(r.findings[0].code, "key-mismatch");
    // Rebuild the archive with one blob altered and a `../` entry added.
    let mut archive = tar::Archive::new(std::fs::File::open(&pkg).unwrap());
    let out = tmp.path().join("tampered.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&out).unwrap());
    for item in archive.entries().unwrap() {
        let mut item = item.unwrap();
        let path = item.path().unwrap().to_path_buf();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut item, &mut bytes).unwrap();
        if path.to_string_lossy().contains("/blobs/") && bytes == b"evidence one" {
            bytes = b"evidence 0ne".to_vec();
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_cksum();
        builder.append_data(&mut h, &path, &bytes[..]).unwrap();
    }
    let mut h = tar::Header::new_gnu();
    let evil = b"gotcha";
    h.set_size(evil.len() as u64);
    // `append_data` refuses `..`; write the raw name the way a hostile archiver would.
    h.as_gnu_mut().unwrap().name[..19].copy_from_slice(b"../../etc/evil.txt\0");
    h.set_cksum();
    builder.append(&h, &evil[..]).unwrap();
    builder.into_inner().unwrap();
    let (_, r) = verify_package(&out, Some(&pk)).unwrap();
    let codes: Vec<&str> = r.findings.iter().map(|f| f.code).collect();
    assert!(codes.contains(&"blob-altered"), "{codes:?}");
    assert!(codes.contains(&"unexpected-file"), "{codes:?}");
    assert!(!tmp.path().join("../etc/evil.txt").exists());
    // Not a package at all.
    std::fs::write(tmp.path().join("junk.tar"), b"junk").unwrap();
    assert!(verify_package(&tmp.path().join("junk.tar"), None).is_err());
}

/// A crash in the middle of writing a batch leaves part of it on disk: readers leave it out, and
/// the next append removes it before chaining, so the ledger holds whole batches only.
#[test]
fn half_a_batch_on_disk_is_never_part_of_the_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FsStore::open(tmp.path()).unwrap();
    let key = key();
    let a = vec![draft(&store, b"a", "a.txt"), draft(&store, b"b", "b.txt")];
    let committed = store.append(a, &key).unwrap();
    // The interrupted batch: sealed after the two entries, three of its four lines written.
    let tip = assure_ledger::Tip {
        seq: 2,
        hash: committed[1].hash.clone(),
    };
    let drafts: Vec<Draft> = (0..4)
        .map(|i| draft(&store, format!("c{i}").as_bytes(), "c.txt"))
        .collect();
    let (_, text) = assure_ledger::seal(&tip, drafts, &key);
    let partial: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(store.ledger_path())
        .unwrap();
    std::io::Write::write_all(&mut f, partial.as_bytes()).unwrap();
    drop(f);
    let parsed = assure_ledger::parse(&store.ledger().unwrap());
    assert_eq!(parsed.entries.len(), 2);
    assert_eq!(parsed.problems[0].code, "uncommitted");
    // The next recording removes the partial batch and follows the last committed entry.
    let next = store.append(vec![draft(&store, b"d", "d.txt")], &key).unwrap();
    assert_eq!(next[0].seq, 3);
    assert_eq!(next[0].prev, committed[1].hash);
    let report = verify_store(&store);
    assert!(report.ok(), "{:?}", report.findings);
    assert_eq!(report.entries, 3);
}

/// What a process killed while writing a large batch leaves behind: any prefix of the batch's bytes
/// (a kill interrupts a large write between pages). An 8,000-entry batch is cut at 64 points
/// spread over its bytes, at line ends and inside lines, and at its first and last lines: at every
/// point the ledger holds the earlier batch alone, says a batch was left uncommitted, and the next
/// append removes the remains and chains onto the earlier batch. Only the whole batch counts.
#[test]
fn a_large_batch_cut_at_any_byte_is_all_or_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FsStore::open(tmp.path()).unwrap();
    let key = key();
    let committed = store
        .append(vec![draft(&store, b"a", "a.txt"), draft(&store, b"b", "b.txt")], &key)
        .unwrap();
    let before = std::fs::read(store.ledger_path()).unwrap();
    let tip = assure_ledger::Tip {
        seq: 2,
        hash: committed[1].hash.clone(),
    };
    let one = draft(&store, b"c", "c.csv");
    let drafts: Vec<Draft> = (0..8_000)
        .map(|i| Draft {
            note: Some(format!("file {i} of 8000")),
            ..one.clone()
        })
        .collect();
    let (_, text) = assure_ledger::seal(&tip, drafts, &key);
    let bytes = text.as_bytes();
    let line_ends: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(line_ends.len(), 8_000);
    let mut cuts: Vec<usize> = (1..31).map(|i| bytes.len() * i / 31).collect();
    cuts.extend((1..31).map(|i| line_ends[i * 266 - 1]));
    cuts.extend([1, line_ends[0], line_ends[7_998], bytes.len() - 1]);
    for cut in cuts {
        let mut on_disk = before.clone();
        on_disk.extend_from_slice(&bytes[..cut]);
        std::fs::write(store.ledger_path(), &on_disk).unwrap();
        let parsed = assure_ledger::parse(&store.ledger().unwrap());
        assert_eq!(parsed.entries.len(), 2, "cut at byte {cut}: part of the batch was read");
        assert!(
            parsed
                .problems
                .iter()
                .any(|p| p.code == "uncommitted" || p.code == "truncated"),
            "cut at byte {cut}: the remains were not reported: {:?}",
            parsed.problems
        );
        let report = verify_store(&store);
        assert!(!report.ok(), "cut at byte {cut}: verify said OK");
        assert_eq!(report.entries, 2, "cut at byte {cut}");
        // The next append removes the remains and chains onto the last committed entry.
        let next = store.append(vec![draft(&store, b"d", "d.txt")], &key).unwrap();
        assert_eq!(
            (next[0].seq, next[0].prev.as_str()),
            (3, committed[1].hash.as_str()),
            "cut at byte {cut}"
        );
        let report = verify_store(&store);
        assert!(report.ok(), "cut at byte {cut}: {:?}", report.findings);
        assert_eq!(report.entries, 3);
    }
    // The whole batch, written to the end, counts.
    let mut on_disk = before;
    on_disk.extend_from_slice(bytes);
    std::fs::write(store.ledger_path(), &on_disk).unwrap();
    let report = verify_store(&store);
    assert!(report.ok(), "{:?}", report.findings);
    assert_eq!(report.entries, 8_002);
}

/// Cutting entries off the end of a package's ledger and rewriting its manifest to match is caught
/// by the signed head; a second ledger member is refused.
#[test]
fn a_package_cannot_lose_its_tail_or_carry_two_ledgers() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FsStore::open(tmp.path()).unwrap();
    for i in 0..3 {
        store
            .append(vec![draft(&store, format!("e{i}").as_bytes(), "e.txt")], &key())
            .unwrap();
    }
    let pk = hex::encode(key().verifying_key().to_bytes());
    let pkg = tmp.path().join("pkg.tar");
    export(&store, "Northwind", &key(), &pkg).unwrap();
    let rewrite = |out: &Path, edit: &dyn Fn(&str, Vec<u8>) -> Vec<u8>, extra: Option<(&str, &[u8])>| {
        let mut archive = tar::Archive::new(std::fs::File::open(&pkg).unwrap());
        let mut builder = tar::Builder::new(std::fs::File::create(out).unwrap());
        for item in archive.entries().unwrap() {
            let mut item = item.unwrap();
            let path = item.path().unwrap().to_path_buf();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut item, &mut bytes).unwrap();
            let bytes = edit(&path.to_string_lossy(), bytes);
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_cksum();
            builder.append_data(&mut h, &path, &bytes[..]).unwrap();
        }
        if let Some((name, bytes)) = extra {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_cksum();
            builder.append_data(&mut h, name, bytes).unwrap();
        }
        builder.into_inner().unwrap();
    };
    // Drop the last entry and make the manifest agree with what is left.
    let cut = tmp.path().join("cut.tar");
    let ledger = store.ledger().unwrap();
    let kept: String = ledger.lines().take(2).map(|l| format!("{l}\n")).collect();
    let head2 = assure_ledger::parse(&kept).entries[1].hash.clone();
    rewrite(
        &cut,
        &|name, bytes| {
            if name.ends_with("ledger.jsonl") {
                kept.clone().into_bytes()
            } else if name.ends_with("manifest.json") {
                let mut m: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                m["entries"] = 2.into();
                m["head"] = head2.clone().into();
                serde_json::to_vec(&m).unwrap()
            } else {
                bytes
            }
        },
        None,
    );
    let (_, r) = verify_package(&cut, Some(&pk)).unwrap();
    let codes: Vec<&str> = r.findings.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["head-missing"], "{:?}", r.findings);
    // A second ledger.jsonl appended to the archive: refused, not silently read.
    let twice = tmp.path().join("twice.tar");
    rewrite(
        &twice,
        &|_, b| b,
        Some(("assure-evidence/ledger.jsonl", kept.as_bytes())),
    );
    let e = verify_package(&twice, Some(&pk)).unwrap_err();
    assert!(
        e.to_string().contains("contains `assure-evidence/ledger.jsonl` twice"),
        "{e}"
    );
}

/// The first key of a project, created by several processes at once, is one key: every caller
/// signs with the key that ends up on disk.
#[test]
fn concurrent_first_keys_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Arc::new(tmp.path().to_path_buf());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let root = Arc::clone(&root);
            std::thread::spawn(move || assure_evidence::keys::load_or_create(&root).unwrap())
        })
        .collect();
    let keys: Vec<(SigningKey, bool)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let on_disk = assure_evidence::keys::load_or_create(&root).unwrap().0;
    assert!(keys.iter().all(|(k, _)| k.to_bytes() == on_disk.to_bytes()));
    assert_eq!(keys.iter().filter(|(_, created)| *created).count(), 1);
    let left: Vec<_> = std::fs::read_dir(root.join(".assure/keys"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(left.len(), 1, "no temporary key files are left behind");
}

/// Temporary files of writers that died are swept when the store is opened; a live writer's stay.
#[test]
fn leftovers_of_dead_writers_are_swept_at_open() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FsStore::open(tmp.path()).unwrap();
    let dir = tmp.path().join(".assure/evidence/tmp");
    // A process id that cannot be running (above the kernel's limit).
    std::fs::write(dir.join("4194305-7.part"), vec![0u8; 1024]).unwrap();
    let live = format!("{}-1.part", std::process::id());
    std::fs::write(dir.join(&live), b"in progress").unwrap();
    drop(store);
    FsStore::open(tmp.path()).unwrap();
    assert!(!dir.join("4194305-7.part").exists());
    assert!(dir.join(&live).exists());
}

/// A canonical CSV of `n` accounts.
fn accounts_csv(n: usize) -> String {
    let mut csv = String::from("system,account_id,email,kind,privileged,status,created_at\n");
    for i in 0..n {
        csv.push_str(&format!(
            "okta,a{i},u{i}@example.test,human,false,active,2026-01-0{}T08:00:00Z\n",
            1 + i % 9
        ));
    }
    csv
}

fn import_meta() -> assure_evidence::import::Meta {
    assure_evidence::import::Meta {
        at: "2026-12-01T00:00:00Z".into(),
        by: "tester".into(),
        batch: "b1".into(),
        ..Default::default()
    }
}

fn read_blob(store: &FsStore, blake3: &str) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut store.open_blob(blake3).unwrap(), &mut out).unwrap();
    out
}

/// The application's import copies each original aside while validating it, and stores that copy:
/// a file rewritten on disk between validation and storing cannot put unchecked bytes in the store.
#[test]
fn an_import_stores_the_bytes_it_validated_even_if_the_file_changes_meanwhile() {
    use assure_evidence::import::{Options, commit, plan};
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("accounts.csv");
    let validated = accounts_csv(3000);
    std::fs::write(&file, &validated).unwrap();
    let opts = Options {
        spool: Some(assure_evidence::store::spool_dir(tmp.path())),
        ..Options::default()
    };
    let planned = plan(std::slice::from_ref(&file), &opts).unwrap();
    assert_eq!(planned[0].rows, 3000);
    // Rewritten before it is stored: a row dropped, another made invalid.
    std::fs::write(&file, accounts_csv(2999) + "broken\n").unwrap();
    let store = FsStore::open(tmp.path()).unwrap();
    let entries = commit(&store, &key(), &planned, &import_meta(), &|_| Vec::new()).unwrap();
    let blob = entries[0].draft.blob.as_ref().unwrap();
    assert_eq!(read_blob(&store, &blob.blake3), validated.as_bytes());
    assert_eq!(blob.size, validated.len() as u64);
    let report = verify_store(&store);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert!(
        walk(&tmp.path().join(".assure/evidence/tmp")).is_empty(),
        "the copy was moved, not left"
    );
}

/// Without a copy (a caller that does not spool), storing reads the file again and refuses it when
/// its bytes are not those validated; nothing is recorded.
#[test]
fn a_file_changed_after_validation_is_refused_when_it_is_not_copied() {
    use assure_evidence::import::{Options, commit, plan};
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("accounts.csv");
    std::fs::write(&file, accounts_csv(50)).unwrap();
    let planned = plan(std::slice::from_ref(&file), &Options::default()).unwrap();
    std::fs::write(&file, accounts_csv(49)).unwrap();
    let store = FsStore::open(tmp.path()).unwrap();
    let err = commit(&store, &key(), &planned, &import_meta(), &|_| Vec::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` changed after it was validated; nothing was imported",
            file.display()
        )
    );
    assert_eq!(store.ledger().unwrap(), "");
}

/// An import that is only validated (a dry run, or one with problems) leaves no copy behind.
#[test]
fn copies_of_imports_never_stored_are_removed() {
    use assure_evidence::import::{Options, plan};
    let tmp = tempfile::tempdir().unwrap();
    let spool = assure_evidence::store::spool_dir(tmp.path());
    let good = tmp.path().join("accounts.csv");
    std::fs::write(&good, accounts_csv(20)).unwrap();
    let bad = tmp.path().join("bad-accounts.csv");
    std::fs::write(
        &bad,
        accounts_csv(20) + "okta,a99,u99@example.test,human,false,active,yesterday\n",
    )
    .unwrap();
    let opts = Options {
        spool: Some(spool.clone()),
        ..Options::default()
    };
    let planned = plan(std::slice::from_ref(&good), &opts).unwrap();
    assert_eq!(walk(&spool).len(), 1, "validated and waiting to be stored");
    drop(planned);
    assert!(walk(&spool).is_empty(), "a plan dropped unstored leaves nothing");
    let problems = plan(&[good, bad], &opts).unwrap_err();
    assert!(problems.iter().any(|p| p.row == Some(22)), "{problems:?}");
    assert!(walk(&spool).is_empty(), "an import refused leaves nothing");
}

/// Which of a copy's columns have a dictionary, in its first row group.
fn dictionary_columns(copy: &[u8]) -> Vec<String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(bytes::Bytes::copy_from_slice(copy)).unwrap();
    let group = reader.metadata().row_group(0);
    group
        .columns()
        .iter()
        .filter(|c| c.dictionary_page_offset().is_some())
        .map(|c| c.column_path().string())
        .collect()
}

/// A new copy records its layout; the row number and the column that identifies a row are written
/// without a dictionary, and rows are numbered with the line they start on. A copy recorded in an
/// earlier layout (layout 2, which numbered rows as the `csv` reader counts them; layout 1, recorded
/// as no layout, which also gave every column a dictionary) is rebuilt in that layout, to the same
/// bytes, and a layout this build does not know is refused by name.
#[test]
fn a_copy_is_rebuilt_in_the_layout_its_entry_records() {
    use assure_evidence::import::{Options, commit, plan};
    use assure_evidence::load::{derive, rebuild};
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("accounts.csv");
    // Saved with `\r\n` line ends, as spreadsheets save CSV: the layouts number its rows differently.
    std::fs::write(&file, accounts_csv(3000).replace('\n', "\r\n")).unwrap();
    let planned = plan(std::slice::from_ref(&file), &Options::default()).unwrap();
    let store = FsStore::open(tmp.path()).unwrap();
    let entries = commit(&store, &key(), &planned, &import_meta(), &|_| Vec::new()).unwrap();
    let blob = entries[0].draft.blob.clone().unwrap();
    let recorded = entries[0].draft.columnar.clone().unwrap();
    assert_eq!(recorded.layout, Some(assure_evidence::columnar::LAYOUT));
    assert_eq!(assure_evidence::columnar::LAYOUT, 3);
    let now = store.read_columnar(&blob.blake3).unwrap().unwrap();
    let mut with_dictionary = dictionary_columns(&now);
    with_dictionary.sort();
    // Every column but the two unique ones (and the boolean, which Parquet never gives one).
    assert_eq!(
        with_dictionary,
        [
            "created_at",
            "deprovisioned_at",
            "email",
            "kind",
            "last_login_at",
            "role",
            "status",
            "system"
        ]
    );
    let rebuilt = rebuild(&store, &entries, &mut |_, _| {}).unwrap();
    assert_eq!(rebuilt[0].result, Ok(()));
    assert_eq!(store.read_columnar(&blob.blake3).unwrap().unwrap(), now);

    let table = assure_schema::tables::table("accounts").unwrap();
    let csv = assure_evidence::connectors::canonical(assure_evidence::read::Format::Csv);
    // The same original as a copy of layout 2 (the same columns, rows numbered a line early) and of
    // layout 1 (`_row` and the identifier with a dictionary too), recorded as no layout.
    let mut legacy = entries.clone();
    let mut old = Vec::new();
    for (layout, recorded, extra) in [(2, Some(2), &[][..]), (1, None, &["_row", "account_id"][..])] {
        old = derive(
            csv,
            store.open_blob(&blob.blake3).unwrap(),
            table,
            "accounts.csv",
            None,
            layout,
        )
        .unwrap();
        assert_ne!(old, now, "layout {layout}");
        let mut old_dictionary = dictionary_columns(&old);
        old_dictionary.sort();
        let mut expected = with_dictionary.clone();
        expected.extend(extra.iter().map(|c| c.to_string()));
        expected.sort();
        assert_eq!(old_dictionary, expected, "layout {layout}");
        legacy = entries.clone();
        legacy[0].draft.columnar = Some(assure_ledger::ColumnarRef {
            layout: recorded,
            ..store.put_columnar(&blob.blake3, &old, 3000).unwrap()
        });
        let rebuilt = rebuild(&store, &legacy, &mut |_, _| {}).unwrap();
        assert_eq!(rebuilt[0].result, Ok(()));
        assert_eq!(
            store.read_columnar(&blob.blake3).unwrap().unwrap(),
            old,
            "layout {layout}, byte for byte"
        );
    }

    let mut unknown = legacy.clone();
    if let Some(c) = unknown[0].draft.columnar.as_mut() {
        c.layout = Some(9);
    }
    let rebuilt = rebuild(&store, &unknown, &mut |_, _| {}).unwrap();
    let error = rebuilt[0].result.clone().unwrap_err();
    assert!(
        error.contains("layout 9 is not one this build of Assure writes"),
        "{error}"
    );
    assert_eq!(
        store.read_columnar(&blob.blake3).unwrap().unwrap(),
        old,
        "left as it was"
    );
}
