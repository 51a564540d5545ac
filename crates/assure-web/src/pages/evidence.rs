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

pub(super) fn upload_form(csrf: &str, controls: &[&str], error: Option<&str>) -> String {
    let options: String = controls
        .iter()
        .map(|c| format!("<option value=\"{0}\">{0}</option>", esc(c)))
        .collect();
    format!(
        "<div class=\"card\"><h2>Add evidence</h2><form method=\"post\" action=\"/evidence\" enctype=\"multipart/form-data\">{}<label for=\"control\">For control</label><select id=\"control\" name=\"control\">{options}</select><label for=\"kind\">What it is</label><select id=\"kind\" name=\"kind\"><option value=\"record\">A record kept as it is (minutes, screenshot, signed report)</option><option value=\"export\">An export read into an evidence table (CSV, JSON, XLSX, vendor export)</option></select><label for=\"file\">File</label><input id=\"file\" name=\"file\" type=\"file\" required>{}<button type=\"submit\">Record in the ledger</button></form><p class=\"muted\">Every file is hashed, stored read-only and signed into the ledger; nothing is stored when a file is refused.</p></div>",
        csrf_field(csrf),
        error
            .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
            .unwrap_or_default()
    )
}

pub async fn evidence(State(state): State<Shared>, s: Session) -> Page {
    let (snap, role) = state.authorized(&s, Action::ReadEvidence, &[]).await?;
    evidence_page(&state, &s, &snap, role, None, StatusCode::OK).await
}

pub(super) async fn evidence_page(
    state: &Shared,
    s: &Session,
    snap: &Snapshot,
    role: Role,
    error: Option<&str>,
    status: StatusCode,
) -> Page {
    let _ = state;
    let mut b = String::from("<h1>Evidence</h1>");
    if crate::authz::role_allows(role, Action::UploadEvidence) {
        let ids: Vec<&str> = visible_controls(s, snap).iter().map(|c| c.id.as_str()).collect();
        b.push_str(&upload_form(s.csrf(), &ids, error));
    } else if let Some(e) = error {
        b.push_str(&format!("<p class=\"error\">{}</p>", esc(e)));
    }
    b.push_str(&format!(
        "<form method=\"post\" action=\"/evidence/verify\">{}<button type=\"submit\">Verify the ledger and every file</button></form>",
        csrf_field(s.csrf())
    ));
    let entries: Vec<_> = crate::views::entries(snap, &s.user, role)
        .filter(|e| e.draft.action.is_evidence())
        .collect();
    b.push_str(&format!("<h2>Ledger ({} entries)</h2>", entries.len()));
    b.push_str(&verify_hint(snap));
    b.push_str(EVIDENCE_HEAD);
    for e in entries.iter().rev().take(500) {
        b.push_str(&evidence_row(
            e,
            crate::authz::role_allows(role, Action::DownloadEvidence),
        ));
    }
    b.push_str("</table>");
    Ok((
        status,
        Html(page("Evidence", Some((&s.user, s.csrf())), "/evidence", &b)),
    )
        .into_response())
}

pub async fn upload(State(state): State<Shared>, s: Session, mut mp: Multipart) -> Page {
    let (snap, role) = state.authorized(&s, Action::UploadEvidence, &[]).await?;
    let (fields, file) = super::form_and_file(&state, &mut mp).await?;
    let field = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let (csrf, control) = (field("csrf"), field("control"));
    let kind = fields.get("kind").cloned().unwrap_or_else(|| "record".into());
    state.check_csrf(&s, &csrf)?;
    if snap.project.control(&control).is_none() {
        return evidence_page(
            &state,
            &s,
            &snap,
            role,
            Some(&format!("Choose a control: `{control}` is not one.")),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    state.authorize(&s, &snap, Action::UploadEvidence, &[control.as_str()])?;
    let Some((file_name, bytes)) = file else {
        return evidence_page(
            &state,
            &s,
            &snap,
            role,
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
            see_other(&format!("/controls/{control}"))
        }
        Err(crate::BackendError::Invalid(m)) => {
            evidence_page(
                &state,
                &s,
                &snap,
                role,
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
    // A test run's record holds every test's items: a control owner gets the part about the
    // controls they own, never the whole record.
    if role == Role::ControlOwner && e.draft.action == assure_ledger::Action::TestRun {
        let mut run: assure_schema::results::RunRecord = serde_json::from_slice(&bytes)
            .map_err(|e| AppError::Internal(format!("ledger entry {seq}: the run record does not read: {e}")))?;
        let mine = |c: &str| crate::authz::may_see_control(role, &s.user, &snap, c);
        run.tests.retain(|t| t.controls.iter().any(|c| mine(c)));
        run.controls.retain(|c| mine(&c.id));
        run.occurrences.retain(|o| mine(&o.control));
        // The lists of reused and carried tests name tests too: only the owner's stay.
        let kept: Vec<String> = run.tests.iter().map(|t| t.id.clone()).collect();
        run.reused.retain(|id| kept.contains(id));
        run.carried.retain(|id| kept.contains(id));
        bytes = serde_json::to_vec_pretty(&run).map_err(|e| AppError::Internal(e.to_string()))?;
    }
    state
        .audit(
            Some(&s.user),
            "downloaded evidence",
            &format!("ledger:{seq}"),
            &blob.name,
        )
        .await?;
    let safe: String = blob
        .name
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
