//! OSCAL 1.1 JSON documents for a project: the criteria (SOC 2) or the company's control objectives
//! (SOC 1) as a catalog, the scope as a profile, the system as a component definition and a system
//! security plan, the tests as an assessment plan, and the latest test run as assessment results.
//!
//! Pure. Identifiers are UUIDs derived from the organization, the document and the subject with
//! BLAKE3 (shaped as version 4), and every timestamp comes from the as-of date or the run, so the
//! same inputs give the same bytes. Documents refer to each other by relative file name
//! (`./catalog.json`), so the directory travels as a set. They are validated in tests by an
//! independent reader built from NIST's schemas (compliance-trestle).

#![warn(missing_docs)]

mod framework;

pub use framework::{OSCAL_MAPPING_VERSION, framework_documents, requirement_id};

use assure_catalog::{criteria, series};
use assure_project::model::Treatment;
use assure_report::{Inputs, control_result};
use chrono::NaiveDate;
use serde_json::{Value, json};

/// The OSCAL version the documents are written against.
pub const OSCAL_VERSION: &str = "1.1.2";
/// The namespace of Assure's own properties.
pub const NS: &str = "https://assure.dev/ns/oscal";

/// Which catalog the documents describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    /// SOC 2: the trust services criteria in scope.
    Soc2,
    /// SOC 1: the company's control objectives.
    Soc1,
}

/// Why the documents cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OscalError(pub String);

impl std::fmt::Display for OscalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OscalError {}

struct Ctx<'a> {
    inp: &'a Inputs<'a>,
    fw: Framework,
    seed: String,
}

impl Ctx<'_> {
    fn uuid(&self, what: &str) -> String {
        let h = blake3::hash(format!("{}\u{0}{what}", self.seed).as_bytes());
        let mut b = [0u8; 16];
        b.copy_from_slice(&h.as_bytes()[..16]);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let x = hex(&b);
        format!(
            "{}-{}-{}-{}-{}",
            &x[0..8],
            &x[8..12],
            &x[12..16],
            &x[16..20],
            &x[20..32]
        )
    }

    fn metadata(&self, title: String) -> Value {
        json!({
            "title": title,
            "last-modified": stamp(self.inp.as_of, false),
            "version": format!("draft {}", self.inp.as_of),
            "oscal-version": OSCAL_VERSION,
            "parties": [{
                "uuid": self.uuid("party/organization"),
                "type": "organization",
                "name": self.inp.project.manifest.organization.legal_name.clone()
                    .unwrap_or_else(|| self.inp.project.manifest.organization.name.clone()),
            }],
        })
    }

    /// The catalog's control ids in scope, with their title and the project controls mapped to them.
    fn requirements(&self) -> Vec<(String, String, String, Vec<&assure_project::model::Control>)> {
        let p = self.inp.project;
        match self.fw {
            Framework::Soc2 => {
                let cats = p.manifest.scope.categories();
                let nr = p.manifest.scope.not_relevant_ids();
                criteria()
                    .iter()
                    .filter(|c| cats.contains(&c.category) && !nr.contains(&c.id))
                    .map(|c| {
                        let controls = sorted(
                            p.controls
                                .iter()
                                .filter(|x| x.criteria.iter().any(|r| r.as_str() == c.id)),
                        );
                        (token(c.id), c.id.to_string(), c.title.to_string(), controls)
                    })
                    .collect()
            }
            Framework::Soc1 => {
                let mut objs: Vec<_> = p.objectives.iter().collect();
                objs.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
                objs.into_iter()
                    .map(|o| {
                        let controls = sorted(
                            p.controls
                                .iter()
                                .filter(|x| x.objectives.iter().any(|r| r.as_str() == o.id.as_str())),
                        );
                        (
                            token(o.id.as_str()),
                            o.id.as_str().to_string(),
                            o.statement.clone(),
                            controls,
                        )
                    })
                    .collect()
            }
        }
    }
}

fn sorted<'a>(it: impl Iterator<Item = &'a assure_project::model::Control>) -> Vec<&'a assure_project::model::Control> {
    let mut v: Vec<_> = it.collect();
    v.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    v
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An OSCAL token from an id: lower case, letters, digits, `.`, `-`, `_`, starting with a letter.
pub fn token(id: &str) -> String {
    let mut t: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        t.insert(0, '_');
    }
    t
}

fn stamp(d: NaiveDate, end_of_day: bool) -> String {
    if end_of_day {
        format!("{d}T23:59:59Z")
    } else {
        format!("{d}T00:00:00Z")
    }
}

fn prop(name: &str, value: impl Into<String>) -> Value {
    json!({ "name": name, "ns": NS, "value": value.into() })
}

fn catalog(c: &Ctx<'_>) -> Value {
    let p = c.inp.project;
    let (title, groups): (String, Vec<Value>) = match c.fw {
        Framework::Soc2 => {
            let cats = p.manifest.scope.categories();
            let groups = series()
                .iter()
                .filter(|s| cats.contains(&s.category))
                .map(|s| {
                    let controls: Vec<Value> = criteria()
                        .iter()
                        .filter(|cr| cr.series == s.id)
                        .map(|cr| {
                            let mut props = vec![
                                json!({"name": "label", "value": cr.id}),
                                prop("category", cr.category.label()),
                                prop("points-of-focus", cr.points_of_focus.to_string()),
                            ];
                            if let Some(n) = cr.coso_principle {
                                props.push(prop("coso-principle", n.to_string()));
                            }
                            json!({
                                "id": token(cr.id),
                                "class": "criterion",
                                "title": cr.title,
                                "props": props,
                                "parts": [{
                                    "id": format!("{}_smt", token(cr.id)),
                                    "name": "statement",
                                    "prose": format!("{} (paraphrased by Assure; the criterion's authoritative text is published by the AICPA).", cr.title),
                                }],
                            })
                        })
                        .collect();
                    json!({
                        "id": token(s.id),
                        "class": "series",
                        "title": s.name,
                        "props": [json!({"name": "label", "value": s.id})],
                        "controls": controls,
                    })
                })
                .collect();
            (
                "Trust services criteria in scope (titles paraphrased by Assure)".into(),
                groups,
            )
        }
        Framework::Soc1 => {
            let controls: Vec<Value> = c
                .requirements()
                .into_iter()
                .map(|(id, label, statement, _)| {
                    let title = p
                        .objectives
                        .iter()
                        .find(|o| o.id.as_str() == label)
                        .map(|o| o.title.clone())
                        .unwrap_or_else(|| label.clone());
                    json!({
                        "id": id,
                        "class": "control-objective",
                        "title": title,
                        "props": [json!({"name": "label", "value": label})],
                        "parts": [{ "id": format!("{id}_smt"), "name": "statement", "prose": statement }],
                    })
                })
                .collect();
            let groups = vec![json!({
                "id": "objectives",
                "title": "Control objectives",
                "controls": controls,
            })];
            (format!("{} control objectives", p.manifest.organization.name), groups)
        }
    };
    json!({ "catalog": {
        "uuid": c.uuid("catalog"),
        "metadata": c.metadata(title),
        "groups": groups,
    }})
}

fn profile(c: &Ctx<'_>) -> Value {
    let ids: Vec<String> = c.requirements().into_iter().map(|r| r.0).collect();
    let mut doc = json!({ "profile": {
        "uuid": c.uuid("profile"),
        "metadata": c.metadata(format!("{} examination scope", c.inp.project.manifest.organization.name)),
        "imports": [{
            "href": "./catalog.json",
            "include-controls": [{ "with-ids": ids }],
        }],
        "merge": { "as-is": true },
    }});
    if c.fw == Framework::Soc2 && !c.inp.project.manifest.scope.not_relevant.is_empty() {
        doc["profile"]["metadata"]["remarks"] = json!(
            c.inp
                .project
                .manifest
                .scope
                .not_relevant
                .iter()
                .map(|n| format!("{} is not relevant: {}", n.criterion.as_str(), n.reason))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    doc
}

fn describe_controls(controls: &[&assure_project::model::Control]) -> String {
    if controls.is_empty() {
        return "No control is mapped to this requirement yet.".into();
    }
    controls
        .iter()
        .map(|x| {
            let d = if x.description.trim().is_empty() {
                &x.title
            } else {
                x.description.trim()
            };
            format!("{}: {}", x.id.as_str(), d)
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn component_definition(c: &Ctx<'_>) -> Value {
    let p = c.inp.project;
    let sys = &p.manifest.system;
    let reqs: Vec<Value> = c
        .requirements()
        .into_iter()
        .map(|(id, _, _, controls)| {
            let props: Vec<Value> = controls.iter().map(|x| prop("control", x.id.as_str())).collect();
            let mut r = json!({
                "uuid": c.uuid(&format!("cd/req/{id}")),
                "control-id": id,
                "description": describe_controls(&controls),
            });
            if !props.is_empty() {
                r["props"] = json!(props);
            }
            r
        })
        .collect();
    let mut components = vec![json!({
        "uuid": c.uuid("component/system"),
        "type": "service",
        "title": if sys.name.is_empty() { p.manifest.organization.name.clone() } else { sys.name.clone() },
        "description": if sys.description.trim().is_empty() { "The system in scope.".to_string() } else { sys.description.trim().to_string() },
        "control-implementations": [{
            "uuid": c.uuid("cd/impl/system"),
            "source": "./profile.json",
            "description": "The controls the organization operates for each requirement in scope.",
            "implemented-requirements": reqs,
        }],
    })];
    for s in &p.manifest.subservice {
        let mut comp = json!({
            "uuid": c.uuid(&format!("component/subservice/{}", s.id.as_str())),
            "type": "service",
            "title": s.name,
            "description": if s.services.trim().is_empty() { format!("Subservice organization {}", s.name) } else { s.services.clone() },
            "props": [prop("treatment", match s.treatment { Treatment::CarveOut => "carve-out", Treatment::Inclusive => "inclusive" })],
        });
        if c.fw == Framework::Soc2 && !s.csocs.is_empty() {
            let reqs: Vec<Value> = s
                .csocs
                .iter()
                .flat_map(|cs| cs.criteria.iter().map(move |cr| (cs, cr)))
                .map(|(cs, cr)| {
                    json!({
                        "uuid": c.uuid(&format!("cd/csoc/{}/{}/{}", s.id.as_str(), cs.id.as_str(), cr.as_str())),
                        "control-id": token(cr.as_str()),
                        "description": format!("{}: {}", cs.id.as_str(), cs.text),
                        "props": [prop("responsibility", "complementary subservice organization control")],
                    })
                })
                .collect();
            if !reqs.is_empty() {
                comp["control-implementations"] = json!([{
                    "uuid": c.uuid(&format!("cd/impl/subservice/{}", s.id.as_str())),
                    "source": "./profile.json",
                    "description": "Controls the organization expects this subservice organization to operate.",
                    "implemented-requirements": reqs,
                }]);
            }
        }
        components.push(comp);
    }
    json!({ "component-definition": {
        "uuid": c.uuid("component-definition"),
        "metadata": c.metadata(format!("{}: components and control implementations", p.manifest.organization.name)),
        "components": components,
    }})
}

fn ssp(c: &Ctx<'_>) -> Value {
    let p = c.inp.project;
    let sys = &p.manifest.system;
    let system_uuid = c.uuid("component/system");
    let info: Vec<Value> = if sys.components.data.is_empty() {
        vec![
            json!({"uuid": c.uuid("info/none"), "title": "Data", "description": "The project does not list the data the system holds."}),
        ]
    } else {
        sys.components
            .data
            .iter()
            .map(|d| json!({"uuid": c.uuid(&format!("info/{d}")), "title": d, "description": d}))
            .collect()
    };
    let mut users: Vec<Value> = sys
        .components
        .people
        .iter()
        .map(|u| json!({"uuid": c.uuid(&format!("user/{u}")), "title": u}))
        .collect();
    if users.is_empty() {
        users.push(json!({"uuid": c.uuid("user/staff"), "title": "Staff who operate the system"}));
    }
    let mut components = vec![json!({
        "uuid": system_uuid,
        "type": "this-system",
        "title": if sys.name.is_empty() { p.manifest.organization.name.clone() } else { sys.name.clone() },
        "description": if sys.description.trim().is_empty() { "The system in scope.".to_string() } else { sys.description.trim().to_string() },
        "status": {"state": "operational"},
    })];
    for s in &sys.components.software {
        components.push(json!({
            "uuid": c.uuid(&format!("component/software/{s}")),
            "type": "software",
            "title": s,
            "description": s,
            "status": {"state": "operational"},
        }));
    }
    for s in &p.manifest.subservice {
        components.push(json!({
            "uuid": c.uuid(&format!("component/subservice/{}", s.id.as_str())),
            "type": "service",
            "title": s.name,
            "description": if s.services.trim().is_empty() { format!("Subservice organization {}", s.name) } else { s.services.clone() },
            "props": [prop("treatment", match s.treatment { Treatment::CarveOut => "carve-out", Treatment::Inclusive => "inclusive" })],
            "status": {"state": "operational"},
        }));
    }
    let reqs: Vec<Value> = c
        .requirements()
        .into_iter()
        .map(|(id, _, _, controls)| {
            let state = if controls.is_empty() { "planned" } else { "implemented" };
            json!({
                "uuid": c.uuid(&format!("ssp/req/{id}")),
                "control-id": id,
                "by-components": [{
                    "component-uuid": system_uuid,
                    "uuid": c.uuid(&format!("ssp/by/{id}")),
                    "description": describe_controls(&controls),
                    "implementation-status": {"state": state},
                }],
            })
        })
        .collect();
    let boundary = if sys.boundaries.trim().is_empty() {
        "The project does not state the system's boundaries.".to_string()
    } else {
        sys.boundaries.trim().to_string()
    };
    json!({ "system-security-plan": {
        "uuid": c.uuid("ssp"),
        "metadata": c.metadata(format!("{}: system description", p.manifest.organization.name)),
        "import-profile": {"href": "./profile.json"},
        "system-characteristics": {
            "system-ids": [{"identifier-type": "https://ietf.org/rfc/rfc4122", "id": c.uuid("system-id")}],
            "system-name": if sys.name.is_empty() { p.manifest.organization.name.clone() } else { sys.name.clone() },
            "description": if sys.description.trim().is_empty() { "Not described in the project.".to_string() } else { sys.description.trim().to_string() },
            "system-information": {"information-types": info},
            "status": {"state": "operational"},
            "authorization-boundary": {"description": boundary},
        },
        "system-implementation": {
            "users": users,
            "components": components,
        },
        "control-implementation": {
            "description": "The controls designed to meet each requirement in scope, as recorded in the project.",
            "implemented-requirements": reqs,
        },
    }})
}

fn window(c: &Ctx<'_>) -> (NaiveDate, NaiveDate) {
    if let Some((_, r)) = c.inp.run {
        return (r.period_start, r.period_end);
    }
    let s = &c.inp.project.manifest.scope;
    let end = s.period_end.as_ref().map(|d| d.get_ref().0).unwrap_or(c.inp.as_of);
    let start = s.period_start.as_ref().map(|d| d.get_ref().0).unwrap_or(end);
    (start, end)
}

fn reviewed_controls(c: &Ctx<'_>) -> Value {
    let ids: Vec<Value> = c
        .requirements()
        .into_iter()
        .map(|r| json!({"control-id": r.0}))
        .collect();
    json!({"control-selections": [{"include-controls": ids}]})
}

fn assessment_plan(c: &Ctx<'_>) -> Value {
    let p = c.inp.project;
    let (start, end) = window(c);
    let mut tests: Vec<_> = p.tests.iter().collect();
    tests.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let activities: Vec<Value> = tests
        .iter()
        .map(|t| {
            let what = if t.doc.what.trim().is_empty() {
                t.title.clone()
            } else {
                t.doc.what.trim().to_string()
            };
            let mut a = json!({
                "uuid": c.uuid(&format!("activity/{}", t.id.as_str())),
                "title": t.title,
                "description": what,
                "props": [json!({"name": "method", "value": "TEST"}), prop("test", t.id.as_str())],
            });
            let ids: Vec<Value> = t
                .criteria
                .iter()
                .map(|r| token(r.as_str()))
                .filter(|id| c.requirements().iter().any(|x| &x.0 == id))
                .map(|id| json!({"control-id": id}))
                .collect();
            if !ids.is_empty() {
                a["related-controls"] = json!({"control-selections": [{"include-controls": ids}]});
            }
            a
        })
        .collect();
    let mut local = json!({});
    if !activities.is_empty() {
        local["activities"] = json!(activities);
    }
    json!({ "assessment-plan": {
        "uuid": c.uuid("assessment-plan"),
        "metadata": c.metadata(format!("{}: tests over the whole population, {start} to {end}", p.manifest.organization.name)),
        "import-ssp": {"href": "./ssp.json"},
        "local-definitions": local,
        "reviewed-controls": reviewed_controls(c),
        "assessment-subjects": [{"type": "component", "include-all": {}}],
    }})
}

fn assessment_results(c: &Ctx<'_>) -> Value {
    let p = c.inp.project;
    let (start, end) = window(c);
    let mut result = json!({
        "uuid": c.uuid("result"),
        "title": "Assure tests over the whole population",
        "start": stamp(start, false),
        "end": stamp(end, true),
        "reviewed-controls": reviewed_controls(c),
    });
    let Some((seq, run)) = c.inp.run else {
        result["description"] = json!("No test run is recorded in the ledger yet; run `assure test`.");
        return json!({ "assessment-results": {
            "uuid": c.uuid("assessment-results"),
            "metadata": c.metadata(format!("{}: test results", p.manifest.organization.name)),
            "import-ap": {"href": "./assessment-plan.json"},
            "results": [result],
        }});
    };
    result["description"] = json!(format!(
        "{} examination test run recorded as ledger entry {seq}: {} tests over {} population items, as of {}. Every item is in the ledger's run record, with the SHA-256 of each evidence file used.",
        if run.exam_type == 1 { "Type 1" } else { "Type 2" },
        run.tests.len(),
        run.tests.iter().map(|t| t.population).sum::<usize>(),
        run.as_of
    ));
    result["props"] = json!([
        prop("ledger-entry", seq.to_string()),
        prop("definitions-blake3", run.definitions.clone())
    ]);
    let collected = stamp(run.as_of, false);
    let evidence: Vec<Value> = run
        .inputs
        .iter()
        .map(|s| {
            json!({
                "href": format!("#ledger-{}", s.seq),
                "description": format!("{} ({}, {}), SHA-256 {}", s.name, s.table, s.connector, s.sha256),
            })
        })
        .collect();
    let mut observations = Vec::new();
    for t in &run.tests {
        let mut o = json!({
            "uuid": c.uuid(&format!("observation/{}", t.id)),
            "title": format!("{}: {}", t.id, t.title),
            "description": format!(
                "{} items in the population, {} exceptions, {} not applicable; conclusion: {}.{}",
                t.population,
                t.exceptions,
                t.not_applicable,
                t.conclusion.label(),
                t.note.as_deref().map(|n| format!(" {n}")).unwrap_or_default()
            ),
            "methods": ["TEST"],
            "types": [if t.exceptions > 0 { "finding" } else { "control-objective" }],
            "collected": collected,
            "props": [prop("test", t.id.clone()), prop("population", t.population.to_string()), prop("exceptions", t.exceptions.to_string())],
        });
        if !evidence.is_empty() {
            o["relevant-evidence"] = json!(evidence);
        }
        observations.push(o);
    }
    for occ in &run.occurrences {
        observations.push(json!({
            "uuid": c.uuid(&format!("observation/occurrences/{}", occ.control)),
            "title": format!("{}: {} occurrences", occ.control, occ.frequency),
            "description": format!("{} of {} expected {} occurrences have evidence.{}", occ.found, occ.expected, occ.frequency,
                if occ.missing.is_empty() { String::new() } else { format!(" Missing: {}.", occ.missing.join(", ")) }),
            "methods": ["EXAMINE"],
            "collected": collected,
        }));
    }
    let mut findings = Vec::new();
    for (id, label, _, controls) in c.requirements() {
        let tested: Vec<_> = controls
            .iter()
            .filter(|x| !x.tests.is_empty() || run.occurrences.iter().any(|o| o.control == x.id.as_str()))
            .collect();
        if tested.is_empty() {
            continue;
        }
        let mut related = Vec::new();
        let mut exceptions = 0;
        for x in &tested {
            let (_, e) = control_result(c.inp, x.id.as_str());
            exceptions += e;
            for t in &run.tests {
                if t.controls.iter().any(|k| k == x.id.as_str()) {
                    related.push(json!({"observation-uuid": c.uuid(&format!("observation/{}", t.id))}));
                }
            }
            if run.occurrences.iter().any(|o| o.control == x.id.as_str()) {
                related
                    .push(json!({"observation-uuid": c.uuid(&format!("observation/occurrences/{}", x.id.as_str()))}));
            }
        }
        related.sort_by_key(|v| v.to_string());
        related.dedup();
        let mut f = json!({
            "uuid": c.uuid(&format!("finding/{id}")),
            "title": format!("{label}: {}", if exceptions > 0 { "exceptions noted" } else { "no exceptions noted" }),
            "description": format!(
                "Controls tested: {}. Exceptions across their tests: {exceptions}.",
                tested.iter().map(|x| x.id.as_str()).collect::<Vec<_>>().join(", ")
            ),
            "target": {
                "type": "statement-id",
                "target-id": format!("{id}_smt"),
                "status": {"state": if exceptions > 0 { "not-satisfied" } else { "satisfied" }},
            },
        });
        if !related.is_empty() {
            f["related-observations"] = json!(related);
        }
        findings.push(f);
    }
    if !observations.is_empty() {
        result["observations"] = json!(observations);
    }
    if !findings.is_empty() {
        result["findings"] = json!(findings);
    }
    json!({ "assessment-results": {
        "uuid": c.uuid("assessment-results"),
        "metadata": c.metadata(format!("{}: test results", p.manifest.organization.name)),
        "import-ap": {"href": "./assessment-plan.json"},
        "results": [result],
    }})
}

/// Every document, as (file name, JSON), in the order they refer to each other.
pub fn documents(inp: &Inputs<'_>, fw: Framework) -> Result<Vec<(String, Value)>, OscalError> {
    if fw == Framework::Soc1 && inp.project.objectives.is_empty() {
        return Err(OscalError(
            "the project has no SOC 1 control objectives, so there is no SOC 1 catalog to write; add objectives.toml or use soc2".into(),
        ));
    }
    let c = Ctx {
        inp,
        fw,
        seed: format!(
            "{}/{}/{}",
            inp.project.manifest.organization.name,
            if fw == Framework::Soc2 { "soc2" } else { "soc1" },
            inp.project.manifest.system.name
        ),
    };
    Ok(vec![
        ("catalog.json".into(), catalog(&c)),
        ("profile.json".into(), profile(&c)),
        ("component-definition.json".into(), component_definition(&c)),
        ("ssp.json".into(), ssp(&c)),
        ("assessment-plan.json".into(), assessment_plan(&c)),
        ("assessment-results.json".into(), assessment_results(&c)),
    ])
}
