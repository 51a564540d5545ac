//! Functions the standard tests need that SQL does not have.

use std::sync::{Arc, Mutex, PoisonError};

use arrow::array::{Array, ArrayRef, AsArray, Date32Array, Date32Builder, Int64Array};
use arrow::datatypes::{DataType, Field};
use chrono::{Datelike, Days, NaiveDate, Weekday};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility, create_udf,
};
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

/// How many dictionaries' converted values [`ValuesOnce`] keeps: a query converts a few columns
/// (both sides of `lower(a.email) = lower(p.email)`), each with one dictionary per table.
const VALUES_KEPT: usize = 8;

/// A text function of one argument (`lower`, `upper`) as DataFusion has it, except that a
/// dictionary's values are converted once for all the batches that share them, not once per
/// batch. Identity resolution writes each person column of a table as one dictionary shared by
/// every batch, so DataFusion's own function, which converts a dictionary's values whole each
/// time, converted every address of the table again for each batch of a few thousand rows.
/// What it returns is what DataFusion's function returns: its own conversion of the values, with
/// the batch's keys.
#[derive(Debug)]
struct ValuesOnce {
    inner: Arc<ScalarUDF>,
    /// The values of recent dictionaries (kept, so a pointer is never reused while here) and
    /// their conversion, latest last.
    done: Mutex<Vec<(ArrayRef, ArrayRef)>>,
}

impl PartialEq for ValuesOnce {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}

impl Eq for ValuesOnce {}

impl std::hash::Hash for ValuesOnce {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.hash(state);
    }
}

impl ValuesOnce {
    fn new(inner: Arc<ScalarUDF>) -> ValuesOnce {
        ValuesOnce {
            inner,
            done: Mutex::new(Vec::new()),
        }
    }

    /// `values` converted: from those kept when the same array was converted before.
    fn convert(&self, values: &ArrayRef, args: &ScalarFunctionArgs) -> Result<ArrayRef, DataFusionError> {
        let done = |d: &Vec<(ArrayRef, ArrayRef)>| {
            d.iter()
                .find(|(v, _)| Arc::ptr_eq(v, values))
                .map(|(_, c)| Arc::clone(c))
        };
        if let Some(c) = done(&self.done.lock().unwrap_or_else(PoisonError::into_inner)) {
            return Ok(c);
        }
        let field = Arc::new(Field::new(self.inner.name(), values.data_type().clone(), true));
        let converted = self
            .inner
            .invoke_with_args(ScalarFunctionArgs {
                args: vec![ColumnarValue::Array(Arc::clone(values))],
                arg_fields: vec![Arc::clone(&field)],
                number_rows: values.len(),
                return_field: field,
                config_options: Arc::clone(&args.config_options),
            })?
            .into_array(values.len())?;
        let mut kept = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        if done(&kept).is_none() {
            if kept.len() == VALUES_KEPT {
                kept.remove(0);
            }
            kept.push((Arc::clone(values), Arc::clone(&converted)));
        }
        Ok(converted)
    }
}

impl ScalarUDFImpl for ValuesOnce {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType, DataFusionError> {
        self.inner.return_type(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue, DataFusionError> {
        if let [ColumnarValue::Array(array)] = args.args.as_slice()
            && let Some(dictionary) = array.as_any_dictionary_opt()
        {
            let converted = self.convert(dictionary.values(), &args)?;
            return Ok(ColumnarValue::Array(dictionary.with_values(converted)));
        }
        self.inner.invoke_with_args(args)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

pub fn register(ctx: &SessionContext) {
    for f in [
        datafusion::functions::string::lower(),
        datafusion::functions::string::upper(),
    ] {
        ctx.register_udf(ScalarUDF::new_from_impl(ValuesOnce::new(f)));
    }
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
