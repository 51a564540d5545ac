//! The common shape of every questionnaire: sheets (or tables) of cells, with merged ranges and the
//! answer vocabularies their validations allow. Ranges stay rectangles: a validation over a whole
//! sheet (17 billion cells) costs four numbers, never a cell each.

use std::collections::BTreeMap;

use crate::QError;

/// A rectangle of cells, 0-based, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Rect {
    /// First row.
    pub r1: u32,
    /// First column.
    pub c1: u32,
    /// Last row.
    pub r2: u32,
    /// Last column.
    pub c2: u32,
}

/// The last row and column of a worksheet.
pub const MAX_ROW: u32 = 1_048_575;
/// The last column (XFD).
pub const MAX_COL: u32 = 16_383;

impl Rect {
    /// Whether the rectangle holds a cell.
    pub fn contains(&self, row: u32, col: u32) -> bool {
        row >= self.r1 && row <= self.r2 && col >= self.c1 && col <= self.c2
    }

    /// How many cells it spans (as a float: a whole sheet overflows nothing).
    pub fn cells(&self) -> f64 {
        (f64::from(self.r2 - self.r1) + 1.0) * (f64::from(self.c2 - self.c1) + 1.0)
    }

    /// Parses `A1`, `A1:C9`, `$A$1:$C$9`, `A:C` (whole columns) or `3:5` (whole rows).
    pub fn parse(s: &str) -> Option<Rect> {
        let s = s.trim().replace('$', "");
        let (a, b) = match s.split_once(':') {
            Some((a, b)) => (a.to_string(), b.to_string()),
            None => (s.clone(), s.clone()),
        };
        let (r1, c1) = parse_a1_partial(&a, true)?;
        let (r2, c2) = parse_a1_partial(&b, false)?;
        (r1 <= r2 && c1 <= c2).then_some(Rect { r1, c1, r2, c2 })
    }

    /// A space-separated list of ranges (`sqref`).
    pub fn parse_list(s: &str) -> Vec<Rect> {
        s.split_whitespace().filter_map(Rect::parse).collect()
    }
}

/// `A1`, `A` (a whole column) or `1` (a whole row): (row, col), start or end of the span.
fn parse_a1_partial(s: &str, start: bool) -> Option<(u32, u32)> {
    let letters: String = s.chars().take_while(char::is_ascii_alphabetic).collect();
    let digits = &s[letters.len()..];
    if !digits.chars().all(|c| c.is_ascii_digit()) || (letters.is_empty() && digits.is_empty()) {
        return None;
    }
    let col = if letters.is_empty() {
        if start { 0 } else { MAX_COL }
    } else {
        col_index(&letters)?
    };
    let row = if digits.is_empty() {
        if start { 0 } else { MAX_ROW }
    } else {
        digits.parse::<u32>().ok()?.checked_sub(1)?
    };
    (row <= MAX_ROW && col <= MAX_COL).then_some((row, col))
}

/// `A` → 0, `Z` → 25, `AA` → 26.
pub fn col_index(letters: &str) -> Option<u32> {
    let mut n: u32 = 0;
    for c in letters.chars() {
        let d = (c.to_ascii_uppercase() as u32).checked_sub('A' as u32)?;
        if d >= 26 {
            return None;
        }
        n = n.checked_mul(26)?.checked_add(d + 1)?;
    }
    n.checked_sub(1)
}

/// 0 → `A`.
pub fn col_name(mut col: u32) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// `B7`.
pub fn a1(row: u32, col: u32) -> String {
    format!("{}{}", col_name(col), row + 1)
}

/// A cell reference: (row, col), 0-based.
pub fn parse_cell(s: &str) -> Option<(u32, u32)> {
    let r = Rect::parse(s)?;
    (r.r1 == r.r2 && r.c1 == r.c2).then_some((r.r1, r.c1))
}

/// A cell on a sheet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct CellRef {
    /// The sheet's (or table's) name.
    pub sheet: String,
    /// Row, 0-based.
    pub row: u32,
    /// Column, 0-based.
    pub col: u32,
}

impl CellRef {
    /// `B7`.
    pub fn a1(&self) -> String {
        a1(self.row, self.col)
    }
}

/// One cell's value as the file shows it (a formula's cached value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// The shown value.
    pub value: String,
    /// Whether a formula computes it.
    pub formula: bool,
}

/// A validation: a list of allowed values over ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// Where it applies.
    pub ranges: Vec<Rect>,
    /// The allowed values, in the list's order (empty when the list cannot be resolved).
    pub choices: Vec<String>,
    /// The list's source as written (`"Yes,No"`, `Lists!$A$1:$A$3`, a name).
    pub source: String,
    /// Whether it came from the x14 extension list.
    pub ext: bool,
}

/// A sheet or table.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    /// Its name.
    pub name: String,
    /// Whether the workbook hides it.
    pub hidden: bool,
    /// Its part in the package (`xl/worksheets/sheet1.xml`, `word/document.xml#3`), or empty.
    pub part: String,
    /// Non-empty cells by (row, col).
    pub cells: BTreeMap<(u32, u32), Cell>,
    /// Merged ranges.
    pub merged: Vec<Rect>,
    /// List validations.
    pub validations: Vec<Validation>,
    /// Per row, a condition under which it applies (VSAQ's `cond`).
    pub conditions: BTreeMap<u32, String>,
}

impl Grid {
    /// A new, empty grid.
    pub fn new(name: &str) -> Grid {
        Grid {
            name: name.to_string(),
            ..Grid::default()
        }
    }

    /// The value shown at a cell: the cell's own, or the top-left value of the merged range it is in.
    pub fn value(&self, row: u32, col: u32) -> &str {
        if let Some(c) = self.cells.get(&(row, col)) {
            return &c.value;
        }
        for m in &self.merged {
            if m.contains(row, col) {
                return self.cells.get(&(m.r1, m.c1)).map(|c| c.value.as_str()).unwrap_or("");
            }
        }
        ""
    }

    /// The cell's own value, ignoring merges.
    pub fn own(&self, row: u32, col: u32) -> &str {
        self.cells.get(&(row, col)).map(|c| c.value.as_str()).unwrap_or("")
    }

    /// The list validation that applies to a cell (the last one declared wins, as in Excel).
    pub fn validation(&self, row: u32, col: u32) -> Option<&Validation> {
        self.validations
            .iter()
            .rev()
            .find(|v| v.ranges.iter().any(|r| r.contains(row, col)))
    }

    /// The merged range whose top-left cell this is, or that holds it.
    pub fn merge_of(&self, row: u32, col: u32) -> Option<&Rect> {
        self.merged.iter().find(|m| m.contains(row, col))
    }

    /// The rows that have any cell, in order.
    pub fn rows(&self) -> Vec<u32> {
        let mut rows: Vec<u32> = self.cells.keys().map(|k| k.0).collect();
        rows.dedup();
        rows
    }

    /// The non-empty cells of one row, in column order.
    pub fn row(&self, row: u32) -> impl Iterator<Item = (u32, &Cell)> {
        self.cells.range((row, 0)..=(row, MAX_COL)).map(|(k, c)| (k.1, c))
    }

    /// The values inside a rectangle, row by row, never expanding it: only cells present are visited.
    pub fn values_in(&self, r: &Rect) -> Vec<String> {
        let mut out = Vec::new();
        for ((_, col), cell) in self.cells.range((r.r1, 0)..=(r.r2, MAX_COL)) {
            if *col >= r.c1 && *col <= r.c2 && !cell.value.trim().is_empty() {
                out.push(cell.value.trim().to_string());
            }
        }
        out
    }
}

/// Reads a CSV file (UTF-8, with or without a byte-order mark; `,` or `;` or tab separated).
pub fn from_csv(name: &str, bytes: &[u8]) -> Result<Grid, QError> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).map_err(|e| {
        QError::new(
            name,
            &format!("it is not UTF-8 text (invalid byte at offset {})", e.valid_up_to()),
            "save it as CSV UTF-8 from the spreadsheet application",
        )
    })?;
    let first = text.lines().next().unwrap_or("");
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut grid = Grid::new(name.rsplit('/').next().unwrap_or(name));
    for (row, record) in reader.records().enumerate() {
        let record =
            record.map_err(|e| QError::new(name, &format!("row {}: {e}", row + 1), "check the quoting of that row"))?;
        for (col, value) in record.iter().enumerate() {
            if !value.trim().is_empty() {
                grid.cells.insert(
                    (row as u32, col as u32),
                    Cell {
                        value: value.to_string(),
                        formula: false,
                    },
                );
            }
        }
    }
    Ok(grid)
}
