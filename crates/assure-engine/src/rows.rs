//! Which rows of each table a set of tests can read, decided from their optimised plans before any
//! data is loaded: the predicate the optimiser pushes down onto each table scan, with what cannot
//! be decided before identity resolution taken out. A table whose every scan carries such a
//! predicate needs only the rows that satisfy one of them; loading only those gives every test the
//! same result as loading every row (a plan is equivalent to the query over any data, and in the
//! optimised plan a scanned row that fails its scan's predicate affects nothing).
//!
//! Only predicates that are facts of a row alone qualify: columns, literals, operators and
//! immutable functions, without subqueries, outer references, or the time of the run. A scan with a
//! row limit reads whole (which rows the limit keeps would change). A table with a firm identity
//! column is always read whole: its rows feed the same-name rules and the count of unresolved
//! values. Predicates on a soft identity column (`target`) are dropped from the filter: resolution
//! may rewrite the value the predicate reads.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch, RecordBatchOptions};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema};
use datafusion::execution::context::ExecutionProps;
use datafusion::logical_expr::utils::{conjunction, split_conjunction};
use datafusion::logical_expr::{Expr, LogicalPlan};

use crate::identity::{IDENTITY_COLUMNS, SOFT_IDENTITY_COLUMNS};
use crate::{Plans, TableBatches, TestSpec, Window, row_wise};

/// The rows a run's tests can read: per table whose rows are filtered, one predicate per scan of it
/// in any test (a row is needed when it satisfies one of them). Tables not named are read whole.
#[derive(Debug, Clone, Default)]
pub struct RowFilter {
    tables: BTreeMap<String, Vec<Expr>>,
    /// Per filtered table, its soft identity columns: their distinct values in every row (kept or
    /// not) still feed what resolution reports as merged.
    remembered: BTreeMap<String, Vec<String>>,
}

impl RowFilter {
    /// The filter for running `tests` (each with the tables its definition says it reads, used when
    /// its query does not plan), with `tables` giving the schemas.
    pub fn for_tests(tables: &[TableBatches], tests: &[(TestSpec, Vec<String>)], window: &Window) -> RowFilter {
        let specs: Vec<TestSpec> = tests.iter().map(|(t, _)| t.clone()).collect();
        let reads: Vec<Vec<String>> = tests.iter().map(|(_, r)| r.clone()).collect();
        RowFilter::of_plans(tables, &Plans::new(tables, &specs, window), &reads)
    }

    /// [`RowFilter::for_tests`] from the tests' plans over `tables`, with the tables each test's
    /// definition says it reads (in the order of the plans).
    pub fn of_plans(tables: &[TableBatches], plans: &Plans, reads: &[Vec<String>]) -> RowFilter {
        // Per table: the predicates of its scans so far, or `None` once one scan reads it whole.
        let mut per_table: BTreeMap<String, Option<Vec<Expr>>> = BTreeMap::new();
        for (k, planned) in plans.planned().enumerate() {
            // The optimiser folds `now()` into the time it plans: a query that depends on when it
            // runs (or on chance) reads every row it scans.
            let scans = planned.and_then(|p| {
                let scans = scans_of(&p.optimized)?;
                Some(if p.timeless {
                    scans
                } else {
                    scans.into_iter().map(|(t, _)| (t, None)).collect()
                })
            });
            match scans {
                Some(scans) => {
                    for (table, predicate) in scans {
                        let entry = per_table.entry(table).or_insert_with(|| Some(Vec::new()));
                        match (entry.as_mut(), predicate) {
                            // The same predicate twice (two scans alike) keeps no more rows.
                            (Some(list), Some(p)) if list.contains(&p) => {}
                            (Some(list), Some(p)) => list.push(p),
                            _ => *entry = None,
                        }
                    }
                }
                None => {
                    for table in reads.get(k).into_iter().flatten() {
                        per_table.insert(table.clone(), None);
                    }
                }
            }
        }
        let mut out = RowFilter::default();
        for (table, predicates) in per_table {
            let Some(predicates) = predicates.filter(|p| !p.is_empty()) else {
                continue;
            };
            let Some(schema) = tables.iter().find(|t| t.name == table).map(|t| Arc::clone(&t.schema)) else {
                continue;
            };
            let has = |c: &str| schema.fields().iter().any(|f| f.name() == c);
            if IDENTITY_COLUMNS.iter().any(|c| has(c)) || table == "people" {
                continue;
            }
            let soft: Vec<String> = SOFT_IDENTITY_COLUMNS
                .iter()
                .filter(|c| has(c))
                .map(|c| c.to_string())
                .collect();
            out.remembered.insert(table.clone(), soft);
            out.tables.insert(table, predicates);
        }
        out
    }

    /// The tables whose rows are filtered.
    pub fn tables(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }

    /// Whether rows of `table` are filtered.
    pub fn filters(&self, table: &str) -> bool {
        self.tables.contains_key(table)
    }

    /// The predicates of `table`'s scans, as DataFusion writes them (for tests and diagnostics).
    pub fn describe(&self, table: &str) -> Vec<String> {
        self.tables
            .get(table)
            .map(|p| p.iter().map(ToString::to_string).collect())
            .unwrap_or_default()
    }

    /// The columns of `table` that [`RowFilter::keep`] reads, and those it remembers.
    pub fn reads(&self, table: &str) -> Vec<String> {
        let mut out: BTreeSet<String> = self
            .tables
            .get(table)
            .into_iter()
            .flatten()
            .flat_map(|p| p.column_refs().into_iter().map(|c| c.name.clone()).collect::<Vec<_>>())
            .collect();
        out.extend(self.remembered(table).iter().cloned());
        out.into_iter().collect()
    }

    /// The columns of `table` whose distinct values in every row are kept for identity reports.
    pub fn remembered(&self, table: &str) -> &[String] {
        self.remembered.get(table).map_or(&[], Vec::as_slice)
    }

    /// Which rows of `batch` (of `table`) some test can read; `None` keeps every row (a table not
    /// filtered, or a predicate that cannot be evaluated over this batch: more rows are never wrong).
    ///
    /// Text columns may come as dictionaries of their values (as a Parquet file stores them): a
    /// part of a predicate that reads one such column is evaluated once per distinct value and
    /// each row takes its value's answer.
    pub fn keep(&self, table: &str, batch: &RecordBatch) -> Option<BooleanArray> {
        let predicates = self.tables.get(table)?;
        // A row is kept when every part of one predicate holds for it (as in a WHERE clause, a
        // part that is null does not hold). Parts shared by several predicates (the window, say)
        // are evaluated once.
        let mut answered: Vec<(&Expr, BooleanArray)> = Vec::new();
        let mut mask: Option<BooleanArray> = None;
        for p in predicates {
            let mut all: Option<BooleanArray> = None;
            for part in split_conjunction(p) {
                let value = match answered.iter().find(|(e, _)| *e == part) {
                    Some((_, v)) => v.clone(),
                    None => {
                        let v = by_value(part, batch).or_else(|| evaluate(part, &decoded(part, batch)?))?;
                        answered.push((part, v.clone()));
                        v
                    }
                };
                all = Some(match all {
                    Some(a) => arrow::compute::and(&a, &value).ok()?,
                    None => value,
                });
            }
            let all = all?;
            mask = Some(match mask {
                Some(m) => arrow::compute::or(&m, &all).ok()?,
                None => all,
            });
        }
        mask
    }
}

/// Where `e` holds over `batch` (a row where it is null does not hold); `None` when it cannot be
/// evaluated.
fn evaluate(e: &Expr, batch: &RecordBatch) -> Option<BooleanArray> {
    let schema = DFSchema::try_from(batch.schema().as_ref().clone()).ok()?;
    let physical = datafusion::physical_expr::create_physical_expr(
        e,
        &schema,
        &ExecutionProps::new(),
        &datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext::default(),
    )
    .ok()?;
    let value = physical.evaluate(batch).ok()?.into_array(batch.num_rows()).ok()?;
    let value = value.as_boolean_opt()?;
    Some(if value.null_count() > 0 {
        arrow::compute::prep_null_mask_filter(value)
    } else {
        value.clone()
    })
}

/// The columns of `batch` that `e` reads, a dictionary among them as its values' type.
fn decoded(e: &Expr, batch: &RecordBatch) -> Option<RecordBatch> {
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for c in e.column_refs() {
        let (i, field) = batch.schema().column_with_name(&c.name).map(|(i, f)| (i, f.clone()))?;
        let column = batch.column(i);
        match field.data_type().clone() {
            DataType::Dictionary(_, values) => {
                columns.push(arrow::compute::cast(column, &values).ok()?);
                fields.push(field.with_data_type(*values));
            }
            _ => {
                columns.push(Arc::clone(column));
                fields.push(field);
            }
        }
    }
    RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
    .ok()
}

/// Where `e`, reading one column of `batch` held as a dictionary, holds: evaluated once over the
/// dictionary's values and once for a row without a value, each row taking its value's answer.
/// `None` when `e` reads anything else (or the dictionary is no shorter than the batch).
fn by_value(e: &Expr, batch: &RecordBatch) -> Option<BooleanArray> {
    let refs = e.column_refs();
    let mut refs = refs.iter();
    let (Some(name), None) = (refs.next(), refs.next()) else {
        return None;
    };
    let column = batch.column_by_name(&name.name)?;
    let dictionary = column.as_any_dictionary_opt()?;
    let values = dictionary.values();
    if values.len() >= column.len() {
        return None;
    }
    let null = arrow::array::new_null_array(values.data_type(), 1);
    let values = arrow::compute::concat(&[values.as_ref(), null.as_ref()]).ok()?;
    let without = values.len() - 1;
    let one = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(
            &name.name,
            values.data_type().clone(),
            true,
        )])),
        vec![values],
    )
    .ok()?;
    let answers = evaluate(e, &one)?;
    let keys = dictionary.normalized_keys();
    let nulls = column.nulls();
    let answer = |row: usize| {
        let k = keys.get(row).copied().unwrap_or(without);
        let valid = nulls.is_none_or(|n| n.is_valid(row));
        answers.value(if valid && k < without { k } else { without })
    };
    Some(BooleanArray::new(
        arrow::buffer::BooleanBuffer::collect_bool(keys.len(), answer),
        None,
    ))
}

/// Every table scan in a plan (subqueries included), each with the predicate its rows must satisfy
/// to matter, if one can be evaluated before identity resolution. `None` when the plan cannot be
/// walked.
fn scans_of(plan: &LogicalPlan) -> Option<Vec<(String, Option<Expr>)>> {
    let mut scans: Vec<(String, Option<Expr>)> = Vec::new();
    plan.apply_with_subqueries(|p| {
        if let LogicalPlan::Filter(f) = p {
            let mut input = f.input.as_ref();
            while let LogicalPlan::SubqueryAlias(a) = input {
                input = a.input.as_ref();
            }
            if let LogicalPlan::TableScan(s) = input {
                // A scan with a row limit reads whichever rows it reaches first: all of them count.
                let predicate = s
                    .fetch
                    .is_none()
                    .then(|| {
                        let parts: Vec<Expr> = split_conjunction(&f.predicate)
                            .into_iter()
                            .chain(s.filters.iter())
                            .filter(|e| usable(e))
                            .filter_map(|e| unqualified(e.clone()))
                            .collect();
                        conjunction(parts)
                    })
                    .flatten();
                scans.push((s.table_name.table().to_string(), predicate));
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .ok()?;
    // Scans without a filter above them read every row.
    let mut with_filter: BTreeMap<String, usize> = BTreeMap::new();
    for (t, _) in &scans {
        *with_filter.entry(t.clone()).or_default() += 1;
    }
    let mut counted: BTreeMap<String, usize> = BTreeMap::new();
    plan.apply_with_subqueries(|p| {
        if let LogicalPlan::TableScan(s) = p {
            *counted.entry(s.table_name.table().to_string()).or_default() += 1;
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .ok()?;
    for (table, n) in counted {
        if with_filter.get(&table).copied().unwrap_or(0) < n {
            scans.push((table, None));
        }
    }
    Some(scans)
}

/// Whether an expression calls only immutable functions (not `now()`, `current_date` or `random()`).
pub(crate) fn timeless(e: &Expr) -> bool {
    use datafusion::logical_expr::Volatility;
    !e.exists(|x| Ok(matches!(x, Expr::ScalarFunction(f) if f.func.signature().volatility != Volatility::Immutable)))
        .unwrap_or(true)
}

/// Whether a conjunct can be evaluated on a stored row before identity resolution: a fact of the
/// row alone, reading no identity column.
fn usable(e: &Expr) -> bool {
    let identity: BTreeSet<&str> = IDENTITY_COLUMNS.iter().chain(SOFT_IDENTITY_COLUMNS).copied().collect();
    row_wise(e) && e.column_refs().iter().all(|c| !identity.contains(c.name.as_str())) && !e.column_refs().is_empty()
}

/// The expression with its columns named without their table or alias (as in a stored batch).
fn unqualified(e: Expr) -> Option<Expr> {
    e.transform(|x| match x {
        Expr::Column(c) => Ok(Transformed::yes(Expr::Column(Column::new_unqualified(c.name)))),
        other => Ok(Transformed::no(other)),
    })
    .map(|t| t.data)
    .ok()
}
