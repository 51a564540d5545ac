//! A snapshot: everything drawn from a project as of a date (the project, the assessment, the
//! latest run and samples, every ledger entry, policy acceptances), built from one read of the
//! ledger. Reports and every page of the web application read a snapshot.

use std::collections::BTreeSet;

use assure_assess::gap::{self, Assessment};
use assure_evidence::store::EvidenceStore;
use assure_ledger::Entry;
use assure_project::Project;
use assure_schema::results::{RunRecord, SampleRecord};
use chrono::NaiveDate;

use crate::{Workspace, WorkspaceError, records};

/// One recorded acceptance of a policy version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Acceptance {
    /// Who (email).
    pub email: String,
    /// The policy.
    pub policy_id: String,
    /// The version accepted.
    pub policy_version: String,
    /// When (RFC 3339, UTC).
    pub accepted_at: String,
}

/// Everything drawn from the project as of a date.
#[derive(Debug)]
pub struct Snapshot {
    /// The project.
    pub project: Project,
    /// How many validation errors the project has.
    pub errors: usize,
    /// The gap assessment.
    pub assessment: Assessment,
    /// The latest test run and its ledger entry's sequence number.
    pub run: Option<(u64, RunRecord)>,
    /// The latest run whose window runs past the period's end: what a bridge letter cites.
    pub later_run: Option<(u64, RunRecord)>,
    /// The latest sample per control.
    pub samples: Vec<SampleRecord>,
    /// Every ledger entry.
    pub ledger: Vec<Entry>,
    /// Policy acceptances recorded as evidence.
    pub acceptances: Vec<Acceptance>,
    /// What could not be read: ledger lines that are not entries, records whose JSON does not parse,
    /// recorded files that do not read back. Shown to the user, never dropped.
    pub problems: Vec<String>,
    /// The as-of date.
    pub as_of: NaiveDate,
    /// Commits to the project's controls, policies and tests, newest first (empty without git).
    pub history: Vec<assure_report::ProjectChange>,
    /// The incidents evidence, `None` when no incidents file is recorded.
    pub incidents: Option<Vec<assure_report::Incident>>,
    /// The work recorded on each control's latest sample, by control.
    pub workpapers: std::collections::BTreeMap<String, crate::workpaper::Workpaper>,
    /// Where each policy's approval stands, by policy id (recorded approvals, from the ledger).
    pub policy_approvals: std::collections::BTreeMap<String, crate::approval::PolicyApproval>,
}

impl Snapshot {
    /// The report inputs over this snapshot.
    pub fn inputs(&self) -> assure_report::Inputs<'_> {
        assure_report::Inputs {
            project: &self.project,
            assessment: &self.assessment,
            run: self.run.as_ref().map(|(s, r)| (*s, r)),
            samples: &self.samples,
            ledger: &self.ledger,
            as_of: self.as_of,
            history: &self.history,
            incidents: self.incidents.as_deref(),
        }
    }
}

impl Snapshot {
    /// The report inputs for a bridge letter: the period's facts, and the latest run whose window
    /// runs past the period's end (the days the letter covers), if any.
    pub fn bridge_inputs(&self) -> assure_report::Inputs<'_> {
        assure_report::Inputs {
            run: self.later_run.as_ref().map(|(s, r)| (*s, r)),
            ..self.inputs()
        }
    }

    /// The report inputs for a report on the project's examination period: the latest test run is
    /// used only when it covers that period, so a run of another year is never printed as this
    /// period's results. Also returns what to tell the user when the run was left out.
    pub fn period_inputs(&self) -> (assure_report::Inputs<'_>, Option<String>) {
        let mut inp = self.inputs();
        let (start, end) = inp.period();
        if let Some((seq, r)) = inp.run {
            let covers = start.is_none_or(|s| s == r.period_start) && end.is_none_or(|e| e == r.period_end);
            if !covers {
                inp.run = None;
                let period = match (start, end) {
                    (Some(s), Some(e)) => format!("{s} to {e}"),
                    (None, Some(e)) => format!("as of {e}"),
                    _ => "the scope's period".into(),
                };
                return (
                    inp,
                    Some(format!(
                        "the latest test run (ledger entry {seq}) covers {} to {}, not this report's period ({period}); the report shows no test results. Run `assure test` for the period first",
                        r.period_start, r.period_end
                    )),
                );
            }
        }
        (inp, None)
    }
}

impl Workspace {
    /// Builds a snapshot as of `as_of`, reading the ledger once.
    pub fn snapshot(&self, as_of: NaiveDate) -> Result<Snapshot, WorkspaceError> {
        let opened = self.open_read()?;
        let project = opened.project;
        let mut snap = Snapshot {
            assessment: gap::assess(&project, as_of, &gap::Signals::default()),
            project,
            errors: opened.errors,
            run: None,
            later_run: None,
            samples: Vec::new(),
            ledger: Vec::new(),
            acceptances: Vec::new(),
            problems: Vec::new(),
            as_of,
            history: project_history(&self.dir),
            incidents: None,
            workpapers: std::collections::BTreeMap::new(),
            policy_approvals: opened.approvals,
        };
        snap.problems.extend(opened.problems);
        if !self.has_ledger() {
            return Ok(snap);
        }
        let store = self.store()?;
        let parsed = assure_ledger::parse(&store.ledger()?);
        snap.problems.extend(parsed.problem_lines());
        let entries = parsed.entries;
        let (run, bad_runs) = records::latest_run_of(&store, &entries, &snap.project)?;
        let (samples, bad_samples) = records::latest_samples(&store, &entries, &snap.project)?;
        snap.problems
            .extend(bad_runs.into_iter().chain(bad_samples).map(|u| u.message));
        let signals = records::signals(&snap.project, &entries, run.as_ref().map(|(_, r)| r), as_of);
        snap.assessment = gap::assess(&snap.project, as_of, &signals);
        snap.acceptances = acceptances(&store, &entries, &mut snap.problems)?;
        snap.incidents = incidents(&store, &entries, &mut snap.problems)?;
        let seqs = crate::workpaper::latest_sample_seqs(&entries, &snap.project);
        let mut read = |e: &Entry| -> Result<Vec<u8>, String> {
            let b = e.draft.blob.as_ref().ok_or("no file")?;
            records::blob_bytes(&store, b).map_err(|x| x.to_string())
        };
        snap.workpapers = crate::workpaper::workpapers(&entries, &seqs, &mut read);
        for w in snap.workpapers.values() {
            snap.problems.extend(w.problems.iter().cloned());
        }
        let period_end = snap
            .project
            .manifest
            .scope
            .period_end
            .as_ref()
            .or(snap.project.manifest.scope.as_of.as_ref())
            .map(|d| d.get_ref().to_string());
        if let Some(end) = period_end {
            let after = |e: &Entry| e.draft.period_end.as_deref().is_some_and(|x| x > end.as_str());
            let (later, bad) = records::latest_run_where(&store, &entries, &after)?;
            snap.problems.extend(bad.into_iter().map(|u| u.message));
            snap.later_run = later;
        }
        snap.run = run;
        snap.samples = samples;
        snap.ledger = entries;
        Ok(snap)
    }
}

fn acceptances(
    store: &dyn EvidenceStore,
    entries: &[Entry],
    problems: &mut Vec<String>,
) -> Result<Vec<Acceptance>, WorkspaceError> {
    let wanted: BTreeSet<&str> = ["policy_acceptances"].into_iter().collect();
    if !entries
        .iter()
        .any(|e| e.draft.table.as_deref() == Some("policy_acceptances"))
    {
        return Ok(Vec::new());
    }
    let loaded = assure_evidence::load::load_entries(store, entries, Some(&wanted))?;
    problems.extend(loaded.problems.iter().map(ToString::to_string));
    let mut out = Vec::new();
    if let Some(t) = loaded.tables.get("policy_acceptances") {
        let col = |n: &str| t.table.columns.iter().position(|c| c.name == n);
        let (e, p, v, a) = (
            col("email"),
            col("policy_id"),
            col("policy_version"),
            col("accepted_at"),
        );
        for r in &t.rows {
            let get = |i: Option<usize>| i.and_then(|i| r.values.get(i).cloned().flatten()).unwrap_or_default();
            out.push(Acceptance {
                email: get(e),
                policy_id: get(p),
                policy_version: get(v),
                accepted_at: get(a),
            });
        }
    }
    Ok(out)
}

/// Every incident in the incidents evidence, each once (a later import of the same `incident_id`
/// replaces an earlier one), ordered by detection; `None` when no incidents file is recorded.
fn incidents(
    store: &dyn EvidenceStore,
    entries: &[Entry],
    problems: &mut Vec<String>,
) -> Result<Option<Vec<assure_report::Incident>>, WorkspaceError> {
    if !entries.iter().any(|e| e.draft.table.as_deref() == Some("incidents")) {
        return Ok(None);
    }
    let wanted: BTreeSet<&str> = ["incidents"].into_iter().collect();
    let loaded = assure_evidence::load::load_entries(store, entries, Some(&wanted))?;
    problems.extend(loaded.problems.iter().map(ToString::to_string));
    let Some(t) = loaded.tables.get("incidents") else {
        return Ok(Some(Vec::new()));
    };
    let by_blake: std::collections::BTreeMap<&str, &assure_schema::results::Source> =
        loaded.sources.iter().map(|s| (s.blake3.as_str(), s)).collect();
    let col = |n: &str| t.table.columns.iter().position(|c| c.name == n);
    let (id, sev, cat, det, res, pm, imp) = (
        col("incident_id"),
        col("severity"),
        col("category"),
        col("detected_at"),
        col("resolved_at"),
        col("postmortem_at"),
        col("customer_impact"),
    );
    // Timestamps are canonical RFC 3339 after validation; the day is their first ten characters.
    let day = |v: Option<String>| v.and_then(|v| NaiveDate::parse_from_str(v.get(..10)?, "%Y-%m-%d").ok());
    let mut by_id: std::collections::BTreeMap<String, (u64, assure_report::Incident)> =
        std::collections::BTreeMap::new();
    for r in &t.rows {
        let get = |i: Option<usize>| i.and_then(|i| r.values.get(i).cloned().flatten());
        let Some(detected_on) = day(get(det)) else { continue };
        let src = by_blake.get(r.evidence.as_str());
        let seq = src.map_or(0, |s| s.seq);
        let inc = assure_report::Incident {
            id: get(id).unwrap_or_default(),
            severity: get(sev).unwrap_or_default(),
            category: get(cat).unwrap_or_default(),
            detected_on,
            resolved_on: day(get(res)),
            postmortem_on: day(get(pm)),
            customer_impact: get(imp).map(|v| v == "true"),
            file: src.map(|s| s.name.clone()).unwrap_or_default(),
            row: r.row,
            sha256: src.map(|s| s.sha256.clone()).unwrap_or_default(),
        };
        match by_id.get(&inc.id) {
            Some((s, _)) if *s > seq => {}
            _ => {
                by_id.insert(inc.id.clone(), (seq, inc));
            }
        }
    }
    let mut out: Vec<_> = by_id.into_values().map(|(_, i)| i).collect();
    out.sort_by(|a, b| a.detected_on.cmp(&b.detected_on).then(a.id.cmp(&b.id)));
    Ok(Some(out))
}

/// The commits that changed the project's controls, policies or tests, newest first, up to a
/// bound; empty when the project is not under git (or git is not installed).
fn project_history(dir: &std::path::Path) -> Vec<assure_report::ProjectChange> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "log",
            "--max-count=2000",
            "--date=short",
            "--format=%x1e%h%x09%cd%x09%s",
            "--name-only",
            "--relative",
            "--",
            "controls",
            "policies",
            "tests",
        ])
        .output();
    let Ok(out) = out else { return Vec::new() };
    if !out.status.success() {
        return Vec::new();
    }
    String::from_utf8_lossy(&out.stdout)
        .split('\u{1e}')
        .filter_map(|rec| {
            let mut lines = rec.lines();
            let mut head = lines.next()?.splitn(3, '\t');
            let commit = head.next()?.to_string();
            let date = NaiveDate::parse_from_str(head.next()?, "%Y-%m-%d").ok()?;
            let summary = head.next().unwrap_or_default().to_string();
            let paths = lines.filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
            Some(assure_report::ProjectChange {
                date,
                commit,
                summary,
                paths,
            })
        })
        .collect()
}
