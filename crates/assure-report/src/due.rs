//! What falls due soon: policy reviews, and periodic manual controls whose current slot ends
//! within the horizon with no record in the ledger yet. Pure; the web dashboard and any future
//! reminder read it.

use assure_assess::occurrences::{Dated, expected, matched};
use assure_project::model::{Frequency, Nature};
use chrono::{Days, NaiveDate};

use crate::Inputs;

/// One thing that falls due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueItem {
    /// When.
    pub date: NaiveDate,
    /// `policy` or `control`.
    pub kind: &'static str,
    /// The policy or control id.
    pub subject: String,
    /// What is due, in words.
    pub what: String,
}

fn day(t: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(t.get(..10).unwrap_or(""), "%Y-%m-%d").ok()
}

/// Everything due on or before `as_of + days` that is not done, for the controls `include` keeps.
pub fn due(inp: &Inputs<'_>, days: u64, include: &dyn Fn(&str) -> bool) -> Vec<DueItem> {
    let horizon = inp.as_of + Days::new(days);
    let mut out = Vec::new();
    for p in &inp.assessment.policies {
        if let Some(n) = p.next_review
            && n <= horizon
        {
            out.push(DueItem {
                date: n,
                kind: "policy",
                subject: p.id.clone(),
                what: "policy review".into(),
            });
        }
    }
    let (start, end) = inp.period();
    if let (Some(start), Some(end)) = (start, end) {
        for c in inp.controls_for(|c| include(c.id.as_str())) {
            let (Some(freq), Some(Nature::Manual)) = (c.frequency, c.nature) else {
                continue;
            };
            if matches!(freq, Frequency::Continuous | Frequency::PerEvent) {
                continue;
            }
            let slots: Vec<_> = expected(freq, start, end, horizon)
                .into_iter()
                .filter(|s| s.end >= inp.as_of)
                .collect();
            if slots.is_empty() {
                continue;
            }
            let dated: Vec<Dated> = inp
                .ledger
                .iter()
                .filter(|e| e.draft.controls.iter().any(|x| x == c.id.as_str()))
                .filter_map(|e| {
                    let from = e
                        .draft
                        .period_start
                        .as_deref()
                        .and_then(day)
                        .or_else(|| day(&e.draft.at))?;
                    let to = e.draft.period_end.as_deref().and_then(day).unwrap_or(from);
                    Some(Dated {
                        seq: e.seq,
                        start: from,
                        end: to,
                    })
                })
                .collect();
            for o in matched(&slots, &dated).into_iter().filter(|o| o.evidence.is_empty()) {
                out.push(DueItem {
                    date: o.slot.end,
                    kind: "control",
                    subject: c.id.to_string(),
                    what: format!(
                        "{} record for {} to {} ({})",
                        freq.as_str(),
                        o.slot.start,
                        o.slot.end,
                        c.title
                    ),
                });
            }
        }
    }
    out.sort_by(|a, b| (a.date, &a.subject).cmp(&(b.date, &b.subject)));
    out
}
