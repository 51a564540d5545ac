//! The project's own registers as the evidence its tests read. A project that keeps its risk
//! register (`risks/*.toml`) or its vendor register (`vendors/*.toml`) in git is tested on those
//! files, not on a second imported copy that could disagree: before a run, each register is written
//! as its canonical table and recorded in the ledger under one fixed name (`register/risks.csv`),
//! only when its content changed, so each later copy supersedes the earlier one, and the run's
//! inputs name the exact copy it read. Imports of those tables from anywhere else are refused.

use assure_ledger::{Action, Entry};
use assure_project::Project;

/// The canonical tables a project may keep as a register in its own files.
pub const TABLES: [&str; 2] = ["risks", "vendors"];

/// The name a register's copy is recorded under.
pub fn file_name(table: &str) -> String {
    format!("register/{table}.csv")
}

/// Whether the project keeps `table` as a register in its own files.
pub fn keeps(project: &Project, table: &str) -> bool {
    match table {
        "risks" => !project.risks.is_empty(),
        "vendors" => !project.vendors.is_empty(),
        _ => false,
    }
}

/// Where the project keeps a register, for messages.
pub fn location(table: &str) -> &'static str {
    match table {
        "risks" => "risks/*.toml",
        _ => "vendors/*.toml",
    }
}

fn day_ts(d: chrono::NaiveDate) -> String {
    format!("{d}T00:00:00Z")
}

/// The register written as its canonical table (CSV, rows in id order); `None` when the project
/// keeps no such register. Deterministic: the same files give the same bytes.
pub fn csv(project: &Project, table: &str) -> Option<Vec<u8>> {
    if !keeps(project, table) {
        return None;
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut rows: Vec<Vec<String>> = Vec::new();
    let header: &[&str] = match table {
        "risks" => {
            for r in &project.risks {
                let owner = r
                    .owner
                    .as_ref()
                    .and_then(|o| project.person(o))
                    .map(|p| p.email.clone())
                    .unwrap_or_default();
                rows.push(vec![
                    r.id.to_string(),
                    r.title.clone(),
                    r.likelihood.to_string(),
                    r.impact.to_string(),
                    owner,
                    r.treatment.clone(),
                    r.reviewed_on.map(|d| day_ts(d.0)).unwrap_or_default(),
                ]);
            }
            &[
                "risk_id",
                "title",
                "likelihood",
                "impact",
                "owner_email",
                "treatment",
                "last_reviewed_at",
            ]
        }
        _ => {
            for v in &project.vendors {
                let latest = v.latest_report();
                let kind = latest
                    .map(|r| r.kind.clone())
                    .or_else(|| v.assurance.clone().filter(|a| a == "none"))
                    .unwrap_or_default();
                let unmapped = latest.map_or(0, |r| r.cuecs.iter().filter(|c| c.controls.is_empty()).count());
                let unassessed = latest.map_or(0, |r| {
                    r.exceptions
                        .iter()
                        .filter(|e| e.relevant && e.assessment.trim().is_empty())
                        .count()
                });
                rows.push(vec![
                    v.id.to_string(),
                    v.name.clone(),
                    v.criticality.clone().unwrap_or_default(),
                    v.subservice.to_string(),
                    v.data_access.clone().unwrap_or_default(),
                    kind,
                    latest.map(|r| r.period_end.0.to_string()).unwrap_or_default(),
                    v.last_reviewed().map(day_ts).unwrap_or_default(),
                    latest.map(|r| r.opinion.clone()).unwrap_or_default(),
                    latest.map(|r| r.covered_through().to_string()).unwrap_or_default(),
                    latest
                        .and_then(|r| r.reviewed_on)
                        .map(|d| day_ts(d.0))
                        .unwrap_or_default(),
                    latest.map(|_| unmapped.to_string()).unwrap_or_default(),
                    latest.map(|_| unassessed.to_string()).unwrap_or_default(),
                ]);
            }
            &[
                "vendor_id",
                "name",
                "criticality",
                "subservice",
                "data_access",
                "soc_report_type",
                "soc_report_period_end",
                "last_reviewed_at",
                "soc_report_opinion",
                "soc_report_covered_through",
                "soc_report_reviewed_at",
                "cuecs_unmapped",
                "exceptions_unassessed",
            ]
        }
    };
    rows.sort();
    w.write_record(header).ok()?;
    for r in &rows {
        w.write_record(r).ok()?;
    }
    w.into_inner().ok()
}

/// The register entry (its id and file) behind a row of the copy: rows are written in id order,
/// after a header line, so row `r` is the `r - 1`th entry by id.
fn entry_of(project: &Project, table: &str, row: u64) -> Option<(String, String)> {
    let mut all: Vec<(String, String)> = match table {
        "risks" => project
            .risks
            .iter()
            .map(|r| (r.id.to_string(), project.sources.path(r.file).to_string()))
            .collect(),
        _ => project
            .vendors
            .iter()
            .map(|v| (v.id.to_string(), project.sources.path(v.file).to_string()))
            .collect(),
    };
    all.sort();
    all.into_iter().nth(usize::try_from(row.checked_sub(2)?).ok()?)
}

/// Whether an import entry is a copy of `table` made somewhere other than the project's register.
pub fn is_outside_copy(project: &Project, e: &Entry) -> bool {
    e.draft.action == Action::Import
        && e.draft.table.as_deref().is_some_and(|t| keeps(project, t))
        && e.draft
            .blob
            .as_ref()
            .is_some_and(|b| b.name != file_name(e.draft.table.as_deref().unwrap_or("")))
}

/// Refuses an import of a table the project keeps as a register.
pub fn refuse_import(project: &Project, table: &str, file: &str) -> Result<(), crate::WorkspaceError> {
    if keeps(project, table) {
        return Err(crate::WorkspaceError::invalid(
            format!(
                "`{file}` is a `{table}` table, and this project keeps that register in {}: its tests read the register, so an imported copy could disagree with it",
                location(table)
            ),
            Some(
                "make the change in the register's files (it is recorded at the next test run); to keep the register outside the project instead, remove those files",
            ),
        ));
    }
    Ok(())
}

impl crate::Workspace {
    /// Records a copy of each register the project keeps and the selected tests read, for the
    /// window `start..end`, when its content differs from the copy already recorded for that window.
    /// Returns whether anything was recorded.
    pub(crate) fn record_registers(
        &self,
        w: &crate::Writable,
        entries: &[Entry],
        wanted: &std::collections::BTreeSet<&str>,
        window: (chrono::NaiveDate, chrono::NaiveDate),
        at: &str,
        by: &str,
    ) -> Result<bool, crate::WorkspaceError> {
        use assure_evidence::import;
        let (ws, we) = (window.0.to_string(), window.1.to_string());
        let mut recorded = false;
        for table in TABLES.iter().filter(|t| wanted.contains(**t)) {
            let Some(bytes) = csv(&w.project, table) else { continue };
            let name = file_name(table);
            let hash = blake3::hash(&bytes).to_hex().to_string();
            let same = entries
                .iter()
                .rev()
                .find(|e| {
                    e.draft.action == Action::Import
                        && e.draft.table.as_deref() == Some(*table)
                        && e.draft.blob.as_ref().is_some_and(|b| b.name == name)
                        && e.draft.period_start.as_deref() == Some(ws.as_str())
                        && e.draft.period_end.as_deref() == Some(we.as_str())
                })
                .and_then(|e| e.draft.blob.as_ref())
                .is_some_and(|b| b.blake3 == hash);
            if same {
                continue;
            }
            let opts = import::Options {
                table: Some((*table).to_string()),
                ..crate::evidence::mapped_options(&w.project)
            };
            let controls = crate::evidence::controls_for_table(&w.project, table);
            let meta = import::Meta {
                at: at.to_string(),
                by: by.to_string(),
                period_start: Some(ws.clone()),
                period_end: Some(we.clone()),
                note: Some(format!(
                    "the project's {} register ({}) as it read at this run",
                    if *table == "risks" { "risk" } else { "vendor" },
                    location(table)
                )),
                batch: format!("register-{}", crate::random_id()?),
            };
            self.staged(&format!("{table}.csv"), &bytes, |path| {
                let mut planned = import::plan(&[path.to_path_buf()], &opts).map_err(|ps| {
                    // Each problem names the register entry and its file, not the generated copy's row.
                    let said: Vec<String> = ps
                        .iter()
                        .take(5)
                        .map(|p| {
                            let at = p.row.and_then(|r| entry_of(&w.project, table, r));
                            match (at, &p.column) {
                                (Some((id, file)), Some(col)) => {
                                    format!("{file}, `{id}`, field `{col}`: {}", p.message)
                                }
                                (Some((id, file)), None) => format!("{file}, `{id}`: {}", p.message),
                                _ => p.to_string(),
                            }
                        })
                        .collect();
                    crate::WorkspaceError::invalid(
                        format!(
                            "the {table} register ({}) does not make a valid `{table}` table: {}{}",
                            location(table),
                            said.join("; "),
                            if ps.len() > 5 {
                                format!("; and {} more", ps.len() - 5)
                            } else {
                                String::new()
                            }
                        ),
                        Some(
                            "fix those fields in the register's files, then run the tests again; nothing was recorded",
                        ),
                    )
                })?;
                planned.iter_mut().for_each(|p| p.name = name.clone());
                import::commit(&w.store, &w.key, &planned, &meta, &|_| controls.clone())?;
                Ok(())
            })?;
            recorded = true;
        }
        Ok(recorded)
    }
}
