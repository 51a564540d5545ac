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
    assert_eq!(ids("vendor"), ["CC9.2"]);
    assert_eq!(ids("backup"), ["A1.2", "ITGC-BR"]);
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
