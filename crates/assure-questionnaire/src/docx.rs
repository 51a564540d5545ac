//! Tables in a DOCX document, streamed: each table (nested ones too) becomes a grid named
//! `Table N` in document order; a cell spanning columns (`gridSpan`) takes them all, paragraphs
//! within a cell are joined by line breaks.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::QError;
use crate::grid::{Cell, Grid, Rect};
use crate::xlsx::{attr, local, push_text};
use crate::zipsafe::Package;

/// The document part.
pub const DOCUMENT: &str = "word/document.xml";

struct Open {
    grid: Grid,
    row: i64,
    col: u32,
    cell: Option<(u32, String, u32)>,
}

/// Reads every table of a document.
pub fn read(file: &str, bytes: &[u8]) -> Result<Vec<Grid>, QError> {
    let mut pkg = Package::open(file, bytes)?;
    let xml = pkg.required(DOCUMENT, "the document body")?;
    tables(file, &xml)
}

/// The tables of a document part.
pub fn tables(file: &str, xml: &[u8]) -> Result<Vec<Grid>, QError> {
    let mut reader = Reader::from_reader(xml);
    let mut open: Vec<Open> = Vec::new();
    let mut done: Vec<(usize, Grid)> = Vec::new();
    let mut count = 0usize;
    let mut in_t = false;
    loop {
        let ev = reader.read_event().map_err(|e| {
            QError::new(
                file,
                &format!(
                    "{DOCUMENT} is not well-formed XML at byte {} ({e})",
                    reader.error_position()
                ),
                "save the document again from Word or LibreOffice",
            )
        })?;
        match ev {
            Event::Eof => break,
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                match local(e.name().as_ref()) {
                    b"tbl" if !empty => {
                        count += 1;
                        let mut grid = Grid::new(&format!("Table {count}"));
                        grid.part = format!("{DOCUMENT}#{count}");
                        open.push(Open {
                            grid,
                            row: -1,
                            col: 0,
                            cell: None,
                        });
                    }
                    b"tr" if !empty => {
                        if let Some(t) = open.last_mut() {
                            t.row += 1;
                            t.col = 0;
                        }
                    }
                    b"tc" if !empty => {
                        if let Some(t) = open.last_mut() {
                            t.cell = Some((t.col, String::new(), 1));
                        }
                    }
                    b"gridSpan" => {
                        if let Some(t) = open.last_mut()
                            && let Some(c) = t.cell.as_mut()
                        {
                            c.2 = attr(e, b"val").and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
                        }
                    }
                    b"t" if !empty => in_t = true,
                    b"tab" => add_text(&mut open, "\t"),
                    b"br" | b"cr" => add_text(&mut open, "\n"),
                    _ => {}
                }
            }
            Event::End(ref e) => match local(e.name().as_ref()) {
                b"t" => in_t = false,
                b"p" => add_text(&mut open, "\n"),
                b"tc" => {
                    if let Some(t) = open.last_mut()
                        && let Some((col, text, span)) = t.cell.take()
                    {
                        let row = t.row.max(0) as u32;
                        let value = text.trim().to_string();
                        if !value.is_empty() {
                            t.grid.cells.insert((row, col), Cell { value, formula: false });
                        }
                        if span > 1 {
                            t.grid.merged.push(Rect {
                                r1: row,
                                c1: col,
                                r2: row,
                                c2: col + span - 1,
                            });
                        }
                        t.col = col + span;
                    }
                }
                b"tbl" => {
                    if let Some(t) = open.pop() {
                        let n: usize = t.grid.part.rsplit('#').next().and_then(|n| n.parse().ok()).unwrap_or(0);
                        done.push((n, t.grid));
                    }
                }
                _ => {}
            },
            ref ev @ (Event::Text(_) | Event::GeneralRef(_) | Event::CData(_)) if in_t => {
                let mut s = String::new();
                push_text(ev, &mut s);
                add_text(&mut open, &s);
            }
            _ => {}
        }
    }
    done.sort_by_key(|(n, _)| *n);
    let grids: Vec<Grid> = done.into_iter().map(|(_, g)| g).collect();
    if grids.is_empty() {
        return Err(QError::new(
            file,
            "the document has no tables",
            "questionnaires in Word are read from tables (a question column and an answer column); put the questions in a table, or send the questionnaire as XLSX or CSV",
        ));
    }
    Ok(grids)
}

fn add_text(open: &mut [Open], s: &str) {
    if let Some(t) = open.last_mut()
        && let Some(c) = t.cell.as_mut()
    {
        c.1.push_str(s);
    }
}
