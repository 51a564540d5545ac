//! The gap analysis on every template, on deliberately broken projects, and with operating signals.

use std::path::Path;

use assure_assess::gap::{Signals, TestSignal, assess};
use assure_assess::render;
use assure_project::check;
use assure_project::init::{Template, init};
use chrono::NaiveDate;

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn project(template: Template, dir: &Path) -> assure_project::Project {
    init(template, dir).unwrap();
    let checked = check(dir).unwrap();
    assert!(!checked.has_errors());
    approved(checked.project, template)
}

/// The project as the workspace reads it once the template company's approver has approved every
/// policy: the approvals live in the ledger, and the assessment sees only the derived fields.
fn approved(mut p: assure_project::Project, template: Template) -> assure_project::Project {
    let (by, on) = assure_project::init::policy_approval(template).unwrap();
    for pol in &mut p.policies {
        pol.approved_by = Some(assure_project::model::Ref::new(by.clone()));
        pol.approved_on = Some(assure_project::model::Date(on));
    }
    p
}

fn summary(a: &assure_assess::gap::Assessment) -> String {
    let mut s = format!(
        "overall {:.1}% over {} items, {} gaps\n",
        a.overall.value * 100.0,
        a.overall.items,
        a.gaps.len()
    );
    for sc in a.reports.iter().chain(a.categories.iter()) {
        s.push_str(&format!(
            "{:<22} {:>6.1}% {:>3} items {:>2} uncovered\n",
            sc.label,
            sc.value * 100.0,
            sc.items,
            sc.uncovered
        ));
    }
    let mut kinds = std::collections::BTreeMap::new();
    for g in &a.gaps {
        *kinds.entry(g.kind).or_insert(0) += 1;
    }
    for (k, n) in kinds {
        s.push_str(&format!("gap {k}: {n}\n"));
    }
    s
}

/// Every template covers every item. Its period has begun by the as-of date and it holds no
/// evidence yet, so what cannot be shown counts as unmet: a fresh template never scores above a
/// project that has its evidence (the finding: templates scored 97 % with nothing, the demo 89 %
/// with a full year of evidence).
#[test]
fn templates_cover_every_item_and_count_what_cannot_be_shown_yet() {
    for t in Template::ALL {
        let tmp = tempfile::tempdir().unwrap();
        let p = project(t, &tmp.path().join("p"));
        let a = assess(&p, as_of(), &Signals::default());
        assert_eq!(a.overall.uncovered, 0, "{t}");
        assert!(a.overall.value < 0.85, "{t}: {}", a.overall.value);
        assert!(!a.operating_inputs);
        let unshown = a
            .controls
            .iter()
            .flat_map(|c| &c.checks)
            .filter(|k| k.name == "evidence_fresh" && k.status == assure_assess::gap::CheckStatus::Gap)
            .count();
        assert!(unshown > 0, "{t}");
        insta::assert_snapshot!(format!("template_{t}"), summary(&a));
    }
}

fn gap_lines(p: &assure_project::Project) -> String {
    let a = assess(p, as_of(), &Signals::default());
    a.gaps
        .iter()
        .map(|g| {
            format!(
                "{} {} {} -> {}\n",
                g.rank,
                g.kind,
                g.subject,
                g.owner.as_deref().unwrap_or("unassigned")
            )
        })
        .collect()
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} lacks `{from}`");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn broken_project_shows_exactly_the_expected_gaps_most_blocking_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    project(Template::Saas, &dir);
    // The only control for CC3.3 loses its mapping: the criterion is uncovered.
    edit(
        &dir,
        "controls/RSK-02.toml",
        "criteria = [\"CC3.3\"]",
        "criteria = [\"CC3.2\"]",
    );
    // A key control loses its owner, another its evidence and the sampling that came with it.
    edit(&dir, "controls/AC-07.toml", "owner = \"priya.raman\"\n", "");
    edit(
        &dir,
        "controls/GOV-03.toml",
        "\n[[evidence]]\nname = \"Organization chart export with review sign-off\"\n",
        "\n",
    );
    let checked = check(&dir).unwrap();
    let mut p = approved(checked.project, Template::Saas);
    // A policy is overdue for review: its approval is a year older.
    let pol = p
        .policies
        .iter_mut()
        .find(|x| x.id.as_str() == "physical-security")
        .unwrap();
    pol.approved_on = Some(assure_project::model::Date(
        NaiveDate::from_ymd_opt(2025, 1, 15).unwrap(),
    ));
    let lines = gap_lines(&p);
    // The period has begun with no evidence: what cannot be shown ranks above the documentation
    // gaps planted here, which follow in their own order.
    let operating = |l: &&str| l.contains(" evidence-stale ") || l.contains(" tests-not-run ");
    let all: Vec<&str> = lines.lines().collect();
    let last_operating = all.iter().rposition(operating).unwrap();
    let first_design = all.iter().skip(1).position(|l| !operating(l)).unwrap() + 1;
    assert!(
        last_operating < first_design,
        "documentation gaps rank above operating ones"
    );
    let first: Vec<&str> = all.iter().filter(|l| !operating(l)).take(6).copied().collect();
    insta::assert_snapshot!(first.join("\n"));
    assert!(
        lines
            .lines()
            .next()
            .unwrap()
            .starts_with("1 uncovered CC3.3 -> marcus.oyelaran")
    );
}

#[test]
fn not_relevant_criteria_leave_the_score_and_say_why() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    project(Template::Saas, &dir);
    edit(
        &dir,
        "assure.toml",
        "# [[scope.not_relevant]]\n# criterion = \"CC6.4\"\n# reason = \"...\"",
        "[[scope.not_relevant]]\ncriterion = \"CC6.4\"\nreason = \"No offices or hardware; physical security is carved out to AWS.\"",
    );
    let p = check(&dir).unwrap().project;
    let a = assess(&p, as_of(), &Signals::default());
    let item = a.items.iter().find(|i| i.id == "CC6.4").unwrap();
    assert_eq!(item.score, None);
    assert!(item.not_relevant.as_deref().unwrap().contains("carved out"));
    assert_eq!(a.overall.items, 37);
}

#[test]
fn operating_signals_plug_in_without_rework() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(Template::Saas, &tmp.path().join("p"));
    let before = assess(&p, as_of(), &Signals::default());
    let mut signals = Signals::default();
    signals
        .tests
        .insert("terminated-access-removed".into(), TestSignal::Failed { exceptions: 3 });
    signals
        .tests
        .insert("mfa-all-human-accounts".into(), TestSignal::Passed);
    signals.evidence.insert(
        "AC-01".into(),
        assure_assess::gap::EvidenceSignal {
            latest: Some(as_of()),
            fresh: true,
        },
    );
    let after = assess(&p, as_of(), &signals);
    assert!(after.operating_inputs);
    // Before any run the period's tests count as not run; after, the failing one names its exceptions
    // and ranks above every documentation gap.
    let kinds = |a: &assure_assess::gap::Assessment| -> Vec<&str> {
        a.gaps.iter().filter(|g| g.subject == "AC-06").map(|g| g.kind).collect()
    };
    assert!(kinds(&before).contains(&"tests-not-run"), "{:?}", kinds(&before));
    let g = after.gaps.iter().find(|g| g.kind == "test-failing").unwrap();
    assert_eq!(g.subject, "AC-06");
    assert!(g.message.contains("terminated-access-removed (3 exceptions)"));
    assert!(
        after
            .gaps
            .iter()
            .filter(|x| !matches!(x.kind, "uncovered" | "test-failing" | "missing-occurrence"))
            .all(|x| x.rank > g.rank)
    );
    // A passing test and fresh evidence keep the control at full marks.
    let ac01 = after.controls.iter().find(|c| c.id == "AC-01").unwrap();
    assert!((ac01.score - 1.0).abs() < 1e-9, "{:?}", ac01.checks);
}

#[test]
fn every_format_is_deterministic_and_html_is_self_contained() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(Template::Fintech, &tmp.path().join("p"));
    let a = assess(&p, as_of(), &Signals::default());
    let b = assess(&p, as_of(), &Signals::default());
    for f in [render::text, render::markdown, render::html, render::json] {
        assert_eq!(f(&a), f(&b));
    }
    let html = render::html(&a);
    assert!(html.starts_with("<!doctype html>"));
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("<script"),
        "no network, no script"
    );
    assert!(html.contains("Criteria heat map") && html.contains("PMT-RECON"));
    let json: serde_json::Value = serde_json::from_str(&render::json(&a)).unwrap();
    assert_eq!(json["organization"], "Ledgerline");
    assert!(json["formula"].as_str().unwrap().contains("mean"));
    assert!(render::text(&a).contains("How the score is computed"));
    assert!(render::markdown(&a).contains("| Report / category | Score |"));
}

#[test]
fn as_of_date_moves_policy_reviews_into_overdue() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(Template::Saas, &tmp.path().join("p"));
    let later = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    let a = assess(&p, later, &Signals::default());
    assert!(a.policies.iter().all(|x| x.status == "review-overdue"));
    assert!(a.gaps.iter().any(|g| g.kind == "policy-not-current"));
    assert!(a.overall.value < assess(&p, as_of(), &Signals::default()).overall.value);
}

#[test]
fn saas_text_report() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(Template::Saas, &tmp.path().join("p"));
    let text = render::text(&assess(&p, as_of(), &Signals::default()));
    let head: Vec<&str> = text.lines().take(12).collect();
    insta::assert_snapshot!(head.join("\n"));
}

#[test]
fn one_colour_scale_with_a_legend_every_band_readable_at_wcag_aa() {
    use assure_assess::render::{NOT_SCORED, SCALE, band_of, contrast, legend_html};
    // The formula, checked against two published pairs: black on white is 21:1, #767676 on white 4.54:1.
    assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 1e-9);
    assert!((contrast("#767676", "#ffffff") - 4.54).abs() < 0.01);
    for b in SCALE.iter().chain(std::iter::once(&NOT_SCORED)) {
        let ratio = contrast(b.background, b.text);
        assert!(
            ratio >= 4.5,
            "{} ({} on {}) has contrast {ratio:.2}:1",
            b.label,
            b.text,
            b.background
        );
    }
    // Bands are ordered and every score falls in exactly one.
    assert!(SCALE.windows(2).all(|w| w[0].from < w[1].from));
    assert_eq!(band_of(Some(0.0)).class, "b0");
    assert_eq!(band_of(Some(0.69)).class, "b1");
    assert_eq!(band_of(Some(0.6996)).class, "b2", "shown as 70 %, banded as 70 %");
    assert_eq!(band_of(Some(0.7)).class, "b2");
    assert_eq!(band_of(Some(0.944)).class, "b3");
    assert_eq!(band_of(Some(1.0)).class, "b4");
    assert_eq!(band_of(None).class, "na");
    let legend = legend_html();
    for b in &SCALE {
        assert!(legend.contains(b.label) && legend.contains(b.background), "{legend}");
    }
}
