//! `okta-system-log`: Okta System Log events, as the `/api/v1/logs` API returns them (a JSON array)
//! or as NDJSON, onto `events`; event types are mapped to the table's actions
//! (`user.session.start` is a console login, `user.account.privilege.grant` a privilege grant).

use serde_json::Value;

use super::{Connector, Fixture, Kind, MAX_RECORDS, Record, Refusal, has, json, numbered, s, too_many_records};

/// Okta System Log events.
#[derive(Debug, Clone, Copy)]
pub struct OktaSystemLog;

impl Connector for OktaSystemLog {
    fn id(&self) -> &'static str {
        "okta-system-log"
    }
    fn about(&self) -> &'static str {
        "Okta System Log events (API JSON array or NDJSON)"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "events" }
    }
    fn detect(&self, text: &str) -> bool {
        has(text, "eventType") && has(text, "published") && has(text, "actor")
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        if !text.trim_start().starts_with('[') {
            let mut out = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                if out.len() >= MAX_RECORDS {
                    return Err(too_many_records());
                }
                match serde_json::from_str::<Value>(line) {
                    Ok(e) => out.push((i as u64 + 1, okta_record(&e))),
                    Err(e) => {
                        return Err(Refusal::new(
                            format!("line {}: not valid JSON: {e}", i + 1),
                            "each line must be one System Log event",
                        ));
                    }
                }
            }
            return Ok(out);
        }
        numbered(json(text)?.as_array().into_iter().flatten().map(okta_record))
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "okta-system-log.json",
            include_bytes!("../../fixtures/connectors/okta-system-log.json"),
        )
    }
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
