//! Test results: the latest run's tests and one test's items and samples.

use super::*;

pub async fn tests(State(state): State<Shared>, s: Session) -> Page {
    let (snap, role) = state.authorized(&s, Action::ReadTests, &[]).await?;
    let mut b = String::from("<h1>Test results</h1>");
    if crate::authz::role_allows(role, Action::ExportWorkpapers) {
        b.push_str("<p><a href=\"/workpapers.tar\" download>Download the workpaper set</a> <span class=\"muted\">(the workbook with every population, sample and evidence hash, and the evidence package that verifies offline)</span></p>");
    }
    match &snap.run {
        None => b.push_str(
            "<div class=\"card\">No test run is recorded yet: import evidence and run <code>assure test</code>.</div>",
        ),
        Some((seq, r)) => {
            b.push_str(&format!(
                "<p class=\"muted\">Type {} run recorded as ledger entry {seq}: period {} to {}, as of {}. Every item below can be re-performed from the ledger.</p>",
                r.exam_type, r.period_start, r.period_end, r.as_of
            ));
            // A run of some tests carries the others' latest results: say which, and from when.
            let carried_at = r.carried_from.map(|from| {
                let at = snap
                    .ledger
                    .iter()
                    .find(|e| e.seq == from)
                    .map(|e| e.draft.at.get(..10).unwrap_or(&e.draft.at).to_string())
                    .unwrap_or_default();
                (from, at)
            });
            if let Some((from, at)) = &carried_at {
                b.push_str(&format!(
                    "<p class=\"muted\">This run ran {} of the {} tests; the others keep their latest results, from the run recorded as ledger entry {from} ({}).</p>",
                    r.tests.len() - r.carried.len(),
                    r.tests.len(),
                    esc(at)
                ));
            }
            b.push_str("<table><tr><th>Test</th><th>Controls</th><th>Population</th><th>Exceptions</th><th>Conclusion</th></tr>");
            for t in crate::views::tests(&snap, &s.user, role) {
                let from = match &carried_at {
                    Some((from, at)) if r.carried.iter().any(|c| c == &t.id) => {
                        format!(" · result of entry {from}, {}", esc(at))
                    }
                    _ => String::new(),
                };
                b.push_str(&format!(
                    "<tr><td><a href=\"/tests/{}\">{}</a><br><span class=\"muted\">{}{from}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&t.id),
                    esc(&t.title),
                    esc(&t.id),
                    esc(&t.controls.join(", ")),
                    t.population,
                    t.exceptions,
                    conclusion_pill(t.kind)
                ));
            }
            b.push_str("</table>");
        }
    }
    ok("Tests", &s, "/tests", b)
}

#[derive(Debug, Default, Deserialize)]
pub struct PopulationParams {
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    dir: String,
    #[serde(default, deserialize_with = "lenient_usize")]
    page: Option<usize>,
    #[serde(default, deserialize_with = "lenient_usize")]
    per: Option<usize>,
}

/// A number from a query string, or nothing when it is empty or not a number (a hand-edited
/// address shows the first page rather than an error).
fn lenient_usize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    Ok(s.and_then(|s| s.trim().parse().ok()))
}

/// Percent-encodes a query value.
pub(super) fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The whole population of a test as a workbook: every item, every attribute, typed, with lineage.
pub async fn population_xlsx(State(state): State<Shared>, s: Session, Path(id): Path<String>) -> Page {
    let snap = state.snapshot().await?;
    let (seq, r, t) = latest_test(&state, &s, &snap, &id)?;
    let t = &with_rows(&state, &snap, t).await?;
    let mut sheet = assure_report::workpaper::population_sheet(seq, r, t, &snap.samples);
    sheet.name = "Population".into();
    let m = assure_report::matrix::Matrix {
        organization: snap.project.manifest.organization.name.clone(),
        as_of: snap.as_of,
        sheets: vec![sheet],
    };
    let bytes = assure_xlsx::write(&m).map_err(|e| AppError::Internal(e.to_string()))?;
    state
        .audit(
            Some(&s.user),
            "downloaded a population",
            &format!("test:{id}"),
            &format!("run {seq}"),
        )
        .await?;
    let safe: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    Ok(xlsx_download(bytes, &format!("{safe}-population.xlsx")))
}

/// The whole workpaper set as one archive: `workpapers.xlsx` (the control matrix, the request list,
/// every evidence file with its SHA-256, each test's whole population with lineage, and each
/// sample's results and sign-offs), `evidence.tar` (the signed ledger and every file, which
/// `assure evidence verify` checks offline) and `VERIFY.txt` (how).
pub async fn workpaper_set(State(state): State<Shared>, s: Session) -> Page {
    let (snap, _) = state.authorized(&s, Action::ExportWorkpapers, &[]).await?;
    let (inputs, _) = snap.period_inputs();
    let mut m = assure_report::matrix::matrix(&inputs);
    if let Some(sheet) = assure_workspace::workpaper::samples_sheet(&snap) {
        m.sheets.insert(3, sheet);
    }
    let workbook = assure_xlsx::write(&m).map_err(|e| AppError::Internal(e.to_string()))?;
    let backend = state.backend.clone();
    let (package, key) = blocking(move || backend.evidence_package()).await??;
    let verify = format!(
        "Workpapers of {} as of {}.\n\nworkpapers.xlsx  the control matrix, the request list, every evidence file with its SHA-256,\n                 each test's whole population with where each item was read from, and each\n                 sample's results and sign-offs.\nevidence.tar     the signed evidence ledger and every file it records.\n\nTo check the package offline, with the ledger's public key:\n\n    assure evidence verify evidence.tar --key {key}\n\nEach file's SHA-256 in the workbook is what `sha256sum` prints for it inside the package.\n",
        snap.project.manifest.organization.name, snap.as_of
    );
    let mut tar = tar::Builder::new(Vec::new());
    for (name, bytes) in [
        ("workpapers.xlsx", workbook.as_slice()),
        ("evidence.tar", package.as_slice()),
        ("VERIFY.txt", verify.as_bytes()),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_cksum();
        tar.append_data(&mut h, format!("workpapers/{name}"), bytes)
            .map_err(|e| AppError::Internal(format!("cannot write the workpaper set: {e}")))?;
    }
    let bytes = tar
        .into_inner()
        .map_err(|e| AppError::Internal(format!("cannot write the workpaper set: {e}")))?;
    state
        .audit(
            Some(&s.user),
            "downloaded the workpaper set",
            "workpapers",
            &format!("as of {}", snap.as_of),
        )
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/x-tar")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"workpapers.tar\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// A test of the latest run that the session may read.
/// The test's items with the evidence rows they were read from (every item, passing ones too, shows
/// its evidence's columns), read back from the store.
async fn with_rows(
    state: &Shared,
    snap: &std::sync::Arc<Snapshot>,
    t: &assure_schema::results::TestOutcome,
) -> Result<assure_schema::results::TestOutcome, AppError> {
    let backend = state.backend.clone();
    let (snap, t) = (snap.clone(), t.clone());
    Ok(blocking(move || backend.with_evidence_rows(&t, &snap.ledger)).await??)
}

fn latest_test<'a>(
    state: &Shared,
    s: &Session,
    snap: &'a Snapshot,
    id: &str,
) -> Result<
    (
        u64,
        &'a assure_schema::results::RunRecord,
        &'a assure_schema::results::TestOutcome,
    ),
    AppError,
> {
    let (seq, r) = snap
        .run
        .as_ref()
        .ok_or_else(|| AppError::NotFound("No test run is recorded yet.".into()))?;
    let t = r
        .tests
        .iter()
        .find(|t| t.id == id)
        .ok_or_else(|| AppError::NotFound(format!("The latest run has no test `{id}`.")))?;
    let controls: Vec<&str> = t.controls.iter().map(String::as_str).collect();
    state.authorize(s, snap, Action::ReadTests, &controls)?;
    Ok((*seq, r, t))
}

pub async fn test(
    State(state): State<Shared>,
    s: Session,
    Path(id): Path<String>,
    Query(q): Query<PopulationParams>,
) -> Page {
    let snap = state.snapshot().await?;
    let (seq, r, t) = latest_test(&state, &s, &snap, &id)?;
    let mut b = format!(
        "<h1>{}</h1><div class=\"card\"><p>{}</p><p>Controls: {} · population {} · exceptions {} · not applicable {} · {} · ledger entry {seq}</p></div>",
        esc(&t.title),
        esc(&snap
            .project
            .test(&t.id)
            .map(|d| {
                let population = d.doc.population.trim();
                if population.is_empty() {
                    d.doc.what.trim().to_string()
                } else {
                    format!("{} Population: {population}", d.doc.what.trim())
                }
            })
            .unwrap_or_default()),
        t.controls
            .iter()
            .map(|c| format!("<a href=\"/controls/{0}\">{0}</a>", esc(c)))
            .collect::<Vec<_>>()
            .join(", "),
        t.population,
        t.exceptions,
        t.not_applicable,
        conclusion_pill(t.conclusion)
    );
    if let Some(n) = &t.note {
        b.push_str(&format!("<p class=\"muted\">{}</p>", esc(n)));
    }
    // Samples drawn from this test's controls, with the selected items marked below.
    for x in snap.samples.iter().filter(|x| t.controls.contains(&x.control)) {
        b.push_str(&format!(
            "<div class=\"card\">Sample for {}: {} of {} items, seed {} ({}). <a href=\"/tests/{}?status=sampled\">Show the sampled items</a> · <a href=\"/controls/{}\">Work the sample</a></div>",
            esc(&x.control),
            x.selected.len() + x.added.len(),
            x.population.len(),
            x.seed,
            esc(&x.rule),
            esc(&t.id),
            esc(&x.control)
        ));
    }
    let query = assure_report::workpaper::PopulationQuery {
        status: q.status.clone(),
        text: q.q.clone(),
        sort: q.sort.clone(),
        descending: q.dir == "desc",
        page: q.page.unwrap_or(1),
        per_page: q.per.unwrap_or(100),
    };
    let t = &with_rows(&state, &snap, t).await?;
    let view = assure_report::workpaper::population(r, t, &snap.samples, &query);
    // Every link keeps the other parameters.
    let link = |sort: &str, dir: &str, page: usize| {
        format!(
            "/tests/{}?status={}&q={}&sort={}&dir={}&page={page}&per={}",
            esc(&t.id),
            esc(&url_encode(&query.status)),
            esc(&url_encode(&query.text)),
            esc(&url_encode(sort)),
            dir,
            query.per_page.clamp(1, 1000)
        )
    };
    let status_opts: String = [
        ("", "every item"),
        ("fail", "exceptions"),
        ("pass", "passed"),
        ("not_applicable", "not applicable"),
        ("sampled", "sampled"),
    ]
    .iter()
    .map(|(v, l)| {
        format!(
            "<option value=\"{v}\"{}>{l}</option>",
            if *v == query.status { " selected" } else { "" }
        )
    })
    .collect();
    b.push_str(&format!(
        "<h2>Population</h2><form class=\"filters\" method=\"get\" action=\"/tests/{0}\"><div><label for=\"status\">Show</label><select id=\"status\" name=\"status\">{status_opts}</select></div><div><label for=\"q\">Containing</label><input id=\"q\" name=\"q\" value=\"{1}\"></div><input type=\"hidden\" name=\"sort\" value=\"{2}\"><input type=\"hidden\" name=\"dir\" value=\"{3}\"><div><label for=\"per\">Per page</label><select id=\"per\" name=\"per\">{4}</select></div><button type=\"submit\">Filter</button></form><p>{5} of {6} items · page {7} of {8} · <a href=\"/tests/{0}/population.xlsx\">Download the whole population (XLSX)</a></p>",
        esc(&t.id),
        esc(&query.text),
        esc(&query.sort),
        esc(&q.dir),
        [25usize, 100, 500, 1000]
            .iter()
            .map(|n| format!("<option{}>{n}</option>", if *n == query.per_page.clamp(1, 1000) || (query.per_page == 0 && *n == 100) { " selected" } else { "" }))
            .collect::<String>(),
        view.matching,
        t.items.len(),
        view.page,
        view.pages
    ));
    let has_lineage = view.items.iter().any(|i| i.lineage.is_some());
    b.push_str("<div class=\"scroll\"><table><tr>");
    let mut heads: Vec<&str> = vec!["item", "status", "reason"];
    heads.extend(view.columns.iter().map(String::as_str));
    for h in &heads {
        let (dir, mark) = if query.sort == *h {
            if query.descending {
                ("asc", " ▼")
            } else {
                ("desc", " ▲")
            }
        } else {
            ("asc", "")
        };
        let kind = view
            .types
            .get(*h)
            .map(|k| format!("{k:?}").to_lowercase())
            .unwrap_or_default();
        b.push_str(&format!(
            "<th aria-sort=\"{}\"><a href=\"{}\" title=\"sorts as {kind}\">{}{mark}</a></th>",
            if query.sort == *h {
                if query.descending { "descending" } else { "ascending" }
            } else {
                "none"
            },
            link(h, dir, 1),
            esc(h)
        ));
    }
    if has_lineage {
        b.push_str("<th>Read from (ledger entry, file, row, SHA-256)</th>");
    }
    b.push_str("</tr>");
    for i in &view.items {
        let class = match i.item.status {
            ItemStatus::Fail => "bad",
            ItemStatus::Pass => "ok",
            _ => "warn",
        };
        b.push_str(&format!(
            "<tr><td>{}{}</td><td><span class=\"pill {class}\">{}</span></td><td>{}</td>",
            esc(&i.item.item),
            if i.sampled {
                " <span class=\"pill warn\">sampled</span>"
            } else {
                ""
            },
            esc(i.item.status.as_str()),
            esc(&i.item.reason)
        ));
        for c in &view.columns {
            let v = i
                .item
                .attributes
                .iter()
                .find(|(k, _)| k == c)
                .map(|(_, v)| v.as_str())
                .unwrap_or("");
            let num = view.types.get(c) == Some(&assure_report::workpaper::ColumnType::Number);
            b.push_str(&format!(
                "<td{}>{}</td>",
                if num { " style=\"text-align:right\"" } else { "" },
                esc(v)
            ));
        }
        if has_lineage {
            b.push_str(&match &i.lineage {
                Some(l) => format!(
                    "<td>entry {} · {} · row {}<br><code class=\"hash\" title=\"SHA-256\">{}</code></td>",
                    l.seq,
                    esc(&l.file),
                    esc(&l.row),
                    esc(&l.sha256)
                ),
                None => "<td></td>".into(),
            });
        }
        b.push_str("</tr>");
    }
    b.push_str("</table></div>");
    if view.pages > 1 {
        let sort = query.sort.clone();
        let dir = if query.descending { "desc" } else { "asc" };
        b.push_str("<nav class=\"filters\" aria-label=\"Pages\">");
        if view.page > 1 {
            b.push_str(&format!(
                "<a href=\"{}\">first</a> <a href=\"{}\" rel=\"prev\">previous</a>",
                link(&sort, dir, 1),
                link(&sort, dir, view.page - 1)
            ));
        }
        b.push_str(&format!(" page {} of {} ", view.page, view.pages));
        if view.page < view.pages {
            b.push_str(&format!(
                "<a href=\"{}\" rel=\"next\">next</a> <a href=\"{}\">last</a>",
                link(&sort, dir, view.page + 1),
                link(&sort, dir, view.pages)
            ));
        }
        b.push_str("</nav>");
    }
    if t.items
        .iter()
        .any(|i| i.status == ItemStatus::Pass && i.attributes.is_empty())
        && !view.columns.is_empty()
    {
        b.push_str("<p class=\"muted\">A run records passing items by id and by where they were read from (the file, row and hash above); their other columns are in that row of the file. Exceptions and exclusions keep every column.</p>");
    }
    if !has_lineage && !t.items.is_empty() {
        b.push_str("<p class=\"muted\">This test's query does not return where each item came from (`_evidence`, `_row`); the run's input files and their hashes are listed on the evidence page.</p>");
    }
    ok(&t.title, &s, "/tests", b)
}

/// Year over year: every examination period with its readiness and the run its results come from,
/// then each test's population, exceptions and conclusion per period.
pub async fn periods(State(state): State<Shared>, s: Session) -> Page {
    let (snap, _) = state.authorized(&s, Action::ReadTests, &[]).await?;
    let backend = state.backend.clone();
    let as_of = snap.as_of;
    let years = blocking(move || backend.year_over_year(as_of)).await??;
    let mut b = String::from("<h1>Periods, year over year</h1>");
    if years.is_empty() {
        b.push_str("<div class=\"card\">The project has no examination period: set one in <code>[scope]</code> of <code>assure.toml</code>.</div>");
        return ok("Periods", &s, "/periods", b);
    }
    b.push_str("<p class=\"muted\">Each period shows the latest test run of its own dates; a closed period's results and reports are frozen. <code>assure period compare -o FILE.xlsx</code> writes this as a workbook.</p>");
    b.push_str("<table><tr><th>Period</th><th>Dates</th><th>Status</th><th>Results from</th><th>Readiness</th></tr>");
    for y in &years {
        let p = &y.period;
        b.push_str(&format!(
            "<tr><td>{}</td><td>{} to {}</td><td>{}{}</td><td>{}</td><td>{} <span class=\"muted\">{} {}</span></td></tr>",
            esc(&p.name),
            p.start,
            p.end,
            p.status.as_str(),
            p.closed_on.map(|d| format!(" on {d}")).unwrap_or_default(),
            y.run
                .as_ref()
                .map_or("no run".to_string(), |r| format!("ledger entry {}, as of {}", r.seq, r.as_of)),
            score_pill(y.readiness),
            if y.readiness_frozen { "frozen at close" } else { "as of" },
            y.as_of
        ));
    }
    b.push_str("</table><h2>Tests</h2><table><tr><th>Test</th>");
    for y in &years {
        b.push_str(&format!("<th>{}</th>", esc(&y.period.name)));
    }
    b.push_str("</tr>");
    let ids: std::collections::BTreeSet<&String> = years.iter().flat_map(|y| y.tests.keys()).collect();
    for id in ids {
        b.push_str(&format!("<tr><td><a href=\"/tests/{}\">{}</a></td>", esc(id), esc(id)));
        for y in &years {
            match y.tests.get(id) {
                Some(t) => b.push_str(&format!(
                    "<td>{} item{}, {} exception{}<br><span class=\"muted\">{}</span></td>",
                    t.population,
                    if t.population == 1 { "" } else { "s" },
                    t.exceptions,
                    if t.exceptions == 1 { "" } else { "s" },
                    esc(&t.conclusion)
                )),
                None => b.push_str("<td class=\"muted\">not run</td>"),
            }
        }
        b.push_str("</tr>");
    }
    b.push_str("</table>");
    ok("Periods", &s, "/periods", b)
}

/// Continuous monitoring: the schedule and where alerts go, the exceptions over the latest cycles
/// (an SVG drawn here, no script), the open conditions and the latest cycles.
pub async fn monitoring(State(state): State<Shared>, s: Session) -> Page {
    let (_, role) = state.authorized(&s, Action::ReadTests, &[]).await?;
    let backend = state.backend.clone();
    let v = blocking(move || backend.monitoring()).await??;
    let mut b = String::from("<h1>Monitoring</h1>");
    if crate::authz::role_allows(role, Action::RunMonitoring) {
        b.push_str(&format!(
            "<form method=\"post\" action=\"/monitoring/run\" class=\"card\">{}<p>A cycle collects from the systems listed below, runs the current period's tests, compares with the previous cycle and sends what is new.</p><button type=\"submit\">Run a cycle now</button></form>",
            csrf_field(s.csrf())
        ));
    }
    b.push_str("<div class=\"card\"><dl>");
    let list = |xs: &[String]| {
        if xs.is_empty() {
            "none".to_string()
        } else {
            xs.iter().map(|x| esc(x)).collect::<Vec<_>>().join("; ")
        }
    };
    b.push_str(&format!(
        "<dt>Schedule</dt><dd>{}</dd><dt>Collectors</dt><dd>{}</dd><dt>Alerts go to</dt><dd>{}</dd></dl>",
        match (&v.schedule, &v.next) {
            (Some(sch), Some(next)) => format!("{}; next cycle {}", esc(sch), esc(next)),
            _ => "none: cycles run when <code>assure monitor --once</code> runs (from cron or CI)".into(),
        },
        list(&v.collectors),
        list(&v.destinations)
    ));
    b.push_str("<p class=\"muted\">Set these under <code>[monitoring]</code> in <code>assure.toml</code>. Each cycle runs the current period's tests, compares what fails with the previous cycle and alerts what is new.</p></div>");
    if v.history.is_empty() {
        b.push_str("<div class=\"card\">No monitoring cycle has run yet: run <code>assure monitor --once</code>, or set a schedule.</div>");
        return ok("Monitoring", &s, "/monitoring", b);
    }
    // Exceptions per cycle, across every test.
    let points: Vec<usize> = v.history.iter().map(|h| h.tests.iter().map(|t| t.3).sum()).collect();
    let max = points.iter().copied().max().unwrap_or(0).max(1);
    let (w, h) = (600.0_f64, 120.0_f64);
    let path = line_points(&points, w, h, 10.0);
    let (first, last) = (v.history.first(), v.history.last());
    b.push_str(&format!(
        "<h2>Exceptions per cycle</h2><figure><svg role=\"img\" aria-labelledby=\"trend-title\" viewBox=\"-4 -4 {} {}\" width=\"100%\" height=\"140\"><title id=\"trend-title\">Exceptions across every test in the last {} cycles, from {} to {} (most: {max})</title><line x1=\"0\" y1=\"{h}\" x2=\"{w}\" y2=\"{h}\" stroke=\"#8a94a6\" stroke-width=\"1\"/><line x1=\"0\" y1=\"10\" x2=\"{w}\" y2=\"10\" stroke=\"#d5dae3\" stroke-width=\"1\" stroke-dasharray=\"4 4\"/><text x=\"{w}\" y=\"8\" text-anchor=\"end\" font-size=\"11\" fill=\"#4a5468\">{max}</text><text x=\"{w}\" y=\"{h}\" dy=\"-3\" text-anchor=\"end\" font-size=\"11\" fill=\"#4a5468\">0</text><polyline fill=\"none\" stroke=\"currentColor\" stroke-width=\"2\" points=\"{}\"/></svg><figcaption class=\"muted\">From {} ({} exceptions) to {} ({} exceptions).</figcaption></figure>",
        w + 8.0,
        h + 8.0,
        points.len(),
        esc(first.map_or("", |x| x.at.as_str())),
        esc(last.map_or("", |x| x.at.as_str())),
        path,
        esc(first.map_or("", |x| x.at.as_str())),
        points.first().copied().unwrap_or(0),
        esc(last.map_or("", |x| x.at.as_str())),
        points.last().copied().unwrap_or(0),
    ));
    // Readiness per cycle (cycles recorded before it was kept are left out).
    let readiness: Vec<u32> = v.history.iter().filter_map(|h| h.readiness).collect();
    if let (Some(first), Some(last)) = (readiness.first(), readiness.last()) {
        let pct = |r: u32| format!("{:.1}%", f64::from(r) / 10.0);
        b.push_str(&format!(
            "<h2>Readiness per cycle</h2><figure>{}<figcaption class=\"muted\">The gap analysis's overall figure as of each cycle: from {} to {}.</figcaption></figure>",
            sparkline(
                &readiness.iter().map(|r| *r as usize).collect::<Vec<_>>(),
                600.0,
                80.0,
                "readiness-title",
                &format!("Readiness in the last {} cycles: from {} to {}", readiness.len(), pct(*first), pct(*last))
            ),
            pct(*first),
            pct(*last)
        ));
    }
    // Evidence freshness: controls whose evidence is stale for their frequency, per cycle.
    let stale: Vec<usize> = v.history.iter().filter_map(|h| h.stale).map(|n| n as usize).collect();
    if let (Some(first), Some(last)) = (stale.first(), stale.last()) {
        b.push_str(&format!(
            "<h2>Evidence freshness per cycle</h2><figure>{}<figcaption class=\"muted\">Controls whose latest evidence is older than their frequency allows: from {first} to {last}; which ones are among the open conditions below (stale evidence).</figcaption></figure>",
            sparkline(
                &stale,
                600.0,
                80.0,
                "stale-title",
                &format!("Controls with stale evidence in the last {} cycles: from {first} to {last}", stale.len())
            )
        ));
    }
    // Controls with exceptions per cycle, and each test that had exceptions, as small lines.
    let failing: Vec<usize> = v.history.iter().map(|h| h.failing_controls.len()).collect();
    b.push_str(&format!(
        "<h2>Controls with exceptions per cycle</h2><figure>{}<figcaption class=\"muted\">From {} to {} control(s) with exceptions.</figcaption></figure>",
        sparkline(
            &failing,
            600.0,
            80.0,
            "controls-title",
            &format!(
                "Controls with exceptions in the last {} cycles (most: {})",
                failing.len(),
                failing.iter().max().copied().unwrap_or(0)
            )
        ),
        failing.first().copied().unwrap_or(0),
        failing.last().copied().unwrap_or(0)
    ));
    let mut ids: Vec<&str> = v
        .history
        .iter()
        .flat_map(|h| h.tests.iter().filter(|t| t.3 > 0).map(|t| t.0.as_str()))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if !ids.is_empty() {
        b.push_str("<h2>Exceptions per test</h2><table><caption>Tests with exceptions in the latest cycles: first and latest count, and the line between</caption><tr><th scope=\"col\">Test</th><th scope=\"col\">First → latest</th><th scope=\"col\">Over the cycles</th></tr>");
        for id in ids {
            let series: Vec<usize> = v
                .history
                .iter()
                .map(|h| h.tests.iter().find(|t| t.0 == id).map_or(0, |t| t.3))
                .collect();
            b.push_str(&format!(
                "<tr><th scope=\"row\"><a href=\"/tests/{}\">{}</a></th><td>{} → {}</td><td>{}</td></tr>",
                esc(id),
                esc(id),
                series.first().copied().unwrap_or(0),
                series.last().copied().unwrap_or(0),
                sparkline(
                    &series,
                    160.0,
                    24.0,
                    &format!("t-{}", esc(id)),
                    &format!("Exceptions of {id} per cycle")
                )
            ));
        }
        b.push_str("</table>");
    }
    if !v.tracks.is_empty() {
        b.push_str("<h2>Controls over the period</h2><table><caption>Each control that had exceptions in a cycle of this period</caption><tr><th scope=\"col\">Control</th><th scope=\"col\">Now</th><th scope=\"col\">Failing since</th><th scope=\"col\">Last recovered</th><th scope=\"col\">Cycles with exceptions</th></tr>");
        for t in &v.tracks {
            b.push_str(&format!(
                "<tr><td><a href=\"/controls/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&t.control),
                esc(&t.control),
                if t.failing {
                    "<span class=\"pill bad\">failing</span>"
                } else {
                    "<span class=\"pill ok\">passing</span>"
                },
                esc(t.since.as_deref().unwrap_or("")),
                esc(t.recovered.as_deref().unwrap_or("never")),
                t.cycles_failing
            ));
        }
        b.push_str("</table>");
    }
    b.push_str(&format!(
        "<h2>Open conditions</h2><table><caption>{} condition(s) open</caption><tr><th scope=\"col\">Kind</th><th scope=\"col\">Of</th><th scope=\"col\">Item</th><th scope=\"col\">Why</th><th scope=\"col\">First seen</th><th scope=\"col\">Alerted</th></tr>",
        v.state.open.len()
    ));
    for o in v.state.open.values() {
        let c = &o.condition;
        let of = if c.kind == "exception" {
            format!("<a href=\"/tests/{}\">{}</a>", esc(&c.subject), esc(&c.subject))
        } else {
            esc(&c.subject)
        };
        b.push_str(&format!(
            "<tr><td>{}</td><td>{of}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.kind.replace('_', " ")),
            esc(&c.item),
            esc(&c.reason),
            esc(&o.first_seen),
            esc(o.alerted.as_deref().unwrap_or("not yet"))
        ));
    }
    b.push_str("</table><h2>Latest cycles</h2><table><caption>Newest first</caption><tr><th scope=\"col\">At</th><th scope=\"col\">Run</th><th scope=\"col\">As of</th><th scope=\"col\">Exceptions</th><th scope=\"col\">Failing controls</th><th scope=\"col\">Opened</th><th scope=\"col\">Closed</th><th scope=\"col\">Undelivered alerts</th></tr>");
    for (line, exceptions) in v.history.iter().zip(&points).rev().take(50) {
        b.push_str(&format!(
            "<tr><td>{}</td><td>ledger entry {}</td><td>{}</td><td>{exceptions}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&line.at),
            line.run,
            line.as_of,
            line.failing_controls.len(),
            line.opened.len(),
            line.closed.len(),
            line.undelivered
        ));
    }
    b.push_str("</table>");
    let claimed = state.db.cycles(20).await?;
    if !claimed.is_empty() {
        b.push_str("<h2>Cycles run by this server</h2><table><caption>Each slot is claimed in the database by one instance; newest first</caption><tr><th scope=\"col\">Slot</th><th scope=\"col\">Instance</th><th scope=\"col\">Started</th><th scope=\"col\">Finished</th><th scope=\"col\">Outcome</th></tr>");
        let time = |t: i64| {
            chrono::DateTime::from_timestamp(t, 0)
                .map_or_else(String::new, |d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        };
        for (slot, instance, started, finished, outcome) in claimed {
            b.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&slot),
                esc(&instance),
                time(started),
                if finished == 0 {
                    "running".into()
                } else {
                    time(finished)
                },
                esc(outcome.lines().next().unwrap_or(""))
            ));
        }
        b.push_str("</table>");
    }
    ok("Monitoring", &s, "/monitoring", b)
}

/// Runs a monitoring cycle now, for the roles allowed to; the slot is claimed in the database
/// like a scheduled one, so it never runs beside another cycle.
pub async fn run_monitoring(State(state): State<Shared>, s: Session, Form(f): Form<CsrfForm>) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    state.authorized(&s, Action::RunMonitoring, &[]).await?;
    let slot = format!(
        "manual {} by {}",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
        s.user.email
    );
    let outcome =
        crate::monitor::run_slot(&state.db, state.backend.clone(), &slot, "this server", &s.user.email).await?;
    let (class, text) = match &outcome {
        crate::monitor::Slot::Ran(o) if o.starts_with("ok: ") => ("ok", o.trim_start_matches("ok: ").to_string()),
        crate::monitor::Slot::Ran(o) => ("bad", o.trim_start_matches("failed: ").to_string()),
        crate::monitor::Slot::Taken | crate::monitor::Slot::Busy => (
            "warn",
            "A cycle is already running; this one was not started. Reload the Monitoring page in a minute.".to_string(),
        ),
    };
    state
        .audit(Some(&s.user), "ran a monitoring cycle", "monitoring", &text)
        .await?;
    ok(
        "Monitoring cycle",
        &s,
        "/monitoring",
        format!(
            "<h1>Monitoring cycle</h1><div class=\"card\"><p><span class=\"pill {class}\">{}</span></p><pre>{}</pre></div><p><a href=\"/monitoring\">Back to monitoring</a></p>",
            if class == "ok" {
                "done"
            } else if class == "bad" {
                "failed"
            } else {
                "not started"
            },
            esc(&text)
        ),
    )
}

/// A small line chart of counts, drawn on the server (no script, no third-party asset), with a
/// title for screen readers.
fn sparkline(points: &[usize], w: f64, h: f64, id: &str, title: &str) -> String {
    let path = line_points(points, w, h, 4.0);
    format!(
        "<svg role=\"img\" aria-labelledby=\"{id}\" viewBox=\"-2 -2 {} {}\" width=\"{}\" height=\"{}\"><title id=\"{id}\">{}</title><line x1=\"0\" y1=\"{h}\" x2=\"{w}\" y2=\"{h}\" stroke=\"#8a94a6\" stroke-width=\"1\"/><polyline fill=\"none\" stroke=\"currentColor\" stroke-width=\"2\" points=\"{}\"/></svg>",
        w + 4.0,
        h + 4.0,
        if w > 200.0 { "100%".to_string() } else { format!("{w}") },
        h + 4.0,
        esc(title),
        path
    )
}

/// The points of a line chart of counts over `w` × `h`, the largest `top` below the top edge.
fn line_points(points: &[usize], w: f64, h: f64, top: f64) -> String {
    let max = points.iter().copied().max().unwrap_or(0).max(1);
    let step = if points.len() > 1 {
        w / (points.len() - 1) as f64
    } else {
        0.0
    };
    points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", i as f64 * step, h - (*p as f64 / max as f64) * (h - top)))
        .collect::<Vec<_>>()
        .join(" ")
}
