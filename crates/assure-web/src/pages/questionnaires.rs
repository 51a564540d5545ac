//! Security questionnaires: the list with progress, uploading a customer's file to be answered,
//! one questionnaire question by question, reviewing one answer (edit, assign, comment, approve)
//! and exporting the customer's file with the answers written in. Every change is in the audit log.

use assure_questionnaire::Answer;
use assure_workspace::questionnaire::{Answered, Item, QuestionnaireOp, QuestionnaireOut, Review, Status};

use super::*;

fn op_one(out: QuestionnaireOut) -> Result<Answered, AppError> {
    match out {
        QuestionnaireOut::One(a) => Ok(*a),
        _ => Err(AppError::Internal(
            "the questionnaire service answered out of turn".into(),
        )),
    }
}

async fn run(state: &Shared, op: QuestionnaireOp) -> Result<QuestionnaireOut, AppError> {
    let backend = state.backend.clone();
    Ok(blocking(move || backend.questionnaire(op)).await??)
}

/// Whether the signed-in person may see or review this answer: everyone allowed to, except a
/// control owner, who sees the questions assigned to them.
fn may_touch(s: &Session, role: Role, item: &Item) -> bool {
    role != Role::ControlOwner
        || item
            .assignee
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case(&s.user.email))
}

fn shown(i: &Item) -> String {
    match i.answer {
        Answer::NeedsReview => "needs review".into(),
        _ => i.value.clone().unwrap_or_else(|| i.answer.word().to_string()),
    }
}

fn level_pill(level: &str) -> String {
    let class = match level {
        "high" | "reviewer" => "ok",
        "medium" => "warn",
        _ => "bad",
    };
    format!("<span class=\"pill {class}\">{}</span>", esc(level))
}

fn status_label(s: Status) -> &'static str {
    match s {
        Status::Proposed => "proposed",
        Status::Edited => "edited",
        Status::Approved => "approved",
    }
}

/// One source as a line with links to what it names.
fn source_html(v: &serde_json::Value) -> String {
    let f = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let n = |k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
    match f("kind").as_str() {
        "control" => format!(
            "Control <a href=\"/controls/{0}\">{0}</a> {1}: {2}",
            esc(&f("id")),
            esc(&f("title")),
            esc(&f("state").replace('_', " "))
        ),
        "test" => format!(
            "Test <a href=\"/tests/{0}\">{0}</a>: {1} items, {2} exceptions, {3} (run {4})",
            esc(&f("id")),
            n("population"),
            n("exceptions"),
            esc(&f("window")),
            n("run")
        ),
        "evidence" => format!(
            "Evidence entry {} {} (BLAKE3 {}…)",
            n("seq"),
            esc(&f("file")),
            esc(&f("blake3").chars().take(12).collect::<String>())
        ),
        "policy" => format!(
            "Policy <a href=\"/policies/{0}\">{0}</a>{1}",
            esc(&f("id")),
            v.get("version")
                .and_then(|x| x.as_str())
                .map(|x| format!(" version {}", esc(x)))
                .unwrap_or_default()
        ),
        "library" => format!("Answer library entry {} ({})", esc(&f("entry")), esc(&f("source"))),
        "scope" => format!("Scope: {}", esc(&f("detail"))),
        "subservice" => format!("Subservice organisation {}", esc(&f("name"))),
        "qualifier" => format!("Switched off by {} ({})", esc(&f("question")), esc(&f("answer"))),
        "reviewer" => format!("Answered by {} at {}", esc(&f("by")), esc(&f("at"))),
        other => esc(other),
    }
}

fn progress_bar(a: &Answered) -> String {
    let (n, answered, _, approved) = a.progress();
    let pct = |x: usize| (x * 100).checked_div(n).unwrap_or(0);
    format!(
        "<div class=\"bar\" role=\"img\" aria-label=\"{approved} of {n} approved, {answered} answered\" title=\"{approved} of {n} approved\"><span style=\"width:{}%\"></span></div><span class=\"muted\">{}% answered, {}% approved</span>",
        pct(approved),
        pct(answered),
        pct(approved)
    )
}

pub async fn questionnaires(State(state): State<Shared>, s: Session) -> Page {
    questionnaires_page(&state, &s, None).await
}

async fn questionnaires_page(state: &Shared, s: &Session, error: Option<&str>) -> Page {
    let (_, role) = state.authorized(s, Action::ReadQuestionnaires, &[]).await?;
    let QuestionnaireOut::List(list) = run(state, QuestionnaireOp::List).await? else {
        return Err(AppError::Internal(
            "the questionnaire service answered out of turn".into(),
        ));
    };
    let mut b = String::from(
        "<h1>Questionnaires</h1><p class=\"muted\">Customers' security questionnaires, answered from the controls and their tests in the current period, the policies, the scope and the approved answer library. Nothing is sent anywhere: export the file and send it yourself.</p>",
    );
    if list.is_empty() {
        b.push_str("<div class=\"card muted\">No questionnaires yet.</div>");
    } else {
        b.push_str("<table><tr><th>File</th><th>Questions</th><th>Answered</th><th>Need review</th><th>Approved</th><th>Progress</th><th>Grounded as of</th></tr>");
        for a in &list {
            let (n, answered, review, approved) = a.progress();
            b.push_str(&format!(
                "<tr><td><a href=\"/questionnaires/{}\">{}</a></td><td>{n}</td><td>{answered}</td><td>{review}</td><td>{approved}</td><td>{}</td><td>{}</td></tr>",
                esc(&a.id),
                esc(&a.file),
                progress_bar(a),
                a.as_of
            ));
        }
        b.push_str("</table>");
    }
    if crate::authz::role_allows(role, Action::AnswerQuestionnaires) {
        b.push_str(&format!(
            "<div class=\"card\"><h2>Answer a questionnaire</h2>{}<form method=\"post\" action=\"/questionnaires\" enctype=\"multipart/form-data\">{}<label for=\"file\">The customer's file (XLSX, CSV, DOCX with tables, or a VSAQ JSON template)</label><input id=\"file\" name=\"file\" type=\"file\" required accept=\".xlsx,.xlsm,.csv,.docx,.json\"><button type=\"submit\">Answer it</button></form></div>",
            error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))).unwrap_or_default(),
            csrf_field(s.csrf())
        ));
    }
    ok("Questionnaires", s, "/questionnaires", b)
}

pub async fn upload_questionnaire(State(state): State<Shared>, s: Session, mut mp: Multipart) -> Page {
    let (snap, _) = state.authorized(&s, Action::AnswerQuestionnaires, &[]).await?;
    let (mut csrf, mut file) = (String::new(), None);
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AppError::TooLarge(format!(
                    "The file is larger than the {} MiB upload limit; answer it with `assure questionnaire answer` instead.",
                    state.settings.max_upload / (1024 * 1024)
                )));
            }
            Err(e) => {
                return Err(AppError::BadRequest(format!(
                    "The upload could not be read: {}.",
                    e.body_text()
                )));
            }
        };
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let bytes = field
            .bytes()
            .await
            .map_err(|e| AppError::BadRequest(format!("The upload could not be read: {}.", e.body_text())))?;
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).to_string(),
            "file" => file = Some((file_name.unwrap_or_default(), bytes.to_vec())),
            _ => {}
        }
    }
    state.check_csrf(&s, &csrf)?;
    let Some((file_name, bytes)) = file.filter(|(n, b)| !n.is_empty() && !b.is_empty()) else {
        return questionnaires_page(&state, &s, Some("Choose the customer's file first.")).await;
    };
    let safe: String = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let op = QuestionnaireOp::Answer {
        file_name: safe.clone(),
        bytes,
        as_of: snap.as_of,
    };
    let a = match run(&state, op).await {
        Ok(out) => op_one(out)?,
        Err(AppError::BadRequest(m)) => return questionnaires_page(&state, &s, Some(&m)).await,
        Err(e) => return Err(e),
    };
    let (n, answered, review, _) = a.progress();
    state
        .audit(
            Some(&s.user),
            "answered a questionnaire",
            &format!("questionnaire:{}", a.id),
            &format!("{safe}: {n} questions, {answered} answered, {review} need review"),
        )
        .await?;
    see_done(&format!("/questionnaires/{}", a.id), Done::QuestionnaireAdded)
}

#[derive(Debug, Default, Deserialize)]
pub struct QuestionnaireQuery {
    #[serde(default)]
    show: String,
}

pub async fn questionnaire(
    State(state): State<Shared>,
    s: Session,
    Path(id): Path<String>,
    Query(q): Query<QuestionnaireQuery>,
) -> Page {
    let (_, role) = state.authorized(&s, Action::ReadQuestionnaires, &[]).await?;
    let a = op_one(run(&state, QuestionnaireOp::Get(id)).await.map_err(not_found)?)?;
    let (n, answered, review, approved) = a.progress();
    let mut b = format!(
        "<h1>{}</h1><p class=\"muted\">{n} questions · grounded as of {}{} · answered {}</p>{}",
        esc(&a.file),
        a.as_of,
        a.period
            .as_ref()
            .map(|p| format!(" in period {}", esc(p)))
            .unwrap_or_default(),
        esc(&a.created_at),
        progress_bar(&a)
    );
    b.push_str(&format!(
        "<p>{answered} answered · {review} need review · {approved} approved · <a href=\"/questionnaires/{0}?show=review\">needing review</a> · <a href=\"/questionnaires/{0}?show=mine\">assigned to me</a> · <a href=\"/questionnaires/{0}\">all</a></p>",
        esc(&a.id)
    ));
    if crate::authz::role_allows(role, Action::AnswerQuestionnaires) {
        b.push_str(&format!(
            "<div class=\"card\"><form class=\"inline\" method=\"post\" action=\"/questionnaires/{0}/approve\">{1}<button type=\"submit\">Approve every answered question</button></form> · <a href=\"/questionnaires/{0}/export?approved=1\">Export the approved answers</a> · <a href=\"/questionnaires/{0}/export\">Export a draft with every proposed answer</a></div>",
            esc(&a.id),
            csrf_field(s.csrf())
        ));
    }
    b.push_str("<table><tr><th>#</th><th>Question</th><th>Answer</th><th>Confidence</th><th>Rests on, or why not</th><th>Status</th><th>Assigned to</th></tr>");
    let mut shown_rows = 0;
    for (i, item) in a.items.iter().enumerate() {
        let keep = match q.show.as_str() {
            "review" => item.answer == Answer::NeedsReview,
            "mine" => item
                .assignee
                .as_deref()
                .is_some_and(|x| x.eq_ignore_ascii_case(&s.user.email)),
            _ => true,
        };
        if !keep || !may_touch(&s, role, item) {
            continue;
        }
        shown_rows += 1;
        let why = match (&item.reason, item.sources.as_array().and_then(|x| x.first())) {
            (Some(r), _) => esc(r),
            (None, Some(src)) => source_html(src),
            (None, None) => String::new(),
        };
        b.push_str(&format!(
            "<tr><td><a href=\"/questionnaires/{}/q/{i}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{why}</td><td>{}</td><td>{}</td></tr>",
            esc(&a.id),
            esc(&item.id),
            esc(&item.question),
            esc(&shown(item)),
            level_pill(&item.level),
            status_label(item.status),
            esc(item.assignee.as_deref().unwrap_or(""))
        ));
    }
    b.push_str("</table>");
    if shown_rows == 0 {
        b.push_str("<p class=\"muted\">No question to show here.</p>");
    }
    ok(&a.file, &s, "/questionnaires", b)
}

fn not_found(e: AppError) -> AppError {
    match e {
        AppError::BadRequest(m) => AppError::NotFound(m),
        e => e,
    }
}

pub async fn question(State(state): State<Shared>, s: Session, Path((id, index)): Path<(String, usize)>) -> Page {
    question_page(&state, &s, &id, index, None).await
}

async fn question_page(state: &Shared, s: &Session, id: &str, index: usize, error: Option<&str>) -> Page {
    let (snap, role) = state.authorized(s, Action::ReadQuestionnaires, &[]).await?;
    let a = op_one(
        run(state, QuestionnaireOp::Get(id.to_string()))
            .await
            .map_err(not_found)?,
    )?;
    let Some(item) = a.items.get(index).filter(|i| may_touch(s, role, i)) else {
        return Err(AppError::NotFound(format!(
            "{} has no question number {}.",
            a.id,
            index + 1
        )));
    };
    let mut b = format!(
        "<p><a href=\"/questionnaires/{}\">{}</a></p><h1>{}</h1><div class=\"card\"><p>{}</p><p class=\"muted\">{}{} · sheet {} · answer cell {}</p>",
        esc(&a.id),
        esc(&a.file),
        esc(&item.id),
        esc(&item.question),
        item.section
            .as_ref()
            .map(|x| format!("Section {} · ", esc(x)))
            .unwrap_or_default(),
        if item.choices.is_empty() {
            "free answer".to_string()
        } else {
            format!("choices: {}", esc(&item.choices.join(" | ")))
        },
        esc(&item.sheet),
        esc(item.cell.as_deref().unwrap_or("none"))
    );
    b.push_str(&format!(
        "<p><b>Answer:</b> {} {} · {}</p>{}{}</div>",
        esc(&shown(item)),
        level_pill(&item.level),
        status_label(item.status),
        item.reason
            .as_ref()
            .map(|r| format!("<p class=\"error\">Needs review: {}</p>", esc(r)))
            .unwrap_or_default(),
        if item.text.is_empty() {
            String::new()
        } else {
            format!("<p>{}</p>", esc(&item.text))
        }
    ));
    let sources: Vec<String> = item
        .sources
        .as_array()
        .map(|v| v.iter().map(source_html).collect())
        .unwrap_or_default();
    b.push_str("<h2>What it rests on</h2>");
    if sources.is_empty() {
        b.push_str("<p class=\"muted\">Nothing grounds it yet.</p>");
    } else {
        b.push_str(&format!(
            "<ul>{}</ul>",
            sources.iter().map(|x| format!("<li>{x}</li>")).collect::<String>()
        ));
    }
    b.push_str("<h2>History</h2>");
    if item.comments.is_empty() && item.approved_by.is_none() {
        b.push_str("<p class=\"muted\">No changes or comments yet.</p>");
    }
    for c in &item.comments {
        b.push_str(&format!(
            "<div class=\"comment\"><b>{}</b> <span class=\"muted\">{}</span><br>{}</div>",
            esc(&c.by),
            esc(&c.at),
            esc(&c.text)
        ));
    }
    if let (Some(by), Some(at)) = (&item.approved_by, &item.approved_at) {
        b.push_str(&format!(
            "<div class=\"comment\"><b>{}</b> <span class=\"muted\">{}</span><br>approved</div>",
            esc(by),
            esc(at)
        ));
    }
    if crate::authz::role_allows(role, Action::ReviewAnswers) {
        let answer_input = if item.choices.is_empty() {
            format!(
                "<input id=\"answer\" name=\"answer\" value=\"{}\">",
                esc(item.value.as_deref().unwrap_or(""))
            )
        } else {
            let opts: String = std::iter::once("<option value=\"\">(keep)</option>".to_string())
                .chain(item.choices.iter().map(|c| {
                    format!(
                        "<option value=\"{0}\"{1}>{0}</option>",
                        esc(c),
                        if item.value.as_deref() == Some(c.as_str()) {
                            " selected"
                        } else {
                            ""
                        }
                    )
                }))
                .collect();
            format!("<select id=\"answer\" name=\"answer\">{opts}</select>")
        };
        let users = state.db.users().await?;
        let people: String = std::iter::once("<option value=\"\">Nobody</option>".to_string())
            .chain(users.iter().map(|u| {
                format!(
                    "<option value=\"{0}\"{1}>{2} ({0})</option>",
                    esc(&u.email),
                    if item.assignee.as_deref() == Some(u.email.as_str()) {
                        " selected"
                    } else {
                        ""
                    },
                    esc(&u.name)
                )
            }))
            .collect();
        let _ = &snap;
        b.push_str(&format!(
            "<div class=\"card\"><h2>Review</h2>{}<form method=\"post\" action=\"/questionnaires/{}/q/{index}\">{}<label for=\"answer\">Answer</label>{answer_input}<label for=\"text\">Narrative</label><textarea id=\"text\" name=\"text\" maxlength=\"5000\">{}</textarea><label for=\"assign\">Assigned to</label><select id=\"assign\" name=\"assign\">{people}</select><label for=\"comment\">Comment</label><textarea id=\"comment\" name=\"comment\" maxlength=\"5000\"></textarea><button type=\"submit\" name=\"action\" value=\"save\">Save</button> <button type=\"submit\" name=\"action\" value=\"approve\">Save and approve</button></form></div>",
            error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))).unwrap_or_default(),
            esc(&a.id),
            csrf_field(s.csrf()),
            esc(&item.text)
        ));
    }
    ok(&item.id, s, "/questionnaires", b)
}

#[derive(Debug, Default, Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    assign: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    action: String,
}

pub async fn review(
    State(state): State<Shared>,
    s: Session,
    Path((id, index)): Path<(String, usize)>,
    Form(f): Form<ReviewForm>,
) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    let (_, role) = state.authorized(&s, Action::ReviewAnswers, &[]).await?;
    let a = op_one(run(&state, QuestionnaireOp::Get(id.clone())).await.map_err(not_found)?)?;
    let Some(item) = a.items.get(index).filter(|i| may_touch(&s, role, i)) else {
        return Err(AppError::NotFound(format!(
            "{} has no question number {}.",
            a.id,
            index + 1
        )));
    };
    if f.text.chars().count() > 5000 || f.comment.chars().count() > 5000 {
        return question_page(
            &state,
            &s,
            &id,
            index,
            Some("A narrative or comment holds at most 5,000 characters."),
        )
        .await;
    }
    let review = Review {
        answer: (!f.answer.trim().is_empty()).then(|| f.answer.clone()),
        text: (f.text.trim() != item.text).then(|| f.text.clone()),
        assign: (f.assign.trim() != item.assignee.clone().unwrap_or_default()).then(|| f.assign.clone()),
        comment: (!f.comment.trim().is_empty()).then(|| f.comment.clone()),
        approve: f.action == "approve",
    };
    let qid = item.id.clone();
    let op = QuestionnaireOp::Review {
        id: a.id.clone(),
        index,
        review: review.clone(),
        by: s.user.email.clone(),
    };
    match run(&state, op).await {
        Ok(_) => {}
        Err(AppError::BadRequest(m)) => return question_page(&state, &s, &id, index, Some(&m)).await,
        Err(e) => return Err(e),
    }
    let mut what = Vec::new();
    if let Some(v) = &review.answer {
        what.push(format!("answer {v:?}"));
    }
    if review.text.is_some() {
        what.push("narrative edited".into());
    }
    if let Some(p) = &review.assign {
        what.push(format!("assigned to {p:?}"));
    }
    if let Some(c) = &review.comment {
        what.push(format!("comment: {c}"));
    }
    if review.approve {
        what.push("approved".into());
    }
    state
        .audit(
            Some(&s.user),
            if review.approve {
                "approved an answer"
            } else {
                "reviewed an answer"
            },
            &format!("questionnaire:{}#{qid}", a.id),
            &what.join("; "),
        )
        .await?;
    see_done(&format!("/questionnaires/{}/q/{index}", a.id), Done::AnswerSaved)
}

pub async fn approve_all(
    State(state): State<Shared>,
    s: Session,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Page {
    state.check_csrf(&s, &f.csrf)?;
    state.authorized(&s, Action::AnswerQuestionnaires, &[]).await?;
    let a = op_one(
        run(
            &state,
            QuestionnaireOp::ApproveAll {
                id,
                by: s.user.email.clone(),
            },
        )
        .await
        .map_err(not_found)?,
    )?;
    let (_, _, _, approved) = a.progress();
    state
        .audit(
            Some(&s.user),
            "approved answers",
            &format!("questionnaire:{}", a.id),
            &format!("{approved} approved in all"),
        )
        .await?;
    see_done(&format!("/questionnaires/{}", a.id), Done::AnswersApproved)
}

#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    approved: String,
}

pub async fn export_questionnaire(
    State(state): State<Shared>,
    s: Session,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Page {
    state.authorized(&s, Action::AnswerQuestionnaires, &[]).await?;
    let approved_only = q.approved == "1";
    let QuestionnaireOut::File(name, bytes) = run(
        &state,
        QuestionnaireOp::Export {
            id: id.clone(),
            approved_only,
        },
    )
    .await
    .map_err(not_found)?
    else {
        return Err(AppError::Internal(
            "the questionnaire service answered out of turn".into(),
        ));
    };
    state
        .audit(
            Some(&s.user),
            "exported a questionnaire",
            &format!("questionnaire:{id}"),
            &format!(
                "{name}{}",
                if approved_only {
                    " (approved answers)"
                } else {
                    " (draft)"
                }
            ),
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
