//! `assure scope`: interactive or from flags and an answers file; writes the decision into
//! `assure.toml` on confirmation.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use assure_assess::scope::{Answers, Outcome, Window, decide, render_text, set_answer};
use assure_project::edit::{self, ScopeUpdate};
use chrono::NaiveDate;
use clap::Args;

use crate::error::{CliError, PROBLEMS};
use crate::prompt::{Finish, interview};
use crate::{parse_date, print, today, write_atomically};

#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// The project directory (the same as `-p DIR`; default `.`)
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Read answers from a TOML or JSON file (see README for the keys)
    #[arg(long)]
    answers: Option<PathBuf>,
    /// Ask the questions even when standard input is not a terminal
    #[arg(long)]
    interactive: bool,
    /// What the service does: payroll, billing, payments, gl_integration, fund_admin, saas, hosting, managed_it
    #[arg(long = "service", value_delimiter = ',')]
    services: Vec<String>,
    /// Whether the service affects customers' financial statements: yes or no
    #[arg(long)]
    affects_financial_reporting: Option<String>,
    /// Data stored or transmitted: personal, health, payment, confidential, or none
    #[arg(long, value_delimiter = ',')]
    data: Vec<String>,
    /// Who asks for a report: user_auditors, security_teams
    #[arg(long = "requester", value_delimiter = ',')]
    requesters: Vec<String>,
    /// Contractual commitments: uptime, processing_accuracy, confidentiality, privacy, or none
    #[arg(long = "commitment", value_delimiter = ',')]
    commitments: Vec<String>,
    /// Regulations customers name: sox, hipaa, gdpr, ccpa, or none
    #[arg(long = "regulation", value_delimiter = ',')]
    regulations: Vec<String>,
    /// Whether a public SOC 3 summary is wanted: yes or no
    #[arg(long)]
    public_summary: Option<String>,
    /// In how many months the report must be in customers' hands
    #[arg(long)]
    needed_in_months: Option<String>,
    /// Whether a 3–12 month observation window is possible: yes or no
    #[arg(long)]
    window: Option<String>,
    /// Customers' fiscal year-end, MM-DD
    #[arg(long)]
    fiscal_year_end: Option<String>,
    /// Decide as of this date (YYYY-MM-DD); defaults to today
    #[arg(long, value_parser = parse_date)]
    as_of: Option<NaiveDate>,
    /// Write the decision into assure.toml without asking (non-interactive mode)
    #[arg(long)]
    write: bool,
    /// Print machine-readable JSON (non-interactive mode)
    #[arg(long)]
    json: bool,
}

fn load_answers(path: &PathBuf) -> Result<Answers, CliError> {
    let text = std::fs::read_to_string(path).map_err(CliError::io("read", path))?;
    let is_json =
        path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) || text.trim_start().starts_with('{');
    let parsed = if is_json {
        serde_json::from_str::<Answers>(&text).map_err(|e| format!("line {}, column {}: {e}", e.line(), e.column()))
    } else {
        toml::from_str::<Answers>(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text.get(..s.start).unwrap_or("").matches('\n').count() + 1);
            format!(
                "{}{}",
                line.map_or(String::new(), |l| format!("line {l}: ")),
                e.message()
            )
        })
    };
    parsed.map_err(|e| {
        CliError::problems(format!("`{}` is not a valid answers file: {e}", path.display()))
            .with_hint("see README.md, \"Scoping from an answers file\", for the keys and values")
    })
}

/// Runs the command on the project in `dir` (resolved from `-p` or the positional DIR).
pub fn run(args: ScopeArgs, dir: PathBuf) -> Result<ExitCode, CliError> {
    let today = args.as_of.unwrap_or_else(today);
    let mut answers = match &args.answers {
        Some(p) => load_answers(p)?,
        None => Answers::default(),
    };
    let flag_pairs: Vec<(&str, Option<String>)> = vec![
        ("services", (!args.services.is_empty()).then(|| args.services.join(","))),
        ("affects_financial_reporting", args.affects_financial_reporting.clone()),
        ("data", (!args.data.is_empty()).then(|| args.data.join(","))),
        (
            "requesters",
            (!args.requesters.is_empty()).then(|| args.requesters.join(",")),
        ),
        (
            "commitments",
            (!args.commitments.is_empty()).then(|| args.commitments.join(",")),
        ),
        (
            "regulations",
            (!args.regulations.is_empty()).then(|| args.regulations.join(",")),
        ),
        ("public_summary", args.public_summary.clone()),
        ("report_needed_in_months", args.needed_in_months.clone()),
        ("observation_window_possible", args.window.clone()),
        ("customer_fiscal_year_end", args.fiscal_year_end.clone()),
    ];
    let any_flag = flag_pairs.iter().any(|(_, v)| v.is_some());
    for (key, value) in flag_pairs {
        if let Some(v) = value {
            set_answer(&mut answers, key, &v)
                .map_err(|e| CliError::problems(format!("--{}: {e}", key.replace('_', "-"))))?;
        }
    }
    let manifest = dir.join("assure.toml");
    let target = manifest.is_file().then(|| manifest.display().to_string());
    let interactive = args.interactive || (std::io::stdin().is_terminal() && args.answers.is_none() && !any_flag);

    if interactive {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let mut out = std::io::stderr();
        let finish = interview(&mut input, &mut out, &mut answers, today, target.as_deref())
            .map_err(|e| CliError::failure(format!("terminal error: {e}")))?;
        return match finish {
            Finish::Write => {
                write_scope(&dir, &answers, today)?;
                Ok(ExitCode::SUCCESS)
            }
            Finish::Discard => Ok(ExitCode::SUCCESS),
            Finish::Aborted => {
                eprintln!("scoping stopped; nothing was written");
                Ok(ExitCode::from(PROBLEMS))
            }
        };
    }

    let outcome = decide(&answers, today);
    if args.json {
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&outcome).unwrap_or_default()
        ))?;
    } else {
        print(&render_text(&outcome))?;
    }
    match outcome {
        Outcome::Problems { .. } => Ok(ExitCode::from(PROBLEMS)),
        Outcome::Decided(_) if args.write => {
            write_scope(&dir, &answers, today)?;
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Decided(_) => {
            if target.is_some() && !args.json {
                eprintln!(
                    "nothing written; add --write to put this scope into {}",
                    manifest.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn write_scope(dir: &std::path::Path, answers: &Answers, today: NaiveDate) -> Result<(), CliError> {
    let Outcome::Decided(d) = decide(answers, today) else {
        return Err(CliError::problems("the answers do not yet allow a decision"));
    };
    let path = dir.join("assure.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CliError::failure(format!("cannot read `{}`: {e}", path.display()))
            .with_hint("create a project first with `assure init DIR`, or pass its directory")
    })?;
    let update = ScopeUpdate {
        reports: d.report_kinds(),
        exam_type: d.exam(),
        categories: d.category_kinds(),
        window: match d.window.value {
            Window::AsOf { date } => edit::Window::AsOf(date),
            Window::Period { start, end } => edit::Window::Period(start, end),
        },
    };
    let new_text = edit::write_scope(&text, &update)?;
    write_atomically(&path, &new_text)?;
    eprintln!(
        "wrote the scope into {}; run `assure validate` to see what it now requires",
        path.display()
    );
    Ok(())
}
