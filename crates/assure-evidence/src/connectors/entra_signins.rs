//! `entra-signins`: Microsoft Entra ID sign-in logs as Microsoft Graph lists them
//! (`GET /auditLogs/signIns`; the response `{"value": [...]}` or an array of its items) onto
//! `events`, source `entra`.
//!
//! - An interactive sign-in is `console_login`; a non-interactive one (a token refreshed by an app)
//!   is `token_sign_in`, so the console MFA test sees only people signing in.
//! - `outcome`: `success` when `status.errorCode` is 0, `failure` otherwise.
//! - `mfa` from `authenticationRequirement` (`multiFactorAuthentication`, in the beta endpoint and
//!   in exports from the portal) or, failing that, from `authenticationDetails` (a step other than
//!   the password that succeeded); unknown when the log carries neither, as v1.0 responses do.

use serde_json::Value;

use super::devices::listed;
use super::{Connector, Fixture, Kind, Record, Refusal, has, json, numbered, s};

/// Microsoft Entra ID sign-in logs.
#[derive(Debug, Clone, Copy)]
pub struct EntraSignIns;

impl Connector for EntraSignIns {
    fn id(&self) -> &'static str {
        "entra-signins"
    }
    fn about(&self) -> &'static str {
        "Microsoft Entra ID sign-in logs (Graph `/auditLogs/signIns` JSON)"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "events" }
    }
    fn detect(&self, text: &str) -> bool {
        has(text, "userPrincipalName")
            && has(text, "createdDateTime")
            && (has(text, "appDisplayName") || has(text, "clientAppUsed"))
            && has(text, "status")
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        let v = json(text)?;
        numbered(listed(&v, &["value"], "Entra ID sign-ins")?.iter().map(entra_signin))
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "entra-signins.json",
            include_bytes!("../../fixtures/connectors/entra-signins.json"),
        )
    }
}

fn mfa_of(e: &Value) -> Option<String> {
    if let Some(r) = s(e, &["authenticationRequirement"]) {
        return Some((r == "multiFactorAuthentication").to_string());
    }
    let steps = e.get("authenticationDetails")?.as_array()?;
    let strong = steps.iter().any(|st| {
        st.get("succeeded").and_then(Value::as_bool) == Some(true)
            && s(st, &["authenticationMethod"]).is_some_and(|m| !m.eq_ignore_ascii_case("password"))
    });
    Some(strong.to_string())
}

fn entra_signin(e: &Value) -> Record {
    let interactive = e.get("isInteractive").and_then(Value::as_bool).unwrap_or(true);
    let code = e
        .get("status")
        .and_then(|st| st.get("errorCode"))
        .and_then(Value::as_i64);
    let raw = if interactive {
        "interactiveSignIn"
    } else {
        "nonInteractiveSignIn"
    };
    let mut m = Record::new();
    m.insert("event_id", s(e, &["id"]));
    m.insert("occurred_at", s(e, &["createdDateTime"]));
    m.insert("source", Some("entra".into()));
    m.insert("actor", s(e, &["userPrincipalName"]).map(|u| u.to_ascii_lowercase()));
    m.insert(
        "action",
        Some(if interactive { "console_login" } else { "token_sign_in" }.into()),
    );
    m.insert("raw_action", Some(raw.into()));
    m.insert(
        "target",
        s(e, &["appDisplayName"]).or_else(|| s(e, &["resourceDisplayName"])),
    );
    m.insert(
        "outcome",
        code.map(|c| if c == 0 { "success" } else { "failure" }.to_string()),
    );
    m.insert("mfa", mfa_of(e));
    m.insert("source_ip", s(e, &["ipAddress"]));
    m
}
