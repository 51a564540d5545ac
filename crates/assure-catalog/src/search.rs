//! Text search over the catalog's identifiers and titles.

use crate::{Criterion, ObjectiveTemplate, criteria, objective_templates};

/// A catalog entry found by a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogEntry {
    /// A trust services criterion.
    Criterion(&'static Criterion),
    /// A SOC 1 objective from the library.
    Objective(&'static ObjectiveTemplate),
}

impl CatalogEntry {
    /// Returns the entry's identifier.
    pub fn id(&self) -> &'static str {
        match self {
            CatalogEntry::Criterion(c) => c.id,
            CatalogEntry::Objective(o) => o.id,
        }
    }

    /// Returns the entry's title.
    pub fn title(&self) -> &'static str {
        match self {
            CatalogEntry::Criterion(c) => c.title,
            CatalogEntry::Objective(o) => o.title,
        }
    }
}

/// Returns the entries whose identifier, title or statement contains every word of `query`, ignoring
/// case, best matches first (identifier hits, then title hits, then statement hits; catalog order breaks ties).
pub fn search(query: &str) -> Vec<CatalogEntry> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    if words.is_empty() {
        return Vec::new();
    }
    let mut hits: Vec<(u8, usize, CatalogEntry)> = Vec::new();
    let entries = criteria()
        .iter()
        .map(CatalogEntry::Criterion)
        .chain(objective_templates().iter().map(CatalogEntry::Objective));
    for (order, entry) in entries.enumerate() {
        let id = entry.id().to_lowercase();
        let title = entry.title().to_lowercase();
        let body = match entry {
            CatalogEntry::Criterion(_) => String::new(),
            CatalogEntry::Objective(o) => o.statement.to_lowercase(),
        };
        let matches = |w: &String| id.contains(w.as_str()) || title.contains(w.as_str()) || body.contains(w.as_str());
        if !words.iter().all(matches) {
            continue;
        }
        let rank = if words.iter().all(|w| id.contains(w.as_str())) {
            0
        } else if words
            .iter()
            .all(|w| title.contains(w.as_str()) || id.contains(w.as_str()))
        {
            1
        } else {
            2
        };
        hits.push((rank, order, entry));
    }
    hits.sort_by_key(|(rank, order, _)| (*rank, *order));
    hits.into_iter().map(|(_, _, e)| e).collect()
}
