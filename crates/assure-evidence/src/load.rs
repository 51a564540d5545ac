//! Loading the evidence tables from the ledger for a test run: which recorded files make up each
//! table's population, read back through the connector that imported them.
//!
//! Rule: for each table, the latest import of each file name is used (a re-export of
//! `accounts-okta.csv` replaces the earlier one); different file names add up (one file per
//! system or per month). The choice is listed, so an auditor sees exactly which files were used.

use std::collections::BTreeMap;

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

/// Loads the tables named in `wanted` (all when `None`) from entries already read from the ledger
/// (the application reads the ledger once per snapshot and passes its entries here).
pub fn load_entries(
    store: &dyn EvidenceStore,
    entries: &[Entry],
    wanted: Option<&std::collections::BTreeSet<&str>>,
) -> Result<Loaded, StoreError> {
    let mut latest: BTreeMap<(String, String), &Entry> = BTreeMap::new();
    let mut out = Loaded::default();
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
        })
    };
    for e in entries {
        let (Some(t), Some(b)) = (&e.draft.table, &e.draft.blob) else {
            continue;
        };
        if let Some(prev) = latest.insert((t.clone(), b.name.clone()), e)
            && let Some(s) = source_of(prev)
        {
            out.superseded.push(s);
        }
    }
    for e in latest.values() {
        let Some(src) = source_of(e) else { continue };
        if wanted.is_some_and(|w| !w.contains(src.table.as_str())) {
            continue;
        }
        let Some(def) = table(&src.table) else {
            out.problems.push(Problem {
                file: src.name.clone(),
                row: None,
                column: None,
                message: format!("entry {} names unknown table `{}`", src.seq, src.table),
                hint: None,
            });
            continue;
        };
        let Some(connector) = crate::connectors::get(&src.connector) else {
            out.problems.push(Problem {
                file: src.name.clone(),
                row: None,
                column: None,
                message: format!(
                    "entry {} was read by connector `{}`, which this build lacks",
                    src.seq, src.connector
                ),
                hint: Some("use the Assure version that imported it".into()),
            });
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
            out.problems.push(Problem {
                file: src.name.clone(),
                row: None,
                column: None,
                message: format!("entry {} has no readable column mapping", src.seq),
                hint: None,
            });
            continue;
        }
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
        let outcome = crate::connectors::read(connector, reader, def, &name, mapping.as_ref(), Some(&mut emit));
        out.problems.extend(outcome.problems);
        out.tables
            .entry(src.table.clone())
            .or_insert_with(|| LoadedTable {
                table: def,
                rows: Vec::new(),
            })
            .rows
            .extend(rows);
        out.sources.push(src);
    }
    out.sources.sort_by_key(|s| s.seq);
    Ok(out)
}
