//! Policy documents: the numbered statements a policy makes, its version history, and rendering to
//! Markdown and to one self-contained HTML page (no scripts, no network), for people and auditors.
//!
//! Pure: the history comes from the caller (the CLI reads git); nothing here reads files.

#![warn(missing_docs)]

use std::fmt::Write as _;

use assure_project::Project;
use assure_project::model::Policy;
use chrono::NaiveDate;
use pulldown_cmark::{Event, Options, Parser, html};
use serde::Serialize;

pub use assure_project::model::{Statement, statements};

/// One change in a policy's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// When.
    pub date: String,
    /// Who.
    pub author: String,
    /// What (the commit message).
    pub summary: String,
    /// The commit, abbreviated.
    pub commit: String,
}

/// The facts shown in a policy's header and version table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// The organization.
    pub organization: String,
    /// The policy id.
    pub id: String,
    /// The title.
    pub title: String,
    /// Owner's name.
    pub owner: String,
    /// Version.
    pub version: String,
    /// Approver's name.
    pub approved_by: String,
    /// Approval date.
    pub approved_on: Option<NaiveDate>,
    /// Next review due.
    pub next_review: Option<NaiveDate>,
    /// `current`, `review overdue` or `not approved`, as of the date given.
    pub status: String,
    /// Who it applies to.
    pub applies_to: String,
    /// Criteria it supports.
    pub criteria: Vec<String>,
    /// Controls that carry it out: id and title.
    pub controls: Vec<(String, String)>,
    /// Its statements.
    pub statements: Vec<Statement>,
    /// The controls and tests that enforce each statement, in statement order.
    pub enforcement: Vec<Enforcement>,
    /// Its change history, newest first.
    pub history: Vec<Change>,
}

/// Gathers the facts about a policy as of a date.
pub fn facts(p: &Project, policy: &Policy, as_of: NaiveDate, history: Vec<Change>) -> Facts {
    let name = |r: Option<&assure_project::model::Ref>| {
        r.map_or_else(
            || "none".to_string(),
            |r| p.person(r).map_or_else(|| r.to_string(), |x| x.name.clone()),
        )
    };
    let next = policy.next_review();
    let status = match (policy.approved_on, next) {
        (Some(a), _) if a.0 > as_of => "not approved",
        (None, _) | (_, None) => "not approved",
        (_, Some(n)) if n < as_of => "review overdue",
        _ => "current",
    };
    let mut controls: Vec<(String, String)> = p
        .controls
        .iter()
        .filter(|c| c.policies.iter().any(|r| r.as_str() == policy.id.as_str()))
        .map(|c| (c.id.to_string(), c.title.clone()))
        .collect();
    controls.sort();
    let numbered = statements(&policy.body);
    let enforcement = numbered
        .iter()
        .map(|st| {
            let links = policy.statements.get(&st.id);
            let ctrl: Vec<String> = links
                .map(|l| l.controls.iter().map(|c| c.to_string()).collect())
                .unwrap_or_default();
            let mut tests: Vec<String> = links
                .map(|l| l.tests.iter().map(|t| t.to_string()).collect())
                .unwrap_or_default();
            for c in &ctrl {
                if let Some(control) = p.control(c) {
                    tests.extend(control.tests.iter().map(|t| t.to_string()));
                }
            }
            tests.sort();
            tests.dedup();
            Enforcement {
                statement: st.id.clone(),
                controls: ctrl,
                tests,
            }
        })
        .collect();
    Facts {
        organization: p.manifest.organization.name.clone(),
        id: policy.id.to_string(),
        title: policy.title.clone(),
        owner: name(policy.owner.as_ref()),
        version: policy.version.clone().unwrap_or_else(|| "unversioned".into()),
        approved_by: name(policy.approved_by.as_ref()),
        approved_on: policy.approved_on.map(|d| d.0),
        next_review: next,
        status: status.to_string(),
        applies_to: policy.applies_to.clone().unwrap_or_else(|| "all".into()),
        criteria: policy.criteria.iter().map(|c| c.to_string()).collect(),
        controls,
        statements: numbered,
        enforcement,
        history,
    }
}

fn date(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| "—".to_string(), |d| d.to_string())
}

/// The controls and tests that enforce one numbered statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enforcement {
    /// The statement id.
    pub statement: String,
    /// Controls named for it in the front matter.
    pub controls: Vec<String>,
    /// Tests named for it, and the tests of its controls.
    pub tests: Vec<String>,
}

/// Renders a policy as Markdown with a document-control table and its version history.
pub fn markdown(f: &Facts, body: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", f.title);
    let _ = writeln!(s, "| {} | |\n|---|---|", f.organization);
    for (k, v) in [
        ("Policy", f.id.clone()),
        ("Version", f.version.clone()),
        ("Owner", f.owner.clone()),
        ("Approved by", f.approved_by.clone()),
        ("Approved on", date(f.approved_on)),
        ("Next review due", date(f.next_review)),
        ("Status", f.status.clone()),
        ("Applies to", f.applies_to.clone()),
    ] {
        let _ = writeln!(s, "| {k} | {v} |");
    }
    let _ = writeln!(s);
    // The body without its own top-level title, which the header replaces.
    let body = body.trim_start();
    let body = if body.starts_with("# ") {
        body.split_once('\n').map_or("", |(_, r)| r)
    } else {
        body
    };
    let _ = writeln!(s, "{}\n", body.trim());
    if !f.enforcement.is_empty() {
        let _ = writeln!(s, "## How each statement is enforced\n");
        let _ = writeln!(s, "| Statement | Controls | Tests |\n|---|---|---|");
        for e in &f.enforcement {
            let controls = if e.controls.is_empty() {
                "none named".to_string()
            } else {
                e.controls.join(", ")
            };
            let _ = writeln!(s, "| {} | {} | {} |", e.statement, controls, e.tests.join(", "));
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "## Version history\n");
    if f.history.is_empty() {
        let _ = writeln!(
            s,
            "| Version | Date | By | Change |\n|---|---|---|---|\n| {} | {} | {} | approved |",
            f.version,
            date(f.approved_on),
            f.approved_by
        );
    } else {
        let _ = writeln!(s, "| Date | By | Change | Commit |\n|---|---|---|---|");
        for c in &f.history {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                c.date,
                c.author,
                c.summary.replace('|', "\\|"),
                c.commit
            );
        }
    }
    s
}

fn esc(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const CSS: &str = "body{font:15px/1.55 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2433;max-width:820px;margin:32px auto;padding:0 24px}h1{font-size:26px;margin-bottom:4px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #dfe3ea;padding-bottom:4px}table{border-collapse:collapse;width:100%;font-size:14px;margin:10px 0}th,td{border:1px solid #dfe3ea;padding:5px 8px;text-align:left;vertical-align:top}th{background:#f3f5f8}.meta td:first-child{width:180px;color:#5b6478}.org{color:#5b6478;margin:0 0 18px}.st{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}.current{background:#dcf2e3;color:#1d6b3a}.overdue{background:#fde2e0;color:#8a1c12}@media print{body{margin:0}}";

/// Whether a link target is safe to follow from a policy: the web, mail, and places inside the
/// document or the site; never `javascript:`, `data:` or other schemes.
fn safe_link(dest: &str) -> bool {
    let d = dest.trim().to_ascii_lowercase();
    match d.split_once(':') {
        Some((scheme, _)) if !scheme.contains('/') && !scheme.contains('#') && !scheme.contains('?') => {
            matches!(scheme, "http" | "https" | "mailto")
        }
        _ => true,
    }
}

/// Markdown to HTML for policies, in every HTML output: raw HTML is shown as text, links keep only
/// safe targets (others become plain text), and images are shown as their description, so a policy
/// never runs script or fetches anything when it is opened.
pub fn safe_html(body: &str) -> String {
    use pulldown_cmark::{Tag, TagEnd};
    let mut skip_link = Vec::new();
    let mut in_image = 0usize;
    let parser = Parser::new_ext(body, Options::ENABLE_TABLES).filter_map(|e| match e {
        Event::Html(t) | Event::InlineHtml(t) => Some(Event::Text(t)),
        Event::Start(Tag::Link { ref dest_url, .. }) => {
            let unsafe_link = !safe_link(dest_url);
            skip_link.push(unsafe_link);
            if unsafe_link { None } else { Some(e) }
        }
        Event::End(TagEnd::Link) => {
            if skip_link.pop().unwrap_or(false) {
                None
            } else {
                Some(e)
            }
        }
        Event::Start(Tag::Image { .. }) => {
            in_image += 1;
            Some(Event::Text("[image: ".into()))
        }
        Event::End(TagEnd::Image) => {
            in_image = in_image.saturating_sub(1);
            Some(Event::Text("]".into()))
        }
        other => Some(other),
    });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    out
}

/// Renders a policy as one self-contained HTML page. Raw HTML in the Markdown is shown as text,
/// unsafe links as plain text and images as their description ([`safe_html`]).
pub fn html(f: &Facts, body: &str) -> String {
    let md = markdown(f, body);
    let inner = safe_html(&md);
    let class = if f.status == "current" { "current" } else { "overdue" };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — {}</title><style>{CSS}</style></head><body><p class=\"org\">{} · policy {} · version {} · <span class=\"st {class}\">{}</span></p>{inner}</body></html>\n",
        esc(&f.title),
        esc(&f.organization),
        esc(&f.organization),
        esc(&f.id),
        esc(&f.version),
        esc(&f.status)
    )
}
