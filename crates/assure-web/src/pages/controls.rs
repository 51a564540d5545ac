//! Controls: the list with filters, one control's page, comments and sampling.

use super::*;

#[derive(Debug, Deserialize)]
pub struct ControlFilter {
    #[serde(default)]
    criterion: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
}

pub async fn controls(State(state): State<Shared>, s: Session, Query(f): Query<ControlFilter>) -> Page {
    let (snap, _) = state.authorized(&s, Action::ReadControls, &[]).await?;
    let status: BTreeMap<&str, &assure_assess::gap::ControlStatus> =
        snap.assessment.controls.iter().map(|c| (c.id.as_str(), c)).collect();
    let q = f.q.to_lowercase();
    let list: Vec<_> = visible_controls(&s, &snap)
        .into_iter()
        .filter(|c| {
            f.criterion.is_empty()
                || c.criteria
                    .iter()
                    .chain(&c.objectives)
                    .any(|r| r.as_str() == f.criterion)
        })
        .filter(|c| f.owner.is_empty() || c.owner.as_ref().is_some_and(|o| o.as_str() == f.owner))
        .filter(|c| q.is_empty() || c.id.as_str().to_lowercase().contains(&q) || c.title.to_lowercase().contains(&q))
        .filter(|c| {
            let (result, _) = assure_report::control_result(&snap.inputs(), c.id.as_str());
            match f.status.as_str() {
                "exceptions" => result == "exceptions noted",
                "gaps" => status.get(c.id.as_str()).is_some_and(|x| x.score < 1.0),
                _ => true,
            }
        })
        .collect();
    let mut owners: Vec<(String, String)> = visible_controls(&s, &snap)
        .iter()
        .filter_map(|c| c.owner.as_ref())
        .map(|o| {
            (
                o.to_string(),
                snap.project
                    .person(o.as_str())
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| o.to_string()),
            )
        })
        .collect();
    owners.sort();
    owners.dedup();
    let opt = |v: &str, label: &str, cur: &str| {
        format!(
            "<option value=\"{}\"{}>{}</option>",
            esc(v),
            if v == cur { " selected" } else { "" },
            esc(label)
        )
    };
    let mut b = format!(
        "<h1>Controls</h1><form class=\"filters card\" method=\"get\" action=\"/controls\"><div><label for=\"q\">Search</label><input id=\"q\" name=\"q\" value=\"{}\"></div><div><label for=\"criterion\">Criterion or objective</label><input id=\"criterion\" name=\"criterion\" value=\"{}\" placeholder=\"CC6.1\"></div><div><label for=\"owner\">Owner</label><select id=\"owner\" name=\"owner\">{}{}</select></div><div><label for=\"status\">Show</label><select id=\"status\" name=\"status\">{}{}{}</select></div><div><button type=\"submit\">Filter</button></div></form>",
        esc(&f.q),
        esc(&f.criterion),
        opt("", "Anyone", &f.owner),
        owners.iter().map(|(id, n)| opt(id, n, &f.owner)).collect::<String>(),
        opt("", "All controls", &f.status),
        opt("gaps", "With readiness gaps", &f.status),
        opt("exceptions", "With exceptions", &f.status),
    );
    b.push_str(&format!("<p class=\"muted\">{} controls</p><table><tr><th>Control</th><th>Title</th><th>Owner</th><th>Frequency</th><th>Readiness</th><th>Result</th></tr>", list.len()));
    for c in list {
        let (result, exc) = assure_report::control_result(&snap.inputs(), c.id.as_str());
        let pill = if exc > 0 {
            format!("<span class=\"pill bad\">{} ({exc})</span>", esc(&result))
        } else {
            format!("<span class=\"muted\">{}</span>", esc(&result))
        };
        b.push_str(&format!(
            "<tr><td><a href=\"/controls/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{pill}</td></tr>",
            esc(c.id.as_str()),
            esc(c.id.as_str()),
            esc(&c.title),
            esc(&c.owner.as_ref().and_then(|o| snap.project.person(o.as_str())).map(|p| p.name.clone()).unwrap_or_default()),
            esc(c.frequency.map(|x| x.as_str()).unwrap_or("")),
            status.get(c.id.as_str()).map(|x| score_pill(x.score)).unwrap_or_default(),
        ));
    }
    b.push_str("</table>");
    ok("Controls", &s, "/controls", b)
}

pub async fn control(State(state): State<Shared>, s: Session, Path(id): Path<String>) -> Page {
    let snap = state.snapshot().await?;
    let c = control_or_404(&snap, &id)?;
    let role = state.authorize(&s, &snap, Action::ReadControls, &[c.id.as_str()])?;
    let inp = snap.inputs();
    let (result, exc) = assure_report::control_result(&inp, c.id.as_str());
    let owner = c
        .owner
        .as_ref()
        .and_then(|o| snap.project.person(o.as_str()))
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let mut b = format!(
        "<h1>{} · {}</h1><div class=\"card\"><p>{}</p><table><tr><th>Owner</th><td>{}</td><th>Frequency</th><td>{}</td></tr><tr><th>Nature</th><td>{}</td><th>Key control</th><td>{}</td></tr><tr><th>Criteria</th><td>{}</td><th>Objectives</th><td>{}</td></tr><tr><th>Result</th><td colspan=\"3\">{}{}</td></tr></table></div>",
        esc(c.id.as_str()),
        esc(&c.title),
        esc(c.description.trim()),
        esc(&owner),
        esc(c.frequency.map(|x| x.as_str()).unwrap_or("not set")),
        esc(&c.nature.map(|x| format!("{x:?}").to_lowercase()).unwrap_or_default()),
        if c.key { "yes" } else { "no" },
        c.criteria
            .iter()
            .map(|r| format!("<a href=\"/controls?criterion={0}\">{0}</a>", esc(r.as_str())))
            .collect::<Vec<_>>()
            .join(", "),
        esc(&c.objectives.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")),
        esc(&result),
        if exc > 0 {
            format!(" <span class=\"pill bad\">{exc} exceptions</span>")
        } else {
            String::new()
        }
    );
    // Policies, and the statements that name this control.
    b.push_str("<h2>Policies</h2><div class=\"card\">");
    let mut any = false;
    for p in &snap.project.policies {
        let named: Vec<&String> = p
            .statements
            .iter()
            .filter(|(_, l)| l.controls.iter().any(|x| x.as_str() == c.id.as_str()))
            .map(|(k, _)| k)
            .collect();
        if c.policies.iter().any(|r| r.as_str() == p.id.as_str()) || !named.is_empty() {
            any = true;
            b.push_str(&format!(
                "<div><a href=\"/policies/{}\">{}</a>{}</div>",
                esc(p.id.as_str()),
                esc(&p.title),
                if named.is_empty() {
                    String::new()
                } else {
                    format!(
                        " <span class=\"muted\">enforces statements {}</span>",
                        esc(&named.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", "))
                    )
                }
            ));
        }
    }
    if !any {
        b.push_str("<p class=\"muted\">No policy requires this control.</p>");
    }
    b.push_str("</div>");
    // Tests and the test procedure.
    b.push_str("<h2>Tests</h2>");
    let procs = assure_report::procedures(&inp, c);
    if procs.is_empty() {
        b.push_str("<div class=\"card muted\">No automated test: the service auditor inspects this control.</div>");
    } else {
        b.push_str("<div class=\"card\"><ul>");
        for p in procs {
            b.push_str(&format!("<li>{}</li>", esc(&p)));
        }
        b.push_str("</ul></div>");
    }
    let tests = inp.tests_of(c.id.as_str());
    if !tests.is_empty() {
        b.push_str("<table><tr><th>Test</th><th>Population</th><th>Exceptions</th><th>Conclusion</th></tr>");
        for t in tests {
            b.push_str(&format!(
                "<tr><td><a href=\"/tests/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&t.id),
                esc(&t.title),
                t.population,
                t.exceptions,
                conclusion_pill(t.conclusion)
            ));
        }
        b.push_str("</table>");
    }
    if let Some(sample) = snap.samples.iter().find(|x| x.control == c.id.as_str()) {
        b.push_str(&format!(
            "<h2>Sample</h2><div class=\"card\"><p>{} of {} items, seed {} ({}).</p><p>{}</p></div>",
            sample.selected.len() + sample.added.len(),
            sample.population.len(),
            sample.seed,
            esc(&sample.rule),
            esc(&sample
                .selected
                .iter()
                .chain(&sample.added)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "))
        ));
    }
    if crate::authz::role_allows(role, Action::SelectSample) {
        b.push_str(&format!(
            "<form method=\"post\" action=\"/controls/{}/sample\">{}<button type=\"submit\">Draw a sample of this control's population</button></form>",
            esc(c.id.as_str()),
            csrf_field(s.csrf())
        ));
    }
    // Evidence, for the roles that may read it (the role table; viewers may not).
    if crate::authz::role_allows(role, Action::ReadEvidence) {
        b.push_str("<h2>Evidence</h2>");
        let entries: Vec<_> = snap
            .ledger
            .iter()
            .filter(|e| e.draft.controls.iter().any(|x| x == c.id.as_str()) && e.draft.action.is_evidence())
            .collect();
        if entries.is_empty() {
            b.push_str("<div class=\"card muted\">No evidence is recorded for this control.</div>");
        } else {
            b.push_str(
                "<table><tr><th>Entry</th><th>File</th><th>Table</th><th>Covers</th><th>Recorded</th><th>By</th></tr>",
            );
            for e in entries.iter().rev().take(50) {
                b.push_str(&evidence_row(
                    e,
                    crate::authz::role_allows(role, Action::DownloadEvidence),
                ));
            }
            b.push_str("</table>");
        }
    }
    if crate::authz::role_allows(role, Action::UploadEvidence) {
        b.push_str(&upload_form(s.csrf(), &[c.id.as_str()], None));
    }
    // Comments and history.
    let subject = format!("control:{}", c.id.as_str());
    b.push_str("<h2>Comments</h2>");
    b.push_str(&comments_html(&state.db.comments(&subject).await?));
    if crate::authz::role_allows(role, Action::Comment) {
        b.push_str(&comment_form(
            &format!("/controls/{}/comments", c.id.as_str()),
            s.csrf(),
            None,
        ));
    }
    // The control's history is the audit log's: for the roles that read it, and the control's owner.
    let log = if crate::authz::role_allows(role, Action::ReadAudit) || role == Role::ControlOwner {
        b.push_str("<h2>History</h2>");
        Some(state.db.audit_log(Some(&subject), 50).await?)
    } else {
        None
    };
    let Some(log) = log else {
        return ok(&format!("{} {}", c.id.as_str(), c.title), &s, "/controls", b);
    };
    if log.is_empty() {
        b.push_str("<p class=\"muted\">No changes recorded in Assure yet.</p>");
    } else {
        b.push_str("<table><tr><th>When</th><th>Who</th><th>What</th><th>Detail</th></tr>");
        for l in log {
            b.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                when(l.at),
                esc(l.who.as_deref().unwrap_or("")),
                esc(&l.action),
                esc(&l.detail)
            ));
        }
        b.push_str("</table>");
    }
    ok(&format!("{} {}", c.id.as_str(), c.title), &s, "/controls", b)
}

pub async fn control_comment(
    State(state): State<Shared>,
    s: Session,
    Path(id): Path<String>,
    Form(f): Form<CommentForm>,
) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    let snap = state.snapshot().await?;
    let c = control_or_404(&snap, &id)?;
    state.authorize(&s, &snap, Action::Comment, &[c.id.as_str()])?;
    comment(&state, &s, &format!("control:{}", c.id.as_str()), &f.body).await?;
    see_other(&format!("/controls/{}", c.id.as_str()))
}

pub async fn control_sample(
    State(state): State<Shared>,
    s: Session,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    let snap = state.snapshot().await?;
    let c = control_or_404(&snap, &id)?;
    state.authorize(&s, &snap, Action::SelectSample, &[c.id.as_str()])?;
    let backend = state.backend.clone();
    let (control, by, as_of) = (c.id.to_string(), s.user.email.clone(), snap.as_of);
    let sample = blocking(move || backend.sample(&control, &by, as_of)).await??;
    state.invalidate().await;
    state
        .audit(
            Some(&s.user),
            "drew a sample",
            &format!("control:{}", c.id.as_str()),
            &format!(
                "{} of {} items, seed {}",
                sample.selected.len() + sample.added.len(),
                sample.population.len(),
                sample.seed
            ),
        )
        .await?;
    see_other(&format!("/controls/{}", c.id.as_str()))
}
