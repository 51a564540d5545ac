//! The generator's one integration-test binary: the same seed gives the same bytes, another seed
//! another company, and what is planted is listed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

use std::collections::BTreeMap;

use assure_synth::{Config, Named, generate};
use chrono::NaiveDate;

fn config(seed: u64, plant: bool) -> Config {
    Config {
        seed,
        people: 60,
        domain: "northwind.example".into(),
        named: vec![Named {
            email: "marcus@northwind.example".into(),
            name: "Marcus Lee".into(),
            title: "CTO".into(),
            aliases: vec!["mlee@northwind.example".into()],
        }],
        period_start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        period_end: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
        as_of: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
        policies: vec![(
            "acceptable-use".into(),
            "1.0".into(),
            NaiveDate::from_ymd_opt(2025, 12, 1).unwrap(),
        )],
        vendors: vec![("aws".into(), "Amazon Web Services".into(), "high".into(), true)],
        risks: vec!["R-01".into()],
        changes_per_engineer_week: 2.0,
        events_per_person_day: 1.0,
        plant,
    }
}

fn tables(cfg: &Config) -> (BTreeMap<String, String>, Vec<assure_synth::Planted>) {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let planted = generate(cfg, &mut |table: &str, chunk: &str| {
        out.entry(table.to_string()).or_default().push_str(chunk);
    });
    (out, planted)
}

#[test]
fn the_same_seed_gives_the_same_company() {
    let (a, pa) = tables(&config(7, true));
    let (b, pb) = tables(&config(7, true));
    assert_eq!(a, b);
    assert_eq!(pa.len(), pb.len());
    let (c, _) = tables(&config(8, true));
    assert_ne!(a, c, "another seed gives another company");
}

#[test]
fn every_table_has_a_header_and_rows_and_the_named_people_are_in_it() {
    let (t, _) = tables(&config(7, false));
    for name in ["people", "accounts", "changes", "events"] {
        let text = t
            .get(name)
            .unwrap_or_else(|| panic!("no `{name}` table in {:?}", t.keys()));
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        assert!(!header.is_empty() && header.contains(','), "{name}: {header}");
        assert!(lines.count() > 0, "{name} has no rows");
    }
    assert!(t["people"].contains("marcus@northwind.example"));
}

#[test]
fn planted_exceptions_are_listed_with_the_test_that_must_catch_them() {
    let (_, planted) = tables(&config(7, true));
    assert!(!planted.is_empty());
    for p in &planted {
        assert!(!p.test.is_empty() && !p.item.is_empty() && !p.what.is_empty(), "{p:?}");
    }
    let (_, fewer) = tables(&config(7, false));
    assert!(
        fewer.len() < planted.len(),
        "turning planting off plants less: {fewer:?}"
    );
}
