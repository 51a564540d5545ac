//! Vendor connectors: what real systems export, mapped onto the canonical tables with each vendor's
//! documented field names. Every mapped record goes through the same validation as canonical files.
//!
//! - `cloudtrail`: AWS CloudTrail log files (`{"Records": [...]}`, gzipped or not) → `events`
//! - `okta-system-log`: Okta System Log events (API JSON array or NDJSON) → `events`
//! - `trivy-json`: Trivy JSON reports (`SchemaVersion` 2) → `vulnerabilities`
//! - `github-pulls`: GitHub pull requests (REST JSON array, each with its `reviews`) → `changes`
//! - `okta-users`: Okta user exports with the API's fields (`id`, `status`, `profile.login`, ...) → `accounts`
//! - `google-workspace-users`: Google Workspace users with the Directory API's fields → `accounts`
//! - `sarif`: SARIF 2.1.0 results (code scanners) → `vulnerabilities`
//! - `git-log`: a local repository's merge commits and their review trailers → `changes`

use std::collections::BTreeMap;
use std::io::Read;

use serde_json::Value;

use crate::read::{Outcome, Problem, RowFn, read_mapped};
use crate::tables::{Table, table};

/// A vendor connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vendor {
    /// The connector id.
    pub id: &'static str,
    /// The canonical table it fills.
    pub table: &'static str,
    /// What it reads.
    pub about: &'static str,
}

/// Every vendor connector.
pub const VENDORS: &[Vendor] = &[
    Vendor {
        id: "cloudtrail",
        table: "events",
        about: "AWS CloudTrail log files (JSON, gzipped or not)",
    },
    Vendor {
        id: "okta-system-log",
        table: "events",
        about: "Okta System Log events (API JSON array or NDJSON)",
    },
    Vendor {
        id: "trivy-json",
        table: "vulnerabilities",
        about: "Trivy JSON reports",
    },
    Vendor {
        id: "github-pulls",
        table: "changes",
        about: "GitHub pull requests with their reviews (REST API JSON)",
    },
    Vendor {
        id: "okta-users",
        table: "accounts",
        about: "Okta user exports (CSV with the API's user fields)",
    },
    Vendor {
        id: "google-workspace-users",
        table: "accounts",
        about: "Google Workspace users as the Directory API lists them (CSV, such as `gam print users`)",
    },
    Vendor {
        id: "sarif",
        table: "vulnerabilities",
        about: "SARIF 2.1.0 scanner results",
    },
    Vendor {
        id: "git-log",
        table: "changes",
        about: "a local git repository's merge history, with review trailers",
    },
];

/// The largest vendor file read, after decompression.
pub const MAX_DECOMPRESSED: u64 = 1024 * 1024 * 1024;

/// Looks a vendor connector up.
pub fn vendor(id: &str) -> Option<&'static Vendor> {
    VENDORS.iter().find(|v| v.id == id)
}

/// Recognises a vendor format from the first bytes of a (decompressed) file.
pub fn detect(head: &[u8]) -> Option<&'static Vendor> {
    let text = String::from_utf8_lossy(head.get(..head.len().min(8192)).unwrap_or(&[]));
    let has = |k: &str| text.contains(&format!("\"{k}\""));
    if has("Records") && (has("eventVersion") || has("eventSource")) {
        return vendor("cloudtrail");
    }
    if has("eventType") && has("published") && has("actor") {
        return vendor("okta-system-log");
    }
    if has("SchemaVersion") && has("ArtifactName") {
        return vendor("trivy-json");
    }
    if has("merged_at") && has("user") && (has("number") || has("html_url")) {
        return vendor("github-pulls");
    }
    if (has("$schema") && text.contains("sarif")) || (has("runs") && has("tool") && has("results")) {
        return vendor("sarif");
    }
    if text.starts_with(GIT_LOG_HEADER) {
        return vendor("git-log");
    }
    let header = text.lines().next().unwrap_or("").to_ascii_lowercase();
    if header.contains("profile.login") && header.contains("status") {
        return vendor("okta-users");
    }
    if header.contains("primaryemail") && (header.contains("isenrolledin2sv") || header.contains("suspended")) {
        return vendor("google-workspace-users");
    }
    None
}

/// Returns whether the bytes start a gzip stream.
pub fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

type Record = BTreeMap<&'static str, Option<String>>;

fn s(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    match cur {
        Value::Null => None,
        Value::String(t) if t.is_empty() => None,
        Value::String(t) => Some(t.clone()),
        other => Some(other.to_string()),
    }
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else if ch == '.' || ch == '-' {
            out.push('_');
        } else {
            out.push(ch);
        }
    }
    out
}

fn cloudtrail_action(name: &str) -> String {
    match name {
        "ConsoleLogin" => "console_login".into(),
        "StopLogging" => "stop_logging".into(),
        "DeleteTrail" => "delete_trail".into(),
        "UpdateTrail" => "update_trail".into(),
        "PutEventSelectors" => "update_trail".into(),
        "CreateAccessKey" => "create_access_key".into(),
        other => snake(other),
    }
}

fn cloudtrail_record(r: &Value) -> Record {
    let name = s(r, &["eventName"]).unwrap_or_default();
    let identity_type = s(r, &["userIdentity", "type"]).unwrap_or_default();
    let actor = if identity_type == "Root" {
        Some("root".to_string())
    } else {
        s(r, &["userIdentity", "userName"])
            .or_else(|| s(r, &["userIdentity", "sessionContext", "sessionIssuer", "userName"]))
            .or_else(|| s(r, &["userIdentity", "arn"]))
    };
    let failed = s(r, &["errorCode"]).is_some()
        || s(r, &["responseElements", "ConsoleLogin"]).is_some_and(|x| x.eq_ignore_ascii_case("failure"));
    let mfa = s(r, &["additionalEventData", "MFAUsed"]).map(|m| (m == "Yes").to_string());
    let target = s(r, &["requestParameters", "name"])
        .or_else(|| r.get("resources").and_then(|x| x.get(0)).and_then(|x| s(x, &["ARN"])));
    let mut m = Record::new();
    m.insert("event_id", s(r, &["eventID"]));
    m.insert("occurred_at", s(r, &["eventTime"]));
    m.insert("source", Some("cloudtrail".into()));
    m.insert("actor", actor);
    m.insert("action", Some(cloudtrail_action(&name)));
    m.insert("raw_action", (!name.is_empty()).then_some(name));
    m.insert("target", target);
    m.insert("outcome", Some(if failed { "failure" } else { "success" }.into()));
    m.insert("mfa", mfa);
    m.insert("source_ip", s(r, &["sourceIPAddress"]));
    m
}

fn okta_action(event_type: &str) -> String {
    match event_type {
        "user.session.start" => "console_login".into(),
        "user.authentication.auth_via_mfa" => "mfa_verify".into(),
        "user.mfa.factor.deactivate" => "mfa_removed".into(),
        "system.api_token.create" => "create_access_key".into(),
        "user.account.privilege.grant" => "grant_privilege".into(),
        "application.user_membership.add" => "grant_access".into(),
        "user.lifecycle.deactivate" => "deprovision_user".into(),
        "policy.lifecycle.deactivate" => "disable_policy".into(),
        other => other.replace('.', "_"),
    }
}

fn okta_record(e: &Value) -> Record {
    let et = s(e, &["eventType"]).unwrap_or_default();
    let outcome = s(e, &["outcome", "result"]).and_then(|r| match r.as_str() {
        "SUCCESS" | "ALLOW" => Some("success".to_string()),
        "FAILURE" | "DENY" => Some("failure".to_string()),
        _ => None,
    });
    let mut m = Record::new();
    m.insert("event_id", s(e, &["uuid"]));
    m.insert("occurred_at", s(e, &["published"]));
    m.insert("source", Some("okta".into()));
    m.insert(
        "actor",
        s(e, &["actor", "alternateId"]).or_else(|| s(e, &["actor", "displayName"])),
    );
    m.insert("action", Some(okta_action(&et)));
    m.insert("raw_action", (!et.is_empty()).then_some(et));
    m.insert(
        "target",
        e.get("target")
            .and_then(|t| t.get(0))
            .and_then(|t| s(t, &["alternateId"]).or_else(|| s(t, &["displayName"]))),
    );
    m.insert("outcome", outcome);
    m.insert("mfa", None);
    m.insert("source_ip", s(e, &["client", "ipAddress"]));
    m
}

fn trivy_records(report: &Value) -> Vec<Record> {
    let artifact = s(report, &["ArtifactName"]).unwrap_or_default();
    let created = s(report, &["CreatedAt"]);
    let mut out = Vec::new();
    for result in report.get("Results").and_then(Value::as_array).into_iter().flatten() {
        for v in result
            .get("Vulnerabilities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let id = s(v, &["VulnerabilityID"]).unwrap_or_default();
            let pkg = s(v, &["PkgName"]).unwrap_or_default();
            let sev = s(v, &["Severity"]).map(|x| match x.to_ascii_lowercase().as_str() {
                "unknown" => "info".to_string(),
                other => other.to_string(),
            });
            let mut m = Record::new();
            m.insert("finding_id", Some(format!("{artifact}:{id}:{pkg}")));
            m.insert("asset_id", (!artifact.is_empty()).then(|| artifact.clone()));
            m.insert("source", Some("trivy".into()));
            m.insert("cve", (!id.is_empty()).then_some(id));
            m.insert("severity", sev);
            m.insert("detected_at", created.clone());
            m.insert("remediated_at", None);
            m.insert("status", Some("open".into()));
            out.push(m);
        }
    }
    out
}

fn github_record(pr: &Value) -> Record {
    let merged = s(pr, &["merged_at"]);
    let labels: Vec<String> = pr
        .get("labels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| s(l, &["name"]))
        .collect();
    let emergency = labels.iter().any(|l| l.eq_ignore_ascii_case("emergency"));
    let author = s(pr, &["user", "login"]);
    let mut approvers: Vec<String> = Vec::new();
    let mut approved_at: Option<String> = None;
    for r in pr.get("reviews").and_then(Value::as_array).into_iter().flatten() {
        if s(r, &["state"]).as_deref() != Some("APPROVED") {
            continue;
        }
        let at = s(r, &["submitted_at"]);
        // Only approvals given before the merge count, except for an emergency change, whose
        // approval comes afterwards by design (the emergency-change test checks how long after).
        if let (Some(a), Some(m)) = (&at, &merged)
            && a > m
            && !emergency
        {
            continue;
        }
        if let Some(login) = s(r, &["user", "login"]) {
            approvers.push(format!("github:{login}"));
        }
        if at > approved_at {
            approved_at = at;
        }
    }
    approvers.sort();
    approvers.dedup();
    let mut m = Record::new();
    m.insert("change_id", s(pr, &["number"]));
    m.insert(
        "system",
        s(pr, &["base", "repo", "full_name"]).or_else(|| s(pr, &["head", "repo", "full_name"])),
    );
    m.insert("title", s(pr, &["title"]));
    m.insert("author_email", author.map(|a| format!("github:{a}")));
    m.insert("approver_emails", Some(approvers.join(";")).filter(|x| !x.is_empty()));
    m.insert("created_at", s(pr, &["created_at"]));
    m.insert("approved_at", approved_at);
    m.insert("merged_at", merged);
    m.insert("deployed_at", None);
    m.insert("tests_passed", None);
    m.insert("emergency", Some(emergency.to_string()));
    m.insert("ticket_id", None);
    m
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
        out.push((line, m));
    }
    Ok(out)
}

fn sarif_severity(score: Option<f64>, level: Option<&str>) -> &'static str {
    match (score, level) {
        (Some(s), _) if s >= 9.0 => "critical",
        (Some(s), _) if s >= 7.0 => "high",
        (Some(s), _) if s >= 4.0 => "medium",
        (Some(s), _) if s > 0.0 => "low",
        (_, Some("error")) => "high",
        (_, Some("warning")) => "medium",
        (_, Some("note")) => "low",
        _ => "info",
    }
}

fn sarif_records(doc: &Value) -> Vec<Record> {
    let mut out = Vec::new();
    for run in doc.get("runs").and_then(Value::as_array).into_iter().flatten() {
        let tool = s(run, &["tool", "driver", "name"])
            .unwrap_or_else(|| "sarif".into())
            .to_lowercase();
        let when = run
            .get("invocations")
            .and_then(|i| i.get(0))
            .and_then(|i| s(i, &["endTimeUtc"]).or_else(|| s(i, &["startTimeUtc"])));
        let rules: BTreeMap<String, &Value> = run
            .get("tool")
            .and_then(|t| t.get("driver"))
            .and_then(|d| d.get("rules"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| Some((s(r, &["id"])?, r)))
            .collect();
        for r in run.get("results").and_then(Value::as_array).into_iter().flatten() {
            let rule = s(r, &["ruleId"]).unwrap_or_default();
            let loc = r
                .get("locations")
                .and_then(|l| l.get(0))
                .and_then(|l| l.get("physicalLocation"));
            let uri = loc.and_then(|l| s(l, &["artifactLocation", "uri"])).unwrap_or_default();
            let line = loc.and_then(|l| s(l, &["region", "startLine"])).unwrap_or_default();
            // GitHub code scanning's `security-severity` (CVSS-like) when the rule has one, else the level.
            let score = rules
                .get(&rule)
                .and_then(|x| s(x, &["properties", "security-severity"]))
                .and_then(|x| x.parse::<f64>().ok());
            let level =
                s(r, &["level"]).or_else(|| rules.get(&rule).and_then(|x| s(x, &["defaultConfiguration", "level"])));
            let mut m = Record::new();
            m.insert("finding_id", Some(format!("{tool}:{rule}:{uri}:{line}")));
            m.insert("asset_id", (!uri.is_empty()).then(|| uri.clone()));
            m.insert("source", Some(tool.clone()));
            m.insert("cve", Some(rule.clone()).filter(|x| x.starts_with("CVE-")));
            m.insert("severity", Some(sarif_severity(score, level.as_deref()).to_string()));
            m.insert("detected_at", when.clone());
            m.insert("remediated_at", None);
            m.insert("status", Some("open".into()));
            out.push(m);
        }
    }
    out
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
        out.push((line, m));
    }
    Ok(out)
}

/// The first line of the text `assure evidence import` records from `git log`.
pub const GIT_LOG_HEADER: &str = "assure-git-log v1";

/// The `git log` arguments whose output the `git-log` connector reads: merge commits with author,
/// dates and the full message (for `Reviewed-by:` and similar trailers).
pub const GIT_LOG_ARGS: [&str; 3] = ["log", "--merges", "--format=%x1e%H%x1f%ae%x1f%aI%x1f%cI%x1f%s%x1f%b"];

fn git_records(text: &str, repo: &str) -> Vec<(u64, Record)> {
    let mut out = Vec::new();
    for (i, chunk) in text.split('\u{1e}').skip(1).enumerate() {
        let f: Vec<&str> = chunk.splitn(6, '\u{1f}').collect();
        let field = |n: usize| f.get(n).map(|x| x.trim()).filter(|x| !x.is_empty()).map(str::to_string);
        let body = f.get(5).copied().unwrap_or("");
        let mut approvers = Vec::new();
        let mut coauthors = Vec::new();
        for line in body.lines() {
            let l = line.trim();
            let lower = l.to_ascii_lowercase();
            // A co-author wrote the change too, so their review is not independent; `Signed-off-by`
            // certifies origin, not review, and is not an approval.
            let (value, list) = match ["reviewed-by:", "approved-by:", "reviewers:"]
                .iter()
                .find_map(|p| lower.starts_with(p).then(|| l.get(p.len()..).unwrap_or("").trim()))
            {
                Some(v) => (Some(v), &mut approvers),
                None => (
                    lower
                        .starts_with("co-authored-by:")
                        .then(|| l.get(15..).unwrap_or("").trim()),
                    &mut coauthors,
                ),
            };
            if let Some(v) = value {
                for who in v.split(',') {
                    // `Name <email>`, a bare email, or a login.
                    let who = who.trim();
                    let email = who
                        .split_once('<')
                        .and_then(|(_, r)| r.split_once('>'))
                        .map_or(who, |(e, _)| e)
                        .trim();
                    if !email.is_empty() {
                        list.push(email.to_string());
                    }
                }
            }
        }
        approvers.retain(|a| !coauthors.iter().any(|c| c.eq_ignore_ascii_case(a)));
        approvers.sort();
        approvers.dedup();
        let subject = field(4).unwrap_or_default();
        let mut m = Record::new();
        m.insert("change_id", field(0).map(|h| h.chars().take(12).collect()));
        m.insert("system", Some(repo.to_string()));
        m.insert("title", Some(subject.clone()).filter(|x| !x.is_empty()));
        m.insert("author_email", field(1));
        m.insert("approver_emails", Some(approvers.join(";")).filter(|x| !x.is_empty()));
        m.insert("created_at", field(2));
        m.insert("approved_at", None);
        m.insert("merged_at", field(3));
        m.insert("deployed_at", None);
        m.insert("tests_passed", None);
        m.insert(
            "emergency",
            Some(subject.to_ascii_lowercase().contains("emergency").to_string()),
        );
        m.insert("ticket_id", None);
        out.push((i as u64 + 1, m));
    }
    out
}

/// Reads a vendor file (already decompressed) and validates every mapped record.
pub fn read_vendor<'a>(v: &Vendor, input: impl Read, file: &'a str, emit: Option<&'a mut RowFn<'a>>) -> Outcome {
    let Some(t): Option<&Table> = table(v.table) else {
        return Outcome::default();
    };
    let problem = |message: String, hint: &str| Outcome {
        problems: vec![Problem {
            file: file.to_string(),
            row: None,
            column: None,
            message,
            hint: Some(hint.to_string()),
        }],
        ..Outcome::default()
    };
    let mut text = String::new();
    let mut limited = std::io::BufReader::new(input).take(MAX_DECOMPRESSED + 1);
    if let Err(e) = limited.read_to_string(&mut text) {
        return problem(
            format!("cannot read: {e}"),
            "check that the file is complete (a truncated gzip stream ends early) and is UTF-8",
        );
    }
    if text.len() as u64 > MAX_DECOMPRESSED {
        return problem(
            format!(
                "the file is larger than {} MiB once decompressed",
                MAX_DECOMPRESSED / (1024 * 1024)
            ),
            "vendor log files are split into smaller files; a file this large is probably not one (or is a compression bomb)",
        );
    }
    let records: Vec<(u64, Record)> = match v.id {
        "okta-users" => match okta_user_records(&text) {
            Ok(r) => r,
            Err(e) => return problem(e, "export the users again as CSV"),
        },
        "google-workspace-users" => match google_user_records(&text) {
            Ok(r) => r,
            Err(e) => return problem(e, "export the users again as CSV"),
        },
        "git-log" => {
            let repo = text
                .lines()
                .next()
                .and_then(|l| l.strip_prefix(GIT_LOG_HEADER))
                .map_or("", str::trim)
                .to_string();
            git_records(&text, if repo.is_empty() { "git" } else { &repo })
        }
        "okta-system-log" if !text.trim_start().starts_with('[') => {
            let mut out = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(line) {
                    Ok(e) => out.push((i as u64 + 1, okta_record(&e))),
                    Err(e) => {
                        return problem(
                            format!("line {}: not valid JSON: {e}", i + 1),
                            "each line must be one System Log event",
                        );
                    }
                }
            }
            out
        }
        _ => {
            let value: Value = match serde_json::from_str(&text) {
                Ok(x) => x,
                Err(e) => {
                    return problem(
                        format!("not valid JSON: {e}"),
                        "export the file again; it may be truncated",
                    );
                }
            };
            match v.id {
                "cloudtrail" => match value.get("Records").and_then(Value::as_array) {
                    Some(rs) => rs
                        .iter()
                        .enumerate()
                        .map(|(i, r)| (i as u64 + 1, cloudtrail_record(r)))
                        .collect(),
                    None => {
                        return problem(
                            "a CloudTrail log file holds a `Records` array; this one does not".into(),
                            "check that it is a CloudTrail log file",
                        );
                    }
                },
                "okta-system-log" => value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(i, e)| (i as u64 + 1, okta_record(e)))
                    .collect(),
                "sarif" => sarif_records(&value)
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| (i as u64 + 1, r))
                    .collect(),
                "trivy-json" => trivy_records(&value)
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| (i as u64 + 1, r))
                    .collect(),
                "github-pulls" => match value.as_array() {
                    Some(prs) => prs
                        .iter()
                        .filter(|pr| s(pr, &["merged_at"]).is_some())
                        .enumerate()
                        .map(|(i, pr)| (i as u64 + 1, github_record(pr)))
                        .collect(),
                    None => {
                        return problem(
                            "expected a JSON array of pull requests".into(),
                            "export with `gh api repos/OWNER/REPO/pulls?state=closed` and add each pull request's `reviews`",
                        );
                    }
                },
                _ => Vec::new(),
            }
        }
    };
    read_mapped(t, file, emit, records)
}

/// How an export maps onto a canonical table, from `[connectors.hr_roster]` or `[connectors.jira]`
/// in `assure.toml`. The type is the ledger's, because the mapping is recorded with each import.
pub use assure_ledger::ColumnMapping as Mapping;

/// Returns whether a CSV header line carries every column the mapping names.
pub fn mapping_fits(mapping: &Mapping, header_line: &str) -> bool {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(header_line.as_bytes());
    let Some(Ok(rec)) = rdr.records().next() else {
        return false;
    };
    let names: Vec<String> = rec
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    !mapping.columns.is_empty()
        && mapping
            .columns
            .values()
            .all(|h| names.iter().any(|n| n.eq_ignore_ascii_case(h)))
}

fn with_offset(naive: chrono::NaiveDateTime, offset: &str) -> Option<String> {
    let fixed: chrono::FixedOffset = offset.parse().ok().or_else(|| chrono::FixedOffset::east_opt(0))?;
    let local = naive.and_local_timezone(fixed).single()?;
    Some(
        local
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
    )
}

/// Reads a CSV export through a mapping and validates every row against the mapped table.
pub fn read_with_mapping<'a>(
    mapping: &Mapping,
    default_table: &str,
    input: impl Read,
    file: &'a str,
    emit: Option<&'a mut RowFn<'a>>,
) -> Outcome {
    let name = mapping.table.clone().unwrap_or_else(|| default_table.to_string());
    let problem = |message: String, row: Option<u64>, column: Option<String>, hint: &str| Outcome {
        problems: vec![Problem {
            file: file.to_string(),
            row,
            column,
            message,
            hint: Some(hint.to_string()),
        }],
        ..Outcome::default()
    };
    let Some(t) = table(&name) else {
        return problem(
            format!("the mapping names unknown table `{name}`"),
            None,
            None,
            "use one of the tables `assure evidence tables` lists",
        );
    };
    let mut rdr = csv::ReaderBuilder::new().from_reader(input);
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h
            .iter()
            .map(|x| x.trim().trim_start_matches('\u{feff}').to_string())
            .collect(),
        Err(e) => {
            return problem(
                format!("not valid CSV: {e}"),
                Some(1),
                None,
                "export the file again as CSV",
            );
        }
    };
    let index: BTreeMap<&str, usize> = mapping
        .columns
        .iter()
        .filter_map(|(canon, h)| {
            headers
                .iter()
                .position(|x| x.eq_ignore_ascii_case(h))
                .map(|i| (canon.as_str(), i))
        })
        .collect();
    for (canon, h) in &mapping.columns {
        if !index.contains_key(canon.as_str()) {
            return problem(
                format!("the mapped column `{h}` (for `{canon}`) is not in the export"),
                Some(1),
                Some(h.clone()),
                "fix the mapping in assure.toml or the export",
            );
        }
    }
    let date_fmt = mapping.date_format.clone().unwrap_or_else(|| "%Y-%m-%d".into());
    let offset = mapping.utc_offset.clone().unwrap_or_else(|| "+00:00".into());
    let mut records = Vec::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                return problem(
                    format!("not valid CSV: {e}"),
                    e.position().map(|p| p.line()),
                    None,
                    "check for unquoted commas",
                );
            }
        };
        let line = rec.position().map_or(0, |p| p.line());
        let mut m = Record::new();
        for c in t.columns {
            let raw = index
                .get(c.name)
                .and_then(|&i| rec.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty());
            let value = raw.map(|v| {
                let v = mapping
                    .values
                    .get(c.name)
                    .and_then(|vals| {
                        vals.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(v))
                            .map(|(_, w)| w.clone())
                    })
                    .unwrap_or_else(|| v.to_string());
                match c.ty {
                    crate::tables::ColumnType::Date => chrono::NaiveDate::parse_from_str(&v, &date_fmt)
                        .map(|d| d.to_string())
                        .unwrap_or(v),
                    crate::tables::ColumnType::Timestamp => match &mapping.timestamp_format {
                        Some(f) => chrono::NaiveDateTime::parse_from_str(&v, f)
                            .ok()
                            .and_then(|n| with_offset(n, &offset))
                            .unwrap_or(v),
                        None => v,
                    },
                    _ if !c.allowed.is_empty() => v.to_ascii_lowercase(),
                    _ => v,
                }
            });
            m.insert(c.name, value);
        }
        records.push((line, m));
    }
    read_mapped(t, file, emit, records)
}
