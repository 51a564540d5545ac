//! Edits to `assure.toml` that keep everything else in the file (comments, order, formatting).

use assure_catalog::Category;
use chrono::NaiveDate;
use toml_edit::{Array, DocumentMut, Item, Table, value};

use crate::model::{ExamType, ReportKind};

/// The scope to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeUpdate {
    /// The reports.
    pub reports: Vec<ReportKind>,
    /// Type 1 or 2.
    pub exam_type: ExamType,
    /// The SOC 2 categories.
    pub categories: Vec<Category>,
    /// The window: a period for Type 2, a date for Type 1.
    pub window: Window,
}

/// The examination window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Type 1 date.
    AsOf(NaiveDate),
    /// Type 2 period.
    Period(NaiveDate, NaiveDate),
}

/// Why `assure.toml` could not be edited.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// The file is not valid TOML.
    #[error("`assure.toml` is not valid TOML: {0}")]
    Parse(String),
    /// `scope` exists but is not a table.
    #[error("`scope` in `assure.toml` is not a table")]
    NotATable,
}

fn date(d: NaiveDate) -> Item {
    match d.format("%Y-%m-%d").to_string().parse::<toml_edit::Datetime>() {
        Ok(dt) => value(dt),
        Err(_) => value(d.format("%Y-%m-%d").to_string()),
    }
}

/// Returns `text` with its `[scope]` table set to `update`; everything else is kept as it was.
pub fn write_scope(text: &str, update: &ScopeUpdate) -> Result<String, EditError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::Parse(e.message().to_string()))?;
    if !doc.contains_key("scope") {
        doc.insert("scope", Item::Table(Table::new()));
    }
    let scope = doc
        .get_mut("scope")
        .and_then(Item::as_table_mut)
        .ok_or(EditError::NotATable)?;
    set_examination(scope, &update.reports, update.exam_type, update.window);
    let mut cats = Array::new();
    for c in &update.categories {
        cats.push(c.as_str());
    }
    if update.reports.contains(&ReportKind::Soc2) || update.reports.contains(&ReportKind::Soc3) {
        scope.insert("categories", value(cats));
    } else {
        scope.remove("categories");
    }
    Ok(doc.to_string())
}

/// Sets a scope table's reports, type and window (a period, or a Type 1 date).
fn set_examination(scope: &mut Table, reports: &[ReportKind], exam_type: ExamType, window: Window) {
    let mut list = Array::new();
    for r in reports {
        list.push(r.as_str());
    }
    scope.insert("reports", value(list));
    scope.insert("type", value(if exam_type == ExamType::Type1 { 1 } else { 2 }));
    match window {
        Window::AsOf(d) => {
            scope.remove("period_start");
            scope.remove("period_end");
            scope.insert("as_of", date(d));
        }
        Window::Period(s, e) => {
            scope.remove("as_of");
            scope.insert("period_start", date(s));
            scope.insert("period_end", date(e));
        }
    }
}

/// Returns `text` with `[evidence] public_key` set; everything else is kept as it was.
pub fn pin_public_key(text: &str, public_key: &str) -> Result<String, EditError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::Parse(e.message().to_string()))?;
    if !doc.contains_key("evidence") {
        let mut t = Table::new();
        t.decor_mut().set_prefix("\n# The public half of the key that signs the evidence ledger. Keep it under git: a changed\n# value means the ledger would be checked against a different key.\n");
        doc.insert("evidence", Item::Table(t));
    }
    let ev = doc
        .get_mut("evidence")
        .and_then(Item::as_table_mut)
        .ok_or(EditError::NotATable)?;
    ev.insert("public_key", value(public_key));
    Ok(doc.to_string())
}

/// Returns `text` with its `[[period]]` tables replaced by `periods` (oldest first) and the scope's
/// dates, type and reports set to `current`'s, so the scope keeps reading as the current period;
/// everything else is kept as it was.
pub fn write_periods(
    text: &str,
    periods: &[crate::period::Period],
    current: &crate::period::Period,
) -> Result<String, EditError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| EditError::Parse(e.message().to_string()))?;
    let had = doc.contains_key("period");
    doc.remove("period");
    let mut tables = toml_edit::ArrayOfTables::new();
    for (i, p) in periods.iter().enumerate() {
        let mut t = Table::new();
        if i == 0 && !had {
            t.decor_mut().set_prefix(
                "\n# The examination periods, oldest first. `assure period roll` closes the current one (its\n# reports are frozen in the ledger) and opens the next; the scope above holds the current one's dates.\n",
            );
        }
        t.insert("name", value(p.name.as_str()));
        let mut reports = Array::new();
        for r in &p.reports {
            reports.push(r.as_str());
        }
        t.insert("reports", value(reports));
        t.insert("type", value(if p.exam_type == ExamType::Type1 { 1 } else { 2 }));
        t.insert("start", date(p.start));
        t.insert("end", date(p.end));
        t.insert("status", value(p.status.as_str()));
        if let Some(d) = p.report_issued_on {
            t.insert("report_issued_on", date(d));
        }
        if let Some(d) = p.closed_on {
            t.insert("closed_on", date(d));
        }
        tables.push(t);
    }
    doc.insert("period", Item::ArrayOfTables(tables));
    let scope = doc
        .get_mut("scope")
        .and_then(Item::as_table_mut)
        .ok_or(EditError::NotATable)?;
    let window = if current.exam_type == ExamType::Type1 {
        Window::AsOf(current.end)
    } else {
        Window::Period(current.start, current.end)
    };
    set_examination(scope, &current.reports, current.exam_type, window);
    Ok(doc.to_string())
}
