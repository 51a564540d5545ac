//! Policies: the list with what is still to accept, one policy, and accepting it.

use super::*;

pub(super) fn accepted(snap: &Snapshot, email: &str, policy: &str, version: &str) -> Option<String> {
    snap.acceptances
        .iter()
        .filter(|a| a.email.eq_ignore_ascii_case(email) && a.policy_id == policy && a.policy_version == version)
        .map(|a| a.accepted_at.clone())
        .max()
}

pub async fn policies(State(state): State<Shared>, s: Session) -> Page {
    let (snap, _) = state.authorized(&s, Action::ReadPolicies, &[]).await?;
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

/// Markdown to HTML with raw HTML shown as text, safe links only and no images (one rule for every
/// HTML output: `assure_docs::safe_html`).
pub(super) fn markdown(body: &str) -> String {
    assure_docs::safe_html(body)
}

pub async fn policy(State(state): State<Shared>, s: Session, Path(id): Path<String>) -> Page {
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

pub async fn accept(State(state): State<Shared>, s: Session, Path(id): Path<String>, Form(f): Form<CsrfForm>) -> Page {
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
