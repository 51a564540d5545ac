//! Vendor connectors: what real systems export, mapped onto the canonical tables with each vendor's
//! documented field names. Every mapped record goes through the same validation as canonical files.
//!
//! - `cloudtrail`: AWS CloudTrail log files (`{"Records": [...]}`, gzipped or not) → `events`
//! - `okta-system-log`: Okta System Log events (API JSON array or NDJSON) → `events`
//! - `trivy-json`: Trivy JSON reports (`SchemaVersion` 2) → `vulnerabilities`
//! - `github-pulls`: GitHub pull requests (REST JSON array, each with its `reviews`) → `changes`

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
