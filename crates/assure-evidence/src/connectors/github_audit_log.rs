//! `github-audit-log`: a GitHub organization's audit log as the REST API returns it
//! (`GET /orgs/ORG/audit-log`, a JSON array of events with `@timestamp` in milliseconds, `action`,
//! `actor`, `_document_id`, and the user, repository or team acted on) onto `events`, source
//! `github-audit`.
//!
//! Actions a control test looks for get the shared verbs: adding a member to the organization, a
//! team or a repository is `grant_access`, making someone an owner (`org.update_member` to admin) is
//! `grant_privilege`, removing a member `deprovision_user`, turning the organization's two-factor
//! requirement off `mfa_removed`, and overriding or deleting branch protection
//! `bypass_branch_protection`. Others keep GitHub's name with `.` as `_`. Every audit-log entry is
//! something that happened, so `outcome` is `success`.

use serde_json::Value;

use super::devices::listed;
use super::{Connector, Fixture, Kind, Record, Refusal, has, json, numbered, s};

/// GitHub organization audit log.
#[derive(Debug, Clone, Copy)]
pub struct GithubAuditLog;

impl Connector for GithubAuditLog {
    fn id(&self) -> &'static str {
        "github-audit-log"
    }
    fn about(&self) -> &'static str {
        "a GitHub organization's audit log (REST `/orgs/ORG/audit-log` JSON)"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "events" }
    }
    fn detect(&self, text: &str) -> bool {
        has(text, "_document_id") && has(text, "action")
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        let v = json(text)?;
        numbered(
            listed(&v, &["events"], "GitHub audit-log events")?
                .iter()
                .map(audit_event),
        )
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "github-audit-log.json",
            include_bytes!("../../fixtures/connectors/github-audit-log.json"),
        )
    }
}

fn github_action(raw: &str, e: &Value) -> String {
    match raw {
        "org.add_member" | "team.add_member" | "repo.add_member" | "org.invite_member" => "grant_access".into(),
        "org.update_member" if s(e, &["permission"]).as_deref() == Some("admin") => "grant_privilege".into(),
        "org.remove_member" | "org.remove_outside_collaborator" => "deprovision_user".into(),
        "org.disable_two_factor_requirement" => "mfa_removed".into(),
        "protected_branch.policy_override" | "protected_branch.destroy" => "bypass_branch_protection".into(),
        other => other.replace(['.', '-'], "_"),
    }
}

/// Milliseconds since the epoch (or an RFC 3339 text) as an RFC 3339 instant.
fn instant(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Number(n) => n
            .as_i64()
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        Value::String(t) if !t.is_empty() => Some(t.clone()),
        _ => None,
    }
}

fn audit_event(e: &Value) -> Record {
    let raw = s(e, &["action"]).unwrap_or_default();
    let mut m = Record::new();
    m.insert("event_id", s(e, &["_document_id"]));
    m.insert(
        "occurred_at",
        instant(e.get("@timestamp")).or_else(|| instant(e.get("created_at"))),
    );
    m.insert("source", Some("github-audit".into()));
    m.insert("actor", s(e, &["actor"]).map(|a| format!("github:{a}")));
    m.insert("action", Some(github_action(&raw, e)));
    m.insert("raw_action", (!raw.is_empty()).then_some(raw));
    m.insert(
        "target",
        s(e, &["user"])
            .map(|u| format!("github:{u}"))
            .or_else(|| s(e, &["repo"]))
            .or_else(|| s(e, &["team"]))
            .or_else(|| s(e, &["org"])),
    );
    m.insert("outcome", Some("success".into()));
    m.insert("mfa", None);
    m.insert("source_ip", s(e, &["actor_ip"]));
    m
}
