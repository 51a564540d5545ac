//! Reading canonical CSV, JSON and NDJSON into the canonical tables, with validation that names the
//! file, row and column of every problem. Reading streams: CSV and NDJSON are read record by record.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::io::{BufRead, BufReader, Read};

use chrono::{DateTime, NaiveDate};
use serde::Serialize;
use serde_json::Value;

use crate::tables::{Column, ColumnType, TABLES, Table};

/// The longest line accepted: a line longer than this is not an export a person made.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;
/// The most problems listed per file; the rest are counted.
pub const MAX_PROBLEMS: usize = 100;

/// A file format a connector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// An Excel workbook (XLSX): the first worksheet, with a header row.
    Xlsx,
    /// An Apache Parquet file.
    Parquet,
}

impl Format {
    /// Returns the connector id for this canonical format.
    pub fn connector(self) -> &'static str {
        crate::connectors::canonical(self).id()
    }
}

/// One problem in an input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file, as given.
    pub file: String,
    /// The line (CSV, NDJSON) or record number (JSON arrays), 1-based.
    pub row: Option<u64>,
    /// The column.
    pub column: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(r) = self.row {
            write!(f, ", row {r}")?;
        }
        if let Some(c) = &self.column {
            write!(f, ", column `{c}`")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  = hint: {h}")?;
        }
        Ok(())
    }
}

/// What reading a file found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Data rows read.
    pub rows: u64,
    /// Columns not in the table, kept with an `x_` prefix.
    pub extra_columns: Vec<String>,
    /// Problems, at most [`MAX_PROBLEMS`].
    pub problems: Vec<Problem>,
    /// Problems beyond those listed.
    pub more_problems: u64,
}

/// Receives each valid row: its line (or record number) and its values in the table's column
/// order, normalised (trimmed; emails and enumerations lower-cased; booleans `true`/`false`;
/// timestamps as UTC `YYYY-MM-DDTHH:MM:SS.ffffffZ`; lists `;`-separated).
pub type RowFn<'a> = dyn FnMut(u64, Vec<Option<String>>) + 'a;

struct Sink<'a> {
    file: &'a str,
    out: Outcome,
    emit: Option<&'a mut RowFn<'a>>,
}

impl Sink<'_> {
    fn problem(&mut self, row: Option<u64>, column: Option<&str>, message: String, hint: Option<String>) {
        if self.out.problems.len() < MAX_PROBLEMS {
            self.out.problems.push(Problem {
                file: self.file.to_string(),
                row,
                column: column.map(str::to_string),
                message,
                hint,
            });
        } else {
            self.out.more_problems += 1;
        }
    }
}

/// Normalises a header or key: trimmed, lower-case, spaces and dashes as underscores.
pub fn normalise_name(name: &str) -> String {
    name.trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .replace([' ', '-'], "_")
}

/// A reader that fails on lines longer than [`MAX_LINE_BYTES`], so one huge line cannot exhaust
/// memory. A line ends at `\n`, `\r\n` or a lone `\r`.
struct LineGuard<R> {
    inner: R,
    run: usize,
    /// The `\n`s read (the `csv` reader's own count of lines, [`Lines::AsRead`]).
    line: u64,
    /// The line ends read, a `\r\n` counted once ([`line_ends`]).
    ends: u64,
    /// Whether the last byte read was a `\r`.
    after_cr: bool,
}

impl<R> LineGuard<R> {
    fn new(inner: R) -> LineGuard<R> {
        LineGuard {
            inner,
            run: 0,
            line: 0,
            ends: 0,
            after_cr: false,
        }
    }
}

impl<R: Read> Read for LineGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let too_long = |ends: u64| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "line {} is longer than {} MiB",
                    ends + 1,
                    MAX_LINE_BYTES / (1024 * 1024)
                ),
            )
        };
        // Line ends found a word at a time, not a byte at a time: this runs over every byte read.
        let data = buf.get(..n).unwrap_or_default();
        let mut start = 0;
        for end in memchr::memchr2_iter(b'\n', b'\r', data) {
            if self.run + (end - start) > MAX_LINE_BYTES {
                return Err(too_long(self.ends));
            }
            self.run = 0;
            let lf = data.get(end) == Some(&b'\n');
            let joined = lf
                && end
                    .checked_sub(1)
                    .map_or(self.after_cr, |b| data.get(b) == Some(&b'\r'));
            self.line += u64::from(lf);
            self.ends += u64::from(!joined);
            start = end + 1;
        }
        if n > 0 {
            self.after_cr = data.get(n - 1) == Some(&b'\r');
        }
        self.run += n - start;
        if self.run > MAX_LINE_BYTES {
            return Err(too_long(self.ends));
        }
        Ok(n)
    }
}

/// How a CSV's records are numbered (a copy's `_row`, the row a problem names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// The line the record starts on, as an editor shows it: one more than the line ends before
    /// its first byte, where `\n`, `\r\n` and a lone `\r` each end a line (blank lines before a
    /// record are counted; a line end inside a quoted field is one too). Every problem, and copies
    /// from layout 3 on.
    Start,
    /// As the `csv` reader numbers them: one more than the `\n`s read before the record, taken
    /// before the line ends that precede it, so a record after a `\r\n` is a line early and one
    /// after blank lines takes the first of them. Copies in layouts 1 and 2, so that they rebuild
    /// to the same bytes.
    AsRead,
}

/// The line ends in `bytes`: each `\n`, `\r\n` or lone `\r`, where `after_cr` says whether the
/// byte before `bytes` is a `\r` (so a `\n` first is the end of that `\r\n`).
fn line_ends(bytes: &[u8], after_cr: bool) -> u64 {
    memchr::memchr2_iter(b'\n', b'\r', bytes)
        .filter(|&i| {
            let lf = bytes.get(i) == Some(&b'\n');
            !(lf && i.checked_sub(1).map_or(after_cr, |b| bytes.get(b) == Some(&b'\r')))
        })
        .count() as u64
}

/// The bytes at the start of `bytes` that are line ends (the blank lines the CSV reader skips
/// before a record).
fn leading_line_ends(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| matches!(b, b'\n' | b'\r')).count()
}

/// [`Lines::Start`] for records parsed from text held whole: each record's line from where its
/// reading started, for records in order.
struct TextStarts<'t> {
    text: &'t [u8],
    /// How far line ends have been counted, and how many there were.
    scanned: usize,
    ends: u64,
    /// Whether the byte before the text is a `\r`.
    after_cr: bool,
    /// Whether the text is a file's start, where the reader drops a byte-order mark.
    file_start: bool,
}

impl TextStarts<'_> {
    /// The line ends before the record whose reading started at byte `from` (past the blank lines
    /// before it, and past a byte-order mark the reader dropped).
    fn ends_before(&mut self, from: u64) -> u64 {
        let mut from = usize::try_from(from).unwrap_or(usize::MAX).min(self.text.len());
        if from == 0 && self.file_start && self.text.starts_with(BOM) {
            from = BOM.len();
        }
        let first = from + leading_line_ends(self.text.get(from..).unwrap_or_default());
        if first > self.scanned {
            let after_cr = self
                .scanned
                .checked_sub(1)
                .map_or(self.after_cr, |b| self.text.get(b) == Some(&b'\r'));
            self.ends += line_ends(self.text.get(self.scanned..first).unwrap_or_default(), after_cr);
            self.scanned = first;
        }
        self.ends
    }
}

/// Numbers the records the `csv` reader reads from `text` (held whole) as `lines` says, from
/// their positions, for records in order.
pub(crate) fn line_numbers(text: &[u8], lines: Lines) -> impl FnMut(&csv::Position) -> u64 + '_ {
    let mut starts = TextStarts {
        text,
        scanned: 0,
        ends: 0,
        after_cr: false,
        file_start: true,
    };
    move |p: &csv::Position| match lines {
        Lines::Start => starts.ends_before(p.byte()) + 1,
        Lines::AsRead => p.line(),
    }
}

/// The text a [`Marked`] reader has passed and a [`StreamStarts`] has not yet counted past: the
/// chunks read, each with its offset in the input.
type Passed = std::rc::Rc<std::cell::RefCell<std::collections::VecDeque<(u64, Vec<u8>)>>>;

/// A reader that keeps the chunks it reads until [`StreamStarts`] has counted their line ends, so
/// at most the text from the last record's start to what the `csv` reader has buffered is held
/// twice.
struct Marked<R> {
    inner: R,
    at: u64,
    passed: Passed,
}

impl<R: Read> Read for Marked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            let data = buf.get(..n).unwrap_or_default();
            self.passed.borrow_mut().push_back((self.at, data.to_vec()));
            self.at += n as u64;
        }
        Ok(n)
    }
}

/// [`Lines::Start`] for records read from a stream by the `csv` reader: the line ends of the text
/// its input has passed ([`Marked`]) are counted up to each record's first byte, and the chunks
/// counted past are let go of.
struct StreamStarts {
    passed: Passed,
    /// How far line ends have been counted, and how many there were.
    scanned: u64,
    ends: u64,
    /// Whether the last byte of the chunks let go of is a `\r`.
    after_cr: bool,
}

impl StreamStarts {
    /// The line the record whose reading started at byte `from` starts on.
    fn line(&mut self, from: u64) -> u64 {
        let mut passed = self.passed.borrow_mut();
        let mut first = from;
        // The reader drops a byte-order mark that starts the first text it is given (read here
        // as the first chunk), so the header then starts after it.
        if from == 0
            && passed
                .front()
                .is_some_and(|(at, bytes)| *at == 0 && bytes.starts_with(BOM))
        {
            first = BOM.len() as u64;
        }
        while let Some((start, bytes)) = passed.front() {
            let (start, len) = (*start, bytes.len() as u64);
            let end = start + len;
            // A line end at the record's first byte is a blank line before it.
            let at = |i: u64| bytes.get(usize::try_from(i - start).unwrap_or(usize::MAX)).copied();
            while first >= start && first < end && matches!(at(first), Some(b'\n' | b'\r')) {
                first += 1;
            }
            let (lo, hi) = (self.scanned.max(start), first.min(end));
            if hi > lo {
                let after_cr = if lo == start {
                    self.after_cr
                } else {
                    at(lo - 1) == Some(b'\r')
                };
                let text = usize::try_from(lo - start)
                    .ok()
                    .zip(usize::try_from(hi - start).ok())
                    .and_then(|(a, b)| bytes.get(a..b))
                    .unwrap_or_default();
                self.ends += line_ends(text, after_cr);
                self.scanned = hi;
            }
            if first < end {
                break;
            }
            self.after_cr = bytes.last() == Some(&b'\r');
            passed.pop_front();
        }
        self.ends + 1
    }
}

/// The most JSON values one file may hold: a JSON file is parsed whole, and a parsed value takes
/// 32 bytes or more however short its text (`0,` is two bytes), so the count, not the size, bounds
/// the memory a file can take.
pub const MAX_JSON_VALUES: usize = 32_000_000;

/// The longest value one cell may hold.
pub const MAX_CELL_BYTES: usize = 64 * 1024;

/// An upper bound on the number of values in a JSON text, counted without parsing: every value but
/// the first follows a `[`, `{`, `,` or `:` outside a string. Stops counting past `max`.
pub(crate) fn json_values_at_most(text: &[u8], max: usize) -> Result<usize, usize> {
    let mut n = 1usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in text {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' | b',' | b':' => {
                n += 1;
                if n > max {
                    return Err(n);
                }
            }
            _ => {}
        }
    }
    Ok(n)
}

/// The message for a JSON file with more than [`MAX_JSON_VALUES`] values.
pub(crate) fn too_many_json_values() -> String {
    format!(
        "the file holds more than {} million JSON values, more than can be checked in memory",
        MAX_JSON_VALUES / 1_000_000
    )
}

/// Returns the normalised form of a value that passed validation, borrowed from the text when it
/// is normal already (most text is: a copy per cell was a fifth of an import's time).
fn normalise<'v>(col: &Column, text: &'v str) -> Cow<'v, str> {
    let t = trimmed(text);
    match col.ty {
        ColumnType::Bool => Cow::Borrowed(if ["true", "yes", "1"].iter().any(|y| t.eq_ignore_ascii_case(y)) {
            "true"
        } else {
            "false"
        }),
        // An instant already in the stored form is kept as it is; the common forms are read
        // digit by digit (`rfc3339_micros`), anything else through RFC 3339 parsing.
        ColumnType::Timestamp if is_stored_instant(t) => Cow::Borrowed(t),
        ColumnType::Timestamp => Cow::Owned(
            rfc3339_micros(t)
                .and_then(|micros| {
                    in_utc(t, micros).or_else(|| DateTime::from_timestamp_micros(micros).map(|d| utc_micros(&d)))
                })
                .or_else(|| {
                    DateTime::parse_from_rfc3339(t)
                        .ok()
                        .map(|d| utc_micros(&d.with_timezone(&chrono::Utc)))
                })
                .unwrap_or_else(|| t.to_string()),
        ),
        // Lists of addresses compare lower-cased; other lists (profile names) keep their case.
        ColumnType::TextList => Cow::Owned(
            t.split(';')
                .map(|x| {
                    if col.name.ends_with("emails") {
                        lower(x.trim())
                    } else {
                        x.trim().to_string()
                    }
                })
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join(";"),
        ),
        _ if !col.allowed.is_empty() || col.name.ends_with("email") => {
            if t.is_ascii() && !t.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Borrowed(t)
            } else {
                Cow::Owned(lower(t))
            }
        }
        _ => Cow::Borrowed(t),
    }
}

/// [`normalise`] of a value a reader lends or hands over.
fn normalise_value<'v>(col: &Column, value: Cow<'v, str>) -> Cow<'v, str> {
    match value {
        Cow::Borrowed(text) => normalise(col, text),
        Cow::Owned(text) => Cow::Owned(normalise(col, &text).into_owned()),
    }
}

/// Lower case; ASCII text (nearly every cell) without Unicode's tables.
fn lower(t: &str) -> String {
    if t.is_ascii() {
        t.to_ascii_lowercase()
    } else {
        t.to_lowercase()
    }
}

/// An instant as stored, `YYYY-MM-DDTHH:MM:SS.ffffffZ` (what `%Y-%m-%dT%H:%M:%S%.6fZ` writes),
/// written digit by digit: a format string is parsed again for every cell, and timestamps are
/// most of an event export's cells. Years outside 0-9999 and leap seconds take the format string.
fn utc_micros(d: &DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let (year, nanos) = (d.year(), d.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return d.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    }
    let mut out = [0u8; 27];
    let mut put = |at: usize, value: u32, width: usize| {
        let mut v = value;
        for i in (at..at + width).rev() {
            if let Some(b) = out.get_mut(i) {
                *b = b'0' + (v % 10) as u8;
            }
            v /= 10;
        }
    };
    put(0, year.unsigned_abs(), 4);
    put(5, d.month(), 2);
    put(8, d.day(), 2);
    put(11, d.hour(), 2);
    put(14, d.minute(), 2);
    put(17, d.second(), 2);
    put(20, nanos / 1000, 6);
    for (i, b) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (26, b'Z'),
    ] {
        if let Some(slot) = out.get_mut(i) {
            *slot = b;
        }
    }
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

/// The stored form of an instant `t` that [`rfc3339_micros`] read as `micros` and that is written
/// in UTC (`…Z`): its date and time as written, then the microseconds; `None` for an offset.
fn in_utc(t: &str, micros: i64) -> Option<String> {
    if !t.ends_with('Z') {
        return None;
    }
    let mut out = String::with_capacity(27);
    out.push_str(t.get(..19)?);
    out.push('.');
    let fraction = micros.rem_euclid(1_000_000);
    for place in [100_000, 10_000, 1_000, 100, 10, 1] {
        out.push(char::from(b'0' + u8::try_from(fraction / place % 10).ok()?));
    }
    out.push('Z');
    Some(out)
}

/// Whether `t` is an instant written as it is stored, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, and valid.
fn is_stored_instant(t: &str) -> bool {
    t.len() == 27 && t.ends_with('Z') && t.as_bytes().get(19) == Some(&b'.') && rfc3339_micros(t).is_some()
}

/// The instant an RFC 3339 timestamp in its common forms names, in microseconds since 1970 UTC,
/// read digit by digit: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1 to 9 digits (truncated to
/// microseconds), then `Z` or an offset `±HH:MM`. `None` for any other text, valid or not
/// (lower-case `t` or `z`, a space for `T`, a leap second, a longer fraction, the years 0000 and
/// 9999), which callers then give to `DateTime::parse_from_rfc3339`: for every text this reads,
/// that parser gives the same instant, and for an invalid date or time this gives `None` too.
/// Timestamps are most of an event export's cells, and validation parsed each one twice.
pub fn rfc3339_micros(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    let num = |from: usize, to: usize| -> Option<u32> {
        b.get(from..to)?
            .iter()
            .try_fold(0u32, |n, &d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
    };
    for (at, sep) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
        if b.get(at) != Some(&sep) {
            return None;
        }
    }
    // Years 0001-9998 only, so that no offset moves the instant out of the years RFC 3339 writes.
    let year = num(0, 4).filter(|y| (1..=9998).contains(y))?;
    let days = days_since_1970(year, num(5, 7)?, num(8, 10)?)?;
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut at = 19;
    let mut micros = 0i64;
    if b.get(at) == Some(&b'.') {
        let digits = b.get(at + 1..)?.iter().take_while(|d| d.is_ascii_digit()).count();
        if !(1..=9).contains(&digits) {
            return None;
        }
        let fraction = num(at + 1, at + 1 + digits)?;
        micros = i64::from(fraction) * 10i64.pow(9 - digits as u32) / 1000;
        at += 1 + digits;
    }
    let offset_seconds = match b.get(at..)? {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (num(at + 1, at + 3)?, num(at + 4, at + 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            let seconds = i64::from(h * 3600 + m * 60);
            if *sign == b'-' { -seconds } else { seconds }
        }
        _ => return None,
    };
    let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    (local - offset_seconds).checked_mul(1_000_000)?.checked_add(micros)
}

/// The days from 1970-01-01 to a date of the proleptic Gregorian calendar (years 1 to 9999), or
/// `None` when the month or the day does not exist: the count `NaiveDate` gives, by arithmetic
/// (Howard Hinnant's `days_from_civil`) instead of through `chrono`'s tables.
fn days_since_1970(year: u32, month: u32, day: u32) -> Option<i64> {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let length = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > length {
        return None;
    }
    // Years counted from March, so that a leap day ends its year.
    let y = i64::from(if month <= 2 { year - 1 } else { year });
    let era = y.div_euclid(400);
    let of_era = y - era * 400;
    let from_march = i64::from((month + 9) % 12);
    let of_year = (153 * from_march + 2) / 5 + i64::from(day) - 1;
    let of_cycle = of_era * 365 + of_era / 4 - of_era / 100 + of_year;
    Some(era * 146_097 + of_cycle - 719_468)
}

/// `t.trim()`, without decoding characters when neither end can be whitespace (nearly every cell:
/// trimming was 5% of an import).
#[inline]
fn trimmed(t: &str) -> &str {
    let plain = |b: u8| b > b' ' && b < 0x80;
    match t.as_bytes() {
        [first, .., last] if plain(*first) && plain(*last) => t,
        [only] if plain(*only) => t,
        _ => t.trim(),
    }
}

/// A valid cell's value, read in its column's type by [`check_cell`]: text stays text (normalised
/// later, borrowed where it can be), the others are read once, here, and handed on as read (see
/// [`Cell`]), so no value is parsed twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Typed {
    Text,
    Date(i32),
    Instant(i64),
    Bool(bool),
    Int(i64),
}

/// A valid value in its column's type, as [`read_csv_chunked`] hands it on to a [`Chunks`]: text
/// normalised (lent by the record where it is normal already); dates, instants, booleans and whole
/// numbers as read while they were checked, so a columnar copy never parses a value again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell<'v> {
    /// Text, or a list as its normalised `;`-separated text.
    Text(Cow<'v, str>),
    /// A date: days since 1970-01-01.
    Date(i32),
    /// An instant: microseconds since 1970-01-01 UTC.
    Instant(i64),
    /// A boolean.
    Bool(bool),
    /// A whole number.
    Int(i64),
}

/// The days since 1970 of a date written `YYYY-MM-DD` (years 1 to 9999), digit by digit; `None`
/// for any other text (which then goes to `chrono`, whose answer for the text read here is the same).
fn plain_date(t: &str) -> Option<i32> {
    let b = t.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b.get(from..to)?
            .iter()
            .try_fold(0u32, |n, &d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
    };
    let year = num(0, 4).filter(|y| (1..=9999).contains(y))?;
    i32::try_from(days_since_1970(year, num(5, 7)?, num(8, 10)?)?).ok()
}

/// The days since 1970 of a valid date, as the columnar copy stores it; `None` for text that is no
/// date (or one outside `Date32`). The common form is read digit by digit, anything else by
/// `chrono`'s `%Y-%m-%d`, which gives the same day for every text the fast reading reads.
pub fn date_days(t: &str) -> Option<i32> {
    plain_date(t).or_else(|| {
        let d = NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()?;
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
        i32::try_from((d - epoch).num_days()).ok()
    })
}

/// Checks one cell; reports what is wrong with it and returns `None`, or returns it read in its
/// column's type.
fn check_cell(sink: &mut Sink<'_>, row: u64, col: &Column, text: &str) -> Option<Typed> {
    let t = trimmed(text);
    let limit = if t.len() > MAX_CELL_BYTES {
        Some((
            format!(
                "the value is {} KiB, longer than {} KiB",
                t.len() / 1024,
                MAX_CELL_BYTES / 1024
            ),
            "keep evidence cells short: a reference or an id, not a document".to_string(),
        ))
    } else if t.contains('\0') {
        Some((
            "the value holds a NUL character".into(),
            "export the file again as text; NUL is not part of any value".into(),
        ))
    } else {
        None
    };
    if let Some((message, hint)) = limit {
        sink.problem(Some(row), Some(col.name), message, Some(hint));
        return None;
    }
    let bad = |what: &str| Err(format!("`{}` is not a {what}", truncate(t)));
    let read: Result<Typed, String> = match col.ty {
        ColumnType::Text | ColumnType::TextList => Ok(Typed::Text),
        ColumnType::Date => date_days(t).map(Typed::Date).map_or_else(|| bad("date"), Ok),
        ColumnType::Timestamp => match rfc3339_micros(t) {
            Some(micros) => Ok(Typed::Instant(micros)),
            None => match DateTime::parse_from_rfc3339(t) {
                Ok(d) => Ok(Typed::Instant(d.timestamp_micros())),
                Err(_)
                    if chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").is_ok()
                        || chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").is_ok() =>
                {
                    Err(format!("`{t}` has no time zone, so the instant is ambiguous"))
                }
                Err(_) => bad("timestamp"),
            },
        },
        ColumnType::Bool => {
            if ["true", "yes", "1"].iter().any(|b| t.eq_ignore_ascii_case(b)) {
                Ok(Typed::Bool(true))
            } else if ["false", "no", "0"].iter().any(|b| t.eq_ignore_ascii_case(b)) {
                Ok(Typed::Bool(false))
            } else {
                bad("boolean")
            }
        }
        ColumnType::Int => match t.parse::<i64>() {
            Ok(n) => match col.range {
                Some((lo, hi)) if n < lo || n > hi => Err(format!("{n} is outside {lo} to {hi}")),
                _ => Ok(Typed::Int(n)),
            },
            Err(_) => bad("whole number"),
        },
    };
    let read = match read {
        Ok(read) => read,
        Err(message) => {
            sink.problem(
                Some(row),
                Some(col.name),
                message,
                Some(format!("write a {}", col.ty.label())),
            );
            return None;
        }
    };
    // The allowed values are lower case, so this is `contains(lower-cased t)` without a copy.
    if !col.allowed.is_empty() && !col.allowed.iter().any(|a| a.eq_ignore_ascii_case(t)) {
        sink.problem(
            Some(row),
            Some(col.name),
            format!("`{}` is not an allowed value", truncate(t)),
            Some(format!("use one of: {}", col.allowed.join(", "))),
        );
        return None;
    }
    Some(read)
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Checks one record against the table; columns in `absent` were already reported missing from
/// the header and are not reported again per row. `get(i, name)` gives the value of the table's
/// `i`th column, named `name`, or `None` when it is absent or blank; a CSV reader lends it from the
/// record, the others hand over their own text.
fn check_record<'v>(
    sink: &mut Sink<'_>,
    table: &Table,
    row: u64,
    absent: &BTreeSet<&str>,
    get: impl Fn(usize, &str) -> Option<Cow<'v, str>>,
) {
    let mut values = Vec::with_capacity(table.columns.len());
    if check_values(sink, table, row, absent, get, &mut values)
        && let Some(emit) = sink.emit.as_mut()
    {
        emit(row, values.into_iter().map(|v| v.map(Cow::into_owned)).collect());
    }
}

/// Checks one record like [`check_record`], putting its normalised values in `values` (cleared
/// first; borrowed from the record where they can be); returns whether the record is valid.
fn check_values<'v>(
    sink: &mut Sink<'_>,
    table: &Table,
    row: u64,
    absent: &BTreeSet<&str>,
    get: impl Fn(usize, &str) -> Option<Cow<'v, str>>,
    values: &mut Vec<Option<Cow<'v, str>>>,
) -> bool {
    values.clear();
    each_value(sink, table, row, absent, get, |col, v, _| {
        values.push(v.map(|v| normalise_value(col, v)));
    })
}

/// Checks one record like [`check_values`], putting its values in `cells` read in their columns'
/// types ([`Cell`]): what a columnar copy is built from.
fn check_cells<'v>(
    sink: &mut Sink<'_>,
    table: &Table,
    row: u64,
    absent: &BTreeSet<&str>,
    get: impl Fn(usize, &str) -> Option<Cow<'v, str>>,
    cells: &mut Vec<Option<Cell<'v>>>,
) -> bool {
    cells.clear();
    each_value(sink, table, row, absent, get, |col, v, typed| {
        cells.push(v.map(|v| match typed {
            Some(Typed::Date(days)) => Cell::Date(days),
            Some(Typed::Instant(micros)) => Cell::Instant(micros),
            Some(Typed::Bool(b)) => Cell::Bool(b),
            Some(Typed::Int(n)) => Cell::Int(n),
            // Text, or a value already reported invalid (the row is not kept).
            Some(Typed::Text) | None => Cell::Text(normalise_value(col, v)),
        }));
    })
}

/// Checks each of a record's values in the table's column order and hands it to `put` with what
/// [`check_cell`] read (`None` for a missing value, or an invalid one, which is reported); returns
/// whether every value is valid and every required one present.
fn each_value<'v>(
    sink: &mut Sink<'_>,
    table: &Table,
    row: u64,
    absent: &BTreeSet<&str>,
    get: impl Fn(usize, &str) -> Option<Cow<'v, str>>,
    mut put: impl FnMut(&Column, Option<Cow<'v, str>>, Option<Typed>),
) -> bool {
    let mut valid = true;
    for (i, col) in table.columns.iter().enumerate() {
        match get(i, col.name) {
            None => {
                if col.required {
                    valid = false;
                    if !absent.contains(col.name) {
                        sink.problem(
                            Some(row),
                            Some(col.name),
                            "required value is missing".into(),
                            Some(format!("every row needs a value here: {}", col.ty.label())),
                        );
                    }
                }
                put(col, None, None);
            }
            Some(v) => {
                let typed = check_cell(sink, row, col, &v);
                valid &= typed.is_some();
                put(col, Some(v), typed);
            }
        }
    }
    valid
}

fn header_problems(sink: &mut Sink<'_>, table: &Table, names: &[String], row: Option<u64>) {
    let present: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    for col in table.columns.iter().filter(|c| c.required) {
        if !present.contains(col.name) {
            sink.problem(
                row,
                Some(col.name),
                format!("required column is missing from table `{}`", table.name),
                Some(format!(
                    "the `{}` table needs: {}",
                    table.name,
                    table
                        .columns
                        .iter()
                        .filter(|c| c.required)
                        .map(|c| c.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
        }
    }
    let mut seen = BTreeSet::new();
    for n in names {
        if !seen.insert(n.as_str()) {
            sink.problem(
                row,
                Some(n),
                "column appears twice".into(),
                Some("remove or rename one of them".into()),
            );
        }
    }
    sink.out.extra_columns = names
        .iter()
        .filter(|n| table.column(n).is_none() && !n.is_empty())
        .map(|n| format!("x_{n}"))
        .collect();
}

/// Reads and validates a canonical file of `format` for `table`. I/O errors and garbage become problems.
pub fn read(input: impl Read, format: Format, table: &Table, file: &str) -> Outcome {
    read_rows(input, format, table, file, None)
}

/// Reads a file like [`read`] and hands each valid, normalised row to `emit`.
pub fn read_rows<'a>(
    input: impl Read,
    format: Format,
    table: &Table,
    file: &'a str,
    emit: Option<&'a mut RowFn<'a>>,
) -> Outcome {
    let mut sink = Sink {
        file,
        out: Outcome::default(),
        emit,
    };
    let guarded = LineGuard::new(input);
    match format {
        Format::Csv => read_csv(&mut sink, guarded, table, Lines::Start),
        Format::Json => read_json(&mut sink, guarded, table),
        Format::Ndjson => read_ndjson(&mut sink, guarded, table),
        Format::Xlsx => read_xlsx(&mut sink, guarded, table),
        Format::Parquet => read_parquet(&mut sink, guarded, table),
    }
    sink.out
}

/// How a CSV's header lays a table out: the required columns it lacks (reported once, from the
/// header, and not again on every row) and where each of the table's columns is in a record.
struct CsvLayout<'t> {
    absent: BTreeSet<&'t str>,
    /// The first header naming each of the table's columns.
    place: Vec<Option<usize>>,
}

impl<'t> CsvLayout<'t> {
    /// Reads the header and reports its problems, at the line `line_of` gives its position (past
    /// any blank lines before it); `None` when it cannot be read (also reported).
    fn read<R: Read>(
        sink: &mut Sink<'_>,
        rdr: &mut csv::Reader<R>,
        table: &'t Table,
        line_of: &mut dyn FnMut(&csv::Position) -> u64,
    ) -> Option<CsvLayout<'t>> {
        let (headers, row): (Vec<String>, u64) = match rdr.headers() {
            Ok(h) => (h.iter().map(normalise_name).collect(), h.position().map_or(1, line_of)),
            Err(e) => {
                csv_error(sink, &e);
                return None;
            }
        };
        header_problems(sink, table, &headers, Some(row));
        Some(CsvLayout {
            absent: table
                .columns
                .iter()
                .filter(|c| c.required && !headers.iter().any(|h| h == c.name))
                .map(|c| c.name)
                .collect(),
            place: table
                .columns
                .iter()
                .map(|c| {
                    headers
                        .iter()
                        .position(|h| table.column(h).is_some_and(|hc| hc.name == c.name))
                })
                .collect(),
        })
    }

    /// The value of the table's `i`th column in `record`, lent; `None` when absent or blank.
    fn value<'r>(&self, record: &'r csv::StringRecord, i: usize) -> Option<Cow<'r, str>> {
        self.place
            .get(i)
            .copied()
            .flatten()
            .and_then(|p| record.get(p))
            .filter(|v| !trimmed(v).is_empty())
            .map(Cow::Borrowed)
    }
}

fn read_csv(sink: &mut Sink<'_>, input: impl Read, table: &Table, lines: Lines) {
    match lines {
        Lines::AsRead => read_csv_lines(sink, input, table, |p| p.line()),
        Lines::Start => {
            let passed = Passed::default();
            let input = Marked {
                inner: input,
                at: 0,
                passed: std::rc::Rc::clone(&passed),
            };
            let mut starts = StreamStarts {
                passed,
                scanned: 0,
                ends: 0,
                after_cr: false,
            };
            read_csv_lines(sink, input, table, |p| starts.line(p.byte()));
        }
    }
}

/// Reads a CSV in one pass, numbering each record with `line_of` its position.
fn read_csv_lines(
    sink: &mut Sink<'_>,
    input: impl Read,
    table: &Table,
    mut line_of: impl FnMut(&csv::Position) -> u64,
) {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let Some(layout) = CsvLayout::read(sink, &mut rdr, table, &mut line_of) else {
        return;
    };
    let mut record = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                sink.out.rows += 1;
                let line = record.position().map_or(sink.out.rows + 1, &mut line_of);
                check_record(sink, table, line, &layout.absent, |i, _| layout.value(&record, i));
            }
            Err(e) => {
                let row = e.position().map(&mut line_of);
                csv_error_at(sink, row, &e);
                break;
            }
        }
    }
}

/// A canonical CSV read in one pass with its records numbered as `lines` says (what [`read`] gives
/// is [`Lines::Start`]): the reference the block reader is compared with.
#[doc(hidden)]
pub fn read_csv_numbered<'a>(
    input: impl Read,
    table: &Table,
    file: &'a str,
    lines: Lines,
    emit: Option<&'a mut RowFn<'a>>,
) -> Outcome {
    let mut sink = Sink {
        file,
        out: Outcome::default(),
        emit,
    };
    read_csv(&mut sink, LineGuard::new(input), table, lines);
    sink.out
}

/// Records per chunk of a CSV read side by side: a columnar copy's row group, so a chunk's valid
/// rows are one row group when every row is valid (and the copy is the same bytes as one written in
/// a single pass).
pub const CHUNK_RECORDS: usize = crate::columnar::BATCH_ROWS;

/// Where the valid rows of a CSV read in chunks go ([`read_csv_chunked`]): each chunk's rows are
/// pushed, as they are checked, into a part started for that chunk on the worker checking it, and
/// the finished part is handed back to the reading thread.
pub trait Chunks: Sync {
    /// A chunk's rows being gathered.
    type Part;
    /// A finished chunk.
    type Done: Send;
    /// Starts the part for the chunk at `index` (0 for the file's first), of `rows` records.
    fn start(&self, index: usize, rows: usize) -> Self::Part;
    /// Adds a valid row: its line and its values in the table's column order, read in their types
    /// (text normalised as for [`RowFn`]).
    fn push(&self, part: &mut Self::Part, row: u64, values: &[Option<Cell<'_>>]);
    /// Finishes a chunk whose rows were all valid.
    fn finish(&self, part: Self::Part) -> Self::Done;
}

/// What checking one chunk of records came to, on the worker that checked it.
struct Checked<T> {
    index: usize,
    problems: Vec<Problem>,
    more: u64,
    done: Option<T>,
    records: Vec<csv::StringRecord>,
}

/// Bytes of CSV text a worker parses at a time.
pub const BLOCK_BYTES: usize = 4 << 20;

/// Bytes asked of the input at a time.
const READ_BYTES: usize = 1 << 20;

/// Why reading a CSV stopped before its end, and at which line.
struct Stop {
    row: Option<u64>,
    error: StopError,
}

enum StopError {
    /// The CSV reader's error (text that is not UTF-8, a line too long, the input failing).
    Csv(csv::Error),
    /// A record with another number of fields than the header.
    Fields { len: usize, expected: usize },
    /// The CSV reader failed (panicked) on the text.
    Refused,
}

/// A block of whole records, cut from the text on the reading thread and parsed on a worker.
struct Block {
    index: usize,
    bytes: Vec<u8>,
    /// Where the block's records start in `bytes` (past the header, in the first block).
    start: usize,
    /// Line ends before the block in the file.
    offset: u64,
    /// The line the block's first record is numbered with when it is not `offset + 1`: after a
    /// block of nothing but line ends, the line just after the record before them.
    first_line: Option<u64>,
    /// How records are numbered; for [`Lines::Start`], the line ends before the block
    /// ([`line_ends`]) and whether the byte before it is a `\r`.
    lines: Lines,
    ends_before: u64,
    after_cr: bool,
    /// Records to parse into (reused: their buffers are already grown).
    records: Vec<csv::StringRecord>,
}

/// A block parsed: its records (the first `len` read), and why it stopped early, if it did.
struct Parsed {
    index: usize,
    records: Vec<csv::StringRecord>,
    len: usize,
    stop: Option<Stop>,
    bytes: Vec<u8>,
}

/// The block to cut next on the reading thread: its text so far and where it ends, whether it
/// holds a record (not only line ends), where its records start, and what [`Block`] numbers its
/// records from.
struct NextBlock {
    bytes: Vec<u8>,
    end: usize,
    holds_records: bool,
    start: usize,
    offset: u64,
    first_line: Option<u64>,
    ends_before: u64,
    after_cr: bool,
}

enum Job {
    Parse(Block),
    Check(usize, u64, Vec<csv::StringRecord>),
}

enum Done<T> {
    Parsed(Parsed),
    Checked(Checked<T>),
}

/// Where the last whole record of `text` ends, for text that starts where a record may start: the
/// index just past the line end that ends it (a `\r\n` ends a record at its `\r`, as the CSV reader
/// reads it, so the `\n` starts the next block), and whether anything before that point is a record
/// (not only line ends). `None` when no line end in `text` is outside quotes.
///
/// A quote opens a quoted field only at a field's start (after `,`, a line end, or at the start), a
/// quoted field ends at a quote not followed by another, and a line end inside one is part of the
/// field, exactly as the `csv` reader's defaults read them, so the blocks parse to the records the
/// whole text parses to.
fn last_record_end(text: &[u8]) -> Option<(usize, bool)> {
    let mut last_newline = None;
    let mut pos = 0;
    'scan: while let Some(rest) = text.get(pos..) {
        let Some(i) = memchr::memchr(b'"', rest) else {
            if let Some(j) = memchr::memrchr(b'\n', rest) {
                last_newline = Some(pos + j);
            }
            break;
        };
        let quote = pos + i;
        if let Some(j) = memchr::memrchr(b'\n', rest.get(..i).unwrap_or_default()) {
            last_newline = Some(pos + j);
        }
        let opens = quote == 0 || matches!(text.get(quote - 1), Some(b',' | b'\n' | b'\r'));
        pos = quote + 1;
        if !opens {
            continue;
        }
        // Inside quotes: find the quote that closes the field (`""` is a quote in the field).
        loop {
            let Some(k) = text.get(pos..).and_then(|r| memchr::memchr(b'"', r)) else {
                break 'scan;
            };
            let at = pos + k;
            match text.get(at + 1) {
                Some(b'"') => pos = at + 2,
                Some(_) => {
                    pos = at + 1;
                    continue 'scan;
                }
                // The next byte, not read yet, says whether this quote closes the field.
                None => break 'scan,
            }
        }
    }
    let end = last_newline?;
    // Back over the line ends before it, to the one that ends the record.
    let mut first = end;
    while first > 0 && matches!(text.get(first - 1), Some(b'\n' | b'\r')) {
        first -= 1;
    }
    if first == 0 {
        Some((end + 1, false))
    } else {
        Some((first + 1, true))
    }
}

/// A UTF-8 byte-order mark: the `csv` reader drops one at the very start of its input.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// [`last_record_end`] of a block; for the file's first block (`with_record`), past a byte-order
/// mark at its start (which the reader drops, so a quote after it opens a field) and only once the
/// block holds a record, the header, not only blank lines.
fn first_record_end(buf: &[u8], with_record: bool) -> Option<(usize, bool)> {
    let skip = if with_record && buf.starts_with(BOM) {
        BOM.len()
    } else {
        0
    };
    last_record_end(buf.get(skip..).unwrap_or_default())
        .map(|(end, holds)| (end + skip, holds))
        .filter(|&(_, holds)| holds || !with_record)
}

/// Reads `input` into `buf` until it holds at least `want` bytes and a whole record (with
/// `with_record`, one that is not only blank lines), or the input ends or fails; returns where the block ends (all of `buf` at the end of the input) and whether
/// it holds any record, or `None` when it holds no whole record.
fn fill_block<R: Read>(
    input: &mut LineGuard<R>,
    buf: &mut Vec<u8>,
    want: usize,
    with_record: bool,
    ended: &mut bool,
    failed: &mut Option<std::io::Error>,
) -> Option<(usize, bool)> {
    // A record longer than a block (a quoted field over many lines) is looked for again only once
    // the text has doubled, so finding its end reads the text a bounded number of times.
    let mut look_at = want;
    loop {
        if *ended {
            return (!buf.is_empty()).then_some((buf.len(), true));
        }
        if failed.is_some() {
            return first_record_end(buf, with_record);
        }
        if buf.len() >= look_at {
            // The first block must hold the header, not only the blank lines before it.
            if let Some(end) = first_record_end(buf, with_record) {
                return Some(end);
            }
            look_at = buf.len().saturating_mul(2);
        }
        let len = buf.len();
        buf.resize(len + READ_BYTES.min(want), 0);
        match input.read(buf.get_mut(len..).unwrap_or_default()) {
            Ok(0) => {
                buf.truncate(len);
                *ended = true;
            }
            Ok(n) => buf.truncate(len + n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(len),
            Err(e) => {
                buf.truncate(len);
                *failed = Some(e);
            }
        }
    }
}

/// Parses a block's records, numbering each with its line in the file, and checks that each has as
/// many fields as the header.
fn parse_block(block: Block, fields: usize) -> Parsed {
    let Block {
        index,
        bytes,
        start,
        offset,
        first_line,
        lines,
        ends_before,
        after_cr,
        mut records,
    } = block;
    let mut len = 0;
    let mut stop = None;
    {
        // The reader drops a byte-order mark at the start of its input, which the one-pass reader
        // reads as text in the middle of a file: a block starting with one is read after a line
        // end (a blank line, skipped), and its lines counted one less.
        let padded: Vec<u8>;
        let mut text = bytes.get(start..).unwrap_or_default();
        let mut shift = 0;
        if text.starts_with(BOM) {
            padded = [b"\n", text].concat();
            text = &padded;
            shift = 1;
        }
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(64 * 1024)
            .from_reader(text);
        let mut starts = TextStarts {
            text,
            scanned: 0,
            ends: 0,
            after_cr: after_cr && shift == 0,
            file_start: false,
        };
        loop {
            if records.len() == len {
                // Room for a record as long as the last, so most are read without growing.
                let (bytes, fields) = len
                    .checked_sub(1)
                    .and_then(|last| records.get(last))
                    .map_or((256, fields), |r| {
                        (r.as_byte_record().as_slice().len() * 2, r.len().max(fields))
                    });
                records.push(csv::StringRecord::with_capacity(bytes, fields));
            }
            let Some(record) = records.get_mut(len) else { break };
            let mut line = |at: &csv::Position| match (lines, first_line) {
                // The padding's line end is among those counted.
                (Lines::Start, _) => (ends_before + starts.ends_before(at.byte()) + 1).saturating_sub(shift),
                (Lines::AsRead, Some(first)) if len == 0 => first,
                (Lines::AsRead, _) if len == 0 => offset + 1,
                (Lines::AsRead, _) => at.line() + offset - shift,
            };
            match rdr.read_record(record) {
                Ok(true) => {
                    let mut at = record.position().cloned().unwrap_or_else(csv::Position::new);
                    let row = line(&at);
                    at.set_line(row);
                    record.set_position(Some(at));
                    if record.len() != fields {
                        stop = Some(Stop {
                            row: Some(row),
                            error: StopError::Fields {
                                len: record.len(),
                                expected: fields,
                            },
                        });
                        break;
                    }
                    len += 1;
                }
                Ok(false) => break,
                Err(e) => {
                    let at = e.position().cloned();
                    let row = at.as_ref().map(&mut line);
                    // The one-pass reader reports a row of the wrong width before text that is not
                    // UTF-8: the record is read again as bytes to know which it is.
                    let width = match (e.kind(), &at) {
                        (csv::ErrorKind::Utf8 { .. }, Some(at)) => usize::try_from(at.byte())
                            .ok()
                            .and_then(|b| text.get(b..))
                            .and_then(|rest| {
                                let mut raw = csv::ByteRecord::new();
                                csv::ReaderBuilder::new()
                                    .has_headers(false)
                                    .flexible(true)
                                    .from_reader(rest)
                                    .read_byte_record(&mut raw)
                                    .ok()
                                    .map(|_| raw.len())
                            }),
                        _ => None,
                    };
                    stop = Some(Stop {
                        row,
                        error: match width {
                            Some(len) if len != fields => StopError::Fields { len, expected: fields },
                            _ => StopError::Csv(e),
                        },
                    });
                    break;
                }
            }
        }
    }
    Parsed {
        index,
        records,
        len,
        stop,
        bytes,
    }
}

/// Reads a canonical CSV like [`read_rows`], parsing and checking it on one worker per core: this
/// thread reads the text and cuts it into blocks of whole records ([`BLOCK_BYTES`] or so, cut where
/// a record ends, never inside a quoted field), each worker parses a block, and the records, in file
/// order, are cut again into chunks of [`CHUNK_RECORDS`]; each worker checks a chunk and, while no
/// problem has been found, pushes its valid, normalised rows into a part of `chunks` (on the same
/// thread, as they are checked, so no chunk's rows are held twice) and finishes it; the finished
/// parts are handed to `each` on this thread in file order, and only while the file has no problem.
/// The outcome (rows and their lines, problems in file order, the problems beyond [`MAX_PROBLEMS`]
/// counted) is what [`read_rows`] gives for the same file, and the chunks are the same records.
pub fn read_csv_chunked<C: Chunks>(
    input: impl Read,
    table: &Table,
    file: &str,
    chunks: &C,
    each: &mut dyn FnMut(C::Done),
    lines: Lines,
) -> Outcome {
    read_csv_in_blocks(input, table, file, chunks, each, BLOCK_BYTES, lines)
}

/// [`read_csv_chunked`] with blocks of about `block_bytes` (at least a record each): a test cuts
/// small ones to have many blocks in a small file.
#[doc(hidden)]
pub fn read_csv_in_blocks<C: Chunks>(
    input: impl Read,
    table: &Table,
    file: &str,
    chunks: &C,
    each: &mut dyn FnMut(C::Done),
    block_bytes: usize,
    lines: Lines,
) -> Outcome {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Mutex, PoisonError, mpsc};

    let block_bytes = block_bytes.max(1);
    let mut guarded = LineGuard::new(input);
    let mut sink = Sink {
        file,
        out: Outcome::default(),
        emit: None,
    };
    // The first block holds the header, read here.
    let (mut ended, mut read_failed) = (false, None);
    let mut buf = Vec::new();
    let first = fill_block(&mut guarded, &mut buf, block_bytes, true, &mut ended, &mut read_failed);
    let Some((first_end, _)) = first else {
        // Not even a whole header: the reader's own error, as reading it in one pass gives.
        match read_failed {
            Some(e) => csv_error(&mut sink, &csv::Error::from(e)),
            None => header_problems(&mut sink, table, &[], Some(1)),
        }
        return sink.out;
    };
    let mut header = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(buf.get(..first_end).unwrap_or_default());
    let Some(layout) = CsvLayout::read(
        &mut sink,
        &mut header,
        table,
        &mut line_numbers(buf.get(..first_end).unwrap_or_default(), lines),
    ) else {
        return sink.out;
    };
    let fields = header.headers().map_or(0, csv::StringRecord::len);
    let after_header = usize::try_from(header.position().byte())
        .unwrap_or(first_end)
        .min(first_end);
    let header_lines = header.position().line().saturating_sub(1);
    drop(header);
    let head = buf.get(..after_header).unwrap_or_default();
    let (header_ends, after_cr) = (line_ends(head, false), head.last() == Some(&b'\r'));

    // Once any problem is known the file's rows are not kept, so workers stop handing them on.
    let failed = AtomicBool::new(!sink.out.problems.is_empty());
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let check = |index: usize, first_row: u64, records: Vec<csv::StringRecord>| -> Checked<C::Done> {
        let mut part = chunks.start(index, records.len());
        let out = {
            let mut sink = Sink {
                file,
                out: Outcome::default(),
                emit: None,
            };
            // One row's values at a time, borrowed from its record where they are normal already.
            let mut values = Vec::with_capacity(table.columns.len());
            for (k, record) in records.iter().enumerate() {
                let line = record.position().map_or(first_row + k as u64 + 2, |p| p.line());
                let get = |i: usize, _: &str| layout.value(record, i);
                if check_cells(&mut sink, table, line, &layout.absent, get, &mut values)
                    && !failed.load(Ordering::Relaxed)
                {
                    chunks.push(&mut part, line, &values);
                }
            }
            sink.out
        };
        if !out.problems.is_empty() {
            failed.store(true, Ordering::Relaxed);
        }
        let done = (!failed.load(Ordering::Relaxed)).then(|| chunks.finish(part));
        Checked {
            index,
            problems: out.problems,
            more: out.more_problems,
            done,
            records,
        }
    };
    let (jobs, queue) = mpsc::sync_channel::<Job>(workers);
    let queue = Mutex::new(queue);
    let (results, arrived) = mpsc::channel::<Done<C::Done>>();
    let (mut stop, mut read_stop): (Option<Stop>, Option<Stop>) = (None, None);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (queue, results, check, failed) = (&queue, results.clone(), &check, &failed);
            scope.spawn(move || {
                loop {
                    let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    let Ok(job) = job else { break };
                    // A reader library that panics stops this file with a problem, never the process.
                    let done = match job {
                        Job::Parse(block) => {
                            let index = block.index;
                            let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                                parse_block(block, fields)
                            }));
                            Done::Parsed(parsed.unwrap_or_else(|_| Parsed {
                                index,
                                records: Vec::new(),
                                len: 0,
                                stop: Some(Stop {
                                    row: None,
                                    error: StopError::Refused,
                                }),
                                bytes: Vec::new(),
                            }))
                        }
                        Job::Check(index, first_row, records) => {
                            let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                                check(index, first_row, records)
                            }));
                            Done::Checked(checked.unwrap_or_else(|_| {
                                failed.store(true, Ordering::Relaxed);
                                Checked {
                                    index,
                                    problems: vec![crate::connectors::refused_by_reader(file, "canonical-csv")],
                                    more: 0,
                                    done: None,
                                    records: Vec::new(),
                                }
                            }))
                        }
                    };
                    if results.send(done).is_err() {
                        break;
                    }
                }
            });
        }
        drop(results);
        // Blocks parsed and chunks checked but not yet taken, by index; each taken strictly in order.
        let mut parsed: std::collections::BTreeMap<usize, Parsed> = std::collections::BTreeMap::new();
        let mut checked: std::collections::BTreeMap<usize, Checked<C::Done>> = std::collections::BTreeMap::new();
        // Records to reuse, and the chunk being filled.
        let mut spare: Vec<csv::StringRecord> = Vec::new();
        let mut spare_bytes: Vec<Vec<u8>> = Vec::new();
        let mut filling: Vec<csv::StringRecord> = Vec::with_capacity(CHUNK_RECORDS);
        let mut empty_chunks: Vec<Vec<csv::StringRecord>> = Vec::new();
        let (mut blocks_sent, mut blocks_taken, mut chunks_sent, mut chunks_merged) = (0usize, 0usize, 0usize, 0usize);
        let mut chunked_rows = 0u64;
        let mut per_block = 0usize;
        // The next block: its bytes so far, where it ends, whether it holds a record (not only line
        // ends), where its records start, the line ends before it, and the line its first record
        // takes when that is not the next.
        let mut next = Some(NextBlock {
            bytes: buf,
            end: first_end,
            holds_records: true,
            start: after_header,
            offset: header_lines,
            first_line: None,
            ends_before: header_ends,
            after_cr,
        });
        let mut reading = true;
        loop {
            // Cut and send the next block while few are being parsed and few chunks wait.
            if reading && blocks_sent - blocks_taken < workers && chunks_sent - chunks_merged <= 2 * workers {
                let Some(NextBlock {
                    mut bytes,
                    end,
                    holds_records,
                    start,
                    offset,
                    first_line,
                    ends_before,
                    after_cr,
                }) = next.take()
                else {
                    reading = false;
                    continue;
                };
                let mut rest = spare_bytes.pop().unwrap_or_default();
                rest.clear();
                rest.extend_from_slice(bytes.get(end..).unwrap_or_default());
                let rest_after_cr = end.checked_sub(1).and_then(|b| bytes.get(b)) == Some(&b'\r');
                bytes.truncate(end);
                let records = spare.split_off(spare.len().saturating_sub(per_block + per_block / 8 + 16));
                // The block after this one: the rest of this read, and more.
                let cut = fill_block(
                    &mut guarded,
                    &mut rest,
                    block_bytes,
                    false,
                    &mut ended,
                    &mut read_failed,
                );
                // The line ends before the next block: all those read, less those in it.
                let (lines_before_next, ends_before_next) = match lines {
                    Lines::AsRead => (guarded.line - memchr::memchr_iter(b'\n', &rest).count() as u64, 0),
                    Lines::Start => (0, guarded.ends - line_ends(&rest, rest_after_cr)),
                };
                match cut {
                    Some((end, holds)) => {
                        // A block of only line ends leaves its first line to the block after it.
                        let carried = (!holds_records).then(|| first_line.unwrap_or(offset + 1));
                        next = Some(NextBlock {
                            bytes: rest,
                            end,
                            holds_records: holds,
                            start: 0,
                            offset: lines_before_next,
                            first_line: carried,
                            ends_before: ends_before_next,
                            after_cr: rest_after_cr,
                        });
                    }
                    None => {
                        reading = false;
                        if let Some(e) = read_failed.take() {
                            read_stop = Some(Stop {
                                row: None,
                                error: StopError::Csv(csv::Error::from(e)),
                            });
                        }
                    }
                }
                let block = Block {
                    index: blocks_sent,
                    bytes,
                    start,
                    offset,
                    first_line,
                    lines,
                    ends_before,
                    after_cr,
                    records,
                };
                if jobs.send(Job::Parse(block)).is_err() {
                    break;
                }
                blocks_sent += 1;
                continue;
            }
            if !reading && blocks_taken == blocks_sent {
                if !filling.is_empty() {
                    let chunk = std::mem::take(&mut filling);
                    let first_row = chunked_rows;
                    chunked_rows += chunk.len() as u64;
                    if jobs.send(Job::Check(chunks_sent, first_row, chunk)).is_err() {
                        break;
                    }
                    chunks_sent += 1;
                }
                if chunks_merged == chunks_sent {
                    break;
                }
            }
            let Ok(done) = arrived.recv() else { break };
            match done {
                Done::Parsed(p) => {
                    parsed.insert(p.index, p);
                }
                Done::Checked(c) => {
                    checked.insert(c.index, c);
                }
            }
            // Take the parsed blocks in order: their records fill chunks.
            while let Some(mut p) = parsed.remove(&blocks_taken) {
                blocks_taken += 1;
                if stop.is_some() {
                    // Past where the file stopped being read: not read at all.
                    spare.append(&mut p.records);
                    continue;
                }
                per_block = p.len;
                sink.out.rows += p.len as u64;
                let mut taken = p.records.drain(..p.len.min(p.records.len()));
                loop {
                    let room = CHUNK_RECORDS - filling.len();
                    filling.extend(taken.by_ref().take(room));
                    if filling.len() < CHUNK_RECORDS {
                        break;
                    }
                    let chunk = std::mem::replace(
                        &mut filling,
                        empty_chunks.pop().unwrap_or_else(|| Vec::with_capacity(CHUNK_RECORDS)),
                    );
                    let first_row = chunked_rows;
                    chunked_rows += chunk.len() as u64;
                    if jobs.send(Job::Check(chunks_sent, first_row, chunk)).is_err() {
                        break;
                    }
                    chunks_sent += 1;
                }
                drop(taken);
                spare.append(&mut p.records);
                spare_bytes.push(p.bytes);
                if let Some(s) = p.stop {
                    stop = Some(s);
                    reading = false;
                    next = None;
                }
            }
            // Merge the checked chunks in order.
            while let Some(mut c) = checked.remove(&chunks_merged) {
                chunks_merged += 1;
                for p in c.problems {
                    if sink.out.problems.len() < MAX_PROBLEMS {
                        sink.out.problems.push(p);
                    } else {
                        sink.out.more_problems += 1;
                    }
                }
                sink.out.more_problems += c.more;
                if let Some(done) = c.done
                    && sink.out.problems.is_empty()
                {
                    each(done);
                }
                spare.append(&mut c.records);
                empty_chunks.push(c.records);
            }
        }
        drop(jobs);
    });
    if let Some(s) = stop.or(read_stop) {
        stop_problem(&mut sink, s);
    }
    sink.out
}

fn stop_problem(sink: &mut Sink<'_>, stop: Stop) {
    match stop.error {
        StopError::Csv(e) => csv_error_at(sink, stop.row, &e),
        StopError::Fields { len, expected } => sink.problem(
            stop.row,
            None,
            format!("row has {len} fields but the header has {expected}"),
            Some("check for unquoted commas or a missing field".to_string()),
        ),
        StopError::Refused => {
            let problem = crate::connectors::refused_by_reader(sink.file, "canonical-csv");
            sink.problem(None, None, problem.message, problem.hint);
        }
    }
}

fn csv_error(sink: &mut Sink<'_>, e: &csv::Error) {
    csv_error_at(sink, e.position().map(csv::Position::line), e);
}

fn csv_error_at(sink: &mut Sink<'_>, row: Option<u64>, e: &csv::Error) {
    let (message, hint) = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => (
            "text is not valid UTF-8".to_string(),
            "save the file as UTF-8".to_string(),
        ),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => (
            format!("row has {len} fields but the header has {expected_len}"),
            "check for unquoted commas or a missing field".to_string(),
        ),
        csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => (
            format!("{io}"),
            "split the file or export it again; no export has lines this long".to_string(),
        ),
        csv::ErrorKind::Io(io) => (
            format!("cannot read: {io}"),
            "check the file is complete and not compressed".to_string(),
        ),
        _ => (
            format!("not valid CSV: {e}"),
            "export the file again as CSV".to_string(),
        ),
    };
    sink.problem(row, None, message, Some(hint));
}

fn json_value_text(v: &Value, ty: ColumnType) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) if ty == ColumnType::TextList => Some(
            items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(";"),
        ),
        other => Some(other.to_string()),
    }
}

fn check_object(sink: &mut Sink<'_>, table: &Table, row: u64, v: &Value, first: &mut bool) {
    let Some(obj) = v.as_object() else {
        sink.problem(
            Some(row),
            None,
            "expected a JSON object for each row".into(),
            Some("each row is an object of column names to values".into()),
        );
        return;
    };
    let keys: Vec<(String, &Value)> = obj.iter().map(|(k, v)| (normalise_name(k), v)).collect();
    if *first {
        let names: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
        let mut h = Sink {
            file: sink.file,
            out: Outcome::default(),
            emit: None,
        };
        header_problems(&mut h, table, &names, Some(row));
        // Missing columns are reported per row below; keep only duplicate-key and extra-column findings.
        sink.out.extra_columns = h.out.extra_columns;
        *first = false;
    }
    sink.out.rows += 1;
    let get = |name: &str| {
        let ty = table.column(name).map_or(ColumnType::Text, |c| c.ty);
        keys.iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| json_value_text(v, ty))
    };
    check_record(sink, table, row, &BTreeSet::new(), |_, n| get(n).map(Cow::Owned));
}

/// A reader that fails once more than [`MAX_LINE_BYTES`] are read since the last mark: one row of
/// a JSON array is parsed at a time, and no row may be larger than a line may be.
struct RowGuard<R> {
    inner: R,
    since_mark: std::rc::Rc<std::cell::Cell<usize>>,
}

impl<R: Read> Read for RowGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let run = self.since_mark.get() + n;
        self.since_mark.set(run);
        if run > MAX_LINE_BYTES + 64 * 1024 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a row is longer than {} MiB", MAX_LINE_BYTES / (1024 * 1024)),
            ));
        }
        Ok(n)
    }
}

/// Checks each element of a JSON array as it is parsed, one at a time: memory holds one row.
struct ArrayRows<'s, 'a> {
    sink: &'s mut Sink<'a>,
    table: &'s Table,
    since_mark: std::rc::Rc<std::cell::Cell<usize>>,
}

impl<'de> serde::de::Visitor<'de> for ArrayRows<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array of row objects")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut first = true;
        let mut row = 0u64;
        while let Some(item) = seq.next_element::<Value>()? {
            row += 1;
            self.since_mark.set(0);
            check_object(self.sink, self.table, row, &item, &mut first);
        }
        Ok(())
    }
}

fn read_json(sink: &mut Sink<'_>, input: impl Read, table: &Table) {
    let since_mark = std::rc::Rc::new(std::cell::Cell::new(0));
    let guarded = RowGuard {
        inner: BufReader::new(input),
        since_mark: since_mark.clone(),
    };
    let mut de = serde_json::Deserializer::from_reader(guarded);
    let rows = ArrayRows {
        sink: &mut *sink,
        table,
        since_mark,
    };
    let read = serde::Deserializer::deserialize_seq(&mut de, rows).and_then(|()| de.end());
    if let Err(e) = read {
        let (message, hint) = if e.is_data() && e.to_string().contains("a JSON array of row objects") {
            (
                "expected a JSON array of row objects".to_string(),
                "canonical JSON is `[{...}, {...}]`; use NDJSON for one object per line",
            )
        } else if e.is_io() {
            (e.to_string(), "split the row, or write NDJSON (one object per line)")
        } else {
            (
                format!("not valid JSON: {e}"),
                "export the file again; it may be truncated",
            )
        };
        sink.problem(None, None, message, Some(hint.into()));
    }
}

fn read_ndjson(sink: &mut Sink<'_>, input: impl Read, table: &Table) {
    let mut first = true;
    let mut reader = BufReader::new(input);
    let mut line = Vec::new();
    let mut n = 0u64;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                sink.problem(
                    Some(n + 1),
                    None,
                    format!("cannot read: {e}"),
                    Some("check the file is complete".into()),
                );
                break;
            }
        }
        n += 1;
        let Ok(text) = std::str::from_utf8(&line) else {
            sink.problem(
                Some(n),
                None,
                "text is not valid UTF-8".into(),
                Some("save the file as UTF-8".into()),
            );
            continue;
        };
        let text = text.trim().trim_start_matches('\u{feff}');
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(text) {
            Ok(v) => check_object(sink, table, n, &v, &mut first),
            Err(e) => sink.problem(
                Some(n),
                None,
                format!("not valid JSON: {e}"),
                Some("each line must be one complete JSON object".into()),
            ),
        }
    }
}

/// Validates records a vendor connector mapped onto `table` (column name to value) and hands each
/// valid row to `emit`, exactly as for canonical files.
pub fn read_mapped<'a>(
    table: &Table,
    file: &'a str,
    emit: Option<&'a mut RowFn<'a>>,
    records: Vec<(u64, std::collections::BTreeMap<&'static str, Option<String>>)>,
) -> Outcome {
    let mut sink = Sink {
        file,
        out: Outcome::default(),
        emit,
    };
    for (row, rec) in records {
        sink.out.rows += 1;
        let get = |name: &str| rec.get(name).cloned().flatten().filter(|v| !v.trim().is_empty());
        check_record(&mut sink, table, row, &BTreeSet::new(), |_, n| get(n).map(Cow::Owned));
    }
    sink.out
}

/// The largest Parquet file read (it is read whole: its directory is at the end).
pub const MAX_PARQUET_BYTES: u64 = 1024 * 1024 * 1024;

/// Reads a Parquet file's column names from its footer.
pub fn parquet_columns(bytes: Vec<u8>) -> Result<Vec<String>, String> {
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .map_err(|e| format!("not a readable Parquet file ({e})"))?;
    Ok(builder
        .schema()
        .fields()
        .iter()
        .map(|f| normalise_name(f.name()))
        .collect())
}

/// Reads a whole binary file (one that must be seen entire to be read), at most `max` bytes and one
/// more so the caller can tell it was too large.
fn read_capped(sink: &mut Sink<'_>, input: &mut impl Read, max: u64) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    match input.take(max + 1).read_to_end(&mut buf) {
        Ok(_) => Some(buf),
        Err(e) => {
            sink.problem(
                None,
                None,
                format!("cannot read: {e}"),
                Some("check the file is complete".into()),
            );
            None
        }
    }
}

fn read_parquet(sink: &mut Sink<'_>, mut input: impl Read, table: &Table) {
    use arrow::datatypes::DataType;
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    let Some(buf) = read_capped(sink, &mut input, MAX_PARQUET_BYTES) else {
        return;
    };
    if buf.len() as u64 > MAX_PARQUET_BYTES {
        sink.problem(
            None,
            None,
            format!("the file is larger than {} MiB", MAX_PARQUET_BYTES / (1024 * 1024)),
            Some("split it into smaller files".into()),
        );
        return;
    }
    let (reader, roots) = match open_parquet(bytes::Bytes::from(buf), table) {
        Ok(opened) => opened,
        Err((message, hint)) => {
            sink.problem(None, None, message, Some(hint));
            return;
        }
    };
    header_problems(sink, table, &roots, None);
    let headers: Vec<String> = arrow::record_batch::RecordBatchReader::schema(&reader)
        .fields()
        .iter()
        .map(|f| normalise_name(f.name()))
        .collect();
    let absent: BTreeSet<&str> = table
        .columns
        .iter()
        .filter(|c| c.required && !headers.iter().any(|h| h == c.name))
        .map(|c| c.name)
        .collect();
    let opts = FormatOptions::default().with_null("");
    let mut row = 0u64;
    for batch in reader {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                sink.problem(
                    Some(row + 1),
                    None,
                    format!("cannot read a row group ({e})"),
                    Some("write the file again".into()),
                );
                return;
            }
        };
        // A zoned timestamp stores UTC instants; drop the zone name so it formats as UTC without a
        // time-zone database (the `Z` is added below).
        let columns: Vec<arrow::array::ArrayRef> = batch
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                DataType::Timestamp(unit, Some(_)) => c
                    .to_data()
                    .into_builder()
                    .data_type(DataType::Timestamp(*unit, None))
                    .build()
                    .map(arrow::array::make_array)
                    .unwrap_or_else(|_| c.clone()),
                _ => c.clone(),
            })
            .collect();
        let mut fmts = Vec::with_capacity(columns.len());
        for c in &columns {
            match ArrayFormatter::try_new(c.as_ref(), &opts) {
                Ok(f) => fmts.push(f),
                Err(e) => {
                    sink.problem(None, None, format!("a column cannot be read as text ({e})"), None);
                    return;
                }
            }
        }
        let types: Vec<DataType> = columns.iter().map(|c| c.data_type().clone()).collect();
        for r in 0..batch.num_rows() {
            row += 1;
            sink.out.rows += 1;
            let get = |name: &str| -> Option<String> {
                let i = headers.iter().position(|h| h == name)?;
                let text = fmts.get(i)?.value(r).to_string();
                if text.is_empty() {
                    return None;
                }
                Some(match types.get(i) {
                    // Parquet timestamps without a zone are UTC by convention.
                    Some(DataType::Timestamp(_, None)) => format!("{text}Z"),
                    Some(DataType::List(_) | DataType::LargeList(_)) => text
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .split(", ")
                        .collect::<Vec<_>>()
                        .join(";"),
                    _ => text,
                })
            };
            check_record(sink, table, row, &absent, |_, n| get(n).map(Cow::Owned));
        }
    }
}

/// Opens a Parquet file to read the top-level columns `table` names, after [`parquet_fits`] has
/// bounded what they decode to; returns the reader and every top-level column's name.
fn open_parquet(
    buf: bytes::Bytes,
    table: &Table,
) -> Result<(parquet::arrow::arrow_reader::ParquetRecordBatchReader, Vec<String>), (String, String)> {
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(buf.clone())
        .map_err(unreadable_parquet)?;
    // Only the top-level columns the table names are decoded: the others are never read, so what
    // they hold (nested values, lists of any length) costs nothing.
    let roots: Vec<String> = builder
        .parquet_schema()
        .root_schema()
        .get_fields()
        .iter()
        .map(|f| normalise_name(f.name()))
        .collect();
    let keep: Vec<usize> = roots
        .iter()
        .enumerate()
        .filter(|(_, h)| table.column(h).is_some())
        .map(|(i, _)| i)
        .collect();
    // What a file decodes to is bounded before any row is decoded: its pages may declare only so
    // many values for their size, and a dictionary no value longer than a cell.
    parquet_fits(buf, &keep)?;
    let mask = parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), keep.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(8192)
        .build()
        .map_err(unreadable_parquet)?;
    Ok((reader, roots))
}

fn unreadable_parquet(e: parquet::errors::ParquetError) -> (String, String) {
    (
        format!("not a readable Parquet file ({e})"),
        "write the file again; it may be truncated".to_string(),
    )
}

/// The most values a Parquet file's pages may declare for each byte the file holds. Real exports
/// hold well under one value per byte (an id or an instant on every row does not compress away);
/// run-length encoding lets a few hundred bytes declare fifty million rows, each of which would
/// then be checked.
pub const MAX_PARQUET_VALUES_PER_BYTE: u64 = 16;
/// What any Parquet file may declare, however small.
pub const MIN_PARQUET_VALUES: u64 = 1_000_000;

/// Bounds what a Parquet file decodes to before a row is decoded: the rows its footer declares and
/// the values the pages of the columns read (`keep`, top-level column indexes) declare, against
/// [`MAX_PARQUET_VALUES_PER_BYTE`], and every byte-array dictionary value against
/// [`MAX_CELL_BYTES`]. Page headers are read and page bodies skipped, except dictionaries.
fn parquet_fits(bytes: bytes::Bytes, keep: &[usize]) -> Result<(), (String, String)> {
    use parquet::basic::Type;
    use parquet::column::page::Page;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let size = bytes.len() as u64;
    let limit = size.saturating_mul(MAX_PARQUET_VALUES_PER_BYTE).max(MIN_PARQUET_VALUES);
    let bomb = |what: &str, n: u64| {
        (
            format!(
                "the file declares {n} {what} in {size} bytes, more than {MAX_PARQUET_VALUES_PER_BYTE} per byte \
                 (at least {MIN_PARQUET_VALUES} are always allowed): it is probably a decompression bomb"
            ),
            "write it again with the exporter's usual settings, or export the table as CSV".to_string(),
        )
    };
    let file = SerializedFileReader::new(bytes).map_err(unreadable_parquet)?;
    let rows = file.metadata().file_metadata().num_rows();
    let group_rows = file.metadata().row_groups().iter().fold(0u64, |n, g| {
        n.saturating_add(u64::try_from(g.num_rows()).unwrap_or(u64::MAX))
    });
    for declared in [u64::try_from(rows).unwrap_or(u64::MAX), group_rows] {
        if declared > limit {
            return Err(bomb("rows", declared));
        }
    }
    let mut values = 0u64;
    for g in 0..file.num_row_groups() {
        let group = file.get_row_group(g).map_err(unreadable_parquet)?;
        let schema = group.metadata().schema_descr_ptr();
        for c in 0..group.num_columns().min(schema.num_columns()) {
            if !keep.contains(&schema.get_column_root_idx(c)) {
                continue;
            }
            let column = group.metadata().column(c);
            let name = column.column_descr().name().to_string();
            let byte_array = column.column_type() == Type::BYTE_ARRAY;
            let mut pages = group.get_column_page_reader(c).map_err(unreadable_parquet)?;
            while let Some(page) = pages.peek_next_page().map_err(unreadable_parquet)? {
                if page.is_dict && byte_array {
                    if let Some(Page::DictionaryPage { buf, .. }) = pages.get_next_page().map_err(unreadable_parquet)? {
                        dictionary_fits(&buf, &name, g)?;
                    }
                    continue;
                }
                let declared = page.num_levels.max(page.num_rows).unwrap_or(0);
                values = values.saturating_add(u64::try_from(declared).unwrap_or(u64::MAX));
                if values > limit {
                    return Err(bomb("values", values));
                }
                pages.skip_next_page().map_err(unreadable_parquet)?;
            }
        }
    }
    Ok(())
}

/// Refuses a plain-encoded dictionary (each value a 4-byte little-endian length and its bytes) that
/// holds a value longer than [`MAX_CELL_BYTES`]: one stored value repeats on every row that names
/// it, so a file of a few kilobytes could decode to terabytes.
fn dictionary_fits(buf: &[u8], name: &str, group: usize) -> Result<(), (String, String)> {
    let mut at = 0usize;
    while let Some(len) = buf.get(at..at.saturating_add(4)) {
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if len > MAX_CELL_BYTES {
            return Err((
                format!(
                    "column `{name}` holds a value of {} KiB, longer than {} KiB (row group {})",
                    len / 1024,
                    MAX_CELL_BYTES / 1024,
                    group + 1
                ),
                "keep evidence cells short: a reference or an id, not a document".to_string(),
            ));
        }
        at = at.saturating_add(4 + len);
    }
    Ok(())
}

/// The largest workbook read.
pub const MAX_XLSX_BYTES: u64 = 64 * 1024 * 1024;
/// The most a workbook may expand to when decompressed: a guard against compression bombs.
pub const MAX_XLSX_EXPANDED: u64 = 512 * 1024 * 1024;

/// The most non-empty cells a worksheet may hold (they are held in memory while it is checked).
pub const MAX_SHEET_CELLS: usize = 20_000_000;

/// One worksheet row: its number as the spreadsheet shows it (from 1) and its cells from the
/// sheet's first used column.
pub type SheetRow = (u64, Vec<String>);

/// Reads the first worksheet of a workbook as rows of text, refusing workbooks that are too large,
/// would expand too far or declare counts they do not hold. Cells are read one at a time and only
/// rows that hold a value are kept, so memory follows what the file contains, never the sheet
/// dimensions it declares (a sheet with cells at A1 and XFD1048576 is two rows).
pub fn xlsx_rows(bytes: &[u8]) -> Result<Vec<SheetRow>, String> {
    use calamine::{DataRef, Reader, Xlsx, open_workbook_from_rs};
    if bytes.len() as u64 > MAX_XLSX_BYTES {
        return Err(format!(
            "the workbook is larger than {} MiB",
            MAX_XLSX_BYTES / (1024 * 1024)
        ));
    }
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| format!("not a readable XLSX workbook ({e})"))?;
    let mut expanded = 0u64;
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| format!("not a readable XLSX workbook ({e})"))?;
        let name = entry.name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
        if name.contains("..") || name.starts_with('/') {
            return Err(format!(
                "the workbook contains a part named `{name}`, which escapes the archive"
            ));
        }
        expanded = expanded.saturating_add(entry.size());
    }
    let bomb = |n: u64| {
        format!(
            "the workbook expands to {} MiB or more, beyond {} MiB; it is probably a compression bomb",
            n / (1024 * 1024),
            MAX_XLSX_EXPANDED / (1024 * 1024)
        )
    };
    if expanded > MAX_XLSX_EXPANDED {
        return Err(bomb(expanded));
    }
    // The sizes in the directory can lie: count what the parts really expand to, with a cap. The
    // shared-string table declares how many strings it holds, and the reader reserves room for that
    // many before reading one: a count beyond what the part could hold is refused here.
    let mut actual = 0u64;
    for i in 0..zip.len() {
        let mut part = zip
            .by_index(i)
            .map_err(|e| format!("not a readable XLSX workbook ({e})"))?;
        let shared = part
            .name()
            .is_ok_and(|n| n.to_ascii_lowercase().ends_with("sharedstrings.xml"));
        let mut head = Vec::new();
        if shared {
            (&mut part)
                .take(4096)
                .read_to_end(&mut head)
                .map_err(|e| format!("not a readable XLSX workbook ({e})"))?;
        }
        let n = std::io::copy(
            &mut (&mut part).take(MAX_XLSX_EXPANDED + 1 - actual),
            &mut std::io::sink(),
        )
        .map_err(|e| format!("not a readable XLSX workbook ({e})"))?
            + head.len() as u64;
        actual += n;
        if actual > MAX_XLSX_EXPANDED {
            return Err(bomb(actual));
        }
        if let Some(declared) = declared_count(&head, "uniqueCount")
            // The shortest string entry, `<si/>`, takes five bytes.
            && declared > n / 5 + 1
        {
            return Err(format!(
                "the workbook declares {declared} shared strings in a table of {n} bytes; it is damaged or made to exhaust memory"
            ));
        }
    }
    let mut wb: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a readable XLSX workbook ({e})"))?;
    let first = wb
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| "the workbook has no worksheet".to_string())?;
    let mut reader = wb
        .worksheet_cells_reader(&first)
        .map_err(|e| format!("cannot read worksheet `{first}` ({e})"))?;
    let text = |c: &DataRef<'_>| -> String {
        match c {
            DataRef::Empty => String::new(),
            DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
            DataRef::SharedString(s) => (*s).to_string(),
            DataRef::Bool(b) => b.to_string(),
            DataRef::Int(i) => i.to_string(),
            DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
            DataRef::Float(f) => f.to_string(),
            DataRef::DateTime(d) => match d.as_datetime() {
                // Excel stores no time zone; a cell with a time of day is read as UTC.
                Some(dt) if dt.time() == chrono::NaiveTime::MIN => dt.date().to_string(),
                Some(dt) => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                None => d.to_string(),
            },
            DataRef::Error(e) => format!("#ERROR {e:?}"),
        }
    };
    // (row, column, text) of every non-empty cell, in the order the sheet stores them.
    let mut cells: Vec<(u32, u32, String)> = Vec::new();
    while let Some(cell) = reader
        .next_cell()
        .map_err(|e| format!("cannot read worksheet `{first}` ({e})"))?
    {
        let value = text(cell.get_value());
        if value.is_empty() {
            continue;
        }
        if cells.len() >= MAX_SHEET_CELLS {
            return Err(format!(
                "worksheet `{first}` holds more than {MAX_SHEET_CELLS} cells with a value"
            ));
        }
        let (row, col) = cell.get_position();
        cells.push((row, col, value));
    }
    cells.sort_by_key(|c| (c.0, c.1));
    let Some(min_col) = cells.iter().map(|c| c.1).min() else {
        return Ok(Vec::new());
    };
    let mut rows: Vec<SheetRow> = Vec::new();
    let mut count = 0usize;
    for (row, col, value) in cells {
        let number = u64::from(row) + 1;
        if rows.last().is_none_or(|r| r.0 != number) {
            rows.push((number, Vec::new()));
        }
        let Some((_, cells_of_row)) = rows.last_mut() else {
            continue;
        };
        let at = (col - min_col) as usize;
        // Empty cells before this one are filled in; a stray cell far to the right costs one
        // string per column, so the sheet's width times its rows is bounded too.
        count += at + 1 - cells_of_row.len().min(at + 1);
        if count > MAX_SHEET_CELLS {
            return Err(format!(
                "worksheet `{first}` spans more than {MAX_SHEET_CELLS} cells from its first used column to its last"
            ));
        }
        cells_of_row.resize(at, String::new());
        cells_of_row.push(value);
    }
    Ok(rows)
}

/// The number in an XML attribute such as `uniqueCount="12"` within the first bytes of a part.
fn declared_count(head: &[u8], attribute: &str) -> Option<u64> {
    let text = String::from_utf8_lossy(head);
    let at = text.find(&format!("{attribute}=\""))? + attribute.len() + 2;
    let digits: String = text[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().or(Some(u64::MAX))
}

fn read_xlsx(sink: &mut Sink<'_>, mut input: impl Read, table: &Table) {
    let Some(bytes) = read_capped(sink, &mut input, MAX_XLSX_BYTES) else {
        return;
    };
    let rows = match xlsx_rows(&bytes) {
        Ok(r) => r,
        Err(message) => {
            sink.problem(
                None,
                None,
                message,
                Some("save the sheet again as XLSX, or export it as CSV".into()),
            );
            return;
        }
    };
    let mut it = rows.into_iter();
    let (header_row, header) = it.next().unwrap_or((1, Vec::new()));
    let headers: Vec<String> = header.iter().map(|h| normalise_name(h)).collect();
    header_problems(sink, table, &headers, Some(header_row));
    let absent: BTreeSet<&str> = table
        .columns
        .iter()
        .filter(|c| c.required && !headers.iter().any(|h| h == c.name))
        .map(|c| c.name)
        .collect();
    for (number, row) in it {
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if let Some(bad) = row.iter().position(|c| c.starts_with("#ERROR")) {
            sink.problem(
                Some(number),
                headers.get(bad).map(String::as_str),
                "the cell holds a spreadsheet error".into(),
                Some("fix the formula or replace it with its value".into()),
            );
            continue;
        }
        sink.out.rows += 1;
        let get = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|p| row.get(p))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        check_record(sink, table, number, &absent, |_, n| get(n).map(Cow::Owned));
    }
}

/// Picks the canonical table whose required columns all appear in `names`; `Err` lists the
/// candidates when none or several fit equally well.
pub fn detect_table(names: &[String]) -> Result<&'static Table, Vec<&'static str>> {
    let present: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let mut fits: Vec<(usize, &Table)> = TABLES
        .iter()
        .filter(|t| {
            t.columns
                .iter()
                .filter(|c| c.required)
                .all(|c| present.contains(c.name))
        })
        .map(|t| {
            (
                t.columns.iter().filter(|c| present.contains(c.name)).count() * 100 / t.columns.len(),
                t,
            )
        })
        .collect();
    fits.sort_by_key(|f| std::cmp::Reverse(f.0));
    match fits.as_slice() {
        [(_, t)] => Ok(t),
        [(a, t), (b, _), ..] if a > b => Ok(t),
        [] => Err(Vec::new()),
        many => Err(many.iter().map(|(_, t)| t.name).collect()),
    }
}

/// Reads just the column names of a file: the CSV header, or the keys of the first JSON object.
pub fn column_names(head: &[u8], format: Format) -> Vec<String> {
    match format {
        // A workbook's header needs the whole file; the importer reads it with `xlsx_rows`.
        Format::Xlsx | Format::Parquet => Vec::new(),
        Format::Csv => {
            let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(head);
            rdr.headers()
                .map(|h| h.iter().map(normalise_name).collect())
                .unwrap_or_default()
        }
        Format::Ndjson => {
            let first = head
                .split(|&b| b == b'\n')
                .find(|l| !l.iter().all(u8::is_ascii_whitespace))
                .unwrap_or(&[]);
            serde_json::from_slice::<Value>(first)
                .ok()
                .and_then(|v| v.as_object().map(|o| o.keys().map(|k| normalise_name(k)).collect()))
                .unwrap_or_default()
        }
        Format::Json => {
            // The head may cut the array short; take the first complete object after `[`.
            let text = String::from_utf8_lossy(head);
            let start = text.find('{');
            let mut depth = 0i32;
            let mut end = None;
            let mut in_str = false;
            let mut esc = false;
            for (i, ch) in text.char_indices().skip_while(|(i, _)| Some(*i) < start) {
                match (in_str, esc, ch) {
                    (true, true, _) => esc = false,
                    (true, false, '\\') => esc = true,
                    (true, false, '"') => in_str = false,
                    (false, _, '"') => in_str = true,
                    (false, _, '{') => depth += 1,
                    (false, _, '}') => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            match (start, end) {
                (Some(s), Some(e)) => serde_json::from_str::<Value>(text.get(s..=e).unwrap_or(""))
                    .ok()
                    .and_then(|v| v.as_object().map(|o| o.keys().map(|k| normalise_name(k)).collect()))
                    .unwrap_or_default(),
                _ => Vec::new(),
            }
        }
    }
}
