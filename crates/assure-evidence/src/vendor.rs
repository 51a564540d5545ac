//! Reading vendor files and mapped exports: the shared path every vendor connector's records and
//! every mapped export go through (size limit, decompression, validation against the table). The
//! connectors themselves, one per file, are in [`crate::connectors`].

use std::collections::BTreeMap;
use std::io::Read;

use crate::connectors::Connector;
use crate::connectors::Record;
use crate::read::{Lines, Outcome, Problem, RowFn, read_mapped};
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
    lines: Lines,
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
    match c.records_numbered(&text, lines) {
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

/// Whether the start of a file is Jira's own JSON: the search API's answer (`{"issues": [...]}`),
/// a JSON array of those pages, or of issues (`key` and `fields`).
pub fn is_jira_json(head: &str) -> bool {
    let t = head.trim_start();
    (t.starts_with('[') || t.starts_with('{')) && t.contains("\"key\"") && t.contains("\"fields\"")
}

/// A row of an export: its line (CSV) or position (JSON), and a value per header.
type ExportRow = (u64, Vec<Option<String>>);

/// The header and rows of an export: a CSV file, or Jira's JSON issues flattened to dotted paths
/// (`key`, `fields.status.name`, `fields.customfield_10050.emailAddress`; lists of values joined
/// with `, `). The flag says JSON. A CSV's rows are numbered as `lines` says.
fn export_rows(mut input: impl Read, file: &str, lines: Lines) -> Result<(Vec<String>, Vec<ExportRow>, bool), Outcome> {
    let problem = |message: String, row: Option<u64>, hint: &str| Outcome {
        problems: vec![Problem {
            file: file.to_string(),
            row,
            column: None,
            message,
            hint: Some(hint.to_string()),
        }],
        ..Outcome::default()
    };
    let mut text = String::new();
    if let Err(e) = (&mut input).take(MAX_DECOMPRESSED + 1).read_to_string(&mut text) {
        return Err(problem(
            format!("cannot read: {e}"),
            None,
            "check that the file is complete and UTF-8",
        ));
    }
    if text.len() as u64 > MAX_DECOMPRESSED {
        return Err(problem(
            format!("the export is larger than {} MiB", MAX_DECOMPRESSED / (1024 * 1024)),
            None,
            "split the export (a search or report per quarter) and import each part",
        ));
    }
    if is_jira_json(text.get(..text.len().min(8192)).unwrap_or(&text)) {
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            problem(
                format!("not valid JSON: {e}"),
                None,
                "save the search API's answer again",
            )
        })?;
        let tops: Vec<&serde_json::Value> = match &v {
            serde_json::Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        let mut issues: Vec<&serde_json::Value> = Vec::new();
        for x in tops {
            match x.get("issues").and_then(serde_json::Value::as_array) {
                Some(list) => issues.extend(list.iter()),
                None if x.get("fields").is_some() => issues.push(x),
                None => {}
            }
        }
        let flat: Vec<BTreeMap<String, String>> = issues
            .iter()
            .map(|i| {
                let mut m = BTreeMap::new();
                flatten("", i, &mut m);
                m
            })
            .collect();
        let mut headers: Vec<String> = flat.iter().flat_map(|m| m.keys().cloned()).collect();
        headers.sort();
        headers.dedup();
        let rows = flat
            .iter()
            .enumerate()
            .map(|(n, m)| (n as u64 + 1, headers.iter().map(|h| m.get(h).cloned()).collect()))
            .collect();
        return Ok((headers, rows, true));
    }
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h
            .iter()
            .map(|x| x.trim().trim_start_matches('\u{feff}').to_string())
            .collect(),
        Err(e) => {
            return Err(problem(
                format!("not valid CSV: {e}"),
                Some(1),
                "export the file again as CSV",
            ));
        }
    };
    let mut rows = Vec::new();
    let mut line_of = crate::read::line_numbers(text.as_bytes(), lines);
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            problem(
                format!("not valid CSV: {e}"),
                e.position().map(&mut line_of),
                "check for unquoted commas",
            )
        })?;
        let line = rec.position().map_or(0, &mut line_of);
        rows.push((line, rec.iter().map(|v| Some(v.to_string())).collect()));
    }
    Ok((headers, rows, false))
}

/// Dotted paths to every value of a JSON object.
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                flatten(&key(k), x, out);
            }
        }
        serde_json::Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            let joined: Vec<String> = items.iter().filter_map(scalar).collect();
            if !prefix.is_empty() {
                out.insert(prefix.to_string(), joined.join(", "));
            }
        }
        serde_json::Value::Array(items) => {
            for (n, x) in items.iter().enumerate() {
                flatten(&key(&n.to_string()), x, out);
            }
        }
        other => {
            if let Some(s) = scalar(other)
                && !prefix.is_empty()
            {
                out.insert(prefix.to_string(), s);
            }
        }
    }
}

fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Reads an export through a mapping (a CSV file, or Jira's JSON issues) and validates every row
/// against the mapped table.
pub fn read_with_mapping<'a>(
    mapping: &Mapping,
    default_table: &str,
    input: impl Read,
    file: &'a str,
    emit: Option<&'a mut RowFn<'a>>,
    lines: Lines,
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
    let (headers, rows, json) = match export_rows(input, file, lines) {
        Ok(x) => x,
        Err(o) => return o,
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
        // JSON leaves out empty fields, so a path absent from every issue is just empty there
        // (a required column still fails validation, row by row).
        if !json && !index.contains_key(canon.as_str()) {
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
    for (line, rec) in rows {
        let mut m = Record::new();
        for c in t.columns {
            let raw = index
                .get(c.name)
                .and_then(|&i| rec.get(i))
                .and_then(|v| v.as_deref())
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
                    // Jira's JSON carries its own offset (`2026-02-02T09:15:00.000-0500`).
                    crate::tables::ColumnType::Timestamp if json => {
                        chrono::DateTime::parse_from_str(&v, "%Y-%m-%dT%H:%M:%S%.f%z")
                            .map(|d| d.with_timezone(&chrono::Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string())
                            .unwrap_or(v)
                    }
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
