//! Drawing a reproducible sample of a control's population, recorded in the ledger.

use assure_assess::sampling::{SampleTable, SizeRule, sample_size, select};
use assure_evidence::store::EvidenceStore;
use assure_ledger::{Action, Draft, Entry};
use assure_project::model::Frequency;
use assure_schema::results::{ItemStatus, Risk, SampleRecord};

use crate::{Workspace, WorkspaceError, records};

/// What the auditor chooses about a sample; every field is optional.
#[derive(Debug, Clone, Default)]
pub struct SampleOptions {
    /// The seed (default: derived from the control, the run and the population).
    pub seed: Option<u64>,
    /// The size (default: from the frequency and the risk).
    pub size: Option<usize>,
    /// The risk (default: the control's, else moderate for key controls and low otherwise).
    pub risk: Option<Risk>,
    /// Items to add by hand.
    pub add: Vec<String>,
}

impl Workspace {
    /// Draws and records a sample for `control`, signed as `by` at `at`.
    pub fn sample(
        &self,
        control: &str,
        opts: &SampleOptions,
        at: &str,
        by: &str,
    ) -> Result<(SampleRecord, Entry), WorkspaceError> {
        let w = self.open_write(true)?;
        let project = &w.project;
        let c = project.control(control).ok_or_else(|| {
            WorkspaceError::invalid(
                format!("unknown control `{control}`"),
                Some("control ids are the `id` of a file in `controls/`"),
            )
        })?;
        let entries = w.whole_ledger("a sample drawn now could miss items")?;
        let mut population = Vec::new();
        let mut source = String::new();
        let mut run_hash = String::new();
        let period = scope_dates(project);
        if let Some((a, b)) = period {
            self.refuse_closed(project, a, b, "draw samples")?;
        }
        let (run, _) = records::latest_run_of(&w.store, &entries, project)?;
        if let Some((seq, run)) = run {
            run_hash = parsed_hash(&entries, seq);
            for t in run.tests.iter().filter(|t| t.controls.iter().any(|x| x == control)) {
                population.extend(
                    t.items
                        .iter()
                        .filter(|i| i.status != ItemStatus::NotApplicable)
                        .map(|i| format!("{}/{}", t.id, i.item)),
                );
            }
            if !population.is_empty() {
                source = format!("items of its tests in the test run recorded as ledger entry {seq}");
            }
        }
        if population.is_empty() {
            population = entries
                .iter()
                .filter(|e| {
                    e.draft.action.is_evidence()
                        && e.draft.controls.iter().any(|x| x == control)
                        && records::overlaps_period(project, e)
                })
                .map(|e| {
                    format!(
                        "entry {}: {}",
                        e.seq,
                        e.draft.blob.as_ref().map_or("", |b| b.name.as_str())
                    )
                })
                .collect();
            source = "ledger entries recorded for the control".into();
        }
        population.sort();
        population.dedup();
        if population.is_empty() {
            return Err(WorkspaceError::invalid(
                format!("control `{control}` has no population yet"),
                Some("run `assure test`, or record its evidence with `assure evidence add`"),
            ));
        }
        for a in &opts.add {
            if !population.contains(a) {
                return Err(WorkspaceError::invalid(
                    format!("`{a}` is not in the population"),
                    Some("items are listed with --json"),
                ));
            }
        }
        let mut table = SampleTable::default();
        for (k, v) in &project.manifest.sampling {
            if k == "per-event-large" {
                table.large_population = *v;
            } else {
                table.sizes.insert(k.clone(), *v);
            }
        }
        let risk = opts
            .risk
            .or_else(|| c.risk.as_deref().and_then(Risk::parse))
            .unwrap_or(if c.key { Risk::Moderate } else { Risk::Low });
        let freq = c.frequency.unwrap_or(Frequency::PerEvent);
        let rule = match opts.size {
            Some(n) => SizeRule {
                size: n.min(population.len()),
                rule: format!("{n} chosen by the auditor"),
            },
            None => sample_size(&table, freq, risk, population.len()),
        };
        let seed = opts.seed.unwrap_or_else(|| {
            let mut h = blake3::Hasher::new();
            h.update(control.as_bytes());
            h.update(run_hash.as_bytes());
            for p in &population {
                h.update(p.as_bytes());
            }
            let bytes = h.finalize();
            u64::from_le_bytes(
                bytes
                    .as_bytes()
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .unwrap_or([0; 8]),
            )
        });
        let selected = select(&population, rule.size, seed);
        let record = SampleRecord {
            format: 1,
            control: control.to_string(),
            frequency: freq.as_str().to_string(),
            risk,
            population_source: source,
            population,
            size: rule.size,
            rule: rule.rule,
            seed,
            selected,
            added: opts.add.clone(),
        };
        let json = serde_json::to_string_pretty(&record).unwrap_or_default();
        let blob = w
            .store
            .put_blob(&mut json.as_bytes(), &format!("sample-{control}.json"))?;
        let mut draft = Draft::new(Action::Sample, at, by);
        draft.blob = Some(blob);
        draft.rows = Some(record.population.len() as u64);
        draft.controls = vec![control.to_string()];
        if let Some((a, b)) = period {
            draft.period_start = Some(a.to_string());
            draft.period_end = Some(b.to_string());
        }
        draft.note = Some(format!(
            "{} of {} items, seed {}",
            record.selected.len() + record.added.len(),
            record.population.len(),
            record.seed
        ));
        let entry = w.append_one(draft)?;
        Ok((record, entry))
    }
}

/// The scope's dates: the period's first and last day (a Type 1 date twice).
pub(crate) fn scope_dates(project: &assure_project::Project) -> Option<(chrono::NaiveDate, chrono::NaiveDate)> {
    let s = &project.manifest.scope;
    match (&s.period_start, &s.period_end, &s.as_of) {
        (Some(a), Some(b), _) => Some((a.get_ref().0, b.get_ref().0)),
        (_, _, Some(d)) => Some((d.get_ref().0, d.get_ref().0)),
        _ => None,
    }
}

fn parsed_hash(entries: &[Entry], seq: u64) -> String {
    entries
        .iter()
        .find(|e| e.seq == seq)
        .map(|e| e.hash.clone())
        .unwrap_or_default()
}
