//! Scoping: from what the service does and who asks, to SOC 1 / SOC 2 / SOC 3, the categories,
//! Type 1 or Type 2, and a proposed period.
//!
//! The decision rules are the [`RULES`] table: each rule names its conclusion and returns, when it
//! fires, the answers that made it fire. Contradictory or missing answers are reported as
//! [`Problem`]s and no decision is made.

use std::collections::BTreeSet;
use std::fmt;

use assure_catalog::Category;
use assure_project::model::{ExamType, ReportKind};
use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// What the service does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// Payroll processing.
    Payroll,
    /// Billing or invoicing on customers' behalf.
    Billing,
    /// Payment or transaction processing.
    Payments,
    /// Feeding or integrating with customers' general ledger.
    GlIntegration,
    /// Investment management, custody or fund administration.
    FundAdmin,
    /// Software as a service.
    Saas,
    /// Cloud hosting or data center services.
    Hosting,
    /// Managed IT or security services.
    ManagedIt,
}

/// Kinds of data the service stores or transmits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataKind {
    /// Personal information about individuals.
    Personal,
    /// Health information.
    Health,
    /// Payment card or bank account data.
    Payment,
    /// Customers' confidential business data.
    Confidential,
}

/// Who asks for a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Requester {
    /// Customers' financial auditors and controllers.
    UserAuditors,
    /// Customers' procurement, vendor-risk and security teams.
    SecurityTeams,
}

/// Commitments made to customers in contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitmentKind {
    /// Uptime or availability.
    Uptime,
    /// Complete and accurate processing.
    ProcessingAccuracy,
    /// Keeping customer information confidential.
    Confidentiality,
    /// Handling personal information as promised.
    Privacy,
}

/// Regulations customers name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regulation {
    /// Sarbanes-Oxley (customers' ICFR).
    Sox,
    /// HIPAA.
    Hipaa,
    /// GDPR.
    Gdpr,
    /// CCPA / CPRA.
    Ccpa,
}

/// The answers to the scoping questions. `None` means not answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    /// What the service does.
    #[serde(default)]
    pub services: Option<Vec<ServiceKind>>,
    /// Whether the service affects customers' financial statements or their ICFR.
    #[serde(default)]
    pub affects_financial_reporting: Option<bool>,
    /// What data the service stores or transmits (empty: none of these).
    #[serde(default)]
    pub data: Option<Vec<DataKind>>,
    /// Who asks for a report.
    #[serde(default)]
    pub requesters: Option<Vec<Requester>>,
    /// Contractual commitments (empty: none of these).
    #[serde(default)]
    pub commitments: Option<Vec<CommitmentKind>>,
    /// Regulations customers name (empty: none).
    #[serde(default)]
    pub regulations: Option<Vec<Regulation>>,
    /// Whether a public summary (SOC 3) is wanted.
    #[serde(default)]
    pub public_summary: Option<bool>,
    /// In how many months the first report must be in customers' hands.
    #[serde(default)]
    pub report_needed_in_months: Option<u32>,
    /// Whether a 3–12 month observation window is possible before then.
    #[serde(default)]
    pub observation_window_possible: Option<bool>,
    /// Customers' fiscal year-end as `MM-DD` (for aligning a SOC 1 period); defaults to `12-31`.
    #[serde(default)]
    pub customer_fiscal_year_end: Option<String>,
    /// Months the service auditor needs between the period's end and the date the report is due;
    /// defaults to [`DEFAULT_REPORTING_MONTHS`].
    #[serde(default)]
    pub auditor_reporting_months: Option<u32>,
}

/// The months left to the service auditor between a proposed period's end and the report's due
/// date, unless the answers say otherwise: testing the last months, drafting and review usually
/// take four to eight weeks.
pub const DEFAULT_REPORTING_MONTHS: u32 = 1;

/// What a rule concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conclusion {
    /// The report is needed.
    Report(ReportKind),
    /// The category is in scope.
    Category(Category),
    /// Type 1 first.
    Type1,
}

/// A decision rule: an id, what it concludes, and a test that returns the driving answers when it fires.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// A stable id, used in tests and output.
    pub id: &'static str,
    /// What it concludes.
    pub conclusion: Conclusion,
    /// Returns, when the rule fires, a phrase naming the answers that made it fire.
    pub fires: fn(&Answers) -> Option<String>,
}

fn has<T: PartialEq>(list: &Option<Vec<T>>, item: T) -> bool {
    list.as_ref().is_some_and(|l| l.contains(&item))
}

fn names<T: Serialize>(items: &[T]) -> String {
    items
        .iter()
        .filter_map(|i| {
            serde_json::to_value(i)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

const FINANCIAL_SERVICES: [ServiceKind; 5] = [
    ServiceKind::Payroll,
    ServiceKind::Billing,
    ServiceKind::Payments,
    ServiceKind::GlIntegration,
    ServiceKind::FundAdmin,
];

/// The decision rules, in the order their reasons are listed.
pub const RULES: &[Rule] = &[
    Rule {
        id: "soc1-icfr",
        conclusion: Conclusion::Report(ReportKind::Soc1),
        fires: |a| {
            (a.affects_financial_reporting == Some(true)).then(|| {
                "the service affects customers' financial statements (affects_financial_reporting = yes)".into()
            })
        },
    },
    Rule {
        id: "soc1-user-auditors",
        conclusion: Conclusion::Report(ReportKind::Soc1),
        fires: |a| {
            has(&a.requesters, Requester::UserAuditors)
                .then(|| "customers' auditors or controllers ask for a report (requesters = user_auditors)".into())
        },
    },
    Rule {
        id: "soc1-sox",
        conclusion: Conclusion::Report(ReportKind::Soc1),
        fires: |a| {
            has(&a.regulations, Regulation::Sox)
                .then(|| "customers rely on the service for SOX (regulations = sox)".into())
        },
    },
    Rule {
        id: "soc2-security-teams",
        conclusion: Conclusion::Report(ReportKind::Soc2),
        fires: |a| {
            has(&a.requesters, Requester::SecurityTeams)
                .then(|| "procurement and security teams ask for a report (requesters = security_teams)".into())
        },
    },
    Rule {
        id: "soc2-sensitive-data",
        conclusion: Conclusion::Report(ReportKind::Soc2),
        fires: |a| {
            let d = a.data.as_ref()?;
            (!d.is_empty()).then(|| format!("the service stores or transmits sensitive data (data = {})", names(d)))
        },
    },
    Rule {
        id: "soc2-service-type",
        conclusion: Conclusion::Report(ReportKind::Soc2),
        fires: |a| {
            let s: Vec<ServiceKind> = a
                .services
                .as_ref()?
                .iter()
                .copied()
                .filter(|s| matches!(s, ServiceKind::Saas | ServiceKind::Hosting | ServiceKind::ManagedIt))
                .collect();
            (!s.is_empty()).then(|| {
                format!(
                    "customers judge this kind of service by its controls over their systems and data (services = {})",
                    names(&s)
                )
            })
        },
    },
    Rule {
        id: "soc2-public-summary",
        conclusion: Conclusion::Report(ReportKind::Soc2),
        fires: |a| {
            (a.public_summary == Some(true))
                .then(|| "a SOC 3 is issued on a SOC 2 examination (public_summary = yes)".into())
        },
    },
    Rule {
        id: "soc3-public-summary",
        conclusion: Conclusion::Report(ReportKind::Soc3),
        fires: |a| (a.public_summary == Some(true)).then(|| "a public summary is wanted (public_summary = yes)".into()),
    },
    Rule {
        id: "security-always",
        conclusion: Conclusion::Category(Category::Security),
        fires: |_| Some("the common criteria are part of every SOC 2".into()),
    },
    Rule {
        id: "availability-uptime",
        conclusion: Conclusion::Category(Category::Availability),
        fires: |a| {
            has(&a.commitments, CommitmentKind::Uptime)
                .then(|| "contracts commit to uptime (commitments = uptime)".into())
        },
    },
    Rule {
        id: "availability-hosting",
        conclusion: Conclusion::Category(Category::Availability),
        fires: |a| {
            has(&a.services, ServiceKind::Hosting)
                .then(|| "customers run on the hosted infrastructure (services = hosting)".into())
        },
    },
    Rule {
        id: "confidentiality-data",
        conclusion: Conclusion::Category(Category::Confidentiality),
        fires: |a| {
            has(&a.data, DataKind::Confidential)
                .then(|| "the service holds customers' confidential data (data = confidential)".into())
        },
    },
    Rule {
        id: "confidentiality-commitment",
        conclusion: Conclusion::Category(Category::Confidentiality),
        fires: |a| {
            has(&a.commitments, CommitmentKind::Confidentiality)
                .then(|| "contracts commit to confidentiality (commitments = confidentiality)".into())
        },
    },
    Rule {
        id: "confidentiality-health",
        conclusion: Conclusion::Category(Category::Confidentiality),
        fires: |a| {
            (has(&a.data, DataKind::Health) && has(&a.regulations, Regulation::Hipaa)).then(|| {
                "health information under HIPAA must be kept confidential (data = health, regulations = hipaa)".into()
            })
        },
    },
    Rule {
        id: "processing-integrity-accuracy",
        conclusion: Conclusion::Category(Category::ProcessingIntegrity),
        fires: |a| {
            has(&a.commitments, CommitmentKind::ProcessingAccuracy).then(|| {
                "contracts commit to complete and accurate processing (commitments = processing_accuracy)".into()
            })
        },
    },
    Rule {
        id: "privacy-commitment",
        conclusion: Conclusion::Category(Category::Privacy),
        fires: |a| {
            has(&a.commitments, CommitmentKind::Privacy)
                .then(|| "contracts commit to privacy practices (commitments = privacy)".into())
        },
    },
    Rule {
        id: "privacy-regulation",
        conclusion: Conclusion::Category(Category::Privacy),
        fires: |a| {
            let regs: Vec<Regulation> = a
                .regulations
                .as_ref()?
                .iter()
                .copied()
                .filter(|r| matches!(r, Regulation::Gdpr | Regulation::Ccpa))
                .collect();
            (!regs.is_empty() && has(&a.data, DataKind::Personal)).then(|| {
                format!(
                    "customers name privacy law for the personal data handled (regulations = {}, data = personal)",
                    names(&regs)
                )
            })
        },
    },
    Rule {
        id: "type1-no-window",
        conclusion: Conclusion::Type1,
        fires: |a| {
            (a.observation_window_possible == Some(false))
                .then(|| "no 3–12 month observation window is possible (observation_window_possible = no)".into())
        },
    },
    Rule {
        id: "type1-urgent",
        conclusion: Conclusion::Type1,
        fires: |a| {
            let m = a.report_needed_in_months?;
            (m < MIN_TYPE2_LEAD_MONTHS).then(|| format!(
                "the report is needed in {m} months, too soon for a 3-month window plus the auditor's month of reporting (report_needed_in_months = {m})"
            ))
        },
    },
];

/// The shortest time from today to a Type 2 report in hand: a 3-month window and a month of reporting.
pub const MIN_TYPE2_LEAD_MONTHS: u32 = 4;

/// Whether a problem is a missing answer or a contradiction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A question was not answered.
    Missing,
    /// Two answers cannot both be true.
    Contradiction,
}

/// A problem with the answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Missing or contradiction.
    pub kind: ProblemKind,
    /// The answer keys involved.
    pub answers: Vec<&'static str>,
    /// What is wrong.
    pub message: String,
}

/// A conclusion with the rules and answers that drove it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reasoned<T> {
    /// The conclusion.
    pub value: T,
    /// `(rule id, reason)` pairs.
    pub because: Vec<(String, String)>,
}

/// The proposed examination window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Window {
    /// A Type 1 date.
    AsOf {
        /// The date.
        date: NaiveDate,
    },
    /// A Type 2 period.
    Period {
        /// First day.
        start: NaiveDate,
        /// Last day.
        end: NaiveDate,
    },
}

/// The scoping decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Reports needed.
    pub reports: Vec<Reasoned<&'static str>>,
    /// SOC 2 categories in scope (empty when no SOC 2).
    pub categories: Vec<Reasoned<&'static str>>,
    /// Type 1 or 2.
    pub exam_type: Reasoned<u8>,
    /// The proposed window.
    pub window: Reasoned<Window>,
    /// Advice that does not change the decision.
    pub notes: Vec<String>,
}

impl Decision {
    /// Returns the reports as typed values.
    pub fn report_kinds(&self) -> Vec<ReportKind> {
        self.reports
            .iter()
            .filter_map(|r| match r.value {
                "soc1" => Some(ReportKind::Soc1),
                "soc2" => Some(ReportKind::Soc2),
                "soc3" => Some(ReportKind::Soc3),
                _ => None,
            })
            .collect()
    }

    /// Returns the categories as typed values.
    pub fn category_kinds(&self) -> Vec<Category> {
        self.categories
            .iter()
            .filter_map(|c| Category::parse(c.value))
            .collect()
    }

    /// Returns the examination type.
    pub fn exam(&self) -> ExamType {
        if self.exam_type.value == 1 {
            ExamType::Type1
        } else {
            ExamType::Type2
        }
    }
}

/// The outcome of scoping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// A decision could be made.
    Decided(Decision),
    /// The answers must be fixed first.
    Problems {
        /// What is missing or contradictory.
        problems: Vec<Problem>,
    },
}

/// Checks the answers for missing and contradictory ones.
pub fn problems(a: &Answers) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut missing = |key: &'static str, question: &str| {
        out.push(Problem {
            kind: ProblemKind::Missing,
            answers: vec![key],
            message: format!("not answered: {question}"),
        });
    };
    if a.services.as_ref().is_none_or(Vec::is_empty) {
        missing("services", "what does the service do?");
    }
    if a.affects_financial_reporting.is_none() {
        missing(
            "affects_financial_reporting",
            "does the service affect customers' financial statements or ICFR?",
        );
    }
    if a.data.is_none() {
        missing(
            "data",
            "what data does the service store or transmit? (an empty list means none of these)",
        );
    }
    if a.requesters.as_ref().is_none_or(Vec::is_empty) {
        missing("requesters", "who asks for a report?");
    }
    if a.commitments.is_none() {
        missing(
            "commitments",
            "what does the contract commit to? (an empty list means none of these)",
        );
    }
    if a.regulations.is_none() {
        missing(
            "regulations",
            "which regulations do customers name? (an empty list means none)",
        );
    }
    if a.public_summary.is_none() {
        missing("public_summary", "is a public summary (SOC 3) wanted?");
    }
    if a.report_needed_in_months.is_none() {
        missing("report_needed_in_months", "in how many months is the report needed?");
    }
    if a.observation_window_possible.is_none() {
        missing(
            "observation_window_possible",
            "is a 3–12 month observation window possible?",
        );
    }
    let mut contra = |answers: Vec<&'static str>, message: &str| {
        out.push(Problem {
            kind: ProblemKind::Contradiction,
            answers,
            message: message.to_string(),
        });
    };
    if a.affects_financial_reporting == Some(false) && has(&a.requesters, Requester::UserAuditors) {
        contra(
            vec!["affects_financial_reporting", "requesters"],
            "customers' auditors ask for a report, yet the service is said not to affect their financial statements; financial auditors ask only when it does",
        );
    }
    if a.affects_financial_reporting == Some(false) && has(&a.regulations, Regulation::Sox) {
        contra(
            vec!["affects_financial_reporting", "regulations"],
            "customers name SOX, yet the service is said not to affect their financial statements",
        );
    }
    if has(&a.regulations, Regulation::Hipaa) && a.data.is_some() && !has(&a.data, DataKind::Health) {
        contra(
            vec!["regulations", "data"],
            "customers name HIPAA, yet the service is said to hold no health information",
        );
    }
    let personal = has(&a.data, DataKind::Personal) || has(&a.data, DataKind::Health);
    if (has(&a.regulations, Regulation::Gdpr) || has(&a.regulations, Regulation::Ccpa)) && a.data.is_some() && !personal
    {
        contra(
            vec!["regulations", "data"],
            "customers name GDPR or CCPA, yet the service is said to hold no personal information",
        );
    }
    if has(&a.commitments, CommitmentKind::Privacy) && a.data.is_some() && !personal {
        contra(
            vec!["commitments", "data"],
            "contracts commit to privacy, yet the service is said to hold no personal information",
        );
    }
    if a.public_summary == Some(true) && a.observation_window_possible == Some(false) {
        contra(
            vec!["public_summary", "observation_window_possible"],
            "a SOC 3 covers operation over a period and has no Type 1 form, yet no observation window is possible",
        );
    }
    if let Some(fye) = &a.customer_fiscal_year_end
        && parse_month_day(fye).is_none()
    {
        out.push(Problem {
            kind: ProblemKind::Missing,
            answers: vec!["customer_fiscal_year_end"],
            message: format!("`{fye}` is not a month and day; write the fiscal year-end as MM-DD, such as 12-31"),
        });
    }
    out
}

fn parse_month_day(text: &str) -> Option<(u32, u32)> {
    let (m, d) = text.trim().split_once('-')?;
    let (m, d) = (m.parse().ok()?, d.parse().ok()?);
    NaiveDate::from_ymd_opt(2024, m, d).map(|_| (m, d))
}

fn first_of_next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d)
}

fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(Months::new(n)).unwrap_or(d)
}

fn fye_on_or_after(d: NaiveDate, (m, day): (u32, u32)) -> NaiveDate {
    let mk = |y: i32| {
        NaiveDate::from_ymd_opt(y, m, day)
            .or_else(|| NaiveDate::from_ymd_opt(y, m, day - 1))
            .unwrap_or(d)
    };
    let this = mk(d.year());
    if this >= d { this } else { mk(d.year() + 1) }
}

fn months_between(from: NaiveDate, to: NaiveDate) -> i32 {
    (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32 + 1
}

/// The start of the customer fiscal year that contains `d`.
fn fiscal_year_start(d: NaiveDate, fye: (u32, u32)) -> NaiveDate {
    let end = fye_on_or_after(d, fye);
    end.checked_sub_months(Months::new(12))
        .and_then(|x| x.succ_opt())
        .unwrap_or(d)
}

/// Proposes a SOC 1 Type 2 period: from `start`, as long as the deadline allows (ending the month
/// before the report is needed, at most 12 months), overlapping a customer fiscal year by at least
/// six months. Tries the fiscal year the latest end falls in, then the one before (ending at its
/// year-end); when neither works, ends six months into that fiscal year and reports it as late.
/// Returns `(start, end, overlap in months, late)`.
fn soc1_period(start: NaiveDate, needed: u32, fye: (u32, u32)) -> (NaiveDate, NaiveDate, i32, bool) {
    let months = needed.saturating_sub(1).clamp(1, 12);
    let latest = add_months(start, months).pred_opt().unwrap_or(start);
    let fy = fiscal_year_start(latest, fye);
    let overlap = months_between(start.max(fy), latest);
    if overlap >= 6 {
        return (start, latest, overlap, false);
    }
    if let Some(prev_end) = fy.pred_opt() {
        let prev_start = fiscal_year_start(prev_end, fye);
        if prev_end >= start {
            let o = months_between(start.max(prev_start), prev_end);
            if o >= 6 {
                return (start.max(prev_start), prev_end, o, false);
            }
        }
    }
    let from = start.max(fy);
    let end = add_months(from, 6).pred_opt().unwrap_or(latest);
    let begin = start.max(
        add_months(end, 0)
            .checked_sub_months(Months::new(12))
            .and_then(|x| x.succ_opt())
            .unwrap_or(start),
    );
    (begin, end, 6, true)
}

/// Decides the scope from the answers, as of `today`.
pub fn decide(a: &Answers, today: NaiveDate) -> Outcome {
    let problems = problems(a);
    if !problems.is_empty() {
        return Outcome::Problems { problems };
    }
    let fired: Vec<(&Rule, String)> = RULES.iter().filter_map(|r| (r.fires)(a).map(|why| (r, why))).collect();
    let reasons = |c: Conclusion| -> Vec<(String, String)> {
        fired
            .iter()
            .filter(|(r, _)| r.conclusion == c)
            .map(|(r, why)| (r.id.to_string(), why.clone()))
            .collect()
    };
    let mut notes = Vec::new();

    let mut reports = Vec::new();
    for kind in [ReportKind::Soc1, ReportKind::Soc2, ReportKind::Soc3] {
        let because = reasons(Conclusion::Report(kind));
        if !because.is_empty() {
            reports.push(Reasoned {
                value: kind.as_str(),
                because,
            });
        }
    }
    if reports.is_empty() {
        notes.push(
            "no answer calls for a SOC report; customers asking only for a questionnaire may be served by one".into(),
        );
    }
    let soc2 = reports.iter().any(|r| r.value == "soc2");
    let soc1 = reports.iter().any(|r| r.value == "soc1");
    let mut categories = Vec::new();
    if soc2 {
        for cat in Category::ALL {
            let because = reasons(Conclusion::Category(cat));
            if !because.is_empty() {
                categories.push(Reasoned {
                    value: cat.as_str(),
                    because,
                });
            }
        }
    }
    let financial: Vec<ServiceKind> = a
        .services
        .iter()
        .flatten()
        .copied()
        .filter(|s| FINANCIAL_SERVICES.contains(s))
        .collect();
    if !soc1 && !financial.is_empty() {
        notes.push(format!(
            "the service ({}) often matters to customers' financial reporting; if their auditors start asking, add a SOC 1",
            names(&financial)
        ));
    }
    // A SOC report is not compliance with a law: say so, say what it gives, and name the framework
    // to add to the project (`[scope] frameworks`, read through Assure's crosswalk).
    for (reg, name, framework, gives) in [
        (
            Regulation::Hipaa,
            "HIPAA",
            "hipaa",
            "a SOC 2 (or a SOC 2+ that adds the HIPAA Security Rule as additional subject matter: `additional_subject_matter = [\"hipaa\"]`, as the `health` template does) gives an auditor's opinion on the safeguards; the risk analysis, business associate agreements and breach notification remain yours to show",
        ),
        (
            Regulation::Gdpr,
            "GDPR",
            "gdpr",
            "a SOC 2 gives evidence for the security of processing (Art. 32); records of processing, impact assessments, data subjects' rights, processor contracts and transfers remain yours to show",
        ),
        (
            Regulation::Ccpa,
            "CCPA",
            "ccpa",
            "a SOC 2 supports the reasonable-security duty; the contract terms, limits on use and help with consumers' requests a service provider owes remain yours to show",
        ),
        (
            Regulation::Sox,
            "SOX",
            "sox-itgc",
            "a SOC 1 Type 2 report on your IT general controls is what customers' auditors rely on; a SOC 2 is not designed for that use",
        ),
    ] {
        if has(&a.regulations, reg) {
            notes.push(format!(
                "customers name {name}: a SOC report does not by itself make you compliant with it; {gives}. Add `frameworks = [\"{framework}\"]` to `[scope]` and run `assure gap --framework {framework}` to see what a SOC report leaves to show"
            ));
        }
    }

    let type1 = reasons(Conclusion::Type1);
    let needed = a.report_needed_in_months.unwrap_or(12);
    let exam_type = if type1.is_empty() {
        Reasoned {
            value: 2,
            because: vec![(
                "type2-window".into(),
                format!(
                    "a 3–12 month observation window is possible and the report is needed in {needed} months (observation_window_possible = yes, report_needed_in_months = {needed})"
                ),
            )],
        }
    } else {
        if a.observation_window_possible == Some(true) {
            notes.push(
                "start the Type 2 window right after the Type 1 date; customers will expect it within a year".into(),
            );
        }
        Reasoned {
            value: 1,
            because: type1,
        }
    };

    let start = first_of_next_month(today);
    let window = if exam_type.value == 1 {
        let date = first_of_next_month(start).pred_opt().unwrap_or(start);
        Reasoned {
            value: Window::AsOf { date },
            because: vec![(
                "type1-date".into(),
                "the end of next month leaves a month to close design gaps first".into(),
            )],
        }
    } else if soc1 {
        let fye = a
            .customer_fiscal_year_end
            .as_deref()
            .and_then(parse_month_day)
            .unwrap_or((12, 31));
        let (period_start, end, overlap, late) = soc1_period(start, needed, fye);
        if late {
            notes.push(format!(
                "no period that ends in time overlaps a customer fiscal year by six months; the proposed period ends on {end}, after the report is needed, so agree the timing (or a bridge letter) with the user auditors"
            ));
        }
        Reasoned {
            value: Window::Period {
                start: period_start,
                end,
            },
            because: vec![(
                "soc1-period".into(),
                format!(
                    "overlaps the customers' fiscal year (ending {:02}-{:02}) by {overlap} months, at least the six user auditors look for",
                    fye.0, fye.1
                ),
            )],
        }
    } else {
        // The report is due `needed` months from today; the period ends at the last month end that
        // still leaves the auditor their months of reporting before then.
        let reporting = a.auditor_reporting_months.unwrap_or(DEFAULT_REPORTING_MONTHS);
        let due = add_months(today, needed);
        let cutoff = due.checked_sub_months(Months::new(reporting)).unwrap_or(due);
        let month_end = |d: NaiveDate| first_of_next_month(d).pred_opt().unwrap_or(d);
        let latest = if month_end(cutoff) == cutoff {
            cutoff
        } else {
            first_of_next_month(cutoff)
                .checked_sub_months(Months::new(1))
                .and_then(|d| d.pred_opt())
                .unwrap_or(cutoff)
        };
        let fit = months_between(start, latest).max(0) as u32;
        let months = fit.clamp(3, 12);
        let end = add_months(start, months).pred_opt().unwrap_or(start);
        let left = |end: NaiveDate| (due - end).num_days();
        if fit < 3 {
            notes.push(format!(
                "a 3-month period from {start} ends on {end}, {} days before the report is due on {due}: less than the {reporting} month(s) the auditor needs, so agree the date (or a Type 1 first) with the auditor",
                left(end)
            ));
        }
        Reasoned {
            value: Window::Period { start, end },
            because: vec![(
                "soc2-period".into(),
                format!(
                    "{months} months from {start} to {end}, which leaves the service auditor {} days to report before the report is due on {due} (report_needed_in_months = {needed}, auditor_reporting_months = {reporting})",
                    left(end)
                ),
            )],
        }
    };
    Outcome::Decided(Decision {
        reports,
        categories,
        exam_type,
        window,
        notes,
    })
}

/// One question of the interactive interview.
#[derive(Debug, Clone, Copy)]
pub struct Question {
    /// The answer key it fills.
    pub key: &'static str,
    /// The question.
    pub text: &'static str,
    /// What kind of answer it takes.
    pub kind: QuestionKind,
    /// The default answer, as typed.
    pub default: &'static str,
}

/// The kind of answer a question takes.
#[derive(Debug, Clone, Copy)]
pub enum QuestionKind {
    /// Several of the choices, comma-separated; `none` for none.
    Many(&'static [(&'static str, &'static str)]),
    /// Yes or no.
    YesNo,
    /// A whole number.
    Number,
    /// A month and day.
    MonthDay,
}

/// The interview, in order.
pub const QUESTIONS: &[Question] = &[
    Question {
        key: "services",
        text: "What does the service do?",
        kind: QuestionKind::Many(&[
            ("payroll", "payroll processing"),
            ("billing", "billing or invoicing"),
            ("payments", "payment or transaction processing"),
            ("gl_integration", "general-ledger integration"),
            ("fund_admin", "investment, custody or fund administration"),
            ("saas", "software as a service"),
            ("hosting", "cloud hosting or data center"),
            ("managed_it", "managed IT or security services"),
        ]),
        default: "saas",
    },
    Question {
        key: "affects_financial_reporting",
        text: "Does the service affect customers' financial statements or internal control over financial reporting?",
        kind: QuestionKind::YesNo,
        default: "no",
    },
    Question {
        key: "data",
        text: "What data does the service store or transmit?",
        kind: QuestionKind::Many(&[
            ("personal", "personal information"),
            ("health", "health information"),
            ("payment", "payment card or bank data"),
            ("confidential", "customers' confidential business data"),
        ]),
        default: "confidential",
    },
    Question {
        key: "requesters",
        text: "Who asks for a report?",
        kind: QuestionKind::Many(&[
            ("user_auditors", "customers' financial auditors and controllers"),
            ("security_teams", "customers' procurement and security teams"),
        ]),
        default: "security_teams",
    },
    Question {
        key: "commitments",
        text: "What do customer contracts commit to?",
        kind: QuestionKind::Many(&[
            ("uptime", "uptime or availability"),
            ("processing_accuracy", "complete and accurate processing"),
            ("confidentiality", "confidentiality of customer data"),
            ("privacy", "privacy of personal information"),
        ]),
        default: "none",
    },
    Question {
        key: "regulations",
        text: "Which regulations do customers name?",
        kind: QuestionKind::Many(&[
            ("sox", "SOX"),
            ("hipaa", "HIPAA"),
            ("gdpr", "GDPR"),
            ("ccpa", "CCPA / CPRA"),
        ]),
        default: "none",
    },
    Question {
        key: "public_summary",
        text: "Do you want a public summary report (SOC 3) for your website?",
        kind: QuestionKind::YesNo,
        default: "no",
    },
    Question {
        key: "report_needed_in_months",
        text: "In how many months must the first report be in customers' hands?",
        kind: QuestionKind::Number,
        default: "9",
    },
    Question {
        key: "observation_window_possible",
        text: "Can the controls run under observation for 3 to 12 months before then?",
        kind: QuestionKind::YesNo,
        default: "yes",
    },
    Question {
        key: "customer_fiscal_year_end",
        text: "When do most customers' fiscal years end (MM-DD)?",
        kind: QuestionKind::MonthDay,
        default: "12-31",
    },
];

/// Why a typed answer was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerError(pub String);

impl fmt::Display for AnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AnswerError {}

/// Records a typed answer (as at the prompt or on the command line) for `key` into `answers`.
pub fn set_answer(answers: &mut Answers, key: &str, text: &str) -> Result<(), AnswerError> {
    let q = QUESTIONS
        .iter()
        .find(|q| q.key == key)
        .ok_or_else(|| AnswerError(format!("unknown question `{key}`")))?;
    let text = text.trim();
    let yes_no = || match text.to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" => Ok(true),
        "n" | "no" | "false" => Ok(false),
        _ => Err(AnswerError(format!("answer yes or no, not `{text}`"))),
    };
    let many = |choices: &[(&str, &str)]| -> Result<Vec<String>, AnswerError> {
        if text.eq_ignore_ascii_case("none") {
            return Ok(Vec::new());
        }
        let mut out = BTreeSet::new();
        for part in text.split([',', ' ']).map(str::trim).filter(|p| !p.is_empty()) {
            let part = part.to_ascii_lowercase().replace('-', "_");
            let found = choices
                .iter()
                .enumerate()
                .find(|(i, (id, _))| *id == part || (i + 1).to_string() == part);
            match found {
                Some((_, (id, _))) => {
                    out.insert((*id).to_string());
                }
                None => {
                    let ids: Vec<&str> = choices.iter().map(|(id, _)| *id).collect();
                    return Err(AnswerError(format!("`{part}` is not one of: {}, none", ids.join(", "))));
                }
            }
        }
        Ok(out.into_iter().collect())
    };
    fn parse<T: for<'de> Deserialize<'de>>(ids: Vec<String>) -> Result<Vec<T>, AnswerError> {
        ids.into_iter()
            .map(|id| {
                serde_json::from_value(serde_json::Value::String(id.clone()))
                    .map_err(|_| AnswerError(format!("`{id}` is not a choice")))
            })
            .collect()
    }
    match (q.kind, key) {
        (QuestionKind::Many(c), "services") => answers.services = Some(parse(many(c)?)?),
        (QuestionKind::Many(c), "data") => answers.data = Some(parse(many(c)?)?),
        (QuestionKind::Many(c), "requesters") => answers.requesters = Some(parse(many(c)?)?),
        (QuestionKind::Many(c), "commitments") => answers.commitments = Some(parse(many(c)?)?),
        (QuestionKind::Many(c), "regulations") => answers.regulations = Some(parse(many(c)?)?),
        (QuestionKind::YesNo, "affects_financial_reporting") => answers.affects_financial_reporting = Some(yes_no()?),
        (QuestionKind::YesNo, "public_summary") => answers.public_summary = Some(yes_no()?),
        (QuestionKind::YesNo, "observation_window_possible") => answers.observation_window_possible = Some(yes_no()?),
        (QuestionKind::Number, _) => {
            let n: u32 = text
                .parse()
                .map_err(|_| AnswerError(format!("answer with a whole number of months, not `{text}`")))?;
            if n == 0 || n > 36 {
                return Err(AnswerError("answer with 1 to 36 months".into()));
            }
            answers.report_needed_in_months = Some(n);
        }
        (QuestionKind::MonthDay, _) => {
            parse_month_day(text)
                .ok_or_else(|| AnswerError(format!("write a month and day as MM-DD, not `{text}`")))?;
            answers.customer_fiscal_year_end = Some(text.to_string());
        }
        _ => return Err(AnswerError(format!("unknown question `{key}`"))),
    }
    Ok(())
}

/// Returns the current answer to a question as it would be typed, if answered.
pub fn answer_text(answers: &Answers, key: &str) -> Option<String> {
    let v = serde_json::to_value(answers).ok()?;
    let field = v.get(key)?;
    match field {
        serde_json::Value::Null => None,
        serde_json::Value::Bool(b) => Some(if *b { "yes" } else { "no" }.into()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(items) if items.is_empty() => Some("none".into()),
        serde_json::Value::Array(items) => Some(items.iter().filter_map(|i| i.as_str()).collect::<Vec<_>>().join(", ")),
        serde_json::Value::Object(_) => None,
    }
}

/// Renders the decision or the problems as plain text.
pub fn render_text(outcome: &Outcome) -> String {
    let mut s = String::new();
    match outcome {
        Outcome::Problems { problems } => {
            s.push_str("Scoping cannot decide yet; fix these answers first:\n");
            for p in problems {
                let kind = match p.kind {
                    ProblemKind::Missing => "missing",
                    ProblemKind::Contradiction => "contradiction",
                };
                s.push_str(&format!("  - {kind} ({}): {}\n", p.answers.join(", "), p.message));
            }
        }
        Outcome::Decided(d) => {
            let label = |r: &str| match r {
                "soc1" => "SOC 1",
                "soc2" => "SOC 2",
                _ => "SOC 3",
            };
            let reports: Vec<&str> = d.reports.iter().map(|r| label(r.value)).collect();
            s.push_str(&format!(
                "Reports:     {}\n",
                if reports.is_empty() {
                    "none".to_string()
                } else {
                    reports.join(" + ")
                }
            ));
            for r in &d.reports {
                for (rule, why) in &r.because {
                    s.push_str(&format!("  {:<6} because {why} [{rule}]\n", label(r.value)));
                }
            }
            if !d.categories.is_empty() {
                let cats: Vec<&str> = d.category_kinds().into_iter().map(Category::label).collect();
                s.push_str(&format!("Categories:  {}\n", cats.join(", ")));
                for c in &d.categories {
                    let name = Category::parse(c.value).map_or(c.value, Category::label);
                    for (rule, why) in &c.because {
                        s.push_str(&format!("  {name}: {why} [{rule}]\n"));
                    }
                }
            }
            s.push_str(&format!("Type:        Type {}\n", d.exam_type.value));
            for (rule, why) in &d.exam_type.because {
                s.push_str(&format!("  because {why} [{rule}]\n"));
            }
            match d.window.value {
                Window::AsOf { date } => s.push_str(&format!("As of:       {date}\n")),
                Window::Period { start, end } => s.push_str(&format!("Period:      {start} to {end}\n")),
            }
            for (rule, why) in &d.window.because {
                s.push_str(&format!("  {why} [{rule}]\n"));
            }
            for n in &d.notes {
                s.push_str(&format!("Note: {n}\n"));
            }
        }
    }
    s
}
