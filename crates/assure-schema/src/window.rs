//! The audit window a test runs for.

use chrono::NaiveDate;

/// The audit window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First day of the period.
    pub period_start: NaiveDate,
    /// Last day of the period.
    pub period_end: NaiveDate,
    /// The date the test is run as of; evidence dated later is ignored.
    pub as_of: NaiveDate,
}
