//! Collectors against `@octokit/fixtures-server` (npm, MIT), started by the tests: Octokit's own
//! recordings of the real GitHub API, and our scenarios in `tests/replay/` (see its README for
//! where each response comes from). The server replays each scenario's requests in order and
//! answers 404 to any request it does not expect, so a collector that asks the wrong thing, in
//! the wrong order or without its credential fails here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assure_collect::http::{Http, redact};
use assure_collect::{Pull, Secrets, google, okta};
use assure_project::model::CollectorConfig;
use chrono::NaiveDate;
use serde_json::Value;

const GITHUB_TOKEN: &str = "0000000000000000000000000000000000000001";

mod replay;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The fixtures server over this repository's scenarios.
struct Server(replay::Server);

impl Server {
    fn start() -> Server {
        Server(replay::Server::start(&repo_root()))
    }
    fn load(&self, scenario: &str) -> String {
        self.0.load(scenario)
    }
}

fn secrets(dir: &Path) -> Secrets {
    let path = dir.join("secrets.toml");
    std::fs::write(
        &path,
        format!(
            "TEST_GITHUB_TOKEN = \"{GITHUB_TOKEN}\"\nTEST_OKTA_TOKEN = \"00test-okta-token\"\nTEST_GOOGLE_TOKEN = \"ya29.test-google-token\"\n"
        ),
    )
    .unwrap();
    Secrets::load(Some(&path)).unwrap()
}

fn config(kind: &str, endpoint: &str, token_env: &str) -> CollectorConfig {
    CollectorConfig {
        kind: kind.into(),
        endpoint: Some(endpoint.into()),
        token_env: Some(token_env.into()),
        ..CollectorConfig::default()
    }
}

fn bytes(p: &Pull) -> (&str, &[u8]) {
    match &p.outcome {
        Ok(Some((name, b))) => (name.as_str(), b.as_slice()),
        other => panic!("{}: {other:?}", p.stream),
    }
}

/// The rows a connector reads from what the collector saved: the bytes go into the ledger as
/// they came and must be readable by the connector the file is detected as.
fn rows(b: &[u8]) -> (String, Vec<BTreeMap<&'static str, Option<String>>>) {
    let c = assure_evidence::connectors::detect(b).expect("a connector recognises the pull");
    let text = std::str::from_utf8(b).unwrap();
    let rows = c.records(text).unwrap_or_else(|e| panic!("{}: {e:?}", c.id()));
    (c.id().to_string(), rows.into_iter().map(|(_, r)| r).collect())
}

fn col(rows: &[BTreeMap<&'static str, Option<String>>], name: &str) -> Vec<String> {
    rows.iter()
        .map(|r| r.get(name).cloned().flatten().unwrap_or_else(|| "-".into()))
        .collect()
}

#[test]
fn github_members_and_merged_pulls_with_reviews_across_a_rate_limited_page() {
    let server = Server::start();
    let url = server.load("assure-github");
    let dir = tempfile::tempdir().unwrap();
    let mut c = config("github", &url, "TEST_GITHUB_TOKEN");
    c.org = Some("octokit-fixture-org".into());
    c.repos = vec!["octokit-fixture-org/hello-world".into()];
    let started = Instant::now();
    let pulls = assure_collect::collect(
        &[c],
        &BTreeMap::new(),
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        &secrets(dir.path()),
    );
    // The secondary rate limit asked for a second's wait, and it was honoured.
    assert!(started.elapsed() >= Duration::from_secs(1));
    let streams: Vec<&str> = pulls.iter().map(|p| p.stream.as_str()).collect();
    assert_eq!(
        streams,
        [
            "github members octokit-fixture-org",
            "github repositories octokit-fixture-org",
            "github pulls octokit-fixture-org/hello-world"
        ]
    );

    let (name, b) = bytes(&pulls[0]);
    assert_eq!(name, "github-members-octokit-fixture-org.json");
    let (connector, members) = rows(b);
    assert_eq!(connector, "github-members");
    assert_eq!(col(&members, "account_id"), ["octocat", "hubot", "monalisa"]);
    assert_eq!(col(&members, "mfa_enabled"), ["true", "false", "true"]);
    assert_eq!(col(&members, "privileged"), ["true", "false", "false"]);

    let (name, b) = bytes(&pulls[2]);
    assert_eq!(
        name,
        "github-pulls-octokit-fixture-org-hello-world-20260502T100500Z.json"
    );
    let saved: Value = serde_json::from_slice(b).unwrap();
    let numbers: Vec<u64> = saved
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect();
    // #11 was closed without merging: not a change.
    assert_eq!(numbers, [12, 10]);
    assert_eq!(saved[0]["reviews"].as_array().unwrap().len(), 2);
    let (connector, changes) = rows(b);
    assert_eq!(connector, "github-pulls");
    assert_eq!(changes.len(), 2);
    assert_eq!(pulls[2].cursor.as_deref(), Some("2026-05-02T10:05:00Z"));
    // The credential is in no saved byte and no source.
    for p in &pulls {
        assert!(!String::from_utf8_lossy(bytes(p).1).contains(GITHUB_TOKEN));
        assert!(!p.source.contains(GITHUB_TOKEN));
    }
}

#[test]
fn github_next_cycle_reads_only_past_the_cursor() {
    let server = Server::start();
    let url = server.load("assure-github-next");
    let dir = tempfile::tempdir().unwrap();
    let mut c = config("github", &url, "TEST_GITHUB_TOKEN");
    c.org = Some("octokit-fixture-org".into());
    c.repos = vec!["octokit-fixture-org/hello-world".into()];
    let cursors = BTreeMap::from([(
        "github pulls octokit-fixture-org/hello-world".to_string(),
        "2026-05-02T10:05:00Z".to_string(),
    )]);
    let pulls = assure_collect::collect(
        &[c],
        &cursors,
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        &secrets(dir.path()),
    );
    // The default branch's protection, read by the github-repositories connector.
    let (name, b) = bytes(&pulls[1]);
    assert_eq!(name, "github-repositories-octokit-fixture-org.json");
    let (connector, repos) = rows(b);
    assert_eq!(connector, "github-repositories");
    assert_eq!(col(&repos, "repository"), ["octokit-fixture-org/hello-world"]);
    assert_eq!(col(&repos, "default_branch"), ["master"]);
    assert_eq!(col(&repos, "protected"), ["true"]);
    assert_eq!(col(&repos, "required_approvals"), ["1"]);
    assert_eq!(col(&repos, "enforce_admins"), ["false"]);
    assert_eq!(col(&repos, "required_checks"), ["ci/test"]);

    assert!(matches!(pulls[2].outcome, Ok(None)), "{:?}", pulls[2].outcome);
    assert_eq!(pulls[2].cursor.as_deref(), Some("2026-05-02T10:05:00Z"));
}

#[test]
fn github_failed_page_fails_the_whole_pull_and_says_which_page() {
    let server = Server::start();
    let url = server.load("assure-github-failed-page");
    let dir = tempfile::tempdir().unwrap();
    let mut c = config("github", &url, "TEST_GITHUB_TOKEN");
    c.org = Some("octokit-fixture-org".into());
    c.repos = vec!["octokit-fixture-org/hello-world".into()];
    let pulls = assure_collect::collect(
        &[c],
        &BTreeMap::new(),
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        &secrets(dir.path()),
    );
    assert!(matches!(pulls[0].outcome, Ok(Some(_))));
    assert!(matches!(pulls[1].outcome, Ok(Some(_))));
    let e = pulls[2].outcome.as_ref().unwrap_err();
    assert!(
        e.starts_with("pull requests of octokit-fixture-org/hello-world: page 2 of the pull requests: "),
        "{e}"
    );
    assert!(e.ends_with("answered HTTP 502: Server Error (3 attempts)"), "{e}");
    // A failed stream keeps no new cursor: the next cycle starts where this one did.
    assert_eq!(pulls[2].cursor, None);
}

#[test]
fn octokit_recorded_pagination_is_followed_to_the_last_page() {
    let server = Server::start();
    let url = server.load("paginate-issues");
    let mut http = Http::new(Duration::from_secs(30)).unwrap();
    let headers = [
        ("accept", "application/vnd.github.v3+json".to_string()),
        ("authorization", format!("token {GITHUB_TOKEN}")),
    ];
    let issues = http
        .paged(
            &format!("{url}/repos/octokit-fixture-org/paginate-issues/issues?per_page=3"),
            &headers,
            "the issues",
            |_| false,
        )
        .unwrap();
    let numbers: Vec<u64> = issues.iter().map(|i| i["number"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (1..=13).rev().collect::<Vec<_>>());
    assert_eq!(http.requests, 5);
}

#[test]
fn okta_users_with_factors_and_the_system_log_by_its_own_polling_link() {
    let server = Server::start();
    let url = server.load("assure-okta");
    let dir = tempfile::tempdir().unwrap();
    let c = config("okta", &url, "TEST_OKTA_TOKEN");
    let first = format!("{url}/api/v1/logs?since=2026-11-01T00:00:00.000Z&sortOrder=ASCENDING&limit=1000");
    let cursors = BTreeMap::from([("okta system-log".to_string(), first)]);
    let pulls = assure_collect::collect(
        &[c],
        &cursors,
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        &secrets(dir.path()),
    );
    let (name, b) = bytes(&pulls[0]);
    assert_eq!(name, "okta-users.json");
    let (connector, users) = rows(b);
    assert_eq!(connector, "okta-users");
    assert_eq!(
        col(&users, "status"),
        ["active", "suspended", "suspended", "deprovisioned"]
    );
    // A security question and a pending TOTP are not MFA; an active push factor is; no factors
    // enrolled is false; a deprovisioned user's factors are not asked for.
    assert_eq!(col(&users, "mfa_enabled"), ["false", "true", "false", "-"]);
    assert_eq!(col(&users, "deprovisioned_at")[3], "2017-08-01T10:00:00.000Z");

    let (name, b) = bytes(&pulls[1]);
    assert_eq!(name, "okta-system-log-20261120T100000123Z-20261121T110000000Z.json");
    let (connector, events) = rows(b);
    assert_eq!(connector, "okta-system-log");
    assert_eq!(events.len(), 2);
    let cursor = pulls[1].cursor.as_deref().unwrap();
    assert!(
        cursor.ends_with("/api/v1/logs?limit=1000&sortOrder=ASCENDING&after=1764842400123_1"),
        "{cursor}"
    );
}

#[test]
fn google_workspace_users_across_pages() {
    let server = Server::start();
    let url = server.load("assure-google-workspace");
    let dir = tempfile::tempdir().unwrap();
    let pull = google::collect(
        &config("google-workspace", &url, "TEST_GOOGLE_TOKEN"),
        &secrets(dir.path()),
    );
    let (name, b) = bytes(&pull);
    assert_eq!(name, "google-workspace-users.json");
    let (connector, users) = rows(b);
    assert_eq!(connector, "google-workspace-users");
    assert_eq!(
        col(&users, "email"),
        ["ana@acme.example", "bo@acme.example", "cy@acme.example"]
    );
    assert_eq!(col(&users, "mfa_enabled"), ["true", "false", "true"]);
    assert_eq!(col(&users, "status"), ["active", "active", "suspended"]);
    // The Directory API's 1970 date means never signed in.
    assert_eq!(col(&users, "last_login_at")[1], "-");
}

#[test]
fn a_missing_credential_says_where_it_was_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    let c = config("okta", "https://acme.okta.com", "ASSURE_TEST_NO_SUCH_TOKEN");
    let pulls = okta::collect(
        &c,
        &BTreeMap::new(),
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        &secrets(dir.path()),
    );
    let e = pulls[0].outcome.as_ref().unwrap_err();
    assert_eq!(
        e,
        &format!(
            "ASSURE_TEST_NO_SUCH_TOKEN is set neither in the environment nor in the secrets file {}",
            dir.path().join("secrets.toml").display()
        )
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "TOKEN = ").unwrap();
    let e = Secrets::load(Some(&bad)).unwrap_err();
    assert!(e.contains("is not TOML") && e.contains("NAME = \"value\""), "{e}");
}

#[test]
fn urls_in_messages_carry_no_credentials() {
    assert_eq!(redact("https://user:pw@example.com/a?b=1"), "https://example.com/a?b=1");
    assert_eq!(
        redact("https://example.com/a?access_token=abc&page=2"),
        "https://example.com/a?access_token=REDACTED&page=2"
    );
    assert_eq!(redact("https://example.com/a@b"), "https://example.com/a@b");
}

#[test]
fn unknown_kinds_fail_with_the_kinds_that_exist() {
    let c = CollectorConfig {
        kind: "servicenow".into(),
        ..CollectorConfig::default()
    };
    let pulls = assure_collect::collect(
        &[c],
        &BTreeMap::new(),
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        &Secrets::default(),
    );
    assert_eq!(
        pulls[0].outcome.as_ref().unwrap_err(),
        "this version cannot collect `servicenow` (it knows aws-iam, cloudtrail, github, google-workspace, jira, okta)"
    );
}

/// moto's AWS API server (PyPI), started for one test.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    fn start() -> Moto {
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
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "moto did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Runs Python with a boto3 S3 client as `s3`, as an administrator would.
    fn python(&self, code: &str) {
        let out = Command::new("python3")
            .args([
                "-c",
                &format!(
                    "import boto3, gzip, json\ns3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n{code}",
                    self.endpoint
                ),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

/// A CloudTrail log file as CloudTrail delivers it (gzipped `{"Records": [...]}`), made from our
/// connector fixture's records (the fields AWS documents) with their times moved to `day`.
fn trail_file(moto: &Moto, key: &str, day: &str) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assure-evidence/fixtures/connectors/cloudtrail.json");
    moto.python(&format!(
        "d = json.load(open('{}'))\nfor r in d['Records']: r['eventTime'] = '{day}' + r['eventTime'][10:]\ns3.put_object(Bucket='trail', Key='{key}', Body=gzip.compress(json.dumps(d).encode()))",
        fixture.display()
    ));
}

#[test]
fn cloudtrail_reads_each_regions_new_log_files_from_the_bucket_past_its_cursor() {
    let moto = Moto::start();
    moto.python("s3.create_bucket(Bucket='trail')");
    let east = "AWSLogs/123456789012/CloudTrail/us-east-1/2026";
    let west = "AWSLogs/123456789012/CloudTrail/us-west-2/2026";
    // Before the period: never read. A digest file is not a log file.
    trail_file(
        &moto,
        &format!("{east}/01/31/123456789012_CloudTrail_us-east-1_20260131T2355Z_a.json.gz"),
        "2026-01-31",
    );
    trail_file(
        &moto,
        &format!("{east}/03/08/123456789012_CloudTrail_us-east-1_20260308T0215Z_b.json.gz"),
        "2026-03-08",
    );
    trail_file(
        &moto,
        &format!("{west}/03/09/123456789012_CloudTrail_us-west-2_20260309T1000Z_c.json.gz"),
        "2026-03-09",
    );
    moto.python("s3.put_object(Bucket='trail', Key='AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/03/08/d.json.gz', Body=b'{}')");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.toml");
    std::fs::write(
        &path,
        "AWS_ACCESS_KEY_ID = \"testing\"\nAWS_SECRET_ACCESS_KEY = \"testing\"\n",
    )
    .unwrap();
    let secrets = Secrets::load(Some(&path)).unwrap();
    let c = CollectorConfig {
        kind: "cloudtrail".into(),
        endpoint: Some(moto.endpoint.clone()),
        bucket: Some("trail".into()),
        ..CollectorConfig::default()
    };
    let since = NaiveDate::from_ymd_opt(2026, 2, 1).unwrap();
    let per_file = {
        let v: Value = serde_json::from_slice(
            &std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../assure-evidence/fixtures/connectors/cloudtrail.json"),
            )
            .unwrap(),
        )
        .unwrap();
        v["Records"].as_array().unwrap().len()
    };

    let first = assure_collect::collect(std::slice::from_ref(&c), &BTreeMap::new(), since, &secrets);
    let (name, b) = bytes(&first[0]);
    assert_eq!(
        name,
        "cloudtrail-123456789012_CloudTrail_us-west-2_20260309T1000Z_c.json"
    );
    let (connector, events) = rows(b);
    assert_eq!(connector, "cloudtrail");
    assert_eq!(events.len(), 2 * per_file, "the two files in the period, not January's");
    let cursor = first[0].cursor.clone().unwrap();
    let cursors = BTreeMap::from([(first[0].stream.clone(), cursor.clone())]);

    // Nothing new: nothing pulled, the cursor stays.
    let second = assure_collect::collect(std::slice::from_ref(&c), &cursors, since, &secrets);
    assert!(matches!(second[0].outcome, Ok(None)), "{:?}", second[0].outcome);
    assert_eq!(second[0].cursor.as_deref(), Some(cursor.as_str()));

    // A new file in the region read first (its key sorts before the other region's cursor).
    trail_file(
        &moto,
        &format!("{east}/03/10/123456789012_CloudTrail_us-east-1_20260310T0800Z_e.json.gz"),
        "2026-03-10",
    );
    let third = assure_collect::collect(std::slice::from_ref(&c), &cursors, since, &secrets);
    let (_, b) = bytes(&third[0]);
    assert_eq!(rows(b).1.len(), per_file);

    // A file that is not CloudTrail's fails the pull and keeps the cursor where it was.
    moto.python(&format!(
        "s3.put_object(Bucket='trail', Key='{east}/03/11/x.json.gz', Body=gzip.compress(b'not json'))"
    ));
    let fourth = assure_collect::collect(
        std::slice::from_ref(&c),
        &BTreeMap::from([(third[0].stream.clone(), third[0].cursor.clone().unwrap())]),
        since,
        &secrets,
    );
    let e = fourth[0].outcome.as_ref().unwrap_err();
    assert!(e.contains("x.json.gz is not a CloudTrail file"), "{e}");
    assert_eq!(fourth[0].cursor, None);
}

/// The mapping a company would write in `[connectors.jira]` for the replayed issues: JSON paths.
const JIRA_MAPPING: &str = r#"{"table": "access_requests", "columns": {"request_id": "key", "system": "fields.customfield_10060.value", "email": "fields.customfield_10061.emailAddress", "requested_at": "fields.created", "approver_email": "fields.customfield_10062.emailAddress", "approved_at": "fields.customfield_10063", "granted_at": "fields.resolutiondate"}}"#;

#[test]
fn jira_searches_across_a_rate_limited_page_and_next_time_from_the_cursors_day() {
    let server = Server::start();
    let url = server.load("assure-jira");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.toml");
    std::fs::write(
        &path,
        "JIRA_EMAIL = \"svc-assure@acme.example\"\nJIRA_API_TOKEN = \"ATATT-test-token\"\n",
    )
    .unwrap();
    let secrets = Secrets::load(Some(&path)).unwrap();
    let c = CollectorConfig {
        kind: "jira".into(),
        endpoint: Some(url),
        jql: Some("project = IT AND issuetype = \"Access Request\"".into()),
        ..CollectorConfig::default()
    };
    let started = Instant::now();
    let first = assure_collect::collect(
        std::slice::from_ref(&c),
        &BTreeMap::new(),
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        &secrets,
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the 429's Retry-After was honoured"
    );
    let (name, b) = bytes(&first[0]);
    assert_eq!(name, "jira-2026-02-04T08-01-00.000-0500.json");
    assert_eq!(first[0].cursor.as_deref(), Some("2026-02-04T08:01:00.000-0500"));
    // Read through the project's mapping, as an import would.
    let mapping: assure_evidence::vendor::Mapping = serde_json::from_str(JIRA_MAPPING).unwrap();
    let mut values: Vec<Vec<Option<String>>> = Vec::new();
    let mut emit = |_: u64, v: Vec<Option<String>>| values.push(v);
    let out = assure_evidence::vendor::read_with_mapping(
        &mapping,
        "access_requests",
        b,
        name,
        Some(&mut emit),
        assure_evidence::read::Lines::Start,
    );
    assert!(out.problems.is_empty(), "{:?}", out.problems);
    assert_eq!(out.rows, 2);
    let columns = assure_evidence::tables::table("access_requests").unwrap().columns;
    let rows: Vec<BTreeMap<&'static str, Option<String>>> = values
        .into_iter()
        .map(|v| columns.iter().map(|c| c.name).zip(v).collect())
        .collect();
    assert_eq!(col(&rows, "request_id"), ["IT-101", "IT-102"]);
    // Jira's offsets applied, in the table's canonical form.
    assert_eq!(
        col(&rows, "requested_at"),
        ["2026-02-02T14:15:00.000000Z", "2026-02-04T03:00:00.000000Z"]
    );
    assert_eq!(col(&rows, "approver_email"), ["ana@acme.example", "-"]);
    assert_eq!(col(&rows, "system"), ["aws-prod", "github"]);

    // The next cycle searches from the cursor's day: IT-102 again (counted once by its key at
    // import) and the new IT-103.
    let next_url = server.load("assure-jira-next");
    let c = CollectorConfig {
        endpoint: Some(next_url),
        ..c
    };
    let cursors = BTreeMap::from([(first[0].stream.clone(), first[0].cursor.clone().unwrap())]);
    let second = assure_collect::collect(
        std::slice::from_ref(&c),
        &cursors,
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        &secrets,
    );
    let (_, b) = bytes(&second[0]);
    let v: Value = serde_json::from_slice(b).unwrap();
    let keys: Vec<&str> = v[0]["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["IT-102", "IT-103"]);
    assert_eq!(second[0].cursor.as_deref(), Some("2026-02-05T10:31:00.000-0500"));
}
