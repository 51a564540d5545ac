//! Report drafts as Word documents: the same `assure_report::doc::Document` the PDF and the HTML
//! are drawn from, written with docx-rs, so the three formats cannot say different things.
//! Auditors edit drafts in Word; the document uses Word's own heading styles (so Word's navigation
//! pane and table of contents work), real tables with a repeated header row, and the draft's
//! notice in every page's footer. The document's dates are the draft's as-of date, so the same
//! inputs give the same document. Pure: bytes out.

#![warn(missing_docs)]

use assure_report::doc::{Block, Document};
use docx_rs::{
    BorderType, Docx, Footer, Header, Paragraph, Run, Shading, Style, StyleType, Table, TableBorder,
    TableBorderPosition, TableBorders, TableCell, TableRow, WidthType,
};

/// Why a document could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the Word document: {0}")]
pub struct DocxError(String);

const NAVY: &str = "1D4E89";
const RED: &str = "C62828";
const GREY: &str = "5A5A5A";
/// The text width of an A4 page with 2 cm margins, in twentieths of a point.
const TEXT_WIDTH: usize = 9638;

fn run(text: &str) -> Run {
    Run::new().add_text(text)
}

fn para(text: &str) -> Paragraph {
    Paragraph::new().add_run(run(text))
}

fn styles(mut d: Docx) -> Docx {
    for (id, name, size, color) in [
        ("Title", "Title", 48, NAVY),
        ("Heading1", "heading 1", 30, NAVY),
        ("Heading2", "heading 2", 24, NAVY),
        ("Heading3", "heading 3", 21, "000000"),
    ] {
        d = d.add_style(
            Style::new(id, StyleType::Paragraph)
                .name(name)
                .bold()
                .size(size)
                .color(color),
        );
    }
    d
}

fn bordered() -> TableBorders {
    let mut b = TableBorders::new();
    for pos in [
        TableBorderPosition::Top,
        TableBorderPosition::Bottom,
        TableBorderPosition::Left,
        TableBorderPosition::Right,
        TableBorderPosition::InsideH,
        TableBorderPosition::InsideV,
    ] {
        b = b.set(
            TableBorder::new(pos)
                .border_type(BorderType::Single)
                .size(4)
                .color("B9B9B9"),
        );
    }
    b
}

/// A table: a bold, shaded header row repeated on every page, then the rows; `widths` are the
/// columns' relative widths.
fn table(columns: &[String], widths: &[u8], rows: &[Vec<String>]) -> Table {
    let total: usize = widths.iter().map(|w| usize::from(*w).max(1)).sum::<usize>().max(1);
    let grid: Vec<usize> = (0..columns.len())
        .map(|i| TEXT_WIDTH * usize::from(widths.get(i).copied().unwrap_or(1).max(1)) / total)
        .collect();
    let cell = |text: &str, w: usize, head: bool| {
        let mut r = run(text).size(17);
        if head {
            r = r.bold();
        }
        let mut c = TableCell::new()
            .add_paragraph(Paragraph::new().add_run(r))
            .width(w, WidthType::Dxa);
        if head {
            c = c.shading(Shading::new().fill("E8EEF7"));
        }
        c
    };
    // A table of label and value pairs (the cover, fields) has no header row.
    let mut out = Vec::new();
    if columns.iter().any(|c| !c.is_empty()) {
        out.push(
            TableRow::new(columns.iter().zip(&grid).map(|(c, w)| cell(c, *w, true)).collect())
                // docx-rs cannot mark a header row; `cantSplit` (which only header rows get here) is
                // the marker `repeat_header_rows` turns into Word's `tblHeader` after packing.
                .cant_split(),
        );
    }
    for r in rows {
        out.push(TableRow::new(
            grid.iter()
                .enumerate()
                .map(|(i, w)| cell(r.get(i).map(String::as_str).unwrap_or(""), *w, false))
                .collect(),
        ));
    }
    Table::new(out)
        .set_grid(grid)
        .set_borders(bordered())
        .width(TEXT_WIDTH, WidthType::Dxa)
}

/// Writes `doc` as a Word document.
pub fn write(doc: &Document) -> Result<Vec<u8>, DocxError> {
    let date = format!("{}T00:00:00Z", doc.as_of);
    let mut d = styles(Docx::new())
        .created_at(&date)
        .updated_at(&date)
        .header(
            Header::new().add_paragraph(
                Paragraph::new().add_run(
                    run(&format!("{} · {}", doc.organization, doc.header))
                        .size(16)
                        .color(GREY),
                ),
            ),
        )
        .footer(Footer::new().add_paragraph(Paragraph::new().add_run(run(&doc.notice).size(15).color(GREY))));
    // The cover: organisation, title, subtitle, facts, the notice, and what the draft lacks.
    d = d
        .add_paragraph(Paragraph::new().add_run(run(&doc.organization).size(24).color(GREY)))
        .add_paragraph(para(&doc.title).style("Title"))
        .add_paragraph(Paragraph::new().add_run(run(&doc.subtitle).size(26)));
    if !doc.cover.is_empty() {
        let rows: Vec<Vec<String>> = doc.cover.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect();
        d = d.add_table(table(&["".into(), "".into()], &[1, 3], &rows));
    }
    d = d.add_paragraph(Paragraph::new().add_run(run(&doc.notice).italic()));
    if !doc.missing.is_empty() {
        d = d.add_paragraph(
            Paragraph::new().add_run(
                run(&format!(
                    "This draft lacks {} required element{}:",
                    doc.missing.len(),
                    if doc.missing.len() == 1 { "" } else { "s" }
                ))
                .bold()
                .color(RED),
            ),
        );
        for m in &doc.missing {
            d = d.add_paragraph(
                Paragraph::new()
                    .add_run(run(&format!("• {}: ", m.element)).bold())
                    .add_run(run(&m.text))
                    .indent(Some(360), None, None, None),
            );
        }
    }
    let mut first_h1 = true;
    for b in &doc.blocks {
        d = match b {
            Block::Heading { level, text } => {
                let style = match level {
                    1 => "Heading1",
                    2 => "Heading2",
                    _ => "Heading3",
                };
                let mut p = para(text).style(style);
                if *level == 1 && (doc.breaks || first_h1) {
                    p = p.page_break_before(true);
                }
                if *level == 1 {
                    first_h1 = false;
                }
                d.add_paragraph(p)
            }
            Block::Para { text } => d.add_paragraph(para(text)),
            Block::Bullets { items } => items.iter().fold(d, |d, i| {
                d.add_paragraph(para(&format!("• {i}")).indent(Some(360), None, None, None))
            }),
            Block::Numbered { items } => items.iter().enumerate().fold(d, |d, (n, i)| {
                d.add_paragraph(para(&format!("{}. {i}", n + 1)).indent(Some(360), None, None, None))
            }),
            Block::Table { columns, widths, rows } => d
                .add_table(table(columns, widths, rows))
                .add_paragraph(Paragraph::new()),
            Block::Fields { rows } => {
                let rows: Vec<Vec<String>> = rows.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect();
                d.add_table(table(&["".into(), "".into()], &[1, 3], &rows))
                    .add_paragraph(Paragraph::new())
            }
            Block::Placeholder { title, text } => d
                .add_paragraph(Paragraph::new().add_run(run(title).bold()))
                .add_paragraph(Paragraph::new().add_run(run(text).color(GREY))),
            Block::Gap { element, text, fix } => d.add_paragraph(
                Paragraph::new()
                    .add_run(run(&format!("Missing: {element} ")).bold().color(RED))
                    .add_run(run(text))
                    .add_run(run(&format!(" {fix}")).italic()),
            ),
            Block::Note { text } => d.add_paragraph(Paragraph::new().add_run(run(text).size(18).color(GREY)).indent(
                Some(240),
                None,
                None,
                None,
            )),
        };
    }
    let mut out = std::io::Cursor::new(Vec::new());
    d.build().pack(&mut out).map_err(|e| DocxError(e.to_string()))?;
    repeat_header_rows(&out.into_inner())
}

/// Marks every table's header row to repeat at the top of each page (`<w:tblHeader/>` beside the
/// `<w:cantSplit/>` that only header rows carry) and Normal as the default paragraph style,
/// rewriting `word/document.xml` and `word/styles.xml` and copying every other part as it is.
fn repeat_header_rows(packed: &[u8]) -> Result<Vec<u8>, DocxError> {
    use std::io::{Read, Write};
    let bad = |e: zip::result::ZipError| DocxError(e.to_string());
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(packed)).map_err(bad)?;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::with_capacity(packed.len() + 1024)));
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(bad)?;
        let name = file.name().map_err(bad)?.to_string();
        if name != "word/document.xml" && name != "word/styles.xml" {
            drop(file);
            let raw = archive.by_index_raw(i).map_err(bad)?;
            writer.raw_copy_file(raw).map_err(bad)?;
            continue;
        }
        let mut xml = String::new();
        file.read_to_string(&mut xml)
            .map_err(|e| DocxError(format!("cannot read {name}: {e}")))?;
        let method = file.compression();
        drop(file);
        let xml = if name == "word/styles.xml" {
            // docx-rs writes Normal without marking it the default paragraph style, which readers
            // (python-docx, Word's style pane) need.
            xml.replacen(
                r#"<w:style w:type="paragraph" w:styleId="Normal">"#,
                r#"<w:style w:type="paragraph" w:default="1" w:styleId="Normal">"#,
                1,
            )
        } else {
            xml.replace("<w:cantSplit />", "<w:cantSplit /><w:tblHeader />")
        };
        writer
            .start_file(
                name.as_str(),
                zip::write::SimpleFileOptions::default().compression_method(method),
            )
            .map_err(bad)?;
        writer
            .write_all(xml.as_bytes())
            .map_err(|e| DocxError(format!("cannot write {name}: {e}")))?;
    }
    Ok(writer.finish().map_err(bad)?.into_inner())
}
