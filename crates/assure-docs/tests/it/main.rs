//! The policy documents' one integration-test binary: a template's policy as a reader and an auditor
//! see it: status as of a date, statements and what enforces them, history, and HTML that never
//! runs what a policy contains.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

use assure_docs::{Change, facts, html, markdown};
use assure_project::init::{Template, init};
use chrono::NaiveDate;

fn project() -> (tempfile::TempDir, assure_project::Project) {
    let tmp = tempfile::tempdir().unwrap();
    init(Template::Saas, &tmp.path().join("p")).unwrap();
    let mut p = assure_project::check(&tmp.path().join("p")).unwrap().project;
    // As the workspace derives them from the approvals recorded in the ledger.
    let (by, on) = assure_project::init::policy_approval(Template::Saas).unwrap();
    for pol in &mut p.policies {
        pol.approved_by = Some(assure_project::model::Ref::new(by.clone()));
        pol.approved_on = Some(assure_project::model::Date(on));
    }
    (tmp, p)
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn status_follows_the_approval_and_the_review_interval() {
    let (_tmp, p) = project();
    let policy = p.policies.iter().find(|x| x.id.as_str() == "access-control").unwrap();
    let approved = policy.approved_on.unwrap().0;
    let before = facts(&p, policy, approved.pred_opt().unwrap(), Vec::new());
    assert_eq!(before.status, "not approved");
    let now = facts(&p, policy, approved, Vec::new());
    assert_eq!(now.status, "current");
    let next = now.next_review.unwrap();
    let late = facts(&p, policy, next.succ_opt().unwrap(), Vec::new());
    assert_eq!(late.status, "review overdue");
    assert!(!now.statements.is_empty());
    // Each statement lists what enforces it, in statement order.
    assert_eq!(
        now.enforcement.iter().map(|e| e.statement.clone()).collect::<Vec<_>>(),
        now.statements.iter().map(|s| s.id.clone()).collect::<Vec<_>>()
    );
    assert!(
        now.enforcement
            .iter()
            .any(|e| !e.controls.is_empty() && !e.tests.is_empty())
    );
}

#[test]
fn markdown_and_html_carry_the_facts_and_history() {
    let (_tmp, p) = project();
    let policy = p.policies.iter().find(|x| x.id.as_str() == "access-control").unwrap();
    let history = vec![Change {
        date: "2026-01-15".into(),
        author: "Dana Ortiz".into(),
        summary: "Annual review".into(),
        commit: "abc1234".into(),
    }];
    let f = facts(&p, policy, day(2026, 6, 30), history);
    let md = markdown(&f, &policy.body);
    assert!(
        md.contains(&policy.title) && md.contains("Annual review") && md.contains("abc1234"),
        "{md}"
    );
    let page = html(&f, &policy.body);
    assert!(
        page.starts_with("<!DOCTYPE html>") || page.starts_with("<!doctype html>"),
        "{}",
        &page[..80]
    );
    assert!(page.contains("Annual review"));
}

#[test]
fn raw_html_in_a_policy_is_shown_as_text() {
    let (_tmp, p) = project();
    let policy = p.policies.first().unwrap();
    let f = facts(&p, policy, day(2026, 6, 30), Vec::new());
    let page = html(
        &f,
        "Text.\n\n<script>alert(1)</script>\n\nMore <img src=x onerror=alert(2)>.\n",
    );
    assert!(!page.contains("<script>alert(1)"), "{page}");
    assert!(!page.contains("<img src=x"), "{page}");
    assert!(page.contains("&lt;script&gt;"), "{page}");
}

#[test]
fn only_safe_links_and_no_images_in_policy_html() {
    let page = assure_docs::safe_html(
        "See [the portal](https://portal.example/x), [mail](mailto:sec@northwind.example), [section](#scope), \\
         [click me](javascript:alert(1)) and [data](DATA:text/html;base64,PHNjcmlwdD4=).\n\n![tracker](https://evil.example/p.png)\n",
    );
    assert!(page.contains("href=\"https://portal.example/x\""), "{page}");
    assert!(page.contains("href=\"mailto:sec@northwind.example\""), "{page}");
    assert!(page.contains("href=\"#scope\""), "{page}");
    assert!(!page.to_ascii_lowercase().contains("javascript:alert"), "{page}");
    assert!(!page.to_ascii_lowercase().contains("href=\"data:"), "{page}");
    assert!(
        page.contains("click me") && page.contains("data"),
        "the text of a refused link stays: {page}"
    );
    assert!(!page.contains("<img"), "{page}");
    assert!(page.contains("[image: tracker]"), "{page}");
}
