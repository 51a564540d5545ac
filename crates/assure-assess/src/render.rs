//! Renders an [`Assessment`] as plain text, Markdown, a self-contained HTML page or JSON.
//! Output depends only on the assessment: the same inputs and as-of date give the same bytes.

use std::fmt::Write as _;

use assure_catalog::series;

use crate::gap::{Assessment, CheckStatus, Gap};

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

fn scope_line(a: &Assessment) -> String {
    let mut parts = vec![if a.reports_in_scope.is_empty() {
        "no report".to_string()
    } else {
        a.reports_in_scope.join(" + ")
    }];
    if let Some(t) = a.exam_type {
        parts.push(t.to_string());
    }
    if let Some(w) = &a.window {
        parts.push(w.clone());
    }
    if !a.categories.is_empty() {
        parts.push(
            a.categories
                .iter()
                .map(|c| c.label.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    parts.join("; ")
}

fn inputs_line(a: &Assessment) -> &'static str {
    if a.operating_inputs {
        "Operating inputs: evidence and test results are included in the scores."
    } else {
        "Operating inputs: none yet. Evidence freshness and test results join the score once `assure evidence` and `assure test` have run; until then only design is assessed."
    }
}

fn owner_of(a: &Assessment, g: &Gap) -> String {
    match &g.owner {
        Some(id) => a
            .plan
            .iter()
            .find(|p| &p.owner == id)
            .map_or(id.clone(), |p| p.name.clone()),
        None => "Unassigned".into(),
    }
}

/// Renders plain text that stays readable without colour.
pub fn text(a: &Assessment) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Readiness of {} as of {}", a.organization, a.as_of);
    let _ = writeln!(s, "Scope: {}", scope_line(a));
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Overall readiness: {} over {} criteria and objectives ({} with no control)",
        pct(a.overall.value),
        a.overall.items,
        a.overall.uncovered
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<22} {:>7} {:>7} {:>12}",
        "Report / category", "Score", "Items", "No control"
    );
    for sc in a.reports.iter().chain(a.categories.iter()) {
        let _ = writeln!(
            s,
            "{:<22} {:>7} {:>7} {:>12}",
            sc.label,
            pct(sc.value),
            sc.items,
            sc.uncovered
        );
    }
    let _ = writeln!(s);
    let design_gaps = a.gaps.len();
    let _ = writeln!(s, "Gaps ({design_gaps}), most blocking first:");
    if a.gaps.is_empty() {
        let _ = writeln!(s, "  none");
    }
    for (i, g) in a.gaps.iter().enumerate() {
        let key = if g.key { " [key]" } else { "" };
        let _ = writeln!(s, "  {:>3}. {:<22} {}{key}", i + 1, g.kind, g.message);
        let _ = writeln!(s, "       {:<22} fix: {} (owner: {})", "", g.action, owner_of(a, g));
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "Remediation plan by owner:");
    for group in &a.plan {
        let who = if group.owner.is_empty() {
            group.name.clone()
        } else {
            format!("{} ({})", group.name, group.owner)
        };
        let _ = writeln!(s, "  {who}: {} item(s)", group.gaps.len());
        for &i in &group.gaps {
            if let Some(g) = a.gaps.get(i) {
                let _ = writeln!(s, "    - {} {}: {}", g.kind, g.subject, g.action);
            }
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "{:<10} {:>7}  {:<28} Title", "Item", "Score", "Controls");
    for i in &a.items {
        let score = i.score.map_or_else(|| "n/a".to_string(), pct);
        let controls = if let Some(r) = &i.not_relevant {
            format!("not relevant: {r}")
        } else if i.controls.is_empty() {
            "NONE".to_string()
        } else {
            let mut c = i.controls.iter().take(4).cloned().collect::<Vec<_>>().join(",");
            if i.controls.len() > 4 {
                c.push_str(&format!(" +{}", i.controls.len() - 4));
            }
            c
        };
        let _ = writeln!(s, "{:<10} {:>7}  {:<28} {}", i.id, score, controls, i.title);
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "{}", inputs_line(a));
    let _ = writeln!(s, "How the score is computed: {}", a.formula);
    s
}

/// Renders Markdown.
pub fn markdown(a: &Assessment) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Readiness of {} as of {}\n", a.organization, a.as_of);
    let _ = writeln!(s, "Scope: {}\n", scope_line(a));
    let _ = writeln!(
        s,
        "**Overall readiness: {}** over {} criteria and objectives ({} with no control).\n",
        pct(a.overall.value),
        a.overall.items,
        a.overall.uncovered
    );
    let _ = writeln!(
        s,
        "| Report / category | Score | Items | No control |\n|---|---:|---:|---:|"
    );
    for sc in a.reports.iter().chain(a.categories.iter()) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            sc.label,
            pct(sc.value),
            sc.items,
            sc.uncovered
        );
    }
    let _ = writeln!(s, "\n## Gaps, most blocking first\n");
    if a.gaps.is_empty() {
        let _ = writeln!(s, "None.");
    } else {
        let _ = writeln!(
            s,
            "| # | Kind | Subject | Finding | Fix | Owner |\n|---:|---|---|---|---|---|"
        );
        for (i, g) in a.gaps.iter().enumerate() {
            let key = if g.key { " (key)" } else { "" };
            let _ = writeln!(
                s,
                "| {} | {} | {}{key} | {} | {} | {} |",
                i + 1,
                g.kind,
                g.subject,
                g.message.replace('|', "\\|"),
                g.action,
                owner_of(a, g)
            );
        }
    }
    let _ = writeln!(s, "\n## Remediation plan by owner\n");
    for group in &a.plan {
        let _ = writeln!(s, "### {} ({} items)\n", group.name, group.gaps.len());
        for &i in &group.gaps {
            if let Some(g) = a.gaps.get(i) {
                let _ = writeln!(s, "- **{}** {}: {}", g.kind, g.subject, g.action);
            }
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(
        s,
        "## Criteria and objectives\n\n| Item | Score | Controls | Title |\n|---|---:|---|---|"
    );
    for i in &a.items {
        let score = i.score.map_or_else(|| "n/a".to_string(), pct);
        let controls = match &i.not_relevant {
            Some(r) => format!("not relevant: {r}"),
            None if i.controls.is_empty() => "**none**".into(),
            None => i.controls.join(", "),
        };
        let _ = writeln!(s, "| {} | {} | {} | {} |", i.id, score, controls, i.title);
    }
    let _ = writeln!(
        s,
        "\n{}\n\n**How the score is computed.** {}",
        inputs_line(a),
        a.formula
    );
    s
}

/// Renders JSON.
pub fn json(a: &Assessment) -> String {
    serde_json::to_string_pretty(a).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One band of the readiness colour scale. Every heat map (the gap analysis's HTML page, the web
/// application's dashboard) uses this one scale and shows its legend; each band pairs its
/// background with a text colour at WCAG AA contrast or better (4.5:1; `contrast` computes it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    /// The CSS class (`b0` to `b4`, `na`).
    pub class: &'static str,
    /// The lowest score in the band, 0 to 1.
    pub from: f64,
    /// The legend's words.
    pub label: &'static str,
    /// The background colour.
    pub background: &'static str,
    /// The text colour on it.
    pub text: &'static str,
}

/// The readiness colour scale, lowest band first.
pub const SCALE: [Band; 5] = [
    Band {
        class: "b0",
        from: 0.0,
        label: "below 50%",
        background: "#b42318",
        text: "#ffffff",
    },
    Band {
        class: "b1",
        from: 0.5,
        label: "50–70%",
        background: "#f79009",
        text: "#1d2433",
    },
    Band {
        class: "b2",
        from: 0.7,
        label: "70–85%",
        background: "#fde272",
        text: "#1d2433",
    },
    Band {
        class: "b3",
        from: 0.85,
        label: "85–95%",
        background: "#a6d9a0",
        text: "#1d2433",
    },
    Band {
        class: "b4",
        from: 0.95,
        label: "95% or more",
        background: "#1d6b3a",
        text: "#ffffff",
    },
];

/// Tiles without a score: not relevant to the system, or nothing to assess yet.
pub const NOT_SCORED: Band = Band {
    class: "na",
    from: 0.0,
    label: "not relevant or not assessed",
    background: "#d0d5dd",
    text: "#1d2433",
};

/// The band of a score (`None`: not scored).
pub fn band_of(v: Option<f64>) -> &'static Band {
    match v {
        None => &NOT_SCORED,
        // Banded as shown: a score printed as 70 % is in the 70–85 % band.
        Some(v) => {
            let shown = (v * 100.0).round() / 100.0;
            SCALE.iter().rev().find(|b| shown >= b.from).unwrap_or(&SCALE[0])
        }
    }
}

/// The scale's legend as HTML: a swatch and the words for each band.
pub fn legend_html() -> String {
    let mut s = String::from("<div class=\"legend\" aria-label=\"Colour scale\">");
    for b in SCALE.iter().chain(std::iter::once(&NOT_SCORED)) {
        let _ = write!(
            s,
            "<span><i style=\"background:{}\"></i>{}</span>",
            b.background, b.label
        );
    }
    s.push_str("</div>");
    s
}

/// The WCAG 2 contrast ratio of two `#rrggbb` colours (1 to 21).
pub fn contrast(a: &str, b: &str) -> f64 {
    fn luminance(hex: &str) -> f64 {
        let h = hex.trim_start_matches('#');
        let c = |i: usize| {
            let v = f64::from(u8::from_str_radix(h.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0)) / 255.0;
            if v <= 0.040_45 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * c(0) + 0.7152 * c(2) + 0.0722 * c(4)
    }
    let (x, y) = (luminance(a), luminance(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

/// The scale as CSS classes (`.b0` to `.b4`, `.na`): background and text colour.
pub fn scale_css() -> String {
    SCALE
        .iter()
        .chain(std::iter::once(&NOT_SCORED))
        .map(|b| format!(".{}{{background:{};color:{}}}", b.class, b.background, b.text))
        .collect()
}

fn band(v: f64) -> &'static str {
    band_of(Some(v)).class
}

const CSS: &str = r#"
:root{--ink:#1d2433;--muted:#5b6478;--line:#dfe3ea;--bg:#f6f7f9}
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#1d2433;color:#fff;padding:24px 40px}header h1{margin:0 0 4px;font-size:24px}header p{margin:0;color:#c8cedb}
main{padding:24px 40px;max-width:1280px}section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:20px 24px;margin:0 0 20px}
h2{font-size:18px;margin:0 0 14px}.cards{display:flex;gap:14px;flex-wrap:wrap}.card{border:1px solid var(--line);border-radius:8px;padding:12px 16px;min-width:160px}
.card .v{font-size:28px;font-weight:700}.card .l{color:var(--muted);font-size:13px}.bar{height:6px;border-radius:3px;background:#eceff3;margin-top:8px;overflow:hidden}.bar i{display:block;height:100%}
.heat{display:grid;grid-template-columns:150px 1fr;gap:6px 12px;align-items:center}.heat .s{color:var(--muted);font-size:13px}.tiles{display:flex;flex-wrap:wrap;gap:6px}
.t{min-width:64px;padding:0 7px;height:46px;white-space:nowrap;border-radius:6px;color:#fff;font-size:12px;font-weight:600;display:flex;flex-direction:column;justify-content:center;align-items:center;text-decoration:none}
.t small{font-weight:400;opacity:.9}
.legend{display:flex;gap:12px;margin-top:12px;font-size:12px;color:var(--muted)}.legend span{display:inline-flex;align-items:center;gap:4px}.legend i{width:14px;height:14px;border-radius:3px;display:inline-block}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}th{color:var(--muted);font-weight:600}
td.n{text-align:right;white-space:nowrap}.k{font-size:11px;font-weight:700;border-radius:4px;padding:1px 6px;background:#eef1f6;white-space:nowrap}.r1{background:#fde2e0;color:#8a1c12}.r2,.r3{background:#fdebd3;color:#8a4b08}
.owner h3{font-size:15px;margin:14px 0 6px}.owner ul{margin:0;padding-left:20px}footer{color:var(--muted);font-size:13px;padding:0 40px 30px;max-width:1280px}
@media print{body{background:#fff}section{break-inside:avoid}}
"#;

/// Renders one self-contained HTML page (no network) with a criteria heat map.
pub fn html(a: &Assessment) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Readiness: {}</title><style>{CSS}{}</style></head><body>",
        esc(&a.organization),
        scale_css()
    );
    let _ = write!(
        s,
        "<header><h1>Readiness of {} as of {}</h1><p>{}</p></header><main>",
        esc(&a.organization),
        a.as_of,
        esc(&scope_line(a))
    );
    // Score cards.
    let _ = write!(s, "<section><h2>Scores</h2><div class=\"cards\">");
    for sc in std::iter::once(&a.overall)
        .chain(a.reports.iter())
        .chain(a.categories.iter())
    {
        let _ = write!(
            s,
            "<div class=\"card\"><div class=\"v\">{}</div><div class=\"l\">{} · {} items · {} without control</div><div class=\"bar\"><i class=\"{}\" style=\"width:{:.1}%\"></i></div></div>",
            pct(sc.value),
            esc(&sc.label),
            sc.items,
            sc.uncovered,
            band(sc.value),
            sc.value * 100.0
        );
    }
    let _ = write!(s, "</div></section>");
    // Heat map, one row per series.
    let _ = write!(s, "<section><h2>Criteria heat map</h2><div class=\"heat\">");
    let mut rows: Vec<(String, String)> = series()
        .iter()
        .map(|x| (x.id.to_string(), format!("{} {}", x.id, x.name)))
        .collect();
    rows.push(("SOC1".into(), "SOC 1 objectives".into()));
    for (sid, label) in rows {
        let tiles: Vec<_> = a.items.iter().filter(|i| i.series == sid).collect();
        if tiles.is_empty() {
            continue;
        }
        let _ = write!(s, "<div class=\"s\">{}</div><div class=\"tiles\">", esc(&label));
        for i in tiles {
            let (class, value) = match i.score {
                Some(v) => (band(v), pct(v)),
                None => ("na", "n/a".into()),
            };
            let _ = write!(
                s,
                "<a class=\"t {class}\" href=\"#{}\" title=\"{}: {} ({} controls)\">{}<small>{value}</small></a>",
                esc(&i.id),
                esc(&i.id),
                esc(&i.title),
                i.controls.len(),
                esc(&i.id)
            );
        }
        let _ = write!(s, "</div>");
    }
    let _ = write!(s, "</div>{}</section>", legend_html());
    // Gaps.
    let _ = write!(s, "<section><h2>Gaps, most blocking first ({})</h2>", a.gaps.len());
    if a.gaps.is_empty() {
        let _ = write!(s, "<p>None.</p>");
    } else {
        let _ = write!(
            s,
            "<table><thead><tr><th>#</th><th>Kind</th><th>Finding</th><th>Fix</th><th>Owner</th></tr></thead><tbody>"
        );
        for (i, g) in a.gaps.iter().enumerate() {
            let key = if g.key { " <span class=\"k\">key</span>" } else { "" };
            let _ = write!(
                s,
                "<tr><td class=\"n\">{}</td><td><span class=\"k r{}\">{}</span></td><td>{}{key}</td><td>{}</td><td>{}</td></tr>",
                i + 1,
                g.rank,
                esc(g.kind),
                esc(&g.message),
                esc(&g.action),
                esc(&owner_of(a, g))
            );
        }
        let _ = write!(s, "</tbody></table>");
    }
    let _ = write!(
        s,
        "</section><section class=\"owner\"><h2>Remediation plan by owner</h2>"
    );
    for group in &a.plan {
        let _ = write!(s, "<h3>{} · {} items</h3><ul>", esc(&group.name), group.gaps.len());
        for &i in &group.gaps {
            if let Some(g) = a.gaps.get(i) {
                let _ = write!(
                    s,
                    "<li><b>{}</b> {}: {}</li>",
                    esc(g.kind),
                    esc(&g.subject),
                    esc(&g.action)
                );
            }
        }
        let _ = write!(s, "</ul>");
    }
    let _ = write!(s, "</section>");
    // Items with their controls.
    let _ = write!(
        s,
        "<section><h2>Criteria and objectives</h2><table><thead><tr><th>Item</th><th>Score</th><th>Title</th><th>Controls</th></tr></thead><tbody>"
    );
    for i in &a.items {
        let score = i.score.map_or_else(|| "n/a".to_string(), pct);
        let controls = match &i.not_relevant {
            Some(r) => format!("not relevant: {}", esc(r)),
            None if i.controls.is_empty() => "<b>none</b>".into(),
            None => esc(&i.controls.join(", ")),
        };
        let _ = write!(
            s,
            "<tr id=\"{}\"><td>{}</td><td class=\"n\">{score}</td><td>{}</td><td>{controls}</td></tr>",
            esc(&i.id),
            esc(&i.id),
            esc(&i.title)
        );
    }
    let _ = write!(s, "</tbody></table></section>");
    // Controls.
    let _ = write!(
        s,
        "<section><h2>Controls ({})</h2><table><thead><tr><th>Control</th><th>Owner</th><th>Score</th><th>Open checks</th></tr></thead><tbody>",
        a.controls.len()
    );
    for c in &a.controls {
        let open: Vec<String> = c
            .checks
            .iter()
            .filter(|k| k.status == CheckStatus::Gap)
            .map(|k| esc(&k.detail))
            .collect();
        let key = if c.key { " <span class=\"k\">key</span>" } else { "" };
        let _ = write!(
            s,
            "<tr><td>{} {}{key}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&c.id),
            esc(&c.title),
            esc(c.owner_name.as_deref().unwrap_or("none")),
            pct(c.score),
            if open.is_empty() {
                "—".into()
            } else {
                open.join("<br>")
            }
        );
    }
    let _ = write!(s, "</tbody></table></section></main>");
    let _ = writeln!(
        s,
        "<footer><p>{}</p><p><b>How the score is computed.</b> {}</p></footer></body></html>",
        esc(inputs_line(a)),
        esc(a.formula)
    );
    s
}
