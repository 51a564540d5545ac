//! `google-workspace-users`: Google Workspace users as the Directory API lists them (CSV, such as
//! `gam print users`) onto `accounts`, with 2-step verification enrolment as `mfa_enabled`.

use super::{Connector, Fixture, Kind, MAX_RECORDS, Record, Refusal, too_many_records};

/// Google Workspace users.
#[derive(Debug, Clone, Copy)]
pub struct GoogleWorkspaceUsers;

impl Connector for GoogleWorkspaceUsers {
    fn id(&self) -> &'static str {
        "google-workspace-users"
    }
    fn about(&self) -> &'static str {
        "Google Workspace users as the Directory API lists them (CSV, such as `gam print users`)"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "accounts" }
    }
    fn detect(&self, text: &str) -> bool {
        let header = text.lines().next().unwrap_or("").to_ascii_lowercase();
        header.contains("primaryemail") && (header.contains("isenrolledin2sv") || header.contains("suspended"))
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        google_user_records(text).map_err(|e| Refusal::new(e, "export the users again as CSV"))
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "users.csv",
            include_bytes!("../../fixtures/connectors/google-workspace-users.csv"),
        )
    }
}

fn google_user_records(text: &str) -> Result<Vec<(u64, Record)>, String> {
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| format!("not valid CSV: {e}"))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (email, id, suspended, archived, admin, enrolled, created, last) = (
        col("primaryemail"),
        col("id"),
        col("suspended"),
        col("archived"),
        col("isadmin"),
        col("isenrolledin2sv"),
        col("creationtime"),
        col("lastlogintime"),
    );
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| format!("not valid CSV: {e}"))?;
        let line = rec.position().map_or(0, |p| p.line());
        let get = |i: Option<usize>| {
            i.and_then(|i| rec.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let yes = |i: Option<usize>| get(i).map(|v| v.eq_ignore_ascii_case("true"));
        let inactive = yes(suspended).unwrap_or(false) || yes(archived).unwrap_or(false);
        let mut m = Record::new();
        m.insert("system", Some("google-workspace".into()));
        m.insert("account_id", get(id).or_else(|| get(email)));
        m.insert("email", get(email));
        m.insert("kind", Some("human".into()));
        m.insert("role", yes(admin).filter(|a| *a).map(|_| "super-admin".to_string()));
        m.insert("privileged", Some(yes(admin).unwrap_or(false).to_string()));
        m.insert("mfa_enabled", yes(enrolled).map(|b| b.to_string()));
        m.insert("status", Some(if inactive { "suspended" } else { "active" }.into()));
        m.insert("created_at", get(created));
        m.insert("deprovisioned_at", None);
        // The Directory API reports 1970-01-01 for users who never signed in.
        m.insert("last_login_at", get(last).filter(|t| !t.starts_with("1970-01-01")));
        if out.len() >= MAX_RECORDS {
            return Err(too_many_records().message);
        }
        out.push((line, m));
    }
    Ok(out)
}
