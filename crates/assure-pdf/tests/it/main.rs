//! The PDF renderer: text a reader can extract, tables that break across pages with their header
//! repeated, and the same bytes for the same document.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

use assure_report::doc::{Block, Document, Missing};

fn doc(rows: usize) -> Document {
    Document {
        kind: "test".into(),
        title: "Quarterly access review".into(),
        subtitle: "A test document with \"quotes\", #hashes, $dollars$ and <angle> brackets".into(),
        organization: "Acme & Co".into(),
        header: "Test · 2026".into(),
        as_of: "2026-12-31".into(),
        notice: "Rendered by a test.".into(),
        cover: vec![("Period".into(), "1 January 2026 to 31 December 2026".into())],
        missing: vec![Missing {
            element: "DC6".into(),
            text: "No complementary user entity controls are stated.".into(),
            fix: "Add [[cuec]] entries.".into(),
        }],
        outline: true,
        breaks: true,
        blocks: vec![
            Block::Heading {
                level: 1,
                text: "Section with a table".into(),
            },
            Block::Para {
                text:
                    "Markup characters stay text: *not bold* _not emphasis_ #let x = 1 [brackets] `code` \\ backslash."
                        .into(),
            },
            Block::Table {
                columns: vec!["Item".into(), "Reason".into()],
                widths: vec![1, 3],
                rows: (0..rows)
                    .map(|i| {
                        // Every tenth row's reason is a SHA-256, set in two halves.
                        if i % 10 == 9 {
                            vec![format!("ITEM-{i:04}"), format!("{:064x}", u128::MAX - i as u128)]
                        } else {
                            vec![format!("ITEM-{i:04}"), format!("reason number {i}")]
                        }
                    })
                    .collect(),
            },
            Block::Gap {
                element: "DC6".into(),
                text: "No complementary user entity controls are stated.".into(),
                fix: "Add [[cuec]] entries.".into(),
            },
            Block::Placeholder {
                title: "Signature".into(),
                text: "Name, title, date.".into(),
            },
        ],
    }
}

fn pdftotext(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args([path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is needed; `.ci/run` installs it");
    assert!(out.status.success());
    // Poppler reads it without a complaint: no "Syntax Error" (the catalog's `/Suspects false`
    // made it complain about every PDF typst writes).
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "poppler complains");
    let info = std::process::Command::new("pdfinfo").arg(&path).output().unwrap();
    assert!(info.status.success());
    assert_eq!(String::from_utf8_lossy(&info.stderr), "", "pdfinfo complains");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn renders_text_a_reader_can_extract_and_breaks_long_tables() {
    let r = assure_pdf::render(&doc(300), "test/long").unwrap();
    assert!(r.bytes.starts_with(b"%PDF-"));
    assert!(r.pages >= 6, "300 rows span several pages, got {}", r.pages);
    let text = pdftotext(&r.bytes);
    for s in [
        "Quarterly access review",
        "This draft lacks 1 required element",
        "Missing: DC6",
        "ITEM-0000",
        "ITEM-0299",
        "*not bold* _not emphasis_ #let x = 1 [brackets]",
        "Acme & Co",
        &format!("Page 1 of {}", r.pages),
    ] {
        assert!(text.contains(s), "`{s}` not in the extracted text");
    }
    // A SHA-256 in a cell reads back as its two halves of 32 digits.
    let sha = format!("{:064x}", u128::MAX - 9);
    assert!(
        text.contains(&sha[..32]) && text.contains(&sha[32..]),
        "the hash is not in the text"
    );
    // The header row repeats on every page the table spans.
    let headers = text.matches("Item").count();
    assert!(headers >= 4, "table header repeated {headers} times");
}

#[test]
fn same_document_same_bytes_and_no_creation_time() {
    let a = assure_pdf::render(&doc(20), "test/same").unwrap();
    let b = assure_pdf::render(&doc(20), "test/same").unwrap();
    assert_eq!(a.bytes, b.bytes);
    let raw = String::from_utf8_lossy(&a.bytes);
    assert!(
        !raw.contains("/CreationDate"),
        "a creation time would make every render differ"
    );
}
