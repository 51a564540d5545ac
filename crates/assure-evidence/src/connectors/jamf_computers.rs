//! `jamf-computers`: Jamf Pro's computer inventory (`GET /api/v1/computers-inventory` with the
//! `GENERAL`, `HARDWARE`, `OPERATING_SYSTEM`, `DISK_ENCRYPTION`, `USER_AND_LOCATION` and
//! `CONFIGURATION_PROFILES` sections; the response as it comes, `{"totalCount", "results"}`, or an
//! array of its results) onto `devices`.
//!
//! - `encrypted` from `diskEncryption.fileVault2Enabled`, or the boot partition's
//!   `partitionFileVault2State` (`ENCRYPTED` is encrypted; `UNENCRYPTED`, `DECRYPTED` and an
//!   encryption still in progress are not; `UNKNOWN` is unknown).
//! - Jamf's inventory has no screen-lock field: the lock is enforced by a configuration profile, so
//!   `screen_lock` is left unknown and the installed profiles' names go to `profiles`, where the
//!   screen-lock test looks for the profile the project names.
//! - `status`: `retired` for a computer Jamf no longer manages (`general.remoteManagement.managed`
//!   false), `active` otherwise; `last_seen_at` the last contact.

use serde_json::Value;

use super::devices::{email, flag, listed, platform};
use super::{Connector, Fixture, Kind, Record, Refusal, has, json, numbered, s};

/// Jamf Pro computer inventory.
#[derive(Debug, Clone, Copy)]
pub struct JamfComputers;

impl Connector for JamfComputers {
    fn id(&self) -> &'static str {
        "jamf-computers"
    }
    fn about(&self) -> &'static str {
        "Jamf Pro computer inventory (`/api/v1/computers-inventory` JSON): FileVault, OS version, user, configuration profiles"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "devices" }
    }
    fn detect(&self, text: &str) -> bool {
        has(text, "general") && (has(text, "diskEncryption") || has(text, "userAndLocation"))
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        let v = json(text)?;
        numbered(listed(&v, &["results"], "Jamf computers")?.iter().map(jamf_record))
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "jamf-computers.json",
            include_bytes!("../../fixtures/connectors/jamf-computers.json"),
        )
    }
}

fn jamf_record(c: &Value) -> Record {
    let de = c.get("diskEncryption");
    let state = de.and_then(|d| s(d, &["bootPartitionEncryptionDetails", "partitionFileVault2State"]));
    let encrypted = de.and_then(|d| flag(d.get("fileVault2Enabled"))).or_else(|| {
        state.as_deref().and_then(|st| match st {
            "ENCRYPTED" => Some("true".to_string()),
            "UNKNOWN" => None,
            _ => Some("false".to_string()),
        })
    });
    let profiles: Vec<String> = c
        .get("configurationProfiles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| s(p, &["displayName"]))
        .collect();
    let managed = c
        .get("general")
        .and_then(|g| flag(g.get("remoteManagement").and_then(|r| r.get("managed"))));
    let mut m = Record::new();
    m.insert("device_id", s(c, &["id"]).or_else(|| s(c, &["udid"])));
    m.insert("source", Some("jamf".into()));
    m.insert("name", s(c, &["general", "name"]));
    m.insert("serial_number", s(c, &["hardware", "serialNumber"]));
    m.insert("owner_email", email(s(c, &["userAndLocation", "email"])));
    let os = s(c, &["operatingSystem", "name"]).or_else(|| s(c, &["general", "platform"]));
    m.insert("platform", Some(platform(os.as_deref().or(Some("macOS"))).to_string()));
    m.insert("os_version", s(c, &["operatingSystem", "version"]));
    m.insert("encrypted", encrypted);
    m.insert("screen_lock", None);
    m.insert("compliant", None);
    m.insert("profiles", Some(profiles.join(";")).filter(|p| !p.is_empty()));
    m.insert("last_seen_at", s(c, &["general", "lastContactTime"]));
    m.insert(
        "status",
        Some(
            if managed.as_deref() == Some("false") {
                "retired"
            } else {
                "active"
            }
            .into(),
        ),
    );
    m
}
