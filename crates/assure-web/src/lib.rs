//! The web application and JSON API (`assure serve`): accounts with Argon2id passwords, sessions
//! in HttpOnly SameSite cookies with CSRF tokens on every form, API tokens, login rate limiting
//! and lockout, five roles checked by one function on every route, and pages for the dashboard,
//! controls, evidence, tests, requests, policies and the audit log.
//!
//! The server is a thin adapter: everything about the project (loading it, assessing it, importing
//! evidence into the signed ledger, drawing samples) goes through the [`Backend`] trait, which the
//! application layer (`assure-workspace`) owns and implements with the same calls the commands make. Its own state (accounts,
//! sessions, requests, comments, the audit log) is in SQLite or PostgreSQL ([`db`]).

#![warn(missing_docs)]

pub mod api;
pub mod authz;
pub mod db;
pub mod html;
pub mod monitor;
pub mod pages;
pub mod requests;
pub mod views;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sha2::{Digest, Sha256};

use crate::authz::{Action, Denied, Role, Visibility as _};
use crate::db::{Db, User};

pub use assure_workspace::service::BackendError;
pub use assure_workspace::{Acceptance, Backend, Snapshot, Upload, UploadKind, Verified};

/// Settings of a server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The largest upload accepted, in bytes.
    pub max_upload: usize,
    /// The one-time code that lets the first administrator be created, when there are no accounts.
    pub setup_code: Option<String>,
    /// How long a session lasts.
    pub session_hours: i64,
    /// Failed sign-ins from one address before that address is locked out of the account.
    pub max_failures: i64,
    /// How long a locked account stays locked, in minutes.
    pub lock_minutes: i64,
    /// Sign-in attempts allowed per address per window.
    pub attempts_per_window: u32,
    /// The rate-limit window.
    pub window: Duration,
    /// How long a snapshot of the project is reused.
    pub snapshot_ttl: Duration,
    /// A header a reverse proxy on this machine sets to the client's address (such as
    /// `x-forwarded-for`); read only from connections that come from the loopback address.
    pub trusted_proxy_header: Option<String>,
    /// How long a client has to send a request's headers (also between requests on a kept-alive
    /// connection): slow or idle connections are closed, not kept.
    pub header_timeout: Duration,
    /// The longest a connection may last, bodies included (a slow upload cannot hold it forever).
    pub connection_timeout: Duration,
    /// Connections served at once; more are closed at once, so a flood of idle connections cannot
    /// use up the process's files.
    pub max_connections: usize,
    /// Connections served at once from one address; more from it are closed at once, so one client
    /// holding connections open cannot take every place. A reverse proxy on this machine (with
    /// `trusted_proxy_header`) is exempt: every client arrives through it.
    pub max_connections_per_address: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            max_upload: 64 * 1024 * 1024,
            setup_code: None,
            session_hours: 12,
            max_failures: 5,
            lock_minutes: 15,
            attempts_per_window: 20,
            window: Duration::from_secs(300),
            snapshot_ttl: Duration::from_secs(5),
            trusted_proxy_header: None,
            header_timeout: Duration::from_secs(10),
            connection_timeout: Duration::from_secs(600),
            max_connections: 128,
            max_connections_per_address: 32,
        }
    }
}

/// The shared state of the server.
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The project side.
    pub backend: Arc<dyn Backend>,
    /// Settings.
    pub settings: Settings,
    snapshot: tokio::sync::Mutex<Option<(Instant, Arc<Snapshot>)>>,
    attempts: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    /// Failed sign-ins per account and address: (first failure of the window, count).
    failures: Mutex<HashMap<(String, IpAddr), (Instant, i64)>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("db", &self.db.engine)
            .finish_non_exhaustive()
    }
}

/// Shared state.
pub type Shared = Arc<AppState>;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served (for logs and error pages).
pub fn request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| "none".into())
}

/// Microseconds since 1970, UTC: the only clock the server reads.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// A random identifier (128 bits, hex).
pub fn new_id() -> Result<String, AppError> {
    random_hex(16)
}

/// `n` bytes from the operating system's random source, hex. There is no fallback: when the source
/// fails, the request fails with a 500 and the reason goes to the server log.
fn random_hex(n: usize) -> Result<String, AppError> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b)
        .map_err(|e| AppError::Internal(format!("the operating system's random source failed: {e}")))?;
    Ok(hex::encode(b))
}

/// A secret for a link or a session (256 bits, hex).
pub fn random_token() -> Result<String, AppError> {
    random_hex(32)
}

/// SHA-256 of a secret token, hex: what the database keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// An error a page or API call ends with.
#[derive(Debug)]
pub enum AppError {
    /// Not signed in: pages redirect to the sign-in page.
    SignIn,
    /// Not signed in, on the API.
    Unauthorized,
    /// Signed in but not allowed.
    Forbidden(String),
    /// No such thing.
    NotFound(String),
    /// The request is malformed.
    BadRequest(String),
    /// The request is well-formed but the thing's current state does not allow it (a request's
    /// workflow: only what was submitted is accepted; a rejection needs a reason).
    Conflict(String),
    /// The body is too large.
    TooLarge(String),
    /// Too many attempts.
    TooMany(String),
    /// Something broke; logged with the request id, never shown.
    Internal(String),
}

impl From<db::DbError> for AppError {
    fn from(e: db::DbError) -> AppError {
        AppError::Internal(e.to_string())
    }
}

impl From<BackendError> for AppError {
    fn from(e: BackendError) -> AppError {
        match e {
            BackendError::Invalid(m) => AppError::BadRequest(m),
            BackendError::Failed(m) => AppError::Internal(m),
        }
    }
}

impl From<Denied> for AppError {
    fn from(d: Denied) -> AppError {
        AppError::Forbidden(d.reason)
    }
}

impl std::fmt::Display for AppError {
    /// The message as a user outside the web application (the terminal of `assure serve`) reads it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::SignIn | AppError::Unauthorized => f.write_str("not signed in"),
            AppError::Forbidden(m) => write!(f, "not allowed: {m}"),
            AppError::NotFound(m)
            | AppError::BadRequest(m)
            | AppError::Conflict(m)
            | AppError::TooLarge(m)
            | AppError::TooMany(m)
            | AppError::Internal(m) => f.write_str(m),
        }
    }
}

impl AppError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            AppError::SignIn | AppError::Unauthorized => {
                (StatusCode::UNAUTHORIZED, "Sign in first", "Sign in to continue.".into())
            }
            AppError::Forbidden(m) => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                format!("You cannot do this: {m}."),
            ),
            AppError::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m.clone()),
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Cannot do that", m.clone()),
            AppError::Conflict(m) => (StatusCode::CONFLICT, "Not in this state", m.clone()),
            AppError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "Too large", m.clone()),
            AppError::TooMany(m) => (StatusCode::TOO_MANY_REQUESTS, "Too many attempts", m.clone()),
            AppError::Internal(m) => {
                eprintln!("assure serve: request {} failed: {m}", request_id());
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    format!(
                        "Assure could not complete this request. It has been logged as request {}; give this id to your administrator.",
                        request_id()
                    ),
                )
            }
        }
    }

    /// The error as JSON, for the API.
    pub fn json(self) -> Response {
        if matches!(self, AppError::SignIn) {
            return AppError::Unauthorized.json();
        }
        let (status, title, detail) = self.parts();
        let body = serde_json::json!({ "error": title, "detail": detail, "request_id": request_id() });
        (status, axum::Json(body)).into_response()
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if matches!(self, AppError::SignIn) {
            return Redirect::to("/login").into_response();
        }
        let (status, title, detail) = self.parts();
        let body = format!(
            "<h1>{}</h1><div class=\"card\"><p>{}</p><p><a href=\"/\">Back to the dashboard</a></p></div>",
            html::esc(title),
            html::esc(&detail)
        );
        (status, Html(html::page(title, None, "", &body))).into_response()
    }
}

/// The signed-in account of a request.
#[derive(Debug, Clone)]
pub struct Session {
    /// The account.
    pub user: User,
    /// The session's CSRF token (absent for API tokens).
    pub csrf: Option<String>,
    /// A read-only API token: it may read what its account reads and change nothing.
    pub read_only: bool,
}

/// A page handler that takes a `Session` requires a signed-in account: without one the request ends
/// in the sign-in redirect before the handler runs.
impl axum::extract::FromRequestParts<Shared> for Session {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &Shared) -> Result<Session, AppError> {
        state.require(&parts.headers).await
    }
}

impl Session {
    /// The CSRF token for forms.
    pub fn csrf(&self) -> &str {
        self.csrf.as_deref().unwrap_or("")
    }
}

/// The session cookie's name.
pub const COOKIE: &str = "assure_session";

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

impl AppState {
    /// Creates the state.
    pub fn new(db: Db, backend: Arc<dyn Backend>, settings: Settings) -> Shared {
        Arc::new(AppState {
            db,
            backend,
            settings,
            snapshot: tokio::sync::Mutex::new(None),
            attempts: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        })
    }

    /// The signed-in account, from the session cookie or a bearer token.
    pub async fn session(&self, headers: &HeaderMap) -> Result<Option<Session>, AppError> {
        if let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
            && let Some(token) = auth.strip_prefix("Bearer ")
        {
            return Ok(self
                .db
                .token_user(&token_hash(token.trim()), now_micros())
                .await?
                .map(|(user, read_only)| Session {
                    user,
                    csrf: None,
                    read_only,
                }));
        }
        let Some(token) = cookie_token(headers) else {
            return Ok(None);
        };
        Ok(self
            .db
            .session(&token_hash(&token), now_micros())
            .await?
            .map(|(user, csrf)| Session {
                user,
                csrf: Some(csrf),
                read_only: false,
            }))
    }

    /// The signed-in account, or sign in first.
    pub async fn require(&self, headers: &HeaderMap) -> Result<Session, AppError> {
        self.session(headers).await?.ok_or(AppError::SignIn)
    }

    /// The project as of today, reused for a few seconds and dropped after every change.
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, AppError> {
        let mut guard = self.snapshot.lock().await;
        if let Some((at, s)) = guard.as_ref()
            && at.elapsed() < self.settings.snapshot_ttl
            && s.as_of == self.backend.today()
        {
            return Ok(s.clone());
        }
        let backend = self.backend.clone();
        let today = backend.today();
        let s = tokio::task::spawn_blocking(move || backend.snapshot(today))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))??;
        let s = Arc::new(s);
        *guard = Some((Instant::now(), s.clone()));
        Ok(s)
    }

    /// Drops the cached snapshot after a change to the ledger.
    pub async fn invalidate(&self) {
        *self.snapshot.lock().await = None;
    }

    /// Checks an action for the signed-in account against the snapshot's ownership.
    pub fn authorize(&self, s: &Session, snap: &Snapshot, action: Action, controls: &[&str]) -> Result<Role, AppError> {
        if s.read_only && action.changes_something() {
            return Err(AppError::Forbidden(
                "This API token is read-only: create a read-write token on the API tokens page to make changes.".into(),
            ));
        }
        Ok(authz::authorize(&s.user, action, controls, &|c| snap.owns(&s.user, c))?)
    }

    /// The preamble of a page: the project snapshot and the role, once the session may do `action`
    /// on `controls`.
    pub async fn authorized(
        &self,
        s: &Session,
        action: Action,
        controls: &[&str],
    ) -> Result<(Arc<Snapshot>, Role), AppError> {
        let snap = self.snapshot().await?;
        let role = self.authorize(s, &snap, action, controls)?;
        Ok((snap, role))
    }

    /// Checks the CSRF token of a form against the session.
    pub fn check_csrf(&self, s: &Session, sent: &str) -> Result<(), AppError> {
        match &s.csrf {
            // API tokens carry no cookie, so there is nothing to forge.
            None => Ok(()),
            Some(expected) if constant_eq(expected.as_bytes(), sent.as_bytes()) => Ok(()),
            Some(_) => Err(AppError::Forbidden(
                "the form was stale or did not come from this site; reload the page and try again".into(),
            )),
        }
    }

    /// Records a change in the audit log.
    pub async fn audit(&self, who: Option<&User>, action: &str, subject: &str, detail: &str) -> Result<(), AppError> {
        let (id, rid) = (new_id()?, request_id());
        self.db
            .audit(&db::NewAudit {
                id: &id,
                at: now_micros(),
                user_id: who.map(|u| u.id.as_str()),
                action,
                subject,
                detail,
                request_id: &rid,
            })
            .await?;
        Ok(())
    }

    /// Refuses a sign-in from an address that failed too often in the window. Only failures count
    /// ([`AppState::sign_in_failed`]): behind a proxy, many people signing in is not an attack.
    pub fn check_attempts(&self, ip: IpAddr) -> Result<(), AppError> {
        let map = self
            .attempts
            .lock()
            .map_err(|_| AppError::Internal("rate limiter poisoned".into()))?;
        let now = Instant::now();
        if let Some((start, n)) = map.get(&ip)
            && now.duration_since(*start) <= self.settings.window
            && *n >= self.settings.attempts_per_window
        {
            let wait = self
                .settings
                .window
                .saturating_sub(now.duration_since(*start))
                .as_secs()
                / 60
                + 1;
            return Err(AppError::TooMany(format!(
                "Too many failed sign-ins from this address. Try again in {wait} minute{}.",
                if wait == 1 { "" } else { "s" }
            )));
        }
        Ok(())
    }

    /// Counts a failed sign-in for the address and, when it names an account, for that account
    /// from that address.
    pub fn sign_in_failed(&self, ip: IpAddr, email: &str) -> Result<(), AppError> {
        let now = Instant::now();
        {
            let mut map = self
                .attempts
                .lock()
                .map_err(|_| AppError::Internal("rate limiter poisoned".into()))?;
            let e = map.entry(ip).or_insert((now, 0));
            if now.duration_since(e.0) > self.settings.window {
                *e = (now, 0);
            }
            e.1 += 1;
        }
        let mut map = self
            .failures
            .lock()
            .map_err(|_| AppError::Internal("lockout poisoned".into()))?;
        let lock = Duration::from_secs(u64::try_from(self.settings.lock_minutes.max(0)).unwrap_or(0) * 60);
        let e = map.entry((email.to_string(), ip)).or_insert((now, 0));
        if now.duration_since(e.0) > lock {
            *e = (now, 0);
        }
        e.1 += 1;
        Ok(())
    }

    /// Whether this address is locked out of this account (too many failures from it, lately).
    /// Other addresses are not: nobody can lock anyone else out of their own account.
    pub fn locked_out(&self, ip: IpAddr, email: &str) -> Result<bool, AppError> {
        let map = self
            .failures
            .lock()
            .map_err(|_| AppError::Internal("lockout poisoned".into()))?;
        let lock = Duration::from_secs(u64::try_from(self.settings.lock_minutes.max(0)).unwrap_or(0) * 60);
        Ok(map
            .get(&(email.to_string(), ip))
            .is_some_and(|(start, n)| *n >= self.settings.max_failures && start.elapsed() <= lock))
    }

    /// Forgets the failures of an address for an account after it signs in.
    pub fn sign_in_succeeded(&self, ip: IpAddr, email: &str) -> Result<(), AppError> {
        self.failures
            .lock()
            .map_err(|_| AppError::Internal("lockout poisoned".into()))?
            .remove(&(email.to_string(), ip));
        Ok(())
    }

    /// The client's address: the connection's, or, from a proxy on this machine, the configured
    /// header's first address.
    pub fn client_ip(&self, info: Option<&ConnectInfo<SocketAddr>>, headers: &HeaderMap) -> IpAddr {
        let peer = client_ip(info);
        if peer.is_loopback()
            && let Some(name) = &self.settings.trusted_proxy_header
            && let Some(forwarded) = headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok())
        {
            return forwarded;
        }
        peer
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Hashes a password with Argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AppError::Internal(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AppError::Internal(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// Checks a password against a stored hash.
pub fn verify_password(hash: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Starts a session for an account: the cookie to set.
pub async fn start_session(state: &AppState, user: &User) -> Result<HeaderValue, AppError> {
    let token = random_hex(32)?;
    let csrf = random_hex(16)?;
    let now = now_micros();
    let expires = now + state.settings.session_hours * 3_600_000_000;
    state
        .db
        .create_session(&token_hash(&token), &user.id, &csrf, now, expires)
        .await?;
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        state.settings.session_hours * 3600
    ))
    .map_err(|e| AppError::Internal(e.to_string()))
}

/// Creates an API token for an account; returns the token, shown once. `days`: how long it
/// works (`None`: until revoked); `read_only`: it may read but change nothing.
pub async fn create_token(
    state: &AppState,
    user: &User,
    name: &str,
    days: Option<u32>,
    read_only: bool,
) -> Result<String, AppError> {
    let token = format!("assure_{}", random_hex(24)?);
    let now = now_micros();
    let expires = days.map_or(0, |d| now + i64::from(d) * 86_400_000_000);
    state
        .db
        .create_token(
            &new_id()?,
            &user.id,
            name,
            &token_hash(&token),
            now,
            expires,
            if read_only { "read-only" } else { "read-write" },
        )
        .await?;
    Ok(token)
}

/// Creates an account (used by setup, the users page and `assure serve`'s first-run options).
pub async fn create_user(
    db: &Db,
    email: &str,
    name: &str,
    role: Role,
    person: Option<&str>,
    password: &str,
) -> Result<User, AppError> {
    let email = email.trim().to_lowercase();
    if !email.contains('@') || email.len() > 200 {
        return Err(AppError::BadRequest(format!("`{email}` is not an email address")));
    }
    if password.chars().count() < 12 {
        return Err(AppError::BadRequest(
            "the password must have at least 12 characters".into(),
        ));
    }
    let user = User {
        id: new_id()?,
        email,
        name: name.trim().to_string(),
        role: role.as_str().to_string(),
        person: person.map(str::to_string).filter(|p| !p.is_empty()),
    };
    let hash = hash_password(password)?;
    db.create_user(&user, &hash, now_micros()).await.map_err(|e| match e {
        db::DbError::Sql(sqlx::Error::Database(d)) if d.is_unique_violation() => {
            AppError::BadRequest(format!("an account for {} already exists", user.email))
        }
        other => other.into(),
    })?;
    Ok(user)
}

async fn request_ids(req: Request, next: Next) -> Response {
    let id = match random_hex(8) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let mut resp = REQUEST_ID.scope(id.clone(), next.run(req)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    let h = resp.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    resp
}

async fn icon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        html::ICON,
    )
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        html::CSS,
    )
}

async fn health(State(state): State<Shared>) -> Result<&'static str, AppError> {
    state.db.user_count().await?;
    Ok("ok\n")
}

async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        AppError::NotFound("There is no API route at this address; see /api/openapi.json.".into()).json()
    } else {
        AppError::NotFound("There is no page at this address.".into()).into_response()
    }
}

/// The client address of a request, when the server knows it.
pub fn client_ip(info: Option<&ConnectInfo<SocketAddr>>) -> IpAddr {
    info.map(|c| c.0.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

/// The whole application.
pub fn router(state: Shared) -> Router {
    let max_upload = state.settings.max_upload;
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/setup", get(pages::setup_form).post(pages::setup))
        .route("/controls", get(pages::controls))
        .route("/risks", get(pages::risks))
        .route("/vendors", get(pages::vendors))
        .route("/frameworks/{id}", get(pages::framework))
        .route("/frameworks/{id}/workbook.xlsx", get(pages::framework_workbook))
        .route("/vendors/{id}", get(pages::vendor))
        .route("/controls/{id}", get(pages::control))
        .route("/controls/{id}/comments", post(pages::control_comment))
        .route("/controls/{id}/sample", post(pages::control_sample))
        .route("/controls/{id}/workpaper", post(pages::control_workpaper))
        .route("/controls/{id}/signoff", post(pages::control_signoff))
        .route(
            "/evidence",
            get(pages::evidence)
                .post(pages::upload)
                .layer(DefaultBodyLimit::max(max_upload + 64 * 1024)),
        )
        .route("/evidence/verify", post(pages::verify))
        .route("/evidence/{seq}/download", get(pages::download))
        .route("/tests", get(pages::tests))
        .route("/tests/{id}", get(pages::test))
        .route("/tests/{id}/population.xlsx", get(pages::population_xlsx))
        .route("/workpapers.tar", get(pages::workpaper_set))
        .route("/periods", get(pages::periods))
        .route("/monitoring", get(pages::monitoring))
        .route("/monitoring/run", post(pages::run_monitoring))
        .route("/my-work", get(pages::my_work))
        .route("/window", get(pages::window))
        .route("/requests", get(pages::requests).post(pages::raise_request))
        .route("/requests/{id}", get(pages::request).post(pages::update_request))
        .route("/requests/{id}/comments", post(pages::request_comment))
        .route(
            "/requests/{id}/attach",
            post(pages::attach).layer(DefaultBodyLimit::max(max_upload + 64 * 1024)),
        )
        .route("/requests/{id}/link", post(pages::link_evidence))
        .route(
            "/requests/import",
            post(pages::import_requests).layer(DefaultBodyLimit::max(max_upload + 64 * 1024)),
        )
        .route("/policies", get(pages::policies))
        .route("/policies/{id}", get(pages::policy))
        .route("/policies/{id}/accept", post(pages::accept))
        .route("/policies/{id}/approve", post(pages::approve))
        .route(
            "/questionnaires",
            get(pages::questionnaires).post(pages::upload_questionnaire),
        )
        .route("/questionnaires/{id}", get(pages::questionnaire))
        .route(
            "/questionnaires/{id}/q/{index}",
            get(pages::question).post(pages::review),
        )
        .route("/questionnaires/{id}/approve", post(pages::approve_all))
        .route("/questionnaires/{id}/export", get(pages::export_questionnaire))
        .route("/audit", get(pages::audit))
        .route("/users", get(pages::users).post(pages::add_user))
        .route("/tokens", get(pages::tokens).post(pages::add_token))
        .route("/tokens/{id}/revoke", post(pages::revoke_token))
        .route("/users/{id}/role", post(pages::set_role))
        .route("/users/{id}/disable", post(pages::disable_user))
        .route("/users/{id}/enable", post(pages::enable_user))
        .route("/users/{id}/reset", post(pages::reset_password))
        .route("/users/{id}/remove", post(pages::remove_user))
        .route("/reset/{token}", get(pages::reset_form).post(pages::reset))
        .route("/assets/app.css", get(css))
        .route("/assets/icon.svg", get(icon))
        .route("/favicon.ico", get(icon))
        .route("/healthz", get(health))
        .merge(api::routes())
        .fallback(not_found)
        .layer(middleware::from_fn(pages::confirmations))
        .layer(middleware::from_fn_with_state(state.clone(), pages::followable_links))
        .layer(middleware::from_fn(request_ids))
        .with_state(state)
}

/// Serves until interrupted (Ctrl-C).
pub async fn serve(state: Shared, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    serve_until(state, listener, stop).await
}

/// Serves until `stop` completes. Each connection gets the header timeout, a lifetime limit, a
/// place among `max_connections` and among its address's `max_connections_per_address`; beyond
/// either, connections are closed as they arrive.
pub async fn serve_until(
    state: Shared,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let (header_timeout, lifetime, max, per_address) = (
        state.settings.header_timeout,
        state.settings.connection_timeout,
        state.settings.max_connections.max(1),
        state.settings.max_connections_per_address.max(1),
    );
    let proxied = state.settings.trusted_proxy_header.is_some();
    let app = router(state);
    let permits = Arc::new(tokio::sync::Semaphore::new(max));
    let open: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>> = Arc::default();
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut stop => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of files or a connection reset before it was accepted: keep serving.
                Err(_) => continue,
            },
        };
        let ip = peer.ip();
        let counted = !(proxied && ip.is_loopback());
        if counted {
            let Ok(mut open) = open.lock() else {
                drop(stream);
                continue;
            };
            let n = open.entry(ip).or_insert(0);
            if *n >= per_address {
                drop(stream);
                continue;
            }
            *n += 1;
        }
        let release = {
            let open = Arc::clone(&open);
            move || {
                if counted
                    && let Ok(mut open) = open.lock()
                    && let Some(n) = open.get_mut(&ip)
                {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        open.remove(&ip);
                    }
                }
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            release();
            drop(stream);
            continue;
        };
        let svc = hyper_util::service::TowerToHyperService::new(app.clone().layer(axum::Extension(ConnectInfo(peer))));
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Some(header_timeout))
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
            let _ = tokio::time::timeout(lifetime, conn).await;
            drop(permit);
            release();
        });
    }
}
