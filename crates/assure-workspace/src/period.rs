//! The compliance year: opening, closing and rolling examination periods, and the reports frozen
//! when a period closes.
//!
//! A period's status and dates live in `assure.toml` (`[[period]]`, see `assure_project::period`);
//! what a closed period printed lives in the ledger. Closing a period records each of its reports,
//! already rendered by the front end, as a signed `freeze` entry; from then on Assure prints that
//! period's reports from those entries, byte for byte, whatever changes in the project later, and
//! refuses to record new runs, samples or imports for it.

use std::collections::BTreeMap;

use assure_evidence::store::EvidenceStore as _;
use assure_ledger::{Action, Draft, Entry};
use assure_project::period::{Period, Status, current_of};
use chrono::NaiveDate;

use crate::{Workspace, WorkspaceError, write_atomically};

/// One rendered report to freeze: its file name (`soc2.pdf`) and bytes.
#[derive(Debug, Clone)]
pub struct Frozen {
    /// The file name: the report kind and the format's extension.
    pub file: String,
    /// The rendered report.
    pub bytes: Vec<u8>,
}

/// A frozen report as recorded in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FrozenRef {
    /// The ledger entry.
    pub seq: u64,
    /// The file name (`soc2.pdf`).
    pub file: String,
    /// The report's BLAKE3, with which its bytes are read back.
    pub blake3: String,
    /// Its SHA-256.
    pub sha256: String,
    /// When it was frozen.
    pub at: String,
}

/// What closing a period did.
#[derive(Debug, Clone)]
pub struct Closed {
    /// The period, now closed.
    pub period: Period,
    /// The freeze entries recorded.
    pub entries: Vec<Entry>,
}

impl Workspace {
    /// Every examination period, oldest first.
    pub fn periods(&self) -> Result<Vec<Period>, WorkspaceError> {
        Ok(self.open_read()?.project.periods())
    }

    /// Refuses to record anything for a window inside a closed period: its results are frozen.
    pub fn refuse_closed(
        &self,
        project: &assure_project::Project,
        start: NaiveDate,
        end: NaiveDate,
        doing: &str,
    ) -> Result<(), WorkspaceError> {
        if let Some(p) = project
            .periods()
            .into_iter()
            .find(|p| p.is_closed() && p.start <= end && start <= p.end)
        {
            return Err(WorkspaceError::invalid(
                format!(
                    "period {} ({} to {}) was closed{}; its results and reports are frozen, so Assure does not {doing} for {start} to {end}",
                    p.name,
                    p.start,
                    p.end,
                    p.closed_on.map(|d| format!(" on {d}")).unwrap_or_default()
                ),
                Some("choose a date range in an open period (`assure period list` shows them)"),
            ));
        }
        Ok(())
    }

    /// Adds a period and makes it the open one; the period open until now moves to fieldwork. The
    /// scope's dates become the new period's. Refuses a name in use or dates that overlap a period.
    pub fn open_period(&self, new: Period) -> Result<Period, WorkspaceError> {
        let project = self.open_read()?.project;
        let mut all = project.periods();
        if all.iter().any(|p| p.name == new.name) {
            return Err(WorkspaceError::invalid(
                format!("a period named `{}` exists", new.name),
                Some("pick another name with --name"),
            ));
        }
        if new.start > new.end {
            return Err(WorkspaceError::invalid(
                format!("the period starts on {} but ends on {}", new.start, new.end),
                None,
            ));
        }
        if let Some(o) = all.iter().find(|p| p.start <= new.end && new.start <= p.end) {
            return Err(WorkspaceError::invalid(
                format!("{} to {} overlaps period {}", new.start, new.end, o.describe()),
                Some("a day belongs to one examination period; choose dates after the last period's end"),
            ));
        }
        for p in &mut all {
            p.declared = true;
            if p.status == Status::Open {
                p.status = Status::Fieldwork;
            }
        }
        let mut opened = new;
        opened.status = Status::Open;
        opened.declared = true;
        all.push(opened.clone());
        all.sort_by_key(|p| (p.start, p.end));
        self.write_periods(&all)?;
        Ok(opened)
    }

    /// Closes the period named `name` (the current one when `None`) on `on`: records each of
    /// `frozen` (its reports, rendered by the front end) as a signed `freeze` entry in one batch,
    /// then marks it closed in `assure.toml`. Refuses a period already closed or not yet ended.
    pub fn close_period(
        &self,
        name: Option<&str>,
        on: NaiveDate,
        issued_on: Option<NaiveDate>,
        frozen: Vec<Frozen>,
        by: &str,
    ) -> Result<Closed, WorkspaceError> {
        let w = self.open_write(true)?;
        let mut all = w.project.periods();
        let target = w.project.select_period(name).map_err(|e| {
            WorkspaceError::invalid(
                e.to_string(),
                Some("run `assure period list` to see the project's periods"),
            )
        })?;
        if target.is_closed() {
            return Err(WorkspaceError::invalid(
                format!("period {} is already closed", target.describe()),
                Some("a closed period stays closed; its reports are frozen in the ledger"),
            ));
        }
        if on < target.end {
            return Err(WorkspaceError::invalid(
                format!(
                    "period {} ends on {}; it cannot be closed on {on}, before it has ended",
                    target.name, target.end
                ),
                Some("close it after its last day (pass --on YYYY-MM-DD)"),
            ));
        }
        let at = Self::now();
        let mut drafts = Vec::with_capacity(frozen.len());
        for f in &frozen {
            let blob = w.store.put_blob(&mut f.bytes.as_slice(), &f.file)?;
            let mut d = Draft::new(Action::Freeze, at.clone(), by);
            d.blob = Some(blob);
            d.period_start = Some(target.start.to_string());
            d.period_end = Some(target.end.to_string());
            d.note = Some(format!(
                "period {}: {} as issued at its close on {on}",
                target.name, f.file
            ));
            drafts.push(d);
        }
        let entries = if drafts.is_empty() {
            Vec::new()
        } else {
            w.store.append(drafts, &w.key)?
        };
        for p in &mut all {
            p.declared = true;
            if p.name == target.name {
                p.status = Status::Closed;
                p.closed_on = Some(on);
                p.report_issued_on = issued_on.or(p.report_issued_on);
            }
        }
        self.write_periods(&all)?;
        let period = all.into_iter().find(|p| p.name == target.name).unwrap_or(target);
        Ok(Closed { period, entries })
    }

    /// The reports frozen when `period` closed, by file name (the latest freeze of each).
    pub fn frozen(&self, period: &Period) -> Result<BTreeMap<String, FrozenRef>, WorkspaceError> {
        let mut out = BTreeMap::new();
        if !self.has_ledger() {
            return Ok(out);
        }
        let store = self.store()?;
        let parsed = assure_ledger::parse(&store.ledger()?);
        let (start, end) = (period.start.to_string(), period.end.to_string());
        for e in parsed.entries.iter().filter(|e| {
            e.draft.action == Action::Freeze
                && e.draft.period_start.as_deref() == Some(start.as_str())
                && e.draft.period_end.as_deref() == Some(end.as_str())
        }) {
            if let Some(b) = &e.draft.blob {
                out.insert(
                    b.name.clone(),
                    FrozenRef {
                        seq: e.seq,
                        file: b.name.clone(),
                        blake3: b.blake3.clone(),
                        sha256: b.sha256.clone(),
                        at: e.draft.at.clone(),
                    },
                );
            }
        }
        Ok(out)
    }

    /// The overall readiness printed by the readiness report frozen when `period` closed.
    fn frozen_readiness(&self, period: &Period) -> Result<Option<f64>, WorkspaceError> {
        let Some(f) = self.frozen(period)?.remove("readiness.json") else {
            return Ok(None);
        };
        let doc: serde_json::Value = match serde_json::from_slice(&self.blob(&f.blake3)?) {
            Ok(v) => v,
            Err(_) => return Ok(None),
        };
        Ok(doc["cover"].as_array().and_then(|cover| {
            cover.iter().find_map(|fact| {
                (fact[0] == "Overall readiness")
                    .then(|| fact[1].as_str()?.trim_end_matches('%').trim().parse::<f64>().ok())
                    .flatten()
                    .map(|pct| pct / 100.0)
            })
        }))
    }

    /// Writes `periods` into `assure.toml` and sets the scope's dates to the current one's.
    fn write_periods(&self, periods: &[Period]) -> Result<(), WorkspaceError> {
        let Some(current) = current_of(periods) else {
            return Ok(());
        };
        let path = self.dir().join("assure.toml");
        let text = std::fs::read_to_string(&path).map_err(|source| WorkspaceError::Io {
            what: "read",
            path: path.clone(),
            source,
        })?;
        let edited = assure_project::edit::write_periods(&text, periods, current)?;
        write_atomically(&path, edited.as_bytes())
    }
}

pub use assure_report::yoy::{PeriodResults, Result1 as TestResult, RunRef};

impl Workspace {
    /// Every period's results side by side (oldest first): per test and per control, the population,
    /// exceptions and conclusion of the period's latest run, and readiness as of the period's close
    /// (or `today`, or its end, whichever is earlier). One read of the ledger.
    pub fn year_over_year(&self, today: NaiveDate) -> Result<Vec<PeriodResults>, WorkspaceError> {
        let project = self.open_read()?.project;
        let (store, entries) = if self.has_ledger() {
            let store = self.store()?;
            let parsed = assure_ledger::parse(&store.ledger()?);
            (Some(store), parsed.entries)
        } else {
            (None, Vec::new())
        };
        let mut out = Vec::new();
        for period in project.periods() {
            let p = project.for_period(&period);
            let run = match &store {
                Some(s) => crate::records::latest_run_of(s, &entries, &p)?.0,
                None => None,
            };
            let as_of = period.closed_on.unwrap_or_else(|| today.min(period.end));
            // A closed period's readiness is the figure its frozen readiness report printed; the
            // project's files may have changed since, and that period's outputs never change.
            let frozen = if period.is_closed() {
                self.frozen_readiness(&period)?
            } else {
                None
            };
            let readiness = match frozen {
                Some(v) => v,
                None => {
                    let signals = crate::records::signals(&p, &entries, run.as_ref().map(|(_, r)| r), as_of);
                    assure_assess::gap::assess(&p, as_of, &signals).overall.value
                }
            };
            let mut tests = BTreeMap::new();
            let mut controls = BTreeMap::new();
            let mut at = None;
            if let Some((seq, r)) = &run {
                at = entries.iter().find(|e| e.seq == *seq).map(|e| RunRef {
                    seq: *seq,
                    as_of: r.as_of,
                    at: e.draft.at.clone(),
                });
                for t in &r.tests {
                    tests.insert(
                        t.id.clone(),
                        TestResult {
                            population: t.population,
                            exceptions: t.exceptions,
                            conclusion: t.conclusion.label().to_string(),
                        },
                    );
                }
                for c in &r.controls {
                    let population = r
                        .tests
                        .iter()
                        .filter(|t| c.tests.contains(&t.id))
                        .map(|t| t.population)
                        .max()
                        .unwrap_or(0);
                    controls.insert(
                        c.id.clone(),
                        TestResult {
                            population,
                            exceptions: c.exceptions,
                            conclusion: c.conclusion.label().to_string(),
                        },
                    );
                }
            }
            out.push(PeriodResults {
                period,
                run: at,
                as_of,
                readiness,
                readiness_frozen: frozen.is_some(),
                tests,
                controls,
            });
        }
        Ok(out)
    }
}
