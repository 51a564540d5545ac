//! The auditor's work on a sample: each sampled item's test (the attributes checked, the result,
//! tickmarks, a note) and the preparer's and reviewer's sign-offs, each recorded in the signed
//! ledger as a `workpaper` entry against the sample's entry. Later results for an item replace
//! earlier ones on the page; the ledger keeps every one. A sign-off covers the results recorded
//! before it: a result recorded after it makes it stale.

use std::collections::BTreeMap;

use assure_evidence::store::EvidenceStore;
use assure_ledger::{Action, Draft, Entry};
use assure_schema::results::{
    AttributeResult, SampleRecord, SampleResult, SignoffRole, WorkpaperKind, WorkpaperRecord,
};

use crate::{Workspace, WorkspaceError, records};

/// The latest result recorded for one sampled item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ItemWork {
    /// Each attribute tested and what was found.
    pub attributes: Vec<AttributeResult>,
    /// The item's result.
    pub result: SampleResult,
    /// Tickmarks.
    pub tickmarks: Vec<String>,
    /// The tester's note.
    pub note: String,
    /// Who recorded it (account email) and when (RFC 3339), and its ledger entry.
    pub by: String,
    /// When.
    pub at: String,
    /// Its ledger entry.
    pub seq: u64,
}

/// A sign-off.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Signoff {
    /// Who signed (account email).
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
    /// Its ledger entry.
    pub seq: u64,
    /// Whether a result was recorded after it, so it no longer covers the workpaper as it stands.
    pub stale: bool,
}

/// The work on a control's latest sample.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Workpaper {
    /// The control.
    pub control: String,
    /// The sample's ledger entry.
    pub sample: u64,
    /// The latest result per sampled item.
    pub items: BTreeMap<String, ItemWork>,
    /// The latest preparer sign-off.
    pub preparer: Option<Signoff>,
    /// The latest reviewer sign-off.
    pub reviewer: Option<Signoff>,
    /// What could not be read.
    pub problems: Vec<String>,
}

impl Workpaper {
    /// Sampled items with no result yet, in the sample's order.
    pub fn untested<'a>(&self, sample: &'a SampleRecord) -> Vec<&'a str> {
        sample
            .selected
            .iter()
            .chain(&sample.added)
            .map(String::as_str)
            .filter(|i| !self.items.contains_key(*i))
            .collect()
    }

    /// Attribute names used so far on this sample, in first-use order (what the form offers).
    pub fn attribute_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut by_seq: Vec<&ItemWork> = self.items.values().collect();
        by_seq.sort_by_key(|w| w.seq);
        for w in by_seq {
            for a in &w.attributes {
                if !out.contains(&a.attribute) {
                    out.push(a.attribute.clone());
                }
            }
        }
        out
    }
}

/// What someone records on a sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkpaperInput {
    /// One item's result.
    Result {
        /// The sampled item.
        item: String,
        /// Attributes tested.
        attributes: Vec<AttributeResult>,
        /// The result (an exception on any attribute makes the item an exception).
        result: SampleResult,
        /// Tickmarks, from [`assure_schema::results::TICKMARKS`].
        tickmarks: Vec<String>,
        /// A note (required for an exception).
        note: String,
    },
    /// A sign-off.
    Signoff(SignoffRole),
}

/// The longest note.
pub const MAX_NOTE: usize = 10_000;

/// Builds the workpaper of each sample from the ledger's `workpaper` entries (their blobs read
/// through `read`), keyed by control.
pub fn workpapers(
    entries: &[Entry],
    samples: &BTreeMap<String, u64>,
    read: &mut dyn FnMut(&Entry) -> Result<Vec<u8>, String>,
) -> BTreeMap<String, Workpaper> {
    let mut out: BTreeMap<String, Workpaper> = samples
        .iter()
        .map(|(c, seq)| {
            (
                c.clone(),
                Workpaper {
                    control: c.clone(),
                    sample: *seq,
                    items: BTreeMap::new(),
                    preparer: None,
                    reviewer: None,
                    problems: Vec::new(),
                },
            )
        })
        .collect();
    for e in entries.iter().filter(|e| e.draft.action == Action::Workpaper) {
        let Some(control) = e.draft.controls.first() else {
            continue;
        };
        let Some(w) = out.get_mut(control) else { continue };
        let record: WorkpaperRecord = match read(e).and_then(|b| serde_json::from_slice(&b).map_err(|x| x.to_string()))
        {
            Ok(r) => r,
            Err(m) => {
                w.problems.push(format!(
                    "the workpaper recorded as entry {} cannot be read ({m})",
                    e.seq
                ));
                continue;
            }
        };
        if record.sample != w.sample {
            continue;
        }
        match record.what {
            WorkpaperKind::Result {
                item,
                attributes,
                result,
                tickmarks,
                note,
            } => {
                w.items.insert(
                    item,
                    ItemWork {
                        attributes,
                        result,
                        tickmarks,
                        note,
                        by: e.draft.by.clone(),
                        at: e.draft.at.clone(),
                        seq: e.seq,
                    },
                );
            }
            WorkpaperKind::Signoff { role } => {
                let s = Some(Signoff {
                    by: e.draft.by.clone(),
                    at: e.draft.at.clone(),
                    seq: e.seq,
                    stale: false,
                });
                match role {
                    SignoffRole::Preparer => w.preparer = s,
                    SignoffRole::Reviewer => w.reviewer = s,
                }
            }
        }
    }
    for w in out.values_mut() {
        let last = w.items.values().map(|i| i.seq).max().unwrap_or(0);
        for s in [&mut w.preparer, &mut w.reviewer].into_iter().flatten() {
            s.stale = s.seq < last;
        }
        // A review covers the preparer's sign-off it followed.
        if let (Some(p), Some(r)) = (&w.preparer, &mut w.reviewer)
            && r.seq < p.seq
        {
            r.stale = true;
        }
    }
    out
}

/// Checks what someone records on `sample` (recorded as entry `sample_seq`) against the workpaper
/// as it stands; returns the problem in words.
pub fn check(sample: &SampleRecord, work: Option<&Workpaper>, input: &WorkpaperInput, by: &str) -> Result<(), String> {
    let sampled: Vec<&str> = sample
        .selected
        .iter()
        .chain(&sample.added)
        .map(String::as_str)
        .collect();
    match input {
        WorkpaperInput::Result {
            item,
            attributes,
            result,
            tickmarks,
            note,
        } => {
            if !sampled.contains(&item.as_str()) {
                return Err(format!(
                    "`{item}` is not one of the sampled items of {}",
                    sample.control
                ));
            }
            if note.chars().count() > MAX_NOTE || note.contains('\0') {
                return Err("keep the note under 10,000 characters, without NUL characters".into());
            }
            for a in attributes {
                if a.attribute.trim().is_empty() || a.attribute.chars().count() > 300 || a.attribute.contains('\0') {
                    return Err("name each attribute tested in under 300 characters".into());
                }
            }
            for t in tickmarks {
                if !assure_schema::results::TICKMARKS.iter().any(|(k, _)| k == t) {
                    return Err(format!(
                        "`{t}` is not a tickmark; use {}",
                        assure_schema::results::TICKMARKS
                            .iter()
                            .map(|(k, m)| format!("{k} ({m})"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            let any_exception = attributes.iter().any(|a| a.result == SampleResult::Exception);
            if any_exception && *result != SampleResult::Exception {
                return Err("an attribute is an exception, so the item is an exception".into());
            }
            if *result == SampleResult::Exception && note.trim().is_empty() {
                return Err("say what the exception is in the note".into());
            }
            Ok(())
        }
        WorkpaperInput::Signoff(role) => {
            let done = work.map(|w| w.items.len()).unwrap_or(0);
            let untested = work.map_or(sampled.len(), |w| w.untested(sample).len());
            if untested > 0 {
                return Err(format!(
                    "{untested} of the {} sampled items have no result yet ({done} tested); record them before signing off",
                    sampled.len()
                ));
            }
            if *role == SignoffRole::Reviewer {
                let Some(p) = work.and_then(|w| w.preparer.as_ref()).filter(|p| !p.stale) else {
                    return Err("the preparer has not signed off the workpaper as it stands; a review follows the preparer's sign-off".into());
                };
                if p.by == by {
                    return Err("the reviewer must be someone other than the preparer".into());
                }
            }
            Ok(())
        }
    }
}

impl Workspace {
    /// Records `input` on the latest sample of `control` as `by` at `at`, after checking it.
    pub fn record_workpaper(
        &self,
        control: &str,
        input: &WorkpaperInput,
        at: &str,
        by: &str,
    ) -> Result<Entry, WorkspaceError> {
        let w = self.open_write(true)?;
        let project = &w.project;
        let entries = w.whole_ledger("a workpaper recorded now could miss others")?;
        let seqs = latest_sample_seqs(&entries, project);
        let Some(&sample_seq) = seqs.get(control) else {
            return Err(WorkspaceError::invalid(
                format!("control `{control}` has no sample to work on"),
                Some("draw a sample first (`assure sample` or the control's page)"),
            ));
        };
        let (samples, _) = records::latest_samples(&w.store, &entries, project)?;
        let sample = samples.iter().find(|s| s.control == control).ok_or_else(|| {
            WorkspaceError::invalid(
                format!("the sample of `{control}` (entry {sample_seq}) cannot be read"),
                Some("run `assure evidence verify`"),
            )
        })?;
        let period = crate::sample::scope_dates(project);
        if let Some((a, b)) = period {
            self.refuse_closed(project, a, b, "record workpapers")?;
        }
        let store = &w.store;
        let mut read = |e: &Entry| -> Result<Vec<u8>, String> {
            let b = e.draft.blob.as_ref().ok_or("no file")?;
            records::blob_bytes(store, b).map_err(|x| x.to_string())
        };
        let papers = workpapers(&entries, &seqs, &mut read);
        check(sample, papers.get(control), input, by).map_err(|m| WorkspaceError::invalid(m, None))?;
        let record = WorkpaperRecord {
            format: 1,
            control: control.to_string(),
            sample: sample_seq,
            what: match input.clone() {
                WorkpaperInput::Result {
                    item,
                    attributes,
                    result,
                    tickmarks,
                    note,
                } => WorkpaperKind::Result {
                    item,
                    attributes,
                    result,
                    tickmarks,
                    note: note.trim().to_string(),
                },
                WorkpaperInput::Signoff(role) => WorkpaperKind::Signoff { role },
            },
        };
        let json = serde_json::to_string_pretty(&record).unwrap_or_default();
        let blob = w
            .store
            .put_blob(&mut json.as_bytes(), &format!("workpaper-{control}.json"))?;
        let mut draft = Draft::new(Action::Workpaper, at, by);
        draft.blob = Some(blob);
        draft.controls = vec![control.to_string()];
        draft.period_start = period.map(|(a, _)| a.to_string());
        draft.period_end = period.map(|(_, b)| b.to_string());
        draft.note = Some(match input {
            WorkpaperInput::Result { item, result, .. } => {
                format!("sample entry {sample_seq}: {item} tested, {}", result.as_str())
            }
            WorkpaperInput::Signoff(SignoffRole::Preparer) => {
                format!("sample entry {sample_seq}: signed off by the preparer")
            }
            WorkpaperInput::Signoff(SignoffRole::Reviewer) => {
                format!("sample entry {sample_seq}: signed off by the reviewer")
            }
        });
        w.append_one(draft)
    }
}

/// The ledger entry of the latest sample per control (the same choice as `records::latest_samples`).
pub fn latest_sample_seqs(entries: &[Entry], project: &assure_project::Project) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for e in entries
        .iter()
        .filter(|e| e.draft.action == Action::Sample && records::in_period(project, e))
    {
        if let Some(c) = e.draft.controls.first() {
            out.insert(c.clone(), e.seq);
        }
    }
    out
}

/// Every control's latest sample as a workbook sheet: each sampled item with what testing it
/// found (attributes, result, tickmarks, note, who and when, the ledger entry), then the sign-offs.
pub fn samples_sheet(snap: &crate::Snapshot) -> Option<assure_report::matrix::Sheet> {
    use assure_report::matrix::Cell;
    if snap.samples.is_empty() {
        return None;
    }
    let t = |s: &str| Cell::Text(s.to_string());
    let mut rows = Vec::new();
    for sample in &snap.samples {
        let work = snap.workpapers.get(&sample.control);
        for item in sample.selected.iter().chain(&sample.added) {
            let w = work.and_then(|w| w.items.get(item));
            rows.push(vec![
                t(&sample.control),
                work.map_or(Cell::Empty, |w| Cell::Int(i64::try_from(w.sample).unwrap_or(i64::MAX))),
                t(&sample.seed.to_string()),
                t(item),
                t(w.map_or("not tested yet", |w| w.result.as_str())),
                t(&w.map(|w| {
                    w.attributes
                        .iter()
                        .map(|a| format!("{}: {}", a.attribute, a.result.as_str()))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default()),
                t(&w.map(|w| w.tickmarks.join(" ")).unwrap_or_default()),
                t(w.map_or("", |w| w.note.as_str())),
                t(w.map_or("", |w| w.by.as_str())),
                t(w.map_or("", |w| w.at.get(..10).unwrap_or(&w.at))),
                w.map_or(Cell::Empty, |w| Cell::Int(i64::try_from(w.seq).unwrap_or(i64::MAX))),
            ]);
        }
        let signed = |role: &str, s: Option<&Signoff>| {
            vec![
                t(&sample.control),
                work.map_or(Cell::Empty, |w| Cell::Int(i64::try_from(w.sample).unwrap_or(i64::MAX))),
                Cell::Empty,
                t(&format!("{role} sign-off")),
                t(match s {
                    Some(s) if s.stale => "signed; results changed since",
                    Some(_) => "signed",
                    None => "not signed",
                }),
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                t(s.map_or("", |s| s.by.as_str())),
                t(s.map_or("", |s| s.at.get(..10).unwrap_or(&s.at))),
                s.map_or(Cell::Empty, |s| Cell::Int(i64::try_from(s.seq).unwrap_or(i64::MAX))),
            ]
        };
        rows.push(signed("Preparer", work.and_then(|w| w.preparer.as_ref())));
        rows.push(signed("Reviewer", work.and_then(|w| w.reviewer.as_ref())));
    }
    Some(assure_report::matrix::Sheet {
        name: "Samples".into(),
        preface: vec![
            (
                "Samples".into(),
                "Each control's latest sample: every sampled item with what testing it found, then the preparer's and reviewer's sign-offs, each recorded in the signed ledger".into(),
            ),
            (
                "Tickmarks".into(),
                assure_schema::results::TICKMARKS
                    .iter()
                    .map(|(k, m)| format!("{k} {m}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ],
        headers: [
            "Control", "Sample entry", "Seed", "Item", "Result", "Attributes tested", "Tickmarks", "Note", "By", "On", "Ledger entry",
        ]
        .map(String::from)
        .to_vec(),
        widths: vec![10, 10, 22, 40, 14, 44, 10, 40, 28, 12, 10],
        rows,
    })
}

impl Workspace {
    /// A test's outcome with each item's evidence row: the columns of the row it was read from
    /// (its lineage: file and row), added after the attributes its query returned, so a passing
    /// item shows what an exception shows. Each file is checked against its recorded hash and read
    /// keeping only the rows the items name; an item without lineage is left as it is.
    pub fn with_evidence_rows(
        &self,
        test: &assure_schema::results::TestOutcome,
        entries: &[Entry],
    ) -> Result<assure_schema::results::TestOutcome, WorkspaceError> {
        let mut out = test.clone();
        if test.files.is_empty() || !self.has_ledger() {
            return Ok(out);
        }
        let store = self.store()?;
        // (file index, row) -> the row's columns, for the rows the items name.
        let mut rows: BTreeMap<(u32, u64), Vec<(String, String)>> = BTreeMap::new();
        for (k, blake) in test.files.iter().enumerate() {
            let Ok(k) = u32::try_from(k) else { break };
            let wanted: std::collections::BTreeSet<u64> = test
                .items
                .iter()
                .filter_map(|i| i.from.filter(|(f, _)| *f == k).map(|(_, r)| r))
                .collect();
            let Some(entry) = entries.iter().rev().find(|e| {
                e.draft.action == Action::Import && e.draft.blob.as_ref().is_some_and(|b| &b.blake3 == blake)
            }) else {
                continue;
            };
            let got = assure_evidence::load::rows_of(&store, entry, &wanted)?.map_err(|p| {
                WorkspaceError::invalid(
                    format!("the evidence rows of `{}` cannot be read: {p}", test.id),
                    Some("run `assure evidence verify`"),
                )
            })?;
            for (row, values) in got.rows {
                let cols = got
                    .columns
                    .iter()
                    .zip(values)
                    .map(|(n, v)| ((*n).to_string(), v.unwrap_or_default()))
                    .collect();
                rows.insert((k, row), cols);
            }
        }
        for i in &mut out.items {
            let Some(cols) = i.from.and_then(|f| rows.get(&f)) else {
                continue;
            };
            for (n, v) in cols {
                if !i.attributes.iter().any(|(k, _)| k == n) {
                    i.attributes.push((n.clone(), v.clone()));
                }
            }
        }
        Ok(out)
    }
}
