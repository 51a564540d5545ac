//! Deciding what a file is from its first bytes, and refusing files that are not what their
//! extension says.

use std::path::Path;

use crate::read::{Format, Problem};

/// How many bytes are read to decide.
pub const HEAD_BYTES: usize = 64 * 1024;

fn problem(file: &str, message: String, hint: &str) -> Problem {
    Problem {
        file: file.to_string(),
        row: None,
        column: None,
        message,
        hint: Some(hint.to_string()),
    }
}

/// Decides the format of a file from its extension and first bytes.
pub fn sniff(path: &Path, head: &[u8], file: &str) -> Result<Format, Problem> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if head.starts_with(b"PK\x03\x04") && ext == "xlsx" {
        return Ok(Format::Xlsx);
    }
    if head.starts_with(b"PK\x03\x04") {
        return Err(problem(
            file,
            "this is a ZIP container that is not named `.xlsx`; only XLSX workbooks are read".into(),
            "export the sheet as CSV",
        ));
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Err(problem(
            file,
            "this file is gzip-compressed".into(),
            "decompress it first",
        ));
    }
    if head.starts_with(b"PAR1") {
        return Ok(Format::Parquet);
    }
    if head.starts_with(&[0xff, 0xfe]) || head.starts_with(&[0xfe, 0xff]) {
        return Err(problem(file, "this file is UTF-16 text".into(), "save it as UTF-8"));
    }
    if let Some(pos) = head.iter().position(|&b| b == 0) {
        return Err(problem(
            file,
            format!("binary content (a NUL byte at offset {pos})"),
            "import exports as CSV, JSON or NDJSON text",
        ));
    }
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let first = text.iter().copied().find(|b| !b.is_ascii_whitespace());
    let content = match first {
        Some(b'[') => Format::Json,
        Some(b'{') => Format::Ndjson,
        None => return Err(problem(file, "the file is empty".into(), "export it again")),
        _ => Format::Csv,
    };
    let claimed = match ext.as_str() {
        "csv" | "txt" => Some(Format::Csv),
        "json" => None, // A `.json` file may hold an array or one object per line.
        "ndjson" | "jsonl" => Some(Format::Ndjson),
        _ => None,
    };
    match (claimed, content) {
        (Some(Format::Csv), Format::Json | Format::Ndjson) => Err(problem(
            file,
            format!("the file is named `.{ext}` but holds JSON"),
            "rename it to `.json`, or name the connector with `--connector canonical-json`",
        )),
        (Some(Format::Ndjson), Format::Csv) => Err(problem(
            file,
            format!("the file is named `.{ext}` but does not hold JSON"),
            "check that it is the file you meant",
        )),
        (None, Format::Csv) if ext == "json" => Err(problem(
            file,
            "the file is named `.json` but does not hold JSON".into(),
            "check that it is the file you meant",
        )),
        _ => Ok(content),
    }
}
