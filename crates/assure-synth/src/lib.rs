//! A generator of realistic synthetic evidence for one company over an audit window, written as
//! canonical CSV, with a known list of planted exceptions so a test run can be checked against it.
//! Deterministic for a seed; streams its output so very large companies fit in bounded memory.
//!
//! Pure: it produces text through a callback and never touches the disk or the clock.

#![warn(missing_docs)]

use std::fmt::Write as _;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Serialize;

/// A person the project already names (from `people.toml`), kept in the generated roster.
#[derive(Debug, Clone)]
pub struct Named {
    /// Work email.
    pub email: String,
    /// Full name.
    pub name: String,
    /// Job title.
    pub title: String,
    /// Aliases such as `github:login`.
    pub aliases: Vec<String>,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    /// The random seed.
    pub seed: u64,
    /// People on the roster, including the named ones.
    pub people: usize,
    /// The email domain.
    pub domain: String,
    /// People the project names.
    pub named: Vec<Named>,
    /// First day of the period.
    pub period_start: NaiveDate,
    /// Last day of the period.
    pub period_end: NaiveDate,
    /// Nothing is dated after this day.
    pub as_of: NaiveDate,
    /// Policies that apply to everyone: id, current version, approval date.
    pub policies: Vec<(String, String, NaiveDate)>,
    /// Vendors: id, name, criticality, subservice.
    pub vendors: Vec<(String, String, String, bool)>,
    /// Risk ids in the register.
    pub risks: Vec<String>,
    /// Merged changes per engineer per week.
    pub changes_per_engineer_week: f64,
    /// Audit-log events per person per day.
    pub events_per_person_day: f64,
    /// Whether to plant the exceptions.
    pub plant: bool,
}

/// An exception the generator planted on purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Planted {
    /// The test that must catch it.
    pub test: &'static str,
    /// The item the test reports.
    pub item: String,
    /// What was planted, in words.
    pub what: &'static str,
}

/// Receives generated CSV text: the table name and a chunk (the first chunk holds the header).
pub type Sink<'a> = dyn FnMut(&str, &str) + 'a;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }
}

struct Out<'a, 'b> {
    sink: &'a mut Sink<'b>,
    table: &'static str,
    buf: String,
}

impl<'a, 'b> Out<'a, 'b> {
    fn new(sink: &'a mut Sink<'b>, table: &'static str, header: &str) -> Out<'a, 'b> {
        let mut buf = String::with_capacity(1 << 20);
        buf.push_str(header);
        buf.push('\n');
        Out { sink, table, buf }
    }
    fn line(&mut self, args: std::fmt::Arguments<'_>) {
        let _ = self.buf.write_fmt(args);
        self.buf.push('\n');
        if self.buf.len() >= 1 << 20 {
            (self.sink)(self.table, &self.buf);
            self.buf.clear();
        }
    }
    fn finish(mut self) {
        if !self.buf.is_empty() {
            (self.sink)(self.table, &self.buf);
            self.buf.clear();
        }
    }
}

const FIRST: &[&str] = &[
    "alex", "bea", "carlos", "dina", "emil", "farah", "gwen", "hiro", "ines", "jonas", "kira", "luis", "mona", "nils",
    "olga", "pavel", "quinn", "rosa", "sven", "tara", "umar", "vera", "wen", "xavi", "yara", "zane",
];
const LAST: &[&str] = &[
    "adams", "bauer", "costa", "dubois", "evans", "fischer", "garcia", "haddad", "ito", "jansen", "kowalski", "lopez",
    "moreau", "novak", "okafor", "perez", "quist", "rossi", "schmidt", "tanaka", "ueda", "vogel", "weber", "xu",
    "young", "zimmer",
];

#[derive(Debug, Clone)]
struct Person {
    id: String,
    email: String,
    name: String,
    title: String,
    hire: NaiveDate,
    term: Option<NaiveDate>,
    engineer: bool,
    admin: bool,
    login: String,
}

fn add_days(d: NaiveDate, n: i64) -> NaiveDate {
    if n >= 0 {
        d.checked_add_days(Days::new(n as u64)).unwrap_or(d)
    } else {
        d.checked_sub_days(Days::new((-n) as u64)).unwrap_or(d)
    }
}

fn business_days_after(d: NaiveDate, n: u32) -> NaiveDate {
    let mut day = d;
    let mut left = n;
    while left > 0 {
        day = add_days(day, 1);
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    day
}

fn ts(d: NaiveDate, h: u32, m: u32) -> String {
    format!("{d}T{h:02}:{m:02}:00Z")
}

/// Generates every canonical table and returns the planted exceptions, sorted by test and item.
pub fn generate(cfg: &Config, sink: &mut Sink<'_>) -> Vec<Planted> {
    let mut rng = Rng(cfg.seed.max(1) ^ 0x9e37_79b9_7f4a_7c15);
    let mut planted = Vec::new();
    let span = (cfg.as_of.min(cfg.period_end) - cfg.period_start).num_days().max(1);
    let in_period = |rng: &mut Rng| add_days(cfg.period_start, rng.below(span as u64) as i64);

    // ---- people ----
    let mut people: Vec<Person> = Vec::with_capacity(cfg.people);
    for (i, n) in cfg.named.iter().enumerate() {
        let login = n.aliases.iter().find_map(|a| a.strip_prefix("github:")).map_or_else(
            || n.email.split('@').next().unwrap_or("user").to_string(),
            str::to_string,
        );
        let engineer = n.title.to_lowercase().contains("engineer")
            || n.title.contains("CTO")
            || n.title.to_lowercase().contains("platform")
            || n.title.to_lowercase().contains("security")
            || n.title.to_lowercase().contains("technology");
        people.push(Person {
            id: format!("E{:05}", i + 1),
            email: n.email.clone(),
            name: n.name.clone(),
            title: n.title.clone(),
            hire: add_days(cfg.period_start, -(400 + 37 * i as i64)),
            term: None,
            engineer,
            admin: engineer && i % 2 == 0,
            login,
        });
    }
    while people.len() < cfg.people.max(cfg.named.len() + 12) {
        let i = people.len();
        let f = FIRST[rng.below(FIRST.len() as u64) as usize];
        let l = LAST[rng.below(LAST.len() as u64) as usize];
        let email = format!("{f}.{l}{i}@{}", cfg.domain);
        let hired_in_period = rng.chance(0.12);
        let hire = if hired_in_period {
            in_period(&mut rng)
        } else {
            add_days(cfg.period_start, -(30 + rng.below(1800) as i64))
        };
        let term = if !hired_in_period && rng.chance(0.08) {
            let d = in_period(&mut rng);
            // Nobody leaves in the last week before the as-of date: their removal would not be due yet.
            (d < add_days(cfg.as_of, -7)).then_some(d)
        } else {
            None
        };
        let engineer = rng.chance(0.4);
        people.push(Person {
            id: format!("E{:05}", i + 1),
            name: format!(
                "{}{} {}{}",
                &f[..1].to_uppercase(),
                &f[1..],
                &l[..1].to_uppercase(),
                &l[1..]
            ),
            email,
            title: if engineer {
                "Software Engineer".into()
            } else {
                "Account Manager".into()
            },
            hire,
            term,
            engineer,
            admin: engineer && rng.chance(0.08),
            login: format!("{f}{l}{i}"),
        });
    }
    // Fixed roles for planted exceptions, chosen deterministically among generated people.
    let generated: Vec<usize> = (cfg.named.len()..people.len()).collect();
    let pick =
        |pred: &dyn Fn(&Person) -> bool, skip: usize| generated.iter().copied().filter(|&i| pred(&people[i])).nth(skip);
    let leaver_kept = pick(&|p| p.term.is_some() && p.engineer, 0);
    let leaver_late = pick(&|p| p.term.is_some(), 1).filter(|i| Some(*i) != leaver_kept);
    let new_hires: Vec<usize> = generated
        .iter()
        .copied()
        .filter(|&i| {
            people[i].hire >= cfg.period_start && people[i].term.is_none() && add_days(people[i].hire, 40) < cfg.as_of
        })
        .collect();
    let late_check = new_hires.first().copied();
    let late_training = new_hires.get(1).copied();
    let no_annual = pick(&|p| p.term.is_none() && p.hire < add_days(cfg.as_of, -400), 3);
    let no_acceptance = pick(&|p| p.term.is_none() && p.hire < add_days(cfg.as_of, -60), 5);
    let no_mfa = pick(&|p| p.term.is_none() && !p.engineer, 2);

    {
        let mut o = Out::new(
            sink,
            "people",
            "person_id,email,name,title,department,manager_email,worker_type,hire_date,termination_date",
        );
        for p in &people {
            let dept = if p.engineer { "Engineering" } else { "Sales" };
            o.line(format_args!(
                "{},{},{},{},{dept},,employee,{},{}",
                p.id,
                p.email,
                p.name,
                p.title,
                p.hire,
                p.term.map(|d| d.to_string()).unwrap_or_default()
            ));
        }
        o.finish();
    }

    // ---- accounts ----
    {
        let mut o = Out::new(
            sink,
            "accounts",
            "system,account_id,email,kind,role,privileged,mfa_enabled,status,created_at,deprovisioned_at,last_login_at",
        );
        for (i, p) in people.iter().enumerate() {
            let created = ts(p.hire, 9, 0);
            let removal = |rng: &mut Rng, term: NaiveDate| -> NaiveDate {
                if Some(i) == leaver_late {
                    business_days_after(term, 3)
                } else {
                    add_days(term, i64::from(rng.chance(0.3)))
                }
            };
            let mfa = if Some(i) == no_mfa { "false" } else { "true" };
            match p.term {
                Some(t) => {
                    let r = removal(&mut rng, t);
                    o.line(format_args!(
                        "okta,00u{i:07},{},human,member,false,{mfa},deprovisioned,{created},{},",
                        p.email,
                        ts(r, 17, 30)
                    ));
                }
                None => o.line(format_args!(
                    "okta,00u{i:07},{},human,member,false,{mfa},active,{created},,{}",
                    p.email,
                    ts(add_days(cfg.as_of, -1), 8, 15)
                )),
            }
            if p.engineer {
                // For people the project names, the GitHub export carries only the login; their
                // `github:` alias in people.toml resolves it. Others have their verified email.
                let email = if i < cfg.named.len() { "" } else { p.email.as_str() };
                match p.term {
                    Some(t) if Some(i) != leaver_kept => {
                        let r = removal(&mut rng, t);
                        o.line(format_args!(
                            "github,{},{email},human,write,false,true,deprovisioned,{created},{},",
                            p.login,
                            ts(r, 17, 45)
                        ));
                    }
                    _ => o.line(format_args!(
                        "github,{},{email},human,write,false,true,active,{created},,",
                        p.login
                    )),
                }
            }
            if p.admin && p.term.is_none() {
                o.line(format_args!(
                    "aws-prod,{}-admin,{},human,AdministratorAccess,true,true,active,{created},,",
                    p.login, p.email
                ));
            }
        }
        if cfg.plant {
            o.line(format_args!(
                "okta,00u9999999,temp.contractor@{},human,member,false,true,active,{},,",
                cfg.domain,
                ts(cfg.period_start, 9, 0)
            ));
            o.line(format_args!(
                "aws-prod,break-glass,{},human,AdministratorAccess,true,,active,{},,",
                people.first().map_or("", |p| p.email.as_str()),
                ts(cfg.period_start, 9, 0)
            ));
        }
        o.line(format_args!(
            "aws-prod,deploy-bot,{},service,Deployer,true,,active,{},,",
            people.iter().find(|p| p.admin).map_or("", |p| p.email.as_str()),
            ts(add_days(cfg.period_start, -300), 9, 0)
        ));
        o.finish();
    }
    if let Some(i) = leaver_kept {
        planted.push(Planted {
            test: "terminated-access-removed",
            item: format!("{} @ github:{}", people[i].email, people[i].login),
            what: "a leaver's GitHub account was never removed",
        });
        planted.push(Planted {
            test: "orphan-accounts",
            item: format!("github:{}", people[i].login),
            what: "the same account has no active person behind it",
        });
    }
    if let Some(i) = leaver_late {
        planted.push(Planted {
            test: "terminated-access-removed",
            item: format!("{} @ okta:00u{i:07}", people[i].email),
            what: "access removed three business days late",
        });
        if people[i].engineer {
            planted.push(Planted {
                test: "terminated-access-removed",
                item: format!("{} @ github:{}", people[i].email, people[i].login),
                what: "access removed three business days late",
            });
        }
    }
    if cfg.plant {
        planted.push(Planted {
            test: "orphan-accounts",
            item: "okta:00u9999999".into(),
            what: "an account for someone not on the HR roster",
        });
        planted.push(Planted {
            test: "mfa-privileged-accounts",
            item: "aws-prod:break-glass".into(),
            what: "a privileged account whose MFA cannot be shown",
        });
    }
    if let Some(i) = no_mfa {
        planted.push(Planted {
            test: "mfa-all-human-accounts",
            item: format!("okta:00u{i:07}"),
            what: "an active account without MFA",
        });
    }

    // ---- access requests ----
    {
        let mut o = Out::new(
            sink,
            "access_requests",
            "request_id,system,email,role,requested_at,approver_email,approved_at,granted_at",
        );
        let approver = people.first().map_or(String::new(), |p| p.email.clone());
        let mut n = 0;
        for p in people.iter().filter(|p| p.hire >= cfg.period_start && p.engineer) {
            n += 1;
            let d = p.hire;
            o.line(format_args!(
                "REQ-{n},github,{},write,{},{approver},{},{}",
                p.email,
                ts(add_days(d, -2), 10, 0),
                ts(add_days(d, -1), 11, 0),
                ts(d, 9, 30)
            ));
        }
        // Administrators hired in the period request their production access like everyone else.
        for p in people
            .iter()
            .filter(|p| p.hire >= cfg.period_start && p.admin && p.term.is_none())
        {
            n += 1;
            let d = p.hire;
            let by = if p.email == approver {
                people.get(1).map_or(approver.as_str(), |x| x.email.as_str())
            } else {
                approver.as_str()
            };
            o.line(format_args!(
                "REQ-{n},aws-prod,{},AdministratorAccess,{},{by},{},{}",
                p.email,
                ts(add_days(d, -2), 10, 0),
                ts(add_days(d, -1), 11, 0),
                ts(d, 9, 30)
            ));
        }
        if cfg.plant {
            let d = add_days(cfg.period_start, 40);
            let a = people.get(cfg.named.len()).map_or("", |p| p.email.as_str());
            o.line(format_args!(
                "REQ-9001,aws-prod,{a},ReadOnly,{},,,{}",
                ts(d, 10, 0),
                ts(d, 15, 0)
            ));
            o.line(format_args!(
                "REQ-9002,aws-prod,{approver},AdministratorAccess,{},{approver},{},{}",
                ts(d, 10, 0),
                ts(d, 10, 5),
                ts(d, 10, 10)
            ));
            // A privilege added later to an existing account, requested and approved first: the grant
            // event (GRANT-2 in the log) traces to it and passes.
            let g = people.get(cfg.named.len() + 1).map_or("", |p| p.email.as_str());
            let d2 = add_days(cfg.period_start, 50);
            o.line(format_args!(
                "REQ-9003,okta,{g},Super Administrator,{},{approver},{},{}",
                ts(d2, 9, 0),
                ts(d2, 9, 30),
                ts(d2, 10, 0)
            ));
            planted.push(Planted {
                test: "access-approved-before-grant",
                item: "REQ-9001".into(),
                what: "access granted with no approval",
            });
            planted.push(Planted {
                test: "access-approved-before-grant",
                item: "REQ-9002".into(),
                what: "the requester approved their own access",
            });
            planted.push(Planted {
                test: "access-approved-before-grant",
                item: "aws-prod:break-glass".into(),
                what: "privileged access granted with no access request",
            });
        }
        o.finish();
    }

    // ---- access reviews ----
    {
        let mut o = Out::new(
            sink,
            "access_reviews",
            "review_id,system,period_start,period_end,reviewer_email,completed_at,accounts_reviewed,accounts_removed",
        );
        let reviewer = people.first().map_or(String::new(), |p| p.email.clone());
        let mut q = NaiveDate::from_ymd_opt(cfg.period_start.year(), ((cfg.period_start.month() - 1) / 3) * 3 + 1, 1)
            .unwrap_or(cfg.period_start);
        let mut n = 0;
        while q <= cfg.period_end {
            let next = q.checked_add_months(chrono::Months::new(3)).unwrap_or(q);
            let end = add_days(next, -1);
            let done = add_days(end, 6);
            for system in ["okta", "github", "aws-prod"] {
                n += 1;
                let skip = cfg.plant && system == "github" && n > 3 && n <= 6;
                if done <= cfg.as_of && !skip {
                    o.line(format_args!(
                        "AR-{n},{system},{q},{end},{reviewer},{},{},{}",
                        ts(done, 15, 0),
                        20 + rng.below(200),
                        rng.below(4)
                    ));
                } else if skip {
                    planted.push(Planted {
                        test: "access-reviews-quarterly",
                        item: format!("github {q}"),
                        what: "a quarterly review that was never done",
                    });
                }
            }
            q = next;
        }
        o.finish();
    }

    // ---- changes ----
    {
        let mut o = Out::new(
            sink,
            "changes",
            "change_id,system,title,author_email,approver_emails,created_at,approved_at,merged_at,deployed_at,tests_passed,emergency,ticket_id",
        );
        let engineers: Vec<&Person> = people.iter().filter(|p| p.engineer && p.term.is_none()).collect();
        let weeks = (span as f64 / 7.0).max(1.0);
        let count = ((engineers.len() as f64) * cfg.changes_per_engineer_week * weeks) as usize;
        for n in 0..count {
            let a = engineers[rng.below(engineers.len() as u64) as usize];
            let mut r = engineers[rng.below(engineers.len() as u64) as usize];
            if r.email == a.email {
                r = engineers[(engineers.iter().position(|e| e.email == a.email).unwrap_or(0) + 1) % engineers.len()];
            }
            let d = in_period(&mut rng);
            let h = 9 + rng.below(8) as u32;
            o.line(format_args!(
                "PR-{n},platform,change {n},{},{},{},{},{},{},true,false,ENG-{n}",
                a.email,
                r.email,
                ts(d, h, 0),
                ts(d, h, 30),
                ts(d, h, 45),
                ts(d, h + 1, 0)
            ));
        }
        let aliased = people.iter().take(cfg.named.len()).find(|p| {
            p.engineer
                && cfg
                    .named
                    .iter()
                    .any(|n| n.email == p.email && n.aliases.iter().any(|x| x.starts_with("github:")))
        });
        if cfg.plant
            && engineers.len() > 2
            && let Some(a) = aliased
        {
            let d = add_days(cfg.period_start, 50);
            // The approval comes from the author's own GitHub login: identity resolution sees through it.
            o.line(format_args!(
                "PR-9001,platform,hotfix config,{},github:{},{},{},{},{},true,false,ENG-9001",
                a.email,
                a.login,
                ts(d, 10, 0),
                ts(d, 10, 5),
                ts(d, 10, 10),
                ts(d, 10, 30)
            ));
            let other = engineers
                .iter()
                .find(|e| e.email != a.email)
                .map_or("", |e| e.email.as_str());
            o.line(format_args!(
                "PR-9002,platform,skip review,{other},,{},,{},{},true,false,ENG-9002",
                ts(d, 11, 0),
                ts(d, 11, 10),
                ts(d, 11, 30)
            ));
            o.line(format_args!(
                "PR-9003,platform,red build,{other},{},{},{},{},{},false,false,ENG-9003",
                a.email,
                ts(d, 12, 0),
                ts(d, 12, 5),
                ts(d, 12, 10),
                ts(d, 12, 30)
            ));
            let e = add_days(cfg.period_start, 70);
            let late = business_days_after(e, 5);
            o.line(format_args!(
                "PR-9004,platform,emergency fix,{},{other},{},{},{},{},true,true,INC-2",
                a.email,
                ts(e, 22, 0),
                ts(late, 10, 0),
                ts(e, 22, 10),
                ts(e, 22, 20)
            ));
            planted.push(Planted {
                test: "changes-peer-approved",
                item: "platform#PR-9001".into(),
                what: "approved only by the author's second identity",
            });
            planted.push(Planted {
                test: "changes-peer-approved",
                item: "platform#PR-9002".into(),
                what: "merged without any approval",
            });
            planted.push(Planted {
                test: "changes-tested-before-merge",
                item: "platform#PR-9003".into(),
                what: "merged with failing tests",
            });
            planted.push(Planted {
                test: "emergency-changes-approved-afterwards",
                item: "platform#PR-9004".into(),
                what: "emergency change approved five business days later",
            });
            // A change with no ticket (an exception), and a trivial one the policy exempts (a decoy:
            // listed as exempted, never an exception).
            let t = add_days(cfg.period_start, 90);
            for (id, title) in [
                ("PR-9005", "add upload retries"),
                ("PR-9006", "MINOR: fix a typo in a comment"),
            ] {
                o.line(format_args!(
                    "{id},platform,{title},{other},{},{},{},{},{},true,false,",
                    a.email,
                    ts(t, 9, 0),
                    ts(t, 9, 30),
                    ts(t, 9, 45),
                    ts(t, 10, 0)
                ));
            }
            planted.push(Planted {
                test: "changes-linked-to-ticket",
                item: "platform#PR-9005".into(),
                what: "merged without a ticket reference",
            });
        }
        o.finish();
    }

    // ---- assets, backups, restore tests, vulnerabilities ----
    let assets = [
        ("db-core", "database", "core-postgres", "confidential", true, true),
        (
            "db-analytics",
            "database",
            "analytics-clickhouse",
            "confidential",
            true,
            true,
        ),
        ("s3-uploads", "bucket", "customer-uploads", "confidential", true, true),
        (
            "s3-exports",
            "bucket",
            "report-exports",
            "confidential",
            !cfg.plant,
            true,
        ),
        ("eks-prod", "cluster", "eks-production", "internal", true, false),
    ];
    {
        let mut o = Out::new(
            sink,
            "assets",
            "asset_id,asset_type,name,owner_email,environment,data_classification,encrypted_at_rest,backup_enabled,logging_enabled,internet_facing",
        );
        let owner = people.iter().find(|p| p.admin).map_or("", |p| p.email.as_str());
        for (id, ty, name, class, enc, backup) in assets {
            o.line(format_args!(
                "{id},{ty},{name},{owner},production,{class},{enc},{backup},true,false"
            ));
        }
        o.finish();
    }
    if cfg.plant {
        planted.push(Planted {
            test: "confidential-assets-encrypted",
            item: "s3-exports".into(),
            what: "a confidential bucket without encryption at rest",
        });
    }
    {
        let mut o = Out::new(sink, "backups", "asset_id,started_at,finished_at,status");
        let missing = add_days(cfg.period_start, 100);
        for d in cfg
            .period_start
            .iter_days()
            .take_while(|d| *d <= cfg.as_of.min(cfg.period_end))
        {
            for (id, _, _, _, _, backup) in assets {
                if !backup {
                    continue;
                }
                if cfg.plant && id == "db-analytics" && d == missing {
                    o.line(format_args!("{id},{},{},failed", ts(d, 2, 0), ts(d, 2, 40)));
                    continue;
                }
                o.line(format_args!("{id},{},{},success", ts(d, 2, 0), ts(d, 2, 25)));
            }
        }
        o.finish();
        if cfg.plant && missing <= cfg.as_of.min(cfg.period_end) {
            planted.push(Planted {
                test: "backups-succeeded-daily",
                item: format!("db-analytics {missing}"),
                what: "a day whose backup failed",
            });
        }
    }
    {
        let mut o = Out::new(sink, "restore_tests", "asset_id,tested_at,succeeded,rto_minutes");
        for (id, _, _, _, _, backup) in assets {
            if backup && !(cfg.plant && id == "s3-uploads") {
                o.line(format_args!(
                    "{id},{},true,{}",
                    ts(add_days(cfg.as_of, -60), 14, 0),
                    20 + rng.below(60)
                ));
            }
        }
        o.line(format_args!(
            "s3-uploads,{},true,35",
            ts(add_days(cfg.as_of, -500), 14, 0)
        ));
        o.finish();
        if cfg.plant {
            planted.push(Planted {
                test: "restore-tested-annually",
                item: "s3-uploads".into(),
                what: "last restore test more than a year ago",
            });
        }
    }
    {
        let mut o = Out::new(
            sink,
            "vulnerabilities",
            "finding_id,asset_id,source,cve,severity,detected_at,remediated_at,status",
        );
        let n = (span / 3).max(10);
        for i in 0..n {
            let d = in_period(&mut rng);
            let (sev, days) = match rng.below(10) {
                0 => ("critical", 1 + rng.below(5)),
                1..=3 => ("high", 3 + rng.below(20)),
                4..=7 => ("medium", 10 + rng.below(60)),
                _ => ("low", 30 + rng.below(100)),
            };
            let fixed = add_days(d, days as i64);
            if fixed <= cfg.as_of {
                o.line(format_args!(
                    "VULN-{i},eks-prod,trivy,CVE-2026-{:05},{sev},{},{},remediated",
                    10000 + i,
                    ts(d, 6, 0),
                    ts(fixed, 16, 0)
                ));
            } else if sev == "low" || add_days(d, 6) > cfg.as_of {
                o.line(format_args!(
                    "VULN-{i},eks-prod,trivy,CVE-2026-{:05},{sev},{},,open",
                    10000 + i,
                    ts(d, 6, 0)
                ));
            }
        }
        if cfg.plant {
            let d = add_days(cfg.period_start, 30);
            o.line(format_args!(
                "VULN-9001,db-core,trivy,CVE-2026-99001,critical,{},{},remediated",
                ts(d, 6, 0),
                ts(add_days(d, 12), 16, 0)
            ));
            o.line(format_args!(
                "VULN-9002,eks-prod,trivy,CVE-2026-99002,medium,{},,open",
                ts(add_days(cfg.as_of, -120), 6, 0)
            ));
            planted.push(Planted {
                test: "vulnerabilities-critical-high-within-sla",
                item: "VULN-9001".into(),
                what: "a critical finding fixed after 12 days",
            });
            planted.push(Planted {
                test: "vulnerabilities-medium-within-sla",
                item: "VULN-9002".into(),
                what: "a medium finding open for 120 days",
            });
        }
        o.finish();
    }

    // ---- people controls ----
    {
        let mut o = Out::new(sink, "background_checks", "email,completed_at,result");
        for (i, p) in people.iter().enumerate() {
            let d = if Some(i) == late_check {
                add_days(p.hire, 20)
            } else {
                add_days(p.hire, -3)
            };
            if d <= cfg.as_of {
                o.line(format_args!("{},{},clear", p.email, ts(d, 12, 0)));
            }
        }
        o.finish();
        if let Some(i) = late_check {
            planted.push(Planted {
                test: "background-check-timely",
                item: people[i].email.clone(),
                what: "background check finished 20 days after the start date",
            });
        }
    }
    {
        let mut o = Out::new(sink, "trainings", "email,course,completed_at");
        for (i, p) in people.iter().enumerate() {
            let first = if Some(i) == late_training {
                add_days(p.hire, 45)
            } else {
                add_days(p.hire, 5 + rng.below(20) as i64)
            };
            if first <= cfg.as_of && p.hire >= add_days(cfg.as_of, -365) {
                o.line(format_args!("{},security-awareness,{}", p.email, ts(first, 11, 0)));
            }
            if p.hire < add_days(cfg.as_of, -365) && Some(i) != no_annual {
                let d = add_days(cfg.as_of, -(20 + rng.below(300) as i64));
                o.line(format_args!("{},security-awareness,{}", p.email, ts(d, 11, 0)));
            }
        }
        o.finish();
        if let Some(i) = late_training {
            planted.push(Planted {
                test: "training-within-30-days-of-hire",
                item: people[i].email.clone(),
                what: "security training 45 days after hire",
            });
        }
        if let Some(i) = no_annual {
            planted.push(Planted {
                test: "training-annual",
                item: people[i].email.clone(),
                what: "no security training in the last year",
            });
        }
    }
    {
        let mut o = Out::new(sink, "policy_acceptances", "email,policy_id,policy_version,accepted_at");
        for (i, p) in people.iter().enumerate() {
            if p.term.is_some_and(|t| t <= cfg.as_of) {
                continue;
            }
            for (pid, ver, approved) in &cfg.policies {
                if Some(i) == no_acceptance && pid == &cfg.policies[0].0 {
                    continue;
                }
                let d = add_days((*approved).max(p.hire), 1 + rng.below(14) as i64);
                if d <= cfg.as_of {
                    o.line(format_args!("{},{pid},{ver},{}", p.email, ts(d, 10, 0)));
                }
            }
        }
        o.finish();
        if let (Some(i), Some((pid, _, _))) = (no_acceptance, cfg.policies.first()) {
            planted.push(Planted {
                test: "policy-acceptance-current",
                item: format!("{} {pid}", people[i].email),
                what: "a current policy never accepted",
            });
        }
    }

    // ---- incidents, vendors, risks ----
    {
        let mut o = Out::new(
            sink,
            "incidents",
            "incident_id,severity,category,detected_at,resolved_at,postmortem_at,customer_impact",
        );
        for i in 1..=8 {
            let d = in_period(&mut rng);
            let sev = ["sev1", "sev2", "sev3", "sev4"][(i % 4) as usize];
            let resolved = add_days(d, 1);
            let pm = add_days(resolved, 5);
            let no_pm = cfg.plant && i == 1;
            let pm_text = if no_pm || pm > cfg.as_of {
                String::new()
            } else {
                ts(pm, 16, 0)
            };
            if resolved <= cfg.as_of {
                o.line(format_args!(
                    "INC-{i},{sev},availability,{},{},{pm_text},false",
                    ts(d, 3, 0),
                    ts(resolved, 9, 0)
                ));
                if no_pm && (sev == "sev1" || sev == "sev2") && add_days(resolved, 14) < cfg.as_of {
                    planted.push(Planted {
                        test: "incidents-resolved-with-postmortem",
                        item: format!("INC-{i}"),
                        what: "a sev2 incident closed without a postmortem",
                    });
                }
            }
        }
        o.finish();
    }
    {
        let mut o = Out::new(
            sink,
            "vendors",
            "vendor_id,name,criticality,subservice,data_access,soc_report_type,soc_report_period_end,last_reviewed_at",
        );
        for (id, name, crit, sub) in &cfg.vendors {
            o.line(format_args!(
                "{id},{name},{crit},{sub},confidential,soc2-type2,{},{}",
                add_days(cfg.as_of, -200),
                ts(add_days(cfg.as_of, -90), 10, 0)
            ));
        }
        o.finish();
    }
    {
        let mut o = Out::new(
            sink,
            "risks",
            "risk_id,title,likelihood,impact,owner_email,treatment,last_reviewed_at",
        );
        for (i, r) in cfg.risks.iter().enumerate() {
            let stale = cfg.plant && i + 1 == cfg.risks.len();
            let d = if stale {
                add_days(cfg.period_start, -40)
            } else {
                add_days(cfg.period_start, 30)
            };
            o.line(format_args!(
                "{r},Risk {r},{},{},,mitigate,{}",
                1 + rng.below(5),
                1 + rng.below(5),
                ts(d, 10, 0)
            ));
            if stale {
                planted.push(Planted {
                    test: "risk-register-reviewed",
                    item: r.clone(),
                    what: "a risk last reviewed before the period",
                });
            }
        }
        o.finish();
    }

    // ---- events ----
    {
        let mut o = Out::new(
            sink,
            "events",
            "event_id,occurred_at,source,actor,action,raw_action,target,outcome,mfa,source_ip",
        );
        let admins: Vec<&Person> = people.iter().filter(|p| p.admin && p.term.is_none()).collect();
        let days = span.max(1) as u64;
        let total = ((people.len() as f64) * cfg.events_per_person_day * days as f64) as u64;
        const ACTIONS: &[(&str, &str)] = &[
            ("read_object", "GetObject"),
            ("list_buckets", "ListBuckets"),
            ("assume_role", "AssumeRole"),
            ("describe_instances", "DescribeInstances"),
            ("put_object", "PutObject"),
        ];
        for n in 0..total {
            let d = add_days(cfg.period_start, (n * days / total.max(1)) as i64);
            let p = &people[rng.below(people.len() as u64) as usize];
            let (act, raw) = ACTIONS[rng.below(ACTIONS.len() as u64) as usize];
            o.line(format_args!(
                "EV{n},{},cloudtrail,{},{act},{raw},arn:aws:s3:::bucket-{},success,true,10.{}.{}.{}",
                ts(d, (n % 24) as u32, (n % 60) as u32),
                p.login,
                n % 7,
                n % 200,
                n % 250,
                n % 240
            ));
        }
        for (k, a) in admins.iter().enumerate() {
            let d = add_days(cfg.period_start, 3 + k as i64);
            o.line(format_args!(
                "LOGIN-{k},{},cloudtrail,{}-admin,console_login,ConsoleLogin,,success,true,203.0.113.{k}",
                ts(d, 9, 0),
                a.login
            ));
        }
        if cfg.plant {
            let d = add_days(cfg.period_start, 66);
            o.line(format_args!(
                "ROOT-1,{},cloudtrail,root,console_login,ConsoleLogin,,success,false,198.51.100.23",
                ts(d, 2, 13)
            ));
            o.line(format_args!(
                "TRAIL-1,{},cloudtrail,{}-admin,stop_logging,StopLogging,org-trail,success,true,203.0.113.9",
                ts(add_days(d, 1), 23, 40),
                admins.first().map_or("admin", |a| a.login.as_str())
            ));
            // Privileges added to existing accounts, from the identity provider's log: one nobody
            // requested (an exception) and one traced to its approved request REQ-9003 (a decoy).
            let actor = admins.first().map_or("admin", |a| a.login.as_str());
            let unrequested = people.get(cfg.named.len() + 2).map_or("", |p| p.email.as_str());
            let requested = people.get(cfg.named.len() + 1).map_or("", |p| p.email.as_str());
            o.line(format_args!(
                "GRANT-1,{},okta,{actor}-admin,grant_privilege,user.account.privilege.grant,{unrequested},success,true,203.0.113.9",
                ts(add_days(cfg.period_start, 70), 16, 5)
            ));
            o.line(format_args!(
                "GRANT-2,{},okta,{actor}-admin,grant_privilege,user.account.privilege.grant,{requested},success,true,203.0.113.9",
                ts(add_days(cfg.period_start, 50), 10, 0)
            ));
            planted.push(Planted {
                test: "access-approved-before-grant",
                item: "okta:GRANT-1".into(),
                what: "a privilege added to an existing account with no access request",
            });
            planted.push(Planted {
                test: "root-account-used",
                item: "ROOT-1".into(),
                what: "the root account signed in",
            });
            planted.push(Planted {
                test: "console-login-without-mfa",
                item: "ROOT-1".into(),
                what: "a console sign-in without MFA",
            });
            planted.push(Planted {
                test: "audit-logging-disabled",
                item: "TRAIL-1".into(),
                what: "audit logging was turned off",
            });
        }
        o.finish();
    }
    // ---- devices (the device manager's inventory at the as-of date) ----
    {
        let mut o = Out::new(
            sink,
            "devices",
            "device_id,source,name,serial_number,owner_email,platform,os_version,encrypted,screen_lock,compliant,profiles,last_seen_at,status",
        );
        let active = |p: &Person| p.hire <= cfg.as_of && p.term.is_none_or(|t| t > cfg.as_of);
        let actives: Vec<usize> = generated.iter().copied().filter(|&i| active(&people[i])).collect();
        // Planted: one laptop with FileVault off, one with the screen lock off, one person with no
        // managed device. Decoys: a leaver's retired laptop and a leaver's unencrypted laptop
        // (neither belongs to an active person), and a Windows laptop whose lock is proven by the
        // device manager's compliance verdict rather than a per-device field.
        let (unencrypted, unlocked, deviceless) = if cfg.plant {
            (
                actives.get(7).copied(),
                actives.get(11).copied(),
                actives.get(13).copied(),
            )
        } else {
            (None, None, None)
        };
        let seen = ts(add_days(cfg.as_of, -1), 8, 30);
        // Engineers and two in three others have a Mac under Jamf; the rest a Windows laptop under
        // Intune, which reports compliance rather than a screen-lock field.
        let is_mac = |k: usize| people[k].engineer || !k.is_multiple_of(3);
        let source_of = |k: usize| if is_mac(k) { "jamf" } else { "intune" };
        for (k, p) in people.iter().enumerate() {
            if !active(p) || Some(k) == deviceless {
                continue;
            }
            let mac = is_mac(k);
            let source = source_of(k);
            let (platform, version) = if mac {
                ("macos", ["15.1.1", "15.0.1", "14.7.1"][k % 3])
            } else {
                ("windows", "10.0.22631.4460")
            };
            let encrypted = Some(k) != unencrypted;
            let lock = if Some(k) == unlocked {
                "false"
            } else if mac {
                "true"
            } else {
                ""
            };
            o.line(format_args!(
                "D{k:05},{source},{}-laptop,SN{:08},{},{platform},{version},{encrypted},{lock},{},{},{seen},active",
                p.login,
                1_000_000 + rng.below(90_000_000),
                p.email,
                if mac { "" } else { "true" },
                if mac { "Security - Screen Saver and Lock" } else { "" },
            ));
            if k % 10 == 0 {
                o.line(format_args!(
                    "P{k:05},jamf,{}-iphone,SNP{:07},{},ios,18.1.1,true,true,,,{seen},active",
                    p.login,
                    rng.below(9_000_000),
                    p.email
                ));
            }
        }
        let leavers: Vec<&Person> = people
            .iter()
            .filter(|p| p.term.is_some_and(|t| t <= cfg.as_of))
            .take(2)
            .collect();
        for (k, p) in leavers.iter().enumerate() {
            let status = if k == 0 { "retired" } else { "active" };
            o.line(format_args!(
                "L{k:05},jamf,{}-old-laptop,SNL{k:07},{},macos,13.6.4,false,false,,,{},{status}",
                p.login,
                p.email,
                ts(p.term.unwrap_or(cfg.as_of), 17, 0)
            ));
        }
        o.finish();
        if let Some(k) = unencrypted {
            planted.push(Planted {
                test: "devices-encrypted",
                item: format!("{}:D{k:05}", source_of(k)),
                what: "a laptop with disk encryption off",
            });
        }
        if let Some(k) = unlocked {
            planted.push(Planted {
                test: "devices-screen-lock",
                item: format!("{}:D{k:05}", source_of(k)),
                what: "a laptop with the screen lock off",
            });
        }
        if let Some(k) = deviceless {
            for test in ["devices-encrypted", "devices-screen-lock"] {
                planted.push(Planted {
                    test,
                    item: people[k].email.clone(),
                    what: "an active person with no managed device",
                });
            }
        }
    }

    planted.sort_by(|a, b| (a.test, &a.item).cmp(&(b.test, &b.item)));
    planted.dedup();
    planted
}
