//! The interactive scoping interview: one question at a time with defaults, `<` to go back, and a
//! summary before anything is written. Generic over its input and output so tests can drive it.

use std::io::{self, BufRead, Write};

use assure_assess::scope::{Answers, Outcome, QUESTIONS, QuestionKind, answer_text, decide, render_text, set_answer};
use chrono::NaiveDate;

/// How the interview ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// The user confirmed writing the scope.
    Write,
    /// The user saw the decision and chose not to write it.
    Discard,
    /// The user quit or input ended.
    Aborted,
}

fn read(input: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim().to_string()))
}

/// Runs the interview, filling `answers`; `target` names the file a confirmed scope is written to.
pub fn interview(
    input: &mut impl BufRead,
    out: &mut impl Write,
    answers: &mut Answers,
    today: NaiveDate,
    target: Option<&str>,
) -> io::Result<Finish> {
    writeln!(
        out,
        "Scoping: {} questions. Press Enter to take the answer in brackets, `<` to go back, `q` to quit.",
        QUESTIONS.len()
    )?;
    let mut idx = 0;
    loop {
        while let Some(q) = QUESTIONS.get(idx) {
            writeln!(out)?;
            writeln!(out, "{}/{}  {}", idx + 1, QUESTIONS.len(), q.text)?;
            if let QuestionKind::Many(choices) = q.kind {
                for (i, (id, label)) in choices.iter().enumerate() {
                    writeln!(out, "      {}. {id:<20} {label}", i + 1)?;
                }
                writeln!(out, "      (several allowed, separated by commas; `none` for none)")?;
            }
            let current = answer_text(answers, q.key).unwrap_or_else(|| q.default.to_string());
            write!(out, "  [{current}] > ")?;
            out.flush()?;
            let Some(line) = read(input)? else {
                writeln!(out)?;
                return Ok(Finish::Aborted);
            };
            match line.as_str() {
                "<" | "back" => {
                    idx = idx.saturating_sub(1);
                    continue;
                }
                "q" | "quit" => return Ok(Finish::Aborted),
                _ => {}
            }
            let text = if line.is_empty() { current } else { line };
            match set_answer(answers, q.key, &text) {
                Ok(()) => idx += 1,
                Err(e) => writeln!(out, "  {e}; try again")?,
            }
        }
        let outcome = decide(answers, today);
        writeln!(out)?;
        writeln!(out, "Summary")?;
        writeln!(out, "-------")?;
        write!(out, "{}", render_text(&outcome))?;
        let decided = matches!(outcome, Outcome::Decided(_));
        loop {
            writeln!(out)?;
            match (decided, target) {
                (true, Some(t)) => write!(out, "Write this scope to {t}? [y]es, [n]o, [<] back: ")?,
                (true, None) => write!(out, "No project to write to. [Enter] to finish, [<] back: ")?,
                (false, _) => write!(out, "[<] back to change answers, [q]uit: ")?,
            }
            out.flush()?;
            let Some(line) = read(input)? else {
                writeln!(out)?;
                return Ok(Finish::Aborted);
            };
            match (line.to_ascii_lowercase().as_str(), decided, target.is_some()) {
                ("<" | "back", _, _) => {
                    idx = QUESTIONS.len().saturating_sub(1);
                    break;
                }
                ("y" | "yes", true, true) => return Ok(Finish::Write),
                ("n" | "no", true, true) | ("", true, false) => return Ok(Finish::Discard),
                ("q" | "quit", _, _) => return Ok(Finish::Aborted),
                _ => writeln!(out, "  please answer with one of the letters shown")?,
            }
        }
    }
}
