//! The document model every report is built as, and its HTML rendering.
//!
//! A report is a flat list of blocks under a title page. The PDF renderer (`assure-pdf`) and the
//! HTML renderer here read the same model, so the two formats cannot say different things.

use serde::Serialize;

/// A whole document.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Document {
    /// What kind of document (`soc2`, `soc1`, `soc3`, `readiness`, `bridge`, `matrix`, `policy`).
    pub kind: String,
    /// The title on the cover.
    pub title: String,
    /// The line under the title.
    pub subtitle: String,
    /// The organization, in every page header.
    pub organization: String,
    /// The rest of the page header: report and period.
    pub header: String,
    /// The as-of date, ISO.
    pub as_of: String,
    /// Who prepared it and its status, on the cover and in every footer.
    pub notice: String,
    /// Facts on the cover (label, value).
    pub cover: Vec<(String, String)>,
    /// Required elements the project lacks; listed on the cover and shown where they belong.
    pub missing: Vec<Missing>,
    /// Whether a table of contents follows the cover.
    pub outline: bool,
    /// Whether each level-1 heading starts a new page (reports: yes; policies and letters: no).
    pub breaks: bool,
    /// The body.
    pub blocks: Vec<Block>,
}

/// A required element the project does not supply.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Missing {
    /// The element (`DC6`, `Section V`).
    pub element: String,
    /// What is missing.
    pub text: String,
    /// What to do about it.
    pub fix: String,
}

/// One block of a document.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Block {
    /// A heading; level 1 starts a new page in the PDF.
    Heading {
        /// 1 to 3.
        level: u8,
        /// The text.
        text: String,
    },
    /// A paragraph of plain text.
    Para {
        /// The text.
        text: String,
    },
    /// A bulleted list.
    Bullets {
        /// The items.
        items: Vec<String>,
    },
    /// A numbered list.
    Numbered {
        /// The items.
        items: Vec<String>,
    },
    /// A table with a header row that repeats on every page.
    Table {
        /// Column headings.
        columns: Vec<String>,
        /// Relative column widths, one per column.
        widths: Vec<u8>,
        /// The rows; each has one cell per column.
        rows: Vec<Vec<String>>,
    },
    /// Label and value pairs.
    Fields {
        /// The pairs.
        rows: Vec<(String, String)>,
    },
    /// A part someone else writes (the auditor's opinion, a signature).
    Placeholder {
        /// What belongs here.
        title: String,
        /// Who writes it and how.
        text: String,
    },
    /// A required element the project lacks, shown where it belongs.
    Gap {
        /// The element.
        element: String,
        /// What is missing.
        text: String,
        /// What to do.
        fix: String,
    },
    /// A short note set apart from the text.
    Note {
        /// The text.
        text: String,
    },
}

impl Document {
    /// Adds a visible gap at this point and lists it on the cover.
    pub fn gap(&mut self, element: &str, text: impl Into<String>, fix: impl Into<String>) {
        let (text, fix) = (text.into(), fix.into());
        self.missing.push(Missing {
            element: element.to_string(),
            text: text.clone(),
            fix: fix.clone(),
        });
        self.blocks.push(Block::Gap {
            element: element.to_string(),
            text,
            fix,
        });
    }

    /// Adds a heading.
    pub fn h(&mut self, level: u8, text: impl Into<String>) {
        self.blocks.push(Block::Heading {
            level,
            text: text.into(),
        });
    }

    /// Adds a paragraph.
    pub fn p(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Para { text: text.into() });
    }

    /// Adds a bulleted list.
    pub fn bullets(&mut self, items: Vec<String>) {
        self.blocks.push(Block::Bullets { items });
    }

    /// Adds a table.
    pub fn table(&mut self, columns: &[&str], widths: &[u8], rows: Vec<Vec<String>>) {
        self.blocks.push(Block::Table {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            widths: widths.to_vec(),
            rows,
        });
    }

    /// Adds a note.
    pub fn note(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Note { text: text.into() });
    }

    /// Every piece of text in reading order, one line each: what a reader of any rendering sees.
    pub fn text_lines(&self) -> Vec<String> {
        let mut out = vec![self.title.clone(), self.subtitle.clone()];
        for b in &self.blocks {
            match b {
                Block::Heading { text, .. } | Block::Para { text } | Block::Note { text } => out.push(text.clone()),
                Block::Bullets { items } | Block::Numbered { items } => out.extend(items.iter().cloned()),
                Block::Table { columns, rows, .. } => {
                    out.push(columns.join(" | "));
                    out.extend(rows.iter().map(|r| r.join(" | ")));
                }
                Block::Fields { rows } => out.extend(rows.iter().map(|(k, v)| format!("{k}: {v}"))),
                Block::Placeholder { title, text } => out.push(format!("{title}: {text}")),
                Block::Gap { element, text, fix } => out.push(format!("MISSING {element}: {text} {fix}")),
            }
        }
        out
    }
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const CSS: &str = "body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d2433;max-width:62rem;margin:2rem auto;padding:0 1.5rem}
header.cover{border-bottom:3px solid #1d4e89;padding-bottom:1rem;margin-bottom:1.5rem}
header.cover h1{margin:.2rem 0;font-size:2rem;color:#1d4e89}.sub{font-size:1.15rem;color:#445}
.notice{background:#fff8e1;border-left:4px solid #e0a800;padding:.5rem .8rem;margin:1rem 0}
h2{color:#1d4e89;border-bottom:1px solid #d5dbe5;padding-bottom:.2rem;margin-top:2.2rem}h3{margin-top:1.6rem}h4{margin-bottom:.3rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0 1rem;font-size:.9rem}th,td{border:1px solid #d5dbe5;padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#eef2f8}tr:nth-child(even) td{background:#fafbfd}table.fields th{width:30%}
.placeholder{border:2px dashed #8a94a6;padding:.8rem 1rem;margin:1rem 0;color:#445;background:#f6f7f9}
.gap{border:2px solid #c62828;background:#fdecea;padding:.6rem .9rem;margin:1rem 0}.gap b{color:#c62828}
.note{color:#445;font-size:.9rem;border-left:3px solid #d5dbe5;padding-left:.7rem}
nav.toc{columns:2;font-size:.9rem}nav.toc a{color:#1d4e89;text-decoration:none;display:block}";

/// Renders the document as one self-contained HTML page (no scripts, no external resources).
pub fn html(d: &Document) -> String {
    let mut o = String::new();
    o.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    o.push_str(&format!("<title>{} – {}</title>", esc(&d.organization), esc(&d.title)));
    o.push_str(&format!("<style>{CSS}</style></head><body>\n<header class=\"cover\">"));
    o.push_str(&format!(
        "<div>{}</div><h1>{}</h1><div class=\"sub\">{}</div>",
        esc(&d.organization),
        esc(&d.title),
        esc(&d.subtitle)
    ));
    if !d.cover.is_empty() {
        o.push_str("<table class=\"fields\">");
        for (k, v) in &d.cover {
            o.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v)));
        }
        o.push_str("</table>");
    }
    o.push_str(&format!("<div class=\"notice\">{}</div>", esc(&d.notice)));
    if !d.missing.is_empty() {
        o.push_str(&format!(
            "<div class=\"gap\"><b>This draft lacks {} required element{}.</b><ul>",
            d.missing.len(),
            if d.missing.len() == 1 { "" } else { "s" }
        ));
        for m in &d.missing {
            o.push_str(&format!(
                "<li><b>{}</b>: {} {}</li>",
                esc(&m.element),
                esc(&m.text),
                esc(&m.fix)
            ));
        }
        o.push_str("</ul></div>");
    }
    o.push_str("</header>\n");
    if d.outline {
        o.push_str("<nav class=\"toc\"><h2>Contents</h2>");
        for (i, b) in d.blocks.iter().enumerate() {
            if let Block::Heading { level: 1 | 2, text } = b {
                o.push_str(&format!("<a href=\"#s{i}\">{}</a>", esc(text)));
            }
        }
        o.push_str("</nav>\n");
    }
    for (i, b) in d.blocks.iter().enumerate() {
        match b {
            Block::Heading { level, text } => {
                let n = (*level).clamp(1, 3) + 1;
                o.push_str(&format!("<h{n} id=\"s{i}\">{}</h{n}>\n", esc(text)));
            }
            Block::Para { text } => o.push_str(&format!("<p>{}</p>\n", esc(text))),
            Block::Note { text } => o.push_str(&format!("<p class=\"note\">{}</p>\n", esc(text))),
            Block::Bullets { items } | Block::Numbered { items } => {
                let tag = if matches!(b, Block::Numbered { .. }) {
                    "ol"
                } else {
                    "ul"
                };
                o.push_str(&format!("<{tag}>"));
                for it in items {
                    o.push_str(&format!("<li>{}</li>", esc(it)));
                }
                o.push_str(&format!("</{tag}>\n"));
            }
            Block::Table { columns, rows, .. } => {
                o.push_str("<table><thead><tr>");
                for c in columns {
                    o.push_str(&format!("<th>{}</th>", esc(c)));
                }
                o.push_str("</tr></thead><tbody>");
                for r in rows {
                    o.push_str("<tr>");
                    for c in r {
                        o.push_str(&format!("<td>{}</td>", esc(c)));
                    }
                    o.push_str("</tr>");
                }
                o.push_str("</tbody></table>\n");
            }
            Block::Fields { rows } => {
                o.push_str("<table class=\"fields\">");
                for (k, v) in rows {
                    o.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v)));
                }
                o.push_str("</table>\n");
            }
            Block::Placeholder { title, text } => o.push_str(&format!(
                "<div class=\"placeholder\"><b>{}</b><br>{}</div>\n",
                esc(title),
                esc(text)
            )),
            Block::Gap { element, text, fix } => o.push_str(&format!(
                "<div class=\"gap\"><b>Missing: {}</b> {} <i>{}</i></div>\n",
                esc(element),
                esc(text),
                esc(fix)
            )),
        }
    }
    o.push_str(&format!(
        "<footer class=\"note\">{}</footer>\n</body></html>\n",
        esc(&d.notice)
    ));
    o
}
