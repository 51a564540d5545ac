//! The audit log, accounts and API tokens.

use super::*;

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    /// Words in the person, action, subject or detail.
    #[serde(default)]
    q: String,
    /// 1-based page of [`AUDIT_PAGE`] lines.
    #[serde(default)]
    page: Option<i64>,
}

/// Lines on one page of the audit log.
const AUDIT_PAGE: i64 = 100;

pub async fn audit(State(state): State<Shared>, s: Session, Query(q): Query<AuditQuery>) -> Page {
    state.authorized(&s, Action::ReadAudit, &[]).await?;
    let page = q.page.unwrap_or(1).max(1);
    let (mut lines, mut total) = state
        .db
        .audit_search(&q.q, (page - 1).saturating_mul(AUDIT_PAGE), AUDIT_PAGE)
        .await?;
    let pages = ((total + AUDIT_PAGE - 1) / AUDIT_PAGE).max(1);
    let page = if page > pages {
        // Past the end (the log was filtered since): the last page.
        (lines, total) = state
            .db
            .audit_search(&q.q, (pages - 1) * AUDIT_PAGE, AUDIT_PAGE)
            .await?;
        pages
    } else {
        page
    };
    let mut b = format!(
        "<h1>Audit log</h1><p class=\"muted\">Every change made through Assure's web application, newest first. Evidence itself is in the signed ledger.</p><form method=\"get\" action=\"/audit\" class=\"filters\" role=\"search\" aria-label=\"Search the audit log\"><div><label for=\"aq\">Contains</label><input id=\"aq\" name=\"q\" value=\"{}\" placeholder=\"person, action, subject, detail\"></div><div><button type=\"submit\">Show</button></div></form>",
        esc(&q.q)
    );
    if lines.is_empty() {
        b.push_str(if q.q.trim().is_empty() {
            "<div class=\"card muted\">Nothing has been changed through the web application yet.</div>"
        } else {
            "<div class=\"card muted\">No line matches. <a href=\"/audit\">Show the whole log</a>.</div>"
        });
        return ok("Audit log", &s, "/audit", b);
    }
    let first = (page - 1) * AUDIT_PAGE;
    b.push_str(&format!(
        "<p class=\"muted\" role=\"status\">Lines {}–{} of {total}{}.</p><div class=\"scroll\"><table><caption class=\"sr\">Audit log</caption><tr><th>When</th><th>Who</th><th>What</th><th>Subject</th><th>Detail</th><th>Request</th></tr>",
        first + 1,
        first + i64::try_from(lines.len()).unwrap_or(0),
        if q.q.trim().is_empty() { "" } else { " matching" }
    ));
    for l in lines {
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
    b.push_str("</table></div>");
    if pages > 1 {
        let link = |p: i64| format!("/audit?q={}&page={p}", super::tests::url_encode(&q.q));
        b.push_str("<nav class=\"pager\" aria-label=\"Pages of the audit log\">");
        if page > 1 {
            b.push_str(&format!(
                "<a href=\"{}\" rel=\"prev\">Previous page</a>",
                esc(&link(page - 1))
            ));
        }
        b.push_str(&format!("<span>Page {page} of {pages}</span>"));
        if page < pages {
            b.push_str(&format!(
                "<a href=\"{}\" rel=\"next\">Next page</a>",
                esc(&link(page + 1))
            ));
        }
        b.push_str("</nav>");
    }
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

/// What the users page says above the accounts after an action: a one-time reset link to hand
/// over (shown once), or nothing.
#[derive(Debug, Default)]
pub(super) struct UsersNotice {
    /// The account a reset link was made for, and the link.
    reset: Option<(String, String)>,
}

pub(super) async fn users_page(
    state: &Shared,
    s: &Session,
    f: &UserForm,
    errors: &BTreeMap<&str, String>,
    status: StatusCode,
) -> Page {
    users_page_with(state, s, f, errors, status, &UsersNotice::default()).await
}

async fn users_page_with(
    state: &Shared,
    s: &Session,
    f: &UserForm,
    errors: &BTreeMap<&str, String>,
    status: StatusCode,
    notice: &UsersNotice,
) -> Page {
    let (snap, _) = state.authorized(s, Action::ManageUsers, &[]).await?;
    let mut b = String::from(
        "<h1>Users</h1><p class=\"muted\">Change a role, disable an account (it cannot sign in, and its sessions and API tokens stop working at once), give someone a one-time link to set a new password, or remove an account (its history stays in the audit log). Every change is in the audit log.</p>",
    );
    if let Some((email, link)) = &notice.reset {
        b.push_str(&format!(
            "<div class=\"card\" role=\"status\"><h2>A password reset link for {}</h2><p>Give this link to them yourself (it is shown only this once). It works once, for {RESET_HOURS} hours; making another link replaces it. Their sessions end when they set the new password.</p><pre id=\"reset-link\">{}</pre></div>",
            esc(email),
            esc(link)
        ));
    }
    b.push_str("<table><caption class=\"sr\">Accounts</caption><tr><th scope=\"col\">Name</th><th scope=\"col\">Email</th><th scope=\"col\">Role</th><th scope=\"col\">Person in the project</th><th scope=\"col\">Status</th><th scope=\"col\">Change</th></tr>");
    for (u, disabled) in state.db.accounts().await? {
        let options: String = Role::ALL
            .iter()
            .map(|r| {
                format!(
                    "<option value=\"{}\"{}>{}</option>",
                    r.as_str(),
                    if r.as_str() == u.role { " selected" } else { "" },
                    r.label()
                )
            })
            .collect();
        let me = u.id == s.user.id;
        b.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&u.name),
            esc(&u.email),
            Role::parse(&u.role).map(|r| r.label()).unwrap_or("?"),
            esc(u.person.as_deref().unwrap_or("")),
            if disabled { "<span class=\"pill bad\">disabled</span>" } else { "<span class=\"pill ok\">active</span>" },
            if me {
                "<span class=\"muted\">your own account</span>".to_string()
            } else {
                format!(
                    "<form class=\"inline\" method=\"post\" action=\"/users/{id}/role\">{csrf}<label class=\"sr\" for=\"role-{id}\">Role of {email}</label><select id=\"role-{id}\" name=\"role\" style=\"width:auto\">{options}</select> <button type=\"submit\">Save role</button></form> <form class=\"inline\" method=\"post\" action=\"/users/{id}/{toggle}\">{csrf}<button type=\"submit\">{label}</button></form>{reset} <details class=\"inline\"><summary>Remove</summary><form method=\"post\" action=\"/users/{id}/remove\">{csrf}<label for=\"confirm-{id}\">Type the email address to remove this account</label><input id=\"confirm-{id}\" name=\"confirm\" autocomplete=\"off\" required><button type=\"submit\">Remove {email}</button></form></details>",
                    reset = if disabled {
                        String::new()
                    } else {
                        format!(
                            " <form class=\"inline\" method=\"post\" action=\"/users/{}/reset\">{}<button type=\"submit\">Reset password</button></form>",
                            esc(&u.id),
                            csrf_field(s.csrf())
                        )
                    },
                    id = esc(&u.id),
                    csrf = csrf_field(s.csrf()),
                    email = esc(&u.email),
                    toggle = if disabled { "enable" } else { "disable" },
                    label = if disabled { "Enable" } else { "Disable" },
                )
            }
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
                if r.as_str() == f.role || (f.role.is_empty() && *r == Role::Viewer) {
                    " selected"
                } else {
                    ""
                },
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

/// How long a password reset link works.
const RESET_HOURS: i64 = 24;

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    csrf: String,
    /// The account's email, typed again: removal is not undone.
    #[serde(default)]
    confirm: String,
}

/// Makes a one-time link for an account to set a new password, shown once to the administrator.
pub async fn reset_password(
    State(state): State<Shared>,
    s: Session,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    state.authorized(&s, Action::ManageUsers, &[]).await?;
    let u = other_account(&state, &s, &id).await?;
    let token = crate::random_token()?;
    let now = crate::now_micros();
    state
        .db
        .create_reset(
            &crate::token_hash(&token),
            &u.id,
            &s.user.id,
            now,
            now + RESET_HOURS * 3_600_000_000,
        )
        .await?;
    state
        .audit(
            Some(&s.user),
            "made a password reset link",
            &format!("user:{}", u.email),
            &format!("works once, for {RESET_HOURS} hours"),
        )
        .await?;
    // The link as the administrator's browser reached this server, when it said (Origin).
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| o.starts_with("http://") || o.starts_with("https://"))
        .unwrap_or("");
    let notice = UsersNotice {
        reset: Some((u.email.clone(), format!("{origin}/reset/{token}"))),
    };
    users_page_with(
        &state,
        &s,
        &UserForm::default(),
        &BTreeMap::new(),
        StatusCode::OK,
        &notice,
    )
    .await
}

/// Removes an account after its email is typed again; its history stays.
pub async fn remove_user(
    State(state): State<Shared>,
    s: Session,
    Path(id): Path<String>,
    Form(f): Form<RemoveForm>,
) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    state.authorized(&s, Action::ManageUsers, &[]).await?;
    let u = other_account(&state, &s, &id).await?;
    if f.confirm.trim().to_lowercase() != u.email {
        return Err(AppError::BadRequest(format!(
            "Nothing was removed: type {} exactly to remove that account.",
            u.email
        )));
    }
    let now = crate::now_micros();
    let day = chrono::DateTime::from_timestamp_micros(now)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let removed = format!("{} (removed {day})", u.email);
    let Some(unassigned) = state.db.remove_user(&u.id, &removed, now).await? else {
        return Err(AppError::NotFound(format!("There is no account `{id}`.")));
    };
    state
        .audit(
            Some(&s.user),
            "removed an account",
            &format!("user:{}", u.email),
            &format!(
                "sessions ended, tokens revoked; {unassigned} open request{} unassigned",
                if unassigned == 1 { "" } else { "s" }
            ),
        )
        .await?;
    see_done("/users", Done::Removed)
}

pub async fn users(State(state): State<Shared>, s: Session) -> Page {
    users_page(&state, &s, &UserForm::default(), &BTreeMap::new(), StatusCode::OK).await
}

pub async fn add_user(State(state): State<Shared>, s: Session, Form(f): Form<UserForm>) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    let (snap, _) = state.authorized(&s, Action::ManageUsers, &[]).await?;
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
                return see_done("/users", Done::UserAdded);
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
pub struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// The account `id`, unless it is the administrator's own (nobody demotes or disables themselves:
/// that is how the last administrator is kept).
async fn other_account(state: &Shared, s: &Session, id: &str) -> Result<crate::User, AppError> {
    if id == s.user.id {
        return Err(AppError::BadRequest(
            "You cannot change your own role, reset your own password here, or disable or remove your own account; another administrator can.".into(),
        ));
    }
    state
        .db
        .accounts()
        .await?
        .into_iter()
        .map(|(u, _)| u)
        .find(|u| u.id == id)
        .ok_or_else(|| AppError::NotFound(format!("There is no account `{id}`.")))
}

pub async fn set_role(
    State(state): State<Shared>,
    s: Session,
    Path(id): Path<String>,
    Form(f): Form<RoleForm>,
) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    state.authorized(&s, Action::ManageUsers, &[]).await?;
    let u = other_account(&state, &s, &id).await?;
    let role = Role::parse(&f.role).ok_or_else(|| AppError::BadRequest(format!("`{}` is not a role.", f.role)))?;
    if role == Role::ControlOwner && u.person.is_none() {
        return Err(AppError::BadRequest(format!(
            "{} is linked to no person in the project, so as a control owner they would see no controls; add them again linked to their person.",
            u.email
        )));
    }
    state
        .db
        .update_user(&u.id, &u.name, role.as_str(), u.person.as_deref())
        .await?;
    state
        .audit(
            Some(&s.user),
            "changed a role",
            &format!("user:{}", u.email),
            &format!("{} to {}", u.role, role.as_str()),
        )
        .await?;
    see_done("/users", Done::RoleChanged)
}

async fn set_disabled(state: Shared, s: Session, id: String, csrf: String, disabled: bool) -> Page {
    state.check_csrf(&s, &csrf)?;
    state.authorized(&s, Action::ManageUsers, &[]).await?;
    let u = other_account(&state, &s, &id).await?;
    state.db.set_disabled(&u.id, disabled, crate::now_micros()).await?;
    state
        .audit(
            Some(&s.user),
            if disabled {
                "disabled an account"
            } else {
                "enabled an account"
            },
            &format!("user:{}", u.email),
            if disabled {
                "sessions ended; tokens stop working"
            } else {
                ""
            },
        )
        .await?;
    see_done("/users", if disabled { Done::Disabled } else { Done::Enabled })
}

pub async fn disable_user(
    State(state): State<Shared>,
    s: Session,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Page {
    set_disabled(state, s, id, f.csrf, true).await
}

pub async fn enable_user(
    State(state): State<Shared>,
    s: Session,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Page {
    set_disabled(state, s, id, f.csrf, false).await
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    /// Days until it stops working: 30, 90, 365, or `never`.
    #[serde(default)]
    expires: String,
    /// `read-only` or `read-write`.
    #[serde(default)]
    scope: String,
}

pub(super) async fn tokens_page(state: &Shared, s: &Session, created: Option<&str>, error: Option<&str>) -> Page {
    state.authorized(s, Action::ManageOwnTokens, &[]).await?;
    let mut b = String::from(
        "<h1>API tokens</h1><p class=\"muted\">Send a token as <code>Authorization: Bearer TOKEN</code> to the JSON API (description at <a href=\"/api/openapi.json\">/api/openapi.json</a>). A token acts with your role.</p>",
    );
    if let Some(t) = created {
        b.push_str(&format!(
            "<div class=\"card\"><p>Your new token, shown once. Copy it now:</p><pre id=\"token\">{}</pre></div>",
            esc(t)
        ));
    }
    b.push_str("<table><caption class=\"sr\">Your API tokens</caption><tr><th scope=\"col\">Name</th><th scope=\"col\">Scope</th><th scope=\"col\">Created</th><th scope=\"col\">Expires</th><th scope=\"col\">Last used</th><th scope=\"col\">Status</th></tr>");
    let now = crate::now_micros();
    let rows = state.db.tokens(&s.user.id).await?;
    if rows.is_empty() {
        b.push_str("<tr><td colspan=\"6\" class=\"muted\">You have no tokens yet: create one below.</td></tr>");
    }
    for t in rows {
        let status = if t.revoked_at > 0 {
            format!("<span class=\"pill bad\">revoked {}</span>", when(t.revoked_at))
        } else if t.expires_at > 0 && t.expires_at <= now {
            "<span class=\"pill bad\">expired</span>".to_string()
        } else {
            format!(
                "<span class=\"pill ok\">in force</span> <form class=\"inline\" method=\"post\" action=\"/tokens/{}/revoke\">{}<button type=\"submit\">Revoke</button></form>",
                esc(&t.id),
                csrf_field(s.csrf())
            )
        };
        b.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{status}</td></tr>",
            esc(&t.name),
            esc(&t.scope),
            when(t.created_at),
            if t.expires_at > 0 {
                when(t.expires_at)
            } else {
                "never".into()
            },
            if t.last_used_at > 0 {
                when(t.last_used_at)
            } else {
                "never".into()
            }
        ));
    }
    b.push_str("</table>");
    b.push_str(&format!(
        "<div class=\"card\"><h2>Create a token</h2><form method=\"post\" action=\"/tokens\">{}<label for=\"tname\">Name</label><input id=\"tname\" name=\"name\" required maxlength=\"100\" placeholder=\"CI upload\"><label for=\"scope\">Scope</label><select id=\"scope\" name=\"scope\"><option value=\"read-only\" selected>Read only: reads what you can read, changes nothing</option><option value=\"read-write\">Read and write: acts with your role</option></select><label for=\"expires\">Expires after</label><select id=\"expires\" name=\"expires\"><option value=\"30\">30 days</option><option value=\"90\" selected>90 days</option><option value=\"365\">a year</option><option value=\"never\">never (until revoked)</option></select>{}<button type=\"submit\">Create a token</button></form></div>",
        csrf_field(s.csrf()),
        error.map(|e| format!("<p class=\"error\">{}</p>", esc(e))).unwrap_or_default()
    ));
    ok("API tokens", s, "/tokens", b)
}

pub async fn tokens(State(state): State<Shared>, s: Session) -> Page {
    tokens_page(&state, &s, None, None).await
}

pub async fn add_token(State(state): State<Shared>, s: Session, Form(f): Form<TokenForm>) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    state.authorized(&s, Action::ManageOwnTokens, &[]).await?;
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
    let days = match f.expires.as_str() {
        "never" => None,
        "" => Some(90),
        d => match d.parse::<u32>() {
            Ok(d @ 1..=3650) => Some(d),
            _ => return tokens_page(&state, &s, None, Some("Choose when the token expires.")).await,
        },
    };
    let read_only = match f.scope.as_str() {
        "read-only" | "" => true,
        "read-write" => false,
        _ => return tokens_page(&state, &s, None, Some("Choose read only or read and write.")).await,
    };
    let token = crate::create_token(&state, &s.user, name, days, read_only).await?;
    state
        .audit(
            Some(&s.user),
            "created an API token",
            &format!("user:{}", s.user.email),
            &format!(
                "{name}; {}; {}",
                if read_only { "read-only" } else { "read-write" },
                days.map_or("never expires".to_string(), |d| format!("expires in {d} days"))
            ),
        )
        .await?;
    tokens_page(&state, &s, Some(&token), None).await
}

pub async fn revoke_token(
    State(state): State<Shared>,
    s: Session,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    state.authorized(&s, Action::ManageOwnTokens, &[]).await?;
    if !state.db.revoke_token(&s.user.id, &id, crate::now_micros()).await? {
        return Err(AppError::NotFound("You have no token in force with that id.".into()));
    }
    state
        .audit(
            Some(&s.user),
            "revoked an API token",
            &format!("user:{}", s.user.email),
            &id,
        )
        .await?;
    see_done("/tokens", Done::TokenRevoked)
}
