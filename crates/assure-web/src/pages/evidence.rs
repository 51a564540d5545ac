//! Evidence: the ledger's entries, uploads into the signed ledger, verification and downloads.

use super::*;

pub(super) fn evidence_row(e: &assure_ledger::Entry, download: bool) -> String {
    let name = e.draft.blob.as_ref().map(|b| b.name.clone()).unwrap_or_default();
    let file = if download && e.draft.blob.is_some() {
        format!("<a href=\"/evidence/{}/download\">{}</a>", e.seq, esc(&name))
    } else {
        esc(&name)
    };
    let covers = match (&e.draft.period_start, &e.draft.period_end) {
        (Some(a), Some(b)) => format!("{a} to {b}"),
        _ => String::new(),
    };
    let sha = e.draft.blob.as_ref().map(|b| b.sha256.as_str()).unwrap_or_default();
    format!(
        "<tr><td>{}</td><td>{file}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code class=\"hash\" title=\"SHA-256\">{}</code></td></tr>",
        e.seq,
        esc(e.draft.table.as_deref().unwrap_or("record")),
        esc(&covers),
        esc(e.draft.at.get(..16).unwrap_or(&e.draft.at)),
        esc(&e.draft.by),
        esc(sha)
    )
}

/// The head of an evidence table, matching [`evidence_row`].
pub(super) const EVIDENCE_HEAD: &str = "<table><tr><th>Entry</th><th>File</th><th>Table</th><th>Covers</th><th>Recorded</th><th>By</th><th>SHA-256</th></tr>";

/// How anyone checks the files and their hashes offline, with the project's pinned key.
pub(super) fn verify_hint(snap: &Snapshot) -> String {
    let key = snap
        .project
        .manifest
        .evidence
        .public_key
        .clone()
        .unwrap_or_else(|| "KEY".into());
    format!(
        "<p class=\"muted\">Each file's SHA-256 is what <code>sha256sum</code> prints for it. To check every file, the hash chain and the signatures offline: <code>assure evidence export -o evidence.tar</code>, then <code>assure evidence verify evidence.tar --key {}</code>.</p>",
        esc(&key)
    )
}

/// The upload form. `chosen` is the control it opened from (selected); the period is optional
/// and fills a periodic control's slot (a quarterly review's quarter, say).
pub(super) fn upload_form(csrf: &str, controls: &[&str], chosen: Option<&str>, error: Option<&str>) -> String {
    let options: String = controls
        .iter()
        .map(|c| {
            format!(
                "<option value=\"{0}\"{1}>{0}</option>",
                esc(c),
                if Some(*c) == chosen { " selected" } else { "" }
            )
        })
        .collect();
    let pick = if chosen.is_none() && controls.len() > 1 {
        "<option value=\"\" selected disabled>Choose the control it is evidence for</option>"
    } else {
        ""
    };
    format!(
        "<div class=\"card\" id=\"add\"><h2>Add evidence</h2><form method=\"post\" action=\"/evidence\" enctype=\"multipart/form-data\">{}<label for=\"control\">For control</label><select id=\"control\" name=\"control\" required>{pick}{options}</select><label for=\"kind\">What it is</label><select id=\"kind\" name=\"kind\"><option value=\"record\">A record kept as it is (minutes, screenshot, signed report)</option><option value=\"export\">An export read into an evidence table (CSV, JSON, XLSX, vendor export)</option></select><fieldset class=\"filters\" style=\"border:0;padding:0;margin:.6rem 0 0\"><legend style=\"font-weight:600;padding:0\">Period it covers (optional: a periodic control's review of a quarter covers that quarter)</legend><div><label for=\"covers_from\">From</label><input id=\"covers_from\" name=\"covers_from\" type=\"date\"></div><div><label for=\"covers_to\">To</label><input id=\"covers_to\" name=\"covers_to\" type=\"date\"></div></fieldset><label for=\"file\">File</label><input id=\"file\" name=\"file\" type=\"file\" required>{}<button type=\"submit\">Record in the ledger</button></form><p class=\"muted\">Every file is hashed, stored read-only and signed into the ledger; nothing is stored when a file is refused.</p></div>",
        csrf_field(csrf),
        error
            .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
            .unwrap_or_default()
    )
}

/// The evidence list's filters, sort and page (all optional, from the query string).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct EvidenceQuery {
    /// Entries for this control (and the upload form's default control).
    #[serde(default)]
    control: String,
    /// `record` for records kept as they are, or an evidence table's name.
    #[serde(default)]
    table: String,
    /// Words in the file name, the uploader, the note or the start of a hash (any case).
    #[serde(default)]
    q: String,
    /// `newest` (default), `oldest`, `file`, `table` or `covers`.
    #[serde(default)]
    sort: String,
    /// 1-based page of [`PER_PAGE`] entries.
    #[serde(default)]
    page: Option<usize>,
}

/// Entries on one page of the evidence list.
const PER_PAGE: usize = 50;

impl EvidenceQuery {
    fn matches(&self, e: &assure_ledger::Entry) -> bool {
        let d = &e.draft;
        if !self.control.is_empty() && !d.controls.iter().any(|c| c == &self.control) {
            return false;
        }
        let table = d.table.as_deref().unwrap_or("record");
        if !self.table.is_empty() && table != self.table {
            return false;
        }
        let q = self.q.trim().to_lowercase();
        if q.is_empty() {
            return true;
        }
        let blob = d.blob.as_ref();
        [
            blob.map(|b| b.name.as_str()).unwrap_or(""),
            d.by.as_str(),
            d.note.as_deref().unwrap_or(""),
            table,
        ]
        .iter()
        .any(|f| f.to_lowercase().contains(&q))
            || blob.is_some_and(|b| b.sha256.starts_with(&q) || b.blake3.starts_with(&q))
            || e.seq.to_string() == q
    }

    fn link(&self, page: usize) -> String {
        format!(
            "/evidence?control={}&table={}&q={}&sort={}&page={page}",
            super::tests::url_encode(&self.control),
            super::tests::url_encode(&self.table),
            super::tests::url_encode(&self.q),
            super::tests::url_encode(&self.sort)
        )
    }
}

pub async fn evidence(State(state): State<Shared>, s: Session, Query(q): Query<EvidenceQuery>) -> Page {
    let (snap, role) = state.authorized(&s, Action::ReadEvidence, &[]).await?;
    evidence_page(&state, &s, &snap, role, &q, None, StatusCode::OK).await
}

pub(super) async fn evidence_page(
    state: &Shared,
    s: &Session,
    snap: &Snapshot,
    role: Role,
    q: &EvidenceQuery,
    error: Option<&str>,
    status: StatusCode,
) -> Page {
    let _ = state;
    let mut b = String::from("<h1>Evidence</h1>");
    let visible = visible_controls(s, snap);
    let chosen = visible.iter().map(|c| c.id.as_str()).find(|c| *c == q.control);
    if crate::authz::role_allows(role, Action::UploadEvidence) {
        let ids: Vec<&str> = visible.iter().map(|c| c.id.as_str()).collect();
        b.push_str(&upload_form(s.csrf(), &ids, chosen, error));
    } else if let Some(e) = error {
        b.push_str(&format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)));
    }
    b.push_str(&format!(
        "<form method=\"post\" action=\"/evidence/verify\">{}<button type=\"submit\">Verify the ledger and every file</button></form>",
        csrf_field(s.csrf())
    ));
    let all: Vec<_> = crate::views::entries(snap, &s.user, role)
        .filter(|e| e.draft.action.is_evidence())
        .collect();
    let mut entries: Vec<_> = all.iter().copied().filter(|e| q.matches(e)).collect();
    match q.sort.as_str() {
        "oldest" => {}
        "file" => entries.sort_by(|a, b| {
            let n = |e: &assure_ledger::Entry| e.draft.blob.as_ref().map(|b| b.name.to_lowercase());
            n(a).cmp(&n(b)).then(a.seq.cmp(&b.seq))
        }),
        "table" => entries.sort_by(|a, b| a.draft.table.cmp(&b.draft.table).then(a.seq.cmp(&b.seq))),
        "covers" => entries.sort_by(|a, b| b.draft.period_start.cmp(&a.draft.period_start).then(b.seq.cmp(&a.seq))),
        _ => entries.reverse(),
    }
    b.push_str(&format!("<h2>Ledger ({} entries)</h2>", all.len()));
    b.push_str(&verify_hint(snap));
    // The filters: a plain GET form, so a filtered list is a link anyone can share.
    let control_options: String = std::iter::once(format!(
        "<option value=\"\"{}>Any control</option>",
        if q.control.is_empty() { " selected" } else { "" }
    ))
    .chain(visible.iter().map(|c| {
        format!(
            "<option value=\"{0}\"{1}>{0}</option>",
            esc(c.id.as_str()),
            if c.id.as_str() == q.control { " selected" } else { "" }
        )
    }))
    .collect();
    let tables: std::collections::BTreeSet<&str> = all
        .iter()
        .map(|e| e.draft.table.as_deref().unwrap_or("record"))
        .collect();
    let table_options: String = std::iter::once(format!(
        "<option value=\"\"{}>Any table or record</option>",
        if q.table.is_empty() { " selected" } else { "" }
    ))
    .chain(tables.iter().map(|t| {
        format!(
            "<option value=\"{0}\"{1}>{2}</option>",
            esc(t),
            if *t == q.table { " selected" } else { "" },
            if *t == "record" {
                "records kept as they are".to_string()
            } else {
                esc(t)
            }
        )
    }))
    .collect();
    let sorts: String = [
        ("newest", "newest first"),
        ("oldest", "oldest first"),
        ("file", "file name"),
        ("table", "table"),
        ("covers", "period covered, latest first"),
    ]
    .iter()
    .map(|(v, l)| {
        format!(
            "<option value=\"{v}\"{}>{l}</option>",
            if q.sort == *v || (q.sort.is_empty() && *v == "newest") {
                " selected"
            } else {
                ""
            }
        )
    })
    .collect();
    b.push_str(&format!(
        "<form method=\"get\" action=\"/evidence\" class=\"filters\" role=\"search\" aria-label=\"Filter the evidence\"><div><label for=\"f-control\">Control</label><select id=\"f-control\" name=\"control\">{control_options}</select></div><div><label for=\"f-table\">Table</label><select id=\"f-table\" name=\"table\">{table_options}</select></div><div><label for=\"f-q\">Contains</label><input id=\"f-q\" name=\"q\" value=\"{}\" placeholder=\"file, person, note, hash\"></div><div><label for=\"f-sort\">Sort by</label><select id=\"f-sort\" name=\"sort\">{sorts}</select></div><div><button type=\"submit\">Show</button></div></form>",
        esc(&q.q)
    ));
    let filtered = !(q.control.is_empty() && q.table.is_empty() && q.q.trim().is_empty());
    if entries.is_empty() {
        b.push_str(&if all.is_empty() {
            "<div class=\"card muted\">No evidence is recorded yet. Add a file above, or import exports with <code>assure evidence import</code>.</div>".to_string()
        } else {
            "<div class=\"card muted\">No entry matches these filters. <a href=\"/evidence\">Show every entry</a>.</div>".to_string()
        });
    } else {
        let pages = entries.len().div_ceil(PER_PAGE);
        let page = q.page.unwrap_or(1).clamp(1, pages);
        let first = (page - 1) * PER_PAGE;
        let shown = &entries[first..(first + PER_PAGE).min(entries.len())];
        b.push_str(&format!(
            "<p class=\"muted\" role=\"status\">Entries {}–{} of {}{}.</p>",
            first + 1,
            first + shown.len(),
            entries.len(),
            if filtered {
                format!(
                    " matching the filters ({} in all; <a href=\"/evidence\">clear the filters</a>)",
                    all.len()
                )
            } else {
                String::new()
            }
        ));
        b.push_str(&EVIDENCE_HEAD.replacen(
            "<table>",
            "<div class=\"scroll\"><table><caption class=\"sr\">Evidence entries in the ledger</caption>",
            1,
        ));
        let download = crate::authz::role_allows(role, Action::DownloadEvidence);
        for e in shown {
            b.push_str(&evidence_row(e, download));
        }
        b.push_str("</table></div>");
        if pages > 1 {
            b.push_str("<nav class=\"pager\" aria-label=\"Pages of the evidence list\">");
            if page > 1 {
                b.push_str(&format!(
                    "<a href=\"{}\" rel=\"prev\">Previous page</a>",
                    esc(&q.link(page - 1))
                ));
            }
            b.push_str(&format!("<span>Page {page} of {pages}</span>"));
            if page < pages {
                b.push_str(&format!(
                    "<a href=\"{}\" rel=\"next\">Next page</a>",
                    esc(&q.link(page + 1))
                ));
            }
            b.push_str("</nav>");
        }
    }
    Ok((
        status,
        Html(page("Evidence", Some((&s.user, s.csrf())), "/evidence", &b)),
    )
        .into_response())
}

/// A date the upload form sent, or what is wrong with it.
fn covers_date(v: &str, what: &str) -> Result<Option<chrono::NaiveDate>, String> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("The {what} date `{v}` is not a date: use YYYY-MM-DD."))
}

pub async fn upload(State(state): State<Shared>, s: Session, mut mp: Multipart) -> Page {
    let (snap, role) = state.authorized(&s, Action::UploadEvidence, &[]).await?;
    let (fields, file) = super::form_and_file(&state, &mut mp).await?;
    let field = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let (csrf, control) = (field("csrf"), field("control"));
    let kind = fields.get("kind").cloned().unwrap_or_else(|| "record".into());
    state.check_csrf(&s, &csrf)?;
    let back = EvidenceQuery {
        control: control.clone(),
        ..EvidenceQuery::default()
    };
    if snap.project.control(&control).is_none() {
        let m = if control.is_empty() {
            "Choose the control this file is evidence for; nothing was stored.".to_string()
        } else {
            format!("Choose a control: `{control}` is not one; nothing was stored.")
        };
        return evidence_page(&state, &s, &snap, role, &back, Some(&m), StatusCode::BAD_REQUEST).await;
    }
    let period = match (
        covers_date(&field("covers_from"), "first"),
        covers_date(&field("covers_to"), "last"),
    ) {
        (Ok(None), Ok(None)) => None,
        (Ok(Some(a)), Ok(Some(b))) if a <= b => Some((a, b)),
        (Ok(Some(_)), Ok(Some(_))) => {
            return evidence_page(
                &state,
                &s,
                &snap,
                role,
                &back,
                Some("The period it covers ends before it starts; nothing was stored."),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
        (Err(m), _) | (_, Err(m)) => {
            return evidence_page(&state, &s, &snap, role, &back, Some(&m), StatusCode::BAD_REQUEST).await;
        }
        _ => {
            return evidence_page(
                &state,
                &s,
                &snap,
                role,
                &back,
                Some("Give both the first and the last day the file covers, or neither; nothing was stored."),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    state.authorize(&s, &snap, Action::UploadEvidence, &[control.as_str()])?;
    let Some((file_name, bytes)) = file else {
        return evidence_page(
            &state,
            &s,
            &snap,
            role,
            &back,
            Some("Choose a file to upload; an empty file is not evidence."),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let upload = Upload {
        file_name: file_name.clone(),
        bytes,
        controls: vec![control.clone()],
        kind: if kind == "export" {
            UploadKind::Export
        } else {
            UploadKind::Record
        },
        by: s.user.email.clone(),
        scope: crate::authz::upload_scope(role, &s.user, &snap),
        note: None,
        period,
    };
    let backend = state.backend.clone();
    let result = blocking(move || backend.import(upload)).await?;
    match result {
        Ok(entries) => {
            state.invalidate().await;
            let seqs: Vec<String> = entries.iter().map(|e| e.seq.to_string()).collect();
            state
                .audit(
                    Some(&s.user),
                    "uploaded evidence",
                    &format!("control:{control}"),
                    &format!("{file_name} as ledger entry {}", seqs.join(", ")),
                )
                .await?;
            see_done(
                &format!("/controls/{control}?entries={}", seqs.join(",")),
                Done::Uploaded,
            )
        }
        Err(crate::BackendError::Invalid(m)) => {
            evidence_page(
                &state,
                &s,
                &snap,
                role,
                &back,
                Some(&format!("{file_name} was refused and nothing was stored: {m}")),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn verify(State(state): State<Shared>, s: Session, Form(f): Form<CsrfForm>) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    state.authorized(&s, Action::ReadEvidence, &[]).await?;
    let backend = state.backend.clone();
    let v = blocking(move || backend.verify()).await??;
    state
        .audit(Some(&s.user), "verified the ledger", "ledger", &v.message)
        .await?;
    let class = if v.ok { "ok" } else { "bad" };
    ok(
        "Ledger verification",
        &s,
        "/evidence",
        format!(
            "<h1>Ledger verification</h1><div class=\"card\"><p><span class=\"pill {class}\">{}</span> {} entries checked.</p><pre>{}</pre></div><p><a href=\"/evidence\">Back to the evidence</a></p>",
            if v.ok { "intact" } else { "BROKEN" },
            v.entries,
            esc(&v.message)
        ),
    )
}

pub async fn download(State(state): State<Shared>, s: Session, Path(seq): Path<u64>) -> Page {
    let snap = state.snapshot().await?;
    let e = snap
        .ledger
        .iter()
        .find(|e| e.seq == seq)
        .ok_or_else(|| AppError::NotFound(format!("There is no ledger entry {seq}.")))?;
    let controls: Vec<&str> = e.draft.controls.iter().map(String::as_str).collect();
    // An entry for no control is readable by anyone who may read evidence, except owners.
    let controls = if controls.is_empty() && is_owner_role(&s) {
        vec!["-"]
    } else {
        controls
    };
    let role = state.authorize(&s, &snap, Action::DownloadEvidence, &controls)?;
    let blob = e
        .draft
        .blob
        .as_ref()
        .ok_or_else(|| AppError::NotFound(format!("Ledger entry {seq} has no file.")))?;
    let backend = state.backend.clone();
    let hash = blob.blake3.clone();
    let mut bytes = blocking(move || backend.blob(&hash)).await??;
    let mut name = blob.name.clone();
    // A test run's record holds every test's items: a control owner gets the part about the
    // controls they own, never the whole record.
    if role == Role::ControlOwner && e.draft.action == assure_ledger::Action::TestRun {
        let mut run = assure_workspace::runfile::RunFile::parse(bytes)
            .and_then(assure_workspace::runfile::RunFile::into_full)
            .map_err(|e| AppError::Internal(format!("ledger entry {seq}: the run record does not read: {e}")))?;
        let mine = |c: &str| crate::authz::may_see_control(role, &s.user, &snap, c);
        run.tests.retain(|t| t.controls.iter().any(|c| mine(c)));
        run.controls.retain(|c| mine(&c.id));
        run.occurrences.retain(|o| mine(&o.control));
        // The lists of reused and carried tests name tests too: only the owner's stay.
        let kept: Vec<String> = run.tests.iter().map(|t| t.id.clone()).collect();
        run.reused.retain(|id| kept.contains(id));
        run.carried.retain(|id| kept.contains(id));
        run.extended.retain(|id, _| kept.contains(id));
        bytes = serde_json::to_vec_pretty(&run).map_err(|e| AppError::Internal(e.to_string()))?;
        // The part is JSON whatever the recorded file's layout.
        if let Some(stem) = name.strip_suffix(".parquet") {
            name = format!("{stem}.json");
        }
    }
    state
        .audit(
            Some(&s.user),
            "downloaded evidence",
            &format!("ledger:{seq}"),
            &blob.name,
        )
        .await?;
    let safe: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{safe}\"")),
        ],
        bytes,
    )
        .into_response())
}
