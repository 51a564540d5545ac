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
        /// List another framework's requirements instead, each with the criteria it maps to
        /// (iso27001, hipaa, gdpr, ccpa, sox-itgc, nist-csf; `all` lists the frameworks)
        #[arg(long, num_args = 0..=1, default_missing_value = "all")]
        framework: Option<String>,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
    },
    /// Show the crosswalk of a requirement (`iso27001:A.5.15`, `hipaa:164.312(b)`) to the criteria,
    /// or of a criterion (`CC6.1`) to every framework's requirements
    Crosswalk {
        /// A criterion, or FRAMEWORK:REQUIREMENT
        id: String,
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
            framework,
            json,
        } => {
            if description {
                return list_description(json);
            }
            if let Some(fw) = framework {
                return list_framework(&fw, json);
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
        CatalogCommand::Crosswalk { id, json } => crosswalk(&id, json),
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

fn unknown_framework(fw: &str) -> CliError {
    CliError::failure(format!("unknown framework `{fw}`")).with_hint(
        "frameworks are iso27001, hipaa, gdpr, ccpa, sox-itgc and nist-csf (`assure catalog list --framework`)",
    )
}

fn mapping_json(m: &assure_catalog::Mapping) -> serde_json::Value {
    json!({"framework": m.framework, "requirement": m.requirement, "criteria": m.criteria,
           "relation": m.relation.as_str(), "note": m.note})
}

/// `assure catalog list --framework [NAME]`: the frameworks, or one framework's requirements with
/// the criteria each maps to (a requirement no criterion covers is marked: the SOC 2 delta).
fn list_framework(fw: &str, json: bool) -> Result<ExitCode, CliError> {
    if fw == "all" {
        let all = assure_catalog::frameworks();
        if json {
            let v: Vec<_> = all
                .iter()
                .map(|f| json!({"id": f.id, "name": f.name, "about": f.about, "source": f.source, "soc_note": f.soc_note,
                                "requirements": assure_catalog::requirements(f.id).iter().filter(|r| r.kind != assure_catalog::Kind::Group).count()}))
                .collect();
            print(&format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()))?;
        } else {
            let mut s = format!("{:<10} {:>5}  {}\n", "ID", "Reqs", "Framework");
            for f in all {
                let n = assure_catalog::requirements(f.id)
                    .iter()
                    .filter(|r| r.kind != assure_catalog::Kind::Group)
                    .count();
                s.push_str(&format!("{:<10} {n:>5}  {}\n", f.id, f.name));
            }
            s.push_str("list one with `assure catalog list --framework ID`\n");
            print(&s)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let f = assure_catalog::framework(fw).ok_or_else(|| unknown_framework(fw))?;
    let reqs = assure_catalog::requirements(f.id);
    let maps = assure_catalog::mappings(f.id);
    let map_of = |id: &str| maps.iter().find(|m| m.requirement == id);
    if json {
        let v: Vec<_> = reqs
            .iter()
            .map(|r| {
                json!({"id": r.id, "parent": r.parent, "kind": r.kind.as_str(), "title": r.title,
                            "mapping": map_of(r.id).map(mapping_json)})
            })
            .collect();
        print(&format!("{}\n", serde_json::to_string_pretty(&json!({"framework": f.id, "name": f.name, "source": f.source, "soc_note": f.soc_note, "requirements": v})).unwrap_or_default()))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut s = format!("{}\n{}\nOfficial text: {}\n\n", f.name, f.about, f.source);
    let mut delta = 0;
    for r in &reqs {
        if r.kind == assure_catalog::Kind::Group {
            s.push_str(&format!("{}  {}\n", r.id, r.title));
            continue;
        }
        let crit = match map_of(r.id) {
            Some(m) if !m.criteria.is_empty() => format!("{} {}", m.relation.as_str(), m.criteria.join(" ")),
            _ => {
                delta += 1;
                "not covered by a SOC 2".to_string()
            }
        };
        s.push_str(&format!(
            "  {:<22} {:<11} {}  [{crit}]\n",
            r.id,
            r.kind.as_str(),
            r.title
        ));
    }
    let n = reqs.iter().filter(|r| r.kind != assure_catalog::Kind::Group).count();
    s.push_str(&format!(
        "\n{n} requirements; {delta} not covered by any criterion (the SOC 2 delta)\n{}\n",
        f.soc_note
    ));
    print(&s)?;
    Ok(ExitCode::SUCCESS)
}

/// `assure catalog crosswalk ID`: a requirement to the criteria, or a criterion to every framework.
fn crosswalk(id: &str, json: bool) -> Result<ExitCode, CliError> {
    if let Some((fw, req)) = id.split_once(':') {
        let f = assure_catalog::framework(fw).ok_or_else(|| unknown_framework(fw))?;
        let r = assure_catalog::requirement(f.id, req).ok_or_else(|| {
            CliError::failure(format!("{} has no requirement `{req}`", f.name))
                .with_hint(format!("`assure catalog list --framework {}` lists them", f.id))
        })?;
        let m = assure_catalog::mappings(f.id)
            .into_iter()
            .find(|m| m.requirement == r.id);
        if json {
            print(&format!(
                "{}\n",
                serde_json::to_string_pretty(&json!({"framework": f.id, "requirement": r.id, "kind": r.kind.as_str(), "title": r.title, "mapping": m.as_ref().map(mapping_json)}))
                    .unwrap_or_default()
            ))?;
            return Ok(ExitCode::SUCCESS);
        }
        let mut s = format!("{} {} ({})\n  {}\n\n", f.name, r.id, r.kind.as_str(), r.title);
        match m {
            Some(m) if !m.criteria.is_empty() => {
                s.push_str(&format!("Maps to ({}):\n", m.relation.as_str()));
                for c in m.criteria {
                    let t = criterion(c).map_or("", |x| x.title);
                    s.push_str(&format!("  {c:<7} {t}\n"));
                }
                if !m.note.is_empty() {
                    s.push_str(&format!("\n{}\n", m.note));
                }
            }
            Some(m) => s.push_str(&format!("No criterion covers it: {}\n", m.note)),
            None => s.push_str("No criterion covers it: a SOC 2 examination does not address it.\n"),
        }
        print(&s)?;
        return Ok(ExitCode::SUCCESS);
    }
    let c = criterion(id).ok_or_else(|| {
        CliError::failure(format!("`{id}` is neither a criterion nor FRAMEWORK:REQUIREMENT"))
            .with_hint("try `assure catalog crosswalk CC6.1` or `assure catalog crosswalk iso27001:A.5.15`")
    })?;
    let back = assure_catalog::mapped_to(c.id);
    if json {
        let v: Vec<_> = back.iter().map(mapping_json).collect();
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({"criterion": c.id, "mapped_from": v})).unwrap_or_default()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut s = format!("{}  {}\n\nRequirements that map to it:\n", c.id, c.title);
    for m in &back {
        let title = assure_catalog::requirement(m.framework, m.requirement).map_or("", |r| r.title);
        s.push_str(&format!(
            "  {:<9} {:<22} {:<10} {title}\n",
            m.framework,
            m.requirement,
            m.relation.as_str()
        ));
    }
    s.push_str(&format!("{} requirement(s) in {} framework(s)\n", back.len(), {
        let mut f: Vec<&str> = back.iter().map(|m| m.framework).collect();
        f.dedup();
        f.len()
    }));
    print(&s)?;
    Ok(ExitCode::SUCCESS)
}
