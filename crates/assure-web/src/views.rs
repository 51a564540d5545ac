//! View models shared by the pages and the JSON API: what a signed-in person may see of the
//! controls, the latest run's tests and the ledger, computed once here so a page and its API route
//! never disagree about content or visibility.

use assure_assess::results::Conclusion;
use serde::Serialize;
use utoipa::ToSchema;

use crate::Snapshot;
use crate::authz::{Role, Visibility as _, may_see_control, may_see_entry};
use crate::db::User;

/// A control.
#[derive(Debug, Serialize, ToSchema)]
pub struct ControlView {
    /// Identifier.
    pub id: String,
    /// Title.
    pub title: String,
    /// Owner's person id.
    pub owner: Option<String>,
    /// Frequency.
    pub frequency: Option<String>,
    /// Criteria it maps to.
    pub criteria: Vec<String>,
    /// SOC 1 objectives it maps to.
    pub objectives: Vec<String>,
    /// Readiness score, 0 to 1.
    pub readiness: Option<f64>,
    /// Result from the latest run.
    pub result: String,
    /// Exceptions from the latest run.
    pub exceptions: usize,
}

/// A test's outcome in the latest run.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestView {
    /// Identifier.
    pub id: String,
    /// Title.
    pub title: String,
    /// Controls it tests.
    pub controls: Vec<String>,
    /// Items in the population.
    pub population: usize,
    /// Exceptions.
    pub exceptions: usize,
    /// The conclusion, in words.
    pub conclusion: String,
    /// The conclusion (for pages).
    #[serde(skip)]
    #[schema(ignore)]
    pub kind: Conclusion,
}

/// A ledger entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceView {
    /// Sequence number.
    pub seq: u64,
    /// What was recorded (`import`, `add`, `test-run`, `sample`).
    pub action: String,
    /// File name.
    pub file: Option<String>,
    /// SHA-256 of the file.
    pub sha256: Option<String>,
    /// Evidence table.
    pub table: Option<String>,
    /// Controls it is evidence for.
    pub controls: Vec<String>,
    /// When it was recorded.
    pub at: String,
    /// By whom.
    pub by: String,
}

/// One control's view.
pub fn control(snap: &Snapshot, c: &assure_project::model::Control) -> ControlView {
    let (result, exceptions) = assure_report::control_result(&snap.inputs(), c.id.as_str());
    ControlView {
        id: c.id.to_string(),
        title: c.title.clone(),
        owner: c.owner.as_ref().map(|o| o.to_string()),
        frequency: c.frequency.map(|f| f.as_str().to_string()),
        criteria: c.criteria.iter().map(|r| r.to_string()).collect(),
        objectives: c.objectives.iter().map(|r| r.to_string()).collect(),
        readiness: snap
            .assessment
            .controls
            .iter()
            .find(|x| x.id == c.id.as_str())
            .map(|x| x.score),
        result,
        exceptions,
    }
}

/// The controls `user` may see, sorted by id.
pub fn controls(snap: &Snapshot, user: &User, role: Role) -> Vec<ControlView> {
    let mut list: Vec<ControlView> = snap
        .project
        .controls
        .iter()
        .filter(|c| may_see_control(role, user, snap, c.id.as_str()))
        .map(|c| control(snap, c))
        .collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    list
}

/// The latest run's tests `user` may see (owners: the tests of their controls), in run order.
pub fn tests(snap: &Snapshot, user: &User, role: Role) -> Vec<TestView> {
    snap.run
        .as_ref()
        .map(|(_, r)| {
            r.tests
                .iter()
                .filter(|t| role != Role::ControlOwner || t.controls.iter().any(|c| snap.owns(user, c)))
                .map(|t| TestView {
                    id: t.id.clone(),
                    title: t.title.clone(),
                    controls: t.controls.clone(),
                    population: t.population,
                    exceptions: t.exceptions,
                    conclusion: t.conclusion.label().to_string(),
                    kind: t.conclusion,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The ledger's entries `user` may see, in ledger order.
pub fn entries<'a>(
    snap: &'a Snapshot,
    user: &'a User,
    role: Role,
) -> impl DoubleEndedIterator<Item = &'a assure_ledger::Entry> {
    snap.ledger.iter().filter(move |e| may_see_entry(role, user, snap, e))
}

/// The ledger's entries `user` may see, as views.
pub fn evidence(snap: &Snapshot, user: &User, role: Role) -> Vec<EvidenceView> {
    entries(snap, user, role)
        .map(|e| EvidenceView {
            seq: e.seq,
            action: e.draft.action.to_string(),
            file: e.draft.blob.as_ref().map(|b| b.name.clone()),
            sha256: e.draft.blob.as_ref().map(|b| b.sha256.clone()),
            table: e.draft.table.clone(),
            controls: e.draft.controls.clone(),
            at: e.draft.at.clone(),
            by: e.draft.by.clone(),
        })
        .collect()
}
