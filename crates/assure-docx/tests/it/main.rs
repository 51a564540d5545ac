//! The Word writer: Word's own heading styles, tables whose header row repeats, the same bytes for
//! the same document. (The CLI's tests read whole drafts back with python-docx.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

use std::io::Read;

use assure_report::doc::{Block, Document};

fn doc() -> Document {
    Document {
        kind: "test".into(),
        title: "SOC 2 Type 2 report (draft)".into(),
        subtitle: "Controls relevant to security & availability <with> markup-like text".into(),
        organization: "Acme & Co".into(),
        header: "SOC 2 · 2026".into(),
        as_of: "2026-12-31".into(),
        notice: "Draft prepared by management. Not an auditor's report.".into(),
        cover: vec![("Period".into(), "1 January 2026 to 31 December 2026".into())],
        missing: Vec::new(),
        outline: true,
        breaks: true,
        blocks: vec![
            Block::Heading {
                level: 1,
                text: "Section IV: Criteria, controls, tests and results".into(),
            },
            Block::Para {
                text: "Text with <angle> brackets & ampersands stays text.".into(),
            },
            Block::Table {
                columns: vec!["Control".into(), "Population".into()],
                widths: vec![1, 1],
                rows: vec![vec!["AC-05".into(), "1243".into()]],
            },
        ],
    }
}

fn part(bytes: &[u8], name: &str) -> String {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut s = String::new();
    z.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

#[test]
fn headings_use_words_styles_and_tables_repeat_their_header_row() {
    let bytes = assure_docx::write(&doc()).unwrap();
    let xml = part(&bytes, "word/document.xml");
    assert!(xml.contains("w:val=\"Heading1\""), "no Heading1 paragraph");
    assert!(xml.contains("<w:tblHeader"), "the header row does not repeat");
    assert!(xml.contains("Text with &lt;angle&gt; brackets &amp; ampersands stays text."));
    let styles = part(&bytes, "word/styles.xml");
    assert!(
        styles.contains(r#"w:default="1" w:styleId="Normal""#),
        "Normal is not the default style"
    );
    let core = part(&bytes, "docProps/core.xml");
    assert!(
        core.contains("2026-12-31T00:00:00Z"),
        "the document's dates are not the as-of date: {core}"
    );
}

#[test]
fn the_same_document_gives_the_same_bytes() {
    assert_eq!(assure_docx::write(&doc()).unwrap(), assure_docx::write(&doc()).unwrap());
}
