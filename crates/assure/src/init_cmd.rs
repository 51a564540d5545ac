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
    /// A health-care SaaS, a HIPAA business associate (SOC 2+ HIPAA)
    Health,
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
    /// Do not make the new directory a git repository (by default `init` runs `git init` and
    /// commits the starting project, so policy history and reviews start from it)
    #[arg(long)]
    pub no_git: bool,
}

/// Runs `assure init`.
pub fn run(args: InitArgs) -> Result<ExitCode, CliError> {
    cmd_init(args.template, &args.dir, args.json, !args.no_git)
}

pub fn cmd_init_quiet(dir: &Path) -> Result<(), CliError> {
    init_with_key(Template::Saas, dir).map(|_| ())
}

fn init_with_key(template: Template, dir: &Path) -> Result<assure_project::init::InitSummary, CliError> {
    Ok(assure_workspace::Workspace::new(dir).init(template)?)
}

/// What became of the git repository: a line for the summary.
fn git_init(dir: &Path) -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
    };
    match git(&["rev-parse", "--is-inside-work-tree"]) {
        Err(_) => return "git is not installed: the project is not a git repository yet (policy history comes from git; run `git init` when you can)".into(),
        Ok(o) if o.status.success() => {
            return "the directory is inside an existing git repository: commit the new files there".into();
        }
        Ok(_) => {}
    }
    // Commit as the user when git knows who they are, else as Assure (say so).
    let known = git(&["config", "user.email"]).is_ok_and(|o| o.status.success() && !o.stdout.trim_ascii().is_empty());
    let identity: &[&str] = if known {
        &[]
    } else {
        &["-c", "user.name=Assure", "-c", "user.email=assure@localhost"]
    };
    let mut commit: Vec<&str> = identity.to_vec();
    commit.extend(["commit", "-q", "-m", "Start the compliance project (assure init)"]);
    for step in [&["init", "-q"][..], &["add", "-A"][..], &commit[..]] {
        match git(step) {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                return format!(
                    "`git {}` failed ({}): the files are written; make the repository yourself",
                    step.join(" "),
                    String::from_utf8_lossy(&o.stderr).trim()
                );
            }
            Err(e) => return format!("cannot run git ({e}): the files are written; run `git init` yourself"),
        }
    }
    if !known {
        eprintln!(
            "note: the first commit is by `Assure <assure@localhost>`, as git does not know you yet: set `git config --global user.name` and `user.email`"
        );
    }
    "a git repository with the starting project as its first commit".into()
}

fn cmd_init(template: TemplateArg, dir: &Path, json: bool, git: bool) -> Result<ExitCode, CliError> {
    let template = match template {
        TemplateArg::Saas => Template::Saas,
        TemplateArg::Payroll => Template::Payroll,
        TemplateArg::Fintech => Template::Fintech,
        TemplateArg::Health => Template::Health,
    };
    // The ledger key is created with the project; its public half is pinned in assure.toml.
    let s = init_with_key(template, dir)?;
    let git = git.then(|| git_init(dir));
    if json {
        let v = serde_json::json!({
            "template": s.template.as_str(), "company": s.company, "dir": dir.display().to_string(),
            "controls": s.controls, "policies": s.policies, "tests": s.tests, "objectives": s.objectives, "files": s.files,
            "git": git,
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
    if let Some(g) = &git {
        text.push_str(&format!("\n  {g}"));
    }
    text.push_str(&format!(
        "\nNext: `assure validate {0}`, `assure catalog coverage {0}`, `assure gap {0}`\n",
        dir.display()
    ));
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}
