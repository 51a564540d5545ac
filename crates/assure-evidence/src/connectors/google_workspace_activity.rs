//! `google-workspace-activity`: Google Workspace login and admin activity as the Admin SDK Reports
//! API returns it (`activities.list` for the `login` and `admin` applications: `{"kind":
//! "admin#reports#activities", "items": [...]}`, or an array of its items) onto `events`, source
//! `google-workspace`. Each activity holds one or more events; each event is one row, its id the
//! activity's `uniqueQualifier` and the event's position.
//!
//! - Login: `login_success` and `login_failure` are `console_login` with the outcome; `mfa` is true
//!   when the challenge methods (`login_challenge_method`) include anything beyond the password.
//!   Turning 2-Step Verification off (`2sv_disable`) is `mfa_removed`.
//! - Admin: creating a user is `create_user`, suspending or deleting one `deprovision_user`,
//!   granting an admin privilege or assigning an admin role `grant_privilege`, and turning 2-Step
//!   Verification enforcement off `mfa_removed`; the target is the user's email parameter.
//! - Other events keep Google's name in lower case.

use serde_json::Value;

use super::devices::listed;
use super::{Connector, Fixture, Kind, MAX_RECORDS, Record, Refusal, has, json, s, too_many_records};

/// Google Workspace login and admin activity.
#[derive(Debug, Clone, Copy)]
pub struct GoogleWorkspaceActivity;

impl Connector for GoogleWorkspaceActivity {
    fn id(&self) -> &'static str {
        "google-workspace-activity"
    }
    fn about(&self) -> &'static str {
        "Google Workspace login and admin activity (Admin SDK Reports API `activities.list` JSON)"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "events" }
    }
    fn detect(&self, text: &str) -> bool {
        text.contains("admin#reports#activit") || (has(text, "applicationName") && has(text, "uniqueQualifier"))
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        let v = json(text)?;
        let mut out = Vec::new();
        for a in listed(&v, &["items"], "Reports API activities")? {
            let events = a
                .get("events")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for (k, e) in events.iter().enumerate() {
                if out.len() >= MAX_RECORDS {
                    return Err(too_many_records());
                }
                out.push((out.len() as u64 + 1, activity_event(a, e, k, events.len())));
            }
        }
        Ok(out)
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "google-workspace-activity.json",
            include_bytes!("../../fixtures/connectors/google-workspace-activity.json"),
        )
    }
}

/// A parameter's value: `value`, `boolValue`, `intValue` or the `multiValue` list.
fn param(e: &Value, name: &str) -> Option<Value> {
    let p = e
        .get("parameters")?
        .as_array()?
        .iter()
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))?;
    ["value", "boolValue", "intValue", "multiValue"]
        .iter()
        .find_map(|k| p.get(*k).cloned())
}

fn param_text(e: &Value, name: &str) -> Option<String> {
    match param(e, name)? {
        Value::String(t) if !t.is_empty() => Some(t),
        Value::Array(items) => Some(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")),
        Value::Null | Value::String(_) => None,
        other => Some(other.to_string()),
    }
}

fn activity_event(a: &Value, e: &Value, k: usize, n: usize) -> Record {
    let name = s(e, &["name"]).unwrap_or_default();
    let (action, outcome, mfa) = match name.as_str() {
        "login_success" | "login_failure" => {
            let methods: Vec<String> = match param(e, "login_challenge_method") {
                Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
                Some(Value::String(t)) => vec![t],
                _ => Vec::new(),
            };
            let mfa = (!methods.is_empty()).then(|| methods.iter().any(|m| m != "password" && m != "none").to_string());
            let ok = name == "login_success";
            (
                "console_login".to_string(),
                Some(if ok { "success" } else { "failure" }),
                mfa,
            )
        }
        "2sv_disable" => ("mfa_removed".to_string(), Some("success"), None),
        "CREATE_USER" => ("create_user".to_string(), Some("success"), None),
        "SUSPEND_USER" | "DELETE_USER" => ("deprovision_user".to_string(), Some("success"), None),
        "GRANT_ADMIN_PRIVILEGE" | "ASSIGN_ROLE" | "GRANT_DELEGATED_ADMIN_PRIVILEGES" => {
            ("grant_privilege".to_string(), Some("success"), None)
        }
        "ENFORCE_STRONG_AUTHENTICATION"
            if param_text(e, "NEW_VALUE").is_some_and(|v| v.eq_ignore_ascii_case("false")) =>
        {
            ("mfa_removed".to_string(), Some("success"), None)
        }
        other => (other.to_ascii_lowercase(), Some("success"), None),
    };
    let qualifier = s(a, &["id", "uniqueQualifier"]).unwrap_or_default();
    let mut m = Record::new();
    m.insert(
        "event_id",
        Some(if n > 1 { format!("{qualifier}-{k}") } else { qualifier }).filter(|q| !q.is_empty()),
    );
    m.insert("occurred_at", s(a, &["id", "time"]));
    m.insert("source", Some("google-workspace".into()));
    m.insert("actor", s(a, &["actor", "email"]).map(|x| x.to_ascii_lowercase()));
    m.insert("action", Some(action));
    m.insert("raw_action", (!name.is_empty()).then_some(name));
    m.insert(
        "target",
        param_text(e, "USER_EMAIL")
            .or_else(|| param_text(e, "affected_email_address"))
            .or_else(|| s(a, &["id", "applicationName"])),
    );
    m.insert("outcome", outcome.map(str::to_string));
    m.insert("mfa", mfa);
    m.insert("source_ip", s(a, &["ipAddress"]));
    m
}
