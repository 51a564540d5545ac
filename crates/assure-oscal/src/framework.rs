//! OSCAL documents for another framework the project names (`[scope] frameworks`): the framework as
//! a catalog (official identifiers, Assure's own titles), the project's baseline of it as a profile,
//! and Assure's crosswalk from it to the trust services criteria in scope as an OSCAL mapping
//! collection (the OSCAL 1.2 mapping model), whose source gap summary lists what a SOC 2 leaves
//! to show. Pure, and deterministic like the SOC documents.

use assure_catalog::{Kind, Relation, Requirement};
use serde_json::{Value, json};

use crate::{Ctx, Framework, OscalError, prop, token};

/// The OSCAL version of the mapping collection: the mapping model first appeared in OSCAL 1.2.
pub const OSCAL_MAPPING_VERSION: &str = "1.2.1";

/// The OSCAL control id of a framework requirement: the framework's id, then the official
/// identifier in lower case with every run of other characters than letters, digits and `.` as
/// one `-` (`hipaa-164.308-a-1-ii-a`, `iso27001-a.5.1`, `gdpr-art.-5`).
pub fn requirement_id(framework: &str, id: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in id.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            dash = true;
        }
    }
    format!("{}-{out}", token(framework))
}

fn relationship(r: Relation) -> &'static str {
    match r {
        Relation::Equal => "equal-to",
        Relation::Subset => "subset-of",
        Relation::Superset => "superset-of",
        Relation::Intersects => "intersects-with",
    }
}

fn control(fw: &str, r: &Requirement, all: &[Requirement], source: &str) -> Value {
    let id = requirement_id(fw, r.id);
    let mut c = json!({
        "id": id,
        "class": r.kind.as_str(),
        "title": r.title,
        "props": [json!({"name": "label", "value": r.id}), prop("requirement-kind", r.kind.as_str())],
        "parts": [{
            "id": format!("{id}_smt"),
            "name": "statement",
            "prose": format!("{} (Assure's paraphrase; the official text: {source}).", r.title),
        }],
    });
    let children: Vec<Value> = all
        .iter()
        .filter(|x| x.parent == r.id && x.kind != Kind::Group)
        .map(|x| control(fw, x, all, source))
        .collect();
    if !children.is_empty() {
        c["controls"] = json!(children);
    }
    c
}

fn group(fw: &str, g: &Requirement, all: &[Requirement], source: &str) -> Value {
    let mut v = json!({
        "id": requirement_id(fw, g.id),
        "class": "group",
        "title": g.title,
        "props": [json!({"name": "label", "value": g.id})],
    });
    let groups: Vec<Value> = all
        .iter()
        .filter(|x| x.parent == g.id && x.kind == Kind::Group)
        .map(|x| group(fw, x, all, source))
        .collect();
    let controls: Vec<Value> = all
        .iter()
        .filter(|x| x.parent == g.id && x.kind != Kind::Group)
        .map(|x| control(fw, x, all, source))
        .collect();
    if !groups.is_empty() {
        v["groups"] = json!(groups);
    }
    if !controls.is_empty() {
        v["controls"] = json!(controls);
    }
    v
}

/// The framework's documents, as (file name, JSON): `catalog-FW.json`, `profile-FW.json` and
/// `mapping-FW.json`. The mapping's targets are the criteria of the SOC 2 `catalog.json` written
/// beside them (the criteria in scope).
pub fn framework_documents(
    inp: &assure_report::Inputs<'_>,
    framework: &str,
) -> Result<Vec<(String, Value)>, OscalError> {
    let f = assure_catalog::framework(framework).ok_or_else(|| {
        OscalError(format!(
            "unknown framework `{framework}`; Assure knows iso27001, hipaa, gdpr, ccpa, sox-itgc and nist-csf"
        ))
    })?;
    let c = Ctx {
        inp,
        fw: Framework::Soc2,
        seed: format!(
            "{}/{}/{}",
            inp.project.manifest.organization.name, f.id, inp.project.manifest.system.name
        ),
    };
    let all = assure_catalog::requirements(f.id);
    let known = |id: &str| all.iter().any(|x| x.id == id);
    // Top level: groups and requirements without a (known) parent.
    let top: Vec<&Requirement> = all.iter().filter(|r| r.parent.is_empty() || !known(r.parent)).collect();
    let groups: Vec<Value> = top
        .iter()
        .filter(|r| r.kind == Kind::Group)
        .map(|g| group(f.id, g, &all, f.source))
        .collect();
    let controls: Vec<Value> = top
        .iter()
        .filter(|r| r.kind != Kind::Group)
        .map(|r| control(f.id, r, &all, f.source))
        .collect();
    let mut cat = json!({ "catalog": {
        "uuid": c.uuid("catalog"),
        "metadata": c.metadata(format!("{} (titles paraphrased by Assure)", f.name)),
    }});
    cat["catalog"]["metadata"]["remarks"] = json!(format!("{} Official text: {}", f.about, f.source));
    if !groups.is_empty() {
        cat["catalog"]["groups"] = json!(groups);
    }
    if !controls.is_empty() {
        cat["catalog"]["controls"] = json!(controls);
    }
    let cat_name = format!("catalog-{}.json", f.id);
    let profile = json!({ "profile": {
        "uuid": c.uuid("profile"),
        "metadata": c.metadata(format!("{}: {} requirements the company is asked to meet", inp.project.manifest.organization.name, f.name)),
        "imports": [{ "href": format!("./{cat_name}"), "include-all": {} }],
        "merge": { "as-is": true },
    }});

    // The crosswalk, restricted to the criteria the SOC 2 catalog beside it holds (in scope).
    let in_scope: Vec<String> = c.requirements().into_iter().map(|r| r.1).collect();
    let maps_rows = assure_catalog::mappings(f.id);
    let mut maps = Vec::new();
    let mut unmapped = Vec::new();
    for r in all.iter().filter(|r| r.kind != Kind::Group) {
        let m = maps_rows
            .iter()
            .find(|m| m.requirement == r.id && !m.criteria.is_empty());
        let Some(m) = m else {
            unmapped.push(requirement_id(f.id, r.id));
            continue;
        };
        let (inside, outside): (Vec<&str>, Vec<&str>) = m
            .criteria
            .iter()
            .copied()
            .partition(|x| in_scope.iter().any(|s| s == x));
        if inside.is_empty() {
            unmapped.push(requirement_id(f.id, r.id));
            continue;
        }
        let mut remarks = Vec::new();
        if !m.note.is_empty() {
            remarks.push(m.note.to_string());
        }
        if !outside.is_empty() {
            remarks.push(format!("Also maps to {}, outside the SOC 2 scope.", outside.join(", ")));
        }
        let mut map = json!({
            "uuid": c.uuid(&format!("map/{}", r.id)),
            "relationship": relationship(m.relation),
            "sources": [{ "type": "control", "id-ref": requirement_id(f.id, r.id) }],
            "targets": inside.iter().map(|x| json!({ "type": "control", "id-ref": token(x) })).collect::<Vec<_>>(),
        });
        if !remarks.is_empty() {
            map["remarks"] = json!(remarks.join(" "));
        }
        maps.push(map);
    }
    let mut metadata = c.metadata(format!(
        "Assure's crosswalk from {} to the trust services criteria in scope",
        f.name
    ));
    metadata["oscal-version"] = json!(OSCAL_MAPPING_VERSION);
    let mut mapping = json!({
        "uuid": c.uuid("mapping"),
        "source-resource": { "type": "catalog", "href": format!("./{cat_name}") },
        "target-resource": { "type": "catalog", "href": "./catalog.json" },
        "maps": maps,
    });
    if !unmapped.is_empty() {
        mapping["source-gap-summary"] = json!({
            "uuid": c.uuid("mapping/source-gap"),
            "unmapped-controls": [{ "with-ids": unmapped }],
        });
    }
    let mut out = vec![(cat_name, cat), (format!("profile-{}.json", f.id), profile)];
    // A mapping needs at least one map: with no requirement reaching a criterion in scope there is
    // no crosswalk to write (the gap analysis says the same).
    if mapping["maps"].as_array().is_some_and(Vec::is_empty) {
        return Ok(out);
    }
    let collection = json!({ "mapping-collection": {
        "uuid": c.uuid("mapping-collection"),
        "metadata": metadata,
        "provenance": {
            "method": "human",
            "matching-rationale": "semantic",
            "status": "complete",
            "mapping-description": format!(
                "Written by Assure from the two texts; no third-party mapping is used. Relationships follow NIST IR 8477's set theory: the framework's requirement is equal to, a subset of, a superset of or intersects with the criteria. The source gap summary lists the requirements no criterion in scope covers: what a SOC 2 leaves to show. Compare: {}",
                f.source
            ),
        },
        "mappings": [mapping],
    }});
    out.push((format!("mapping-{}.json", f.id), collection));
    Ok(out)
}
