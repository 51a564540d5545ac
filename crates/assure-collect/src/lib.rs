//! Collectors: the edge that pulls evidence from systems' APIs for a monitoring cycle.
//!
//! Each configured collector yields one or more *pulls* (a stream such as `github members acme`),
//! each either the bytes the API gave (recorded in the ledger as they came, read by the connector
//! that knows them), nothing new since its cursor, or why it failed. A pull is all or nothing: a
//! page that fails fails the pull, and nothing of it is recorded (a partial population never
//! replaces a whole one); the failure is recorded and alerted by the monitor.
//!
//! Credentials come from the environment or from a secrets file outside the project
//! ([`Secrets`]); they go into request headers and nowhere else (never into file names, notes,
//! cursors or errors: URLs in messages pass through [`http::redact`]).
//!
//! | kind | pulls | onto |
//! |---|---|---|
//! | `github` | organisation members with role and 2FA (GraphQL), merged pull requests with their reviews per repository (REST, since the cursor) | `accounts`, `changes` |
//! | `okta` | users with their enrolled factors; the System Log since the cursor | `accounts`, `events` |
//! | `google-workspace` | users with 2-step verification (Directory API) | `accounts` |
//! | `aws-iam` | the IAM credential report (SigV4-signed) | `accounts` |
//! | `cloudtrail` | the trail's log files from its S3 bucket, past each region's cursor | `events` |
//! | `jira` | issues found by a JQL search, updated since the cursor, read through `[connectors.jira]` | the mapping's table |

pub mod aws;
pub mod cloudtrail;
pub mod github;
pub mod google;
pub mod http;
pub mod jira;
pub mod okta;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use assure_project::model::CollectorConfig;
use chrono::NaiveDate;

/// The collector kinds this version knows.
pub const KINDS: [&str; 6] = assure_project::monitoring::COLLECTORS;

/// How long one collector may spend waiting (rate limits, retries, reports being built).
pub const PATIENCE: Duration = Duration::from_secs(120);

/// What one stream of a collector brought back.
#[derive(Debug, Clone)]
pub struct Pull {
    /// The collector kind (`github`).
    pub collector: String,
    /// The stream, unique in the project (`github members acme`): the key of its cursor.
    pub stream: String,
    /// Where it pulled from (the endpoint, without credentials).
    pub source: String,
    /// A file name and the bytes the API gave; `None` when nothing is new since the cursor; or
    /// why it failed.
    pub outcome: Result<Option<(String, Vec<u8>)>, String>,
    /// Where the next pull of this stream starts, once this one is recorded.
    pub cursor: Option<String>,
}

impl Pull {
    fn failed(collector: &str, stream: String, source: &str, e: String) -> Self {
        Self {
            collector: collector.to_string(),
            stream,
            source: http::redact(source),
            outcome: Err(e),
            cursor: None,
        }
    }
}

/// Where credentials come from: the environment first, then a TOML file of `NAME = "value"` lines
/// kept outside the project (`[monitoring] secrets_file`, or `ASSURE_SECRETS_FILE`).
#[derive(Debug, Default, Clone)]
pub struct Secrets {
    file: Option<String>,
    values: BTreeMap<String, String>,
}

impl Secrets {
    /// Reads the secrets file, when there is one.
    pub fn load(path: Option<&Path>) -> Result<Self, String> {
        let from_env = std::env::var("ASSURE_SECRETS_FILE").ok().map(std::path::PathBuf::from);
        let Some(path) = path.map(Path::to_path_buf).or(from_env) else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read the secrets file {}: {e}", path.display()))?;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            format!(
                "the secrets file {} is not TOML ({}); write one `NAME = \"value\"` per line",
                path.display(),
                e.message()
            )
        })?;
        let values = table
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
            .collect();
        Ok(Self {
            file: Some(path.display().to_string()),
            values,
        })
    }

    /// A credential by name, or an error that says where it was looked for.
    pub fn get(&self, name: &str) -> Result<String, String> {
        if let Ok(v) = std::env::var(name)
            && !v.is_empty()
        {
            return Ok(v);
        }
        if let Some(v) = self.values.get(name) {
            return Ok(v.clone());
        }
        Err(match &self.file {
            Some(f) => format!("{name} is set neither in the environment nor in the secrets file {f}"),
            None => format!("{name} is not set in the environment (or in a secrets file: `[monitoring] secrets_file`)"),
        })
    }
}

/// Runs every configured collector; one that fails says why and the others go on. `cursors` are
/// the streams' cursors from the previous cycle; `since` is where a stream with no cursor starts
/// (the current period's first day).
pub fn collect(
    configs: &[CollectorConfig],
    cursors: &BTreeMap<String, String>,
    since: NaiveDate,
    secrets: &Secrets,
) -> Vec<Pull> {
    let mut out = Vec::new();
    for c in configs {
        match c.kind.as_str() {
            "aws-iam" => out.push(aws::collect(c, secrets)),
            "cloudtrail" => out.push(cloudtrail::collect(c, cursors, since, secrets)),
            "github" => out.extend(github::collect(c, cursors, since, secrets)),
            "okta" => out.extend(okta::collect(c, cursors, since, secrets)),
            "google-workspace" => out.push(google::collect(c, secrets)),
            "jira" => out.push(jira::collect(c, cursors, since, secrets)),
            other => out.push(Pull::failed(
                other,
                other.to_string(),
                c.endpoint.as_deref().unwrap_or_default(),
                format!("this version cannot collect `{other}` (it knows {})", KINDS.join(", ")),
            )),
        }
    }
    out
}

/// The endpoint without a trailing slash.
fn base(endpoint: &str) -> &str {
    endpoint.trim_end_matches('/')
}

/// A name safe in a file name.
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}
