//! `pagerduty-incidents`: PagerDuty incidents as the REST API lists them (`GET /incidents`, the
//! response `{"incidents": [...]}`, or an array of them) onto `incidents`.
//!
//! - `incident_id` is the incident number (`PD-1234`), the id PagerDuty shows people.
//! - `severity` from the incident's priority (`P1` is `sev1` ... `P4` and lower `sev4`); without a
//!   priority, from urgency (`high` is `sev2`, `low` `sev3`), so an unprioritised page is never
//!   taken for a sev1.
//! - `resolved_at` for a resolved incident: `resolved_at` where the API gives it, else the last
//!   status change. PagerDuty does not classify incidents or record customer impact or postmortems:
//!   `category`, `customer_impact` and `postmortem_at` stay empty, and the incident tests say so
//!   (classify them, or import the postmortem tracker's records, to meet them).

use serde_json::Value;

use super::devices::listed;
use super::{Connector, Fixture, Kind, Record, Refusal, has, json, numbered, s};

/// PagerDuty incidents.
#[derive(Debug, Clone, Copy)]
pub struct PagerdutyIncidents;

impl Connector for PagerdutyIncidents {
    fn id(&self) -> &'static str {
        "pagerduty-incidents"
    }
    fn about(&self) -> &'static str {
        "PagerDuty incidents (REST `/incidents` JSON): priority or urgency, created and resolved times"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "incidents" }
    }
    fn detect(&self, text: &str) -> bool {
        has(text, "incident_number") && has(text, "urgency")
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        let v = json(text)?;
        numbered(listed(&v, &["incidents"], "PagerDuty incidents")?.iter().map(incident))
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "pagerduty-incidents.json",
            include_bytes!("../../fixtures/connectors/pagerduty-incidents.json"),
        )
    }
}

fn severity(i: &Value) -> &'static str {
    let p = s(i, &["priority", "summary"]).or_else(|| s(i, &["priority", "name"]));
    if let Some(n) = p
        .as_deref()
        .and_then(|p| p.trim().strip_prefix(['P', 'p']))
        .and_then(|n| n.parse::<u32>().ok())
    {
        return match n {
            0 | 1 => "sev1",
            2 => "sev2",
            3 => "sev3",
            _ => "sev4",
        };
    }
    if s(i, &["urgency"]).as_deref() == Some("high") {
        "sev2"
    } else {
        "sev3"
    }
}

fn incident(i: &Value) -> Record {
    let resolved = s(i, &["status"]).as_deref() == Some("resolved");
    let mut m = Record::new();
    m.insert(
        "incident_id",
        s(i, &["incident_number"])
            .map(|n| format!("PD-{n}"))
            .or_else(|| s(i, &["id"])),
    );
    m.insert("severity", Some(severity(i).into()));
    m.insert("category", None);
    m.insert("detected_at", s(i, &["created_at"]));
    m.insert(
        "resolved_at",
        if resolved {
            s(i, &["resolved_at"]).or_else(|| s(i, &["last_status_change_at"]))
        } else {
            None
        },
    );
    m.insert("postmortem_at", None);
    m.insert("customer_impact", None);
    m
}
