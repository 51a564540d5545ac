//! The SOC 2, SOC 1 and SOC 3 drafts.

use assure_catalog::{Category, criteria, description_elements};
use assure_project::model::{ExamType, ReportKind, Treatment};

use crate::doc::{Block, Document};
use crate::{Inputs, ReportError, control_result, long_date};

/// Exceptions listed per test in the PDF; the rest are in the control matrix workbook.
const EXCEPTIONS_SHOWN: usize = 25;

fn new_doc(inp: &Inputs<'_>, kind: &str, title: String, subtitle: String, header: String) -> Document {
    Document {
        kind: kind.to_string(),
        title,
        subtitle,
        organization: inp.org().to_string(),
        header,
        as_of: inp.as_of.to_string(),
        notice: format!(
            "Draft prepared by {} management with Assure as of {}. Not an auditor's report.",
            inp.org(),
            long_date(inp.as_of)
        ),
        cover: Vec::new(),
        missing: Vec::new(),
        outline: true,
        breaks: true,
        blocks: Vec::new(),
    }
}

fn type_label(inp: &Inputs<'_>) -> &'static str {
    match inp.exam_type() {
        Some(ExamType::Type1) => "Type 1",
        Some(ExamType::Type2) => "Type 2",
        None => "type not chosen",
    }
}

fn is_type2(inp: &Inputs<'_>) -> bool {
    inp.exam_type() == Some(ExamType::Type2)
}

fn cover(inp: &Inputs<'_>, d: &mut Document, report: &str) {
    let s = &inp.project.manifest.scope;
    d.cover = vec![
        ("Service organization".into(), inp.legal_name().to_string()),
        ("System".into(), inp.project.manifest.system.name.clone()),
        ("Report".into(), format!("{report} {}", type_label(inp))),
        ("Period".into(), inp.period_text()),
        (
            "Categories".into(),
            s.categories().iter().map(|c| c.label()).collect::<Vec<_>>().join(", "),
        ),
        ("As of".into(), long_date(inp.as_of)),
    ];
    if let Some((seq, r)) = inp.run {
        d.cover.push((
            "Test run".into(),
            format!(
                "ledger entry {seq}, {} tests, as of {}",
                r.tests.len(),
                long_date(r.as_of)
            ),
        ));
    }
}

fn scope_gaps(inp: &Inputs<'_>, d: &mut Document) {
    let (start, end) = inp.period();
    if inp.exam_type().is_none() {
        d.gap(
            "Scope",
            "The examination type (Type 1 or Type 2) is not chosen.",
            "Run `assure scope` or set `type` under [scope] in assure.toml.",
        );
    }
    if end.is_none() || (is_type2(inp) && start.is_none()) {
        d.gap(
            "Scope",
            "The report period is not set.",
            "Set `period_start` and `period_end` under [scope] in assure.toml.",
        );
    }
}

fn opinion_placeholder(d: &mut Document, what: &str) {
    d.blocks.push(Block::Placeholder {
        title: "Reserved for the independent service auditor's report".into(),
        text: format!(
            "The service auditor writes this section after completing the examination: their opinion on {what}. Assure never drafts an opinion, and this draft must not be read as one."
        ),
    });
}

fn signature(inp: &Inputs<'_>, d: &mut Document) {
    let lead = inp.project.manifest.organization.compliance_lead.as_ref();
    let name = inp.person_name(lead);
    let title = inp.person_title(lead);
    d.blocks.push(Block::Placeholder {
        title: "Signature".into(),
        text: if name.is_empty() {
            format!(
                "Signed for {} by an officer of the company, with name, title and date.",
                inp.legal_name().trim_end_matches('.')
            )
        } else {
            format!(
                "{name}{}{}, for {} Date: ____________",
                if title.is_empty() { "" } else { ", " },
                title,
                crate::sentence(inp.legal_name())
            )
        },
    });
}

fn categories_text(inp: &Inputs<'_>) -> String {
    let cats: Vec<&str> = inp
        .project
        .manifest
        .scope
        .categories()
        .iter()
        .map(|c| c.label())
        .collect();
    match cats.len() {
        0 | 1 => cats.join(""),
        n => format!("{} and {}", cats[..n - 1].join(", "), cats[n - 1]).to_lowercase(),
    }
    .to_lowercase()
}

fn subservice_sentence(inp: &Inputs<'_>) -> Option<String> {
    let carve: Vec<&str> = inp
        .project
        .manifest
        .subservice
        .iter()
        .filter(|s| s.treatment == Treatment::CarveOut)
        .map(|s| s.name.as_str())
        .collect();
    (!carve.is_empty()).then(|| {
        format!(
            "The description excludes the controls of {} (carve-out method); it sets out the controls management expects {} to operate, which the criteria rely on.",
            carve.join(", "),
            if carve.len() == 1 { "that subservice organization" } else { "those subservice organizations" }
        )
    })
}

/// The SOC 2 draft, Type 1 or Type 2 as the scope says.
pub fn soc2(inp: &Inputs<'_>) -> Result<Document, ReportError> {
    let t = type_label(inp);
    let mut d = new_doc(
        inp,
        "soc2",
        format!("SOC 2 {t} report (draft)"),
        format!(
            "Controls at a service organization relevant to {} for the {} system",
            categories_text(inp),
            inp.project.manifest.system.name
        ),
        format!("SOC 2 {t} · {}", inp.period_text()),
    );
    cover(inp, &mut d, "SOC 2");
    scope_gaps(inp, &mut d);
    if !inp.project.manifest.scope.has(ReportKind::Soc2) {
        d.note("The project's scope does not list a SOC 2 report; this draft shows what one would contain.");
    }

    let opinion = if is_type2(inp) {
        "whether the description is fairly presented and the controls were suitably designed and operated effectively throughout the period"
    } else {
        "whether the description is fairly presented and the controls were suitably designed as of the date"
    };
    five_sections(inp, &mut d, Framework::Soc2, opinion);
    Ok(d)
}

/// The SOC 1 draft: the company's control objectives in place of criteria.
pub fn soc1(inp: &Inputs<'_>) -> Result<Document, ReportError> {
    let t = type_label(inp);
    let mut d = new_doc(
        inp,
        "soc1",
        format!("SOC 1 {t} report (draft)"),
        format!(
            "Controls at a service organization relevant to user entities' internal control over financial reporting: the {} system",
            inp.project.manifest.system.name
        ),
        format!("SOC 1 {t} · {}", inp.period_text()),
    );
    cover(inp, &mut d, "SOC 1");
    d.cover.retain(|(k, _)| k != "Categories");
    scope_gaps(inp, &mut d);
    if !inp.project.manifest.scope.has(ReportKind::Soc1) {
        d.note("The project's scope does not list a SOC 1 report; this draft shows what one would contain.");
    }
    five_sections(
        inp,
        &mut d,
        Framework::Soc1,
        "whether the description is fairly presented and the controls were suitably designed (and, for Type 2, operated effectively) to achieve the stated control objectives",
    );
    Ok(d)
}

/// Sections I to V of a SOC 1 or SOC 2 draft.
fn five_sections(inp: &Inputs<'_>, d: &mut Document, fw: Framework, opinion: &str) {
    d.h(1, "Section I: Independent service auditor's report");
    opinion_placeholder(d, opinion);
    d.h(1, format!("Section II: Assertion of {} management", inp.org()));
    assertion(inp, d, if fw == Framework::Soc2 { "soc2" } else { "soc1" });
    d.h(
        1,
        format!(
            "Section III: Description of the {} system",
            inp.project.manifest.system.name
        ),
    );
    match fw {
        Framework::Soc2 => describe_soc2(inp, d),
        Framework::Soc1 => describe_soc1(inp, d),
    }
    d.h(
        1,
        match fw {
            Framework::Soc2 => "Section IV: Criteria, controls, tests and results",
            Framework::Soc1 => "Section IV: Control objectives, controls, tests and results",
        },
    );
    section_iv(inp, d, fw);
    evidence_listing(inp, d);
    d.h(1, "Section V: Other information provided by management");
    section_v(inp, d);
}

/// The SOC 3 general-use report: no tests and no detailed description.
pub fn soc3(inp: &Inputs<'_>) -> Result<Document, ReportError> {
    let mut d = new_doc(
        inp,
        "soc3",
        "SOC 3 report (draft)".into(),
        format!(
            "A general-use report on controls relevant to {} for the {} system",
            categories_text(inp),
            inp.project.manifest.system.name
        ),
        format!("SOC 3 · {}", inp.period_text()),
    );
    cover(inp, &mut d, "SOC 3");
    d.cover.retain(|(k, _)| k != "Report" && k != "Test run");
    scope_gaps(inp, &mut d);
    if inp.exam_type() == Some(ExamType::Type1) {
        d.gap(
            "Scope",
            "A SOC 3 report covers how controls operated over a period, and the scope is Type 1.",
            "Choose Type 2 in the scope before issuing a SOC 3 report.",
        );
    }
    d.h(1, "Independent service auditor's report");
    opinion_placeholder(
        &mut d,
        "whether management's assertion that the controls were effective throughout the period is fairly stated",
    );
    d.h(1, format!("Assertion of {} management", inp.org()));
    assertion(inp, &mut d, "soc3");
    d.h(1, "Attachment A: The system and its boundaries");
    let sys = &inp.project.manifest.system;
    services(inp, &mut d, "DC1");
    d.h(2, "The system");
    if sys.description.trim().is_empty() {
        d.gap(
            "DC3",
            "The system is not described.",
            "Write `description` under [system] in assure.toml.",
        );
    } else {
        d.p(sys.description.trim());
    }
    d.h(2, "Boundaries");
    if sys.boundaries.trim().is_empty() {
        d.gap(
            "DC3",
            "The system boundaries are not stated.",
            "Write `boundaries` under [system] in assure.toml.",
        );
    } else {
        d.p(sys.boundaries.trim());
    }
    let comps = &sys.components;
    let mut rows = Vec::new();
    for (name, list) in [
        ("Infrastructure", &comps.infrastructure),
        ("Software", &comps.software),
        ("People", &comps.people),
        ("Procedures", &comps.procedures),
        ("Data", &comps.data),
    ] {
        if !list.is_empty() {
            rows.push(vec![name.to_string(), list.join("; ")]);
        }
    }
    if !rows.is_empty() {
        d.h(2, "Components, in summary");
        d.table(&["Component", "What it comprises"], &[1, 4], rows);
    }
    d.h(1, "Attachment B: Principal service commitments and system requirements");
    commitments(inp, &mut d, "DC2");
    Ok(d)
}

fn assertion(inp: &Inputs<'_>, d: &mut Document, kind: &str) {
    let sys = &inp.project.manifest.system.name;
    let period = inp.period_text();
    let claims = match kind {
        // A SOC 1 assertion speaks of control objectives, which are achieved, and of user
        // entities' financial statements.
        "soc1" => {
            d.p(format!(
                "We have prepared the accompanying description of the {sys} system ({period}) for user entities of the system and their auditors, who have a sufficient understanding to consider it, together with other information, when assessing the risks of material misstatement of user entities' financial statements."
            ));
            let mut c = vec![format!(
                "The description fairly presents the {sys} system that was designed and implemented {period}, in accordance with the description criteria."
            )];
            if is_type2(inp) {
                c.push(format!(
                    "The controls related to the control objectives stated in the description were suitably designed throughout the period {period} to provide reasonable assurance that those control objectives would be achieved if the controls operated as described and, where applicable, subservice organizations and user entities applied the complementary controls assumed in the design."
                ));
                c.push(format!(
                    "The controls related to the control objectives stated in the description operated effectively throughout the period {period} to achieve those control objectives."
                ));
            } else {
                c.push(format!(
                    "The controls related to the control objectives stated in the description were suitably designed {period} to provide reasonable assurance that those control objectives would be achieved if the controls operated as described and the complementary controls assumed in the design were applied."
                ));
            }
            c
        }
        // A SOC 2 assertion speaks of service commitments and system requirements met under the
        // trust services criteria; its users are those named in the report (restricted use).
        "soc2" => {
            let criteria_words = format!("the trust services criteria relevant to {}", categories_text(inp));
            d.p(format!(
                "We have prepared the accompanying description of the {sys} system ({period}) for user entities, business partners, regulators and others who have a sufficient understanding of the system to use it, based on the description criteria."
            ));
            let mut c = vec![format!(
                "The description presents the {sys} system that was designed and implemented {period}, in accordance with the description criteria."
            )];
            if is_type2(inp) {
                c.push(format!(
                    "The controls stated in the description were suitably designed throughout the period {period} to provide reasonable assurance that the service commitments and system requirements would be met based on {criteria_words}, if the controls operated as described and, where applicable, subservice organizations and user entities applied the complementary controls assumed in the design."
                ));
                c.push(format!(
                    "The controls stated in the description operated effectively throughout the period {period} to provide reasonable assurance that the service commitments and system requirements were met based on {criteria_words}."
                ));
            } else {
                c.push(format!(
                    "The controls stated in the description were suitably designed {period} to provide reasonable assurance that the service commitments and system requirements would be met based on {criteria_words}, if the controls operated as described and the complementary controls assumed in the design were applied."
                ));
            }
            c
        }
        // A SOC 3 report is for general use: no named audience, no detailed description, one
        // statement about the controls' effectiveness.
        _ => {
            d.p(format!(
                "We are responsible for designing, implementing and operating effective controls within the {sys} system to provide reasonable assurance that our service commitments and system requirements are met. Attachment A describes the system and its boundaries; Attachment B states the principal service commitments and system requirements."
            ));
            vec![format!(
                "The controls within the {sys} system were effective throughout the period {period} to provide reasonable assurance that the principal service commitments and system requirements were achieved based on the trust services criteria relevant to {}.",
                categories_text(inp)
            )]
        }
    };
    d.p("We confirm, to the best of our knowledge and belief, that:");
    d.blocks.push(Block::Numbered { items: claims });
    if let Some(s) = subservice_sentence(inp) {
        d.p(s);
    }
    if !inp.project.manifest.cuec.is_empty() && kind != "soc3" {
        d.p(if kind == "soc1" {
            "The description also states the controls that user entities are expected to operate; the control objectives can be achieved only if they do."
        } else {
            "The description also states the controls that user entities are expected to operate; the service commitments and system requirements can be met only if they do."
        });
    }
    if let Some((_, r)) = inp.run
        && kind != "soc3"
    {
        let exc: usize = r.tests.iter().map(|t| t.exceptions).sum();
        if exc > 0 {
            d.note(format!(
                "Before signing: the latest test run noted {exc} exceptions (Section IV). Management and the service auditor decide whether any of them means {} which would change these statements.",
                if kind == "soc1" {
                    "a control objective was not achieved,"
                } else {
                    "a service commitment or system requirement was not met,"
                }
            ));
        }
    }
    signature(inp, d);
}

fn services(inp: &Inputs<'_>, d: &mut Document, element: &str) {
    d.h(2, "Services provided");
    let sv = &inp.project.manifest.services;
    if sv.is_empty() {
        d.gap(
            element,
            "No services are described.",
            "Add [[services]] entries to assure.toml.",
        );
    } else {
        for s in sv {
            d.h(3, s.name.clone());
            if s.description.trim().is_empty() {
                d.gap(
                    element,
                    format!("Service `{}` has no description.", s.id.as_str()),
                    "Add its `description`.",
                );
            } else {
                d.p(s.description.trim());
            }
        }
    }
}

fn commitments(inp: &Inputs<'_>, d: &mut Document, element: &str) {
    let cs = &inp.project.manifest.system.commitments;
    if cs.is_empty() {
        d.gap(
            element,
            "No service commitments or system requirements are stated.",
            "Add [[system.commitments]] entries (kind = \"commitment\" or \"requirement\") to assure.toml.",
        );
        return;
    }
    let rows = cs
        .iter()
        .map(|c| {
            vec![
                c.id.as_str().to_string(),
                if c.kind == "requirement" {
                    "System requirement".into()
                } else {
                    "Commitment".into()
                },
                c.category.map(|k| k.0.label().to_string()).unwrap_or_default(),
                c.text.clone(),
            ]
        })
        .collect();
    d.table(&["ID", "Kind", "Category", "Statement"], &[1, 2, 2, 7], rows);
}

fn components(inp: &Inputs<'_>, d: &mut Document, element: &str) {
    let sys = &inp.project.manifest.system;
    if !sys.description.trim().is_empty() {
        d.p(sys.description.trim());
    }
    let c = &sys.components;
    for (name, list) in [
        ("Infrastructure", &c.infrastructure),
        ("Software", &c.software),
        ("People", &c.people),
        ("Procedures", &c.procedures),
        ("Data", &c.data),
    ] {
        d.h(3, name);
        if list.is_empty() {
            d.gap(
                element,
                format!("The {} component is not described.", name.to_lowercase()),
                format!(
                    "List it under [system.components] `{}` in assure.toml.",
                    name.to_lowercase()
                ),
            );
        } else {
            d.bullets(list.clone());
        }
    }
    d.h(3, "Boundaries of the system");
    if sys.boundaries.trim().is_empty() {
        d.gap(
            element,
            "The boundaries of the system are not stated.",
            "Write `boundaries` under [system].",
        );
    } else {
        d.p(sys.boundaries.trim());
    }
}

fn in_period(inp: &Inputs<'_>, date: chrono::NaiveDate) -> bool {
    let (start, end) = inp.period();
    let end = end.unwrap_or(inp.as_of);
    let start = if is_type2(inp) {
        start.unwrap_or(end)
    } else {
        chrono::NaiveDate::MIN
    };
    date >= start && date <= end
}

/// The severity threshold of significant incidents, and the evidence's incidents in the period
/// that meet it.
pub(crate) fn significant_incidents<'a>(
    inp: &Inputs<'a>,
    within: impl Fn(chrono::NaiveDate) -> bool,
) -> (assure_project::model::Severity, Option<Vec<&'a crate::Incident>>) {
    let threshold = inp
        .project
        .manifest
        .system
        .significant_incidents
        .unwrap_or(assure_project::model::Severity::Sev2);
    let list = inp.incidents.map(|all| {
        all.iter()
            .filter(|i| within(i.detected_on))
            .filter(|i| assure_project::model::Severity::parse(&i.severity).is_some_and(|s| s <= threshold))
            .collect()
    });
    (threshold, list)
}

/// `sev1 or sev2`, `sev1`.
pub(crate) fn threshold_words(t: assure_project::model::Severity) -> String {
    use assure_project::model::Severity::*;
    let all = [Sev1, Sev2, Sev3, Sev4];
    let upto: Vec<&str> = all.iter().filter(|s| **s <= t).map(|s| s.as_str()).collect();
    match upto.len() {
        1 => upto[0].to_string(),
        n => format!("{} or {}", upto[..n - 1].join(", "), upto[n - 1]),
    }
}

fn incidents(inp: &Inputs<'_>, d: &mut Document) {
    let when = if is_type2(inp) {
        "during the period"
    } else {
        "as of the date"
    };
    let (threshold, evidence) = significant_incidents(inp, |day| in_period(inp, day));
    let mut narratives: Vec<_> = inp
        .project
        .manifest
        .system
        .incidents
        .iter()
        .filter(|i| in_period(inp, i.date.0))
        .collect();
    narratives.sort_by(|a, b| a.date.0.cmp(&b.date.0).then(a.incident_id.cmp(&b.incident_id)));
    d.p(format!(
        "An incident is significant here when the incident record rates it {} (the threshold is `significant_incidents` under [system] in assure.toml).",
        threshold_words(threshold)
    ));
    match &evidence {
        None => {
            d.note(format!(
                "No incidents evidence is recorded, so the incident record cannot be checked. Import the incident tracker's export (table `incidents`) before this description is issued; until then it rests on management's account alone{}.",
                if narratives.is_empty() { ", which lists no incident" } else { "" }
            ));
        }
        Some(list) if list.is_empty() => {
            let total = inp
                .incidents
                .map_or(0, |all| all.iter().filter(|i| in_period(inp, i.detected_on)).count());
            d.p(format!(
                "The incidents evidence records {} {when}, none of them rated {}: no significant incident occurred {when}.",
                crate::plural(total, "incident"),
                threshold_words(threshold)
            ));
        }
        Some(list) => {
            d.p(format!(
                "The incidents evidence records {} rated {} {when}:",
                crate::plural(list.len(), "incident"),
                threshold_words(threshold)
            ));
            d.table(
                &[
                    "Incident",
                    "Severity",
                    "Kind",
                    "Detected",
                    "Resolved",
                    "Customers affected",
                    "Postmortem",
                ],
                &[2, 1, 2, 2, 2, 1, 2],
                list.iter()
                    .map(|i| {
                        vec![
                            i.id.clone(),
                            i.severity.clone(),
                            i.category.clone(),
                            i.detected_on.to_string(),
                            i.resolved_on
                                .map(|x| x.to_string())
                                .unwrap_or_else(|| "not resolved".into()),
                            match i.customer_impact {
                                Some(true) => "yes".into(),
                                Some(false) => "no".into(),
                                None => "not recorded".into(),
                            },
                            i.postmortem_on.map(|x| x.to_string()).unwrap_or_else(|| "none".into()),
                        ]
                    })
                    .collect(),
            );
            for i in list {
                if !narratives
                    .iter()
                    .any(|n| n.incident_id.as_deref() == Some(i.id.as_str()))
                {
                    d.gap(
                        "DC4",
                        format!(
                            "Incident {} ({}, detected {}) has no account of its nature, timing, effect and resolution.",
                            i.id, i.severity, i.detected_on
                        ),
                        format!(
                            "Add a [[system.incidents]] entry with incident_id = \"{}\", its date and text to assure.toml.",
                            i.id
                        ),
                    );
                }
            }
        }
    }
    if !narratives.is_empty() {
        d.p("Management's account of each:");
        d.table(
            &["Date", "Incident", "Nature, effect and resolution"],
            &[1, 1, 5],
            narratives
                .iter()
                .map(|i| {
                    vec![
                        i.date.0.to_string(),
                        i.incident_id.clone().unwrap_or_default(),
                        i.text.clone(),
                    ]
                })
                .collect(),
        );
    }
}

fn cuecs(inp: &Inputs<'_>, d: &mut Document, element: &str) {
    let list = &inp.project.manifest.cuec;
    if list.is_empty() {
        d.gap(
            element,
            "No complementary user entity controls are stated.",
            "Add [[cuec]] entries to assure.toml (what customers must do, and the criteria it supports).",
        );
    } else {
        d.p("The controls were designed assuming user entities operate the following controls.");
        d.table(
            &["ID", "Control expected of user entities", "Criteria"],
            &[1, 6, 2],
            list.iter()
                .map(|c| vec![c.id.as_str().into(), c.text.clone(), join_refs(&c.criteria)])
                .collect(),
        );
    }
}

fn join_refs(r: &[assure_project::model::Ref]) -> String {
    r.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
}

fn subservice(inp: &Inputs<'_>, d: &mut Document, element: &str) {
    let list = &inp.project.manifest.subservice;
    if list.is_empty() {
        d.p("The project lists no subservice organizations.");
        return;
    }
    for s in list {
        let treat = match s.treatment {
            Treatment::CarveOut => "carve-out: its controls are excluded from this description",
            Treatment::Inclusive => "inclusive: its relevant controls are described and tested here",
        };
        d.h(3, s.name.clone());
        d.blocks.push(Block::Fields {
            rows: vec![
                ("Services".into(), s.services.clone()),
                ("Treatment".into(), treat.into()),
                ("Criteria relying on it".into(), join_refs(&s.criteria)),
            ],
        });
        if s.csocs.is_empty() {
            if s.treatment == Treatment::CarveOut {
                d.gap(
                    element,
                    format!(
                        "The carve-out subservice organization {} has no expected controls listed.",
                        s.name
                    ),
                    "Add [[subservice.csocs]] entries for the controls you rely on it to operate.",
                );
            }
        } else {
            d.table(
                &["ID", "Control expected of the subservice organization", "Criteria"],
                &[1, 6, 2],
                s.csocs
                    .iter()
                    .map(|c| vec![c.id.as_str().into(), c.text.clone(), join_refs(&c.criteria)])
                    .collect(),
            );
        }
    }
}

fn changes(inp: &Inputs<'_>, d: &mut Document) {
    let list: Vec<_> = inp
        .project
        .manifest
        .system
        .changes
        .iter()
        .filter(|c| in_period(inp, c.date.0))
        .collect();
    let commits: Vec<_> = inp.history.iter().filter(|c| in_period(inp, c.date)).collect();
    if list.is_empty() {
        d.p("No significant changes to the system are recorded for the period.");
    } else {
        d.table(
            &["Date", "Change"],
            &[1, 5],
            list.iter()
                .map(|c| vec![c.date.0.to_string(), c.text.clone()])
                .collect(),
        );
    }
    // The controls themselves, from the project's history: what changed in them, and when.
    if commits.is_empty() {
        d.p("The project's history (git) records no change to the controls, policies or tests during the period.");
    } else {
        d.p(format!(
            "Changes to the controls, policies and tests during the period, from the project's history (git, {} commit{}, newest first):",
            commits.len(),
            if commits.len() == 1 { "" } else { "s" }
        ));
        d.table(
            &["Date", "Commit", "Change", "Files"],
            &[1, 1, 4, 3],
            commits
                .iter()
                .map(|c| {
                    vec![
                        c.date.to_string(),
                        c.commit.clone(),
                        c.summary.clone(),
                        c.paths.join(", "),
                    ]
                })
                .collect(),
        );
    }
}

/// An element's heading, in words: the code (`DC4`) goes in the text, never the heading.
fn element_title(id: &str) -> String {
    description_elements()
        .iter()
        .find(|e| e.id == id)
        .map(|e| e.title.to_string())
        .unwrap_or_else(|| id.to_string())
}

/// The heading of a description element, followed for the DC 200 elements by the criterion it
/// answers, named in the text.
fn element(d: &mut Document, id: &str) {
    d.h(2, element_title(id));
    if id.starts_with("DC") {
        d.p(format!("This part answers description criterion {id}."));
    }
}

fn describe_soc2(inp: &Inputs<'_>, d: &mut Document) {
    d.p("This description is organized by the description criteria: each part names the criterion it answers.");
    element(d, "DC1");
    services(inp, d, "DC1");
    element(d, "DC2");
    commitments(inp, d, "DC2");
    element(d, "DC3");
    components(inp, d, "DC3");
    element(d, "DC4");
    incidents(inp, d);
    element(d, "DC5");
    criteria_and_controls(inp, d);
    element(d, "DC6");
    cuecs(inp, d, "DC6");
    element(d, "DC7");
    subservice(inp, d, "DC7");
    element(d, "DC8");
    not_relevant(inp, d);
    element(d, "DC9");
    if is_type2(inp) {
        changes(inp, d);
    } else {
        d.p("Not required for a Type 1 report, which describes the system as of a date.");
    }
    other_aspects(inp, d);
}

fn not_relevant(inp: &Inputs<'_>, d: &mut Document) {
    let list = &inp.project.manifest.scope.not_relevant;
    if list.is_empty() {
        d.p("Every criterion in the categories in scope is relevant to the system.");
        return;
    }
    let mut rows = Vec::new();
    for n in list {
        if n.reason.trim().is_empty() {
            d.gap(
                "DC8",
                format!(
                    "Criterion {} is marked not relevant without a reason.",
                    n.criterion.as_str()
                ),
                "Add `reason` to its [[scope.not_relevant]] entry.",
            );
        }
        let title = assure_catalog::criterion(n.criterion.as_str())
            .map(|c| c.title)
            .unwrap_or("");
        rows.push(vec![
            n.criterion.as_str().to_string(),
            title.to_string(),
            n.reason.clone(),
        ]);
    }
    d.table(&["Criterion", "Subject", "Why it is not relevant"], &[1, 3, 5], rows);
}

fn criteria_and_controls(inp: &Inputs<'_>, d: &mut Document) {
    let cats = inp.project.manifest.scope.categories();
    let nr = inp.project.manifest.scope.not_relevant_ids();
    d.p(format!(
        "The criteria for {} apply. Each is listed with the controls designed to meet it; Section IV describes each control.",
        categories_text(inp)
    ));
    for cat in Category::ALL.iter().filter(|c| cats.contains(c)) {
        let mut rows = Vec::new();
        for cr in criteria().iter().filter(|c| c.category == *cat) {
            let controls = inp.controls_for(|c| c.criteria.iter().any(|r| r.as_str() == cr.id));
            let text = if nr.contains(&cr.id) {
                "not relevant (see DC8)".to_string()
            } else if controls.is_empty() {
                d.missing.push(crate::doc::Missing {
                    element: "DC5".into(),
                    text: format!("Criterion {} has no control.", cr.id),
                    fix: "Map a control to it in controls/, or mark it not relevant with a reason.".into(),
                });
                "MISSING: no control is mapped to this criterion".to_string()
            } else {
                controls
                    .iter()
                    .map(|c| format!("{} {}", c.id.as_str(), c.title))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            rows.push(vec![cr.id.to_string(), cr.title.to_string(), text]);
        }
        d.h(3, format!("{} criteria", cat.label()));
        d.table(&["Criterion", "Subject", "Controls"], &[1, 3, 6], rows);
    }
}

fn other_aspects(inp: &Inputs<'_>, d: &mut Document) {
    d.h(2, "Control environment, risk assessment, communication and monitoring");
    let p = inp.project;
    let coso = inp.controls_for(|c| {
        c.criteria.iter().any(|r| {
            ["CC1.", "CC2.", "CC3.", "CC4.", "CC5."]
                .iter()
                .any(|s| r.as_str().starts_with(s))
        })
    });
    d.p(format!(
        "{} controls address the control environment, communication, risk assessment, monitoring and control activities (CC1 to CC5). {} policies set the rules the controls carry out; {} risks are recorded in the risk register and {} vendors in the vendor inventory.",
        coso.len(),
        p.policies.len(),
        p.risks.len(),
        p.vendors.len()
    ));
    let mut risks: Vec<_> = p.risks.iter().collect();
    risks.sort_by(|a, b| {
        (u16::from(b.likelihood) * u16::from(b.impact))
            .cmp(&(u16::from(a.likelihood) * u16::from(a.impact)))
            .then(a.id.as_str().cmp(b.id.as_str()))
    });
    if !risks.is_empty() {
        d.h(3, "Highest-rated risks");
        d.table(
            &["Risk", "Title", "Likelihood × impact", "Treatment", "Controls"],
            &[1, 4, 2, 2, 3],
            risks
                .iter()
                .take(10)
                .map(|r| {
                    vec![
                        r.id.as_str().into(),
                        r.title.clone(),
                        format!(
                            "{} × {} = {}",
                            r.likelihood,
                            r.impact,
                            u16::from(r.likelihood) * u16::from(r.impact)
                        ),
                        r.treatment.clone(),
                        join_refs(&r.controls),
                    ]
                })
                .collect(),
        );
    }
}

fn describe_soc1(inp: &Inputs<'_>, d: &mut Document) {
    let sys = &inp.project.manifest.system;
    d.p("This description is organized by the elements a SOC 1 description must contain, one part each.");
    element(d, "SOC1-SERVICES");
    services(inp, d, "SOC1-SERVICES");
    element(d, "SOC1-TXN");
    if sys.transaction_flows.is_empty() {
        d.gap(
            "SOC1-TXN",
            "How transactions are initiated, authorized, recorded, processed, corrected and reported is not described.",
            "Add `transaction_flows` under [system] in assure.toml, one entry per class of transactions.",
        );
    } else {
        d.bullets(sys.transaction_flows.clone());
    }
    element(d, "SOC1-RECORDS");
    if sys.components.data.is_empty() {
        d.gap(
            "SOC1-RECORDS",
            "The records and data involved are not listed.",
            "List them under [system.components] `data`.",
        );
    } else {
        d.bullets(sys.components.data.clone());
    }
    element(d, "SOC1-EVENTS");
    if sys.components.procedures.is_empty() {
        d.gap(
            "SOC1-EVENTS",
            "The procedures for significant events other than transactions are not described.",
            "List them under [system.components] `procedures`.",
        );
    } else {
        d.bullets(sys.components.procedures.clone());
    }
    element(d, "SOC1-REPORTING");
    match sys.reporting_process.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => d.p(t),
        _ => d.gap(
            "SOC1-REPORTING",
            "The process used to prepare reports for user entities is not described.",
            "Write `reporting_process` under [system] in assure.toml.",
        ),
    }
    element(d, "SOC1-OBJECTIVES");
    if inp.project.objectives.is_empty() {
        d.gap(
            "SOC1-OBJECTIVES",
            "No control objectives are stated.",
            "Add objectives to objectives.toml (`assure catalog list --objectives` shows a library to start from).",
        );
    } else {
        let mut objs: Vec<_> = inp.project.objectives.iter().collect();
        objs.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        let mut rows = Vec::new();
        for o in objs {
            let controls = inp.controls_for(|c| c.objectives.iter().any(|r| r.as_str() == o.id.as_str()));
            let text = if controls.is_empty() {
                d.missing.push(crate::doc::Missing {
                    element: "SOC1-OBJECTIVES".into(),
                    text: format!("Objective {} has no control.", o.id.as_str()),
                    fix: "Map a control to it in controls/.".into(),
                });
                "MISSING: no control is mapped to this objective".to_string()
            } else {
                controls
                    .iter()
                    .map(|c| format!("{} {}", c.id.as_str(), c.title))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            rows.push(vec![
                o.id.as_str().into(),
                format!("{}: {}", o.title, o.statement),
                text,
            ]);
        }
        d.table(&["Objective", "Control objective", "Controls"], &[1, 5, 5], rows);
    }
    element(d, "SOC1-CUEC");
    cuecs(inp, d, "SOC1-CUEC");
    element(d, "SOC1-SUBSERVICE");
    subservice(inp, d, "SOC1-SUBSERVICE");
    element(d, "SOC1-COSO");
    other_aspects(inp, d);
    element(d, "SOC1-CHANGES");
    if is_type2(inp) {
        changes(inp, d);
    } else {
        d.p("Not required for a Type 1 report, which describes the system as of a date.");
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Framework {
    Soc2,
    Soc1,
}

fn section_iv(inp: &Inputs<'_>, d: &mut Document, fw: Framework) {
    let type2 = is_type2(inp);
    if type2 {
        d.p(match fw {
            Framework::Soc2 => "Laid out by criterion: for each criterion in scope, the controls that address it, and for each control the tests Assure performed over the whole population of the period, each test's own population, the sample where one was drawn, and the result. A control that addresses several criteria appears under each. The service auditor performs and documents their own tests; these results are management's evidence, which the auditor may re-perform from the signed ledger.",
            Framework::Soc1 => "Laid out by control objective: for each objective, the controls that achieve it, and for each control the tests Assure performed over the whole population of the period, each test's own population, the sample where one was drawn, and the result. The service auditor performs and documents their own tests; these results are management's evidence, which the auditor may re-perform from the signed ledger.",
        });
    } else {
        d.p("For each control: what it does, who owns it and how often it operates. A Type 1 report covers design and implementation as of a date, so operating results are not reported.");
    }
    if type2 && inp.run.is_none() {
        d.gap(
            "Section IV",
            "No test run is recorded, so no tests or results can be reported.",
            "Import the period's evidence and run `assure test`.",
        );
    }
    match fw {
        Framework::Soc2 => {
            let cats = inp.project.manifest.scope.categories();
            let nr = &inp.project.manifest.scope.not_relevant;
            for s in assure_catalog::series() {
                let in_scope: Vec<_> = criteria()
                    .iter()
                    .filter(|c| c.series == s.id && cats.contains(&c.category))
                    .collect();
                let (Some(first), Some(last)) = (in_scope.first(), in_scope.last()) else {
                    continue;
                };
                d.h(2, s.name.to_string());
                d.p(if first.id == last.id {
                    format!("Criterion {}.", first.id)
                } else {
                    format!("Criteria {} to {}.", first.id, last.id)
                });
                for cr in in_scope {
                    d.h(3, cr.title.to_string());
                    if let Some(n) = nr.iter().find(|n| n.criterion.as_str() == cr.id) {
                        d.p(format!(
                            "Criterion {}. Not relevant to the system: {}",
                            cr.id,
                            crate::sentence(&n.reason)
                        ));
                        continue;
                    }
                    let controls = inp.controls_for(|c| c.criteria.iter().any(|r| r.as_str() == cr.id));
                    d.p(format!(
                        "Criterion {}. {} address{} it.",
                        cr.id,
                        crate::plural(controls.len(), "control"),
                        if controls.len() == 1 { "es" } else { "" }
                    ));
                    controls_table(inp, d, &controls, type2);
                }
            }
            if inp
                .project
                .manifest
                .scope
                .additional_subject_matter
                .iter()
                .any(|f| f.as_str() == "hipaa")
            {
                hipaa_subject_matter(inp, d, type2);
            }
        }
        Framework::Soc1 => {
            let mut objs: Vec<_> = inp.project.objectives.iter().collect();
            objs.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
            for o in objs {
                let controls = inp.controls_for(|c| c.objectives.iter().any(|r| r.as_str() == o.id.as_str()));
                d.h(
                    2,
                    if o.title.trim().is_empty() {
                        o.id.as_str().to_string()
                    } else {
                        o.title.clone()
                    },
                );
                d.p(format!(
                    "Control objective {}: {}",
                    o.id.as_str(),
                    crate::sentence(&o.statement)
                ));
                controls_table(inp, d, &controls, type2);
            }
        }
    }
    if type2 && let Some((seq, r)) = inp.run {
        d.h(2, "Exceptions noted");
        let with: Vec<_> = r.tests.iter().filter(|t| t.exceptions > 0).collect();
        let occ: Vec<_> = r.occurrences.iter().filter(|o| !o.missing.is_empty()).collect();
        if with.is_empty() && occ.is_empty() {
            d.p(format!(
                "The test run recorded as ledger entry {seq} noted no exceptions."
            ));
        }
        for t in with {
            d.h(3, t.title.clone());
            d.p(format!(
                "Test {} noted {} of {} items as exceptions.",
                t.id, t.exceptions, t.population
            ));
            let fails: Vec<_> = t
                .items
                .iter()
                .filter(|i| i.status == assure_assess::results::ItemStatus::Fail)
                .collect();
            d.table(
                &["Item", "Why it is an exception"],
                &[2, 5],
                fails
                    .iter()
                    .take(EXCEPTIONS_SHOWN)
                    .map(|i| vec![i.item.clone(), i.reason.clone()])
                    .collect(),
            );
            if fails.len() > EXCEPTIONS_SHOWN {
                d.note(format!(
                    "{} further exceptions are listed in the control matrix workbook (`assure report matrix --format xlsx`).",
                    fails.len() - EXCEPTIONS_SHOWN
                ));
            }
        }
        for o in occ {
            d.h(3, control_title(inp, &o.control));
            d.p(format!(
                "Control {}: {} of {} {} occurrences have no evidence.",
                o.control,
                o.missing.len(),
                o.expected,
                o.frequency
            ));
            d.bullets(o.missing.clone());
        }
        if !r.unresolved.is_empty() {
            d.note(format!(
                "{} identities in the evidence matched nobody in people.toml; the items that carry them were tested as recorded.",
                r.unresolved.len()
            ));
        }
        let by_name: Vec<String> = r
            .merged
            .iter()
            .filter(|m| m.rule == "same-name" || m.rule == "roster-name")
            .map(|m| {
                format!(
                    "{} taken as {} ({}; in {})",
                    m.value,
                    m.person,
                    m.rule,
                    m.seen_in.join(", ")
                )
            })
            .collect();
        if !r.merged.is_empty() {
            d.note(format!(
                "{} values in the evidence were resolved to a person by a rule other than their primary email (aliases, GitHub no-reply and plus-addresses, names); the control matrix workbook lists each with its rule.{}",
                r.merged.len(),
                if by_name.is_empty() { "" } else { " Those resolved by name:" }
            ));
            if !by_name.is_empty() {
                d.bullets(by_name);
            }
        }
    }
}

/// Section IV's part for HIPAA as additional subject matter (a SOC 2+): each safeguard's standards
/// and implementation specifications and the Breach Notification Rule's obligations, each with
/// whether HIPAA requires it or leaves it addressable, the criteria it relates to in Assure's
/// crosswalk, the company's controls and their combined result; then the controls that meet HIPAA
/// requirements directly, with their tests. A requirement no criterion and no control covers is
/// marked as a gap, never left out.
fn hipaa_subject_matter(inp: &Inputs<'_>, d: &mut Document, type2: bool) {
    let Some(fa) = assure_assess::framework::assess(inp.project, inp.assessment, "hipaa") else {
        return;
    };
    d.h(
        2,
        "Additional subject matter: the HIPAA Security and Breach Notification Rules",
    );
    d.p("At management's request this report also addresses the requirements a business associate must meet under the HIPAA Security Rule (45 CFR 164.308 to 164.316) and the Breach Notification Rule (45 CFR 164.400 to 164.414). Each requirement is listed with whether HIPAA requires it or leaves it addressable (to be implemented where reasonable and appropriate, or an equivalent documented), the criteria of this report it relates to in Assure's crosswalk, the controls that meet it and their result. This part does not certify HIPAA compliance: no body certifies it, and a requirement that only a covered entity or a group health plan has is marked as such.");
    let groups: Vec<assure_catalog::Requirement> = assure_catalog::requirements("hipaa")
        .into_iter()
        .filter(|r| r.kind == assure_catalog::Kind::Group)
        .collect();
    let mut uncovered = Vec::new();
    for g in &groups {
        let rows: Vec<Vec<String>> = fa
            .requirements
            .iter()
            .filter(|r| {
                r.parent == g.id || assure_catalog::requirement("hipaa", r.parent).is_some_and(|p| p.parent == g.id)
            })
            .map(|r| {
                let kind = match r.kind {
                    "required" => "required",
                    "addressable" => "addressable",
                    "standard" => "standard",
                    _ => "obligation",
                };
                let basis = match (r.criteria.is_empty(), r.relation) {
                    (true, _) => "none".to_string(),
                    (false, Some(rel)) => format!("{} ({rel})", r.criteria.join(", ")),
                    (false, None) => r.criteria.join(", "),
                };
                let result = if assure_catalog::hipaa_not_for_business_associates(r.id) {
                    "not applicable: binds covered entities, clearinghouses or plans only".to_string()
                } else if r.controls.is_empty() {
                    uncovered.push(r.id);
                    "no control: not addressed".to_string()
                } else if !type2 {
                    "designed".to_string()
                } else {
                    let with: Vec<&String> = r
                        .controls
                        .iter()
                        .filter(|c| crate::control_result(inp, c).1 > 0)
                        .collect();
                    if inp.run.is_none() {
                        "not tested: no test run recorded".to_string()
                    } else if with.is_empty() {
                        "no exceptions noted".to_string()
                    } else {
                        format!(
                            "exceptions noted ({})",
                            with.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
                        )
                    }
                };
                let mut title = r.title.to_string();
                if !r.note.is_empty() {
                    title = format!("{title}. {}", r.note);
                }
                vec![
                    r.id.to_string(),
                    kind.to_string(),
                    title,
                    basis,
                    r.controls.join(", "),
                    result,
                ]
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        d.h(3, g.title.to_string());
        d.p(format!("45 CFR {}.", g.id));
        d.table(
            &["Requirement", "Kind", "What it asks", "Criteria", "Controls", "Result"],
            &[3, 2, 5, 3, 3, 3],
            rows,
        );
    }
    let direct = inp.controls_for(|c| c.requirements.iter().any(|r| r.as_str().starts_with("hipaa:")));
    d.h(3, "Controls that meet HIPAA requirements directly");
    d.p(format!(
        "{} the company added for HIPAA's requirements beyond the criteria, each naming the requirements it meets.",
        crate::plural(direct.len(), "control")
    ));
    controls_table(inp, d, &direct, type2);
    if !uncovered.is_empty() {
        d.gap(
            "Section IV",
            format!(
                "{} HIPAA requirement(s) have no control: {}.",
                uncovered.len(),
                uncovered.join(", ")
            ),
            "Add controls that name them (`requirements = [\"hipaa:ID\"]`), or state why they do not apply; `assure gap --framework hipaa` lists them.",
        );
    }
}

/// The controls that address one criterion or objective: for Type 2, one row per test performed
/// (each with its own population: populations of different tests are never added together), per
/// periodic control's occurrences and per sample; for Type 1, the control's design.
fn controls_table(inp: &Inputs<'_>, d: &mut Document, controls: &[&assure_project::model::Control], type2: bool) {
    if controls.is_empty() {
        d.p("No control is mapped here.");
        return;
    }
    let mut rows = Vec::new();
    for c in controls {
        let owner = inp.person_name(c.owner.as_ref());
        let freq = c.frequency.map(|f| f.as_str().replace('_', " ")).unwrap_or_default();
        let desc = if c.description.trim().is_empty() {
            c.title.clone()
        } else {
            c.description.trim().to_string()
        };
        if !type2 {
            rows.push(vec![c.id.as_str().to_string(), desc, owner, freq]);
            continue;
        }
        let activity = format!(
            "{desc} (owner: {}; {})",
            if owner.is_empty() { "not assigned" } else { &owner },
            if freq.is_empty() { "frequency not stated" } else { &freq }
        );
        let mut lines: Vec<[String; 4]> = Vec::new();
        for t in &c.tests {
            let def = inp.project.test(t.as_str());
            let what = def
                .map(|def| {
                    let w = def.doc.what.trim();
                    if w.is_empty() { def.title.clone() } else { w.to_string() }
                })
                .unwrap_or_default();
            let outcome = inp.run.and_then(|(_, r)| r.tests.iter().find(|o| o.id == t.as_str()));
            let (population, sample, result) = match outcome {
                None if inp.run.is_none() => (String::new(), String::new(), "not tested: no test run recorded".into()),
                None => (String::new(), String::new(), "not run".into()),
                Some(o) if o.exceptions > 0 => (
                    o.population.to_string(),
                    "all".into(),
                    format!("exceptions noted ({} of {})", o.exceptions, o.population),
                ),
                Some(o) if o.population > 0 => (o.population.to_string(), "all".into(), "no exceptions noted".into()),
                Some(o) => ("0".into(), String::new(), o.conclusion.label().to_string()),
            };
            lines.push([format!("Test {}: {what}", t.as_str()), population, sample, result]);
        }
        if let Some(o) = inp.occurrences_of(c.id.as_str()) {
            lines.push([
                format!(
                    "Inspected the evidence recorded for each {} occurrence in the period.",
                    o.frequency
                ),
                o.expected.to_string(),
                "all".into(),
                if o.missing.is_empty() {
                    "no exceptions noted".into()
                } else {
                    format!(
                        "exceptions noted ({} of {} without evidence)",
                        o.missing.len(),
                        o.expected
                    )
                },
            ]);
        }
        if let Some(s) = inp.sample_of(c.id.as_str()) {
            lines.push([
                format!(
                    "Selected a sample for inspection by the service auditor ({}; seed {}).",
                    s.rule, s.seed
                ),
                s.population.len().to_string(),
                (s.selected.len() + s.added.len()).to_string(),
                "inspection by the service auditor".into(),
            ]);
        }
        if lines.is_empty() {
            let (result, _) = control_result(inp, c.id.as_str());
            let result = if result.starts_with("no automated test") {
                "not tested by Assure".to_string()
            } else {
                result
            };
            lines.push([
                "Inspection by the service auditor.".into(),
                String::new(),
                String::new(),
                result,
            ]);
        }
        for (i, [what, population, sample, result]) in lines.into_iter().enumerate() {
            let (id, act) = if i == 0 {
                (c.id.as_str().to_string(), activity.clone())
            } else {
                (String::new(), String::new())
            };
            rows.push(vec![id, act, what, population, sample, result]);
        }
    }
    if type2 {
        d.table(
            &[
                "Control",
                "Control activity",
                "Test performed",
                "Population",
                "Sample",
                "Result",
            ],
            &[2, 6, 6, 3, 2, 3],
            rows,
        );
    } else {
        d.table(
            &["Control", "Control activity", "Owner", "Frequency"],
            &[2, 9, 3, 2],
            rows,
        );
    }
}

/// The evidence files of the period, each with its SHA-256, and how to verify them.
fn evidence_listing(inp: &Inputs<'_>, d: &mut Document) {
    let files = inp.evidence_files();
    d.h(2, "Evidence recorded for the period");
    if files.is_empty() {
        d.p("No evidence file is recorded in the ledger for the period.");
        return;
    }
    d.p(format!(
        "Every file recorded in the signed evidence ledger for the period ({}), with its SHA-256. To check them and the ledger's signatures offline: {}.",
        crate::plural(files.len(), "file"),
        inp.verify_command()
    ));
    d.table(
        &["Entry", "File", "Table or controls", "Rows", "SHA-256"],
        &[1, 4, 3, 1, 7],
        files
            .into_iter()
            .map(|f| {
                vec![
                    f.seq.to_string(),
                    f.name,
                    f.what,
                    f.rows.map(|r| r.to_string()).unwrap_or_default(),
                    f.sha256,
                ]
            })
            .collect(),
    );
}

/// A control's title, or its id when the project no longer has it.
fn control_title(inp: &Inputs<'_>, id: &str) -> String {
    inp.project
        .controls
        .iter()
        .find(|c| c.id.as_str() == id)
        .map(|c| c.title.clone())
        .unwrap_or_else(|| id.to_string())
}

fn section_v(inp: &Inputs<'_>, d: &mut Document) {
    d.p("This section is information from management that the service auditor's opinion does not cover.");
    d.h(2, "Management's responses to exceptions");
    let Some((_, r)) = inp.run else {
        d.p("No test run is recorded, so there are no exceptions to respond to yet.");
        return;
    };
    let mut subjects: Vec<(String, String, String)> = r
        .tests
        .iter()
        .filter(|t| t.exceptions > 0)
        .map(|t| {
            (
                t.id.clone(),
                t.title.clone(),
                format!("Test {}: {}.", t.id, crate::plural(t.exceptions, "exception")),
            )
        })
        .collect();
    subjects.extend(r.occurrences.iter().filter(|o| !o.missing.is_empty()).map(|o| {
        (
            o.control.clone(),
            control_title(inp, &o.control),
            format!(
                "Control {}: {} of its {} occurrences without evidence.",
                o.control,
                o.missing.len(),
                o.frequency
            ),
        )
    }));
    if subjects.is_empty() {
        d.p("The latest test run noted no exceptions.");
        return;
    }
    for (id, title, what) in subjects {
        let responses: Vec<_> = inp
            .project
            .responses
            .iter()
            .filter(|x| x.subject.as_str() == id)
            .collect();
        d.h(3, title);
        d.p(what);
        if responses.is_empty() {
            d.gap(
                "Section V",
                format!("Management has not responded to the exceptions of {id}."),
                format!("Add a [[response]] with subject = \"{id}\" to responses.toml: cause, remediation and date."),
            );
        }
        for resp in responses {
            let mut rows = vec![("Response".to_string(), resp.text.trim().to_string())];
            if let Some(o) = &resp.owner {
                rows.push(("Owner".into(), inp.person_name(Some(o))));
            }
            if let Some(dt) = resp.remediated_on {
                rows.push(("Remediated on".into(), long_date(dt.0)));
            }
            d.blocks.push(Block::Fields { rows });
        }
    }
}
