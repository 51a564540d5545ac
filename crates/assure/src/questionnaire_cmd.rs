//! `assure questionnaire`: answer a customer's security questionnaire from the project's state and
//! the answer library, write the answers into the customer's own file, keep the answers for
//! review, and manage the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use assure_questionnaire::detect::Mapping;
use assure_questionnaire::{Answer, Library};
use assure_workspace::Workspace;
use assure_workspace::questionnaire::{Answered, Review, Status, filled};
use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};

use crate::error::CliError;
use crate::{parse_date, print, today, write_atomically};

#[derive(Debug, Subcommand)]
pub enum QuestionnaireCommand {
    /// Answer a questionnaire (XLSX, CSV, DOCX tables, VSAQ JSON) and write the answers into a copy of it
    Answer(AnswerArgs),
    /// Show how a questionnaire's questions are found: sheets, columns, qualifiers (a mapping to save and edit)
    Map {
        /// The customer's file
        file: PathBuf,
        /// Start from this mapping instead of detecting
        #[arg(long)]
        mapping: Option<PathBuf>,
    },
    /// The answer library
    Library {
        #[command(subcommand)]
        command: LibraryCommand,
    },
    /// List answered questionnaires with their progress
    List {
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// Show one answered questionnaire, question by question
    Show {
        /// Its id (or a unique prefix)
        id: String,
        /// Print machine-readable JSON (one object per question)
        #[arg(long)]
        json: bool,
    },
    /// Change one answer: its value, narrative, assignee, or add a comment
    Edit {
        /// The questionnaire's id
        id: String,
        /// The question's id
        question: String,
        /// The new answer (one of the cell's choices when it has a list)
        #[arg(long)]
        answer: Option<String>,
        /// The new narrative
        #[arg(long)]
        text: Option<String>,
        /// Assign it to a person (email)
        #[arg(long)]
        assign: Option<String>,
        /// Add a comment
        #[arg(long)]
        comment: Option<String>,
        /// Who is doing this (email)
        #[arg(long)]
        by: String,
    },
    /// Approve answers (every answered question when none is named); approved answers join the library
    Approve {
        /// The questionnaire's id
        id: String,
        /// Question ids to approve
        questions: Vec<String>,
        /// Who approves (email)
        #[arg(long)]
        by: String,
        /// Days until the library answer must be reviewed again
        #[arg(long, default_value_t = 365)]
        expires_days: i64,
    },
    /// Write the answers into the customer's file (or CSV, or JSON)
    Export {
        /// The questionnaire's id
        id: String,
        /// Where to write
        #[arg(long, short)]
        output: PathBuf,
        /// The output's form
        #[arg(long, value_enum, default_value_t = ExportFormat::Original)]
        format: ExportFormat,
        /// Write approved answers only
        #[arg(long)]
        approved_only: bool,
    },
    /// Approved answers whose controls now fail or lack fresh evidence
    Recheck {
        /// As of this date (defaults to today)
        #[arg(long, value_parser = parse_date)]
        as_of: Option<NaiveDate>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// The customer's own file, answer cells filled
    Original,
    /// One row per question
    Csv,
    /// One object per question
    Json,
}

#[derive(Debug, Args)]
pub struct AnswerArgs {
    /// The customer's questionnaire
    pub file: PathBuf,
    /// Completed questionnaires or library files to use besides the project's library
    #[arg(long)]
    pub library: Vec<PathBuf>,
    /// A mapping file naming the sheets and columns (see `assure questionnaire map`)
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Write the filled-in copy here
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Print one JSON object per question
    #[arg(long)]
    pub json: bool,
    /// Ground the answers as of this date (defaults to today)
    #[arg(long, value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    /// Also match the library by meaning with the sentence-embedding model in this directory
    /// (config.json, tokenizer.json, model.safetensors; builds with the `semantic` feature)
    #[arg(long)]
    pub model: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum LibraryCommand {
    /// Add a completed questionnaire's answers to the library (approved by --owner, for --expires-days)
    Add {
        /// The completed questionnaire (XLSX, CSV, DOCX) or a library file (.toml)
        file: PathBuf,
        /// Who owns these answers (email)
        #[arg(long)]
        owner: Option<String>,
        /// Days until the answers must be reviewed again
        #[arg(long, default_value_t = 365)]
        expires_days: i64,
        /// A mapping file for the questionnaire
        #[arg(long)]
        mapping: Option<PathBuf>,
    },
    /// List the library's answers
    List {
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// Duplicates and conflicting answers to clean up
    Check,
}

/// The sentence-embedding model, when one is named and this build can run it.
#[cfg(feature = "semantic")]
fn embedder(dir: Option<&Path>) -> Result<Option<Box<dyn assure_questionnaire::Embedder>>, CliError> {
    match dir {
        None => Ok(None),
        Some(d) => Ok(Some(Box::new(assure_embed::MiniLm::load(d).map_err(q)?))),
    }
}

/// The sentence-embedding model, when one is named and this build can run it.
#[cfg(not(feature = "semantic"))]
fn embedder(dir: Option<&Path>) -> Result<Option<Box<dyn assure_questionnaire::Embedder>>, CliError> {
    match dir {
        None => Ok(None),
        Some(d) => Err(CliError::problems(format!(
            "--model {}: this build of assure cannot run a sentence-embedding model",
            d.display()
        ))
        .with_hint(
            "build it with `cargo build --release --features semantic`, or leave out --model (matching stays lexical)",
        )),
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(CliError::io("read", path))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn mapping(path: Option<&PathBuf>) -> Result<Option<Mapping>, CliError> {
    match path {
        None => Ok(None),
        Some(p) => {
            let text = String::from_utf8_lossy(&read_file(p)?).into_owned();
            Ok(Some(Mapping::parse(&p.display().to_string(), &text).map_err(q)?))
        }
    }
}

fn q(e: assure_questionnaire::QError) -> CliError {
    CliError::problems(format!("{}: {}", e.place, e.what)).with_hint(e.hint)
}

/// A library from a file: a library TOML, or a completed questionnaire.
fn library_from(
    path: &Path,
    owner: Option<&str>,
    on: NaiveDate,
    expires_days: i64,
    map: Option<&Mapping>,
) -> Result<(Library, usize), CliError> {
    let bytes = read_file(path)?;
    let name = file_name(path);
    if name.to_ascii_lowercase().ends_with(".toml") {
        let lib = Library::parse(&path.display().to_string(), &String::from_utf8_lossy(&bytes)).map_err(q)?;
        return Ok((lib, 0));
    }
    let (format, grids) = assure_questionnaire::read(&name, &bytes).map_err(q)?;
    let qn = assure_questionnaire::detect::detect(&name, format, &grids, map).map_err(q)?;
    let mut lib = Library::default();
    let (_, _, skipped) = lib.add_completed(
        &qn,
        owner,
        on,
        on.checked_add_signed(chrono::Duration::days(expires_days)),
    );
    Ok((lib, skipped))
}

/// The answer as a person reads it: the cell's value, or "needs review".
fn shown(i: &assure_workspace::questionnaire::Item) -> String {
    match i.answer {
        Answer::NeedsReview => "needs review".to_string(),
        _ => i.value.clone().unwrap_or_else(|| i.answer.word().to_string()),
    }
}

fn item_json(a: &Answered) -> Vec<serde_json::Value> {
    a.items
        .iter()
        .map(|i| {
            serde_json::json!({
                "id": i.id,
                "question": i.question,
                "answer": shown(i),
                "class": i.answer,
                "owner": i.owner,
                "text": i.text,
                "sources": i.sources,
                "confidence": i.confidence,
                "level": i.level,
                "reason": i.reason,
                "status": i.status,
                "sheet": i.sheet,
                "cell": i.cell,
                "section": i.section,
            })
        })
        .collect()
}

fn lines(a: &Answered) -> String {
    let mut out = String::new();
    for i in &a.items {
        let ans = shown(i);
        let why = match (&i.reason, i.sources.as_array().and_then(|s| s.first())) {
            (Some(r), _) => r.clone(),
            (None, Some(s)) => source_label(s),
            (None, None) => String::new(),
        };
        out.push_str(&format!(
            "{:<24} {:<14} {:<8} {}{}\n",
            clip(&i.id, 24),
            clip(&ans, 14),
            i.level,
            why,
            if i.status == Status::Approved {
                "  [approved]"
            } else {
                ""
            }
        ));
    }
    out
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

fn source_label(s: &serde_json::Value) -> String {
    let kind = s.get("kind").and_then(|v| v.as_str()).unwrap_or("");
    let field = |k: &str| s.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    match kind {
        "library" => format!("library {}", field("entry")),
        "control" => format!("control {} ({})", field("id"), field("state").replace('_', " ")),
        "policy" => format!("policy {}", field("id")),
        "scope" => format!("scope: {}", field("detail")),
        "subservice" => format!("subservice organisation {}", field("name")),
        "qualifier" => format!("switched off by {}", field("question")),
        "reviewer" => format!("answered by {}", field("by")),
        k => k.to_string(),
    }
}

fn summary(a: &Answered) -> String {
    let (n, answered, review, approved) = a.progress();
    let high = a.items.iter().filter(|i| i.level == "high").count();
    format!(
        "{}: {n} questions, {answered} answered ({high} with high confidence), {review} need review, {approved} approved. Grounded as of {}{}{}.\n",
        a.id,
        a.as_of,
        a.period.as_ref().map(|p| format!(" in period {p}")).unwrap_or_default(),
        a.model
            .as_ref()
            .map(|m| format!("; library matched by meaning with {m}"))
            .unwrap_or_default()
    )
}

pub fn run(command: QuestionnaireCommand, dir: PathBuf) -> Result<ExitCode, CliError> {
    let ws = Workspace::new(&dir);
    match command {
        QuestionnaireCommand::Answer(args) => {
            let as_of = args.as_of.unwrap_or_else(today);
            let bytes = read_file(&args.file)?;
            let name = file_name(&args.file);
            let map = mapping(args.mapping.as_ref())?;
            let mut extra = Vec::new();
            for l in &args.library {
                extra.push(library_from(l, None, as_of, 365, None)?.0);
            }
            let embedder = embedder(args.model.as_deref())?;
            let (a, _) = ws.answer_questionnaire(&name, &bytes, map.as_ref(), &extra, as_of, embedder.as_deref())?;
            if let Some(out) = &args.output {
                let original = ws.questionnaire_original(&a)?;
                write_atomically(out, filled(&a, &original, false)?)?;
            }
            if args.json {
                let mut s = String::new();
                for v in item_json(&a) {
                    s.push_str(&serde_json::to_string(&v).unwrap_or_default());
                    s.push('\n');
                }
                print(&s)?;
            } else {
                print(&lines(&a))?;
                print(&summary(&a))?;
                if let Some(out) = &args.output {
                    print(&format!(
                        "Wrote {} (only the answer cells changed; review with `assure questionnaire show {}`).\n",
                        out.display(),
                        a.id
                    ))?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        QuestionnaireCommand::Map { file, mapping: m } => {
            let bytes = read_file(&file)?;
            let name = file_name(&file);
            let (format, grids) = assure_questionnaire::read(&name, &bytes).map_err(q)?;
            let given = mapping(m.as_ref())?;
            let qn = assure_questionnaire::detect::detect(&name, format, &grids, given.as_ref()).map_err(q)?;
            let mut out = format!("# {} ({} questions). Sheets:\n", name, qn.questions.len());
            for s in &qn.sheets {
                out.push_str(&format!(
                    "#   {:?}{}: {} questions ({}), {} list validations\n",
                    s.name,
                    if s.hidden { " (hidden)" } else { "" },
                    s.questions,
                    s.found_by,
                    s.validations
                ));
            }
            out.push_str("# Save this as a mapping file, correct it, and pass it with --mapping.\n\n");
            out.push_str(&qn.mapping.to_toml());
            print(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        QuestionnaireCommand::Library { command } => match command {
            LibraryCommand::Add {
                file,
                owner,
                expires_days,
                mapping: m,
            } => {
                let map = mapping(m.as_ref())?;
                let on = today();
                let (add, skipped) = library_from(&file, owner.as_deref(), on, expires_days, map.as_ref())?;
                let mut lib = ws.library()?;
                let (mut added, mut replaced) = (0, 0);
                for e in add.entries {
                    match lib.entries.iter_mut().find(|x| x.id == e.id && x.source == e.source) {
                        Some(x) => {
                            *x = e;
                            replaced += 1;
                        }
                        None => {
                            lib.entries.push(e);
                            added += 1;
                        }
                    }
                }
                ws.save_library(&lib)?;
                let conflicts = lib.cleanup().iter().filter(|p| p.kind == "conflict").count();
                print(&format!(
                    "Added {added} and replaced {replaced} answers in {} ({} in all){}{}.\n",
                    assure_workspace::questionnaire::LIBRARY,
                    lib.entries.len(),
                    if skipped > 0 {
                        format!("; {skipped} unanswered questions skipped")
                    } else {
                        String::new()
                    },
                    if conflicts > 0 {
                        format!("; {conflicts} conflicting pairs: see `assure questionnaire library check`")
                    } else {
                        String::new()
                    }
                ))?;
                Ok(ExitCode::SUCCESS)
            }
            LibraryCommand::List { json } => {
                let lib = ws.library()?;
                if json {
                    print(&format!(
                        "{}\n",
                        serde_json::to_string_pretty(&lib.entries).unwrap_or_default()
                    ))?;
                } else {
                    let today = today();
                    for e in &lib.entries {
                        print(&format!(
                            "{}  {:<12} {:<10} {}{}\n",
                            e.id,
                            clip(e.question_id.as_deref().unwrap_or("-"), 12),
                            clip(&e.answer, 10),
                            clip(&e.question, 70),
                            if e.usable(today) {
                                ""
                            } else {
                                "  [expired or not approved]"
                            }
                        ))?;
                    }
                    print(&format!("{} answers.\n", lib.entries.len()))?;
                }
                Ok(ExitCode::SUCCESS)
            }
            LibraryCommand::Check => {
                let lib = ws.library()?;
                let pairs = lib.cleanup();
                let today = today();
                let expired: Vec<_> = lib.entries.iter().filter(|e| !e.usable(today)).collect();
                for p in &pairs {
                    let a = lib.entries.iter().find(|e| e.id == p.a);
                    let b = lib.entries.iter().find(|e| e.id == p.b);
                    print(&format!(
                        "{}: {} ({}) and {} ({}), questions {:.0}% alike\n",
                        p.kind,
                        p.a,
                        a.map(|e| e.answer.as_str()).unwrap_or(""),
                        p.b,
                        b.map(|e| e.answer.as_str()).unwrap_or(""),
                        p.similarity * 100.0
                    ))?;
                }
                for e in &expired {
                    print(&format!(
                        "expired or not approved: {} ({})\n",
                        e.id,
                        e.expires_on
                            .map(|d| d.to_string())
                            .unwrap_or_else(|| "no approval".into())
                    ))?;
                }
                let conflicts = pairs.iter().filter(|p| p.kind == "conflict").count();
                print(&format!(
                    "{} duplicates, {conflicts} conflicts, {} expired, in {} answers.\n",
                    pairs.len() - conflicts,
                    expired.len(),
                    lib.entries.len()
                ))?;
                Ok(if conflicts > 0 {
                    ExitCode::from(1)
                } else {
                    ExitCode::SUCCESS
                })
            }
        },
        QuestionnaireCommand::List { json } => {
            let all = ws.questionnaires()?;
            if json {
                let v: Vec<_> = all
                    .iter()
                    .map(|a| {
                        let (n, answered, review, approved) = a.progress();
                        serde_json::json!({"id": a.id, "file": a.file, "as_of": a.as_of, "questions": n, "answered": answered, "needs_review": review, "approved": approved, "created_at": a.created_at})
                    })
                    .collect();
                print(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()))?;
            } else if all.is_empty() {
                print("No questionnaires yet: `assure questionnaire answer FILE -o OUT`.\n")?;
            } else {
                for a in &all {
                    let (n, answered, review, approved) = a.progress();
                    print(&format!(
                        "{}  {}  {n} questions, {answered} answered, {review} need review, {approved} approved\n",
                        a.id, a.file
                    ))?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        QuestionnaireCommand::Show { id, json } => {
            let a = ws.questionnaire(&id)?;
            if json {
                let mut s = String::new();
                for v in item_json(&a) {
                    s.push_str(&serde_json::to_string(&v).unwrap_or_default());
                    s.push('\n');
                }
                print(&s)?;
            } else {
                print(&format!("{} ({})\n", a.file, a.id))?;
                print(&lines(&a))?;
                print(&summary(&a))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        QuestionnaireCommand::Edit {
            id,
            question,
            answer,
            text,
            assign,
            comment,
            by,
        } => {
            let a = ws.questionnaire(&id)?;
            let Some(index) = a.items.iter().position(|i| i.id == question) else {
                return Err(CliError::problems(format!("{} has no question {question:?}", a.id))
                    .with_hint("`assure questionnaire show ID` lists the question ids"));
            };
            let review = Review {
                answer,
                text,
                assign,
                comment,
                approve: false,
            };
            ws.review_answer(&a.id, index, &review, &by)?;
            print(&format!("Saved question {question} of {}.\n", a.id))?;
            Ok(ExitCode::SUCCESS)
        }
        QuestionnaireCommand::Approve {
            id,
            questions,
            by,
            expires_days,
        } => {
            let mut a = ws.questionnaire(&id)?;
            let n = ws.approve_answers(&mut a, &questions, &by, expires_days)?;
            print(&format!(
                "Approved {n} answers of {}; they are in {} now.\n",
                a.id,
                assure_workspace::questionnaire::LIBRARY
            ))?;
            print(&summary(&a))?;
            Ok(ExitCode::SUCCESS)
        }
        QuestionnaireCommand::Export {
            id,
            output,
            format,
            approved_only,
        } => {
            let a = ws.questionnaire(&id)?;
            let bytes = match format {
                ExportFormat::Original => {
                    let original = ws.questionnaire_original(&a)?;
                    filled(&a, &original, approved_only)?
                }
                ExportFormat::Json => {
                    let mut s = serde_json::to_string_pretty(&item_json(&a)).unwrap_or_default();
                    s.push('\n');
                    s.into_bytes()
                }
                ExportFormat::Csv => {
                    let mut w = csv_writer();
                    let _ = w.write_record([
                        "id",
                        "section",
                        "question",
                        "answer",
                        "owner",
                        "text",
                        "confidence",
                        "status",
                        "sheet",
                        "cell",
                        "reason",
                    ]);
                    for i in a
                        .items
                        .iter()
                        .filter(|i| !approved_only || i.status == Status::Approved)
                    {
                        let ans = shown(i);
                        let _ = w.write_record([
                            i.id.as_str(),
                            i.section.as_deref().unwrap_or(""),
                            &i.question,
                            &ans,
                            i.owner.as_deref().unwrap_or(""),
                            &i.text,
                            &format!("{:.2}", i.confidence),
                            match i.status {
                                Status::Proposed => "proposed",
                                Status::Edited => "edited",
                                Status::Approved => "approved",
                            },
                            &i.sheet,
                            i.cell.as_deref().unwrap_or(""),
                            i.reason.as_deref().unwrap_or(""),
                        ]);
                    }
                    w.into_inner().unwrap_or_default()
                }
            };
            write_atomically(&output, bytes)?;
            print(&format!("Wrote {}.\n", output.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        QuestionnaireCommand::Recheck { as_of } => {
            let found = ws.answers_to_recheck(as_of.unwrap_or_else(today))?;
            for (origin, qid, why) in &found {
                print(&format!("{origin} {qid}: {why}\n"))?;
            }
            print(&format!("{} approved answers to review again.\n", found.len()))?;
            Ok(if found.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::Writer::from_writer(Vec::new())
}
