//! Continuous monitoring through the public command: a baseline cycle, a new exception alerted
//! exactly once to a webhook that checks the signature, a quiet cycle after it, and an alert that
//! could not be delivered tried again.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use hmac::{KeyInit, Mac};

use crate::cli::{Run, assure};

/// Each request a receiver got: its signature header and its body.
type Received = Arc<Mutex<Vec<(Option<String>, String)>>>;

/// A webhook receiver: records each request's signature header and body, answers `status`.
fn receiver(status: u16) -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            let mut signature = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("x-assure-signature:") {
                    signature = Some(line.split_once(':').unwrap().1.trim().to_string());
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            seen.lock().unwrap().push((signature, String::from_utf8(body).unwrap()));
            let reason = if status == 200 { "OK" } else { "Service Unavailable" };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, got)
}

fn monitor(dir: &Path) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_assure"))
        .args(["monitor", "p", "--once", "--as-of", "2026-11-30"])
        .env("ASSURE_TEST_HOOK_SECRET", "s3cret")
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

const VULNS: &str = "finding_id,asset_id,source,cve,severity,detected_at,remediated_at,status
V-1,db-core,trivy,CVE-2026-1000,high,2026-09-01T00:00:00Z,2026-09-10T00:00:00Z,remediated
";

/// A new project `p` whose `[monitoring]` has `settings` and a webhook (with `hook_extra`) to a
/// receiver answering 200, and `VULNS` imported; the directory, the hook's URL and what the
/// receiver gets.
fn watched(settings: &str, hook_extra: &str) -> (tempfile::TempDir, String, Received) {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(assure(&["init", "p"], None, tmp.path()).code, 0);
    let (url, got) = receiver(200);
    let manifest = tmp.path().join("p/assure.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str(&format!(
        "\n[monitoring]\n{settings}\n\n[[monitoring.alert]]\nkind = \"webhook\"\nurl = \"{url}\"\n{hook_extra}"
    ));
    std::fs::write(&manifest, &text).unwrap();
    assert_eq!(assure(&["validate", "p"], None, tmp.path()).code, 0);
    std::fs::write(tmp.path().join("vulns.csv"), VULNS).unwrap();
    assert_eq!(
        assure(&["evidence", "import", "-p", "p", "vulns.csv"], None, tmp.path()).code,
        0
    );
    (tmp, url, got)
}

#[test]
fn a_new_exception_is_alerted_once_signed_and_a_failed_delivery_is_tried_again() {
    let (tmp, url, got) = watched("schedule = \"hourly\"", "secret_env = \"ASSURE_TEST_HOOK_SECRET\"\n");
    let manifest = tmp.path().join("p/assure.toml");

    // The first cycle is the baseline: nothing is alerted.
    let r = monitor(tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("first cycle of this period"), "{}", r.stdout);
    assert!(got.lock().unwrap().is_empty());

    // New evidence with a critical finding open for months: one alert, naming test and item.
    std::fs::write(
        tmp.path().join("vulns-2.csv"),
        "finding_id,asset_id,source,cve,severity,detected_at,remediated_at,status\nV-2,db-core,trivy,CVE-2026-2000,critical,2026-08-01T00:00:00Z,,open\n",
    )
    .unwrap();
    assert_eq!(
        assure(&["evidence", "import", "-p", "p", "vulns-2.csv"], None, tmp.path()).code,
        0
    );
    let r = monitor(tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let alerts = got.lock().unwrap().clone();
    assert_eq!(alerts.len(), 1, "{alerts:?}\n{}", r.stdout);
    let (sig, body) = &alerts[0];
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["test"], "vulnerabilities-critical-high-within-sla");
    assert_eq!(v["item"], "V-2");
    assert_eq!(v["kind"], "new");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(body.as_bytes());
    assert_eq!(
        sig.as_deref(),
        Some(format!("sha256={}", hex::encode(mac.finalize().into_bytes())).as_str())
    );
    assert!(
        r.stdout
            .contains("alert: test vulnerabilities-critical-high-within-sla: new exception V-2"),
        "{}",
        r.stdout
    );

    // Nothing changed: nothing is sent, and no identical run is recorded again.
    let entries_before = assure(&["evidence", "list", "-p", "p"], None, tmp.path())
        .stdout
        .lines()
        .count();
    let r = monitor(tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("nothing changed since the previous cycle"),
        "{}",
        r.stdout
    );
    assert_eq!(got.lock().unwrap().len(), 1);
    let entries_after = assure(&["evidence", "list", "-p", "p"], None, tmp.path())
        .stdout
        .lines()
        .count();
    assert_eq!(entries_before, entries_after, "a cycle with nothing new records no run");

    // A destination that refuses: the alert is kept and tried again by the next cycle.
    let (down, refused) = receiver(503);
    let text = std::fs::read_to_string(&manifest).unwrap().replace(&url, &down);
    std::fs::write(&manifest, text).unwrap();
    std::fs::write(
        tmp.path().join("vulns-3.csv"),
        "finding_id,asset_id,source,cve,severity,detected_at,remediated_at,status\nV-3,db-core,trivy,CVE-2026-3000,high,2026-07-01T00:00:00Z,,open\n",
    )
    .unwrap();
    assert_eq!(
        assure(&["evidence", "import", "-p", "p", "vulns-3.csv"], None, tmp.path()).code,
        0
    );
    let r = monitor(tmp.path());
    assert!(
        r.stdout.contains("not delivered; tried again next cycle"),
        "{}",
        r.stdout
    );
    assert_eq!(refused.lock().unwrap().len(), 1);
    let text = std::fs::read_to_string(&manifest).unwrap().replace(&down, &url);
    std::fs::write(&manifest, text).unwrap();
    let r = monitor(tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let alerts = got.lock().unwrap().clone();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(alerts[1].1.contains("\"item\":\"V-3\""), "{}", alerts[1].1);

    // The history has one line per cycle.
    let history = std::fs::read_to_string(tmp.path().join("p/.assure/monitor/history.jsonl")).unwrap();
    assert_eq!(history.lines().count(), 5);
}

/// A free port on the loopback interface.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The IAM collector against a real local AWS API server (moto's, from PyPI): requests signed with
/// SigV4, the credential report generated, fetched, recorded in the ledger as an import noting the
/// collector and endpoint, and not recorded again when it has not changed; a collector that cannot
/// reach its endpoint is alerted even on the first cycle.
#[test]
fn the_iam_collector_pulls_the_credential_report_from_an_aws_api_server() {
    let port = free_port();
    let server = Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with moto[server] (scripts/test.sh installs it)");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _server = Kill(server);
    {
        let endpoint = format!("http://127.0.0.1:{port}");
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed().as_secs() < 30, "moto did not start");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        // Users made through the AWS SDK for Python, as an administrator would.
        let setup = Command::new("python3")
            .args([
                "-c",
                &format!(
                    "import boto3\niam = boto3.client('iam', endpoint_url='{endpoint}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n\
                     iam.create_user(UserName='alice')\niam.create_login_profile(UserName='alice', Password='Correct-Horse-9')\n\
                     iam.create_user(UserName='deployer')\niam.create_access_key(UserName='deployer')\n"
                ),
            ])
            .output()
            .unwrap();
        assert!(setup.status.success(), "{}", String::from_utf8_lossy(&setup.stderr));

        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(assure(&["init", "p"], None, tmp.path()).code, 0);
        let (url, got) = receiver(200);
        let manifest = tmp.path().join("p/assure.toml");
        let mut text = std::fs::read_to_string(&manifest).unwrap();
        text.push_str(&format!(
            "\n[monitoring]\n\n[[monitoring.collect]]\nkind = \"aws-iam\"\nendpoint = \"{endpoint}/\"\n\n[[monitoring.collect]]\nkind = \"aws-iam\"\nendpoint = \"http://127.0.0.1:{}/\"\n\n[[monitoring.alert]]\nkind = \"webhook\"\nurl = \"{url}\"\n",
            free_port()
        ));
        std::fs::write(&manifest, &text).unwrap();
        assert_eq!(assure(&["validate", "p"], None, tmp.path()).code, 0);
        let cycle = || {
            let out = Command::new(env!("CARGO_BIN_EXE_assure"))
                .args(["monitor", "p", "--once", "--as-of", "2026-11-30"])
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .current_dir(tmp.path())
                .output()
                .unwrap();
            (
                String::from_utf8(out.stdout).unwrap(),
                String::from_utf8(out.stderr).unwrap(),
            )
        };
        let (out, err) = cycle();
        assert!(
            out.contains("collected aws-iam credential-report: 2 rows into accounts as ledger entry 1"),
            "{out}\n{err}"
        );
        assert!(
            out.contains("collected aws-iam credential-report: failed: cannot reach http://127.0.0.1:"),
            "{out}"
        );
        // The unreachable endpoint is alerted on the first cycle; the controls' state is the baseline.
        let alerts = got.lock().unwrap().clone();
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert!(
            alerts[0].1.contains("\"condition\":\"collector_failed\""),
            "{}",
            alerts[0].1
        );
        let show = assure(&["evidence", "show", "1", "-p", "p"], None, tmp.path());
        assert!(
            show.stdout
                .contains(&format!("collected by aws-iam credential-report from {endpoint}/")),
            "{}",
            show.stdout
        );
        assert!(show.stdout.contains("aws-credential-report"), "{}", show.stdout);
        // Nothing changed in IAM: the same report is not recorded again, the failure not re-alerted.
        let (out, _) = cycle();
        assert!(
            out.contains("collected aws-iam credential-report: unchanged since it was last recorded"),
            "{out}"
        );
        assert_eq!(got.lock().unwrap().len(), 1);
    }
}

/// Email alerts over STARTTLS to a real SMTP server the test starts (aiosmtpd from PyPI, with a
/// certificate made for the test and trusted through `ca_file`): the new exception arrives as one
/// message naming the test and the item.
#[test]
fn a_new_exception_is_emailed_over_starttls() {
    let tmp = tempfile::tempdir().unwrap();
    // A certificate authority of the test's own, and a server certificate it signs for localhost.
    let (ca, ca_key) = (tmp.path().join("ca.pem"), tmp.path().join("ca.key"));
    let (cert, key, csr, ext) = (
        tmp.path().join("cert.pem"),
        tmp.path().join("key.pem"),
        tmp.path().join("server.csr"),
        tmp.path().join("server.ext"),
    );
    std::fs::write(
        &ext,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let openssl = |args: &[&std::ffi::OsStr]| {
        let made = Command::new("openssl").args(args).output().expect("openssl");
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    };
    let s = |x: &str| std::ffi::OsString::from(x);
    openssl(&[
        &s("req"),
        &s("-x509"),
        &s("-newkey"),
        &s("rsa:2048"),
        &s("-nodes"),
        &s("-days"),
        &s("1"),
        &s("-subj"),
        &s("/CN=Assure test CA"),
        &s("-keyout"),
        ca_key.as_os_str(),
        &s("-out"),
        ca.as_os_str(),
    ]);
    openssl(&[
        &s("req"),
        &s("-newkey"),
        &s("rsa:2048"),
        &s("-nodes"),
        &s("-subj"),
        &s("/CN=localhost"),
        &s("-keyout"),
        key.as_os_str(),
        &s("-out"),
        csr.as_os_str(),
    ]);
    openssl(&[
        &s("x509"),
        &s("-req"),
        &s("-in"),
        csr.as_os_str(),
        &s("-CA"),
        ca.as_os_str(),
        &s("-CAkey"),
        ca_key.as_os_str(),
        &s("-CAcreateserial"),
        &s("-days"),
        &s("1"),
        &s("-extfile"),
        ext.as_os_str(),
        &s("-out"),
        cert.as_os_str(),
    ]);
    let port = free_port();
    let server = Command::new("python3")
        .args([
            "-u",
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "--tlscert",
        ])
        .arg(&cert)
        .arg("--tlskey")
        .arg(&key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with aiosmtpd (scripts/test.sh installs it)");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut server = Kill(server);
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed().as_secs() < 30, "aiosmtpd did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(assure(&["init", "p"], None, tmp.path()).code, 0);
    let manifest = tmp.path().join("p/assure.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str(&format!(
        "\n[monitoring]\n\n[[monitoring.alert]]\nkind = \"email\"\nserver = \"localhost:{port}\"\nfrom = \"assure@acme.example\"\nto = [\"security@acme.example\"]\nca_file = \"{}\"\n",
        ca.display()
    ));
    std::fs::write(&manifest, &text).unwrap();
    assert_eq!(assure(&["validate", "p"], None, tmp.path()).code, 0);
    std::fs::write(tmp.path().join("vulns.csv"), VULNS).unwrap();
    assert_eq!(
        assure(&["evidence", "import", "-p", "p", "vulns.csv"], None, tmp.path()).code,
        0
    );
    assert_eq!(monitor(tmp.path()).code, 0);
    std::fs::write(
        tmp.path().join("vulns-2.csv"),
        "finding_id,asset_id,source,cve,severity,detected_at,remediated_at,status\nV-2,db-core,trivy,CVE-2026-2000,critical,2026-08-01T00:00:00Z,,open\n",
    )
    .unwrap();
    assert_eq!(
        assure(&["evidence", "import", "-p", "p", "vulns-2.csv"], None, tmp.path()).code,
        0
    );
    let r = monitor(tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("not delivered"), "{}\n{}", r.stdout, r.stderr);
    let _ = server.0.kill();
    let mut out = String::new();
    server.0.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert_eq!(out.matches("---------- MESSAGE FOLLOWS ----------").count(), 1, "{out}");
    assert!(out.contains("security@acme.example"), "{out}");
    assert!(
        out.contains("test vulnerabilities-critical-high-within-sla: new exception V-2"),
        "{out}"
    );
}

/// The tests' PostgreSQL: `ASSURE_TEST_PG` (host:port, set by `scripts/test.sh` when it brings up
/// its own server), else the machine's 127.0.0.1:5432.
fn pg_address() -> String {
    std::env::var("ASSURE_TEST_PG").unwrap_or_else(|_| "127.0.0.1:5432".into())
}

fn psql(db: &str, sql: &str) -> String {
    let addr = pg_address();
    let (host, port) = addr.rsplit_once(':').unwrap_or((addr.as_str(), "5432"));
    let out = Command::new("psql")
        .args(["-h", host, "-p", port, "-U", "postgres", "-d", db, "-Atc", sql])
        .output()
        .expect("psql (scripts/test.sh installs the PostgreSQL client)");
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Two `assure serve` instances over one project and one PostgreSQL database, both running the
/// schedule: every slot is run by exactly one of them (the other says so), the project's history
/// has exactly one line per slot run, and the database says which instance ran each.
#[test]
fn two_servers_sharing_postgresql_never_run_the_same_cycle_twice() {
    let db = format!("assure_monitor_{}_{}", std::process::id(), free_port());
    psql("test", &format!("CREATE DATABASE {db}"));
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(assure(&["init", "p"], None, tmp.path()).code, 0);
    let manifest = tmp.path().join("p/assure.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("\n[monitoring]\nschedule = \"every 5 seconds\"\n");
    std::fs::write(&manifest, &text).unwrap();
    assert_eq!(assure(&["validate", "p"], None, tmp.path()).code, 0);
    let url = format!("postgres://postgres@{}/{db}", pg_address());
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let start = |log: &str| {
        let file = std::fs::File::create(tmp.path().join(log)).unwrap();
        Kill(
            Command::new(env!("CARGO_BIN_EXE_assure"))
                .args([
                    "serve",
                    "p",
                    "--listen",
                    &format!("127.0.0.1:{}", free_port()),
                    "--database",
                    &url,
                ])
                .env("ASSURE_ADMIN_EMAIL", "admin@example.com")
                .env("ASSURE_ADMIN_PASSWORD", "a long enough password")
                .current_dir(tmp.path())
                .stdout(Stdio::null())
                .stderr(file)
                .spawn()
                .unwrap(),
        )
    };
    let a = start("a.log");
    let b = start("b.log");
    // Both instances' schedulers must have met at least two slots: they start one after the
    // other (the second finds the administrator already created), so the first slot or two may be
    // seen by only one of them.
    let spoken = |log: &str| {
        std::fs::read_to_string(tmp.path().join(log))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("monitoring cycle scheduled "))
            .count()
    };
    let waiting = std::time::Instant::now();
    while spoken("a.log") < 2 || spoken("b.log") < 2 {
        assert!(
            waiting.elapsed().as_secs() < 120,
            "the schedulers never met two slots each"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let rows = |sql: &str| psql(&db, sql).lines().map(str::to_string).collect::<Vec<_>>();
    // Stop the servers between slots, with no cycle running (slots fall on multiples of 5 s).
    let begun = std::time::Instant::now();
    loop {
        assert!(begun.elapsed().as_secs() < 60, "a cycle never finished");
        let into_slot = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            % 5000;
        if (1500..3500).contains(&into_slot) && rows("SELECT slot FROM monitor_cycles WHERE finished_at = 0").is_empty()
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop((a, b));
    let ran = rows(
        "SELECT slot || '|' || instance || '|' || split_part(outcome, E'\\n', 1) FROM monitor_cycles ORDER BY slot",
    );
    let logs = ["a.log", "b.log"].map(|l| std::fs::read_to_string(tmp.path().join(l)).unwrap());
    psql("test", &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));

    assert!(ran.len() >= 2, "{ran:?}\n{logs:?}");
    // The first slot each instance spoke of; from the later of the two on, both were scheduling.
    let first_slot = |log: &str| {
        log.lines()
            .find_map(|l| l.strip_prefix("monitoring cycle "))
            .and_then(|l| l.split(": ").next())
            .map(str::to_string)
            .unwrap_or_default()
    };
    let both_from = first_slot(&logs[0]).max(first_slot(&logs[1]));
    let mut met_by_both = 0;
    let history = std::fs::read_to_string(tmp.path().join("p/.assure/monitor/history.jsonl")).unwrap();
    assert_eq!(history.lines().count(), ran.len(), "{ran:?}\n{history}");
    for row in &ran {
        let slot = row.split('|').next().unwrap();
        assert!(slot.starts_with("scheduled "), "{row}");
        assert!(
            row.split('|').nth(2).unwrap().starts_with("ok: Monitoring cycle at"),
            "{row}"
        );
        let said = |l: &str, what: &str| {
            l.lines()
                .filter(|x| x.starts_with(&format!("monitoring cycle {slot}: {what}")))
                .count()
        };
        // Exactly one instance ran it; the other one, if it was scheduling yet, stood back.
        assert_eq!(said(&logs[0], "ok") + said(&logs[1], "ok"), 1, "{slot}\n{logs:?}");
        let both = slot >= both_from.as_str();
        met_by_both += usize::from(both);
        assert_eq!(
            said(&logs[0], "run by another instance")
                + said(&logs[1], "run by another instance")
                + said(&logs[0], "skipped")
                + said(&logs[1], "skipped"),
            usize::from(both),
            "{slot} (both scheduling from {both_from})\n{logs:?}"
        );
    }
    assert!(met_by_both >= 2, "{ran:?}\n{logs:?}");
}

/// The daily digest: with the first cycle of a day, whether or not anything changed (a baseline
/// included), one message to every destination saying what is open; not again the same day; again
/// the next day.
#[test]
fn a_daily_digest_goes_out_once_a_day_even_when_nothing_changed() {
    let (tmp, _, got) = watched("digest = \"daily\"", "");
    let today = chrono::Utc::now().date_naive().to_string();
    let r = monitor(tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!("daily digest for {today} sent")),
        "{}",
        r.stdout
    );
    let first = got.lock().unwrap().clone();
    assert_eq!(first.len(), 1, "{first:?}");
    let v: serde_json::Value = serde_json::from_str(&first[0].1).unwrap();
    assert_eq!(v["kind"], "digest");
    assert_eq!(v["day"], today);
    let open = v["open"].as_u64().unwrap();
    assert!(open > 0, "{v}");
    assert_eq!(
        v["by_kind"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum::<u64>(),
        open
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Assure daily digest for {today}: {open} condition(s) open")),
        "{v}"
    );

    // The same day: no second digest.
    let r = monitor(tmp.path());
    assert!(!r.stdout.contains("daily digest"), "{}", r.stdout);
    assert_eq!(got.lock().unwrap().len(), 1);

    // The next day (as the state remembers it): a digest again.
    let state = tmp.path().join("p/.assure/monitor/state.json");
    let s = std::fs::read_to_string(&state).unwrap();
    std::fs::write(
        &state,
        s.replace(
            &format!("\"last_digest\": \"{today}\""),
            "\"last_digest\": \"2020-01-01\"",
        ),
    )
    .unwrap();
    let r = monitor(tmp.path());
    assert!(r.stdout.contains("daily digest for"), "{}", r.stdout);
    assert_eq!(got.lock().unwrap().len(), 2);
}

/// A cycle that changes nothing keeps the latest run from its small summary in `.assure/runs/`
/// without reading the run's items; it still hashes every input, so a file altered on disk is
/// caught, and without the summary the cycle comes to the same answer the long way.
#[test]
fn an_unchanged_cycle_keeps_the_run_from_its_summary_but_still_proves_its_inputs() {
    let (tmp, _, _) = watched("", "");
    let r = monitor(tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let runs = tmp.path().join("p/.assure/runs");
    let summaries: Vec<_> = std::fs::read_dir(&runs).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    let r = monitor(tmp.path());
    assert!(
        r.stdout
            .contains("no new run: every outcome, input and definition is as in run"),
        "{}",
        r.stdout
    );
    // Without the summary: the same answer, and the summary is kept again.
    std::fs::remove_file(&summaries[0]).unwrap();
    let r = monitor(tmp.path());
    assert!(r.stdout.contains("no new run"), "{}", r.stdout);
    assert!(summaries[0].exists());
    // A summary that does not parse is ignored.
    std::fs::write(&summaries[0], "{").unwrap();
    let r = monitor(tmp.path());
    assert!(r.stdout.contains("no new run"), "{}", r.stdout);
    // An input altered on disk: the cycle does not keep the run on the summary's word.
    let columnar = tmp.path().join("p/.assure/evidence/columnar");
    // The copy of entry 1 (vulns.csv; the registers' copies are recorded too), kept under the
    // original's hash in a directory named by its first two characters.
    let ledger = std::fs::read_to_string(tmp.path().join("p/.assure/evidence/ledger.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(ledger.lines().next().unwrap()).unwrap();
    let hash = first["blob"]["blake3"].as_str().unwrap().to_string();
    let copy = columnar.join(&hash[..2]).join(format!("{}.parquet", &hash[2..]));
    assert!(
        copy.is_file(),
        "a columnar copy of the imported file at {}",
        copy.display()
    );
    let mut bytes = std::fs::read(&copy).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&copy, &bytes).unwrap();
    let r = monitor(tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("no new run"), "{}", r.stdout);
    // The tests that read it stop, and that is alerted: each names the file and what to do.
    for t in [
        "vulnerabilities-critical-high-within-sla",
        "vulnerabilities-medium-within-sla",
    ] {
        assert!(
            r.stdout.contains(&format!("alert: test {t} could not run: its evidence does not check out: vulns.csv: the columnar copy of entry 1 was altered after import")),
            "{}",
            r.stdout
        );
    }
}

/// What the gap analysis shows is monitored too: a policy whose review falls due is alerted once,
/// with the date it was due; each cycle records the readiness figure.
#[test]
fn a_policy_falling_overdue_is_alerted_and_readiness_is_recorded_per_cycle() {
    let (tmp, _, got) = watched("", "");
    let r = monitor(tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(got.lock().unwrap().is_empty());
    // The policy's approval, recorded as given a year before: its annual review is now overdue.
    let r = assure(
        &[
            "policy",
            "approve",
            "-p",
            "p",
            "acceptable-use",
            "--approver",
            "dana.whitfield",
            "--on",
            "2025-01-15",
        ],
        None,
        tmp.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = monitor(tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let alerts = got.lock().unwrap().clone();
    assert_eq!(alerts.len(), 1, "{alerts:?}\n{}", r.stdout);
    let v: serde_json::Value = serde_json::from_str(&alerts[0].1).unwrap();
    assert_eq!(v["condition"], "policy_overdue");
    assert_eq!(v["policy"], "acceptable-use");
    assert_eq!(v["message"], "policy acceptable-use 1.0: its review was due 2026-01-15");
    let history = std::fs::read_to_string(tmp.path().join("p/.assure/monitor/history.jsonl")).unwrap();
    assert!(history.lines().all(|l| l.contains("\"readiness\":")), "{history}");
}

#[path = "../../../assure-collect/tests/it/replay.rs"]
mod replay;

/// The GitHub collector end to end, against `@octokit/fixtures-server`: the first cycle pulls the
/// organisation's members and merged pull requests into the ledger (the baseline); the next pulls
/// only what was merged since its cursor, a pull request approved by nobody but its author, and
/// that new exception is alerted once, naming the test and the change.
#[test]
fn pulled_pull_requests_feed_the_tests_and_a_new_unreviewed_change_is_alerted() {
    let server = replay::Server::start(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    let (tmp, _, got) = watched("", "");
    let secrets = tmp.path().join("secrets.toml");
    std::fs::write(
        &secrets,
        "GITHUB_TOKEN = \"0000000000000000000000000000000000000001\"\n",
    )
    .unwrap();
    let manifest = tmp.path().join("p/assure.toml");
    let base = std::fs::read_to_string(&manifest).unwrap();
    let with_endpoint = |url: &str| {
        base.replace(
            "[monitoring]\n",
            &format!(
                "[monitoring]\nsecrets_file = \"{}\"\n\n[[monitoring.collect]]\nkind = \"github\"\nendpoint = \"{url}\"\norg = \"octokit-fixture-org\"\nrepos = [\"octokit-fixture-org/hello-world\"]\n",
                secrets.display()
            ),
        )
    };
    std::fs::write(&manifest, with_endpoint(&server.load("assure-github"))).unwrap();
    assert_eq!(assure(&["validate", "p"], None, tmp.path()).code, 0);
    let r = monitor(tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("collected github members octokit-fixture-org: 3 rows into accounts as ledger entry"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("collected github pulls octokit-fixture-org/hello-world: 2 rows into changes as ledger entry"),
        "{}",
        r.stdout
    );
    assert!(got.lock().unwrap().is_empty(), "the baseline alerts nothing");

    std::fs::write(&manifest, with_endpoint(&server.load("assure-github-later"))).unwrap();
    let r = monitor(tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("collected github members octokit-fixture-org: unchanged since it was last recorded"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("collected github pulls octokit-fixture-org/hello-world: 1 rows into changes"),
        "{}",
        r.stdout
    );
    let alerts = got.lock().unwrap().clone();
    let about: Vec<serde_json::Value> = alerts
        .iter()
        .map(|(_, b)| serde_json::from_str::<serde_json::Value>(b).unwrap())
        .filter(|v| v["test"] == "changes-peer-approved")
        .collect();
    assert_eq!(about.len(), 1, "{alerts:?}\n{}", r.stdout);
    assert!(about[0]["item"].as_str().unwrap().contains("13"), "{}", about[0]);
}

/// The Jira collector end to end: issues found by a search are read through the project's
/// `[connectors.jira]` mapping, whose columns name JSON paths, and recorded as access requests.
#[test]
fn searched_jira_issues_are_recorded_through_the_projects_mapping() {
    let server = replay::Server::start(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    let (tmp, _, _) = watched("", "");
    let secrets = tmp.path().join("secrets.toml");
    std::fs::write(
        &secrets,
        "JIRA_EMAIL = \"svc-assure@acme.example\"\nJIRA_API_TOKEN = \"ATATT-test-token\"\n",
    )
    .unwrap();
    let manifest = tmp.path().join("p/assure.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "[monitoring]\n",
        &format!(
            "[monitoring]\nsecrets_file = \"{}\"\n\n[[monitoring.collect]]\nkind = \"jira\"\nendpoint = \"{}\"\njql = 'project = IT AND issuetype = \"Access Request\"'\n",
            secrets.display(),
            server.load("assure-jira")
        ),
    );
    let text = format!(
        "{text}\n[connectors.jira]\ntable = \"access_requests\"\n\n[connectors.jira.columns]\nrequest_id = \"key\"\nsystem = \"fields.customfield_10060.value\"\nemail = \"fields.customfield_10061.emailAddress\"\nrequested_at = \"fields.created\"\napprover_email = \"fields.customfield_10062.emailAddress\"\napproved_at = \"fields.customfield_10063\"\ngranted_at = \"fields.resolutiondate\"\n"
    );
    std::fs::write(&manifest, text).unwrap();
    let v = assure(&["validate", "p"], None, tmp.path());
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    let r = monitor(tmp.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "collected jira project = IT AND issuetype = \"Access Request\": 2 rows into access_requests as ledger entry"
        ),
        "{}",
        r.stdout
    );
}
