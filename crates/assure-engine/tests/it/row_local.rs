//! Which tests read one table row by row, and that for those the result over a table is the union of
//! the results over its parts (what lets a new file's rows be tested on their own).

use std::collections::BTreeMap;

use assure_engine::{Param, TableBatches, TestSpec, row_local_table, run};

use crate::fixture::{tables, window};

fn typed() -> Vec<TableBatches> {
    tables().iter().map(|t| TableBatches::from_rows(t).unwrap()).collect()
}

/// A test of the query `sql`, with no parameters.
pub fn spec(sql: &str) -> TestSpec {
    TestSpec {
        id: "t".into(),
        sql: sql.into(),
        params: BTreeMap::new(),
    }
}

#[test]
fn the_standard_tests_that_read_one_table_row_by_row() {
    let typed = typed();
    let found: Vec<String> = crate::standard::specs()
        .iter()
        .filter_map(|s| row_local_table(&typed, s, &window()).map(|t| format!("{} reads {t}", s.id)))
        .collect();
    insta::assert_snapshot!(found.join("\n"));
}

#[test]
fn a_row_by_row_test_over_a_table_is_the_union_of_the_test_over_its_parts() {
    let all = tables();
    let typed = typed();
    let mut checked = 0;
    for s in crate::standard::specs() {
        let Some(table) = row_local_table(&typed, &s, &window()) else {
            continue;
        };
        let whole = run(&all, std::slice::from_ref(&s), &window(), &mut |_, _| {});
        let t = all.iter().find(|t| t.name == table).unwrap();
        // Splits of the table into a first part and the rest: at each end, one row in, and halfway.
        let n = t.rows.len();
        let mut cuts = vec![0, 1.min(n), n / 3, n / 2, n.saturating_sub(1), n];
        cuts.dedup();
        for cut in cuts {
            let mut items = Vec::new();
            for part in [&t.rows[..cut], &t.rows[cut..]] {
                let tables: Vec<_> = all
                    .iter()
                    .map(|x| {
                        let mut x = x.clone();
                        if x.name == table {
                            x.rows = part.to_vec();
                        }
                        x
                    })
                    .collect();
                let r = run(&tables, std::slice::from_ref(&s), &window(), &mut |_, _| {});
                assert!(r.diagnostics.is_empty(), "{}: {:?}", s.id, r.diagnostics);
                items.extend(
                    r.results[0]
                        .items
                        .iter()
                        .map(|i| (i.item.clone(), i.status, i.reason.clone())),
                );
            }
            items.sort();
            let mut expected: Vec<_> = whole.results[0]
                .items
                .iter()
                .map(|i| (i.item.clone(), i.status, i.reason.clone()))
                .collect();
            expected.sort();
            assert_eq!(items, expected, "{} split at row {cut}", s.id);
        }
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} standard tests read row by row");
}

#[test]
fn a_query_that_combines_rows_is_not_row_by_row() {
    let typed = typed();
    let w = window();
    let one = |sql: &str| row_local_table(&typed, &spec(sql), &w);
    assert_eq!(
        one("SELECT change_id AS item, 'pass' AS status, '' AS reason FROM changes WHERE merged_at BETWEEN :period_start AND :period_end AND NOT emergency").as_deref(),
        Some("changes")
    );
    assert_eq!(
        one("SELECT c.change_id AS item, CASE WHEN c.ticket_id IS NULL THEN 'fail' ELSE 'pass' END AS status, coalesce(c.title, '') AS reason FROM changes AS c").as_deref(),
        Some("changes")
    );
    for sql in [
        // a join with another table
        "SELECT c.change_id AS item, 'pass' AS status, '' AS reason FROM changes c JOIN people p ON p.email = c.author_email",
        // aggregation
        "SELECT author_email AS item, 'pass' AS status, CAST(count(*) AS VARCHAR) AS reason FROM changes GROUP BY author_email",
        // a window over rows
        "SELECT change_id AS item, 'pass' AS status, CAST(row_number() OVER (ORDER BY merged_at) AS VARCHAR) AS reason FROM changes",
        // duplicates removed across rows
        "SELECT DISTINCT author_email AS item, 'pass' AS status, '' AS reason FROM changes",
        // a limit or an order
        "SELECT change_id AS item, 'pass' AS status, '' AS reason FROM changes LIMIT 3",
        "SELECT change_id AS item, 'pass' AS status, '' AS reason FROM changes ORDER BY change_id",
        // a subquery reads other rows
        "SELECT change_id AS item, 'pass' AS status, '' AS reason FROM changes WHERE author_email IN (SELECT email FROM people)",
        "SELECT change_id AS item, CASE WHEN EXISTS (SELECT 1 FROM changes d WHERE d.change_id = changes.change_id AND d.system <> changes.system) THEN 'fail' ELSE 'pass' END AS status, '' AS reason FROM changes",
        // a union of two reads
        "SELECT change_id AS item, 'pass' AS status, '' AS reason FROM changes UNION ALL SELECT person_id AS item, 'pass' AS status, '' AS reason FROM people",
        // a common table expression that aggregates
        "WITH n AS (SELECT count(*) AS k FROM changes) SELECT CAST(k AS VARCHAR) AS item, 'pass' AS status, '' AS reason FROM n",
        // a volatile function, and one whose value is the time the query runs
        "SELECT change_id AS item, CASE WHEN random() < 0.5 THEN 'pass' ELSE 'fail' END AS status, '' AS reason FROM changes",
        "SELECT change_id AS item, CASE WHEN merged_at < now() THEN 'pass' ELSE 'fail' END AS status, '' AS reason FROM changes",
        // SQL that does not plan
        "SELECT nothing FROM nowhere",
    ] {
        assert_eq!(one(sql), None, "{sql}");
    }
    // Parameters are expanded before the plan is read.
    let mut s = spec("SELECT change_id AS item, 'pass' AS status, :label AS reason FROM changes");
    s.params.insert("label".into(), Param::Text("x".into()));
    assert_eq!(row_local_table(&typed, &s, &w).as_deref(), Some("changes"));
}

#[test]
fn the_columns_a_test_reads_are_enough_to_run_it() {
    let all = tables();
    let typed = typed();
    let specs = crate::standard::specs();
    let read = assure_engine::columns_read(&typed, &specs, &window());
    let mut listed = Vec::new();
    for (s, read) in specs.iter().zip(read) {
        let read = read.unwrap_or_else(|| panic!("{} does not plan", s.id));
        listed.push(format!(
            "{}: {}",
            s.id,
            read.iter()
                .map(|(t, c)| format!("{t}({})", c.iter().cloned().collect::<Vec<_>>().join(", ")))
                .collect::<Vec<_>>()
                .join("; ")
        ));
        // Every table cut down to the columns listed for it: the same items as with every column.
        let cut: Vec<_> = all
            .iter()
            .map(|t| {
                let Some(keep) = read.get(&t.name) else {
                    return t.clone();
                };
                let idx: Vec<usize> = (0..t.columns.len())
                    .filter(|i| keep.contains(&t.columns[*i].0))
                    .collect();
                let mut t = t.clone();
                t.columns = idx.iter().map(|i| t.columns[*i].clone()).collect();
                for r in &mut t.rows {
                    r.values = idx.iter().map(|i| r.values[*i].clone()).collect();
                }
                t
            })
            .collect();
        let whole = run(&all, std::slice::from_ref(s), &window(), &mut |_, _| {});
        let part = run(&cut, std::slice::from_ref(s), &window(), &mut |_, _| {});
        assert!(part.diagnostics.is_empty(), "{}: {:?}", s.id, part.diagnostics);
        assert_eq!(part.results, whole.results, "{}", s.id);
    }
    insta::assert_snapshot!(listed.join("\n"));
}

/// Tests run side by side: a slow first test (a cross join of a few million rows) and quick ones
/// after it. Each result is handed on in the order the tests were given, made by `finish` on the
/// thread that ran the test; a test that cannot run is a diagnostic for that test alone; and the
/// progress callback hears of every test.
#[test]
fn tests_run_side_by_side_are_handed_on_in_the_order_given() {
    let typed = typed();
    let slow = "SELECT CAST(count(*) AS VARCHAR) AS item, 'pass' AS status, 'counted' AS reason \
                FROM generate_series(1, 2000) AS a CROSS JOIN generate_series(1, 2000) AS b";
    let quick = |k: usize| format!("SELECT 'q{k}' AS item, 'fail' AS status, 'quick' AS reason");
    let mut tests = vec![TestSpec {
        id: "a-slow".into(),
        ..spec(slow)
    }];
    for k in 0..6 {
        tests.push(TestSpec {
            id: format!("b-quick-{k}"),
            ..spec(&quick(k))
        });
    }
    tests.push(TestSpec {
        id: "c-broken".into(),
        ..spec("SELECT nothing FROM nowhere")
    });
    tests.push(TestSpec {
        id: "d-last".into(),
        ..spec(&quick(9))
    });
    let mut started = Vec::new();
    let mut handed = Vec::new();
    let diagnostics = assure_engine::run_each_with(
        &typed,
        &tests,
        &window(),
        assure_engine::Detail::Everything,
        &mut |k, id| started.push((k, id.to_string())),
        &|r| (r.id.clone(), r.items.first().map(|i| i.item.clone()), r.failed),
        &mut |r| handed.push(r),
    );
    let expected: Vec<(String, Option<String>, usize)> = std::iter::once(("a-slow".into(), Some("4000000".into()), 0))
        .chain((0..6).map(|k| (format!("b-quick-{k}"), Some(format!("q{k}")), 1)))
        .chain(std::iter::once(("d-last".into(), Some("q9".into()), 1)))
        .collect();
    assert_eq!(handed, expected);
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].test, "c-broken");
    started.sort();
    let ids: Vec<&str> = tests.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(started.iter().map(|(_, id)| id.as_str()).collect::<Vec<_>>(), ids);
    assert_eq!(
        started.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        (0..tests.len()).collect::<Vec<_>>()
    );
}
