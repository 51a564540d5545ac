//! The JSON API, described by an OpenAPI document generated from these handlers
//! (`/api/openapi.json`). Authentication: `Authorization: Bearer TOKEN` (tokens from the API tokens
//! page) or the browser session, in which case changes also need the `x-csrf-token` header.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::authz::Action;
use crate::db::{AuditLine, Request as PbcRequest, RequestLink};
use crate::requests::RequestStatus;
use crate::views::{self, ControlView, EvidenceView, TestView};
use crate::{AppError, Session, Shared};

type ApiResult<T> = Result<T, ApiError>;

/// An API error: the same kinds as the pages, as JSON.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        ApiError(e)
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> ApiError {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.json()
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A short title.
    pub error: String,
    /// What went wrong and what to do.
    pub detail: String,
    /// The request id, for the server's log.
    pub request_id: String,
}

/// A score.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreView {
    /// What it scores.
    pub label: String,
    /// Criteria or objectives counted.
    pub items: usize,
    /// Items without a control.
    pub uncovered: usize,
    /// The score, 0 to 1.
    pub value: f64,
}

/// The dashboard in figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct Summary {
    /// The organization.
    pub organization: String,
    /// The as-of date.
    pub as_of: String,
    /// Overall readiness.
    pub overall: ScoreView,
    /// Per report and category.
    pub scores: Vec<ScoreView>,
    /// Tests with exceptions in the latest run (visible to the caller).
    pub failing_tests: usize,
    /// Requests not yet accepted.
    pub open_requests: usize,
    /// The ledger entry of the latest test run.
    pub run: Option<u64>,
}

/// A new request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewRequest {
    /// What is requested (1 to 300 characters, not only spaces, no NUL character).
    #[schema(min_length = 1, max_length = 300, pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$")]
    pub title: String,
    /// Details (no NUL character).
    #[serde(default)]
    #[schema(max_length = 20000, pattern = r"^[^\u0000]*$")]
    pub detail: String,
    /// The control it concerns; an unknown control is answered with 404.
    #[serde(default)]
    pub control: Option<String>,
    /// Due date.
    #[serde(default)]
    #[schema(format = Date, value_type = Option<String>, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub due: Option<String>,
}

async fn session(state: &Shared, headers: &HeaderMap) -> Result<Session, ApiError> {
    state.session(headers).await?.ok_or(ApiError(AppError::Unauthorized))
}

fn check_header_csrf(state: &Shared, s: &Session, headers: &HeaderMap) -> Result<(), ApiError> {
    let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    Ok(state.check_csrf(s, sent)?)
}

fn score(s: &assure_assess::gap::Score) -> ScoreView {
    ScoreView {
        label: s.label.clone(),
        items: s.items,
        uncovered: s.uncovered,
        value: s.value,
    }
}

/// Readiness, failing tests and open requests.
#[utoipa::path(get, path = "/api/v1/summary", tag = "dashboard", security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = Summary), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn summary(State(state): State<Shared>, headers: HeaderMap) -> ApiResult<Json<Summary>> {
    let s = session(&state, &headers).await?;
    let (snap, role) = state.authorized(&s, Action::ReadDashboard, &[]).await?;
    let a = &snap.assessment;
    let failing = views::tests(&snap, &s.user, role)
        .iter()
        .filter(|t| t.exceptions > 0)
        .count();
    let open = state.db.requests().await?.iter().filter(|r| r.status.is_open()).count();
    Ok(Json(Summary {
        organization: a.organization.clone(),
        as_of: snap.as_of.to_string(),
        overall: score(&a.overall),
        scores: a.reports.iter().chain(&a.categories).map(score).collect(),
        failing_tests: failing,
        open_requests: open,
        run: snap.run.as_ref().map(|(s, _)| *s),
    }))
}

/// The controls the caller may see.
#[utoipa::path(get, path = "/api/v1/controls", tag = "controls", security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = [ControlView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn controls(State(state): State<Shared>, headers: HeaderMap) -> ApiResult<Json<Vec<ControlView>>> {
    let s = session(&state, &headers).await?;
    let (snap, role) = state.authorized(&s, Action::ReadControls, &[]).await?;
    Ok(Json(views::controls(&snap, &s.user, role)))
}

/// One control.
#[utoipa::path(get, path = "/api/v1/controls/{id}", tag = "controls", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "Control id")),
    responses((status = 200, body = ControlView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn control(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<ControlView>> {
    let s = session(&state, &headers).await?;
    let snap = state.snapshot().await?;
    let c = snap
        .project
        .control(&id)
        .ok_or_else(|| AppError::NotFound(format!("There is no control `{id}`.")))?;
    state.authorize(&s, &snap, Action::ReadControls, &[c.id.as_str()])?;
    Ok(Json(views::control(&snap, c)))
}

/// The latest run's tests.
#[utoipa::path(get, path = "/api/v1/tests", tag = "tests", security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = [TestView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn tests(State(state): State<Shared>, headers: HeaderMap) -> ApiResult<Json<Vec<TestView>>> {
    let s = session(&state, &headers).await?;
    let (snap, role) = state.authorized(&s, Action::ReadTests, &[]).await?;
    let list = views::tests(&snap, &s.user, role);
    Ok(Json(list))
}

/// The ledger's entries the caller may see.
#[utoipa::path(get, path = "/api/v1/evidence", tag = "evidence", security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = [EvidenceView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn evidence(State(state): State<Shared>, headers: HeaderMap) -> ApiResult<Json<Vec<EvidenceView>>> {
    let s = session(&state, &headers).await?;
    let (snap, role) = state.authorized(&s, Action::ReadEvidence, &[]).await?;
    Ok(Json(views::evidence(&snap, &s.user, role)))
}

/// The auditor's requests the caller may see.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = [PbcRequest]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn requests(State(state): State<Shared>, headers: HeaderMap) -> ApiResult<Json<Vec<PbcRequest>>> {
    let s = session(&state, &headers).await?;
    let (_, role) = state.authorized(&s, Action::ReadRequests, &[]).await?;
    Ok(Json(
        state
            .db
            .requests()
            .await?
            .into_iter()
            .filter(|r| crate::authz::may_see_request(role, &s.user, r))
            .collect(),
    ))
}

/// Raises a request.
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", security(("bearer" = []), ("session" = [])),
    request_body = NewRequest,
    responses((status = 201, body = PbcRequest), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn raise(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<NewRequest>, JsonRejection>,
) -> ApiResult<Response> {
    let s = session(&state, &headers).await?;
    check_header_csrf(&state, &s, &headers)?;
    let (snap, _) = state.authorized(&s, Action::RaiseRequest, &[]).await?;
    let Json(n) =
        body.map_err(|e| AppError::BadRequest(format!("The body is not a valid request: {}.", e.body_text())))?;
    api_date(n.due.as_deref())?;
    let new = crate::requests::NewRequest {
        title: n.title,
        detail: n.detail,
        control: n.control.unwrap_or_default(),
        assignee: String::new(),
        due: n.due.unwrap_or_default(),
    };
    // The same checks as the form's, so the two entry points never disagree.
    let users = state.db.users().await?;
    let mut errors = crate::requests::validate(&snap, &users, &new);
    if let Some(m) = errors.remove("control") {
        return Err(AppError::NotFound(m).into());
    }
    if let Some((field, m)) = errors.iter().next() {
        return Err(AppError::BadRequest(format!("{field}: {m}")).into());
    }
    let r = crate::requests::create(&state, &s, &new).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

/// A date the API was given, when given: YYYY-MM-DD, as the description's `format: date` says (the
/// forms treat an empty field as no date; the API has `null` or an absent field for that).
fn api_date(d: Option<&str>) -> Result<(), AppError> {
    match d {
        Some(t) if chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").is_err() => Err(AppError::BadRequest(format!(
            "due: `{t}` is not a date; write it as YYYY-MM-DD, or leave the field out"
        ))),
        _ => Ok(()),
    }
}

/// A change to a request's status, through the same workflow as the web page.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RequestChange {
    /// The new status; a control owner may set in_progress and submitted, an auditor open,
    /// accepted and rejected; only a submitted request is accepted or rejected.
    pub status: RequestStatus,
    /// Why it is rejected: required for a rejection (no NUL character).
    #[serde(default)]
    #[schema(max_length = 20000, pattern = r"^[^\u0000]*$")]
    pub reason: Option<String>,
    /// Due date (unchanged when absent).
    #[serde(default)]
    #[schema(format = Date, value_type = Option<String>, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub due: Option<String>,
}

/// Evidence to link to a request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LinkEvidence {
    /// The ledger entry that (partly) answers the request.
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "whole_number")]
    pub seq: u64,
}

/// A JSON number that is a whole number, written as `12` or `12.0` (JSON Schema's `integer`
/// counts both).
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    n.as_u64()
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
                .map(|f| f as u64)
        })
        .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a ledger entry number")))
}

async fn visible_request(state: &Shared, s: &Session, id: &str) -> Result<(PbcRequest, crate::authz::Role), AppError> {
    let (_, role) = state.authorized(s, Action::ReadRequests, &[]).await?;
    let r = state
        .db
        .request(id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such request.".into()))?;
    if !crate::authz::may_see_request(role, &s.user, &r) {
        return Err(AppError::Forbidden("this request is not assigned to you".into()));
    }
    Ok((r, role))
}

/// Changes a request's status (and due date).
#[utoipa::path(post, path = "/api/v1/requests/{id}", tag = "requests", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The request's id")),
    request_body = RequestChange,
    responses((status = 200, body = PbcRequest), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "The request's status does not allow this change: only a submitted request is accepted or rejected, and a rejection needs a reason")))]
pub async fn update_request(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<RequestChange>, JsonRejection>,
) -> ApiResult<Json<PbcRequest>> {
    let s = session(&state, &headers).await?;
    check_header_csrf(&state, &s, &headers)?;
    let Json(c) =
        body.map_err(|e| AppError::BadRequest(format!("The body is not a valid change: {}.", e.body_text())))?;
    api_date(c.due.as_deref())?;
    let (r, role) = visible_request(&state, &s, &id).await?;
    state.authorized(&s, Action::UpdateRequest, &[]).await?;
    let change = crate::requests::Change {
        status: c.status.as_str().to_string(),
        reason: c.reason.unwrap_or_default(),
        assignee: r.assignee.clone().unwrap_or_default(),
        due: c.due.or_else(|| r.due.clone()).unwrap_or_default(),
    };
    crate::requests::change(&state, &s, role, &r, &change).await?;
    let r = state
        .db
        .request(&id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such request.".into()))?;
    Ok(Json(r))
}

/// The evidence linked to a request.
#[utoipa::path(get, path = "/api/v1/requests/{id}/evidence", tag = "requests", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The request's id")),
    responses((status = 200, body = [RequestLink]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn request_evidence(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<RequestLink>>> {
    let s = session(&state, &headers).await?;
    let (r, _) = visible_request(&state, &s, &id).await?;
    Ok(Json(state.db.request_links(&r.id).await?))
}

/// Links evidence already in the ledger to a request (its assignee, administrators and compliance
/// managers).
#[utoipa::path(post, path = "/api/v1/requests/{id}/evidence", tag = "requests", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The request's id")),
    request_body = LinkEvidence,
    responses((status = 200, body = [RequestLink]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn link_request_evidence(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<LinkEvidence>, JsonRejection>,
) -> ApiResult<Json<Vec<RequestLink>>> {
    let s = session(&state, &headers).await?;
    check_header_csrf(&state, &s, &headers)?;
    let Json(l) =
        body.map_err(|e| AppError::BadRequest(format!("The body is not a valid link: {}.", e.body_text())))?;
    let (r, role) = visible_request(&state, &s, &id).await?;
    if !crate::requests::may_answer(role, &s.user, &r) {
        return Err(AppError::Forbidden(
            "only the person this request is assigned to, or a compliance manager, can link evidence to it".into(),
        )
        .into());
    }
    let snap = state.snapshot().await?;
    crate::requests::link(&state, &s, role, &snap, &r, l.seq).await?;
    Ok(Json(state.db.request_links(&r.id).await?))
}

/// The audit log, newest first (at most 1,000 lines).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = []), ("session" = [])),
    responses((status = 200, body = [AuditLine]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn audit(State(state): State<Shared>, headers: HeaderMap) -> ApiResult<Json<Vec<AuditLine>>> {
    let s = session(&state, &headers).await?;
    state.authorized(&s, Action::ReadAudit, &[]).await?;
    Ok(Json(state.db.audit_log(None, 1000).await?))
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::COOKIE))),
        );
    }
}

/// The OpenAPI description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Assure API", description = "Readiness, controls, tests, evidence, requests and the audit log of an Assure project."),
    paths(summary, controls, control, tests, evidence, requests, raise, update_request, request_evidence, link_request_evidence, audit),
    components(schemas(Summary, ScoreView, ControlView, TestView, EvidenceView, NewRequest, PbcRequest, RequestChange, RequestStatus, LinkEvidence, RequestLink, AuditLine, ErrorBody)),
    modifiers(&Security)
)]
pub struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The API's routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/v1/summary", get(summary))
        .route("/api/v1/controls", get(controls))
        .route("/api/v1/controls/{id}", get(control))
        .route("/api/v1/tests", get(tests))
        .route("/api/v1/evidence", get(evidence))
        .route("/api/v1/requests", get(requests).post(raise))
        .route("/api/v1/requests/{id}", axum::routing::post(update_request))
        .route(
            "/api/v1/requests/{id}/evidence",
            get(request_evidence).post(link_request_evidence),
        )
        .route("/api/v1/audit", get(audit))
}
