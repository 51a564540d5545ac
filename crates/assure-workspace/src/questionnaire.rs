//! Security questionnaires in the application layer: what Assure knows about the company as the
//! answering sees it ([`Workspace::knowledge`]), the answer library in the project
//! (`questionnaires/library.toml`), and answered questionnaires kept for review under
//! `.assure/questionnaires/<id>/` (the customer's original file and the answers with their review
//! state), from which the filled-in file is exported.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assure_assess::gap::CheckStatus;
use assure_questionnaire::answer::{
    ControlFact, ControlState, EvidenceFact, PeriodFact, PolicyFact, ScopeFact, SubserviceFact, TestFact,
};
use assure_questionnaire::detect::Mapping;
use assure_questionnaire::export::Write;
use assure_questionnaire::{Answer, Format, Knowledge, Library, LibraryEntry, Proposal, QError, Question};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::snapshot::Snapshot;
use crate::{Workspace, WorkspaceError, records, write_atomically};

/// The answer library's place in the project.
pub const LIBRARY: &str = "questionnaires/library.toml";

impl From<QError> for WorkspaceError {
    fn from(e: QError) -> WorkspaceError {
        WorkspaceError::Invalid {
            message: format!("{}: {}", e.place, e.what),
            hint: Some(e.hint),
        }
    }
}

/// What the questionnaire answering knows, drawn from a snapshot.
pub fn knowledge(snap: &Snapshot) -> Knowledge {
    let project = &snap.project;
    let period = project.current_period().map(|p| PeriodFact {
        name: p.name,
        start: p.start,
        end: p.end,
    });
    let run = snap.run.as_ref();
    let mut controls = Vec::new();
    for c in &project.controls {
        let status = snap.assessment.controls.iter().find(|s| s.id == c.id.as_str());
        let check = |name: &str| status.and_then(|s| s.checks.iter().find(|k| k.name == name));
        let mut tests = Vec::new();
        let mut exceptions = 0u64;
        let mut errored: Option<String> = None;
        if let Some((seq, r)) = run {
            for t in r.tests.iter().filter(|t| t.controls.iter().any(|x| x == c.id.as_str())) {
                exceptions += t.exceptions as u64;
                if matches!(t.conclusion, assure_schema::results::Conclusion::NotRun) {
                    errored = Some(t.note.clone().unwrap_or_else(|| format!("{} did not run", t.id)));
                }
                tests.push(TestFact {
                    id: t.id.clone(),
                    run: *seq,
                    window: format!("{} to {}", r.period_start, r.period_end.min(r.as_of)),
                    population: t.population as u64,
                    exceptions: t.exceptions as u64,
                });
            }
        }
        let fresh = check("evidence_fresh").map(|k| k.status);
        let state = if exceptions > 0 {
            ControlState::Exceptions { count: exceptions }
        } else if let Some(m) = errored {
            ControlState::Errored { message: m }
        } else if !c.tests.is_empty() && tests.is_empty() {
            ControlState::NotRun
        } else if fresh == Some(CheckStatus::Gap) {
            let has_any = check("evidence_fresh").is_some_and(|k| !k.detail.to_lowercase().contains("no evidence"));
            if has_any {
                ControlState::Stale
            } else {
                ControlState::NoEvidence
            }
        } else if !tests.is_empty() {
            ControlState::Passing
        } else if fresh == Some(CheckStatus::Met) {
            ControlState::DesignOnly
        } else {
            ControlState::NoEvidence
        };
        let tables: BTreeSet<&str> = c
            .evidence
            .iter()
            .filter_map(|e| e.table.as_ref().map(|t| t.as_str()))
            .collect();
        let mut evidence: Vec<EvidenceFact> = snap
            .ledger
            .iter()
            .filter(|e| records::in_period(project, e))
            .filter(|e| {
                e.draft.controls.iter().any(|x| x == c.id.as_str())
                    || e.draft.table.as_deref().is_some_and(|t| tables.contains(t))
            })
            .filter_map(|e| {
                e.draft.blob.as_ref().map(|b| EvidenceFact {
                    seq: e.seq,
                    blake3: b.blake3.clone(),
                    file: b.name.clone(),
                })
            })
            .collect();
        evidence.reverse();
        controls.push(ControlFact {
            id: c.id.to_string(),
            title: c.title.clone(),
            description: c.description.clone(),
            criteria: c.criteria.iter().map(|r| r.to_string()).collect(),
            policies: c.policies.iter().map(|r| r.to_string()).collect(),
            vendors: c.vendors.iter().map(|r| r.to_string()).collect(),
            state,
            tests,
            evidence,
        });
    }
    let policies = snap
        .assessment
        .policies
        .iter()
        .map(|p| {
            let def = project.policies.iter().find(|x| x.id.as_str() == p.id);
            let body = def.map(|x| x.body.clone()).unwrap_or_default();
            let summary: String = body
                .lines()
                .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(600)
                .collect();
            PolicyFact {
                id: p.id.clone(),
                title: p.title.clone(),
                version: p.version.clone(),
                approved_on: p.approved_on,
                current: p.status == "current",
                criteria: def
                    .map(|x| x.criteria.iter().map(|r| r.to_string()).collect())
                    .unwrap_or_default(),
                summary,
            }
        })
        .collect();
    let scope = &project.manifest.scope;
    let reports = scope
        .reports
        .iter()
        .map(|r| match (r, scope.exam_type) {
            (assure_project::model::ReportKind::Soc3, _) | (_, None) => r.label().to_string(),
            (_, Some(t)) => format!("{} {}", r.label(), t.label()),
        })
        .collect();
    let subservice = project
        .manifest
        .subservice
        .iter()
        .map(|s| SubserviceFact {
            name: s.name.clone(),
            services: s.services.clone(),
            method: format!("{:?}", s.treatment).to_lowercase(),
            // The assurance report its vendor record names (`soc2-type2`), when there is one.
            report: s
                .vendor
                .as_ref()
                .and_then(|v| project.vendors.iter().find(|x| x.id.as_str() == v.as_str()))
                .and_then(|v| v.assurance.clone())
                .filter(|a| a != "none"),
        })
        .collect();
    Knowledge {
        organization: project.manifest.organization.name.clone(),
        as_of: snap.as_of,
        period,
        controls,
        policies,
        scope: ScopeFact {
            reports,
            systems: vec![project.manifest.system.name.clone()],
            subservice,
        },
    }
}

/// The review state of one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Proposed by Assure.
    Proposed,
    /// Changed by a person.
    Edited,
    /// Approved.
    Approved,
}

/// A comment on an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// Who.
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
    /// What.
    pub text: String,
}

/// One question with its answer and review state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The question's id as written.
    pub id: String,
    /// The question.
    pub question: String,
    /// Its section.
    pub section: Option<String>,
    /// The sheet.
    pub sheet: String,
    /// The answer cell (`D12`), if any.
    pub cell: Option<String>,
    /// The answer class.
    pub answer: Answer,
    /// What goes in the answer cell.
    pub value: Option<String>,
    /// What goes in the ownership cell.
    pub owner: Option<String>,
    /// The narrative.
    pub text: String,
    /// Sources, as Assure proposed them.
    pub sources: serde_json::Value,
    /// Confidence 0..1.
    pub confidence: f64,
    /// `high`, `medium`, `low`, `none`.
    pub level: String,
    /// Why it needs review.
    pub reason: Option<String>,
    /// Review state.
    pub status: Status,
    /// Who it is assigned to.
    pub assignee: Option<String>,
    /// Who approved it, and when.
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<String>,
    /// Comments.
    pub comments: Vec<Comment>,
    /// Controls the answer rests on (from its sources).
    pub controls: Vec<String>,
    /// The choices the cell allows.
    pub choices: Vec<String>,
}

/// An answered questionnaire kept for review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answered {
    /// Id (`q-` and 8 hex digits of the original's BLAKE3).
    pub id: String,
    /// The customer's file name.
    pub file: String,
    /// Its format.
    pub format: Format,
    /// The original's BLAKE3.
    pub blake3: String,
    /// As of.
    pub as_of: NaiveDate,
    /// The period grounded in.
    pub period: Option<String>,
    /// When it was answered.
    pub created_at: String,
    /// The mapping used.
    pub mapping: Mapping,
    /// Questions and answers.
    pub items: Vec<Item>,
    /// Cell positions, per item (kept to write back).
    pub cells: Vec<Cells>,
    /// The sentence-embedding model the library was matched with, if any (name, place, digest).
    #[serde(default)]
    pub model: Option<String>,
}

/// Where one item's values go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cells {
    /// Answer cell.
    pub answer: Option<assure_questionnaire::CellRef>,
    /// Ownership cell.
    pub owner: Option<assure_questionnaire::CellRef>,
    /// Comment cell.
    pub comment: Option<assure_questionnaire::CellRef>,
    /// VSAQ choice ids.
    pub choice_ids: Vec<String>,
}

impl Answered {
    /// Counts: (questions, answered, needs review, approved).
    pub fn progress(&self) -> (usize, usize, usize, usize) {
        let n = self.items.len();
        let review = self.items.iter().filter(|i| i.answer == Answer::NeedsReview).count();
        let approved = self.items.iter().filter(|i| i.status == Status::Approved).count();
        (n, n - review, review, approved)
    }
}

fn controls_of(p: &Proposal) -> Vec<String> {
    p.sources
        .iter()
        .filter_map(|s| match s {
            assure_questionnaire::Source::Control { id, .. } => Some(id.clone()),
            _ => None,
        })
        .collect()
}

/// Builds the review record from the questions and proposals.
pub fn answered(
    file: &str,
    bytes: &[u8],
    q: &assure_questionnaire::Questionnaire,
    proposals: &[Proposal],
    k: &Knowledge,
    now: &str,
) -> Answered {
    let hash = blake3::hash(bytes).to_hex().to_string();
    let items = q
        .questions
        .iter()
        .zip(proposals)
        .map(|(qq, p)| Item {
            id: qq.id.clone(),
            question: qq.text.clone(),
            section: qq.section.clone(),
            sheet: qq.cell.sheet.clone(),
            cell: qq.answer_cell.as_ref().map(|c| c.a1()),
            answer: p.answer,
            value: p.value.clone(),
            owner: p.owner.clone(),
            text: p.text.clone(),
            sources: serde_json::to_value(&p.sources).unwrap_or_default(),
            confidence: p.confidence.score,
            level: p.confidence.level.to_string(),
            reason: p.reason.clone(),
            status: Status::Proposed,
            assignee: None,
            approved_by: None,
            approved_at: None,
            comments: Vec::new(),
            controls: controls_of(p),
            choices: qq.choices.clone(),
        })
        .collect();
    let cells = q
        .questions
        .iter()
        .map(|qq: &Question| Cells {
            answer: qq.answer_cell.clone(),
            owner: qq.owner_cell.clone(),
            comment: qq.comment_cell.clone(),
            choice_ids: qq.choice_ids.clone(),
        })
        .collect();
    Answered {
        id: format!("q-{}", &hash[..8]),
        file: file.to_string(),
        format: q.format,
        blake3: hash,
        as_of: k.as_of,
        period: k.period.as_ref().map(|p| p.name.clone()),
        created_at: now.to_string(),
        mapping: q.mapping.clone(),
        items,
        cells,
        model: None,
    }
}

/// The writes that put an answered questionnaire's answers into its file: answers (only values
/// the cell's list allows), ownership and narratives into cells that were empty.
pub fn writes(a: &Answered, q: &assure_questionnaire::Questionnaire, only_approved: bool) -> Vec<Write> {
    let mut out = Vec::new();
    for ((item, cells), qq) in a.items.iter().zip(&a.cells).zip(&q.questions) {
        if only_approved && item.status != Status::Approved {
            continue;
        }
        if item.answer == Answer::NeedsReview {
            continue;
        }
        if let (Some(cell), Some(v)) = (&cells.answer, &item.value)
            && (qq.choices.is_empty() || qq.choices.contains(v))
        {
            out.push(Write {
                cell: cell.clone(),
                value: v.clone(),
            });
        }
        if let (Some(cell), Some(v)) = (&cells.owner, &item.owner)
            && qq.existing_owner.is_none()
            && (qq.owner_choices.is_empty() || qq.owner_choices.contains(v))
        {
            out.push(Write {
                cell: cell.clone(),
                value: v.clone(),
            });
        }
        if let Some(cell) = &cells.comment
            && qq.existing_comment.is_none()
            && !item.text.is_empty()
        {
            out.push(Write {
                cell: cell.clone(),
                value: item.text.clone(),
            });
        }
    }
    out
}

/// The file with the answers written in.
pub fn filled(a: &Answered, original: &[u8], only_approved: bool) -> Result<Vec<u8>, WorkspaceError> {
    let (format, grids) = assure_questionnaire::read(&a.file, original)?;
    let q = assure_questionnaire::detect::detect(&a.file, format, &grids, Some(&a.mapping))?;
    let w = writes(a, &q, only_approved);
    Ok(match format {
        Format::Xlsx => assure_questionnaire::export::xlsx(&a.file, original, &w)?,
        Format::Docx => assure_questionnaire::export::docx(&a.file, original, &w)?,
        Format::Csv => assure_questionnaire::export::csv(&a.file, original, &w)?,
        Format::Vsaq => {
            let mut answers = serde_json::Map::new();
            for (item, cells) in a.items.iter().zip(&a.cells) {
                if (only_approved && item.status != Status::Approved) || item.answer == Answer::NeedsReview {
                    continue;
                }
                if let Some(v) = &item.value
                    && let Some(k) = item.choices.iter().position(|c| c == v)
                    && let Some(choice) = cells.choice_ids.get(k)
                {
                    answers.insert(item.id.clone(), serde_json::Value::String(choice.clone()));
                } else if item.choices.is_empty() && !item.text.is_empty() {
                    answers.insert(item.id.clone(), serde_json::Value::String(item.text.clone()));
                }
            }
            let mut out = serde_json::to_vec_pretty(&answers).unwrap_or_default();
            out.push(b'\n');
            out
        }
    })
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, WorkspaceError> {
    std::fs::read(path).map_err(|source| WorkspaceError::Io {
        what,
        path: path.to_path_buf(),
        source,
    })
}

impl Workspace {
    /// The answer library (empty when the project has none yet).
    pub fn library(&self) -> Result<Library, WorkspaceError> {
        let path = self.dir().join(LIBRARY);
        if !path.exists() {
            return Ok(Library::default());
        }
        let bytes = read(&path, "read the answer library")?;
        Ok(Library::parse(LIBRARY, &String::from_utf8_lossy(&bytes))?)
    }

    /// Saves the answer library.
    pub fn save_library(&self, lib: &Library) -> Result<(), WorkspaceError> {
        let path = self.dir().join(LIBRARY);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| WorkspaceError::Io {
                what: "create",
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let mut text = String::from(
            "# The answer library: answers to security questionnaires, approved, with owner and expiry.\n# Written by `assure questionnaire library add` and by approvals; edit freely.\n\n",
        );
        text.push_str(&lib.to_toml());
        write_atomically(&path, text.as_bytes())
    }

    /// What the questionnaire answering knows, as of a date.
    pub fn knowledge(&self, as_of: NaiveDate) -> Result<Knowledge, WorkspaceError> {
        Ok(knowledge(&self.snapshot(as_of)?))
    }

    fn questionnaires_dir(&self) -> PathBuf {
        self.dir().join(".assure").join("questionnaires")
    }

    /// Answers a questionnaire and keeps it for review. `extra` libraries are used besides the project's.
    pub fn answer_questionnaire(
        &self,
        file: &str,
        bytes: &[u8],
        mapping: Option<&Mapping>,
        extra: &[Library],
        as_of: NaiveDate,
        embedder: Option<&dyn assure_questionnaire::Embedder>,
    ) -> Result<(Answered, assure_questionnaire::Questionnaire), WorkspaceError> {
        let (format, grids) = assure_questionnaire::read(file, bytes)?;
        let q = assure_questionnaire::detect::detect(file, format, &grids, mapping)?;
        let mut lib = self.library()?;
        for l in extra {
            lib.entries.extend(l.entries.iter().cloned());
        }
        let k = self.knowledge(as_of)?;
        let proposals = assure_questionnaire::answer::answer_all_with(&q, &k, &lib, embedder)?;
        let mut a = answered(file, bytes, &q, &proposals, &k, &Workspace::now());
        a.model = embedder.map(|e| e.describe());
        let dir = self.questionnaires_dir().join(&a.id);
        std::fs::create_dir_all(&dir).map_err(|source| WorkspaceError::Io {
            what: "create",
            path: dir.clone(),
            source,
        })?;
        write_atomically(&dir.join("original"), bytes)?;
        self.save_answered(&a)?;
        Ok((a, q))
    }

    /// Saves an answered questionnaire's review state.
    pub fn save_answered(&self, a: &Answered) -> Result<(), WorkspaceError> {
        let dir = self.questionnaires_dir().join(&a.id);
        let mut json = serde_json::to_vec_pretty(a).map_err(|e| WorkspaceError::invalid(e.to_string(), None))?;
        json.push(b'\n');
        write_atomically(&dir.join("answers.json"), &json)
    }

    /// Every answered questionnaire, newest first.
    pub fn questionnaires(&self) -> Result<Vec<Answered>, WorkspaceError> {
        let dir = self.questionnaires_dir();
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(out);
        };
        for e in entries.flatten() {
            let path = e.path().join("answers.json");
            if let Ok(bytes) = std::fs::read(&path) {
                match serde_json::from_slice::<Answered>(&bytes) {
                    Ok(a) => out.push(a),
                    Err(err) => {
                        return Err(WorkspaceError::invalid(
                            format!("{}: {err}", path.display()),
                            Some("the review record is damaged; answer the questionnaire again"),
                        ));
                    }
                }
            }
        }
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// One answered questionnaire, by id or unique id prefix.
    pub fn questionnaire(&self, id: &str) -> Result<Answered, WorkspaceError> {
        let all = self.questionnaires()?;
        let hits: Vec<&Answered> = all.iter().filter(|a| a.id == id || a.id.starts_with(id)).collect();
        match hits.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(WorkspaceError::invalid(
                format!("no answered questionnaire {id:?}"),
                Some("`assure questionnaire list` shows them"),
            )),
            _ => Err(WorkspaceError::invalid(
                format!("{id:?} names several questionnaires"),
                Some("give more of the id"),
            )),
        }
    }

    /// The customer's original file of an answered questionnaire.
    pub fn questionnaire_original(&self, a: &Answered) -> Result<Vec<u8>, WorkspaceError> {
        let bytes = read(
            &self.questionnaires_dir().join(&a.id).join("original"),
            "read the questionnaire",
        )?;
        if blake3::hash(&bytes).to_hex().as_str() != a.blake3 {
            return Err(WorkspaceError::invalid(
                format!(
                    "the stored original of {} no longer has the BLAKE3 it was answered from",
                    a.id
                ),
                Some("answer the customer's file again"),
            ));
        }
        Ok(bytes)
    }

    /// Approves answers (all answered ones when `ids` is empty) and adds them to the library.
    pub fn approve_answers(
        &self,
        a: &mut Answered,
        ids: &[String],
        by: &str,
        expires_days: i64,
    ) -> Result<usize, WorkspaceError> {
        let now = Workspace::now();
        let today = now
            .get(..10)
            .and_then(|d| d.parse::<NaiveDate>().ok())
            .unwrap_or(a.as_of);
        let mut lib = self.library()?;
        let mut n = 0;
        for item in a.items.iter_mut() {
            let chosen = if ids.is_empty() {
                item.answer != Answer::NeedsReview
            } else {
                ids.contains(&item.id)
            };
            if !chosen || item.status == Status::Approved {
                continue;
            }
            if item.answer == Answer::NeedsReview || item.value.is_none() && item.text.is_empty() {
                return Err(WorkspaceError::invalid(
                    format!(
                        "question {} has no answer to approve ({})",
                        item.id,
                        item.reason.clone().unwrap_or_default()
                    ),
                    Some("give it an answer first: `assure questionnaire edit ID QUESTION --answer ...`"),
                ));
            }
            item.status = Status::Approved;
            item.approved_by = Some(by.to_string());
            item.approved_at = Some(now.clone());
            n += 1;
            let entry = LibraryEntry {
                id: assure_questionnaire::library::entry_id(&item.question),
                question_id: Some(item.id.clone()),
                question: item.question.clone(),
                answer: item.value.clone().unwrap_or_else(|| item.answer.word().to_string()),
                text: item.text.clone(),
                ownership: item.owner.clone(),
                owner: Some(by.to_string()),
                approved_on: Some(today),
                expires_on: today.checked_add_signed(chrono::Duration::days(expires_days)),
                source: format!(
                    "{} ({}), {}!{}",
                    a.file,
                    a.id,
                    item.sheet,
                    item.cell.clone().unwrap_or_default()
                ),
                controls: item.controls.clone(),
            };
            match lib.entries.iter_mut().find(|e| e.id == entry.id) {
                Some(e) => *e = entry,
                None => lib.entries.push(entry),
            }
        }
        self.save_library(&lib)?;
        self.save_answered(a)?;
        Ok(n)
    }

    /// Approved answers whose controls no longer support them: (questionnaire, question, why).
    pub fn answers_to_recheck(&self, as_of: NaiveDate) -> Result<Vec<(String, String, String)>, WorkspaceError> {
        let k = self.knowledge(as_of)?;
        let mut out = Vec::new();
        let lib = self.library()?;
        let mut check = |origin: String, qid: String, controls: &[String], answer: Answer| {
            if answer != Answer::Yes {
                return;
            }
            for id in controls {
                if let Some(c) = k.controls.iter().find(|c| &c.id == id) {
                    let why = match &c.state {
                        ControlState::Exceptions { count } => {
                            Some(format!("control {id} now has {count} exception(s)"))
                        }
                        ControlState::Stale => Some(format!("control {id}'s evidence is stale")),
                        ControlState::NoEvidence => Some(format!("control {id} has no evidence for the period")),
                        ControlState::Errored { message } => {
                            Some(format!("control {id}'s test could not run: {message}"))
                        }
                        _ => None,
                    };
                    if let Some(w) = why {
                        out.push((origin.clone(), qid.clone(), w));
                    }
                }
            }
        };
        for a in self.questionnaires()? {
            for item in a.items.iter().filter(|i| i.status == Status::Approved) {
                check(a.id.clone(), item.id.clone(), &item.controls, item.answer);
            }
        }
        for e in &lib.entries {
            check(
                "library".into(),
                e.question_id.clone().unwrap_or_else(|| e.id.clone()),
                &e.controls,
                e.class(),
            );
        }
        Ok(out)
    }
}

/// A reviewer's change to one answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Review {
    /// A new answer (one of the cell's choices when it has a list).
    pub answer: Option<String>,
    /// A new narrative.
    pub text: Option<String>,
    /// Assign the question to this person (email); empty to unassign.
    pub assign: Option<String>,
    /// A comment.
    pub comment: Option<String>,
    /// Approve the answer (it joins the library).
    pub approve: bool,
}

/// What the web application asks of questionnaires.
#[derive(Debug, Clone)]
pub enum QuestionnaireOp {
    /// Every answered questionnaire.
    List,
    /// One.
    Get(String),
    /// Answer a customer's file.
    Answer {
        /// Its name.
        file_name: String,
        /// Its bytes.
        bytes: Vec<u8>,
        /// As of.
        as_of: NaiveDate,
    },
    /// Review one answer.
    Review {
        /// The questionnaire.
        id: String,
        /// The question's position (0-based).
        index: usize,
        /// The change.
        review: Review,
        /// Who (email).
        by: String,
    },
    /// Approve every answered question.
    ApproveAll {
        /// The questionnaire.
        id: String,
        /// Who (email).
        by: String,
    },
    /// The customer's file with the answers written in.
    Export {
        /// The questionnaire.
        id: String,
        /// Approved answers only.
        approved_only: bool,
    },
}

/// What a questionnaire operation returns.
#[derive(Debug, Clone)]
pub enum QuestionnaireOut {
    /// A list.
    List(Vec<Answered>),
    /// One questionnaire.
    One(Box<Answered>),
    /// A file: its name and bytes.
    File(String, Vec<u8>),
}

impl Workspace {
    /// Applies a reviewer's change to the answer at `index`; approval adds it to the library.
    pub fn review_answer(&self, id: &str, index: usize, r: &Review, by: &str) -> Result<Answered, WorkspaceError> {
        let mut a = self.questionnaire(id)?;
        let now = Workspace::now();
        let Some(item) = a.items.get_mut(index) else {
            return Err(WorkspaceError::invalid(
                format!("{} has no question number {}", a.id, index + 1),
                Some("`assure questionnaire show ID` lists the questions"),
            ));
        };
        let note = |text: String| Comment {
            by: by.to_string(),
            at: now.clone(),
            text,
        };
        if let Some(v) = r
            .answer
            .as_ref()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
        {
            if !item.choices.is_empty() && !item.choices.contains(&v) {
                return Err(WorkspaceError::invalid(
                    format!("{v:?} is not one of question {}'s choices", item.id),
                    Some(&format!("choose one of: {}", item.choices.join(" | "))),
                ));
            }
            item.answer = Answer::classify(&v);
            item.comments.push(note(format!("answer set to {v:?}")));
            item.value = Some(v);
            item.reason = None;
            // A person's answer rests on that person.
            item.confidence = 1.0;
            item.level = "reviewer".into();
            item.sources = serde_json::json!([{"kind": "reviewer", "by": by, "at": now}]);
            item.status = Status::Edited;
        }
        if let Some(t) = &r.text
            && *t != item.text
        {
            item.text = t.trim().to_string();
            item.status = Status::Edited;
            item.comments.push(note("narrative edited".into()));
        }
        if let Some(p) = &r.assign {
            let p = p.trim();
            item.assignee = (!p.is_empty()).then(|| p.to_string());
            item.comments.push(note(if p.is_empty() {
                "unassigned".into()
            } else {
                format!("assigned to {p}")
            }));
        }
        if let Some(c) = r.comment.as_ref().map(|c| c.trim()).filter(|c| !c.is_empty()) {
            item.comments.push(note(c.to_string()));
        }
        if r.approve {
            self.approve_indices(&mut a, &[index], by, 365)?;
        } else {
            self.save_answered(&a)?;
        }
        Ok(a)
    }

    fn approve_indices(
        &self,
        a: &mut Answered,
        indices: &[usize],
        by: &str,
        expires_days: i64,
    ) -> Result<usize, WorkspaceError> {
        let ids: Vec<String> = indices
            .iter()
            .filter_map(|i| a.items.get(*i))
            .map(|i| i.id.clone())
            .collect();
        self.approve_answers(a, &ids, by, expires_days)
    }

    /// Carries out one questionnaire operation (the web application's entry point).
    pub fn questionnaire_op(&self, op: QuestionnaireOp) -> Result<QuestionnaireOut, WorkspaceError> {
        Ok(match op {
            QuestionnaireOp::List => QuestionnaireOut::List(self.questionnaires()?),
            QuestionnaireOp::Get(id) => QuestionnaireOut::One(Box::new(self.questionnaire(&id)?)),
            QuestionnaireOp::Answer {
                file_name,
                bytes,
                as_of,
            } => {
                let (a, _) = self.answer_questionnaire(&file_name, &bytes, None, &[], as_of, None)?;
                QuestionnaireOut::One(Box::new(a))
            }
            QuestionnaireOp::Review { id, index, review, by } => {
                QuestionnaireOut::One(Box::new(self.review_answer(&id, index, &review, &by)?))
            }
            QuestionnaireOp::ApproveAll { id, by } => {
                let mut a = self.questionnaire(&id)?;
                self.approve_answers(&mut a, &[], &by, 365)?;
                QuestionnaireOut::One(Box::new(a))
            }
            QuestionnaireOp::Export { id, approved_only } => {
                let a = self.questionnaire(&id)?;
                let original = self.questionnaire_original(&a)?;
                let bytes = filled(&a, &original, approved_only)?;
                let name = match a.format {
                    Format::Vsaq => format!("{}.answers.json", a.file.trim_end_matches(".json")),
                    _ => match a.file.rsplit_once('.') {
                        Some((stem, ext)) => format!("{stem}-answered.{ext}"),
                        None => format!("{}-answered", a.file),
                    },
                };
                QuestionnaireOut::File(name, bytes)
            }
        })
    }
}
