//! Test results: the latest run's tests and one test's items and samples.

use super::*;

pub async fn tests(State(state): State<Shared>, s: Session) -> Page {
    let (snap, role) = state.authorized(&s, Action::ReadTests, &[]).await?;
    let mut b = String::from("<h1>Test results</h1>");
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

pub async fn test(State(state): State<Shared>, s: Session, Path(id): Path<String>) -> Page {
    let snap = state.snapshot().await?;
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
    state.authorize(&s, &snap, Action::ReadTests, &controls)?;
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
    let samples: Vec<_> = snap
        .samples
        .iter()
        .filter(|x| t.controls.contains(&x.control))
        .collect();
    let mut selected: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for x in &samples {
        b.push_str(&format!(
            "<div class=\"card\">Sample for {}: {} of {} items, seed {} ({}). Selected items are marked below.</div>",
            esc(&x.control),
            x.selected.len() + x.added.len(),
            x.population.len(),
            x.seed,
            esc(&x.rule)
        ));
        selected.extend(x.selected.iter().chain(&x.added).map(String::as_str));
    }
    let mut items: Vec<_> = t.items.iter().collect();
    items.sort_by_key(|i| (i.status != ItemStatus::Fail, i.item.clone()));
    b.push_str("<table><tr><th>Item</th><th>Status</th><th>Reason</th></tr>");
    for i in items.iter().take(1000) {
        let class = if i.status == ItemStatus::Fail {
            "bad"
        } else if i.status == ItemStatus::Pass {
            "ok"
        } else {
            "warn"
        };
        b.push_str(&format!(
            "<tr><td>{}{}</td><td><span class=\"pill {class}\">{}</span></td><td>{}</td></tr>",
            esc(&i.item),
            // Sampled items are named `test/item` when the population came from a test run.
            if selected.contains(i.item.as_str()) || selected.contains(format!("{}/{}", t.id, i.item).as_str()) {
                " <span class=\"pill warn\">sampled</span>"
            } else {
                ""
            },
            esc(i.status.as_str()),
            esc(&i.reason)
        ));
    }
    b.push_str("</table>");
    if items.len() > 1000 {
        b.push_str(&format!(
            "<p class=\"muted\">{} more items are in the control matrix workbook.</p>",
            items.len() - 1000
        ));
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
