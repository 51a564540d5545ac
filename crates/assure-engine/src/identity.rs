//! Identity resolution: one person, several emails and usernames across systems, resolved to one
//! identity so that a second address cannot make a self-approval look independent. Values that
//! match nobody are reported, never guessed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use foldhash::{HashMap, HashSet};

use arrow::array::{Array, ArrayRef, AsArray, DictionaryArray, Int32Array, ListArray, RecordBatch, StringArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef};

use crate::TableBatches;
use crate::convert::TableData;

/// Columns that name a person, and those that may (an event's target is a user, a bucket or a
/// repository): resolved when they name someone, left as they are and never reported when they do
/// not.
pub(crate) use assure_schema::tables::{
    PERSON_COLUMNS as IDENTITY_COLUMNS, SOFT_PERSON_COLUMNS as SOFT_IDENTITY_COLUMNS,
};

/// Every identity column, firm and soft.
pub(crate) fn identity_columns() -> impl Iterator<Item = &'static str> {
    IDENTITY_COLUMNS.iter().chain(SOFT_IDENTITY_COLUMNS).copied()
}

/// The identity column (firm or soft) called `name`, as a static name, if it is one.
fn identity_column(name: &str) -> Option<&'static str> {
    IDENTITY_COLUMNS
        .iter()
        .chain(SOFT_IDENTITY_COLUMNS)
        .copied()
        .find(|c| *c == name)
}

/// The known identities: every alias (lower-case) to the person's primary email.
#[derive(Debug, Clone, Default)]
pub struct Identities {
    map: BTreeMap<String, String>,
    /// Primary emails (lower-case), to tell a primary from an alias.
    primaries: BTreeSet<String>,
    /// Aliases two people claim: never resolved, so they are reported rather than merged.
    ambiguous: BTreeMap<String, BTreeSet<String>>,
    /// Full names (lower-case, single-spaced) on the roster and in `people.toml`, to the people
    /// with that name.
    names: BTreeMap<String, BTreeSet<String>>,
    /// Addresses resolved from the evidence itself by the same-name rules ([`Identities::with_names_in`]):
    /// address to person and rule.
    derived: BTreeMap<String, (String, &'static str)>,
    /// Addresses a same-name rule matched to several people: reported with the candidates.
    name_ambiguous: BTreeMap<String, BTreeSet<String>>,
}

/// A value as `Name <address>` (how git and mail write people) split into the name, lower-case and
/// single-spaced, and the address; a bare value has no name.
pub fn split_named(value: &str) -> (Option<String>, &str) {
    let v = value.trim();
    match v
        .split_once('<')
        .and_then(|(n, r)| r.split_once('>').map(|(a, _)| (n, a)))
    {
        Some((n, a)) if !a.trim().is_empty() => {
            let name = n.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
            ((!name.is_empty()).then_some(name), a.trim())
        }
        _ => (None, v),
    }
}

fn name_key(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

pub use assure_schema::results::IdentityMerge;

pub use assure_schema::results::Unresolved;

/// The login in a GitHub no-reply address.
fn github_login(email: &str) -> Option<&str> {
    let local = email.strip_suffix("@users.noreply.github.com")?;
    Some(local.split_once('+').map_or(local, |(_, login)| login)).filter(|l| !l.is_empty())
}

fn strip_plus(email: &str) -> Option<String> {
    let (local, domain) = email.split_once('@')?;
    let base = local.split_once('+')?.0;
    Some(format!("{base}@{domain}"))
}

impl Identities {
    /// Adds a person: the primary email and every alias (other emails, `system:username`).
    pub fn add(&mut self, email: &str, aliases: &[String]) {
        let primary = email.trim().to_lowercase();
        self.primaries.insert(primary.clone());
        self.map.insert(primary.clone(), primary.clone());
        for a in aliases {
            let a = a.trim().to_lowercase();
            if let Some(claimed) = self.ambiguous.get_mut(&a) {
                claimed.insert(primary.clone());
                continue;
            }
            match self.map.get(&a) {
                Some(other) if *other != primary && !self.primaries.contains(&a) => {
                    // Two people claim one alias: it names neither, and is reported.
                    let both: BTreeSet<String> = [other.clone(), primary.clone()].into_iter().collect();
                    self.map.remove(&a);
                    self.ambiguous.insert(a, both);
                }
                Some(_) => {}
                None => {
                    self.map.insert(a, primary.clone());
                }
            }
        }
    }

    /// Adds a person with their full name: the name feeds the same-name rules.
    pub fn add_named(&mut self, email: &str, name: &str, aliases: &[String]) {
        self.add(email, aliases);
        let key = name_key(name);
        if !key.is_empty() {
            self.names.entry(key).or_default().insert(email.trim().to_lowercase());
        }
    }

    /// Adds the same-name rules the evidence supports, and returns the extended identities.
    ///
    /// - `same-name`: within one source (one imported file), the addresses written with one full name
    ///   (`Jane Doe <jane@corp.example>`, `Jane Doe <jane@gmail.example>`) are one person; an address
    ///   no other rule resolves takes the person its namesakes resolve to.
    /// - `roster-name`: an address still unresolved whose name is the full name of exactly one
    ///   person on the roster or in `people.toml` is that person.
    ///
    /// When the namesakes resolve to several people, or the roster has two people with the name, the
    /// address is reported with the candidates and never merged.
    pub fn with_names_in(mut self, tables: &[TableBatches]) -> Identities {
        // Per source file, the addresses each name is written with.
        let mut groups: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for t in tables {
            for batch in &t.batches {
                let schema = batch.schema();
                // The file a row came from (lineage is a dictionary; text in tables built otherwise).
                let lineage = batch.column_by_name("_evidence");
                let dictionary = lineage.and_then(|c| c.as_dictionary_opt::<arrow::datatypes::Int32Type>());
                let dictionary_values = dictionary.and_then(|d| d.values().as_string_opt::<i32>());
                let text = lineage.and_then(|c| c.as_string_opt::<i32>());
                for (i, field) in schema.fields().iter().enumerate() {
                    if !IDENTITY_COLUMNS.contains(&field.name().as_str()) {
                        continue;
                    }
                    let Some(col) = batch.columns().get(i) else { continue };
                    let source = |r: usize| match (dictionary, dictionary_values, text) {
                        (Some(d), Some(v), _) if d.is_valid(r) => usize::try_from(d.keys().value(r))
                            .ok()
                            .filter(|k| *k < v.len())
                            .map_or(String::new(), |k| v.value(k).to_string()),
                        (_, _, Some(e)) if e.is_valid(r) => e.value(r).to_string(),
                        _ => String::new(),
                    };
                    let mut note = |r: usize, v: &str| {
                        if let (Some(name), addr) = split_named(v) {
                            groups.entry((source(r), name)).or_default().insert(addr.to_lowercase());
                        }
                    };
                    // Only a value written `Name <address>` teaches a rule: a column whose text
                    // holds no `<` anywhere is passed over without reading it value by value.
                    each_text(col, Some(b'<'), &mut note);
                }
            }
        }
        let mut derived: BTreeMap<String, (String, &'static str)> = BTreeMap::new();
        let mut ambiguous: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for ((_, name), addrs) in &groups {
            let unresolved: Vec<&String> = addrs.iter().filter(|a| self.resolve_base(a).is_none()).collect();
            if unresolved.is_empty() {
                continue;
            }
            let people: BTreeSet<String> = addrs
                .iter()
                .filter_map(|a| self.resolve_base(a).map(|(p, _)| p.to_string()))
                .collect();
            let (candidates, rule) = if people.is_empty() {
                (self.names.get(name).cloned().unwrap_or_default(), "roster-name")
            } else {
                (people, "same-name")
            };
            for a in unresolved {
                match candidates.len() {
                    0 => {}
                    1 => {
                        if let Some(p) = candidates.first() {
                            derived.entry(a.clone()).or_insert((p.clone(), rule));
                        }
                    }
                    _ => {
                        ambiguous
                            .entry(a.clone())
                            .or_default()
                            .extend(candidates.iter().cloned());
                    }
                }
            }
        }
        // An address one source names for one person and another for someone else is ambiguous.
        for a in ambiguous.keys() {
            derived.remove(a);
        }
        self.derived = derived;
        self.name_ambiguous = ambiguous;
        self
    }

    /// The same-name rules an earlier run applied, taken back from what it recorded: every value
    /// it merged by a same-name rule (`same-name`, `roster-name`), and every value a rule matched to
    /// several people. Used when only a new file's rows are resolved, so that they resolve as they
    /// would in a run over every file (see [`Identities::rules_taught_by`] for when that holds).
    pub fn with_recorded(mut self, merged: &[IdentityMerge], unresolved: &[Unresolved]) -> Identities {
        for m in merged {
            let rule = match m.rule.as_str() {
                "same-name" => "same-name",
                "roster-name" => "roster-name",
                _ => continue,
            };
            let addr = split_named(&m.value).1.to_lowercase();
            if self.resolve_base(&addr).is_none() {
                self.derived.entry(addr).or_insert((m.person.clone(), rule));
            }
        }
        for u in unresolved.iter().filter(|u| u.candidates.len() > 1) {
            let addr = split_named(&u.value).1.to_lowercase();
            self.derived.remove(&addr);
            self.name_ambiguous
                .entry(addr)
                .or_default()
                .extend(u.candidates.iter().cloned());
        }
        self
    }

    /// The addresses for which `tables` would add a same-name rule, matching them to one person or
    /// reporting them as shared: a name written beside an address the rules that need no names do
    /// not resolve, where the same file also writes that name beside an address they do resolve,
    /// or the roster has that name. The rules are made per file, so what a file teaches does not
    /// depend on any other file: when this is empty, the rows of `tables` change no other row's
    /// resolution. (An unknown person's `Name <address>`, as git writes every author, teaches
    /// nothing: the address stays unresolved and is reported.)
    pub fn rules_taught_by(&self, tables: &[TableBatches]) -> Vec<String> {
        let probe = Identities {
            derived: BTreeMap::new(),
            name_ambiguous: BTreeMap::new(),
            ..self.clone()
        }
        .with_names_in(tables);
        probe
            .derived
            .into_keys()
            .chain(probe.name_ambiguous.into_keys())
            .collect()
    }

    /// Aliases claimed by more than one person, with the people claiming them: never resolved.
    pub fn ambiguous(&self) -> &BTreeMap<String, BTreeSet<String>> {
        &self.ambiguous
    }

    /// Resolves a value and says by which rule (`primary`, `case`, `alias`, `github-noreply`,
    /// `plus-address`).
    pub fn resolve_with_rule(&self, value: &str) -> Option<(&str, &'static str)> {
        let (_, addr) = split_named(value);
        if let Some(found) = self.resolve_base(addr) {
            return Some(found);
        }
        self.derived
            .get(&addr.to_lowercase())
            .map(|(p, rule)| (p.as_str(), *rule))
    }

    /// The rules that need no names: primary email, case, alias, GitHub no-reply, plus-address.
    fn resolve_base(&self, value: &str) -> Option<(&str, &'static str)> {
        let v = value.trim().to_lowercase();
        if let Some(p) = self.map.get(&v) {
            let rule = if *p == v {
                if value.trim() == v { "primary" } else { "case" }
            } else {
                "alias"
            };
            return Some((p.as_str(), rule));
        }
        if let Some(p) = github_login(&v).and_then(|l| self.map.get(&format!("github:{l}"))) {
            return Some((p.as_str(), "github-noreply"));
        }
        strip_plus(&v)
            .and_then(|s| self.map.get(&s))
            .map(|p| (p.as_str(), "plus-address"))
    }

    /// What resolution merges in `tables`: every distinct value of an identity column resolved by a
    /// rule other than being a primary email, with where it was seen. Call before applying.
    pub fn merges(&self, tables: &[TableBatches]) -> Vec<IdentityMerge> {
        merge_list(self.merges_of(tables))
    }

    /// [`Identities::merges`] before it is listed.
    fn merges_of(&self, tables: &[TableBatches]) -> Merges {
        // Every batch of every table, in one contiguous part per core; each part resolves each
        // distinct value of a column once (a log has millions of rows and a few thousand people).
        let all: Vec<(&str, &RecordBatch)> = tables
            .iter()
            .flat_map(|t| t.batches.iter().map(move |b| (t.name.as_str(), b)))
            .collect();
        let threads = std::thread::available_parallelism().map_or(1, usize::from).max(1);
        let per = all.len().div_ceil(threads).max(1);
        let parts: Vec<Merges> = std::thread::scope(|s| {
            let handles: Vec<_> = all.chunks(per).map(|part| s.spawn(|| self.merges_in(part))).collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let mut out = Merges::new();
        for part in parts {
            add_merges(&mut out, part);
        }
        out
    }

    /// [`Identities::merges`] of some batches, each with its table's name.
    fn merges_in(&self, batches: &[(&str, &RecordBatch)]) -> Merges {
        let mut out = Merges::new();
        let mut seen: HashMap<(&str, &str), HashSet<&str>> = HashMap::default();
        for &(table, batch) in batches {
            let schema = batch.schema();
            for (i, field) in schema.fields().iter().enumerate() {
                let Some(name) = identity_column(field.name().as_str()) else {
                    continue;
                };
                let Some(col) = batch.columns().get(i) else { continue };
                let done = seen.entry((table, name)).or_default();
                // Text, text as read into a dictionary, or a list of either. (A resolved column
                // holds primary emails and values that matched nobody, so nothing merged.)
                each_text(col, None, &mut |_, v| {
                    if done.insert(v)
                        && let Some((p, rule)) = self.resolve_with_rule(v)
                        && rule != "primary"
                    {
                        out.entry(v.to_string())
                            .or_insert_with(|| (p.to_string(), rule, BTreeSet::new()))
                            .2
                            .insert(format!("{table}.{name}"));
                    }
                });
            }
        }
        out
    }

    /// Resolves a value: exact alias; a GitHub no-reply address (`12345+login@users.noreply.github.com`
    /// or `login@users.noreply.github.com`) as the `github:login` alias; or the same address
    /// without a `+tag`.
    pub fn resolve(&self, value: &str) -> Option<&str> {
        self.resolve_with_rule(value).map(|(p, _)| p)
    }

    /// What an unresolved value is written as in the tables: its address without a display name.
    fn bare(value: &str) -> String {
        split_named(value).1.to_string()
    }

    /// The people a same-name rule matched an unresolved value to, if several.
    fn candidates(&self, value: &str) -> Vec<String> {
        self.name_ambiguous
            .get(&split_named(value).1.to_lowercase())
            .map(|c| c.iter().cloned().collect())
            .unwrap_or_default()
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
                .filter(|(_, (n, _))| {
                    IDENTITY_COLUMNS.contains(&n.as_str()) || SOFT_IDENTITY_COLUMNS.contains(&n.as_str())
                })
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
                            None if SOFT_IDENTITY_COLUMNS.contains(&name.as_str()) => resolved.push(p.to_string()),
                            None => {
                                let e = unresolved.entry(p.to_string()).or_default();
                                e.0.insert(format!("{table_name}.{name}"));
                                e.1 += 1;
                                resolved.push(Self::bare(p));
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
        self.unresolved_list(unresolved)
    }

    /// Values that resolved to nobody, each with where it was seen and in how many rows, as listed.
    fn unresolved_list(&self, unresolved: BTreeMap<String, (BTreeSet<String>, usize)>) -> Vec<Unresolved> {
        unresolved
            .into_iter()
            .map(|(value, (seen, rows))| Unresolved {
                candidates: self.candidates(&value),
                value,
                seen_in: seen.into_iter().collect(),
                rows,
            })
            .collect()
    }

    /// Identity resolution over typed tables: each identity column is mapped value by value (each
    /// distinct value resolved once) to primary emails, list columns item by item (sorted, without
    /// repeats), and an account without an email gets the one its `system:account_id` alias names.
    /// A text column comes out as a dictionary of text (one per table and column: each person's
    /// email once, a key a row), which SQL reads as text.
    /// Returns what [`Identities::merges`] would have said of `tables` before they were mapped and
    /// of `also_seen` (values of rows left out, which are not mapped), and the values that resolved
    /// to nobody, as [`Identities::apply`] does. Each row's values are looked up once, for both.
    pub fn resolve_batches(&self, tables: &mut [TableBatches], also_seen: &[TableBatches]) -> Result<Resolved, String> {
        let mut unresolved: BTreeMap<String, (BTreeSet<String>, usize)> = BTreeMap::new();
        let mut merged = Merges::new();
        add_merges(&mut merged, self.merges_of(also_seen));
        let threads = std::thread::available_parallelism().map_or(1, usize::from).max(1);
        for t in tables.iter_mut() {
            let table_name = t.name.clone();
            // The batches in one contiguous part per core, each part mapped on its own (with its
            // own cache of distinct values) and each batch dropped once mapped, so a table's
            // identity columns are never held twice; then put back in order.
            let mut batches = std::mem::take(&mut t.batches);
            let per = batches.len().div_ceil(threads).max(1);
            let mut owned: Vec<Vec<RecordBatch>> = Vec::new();
            while !batches.is_empty() {
                let rest = batches.split_off(per.min(batches.len()));
                owned.push(std::mem::replace(&mut batches, rest));
            }
            let parts: Vec<Result<Part, String>> = std::thread::scope(|s| {
                let handles: Vec<_> = owned
                    .into_iter()
                    .map(|part| s.spawn(|| self.apply_part(&table_name, part)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(format!("identity resolution of `{table_name}` stopped")))
                    })
                    .collect()
            });
            // Each text person column becomes one dictionary for the whole table: the parts'
            // distinct written values, each once, in the order the parts first wrote them, and
            // every row a key into it (4 bytes a row rather than its text).
            let schema = dictionary_schema(&t.schema);
            let mut values: HashMap<&'static str, (HashMap<String, i32>, Vec<String>)> = HashMap::default();
            let mut out = Vec::new();
            for part in parts {
                let Part {
                    batches,
                    texts,
                    misses,
                    merges,
                } = part?;
                add_merges(&mut merged, merges);
                for (column, values) in misses {
                    for (value, rows) in values {
                        let e = unresolved.entry(value).or_default();
                        e.0.insert(format!("{table_name}.{column}"));
                        e.1 += rows;
                    }
                }
                // Each of this part's keys to the table's.
                let mut remaps: HashMap<&'static str, Vec<i32>> = HashMap::default();
                for (column, texts) in texts {
                    let (index, list) = values.entry(column).or_default();
                    let mut remap = Vec::with_capacity(texts.len());
                    for text in texts {
                        let k = match index.get(&text) {
                            Some(&k) => k,
                            None => {
                                let k = i32::try_from(list.len()).map_err(|_| {
                                    format!(
                                        "identity column `{table_name}.{column}` has more than 2^31 distinct values"
                                    )
                                })?;
                                index.insert(text.clone(), k);
                                list.push(text);
                                k
                            }
                        };
                        remap.push(k);
                    }
                    remaps.insert(column, remap);
                }
                out.push((batches, remaps));
            }
            let dictionaries: HashMap<&'static str, ArrayRef> = values
                .into_iter()
                .map(|(column, (_, list))| (column, Arc::new(StringArray::from(list)) as ArrayRef))
                .collect();
            let mut mapped = Vec::new();
            for (batches, remaps) in out {
                for (batch_schema, mut columns, keyed) in batches {
                    let schema = if batch_schema.fields() == t.schema.fields() {
                        Arc::clone(&schema)
                    } else {
                        dictionary_schema(&batch_schema)
                    };
                    for (i, column) in keyed {
                        let lost =
                            || format!("identity column `{table_name}.{column}` lost its keys while it was mapped");
                        let (Some(slot), Some(remap), Some(values)) =
                            (columns.get_mut(i), remaps.get(column), dictionaries.get(column))
                        else {
                            return Err(lost());
                        };
                        // A row without a value keeps key 0 (never read); every other key is the
                        // part's and must be in its renumbering.
                        let renumber = |keys: &Int32Array| -> Result<DictionaryArray<Int32Type>, String> {
                            let mut renumbered = Vec::with_capacity(keys.len());
                            for (r, &k) in keys.values().iter().enumerate() {
                                renumbered.push(if keys.is_null(r) {
                                    0
                                } else {
                                    usize::try_from(k)
                                        .ok()
                                        .and_then(|k| remap.get(k))
                                        .copied()
                                        .ok_or_else(lost)?
                                });
                            }
                            let keys = Int32Array::new(renumbered.into(), keys.nulls().cloned());
                            DictionaryArray::<Int32Type>::try_new(keys, Arc::clone(values))
                                .map_err(|e| format!("identity column `{table_name}.{column}`: {e}"))
                        };
                        if let Some(keys) = slot.as_primitive_opt::<Int32Type>() {
                            *slot = Arc::new(renumber(keys)?);
                        } else if let Some(list) = slot.as_list_opt::<i32>()
                            && let Some(keys) = list.values().as_primitive_opt::<Int32Type>()
                        {
                            // A list's items the same way: the list of keys becomes a list of
                            // the table's dictionary, its offsets and nulls as they are.
                            let items = renumber(keys)?;
                            let field = Arc::new(Field::new("item", items.data_type().clone(), true));
                            let list = ListArray::try_new(
                                field,
                                list.offsets().clone(),
                                Arc::new(items),
                                list.nulls().cloned(),
                            )
                            .map_err(|e| format!("identity column `{table_name}.{column}`: {e}"))?;
                            *slot = Arc::new(list);
                        } else {
                            return Err(lost());
                        }
                    }
                    mapped.push(RecordBatch::try_new(schema, columns).map_err(|e| e.to_string())?);
                }
            }
            t.batches = mapped;
            t.schema = schema;
        }
        Ok(Resolved {
            merged: merge_list(merged),
            unresolved: self.unresolved_list(unresolved),
        })
    }

    /// [`Identities::resolve_batches`] of some consecutive batches of one table: the batches with
    /// their identity columns rewritten (a text column as keys into what the part writes, a list
    /// as lists of such keys), per column the values that resolved to nobody with their rows, and the
    /// values merged into someone by a rule other than being their primary email.
    fn apply_part(&self, table_name: &str, batches: Vec<RecordBatch>) -> Result<Part, String> {
        // Per column, each distinct value mapped once: what it is written as, and whether it
        // resolved to nobody (then counted in each row that holds it, `Entry::rows`).
        let mut caches: HashMap<&'static str, Written> = HashMap::default();
        // Per column, what each key of the dictionary last read stands for.
        let mut memos: HashMap<&'static str, Memo> = HashMap::default();
        let mut out = Vec::with_capacity(batches.len());
        for batch in batches {
            let schema = batch.schema();
            let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
            drop(batch);
            let mut keyed = Vec::new();
            // An account without an email: try `system:account_id`. An email column read as a
            // dictionary of its values is made text first (it is mapped to keys again below).
            if table_name == "accounts"
                && let (Ok(e), Ok(s), Ok(a)) = (
                    schema.index_of("email"),
                    schema.index_of("system"),
                    schema.index_of("account_id"),
                )
                && columns.get(e).is_some_and(|c| c.null_count() > 0)
            {
                if let Some(slot) = columns.get_mut(e)
                    && matches!(slot.data_type(), DataType::Dictionary(_, _))
                {
                    *slot = arrow::compute::cast(slot, &DataType::Utf8)
                        .map_err(|err| format!("identity column `{table_name}.email`: {err}"))?;
                }
                if let (Some(email), Some(sys), Some(acct)) = (
                    columns.get(e).and_then(|c| c.as_string_opt::<i32>()),
                    columns.get(s).and_then(|c| c.as_string_opt::<i32>()),
                    columns.get(a).and_then(|c| c.as_string_opt::<i32>()),
                ) {
                    let filled: StringArray = (0..email.len())
                        .map(|i| {
                            if email.is_valid(i) {
                                Some(email.value(i).to_string())
                            } else {
                                let key = format!(
                                    "{}:{}",
                                    if sys.is_valid(i) { sys.value(i) } else { "" },
                                    if acct.is_valid(i) { acct.value(i) } else { "" }
                                );
                                self.resolve(&key).map(str::to_string)
                            }
                        })
                        .collect();
                    if let Some(slot) = columns.get_mut(e) {
                        *slot = Arc::new(filled);
                    }
                }
            }
            for (i, field) in schema.fields().iter().enumerate() {
                let name = field.name().as_str();
                let Some(column) = identity_column(name) else { continue };
                let soft = SOFT_IDENTITY_COLUMNS.contains(&column);
                let cache = caches.entry(column).or_default();
                let memo = memos.entry(column).or_default();
                let Some(col) = columns.get(i).cloned() else { continue };
                let too_many = || format!("identity column `{table_name}.{name}` has more than 2^31 distinct values");
                let mapped: ArrayRef = if let Some(texts) = Texts::of(col.as_ref()) {
                    // Keys into what this part writes; the table's dictionary is built once every
                    // part is mapped. A value read as a dictionary is resolved once per key.
                    let mut keys = Vec::with_capacity(texts.len());
                    let mut valid = Vec::with_capacity(texts.len());
                    for r in 0..texts.len() {
                        let k = cache.index_at(memo, self, soft, texts, r);
                        keys.push(match k {
                            Some(k) => i32::try_from(k).map_err(|_| too_many())?,
                            None => 0,
                        });
                        valid.push(k.is_some());
                    }
                    keyed.push((i, column));
                    let nulls = valid.contains(&false).then(|| arrow::buffer::NullBuffer::from(valid));
                    Arc::new(Int32Array::new(keys.into(), nulls))
                } else if let Some(l) = col.as_list_opt::<i32>() {
                    // Walked by offsets over the one array of items (not `l.value(r)`, which
                    // makes a new array per row): each item resolved (and a miss counted), then
                    // the row's items written sorted, without repeats.
                    let Some(items) = Texts::of(l.values().as_ref()) else {
                        return Err(format!(
                            "identity column `{table_name}.{name}` is a list of {}, not of text",
                            l.values().data_type()
                        ));
                    };
                    // Each row's items as keys into what this part writes, like a text
                    // column's; the table's dictionary is built once every part is mapped.
                    let mut keys: Vec<i32> = Vec::with_capacity(items.len());
                    let mut offsets: Vec<i32> = Vec::with_capacity(l.len() + 1);
                    offsets.push(0);
                    // The indices of one row's items, reused row after row.
                    let mut found: Vec<u32> = Vec::new();
                    for w in l.value_offsets().windows(2) {
                        let &[s, e] = w else { continue };
                        let row = usize::try_from(s).unwrap_or(0)..usize::try_from(e).unwrap_or(0);
                        found.clear();
                        for j in row {
                            if let Some(k) = cache.index_at(memo, self, soft, items, j) {
                                found.push(k);
                            }
                        }
                        let cache = &*cache;
                        found.sort_unstable_by(|a, b| cache.text(*a).cmp(cache.text(*b)));
                        found.dedup_by(|a, b| cache.text(*a) == cache.text(*b));
                        for &k in &found {
                            keys.push(i32::try_from(k).map_err(|_| too_many())?);
                        }
                        offsets.push(i32::try_from(keys.len()).map_err(|_| too_many())?);
                    }
                    keyed.push((i, column));
                    Arc::new(
                        ListArray::try_new(
                            Arc::new(Field::new("item", DataType::Int32, true)),
                            OffsetBuffer::new(offsets.into()),
                            Arc::new(Int32Array::from(keys)),
                            l.nulls().cloned(),
                        )
                        .map_err(|e| format!("identity column `{table_name}.{name}`: {e}"))?,
                    )
                } else {
                    return Err(format!(
                        "identity column `{table_name}.{name}` has type {}",
                        field.data_type()
                    ));
                };
                if let Some(slot) = columns.get_mut(i) {
                    *slot = mapped;
                }
            }
            out.push((schema, columns, keyed));
        }
        // Every value a column held was resolved once, by its cache: those a rule other than being
        // a primary email resolved are what was merged. (A filled-in account email is someone's
        // primary email, never a merge, as it is not in the table before it is mapped.)
        let mut merged = Merges::new();
        let mut misses: BTreeMap<&'static str, HashMap<String, usize>> = BTreeMap::new();
        for (column, cache) in &caches {
            let missed = misses.entry(column).or_default();
            for (value, &k) in &cache.index {
                if let Some(e) = cache.written.get(k as usize)
                    && e.miss
                    && e.rows > 0
                {
                    missed.insert(value.clone(), e.rows);
                }
                if let Some(Entry {
                    text, rule: Some(rule), ..
                }) = cache.written.get(k as usize)
                    && *rule != "primary"
                {
                    merged
                        .entry(value.clone())
                        .or_insert_with(|| (text.clone(), rule, BTreeSet::new()))
                        .2
                        .insert(format!("{table_name}.{column}"));
                }
            }
        }
        let texts = caches
            .into_iter()
            .filter(|(column, _)| out.iter().any(|(_, _, keyed)| keyed.iter().any(|(_, c)| c == column)))
            .map(|(column, cache)| (column, cache.written.into_iter().map(|e| e.text).collect()))
            .collect();
        Ok(Part {
            batches: out,
            texts,
            misses,
            merges: merged,
        })
    }
}

/// The text of a column that holds text: as text, or as keys into a dictionary of text (how a
/// person column is read from a columnar copy, and how resolution writes one).
#[derive(Clone, Copy)]
enum Texts<'a> {
    Plain(&'a StringArray),
    Keyed(&'a DictionaryArray<Int32Type>, &'a StringArray),
}

impl<'a> Texts<'a> {
    /// `array` as text, if it is text or a dictionary of text.
    fn of(array: &'a dyn Array) -> Option<Texts<'a>> {
        if let Some(a) = array.as_string_opt::<i32>() {
            return Some(Texts::Plain(a));
        }
        let d = array.as_dictionary_opt::<Int32Type>()?;
        Some(Texts::Keyed(d, d.values().as_string_opt::<i32>()?))
    }

    fn len(&self) -> usize {
        match self {
            Texts::Plain(a) => a.len(),
            Texts::Keyed(d, _) => d.len(),
        }
    }

    /// The value at `i`, if it has one.
    fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Texts::Plain(a) => a.is_valid(i).then(|| a.value(i)),
            Texts::Keyed(d, v) => {
                let k = usize::try_from(*d.keys().values().get(i)?).ok()?;
                (d.is_valid(i) && k < v.len() && v.is_valid(k)).then(|| v.value(k))
            }
        }
    }

    /// Whether some value (of the dictionary, used or not) holds the byte `b`.
    fn may_hold(&self, b: u8) -> bool {
        match self {
            Texts::Plain(a) => a.value_data().contains(&b),
            Texts::Keyed(_, v) => v.value_data().contains(&b),
        }
    }
}

/// Calls `each(row, value)` for every value of `col`: text, text read as a dictionary, or a list of
/// either (each item with its row). With `needle`, a column none of whose text holds that byte is
/// passed over without reading it value by value. A column of another type is passed over.
fn each_text<'a>(col: &'a ArrayRef, needle: Option<u8>, each: &mut dyn FnMut(usize, &'a str)) {
    if let Some(t) = Texts::of(col.as_ref()) {
        if needle.is_some_and(|b| !t.may_hold(b)) {
            return;
        }
        for r in 0..t.len() {
            if let Some(v) = t.get(r) {
                each(r, v);
            }
        }
    } else if let Some(l) = col.as_list_opt::<i32>()
        && let Some(items) = Texts::of(l.values().as_ref())
    {
        if needle.is_some_and(|b| !items.may_hold(b)) {
            return;
        }
        // Walked by offsets over the one array of items (not `l.value(r)`, which makes a new
        // array per row).
        for (r, w) in l.value_offsets().windows(2).enumerate() {
            let &[s, e] = w else { continue };
            for k in usize::try_from(s).unwrap_or(0)..usize::try_from(e).unwrap_or(0) {
                if let Some(v) = items.get(k) {
                    each(r, v);
                }
            }
        }
    }
}

/// What [`Identities::resolve_batches`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// Values merged into a person by a rule other than being their primary email, as
    /// [`Identities::merges`] lists them.
    pub merged: Vec<IdentityMerge>,
    /// Values that resolved to nobody.
    pub unresolved: Vec<Unresolved>,
}

/// Adds `more` merges to `into`, joining where each value was seen.
fn add_merges(into: &mut Merges, more: Merges) {
    for (value, (person, rule, seen)) in more {
        match into.get_mut(&value) {
            Some(e) => e.2.extend(seen),
            None => {
                into.insert(value, (person, rule, seen));
            }
        }
    }
}

/// Merges as listed, by value.
fn merge_list(merges: Merges) -> Vec<IdentityMerge> {
    merges
        .into_iter()
        .map(|(value, (person, rule, seen))| IdentityMerge {
            value,
            person,
            rule: rule.to_string(),
            seen_in: seen.into_iter().collect(),
        })
        .collect()
}

/// Values merged into a person: the person, the rule, and where each was seen.
type Merges = BTreeMap<String, (String, &'static str, BTreeSet<String>)>;

/// One part of a table as [`Identities::apply_part`] maps it.
struct Part {
    /// Each batch's schema as loaded and its columns, each text person column as keys into what
    /// the part writes for the column (`texts`), with those columns' indices and names.
    batches: Vec<KeyedBatch>,
    /// Per text person column, what each key stands for (a person's primary email, or an
    /// unresolved value as written in the tables).
    texts: HashMap<&'static str, Vec<String>>,
    /// Per column, the values that resolved to nobody, with their rows.
    misses: BTreeMap<&'static str, HashMap<String, usize>>,
    /// The values merged into someone.
    merges: Merges,
}

/// A batch's schema as loaded, its columns (each text person column as keys), and the indices and
/// names of those columns.
type KeyedBatch = (SchemaRef, Vec<ArrayRef>, Vec<(usize, &'static str)>);

/// `schema` with each text person column as a dictionary of text (how resolution writes them).
fn dictionary_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let dictionary = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
            match f.data_type() {
                DataType::Utf8 | DataType::Dictionary(_, _) if identity_column(f.name()).is_some() => {
                    f.as_ref().clone().with_data_type(dictionary)
                }
                DataType::List(item)
                    if matches!(item.data_type(), DataType::Utf8 | DataType::Dictionary(_, _))
                        && identity_column(f.name()).is_some() =>
                {
                    f.as_ref()
                        .clone()
                        .with_data_type(DataType::List(Arc::new(Field::new("item", dictionary, true))))
                }
                _ => f.as_ref().clone(),
            }
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// What each distinct value of one identity column is written as after resolution, kept by index:
/// a text value is looked up once a row (one hash of it), a value read as a dictionary once per key
/// of its dictionary ([`Memo`]).
#[derive(Default)]
struct Written {
    index: HashMap<String, u32>,
    /// What the value at each index is written as, and how it resolved.
    written: Vec<Entry>,
}

/// What one distinct value of an identity column is written as, and how it resolved.
struct Entry {
    /// The person's primary email, or the value itself (bare) when it resolved to nobody.
    text: String,
    /// The rule that resolved it (`primary`, `alias`, ...), if one did.
    rule: Option<&'static str>,
    /// Whether it is reported as resolving to nobody (a firm identity column's value).
    miss: bool,
    /// The rows that held it, counted when it is reported (`miss`).
    rows: usize,
}

/// What each key of the dictionary a column was last read with stands for ([`Written`]'s index,
/// `u32::MAX` before it is first met): a column read from a columnar copy holds each distinct value
/// once per row group, so each is resolved (and hashed) once there, not once a row.
#[derive(Default)]
struct Memo {
    values: Option<ArrayRef>,
    slots: Vec<u32>,
}

impl Memo {
    /// The slot of `key` in the dictionary `values`, starting afresh when it is another dictionary.
    fn slot(&mut self, values: &ArrayRef, key: usize) -> Option<&mut u32> {
        if !self.values.as_ref().is_some_and(|v| Arc::ptr_eq(v, values)) {
            self.values = Some(Arc::clone(values));
            self.slots.clear();
            self.slots.resize(values.len(), u32::MAX);
        }
        self.slots.get_mut(key)
    }
}

impl Written {
    /// The index of what `v` is written as, resolving it the first time it is seen, for one row
    /// that holds it.
    fn index(&mut self, ids: &Identities, soft: bool, v: &str) -> u32 {
        let k = self.find(ids, soft, v);
        self.hit(k);
        k
    }

    /// The index of what the value at row `i` of `t` is written as (`None` when the row has no
    /// value), for that row: a value read as a dictionary is resolved once per key of `memo`.
    fn index_at(&mut self, memo: &mut Memo, ids: &Identities, soft: bool, t: Texts<'_>, i: usize) -> Option<u32> {
        match t {
            Texts::Plain(a) => a.is_valid(i).then(|| self.index(ids, soft, a.value(i))),
            Texts::Keyed(d, values) => {
                if !d.is_valid(i) {
                    return None;
                }
                let key = usize::try_from(*d.keys().values().get(i)?)
                    .ok()
                    .filter(|k| *k < values.len() && values.is_valid(*k))?;
                let slot = memo.slot(d.values(), key)?;
                let k = match *slot {
                    u32::MAX => {
                        let k = self.find(ids, soft, values.value(key));
                        *slot = k;
                        k
                    }
                    k => k,
                };
                self.hit(k);
                Some(k)
            }
        }
    }

    /// The index of what `v` is written as, resolving it the first time it is seen.
    fn find(&mut self, ids: &Identities, soft: bool, v: &str) -> u32 {
        if let Some(&k) = self.index.get(v) {
            return k;
        }
        let found = match ids.resolve_with_rule(v) {
            Some((p, rule)) => Entry {
                text: p.to_string(),
                rule: Some(rule),
                miss: false,
                rows: 0,
            },
            None if soft => Entry {
                text: v.to_string(),
                rule: None,
                miss: false,
                rows: 0,
            },
            None => Entry {
                text: Identities::bare(v),
                rule: None,
                miss: true,
                rows: 0,
            },
        };
        let k = u32::try_from(self.written.len()).unwrap_or(u32::MAX);
        self.written.push(found);
        self.index.insert(v.to_string(), k);
        k
    }

    /// Counts one row holding the value at index `k`, if it resolved to nobody.
    fn hit(&mut self, k: u32) {
        if let Some(e) = self.written.get_mut(k as usize)
            && e.miss
        {
            e.rows += 1;
        }
    }

    /// What the value at index `k` is written as.
    fn text(&self, k: u32) -> &str {
        self.written.get(k as usize).map_or("", |e| e.text.as_str())
    }
}
