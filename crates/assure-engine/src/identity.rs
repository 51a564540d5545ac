//! Identity resolution: one person, several emails and usernames across systems, resolved to one
//! identity so that a second address cannot make a self-approval look independent. Values that
//! match nobody are reported, never guessed.

use std::collections::{BTreeMap, BTreeSet};

use crate::convert::TableData;

/// Columns that name a person.
const IDENTITY_COLUMNS: &[&str] = &[
    "email",
    "manager_email",
    "approver_email",
    "reviewer_email",
    "owner_email",
    "author_email",
    "approver_emails",
];

/// The known identities: every alias (lower-case) to the person's primary email.
#[derive(Debug, Clone, Default)]
pub struct Identities {
    map: BTreeMap<String, String>,
}

pub use assure_schema::results::Unresolved;

fn strip_plus(email: &str) -> Option<String> {
    let (local, domain) = email.split_once('@')?;
    let base = local.split_once('+')?.0;
    Some(format!("{base}@{domain}"))
}

impl Identities {
    /// Adds a person: the primary email and every alias (other emails, `system:username`).
    pub fn add(&mut self, email: &str, aliases: &[String]) {
        let primary = email.trim().to_lowercase();
        self.map.insert(primary.clone(), primary.clone());
        for a in aliases {
            self.map.insert(a.trim().to_lowercase(), primary.clone());
        }
    }

    /// Resolves a value: exact alias, or the same address without a `+tag`.
    pub fn resolve(&self, value: &str) -> Option<&str> {
        let v = value.trim().to_lowercase();
        self.map
            .get(&v)
            .or_else(|| strip_plus(&v).and_then(|s| self.map.get(&s)))
            .map(String::as_str)
    }

    /// Rewrites identity columns to primary emails and fills missing account emails from
    /// `system:account_id` aliases; returns the values that resolved to nobody.
    pub fn apply(&self, tables: &mut [TableData]) -> Vec<Unresolved> {
        let mut unresolved: BTreeMap<String, (BTreeSet<String>, usize)> = BTreeMap::new();
        for t in tables.iter_mut() {
            let idx: Vec<(usize, String)> = t
                .columns
                .iter()
                .enumerate()
                .filter(|(_, (n, _))| IDENTITY_COLUMNS.contains(&n.as_str()))
                .map(|(i, (n, _))| (i, n.clone()))
                .collect();
            let pos = |name: &str| t.columns.iter().position(|(n, _)| n == name);
            let (sys, acct) = (pos("system"), pos("account_id"));
            let table_name = t.name.clone();
            for row in &mut t.rows {
                // An account without an email: try `system:account_id`.
                if table_name == "accounts"
                    && let (Some(s), Some(a), Some((e, _))) = (sys, acct, idx.iter().find(|(_, n)| n == "email"))
                    && row.values.get(*e).is_some_and(Option::is_none)
                {
                    let key = format!(
                        "{}:{}",
                        row.values.get(s).cloned().flatten().unwrap_or_default(),
                        row.values.get(a).cloned().flatten().unwrap_or_default()
                    );
                    if let (Some(found), Some(slot)) = (self.resolve(&key), row.values.get_mut(*e)) {
                        *slot = Some(found.to_string());
                    }
                }
                for (i, name) in &idx {
                    let Some(Some(v)) = row.values.get(*i).cloned() else {
                        continue;
                    };
                    let parts: Vec<&str> = if name == "approver_emails" {
                        v.split(';').collect()
                    } else {
                        vec![v.as_str()]
                    };
                    let mut resolved = Vec::with_capacity(parts.len());
                    for p in parts {
                        match self.resolve(p) {
                            Some(primary) => resolved.push(primary.to_string()),
                            None => {
                                let e = unresolved.entry(p.to_string()).or_default();
                                e.0.insert(format!("{table_name}.{name}"));
                                e.1 += 1;
                                resolved.push(p.to_string());
                            }
                        }
                    }
                    resolved.sort();
                    resolved.dedup();
                    if let Some(slot) = row.values.get_mut(*i) {
                        *slot = Some(resolved.join(";"));
                    }
                }
            }
        }
        unresolved
            .into_iter()
            .map(|(value, (seen, rows))| Unresolved {
                value,
                seen_in: seen.into_iter().collect(),
                rows,
            })
            .collect()
    }
}
