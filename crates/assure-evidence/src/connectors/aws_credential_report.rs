//! `aws-credential-report`: the AWS IAM credential report (`aws iam get-credential-report`, CSV;
//! its columns are documented in the IAM User Guide, "Getting credential reports") onto
//! `accounts`: one account per IAM user and the root user of the AWS account.
//!
//! - `system` is `aws-ACCOUNT` (the account id from each row's ARN), and `account_id` the user name
//!   (`root` for `<root_account>`). IAM users carry no email: give people an alias
//!   `aws-ACCOUNT:NAME` in `people.toml` and identity resolution names them.
//! - `kind`: `service` for a user that cannot sign in to the console (no password) but has an active
//!   access key (a deployer, an integration); `human` otherwise.
//! - `privileged`: the root user. The report does not carry IAM policies, so other administrators
//!   are not marked here; export them with their policies (canonical `accounts`) to test them.
//! - `mfa_enabled` from `mfa_active`; `status` `active` when the user has a password or an active
//!   access key, `suspended` when it has neither (it cannot authenticate); `last_login_at` the
//!   password's last use (or, for a service user, its access keys' latest use).

use super::{Connector, Fixture, Kind, MAX_RECORDS, Record, Refusal, too_many_records};

/// The AWS IAM credential report.
#[derive(Debug, Clone, Copy)]
pub struct AwsCredentialReport;

impl Connector for AwsCredentialReport {
    fn id(&self) -> &'static str {
        "aws-credential-report"
    }
    fn about(&self) -> &'static str {
        "the AWS IAM credential report (CSV from `aws iam get-credential-report`): IAM users and the root user with MFA, passwords and access keys"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "accounts" }
    }
    fn detect(&self, text: &str) -> bool {
        text.trim_start_matches('\u{feff}')
            .starts_with("user,arn,user_creation_time,password_enabled")
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        self.records_numbered(text, crate::read::Lines::Start)
    }
    fn records_numbered(&self, text: &str, lines: crate::read::Lines) -> Result<Vec<(u64, Record)>, Refusal> {
        credential_records(text, lines).map_err(|e| Refusal::new(e, "download the credential report again as CSV"))
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "credential-report.csv",
            include_bytes!("../../fixtures/connectors/aws-credential-report.csv"),
        )
    }
}

/// A timestamp cell, or nothing for the report's placeholders (`N/A`, `no_information`,
/// `not_supported`).
fn instant(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|v| v.len() >= 10 && v.as_bytes().first().is_some_and(u8::is_ascii_digit))
        .map(str::to_string)
}

fn credential_records(text: &str, lines: crate::read::Lines) -> Result<Vec<(u64, Record)>, String> {
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| format!("not valid CSV: {e}"))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let need = |name: &str| col(name).ok_or_else(|| format!("the report has no `{name}` column"));
    let (user, arn, created, password, mfa) = (
        need("user")?,
        need("arn")?,
        need("user_creation_time")?,
        need("password_enabled")?,
        need("mfa_active")?,
    );
    let (pw_used, key1, key2, key1_used, key2_used) = (
        col("password_last_used"),
        col("access_key_1_active"),
        col("access_key_2_active"),
        col("access_key_1_last_used_date"),
        col("access_key_2_last_used_date"),
    );
    let mut out = Vec::new();
    let mut line_of = crate::read::line_numbers(text.as_bytes(), lines);
    for rec in rdr.records() {
        let rec = rec.map_err(|e| format!("not valid CSV: {e}"))?;
        let line = rec.position().map_or(0, &mut line_of);
        let cell = |i: Option<usize>| i.and_then(|i| rec.get(i)).map(str::trim);
        let yes = |i: Option<usize>| cell(i).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let name = cell(Some(user)).unwrap_or_default();
        let root = name == "<root_account>";
        let account = cell(Some(arn))
            .and_then(|a| a.split(':').nth(4))
            .filter(|a| !a.is_empty())
            .unwrap_or("unknown");
        let has_password = root || yes(Some(password));
        let has_key = yes(key1) || yes(key2);
        let key_used = [instant(cell(key1_used)), instant(cell(key2_used))]
            .into_iter()
            .flatten()
            .max();
        let mut m = Record::new();
        m.insert("system", Some(format!("aws-{account}")));
        m.insert(
            "account_id",
            Some(if root { "root".to_string() } else { name.to_string() }),
        );
        m.insert("email", None);
        m.insert(
            "kind",
            Some(if !has_password && has_key { "service" } else { "human" }.into()),
        );
        m.insert("role", root.then(|| "root".to_string()));
        m.insert("privileged", Some(root.to_string()));
        m.insert("mfa_enabled", Some(yes(Some(mfa)).to_string()));
        m.insert(
            "status",
            Some(if has_password || has_key { "active" } else { "suspended" }.into()),
        );
        m.insert("created_at", instant(cell(Some(created))));
        m.insert("deprovisioned_at", None);
        m.insert(
            "last_login_at",
            instant(cell(pw_used)).or(if has_password { None } else { key_used }),
        );
        if out.len() >= MAX_RECORDS {
            return Err(too_many_records().message);
        }
        out.push((line, m));
    }
    Ok(out)
}
