//! The risk register: inherent and residual heat maps and every risk with its controls' results.

use super::*;

/// A likelihood-by-impact grid as an HTML table: likelihood down (5 at the top), impact across,
/// each cell coloured by its band and listing the risks in it.
fn heat_html(title: &str, rows: &[assure_report::risk::RiskRow], residual: bool) -> String {
    let g = assure_report::risk::heat(rows, residual);
    let mut b = format!(
        "<table class=\"riskmap\"><caption>{}</caption><tr><th scope=\"col\">Likelihood \\ impact</th>",
        esc(title)
    );
    for i in 1..=5 {
        b.push_str(&format!("<th scope=\"col\">{i}</th>"));
    }
    b.push_str("</tr>");
    for l in (1..=5usize).rev() {
        b.push_str(&format!("<tr><th scope=\"row\">{l}</th>"));
        for i in 1..=5usize {
            let ids = &g[l - 1][i - 1];
            let band = assure_report::risk::band((l * i) as u16);
            let class = match band {
                "high" => "bad",
                "medium" => "warn",
                _ => "ok",
            };
            b.push_str(&format!(
                "<td class=\"{class}\" title=\"likelihood {l}, impact {i}: {band}\">{}</td>",
                ids.iter()
                    .map(|id| format!("<a href=\"#{0}\">{0}</a>", esc(id)))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        b.push_str("</tr>");
    }
    b.push_str("</table>");
    b
}

pub async fn risks(State(state): State<Shared>, s: Session) -> Page {
    let (snap, role) = state.authorized(&s, Action::ReadControls, &[]).await?;
    let rows = assure_report::risk::register(&snap.inputs());
    let mut b = String::from("<h1>Risk register</h1>");
    if rows.is_empty() {
        b.push_str("<div class=\"card muted\">The register is empty: add <code>[[risk]]</code> entries to a file in <code>risks/</code>.</div>");
        return ok("Risks", &s, "/risks", b);
    }
    let due = rows.iter().filter(|r| r.review_due).count();
    b.push_str(&format!(
        "<p class=\"muted\">{} risks as of {}; {due} due for assessment (assessed more than {} days before, or never). Scores are likelihood × impact: 15 and above high, 8 to 14 medium.</p><div class=\"grid\">{}{}</div>",
        rows.len(),
        snap.as_of,
        assure_report::risk::REVIEW_DAYS,
        heat_html("Inherent risk (before controls)", &rows, false),
        heat_html("Residual risk (with controls operating)", &rows, true)
    ));
    b.push_str("<h2>Risks, highest residual first</h2><table><tr><th>Risk</th><th>Inherent</th><th>Residual</th><th>Treatment</th><th>Owner</th><th>Controls and latest results</th><th>Assessed</th></tr>");
    for r in &rows {
        let controls: String = r
            .controls
            .iter()
            .map(|(c, _, result, exc)| {
                // A control owner sees the results of the controls they own only.
                if !crate::authz::may_see_control(role, &s.user, &snap, c) {
                    return esc(c);
                }
                format!(
                    "<a href=\"/controls/{0}\">{0}</a> <span class=\"pill {1}\">{2}</span>",
                    esc(c),
                    if *exc > 0 { "bad" } else { "ok" },
                    esc(result)
                )
            })
            .collect::<Vec<_>>()
            .join("<br>");
        b.push_str(&format!(
            "<tr id=\"{}\"><td><strong>{}</strong> {}<br><span class=\"muted\">{}</span></td><td>{}×{} = {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.id),
            esc(&r.id),
            esc(&r.title),
            esc(&r.description),
            r.likelihood,
            r.impact,
            r.score,
            r.residual
                .map(|(l, i, sc)| format!("{l}×{i} = {sc}"))
                .unwrap_or_else(|| "not assessed".into()),
            esc(&r.treatment),
            esc(&r.owner),
            if controls.is_empty() { "none".into() } else { controls },
            match (r.reviewed_on, r.review_due) {
                (Some(d), false) => d.to_string(),
                (Some(d), true) => format!("{d} <span class=\"pill warn\">due</span>"),
                (None, _) => "never <span class=\"pill warn\">due</span>".into(),
            }
        ));
    }
    b.push_str("</table>");
    ok("Risks", &s, "/risks", b)
}
