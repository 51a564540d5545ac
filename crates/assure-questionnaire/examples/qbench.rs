//! Questionnaire benchmark driver (built in release by `scripts/bench-questionnaire.sh`): reads a
//! file, finds its questions, answers them against a company of 120 controls and 20 policies, and
//! writes the answers back, printing the seconds each step took.

use std::time::Instant;

use assure_questionnaire::answer::{ControlFact, ControlState, Knowledge, PolicyFact, ScopeFact, TestFact, answer_all};
use assure_questionnaire::export::Write;
use assure_questionnaire::{Library, detect, read};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: qbench FILE")?;
    let bytes = std::fs::read(&path)?;
    let t = Instant::now();
    let (format, grids) = read(&path, &bytes)?;
    let q = detect::detect(&path, format, &grids, None)?;
    let read_s = t.elapsed().as_secs_f64();
    let topics = assure_questionnaire::topics::TOPICS;
    let controls = (0..120)
        .map(|i| {
            let topic = &topics[i % topics.len()];
            ControlFact {
                id: format!("C-{i:03}"),
                title: topic.name.to_string(),
                description: format!(
                    "We operate {} controls: {}.",
                    topic.name.to_lowercase(),
                    topic.words.join(", ")
                ),
                criteria: topic.criteria.iter().map(|s| s.to_string()).collect(),
                policies: vec![],
                vendors: vec![],
                state: if i % 7 == 0 {
                    ControlState::Exceptions { count: 1 }
                } else {
                    ControlState::Passing
                },
                tests: vec![TestFact {
                    id: format!("t-{i}"),
                    run: 1,
                    window: "2026".into(),
                    population: 100,
                    exceptions: u64::from(i % 7 == 0),
                }],
                evidence: vec![],
            }
        })
        .collect();
    let policies = topics
        .iter()
        .take(20)
        .map(|t| PolicyFact {
            id: t.id.into(),
            title: format!("{} policy", t.name),
            version: Some("1.0".into()),
            approved_on: None,
            current: true,
            criteria: t.criteria.iter().map(|s| s.to_string()).collect(),
            summary: t.words.join(" "),
        })
        .collect();
    let k = Knowledge {
        organization: "Bench".into(),
        as_of: "2026-12-31".parse()?,
        period: None,
        controls,
        policies,
        scope: ScopeFact::default(),
    };
    let t = Instant::now();
    let proposals = answer_all(&q, &k, &Library::default())?;
    let answer_s = t.elapsed().as_secs_f64();
    let writes: Vec<Write> = q
        .questions
        .iter()
        .zip(&proposals)
        .filter_map(|(x, p)| {
            Some(Write {
                cell: x.answer_cell.clone()?,
                value: p.value.clone()?,
            })
        })
        .collect();
    let t = Instant::now();
    let out = match format {
        assure_questionnaire::Format::Xlsx => assure_questionnaire::export::xlsx(&path, &bytes, &writes)?,
        _ => Vec::new(),
    };
    let write_s = t.elapsed().as_secs_f64();
    println!(
        "{path}: {} bytes, {} questions; read and found in {read_s:.3} s, answered {} in {answer_s:.3} s, written back ({} bytes) in {write_s:.3} s",
        bytes.len(),
        q.questions.len(),
        proposals.iter().filter(|p| p.value.is_some()).count(),
        out.len()
    );
    Ok(())
}
