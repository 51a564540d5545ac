//! Examination periods: the compliance year as data.
//!
//! Each period a company is examined for is one `[[period]]` table in `assure.toml`: its name, its
//! dates, its reports and type, and its status (planned, open, fieldwork, closed). The scope's own
//! `period_start`/`period_end` (or `as_of`) always hold the *current* period's dates, so a project
//! written before periods existed is one implicit period, and every command that reads the scope
//! reads the current period. [`Project::for_period`] gives the project as it reads for another
//! period: the same files, with the scope's dates, type and reports set to that period's.
//!
//! Pure: no I/O and no clock; dates are passed in.

use chrono::{Datelike as _, Months, NaiveDate};
use serde::Deserialize;

use crate::model::{Date, ExamType, Project, ReportKind, Spanned};

/// Where a period stands in the annual cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Agreed but not begun.
    Planned,
    /// Being observed: controls operate, evidence arrives, tests run.
    Open,
    /// Ended; the auditor is testing. Evidence and runs may still be recorded.
    Fieldwork,
    /// The report is issued; the period's results and reports are frozen.
    Closed,
}

impl Status {
    /// The word used in files and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Planned => "planned",
            Status::Open => "open",
            Status::Fieldwork => "fieldwork",
            Status::Closed => "closed",
        }
    }
}

/// One `[[period]]` table as written in `assure.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodDef {
    /// A short name, unique in the project (`2026`, `FY2027`).
    pub name: Spanned<String>,
    /// The reports examined for this period (default: the scope's).
    #[serde(default)]
    pub reports: Vec<ReportKind>,
    /// Type 1 or 2 (default: the scope's).
    #[serde(default, rename = "type")]
    pub exam_type: Option<ExamType>,
    /// First day (for Type 1, the examination date).
    pub start: Spanned<Date>,
    /// Last day (for Type 1, the examination date again).
    pub end: Spanned<Date>,
    /// Where it stands.
    #[serde(default = "planned")]
    pub status: Status,
    /// The day the report was issued, once it was.
    #[serde(default)]
    pub report_issued_on: Option<Date>,
    /// The day it was closed.
    #[serde(default)]
    pub closed_on: Option<Date>,
}

fn planned() -> Status {
    Status::Planned
}

/// A period as the rest of Assure uses it: every default filled in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Period {
    /// Its name.
    pub name: String,
    /// The reports.
    #[serde(serialize_with = "reports_as_str")]
    pub reports: Vec<ReportKind>,
    /// Type 1 or 2.
    #[serde(serialize_with = "type_as_number")]
    pub exam_type: ExamType,
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Where it stands.
    pub status: Status,
    /// The day the report was issued.
    pub report_issued_on: Option<NaiveDate>,
    /// The day it was closed.
    pub closed_on: Option<NaiveDate>,
    /// Whether it is written in `assure.toml` (`false`: the scope's dates, before any `[[period]]`).
    pub declared: bool,
}

fn reports_as_str<S: serde::Serializer>(r: &[ReportKind], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(r.iter().map(|k| k.as_str()))
}

fn type_as_number<S: serde::Serializer>(t: &ExamType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u8(if *t == ExamType::Type1 { 1 } else { 2 })
}

impl Period {
    /// Whether the period's results are frozen.
    pub fn is_closed(&self) -> bool {
        self.status == Status::Closed
    }

    /// `2026 (2026-01-01 to 2026-12-31, open)`: how commands say which period they used.
    pub fn describe(&self) -> String {
        if self.start == self.end {
            format!("{} ({}, {})", self.name, self.end, self.status.as_str())
        } else {
            format!(
                "{} ({} to {}, {})",
                self.name,
                self.start,
                self.end,
                self.status.as_str()
            )
        }
    }

    /// Whether the dates `start..=end` fall inside this period.
    pub fn contains(&self, start: NaiveDate, end: NaiveDate) -> bool {
        self.start <= start && end <= self.end
    }

    /// The period that follows this one: the day after its end, as long, with the next name.
    pub fn next(&self) -> Period {
        let start = self.end.succ_opt().unwrap_or(self.end);
        let end = match whole_months(self.start, self.end) {
            Some(m) => start
                .checked_add_months(Months::new(m))
                .and_then(|d| d.pred_opt())
                .unwrap_or(start),
            None => start + (self.end - self.start),
        };
        Period {
            name: next_name(&self.name, end),
            reports: self.reports.clone(),
            exam_type: self.exam_type,
            start: if self.exam_type == ExamType::Type1 { end } else { start },
            end,
            status: Status::Open,
            report_issued_on: None,
            closed_on: None,
            declared: true,
        }
    }
}

/// The number of whole months from `start` to `end` inclusive, when the period is month-aligned.
fn whole_months(start: NaiveDate, end: NaiveDate) -> Option<u32> {
    let after = end.succ_opt()?;
    if start.day() != after.day() {
        return None;
    }
    let m = (after.year() - start.year()) * 12 + after.month() as i32 - start.month() as i32;
    u32::try_from(m).ok().filter(|m| *m > 0)
}

/// The next period's name: the last number in the name advanced by one (`2026` → `2027`,
/// `FY2026` → `FY2027`, `2026-H1` → `2026-H2`), else the year the next period ends in.
pub fn next_name(name: &str, next_end: NaiveDate) -> String {
    let digits_end = name.rfind(|c: char| c.is_ascii_digit());
    if let Some(e) = digits_end {
        let s = name[..=e]
            .char_indices()
            .rev()
            .find(|(_, c)| !c.is_ascii_digit())
            .map_or(0, |(i, c)| i + c.len_utf8());
        if let Ok(n) = name[s..=e].parse::<u64>() {
            return format!("{}{}{}", &name[..s], n + 1, &name[e + 1..]);
        }
    }
    next_end.year().to_string()
}

/// The current period of `periods` (oldest first): the open one; else the latest in fieldwork;
/// else the first planned; else the latest closed.
pub fn current_of(periods: &[Period]) -> Option<&Period> {
    let by = |st: Status| periods.iter().filter(move |p| p.status == st);
    by(Status::Open)
        .next_back()
        .or_else(|| by(Status::Fieldwork).next_back())
        .or_else(|| by(Status::Planned).next())
        .or_else(|| by(Status::Closed).next_back())
}

/// Why a period could not be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// No period has that name.
    #[error("no period is named `{name}`; the project has {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names it has.
        known: String,
    },
    /// The scope has no dates and no period is declared.
    #[error("the project has no examination period")]
    None,
}

impl Project {
    /// Every examination period, oldest first: the `[[period]]` tables, or, when there are none,
    /// one implicit period from the scope's dates (named after the year it ends in, open).
    pub fn periods(&self) -> Vec<Period> {
        let s = &self.manifest.scope;
        let scope_type = s.exam_type.unwrap_or(ExamType::Type2);
        let mut out: Vec<Period> = self
            .manifest
            .period
            .iter()
            .map(|d| Period {
                name: d.name.get_ref().trim().to_string(),
                reports: if d.reports.is_empty() {
                    s.reports.clone()
                } else {
                    d.reports.clone()
                },
                exam_type: d.exam_type.unwrap_or(scope_type),
                start: d.start.get_ref().0,
                end: d.end.get_ref().0,
                status: d.status,
                report_issued_on: d.report_issued_on.map(|x| x.0),
                closed_on: d.closed_on.map(|x| x.0),
                declared: true,
            })
            .collect();
        if out.is_empty() {
            let dates = match (&s.period_start, &s.period_end, &s.as_of) {
                (Some(a), Some(b), _) if scope_type == ExamType::Type2 => Some((a.get_ref().0, b.get_ref().0)),
                (_, _, Some(d)) => Some((d.get_ref().0, d.get_ref().0)),
                (Some(a), Some(b), None) => Some((a.get_ref().0, b.get_ref().0)),
                _ => None,
            };
            if let Some((start, end)) = dates {
                out.push(Period {
                    name: end.year().to_string(),
                    reports: s.reports.clone(),
                    exam_type: scope_type,
                    start,
                    end,
                    status: Status::Open,
                    report_issued_on: None,
                    closed_on: None,
                    declared: false,
                });
            }
        }
        out.sort_by(|a, b| (a.start, a.end, &a.name).cmp(&(b.start, b.end, &b.name)));
        out
    }

    /// The current period: the open one; else the latest in fieldwork; else the first planned;
    /// else the latest closed.
    pub fn current_period(&self) -> Option<Period> {
        current_of(&self.periods()).cloned()
    }

    /// The period named `name`, or the current one when `name` is `None`.
    pub fn select_period(&self, name: Option<&str>) -> Result<Period, SelectError> {
        match name {
            None => self.current_period().ok_or(SelectError::None),
            Some(n) => {
                let all = self.periods();
                all.iter()
                    .find(|p| p.name == n.trim())
                    .cloned()
                    .ok_or_else(|| SelectError::Unknown {
                        name: n.to_string(),
                        known: if all.is_empty() {
                            "none".into()
                        } else {
                            all.iter()
                                .map(|p| format!("`{}`", p.name))
                                .collect::<Vec<_>>()
                                .join(", ")
                        },
                    })
            }
        }
    }

    /// The period whose dates contain `start..=end`, if any.
    pub fn period_containing(&self, start: NaiveDate, end: NaiveDate) -> Option<Period> {
        self.periods().into_iter().find(|p| p.contains(start, end))
    }

    /// The project as it reads for `period`: the scope's dates, type and reports are the period's.
    /// Everything else (controls, policies, people, tests) is the same files.
    pub fn for_period(&self, period: &Period) -> Project {
        let mut p = self.clone();
        let s = &mut p.manifest.scope;
        s.exam_type = Some(period.exam_type);
        s.reports.clone_from(&period.reports);
        let spanned = |d: NaiveDate| Some(Spanned::new(0..0, Date(d)));
        match period.exam_type {
            ExamType::Type2 => {
                s.period_start = spanned(period.start);
                s.period_end = spanned(period.end);
                s.as_of = None;
            }
            ExamType::Type1 => {
                s.period_start = None;
                s.period_end = None;
                s.as_of = spanned(period.end);
            }
        }
        p
    }
}
