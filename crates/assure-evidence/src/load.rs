//! Loading the evidence tables from the ledger for a test run: which recorded files make up each
//! table's population, read back through the connector that imported them.
//!
//! Rules, in order; the choice is listed, so an auditor sees exactly which files were used:
//!
//! 1. **Evidence belongs to the days it covers, not to its file name.** For a run over a window,
//!    an event file (changes, requests, log events, ...) is used when the days its rows cover (the
//!    earliest to the latest date in any of its date or time columns, recorded with its columnar
//!    copy at import) overlap the window; an export that spans two periods is used by both, and
//!    each test keeps the rows of its own window. A snapshot file (people, accounts, assets,
//!    devices, vendors, risks: state on the day of export, whose dates are history) is used by the windows
//!    that overlap the period it was imported for. A file with neither record (imported before
//!    either was recorded) is used by every window.
//! 2. Among the files used, for each table the latest import of each file name replaces the
//!    earlier ones (a re-export of `accounts-okta.csv` for the same period); different names add up
//!    (one file per system or per month). Next year's export under the same name does not replace
//!    this year's: it covers other days, so it is not among this window's files.
//! 3. **Duplicates**: a row whose key (`assure_schema::tables::key_of`: `change_id` and `system`
//!    for changes, ...; the whole row for tables without an identifier) appears in a later import
//!    among the files used is the same fact exported twice (overlapping exports), and only the
//!    later import's row is used. The run says how many rows this left out.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use assure_ledger::Entry;

use crate::connectors::Kind;
use crate::read::Problem;
use crate::store::{EvidenceStore, StoreError};
use crate::tables::{Table, table};

pub use assure_schema::results::Source;

/// One loaded row: values in the table's column order, and its lineage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedRow {
    /// Normalised values.
    pub values: Vec<Option<String>>,
    /// The connector.
    pub source: String,
    /// The file's BLAKE3.
    pub evidence: String,
    /// Line or record number in the file.
    pub row: u64,
}

/// A loaded table.
#[derive(Debug, Clone)]
pub struct LoadedTable {
    /// Its definition.
    pub table: &'static Table,
    /// Its rows.
    pub rows: Vec<LoadedRow>,
}

/// What loading found.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Tables by name.
    pub tables: BTreeMap<String, LoadedTable>,
    /// Files used.
    pub sources: Vec<Source>,
    /// Files replaced by a later import of the same name.
    pub superseded: Vec<Source>,
    /// Problems reading recorded files back.
    pub problems: Vec<Problem>,
}

/// Loads every table from the store's ledger.
pub fn load(store: &dyn EvidenceStore) -> Result<Loaded, StoreError> {
    load_only(store, None)
}

/// Loads the tables named in `wanted` (all when `None`); files of other tables are not read.
pub fn load_only(
    store: &dyn EvidenceStore,
    wanted: Option<&std::collections::BTreeSet<&str>>,
) -> Result<Loaded, StoreError> {
    let parsed = assure_ledger::parse(&store.ledger()?);
    let mut out = load_entries(store, &parsed.entries, wanted)?;
    // A ledger line that does not parse is reported, never skipped silently.
    let unread: Vec<Problem> = parsed
        .problems
        .iter()
        .map(|f| Problem {
            file: ".assure/evidence/ledger.jsonl".into(),
            row: Some(f.line),
            column: None,
            message: format!("{}: {}", f.code, f.message),
            hint: Some("run `assure evidence verify`; the entry on this line was not read".into()),
        })
        .collect();
    out.problems.splice(0..0, unread);
    Ok(out)
}

/// One recorded file chosen for a table, with what is needed to read it back.
struct Chosen<'e> {
    entry: &'e Entry,
    source: Source,
    table: &'static Table,
    connector: &'static dyn crate::connectors::Connector,
    mapping: Option<crate::vendor::Mapping>,
    /// The columnar copy: recorded with the import, or by a later `derive` entry for the same file.
    columnar: Option<&'e assure_ledger::ColumnarRef>,
}

/// A run's window: its first and last day.
pub type Window = (chrono::NaiveDate, chrono::NaiveDate);

/// Whether an import belongs to `window` (rule 1 of this module).
fn belongs(entries: &[Entry], e: &Entry, (start, end): Window) -> bool {
    let day = |t: &str| chrono::NaiveDate::parse_from_str(t.get(..10).unwrap_or(t), "%Y-%m-%d").ok();
    let overlaps = |a: Option<chrono::NaiveDate>, b: Option<chrono::NaiveDate>| match (a, b) {
        (Some(a), Some(b)) => a <= end && start <= b,
        _ => true,
    };
    let snapshot = e.draft.table.as_deref().is_some_and(crate::tables::is_snapshot);
    if !snapshot && let Some([first, last]) = columnar_of(entries, e).and_then(|c| c.covers.as_ref()) {
        return overlaps(day(first), day(last));
    }
    match (&e.draft.period_start, &e.draft.period_end) {
        (Some(a), Some(b)) => overlaps(day(a), day(b)),
        _ => true,
    }
}

/// The columnar copy recorded for an import: its own, or the latest `derive` entry's for its file.
fn columnar_of<'e>(entries: &'e [Entry], import: &'e Entry) -> Option<&'e assure_ledger::ColumnarRef> {
    if let Some(c) = &import.draft.columnar {
        return Some(c);
    }
    let blob = import.draft.blob.as_ref()?;
    entries
        .iter()
        .rev()
        .filter(|e| e.draft.action == assure_ledger::Action::Derive)
        .find(|e| e.draft.blob.as_ref().is_some_and(|b| b.blake3 == blob.blake3) && e.draft.table == import.draft.table)
        .and_then(|e| e.draft.columnar.as_ref())
}

fn problem(file: &str, message: String, hint: Option<&str>) -> Problem {
    Problem {
        file: file.to_string(),
        row: None,
        column: None,
        message,
        hint: hint.map(str::to_string),
    }
}

/// Chooses, per table and file name, the latest import; names what it passes over and what it
/// cannot read back.
fn choose<'e>(
    entries: &'e [Entry],
    wanted: Option<&std::collections::BTreeSet<&str>>,
    window: Option<Window>,
    superseded: &mut Vec<Source>,
    problems: &mut Vec<Problem>,
) -> Vec<Chosen<'e>> {
    let source_of = |e: &Entry| -> Option<Source> {
        let b = e.draft.blob.as_ref()?;
        Some(Source {
            seq: e.seq,
            table: e.draft.table.clone()?,
            name: b.name.clone(),
            blake3: b.blake3.clone(),
            sha256: b.sha256.clone(),
            connector: e.draft.connector.clone().unwrap_or_default(),
            rows: e.draft.rows.unwrap_or(0),
            columnar: None,
        })
    };
    let mut latest: BTreeMap<(String, String), &Entry> = BTreeMap::new();
    for e in entries
        .iter()
        .filter(|e| e.draft.action == assure_ledger::Action::Import)
        .filter(|e| window.is_none_or(|w| belongs(entries, e, w)))
    {
        let (Some(t), Some(b)) = (&e.draft.table, &e.draft.blob) else {
            continue;
        };
        if let Some(prev) = latest.insert((t.clone(), b.name.clone()), e)
            && let Some(s) = source_of(prev)
        {
            superseded.push(s);
        }
    }
    let mut out = Vec::new();
    for e in latest.values() {
        let Some(src) = source_of(e) else { continue };
        if wanted.is_some_and(|w| !w.contains(src.table.as_str())) {
            continue;
        }
        let Some(def) = table(&src.table) else {
            problems.push(problem(
                &src.name,
                format!("entry {} names unknown table `{}`", src.seq, src.table),
                None,
            ));
            continue;
        };
        let Some(connector) = crate::connectors::get(&src.connector) else {
            problems.push(problem(
                &src.name,
                format!(
                    "entry {} was read by connector `{}`, which this build lacks",
                    src.seq, src.connector
                ),
                Some("use the Assure version that imported it"),
            ));
            continue;
        };
        // A mapped connector reads with the mapping used at import, which travels with the entry,
        // so the rows read back are the rows imported: a typed field from format 2 on; format 1
        // kept it at the end of the note.
        let mapping = match (connector.kind(), &e.draft.mapping) {
            (Kind::Mapped { .. }, Some(m)) => Some(m.clone()),
            (Kind::Mapped { .. }, None) if e.format == 1 => e
                .draft
                .note
                .as_deref()
                .and_then(|n| n.rsplit_once("column mapping: "))
                .and_then(|(_, m)| serde_json::from_str::<crate::vendor::Mapping>(m).ok()),
            _ => None,
        };
        if matches!(connector.kind(), Kind::Mapped { .. }) && mapping.is_none() {
            problems.push(problem(
                &src.name,
                format!("entry {} has no readable column mapping", src.seq),
                None,
            ));
            continue;
        }
        out.push(Chosen {
            entry: e,
            source: src,
            table: def,
            connector,
            mapping,
            columnar: columnar_of(entries, e),
        });
    }
    out
}

/// The files a run of `wanted` uses, from the ledger alone (nothing is read): per table and file
/// name the latest import, with the columnar copy's recorded hash. What a run's key is made of.
pub fn sources(
    entries: &[Entry],
    wanted: Option<&std::collections::BTreeSet<&str>>,
    window: Option<Window>,
) -> Vec<Source> {
    let (mut superseded, mut problems) = (Vec::new(), Vec::new());
    let mut out: Vec<Source> = choose(entries, wanted, window, &mut superseded, &mut problems)
        .into_iter()
        .map(|c| Source {
            columnar: c.columnar.map(|r| r.blake3.clone()),
            ..c.source
        })
        .collect();
    out.sort_by_key(|s| s.seq);
    out
}

/// Loads the tables named in `wanted` (all when `None`) from entries already read from the ledger
/// (the application reads the ledger once per snapshot and passes its entries here), as rows of
/// text read from the original files.
pub fn load_entries(
    store: &dyn EvidenceStore,
    entries: &[Entry],
    wanted: Option<&std::collections::BTreeSet<&str>>,
) -> Result<Loaded, StoreError> {
    let mut out = Loaded::default();
    for c in choose(entries, wanted, None, &mut out.superseded, &mut out.problems) {
        let src = c.source;
        let reader = store.open_blob(&src.blake3)?;
        let mut rows = Vec::new();
        let (connector_id, evidence) = (src.connector.clone(), src.blake3.clone());
        let mut emit = |line: u64, values: Vec<Option<String>>| {
            rows.push(LoadedRow {
                values,
                source: connector_id.clone(),
                evidence: evidence.clone(),
                row: line,
            });
        };
        let name = src.name.clone();
        let outcome = crate::connectors::read(c.connector, reader, c.table, &name, c.mapping.as_ref(), Some(&mut emit));
        out.problems.extend(outcome.problems);
        out.tables
            .entry(src.table.clone())
            .or_insert_with(|| LoadedTable {
                table: c.table,
                rows: Vec::new(),
            })
            .rows
            .extend(rows);
        out.sources.push(src);
    }
    out.sources.sort_by_key(|s| s.seq);
    Ok(out)
}

/// Some rows of one recorded file, by row number: its table's column names and the rows asked for.
#[derive(Debug, Clone, Default)]
pub struct SomeRows {
    /// The table's column names, in order.
    pub columns: Vec<&'static str>,
    /// Each row asked for that the file has, by its row number.
    pub rows: BTreeMap<u64, Vec<Option<String>>>,
}

/// Reads the rows numbered in `wanted` from the original file an import entry recorded. The file
/// is first hashed as it streams and compared with the ledger (a file altered since it was recorded
/// gives a problem, never rows), then read again keeping only the rows asked for: memory stays
/// bounded by those rows, whatever the file's size.
pub fn rows_of(
    store: &dyn EvidenceStore,
    entry: &Entry,
    wanted: &std::collections::BTreeSet<u64>,
) -> Result<Result<SomeRows, Problem>, StoreError> {
    let (mut superseded, mut problems) = (Vec::new(), Vec::new());
    let Some(c) = choose(std::slice::from_ref(entry), None, None, &mut superseded, &mut problems).pop() else {
        return Ok(Err(problems.pop().unwrap_or_else(|| {
            problem("", format!("entry {} records no table file", entry.seq), None)
        })));
    };
    let src = c.source;
    let mut hasher = blake3::Hasher::new();
    let mut reader = store.open_blob(&src.blake3)?;
    if let Err(e) = std::io::copy(&mut reader, &mut hasher) {
        return Ok(Err(problem(&src.name, format!("cannot read it back: {e}"), None)));
    }
    let read = hasher.finalize().to_hex().to_string();
    if read != src.blake3 {
        return Ok(Err(problem(
            &src.name,
            format!(
                "entry {} no longer matches its file (recorded BLAKE3 {}, read {})",
                src.seq,
                src.blake3.get(..16).unwrap_or(&src.blake3),
                read.get(..16).unwrap_or(&read)
            ),
            Some("run `assure evidence verify`"),
        )));
    }
    let mut rows = BTreeMap::new();
    let mut emit = |line: u64, values: Vec<Option<String>>| {
        if wanted.contains(&line) {
            rows.insert(line, values);
        }
    };
    let reader = store.open_blob(&src.blake3)?;
    let outcome = crate::connectors::read(
        c.connector,
        reader,
        c.table,
        &src.name,
        c.mapping.as_ref(),
        Some(&mut emit),
    );
    if let Some(p) = outcome.problems.into_iter().next() {
        return Ok(Err(p));
    }
    Ok(Ok(SomeRows {
        columns: c.table.columns.iter().map(|col| col.name).collect(),
        rows,
    }))
}

/// A table as typed columns, from the columnar copies of its files.
#[derive(Debug, Clone)]
pub struct TableBatches {
    /// Its definition.
    pub table: &'static Table,
    /// Its rows, in batches, with the lineage columns `_row`, `_source` and `_evidence`.
    pub batches: Vec<RecordBatch>,
}

/// What loading the columnar copies found.
#[derive(Debug, Clone, Default)]
pub struct LoadedBatches {
    /// Tables by name.
    pub tables: BTreeMap<String, TableBatches>,
    /// Files used, each with the BLAKE3 of the columnar copy actually read.
    pub sources: Vec<Source>,
    /// Files replaced by a later import of the same name.
    pub superseded: Vec<Source>,
    /// What could not be read, or did not match its recorded hash.
    pub problems: Vec<Problem>,
    /// Per table, why part of its evidence could not be used: a test that reads such a table must
    /// not run on the rest.
    pub unusable: BTreeMap<String, Vec<String>>,
    /// Files without a recorded columnar copy (imported by an earlier version), read from their
    /// originals, whose hashes were checked first.
    pub from_originals: usize,
    /// Per table, rows left out because a later import among the files used holds the same key.
    pub duplicates: BTreeMap<String, u64>,
    /// Per table whose rows a [`RowFilter`] chose: the rows read (after rule 3) and the rows kept.
    pub filtered: BTreeMap<String, (u64, u64)>,
    /// Per table whose rows a [`RowFilter`] chose, per column it remembers: the distinct values in
    /// every row read, kept or not.
    pub seen: BTreeMap<String, BTreeMap<String, std::collections::BTreeSet<String>>>,
}

/// Which rows of a table a run needs, decided from its tests before anything is loaded (see
/// `assure_engine::RowFilter`): rows no test can read are left out as each file is decoded, so a
/// large log is never held whole when its tests read a few of its rows. Duplicates (rule 3) are
/// decided among every row first.
pub trait RowFilter: Send + Sync {
    /// Whether rows of `table` are chosen.
    fn filters(&self, table: &str) -> bool;
    /// The columns of `table` that [`RowFilter::keep`] and [`RowFilter::remembered`] read: decoded
    /// first, for every row, and the other columns only for the rows kept.
    fn reads(&self, table: &str) -> Vec<String>;
    /// Which rows of `batch` (of `table`) to keep; `None` keeps every row.
    fn keep(&self, table: &str, batch: &RecordBatch) -> Option<arrow::array::BooleanArray>;
    /// Columns of `table` whose distinct values in every row are kept in [`LoadedBatches::seen`].
    fn remembered(&self, table: &str) -> Vec<String>;
}

/// Notes the values of `filter`'s remembered columns of `table` in `batch`.
fn note_values(
    filter: &dyn RowFilter,
    table: &str,
    batch: &RecordBatch,
    seen: &mut BTreeMap<String, std::collections::BTreeSet<String>>,
) {
    use arrow::array::{Array, AsArray};
    for column in filter.remembered(table) {
        let values = seen.entry(column.clone()).or_default();
        let mut note = |v: &str| {
            if !values.contains(v) {
                values.insert(v.to_string());
            }
        };
        let Some(c) = batch.column_by_name(&column) else {
            continue;
        };
        if let Some(c) = c.as_string_opt::<i32>() {
            c.iter().flatten().for_each(&mut note);
        } else if let Some(d) = c.as_dictionary_opt::<arrow::datatypes::Int32Type>()
            && let Some(v) = d.values().as_string_opt::<i32>()
        {
            // A person column comes as a dictionary: each value a row uses, once.
            let mut used = vec![false; v.len()];
            for k in d.keys().iter().flatten() {
                if let Some(u) = usize::try_from(k).ok().and_then(|k| used.get_mut(k)) {
                    *u = true;
                }
            }
            for (k, _) in used.iter().enumerate().filter(|(_, u)| **u) {
                if v.is_valid(k) {
                    note(v.value(k));
                }
            }
        }
    }
}

/// What a predicate pushed into a file's decoding saw: the remembered columns' values and the rows.
type Noted = std::sync::Arc<std::sync::Mutex<(BTreeMap<String, std::collections::BTreeSet<String>>, u64)>>;

/// `filter`'s choice of rows of `table` as a predicate the file's reader applies before decoding
/// the other columns, noting what it saw in `noted`.
fn pushed(filter: &std::sync::Arc<dyn RowFilter>, table: &str, noted: &Noted) -> crate::columnar::Predicate {
    let (filter, table, noted) = (
        std::sync::Arc::clone(filter),
        table.to_string(),
        std::sync::Arc::clone(noted),
    );
    let columns = filter.reads(&table);
    // The predicates' own columns are read as dictionaries (a predicate is then evaluated once per
    // distinct value); the remembered columns as text, noted value by value.
    let remembered = filter.remembered(&table);
    let dictionary = columns.iter().filter(|c| !remembered.contains(c)).cloned().collect();
    crate::columnar::Predicate {
        columns,
        dictionary,
        keep: Box::new(move |batch: RecordBatch| {
            // Noted apart, then added under the lock: row groups are decoded side by side.
            let mut here = BTreeMap::new();
            note_values(filter.as_ref(), &table, &batch, &mut here);
            if let Ok(mut n) = noted.lock() {
                let (seen, read) = &mut *n;
                for (column, values) in here {
                    let into: &mut std::collections::BTreeSet<String> = seen.entry(column).or_default();
                    if into.is_empty() {
                        *into = values;
                    } else {
                        into.extend(values);
                    }
                }
                *read += batch.num_rows() as u64;
            }
            // Kept whole when the predicate cannot be evaluated: more rows is never wrong.
            filter
                .keep(&table, &batch)
                .unwrap_or_else(|| arrow::array::BooleanArray::from(vec![true; batch.num_rows()]))
        }),
    }
}

/// The rows of `batch` (of `table`) that `filter` keeps, its remembered columns' values noted in
/// `out` first; an empty result is `None`.
fn choose_rows(
    filter: &dyn RowFilter,
    table: &str,
    batch: RecordBatch,
    out: &mut LoadedBatches,
) -> Option<RecordBatch> {
    note_values(filter, table, &batch, out.seen.entry(table.to_string()).or_default());
    let counts = out.filtered.entry(table.to_string()).or_default();
    counts.0 += batch.num_rows() as u64;
    let batch = match filter.keep(table, &batch) {
        Some(mask) if mask.true_count() == mask.len() => batch,
        Some(mask) => match arrow::compute::filter_record_batch(&batch, &mask) {
            Ok(b) => b,
            // Kept whole: more rows than the tests read is never wrong.
            Err(_) => batch,
        },
        None => batch,
    };
    counts.1 += batch.num_rows() as u64;
    (batch.num_rows() > 0).then_some(batch)
}

/// Loads the tables named in `wanted` from the columnar copies recorded with their imports, each
/// hashed as it is read and compared with the hash in its ledger entry: a copy that does not match
/// is a problem naming the file and entry, and nothing from it is used. Files imported before
/// columnar copies existed are read from their originals, after the original's own hash is checked.
pub fn load_batches(
    store: &dyn EvidenceStore,
    entries: &[Entry],
    wanted: Option<&std::collections::BTreeSet<&str>>,
    window: Option<Window>,
) -> Result<LoadedBatches, StoreError> {
    load_batches_with(store, entries, wanted, window, &|_| true, &BTreeMap::new(), None)
}

/// [`load_batches`] of only the files `keep` accepts among those a run would read (the files of a
/// table a new import added, say: what rule 3 leaves out is then decided among those files only),
/// decoding of each table named in `columns` only those columns (and the lineage); a table not
/// named there is read whole. Every copy is still hashed whole. Of the tables `rows` chooses, only
/// the rows it keeps are kept: a table of one file is filtered as it is decoded; a table of several
/// files after rule 3 has compared every row.
pub fn load_batches_with(
    store: &dyn EvidenceStore,
    entries: &[Entry],
    wanted: Option<&std::collections::BTreeSet<&str>>,
    window: Option<Window>,
    keep: &dyn Fn(&Source) -> bool,
    columns: &BTreeMap<String, std::collections::BTreeSet<String>>,
    rows: Option<&std::sync::Arc<dyn RowFilter>>,
) -> Result<LoadedBatches, StoreError> {
    let mut out = LoadedBatches::default();
    // Each file's batches with its entry's sequence number, for rule 3 (the later import's row wins).
    let mut per_file: Vec<(u64, String, Vec<RecordBatch>)> = Vec::new();
    let chosen: Vec<Chosen<'_>> = choose(entries, wanted, window, &mut out.superseded, &mut out.problems)
        .into_iter()
        .filter(|c| keep(&c.source))
        .collect();
    let mut files_of: BTreeMap<String, usize> = BTreeMap::new();
    for c in &chosen {
        *files_of.entry(c.source.table.clone()).or_default() += 1;
    }
    // Tables of one file are filtered as they are decoded; others after rule 3.
    let early = |table: &str| rows.filter(|r| r.filters(table) && files_of.get(table) == Some(&1));
    for c in chosen {
        let mut src = c.source;
        let table_name = src.table.clone();
        let before = out.problems.len();
        'one: {
            // The copy to read, and the hash it must have (none for a copy derived just now).
            let (mut file, recorded): (Box<dyn crate::columnar::ReadSeek>, Option<&str>) = match c.columnar {
                Some(recorded) => {
                    let Some(file) = store.open_columnar(&src.blake3)? else {
                        out.problems.push(problem(
                            &src.name,
                            format!("the columnar copy recorded with entry {} is missing", src.seq),
                            Some("run `assure evidence rebuild` to rebuild it from the original"),
                        ));
                        break 'one;
                    };
                    (file, Some(recorded.blake3.as_str()))
                }
                None => {
                    // Imported before columnar copies: prove the original, then derive the copy now.
                    let Some(blob) = &c.entry.draft.blob else { break 'one };
                    if store.check_blob(blob) != assure_ledger::BlobCheck::Intact {
                        out.problems.push(problem(
                            &src.name,
                            format!(
                                "the file recorded as entry {} is missing or was altered after import; nothing from it was used",
                                src.seq
                            ),
                            Some("run `assure evidence verify` to see what changed"),
                        ));
                        break 'one;
                    }
                    let reader = store.open_blob(&src.blake3)?;
                    match derive(
                        c.connector,
                        reader,
                        c.table,
                        &src.name,
                        c.mapping.as_ref(),
                        crate::columnar::LAYOUT,
                    ) {
                        Ok(bytes) => {
                            out.from_originals += 1;
                            (Box::new(std::io::Cursor::new(bytes)), None)
                        }
                        Err(ps) => {
                            out.problems.extend(ps);
                            break 'one;
                        }
                    }
                }
            };
            // Hashed as it is decoded, one row group at a time: the rows kept are those of the
            // bytes hashed, and a copy whose hash is not the recorded one gives nothing.
            let noted = Noted::default();
            let filter = early(&src.table);
            let read = crate::columnar::read_verified(
                file.as_mut(),
                &src.connector,
                &src.blake3,
                columns.get(&src.table),
                filter.map(|f| pushed(f, &src.table, &noted)),
            )
            .map_err(|source| StoreError::Io {
                what: "read the columnar copy of",
                path: std::path::PathBuf::from(&src.name),
                source,
            })?;
            drop(file);
            if let Some(recorded) = recorded {
                if read.blake3 != recorded {
                    out.problems.push(problem(
                        &src.name,
                        format!(
                            "the columnar copy of entry {} was altered after import (recorded BLAKE3 {}, read {}); nothing from it was used",
                            src.seq,
                            recorded.get(..16).unwrap_or_default(),
                            read.blake3.get(..16).unwrap_or_default()
                        ),
                        Some("run `assure evidence verify`, then `assure evidence rebuild` to rebuild it from the original"),
                    ));
                    break 'one;
                }
                src.columnar = Some(read.blake3.clone());
            }
            let decoded = read.rows;
            if filter.is_some()
                && let (Ok(batches), Ok(mut n)) = (&decoded, noted.lock())
            {
                let (seen, read) = std::mem::take(&mut *n);
                let into = out.seen.entry(src.table.clone()).or_default();
                for (column, values) in seen {
                    into.entry(column).or_default().extend(values);
                }
                let counts = out.filtered.entry(src.table.clone()).or_default();
                counts.0 += read;
                counts.1 += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
            }
            match decoded {
                Ok(batches) => {
                    out.tables.entry(src.table.clone()).or_insert_with(|| TableBatches {
                        table: c.table,
                        batches: Vec::new(),
                    });
                    per_file.push((src.seq, src.table.clone(), batches));
                    out.sources.push(src);
                }
                Err(e) => out.problems.push(problem(
                    &src.name,
                    format!("the columnar copy of entry {} cannot be read: {e}", src.seq),
                    Some("run `assure evidence rebuild` to rebuild it from the original"),
                )),
            }
        }
        if out.problems.len() > before {
            let messages = out.problems.iter().skip(before).map(ToString::to_string);
            out.unusable.entry(table_name).or_default().extend(messages);
        }
    }
    // Rule 3: newest import first, a row whose key was already seen is a duplicate.
    per_file.sort_by_key(|(seq, _, _)| std::cmp::Reverse(*seq));
    let mut seen: BTreeMap<String, foldhash::HashSet<Vec<u8>>> = BTreeMap::new();
    let mut kept: BTreeMap<String, Vec<(u64, Vec<RecordBatch>)>> = BTreeMap::new();
    let several: BTreeMap<&str, usize> = per_file.iter().fold(BTreeMap::new(), |mut m, (_, t, _)| {
        *m.entry(t.as_str()).or_insert(0) += 1;
        m
    });
    let several: std::collections::BTreeSet<String> = several
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(t, _)| t.to_string())
        .collect();
    for (seq, table_name, batches) in per_file {
        let batches = if several.contains(&table_name) {
            let keys = seen.entry(table_name.clone()).or_default();
            // Keys of this file join `keys` after it: a key repeated within one file is not a
            // duplicate across imports and stays, as it would in a table of one file.
            let mut this_file = foldhash::HashSet::default();
            let mut unique = Vec::with_capacity(batches.len());
            for b in batches {
                match without_duplicates(&b, &table_name, keys, &mut this_file) {
                    Ok((b, dropped)) => {
                        if dropped > 0 {
                            *out.duplicates.entry(table_name.clone()).or_insert(0) += dropped;
                        }
                        unique.push(b);
                    }
                    Err(e) => {
                        out.problems.push(problem(
                            &table_name,
                            format!("cannot compare rows for duplicates: {e}"),
                            None,
                        ));
                        unique.push(b);
                    }
                }
            }
            keys.extend(this_file);
            unique
        } else {
            batches
        };
        kept.entry(table_name).or_default().push((seq, batches));
    }
    // Batches in import order, as before duplicates were looked for; a table of several files
    // that `rows` chooses is filtered now.
    for (table_name, mut files) in kept {
        files.sort_by_key(|(seq, _)| *seq);
        let mut batches: Vec<RecordBatch> = files.into_iter().flat_map(|(_, b)| b).collect();
        if let Some(filter) = rows.filter(|r| r.filters(&table_name) && early(&table_name).is_none()) {
            batches = batches
                .into_iter()
                .filter_map(|b| choose_rows(filter.as_ref(), &table_name, b, &mut out))
                .collect();
        }
        if let Some(t) = out.tables.get_mut(&table_name) {
            t.batches = batches;
        }
    }
    out.sources.sort_by_key(|s| s.seq);
    Ok(out)
}

/// Whether a row of `added` (the batches of newer files of one table) has the key of a row in one of
/// the older files `older` (rule 3 would then leave the older row out, so the older files' results
/// no longer stand as they are): the older files' columnar copies are read, their key columns only
/// and only the rows with a new row's key kept, each copy hashed as it is decoded and used only if
/// it has its recorded hash. Returns the first such key as text,
/// or (as the error) why an older file could not be read.
pub fn keys_shared(
    store: &dyn EvidenceStore,
    table_name: &str,
    older: &[Source],
    added: &[RecordBatch],
) -> Result<Option<String>, String> {
    use arrow::row::{RowConverter, SortField};
    let key = crate::tables::key_of(table_name);
    let Some(first) = added.first() else { return Ok(None) };
    let schema = first.schema();
    let names: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| {
            if key.is_empty() {
                !n.starts_with('_')
            } else {
                key.contains(&n.as_str())
            }
        })
        .collect();
    let fields: Vec<SortField> = names
        .iter()
        .filter_map(|n| schema.field_with_name(n).ok())
        .map(|f| SortField::new(f.data_type().clone()))
        .collect();
    let converter = RowConverter::new(fields).map_err(|e| e.to_string())?;
    let columns_of = |b: &RecordBatch| -> Result<Vec<arrow::array::ArrayRef>, String> {
        names
            .iter()
            .map(|n| {
                b.column_by_name(n)
                    .cloned()
                    .ok_or_else(|| format!("column `{n}` is missing from a file of `{table_name}`"))
            })
            .collect()
    };
    let mut new_keys = foldhash::HashSet::default();
    for b in added {
        let rows = converter.convert_columns(&columns_of(b)?).map_err(|e| e.to_string())?;
        for r in rows.iter() {
            new_keys.insert(r.as_ref().to_vec());
        }
    }
    let wanted: std::collections::BTreeSet<String> = names.iter().cloned().collect();
    let converter = std::sync::Arc::new(converter);
    let new_keys = std::sync::Arc::new(new_keys);
    for s in older {
        // Only the rows whose key is a new row's are kept as the copy is decoded, so an older
        // copy's keys (20 million events) are never held; a batch whose key columns cannot be
        // compared is kept whole, for the error below to name.
        let (conv, keys, key_names) = (
            std::sync::Arc::clone(&converter),
            std::sync::Arc::clone(&new_keys),
            names.clone(),
        );
        let shared = crate::columnar::Predicate {
            columns: names.clone(),
            dictionary: Vec::new(),
            keep: Box::new(move |b: RecordBatch| {
                let columns: Option<Vec<arrow::array::ArrayRef>> =
                    key_names.iter().map(|n| b.column_by_name(n).cloned()).collect();
                match columns.and_then(|c| conv.convert_columns(&c).ok()) {
                    Some(rows) => rows.iter().map(|r| Some(keys.contains(r.as_ref()))).collect(),
                    None => arrow::array::BooleanArray::from(vec![true; b.num_rows()]),
                }
            }),
        };
        let Some(mut file) = store.open_columnar(&s.blake3).map_err(|e| e.to_string())? else {
            return Err(format!(
                "the columnar copy of `{}` (entry {}) is missing; run `assure evidence rebuild`",
                s.name, s.seq
            ));
        };
        // Hashed as its key columns are decoded, a row group at a time (the copy is never held
        // whole); its rows are used only if the whole file has its recorded hash.
        let read = crate::columnar::read_verified(file.as_mut(), &s.connector, &s.blake3, Some(&wanted), Some(shared))
            .map_err(|e| format!("`{}` (entry {}): {e}", s.name, s.seq))?;
        drop(file);
        if s.columnar.as_deref() != Some(read.blake3.as_str()) {
            return Err(format!(
                "the columnar copy of `{}` (entry {}) does not match its recorded hash; run `assure evidence verify`",
                s.name, s.seq
            ));
        }
        let batches = read.rows.map_err(|e| format!("`{}` (entry {}): {e}", s.name, s.seq))?;
        for b in batches {
            let rows = converter.convert_columns(&columns_of(&b)?).map_err(|e| e.to_string())?;
            if let Some(r) = rows.iter().find(|r| new_keys.contains(r.as_ref())) {
                let shown = converter
                    .convert_rows([r])
                    .ok()
                    .map(|cols| {
                        cols.iter()
                            .map(|c| arrow::util::display::array_value_to_string(c, 0).unwrap_or_default())
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                return Ok(Some(format!("{shown} (also in `{}`, entry {})", s.name, s.seq)));
            }
        }
    }
    Ok(None)
}

/// `batch` without the rows whose key is in `seen` (keys of later imports), adding the others' keys
/// to `this_file`, and how many it left out. The key is `key_of(table)`'s columns, or every column but the lineage ones.
fn without_duplicates(
    batch: &RecordBatch,
    table: &str,
    seen: &foldhash::HashSet<Vec<u8>>,
    this_file: &mut foldhash::HashSet<Vec<u8>>,
) -> Result<(RecordBatch, u64), arrow::error::ArrowError> {
    use arrow::row::{RowConverter, SortField};
    let schema = batch.schema();
    let key = crate::tables::key_of(table);
    let columns: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            if key.is_empty() {
                !f.name().starts_with('_')
            } else {
                key.contains(&f.name().as_str())
            }
        })
        .map(|(i, _)| i)
        .collect();
    let converter = RowConverter::new(
        columns
            .iter()
            .map(|&i| SortField::new(schema.field(i).data_type().clone()))
            .collect(),
    )?;
    let arrays: Vec<arrow::array::ArrayRef> = columns.iter().map(|&i| batch.column(i).clone()).collect();
    let rows = converter.convert_columns(&arrays)?;
    let mut mask = Vec::with_capacity(batch.num_rows());
    let mut dropped = 0u64;
    for r in rows.iter() {
        let fresh = !seen.contains(r.as_ref());
        if fresh {
            this_file.insert(r.as_ref().to_vec());
        } else {
            dropped += 1;
        }
        mask.push(fresh);
    }
    if dropped == 0 {
        return Ok((batch.clone(), 0));
    }
    let filtered = arrow::compute::filter_record_batch(batch, &arrow::array::BooleanArray::from(mask))?;
    Ok((filtered, dropped))
}

/// Reads an original with its connector into a columnar copy's bytes: what import writes, and
/// what `assure evidence rebuild` writes again.
/// The copy is written in `layout` ([`crate::columnar::LAYOUT`] for a new copy; a rebuild writes
/// the layout the ledger records).
pub fn derive(
    connector: &dyn crate::connectors::Connector,
    reader: Box<dyn std::io::Read>,
    table: &'static Table,
    name: &str,
    mapping: Option<&crate::vendor::Mapping>,
    layout: u32,
) -> Result<Vec<u8>, Vec<Problem>> {
    let mut writer = crate::columnar::Writer::with_layout(table, layout)
        .map_err(|e| vec![problem(name, format!("cannot start the columnar copy: {e}"), None)])?;
    let outcome = crate::connectors::read_into(connector, reader, table, name, mapping, &mut writer);
    if !outcome.problems.is_empty() {
        return Err(outcome.problems);
    }
    writer
        .finish()
        .map_err(|e| vec![problem(name, format!("cannot write the columnar copy: {e}"), None)])
}

/// What rebuilding one entry's columnar copy came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    /// The entry.
    pub seq: u64,
    /// The file name.
    pub name: String,
    /// `Ok` when the rebuilt copy has the recorded hash and was written; else why not.
    pub result: Result<(), String>,
}

/// Rebuilds the columnar copy of every import that records one, from its original, and checks that
/// the rebuilt copy has the recorded hash (the copy is derived, so the same original gives the same
/// bytes). Returns, per entry, `Ok(())` or what went wrong; `progress(done, total)` is called as it goes.
pub fn rebuild(
    store: &dyn EvidenceStore,
    entries: &[Entry],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Rebuilt>, StoreError> {
    let mut superseded = Vec::new();
    let mut problems = Vec::new();
    let chosen: Vec<Chosen<'_>> = choose(entries, None, None, &mut superseded, &mut problems)
        .into_iter()
        .filter(|c| c.columnar.is_some())
        .collect();
    let total = chosen.len();
    let mut out = Vec::new();
    for (i, c) in chosen.iter().enumerate() {
        let (seq, name) = (c.source.seq, c.source.name.clone());
        let result = (|| -> Result<(), String> {
            let recorded = c.columnar.ok_or("no columnar copy is recorded")?;
            let blob = c.entry.draft.blob.as_ref().ok_or("no file is recorded")?;
            if store.check_blob(blob) != assure_ledger::BlobCheck::Intact {
                return Err("the original is missing or was altered; it cannot be rebuilt from".into());
            }
            let reader = store.open_blob(&blob.blake3).map_err(|e| e.to_string())?;
            let layout = recorded.layout.unwrap_or(1);
            let bytes = derive(c.connector, reader, c.table, &name, c.mapping.as_ref(), layout)
                .map_err(|ps| ps.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))?;
            let rebuilt = blake3::hash(&bytes).to_hex().to_string();
            if rebuilt != recorded.blake3 {
                return Err(format!(
                    "the rebuilt copy has BLAKE3 {}, the ledger records {}; the copy was left as it was",
                    rebuilt.get(..16).unwrap_or_default(),
                    recorded.blake3.get(..16).unwrap_or_default()
                ));
            }
            store
                .put_columnar(&blob.blake3, &bytes, recorded.rows)
                .map_err(|e| e.to_string())?;
            Ok(())
        })();
        out.push(Rebuilt { seq, name, result });
        progress(i + 1, total);
    }
    Ok(out)
}

/// Files imported before columnar copies were written (no copy recorded with the import or by a
/// `derive` entry): the migration's work list, for the tables in `wanted`.
pub fn without_copies<'e>(entries: &'e [Entry], wanted: Option<&std::collections::BTreeSet<&str>>) -> Vec<&'e Entry> {
    let (mut superseded, mut problems) = (Vec::new(), Vec::new());
    choose(entries, wanted, None, &mut superseded, &mut problems)
        .into_iter()
        .filter(|c| c.columnar.is_none())
        .map(|c| c.entry)
        .collect()
}

/// Migrates imports recorded before columnar copies existed: checks each original against its
/// recorded hash, writes its copy, and returns one `derive` draft per file recording the copy's hash
/// (the caller appends them, signed, as one batch). `progress(done, total, file)` as it goes.
pub fn migrate(
    store: &dyn EvidenceStore,
    entries: &[Entry],
    wanted: Option<&std::collections::BTreeSet<&str>>,
    at: &str,
    by: &str,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<(Vec<assure_ledger::Draft>, Vec<Problem>), StoreError> {
    let (mut superseded, mut problems) = (Vec::new(), Vec::new());
    let todo: Vec<Chosen<'_>> = choose(entries, wanted, None, &mut superseded, &mut problems)
        .into_iter()
        .filter(|c| c.columnar.is_none())
        .collect();
    let total = todo.len();
    let mut drafts = Vec::new();
    for (i, c) in todo.iter().enumerate() {
        progress(i, total, &c.source.name);
        let Some(blob) = &c.entry.draft.blob else { continue };
        if store.check_blob(blob) != assure_ledger::BlobCheck::Intact {
            problems.push(problem(
                &c.source.name,
                format!(
                    "the file recorded as entry {} is missing or was altered; it was not migrated",
                    c.source.seq
                ),
                Some("run `assure evidence verify` to see what changed"),
            ));
            continue;
        }
        let reader = store.open_blob(&blob.blake3)?;
        match derive(
            c.connector,
            reader,
            c.table,
            &c.source.name,
            c.mapping.as_ref(),
            crate::columnar::LAYOUT,
        ) {
            Ok(bytes) => {
                let rows = c.entry.draft.rows.unwrap_or(0);
                let columnar = assure_ledger::ColumnarRef {
                    layout: crate::columnar::recorded_layout(crate::columnar::LAYOUT),
                    ..store.put_columnar(&blob.blake3, &bytes, rows)?
                };
                let mut d = assure_ledger::Draft::new(assure_ledger::Action::Derive, at, by);
                d.blob = Some(blob.clone());
                d.connector = c.entry.draft.connector.clone();
                d.table = c.entry.draft.table.clone();
                d.rows = Some(rows);
                d.columnar = Some(columnar);
                d.note = Some(format!("columnar copy of the file recorded as entry {}", c.source.seq));
                drafts.push(d);
            }
            Err(ps) => problems.extend(ps),
        }
    }
    progress(total, total, "");
    Ok((drafts, problems))
}
