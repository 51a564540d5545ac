//! Every standard test shipped with the templates, run on the fixture company: exactly which items
//! fail, and the reason text.

use std::collections::BTreeMap;

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;

use assure_engine::{Param, Run, Status, TestSpec, run};
use assure_project::init::{Template, render};

use crate::fixture::{tables, window};

pub fn specs() -> Vec<TestSpec> {
    let files = render(Template::Fintech).unwrap();
    let mut out = Vec::new();
    for (path, text) in files.iter().filter(|(p, _)| p.starts_with("tests/")) {
        let v: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("{path}: {e}"));
        let params = v
            .get("params")
            .and_then(|p| p.as_table())
            .map(|t| {
                t.iter()
                    .map(|(k, v)| {
                        let p = match v {
                            toml::Value::Integer(i) => Param::Int(*i),
                            toml::Value::Float(f) => Param::Float(*f),
                            toml::Value::Boolean(b) => Param::Bool(*b),
                            other => Param::Text(other.as_str().unwrap_or_default().to_string()),
                        };
                        (k.clone(), p)
                    })
                    .collect::<BTreeMap<_, _>>()
            })
            .unwrap_or_default();
        let mut params = params;
        if v["id"].as_str() == Some("access-reviews-quarterly") {
            // The fixture's as-of date is two weeks after the second quarter; a project shortens the grace like this.
            params.insert("grace_days".into(), Param::Int(10));
        }
        out.push(TestSpec {
            id: v["id"].as_str().unwrap().to_string(),
            sql: v["sql"].as_str().unwrap().to_string(),
            params,
        });
    }
    out
}

fn run_all() -> Run {
    run(&tables(), &specs(), &window(), &mut |_, _| {})
}

fn render_result(run: &Run, id: &str) -> String {
    if let Some(d) = run.diagnostics.iter().find(|d| d.test == id) {
        return format!("could not run: {}\n", d.message);
    }
    let r = run
        .results
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no result for {id}"));
    let mut s = format!(
        "population {}, exceptions {}, not applicable {}\n",
        r.population, r.failed, r.not_applicable
    );
    for i in &r.items {
        let mark = match i.status {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::NotApplicable => "n/a ",
        };
        s.push_str(&format!("{mark} {}: {}\n", i.item, i.reason));
    }
    s
}

#[test]
fn every_standard_test_runs_without_diagnostics() {
    let r = run_all();
    assert!(r.diagnostics.is_empty(), "{:#?}", r.diagnostics);
    assert_eq!(r.results.len(), 32);
}

/// Every standard test gives the same result over the types identity resolution leaves a run's
/// tables in (text person columns as dictionaries of text) as over plain text.
/// The fixture's tables with every text person column as a dictionary, a list of them as a list of
/// dictionary items, as identity resolution leaves them: with `shared`, one dictionary per table
/// and column, its batches a few rows each, all keyed into it; otherwise each batch its own.
fn held_as_dictionaries(shared: bool) -> Vec<assure_engine::TableBatches> {
    let dictionary = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let mut typed = Vec::new();
    let mut cast = 0;
    for t in tables() {
        let mut b = assure_engine::TableBatches::from_rows(&t).unwrap();
        let person = |name: &str| {
            assure_schema::tables::PERSON_COLUMNS.contains(&name)
                || assure_schema::tables::SOFT_PERSON_COLUMNS.contains(&name)
        };
        let fields: Vec<arrow::datatypes::Field> = b
            .schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Utf8 if person(f.name()) => {
                    cast += 1;
                    f.as_ref().clone().with_data_type(dictionary.clone())
                }
                DataType::List(_) if person(f.name()) => {
                    cast += 1;
                    f.as_ref().clone().with_data_type(DataType::List(std::sync::Arc::new(
                        arrow::datatypes::Field::new("item", dictionary.clone(), true),
                    )))
                }
                _ => f.as_ref().clone(),
            })
            .collect();
        let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(fields));
        let as_held = |batch: &arrow::array::RecordBatch| {
            let columns = batch
                .columns()
                .iter()
                .zip(schema.fields())
                .map(|(c, f)| arrow::compute::cast(c, f.data_type()).unwrap())
                .collect();
            arrow::array::RecordBatch::try_new(std::sync::Arc::clone(&schema), columns).unwrap()
        };
        b.batches = if shared {
            let whole = as_held(&arrow::compute::concat_batches(&b.schema, &b.batches).unwrap());
            (0..whole.num_rows())
                .step_by(3)
                .map(|at| whole.slice(at, 3.min(whole.num_rows() - at)))
                .collect()
        } else {
            b.batches.iter().map(as_held).collect()
        };
        b.schema = schema;
        typed.push(b);
    }
    assert!(cast >= 10, "only {cast} columns were held as dictionaries");
    typed
}

#[test]
fn every_standard_test_reads_person_columns_held_as_dictionaries_as_text() {
    let text = run_all();
    for shared in [false, true] {
        let typed = held_as_dictionaries(shared);
        if shared {
            // Batches that share one dictionary, as `lower` and `upper` convert its values once.
            let sharing = typed.iter().filter(|t| t.batches.len() > 1).count();
            assert!(sharing >= 10, "only {sharing} tables have several batches");
        }
        let held = assure_engine::run_batches(&typed, &specs(), &window(), &mut |_, _| {});
        assert!(held.diagnostics.is_empty(), "{:#?}", held.diagnostics);
        for r in &text.results {
            assert_eq!(
                render_result(&held, &r.id),
                render_result(&text, &r.id),
                "{}, shared {shared}",
                r.id
            );
        }
        assert_eq!(held.results.len(), text.results.len());
    }
}

#[test]
fn lower_and_upper_over_a_dictionary_shared_by_batches_are_those_over_its_text() {
    use arrow::array::{RecordBatch, StringArray};
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;
    let dictionary = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    // Two tables, each of one-row batches keyed into one dictionary of its own, with addresses in
    // mixed case and beyond ASCII (a title-case digraph, a dotted capital I).
    let table = |name: &str, emails: &[&str], held: bool| {
        let ids: Vec<String> = (0..emails.len()).map(|i| format!("{name}-{i}")).collect();
        let text = Arc::new(StringArray::from(emails.to_vec())) as ArrayRef;
        let kind = if held { dictionary.clone() } else { DataType::Utf8 };
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("email", kind.clone(), true),
        ]));
        let whole = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(StringArray::from(ids)),
                arrow::compute::cast(&text, &kind).unwrap(),
            ],
        )
        .unwrap();
        assure_engine::TableBatches {
            name: name.into(),
            schema,
            batches: (0..whole.num_rows()).map(|at| whole.slice(at, 1)).collect(),
        }
    };
    let a = [
        "Ann@X.example",
        "ǅemal@x.example",
        "İlker@x.example",
        "bob@x.example",
        "ÅSA@x.example",
    ];
    let p = ["ann@x.example", "ǆEMAL@X.EXAMPLE", "åsa@x.example", "carl@x.example"];
    let spec = TestSpec {
        id: "case".into(),
        sql: "SELECT a.id AS item, CASE WHEN p.id IS NULL THEN 'fail' ELSE 'pass' END AS status, \
              lower(a.email) || ' / ' || upper(a.email) || ' / ' || coalesce(p.id, 'nobody') AS reason \
              FROM a LEFT JOIN p ON lower(a.email) = lower(p.email)"
            .into(),
        params: BTreeMap::new(),
    };
    let run = |held: bool| {
        let tables = [table("a", &a, held), table("p", &p, held)];
        let out = assure_engine::run_batches(&tables, std::slice::from_ref(&spec), &window(), &mut |_, _| {});
        render_result(&out, "case")
    };
    let text = run(false);
    assert_eq!(run(true), text);
    insta::assert_snapshot!(text);
}

macro_rules! standard {
    ($($name:ident => $id:literal),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                insta::assert_snapshot!(render_result(&run_all(), $id));
            }
        )*
    };
}

standard! {
    terminated_access_removed => "terminated-access-removed",
    orphan_accounts => "orphan-accounts",
    mfa_all_human_accounts => "mfa-all-human-accounts",
    mfa_privileged_accounts => "mfa-privileged-accounts",
    access_approved_before_grant => "access-approved-before-grant",
    access_reviews_quarterly => "access-reviews-quarterly",
    changes_peer_approved => "changes-peer-approved",
    changes_linked_to_ticket => "changes-linked-to-ticket",
    changes_tested_before_merge => "changes-tested-before-merge",
    emergency_changes_approved_afterwards => "emergency-changes-approved-afterwards",
    vulnerabilities_critical_high_within_sla => "vulnerabilities-critical-high-within-sla",
    vulnerabilities_medium_within_sla => "vulnerabilities-medium-within-sla",
    production_data_assets_backed_up => "production-data-assets-backed-up",
    restore_tested_annually => "restore-tested-annually",
    confidential_assets_encrypted => "confidential-assets-encrypted",
    devices_encrypted => "devices-encrypted",
    devices_screen_lock => "devices-screen-lock",
    background_check_timely => "background-check-timely",
    training_within_30_days_of_hire => "training-within-30-days-of-hire",
    training_annual => "training-annual",
    policy_acceptance_current => "policy-acceptance-current",
    incidents_resolved_with_postmortem => "incidents-resolved-with-postmortem",
    incidents_have_category => "incidents-have-category",
    subservice_soc_report_current => "subservice-soc-report-current",
    vendors_reviewed_annually => "vendors-reviewed-annually",
    risk_register_reviewed => "risk-register-reviewed",
    root_account_used => "root-account-used",
    audit_logging_disabled => "audit-logging-disabled",
    production_assets_have_logging => "production-assets-have-logging",
    console_login_without_mfa => "console-login-without-mfa",
    privileged_accounts_owned => "privileged-accounts-owned",
}

#[test]
fn daily_backups_list_each_missing_day() {
    let r = run_all();
    let res = r.results.iter().find(|r| r.id == "backups-succeeded-daily").unwrap();
    // Two stores with backups enabled, every day from 1 January to 30 June (the period ends before the as-of date).
    assert_eq!(res.population, 2 * 181);
    let fails: Vec<&str> = res
        .items
        .iter()
        .filter(|i| i.status == Status::Fail)
        .map(|i| i.reason.as_str())
        .collect();
    assert_eq!(
        fails,
        [
            "no successful backup of db-orders on 2026-03-15",
            "no successful backup of db-orders on 2026-06-30"
        ]
    );
}

#[test]
fn a_github_no_reply_address_is_the_person_with_that_github_login() {
    let mut ids = assure_engine::Identities::default();
    ids.add("ana@acme.example", &["github:ana-dev".to_string()]);
    for v in [
        "12345+ana-dev@users.noreply.github.com",
        "ana-dev@users.noreply.github.com",
        "ANA+ci@acme.example",
    ] {
        assert_eq!(ids.resolve(v), Some("ana@acme.example"), "{v}");
    }
    assert_eq!(ids.resolve("12345+someone-else@users.noreply.github.com"), None);
}

#[test]
fn every_merge_says_its_rule_and_an_alias_two_people_claim_names_neither() {
    let mut ids = assure_engine::Identities::default();
    ids.add(
        "ana@acme.example",
        &["github:ana-dev".to_string(), "shared@acme.example".to_string()],
    );
    ids.add("bo@acme.example", &["shared@acme.example".to_string()]);
    let rule = |v: &str| ids.resolve_with_rule(v).map(|(p, r)| (p.to_string(), r));
    assert_eq!(rule("ana@acme.example"), Some(("ana@acme.example".into(), "primary")));
    assert_eq!(rule("Ana@Acme.example"), Some(("ana@acme.example".into(), "case")));
    assert_eq!(rule("github:ana-dev"), Some(("ana@acme.example".into(), "alias")));
    assert_eq!(
        rule("9+ana-dev@users.noreply.github.com"),
        Some(("ana@acme.example".into(), "github-noreply"))
    );
    assert_eq!(
        rule("ana+ops@acme.example"),
        Some(("ana@acme.example".into(), "plus-address"))
    );
    assert_eq!(rule("shared@acme.example"), None);
    assert_eq!(ids.ambiguous()["shared@acme.example"].len(), 2);
}

/// One person across addresses by name: within one source, an address written with the name of an
/// address that resolves is that person (`same-name`); an address whose name is exactly one
/// person's on the roster is that person (`roster-name`); two people with one name are reported
/// as candidates, never merged.
#[test]
fn a_name_written_beside_two_addresses_is_one_person_and_a_shared_name_is_reported() {
    use arrow::array::{Array, AsArray};
    let mut ids = assure_engine::Identities::default();
    ids.add_named("jane@acme.example", "Jane Doe", &[]);
    ids.add_named("kim@acme.example", "Kim Lee", &[]);
    ids.add_named("sam.park@acme.example", "Sam Park", &[]);
    ids.add_named("sam.park2@acme.example", "sam  PARK", &[]);
    let changes = crate::fixture::csv(
        "changes",
        "change_id,system,title,author_email,approver_emails,created_at,merged_at,emergency
C1,api,self-approved under a second address,Jane Doe <jane@acme.example>,Jane Doe <jane@home.example>,2026-03-01T10:00:00Z,2026-03-01T11:00:00Z,false
C2,api,from a personal address,Kim Lee <kim@home.example>,Jane Doe <jane@acme.example>,2026-03-02T10:00:00Z,2026-03-02T11:00:00Z,false
C3,api,two people share the name,Sam Park <sam@home.example>,Kim Lee <kim@acme.example>,2026-03-03T10:00:00Z,2026-03-03T11:00:00Z,false
C4,api,nobody known,Lee Nobody <lee@elsewhere.example>,,2026-03-04T10:00:00Z,2026-03-04T11:00:00Z,false
",
    );
    let mut tables = vec![assure_engine::TableBatches::from_rows(&changes).unwrap()];
    let ids = ids.with_names_in(&tables);
    let merges = ids.merges(&tables);
    let assure_engine::Resolved { merged, unresolved } = ids.resolve_batches(&mut tables, &[]).unwrap();
    // Resolving finds, as it maps them, the merges the tables held before they were mapped.
    assert_eq!(merged, merges);
    let mut out = String::new();
    for b in &tables[0].batches {
        let id = b.column_by_name("change_id").unwrap().as_string::<i32>();
        // Resolution writes a text person column as a dictionary, read here as text.
        let author = arrow::compute::cast(b.column_by_name("author_email").unwrap(), &DataType::Utf8).unwrap();
        let author = author.as_string::<i32>();
        // A list's items are keys into the same kind of dictionary.
        let approvers = b.column_by_name("approver_emails").unwrap().as_list::<i32>();
        for r in 0..b.num_rows() {
            let a = arrow::compute::cast(&approvers.value(r), &DataType::Utf8).unwrap();
            let a = a.as_string::<i32>();
            let list: Vec<&str> = (0..a.len()).map(|k| a.value(k)).collect();
            out.push_str(&format!(
                "{}: author {}, approvers [{}]\n",
                id.value(r),
                author.value(r),
                list.join(", ")
            ));
        }
    }
    for m in &merges {
        out.push_str(&format!("merged {} -> {} ({})\n", m.value, m.person, m.rule));
    }
    for u in &unresolved {
        out.push_str(&format!(
            "unresolved {} (could be: {})\n",
            u.value,
            u.candidates.join(", ")
        ));
    }
    insta::assert_snapshot!(out);
}

/// A person column read from a columnar copy comes as the copy's own dictionary of its values (a
/// list as a list of such): the same-name rules, what resolution merged, what resolved to nobody
/// (row by row) and every value written are the same as from the column as text, whether batches
/// share one dictionary or each has its own, and an account's missing email is still filled in.
#[test]
fn a_person_column_read_as_a_dictionary_resolves_as_its_text_does() {
    use arrow::array::{Array, AsArray, RecordBatch};
    let mut ids = assure_engine::Identities::default();
    ids.add_named("jane@acme.example", "Jane Doe", &["github:jane-gh".to_string()]);
    ids.add_named("kim@acme.example", "Kim Lee", &[]);
    let changes = crate::fixture::csv(
        "changes",
        "change_id,system,title,author_email,approver_emails,created_at,merged_at,emergency
C1,api,a,Jane Doe <jane@acme.example>,Jane Doe <jane@home.example>,2026-03-01T10:00:00Z,2026-03-01T11:00:00Z,false
C2,api,b,Kim Lee <kim@home.example>,jane+ops@acme.example;KIM@acme.example,2026-03-02T10:00:00Z,2026-03-02T11:00:00Z,false
C3,api,c,lee@elsewhere.example,lee@elsewhere.example,2026-03-03T10:00:00Z,2026-03-03T11:00:00Z,false
C4,api,d,lee@elsewhere.example,,2026-03-04T10:00:00Z,2026-03-04T11:00:00Z,false
C5,api,e,9+jane-gh@users.noreply.github.com,kim@acme.example,2026-03-05T10:00:00Z,2026-03-05T11:00:00Z,false
",
    );
    let accounts = crate::fixture::csv(
        "accounts",
        "system,account_id,email,kind,role,privileged,mfa_enabled,status,created_at,deprovisioned_at
okta,00u1,Jane@Acme.example,human,engineer,false,true,active,2024-01-10T09:00:00Z,
github,jane-gh,,human,write,false,true,active,2026-02-03T09:00:00Z,
okta,00u3,lee@elsewhere.example,human,analyst,false,true,active,2026-02-02T09:00:00Z,
",
    );
    let text = vec![
        assure_engine::TableBatches::from_rows(&changes).unwrap(),
        assure_engine::TableBatches::from_rows(&accounts).unwrap(),
    ];
    // The same tables with every person column as a dictionary: the changes one batch a row, the
    // first three sharing one dictionary (as the batches of one row group do), the others each
    // with their own; the accounts as one batch.
    let dictionary = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let as_dictionaries = |t: &assure_engine::TableBatches| -> assure_engine::TableBatches {
        let person = |name: &str| ["author_email", "approver_emails", "email"].contains(&name);
        let fields: Vec<arrow::datatypes::Field> = t
            .schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Utf8 if person(f.name()) => f.as_ref().clone().with_data_type(dictionary.clone()),
                DataType::List(item) if person(f.name()) => f.as_ref().clone().with_data_type(DataType::List(
                    std::sync::Arc::new(item.as_ref().clone().with_data_type(dictionary.clone())),
                )),
                _ => f.as_ref().clone(),
            })
            .collect();
        let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(fields));
        let batches = t
            .batches
            .iter()
            .map(|b| {
                let columns: Vec<ArrayRef> = b
                    .columns()
                    .iter()
                    .zip(schema.fields())
                    .map(|(c, f)| arrow::compute::cast(c, f.data_type()).unwrap())
                    .collect();
                RecordBatch::try_new(std::sync::Arc::clone(&schema), columns).unwrap()
            })
            .collect();
        assure_engine::TableBatches {
            name: t.name.clone(),
            schema,
            batches,
        }
    };
    let mut keyed = vec![as_dictionaries(&text[0]), as_dictionaries(&text[1])];
    let whole = keyed[0].batches[0].clone();
    keyed[0].batches = vec![whole.slice(0, 1), whole.slice(1, 1), whole.slice(2, 1)];
    for r in 3..whole.num_rows() {
        let own = as_dictionaries(&assure_engine::TableBatches {
            batches: vec![text[0].batches[0].slice(r, 1)],
            ..text[0].clone()
        });
        keyed[0].batches.extend(own.batches);
    }
    assert!(matches!(
        keyed[0].batches[0].column_by_name("author_email").unwrap().data_type(),
        DataType::Dictionary(_, _)
    ));
    // Every value written, as text.
    let written = |tables: &[assure_engine::TableBatches]| -> Vec<String> {
        let mut out = Vec::new();
        for t in tables {
            for column in ["author_email", "approver_emails", "email"] {
                for b in &t.batches {
                    let Some(c) = b.column_by_name(column) else { continue };
                    for r in 0..b.num_rows() {
                        let value = match c.data_type() {
                            DataType::List(_) => {
                                let items = c.as_list::<i32>().value(r);
                                let items = arrow::compute::cast(&items, &DataType::Utf8).unwrap();
                                let items = items.as_string::<i32>();
                                (0..items.len()).map(|k| items.value(k)).collect::<Vec<_>>().join(";")
                            }
                            _ => {
                                let one = arrow::compute::cast(&c.slice(r, 1), &DataType::Utf8).unwrap();
                                let one = one.as_string::<i32>();
                                if one.is_valid(0) {
                                    one.value(0).to_string()
                                } else {
                                    "-".into()
                                }
                            }
                        };
                        out.push(format!("{}.{column}: {value}", t.name));
                    }
                }
            }
        }
        out
    };
    let resolve = |mut tables: Vec<assure_engine::TableBatches>| {
        let ids = ids.clone().with_names_in(&tables);
        let taught = ids.rules_taught_by(&tables);
        let merges = ids.merges(&tables);
        let resolved = ids.resolve_batches(&mut tables, &[]).unwrap();
        (taught, merges, resolved, written(&tables))
    };
    let from_text = resolve(text.clone());
    let from_keys = resolve(keyed);
    assert_eq!(from_keys, from_text);
    // And what that is: merges by every rule, a same-name rule, a value that matched nobody counted
    // in each row that held it, the account's email filled in from its alias.
    let (taught, merges, resolved, values) = from_text;
    assert_eq!(taught, ["jane@home.example", "kim@home.example"]);
    assert_eq!(merges, resolved.merged);
    let rules: Vec<(String, String)> = merges.iter().map(|m| (m.value.clone(), m.rule.clone())).collect();
    assert!(rules.contains(&("jane doe <jane@home.example>".into(), "same-name".into())));
    assert!(rules.contains(&("9+jane-gh@users.noreply.github.com".into(), "github-noreply".into())));
    assert_eq!(resolved.unresolved.len(), 1);
    assert_eq!(resolved.unresolved[0].value, "lee@elsewhere.example");
    assert_eq!(resolved.unresolved[0].rows, 4);
    assert!(values.contains(&"accounts.email: jane@acme.example".to_string()));
    assert!(values.contains(&"changes.approver_emails: jane@acme.example;kim@acme.example".to_string()));
}

/// Resolving typed tables reports, as it maps them, what the tables held before they were mapped:
/// every value a rule other than being a primary email resolved (in firm and soft columns, in lists,
/// in batches mapped on several threads, and among the values of rows a filter left out), with where
/// it was seen; a filled-in account email is no merge. What resolved to nobody is what the row by
/// row resolution reports.
#[test]
fn resolving_reports_the_merges_the_tables_held_before_they_were_mapped() {
    use arrow::array::{Array, AsArray};
    let mut ids = assure_engine::Identities::default();
    ids.add("ana@acme.example", &["github:ana-gh".to_string()]);
    ids.add(
        "bo@acme.example",
        &["github:bo-gh".to_string(), "bo@old.example".to_string()],
    );
    ids.add("cy@acme.example", &[]);
    let rows = vec![
        crate::fixture::csv(
            "accounts",
            "system,account_id,email,kind,role,privileged,mfa_enabled,status,created_at,deprovisioned_at
okta,00u1,Ana@Acme.example,human,engineer,false,true,active,2024-01-10T09:00:00Z,
github,bo-gh,,human,write,false,true,active,2026-02-03T09:00:00Z,
okta,00u3,bo@old.example,human,analyst,false,true,active,2026-02-02T09:00:00Z,
okta,00u9,zed@acme.example,human,engineer,false,false,active,2025-01-01T09:00:00Z,
",
        ),
        crate::fixture::csv(
            "changes",
            "change_id,system,title,author_email,approver_emails,created_at,merged_at,emergency
C1,api,a,ana@acme.example,bo+gh@acme.example,2026-03-01T10:00:00Z,2026-03-01T11:00:00Z,false
C2,api,b,9+ana-gh@users.noreply.github.com,cy@acme.example;BO@ACME.example,2026-03-02T10:00:00Z,2026-03-02T11:00:00Z,false
C3,api,c,cy@acme.example,ana@acme.example,2026-03-03T10:00:00Z,2026-03-03T11:00:00Z,false
C4,api,d,bo@old.example,nobody@elsewhere.example,2026-03-04T10:00:00Z,2026-03-04T11:00:00Z,false
C5,api,e,CY@acme.example,ana+x@acme.example,2026-03-05T10:00:00Z,2026-03-05T11:00:00Z,false
C6,api,f,nobody@elsewhere.example,bo@acme.example,2026-03-06T10:00:00Z,2026-03-06T11:00:00Z,false
",
        ),
        crate::fixture::csv(
            "events",
            "event_id,occurred_at,source,actor,action,raw_action,target,outcome,mfa,source_ip
EV1,2026-05-02T10:00:00Z,okta,ana@acme.example,grant_privilege,x,Cy@acme.example,success,,
EV2,2026-05-01T11:00:00Z,github-audit,github:ana-gh,grant_access,y,github:bo-gh,success,,
EV3,2026-05-01T12:00:00Z,cloudtrail,root,stop_logging,z,org-trail,success,,
",
        ),
    ];
    // (Email columns are read in lower case; an event's target is kept as written.)
    // Each table's rows in one batch a row, so several threads map parts of one table.
    let split = |t: &assure_engine::TableData| {
        let mut typed = assure_engine::TableBatches::from_rows(t).unwrap();
        typed.batches = typed
            .batches
            .iter()
            .flat_map(|b| (0..b.num_rows()).map(|r| b.slice(r, 1)))
            .collect();
        typed
    };
    let mut tables: Vec<assure_engine::TableBatches> = rows.iter().map(split).collect();
    // Values of rows a filter left out: seen, not mapped.
    let mut left_out = split(&crate::fixture::csv(
        "events",
        "event_id,occurred_at,source,actor,action,raw_action,target,outcome,mfa,source_ip
EV9,2026-05-03T10:00:00Z,okta,x,y,z,bo+left@acme.example,success,,
",
    ));
    left_out.batches = left_out.batches.iter().map(|b| b.project(&[6]).unwrap()).collect();
    left_out.schema = left_out.batches[0].schema();
    let also_seen = vec![left_out];
    let before: Vec<assure_engine::TableBatches> = tables.iter().chain(&also_seen).cloned().collect();
    let merges = ids.merges(&before);
    let resolved = ids.resolve_batches(&mut tables, &also_seen).unwrap();
    assert_eq!(resolved.merged, merges);
    let shown: Vec<String> = resolved
        .merged
        .iter()
        .map(|m| format!("{} -> {} ({}; {})", m.value, m.person, m.rule, m.seen_in.join(", ")))
        .collect();
    assert_eq!(
        shown,
        [
            "9+ana-gh@users.noreply.github.com -> ana@acme.example (github-noreply; changes.author_email)",
            "Cy@acme.example -> cy@acme.example (case; events.target)",
            "ana+x@acme.example -> ana@acme.example (plus-address; changes.approver_emails)",
            "bo+gh@acme.example -> bo@acme.example (plus-address; changes.approver_emails)",
            "bo+left@acme.example -> bo@acme.example (plus-address; events.target)",
            "bo@old.example -> bo@acme.example (alias; accounts.email, changes.author_email)",
            "github:bo-gh -> bo@acme.example (alias; events.target)",
        ]
    );
    // The account without an email got the one its `system:account_id` alias names.
    let emails: Vec<ArrayRef> = tables[0]
        .batches
        .iter()
        .map(|b| arrow::compute::cast(b.column_by_name("email").unwrap(), &DataType::Utf8).unwrap())
        .collect();
    let emails: Vec<Option<&str>> = emails
        .iter()
        .map(|e| e.as_string::<i32>())
        .map(|e| (e.len() == 1 && e.is_valid(0)).then(|| e.value(0)))
        .collect();
    assert_eq!(
        emails,
        [
            Some("ana@acme.example"),
            Some("bo@acme.example"),
            Some("bo@acme.example"),
            Some("zed@acme.example")
        ]
    );
    let mut by_rows = rows.clone();
    assert_eq!(resolved.unresolved, ids.apply(&mut by_rows));
    let misses: Vec<(&str, usize)> = resolved.unresolved.iter().map(|u| (u.value.as_str(), u.rows)).collect();
    assert_eq!(misses, [("nobody@elsewhere.example", 2), ("zed@acme.example", 1)]);
}

/// Resolution writes a text person column as one dictionary per table (each person's address
/// once, every row a key into it), also when several threads map parts of the table; lists stay
/// lists of text; SQL reads the column as text, in comparisons, joins and as an item's id.
#[test]
fn a_resolved_person_column_is_one_dictionary_per_table_and_reads_as_text() {
    use arrow::array::{Array, AsArray};
    let mut ids = assure_engine::Identities::default();
    ids.add("ana@acme.example", &["ana@old.example".to_string()]);
    ids.add("bo@acme.example", &[]);
    let changes = crate::fixture::csv(
        "changes",
        "change_id,system,title,author_email,approver_emails,created_at,merged_at,emergency
C1,api,a,ana@acme.example,bo@acme.example,2026-03-01T10:00:00Z,2026-03-01T11:00:00Z,false
C2,api,b,ANA@old.example,ana@old.example,2026-03-02T10:00:00Z,2026-03-02T11:00:00Z,false
C3,api,c,bo@acme.example,,2026-03-03T10:00:00Z,2026-03-03T11:00:00Z,false
C4,api,d,Bo@acme.example,bo@acme.example,2026-03-04T10:00:00Z,2026-03-04T11:00:00Z,false
C5,api,e,ana@acme.example,ana@acme.example,2026-03-05T10:00:00Z,2026-03-05T11:00:00Z,false
",
    );
    let mut typed = assure_engine::TableBatches::from_rows(&changes).unwrap();
    // One batch a row, so each core maps a part of the table.
    typed.batches = typed
        .batches
        .iter()
        .flat_map(|b| (0..b.num_rows()).map(|r| b.slice(r, 1)))
        .collect();
    // An account whose email is missing and whose alias names nobody keeps no value.
    let accounts = crate::fixture::csv(
        "accounts",
        "system,account_id,email,kind,role,privileged,mfa_enabled,status,created_at,deprovisioned_at
okta,00u1,ana@old.example,human,engineer,false,true,active,2024-01-10T09:00:00Z,
github,ghost,,human,write,false,true,active,2026-02-03T09:00:00Z,
",
    );
    let mut tables = vec![typed, assure_engine::TableBatches::from_rows(&accounts).unwrap()];
    ids.resolve_batches(&mut tables, &[]).unwrap();
    // Resolved columns and lists hold only what values were written as: nothing is merged in them,
    // and reading them for merges does not stop on their dictionary types.
    assert_eq!(ids.merges(&tables), []);
    let emails = tables[1].batches[0]
        .column_by_name("email")
        .unwrap()
        .as_dictionary::<arrow::datatypes::Int32Type>();
    let emails: Vec<Option<&str>> = emails
        .downcast_dict::<arrow::array::StringArray>()
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(emails, [Some("ana@acme.example"), None]);
    let dictionary = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let field = |name: &str| tables[0].schema.field_with_name(name).unwrap().data_type().clone();
    assert_eq!(field("author_email"), dictionary);
    assert_eq!(
        field("approver_emails"),
        DataType::List(std::sync::Arc::new(arrow::datatypes::Field::new(
            "item",
            dictionary.clone(),
            true
        )))
    );
    assert_eq!(field("title"), DataType::Utf8);
    // A list's items key into the table's one dictionary of that column, each row's items once,
    // in order; a row without approvers is an empty list.
    let approvers: Vec<_> = tables[0]
        .batches
        .iter()
        .map(|b| b.column_by_name("approver_emails").unwrap().as_list::<i32>().clone())
        .collect();
    let first = approvers[0]
        .values()
        .as_dictionary::<arrow::datatypes::Int32Type>()
        .values()
        .clone();
    let lists: Vec<Vec<&str>> = approvers
        .iter()
        .map(|l| {
            let items = l.values().as_dictionary::<arrow::datatypes::Int32Type>();
            assert!(items.values().to_data().ptr_eq(&first.to_data()));
            let text = items.values().as_string::<i32>();
            items.keys().iter().map(|k| text.value(k.unwrap() as usize)).collect()
        })
        .collect();
    assert_eq!(
        lists,
        [
            vec!["bo@acme.example"],
            vec!["ana@acme.example"],
            vec![],
            vec!["bo@acme.example"],
            vec!["ana@acme.example"]
        ]
    );
    // Every batch keys into the same values, each address once.
    let authors: Vec<_> = tables[0]
        .batches
        .iter()
        .map(|b| {
            b.column_by_name("author_email")
                .unwrap()
                .as_dictionary::<arrow::datatypes::Int32Type>()
                .clone()
        })
        .collect();
    let values = authors[0].values();
    assert!(authors.iter().all(|a| a.values().to_data().ptr_eq(&values.to_data())));
    let written: Vec<&str> = values.as_string::<i32>().iter().flatten().collect();
    assert_eq!(written, ["ana@acme.example", "bo@acme.example"]);
    let rows: Vec<Option<&str>> = authors
        .iter()
        .map(|a| a.is_valid(0).then(|| written[a.keys().value(0) as usize]))
        .collect();
    assert_eq!(
        rows,
        [
            Some("ana@acme.example"),
            Some("ana@acme.example"),
            Some("bo@acme.example"),
            Some("bo@acme.example"),
            Some("ana@acme.example")
        ]
    );
    // SQL: compared with text, with a list's items and with itself; returned as an item's id.
    let spec = TestSpec {
        id: "by-author".into(),
        sql: "SELECT author_email AS item,
                CASE WHEN array_has(approver_emails, author_email) THEN 'fail' ELSE 'pass' END AS status,
                'author ' || author_email || ' of ' || string_agg(change_id, ',' ORDER BY change_id) AS reason
              FROM changes c
              WHERE author_email <> 'nobody@acme.example'
                AND author_email IN (SELECT d.author_email FROM changes d JOIN changes e ON d.author_email = e.author_email)
              GROUP BY author_email, approver_emails"
            .into(),
        params: BTreeMap::new(),
    };
    let run = assure_engine::run_batches(&tables, &[spec], &window(), &mut |_, _| {});
    assert!(run.diagnostics.is_empty(), "{:#?}", run.diagnostics);
    assert_eq!(
        render_result(&run, "by-author"),
        "population 4, exceptions 2, not applicable 0
pass ana@acme.example: author ana@acme.example of C1
FAIL ana@acme.example: author ana@acme.example of C2,C5
pass bo@acme.example: author bo@acme.example of C3
FAIL bo@acme.example: author bo@acme.example of C4
"
    );
}

/// Whether a change had an approver other than its author, on lists as identity resolution leaves
/// them (each person once): the author beside another approver is approved; the author under two
/// addresses, or in another case, is the author alone; an empty list is no approval. The same rule
/// in the emergency test.
#[test]
fn an_approver_list_holding_the_author_counts_only_the_other_people() {
    let mut ids = assure_engine::Identities::default();
    ids.add("ana@acme.example", &[]);
    ids.add("bo@acme.example", &[]);
    ids.add("cy@acme.example", &[]);
    let changes = crate::fixture::csv(
        "changes",
        "change_id,system,title,author_email,approver_emails,created_at,approved_at,merged_at,deployed_at,emergency
C1,api,author and another,ana@acme.example,ana@acme.example;bo@acme.example,2026-03-01T09:00:00Z,2026-03-01T10:00:00Z,2026-03-01T11:00:00Z,,false
C2,api,author under two addresses,ana@acme.example,ana+gh@acme.example;ana@acme.example,2026-03-02T09:00:00Z,2026-03-02T10:00:00Z,2026-03-02T11:00:00Z,,false
C3,api,author in capitals,ANA@acme.example,ana@acme.example,2026-03-03T09:00:00Z,2026-03-03T10:00:00Z,2026-03-03T11:00:00Z,,false
C4,api,one other person twice,ana@acme.example,bo@acme.example;BO+gh@acme.example,2026-03-04T09:00:00Z,2026-03-04T10:00:00Z,2026-03-04T11:00:00Z,,false
C5,api,no approval,ana@acme.example,,2026-03-05T09:00:00Z,,2026-03-05T11:00:00Z,,false
C6,api,author between two others,bo@acme.example,cy@acme.example;bo@acme.example;ana@acme.example,2026-03-06T09:00:00Z,2026-03-06T10:00:00Z,2026-03-06T11:00:00Z,,false
E1,api,emergency and the author alone,ana@acme.example,ana+gh@acme.example,2026-03-09T09:00:00Z,2026-03-10T10:00:00Z,2026-03-09T11:00:00Z,2026-03-09T12:00:00Z,true
E2,api,emergency and another,ana@acme.example,ana@acme.example;cy@acme.example,2026-03-09T09:00:00Z,2026-03-10T10:00:00Z,2026-03-09T11:00:00Z,2026-03-09T12:00:00Z,true
",
    );
    let mut tables = vec![assure_engine::TableBatches::from_rows(&changes).unwrap()];
    assert!(ids.resolve_batches(&mut tables, &[]).unwrap().unresolved.is_empty());
    let specs: Vec<TestSpec> = specs()
        .into_iter()
        .filter(|s| s.id == "changes-peer-approved" || s.id == "emergency-changes-approved-afterwards")
        .collect();
    let run = assure_engine::run_batches(&tables, &specs, &window(), &mut |_, _| {});
    assert!(run.diagnostics.is_empty(), "{:#?}", run.diagnostics);
    let out = format!(
        "{}{}",
        render_result(&run, "changes-peer-approved"),
        render_result(&run, "emergency-changes-approved-afterwards")
    );
    assert_eq!(
        out,
        "population 6, exceptions 3, not applicable 0
pass api#C1: approved by another engineer before merge
FAIL api#C2: approved only by its author ana@acme.example
FAIL api#C3: approved only by its author ana@acme.example
pass api#C4: approved by another engineer before merge
FAIL api#C5: merged without any approval
pass api#C6: approved by another engineer before merge
population 2, exceptions 1, not applicable 0
FAIL api#E1: emergency change never approved by a second person
pass api#E2: approved after the fact within the deadline
"
    );
}

#[test]
fn a_run_keeping_what_is_recorded_has_the_same_population_in_columns_and_only_its_exceptions_as_items() {
    // Every standard test over the fixture, each table's rows in two files so items point into
    // several, run keeping every item and keeping only what a run records.
    let mut tables = crate::fixture::tables();
    for t in &mut tables {
        for (k, row) in t.rows.iter_mut().enumerate() {
            // Alternate rows in two files, the first seen last in hash order.
            row.evidence = format!("{}-{}", if k % 2 == 0 { "z" } else { "a" }, t.name);
        }
    }
    let typed: Vec<assure_engine::TableBatches> = tables
        .iter()
        .map(|t| assure_engine::TableBatches::from_rows(t).unwrap())
        .collect();
    let specs = specs();
    let mut every = Vec::new();
    let mut recorded = Vec::new();
    for (detail, into) in [
        (assure_engine::Detail::Everything, &mut every),
        (assure_engine::Detail::Recorded, &mut recorded),
    ] {
        let diagnostics =
            assure_engine::run_each(&typed, &specs, &window(), detail, &mut |_, _| {}, &mut |r| into.push(r));
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    }
    assert_eq!(every.len(), specs.len());
    let mut with_passes = 0;
    let mut two_files = 0;
    for (e, r) in every.iter().zip(&recorded) {
        // The same population, item for item, in the same order.
        assert_eq!(e.rows, r.rows, "{}", e.id);
        assert_eq!(
            (e.population, e.failed, e.not_applicable, &e.files),
            (r.population, r.failed, r.not_applicable, &r.files)
        );
        let ids: Vec<&str> = e.rows.ids.iter().map(|i| i.unwrap_or_default()).collect();
        assert_eq!(
            ids,
            e.items.iter().map(|i| i.item.as_str()).collect::<Vec<_>>(),
            "{}",
            e.id
        );
        assert_eq!(e.rows.status, e.items.iter().map(|i| i.status).collect::<Vec<_>>());
        let lineage: Vec<Option<(u32, u64)>> = e
            .rows
            .file
            .iter()
            .zip(&e.rows.row)
            .map(|(f, r)| f.checked_sub(1).map(|f| (f, *r)))
            .collect();
        assert_eq!(lineage, e.items.iter().map(|i| i.from).collect::<Vec<_>>());
        // Sorted by id, then status and reason.
        assert!(
            e.items
                .is_sorted_by(|a, b| (&a.item, a.status, &a.reason) <= (&b.item, b.status, &b.reason)),
            "{}",
            e.id
        );
        // Recorded: only the items that did not pass, whole, in the same order.
        let not_passing: Vec<&assure_engine::Item> = e.items.iter().filter(|i| i.status != Status::Pass).collect();
        assert_eq!(r.items.iter().collect::<Vec<_>>(), not_passing, "{}", e.id);
        with_passes += usize::from(r.items.len() < r.population);
        two_files += usize::from(r.files.len() == 2);
    }
    assert!(with_passes > 10, "only {with_passes} tests had passing items");
    assert!(two_files > 5, "only {two_files} tests read items from two files");
}

#[test]
fn items_are_sorted_by_id_as_text_whatever_start_they_share() {
    // Ids sharing a long start, differing within and after the 8 bytes that follow it, one the
    // start itself, one a prefix of others, one missing (written as empty text), and one id twice.
    let sql = "SELECT column1 AS item, column2 AS status, 'r' AS reason FROM (VALUES \
        ('sys#PR-123456789b', 'pass'), ('sys#PR-123456789a', 'fail'), ('sys#PR-1', 'fail'), \
        ('sys#PR-12345678', 'pass'), ('sys#PR-2', 'pass'), ('sys#PR-1', 'pass'), ('sys#PR-10', 'pass'), \
        ('sys#PR-', 'pass'), (NULL, 'not_applicable'), ('sys#PR-12345677zz', 'pass'))";
    let spec = TestSpec {
        id: "t".into(),
        sql: sql.into(),
        params: BTreeMap::new(),
    };
    for detail in [assure_engine::Detail::Everything, assure_engine::Detail::Recorded] {
        let mut results = Vec::new();
        let diagnostics = assure_engine::run_each(
            &[],
            std::slice::from_ref(&spec),
            &window(),
            detail,
            &mut |_, _| {},
            &mut |r| results.push(r),
        );
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        let r = &results[0];
        let sorted: Vec<String> = r
            .rows
            .ids
            .iter()
            .zip(&r.rows.status)
            .map(|(i, s)| format!("{} {}", i.unwrap_or("?"), s.as_str()))
            .collect();
        assert_eq!(
            sorted,
            [
                " not_applicable",
                "sys#PR- pass",
                "sys#PR-1 pass",
                "sys#PR-1 fail",
                "sys#PR-10 pass",
                "sys#PR-12345677zz pass",
                "sys#PR-12345678 pass",
                "sys#PR-123456789a fail",
                "sys#PR-123456789b pass",
                "sys#PR-2 pass"
            ]
        );
        let kept: Vec<&str> = r.items.iter().map(|i| i.item.as_str()).collect();
        match detail {
            assure_engine::Detail::Everything => assert_eq!(kept.len(), 10),
            assure_engine::Detail::Recorded => assert_eq!(kept, ["", "sys#PR-1", "sys#PR-123456789a"]),
        }
    }
}

#[test]
fn thousands_of_ids_in_several_systems_sort_as_their_text_does() {
    // Ids of three systems (one system's name the start of another's), numbers of every length,
    // some with a letter after, and groups of one id many times with different statuses.
    let sql = "SELECT CASE WHEN k % 11 = 0 THEN 'dup#' || CAST(k % 3 AS VARCHAR) \
                 ELSE CASE k % 3 WHEN 0 THEN 'platform' WHEN 1 THEN 'web' ELSE 'platform-data' END \
                   || '#PR-' || CAST((k * 7919) % 100003 AS VARCHAR) || CASE WHEN k % 5 = 0 THEN 'x' ELSE '' END END AS item, \
               CASE WHEN k % 7 = 0 THEN 'fail' WHEN k % 13 = 0 THEN 'not_applicable' ELSE 'pass' END AS status, \
               'r' AS reason \
               FROM (SELECT value AS k FROM generate_series(1, 20000))";
    let spec = TestSpec {
        id: "t".into(),
        sql: sql.into(),
        params: BTreeMap::new(),
    };
    let mut results = Vec::new();
    let diagnostics = assure_engine::run_each(
        &[],
        std::slice::from_ref(&spec),
        &window(),
        assure_engine::Detail::Recorded,
        &mut |_, _| {},
        &mut |r| results.push(r),
    );
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let got: Vec<(String, Status)> = results[0]
        .rows
        .ids
        .iter()
        .zip(&results[0].rows.status)
        .map(|(i, s)| (i.unwrap_or_default().to_string(), *s))
        .collect();
    let mut expected = got.clone();
    expected.sort();
    assert_eq!(got.len(), 20_000);
    assert!(got == expected, "not in the order of the ids' text");
    assert!(got.iter().filter(|(i, _)| i.starts_with("dup#")).count() > 1_000);
}
