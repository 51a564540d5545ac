//! Links a reader cannot follow are not shown: every HTML page passes through [`followable_links`],
//! which keeps the text of a link whose page would refuse the signed-in person (another owner's
//! control, the audit log for a control owner, the evidence for a viewer) and drops the link.
//! Pages stay simple (they link what they name); the rule lives here, once, beside the role table.

use super::*;
use crate::authz::{may_see_control, role_allows};

/// Whether `role` (as `user`) would be let into the page at `href` (a same-site path).
pub fn may_follow(role: Role, user: &crate::User, snap: &Snapshot, href: &str) -> bool {
    let path = href.split(['?', '#']).next().unwrap_or(href);
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let allows = |a| role_allows(role, a);
    match parts.as_slice() {
        [""] | ["my-work"] | ["window"] | ["frameworks", ..] => allows(Action::ReadDashboard),
        ["controls"] | ["risks"] | ["vendors", ..] => allows(Action::ReadControls),
        ["controls", id, ..] => may_see_control(role, user, snap, id),
        ["tests"] | ["periods"] | ["monitoring"] => allows(Action::ReadTests),
        ["tests", id, ..] => {
            let controls: Vec<&str> = snap
                .run
                .as_ref()
                .and_then(|(_, r)| r.tests.iter().find(|t| t.id == *id))
                .map(|t| t.controls.iter().map(String::as_str).collect())
                .unwrap_or_default();
            allows(Action::ReadTests)
                && (role != Role::ControlOwner
                    || controls.is_empty()
                    || controls.iter().any(|c| may_see_control(role, user, snap, c)))
        }
        ["evidence", seq, "download"] => {
            allows(Action::DownloadEvidence)
                && (role != Role::ControlOwner
                    || seq.parse::<u64>().ok().is_some_and(|n| {
                        snap.ledger
                            .iter()
                            .find(|e| e.seq == n)
                            .is_some_and(|e| crate::authz::may_see_entry(role, user, snap, e))
                    }))
        }
        ["evidence", ..] => allows(Action::ReadEvidence),
        ["requests", ..] => allows(Action::ReadRequests),
        ["policies", ..] => allows(Action::ReadPolicies),
        ["questionnaires", ..] => allows(Action::ReadQuestionnaires),
        ["audit"] => allows(Action::ReadAudit),
        ["users", ..] => allows(Action::ManageUsers),
        ["tokens", ..] => allows(Action::ManageOwnTokens),
        ["workpapers.tar"] => allows(Action::ExportWorkpapers),
        _ => true,
    }
}

/// `body` with every `<a href="/...">text</a>` that `keep` refuses replaced by its text.
pub fn unlink(body: &str, keep: &dyn Fn(&str) -> bool) -> String {
    const OPEN: &str = "<a href=\"/";
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(i) = rest.find(OPEN) {
        out.push_str(&rest[..i]);
        let tag = &rest[i..];
        let href_end = tag[OPEN.len()..].find('"').map(|j| OPEN.len() + j);
        let open_end = tag.find('>');
        let close = tag.find("</a>");
        match (href_end, open_end, close) {
            (Some(h), Some(o), Some(c)) if h < o && o < c => {
                let href = crate::html::unescape_attr(&tag[OPEN.len() - 1..h]);
                if keep(&href) {
                    out.push_str(&tag[..c + 4]);
                } else {
                    out.push_str(&tag[o + 1..c]);
                }
                rest = &tag[c + 4..];
            }
            _ => {
                out.push_str(OPEN);
                rest = &tag[OPEN.len()..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The middleware: HTML pages for signed-in people lose the links they could not follow.
pub async fn followable_links(
    State(state): State<Shared>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = req.headers().clone();
    let resp = next.run(req).await;
    let html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !html {
        return resp;
    }
    let Ok(Some(s)) = state.session(&headers).await else {
        return resp;
    };
    let Some(role) = Role::parse(&s.user.role) else {
        return resp;
    };
    if role == Role::Admin {
        return resp;
    }
    let Ok(snap) = state.snapshot().await else {
        return resp;
    };
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, super::MAX_PAGE).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let out = unlink(&String::from_utf8_lossy(&bytes), &|href| {
        may_follow(role, &s.user, &snap, href)
    });
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(out))
}
