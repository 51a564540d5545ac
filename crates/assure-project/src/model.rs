//! The typed project model: what `assure.toml` and the project's folders say.
//!
//! Every identifier and reference keeps the byte span it was read from, so that validation can point
//! at a file and line. The model is plain data; loading it from disk lives in `load`.

use std::fmt;
use std::ops::{Deref, Range};

use assure_catalog::Category;
use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};

/// The index of a source file in the project's [`SourceMap`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub usize);

/// An identifier or a reference to one, with the span it was read from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Ref {
    text: String,
    span: Range<usize>,
}

impl Ref {
    /// Creates a reference that was not read from a file.
    pub fn new(text: impl Into<String>) -> Ref {
        Ref {
            text: text.into(),
            span: 0..0,
        }
    }

    /// Returns the text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Returns the byte span in its file.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }
}

impl Deref for Ref {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Ref {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ref, D::Error> {
        let spanned = toml::Spanned::<String>::deserialize(d)?;
        let span = spanned.span();
        Ok(Ref {
            text: spanned.into_inner().trim().to_string(),
            span,
        })
    }
}

/// A calendar date read from TOML: a TOML local date (`2026-01-01`) or a string holding one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub NaiveDate);

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Toml(toml::value::Datetime),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Toml(dt) => dt.to_string(),
            Raw::Text(s) => s,
        };
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map(Date)
            .map_err(|_| serde::de::Error::custom(format!("`{text}` is not a date; write it as YYYY-MM-DD")))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

/// A SOC report the project is scoped for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportKind {
    /// Controls relevant to user entities' financial reporting.
    Soc1,
    /// The Trust Services Criteria.
    Soc2,
    /// The general-use summary of a SOC 2.
    Soc3,
}

impl ReportKind {
    /// Returns the identifier used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Soc1 => "soc1",
            ReportKind::Soc2 => "soc2",
            ReportKind::Soc3 => "soc3",
        }
    }

    /// Returns the name a reader sees.
    pub fn label(self) -> &'static str {
        match self {
            ReportKind::Soc1 => "SOC 1",
            ReportKind::Soc2 => "SOC 2",
            ReportKind::Soc3 => "SOC 3",
        }
    }
}

/// Type 1 (design at a date) or Type 2 (design and operation over a period).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExamType {
    /// Design and implementation as of a date.
    Type1,
    /// Design and operating effectiveness throughout a period.
    Type2,
}

impl ExamType {
    /// Returns the name a reader sees.
    pub fn label(self) -> &'static str {
        match self {
            ExamType::Type1 => "Type 1",
            ExamType::Type2 => "Type 2",
        }
    }
}

impl<'de> Deserialize<'de> for ExamType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ExamType, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(1) => Ok(ExamType::Type1),
            Raw::Int(2) => Ok(ExamType::Type2),
            Raw::Text(t)
                if matches!(
                    t.to_ascii_lowercase().replace([' ', '-', '_'], "").as_str(),
                    "1" | "type1"
                ) =>
            {
                Ok(ExamType::Type1)
            }
            Raw::Text(t)
                if matches!(
                    t.to_ascii_lowercase().replace([' ', '-', '_'], "").as_str(),
                    "2" | "type2"
                ) =>
            {
                Ok(ExamType::Type2)
            }
            _ => Err(serde::de::Error::custom("the examination type is 1 or 2")),
        }
    }
}

/// A category as written in a project file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CategoryName(pub Category);

impl<'de> Deserialize<'de> for CategoryName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<CategoryName, D::Error> {
        let text = String::deserialize(d)?;
        Category::parse(&text).map(CategoryName).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown category `{text}`; use security, availability, processing_integrity, confidentiality or privacy"
            ))
        })
    }
}

/// How often a control operates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Frequency {
    /// Always on (an automated, configured control).
    Continuous,
    /// Each time an event happens (a hire, a change, an incident).
    PerEvent,
    /// Each business day.
    Daily,
    /// Each week.
    Weekly,
    /// Each month.
    Monthly,
    /// Each quarter.
    Quarterly,
    /// Twice a year.
    SemiAnnual,
    /// Once a year.
    Annual,
}

impl Frequency {
    /// Returns the identifier used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Continuous => "continuous",
            Frequency::PerEvent => "per-event",
            Frequency::Daily => "daily",
            Frequency::Weekly => "weekly",
            Frequency::Monthly => "monthly",
            Frequency::Quarterly => "quarterly",
            Frequency::SemiAnnual => "semi-annual",
            Frequency::Annual => "annual",
        }
    }
}

/// Whether a control is performed by a system or by a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Nature {
    /// Performed by a system.
    Automated,
    /// Performed by a person.
    Manual,
}

/// Whether a control stops a problem or finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ControlType {
    /// Stops the problem from happening.
    Preventive,
    /// Finds the problem after it happens.
    Detective,
    /// Fixes the problem once found.
    Corrective,
}

/// Carve-out or inclusive treatment of a subservice organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Treatment {
    /// The subservice organization's controls are excluded; the report lists the controls expected of it.
    CarveOut,
    /// The subservice organization's controls are described and tested in the report.
    Inclusive,
}

/// The whole project.
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// The contents of `assure.toml`.
    pub manifest: Manifest,
    /// The adopted SOC 1 control objectives.
    pub objectives: Vec<Objective>,
    /// The controls.
    pub controls: Vec<Control>,
    /// The policies.
    pub policies: Vec<Policy>,
    /// The control tests.
    pub tests: Vec<TestDef>,
    /// Vendors and subservice organizations.
    pub vendors: Vec<Vendor>,
    /// The risk register.
    pub risks: Vec<Risk>,
    /// People and their identities.
    pub people: Vec<Person>,
    /// Management's responses to exceptions (`responses.toml`), for Section V of a report.
    pub responses: Vec<Response>,
    /// Where each file came from, to turn spans into lines.
    pub sources: SourceMap,
    /// The kinds of file that failed to load (`manifest`, `people`, `objectives`, `controls`,
    /// `policies`, `tests`, `vendors`, `risks`); checks that depend on them are skipped so one broken
    /// file does not bury its own error under dozens of follow-on ones.
    pub incomplete: std::collections::BTreeSet<&'static str>,
    /// The line of the `[scope]` table in `assure.toml`, for diagnostics about the scope as a whole.
    pub scope_line: Option<u32>,
}

/// The files a project was read from.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

#[derive(Debug, Clone)]
struct SourceFile {
    path: String,
    line_starts: Vec<usize>,
}

impl SourceMap {
    /// Adds a file's relative path and text; returns its id.
    pub fn add(&mut self, path: &str, text: &str) -> FileId {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        self.files.push(SourceFile {
            path: path.to_string(),
            line_starts,
        });
        FileId(self.files.len() - 1)
    }

    /// Returns a file's relative path.
    pub fn path(&self, file: FileId) -> &str {
        self.files.get(file.0).map_or("", |f| f.path.as_str())
    }

    /// Returns the 1-based line of a byte offset, or `None` for spans not read from the file.
    pub fn line(&self, file: FileId, span: &Range<usize>) -> Option<u32> {
        if span.end == 0 {
            return None;
        }
        let f = self.files.get(file.0)?;
        let line = f.line_starts.partition_point(|&s| s <= span.start);
        u32::try_from(line).ok()
    }
}

/// `assure.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The organization.
    pub organization: Organization,
    /// The services the organization provides (DC1).
    #[serde(default)]
    pub services: Vec<Service>,
    /// The system under examination.
    #[serde(default)]
    pub system: System,
    /// What the examination covers.
    #[serde(default)]
    pub scope: Scope,
    /// The examination periods, oldest first (`[[period]]`); none means the scope's dates are the
    /// one period.
    #[serde(default)]
    pub period: Vec<crate::period::PeriodDef>,
    /// Subservice organizations.
    #[serde(default)]
    pub subservice: Vec<Subservice>,
    /// Complementary user entity controls.
    #[serde(default)]
    pub cuec: Vec<Cuec>,
    /// Evidence settings.
    #[serde(default)]
    pub evidence: EvidenceConfig,
    /// Per-test parameter overrides: `[test_params.<test-id>]`.
    #[serde(default)]
    pub test_params: std::collections::BTreeMap<String, toml::Table>,
    /// Settings for connectors that need them.
    #[serde(default)]
    pub connectors: ConnectorsConfig,
    /// Sample sizes by frequency for low, moderate and high risk, overriding Assure's table:
    /// `[sampling] monthly = [2, 3, 4]`; `per-event-large` is for populations of 250 or more.
    #[serde(default)]
    pub sampling: std::collections::BTreeMap<String, [usize; 3]>,
    /// Continuous monitoring: when cycles run and where their alerts go (`[monitoring]`).
    #[serde(default)]
    pub monitoring: MonitoringConfig,
}

/// `[monitoring]`: the schedule of monitoring cycles and where alerts go.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitoringConfig {
    /// `hourly`, or `daily` (at midnight UTC), or `every N minutes`; `assure monitor` without
    /// `--once` runs on it.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Days after which a condition still open is alerted again (none: never).
    #[serde(default)]
    pub remind_after_days: Option<u32>,
    /// `daily`: a digest of what is open, opened and closed goes to every destination with the
    /// first cycle of each day (UTC).
    #[serde(default)]
    pub digest: Option<String>,
    /// Where alerts go.
    #[serde(default)]
    pub alert: Vec<AlertTarget>,
    /// What each cycle pulls from the systems' APIs before it tests.
    #[serde(default)]
    pub collect: Vec<CollectorConfig>,
    /// A TOML file of `NAME = "value"` credentials, outside the project (the environment is read
    /// first).
    #[serde(default)]
    pub secrets_file: Option<String>,
}

/// `[[monitoring.collect]]`: one system a cycle pulls evidence from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectorConfig {
    /// `github`, `okta`, `google-workspace`, `jira`, `aws-iam` or `cloudtrail` ([`crate::monitoring::COLLECTORS`]).
    pub kind: String,
    /// The API's address, for a regional or compatible endpoint (default: the vendor's).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The region requests are signed for (AWS; default `us-east-1`).
    #[serde(default)]
    pub region: Option<String>,
    /// The organisation (GitHub).
    #[serde(default)]
    pub org: Option<String>,
    /// Repositories as `owner/name` (GitHub; default: every repository of `org` not archived).
    #[serde(default)]
    pub repos: Vec<String>,
    /// The account (Google Workspace; default `my_customer`).
    #[serde(default)]
    pub customer: Option<String>,
    /// The trail's S3 bucket (CloudTrail).
    #[serde(default)]
    pub bucket: Option<String>,
    /// The key prefix within the bucket (CloudTrail; default `AWSLogs/`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// The search (Jira), without `ORDER BY`: e.g. `project = IT AND issuetype = "Access Request"`.
    #[serde(default)]
    pub jql: Option<String>,
    /// The name of the credential in the environment or the secrets file, when not the kind's
    /// default (`GITHUB_TOKEN`, `OKTA_API_TOKEN`, `GOOGLE_ACCESS_TOKEN`); never the credential.
    #[serde(default)]
    pub token_env: Option<String>,
}

/// `[[monitoring.alert]]`: one destination for alerts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertTarget {
    /// `webhook` (JSON, signed with an HMAC header when a secret is set), `slack` (a
    /// Slack-compatible incoming webhook) or `email` (SMTP, always over TLS).
    pub kind: String,
    /// The URL the alert is posted to.
    #[serde(default)]
    pub url: Option<String>,
    /// The environment variable that holds the webhook's signing secret (never the secret itself:
    /// `assure.toml` is committed).
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Email: the SMTP server, `HOST:PORT` (587 with STARTTLS, 465 with TLS from the start).
    #[serde(default)]
    pub server: Option<String>,
    /// Email: the sender address.
    #[serde(default)]
    pub from: Option<String>,
    /// Email: the recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// Email: the environment variables holding the SMTP user name and password.
    #[serde(default)]
    pub username_env: Option<String>,
    /// See `username_env`.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Email: a PEM file with the root certificate of a private mail server, trusted besides the
    /// system's roots.
    #[serde(default)]
    pub ca_file: Option<String>,
}

/// Connector settings in `assure.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorsConfig {
    /// How the HR system's roster export maps onto the `people` table.
    #[serde(default)]
    pub hr_roster: Option<MappingConfig>,
    /// How a Jira CSV export maps onto a table (`access_requests` by default, or `changes`).
    #[serde(default)]
    pub jira: Option<MappingConfig>,
}

/// `[connectors.hr_roster]` or `[connectors.jira]`: the export's header for each canonical column.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    /// A roster preset (`bamboohr`, `rippling`, `workday`): the vendor's field names, date format
    /// and worker types, under whatever the rest of the table sets (see [`crate::presets`]).
    #[serde(default)]
    pub preset: Option<String>,
    /// The canonical table (defaults: `people` for the roster, `access_requests` for Jira).
    #[serde(default)]
    pub table: Option<String>,
    /// Canonical column to the export's header.
    #[serde(default)]
    pub columns: std::collections::BTreeMap<String, String>,
    /// The `strftime` format of the export's dates (default `%Y-%m-%d`).
    #[serde(default)]
    pub date_format: Option<String>,
    /// The `strftime` format of zone-less times (Jira's default export: `%d/%b/%y %l:%M %p`).
    #[serde(default)]
    pub timestamp_format: Option<String>,
    /// The offset of zone-less times, such as `-05:00` (default `+00:00`).
    #[serde(default)]
    pub utc_offset: Option<String>,
    /// The roster's worker types to `employee`, `contractor` or `intern`.
    #[serde(default)]
    pub worker_types: std::collections::BTreeMap<String, String>,
    /// Per column, the export's values to the table's values.
    #[serde(default)]
    pub values: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

/// Evidence settings in `assure.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceConfig {
    /// The ledger's Ed25519 public key (hex), pinned so that a replaced key is noticed.
    #[serde(default)]
    pub public_key: Option<String>,
}

/// The organization.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    /// The name used in reports.
    pub name: String,
    /// The legal entity name.
    #[serde(default)]
    pub legal_name: Option<String>,
    /// The public website.
    #[serde(default)]
    pub website: Option<String>,
    /// The industry, in a few words.
    #[serde(default)]
    pub industry: Option<String>,
    /// The head office.
    #[serde(default)]
    pub headquarters: Option<String>,
    /// The person who runs the compliance program.
    #[serde(default)]
    pub compliance_lead: Option<Ref>,
    /// The email domain(s) the workforce uses.
    #[serde(default)]
    pub email_domains: Vec<String>,
    /// The people who may approve a policy version (usually the chief executive, or whoever the
    /// board names). An approval is recorded in the ledger, never typed into the policy.
    #[serde(default)]
    pub policy_approvers: Vec<Ref>,
}

/// A service the organization provides.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The identifier.
    pub id: Ref,
    /// The name.
    pub name: String,
    /// What the service does for customers.
    #[serde(default)]
    pub description: String,
}

/// The system under examination.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct System {
    /// The system's name.
    #[serde(default)]
    pub name: String,
    /// An overview of the system.
    #[serde(default)]
    pub description: String,
    /// What is inside the system boundary and what is not.
    #[serde(default)]
    pub boundaries: String,
    /// The system components (DC3).
    #[serde(default)]
    pub components: Components,
    /// Principal service commitments and system requirements (DC2).
    #[serde(default)]
    pub commitments: Vec<Commitment>,
    /// SOC 1: how transactions flow through the system.
    #[serde(default)]
    pub transaction_flows: Vec<String>,
    /// SOC 1: how reports for user entities are prepared.
    #[serde(default)]
    pub reporting_process: Option<String>,
    /// Significant changes during the period (DC9).
    #[serde(default)]
    pub changes: Vec<SystemChange>,
    /// Significant incidents (DC4): management's account of each (nature, timing, effect,
    /// resolution), linked to the incidents evidence by `incident_id`.
    #[serde(default)]
    pub incidents: Vec<SystemChange>,
    /// The least severe rating of an incident the description reports as significant (DC4):
    /// `sev2` (default) reports sev1 and sev2 incidents from the incidents evidence.
    #[serde(default)]
    pub significant_incidents: Option<Severity>,
}

/// An incident's severity as the incidents evidence rates it, `sev1` the most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The most severe.
    Sev1,
    /// Severe.
    Sev2,
    /// Moderate.
    Sev3,
    /// Minor.
    Sev4,
}

impl Severity {
    /// Reads `sev1` .. `sev4` (any case, surrounding spaces ignored).
    pub fn parse(s: &str) -> Option<Severity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sev1" => Some(Severity::Sev1),
            "sev2" => Some(Severity::Sev2),
            "sev3" => Some(Severity::Sev3),
            "sev4" => Some(Severity::Sev4),
            _ => None,
        }
    }

    /// `sev1` .. `sev4`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Sev1 => "sev1",
            Severity::Sev2 => "sev2",
            Severity::Sev3 => "sev3",
            Severity::Sev4 => "sev4",
        }
    }
}

/// The five kinds of system component.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Components {
    /// Physical and cloud infrastructure.
    #[serde(default)]
    pub infrastructure: Vec<String>,
    /// Applications and system software.
    #[serde(default)]
    pub software: Vec<String>,
    /// Teams and roles.
    #[serde(default)]
    pub people: Vec<String>,
    /// Processes and procedures.
    #[serde(default)]
    pub procedures: Vec<String>,
    /// Data the system handles.
    #[serde(default)]
    pub data: Vec<String>,
}

/// A service commitment or system requirement.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commitment {
    /// The identifier.
    pub id: Ref,
    /// `commitment` (to customers) or `requirement` (of the system).
    #[serde(default = "commitment_kind")]
    pub kind: String,
    /// The category it relates to.
    #[serde(default)]
    pub category: Option<CategoryName>,
    /// The text.
    pub text: String,
}

fn commitment_kind() -> String {
    "commitment".to_string()
}

/// A dated change or incident in the system description.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemChange {
    /// When it happened.
    pub date: Date,
    /// What happened.
    pub text: String,
    /// For an incident: its `incident_id` in the incidents evidence, when it is recorded there.
    #[serde(default)]
    pub incident_id: Option<String>,
}

/// What the examination covers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// The reports.
    #[serde(default)]
    pub reports: Vec<ReportKind>,
    /// Type 1 or Type 2.
    #[serde(default, rename = "type")]
    pub exam_type: Option<ExamType>,
    /// The SOC 2 categories; security is always included.
    #[serde(default)]
    pub categories: Vec<CategoryName>,
    /// First day of a Type 2 period.
    #[serde(default)]
    pub period_start: Option<Spanned<Date>>,
    /// Last day of a Type 2 period.
    #[serde(default)]
    pub period_end: Option<Spanned<Date>>,
    /// The date of a Type 1 examination.
    #[serde(default)]
    pub as_of: Option<Spanned<Date>>,
    /// Criteria that do not apply to the system, with reasons (DC8).
    #[serde(default)]
    pub not_relevant: Vec<NotRelevant>,
    /// Other frameworks the company must also meet, read through Assure's crosswalk: `iso27001`,
    /// `hipaa`, `gdpr`, `ccpa`, `sox-itgc`, `nist-csf` (`assure gap --framework NAME`).
    #[serde(default)]
    pub frameworks: Vec<Ref>,
    /// Frameworks whose requirements the SOC 2 report also covers as additional subject matter
    /// (a "SOC 2+"): their requirements get their own part of Section IV. Only `hipaa` for now;
    /// each must also be in `frameworks`.
    #[serde(default)]
    pub additional_subject_matter: Vec<Ref>,
}

/// A value with the span it was read from.
pub type Spanned<T> = toml::Spanned<T>;

impl Scope {
    /// Returns the categories in scope, always including security, in report order.
    pub fn categories(&self) -> Vec<Category> {
        let mut out = vec![Category::Security];
        for c in &self.categories {
            if !out.contains(&c.0) {
                out.push(c.0);
            }
        }
        out.sort();
        out
    }

    /// The criteria marked not relevant.
    pub fn not_relevant_ids(&self) -> Vec<&str> {
        self.not_relevant.iter().map(|n| n.criterion.as_str()).collect()
    }

    /// Returns whether the scope includes a report.
    pub fn has(&self, report: ReportKind) -> bool {
        self.reports.contains(&report)
    }
}

/// A criterion declared not relevant to the system.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotRelevant {
    /// The criterion.
    pub criterion: Ref,
    /// Why it does not apply.
    #[serde(default)]
    pub reason: String,
}

/// A subservice organization.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subservice {
    /// The identifier.
    pub id: Ref,
    /// The name.
    pub name: String,
    /// The vendor record in `vendors/`.
    #[serde(default)]
    pub vendor: Option<Ref>,
    /// What it does for the organization.
    #[serde(default)]
    pub services: String,
    /// Carve-out or inclusive.
    pub treatment: Treatment,
    /// The criteria or objectives whose achievement depends on it.
    #[serde(default)]
    pub criteria: Vec<Ref>,
    /// The controls expected of it (CSOCs).
    #[serde(default)]
    pub csocs: Vec<Csoc>,
}

/// A complementary subservice organization control.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Csoc {
    /// The identifier.
    pub id: Ref,
    /// What the subservice organization is expected to do.
    pub text: String,
    /// The criteria it supports.
    #[serde(default)]
    pub criteria: Vec<Ref>,
}

/// A complementary user entity control.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cuec {
    /// The identifier.
    pub id: Ref,
    /// What customers are expected to do.
    pub text: String,
    /// The criteria or objectives it supports.
    #[serde(default)]
    pub criteria: Vec<Ref>,
}

/// An adopted SOC 1 control objective.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    /// The identifier.
    pub id: Ref,
    /// A short title.
    pub title: String,
    /// The objective, "Controls provide reasonable assurance that ...".
    pub statement: String,
    /// The library objective it was adopted from.
    #[serde(default)]
    pub from: Option<Ref>,
    /// The file it was read from.
    #[serde(skip)]
    pub file: FileId,
}

/// What evidence a control is expected to produce.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceSpec {
    /// What it is.
    pub name: String,
    /// The canonical evidence table it lands in, when it is data.
    #[serde(default)]
    pub table: Option<Ref>,
}

/// A control.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// The identifier.
    pub id: Ref,
    /// A short title.
    pub title: String,
    /// What is done, by whom, how and how often.
    #[serde(default)]
    pub description: String,
    /// The person accountable for it.
    #[serde(default)]
    pub owner: Option<Ref>,
    /// How often it operates.
    #[serde(default)]
    pub frequency: Option<Frequency>,
    /// Automated or manual.
    #[serde(default)]
    pub nature: Option<Nature>,
    /// Preventive, detective or corrective.
    #[serde(default)]
    pub control_type: Option<ControlType>,
    /// Whether it is a key control.
    #[serde(default)]
    pub key: bool,
    /// `low`, `moderate` or `high`; drives the sample size (defaults: key controls moderate, others low).
    #[serde(default)]
    pub risk: Option<String>,
    /// The trust services criteria it addresses.
    #[serde(default)]
    pub criteria: Vec<Ref>,
    /// The SOC 1 objectives it addresses.
    #[serde(default)]
    pub objectives: Vec<Ref>,
    /// The policies that require it.
    #[serde(default)]
    pub policies: Vec<Ref>,
    /// The tests that check it.
    #[serde(default)]
    pub tests: Vec<Ref>,
    /// Other frameworks' requirements it meets directly, as `FRAMEWORK:REQUIREMENT`
    /// (`iso27001:A.5.32`, `hipaa:164.308(b)(3)`), beyond what the crosswalk gives through its criteria.
    #[serde(default)]
    pub requirements: Vec<Ref>,
    /// The vendors it relies on or covers.
    #[serde(default)]
    pub vendors: Vec<Ref>,
    /// The evidence it produces.
    #[serde(default)]
    pub evidence: Vec<EvidenceSpec>,
    /// The file it was read from.
    #[serde(skip)]
    pub file: FileId,
}

/// A policy's front matter and body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The identifier.
    pub id: Ref,
    /// The title.
    pub title: String,
    /// The person accountable for it.
    #[serde(default)]
    pub owner: Option<Ref>,
    /// The version.
    #[serde(default)]
    pub version: Option<String>,
    /// Who approved this version. Derived from the approval recorded in the ledger
    /// (`assure policy approve`) when the project is opened through the workspace; a value typed
    /// into the front matter is a claim, shown as "not recorded", never an approval.
    #[serde(default)]
    pub approved_by: Option<Ref>,
    /// When this version was approved; derived like `approved_by`.
    #[serde(default)]
    pub approved_on: Option<Date>,
    /// How many months between reviews.
    #[serde(default)]
    pub review_interval_months: Option<u32>,
    /// The criteria it supports.
    #[serde(default)]
    pub criteria: Vec<Ref>,
    /// The people the policy applies to and who must accept it (`all` or a role).
    #[serde(default)]
    pub applies_to: Option<String>,
    /// Which controls and tests enforce each numbered statement, by statement id.
    #[serde(default)]
    pub statements: std::collections::BTreeMap<String, StatementLinks>,
    /// The Markdown body.
    #[serde(skip)]
    pub body: String,
    /// The file it was read from.
    #[serde(skip)]
    pub file: FileId,
}

impl Policy {
    /// Returns the date the next review is due, when approval date and interval are known.
    pub fn next_review(&self) -> Option<NaiveDate> {
        let approved = self.approved_on?.0;
        let months = self.review_interval_months?;
        approved.checked_add_months(chrono::Months::new(months))
    }
}

/// A control test definition.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestDef {
    /// The identifier.
    pub id: Ref,
    /// The title, named after what it checks.
    pub title: String,
    /// The controls it tests.
    #[serde(default)]
    pub controls: Vec<Ref>,
    /// The canonical tables it reads; without evidence in each, it is not run.
    #[serde(default)]
    pub tables: Vec<Ref>,
    /// Tables it also reads when they hold evidence (an empty one is no reason not to run): the
    /// access-approval test reads grants from the logs where a project imports them.
    #[serde(default)]
    pub optional_tables: Vec<Ref>,
    /// The criteria it gives evidence for.
    #[serde(default)]
    pub criteria: Vec<Ref>,
    /// Parameters with their defaults.
    #[serde(default)]
    pub params: toml::Table,
    /// The query.
    #[serde(default)]
    pub sql: String,
    /// The documentation.
    #[serde(default)]
    pub doc: TestDoc,
    /// The file it was read from.
    #[serde(skip)]
    pub file: FileId,
}

impl TestDef {
    /// Every table it reads: the required ones, then the optional ones.
    pub fn reads(&self) -> impl Iterator<Item = &Ref> {
        self.tables.iter().chain(&self.optional_tables)
    }
}

/// A test's documentation, in the ruff style.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestDoc {
    /// What it checks.
    #[serde(default)]
    pub what: String,
    /// Which population it tests, where that comes from, and why it is complete.
    #[serde(default)]
    pub population: String,
    /// Why it matters.
    #[serde(default)]
    pub why: String,
    /// Example evidence.
    #[serde(default)]
    pub example: String,
    /// How to fix a failure.
    #[serde(default)]
    pub remediation: String,
}

/// A vendor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vendor {
    /// The identifier.
    pub id: Ref,
    /// The name.
    pub name: String,
    /// What it provides.
    #[serde(default)]
    pub services: String,
    /// `high`, `medium` or `low`.
    #[serde(default)]
    pub criticality: Option<String>,
    /// Whether its controls are needed to meet the organization's commitments.
    #[serde(default)]
    pub subservice: bool,
    /// The classification of data it holds.
    #[serde(default)]
    pub data_access: Option<String>,
    /// The assurance report it provides (`soc2-type2`, `iso27001`, `none`).
    #[serde(default)]
    pub assurance: Option<String>,
    /// The person who manages the relationship.
    #[serde(default)]
    pub owner: Option<Ref>,
    /// When the vendor's security was last reviewed (questionnaire, contract, access).
    #[serde(default)]
    pub reviewed_on: Option<Date>,
    /// The reviews of the assurance reports it gave, oldest first.
    #[serde(default)]
    pub reports: Vec<VendorReport>,
    /// The file it was read from.
    #[serde(skip)]
    pub file: FileId,
}

/// The company's review of an assurance report a vendor gave (a SOC 1 or SOC 2 report).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorReport {
    /// `soc1-type1`, `soc1-type2`, `soc2-type1`, `soc2-type2`, `soc3`, `iso27001`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The first day of the period it covers (Type 2).
    #[serde(default)]
    pub period_start: Option<Date>,
    /// The last day it covers (the as-of date of a Type 1).
    pub period_end: Date,
    /// The service auditor's opinion: `unmodified`, `qualified`, `adverse` or `disclaimer`.
    pub opinion: String,
    /// When it was received.
    #[serde(default)]
    pub received_on: Option<Date>,
    /// When the company reviewed it; absent while the review is still to do.
    #[serde(default)]
    pub reviewed_on: Option<Date>,
    /// Who reviewed it.
    #[serde(default)]
    pub reviewed_by: Option<Ref>,
    /// The exceptions the service auditor noted, each with the company's assessment.
    #[serde(default)]
    pub exceptions: Vec<ReportException>,
    /// The controls the report expects of its customers, each mapped to the company's controls.
    #[serde(default)]
    pub cuecs: Vec<VendorCuec>,
    /// Bridge letters carrying the report forward.
    #[serde(default)]
    pub bridge_letters: Vec<BridgeLetter>,
}

/// An exception noted in a vendor's report.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportException {
    /// The vendor's control or criterion it concerns.
    pub control: String,
    /// What the service auditor found.
    pub description: String,
    /// Whether it matters to the company's own commitments.
    pub relevant: bool,
    /// The company's assessment: why it does not matter, or what the company does about it.
    #[serde(default)]
    pub assessment: String,
}

/// A complementary user entity control a vendor's report expects of the company.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorCuec {
    /// Its reference in the vendor's report.
    pub id: String,
    /// What the vendor expects of its customers.
    pub text: String,
    /// The company's controls that carry it out.
    #[serde(default)]
    pub controls: Vec<Ref>,
}

/// A vendor's bridge (gap) letter: management's statement covering the days after its report.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeLetter {
    /// The last day it covers.
    pub covers_through: Date,
    /// When it was received.
    #[serde(default)]
    pub received_on: Option<Date>,
}

/// The opinions a service auditor gives.
pub const OPINIONS: [&str; 4] = ["unmodified", "qualified", "adverse", "disclaimer"];

impl VendorReport {
    /// The last day the report, carried forward by its latest bridge letter, covers.
    pub fn covered_through(&self) -> NaiveDate {
        self.bridge_letters
            .iter()
            .map(|b| b.covers_through.0)
            .chain(std::iter::once(self.period_end.0))
            .max()
            .unwrap_or(self.period_end.0)
    }
}

impl Vendor {
    /// The latest report (by the last day it covers), if any.
    pub fn latest_report(&self) -> Option<&VendorReport> {
        self.reports.iter().max_by_key(|r| r.period_end.0)
    }

    /// When the vendor was last reviewed: its own review or its latest report's, whichever is later.
    pub fn last_reviewed(&self) -> Option<NaiveDate> {
        self.reports
            .iter()
            .filter_map(|r| r.reviewed_on.map(|d| d.0))
            .chain(self.reviewed_on.map(|d| d.0))
            .max()
    }

    /// The day its assurance goes stale: 15 months after the period its latest report (or bridge
    /// letter) covers, as the subservice test judges it.
    pub fn report_stale_on(&self) -> Option<NaiveDate> {
        self.latest_report()?
            .covered_through()
            .checked_add_months(chrono::Months::new(15))
    }

    /// Where its assurance stands as of a date: `current`, `due soon` (it goes stale within
    /// `REPORT_REMINDER_DAYS`), `stale`, `not reviewed`, `adverse` (an adverse opinion or a
    /// disclaimer), or `no report`; with a sentence saying why.
    pub fn report_status(&self, as_of: NaiveDate) -> (&'static str, String) {
        let Some(r) = self.latest_report() else {
            return ("no report", "no assurance report review is recorded".into());
        };
        let through = r.covered_through();
        let stale = self.report_stale_on().unwrap_or(through);
        if matches!(r.opinion.as_str(), "adverse" | "disclaimer") {
            return (
                "adverse",
                format!("its {} report carries an {} opinion", r.kind, r.opinion),
            );
        }
        if stale <= as_of {
            return (
                "stale",
                format!(
                    "its {} report covers through {through}; it went stale on {stale}",
                    r.kind
                ),
            );
        }
        if r.reviewed_on.is_none() {
            return (
                "not reviewed",
                format!("its {} report (through {}) is not reviewed yet", r.kind, r.period_end.0),
            );
        }
        if (stale - as_of).num_days() <= REPORT_REMINDER_DAYS {
            return (
                "due soon",
                format!(
                    "its {} report covers through {through}; it goes stale on {stale}: request the next report or a bridge letter",
                    r.kind
                ),
            );
        }
        (
            "current",
            format!("its {} report covers through {through}, current until {stale}", r.kind),
        )
    }
}

/// How many days before a vendor's report goes stale Assure starts reminding.
pub const REPORT_REMINDER_DAYS: i64 = 60;

/// A risk in the register.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Risk {
    /// The identifier.
    pub id: Ref,
    /// The title.
    pub title: String,
    /// What could happen.
    #[serde(default)]
    pub description: String,
    /// 1 (rare) to 5 (almost certain).
    pub likelihood: u8,
    /// 1 (negligible) to 5 (severe).
    pub impact: u8,
    /// The likelihood left once the controls operate (1 to 5), when assessed.
    #[serde(default)]
    pub residual_likelihood: Option<u8>,
    /// The impact left once the controls operate (1 to 5), when assessed.
    #[serde(default)]
    pub residual_impact: Option<u8>,
    /// When the risk was last assessed (the periodic risk assessment).
    #[serde(default)]
    pub reviewed_on: Option<Date>,
    /// The person who owns the risk.
    #[serde(default)]
    pub owner: Option<Ref>,
    /// `mitigate`, `accept`, `transfer` or `avoid`.
    pub treatment: String,
    /// The controls that mitigate it.
    #[serde(default)]
    pub controls: Vec<Ref>,
    /// The file it was read from.
    #[serde(skip)]
    pub file: FileId,
}

/// One numbered statement of a policy (`3. AC-3. Passwords are ...`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Statement {
    /// The statement id (`AC-3`).
    pub id: String,
    /// Its text.
    pub text: String,
    /// Its line in the policy body.
    pub line: usize,
}

/// Parses the numbered statements of a policy body: list items whose text starts with an id such
/// as `AC-3.` (letters, a dash, a number, a full stop).
pub fn statements(body: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    for (i, line) in body.lines().enumerate() {
        let t = line.trim_start();
        let Some(rest) = t
            .split_once(". ")
            .filter(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
            .map(|(_, r)| r)
        else {
            continue;
        };
        let Some((id, text)) = rest.split_once(". ") else {
            continue;
        };
        let valid = id.split_once('-').is_some_and(|(a, b)| {
            !a.is_empty()
                && a.chars().all(|c| c.is_ascii_uppercase())
                && !b.is_empty()
                && b.chars().all(|c| c.is_ascii_digit())
        });
        if valid {
            out.push(Statement {
                id: id.to_string(),
                text: text.trim().to_string(),
                line: i + 1,
            });
        }
    }
    out
}

/// The controls and tests that enforce one numbered policy statement (front matter `[statements]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementLinks {
    /// Controls that carry the statement out.
    #[serde(default)]
    pub controls: Vec<Ref>,
    /// Tests that check it, beyond those of its controls.
    #[serde(default)]
    pub tests: Vec<Ref>,
}

/// Management's response to the exceptions of a test or a control.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// The test or control whose exceptions it answers.
    pub subject: Ref,
    /// Cause, remediation and what changed, in management's words.
    pub text: String,
    /// Who owns the remediation.
    #[serde(default)]
    pub owner: Option<Ref>,
    /// When the remediation was complete.
    #[serde(default)]
    pub remediated_on: Option<Date>,
    /// The file it was read from.
    #[serde(skip)]
    pub file: FileId,
}

/// A person and the identities they use.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// The identifier used in `owner` fields.
    pub id: Ref,
    /// The full name.
    pub name: String,
    /// The work email.
    pub email: String,
    /// The job title.
    #[serde(default)]
    pub title: Option<String>,
    /// Other emails and usernames (`github:jdoe`) that belong to the same person.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The file it was read from.
    #[serde(skip)]
    pub file: FileId,
}

impl Project {
    /// A test's parameters: its own defaults with the project's `[test_params.<id>]` overrides.
    pub fn test_params(&self, t: &TestDef) -> toml::Table {
        let mut params = t.params.clone();
        if let Some(over) = self.manifest.test_params.get(t.id.as_str()) {
            for (k, v) in over {
                params.insert(k.clone(), v.clone());
            }
        }
        params
    }

    /// Returns the person an owner reference names: a person id, their email or one of their aliases.
    pub fn person(&self, reference: &str) -> Option<&Person> {
        let r = reference.trim();
        self.people.iter().find(|p| {
            p.id.as_str() == r || p.email.eq_ignore_ascii_case(r) || p.aliases.iter().any(|a| a.eq_ignore_ascii_case(r))
        })
    }

    /// Returns the control with an id.
    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id.as_str() == id)
    }

    /// Returns the policy with an id.
    pub fn policy(&self, id: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.id.as_str() == id)
    }

    /// Returns the test with an id.
    pub fn test(&self, id: &str) -> Option<&TestDef> {
        self.tests.iter().find(|t| t.id.as_str() == id)
    }
}
