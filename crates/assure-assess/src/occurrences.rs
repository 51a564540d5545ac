//! Expected occurrences: a control with a frequency must have operated a known number of times in
//! the window (two quarterly reviews in a six-month window; a daily control on each business day).
//! Each expected slot without evidence is an exception.

use assure_project::model::Frequency;
use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use serde::Serialize;

/// One expected occurrence: a slot of time in which the control should have operated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Slot {
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
}

/// Returns the slots a control of `frequency` should fill in `[start, end]`, counting only slots
/// that have ended by `as_of`. Continuous and per-event controls have no fixed count (their
/// population comes from the evidence), so they return none.
pub fn expected(frequency: Frequency, start: NaiveDate, end: NaiveDate, as_of: NaiveDate) -> Vec<Slot> {
    let last = end.min(as_of);
    let mut out = Vec::new();
    let mut push = |s: NaiveDate, e: NaiveDate| {
        if e <= as_of && s <= end && e >= start {
            out.push(Slot {
                start: s.max(start),
                end: e.min(end),
            });
        }
    };
    let step = |months: u32, anchor: NaiveDate, push: &mut dyn FnMut(NaiveDate, NaiveDate)| {
        let mut s = anchor;
        while s <= last {
            let Some(next) = s.checked_add_months(Months::new(months)) else {
                break;
            };
            let e = next.pred_opt().unwrap_or(next);
            push(s, e);
            s = next;
        }
    };
    match frequency {
        Frequency::Continuous | Frequency::PerEvent => {}
        Frequency::Daily => {
            for d in start.iter_days().take_while(|d| *d <= last) {
                if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
                    push(d, d);
                }
            }
        }
        Frequency::Weekly => {
            // ISO weeks, Monday to Sunday, that end inside the window.
            let mut s = start
                .checked_sub_days(Days::new(u64::from(start.weekday().num_days_from_monday())))
                .unwrap_or(start);
            while s <= last {
                let e = s.checked_add_days(Days::new(6)).unwrap_or(s);
                if e <= end {
                    push(s, e);
                }
                s = s.checked_add_days(Days::new(7)).unwrap_or(e);
            }
        }
        Frequency::Monthly => step(
            1,
            NaiveDate::from_ymd_opt(start.year(), start.month(), 1).unwrap_or(start),
            &mut push,
        ),
        Frequency::Quarterly => {
            let q = NaiveDate::from_ymd_opt(start.year(), ((start.month() - 1) / 3) * 3 + 1, 1).unwrap_or(start);
            step(3, q, &mut push)
        }
        Frequency::SemiAnnual => {
            let h = NaiveDate::from_ymd_opt(start.year(), if start.month() <= 6 { 1 } else { 7 }, 1).unwrap_or(start);
            step(6, h, &mut push)
        }
        Frequency::Annual => {
            // Once in the twelve months that end with the window (or the as-of date, if earlier).
            if last == end || as_of >= end {
                let s = end
                    .checked_sub_months(Months::new(12))
                    .and_then(|d| d.succ_opt())
                    .unwrap_or(start);
                push(s.min(start), end);
            }
        }
    }
    out
}

/// A slot and the evidence found for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Occurrence {
    /// The slot.
    pub slot: Slot,
    /// Ledger entries whose period lies inside the slot (or whose date falls in it).
    pub evidence: Vec<u64>,
}

/// Dated evidence for a control: a ledger entry and the period it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dated {
    /// The ledger entry.
    pub seq: u64,
    /// First day it covers.
    pub start: NaiveDate,
    /// Last day it covers.
    pub end: NaiveDate,
}

/// Matches evidence to slots: an entry counts for a slot when the period it covers lies inside it.
/// An entry covering more than one slot (a whole-period export) shows no single occurrence.
pub fn matched(slots: &[Slot], evidence: &[Dated]) -> Vec<Occurrence> {
    slots
        .iter()
        .map(|s| Occurrence {
            slot: *s,
            evidence: evidence
                .iter()
                .filter(|e| e.start >= s.start && e.end <= s.end)
                .map(|e| e.seq)
                .collect(),
        })
        .collect()
}
