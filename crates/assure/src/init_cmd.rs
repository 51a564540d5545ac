//! `assure init`: create a complete starting project from a template, with its ledger key.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use assure_project::init::Template;
use clap::{Args, ValueEnum};

use crate::error::CliError;
use crate::print;

/// The kinds of company a project starts from.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TemplateArg {
    /// A SaaS company (SOC 2)
    Saas,
    /// A payroll processor (SOC 1 and SOC 2)
    Payroll,
    /// A fintech (SOC 1 and SOC 2)
    Fintech,
}

/// Arguments of `assure init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The kind of company
    #[arg(long, short, value_enum, default_value_t = TemplateArg::Saas)]
    pub template: TemplateArg,
    /// Where to create the project (must not exist or be empty)
    pub dir: PathBuf,
    /// Print machine-readable JSON
    #[arg(long)]
    pub json: bool,
}

/// Runs `assure init`.
pub fn run(args: InitArgs) -> Result<ExitCode, CliError> {
    cmd_init(args.template, &args.dir, args.json)
}

pub fn cmd_init_quiet(dir: &Path) -> Result<(), CliError> {
    init_with_key(Template::Saas, dir).map(|_| ())
}

fn init_with_key(template: Template, dir: &Path) -> Result<assure_project::init::InitSummary, CliError> {
    Ok(assure_workspace::Workspace::new(dir).init(template)?)
}

fn cmd_init(template: TemplateArg, dir: &Path, json: bool) -> Result<ExitCode, CliError> {
    let template = match template {
        TemplateArg::Saas => Template::Saas,
        TemplateArg::Payroll => Template::Payroll,
        TemplateArg::Fintech => Template::Fintech,
    };
    // The ledger key is created with the project; its public half is pinned in assure.toml.
    let s = init_with_key(template, dir)?;
    if json {
        let v = serde_json::json!({
            "template": s.template.as_str(), "company": s.company, "dir": dir.display().to_string(),
            "controls": s.controls, "policies": s.policies, "tests": s.tests, "objectives": s.objectives, "files": s.files,
        });
        print(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = format!(
        "Created {} ({} template) in {}\n  {} controls, {} policies, {} tests",
        s.company,
        s.template,
        dir.display(),
        s.controls,
        s.policies,
        s.tests
    );
    if s.objectives > 0 {
        text.push_str(&format!(", {} SOC 1 objectives", s.objectives));
    }
    text.push_str(&format!(
        "\nNext: `assure validate {0}`, `assure catalog coverage {0}`, `assure gap {0}`\n",
        dir.display()
    ));
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}
