//! The auditor's requests (PBC): the list, raising, one request, status changes and comments.

use super::*;

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
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// `overdue` shows only overdue requests; `open` only those still waiting.
    #[serde(default)]
    view: String,
    /// The column the list is sorted by (see [`SORTS`]); empty keeps the view's order.
    #[serde(default)]
    sort: String,
    /// `desc` sorts the column from the largest, latest or last.
    #[serde(default)]
    dir: String,
}

/// The request list's columns: its sort key and heading.
const SORTS: [(&str, &str); 8] = [
    ("number", "Request"),
    ("reference", "Auditor's id"),
    ("what", "What"),
    ("control", "Control or criterion"),
    ("assignee", "Assignee"),
    ("due", "Due"),
    ("age", "Age (days)"),
    ("status", "Status"),
];

#[derive(Debug, Default, Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    seq: String,
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
    fn to_change(&self) -> crate::requests::Change {
        crate::requests::Change {
            status: self.status.clone(),
            reason: self.reason.clone(),
            assignee: self.assignee.clone(),
            due: self.due.clone(),
        }
    }
}

pub(super) async fn requests_page(
    state: &Shared,
    s: &Session,
    form: &RequestForm,
    errors: &BTreeMap<&str, String>,
    status: StatusCode,
    query: &ListQuery,
    notice: Option<String>,
) -> Page {
    let view = query.view.as_str();
    let (snap, role) = state.authorized(s, Action::ReadRequests, &[]).await?;
    let users = state.db.users().await?;
    let name_of = |id: &Option<String>| {
        id.as_ref()
            .and_then(|i| users.iter().find(|u| &u.id == i))
            .map(|u| u.name.clone())
            .unwrap_or_default()
    };
    let mut b = String::from("<h1>Requests</h1>");
    if let Some(n) = notice {
        b.push_str(&format!("<div class=\"flash ok\" role=\"status\">{}</div>", esc(&n)));
    }
    let all: Vec<PbcRequest> = state
        .db
        .requests()
        .await?
        .into_iter()
        .filter(|r| crate::authz::may_see_request(role, &s.user, r))
        .collect();
    let today = snap.as_of;
    let age = |r: &PbcRequest| {
        chrono::DateTime::from_timestamp_micros(r.created_at)
            .map(|t| (today - t.date_naive()).num_days().max(0))
            .unwrap_or(0)
    };
    let overdue = |r: &PbcRequest| {
        r.status.is_open()
            && r.due
                .as_deref()
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .is_some_and(|d| d < today)
    };
    // Ageing: what is still waiting, by how long it has waited, and by assignee.
    let waiting: Vec<&PbcRequest> = all.iter().filter(|r| r.status.is_open()).collect();
    let buckets = [
        (0, 7, "under a week"),
        (7, 30, "1 to 4 weeks"),
        (30, 60, "30 to 59 days"),
        (60, i64::MAX, "60 days or more"),
    ];
    b.push_str("<div class=\"grid\">");
    for (lo, hi, label) in buckets {
        let n = waiting.iter().filter(|r| (lo..hi).contains(&age(r))).count();
        b.push_str(&format!(
            "<div class=\"card\"><div class=\"big\">{n}</div><div class=\"muted\">waiting {label}</div></div>"
        ));
    }
    let late = waiting.iter().filter(|r| overdue(r)).count();
    b.push_str(&format!(
        "<div class=\"card\"><div class=\"big\">{late}</div><div class=\"muted\"><a href=\"/requests?view=overdue\">overdue</a> as of {today}</div></div></div>"
    ));
    let mut by_assignee: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in &waiting {
        let e = by_assignee.entry(name_of(&r.assignee)).or_default();
        e.0 += 1;
        if overdue(r) {
            e.1 += 1;
        }
    }
    if !by_assignee.is_empty() {
        b.push_str("<h2>Waiting, by assignee</h2><table><tr><th>Assignee</th><th>Waiting</th><th>Overdue</th></tr>");
        for (who, (n, o)) in &by_assignee {
            b.push_str(&format!(
                "<tr><td>{}</td><td>{n}</td><td>{o}</td></tr>",
                if who.is_empty() {
                    "nobody yet".to_string()
                } else {
                    esc(who)
                }
            ));
        }
        b.push_str("</table>");
    }
    let mut list: Vec<&PbcRequest> = match view {
        "overdue" => all.iter().filter(|r| overdue(r)).collect(),
        "open" => waiting.clone(),
        _ => all.iter().collect(),
    };
    if view == "overdue" || view == "open" {
        // Oldest first: what has waited longest comes first.
        list.sort_by_key(|r| std::cmp::Reverse(age(r)));
    }
    // A column the reader chose: text without regard to case, dates and ages as such, a request
    // with no value last; ties keep the request number's order.
    let sort = SORTS.iter().find(|(k, _)| *k == query.sort).map(|(k, _)| *k);
    let descending = query.dir == "desc";
    if let Some(key) = sort {
        let text = |r: &PbcRequest| -> Option<String> {
            let v = match key {
                "reference" => r.reference.clone().unwrap_or_default(),
                "what" => r.title.clone(),
                "control" => r.control.clone().or_else(|| r.criterion.clone()).unwrap_or_default(),
                "assignee" => name_of(&r.assignee),
                "due" => r.due.clone().unwrap_or_default(),
                "status" => r.status.label().to_string(),
                _ => return None,
            };
            (!v.is_empty()).then(|| v.to_lowercase())
        };
        list.sort_by(|a, b| {
            let by_key = match key {
                "number" => a.number.cmp(&b.number),
                "age" => age(a).cmp(&age(b)),
                _ => match (text(a), text(b)) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    // No value sorts last either way.
                    (Some(_), None) => return std::cmp::Ordering::Less,
                    (None, Some(_)) => return std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                },
            };
            (if descending { by_key.reverse() } else { by_key }).then(a.number.cmp(&b.number))
        });
    }
    b.push_str(&format!(
        "<h2>Requests from the auditor ({})</h2><p class=\"filters\"><a href=\"/requests\">All</a> · <a href=\"/requests?view=open\">Waiting, oldest first</a> · <a href=\"/requests?view=overdue\">Overdue</a></p>",
        list.len()
    ));
    if list.is_empty() {
        b.push_str("<div class=\"card muted\">No requests here.</div>");
    } else {
        b.push_str("<table><caption class=\"sr\">Requests from the auditor, sorted by a column when its heading is chosen</caption><tr>");
        for (key, label) in SORTS {
            let on = sort == Some(key);
            let next = if on && !descending { "desc" } else { "asc" };
            let href = format!(
                "/requests?{}sort={key}&amp;dir={next}",
                if view.is_empty() {
                    String::new()
                } else {
                    format!("view={}&amp;", esc(view))
                }
            );
            b.push_str(&format!(
                "<th scope=\"col\" aria-sort=\"{}\"><a href=\"{href}\">{label}{}</a></th>",
                match (on, descending) {
                    (false, _) => "none",
                    (true, false) => "ascending",
                    (true, true) => "descending",
                },
                match (on, descending) {
                    (false, _) => "",
                    (true, false) => " ▲",
                    (true, true) => " ▼",
                }
            ));
        }
        b.push_str("</tr>");
        for r in &list {
            b.push_str(&format!(
                "<tr><td><a href=\"/requests/{}\">PBC-{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.id),
                r.number,
                esc(r.reference.as_deref().unwrap_or("")),
                esc(&r.title),
                esc(r.control.as_deref().or(r.criterion.as_deref()).unwrap_or("")),
                esc(&name_of(&r.assignee)),
                esc(r.due.as_deref().unwrap_or("")),
                if overdue(r) { " <span class=\"pill bad\">overdue</span>" } else { "" },
                age(r),
                r.status.label()
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
            "<div class=\"card\"><h2>Raise a request</h2><form method=\"post\" action=\"/requests\">{}<label for=\"title\">What is requested</label><input id=\"title\" name=\"title\" value=\"{}\" required maxlength=\"300\">{}<label for=\"detail\">Details</label><textarea id=\"detail\" name=\"detail\" maxlength=\"20000\">{}</textarea>{}<label for=\"control\">Control (optional)</label><input id=\"control\" name=\"control\" value=\"{}\" placeholder=\"AC-05\">{}<label for=\"assignee\">Assignee</label><select id=\"assignee\" name=\"assignee\">{users_opt}</select>{}<label for=\"due\">Due</label><input id=\"due\" name=\"due\" type=\"date\" value=\"{}\">{}<button type=\"submit\">Raise the request</button></form></div>",
            csrf_field(s.csrf()),
            esc(&form.title),
            e("title"),
            esc(&form.detail),
            e("detail"),
            esc(&form.control),
            e("control"),
            e("assignee"),
            esc(&form.due),
            e("due")
        ));
        b.push_str(&format!(
            "<div class=\"card\"><h2>Import the auditor's request list</h2><form method=\"post\" action=\"/requests/import\" enctype=\"multipart/form-data\">{}<label for=\"list\">Spreadsheet (XLSX or CSV) with the columns request id, description, control or criterion, due date</label><input id=\"list\" name=\"file\" type=\"file\" accept=\".xlsx,.csv\" required><button type=\"submit\">Import the list</button></form><p class=\"muted\">Importing the list again updates the requests it already created (by the auditor's id) and adds the new ones; nothing is imported when a row has a problem.</p></div>",
            csrf_field(s.csrf())
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
                    .is_some_and(|c| crate::authz::may_see_control(role, &s.user, &snap, &c.text()))
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

pub async fn requests(State(state): State<Shared>, s: Session, Query(q): Query<ListQuery>) -> Page {
    requests_page(
        &state,
        &s,
        &RequestForm::default(),
        &BTreeMap::new(),
        StatusCode::OK,
        &q,
        None,
    )
    .await
}

pub async fn raise_request(State(state): State<Shared>, s: Session, Form(f): Form<RequestForm>) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    let (snap, _) = state.authorized(&s, Action::RaiseRequest, &[]).await?;
    let users = state.db.users().await?;
    let errors = crate::requests::validate(&snap, &users, &f.to_new());
    if !errors.is_empty() {
        return requests_page(
            &state,
            &s,
            &f,
            &errors,
            StatusCode::BAD_REQUEST,
            &ListQuery::default(),
            None,
        )
        .await;
    }
    let r = crate::requests::create(&state, &s, &f.to_new()).await?;
    see_done(&format!("/requests/{}", r.id), Done::RequestRaised)
}

pub(super) async fn load_request(state: &Shared, s: &Session, id: &str) -> Result<(PbcRequest, Role), AppError> {
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

pub async fn request(State(state): State<Shared>, s: Session, Path(id): Path<String>) -> Page {
    request_page(&state, &s, &id, None, StatusCode::OK).await
}

async fn request_page(state: &Shared, s: &Session, id: &str, error: Option<&str>, code: StatusCode) -> Page {
    let (r, role) = load_request(state, s, id).await?;
    let snap = state.snapshot().await?;
    let users = state.db.users().await?;
    let name = |i: &Option<String>| {
        i.as_ref()
            .and_then(|i| users.iter().find(|u| &u.id == i))
            .map(|u| u.name.clone())
            .unwrap_or_else(|| "nobody".into())
    };
    let mut b = format!(
        "<h1>PBC-{} · {}</h1>{}<div class=\"card\">{}<table><tr><th>Status</th><td>{}</td><th>Due</th><td>{}</td></tr><tr><th>Assignee</th><td>{}</td><th>Control or criterion</th><td>{}</td></tr><tr><th>Raised by</th><td>{}</td><th>Raised</th><td>{}</td></tr>{}</table></div>",
        r.number,
        esc(&r.title),
        error
            .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
            .unwrap_or_default(),
        if r.detail.is_empty() || r.detail == r.title {
            String::new()
        } else {
            format!("<p>{}</p>", esc(&r.detail))
        },
        r.status.label(),
        esc(r.due.as_deref().unwrap_or("no date")),
        esc(&name(&r.assignee)),
        match (&r.control, &r.criterion) {
            (Some(c), _) => format!("<a href=\"/controls/{0}\">{0}</a>", esc(c)),
            (None, Some(c)) => esc(c),
            _ => String::new(),
        },
        esc(&name(&Some(r.created_by.clone()))),
        when(r.created_at),
        [
            r.reference
                .as_deref()
                .map(|x| format!("<tr><th>Auditor's id</th><td colspan=\"3\">{}</td></tr>", esc(x))),
            r.reason
                .as_deref()
                .filter(|_| r.status == RequestStatus::Rejected)
                .map(|x| format!("<tr><th>Sent back because</th><td colspan=\"3\">{}</td></tr>", esc(x))),
        ]
        .into_iter()
        .flatten()
        .collect::<String>()
    );
    // The evidence that answers it: linked entries, with their hashes.
    let links = state.db.request_links(&r.id).await?;
    b.push_str(&format!("<h2>Evidence that answers it ({})</h2>", links.len()));
    if links.is_empty() {
        b.push_str("<div class=\"card muted\">No evidence is linked yet.</div>");
    } else {
        b.push_str(&super::evidence::verify_hint(&snap));
        b.push_str(super::evidence::EVIDENCE_HEAD);
        for l in &links {
            if let Some(e) = snap.ledger.iter().find(|e| e.seq as i64 == l.seq) {
                b.push_str(&super::evidence::evidence_row(
                    e,
                    crate::authz::role_allows(role, Action::DownloadEvidence),
                ));
            }
        }
        b.push_str("</table>");
    }
    if crate::requests::may_answer(role, &s.user, &r) {
        let candidates: Vec<&assure_ledger::Entry> = snap
            .ledger
            .iter()
            .filter(|e| e.draft.action.is_evidence())
            .filter(|e| !links.iter().any(|l| l.seq == e.seq as i64))
            .filter(|e| match &r.control {
                Some(c) => e.draft.controls.iter().any(|x| x == c),
                None => true,
            })
            .rev()
            .take(200)
            .collect();
        let options: String = candidates
            .iter()
            .map(|e| {
                format!(
                    "<option value=\"{}\">entry {} · {}</option>",
                    e.seq,
                    e.seq,
                    esc(e.draft.blob.as_ref().map(|b| b.name.as_str()).unwrap_or(""))
                )
            })
            .collect();
        b.push_str(&format!(
            "<div class=\"card\"><h2>Answer it</h2><form method=\"post\" action=\"/requests/{0}/attach\" enctype=\"multipart/form-data\">{1}<label for=\"file\">Attach a file</label><input id=\"file\" name=\"file\" type=\"file\" required><button type=\"submit\">Record it in the ledger and link it</button></form><p class=\"muted\">The file is hashed, signed into the ledger as evidence{2} and linked to this request.</p>{3}</div>",
            esc(&r.id),
            csrf_field(s.csrf()),
            r.control
                .as_deref()
                .map(|c| format!(" for control {}", esc(c)))
                .unwrap_or_default(),
            if candidates.is_empty() {
                String::new()
            } else {
                format!(
                    "<form method=\"post\" action=\"/requests/{}/link\">{}<label for=\"seq\">Or link evidence already recorded</label><select id=\"seq\" name=\"seq\">{options}</select><button type=\"submit\">Link it</button></form>",
                    esc(&r.id),
                    csrf_field(s.csrf())
                )
            }
        ));
    }
    if crate::authz::role_allows(role, Action::UpdateRequest) {
        let st: String = RequestStatus::settable_by(role)
            .iter()
            .chain(std::iter::once(&r.status))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|x| r.status.may_become(**x).is_ok())
            .map(|x| {
                format!(
                    "<option value=\"{}\"{}>{}</option>",
                    x.as_str(),
                    if *x == r.status { " selected" } else { "" },
                    x.label()
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
        let reason = if RequestStatus::settable_by(role).contains(&RequestStatus::Rejected) {
            "<label for=\"reason\">Reason, when sending it back</label><textarea id=\"reason\" name=\"reason\" maxlength=\"20000\"></textarea>"
        } else {
            ""
        };
        b.push_str(&format!(
            "<div class=\"card\"><h2>Update</h2><form method=\"post\" action=\"/requests/{}\">{}<label for=\"status\">Status</label><select id=\"status\" name=\"status\">{st}</select>{reason}{assignee}<label for=\"due\">Due</label><input id=\"due\" name=\"due\" type=\"date\" value=\"{}\"><button type=\"submit\">Save</button></form></div>",
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
    Ok((
        code,
        Html(page(
            &format!("PBC-{}", r.number),
            Some((&s.user, s.csrf())),
            "/requests",
            &b,
        )),
    )
        .into_response())
}

/// A file attached to a request by whoever answers it: recorded in the ledger as evidence for the
/// request's control (whoever owns that control), then linked to the request.
pub async fn attach(State(state): State<Shared>, s: Session, Path(id): Path<String>, mut mp: Multipart) -> Page {
    let (fields, file) = super::form_and_file(&state, &mut mp).await?;
    let csrf = fields.get("csrf").cloned().unwrap_or_default();
    state.check_csrf(&s, &csrf)?;
    let (r, role) = load_request(&state, &s, &id).await?;
    if !crate::requests::may_answer(role, &s.user, &r) {
        return Err(AppError::Forbidden(
            "only the person this request is assigned to, or a compliance manager, can attach files to it".into(),
        ));
    }
    let Some((file_name, bytes)) = file else {
        return request_page(
            &state,
            &s,
            &id,
            Some("Choose a file to attach; an empty file is not evidence."),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let upload = Upload {
        file_name: file_name.clone(),
        bytes,
        controls: r.control.iter().cloned().collect(),
        kind: UploadKind::Record,
        by: s.user.email.clone(),
        scope: None,
        note: Some(format!(
            "attached to request PBC-{}{} through the web application",
            r.number,
            r.reference
                .as_deref()
                .map(|x| format!(" (auditor's {x})"))
                .unwrap_or_default()
        )),
        period: None,
    };
    let backend = state.backend.clone();
    match blocking(move || backend.import(upload)).await? {
        Ok(entries) => {
            state.invalidate().await;
            for e in &entries {
                crate::requests::link_entry(&state, &s, &r, e).await?;
            }
            state
                .audit(
                    Some(&s.user),
                    "attached evidence to a request",
                    &format!("request:{}", r.id),
                    &format!(
                        "{file_name} as ledger entry {}",
                        entries.iter().map(|e| e.seq.to_string()).collect::<Vec<_>>().join(", ")
                    ),
                )
                .await?;
            see_done(&format!("/requests/{}", r.id), Done::EvidenceAttached)
        }
        Err(crate::BackendError::Invalid(m)) => {
            request_page(
                &state,
                &s,
                &id,
                Some(&format!("{file_name} was refused and nothing was stored: {m}")),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// Links evidence already in the ledger to a request.
pub async fn link_evidence(
    State(state): State<Shared>,
    s: Session,
    Path(id): Path<String>,
    Form(f): Form<LinkForm>,
) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    let (r, role) = load_request(&state, &s, &id).await?;
    if !crate::requests::may_answer(role, &s.user, &r) {
        return Err(AppError::Forbidden(
            "only the person this request is assigned to, or a compliance manager, can link evidence to it".into(),
        ));
    }
    let Ok(seq) = f.seq.trim().parse::<u64>() else {
        return request_page(
            &state,
            &s,
            &id,
            Some("Choose a ledger entry to link."),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let snap = state.snapshot().await?;
    match crate::requests::link(&state, &s, role, &snap, &r, seq).await {
        Ok(_) => see_done(&format!("/requests/{}", r.id), Done::EvidenceLinked),
        Err(AppError::NotFound(m)) => request_page(&state, &s, &id, Some(&m), StatusCode::NOT_FOUND).await,
        Err(e) => Err(e),
    }
}

/// Imports the auditor's own request list from a spreadsheet.
pub async fn import_requests(State(state): State<Shared>, s: Session, mut mp: Multipart) -> Page {
    let (fields, file) = super::form_and_file(&state, &mut mp).await?;
    let csrf = fields.get("csrf").cloned().unwrap_or_default();
    state.check_csrf(&s, &csrf)?;
    let (snap, _) = state.authorized(&s, Action::RaiseRequest, &[]).await?;
    let Some((file_name, bytes)) = file else {
        return Err(AppError::BadRequest("Choose the spreadsheet to import.".into()));
    };
    match crate::requests::read_list(&snap, &file_name, &bytes) {
        Ok(list) => {
            let done = crate::requests::import_list(&state, &s, &list).await?;
            requests_page(
                &state,
                &s,
                &RequestForm::default(),
                &BTreeMap::new(),
                StatusCode::OK,
                &ListQuery::default(),
                Some(format!(
                    "{file_name}: {} requests created, {} updated.",
                    done.created, done.updated
                )),
            )
            .await
        }
        Err(problems) => {
            let mut errors = BTreeMap::new();
            errors.insert("list", problems.join(" "));
            let body = format!(
                "<h1>The request list was not imported</h1><div class=\"card\"><p>Nothing was imported. Fix these and import the file again:</p><ul>{}</ul><p><a href=\"/requests\">Back to the requests</a></p></div>",
                problems
                    .iter()
                    .map(|p| format!("<li>{}</li>", esc(p)))
                    .collect::<String>()
            );
            Ok((
                StatusCode::BAD_REQUEST,
                Html(page(
                    "Request list not imported",
                    Some((&s.user, s.csrf())),
                    "/requests",
                    &body,
                )),
            )
                .into_response())
        }
    }
}

pub async fn update_request(
    State(state): State<Shared>,
    s: Session,
    Path(id): Path<String>,
    Form(f): Form<RequestForm>,
) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    let (r, role) = load_request(&state, &s, &id).await?;
    state.authorized(&s, Action::UpdateRequest, &[]).await?;
    crate::requests::change(&state, &s, role, &r, &f.to_change()).await?;
    see_done(&format!("/requests/{}", r.id), Done::RequestUpdated)
}

pub async fn request_comment(
    State(state): State<Shared>,
    s: Session,
    Path(id): Path<String>,
    Form(f): Form<CommentForm>,
) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    let (r, _) = load_request(&state, &s, &id).await?;
    state.authorized(&s, Action::Comment, &[]).await?;
    comment(&state, &s, &format!("request:{}", r.id), &f.body).await?;
    see_done(&format!("/requests/{}", r.id), Done::Commented)
}
