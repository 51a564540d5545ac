//! What the ledger says beyond its evidence: the latest test run, the latest sample per control,
//! the expected occurrences of periodic manual controls, and the gap analysis's signals. Each works
//! on entries already read ([`assure_ledger::parse`]), so a snapshot reads the ledger once.

use std::collections::BTreeMap;

use assure_assess::gap::{EvidenceSignal, Signals, TestSignal};
use assure_evidence::runfile::RunFile;
use assure_evidence::store::{EvidenceStore, StoreError};
use assure_ledger::{Action, Entry};
use assure_project::Project;
use assure_project::model::{Frequency, Nature};
use assure_schema::Window;
use assure_schema::results::{Conclusion, ControlOccurrences, RunRecord, SampleRecord};
use chrono::NaiveDate;

/// Reads a recorded blob's bytes.
pub fn blob_bytes(store: &dyn EvidenceStore, blob: &assure_ledger::BlobRef) -> Result<Vec<u8>, StoreError> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut store.open_blob(&blob.blake3)?, &mut bytes).map_err(|source| StoreError::Io {
        what: "read",
        path: blob.name.clone().into(),
        source,
    })?;
    Ok(bytes)
}

/// A record that is in the ledger but cannot be read back (its JSON does not parse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The entry.
    pub seq: u64,
    /// Why.
    pub message: String,
}

/// The latest run with its entry's sequence number, if any.
pub type Latest = Option<(u64, RunRecord)>;

/// The latest run as recorded (see [`latest_run_file_where`]) with its entry's sequence number, if any.
pub type LatestFile = Option<(u64, RunFile)>;

/// Reads the latest recorded test run among `entries`, if any.
pub fn latest_run(store: &dyn EvidenceStore, entries: &[Entry]) -> Result<(Latest, Vec<Unreadable>), StoreError> {
    latest_run_where(store, entries, &|_| true)
}

/// Whether a run, sample or file recorded in `e` belongs to the project's examination period (the
/// scope's dates, which are the current period's, or the period a workspace was opened for). An
/// entry that records no period (written before periods were recorded) belongs to every period.
pub fn in_period(project: &assure_project::Project, e: &Entry) -> bool {
    let s = &project.manifest.scope;
    let (Some(ps), Some(pe)) = (&e.draft.period_start, &e.draft.period_end) else {
        return true;
    };
    match s.exam_type {
        Some(assure_project::model::ExamType::Type1) => s.as_of.as_ref().is_none_or(|d| *pe == d.get_ref().to_string()),
        _ => match (&s.period_start, &s.period_end) {
            (Some(a), Some(b)) => *ps == a.get_ref().to_string() && *pe == b.get_ref().to_string(),
            _ => true,
        },
    }
}

/// Whether the days an evidence entry was recorded for overlap the project's examination period
/// (a quarterly review recorded for its quarter overlaps the year it falls in). An entry that
/// records no period overlaps every period.
pub fn overlaps_period(project: &assure_project::Project, e: &Entry) -> bool {
    let s = &project.manifest.scope;
    let day = |t: &str| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok();
    let (Some(a), Some(b)) = (
        e.draft.period_start.as_deref().and_then(day),
        e.draft.period_end.as_deref().and_then(day),
    ) else {
        return true;
    };
    let (start, end) = match (&s.period_start, &s.period_end, &s.as_of) {
        (Some(x), Some(y), _) if s.exam_type != Some(assure_project::model::ExamType::Type1) => {
            (x.get_ref().0, y.get_ref().0)
        }
        (_, _, Some(d)) => (d.get_ref().0, d.get_ref().0),
        _ => return true,
    };
    a <= end && start <= b
}

/// Reads the latest test run of the project's examination period (see [`in_period`]).
pub fn latest_run_of(
    store: &dyn EvidenceStore,
    entries: &[Entry],
    project: &assure_project::Project,
) -> Result<(Latest, Vec<Unreadable>), StoreError> {
    latest_run_where(store, entries, &|e| in_period(project, e))
}

/// Reads the latest test run among `entries` whose entry satisfies `keep`, every item of it.
pub fn latest_run_where(
    store: &dyn EvidenceStore,
    entries: &[Entry],
    keep: &dyn Fn(&Entry) -> bool,
) -> Result<(Latest, Vec<Unreadable>), StoreError> {
    let (file, mut unreadable) = latest_run_file_where(store, entries, keep)?;
    let Some((seq, file)) = file else {
        return Ok((None, unreadable));
    };
    match file.into_full() {
        Ok(r) => Ok((Some((seq, r)), unreadable)),
        Err(e) => {
            unreadable.push(unreadable_run(seq, &e));
            Ok((None, unreadable))
        }
    }
}

fn unreadable_run(seq: u64, e: &dyn std::fmt::Display) -> Unreadable {
    Unreadable {
        seq,
        message: format!("the test run recorded as entry {seq} cannot be read ({e})"),
    }
}

/// Reads the latest test run among `entries` whose entry satisfies `keep`, as recorded: a run in
/// the columnar layout is read only as far as its record (figures, conclusions and the items that
/// did not pass); its rows are read when asked for (see [`RunFile`]).
pub fn latest_run_file_where(
    store: &dyn EvidenceStore,
    entries: &[Entry],
    keep: &dyn Fn(&Entry) -> bool,
) -> Result<(LatestFile, Vec<Unreadable>), StoreError> {
    let mut unreadable = Vec::new();
    let Some(entry) = entries
        .iter()
        .rev()
        .find(|e| e.draft.action == Action::TestRun && keep(e))
    else {
        return Ok((None, unreadable));
    };
    let Some(blob) = &entry.draft.blob else {
        return Ok((None, unreadable));
    };
    match checked_run(store, entry.seq, blob)? {
        Ok(r) => Ok((Some((entry.seq, r)), unreadable)),
        Err(u) => {
            unreadable.push(u);
            Ok((None, unreadable))
        }
    }
}

/// The run file `blob` of entry `seq`, read only if its bytes still hash as the ledger says: a run
/// reuses and copies what an earlier run recorded, so a file altered on disk must never carry on.
fn checked_run(
    store: &dyn EvidenceStore,
    seq: u64,
    blob: &assure_ledger::BlobRef,
) -> Result<Result<RunFile, Unreadable>, StoreError> {
    let bytes = blob_bytes(store, blob)?;
    if blake3::hash(&bytes).to_hex().as_str() != blob.blake3 {
        return Ok(Err(Unreadable {
            seq,
            message: format!(
                "the test run recorded as entry {seq} does not match its recorded BLAKE3 (the stored file was altered); run `assure evidence verify`, then `assure test --full`"
            ),
        }));
    }
    Ok(RunFile::parse(bytes).map_err(|e| unreadable_run(seq, &e)))
}

/// Reads the run recorded as `entry`, every item of it.
pub fn run_of(store: &dyn EvidenceStore, entry: &Entry) -> Result<Result<RunRecord, Unreadable>, StoreError> {
    let Some(blob) = entry
        .draft
        .blob
        .as_ref()
        .filter(|_| entry.draft.action == Action::TestRun)
    else {
        return Ok(Err(Unreadable {
            seq: entry.seq,
            message: format!("ledger entry {} is not a test run", entry.seq),
        }));
    };
    Ok(checked_run(store, entry.seq, blob)?.and_then(|f| f.into_full().map_err(|e| unreadable_run(entry.seq, &e))))
}

/// Reads the latest sample drawn for each control among `entries`, sorted by control.
pub fn latest_samples(
    store: &dyn EvidenceStore,
    entries: &[Entry],
    project: &assure_project::Project,
) -> Result<(Vec<SampleRecord>, Vec<Unreadable>), StoreError> {
    let mut latest: BTreeMap<&str, &Entry> = BTreeMap::new();
    for e in entries
        .iter()
        .filter(|e| e.draft.action == Action::Sample && in_period(project, e))
    {
        if let Some(c) = e.draft.controls.first() {
            latest.insert(c, e);
        }
    }
    let mut out = Vec::new();
    let mut unreadable = Vec::new();
    for e in latest.values() {
        let Some(blob) = &e.draft.blob else { continue };
        match serde_json::from_slice::<SampleRecord>(&blob_bytes(store, blob)?) {
            Ok(r) => out.push(r),
            Err(err) => unreadable.push(Unreadable {
                seq: e.seq,
                message: format!("the sample recorded as entry {} cannot be read ({err})", e.seq),
            }),
        }
    }
    Ok((out, unreadable))
}

fn parse_day(t: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(t.get(..10).unwrap_or(""), "%Y-%m-%d").ok()
}

/// Counts, for every manual control with a periodic frequency, the slots expected in the window and
/// the evidence recorded for each (entries naming the control whose period lies inside the slot).
pub fn occurrences(project: &Project, entries: &[Entry], window: &Window) -> Vec<ControlOccurrences> {
    use assure_assess::occurrences::{expected, matched};
    let mut out = Vec::new();
    for (c, freq) in periodic_controls(project) {
        let slots = expected(freq, window.period_start, window.period_end, window.as_of);
        if slots.is_empty() {
            continue;
        }
        let found = matched(&slots, &dated_evidence(entries, c.id.as_str()));
        let missing: Vec<String> = found
            .iter()
            .filter(|o| o.evidence.is_empty())
            .map(|o| format!("{}..{}", o.slot.start, o.slot.end))
            .collect();
        out.push(ControlOccurrences {
            control: c.id.to_string(),
            frequency: freq.as_str().to_string(),
            expected: slots.len(),
            found: slots.len() - missing.len(),
            missing,
        });
    }
    out
}

/// The manual controls with a periodic frequency, by id.
fn periodic_controls(project: &Project) -> Vec<(&assure_project::model::Control, Frequency)> {
    let mut controls: Vec<(&assure_project::model::Control, Frequency)> = project
        .controls
        .iter()
        .filter(|c| c.nature == Some(Nature::Manual))
        .filter_map(|c| match c.frequency {
            None | Some(Frequency::Continuous | Frequency::PerEvent) => None,
            Some(f) => Some((c, f)),
        })
        .collect();
    controls.sort_by(|a, b| a.0.id.as_str().cmp(b.0.id.as_str()));
    controls
}

/// The evidence recorded for a control with the days it covers (its period, else the day it was
/// recorded). Only evidence collected from the company fills a slot: a run or a sample is derived.
fn dated_evidence(entries: &[Entry], control: &str) -> Vec<assure_assess::occurrences::Dated> {
    entries
        .iter()
        .filter(|e| e.draft.action.is_evidence() && e.draft.controls.iter().any(|x| x == control))
        .filter_map(|e| {
            let start = e
                .draft
                .period_start
                .as_deref()
                .and_then(parse_day)
                .or_else(|| parse_day(&e.draft.at))?;
            let end = e.draft.period_end.as_deref().and_then(parse_day).unwrap_or(start);
            Some(assure_assess::occurrences::Dated { seq: e.seq, start, end })
        })
        .collect()
}

/// Where a periodic control's slot stands on the as-of date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SlotState {
    /// Evidence covers it.
    Filled,
    /// It ended by the as-of date without evidence: an exception, as the tests count it.
    Missed,
    /// It is under way (the as-of date falls in it) and has no evidence yet.
    Due,
    /// It starts after the as-of date.
    Upcoming,
}

impl SlotState {
    /// How a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            SlotState::Filled => "filled",
            SlotState::Missed => "missed",
            SlotState::Due => "due",
            SlotState::Upcoming => "upcoming",
        }
    }
}

/// One slot of a periodic control's calendar.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CalendarSlot {
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Where it stands.
    pub state: SlotState,
    /// The ledger entries that fill it.
    pub evidence: Vec<u64>,
}

/// A periodic manual control's slots over a whole period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ControlCalendar {
    /// The control.
    pub control: String,
    /// Its frequency.
    pub frequency: String,
    /// Its owner (a person id), if any.
    pub owner: Option<String>,
    /// Every slot of the period, in order.
    pub slots: Vec<CalendarSlot>,
}

/// The calendar of every periodic manual control over the period `start..=end` as of `as_of`:
/// the same slots and the same matching of evidence as [`occurrences`], but every slot of the
/// period, each filled, missed, due or upcoming.
pub fn calendar(
    project: &Project,
    entries: &[Entry],
    start: NaiveDate,
    end: NaiveDate,
    as_of: NaiveDate,
) -> Vec<ControlCalendar> {
    use assure_assess::occurrences::{expected, matched};
    let mut out = Vec::new();
    for (c, freq) in periodic_controls(project) {
        let slots = expected(freq, start, end, end);
        let dated = dated_evidence(entries, c.id.as_str());
        let slots = matched(&slots, &dated)
            .into_iter()
            .map(|o| CalendarSlot {
                start: o.slot.start,
                end: o.slot.end,
                state: if !o.evidence.is_empty() {
                    SlotState::Filled
                } else if o.slot.end <= as_of {
                    // As the tests count it: a slot that has ended by the as-of date is expected.
                    SlotState::Missed
                } else if o.slot.start <= as_of {
                    SlotState::Due
                } else {
                    SlotState::Upcoming
                },
                evidence: o.evidence.clone(),
            })
            .collect();
        out.push(ControlCalendar {
            control: c.id.to_string(),
            frequency: freq.as_str().to_string(),
            owner: c.owner.as_ref().map(ToString::to_string),
            slots,
        });
    }
    out
}

fn max_age_days(f: Option<Frequency>) -> i64 {
    match f {
        Some(Frequency::Daily) => 2,
        Some(Frequency::Weekly) => 8,
        Some(Frequency::Monthly) => 32,
        Some(Frequency::Quarterly) => 93,
        Some(Frequency::SemiAnnual) => 184,
        Some(Frequency::Annual) => 366,
        Some(Frequency::Continuous | Frequency::PerEvent) | None => 32,
    }
}

/// Derives the gap analysis's operating signals: the latest test run's results and, per control,
/// whether evidence recorded for it covers the as-of date closely enough for its frequency.
pub fn signals(project: &Project, entries: &[Entry], run: Option<&RunRecord>, as_of: NaiveDate) -> Signals {
    let mut s = Signals::default();
    if let Some(run) = run {
        for o in &run.occurrences {
            s.occurrences.insert(o.control.clone(), (o.expected, o.found));
        }
        for t in &run.tests {
            let sig = match t.conclusion {
                Conclusion::NoExceptions | Conclusion::Implemented => TestSignal::Passed,
                Conclusion::Exceptions | Conclusion::NotShown => TestSignal::Failed {
                    exceptions: t.exceptions as u64,
                },
                Conclusion::NoPopulation => TestSignal::Errored {
                    message: "no population".into(),
                },
                Conclusion::NotRun => TestSignal::Errored {
                    message: t.note.clone().unwrap_or_else(|| "not run".into()),
                },
            };
            s.tests.insert(t.id.clone(), sig);
        }
    }
    // Freshness comes from evidence collected from the company; drawing a sample is not evidence
    // that a control operated.
    // Only evidence recorded for this period counts: last year's files do not show this year's
    // controls operating.
    let recorded: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.draft.action.is_evidence() && overlaps_period(project, e))
        .collect();
    if recorded.is_empty() {
        return s;
    }
    for c in &project.controls {
        let latest = recorded
            .iter()
            .filter(|e| e.draft.controls.iter().any(|x| x == c.id.as_str()))
            .filter_map(|e| {
                let covered = e.draft.period_end.as_deref().and_then(parse_day);
                let collected = parse_day(&e.draft.at);
                covered.into_iter().chain(collected).filter(|d| *d <= as_of).max()
            })
            .max();
        let fresh = latest.is_some_and(|d| (as_of - d).num_days() <= max_age_days(c.frequency));
        s.evidence.insert(c.id.to_string(), EvidenceSignal { latest, fresh });
    }
    s
}
