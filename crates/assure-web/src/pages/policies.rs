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
    b.push_str("<table><tr><th>Policy</th><th>Applies to</th><th>Version</th><th>Approval</th><th>Next review</th><th>Status</th><th>You</th></tr>");
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
            approval_cell(&snap, p),
            st.and_then(|x| x.next_review).map(|d| d.to_string()).unwrap_or_default(),
            esc(st.map(|x| x.status).unwrap_or(""))
        ));
    }
    b.push_str("</table>");
    ok("Policies", &s, "/policies", b)
}

/// The approval column: the date of the recorded approval of the current text, or where it stands.
fn approval_cell(snap: &Snapshot, p: &assure_project::model::Policy) -> String {
    use assure_workspace::approval::ApprovalState;
    match snap.policy_approvals.get(p.id.as_str()) {
        Some(a) if a.state == ApprovalState::Approved => p.approved_on.map(|d| d.0.to_string()).unwrap_or_default(),
        Some(a) => format!("<span class=\"pill warn\">{}</span>", esc(a.state.as_str())),
        None => String::new(),
    }
}

/// The approval card on a policy's page: where it stands, the text's SHA-256, every approval
/// recorded, and the approve button for a named approver.
fn approval_card(snap: &Snapshot, p: &assure_project::model::Policy, s: &Session, may_approve: bool) -> String {
    use assure_workspace::approval::ApprovalState;
    let Some(a) = snap.policy_approvals.get(p.id.as_str()) else {
        return String::new();
    };
    let pill = match a.state {
        ApprovalState::Approved => "ok",
        _ => "bad",
    };
    let mut b = format!(
        "<div class=\"card\"><h2>Approval</h2><p><span class=\"pill {pill}\">{}</span> ",
        esc(a.state.as_str())
    );
    match (&a.state, &a.current, a.history.last()) {
        (ApprovalState::Approved, Some(c), _) => b.push_str(&format!(
            "Version {} approved by {} on {}, recorded in ledger entry {} by {} at {}.",
            esc(&c.record.version),
            esc(&c.record.approver_name),
            c.record.approved_on,
            c.seq,
            esc(&c.recorded_by),
            esc(&c.recorded_at)
        )),
        (ApprovalState::EditedSinceApproval, _, Some(last)) => b.push_str(&format!(
            "The text changed after version {} was approved on {} (ledger entry {}): the edited text needs a new version and a new approval.",
            esc(&last.record.version),
            last.record.approved_on,
            last.seq
        )),
        (ApprovalState::NotRecorded, _, _) => b.push_str(&format!(
            "{}, but no approval is recorded in the ledger: a typed field is not an approval.",
            esc(&capitalise(a.claimed.as_deref().unwrap_or("the front matter names an approval")))
        )),
        _ => b.push_str("No approval is recorded for this policy."),
    }
    b.push_str(&format!(
        "</p><p class=\"muted\">SHA-256 of the current text: <code>{}</code> (the policy file without its approved_by/approved_on lines; an approval is bound to it).</p>",
        esc(&a.sha256)
    ));
    if !a.history.is_empty() {
        b.push_str("<table><caption>Approvals recorded</caption><tr><th>Version</th><th>Approved by</th><th>On</th><th>Text SHA-256</th><th>Recorded by</th><th>Ledger entry</th><th>Note</th></tr>");
        for h in a.history.iter().rev() {
            b.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{} at {}</td><td>{}</td><td>{}</td></tr>",
                esc(&h.record.version),
                esc(&h.record.approver_name),
                h.record.approved_on,
                esc(h.record.sha256.get(..16).unwrap_or(&h.record.sha256)),
                esc(&h.recorded_by),
                esc(&h.recorded_at),
                h.seq,
                esc(&h.record.note)
            ));
        }
        b.push_str("</table>");
    }
    if a.state != ApprovalState::Approved && may_approve {
        b.push_str(&format!(
            "<form method=\"post\" action=\"/policies/{}/approve\">{}<p>You are a named policy approver. Approving records, in the signed ledger, that you approved version {} as it reads now.</p><label>Note (where it is minuted, for example) <input name=\"note\" maxlength=\"500\"></label> <button type=\"submit\">Approve version {}</button></form>",
            esc(p.id.as_str()),
            csrf_field(s.csrf()),
            esc(p.version.as_deref().unwrap_or("")),
            esc(p.version.as_deref().unwrap_or(""))
        ));
    }
    b.push_str("</div>");
    b
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// The policy a route names, or 404.
fn policy_in<'a>(snap: &'a Snapshot, id: &str) -> Result<&'a assure_project::model::Policy, AppError> {
    snap.project
        .policy(id)
        .ok_or_else(|| AppError::NotFound(format!("There is no policy `{id}`.")))
}

/// The project person the signed-in account is (its linked person, else its email), when that
/// person is one of the project's named policy approvers.
fn approver_of(snap: &Snapshot, user: &crate::db::User) -> Option<String> {
    let p = &snap.project;
    let me = user
        .person
        .as_deref()
        .and_then(|x| p.person(x))
        .or_else(|| p.person(&user.email))?;
    p.manifest
        .organization
        .policy_approvers
        .iter()
        .any(|a| p.person(a).is_some_and(|x| x.id.as_str() == me.id.as_str()))
        .then(|| me.id.to_string())
}

/// Markdown to HTML with raw HTML shown as text, safe links only and no images (one rule for every
/// HTML output: `assure_docs::safe_html`).
pub(super) fn markdown(body: &str) -> String {
    assure_docs::safe_html(body)
}

pub async fn policy(State(state): State<Shared>, s: Session, Path(id): Path<String>) -> Page {
    let snap = state.snapshot().await?;
    let p = policy_in(&snap, &id)?;
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
    let may_approve = crate::authz::role_allows(role, Action::ApprovePolicy) && approver_of(&snap, &s.user).is_some();
    b.push_str(&approval_card(&snap, p, &s, may_approve));
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
    let p = policy_in(&snap, &id)?;
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
    see_done(&format!("/policies/{}", p.id.as_str()), Done::PolicyAccepted)
}

#[derive(Debug, serde::Deserialize)]
pub struct ApproveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
}

/// Records the signed-in named approver's approval of a policy's current text.
pub async fn approve(
    State(state): State<Shared>,
    s: Session,
    Path(id): Path<String>,
    Form(f): Form<ApproveForm>,
) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    let snap = state.snapshot().await?;
    let p = policy_in(&snap, &id)?;
    state.authorize(&s, &snap, Action::ApprovePolicy, &[])?;
    let Some(approver) = approver_of(&snap, &s.user) else {
        return Err(AppError::Forbidden(
            "Only the people named in `policy_approvers` in assure.toml may approve policies.".into(),
        ));
    };
    let input = assure_workspace::approval::ApproveInput {
        policy: p.id.to_string(),
        approver,
        on: None,
        note: f.note.chars().take(500).collect(),
    };
    let backend = state.backend.clone();
    let by = s.user.email.clone();
    let entry = blocking(move || backend.approve_policy(&input, &by)).await??;
    state.invalidate().await;
    state
        .audit(
            Some(&s.user),
            "approved a policy",
            &format!("policy:{}", p.id.as_str()),
            &format!(
                "version {}, ledger entry {}",
                p.version.as_deref().unwrap_or(""),
                entry.seq
            ),
        )
        .await?;
    see_done(&format!("/policies/{}", p.id.as_str()), Done::PolicyApproved)
}
