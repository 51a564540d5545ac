//! `assure test`: run the control tests for the audit window and print what they found.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use assure_engine::Window;
use assure_project::check;
use assure_project::model::ExamType;
use assure_schema::results::{Conclusion, ItemStatus};
use assure_workspace::{RunOptions, Workspace};
use chrono::{Months, NaiveDate};
use clap::Args;

use crate::error::CliError;
use crate::{parse_date, print, today};

#[derive(Debug, Args)]
pub struct TestArgs {
    /// The project directory (the same as `-p DIR`; default `.`)
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The examination period by name (`assure period list`), or dates FROM..TO; default: the current period
    #[arg(long)]
    period: Option<String>,
    /// Evaluate as of this date (YYYY-MM-DD); defaults to today or the period's end, whichever is earlier
    #[arg(long, value_parser = parse_date)]
    as_of: Option<NaiveDate>,
    /// Type 1 (design, one instance by the as-of date) or Type 2 (operation across the period)
    #[arg(long = "type", value_parser = clap::value_parser!(u8).range(1..=2))]
    exam_type: Option<u8>,
    /// Run only this test (repeatable)
    #[arg(long = "test")]
    only: Vec<String>,
    /// Who ran it (defaults to $ASSURE_USER, else $USER)
    #[arg(long)]
    by: Option<String>,
    /// Print machine-readable JSON with every item
    #[arg(long)]
    json: bool,
    /// Re-run every test; by default a test whose inputs, definition and parameters are unchanged
    /// since the last run of the same window keeps that run's outcome
    #[arg(long)]
    full: bool,
    /// Load every row of every table; by default a large table whose every read is filtered (a log
    /// read for a few kinds of event) is loaded with only the rows some test can read. The results
    /// are the same; this re-performs a run without that shortcut
    #[arg(long)]
    every_row: bool,
    /// Write each test's SQL with the window and parameters filled in to this directory, and stop (for re-performing a test elsewhere)
    #[arg(long)]
    emit_sql: Option<PathBuf>,
}

/// Runs the command on the project in `dir` (resolved from `-p` or the positional DIR).
pub fn run(args: TestArgs, dir: PathBuf) -> Result<ExitCode, CliError> {
    let checked = check(&dir)?;
    if !checked.project.incomplete.is_empty() {
        return Err(CliError::problems("some project files could not be read")
            .with_hint(format!("run `assure validate {}` and fix them first", dir.display())));
    }
    let p = &checked.project;
    let scope = &p.manifest.scope;
    // The period: a name, dates FROM..TO, or the current period.
    let (start, end, period_type) = match args.period.as_deref() {
        Some(t) if t.contains("..") => {
            let (a, b) = t.split_once("..").unwrap_or_default();
            let (a, b) = (
                parse_date(a).map_err(CliError::problems)?,
                parse_date(b).map_err(CliError::problems)?,
            );
            match p.period_containing(a, b) {
                Some(per) => eprintln!("dates {a} to {b}, within period {}", per.describe()),
                None if !p.periods().is_empty() => eprintln!(
                    "warning: {a} to {b} is not inside any examination period ({}); the run is recorded for these dates only",
                    p.periods()
                        .iter()
                        .map(|x| x.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => {}
            }
            (a, b, None)
        }
        name => {
            let per = p.select_period(name).map_err(|e| {
                CliError::problems(e.to_string()).with_hint(
                    "name a period from `assure period list`, pass dates as --period FROM..TO, or set the period in `[scope]`",
                )
            })?;
            eprintln!("period {}", per.describe());
            (per.start, per.end, Some(per.exam_type))
        }
    };
    let exam = match args.exam_type {
        Some(1) => ExamType::Type1,
        Some(_) => ExamType::Type2,
        None => period_type.or(scope.exam_type).unwrap_or(ExamType::Type2),
    };
    if start > end {
        return Err(CliError::problems("the period ends before it starts"));
    }
    let as_of = args.as_of.unwrap_or_else(|| today().min(end));
    let window = match exam {
        // Type 1 looks for one instance of each control in the three months up to the as-of date.
        ExamType::Type1 => Window {
            period_start: as_of
                .checked_sub_months(Months::new(3))
                .and_then(|d| d.succ_opt())
                .unwrap_or(as_of),
            period_end: as_of,
            as_of,
        },
        ExamType::Type2 => Window {
            period_start: start,
            period_end: end,
            as_of,
        },
    };
    if let Some(out) = &args.emit_sql {
        std::fs::create_dir_all(out).map_err(CliError::io("create", out))?;
        for t in p
            .tests
            .iter()
            .filter(|t| args.only.is_empty() || args.only.iter().any(|o| o == t.id.as_str()))
        {
            let mut params = t.params.clone();
            if let Some(over) = p.manifest.test_params.get(t.id.as_str()) {
                params.extend(over.clone());
            }
            let sql = assure_engine::expand(&t.sql, &window, &assure_run::params_of(&params))
                .map_err(|e| CliError::problems(format!("test `{}`: {e}", t.id)))?;
            crate::write_atomically(
                &out.join(format!("{}.sql", t.id)),
                format!(
                    "-- {}: {}\n-- window {} to {}, as of {}\n{sql}\n",
                    t.id, t.title, window.period_start, window.period_end, window.as_of
                ),
            )?;
        }
        print(&format!(
            "wrote the expanded SQL of {} test(s) to {}\n",
            p.tests.len(),
            out.display()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let tty = std::io::stderr().is_terminal() && !args.json;
    // `ASSURE_TIMINGS=1` prints how long each step took (reading, identities, each test, recording).
    let timings = std::env::var_os("ASSURE_TIMINGS").is_some_and(|v| v != "0");
    let mut last = (std::time::Instant::now(), String::from("preparing"));
    let mut progress = |done: usize, total: usize, id: &str| {
        if timings {
            eprintln!("{:>8.3} s  {}", last.0.elapsed().as_secs_f64(), last.1);
            last = (std::time::Instant::now(), id.to_string());
        }
        if tty {
            eprint!("\r\x1b[2K running tests [{done}/{total}] {id}");
        }
    };
    let opts = RunOptions {
        window,
        exam,
        only: args.only.clone(),
        at: Workspace::now(),
        by: crate::evidence_cmd::who(args.by),
        full: args.full,
        keep_if_unchanged: false,
        every_row: args.every_row,
    };
    let (record, entry) = Workspace::new(&dir).run_tests(&assure_run::Engine, &opts, &mut progress)?;
    if timings {
        eprintln!("{:>8.3} s  {}", last.0.elapsed().as_secs_f64(), last.1);
    }
    if tty {
        eprint!("\r\x1b[2K");
    }
    if args.json {
        // Outcomes hold only the items that did not pass in memory (their rows were recorded as
        // each test ended, or come from an earlier run): print the whole run as recorded.
        let record = if record.tests.iter().all(|t| t.items.len() == t.population) {
            record
        } else {
            Workspace::new(&dir).recorded_run(&entry)?
        };
        #[derive(serde::Serialize)]
        struct Out<'a> {
            ledger_entry: u64,
            run: &'a assure_run::RunRecord,
        }
        crate::print_json(&Out {
            ledger_entry: entry.seq,
            run: &record,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut s = format!(
        "Control tests for {}: Type {}, period {} to {}, as of {}\n",
        p.manifest.organization.name, record.exam_type, record.period_start, record.period_end, record.as_of
    );
    if exam == ExamType::Type1 {
        s.push_str("Type 1: each test looks for at least one instance of the control in the three months up to the as-of date.\n");
    }
    s.push_str(&format!(
        "Evidence: {} file(s); engine {}\n",
        record.inputs.len(),
        record.engine
    ));
    if let Some(seq) = record.carried_from {
        s.push_str(&format!(
            "Ran {} selected test(s); the other {} keep their latest results, from the run recorded as ledger entry {seq}, so every view still shows every test\n",
            record.tests.len() - record.carried.len(),
            record.carried.len()
        ));
    }
    match record.reused_from {
        Some(seq) => {
            s.push_str(&format!(
                "Re-ran {} of {} tests; {} kept the outcome of the run recorded as ledger entry {seq} (same window, definitions, parameters and input files; --full re-runs them)\n",
                record.tests.len() - record.reused.len() - record.carried.len() - record.extended.len(),
                record.tests.len() - record.carried.len(),
                record.reused.len()
            ));
            if !record.extended.is_empty() {
                let mut files: Vec<u64> = record.extended.values().flatten().copied().collect();
                files.sort_unstable();
                files.dedup();
                s.push_str(&format!(
                    "{} test(s) read their table row by row and only new files were added to it: the rows of {} (ledger {} {}) were tested and added to the outcome of entry {seq} ({})\n",
                    record.extended.len(),
                    if files.len() == 1 { "one new file".to_string() } else { format!("{} new files", files.len()) },
                    if files.len() == 1 { "entry" } else { "entries" },
                    files.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
                    record.extended.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            s.push('\n');
        }
        None => s.push('\n'),
    }
    s.push_str(&format!(
        "{:<44} {:>10} {:>10} {:>6}  {}\n",
        "Test", "Population", "Exceptions", "N/A", "Conclusion"
    ));
    for t in &record.tests {
        s.push_str(&format!(
            "{:<44} {:>10} {:>10} {:>6}  {}\n",
            t.id,
            t.population,
            t.exceptions,
            t.not_applicable,
            t.conclusion.label()
        ));
    }
    let failing: Vec<_> = record.controls.iter().filter(|c| c.exceptions > 0).collect();
    if !failing.is_empty() {
        s.push_str("\nExceptions by control:\n");
        for c in failing {
            let control = p.control(&c.id);
            let owner = control
                .and_then(|x| x.owner.as_ref())
                .and_then(|o| p.person(o))
                .map_or("no owner".to_string(), |pp| pp.name.clone());
            s.push_str(&format!(
                "  {} {} ({owner}): {} exception(s)\n",
                c.id,
                control.map_or("", |x| x.title.as_str()),
                c.exceptions
            ));
            for t in record
                .tests
                .iter()
                .filter(|t| c.tests.contains(&t.id) && t.exceptions > 0)
            {
                let fails: Vec<_> = t.items.iter().filter(|i| i.status == ItemStatus::Fail).collect();
                for i in fails.iter().take(10) {
                    s.push_str(&format!("    {}: {} — {}\n", t.id, i.item, i.reason));
                }
                if fails.len() > 10 {
                    s.push_str(&format!("    {}: and {} more (see --json)\n", t.id, fails.len() - 10));
                }
            }
        }
    }
    let expected: usize = record.occurrences.iter().map(|o| o.expected).sum();
    let found: usize = record.occurrences.iter().map(|o| o.found).sum();
    if expected > 0 {
        s.push_str(&format!(
            "\nExpected occurrences of periodic manual controls: {found} of {expected} have evidence across {} controls\n",
            record.occurrences.len()
        ));
        for o in record.occurrences.iter().filter(|o| !o.missing.is_empty()) {
            let title = p.control(&o.control).map_or("", |c| c.title.as_str());
            s.push_str(&format!(
                "  {} {} ({}): {} of {} found; missing {}\n",
                o.control,
                title,
                o.frequency,
                o.found,
                o.expected,
                o.missing.join(", ")
            ));
        }
    }
    let not_run: Vec<_> = record
        .tests
        .iter()
        .filter(|t| t.conclusion == Conclusion::NotRun)
        .collect();
    if !not_run.is_empty() {
        s.push_str("\nNot run:\n");
        for t in not_run {
            s.push_str(&format!("  {}: {}\n", t.id, t.note.as_deref().unwrap_or("")));
        }
    }
    if !record.unresolved.is_empty() {
        s.push_str("\nIdentities that match no person (reported, not guessed; add them as aliases in people.toml if they are someone's):\n");
        for u in &record.unresolved {
            s.push_str(&format!(
                "  {} in {} ({} rows){}\n",
                u.value,
                u.seen_in.join(", "),
                u.rows,
                if u.candidates.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; its name is that of several people ({}), so it is none of them",
                        u.candidates.join(", ")
                    )
                }
            ));
        }
    }
    if !record.merged.is_empty() {
        s.push_str("\nValues resolved to a person, and the rule that resolved each:\n");
        for m in &record.merged {
            s.push_str(&format!(
                "  {} is {} ({}; in {})\n",
                m.value,
                m.person,
                m.rule,
                m.seen_in.join(", ")
            ));
        }
    }
    if !record.duplicates.is_empty() {
        let d: Vec<String> = record.duplicates.iter().map(|(t, n)| format!("{n} in {t}")).collect();
        s.push_str(&format!(
            "\nRows exported twice (the same key in a later import) were counted once, as the later file has them: {}.\n",
            d.join(", ")
        ));
    }
    let b = entry.draft.blob.as_ref();
    s.push_str(&format!(
        "\nRecorded as ledger entry {} (results SHA-256 {}); definitions {}.\n",
        entry.seq,
        b.map_or("", |b| b.sha256.as_str()),
        record.definitions.get(..16).unwrap_or("")
    ));
    print(&s)?;
    Ok(ExitCode::SUCCESS)
}
