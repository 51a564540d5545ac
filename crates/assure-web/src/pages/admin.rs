//! The audit log, accounts and API tokens.

use super::*;

pub async fn audit(State(state): State<Shared>, s: Session) -> Page {
    state.authorized(&s, Action::ReadAudit, &[]).await?;
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

pub(super) async fn users_page(
    state: &Shared,
    s: &Session,
    f: &UserForm,
    errors: &BTreeMap<&str, String>,
    status: StatusCode,
) -> Page {
    let (snap, _) = state.authorized(s, Action::ManageUsers, &[]).await?;
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
