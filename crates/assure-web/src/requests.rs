//! The auditor's requests (PBC items) as a service between the handlers and the database: one input
//! type for the page form and the API, one validation, creation, and status changes through a typed
//! workflow that says which role may move a request where. Pages and the API both call this module;
//! neither calls the other.

use std::collections::BTreeMap;

use crate::authz::Role;
use crate::db::Request;
use crate::{AppError, Session, Shared, Snapshot, new_id, now_micros};

/// Where a request stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
    /// Raised, waiting for evidence.
    Open,
    /// The owner says the evidence is in.
    Submitted,
    /// The auditor accepted what was provided; the request is closed.
    Accepted,
    /// The auditor sent it back; the owner works on it again.
    Rejected,
}

impl RequestStatus {
    /// Every status, in workflow order.
    pub const ALL: [RequestStatus; 4] = [
        RequestStatus::Open,
        RequestStatus::Submitted,
        RequestStatus::Accepted,
        RequestStatus::Rejected,
    ];

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Open => "open",
            RequestStatus::Submitted => "submitted",
            RequestStatus::Accepted => "accepted",
            RequestStatus::Rejected => "rejected",
        }
    }

    /// Reads the stored word.
    pub fn parse(text: &str) -> Option<RequestStatus> {
        RequestStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the request still waits for something (everything but accepted).
    pub fn is_open(self) -> bool {
        self != RequestStatus::Accepted
    }

    /// The statuses a role may set: a control owner answers (open, submitted); the auditor and the
    /// program's managers decide (any status).
    pub fn settable_by(role: Role) -> &'static [RequestStatus] {
        match role {
            Role::ControlOwner => &[RequestStatus::Open, RequestStatus::Submitted],
            Role::Admin | Role::ComplianceManager | Role::Auditor => &RequestStatus::ALL,
            Role::Viewer => &[],
        }
    }
}

impl std::fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What someone asks for, from the page form or the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRequest {
    /// What is requested.
    pub title: String,
    /// Details.
    pub detail: String,
    /// The control it concerns (may be empty).
    pub control: String,
    /// The account it is assigned to (may be empty).
    pub assignee: String,
    /// Due date, YYYY-MM-DD (may be empty).
    pub due: String,
}

/// The longest title.
pub const MAX_TITLE: usize = 300;
/// The longest details.
pub const MAX_DETAIL: usize = 20_000;

/// Checks a new request; returns the problems by field (`title`, `detail`, `control`, `assignee`,
/// `due`). `users` are the accounts a request may be assigned to.
pub fn validate(snap: &Snapshot, users: &[crate::db::User], n: &NewRequest) -> BTreeMap<&'static str, String> {
    let mut errors = BTreeMap::new();
    for (field, value) in [
        ("title", &n.title),
        ("detail", &n.detail),
        ("control", &n.control),
        ("assignee", &n.assignee),
        ("due", &n.due),
    ] {
        if value.contains('\0') {
            errors.insert(field, "Remove the NUL character from this field.".to_string());
        }
    }
    if !n.assignee.is_empty() && !users.iter().any(|u| u.id == n.assignee) {
        errors.insert(
            "assignee",
            "There is no such account; choose one from the list.".to_string(),
        );
    }
    if n.title.trim().is_empty() {
        errors.insert("title", "Say what is requested.".to_string());
    } else if n.title.chars().count() > MAX_TITLE {
        errors.insert(
            "title",
            "Keep the title under 300 characters; put the rest in the details.".to_string(),
        );
    }
    if n.detail.chars().count() > MAX_DETAIL {
        errors.insert("detail", "Keep the details under 20,000 characters.".to_string());
    }
    if !n.control.trim().is_empty() && snap.project.control(n.control.trim()).is_none() {
        errors.insert("control", format!("There is no control `{}`.", n.control.trim()));
    }
    if !n.due.trim().is_empty() && chrono::NaiveDate::parse_from_str(n.due.trim(), "%Y-%m-%d").is_err() {
        errors.insert("due", "Write the date as YYYY-MM-DD.".to_string());
    }
    errors
}

/// Stores a validated request as open and records it in the audit log.
pub async fn create(state: &Shared, s: &Session, n: &NewRequest) -> Result<Request, AppError> {
    let now = now_micros();
    let r = state
        .db
        .create_request(&Request {
            id: new_id()?,
            number: 0,
            title: n.title.trim().to_string(),
            detail: n.detail.trim().to_string(),
            control: Some(n.control.trim().to_string()).filter(|c| !c.is_empty()),
            status: RequestStatus::Open,
            assignee: Some(n.assignee.clone()).filter(|a| !a.is_empty()),
            due: Some(n.due.trim().to_string()).filter(|d| !d.is_empty()),
            created_by: s.user.id.clone(),
            created_at: now,
            updated_at: now,
        })
        .await?;
    state
        .audit(
            Some(&s.user),
            "raised a request",
            &format!("request:{}", r.id),
            &format!("PBC-{}: {}", r.number, r.title),
        )
        .await?;
    Ok(r)
}

/// A change to a request: its status, and (for those who may) its assignee and due date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The status asked for, as sent.
    pub status: String,
    /// The assignee (ignored for control owners, who cannot reassign).
    pub assignee: String,
    /// Due date, YYYY-MM-DD, or empty.
    pub due: String,
}

/// Applies a change by `role` to `r`, after checking the workflow; records it in the audit log.
pub async fn change(state: &Shared, s: &Session, role: Role, r: &Request, c: &Change) -> Result<(), AppError> {
    let allowed = RequestStatus::settable_by(role);
    let status = RequestStatus::parse(&c.status)
        .filter(|st| allowed.contains(st))
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "`{}` is not a status you can set; choose one of: {}.",
                c.status,
                allowed.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
            ))
        })?;
    if !c.due.trim().is_empty() && chrono::NaiveDate::parse_from_str(c.due.trim(), "%Y-%m-%d").is_err() {
        return Err(AppError::BadRequest("Write the due date as YYYY-MM-DD.".into()));
    }
    let assignee = if role == Role::ControlOwner {
        r.assignee.clone()
    } else {
        Some(c.assignee.clone()).filter(|a| !a.is_empty())
    };
    let due = Some(c.due.trim().to_string()).filter(|d| !d.is_empty());
    state
        .db
        .update_request(&r.id, status, assignee.as_deref(), due.as_deref(), now_micros())
        .await?;
    state
        .audit(
            Some(&s.user),
            "updated a request",
            &format!("request:{}", r.id),
            &format!(
                "status {} → {status}, due {}",
                r.status,
                due.as_deref().unwrap_or("none")
            ),
        )
        .await?;
    Ok(())
}
