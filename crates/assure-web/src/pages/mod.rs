//! The server-rendered pages, one module per area. Each handler: who is signed in, may they do
//! this, read or change (through the services: [`crate::requests`], the workspace's backend),
//! render. Forms carry the session's CSRF token; changes are written to the audit log.
#![allow(missing_docs, reason = "handlers and forms are listed with their routes in lib.rs")]

mod admin;
mod auth;
mod controls;
mod dashboard;
mod evidence;
mod links;
mod policies;
mod questionnaires;
mod requests;
mod risks;
mod tests;
mod vendors;
mod work;

pub use admin::*;
pub use auth::*;
pub use controls::*;
pub use dashboard::*;
pub use evidence::*;
pub use links::{followable_links, may_follow, unlink};
pub use policies::*;
pub use questionnaires::*;
pub use requests::*;
pub use risks::*;
pub use tests::*;
pub use vendors::*;
pub use work::*;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use assure_assess::results::Conclusion;
use axum::Form;
use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::authz::{Action, Role};
use crate::db::Request as PbcRequest;
use crate::html::{csrf_field, esc, page, score_pill, when};
use crate::requests::{NewRequest, RequestStatus};
use crate::{AppError, Session, Shared, Snapshot, Upload, UploadKind, new_id, now_micros};
use assure_schema::results::ItemStatus;

type Page = Result<Response, AppError>;

fn ok(title: &str, s: &Session, active: &str, body: String) -> Page {
    Ok(Html(page(title, Some((&s.user, s.csrf())), active, &body)).into_response())
}

/// Reads a multipart form: its text fields, and its one file (`file`) when it has a name and is not
/// empty, refusing anything over the upload limit.
async fn form_and_file(
    state: &Shared,
    mp: &mut Multipart,
) -> Result<(BTreeMap<String, String>, Option<(String, Vec<u8>)>), AppError> {
    let limit = state.settings.max_upload;
    let too_large = || {
        AppError::TooLarge(format!(
            "The file is larger than the {} MiB upload limit, so nothing was stored. Import large exports with `assure evidence import` instead.",
            limit / (1024 * 1024)
        ))
    };
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            AppError::BadRequest(format!("The upload could not be read: {}.", e.body_text()))
        }
    };
    let (mut fields, mut file) = (BTreeMap::new(), None);
    while let Some(field) = mp.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let bytes = field.bytes().await.map_err(unreadable)?;
        if name == "file" {
            file = Some((file_name.unwrap_or_default(), bytes.to_vec()));
        } else {
            fields.insert(name, String::from_utf8_lossy(&bytes).to_string());
        }
    }
    if file.as_ref().is_some_and(|(_, b)| b.len() > limit) {
        return Err(too_large());
    }
    Ok((fields, file.filter(|(n, b)| !n.is_empty() && !b.is_empty())))
}

fn see_other(to: &str) -> Page {
    Ok(Redirect::to(to).into_response())
}

/// A change done, as the page it leads to confirms it: the redirect carries `done=KEY` (and, for
/// uploads, `entries=N,M`), and [`confirmations`] puts the sentence at the top of that page. Only
/// these fixed sentences can appear, so a crafted link cannot put words on a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Uploaded,
    Commented,
    Sampled,
    WorkpaperSaved,
    PolicyAccepted,
    PolicyApproved,
    QuestionnaireAdded,
    AnswerSaved,
    AnswersApproved,
    RequestRaised,
    RequestUpdated,
    EvidenceAttached,
    EvidenceLinked,
    UserAdded,
    RoleChanged,
    Disabled,
    Enabled,
    Removed,
    TokenRevoked,
    PasswordSet,
}

impl Done {
    const ALL: [Done; 20] = [
        Done::Uploaded,
        Done::Commented,
        Done::Sampled,
        Done::WorkpaperSaved,
        Done::PolicyAccepted,
        Done::PolicyApproved,
        Done::QuestionnaireAdded,
        Done::AnswerSaved,
        Done::AnswersApproved,
        Done::RequestRaised,
        Done::RequestUpdated,
        Done::EvidenceAttached,
        Done::EvidenceLinked,
        Done::UserAdded,
        Done::RoleChanged,
        Done::Disabled,
        Done::Enabled,
        Done::Removed,
        Done::TokenRevoked,
        Done::PasswordSet,
    ];

    fn key(self) -> &'static str {
        match self {
            Done::Uploaded => "uploaded",
            Done::Commented => "commented",
            Done::Sampled => "sampled",
            Done::WorkpaperSaved => "workpaper",
            Done::PolicyAccepted => "accepted",
            Done::PolicyApproved => "approved",
            Done::QuestionnaireAdded => "questionnaire",
            Done::AnswerSaved => "answer",
            Done::AnswersApproved => "answers-approved",
            Done::RequestRaised => "raised",
            Done::RequestUpdated => "request",
            Done::EvidenceAttached => "attached",
            Done::EvidenceLinked => "linked",
            Done::UserAdded => "user-added",
            Done::RoleChanged => "role",
            Done::Disabled => "disabled",
            Done::Enabled => "enabled",
            Done::Removed => "removed",
            Done::TokenRevoked => "revoked",
            Done::PasswordSet => "password",
        }
    }

    fn parse(key: &str) -> Option<Done> {
        Done::ALL.into_iter().find(|d| d.key() == key)
    }

    /// The sentence the page shows.
    fn message(self) -> &'static str {
        match self {
            Done::Uploaded => "Recorded in the signed ledger",
            Done::Commented => "Your comment is saved.",
            Done::Sampled => "The sample is drawn and recorded in the ledger with its seed and population.",
            Done::WorkpaperSaved => "Saved to the workpaper.",
            Done::PolicyAccepted => "Your acceptance is recorded in the ledger.",
            Done::PolicyApproved => "Your approval of this text is recorded in the ledger.",
            Done::QuestionnaireAdded => "The questionnaire is read and draft answers are ready for review.",
            Done::AnswerSaved => "The answer is saved.",
            Done::AnswersApproved => "The answers are approved.",
            Done::RequestRaised => "The request is raised.",
            Done::RequestUpdated => "The request is updated.",
            Done::EvidenceAttached => "The file is recorded in the ledger and attached to this request.",
            Done::EvidenceLinked => "The ledger entry is linked to this request.",
            Done::UserAdded => "The account is added. Give them their initial password yourself.",
            Done::RoleChanged => "The role is changed; it applies from their next page.",
            Done::Disabled => "The account is disabled: its sessions ended and its tokens stopped working.",
            Done::Enabled => "The account is enabled again.",
            Done::Removed => "The account is removed. Its history stays in the audit log.",
            Done::TokenRevoked => "The token is revoked and stops working now.",
            Done::PasswordSet => "Your new password is set. Sign in with it.",
        }
    }
}

/// The largest page the middlewares that rewrite pages ([`confirmations`], [`followable_links`])
/// read; a larger body (none is near it: long lists are paged) is answered with a 500.
const MAX_PAGE: usize = 64 * 1024 * 1024;

/// Redirects to `to`, which then confirms `done`.
fn see_done(to: &str, done: Done) -> Page {
    let (path, fragment) = to.split_once('#').map_or((to, ""), |(p, f)| (p, f));
    let sep = if path.contains('?') { '&' } else { '?' };
    let hash = if fragment.is_empty() {
        String::new()
    } else {
        format!("#{fragment}")
    };
    see_other(&format!("{path}{sep}done={}{hash}", done.key()))
}

/// The sentence a request's `done` (and `entries`) query asks a page to confirm, if any.
pub fn confirmation(query: &str) -> Option<String> {
    let mut done = None;
    let mut entries = String::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("done", k)) => done = Done::parse(k),
            Some(("entries", v)) if !v.is_empty() && v.len() <= 200 => {
                let seqs: Vec<&str> = v.split(',').collect();
                if seqs
                    .iter()
                    .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
                {
                    entries = seqs.join(", ");
                }
            }
            _ => {}
        }
    }
    let done = done?;
    Some(match done {
        Done::Uploaded if !entries.is_empty() => format!(
            "{} as entry {entries}, as evidence for this control. Run the tests to see what it changes.",
            done.message()
        ),
        Done::Uploaded => format!("{}.", done.message()),
        _ => done.message().to_string(),
    })
}

/// Puts a change's confirmation at the top of the page a change redirected to (HTML pages only).
pub async fn confirmations(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let sentence = (req.method() == axum::http::Method::GET)
        .then(|| req.uri().query().and_then(confirmation))
        .flatten();
    let resp = next.run(req).await;
    let Some(sentence) = sentence else { return resp };
    let html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !html || resp.status() != StatusCode::OK {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PAGE).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let text = String::from_utf8_lossy(&bytes);
    const MAIN: &str = "<main id=\"main\" tabindex=\"-1\">";
    let out = text.replacen(
        MAIN,
        &format!("{MAIN}<div class=\"flash ok\" role=\"status\">{}</div>", esc(&sentence)),
        1,
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(out))
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
    if body.is_empty() || body.chars().count() > 5000 || body.contains('\0') {
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
        .filter(|c| role_of(s).is_some_and(|r| crate::authz::may_see_control(r, &s.user, snap, c.id.as_str())))
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

// ---------------------------------------------------------------- shared forms and fragments

/// A form that carries only the CSRF token (sign-out, verify, accept).
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// A comment on a control or a request.
#[derive(Debug, Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
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

/// A workbook as a download named `name` (which must be plain: letters, digits, `-`, `_`, `.`).
fn xlsx_download(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        bytes,
    )
        .into_response()
}
