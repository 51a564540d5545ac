//! `assure policy`: list, show and render the project's policies with their versions and history.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use assure_docs::{Change, facts, html, markdown};
use std::collections::BTreeMap;

use assure_project::{Project, check};
use assure_workspace::Workspace;
use assure_workspace::approval::{ApprovalState, ApproveInput, PolicyApproval};
use chrono::NaiveDate;
use clap::{Subcommand, ValueEnum};

use crate::error::CliError;
use crate::{parse_date, print, today, write_atomically};

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// List the policies with version, approval, next review and status
    List {
        /// Judge review status as of this date (defaults to today)
        #[arg(long, value_parser = parse_date)]
        as_of: Option<NaiveDate>,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// Show one policy: its facts, statements, controls and change history
    Show {
        /// The policy id
        id: String,
        /// Judge review status as of this date (defaults to today)
        #[arg(long, value_parser = parse_date)]
        as_of: Option<NaiveDate>,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// Record a named approver's approval of a policy's current text in the signed ledger
    Approve {
        /// The policy id
        id: String,
        /// The approver: a person's id, email or alias, one of `policy_approvers` in assure.toml
        #[arg(long = "approver")]
        approver: String,
        /// The day they approved it (defaults to today; never later than today)
        #[arg(long, value_parser = parse_date)]
        on: Option<NaiveDate>,
        /// Where the approval is minuted, or any note for the auditor
        #[arg(long, default_value = "")]
        note: String,
        /// Who records it (defaults to $ASSURE_USER, else $USER)
        #[arg(long)]
        by: Option<String>,
    },
    /// Render one policy (or all, with --all and -o DIR) as Markdown, HTML or PDF with a version table
    Render {
        /// The policy id
        #[arg(required_unless_present = "all")]
        id: Option<String>,
        /// Render every policy into the directory given with -o
        #[arg(long)]
        all: bool,
        /// The format
        #[arg(long, value_enum, default_value_t = PolicyFormat::Md)]
        format: PolicyFormat,
        /// Write to this file (or directory, with --all)
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Judge review status as of this date (defaults to today)
        #[arg(long, value_parser = parse_date)]
        as_of: Option<NaiveDate>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyFormat {
    Md,
    Html,
    /// PDF through the same renderer as the reports, with the version table
    Pdf,
}

/// Reads a policy file's change history from git; empty when the project is not under git.
fn history(dir: &Path, id: &str) -> Vec<Change> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "log",
            "--follow",
            "--date=short",
            "--format=%h%x09%ad%x09%an%x09%s",
            "--",
        ])
        .arg(format!("policies/{id}.md"))
        .output();
    let Ok(out) = out else { return Vec::new() };
    if !out.status.success() {
        return Vec::new();
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(4, '\t');
            Some(Change {
                commit: parts.next()?.into(),
                date: parts.next()?.into(),
                author: parts.next()?.into(),
                summary: parts.next()?.into(),
            })
        })
        .collect()
}

/// The project with each policy's approval derived from the ledger, and where each stands.
fn load(dir: &Path) -> Result<(Project, BTreeMap<String, PolicyApproval>), CliError> {
    let checked = check(dir)?;
    if checked.project.incomplete.contains("policies") {
        return Err(CliError::problems("some policy files could not be read")
            .with_hint(format!("run `assure validate {}`", dir.display())));
    }
    let opened = Workspace::new(dir).open_read()?;
    for p in &opened.problems {
        eprintln!("warning: {p}");
    }
    Ok((opened.project, opened.approvals))
}

/// Runs `assure policy`; `dir` is the project directory (`-p`, default `.`).
pub fn run(cmd: PolicyCommand, dir: PathBuf) -> Result<ExitCode, CliError> {
    match cmd {
        PolicyCommand::Approve {
            id,
            approver,
            on,
            note,
            by,
        } => {
            let ws = Workspace::new(&dir);
            let input = ApproveInput {
                policy: id.clone(),
                approver,
                on,
                note,
            };
            let entry = ws.approve_policy(&input, &Workspace::now(), &crate::evidence_cmd::who(by))?;
            print(&format!(
                "{} (ledger entry {})\n",
                entry.draft.note.clone().unwrap_or_default(),
                entry.seq
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::List { as_of, json } => {
            let (p, approvals) = load(&dir)?;
            let as_of = as_of.unwrap_or_else(today);
            let mut all: Vec<_> = p.policies.iter().map(|x| facts(&p, x, as_of, Vec::new())).collect();
            all.sort_by(|a, b| a.id.cmp(&b.id));
            if json {
                print(&format!("{}\n", serde_json::to_string_pretty(&all).unwrap_or_default()))?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut s = format!(
                "{:<26} {:<8} {:<20} {:<26} {:<11} {:<15} {:>8} {:>10}\n",
                "Policy", "Version", "Owner", "Approved", "Review due", "Status", "Controls", "Statements"
            );
            for f in &all {
                s.push_str(&format!(
                    "{:<26} {:<8} {:<20} {:<26} {:<11} {:<15} {:>8} {:>10}\n",
                    f.id,
                    f.version,
                    f.owner,
                    match (f.approved_on, approvals.get(&f.id)) {
                        (Some(d), _) => d.to_string(),
                        (None, Some(a)) => a.state.as_str().to_string(),
                        (None, None) => "-".into(),
                    },
                    f.next_review.map_or("-".into(), |d| d.to_string()),
                    f.status,
                    f.controls.len(),
                    f.statements.len()
                ));
            }
            s.push_str(&format!("{} policies, status as of {as_of}\n", all.len()));
            print(&s)?;
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Show { id, as_of, json } => {
            let (p, approvals) = load(&dir)?;
            let policy = p.policy(&id).ok_or_else(|| {
                CliError::problems(format!("no policy `{id}`")).with_hint("`assure policy list` shows them")
            })?;
            let f = facts(&p, policy, as_of.unwrap_or_else(today), history(&dir, &id));
            let approval = approvals.get(&id);
            if json {
                let mut v = serde_json::to_value(&f).unwrap_or_default();
                if let (Some(o), Some(a)) = (v.as_object_mut(), approval) {
                    o.insert("approval".into(), serde_json::to_value(a).unwrap_or_default());
                }
                print(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()))?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut s = format!("{}  {}\n\n", f.id, f.title);
            for (k, v) in [
                ("version", f.version.clone()),
                ("owner", f.owner.clone()),
                ("approved by", f.approved_by.clone()),
                ("approved on", f.approved_on.map_or("-".into(), |d| d.to_string())),
                ("next review", f.next_review.map_or("-".into(), |d| d.to_string())),
                ("status", f.status.clone()),
                ("applies to", f.applies_to.clone()),
                ("criteria", f.criteria.join(", ")),
            ] {
                s.push_str(&format!("  {k:<12} {v}\n"));
            }
            if let Some(a) = approval {
                s.push_str(&approval_text(a));
            }
            s.push_str(&format!("\nStatements ({}):\n", f.statements.len()));
            for st in &f.statements {
                s.push_str(&format!("  {:<6} {}\n", st.id, st.text));
            }
            s.push_str(&format!("\nControls that carry it out ({}):\n", f.controls.len()));
            for (cid, title) in &f.controls {
                s.push_str(&format!("  {cid:<8} {title}\n"));
            }
            s.push_str("\nChange history:\n");
            if f.history.is_empty() {
                s.push_str("  none in git (the project is not a git repository, or the file is not committed)\n");
            }
            for c in &f.history {
                s.push_str(&format!("  {} {} {}: {}\n", c.date, c.commit, c.author, c.summary));
            }
            print(&s)?;
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Render {
            id,
            all,
            format,
            output,
            as_of,
        } => {
            let (p, _) = load(&dir)?;
            let as_of = as_of.unwrap_or_else(today);
            let render = |policy: &assure_project::model::Policy| -> Result<Vec<u8>, CliError> {
                let f = facts(&p, policy, as_of, history(&dir, policy.id.as_str()));
                Ok(match format {
                    PolicyFormat::Md => markdown(&f, &policy.body).into_bytes(),
                    PolicyFormat::Html => html(&f, &policy.body).into_bytes(),
                    PolicyFormat::Pdf => {
                        let d = assure_report::policy::document(&f, &policy.body);
                        let ident = format!("assure/{}/policy/{}/{}", f.organization, f.id, f.version);
                        assure_pdf::render(&d, &ident)?.bytes
                    }
                })
            };
            let ext = match format {
                PolicyFormat::Md => "md",
                PolicyFormat::Html => "html",
                PolicyFormat::Pdf => "pdf",
            };
            if all {
                let out = output.ok_or_else(|| CliError::problems("--all needs -o DIR"))?;
                std::fs::create_dir_all(&out).map_err(CliError::io("create", &out))?;
                for policy in &p.policies {
                    write_atomically(&out.join(format!("{}.{ext}", policy.id)), render(policy)?)?;
                }
                print(&format!(
                    "rendered {} policies into {}\n",
                    p.policies.len(),
                    out.display()
                ))?;
                return Ok(ExitCode::SUCCESS);
            }
            let id = id.unwrap_or_default();
            let policy = p.policy(&id).ok_or_else(|| {
                CliError::problems(format!("no policy `{id}`")).with_hint("`assure policy list` shows them")
            })?;
            let bytes = render(policy)?;
            match output {
                Some(path) => write_atomically(&path, &bytes)?,
                None if format == PolicyFormat::Pdf => {
                    return Err(CliError::problems("a PDF is not written to the terminal").with_hint("add -o FILE.pdf"));
                }
                None => print(&String::from_utf8_lossy(&bytes))?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Where a policy's approval stands, for `assure policy show`.
fn approval_text(a: &PolicyApproval) -> String {
    let mut s = format!("\nApproval: {}\n", a.state.as_str());
    match (&a.state, &a.current, a.history.last()) {
        (ApprovalState::Approved, Some(c), _) => s.push_str(&format!(
            "  version {} approved by {} on {}; recorded by {} at {} (ledger entry {})\n",
            c.record.version, c.record.approver_name, c.record.approved_on, c.recorded_by, c.recorded_at, c.seq
        )),
        (ApprovalState::EditedSinceApproval, _, Some(last)) => s.push_str(&format!(
            "  the text changed after version {} was approved on {} (ledger entry {}): raise the version and approve it again\n",
            last.record.version, last.record.approved_on, last.seq
        )),
        (ApprovalState::NotRecorded, _, _) => s.push_str(&format!(
            "  {}, but the ledger holds no such approval: record it with `assure policy approve`\n",
            a.claimed.as_deref().unwrap_or("the front matter names an approval")
        )),
        _ => s.push_str("  record one with `assure policy approve ID --approver PERSON`\n"),
    }
    s.push_str(&format!("  SHA-256 of the current text: {}\n", a.sha256));
    for h in &a.history {
        s.push_str(&format!(
            "  entry {}: version {} approved by {} on {} (text {}){}\n",
            h.seq,
            h.record.version,
            h.record.approver_name,
            h.record.approved_on,
            h.record.sha256.get(..16).unwrap_or(&h.record.sha256),
            if h.record.note.is_empty() {
                String::new()
            } else {
                format!(": {}", h.record.note)
            }
        ));
    }
    s
}
