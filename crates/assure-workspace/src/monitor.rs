//! Continuous monitoring: one cycle runs the current period's tests incrementally (a test whose
//! inputs, definition and parameters are unchanged keeps its outcome), compares what fails with the
//! previous cycle, and says what is new, what is still open and what recovered. Alerts go out once
//! per new condition (and again after `remind_after_days` while it stays open); the front end
//! delivers them (the network is an edge) and tells [`Workspace::finish_cycle`] which arrived, so an
//! alert that could not be delivered is tried again next cycle, never lost.
//!
//! State lives beside the project's other local state, in `.assure/monitor/`: `state.json` (the
//! open conditions, when each was first seen and last alerted) and `history.jsonl` (one line per
//! cycle: per test its conclusion, population and exceptions, and what opened and closed). Both are
//! derived: the runs they summarise are ledger entries, and a lost state only means the next cycle
//! is a new baseline.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use assure_schema::results::{Conclusion, ItemStatus, RunRecord};

use crate::test::{RunOptions, Runner};
use crate::{Workspace, WorkspaceError};

/// A condition monitoring watches: an exception in a test's population, or a periodic control's
/// slot without evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// Stable identity across cycles: `exception TEST ITEM` or `slot CONTROL SLOT`.
    pub key: String,
    /// `exception` or `missed_slot`.
    pub kind: String,
    /// The test (exceptions) or the control (slots).
    pub subject: String,
    /// The item or the slot.
    pub item: String,
    /// Why, as the test says it.
    pub reason: String,
    /// The controls the test tests (for a slot, the control).
    pub controls: Vec<String>,
}

/// What a collector brought back for a cycle (the front end runs the collectors: the network is
/// an edge).
#[derive(Debug, Clone)]
pub struct Collected {
    /// The collector's stream (`github members acme`, `aws-iam credential-report`).
    pub collector: String,
    /// Where it pulled from (the endpoint).
    pub source: String,
    /// A file name and the bytes the API gave, `None` when nothing is new since the cursor, or
    /// why it could not.
    pub outcome: Result<Option<(String, Vec<u8>)>, String>,
    /// Where the stream's next pull starts, kept once this one is recorded.
    pub cursor: Option<String>,
}

/// What became of one collector's pull in a cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectedNote {
    /// The collector.
    pub collector: String,
    /// `imported N rows into TABLE as entry SEQ`, `unchanged since entry SEQ`, or the failure.
    pub what: String,
    /// Whether it failed.
    pub failed: bool,
}

/// An open condition as remembered between cycles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Open {
    /// The condition.
    pub condition: Condition,
    /// When a cycle first saw it.
    pub first_seen: String,
    /// When an alert about it was last delivered (none: not yet).
    pub alerted: Option<String>,
}

/// What the monitor remembers between cycles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Cycles run so far.
    pub cycles: u64,
    /// The period the open conditions belong to (a new period is a new baseline).
    pub period: Option<(NaiveDate, NaiveDate)>,
    /// Open conditions by key.
    pub open: BTreeMap<String, Open>,
    /// Each collector stream's cursor: where its next pull starts (a time or the vendor's own
    /// next-page link; never a credential).
    #[serde(default)]
    pub cursors: BTreeMap<String, String>,
    /// The day the last daily digest reached every destination.
    #[serde(default)]
    pub last_digest: Option<NaiveDate>,
}

/// One alert to deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// `new` or `reminder`.
    pub kind: String,
    /// The condition.
    pub condition: Condition,
    /// Controls that passed in the previous cycle and fail now because of it.
    pub newly_failing_controls: Vec<String>,
    /// One line a person reads.
    pub message: String,
}

/// A cycle that ran, waiting for its alerts to be delivered before it is recorded.
#[derive(Debug, Clone)]
pub struct Cycle {
    /// When it ran.
    pub at: String,
    /// The readiness figure as of the cycle, in thousandths.
    pub readiness: u32,
    /// Controls whose evidence is stale as of the cycle.
    pub stale: u32,
    /// The run's ledger entry.
    pub run_seq: u64,
    /// The run.
    pub run: RunRecord,
    /// The first cycle of a period: what fails now is recorded as known, not alerted.
    pub baseline: bool,
    /// Whether this cycle recorded a run; false when the outcome is exactly the previous run's
    /// (same as-of date, definitions, inputs and results), which is then the cycle's run.
    pub new_run: bool,
    /// Alerts to deliver.
    pub alerts: Vec<Alert>,
    /// Conditions that closed since the previous cycle.
    pub recovered: Vec<Condition>,
    /// Conditions open now.
    pub open: usize,
    /// What each collector did.
    pub collected: Vec<CollectedNote>,
    /// The daily digest, when one is due with this cycle (`[monitoring] digest = "daily"`).
    pub digest: Option<Digest>,
    state: State,
}

/// The daily digest: every open condition by kind, what opened and closed since the last digest,
/// and the controls failing now. Sent with the first cycle of each day (UTC) when configured,
/// whether or not anything changed: a quiet digest says monitoring is alive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Digest {
    /// The day it covers up to (the cycle's date, UTC).
    pub day: NaiveDate,
    /// Open conditions.
    pub open: usize,
    /// Open conditions by kind (`exception`, `missed_slot`, ...).
    pub by_kind: BTreeMap<String, usize>,
    /// Conditions opened since the previous digest (keys).
    pub opened: Vec<String>,
    /// Conditions closed since the previous digest (keys).
    pub closed: Vec<String>,
    /// Controls with exceptions now.
    pub failing_controls: Vec<String>,
    /// What a person reads, several lines.
    pub text: String,
}

/// The digest due with a cycle at `day`, if the last one went out on an earlier day. `since` are
/// the history lines after the last digest; `opened` and `closed` this cycle's own changes.
pub fn digest(
    last: Option<NaiveDate>,
    day: NaiveDate,
    state: &State,
    since: &[HistoryLine],
    now: (&[String], &[String], &[String]),
) -> Option<Digest> {
    if last.is_some_and(|l| l >= day) {
        return None;
    }
    let (opened_now, closed_now, failing) = now;
    let mut by_kind = BTreeMap::new();
    for o in state.open.values() {
        *by_kind.entry(o.condition.kind.clone()).or_insert(0) += 1;
    }
    let mut opened: Vec<String> = since
        .iter()
        .flat_map(|l| l.opened.iter().cloned())
        .chain(opened_now.iter().cloned())
        .collect();
    let mut closed: Vec<String> = since
        .iter()
        .flat_map(|l| l.closed.iter().cloned())
        .chain(closed_now.iter().cloned())
        .collect();
    opened.sort();
    opened.dedup();
    closed.sort();
    closed.dedup();
    let mut text = format!(
        "Assure daily digest for {day}: {} condition(s) open{}.\n",
        state.open.len(),
        if by_kind.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                by_kind
                    .iter()
                    .map(|(k, n)| format!("{n} {}", k.replace('_', " ")))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    text.push_str(&format!(
        "Since the last digest: {} opened, {} closed.\n",
        opened.len(),
        closed.len()
    ));
    for k in opened.iter().take(50) {
        text.push_str(&format!("  opened: {k}\n"));
    }
    for k in closed.iter().take(50) {
        text.push_str(&format!("  closed: {k}\n"));
    }
    if opened.len() > 50 || closed.len() > 50 {
        text.push_str("  (more on the Monitoring page)\n");
    }
    text.push_str(&if failing.is_empty() {
        "No control has an exception.\n".to_string()
    } else {
        format!("Controls with exceptions: {}.\n", failing.join(", "))
    });
    Some(Digest {
        day,
        open: state.open.len(),
        by_kind,
        opened,
        closed,
        failing_controls: failing.to_vec(),
        text,
    })
}

/// One line of `history.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryLine {
    /// When the cycle ran.
    pub at: String,
    /// The run's ledger entry.
    pub run: u64,
    /// The period.
    pub period: (NaiveDate, NaiveDate),
    /// The as-of date.
    pub as_of: NaiveDate,
    /// Per test: id, conclusion, population, exceptions.
    pub tests: Vec<(String, String, usize, usize)>,
    /// Controls with exceptions.
    pub failing_controls: Vec<String>,
    /// Conditions that opened.
    pub opened: Vec<String>,
    /// Conditions that closed.
    pub closed: Vec<String>,
    /// Alerts that could not be delivered (tried again next cycle).
    pub undelivered: usize,
    /// The readiness figure as of the cycle, in thousandths (absent in lines of earlier versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<u32>,
    /// Controls whose evidence was stale for their frequency (absent in lines of earlier versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<u32>,
}

/// Lines between two full ones in `history.jsonl` (a week of hourly cycles).
pub const KEYFRAME_EVERY: usize = 168;

/// A test's figures in one cycle: id, conclusion, population, exceptions.
pub type TestFigures = (String, String, usize, usize);

/// One line of `history.jsonl` as stored: a full line lists every test; the others (`delta`) list
/// only the tests whose figures changed since the line before and the tests that are gone. A full
/// line starts the file, each period, and every [`KEYFRAME_EVERY`] lines, so a damaged line costs
/// at most a week of hourly detail. Lines written before compaction are full lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StoredLine {
    at: String,
    run: u64,
    period: (NaiveDate, NaiveDate),
    as_of: NaiveDate,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    delta: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tests: Vec<TestFigures>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    gone: Vec<String>,
    /// Absent in a delta when unchanged since the line before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failing_controls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    opened: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    closed: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    undelivered: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    readiness: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stale: Option<u32>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// How a line is stored after `previous`, `since_keyframe` lines after the last full one.
fn compact(previous: Option<&HistoryLine>, line: &HistoryLine, since_keyframe: usize) -> StoredLine {
    let base = previous.filter(|p| p.period == line.period && since_keyframe + 1 < KEYFRAME_EVERY);
    let (delta, tests, gone) = match base {
        None => (false, line.tests.clone(), Vec::new()),
        Some(p) => {
            let before: BTreeMap<&str, &TestFigures> = p.tests.iter().map(|t| (t.0.as_str(), t)).collect();
            let now: std::collections::BTreeSet<&str> = line.tests.iter().map(|t| t.0.as_str()).collect();
            (
                true,
                line.tests
                    .iter()
                    .filter(|t| before.get(t.0.as_str()) != Some(t))
                    .cloned()
                    .collect(),
                p.tests
                    .iter()
                    .filter(|t| !now.contains(t.0.as_str()))
                    .map(|t| t.0.clone())
                    .collect(),
            )
        }
    };
    StoredLine {
        at: line.at.clone(),
        run: line.run,
        period: line.period,
        as_of: line.as_of,
        delta,
        tests,
        gone,
        failing_controls: (!delta || base.is_none_or(|p| p.failing_controls != line.failing_controls))
            .then(|| line.failing_controls.clone()),
        opened: line.opened.clone(),
        closed: line.closed.clone(),
        undelivered: line.undelivered,
        readiness: line.readiness,
        stale: line.stale,
    }
}

/// Every line of a stored history, whole, and how many lines follow the last full one. A line
/// that cannot be read (a write a crash interrupted) is left out; a delta with nothing before it
/// in its period is left out too, as its unchanged tests are unknown.
fn expand(text: &str) -> (Vec<HistoryLine>, usize) {
    let mut out: Vec<HistoryLine> = Vec::new();
    let mut since_keyframe = 0;
    for stored in text.lines().filter_map(|l| serde_json::from_str::<StoredLine>(l).ok()) {
        let (tests, failing_controls) = if stored.delta {
            let Some(prev) = out.last().filter(|p| p.period == stored.period) else {
                continue;
            };
            let failing = stored.failing_controls.unwrap_or_else(|| prev.failing_controls.clone());
            let mut map: BTreeMap<String, TestFigures> = prev.tests.iter().map(|t| (t.0.clone(), t.clone())).collect();
            for g in &stored.gone {
                map.remove(g);
            }
            for t in stored.tests {
                map.insert(t.0.clone(), t);
            }
            since_keyframe += 1;
            // Tests in the order of their ids, as a line is written.
            (map.into_values().collect(), failing)
        } else {
            since_keyframe = 0;
            (stored.tests, stored.failing_controls.unwrap_or_default())
        };
        out.push(HistoryLine {
            at: stored.at,
            run: stored.run,
            period: stored.period,
            as_of: stored.as_of,
            tests,
            failing_controls,
            opened: stored.opened,
            closed: stored.closed,
            undelivered: stored.undelivered,
            readiness: stored.readiness,
            stale: stored.stale,
        });
    }
    (out, since_keyframe)
}

/// The conditions the gap analysis shows: a control whose evidence is stale for its frequency
/// (or missing once the period has begun), a policy past its review date.
pub fn assessment_conditions(a: &assure_assess::gap::Assessment) -> BTreeMap<String, Condition> {
    let mut out = BTreeMap::new();
    for c in &a.controls {
        for check in c
            .checks
            .iter()
            .filter(|k| k.name == "evidence_fresh" && k.status == assure_assess::gap::CheckStatus::Gap)
        {
            let key = format!("stale {}", c.id);
            out.insert(
                key.clone(),
                Condition {
                    key,
                    kind: "stale_evidence".into(),
                    subject: c.id.clone(),
                    item: String::new(),
                    reason: check.detail.clone(),
                    controls: vec![c.id.clone()],
                },
            );
        }
    }
    for p in a.policies.iter().filter(|p| p.status == "review-overdue") {
        let key = format!("policy {}", p.id);
        out.insert(
            key.clone(),
            Condition {
                key,
                kind: "policy_overdue".into(),
                subject: p.id.clone(),
                item: p.version.clone().unwrap_or_default(),
                reason: p.next_review.map_or_else(
                    || "its review is overdue".to_string(),
                    |d| format!("its review was due {d}"),
                ),
                controls: Vec::new(),
            },
        );
    }
    out
}

/// Vendors whose assurance report goes stale within the reminder window, has gone stale, is not
/// reviewed, or carries an adverse opinion: each is a condition until the register shows a newer
/// report or a bridge letter.
pub fn vendor_conditions(project: &assure_project::Project, as_of: chrono::NaiveDate) -> BTreeMap<String, Condition> {
    let mut out = BTreeMap::new();
    for v in project.vendors.iter().filter(|v| !v.reports.is_empty()) {
        let (status, reason) = v.report_status(as_of);
        if status == "current" {
            continue;
        }
        let key = format!("vendor {}", v.id);
        out.insert(
            key.clone(),
            Condition {
                key,
                kind: "vendor_report_due".into(),
                subject: v.id.to_string(),
                item: status.to_string(),
                reason,
                controls: Vec::new(),
            },
        );
    }
    out
}

/// Approved questionnaire answers (and library answers) saying yes on the strength of a control
/// that another condition now shows failing, stale or not run: each is to be reviewed again.
pub fn answer_conditions(
    now: &BTreeMap<String, Condition>,
    answered: &[crate::questionnaire::Answered],
    library: &assure_questionnaire::Library,
) -> BTreeMap<String, Condition> {
    let mut out = BTreeMap::new();
    let why = |control: &str| {
        now.values()
            .find(|c| c.kind != "answer_review" && c.controls.iter().any(|x| x == control))
            .map(|c| {
                format!(
                    "{} ({}{})",
                    c.kind.replace('_', " "),
                    c.subject,
                    if c.item.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", c.item)
                    }
                )
            })
    };
    let mut add = |origin: &str, qid: &str, controls: &[String]| {
        for control in controls {
            if let Some(w) = why(control) {
                let key = format!("answer {origin} {qid}");
                out.insert(
                    key.clone(),
                    Condition {
                        key,
                        kind: "answer_review".into(),
                        subject: origin.to_string(),
                        item: qid.to_string(),
                        reason: format!("the approved answer rests on control {control}, which now shows {w}"),
                        controls: vec![control.clone()],
                    },
                );
                break;
            }
        }
    };
    for a in answered {
        for i in a.items.iter().filter(|i| {
            i.status == crate::questionnaire::Status::Approved && i.answer == assure_questionnaire::Answer::Yes
        }) {
            add(&a.id, &i.id, &i.controls);
        }
    }
    for e in library
        .entries
        .iter()
        .filter(|e| e.class() == assure_questionnaire::Answer::Yes)
    {
        add("library", e.question_id.as_deref().unwrap_or(&e.id), &e.controls);
    }
    out
}

/// The conditions a run shows.
pub fn conditions(run: &RunRecord) -> BTreeMap<String, Condition> {
    let mut out = BTreeMap::new();
    for t in &run.tests {
        // A test that could not run (no evidence for its window, evidence that does not check
        // out, a query that failed) is a condition too: known at the baseline, alerted when a test
        // that ran stops running.
        if t.conclusion == Conclusion::NotRun {
            let key = format!("not_run {}", t.id);
            out.insert(
                key.clone(),
                Condition {
                    key,
                    kind: "not_run".into(),
                    subject: t.id.clone(),
                    item: String::new(),
                    reason: t
                        .note
                        .as_deref()
                        .map(|n| n.trim_start_matches("not run, ").to_string())
                        .unwrap_or_else(|| "it did not run".into()),
                    controls: t.controls.clone(),
                },
            );
        }
        for i in t.items.iter().filter(|i| i.status == ItemStatus::Fail) {
            let key = format!("exception {} {}", t.id, i.item);
            out.insert(
                key.clone(),
                Condition {
                    key,
                    kind: "exception".into(),
                    subject: t.id.clone(),
                    item: i.item.clone(),
                    reason: i.reason.clone(),
                    controls: t.controls.clone(),
                },
            );
        }
    }
    for o in &run.occurrences {
        for slot in &o.missing {
            let key = format!("slot {} {slot}", o.control);
            out.insert(
                key.clone(),
                Condition {
                    key,
                    kind: "missed_slot".into(),
                    subject: o.control.clone(),
                    item: slot.clone(),
                    reason: format!("no evidence of the {} control for {slot}", o.frequency),
                    controls: vec![o.control.clone()],
                },
            );
        }
    }
    out
}

fn message(c: &Condition, newly_failing: &[String], reminder: bool) -> String {
    let what = match c.kind.as_str() {
        "collector_failed" => format!("collector {} could not pull from {}: {}", c.subject, c.item, c.reason),
        "not_run" => format!("test {} could not run: {}", c.subject, c.reason),
        "stale_evidence" => format!("control {}: evidence is stale: {}", c.subject, c.reason),
        "policy_overdue" => format!("policy {} {}: {}", c.subject, c.item, c.reason),
        "vendor_report_due" => format!("vendor {} ({}): {}", c.subject, c.item, c.reason),
        "answer_review" => format!(
            "questionnaire answer {} in {}: review it again: {}",
            c.item, c.subject, c.reason
        ),
        "missed_slot" => format!(
            "control {}: a slot passed without evidence ({}): {}",
            c.subject, c.item, c.reason
        ),
        _ => format!("test {}: new exception {}: {}", c.subject, c.item, c.reason),
    };
    let mut m = if reminder { format!("still open: {what}") } else { what };
    if !newly_failing.is_empty() {
        m.push_str(&format!(
            " (control{} {} now failing)",
            if newly_failing.len() == 1 { "" } else { "s" },
            newly_failing.join(", ")
        ));
    }
    m
}

/// Compares a cycle's conditions with the remembered state: the alerts due, what recovered and the
/// state to keep. Pure, so the rules are tested without a project.
pub fn compare(
    previous: &State,
    period: (NaiveDate, NaiveDate),
    now: &BTreeMap<String, Condition>,
    at: &str,
    remind_after_days: Option<u32>,
) -> (Vec<Alert>, Vec<Condition>, State, bool) {
    let baseline = previous.cycles == 0 || previous.period != Some(period);
    let mut state = State {
        cycles: previous.cycles + 1,
        period: Some(period),
        open: BTreeMap::new(),
        cursors: previous.cursors.clone(),
        last_digest: previous.last_digest,
    };
    let failing_before: std::collections::BTreeSet<&str> = if baseline {
        Default::default()
    } else {
        previous
            .open
            .values()
            .flat_map(|o| o.condition.controls.iter().map(String::as_str))
            .collect()
    };
    let mut alerts = Vec::new();
    let mut newly_flagged: std::collections::BTreeSet<String> = Default::default();
    let days_since = |t: &str| {
        let then = chrono::DateTime::parse_from_rfc3339(t).ok()?;
        let now = chrono::DateTime::parse_from_rfc3339(at).ok()?;
        Some((now - then).num_days())
    };
    for (key, c) in now {
        let prev = if baseline { None } else { previous.open.get(key) };
        let open = match prev {
            // A baseline records what fails as known; a collector that cannot pull is alerted even
            // then (it is not the state of the controls, it is monitoring not working).
            None if baseline && c.kind != "collector_failed" => Open {
                condition: c.clone(),
                first_seen: at.to_string(),
                alerted: Some(at.to_string()),
            },
            None if baseline => {
                alerts.push(Alert {
                    kind: "new".into(),
                    condition: c.clone(),
                    message: message(c, &[], false),
                    newly_failing_controls: Vec::new(),
                });
                Open {
                    condition: c.clone(),
                    first_seen: at.to_string(),
                    alerted: None,
                }
            }
            None => {
                let newly: Vec<String> = c
                    .controls
                    .iter()
                    .filter(|x| !failing_before.contains(x.as_str()) && newly_flagged.insert((*x).clone()))
                    .cloned()
                    .collect();
                alerts.push(Alert {
                    kind: "new".into(),
                    condition: c.clone(),
                    message: message(c, &newly, false),
                    newly_failing_controls: newly,
                });
                Open {
                    condition: c.clone(),
                    first_seen: at.to_string(),
                    alerted: None,
                }
            }
            Some(p) => {
                let due = match (&p.alerted, remind_after_days) {
                    // Never delivered: try again.
                    (None, _) => true,
                    (Some(last), Some(days)) => days_since(last).is_some_and(|d| d >= i64::from(days)),
                    (Some(_), None) => false,
                };
                if due {
                    let kind = if p.alerted.is_none() { "new" } else { "reminder" };
                    alerts.push(Alert {
                        kind: kind.into(),
                        condition: c.clone(),
                        message: message(c, &[], kind == "reminder"),
                        newly_failing_controls: Vec::new(),
                    });
                }
                Open {
                    condition: c.clone(),
                    first_seen: p.first_seen.clone(),
                    alerted: p.alerted.clone(),
                }
            }
        };
        state.open.insert(key.clone(), open);
    }
    let recovered = if baseline {
        Vec::new()
    } else {
        previous
            .open
            .iter()
            .filter(|(k, _)| !now.contains_key(*k))
            .map(|(_, o)| o.condition.clone())
            .collect()
    };
    (alerts, recovered, state, baseline)
}

impl Workspace {
    fn monitor_dir(&self) -> PathBuf {
        self.dir.join(".assure").join("monitor")
    }

    /// The remembered state (default when there is none yet).
    pub fn monitor_state(&self) -> Result<State, WorkspaceError> {
        let path = self.monitor_dir().join("state.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                WorkspaceError::invalid(
                    format!("`{}` is not a monitoring state: {e}", path.display()),
                    Some("delete it; the next cycle starts a new baseline"),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(io("read", &path, e)),
        }
    }

    /// Every recorded cycle, oldest first. A line that does not read (the torn end of a write a
    /// crash interrupted) is left out: the history is derived, and the runs it summarises are in
    /// the ledger.
    pub fn monitor_history(&self) -> Result<Vec<HistoryLine>, WorkspaceError> {
        let path = self.monitor_dir().join("history.jsonl");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("read", &path, e)),
        };
        Ok(expand(&text).0)
    }

    /// Runs one monitoring cycle for the current period as of `as_of`: the tests incrementally,
    /// then the comparison with the previous cycle. Nothing is remembered until
    /// [`Workspace::finish_cycle`] says which alerts arrived.
    pub fn monitor_cycle(
        &self,
        runner: &dyn Runner,
        at: &str,
        by: &str,
        as_of: NaiveDate,
        collected: &[Collected],
        progress: &mut dyn FnMut(usize, usize, &str),
    ) -> Result<Cycle, WorkspaceError> {
        let opened = self.open_read()?;
        let project = &opened.project;
        let period = project.current_period().ok_or_else(|| {
            WorkspaceError::invalid(
                "the project has no current examination period to monitor",
                Some("open one with `assure period open`, or set the dates in `[scope]`"),
            )
        })?;
        let as_of = as_of.min(period.end);
        let (notes, failures, cursors) = self.record_collected(collected, at, by, &period)?;
        let opts = RunOptions {
            window: assure_engine_window(period.start, period.end, as_of),
            exam: period.exam_type,
            only: Vec::new(),
            at: at.to_string(),
            by: by.to_string(),
            full: false,
            keep_if_unchanged: true,
            every_row: false,
        };
        let (run, entry) = self.run_tests(runner, &opts, progress)?;
        let mut now = conditions(&run);
        // What the gap analysis shows as of the cycle: evidence stale for a control's frequency,
        // policies past their review date; and the readiness figure of the cycle.
        let entries = self
            .open_write(true)?
            .whole_ledger("the monitor would judge evidence freshness without them")?;
        let signals = crate::records::signals(project, &entries, Some(&run), as_of);
        let assessment = assure_assess::gap::assess(project, as_of, &signals);
        now.extend(assessment_conditions(&assessment));
        now.extend(vendor_conditions(project, as_of));
        let answers = answer_conditions(&now, &self.questionnaires()?, &self.library()?);
        now.extend(answers);
        let stale = u32::try_from(now.values().filter(|c| c.kind == "stale_evidence").count()).unwrap_or(u32::MAX);
        let readiness = (assessment.overall.value * 1000.0).round().clamp(0.0, 1000.0) as u32;
        for (collector, source, error) in failures {
            let key = format!("collector {collector} {source}");
            now.insert(
                key.clone(),
                Condition {
                    key,
                    kind: "collector_failed".into(),
                    subject: collector,
                    item: source,
                    reason: error,
                    controls: Vec::new(),
                },
            );
        }
        let previous = self.monitor_state()?;
        let (alerts, recovered, mut state, baseline) = compare(
            &previous,
            (period.start, period.end),
            &now,
            at,
            project.manifest.monitoring.remind_after_days,
        );
        state.cursors.extend(cursors);
        let digest = match project.manifest.monitoring.digest.as_deref() {
            Some("daily") => {
                let day = NaiveDate::parse_from_str(at.get(..10).unwrap_or(""), "%Y-%m-%d").unwrap_or(as_of);
                let after = state.last_digest.unwrap_or(day - chrono::Duration::days(1));
                let since: Vec<HistoryLine> = self
                    .monitor_history()?
                    .into_iter()
                    .filter(|l| l.at.get(..10).unwrap_or("") > after.to_string().as_str())
                    .collect();
                let opened: Vec<String> = alerts
                    .iter()
                    .filter(|a| a.kind == "new")
                    .map(|a| a.condition.key.clone())
                    .collect();
                let closed: Vec<String> = recovered.iter().map(|c| c.key.clone()).collect();
                let failing: Vec<String> = run
                    .controls
                    .iter()
                    .filter(|c| c.exceptions > 0)
                    .map(|c| c.id.clone())
                    .collect();
                digest(state.last_digest, day, &state, &since, (&opened, &closed, &failing))
            }
            _ => None,
        };
        Ok(Cycle {
            at: at.to_string(),
            readiness,
            stale,
            run_seq: entry.seq,
            open: state.open.len(),
            // Recorded by this cycle: stamped with its time, and not the run the last cycle kept
            // (two cycles can fall in the same second).
            new_run: entry.draft.at == at && self.monitor_history()?.last().is_none_or(|l| l.run != entry.seq),
            run,
            baseline,
            alerts,
            recovered,
            collected: notes,
            digest,
            state,
        })
    }

    /// Records what the collectors brought, each file through its connector as an import of the
    /// current period (noting the collector, the endpoint and the cursor); a pull identical to one
    /// already recorded is not recorded again. Returns what happened, the failures and the cursors
    /// of the streams recorded (a failed stream keeps its old cursor, so nothing is skipped).
    #[allow(clippy::type_complexity, reason = "private lists")]
    fn record_collected(
        &self,
        collected: &[Collected],
        at: &str,
        by: &str,
        period: &assure_project::period::Period,
    ) -> Result<
        (
            Vec<CollectedNote>,
            Vec<(String, String, String)>,
            BTreeMap<String, String>,
        ),
        WorkspaceError,
    > {
        let mut notes = Vec::new();
        let mut failures = Vec::new();
        let fail =
            |c: &Collected, e: String, notes: &mut Vec<CollectedNote>, failures: &mut Vec<(String, String, String)>| {
                notes.push(CollectedNote {
                    collector: c.collector.clone(),
                    what: format!("failed: {e}"),
                    failed: true,
                });
                failures.push((c.collector.clone(), c.source.clone(), e));
            };
        let mut cursors = BTreeMap::new();
        if collected.is_empty() {
            return Ok((notes, failures, cursors));
        }
        let incoming = self.monitor_dir().join("incoming");
        std::fs::create_dir_all(&incoming).map_err(|e| io("create", &incoming, e))?;
        let known: std::collections::BTreeSet<String> = {
            let w = self.open_write(true)?;
            w.whole_ledger("collected evidence could be recorded twice")?
                .iter()
                .filter_map(|e| e.draft.blob.as_ref().map(|b| b.blake3.clone()))
                .collect()
        };
        for c in collected {
            let (name, bytes) = match &c.outcome {
                Ok(Some(x)) => x,
                Ok(None) => {
                    notes.push(CollectedNote {
                        collector: c.collector.clone(),
                        what: "nothing new since the previous pull".into(),
                        failed: false,
                    });
                    if let Some(k) = &c.cursor {
                        cursors.insert(c.collector.clone(), k.clone());
                    }
                    continue;
                }
                Err(e) => {
                    fail(c, e.clone(), &mut notes, &mut failures);
                    continue;
                }
            };
            let hash = blake3::hash(bytes).to_hex().to_string();
            if known.contains(&hash) {
                notes.push(CollectedNote {
                    collector: c.collector.clone(),
                    what: "unchanged since it was last recorded".into(),
                    failed: false,
                });
                if let Some(k) = &c.cursor {
                    cursors.insert(c.collector.clone(), k.clone());
                }
                continue;
            }
            let path = incoming.join(name);
            std::fs::write(&path, bytes).map_err(|e| io("write", &path, e))?;
            let planned = match self.plan_import(std::slice::from_ref(&path), None, None) {
                Ok(p) => p,
                Err(problems) => {
                    let _ = std::fs::remove_file(&path);
                    let e = format!(
                        "what it returned could not be read: {}",
                        problems.first().map(ToString::to_string).unwrap_or_default()
                    );
                    fail(c, e, &mut notes, &mut failures);
                    continue;
                }
            };
            let meta = assure_evidence::import::Meta {
                at: at.to_string(),
                by: by.to_string(),
                period_start: Some(period.start.to_string()),
                period_end: Some(period.end.to_string()),
                note: Some(match &c.cursor {
                    Some(k) => format!("collected by {} from {}; next pull from {k}", c.collector, c.source),
                    None => format!("collected by {} from {}", c.collector, c.source),
                }),
                batch: blake3::hash(format!("{at}{by}{hash}").as_bytes())
                    .to_hex()
                    .get(..16)
                    .unwrap_or_default()
                    .to_string(),
            };
            let entries = self.commit_import(&planned, &meta);
            let _ = std::fs::remove_file(&path);
            let entries = entries?;
            if let Some(k) = &c.cursor {
                cursors.insert(c.collector.clone(), k.clone());
            }
            let rows: u64 = planned.iter().map(|p| p.rows).sum();
            notes.push(CollectedNote {
                collector: c.collector.clone(),
                what: format!(
                    "{rows} rows into {} as ledger entry {}",
                    planned.first().map_or("?", |p| p.table),
                    entries.first().map_or(0, |e| e.seq)
                ),
                failed: false,
            });
        }
        Ok((notes, failures, cursors))
    }

    /// Records a cycle: `delivered[i]` says whether alert `i` reached every destination. An alert
    /// that did not stays due and is tried again by the next cycle, as is a digest that did not
    /// (`digest_delivered`). Writes the state atomically and appends one line to the history.
    pub fn finish_cycle(
        &self,
        cycle: Cycle,
        delivered: &[bool],
        digest_delivered: bool,
    ) -> Result<HistoryLine, WorkspaceError> {
        let Cycle {
            at,
            readiness,
            stale,
            run_seq,
            run,
            alerts,
            recovered,
            digest,
            mut state,
            ..
        } = cycle;
        if let Some(d) = digest
            && digest_delivered
        {
            state.last_digest = Some(d.day);
        }
        let mut undelivered = 0;
        for (a, ok) in alerts
            .iter()
            .zip(delivered.iter().copied().chain(std::iter::repeat(false)))
        {
            if ok {
                if let Some(o) = state.open.get_mut(&a.condition.key) {
                    o.alerted = Some(at.clone());
                }
            } else {
                undelivered += 1;
            }
        }
        let dir = self.monitor_dir();
        std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;
        let line = HistoryLine {
            at: at.clone(),
            run: run_seq,
            period: (run.period_start, run.period_end),
            as_of: run.as_of,
            tests: run
                .tests
                .iter()
                .map(|t| {
                    (
                        t.id.clone(),
                        t.conclusion.label().to_string(),
                        t.population,
                        t.exceptions,
                    )
                })
                .collect(),
            failing_controls: run
                .controls
                .iter()
                .filter(|c| c.exceptions > 0)
                .map(|c| c.id.clone())
                .collect(),
            opened: alerts
                .iter()
                .filter(|a| a.kind == "new")
                .map(|a| a.condition.key.clone())
                .collect(),
            closed: recovered.iter().map(|c| c.key.clone()).collect(),
            undelivered,
            readiness: Some(readiness),
            stale: Some(stale),
        };
        let mut line = line;
        line.tests.sort();
        let history = dir.join("history.jsonl");
        let (previous, since_keyframe) = match std::fs::read_to_string(&history) {
            Ok(t) => {
                let (mut lines, n) = expand(&t);
                (lines.pop(), n)
            }
            Err(_) => (None, 0),
        };
        let mut text = serde_json::to_string(&compact(previous.as_ref(), &line, since_keyframe)).unwrap_or_default();
        text.push('\n');
        {
            use std::io::Write as _;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&history)
                .map_err(|e| io("open", &history, e))?;
            f.write_all(text.as_bytes())
                .and_then(|()| f.sync_data())
                .map_err(|e| io("write", &history, e))?;
        }
        let path = dir.join("state.json");
        let tmp = dir.join("state.json.tmp");
        let bytes = serde_json::to_vec_pretty(&state).unwrap_or_default();
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| io("write", &path, e))?;
        Ok(line)
    }
}

fn io(what: &'static str, path: &std::path::Path, source: std::io::Error) -> WorkspaceError {
    WorkspaceError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

fn assure_engine_window(start: NaiveDate, end: NaiveDate, as_of: NaiveDate) -> assure_schema::Window {
    assure_schema::Window {
        period_start: start,
        period_end: end,
        as_of,
    }
}

/// What the web application shows of monitoring: the configuration (destinations by kind and host
/// only: a hook's address is a secret), the open conditions and the latest cycles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MonitoringView {
    /// `[monitoring] schedule`, as written.
    pub schedule: Option<String>,
    /// When the next scheduled cycle is due (RFC 3339), with a schedule.
    pub next: Option<String>,
    /// The collectors configured, with their endpoints' hosts.
    pub collectors: Vec<String>,
    /// The alert destinations, as kind and host.
    pub destinations: Vec<String>,
    /// What the monitor remembers.
    pub state: State,
    /// The latest cycles, oldest first (at most 200).
    pub history: Vec<HistoryLine>,
    /// Each control that has had exceptions in a cycle of the current period: when it started
    /// failing and when it last recovered, over the whole history.
    pub tracks: Vec<ControlTrack>,
}

/// One control's failing and recovering across the cycles of a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlTrack {
    /// The control.
    pub control: String,
    /// Whether it has exceptions in the latest cycle.
    pub failing: bool,
    /// The first cycle of its current failing streak (when failing).
    pub since: Option<String>,
    /// The cycle it last recovered in (its first cycle without exceptions after failing).
    pub recovered: Option<String>,
    /// Cycles of the period in which it had exceptions.
    pub cycles_failing: usize,
}

/// Every control's track over the history lines of the latest line's period. Pure.
pub fn tracks(history: &[HistoryLine]) -> Vec<ControlTrack> {
    let Some(period) = history.last().map(|l| l.period) else {
        return Vec::new();
    };
    let mut out: BTreeMap<String, ControlTrack> = BTreeMap::new();
    for line in history.iter().filter(|l| l.period == period) {
        for c in &line.failing_controls {
            let t = out.entry(c.clone()).or_insert_with(|| ControlTrack {
                control: c.clone(),
                failing: false,
                since: None,
                recovered: None,
                cycles_failing: 0,
            });
            if !t.failing {
                t.failing = true;
                t.since = Some(line.at.clone());
            }
            t.cycles_failing += 1;
        }
        for t in out.values_mut() {
            if t.failing && !line.failing_controls.contains(&t.control) {
                t.failing = false;
                t.since = None;
                t.recovered = Some(line.at.clone());
            }
        }
    }
    out.into_values().collect()
}

/// The host of a URL (`https://hooks.slack.com/services/...` is `hooks.slack.com`).
fn host_of(url: &str) -> String {
    url.split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', '?'])
        .next()
        .unwrap_or_default()
        .to_string()
}

impl Workspace {
    /// The monitoring view at `now`.
    pub fn monitoring_view(&self, now: chrono::DateTime<chrono::Utc>) -> Result<MonitoringView, WorkspaceError> {
        let opened = self.open_read()?;
        let m = &opened.project.manifest.monitoring;
        let mut history = self.monitor_history()?;
        let tracks = tracks(&history);
        let keep = history.len().saturating_sub(200);
        history.drain(..keep);
        Ok(MonitoringView {
            schedule: m.schedule.clone(),
            next: m
                .schedule
                .as_deref()
                .and_then(|s| assure_project::monitoring::Schedule::parse(s).ok())
                .map(|s| s.next_after(now).format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            collectors: m
                .collect
                .iter()
                .map(|c| match &c.endpoint {
                    Some(e) => format!("{} ({})", c.kind, host_of(e)),
                    None => c.kind.clone(),
                })
                .collect(),
            destinations: m
                .alert
                .iter()
                .map(|a| match (&a.url, &a.server) {
                    (Some(u), _) => format!("{} to {}", a.kind, host_of(u)),
                    (None, Some(s)) => format!("{} through {s} to {}", a.kind, a.to.join(", ")),
                    _ => a.kind.clone(),
                })
                .collect(),
            state: self.monitor_state()?,
            history,
            tracks,
        })
    }
}

#[cfg(test)]
mod compaction {
    use super::*;

    fn line(i: usize, tests: &[(&str, usize)], period: u32) -> HistoryLine {
        HistoryLine {
            at: format!("2026-06-01T{:02}:00:00Z", i % 24),
            run: i as u64,
            period: (
                NaiveDate::from_ymd_opt(2026 + period as i32, 1, 1).unwrap(),
                NaiveDate::from_ymd_opt(2026 + period as i32, 12, 31).unwrap(),
            ),
            as_of: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
            tests: tests
                .iter()
                .map(|(id, e)| {
                    (
                        id.to_string(),
                        if *e > 0 { "exceptions" } else { "effective" }.to_string(),
                        100,
                        *e,
                    )
                })
                .collect(),
            failing_controls: Vec::new(),
            opened: Vec::new(),
            closed: Vec::new(),
            undelivered: 0,
            readiness: Some(500 + i as u32 % 7),
            stale: Some(i as u32 % 3),
        }
    }

    fn store(lines: &[HistoryLine]) -> String {
        let mut text = String::new();
        for l in lines {
            let (prev, n) = expand(&text);
            text.push_str(&serde_json::to_string(&compact(prev.last(), l, n)).unwrap());
            text.push('\n');
        }
        text
    }

    #[test]
    fn deltas_read_back_whole_across_changes_removals_periods_and_keyframes() {
        let mut lines = Vec::new();
        for i in 0..400 {
            let mut t = vec![("a", 0), ("b", i / 100), ("c", 1)];
            if i % 50 == 7 {
                t.retain(|x| x.0 != "c");
            }
            lines.push(line(i, &t, u32::from(i >= 300)));
        }
        let text = store(&lines);
        assert_eq!(expand(&text).0, lines);
        let full: Vec<&str> = text.lines().filter(|l| !l.contains("\"delta\"")).collect();
        // The first line, the 168th after it, and the new period's first line (the 300th).
        assert_eq!(full.len(), 3, "{full:?}");
        // A line where nothing changed carries no tests at all.
        assert!(
            !text.lines().nth(2).unwrap().contains("\"tests\""),
            "{}",
            text.lines().nth(2).unwrap()
        );
    }

    /// A year of hourly cycles for a project of 100 controls and 150 tests, where a test's figures
    /// change about every tenth cycle and a control starts or stops failing about every 50th:
    /// measured, and bounded so a change that bloats the history fails here.
    #[test]
    fn a_year_of_hourly_cycles_stays_small() {
        let ids: Vec<String> = (0..150).map(|i| format!("test-number-{i:03}")).collect();
        let mut lines = Vec::new();
        for i in 0..8760usize {
            let t: Vec<(&str, usize)> = ids
                .iter()
                .enumerate()
                .map(|(k, id)| {
                    (
                        id.as_str(),
                        usize::from((i / 10 + k) % 150 == 0) + usize::from(k % 7 == 0),
                    )
                })
                .collect();
            let mut l = line(i, &t, 0);
            l.failing_controls = (0..100)
                .filter(|c| c % 9 == 0 || (i / 50 + c) % 100 == 0)
                .map(|c| format!("CTL-{c:02}"))
                .collect();
            lines.push(l);
        }
        let full: usize = lines.iter().map(|l| serde_json::to_string(l).unwrap().len() + 1).sum();
        let mut text = String::new();
        let mut prev: Option<&HistoryLine> = None;
        let mut since = 0;
        for l in &lines {
            let stored = compact(prev, l, since);
            since = if stored.delta { since + 1 } else { 0 };
            text.push_str(&serde_json::to_string(&stored).unwrap());
            text.push('\n');
            prev = Some(l);
        }
        eprintln!(
            "a year of hourly cycles, 150 tests, 100 controls: {} bytes compacted ({} per cycle), {} bytes as full lines",
            text.len(),
            text.len() / lines.len(),
            full
        );
        assert_eq!(expand(&text).0, lines);
        assert!(text.len() < 3_000_000, "{}", text.len());
        assert!(text.len() * 10 < full, "{} vs {full}", text.len());
    }

    #[test]
    fn a_control_fails_from_its_first_failing_cycle_and_recovers_at_the_first_clean_one() {
        let mut lines: Vec<HistoryLine> = (0..6).map(|i| line(i, &[("a", 0)], 0)).collect();
        for (i, l) in lines.iter_mut().enumerate() {
            l.failing_controls = match i {
                1 | 2 => vec!["AC-01".into()],
                4 | 5 => vec!["AC-01".into(), "AC-02".into()],
                _ => Vec::new(),
            };
        }
        let t = tracks(&lines);
        assert_eq!(t.len(), 2);
        assert_eq!(
            (
                t[0].failing,
                t[0].since.as_deref(),
                t[0].recovered.as_deref(),
                t[0].cycles_failing
            ),
            (true, Some("2026-06-01T04:00:00Z"), Some("2026-06-01T03:00:00Z"), 4)
        );
        assert_eq!(
            (t[1].failing, t[1].since.as_deref(), t[1].recovered.as_deref()),
            (true, Some("2026-06-01T04:00:00Z"), None)
        );
        // A new period starts over.
        lines.push(line(6, &[("a", 0)], 1));
        assert_eq!(tracks(&lines), Vec::new());
    }

    #[test]
    fn a_full_line_written_before_compaction_reads_as_before() {
        let old = line(1, &[("a", 0), ("b", 2)], 0);
        let text = format!("{}\n", serde_json::to_string(&old).unwrap());
        assert_eq!(expand(&text).0, vec![old]);
    }

    #[test]
    fn a_delta_without_its_base_is_left_out() {
        let lines = vec![line(0, &[("a", 0)], 0), line(1, &[("a", 1)], 0)];
        let text = store(&lines);
        let second = text.lines().nth(1).unwrap();
        assert_eq!(expand(&format!("{second}\n")).0, Vec::<HistoryLine>::new());
    }
}
