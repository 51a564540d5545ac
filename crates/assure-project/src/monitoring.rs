//! The monitoring schedule: when the next cycle is due. Pure: the caller gives the time.

use chrono::{DateTime, Datelike as _, Duration, DurationRound, Timelike as _, Utc};

/// The collectors `[[monitoring.collect]] kind` may name.
pub const COLLECTORS: [&str; 6] = ["aws-iam", "cloudtrail", "github", "google-workspace", "jira", "okta"];

/// How often cycles run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// At the top of every hour.
    Hourly,
    /// At midnight UTC.
    Daily,
    /// Every N minutes, on multiples of N since the hour.
    EveryMinutes(u32),
    /// Every N seconds (5 or more), on multiples of N since the minute: for trials and tests.
    EverySeconds(u32),
    /// Every day at a time of day (UTC), as minutes after midnight.
    DailyAt(u32),
    /// A cron expression (minute hour day-of-month month day-of-week, UTC).
    Cron(Cron),
}

/// A parsed five-field cron expression, each field as the set of values it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    /// Whether the day-of-month and day-of-week fields were both restricted (then a day matching
    /// either is due, as cron has it).
    either_day: bool,
}

impl Cron {
    /// Reads `MIN HOUR DOM MON DOW`: `*`, numbers, ranges `a-b`, steps `*/n` or `a-b/n`, and lists.
    pub fn parse(text: &str) -> Result<Cron, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [min, hour, dom, mon, dow] = fields.as_slice() else {
            return Err(format!(
                "`{text}` is not a cron expression of five fields (minute hour day month weekday)"
            ));
        };
        let set = |f: &str, lo: u32, hi: u32, name: &str| -> Result<u64, String> {
            let mut bits = 0u64;
            for part in f.split(',') {
                let (range, step) = match part.split_once('/') {
                    Some((r, s)) => (
                        r,
                        s.parse::<u32>().ok().filter(|s| *s > 0).ok_or_else(|| {
                            format!("`{part}` in the {name} field has a step that is not a positive number")
                        })?,
                    ),
                    None => (part, 1),
                };
                let (a, b) = if range == "*" {
                    (lo, hi)
                } else if let Some((a, b)) = range.split_once('-') {
                    (
                        a.parse()
                            .map_err(|_| format!("`{part}` in the {name} field is not a range"))?,
                        b.parse()
                            .map_err(|_| format!("`{part}` in the {name} field is not a range"))?,
                    )
                } else {
                    let v: u32 = range
                        .parse()
                        .map_err(|_| format!("`{part}` in the {name} field is not a number"))?;
                    (v, if step > 1 { hi } else { v })
                };
                if a < lo || b > hi || a > b {
                    return Err(format!("`{part}` in the {name} field is outside {lo}-{hi}"));
                }
                let mut v = a;
                while v <= b {
                    bits |= 1 << v;
                    v += step;
                }
            }
            Ok(bits)
        };
        let weekdays = set(dow, 0, 7, "weekday")?;
        // 7 is Sunday as well as 0.
        let weekdays = (weekdays | (weekdays >> 7)) & 0x7f;
        Ok(Cron {
            minutes: set(min, 0, 59, "minute")?,
            hours: u32::try_from(set(hour, 0, 23, "hour")?).unwrap_or(0),
            days: u32::try_from(set(dom, 1, 31, "day-of-month")?).unwrap_or(0),
            months: u16::try_from(set(mon, 1, 12, "month")?).unwrap_or(0),
            weekdays: u8::try_from(weekdays).unwrap_or(0),
            either_day: *dom != "*" && *dow != "*",
        })
    }

    fn matches(&self, t: DateTime<Utc>) -> bool {
        let day = self.days & (1 << t.day()) != 0;
        let weekday = self.weekdays & (1 << t.weekday().num_days_from_sunday()) != 0;
        self.minutes & (1 << t.minute()) != 0
            && self.hours & (1 << t.hour()) != 0
            && self.months & (1 << t.month()) != 0
            && if self.either_day {
                day || weekday
            } else {
                day && weekday
            }
    }

    /// The first minute after `now` the expression allows, within five years.
    fn next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut t = now.duration_trunc(Duration::minutes(1)).ok()? + Duration::minutes(1);
        let end = now + Duration::days(5 * 366);
        while t < end {
            if self.matches(t) {
                return Some(t);
            }
            // Whole hours or days that cannot match are skipped.
            t = if self.months & (1 << t.month()) == 0 || !self.day_ok(t) {
                t.duration_trunc(Duration::days(1)).ok()? + Duration::days(1)
            } else if self.hours & (1 << t.hour()) == 0 {
                t.duration_trunc(Duration::hours(1)).ok()? + Duration::hours(1)
            } else {
                t + Duration::minutes(1)
            };
        }
        None
    }

    fn day_ok(&self, t: DateTime<Utc>) -> bool {
        let day = self.days & (1 << t.day()) != 0;
        let weekday = self.weekdays & (1 << t.weekday().num_days_from_sunday()) != 0;
        if self.either_day {
            day || weekday
        } else {
            day && weekday
        }
    }
}

impl Schedule {
    /// Reads `hourly`, `daily`, `daily at HH:MM`, `every N minutes`, `every N seconds` or a
    /// five-field cron expression (UTC).
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let t = text.trim().to_ascii_lowercase();
        if t.split_whitespace().count() == 5 && t.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '*') {
            let cron = Cron::parse(&t)?;
            let from = DateTime::<Utc>::from_timestamp(1_767_225_600, 0).unwrap_or_default();
            return match cron.next_after(from) {
                Some(_) => Ok(Schedule::Cron(cron)),
                None => Err(format!("`{text}` never falls due (no such date in five years)")),
            };
        }
        if let Some(at) = t.strip_prefix("daily at ") {
            let minutes = at
                .split_once(':')
                .and_then(|(h, m)| Some((h.trim().parse::<u32>().ok()?, m.trim().parse::<u32>().ok()?)))
                .filter(|(h, m)| *h < 24 && *m < 60)
                .map(|(h, m)| h * 60 + m)
                .ok_or_else(|| format!("`{text}` is not `daily at HH:MM` (UTC, 24-hour clock)"))?;
            return Ok(Schedule::DailyAt(minutes));
        }
        match t.as_str() {
            "hourly" => Ok(Schedule::Hourly),
            "daily" => Ok(Schedule::Daily),
            _ if t.ends_with(" seconds") => t
                .strip_prefix("every ")
                .and_then(|r| r.strip_suffix(" seconds"))
                .and_then(|n| n.trim().parse::<u32>().ok())
                .filter(|n| (5..=3600).contains(n))
                .map(Schedule::EverySeconds)
                .ok_or_else(|| format!("`{text}` is not `every N seconds` with N from 5 to 3600")),
            _ => {
                let n = t
                    .strip_prefix("every ")
                    .and_then(|r| r.strip_suffix(" minutes").or_else(|| r.strip_suffix(" minute")))
                    .and_then(|n| n.trim().parse::<u32>().ok())
                    .filter(|n| (1..=1440).contains(n))
                    .ok_or_else(|| {
                        format!("`{text}` is not `hourly`, `daily`, `daily at HH:MM`, `every N minutes` or a cron expression")
                    })?;
                Ok(Schedule::EveryMinutes(n))
            }
        }
    }

    /// The first time after `now` a cycle is due.
    pub fn next_after(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let step = match self {
            Schedule::Hourly => Duration::hours(1),
            Schedule::Daily => Duration::days(1),
            Schedule::EveryMinutes(n) => Duration::minutes(i64::from(n)),
            Schedule::EverySeconds(n) => Duration::seconds(i64::from(n)),
            Schedule::DailyAt(m) => {
                let today = now.duration_trunc(Duration::days(1)).unwrap_or(now) + Duration::minutes(i64::from(m));
                return if today > now { today } else { today + Duration::days(1) };
            }
            // Parsing made sure it falls due; a year on is the fallback that never comes.
            Schedule::Cron(c) => return c.next_after(now).unwrap_or(now + Duration::days(366)),
        };
        now.duration_trunc(step).map_or(now + step, |t| t + step)
    }
}
