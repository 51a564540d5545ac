//! The vocabulary's one integration-test binary: the words recorded in the ledger's blobs stay the
//! words earlier versions wrote, so old runs and samples read back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

use assure_schema::results::{ItemRecord, ItemStatus, Risk, SampleRecord};
use assure_schema::tables::{TABLES, table};

#[test]
fn item_statuses_and_risks_keep_their_recorded_words() {
    for (s, word) in [
        (ItemStatus::Pass, "pass"),
        (ItemStatus::Fail, "fail"),
        (ItemStatus::NotApplicable, "not_applicable"),
    ] {
        assert_eq!(serde_json::to_value(s).unwrap(), word);
        assert_eq!(ItemStatus::parse(word), Some(s));
        assert_eq!(s.to_string(), word);
    }
    assert_eq!(ItemStatus::parse("PASS"), None);
    for (r, word) in [(Risk::Low, "low"), (Risk::Moderate, "moderate"), (Risk::High, "high")] {
        assert_eq!(serde_json::to_value(r).unwrap(), word);
        assert_eq!(Risk::parse(&word.to_uppercase()), Some(r));
    }
    assert_eq!(Risk::parse(" medium "), Some(Risk::Moderate));
    assert_eq!(Risk::parse("severe"), None);
}

#[test]
fn a_sample_recorded_by_an_earlier_version_reads_back() {
    // The shape written before risks and statuses were typed.
    let old = r#"{"format":1,"control":"AC-07","frequency":"quarterly","risk":"moderate",
        "population_source":"ledger entries recorded for the control","population":["a","b"],
        "size":1,"rule":"1 chosen by the auditor","seed":7,"selected":["a"],"added":[]}"#;
    let s: SampleRecord = serde_json::from_str(old).unwrap();
    assert_eq!(s.risk, Risk::Moderate);
    let item: ItemRecord =
        serde_json::from_str(r#"{"item":"CHG-1","status":"not_applicable","reason":"","attributes":[]}"#).unwrap();
    assert_eq!(item.status, ItemStatus::NotApplicable);
    assert!(
        serde_json::from_str::<ItemRecord>(r#"{"item":"x","status":"maybe","reason":"","attributes":[]}"#).is_err()
    );
}

#[test]
fn every_table_has_lineage_columns_and_unique_names() {
    let mut names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), TABLES.len());
    for t in TABLES {
        let schema = t.arrow_schema();
        assert_eq!(schema.fields().len(), t.columns.len() + 3, "{}", t.name);
        assert!(schema.field_with_name("_evidence").is_ok());
        assert_eq!(table(t.name).map(|x| x.name), Some(t.name));
    }
    assert!(table("no_such_table").is_none());
}
