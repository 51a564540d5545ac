//! `intune-devices`: Microsoft Intune's managed devices as Microsoft Graph lists them
//! (`GET /deviceManagement/managedDevices`, the response `{"value": [...]}` or an array of its items)
//! onto `devices`.
//!
//! - `encrypted` from `isEncrypted`; `compliant` from `complianceState` (`compliant` is true,
//!   `noncompliant`, `conflict`, `error` are false, anything else unknown). Graph reports no
//!   per-device screen-lock state: the lock is a setting of the compliance policy, so the screen-lock
//!   test accepts a device Intune reports compliant (and the auditor inspects that policy).
//! - `owner_email` from `emailAddress`, or the user principal name when it is an address.
//! - `status` is `active`: Graph lists only devices still enrolled.

use serde_json::Value;

use super::devices::{email, flag, listed, platform};
use super::{Connector, Fixture, Kind, Record, Refusal, has, json, numbered, s};

/// Intune managed devices.
#[derive(Debug, Clone, Copy)]
pub struct IntuneDevices;

impl Connector for IntuneDevices {
    fn id(&self) -> &'static str {
        "intune-devices"
    }
    fn about(&self) -> &'static str {
        "Microsoft Intune managed devices (Graph `/deviceManagement/managedDevices` JSON): encryption, compliance, OS version, user"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "devices" }
    }
    fn detect(&self, text: &str) -> bool {
        has(text, "deviceName") && (has(text, "isEncrypted") || has(text, "complianceState"))
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        let v = json(text)?;
        numbered(
            listed(&v, &["value"], "Intune managed devices")?
                .iter()
                .map(intune_record),
        )
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "intune-devices.json",
            include_bytes!("../../fixtures/connectors/intune-devices.json"),
        )
    }
}

fn intune_record(d: &Value) -> Record {
    let compliant = s(d, &["complianceState"]).and_then(|c| match c.as_str() {
        "compliant" => Some("true".to_string()),
        "noncompliant" | "conflict" | "error" => Some("false".to_string()),
        _ => None,
    });
    let mut m = Record::new();
    m.insert("device_id", s(d, &["id"]));
    m.insert("source", Some("intune".into()));
    m.insert("name", s(d, &["deviceName"]));
    m.insert("serial_number", s(d, &["serialNumber"]));
    m.insert(
        "owner_email",
        email(s(d, &["emailAddress"])).or_else(|| email(s(d, &["userPrincipalName"]))),
    );
    m.insert(
        "platform",
        Some(platform(s(d, &["operatingSystem"]).as_deref()).to_string()),
    );
    m.insert("os_version", s(d, &["osVersion"]));
    m.insert("encrypted", flag(d.get("isEncrypted")));
    m.insert("screen_lock", None);
    m.insert("compliant", compliant);
    m.insert("profiles", None);
    m.insert("last_seen_at", s(d, &["lastSyncDateTime"]));
    m.insert("status", Some("active".into()));
    m
}
