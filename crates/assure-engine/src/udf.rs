//! Functions the standard tests need that SQL does not have.

use std::sync::Arc;

use arrow::array::{Array, Date32Array, Date32Builder, Int64Array};
use arrow::datatypes::DataType;
use chrono::{Datelike, Days, NaiveDate, Weekday};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use datafusion::prelude::SessionContext;

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// Adds `n` business days (Monday to Friday; public holidays are not modelled) to a date.
pub fn add_business_days(d: NaiveDate, n: i64) -> NaiveDate {
    let mut day = d;
    let mut left = n.max(0);
    while left > 0 {
        day = day.checked_add_days(Days::new(1)).unwrap_or(day);
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    day
}

pub fn register(ctx: &SessionContext) {
    let f = Arc::new(|args: &[ColumnarValue]| -> Result<ColumnarValue, DataFusionError> {
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let (Some(dates), Some(ns)) = (arrays.first(), arrays.get(1)) else {
            return Err(DataFusionError::Execution(
                "add_business_days takes a date and a number of days".into(),
            ));
        };
        let dates = dates
            .as_any()
            .downcast_ref::<Date32Array>()
            .ok_or_else(|| DataFusionError::Execution("add_business_days: the first argument must be a date".into()))?;
        let ns = ns.as_any().downcast_ref::<Int64Array>().ok_or_else(|| {
            DataFusionError::Execution("add_business_days: the second argument must be a whole number".into())
        })?;
        let mut out = Date32Builder::with_capacity(dates.len());
        for i in 0..dates.len() {
            if dates.is_null(i) || ns.is_null(i) {
                out.append_null();
                continue;
            }
            let d = epoch() + chrono::Duration::days(i64::from(dates.value(i)));
            let r = add_business_days(d, ns.value(i));
            out.append_value(i32::try_from((r - epoch()).num_days()).unwrap_or(i32::MAX));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    });
    ctx.register_udf(create_udf(
        "add_business_days",
        vec![DataType::Date32, DataType::Int64],
        DataType::Date32,
        Volatility::Immutable,
        f,
    ));
}
