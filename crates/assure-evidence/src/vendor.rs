//! Reading vendor files and mapped exports: the shared path every vendor connector's records and
//! every mapped export go through (size limit, decompression, validation against the table). The
//! connectors themselves, one per file, are in [`crate::connectors`].

use std::collections::BTreeMap;
use std::io::Read;

use crate::connectors::Connector;
use crate::connectors::Record;
use crate::read::{Outcome, Problem, RowFn, read_mapped};
use crate::tables::{Table, table};

pub use crate::connectors::{GIT_BRANCH_AUTHOR_ARGS, GIT_LOG_ARGS, GIT_LOG_HEADER, merged_branches};

/// The largest vendor file read, after decompression.
pub const MAX_DECOMPRESSED: u64 = 512 * 1024 * 1024;

/// Returns whether the bytes start a gzip stream.
pub fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

/// Reads a vendor file (already decompressed) with its connector and validates every record
/// against `table`.
pub fn read_vendor<'a>(
    c: &dyn Connector,
    input: impl Read,
    table: &Table,
    file: &'a str,
    emit: Option<&'a mut RowFn<'a>>,
) -> Outcome {
    let problem = |message: String, hint: &str| Outcome {
        problems: vec![Problem {
            file: file.to_string(),
            row: None,
            column: None,
            message,
            hint: Some(hint.to_string()),
        }],
        ..Outcome::default()
    };
    let mut text = String::new();
    let mut limited = std::io::BufReader::new(input).take(MAX_DECOMPRESSED + 1);
    if let Err(e) = limited.read_to_string(&mut text) {
        return problem(
            format!("cannot read: {e}"),
            "check that the file is complete (a truncated gzip stream ends early) and is UTF-8",
        );
    }
    if text.len() as u64 > MAX_DECOMPRESSED {
        return problem(
            format!(
                "the file is larger than {} MiB once decompressed",
                MAX_DECOMPRESSED / (1024 * 1024)
            ),
            "vendor log files are split into smaller files; a file this large is probably not one (or is a compression bomb)",
        );
    }
    match c.records(&text) {
        Ok(records) => read_mapped(table, file, emit, records),
        Err(r) => problem(r.message, r.hint),
    }
}

/// How an export maps onto a canonical table, from `[connectors.hr_roster]` or `[connectors.jira]`
/// in `assure.toml`. The type is the ledger's, because the mapping is recorded with each import.
pub use assure_ledger::ColumnMapping as Mapping;

/// Returns whether a CSV header line carries every column the mapping names.
pub fn mapping_fits(mapping: &Mapping, header_line: &str) -> bool {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(header_line.as_bytes());
    let Some(Ok(rec)) = rdr.records().next() else {
        return false;
    };
    let names: Vec<String> = rec
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    !mapping.columns.is_empty()
        && mapping
            .columns
            .values()
            .all(|h| names.iter().any(|n| n.eq_ignore_ascii_case(h)))
}

fn with_offset(naive: chrono::NaiveDateTime, offset: &str) -> Option<String> {
    let fixed: chrono::FixedOffset = offset.parse().ok().or_else(|| chrono::FixedOffset::east_opt(0))?;
    let local = naive.and_local_timezone(fixed).single()?;
    Some(
        local
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
    )
}

/// Reads a CSV export through a mapping and validates every row against the mapped table.
pub fn read_with_mapping<'a>(
    mapping: &Mapping,
    default_table: &str,
    input: impl Read,
    file: &'a str,
    emit: Option<&'a mut RowFn<'a>>,
) -> Outcome {
    let name = mapping.table.clone().unwrap_or_else(|| default_table.to_string());
    let problem = |message: String, row: Option<u64>, column: Option<String>, hint: &str| Outcome {
        problems: vec![Problem {
            file: file.to_string(),
            row,
            column,
            message,
            hint: Some(hint.to_string()),
        }],
        ..Outcome::default()
    };
    let Some(t) = table(&name) else {
        return problem(
            format!("the mapping names unknown table `{name}`"),
            None,
            None,
            "use one of the tables `assure evidence tables` lists",
        );
    };
    let mut rdr = csv::ReaderBuilder::new().from_reader(input);
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h
            .iter()
            .map(|x| x.trim().trim_start_matches('\u{feff}').to_string())
            .collect(),
        Err(e) => {
            return problem(
                format!("not valid CSV: {e}"),
                Some(1),
                None,
                "export the file again as CSV",
            );
        }
    };
    let index: BTreeMap<&str, usize> = mapping
        .columns
        .iter()
        .filter_map(|(canon, h)| {
            headers
                .iter()
                .position(|x| x.eq_ignore_ascii_case(h))
                .map(|i| (canon.as_str(), i))
        })
        .collect();
    for (canon, h) in &mapping.columns {
        if !index.contains_key(canon.as_str()) {
            return problem(
                format!("the mapped column `{h}` (for `{canon}`) is not in the export"),
                Some(1),
                Some(h.clone()),
                "fix the mapping in assure.toml or the export",
            );
        }
    }
    let date_fmt = mapping.date_format.clone().unwrap_or_else(|| "%Y-%m-%d".into());
    let offset = mapping.utc_offset.clone().unwrap_or_else(|| "+00:00".into());
    let mut records = Vec::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                return problem(
                    format!("not valid CSV: {e}"),
                    e.position().map(|p| p.line()),
                    None,
                    "check for unquoted commas",
                );
            }
        };
        let line = rec.position().map_or(0, |p| p.line());
        let mut m = Record::new();
        for c in t.columns {
            let raw = index
                .get(c.name)
                .and_then(|&i| rec.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty());
            let value = raw.map(|v| {
                let v = mapping
                    .values
                    .get(c.name)
                    .and_then(|vals| {
                        vals.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(v))
                            .map(|(_, w)| w.clone())
                    })
                    .unwrap_or_else(|| v.to_string());
                match c.ty {
                    crate::tables::ColumnType::Date => chrono::NaiveDate::parse_from_str(&v, &date_fmt)
                        .map(|d| d.to_string())
                        .unwrap_or(v),
                    crate::tables::ColumnType::Timestamp => match &mapping.timestamp_format {
                        Some(f) => chrono::NaiveDateTime::parse_from_str(&v, f)
                            .ok()
                            .and_then(|n| with_offset(n, &offset))
                            .unwrap_or(v),
                        None => v,
                    },
                    _ if !c.allowed.is_empty() => v.to_ascii_lowercase(),
                    _ => v,
                }
            });
            // A value the mapping turns into nothing (BambooHR's `0000-00-00`) is empty.
            m.insert(c.name, value.filter(|v| !v.is_empty()));
        }
        records.push((line, m));
    }
    read_mapped(t, file, emit, records)
}
