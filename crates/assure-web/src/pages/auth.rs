//! Signing in and out, and the first administrator's setup.

use super::*;

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub(super) fn login_page(email: &str, error: Option<&str>) -> String {
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
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Page {
    let ip = state.client_ip(info.as_ref().map(|e| &e.0), &headers);
    state.check_attempts(ip)?;
    let email = f.email.trim().to_lowercase();
    // One answer for every failure (unknown account, wrong password, locked out), after the same
    // work, so a sign-in form never tells whether an account exists.
    const REFUSED: &str = "The email or password is wrong, or this address is locked out of the account for a while after repeated failures.";
    let fail = || Ok((StatusCode::UNAUTHORIZED, Html(login_page(&email, Some(REFUSED)))).into_response());
    let record = state.db.login_record(&email).await?;
    let stored = record.as_ref().map_or_else(
        || "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$ZmFrZWhhc2hmYWtlaGFzaGZha2VoYXNo".to_string(),
        |(_, hash, _, _)| hash.clone(),
    );
    let password = f.password.clone();
    // Argon2 is deliberately slow: it runs on a blocking thread, not the server's async threads.
    let matches = blocking(move || crate::verify_password(&stored, &password)).await?;
    let locked = state.locked_out(ip, &email)?;
    let Some((user, _, _, _)) = record else {
        state.sign_in_failed(ip, &email)?;
        return fail();
    };
    if locked || !matches {
        state.sign_in_failed(ip, &email)?;
        state
            .audit(
                Some(&user),
                "sign-in failed",
                &format!("user:{}", user.email),
                if locked { "locked out from this address" } else { "" },
            )
            .await?;
        return fail();
    }
    state.sign_in_succeeded(ip, &email)?;
    state.db.login_succeeded(&user.id).await?;
    let cookie = crate::start_session(&state, &user).await?;
    state
        .audit(Some(&user), "signed in", &format!("user:{}", user.email), "")
        .await?;
    let mut resp = Redirect::to("/").into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(resp)
}

pub async fn logout(State(state): State<Shared>, headers: HeaderMap, s: Session, Form(f): Form<CsrfForm>) -> Page {
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

pub(super) fn setup_page(code: &str, name: &str, email: &str, errors: &BTreeMap<&str, String>) -> String {
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

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    again: String,
}

/// The page a password reset link opens: a new password, twice.
fn reset_page(token: &str, email: &str, error: Option<&str>) -> String {
    page(
        "Set a new password",
        None,
        "",
        &format!(
            "<div class=\"card\" style=\"max-width:28rem;margin:3rem auto\"><h1>Set a new password</h1><p class=\"muted\">For {}. This link works once; your other sessions end when the password is set.</p><form method=\"post\" action=\"/reset/{}\"><label for=\"password\">New password (at least 12 characters)</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required><label for=\"again\">The same password again</label><input id=\"again\" name=\"again\" type=\"password\" autocomplete=\"new-password\" required>{}<button type=\"submit\">Set the password</button></form></div>",
            esc(email),
            esc(token),
            error
                .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
                .unwrap_or_default()
        ),
    )
}

const RESET_GONE: &str = "This password reset link does not work: it was used already, it expired, or a newer link replaced it. Ask an administrator for a new one.";

fn reset_gone() -> Page {
    Ok((
        StatusCode::GONE,
        Html(page(
            "Reset link",
            None,
            "",
            &format!(
                "<div class=\"card\" style=\"max-width:28rem;margin:3rem auto\"><h1>Reset link</h1><p class=\"error\" role=\"alert\">{RESET_GONE}</p><p><a href=\"/login\">Sign in</a></p></div>"
            ),
        )),
    )
        .into_response())
}

/// Opens a password reset link (no session needed: the link is the secret).
pub async fn reset_form(State(state): State<Shared>, Path(token): Path<String>) -> Page {
    match state
        .db
        .reset_user(&crate::token_hash(&token), crate::now_micros())
        .await?
    {
        Some(u) => Ok(Html(reset_page(&token, &u.email, None)).into_response()),
        None => reset_gone(),
    }
}

/// Sets the new password through a reset link, once; rate limited like signing in.
pub async fn reset(
    State(state): State<Shared>,
    info: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(f): Form<ResetForm>,
) -> Page {
    let ip = state.client_ip(info.as_ref().map(|e| &e.0), &headers);
    state.check_attempts(ip)?;
    let hash = crate::token_hash(&token);
    let Some(user) = state.db.reset_user(&hash, crate::now_micros()).await? else {
        state.sign_in_failed(ip, "")?;
        return reset_gone();
    };
    let error = if f.password.chars().count() < 12 {
        Some("Use at least 12 characters.")
    } else if f.password != f.again {
        Some("The two passwords differ: type the same one twice.")
    } else {
        None
    };
    if let Some(e) = error {
        return Ok((StatusCode::BAD_REQUEST, Html(reset_page(&token, &user.email, Some(e)))).into_response());
    }
    let password = f.password.clone();
    let new_hash = blocking(move || crate::hash_password(&password)).await??;
    let Some(user) = state.db.use_reset(&hash, &new_hash, crate::now_micros()).await? else {
        return reset_gone();
    };
    state
        .audit(
            Some(&user),
            "set a new password",
            &format!("user:{}", user.email),
            "through a reset link; sessions ended",
        )
        .await?;
    see_done("/login", Done::PasswordSet)
}
