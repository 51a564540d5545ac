//! The risk register as people read it: each risk's inherent and residual score, treatment, owner,
//! the controls that address it with their latest results, and whether its periodic assessment is
//! due; the register as likelihood-by-impact heat maps. Pure.

use chrono::{Days, NaiveDate};

use crate::{Inputs, control_result};

/// Days after which a risk's assessment is due again.
pub const REVIEW_DAYS: u64 = 365;

/// One risk, as the register shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RiskRow {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// What could happen.
    pub description: String,
    /// Its owner's name (or the reference when the person is unknown).
    pub owner: String,
    /// Likelihood before controls (1 to 5).
    pub likelihood: u8,
    /// Impact before controls (1 to 5).
    pub impact: u8,
    /// Likelihood × impact.
    pub score: u16,
    /// Residual likelihood, impact and score, when assessed.
    pub residual: Option<(u8, u8, u16)>,
    /// `mitigate`, `accept`, `transfer` or `avoid`.
    pub treatment: String,
    /// The controls that address it: id, title, result, exceptions.
    pub controls: Vec<(String, String, String, usize)>,
    /// When it was last assessed.
    pub reviewed_on: Option<NaiveDate>,
    /// Whether its assessment is due (never assessed, or more than a year before the as-of date).
    pub review_due: bool,
}

impl RiskRow {
    /// The score to rank by: the residual one when assessed, else the inherent one.
    pub fn rank(&self) -> u16 {
        self.residual.map_or(self.score, |(_, _, s)| s)
    }
}

/// The register, highest ranked first (then by id).
pub fn register(inp: &Inputs<'_>) -> Vec<RiskRow> {
    let mut rows: Vec<RiskRow> = inp
        .project
        .risks
        .iter()
        .map(|r| {
            let reviewed_on = r.reviewed_on.as_ref().map(|d| d.0);
            let due_from = inp.as_of.checked_sub_days(Days::new(REVIEW_DAYS));
            RiskRow {
                id: r.id.as_str().to_string(),
                title: r.title.clone(),
                description: r.description.clone(),
                owner: inp.person_name(r.owner.as_ref()),
                likelihood: r.likelihood,
                impact: r.impact,
                score: u16::from(r.likelihood) * u16::from(r.impact),
                residual: match (r.residual_likelihood, r.residual_impact) {
                    (Some(l), Some(i)) => Some((l, i, u16::from(l) * u16::from(i))),
                    _ => None,
                },
                treatment: r.treatment.clone(),
                controls: r
                    .controls
                    .iter()
                    .map(|c| {
                        let (result, exc) = control_result(inp, c.as_str());
                        let title = inp
                            .project
                            .control(c.as_str())
                            .map(|x| x.title.clone())
                            .unwrap_or_default();
                        (c.as_str().to_string(), title, result, exc)
                    })
                    .collect(),
                reviewed_on,
                review_due: match (reviewed_on, due_from) {
                    (None, _) => true,
                    (Some(d), Some(from)) => d < from,
                    (Some(_), None) => false,
                },
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.rank()
            .cmp(&a.rank())
            .then(b.score.cmp(&a.score))
            .then(a.id.cmp(&b.id))
    });
    rows
}

/// A likelihood-by-impact grid of risk ids: `grid[likelihood - 1][impact - 1]`, inherent or residual.
pub fn heat(rows: &[RiskRow], residual: bool) -> [[Vec<String>; 5]; 5] {
    let mut grid: [[Vec<String>; 5]; 5] = Default::default();
    for r in rows {
        let (l, i) = if residual {
            match r.residual {
                Some((l, i, _)) => (l, i),
                None => continue,
            }
        } else {
            (r.likelihood, r.impact)
        };
        if (1..=5).contains(&l) && (1..=5).contains(&i) {
            grid[usize::from(l - 1)][usize::from(i - 1)].push(r.id.clone());
        }
    }
    grid
}

/// The band a score falls in: `high` (15 and above), `medium` (8 to 14) or `low`.
pub fn band(score: u16) -> &'static str {
    match score {
        15.. => "high",
        8..=14 => "medium",
        _ => "low",
    }
}
