//! OSCAL documents from the `init` templates: structure, cross-references and stable identifiers.
//! Schema validation by compliance-trestle runs in the `assure` end-to-end tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

use std::collections::BTreeSet;

use assure_assess::gap::{Signals, assess};
use assure_oscal::{Framework, documents, token};
use assure_project::init::{Template, init};
use assure_report::Inputs;
use chrono::NaiveDate;
use serde_json::Value;

/// Runs `f` over the report inputs of a fresh project from template `t`, as of 2026-11-22.
fn with_inputs<T>(t: Template, f: impl FnOnce(&Inputs<'_>) -> T) -> T {
    let dir = tempfile::tempdir().unwrap();
    init(t, &dir.path().join("p")).unwrap();
    let p = assure_project::check(&dir.path().join("p")).unwrap().project;
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let a = assess(&p, as_of, &Signals::default());
    f(&Inputs {
        project: &p,
        assessment: &a,
        run: None,
        samples: &[],
        ledger: &[],
        as_of,
        history: &[],
        incidents: None,
    })
}

fn docs(t: Template, fw: Framework) -> Vec<(String, Value)> {
    with_inputs(t, |inp| documents(inp, fw).unwrap())
}

fn uuids(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "uuid" {
                    out.push(x.as_str().unwrap().to_string());
                }
                uuids(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| uuids(x, out)),
        _ => {}
    }
}

#[test]
fn soc2_catalog_profile_and_ssp_agree() {
    let d = docs(Template::Saas, Framework::Soc2);
    let names: Vec<&str> = d.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "catalog.json",
            "profile.json",
            "component-definition.json",
            "ssp.json",
            "assessment-plan.json",
            "assessment-results.json"
        ]
    );
    let catalog = &d[0].1["catalog"];
    let ids: BTreeSet<String> = catalog["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| {
            g["controls"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_string())
        })
        .collect();
    // Security (33) + Availability (3) + Confidentiality (2).
    assert_eq!(ids.len(), 38);
    let selected: BTreeSet<String> = d[1].1["profile"]["imports"][0]["include-controls"][0]["with-ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(selected.is_subset(&ids));
    let implemented: BTreeSet<String> =
        d[3].1["system-security-plan"]["control-implementation"]["implemented-requirements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["control-id"].as_str().unwrap().to_string())
            .collect();
    assert_eq!(
        implemented, selected,
        "the SSP implements exactly the profile's selection"
    );
    assert_eq!(
        d[3].1["system-security-plan"]["import-profile"]["href"],
        "./profile.json"
    );
}

#[test]
fn uuids_are_unique_well_formed_and_stable() {
    let a = docs(Template::Payroll, Framework::Soc2);
    let b = docs(Template::Payroll, Framework::Soc2);
    assert_eq!(a, b);
    let mut all = Vec::new();
    for (name, v) in &a {
        let mut mine = Vec::new();
        uuids(v, &mut mine);
        let unique: BTreeSet<&String> = mine.iter().collect();
        assert_eq!(unique.len(), mine.len(), "{name}: a UUID is used twice");
        all.extend(mine);
    }
    for u in &all {
        let b = u.as_bytes();
        assert_eq!(u.len(), 36, "{u}");
        assert_eq!(b[14], b'4', "{u}");
        assert!(matches!(b[19], b'8' | b'9' | b'a' | b'b'), "{u}");
    }
}

#[test]
fn soc1_catalog_holds_the_company_objectives() {
    let d = docs(Template::Fintech, Framework::Soc1);
    let controls = d[0].1["catalog"]["groups"][0]["controls"].as_array().unwrap();
    assert_eq!(controls.len(), 16);
    assert!(
        controls
            .iter()
            .all(|c| c["parts"][0]["prose"].as_str().is_some_and(|p| !p.is_empty()))
    );
}

#[test]
fn tokens_are_valid_oscal_identifiers() {
    assert_eq!(token("CC6.1"), "cc6.1");
    assert_eq!(token("CO 1/2"), "co_1_2");
    assert_eq!(token("1-objective"), "_1-objective");
}

/// A framework the project names becomes a catalog (groups nested as the framework nests them,
/// HIPAA's implementation specifications inside their standard), a profile of all of it and
/// Assure's crosswalk as a mapping collection whose maps point at criteria of the SOC 2 catalog
/// beside it and whose source gap summary is what a SOC 2 leaves to show.
#[test]
fn framework_catalog_profile_and_mapping_agree() {
    let (soc2, d, again, unknown) = with_inputs(Template::Health, |inp| {
        (
            documents(inp, Framework::Soc2).unwrap(),
            assure_oscal::framework_documents(inp, "hipaa").unwrap(),
            assure_oscal::framework_documents(inp, "hipaa").unwrap(),
            assure_oscal::framework_documents(inp, "pci").is_err(),
        )
    });
    let names: Vec<&str> = d.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["catalog-hipaa.json", "profile-hipaa.json", "mapping-hipaa.json"]
    );
    // Every non-group requirement is a control exactly once; specifications nest in standards.
    fn controls(v: &Value, out: &mut Vec<String>) {
        for c in v["controls"].as_array().into_iter().flatten() {
            out.push(c["id"].as_str().unwrap().to_string());
            controls(c, out);
        }
        for g in v["groups"].as_array().into_iter().flatten() {
            controls(g, out);
        }
    }
    let mut ids = Vec::new();
    controls(&d[0].1["catalog"], &mut ids);
    let reqs: Vec<_> = assure_catalog::requirements("hipaa")
        .into_iter()
        .filter(|r| r.kind != assure_catalog::Kind::Group)
        .collect();
    assert_eq!(ids.len(), reqs.len());
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len(), "unique ids");
    let admin = &d[0].1["catalog"]["groups"][0];
    assert_eq!(admin["props"][0]["value"], "164.308");
    let rm = &admin["controls"][0];
    assert_eq!(rm["id"], "hipaa-164.308-a-1");
    assert_eq!(rm["controls"][0]["id"], "hipaa-164.308-a-1-ii-a");
    assert_eq!(rm["controls"][0]["props"][1]["value"], "required");
    assert_eq!(d[1].1["profile"]["imports"][0]["href"], "./catalog-hipaa.json");
    // Maps: sources are catalog controls, targets are criteria of catalog.json, relationships are
    // OSCAL's words; unmapped requirements are the source gap.
    let mc = &d[2].1["mapping-collection"];
    assert_eq!(mc["metadata"]["oscal-version"], "1.2.1");
    let m = &mc["mappings"][0];
    assert_eq!(m["target-resource"]["href"], "./catalog.json");
    let mut criteria = Vec::new();
    controls(&soc2[0].1["catalog"], &mut criteria);
    for map in m["maps"].as_array().unwrap() {
        assert!(ids.contains(&map["sources"][0]["id-ref"].as_str().unwrap().to_string()));
        for t in map["targets"].as_array().unwrap() {
            assert!(criteria.contains(&t["id-ref"].as_str().unwrap().to_string()), "{t}");
        }
        assert!(
            ["equal-to", "subset-of", "superset-of", "intersects-with"]
                .contains(&map["relationship"].as_str().unwrap())
        );
    }
    let gap: Vec<&str> = m["source-gap-summary"]["unmapped-controls"][0]["with-ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(gap.contains(&"hipaa-164.316-b-2-i"), "{gap:?}");
    assert!(
        !gap.contains(&"hipaa-164.410"),
        "164.410 maps to CC7.4 and CC2.3, in scope"
    );
    // The same inputs give the same bytes.
    assert_eq!(d, again);
    assert!(unknown, "an unknown framework is an error");
}
