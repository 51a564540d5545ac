//! "My work" (what is due, failing or requested of the signed-in person) and the window view (how
//! far through the examination window the company is, every periodic control's slots filled,
//! missed, due and upcoming, and the overdue requests): the two pages a control owner and a
//! compliance lead open in month 6 of a Type 2 window.

use super::*;
use crate::authz::Visibility as _;
use assure_workspace::records::{ControlCalendar, SlotState, calendar};
use chrono::{Datelike as _, NaiveDate};

/// The period on show and the calendar of its periodic controls.
fn period_calendar(snap: &assure_workspace::Snapshot) -> Option<(NaiveDate, NaiveDate, Vec<ControlCalendar>)> {
    let p = snap.project.current_period()?;
    let cal = calendar(&snap.project, &snap.ledger, p.start, p.end, snap.as_of);
    Some((p.start, p.end, cal))
}

fn symbol(state: SlotState) -> &'static str {
    match state {
        SlotState::Filled => "✓",
        SlotState::Missed => "✗",
        SlotState::Due => "!",
        SlotState::Upcoming => "·",
    }
}

fn slot_class(state: SlotState) -> &'static str {
    match state {
        SlotState::Filled => "ok",
        SlotState::Missed => "bad",
        SlotState::Due => "warn",
        SlotState::Upcoming => "muted",
    }
}

fn overdue(r: &crate::db::Request, today: NaiveDate) -> bool {
    r.status.is_open()
        && r.due
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .is_some_and(|d| d < today)
}

/// What is failing, due and requested of the signed-in person.
pub async fn my_work(State(state): State<Shared>, s: Session) -> Page {
    let (snap, role) = state.authorized(&s, Action::ReadDashboard, &[]).await?;
    let mine = |c: &str| snap.owns(&s.user, c);
    let owned: Vec<&str> = snap
        .project
        .controls
        .iter()
        .map(|c| c.id.as_str())
        .filter(|c| mine(c))
        .collect();
    let mut b = format!(
        "<h1>My work</h1><p class=\"muted\">As of {}. {}</p>",
        snap.as_of,
        if owned.is_empty() {
            "You own no controls in this project; requests assigned to you are below.".to_string()
        } else {
            format!("You own {} control(s): {}.", owned.len(), esc(&owned.join(", ")))
        }
    );
    // Failing: my controls with exceptions in the latest run.
    b.push_str("<h2>Failing</h2>");
    let failing: Vec<_> = snap
        .run
        .as_ref()
        .map(|(_, r)| r.controls.iter().filter(|c| c.exceptions > 0 && mine(&c.id)).collect())
        .unwrap_or_default();
    if failing.is_empty() {
        b.push_str("<p>None of your controls has an exception in the latest run.</p>");
    } else {
        b.push_str("<table><caption>Your controls with exceptions in the latest run</caption><tr><th scope=\"col\">Control</th><th scope=\"col\">Exceptions</th><th scope=\"col\">Tests</th></tr>");
        for c in failing {
            b.push_str(&format!(
                "<tr><td><a href=\"/controls/{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
                esc(&c.id),
                esc(&c.id),
                c.exceptions,
                c.tests
                    .iter()
                    .map(|t| format!("<a href=\"/tests/{}\">{}</a>", esc(t), esc(t)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        b.push_str("</table>");
    }
    // Due: my periodic controls' slots under way or missed, and the next one.
    b.push_str("<h2>Due and missed</h2>");
    let cal: Vec<ControlCalendar> = period_calendar(&snap)
        .map(|(_, _, c)| c.into_iter().filter(|c| mine(&c.control)).collect())
        .unwrap_or_default();
    let mut rows = String::new();
    for c in &cal {
        for slot in c
            .slots
            .iter()
            .filter(|x| matches!(x.state, SlotState::Due | SlotState::Missed))
        {
            rows.push_str(&format!(
                "<tr><td><a href=\"/controls/{}\">{}</a></td><td>{}</td><td>{} to {}</td><td><span class=\"pill {}\">{}</span></td></tr>",
                esc(&c.control),
                esc(&c.control),
                esc(&c.frequency),
                slot.start,
                slot.end,
                slot_class(slot.state),
                slot.state.label()
            ));
        }
        if let Some(next) = c.slots.iter().find(|x| x.state == SlotState::Upcoming) {
            rows.push_str(&format!(
                "<tr><td><a href=\"/controls/{}\">{}</a></td><td>{}</td><td>{} to {}</td><td><span class=\"pill\">next</span></td></tr>",
                esc(&c.control),
                esc(&c.control),
                esc(&c.frequency),
                next.start,
                next.end
            ));
        }
    }
    if rows.is_empty() {
        b.push_str("<p>Nothing is due: every slot of your periodic controls so far has evidence.</p>");
    } else {
        b.push_str(&format!(
            "<table><caption>Slots of your periodic controls: due now, missed, and the next one</caption><tr><th scope=\"col\">Control</th><th scope=\"col\">Frequency</th><th scope=\"col\">Slot</th><th scope=\"col\">State</th></tr>{rows}</table><p class=\"muted\">Upload the evidence for a slot on the <a href=\"/evidence\">Evidence</a> page with the dates it covers.</p>"
        ));
    }
    // Requested of me.
    b.push_str("<h2>Requested of you</h2>");
    let mut requests: Vec<_> = state
        .db
        .requests()
        .await?
        .into_iter()
        .filter(|r| r.status.is_open() && r.assignee.as_deref() == Some(s.user.id.as_str()))
        .collect();
    requests.sort_by(|a, b| a.due.cmp(&b.due).then(a.number.cmp(&b.number)));
    if requests.is_empty() {
        b.push_str("<p>No open request is assigned to you.</p>");
    } else {
        b.push_str("<table><caption>Open requests assigned to you, soonest due first</caption><tr><th scope=\"col\">Request</th><th scope=\"col\">Control</th><th scope=\"col\">Status</th><th scope=\"col\">Due</th></tr>");
        for r in &requests {
            b.push_str(&format!(
                "<tr><td><a href=\"/requests/{}\">PBC-{} · {}</a></td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
                esc(&r.id),
                r.number,
                esc(&r.title),
                esc(r.control.as_deref().unwrap_or("")),
                r.status.as_str(),
                esc(r.due.as_deref().unwrap_or("no date")),
                if overdue(r, snap.as_of) {
                    " <span class=\"pill bad\">overdue</span>"
                } else {
                    ""
                }
            ));
        }
        b.push_str("</table>");
    }
    let _ = role;
    ok("My work", &s, "/my-work", b)
}

/// The examination window: progress, the calendar of periodic controls' slots, overdue requests.
pub async fn window(State(state): State<Shared>, s: Session) -> Page {
    let (snap, role) = state.authorized(&s, Action::ReadDashboard, &[]).await?;
    let Some((start, end, cal)) = period_calendar(&snap) else {
        return ok(
            "Window",
            &s,
            "/window",
            "<h1>Window</h1><div class=\"card\">The project has no examination period: set the dates under <code>[scope]</code> or open one with <code>assure period open</code>.</div>".into(),
        );
    };
    let total = (end - start).num_days() + 1;
    let done = (snap.as_of.min(end) - start).num_days().clamp(-1, total - 1) + 1;
    let pct = if total > 0 { done * 100 / total } else { 0 };
    let months = |d: NaiveDate| (d.year() - start.year()) * 12 + d.month() as i32 - start.month() as i32 + 1;
    let mut b = format!(
        "<h1>Window</h1><div class=\"card\"><p>{} to {}: day {} of {} ({}%), month {} of {}.</p><svg role=\"img\" aria-labelledby=\"progress-title\" viewBox=\"0 0 600 24\" width=\"100%\" height=\"24\"><title id=\"progress-title\">{}% of the window has passed</title><rect x=\"0\" y=\"4\" width=\"600\" height=\"16\" rx=\"8\" fill=\"#e6e9ef\"/><rect x=\"0\" y=\"4\" width=\"{}\" height=\"16\" rx=\"8\" fill=\"#2f5bd3\"/></svg></div>",
        start,
        end,
        done.max(0),
        total,
        pct,
        months(snap.as_of.min(end)).max(0),
        months(end),
        pct,
        6 * pct
    );
    // The calendar: a row per periodic control, a cell per slot (a symbol and a word for those who
    // do not see colour).
    let visible: Vec<&ControlCalendar> = cal
        .iter()
        .filter(|c| role != crate::authz::Role::ControlOwner || snap.owns(&s.user, &c.control))
        .collect();
    let count = |st: SlotState| visible.iter().flat_map(|c| &c.slots).filter(|x| x.state == st).count();
    b.push_str(&format!(
        "<h2>Periodic controls</h2><p>{} filled · {} missed · {} due now · {} upcoming. <span class=\"muted\">Legend: ✓ filled, ✗ missed (an exception), ! due now, · upcoming.</span></p>",
        count(SlotState::Filled),
        count(SlotState::Missed),
        count(SlotState::Due),
        count(SlotState::Upcoming)
    ));
    if visible.is_empty() {
        b.push_str("<p>No manual control with a periodic frequency is in scope.</p>");
    } else {
        b.push_str("<div class=\"scroll\"><table class=\"calendar\"><caption>Each periodic control's slots in the window, oldest first</caption><tr><th scope=\"col\">Control</th><th scope=\"col\">Frequency</th><th scope=\"col\">Slots</th></tr>");
        for c in &visible {
            let cells: String = c
                .slots
                .iter()
                .map(|x| {
                    format!(
                        "<span class=\"pill {}\" title=\"{} to {}: {}{}\">{}<span class=\"sr\"> {} to {} {}</span></span>",
                        slot_class(x.state),
                        x.start,
                        x.end,
                        x.state.label(),
                        if x.evidence.is_empty() {
                            String::new()
                        } else {
                            format!(
                                " (ledger entr{} {})",
                                if x.evidence.len() == 1 { "y" } else { "ies" },
                                x.evidence.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                            )
                        },
                        symbol(x.state),
                        x.start,
                        x.end,
                        x.state.label()
                    )
                })
                .collect::<Vec<_>>()
                .join(" ");
            b.push_str(&format!(
                "<tr><th scope=\"row\"><a href=\"/controls/{}\">{}</a></th><td>{}</td><td>{cells}</td></tr>",
                esc(&c.control),
                esc(&c.control),
                esc(&c.frequency)
            ));
        }
        b.push_str("</table></div>");
    }
    // Overdue requests (those the person may see).
    let mut late: Vec<_> = state
        .db
        .requests()
        .await?
        .into_iter()
        .filter(|r| overdue(r, snap.as_of) && crate::authz::may_see_request(role, &s.user, r))
        .collect();
    late.sort_by(|a, b| a.due.cmp(&b.due).then(a.number.cmp(&b.number)));
    b.push_str("<h2>Overdue requests</h2>");
    if late.is_empty() {
        b.push_str("<p>No open request is past its due date.</p>");
    } else {
        let users = state.db.users().await?;
        b.push_str("<table><caption>Open requests past their due date, oldest first</caption><tr><th scope=\"col\">Request</th><th scope=\"col\">Assignee</th><th scope=\"col\">Due</th><th scope=\"col\">Days late</th></tr>");
        for r in &late {
            let due = r.due.as_deref().unwrap_or("");
            let days = NaiveDate::parse_from_str(due, "%Y-%m-%d").map_or(0, |d| (snap.as_of - d).num_days());
            b.push_str(&format!(
                "<tr><td><a href=\"/requests/{}\">PBC-{} · {}</a></td><td>{}</td><td>{}</td><td>{days}</td></tr>",
                esc(&r.id),
                r.number,
                esc(&r.title),
                esc(r
                    .assignee
                    .as_ref()
                    .and_then(|a| users.iter().find(|u| &u.id == a))
                    .map_or("nobody", |u| u.name.as_str())),
                esc(due)
            ));
        }
        b.push_str("</table>");
    }
    ok("Window", &s, "/window", b)
}
