//! Vendors: the register with where each vendor's assurance stands, and a page per vendor with the
//! review of each SOC report it gave (period, opinion, exceptions and their assessment, what it
//! expects of the company mapped to controls, bridge letters).

use super::*;

fn pill(status: &str) -> &'static str {
    match status {
        "current" => "ok",
        "due soon" | "not reviewed" => "warn",
        _ => "bad",
    }
}

fn person(snap: &Snapshot, r: Option<&assure_project::model::Ref>) -> String {
    r.map(|r| snap.project.person(r).map_or_else(|| r.to_string(), |p| p.name.clone()))
        .unwrap_or_default()
}

pub async fn vendors(State(state): State<Shared>, s: Session) -> Page {
    let (snap, _) = state.authorized(&s, Action::ReadControls, &[]).await?;
    let mut list: Vec<&assure_project::model::Vendor> = snap.project.vendors.iter().collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    let mut b = String::from("<h1>Vendors</h1>");
    if list.is_empty() {
        b.push_str(
            "<div class=\"card muted\">The register is empty: add a file per vendor in <code>vendors/</code>.</div>",
        );
        return ok("Vendors", &s, "/vendors", b);
    }
    let due: Vec<String> = list
        .iter()
        .filter(|v| !v.reports.is_empty() || v.subservice)
        .filter_map(|v| {
            let (st, why) = v.report_status(snap.as_of);
            (st != "current").then(|| {
                format!(
                    "<li><a href=\"/vendors/{}\">{}</a>: {}</li>",
                    esc(v.id.as_str()),
                    esc(&v.name),
                    esc(&why)
                )
            })
        })
        .collect();
    b.push_str(&format!(
        "<p class=\"muted\">{} vendors as of {}. A report goes stale 15 months after the last day it (or its latest bridge letter) covers; reminders start {} days before.</p>",
        list.len(),
        snap.as_of,
        assure_project::model::REPORT_REMINDER_DAYS
    ));
    if !due.is_empty() {
        b.push_str(&format!(
            "<div class=\"card\"><h2>Needs attention</h2><ul>{}</ul></div>",
            due.join("")
        ));
    }
    b.push_str("<table><tr><th>Vendor</th><th>Criticality</th><th>Subservice</th><th>Owner</th><th>Latest report</th><th>Opinion</th><th>Covered through</th><th>Reviewed</th><th>Assurance</th></tr>");
    for v in list {
        let r = v.latest_report();
        let (st, why) = v.report_status(snap.as_of);
        let status = if r.is_none() && !v.subservice {
            "<span class=\"muted\">none required</span>".to_string()
        } else {
            format!(
                "<span class=\"pill {}\" title=\"{}\">{}</span>",
                pill(st),
                esc(&why),
                esc(st)
            )
        };
        b.push_str(&format!(
            "<tr><td><a href=\"/vendors/{}\">{}</a><br><span class=\"muted\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{status}</td></tr>",
            esc(v.id.as_str()),
            esc(&v.name),
            esc(&v.services),
            esc(v.criticality.as_deref().unwrap_or("")),
            if v.subservice { "yes" } else { "no" },
            esc(&person(&snap, v.owner.as_ref())),
            r.map(|r| format!(
                "{} {}",
                esc(&r.kind),
                r.period_start.map_or_else(|| format!("as of {}", r.period_end.0), |a| format!("{} to {}", a.0, r.period_end.0))
            ))
            .unwrap_or_else(|| esc(v.assurance.as_deref().unwrap_or("none")).to_string() + " <span class=\"muted\">(no review recorded)</span>"),
            r.map(|r| esc(&r.opinion).to_string()).unwrap_or_default(),
            r.map(|r| r.covered_through().to_string()).unwrap_or_default(),
            v.last_reviewed().map(|d| d.to_string()).unwrap_or_else(|| "never".into()),
        ));
    }
    b.push_str("</table>");
    ok("Vendors", &s, "/vendors", b)
}

pub async fn vendor(State(state): State<Shared>, s: Session, Path(id): Path<String>) -> Page {
    let (snap, role) = state.authorized(&s, Action::ReadControls, &[]).await?;
    let v = snap
        .project
        .vendors
        .iter()
        .find(|v| v.id.as_str() == id)
        .ok_or_else(|| AppError::NotFound(format!("There is no vendor `{id}`.")))?;
    let (st, why) = v.report_status(snap.as_of);
    let mut b = format!(
        "<h1>{}</h1><div class=\"card\"><table><tr><th>Provides</th><td>{}</td><th>Criticality</th><td>{}</td></tr><tr><th>Subservice organization</th><td>{}</td><th>Data it holds</th><td>{}</td></tr><tr><th>Owner</th><td>{}</td><th>Last reviewed</th><td>{}</td></tr><tr><th>Assurance</th><td colspan=\"3\"><span class=\"pill {}\">{}</span> {}</td></tr></table><p class=\"muted\">Kept in <code>{}</code>; its history is the file's git history.</p></div>",
        esc(&v.name),
        esc(&v.services),
        esc(v.criticality.as_deref().unwrap_or("")),
        if v.subservice {
            "yes: its controls are needed to meet the company's commitments"
        } else {
            "no"
        },
        esc(v.data_access.as_deref().unwrap_or("")),
        esc(&person(&snap, v.owner.as_ref())),
        v.last_reviewed()
            .map(|d| d.to_string())
            .unwrap_or_else(|| "never".into()),
        pill(st),
        esc(st),
        esc(&why),
        esc(snap.project.sources.path(v.file))
    );
    if v.reports.is_empty() {
        b.push_str("<div class=\"card muted\">No report review is recorded. Add a <code>[[reports]]</code> table to the vendor's file with the report's type, period, opinion, exceptions, complementary user entity controls and bridge letters.</div>");
    }
    let mut reports: Vec<&assure_project::model::VendorReport> = v.reports.iter().collect();
    reports.sort_by_key(|r| std::cmp::Reverse(r.period_end.0));
    for r in reports {
        b.push_str(&format!(
            "<div class=\"card\"><h2>{} report, {}</h2><table><tr><th>Opinion</th><td>{}</td><th>Received</th><td>{}</td></tr><tr><th>Reviewed</th><td>{}</td><th>Reviewed by</th><td>{}</td></tr><tr><th>Covered through</th><td>{}</td><th>Stale on</th><td>{}</td></tr></table>",
            esc(&r.kind),
            r.period_start.map_or_else(|| format!("as of {}", r.period_end.0), |a| format!("{} to {}", a.0, r.period_end.0)),
            match r.opinion.as_str() {
                "unmodified" => "<span class=\"pill ok\">unmodified</span>".to_string(),
                o => format!("<span class=\"pill bad\">{}</span>", esc(o)),
            },
            r.received_on.map(|d| d.0.to_string()).unwrap_or_default(),
            r.reviewed_on.map(|d| d.0.to_string()).unwrap_or_else(|| "<span class=\"pill warn\">not yet</span>".into()),
            esc(&person(&snap, r.reviewed_by.as_ref())),
            r.covered_through(),
            r.covered_through().checked_add_months(chrono::Months::new(15)).map(|d| d.to_string()).unwrap_or_default()
        ));
        b.push_str("<h3>Exceptions noted by the service auditor</h3>");
        if r.exceptions.is_empty() {
            b.push_str("<p class=\"muted\">None.</p>");
        } else {
            b.push_str(
                "<table><tr><th>Control</th><th>What was found</th><th>Relevant to us</th><th>Our assessment</th></tr>",
            );
            for e in &r.exceptions {
                let assessment = if e.assessment.trim().is_empty() {
                    if e.relevant {
                        "<span class=\"pill bad\">not assessed</span>".to_string()
                    } else {
                        String::new()
                    }
                } else {
                    esc(&e.assessment).to_string()
                };
                b.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{assessment}</td></tr>",
                    esc(&e.control),
                    esc(&e.description),
                    if e.relevant {
                        "<span class=\"pill warn\">yes</span>"
                    } else {
                        "no"
                    }
                ));
            }
            b.push_str("</table>");
        }
        b.push_str("<h3>What the report expects of us (complementary user entity controls)</h3>");
        if r.cuecs.is_empty() {
            b.push_str("<p class=\"muted\">None listed.</p>");
        } else {
            b.push_str("<table><tr><th>Reference</th><th>Expected of us</th><th>Our controls</th></tr>");
            for c in &r.cuecs {
                let controls = if c.controls.is_empty() {
                    "<span class=\"pill bad\">not mapped</span>".to_string()
                } else {
                    c.controls
                        .iter()
                        .map(|x| {
                            if crate::authz::may_see_control(role, &s.user, &snap, x.as_str()) {
                                format!("<a href=\"/controls/{0}\">{0}</a>", esc(x.as_str()))
                            } else {
                                esc(x.as_str()).to_string()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                b.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{controls}</td></tr>",
                    esc(&c.id),
                    esc(&c.text)
                ));
            }
            b.push_str("</table>");
        }
        b.push_str("<h3>Bridge letters</h3>");
        if r.bridge_letters.is_empty() {
            b.push_str("<p class=\"muted\">None.</p>");
        } else {
            b.push_str("<table><tr><th>Covers through</th><th>Received</th></tr>");
            for l in &r.bridge_letters {
                b.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td></tr>",
                    l.covers_through.0,
                    l.received_on.map(|d| d.0.to_string()).unwrap_or_default()
                ));
            }
            b.push_str("</table>");
        }
        b.push_str("</div>");
    }
    ok(&v.name, &s, "/vendors", b)
}
