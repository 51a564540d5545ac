//! What the web application asks of a project, as one trait ([`Backend`]) that this layer owns and
//! implements ([`Service`]). The web crate depends on this trait, never on the binary; its tests
//! may put a fake behind it.

use assure_evidence::import::{self, Meta};
use assure_ledger::Entry;
use assure_schema::results::SampleRecord;
use chrono::NaiveDate;

use crate::evidence::{controls_for_table, mapped_options, problems_text};
use crate::sample::SampleOptions;
use crate::{Snapshot, Workspace, WorkspaceError};

/// What an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadKind {
    /// An export that goes through the connectors into an evidence table.
    Export,
    /// A record (minutes, a screenshot, a signed report) kept as-is for a control.
    Record,
}

/// An uploaded file.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The file name as sent.
    pub file_name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// The controls it is evidence for.
    pub controls: Vec<String>,
    /// Export or record.
    pub kind: UploadKind,
    /// Who uploaded it (account email).
    pub by: String,
    /// What the uploader may provide, when limited (a control owner): see [`UploadScope`].
    pub scope: Option<UploadScope>,
    /// What the ledger entry's note says of it (default: uploaded through the web application),
    /// for example the request it answers.
    pub note: Option<String>,
    /// The first and last day the file covers, when the uploader said (a periodic control's
    /// slot: the quarter a review covers).
    pub period: Option<(NaiveDate, NaiveDate)>,
}

/// What a person may provide as an export: rows for the tables their controls read, never a
/// replacement of a file recorded for a control that is not theirs. Computed by the web
/// application's authorization layer, enforced here once the upload's table is known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadScope {
    /// The tables the uploader's controls read.
    pub tables: std::collections::BTreeSet<String>,
    /// Files (table, recorded name) recorded for controls the uploader does not own.
    pub protected: std::collections::BTreeSet<(String, String)>,
}

/// A failure, as the web application shows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The input was refused; the message says what and what to do.
    #[error("{0}")]
    Invalid(String),
    /// Assure could not do it (disk, ledger).
    #[error("{0}")]
    Failed(String),
}

impl From<WorkspaceError> for BackendError {
    fn from(e: WorkspaceError) -> BackendError {
        if e.is_problem() {
            BackendError::Invalid(e.text())
        } else {
            BackendError::Failed(e.text())
        }
    }
}

/// The result of verifying the ledger.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verified {
    /// Whether every entry and file checked out.
    pub ok: bool,
    /// Entries checked.
    pub entries: usize,
    /// What was found.
    pub message: String,
}

/// The project-side operations the web application needs.
pub trait Backend: Send + Sync + 'static {
    /// Loads the project, the ledger, the latest run and samples, and assesses readiness.
    fn snapshot(&self, as_of: NaiveDate) -> Result<Snapshot, BackendError>;
    /// Records an uploaded file in the signed ledger; nothing is stored if it is refused.
    fn import(&self, upload: Upload) -> Result<Vec<Entry>, BackendError>;
    /// Records that a person accepted a policy version, as evidence in the ledger.
    fn accept_policy(&self, email: &str, policy: &str, version: &str) -> Result<Entry, BackendError>;
    /// Verifies the ledger and every file it names.
    fn verify(&self) -> Result<Verified, BackendError>;
    /// The bytes of a stored file, by BLAKE3.
    fn blob(&self, blake3: &str) -> Result<Vec<u8>, BackendError>;
    /// Draws and records a sample of a control's population.
    fn sample(
        &self,
        control: &str,
        opts: &SampleOptions,
        by: &str,
        as_of: NaiveDate,
    ) -> Result<SampleRecord, BackendError>;
    /// Records an item's test result or a sign-off on a control's latest sample.
    fn record_workpaper(
        &self,
        control: &str,
        input: &crate::workpaper::WorkpaperInput,
        by: &str,
    ) -> Result<Entry, BackendError>;
    /// Every examination period's results side by side, oldest first (year over year).
    fn year_over_year(&self, as_of: NaiveDate) -> Result<Vec<crate::period::PeriodResults>, BackendError>;
    /// Monitoring: its configuration, open conditions and latest cycles.
    fn monitoring(&self) -> Result<crate::monitor::MonitoringView, BackendError>;
    /// Runs one monitoring cycle (collect, test, compare, alert) as `by`; returns its summary.
    /// Collectors and alert delivery are network edges, so a backend without them refuses.
    fn run_cycle(&self, by: &str) -> Result<String, BackendError> {
        let _ = by;
        Err(BackendError::Invalid(
            "this server cannot run monitoring cycles: run `assure monitor --once`".into(),
        ))
    }
    /// A test's outcome with each item's evidence row added to its attributes (read back from the
    /// store through the item's lineage). A backend without a store returns the outcome as it is.
    fn with_evidence_rows(
        &self,
        test: &assure_schema::results::TestOutcome,
        entries: &[Entry],
    ) -> Result<assure_schema::results::TestOutcome, BackendError> {
        let _ = entries;
        Ok(test.clone())
    }
    /// Records a named approver's approval of a policy's current text in the ledger, as `by`.
    fn approve_policy(&self, input: &crate::approval::ApproveInput, by: &str) -> Result<Entry, BackendError> {
        let _ = (input, by);
        Err(BackendError::Invalid(
            "this server cannot record approvals: run `assure policy approve`".into(),
        ))
    }
    /// Security questionnaires: list, answer, review, approve, export.
    fn questionnaire(
        &self,
        op: crate::questionnaire::QuestionnaireOp,
    ) -> Result<crate::questionnaire::QuestionnaireOut, BackendError> {
        let _ = op;
        Err(BackendError::Invalid(
            "this server does not answer questionnaires: use `assure questionnaire`".into(),
        ))
    }
    /// The auditor's evidence package (the signed ledger and every file) as bytes, with the public
    /// key that verifies it.
    fn evidence_package(&self) -> Result<(Vec<u8>, String), BackendError> {
        Err(BackendError::Invalid(
            "this server cannot export the evidence package: use `assure evidence export`".into(),
        ))
    }
    /// Today's date (the as-of date of pages).
    fn today(&self) -> NaiveDate;
}

/// The project behind the web application: a [`Workspace`] and, optionally, a fixed as-of date.
#[derive(Debug, Clone)]
pub struct Service {
    workspace: Workspace,
    as_of: Option<NaiveDate>,
}

impl Service {
    /// Serves `workspace`, as of `as_of` when given (else today).
    pub fn new(workspace: Workspace, as_of: Option<NaiveDate>) -> Service {
        Service { workspace, as_of }
    }

    fn meta(by: &str, note: &str) -> Result<Meta, WorkspaceError> {
        Ok(Meta {
            at: Workspace::now(),
            by: by.to_string(),
            period_start: None,
            period_end: None,
            note: Some(note.to_string()),
            batch: format!("web-{}", crate::random_id()?),
        })
    }
}

/// Validates a staged file and names it by its file name alone (not the staging directory).
fn plan_staged(path: &std::path::Path, opts: &import::Options) -> Result<Vec<import::Planned>, WorkspaceError> {
    let mut planned =
        import::plan(&[path.to_path_buf()], opts).map_err(|ps| WorkspaceError::invalid(problems_text(&ps), None))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    planned.iter_mut().for_each(|p| p.name = name.clone());
    Ok(planned)
}

impl Backend for Service {
    fn snapshot(&self, as_of: NaiveDate) -> Result<Snapshot, BackendError> {
        Ok(self.workspace.snapshot(as_of)?)
    }

    fn questionnaire(
        &self,
        op: crate::questionnaire::QuestionnaireOp,
    ) -> Result<crate::questionnaire::QuestionnaireOut, BackendError> {
        Ok(self.workspace.questionnaire_op(op)?)
    }

    fn import(&self, upload: Upload) -> Result<Vec<Entry>, BackendError> {
        let ws = &self.workspace;
        let w = ws.open_write(true)?;
        let mut meta = Service::meta(
            &upload.by,
            upload.note.as_deref().unwrap_or("uploaded through the web application"),
        )?;
        if let Some((start, end)) = upload.period {
            meta.period_start = Some(start.to_string());
            meta.period_end = Some(end.to_string());
        }
        let entries = ws.staged(&upload.file_name, &upload.bytes, |path| match upload.kind {
            UploadKind::Export => {
                // Recorded under the uploaded name, so a new upload of the same export replaces it.
                let planned = plan_staged(path, &mapped_options(&w.project))?;
                for p in &planned {
                    crate::registers::refuse_import(&w.project, p.table, &p.name)?;
                }
                if let Some(scope) = &upload.scope {
                    for p in &planned {
                        if !scope.tables.contains(p.table) {
                            return Err(WorkspaceError::invalid(
                                format!(
                                    "this export fills the `{}` table, which none of your controls reads; nothing was stored",
                                    p.table
                                ),
                                Some("upload it for a control that uses this table, or ask its owner or a compliance manager"),
                            ));
                        }
                        if scope.protected.contains(&(p.table.to_string(), p.name.clone())) {
                            return Err(WorkspaceError::invalid(
                                format!(
                                    "`{}` is already recorded for a control you do not own; replacing it needs that control's owner or a compliance manager; nothing was stored",
                                    p.name
                                ),
                                Some("upload it under another file name, or ask the control's owner"),
                            ));
                        }
                    }
                }
                let controls = upload.controls.clone();
                Ok(import::commit(&w.store, &w.key, &planned, &meta, &|_| {
                    controls.clone()
                })?)
            }
            UploadKind::Record => Ok(vec![import::add(
                &w.store,
                &w.key,
                path,
                upload.controls.clone(),
                &meta,
            )?]),
        })?;
        Ok(entries)
    }

    fn accept_policy(&self, email: &str, policy: &str, version: &str) -> Result<Entry, BackendError> {
        let ws = &self.workspace;
        let w = ws.open_write(true)?;
        let at = Workspace::now();
        // Written with a CSV writer: an email with a comma or a line break stays one field of one row.
        let csv = {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(["email", "policy_id", "policy_version", "accepted_at"])
                .and_then(|()| w.write_record([email, policy, version, at.as_str()]))
                .map_err(|e| BackendError::Failed(format!("cannot write the acceptance: {e}")))?;
            w.into_inner()
                .map_err(|e| BackendError::Failed(format!("cannot write the acceptance: {e}")))?
        };
        let stamp: String = at.chars().filter(char::is_ascii_digit).collect();
        let who: String = email
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let opts = import::Options {
            table: Some("policy_acceptances".into()),
            ..mapped_options(&w.project)
        };
        let controls = controls_for_table(&w.project, "policy_acceptances");
        let meta = Service::meta(email, "policy accepted in the web application")?;
        let name = format!("web-acceptance-{policy}-{who}-{stamp}.csv");
        let entry = ws.staged(&name, &csv, |path| {
            let planned = plan_staged(path, &opts)?;
            import::commit(&w.store, &w.key, &planned, &meta, &|_| controls.clone())?
                .pop()
                .ok_or_else(|| WorkspaceError::invalid("nothing was recorded", None))
        })?;
        Ok(entry)
    }

    fn verify(&self) -> Result<Verified, BackendError> {
        let Some(v) = self.workspace.verify(None)? else {
            return Ok(Verified {
                ok: true,
                entries: 0,
                message: "No evidence has been recorded yet, so there is nothing to verify.".into(),
            });
        };
        let report = v.report;
        let message = if report.ok() {
            format!(
                "{} entries and {} files ({} bytes) re-hashed; every signature checks out against the key pinned in assure.toml.",
                report.entries, report.blobs, report.bytes
            )
        } else {
            report
                .findings
                .iter()
                .map(|f| {
                    format!(
                        "line {} (entry {}): {} — {}",
                        f.line,
                        f.seq.map_or("?".into(), |s| s.to_string()),
                        f.code,
                        f.message
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        Ok(Verified {
            ok: report.ok(),
            entries: usize::try_from(report.entries).unwrap_or(usize::MAX),
            message,
        })
    }

    fn blob(&self, blake3: &str) -> Result<Vec<u8>, BackendError> {
        Ok(self.workspace.blob(blake3)?)
    }

    fn record_workpaper(
        &self,
        control: &str,
        input: &crate::workpaper::WorkpaperInput,
        by: &str,
    ) -> Result<Entry, BackendError> {
        Ok(self.workspace.record_workpaper(control, input, &Workspace::now(), by)?)
    }

    fn evidence_package(&self) -> Result<(Vec<u8>, String), BackendError> {
        Ok(self.workspace.export_bytes()?)
    }

    fn approve_policy(&self, input: &crate::approval::ApproveInput, by: &str) -> Result<Entry, BackendError> {
        Ok(self.workspace.approve_policy(input, &Workspace::now(), by)?)
    }

    fn with_evidence_rows(
        &self,
        test: &assure_schema::results::TestOutcome,
        entries: &[Entry],
    ) -> Result<assure_schema::results::TestOutcome, BackendError> {
        Ok(self.workspace.with_evidence_rows(test, entries)?)
    }

    fn sample(
        &self,
        control: &str,
        opts: &SampleOptions,
        by: &str,
        _as_of: NaiveDate,
    ) -> Result<SampleRecord, BackendError> {
        self.workspace
            .sample(control, opts, &Workspace::now(), by)
            .map(|(r, _)| r)
            .map_err(|e| match e {
                // Sampling refusals are the auditor's to read, whatever their kind.
                WorkspaceError::Store(_) | WorkspaceError::Io { .. } => BackendError::Failed(e.text()),
                other => BackendError::Invalid(other.text()),
            })
    }

    fn year_over_year(&self, as_of: NaiveDate) -> Result<Vec<crate::period::PeriodResults>, BackendError> {
        Ok(self.workspace.year_over_year(as_of)?)
    }

    fn monitoring(&self) -> Result<crate::monitor::MonitoringView, BackendError> {
        Ok(self.workspace.monitoring_view(chrono::Utc::now())?)
    }

    fn today(&self) -> NaiveDate {
        self.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive())
    }
}
