//! `okta-users`: Okta user exports (CSV) with the API's user fields (`id`, `status`,
//! `profile.login`, ...) onto `accounts`; lifecycle states map to the table's statuses.

use super::{Connector, Fixture, Kind, MAX_RECORDS, Record, Refusal, too_many_records};

/// Okta user exports.
#[derive(Debug, Clone, Copy)]
pub struct OktaUsers;

impl Connector for OktaUsers {
    fn id(&self) -> &'static str {
        "okta-users"
    }
    fn about(&self) -> &'static str {
        "Okta user exports (CSV with the API's user fields)"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "accounts" }
    }
    fn detect(&self, text: &str) -> bool {
        let header = text.lines().next().unwrap_or("").to_ascii_lowercase();
        header.contains("profile.login") && header.contains("status")
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        okta_user_records(text).map_err(|e| Refusal::new(e, "export the users again as CSV"))
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "okta-users.csv",
            include_bytes!("../../fixtures/connectors/okta-users.csv"),
        )
    }
}

fn okta_user_records(text: &str) -> Result<Vec<(u64, Record)>, String> {
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| format!("not valid CSV: {e}"))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (id, status, created, changed, last) = (
        col("id"),
        col("status"),
        col("created"),
        col("statusChanged"),
        col("lastLogin"),
    );
    let (login, email) = (col("profile.login"), col("profile.email"));
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
        let raw_status = get(status).unwrap_or_default().to_ascii_uppercase();
        // Okta's lifecycle states; staged and provisioned users cannot sign in yet.
        let canonical = match raw_status.as_str() {
            "DEPROVISIONED" => "deprovisioned",
            "SUSPENDED" | "STAGED" | "PROVISIONED" => "suspended",
            "" => "",
            _ => "active",
        };
        let mut m = Record::new();
        m.insert("system", Some("okta".into()));
        m.insert("account_id", get(id).or_else(|| get(login)));
        m.insert("email", get(email).or_else(|| get(login)));
        m.insert("kind", Some("human".into()));
        m.insert("role", None);
        // The user list does not say who is an administrator; admin roles come from another export.
        m.insert("privileged", Some("false".into()));
        m.insert("mfa_enabled", None);
        m.insert("status", (!canonical.is_empty()).then(|| canonical.to_string()));
        m.insert("created_at", get(created));
        m.insert(
            "deprovisioned_at",
            if canonical == "deprovisioned" {
                get(changed)
            } else {
                None
            },
        );
        m.insert("last_login_at", get(last));
        if out.len() >= MAX_RECORDS {
            return Err(too_many_records().message);
        }
        out.push((line, m));
    }
    Ok(out)
}
