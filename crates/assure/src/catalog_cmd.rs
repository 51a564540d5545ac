//! `assure catalog`: list, show and search the catalog; show a project's coverage of it.

use std::path::PathBuf;
use std::process::ExitCode;

use assure_catalog::{
    CatalogEntry, Category, DescriptionReport, ObjectiveFamily, criteria, criterion, description_elements,
    objective_template, objective_templates, search, series_by_id,
};
use clap::Subcommand;
use serde_json::json;

use crate::error::CliError;
use crate::print;

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// List criteria (default), SOC 1 objectives or description criteria
    List {
        /// Only this category (security, availability, processing_integrity, confidentiality, privacy)
        #[arg(long)]
        category: Option<String>,
        /// Only this series (CC6, A1, P4, ...)
        #[arg(long)]
        series: Option<String>,
        /// List the SOC 1 objective library instead (optionally one family: itgc, payroll, billing, payments, custody)
        #[arg(long, num_args = 0..=1, default_missing_value = "all")]
        objectives: Option<String>,
        /// List the description criteria (DC 200 and the SOC 1 elements) instead
        #[arg(long)]
        description: bool,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// Show one criterion or objective
    Show {
        /// The id (CC6.1, ITGC-LA, DC3)
        id: String,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// Search ids, titles and objective statements
    Search {
        /// Words that must all appear
        #[arg(required = true)]
        words: Vec<String>,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// Show how much of the catalog a project's scope and controls cover
    Coverage {
        /// The project directory (the same as `-p DIR`; default `.`)
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
}

fn criterion_json(c: &assure_catalog::Criterion) -> serde_json::Value {
    json!({"id": c.id, "series": c.series, "category": c.category.as_str(), "title": c.title,
           "coso_principle": c.coso_principle, "points_of_focus": c.points_of_focus})
}

fn objective_json(o: &assure_catalog::ObjectiveTemplate) -> serde_json::Value {
    json!({"id": o.id, "family": o.family.as_str(), "title": o.title, "statement": o.statement})
}

/// Runs `assure catalog`; `project` is `-p DIR`, for `coverage`.
pub fn run(cmd: CatalogCommand, project: Option<PathBuf>) -> Result<ExitCode, CliError> {
    match cmd {
        CatalogCommand::List {
            category,
            series,
            objectives,
            description,
            json,
        } => {
            if description {
                return list_description(json);
            }
            if let Some(family) = objectives {
                return list_objectives(&family, json);
            }
            let cat = match category.as_deref() {
                None => None,
                Some(c) => Some(Category::parse(c).ok_or_else(|| {
                    CliError::failure(format!("unknown category `{c}`"))
                        .with_hint("use security, availability, processing_integrity, confidentiality or privacy")
                })?),
            };
            let ser = match series.as_deref() {
                None => None,
                Some(s) => Some(series_by_id(s).ok_or_else(|| {
                    CliError::failure(format!("unknown series `{s}`"))
                        .with_hint("series are CC1–CC9, A1, PI1, C1 and P1–P8")
                })?),
            };
            let list: Vec<_> = criteria()
                .iter()
                .filter(|c| cat.is_none_or(|k| c.category == k) && ser.is_none_or(|s| c.series == s.id))
                .collect();
            if json {
                let v: Vec<_> = list.iter().map(|c| criterion_json(c)).collect();
                print(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()))?;
            } else {
                let mut s = format!(
                    "{:<7} {:<21} {:>4} {:>4}  {}\n",
                    "ID", "Category", "COSO", "PoF", "Title"
                );
                for c in &list {
                    let coso = c.coso_principle.map_or("-".to_string(), |p| p.to_string());
                    s.push_str(&format!(
                        "{:<7} {:<21} {:>4} {:>4}  {}\n",
                        c.id,
                        c.category.label(),
                        coso,
                        c.points_of_focus,
                        c.title
                    ));
                }
                s.push_str(&format!("{} criteria\n", list.len()));
                print(&s)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        CatalogCommand::Show { id, json } => show(&id, json),
        CatalogCommand::Search { words, json } => {
            let hits = search(&words.join(" "));
            if json {
                let v: Vec<_> = hits
                    .iter()
                    .map(|h| match h {
                        CatalogEntry::Criterion(c) => criterion_json(c),
                        CatalogEntry::Objective(o) => objective_json(o),
                    })
                    .collect();
                print(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()))?;
            } else {
                let mut s = String::new();
                for h in &hits {
                    s.push_str(&format!("{:<13} {}\n", h.id(), h.title()));
                }
                s.push_str(&format!("{} match(es)\n", hits.len()));
                print(&s)?;
            }
            Ok(if hits.is_empty() {
                ExitCode::from(crate::error::PROBLEMS)
            } else {
                ExitCode::SUCCESS
            })
        }
        CatalogCommand::Coverage { dir, json } => cmd_coverage(&crate::project_dir(project, dir)?, json),
    }
}

fn list_objectives(family: &str, json: bool) -> Result<ExitCode, CliError> {
    let fam = if family == "all" {
        None
    } else {
        Some(ObjectiveFamily::parse(family).ok_or_else(|| {
            CliError::failure(format!("unknown objective family `{family}`"))
                .with_hint("use itgc, payroll, billing, payments or custody")
        })?)
    };
    let list: Vec<_> = objective_templates()
        .iter()
        .filter(|o| fam.is_none_or(|f| o.family == f))
        .collect();
    if json {
        let v: Vec<_> = list.iter().map(|o| objective_json(o)).collect();
        print(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()))?;
    } else {
        let mut s = format!("{:<13} {:<32} {}\n", "ID", "Family", "Title");
        for o in &list {
            s.push_str(&format!("{:<13} {:<32} {}\n", o.id, o.family.label(), o.title));
        }
        s.push_str(&format!(
            "{} objectives (show one with `assure catalog show ID`)\n",
            list.len()
        ));
        print(&s)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn list_description(json: bool) -> Result<ExitCode, CliError> {
    let list = description_elements();
    if json {
        let v: Vec<_> = list
            .iter()
            .map(|d| json!({"id": d.id, "report": if d.report == DescriptionReport::Soc2 {"soc2"} else {"soc1"}, "title": d.title, "type2_only": d.type2_only, "source": d.source}))
            .collect();
        print(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()))?;
    } else {
        let mut s = format!("{:<16} {:<6} {}\n", "ID", "Report", "Must describe");
        for d in list {
            let r = if d.report == DescriptionReport::Soc2 {
                "SOC 2"
            } else {
                "SOC 1"
            };
            let t2 = if d.type2_only { " (Type 2 only)" } else { "" };
            s.push_str(&format!("{:<16} {:<6} {}{t2}\n", d.id, r, d.title));
        }
        print(&s)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn show(id: &str, json: bool) -> Result<ExitCode, CliError> {
    if let Some(c) = criterion(id) {
        if json {
            print(&format!(
                "{}\n",
                serde_json::to_string_pretty(&criterion_json(c)).unwrap_or_default()
            ))?;
        } else {
            let series = series_by_id(c.series).map_or("", |s| s.name);
            let mut s = format!("{}  {}\n\n", c.id, c.title);
            s.push_str(&format!("Category:         {}\n", c.category.label()));
            s.push_str(&format!("Series:           {} {}\n", c.series, series));
            if let Some(p) = c.coso_principle {
                s.push_str(&format!("COSO principle:   {p}\n"));
            }
            s.push_str(&format!("Points of focus:  {}\n", c.points_of_focus));
            print(&s)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(o) = objective_template(id) {
        if json {
            print(&format!(
                "{}\n",
                serde_json::to_string_pretty(&objective_json(o)).unwrap_or_default()
            ))?;
        } else {
            print(&format!(
                "{}  {}\n\nFamily:     {}\nObjective:  {}\n",
                o.id,
                o.title,
                o.family.label(),
                o.statement
            ))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(d) = description_elements()
        .iter()
        .find(|d| d.id.eq_ignore_ascii_case(id.trim()))
    {
        print(&format!(
            "{}  {}\n\nSupplied by:  {}\nType 2 only:  {}\n",
            d.id,
            d.title,
            d.source,
            if d.type2_only { "yes" } else { "no" }
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut near: Vec<&str> = search(id).iter().take(5).map(|e| e.id()).collect();
    if near.is_empty() {
        // Suggest the neighbours: the criteria of the same series, or objectives with the same prefix.
        let upper = id.trim().to_ascii_uppercase();
        let prefix = upper.split(['.', '-']).next().unwrap_or("");
        near = criteria().iter().filter(|c| c.series == prefix).map(|c| c.id).collect();
        near.extend(
            objective_templates()
                .iter()
                .filter(|o| o.id.starts_with(&format!("{prefix}-")))
                .map(|o| o.id),
        );
        near.truncate(9);
    }
    let mut err = CliError::problems(format!("`{id}` is not a criterion, objective or description criterion"));
    err = if near.is_empty() {
        err.with_hint("`assure catalog list` shows the criteria; `assure catalog list --objectives` the objectives")
    } else {
        err.with_hint(format!("did you mean {}?", near.join(", ")))
    };
    Err(err)
}

/// Prints the catalog coverage of a project.
fn cmd_coverage(dir: &std::path::Path, json: bool) -> Result<ExitCode, CliError> {
    let checked = assure_project::check(dir)?;
    let c = assure_assess::coverage::coverage(&checked.project);
    if json {
        print(&format!("{}\n", serde_json::to_string_pretty(&c).unwrap_or_default()))?;
    } else {
        print(&assure_assess::coverage::text(&c))?;
    }
    Ok(ExitCode::SUCCESS)
}
