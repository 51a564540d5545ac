//! The readiness assessment: for each in-scope criterion and objective, the controls that address
//! it and each control's design status; once evidence and test results exist, their freshness and
//! results too. Scores, gaps ordered by what blocks the audit most, and a remediation plan by owner.
//!
//! Operating inputs plug in through [`Signals`]; without them the operational checks are reported
//! as not yet assessed and left out of the score.

use std::collections::{BTreeMap, BTreeSet};

use assure_catalog::{Category, criteria};
use assure_project::Project;
use assure_project::model::{Control, ExamType, Nature, ReportKind};
use chrono::NaiveDate;
use serde::Serialize;

/// How the readiness score is computed; shown in every output format.
pub const FORMULA: &str = "A control scores the share of its checks that are met: six design checks (described, owned, frequency set, backed by a current policy, evidence defined, test or sampling procedure defined) and, once evidence and test results exist, evidence present and fresh for the window, every expected occurrence evidenced (periodic manual controls) and tests passing. Before the examination period begins, checks with no input yet are left out; once it has begun, a control's missing evidence and its linked tests not yet run count as unmet. A criterion or objective scores the mean of its controls, or 0 when no control addresses it. A category scores the mean of its in-scope criteria (criteria declared not relevant are left out); a report scores the mean of every criterion or objective it covers; the overall score is the mean of every in-scope criterion and objective.";

/// The result of a control's automated tests, from a test run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestSignal {
    /// Every item passed.
    Passed,
    /// Some items failed.
    Failed {
        /// How many exceptions.
        exceptions: u64,
    },
    /// The test could not run.
    Errored {
        /// Why.
        message: String,
    },
}

/// Whether a control's evidence covers the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceSignal {
    /// The date of the newest evidence.
    pub latest: Option<NaiveDate>,
    /// Whether it is present and fresh enough for the control's frequency.
    pub fresh: bool,
}

/// Operating inputs from later stages (the evidence ledger, test runs). Empty until they exist.
#[derive(Debug, Clone, Default)]
pub struct Signals {
    /// Test results by test id.
    pub tests: BTreeMap<String, TestSignal>,
    /// Evidence status by control id.
    pub evidence: BTreeMap<String, EvidenceSignal>,
    /// Expected and found occurrences by control id (periodic manual controls).
    pub occurrences: BTreeMap<String, (usize, usize)>,
}

/// The status of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// The check is met.
    Met,
    /// The check is not met.
    Gap,
    /// There is no input yet.
    Unknown,
}

/// One check on a control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What is checked (`described`, `owned`, ...).
    pub name: &'static str,
    /// Met, gap or unknown.
    pub status: CheckStatus,
    /// What was found.
    pub detail: String,
}

/// A control's status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControlStatus {
    /// The id.
    pub id: String,
    /// The title.
    pub title: String,
    /// The owner's person id, when it resolves.
    pub owner: Option<String>,
    /// The owner's name, when it resolves.
    pub owner_name: Option<String>,
    /// Whether it is a key control.
    pub key: bool,
    /// The checks.
    pub checks: Vec<Check>,
    /// Share of known checks met, 0 to 1.
    pub score: f64,
}

/// A criterion's or objective's status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemStatus {
    /// The id.
    pub id: String,
    /// `criterion` or `objective`.
    pub kind: &'static str,
    /// The title.
    pub title: String,
    /// The category identifier (criteria only).
    pub category: Option<&'static str>,
    /// The series (`CC6`) or `SOC1`.
    pub series: String,
    /// The reason, when declared not relevant.
    pub not_relevant: Option<String>,
    /// The controls that address it.
    pub controls: Vec<String>,
    /// The score, 0 to 1; `None` when not relevant.
    pub score: Option<f64>,
}

/// A score over a set of criteria and objectives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// What it is the score of.
    pub label: String,
    /// How many criteria or objectives it covers.
    pub items: usize,
    /// How many of them no control addresses.
    pub uncovered: usize,
    /// The score, 0 to 1.
    pub value: f64,
}

/// A gap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// 1 blocks the audit most.
    pub rank: u8,
    /// The kind (`uncovered`, `no-owner`, ...).
    pub kind: &'static str,
    /// The criterion, objective, control or policy concerned.
    pub subject: String,
    /// Whether the subject is a key control.
    pub key: bool,
    /// Who should fix it (person id), when known.
    pub owner: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub action: String,
}

/// A policy's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyStatus {
    /// The id.
    pub id: String,
    /// The title.
    pub title: String,
    /// The version.
    pub version: Option<String>,
    /// When approved.
    pub approved_on: Option<NaiveDate>,
    /// When the next review is due.
    pub next_review: Option<NaiveDate>,
    /// `current`, `review-overdue` or `not-approved`.
    pub status: &'static str,
    /// The controls that name it.
    pub controls: usize,
}

/// A group of the remediation plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanGroup {
    /// The owner's person id, or empty when unassigned.
    pub owner: String,
    /// The owner's name, or "Unassigned".
    pub name: String,
    /// Indexes into the gap list.
    pub gaps: Vec<usize>,
}

/// The whole assessment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// The organization's name.
    pub organization: String,
    /// The as-of date.
    pub as_of: NaiveDate,
    /// The reports in scope (`SOC 2`, ...).
    pub reports_in_scope: Vec<&'static str>,
    /// `Type 1` or `Type 2`, when set.
    pub exam_type: Option<&'static str>,
    /// The period or date, as text.
    pub window: Option<String>,
    /// Whether evidence or test results were available.
    pub operating_inputs: bool,
    /// The overall score.
    pub overall: Score,
    /// Scores per report.
    pub reports: Vec<Score>,
    /// Scores per SOC 2 category in scope.
    pub categories: Vec<Score>,
    /// Every in-scope criterion and objective.
    pub items: Vec<ItemStatus>,
    /// Every control.
    pub controls: Vec<ControlStatus>,
    /// Every policy.
    pub policies: Vec<PolicyStatus>,
    /// The gaps, most blocking first.
    pub gaps: Vec<Gap>,
    /// The remediation plan.
    pub plan: Vec<PlanGroup>,
    /// How the scores are computed.
    pub formula: &'static str,
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

fn policy_state(p: &assure_project::model::Policy, as_of: NaiveDate) -> &'static str {
    match (p.approved_on, p.next_review()) {
        (Some(a), _) if a.0 > as_of => "not-approved",
        (None, _) => "not-approved",
        (_, Some(next)) if next < as_of => "review-overdue",
        (_, None) => "not-approved",
        _ => "current",
    }
}

fn control_status(
    p: &Project,
    c: &Control,
    as_of: NaiveDate,
    signals: &Signals,
    exam: Option<ExamType>,
) -> ControlStatus {
    let mut checks = Vec::new();
    let mut check = |name, met: bool, detail: String| {
        checks.push(Check {
            name,
            status: if met { CheckStatus::Met } else { CheckStatus::Gap },
            detail,
        });
    };
    let words = c.description.split_whitespace().count();
    check(
        "described",
        words >= 8,
        if words >= 8 {
            "description states what is done".into()
        } else {
            "description is missing or too short to test against".into()
        },
    );
    let person = c.owner.as_ref().and_then(|o| p.person(o));
    check(
        "owned",
        person.is_some(),
        match (&c.owner, person) {
            (_, Some(pp)) => format!("owned by {}", pp.name),
            (Some(o), None) => format!("owner `{o}` is not in people.toml"),
            (None, None) => "no owner".into(),
        },
    );
    check(
        "frequency",
        c.frequency.is_some(),
        c.frequency
            .map_or("no frequency".into(), |f| format!("operates {}", f.as_str())),
    );
    let policies: Vec<_> = c.policies.iter().filter_map(|r| p.policy(r)).collect();
    let current: Vec<_> = policies
        .iter()
        .filter(|pol| policy_state(pol, as_of) == "current")
        .collect();
    check(
        "policy",
        !current.is_empty(),
        if !current.is_empty() {
            format!(
                "required by {}",
                current.iter().map(|x| x.id.as_str()).collect::<Vec<_>>().join(", ")
            )
        } else if !policies.is_empty() {
            format!(
                "its policies are not approved or are overdue for review: {}",
                policies.iter().map(|x| x.id.as_str()).collect::<Vec<_>>().join(", ")
            )
        } else {
            "no policy requires it".into()
        },
    );
    check(
        "evidence",
        !c.evidence.is_empty(),
        if c.evidence.is_empty() {
            "no evidence defined".into()
        } else {
            format!("{} kind(s) of evidence defined", c.evidence.len())
        },
    );
    let tests: Vec<&str> = c
        .tests
        .iter()
        .filter(|t| p.test(t).is_some())
        .map(|t| t.as_str())
        .collect();
    let sampled = c.nature == Some(Nature::Manual) && !c.evidence.is_empty();
    check(
        "test",
        !tests.is_empty() || sampled,
        if !tests.is_empty() {
            format!("tested by {}", tests.join(", "))
        } else if sampled {
            "manual: sampled from its evidence".into()
        } else if c.nature == Some(Nature::Automated) {
            "automated, but no linked test checks that its configuration stays in place".into()
        } else {
            "no test and no sampling procedure".into()
        },
    );
    // Operating checks, from signals when they exist.
    if let Some((expected, found)) = signals.occurrences.get(c.id.as_str()) {
        check(
            "occurrences",
            found >= expected,
            format!("{found} of {expected} expected occurrences in the window have evidence"),
        );
    }
    // Once the examination period has begun, what cannot be shown is unmet, not left out: a control
    // with no evidence and no test result so far is not operating as far as anyone can prove.
    let begun = p
        .manifest
        .scope
        .period_start
        .as_ref()
        .is_some_and(|d| d.get_ref().0 <= as_of);
    if let Some(e) = signals.evidence.get(c.id.as_str()) {
        check(
            "evidence_fresh",
            e.fresh,
            match e.latest {
                Some(d) if e.fresh => format!("latest evidence {d}"),
                Some(d) => format!("latest evidence {d} is stale for the window"),
                None => "no evidence collected for the window".into(),
            },
        );
    } else if begun && !c.evidence.is_empty() {
        checks.push(Check {
            name: "evidence_fresh",
            status: CheckStatus::Gap,
            detail: "the period has begun and no evidence has been collected for it".into(),
        });
    } else {
        checks.push(Check {
            name: "evidence_fresh",
            status: CheckStatus::Unknown,
            detail: "no evidence collected yet".into(),
        });
    }
    let results: Vec<(&str, &TestSignal)> = tests
        .iter()
        .filter_map(|t| signals.tests.get(*t).map(|s| (*t, s)))
        .collect();
    if results.is_empty() && begun && !tests.is_empty() {
        checks.push(Check {
            name: "tests_run",
            status: CheckStatus::Gap,
            detail: "the period has begun and its tests have not been run".into(),
        });
    } else if results.is_empty() {
        let detail = if tests.is_empty() {
            "no automated test"
        } else {
            "tests not run yet"
        };
        checks.push(Check {
            name: "tests_pass",
            status: CheckStatus::Unknown,
            detail: detail.into(),
        });
    } else {
        let failing: Vec<String> = results
            .iter()
            .filter_map(|(t, s)| match s {
                TestSignal::Passed => None,
                TestSignal::Failed { exceptions } => Some(format!("{t} ({exceptions} exceptions)")),
                TestSignal::Errored { message } => Some(format!("{t} (could not run: {message})")),
            })
            .collect();
        let ok = failing.is_empty();
        checks.push(Check {
            name: "tests_pass",
            status: if ok { CheckStatus::Met } else { CheckStatus::Gap },
            detail: if ok {
                "all tests pass".into()
            } else {
                format!("failing: {}", failing.join(", "))
            },
        });
    }
    let _ = exam;
    let known: Vec<&Check> = checks.iter().filter(|k| k.status != CheckStatus::Unknown).collect();
    let met = known.iter().filter(|k| k.status == CheckStatus::Met).count();
    let score = if known.is_empty() {
        0.0
    } else {
        met as f64 / known.len() as f64
    };
    ControlStatus {
        id: c.id.to_string(),
        title: c.title.clone(),
        owner: person.map(|pp| pp.id.to_string()),
        owner_name: person.map(|pp| pp.name.clone()),
        key: c.key,
        checks,
        score,
    }
}

/// Assesses the project's readiness as of `as_of`.
pub fn assess(p: &Project, as_of: NaiveDate, signals: &Signals) -> Assessment {
    let scope = &p.manifest.scope;
    let exam = scope.exam_type;
    let controls: Vec<ControlStatus> = {
        let mut v: Vec<ControlStatus> = p
            .controls
            .iter()
            .map(|c| control_status(p, c, as_of, signals, exam))
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    };
    let by_id: BTreeMap<&str, &ControlStatus> = controls.iter().map(|c| (c.id.as_str(), c)).collect();

    // In-scope criteria and objectives.
    let soc2 = scope.has(ReportKind::Soc2) || scope.has(ReportKind::Soc3);
    let soc1 = scope.has(ReportKind::Soc1);
    let cats = scope.categories();
    let not_relevant: BTreeMap<String, String> = scope
        .not_relevant
        .iter()
        .map(|n| (n.criterion.to_ascii_uppercase(), n.reason.clone()))
        .collect();
    let mut items = Vec::new();
    let score_of = |ids: &[String]| -> f64 {
        if ids.is_empty() {
            0.0
        } else {
            mean(
                &ids.iter()
                    .filter_map(|i| by_id.get(i.as_str()).map(|c| c.score))
                    .collect::<Vec<_>>(),
            )
        }
    };
    if soc2 {
        for cr in criteria().iter().filter(|c| cats.contains(&c.category)) {
            let mut ids: Vec<String> = p
                .controls
                .iter()
                .filter(|c| c.criteria.iter().any(|r| r.eq_ignore_ascii_case(cr.id)))
                .map(|c| c.id.to_string())
                .collect();
            ids.sort();
            let nr = not_relevant.get(cr.id).cloned();
            let score = if nr.is_some() { None } else { Some(score_of(&ids)) };
            items.push(ItemStatus {
                id: cr.id.to_string(),
                kind: "criterion",
                title: cr.title.to_string(),
                category: Some(cr.category.as_str()),
                series: cr.series.to_string(),
                not_relevant: nr,
                controls: ids,
                score,
            });
        }
    }
    if soc1 {
        for o in &p.objectives {
            let mut ids: Vec<String> = p
                .controls
                .iter()
                .filter(|c| c.objectives.iter().any(|r| r.as_str() == o.id.as_str()))
                .map(|c| c.id.to_string())
                .collect();
            ids.sort();
            let score = Some(score_of(&ids));
            items.push(ItemStatus {
                id: o.id.to_string(),
                kind: "objective",
                title: o.title.clone(),
                category: None,
                series: "SOC1".into(),
                not_relevant: None,
                controls: ids,
                score,
            });
        }
    }
    let make_score = |label: String, set: Vec<&ItemStatus>| -> Score {
        let scored: Vec<&ItemStatus> = set.into_iter().filter(|i| i.score.is_some()).collect();
        Score {
            label,
            items: scored.len(),
            uncovered: scored.iter().filter(|i| i.controls.is_empty()).count(),
            value: mean(&scored.iter().filter_map(|i| i.score).collect::<Vec<_>>()),
        }
    };
    let mut reports = Vec::new();
    for kind in [ReportKind::Soc1, ReportKind::Soc2, ReportKind::Soc3] {
        if !scope.has(kind) {
            continue;
        }
        let set: Vec<&ItemStatus> = items
            .iter()
            .filter(|i| (kind == ReportKind::Soc1) == (i.kind == "objective"))
            .collect();
        reports.push(make_score(kind.label().to_string(), set));
    }
    let categories: Vec<Score> = if soc2 {
        cats.iter()
            .map(|cat| {
                make_score(
                    cat.label().to_string(),
                    items.iter().filter(|i| i.category == Some(cat.as_str())).collect(),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let overall = make_score("Overall".into(), items.iter().collect());

    // Policies.
    let mut policy_use: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &p.controls {
        for r in &c.policies {
            *policy_use.entry(r.as_str()).or_default() += 1;
        }
    }
    let mut policies: Vec<PolicyStatus> = p
        .policies
        .iter()
        .map(|pol| PolicyStatus {
            id: pol.id.to_string(),
            title: pol.title.clone(),
            version: pol.version.clone(),
            approved_on: pol.approved_on.map(|d| d.0),
            next_review: pol.next_review(),
            status: policy_state(pol, as_of),
            controls: policy_use.get(pol.id.as_str()).copied().unwrap_or(0),
        })
        .collect();
    policies.sort_by(|a, b| a.id.cmp(&b.id));

    // Gaps.
    let lead = p
        .manifest
        .organization
        .compliance_lead
        .as_ref()
        .and_then(|l| p.person(l))
        .map(|pp| pp.id.to_string());
    let mut gaps = Vec::new();
    for i in items.iter().filter(|i| i.score.is_some() && i.controls.is_empty()) {
        gaps.push(Gap {
            rank: 1,
            kind: "uncovered",
            subject: i.id.clone(),
            key: false,
            owner: lead.clone(),
            message: format!("no control addresses {} {} ({})", i.kind, i.id, i.title),
            action: format!("design a control for {} or map an existing one to it; or, for a criterion, declare it not relevant with a reason", i.id),
        });
    }
    let design_gap = |name: &str| -> Option<(u8, &'static str, &'static str)> {
        Some(match name {
            // What an auditor would find first: operation that failed, was missed, or cannot be
            // shown; then the documentation the design rests on.
            "tests_pass" => (2, "test-failing", "investigate the exceptions and fix the control"),
            "occurrences" => (
                2,
                "missing-occurrence",
                "record evidence for each period in which the control should have operated",
            ),
            "evidence_fresh" => (3, "evidence-stale", "collect evidence that covers the window"),
            "tests_run" => (3, "tests-not-run", "import the period's evidence and run `assure test`"),
            "owned" => (
                4,
                "no-owner",
                "name an owner from people.toml who performs or oversees it",
            ),
            "policy" => (5, "no-policy", "tie it to an approved, current policy that requires it"),
            "evidence" => (
                6,
                "no-evidence",
                "define the evidence it produces (a table or a document)",
            ),
            "test" => (
                7,
                "no-test",
                "link a test that checks it (for an automated control, its configuration), or define the evidence an auditor samples",
            ),
            "frequency" => (8, "no-frequency", "set how often it operates"),
            "described" => (9, "not-described", "describe what is done, by whom, how and how often"),
            _ => return None,
        })
    };
    for c in &controls {
        for k in c.checks.iter().filter(|k| k.status == CheckStatus::Gap) {
            if let Some((rank, kind, action)) = design_gap(k.name) {
                let owner = c
                    .owner
                    .clone()
                    .or_else(|| if kind == "no-owner" { lead.clone() } else { None });
                gaps.push(Gap {
                    rank,
                    kind,
                    subject: c.id.clone(),
                    key: c.key,
                    owner,
                    message: format!("control {} ({}): {}", c.id, c.title, k.detail),
                    action: action.to_string(),
                });
            }
        }
    }
    for pol in &policies {
        let owner = p
            .policy(&pol.id)
            .and_then(|x| x.owner.as_ref())
            .and_then(|o| p.person(o))
            .map(|pp| pp.id.to_string());
        if pol.status != "current" {
            gaps.push(Gap {
                rank: 5,
                kind: "policy-not-current",
                subject: pol.id.clone(),
                key: false,
                owner: owner.clone(),
                message: match pol.status {
                    "review-overdue" => format!(
                        "policy {} was due for review on {}",
                        pol.id,
                        pol.next_review.map_or("?".into(), |d| d.to_string())
                    ),
                    _ => format!("policy {} has no approval on or before {as_of}", pol.id),
                },
                action: "review the policy, record the new approval and version".into(),
            });
        }
        if pol.controls > 0
            && let Some(policy) = p.policy(&pol.id)
        {
            for st in assure_project::model::statements(&policy.body) {
                let enforced = policy.statements.get(&st.id).is_some_and(|l| !l.controls.is_empty());
                if !enforced {
                    gaps.push(Gap {
                        rank: 10,
                        kind: "statement-without-control",
                        subject: format!("{} {}", pol.id, st.id),
                        key: false,
                        owner: owner.clone(),
                        message: format!("statement {} of policy {} names no control that enforces it", st.id, pol.id),
                        action: "list the controls that carry it out under [statements] in the policy's front matter, or add a control".into(),
                    });
                }
            }
        }
        if pol.controls == 0 {
            gaps.push(Gap {
                rank: 10,
                kind: "policy-without-control",
                subject: pol.id.clone(),
                key: false,
                owner,
                message: format!("no control carries out policy {} ({})", pol.id, pol.title),
                action: "name the policy in the controls that enforce it, or retire it if it is out of scope".into(),
            });
        }
    }
    gaps.sort_by(|a, b| (a.rank, !a.key, &a.subject, a.kind).cmp(&(b.rank, !b.key, &b.subject, b.kind)));

    // The plan, grouped by owner.
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, g) in gaps.iter().enumerate() {
        groups.entry(g.owner.clone().unwrap_or_default()).or_default().push(i);
    }
    let mut plan: Vec<PlanGroup> = groups
        .into_iter()
        .map(|(owner, gaps)| {
            let name = p
                .person(&owner)
                .map_or_else(|| "Unassigned".to_string(), |pp| pp.name.clone());
            PlanGroup { owner, name, gaps }
        })
        .collect();
    plan.sort_by(|a, b| (b.gaps.len(), &a.name).cmp(&(a.gaps.len(), &b.name)));

    let window = match exam {
        Some(ExamType::Type2) => match (&scope.period_start, &scope.period_end) {
            (Some(s), Some(e)) => Some(format!("{} to {}", s.get_ref(), e.get_ref())),
            _ => None,
        },
        Some(ExamType::Type1) => scope.as_of.as_ref().map(|d| format!("as of {}", d.get_ref())),
        None => None,
    };
    let mut reports_in_scope: Vec<&'static str> = scope
        .reports
        .iter()
        .map(|r| r.label())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    reports_in_scope.sort();
    let _ = Category::Security;
    Assessment {
        organization: p.manifest.organization.name.clone(),
        as_of,
        reports_in_scope,
        exam_type: exam.map(ExamType::label),
        window,
        operating_inputs: !signals.tests.is_empty() || !signals.evidence.is_empty(),
        overall,
        reports,
        categories,
        items,
        controls,
        policies,
        gaps,
        plan,
        formula: FORMULA,
    }
}
