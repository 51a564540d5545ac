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
) -> Page {
    let (snap, role) = state.authorized(s, Action::ReadRequests, &[]).await?;
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

pub async fn requests(State(state): State<Shared>, s: Session) -> Page {
    requests_page(&state, &s, &RequestForm::default(), &BTreeMap::new(), StatusCode::OK).await
}

pub async fn raise_request(State(state): State<Shared>, s: Session, Form(f): Form<RequestForm>) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    let (snap, _) = state.authorized(&s, Action::RaiseRequest, &[]).await?;
    let users = state.db.users().await?;
    let errors = crate::requests::validate(&snap, &users, &f.to_new());
    if !errors.is_empty() {
        return requests_page(&state, &s, &f, &errors, StatusCode::BAD_REQUEST).await;
    }
    let r = crate::requests::create(&state, &s, &f.to_new()).await?;
    see_other(&format!("/requests/{}", r.id))
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
    s: Session,
    Path(id): Path<String>,
    Form(f): Form<RequestForm>,
) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    let (r, role) = load_request(&state, &s, &id).await?;
    state.authorized(&s, Action::UpdateRequest, &[]).await?;
    crate::requests::change(&state, &s, role, &r, &f.to_change()).await?;
    see_other(&format!("/requests/{}", r.id))
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
    see_other(&format!("/requests/{}", r.id))
}
