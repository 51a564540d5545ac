//! `kandji-devices`: Kandji's devices, either as `GET /api/v1/devices` lists them (a JSON array) or,
//! with FileVault and profiles, as `GET /api/v1/devices/{id}/details` returns each (an array of the
//! details objects; a collector fetches one per listed device) onto `devices`.
//!
//! - From the list: id, name, serial, platform, OS version, user email, last check-in, blueprint.
//!   The list carries no encryption state, so `encrypted` is unknown unless the details are given.
//! - From the details: `filevault.filevault_enabled` is `encrypted`; the installed profiles' names
//!   (and the blueprint) go to `profiles`, where the screen-lock test looks for the passcode or
//!   screen-saver profile the project names. Kandji reports no screen-lock field of its own.
//! - `status`: `retired` for a device Kandji lists as removed (`is_removed`), `active` otherwise.

use serde_json::Value;

use super::devices::{email, flag, listed, platform};
use super::{Connector, Fixture, Kind, Record, Refusal, has, json, numbered, s};

/// Kandji devices.
#[derive(Debug, Clone, Copy)]
pub struct KandjiDevices;

impl Connector for KandjiDevices {
    fn id(&self) -> &'static str {
        "kandji-devices"
    }
    fn about(&self) -> &'static str {
        "Kandji devices (`/api/v1/devices` list or each device's `/details` JSON): FileVault, OS version, user, profiles"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "devices" }
    }
    fn detect(&self, text: &str) -> bool {
        has(text, "device_id") && (has(text, "blueprint_name") || has(text, "filevault") || has(text, "last_check_in"))
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        let v = json(text)?;
        numbered(
            listed(&v, &["results", "devices"], "Kandji devices")?
                .iter()
                .map(kandji_record),
        )
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "kandji-devices.json",
            include_bytes!("../../fixtures/connectors/kandji-devices.json"),
        )
    }
}

fn kandji_record(d: &Value) -> Record {
    // The details object nests the list's fields under `general`; the list has them at the top.
    let g = d.get("general").unwrap_or(d);
    let user_email = match g.get("user").or_else(|| g.get("assigned_user")) {
        Some(Value::Object(_)) => email(s(g, &["user", "email"]).or_else(|| s(g, &["assigned_user", "email"]))),
        Some(Value::String(t)) => email(Some(t.clone())),
        _ => None,
    }
    .or_else(|| email(s(d, &["user", "email"])));
    let mut profiles: Vec<String> = d
        .get("installed_profiles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| s(p, &["name"]))
        .collect();
    if let Some(bp) = s(g, &["blueprint_name"]) {
        profiles.push(format!("blueprint: {bp}"));
    }
    let removed = flag(g.get("is_removed")).or_else(|| flag(d.get("is_removed")));
    let mut m = Record::new();
    m.insert("device_id", s(g, &["device_id"]).or_else(|| s(d, &["device_id"])));
    m.insert("source", Some("kandji".into()));
    m.insert("name", s(g, &["device_name"]));
    m.insert(
        "serial_number",
        s(g, &["serial_number"]).or_else(|| s(d, &["hardware_overview", "serial_number"])),
    );
    m.insert("owner_email", user_email);
    m.insert("platform", Some(platform(s(g, &["platform"]).as_deref()).to_string()));
    m.insert("os_version", s(g, &["os_version"]));
    m.insert(
        "encrypted",
        d.get("filevault").and_then(|f| flag(f.get("filevault_enabled"))),
    );
    m.insert("screen_lock", None);
    m.insert("compliant", None);
    m.insert("profiles", Some(profiles.join(";")).filter(|p| !p.is_empty()));
    m.insert(
        "last_seen_at",
        s(g, &["last_check_in"]).or_else(|| s(d, &["last_check_in"])),
    );
    m.insert(
        "status",
        Some(
            if removed.as_deref() == Some("true") {
                "retired"
            } else {
                "active"
            }
            .into(),
        ),
    );
    m
}
