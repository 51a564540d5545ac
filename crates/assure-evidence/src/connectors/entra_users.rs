//! `entra-users`: Microsoft Entra ID users as Microsoft Graph lists them (`GET /users` with
//! `$select=id,userPrincipalName,mail,accountEnabled,userType,createdDateTime,signInActivity`; the
//! response `{"value": [...]}` or an array of its items) onto `accounts`, system `entra`.
//!
//! - MFA and administrator status are not user properties in Graph: they come from the
//!   authentication-methods registration report (`GET /reports/authenticationMethods/
//!   userRegistrationDetails`). A collector adds that report's `isMfaRegistered` and `isAdmin` to each
//!   user (joined on `id`); where they are absent, `mfa_enabled` is unknown and `privileged` false.
//! - `status`: `deprovisioned` for a user in the deleted items (`deletedDateTime`, which is then
//!   `deprovisioned_at`), `suspended` when `accountEnabled` is false, `active` otherwise.
//! - `kind` is `human`: Entra keeps applications as service principals, not users.
//! - `last_login_at` is the last interactive sign-in (`signInActivity.lastSignInDateTime`).

use serde_json::Value;

use super::devices::{email, flag, listed};
use super::{Connector, Fixture, Kind, Record, Refusal, has, json, numbered, s};

/// Microsoft Entra ID users.
#[derive(Debug, Clone, Copy)]
pub struct EntraUsers;

impl Connector for EntraUsers {
    fn id(&self) -> &'static str {
        "entra-users"
    }
    fn about(&self) -> &'static str {
        "Microsoft Entra ID users (Graph `/users` JSON, with the registration report's `isMfaRegistered` and `isAdmin`)"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "accounts" }
    }
    fn detect(&self, text: &str) -> bool {
        has(text, "userPrincipalName") && has(text, "accountEnabled")
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        let v = json(text)?;
        numbered(listed(&v, &["value"], "Entra ID users")?.iter().map(entra_user))
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "entra-users.json",
            include_bytes!("../../fixtures/connectors/entra-users.json"),
        )
    }
}

fn entra_user(u: &Value) -> Record {
    let deleted = s(u, &["deletedDateTime"]);
    let enabled = flag(u.get("accountEnabled"));
    let status = if deleted.is_some() {
        "deprovisioned"
    } else if enabled.as_deref() == Some("false") {
        "suspended"
    } else {
        "active"
    };
    let mut m = Record::new();
    m.insert("system", Some("entra".into()));
    m.insert("account_id", s(u, &["userPrincipalName"]).or_else(|| s(u, &["id"])));
    m.insert(
        "email",
        email(s(u, &["mail"])).or_else(|| email(s(u, &["userPrincipalName"]))),
    );
    m.insert("kind", Some("human".into()));
    m.insert("role", s(u, &["userType"]).map(|t| t.to_ascii_lowercase()));
    m.insert(
        "privileged",
        Some(flag(u.get("isAdmin")).unwrap_or_else(|| "false".into())),
    );
    m.insert("mfa_enabled", flag(u.get("isMfaRegistered")));
    m.insert("status", Some(status.into()));
    m.insert("created_at", s(u, &["createdDateTime"]));
    m.insert("deprovisioned_at", deleted);
    m.insert("last_login_at", s(u, &["signInActivity", "lastSignInDateTime"]));
    m
}
