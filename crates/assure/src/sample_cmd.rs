//! `assure sample`: draw a reproducible sample of a control's population, as an auditor would.

use std::path::PathBuf;
use std::process::ExitCode;

use assure_assess::sampling::Risk;
use assure_evidence::keys;
use assure_evidence::store::FsStore;
use assure_project::check;
use clap::Args;

use crate::error::CliError;
use crate::print;

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The project directory
    #[arg(default_value = ".")]
    dir: PathBuf,
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
}

pub fn run(args: SampleArgs) -> Result<ExitCode, CliError> {
    let checked = check(&args.dir)?;
    let risk =
        match args.risk.as_deref() {
            None => None,
            Some(r) => Some(Risk::parse(r).ok_or_else(|| {
                CliError::problems(format!("unknown risk `{r}`")).with_hint("use low, moderate or high")
            })?),
        };
    let store = FsStore::open(&args.dir).map_err(|e| CliError::failure(e.to_string()))?;
    let (key, _) = keys::load_or_create(&args.dir).map_err(|e| CliError::failure(e.to_string()))?;
    let at = crate::evidence_cmd::now();
    let by = crate::evidence_cmd::who(args.by);
    let (record, entry) = assure_run::sample(
        &checked.project,
        &store,
        &key,
        &args.control,
        args.seed,
        args.size,
        risk,
        &args.add,
        &at,
        &by,
    )
    .map_err(|e| CliError::problems(e.to_string()))?;
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
        args.dir.display(),
        record.control,
        record.seed
    ));
    print(&s)?;
    Ok(ExitCode::SUCCESS)
}
