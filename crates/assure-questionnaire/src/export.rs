//! Writing answers back into the customer's own file. In an XLSX workbook only the answer cells'
//! XML changes (spliced into the sheet part's original bytes); every other part is copied as its
//! original compressed bytes, and the workbook is marked to recalculate on open. In a DOCX
//! document the answer goes into the empty cell's last paragraph. CSV is rewritten with the
//! answer columns filled; VSAQ answers are written as VSAQ's own answer JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read, Write as _};

use quick_xml::Reader;
use quick_xml::events::Event;
use zip::ZipArchive;
use zip::write::{SimpleFileOptions, ZipWriter};

use crate::grid::{CellRef, a1, parse_cell};
use crate::xlsx::{attr, local};
use crate::zipsafe::Package;
use crate::{QError, docx, xlsx};

/// One value to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// Where.
    pub cell: CellRef,
    /// What.
    pub value: String,
}

/// XML-escapes text.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn splice(original: &[u8], mut edits: Vec<(usize, usize, Vec<u8>)>) -> Vec<u8> {
    edits.sort_by_key(|e| (e.0, e.1));
    let mut out = Vec::with_capacity(original.len() + edits.iter().map(|e| e.2.len()).sum::<usize>());
    let mut at = 0;
    for (start, end, bytes) in edits {
        out.extend_from_slice(&original[at..start]);
        out.extend_from_slice(&bytes);
        at = end;
    }
    out.extend_from_slice(&original[at..]);
    out
}

fn prefix_of(name: &[u8]) -> String {
    match name.iter().position(|b| *b == b':') {
        Some(i) => format!("{}:", String::from_utf8_lossy(&name[..i])),
        None => String::new(),
    }
}

fn new_cell(p: &str, row: u32, col: u32, style: Option<&str>, value: &str) -> Vec<u8> {
    let s = style.map(|s| format!(" s=\"{s}\"")).unwrap_or_default();
    format!(
        "<{p}c r=\"{}\"{s} t=\"inlineStr\"><{p}is><{p}t xml:space=\"preserve\">{}</{p}t></{p}is></{p}c>",
        a1(row, col),
        escape(value)
    )
    .into_bytes()
}

/// Splices cell values into one worksheet part. Returns the new part and whether a formula cell
/// was overwritten.
pub fn sheet_part(
    file: &str,
    part: &str,
    xml: &[u8],
    values: &BTreeMap<(u32, u32), String>,
) -> Result<(Vec<u8>, bool), QError> {
    let mut reader = Reader::from_reader(xml);
    let mut edits: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    let mut pending: BTreeSet<u32> = values.keys().map(|k| k.0).collect();
    let mut p = String::new();
    // Current row: number, and cells seen (col, start, end, style, had formula).
    let mut row: Option<u32> = None;
    let mut cells: Vec<(u32, usize, usize, Option<String>, bool)> = Vec::new();
    let mut cell_open: Option<(u32, usize, Option<String>)> = None;
    let mut cell_formula = false;
    let mut overwrote_formula = false;
    let mut last_row: u32 = 0;
    let err = |reader: &Reader<&[u8]>, e: quick_xml::Error| {
        QError::new(
            file,
            &format!(
                "{part} is not well-formed XML at byte {} ({e})",
                reader.error_position()
            ),
            "save the workbook again from Excel or LibreOffice",
        )
    };
    let rows_xml = |p: &str, rows: &[u32]| -> Vec<u8> {
        let mut out = Vec::new();
        for r in rows {
            out.extend_from_slice(format!("<{p}row r=\"{}\">", r + 1).as_bytes());
            for ((_, c), v) in values.range((*r, 0)..=(*r, u32::MAX)) {
                out.extend(new_cell(p, *r, *c, None, v));
            }
            out.extend_from_slice(format!("</{p}row>").as_bytes());
        }
        out
    };
    loop {
        let start = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|e| err(&reader, e))?;
        let end = reader.buffer_position() as usize;
        match ev {
            Event::Eof => break,
            Event::Empty(ref e) if local(e.name().as_ref()) == b"sheetData" => {
                p = prefix_of(e.name().as_ref());
                let rows: Vec<u32> = std::mem::take(&mut pending).into_iter().collect();
                let mut out = format!("<{p}sheetData>").into_bytes();
                out.extend(rows_xml(&p, &rows));
                out.extend_from_slice(format!("</{p}sheetData>").as_bytes());
                edits.push((start, end, out));
            }
            Event::Start(ref e) if local(e.name().as_ref()) == b"sheetData" => p = prefix_of(e.name().as_ref()),
            Event::End(ref e) if local(e.name().as_ref()) == b"sheetData" => {
                let rows: Vec<u32> = std::mem::take(&mut pending).into_iter().collect();
                if !rows.is_empty() {
                    edits.push((start, start, rows_xml(&p, &rows)));
                }
            }
            Event::Start(ref e) | Event::Empty(ref e) if local(e.name().as_ref()) == b"row" => {
                let r = attr(e, b"r")
                    .and_then(|s| s.parse::<u32>().ok())
                    .map(|r| r - 1)
                    .unwrap_or(last_row + u32::from(row.is_some()));
                last_row = r;
                // Rows to add before this one.
                let before: Vec<u32> = pending.range(..r).copied().collect();
                if !before.is_empty() {
                    edits.push((start, start, rows_xml(&p, &before)));
                    for b in &before {
                        pending.remove(b);
                    }
                }
                if matches!(ev, Event::Empty(_)) {
                    if pending.remove(&r) {
                        let tag = &xml[start..end];
                        let open = &tag[..tag.len() - 2];
                        let mut out = open.to_vec();
                        out.push(b'>');
                        for ((_, c), v) in values.range((r, 0)..=(r, u32::MAX)) {
                            out.extend(new_cell(&p, r, *c, None, v));
                        }
                        out.extend_from_slice(format!("</{p}row>").as_bytes());
                        edits.push((start, end, out));
                    }
                } else {
                    row = Some(r);
                    cells.clear();
                }
            }
            Event::Start(ref e) if local(e.name().as_ref()) == b"c" => {
                let col = attr(e, b"r")
                    .and_then(|r| parse_cell(&r))
                    .map(|x| x.1)
                    .unwrap_or_else(|| cells.last().map(|c| c.0 + 1).unwrap_or(0));
                cell_open = Some((col, start, attr(e, b"s")));
                cell_formula = false;
            }
            Event::Empty(ref e) if local(e.name().as_ref()) == b"c" => {
                let col = attr(e, b"r")
                    .and_then(|r| parse_cell(&r))
                    .map(|x| x.1)
                    .unwrap_or_else(|| cells.last().map(|c| c.0 + 1).unwrap_or(0));
                cells.push((col, start, end, attr(e, b"s"), false));
            }
            Event::Start(ref e) | Event::Empty(ref e) if local(e.name().as_ref()) == b"f" && cell_open.is_some() => {
                cell_formula = true
            }
            Event::End(ref e) if local(e.name().as_ref()) == b"c" => {
                if let Some((col, s, style)) = cell_open.take() {
                    cells.push((col, s, end, style, cell_formula));
                }
            }
            Event::End(ref e) if local(e.name().as_ref()) == b"row" => {
                if let Some(r) = row.take()
                    && pending.remove(&r)
                {
                    for ((_, c), v) in values.range((r, 0)..=(r, u32::MAX)) {
                        match cells.iter().find(|x| x.0 == *c) {
                            Some((_, s, e, style, formula)) => {
                                overwrote_formula |= *formula;
                                edits.push((*s, *e, new_cell(&p, r, *c, style.as_deref(), v)));
                            }
                            None => {
                                let at = cells.iter().find(|x| x.0 > *c).map(|x| x.1).unwrap_or(start);
                                edits.push((at, at, new_cell(&p, r, *c, None, v)));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if !pending.is_empty() {
        return Err(QError::new(
            file,
            &format!("{part} has no sheetData to write answers into"),
            "save the workbook again from Excel or LibreOffice",
        ));
    }
    Ok((splice(xml, edits), overwrote_formula))
}

/// Marks a workbook part to recalculate fully on open.
pub fn recalc_on_open(xml: &[u8]) -> Vec<u8> {
    let mut reader = Reader::from_reader(xml);
    let mut after_names: Option<usize> = None;
    let mut after_sheets: Option<usize> = None;
    let mut p = String::new();
    loop {
        let start = reader.buffer_position() as usize;
        let Ok(ev) = reader.read_event() else {
            return xml.to_vec();
        };
        let end = reader.buffer_position() as usize;
        match ev {
            Event::Eof => break,
            Event::Start(ref e) if local(e.name().as_ref()) == b"workbook" => p = prefix_of(e.name().as_ref()),
            Event::Start(ref e) | Event::Empty(ref e) if local(e.name().as_ref()) == b"calcPr" => {
                let tag = String::from_utf8_lossy(&xml[start..end]).into_owned();
                let new = if tag.contains("fullCalcOnLoad=") {
                    tag.replace("fullCalcOnLoad=\"0\"", "fullCalcOnLoad=\"1\"")
                        .replace("fullCalcOnLoad=\"false\"", "fullCalcOnLoad=\"1\"")
                } else {
                    let cut = if tag.ends_with("/>") {
                        tag.len() - 2
                    } else {
                        tag.len() - 1
                    };
                    format!("{} fullCalcOnLoad=\"1\"{}", &tag[..cut], &tag[cut..])
                };
                return splice(xml, vec![(start, end, new.into_bytes())]);
            }
            Event::End(ref e) if local(e.name().as_ref()) == b"definedNames" => after_names = Some(end),
            Event::Empty(ref e) if local(e.name().as_ref()) == b"definedNames" => after_names = Some(end),
            Event::End(ref e) if local(e.name().as_ref()) == b"sheets" => after_sheets = Some(end),
            _ => {}
        }
    }
    match after_names.or(after_sheets) {
        Some(at) => splice(
            xml,
            vec![(at, at, format!("<{p}calcPr fullCalcOnLoad=\"1\"/>").into_bytes())],
        ),
        None => xml.to_vec(),
    }
}

fn drop_calc_chain(text: &[u8], element: &str) -> Vec<u8> {
    // Removes the one element (`<Relationship .../>` or `<Override .../>`) naming calcChain.
    let s = String::from_utf8_lossy(text).into_owned();
    let Some(at) = s.find("calcChain") else {
        return text.to_vec();
    };
    let Some(open) = s[..at].rfind(&format!("<{element}")) else {
        return text.to_vec();
    };
    let Some(close) = s[at..].find("/>") else {
        return text.to_vec();
    };
    let mut out = s[..open].to_string();
    out.push_str(&s[at + close + 2..]);
    out.into_bytes()
}

fn rewrite_zip(file: &str, original: &[u8], changed: &BTreeMap<String, Option<Vec<u8>>>) -> Result<Vec<u8>, QError> {
    let bad = |e: zip::result::ZipError| {
        QError::new(
            file,
            &format!("the package cannot be rewritten ({e})"),
            "save it again from the application that made it",
        )
    };
    let mut archive = ZipArchive::new(Cursor::new(original)).map_err(bad)?;
    let mut writer = ZipWriter::new(Cursor::new(Vec::with_capacity(original.len() + 4096)));
    for i in 0..archive.len() {
        let raw = archive.by_index_raw(i).map_err(bad)?;
        let name = raw.name().map_err(bad)?.to_string();
        match changed.get(&name) {
            None => writer.raw_copy_file(raw).map_err(bad)?,
            Some(None) => {}
            Some(Some(bytes)) => {
                let method = raw.compression();
                drop(raw);
                writer
                    .start_file(name.as_str(), SimpleFileOptions::default().compression_method(method))
                    .map_err(bad)?;
                writer
                    .write_all(bytes)
                    .map_err(|e| QError::new(file, &format!("cannot write {name}: {e}"), "try again"))?;
            }
        }
    }
    Ok(writer.finish().map_err(bad)?.into_inner())
}

/// Writes values into a workbook; only the named cells change.
pub fn xlsx(file: &str, original: &[u8], writes: &[Write]) -> Result<Vec<u8>, QError> {
    let sheets = xlsx::sheet_parts(file, original)?;
    let mut by_part: BTreeMap<String, BTreeMap<(u32, u32), String>> = BTreeMap::new();
    for w in writes {
        let Some((_, part)) = sheets.iter().find(|(name, _)| *name == w.cell.sheet) else {
            return Err(QError::new(
                file,
                &format!("the workbook has no sheet {:?}", w.cell.sheet),
                "answer the workbook the questionnaire was read from",
            ));
        };
        by_part
            .entry(part.clone())
            .or_default()
            .insert((w.cell.row, w.cell.col), w.value.clone());
    }
    let mut pkg = Package::open(file, original)?;
    let mut changed: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
    let mut formula = false;
    for (part, values) in &by_part {
        let xml = pkg.required(part, "a worksheet")?;
        let (new, f) = sheet_part(file, part, &xml, values)?;
        formula |= f;
        changed.insert(part.clone(), Some(new));
    }
    let wb = pkg.required("xl/workbook.xml", "the workbook part")?;
    changed.insert("xl/workbook.xml".into(), Some(recalc_on_open(&wb)));
    if formula && pkg.part("xl/calcChain.xml")?.is_some() {
        // A formula cell became a value: the calculation chain would name it, so Excel rebuilds it.
        changed.insert("xl/calcChain.xml".into(), None);
        if let Some(rels) = pkg.part("xl/_rels/workbook.xml.rels")? {
            changed.insert(
                "xl/_rels/workbook.xml.rels".into(),
                Some(drop_calc_chain(&rels, "Relationship")),
            );
        }
        if let Some(ct) = pkg.part("[Content_Types].xml")? {
            changed.insert("[Content_Types].xml".into(), Some(drop_calc_chain(&ct, "Override")));
        }
    }
    rewrite_zip(file, original, &changed)
}

/// A cell being read: its column, where its last paragraph ends, whether it has text, its span.
type OpenCell = (u32, Option<usize>, bool, u32);
/// A table being read: its name, row, next column, and the open cell.
type OpenTable = (String, i64, u32, Option<OpenCell>);

/// Writes values into tables of a DOCX document: each into its cell's last paragraph.
pub fn docx(file: &str, original: &[u8], writes: &[Write]) -> Result<Vec<u8>, QError> {
    let mut pkg = Package::open(file, original)?;
    let xml = pkg.required(docx::DOCUMENT, "the document body")?;
    let wanted: BTreeMap<(String, u32, u32), &str> = writes
        .iter()
        .map(|w| ((w.cell.sheet.clone(), w.cell.row, w.cell.col), w.value.as_str()))
        .collect();
    let mut reader = Reader::from_reader(xml.as_slice());
    let mut edits = Vec::new();
    // Open tables: (name, row, col, current cell: (col, last </w:p> start, had text, span)).
    let mut stack: Vec<OpenTable> = Vec::new();
    let mut count = 0;
    let mut p = String::new();
    loop {
        let start = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|e| {
            QError::new(
                file,
                &format!("{} is not well-formed XML ({e})", docx::DOCUMENT),
                "save it again from Word",
            )
        })?;
        match ev {
            Event::Eof => break,
            Event::Start(ref e) => match local(e.name().as_ref()) {
                b"tbl" => {
                    count += 1;
                    p = prefix_of(e.name().as_ref());
                    stack.push((format!("Table {count}"), -1, 0, None));
                }
                b"tr" => {
                    if let Some(t) = stack.last_mut() {
                        t.1 += 1;
                        t.2 = 0;
                    }
                }
                b"tc" => {
                    if let Some(t) = stack.last_mut() {
                        t.3 = Some((t.2, None, false, 1));
                    }
                }
                b"t" => {
                    if let Some(t) = stack.last_mut()
                        && let Some(c) = t.3.as_mut()
                    {
                        c.2 = true;
                    }
                }
                _ => {}
            },
            Event::Empty(ref e) if local(e.name().as_ref()) == b"gridSpan" => {
                if let Some(t) = stack.last_mut()
                    && let Some(c) = t.3.as_mut()
                {
                    c.3 = attr(e, b"val").and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
                }
            }
            Event::Empty(ref e) if local(e.name().as_ref()) == b"p" => {
                // An empty paragraph: make it hold the text.
                if let Some(t) = stack.last_mut()
                    && let Some(c) = t.3.as_mut()
                {
                    c.1 = Some(usize::MAX - start);
                }
            }
            Event::End(ref e) => match local(e.name().as_ref()) {
                b"p" => {
                    if let Some(t) = stack.last_mut()
                        && let Some(c) = t.3.as_mut()
                    {
                        c.1 = Some(start);
                    }
                }
                b"tc" => {
                    if let Some(t) = stack.last_mut()
                        && let Some((col, last_p, had_text, span)) = t.3.take()
                    {
                        let key = (t.0.clone(), t.1.max(0) as u32, col);
                        if let (Some(v), Some(at), false) = (wanted.get(&key), last_p, had_text) {
                            let run = format!("<{p}r><{p}t xml:space=\"preserve\">{}</{p}t></{p}r>", escape(v));
                            if at > usize::MAX / 2 {
                                // `<w:p/>` at usize::MAX - start: replace it with an open paragraph.
                                let s = usize::MAX - at;
                                let tag_end = xml[s..].iter().position(|b| *b == b'>').map(|i| s + i + 1).unwrap_or(s);
                                edits.push((s, tag_end, format!("<{p}p>{run}</{p}p>").into_bytes()));
                            } else {
                                edits.push((at, at, run.into_bytes()));
                            }
                        }
                        t.2 = col + span;
                    }
                }
                b"tbl" => {
                    stack.pop();
                }
                _ => {}
            },
            _ => {}
        }
    }
    let mut changed = BTreeMap::new();
    changed.insert(docx::DOCUMENT.to_string(), Some(splice(&xml, edits)));
    rewrite_zip(file, original, &changed)
}

/// Rewrites a CSV file with values filled in.
pub fn csv(file: &str, original: &[u8], writes: &[Write]) -> Result<Vec<u8>, QError> {
    let text = std::str::from_utf8(original.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(original))
        .map_err(|_| QError::new(file, "it is not UTF-8 text", "save it as CSV UTF-8"))?;
    let first = text.lines().next().unwrap_or("");
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    for r in reader.records() {
        let r = r.map_err(|e| QError::new(file, &e.to_string(), "check the file's quoting"))?;
        rows.push(r.iter().map(str::to_string).collect());
    }
    for w in writes {
        let (r, c) = (w.cell.row as usize, w.cell.col as usize);
        while rows.len() <= r {
            rows.push(Vec::new());
        }
        while rows[r].len() <= c {
            rows[r].push(String::new());
        }
        rows[r][c] = w.value.clone();
    }
    let mut out = Vec::new();
    if original.starts_with(b"\xEF\xBB\xBF") {
        out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    {
        let mut writer = csv::WriterBuilder::new()
            .flexible(true)
            .delimiter(delimiter)
            .from_writer(&mut out);
        for r in &rows {
            writer
                .write_record(r)
                .map_err(|e| QError::new(file, &e.to_string(), "try again"))?;
        }
        writer
            .flush()
            .map_err(|e| QError::new(file, &e.to_string(), "try again"))?;
    }
    Ok(out)
}

/// Reads every part of a package (for comparisons): name → inflated bytes.
pub fn parts(file: &str, bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, QError> {
    let mut archive =
        ZipArchive::new(Cursor::new(bytes)).map_err(|e| QError::new(file, &e.to_string(), "not a ZIP"))?;
    let mut out = BTreeMap::new();
    for i in 0..archive.len() {
        let mut f = archive
            .by_index(i)
            .map_err(|e| QError::new(file, &e.to_string(), "damaged"))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)
            .map_err(|e| QError::new(file, &e.to_string(), "damaged"))?;
        let name = f
            .name()
            .map_err(|e| QError::new(file, &e.to_string(), "damaged"))?
            .to_string();
        out.insert(name, buf);
    }
    Ok(out)
}
