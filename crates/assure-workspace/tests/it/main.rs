//! The application layer's one integration-test binary: opening projects, the one pin check,
//! snapshots from one ledger read that report what they could not read, and recording evidence.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

use std::path::Path;

use assure_evidence::import::Meta;
use assure_project::init::Template;
use assure_workspace::sample::SampleOptions;
use assure_workspace::{Pin, Workspace, WorkspaceError, check_pin};
use chrono::NaiveDate;

fn project(tmp: &Path) -> Workspace {
    let ws = Workspace::new(tmp.join("p"));
    ws.init(Template::Saas).unwrap();
    ws
}

fn meta() -> Meta {
    Meta {
        at: "2026-06-30T10:00:00Z".into(),
        by: "tester@example.test".into(),
        period_start: Some("2026-06-01".into()),
        period_end: Some("2026-06-30".into()),
        note: None,
        batch: "b1".into(),
    }
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()
}

#[test]
fn the_pin_check_accepts_the_prefix_and_spaces_and_nothing_else() {
    let key = "ab".repeat(32);
    assert_eq!(check_pin(Some(&format!("ed25519:{key}")), &key), Pin::Matches);
    assert_eq!(check_pin(Some(&format!("  {key}\n")), &key), Pin::Matches);
    assert_eq!(check_pin(Some(&key.to_uppercase()), &key), Pin::Matches);
    assert_eq!(check_pin(None, &key), Pin::Unpinned);
    assert_eq!(check_pin(Some(&"cd".repeat(32)), &key), Pin::Differs);
}

#[test]
fn init_creates_and_pins_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = project(tmp.path());
    let toml = std::fs::read_to_string(ws.dir().join("assure.toml")).unwrap();
    let w = ws.open_write(false).unwrap();
    assert!(toml.contains(&w.public), "{toml}");
    assert_eq!(w.pinned_now, None);
}

#[test]
fn every_signing_path_refuses_a_key_that_is_not_the_pinned_one() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = project(tmp.path());
    let file = tmp.path().join("minutes.md");
    std::fs::write(&file, "# minutes\n").unwrap();
    ws.add(&file, vec!["GOV-01".into()], &meta()).unwrap();
    // Another key replaces the project's.
    std::fs::write(assure_evidence::keys::key_path(ws.dir()), "11".repeat(32)).unwrap();
    let add = ws.add(&file, vec!["GOV-01".into()], &meta()).unwrap_err();
    assert!(matches!(add, WorkspaceError::KeyMismatch), "{add}");
    // Sampling signs too, and used to skip this check.
    let sample = ws
        .sample("GOV-01", &SampleOptions::default(), "2026-07-01T00:00:00Z", "auditor")
        .unwrap_err();
    assert!(matches!(sample, WorkspaceError::KeyMismatch), "{sample}");
    assert!(sample.is_problem());
    assert!(sample.hint().unwrap().contains("restore the original key file"));
    // Nothing was appended by the refused calls.
    let ledger = std::fs::read_to_string(ws.dir().join(".assure/evidence/ledger.jsonl")).unwrap();
    assert_eq!(ledger.lines().count(), 1);
}

#[test]
fn a_snapshot_reports_ledger_lines_it_cannot_read_and_keeps_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = project(tmp.path());
    let file = tmp.path().join("minutes.md");
    std::fs::write(&file, "# minutes\n").unwrap();
    ws.add(&file, vec!["GOV-01".into()], &meta()).unwrap();
    ws.add(&file, vec!["GOV-02".into()], &meta()).unwrap();
    let clean = ws.snapshot(day()).unwrap();
    assert_eq!(clean.ledger.len(), 2);
    assert!(clean.problems.is_empty(), "{:?}", clean.problems);

    let path = ws.dir().join(".assure/evidence/ledger.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(1, "{\"format\":2,\"seq\":\"garbled\"}");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let snap = ws.snapshot(day()).unwrap();
    assert_eq!(snap.ledger.len(), 2);
    assert_eq!(snap.problems.len(), 1, "{:?}", snap.problems);
    assert!(
        snap.problems[0].starts_with("ledger line 2: malformed"),
        "{:?}",
        snap.problems
    );
    // Verification fails and names the line.
    let v = ws.verify(None).unwrap().unwrap();
    assert!(!v.report.ok());
    assert!(v.report.findings.iter().any(|f| f.line == 2 && f.code == "malformed"));
    // Drawing a sample from a ledger with unread lines is refused: it could miss items.
    let e = ws
        .sample("GOV-01", &SampleOptions::default(), "2026-07-01T00:00:00Z", "auditor")
        .unwrap_err();
    assert!(e.to_string().contains("not entries"), "{e}");
}

#[test]
fn a_sample_draws_from_recorded_evidence_and_is_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = project(tmp.path());
    for i in 0..5 {
        let file = tmp.path().join(format!("minutes-{i}.md"));
        std::fs::write(&file, format!("# minutes {i}\n")).unwrap();
        ws.add(&file, vec!["GOV-01".into()], &meta()).unwrap();
    }
    let opts = SampleOptions {
        size: Some(2),
        seed: Some(7),
        ..SampleOptions::default()
    };
    let (record, entry) = ws.sample("GOV-01", &opts, "2026-07-01T00:00:00Z", "auditor").unwrap();
    assert_eq!(record.population.len(), 5);
    assert_eq!(record.selected.len(), 2);
    assert_eq!(entry.seq, 6);
    assert_eq!(entry.draft.action, assure_ledger::Action::Sample);
    let again = ws.sample("GOV-01", &opts, "2026-07-01T00:00:00Z", "auditor").unwrap().0;
    assert_eq!(again.selected, record.selected, "the same seed selects the same items");
    let snap = ws.snapshot(day()).unwrap();
    assert_eq!(snap.samples.len(), 1);
    let unknown = ws
        .sample("NOPE-1", &opts, "2026-07-01T00:00:00Z", "auditor")
        .unwrap_err();
    assert_eq!(unknown.to_string(), "unknown control `NOPE-1`");
}

/// The auditor's work on a sample: each item's result recorded in the ledger, sign-offs only when
/// every item is tested, a reviewer who is not the preparer, and sign-offs that go stale when a
/// result changes after them.
#[test]
fn a_samples_workpaper_records_results_and_sign_offs_in_the_ledger() {
    use assure_schema::results::{AttributeResult, SampleResult, SignoffRole};
    use assure_workspace::workpaper::WorkpaperInput;
    let tmp = tempfile::tempdir().unwrap();
    let ws = project(tmp.path());
    for i in 0..5 {
        let file = tmp.path().join(format!("minutes-{i}.md"));
        std::fs::write(&file, format!("# minutes {i}\n")).unwrap();
        ws.add(&file, vec!["GOV-01".into()], &meta()).unwrap();
    }
    let opts = SampleOptions {
        size: Some(2),
        seed: Some(7),
        ..SampleOptions::default()
    };
    let (sample, _) = ws.sample("GOV-01", &opts, "2026-07-01T00:00:00Z", "auditor").unwrap();
    let at = "2026-07-02T00:00:00Z";
    let result = |item: &str, r: SampleResult, note: &str| WorkpaperInput::Result {
        item: item.into(),
        attributes: vec![AttributeResult {
            attribute: "minutes signed by the chair".into(),
            result: r,
        }],
        result: r,
        tickmarks: vec!["I".into()],
        note: note.into(),
    };
    let (a, b) = (sample.selected[0].clone(), sample.selected[1].clone());
    // Not a sampled item; an exception without a note; an unknown tickmark.
    let e = ws
        .record_workpaper("GOV-01", &result("entry 99: x", SampleResult::Pass, ""), at, "auditor")
        .unwrap_err();
    assert!(
        e.to_string().contains("is not one of the sampled items of GOV-01"),
        "{e}"
    );
    let e = ws
        .record_workpaper("GOV-01", &result(&a, SampleResult::Exception, " "), at, "auditor")
        .unwrap_err();
    assert_eq!(e.to_string(), "say what the exception is in the note");
    let bad_tick = WorkpaperInput::Result {
        item: a.clone(),
        attributes: Vec::new(),
        result: SampleResult::Pass,
        tickmarks: vec!["Z".into()],
        note: String::new(),
    };
    assert!(
        ws.record_workpaper("GOV-01", &bad_tick, at, "auditor")
            .unwrap_err()
            .to_string()
            .starts_with("`Z` is not a tickmark")
    );
    // Sign-off before every item is tested is refused.
    ws.record_workpaper("GOV-01", &result(&a, SampleResult::Pass, ""), at, "auditor")
        .unwrap();
    let e = ws
        .record_workpaper("GOV-01", &WorkpaperInput::Signoff(SignoffRole::Preparer), at, "auditor")
        .unwrap_err();
    assert!(
        e.to_string().starts_with("1 of the 2 sampled items have no result yet"),
        "{e}"
    );
    ws.record_workpaper(
        "GOV-01",
        &result(&b, SampleResult::Exception, "unsigned minutes"),
        at,
        "auditor",
    )
    .unwrap();
    // A reviewer needs the preparer's sign-off, and must be someone else.
    let e = ws
        .record_workpaper("GOV-01", &WorkpaperInput::Signoff(SignoffRole::Reviewer), at, "senior")
        .unwrap_err();
    assert!(e.to_string().starts_with("the preparer has not signed off"), "{e}");
    let prep = ws
        .record_workpaper("GOV-01", &WorkpaperInput::Signoff(SignoffRole::Preparer), at, "auditor")
        .unwrap();
    assert_eq!(prep.draft.action, assure_ledger::Action::Workpaper);
    let e = ws
        .record_workpaper("GOV-01", &WorkpaperInput::Signoff(SignoffRole::Reviewer), at, "auditor")
        .unwrap_err();
    assert_eq!(e.to_string(), "the reviewer must be someone other than the preparer");
    ws.record_workpaper("GOV-01", &WorkpaperInput::Signoff(SignoffRole::Reviewer), at, "senior")
        .unwrap();
    let snap = ws.snapshot(day()).unwrap();
    let w = &snap.workpapers["GOV-01"];
    assert_eq!(w.items.len(), 2);
    assert_eq!(w.items[&b].result, SampleResult::Exception);
    assert_eq!(w.items[&b].note, "unsigned minutes");
    assert_eq!(
        (
            w.preparer.as_ref().unwrap().by.as_str(),
            w.reviewer.as_ref().unwrap().by.as_str()
        ),
        ("auditor", "senior")
    );
    assert!(!w.preparer.as_ref().unwrap().stale && !w.reviewer.as_ref().unwrap().stale);
    // A result changed after the sign-offs makes both stale; the ledger keeps every result.
    ws.record_workpaper(
        "GOV-01",
        &result(&b, SampleResult::Pass, "signed copy found"),
        at,
        "auditor",
    )
    .unwrap();
    let snap = ws.snapshot(day()).unwrap();
    let w = &snap.workpapers["GOV-01"];
    assert_eq!(w.items[&b].result, SampleResult::Pass);
    assert!(w.preparer.as_ref().unwrap().stale && w.reviewer.as_ref().unwrap().stale);
    let kept = snap
        .ledger
        .iter()
        .filter(|e| e.draft.action == assure_ledger::Action::Workpaper)
        .count();
    assert_eq!(
        kept, 5,
        "two results, two sign-offs and the changed result, each an entry"
    );
    // A workpaper is not evidence: the ledger still verifies, and the evidence count is unchanged.
    assert!(ws.verify(None).unwrap().unwrap().report.ok());
    assert!(snap.ledger.iter().filter(|e| e.draft.action.is_evidence()).count() == 5);
}

#[test]
fn a_project_with_an_unreadable_file_is_refused_with_its_diagnostic() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = project(tmp.path());
    std::fs::write(ws.dir().join("people.toml"), "this is = = not toml").unwrap();
    let e = ws.snapshot(day()).unwrap_err();
    assert!(matches!(e, WorkspaceError::Unreadable { .. }), "{e}");
    assert!(e.details()[0].contains("people.toml"), "{:?}", e.details());
    assert!(e.hint().unwrap().contains("assure validate"));
}

#[test]
fn drawing_a_sample_is_not_evidence_that_a_control_operated() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = project(tmp.path());
    let file = tmp.path().join("minutes.md");
    std::fs::write(&file, "# minutes\n").unwrap();
    // Evidence for GOV-01 recorded in January only.
    let january = Meta {
        at: "2026-01-31T10:00:00Z".into(),
        period_start: Some("2026-01-01".into()),
        period_end: Some("2026-01-31".into()),
        ..meta()
    };
    ws.add(&file, vec!["GOV-01".into()], &january).unwrap();
    let as_of = NaiveDate::from_ymd_opt(2026, 9, 30).unwrap();
    let before = ws.snapshot(as_of).unwrap();
    let latest = |s: &assure_workspace::Snapshot| {
        let p = &s.project;
        let entries = &s.ledger;
        assure_workspace::records::signals(p, entries, None, as_of).evidence["GOV-01"].latest
    };
    assert_eq!(latest(&before), NaiveDate::from_ymd_opt(2026, 1, 31));
    // An auditor samples the control in September: its evidence is still January's.
    ws.sample("GOV-01", &SampleOptions::default(), "2026-09-30T10:00:00Z", "auditor")
        .unwrap();
    let after = ws.snapshot(as_of).unwrap();
    assert_eq!(latest(&after), NaiveDate::from_ymd_opt(2026, 1, 31));
}

/// An account email with a comma and a line break once forged another person's acceptance (the row
/// was built with `format!`). It is one field of one row now, and validation refuses it.
#[test]
fn an_acceptance_cannot_forge_another_row() {
    use assure_workspace::Backend as _;
    let tmp = tempfile::tempdir().unwrap();
    let ws = project(tmp.path());
    let service = assure_workspace::service::Service::new(ws.clone(), Some(day()));
    let evil = "mallory@example.test,access-control,9.9,2026-01-01T00:00:00Z\nvictim@northwind.example";
    let policy = ws.snapshot(day()).unwrap().project.policies[0].id.to_string();
    let _ = service.accept_policy(evil, &policy, "1.0");
    let snap = service.snapshot(day()).unwrap();
    assert!(
        snap.acceptances
            .iter()
            .all(|a| a.email != "victim@northwind.example" && a.email != "mallory@example.test"),
        "{:?}",
        snap.acceptances
    );
    // An ordinary acceptance is recorded as one row.
    service.accept_policy("dana@northwind.example", &policy, "1.0").unwrap();
    let snap = service.snapshot(day()).unwrap();
    assert_eq!(
        snap.acceptances
            .iter()
            .filter(|a| a.email == "dana@northwind.example")
            .count(),
        1
    );
}

/// The finding: a control owner's upload, named like a file recorded for another control, replaced
/// that control's population. Within a scope, an upload fills only the uploader's tables and never
/// replaces a file recorded for a control that is not theirs.
#[test]
fn an_upload_stays_within_what_its_uploader_may_provide() {
    use assure_workspace::Backend as _;
    use assure_workspace::service::{Service, UploadScope};
    use assure_workspace::{Upload, UploadKind};
    let tmp = tempfile::tempdir().unwrap();
    let ws = project(tmp.path());
    let service = Service::new(ws.clone(), Some(day()));
    let changes = "change_id,system,title,author_email,approver_emails,created_at,approved_at,merged_at,deployed_at,tests_passed,emergency,ticket_id\n1,api,x,a@northwind.example,b@northwind.example,2026-03-01T09:00:00Z,2026-03-01T10:00:00Z,2026-03-01T11:00:00Z,,true,false,\n";
    let upload = |name: &str, scope: Option<UploadScope>| Upload {
        file_name: name.into(),
        bytes: changes.as_bytes().to_vec(),
        controls: vec!["CHG-01".into()],
        kind: UploadKind::Export,
        by: "someone@northwind.example".into(),
        scope,
        note: None,
        period: None,
    };
    // The change owner's export, recorded for CHG-01.
    service.import(upload("changes.csv", None)).unwrap();
    let theirs = UploadScope {
        tables: ["changes".to_string()].into_iter().collect(),
        protected: [("changes".to_string(), "changes.csv".to_string())]
            .into_iter()
            .collect(),
    };
    let e = service.import(upload("changes.csv", Some(theirs.clone()))).unwrap_err();
    assert!(
        e.to_string().contains("already recorded for a control you do not own"),
        "{e}"
    );
    let other_table = UploadScope {
        tables: ["accounts".to_string()].into_iter().collect(),
        ..UploadScope::default()
    };
    let e = service.import(upload("mine.csv", Some(other_table))).unwrap_err();
    assert!(
        e.to_string()
            .contains("fills the `changes` table, which none of your controls reads"),
        "{e}"
    );
    // Nothing was stored by the refusals; a file of their own under their own name is.
    assert_eq!(service.snapshot(day()).unwrap().ledger.len(), 1);
    service.import(upload("changes-mine.csv", Some(theirs))).unwrap();
    assert_eq!(service.snapshot(day()).unwrap().ledger.len(), 2);
    // A record uploaded with the period it covers carries it in its ledger entry (a periodic
    // control's slot is filled by the period, not the day of the upload).
    let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let review = Upload {
        file_name: "q3-access-review.txt".into(),
        bytes: b"Q3 access review signed off".to_vec(),
        controls: vec!["CHG-01".into()],
        kind: UploadKind::Record,
        by: "someone@northwind.example".into(),
        scope: None,
        note: None,
        period: Some((d("2026-07-01"), d("2026-09-30"))),
    };
    let e = service.import(review).unwrap().pop().unwrap();
    assert_eq!(
        (e.draft.period_start.as_deref(), e.draft.period_end.as_deref()),
        (Some("2026-07-01"), Some("2026-09-30"))
    );
}

/// The monitoring rules without a project: a baseline alerts nothing, a new condition is alerted
/// once (naming a control that starts failing), an undelivered alert stays due, a reminder comes
/// after the configured days, a closed condition is reported as recovered, a new period is a new
/// baseline.
#[test]
fn monitoring_alerts_each_new_condition_once_and_reminds_after_the_days_set() {
    use assure_workspace::monitor::{Condition, State, compare};
    use std::collections::BTreeMap;
    let cond = |test: &str, item: &str, control: &str| Condition {
        key: format!("exception {test} {item}"),
        kind: "exception".into(),
        subject: test.into(),
        item: item.into(),
        reason: "why".into(),
        controls: vec![control.into()],
    };
    let set = |cs: &[Condition]| {
        cs.iter()
            .map(|c| (c.key.clone(), c.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    let period = (date("2026-01-01"), date("2026-12-31"));
    let a = cond("t1", "x", "AC-01");
    let b = cond("t1", "y", "AC-01");
    let c = cond("t2", "z", "AC-02");

    let (alerts, recovered, s1, baseline) = compare(
        &State::default(),
        period,
        &set(std::slice::from_ref(&a)),
        "2026-11-01T00:00:00Z",
        Some(7),
    );
    assert!(baseline && alerts.is_empty() && recovered.is_empty());

    // b fails in a control already failing; c makes AC-02 fail.
    let (alerts, _, s2, baseline) = compare(
        &s1,
        period,
        &set(&[a.clone(), b.clone(), c.clone()]),
        "2026-11-01T01:00:00Z",
        Some(7),
    );
    assert!(!baseline);
    let said: Vec<(&str, &str, Vec<String>)> = alerts
        .iter()
        .map(|x| {
            (
                x.kind.as_str(),
                x.condition.item.as_str(),
                x.newly_failing_controls.clone(),
            )
        })
        .collect();
    assert_eq!(
        said,
        vec![("new", "y", vec![]), ("new", "z", vec!["AC-02".to_string()])]
    );
    // Neither was delivered (the state keeps them unalerted): both are due again next cycle.
    let (again, _, _, _) = compare(
        &s2,
        period,
        &set(&[a.clone(), b.clone(), c.clone()]),
        "2026-11-01T02:00:00Z",
        Some(7),
    );
    assert_eq!(again.len(), 2);

    // Delivered: quiet until seven days later, then reminders; a recovered condition is reported.
    let mut s3 = s2.clone();
    for o in s3.open.values_mut() {
        o.alerted = Some("2026-11-01T01:00:00Z".into());
    }
    let (quiet, recovered, _, _) = compare(
        &s3,
        period,
        &set(&[a.clone(), c.clone()]),
        "2026-11-05T00:00:00Z",
        Some(7),
    );
    assert!(quiet.is_empty());
    assert_eq!(recovered.iter().map(|r| r.item.as_str()).collect::<Vec<_>>(), vec!["y"]);
    let (reminders, _, _, _) = compare(
        &s3,
        period,
        &set(&[a.clone(), c.clone()]),
        "2026-11-08T01:00:00Z",
        Some(7),
    );
    assert_eq!(
        reminders.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(),
        vec!["reminder", "reminder"]
    );
    assert!(reminders[0].message.starts_with("still open: "));

    // The next period starts a new baseline.
    let (alerts, _, _, baseline) = compare(
        &s3,
        (date("2027-01-01"), date("2027-12-31")),
        &set(&[a, b, c]),
        "2027-01-02T00:00:00Z",
        Some(7),
    );
    assert!(baseline && alerts.is_empty());
}

/// Schedules: the next cycle falls on the schedule's boundary after now; anything else is refused.
#[test]
fn monitoring_schedules_name_the_next_cycle() {
    use assure_project::monitoring::Schedule;
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:17:42Z")
        .unwrap()
        .to_utc();
    let next = |s: &str| Schedule::parse(s).unwrap().next_after(now).to_rfc3339();
    assert_eq!(next("hourly"), "2026-11-30T11:00:00+00:00");
    assert_eq!(next("daily"), "2026-12-01T00:00:00+00:00");
    assert_eq!(next("every 15 minutes"), "2026-11-30T10:30:00+00:00");
    assert!(Schedule::parse("every 0 minutes").is_err());
    let from = |s: &str, at: &str| {
        let at = chrono::DateTime::parse_from_rfc3339(at).unwrap().to_utc();
        Schedule::parse(s).unwrap().next_after(at).to_rfc3339()
    };
    // Cron expressions, in UTC, as cron has them.
    assert_eq!(from("0 * * * *", "2026-12-02T14:05:00Z"), "2026-12-02T15:00:00+00:00");
    assert_eq!(
        from("*/15 9-17 * * 1-5", "2026-12-04T17:50:00Z"),
        "2026-12-07T09:00:00+00:00"
    );
    assert_eq!(from("30 6 1 * *", "2026-12-02T00:00:00Z"), "2027-01-01T06:30:00+00:00");
    // Both day fields restricted: either makes a day due; 7 is Sunday as well as 0.
    assert_eq!(from("0 0 13 * 7", "2026-12-02T00:00:00Z"), "2026-12-06T00:00:00+00:00");
    assert_eq!(from("0 0 29 2 *", "2026-12-02T00:00:00Z"), "2028-02-29T00:00:00+00:00");
    assert_eq!(
        from("daily at 06:30", "2026-12-02T06:30:00Z"),
        "2026-12-03T06:30:00+00:00"
    );
    assert_eq!(
        from("daily at 06:30", "2026-12-02T06:29:59Z"),
        "2026-12-02T06:30:00+00:00"
    );
    // What cannot be read, or never falls due, is refused with the reason.
    assert_eq!(
        Schedule::parse("0 25 * * *").unwrap_err(),
        "`25` in the hour field is outside 0-23"
    );
    assert_eq!(
        Schedule::parse("0 0 31 2 *").unwrap_err(),
        "`0 0 31 2 *` never falls due (no such date in five years)"
    );
    assert_eq!(
        Schedule::parse("daily at 25:00").unwrap_err(),
        "`daily at 25:00` is not `daily at HH:MM` (UTC, 24-hour clock)"
    );
    assert!(Schedule::parse("*/0 * * * *").is_err());
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// An approved yes that rests on a control another condition shows failing is to be reviewed
/// again; a proposed answer, a no, or an answer on a healthy control is not.
#[test]
fn approved_answers_on_failing_controls_are_raised_for_review() {
    use assure_workspace::monitor::{Condition, answer_conditions};
    use assure_workspace::questionnaire::{Answered, Item, Status};
    let item = |id: &str, answer: assure_questionnaire::Answer, status: Status, controls: &[&str]| Item {
        id: id.into(),
        question: format!("Question {id}?"),
        section: None,
        sheet: "Q".into(),
        cell: Some("C2".into()),
        answer,
        value: Some("Yes".into()),
        owner: None,
        text: String::new(),
        sources: serde_json::json!([]),
        confidence: 0.9,
        level: "high".into(),
        reason: None,
        status,
        assignee: None,
        approved_by: Some("ciso@example.com".into()),
        approved_at: None,
        comments: vec![],
        controls: controls.iter().map(|c| c.to_string()).collect(),
        choices: vec![],
    };
    use assure_questionnaire::Answer::{No, Yes};
    let answered = Answered {
        id: "q-12345678".into(),
        file: "acme.xlsx".into(),
        format: assure_questionnaire::Format::Xlsx,
        blake3: "00".repeat(32),
        as_of: "2026-06-30".parse().unwrap(),
        period: Some("2026".into()),
        created_at: "2026-06-30T10:00:00Z".into(),
        mapping: Default::default(),
        items: vec![
            item("IAM-01", Yes, Status::Approved, &["AC-01"]),
            item("IAM-02", Yes, Status::Proposed, &["AC-01"]),
            item("IAM-03", No, Status::Approved, &["AC-01"]),
            item("CHG-01", Yes, Status::Approved, &["CHG-01"]),
        ],
        cells: vec![],
        model: None,
    };
    let mut now = std::collections::BTreeMap::new();
    now.insert(
        "exception mfa-all A-9".to_string(),
        Condition {
            key: "exception mfa-all A-9".into(),
            kind: "exception".into(),
            subject: "mfa-all".into(),
            item: "A-9".into(),
            reason: "no second factor".into(),
            controls: vec!["AC-01".into()],
        },
    );
    let found = answer_conditions(&now, &[answered], &Default::default());
    let keys: Vec<&String> = found.keys().collect();
    assert_eq!(keys, ["answer q-12345678 IAM-01"]);
    assert_eq!(
        found["answer q-12345678 IAM-01"].reason,
        "the approved answer rests on control AC-01, which now shows exception (mfa-all A-9)"
    );
}

/// A vendor's SOC report is a reminder 60 days before it goes stale (15 months after the last day
/// it or its bridge letter covers), a condition once stale, and nothing while it is current.
#[test]
fn vendor_reports_are_reminded_before_they_go_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = project(tmp.path());
    let p = ws.open_read().unwrap().project;
    let at = |d: &str| assure_workspace::monitor::vendor_conditions(&p, date(d));
    // The template's AWS report covers 2025-04-01 to 2026-03-31: stale on 2027-06-30.
    assert!(at("2027-04-30").is_empty());
    let due = at("2027-05-01");
    let c = due.get("vendor aws").unwrap();
    assert_eq!((c.kind.as_str(), c.item.as_str()), ("vendor_report_due", "due soon"));
    assert_eq!(
        c.reason,
        "its soc2-type2 report covers through 2026-03-31; it goes stale on 2027-06-30: request the next report or a bridge letter"
    );
    assert_eq!(at("2027-06-30")["vendor aws"].item, "stale");
    // A bridge letter carries it forward.
    let path = ws.dir().join("vendors/aws.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!("{text}\n[[reports.bridge_letters]]\ncovers_through = 2026-06-30\nreceived_on = 2026-07-10\n"),
    )
    .unwrap();
    let p = ws.open_read().unwrap().project;
    assert!(assure_workspace::monitor::vendor_conditions(&p, date("2027-06-30")).is_empty());
    assert_eq!(
        p.vendors
            .iter()
            .find(|v| v.id.as_str() == "aws")
            .unwrap()
            .report_stale_on(),
        Some(date("2027-09-30"))
    );
}
