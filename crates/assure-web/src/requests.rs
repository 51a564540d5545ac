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
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Raised, waiting for evidence.
    Open,
    /// The person it is assigned to is working on it.
    InProgress,
    /// The owner says the evidence is in.
    Submitted,
    /// The auditor accepted what was provided; the request is closed.
    Accepted,
    /// The auditor sent it back, with a reason; the owner works on it again.
    Rejected,
}

impl RequestStatus {
    /// Every status, in workflow order.
    pub const ALL: [RequestStatus; 5] = [
        RequestStatus::Open,
        RequestStatus::InProgress,
        RequestStatus::Submitted,
        RequestStatus::Accepted,
        RequestStatus::Rejected,
    ];

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Open => "open",
            RequestStatus::InProgress => "in_progress",
            RequestStatus::Submitted => "submitted",
            RequestStatus::Accepted => "accepted",
            RequestStatus::Rejected => "rejected",
        }
    }

    /// The words a reader sees.
    pub fn label(self) -> &'static str {
        match self {
            RequestStatus::InProgress => "in progress",
            other => other.as_str(),
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

    /// The statuses a role may set: a control owner answers (in progress, submitted); the auditor
    /// and the program's managers decide (accept, reject, reopen), and managers may also answer.
    pub fn settable_by(role: Role) -> &'static [RequestStatus] {
        match role {
            Role::ControlOwner => &[RequestStatus::InProgress, RequestStatus::Submitted],
            Role::Auditor => &[RequestStatus::Open, RequestStatus::Accepted, RequestStatus::Rejected],
            Role::Admin | Role::ComplianceManager => &RequestStatus::ALL,
            Role::Viewer => &[],
        }
    }

    /// Whether a request may go from `self` to `to`: what is accepted or rejected must have been
    /// submitted; what is answered must not be accepted already (reopen it first).
    pub fn may_become(self, to: RequestStatus) -> Result<(), String> {
        use RequestStatus::*;
        let ok = self == to
            || match to {
                Open => true,
                InProgress | Submitted => matches!(self, Open | InProgress | Rejected),
                Accepted | Rejected => self == Submitted,
            };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "a request that is {} cannot become {}{}",
                self.label(),
                to.label(),
                match to {
                    Accepted | Rejected => ": only what was submitted is accepted or rejected",
                    _ => ": reopen it first",
                }
            ))
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
            reason: None,
            reference: None,
            criterion: None,
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

/// A change to a request: its status (with a reason when it is rejected), and (for those who may)
/// its assignee and due date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The status asked for, as sent.
    pub status: String,
    /// Why it is rejected (required for a rejection, ignored otherwise).
    pub reason: String,
    /// The assignee (ignored for control owners, who cannot reassign).
    pub assignee: String,
    /// Due date, YYYY-MM-DD, or empty.
    pub due: String,
}

/// Applies a change by `role` to `r`, after checking the workflow; records it in the audit log.
pub async fn change(state: &Shared, s: &Session, role: Role, r: &Request, c: &Change) -> Result<(), AppError> {
    let allowed = RequestStatus::settable_by(role);
    let status = RequestStatus::parse(&c.status)
        .filter(|st| allowed.contains(st) || *st == r.status)
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "`{}` is not a status you can set; choose one of: {}.",
                c.status,
                allowed.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
            ))
        })?;
    r.status
        .may_become(status)
        .map_err(|m| AppError::Conflict(format!("{}.", capitalise(&m))))?;
    let reason = c.reason.trim();
    if status == RequestStatus::Rejected && status != r.status && reason.is_empty() {
        return Err(AppError::Conflict(
            "Say why the request is rejected: the person it is assigned to needs to know what to provide instead."
                .into(),
        ));
    }
    if reason.chars().count() > MAX_DETAIL || reason.contains('\0') {
        return Err(AppError::BadRequest(
            "Keep the reason under 20,000 characters, without NUL characters.".into(),
        ));
    }
    if !c.due.trim().is_empty() && chrono::NaiveDate::parse_from_str(c.due.trim(), "%Y-%m-%d").is_err() {
        return Err(AppError::BadRequest("Write the due date as YYYY-MM-DD.".into()));
    }
    let assignee = if role == Role::ControlOwner {
        r.assignee.clone()
    } else {
        Some(c.assignee.clone()).filter(|a| !a.is_empty())
    };
    let due = Some(c.due.trim().to_string()).filter(|d| !d.is_empty());
    let reason = match status {
        RequestStatus::Rejected if status != r.status => Some(reason.to_string()),
        RequestStatus::Rejected => r.reason.clone(),
        _ => None,
    };
    state
        .db
        .update_request(
            &r.id,
            status,
            reason.as_deref(),
            assignee.as_deref(),
            due.as_deref(),
            now_micros(),
        )
        .await?;
    state
        .audit(
            Some(&s.user),
            "updated a request",
            &format!("request:{}", r.id),
            &format!(
                "status {} → {status}, due {}{}",
                r.status,
                due.as_deref().unwrap_or("none"),
                reason.as_deref().map(|x| format!(", reason: {x}")).unwrap_or_default()
            ),
        )
        .await?;
    Ok(())
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Whether `role` (as `user`) may answer `r`: attach files to it and link evidence to it. Its
/// assignee may, whatever controls they own; so may administrators and compliance managers. An
/// auditor never writes evidence, and a viewer writes nothing.
pub fn may_answer(role: Role, user: &crate::db::User, r: &Request) -> bool {
    match role {
        Role::Admin | Role::ComplianceManager => true,
        Role::ControlOwner => r.assignee.as_deref() == Some(user.id.as_str()),
        Role::Auditor | Role::Viewer => false,
    }
}

/// Links ledger entry `seq` to a request as (part of) its answer, after checking that the entry
/// exists, records evidence and is one `role` may link; records it in the audit log.
pub async fn link(
    state: &Shared,
    s: &Session,
    role: Role,
    snap: &Snapshot,
    r: &Request,
    seq: u64,
) -> Result<bool, AppError> {
    let e = snap
        .ledger
        .iter()
        .find(|e| e.seq == seq)
        .ok_or_else(|| AppError::NotFound(format!("There is no ledger entry {seq}.")))?;
    // An owner links evidence they may see, or evidence of the request's own control.
    if !crate::authz::may_see_entry(role, &s.user, snap, e)
        && !r.control.as_ref().is_some_and(|c| e.draft.controls.contains(c))
    {
        return Err(AppError::Forbidden(format!(
            "ledger entry {seq} is not evidence you can see"
        )));
    }
    link_entry(state, s, r, e).await
}

/// Links a ledger entry (evidence) to a request; records it in the audit log.
pub async fn link_entry(state: &Shared, s: &Session, r: &Request, e: &assure_ledger::Entry) -> Result<bool, AppError> {
    let seq = e.seq;
    if !e.draft.action.is_evidence() {
        return Err(AppError::NotFound(format!(
            "Ledger entry {seq} records a {}, not evidence; link the file that answers the request.",
            e.draft.action
        )));
    }
    let seq_i = i64::try_from(seq).map_err(|_| AppError::NotFound(format!("There is no ledger entry {seq}.")))?;
    let added = state.db.link_evidence(&r.id, seq_i, &s.user.id, now_micros()).await?;
    if added {
        state
            .audit(
                Some(&s.user),
                "linked evidence to a request",
                &format!("request:{}", r.id),
                &format!(
                    "ledger entry {seq} ({}) to PBC-{}",
                    e.draft.blob.as_ref().map(|b| b.name.as_str()).unwrap_or(""),
                    r.number
                ),
            )
            .await?;
    }
    Ok(added)
}

/// One row of an auditor's request list, as read from their spreadsheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRequest {
    /// The row in the file (1 = the header).
    pub row: usize,
    /// The auditor's identifier.
    pub reference: String,
    /// What is requested.
    pub description: String,
    /// The control it concerns, if it names one.
    pub control: Option<String>,
    /// The criterion it concerns, if it names one instead.
    pub criterion: Option<String>,
    /// Due date.
    pub due: Option<String>,
}

/// Reads an auditor's request list (CSV, or the first sheet of an XLSX workbook) with the columns
/// request id, description, control or criterion, and due date (recognised by their headers, in
/// any order). Every problem is reported with its row and column; nothing is imported when there
/// is one.
pub fn read_list(snap: &Snapshot, file_name: &str, bytes: &[u8]) -> Result<Vec<ListedRequest>, Vec<String>> {
    let rows = read_rows(file_name, bytes).map_err(|e| vec![e])?;
    let Some((header, body)) = rows.split_first() else {
        return Err(vec![format!(
            "{file_name} is empty: it needs a header row and one row per request."
        )]);
    };
    let norm = |h: &str| h.trim().to_lowercase().replace(['_', '-'], " ");
    let find = |names: &[&str]| header.iter().position(|h| names.contains(&norm(h).as_str()));
    let id_col = find(&[
        "request id",
        "request",
        "id",
        "ref",
        "reference",
        "request no",
        "request number",
        "pbc",
        "pbc id",
    ]);
    let desc_col = find(&[
        "description",
        "request description",
        "what is requested",
        "item",
        "requested item",
        "details",
    ]);
    let target_col = find(&[
        "control or criterion",
        "control",
        "criterion",
        "control id",
        "criteria",
        "tsc",
    ]);
    let due_col = find(&["due date", "due", "date due", "due on"]);
    let mut problems = Vec::new();
    for (col, what) in [(id_col, "request id"), (desc_col, "description")] {
        if col.is_none() {
            problems.push(format!(
                "{file_name}, row 1: no `{what}` column (the header row has: {}). Name the columns request id, description, control or criterion, due date.",
                header.join(", ")
            ));
        }
    }
    let (Some(id_col), Some(desc_col)) = (id_col, desc_col) else {
        return Err(problems);
    };
    let column_name = |i: usize| header.get(i).cloned().unwrap_or_default();
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeMap::new();
    for (i, r) in body.iter().enumerate() {
        let row = i + 2;
        let cell = |c: Option<usize>| {
            c.and_then(|c| r.get(c))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        if r.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        let reference = cell(Some(id_col));
        let description = cell(Some(desc_col));
        if reference.is_empty() {
            problems.push(format!(
                "{file_name}, row {row}, column `{}`: the request id is empty.",
                column_name(id_col)
            ));
            continue;
        }
        if let Some(first) = seen.insert(reference.clone(), row) {
            problems.push(format!(
                "{file_name}, row {row}, column `{}`: request id `{reference}` is also on row {first}; each request needs its own id.",
                column_name(id_col)
            ));
        }
        if description.is_empty() {
            problems.push(format!(
                "{file_name}, row {row}, column `{}`: request `{reference}` says nothing about what is requested.",
                column_name(desc_col)
            ));
        }
        if description.chars().count() > MAX_DETAIL {
            problems.push(format!(
                "{file_name}, row {row}: the description is longer than 20,000 characters."
            ));
        }
        let target = cell(target_col);
        let (mut control, mut criterion) = (None, None);
        if !target.is_empty() {
            if snap.project.control(&target).is_some() {
                control = Some(target.clone());
            } else if assure_catalog::criterion(&target.to_uppercase()).is_some() {
                criterion = Some(target.to_uppercase());
            } else {
                problems.push(format!(
                    "{file_name}, row {row}, column `{}`: `{target}` is neither a control of the project nor a criterion; write a control id (as in controls/) or a criterion such as CC6.1.",
                    column_name(target_col.unwrap_or(0))
                ));
            }
        }
        let due_text = cell(due_col);
        let due = if due_text.is_empty() {
            None
        } else {
            match parse_due(&due_text) {
                Some(d) => Some(d.to_string()),
                None => {
                    problems.push(format!(
                        "{file_name}, row {row}, column `{}`: `{due_text}` is not a date; write it as YYYY-MM-DD.",
                        column_name(due_col.unwrap_or(0))
                    ));
                    None
                }
            }
        };
        out.push(ListedRequest {
            row,
            reference,
            description,
            control,
            criterion,
            due,
        });
    }
    if out.is_empty() && problems.is_empty() {
        problems.push(format!("{file_name} lists no request below its header row."));
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

/// A due date as spreadsheets hold it: `2027-01-31`, `2027-01-31T00:00:00`, `01/31/2027`, or an
/// Excel serial day number.
fn parse_due(t: &str) -> Option<chrono::NaiveDate> {
    let day = t.get(..10).unwrap_or(t);
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(t, "%m/%d/%Y"))
        .ok()
        .or_else(|| {
            let serial: f64 = t.parse().ok()?;
            if !(1.0..100_000.0).contains(&serial) {
                return None;
            }
            // Excel's day 1 is 1900-01-01, counting the 1900 leap day that never was.
            chrono::NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(chrono::Days::new(serial as u64))
        })
}

/// The rows of a CSV file, or of the first sheet of an XLSX workbook, as text.
fn read_rows(file_name: &str, bytes: &[u8]) -> Result<Vec<Vec<String>>, String> {
    if bytes.starts_with(b"PK") {
        let book = assure_questionnaire::xlsx::read(file_name, bytes)
            .map_err(|e| format!("{file_name} could not be read as a workbook: {e}"))?;
        let sheet = book
            .sheets
            .iter()
            .find(|s| !s.hidden)
            .ok_or_else(|| format!("{file_name} has no visible sheet."))?;
        let (Some(first), Some(last)) = (
            sheet.cells.keys().map(|(r, _)| *r).min(),
            sheet.cells.keys().map(|(r, _)| *r).max(),
        ) else {
            return Ok(Vec::new());
        };
        let cols = sheet.cells.keys().map(|(_, c)| *c).max().unwrap_or(0);
        Ok((first..=last)
            .map(|r| (0..=cols).map(|c| sheet.value(r, c).to_string()).collect())
            .collect())
    } else {
        let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
            .map_err(|_| format!("{file_name} is not UTF-8 text; save it as CSV (UTF-8) or XLSX."))?;
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        rdr.records()
            .enumerate()
            .map(|(i, r)| {
                r.map(|r| r.iter().map(str::to_string).collect())
                    .map_err(|e| format!("{file_name}, row {}: {e}", i + 1))
            })
            .collect()
    }
}

/// What an import of the auditor's list did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Imported {
    /// Requests created.
    pub created: usize,
    /// Requests already imported under the same id, updated.
    pub updated: usize,
}

/// Imports the auditor's list: a request per row, keyed by the auditor's id, so importing the list
/// again updates what it asks for and when, never duplicates it (status, assignee and answers
/// stay). Recorded in the audit log.
pub async fn import_list(state: &Shared, s: &Session, list: &[ListedRequest]) -> Result<Imported, AppError> {
    let mut done = Imported::default();
    for l in list {
        let now = now_micros();
        let title: String = l
            .description
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(MAX_TITLE)
            .collect();
        match state.db.request_by_reference(&l.reference).await? {
            Some(r) => {
                state
                    .db
                    .update_request_text(
                        &r.id,
                        &title,
                        l.control.as_deref(),
                        l.criterion.as_deref(),
                        l.due.as_deref(),
                        now,
                    )
                    .await?;
                done.updated += 1;
            }
            None => {
                state
                    .db
                    .create_request(&Request {
                        id: new_id()?,
                        number: 0,
                        title,
                        detail: l.description.clone(),
                        control: l.control.clone(),
                        status: RequestStatus::Open,
                        assignee: None,
                        due: l.due.clone(),
                        created_by: s.user.id.clone(),
                        created_at: now,
                        updated_at: now,
                        reason: None,
                        reference: Some(l.reference.clone()),
                        criterion: l.criterion.clone(),
                    })
                    .await?;
                done.created += 1;
            }
        }
    }
    state
        .audit(
            Some(&s.user),
            "imported the auditor's request list",
            "requests",
            &format!("{} created, {} updated", done.created, done.updated),
        )
        .await?;
    Ok(done)
}
