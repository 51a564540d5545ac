//! Answering: each question gets an answer in its sheet's own vocabulary, a short narrative, the
//! sources it rests on and a confidence, or an abstention ("needs review") with the reason.
//!
//! Grounding, in order: an approved library answer to the same question; a control in place whose
//! tests pass in the current period; a policy; the scope. A control with exceptions in the period,
//! or with no evidence, turns a yes into "needs review" and says why.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::detect::{Question, Questionnaire};
use crate::library::{Library, LibraryEntry};
use crate::retrieve::{Corpus, similarity, stems};
use crate::{QError, topics, vsaq};

/// An answer's class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// Yes.
    Yes,
    /// No.
    No,
    /// Not applicable.
    NotApplicable,
    /// Partly.
    Partial,
    /// A free-text answer.
    Text,
    /// Nothing grounds an answer: a person must answer.
    NeedsReview,
}

/// Strips a numbered or lettered prefix (`1) Yes`, `2. No`, `a - N/A`).
pub fn strip_prefix(s: &str) -> &str {
    let t = s.trim();
    let lead: usize = t.chars().take_while(|c| c.is_ascii_digit()).map(char::len_utf8).sum();
    let lead = if lead == 0
        && t.len() > 2
        && t.as_bytes()[0].is_ascii_alphabetic()
        && matches!(t.as_bytes()[1], b')' | b'.')
    {
        1
    } else {
        lead
    };
    if lead == 0 || lead > 3 {
        return t;
    }
    let rest = &t[lead..];
    match rest.chars().next() {
        Some(')' | '.' | ':' | '-') => rest[1..].trim_start(),
        Some(' ') if rest.trim_start().starts_with(['-', ')']) => rest.trim_start()[1..].trim_start(),
        _ => t,
    }
}

impl Answer {
    /// The class of a written answer.
    pub fn classify(s: &str) -> Answer {
        let t = strip_prefix(s).to_lowercase();
        let t = t.trim().trim_end_matches(['.', '!']);
        let word = |w: &str| {
            t == w
                || t.starts_with(&format!("{w} "))
                || t.starts_with(&format!("{w},"))
                || t.starts_with(&format!("{w}."))
                || t.starts_with(&format!("{w};"))
                || t.starts_with(&format!("{w} -"))
        };
        if t.is_empty() {
            return Answer::NeedsReview;
        }
        if word("n/a")
            || word("na")
            || t.starts_with("not applicable")
            || t.starts_with("not relevant")
            || t == "none of the above"
        {
            return Answer::NotApplicable;
        }
        if word("partial") || word("partially") || t.starts_with("in progress") || t.starts_with("partly") {
            return Answer::Partial;
        }
        if word("yes")
            || matches!(
                t,
                "y" | "true" | "compliant" | "implemented" | "fully implemented" | "in place"
            )
        {
            return Answer::Yes;
        }
        if word("no")
            || matches!(t, "n" | "false" | "not implemented" | "non-compliant" | "noncompliant")
            || t.starts_with("no,")
            || t.starts_with("we do not")
            || t.starts_with("i'm not sure")
            || t.starts_with("we're not sure")
            || t.starts_with("not sure")
        {
            return Answer::No;
        }
        Answer::Text
    }

    /// The word written when the sheet gives no list.
    pub fn word(self) -> &'static str {
        match self {
            Answer::Yes => "Yes",
            Answer::No => "No",
            Answer::NotApplicable => "N/A",
            Answer::Partial => "Partial",
            Answer::Text => "",
            Answer::NeedsReview => "Needs review",
        }
    }
}

/// Who operates what a question asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    /// The company.
    Company,
    /// A subservice organisation (carved out).
    Subservice,
    /// The customer.
    Customer,
    /// Shared.
    Shared,
}

/// How sure an answer is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Confidence {
    /// 0 to 1.
    pub score: f64,
    /// `high` (≥ 0.8), `medium` (≥ 0.55), `low` (> 0), `none`.
    pub level: &'static str,
}

impl Confidence {
    /// A confidence from a score.
    pub fn of(score: f64) -> Confidence {
        let level = if score >= 0.8 {
            "high"
        } else if score >= 0.55 {
            "medium"
        } else if score > 0.0 {
            "low"
        } else {
            "none"
        };
        Confidence {
            score: (score * 100.0).round() / 100.0,
            level,
        }
    }
}

/// A control's state in the current period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ControlState {
    /// Its tests passed over the whole population and its evidence is fresh.
    Passing,
    /// Designed and evidenced, with no automated test.
    DesignOnly,
    /// Its tests found exceptions.
    Exceptions {
        /// How many.
        count: u64,
    },
    /// No evidence for the period.
    NoEvidence,
    /// Its newest evidence is too old for its frequency.
    Stale,
    /// A test could not run.
    Errored {
        /// Why.
        message: String,
    },
    /// Its tests have not run in the period.
    NotRun,
}

/// One test result a control rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestFact {
    /// Test id.
    pub id: String,
    /// The ledger entry of the run.
    pub run: u64,
    /// The window tested.
    pub window: String,
    /// Items tested.
    pub population: u64,
    /// Exceptions found.
    pub exceptions: u64,
}

/// One evidence file a control rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceFact {
    /// Ledger entry.
    pub seq: u64,
    /// The file's BLAKE3.
    pub blake3: String,
    /// The file's name.
    pub file: String,
}

/// A control as the questionnaire sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlFact {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// What is done.
    pub description: String,
    /// Criteria it addresses.
    pub criteria: Vec<String>,
    /// Policies requiring it.
    pub policies: Vec<String>,
    /// Vendors it relies on.
    pub vendors: Vec<String>,
    /// Its state now.
    pub state: ControlState,
    /// Test results.
    pub tests: Vec<TestFact>,
    /// Evidence.
    pub evidence: Vec<EvidenceFact>,
}

/// A policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyFact {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Version.
    pub version: Option<String>,
    /// Approved on.
    pub approved_on: Option<NaiveDate>,
    /// Approved and not past its review date.
    pub current: bool,
    /// The criteria it addresses.
    #[serde(default)]
    pub criteria: Vec<String>,
    /// Its opening text.
    pub summary: String,
}

/// A subservice organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubserviceFact {
    /// Name.
    pub name: String,
    /// What it provides.
    pub services: String,
    /// `carve-out` or `inclusive`.
    pub method: String,
    /// Its own report, if known.
    pub report: Option<String>,
}

/// The scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ScopeFact {
    /// Reports in scope (`SOC 2 Type 2`).
    pub reports: Vec<String>,
    /// Systems in scope.
    pub systems: Vec<String>,
    /// Subservice organisations.
    pub subservice: Vec<SubserviceFact>,
}

/// The period answers are grounded in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodFact {
    /// Name.
    pub name: String,
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
}

/// What Assure knows about the company, as of a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Knowledge {
    /// The company.
    pub organization: String,
    /// As of.
    pub as_of: NaiveDate,
    /// The current period.
    pub period: Option<PeriodFact>,
    /// Controls.
    pub controls: Vec<ControlFact>,
    /// Policies.
    pub policies: Vec<PolicyFact>,
    /// Scope.
    pub scope: ScopeFact,
}

/// What an answer rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Source {
    /// An approved library answer.
    Library {
        /// Entry id.
        entry: String,
        /// Where it came from.
        source: String,
        /// Approved on.
        approved_on: Option<NaiveDate>,
    },
    /// A control.
    Control {
        /// Id.
        id: String,
        /// Title.
        title: String,
        /// Its state.
        #[serde(flatten)]
        state: ControlState,
    },
    /// A test result in the period.
    Test(TestFact),
    /// An evidence file.
    Evidence(EvidenceFact),
    /// A policy.
    Policy {
        /// Id.
        id: String,
        /// Version.
        version: Option<String>,
        /// Approved on.
        approved_on: Option<NaiveDate>,
    },
    /// The scope.
    Scope {
        /// What of it.
        detail: String,
    },
    /// A subservice organisation.
    Subservice {
        /// Name.
        name: String,
        /// Its report.
        report: Option<String>,
    },
    /// A qualifier question that switched this one off.
    Qualifier {
        /// The qualifier's id.
        question: String,
        /// Its answer.
        answer: String,
    },
}

/// A proposed answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    /// The class.
    pub answer: Answer,
    /// What goes in the answer cell: one of the cell's own choices, or a word when it has none.
    pub value: Option<String>,
    /// What goes in the ownership cell.
    pub owner: Option<String>,
    /// The narrative.
    pub text: String,
    /// What it rests on.
    pub sources: Vec<Source>,
    /// How sure.
    pub confidence: Confidence,
    /// Why it needs review, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The topics the question was read as.
    pub topics: Vec<String>,
}

impl Proposal {
    fn review(reason: String, topics: Vec<String>, sources: Vec<Source>) -> Proposal {
        Proposal {
            answer: Answer::NeedsReview,
            value: None,
            owner: None,
            text: String::new(),
            sources,
            confidence: Confidence::of(0.0),
            reason: Some(reason),
            topics,
        }
    }
}

/// The choice in a list that says `class` (`1) Yes` for yes), if any.
pub fn choice_for(class: Answer, choices: &[String]) -> Option<String> {
    if choices.is_empty() {
        return match class {
            Answer::NeedsReview | Answer::Text => None,
            c => Some(c.word().to_string()),
        };
    }
    choices.iter().find(|c| Answer::classify(c) == class).cloned()
}

/// The ownership choice that says `who`.
pub fn owner_choice(who: Ownership, choices: &[String]) -> Option<String> {
    let words: &[&str] = match who {
        Ownership::Company => &[
            "csp-owned",
            "csp owned",
            "service provider",
            "provider",
            "vendor",
            "company",
            "organization",
            "we ",
        ],
        Ownership::Subservice => &[
            "3rd-party",
            "third-party",
            "third party",
            "3rd party",
            "outsourced",
            "subservice",
        ],
        Ownership::Customer => &["csc-owned", "csc owned", "customer", "client"],
        Ownership::Shared => &["shared"],
    };
    if choices.is_empty() {
        return Some(
            match who {
                Ownership::Company => "Company",
                Ownership::Subservice => "Subservice organisation",
                Ownership::Customer => "Customer",
                Ownership::Shared => "Shared",
            }
            .to_string(),
        );
    }
    let pick = |c: &&String| {
        let l = c.to_lowercase();
        words.iter().any(|w| l.contains(w)) && (who == Ownership::Shared || !l.contains("shared"))
    };
    choices.iter().find(pick).cloned()
}

/// Questions about the past (breaches, lawsuits) that no control answers.
fn about_past_events(text: &str) -> bool {
    let l = format!(" {} ", text.to_lowercase().replace(|c: char| !c.is_alphanumeric(), " "));
    [
        " have you had ",
        " have you experienced ",
        " has your organization experienced ",
        " in the past ",
        " been breached ",
        " been compromised ",
        " litigation ",
        " lawsuit ",
        " fined ",
        " convicted ",
        " ever had ",
    ]
    .iter()
    .any(|w| l.contains(w))
}

fn overlap(a: &BTreeSet<String>, b: &str) -> usize {
    stems(b).into_iter().collect::<BTreeSet<_>>().intersection(a).count()
}

/// Answers every question.
pub fn answer_all(q: &Questionnaire, k: &Knowledge, lib: &Library) -> Result<Vec<Proposal>, QError> {
    answer_all_with(q, k, lib, None)
}

/// Turns texts into unit vectors whose dot product says how alike they are in meaning (a local
/// sentence-embedding model; see the `assure-embed` crate). Optional: without one, matching is
/// lexical only.
pub trait Embedder: Send + Sync {
    /// One unit vector per text, in order.
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, QError>;
    /// What model this is, for the record (name, where from, the weights' digest).
    fn describe(&self) -> String;
}

/// Above this cosine, two questions are the same question in other words.
pub const SAME_MEANING: f32 = 0.75;

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Answers every question, matching the library by meaning too when an embedder is given.
pub fn answer_all_with(
    q: &Questionnaire,
    k: &Knowledge,
    lib: &Library,
    embedder: Option<&dyn Embedder>,
) -> Result<Vec<Proposal>, QError> {
    let usable: Vec<&LibraryEntry> = lib.entries.iter().filter(|e| e.usable(k.as_of)).collect();
    let lib_corpus = Corpus::build(&usable.iter().map(|e| e.question.clone()).collect::<Vec<_>>())?;
    let control_texts: Vec<String> = k
        .controls
        .iter()
        .map(|c| format!("{} {}", c.title, c.description))
        .collect();
    let control_corpus = Corpus::build(&control_texts)?;
    let policy_corpus = Corpus::build(
        &k.policies
            .iter()
            .map(|p| format!("{} {}", p.title, p.summary))
            .collect::<Vec<_>>(),
    )?;
    let (lib_vecs, q_vecs) = match embedder {
        Some(e) if !usable.is_empty() => (
            e.embed(&usable.iter().map(|x| x.question.clone()).collect::<Vec<_>>())?,
            e.embed(&q.questions.iter().map(|x| x.text.clone()).collect::<Vec<_>>())?,
        ),
        _ => (Vec::new(), Vec::new()),
    };
    let ctx = Ctx {
        k,
        usable,
        lib: &lib_corpus,
        controls: &control_corpus,
        policies: &policy_corpus,
        lib_all: lib,
        lib_vecs,
    };
    let mut out: Vec<Proposal> = Vec::with_capacity(q.questions.len());
    for (i, question) in q.questions.iter().enumerate() {
        out.push(ctx.propose(question, q_vecs.get(i).map(Vec::as_slice))?);
    }
    apply_qualifiers(q, &mut out);
    apply_conditions(q, &mut out);
    Ok(out)
}

struct Ctx<'a> {
    k: &'a Knowledge,
    usable: Vec<&'a LibraryEntry>,
    lib_all: &'a Library,
    lib: &'a Corpus,
    controls: &'a Corpus,
    policies: &'a Corpus,
    /// The usable library questions' vectors (empty without an embedder).
    lib_vecs: Vec<Vec<f32>>,
}

impl Ctx<'_> {
    fn propose(&self, q: &Question, vector: Option<&[f32]>) -> Result<Proposal, QError> {
        let classified = topics::classify(&q.id, &q.text);
        let topic_ids: Vec<String> = classified.iter().take(3).map(|(t, _)| t.id.to_string()).collect();
        let words: BTreeSet<String> = stems(&q.text).into_iter().collect();

        // 1. An approved library answer to the same question.
        if let Some(p) = self.by_library(q, vector, &topic_ids)? {
            return Ok(p);
        }
        if about_past_events(&q.text) {
            return Ok(Proposal::review(
                "it asks about past events (incidents, breaches, claims): answer it from your records".into(),
                topic_ids,
                Vec::new(),
            ));
        }
        if !q.choices.is_empty()
            && choice_for(Answer::Yes, &q.choices).is_none()
            && choice_for(Answer::No, &q.choices).is_none()
        {
            return Ok(Proposal::review(
                format!("its choices ({}) are not a yes or no", q.choices.join(" / ")),
                topic_ids,
                Vec::new(),
            ));
        }
        let criteria: BTreeSet<&str> = classified
            .iter()
            .take(3)
            .flat_map(|(t, _)| t.criteria.iter().copied())
            .collect();

        // 2. Whether the company itself is examined: the scope, not a control that reviews others' reports.
        let lower = q.text.to_lowercase();
        if (lower.contains("soc 2")
            || lower.contains("soc2")
            || lower.contains("soc 1")
            || lower.contains("independent audit")
            || lower.contains("third-party audit")
            || lower.contains("independent audit and assurance")
            || (lower.contains("audit") && lower.contains("independent")))
            && !self.k.scope.reports.is_empty()
        {
            return Ok(Proposal {
                answer: Answer::Yes,
                value: choice_for(Answer::Yes, &q.choices),
                owner: q
                    .owner_cell
                    .as_ref()
                    .and_then(|_| owner_choice(Ownership::Company, &q.owner_choices)),
                text: format!(
                    "Yes. An independent auditor examines us: {}{}.",
                    self.k.scope.reports.join(", "),
                    self.k
                        .period
                        .as_ref()
                        .map(|p| format!(" for {} ({} to {})", p.name, p.start, p.end))
                        .unwrap_or_default()
                ),
                sources: vec![Source::Scope {
                    detail: format!("reports in scope: {}", self.k.scope.reports.join(", ")),
                }],
                confidence: Confidence::of(0.7),
                reason: None,
                topics: topic_ids,
            });
        }
        // Whether the company handles regulated data (health, cards) is a fact no control states.
        if matches!(top_id(&classified), Some("health" | "payments")) {
            return Ok(Proposal::review(
                "it asks whether you handle regulated data (health or card data): answer it once, approve it, and the library answers it from then on".into(),
                topic_ids,
                Vec::new(),
            ));
        }
        // 3. Physical questions for a company whose infrastructure a subservice organisation runs.
        let top = classified.first().map(|(t, _)| t.id);
        if top == Some("physical") && !self.k.scope.subservice.is_empty() {
            let subs = &self.k.scope.subservice;
            let names: Vec<String> = subs.iter().map(|s| s.name.clone()).collect();
            let sources = subs
                .iter()
                .map(|s| Source::Subservice {
                    name: s.name.clone(),
                    report: s.report.clone(),
                })
                .collect();
            let value = choice_for(Answer::NotApplicable, &q.choices).or_else(|| choice_for(Answer::No, &q.choices));
            let class = value.as_deref().map(Answer::classify).unwrap_or(Answer::NotApplicable);
            return Ok(Proposal {
                answer: class,
                value,
                owner: q
                    .owner_cell
                    .as_ref()
                    .and_then(|_| owner_choice(Ownership::Subservice, &q.owner_choices)),
                text: format!(
                    "We operate no data centre of our own: our systems run at {}, whose physical and environmental controls are theirs{}.",
                    names.join(", "),
                    {
                        let reports: Vec<String> = subs
                            .iter()
                            .filter_map(|s| s.report.as_ref().map(|r| format!("{} ({r})", s.name)))
                            .collect();
                        if reports.is_empty() {
                            String::new()
                        } else {
                            format!(", covered by their own reports: {}", reports.join(", "))
                        }
                    }
                ),
                sources,
                confidence: Confidence::of(0.6),
                reason: None,
                topics: topic_ids,
            });
        }

        // 4. A control in place, tested in the current period.
        let hits = self.controls.search(&q.text, 12)?;
        let mut best: Option<(usize, f32)> = None;
        for (i, score) in &hits {
            let c = &self.k.controls[*i];
            let topical = c.criteria.iter().any(|x| criteria.contains(x.as_str()));
            let shared = overlap(&words, &format!("{} {}", c.title, c.description));
            if (topical && shared >= 2) || shared >= 4 {
                best = Some((*i, *score));
                break;
            }
        }
        if let Some((i, _)) = best {
            return Ok(self.by_control(q, &self.k.controls[i], topic_ids));
        }

        // 5. A policy, when the question asks about one.
        for (i, _) in self.policies.search(&q.text, 5)? {
            let p = &self.k.policies[i];
            let asks_policy = q.text.to_lowercase().contains("polic") || q.text.to_lowercase().contains("procedure");
            let topical = p.criteria.iter().any(|x| criteria.contains(x.as_str()));
            let title_hit = overlap(&words, &distinctive(&p.title)) >= 1;
            if !asks_policy || !p.current || !topical || !title_hit {
                continue;
            }
            let value = choice_for(Answer::Yes, &q.choices);
            return Ok(Proposal {
                answer: Answer::Yes,
                value,
                owner: q
                    .owner_cell
                    .as_ref()
                    .and_then(|_| owner_choice(Ownership::Company, &q.owner_choices)),
                text: format!(
                    "Yes. Our {}{} sets this out{}.",
                    p.title,
                    p.version
                        .as_ref()
                        .map(|v| format!(" (version {v})"))
                        .unwrap_or_default(),
                    p.approved_on
                        .map(|d| format!("; it was approved on {d}"))
                        .unwrap_or_default()
                ),
                sources: vec![Source::Policy {
                    id: p.id.clone(),
                    version: p.version.clone(),
                    approved_on: p.approved_on,
                }],
                confidence: Confidence::of(0.65),
                reason: None,
                topics: topic_ids,
            });
        }

        // 6. The scope: subservice organisations.
        let lower = q.text.to_lowercase();
        if top == Some("vendors")
            && !self.k.scope.subservice.is_empty()
            && (lower.contains("use") || lower.contains("rely"))
        {
            let subs = &self.k.scope.subservice;
            return Ok(Proposal {
                answer: Answer::Yes,
                value: choice_for(Answer::Yes, &q.choices),
                owner: q
                    .owner_cell
                    .as_ref()
                    .and_then(|_| owner_choice(Ownership::Shared, &q.owner_choices)),
                text: format!(
                    "Yes: {}.",
                    subs.iter()
                        .map(|s| format!("{} ({})", s.name, s.services))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                sources: subs
                    .iter()
                    .map(|s| Source::Subservice {
                        name: s.name.clone(),
                        report: s.report.clone(),
                    })
                    .collect(),
                confidence: Confidence::of(0.55),
                reason: None,
                topics: topic_ids,
            });
        }
        Ok(Proposal::review(
            if topic_ids.is_empty() {
                "nothing in the library, the controls, the policies or the scope speaks to it".into()
            } else {
                format!(
                    "no control, policy or library answer covers it (read as: {})",
                    topic_ids.join(", ")
                )
            },
            topic_ids,
            Vec::new(),
        ))
    }

    fn by_library(
        &self,
        q: &Question,
        vector: Option<&[f32]>,
        topic_ids: &[String],
    ) -> Result<Option<Proposal>, QError> {
        // Candidates: the best by BM25, and the best by meaning when there are vectors.
        let mut candidates: Vec<usize> = self.lib.search(&q.text, 8)?.into_iter().map(|(i, _)| i).collect();
        let cos_of = |i: usize| vector.and_then(|v| self.lib_vecs.get(i).map(|w| cosine(v, w)));
        if vector.is_some() {
            let mut by_meaning: Vec<(usize, f32)> = (0..self.usable.len())
                .filter_map(|i| cos_of(i).map(|c| (i, c)))
                .collect();
            by_meaning.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            candidates.extend(by_meaning.into_iter().take(8).map(|(i, _)| i));
        }
        candidates.sort_unstable();
        candidates.dedup();
        // A candidate is the same question when its words are alike enough (Dice of stems) or,
        // with an embedder, its meaning is (cosine); it is scored by the stronger of the two.
        let mut best: Option<(&LibraryEntry, f64)> = None;
        for i in candidates {
            let e = self.usable[i];
            let mut sim = similarity(&q.text, &e.question);
            if e.question_id.as_deref() == Some(q.id.as_str()) && sim >= 0.5 {
                sim = sim.max(0.9);
            }
            let lexical_ok = sim >= 0.6;
            if let Some(c) = cos_of(i)
                && c >= SAME_MEANING
            {
                // On the same scale: SAME_MEANING maps to the lexical floor, 1.0 to 1.0.
                let scaled = 0.6 + f64::from(c - SAME_MEANING) / f64::from(1.0 - SAME_MEANING) * 0.4;
                sim = sim.max(scaled);
            } else if !lexical_ok {
                continue;
            }
            if best.is_none_or(|(b, s)| sim > s || (sim == s && e.id < b.id)) {
                best = Some((e, sim));
            }
        }
        let Some((e, sim)) = best.filter(|(_, s)| *s >= 0.6) else {
            // An expired answer to the same question is worth saying.
            let expired = self
                .lib_all
                .entries
                .iter()
                .find(|e| !e.usable(self.k.as_of) && similarity(&q.text, &e.question) >= 0.85);
            if let Some(e) = expired {
                return Ok(Some(Proposal::review(
                    format!(
                        "the library's answer ({}) is {}: review and approve it again",
                        e.id,
                        match (e.approved_on, e.expires_on) {
                            (None, _) => "not approved".to_string(),
                            (_, Some(x)) => format!("expired on {x}"),
                            _ => "not yet valid".to_string(),
                        }
                    ),
                    topic_ids.to_vec(),
                    vec![Source::Library {
                        entry: e.id.clone(),
                        source: e.source.clone(),
                        approved_on: e.approved_on,
                    }],
                )));
            }
            return Ok(None);
        };
        let class = e.class();
        let mut sources = vec![Source::Library {
            entry: e.id.clone(),
            source: e.source.clone(),
            approved_on: e.approved_on,
        }];
        // An answer grounded in a control follows that control's state.
        for id in &e.controls {
            if let Some(c) = self.k.controls.iter().find(|c| &c.id == id) {
                sources.push(Source::Control {
                    id: c.id.clone(),
                    title: c.title.clone(),
                    state: c.state.clone(),
                });
                if class == Answer::Yes
                    && let Some(why) = not_operating(c, self.k)
                {
                    return Ok(Some(Proposal::review(why, topic_ids.to_vec(), sources)));
                }
            }
        }
        let exact = q
            .choices
            .iter()
            .find(|c| strip_prefix(c).eq_ignore_ascii_case(strip_prefix(&e.answer)))
            .cloned();
        let value = if exact.is_some() {
            exact
        } else if q.choices.is_empty() && class == Answer::Text {
            Some(e.answer.clone())
        } else {
            choice_for(class, &q.choices)
        };
        let Some(value) = value else {
            return Ok(Some(Proposal::review(
                format!(
                    "the library answers {:?}, which is not one of this question's choices ({})",
                    e.answer,
                    q.choices.join(" / ")
                ),
                topic_ids.to_vec(),
                sources,
            )));
        };
        let owner = q.owner_cell.as_ref().and_then(|_| {
            e.ownership.as_ref().and_then(|o| {
                let l = o.to_lowercase();
                let who = if l.contains("shared") {
                    Ownership::Shared
                } else if l.contains("3rd") || l.contains("third") || l.contains("outsourc") || l.contains("subservice")
                {
                    Ownership::Subservice
                } else if l.contains("csc") || l.contains("customer") {
                    Ownership::Customer
                } else {
                    Ownership::Company
                };
                owner_choice(who, &q.owner_choices)
            })
        });
        Ok(Some(Proposal {
            answer: class,
            value: Some(value),
            owner,
            text: e.text.clone(),
            sources,
            confidence: Confidence::of(if sim >= 0.85 {
                0.9
            } else if sim >= 0.7 {
                0.7
            } else {
                0.45
            }),
            reason: None,
            topics: topic_ids.to_vec(),
        }))
    }

    fn by_control(&self, q: &Question, c: &ControlFact, topic_ids: Vec<String>) -> Proposal {
        let mut sources = vec![Source::Control {
            id: c.id.clone(),
            title: c.title.clone(),
            state: c.state.clone(),
        }];
        for t in &c.tests {
            sources.push(Source::Test(t.clone()));
        }
        for e in c.evidence.iter().take(3) {
            sources.push(Source::Evidence(e.clone()));
        }
        if let Some(why) = not_operating(c, self.k) {
            return Proposal::review(why, topic_ids, sources);
        }
        let owner = q.owner_cell.as_ref().and_then(|_| {
            let subservice = c
                .vendors
                .iter()
                .any(|v| self.k.scope.subservice.iter().any(|s| s.name.eq_ignore_ascii_case(v)));
            owner_choice(
                if subservice {
                    Ownership::Shared
                } else {
                    Ownership::Company
                },
                &q.owner_choices,
            )
        });
        let period = self
            .k
            .period
            .as_ref()
            .map(|p| format!("{} ({} to {})", p.name, p.start, p.end))
            .unwrap_or_else(|| "the current period".into());
        let describe = if c.description.trim().is_empty() {
            format!("{}.", c.title)
        } else {
            first_sentence(&c.description)
        };
        let (text, score) = match &c.state {
            ControlState::Passing => {
                let tested: Vec<String> = c
                    .tests
                    .iter()
                    .map(|t| {
                        format!(
                            "{} checked {} items with no exceptions (run {})",
                            t.id, t.population, t.run
                        )
                    })
                    .collect();
                (
                    format!("Yes. {describe} Operating in {period}: {}.", tested.join("; ")),
                    0.85,
                )
            }
            _ => (
                format!("Yes. {describe} In place and evidenced in {period}; it has no automated test."),
                0.6,
            ),
        };
        Proposal {
            answer: Answer::Yes,
            value: choice_for(Answer::Yes, &q.choices),
            owner,
            text,
            sources,
            confidence: Confidence::of(score),
            reason: None,
            topics: topic_ids,
        }
    }
}

/// The words of a title that say what it is about (not "security", "policy", ...).
fn distinctive(title: &str) -> String {
    const GENERIC: &[&str] = &[
        "security",
        "information",
        "policy",
        "policies",
        "data",
        "management",
        "program",
        "programme",
        "standard",
        "procedure",
        "procedures",
        "and",
        "of",
        "the",
    ];
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !GENERIC.contains(&w.to_lowercase().as_str()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn top_id(classified: &[(&'static topics::Topic, u32)]) -> Option<&'static str> {
    classified.first().map(|(t, _)| t.id)
}

fn first_sentence(s: &str) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match s.find(". ") {
        Some(i) => s[..=i].to_string(),
        None if s.ends_with('.') => s,
        None => format!("{s}."),
    }
}

/// Why a control does not support a yes now, if it does not.
fn not_operating(c: &ControlFact, k: &Knowledge) -> Option<String> {
    let period = k
        .period
        .as_ref()
        .map(|p| p.name.clone())
        .unwrap_or_else(|| "the current period".into());
    match &c.state {
        ControlState::Passing | ControlState::DesignOnly => None,
        ControlState::Exceptions { count } => {
            let tests: Vec<String> = c
                .tests
                .iter()
                .filter(|t| t.exceptions > 0)
                .map(|t| format!("{} (run {})", t.id, t.run))
                .collect();
            Some(format!(
                "control {} has {count} exception(s) in {period}: {}",
                c.id,
                tests.join(", ")
            ))
        }
        ControlState::NoEvidence => Some(format!("control {} has no evidence for {period}", c.id)),
        ControlState::Stale => Some(format!("control {}'s evidence is stale as of {}", c.id, k.as_of)),
        ControlState::Errored { message } => Some(format!("control {}'s test could not run: {message}", c.id)),
        ControlState::NotRun => Some(format!("control {}'s tests have not run in {period}", c.id)),
    }
}

/// Switches off sections whose qualifier question is answered as the rule says.
fn apply_qualifiers(q: &Questionnaire, out: &mut [Proposal]) {
    for rule in &q.mapping.qualifier {
        let Some(qi) = q.questions.iter().position(|x| x.id == rule.question) else {
            continue;
        };
        let when = Answer::classify(&rule.when);
        if out[qi].answer != when {
            continue;
        }
        let said = out[qi].value.clone().unwrap_or_else(|| when.word().to_string());
        for (i, question) in q.questions.iter().enumerate() {
            let in_section =
                question.section.as_deref() == Some(rule.skips.as_str()) || question.id.starts_with(&rule.skips);
            if i == qi || !in_section {
                continue;
            }
            let value = choice_for(Answer::NotApplicable, &question.choices);
            out[i] = Proposal {
                answer: Answer::NotApplicable,
                value,
                owner: None,
                text: format!("Not applicable: {} was answered {said}.", rule.question),
                sources: vec![Source::Qualifier {
                    question: rule.question.clone(),
                    answer: said.clone(),
                }],
                confidence: out[qi].confidence,
                reason: None,
                topics: out[i].topics.clone(),
            };
        }
    }
}

/// VSAQ conditions: a question whose condition the answers so far make false is not asked.
fn apply_conditions(q: &Questionnaire, out: &mut [Proposal]) {
    for i in 0..q.questions.len() {
        let Some(cond) = &q.questions[i].condition else {
            continue;
        };
        let chosen = |choice: &str| -> Option<bool> {
            let j = q
                .questions
                .iter()
                .position(|x| x.choice_ids.iter().any(|c| c == choice))?;
            if out[j].answer == Answer::NotApplicable
                && matches!(out[j].sources.first(), Some(Source::Qualifier { .. }))
            {
                return Some(false);
            }
            let value = out[j].value.as_ref()?;
            let k = q.questions[j].choices.iter().position(|c| c == value)?;
            Some(q.questions[j].choice_ids.get(k).map(String::as_str) == Some(choice))
        };
        if vsaq::evaluate(cond, &chosen) == Some(false) {
            out[i] = Proposal {
                answer: Answer::NotApplicable,
                value: None,
                owner: None,
                text: format!("Not asked: its condition ({cond}) does not hold for our answers."),
                sources: vec![Source::Qualifier {
                    question: cond.clone(),
                    answer: "false".into(),
                }],
                confidence: Confidence::of(0.8),
                reason: None,
                topics: out[i].topics.clone(),
            };
        }
    }
}
