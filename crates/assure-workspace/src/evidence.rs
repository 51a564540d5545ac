//! Recording evidence: importing exports through the connectors, adding files as they are,
//! recording policy acceptances, verifying the ledger and exporting the auditor's package.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use assure_evidence::import::{self, Meta, Options, Planned};
use assure_evidence::package;
use assure_evidence::read::Problem;
use assure_evidence::store::EvidenceStore;
use assure_ledger::{Entry, Report};
use assure_project::Project;

use crate::{Workspace, WorkspaceError};

/// Converts a project mapping into the connector's mapping; `worker_types` are the values of `worker_type`.
fn to_mapping(c: &assure_project::model::MappingConfig) -> assure_evidence::vendor::Mapping {
    // A preset the project names is applied beneath its own settings; an unknown one is reported
    // by validation, which every command runs first, so here it falls back to the table as written.
    let effective = c.effective().unwrap_or_else(|_| c.clone());
    let c = &effective;
    let mut values = c.values.clone();
    if !c.worker_types.is_empty() {
        values
            .entry("worker_type".into())
            .or_default()
            .extend(c.worker_types.clone());
    }
    assure_evidence::vendor::Mapping {
        table: c.table.clone(),
        columns: c.columns.clone(),
        date_format: c.date_format.clone(),
        timestamp_format: c.timestamp_format.clone(),
        utc_offset: c.utc_offset.clone(),
        values,
    }
}

/// Returns the import options that carry the project's column mappings.
pub fn mapped_options(p: &Project) -> Options {
    Options {
        hr_roster: p.manifest.connectors.hr_roster.as_ref().map(to_mapping),
        jira: p.manifest.connectors.jira.as_ref().map(to_mapping),
        ..Options::default()
    }
}

/// The controls whose evidence list names `table`, sorted.
pub fn controls_for_table(project: &Project, table: &str) -> Vec<String> {
    let mut v: Vec<String> = project
        .controls
        .iter()
        .filter(|c| {
            c.evidence
                .iter()
                .any(|e| e.table.as_ref().is_some_and(|x| x.as_str() == table))
        })
        .map(|c| c.id.to_string())
        .collect();
    v.sort();
    v
}

/// The result of verifying: where from, and what was found.
#[derive(Debug, Clone)]
pub struct Verification {
    /// The pinned key (or the key passed in), hex.
    pub key: String,
    /// The report.
    pub report: Report,
}

impl Workspace {
    /// Validates files for import with the project's mappings (nothing is stored).
    pub fn plan_import(
        &self,
        files: &[PathBuf],
        table: Option<String>,
        connector: Option<String>,
    ) -> Result<Vec<Planned>, Vec<Problem>> {
        let mapped = assure_project::check(self.dir())
            .ok()
            .map(|c| mapped_options(&c.project))
            .unwrap_or_default();
        import::plan(
            files,
            &Options {
                table,
                connector,
                spool: Some(assure_evidence::store::spool_dir(self.dir())),
                ..mapped
            },
        )
    }

    /// Sorts and validates a folder as users have it: exports go through their connectors;
    /// records (documents, images, mail by extension, and JSON documents no table fits) are kept
    /// as they are, each placed on the control its name or folder names. With a table or connector
    /// forced, every file is an export. Nothing is stored.
    pub fn plan_folder(
        &self,
        files: &[PathBuf],
        table: Option<String>,
        connector: Option<String>,
    ) -> Result<(Vec<Planned>, Vec<import::RecordFile>), Vec<Problem>> {
        let forced = table.is_some() || connector.is_some();
        let (mut exports, mut records): (Vec<PathBuf>, Vec<PathBuf>) = if forced {
            (files.to_vec(), Vec::new())
        } else {
            files.iter().cloned().partition(|f| !import::is_record(f))
        };
        let planned = loop {
            if exports.is_empty() {
                break Vec::new();
            }
            match self.plan_import(&exports, table.clone(), connector.clone()) {
                Ok(p) => break p,
                Err(problems) => {
                    let documents: Vec<PathBuf> = exports
                        .iter()
                        .filter(|f| {
                            f.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
                                && problems.iter().any(|p| {
                                    p.file == f.display().to_string()
                                        && p.message == "its columns do not match any evidence table"
                                })
                        })
                        .cloned()
                        .collect();
                    if forced || documents.is_empty() {
                        return Err(problems);
                    }
                    exports.retain(|f| !documents.contains(f));
                    records.extend(documents);
                }
            }
        };
        let controls: Vec<String> = assure_project::check(self.dir())
            .map(|c| c.project.controls.iter().map(|c| c.id.to_string()).collect())
            .unwrap_or_default();
        let records = records
            .iter()
            .map(|f| import::RecordFile::placed(f, f.display().to_string(), &controls))
            .collect();
        Ok((planned, records))
    }

    /// Records validated files in the ledger (all or none), each entry naming the controls whose
    /// evidence list names its table.
    pub fn commit_import(&self, planned: &[Planned], meta: &Meta) -> Result<Vec<Entry>, WorkspaceError> {
        let w = self.open_write(true)?;
        let project = &w.project;
        self.refuse_closed_meta(project, meta, "record evidence")?;
        for p in planned {
            crate::registers::refuse_import(project, p.table, &p.name)?;
        }
        Ok(import::commit(&w.store, &w.key, planned, meta, &|t| {
            controls_for_table(project, t)
        })?)
    }

    /// Refuses evidence recorded for a closed period (the period named by `meta`'s dates).
    fn refuse_closed_meta(&self, project: &Project, meta: &Meta, doing: &str) -> Result<(), WorkspaceError> {
        let date = |d: &Option<String>| {
            d.as_deref()
                .and_then(|t| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
        };
        match (date(&meta.period_start), date(&meta.period_end)) {
            (Some(a), Some(b)) => self.refuse_closed(project, a, b, doing),
            _ => Ok(()),
        }
    }

    /// Records one file as it is, for controls that must exist.
    pub fn add(&self, file: &Path, controls: Vec<String>, meta: &Meta) -> Result<Entry, WorkspaceError> {
        let w = self.open_write(true)?;
        self.refuse_closed_meta(&w.project, meta, "record evidence")?;
        for c in &controls {
            if w.project.control(c).is_none() {
                return Err(WorkspaceError::invalid(
                    format!("unknown control `{c}`"),
                    Some("control ids are the `id` of a file in `controls/`"),
                ));
            }
        }
        Ok(import::add(&w.store, &w.key, file, controls, meta)?)
    }

    /// Verifies the ledger and every file it names against `key` (default: the key pinned in
    /// `assure.toml`). A line that is not an entry is a finding that names the line.
    pub fn verify(&self, key: Option<String>) -> Result<Option<Verification>, WorkspaceError> {
        self.verify_expecting(key, None)
    }

    /// [`Workspace::verify`], and that the ledger still holds the head a signed statement names
    /// (what an auditor was handed earlier): entries removed or rewritten since are findings.
    pub fn verify_expecting(
        &self,
        key: Option<String>,
        head: Option<&assure_ledger::Head>,
    ) -> Result<Option<Verification>, WorkspaceError> {
        let checked = assure_project::check(self.dir())?;
        let Some(pinned) = key.or(checked.project.manifest.evidence.public_key) else {
            return Ok(None);
        };
        let vk = assure_ledger::parse_public_key(&pinned).map_err(WorkspaceError::BadPinnedKey)?;
        let store = self.store()?;
        let text = store.ledger()?;
        let mut report = assure_ledger::verify(&text, &vk, &mut |b| store.check_blob(b));
        if let Some(h) = head
            && let Some(f) = assure_ledger::check_head(h, &vk, &assure_ledger::parse(&text))
        {
            report.findings.push(f);
        }
        Ok(Some(Verification { key: pinned, report }))
    }

    /// A signed statement of the ledger's head now (committed entries only), to hand to an auditor
    /// or commit with the project.
    pub fn head(&self, at: &str) -> Result<assure_ledger::Head, WorkspaceError> {
        let w = self.open_write(false)?;
        let parsed = assure_ledger::parse(&w.store.ledger()?);
        Ok(assure_ledger::sign_head(&parsed, at, &w.key))
    }

    /// The bytes of a stored file, by BLAKE3.
    pub fn blob(&self, blake3: &str) -> Result<Vec<u8>, WorkspaceError> {
        let store = self.store()?;
        let mut bytes = Vec::new();
        store
            .open_blob(blake3)?
            .read_to_end(&mut bytes)
            .map_err(|source| WorkspaceError::Io {
                what: "read",
                path: PathBuf::from(blake3),
                source,
            })?;
        Ok(bytes)
    }

    /// Writes the auditor's package; refuses a ledger with lines that are not entries.
    pub fn export(&self, out: &Path) -> Result<(package::Manifest, String), WorkspaceError> {
        let w = self.open_write(false)?;
        let m = package::export(&w.store, &w.project.manifest.organization.name, &w.key, out)?;
        Ok((m, w.public))
    }

    /// The auditor's package as bytes (written to a private temporary file first), with the
    /// ledger's public key that verifies it.
    pub fn export_bytes(&self) -> Result<(Vec<u8>, String), WorkspaceError> {
        let dir = std::env::temp_dir().join(format!("assure-package-{}", crate::random_id()?));
        std::fs::create_dir_all(&dir).map_err(|source| WorkspaceError::Io {
            what: "create",
            path: dir.clone(),
            source,
        })?;
        let out = dir.join("evidence.tar");
        let result = self.export(&out).and_then(|(_, public)| {
            std::fs::read(&out)
                .map(|b| (b, public))
                .map_err(|source| WorkspaceError::Io {
                    what: "read",
                    path: out.clone(),
                    source,
                })
        });
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    /// Stages uploaded bytes in a private directory inside the project's state and runs `f` on the
    /// staged path; the directory is removed afterwards whatever happens.
    pub(crate) fn staged<T>(
        &self,
        name: &str,
        bytes: &[u8],
        f: impl FnOnce(&Path) -> Result<T, WorkspaceError>,
    ) -> Result<T, WorkspaceError> {
        let safe: String = name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or("upload")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        // A file system takes names up to 255 bytes: keep the end (the extension tells the format).
        let safe: String = {
            let chars: Vec<char> = safe.chars().collect();
            chars
                .get(chars.len().saturating_sub(120)..)
                .unwrap_or_default()
                .iter()
                .collect()
        };
        let safe = if safe.trim_matches('.').is_empty() {
            "upload".to_string()
        } else {
            safe
        };
        let dir = self.dir().join(".assure/tmp").join(crate::random_id()?);
        let io = |what: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| WorkspaceError::Io { what, path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
        let path = dir.join(safe);
        let result = std::fs::write(&path, bytes)
            .map_err(io("write", &path))
            .and_then(|()| f(&path));
        let _ = std::fs::remove_dir_all(&dir);
        result
    }
}

/// A short list of import problems for one line of text: the first five, then a count.
pub fn problems_text(ps: &[Problem]) -> String {
    let mut s: Vec<String> = ps.iter().take(5).map(ToString::to_string).collect();
    if ps.len() > 5 {
        s.push(format!("and {} more", ps.len() - 5));
    }
    s.join("; ")
}
