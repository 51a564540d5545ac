//! Connectors as a registry: every way Assure reads evidence is one [`Connector`] in [`REGISTRY`],
//! each in its own file with its id, the table it fills, how it recognises a file from its first
//! bytes, how it turns a file into records, what it reads (its documentation) and a fixture that
//! the registry's test imports and reads back. Import and read-back both dispatch through [`read`],
//! so a connector cannot be read one way at import and another way later.
//!
//! Adding a connector is one file here, one line in [`REGISTRY`] and its fixture under
//! `fixtures/connectors/`.

mod aws_credential_report;
mod canonical;
mod cloudtrail;
mod devices;
mod entra_signins;
mod entra_users;
mod git_log;
mod github_audit_log;
mod github_members;
mod github_pulls;
mod github_repositories;
mod google_workspace_activity;
mod google_workspace_users;
mod intune_devices;
mod jamf_computers;
mod kandji_devices;
mod kubernetes_audit;
mod mapped;
mod okta_system_log;
mod okta_users;
mod pagerduty_incidents;
mod sarif;
mod trivy;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};

use serde_json::Value;

use crate::read::{Format, Outcome, Problem, RowFn};
use crate::tables::Table;
use crate::vendor::Mapping;

pub use git_log::{GIT_BRANCH_AUTHOR_ARGS, GIT_LOG_ARGS, GIT_LOG_HEADER, merged_branches};

/// One record of a vendor file: canonical column to value.
pub type Record = BTreeMap<&'static str, Option<String>>;

/// What kind of input a connector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Canonical columns in a file format; the table is told from the columns, or named.
    Canonical(Format),
    /// A system's own export, mapped onto one table.
    Vendor {
        /// The table it fills.
        table: &'static str,
    },
    /// An export read through the project's column mapping (`[connectors.*]` in `assure.toml`).
    Mapped {
        /// The table it fills unless the mapping names another.
        default_table: &'static str,
    },
}

/// A connector's example input: what its registry test imports, and an example for its users.
#[derive(Debug, Clone, Copy)]
pub struct Fixture {
    /// A file name with the usual extension.
    pub name: &'static str,
    /// The bytes.
    pub bytes: &'static [u8],
    /// For a mapped connector, the mapping (JSON of [`Mapping`]) the fixture is read with.
    pub mapping: Option<&'static str>,
}

impl Fixture {
    /// A fixture that needs no mapping.
    pub const fn new(name: &'static str, bytes: &'static [u8]) -> Fixture {
        Fixture {
            name,
            bytes,
            mapping: None,
        }
    }
}

/// Why a vendor file could not be turned into records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: &'static str,
}

impl Refusal {
    /// A refusal with a hint.
    pub fn new(message: impl Into<String>, hint: &'static str) -> Refusal {
        Refusal {
            message: message.into(),
            hint,
        }
    }
}

/// A way of reading evidence.
pub trait Connector: Sync + std::fmt::Debug {
    /// The id recorded in the ledger (`canonical-csv`, `cloudtrail`, ...); never changes.
    fn id(&self) -> &'static str;
    /// What it reads, in a user's words.
    fn about(&self) -> &'static str;
    /// Canonical, vendor or mapped.
    fn kind(&self) -> Kind;
    /// Vendor connectors: whether the first bytes of a file (decompressed, as text) are this format.
    fn detect(&self, _head: &str) -> bool {
        false
    }
    /// Vendor connectors: the records of a whole (decompressed) file, numbered from 1.
    fn records(&self, _text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        Ok(Vec::new())
    }
    /// [`Connector::records`] with a CSV's records numbered as `lines` says (a copy's layout says
    /// how); the same as `records` for other formats.
    fn records_numbered(&self, text: &str, _lines: crate::read::Lines) -> Result<Vec<(u64, Record)>, Refusal> {
        self.records(text)
    }
    /// The example its registry test imports and reads back.
    fn fixture(&self) -> Fixture;
}

/// Every connector this build has, in the order users see them listed.
pub static REGISTRY: &[&dyn Connector] = &[
    &canonical::CSV,
    &canonical::JSON,
    &canonical::NDJSON,
    &canonical::XLSX,
    &canonical::PARQUET,
    &cloudtrail::CloudTrail,
    &okta_system_log::OktaSystemLog,
    &trivy::Trivy,
    &github_repositories::GithubRepositories,
    &github_pulls::GithubPulls,
    &okta_users::OktaUsers,
    &google_workspace_users::GoogleWorkspaceUsers,
    &aws_credential_report::AwsCredentialReport,
    &entra_users::EntraUsers,
    &entra_signins::EntraSignIns,
    &github_members::GithubMembers,
    &github_audit_log::GithubAuditLog,
    &google_workspace_activity::GoogleWorkspaceActivity,
    &kubernetes_audit::KubernetesAudit,
    &jamf_computers::JamfComputers,
    &kandji_devices::KandjiDevices,
    &intune_devices::IntuneDevices,
    &pagerduty_incidents::PagerdutyIncidents,
    &sarif::Sarif,
    &git_log::GitLog,
    &mapped::HR_ROSTER,
    &mapped::JIRA,
];

/// Looks a connector up by id.
pub fn get(id: &str) -> Option<&'static dyn Connector> {
    REGISTRY.iter().copied().find(|c| c.id() == id)
}

/// The ids of every connector, in registry order.
pub fn ids() -> Vec<&'static str> {
    REGISTRY.iter().map(|c| c.id()).collect()
}

/// The canonical connector of a file format.
pub fn canonical(format: Format) -> &'static dyn Connector {
    REGISTRY
        .iter()
        .copied()
        .find(|c| c.kind() == Kind::Canonical(format))
        .unwrap_or(&canonical::CSV)
}

/// Recognises a vendor format from the first bytes of a (decompressed) file.
pub fn detect(head: &[u8]) -> Option<&'static dyn Connector> {
    let text = String::from_utf8_lossy(head.get(..head.len().min(8192)).unwrap_or(&[]));
    REGISTRY
        .iter()
        .copied()
        .find(|c| matches!(c.kind(), Kind::Vendor { .. }) && c.detect(&text))
}

/// Reads a file with a connector, validating every row against `table` and handing each to `emit`:
/// the one dispatch used at import (validation) and at read-back (a test run). Vendor files may be
/// gzipped; a mapped connector needs the mapping it was imported with. A CSV's rows are numbered
/// with the line each record starts on ([`crate::read::Lines::Start`]).
pub fn read<'a>(
    c: &dyn Connector,
    input: Box<dyn Read + 'a>,
    table: &Table,
    file: &'a str,
    mapping: Option<&Mapping>,
    emit: Option<&'a mut RowFn<'a>>,
) -> Outcome {
    read_numbered(c, input, table, file, mapping, emit, crate::read::Lines::Start)
}

/// [`read`] with a mapped CSV's rows numbered as `lines` says (a copy's layout says how).
fn read_numbered<'a>(
    c: &dyn Connector,
    input: Box<dyn Read + 'a>,
    table: &Table,
    file: &'a str,
    mapping: Option<&Mapping>,
    emit: Option<&'a mut RowFn<'a>>,
    lines: crate::read::Lines,
) -> Outcome {
    // A reader library that panics on a malformed file stops this file, with an error, never the
    // process: one bad file is one clear problem.
    let id = c.id();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_unguarded(c, input, table, file, mapping, emit, lines)
    }))
    .unwrap_or_else(|_| Outcome {
        problems: vec![refused_by_reader(file, id)],
        ..Outcome::default()
    })
}

/// Reads a file with its connector like [`read`], writing each valid row to `writer` (a columnar
/// copy) in the same pass. A canonical CSV, the bulk of most imports, is checked and encoded on
/// one worker per core ([`crate::read::read_csv_chunked`]); its row groups are appended in file
/// order, so the copy is the same bytes either way.
pub fn read_into(
    c: &dyn Connector,
    input: Box<dyn Read + '_>,
    table: &'static Table,
    file: &str,
    mapping: Option<&Mapping>,
    writer: &mut crate::columnar::Writer,
) -> Outcome {
    let lines = crate::columnar::lines_of(writer.layout());
    if c.kind() != Kind::Canonical(Format::Csv) {
        let mut emit = |row: u64, values: Vec<Option<String>>| writer.push(row, &values);
        return read_numbered(c, input, table, file, mapping, Some(&mut emit), lines);
    }
    let encoder = writer.encoder();
    let mut each = |encoded| writer.append(encoded);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::read::read_csv_chunked(input, table, file, &encoder, &mut each, lines)
    }))
    .unwrap_or_else(|_| Outcome {
        problems: vec![refused_by_reader(file, c.id())],
        ..Outcome::default()
    })
}

/// The problem a file is when its reader library fails on it.
pub(crate) fn refused_by_reader(file: &str, connector: &str) -> Problem {
    Problem {
        file: file.to_string(),
        row: None,
        column: None,
        message: format!(
            "the `{connector}` reader failed on this file (it is malformed in a way the reader does not handle); nothing from it was read"
        ),
        hint: Some("export the file again; if it opens elsewhere, report it with the file".into()),
    }
}

fn read_unguarded<'a>(
    c: &dyn Connector,
    input: Box<dyn Read + 'a>,
    table: &Table,
    file: &'a str,
    mapping: Option<&Mapping>,
    emit: Option<&'a mut RowFn<'a>>,
    lines: crate::read::Lines,
) -> Outcome {
    match c.kind() {
        Kind::Canonical(format) => crate::read::read_rows(input, format, table, file, emit),
        Kind::Vendor { .. } => {
            let mut buffered = BufReader::new(input);
            let gz = buffered.fill_buf().is_ok_and(crate::vendor::is_gzip);
            if gz {
                crate::vendor::read_vendor(c, flate2::read::MultiGzDecoder::new(buffered), table, file, emit, lines)
            } else {
                crate::vendor::read_vendor(c, buffered, table, file, emit, lines)
            }
        }
        Kind::Mapped { default_table } => match mapping {
            Some(m) => crate::vendor::read_with_mapping(m, default_table, input, file, emit, lines),
            None => Outcome {
                problems: vec![Problem {
                    file: file.to_string(),
                    row: None,
                    column: None,
                    message: format!("the `{}` connector needs a column mapping", c.id()),
                    hint: Some(
                        "add `[connectors.hr_roster]` or `[connectors.jira]` to assure.toml (see README)".into(),
                    ),
                }],
                ..Outcome::default()
            },
        },
    }
}

/// Whether JSON text has the key `k` (quoted).
pub(crate) fn has(text: &str, k: &str) -> bool {
    text.contains(&format!("\"{k}\""))
}

/// Parses a whole file as JSON.
pub(crate) fn json(text: &str) -> Result<Value, Refusal> {
    if crate::read::json_values_at_most(text.as_bytes(), crate::read::MAX_JSON_VALUES).is_err() {
        return Err(Refusal::new(
            crate::read::too_many_json_values(),
            "split the export into smaller files (by date, for example) and import them together",
        ));
    }
    serde_json::from_str(text).map_err(|e| {
        Refusal::new(
            format!("not valid JSON: {e}"),
            "export the file again; it may be truncated",
        )
    })
}

/// The most records one vendor file may hold: its records are held in memory while it is checked.
pub const MAX_RECORDS: usize = 2_000_000;

/// The refusal for a file with more than [`MAX_RECORDS`] records.
pub(crate) fn too_many_records() -> Refusal {
    Refusal::new(
        format!("the file holds more than {MAX_RECORDS} records"),
        "split the export into smaller files (by date, for example) and import them together",
    )
}

/// Numbers records from 1, refusing a file with more than [`MAX_RECORDS`] before building them all.
pub(crate) fn numbered(records: impl Iterator<Item = Record>) -> Result<Vec<(u64, Record)>, Refusal> {
    let mut out = Vec::new();
    for (i, r) in records.enumerate() {
        if i >= MAX_RECORDS {
            return Err(too_many_records());
        }
        out.push((i as u64 + 1, r));
    }
    Ok(out)
}

/// The text at a JSON path; empty strings and nulls are none.
pub(crate) fn s(v: &Value, path: &[&str]) -> Option<String> {
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

/// `ConsoleLogin` and `user.session-start` as snake_case.
pub(crate) fn snake(name: &str) -> String {
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
