//! `assure sample`: draw a reproducible sample of a control's population, as an auditor would.

use std::path::PathBuf;
use std::process::ExitCode;

use assure_schema::results::Risk;
use assure_workspace::Workspace;
use assure_workspace::sample::SampleOptions;
use clap::Args;

use crate::error::CliError;
use crate::print;

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The project directory (the same as `-p DIR`; default `.`)
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The control to sample
    #[arg(long)]
    control: String,
    /// The seed (defaults to one derived from the control and the latest test run, and recorded)
    #[arg(long)]
    seed: Option<u64>,
    /// The sample size (defaults to the table for the control's frequency and risk)
    #[arg(long)]
    size: Option<usize>,
    /// The risk: low, moderate or high (defaults: key controls moderate, others low)
    #[arg(long)]
    risk: Option<String>,
    /// Add an item to the sample by hand (repeatable)
    #[arg(long = "add")]
    add: Vec<String>,
    /// Who draws it (defaults to $ASSURE_USER, else $USER)
    #[arg(long)]
    by: Option<String>,
    /// Print machine-readable JSON, with the whole population
    #[arg(long)]
    json: bool,
    /// The examination period, by name (default: the current period)
    #[arg(long)]
    period: Option<String>,
}

/// Runs the command on the project in `dir` (resolved from `-p` or the positional DIR).
pub fn run(args: SampleArgs, dir: PathBuf) -> Result<ExitCode, CliError> {
    let risk =
        match args.risk.as_deref() {
            None => None,
            Some(r) => Some(Risk::parse(r).ok_or_else(|| {
                CliError::problems(format!("unknown risk `{r}`")).with_hint("use low, moderate or high")
            })?),
        };
    let opts = SampleOptions {
        seed: args.seed,
        size: args.size,
        risk,
        add: args.add.clone(),
    };
    let by = crate::evidence_cmd::who(args.by);
    let ws = Workspace::new(&dir).with_period(args.period.clone());
    if let Some(p) = ws.period_of(&ws.open_read()?.project)? {
        eprintln!("period {}", p.describe());
    }
    let (record, entry) = ws.sample(&args.control, &opts, &Workspace::now(), &by)?;
    if args.json {
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({"ledger_entry": entry.seq, "sample": record}))
                .unwrap_or_default()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut s = format!(
        "Sample of {} ({} control, {} risk)\n  population: {} items, from the {}\n  size:       {} ({})\n  seed:       {}\n\nSelected:\n",
        record.control,
        record.frequency,
        record.risk,
        record.population.len(),
        record.population_source,
        record.size,
        record.rule,
        record.seed
    );
    for i in &record.selected {
        s.push_str(&format!("  {i}\n"));
    }
    if !record.added.is_empty() {
        s.push_str("Added by hand:\n");
        for i in &record.added {
            s.push_str(&format!("  {i}\n"));
        }
    }
    s.push_str(&format!(
        "\nRecorded as ledger entry {}. Re-perform with `assure sample {} --control {} --seed {}`.\n",
        entry.seq,
        dir.display(),
        record.control,
        record.seed
    ));
    print(&s)?;
    Ok(ExitCode::SUCCESS)
}
