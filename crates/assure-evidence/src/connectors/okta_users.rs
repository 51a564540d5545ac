//! `okta-users`: Okta users onto `accounts`, from a CSV export with the API's user fields (`id`,
//! `status`, `profile.login`, ...) or from the API's own JSON (`GET /api/v1/users`, as the `okta`
//! collector saves it, each user with the `factors` it has enrolled); lifecycle states map to the
//! table's statuses. `mfa_enabled` is known only from the factors: an active factor other than a
//! security question.

use serde_json::Value;

use super::{Connector, Fixture, Kind, MAX_RECORDS, Record, Refusal, has, too_many_records};

/// Okta user exports.
#[derive(Debug, Clone, Copy)]
pub struct OktaUsers;

impl Connector for OktaUsers {
    fn id(&self) -> &'static str {
        "okta-users"
    }
    fn about(&self) -> &'static str {
        "Okta users (CSV with the API's user fields, or the API's JSON with enrolled factors)"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "accounts" }
    }
    fn detect(&self, text: &str) -> bool {
        let header = text.lines().next().unwrap_or("").to_ascii_lowercase();
        (header.contains("profile.login") && header.contains("status"))
            // The API's JSON: user objects with a lifecycle and a profile, not log events.
            || (text.trim_start().starts_with('[')
                && has(text, "statusChanged")
                && has(text, "profile")
                && !has(text, "eventType"))
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        self.records_numbered(text, crate::read::Lines::Start)
    }
    fn records_numbered(&self, text: &str, lines: crate::read::Lines) -> Result<Vec<(u64, Record)>, Refusal> {
        okta_user_records(text, lines).map_err(|e| Refusal::new(e, "export the users again as CSV"))
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "okta-users.csv",
            include_bytes!("../../fixtures/connectors/okta-users.csv"),
        )
    }
}

fn okta_user_records(text: &str, lines: crate::read::Lines) -> Result<Vec<(u64, Record)>, String> {
    if text.trim_start().starts_with('[') {
        return okta_json_records(text);
    }
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| format!("not valid CSV: {e}"))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let mut out = Vec::new();
    let mut line_of = crate::read::line_numbers(text.as_bytes(), lines);
    for rec in rdr.records() {
        let rec = rec.map_err(|e| format!("not valid CSV: {e}"))?;
        let line = rec.position().map_or(0, &mut line_of);
        let get = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|i| rec.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        if out.len() >= MAX_RECORDS {
            return Err(too_many_records().message);
        }
        out.push((line, user(&get, None)));
    }
    Ok(out)
}

/// The API's own answer: a JSON array of user objects (`GET /api/v1/users`, the pages joined), each
/// optionally with the `factors` the collector added from `GET /api/v1/users/{id}/factors`.
fn okta_json_records(text: &str) -> Result<Vec<(u64, Record)>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let users = v
        .as_array()
        .ok_or_else(|| "expected a JSON array of Okta users".to_string())?;
    let mut out = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let get = |name: &str| {
            let mut cur = u;
            for part in name.split('.') {
                let key = cur
                    .as_object()
                    .and_then(|o| o.keys().find(|k| k.eq_ignore_ascii_case(part)))?;
                cur = cur.get(key)?;
            }
            match cur {
                Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                Value::Bool(b) => Some(b.to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        // Enrolled factors: an active factor other than a security question counts as MFA.
        let mfa = u.get("factors").and_then(Value::as_array).map(|fs| {
            fs.iter().any(|f| {
                f.get("status").and_then(Value::as_str) == Some("ACTIVE")
                    && !matches!(
                        f.get("factorType").and_then(Value::as_str),
                        Some("question" | "password") | None
                    )
            })
        });
        if out.len() >= MAX_RECORDS {
            return Err(too_many_records().message);
        }
        out.push((i as u64 + 1, user(&get, mfa)));
    }
    Ok(out)
}

/// One `accounts` row from a user's fields, named as the API names them (case-insensitive).
fn user(get: &dyn Fn(&str) -> Option<String>, mfa: Option<bool>) -> Record {
    let raw_status = get("status").unwrap_or_default().to_ascii_uppercase();
    // Okta's lifecycle states; staged and provisioned users cannot sign in yet.
    let canonical = match raw_status.as_str() {
        "DEPROVISIONED" => "deprovisioned",
        "SUSPENDED" | "STAGED" | "PROVISIONED" => "suspended",
        "" => "",
        _ => "active",
    };
    let mut m = Record::new();
    m.insert("system", Some("okta".into()));
    m.insert("account_id", get("id").or_else(|| get("profile.login")));
    m.insert("email", get("profile.email").or_else(|| get("profile.login")));
    m.insert("kind", Some("human".into()));
    m.insert("role", None);
    // The user list does not say who is an administrator; admin roles come from another export.
    m.insert("privileged", Some("false".into()));
    m.insert("mfa_enabled", mfa.map(|b| b.to_string()));
    m.insert("status", (!canonical.is_empty()).then(|| canonical.to_string()));
    m.insert("created_at", get("created"));
    m.insert(
        "deprovisioned_at",
        if canonical == "deprovisioned" {
            get("statuschanged")
        } else {
            None
        },
    );
    m.insert("last_login_at", get("lastlogin"));
    m
}
