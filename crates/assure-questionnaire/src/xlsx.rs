//! XLSX, streamed: the workbook's sheets (hidden ones too), shared strings, every cell's shown
//! value (a formula's cached value), merged ranges, list validations (standard and the x14
//! extension, lists written inline, as ranges on any sheet, or as defined names) and defined names.
//! No range is ever expanded.

use std::collections::BTreeMap;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::QError;
use crate::grid::{Cell, Grid, Rect, Validation, parse_cell};
use crate::zipsafe::Package;

/// A defined name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinedName {
    /// The name.
    pub name: String,
    /// The sheet it is local to (index into the workbook's sheets), if any.
    pub local: Option<usize>,
    /// What it refers to, as written.
    pub refers_to: String,
}

/// A workbook as read.
#[derive(Debug, Clone)]
pub struct Workbook {
    /// The sheets, in workbook order.
    pub sheets: Vec<Grid>,
    /// The defined names.
    pub names: Vec<DefinedName>,
}

/// The local part of a qualified XML name.
pub(crate) fn local(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|b| *b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// An attribute's unescaped value, by local name.
pub(crate) fn attr(e: &BytesStart<'_>, key: &[u8]) -> Option<String> {
    for a in e.attributes().with_checks(false).flatten() {
        if local(a.key.as_ref()) == key {
            let raw = String::from_utf8_lossy(&a.value).into_owned();
            return Some(unescape(&raw));
        }
    }
    None
}

/// Unescapes XML's predefined and numeric entities.
pub(crate) fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.find(';') {
            Some(j) if j <= 10 => {
                out.push_str(&entity(&after[..j]).unwrap_or_else(|| format!("&{};", &after[..j])));
                rest = &after[j + 1..];
            }
            _ => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// One entity's text.
pub(crate) fn entity(name: &str) -> Option<String> {
    Some(match name {
        "amp" => "&".into(),
        "lt" => "<".into(),
        "gt" => ">".into(),
        "quot" => "\"".into(),
        "apos" => "'".into(),
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok()?
            } else {
                name.strip_prefix('#')?.parse().ok()?
            };
            char::from_u32(code)?.to_string()
        }
    })
}

/// Text inside an element, entities resolved.
pub(crate) fn push_text(ev: &Event<'_>, buf: &mut String) {
    match ev {
        Event::Text(t) => buf.push_str(&unescape(&String::from_utf8_lossy(t.as_ref()))),
        Event::CData(t) => buf.push_str(&String::from_utf8_lossy(t.as_ref())),
        Event::GeneralRef(r) => {
            let name = String::from_utf8_lossy(r.as_ref()).into_owned();
            buf.push_str(&entity(&name).unwrap_or_else(|| format!("&{name};")));
        }
        _ => {}
    }
}

fn xml_error(file: &str, part: &str, pos: u64, e: impl std::fmt::Display) -> QError {
    QError::new(
        file,
        &format!("{part} is not well-formed XML at byte {pos} ({e})"),
        "the file is damaged or was not written by a spreadsheet application; save it again from Excel or LibreOffice",
    )
}

/// Reads a workbook.
pub fn read(file: &str, bytes: &[u8]) -> Result<Workbook, QError> {
    let mut pkg = Package::open(file, bytes)?;
    let workbook = pkg.required("xl/workbook.xml", "the workbook part")?;
    let rels = pkg.part("xl/_rels/workbook.xml.rels")?.unwrap_or_default();
    let targets = relationships(file, "xl/_rels/workbook.xml.rels", &rels)?;
    let (listed, names) = workbook_part(file, &workbook)?;
    let strings = match targets.iter().find(|(_, (ty, _))| ty.ends_with("/sharedStrings")) {
        Some((_, (_, target))) => {
            let path = resolve_target("xl/", target);
            match pkg.part(&path)? {
                Some(b) => shared_strings(file, &path, &b)?,
                None => Vec::new(),
            }
        }
        None => match pkg.part("xl/sharedStrings.xml")? {
            Some(b) => shared_strings(file, "xl/sharedStrings.xml", &b)?,
            None => Vec::new(),
        },
    };
    let mut sheets = Vec::new();
    for (name, hidden, rid) in listed {
        let Some((ty, target)) = targets.get(&rid) else {
            continue;
        };
        if !ty.ends_with("/worksheet") {
            continue;
        }
        let path = resolve_target("xl/", target);
        let Some(xml) = pkg.part(&path)? else {
            return Err(QError::new(
                file,
                &format!("sheet {name:?} points at {path}, which the package does not hold"),
                "the file is damaged; save it again from the spreadsheet application",
            ));
        };
        let mut grid = sheet(file, &path, &xml, &strings)?;
        grid.name = name;
        grid.hidden = hidden;
        grid.part = path;
        sheets.push(grid);
    }
    if sheets.is_empty() {
        return Err(QError::new(
            file,
            "the workbook has no worksheets",
            "check that this is the questionnaire",
        ));
    }
    resolve_validations(&mut sheets, &names);
    Ok(Workbook { sheets, names })
}

/// The worksheets' names and parts, without reading any sheet.
pub fn sheet_parts(file: &str, bytes: &[u8]) -> Result<Vec<(String, String)>, QError> {
    let mut pkg = Package::open(file, bytes)?;
    let workbook = pkg.required("xl/workbook.xml", "the workbook part")?;
    let rels = pkg.part("xl/_rels/workbook.xml.rels")?.unwrap_or_default();
    let targets = relationships(file, "xl/_rels/workbook.xml.rels", &rels)?;
    let (listed, _) = workbook_part(file, &workbook)?;
    Ok(listed
        .into_iter()
        .filter_map(|(name, _, rid)| {
            let (ty, target) = targets.get(&rid)?;
            ty.ends_with("/worksheet")
                .then(|| (name, resolve_target("xl/", target)))
        })
        .collect())
}

/// `worksheets/sheet1.xml` relative to `xl/`, or an absolute `/xl/...` target.
pub(crate) fn resolve_target(base: &str, target: &str) -> String {
    if let Some(abs) = target.strip_prefix('/') {
        return abs.to_string();
    }
    let mut parts: Vec<&str> = base
        .trim_end_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    for seg in target.split('/') {
        match seg {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// Relationship id → (type, target).
pub(crate) fn relationships(file: &str, part: &str, xml: &[u8]) -> Result<BTreeMap<String, (String, String)>, QError> {
    let mut out = BTreeMap::new();
    let mut reader = Reader::from_reader(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(Event::Start(e) | Event::Empty(e)) if local(e.name().as_ref()) == b"Relationship" => {
                if let (Some(id), Some(target)) = (attr(&e, b"Id"), attr(&e, b"Target")) {
                    out.insert(id, (attr(&e, b"Type").unwrap_or_default(), target));
                }
            }
            Ok(_) => {}
            Err(e) => return Err(xml_error(file, part, reader.error_position(), e)),
        }
    }
    Ok(out)
}

type Listed = Vec<(String, bool, String)>;

fn workbook_part(file: &str, xml: &[u8]) -> Result<(Listed, Vec<DefinedName>), QError> {
    let mut sheets = Vec::new();
    let mut names = Vec::new();
    let mut reader = Reader::from_reader(xml);
    let mut current: Option<(String, Option<usize>)> = None;
    let mut text = String::new();
    loop {
        let ev = reader.read_event();
        match ev {
            Ok(Event::Eof) => break,
            Ok(Event::Start(ref e) | Event::Empty(ref e)) if local(e.name().as_ref()) == b"sheet" => {
                let name = attr(e, b"name").unwrap_or_default();
                let hidden = matches!(attr(e, b"state").as_deref(), Some("hidden" | "veryHidden"));
                sheets.push((name, hidden, attr(e, b"id").unwrap_or_default()));
            }
            Ok(Event::Start(ref e)) if local(e.name().as_ref()) == b"definedName" => {
                let local_id = attr(e, b"localSheetId").and_then(|s| s.parse().ok());
                current = Some((attr(e, b"name").unwrap_or_default(), local_id));
                text.clear();
            }
            Ok(Event::End(ref e)) if local(e.name().as_ref()) == b"definedName" => {
                if let Some((name, local_id)) = current.take() {
                    names.push(DefinedName {
                        name,
                        local: local_id,
                        refers_to: text.trim().to_string(),
                    });
                }
            }
            Ok(ref ev @ (Event::Text(_) | Event::GeneralRef(_) | Event::CData(_))) if current.is_some() => {
                push_text(ev, &mut text);
            }
            Ok(_) => {}
            Err(e) => return Err(xml_error(file, "xl/workbook.xml", reader.error_position(), e)),
        }
    }
    Ok((sheets, names))
}

fn shared_strings(file: &str, part: &str, xml: &[u8]) -> Result<Vec<String>, QError> {
    let mut out = Vec::new();
    let mut reader = Reader::from_reader(xml);
    let mut current = String::new();
    let mut in_t = false;
    let mut in_phonetic = false;
    loop {
        let ev = reader.read_event();
        match ev {
            Ok(Event::Eof) => break,
            Ok(Event::Start(ref e)) => match local(e.name().as_ref()) {
                b"si" => current.clear(),
                b"t" => in_t = true,
                b"rPh" => in_phonetic = true,
                _ => {}
            },
            Ok(Event::Empty(ref e)) if local(e.name().as_ref()) == b"si" => out.push(String::new()),
            Ok(Event::End(ref e)) => match local(e.name().as_ref()) {
                b"si" => out.push(std::mem::take(&mut current)),
                b"t" => in_t = false,
                b"rPh" => in_phonetic = false,
                _ => {}
            },
            Ok(ref ev @ (Event::Text(_) | Event::GeneralRef(_) | Event::CData(_))) if in_t && !in_phonetic => {
                push_text(ev, &mut current);
            }
            Ok(_) => {}
            Err(e) => return Err(xml_error(file, part, reader.error_position(), e)),
        }
    }
    Ok(out)
}

#[derive(Default)]
struct PendingCell {
    pos: Option<(u32, u32)>,
    kind: String,
    value: String,
    inline: String,
    formula: bool,
}

#[derive(Default)]
struct PendingValidation {
    list: bool,
    sqref: String,
    formula: String,
    ext: bool,
}

/// Reads one worksheet part.
pub fn sheet(file: &str, part: &str, xml: &[u8], strings: &[String]) -> Result<Grid, QError> {
    let mut grid = Grid::default();
    let mut reader = Reader::from_reader(xml);
    let mut stack: Vec<Vec<u8>> = Vec::new();
    let mut cell: Option<PendingCell> = None;
    let mut row: u32 = 0;
    let mut seen_row = false;
    let mut next_col: u32 = 0;
    let mut dv: Option<PendingValidation> = None;
    let mut text = String::new();
    loop {
        let ev = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => return Err(xml_error(file, part, reader.error_position(), e)),
        };
        match ev {
            Event::Eof => break,
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                let name = local(e.name().as_ref()).to_vec();
                match name.as_slice() {
                    b"row" => {
                        row = match attr(e, b"r").and_then(|s| s.parse::<u32>().ok()) {
                            Some(r) => r.saturating_sub(1),
                            None if seen_row => row + 1,
                            None => 0,
                        };
                        seen_row = true;
                        next_col = 0;
                    }
                    b"c" => {
                        let pos = attr(e, b"r").and_then(|r| parse_cell(&r)).or(Some((row, next_col)));
                        if let Some((_, c)) = pos {
                            next_col = c + 1;
                        }
                        let pending = PendingCell {
                            pos,
                            kind: attr(e, b"t").unwrap_or_default(),
                            ..Default::default()
                        };
                        if empty {
                            cell = None;
                        } else {
                            cell = Some(pending);
                        }
                    }
                    b"f" if cell.is_some() && stack.last().map(|s| s.as_slice()) == Some(b"c") => {
                        if let Some(c) = cell.as_mut() {
                            c.formula = true;
                        }
                    }
                    b"mergeCell" => {
                        if let Some(r) = attr(e, b"ref").and_then(|r| Rect::parse(&r)) {
                            grid.merged.push(r);
                        }
                    }
                    b"dataValidation" => {
                        let ext = stack.iter().any(|s| s == b"ext" || s == b"extLst");
                        dv = Some(PendingValidation {
                            list: attr(e, b"type").as_deref() == Some("list"),
                            sqref: attr(e, b"sqref").unwrap_or_default(),
                            formula: String::new(),
                            ext,
                        });
                        if empty {
                            finish_validation(&mut grid, dv.take());
                        }
                    }
                    _ => {}
                }
                if !empty {
                    stack.push(name);
                }
                text.clear();
            }
            Event::End(ref e) => {
                let name = local(e.name().as_ref()).to_vec();
                stack.pop();
                match name.as_slice() {
                    b"v" => {
                        if let Some(c) = cell.as_mut() {
                            c.value = std::mem::take(&mut text);
                        }
                    }
                    b"t" if stack.iter().any(|s| s == b"is") && !stack.iter().any(|s| s == b"rPh") => {
                        if let Some(c) = cell.as_mut() {
                            c.inline.push_str(&text);
                        }
                    }
                    b"c" => {
                        if let Some(c) = cell.take()
                            && let Some(pos) = c.pos
                        {
                            let value = match c.kind.as_str() {
                                "s" => c
                                    .value
                                    .trim()
                                    .parse::<usize>()
                                    .ok()
                                    .and_then(|i| strings.get(i))
                                    .cloned()
                                    .unwrap_or_default(),
                                "inlineStr" => c.inline,
                                _ if c.value.is_empty() && !c.inline.is_empty() => c.inline,
                                "b" => {
                                    if c.value.trim() == "1" {
                                        "TRUE".into()
                                    } else {
                                        "FALSE".into()
                                    }
                                }
                                _ => c.value,
                            };
                            if !value.is_empty() {
                                grid.cells.insert(
                                    pos,
                                    Cell {
                                        value,
                                        formula: c.formula,
                                    },
                                );
                            }
                        }
                    }
                    b"formula1" => {
                        if let Some(d) = dv.as_mut()
                            && d.formula.is_empty()
                            && !text.trim().is_empty()
                        {
                            d.formula = text.trim().to_string();
                        }
                    }
                    b"f" if dv.is_some() && stack.iter().any(|s| s == b"formula1") => {
                        if let Some(d) = dv.as_mut() {
                            d.formula = text.trim().to_string();
                        }
                    }
                    b"sqref" => {
                        if let Some(d) = dv.as_mut() {
                            d.sqref = text.trim().to_string();
                        }
                    }
                    b"dataValidation" => finish_validation(&mut grid, dv.take()),
                    _ => {}
                }
                text.clear();
            }
            ref ev @ (Event::Text(_) | Event::GeneralRef(_) | Event::CData(_)) => push_text(ev, &mut text),
            _ => {}
        }
    }
    Ok(grid)
}

fn finish_validation(grid: &mut Grid, dv: Option<PendingValidation>) {
    let Some(d) = dv else { return };
    if !d.list {
        return;
    }
    let ranges = Rect::parse_list(&d.sqref);
    if ranges.is_empty() {
        return;
    }
    grid.validations.push(Validation {
        ranges,
        choices: Vec::new(),
        source: d.formula,
        ext: d.ext,
    });
}

/// Splits `'My Sheet'!$A$1:$A$3` into (Some("My Sheet"), "$A$1:$A$3").
pub(crate) fn split_sheet_ref(s: &str) -> (Option<String>, String) {
    let s = s.trim().trim_start_matches('=');
    match s.rfind('!') {
        Some(i) => {
            let sheet = s[..i].trim();
            let sheet = sheet
                .strip_prefix('\'')
                .and_then(|x| x.strip_suffix('\''))
                .map(|x| x.replace("''", "'"))
                .unwrap_or_else(|| sheet.to_string());
            (Some(sheet), s[i + 1..].to_string())
        }
        None => (None, s.to_string()),
    }
}

/// Fills every validation's choices: inline lists, ranges on this or another sheet, defined names.
fn resolve_validations(sheets: &mut [Grid], names: &[DefinedName]) {
    for i in 0..sheets.len() {
        for v in 0..sheets[i].validations.len() {
            let source = sheets[i].validations[v].source.clone();
            let choices = choices_of(sheets, names, i, &source, 0);
            sheets[i].validations[v].choices = choices;
        }
    }
}

fn choices_of(sheets: &[Grid], names: &[DefinedName], here: usize, formula: &str, depth: u8) -> Vec<String> {
    let f = formula.trim().trim_start_matches('=');
    if depth > 4 || f.is_empty() {
        return Vec::new();
    }
    if let Some(inner) = f.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        let mut out: Vec<String> = inner
            .replace("\"\"", "\"")
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        out.dedup();
        return out;
    }
    let (sheet, range) = split_sheet_ref(f);
    if let Some(rect) = Rect::parse(&range) {
        let target = match &sheet {
            Some(name) => sheets.iter().position(|g| g.name.eq_ignore_ascii_case(name)),
            None => Some(here),
        };
        let Some(t) = target else { return Vec::new() };
        let mut out: Vec<String> = Vec::new();
        for value in sheets[t].values_in(&rect) {
            if !out.contains(&value) {
                out.push(value);
            }
        }
        return out;
    }
    // A defined name: the sheet's own first, then the workbook's.
    let hit = names
        .iter()
        .find(|n| n.local == Some(here) && n.name.eq_ignore_ascii_case(f))
        .or_else(|| {
            names
                .iter()
                .find(|n| n.local.is_none() && n.name.eq_ignore_ascii_case(f))
        });
    match hit {
        Some(n) => choices_of(sheets, names, n.local.unwrap_or(here), &n.refers_to, depth + 1),
        None => Vec::new(),
    }
}
