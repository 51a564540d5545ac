//! The readiness report and the bridge letter.

use assure_project::model::ExamType;
use chrono::NaiveDate;

use crate::doc::{Block, Document};
use crate::{Inputs, ReportError, long_date};

fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

/// The readiness report: the gap analysis as a document.
pub fn readiness(inp: &Inputs<'_>) -> Result<Document, ReportError> {
    let a = inp.assessment;
    let mut d = Document {
        kind: "readiness".into(),
        title: "Readiness assessment".into(),
        subtitle: format!("How ready {} is for its examination, and what is left to do", inp.org()),
        organization: inp.org().to_string(),
        header: format!("Readiness · as of {}", long_date(inp.as_of)),
        as_of: inp.as_of.to_string(),
        notice: format!(
            "Prepared with Assure as of {}. An internal working document, not an audit opinion.",
            long_date(inp.as_of)
        ),
        cover: vec![
            ("Reports in scope".into(), a.reports_in_scope.join(", ")),
            (
                "Examination".into(),
                a.exam_type.unwrap_or("type not chosen").to_string(),
            ),
            ("Period".into(), a.window.clone().unwrap_or_else(|| "not set".into())),
            ("Overall readiness".into(), pct(a.overall.value)),
            (
                "Inputs".into(),
                if a.operating_inputs {
                    "design, evidence and test results".into()
                } else {
                    "design only: no evidence or test results yet".into()
                },
            ),
        ],
        missing: Vec::new(),
        outline: true,
        breaks: true,
        blocks: Vec::new(),
    };
    d.h(1, "Summary");
    let mut rows = vec![vec![
        "Overall".into(),
        a.overall.items.to_string(),
        a.overall.uncovered.to_string(),
        pct(a.overall.value),
    ]];
    for s in a.reports.iter().chain(&a.categories) {
        rows.push(vec![
            s.label.clone(),
            s.items.to_string(),
            s.uncovered.to_string(),
            pct(s.value),
        ]);
    }
    d.table(
        &["Scope", "Items", "Without a control", "Readiness"],
        &[4, 1, 2, 2],
        rows,
    );
    d.note(a.formula);
    d.h(1, "Gaps, most blocking first");
    if a.gaps.is_empty() {
        d.p("No gaps found.");
    } else {
        d.table(
            &["#", "Kind", "Subject", "Owner", "Gap", "What to do"],
            &[1, 2, 2, 2, 5, 5],
            a.gaps
                .iter()
                .enumerate()
                .map(|(i, g)| {
                    vec![
                        (i + 1).to_string(),
                        g.kind.to_string(),
                        format!("{}{}", g.subject, if g.key { " (key)" } else { "" }),
                        g.owner.clone().unwrap_or_default(),
                        g.message.clone(),
                        g.action.clone(),
                    ]
                })
                .collect(),
        );
    }
    d.h(1, "Plan by owner");
    for g in &a.plan {
        d.h(2, format!("{} ({} gaps)", g.name, g.gaps.len()));
        d.bullets(
            g.gaps
                .iter()
                .filter_map(|i| a.gaps.get(*i))
                .map(|x| format!("{}: {}", x.subject, x.action))
                .collect(),
        );
    }
    d.h(1, "Criteria and objectives");
    d.table(
        &["Item", "Title", "Controls", "Readiness"],
        &[1, 5, 4, 1],
        a.items
            .iter()
            .map(|i| {
                vec![
                    i.id.clone(),
                    i.title.clone(),
                    if let Some(r) = &i.not_relevant {
                        format!("not relevant: {r}")
                    } else {
                        i.controls.join(", ")
                    },
                    i.score.map(pct).unwrap_or_else(|| "n/a".into()),
                ]
            })
            .collect(),
    );
    d.h(1, "Controls");
    d.table(
        &["Control", "Title", "Owner", "Checks not met", "Readiness"],
        &[1, 4, 2, 4, 1],
        a.controls
            .iter()
            .map(|c| {
                let open: Vec<String> = c
                    .checks
                    .iter()
                    .filter(|k| k.status == assure_assess::gap::CheckStatus::Gap)
                    .map(|k| k.name.to_string())
                    .collect();
                vec![
                    format!("{}{}", c.id, if c.key { " (key)" } else { "" }),
                    c.title.clone(),
                    c.owner_name.clone().or_else(|| c.owner.clone()).unwrap_or_default(),
                    open.join(", "),
                    pct(c.score),
                ]
            })
            .collect(),
    );
    d.h(1, "Policies");
    d.table(
        &["Policy", "Title", "Version", "Approved", "Next review", "Status"],
        &[2, 4, 1, 2, 2, 2],
        a.policies
            .iter()
            .map(|p| {
                vec![
                    p.id.clone(),
                    p.title.clone(),
                    p.version.clone().unwrap_or_default(),
                    p.approved_on.map(|x| x.to_string()).unwrap_or_default(),
                    p.next_review.map(|x| x.to_string()).unwrap_or_default(),
                    p.status.to_string(),
                ]
            })
            .collect(),
    );
    Ok(d)
}

/// A bridge letter from management covering the days from the period's end to `to`.
pub fn bridge(inp: &Inputs<'_>, to: NaiveDate) -> Result<Document, ReportError> {
    let (_, end) = inp.period();
    let Some(end) = end else {
        return Err(ReportError::Invalid(
            "the scope has no period_end, so there is no report period to bridge from; set it under [scope] in assure.toml".into(),
        ));
    };
    if to <= end {
        return Err(ReportError::Invalid(format!(
            "the bridge date {to} is not after the period's end ({end}); give --to a later date"
        )));
    }
    let start = end.succ_opt().unwrap_or(end);
    let report = match inp.exam_type() {
        Some(ExamType::Type1) => "SOC Type 1",
        _ => "SOC Type 2",
    };
    let reports = if inp.assessment.reports_in_scope.is_empty() {
        report.to_string()
    } else {
        format!(
            "{} {}",
            inp.assessment.reports_in_scope.join(" and "),
            inp.assessment.exam_type.unwrap_or("")
        )
    };
    let mut d = Document {
        kind: "bridge".into(),
        title: "Bridge letter".into(),
        subtitle: format!("{} to {}", long_date(start), long_date(to)),
        organization: inp.org().to_string(),
        header: format!("Bridge letter · {} to {}", long_date(start), long_date(to)),
        as_of: inp.as_of.to_string(),
        notice: format!(
            "Drafted with Assure as of {}. A letter from management; no auditor has examined the bridge period.",
            long_date(inp.as_of)
        ),
        cover: Vec::new(),
        missing: Vec::new(),
        outline: false,
        breaks: false,
        blocks: Vec::new(),
    };
    d.p(long_date(inp.as_of));
    d.p("To our user entities and their auditors:");
    d.p(format!(
        "{} was examined by an independent service auditor, who issued a {} report on the {} system for the period {}. This letter covers the time since then: {} to {} (the bridge period, {} days).",
        inp.legal_name(),
        reports.trim(),
        inp.project.manifest.system.name,
        inp.period_text(),
        long_date(start),
        long_date(to),
        (to - end).num_days()
    ));
    let changes: Vec<_> = inp
        .project
        .manifest
        .system
        .changes
        .iter()
        .filter(|c| c.date.0 > end && c.date.0 <= to)
        .collect();
    let incidents: Vec<_> = inp
        .project
        .manifest
        .system
        .incidents
        .iter()
        .filter(|c| c.date.0 > end && c.date.0 <= to)
        .collect();
    if changes.is_empty() {
        d.p("We are not aware of any significant change to the system or its controls during the bridge period.");
    } else {
        d.p("During the bridge period the following significant changes were made to the system or its controls:");
        d.bullets(
            changes
                .iter()
                .map(|c| format!("{}: {}", long_date(c.date.0), c.text))
                .collect(),
        );
    }
    // Management's own tests over the bridge period: when they noted exceptions, the letter does
    // not also say management knows of no deficiency.
    let tested = inp
        .run
        .as_ref()
        .filter(|(_, r)| r.period_end > end)
        .map(|(seq, r)| (*seq, r.period_end, r.tests.iter().map(|t| t.exceptions).sum::<usize>()));
    let exceptions = tested.map_or(0, |(_, _, n)| n);
    // The incidents evidence over the bridge period: a significant incident recorded there is
    // listed even when management has not written its account yet.
    let (threshold, recorded) = crate::soc::significant_incidents(inp, |d| d > end && d <= to);
    let mut incidents: Vec<(NaiveDate, String)> = incidents.iter().map(|c| (c.date.0, c.text.clone())).collect();
    for i in recorded.unwrap_or_default() {
        if !inp
            .project
            .manifest
            .system
            .incidents
            .iter()
            .any(|n| n.incident_id.as_deref() == Some(i.id.as_str()))
        {
            incidents.push((
                i.detected_on,
                format!(
                    "incident {} ({}{}), {}",
                    i.id,
                    i.severity,
                    if i.category.is_empty() {
                        String::new()
                    } else {
                        format!(", {}", i.category)
                    },
                    match i.resolved_on {
                        Some(r) => format!("resolved on {}", long_date(r)),
                        None => "not yet resolved".into(),
                    }
                ),
            ));
        }
    }
    incidents.sort();
    if incidents.is_empty() && exceptions == 0 {
        d.p("We are not aware of any significant incident, or any deficiency in the design or operation of the controls described in the report, during the bridge period.");
    } else if incidents.is_empty() {
        d.p("We are not aware of any significant incident during the bridge period.");
    } else {
        d.p(format!(
            "During the bridge period the following significant incidents (rated {}) occurred:",
            crate::soc::threshold_words(threshold)
        ));
        d.bullets(
            incidents
                .iter()
                .map(|(day, text)| format!("{}: {}", long_date(*day), text))
                .collect(),
        );
    }
    match tested {
        Some((seq, through, 0)) => d.p(format!(
            "Management's own tests over full populations through {} (ledger entry {seq}) noted no exceptions.",
            long_date(through)
        )),
        Some((seq, through, n)) => d.p(format!(
            "Management's own tests over full populations through {} (ledger entry {seq}) noted {n} exception{}, which management is evaluating; until that evaluation is complete this letter makes no statement that the controls operated without deficiency. The exceptions are available on request.",
            long_date(through),
            if n == 1 { "" } else { "s" }
        )),
        None => {}
    }
    d.p("This letter is management's; it is not covered by the service auditor's report, and it does not extend that report to the bridge period. The next report is planned to cover the period that follows.");
    if (to - end).num_days() > 92 {
        d.note("The bridge period is longer than three months, which many user entities will not accept; consider an interim examination.");
    }
    let lead = inp.project.manifest.organization.compliance_lead.as_ref();
    let name = inp.person_name(lead);
    let title = inp.person_title(lead);
    d.blocks.push(Block::Placeholder {
        title: "Signature".into(),
        text: format!(
            "{}{}{}, for {} Date: ____________",
            if name.is_empty() { "Name" } else { &name },
            if title.is_empty() { "" } else { ", " },
            title,
            crate::sentence(inp.legal_name())
        ),
    });
    Ok(d)
}
