//! Finding the questions and their answer cells: a header row named in the sheet's own words
//! (question, answer or response, id, comments, ownership), or, without one, the column of
//! question-shaped text and the list-validated or empty column beside it. A mapping file
//! overrides what is detected per sheet, and can be saved and reused for a template.

use serde::{Deserialize, Serialize};

use crate::grid::{CellRef, Grid, col_index, col_name};
use crate::{Format, QError, vsaq};

/// Where the questions are on one sheet; columns are letters, rows 1-based as Excel shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SheetMapping {
    /// The sheet's (or table's) name.
    pub name: String,
    /// The header row, if the sheet has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_row: Option<u32>,
    /// The first question row (default: the row after the header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_row: Option<u32>,
    /// The last question row (default: the sheet's last row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_row: Option<u32>,
    /// The column of question identifiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The column of section names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// The column of question texts.
    pub question: String,
    /// The column of answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// The column of comments or explanations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The column saying who operates the control.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// A qualifier: when `question` is answered `when`, the questions of section `skips` (its name,
/// or a prefix of its questions' ids) are not asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualifierRule {
    /// The qualifying question's id.
    pub question: String,
    /// The answer that switches the section off (`no` by default).
    #[serde(default = "no")]
    pub when: String,
    /// The section name, or a prefix of the ids, it switches off.
    pub skips: String,
}

fn no() -> String {
    "no".into()
}

/// A questionnaire template's mapping: sheets and qualifiers. Saved as TOML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Sheets with questions (sheets not listed are not asked).
    #[serde(default)]
    pub sheet: Vec<SheetMapping>,
    /// Qualifier questions.
    #[serde(default)]
    pub qualifier: Vec<QualifierRule>,
}

impl Mapping {
    /// Parses a mapping file.
    pub fn parse(file: &str, text: &str) -> Result<Mapping, QError> {
        let m: Mapping = toml::from_str(text).map_err(|e| crate::error::toml_error(file, text, &e, "a mapping has [[sheet]] tables (name, question, answer, and optionally header_row, first_row, last_row, id, section, comment, owner) and [[qualifier]] tables (question, when, skips)"))?;
        for s in &m.sheet {
            for (field, col) in [
                ("question", Some(&s.question)),
                ("answer", s.answer.as_ref()),
                ("id", s.id.as_ref()),
                ("comment", s.comment.as_ref()),
                ("owner", s.owner.as_ref()),
                ("section", s.section.as_ref()),
            ] {
                if let Some(c) = col
                    && col_index(c).is_none()
                {
                    return Err(QError::new(
                        file,
                        &format!("sheet {:?}: {field} = {c:?} is not a column letter", s.name),
                        "columns are written as letters, as Excel shows them: \"C\", \"AB\"",
                    ));
                }
            }
        }
        Ok(m)
    }

    /// The mapping as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

/// One question found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Question {
    /// Its identifier as written in the sheet, or the question cell's address.
    pub id: String,
    /// The question.
    pub text: String,
    /// The section it is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// The cell holding the question.
    pub cell: CellRef,
    /// The cell the answer goes in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_cell: Option<CellRef>,
    /// The cell the explanation goes in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment_cell: Option<CellRef>,
    /// The cell saying who operates the control.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_cell: Option<CellRef>,
    /// The answers the answer cell allows (its validation list), in order.
    pub choices: Vec<String>,
    /// The values the ownership cell allows.
    pub owner_choices: Vec<String>,
    /// The choices' own ids (VSAQ), in the same order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choice_ids: Vec<String>,
    /// What the answer cell already holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing: Option<String>,
    /// What the comment cell already holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_comment: Option<String>,
    /// What the ownership cell already holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_owner: Option<String>,
    /// The condition the question is asked under (VSAQ).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// A sheet as found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SheetSummary {
    /// Name.
    pub name: String,
    /// Hidden in the workbook.
    pub hidden: bool,
    /// Questions found on it.
    pub questions: usize,
    /// List validations on it.
    pub validations: usize,
    /// How the questions were found: `mapping`, `header`, `layout`, or `none`.
    pub found_by: &'static str,
}

/// A questionnaire as found.
#[derive(Debug, Clone, Serialize)]
pub struct Questionnaire {
    /// The file's name.
    pub file: String,
    /// Its format.
    pub format: Format,
    /// The questions, in sheet and row order.
    pub questions: Vec<Question>,
    /// The sheets.
    pub sheets: Vec<SheetSummary>,
    /// The mapping used (given, or detected: save it to reuse or correct it).
    pub mapping: Mapping,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Id,
    Section,
    Question,
    Answer,
    Comment,
    Owner,
}

fn norm(s: &str) -> String {
    s.to_lowercase().split_whitespace().collect::<Vec<_>>().join(" ")
}

fn role(header: &str) -> Option<Role> {
    let h = norm(header);
    let h = h.trim_matches(|c: char| !c.is_alphanumeric() && c != '#');
    if h.is_empty() || h.len() > 80 {
        return None;
    }
    let has = |w: &str| h.contains(w);
    if matches!(
        h,
        "id" | "#" | "no" | "no." | "number" | "ref" | "reference" | "item" | "item #" | "q#" | "qid"
    ) || h.ends_with(" id")
        || h.ends_with(" #")
        || h.ends_with(" number")
        || h.ends_with(" ref")
    {
        return Some(Role::Id);
    }
    if has("ownership") || has("owned by") || h == "owner" || h == "responsibility" || h == "responsible party" {
        return Some(Role::Owner);
    }
    if [
        "comment",
        "note",
        "explanation",
        "explain",
        "justification",
        "additional",
        "detail",
        "description",
        "evidence",
        "remark",
        "supporting",
        "elaborat",
    ]
    .iter()
    .any(|w| has(w))
    {
        return Some(Role::Comment);
    }
    if has("answer")
        || has("response")
        || has("yes/no")
        || has("y/n")
        || matches!(h, "compliant" | "status" | "reply" | "compliance")
    {
        return Some(Role::Answer);
    }
    if has("question")
        || matches!(
            h,
            "requirement" | "control requirement" | "query" | "control" | "criteria" | "inquiry"
        )
    {
        return Some(Role::Question);
    }
    if matches!(
        h,
        "section" | "domain" | "category" | "area" | "control domain" | "topic"
    ) {
        return Some(Role::Section);
    }
    None
}

#[derive(Debug, Clone, Default)]
struct Layout {
    header: Option<u32>,
    first: u32,
    last: u32,
    id: Option<u32>,
    section: Option<u32>,
    question: u32,
    answer: Option<u32>,
    comment: Option<u32>,
    owner: Option<u32>,
}

/// Finds the questions of every grid.
pub fn detect(file: &str, format: Format, grids: &[Grid], given: Option<&Mapping>) -> Result<Questionnaire, QError> {
    let mut questions = Vec::new();
    let mut sheets = Vec::new();
    let mut used = Mapping {
        sheet: Vec::new(),
        qualifier: given.map(|m| m.qualifier.clone()).unwrap_or_default(),
    };
    if let Some(m) = given {
        for s in &m.sheet {
            if !grids.iter().any(|g| g.name == s.name) {
                return Err(QError::new(
                    file,
                    &format!("the mapping names sheet {:?}, which the file does not have", s.name),
                    &format!(
                        "the file's sheets are: {}",
                        grids
                            .iter()
                            .map(|g| format!("{:?}", g.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
    }
    for grid in grids {
        let (layout, found_by) = match given {
            Some(m) => match m.sheet.iter().find(|s| s.name == grid.name) {
                Some(s) => (Some(from_mapping(s, grid)), "mapping"),
                None => (None, "none"),
            },
            None => match header_layout(grid) {
                Some(l) => (Some(l), "header"),
                None => match layout_by_shape(grid) {
                    Some(l) => (Some(l), "layout"),
                    None => (None, "none"),
                },
            },
        };
        let mut found = Vec::new();
        if let Some(l) = &layout {
            found = questions_of(grid, l);
            if !found.is_empty() || found_by == "mapping" {
                used.sheet.push(to_mapping(grid, l));
            }
        }
        sheets.push(SheetSummary {
            name: grid.name.clone(),
            hidden: grid.hidden,
            questions: found.len(),
            validations: grid.validations.len(),
            found_by: if found.is_empty() && found_by != "mapping" {
                "none"
            } else {
                found_by
            },
        });
        questions.extend(found);
    }
    if questions.is_empty() {
        return Err(QError::new(
            file,
            "no questions were found: no sheet has a header row naming a question and an answer column, nor a column of questions",
            "write a mapping file naming the sheet and its question and answer columns (assure questionnaire answer --mapping FILE); `assure questionnaire map FILE` prints a starting point",
        ));
    }
    if given.is_none() {
        used.qualifier = qualifiers(&questions);
    }
    Ok(Questionnaire {
        file: file.to_string(),
        format,
        questions,
        sheets,
        mapping: used,
    })
}

fn letter(c: &Option<String>) -> Option<u32> {
    c.as_deref().and_then(col_index)
}

fn from_mapping(s: &SheetMapping, grid: &Grid) -> Layout {
    let last_row = grid.cells.keys().last().map(|k| k.0).unwrap_or(0);
    let header = s.header_row.map(|r| r.saturating_sub(1));
    Layout {
        header,
        first: s
            .first_row
            .map(|r| r.saturating_sub(1))
            .unwrap_or_else(|| header.map(|h| h + 1).unwrap_or(0)),
        last: s.last_row.map(|r| r.saturating_sub(1)).unwrap_or(last_row),
        id: letter(&s.id),
        section: letter(&s.section),
        question: col_index(&s.question).unwrap_or(0),
        answer: letter(&s.answer),
        comment: letter(&s.comment),
        owner: letter(&s.owner),
    }
}

fn to_mapping(grid: &Grid, l: &Layout) -> SheetMapping {
    SheetMapping {
        name: grid.name.clone(),
        header_row: l.header.map(|h| h + 1),
        first_row: Some(l.first + 1),
        last_row: None,
        id: l.id.map(col_name),
        section: l.section.map(col_name),
        question: col_name(l.question),
        answer: l.answer.map(col_name),
        comment: l.comment.map(col_name),
        owner: l.owner.map(col_name),
    }
}

fn header_layout(grid: &Grid) -> Option<Layout> {
    let last_row = grid.cells.keys().last().map(|k| k.0)?;
    let mut best: Option<(u32, Layout)> = None;
    for row in grid.rows().into_iter().take(60) {
        let mut l = Layout {
            header: Some(row),
            first: row + 1,
            last: last_row,
            ..Layout::default()
        };
        let mut have_question = false;
        let mut score = 0;
        let mut cols: Vec<u32> = grid.row(row).map(|(c, _)| c).collect();
        cols.extend(
            grid.merged
                .iter()
                .filter(|m| m.r1 <= row && m.r2 >= row && m.r1 != row)
                .map(|m| m.c1),
        );
        cols.sort_unstable();
        cols.dedup();
        for col in cols {
            let Some(r) = role(grid.value(row, col)) else { continue };
            let slot = match r {
                Role::Id => &mut l.id,
                Role::Section => &mut l.section,
                Role::Answer => &mut l.answer,
                Role::Comment => &mut l.comment,
                Role::Owner => &mut l.owner,
                Role::Question => {
                    if !have_question {
                        l.question = col;
                        have_question = true;
                        score += 3;
                    }
                    continue;
                }
            };
            if slot.is_none() {
                *slot = Some(col);
                score += if r == Role::Answer { 2 } else { 1 };
            }
        }
        if !have_question {
            continue;
        }
        if l.answer.is_none() {
            // The column right of the questions that carries a list validation under the header.
            l.answer = (l.question + 1..=l.question + 4).find(|c| grid.validation(row + 1, *c).is_some());
            if l.answer.is_some() {
                score += 1;
            }
        }
        if l.answer.is_none() {
            continue;
        }
        // A header row is followed by questions.
        let questions = grid
            .rows()
            .into_iter()
            .filter(|r| *r > row)
            .take(50)
            .filter(|r| looks_like_question(grid.own(*r, l.question)))
            .count();
        if questions == 0 {
            continue;
        }
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, l));
        }
    }
    best.map(|(_, l)| l)
}

fn looks_like_question(s: &str) -> bool {
    let s = s.trim();
    s.chars().filter(|c| c.is_alphabetic()).count() >= 8 && s.contains(' ')
}

fn layout_by_shape(grid: &Grid) -> Option<Layout> {
    let last_row = grid.cells.keys().last().map(|k| k.0)?;
    let mut per_col: std::collections::BTreeMap<u32, usize> = Default::default();
    for ((_, col), cell) in &grid.cells {
        if cell.value.trim_end().ends_with('?') && looks_like_question(&cell.value) {
            *per_col.entry(*col).or_default() += 1;
        }
    }
    let (&question, &n) = per_col.iter().max_by_key(|(c, n)| (**n, std::cmp::Reverse(**c)))?;
    if n < 3 {
        return None;
    }
    let q_rows: Vec<u32> = grid.cells.keys().filter(|k| k.1 == question).map(|k| k.0).collect();
    let first = *q_rows.first()?;
    let validated = (question + 1..=question + 4).find(|c| q_rows.iter().any(|r| grid.validation(*r, *c).is_some()));
    let answer = validated.or_else(|| {
        (question + 1..=question + 4).find(|c| {
            let empty = q_rows.iter().filter(|r| grid.own(**r, *c).trim().is_empty()).count();
            empty * 2 >= q_rows.len()
        })
    });
    let id = question.checked_sub(1).filter(|c| {
        let ids = q_rows.iter().filter(|r| is_id_like(grid.own(**r, *c))).count();
        ids * 2 >= q_rows.len()
    });
    Some(Layout {
        header: None,
        first,
        last: last_row,
        id,
        question,
        answer,
        ..Layout::default()
    })
}

fn is_id_like(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty() && s.len() <= 24 && !s.contains(' ') && s.chars().any(|c| c.is_ascii_digit())
}

/// A leading identifier written into the question text (`A&A-01.1 Are ...`, `3.2. Do ...`).
fn leading_id(text: &str) -> Option<(String, String)> {
    let (first, rest) = text.trim().split_once(char::is_whitespace)?;
    let first = first.trim_end_matches([':', ')']);
    let ok = first.len() <= 16
        && first.chars().any(|c| c.is_ascii_digit())
        && first.chars().all(|c| c.is_ascii_alphanumeric() || "&.-_".contains(c))
        && rest.chars().filter(|c| c.is_alphabetic()).count() >= 8;
    ok.then(|| (first.trim_end_matches('.').to_string(), rest.trim().to_string()))
}

fn questions_of(grid: &Grid, l: &Layout) -> Vec<Question> {
    let cell = |row: u32, col: u32| CellRef {
        sheet: grid.name.clone(),
        row,
        col,
    };
    let mut out = Vec::new();
    let mut section: Option<String> = None;
    for row in grid.rows() {
        if row < l.first || row > l.last {
            continue;
        }
        let text = grid.value(row, l.question).trim().to_string();
        if let Some(sc) = l.section {
            let s = grid.value(row, sc).trim();
            if !s.is_empty() {
                section = Some(s.to_string());
            }
        }
        if text.is_empty() {
            // A heading in the id column alone (a merged banner across the row).
            if let Some(idc) = l.id {
                let t = grid.value(row, idc).trim();
                if !t.is_empty() && !is_id_like(t) && grid.row(row).count() == 1 {
                    section = Some(t.to_string());
                }
            }
            continue;
        }
        let answer = l.answer.map(|c| cell(row, c));
        let validated = answer.as_ref().and_then(|a| grid.validation(a.row, a.col));
        let own_id =
            l.id.map(|c| grid.value(row, c).trim().to_string())
                .filter(|s| !s.is_empty());
        let spans_answer = grid
            .merge_of(row, l.question)
            .is_some_and(|m| l.answer.is_some_and(|a| m.c2 >= a));
        let is_heading = spans_answer
            || (!text.ends_with('?') && !looks_like_question(&text) && own_id.is_none() && l.section.is_none());
        let cells_in_row = grid.row(row).count();
        if is_heading
            || (!text.ends_with('?')
                && cells_in_row == 1
                && own_id.is_none()
                && text.len() < 100
                && answer.as_ref().is_none_or(|a| grid.own(a.row, a.col).is_empty())
                && validated.is_none_or(|v| v.ranges.iter().any(|r| r.cells() > 1e6)))
        {
            if l.section.is_none() {
                section = Some(text);
            }
            continue;
        }
        let (id, text) = match own_id {
            Some(id) => (id, text),
            None => match leading_id(&text) {
                Some((id, rest)) => (id, rest),
                None => (cell(row, l.question).a1(), text),
            },
        };
        let value = |c: Option<u32>| c.map(|c| grid.own(row, c).trim().to_string()).filter(|s| !s.is_empty());
        let owner_choices = l
            .owner
            .and_then(|c| grid.validation(row, c))
            .map(|v| v.choices.clone())
            .unwrap_or_default();
        let choice_ids = if grid.part.is_empty()
            && grid
                .cells
                .get(&(0, vsaq::CHOICE_IDS))
                .is_some_and(|c| c.value == "Choice ids")
        {
            grid.own(row, vsaq::CHOICE_IDS).lines().map(str::to_string).collect()
        } else {
            Vec::new()
        };
        out.push(Question {
            id,
            text,
            section: section.clone(),
            cell: cell(row, l.question),
            answer_cell: answer,
            comment_cell: l.comment.map(|c| cell(row, c)),
            owner_cell: l.owner.map(|c| cell(row, c)),
            choices: validated.map(|v| v.choices.clone()).unwrap_or_default(),
            owner_choices,
            choice_ids,
            existing: value(l.answer),
            existing_comment: value(l.comment),
            existing_owner: value(l.owner),
            condition: grid.conditions.get(&row).cloned(),
        });
    }
    out
}

const STOP: &[&str] = &[
    "the",
    "and",
    "your",
    "you",
    "does",
    "this",
    "that",
    "with",
    "for",
    "are",
    "any",
    "have",
    "has",
    "will",
    "from",
    "data",
    "information",
    "service",
    "services",
    "product",
    "company",
    "organization",
    "section",
    "questions",
    "skip",
    "following",
    "applicable",
    "answer",
    "not",
    "use",
    "used",
    "process",
    "store",
    "transmit",
    "collect",
];

fn tokens(s: &str) -> Vec<String> {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3 && !STOP.contains(w))
        .map(str::to_string)
        .collect()
}

/// Qualifier questions: those in a qualifying section, or whose text says to skip a section when
/// answered no, switch off the later section that shares a distinctive word with them.
fn qualifiers(questions: &[Question]) -> Vec<QualifierRule> {
    let mut sections: Vec<String> = Vec::new();
    for q in questions {
        if let Some(s) = &q.section
            && !sections.contains(s)
        {
            sections.push(s.clone());
        }
    }
    let mut out = Vec::new();
    for (i, q) in questions.iter().enumerate() {
        let lower = q.text.to_lowercase();
        let in_qualifying = q.section.as_deref().is_some_and(|s| {
            let s = s.to_lowercase();
            s.contains("qualif") || s.contains("applicab") || s.contains("scoping")
        });
        let says_skip = lower.contains("if no, skip")
            || lower.contains("if not, skip")
            || lower.contains("if no, please skip")
            || lower.contains("if no, proceed");
        if !in_qualifying && !says_skip {
            continue;
        }
        let words = tokens(&q.text);
        let later: Vec<&String> = questions[i + 1..]
            .iter()
            .filter_map(|x| x.section.as_ref())
            .filter(|s| Some(*s) != q.section.as_ref())
            .collect();
        let target = later.iter().find(|s| {
            let sw = tokens(s);
            sw.iter().any(|w| words.contains(w))
        });
        if let Some(t) = target
            && !out.iter().any(|r: &QualifierRule| &r.skips == *t)
        {
            out.push(QualifierRule {
                question: q.id.clone(),
                when: "no".into(),
                skips: (*t).clone(),
            });
        }
    }
    out
}
