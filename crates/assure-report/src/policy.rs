//! A policy as a document, for the PDF: its control table, its text and its version history.

use assure_docs::Facts;
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::doc::{Block, Document};
use crate::long_date;

/// Builds the document for one policy from its facts and Markdown body.
pub fn document(f: &Facts, body: &str) -> Document {
    let mut d = Document {
        kind: "policy".into(),
        title: f.title.clone(),
        subtitle: format!(
            "{} · version {}",
            f.id,
            if f.version.is_empty() { "not set" } else { &f.version }
        ),
        organization: f.organization.clone(),
        header: format!("{} · version {}", f.title, f.version),
        as_of: String::new(),
        notice: format!(
            "{} policy {} version {}; status: {}.",
            f.organization, f.id, f.version, f.status
        ),
        cover: vec![
            ("Owner".into(), f.owner.clone()),
            ("Approved by".into(), f.approved_by.clone()),
            (
                "Approved on".into(),
                f.approved_on.map(long_date).unwrap_or_else(|| "not approved".into()),
            ),
            (
                "Next review".into(),
                f.next_review.map(long_date).unwrap_or_else(|| "not set".into()),
            ),
            ("Status".into(), f.status.clone()),
            ("Applies to".into(), f.applies_to.clone()),
            ("Criteria supported".into(), f.criteria.join(", ")),
        ],
        missing: Vec::new(),
        outline: false,
        breaks: false,
        blocks: Vec::new(),
    };
    markdown_blocks(body, &mut d.blocks);
    // The title is on the cover already.
    if matches!(d.blocks.first(), Some(Block::Heading { text, .. }) if *text == f.title) {
        d.blocks.remove(0);
    }
    if !f.enforcement.is_empty() {
        d.h(1, "How each statement is enforced");
        d.table(
            &["Statement", "Controls", "Tests"],
            &[1, 2, 4],
            f.enforcement
                .iter()
                .map(|e| {
                    vec![
                        e.statement.clone(),
                        if e.controls.is_empty() {
                            "none named".into()
                        } else {
                            e.controls.join(", ")
                        },
                        e.tests.join(", "),
                    ]
                })
                .collect(),
        );
    }
    if !f.controls.is_empty() {
        d.h(1, "Controls that carry out this policy");
        d.table(
            &["Control", "Title"],
            &[1, 5],
            f.controls.iter().map(|(id, t)| vec![id.clone(), t.clone()]).collect(),
        );
    }
    d.h(1, "Version history");
    if f.history.is_empty() {
        d.p("No change history is available (the project is not under git, or this file has no commits yet).");
    } else {
        d.table(
            &["Date", "Author", "Change", "Commit"],
            &[2, 3, 6, 2],
            f.history
                .iter()
                .map(|c| {
                    vec![
                        c.date.clone(),
                        c.author.clone(),
                        c.summary.clone(),
                        c.commit.chars().take(10).collect(),
                    ]
                })
                .collect(),
        );
    }
    d
}

/// Markdown to blocks: headings, paragraphs, lists and tables; raw HTML is kept as text.
fn markdown_blocks(body: &str, out: &mut Vec<Block>) {
    let mut text = String::new();
    let mut list: Vec<(bool, Vec<String>)> = Vec::new();
    let mut table: Option<(Vec<String>, Vec<Vec<String>>, bool)> = None;
    let mut row: Vec<String> = Vec::new();
    let mut heading: Option<u8> = None;
    for ev in Parser::new_ext(body, Options::ENABLE_TABLES) {
        match ev {
            Event::Start(Tag::Heading { level, .. }) => {
                heading = Some(match level {
                    HeadingLevel::H1 | HeadingLevel::H2 => 1,
                    HeadingLevel::H3 => 2,
                    _ => 3,
                });
                text.clear();
            }
            Event::End(TagEnd::Heading(_)) => {
                out.push(Block::Heading {
                    level: heading.take().unwrap_or(2),
                    text: std::mem::take(&mut text).trim().to_string(),
                });
            }
            Event::Start(Tag::List(start)) => list.push((start.is_some(), Vec::new())),
            Event::End(TagEnd::List(_)) => {
                if let Some((numbered, items)) = list.pop() {
                    if let Some((_, parent)) = list.last_mut() {
                        parent.extend(items.into_iter().map(|i| format!("– {i}")));
                    } else if numbered {
                        out.push(Block::Numbered { items });
                    } else {
                        out.push(Block::Bullets { items });
                    }
                }
            }
            Event::Start(Tag::Item) => text.clear(),
            Event::End(TagEnd::Item) => {
                let t = std::mem::take(&mut text).trim().to_string();
                if let Some((_, items)) = list.last_mut()
                    && !t.is_empty()
                {
                    items.push(t);
                }
            }
            Event::Start(Tag::Table(_)) => table = Some((Vec::new(), Vec::new(), true)),
            Event::End(TagEnd::TableHead) => {
                if let Some(tb) = table.as_mut() {
                    tb.0 = std::mem::take(&mut row);
                    tb.2 = false;
                }
            }
            Event::End(TagEnd::TableRow) => {
                if let Some(tb) = table.as_mut() {
                    tb.1.push(std::mem::take(&mut row));
                }
            }
            Event::Start(Tag::TableCell) => text.clear(),
            Event::End(TagEnd::TableCell) => row.push(std::mem::take(&mut text).trim().to_string()),
            Event::End(TagEnd::Table) => {
                if let Some((columns, rows, _)) = table.take() {
                    let widths = vec![1; columns.len()];
                    out.push(Block::Table { columns, widths, rows });
                }
            }
            Event::Start(Tag::Paragraph) if list.is_empty() => text.clear(),
            Event::End(TagEnd::Paragraph) => {
                if list.is_empty() {
                    let t = std::mem::take(&mut text).trim().to_string();
                    if !t.is_empty() {
                        out.push(Block::Para { text: t });
                    }
                } else {
                    text.push(' ');
                }
            }
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            _ => {}
        }
    }
}
