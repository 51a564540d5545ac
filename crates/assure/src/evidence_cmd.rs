//! `assure evidence`: import and add files into the signed ledger; list, show, verify, export.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use assure_evidence::import::{self, Meta};
use assure_evidence::package;
use assure_evidence::store::EvidenceStore;
use assure_evidence::tables::TABLES;
use assure_ledger::{Entry, Report};
use assure_project::{Project, check};
use assure_workspace::{Workspace, Writable};
use chrono::NaiveDate;
use clap::Subcommand;

use crate::error::{CliError, PROBLEMS};
use crate::print;

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Read exports into the evidence tables and record them in the ledger (all files or none)
    Import {
        /// Files or directories to import
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The evidence table, when it cannot be told from the columns
        #[arg(long)]
        table: Option<String>,
        /// The connector, when it cannot be told from the content
        #[arg(long)]
        connector: Option<String>,
        /// The examination period the evidence is for: a name (`assure period list`) or dates FROM..TO; default: the current period
        #[arg(long)]
        period: Option<String>,
        /// A note recorded with each entry
        #[arg(long)]
        note: Option<String>,
        /// Who collected it (defaults to $ASSURE_USER, else $USER)
        #[arg(long)]
        by: Option<String>,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// Record any file (a screenshot, a signed report) as evidence for controls
    Add {
        /// The file
        file: PathBuf,
        /// A control the file supports (repeatable)
        #[arg(long = "control", required = true)]
        controls: Vec<String>,
        /// The examination period the evidence is for: a name or dates FROM..TO; default: the current period
        #[arg(long)]
        period: Option<String>,
        /// A note
        #[arg(long)]
        note: Option<String>,
        /// Who collected it
        #[arg(long)]
        by: Option<String>,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// List the ledger's entries
    List {
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// Show one entry by sequence number or hash prefix
    Show {
        /// Sequence number, or the start of an entry or file hash
        id: String,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// Re-hash every file and check the chain and every signature (of the project, or of a package)
    Verify {
        /// An exported package to verify offline instead of the project's store
        package: Option<PathBuf>,
        /// The public key the package must be signed with (hex); defaults to the project's pinned key when there is a project
        #[arg(long)]
        key: Option<String>,
        /// A signed head statement (from `assure evidence head`) the ledger must still hold
        #[arg(long, value_name = "FILE")]
        expect_head: Option<PathBuf>,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// Write a package (archive, manifest, public key) an auditor verifies offline
    Export {
        /// The package to write (.tar)
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Print the project's public key
    Key,
    /// Write a signed statement of the ledger's head (entries, last hash, time) to hand to an auditor
    Head {
        /// Where to write it (default: standard output)
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Rebuild every columnar copy from its original and check it against the hash in the ledger
    Rebuild {
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// List the evidence tables and their columns
    Tables {
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
}

/// A progress line on standard error, redrawn five times a second from the library's byte counter
/// with the rate and the time left; removed when dropped.
struct Progress {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    fn start(total: u64) -> Progress {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let base = import::bytes_processed();
        let started = std::time::Instant::now();
        let thread = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(200));
                let done = import::bytes_processed().saturating_sub(base).min(total);
                let secs = started.elapsed().as_secs_f64().max(0.001);
                let rate = done as f64 / secs;
                let left = if rate > 0.0 { (total - done) as f64 / rate } else { 0.0 };
                eprint!(
                    "\r\x1b[2K importing: {:.0} of {:.0} MB ({:.0} %), {:.1} MB/s, about {:.0} s left",
                    done as f64 / 1e6,
                    total as f64 / 1e6,
                    if total > 0 {
                        done as f64 * 100.0 / total as f64
                    } else {
                        100.0
                    },
                    rate / 1e6,
                    left
                );
            }
            eprint!("\r\x1b[2K");
        });
        Progress {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Returns the current instant as recorded in the ledger; the CLI's one reading of the wall clock for records.
pub fn now() -> String {
    Workspace::now()
}

/// Returns who is acting: `--by`, else `$ASSURE_USER`, else `$USER`.
pub fn who(by: Option<String>) -> String {
    by.or_else(|| std::env::var("ASSURE_USER").ok())
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// Opens the project for recording through the application layer (the one key-pin check), and
/// says so when this pinned the key in `assure.toml`.
pub(crate) fn open(dir: &Path, create_key: bool) -> Result<Writable, CliError> {
    let w = Workspace::new(dir).open_write(create_key)?;
    if let Some(created) = w.pinned_now {
        eprintln!(
            "{} the ledger key; its public half is now pinned in {} (commit it)",
            if created { "created" } else { "found" },
            dir.join("assure.toml").display()
        );
    }
    Ok(w)
}

/// Warns about event files whose rows' days lie wholly outside the period they are recorded for:
/// they will be used by the windows their days overlap (next year's export recorded before the
/// period was rolled, say), which is rarely what was meant.
fn warn_outside(planned: &[import::Planned], start: NaiveDate, end: NaiveDate) {
    for p in planned {
        if assure_evidence::tables::is_snapshot(p.table) {
            continue;
        }
        let Some([first, last]) = &p.covers else { continue };
        let (Ok(f), Ok(l)) = (crate::parse_date(first), crate::parse_date(last)) else {
            continue;
        };
        if l < start || f > end {
            eprintln!(
                "warning: {}: its rows date from {f} to {l}, outside the period {start} to {end} it is recorded for; runs use it for the windows those days fall in",
                p.name
            );
            eprintln!(
                "  = hint: to record it for the period its days are in, pass --period NAME (`assure period list`), after `assure period roll` if that period is next"
            );
        }
    }
}

fn parse_period(text: Option<&str>, p: &Project) -> Result<(Option<String>, Option<String>), CliError> {
    if let Some(t) = text
        && !t.contains("..")
    {
        let per = p.select_period(Some(t)).map_err(|e| {
            CliError::problems(e.to_string()).with_hint(
                "name a period from `assure period list`, or write dates FROM..TO, such as 2026-01-01..2026-06-30",
            )
        })?;
        eprintln!("recording for period {}", per.describe());
        return Ok((Some(per.start.to_string()), Some(per.end.to_string())));
    }
    if let Some(t) = text {
        let (a, b) = t.split_once("..").ok_or_else(|| {
            CliError::problems(format!("`{t}` is not a period"))
                .with_hint("write FROM..TO, such as 2026-01-01..2026-06-30")
        })?;
        let a = crate::parse_date(a).map_err(CliError::problems)?;
        let b = crate::parse_date(b).map_err(CliError::problems)?;
        if a > b {
            return Err(CliError::problems(format!("the period `{t}` ends before it starts")));
        }
        return Ok((Some(a.to_string()), Some(b.to_string())));
    }
    if let Some(current) = p.current_period() {
        eprintln!(
            "recording for period {} (the current one; --period names another)",
            current.describe()
        );
    }
    let s = &p.manifest.scope;
    let d = |x: &Option<assure_project::model::Spanned<assure_project::model::Date>>| {
        x.as_ref().map(|v| v.get_ref().to_string())
    };
    Ok(match (d(&s.period_start), d(&s.period_end), d(&s.as_of)) {
        (Some(a), Some(b), _) => (Some(a), Some(b)),
        (_, _, Some(x)) => (Some(x.clone()), Some(x)),
        _ => (None, None),
    })
}

fn batch_id(at: &str, by: &str, names: &[String]) -> String {
    let mut h = blake3::Hasher::new();
    h.update(at.as_bytes());
    h.update(by.as_bytes());
    h.update(&std::process::id().to_le_bytes());
    for n in names {
        h.update(n.as_bytes());
    }
    h.finalize().to_hex().get(..16).unwrap_or_default().to_string()
}

/// Reads the ledger's entries; lines that are not entries are printed as warnings, never dropped
/// unseen.
fn entries(text: &str) -> Vec<Entry> {
    let parsed = assure_ledger::parse(text);
    crate::report_cmd::warn_problems(&parsed.problem_lines());
    parsed.entries
}

fn json_out<T: serde::Serialize>(v: &T) -> Result<(), CliError> {
    print(&format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default()))
}

/// Runs `assure evidence`; `project` is the project directory (`-p`, default `.`).
pub fn run(cmd: EvidenceCommand, project: PathBuf) -> Result<ExitCode, CliError> {
    match cmd {
        EvidenceCommand::Import {
            files,
            table,
            connector,
            period,
            note,
            by,
            json,
        } => {
            let files = import::expand(&files).map_err(|p| CliError::problems(p.to_string()))?;
            // Validation reads every byte of an export once, and the copy it makes while reading is
            // what is stored; a record is read once, when stored: progress counts each byte once.
            let total: u64 = files
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum::<u64>();
            let progress =
                (!json && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| Progress::start(total));
            // A folder as users have it: exports through their connectors, records as they are.
            let planned = Workspace::new(&project).plan_folder(&files, table, connector);
            let (planned, records) = match planned {
                Ok(p) => p,
                Err(problems) => {
                    import::cleanup(&files);
                    let mut text = String::new();
                    for p in &problems {
                        text.push_str(&format!("{p}\n"));
                    }
                    eprint!("{text}");
                    return Err(CliError::problems(format!(
                        "{} problem(s) in the input; nothing was imported",
                        problems.len()
                    )));
                }
            };
            let ctx = open(&project, true)?;
            if planned.is_empty() && records.is_empty() {
                import::cleanup(&files);
                return Err(
                    CliError::problems("nothing to import").with_hint("name export files or folders holding them")
                );
            }
            let (ps, pe) = parse_period(period.as_deref(), &ctx.project)?;
            if let (Some(a), Some(b)) = (&ps, &pe) {
                let day = |t: &str| crate::parse_date(t).map_err(CliError::problems);
                let (a, b) = (day(a)?, day(b)?);
                Workspace::new(&project).refuse_closed(&ctx.project, a, b, "record evidence")?;
                warn_outside(&planned, a, b);
            }
            let at = now();
            let by = who(by);
            let names: Vec<String> = planned
                .iter()
                .map(|p| p.name.clone())
                .chain(records.iter().map(|r| r.name.clone()))
                .collect();
            let meta = Meta {
                batch: batch_id(&at, &by, &names),
                at,
                by,
                period_start: ps,
                period_end: pe,
                note,
            };
            let project_ref = &ctx.project;
            let controls_for = |t: &str| assure_workspace::evidence::controls_for_table(project_ref, t);
            if !json {
                for p in &planned {
                    eprintln!(
                        "{}: connector {} ({}), table {}, {} rows",
                        p.name, p.connector, p.chosen, p.table, p.rows
                    );
                }
            }
            if !json {
                for r in &records {
                    let dated = r
                        .period
                        .as_ref()
                        .map(|(d, _)| format!(", dated {d}"))
                        .unwrap_or_default();
                    match r.controls.first() {
                        Some(c) => eprintln!("{}: a record, for control {c}{dated}", r.name),
                        None => eprintln!(
                            "{}: a record, for no control (its name names none: call it after one, such as GOV-09-2026-03-31.pdf, or use `assure evidence add --control ID`){dated}",
                            r.name
                        ),
                    }
                }
            }
            let recorded = import::commit_with_records(&ctx.store, &ctx.key, &planned, &records, &meta, &controls_for);
            import::cleanup(&files);
            drop(progress);
            let recorded = recorded?;
            if json {
                json_out(
                    &serde_json::json!({"batch": meta.batch, "files": planned, "records": records, "entries": recorded}),
                )?;
            } else {
                let rows: u64 = planned.iter().map(|p| p.rows).sum();
                let (first, last) = (
                    recorded.first().map_or(0, |e| e.seq),
                    recorded.last().map_or(0, |e| e.seq),
                );
                print(&format!(
                    "imported {} export(s), {rows} rows, and {} record(s), as ledger entries {first}–{last} (batch {})\n",
                    planned.len(),
                    records.len(),
                    meta.batch
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Add {
            file,
            controls,
            period,
            note,
            by,
            json,
        } => {
            let ctx = open(&project, true)?;
            for c in &controls {
                if ctx.project.control(c).is_none() {
                    return Err(CliError::problems(format!("unknown control `{c}`"))
                        .with_hint("control ids are the `id` of a file in `controls/`"));
                }
            }
            let (ps, pe) = parse_period(period.as_deref(), &ctx.project)?;
            let at = now();
            let by = who(by);
            let meta = Meta {
                batch: batch_id(&at, &by, &[file.display().to_string()]),
                at,
                by,
                period_start: ps,
                period_end: pe,
                note,
            };
            let e = import::add(&ctx.store, &ctx.key, &file, controls, &meta)?;
            if json {
                json_out(&e)?;
            } else {
                let b = e.draft.blob.as_ref();
                print(&format!(
                    "recorded `{}` ({} bytes, SHA-256 {}) as ledger entry {}\n",
                    b.map_or("", |b| b.name.as_str()),
                    b.map_or(0, |b| b.size),
                    b.map_or("", |b| b.sha256.as_str()),
                    e.seq
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::List { json } => {
            let store = Workspace::new(&project).store()?;
            check(&project)?;
            let list = entries(&store.ledger()?);
            if json {
                return json_out(&list).map(|()| ExitCode::SUCCESS);
            }
            let mut s = format!(
                "{:>5}  {:<20}  {:<7} {:<18} {:>8}  {:<28} {}\n",
                "Entry", "Collected", "Action", "Table", "Rows", "File", "Controls"
            );
            for e in &list {
                let d = &e.draft;
                s.push_str(&format!(
                    "{:>5}  {:<20}  {:<7} {:<18} {:>8}  {:<28} {}\n",
                    e.seq,
                    d.at,
                    d.action.as_str(),
                    d.table.as_deref().unwrap_or("-"),
                    d.rows.map_or("-".into(), |r| r.to_string()),
                    d.blob.as_ref().map_or("-".to_string(), |b| b
                        .name
                        .chars()
                        .rev()
                        .take(28)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect()),
                    crate::summarize(&d.controls, 6)
                ));
            }
            s.push_str(&format!(
                "{} entries (a long control list shows its first items; `--json` or `assure evidence show ENTRY` has all)\n",
                list.len()
            ));
            print(&s)?;
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Show { id, json } => {
            let store = Workspace::new(&project).store()?;
            let list = entries(&store.ledger()?);
            let found = list.iter().find(|e| {
                id.parse::<u64>().ok() == Some(e.seq)
                    || (id.len() >= 6
                        && (e.hash.starts_with(&id)
                            || e.draft
                                .blob
                                .as_ref()
                                .is_some_and(|b| b.blake3.starts_with(&id) || b.sha256.starts_with(&id))))
            });
            let Some(e) = found else {
                return Err(CliError::problems(format!("no ledger entry `{id}`"))
                    .with_hint("`assure evidence list` shows the entries"));
            };
            if json {
                return json_out(e).map(|()| ExitCode::SUCCESS);
            }
            let d = &e.draft;
            let mut s = format!("Entry {}\n", e.seq);
            let mut row = |k: &str, v: String| s.push_str(&format!("  {k:<14} {v}\n"));
            row("action", d.action.to_string());
            row("collected at", d.at.clone());
            row("collected by", d.by.clone());
            if let Some(b) = &d.blob {
                row("file", b.name.clone());
                row("size", format!("{} bytes", b.size));
                row("sha-256", b.sha256.clone());
                row("blake3", b.blake3.clone());
            }
            if let Some(c) = &d.connector {
                row("connector", c.clone());
            }
            if let Some(t) = &d.table {
                row("table", format!("{t} ({} rows)", d.rows.unwrap_or(0)));
            }
            if let (Some(a), Some(b)) = (&d.period_start, &d.period_end) {
                row("period", format!("{a} to {b}"));
            }
            row(
                "controls",
                if d.controls.is_empty() {
                    "-".into()
                } else {
                    d.controls.join(", ")
                },
            );
            if let Some(n) = &d.note {
                row("note", n.clone());
            }
            if let Some(b) = &d.batch {
                row("batch", b.clone());
            }
            if let Some(m) = &d.mapping {
                row("mapping", serde_json::to_string(m).unwrap_or_default());
            }
            row("previous", e.prev.clone());
            row("hash", e.hash.clone());
            row("signature", e.sig.clone());
            print(&s)?;
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Verify {
            package: Some(pkg),
            key,
            json,
            expect_head,
        } => {
            if expect_head.is_some() {
                return Err(
                    CliError::problems("--expect-head checks a project's ledger, not a package")
                        .with_hint("a package carries its own signed head; verify it without --expect-head"),
                );
            }
            let pinned = key.or_else(|| {
                check(&project)
                    .ok()
                    .and_then(|c| c.project.manifest.evidence.public_key)
            });
            let (manifest, report) =
                package::verify_package(&pkg, pinned.as_deref()).map_err(|e| CliError::problems(e.to_string()))?;
            let origin = format!(
                "package {} ({}), signed by ed25519:{}{}",
                pkg.display(),
                manifest.organization,
                short(&manifest.public_key),
                if pinned.is_some() {
                    ", checked against the pinned key"
                } else {
                    "; pass --key to check it against a key you trust"
                }
            );
            finish_verify(&origin, &report, json)
        }
        EvidenceCommand::Verify {
            package: None,
            key,
            json,
            expect_head,
        } => {
            let head: Option<assure_ledger::Head> = match &expect_head {
                None => None,
                Some(path) => {
                    let text = std::fs::read_to_string(path).map_err(CliError::io("read", path))?;
                    Some(serde_json::from_str(&text).map_err(|e| {
                        CliError::problems(format!("`{}` is not a head statement: {e}", path.display()))
                            .with_hint("write one with `assure evidence head -o FILE`")
                    })?)
                }
            };
            let Some(v) = Workspace::new(&project).verify_expecting(key, head.as_ref())? else {
                return Err(CliError::problems("no public key is pinned in `assure.toml`")
                    .with_hint("import evidence first, or pass --key"));
            };
            let (pinned, report) = (v.key, v.report);
            // Files stored but never recorded (an import interrupted in between): not evidence.
            let store = Workspace::new(&project).store()?;
            let named: std::collections::BTreeSet<String> = assure_ledger::parse(&store.ledger()?)
                .entries
                .iter()
                .filter_map(|e| e.draft.blob.as_ref().map(|b| b.blake3.clone()))
                .collect();
            let orphans = store.orphans(&named)?;
            if !orphans.is_empty() && !json {
                eprintln!(
                    "note: {} stored file(s) are named by no ledger entry (left by an interrupted import); they are not evidence and can be deleted:",
                    orphans.len()
                );
                for o in orphans.iter().take(20) {
                    eprintln!("  {o}");
                }
            }
            finish_verify(
                &format!(
                    "ledger of {}, signed by ed25519:{} (pinned in assure.toml)",
                    project.display(),
                    short(&pinned)
                ),
                &report,
                json,
            )
        }
        EvidenceCommand::Export { output } => {
            let ctx = open(&project, false)?;
            let m = package::export(&ctx.store, &ctx.project.manifest.organization.name, &ctx.key, &output)?;
            print(&format!(
                "wrote {}: {} entries, {} files, head {}\nverify it anywhere with `assure evidence verify {} --key {}`\n",
                output.display(),
                m.entries,
                m.blobs,
                m.head.as_deref().map_or("-", short),
                output.display(),
                ctx.public
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Rebuild { json } => {
            let ws = Workspace::new(&project);
            let store = ws.store()?;
            let parsed = assure_ledger::parse(&store.ledger()?);
            crate::report_cmd::warn_problems(&parsed.problem_lines());
            let tty = !json && std::io::IsTerminal::is_terminal(&std::io::stderr());
            let results = assure_evidence::load::rebuild(&store, &parsed.entries, &mut |done, total| {
                if tty {
                    eprint!("\r\x1b[2K rebuilding columnar copies [{done}/{total}]");
                }
            })?;
            if tty {
                eprint!("\r\x1b[2K");
            }
            let failed: Vec<_> = results.iter().filter(|r| r.result.is_err()).collect();
            if json {
                let v: Vec<_> = results
                    .iter()
                    .map(|r| serde_json::json!({"entry": r.seq, "file": r.name, "ok": r.result.is_ok(), "problem": r.result.as_ref().err()}))
                    .collect();
                json_out(
                    &serde_json::json!({"rebuilt": results.len() - failed.len(), "failed": failed.len(), "entries": v}),
                )?;
            } else {
                let mut s = String::new();
                for r in &failed {
                    if let Err(e) = &r.result {
                        s.push_str(&format!("  entry {} ({}): {e}\n", r.seq, r.name));
                    }
                }
                s.push_str(&format!(
                    "rebuilt {} columnar cop{} from the originals; each has the hash its ledger entry records{}\n",
                    results.len() - failed.len(),
                    if results.len() - failed.len() == 1 { "y" } else { "ies" },
                    if failed.is_empty() {
                        String::new()
                    } else {
                        format!("; {} could not be rebuilt (above)", failed.len())
                    }
                ));
                print(&s)?;
            }
            Ok(if failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(PROBLEMS)
            })
        }
        EvidenceCommand::Head { output } => {
            let head = Workspace::new(&project).head(&Workspace::now())?;
            let text = serde_json::to_string_pretty(&head).unwrap_or_default() + "\n";
            match output {
                Some(path) => {
                    crate::write_atomically(&path, &text)?;
                    eprintln!(
                        "wrote {}: {} entries, head {}; `assure evidence verify --expect-head {}` proves the ledger still holds it",
                        path.display(),
                        head.entries,
                        short(&head.head),
                        path.display()
                    );
                }
                None => print(&text)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Key => {
            let ctx = open(&project, true)?;
            print(&format!("{}\n", ctx.public))?;
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Tables { json } => {
            if json {
                let v: Vec<_> = TABLES
                    .iter()
                    .map(|t| serde_json::json!({"name": t.name, "about": t.about, "columns": t.columns.iter().map(|c| serde_json::json!({"name": c.name, "type": c.ty.label(), "required": c.required, "allowed": c.allowed})).collect::<Vec<_>>()}))
                    .collect();
                return json_out(&v).map(|()| ExitCode::SUCCESS);
            }
            let mut s = String::new();
            for t in TABLES {
                s.push_str(&format!("{}: {}\n", t.name, t.about));
                for c in t.columns {
                    let allowed = if c.allowed.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", c.allowed.join(", "))
                    };
                    s.push_str(&format!(
                        "  {:<24} {}{}{}\n",
                        c.name,
                        c.ty.label(),
                        if c.required { "" } else { ", optional" },
                        allowed
                    ));
                }
            }
            print(&s)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn short(hex: &str) -> &str {
    hex.get(..16).unwrap_or(hex)
}

fn finish_verify(origin: &str, report: &Report, json: bool) -> Result<ExitCode, CliError> {
    if json {
        json_out(&serde_json::json!({"ok": report.ok(), "source": origin, "report": report}))?;
    } else {
        let mut s = format!(
            "{origin}\n{} entries, {} files ({} bytes) re-hashed, head {}\n",
            report.entries,
            report.blobs,
            report.bytes,
            report.head.as_deref().map_or("-", short)
        );
        if report.ok() {
            s.push_str("OK: no entry or file was altered, removed, reordered or forged\n");
        } else {
            for f in &report.findings {
                s.push_str(&format!("  {f}\n"));
            }
            s.push_str(&format!("FAILED: {} problem(s)\n", report.findings.len()));
        }
        print(&s)?;
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(PROBLEMS)
    })
}
