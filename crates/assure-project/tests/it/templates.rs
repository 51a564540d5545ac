//! Every template initializes and validates clean, with the shape its issue asks for.

use assure_catalog::{Category, criteria};
use assure_project::init::{InitError, Template, init};
use assure_project::model::ReportKind;
use assure_project::{Severity, check};

#[test]
fn every_template_initializes_and_validates_without_errors_or_warnings() {
    for template in Template::ALL {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(template.as_str());
        let summary = init(template, &dir).unwrap();
        let checked = check(&dir).unwrap();
        // Every standard test says which population it tests and why that population is complete.
        for t in &checked.project.tests {
            assert!(
                !t.doc.population.trim().is_empty(),
                "test `{}` does not document its population",
                t.id
            );
        }
        assert!(
            checked.diagnostics.is_empty(),
            "{template}: {}",
            crate::render(&checked.diagnostics)
        );
        assert_eq!(summary.policies, 19, "{template} ships the full policy set");
        assert!(summary.tests >= 25, "{template} ships {} tests", summary.tests);
        let p = &checked.project;
        assert_eq!(p.controls.len(), summary.controls);
        for c in &p.controls {
            assert!(c.owner.is_some(), "{template}: {} has an owner", c.id);
            assert!(!c.policies.is_empty(), "{template}: {} has a policy", c.id);
            assert!(!c.evidence.is_empty(), "{template}: {} defines evidence", c.id);
        }
        // Every in-scope criterion and objective is addressed (validate checks it; assert it directly too).
        let cats = p.manifest.scope.categories();
        for cr in criteria().iter().filter(|c| cats.contains(&c.category)) {
            assert!(
                p.controls
                    .iter()
                    .any(|c| c.criteria.iter().any(|r| r.as_str() == cr.id)),
                "{template}: {} addressed",
                cr.id
            );
        }
        for o in &p.objectives {
            assert!(
                p.controls
                    .iter()
                    .any(|c| c.objectives.iter().any(|r| r.as_str() == o.id.as_str()))
            );
        }
        for policy in &p.policies {
            assert!(
                !policy.body.contains("{{"),
                "{template}: {} has no unfilled placeholder",
                policy.id
            );
        }
    }
}

#[test]
fn saas_is_soc2_type2_with_three_categories_and_at_least_80_controls() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("saas");
    let summary = init(Template::Saas, &dir).unwrap();
    assert!(summary.controls >= 80, "{} controls", summary.controls);
    let p = check(&dir).unwrap().project;
    assert!(p.manifest.scope.has(ReportKind::Soc2));
    assert!(!p.manifest.scope.has(ReportKind::Soc1));
    assert_eq!(
        p.manifest.scope.categories(),
        [Category::Security, Category::Availability, Category::Confidentiality]
    );
    assert!(p.objectives.is_empty());
}

#[test]
fn payroll_is_soc1_with_itgc_and_payroll_objectives_plus_soc2_security() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("payroll");
    init(Template::Payroll, &dir).unwrap();
    let p = check(&dir).unwrap().project;
    assert!(p.manifest.scope.has(ReportKind::Soc1) && p.manifest.scope.has(ReportKind::Soc2));
    assert_eq!(p.manifest.scope.categories(), [Category::Security]);
    let ids: Vec<&str> = p.objectives.iter().map(|o| o.id.as_str()).collect();
    assert!(ids.iter().any(|i| i.starts_with("ITGC-")) && ids.iter().any(|i| i.starts_with("PAY-")));
}

#[test]
fn fintech_is_both_reports_with_processing_integrity() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fintech");
    init(Template::Fintech, &dir).unwrap();
    let p = check(&dir).unwrap().project;
    assert!(p.manifest.scope.has(ReportKind::Soc1) && p.manifest.scope.has(ReportKind::Soc2));
    assert!(p.manifest.scope.categories().contains(&Category::ProcessingIntegrity));
    assert!(p.objectives.iter().any(|o| o.id.starts_with("PMT-")));
}

#[test]
fn health_is_a_soc2_plus_hipaa_business_associate() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("health");
    init(Template::Health, &dir).unwrap();
    let p = check(&dir).unwrap().project;
    assert!(p.manifest.scope.has(ReportKind::Soc2) && !p.manifest.scope.has(ReportKind::Soc1));
    let names = |v: &[assure_project::model::Ref]| v.iter().map(|x| x.as_str().to_string()).collect::<Vec<_>>();
    assert_eq!(names(&p.manifest.scope.frameworks), ["hipaa"]);
    assert_eq!(names(&p.manifest.scope.additional_subject_matter), ["hipaa"]);
    // The business associate's own HIPAA controls, each naming the requirements it meets.
    let hip: Vec<(&str, Vec<String>)> = p
        .controls
        .iter()
        .filter(|c| c.id.as_str().starts_with("HIP-"))
        .map(|c| (c.id.as_str(), names(&c.requirements)))
        .collect();
    assert_eq!(hip.len(), 4, "{hip:?}");
    assert!(hip.iter().any(|(_, r)| r.contains(&"hipaa:164.410".to_string())));
    assert!(hip.iter().any(|(_, r)| r.contains(&"hipaa:164.308(b)(1)".to_string())));
    // The other templates name no HIPAA requirement.
    let saas = tmp.path().join("saas");
    init(Template::Saas, &saas).unwrap();
    assert!(
        check(&saas)
            .unwrap()
            .project
            .controls
            .iter()
            .all(|c| c.requirements.is_empty())
    );
}

#[test]
fn init_refuses_to_overwrite_and_leaves_the_directory_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    init(Template::Saas, &dir).unwrap();
    std::fs::write(dir.join("assure.toml"), "# my edits\n").unwrap();
    let err = init(Template::Payroll, &dir).unwrap_err();
    assert!(matches!(err, InitError::Exists(_)));
    assert_eq!(
        std::fs::read_to_string(dir.join("assure.toml")).unwrap(),
        "# my edits\n"
    );
    // An empty directory is fine.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    init(Template::Fintech, &empty).unwrap();
    // No staging directories are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn init_output_is_deterministic() {
    let a = assure_project::init::render(Template::Fintech).unwrap();
    let b = assure_project::init::render(Template::Fintech).unwrap();
    assert_eq!(a, b);
    let _ = Severity::Error;
}

#[test]
fn the_next_period_follows_the_current_one() {
    use assure_project::period::{Period, Status, next_name};
    let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let p = Period {
        name: "FY2026".into(),
        reports: vec![assure_project::model::ReportKind::Soc2],
        exam_type: assure_project::model::ExamType::Type2,
        start: d("2025-10-01"),
        end: d("2026-09-30"),
        status: Status::Open,
        report_issued_on: None,
        closed_on: None,
        declared: true,
    };
    let n = p.next();
    assert_eq!(
        (n.name.as_str(), n.start, n.end, n.status),
        ("FY2027", d("2026-10-01"), d("2027-09-30"), Status::Open)
    );
    // Half-years and periods that are not whole months.
    let h = Period {
        start: d("2026-01-01"),
        end: d("2026-06-30"),
        name: "2026-H1".into(),
        ..p.clone()
    };
    assert_eq!((h.next().name.as_str(), h.next().end), ("2026-H2", d("2026-12-31")));
    let odd = Period {
        start: d("2026-01-15"),
        end: d("2026-07-20"),
        ..p
    };
    assert_eq!((odd.next().start, odd.next().end), (d("2026-07-21"), d("2027-01-23")));
    assert_eq!(next_name("Audit", d("2027-12-31")), "2027");
    // Names are not only ASCII.
    assert_eq!(next_name("Exercice 2026", d("2027-12-31")), "Exercice 2027");
    assert_eq!(next_name("年度2026", d("2027-12-31")), "年度2027");
}
