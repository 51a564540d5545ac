//! The server-rendered pages. Each handler: who is signed in, may they do this, read or change,
//! render. Forms carry the session's CSRF token; changes are written to the audit log.
#![allow(missing_docs, reason = "handlers and forms are listed with their routes in lib.rs")]

use std::collections::BTreeMap;
use std::net::SocketAddr;

use assure_assess::results::Conclusion;
use axum::Form;
use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::authz::{Action, Role, Visibility as _};
use crate::db::Request as PbcRequest;
use crate::html::{csrf_field, esc, heat_colour, page, score_pill, when};
use crate::requests::{self, NewRequest, RequestStatus};
use crate::{AppError, Session, Shared, Snapshot, Upload, UploadKind, client_ip, new_id, now_micros};
use assure_schema::results::ItemStatus;

type Page = Result<Response, AppError>;

fn ok(title: &str, s: &Session, active: &str, body: String) -> Page {
    Ok(Html(page(title, Some((&s.user, s.csrf())), active, &body)).into_response())
}

fn see_other(to: &str) -> Page {
    Ok(Redirect::to(to).into_response())
}

fn control_or_404<'a>(snap: &'a Snapshot, id: &str) -> Result<&'a assure_project::model::Control, AppError> {
    snap.project
        .control(id)
        .ok_or_else(|| AppError::NotFound(format!("There is no control `{id}`.")))
}

/// Runs project work (file I/O, signing) off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// Adds a comment to a subject (`control:ID`, `request:ID`) and records it in the audit log.
async fn comment(state: &Shared, s: &Session, subject: &str, body: &str) -> Result<(), AppError> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 5000 {
        return Err(AppError::BadRequest(
            "A comment needs text, at most 5,000 characters.".into(),
        ));
    }
    state
        .db
        .add_comment(&new_id()?, subject, &s.user.id, body, now_micros())
        .await?;
    state.audit(Some(&s.user), "commented", subject, body).await
}

fn role_of(s: &Session) -> Option<Role> {
    Role::parse(&s.user.role)
}

fn is_owner_role(s: &Session) -> bool {
    role_of(s) == Some(Role::ControlOwner)
}

/// The controls a session may see: all, or an owner's own.
fn visible_controls<'a>(s: &Session, snap: &'a Snapshot) -> Vec<&'a assure_project::model::Control> {
    let mut v: Vec<_> = snap
        .project
        .controls
        .iter()
        .filter(|c| !is_owner_role(s) || snap.owns(&s.user, c.id.as_str()))
        .collect();
    v.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    v
}

fn conclusion_pill(c: Conclusion) -> String {
    let class = match c {
        Conclusion::NoExceptions | Conclusion::Implemented => "ok",
        Conclusion::Exceptions | Conclusion::NotShown => "bad",
        Conclusion::NoPopulation | Conclusion::NotRun => "warn",
    };
    format!("<span class=\"pill {class}\">{}</span>", c.label())
}

// ---------------------------------------------------------------- sign-in, setup

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

fn login_page(email: &str, error: Option<&str>) -> String {
    let err = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default();
    page(
        "Sign in",
        None,
        "",
        &format!(
            "<div class=\"card\" style=\"max-width:28rem;margin:3rem auto\"><h1>Sign in to Assure</h1><form method=\"post\" action=\"/login\"><label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" value=\"{}\" required><label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>{err}<button type=\"submit\">Sign in</button></form></div>",
            esc(email)
        ),
    )
}

pub async fn login_form(State(state): State<Shared>, headers: HeaderMap) -> Page {
    if state.db.user_count().await? == 0 {
        return see_other("/setup");
    }
    if state.session(&headers).await?.is_some() {
        return see_other("/");
    }
    Ok(Html(login_page("", None)).into_response())
}

pub async fn login(
    State(state): State<Shared>,
    info: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    Form(f): Form<LoginForm>,
) -> Page {
    state.count_attempt(client_ip(info.as_ref().map(|e| &e.0)))?;
    let email = f.email.trim().to_lowercase();
    let fail = |msg: &str| Ok((StatusCode::UNAUTHORIZED, Html(login_page(&email, Some(msg)))).into_response());
    let Some((user, hash, _, locked_until)) = state.db.login_record(&email).await? else {
        // Same answer and similar work as a wrong password, so accounts cannot be discovered.
        let _ = crate::verify_password(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$ZmFrZWhhc2hmYWtlaGFzaGZha2VoYXNo",
            &f.password,
        );
        return fail("The email or password is wrong.");
    };
    let now = now_micros();
    if locked_until > now {
        let minutes = (locked_until - now) / 60_000_000 + 1;
        return fail(&format!(
            "This account is locked after repeated failed sign-ins. Try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        ));
    }
    if !crate::verify_password(&hash, &f.password) {
        let locked = state
            .db
            .login_failed(
                &user.id,
                now,
                state.settings.max_failures,
                state.settings.lock_minutes * 60_000_000,
            )
            .await?;
        state
            .audit(
                Some(&user),
                "sign-in failed",
                &format!("user:{}", user.email),
                if locked { "account locked" } else { "" },
            )
            .await?;
        return fail(if locked {
            "Too many failed sign-ins: the account is now locked for a while."
        } else {
            "The email or password is wrong."
        });
    }
    state.db.login_succeeded(&user.id).await?;
    let cookie = crate::start_session(&state, &user).await?;
    state
        .audit(Some(&user), "signed in", &format!("user:{}", user.email), "")
        .await?;
    let mut resp = Redirect::to("/").into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(resp)
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(State(state): State<Shared>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Page {
    let s = state.require(&headers).await?;
    state.check_csrf(&s, &f.csrf)?;
    if let Some(t) = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == crate::COOKIE)
        .map(|(_, v)| v.to_string())
    {
        state.db.delete_session(&crate::token_hash(&t)).await?;
    }
    state
        .audit(Some(&s.user), "signed out", &format!("user:{}", s.user.email), "")
        .await?;
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("assure_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0"),
    );
    Ok(resp)
}

#[derive(Debug, Deserialize)]
pub struct SetupQuery {
    #[serde(default)]
    code: String,
}

#[derive(Debug, Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

fn setup_page(code: &str, name: &str, email: &str, errors: &BTreeMap<&str, String>) -> String {
    let e = |k: &str| {
        errors
            .get(k)
            .map(|m| format!("<p class=\"error\">{}</p>", esc(m)))
            .unwrap_or_default()
    };
    page(
        "Create the administrator",
        None,
        "",
        &format!(
            "<div class=\"card\" style=\"max-width:30rem;margin:3rem auto\"><h1>Create the first administrator</h1><p class=\"muted\">Assure has no accounts yet. The administrator creates everyone else's.</p><form method=\"post\" action=\"/setup\"><input type=\"hidden\" name=\"code\" value=\"{}\">{}<label for=\"name\">Name</label><input id=\"name\" name=\"name\" value=\"{}\" required>{}<label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" value=\"{}\" required>{}<label for=\"password\">Password (at least 12 characters)</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required>{}<button type=\"submit\">Create and sign in</button></form></div>",
            esc(code),
            e("code"),
            esc(name),
            e("name"),
            esc(email),
            e("email"),
            e("password")
        ),
    )
}

pub async fn setup_form(State(state): State<Shared>, Query(q): Query<SetupQuery>) -> Page {
    if state.db.user_count().await? > 0 {
        return see_other("/login");
    }
    Ok(Html(setup_page(&q.code, "", "", &BTreeMap::new())).into_response())
}

pub async fn setup(State(state): State<Shared>, Form(f): Form<SetupForm>) -> Page {
    if state.db.user_count().await? > 0 {
        return Err(AppError::Forbidden(
            "the administrator already exists; sign in instead".into(),
        ));
    }
    let mut errors = BTreeMap::new();
    if let Some(code) = &state.settings.setup_code
        && !crate::constant_eq(code.as_bytes(), f.code.trim().as_bytes())
    {
        errors.insert(
            "code",
            "The setup code is missing or wrong: open the address `assure serve` printed when it started.".to_string(),
        );
    }
    if f.name.trim().is_empty() {
        errors.insert("name", "Enter a name.".into());
    }
    if !f.email.contains('@') {
        errors.insert("email", "Enter an email address.".into());
    }
    if f.password.chars().count() < 12 {
        errors.insert("password", "Use at least 12 characters.".into());
    }
    if !errors.is_empty() {
        return Ok((
            StatusCode::BAD_REQUEST,
            Html(setup_page(&f.code, &f.name, &f.email, &errors)),
        )
            .into_response());
    }
    let user = crate::create_user(&state.db, &f.email, &f.name, Role::Admin, None, &f.password).await?;
    state
        .audit(
            Some(&user),
            "created the administrator",
            &format!("user:{}", user.email),
            "first run",
        )
        .await?;
    let cookie = crate::start_session(&state, &user).await?;
    let mut resp = Redirect::to("/").into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(resp)
}

// ---------------------------------------------------------------- dashboard

pub async fn dashboard(State(state): State<Shared>, headers: HeaderMap) -> Page {
    let s = state.require(&headers).await?;
    let snap = state.snapshot().await?;
    let role = state.authorize(&s, &snap, Action::ReadDashboard, &[])?;
    let a = &snap.assessment;
    let mut b = format!(
        "<h1>{}</h1><p class=\"muted\">{} · {} · as of {}</p>",
        esc(&a.organization),
        esc(&a.reports_in_scope.join(", ")),
        esc(a.window.as_deref().unwrap_or("no period set")),
        snap.as_of
    );
    b.push_str("<div class=\"grid\">");
    b.push_str(&format!(
        "<div class=\"card\"><div class=\"muted\">Overall readiness</div><div class=\"big\">{:.1} %</div><div class=\"bar\"><span style=\"width:{:.0}%\"></span></div></div>",
        a.overall.value * 100.0,
        a.overall.value * 100.0
    ));
    for c in a.reports.iter().chain(&a.categories) {
        b.push_str(&format!(
            "<div class=\"card\"><div class=\"muted\">{}</div><div class=\"big\">{:.1} %</div><div class=\"bar\"><span style=\"width:{:.0}%\"></span></div><div class=\"muted\">{} items{}</div></div>",
            esc(&c.label),
            c.value * 100.0,
            c.value * 100.0,
            c.items,
            if c.uncovered > 0 { format!(", {} without a control", c.uncovered) } else { String::new() }
        ));
    }
    b.push_str("</div>");
    b.push_str("<h2>Criteria and objectives</h2><div class=\"card\"><div class=\"heat\">");
    for i in &a.items {
        let label = match (&i.not_relevant, i.score) {
            (Some(_), _) => "not relevant".to_string(),
            (None, Some(v)) => format!("{:.0} %", v * 100.0),
            (None, None) => "n/a".into(),
        };
        b.push_str(&format!(
            "<a href=\"/controls?criterion={}\" style=\"background:{}\" title=\"{}: {}\">{}<br>{}</a>",
            esc(&i.id),
            if i.not_relevant.is_some() {
                "#8a94a6"
            } else {
                heat_colour(i.score)
            },
            esc(&i.id),
            esc(&i.title),
            esc(&i.id),
            label
        ));
    }
    b.push_str("</div></div>");
    // Failing tests (owners: of their controls).
    b.push_str("<h2>Failing tests</h2>");
    match &snap.run {
        None => b.push_str("<div class=\"card\">No test run is recorded yet: run <code>assure test</code>.</div>"),
        Some((seq, r)) => {
            let failing: Vec<_> = r
                .tests
                .iter()
                .filter(|t| t.exceptions > 0)
                .filter(|t| !is_owner_role(&s) || t.controls.iter().any(|c| snap.owns(&s.user, c)))
                .collect();
            if failing.is_empty() {
                b.push_str(&format!(
                    "<div class=\"card\">No exceptions in the latest run (ledger entry {seq}).</div>"
                ));
            } else {
                b.push_str("<table><tr><th>Test</th><th>Controls</th><th>Exceptions</th><th>Population</th></tr>");
                for t in failing {
                    b.push_str(&format!(
                        "<tr><td><a href=\"/tests/{}\">{}</a></td><td>{}</td><td><span class=\"pill bad\">{}</span></td><td>{}</td></tr>",
                        esc(&t.id),
                        esc(&t.title),
                        esc(&t.controls.join(", ")),
                        t.exceptions,
                        t.population
                    ));
                }
                b.push_str("</table>");
            }
        }
    }
    // Due this week.
    b.push_str("<h2>Due this week</h2>");
    let week = snap.as_of + chrono::Days::new(7);
    let mut due: Vec<(String, String, String)> = Vec::new();
    for r in state.db.requests().await? {
        if !r.status.is_open() || !crate::authz::may_see_request(role, &s.user, &r) {
            continue;
        }
        if let Some(d) = r
            .due
            .as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            && d <= week
        {
            due.push((
                d.to_string(),
                format!("<a href=\"/requests/{}\">PBC-{}</a>", esc(&r.id), r.number),
                esc(&r.title),
            ));
        }
    }
    let inp = snap.inputs();
    for d in assure_report::due::due(&inp, 7, &|c| !is_owner_role(&s) || snap.owns(&s.user, c)) {
        let href = if d.kind == "policy" { "policies" } else { "controls" };
        due.push((
            d.date.to_string(),
            format!("<a href=\"/{href}/{0}\">{0}</a>", esc(&d.subject)),
            esc(&d.what),
        ));
    }
    due.sort();
    if due.is_empty() {
        b.push_str("<div class=\"card\">Nothing is due in the next seven days.</div>");
    } else {
        b.push_str("<table><tr><th>Due</th><th>What</th><th></th></tr>");
        for (d, link, what) in due {
            let late = if d < snap.as_of.to_string() {
                " <span class=\"pill bad\">overdue</span>"
            } else {
                ""
            };
            b.push_str(&format!("<tr><td>{d}{late}</td><td>{link}</td><td>{what}</td></tr>"));
        }
        b.push_str("</table>");
    }
    ok("Dashboard", &s, "/", b)
}

// ---------------------------------------------------------------- controls

#[derive(Debug, Deserialize)]
pub struct ControlFilter {
    #[serde(default)]
    criterion: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
}

pub async fn controls(State(state): State<Shared>, headers: HeaderMap, Query(f): Query<ControlFilter>) -> Page {
    let s = state.require(&headers).await?;
    let snap = state.snapshot().await?;
    state.authorize(&s, &snap, Action::ReadControls, &[])?;
    let status: BTreeMap<&str, &assure_assess::gap::ControlStatus> =
        snap.assessment.controls.iter().map(|c| (c.id.as_str(), c)).collect();
    let q = f.q.to_lowercase();
    let list: Vec<_> = visible_controls(&s, &snap)
        .into_iter()
        .filter(|c| {
            f.criterion.is_empty()
                || c.criteria
                    .iter()
                    .chain(&c.objectives)
                    .any(|r| r.as_str() == f.criterion)
        })
        .filter(|c| f.owner.is_empty() || c.owner.as_ref().is_some_and(|o| o.as_str() == f.owner))
        .filter(|c| q.is_empty() || c.id.as_str().to_lowercase().contains(&q) || c.title.to_lowercase().contains(&q))
        .filter(|c| {
            let (result, _) = assure_report::control_result(&snap.inputs(), c.id.as_str());
            match f.status.as_str() {
                "exceptions" => result == "exceptions noted",
                "gaps" => status.get(c.id.as_str()).is_some_and(|x| x.score < 1.0),
                _ => true,
            }
        })
        .collect();
    let mut owners: Vec<(String, String)> = visible_controls(&s, &snap)
        .iter()
        .filter_map(|c| c.owner.as_ref())
        .map(|o| {
            (
                o.to_string(),
                snap.project
                    .person(o.as_str())
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| o.to_string()),
            )
        })
        .collect();
    owners.sort();
    owners.dedup();
    let opt = |v: &str, label: &str, cur: &str| {
        format!(
            "<option value=\"{}\"{}>{}</option>",
            esc(v),
            if v == cur { " selected" } else { "" },
            esc(label)
        )
    };
    let mut b = format!(
        "<h1>Controls</h1><form class=\"filters card\" method=\"get\" action=\"/controls\"><div><label for=\"q\">Search</label><input id=\"q\" name=\"q\" value=\"{}\"></div><div><label for=\"criterion\">Criterion or objective</label><input id=\"criterion\" name=\"criterion\" value=\"{}\" placeholder=\"CC6.1\"></div><div><label for=\"owner\">Owner</label><select id=\"owner\" name=\"owner\">{}{}</select></div><div><label for=\"status\">Show</label><select id=\"status\" name=\"status\">{}{}{}</select></div><div><button type=\"submit\">Filter</button></div></form>",
        esc(&f.q),
        esc(&f.criterion),
        opt("", "Anyone", &f.owner),
        owners.iter().map(|(id, n)| opt(id, n, &f.owner)).collect::<String>(),
        opt("", "All controls", &f.status),
        opt("gaps", "With readiness gaps", &f.status),
        opt("exceptions", "With exceptions", &f.status),
    );
    b.push_str(&format!("<p class=\"muted\">{} controls</p><table><tr><th>Control</th><th>Title</th><th>Owner</th><th>Frequency</th><th>Readiness</th><th>Result</th></tr>", list.len()));
    for c in list {
        let (result, exc) = assure_report::control_result(&snap.inputs(), c.id.as_str());
        let pill = if exc > 0 {
            format!("<span class=\"pill bad\">{} ({exc})</span>", esc(&result))
        } else {
            format!("<span class=\"muted\">{}</span>", esc(&result))
        };
        b.push_str(&format!(
            "<tr><td><a href=\"/controls/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{pill}</td></tr>",
            esc(c.id.as_str()),
            esc(c.id.as_str()),
            esc(&c.title),
            esc(&c.owner.as_ref().and_then(|o| snap.project.person(o.as_str())).map(|p| p.name.clone()).unwrap_or_default()),
            esc(c.frequency.map(|x| x.as_str()).unwrap_or("")),
            status.get(c.id.as_str()).map(|x| score_pill(x.score)).unwrap_or_default(),
        ));
    }
    b.push_str("</table>");
    ok("Controls", &s, "/controls", b)
}

fn comments_html(list: &[crate::db::Comment]) -> String {
    if list.is_empty() {
        return "<p class=\"muted\">No comments yet.</p>".into();
    }
    list.iter()
        .map(|c| {
            format!(
                "<div class=\"comment\"><b>{}</b> <span class=\"muted\">{}</span><br>{}</div>",
                esc(&c.author),
                when(c.created_at),
                esc(&c.body)
            )
        })
        .collect()
}

fn comment_form(action: &str, csrf: &str, error: Option<&str>) -> String {
    format!(
        "<form method=\"post\" action=\"{}\">{}<label for=\"body\">Add a comment</label><textarea id=\"body\" name=\"body\" required maxlength=\"5000\"></textarea>{}<button type=\"submit\">Comment</button></form>",
        esc(action),
        csrf_field(csrf),
        error
            .map(|e| format!("<p class=\"error\">{}</p>", esc(e)))
            .unwrap_or_default()
    )
}

pub async fn control(State(state): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Page {
    let s = state.require(&headers).await?;
    let snap = state.snapshot().await?;
    let c = control_or_404(&snap, &id)?;
    let role = state.authorize(&s, &snap, Action::ReadControls, &[c.id.as_str()])?;
    let inp = snap.inputs();
    let (result, exc) = assure_report::control_result(&inp, c.id.as_str());
    let owner = c
        .owner
        .as_ref()
        .and_then(|o| snap.project.person(o.as_str()))
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let mut b = format!(
        "<h1>{} · {}</h1><div class=\"card\"><p>{}</p><table><tr><th>Owner</th><td>{}</td><th>Frequency</th><td>{}</td></tr><tr><th>Nature</th><td>{}</td><th>Key control</th><td>{}</td></tr><tr><th>Criteria</th><td>{}</td><th>Objectives</th><td>{}</td></tr><tr><th>Result</th><td colspan=\"3\">{}{}</td></tr></table></div>",
        esc(c.id.as_str()),
        esc(&c.title),
        esc(c.description.trim()),
        esc(&owner),
        esc(c.frequency.map(|x| x.as_str()).unwrap_or("not set")),
        esc(&c.nature.map(|x| format!("{x:?}").to_lowercase()).unwrap_or_default()),
        if c.key { "yes" } else { "no" },
        c.criteria
            .iter()
            .map(|r| format!("<a href=\"/controls?criterion={0}\">{0}</a>", esc(r.as_str())))
            .collect::<Vec<_>>()
            .join(", "),
        esc(&c.objectives.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")),
        esc(&result),
        if exc > 0 {
            format!(" <span class=\"pill bad\">{exc} exceptions</span>")
        } else {
            String::new()
        }
    );
    // Policies, and the statements that name this control.
    b.push_str("<h2>Policies</h2><div class=\"card\">");
    let mut any = false;
    for p in &snap.project.policies {
        let named: Vec<&String> = p
            .statements
            .iter()
            .filter(|(_, l)| l.controls.iter().any(|x| x.as_str() == c.id.as_str()))
            .map(|(k, _)| k)
            .collect();
        if c.policies.iter().any(|r| r.as_str() == p.id.as_str()) || !named.is_empty() {
            any = true;
            b.push_str(&format!(
                "<div><a href=\"/policies/{}\">{}</a>{}</div>",
                esc(p.id.as_str()),
                esc(&p.title),
                if named.is_empty() {
                    String::new()
                } else {
                    format!(
                        " <span class=\"muted\">enforces statements {}</span>",
                        esc(&named.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", "))
                    )
                }
            ));
        }
    }
    if !any {
        b.push_str("<p class=\"muted\">No policy requires this control.</p>");
    }
    b.push_str("</div>");
    // Tests and the test procedure.
    b.push_str("<h2>Tests</h2>");
    let procs = assure_report::procedures(&inp, c);
    if procs.is_empty() {
        b.push_str("<div class=\"card muted\">No automated test: the service auditor inspects this control.</div>");
    } else {
        b.push_str("<div class=\"card\"><ul>");
        for p in procs {
            b.push_str(&format!("<li>{}</li>", esc(&p)));
        }
        b.push_str("</ul></div>");
    }
    let tests = inp.tests_of(c.id.as_str());
    if !tests.is_empty() {
        b.push_str("<table><tr><th>Test</th><th>Population</th><th>Exceptions</th><th>Conclusion</th></tr>");
        for t in tests {
            b.push_str(&format!(
                "<tr><td><a href=\"/tests/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&t.id),
                esc(&t.title),
                t.population,
                t.exceptions,
                conclusion_pill(t.conclusion)
            ));
        }
        b.push_str("</table>");
    }
    if let Some(sample) = snap.samples.iter().find(|x| x.control == c.id.as_str()) {
        b.push_str(&format!(
            "<h2>Sample</h2><div class=\"card\"><p>{} of {} items, seed {} ({}).</p><p>{}</p></div>",
            sample.selected.len() + sample.added.len(),
            sample.population.len(),
            sample.seed,
            esc(&sample.rule),
            esc(&sample
                .selected
                .iter()
                .chain(&sample.added)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "))
        ));
    }
    if crate::authz::role_allows(role, Action::SelectSample) {
        b.push_str(&format!(
            "<form method=\"post\" action=\"/controls/{}/sample\">{}<button type=\"submit\">Draw a sample of this control's population</button></form>",
            esc(c.id.as_str()),
            csrf_field(s.csrf())
        ));
    }
    // Evidence.
    b.push_str("<h2>Evidence</h2>");
    let entries: Vec<_> = snap
        .ledger
        .iter()
        .filter(|e| e.draft.controls.iter().any(|x| x == c.id.as_str()) && e.draft.action.is_evidence())
        .collect();
    if entries.is_empty() {
        b.push_str("<div class=\"card muted\">No evidence is recorded for this control.</div>");
    } else {
        b.push_str(
            "<table><tr><th>Entry</th><th>File</th><th>Table</th><th>Covers</th><th>Recorded</th><th>By</th></tr>",
        );
        for e in entries.iter().rev().take(50) {
            b.push_str(&evidence_row(
                e,
                crate::authz::role_allows(role, Action::DownloadEvidence),
            ));
        }
        b.push_str("</table>");
    }
    if crate::authz::role_allows(role, Action::UploadEvidence) {
        b.push_str(&upload_form(s.csrf(), &[c.id.as_str()], None));
    }
    // Comments and history.
    let subject = format!("control:{}", c.id.as_str());
    b.push_str("<h2>Comments</h2>");
    b.push_str(&comments_html(&state.db.comments(&subject).await?));
    if crate::authz::role_allows(role, Action::Comment) {
        b.push_str(&comment_form(
            &format!("/controls/{}/comments", c.id.as_str()),
            s.csrf(),
            None,
        ));
    }
    b.push_str("<h2>History</h2>");
    let log = state.db.audit_log(Some(&subject), 50).await?;
    if log.is_empty() {
        b.push_str("<p class=\"muted\">No changes recorded in Assure yet.</p>");
    } else {
        b.push_str("<table><tr><th>When</th><th>Who</th><th>What</th><th>Detail</th></tr>");
        for l in log {
            b.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                when(l.at),
                esc(l.who.as_deref().unwrap_or("")),
                esc(&l.action),
                esc(&l.detail)
            ));
        }
        b.push_str("</table>");
    }
    ok(&format!("{} {}", c.id.as_str(), c.title), &s, "/controls", b)
}

#[derive(Debug, Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
}

pub async fn control_comment(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CommentForm>,
) -> Page {
    let s = state.require(&headers).await?;
    state.check_csrf(&s, &f.csrf)?;
    let snap = state.snapshot().await?;
    let c = control_or_404(&snap, &id)?;
    state.authorize(&s, &snap, Action::Comment, &[c.id.as_str()])?;
    comment(&state, &s, &format!("control:{}", c.id.as_str()), &f.body).await?;
    see_other(&format!("/controls/{}", c.id.as_str()))
}

pub async fn control_sample(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Page {
    let s = state.require(&headers).await?;
    state.check_csrf(&s, &f.csrf)?;
    let snap = state.snapshot().await?;
    let c = control_or_404(&snap, &id)?;
    state.authorize(&s, &snap, Action::SelectSample, &[c.id.as_str()])?;
    let backend = state.backend.clone();
    let (control, by, as_of) = (c.id.to_string(), s.user.email.clone(), snap.as_of);
    let sample = blocking(move || backend.sample(&control, &by, as_of)).await??;
    state.invalidate().await;
    state
        .audit(
            Some(&s.user),
            "drew a sample",
            &format!("control:{}", c.id.as_str()),
            &format!(
                "{} of {} items, seed {}",
                sample.selected.len() + sample.added.len(),
                sample.population.len(),
                sample.seed
            ),
        )
        .await?;
    see_other(&format!("/controls/{}", c.id.as_str()))
}

// ---------------------------------------------------------------- evidence

fn evidence_row(e: &assure_ledger::Entry, download: bool) -> String {
    let name = e.draft.blob.as_ref().map(|b| b.name.clone()).unwrap_or_default();
    let file = if download && e.draft.blob.is_some() {
        format!("<a href=\"/evidence/{}/download\">{}</a>", e.seq, esc(&name))
    } else {
        esc(&name)
    };
    let covers = match (&e.draft.period_start, &e.draft.period_end) {
        (Some(a), Some(b)) => format!("{a} to {b}"),
        _ => String::new(),
    };
    format!(
        "<tr><td>{}</td><td>{file}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        e.seq,
        esc(e.draft.table.as_deref().unwrap_or("record")),
        esc(&covers),
        esc(e.draft.at.get(..16).unwrap_or(&e.draft.at)),
        esc(&e.draft.by)
    )
}

fn upload_form(csrf: &str, controls: &[&str], error: Option<&str>) -> String {
    let options: String = controls
        .iter()
        .map(|c| format!("<option value=\"{0}\">{0}</option>", esc(c)))
        .collect();
    format!(
        "<div class=\"card\"><h2>Add evidence</h2><form method=\"post\" action=\"/evidence\" enctype=\"multipart/form-data\">{}<label for=\"control\">For control</label><select id=\"control\" name=\"control\">{options}</select><label for=\"kind\">What it is</label><select id=\"kind\" name=\"kind\"><option value=\"record\">A record kept as it is (minutes, screenshot, signed report)</option><option value=\"export\">An export read into an evidence table (CSV, JSON, XLSX, vendor export)</option></select><label for=\"file\">File</label><input id=\"file\" name=\"file\" type=\"file\" required>{}<button type=\"submit\">Record in the ledger</button></form><p class=\"muted\">Every file is hashed, stored read-only and signed into the ledger; nothing is stored when a file is refused.</p></div>",
        csrf_field(csrf),
        error
            .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
            .unwrap_or_default()
    )
}

pub async fn evidence(State(state): State<Shared>, headers: HeaderMap) -> Page {
    let s = state.require(&headers).await?;
    let snap = state.snapshot().await?;
    let role = state.authorize(&s, &snap, Action::ReadEvidence, &[])?;
    evidence_page(&state, &s, &snap, role, None, StatusCode::OK).await
}

async fn evidence_page(
    state: &Shared,
    s: &Session,
    snap: &Snapshot,
    role: Role,
    error: Option<&str>,
    status: StatusCode,
) -> Page {
    let _ = state;
    let mut b = String::from("<h1>Evidence</h1>");
    if crate::authz::role_allows(role, Action::UploadEvidence) {
        let ids: Vec<&str> = visible_controls(s, snap).iter().map(|c| c.id.as_str()).collect();
        b.push_str(&upload_form(s.csrf(), &ids, error));
    } else if let Some(e) = error {
        b.push_str(&format!("<p class=\"error\">{}</p>", esc(e)));
    }
    b.push_str(&format!(
        "<form method=\"post\" action=\"/evidence/verify\">{}<button type=\"submit\">Verify the ledger and every file</button></form>",
        csrf_field(s.csrf())
    ));
    let entries: Vec<_> = snap
        .ledger
        .iter()
        .filter(|e| e.draft.action.is_evidence())
        .filter(|e| !is_owner_role(s) || e.draft.controls.iter().any(|c| snap.owns(&s.user, c)))
        .collect();
    b.push_str(&format!("<h2>Ledger ({} entries)</h2><table><tr><th>Entry</th><th>File</th><th>Table</th><th>Covers</th><th>Recorded</th><th>By</th></tr>", entries.len()));
    for e in entries.iter().rev().take(500) {
        b.push_str(&evidence_row(
            e,
            crate::authz::role_allows(role, Action::DownloadEvidence),
        ));
    }
    b.push_str("</table>");
    Ok((
        status,
        Html(page("Evidence", Some((&s.user, s.csrf())), "/evidence", &b)),
    )
        .into_response())
}

pub async fn upload(State(state): State<Shared>, headers: HeaderMap, mut mp: Multipart) -> Page {
    let s = state.require(&headers).await?;
    let snap = state.snapshot().await?;
    let role = state.authorize(&s, &snap, Action::UploadEvidence, &[])?;
    let limit = state.settings.max_upload;
    let (mut csrf, mut control, mut kind, mut file) = (String::new(), String::new(), String::from("record"), None);
    let too_large = || {
        AppError::TooLarge(format!(
            "The file is larger than the {} MiB upload limit, so nothing was stored. Import large exports with `assure evidence import` instead.",
            limit / (1024 * 1024)
        ))
    };
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(e) => {
                return Err(AppError::BadRequest(format!(
                    "The upload could not be read: {}.",
                    e.body_text()
                )));
            }
        };
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(e) => {
                return Err(AppError::BadRequest(format!(
                    "The upload could not be read: {}.",
                    e.body_text()
                )));
            }
        };
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).to_string(),
            "control" => control = String::from_utf8_lossy(&bytes).to_string(),
            "kind" => kind = String::from_utf8_lossy(&bytes).to_string(),
            "file" => file = Some((file_name.unwrap_or_default(), bytes.to_vec())),
            _ => {}
        }
    }
    state.check_csrf(&s, &csrf)?;
    if snap.project.control(&control).is_none() {
        return evidence_page(
            &state,
            &s,
            &snap,
            role,
            Some(&format!("Choose a control: `{control}` is not one.")),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    state.authorize(&s, &snap, Action::UploadEvidence, &[control.as_str()])?;
    let Some((file_name, bytes)) = file.filter(|(n, b)| !n.is_empty() && !b.is_empty()) else {
        return evidence_page(
            &state,
            &s,
            &snap,
            role,
            Some("Choose a file to upload; an empty file is not evidence."),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    if bytes.len() > limit {
        return Err(too_large());
    }
    let upload = Upload {
        file_name: file_name.clone(),
        bytes,
        controls: vec![control.clone()],
        kind: if kind == "export" {
            UploadKind::Export
        } else {
            UploadKind::Record
        },
        by: s.user.email.clone(),
    };
    let backend = state.backend.clone();
    let result = blocking(move || backend.import(upload)).await?;
    match result {
        Ok(entries) => {
            state.invalidate().await;
            let seqs: Vec<String> = entries.iter().map(|e| e.seq.to_string()).collect();
            state
                .audit(
                    Some(&s.user),
                    "uploaded evidence",
                    &format!("control:{control}"),
                    &format!("{file_name} as ledger entry {}", seqs.join(", ")),
                )
                .await?;
            see_other(&format!("/controls/{control}"))
        }
        Err(crate::BackendError::Invalid(m)) => {
            evidence_page(
                &state,
                &s,
                &snap,
                role,
                Some(&format!("{file_name} was refused and nothing was stored: {m}")),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn verify(State(state): State<Shared>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Page {
    let s = state.require(&headers).await?;
    state.check_csrf(&s, &f.csrf)?;
    let snap = state.snapshot().await?;
    state.authorize(&s, &snap, Action::ReadEvidence, &[])?;
    let backend = state.backend.clone();
    let v = blocking(move || backend.verify()).await??;
    state
        .audit(Some(&s.user), "verified the ledger", "ledger", &v.message)
        .await?;
    let class = if v.ok { "ok" } else { "bad" };
    ok(
        "Ledger verification",
        &s,
        "/evidence",
        format!(
            "<h1>Ledger verification</h1><div class=\"card\"><p><span class=\"pill {class}\">{}</span> {} entries checked.</p><pre>{}</pre></div><p><a href=\"/evidence\">Back to the evidence</a></p>",
            if v.ok { "intact" } else { "BROKEN" },
            v.entries,
            esc(&v.message)
        ),
    )
}

pub async fn download(State(state): State<Shared>, headers: HeaderMap, Path(seq): Path<u64>) -> Page {
    let s = state.require(&headers).await?;
    let snap = state.snapshot().await?;
    let e = snap
        .ledger
        .iter()
        .find(|e| e.seq == seq)
        .ok_or_else(|| AppError::NotFound(format!("There is no ledger entry {seq}.")))?;
    let controls: Vec<&str> = e.draft.controls.iter().map(String::as_str).collect();
    // An entry for no control is readable by anyone who may read evidence, except owners.
    let controls = if controls.is_empty() && is_owner_role(&s) {
        vec!["-"]
    } else {
        controls
    };
    state.authorize(&s, &snap, Action::DownloadEvidence, &controls)?;
    let blob = e
        .draft
        .blob
        .as_ref()
        .ok_or_else(|| AppError::NotFound(format!("Ledger entry {seq} has no file.")))?;
    let backend = state.backend.clone();
    let hash = blob.blake3.clone();
    let bytes = blocking(move || backend.blob(&hash)).await??;
    state
        .audit(
            Some(&s.user),
            "downloaded evidence",
            &format!("ledger:{seq}"),
            &blob.name,
        )
        .await?;
    let safe: String = blob
        .name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{safe}\"")),
        ],
        bytes,
    )
        .into_response())
}

// ---------------------------------------------------------------- tests

pub async fn tests(State(state): State<Shared>, headers: HeaderMap) -> Page {
    let s = state.require(&headers).await?;
    let snap = state.snapshot().await?;
    state.authorize(&s, &snap, Action::ReadTests, &[])?;
    let mut b = String::from("<h1>Test results</h1>");
    match &snap.run {
        None => b.push_str(
            "<div class=\"card\">No test run is recorded yet: import evidence and run <code>assure test</code>.</div>",
        ),
        Some((seq, r)) => {
            b.push_str(&format!(
                "<p class=\"muted\">Type {} run recorded as ledger entry {seq}: period {} to {}, as of {}. Every item below can be re-performed from the ledger.</p>",
                r.exam_type, r.period_start, r.period_end, r.as_of
            ));
            b.push_str("<table><tr><th>Test</th><th>Controls</th><th>Population</th><th>Exceptions</th><th>Conclusion</th></tr>");
            for t in r
                .tests
                .iter()
                .filter(|t| !is_owner_role(&s) || t.controls.iter().any(|c| snap.owns(&s.user, c)))
            {
                b.push_str(&format!(
                    "<tr><td><a href=\"/tests/{}\">{}</a><br><span class=\"muted\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&t.id),
                    esc(&t.title),
                    esc(&t.id),
                    esc(&t.controls.join(", ")),
                    t.population,
                    t.exceptions,
                    conclusion_pill(t.conclusion)
                ));
            }
            b.push_str("</table>");
        }
    }
    ok("Tests", &s, "/tests", b)
}

pub async fn test(State(state): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Page {
    let s = state.require(&headers).await?;
    let snap = state.snapshot().await?;
    let (seq, r) = snap
        .run
        .as_ref()
        .ok_or_else(|| AppError::NotFound("No test run is recorded yet.".into()))?;
    let t = r
        .tests
        .iter()
        .find(|t| t.id == id)
        .ok_or_else(|| AppError::NotFound(format!("The latest run has no test `{id}`.")))?;
    let controls: Vec<&str> = t.controls.iter().map(String::as_str).collect();
    state.authorize(&s, &snap, Action::ReadTests, &controls)?;
    let mut b = format!(
        "<h1>{}</h1><div class=\"card\"><p>{}</p><p>Controls: {} · population {} · exceptions {} · not applicable {} · {} · ledger entry {seq}</p></div>",
        esc(&t.title),
        esc(&snap
            .project
            .test(&t.id)
            .map(|d| d.doc.what.trim().to_string())
            .unwrap_or_default()),
        t.controls
            .iter()
            .map(|c| format!("<a href=\"/controls/{0}\">{0}</a>", esc(c)))
            .collect::<Vec<_>>()
            .join(", "),
        t.population,
        t.exceptions,
        t.not_applicable,
        conclusion_pill(t.conclusion)
    );
    if let Some(n) = &t.note {
        b.push_str(&format!("<p class=\"muted\">{}</p>", esc(n)));
    }
    // Samples drawn from this test's controls, with the selected items marked below.
    let samples: Vec<_> = snap
        .samples
        .iter()
        .filter(|x| t.controls.contains(&x.control))
        .collect();
    let mut selected: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for x in &samples {
        b.push_str(&format!(
            "<div class=\"card\">Sample for {}: {} of {} items, seed {} ({}). Selected items are marked below.</div>",
            esc(&x.control),
            x.selected.len() + x.added.len(),
            x.population.len(),
            x.seed,
            esc(&x.rule)
        ));
        selected.extend(x.selected.iter().chain(&x.added).map(String::as_str));
    }
    let mut items: Vec<_> = t.items.iter().collect();
    items.sort_by_key(|i| (i.status != ItemStatus::Fail, i.item.clone()));
    b.push_str("<table><tr><th>Item</th><th>Status</th><th>Reason</th></tr>");
    for i in items.iter().take(1000) {
        let class = if i.status == ItemStatus::Fail {
            "bad"
        } else if i.status == ItemStatus::Pass {
            "ok"
        } else {
            "warn"
        };
        b.push_str(&format!(
            "<tr><td>{}{}</td><td><span class=\"pill {class}\">{}</span></td><td>{}</td></tr>",
            esc(&i.item),
            // Sampled items are named `test/item` when the population came from a test run.
            if selected.contains(i.item.as_str()) || selected.contains(format!("{}/{}", t.id, i.item).as_str()) {
                " <span class=\"pill warn\">sampled</span>"
            } else {
                ""
            },
            esc(i.status.as_str()),
            esc(&i.reason)
        ));
    }
    b.push_str("</table>");
    if items.len() > 1000 {
        b.push_str(&format!(
            "<p class=\"muted\">{} more items are in the control matrix workbook.</p>",
            items.len() - 1000
        ));
    }
    ok(&t.title, &s, "/tests", b)
}

// ---------------------------------------------------------------- requests

#[derive(Debug, Default, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    control: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    status: String,
}

impl RequestForm {
    /// The new request this form asks for.
    fn to_new(&self) -> NewRequest {
        NewRequest {
            title: self.title.clone(),
            detail: self.detail.clone(),
            control: self.control.clone(),
            assignee: self.assignee.clone(),
            due: self.due.clone(),
        }
    }

    /// The change to a request this form asks for.
    fn to_change(&self) -> requests::Change {
        requests::Change {
            status: self.status.clone(),
            assignee: self.assignee.clone(),
            due: self.due.clone(),
        }
    }
}



async fn requests_page(
    state: &Shared,
    s: &Session,
    form: &RequestForm,
    errors: &BTreeMap<&str, String>,
    status: StatusCode,
) -> Page {
    let snap = state.snapshot().await?;
    let role = state.authorize(s, &snap, Action::ReadRequests, &[])?;
    let users = state.db.users().await?;
    let name_of = |id: &Option<String>| {
        id.as_ref()
            .and_then(|i| users.iter().find(|u| &u.id == i))
            .map(|u| u.name.clone())
            .unwrap_or_default()
    };
    let mut b = String::from("<h1>Requests</h1>");
    let list: Vec<PbcRequest> = state
        .db
        .requests()
        .await?
        .into_iter()
        .filter(|r| crate::authz::may_see_request(role, &s.user, r))
        .collect();
    b.push_str(&format!("<h2>Requests from the auditor ({})</h2>", list.len()));
    if list.is_empty() {
        b.push_str("<div class=\"card muted\">No requests yet.</div>");
    } else {
        b.push_str(
            "<table><tr><th>Request</th><th>What</th><th>Control</th><th>Assignee</th><th>Due</th><th>Status</th></tr>",
        );
        for r in &list {
            let late = r.due.as_deref().is_some_and(|d| d < snap.as_of.to_string().as_str()) && r.status.is_open();
            b.push_str(&format!(
                "<tr><td><a href=\"/requests/{}\">PBC-{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td></tr>",
                esc(&r.id),
                r.number,
                esc(&r.title),
                esc(r.control.as_deref().unwrap_or("")),
                esc(&name_of(&r.assignee)),
                esc(r.due.as_deref().unwrap_or("")),
                if late { " <span class=\"pill bad\">overdue</span>" } else { "" },
                r.status.as_str()
            ));
        }
        b.push_str("</table>");
    }
    if crate::authz::role_allows(role, Action::RaiseRequest) {
        let e = |k: &str| {
            errors
                .get(k)
                .map(|m| format!("<p class=\"error\">{}</p>", esc(m)))
                .unwrap_or_default()
        };
        let users_opt: String = std::iter::once("<option value=\"\">Nobody yet</option>".to_string())
            .chain(users.iter().map(|u| {
                format!(
                    "<option value=\"{}\"{}>{} ({})</option>",
                    esc(&u.id),
                    if u.id == form.assignee { " selected" } else { "" },
                    esc(&u.name),
                    esc(&u.email)
                )
            }))
            .collect();
        b.push_str(&format!(
            "<div class=\"card\"><h2>Raise a request</h2><form method=\"post\" action=\"/requests\">{}<label for=\"title\">What is requested</label><input id=\"title\" name=\"title\" value=\"{}\" required maxlength=\"300\">{}<label for=\"detail\">Details</label><textarea id=\"detail\" name=\"detail\" maxlength=\"20000\">{}</textarea>{}<label for=\"control\">Control (optional)</label><input id=\"control\" name=\"control\" value=\"{}\" placeholder=\"AC-05\">{}<label for=\"assignee\">Assignee</label><select id=\"assignee\" name=\"assignee\">{users_opt}</select><label for=\"due\">Due</label><input id=\"due\" name=\"due\" type=\"date\" value=\"{}\">{}<button type=\"submit\">Raise the request</button></form></div>",
            csrf_field(s.csrf()),
            esc(&form.title),
            e("title"),
            esc(&form.detail),
            e("detail"),
            esc(&form.control),
            e("control"),
            esc(&form.due),
            e("due")
        ));
    }
    // The standard request list derived from the project and the ledger.
    {
        let sheet = assure_report::matrix::request_list(&snap.inputs());
        b.push_str(&format!(
            "<h2>Standard request list ({} items, status from the ledger)</h2><table><tr>",
            sheet.rows.len()
        ));
        for h in &sheet.headers {
            b.push_str(&format!("<th>{}</th>", esc(h)));
        }
        b.push_str("</tr>");
        let control_col = sheet.headers.iter().position(|h| h == "Control");
        for row in &sheet.rows {
            if role == Role::ControlOwner
                && !control_col
                    .and_then(|i| row.get(i))
                    .is_some_and(|c| snap.owns(&s.user, &c.text()))
            {
                continue;
            }
            b.push_str("<tr>");
            for c in row {
                b.push_str(&format!("<td>{}</td>", esc(&c.text())));
            }
            b.push_str("</tr>");
        }
        b.push_str("</table>");
    }
    Ok((
        status,
        Html(page("Requests", Some((&s.user, s.csrf())), "/requests", &b)),
    )
        .into_response())
}

pub async fn requests(State(state): State<Shared>, headers: HeaderMap) -> Page {
    let s = state.require(&headers).await?;
    requests_page(&state, &s, &RequestForm::default(), &BTreeMap::new(), StatusCode::OK).await
}

pub async fn raise_request(State(state): State<Shared>, headers: HeaderMap, Form(f): Form<RequestForm>) -> Page {
    let s = state.require(&headers).await?;
    state.check_csrf(&s, &f.csrf)?;
    let snap = state.snapshot().await?;
    state.authorize(&s, &snap, Action::RaiseRequest, &[])?;
    let errors = requests::validate(&snap, &f.to_new());
    if !errors.is_empty() {
        return requests_page(&state, &s, &f, &errors, StatusCode::BAD_REQUEST).await;
    }
    let r = requests::create(&state, &s, &f.to_new()).await?;
    see_other(&format!("/requests/{}", r.id))
}

async fn load_request(state: &Shared, s: &Session, id: &str) -> Result<(PbcRequest, Role), AppError> {
    let snap = state.snapshot().await?;
    let r = state
        .db
        .request(id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such request.".into()))?;
    let role = state.authorize(s, &snap, Action::ReadRequests, &[])?;
    if !crate::authz::may_see_request(role, &s.user, &r) {
        return Err(AppError::Forbidden("this request is not assigned to you".into()));
    }
    Ok((r, role))
}

pub async fn request(State(state): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Page {
    let s = state.require(&headers).await?;
    let (r, role) = load_request(&state, &s, &id).await?;
    let users = state.db.users().await?;
    let name = |i: &Option<String>| {
        i.as_ref()
            .and_then(|i| users.iter().find(|u| &u.id == i))
            .map(|u| u.name.clone())
            .unwrap_or_else(|| "nobody".into())
    };
    let mut b = format!(
        "<h1>PBC-{} · {}</h1><div class=\"card\">{}<table><tr><th>Status</th><td>{}</td><th>Due</th><td>{}</td></tr><tr><th>Assignee</th><td>{}</td><th>Control</th><td>{}</td></tr><tr><th>Raised by</th><td>{}</td><th>Raised</th><td>{}</td></tr></table></div>",
        r.number,
        esc(&r.title),
        if r.detail.is_empty() {
            String::new()
        } else {
            format!("<p>{}</p>", esc(&r.detail))
        },
        r.status.as_str(),
        esc(r.due.as_deref().unwrap_or("no date")),
        esc(&name(&r.assignee)),
        r.control
            .as_deref()
            .map(|c| format!("<a href=\"/controls/{0}\">{0}</a>", esc(c)))
            .unwrap_or_default(),
        esc(&name(&Some(r.created_by.clone()))),
        when(r.created_at)
    );
    if crate::authz::role_allows(role, Action::UpdateRequest) {
        let st: String = RequestStatus::settable_by(role)
            .iter()
            .map(|x| {
                format!(
                    "<option value=\"{x}\"{}>{x}</option>",
                    if *x == r.status { " selected" } else { "" }
                )
            })
            .collect();
        let assignee = if role == Role::ControlOwner {
            format!(
                "<input type=\"hidden\" name=\"assignee\" value=\"{}\">",
                esc(r.assignee.as_deref().unwrap_or(""))
            )
        } else {
            let opts: String = std::iter::once("<option value=\"\">Nobody</option>".to_string())
                .chain(users.iter().map(|u| {
                    format!(
                        "<option value=\"{}\"{}>{}</option>",
                        esc(&u.id),
                        if Some(&u.id) == r.assignee.as_ref() {
                            " selected"
                        } else {
                            ""
                        },
                        esc(&u.name)
                    )
                }))
                .collect();
            format!("<label for=\"assignee\">Assignee</label><select id=\"assignee\" name=\"assignee\">{opts}</select>")
        };
        b.push_str(&format!(
            "<div class=\"card\"><h2>Update</h2><form method=\"post\" action=\"/requests/{}\">{}<label for=\"status\">Status</label><select id=\"status\" name=\"status\">{st}</select>{assignee}<label for=\"due\">Due</label><input id=\"due\" name=\"due\" type=\"date\" value=\"{}\"><button type=\"submit\">Save</button></form></div>",
            esc(&r.id),
            csrf_field(s.csrf()),
            esc(r.due.as_deref().unwrap_or(""))
        ));
    }
    let subject = format!("request:{}", r.id);
    b.push_str("<h2>Comments</h2>");
    b.push_str(&comments_html(&state.db.comments(&subject).await?));
    if crate::authz::role_allows(role, Action::Comment) {
        b.push_str(&comment_form(&format!("/requests/{}/comments", r.id), s.csrf(), None));
    }
    ok(&format!("PBC-{}", r.number), &s, "/requests", b)
}

pub async fn update_request(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<RequestForm>,
) -> Page {
    let s = state.require(&headers).await?;
    state.check_csrf(&s, &f.csrf)?;
    let (r, role) = load_request(&state, &s, &id).await?;
    let snap = state.snapshot().await?;
    state.authorize(&s, &snap, Action::UpdateRequest, &[])?;
    requests::change(&state, &s, role, &r, &f.to_change()).await?;
    see_other(&format!("/requests/{}", r.id))
}

pub async fn request_comment(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CommentForm>,
) -> Page {
    let s = state.require(&headers).await?;
    state.check_csrf(&s, &f.csrf)?;
    let (r, _) = load_request(&state, &s, &id).await?;
    let snap = state.snapshot().await?;
    state.authorize(&s, &snap, Action::Comment, &[])?;
    comment(&state, &s, &format!("request:{}", r.id), &f.body).await?;
    see_other(&format!("/requests/{}", r.id))
}

// ---------------------------------------------------------------- policies

fn accepted(snap: &Snapshot, email: &str, policy: &str, version: &str) -> Option<String> {
    snap.acceptances
        .iter()
        .filter(|a| a.email.eq_ignore_ascii_case(email) && a.policy_id == policy && a.policy_version == version)
        .map(|a| a.accepted_at.clone())
        .max()
}

pub async fn policies(State(state): State<Shared>, headers: HeaderMap) -> Page {
    let s = state.require(&headers).await?;
    let snap = state.snapshot().await?;
    state.authorize(&s, &snap, Action::ReadPolicies, &[])?;
    let mut list: Vec<_> = snap.project.policies.iter().collect();
    list.sort_by(|a, b| a.title.cmp(&b.title));
    // Everyone must accept the policies that apply to all; the others apply to a group.
    let everyone = |p: &assure_project::model::Policy| p.applies_to.as_deref().is_none_or(|a| a == "all");
    let due: Vec<&str> = list
        .iter()
        .filter(|p| everyone(p))
        .filter(|p| accepted(&snap, &s.user.email, p.id.as_str(), p.version.as_deref().unwrap_or("")).is_none())
        .map(|p| p.title.as_str())
        .collect();
    let mut b = String::from("<h1>Policies</h1>");
    if due.is_empty() {
        b.push_str("<div class=\"card\"><span class=\"pill ok\">You have accepted every policy that applies to everyone.</span></div>");
    } else {
        b.push_str(&format!(
            "<div class=\"card\"><b>{} {} to accept</b>, as everyone in the company must: {}. Open each one to read and accept it.</div>",
            due.len(),
            if due.len() == 1 { "policy" } else { "policies" },
            esc(&due.join(", "))
        ));
    }
    b.push_str("<table><tr><th>Policy</th><th>Applies to</th><th>Version</th><th>Approved</th><th>Next review</th><th>Status</th><th>You</th></tr>");
    for p in list {
        let st = snap.assessment.policies.iter().find(|x| x.id == p.id.as_str());
        let version = p.version.clone().unwrap_or_default();
        let mine = match accepted(&snap, &s.user.email, p.id.as_str(), &version) {
            Some(at) => format!(
                "<span class=\"pill ok\">accepted {}</span>",
                esc(at.get(..10).unwrap_or(&at))
            ),
            None if everyone(p) => "<span class=\"pill warn\">to accept</span>".to_string(),
            None => "<span class=\"muted\">not accepted</span>".to_string(),
        };
        b.push_str(&format!(
            "<tr><td><a href=\"/policies/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{mine}</td></tr>",
            esc(p.id.as_str()),
            esc(&p.title),
            esc(p.applies_to.as_deref().unwrap_or("all")),
            esc(&version),
            p.approved_on.map(|d| d.0.to_string()).unwrap_or_default(),
            st.and_then(|x| x.next_review).map(|d| d.to_string()).unwrap_or_default(),
            esc(st.map(|x| x.status).unwrap_or(""))
        ));
    }
    b.push_str("</table>");
    ok("Policies", &s, "/policies", b)
}

/// Markdown to HTML with raw HTML shown as text.
fn markdown(body: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, html};
    let parser = Parser::new_ext(body, Options::ENABLE_TABLES).map(|e| match e {
        Event::Html(t) | Event::InlineHtml(t) => Event::Text(t),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    out
}

pub async fn policy(State(state): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Page {
    let s = state.require(&headers).await?;
    let snap = state.snapshot().await?;
    let p = snap
        .project
        .policy(&id)
        .ok_or_else(|| AppError::NotFound(format!("There is no policy `{id}`.")))?;
    let role = state.authorize(&s, &snap, Action::ReadPolicies, &[])?;
    let f = assure_docs::facts(&snap.project, p, snap.as_of, Vec::new());
    let mut b = format!(
        "<h1>{}</h1><div class=\"card\"><table><tr><th>Version</th><td>{}</td><th>Status</th><td>{}</td></tr><tr><th>Owner</th><td>{}</td><th>Approved by</th><td>{}</td></tr><tr><th>Approved on</th><td>{}</td><th>Next review</th><td>{}</td></tr></table>",
        esc(&f.title),
        esc(&f.version),
        esc(&f.status),
        esc(&f.owner),
        esc(&f.approved_by),
        f.approved_on.map(|d| d.to_string()).unwrap_or_default(),
        f.next_review.map(|d| d.to_string()).unwrap_or_default()
    );
    match accepted(&snap, &s.user.email, p.id.as_str(), &f.version) {
        Some(at) => b.push_str(&format!("<p><span class=\"pill ok\">You accepted version {} on {}</span></p>", esc(&f.version), esc(at.get(..10).unwrap_or(&at)))),
        None if crate::authz::role_allows(role, Action::AcceptPolicy) => b.push_str(&format!(
            "<form method=\"post\" action=\"/policies/{}/accept\">{}<p>By accepting you confirm you have read version {} and will follow it. Your acceptance is recorded as evidence in the signed ledger.</p><button type=\"submit\">I accept this policy</button></form>",
            esc(p.id.as_str()),
            csrf_field(s.csrf()),
            esc(&f.version)
        )),
        None => {}
    }
    b.push_str("</div>");
    if !f.enforcement.is_empty() {
        b.push_str(
            "<h2>How each statement is enforced</h2><table><tr><th>Statement</th><th>Controls</th><th>Tests</th></tr>",
        );
        for e in &f.enforcement {
            b.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&e.statement),
                if e.controls.is_empty() {
                    "<span class=\"pill bad\">none named</span>".to_string()
                } else {
                    e.controls
                        .iter()
                        .map(|c| format!("<a href=\"/controls/{0}\">{0}</a>", esc(c)))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                esc(&e.tests.join(", "))
            ));
        }
        b.push_str("</table>");
    }
    b.push_str(&format!(
        "<h2>Text</h2><div class=\"prose\">{}</div>",
        markdown(&p.body)
    ));
    ok(&f.title, &s, "/policies", b)
}

pub async fn accept(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Page {
    let s = state.require(&headers).await?;
    state.check_csrf(&s, &f.csrf)?;
    let snap = state.snapshot().await?;
    let p = snap
        .project
        .policy(&id)
        .ok_or_else(|| AppError::NotFound(format!("There is no policy `{id}`.")))?;
    state.authorize(&s, &snap, Action::AcceptPolicy, &[])?;
    let version = p
        .version
        .clone()
        .ok_or_else(|| AppError::BadRequest("This policy has no version, so there is nothing to accept yet.".into()))?;
    let backend = state.backend.clone();
    let (email, pid, v) = (s.user.email.clone(), p.id.to_string(), version.clone());
    let entry = blocking(move || backend.accept_policy(&email, &pid, &v)).await??;
    state.invalidate().await;
    state
        .audit(
            Some(&s.user),
            "accepted a policy",
            &format!("policy:{}", p.id.as_str()),
            &format!("version {version}, ledger entry {}", entry.seq),
        )
        .await?;
    see_other(&format!("/policies/{}", p.id.as_str()))
}

// ---------------------------------------------------------------- audit, users, tokens

pub async fn audit(State(state): State<Shared>, headers: HeaderMap) -> Page {
    let s = state.require(&headers).await?;
    let snap = state.snapshot().await?;
    state.authorize(&s, &snap, Action::ReadAudit, &[])?;
    let mut b = String::from(
        "<h1>Audit log</h1><p class=\"muted\">Every change made through Assure's web application, newest first. Evidence itself is in the signed ledger.</p><table><tr><th>When</th><th>Who</th><th>What</th><th>Subject</th><th>Detail</th><th>Request</th></tr>",
    );
    for l in state.db.audit_log(None, 500).await? {
        b.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"muted\">{}</td></tr>",
            when(l.at),
            esc(l.who.as_deref().unwrap_or("")),
            esc(&l.action),
            esc(&l.subject),
            esc(&l.detail),
            esc(&l.request_id)
        ));
    }
    b.push_str("</table>");
    ok("Audit log", &s, "/audit", b)
}

#[derive(Debug, Default, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    password: String,
}

async fn users_page(
    state: &Shared,
    s: &Session,
    f: &UserForm,
    errors: &BTreeMap<&str, String>,
    status: StatusCode,
) -> Page {
    let snap = state.snapshot().await?;
    state.authorize(s, &snap, Action::ManageUsers, &[])?;
    let mut b = String::from(
        "<h1>Users</h1><table><tr><th>Name</th><th>Email</th><th>Role</th><th>Person in the project</th></tr>",
    );
    for u in state.db.users().await? {
        b.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&u.name),
            esc(&u.email),
            Role::parse(&u.role).map(|r| r.label()).unwrap_or("?"),
            esc(u.person.as_deref().unwrap_or(""))
        ));
    }
    b.push_str("</table>");
    let e = |k: &str| {
        errors
            .get(k)
            .map(|m| format!("<p class=\"error\">{}</p>", esc(m)))
            .unwrap_or_default()
    };
    let roles: String = Role::ALL
        .iter()
        .map(|r| {
            format!(
                "<option value=\"{}\"{}>{}</option>",
                r.as_str(),
                if r.as_str() == f.role { " selected" } else { "" },
                r.label()
            )
        })
        .collect();
    let people: String = std::iter::once("<option value=\"\">Not a person in the project</option>".to_string())
        .chain(snap.project.people.iter().map(|p| {
            format!(
                "<option value=\"{}\"{}>{} ({})</option>",
                esc(p.id.as_str()),
                if p.id.as_str() == f.person { " selected" } else { "" },
                esc(&p.name),
                esc(&p.email)
            )
        }))
        .collect();
    b.push_str(&format!(
        "<div class=\"card\"><h2>Add a user</h2><form method=\"post\" action=\"/users\">{}<label for=\"name\">Name</label><input id=\"name\" name=\"name\" value=\"{}\" required>{}<label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" value=\"{}\" required>{}<label for=\"role\">Role</label><select id=\"role\" name=\"role\">{roles}</select>{}<label for=\"person\">Person (control owners see the controls this person owns)</label><select id=\"person\" name=\"person\">{people}</select>{}<label for=\"password\">Initial password (at least 12 characters)</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required>{}<button type=\"submit\">Add</button></form></div>",
        csrf_field(s.csrf()),
        esc(&f.name),
        e("name"),
        esc(&f.email),
        e("email"),
        e("role"),
        e("person"),
        e("password")
    ));
    Ok((status, Html(page("Users", Some((&s.user, s.csrf())), "/users", &b))).into_response())
}

pub async fn users(State(state): State<Shared>, headers: HeaderMap) -> Page {
    let s = state.require(&headers).await?;
    users_page(&state, &s, &UserForm::default(), &BTreeMap::new(), StatusCode::OK).await
}

pub async fn add_user(State(state): State<Shared>, headers: HeaderMap, Form(f): Form<UserForm>) -> Page {
    let s = state.require(&headers).await?;
    state.check_csrf(&s, &f.csrf)?;
    let snap = state.snapshot().await?;
    state.authorize(&s, &snap, Action::ManageUsers, &[])?;
    let mut errors = BTreeMap::new();
    if f.name.trim().is_empty() {
        errors.insert("name", "Enter a name.".to_string());
    }
    if !f.email.contains('@') {
        errors.insert("email", "Enter an email address.".to_string());
    }
    let role = Role::parse(&f.role);
    if role.is_none() {
        errors.insert("role", "Choose a role.".to_string());
    }
    if role == Some(Role::ControlOwner) && f.person.is_empty() {
        errors.insert(
            "person",
            "A control owner must be linked to a person in the project, or they would see no controls.".to_string(),
        );
    }
    if !f.person.is_empty() && snap.project.person(&f.person).is_none() {
        errors.insert("person", format!("There is no person `{}` in people.toml.", f.person));
    }
    if f.password.chars().count() < 12 {
        errors.insert("password", "Use at least 12 characters.".to_string());
    }
    if let (true, Some(role)) = (errors.is_empty(), role) {
        match crate::create_user(&state.db, &f.email, &f.name, role, Some(&f.person), &f.password).await {
            Ok(u) => {
                state
                    .audit(
                        Some(&s.user),
                        "added a user",
                        &format!("user:{}", u.email),
                        role.as_str(),
                    )
                    .await?;
                return see_other("/users");
            }
            Err(AppError::BadRequest(m)) => {
                errors.insert("email", m);
            }
            Err(e) => return Err(e),
        }
    }
    users_page(&state, &s, &f, &errors, StatusCode::BAD_REQUEST).await
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

async fn tokens_page(state: &Shared, s: &Session, created: Option<&str>, error: Option<&str>) -> Page {
    let snap = state.snapshot().await?;
    state.authorize(s, &snap, Action::ManageOwnTokens, &[])?;
    let mut b = String::from(
        "<h1>API tokens</h1><p class=\"muted\">Send a token as <code>Authorization: Bearer TOKEN</code> to the JSON API (description at <a href=\"/api/openapi.json\">/api/openapi.json</a>). A token acts with your role.</p>",
    );
    if let Some(t) = created {
        b.push_str(&format!(
            "<div class=\"card\"><p>Your new token, shown once. Copy it now:</p><pre id=\"token\">{}</pre></div>",
            esc(t)
        ));
    }
    b.push_str("<table><tr><th>Name</th><th>Created</th><th>Last used</th></tr>");
    for (_, name, created, used) in state.db.tokens(&s.user.id).await? {
        b.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&name),
            when(created),
            if used > 0 { when(used) } else { "never".into() }
        ));
    }
    b.push_str("</table>");
    b.push_str(&format!(
        "<div class=\"card\"><form method=\"post\" action=\"/tokens\">{}<label for=\"tname\">Name</label><input id=\"tname\" name=\"name\" required maxlength=\"100\" placeholder=\"CI upload\">{}<button type=\"submit\">Create a token</button></form></div>",
        csrf_field(s.csrf()),
        error.map(|e| format!("<p class=\"error\">{}</p>", esc(e))).unwrap_or_default()
    ));
    ok("API tokens", s, "/tokens", b)
}

pub async fn tokens(State(state): State<Shared>, headers: HeaderMap) -> Page {
    let s = state.require(&headers).await?;
    tokens_page(&state, &s, None, None).await
}

pub async fn add_token(State(state): State<Shared>, headers: HeaderMap, Form(f): Form<TokenForm>) -> Page {
    let s = state.require(&headers).await?;
    state.check_csrf(&s, &f.csrf)?;
    let snap = state.snapshot().await?;
    state.authorize(&s, &snap, Action::ManageOwnTokens, &[])?;
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return tokens_page(
            &state,
            &s,
            None,
            Some("Give the token a name of at most 100 characters."),
        )
        .await;
    }
    let token = crate::create_token(&state, &s.user, name).await?;
    state
        .audit(
            Some(&s.user),
            "created an API token",
            &format!("user:{}", s.user.email),
            name,
        )
        .await?;
    tokens_page(&state, &s, Some(&token), None).await
}
