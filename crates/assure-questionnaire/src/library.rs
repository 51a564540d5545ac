//! The answer library: answers the company gave before and answers approved in review, each with
//! its owner, approval date and expiry. Kept in the project as TOML (`[[answer]]` tables) so it is
//! reviewed and versioned like every other definition.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::answer::Answer;
use crate::detect::Questionnaire;
use crate::{QError, retrieve};

/// One library answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibraryEntry {
    /// A stable id (from the question's words).
    pub id: String,
    /// The question's identifier where it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question_id: Option<String>,
    /// The question.
    pub question: String,
    /// The answer as given (`Yes`, `No`, `N/A`, a choice, or free text).
    pub answer: String,
    /// The explanation.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Who operates the control, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownership: Option<String>,
    /// Who owns the answer (email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// When it was approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_on: Option<NaiveDate>,
    /// When it must be reviewed again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<NaiveDate>,
    /// Where it came from (`file, sheet!cell`).
    #[serde(default)]
    pub source: String,
    /// The controls it rests on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<String>,
}

impl LibraryEntry {
    /// The entry's answer class.
    pub fn class(&self) -> Answer {
        Answer::classify(&self.answer)
    }

    /// Whether it may be used on a date: approved and not expired.
    pub fn usable(&self, on: NaiveDate) -> bool {
        self.approved_on.is_some_and(|d| d <= on) && self.expires_on.is_none_or(|e| e >= on)
    }
}

/// The library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Library {
    /// The answers.
    #[serde(default, rename = "answer")]
    pub entries: Vec<LibraryEntry>,
}

/// Two entries that say the same or contradict each other.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pair {
    /// `duplicate` (same question, same answer) or `conflict` (same question, different answers).
    pub kind: &'static str,
    /// The first entry's id.
    pub a: String,
    /// The second entry's id.
    pub b: String,
    /// How alike the questions are.
    pub similarity: f64,
}

/// A question's stable id: the first 12 hex digits of the BLAKE3 of its stemmed words.
pub fn entry_id(question: &str) -> String {
    let words = retrieve::stems(question).join(" ");
    blake3::hash(words.as_bytes()).to_hex()[..12].to_string()
}

impl Library {
    /// Parses a library file.
    pub fn parse(file: &str, text: &str) -> Result<Library, QError> {
        toml::from_str(text).map_err(|e| crate::error::toml_error(file, text, &e, "each [[answer]] needs id, question and answer; optional: question_id, text, ownership, owner, approved_on, expires_on (YYYY-MM-DD), source, controls"))
    }

    /// The library as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Adds the answered questions of a completed questionnaire, approved by `owner` on `on` until
    /// `expires`. An entry for the same question from the same file and cell is replaced; returns
    /// (added, replaced, skipped as unanswered).
    pub fn add_completed(
        &mut self,
        q: &Questionnaire,
        owner: Option<&str>,
        on: NaiveDate,
        expires: Option<NaiveDate>,
    ) -> (usize, usize, usize) {
        let (mut added, mut replaced, mut skipped) = (0, 0, 0);
        for question in &q.questions {
            let Some(answer) = question.existing.clone() else {
                skipped += 1;
                continue;
            };
            let entry = LibraryEntry {
                id: entry_id(&question.text),
                question_id: Some(question.id.clone()),
                question: question.text.clone(),
                answer,
                text: question.existing_comment.clone().unwrap_or_default(),
                ownership: question.existing_owner.clone(),
                owner: owner.map(str::to_string),
                approved_on: Some(on),
                expires_on: expires,
                source: format!(
                    "{}, {}!{}",
                    q.file,
                    question.cell.sheet,
                    question.answer_cell.as_ref().map(|c| c.a1()).unwrap_or_default()
                ),
                controls: Vec::new(),
            };
            match self
                .entries
                .iter_mut()
                .find(|e| e.id == entry.id && e.source == entry.source)
            {
                Some(e) => {
                    *e = entry;
                    replaced += 1;
                }
                None => {
                    self.entries.push(entry);
                    added += 1;
                }
            }
        }
        (added, replaced, skipped)
    }

    /// Duplicates and conflicts: pairs of entries whose questions are alike (similarity ≥ 0.9).
    pub fn cleanup(&self) -> Vec<Pair> {
        let stems: Vec<std::collections::BTreeSet<String>> = self
            .entries
            .iter()
            .map(|e| retrieve::stems(&e.question).into_iter().collect())
            .collect();
        let mut out = Vec::new();
        for i in 0..self.entries.len() {
            for j in i + 1..self.entries.len() {
                let (a, b) = (&stems[i], &stems[j]);
                if a.is_empty() || b.is_empty() {
                    continue;
                }
                let sim = 2.0 * a.intersection(b).count() as f64 / (a.len() + b.len()) as f64;
                if sim >= 0.9 {
                    let same = self.entries[i].class() == self.entries[j].class();
                    out.push(Pair {
                        kind: if same { "duplicate" } else { "conflict" },
                        a: self.entries[i].id.clone(),
                        b: self.entries[j].id.clone(),
                        similarity: (sim * 100.0).round() / 100.0,
                    });
                }
            }
        }
        out
    }
}
