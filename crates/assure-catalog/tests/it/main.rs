//! The catalog's one integration-test binary: counts, structure and search.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

use assure_catalog::{
    Category, DescriptionReport, ObjectiveFamily, criteria, criterion, description_elements, objective_templates,
    search, series,
};

#[test]
fn sixty_one_criteria_with_the_published_counts_per_category() {
    let count = |cat: Category| criteria().iter().filter(|c| c.category == cat).count();
    assert_eq!(criteria().len(), 61);
    assert_eq!(count(Category::Security), 33);
    assert_eq!(count(Category::Availability), 3);
    assert_eq!(count(Category::Confidentiality), 2);
    assert_eq!(count(Category::ProcessingIntegrity), 5);
    assert_eq!(count(Category::Privacy), 18);
}

#[test]
fn counts_per_series_match_the_criteria() {
    let expected = [
        ("CC1", 5),
        ("CC2", 3),
        ("CC3", 4),
        ("CC4", 2),
        ("CC5", 3),
        ("CC6", 8),
        ("CC7", 5),
        ("CC8", 1),
        ("CC9", 2),
        ("A1", 3),
        ("PI1", 5),
        ("C1", 2),
        ("P1", 1),
        ("P2", 1),
        ("P3", 2),
        ("P4", 3),
        ("P5", 2),
        ("P6", 7),
        ("P7", 1),
        ("P8", 1),
    ];
    for (id, n) in expected {
        assert_eq!(criteria().iter().filter(|c| c.series == id).count(), n, "series {id}");
    }
    assert_eq!(series().len(), expected.len());
    for c in criteria() {
        let s = series().iter().find(|s| s.id == c.series).expect("series exists");
        assert_eq!(s.category, c.category, "{} is in its series' category", c.id);
        assert!(
            c.id.starts_with(&format!("{}.", c.series)),
            "{} is named after its series",
            c.id
        );
    }
}

#[test]
fn points_of_focus_total_330_and_coso_principles_cover_cc1_to_cc5_once_each() {
    let total: u32 = criteria().iter().map(|c| u32::from(c.points_of_focus)).sum();
    assert_eq!(total, 330);
    let cc: u32 = criteria()
        .iter()
        .filter(|c| c.category == Category::Security)
        .map(|c| u32::from(c.points_of_focus))
        .sum();
    assert_eq!(cc, 232);
    let mut principles: Vec<u8> = criteria().iter().filter_map(|c| c.coso_principle).collect();
    principles.sort_unstable();
    assert_eq!(principles, (1..=17).collect::<Vec<u8>>());
    for c in criteria() {
        let in_coso_series = ["CC1", "CC2", "CC3", "CC4", "CC5"].contains(&c.series);
        assert_eq!(c.coso_principle.is_some(), in_coso_series, "{}", c.id);
    }
    assert_eq!(criterion("cc3.3").and_then(|c| c.coso_principle), Some(8));
}

#[test]
fn ids_are_unique_and_titles_are_short() {
    let mut ids: Vec<&str> = criteria().iter().map(|c| c.id).collect();
    ids.extend(objective_templates().iter().map(|o| o.id));
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n);
    for c in criteria() {
        assert!(c.title.split_whitespace().count() <= 14, "{} title is short", c.id);
    }
}

#[test]
fn objective_library_covers_itgc_and_each_business_process() {
    for family in ObjectiveFamily::ALL {
        let n = objective_templates().iter().filter(|o| o.family == family).count();
        assert!(n >= 4, "{family} has {n} objectives");
    }
    for o in objective_templates() {
        assert!(
            o.statement.starts_with("Controls provide reasonable assurance that "),
            "{}",
            o.id
        );
    }
    let itgc: Vec<&str> = objective_templates()
        .iter()
        .filter(|o| o.family == ObjectiveFamily::Itgc)
        .map(|o| o.id)
        .collect();
    for id in [
        "ITGC-LA", "ITGC-CM", "ITGC-OP", "ITGC-BR", "ITGC-DT", "ITGC-NS", "ITGC-SM",
    ] {
        assert!(itgc.contains(&id), "{id}");
    }
}

#[test]
fn description_criteria_are_dc1_to_dc9_and_the_soc1_elements() {
    let soc2: Vec<&str> = description_elements()
        .iter()
        .filter(|d| d.report == DescriptionReport::Soc2)
        .map(|d| d.id)
        .collect();
    assert_eq!(soc2, ["DC1", "DC2", "DC3", "DC4", "DC5", "DC6", "DC7", "DC8", "DC9"]);
    let type2: Vec<&str> = description_elements()
        .iter()
        .filter(|d| d.type2_only)
        .map(|d| d.id)
        .collect();
    assert_eq!(type2, ["DC9", "SOC1-CHANGES"]);
    assert!(
        description_elements()
            .iter()
            .filter(|d| d.report == DescriptionReport::Soc1)
            .count()
            >= 9
    );
}

#[test]
fn search_ranks_id_hits_first_and_needs_every_word() {
    let ids = |q: &str| search(q).iter().map(|e| e.id()).collect::<Vec<_>>();
    assert_eq!(ids("cc8"), ["CC8.1"]);
    assert_eq!(ids("vendor"), ["CC9.2", "ITGC-SM"]);
    assert_eq!(ids("backup"), ["A1.2", "ITGC-BR", "A1.3"]);
    // Abbreviations people type find the catalog's own words, and a short one is never matched
    // as a fragment of other words ("dr" in "address").
    for q in ["mfa", "2fa", "sso", "MFA"] {
        assert_eq!(ids(q), ["CC6.1", "ITGC-LA"], "{q}");
    }
    for q in ["dr", "bcp"] {
        assert!(
            ids(q).contains(&"CC9.1") && ids(q).contains(&"A1.3"),
            "{q}: {:?}",
            ids(q)
        );
        assert!(!ids(q).contains(&"CC2.3"), "{q}");
    }
    assert_eq!(ids("sdlc"), ["CC8.1", "ITGC-SD"]);
    assert!(ids("payroll tax").contains(&"PAY-TAX"));
    assert!(ids("").is_empty());
    assert!(ids("no such words anywhere").is_empty());
}

#[test]
fn category_parsing_accepts_codes_and_names() {
    assert_eq!(
        Category::parse("Processing-Integrity"),
        Some(Category::ProcessingIntegrity)
    );
    assert_eq!(Category::parse("PI"), Some(Category::ProcessingIntegrity));
    assert_eq!(Category::parse("security"), Some(Category::Security));
    assert_eq!(Category::parse("speed"), None);
}

/// The frameworks' structure, counted against the official documents: ISO/IEC 27001:2022 has 93
/// Annex A controls in four themes (37, 8, 14, 34) and clauses 4 to 10; NIST CSF 2.0 has 6
/// functions, 22 categories and 106 subcategories; the HIPAA Security Rule has 18 standards in
/// 164.308 to 164.312 with 36 implementation specifications, 14 required and 22 addressable.
#[test]
fn framework_catalogs_match_the_official_structure() {
    use assure_catalog::{Kind, framework, frameworks, requirement, requirements, sox_objectives};
    let ids: Vec<&str> = frameworks().iter().map(|f| f.id).collect();
    assert_eq!(ids, ["iso27001", "hipaa", "gdpr", "ccpa", "sox-itgc", "nist-csf"]);
    let count = |fw: &str, kind: Kind, prefix: &str| {
        requirements(fw)
            .iter()
            .filter(|r| r.kind == kind && r.id.starts_with(prefix))
            .count()
    };
    assert_eq!(count("iso27001", Kind::Control, "A."), 93);
    for (theme, n) in [("A.5.", 37), ("A.6.", 8), ("A.7.", 14), ("A.8.", 34)] {
        assert_eq!(count("iso27001", Kind::Control, theme), n, "{theme}");
    }
    assert_eq!(count("iso27001", Kind::Clause, ""), 23);
    assert_eq!(requirement("iso27001", "A.8.32").unwrap().parent, "A.8");
    assert_eq!(requirement("iso27001", "9.2").unwrap().parent, "9");
    assert_eq!(count("nist-csf", Kind::Control, ""), 106);
    let csf = requirements("nist-csf");
    let functions = csf
        .iter()
        .filter(|r| r.kind == Kind::Group && !r.id.contains('.'))
        .count();
    let categories = csf
        .iter()
        .filter(|r| r.kind == Kind::Group && r.id.contains('.'))
        .count();
    assert_eq!((functions, categories), (6, 22));
    for (f, n) in [("GV", 31), ("ID", 21), ("PR", 22), ("DE", 11), ("RS", 13), ("RC", 8)] {
        assert_eq!(count("nist-csf", Kind::Control, &format!("{f}.")), n, "{f}");
    }
    assert_eq!(requirement("nist-csf", "PR.AA-05").unwrap().parent, "PR.AA");
    assert_eq!(requirement("nist-csf", "PR.AA").unwrap().parent, "PR");
    let security = |kind: Kind| {
        ["164.308", "164.310", "164.312"]
            .iter()
            .map(|s| count("hipaa", kind, s))
            .sum::<usize>()
    };
    assert_eq!(security(Kind::Standard), 18);
    assert_eq!((security(Kind::Required), security(Kind::Addressable)), (14, 22));
    assert_eq!(
        count("hipaa", Kind::Standard, "164.314") + count("hipaa", Kind::Standard, "164.316"),
        4
    );
    assert_eq!(
        count("hipaa", Kind::Obligation, "164.4"),
        7,
        "the Breach Notification Rule"
    );
    let risk = requirement("hipaa", "164.308(a)(1)(ii)(A)").unwrap();
    assert_eq!((risk.kind, risk.parent), (Kind::Required, "164.308(a)(1)"));
    assert_eq!(
        requirement("hipaa", "164.312(a)(2)(iv)").unwrap().kind,
        Kind::Addressable
    );
    assert_eq!(requirement("hipaa", "164.308(a)(1)").unwrap().parent, "164.308");
    for art in [
        "Art. 5", "Art. 24", "Art. 25", "Art. 28", "Art. 30", "Art. 32", "Art. 33", "Art. 34", "Art. 35", "Art. 36",
        "Art. 44", "Art. 45", "Art. 46", "Art. 47", "Art. 48", "Art. 49",
    ] {
        assert_eq!(
            requirement("gdpr", art).map(|r| r.kind),
            Some(Kind::Obligation),
            "{art}"
        );
    }
    assert!(requirement("ccpa", "1798.100(e)").is_some() && requirement("ccpa", "7051").is_some());
    let domains: Vec<&str> = requirements("sox-itgc")
        .iter()
        .filter(|r| r.kind == Kind::Group)
        .map(|r| r.id)
        .collect();
    assert_eq!(domains, ["APD", "PC", "PD", "CO"]);
    for d in domains {
        assert!(!sox_objectives(d).is_empty());
        for o in sox_objectives(d) {
            assert!(assure_catalog::objective_template(o).is_some(), "{o}");
        }
    }
    // Every identifier is unique within its framework, every title is ours and non-empty, and every
    // parent names a requirement of the same framework.
    for f in frameworks() {
        let all = requirements(f.id);
        let mut seen = std::collections::BTreeSet::new();
        for r in &all {
            assert!(seen.insert(r.id), "{} {} twice", f.id, r.id);
            assert!(!r.title.is_empty() && r.title.len() < 200, "{} {}", f.id, r.id);
            assert!(
                r.parent.is_empty() || all.iter().any(|p| p.id == r.parent),
                "{} {}",
                f.id,
                r.id
            );
            assert_eq!(r.framework, f.id);
        }
        assert!(framework(f.id).unwrap().soc_note.contains("SOC"));
    }
    assert!(requirements("pci-dss").is_empty());
}

/// Assure's crosswalk names real requirements and real criteria, maps each requirement once, says
/// what differs wherever a requirement asks for more or has no criterion, and reads both ways.
#[test]
fn the_crosswalk_names_real_requirements_and_criteria_both_ways() {
    use assure_catalog::{Kind, Relation, criterion, frameworks, mapped_to, mappings, requirement};
    for f in frameworks() {
        let rows = mappings(f.id);
        assert!(!rows.is_empty(), "{}", f.id);
        let mut seen = std::collections::BTreeSet::new();
        for m in &rows {
            let r = requirement(f.id, m.requirement).unwrap_or_else(|| panic!("{} {}", f.id, m.requirement));
            assert_ne!(r.kind, Kind::Group, "{} {} is a group", f.id, m.requirement);
            assert!(seen.insert(m.requirement), "{} {} mapped twice", f.id, m.requirement);
            for c in m.criteria {
                assert!(criterion(c).is_some(), "{} {} names `{c}`", f.id, m.requirement);
            }
            if m.criteria.is_empty() {
                assert_eq!(m.relation, Relation::Superset);
                assert!(!m.note.is_empty(), "{} {} says nothing", f.id, m.requirement);
            }
        }
    }
    // Every Annex A control and every CSF subcategory is mapped (some to no criterion, saying so).
    for fw in ["iso27001", "nist-csf"] {
        let mapped: std::collections::BTreeSet<&str> = mappings(fw).iter().map(|m| m.requirement).collect();
        for r in assure_catalog::requirements(fw)
            .iter()
            .filter(|r| r.kind == Kind::Control)
        {
            assert!(mapped.contains(r.id), "{fw} {} is not mapped", r.id);
        }
    }
    let back: Vec<String> = mapped_to("CC8.1")
        .iter()
        .map(|m| format!("{}:{}", m.framework, m.requirement))
        .collect();
    assert!(
        back.contains(&"iso27001:A.8.32".to_string()) && back.contains(&"sox-itgc:PC-01".to_string()),
        "{back:?}"
    );
    let ra = mappings("hipaa")
        .into_iter()
        .find(|m| m.requirement == "164.308(a)(1)(ii)(A)")
        .unwrap();
    assert_eq!((ra.relation, ra.criteria), (Relation::Superset, &["CC3.2"][..]));
}

/// Each SOX ITGC requirement is tied to SOC 1 library objectives of its own domain, and the HIPAA
/// requirements that bind only covered entities, clearinghouses or plans are real requirements.
#[test]
fn sox_requirements_tie_to_their_domains_objectives_and_hipaa_applicability_is_known() {
    use assure_catalog::{
        Kind, hipaa_not_for_business_associates, requirement, requirements, sox_objectives, sox_requirement_objectives,
    };
    for r in requirements("sox-itgc").into_iter().filter(|r| r.kind != Kind::Group) {
        let objs = sox_requirement_objectives(r.id);
        assert!(!objs.is_empty(), "{}", r.id);
        for o in objs {
            assert!(
                sox_objectives(r.parent).contains(o),
                "{} {o} outside {}",
                r.id,
                r.parent
            );
        }
    }
    let not_ba: Vec<&str> = requirements("hipaa")
        .into_iter()
        .filter(|r| hipaa_not_for_business_associates(r.id))
        .map(|r| r.id)
        .collect();
    assert_eq!(
        not_ba,
        [
            "164.308(a)(4)(ii)(A)",
            "164.314(a)(2)(ii)",
            "164.314(b)(1)",
            "164.314(b)(2)",
            "164.404",
            "164.406",
            "164.408"
        ]
    );
    assert!(requirement("hipaa", "164.410").is_some_and(|r| !hipaa_not_for_business_associates(r.id)));
}
