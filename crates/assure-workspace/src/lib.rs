//! The application layer: the one place the command line and the web application call for anything
//! about a project. A [`Workspace`] names a project directory; it opens the project for reading
//! (load, validate, refuse unreadable files) or for writing (the signing key and its pin in
//! `assure.toml`, checked once, here), builds a [`Snapshot`] from one read of the ledger, and
//! records evidence, test runs, samples and policy acceptances in the signed ledger.
//!
//! Fronts stay thin: they parse arguments or forms, call one function here, and print or render.
//! Running the SQL tests needs the engine (DataFusion), which this crate does not link: the binary
//! passes a [`Runner`] in, so the web crate can depend on this crate without building the engine.
//!
//! This is an edge crate: it touches the project's files, the evidence store and the wall clock
//! ([`Workspace::now`]). The assessment, the ledger's rules and the engine it calls do not.

#![warn(missing_docs)]

pub mod approval;
mod error;
pub mod evidence;
pub mod monitor;
pub mod period;
pub mod questionnaire;
pub mod records;
pub mod registers;
pub mod sample;
pub mod service;
pub mod snapshot;
pub mod test;
pub mod workpaper;

use std::path::{Path, PathBuf};

use assure_evidence::keys;
use assure_evidence::store::Store;
use assure_project::{Project, Severity};
use ed25519_dalek::SigningKey;

pub use assure_evidence::runfile;
pub use error::WorkspaceError;
pub use service::{Backend, Upload, UploadKind, Verified};
pub use snapshot::{Acceptance, Snapshot};
pub use test::{Evaluation, Reads, RunOptions, Runner, conclusion};

/// A project directory, and the operations on it.
#[derive(Debug, Clone)]
pub struct Workspace {
    dir: PathBuf,
    /// The examination period the project is read for (`None`: the current period).
    period: Option<String>,
}

/// A project opened for reading: loaded and validated.
#[derive(Debug)]
pub struct Opened {
    /// The project.
    pub project: Project,
    /// How many validation errors it has (a front end may say so; reading goes on).
    pub errors: usize,
    /// Where each policy's approval stands (its `approved_by`/`approved_on` derived from it).
    pub approvals: std::collections::BTreeMap<String, approval::PolicyApproval>,
    /// Approvals in the ledger that could not be read.
    pub problems: Vec<String>,
}

/// A project opened for recording: the project, its store, and its signing key, checked against
/// the key pinned in `assure.toml`.
#[derive(Debug)]
pub struct Writable {
    /// The project.
    pub project: Project,
    /// The evidence store.
    pub store: Store,
    /// The signing key.
    pub key: SigningKey,
    /// Its public half, hex.
    pub public: String,
    /// Set when this opening pinned the public key in `assure.toml` (no key was pinned before):
    /// `true` when the key was created now, `false` when an existing key file was pinned.
    pub pinned_now: Option<bool>,
}

/// The outcome of comparing the signing key with the key pinned in `assure.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin {
    /// The pinned key is this key.
    Matches,
    /// No key is pinned yet.
    Unpinned,
    /// A different key is pinned.
    Differs,
}

/// Compares a pinned key (`ed25519:HEX` or `HEX`, any surrounding space) with a public key in hex.
/// The one pin check: every path that signs goes through [`Workspace::open_write`], which calls it.
pub fn check_pin(pinned: Option<&str>, public_hex: &str) -> Pin {
    match pinned {
        None => Pin::Unpinned,
        Some(p)
            if p.trim()
                .trim_start_matches("ed25519:")
                .eq_ignore_ascii_case(public_hex.trim()) =>
        {
            Pin::Matches
        }
        Some(_) => Pin::Differs,
    }
}

impl Writable {
    /// Appends one draft, signed, as a batch of its own; returns the entry.
    pub fn append_one(&self, draft: assure_ledger::Draft) -> Result<assure_ledger::Entry, WorkspaceError> {
        use assure_evidence::store::EvidenceStore as _;
        self.store
            .append(vec![draft], &self.key)?
            .pop()
            .ok_or(WorkspaceError::Store(assure_evidence::store::StoreError::BrokenTip))
    }

    /// Reads every ledger entry, refusing when a line is not an entry: `doing` says what would go
    /// wrong if the unread lines were skipped ("a run now would leave their evidence out").
    pub fn whole_ledger(&self, doing: &str) -> Result<Vec<assure_ledger::Entry>, WorkspaceError> {
        use assure_evidence::store::EvidenceStore as _;
        let parsed = assure_ledger::parse(&self.store.ledger()?);
        if !parsed.ok() {
            return Err(WorkspaceError::invalid(
                format!(
                    "the ledger has line(s) that are not entries ({}); {doing}",
                    parsed.problem_lines().join("; ")
                ),
                Some("run `assure evidence verify` and restore the ledger first"),
            ));
        }
        Ok(parsed.entries)
    }
}

impl Workspace {
    /// The project in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Workspace {
        Workspace {
            dir: dir.into(),
            period: None,
        }
    }

    /// The same project read for the period named `name` (`None`: the current period): the scope's
    /// dates, type and reports are that period's for everything this workspace computes.
    #[must_use]
    pub fn with_period(mut self, name: Option<String>) -> Workspace {
        self.period = name;
        self
    }

    /// The period this workspace reads the project for, from a loaded project.
    pub fn period_of(&self, project: &Project) -> Result<Option<assure_project::period::Period>, WorkspaceError> {
        match project.select_period(self.period.as_deref()) {
            Ok(p) => Ok(Some(p)),
            Err(assure_project::period::SelectError::None) if self.period.is_none() => Ok(None),
            Err(e) => Err(WorkspaceError::invalid(
                e.to_string(),
                Some("run `assure period list` to see the project's periods"),
            )),
        }
    }

    /// The project as this workspace reads it: for the selected period when one was named.
    fn for_period(&self, project: Project) -> Result<Project, WorkspaceError> {
        if self.period.is_none() {
            return Ok(project);
        }
        match self.period_of(&project)? {
            Some(p) => Ok(project.for_period(&p)),
            None => Ok(project),
        }
    }

    /// The project directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The current instant as recorded in the ledger (RFC 3339, UTC, seconds): the application's
    /// one reading of the wall clock for records.
    pub fn now() -> String {
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    /// Whether anything has been recorded in the ledger.
    pub fn has_ledger(&self) -> bool {
        self.dir.join(".assure/evidence/ledger.jsonl").exists()
    }

    /// Loads and validates the project, refusing when files could not be read (anything computed
    /// from a partly read project would be incomplete).
    pub fn open_read(&self) -> Result<Opened, WorkspaceError> {
        let checked = assure_project::check(&self.dir)?;
        let unreadable: Vec<String> = checked
            .diagnostics
            .iter()
            .filter(|d| matches!(d.code, "invalid-file" | "unreadable-file"))
            .map(ToString::to_string)
            .collect();
        if !unreadable.is_empty() {
            return Err(WorkspaceError::Unreadable {
                dir: self.dir.clone(),
                diagnostics: unreadable,
            });
        }
        let errors = checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        let mut project = self.for_period(checked.project)?;
        let (approvals, problems) = self.apply_approvals(&mut project)?;
        Ok(Opened {
            project,
            errors,
            approvals,
            problems,
        })
    }

    /// Opens the project for recording. The signing key is created when `create_key` is set and
    /// there is none; the key must be the one pinned in `assure.toml`, and is pinned there when no
    /// key is pinned yet.
    pub fn open_write(&self, create_key: bool) -> Result<Writable, WorkspaceError> {
        let checked = assure_project::check(&self.dir)?;
        if checked.project.incomplete.contains("manifest") {
            return Err(WorkspaceError::NoManifest { dir: self.dir.clone() });
        }
        let store = Store::from_env(&self.dir)?;
        if !create_key && !keys::key_path(&self.dir).exists() {
            return Err(WorkspaceError::NoKey);
        }
        let (key, created) = keys::load_or_create(&self.dir).map_err(|e| WorkspaceError::Io {
            what: "read or create the key",
            path: keys::key_path(&self.dir),
            source: std::io::Error::other(e.to_string()),
        })?;
        let public = keys::public_hex(&key);
        let pinned = checked.project.manifest.evidence.public_key.clone();
        let pinned_now = match check_pin(pinned.as_deref(), &public) {
            Pin::Matches => None,
            Pin::Differs => return Err(WorkspaceError::KeyMismatch),
            Pin::Unpinned => {
                let path = self.dir.join("assure.toml");
                let text = std::fs::read_to_string(&path).map_err(|source| WorkspaceError::Io {
                    what: "read",
                    path: path.clone(),
                    source,
                })?;
                let edited = assure_project::edit::pin_public_key(&text, &public)?;
                write_atomically(&path, edited.as_bytes())?;
                Some(created)
            }
        };
        let mut project = self.for_period(checked.project)?;
        self.apply_approvals(&mut project)?;
        Ok(Writable {
            project,
            store,
            key,
            public,
            pinned_now,
        })
    }

    /// Creates a project from a template in the (new or empty) directory, with its ledger key created
    /// and the key's public half pinned in `assure.toml`.
    pub fn init(
        &self,
        template: assure_project::init::Template,
    ) -> Result<assure_project::init::InitSummary, WorkspaceError> {
        let summary = assure_project::init::init(template, &self.dir)?;
        self.open_write(true)?;
        Ok(summary)
    }

    /// The evidence store, for reading: on the local disk, or in the object storage that
    /// `ASSURE_EVIDENCE_STORE` names.
    pub fn store(&self) -> Result<Store, WorkspaceError> {
        Ok(Store::from_env(&self.dir)?)
    }
}

/// Writes a file through a temporary file in the same directory and a rename, so a reader never
/// sees half of it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WorkspaceError> {
    let tmp = path.with_extension(format!("assure-tmp-{}", std::process::id()));
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(source) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(WorkspaceError::Io {
            what: "write",
            path: path.to_path_buf(),
            source,
        });
    }
    Ok(())
}

/// A fresh random identifier: 16 bytes from the operating system's random source, hex. There is no
/// fallback: when the source fails, the caller fails.
pub fn random_id() -> Result<String, WorkspaceError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| WorkspaceError::Random(e.to_string()))?;
    Ok(hex::encode(b))
}
