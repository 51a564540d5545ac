//! Readiness against another framework, read through Assure's crosswalk: each requirement's status
//! from the criteria it maps to (their scores in the gap assessment) and from the controls that
//! name it directly, and the delta a SOC 2 leaves (requirements no criterion covers and no control
//! of the company meets). Pure: the project, the assessment and the framework's id in, figures out.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use assure_catalog::{Kind, Relation};
use assure_project::Project;
use serde::Serialize;

use crate::gap::Assessment;

/// Where one requirement stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequirementStatus {
    /// The requirement's identifier.
    pub id: &'static str,
    /// The group it belongs to.
    pub parent: &'static str,
    /// `control`, `required`, `addressable`, `obligation`, `clause`, `standard`.
    pub kind: &'static str,
    /// Its title.
    pub title: &'static str,
    /// How it relates to the criteria it maps to, when it maps to any.
    pub relation: Option<&'static str>,
    /// The criteria it maps to.
    pub criteria: Vec<&'static str>,
    /// Those of them the SOC scope covers (in scope and relevant).
    pub in_scope: Vec<&'static str>,
    /// The project's SOC 1 control objectives that evidence it (SOX IT general controls only: the
    /// objectives adopted from the library objectives the requirement ties to).
    pub objectives: Vec<String>,
    /// The company's controls: those of its in-scope criteria and SOC 1 objectives, and those that
    /// name it directly.
    pub controls: Vec<String>,
    /// `covered`, `covered by SOC 1` (SOX: an in-scope SOC 1 objective achieves it), `partly
    /// covered` (it asks for more than its criteria, or some of them are out of scope), `own controls` (no criterion, but controls name it), `out of scope` (its criteria
    /// are outside the SOC scope), `not covered by SOC 2` (the delta) or `not applicable` (HIPAA
    /// duties of covered entities, clearinghouses and plans only).
    pub status: &'static str,
    /// Readiness 0 to 1: the mean score of its SOC 1 objectives (SOX), else of its in-scope
    /// criteria, else of the controls that name it.
    pub score: Option<f64>,
    /// What the crosswalk says differs.
    pub note: &'static str,
}

/// Readiness against a framework.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameworkAssessment {
    /// The framework's id.
    pub framework: &'static str,
    /// Its name.
    pub name: &'static str,
    /// What a SOC report does and does not give towards it.
    pub soc_note: &'static str,
    /// Whether the project names it in `[scope] frameworks`.
    pub in_project: bool,
    /// Requirements (groups left out), in the framework's order.
    pub requirements: Vec<RequirementStatus>,
    /// How many requirements apply (all but the `not applicable` ones).
    pub total: usize,
    /// How many do not apply to a service organization.
    pub not_applicable: usize,
    /// How many a SOC 2 covers in full or in part.
    pub covered: usize,
    /// Requirements no criterion covers and no control names: what the company must show besides.
    pub delta: Vec<&'static str>,
    /// Mean readiness over the requirements that have a score, 0 to 1.
    pub readiness: f64,
}

/// Readiness of the project against `framework` (`None` for a framework Assure does not know).
pub fn assess(project: &Project, a: &Assessment, framework: &str) -> Option<FrameworkAssessment> {
    let f = assure_catalog::framework(framework)?;
    let maps = assure_catalog::mappings(f.id);
    let mut out = Vec::new();
    for r in assure_catalog::requirements(f.id)
        .into_iter()
        .filter(|r| r.kind != Kind::Group)
    {
        let m = maps.iter().find(|m| m.requirement == r.id);
        let criteria: Vec<&'static str> = m.map(|m| m.criteria.to_vec()).unwrap_or_default();
        let in_scope: Vec<&'static str> = criteria
            .iter()
            .copied()
            .filter(|c| a.items.iter().any(|i| i.id == *c && i.score.is_some()))
            .collect();
        let key = format!("{}:{}", f.id, r.id);
        let direct: Vec<&assure_project::model::Control> = project
            .controls
            .iter()
            .filter(|c| c.requirements.iter().any(|x| x.as_str() == key))
            .collect();
        // SOX IT general controls are evidenced by a SOC 1 report: the project's objectives adopted
        // from the library objectives the requirement ties to, when they are assessed (in scope).
        let objectives: Vec<String> = if f.id == "sox-itgc" {
            let lib = assure_catalog::sox_requirement_objectives(r.id);
            project
                .objectives
                .iter()
                .filter(|o| lib.contains(&o.id.as_str()) || o.from.as_ref().is_some_and(|x| lib.contains(&x.as_str())))
                .map(|o| o.id.to_string())
                .filter(|id| a.items.iter().any(|i| i.id == *id && i.score.is_some()))
                .collect()
        } else {
            Vec::new()
        };
        let mut controls: BTreeSet<String> = direct.iter().map(|c| c.id.to_string()).collect();
        for c in in_scope.iter().copied().chain(objectives.iter().map(String::as_str)) {
            if let Some(i) = a.items.iter().find(|i| i.id == *c) {
                controls.extend(i.controls.iter().cloned());
            }
        }
        let scores: Vec<f64> = if !objectives.is_empty() {
            objectives
                .iter()
                .filter_map(|o| a.items.iter().find(|i| i.id == *o).and_then(|i| i.score))
                .collect()
        } else if in_scope.is_empty() {
            direct
                .iter()
                .filter_map(|c| a.controls.iter().find(|s| s.id == c.id.as_str()).map(|s| s.score))
                .collect()
        } else {
            in_scope
                .iter()
                .filter_map(|c| a.items.iter().find(|i| i.id == *c).and_then(|i| i.score))
                .collect()
        };
        let score = (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64);
        let relation = m.filter(|m| !m.criteria.is_empty()).map(|m| m.relation);
        let status = match (criteria.is_empty(), in_scope.len(), direct.is_empty()) {
            _ if !objectives.is_empty() => "covered by SOC 1",
            (true, _, false) => "own controls",
            (true, _, true) => "not covered by SOC 2",
            (false, 0, false) => "own controls",
            (false, 0, true) => "out of scope",
            (false, n, _) if n < criteria.len() || relation == Some(Relation::Superset) => "partly covered",
            _ => "covered",
        };
        out.push(RequirementStatus {
            id: r.id,
            parent: r.parent,
            kind: r.kind.as_str(),
            title: r.title,
            relation: relation.map(Relation::as_str),
            criteria,
            in_scope,
            objectives,
            controls: controls.into_iter().collect(),
            status,
            score,
            note: m.map_or("", |m| m.note),
        });
    }
    // A HIPAA standard with implementation specifications and no row of its own is met through
    // them: its criteria and controls are theirs, its score their mean, covered when all of them
    // are. A requirement that binds only covered entities, clearinghouses or plans does not apply
    // to a service organization (a business associate).
    for i in 0..out.len() {
        if f.id == "hipaa" && assure_catalog::hipaa_not_for_business_associates(out[i].id) {
            let r = &mut out[i];
            r.status = "not applicable";
            r.score = None;
            if r.note.is_empty() {
                r.note = "Binds covered entities, clearinghouses or group health plans, not a business associate.";
            }
            continue;
        }
        if out[i].status != "not covered by SOC 2" {
            continue;
        }
        let id = out[i].id;
        let children: Vec<&RequirementStatus> = out
            .iter()
            .filter(|c| c.parent == id && c.status != "not applicable")
            .collect();
        if children.is_empty() {
            continue;
        }
        let met = |c: &&RequirementStatus| matches!(c.status, "covered" | "covered by SOC 1" | "own controls");
        let status = if children.iter().all(met) {
            "covered"
        } else if children.iter().any(|c| met(c) || c.status == "partly covered") {
            "partly covered"
        } else {
            "not covered by SOC 2"
        };
        let mut criteria: BTreeSet<&'static str> = BTreeSet::new();
        let mut in_scope: BTreeSet<&'static str> = BTreeSet::new();
        let mut controls: BTreeSet<String> = BTreeSet::new();
        let scores: Vec<f64> = children.iter().filter_map(|c| c.score).collect();
        for c in &children {
            criteria.extend(c.criteria.iter().copied());
            in_scope.extend(c.in_scope.iter().copied());
            controls.extend(c.controls.iter().cloned());
        }
        let r = &mut out[i];
        r.status = status;
        r.criteria = criteria.into_iter().collect();
        r.in_scope = in_scope.into_iter().collect();
        r.controls.extend(controls);
        r.controls.sort();
        r.controls.dedup();
        r.score = (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64);
        r.note = "Met through its implementation specifications below.";
    }
    let covered = out
        .iter()
        .filter(|r| {
            matches!(
                r.status,
                "covered" | "covered by SOC 1" | "partly covered" | "own controls"
            )
        })
        .count();
    let delta = out
        .iter()
        .filter(|r| matches!(r.status, "not covered by SOC 2" | "out of scope"))
        .map(|r| r.id)
        .collect();
    let scored: Vec<f64> = out
        .iter()
        .filter(|r| r.status != "not applicable")
        .map(|r| r.score.unwrap_or(0.0))
        .collect();
    let readiness = if scored.is_empty() {
        0.0
    } else {
        scored.iter().sum::<f64>() / scored.len() as f64
    };
    Some(FrameworkAssessment {
        framework: f.id,
        name: f.name,
        soc_note: f.soc_note,
        in_project: project.manifest.scope.frameworks.iter().any(|x| x.as_str() == f.id),
        total: out.iter().filter(|r| r.status != "not applicable").count(),
        not_applicable: out.iter().filter(|r| r.status == "not applicable").count(),
        covered,
        delta,
        readiness,
        requirements: out,
    })
}

impl RequirementStatus {
    /// What the requirement is read through: its SOC 1 objectives (`SOC 1: ITGC-BR`), else its
    /// criteria with the relation (`subset: CC8.1`); empty when neither.
    pub fn basis(&self) -> String {
        if !self.objectives.is_empty() {
            return format!("SOC 1: {}", self.objectives.join(", "));
        }
        self.relation
            .map(|x| format!("{x}: {}", self.criteria.join(", ")))
            .unwrap_or_default()
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.0}%", v * 100.0))
}

/// The framework assessment as plain text.
pub fn text(fa: &FrameworkAssessment, organization: &str, as_of: chrono::NaiveDate) -> String {
    let mut s = format!(
        "{} against {} as of {as_of}\n\nReadiness {:.1}% over {} requirements{}; {} covered by the SOC scope or the company's own controls; {} not covered (the delta below).\n{}\n\n",
        organization,
        fa.name,
        fa.readiness * 100.0,
        fa.total,
        if fa.not_applicable > 0 {
            format!(" ({} more not applicable to a service organization)", fa.not_applicable)
        } else {
            String::new()
        },
        fa.covered,
        fa.delta.len(),
        fa.soc_note
    );
    if !fa.in_project {
        let _ = writeln!(
            s,
            "The project does not name {} yet: add `frameworks = [\"{}\"]` to `[scope]` in assure.toml.\n",
            fa.framework, fa.framework
        );
    }
    let _ = writeln!(
        s,
        "{:<22} {:<11} {:<21} {:>5}  Criteria / controls",
        "Requirement", "Kind", "Status", "Score"
    );
    for r in &fa.requirements {
        let via = if !r.objectives.is_empty() {
            format!("SOC 1 {} · {} controls", r.objectives.join(" "), r.controls.len())
        } else if r.criteria.is_empty() {
            r.controls.join(" ")
        } else {
            format!(
                "{} {}{}",
                r.relation.unwrap_or(""),
                r.criteria.join(" "),
                if r.controls.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", r.controls.len()) + " controls"
                }
            )
        };
        let _ = writeln!(
            s,
            "{:<22} {:<11} {:<21} {:>5}  {via}",
            r.id,
            r.kind,
            r.status,
            pct(r.score)
        );
    }
    if !fa.delta.is_empty() {
        let _ = writeln!(s, "\nWhat a SOC 2 leaves to show ({}):", fa.delta.len());
        for r in fa.requirements.iter().filter(|r| fa.delta.contains(&r.id)) {
            let _ = writeln!(
                s,
                "  {:<22} {}{}",
                r.id,
                r.title,
                if r.note.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", r.note)
                }
            );
        }
    }
    s
}

/// The framework assessment as Markdown.
pub fn markdown(fa: &FrameworkAssessment, organization: &str, as_of: chrono::NaiveDate) -> String {
    let cell = |t: &str| t.replace('|', "\\|");
    let mut s = format!(
        "# {} against {}\n\nAs of {as_of}. Readiness **{:.1}%** over {} requirements; {} covered; {} not covered by a SOC 2.\n\n> {}\n\n| Requirement | Kind | Title | Status | Score | Read through | Controls |\n|---|---|---|---|---|---|---|\n",
        cell(organization),
        cell(fa.name),
        fa.readiness * 100.0,
        fa.total,
        fa.covered,
        fa.delta.len(),
        cell(fa.soc_note)
    );
    for r in &fa.requirements {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(r.id),
            r.kind,
            cell(r.title),
            r.status,
            pct(r.score),
            cell(&r.basis()),
            r.controls.join(", ")
        );
    }
    if !fa.delta.is_empty() {
        s.push_str("\n## What a SOC 2 leaves to show\n\n");
        for r in fa.requirements.iter().filter(|r| fa.delta.contains(&r.id)) {
            let _ = writeln!(
                s,
                "- **{}** {}{}",
                cell(r.id),
                cell(r.title),
                if r.note.is_empty() {
                    String::new()
                } else {
                    format!(": {}", cell(r.note))
                }
            );
        }
    }
    s
}

/// The framework assessment as one self-contained HTML page.
pub fn html(fa: &FrameworkAssessment, organization: &str, as_of: chrono::NaiveDate) -> String {
    let esc = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut s = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} against {}</title><style>body{{font:14px system-ui,sans-serif;margin:2em;color:#1a202c}}table{{border-collapse:collapse;width:100%}}th,td{{border-bottom:1px solid #e2e8f0;padding:4px 6px;text-align:left;vertical-align:top}}.delta{{background:#fff5f5}}</style></head><body><h1>{} against {}</h1><p>As of {as_of}. Readiness <b>{:.1}%</b> over {} requirements; {} covered; {} not covered by a SOC 2.</p><p>{}</p><table><tr><th>Requirement</th><th>Kind</th><th>Title</th><th>Status</th><th>Score</th><th>Read through</th><th>Controls</th></tr>",
        esc(organization),
        esc(fa.name),
        esc(organization),
        esc(fa.name),
        fa.readiness * 100.0,
        fa.total,
        fa.covered,
        fa.delta.len(),
        esc(fa.soc_note)
    );
    for r in &fa.requirements {
        let _ = write!(
            s,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if fa.delta.contains(&r.id) {
                " class=\"delta\""
            } else {
                ""
            },
            esc(r.id),
            r.kind,
            esc(r.title),
            r.status,
            pct(r.score),
            esc(&r.basis()),
            esc(&r.controls.join(", "))
        );
    }
    s.push_str("</table></body></html>\n");
    s
}
