//! Catalog coverage: how much of the catalog the project's scope takes in and its controls address.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use assure_catalog::{Category, criteria, series};
use assure_project::Project;
use assure_project::model::ReportKind;
use serde::Serialize;

/// One row of the coverage table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The category or series.
    pub label: String,
    /// Criteria in the catalog.
    pub criteria: usize,
    /// Criteria in the project's scope.
    pub in_scope: usize,
    /// In-scope criteria declared not relevant.
    pub not_relevant: usize,
    /// In-scope, relevant criteria at least one control addresses.
    pub addressed: usize,
    /// Distinct controls mapped to criteria of the row.
    pub controls: usize,
}

/// The project's coverage of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// The organization.
    pub organization: String,
    /// By category.
    pub categories: Vec<Row>,
    /// By series.
    pub series: Vec<Row>,
    /// SOC 1 objectives adopted.
    pub objectives: usize,
    /// SOC 1 objectives addressed by a control.
    pub objectives_addressed: usize,
    /// Controls in the project.
    pub controls: usize,
}

/// Computes the coverage.
pub fn coverage(p: &Project) -> Coverage {
    let scope = &p.manifest.scope;
    let soc2 = scope.has(ReportKind::Soc2) || scope.has(ReportKind::Soc3);
    let cats = if soc2 { scope.categories() } else { Vec::new() };
    let nr: BTreeSet<String> = scope
        .not_relevant
        .iter()
        .map(|n| n.criterion.to_ascii_uppercase())
        .collect();
    let row = |label: String, pred: &dyn Fn(&assure_catalog::Criterion) -> bool| -> Row {
        let set: Vec<_> = criteria().iter().filter(|c| pred(c)).collect();
        let in_scope: Vec<_> = set.iter().filter(|c| cats.contains(&c.category)).collect();
        let mapped = |id: &'static str| {
            p.controls
                .iter()
                .filter(move |c| c.criteria.iter().any(|r| r.eq_ignore_ascii_case(id)))
        };
        let controls: BTreeSet<&str> = set.iter().flat_map(|c| mapped(c.id).map(|x| x.id.as_str())).collect();
        Row {
            label,
            criteria: set.len(),
            in_scope: in_scope.len(),
            not_relevant: in_scope.iter().filter(|c| nr.contains(c.id)).count(),
            addressed: in_scope
                .iter()
                .filter(|c| !nr.contains(c.id) && mapped(c.id).next().is_some())
                .count(),
            controls: controls.len(),
        }
    };
    let categories = Category::ALL
        .iter()
        .map(|cat| row(cat.label().to_string(), &|c| c.category == *cat))
        .collect();
    let series = series()
        .iter()
        .map(|s| row(format!("{} {}", s.id, s.name), &|c| c.series == s.id))
        .collect();
    let addressed = p
        .objectives
        .iter()
        .filter(|o| {
            p.controls
                .iter()
                .any(|c| c.objectives.iter().any(|r| r.as_str() == o.id.as_str()))
        })
        .count();
    Coverage {
        organization: p.manifest.organization.name.clone(),
        categories,
        series,
        objectives: if scope.has(ReportKind::Soc1) {
            p.objectives.len()
        } else {
            0
        },
        objectives_addressed: if scope.has(ReportKind::Soc1) { addressed } else { 0 },
        controls: p.controls.len(),
    }
}

/// Renders the coverage as aligned text.
pub fn text(c: &Coverage) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Catalog coverage of {} ({} controls)", c.organization, c.controls);
    let _ = writeln!(s);
    let header = |s: &mut String, first: &str| {
        let _ = writeln!(
            s,
            "{first:<44} {:>8} {:>8} {:>9} {:>12} {:>8}",
            "Criteria", "In scope", "Addressed", "Not relevant", "Controls"
        );
    };
    header(&mut s, "Category");
    for r in &c.categories {
        let _ = writeln!(
            s,
            "{:<44} {:>8} {:>8} {:>9} {:>12} {:>8}",
            r.label, r.criteria, r.in_scope, r.addressed, r.not_relevant, r.controls
        );
    }
    let _ = writeln!(s);
    header(&mut s, "Series");
    for r in &c.series {
        let _ = writeln!(
            s,
            "{:<44} {:>8} {:>8} {:>9} {:>12} {:>8}",
            r.label, r.criteria, r.in_scope, r.addressed, r.not_relevant, r.controls
        );
    }
    let _ = writeln!(s);
    if c.objectives > 0 {
        let _ = writeln!(
            s,
            "SOC 1 objectives: {} adopted, {} addressed by a control",
            c.objectives, c.objectives_addressed
        );
    } else {
        let _ = writeln!(s, "SOC 1 objectives: SOC 1 is not in scope");
    }
    s
}
