//! `google-workspace-users`: Google Workspace users as the Directory API lists them onto
//! `accounts`, with 2-step verification enrolment as `mfa_enabled`: a CSV (such as `gam print
//! users`) or the API's own JSON (`users.list` pages, as the `google-workspace` collector saves
//! them).

use serde_json::Value;

use super::{Connector, Fixture, Kind, MAX_RECORDS, Record, Refusal, has, too_many_records};

/// Google Workspace users.
#[derive(Debug, Clone, Copy)]
pub struct GoogleWorkspaceUsers;

impl Connector for GoogleWorkspaceUsers {
    fn id(&self) -> &'static str {
        "google-workspace-users"
    }
    fn about(&self) -> &'static str {
        "Google Workspace users as the Directory API lists them (CSV such as `gam print users`, or the API's JSON)"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "accounts" }
    }
    fn detect(&self, text: &str) -> bool {
        let header = text.lines().next().unwrap_or("").to_ascii_lowercase();
        (header.contains("primaryemail") && (header.contains("isenrolledin2sv") || header.contains("suspended")))
            || has(text, "admin#directory#user")
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        self.records_numbered(text, crate::read::Lines::Start)
    }
    fn records_numbered(&self, text: &str, lines: crate::read::Lines) -> Result<Vec<(u64, Record)>, Refusal> {
        google_user_records(text, lines).map_err(|e| Refusal::new(e, "export the users again as CSV"))
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "users.csv",
            include_bytes!("../../fixtures/connectors/google-workspace-users.csv"),
        )
    }
}

fn google_user_records(text: &str, lines: crate::read::Lines) -> Result<Vec<(u64, Record)>, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        return google_json_records(text);
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
        out.push((line, user(&get)));
    }
    Ok(out)
}

/// The Directory API's own answer (`users.list`): one page `{"users": [...]}` or a JSON array of
/// the pages, as the `google-workspace` collector saves them.
fn google_json_records(text: &str) -> Result<Vec<(u64, Record)>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let pages: Vec<&Value> = match &v {
        Value::Array(p) => p.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for page in pages {
        let users = match page.get("users") {
            Some(Value::Array(u)) => u.as_slice(),
            // A page with no users (an empty domain, or the last page) has no `users` key.
            None => &[],
            Some(_) => return Err("`users` is not a list".into()),
        };
        for u in users {
            let get = |name: &str| {
                let key = u.as_object()?.keys().find(|k| k.eq_ignore_ascii_case(name))?;
                match u.get(key)? {
                    Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                    Value::Bool(b) => Some(b.to_string()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                }
            };
            if out.len() >= MAX_RECORDS {
                return Err(too_many_records().message);
            }
            out.push((out.len() as u64 + 1, user(&get)));
        }
    }
    Ok(out)
}

/// One `accounts` row from a user's fields, named as the API names them (case-insensitive).
fn user(get: &dyn Fn(&str) -> Option<String>) -> Record {
    let yes = |name: &str| get(name).map(|v| v.eq_ignore_ascii_case("true"));
    let inactive = yes("suspended").unwrap_or(false) || yes("archived").unwrap_or(false);
    let mut m = Record::new();
    m.insert("system", Some("google-workspace".into()));
    m.insert("account_id", get("id").or_else(|| get("primaryemail")));
    m.insert("email", get("primaryemail"));
    m.insert("kind", Some("human".into()));
    m.insert("role", yes("isadmin").filter(|a| *a).map(|_| "super-admin".to_string()));
    m.insert("privileged", Some(yes("isadmin").unwrap_or(false).to_string()));
    m.insert("mfa_enabled", yes("isenrolledin2sv").map(|b| b.to_string()));
    m.insert("status", Some(if inactive { "suspended" } else { "active" }.into()));
    m.insert("created_at", get("creationtime"));
    m.insert("deprovisioned_at", None);
    // The Directory API reports 1970-01-01 for users who never signed in.
    m.insert(
        "last_login_at",
        get("lastlogintime").filter(|t| !t.starts_with("1970-01-01")),
    );
    m
}
