//! The canonical evidence tables (`design/evidence-tables.md`, version 1): every control test reads
//! evidence through these, whatever system it came from.

use arrow_schema::{DataType, Field, Schema, TimeUnit};

/// The type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Free text.
    Text,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A UTC instant, RFC 3339 with an offset.
    Timestamp,
    /// `true` or `false`.
    Bool,
    /// A whole number.
    Int,
    /// A list of text; `;`-separated in CSV.
    TextList,
}

impl ColumnType {
    /// Returns the name used in messages.
    pub fn label(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Date => "date (YYYY-MM-DD)",
            ColumnType::Timestamp => "timestamp (RFC 3339 with a time zone, such as 2026-03-01T09:30:00Z)",
            ColumnType::Bool => "true or false",
            ColumnType::Int => "whole number",
            ColumnType::TextList => "list of text separated by `;`",
        }
    }

    /// The Arrow type the engine and the columnar copies use: instants as UTC microseconds with the
    /// zone implied rather than tagged, so SQL literals compare directly.
    pub fn engine_type(self) -> DataType {
        match self {
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            other => other.arrow(),
        }
    }

    fn arrow(self) -> DataType {
        match self {
            ColumnType::Text => DataType::Utf8,
            ColumnType::Date => DataType::Date32,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Int => DataType::Int64,
            ColumnType::TextList => DataType::List(std::sync::Arc::new(Field::new("item", DataType::Utf8, true))),
        }
    }
}

/// A column of a canonical table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The snake_case name.
    pub name: &'static str,
    /// The type.
    pub ty: ColumnType,
    /// Whether a value is required.
    pub required: bool,
    /// The allowed values, when the column is an enumeration.
    pub allowed: &'static [&'static str],
    /// The allowed range, for bounded numbers.
    pub range: Option<(i64, i64)>,
}

/// A canonical table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// The name.
    pub name: &'static str,
    /// What it holds.
    pub about: &'static str,
    /// The columns.
    pub columns: &'static [Column],
}

impl Table {
    /// Returns a column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Returns the Arrow schema, with the lineage columns every imported row carries.
    pub fn arrow_schema(&self) -> Schema {
        let mut fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| Field::new(c.name, c.ty.arrow(), !c.required))
            .collect();
        fields.push(Field::new("_source", lineage_type(), false));
        fields.push(Field::new("_evidence", lineage_type(), false));
        fields.push(Field::new("_row", DataType::Int64, false));
        Schema::new(fields)
    }
}

use ColumnType::{Bool as B, Date as D, Int as I, Text as T, TextList as L, Timestamp as TS};

const fn req(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        required: true,
        allowed: &[],
        range: None,
    }
}
const fn opt(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        required: false,
        allowed: &[],
        range: None,
    }
}
const fn req_enum(name: &'static str, allowed: &'static [&'static str]) -> Column {
    Column {
        name,
        ty: T,
        required: true,
        allowed,
        range: None,
    }
}
const fn opt_enum(name: &'static str, allowed: &'static [&'static str]) -> Column {
    Column {
        name,
        ty: T,
        required: false,
        allowed,
        range: None,
    }
}
const fn score(name: &'static str) -> Column {
    Column {
        name,
        ty: I,
        required: true,
        allowed: &[],
        range: Some((1, 5)),
    }
}

const CLASSIFICATION: &[&str] = &["public", "internal", "confidential", "restricted"];

/// Every canonical table, in the order of the contract.
pub const TABLES: &[Table] = &[
    Table {
        name: "people",
        about: "the workforce roster (HR system)",
        columns: &[
            req("person_id", T),
            req("email", T),
            req("name", T),
            opt("title", T),
            opt("department", T),
            opt("manager_email", T),
            req_enum("worker_type", &["employee", "contractor", "intern"]),
            req("hire_date", D),
            opt("termination_date", D),
        ],
    },
    Table {
        name: "accounts",
        about: "who can log in where (identity provider and each in-scope system)",
        columns: &[
            req("system", T),
            req("account_id", T),
            opt("email", T),
            req_enum("kind", &["human", "service"]),
            opt("role", T),
            req("privileged", B),
            opt("mfa_enabled", B),
            req_enum("status", &["active", "suspended", "deprovisioned"]),
            req("created_at", TS),
            opt("deprovisioned_at", TS),
            opt("last_login_at", TS),
        ],
    },
    Table {
        name: "access_requests",
        about: "approvals for granting access",
        columns: &[
            req("request_id", T),
            req("system", T),
            req("email", T),
            opt("role", T),
            req("requested_at", TS),
            opt("approver_email", T),
            opt("approved_at", TS),
            opt("granted_at", TS),
        ],
    },
    Table {
        name: "access_reviews",
        about: "periodic user-access reviews",
        columns: &[
            req("review_id", T),
            req("system", T),
            req("period_start", D),
            req("period_end", D),
            req("reviewer_email", T),
            opt("completed_at", TS),
            req("accounts_reviewed", I),
            req("accounts_removed", I),
        ],
    },
    Table {
        name: "changes",
        about: "changes to production (code host, CI/CD, change tickets)",
        columns: &[
            req("change_id", T),
            req("system", T),
            opt("title", T),
            req("author_email", T),
            Column {
                name: "approver_emails",
                ty: L,
                required: false,
                allowed: &[],
                range: None,
            },
            req("created_at", TS),
            opt("approved_at", TS),
            opt("merged_at", TS),
            opt("deployed_at", TS),
            opt("tests_passed", B),
            req("emergency", B),
            opt("ticket_id", T),
        ],
    },
    Table {
        name: "vulnerabilities",
        about: "findings from scanners and penetration tests",
        columns: &[
            req("finding_id", T),
            req("asset_id", T),
            req("source", T),
            opt("cve", T),
            req_enum("severity", &["critical", "high", "medium", "low", "info"]),
            req("detected_at", TS),
            opt("remediated_at", TS),
            req_enum("status", &["open", "remediated", "risk_accepted", "false_positive"]),
        ],
    },
    Table {
        name: "assets",
        about: "the system inventory",
        columns: &[
            req("asset_id", T),
            req("asset_type", T),
            req("name", T),
            opt("owner_email", T),
            req_enum("environment", &["production", "staging", "corporate"]),
            opt_enum("data_classification", CLASSIFICATION),
            opt("encrypted_at_rest", B),
            opt("backup_enabled", B),
            opt("logging_enabled", B),
            opt("internet_facing", B),
        ],
    },
    Table {
        name: "devices",
        about: "endpoints under device management (Jamf, Kandji, Intune): encryption, screen lock, OS",
        columns: &[
            req("device_id", T),
            req("source", T),
            opt("name", T),
            opt("serial_number", T),
            opt("owner_email", T),
            req_enum(
                "platform",
                &[
                    "macos", "windows", "linux", "ios", "ipados", "android", "chromeos", "other",
                ],
            ),
            opt("os_version", T),
            opt("encrypted", B),
            opt("screen_lock", B),
            opt("compliant", B),
            opt("profiles", L),
            opt("last_seen_at", TS),
            opt_enum("status", &["active", "retired"]),
        ],
    },
    Table {
        name: "repositories",
        about: "source repositories and the protection of their default branch (GitHub branch protection)",
        columns: &[
            req("repository", T),
            req("source", T),
            opt("default_branch", T),
            opt("archived", B),
            req("protected", B),
            opt("required_approvals", I),
            opt("dismiss_stale_reviews", B),
            opt("require_code_owner_reviews", B),
            opt("enforce_admins", B),
            opt("allow_force_pushes", B),
            opt("required_checks", L),
        ],
    },
    Table {
        name: "backups",
        about: "backup jobs",
        columns: &[
            req("asset_id", T),
            req("started_at", TS),
            opt("finished_at", TS),
            req_enum("status", &["success", "failed", "partial"]),
        ],
    },
    Table {
        name: "restore_tests",
        about: "recovery exercises",
        columns: &[
            req("asset_id", T),
            req("tested_at", TS),
            req("succeeded", B),
            opt("rto_minutes", I),
        ],
    },
    Table {
        name: "trainings",
        about: "training completions",
        columns: &[req("email", T), req("course", T), req("completed_at", TS)],
    },
    Table {
        name: "background_checks",
        about: "background checks",
        columns: &[
            req("email", T),
            req("completed_at", TS),
            req_enum("result", &["clear", "consider", "pending"]),
        ],
    },
    Table {
        name: "policy_acceptances",
        about: "who accepted which policy version when",
        columns: &[
            req("email", T),
            req("policy_id", T),
            req("policy_version", T),
            req("accepted_at", TS),
        ],
    },
    Table {
        name: "incidents",
        about: "security and availability incidents",
        columns: &[
            req("incident_id", T),
            req_enum("severity", &["sev1", "sev2", "sev3", "sev4"]),
            opt_enum("category", &["security", "availability", "privacy", "other"]),
            req("detected_at", TS),
            opt("resolved_at", TS),
            opt("postmortem_at", TS),
            opt("customer_impact", B),
        ],
    },
    Table {
        name: "vendors",
        about: "third parties and subservice organizations",
        columns: &[
            req("vendor_id", T),
            req("name", T),
            req_enum("criticality", &["high", "medium", "low"]),
            req("subservice", B),
            opt_enum("data_access", CLASSIFICATION),
            opt("soc_report_type", T),
            opt("soc_report_period_end", D),
            opt("last_reviewed_at", TS),
            // Proposed additions (Assure's notes): the latest report's review, from the project's
            // vendor register.
            opt_enum(
                "soc_report_opinion",
                &["unmodified", "qualified", "adverse", "disclaimer"],
            ),
            opt("soc_report_covered_through", D),
            opt("soc_report_reviewed_at", TS),
            opt("cuecs_unmapped", I),
            opt("exceptions_unassessed", I),
        ],
    },
    Table {
        name: "risks",
        about: "the risk register",
        columns: &[
            req("risk_id", T),
            req("title", T),
            score("likelihood"),
            score("impact"),
            opt("owner_email", T),
            req_enum("treatment", &["mitigate", "accept", "transfer", "avoid"]),
            opt("last_reviewed_at", TS),
        ],
    },
    Table {
        name: "events",
        about: "security-relevant log events (cloud audit logs, identity provider logs)",
        columns: &[
            req("event_id", T),
            req("occurred_at", TS),
            req("source", T),
            opt("actor", T),
            req("action", T),
            req("raw_action", T),
            opt("target", T),
            opt_enum("outcome", &["success", "failure"]),
            opt("mfa", B),
            opt("source_ip", T),
        ],
    },
];

/// Looks a table up by name.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name.trim())
}

/// Whether a table is a snapshot (the state of a roster, an inventory or a register on the day it
/// was exported) rather than a log of dated events. A snapshot's dates are history (a hire date
/// years ago), not the days the file covers, so its files belong to the period they were imported
/// for; an event file belongs to every window its rows' days overlap.
pub fn is_snapshot(table: &str) -> bool {
    matches!(
        table,
        "people" | "accounts" | "assets" | "devices" | "repositories" | "vendors" | "risks"
    )
}

/// The type of the lineage columns `_source` and `_evidence`: one value per file, so a dictionary of
/// text keyed by 32-bit integers (4 bytes a row instead of the 64 characters of a file's hash).
pub fn lineage_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// Columns that name a person, resolved to one identity by the engine before any test reads them.
pub const PERSON_COLUMNS: &[&str] = &[
    "email",
    "manager_email",
    "approver_email",
    "reviewer_email",
    "owner_email",
    "author_email",
    "approver_emails",
];

/// Columns that may name a person but often name something else (an event's target is a user, a
/// bucket or a repository): resolved when they name someone, left as they are otherwise.
pub const SOFT_PERSON_COLUMNS: &[&str] = &["target"];

/// The columns that identify one row of a table across files: a row whose key appears in a later
/// import of the same window (two exports that overlap) is the same fact, and only the later one
/// is used. Empty: the whole row is the key (tables with no identifier of their own).
pub fn key_of(table: &str) -> &'static [&'static str] {
    match table {
        "people" => &["person_id"],
        "accounts" => &["system", "account_id"],
        "access_requests" => &["request_id"],
        "access_reviews" => &["review_id"],
        "changes" => &["system", "change_id"],
        "vulnerabilities" => &["finding_id"],
        "assets" => &["asset_id"],
        "devices" => &["source", "device_id"],
        "repositories" => &["source", "repository"],
        "incidents" => &["incident_id"],
        "vendors" => &["vendor_id"],
        "risks" => &["risk_id"],
        "events" => &["event_id"],
        _ => &[],
    }
}
