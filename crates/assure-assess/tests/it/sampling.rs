//! Sampling sizes, reproducible selections, and expected occurrences.

use assure_assess::occurrences::{Dated, Slot, expected, matched};
use assure_assess::sampling::{Risk, SampleTable, sample_size, select};
use assure_project::model::Frequency;
use chrono::NaiveDate;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn sample_sizes_follow_the_risk_tiered_table() {
    let t = SampleTable::default();
    let size = |f, r, n| sample_size(&t, f, r, n).size;
    assert_eq!(size(Frequency::Quarterly, Risk::Low, 4), 2);
    assert_eq!(size(Frequency::Quarterly, Risk::High, 4), 3);
    assert_eq!(size(Frequency::Monthly, Risk::Moderate, 12), 3);
    assert_eq!(size(Frequency::Weekly, Risk::High, 52), 15);
    assert_eq!(size(Frequency::Daily, Risk::Low, 250), 20);
    assert_eq!(size(Frequency::PerEvent, Risk::Moderate, 100), 30);
    assert_eq!(size(Frequency::PerEvent, Risk::Moderate, 3000), 40);
    assert_eq!(size(Frequency::PerEvent, Risk::High, 250), 60);
    assert_eq!(size(Frequency::Annual, Risk::High, 1), 1);
    // A population smaller than the table's size is tested in full.
    let r = sample_size(&t, Frequency::Daily, Risk::High, 12);
    assert_eq!(r.size, 12);
    assert!(r.rule.contains("whole population"), "{}", r.rule);
    // A project can override the table.
    let mut custom = SampleTable::default();
    custom.sizes.insert("monthly".into(), [4, 5, 6]);
    assert_eq!(sample_size(&custom, Frequency::Monthly, Risk::Low, 12).size, 4);
}

#[test]
fn selections_are_reproducible_from_population_and_seed() {
    let population: Vec<String> = (0..500).map(|i| format!("item-{i:03}")).collect();
    let a = select(&population, 25, 42);
    let b = select(&population, 25, 42);
    assert_eq!(a, b);
    assert_eq!(a.len(), 25);
    // Order and duplicates in the input do not change the selection.
    let mut shuffled = population.clone();
    shuffled.reverse();
    shuffled.push("item-007".into());
    assert_eq!(select(&shuffled, 25, 42), a);
    // Another seed gives another selection.
    assert_ne!(select(&population, 25, 43), a);
    // Every selected item is in the population, once.
    let mut uniq = a.clone();
    uniq.dedup();
    assert_eq!(uniq.len(), 25);
    assert!(a.iter().all(|x| population.contains(x)));
    // The first items for seed 42 are fixed: an auditor re-performing it gets exactly these.
    insta::assert_snapshot!(a.iter().take(5).cloned().collect::<Vec<_>>().join(", "));
    // Asking for more than there is returns everything.
    assert_eq!(select(&population[..3], 10, 1).len(), 3);
}

#[test]
fn two_quarterly_occurrences_in_a_six_month_window() {
    let slots = expected(Frequency::Quarterly, d("2026-01-01"), d("2026-06-30"), d("2026-07-15"));
    assert_eq!(
        slots,
        [
            Slot {
                start: d("2026-01-01"),
                end: d("2026-03-31")
            },
            Slot {
                start: d("2026-04-01"),
                end: d("2026-06-30")
            }
        ]
    );
    // Before the second quarter ends only one is due.
    assert_eq!(
        expected(Frequency::Quarterly, d("2026-01-01"), d("2026-06-30"), d("2026-05-01")).len(),
        1
    );
}

#[test]
fn a_daily_control_on_each_business_day() {
    // January 2026 has 22 weekdays.
    assert_eq!(
        expected(Frequency::Daily, d("2026-01-01"), d("2026-01-31"), d("2026-02-15")).len(),
        22
    );
    // A leap-year February: 2028-02-29 is a Tuesday and counts.
    let feb = expected(Frequency::Daily, d("2028-02-01"), d("2028-02-29"), d("2028-03-01"));
    assert_eq!(feb.len(), 21);
    assert_eq!(feb.last().unwrap().start, d("2028-02-29"));
}

#[test]
fn monthly_weekly_semiannual_and_annual_counts() {
    assert_eq!(
        expected(Frequency::Monthly, d("2026-01-01"), d("2026-12-31"), d("2027-01-10")).len(),
        12
    );
    assert_eq!(
        expected(Frequency::Monthly, d("2026-01-15"), d("2026-03-31"), d("2026-04-10")).len(),
        3
    );
    assert_eq!(
        expected(Frequency::SemiAnnual, d("2026-01-01"), d("2026-12-31"), d("2027-01-10")).len(),
        2
    );
    assert_eq!(
        expected(Frequency::Annual, d("2026-01-01"), d("2026-12-31"), d("2027-01-10")).len(),
        1
    );
    assert_eq!(
        expected(Frequency::Annual, d("2026-01-01"), d("2026-12-31"), d("2026-06-30")).len(),
        0
    );
    let weeks = expected(Frequency::Weekly, d("2026-01-05"), d("2026-02-01"), d("2026-03-01"));
    assert_eq!(weeks.len(), 4);
    assert!(expected(Frequency::Continuous, d("2026-01-01"), d("2026-12-31"), d("2027-01-01")).is_empty());
    assert!(expected(Frequency::PerEvent, d("2026-01-01"), d("2026-12-31"), d("2027-01-01")).is_empty());
}

#[test]
fn evidence_fills_the_slot_its_period_lies_in_and_a_whole_period_export_fills_none() {
    let slots = expected(Frequency::Quarterly, d("2026-01-01"), d("2026-12-31"), d("2027-01-31"));
    let ev = [
        Dated {
            seq: 3,
            start: d("2026-03-31"),
            end: d("2026-03-31"),
        },
        Dated {
            seq: 4,
            start: d("2026-04-01"),
            end: d("2026-06-30"),
        },
        Dated {
            seq: 5,
            start: d("2026-01-01"),
            end: d("2026-12-31"),
        },
    ];
    let m = matched(&slots, &ev);
    let found: Vec<Vec<u64>> = m.iter().map(|o| o.evidence.clone()).collect();
    assert_eq!(found, [vec![3], vec![4], vec![], vec![]]);
}
