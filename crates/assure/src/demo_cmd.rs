//! `assure demo` and `assure synth`: the sample company with a year of synthetic evidence.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use assure_assess::render;
use assure_engine::Window;
use assure_evidence::import::{self, Meta};
use assure_project::model::ExamType;
use assure_project::{Project, check};
use assure_synth::{Config, Named, generate};
use assure_workspace::{RunOptions, Workspace, Writable};
use chrono::NaiveDate;
use clap::Args;

use crate::error::CliError;
use crate::{parse_date, print};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to create the sample project
    #[arg(default_value = "assure-demo")]
    dir: PathBuf,
    /// The random seed; the same seed gives the same company and the same exceptions
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// People on the roster
    #[arg(long, default_value_t = 120)]
    people: usize,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// The project whose people, policies, vendors, risks and period the data follows (set by `-p`)
    #[arg(skip)]
    pub project: PathBuf,
    /// Where to write the CSV files
    #[arg(long, short)]
    output: PathBuf,
    /// The random seed
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// People on the roster
    #[arg(long, default_value_t = 120)]
    people: usize,
    /// Merged changes per engineer per week
    #[arg(long, default_value_t = 1.5)]
    changes_per_engineer_week: f64,
    /// Audit-log events per person per day
    #[arg(long, default_value_t = 0.5)]
    events_per_person_day: f64,
    /// Generate up to this date (defaults to the end of the scope's period)
    #[arg(long, value_parser = parse_date)]
    as_of: Option<NaiveDate>,
}

fn config(p: &Project, seed: u64, people: usize, as_of: Option<NaiveDate>) -> Result<Config, CliError> {
    let scope = &p.manifest.scope;
    let (start, end) = match (&scope.period_start, &scope.period_end) {
        (Some(a), Some(b)) => (a.get_ref().0, b.get_ref().0),
        _ => {
            return Err(CliError::problems("the project's scope has no period")
                .with_hint("set `period_start` and `period_end` in `[scope]`"));
        }
    };
    let domain = p
        .manifest
        .organization
        .email_domains
        .first()
        .cloned()
        .unwrap_or_else(|| "example.com".into());
    Ok(Config {
        seed,
        people,
        domain,
        named: p
            .people
            .iter()
            .map(|x| Named {
                email: x.email.clone(),
                name: x.name.clone(),
                title: x.title.clone().unwrap_or_default(),
                aliases: x.aliases.clone(),
            })
            .collect(),
        period_start: start,
        period_end: end,
        as_of: as_of.unwrap_or(end),
        policies: p
            .policies
            .iter()
            .filter(|x| x.applies_to.as_deref().unwrap_or("all") == "all")
            .filter_map(|x| Some((x.id.to_string(), x.version.clone()?, x.approved_on?.0)))
            .collect(),
        vendors: p
            .vendors
            .iter()
            .map(|v| {
                (
                    v.id.to_string(),
                    v.name.clone(),
                    v.criticality.clone().unwrap_or_else(|| "medium".into()),
                    v.subservice,
                )
            })
            .collect(),
        risks: p.risks.iter().map(|r| r.id.to_string()).collect(),
        changes_per_engineer_week: 1.5,
        events_per_person_day: 0.5,
        plant: true,
    })
}

/// Writes one CSV per table under `out`; returns the files and the planted exceptions.
fn write_exports(cfg: &Config, out: &Path) -> Result<(Vec<PathBuf>, Vec<assure_synth::Planted>), CliError> {
    std::fs::create_dir_all(out).map_err(CliError::io("create", out))?;
    let mut files: BTreeMap<String, File> = BTreeMap::new();
    let mut error = None;
    let planted = generate(cfg, &mut |table, chunk| {
        if error.is_some() {
            return;
        }
        let path = out.join(format!("{table}.csv"));
        let f = match files.entry(table.to_string()) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => match File::create(&path) {
                Ok(f) => v.insert(f),
                Err(e) => {
                    error = Some(format!("cannot create `{}`: {e}", path.display()));
                    return;
                }
            },
        };
        if let Err(e) = f.write_all(chunk.as_bytes()) {
            error = Some(format!("cannot write `{}`: {e}", path.display()));
        }
    });
    if let Some(e) = error {
        return Err(CliError::failure(e));
    }
    // A table with no rows is not written: an import refuses a header-only file (an empty
    // population is recorded with `evidence add` and a note), so it would stop the whole import.
    let mut paths = Vec::new();
    for table in files.into_keys() {
        let path = out.join(format!("{table}.csv"));
        let text = std::fs::read(&path).map_err(CliError::io("read", &path))?;
        if text.iter().filter(|b| **b == b'\n').count() <= 1 {
            std::fs::remove_file(&path).map_err(CliError::io("remove", &path))?;
            eprintln!(
                "note: {table} has no rows for this project{}; no {table}.csv written",
                if table == "policy_acceptances" {
                    " (people accept only approved policies: `assure policy approve`)"
                } else {
                    ""
                }
            );
            continue;
        }
        paths.push(path);
    }
    let planted_path = out.join("_planted.json");
    std::fs::write(
        &planted_path,
        serde_json::to_string_pretty(&planted).unwrap_or_default(),
    )
    .map_err(CliError::io("write", &planted_path))?;
    Ok((paths, planted))
}

pub fn synth(args: SynthArgs) -> Result<ExitCode, CliError> {
    // The project as the workspace reads it: policies approved as the ledger records.
    let p = Workspace::new(&args.project).open_read()?.project;
    let mut cfg = config(&p, args.seed, args.people, args.as_of)?;
    cfg.changes_per_engineer_week = args.changes_per_engineer_week;
    cfg.events_per_person_day = args.events_per_person_day;
    let (mut files, mut planted) = write_exports(&cfg, &args.output)?;
    keep_registers(&args.project, &p, &args.output, &mut files, &mut planted, false)?;
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    print(&format!(
        "wrote {} files ({bytes} bytes) and _planted.json ({} planted exceptions) to {}\n",
        files.len(),
        planted.len(),
        args.output.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Management's account of each significant (sev1, sev2) incident the synthetic incident export
/// holds for the period, appended to `assure.toml` as `[[system.incidents]]` tables linked by
/// `incident_id`: what a company writes for its description's significant incidents.
fn append_incident_accounts(
    dir: &std::path::Path,
    incidents: &std::path::Path,
    cfg: &assure_synth::Config,
) -> Result<(), CliError> {
    let csv = std::fs::read_to_string(incidents).map_err(CliError::io("read", incidents))?;
    let mut text = String::new();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let [id, sev, category, detected, resolved, postmortem, impact] = f[..] else {
            continue;
        };
        let day = |t: &str| t.get(..10).unwrap_or("").to_string();
        let detected_on = day(detected);
        let in_period = chrono::NaiveDate::parse_from_str(&detected_on, "%Y-%m-%d")
            .is_ok_and(|d| d >= cfg.period_start && d <= cfg.period_end);
        if !(sev == "sev1" || sev == "sev2") || !in_period {
            continue;
        }
        let account = format!(
            "{} incident rated {sev}, detected by monitoring on {detected_on}; service restored on {}. {} {}",
            match category {
                "security" => "Security",
                "privacy" => "Privacy",
                _ => "Availability",
            },
            day(resolved),
            if impact == "true" {
                "Customers were affected and were notified."
            } else {
                "No customer data or customer-facing commitment was affected."
            },
            if postmortem.is_empty() {
                "No postmortem has been published.".to_string()
            } else {
                format!("The postmortem was published on {}.", day(postmortem))
            }
        );
        text.push_str(&format!(
            "\n[[system.incidents]]\nincident_id = \"{id}\"\ndate = {detected_on}\ntext = \"{account}\"\n"
        ));
    }
    if text.is_empty() {
        return Ok(());
    }
    let path = dir.join("assure.toml");
    let mut toml = std::fs::read_to_string(&path).map_err(CliError::io("read", &path))?;
    toml.push_str("\n# Significant incidents of the period (sev1 and sev2), as management describes them.");
    toml.push_str(&text);
    crate::write_atomically(&path, toml)
}

/// The sample company keeps its vendor and risk registers in its own files, and the tests read
/// them from there: the generated copies of those tables are not imported, and the exception the
/// generator would plant in the risks table is planted in the register instead (its last risk was
/// last reviewed before the period) when `plant` is set; `assure synth` leaves the register alone.
fn keep_registers(
    dir: &Path,
    p: &Project,
    exports: &Path,
    files: &mut Vec<PathBuf>,
    planted: &mut Vec<assure_synth::Planted>,
    plant: bool,
) -> Result<(), CliError> {
    use assure_workspace::registers;
    let kept: Vec<&str> = registers::TABLES
        .iter()
        .copied()
        .filter(|t| registers::keeps(p, t))
        .collect();
    files.retain(|f| !kept.iter().any(|t| f.file_stem().is_some_and(|s| s == *t)));
    for t in &kept {
        let _ = std::fs::remove_file(exports.join(format!("{t}.csv")));
    }
    if kept.contains(&"risks") {
        planted.retain(|x| x.test != "risk-register-reviewed");
    }
    if kept.contains(&"risks") && plant {
        let path = dir.join("risks/register.toml");
        let text = std::fs::read_to_string(&path).map_err(CliError::io("read", &path))?;
        let start = p.manifest.scope.period_start.as_ref().map(|d| d.get_ref().0);
        if let (Some(block), Some(start)) = (text.rfind("[[risk]]"), start) {
            let (head, tail) = text.split_at(block);
            let id = tail
                .lines()
                .find_map(|l| l.strip_prefix("id = "))
                .map(|v| v.trim_matches('"').to_string())
                .unwrap_or_default();
            let stale = start - chrono::Days::new(40);
            let tail: String = tail
                .lines()
                .map(|l| {
                    if l.starts_with("reviewed_on = ") {
                        format!("reviewed_on = {stale}\n")
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect();
            crate::write_atomically(&path, format!("{head}{tail}"))?;
            planted.push(assure_synth::Planted {
                test: "risk-register-reviewed",
                item: id,
                what: "a risk last reviewed before the period",
            });
        }
    }
    if !kept.is_empty() {
        let planted_path = exports.join("_planted.json");
        crate::write_atomically(
            &planted_path,
            serde_json::to_string_pretty(&planted).unwrap_or_default(),
        )?;
    }
    Ok(())
}

pub fn demo(args: DemoArgs) -> Result<ExitCode, CliError> {
    let dir = &args.dir;
    let step = |s: &str| eprintln!("==> {s}");
    step(&format!("creating the sample SaaS company in {}", dir.display()));
    crate::init_cmd::cmd_init_quiet(dir)?;
    let ws = Workspace::new(dir);
    {
        // The sample company's chief executive approved every policy at the start of the year:
        // approvals recorded in the ledger, as `assure policy approve` records them.
        let (approver, on) = assure_project::init::policy_approval(assure_project::init::Template::Saas)?;
        step(&format!("recording the approval of every policy by {approver} on {on}"));
        let ids: Vec<String> = check(dir)?.project.policies.iter().map(|x| x.id.to_string()).collect();
        for id in ids {
            let input = assure_workspace::approval::ApproveInput {
                policy: id,
                approver: approver.clone(),
                on: Some(on),
                note: "approved at the annual policy review".into(),
            };
            ws.approve_policy(&input, &format!("{on}T12:00:00Z"), "assure-demo")?;
        }
    }
    let p = ws.open_read()?.project;
    let cfg = config(&p, args.seed, args.people, None)?;
    step(&format!(
        "generating a year of evidence for {} people (seed {})",
        cfg.people, cfg.seed
    ));
    let exports = dir.join("exports");
    let (mut files, mut planted) = write_exports(&cfg, &exports)?;
    keep_registers(dir, &p, &exports, &mut files, &mut planted, true)?;
    step(&format!(
        "importing {} exports through the connectors into the signed ledger",
        files.len()
    ));
    let mut planned = import::plan(&files, &assure_workspace::evidence::mapped_options(&p)).map_err(|ps| {
        CliError::failure(format!(
            "the generated evidence did not validate: {}",
            ps.first().map(ToString::to_string).unwrap_or_default()
        ))
    })?;
    // Record each file under its path inside the project (`exports/people.csv`), not where the
    // project happens to live on this machine.
    for f in &mut planned {
        if let Ok(rel) = f.path.strip_prefix(dir) {
            f.name = rel.display().to_string();
        }
    }
    let Writable { store, key, .. } = ws.open_write(true)?;
    let at = format!("{}T18:00:00Z", cfg.as_of);
    let controls_for = |t: &str| -> Vec<String> {
        p.controls
            .iter()
            .filter(|c| {
                c.evidence
                    .iter()
                    .any(|e| e.table.as_ref().is_some_and(|x| x.as_str() == t))
            })
            .map(|c| c.id.to_string())
            .collect()
    };
    let meta = Meta {
        at: at.clone(),
        by: "assure-demo".into(),
        period_start: Some(cfg.period_start.to_string()),
        period_end: Some(cfg.period_end.to_string()),
        note: Some(format!("synthetic evidence, seed {}", cfg.seed)),
        batch: format!("demo-seed-{}", cfg.seed),
    };
    import::commit(&store, &key, &planned, &meta, &controls_for)?;
    step("recording the records of periodic manual controls (minutes, reviews, sign-offs)");
    let records = exports.join("records");
    std::fs::create_dir_all(&records).map_err(CliError::io("create", &records))?;
    let mut missing_on_purpose = Vec::new();
    for c in p
        .controls
        .iter()
        .filter(|c| c.nature == Some(assure_project::model::Nature::Manual))
    {
        let Some(freq) = c.frequency else { continue };
        let slots = assure_assess::occurrences::expected(freq, cfg.period_start, cfg.period_end, cfg.as_of);
        for (i, slot) in slots.iter().enumerate() {
            // One quarterly security committee meeting left unrecorded: a missing occurrence.
            if c.id.as_str() == "GOV-09" && i == 2 {
                missing_on_purpose.push(format!("{} {}..{}", c.id, slot.start, slot.end));
                continue;
            }
            let path = records.join(format!("{}-{}.md", c.id, slot.start));
            let text = format!(
                "# {}: {}\n\nRecord for {} to {}, kept by the control owner.\n",
                c.id, c.title, slot.start, slot.end
            );
            std::fs::write(&path, text).map_err(CliError::io("write", &path))?;
            let m = Meta {
                period_start: Some(slot.start.to_string()),
                period_end: Some(slot.end.to_string()),
                note: Some("synthetic record".into()),
                ..meta.clone()
            };
            import::add(&store, &key, &path, vec![c.id.to_string()], &m)?;
        }
    }
    crate::write_atomically(
        &exports.join("_planted-occurrences.json"),
        serde_json::to_string_pretty(&missing_on_purpose).unwrap_or_default(),
    )?;
    step("running the Type 2 control tests over the whole period");
    let window = Window {
        period_start: cfg.period_start,
        period_end: cfg.period_end,
        as_of: cfg.as_of,
    };
    let (record, entry) = ws.run_tests(
        &assure_run::Engine,
        &RunOptions {
            window,
            exam: ExamType::Type2,
            only: Vec::new(),
            at: at.clone(),
            by: "assure-demo".into(),
            full: true,
            keep_if_unchanged: false,
            every_row: false,
        },
        &mut |_, _, _| {},
    )?;
    step("writing management's responses to the planted exceptions (responses.toml)");
    crate::write_atomically(
        &dir.join("responses.toml"),
        responses(&p, &record, &planted, &missing_on_purpose),
    )?;
    step("writing management's account of the period's significant incidents (assure.toml)");
    append_incident_accounts(dir, &exports.join("incidents.csv"), &cfg)?;
    step("assessing readiness and drafting the reports");
    let g = crate::report_cmd::gather(dir, cfg.as_of, None)?;
    let a = &g.assessment;
    let reports = dir.join("reports");
    std::fs::create_dir_all(&reports).map_err(CliError::io("create", &reports))?;
    crate::write_atomically(&reports.join("readiness.html"), render::html(a))?;
    crate::write_atomically(&reports.join("readiness.md"), render::markdown(a))?;
    crate::write_atomically(
        &reports.join("test-results.json"),
        serde_json::to_string_pretty(&record).unwrap_or_default(),
    )?;
    let inp = g.inputs();
    use crate::report_cmd::{ReportFormat as F, ReportKind as K, write_report};
    let mut written = Vec::new();
    for (kind, format, name) in [
        (K::Soc2, F::Pdf, "soc2-type2.pdf"),
        (K::Soc3, F::Pdf, "soc3.pdf"),
        (K::Readiness, F::Pdf, "readiness.pdf"),
        (K::Matrix, F::Xlsx, "control-matrix.xlsx"),
        (K::Soc2, F::Oscal, "oscal"),
    ] {
        let out = reports.join(name);
        let summary = write_report(kind, format, &inp, None, &out)?;
        written.push(format!("  reports/{name:<22} {summary}"));
    }
    let exceptions: usize = record.tests.iter().map(|t| t.exceptions).sum();
    let population: usize = record.tests.iter().map(|t| t.population).sum();
    print(&format!(
        "\n{org} is ready in {d}\n  evidence: {} exports in exports/, recorded in the signed ledger (.assure/evidence)\n  tests:    {} tests over {population} population items, {exceptions} exceptions ({} planted on purpose, listed in exports/_planted.json); run recorded as ledger entry {}\n  readiness: {:.1}% overall (reports/readiness.html, .md, .pdf)\n{}\n\nNext, try:\n  assure serve {d} --as-of {as_of}   # the web application (README: how to sign in)\n  assure test {d} --as-of {as_of}    # the exceptions, control by control\n  assure evidence verify -p {d}      # re-hash every file, check every signature\n",
        files.len(),
        record.tests.len(),
        planted.len(),
        entry.seq,
        a.overall.value * 100.0,
        written.join("\n"),
        as_of = cfg.as_of,
        org = p.manifest.organization.name,
        d = dir.display(),
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Management's responses for the sample company: one per test or control with exceptions, naming
/// what was planted, as a company would after investigating them.
fn responses(
    p: &assure_project::Project,
    record: &assure_run::RunRecord,
    planted: &[assure_synth::Planted],
    missing: &[String],
) -> String {
    let mut out = String::from(
        "# Management's responses to exceptions, printed in Section V of the report drafts.\n# Written by `assure demo` for the sample company; edit them like any project file.\n",
    );
    for t in record.tests.iter().filter(|t| t.exceptions > 0) {
        let mut whats: Vec<&str> = planted.iter().filter(|x| x.test == t.id).map(|x| x.what).collect();
        whats.sort_unstable();
        whats.dedup();
        let owner = t
            .controls
            .first()
            .and_then(|c| p.control(c))
            .and_then(|c| c.owner.as_ref())
            .map(|o| o.to_string());
        let cause = if whats.is_empty() {
            String::from("each was investigated")
        } else {
            whats.join("; ")
        };
        out.push_str(&format!(
            "\n[[response]]\nsubject = \"{}\"\ntext = \"\"\"\nThe control owner investigated the {} the test found ({cause}). Each item was corrected, the people involved were reminded of the procedure, and the test was added to the weekly compliance review so a recurrence is caught within days.\n\"\"\"\n{}",
            t.id,
            assure_report::plural(t.exceptions, "exception"),
            owner.map(|o| format!("owner = \"{o}\"\n")).unwrap_or_default()
        ));
    }
    for o in record.occurrences.iter().filter(|o| !o.missing.is_empty()) {
        let owner = p
            .control(&o.control)
            .and_then(|c| c.owner.as_ref())
            .map(|x| x.to_string());
        out.push_str(&format!(
            "\n[[response]]\nsubject = \"{}\"\ntext = \"\"\"\nThe {} record of this control for {} was not filed ({} missing in all). The owner now files each record within five business days, and the compliance lead checks each quarter that every record is on file.\n\"\"\"\n{}",
            o.control,
            o.frequency,
            o.missing.join(", "),
            missing.len(),
            owner.map(|x| format!("owner = \"{x}\"\n")).unwrap_or_default()
        ));
    }
    out
}
