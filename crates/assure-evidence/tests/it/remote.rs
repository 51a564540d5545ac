//! The evidence store on S3-compatible object storage, against a real S3 API server the test starts
//! itself (moto's server from PyPI, installed by `scripts/test.sh`): uploads, listing, verification,
//! concurrent writers, and an outage in the middle of an import.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assure_evidence::import::{Meta, Options, commit, plan};
use assure_evidence::load::load;
use assure_evidence::remote::{RemoteOptions, RemoteStore};
use assure_evidence::store::{EvidenceStore, StoreError};
use assure_ledger::{BlobCheck, verify};
use ed25519_dalek::SigningKey;

/// A moto S3 server on a free loopback port, stopped when dropped.
struct S3Server {
    child: Child,
    port: u16,
}

impl S3Server {
    fn start() -> S3Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with moto[server] (scripts/test.sh installs it)");
        let server = S3Server { child, port };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(30), "moto did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket (moto takes an unsigned request for that).
    fn bucket(&self, name: &str) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }

    fn store(&self, url: &str) -> RemoteStore {
        RemoteStore::open(
            url,
            &RemoteOptions {
                endpoint: Some(self.endpoint()),
                credentials: Some(("test".into(), "test".into())),
                region: None,
                timeout: Some((Duration::from_secs(2), 1)),
                from_env: false,
            },
        )
        .unwrap()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

fn trainings(dir: &std::path::Path, files: usize) -> Vec<std::path::PathBuf> {
    (0..files)
        .map(|f| {
            let p = dir.join(format!("trainings-{f}.csv"));
            std::fs::write(
                &p,
                format!(
                    "email,course,completed_at\nu{f}@x.example,security,2026-02-0{}T09:00:00Z\n",
                    1 + f % 9
                ),
            )
            .unwrap();
            p
        })
        .collect()
}

fn meta(batch: &str) -> Meta {
    Meta {
        at: "2026-06-01T00:00:00Z".into(),
        by: "t".into(),
        batch: batch.into(),
        ..Meta::default()
    }
}

/// Imports into a bucket, reads the rows back from the columnar copies, verifies every blob and the
/// chain, and catches an object replaced in the bucket; a file stored without an entry is an orphan.
#[test]
fn an_import_into_object_storage_reads_back_and_verifies() {
    let s3 = S3Server::start();
    s3.bucket("evidence");
    let store = s3.store("s3://evidence/acme");
    let tmp = tempfile::tempdir().unwrap();
    let files = trainings(tmp.path(), 3);
    let planned = plan(&files, &Options::default()).unwrap();
    commit(&store, &key(), &planned, &meta("b1"), &|_| Vec::new()).unwrap();
    // The same file again is stored once (same content, same object).
    let again = plan(&files[..1], &Options::default()).unwrap();
    commit(&store, &key(), &again, &meta("b2"), &|_| Vec::new()).unwrap();

    let loaded = load(&store).unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    assert_eq!(loaded.tables["trainings"].rows.len(), 3);

    let text = store.ledger().unwrap();
    let report = verify(&text, &key().verifying_key(), &mut |b| store.check_blob(b));
    assert!(report.ok(), "{:?}", report.findings);
    assert_eq!(report.entries, 4);
    let parsed = assure_ledger::parse(&text);
    let named: std::collections::BTreeSet<String> = parsed
        .entries
        .iter()
        .filter_map(|e| e.draft.blob.as_ref().map(|b| b.blake3.clone()))
        .collect();
    assert_eq!(named.len(), 3);
    assert!(store.orphans(&named).unwrap().is_empty());

    // A file stored by an import that never recorded it is garbage, listed, never evidence.
    let stray = store.put_blob(&mut &b"never recorded"[..], "stray.csv").unwrap();
    let orphans = store.orphans(&named).unwrap();
    assert_eq!(orphans.len(), 1);
    assert!(orphans[0].ends_with(&stray.blake3[2..]), "{orphans:?}");

    // Someone with write access to the bucket replaces an original: verification names it.
    let first = parsed.entries[0].draft.blob.clone().unwrap();
    let raw = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name("evidence")
        .with_endpoint(s3.endpoint())
        .with_allow_http(true)
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .with_region("us-east-1")
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let path = object_store::path::Path::from(format!("acme/blobs/{}/{}", &first.blake3[..2], &first.blake3[2..]));
    rt.block_on(object_store::ObjectStoreExt::put(
        &raw,
        &path,
        object_store::PutPayload::from(b"email,course,completed_at\n".to_vec()),
    ))
    .unwrap();
    assert!(matches!(store.check_blob(&first), BlobCheck::Altered { .. }));
    let report = verify(&store.ledger().unwrap(), &key().verifying_key(), &mut |b| {
        store.check_blob(b)
    });
    assert!(!report.ok());
    assert!(
        report.findings.iter().any(|f| f.seq == Some(1)),
        "{:?}",
        report.findings
    );
}

/// Several servers sharing one bucket append at the same time: every batch is recorded once, in one
/// chain, with nothing lost (each append claims the next ledger object only if no one has yet).
#[test]
fn servers_sharing_a_bucket_append_into_one_chain() {
    let s3 = S3Server::start();
    s3.bucket("shared");
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = s3.store("s3://shared/");
            std::thread::spawn(move || {
                for b in 0..5 {
                    let blob = store
                        .put_blob(&mut format!("writer {w} batch {b}").as_bytes(), "x.txt")
                        .unwrap();
                    let mut d = assure_ledger::Draft::new(assure_ledger::Action::Add, "2026-06-01T00:00:00Z", "t");
                    d.blob = Some(blob);
                    d.batch = Some(format!("w{w}-b{b}"));
                    store.append(vec![d.clone(), d], &key()).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let store = s3.store("s3://shared");
    let text = store.ledger().unwrap();
    let report = verify(&text, &key().verifying_key(), &mut |b| store.check_blob(b));
    assert!(report.ok(), "{:?}", report.findings);
    assert_eq!(report.entries, 40);
    let batches: std::collections::BTreeSet<String> = assure_ledger::parse(&text)
        .entries
        .iter()
        .filter_map(|e| e.draft.batch.clone())
        .collect();
    assert_eq!(batches.len(), 20);
}

/// The object store stops answering in the middle of an import: the import fails with an error that
/// names the store, nothing of it is recorded, and once the store answers again the same import
/// succeeds. (moto keeps objects in memory, so the outage is a stopped server rather than a
/// restarted one, which would come back empty.)
#[test]
fn an_outage_during_an_import_records_nothing() {
    let s3 = S3Server::start();
    s3.bucket("flaky");
    let store = s3.store("s3://flaky/p");
    let tmp = tempfile::tempdir().unwrap();
    let files_a = trainings(tmp.path(), 2);
    commit(
        &store,
        &key(),
        &plan(&files_a, &Options::default()).unwrap(),
        &meta("a"),
        &|_| Vec::new(),
    )
    .unwrap();
    let before = store.ledger().unwrap();

    let more = tmp.path().join("more");
    std::fs::create_dir_all(&more).unwrap();
    let files_b = trainings(&more, 5);
    let planned = plan(&files_b, &Options::default()).unwrap();
    s3.signal("-STOP");
    let failed = commit(&store, &key(), &planned, &meta("b"), &|_| Vec::new());
    s3.signal("-CONT");
    let err = failed.expect_err("the import went through while the store was down");
    let text = err.to_string();
    assert!(text.contains("cannot"), "{text}");
    assert!(matches!(err, StoreError::Remote { .. }), "{err:?}");
    assert_eq!(store.ledger().unwrap(), before, "a failed import changed the ledger");

    commit(&store, &key(), &planned, &meta("b"), &|_| Vec::new()).unwrap();
    let report = verify(&store.ledger().unwrap(), &key().verifying_key(), &mut |b| {
        store.check_blob(b)
    });
    assert!(report.ok(), "{:?}", report.findings);
    assert_eq!(report.entries, 7);
}
