//! Which rows of each table the tests can read, decided from their plans before loading: a table
//! whose every scan carries a predicate is loaded with only the rows that satisfy one, and every
//! test then finds what it finds over every row.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use assure_engine::{RowFilter, TableBatches, TableData, TestSpec, run_batches};

use crate::fixture::{tables, window};
use crate::row_local::spec;

/// The fixture with log events no standard test reads (an API call, a sign-out, a login outside the
/// period) among those they do.
fn with_noise() -> Vec<TableData> {
    let mut all = tables();
    let events = all.iter_mut().find(|t| t.name == "events").unwrap();
    let template = events.rows[0].clone();
    let col = |name: &str| events.columns.iter().position(|(n, _)| n == name).unwrap();
    let (id, at, action, raw, actor, target) = (
        col("event_id"),
        col("occurred_at"),
        col("action"),
        col("raw_action"),
        col("actor"),
        col("target"),
    );
    for (k, (when, what, who)) in [
        ("2026-02-02T10:00:00Z", "api_call", "ana-admin"),
        ("2026-02-03T10:00:00Z", "sign_out", "deploy-bot"),
        ("2025-12-30T10:00:00Z", "console_login", "ana-admin"),
        ("2026-03-03T10:00:00Z", "api_call", "HAL@acme.example"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = template.clone();
        r.values[id] = Some(format!("NOISE{k}"));
        r.values[at] = Some(when.into());
        r.values[action] = Some(what.into());
        r.values[raw] = Some(what.into());
        r.values[actor] = Some(who.into());
        r.values[target] = Some("bo@acme.example".into());
        r.row = 100 + k as u64;
        events.rows.push(r);
    }
    all
}

fn typed(all: &[TableData]) -> Vec<TableBatches> {
    all.iter().map(|t| TableBatches::from_rows(t).unwrap()).collect()
}

fn with_reads(specs: &[TestSpec]) -> Vec<(TestSpec, Vec<String>)> {
    specs.iter().map(|s| (s.clone(), Vec::new())).collect()
}

/// The tables with only the rows `filter` keeps.
fn filtered(tables: &[TableBatches], filter: &RowFilter) -> (Vec<TableBatches>, BTreeMap<String, (usize, usize)>) {
    let mut counts = BTreeMap::new();
    let out = tables
        .iter()
        .map(|t| {
            let batches: Vec<RecordBatch> = t
                .batches
                .iter()
                .map(|b| match filter.keep(&t.name, b) {
                    Some(mask) => arrow::compute::filter_record_batch(b, &mask).unwrap(),
                    None => b.clone(),
                })
                .collect();
            if filter.filters(&t.name) {
                let before: usize = t.batches.iter().map(RecordBatch::num_rows).sum();
                let after: usize = batches.iter().map(RecordBatch::num_rows).sum();
                counts.insert(t.name.clone(), (before, after));
            }
            TableBatches { batches, ..t.clone() }
        })
        .collect();
    (out, counts)
}

#[test]
fn the_rows_the_standard_tests_read() {
    let typed = typed(&with_noise());
    let specs = crate::standard::specs();
    let filter = RowFilter::for_tests(&typed, &with_reads(&specs), &window());
    let mut shown = Vec::new();
    for table in filter.tables() {
        shown.push(format!("{table} (remembered: {:?})", filter.remembered(table)));
        for p in filter.describe(table) {
            shown.push(format!("  {p}"));
        }
    }
    insta::assert_snapshot!(shown.join("\n"));
}

#[test]
fn loading_only_the_rows_the_tests_read_gives_every_test_the_same_result() {
    let all = with_noise();
    let typed = typed(&all);
    let specs = crate::standard::specs();
    let w = window();
    // All tests together, as a run loads once for all of them, and each test on its own.
    let mut groups: Vec<Vec<TestSpec>> = vec![specs.clone()];
    groups.extend(specs.iter().map(|s| vec![s.clone()]));
    let mut fewer = 0;
    for group in groups {
        let filter = RowFilter::for_tests(&typed, &with_reads(&group), &w);
        let (cut, counts) = filtered(&typed, &filter);
        fewer += counts.values().filter(|(before, after)| after < before).count();
        let whole = run_batches(&typed, &group, &w, &mut |_, _| {});
        let part = run_batches(&cut, &group, &w, &mut |_, _| {});
        assert!(whole.diagnostics.is_empty(), "{:?}", whole.diagnostics);
        assert_eq!(
            part,
            whole,
            "{:?} with {counts:?}",
            group.iter().map(|s| &s.id).collect::<Vec<_>>()
        );
    }
    assert!(fewer >= 4, "the filters left out rows in only {fewer} cases");
}

#[test]
fn what_cannot_be_decided_before_loading_reads_every_row() {
    let typed = typed(&with_noise());
    let w = window();
    let of = |sqls: &[&str]| {
        let specs: Vec<TestSpec> = sqls.iter().map(|s| spec(s)).collect();
        let f = RowFilter::for_tests(&typed, &with_reads(&specs), &w);
        f.tables()
            .map(|t| format!("{t}: {}", f.describe(t).join(" | ")))
            .collect::<Vec<_>>()
    };
    let login = "SELECT event_id AS item, 'pass' AS status, '' AS reason FROM events WHERE action = 'console_login'";
    assert_eq!(of(&[login]), ["events: action = Utf8(\"console_login\")"]);
    // Two tests: a row either of them reads is kept.
    assert_eq!(
        of(&[
            login,
            "SELECT event_id AS item, 'pass' AS status, '' AS reason FROM events e WHERE e.outcome = 'failure'"
        ]),
        ["events: action = Utf8(\"console_login\") | outcome = Utf8(\"failure\")"]
    );
    // What a conjunct on an identity column would have kept is not decided before loading (its
    // value may be rewritten by resolution): the other conjuncts still are.
    assert_eq!(
        of(&[
            "SELECT event_id AS item, 'pass' AS status, '' AS reason FROM events WHERE action = 'x' AND target = 'bo@acme.example'"
        ]),
        ["events: action = Utf8(\"x\")"]
    );
    for sqls in [
        // one test reads the table whole
        vec![
            login,
            "SELECT event_id AS item, 'pass' AS status, '' AS reason FROM events",
        ],
        // a self-join, one side unfiltered
        vec![
            "SELECT a.event_id AS item, 'pass' AS status, '' AS reason FROM events a JOIN events b ON a.actor = b.actor WHERE a.action = 'x'",
        ],
        // a limit decides which rows are read
        vec![
            "SELECT event_id AS item, 'pass' AS status, '' AS reason FROM (SELECT * FROM events LIMIT 2) WHERE action = 'x'",
        ],
        // the only predicate is on an identity column, or on when the query runs
        vec!["SELECT event_id AS item, 'pass' AS status, '' AS reason FROM events WHERE target = 'bo@acme.example'"],
        vec!["SELECT event_id AS item, 'pass' AS status, '' AS reason FROM events WHERE occurred_at < now()"],
        // a query that depends on when it runs anywhere (the optimiser folds `now()` into the
        // time it plans, which is not when the query runs)
        vec![
            "SELECT event_id AS item, CASE WHEN occurred_at < now() THEN 'pass' ELSE 'fail' END AS status, '' AS reason FROM events WHERE action = 'x'",
        ],
        vec!["SELECT event_id AS item, 'pass' AS status, '' AS reason FROM events WHERE action = 'x' AND random() < 2"],
        // a table with identity columns feeds resolution with every row
        vec!["SELECT change_id AS item, 'pass' AS status, '' AS reason FROM changes WHERE emergency"],
        // SQL that does not plan: the tables its definition reads are read whole
        vec!["SELECT nothing FROM nowhere"],
    ] {
        assert_eq!(of(&sqls), Vec::<String>::new(), "{sqls:?}");
    }
    let broken = (spec("SELECT nothing FROM nowhere"), vec!["events".to_string()]);
    let f = RowFilter::for_tests(&typed, &[(spec(login), Vec::new()), broken], &w);
    assert!(!f.filters("events"));
    // The soft identity column of a filtered table is remembered for what resolution reports.
    let f = RowFilter::for_tests(&typed, &[(spec(login), Vec::new())], &w);
    assert_eq!(f.remembered("events"), ["target"]);
}

/// `batch` three times over, each text column a dictionary of its values: the first value of
/// each dictionary one no row refers to, as in a row group the file's dictionary covers whole.
fn as_dictionaries(batch: &RecordBatch) -> RecordBatch {
    use arrow::array::{Array, ArrayRef, AsArray, DictionaryArray, Int32Array};
    use arrow::datatypes::{DataType, Field, Int32Type, Schema};
    use std::sync::Arc;
    let thrice = arrow::compute::concat_batches(&batch.schema(), [batch, batch, batch]).unwrap();
    let dictionary = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (f, c) in thrice.schema().fields().iter().zip(thrice.columns()) {
        if f.data_type() != &DataType::Utf8 {
            fields.push(f.as_ref().clone());
            columns.push(Arc::clone(c));
            continue;
        }
        let d = arrow::compute::cast(c, &dictionary).unwrap();
        let d = d.as_dictionary::<Int32Type>();
        let values = arrow::compute::concat(&[
            &arrow::array::StringArray::from(vec!["zz-no-row-has-this"]) as &dyn Array,
            d.values().as_ref(),
        ])
        .unwrap();
        let keys: Int32Array = d.keys().iter().map(|k| k.map(|k| k + 1)).collect();
        fields.push(Field::new(f.name(), dictionary.clone(), f.is_nullable()));
        columns.push(Arc::new(DictionaryArray::<Int32Type>::try_new(keys, values).unwrap()));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

#[test]
fn text_given_as_dictionaries_keeps_the_rows_it_keeps_as_text() {
    let typed = typed(&with_noise());
    let specs = crate::standard::specs();
    let filter = RowFilter::for_tests(&typed, &with_reads(&specs), &window());
    let mut compared = 0;
    for t in &typed {
        if !filter.filters(&t.name) {
            continue;
        }
        for b in &t.batches {
            let thrice = arrow::compute::concat_batches(&b.schema(), [b, b, b]).unwrap();
            let plain = filter.keep(&t.name, &thrice).expect("the filter evaluates over text");
            let dictionaries = as_dictionaries(b);
            let by_value = filter
                .keep(&t.name, &dictionaries)
                .expect("the filter evaluates over dictionaries");
            assert_eq!(by_value, plain, "{}", t.name);
            if plain.true_count() > 0 && plain.true_count() < plain.len() {
                compared += 1;
            }
        }
    }
    assert!(
        compared >= 3,
        "only {compared} tables where the filter keeps some rows and not others"
    );
}
