//! `kubernetes-audit`: Kubernetes API server audit logs (`audit.k8s.io/v1` events, one JSON object
//! per line as the log backend writes them, or an `EventList`) onto `events`, source `kubernetes`.
//!
//! - One row per request: the `ResponseComplete` (or `Panic`) stage; the other stages of the same
//!   request (`RequestReceived`, `ResponseStarted`) repeat it and are skipped. `event_id` is
//!   `auditID`.
//! - `action` is the verb and the resource (`create_pods_exec`, `get_secrets`, `delete_namespaces`);
//!   `raw_action` the verb and the request URI. `actor` the user name (an impersonating user is
//!   named as `user as impersonated`); `target` `namespace/name` of the object.
//! - `outcome`: `success` for a response code below 400, `failure` otherwise.

use serde_json::Value;

use super::{Connector, Fixture, Kind, MAX_RECORDS, Record, Refusal, has, json, s, too_many_records};

/// Kubernetes audit logs.
#[derive(Debug, Clone, Copy)]
pub struct KubernetesAudit;

impl Connector for KubernetesAudit {
    fn id(&self) -> &'static str {
        "kubernetes-audit"
    }
    fn about(&self) -> &'static str {
        "Kubernetes API server audit logs (`audit.k8s.io/v1` events as JSON lines, or an EventList)"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "events" }
    }
    fn detect(&self, text: &str) -> bool {
        text.contains("audit.k8s.io/") && has(text, "auditID")
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        let mut out = Vec::new();
        let push = |line: u64, e: &Value, out: &mut Vec<(u64, Record)>| -> Result<(), Refusal> {
            let stage = s(e, &["stage"]);
            if stage
                .as_deref()
                .is_some_and(|st| st != "ResponseComplete" && st != "Panic")
            {
                return Ok(());
            }
            if out.len() >= MAX_RECORDS {
                return Err(too_many_records());
            }
            out.push((line, k8s_event(e)));
            Ok(())
        };
        // An EventList is one JSON document (possibly pretty-printed); the log backend writes one
        // event per line.
        let first: Option<Value> = trimmed.lines().next().and_then(|l| serde_json::from_str(l).ok());
        let is_list = match &first {
            Some(v) => s(v, &["kind"]).as_deref() == Some("EventList"),
            None => trimmed.starts_with('{'),
        };
        if is_list {
            let v = json(text)?;
            let items = v.get("items").and_then(Value::as_array).ok_or_else(|| {
                Refusal::new(
                    "an audit EventList without `items`",
                    "save the audit events as the API server's log backend writes them, one per line",
                )
            })?;
            for (i, e) in items.iter().enumerate() {
                push(i as u64 + 1, e, &mut out)?;
            }
            return Ok(out);
        }
        for (i, line) in text.lines().enumerate() {
            let line = line.trim().trim_start_matches('\u{feff}');
            if line.is_empty() {
                continue;
            }
            let e: Value = serde_json::from_str(line).map_err(|e| {
                Refusal::new(
                    format!("line {}: not valid JSON: {e}", i + 1),
                    "each line of an audit log must be one audit event, as the API server's log backend writes it",
                )
            })?;
            push(i as u64 + 1, &e, &mut out)?;
        }
        Ok(out)
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "kube-audit.log",
            include_bytes!("../../fixtures/connectors/kubernetes-audit.log"),
        )
    }
}

fn k8s_event(e: &Value) -> Record {
    let verb = s(e, &["verb"]).unwrap_or_default();
    let resource = s(e, &["objectRef", "resource"]);
    let sub = s(e, &["objectRef", "subresource"]);
    let mut action = verb.clone();
    for part in [&resource, &sub].into_iter().flatten() {
        action.push('_');
        action.push_str(part);
    }
    let user = s(e, &["user", "username"]);
    let actor = match (user, s(e, &["impersonatedUser", "username"])) {
        (Some(u), Some(i)) => Some(format!("{u} as {i}")),
        (u, _) => u,
    };
    let target = match (s(e, &["objectRef", "namespace"]), s(e, &["objectRef", "name"])) {
        (Some(ns), Some(n)) => Some(format!("{ns}/{n}")),
        (None, Some(n)) => Some(n),
        (Some(ns), None) => Some(ns),
        (None, None) => None,
    };
    let code = e
        .get("responseStatus")
        .and_then(|r| r.get("code"))
        .and_then(Value::as_i64);
    let mut m = Record::new();
    m.insert("event_id", s(e, &["auditID"]));
    m.insert(
        "occurred_at",
        s(e, &["requestReceivedTimestamp"]).or_else(|| s(e, &["stageTimestamp"])),
    );
    m.insert("source", Some("kubernetes".into()));
    m.insert("actor", actor);
    m.insert("action", Some(action.replace(['/', '.', '-'], "_")));
    m.insert(
        "raw_action",
        Some(
            format!("{verb} {}", s(e, &["requestURI"]).unwrap_or_default())
                .trim()
                .to_string(),
        ),
    );
    m.insert("target", target);
    m.insert(
        "outcome",
        code.map(|c| if c < 400 { "success" } else { "failure" }.to_string()),
    );
    m.insert("mfa", None);
    m.insert(
        "source_ip",
        e.get("sourceIPs")
            .and_then(|a| a.get(0))
            .and_then(Value::as_str)
            .map(str::to_string),
    );
    m
}
