//! The dashboard: readiness, the criteria heat map, failing tests and what is due this week.

use super::*;

pub async fn dashboard(State(state): State<Shared>, s: Session) -> Page {
    let (snap, role) = state.authorized(&s, Action::ReadDashboard, &[]).await?;
    let a = &snap.assessment;
    let mut b = format!(
        "<h1>{}</h1><p class=\"muted\">{} · {} · as of {}</p>",
        esc(&a.organization),
        esc(&a.reports_in_scope.join(", ")),
        esc(a.window.as_deref().unwrap_or("no period set")),
        snap.as_of
    );
    if matches!(role, Role::Admin | Role::ComplianceManager) {
        b.push_str(&getting_started(&state, &snap).await?);
    }
    b.push_str("<div class=\"grid\">");
    b.push_str(&format!(
        "<div class=\"card\"><div class=\"muted\">Overall readiness</div><div class=\"big\">{:.1} %</div><div class=\"bar\"><span style=\"width:{:.0}%\"></span></div><div class=\"muted\">{} criteria and objectives in scope</div></div>",
        a.overall.value * 100.0,
        a.overall.value * 100.0,
        a.overall.items
    ));
    let exam = a.exam_type.unwrap_or("");
    let has_soc2 = a.reports.iter().any(|r| r.label == "SOC 2");
    for c in &a.reports {
        // A SOC 3 is the general-use summary of the SOC 2: the same criteria, the same readiness;
        // its card says so instead of repeating the SOC 2's figures.
        if c.label == "SOC 3" && has_soc2 {
            b.push_str("<div class=\"card\"><div class=\"muted\">SOC 3</div><p>The public summary of the SOC 2, for anyone: it is ready when the SOC 2 is, and carries no test details.</p><div class=\"muted\"><code>assure report soc3</code></div></div>");
            continue;
        }
        let what = if c.label == "SOC 1" {
            "control objectives"
        } else {
            "criteria"
        };
        b.push_str(&format!(
            "<div class=\"card\"><div class=\"muted\">{} {}</div><div class=\"big\">{:.1} %</div><div class=\"bar\"><span style=\"width:{:.0}%\"></span></div><div class=\"muted\">{} {what} in scope{}</div></div>",
            esc(&c.label),
            esc(exam),
            c.value * 100.0,
            c.value * 100.0,
            c.items,
            if c.uncovered > 0 { format!(", {} without a control", c.uncovered) } else { String::new() }
        ));
    }
    for c in &a.categories {
        b.push_str(&format!(
            "<div class=\"card\"><div class=\"muted\">{}</div><div class=\"big\">{:.1} %</div><div class=\"bar\"><span style=\"width:{:.0}%\"></span></div><div class=\"muted\">{} criteria{}</div></div>",
            esc(&c.label),
            c.value * 100.0,
            c.value * 100.0,
            c.items,
            if c.uncovered > 0 { format!(", {} without a control", c.uncovered) } else { String::new() }
        ));
    }
    b.push_str("</div>");
    // Other frameworks the project names, read through the crosswalk.
    let frameworks: Vec<_> = snap
        .project
        .manifest
        .scope
        .frameworks
        .iter()
        .filter_map(|f| assure_assess::framework::assess(&snap.project, a, f.as_str()))
        .collect();
    if !frameworks.is_empty() {
        b.push_str("<h2>Other frameworks</h2><div class=\"grid\">");
        for fa in &frameworks {
            b.push_str(&format!(
                "<div class=\"card\"><div class=\"muted\"><a href=\"/frameworks/{}\">{}</a></div><div class=\"big\">{:.1} %</div><div class=\"bar\"><span style=\"width:{:.0}%\"></span></div><div class=\"muted\">{} requirements, {} not covered by the SOC scope</div></div>",
                esc(fa.framework),
                esc(fa.name),
                fa.readiness * 100.0,
                fa.readiness * 100.0,
                fa.total,
                fa.delta.len()
            ));
        }
        b.push_str("</div>");
    }
    b.push_str("<h2>Criteria and objectives</h2><div class=\"card\"><div class=\"heat\">");
    for i in &a.items {
        let label = match (&i.not_relevant, i.score) {
            (Some(_), _) => "not relevant".to_string(),
            (None, Some(v)) => format!("{:.0} %", v * 100.0),
            (None, None) => "n/a".into(),
        };
        let band = if i.not_relevant.is_some() {
            &assure_assess::render::NOT_SCORED
        } else {
            assure_assess::render::band_of(i.score)
        };
        b.push_str(&format!(
            "<a href=\"/controls?criterion={}\" style=\"background:{};color:{}\" title=\"{}: {}\">{}<br>{}</a>",
            esc(&i.id),
            band.background,
            band.text,
            esc(&i.id),
            esc(&i.title),
            esc(&i.id),
            label
        ));
    }
    b.push_str("</div>");
    b.push_str(&assure_assess::render::legend_html());
    b.push_str("</div>");
    // Failing tests (owners: of their controls).
    b.push_str("<h2>Failing tests</h2>");
    match &snap.run {
        None => b.push_str("<div class=\"card\">No test run is recorded yet: run <code>assure test</code>.</div>"),
        Some((seq, run)) => {
            let failing: Vec<_> = crate::views::tests(&snap, &s.user, role)
                .into_iter()
                .filter(|t| t.exceptions > 0)
                .collect();
            if let Some(from) = run.carried_from {
                b.push_str(&format!(
                    "<p class=\"muted\">The latest run (ledger entry {seq}) ran {} of the {} tests; the others show their latest results, from ledger entry {from}. <a href=\"/tests\">Test results</a> says which.</p>",
                    run.tests.len() - run.carried.len(),
                    run.tests.len()
                ));
            }
            if failing.is_empty() {
                b.push_str(&format!(
                    "<div class=\"card\">No exceptions in the latest run (ledger entry {seq}).</div>"
                ));
            } else {
                b.push_str("<table><tr><th>Test</th><th>Controls</th><th>Exceptions</th><th>Population</th></tr>");
                for t in failing {
                    b.push_str(&format!(
                        "<tr><td><a href=\"/tests/{}\">{}</a></td><td>{}</td><td><span class=\"pill bad\">{}</span></td><td>{}</td></tr>",
                        esc(&t.id),
                        esc(&t.title),
                        esc(&t.controls.join(", ")),
                        t.exceptions,
                        t.population
                    ));
                }
                b.push_str("</table>");
            }
        }
    }
    // Due this week.
    b.push_str("<h2>Due this week</h2>");
    let week = snap.as_of + chrono::Days::new(7);
    let mut due: Vec<(String, String, String)> = Vec::new();
    for r in state.db.requests().await? {
        if !r.status.is_open() || !crate::authz::may_see_request(role, &s.user, &r) {
            continue;
        }
        if let Some(d) = r
            .due
            .as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            && d <= week
        {
            due.push((
                d.to_string(),
                format!("<a href=\"/requests/{}\">PBC-{}</a>", esc(&r.id), r.number),
                esc(&r.title),
            ));
        }
    }
    let inp = snap.inputs();
    for d in assure_report::due::due(&inp, 7, &|c| crate::authz::may_see_control(role, &s.user, &snap, c)) {
        let href = if d.kind == "policy" { "policies" } else { "controls" };
        due.push((
            d.date.to_string(),
            format!("<a href=\"/{href}/{0}\">{0}</a>", esc(&d.subject)),
            esc(&d.what),
        ));
    }
    due.sort();
    if due.is_empty() {
        b.push_str("<div class=\"card\">Nothing is due in the next seven days.</div>");
    } else {
        b.push_str("<table><tr><th>Due</th><th>What</th><th></th></tr>");
        for (d, link, what) in due {
            let late = if d < snap.as_of.to_string() {
                " <span class=\"pill bad\">overdue</span>"
            } else {
                ""
            };
            b.push_str(&format!("<tr><td>{d}{late}</td><td>{link}</td><td>{what}</td></tr>"));
        }
        b.push_str("</table>");
    }
    ok("Dashboard", &s, "/", b)
}

/// Readiness against another framework through Assure's crosswalk: each requirement's status, its
/// criteria and controls, and what a SOC report leaves to show.
pub async fn framework(State(state): State<Shared>, s: Session, Path(id): Path<String>) -> Page {
    let (snap, _) = state.authorized(&s, Action::ReadDashboard, &[]).await?;
    let fa = assure_assess::framework::assess(&snap.project, &snap.assessment, &id)
        .ok_or_else(|| AppError::NotFound(format!("Assure does not know the framework `{id}`.")))?;
    let mut b = format!(
        "<h1>{}</h1><div class=\"card\"><div class=\"big\">{:.1} %</div><p>{} requirements; {} covered by the SOC scope or the company's own controls; {} not covered.</p><p class=\"muted\">{}</p>{}</div>",
        esc(fa.name),
        fa.readiness * 100.0,
        fa.total,
        fa.covered,
        fa.delta.len(),
        esc(fa.soc_note),
        if fa.in_project {
            String::new()
        } else {
            format!(
                "<p>The project does not name it: add <code>frameworks = [\"{}\"]</code> to <code>[scope]</code>.</p>",
                esc(fa.framework)
            )
        }
    );
    b.push_str(&format!(
        "<p><a href=\"/frameworks/{0}/workbook.xlsx\" download>Download as XLSX{1}</a></p>",
        esc(fa.framework),
        if fa.framework == "iso27001" {
            " (with the draft Statement of Applicability)"
        } else {
            ""
        }
    ));
    b.push_str("<table><tr><th>Requirement</th><th>Title</th><th>Status</th><th>Score</th><th>Read through</th><th>Controls</th></tr>");
    for r in &fa.requirements {
        let pill = match r.status {
            "covered" | "covered by SOC 1" | "own controls" => "ok",
            "partly covered" => "warn",
            "not applicable" => "",
            _ => "bad",
        };
        b.push_str(&format!(
            "<tr><td>{}<br><span class=\"muted\">{}</span></td><td>{}{}</td><td><span class=\"pill {pill}\">{}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(r.id),
            esc(r.kind),
            esc(r.title),
            if r.note.is_empty() { String::new() } else { format!("<br><span class=\"muted\">{}</span>", esc(r.note)) },
            esc(r.status),
            r.score.map(|v| format!("{:.0} %", v * 100.0)).unwrap_or_default(),
            esc(&r.basis()),
            r.controls.iter().map(|c| format!("<a href=\"/controls/{0}\">{0}</a>", esc(c))).collect::<Vec<_>>().join(", ")
        ));
    }
    b.push_str("</table>");
    ok(fa.name, &s, "/", b)
}

/// A framework's readiness as a workbook: the crosswalk sheet, and for ISO 27001 the draft
/// Statement of Applicability first (what `assure gap --framework ID --format xlsx` writes).
pub async fn framework_workbook(State(state): State<Shared>, s: Session, Path(id): Path<String>) -> Page {
    let (snap, _) = state.authorized(&s, Action::ReadDashboard, &[]).await?;
    let (inputs, _) = snap.period_inputs();
    let m = assure_report::matrix::framework_workbook(&inputs, &id)
        .ok_or_else(|| AppError::NotFound(format!("Assure does not know the framework `{id}`.")))?;
    let bytes = assure_xlsx::write(&m).map_err(|e| AppError::Internal(e.to_string()))?;
    let name = if id == "iso27001" {
        "statement-of-applicability-iso27001.xlsx".to_string()
    } else {
        // `id` is a framework Assure knows (checked above): letters, digits and `-` only.
        format!("crosswalk-{id}.xlsx")
    };
    Ok(xlsx_download(bytes, &name))
}

/// The first steps of a new project, each done or not from the project's own state, with where to
/// do it; empty once every step is done.
async fn getting_started(state: &Shared, snap: &assure_workspace::Snapshot) -> Result<String, AppError> {
    let imported = snap
        .ledger
        .iter()
        .filter(|e| e.draft.action.as_str() == "import")
        .count();
    let approved = snap.project.policies.iter().filter(|p| p.approved_by.is_some()).count();
    let owners = state
        .db
        .users()
        .await?
        .iter()
        .filter(|u| u.role == "control_owner")
        .count();
    let total_policies = snap.project.policies.len();
    let steps: [(bool, String, String); 5] = [
        (
            imported > 0,
            "Import the period's evidence".into(),
            if imported > 0 {
                format!("{imported} imports recorded in the ledger")
            } else {
                "<code>assure evidence import -p PROJECT EXPORTS/</code>, or <a href=\"/evidence\">add evidence</a> here".into()
            },
        ),
        (
            snap.run.is_some(),
            "Run the tests".into(),
            match &snap.run {
                Some((seq, _)) => format!("latest run: ledger entry {seq}"),
                None => "<code>assure test -p PROJECT</code> tests every row of the period's evidence".into(),
            },
        ),
        (
            total_policies > 0 && approved == total_policies,
            "Approve the policies".into(),
            format!(
                "{approved} of {total_policies} approved; a named approver approves each on <a href=\"/policies\">its page</a> or with <code>assure policy approve</code>"
            ),
        ),
        (
            owners > 0,
            "Invite the control owners".into(),
            if owners > 0 {
                format!("{owners} control owner accounts")
            } else {
                "<a href=\"/users\">Users</a>: add each owner with the role control owner, linked to their person"
                    .into()
            },
        ),
        (
            !snap.acceptances.is_empty(),
            "Have people accept the policies".into(),
            if snap.acceptances.is_empty() {
                "each person accepts the approved policies on <a href=\"/policies\">Policies</a>".into()
            } else {
                format!("{} acceptances recorded", snap.acceptances.len())
            },
        ),
    ];
    let done = steps.iter().filter(|s| s.0).count();
    if done == steps.len() {
        return Ok(String::new());
    }
    let mut b = format!(
        "<section class=\"card\" aria-labelledby=\"start\"><h2 id=\"start\" style=\"margin-top:0\">Getting started: {done} of {} done</h2><ol class=\"checklist\">",
        steps.len()
    );
    for (ok, what, how) in &steps {
        b.push_str(&format!(
            "<li class=\"{}\"><span class=\"pill {}\">{}</span> <b>{}</b><br><span class=\"muted\">{}</span></li>",
            if *ok { "done" } else { "todo" },
            if *ok { "ok" } else { "warn" },
            if *ok { "done" } else { "to do" },
            esc(what),
            how
        ));
    }
    b.push_str("</ol><p class=\"muted\">This list goes away once every step is done.</p></section>");
    Ok(b)
}
