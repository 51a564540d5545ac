//! HTML building blocks: escaping, the page layout and the stylesheet. No JavaScript is needed to
//! use the application; everything is a link or a form.

use crate::db::User;

pub use assure_report::doc::esc;

/// The stylesheet, served at `/assets/app.css`.
pub const CSS: &str = r#":root{--ink:#1d2433;--muted:#5b6478;--line:#dde3ec;--brand:#1d4e89;--bg:#f6f8fb;--ok:#1d6b3a;--okbg:#dcf2e3;--bad:#8a1c12;--badbg:#fde2e0;--warn:#7a5200;--warnbg:#fff3cd}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
a{color:var(--brand)}header.top{background:#fff;border-bottom:1px solid var(--line);display:flex;align-items:center;gap:1.5rem;padding:.6rem 1.5rem;flex-wrap:wrap}
header.top .brand{font-weight:700;color:var(--brand);text-decoration:none;font-size:1.1rem}header.top nav a{margin-right:1rem;text-decoration:none;color:var(--ink)}
header.top nav a.on{color:var(--brand);font-weight:600;border-bottom:2px solid var(--brand)}header.top .me{margin-left:auto;color:var(--muted);font-size:.9rem}
header.top .me form{display:inline}main{max-width:76rem;margin:1.5rem auto;padding:0 1.5rem}h1{font-size:1.5rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:1.6rem 0 .6rem}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem 1.2rem;margin-bottom:1rem}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:1rem}
.big{font-size:2rem;font-weight:700}.muted{color:var(--muted)}table{border-collapse:collapse;width:100%;background:#fff}th,td{border-bottom:1px solid var(--line);padding:.45rem .6rem;text-align:left;vertical-align:top}
th{background:#eef2f8;font-weight:600;font-size:.9rem}.bar{background:#e9edf3;border-radius:4px;height:.6rem;overflow:hidden}.bar span{display:block;height:100%;background:var(--brand)}
.pill{display:inline-block;padding:.05rem .55rem;border-radius:999px;font-size:.8rem;font-weight:600}.ok{background:var(--okbg);color:var(--ok)}.bad{background:var(--badbg);color:var(--bad)}.warn{background:var(--warnbg);color:var(--warn)}
.heat{display:grid;grid-template-columns:repeat(auto-fill,minmax(4.6rem,1fr));gap:.3rem}.heat a{display:block;padding:.35rem;border-radius:5px;text-align:center;font-size:.8rem;text-decoration:none;color:#fff}.legend{display:flex;flex-wrap:wrap;gap:.8rem;margin-top:.7rem;font-size:.8rem}.legend span{display:inline-flex;align-items:center;gap:.3rem}.legend i{width:.9rem;height:.9rem;border-radius:3px;display:inline-block;border:1px solid #0002}
form.inline{display:inline}form.inline>button{display:inline-block;margin:.15rem 0}details.inline{display:inline-block;vertical-align:top}details.inline summary{cursor:pointer;color:var(--brand)}.pager{display:flex;gap:1rem;align-items:center;margin:.6rem 0}label{display:block;font-weight:600;margin:.6rem 0 .2rem}input,select,textarea{font:inherit;padding:.4rem .5rem;border:1px solid #b8c2d0;border-radius:5px;width:100%;max-width:32rem;background:#fff}
textarea{min-height:5rem}button{font:inherit;background:var(--brand);color:#fff;border:0;border-radius:5px;padding:.45rem 1rem;cursor:pointer;margin-top:.6rem}button.link{background:none;color:var(--brand);padding:0;margin:0}
form>button{display:block}.error{color:var(--bad);font-size:.9rem;margin-top:.2rem}.flash{padding:.6rem .9rem;border-radius:6px;margin-bottom:1rem}.filters{display:flex;gap:.8rem;flex-wrap:wrap;align-items:end}.filters label{margin:0}.filters select,.filters input{width:auto}
.comment{border-left:3px solid var(--line);padding:.2rem .8rem;margin:.6rem 0}.prose{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem 1.5rem}
footer{max-width:76rem;margin:2rem auto;padding:0 1.5rem;color:var(--muted);font-size:.8rem}
pre{white-space:pre-wrap;overflow-wrap:anywhere}.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}.scroll{overflow-x:auto}table.calendar td .pill{margin:.1rem 0;min-width:1.2rem;text-align:center}
table.riskmap{width:auto}table.riskmap td{min-width:4.5rem;height:2.6rem;text-align:center;font-size:.8rem}table.riskmap td.ok{background:var(--okbg)}table.riskmap td.warn{background:var(--warnbg)}table.riskmap td.bad{background:var(--badbg)}table.riskmap caption{font-weight:600;text-align:left;padding:.3rem 0}
code.hash{font:.78rem/1.3 ui-monospace,"DejaVu Sans Mono",monospace;word-break:break-all;display:inline-block;max-width:17rem}
.checklist{margin:.4rem 0;padding-left:1.2rem}.checklist li{margin:.45rem 0}.skip{position:absolute;left:-999rem;top:.4rem;background:#fff;color:var(--brand);padding:.4rem .8rem;border:2px solid var(--brand);border-radius:5px;z-index:10}.skip:focus{left:.5rem}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,summary:focus-visible,[tabindex]:focus-visible{outline:3px solid var(--brand);outline-offset:2px;box-shadow:0 0 0 5px #fff}
@media (max-width:40rem){header.top{gap:.4rem;padding:.5rem .8rem}header.top nav{display:flex;flex-wrap:wrap;gap:.15rem .9rem}header.top nav a{margin-right:0}header.top .me{margin-left:0}main{padding:0 .8rem;margin-top:1rem}th,td{overflow-wrap:anywhere;padding:.35rem .4rem;font-size:.85rem}code,code.hash{max-width:100%;overflow-wrap:anywhere;word-break:break-all}pre{overflow-wrap:anywhere}table.riskmap td{min-width:2.6rem}.big{font-size:1.6rem}}"#;

/// The application's icon (a shield with a tick), served at `/favicon.ico` and `/assets/icon.svg`.
pub const ICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><path d="M16 2 4 6v9c0 7.5 5.1 13.2 12 15 6.9-1.8 12-7.5 12-15V6z" fill="#1d4e89"/><path d="m10 16 4 4 8-9" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/></svg>"##;

/// A score as a coloured pill.
pub fn score_pill(v: f64) -> String {
    let class = if v >= 0.9 {
        "ok"
    } else if v >= 0.6 {
        "warn"
    } else {
        "bad"
    };
    format!("<span class=\"pill {class}\">{:.0} %</span>", v * 100.0)
}

/// A whole page: header with navigation for the signed-in person, then the body.
pub fn page(title: &str, user: Option<(&User, &str)>, active: &str, body: &str) -> String {
    let mut nav = String::new();
    let mut me = String::new();
    if let Some((u, csrf)) = user {
        let role = crate::authz::Role::parse(&u.role);
        let mut items = vec![
            ("/", "Dashboard"),
            ("/controls", "Controls"),
            ("/risks", "Risks"),
            ("/vendors", "Vendors"),
            ("/tests", "Tests"),
            ("/periods", "Periods"),
            ("/monitoring", "Monitoring"),
            ("/window", "Window"),
            ("/my-work", "My work"),
        ];
        let can = |a| role.is_some_and(|r| crate::authz::role_allows(r, a));
        if can(crate::authz::Action::ReadEvidence) {
            items.push(("/evidence", "Evidence"));
        }
        if can(crate::authz::Action::ReadRequests) {
            items.push(("/requests", "Requests"));
        }
        items.push(("/policies", "Policies"));
        if can(crate::authz::Action::ReadQuestionnaires) {
            items.push(("/questionnaires", "Questionnaires"));
        }
        if can(crate::authz::Action::ReadAudit) {
            items.push(("/audit", "Audit log"));
        }
        if can(crate::authz::Action::ManageUsers) {
            items.push(("/users", "Users"));
        }
        for (href, label) in items {
            let on = if href == active {
                " class=\"on\" aria-current=\"page\""
            } else {
                ""
            };
            nav.push_str(&format!("<a href=\"{href}\"{on}>{label}</a>"));
        }
        me = format!(
            "<span class=\"me\">{} · {} · <a href=\"/tokens\">API tokens</a> · <form class=\"inline\" method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button class=\"link\" type=\"submit\">Sign out</button></form></span>",
            esc(&u.name),
            role.map(|r| r.label()).unwrap_or("unknown role"),
            esc(csrf)
        );
    }
    // A table that scrolls sideways is reachable by keyboard (focus it, then the arrow keys).
    let body = caption_tables(&scope_headers(body), &esc(title)).replace(
        "<div class=\"scroll\">",
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Table (scrolls sideways when wide)\">",
    );
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} · Assure</title><link rel=\"icon\" href=\"/assets/icon.svg\" type=\"image/svg+xml\"><link rel=\"stylesheet\" href=\"/assets/app.css\"></head><body><a class=\"skip\" href=\"#main\">Skip to content</a><header class=\"top\"><a class=\"brand\" href=\"/\">Assure</a><nav aria-label=\"Main\">{nav}</nav>{me}</header><main id=\"main\" tabindex=\"-1\">{body}</main><footer>Assure · every figure here can be re-performed from the project's signed ledger.</footer></body></html>\n",
        esc(title)
    )
}

/// Gives every header cell without a scope its scope: a row's header when a data cell follows it
/// in the row (the label-value tables), else its column's. Screen readers then read each cell
/// with its header, on every table of every page.
pub fn scope_headers(body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 256);
    let mut rest = body;
    while let Some(i) = rest.find("<th>") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 4..];
        let row = after.find("</th>").is_some_and(|j| after[j + 5..].starts_with("<td"));
        out.push_str(if row {
            "<th scope=\"row\">"
        } else {
            "<th scope=\"col\">"
        });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Gives every table without a caption one, for screen readers only (class `sr`): the text of the
/// nearest heading above it, else the page's title (`title`, already escaped), so a reader moving
/// from table to table hears what each one holds. Tables that have a caption keep theirs.
pub fn caption_tables(body: &str, title: &str) -> String {
    let mut out = String::with_capacity(body.len() + 512);
    let mut heading = title.to_string();
    let mut rest = body;
    while let Some(i) = rest.find("<table") {
        let (before, at) = rest.split_at(i);
        if let Some(h) = last_heading(before) {
            heading = h;
        }
        out.push_str(before);
        let Some(end) = at.find('>') else {
            out.push_str(at);
            return out;
        };
        let (tag, after) = at.split_at(end + 1);
        out.push_str(tag);
        let is_table = tag == "<table>" || tag.starts_with("<table ");
        if is_table && !after.starts_with("<caption") {
            out.push_str(&format!("<caption class=\"sr\">{heading}</caption>"));
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The text of the last `h1`-`h3` in `html` (its markup left out; the text stays escaped).
fn last_heading(html: &str) -> Option<String> {
    let start = ["<h1", "<h2", "<h3"].iter().filter_map(|t| html.rfind(t)).max()?;
    let inner = &html[start..];
    let open = inner.find('>')? + 1;
    let close = inner[open..].find("</h").map_or(inner.len(), |c| open + c);
    let mut text = String::new();
    let mut in_tag = false;
    for c in inner[open..close].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

/// An attribute's value as written by [`esc`], read back (`&amp;` and the quotes).
pub fn unescape_attr(v: &str) -> String {
    v.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A hidden CSRF field.
pub fn csrf_field(csrf: &str) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(csrf))
}

/// A date-time from microseconds since 1970 as `2026-12-31 18:00 UTC`.
pub fn when(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}
