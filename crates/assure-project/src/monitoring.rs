//! The monitoring schedule: when the next cycle is due. Pure: the caller gives the time.

use chrono::{DateTime, Duration, DurationRound, Utc};

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
}

impl Schedule {
    /// Reads `hourly`, `daily`, `every N minutes` or `every N seconds`.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let t = text.trim().to_ascii_lowercase();
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
                    .ok_or_else(|| format!("`{text}` is not `hourly`, `daily` or `every N minutes`"))?;
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
        };
        now.duration_trunc(step).map_or(now + step, |t| t + step)
    }
}
