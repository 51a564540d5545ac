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
                    .any(|r| r.as_str().eq_ignore_ascii_case(f.criterion.trim()))
        })
        .filter(|c| f.owner.is_empty() || c.owner.as_ref().is_some_and(|o| o.as_str() == f.owner))
        .filter(|c| {
            q.is_empty()
                || c.id.as_str().to_lowercase().contains(q.trim())
                || c.title.to_lowercase().contains(q.trim())
                || c.description.to_lowercase().contains(q.trim())
        })
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
    if list.is_empty() {
        b.push_str(&format!(
            "<div class=\"card\" role=\"status\"><p><b>No control matches these filters.</b></p><p class=\"muted\">{} <a href=\"/controls\">Show every control</a>.</p></div>",
            if f.criterion.is_empty() {
                "Try fewer words, or another owner or status.".to_string()
            } else {
                format!(
                    "No control you can see addresses `{}`; criteria look like CC6.1, objectives like ITGC-LA.",
                    esc(f.criterion.trim())
                )
            }
        ));
        return ok("Controls", &s, "/controls", b);
    }
    b.push_str(&format!("<p class=\"muted\" role=\"status\">{} controls</p><table><caption class=\"sr\">Controls matching the filters</caption><tr><th scope=\"col\">Control</th><th scope=\"col\">Title</th><th scope=\"col\">Owner</th><th scope=\"col\">Frequency</th><th scope=\"col\">Readiness</th><th scope=\"col\">Result</th></tr>", list.len()));
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
        b.push_str(&sample_html(&snap, sample, role, &s, c.id.as_str()));
    }
    if crate::authz::role_allows(role, Action::SelectSample) {
        let risks: String = ["", "low", "moderate", "high"]
            .iter()
            .map(|r| {
                format!(
                    "<option value=\"{r}\">{}</option>",
                    if r.is_empty() { "the control's" } else { r }
                )
            })
            .collect();
        b.push_str(&format!(
            "<div class=\"card\"><h2>Draw a sample</h2><form method=\"post\" action=\"/controls/{}/sample\">{}<div class=\"filters\"><div><label for=\"size\">Size</label><input id=\"size\" name=\"size\" type=\"number\" min=\"1\" max=\"100000\" placeholder=\"from the frequency and risk\"></div><div><label for=\"seed\">Seed</label><input id=\"seed\" name=\"seed\" type=\"number\" min=\"0\" placeholder=\"derived from the population\"></div><div><label for=\"risk\">Risk</label><select id=\"risk\" name=\"risk\">{risks}</select></div></div><button type=\"submit\">Draw a sample of this control's population</button></form><p class=\"muted\">Leave the size empty to take it from the sampling table for the control's frequency and risk. The seed and the whole population are recorded in the ledger, so anyone can draw the same sample again (`assure sample --control {} --seed N --size N`).</p></div>",
            esc(c.id.as_str()),
            csrf_field(s.csrf()),
            esc(c.id.as_str())
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
            b.push_str(&super::evidence::verify_hint(&snap));
            b.push_str(super::evidence::EVIDENCE_HEAD);
            for e in entries.iter().rev().take(50) {
                b.push_str(&evidence_row(
                    e,
                    crate::authz::role_allows(role, Action::DownloadEvidence),
                ));
            }
            b.push_str("</table>");
            if entries.len() > 50 {
                b.push_str(&format!(
                    "<p>The newest 50 of {} entries. <a href=\"/evidence?control={}\">Filter, sort and page through all of them</a>.</p>",
                    entries.len(),
                    super::tests::url_encode(c.id.as_str())
                ));
            }
        }
    }
    if crate::authz::role_allows(role, Action::UploadEvidence) {
        b.push_str(&upload_form(s.csrf(), &[c.id.as_str()], Some(c.id.as_str()), None));
    }
    // Comments and history.
    let subject = format!("control:{}", c.id.as_str());
    b.push_str("<h2 id=\"comments\">Comments</h2>");
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
    see_done(&format!("/controls/{}#comments", c.id.as_str()), Done::Commented)
}

#[derive(Debug, Default, Deserialize)]
pub struct SampleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    size: String,
    #[serde(default)]
    seed: String,
    #[serde(default)]
    risk: String,
}

pub async fn control_sample(
    State(state): State<Shared>,
    s: Session,
    Path(id): Path<String>,
    Form(f): Form<SampleForm>,
) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    let snap = state.snapshot().await?;
    let c = control_or_404(&snap, &id)?;
    state.authorize(&s, &snap, Action::SelectSample, &[c.id.as_str()])?;
    let number = |v: &str, what: &str, max: u64| -> Result<Option<u64>, AppError> {
        match v.trim() {
            "" => Ok(None),
            t => t.parse::<u64>().ok().filter(|n| *n <= max).map(Some).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "The {what} must be a whole number from 0 to {max}; `{t}` is not."
                ))
            }),
        }
    };
    let size = number(&f.size, "size", 100_000)?;
    if size == Some(0) {
        return Err(AppError::BadRequest(
            "A sample of 0 items tests nothing; leave the size empty to take it from the sampling table.".into(),
        ));
    }
    let opts =
        assure_workspace::sample::SampleOptions {
            seed: number(&f.seed, "seed", u64::MAX)?,
            size: size.map(|n| n as usize),
            risk: match f.risk.trim() {
                "" => None,
                r => Some(assure_schema::results::Risk::parse(r).ok_or_else(|| {
                    AppError::BadRequest(format!("`{r}` is not a risk; choose low, moderate or high."))
                })?),
            },
            add: Vec::new(),
        };
    let backend = state.backend.clone();
    let (control, by, as_of) = (c.id.to_string(), s.user.email.clone(), snap.as_of);
    let sample = blocking(move || backend.sample(&control, &opts, &by, as_of)).await??;
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
    see_done(&format!("/controls/{}#sample", c.id.as_str()), Done::Sampled)
}

/// A control's latest sample as a workpaper: the sampled items in a table with what testing each
/// found, the form to record a result, and the preparer's and reviewer's sign-offs.
fn sample_html(
    snap: &Snapshot,
    sample: &assure_schema::results::SampleRecord,
    role: Role,
    s: &Session,
    control: &str,
) -> String {
    let work = snap.workpapers.get(control);
    let mut b = format!(
        "<h2 id=\"sample\">Sample</h2><div class=\"card\"><p>{} of {} items, seed {} ({}; risk {}); population: {}.</p></div>",
        sample.selected.len() + sample.added.len(),
        sample.population.len(),
        sample.seed,
        esc(&sample.rule),
        esc(sample.risk.as_str()),
        esc(&sample.population_source)
    );
    let attrs = work.map(|w| w.attribute_names()).unwrap_or_default();
    b.push_str("<div class=\"scroll\"><table><tr><th>#</th><th>Sampled item</th><th>Result</th><th>Attributes tested</th><th>Tickmarks</th><th>Note</th><th>Tested by</th></tr>");
    for (n, item) in sample.selected.iter().chain(&sample.added).enumerate() {
        let w = work.and_then(|w| w.items.get(item));
        let (pill, result) = match w.map(|w| w.result) {
            Some(assure_schema::results::SampleResult::Pass) => ("ok", "pass"),
            Some(assure_schema::results::SampleResult::Exception) => ("bad", "exception"),
            Some(assure_schema::results::SampleResult::NotApplicable) => ("warn", "not applicable"),
            None => ("warn", "not tested yet"),
        };
        // An item named `test/item` links to the item in its test's population.
        let shown = match item.split_once('/') {
            Some((t, i)) if snap.project.test(t).is_some() => format!(
                "<a href=\"/tests/{}?q={}\">{}</a>",
                esc(t),
                esc(&i.replace(' ', "+")),
                esc(item)
            ),
            _ => esc(item),
        };
        b.push_str(&format!(
            "<tr><td>{}</td><td>{shown}{}</td><td><span class=\"pill {pill}\">{result}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            n + 1,
            if sample.added.contains(item) { " <span class=\"muted\">(added)</span>" } else { "" },
            w.map(|w| w
                .attributes
                .iter()
                .map(|a| format!("{}: {}", esc(&a.attribute), a.result.as_str()))
                .collect::<Vec<_>>()
                .join("<br>"))
                .unwrap_or_default(),
            esc(&w.map(|w| w.tickmarks.join(" ")).unwrap_or_default()),
            esc(w.map(|w| w.note.as_str()).unwrap_or("")),
            w.map(|w| format!("{} · {} · entry {}", esc(&w.by), esc(w.at.get(..10).unwrap_or(&w.at)), w.seq))
                .unwrap_or_default()
        ));
    }
    b.push_str("</table></div>");
    b.push_str(&format!(
        "<p class=\"muted\">Tickmarks: {}.</p>",
        assure_schema::results::TICKMARKS
            .iter()
            .map(|(k, m)| format!("<strong>{k}</strong> {}", esc(m)))
            .collect::<Vec<_>>()
            .join(" · ")
    ));
    let signed = |x: Option<&assure_workspace::workpaper::Signoff>| match x {
        Some(x) => format!(
            "{} on {} (entry {}){}",
            esc(&x.by),
            esc(x.at.get(..10).unwrap_or(&x.at)),
            x.seq,
            if x.stale {
                " <span class=\"pill warn\">results changed since</span>"
            } else {
                ""
            }
        ),
        None => "not signed".into(),
    };
    b.push_str(&format!(
        "<div class=\"card\"><h3>Sign-off</h3><table><tr><th>Prepared by</th><td>{}</td></tr><tr><th>Reviewed by</th><td>{}</td></tr></table>",
        signed(work.and_then(|w| w.preparer.as_ref())),
        signed(work.and_then(|w| w.reviewer.as_ref()))
    ));
    if crate::authz::role_allows(role, Action::RecordWorkpaper) {
        for (value, label) in [
            ("preparer", "Sign off as preparer"),
            ("reviewer", "Sign off as reviewer"),
        ] {
            b.push_str(&format!(
                "<form class=\"inline\" method=\"post\" action=\"/controls/{}/signoff\">{}<input type=\"hidden\" name=\"role\" value=\"{value}\"><button type=\"submit\">{label}</button></form> ",
                esc(control),
                csrf_field(s.csrf())
            ));
        }
    }
    b.push_str("</div>");
    if crate::authz::role_allows(role, Action::RecordWorkpaper) {
        let untested: Vec<&str> = work.map_or_else(
            || {
                sample
                    .selected
                    .iter()
                    .chain(&sample.added)
                    .map(String::as_str)
                    .collect()
            },
            |w| w.untested(sample),
        );
        let items: String = untested
            .iter()
            .copied()
            .chain(
                sample
                    .selected
                    .iter()
                    .chain(&sample.added)
                    .map(String::as_str)
                    .filter(|i| !untested.contains(i)),
            )
            .map(|i| format!("<option value=\"{0}\">{0}</option>", esc(i)))
            .collect();
        let results = |name: &str| {
            format!(
                "<select name=\"{name}\" aria-label=\"result\"><option value=\"pass\">pass</option><option value=\"exception\">exception</option><option value=\"not_applicable\">not applicable</option></select>"
            )
        };
        let mut rows = String::new();
        for k in 0..3 {
            rows.push_str(&format!(
                "<div class=\"filters\"><div><label for=\"attribute{k}\">Attribute tested</label><input id=\"attribute{k}\" name=\"attribute{k}\" value=\"{}\" maxlength=\"300\"></div><div><label>Found</label>{}</div></div>",
                esc(attrs.get(k).map(String::as_str).unwrap_or("")),
                results(&format!("attribute{k}_result"))
            ));
        }
        let ticks: String = assure_schema::results::TICKMARKS
            .iter()
            .map(|(k, m)| {
                format!(
                    "<label style=\"display:inline;font-weight:400;margin-right:1rem\"><input type=\"checkbox\" name=\"tick_{k}\" value=\"1\" style=\"width:auto\"> {k} <span class=\"muted\">{}</span></label>",
                    esc(m)
                )
            })
            .collect();
        b.push_str(&format!(
            "<div class=\"card\"><h3>Record a result</h3><form method=\"post\" action=\"/controls/{}/workpaper\">{}<label for=\"item\">Sampled item</label><select id=\"item\" name=\"item\">{items}</select>{rows}<label for=\"result\">Result for the item</label><select id=\"result\" name=\"result\"><option value=\"pass\">pass</option><option value=\"exception\">exception</option><option value=\"not_applicable\">not applicable</option></select><fieldset style=\"border:0;padding:0;margin:.6rem 0\"><legend style=\"font-weight:600\">Tickmarks</legend>{ticks}</fieldset><label for=\"note\">Note (required for an exception)</label><textarea id=\"note\" name=\"note\" maxlength=\"10000\"></textarea><button type=\"submit\">Record in the ledger</button></form></div>",
            esc(control),
            csrf_field(s.csrf())
        ));
    }
    b
}

#[derive(Debug, Default, Deserialize)]
pub struct WorkpaperForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    item: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    role: String,
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

async fn record(
    state: &Shared,
    s: &Session,
    id: &str,
    input: assure_workspace::workpaper::WorkpaperInput,
    what: &str,
) -> Page {
    let snap = state.snapshot().await?;
    let c = control_or_404(&snap, id)?;
    state.authorize(s, &snap, Action::RecordWorkpaper, &[c.id.as_str()])?;
    let backend = state.backend.clone();
    let (control, by) = (c.id.to_string(), s.user.email.clone());
    let entry = blocking(move || backend.record_workpaper(&control, &input, &by)).await??;
    state.invalidate().await;
    state
        .audit(
            Some(&s.user),
            what,
            &format!("control:{}", c.id.as_str()),
            &format!("ledger entry {}", entry.seq),
        )
        .await?;
    see_done(&format!("/controls/{}#sample", c.id.as_str()), Done::WorkpaperSaved)
}

/// Records what testing one sampled item found.
pub async fn control_workpaper(
    State(state): State<Shared>,
    s: Session,
    Path(id): Path<String>,
    Form(f): Form<WorkpaperForm>,
) -> Page {
    use assure_schema::results::{AttributeResult, SampleResult};
    state.check_csrf(&s, &f.csrf)?;
    let parse = |v: &str| {
        SampleResult::parse(v.trim()).ok_or_else(|| {
            AppError::BadRequest(format!(
                "`{v}` is not a result; choose pass, exception or not applicable."
            ))
        })
    };
    let mut attributes = Vec::new();
    for k in 0..10 {
        let Some(name) = f.rest.get(&format!("attribute{k}")) else {
            continue;
        };
        if name.trim().is_empty() {
            continue;
        }
        let result = parse(
            f.rest
                .get(&format!("attribute{k}_result"))
                .map(String::as_str)
                .unwrap_or("pass"),
        )?;
        attributes.push(AttributeResult {
            attribute: name.trim().to_string(),
            result,
        });
    }
    let tickmarks = assure_schema::results::TICKMARKS
        .iter()
        .filter(|(k, _)| f.rest.contains_key(&format!("tick_{k}")))
        .map(|(k, _)| (*k).to_string())
        .collect();
    let input = assure_workspace::workpaper::WorkpaperInput::Result {
        item: f.item.clone(),
        attributes,
        result: parse(&f.result)?,
        tickmarks,
        note: f.note.clone(),
    };
    record(&state, &s, &id, input, "recorded a sample result").await
}

/// A preparer's or reviewer's sign-off of a control's sample.
pub async fn control_signoff(
    State(state): State<Shared>,
    s: Session,
    Path(id): Path<String>,
    Form(f): Form<WorkpaperForm>,
) -> Page {
    use assure_schema::results::SignoffRole;
    state.check_csrf(&s, &f.csrf)?;
    let role = match f.role.as_str() {
        "preparer" => SignoffRole::Preparer,
        "reviewer" => SignoffRole::Reviewer,
        other => {
            return Err(AppError::BadRequest(format!(
                "`{other}` is not a sign-off; sign off as preparer or reviewer."
            )));
        }
    };
    record(
        &state,
        &s,
        &id,
        assure_workspace::workpaper::WorkpaperInput::Signoff(role),
        "signed off a sample",
    )
    .await
}
