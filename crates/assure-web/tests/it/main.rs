//! The web application through its router (no sockets): the role matrix on every route, sign-in,
//! lockout, rate limiting, CSRF, setup, API tokens, uploads and errors. Every test runs on SQLite
//! and on the PostgreSQL of the machine (127.0.0.1:5432, or `ASSURE_TEST_PG`; user postgres, database `test`); a test
//! fails, never skips, when PostgreSQL cannot be reached.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

use std::sync::{Arc, Mutex};

use assure_assess::gap::{Signals, assess};
use assure_assess::results::SampleRecord;
use assure_ledger::Entry;
use assure_web::authz::{Action, Role, role_allows};
use assure_web::db::Db;
use assure_web::{AppState, Backend, BackendError, Settings, Shared, Snapshot, Upload, Verified};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::NaiveDate;
use http_body_util::BodyExt;
use tower::ServiceExt;

const AS_OF: (i32, u32, u32) = (2026, 11, 22);

struct Fake {
    dir: tempfile::TempDir,
    uploads: Mutex<Vec<String>>,
    /// The period each upload said it covers, in order.
    periods: Mutex<Vec<Option<(NaiveDate, NaiveDate)>>>,
    /// Entries beyond the three every snapshot has (a long evidence list).
    extra: Mutex<Vec<Entry>>,
    approvals: Mutex<Vec<(String, String, String)>>,
    today: NaiveDate,
}

/// The test run the fake backend records as entry 9: a test of AC-05 (the owner's) and of GOV-01.
fn run_json() -> serde_json::Value {
    let outcome = |id: &str, control: &str| {
        serde_json::json!({"id": id, "title": format!("Test of {control}"), "controls": [control], "population": 2,
            "exceptions": 1, "not_applicable": 0, "conclusion": "exceptions", "note": null,
            "items": [{"item": "A-1", "status": "fail", "reason": "late", "attributes": []},
                      {"item": "A-2", "status": "pass", "reason": "on time", "attributes": []}]})
    };
    serde_json::json!({
        "format": 1, "engine": "test", "exam_type": 2, "period_start": "2026-01-01", "period_end": "2026-12-31",
        "as_of": "2026-11-22", "definitions": "x", "inputs": [], "unresolved": [],
        "tests": [outcome("t-ac05", "AC-05"), outcome("t-gov01", "GOV-01")],
        "controls": [{"id": "AC-05", "tests": ["t-ac05"], "exceptions": 1, "conclusion": "exceptions"},
                     {"id": "GOV-01", "tests": ["t-gov01"], "exceptions": 1, "conclusion": "exceptions"}],
        "occurrences": []
    })
}

fn run_entry() -> Entry {
    serde_json::from_value(serde_json::json!({
        "format": 1, "seq": 9, "prev": "0".repeat(64), "action": "test-run", "at": "2026-11-02T10:00:00Z", "by": "someone",
        "blob": {"blake3": "9a".repeat(32), "sha256": "cd".repeat(32), "size": 5, "name": "test-run-2026-11-22.json"},
        "connector": null, "table": null, "rows": 4, "period_start": null, "period_end": null,
        "controls": ["AC-05", "GOV-01"], "note": null, "batch": null, "hash": "ee".repeat(32), "sig": "00".repeat(64)
    }))
    .unwrap()
}

fn entry(seq: u64, control: &str) -> Entry {
    serde_json::from_value(serde_json::json!({
        "format": 1, "seq": seq, "prev": "0".repeat(64), "action": "add", "at": "2026-11-01T10:00:00Z", "by": "someone",
        "blob": {"blake3": "ab".repeat(32), "sha256": "cd".repeat(32), "size": 5, "name": "minutes.txt"},
        "connector": null, "table": null, "rows": null, "period_start": null, "period_end": null,
        "controls": [control], "note": null, "batch": null, "hash": "ef".repeat(32), "sig": "00".repeat(64)
    }))
    .unwrap()
}

impl Backend for Fake {
    fn snapshot(&self, as_of: NaiveDate) -> Result<Snapshot, BackendError> {
        let root = self.dir.path().join("p");
        let mut p = assure_project::check(&root).unwrap().project;
        // As the workspace derives it: no approval recorded, so none is approved.
        let texts = p
            .policies
            .iter()
            .map(|x| {
                (
                    x.id.to_string(),
                    std::fs::read_to_string(root.join(p.sources.path(x.file))).unwrap(),
                )
            })
            .collect();
        let policy_approvals = assure_workspace::approval::reconcile(&mut p, &texts, &[]);
        let a = assess(&p, as_of, &Signals::default());
        let outcome = |id: &str, control: &str| {
            serde_json::json!({"id": id, "title": format!("Test of {control}"), "controls": [control], "population": 2,
                "exceptions": 1, "not_applicable": 0, "conclusion": "exceptions", "note": null,
                "items": [{"item": "A-1", "status": "fail", "reason": "late", "attributes": []},
                          {"item": "A-2", "status": "pass", "reason": "on time", "attributes": []}]})
        };
        let run: assure_assess::results::RunRecord = serde_json::from_value(serde_json::json!({
            "format": 1, "engine": "test", "exam_type": 2, "period_start": "2026-01-01", "period_end": "2026-12-31",
            "as_of": "2026-11-22", "definitions": "x", "inputs": [], "unresolved": [],
            "tests": [outcome("t-ac05", "AC-05"), outcome("t-gov01", "GOV-01")], "controls": [], "occurrences": [],
            "carried": ["t-gov01"], "carried_from": 1
        }))
        .unwrap();
        Ok(Snapshot {
            project: p,
            assessment: a,
            run: Some((9, run)),
            later_run: None,
            samples: Vec::new(),
            ledger: [entry(1, "AC-05"), entry(2, "GOV-01"), run_entry()]
                .into_iter()
                .chain(self.extra.lock().unwrap().iter().cloned())
                .collect(),
            acceptances: Vec::new(),
            errors: 0,
            problems: Vec::new(),
            as_of,
            history: Vec::new(),
            incidents: None,
            workpapers: Default::default(),
            policy_approvals,
        })
    }
    fn import(&self, upload: Upload) -> Result<Vec<Entry>, BackendError> {
        if upload.file_name.ends_with(".bad") {
            return Err(BackendError::Invalid(
                "row 2, column `email`: not an email address".into(),
            ));
        }
        self.periods.lock().unwrap().push(upload.period);
        self.uploads.lock().unwrap().push(upload.file_name);
        Ok(vec![entry(3, "AC-05")])
    }
    fn year_over_year(&self, as_of: NaiveDate) -> Result<Vec<assure_workspace::period::PeriodResults>, BackendError> {
        use assure_project::period::{Period, Status};
        use assure_workspace::period::{PeriodResults, RunRef, TestResult};
        let year = |name: &str, y: i32, status: Status, population: usize, exceptions: usize| PeriodResults {
            period: Period {
                name: name.into(),
                reports: vec![assure_project::model::ReportKind::Soc2],
                exam_type: assure_project::model::ExamType::Type2,
                start: NaiveDate::from_ymd_opt(y, 1, 1).unwrap(),
                end: NaiveDate::from_ymd_opt(y, 12, 31).unwrap(),
                status,
                report_issued_on: None,
                closed_on: None,
                declared: true,
            },
            run: Some(RunRef {
                seq: u64::try_from(y - 2000).unwrap(),
                as_of: NaiveDate::from_ymd_opt(y, 12, 31).unwrap().min(as_of),
                at: format!("{y}-12-31T10:00:00Z"),
            }),
            as_of: NaiveDate::from_ymd_opt(y, 12, 31).unwrap().min(as_of),
            readiness: 0.5 + f64::from(y - 2025) / 10.0,
            readiness_frozen: status == Status::Closed,
            tests: [(
                "t-ac05".to_string(),
                TestResult {
                    population,
                    exceptions,
                    conclusion: if exceptions > 0 {
                        "exceptions noted"
                    } else {
                        "no exceptions"
                    }
                    .into(),
                },
            )]
            .into(),
            controls: std::collections::BTreeMap::new(),
        };
        Ok(vec![
            year("2025", 2025, Status::Closed, 40, 3),
            year("2026", 2026, Status::Open, 52, 0),
        ])
    }
    fn accept_policy(&self, _: &str, _: &str, _: &str) -> Result<Entry, BackendError> {
        Ok(entry(4, "GOV-11"))
    }
    fn approve_policy(
        &self,
        input: &assure_workspace::approval::ApproveInput,
        by: &str,
    ) -> Result<Entry, BackendError> {
        self.approvals
            .lock()
            .unwrap()
            .push((input.policy.clone(), input.approver.clone(), by.to_string()));
        Ok(entry(5, "AC-05"))
    }
    fn verify(&self) -> Result<Verified, BackendError> {
        Ok(Verified {
            ok: true,
            entries: 2,
            message: "fine".into(),
        })
    }
    fn blob(&self, hash: &str) -> Result<Vec<u8>, BackendError> {
        if hash == "9a".repeat(32) {
            return Ok(serde_json::to_vec(&run_json()).unwrap());
        }
        Err(BackendError::Failed("disk on fire at /secret/path".into()))
    }
    fn sample(
        &self,
        _: &str,
        _: &assure_workspace::sample::SampleOptions,
        _: &str,
        _: NaiveDate,
    ) -> Result<SampleRecord, BackendError> {
        Err(BackendError::Invalid("the control has no population yet".into()))
    }
    fn record_workpaper(
        &self,
        _: &str,
        _: &assure_workspace::workpaper::WorkpaperInput,
        _: &str,
    ) -> Result<Entry, BackendError> {
        Err(BackendError::Invalid("the control has no sample to work on".into()))
    }
    fn monitoring(&self) -> Result<assure_workspace::monitor::MonitoringView, BackendError> {
        use assure_workspace::monitor::{Condition, HistoryLine, MonitoringView, Open, State};
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        let line = |at: &str, run: u64, exceptions: usize, opened: Vec<String>| HistoryLine {
            at: at.into(),
            run,
            period: (day("2026-01-01"), day("2026-12-31")),
            as_of: day("2026-11-22"),
            tests: vec![("t-ac05".into(), "exceptions noted".into(), 4, exceptions)],
            failing_controls: vec!["AC-05".into()],
            opened,
            closed: Vec::new(),
            undelivered: 0,
            readiness: Some(if run == 9 { 612 } else { 598 }),
            stale: Some(if run == 9 { 0 } else { 2 }),
        };
        let c = Condition {
            key: "exception t-ac05 A-1".into(),
            kind: "exception".into(),
            subject: "t-ac05".into(),
            item: "A-1".into(),
            reason: "late".into(),
            controls: vec!["AC-05".into()],
        };
        let mut state = State {
            cycles: 2,
            ..State::default()
        };
        state.open.insert(
            c.key.clone(),
            Open {
                condition: c,
                first_seen: "2026-11-22T10:00:00Z".into(),
                alerted: Some("2026-11-22T10:00:00Z".into()),
            },
        );
        Ok(MonitoringView {
            schedule: Some("hourly".into()),
            next: Some("2026-11-22T12:00:00Z".into()),
            collectors: vec!["aws-iam".into()],
            destinations: vec!["webhook to hooks.acme.example".into()],
            state,
            history: vec![
                line("2026-11-22T10:00:00Z", 9, 0, Vec::new()),
                line("2026-11-22T11:00:00Z", 10, 1, vec!["exception t-ac05 A-1".into()]),
            ],
            tracks: vec![assure_workspace::monitor::ControlTrack {
                control: "AC-05".into(),
                failing: true,
                since: Some("2026-11-22T10:00:00Z".into()),
                recovered: None,
                cycles_failing: 2,
            }],
        })
    }
    fn today(&self) -> NaiveDate {
        self.today
    }
}

/// A database for one test: a fresh SQLite file, or a fresh PostgreSQL database.
struct TestDb {
    url: String,
    _dir: Option<tempfile::TempDir>,
    drop_pg: Option<String>,
}

async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    TestDb {
        url: format!("sqlite://{}?mode=rwc", dir.path().join("web.db").display()),
        _dir: Some(dir),
        drop_pg: None,
    }
}

/// Where the tests' PostgreSQL listens: `ASSURE_TEST_PG` (host:port, set by `scripts/test.sh` when
/// it brings up its own server), else the machine's 127.0.0.1:5432.
pub fn pg_address() -> String {
    std::env::var("ASSURE_TEST_PG").unwrap_or_else(|_| "127.0.0.1:5432".into())
}

async fn postgres() -> TestDb {
    sqlx::any::install_default_drivers();
    let addr = pg_address();
    let admin = format!("postgres://postgres@{addr}/test");
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {addr} (user postgres, database test) is required: {e}"));
    let name = format!("assure_web_{}", assure_web::new_id().unwrap());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    TestDb {
        url: format!("postgres://postgres@{addr}/{name}"),
        _dir: None,
        drop_pg: Some(name),
    }
}

impl TestDb {
    async fn finish(self) {
        if let Some(name) = &self.drop_pg {
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&format!(
                "postgres://postgres@{}/test",
                pg_address()
            ))
            .await
            .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
            .unwrap();
        }
    }
}

async fn app(url: &str, settings: Settings) -> (Shared, Arc<Fake>) {
    app_on(
        url,
        settings,
        NaiveDate::from_ymd_opt(AS_OF.0, AS_OF.1, AS_OF.2).unwrap(),
    )
    .await
}

async fn app_on(url: &str, settings: Settings, today: NaiveDate) -> (Shared, Arc<Fake>) {
    let dir = tempfile::tempdir().unwrap();
    assure_project::init::init(assure_project::init::Template::Saas, &dir.path().join("p")).unwrap();
    let fake = Arc::new(Fake {
        dir,
        uploads: Mutex::new(Vec::new()),
        periods: Mutex::new(Vec::new()),
        extra: Mutex::new(Vec::new()),
        approvals: Mutex::new(Vec::new()),
        today,
    });
    let db = Db::connect(url).await.unwrap();
    (AppState::new(db, fake.clone(), settings), fake)
}

struct Resp {
    status: StatusCode,
    location: String,
    body: String,
}

async fn send(state: &Shared, req: Request<Body>) -> Resp {
    let resp = assure_web::router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let location = resp
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&resp.into_body().collect().await.unwrap().to_bytes()).to_string();
    Resp { status, location, body }
}

struct Who {
    cookie: String,
    csrf: String,
}

/// An account of a role with a live session (made directly, to keep Argon2 out of the matrix).
async fn account(state: &Shared, role: Role, person: Option<&str>) -> Who {
    let user = assure_web::create_user(
        &state.db,
        &format!("{}@example.test", role.as_str()),
        role.label(),
        role,
        person,
        "a-long-enough-password",
    )
    .await
    .unwrap();
    let cookie = assure_web::start_session(state, &user)
        .await
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let token = cookie.split_once('=').unwrap().1;
    let (_, csrf) = state
        .db
        .session(&assure_web::token_hash(token), assure_web::now_micros())
        .await
        .unwrap()
        .unwrap();
    Who { cookie, csrf }
}

fn get(path: &str, who: Option<&Who>) -> Request<Body> {
    let mut b = Request::get(path);
    if let Some(w) = who {
        b = b.header(header::COOKIE, &w.cookie);
    }
    b.body(Body::empty()).unwrap()
}

fn form(path: &str, who: Option<&Who>, fields: &str) -> Request<Body> {
    let mut b = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let mut body = fields.to_string();
    if let Some(w) = who {
        b = b.header(header::COOKIE, &w.cookie);
        body = format!("csrf={}&{body}", w.csrf);
    }
    b.body(Body::from(body)).unwrap()
}

fn multipart(path: &str, who: Option<&Who>, control: &str, name: &str, bytes: &[u8]) -> Request<Body> {
    let boundary = "assureboundary";
    let mut body = Vec::new();
    let mut field = |n: &str, v: &str| {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{n}\"\r\n\r\n{v}\r\n").as_bytes())
    };
    if let Some(w) = who {
        field("csrf", &w.csrf);
    }
    field("control", control);
    field("kind", "record");
    body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
    body.extend(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut b = Request::post(path).header(
        header::CONTENT_TYPE,
        format!("multipart/form-data; boundary={boundary}"),
    );
    if let Some(w) = who {
        b = b.header(header::COOKIE, &w.cookie);
    }
    b.body(Body::from(body)).unwrap()
}

fn json(path: &str, who: Option<&Who>, body: &str) -> Request<Body> {
    let mut b = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(w) = who {
        b = b.header(header::COOKIE, &w.cookie).header("x-csrf-token", &w.csrf);
    }
    b.body(Body::from(body.to_string())).unwrap()
}

#[derive(Clone, Copy)]
enum Kind {
    Get,
    Form(&'static str),
    Upload(&'static str),
    Json(&'static str),
}

/// Every route of the application with the action it needs and the control it touches.
/// AC-05 is owned by the control owner's person; GOV-01 is not.
const ROUTES: &[(&str, Kind, Action, Option<&str>)] = &[
    ("/", Kind::Get, Action::ReadDashboard, None),
    ("/controls", Kind::Get, Action::ReadControls, None),
    ("/controls/AC-05", Kind::Get, Action::ReadControls, Some("AC-05")),
    ("/controls/GOV-01", Kind::Get, Action::ReadControls, Some("GOV-01")),
    (
        "/controls/AC-05/comments",
        Kind::Form("body=hello"),
        Action::Comment,
        Some("AC-05"),
    ),
    (
        "/controls/GOV-01/comments",
        Kind::Form("body=hello"),
        Action::Comment,
        Some("GOV-01"),
    ),
    (
        "/controls/AC-05/sample",
        Kind::Form(""),
        Action::SelectSample,
        Some("AC-05"),
    ),
    (
        "/controls/AC-05/sample",
        Kind::Form("size=40&seed=20261231&risk=moderate"),
        Action::SelectSample,
        Some("AC-05"),
    ),
    (
        "/controls/AC-05/workpaper",
        Kind::Form("item=x&result=pass&attribute0=approved&attribute0_result=pass&tick_I=1"),
        Action::RecordWorkpaper,
        Some("AC-05"),
    ),
    (
        "/controls/AC-05/signoff",
        Kind::Form("role=preparer"),
        Action::RecordWorkpaper,
        Some("AC-05"),
    ),
    ("/workpapers.tar", Kind::Get, Action::ExportWorkpapers, None),
    ("/risks", Kind::Get, Action::ReadControls, None),
    ("/evidence", Kind::Get, Action::ReadEvidence, None),
    (
        "/evidence",
        Kind::Upload("AC-05"),
        Action::UploadEvidence,
        Some("AC-05"),
    ),
    (
        "/evidence",
        Kind::Upload("GOV-01"),
        Action::UploadEvidence,
        Some("GOV-01"),
    ),
    ("/evidence/verify", Kind::Form(""), Action::ReadEvidence, None),
    (
        "/evidence/2/download",
        Kind::Get,
        Action::DownloadEvidence,
        Some("GOV-01"),
    ),
    ("/tests", Kind::Get, Action::ReadTests, None),
    ("/periods", Kind::Get, Action::ReadTests, None),
    ("/monitoring", Kind::Get, Action::ReadTests, None),
    ("/tests/t-ac05", Kind::Get, Action::ReadTests, Some("AC-05")),
    ("/tests/t-gov01", Kind::Get, Action::ReadTests, Some("GOV-01")),
    (
        "/tests/t-ac05/population.xlsx",
        Kind::Get,
        Action::ReadTests,
        Some("AC-05"),
    ),
    (
        "/tests/t-gov01/population.xlsx",
        Kind::Get,
        Action::ReadTests,
        Some("GOV-01"),
    ),
    // A request assigned to nobody: a control owner may not see or change it (marked as not theirs).
    ("/requests/{req}", Kind::Get, Action::ReadRequests, Some("GOV-01")),
    (
        "/requests/{req}",
        Kind::Form("status=submitted&due=2027-01-20"),
        Action::UpdateRequest,
        Some("GOV-01"),
    ),
    (
        "/requests/{req}/comments",
        Kind::Form("body=noted"),
        Action::Comment,
        Some("GOV-01"),
    ),
    // Answering a request (attaching a file, linking evidence) is for its assignee and the
    // program's managers; this one is assigned to nobody, and an auditor never writes evidence.
    (
        "/requests/{req}/attach",
        Kind::Upload("AC-05"),
        Action::UploadEvidence,
        Some("GOV-01"),
    ),
    (
        "/requests/{req}/link",
        Kind::Form("seq=1"),
        Action::UploadEvidence,
        Some("GOV-01"),
    ),
    ("/requests", Kind::Get, Action::ReadRequests, None),
    ("/requests?view=overdue", Kind::Get, Action::ReadRequests, None),
    (
        "/requests",
        Kind::Form("title=Population+of+changes&due=2027-01-15"),
        Action::RaiseRequest,
        None,
    ),
    ("/requests/import", Kind::Upload("AC-05"), Action::RaiseRequest, None),
    ("/policies", Kind::Get, Action::ReadPolicies, None),
    ("/vendors", Kind::Get, Action::ReadControls, None),
    ("/frameworks/iso27001", Kind::Get, Action::ReadDashboard, None),
    ("/vendors/aws", Kind::Get, Action::ReadControls, None),
    ("/policies/access-control", Kind::Get, Action::ReadPolicies, None),
    (
        "/policies/access-control/accept",
        Kind::Form(""),
        Action::AcceptPolicy,
        None,
    ),
    ("/audit", Kind::Get, Action::ReadAudit, None),
    ("/questionnaires", Kind::Get, Action::ReadQuestionnaires, None),
    (
        "/questionnaires",
        Kind::Upload("AC-05"),
        Action::AnswerQuestionnaires,
        None,
    ),
    (
        "/questionnaires/q-00000000",
        Kind::Get,
        Action::ReadQuestionnaires,
        None,
    ),
    (
        "/questionnaires/q-00000000/q/0",
        Kind::Get,
        Action::ReadQuestionnaires,
        None,
    ),
    (
        "/questionnaires/q-00000000/q/0",
        Kind::Form("answer=Yes&action=approve"),
        Action::ReviewAnswers,
        None,
    ),
    (
        "/questionnaires/q-00000000/approve",
        Kind::Form(""),
        Action::AnswerQuestionnaires,
        None,
    ),
    (
        "/questionnaires/q-00000000/export",
        Kind::Get,
        Action::AnswerQuestionnaires,
        None,
    ),
    ("/monitoring/run", Kind::Form(""), Action::RunMonitoring, None),
    ("/my-work", Kind::Get, Action::ReadDashboard, None),
    ("/window", Kind::Get, Action::ReadDashboard, None),
    ("/users", Kind::Get, Action::ManageUsers, None),
    (
        "/users",
        Kind::Form("name=New&email=new%40example.test&role=viewer&password=another-long-password"),
        Action::ManageUsers,
        None,
    ),
    ("/tokens", Kind::Get, Action::ManageOwnTokens, None),
    ("/tokens", Kind::Form("name=ci"), Action::ManageOwnTokens, None),
    ("/api/v1/summary", Kind::Get, Action::ReadDashboard, None),
    ("/api/v1/controls", Kind::Get, Action::ReadControls, None),
    ("/api/v1/controls/AC-05", Kind::Get, Action::ReadControls, Some("AC-05")),
    (
        "/api/v1/controls/GOV-01",
        Kind::Get,
        Action::ReadControls,
        Some("GOV-01"),
    ),
    ("/api/v1/tests", Kind::Get, Action::ReadTests, None),
    ("/api/v1/evidence", Kind::Get, Action::ReadEvidence, None),
    ("/api/v1/requests", Kind::Get, Action::ReadRequests, None),
    (
        "/api/v1/requests",
        Kind::Json(r#"{"title":"Change population","due":"2027-01-20"}"#),
        Action::RaiseRequest,
        None,
    ),
    (
        "/api/v1/requests/{req}",
        Kind::Json(r#"{"status":"in_progress"}"#),
        Action::UpdateRequest,
        Some("GOV-01"),
    ),
    (
        "/api/v1/requests/{req}/evidence",
        Kind::Get,
        Action::ReadRequests,
        Some("GOV-01"),
    ),
    (
        "/api/v1/requests/{req}/evidence",
        Kind::Json(r#"{"seq":1}"#),
        Action::UploadEvidence,
        Some("GOV-01"),
    ),
    ("/api/v1/audit", Kind::Get, Action::ReadAudit, None),
];

fn request(path: &str, kind: Kind, who: Option<&Who>) -> Request<Body> {
    match kind {
        Kind::Get => get(path, who),
        Kind::Form(f) => form(path, who, f),
        Kind::Upload(control) => multipart(path, who, control, "minutes.txt", b"minutes"),
        Kind::Json(b) => json(path, who, b),
    }
}

async fn role_matrix(db: TestDb) {
    let (state, fake) = app(&db.url, Settings::default()).await;
    // The person who owns AC-05 in the SaaS template.
    let snap = state.snapshot().await.unwrap();
    let owner_person = snap
        .project
        .control("AC-05")
        .unwrap()
        .owner
        .as_ref()
        .unwrap()
        .to_string();
    assert_ne!(
        snap.project
            .control("GOV-01")
            .unwrap()
            .owner
            .as_ref()
            .unwrap()
            .to_string(),
        owner_person
    );
    let mut table = String::new();
    let creator = assure_web::create_user(
        &state.db,
        "creator@example.test",
        "Creator",
        Role::Auditor,
        None,
        "a-long-enough-password",
    )
    .await
    .unwrap();
    let now = assure_web::now_micros();
    let req = state
        .db
        .create_request(&assure_web::db::Request {
            id: assure_web::new_id().unwrap(),
            number: 0,
            title: "Population".into(),
            detail: String::new(),
            control: None,
            status: assure_web::requests::RequestStatus::Open,
            assignee: None,
            due: None,
            created_by: creator.id.clone(),
            created_at: now,
            updated_at: now,
            reason: None,
            reference: None,
            criterion: None,
        })
        .await
        .unwrap();
    let routes: Vec<(String, Kind, Action, Option<&str>)> = ROUTES
        .iter()
        .map(|(p, k, a, c)| (p.replace("{req}", &req.id), *k, *a, *c))
        .collect();
    for (path, kind, _, _) in &routes {
        let r = send(&state, request(path, *kind, None)).await;
        if path.starts_with("/api/") {
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "anonymous {path}");
        } else {
            assert_eq!(
                (r.status, r.location.as_str()),
                (StatusCode::SEE_OTHER, "/login"),
                "anonymous {path}"
            );
        }
    }
    for role in Role::ALL {
        let who = account(
            &state,
            role,
            (role == Role::ControlOwner).then_some(owner_person.as_str()),
        )
        .await;
        for (path, kind, action, control) in &routes {
            let owns = control.is_none_or(|c| c == "AC-05");
            let allowed = role_allows(role, *action)
                && (role != Role::ControlOwner
                    || owns
                    || matches!(action, Action::ReadPolicies | Action::AcceptPolicy));
            let r = send(&state, request(path, *kind, Some(&who))).await;
            let label = format!(
                "{} {} {path}",
                role.as_str(),
                match kind {
                    Kind::Get => "GET",
                    _ => "POST",
                }
            );
            if allowed {
                // Allowed: never refused; a fake backend may still answer 400 (no sample population) or 500 (blob).
                assert!(
                    r.status != StatusCode::FORBIDDEN && r.status != StatusCode::UNAUTHORIZED,
                    "{label} was refused: {}",
                    r.status
                );
            } else {
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{label} should be refused");
            }
            table.push_str(&format!("{label}: {}\n", if allowed { "allowed" } else { "refused" }));
        }
    }
    // An auditor can never have uploaded: the only uploads are from roles that may.
    assert_eq!(
        fake.uploads.lock().unwrap().len(),
        7,
        "admin and compliance manager twice on /evidence and once on a request, the owner only for AC-05"
    );
    assert!(table.contains("auditor POST /evidence: refused"));
    for l in ["/attach: refused", "/link: refused", "/evidence: refused"] {
        assert!(
            table
                .lines()
                .any(|x| x.starts_with("auditor POST /") && x.contains("requests/") && x.ends_with(l)),
            "an auditor answers no request ({l})"
        );
    }
    assert!(table.contains("auditor POST /monitoring/run: refused"));
    assert!(table.contains("control_owner POST /monitoring/run: refused"));
    assert!(table.contains("compliance_manager POST /monitoring/run: allowed"));
    assert!(table.contains("control_owner GET /controls/GOV-01: refused"));
    assert!(table.contains("control_owner GET /controls/AC-05: allowed"));
    assert!(table.contains("auditor GET /questionnaires: refused"));
    assert!(table.contains("viewer POST /questionnaires: refused"));
    assert!(table.contains("control_owner POST /questionnaires: refused"));
    assert!(table.contains("compliance_manager POST /questionnaires/q-00000000/approve: allowed"));
    db.finish().await;
}

/// Policy approval: only a named approver (`policy_approvers`) signed in sees the button and may
/// approve; the approval goes to the ledger as that person's, recorded by the account; an auditor
/// may not even try. The vendor pages show each report review and what still needs doing.
async fn approvals_and_vendors(db: TestDb) {
    let (state, fake) = app(&db.url, Settings::default()).await;
    let approver = account(&state, Role::Viewer, Some("dana.whitfield")).await;
    let manager = account(&state, Role::ComplianceManager, None).await;
    let auditor = account(&state, Role::Auditor, None).await;
    let page = send(&state, get("/policies/access-control", Some(&approver))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("not approved"), "{}", page.body);
    assert!(page.body.contains("SHA-256 of the current text"), "{}", page.body);
    assert!(page.body.contains("Approve version 1.0"), "{}", page.body);
    let page = send(&state, get("/policies/access-control", Some(&manager))).await;
    assert!(
        !page.body.contains("Approve version"),
        "not a named approver: no button"
    );
    let r = send(
        &state,
        form("/policies/access-control/approve", Some(&manager), "note=x"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("policy_approvers"), "{}", r.body);
    let r = send(
        &state,
        form("/policies/access-control/approve", Some(&auditor), "note=x"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        &state,
        form(
            "/policies/access-control/approve",
            Some(&approver),
            "note=board+minute+12",
        ),
    )
    .await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/policies/access-control?done=approved")
    );
    assert_eq!(
        fake.approvals.lock().unwrap().clone(),
        [(
            "access-control".to_string(),
            "dana.whitfield".to_string(),
            "viewer@example.test".to_string()
        )]
    );
    let r = send(&state, form("/policies/nope/approve", Some(&approver), "")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Vendors: the register, what needs attention, and one vendor's report review.
    let page = send(&state, get("/vendors", Some(&auditor))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Amazon Web Services") && page.body.contains("soc2-type2 2025-04-01 to 2026-03-31"),
        "{}",
        page.body
    );
    let page = send(&state, get("/vendors/aws", Some(&auditor))).await;
    assert_eq!(page.status, StatusCode::OK);
    for want in [
        "unmodified",
        "Covered through",
        "2027-06-30",
        "For 2 of 40 leavers sampled",
        "CUEC-1",
        "<a href=\"/controls/AC-01\">AC-01</a>",
        "Bridge letters",
    ] {
        assert!(page.body.contains(want), "{want}: {}", page.body);
    }
    let r = send(&state, get("/vendors/nope", Some(&auditor))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    db.finish().await;
}

#[tokio::test]
async fn policy_approval_and_vendor_pages_on_sqlite() {
    approvals_and_vendors(sqlite().await).await;
}

#[tokio::test]
async fn every_route_with_every_role_on_sqlite() {
    role_matrix(sqlite().await).await;
}

#[tokio::test]
async fn every_route_with_every_role_on_postgres() {
    role_matrix(postgres().await).await;
}

async fn sign_in_lockout_and_rate_limit(db: TestDb) {
    let settings = Settings {
        attempts_per_window: 8,
        ..Settings::default()
    };
    let (state, _) = app(&db.url, settings).await;
    assure_web::create_user(
        &state.db,
        "pat@example.test",
        "Pat",
        Role::Viewer,
        None,
        "the-right-password",
    )
    .await
    .unwrap();
    let from = |ip: [u8; 4], pw: &str| {
        let mut r = form("/login", None, &format!("email=pat%40example.test&password={pw}"));
        r.extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((ip, 40000))));
        r
    };
    let (home, office) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    // Successes never count toward the per-address limit (many people behind one proxy).
    for _ in 0..12 {
        let r = send(&state, from(office, "the-right-password")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
    }
    const REFUSED: &str = "The email or password is wrong, or this address is locked out of the account for a while after repeated failures.";
    for _ in 0..5 {
        let r = send(&state, from(home, "wrong")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains(REFUSED), "{}", r.body);
    }
    // Five failures lock this address out of the account, even with the right password...
    let r = send(&state, from(home, "the-right-password")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "locked out from this address");
    // ...with the same answer an unknown account gets, so nobody learns which accounts exist...
    assert!(r.body.contains(REFUSED));
    let mut r = form("/login", None, "email=nobody%40example.test&password=x");
    r.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [10, 0, 0, 9],
            40000,
        ))));
    let r = send(&state, r).await;
    assert!(r.body.contains(REFUSED));
    // ...and nobody can lock the owner out from elsewhere.
    let r = send(&state, from(office, "the-right-password")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Beyond the per-address limit of failures: 429.
    for _ in 0..2 {
        send(&state, from(home, "wrong")).await;
    }
    let r = send(&state, from(home, "wrong")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    db.finish().await;
}

#[tokio::test]
async fn lockout_and_rate_limit_on_sqlite() {
    sign_in_lockout_and_rate_limit(sqlite().await).await;
}

#[tokio::test]
async fn lockout_and_rate_limit_on_postgres() {
    sign_in_lockout_and_rate_limit(postgres().await).await;
}

async fn setup_csrf_tokens_and_errors(db: TestDb) {
    let settings = Settings {
        setup_code: Some("the-code".into()),
        max_upload: 1024,
        ..Settings::default()
    };
    let (state, fake) = app(&db.url, settings).await;
    // First run: sign-in sends to setup; the code is required; errors sit beside the fields.
    let r = send(&state, get("/login", None)).await;
    assert_eq!(r.location, "/setup");
    let r = send(
        &state,
        form(
            "/setup",
            None,
            "code=wrong&name=&email=ada%40example.test&password=short",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body.contains("The setup code is missing or wrong")
            && r.body.contains("Enter a name.")
            && r.body.contains("Use at least 12 characters.")
    );
    assert!(r.body.contains("value=\"ada@example.test\""), "what was typed is kept");
    let r = send(
        &state,
        form(
            "/setup",
            None,
            "code=the-code&name=Ada&email=ada%40example.test&password=a-good-long-password",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = send(
        &state,
        form(
            "/setup",
            None,
            "code=the-code&name=Eve&email=eve%40example.test&password=a-good-long-password",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "setup runs once");

    let admin = account(&state, Role::ComplianceManager, None).await;
    // CSRF: a form without the session's token is refused and changes nothing.
    let forged = Request::post("/requests")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, &admin.cookie)
        .body(Body::from("csrf=forged&title=Forged"))
        .unwrap();
    let r = send(&state, forged).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(state.db.requests().await.unwrap().is_empty());
    // A malformed request form comes back with the errors beside the fields.
    let r = send(
        &state,
        form("/requests", Some(&admin), "title=&control=NOPE-1&due=31%2F12%2F2026"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body.contains("Say what is requested.")
            && r.body.contains("There is no control `NOPE-1`.")
            && r.body.contains("Write the date as YYYY-MM-DD.")
    );
    // The form refuses over-long details as the API does (one check for both entry points).
    let long = "x".repeat(20_001);
    let r = send(
        &state,
        form("/requests", Some(&admin), &format!("title=Evidence&detail={long}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body.contains("Keep the details under 20,000 characters."),
        "{}",
        r.body
    );
    assert!(state.db.requests().await.unwrap().is_empty());
    // Oversized and refused uploads store nothing.
    let r = send(
        &state,
        multipart("/evidence", Some(&admin), "AC-05", "big.bin", &vec![0u8; 4096]),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert!(r.body.contains("larger than the 0 MiB upload limit") || r.body.contains("upload limit"));
    let r = send(
        &state,
        multipart(
            "/evidence",
            Some(&admin),
            "AC-05",
            "export.bad",
            b"email\nnot-an-email\n",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body
            .contains("export.bad was refused and nothing was stored: row 2, column `email`"),
        "{}",
        r.body
    );
    assert!(fake.uploads.lock().unwrap().is_empty());
    // API tokens act with the account's role and need no CSRF header.
    let user = state
        .db
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.role == "compliance_manager")
        .unwrap();
    let token = assure_web::create_token(&state, &user, "ci", None, false)
        .await
        .unwrap();
    let r = send(
        &state,
        Request::post("/api/v1/requests")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"title":"Terminations Q4"}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["number"], 1);
    let r = send(
        &state,
        Request::get("/api/v1/summary")
            .header(header::AUTHORIZATION, "Bearer assure_nope")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A read-only token reads but changes nothing; a revoked or expired token, or one whose account
    // is disabled, stops working.
    let bearer = |t: &str, req: axum::http::request::Builder| req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    let ro = assure_web::create_token(&state, &user, "dashboards", Some(30), true)
        .await
        .unwrap();
    let r = send(
        &state,
        bearer(&ro, Request::get("/api/v1/summary"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = send(
        &state,
        bearer(&ro, Request::post("/api/v1/requests"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"title":"Should not exist"}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("read-only"), "{}", r.body);
    let rows = state.db.tokens(&user.id).await.unwrap();
    let ro_row = rows.iter().find(|t| t.name == "dashboards").unwrap();
    assert_eq!(ro_row.scope, "read-only");
    assert!(ro_row.expires_at > ro_row.created_at);
    assert!(state.db.revoke_token(&user.id, &ro_row.id, 1).await.unwrap());
    let r = send(
        &state,
        bearer(&ro, Request::get("/api/v1/summary"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a revoked token still works");
    let expired = assure_web::create_token(&state, &user, "old", Some(0), false)
        .await
        .unwrap();
    let r = send(
        &state,
        bearer(&expired, Request::get("/api/v1/summary"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "an expired token still works");
    let viewer = assure_web::create_user(
        &state.db,
        "reader@acme.example",
        "Rea Der",
        assure_web::authz::Role::Viewer,
        None,
        "reader-password-12",
    )
    .await
    .unwrap();
    let vt = assure_web::create_token(&state, &viewer, "reports", None, true)
        .await
        .unwrap();
    assert!(state.db.set_disabled(&viewer.id, true, 1).await.unwrap());
    let r = send(
        &state,
        bearer(&vt, Request::get("/api/v1/summary"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "a disabled account's token still works"
    );
    assert!(state.db.set_disabled(&viewer.id, false, 1).await.unwrap());
    let r = send(
        &state,
        bearer(&vt, Request::get("/api/v1/summary"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Malformed JSON is a 400 with a JSON error, not a crash.
    let r = send(&state, json("/api/v1/requests", Some(&admin), "{\"title\": 5")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["detail"]
            .as_str()
            .unwrap()
            .contains("not a valid request")
    );
    // Unknown routes are 404, in HTML and in JSON.
    let r = send(&state, get("/no/such/page", Some(&admin))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(&state, get("/api/v1/nothing", Some(&admin))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.starts_with('{'));
    // A 5xx shows a request id and no internals.
    let r = send(&state, get("/evidence/1/download", Some(&admin))).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        r.body.contains("logged as request") && !r.body.contains("/secret/path"),
        "{}",
        r.body
    );
    // The audit log has every change, with who.
    let log = state.db.audit_log(None, 100).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|l| l.action.as_str()).collect();
    assert!(
        actions.contains(&"created the administrator") && actions.contains(&"raised a request"),
        "{actions:?}"
    );
    db.finish().await;
}

#[tokio::test]
async fn setup_csrf_tokens_and_errors_on_sqlite() {
    setup_csrf_tokens_and_errors(sqlite().await).await;
}

#[tokio::test]
async fn setup_csrf_tokens_and_errors_on_postgres() {
    setup_csrf_tokens_and_errors(postgres().await).await;
}

#[tokio::test]
async fn the_openapi_description_covers_every_api_route() {
    let (state, _) = app(&sqlite().await.url, Settings::default()).await;
    let r = send(&state, get("/api/openapi.json", None)).await;
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let paths: Vec<&String> = v["paths"].as_object().unwrap().keys().collect();
    for (path, ..) in ROUTES.iter().filter(|r| r.0.starts_with("/api/")) {
        let templ = path
            .replace("AC-05", "{id}")
            .replace("GOV-01", "{id}")
            .replace("{req}", "{id}");
        assert!(paths.iter().any(|p| **p == templ), "{templ} is not described");
    }
    assert!(v["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn the_dashboard_lists_what_is_due_this_week() {
    let db = sqlite().await;
    let (state, _) = app_on(
        &db.url,
        Settings::default(),
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
    )
    .await;
    let admin = account(&state, Role::ComplianceManager, None).await;
    let now = assure_web::now_micros();
    let r = state
        .db
        .create_request(&assure_web::db::Request {
            id: assure_web::new_id().unwrap(),
            number: 0,
            title: "Q4 terminations".into(),
            detail: String::new(),
            control: None,
            status: assure_web::requests::RequestStatus::Open,
            assignee: None,
            due: Some("2026-11-27".into()),
            created_by: state.db.users().await.unwrap()[0].id.clone(),
            created_at: now,
            updated_at: now,
            reason: None,
            reference: None,
            criterion: None,
        })
        .await
        .unwrap();
    let page = send(&state, get("/", Some(&admin))).await.body;
    let due = &page[page.find("Due this week").unwrap()..];
    assert!(
        due.contains(&format!("PBC-{}", r.number)) && due.contains("2026-11-27"),
        "the request due on Friday is missing"
    );
    // A monthly manual control with no record for November is due on the 30th.
    assert!(due.contains("monthly record for 2026-11-01 to 2026-11-30"), "{due}");
    db.finish().await;
}

#[tokio::test]
async fn the_request_workflow_lets_owners_answer_and_auditors_decide() {
    use assure_web::requests::RequestStatus;
    let db = sqlite().await;
    let (state, _) = app(&db.url, Settings::default()).await;
    let snap = state.snapshot().await.unwrap();
    let person = snap
        .project
        .control("AC-05")
        .unwrap()
        .owner
        .as_ref()
        .unwrap()
        .to_string();
    let auditor = account(&state, Role::Auditor, None).await;
    let owner = account(&state, Role::ControlOwner, Some(&person)).await;
    let owner_id = state
        .db
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.role == "control_owner")
        .unwrap()
        .id;
    let r = send(
        &state,
        form(
            "/requests",
            Some(&auditor),
            &format!("title=Terminations&control=AC-05&assignee={owner_id}&due=2026-12-15"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = r
        .location
        .split('?')
        .next()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let status = |state: Shared, id: String| async move { state.db.request(&id).await.unwrap().unwrap().status };
    assert_eq!(status(state.clone(), id.clone()).await, RequestStatus::Open);
    // The owner answers: submitted is theirs to set; accepted is not.
    let path = format!("/requests/{id}");
    let r = send(&state, form(&path, Some(&owner), "status=accepted&due=2026-12-15")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("choose one of: in_progress, submitted"), "{}", r.body);
    assert_eq!(status(state.clone(), id.clone()).await, RequestStatus::Open);
    // Only what was submitted is accepted or rejected.
    let r = send(&state, form(&path, Some(&auditor), "status=accepted")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        r.body.contains(
            "A request that is open cannot become accepted: only what was submitted is accepted or rejected."
        ),
        "{}",
        r.body
    );
    let r = send(&state, form(&path, Some(&owner), "status=in_progress&due=2026-12-15")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status(state.clone(), id.clone()).await, RequestStatus::InProgress);
    let r = send(&state, form(&path, Some(&owner), "status=submitted&due=2026-12-15")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status(state.clone(), id.clone()).await, RequestStatus::Submitted);
    // The auditor decides; a word that is no status is refused; a rejection needs a reason.
    let r = send(&state, form(&path, Some(&auditor), "status=closed")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = send(&state, form(&path, Some(&auditor), "status=rejected&reason=")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("Say why the request is rejected"), "{}", r.body);
    let r = send(
        &state,
        form(
            &path,
            Some(&auditor),
            &format!("status=rejected&reason=The+list+stops+in+October&assignee={owner_id}"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = send(&state, get(&path, Some(&owner))).await;
    assert!(
        page.body
            .contains("Sent back because</th><td colspan=\"3\">The list stops in October"),
        "{}",
        page.body
    );
    // The owner answers again through the API, the same workflow.
    let r = send(
        &state,
        json(
            &format!("/api/v1/{}", &path[1..]),
            Some(&owner),
            r#"{"status":"submitted"}"#,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("\"status\":\"submitted\""), "{}", r.body);
    let r = send(
        &state,
        form(&path, Some(&auditor), &format!("status=accepted&assignee={owner_id}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status(state.clone(), id.clone()).await, RequestStatus::Accepted);
    // The API shows the typed status, and counts only requests still open.
    let r = send(&state, get("/api/v1/requests", Some(&auditor))).await;
    assert!(r.body.contains("\"status\":\"accepted\""), "{}", r.body);
    let r = send(&state, get("/api/v1/summary", Some(&auditor))).await;
    assert!(r.body.contains("\"open_requests\":0"), "{}", r.body);
    db.finish().await;
}

/// A test's population: sorted by a column either way, filtered, paged, and downloadable whole.
#[tokio::test]
async fn a_tests_population_sorts_filters_and_downloads() {
    let db = sqlite().await;
    let (state, _) = app(&db.url, Settings::default()).await;
    let auditor = account(&state, Role::Auditor, None).await;
    let page = send(&state, get("/tests/t-ac05?sort=item&dir=desc", Some(&auditor))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let (a1, a2) = (page.body.find(">A-1<").unwrap(), page.body.find(">A-2<").unwrap());
    assert!(a2 < a1, "descending by item");
    assert!(page.body.contains("aria-sort=\"descending\""));
    let page = send(&state, get("/tests/t-ac05?status=fail", Some(&auditor))).await;
    assert!(
        page.body.contains(">A-1<") && !page.body.contains(">A-2<"),
        "{}",
        page.body
    );
    assert!(page.body.contains("1 of 2 items"));
    let page = send(&state, get("/tests/t-ac05?per=1&page=2&sort=item", Some(&auditor))).await;
    assert!(
        page.body.contains("page 2 of 2") && page.body.contains(">A-2<") && !page.body.contains(">A-1<"),
        "{}",
        page.body
    );
    // A hand-edited address shows the first page, not an error.
    let page = send(&state, get("/tests/t-ac05?page=abc&per=", Some(&auditor))).await;
    assert_eq!(page.status, StatusCode::OK);
    let x = send(&state, get("/tests/t-ac05/population.xlsx", Some(&auditor))).await;
    assert_eq!(x.status, StatusCode::OK);
    assert!(x.body.starts_with("PK"), "an XLSX package");
    db.finish().await;
}

/// The issue's case: an auditor asks a control owner for evidence of a control they do not own.
/// The owner still cannot open that control, but answers the request: attaches a file (recorded
/// for the request's control) and links evidence; the auditor sees it with its SHA-256.
#[tokio::test]
async fn an_assignee_answers_a_request_for_a_control_they_do_not_own() {
    let db = sqlite().await;
    let (state, fake) = app(&db.url, Settings::default()).await;
    let snap = state.snapshot().await.unwrap();
    let person = snap
        .project
        .control("AC-05")
        .unwrap()
        .owner
        .as_ref()
        .unwrap()
        .to_string();
    let auditor = account(&state, Role::Auditor, None).await;
    let owner = account(&state, Role::ControlOwner, Some(&person)).await;
    let owner_id = state
        .db
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.role == "control_owner")
        .unwrap()
        .id;
    let r = send(
        &state,
        form(
            "/requests",
            Some(&auditor),
            &format!("title=Board+minutes&control=GOV-01&assignee={owner_id}&due=2026-12-15"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = r
        .location
        .split('?')
        .next()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        send(&state, get("/controls/GOV-01", Some(&owner))).await.status,
        StatusCode::FORBIDDEN
    );
    let page = send(&state, get(&format!("/requests/{id}"), Some(&owner))).await;
    assert!(page.body.contains("Attach a file"), "{}", page.body);
    let r = send(
        &state,
        multipart(
            &format!("/requests/{id}/attach"),
            Some(&owner),
            "GOV-01",
            "minutes-q3.pdf",
            b"minutes",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(fake.uploads.lock().unwrap().as_slice(), ["minutes-q3.pdf"]);
    // The auditor cannot attach or link; they see the linked entry with its hash.
    let r = send(
        &state,
        multipart(
            &format!("/requests/{id}/attach"),
            Some(&auditor),
            "GOV-01",
            "x.txt",
            b"x",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(&state, form(&format!("/requests/{id}/link"), Some(&auditor), "seq=2")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(&state, form(&format!("/requests/{id}/link"), Some(&owner), "seq=2")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Through the API too, with a whole number written as JSON Schema allows (`1.0`); entry 1 is
    // AC-05's, which this owner owns.
    let r = send(
        &state,
        json(
            &format!("/api/v1/requests/{id}/evidence"),
            Some(&owner),
            r#"{"seq": 1.0}"#,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = send(
        &state,
        json(
            &format!("/api/v1/requests/{id}/evidence"),
            Some(&owner),
            r#"{"seq": 1.5}"#,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = send(&state, form(&format!("/requests/{id}/link"), Some(&owner), "seq=9")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "a test run is not evidence");
    let page = send(&state, get(&format!("/requests/{id}"), Some(&auditor))).await;
    assert!(page.body.contains("Evidence that answers it (3)"), "{}", page.body);
    assert!(page.body.contains(&"cd".repeat(32)), "the SHA-256 is shown");
    assert!(page.body.contains("assure evidence verify evidence.tar --key"));
    let links = send(&state, get(&format!("/api/v1/requests/{id}/evidence"), Some(&auditor))).await;
    let v: serde_json::Value = serde_json::from_str(&links.body).unwrap();
    let seqs: Vec<i64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    db.finish().await;
}

/// The auditor's own request list, from a spreadsheet: every problem named by row and column and
/// nothing imported; then imported, and imported again without duplicates.
#[tokio::test]
async fn the_auditors_request_list_imports_from_a_spreadsheet() {
    let db = sqlite().await;
    let (state, _) = app(&db.url, Settings::default()).await;
    let auditor = account(&state, Role::Auditor, None).await;
    let bad = "Request ID,Description,Control or criterion,Due date\nR-1,Population of terminations,AC-05,2027-01-31\nR-2,,ZZ-99,31 January\nR-1,Again,,\n";
    let r = send(
        &state,
        multipart("/requests/import", Some(&auditor), "", "pbc.csv", bad.as_bytes()),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    for m in [
        "pbc.csv, row 3, column `Description`: request `R-2` says nothing about what is requested.",
        "pbc.csv, row 3, column `Control or criterion`: `ZZ-99` is neither a control of the project nor a criterion",
        "pbc.csv, row 3, column `Due date`: `31 January` is not a date; write it as YYYY-MM-DD.",
        "pbc.csv, row 4, column `Request ID`: request id `R-1` is also on row 2",
    ] {
        assert!(r.body.contains(&html_escape(m)), "{m}\n{}", r.body);
    }
    assert!(state.db.requests().await.unwrap().is_empty(), "nothing is imported");
    let good = "Request ID,Description,Control or criterion,Due date\nR-1,Population of terminations,AC-05,2027-01-31\nR-2,Risk assessment minutes,cc3.1,46053\n";
    let r = send(
        &state,
        multipart("/requests/import", Some(&auditor), "", "pbc.csv", good.as_bytes()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("pbc.csv: 2 requests created, 0 updated."), "{}", r.body);
    let again = good.replace("2027-01-31", "2027-02-07");
    let r = send(
        &state,
        multipart("/requests/import", Some(&auditor), "", "pbc.csv", again.as_bytes()),
    )
    .await;
    assert!(r.body.contains("pbc.csv: 0 requests created, 2 updated."), "{}", r.body);
    let mut list = state.db.requests().await.unwrap();
    list.sort_by_key(|r| r.number);
    let got: Vec<_> = list
        .iter()
        .map(|r| {
            (
                r.reference.clone().unwrap(),
                r.control.clone(),
                r.criterion.clone(),
                r.due.clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "R-1".to_string(),
                Some("AC-05".to_string()),
                None,
                "2027-02-07".to_string()
            ),
            (
                "R-2".to_string(),
                None,
                Some("CC3.1".to_string()),
                "2026-01-31".to_string()
            ),
        ]
    );
    // The overdue view lists what is late as of the page's date, oldest first.
    let page = send(&state, get("/requests?view=overdue", Some(&auditor))).await;
    assert!(page.body.contains("Risk assessment minutes"), "{}", page.body);
    assert!(!page.body.contains("Population of terminations</td>"), "{}", page.body);
    // Any column sorts the list either way, and its heading says which; ties go by request
    // number, and an unknown column keeps the list's own order.
    let first = |query: &str| {
        let state = &state;
        let auditor = &auditor;
        let query = query.to_string();
        async move {
            let body = send(state, get(&format!("/requests{query}"), Some(auditor))).await.body;
            let (one, two) = (body.find("<td>R-1</td>").unwrap(), body.find("<td>R-2</td>").unwrap());
            (if one < two { "R-1" } else { "R-2" }, body)
        }
    };
    let (top, body) = first("?sort=due&dir=asc").await;
    assert_eq!(top, "R-2");
    assert!(
        body.contains(
            "<th scope=\"col\" aria-sort=\"ascending\"><a href=\"/requests?sort=due&amp;dir=desc\">Due ▲</a></th>"
        ),
        "{body}"
    );
    assert_eq!(first("?sort=due&dir=desc").await.0, "R-1");
    assert_eq!(first("?sort=control").await.0, "R-1");
    assert_eq!(first("?sort=control&dir=desc").await.0, "R-2");
    assert_eq!(first("?sort=reference&dir=desc").await.0, "R-2");
    assert_eq!(first("?sort=nonsense&dir=desc").await.0, first("").await.0);
    let (_, body) = first("?view=open&sort=what").await;
    assert!(
        body.contains("href=\"/requests?view=open&amp;sort=what&amp;dir=desc\""),
        "{body}"
    );
    db.finish().await;
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// What the hardening review found leaking: an owner downloading the whole test-run record, and
/// viewers seeing each control's evidence rows and history.
#[tokio::test]
async fn owners_get_their_part_of_a_run_and_viewers_what_the_role_table_grants() {
    let db = sqlite().await;
    let (state, _) = app(&db.url, Settings::default()).await;
    let snap = state.snapshot().await.unwrap();
    let person = snap
        .project
        .control("AC-05")
        .unwrap()
        .owner
        .as_ref()
        .unwrap()
        .to_string();
    let owner = account(&state, Role::ControlOwner, Some(&person)).await;
    let auditor = account(&state, Role::Auditor, None).await;
    let viewer = account(&state, Role::Viewer, None).await;
    let mine = send(&state, get("/evidence/9/download", Some(&owner))).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    let run: serde_json::Value = serde_json::from_str(&mine.body).unwrap();
    let ids: Vec<&str> = run["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["t-ac05"],
        "the owner sees the test of the control they own, not GOV-01's"
    );
    assert_eq!(run["controls"].as_array().unwrap().len(), 1);
    assert!(
        run.get("carried").is_none(),
        "the carried list named another control's test: {run}"
    );
    let whole = send(&state, get("/evidence/9/download", Some(&auditor))).await;
    let run: serde_json::Value = serde_json::from_str(&whole.body).unwrap();
    assert_eq!(
        run["tests"].as_array().unwrap().len(),
        2,
        "the auditor sees the whole run"
    );
    // A run of some tests says which results it carried, and from when.
    let page = send(&state, get("/", Some(&auditor))).await;
    assert!(
        page.body.contains("The latest run (ledger entry 9) ran 1 of the 2 tests; the others show their latest results, from ledger entry 1."),
        "{}",
        page.body
    );
    let page = send(&state, get("/tests", Some(&auditor))).await;
    assert!(
        page.body.contains("This run ran 1 of the 2 tests; the others keep their latest results, from the run recorded as ledger entry 1 (2026-11-01)")
            && page.body.contains("t-gov01 · result of entry 1, 2026-11-01"),
        "{}",
        page.body
    );
    // Year over year: each period with its run and readiness, each test's results side by side,
    // and the heat map's colour scale explained.
    let page = send(&state, get("/periods", Some(&viewer))).await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "<td>2025</td><td>2025-01-01 to 2025-12-31</td><td>closed</td>",
        "ledger entry 25, as of 2025-12-31",
        "<td>40 items, 3 exceptions<br><span class=\"muted\">exceptions noted</span></td><td>52 items, 0 exceptions<br><span class=\"muted\">no exceptions</span></td>",
    ] {
        assert!(page.body.contains(text), "{text}\n{}", page.body);
    }
    // Monitoring: where alerts go by kind and host only, the exceptions over the cycles as an SVG
    // with a text alternative, the open condition linked to its test, the cycles newest first.
    let page = send(&state, get("/monitoring", Some(&viewer))).await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "<dt>Schedule</dt><dd>hourly; next cycle 2026-11-22T12:00:00Z</dd>",
        "<dd>webhook to hooks.acme.example</dd>",
        "<title id=\"trend-title\">Exceptions across every test in the last 2 cycles",
        "<td>exception</td><td><a href=\"/tests/t-ac05\">t-ac05</a></td><td>A-1</td><td>late</td>",
        "<tr><td>2026-11-22T11:00:00Z</td><td>ledger entry 10</td><td>2026-11-22</td><td>1</td>",
        "<title id=\"controls-title\">Controls with exceptions in the last 2 cycles",
        "<title id=\"readiness-title\">Readiness in the last 2 cycles: from 61.2% to 59.8%</title>",
        "<title id=\"stale-title\">Controls with stale evidence in the last 2 cycles: from 0 to 2</title>",
        "<tr><th scope=\"row\"><a href=\"/tests/t-ac05\">t-ac05</a></th><td>0 → 1</td>",
        "<tr><td><a href=\"/controls/AC-05\">AC-05</a></td><td><span class=\"pill bad\">failing</span></td><td>2026-11-22T10:00:00Z</td><td>never</td><td>2</td></tr>",
    ] {
        assert!(page.body.contains(text), "{text}\n{}", page.body);
    }
    let newest = page.body.find("2026-11-22T11:00:00Z</td><td>ledger entry 10").unwrap();
    let oldest = page.body.find("2026-11-22T10:00:00Z</td><td>ledger entry 9").unwrap();
    assert!(newest < oldest, "the latest cycle comes first");
    // The window: progress through the period and every periodic control's slots; the fake's
    // ledger fills GOV-01's annual slot only, so every other slot ended before the as-of date is
    // missed, the slots under way are due and December's monthly slots are upcoming.
    let page = send(&state, get("/window", Some(&viewer))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<table class=\"calendar\">"), "{}", page.body);
    let summary = page.body.split("<h2>Periodic controls</h2><p>").nth(1).unwrap();
    let counts: Vec<usize> = summary
        .split(" · ")
        .take(4)
        .map(|x| {
            x.trim_start_matches(|c: char| !c.is_ascii_digit())
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(counts[0], 1, "{summary}");
    assert!(
        page.body
            .contains("title=\"2026-01-01 to 2026-12-31: filled (ledger entry 2)\"")
    );
    assert!(page.body.contains("title=\"2026-11-01 to 2026-11-30: due\""));
    assert!(page.body.contains("title=\"2026-12-01 to 2026-12-31: upcoming\""));
    assert!(counts[1] > 0 && counts[2] > 0 && counts[3] > 0, "{summary}");
    assert_eq!(page.body.matches("<span class=\"pill bad\"").count(), counts[1]);
    let page = send(&state, get("/my-work", Some(&viewer))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("You own no controls in this project"),
        "{}",
        page.body
    );
    let page = send(&state, get("/", Some(&viewer))).await;
    assert!(
        page.body.contains("aria-label=\"Colour scale\"") && page.body.contains("95% or more"),
        "{}",
        page.body
    );
    let page = send(&state, get("/controls/AC-05", Some(&viewer))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.body.contains("<h2>Evidence</h2>") && !page.body.contains("minutes.txt"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<h2>History</h2>"));
    let page = send(&state, get("/controls/AC-05", Some(&auditor))).await;
    assert!(page.body.contains("<h2>Evidence</h2>") && page.body.contains("<h2>History</h2>"));
    db.finish().await;
}

/// Inputs the hardening review turned into 500s now come back as errors beside their fields.
#[tokio::test]
async fn bad_request_fields_are_errors_beside_the_field_not_500s() {
    let db = postgres().await;
    let (state, _) = app(&db.url, Settings::default()).await;
    let auditor = account(&state, Role::Auditor, None).await;
    let r = send(
        &state,
        form("/requests", Some(&auditor), "title=Access&assignee=nobody-at-all"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("There is no such account"), "{}", r.body);
    let r = send(&state, form("/requests", Some(&auditor), "title=A%00B")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("Remove the NUL character"), "{}", r.body);
    assert!(state.db.requests().await.unwrap().is_empty(), "nothing was stored");
    db.finish().await;
}

/// The rule of what an owner may provide is one function in the authorization layer.
#[tokio::test]
async fn an_owner_may_provide_the_tables_of_their_controls_only() {
    let db = sqlite().await;
    let (state, _) = app(&db.url, Settings::default()).await;
    let snap = state.snapshot().await.unwrap();
    let person = snap
        .project
        .control("AC-05")
        .unwrap()
        .owner
        .as_ref()
        .unwrap()
        .to_string();
    let _ = account(&state, Role::ControlOwner, Some(&person)).await;
    let owner = state
        .db
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.role == "control_owner")
        .unwrap();
    let scope = assure_web::authz::upload_scope(Role::ControlOwner, &owner, &snap).unwrap();
    let expected: std::collections::BTreeSet<String> = snap
        .project
        .controls
        .iter()
        .filter(|c| c.owner.as_ref().map(|o| o.to_string()) == Some(person.clone()))
        .flat_map(|c| {
            c.evidence
                .iter()
                .filter_map(|e| e.table.as_ref().map(|t| t.to_string()))
        })
        .collect();
    assert_eq!(scope.tables, expected);
    assert!(!scope.tables.is_empty());
    // Every role: an owner is scoped; managers may provide anything; auditors and viewers provide
    // nothing at all (the route refuses them before any scope applies).
    use assure_web::authz::{Action, role_allows};
    for role in Role::ALL {
        let scope = assure_web::authz::upload_scope(role, &owner, &snap);
        let uploads = role_allows(role, Action::UploadEvidence);
        match role {
            Role::ControlOwner => assert!(uploads && scope.is_some(), "{role:?}"),
            Role::Admin | Role::ComplianceManager => assert!(uploads && scope.is_none(), "{role:?}"),
            Role::Auditor | Role::Viewer => assert!(!uploads, "{role:?}"),
        }
    }
    db.finish().await;
}

/// The finding: 300 idle, half-sent requests made the server stop answering. Connections beyond
/// the limit are closed as they arrive, and a connection that does not finish its headers in time
/// is closed, so the server answers again.
#[tokio::test]
async fn slow_connections_are_closed_and_the_server_keeps_answering() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let db = sqlite().await;
    let settings = Settings {
        header_timeout: std::time::Duration::from_millis(400),
        max_connections: 16,
        ..Settings::default()
    };
    let (state, _) = app(&db.url, settings).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(assure_web::serve_until(state, listener, async {
        let _ = stop_rx.await;
    }));
    // Many idle connections, each with half a request.
    let mut idle = Vec::new();
    for _ in 0..100 {
        if let Ok(mut c) = tokio::net::TcpStream::connect(addr).await {
            let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
            idle.push(c);
        }
    }
    // After the header timeout the server answers a whole request again.
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    tokio::time::timeout(std::time::Duration::from_secs(5), c.read_to_string(&mut reply))
        .await
        .expect("the server answers")
        .unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    // The half-sent requests were closed by the server.
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(std::time::Duration::from_secs(2), idle[0].read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(_)) | Ok(Err(_))),
        "the idle connection was closed"
    );
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
    db.finish().await;
}

/// One address holding connections open (from 127.0.0.2) takes at most its share of the places:
/// another client (from 127.0.0.1) is answered at once, long before any header timeout.
#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let db = sqlite().await;
    let settings = Settings {
        header_timeout: std::time::Duration::from_secs(60),
        max_connections: 16,
        max_connections_per_address: 8,
        ..Settings::default()
    };
    let (state, _) = app(&db.url, settings).await;
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(assure_web::serve_until(state, listener, async {
        let _ = stop_rx.await;
    }));
    let mut held = Vec::new();
    for _ in 0..100 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        if let Ok(mut c) = socket.connect(([127, 0, 0, 1], port).into()).await {
            let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
            held.push(c);
        }
    }
    // The server keeps 8 of them and closes the rest as they arrive.
    let mut closed = 0;
    for c in &mut held {
        let mut buf = [0u8; 16];
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(std::time::Duration::from_millis(50), c.read(&mut buf)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 92, "connections beyond the address's share were not closed");
    let mut c = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    tokio::time::timeout(std::time::Duration::from_secs(5), c.read_to_string(&mut reply))
        .await
        .expect("the other client is answered at once")
        .unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
    db.finish().await;
}

/// Every same-site link on the pages a role reaches from the dashboard, followed: none of them
/// may lead to a page that refuses the reader (a link a person cannot follow is not shown).
#[tokio::test]
async fn no_page_links_to_a_page_its_reader_cannot_open() {
    let db = sqlite().await;
    let (state, _) = app(&db.url, Settings::default()).await;
    let snap = state.snapshot().await.unwrap();
    let owner_person = snap
        .project
        .control("AC-05")
        .unwrap()
        .owner
        .as_ref()
        .unwrap()
        .to_string();
    let href = regex_lite_hrefs;
    let mut report = Vec::new();
    let mut owner = None;
    for role in Role::ALL {
        let who = account(
            &state,
            role,
            (role == Role::ControlOwner).then_some(owner_person.as_str()),
        )
        .await;
        if role == Role::ControlOwner {
            owner = Some(Who {
                cookie: who.cookie.clone(),
                csrf: who.csrf.clone(),
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut queue = std::collections::VecDeque::from([("/".to_string(), "/".to_string())]);
        while let Some((path, from)) = queue.pop_front() {
            if seen.len() >= 400 || !seen.insert(path.clone()) {
                continue;
            }
            let r = send(&state, get(&path, Some(&who))).await;
            if r.status == StatusCode::FORBIDDEN {
                report.push(format!("{}: {path} (linked from {from}) answers 403", role.as_str()));
                continue;
            }
            if r.status != StatusCode::OK || !r.body.starts_with("<!doctype html>") {
                continue;
            }
            // Every table is labelled for screen readers, and every header cell has a scope.
            let tables = r.body.matches("<table").count();
            let captions = r.body.matches("<caption").count();
            if captions != tables {
                report.push(format!(
                    "{}: {path} has {tables} tables and {captions} captions",
                    role.as_str()
                ));
            }
            if r.body.contains("<th>") {
                report.push(format!("{}: {path} has a header cell without a scope", role.as_str()));
            }
            for link in href(&r.body) {
                // Downloads and the API are files, not pages; signing out ends the walk.
                if link.contains("/download")
                    || link.ends_with(".xlsx")
                    || link.ends_with(".tar")
                    || link.starts_with("/api/")
                    || link.starts_with("/assets/")
                {
                    continue;
                }
                queue.push_back((link, path.clone()));
            }
        }
        assert!(seen.len() > 5, "{}: the walk reached only {seen:?}", role.as_str());
    }
    assert!(
        report.is_empty(),
        "links a reader cannot follow, or tables without labels:\n{}",
        report.join("\n")
    );
    // What is not a link is still named: the owner reads GOV-01 on the framework page, unlinked.
    let page = send(&state, get("/frameworks/iso27001", owner.as_ref())).await;
    assert!(
        page.body.contains("GOV-01") && !page.body.contains("href=\"/controls/GOV-01\""),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("href=\"/controls/AC-05\""),
        "the owner's own control lost its link"
    );
    db.finish().await;
}

/// The `href="/..."` links of a page, unescaped, without fragments.
fn regex_lite_hrefs(body: &str) -> Vec<String> {
    body.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|h| h.starts_with('/') && !h.starts_with("//"))
        .map(|h| h.split('#').next().unwrap_or(h).replace("&amp;", "&"))
        .filter(|h| !h.is_empty())
        .collect()
}

async fn resets_and_removal(db: TestDb) {
    let (state, _) = app(&db.url, Settings::default()).await;
    let admin = account(&state, Role::Admin, None).await;
    let viewer = assure_web::create_user(
        &state.db,
        "vera@example.test",
        "Vera",
        Role::Viewer,
        None,
        "the-first-password",
    )
    .await
    .unwrap();
    // The administrator makes a link; it is shown once, with the Origin the browser sent.
    let mut req = form(&format!("/users/{}/reset", viewer.id), Some(&admin), "");
    req.headers_mut()
        .insert(header::ORIGIN, "https://assure.example.test".parse().unwrap());
    let r = send(&state, req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let link = r
        .body
        .split("<pre id=\"reset-link\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    assert!(link.starts_with("https://assure.example.test/reset/"), "{link}");
    let path = link.trim_start_matches("https://assure.example.test").to_string();
    // A newer link replaces it.
    let r = send(&state, form(&format!("/users/{}/reset", viewer.id), Some(&admin), "")).await;
    let newer = r
        .body
        .split("<pre id=\"reset-link\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    assert!(
        newer.starts_with("/reset/"),
        "without an Origin the link is a path: {newer}"
    );
    assert_eq!(
        send(&state, get(&path, None)).await.status,
        StatusCode::GONE,
        "the replaced link still works"
    );
    let r = send(&state, get(&newer, None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("vera@example.test"), "{}", r.body);
    // Mistakes are said beside the form and change nothing.
    let r = send(&state, form(&newer, None, "password=short&again=short")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("at least 12 characters"), "{}", r.body);
    let r = send(
        &state,
        form(&newer, None, "password=a-new-long-password&again=a-new-long-passwore"),
    )
    .await;
    assert!(r.body.contains("The two passwords differ"), "{}", r.body);
    // The viewer's session ends when the password is set.
    let session = assure_web::start_session(&state, &viewer).await.unwrap();
    let cookie = session.to_str().unwrap().split(';').next().unwrap().to_string();
    let r = send(
        &state,
        form(&newer, None, "password=a-new-long-password&again=a-new-long-password"),
    )
    .await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/login?done=password")
    );
    let r = send(&state, get("/login?done=password", None)).await;
    assert!(r.body.contains("Your new password is set"), "{}", r.body);
    let old = Request::get("/")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&state, old).await.location,
        "/login",
        "the old session survived the reset"
    );
    assert_eq!(
        send(&state, get(&newer, None)).await.status,
        StatusCode::GONE,
        "a link worked twice"
    );
    let r = send(
        &state,
        form("/login", None, "email=vera%40example.test&password=a-new-long-password"),
    )
    .await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/"),
        "the new password does not sign in"
    );
    let r = send(
        &state,
        form("/login", None, "email=vera%40example.test&password=the-first-password"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "the old password still signs in");
    // Nobody resets or removes their own account here.
    let me = state
        .db
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .find(|(u, _)| u.role == "admin")
        .unwrap()
        .0;
    assert_eq!(
        send(&state, form(&format!("/users/{}/reset", me.id), Some(&admin), ""))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    // Removal needs the email typed again.
    let r = send(
        &state,
        form(&format!("/users/{}/remove", viewer.id), Some(&admin), "confirm=someone"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("Nothing was removed"), "{}", r.body);
    let token = assure_web::create_token(&state, &viewer, "ci", None, true)
        .await
        .unwrap();
    let r = send(
        &state,
        form(
            &format!("/users/{}/remove", viewer.id),
            Some(&admin),
            "confirm=Vera%40example.test",
        ),
    )
    .await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/users?done=removed")
    );
    let r = send(&state, get("/users?done=removed", Some(&admin))).await;
    assert!(r.body.contains("The account is removed"), "{}", r.body);
    assert!(
        !r.body.contains("vera@example.test"),
        "a removed account is still listed"
    );
    let api = Request::get("/api/v1/controls")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&state, api).await.status,
        StatusCode::UNAUTHORIZED,
        "a removed account's token works"
    );
    let r = send(
        &state,
        form("/login", None, "email=vera%40example.test&password=a-new-long-password"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a removed account signs in");
    // Its history stays and names it; the address can be used again.
    let log = state.db.audit_log(None, 100).await.unwrap();
    for what in ["made a password reset link", "set a new password", "removed an account"] {
        assert!(log.iter().any(|l| l.action == what), "the audit log lacks `{what}`");
    }
    assure_web::create_user(
        &state.db,
        "vera@example.test",
        "Vera",
        Role::Viewer,
        None,
        "the-third-password",
    )
    .await
    .unwrap();
    assert_eq!(
        send(
            &state,
            form(&format!("/users/{}/remove", viewer.id), Some(&admin), "confirm=x")
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    db.finish().await;
}

#[tokio::test]
async fn password_reset_links_and_account_removal_on_sqlite() {
    resets_and_removal(sqlite().await).await;
}

#[tokio::test]
async fn password_reset_links_and_account_removal_on_postgres() {
    resets_and_removal(postgres().await).await;
}

/// A ledger entry for the long-list test: `n` for `control`, in `table` (None: a record).
fn listed(n: u64, control: &str, table: Option<&str>, name: &str) -> Entry {
    let mut e = entry(n, control);
    e.draft.table = table.map(str::to_string);
    if let Some(b) = e.draft.blob.as_mut() {
        b.name = name.to_string();
    }
    e
}

#[tokio::test]
async fn the_evidence_list_filters_sorts_pages_and_uploads_confirm_with_their_period() {
    let db = sqlite().await;
    let (state, fake) = app(&db.url, Settings::default()).await;
    {
        let mut extra = fake.extra.lock().unwrap();
        for n in 10..130 {
            let (control, table) = if n % 2 == 0 {
                ("AC-05", Some("changes"))
            } else {
                ("GOV-01", None)
            };
            extra.push(listed(n, control, table, &format!("file-{n:03}.csv")));
        }
    }
    let admin = account(&state, Role::ComplianceManager, None).await;
    let r = send(&state, get("/evidence", Some(&admin))).await;
    assert!(r.body.contains("Entries 1–50 of 122."), "{}", r.body);
    assert!(r.body.contains("Page 1 of 3"), "{}", r.body);
    assert!(
        r.body.find("file-129.csv").unwrap() < r.body.find("file-128.csv").unwrap(),
        "newest first"
    );
    let r = send(
        &state,
        get(
            "/evidence?control=AC-05&table=changes&q=FILE-1&sort=file&page=2",
            Some(&admin),
        ),
    )
    .await;
    // AC-05's change files named file-1xx: 100..128 even = 15 entries; one page.
    assert!(
        r.body.contains("Entries 1–15 of 15 matching the filters (122 in all"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("file-101.csv") && r.body.contains("file-100.csv"));
    assert!(
        r.body.find("file-100.csv").unwrap() < r.body.find("file-128.csv").unwrap(),
        "sorted by name"
    );
    // The upload form defaults to the filtered control.
    assert!(
        r.body.contains("<option value=\"AC-05\" selected>AC-05</option>"),
        "{}",
        r.body
    );
    let r = send(&state, get("/evidence?q=nothing-like-this", Some(&admin))).await;
    assert!(r.body.contains("No entry matches these filters"), "{}", r.body);
    let r = send(&state, get("/evidence?page=3&sort=oldest", Some(&admin))).await;
    assert!(
        r.body.contains("Entries 101–122 of 122.") && r.body.contains("rel=\"prev\""),
        "{}",
        r.body
    );
    // An upload states the period it covers, and the page it leads to says what was recorded.
    let boundary = "b0undary";
    let part =
        |n: &str, v: &str| format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{n}\"\r\n\r\n{v}\r\n");
    let upload = |from: &str, to: &str| {
        let mut body = [
            part("csrf", &admin.csrf),
            part("control", "AC-05"),
            part("kind", "record"),
            part("covers_from", from),
            part("covers_to", to),
        ]
        .concat()
        .into_bytes();
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"q3-review.pdf\"\r\n\r\n%PDF\r\n--{boundary}--\r\n").as_bytes());
        Request::post("/evidence")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header(header::COOKIE, &admin.cookie)
            .body(Body::from(body))
            .unwrap()
    };
    let r = send(&state, upload("2026-09-30", "2026-07-01")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("ends before it starts"), "{}", r.body);
    let r = send(&state, upload("2026-07-01", "")).await;
    assert!(r.body.contains("or neither"), "{}", r.body);
    let r = send(&state, upload("2026-07-01", "2026-09-30")).await;
    assert_eq!(
        (r.status, r.location.as_str()),
        (StatusCode::SEE_OTHER, "/controls/AC-05?entries=3&done=uploaded")
    );
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    assert_eq!(
        fake.periods.lock().unwrap().as_slice(),
        [Some((d("2026-07-01"), d("2026-09-30")))]
    );
    let r = send(&state, get(&r.location, Some(&admin))).await;
    assert!(
        r.body
            .contains("<div class=\"flash ok\" role=\"status\">Recorded in the signed ledger as entry 3, as evidence for this control."),
        "{}",
        r.body
    );
    // Only the fixed sentences: a crafted link puts nothing on the page.
    let r = send(
        &state,
        get("/controls/AC-05?done=%3Cscript%3E&entries=1%3Cb%3E", Some(&admin)),
    )
    .await;
    assert!(!r.body.contains("flash ok"), "{}", r.body);
    db.finish().await;
}

async fn audit_search_and_pages(db: TestDb) {
    let (state, _) = app(&db.url, Settings::default()).await;
    let auditor = account(&state, Role::Auditor, None).await;
    let user = state.db.accounts().await.unwrap().into_iter().next().unwrap().0;
    for n in 0..130 {
        let what = if n % 10 == 0 { "approved a policy" } else { "commented" };
        state
            .audit(Some(&user), what, &format!("control:AC-{n:02}"), "100%_sure")
            .await
            .unwrap();
    }
    let r = send(&state, get("/audit", Some(&auditor))).await;
    assert!(r.body.contains("Lines 1–100 of 130."), "{}", r.body);
    assert!(
        r.body.contains("Page 1 of 2") && r.body.contains("rel=\"next\""),
        "{}",
        r.body
    );
    let r = send(&state, get("/audit?page=2", Some(&auditor))).await;
    assert!(r.body.contains("Lines 101–130 of 130."), "{}", r.body);
    let r = send(&state, get("/audit?q=APPROVED+A", Some(&auditor))).await;
    assert!(r.body.contains("Lines 1–13 of 13 matching."), "{}", r.body);
    // `%` and `_` are characters, not wildcards.
    let r = send(&state, get("/audit?q=0%25_s", Some(&auditor))).await;
    assert!(r.body.contains("of 130 matching"), "{}", r.body);
    let r = send(&state, get("/audit?q=x%25y", Some(&auditor))).await;
    assert!(r.body.contains("No line matches"), "{}", r.body);
    let r = send(&state, get("/audit?page=99", Some(&auditor))).await;
    assert!(
        r.body.contains("Lines 101–130 of 130."),
        "past the end shows the last page: {}",
        r.body
    );
    let r = send(&state, get("/audit?page=9223372036854775807", Some(&auditor))).await;
    assert!(
        r.body.contains("Lines 101–130 of 130."),
        "the largest page number: {}",
        r.body
    );
    db.finish().await;
}

#[tokio::test]
async fn the_audit_log_searches_and_pages_on_sqlite() {
    audit_search_and_pages(sqlite().await).await;
}

#[tokio::test]
async fn the_audit_log_searches_and_pages_on_postgres() {
    audit_search_and_pages(postgres().await).await;
}
