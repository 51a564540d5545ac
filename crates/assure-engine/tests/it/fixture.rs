//! A small company with planted exceptions, one for each standard test, written as canonical CSV
//! and read through the same connector code as a real import.

use assure_engine::{Identities, Row, TableData, Window, project_policies};
use assure_evidence::read::{Format, read_rows};
use assure_evidence::tables::table;
use chrono::NaiveDate;

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub fn window() -> Window {
    Window {
        period_start: date("2026-01-01"),
        period_end: date("2026-06-30"),
        as_of: date("2026-07-15"),
    }
}

pub fn csv(name: &str, text: &str) -> TableData {
    let t = table(name).unwrap();
    let mut data = TableData::for_table(t);
    let mut rows = Vec::new();
    let mut emit = |line: u64, values: Vec<Option<String>>| {
        rows.push(Row {
            values,
            source: "canonical-csv".into(),
            evidence: format!("fixture-{name}"),
            row: line,
        })
    };
    let label = format!("{name}.csv");
    let out = read_rows(text.as_bytes(), Format::Csv, t, &label, Some(&mut emit));
    assert!(out.problems.is_empty(), "{name}: {:?}", out.problems);
    data.rows = rows;
    data
}

const PEOPLE: &str = "person_id,email,name,worker_type,hire_date,termination_date
E1,ana@acme.example,Ana,employee,2024-01-10,
E2,bo@acme.example,Bo,employee,2026-02-02,
E3,cy@acme.example,Cy,contractor,2025-06-01,2026-03-06
E4,di@acme.example,Di,employee,2023-05-01,2026-04-15
E5,ed@acme.example,Ed,employee,2026-06-20,
E6,fay@acme.example,Fay,intern,2026-03-01,
E7,gus@acme.example,Gus,employee,2026-06-29,2026-06-30
E8,hal@acme.example,Hal,employee,2022-01-01,
E9,ivy@acme.example,Ivy,employee,2024-09-01,2026-05-14
";

const ACCOUNTS: &str = "system,account_id,email,kind,role,privileged,mfa_enabled,status,created_at,deprovisioned_at
okta,00u1,ana@acme.example,human,engineer,false,true,active,2024-01-10T09:00:00Z,
okta,00u2,bo@acme.example,human,analyst,false,true,active,2026-02-02T09:00:00Z,
okta,00u3,cy@acme.example,human,contractor,false,true,deprovisioned,2025-06-01T09:00:00Z,2026-03-09T17:00:00Z
github,cy-gh,cy@acme.example,human,write,false,true,active,2025-06-01T09:00:00Z,
okta,00u4,di@acme.example,human,engineer,false,true,deprovisioned,2023-05-01T09:00:00Z,2026-04-17T09:00:00Z
okta,00u7,gus@acme.example,human,engineer,false,true,deprovisioned,2026-06-29T09:00:00Z,2026-06-30T18:00:00Z
okta,00u9,zed@acme.example,human,engineer,false,false,active,2025-01-01T09:00:00Z,
aws-prod,ana-admin,ana@acme.example,human,admin,true,,active,2024-02-01T09:00:00Z,
aws-prod,deploy-bot,,service,deployer,true,,active,2024-02-01T09:00:00Z,
github,bo-gh,,human,write,false,true,active,2026-02-03T09:00:00Z,
okta,00u8,hal@acme.example,human,engineer,false,true,active,2022-01-01T09:00:00Z,
okta,00u6,fay@acme.example,human,intern,false,true,active,2026-03-01T09:00:00Z,
okta,00u10,ivy@acme.example,human,engineer,false,true,deprovisioned,2024-09-01T09:00:00Z,2026-05-15T21:30:00-05:00
";

const ACCESS_REQUESTS: &str = "request_id,system,email,role,requested_at,approver_email,approved_at,granted_at
R1,okta,bo@acme.example,analyst,2026-02-01T09:00:00Z,ana@acme.example,2026-02-01T10:00:00Z,2026-02-02T09:00:00Z
R2,aws-prod,bo@acme.example,readonly,2026-03-01T09:00:00Z,,,2026-03-02T09:00:00Z
R3,github,ana@acme.example,admin,2026-04-01T09:00:00Z,ana@acme.example,2026-04-01T10:00:00Z,2026-04-01T11:00:00Z
R4,okta,fay@acme.example,intern,2026-03-01T09:00:00Z,ana@acme.example,2026-03-03T09:00:00Z,2026-03-02T09:00:00Z
R5,okta,old@acme.example,analyst,2025-12-31T23:00:00Z,,,
R6,github,bo@acme.example,write,2026-05-01T09:00:00Z,ana@acme.example,2026-05-01T10:00:00Z,2026-05-01T11:00:00Z
";

const ACCESS_REVIEWS: &str =
    "review_id,system,period_start,period_end,reviewer_email,completed_at,accounts_reviewed,accounts_removed
AR1,okta,2026-01-01,2026-03-31,ana@acme.example,2026-04-05T10:00:00Z,9,1
AR2,okta,2026-04-01,2026-06-30,ana@acme.example,2026-07-02T10:00:00Z,9,0
AR3,github,2026-01-01,2026-03-31,ana@acme.example,2026-04-03T10:00:00Z,2,0
AR4,aws-prod,2026-01-01,2026-03-31,di@acme.example,,2,0
AR5,aws-prod,2026-04-01,2026-06-30,ana@acme.example,2026-07-10T10:00:00Z,2,0
";

const CHANGES: &str = "change_id,system,title,author_email,approver_emails,created_at,approved_at,merged_at,deployed_at,tests_passed,emergency,ticket_id
C1,api,feature,ana@acme.example,bo@acme.example,2026-02-09T09:00:00Z,2026-02-10T09:00:00Z,2026-02-10T10:00:00Z,2026-02-10T11:00:00Z,true,false,ENG-1
C2,api,fix,bo@acme.example,bo+gh@acme.example,2026-03-09T09:00:00Z,2026-03-10T09:00:00Z,2026-03-10T10:00:00Z,2026-03-10T11:00:00Z,true,false,#22
C3,api,refactor,cy@acme.example,,2026-03-01T09:00:00Z,,2026-03-02T10:00:00Z,2026-03-02T11:00:00Z,true,false,
C4,infra,MINOR: rename a variable,ana@acme.example,di@acme.example,2026-04-01T09:00:00Z,2026-04-03T09:00:00Z,2026-04-02T10:00:00Z,2026-04-02T11:00:00Z,true,false,
C5,api,risky,ana@acme.example,bo@acme.example,2026-05-01T09:00:00Z,2026-05-01T10:00:00Z,2026-05-01T11:00:00Z,2026-05-01T12:00:00Z,false,false,ENG-5
C6,api,hotfix,di@acme.example,ana@acme.example,2026-05-08T20:00:00Z,2026-05-12T15:00:00Z,2026-05-08T21:00:00Z,2026-05-08T22:00:00Z,true,true,INC-1
C7,api,hotfix2,ana@acme.example,,2026-06-10T20:00:00Z,,2026-06-10T21:00:00Z,2026-06-10T22:00:00Z,true,true,
C8,api,later,ana@acme.example,bo@acme.example,2026-07-09T09:00:00Z,2026-07-09T10:00:00Z,2026-07-10T10:00:00Z,,true,false,ENG-8
C9,api,new year,ana@acme.example,bo@acme.example,2025-12-31T09:00:00Z,2025-12-31T10:00:00Z,2026-01-01T00:00:00Z,,true,false,ENG-9
";

const VULNERABILITIES: &str = "finding_id,asset_id,source,cve,severity,detected_at,remediated_at,status
V1,db-orders,trivy,CVE-2026-0001,critical,2026-01-10T09:00:00Z,2026-01-15T09:00:00Z,remediated
V2,api,trivy,CVE-2026-0002,critical,2026-02-01T09:00:00Z,2026-02-20T09:00:00Z,remediated
V3,api,trivy,CVE-2026-0003,high,2026-06-25T09:00:00Z,,open
V4,api,trivy,CVE-2026-0004,high,2026-03-01T09:00:00Z,,open
V5,api,pentest-2026,,high,2026-03-01T09:00:00Z,,risk_accepted
V6,api,trivy,CVE-2026-0006,medium,2026-01-05T09:00:00Z,2026-05-01T09:00:00Z,remediated
V7,api,trivy,CVE-2026-0007,medium,2026-04-01T09:00:00Z,,open
";

const DEVICES: &str =
    "device_id,source,name,owner_email,platform,os_version,encrypted,screen_lock,compliant,profiles,status
D1,jamf,ana-mbp,ana@acme.example,macos,15.1,true,,,Security - Screen Saver Lock;FileVault,active
D2,jamf,bo-mbp,bo@acme.example,macos,14.7,false,true,,,active
D3,intune,ed-lt,ED@acme.example,windows,10.0.22631,true,,true,,active
D4,kandji,fay-mba,fay@acme.example,macos,15.0,,,,blueprint: Interns,
D5,jamf,di-old,di@acme.example,macos,13.6,false,false,,,active
D6,jamf,spare,,macos,12.7,false,false,,,retired
D7,jamf,ana-iphone,ana@acme.example,ios,18.1,true,false,,,active
";

const ASSETS: &str =
    "asset_id,asset_type,name,environment,data_classification,encrypted_at_rest,backup_enabled,logging_enabled
db-orders,database,orders,production,confidential,true,true,true
s3-exports,bucket,exports,production,confidential,false,true,false
vol-cache,volume,cache,production,internal,true,false,true
laptop-ana,laptop,ana's laptop,corporate,confidential,true,,
";

fn backups() -> String {
    let mut s = String::from("asset_id,started_at,finished_at,status\n");
    for d in date("2026-01-01").iter_days().take_while(|d| *d <= date("2026-07-15")) {
        for asset in ["db-orders", "s3-exports"] {
            let status = if asset == "db-orders" && d == date("2026-03-15") {
                "failed"
            } else {
                "success"
            };
            if asset == "db-orders" && d == date("2026-06-30") {
                continue;
            }
            s.push_str(&format!("{asset},{d}T02:00:00Z,{d}T02:30:00Z,{status}\n"));
        }
    }
    s
}

const RESTORE_TESTS: &str = "asset_id,tested_at,succeeded,rto_minutes
db-orders,2026-05-01T10:00:00Z,true,42
s3-exports,2025-05-01T10:00:00Z,true,30
s3-exports,2026-05-02T10:00:00Z,false,
";

const TRAININGS: &str = "email,course,completed_at
ana@acme.example,security-awareness,2026-03-01T10:00:00Z
bo@acme.example,security-awareness,2026-03-20T10:00:00Z
fay@acme.example,security-awareness,2026-03-10T10:00:00Z
hal@acme.example,secure-coding,2026-03-10T10:00:00Z
";

const BACKGROUND_CHECKS: &str = "email,completed_at,result
bo@acme.example,2026-01-28T10:00:00Z,clear
fay@acme.example,2026-03-20T10:00:00Z,clear
gus@acme.example,2026-06-29T10:00:00Z,clear
";

const POLICY_ACCEPTANCES: &str = "email,policy_id,policy_version,accepted_at
ana@acme.example,acceptable-use,1.0,2026-01-20T10:00:00Z
ana@acme.example,information-security,2.0,2026-06-02T10:00:00Z
bo@acme.example,acceptable-use,1.0,2026-02-03T10:00:00Z
bo@acme.example,information-security,1.0,2026-02-03T10:00:00Z
hal@acme.example,acceptable-use,1.0,2026-01-20T10:00:00Z
hal@acme.example,information-security,2.0,2026-06-05T10:00:00Z
";

const INCIDENTS: &str = "incident_id,severity,category,detected_at,resolved_at,postmortem_at,customer_impact
I1,sev1,security,2026-02-01T10:00:00Z,2026-02-02T10:00:00Z,2026-02-10T10:00:00Z,true
I2,sev2,,2026-03-01T10:00:00Z,2026-03-02T10:00:00Z,,false
I3,sev2,availability,2026-07-01T10:00:00Z,2026-07-05T10:00:00Z,,true
I4,sev3,other,2026-04-01T10:00:00Z,2026-04-01T12:00:00Z,,false
I5,sev1,availability,2026-06-28T10:00:00Z,,,true
";

// The last five columns come from a project's vendor register (its report reviews); an imported
// vendors table without them (aws, bank) is judged on the older columns alone.
const VENDORS: &str = "vendor_id,name,criticality,subservice,data_access,soc_report_type,soc_report_period_end,last_reviewed_at,soc_report_opinion,soc_report_covered_through,soc_report_reviewed_at,cuecs_unmapped,exceptions_unassessed
aws,Amazon Web Services,high,true,confidential,soc2-type2,2025-12-31,2026-02-01T10:00:00Z,,,,,
bank,First Lakes Bank,high,true,restricted,soc1-type2,2024-09-30,2025-11-01T10:00:00Z,,,,,
github,GitHub,high,false,confidential,soc2-type2,2025-09-30,2025-05-01T10:00:00Z,,,,,
checkr,Checkr,medium,false,restricted,soc2-type2,2025-12-31,,,,,,
bridged,Bridged Payroll,medium,true,restricted,soc1-type2,2024-12-31,2026-02-01T10:00:00Z,qualified,2025-12-31,2026-02-01T10:00:00Z,0,0
adverse,Adverse Hosting,medium,true,confidential,soc2-type2,2025-12-31,2026-03-01T10:00:00Z,adverse,2025-12-31,2026-03-01T10:00:00Z,0,0
unmapped,Unmapped Mail,medium,true,internal,soc2-type2,2025-12-31,2026-03-01T10:00:00Z,unmodified,2025-12-31,2026-03-01T10:00:00Z,2,0
unassessed,Unassessed Storage,medium,true,internal,soc2-type2,2025-12-31,2026-03-01T10:00:00Z,unmodified,2025-12-31,2026-03-01T10:00:00Z,0,1
unreviewed,Unreviewed Queue,medium,true,internal,soc2-type2,2025-12-31,,unmodified,2025-12-31,,0,0
";

const RISKS: &str = "risk_id,title,likelihood,impact,treatment,last_reviewed_at
R1,Account takeover,3,5,mitigate,2026-04-01T10:00:00Z
R2,Vendor outage,2,4,transfer,2025-11-01T10:00:00Z
R3,Insider misuse,1,5,mitigate,
";

const EVENTS: &str = "event_id,occurred_at,source,actor,action,raw_action,target,outcome,mfa,source_ip
EV1,2026-02-01T10:00:00Z,cloudtrail,ana-admin,console_login,ConsoleLogin,,success,true,203.0.113.5
EV2,2026-03-05T03:00:00Z,cloudtrail,root,console_login,ConsoleLogin,,success,false,198.51.100.7
EV3,2026-04-10T12:00:00Z,cloudtrail,ana-admin,stop_logging,StopLogging,org-trail,success,true,203.0.113.5
EV4,2026-04-11T12:00:00Z,cloudtrail,deploy-bot,stop_logging,StopLogging,org-trail,failure,,10.0.0.4
EV5,2026-08-01T12:00:00Z,cloudtrail,root,console_login,ConsoleLogin,,success,false,198.51.100.7
EV6,2026-05-02T10:00:00Z,okta,ana@acme.example,grant_privilege,user.account.privilege.grant,HAL@acme.example,success,,203.0.113.5
EV7,2026-05-01T11:00:00Z,github-audit,github:cy-gh,grant_access,repo.add_member,github:bo-gh,success,,
EV8,2026-03-01T09:30:00Z,okta,ana@acme.example,grant_access,application.user_membership.add,fay@acme.example,success,,203.0.113.5
";

pub fn tables() -> Vec<TableData> {
    let mut t = vec![
        csv("people", PEOPLE),
        csv("accounts", ACCOUNTS),
        csv("access_requests", ACCESS_REQUESTS),
        csv("access_reviews", ACCESS_REVIEWS),
        csv("changes", CHANGES),
        csv("vulnerabilities", VULNERABILITIES),
        csv("assets", ASSETS),
        csv("devices", DEVICES),
        csv("backups", &backups()),
        csv("restore_tests", RESTORE_TESTS),
        csv("trainings", TRAININGS),
        csv("background_checks", BACKGROUND_CHECKS),
        csv("policy_acceptances", POLICY_ACCEPTANCES),
        csv("incidents", INCIDENTS),
        csv("vendors", VENDORS),
        csv("risks", RISKS),
        csv("events", EVENTS),
    ];
    t.push(project_policies(&[
        (
            "acceptable-use".into(),
            "1.0".into(),
            Some(date("2026-01-15")),
            "all".into(),
        ),
        (
            "information-security".into(),
            "2.0".into(),
            Some(date("2026-06-01")),
            "all".into(),
        ),
    ]));
    let mut ids = Identities::default();
    for (email, aliases) in [
        ("ana@acme.example", vec![]),
        ("bo@acme.example", vec!["github:bo-gh".to_string()]),
        ("cy@acme.example", vec!["github:cy-gh".to_string()]),
        ("di@acme.example", vec![]),
        ("ed@acme.example", vec![]),
        ("fay@acme.example", vec![]),
        ("gus@acme.example", vec![]),
        ("hal@acme.example", vec![]),
        ("ivy@acme.example", vec![]),
    ] {
        ids.add(email, &aliases);
    }
    let unresolved = ids.apply(&mut t);
    let values: Vec<&str> = unresolved.iter().map(|u| u.value.as_str()).collect();
    assert_eq!(
        values,
        ["old@acme.example", "zed@acme.example"],
        "only the planted strangers stay unresolved"
    );
    t
}
