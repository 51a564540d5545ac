//! Report drafts: SOC 2 (Type 1 and 2), SOC 1, SOC 3, the readiness report, a bridge letter, the
//! control matrix with the request list, and policies, all built as one [`doc::Document`] model.
//!
//! Pure: every function takes the project, the assessment, the recorded test run, samples and
//! ledger entries, and an explicit as-of date; nothing here reads a disk or a clock. The PDF
//! renderer (`assure-pdf`), the XLSX writer (`assure-xlsx`) and the OSCAL writer (`assure-oscal`)
//! are separate crates that read what this one builds.
//!
//! A required element the project lacks is never left out silently: it becomes a visible
//! [`doc::Block::Gap`] where it belongs and is listed on the cover ([`doc::Document::missing`]).

#![warn(missing_docs)]

pub mod doc;
pub mod due;
pub mod matrix;
mod other;
pub mod policy;
pub mod risk;
mod soc;
pub mod workpaper;
pub mod yoy;

use std::collections::BTreeMap;

use assure_assess::gap::Assessment;
use assure_assess::results::{RunRecord, SampleRecord};
use assure_ledger::Entry;
use assure_project::Project;
use assure_project::model::{Control, ExamType};
use chrono::NaiveDate;

pub use other::{bridge, readiness};
pub use soc::{soc1, soc2, soc3};

/// Everything a report is drawn from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The project.
    pub project: &'a Project,
    /// The gap assessment as of the same date.
    pub assessment: &'a Assessment,
    /// The latest recorded test run and its ledger sequence number, if any.
    pub run: Option<(u64, &'a RunRecord)>,
    /// The latest sample drawn per control.
    pub samples: &'a [SampleRecord],
    /// Every ledger entry (imports, runs, samples).
    pub ledger: &'a [Entry],
    /// The as-of date.
    pub as_of: NaiveDate,
    /// Commits to the project's controls, policies and tests, newest first (from git; empty when
    /// the project is not under git): the report's changes during the period are drawn from them.
    pub history: &'a [ProjectChange],
    /// The incidents evidence (every row of the `incidents` table), or `None` when none is
    /// recorded: the description's significant incidents (DC4) and the bridge letter read it.
    pub incidents: Option<&'a [Incident]>,
}

/// An incident as the incidents evidence records it, with where it was read from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Incident {
    /// Its identifier in the incident tracker.
    pub id: String,
    /// `sev1` .. `sev4` as recorded (kept verbatim when it is not one of those).
    pub severity: String,
    /// `security`, `availability`, `privacy`, `other`, or empty.
    pub category: String,
    /// When it was detected (the day, UTC).
    pub detected_on: NaiveDate,
    /// When it was resolved, if it was.
    pub resolved_on: Option<NaiveDate>,
    /// When its postmortem was published, if it was.
    pub postmortem_on: Option<NaiveDate>,
    /// Whether customers were affected, when recorded.
    pub customer_impact: Option<bool>,
    /// The evidence file it was read from, its row, and that file's ledger entry.
    pub file: String,
    /// The row in that file.
    pub row: u64,
    /// The SHA-256 of that file.
    pub sha256: String,
}

/// A commit that changed the project's controls, policies or tests.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProjectChange {
    /// The day it was committed.
    pub date: NaiveDate,
    /// The abbreviated commit hash.
    pub commit: String,
    /// Its subject line.
    pub summary: String,
    /// The project files it changed (`controls/AC-01.toml`, ...).
    pub paths: Vec<String>,
}

/// Why a report cannot be drafted at all (as opposed to a draft with visible gaps).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// The input makes no sense for this report.
    #[error("{0}")]
    Invalid(String),
}

/// `s` ending a sentence: a full stop added unless it already ends with one ("Northwind, Inc."
/// never becomes "Inc..").
pub fn sentence(s: &str) -> String {
    let t = s.trim_end();
    if t.ends_with('.') || t.ends_with('!') || t.ends_with('?') {
        t.to_string()
    } else {
        format!("{t}.")
    }
}

/// `1 exception`, `2 exceptions`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A date as a reader writes it: `31 December 2026`.
pub fn long_date(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

impl<'a> Inputs<'a> {
    pub(crate) fn org(&self) -> &'a str {
        &self.project.manifest.organization.name
    }

    pub(crate) fn legal_name(&self) -> &'a str {
        let o = &self.project.manifest.organization;
        o.legal_name.as_deref().unwrap_or(&o.name)
    }

    pub(crate) fn exam_type(&self) -> Option<ExamType> {
        self.project.manifest.scope.exam_type
    }

    /// The scope's period start and end.
    pub fn period(&self) -> (Option<NaiveDate>, Option<NaiveDate>) {
        let s = &self.project.manifest.scope;
        (
            s.period_start.as_ref().map(|d| d.get_ref().0),
            s.period_end.as_ref().map(|d| d.get_ref().0),
        )
    }

    /// `1 January 2026 to 31 December 2026`, or `as of 31 December 2026` for Type 1.
    pub(crate) fn period_text(&self) -> String {
        let (start, end) = self.period();
        match (self.exam_type(), start, end) {
            (Some(ExamType::Type2), Some(s), Some(e)) => format!("{} to {}", long_date(s), long_date(e)),
            (Some(ExamType::Type1), _, Some(e)) => format!("as of {}", long_date(e)),
            (_, _, Some(e)) => format!("as of {}", long_date(e)),
            _ => format!("as of {} (no period in the scope)", long_date(self.as_of)),
        }
    }

    pub(crate) fn person_name(&self, r: Option<&assure_project::model::Ref>) -> String {
        match r {
            Some(r) => self
                .project
                .person(r.as_str())
                .map(|p| p.name.clone())
                .unwrap_or_else(|| r.as_str().to_string()),
            None => String::new(),
        }
    }

    pub(crate) fn person_title(&self, r: Option<&assure_project::model::Ref>) -> String {
        r.and_then(|r| self.project.person(r.as_str()))
            .and_then(|p| p.title.clone())
            .unwrap_or_default()
    }

    /// Controls by id, sorted.
    pub(crate) fn controls_for(&self, pred: impl Fn(&Control) -> bool) -> Vec<&'a Control> {
        let mut v: Vec<&Control> = self.project.controls.iter().filter(|c| pred(c)).collect();
        v.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        v
    }

    /// The latest run's tests of a control.
    pub fn tests_of(&self, control: &str) -> Vec<&'a assure_assess::results::TestOutcome> {
        match self.run {
            Some((_, r)) => r
                .tests
                .iter()
                .filter(|t| t.controls.iter().any(|c| c == control))
                .collect(),
            None => Vec::new(),
        }
    }

    pub(crate) fn sample_of(&self, control: &str) -> Option<&'a SampleRecord> {
        self.samples.iter().find(|s| s.control == control)
    }

    pub(crate) fn occurrences_of(&self, control: &str) -> Option<&'a assure_assess::results::ControlOccurrences> {
        self.run
            .and_then(|(_, r)| r.occurrences.iter().find(|o| o.control == control))
    }

    /// Ledger imports per control: (latest date, sequence numbers).
    pub(crate) fn imports_by_control(&self) -> BTreeMap<&'a str, Vec<&'a Entry>> {
        let mut m: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
        for e in self.ledger {
            if !e.draft.action.is_evidence() || !self.for_this_period(e) {
                continue;
            }
            for c in &e.draft.controls {
                m.entry(c.as_str()).or_default().push(e);
            }
        }
        m
    }

    /// Whether evidence recorded in `e` was recorded for days that overlap the report's period: a
    /// new period's request list starts afresh, and last year's files do not answer it. An entry
    /// that records no period counts for every period.
    fn for_this_period(&self, e: &Entry) -> bool {
        let day = |t: &Option<String>| t.as_deref().and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok());
        match (self.period(), day(&e.draft.period_start), day(&e.draft.period_end)) {
            ((Some(start), Some(end)), Some(a), Some(b)) => a <= end && start <= b,
            _ => true,
        }
    }

    /// Ledger imports per table.
    pub(crate) fn imports_by_table(&self) -> BTreeMap<&'a str, Vec<&'a Entry>> {
        let mut m: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
        for e in self.ledger {
            if let Some(t) = &e.draft.table
                && e.draft.action.is_evidence()
                && self.for_this_period(e)
            {
                m.entry(t.as_str()).or_default().push(e);
            }
        }
        m
    }
}

/// One evidence file recorded for the report's period, as an auditor checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceFile {
    /// Its ledger entry.
    pub seq: u64,
    /// When it was recorded (the day).
    pub recorded: String,
    /// `import` or `add`.
    pub action: &'static str,
    /// The file name it was recorded under.
    pub name: String,
    /// The table it fills (imports), or the controls it supports (added files).
    pub what: String,
    /// Rows read (imports).
    pub rows: Option<u64>,
    /// Its SHA-256, what `sha256sum` prints.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

impl Inputs<'_> {
    /// Every evidence file recorded for the report's period, by ledger entry, up to the as-of date.
    pub fn evidence_files(&self) -> Vec<EvidenceFile> {
        self.ledger
            .iter()
            .filter(|e| e.draft.action.is_evidence() && self.for_this_period(e))
            .filter(|e| {
                NaiveDate::parse_from_str(e.draft.at.get(..10).unwrap_or(""), "%Y-%m-%d").is_ok_and(|d| d <= self.as_of)
            })
            .filter_map(|e| {
                let b = e.draft.blob.as_ref()?;
                Some(EvidenceFile {
                    seq: e.seq,
                    recorded: e.draft.at.get(..10).unwrap_or("").to_string(),
                    action: e.draft.action.as_str(),
                    name: b.name.clone(),
                    what: match &e.draft.table {
                        Some(t) => t.clone(),
                        None => e.draft.controls.join(", "),
                    },
                    rows: e.draft.rows,
                    sha256: b.sha256.clone(),
                    size: b.size,
                })
            })
            .collect()
    }

    /// The commands that let anyone check these files and their hashes offline.
    pub fn verify_command(&self) -> String {
        let key = self
            .project
            .manifest
            .evidence
            .public_key
            .clone()
            .unwrap_or_else(|| "KEY (from `assure evidence key`)".into());
        format!("assure evidence export -o evidence.tar, then assure evidence verify evidence.tar --key {key}")
    }
}

/// The result a control shows in Section IV and the matrix: (result, exceptions).
pub fn control_result(inp: &Inputs<'_>, control: &str) -> (String, usize) {
    let tests = inp.tests_of(control);
    let mut exceptions: usize = tests.iter().map(|t| t.exceptions).sum();
    let missing = inp.occurrences_of(control).map(|o| o.missing.len()).unwrap_or(0);
    exceptions += missing;
    let ran = tests.iter().any(|t| t.population > 0);
    let label = if inp.run.is_none() {
        "not tested: no test run recorded".to_string()
    } else if exceptions > 0 {
        "exceptions noted".to_string()
    } else if ran || inp.occurrences_of(control).is_some_and(|o| o.expected > 0) {
        if inp.exam_type() == Some(ExamType::Type1) {
            "implemented".to_string()
        } else {
            "no exceptions noted".to_string()
        }
    } else if !tests.is_empty() {
        tests
            .iter()
            .map(|t| t.conclusion.label())
            .next()
            .unwrap_or("not tested")
            .to_string()
    } else if inp.sample_of(control).is_some() {
        "sample selected; inspection by the service auditor".to_string()
    } else {
        "no automated test: inspection by the service auditor".to_string()
    };
    (label, exceptions)
}

/// The test procedures for a control as a reader sees them.
pub fn procedures(inp: &Inputs<'_>, control: &Control) -> Vec<String> {
    let mut out = Vec::new();
    for t in &control.tests {
        if let Some(def) = inp.project.test(t.as_str()) {
            let what = if def.doc.what.trim().is_empty() {
                def.title.clone()
            } else {
                def.doc.what.trim().to_string()
            };
            let population = def.doc.population.trim();
            if population.is_empty() {
                out.push(format!("{}: {}", def.id.as_str(), what));
            } else {
                out.push(format!("{}: {} Population: {population}", def.id.as_str(), what));
            }
        }
    }
    if let Some(o) = inp.occurrences_of(control.id.as_str()) {
        out.push(format!(
            "Inspected the evidence recorded for each {} occurrence in the period ({} expected).",
            o.frequency, o.expected
        ));
    }
    if let Some(s) = inp.sample_of(control.id.as_str()) {
        out.push(format!(
            "Selected {} of {} items ({}; seed {}) for inspection.",
            s.selected.len() + s.added.len(),
            s.population.len(),
            s.rule,
            s.seed
        ));
    }
    out
}
