//! The audit window and test parameters, expanded into the SQL text.
//!
//! `:period_start`, `:period_end` and `:as_of` become timestamp literals (the start of the first
//! day, the end of the last day, the end of the as-of day); `:quarter_starts` and `:calendar_days`
//! become inline tables of dates; every other `:name` comes from the test's parameters.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};

pub use assure_schema::Window;

/// A parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// A whole number.
    Int(i64),
    /// A number.
    Float(f64),
    /// Text.
    Text(String),
    /// A boolean.
    Bool(bool),
}

impl Param {
    fn sql(&self, in_string: bool) -> String {
        match self {
            Param::Int(n) => n.to_string(),
            Param::Float(f) => f.to_string(),
            Param::Bool(b) => b.to_string(),
            Param::Text(t) if in_string => t.replace('\'', "''"),
            Param::Text(t) => format!("'{}'", t.replace('\'', "''")),
        }
    }
}

fn quarter_start(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), ((d.month() - 1) / 3) * 3 + 1, 1).unwrap_or(d)
}

/// Calendar quarters that overlap the period and have ended by the as-of date.
pub fn quarter_starts(start: NaiveDate, end: NaiveDate, as_of: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut q = quarter_start(start);
    while q <= end {
        let Some(next) = q.checked_add_months(Months::new(3)) else {
            break;
        };
        if next.pred_opt().is_some_and(|last| last <= as_of) {
            out.push(q);
        }
        q = next;
    }
    out
}

fn dates_table(name: &str, dates: &[NaiveDate]) -> String {
    if dates.is_empty() {
        return format!("(SELECT CAST(NULL AS DATE) AS d WHERE false) AS {name}");
    }
    let values: Vec<String> = dates.iter().map(|d| format!("(DATE '{d}')")).collect();
    format!("(VALUES {}) AS {name}(d)", values.join(", "))
}

/// Replaces every `:name` in `sql` (not `::` casts) with its value; an unknown name is an error.
pub fn expand(sql: &str, w: &Window, params: &BTreeMap<String, Param>) -> Result<String, String> {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 256);
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let c = bytes.get(i).copied().unwrap_or(0);
        if c == b'\'' {
            in_string = !in_string;
        }
        let prev = if i > 0 {
            bytes.get(i - 1).copied().unwrap_or(0)
        } else {
            0
        };
        let next = bytes.get(i + 1).copied().unwrap_or(0);
        if c == b':' && prev != b':' && next != b':' && (next.is_ascii_alphabetic() || next == b'_') {
            let start = i + 1;
            let mut j = start;
            while bytes.get(j).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
                j += 1;
            }
            let name = sql.get(start..j).unwrap_or("");
            // Inside a string literal only the test's own parameters are replaced (as in
            // `INTERVAL ':days days'`); any other `:word` there is text, such as `'%:root'`.
            if in_string && !params.contains_key(name) {
                out.push(':');
                i += 1;
                continue;
            }
            let value = match name {
                "period_start" => format!("TIMESTAMP '{} 00:00:00'", w.period_start),
                "period_end" => format!("TIMESTAMP '{} 23:59:59.999999'", w.period_end),
                "as_of" => format!("TIMESTAMP '{} 23:59:59.999999'", w.as_of),
                "quarter_starts" => {
                    dates_table("quarter_starts", &quarter_starts(w.period_start, w.period_end, w.as_of))
                }
                "calendar_days" => {
                    let last = w.period_end.min(w.as_of);
                    let days: Vec<NaiveDate> = w.period_start.iter_days().take_while(|d| *d <= last).collect();
                    dates_table("calendar_days", &days)
                }
                other => params.get(other).map(|p| p.sql(in_string)).ok_or_else(|| {
                    format!("the query uses `:{other}`, which is not a parameter of the test; add it under [params]")
                })?,
            };
            out.push_str(&value);
            i = j;
            continue;
        }
        out.push(char::from(c));
        // Copy multi-byte UTF-8 sequences whole.
        if c >= 0x80 {
            let ch_len = sql.get(i..).and_then(|s| s.chars().next()).map_or(1, char::len_utf8);
            out.pop();
            out.push_str(sql.get(i..i + ch_len).unwrap_or(""));
            i += ch_len;
            continue;
        }
        i += 1;
    }
    Ok(out)
}
