//! Auditor-style sampling for manual controls: a sample size from the control's frequency and risk
//! (the risk-tiered table of `domain/soc-facts.md` §6.2, which a project can override), and a
//! selection that anyone can re-perform from the population and the seed.

use std::collections::BTreeMap;

use assure_project::model::Frequency;
use serde::Serialize;

pub use assure_schema::results::Risk;

fn risk_index(r: Risk) -> usize {
    match r {
        Risk::Low => 0,
        Risk::Moderate => 1,
        Risk::High => 2,
    }
}

/// Sample sizes by frequency and risk (low, moderate, high).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SampleTable {
    /// `frequency` (as written in project files) to sizes for low, moderate and high risk.
    pub sizes: BTreeMap<String, [usize; 3]>,
    /// Per-event populations of 250 or more use these sizes instead.
    pub large_population: [usize; 3],
}

impl Default for SampleTable {
    fn default() -> SampleTable {
        let mut sizes = BTreeMap::new();
        for (f, s) in [
            ("annual", [1, 1, 1]),
            ("semi-annual", [1, 1, 2]),
            ("quarterly", [2, 2, 3]),
            ("monthly", [2, 3, 4]),
            ("weekly", [5, 8, 15]),
            ("daily", [20, 30, 40]),
            ("per-event", [20, 30, 40]),
            // An automated control is tested once, relying on change management for the rest of the period.
            ("continuous", [1, 1, 1]),
        ] {
            sizes.insert(f.to_string(), s);
        }
        SampleTable {
            sizes,
            large_population: [25, 40, 60],
        }
    }
}

/// How a sample size was reached, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SizeRule {
    /// The size.
    pub size: usize,
    /// Why.
    pub rule: String,
}

/// Returns the sample size for a population.
pub fn sample_size(table: &SampleTable, frequency: Frequency, risk: Risk, population: usize) -> SizeRule {
    let key = frequency.as_str();
    let row = if frequency == Frequency::PerEvent && population >= 250 {
        table.large_population
    } else {
        table.sizes.get(key).copied().unwrap_or([25, 40, 60])
    };
    let size = row.get(risk_index(risk)).copied().unwrap_or(25);
    if population <= size {
        return SizeRule { size: population, rule: format!("the whole population ({population} items), no larger than the table's {size} for a {key} control at {risk:?} risk").to_lowercase() };
    }
    SizeRule {
        size,
        rule: format!(
            "{size} for a {key} control at {} risk{}",
            format!("{risk:?}").to_lowercase(),
            if frequency == Frequency::PerEvent && population >= 250 {
                " with a population of 250 or more"
            } else {
                ""
            }
        ),
    }
}

/// SplitMix64: small, well-mixed, and easy to re-implement when re-performing a selection.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Selects `size` items: the population is sorted and de-duplicated, then a Fisher–Yates shuffle
/// driven by SplitMix64 seeded with `seed` picks the first `size`; the result is listed in
/// population order. The same population and seed always give the same selection.
pub fn select(population: &[String], size: usize, seed: u64) -> Vec<String> {
    let mut items: Vec<String> = population.to_vec();
    items.sort();
    items.dedup();
    let n = items.len();
    let k = size.min(n);
    let mut rng = SplitMix(seed);
    for i in 0..k {
        let remaining = (n - i) as u64;
        let j = i + (rng.next() % remaining) as usize;
        items.swap(i, j);
    }
    let mut chosen: Vec<String> = items.into_iter().take(k).collect();
    chosen.sort();
    chosen
}
