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

/// Abbreviations and everyday words people search for, with the catalog's own words for the same
/// thing (criteria titles are paraphrases that rarely use the abbreviation).
const SYNONYMS: &[(&[&str], &[&str])] = &[
    (
        &[
            "mfa",
            "2fa",
            "multi-factor",
            "multifactor",
            "authentication",
            "sso",
            "login",
            "password",
            "passwords",
        ],
        &["logical access"],
    ),
    (
        &["dr", "disaster"],
        &["recovers", "recovery", "backups", "business disruption"],
    ),
    (
        &["bcp", "continuity", "resilience"],
        &["business disruption", "recovers", "recovery"],
    ),
    (&["backup", "restore"], &["backups", "recovery"]),
    (
        &["sdlc", "development", "deploy", "deployment", "release"],
        &["changes are authorized", "development"],
    ),
    (
        &["vuln", "vulnerability", "pentest", "patching", "scanning"],
        &["vulnerabilit", "configuration changes"],
    ),
    (
        &["siem", "logging", "logs", "alerting"],
        &["monitored", "security events"],
    ),
    (&["ir", "incident", "breach"], &["incident"]),
    (&["encryption", "tls", "crypto"], &["transmission", "protected"]),
    (
        &["offboarding", "leavers", "termination", "deprovisioning"],
        &["removed when no longer needed", "access"],
    ),
    (&["onboarding", "provisioning"], &["authorized before access", "hires"]),
    (
        &["vendor", "vendors", "tprm", "third-party", "supplier", "suppliers"],
        &["vendors", "subservice"],
    ),
    (&["training", "awareness"], &["competent", "communicated internally"]),
    (&["hr", "background"], &["hires", "competent"]),
    (&["gdpr", "privacy", "pii"], &["personal information", "privacy"]),
    (&["sod", "segregation"], &["separation of duties"]),
    (&["rbac", "least-privilege"], &["least privilege", "roles"]),
    (&["malware", "antivirus", "edr"], &["malicious software"]),
    (&["board", "governance"], &["board", "oversees"]),
];

/// What a query word may match: itself and, for a known abbreviation or everyday word, the
/// catalog's own words for it.
/// A query word: the word itself, unless it is a short abbreviation (`dr`, `ir`, `mfa`, which as
/// fragments would find "address" or "required"), and the catalog's words for it.
struct Word {
    own: Option<String>,
    synonyms: Vec<String>,
}

fn word(w: &str) -> Word {
    let synonyms: Vec<String> = SYNONYMS
        .iter()
        .filter(|(words, _)| words.contains(&w))
        .flat_map(|(_, catalog)| catalog.iter().map(|c| (*c).to_string()))
        .collect();
    let own = (synonyms.is_empty() || w.chars().count() > 4).then(|| w.to_string());
    Word { own, synonyms }
}

/// Returns the entries whose identifier, title or statement contains every word of `query` (or one
/// of its synonyms: `mfa`, `2fa` and `sso` find logical access, `dr` and `bcp` recovery, `sdlc`
/// change management, ...), ignoring case, best matches first (identifier hits, then title hits,
/// then statement hits; catalog order breaks ties).
pub fn search(query: &str) -> Vec<CatalogEntry> {
    let words: Vec<Word> = query.split_whitespace().map(|w| word(&w.to_lowercase())).collect();
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
        // How well one query word matches: its own text in the id (0) or title (1), a synonym in
        // the title (2), anything in the statement (3); the entry ranks by its worst word.
        let grade = |w: &Word| -> Option<u8> {
            let own = |text: &str| w.own.as_ref().is_some_and(|o| text.contains(o.as_str()));
            let syn = |text: &str| w.synonyms.iter().any(|x| text.contains(x.as_str()));
            if own(&id) {
                Some(0)
            } else if own(&title) {
                Some(1)
            } else if syn(&title) || syn(&id) {
                Some(2)
            } else if own(&body) || syn(&body) {
                Some(3)
            } else {
                None
            }
        };
        let Some(rank) = words
            .iter()
            .map(grade)
            .try_fold(0u8, |worst, g| g.map(|g| worst.max(g)))
        else {
            continue;
        };
        hits.push((rank, order, entry));
    }
    hits.sort_by_key(|(rank, order, _)| (*rank, *order));
    hits.into_iter().map(|(_, _, e)| e).collect()
}
