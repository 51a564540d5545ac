//! Who may do what: one decision function, called by every route before it touches data.
//!
//! Roles are fixed; a control owner's rights are further limited to the controls they own (the
//! `owner` of the control names their person in `people.toml`). Denial is the default: an action
//! not listed for a role is refused.

use crate::db::User;

/// A role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, including accounts.
    Admin,
    /// Runs the program: everything but accounts.
    ComplianceManager,
    /// Sees and updates the controls they own.
    ControlOwner,
    /// Reads everything in scope, comments, selects samples, raises requests; never changes evidence.
    Auditor,
    /// Reads the dashboard, controls, tests and policies; accepts policies.
    Viewer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::ComplianceManager,
        Role::ControlOwner,
        Role::Auditor,
        Role::Viewer,
    ];

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "admin" => Role::Admin,
            "compliance_manager" => Role::ComplianceManager,
            "control_owner" => Role::ControlOwner,
            "auditor" => Role::Auditor,
            "viewer" => Role::Viewer,
            _ => return None,
        })
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::ComplianceManager => "compliance_manager",
            Role::ControlOwner => "control_owner",
            Role::Auditor => "auditor",
            Role::Viewer => "viewer",
        }
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Administrator",
            Role::ComplianceManager => "Compliance manager",
            Role::ControlOwner => "Control owner",
            Role::Auditor => "Auditor",
            Role::Viewer => "Viewer",
        }
    }
}

/// An action a route performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The dashboard and summary.
    ReadDashboard,
    /// Controls (owners: their own).
    ReadControls,
    /// Test results (owners: of their controls).
    ReadTests,
    /// The evidence ledger (owners: of their controls).
    ReadEvidence,
    /// Download an evidence file.
    DownloadEvidence,
    /// Add evidence to the ledger.
    UploadEvidence,
    /// The request list (owners: assigned to them).
    ReadRequests,
    /// Raise a request.
    RaiseRequest,
    /// Change a request's status, assignee or due date.
    UpdateRequest,
    /// Comment on a control, test or request.
    Comment,
    /// Draw a sample of a control's population.
    SelectSample,
    /// Record what testing a sampled item found, and sign a sample's workpaper off.
    RecordWorkpaper,
    /// Download the whole workpaper set (the workbook and the evidence package of the whole ledger).
    ExportWorkpapers,
    /// Read policies.
    ReadPolicies,
    /// Accept a policy as the signed-in person.
    AcceptPolicy,
    /// Approve a policy's current text, as a named approver (`policy_approvers`) signed in.
    ApprovePolicy,
    /// Read the audit log.
    ReadAudit,
    /// Create accounts and set roles.
    ManageUsers,
    /// Create one's own API tokens.
    ManageOwnTokens,
    /// Run a monitoring cycle now.
    RunMonitoring,
    /// See security questionnaires and their answers (owners: the questions assigned to them).
    ReadQuestionnaires,
    /// Upload a customer's questionnaire to be answered, approve all, export.
    AnswerQuestionnaires,
    /// Change, comment on and approve one answer (owners: the questions assigned to them).
    ReviewAnswers,
}

impl Action {
    /// Whether the action changes anything (a read-only API token may do only the others).
    pub fn changes_something(self) -> bool {
        use Action::*;
        !matches!(
            self,
            ReadDashboard
                | ReadControls
                | ReadTests
                | ReadEvidence
                | DownloadEvidence
                | ReadRequests
                | ExportWorkpapers
                | ReadPolicies
                | ReadAudit
                | ReadQuestionnaires
        )
    }
}

/// Whether a role may perform an action at all (before ownership limits).
pub fn role_allows(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Admin => true,
        Role::ComplianceManager => action != ManageUsers,
        Role::ControlOwner => matches!(
            action,
            ReadDashboard
                | ReadControls
                | ReadTests
                | ReadEvidence
                | DownloadEvidence
                | UploadEvidence
                | ReadRequests
                | UpdateRequest
                | Comment
                | ReadPolicies
                | AcceptPolicy
                | ApprovePolicy
                | ManageOwnTokens
                | ReadQuestionnaires
                | ReviewAnswers
        ),
        Role::Auditor => matches!(
            action,
            ReadDashboard
                | ReadControls
                | ReadTests
                | ReadEvidence
                | DownloadEvidence
                | ReadRequests
                | RaiseRequest
                | UpdateRequest
                | Comment
                | SelectSample
                | RecordWorkpaper
                | ExportWorkpapers
                | ReadPolicies
                | ReadAudit
                | ManageOwnTokens
        ),
        Role::Viewer => matches!(
            action,
            ReadDashboard | ReadControls | ReadTests | ReadPolicies | AcceptPolicy | ApprovePolicy
        ),
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// What to tell the person.
    pub reason: String,
}

/// The one authorization check. `controls` are the controls the action touches (empty when none);
/// `owns` says whether the signed-in person owns a control.
pub fn authorize(user: &User, action: Action, controls: &[&str], owns: &dyn Fn(&str) -> bool) -> Result<Role, Denied> {
    let Some(role) = Role::parse(&user.role) else {
        return Err(Denied {
            reason: format!("the account has an unknown role `{}`", user.role),
        });
    };
    if !role_allows(role, action) {
        return Err(Denied {
            reason: format!("a {} cannot do this", role.label().to_lowercase()),
        });
    }
    if role == Role::ControlOwner
        && !controls.is_empty()
        && !matches!(
            action,
            Action::ReadPolicies | Action::AcceptPolicy | Action::ApprovePolicy
        )
        && !controls.iter().any(|c| owns(c))
    {
        return Err(Denied {
            reason: "this belongs to a control you do not own".into(),
        });
    }
    Ok(role)
}

/// Visibility rules over a snapshot of the project: the one place that answers "does this account's
/// person own this control".
pub trait Visibility {
    /// Whether the person linked to an account owns a control.
    fn owns(&self, user: &User, control: &str) -> bool;
}

impl Visibility for assure_workspace::Snapshot {
    fn owns(&self, user: &User, control: &str) -> bool {
        let Some(person) = &user.person else { return false };
        let Some(me) = self.project.person(person) else {
            return false;
        };
        self.project
            .control(control)
            .and_then(|c| c.owner.as_ref())
            .and_then(|o| self.project.person(o.as_str()))
            .is_some_and(|p| p.id.as_str() == me.id.as_str())
    }
}

/// Whether an account with `role` may see a request: everyone who may read requests sees all of
/// them, except control owners, who see the requests assigned to them.
pub fn may_see_request(role: Role, user: &User, r: &crate::db::Request) -> bool {
    role_allows(role, Action::ReadRequests) && (role != Role::ControlOwner || r.assignee.as_deref() == Some(&user.id))
}

/// Whether an account with `role` may see a ledger entry: control owners see the entries of their
/// controls; the other roles that read evidence see all.
pub fn may_see_entry(role: Role, user: &User, snap: &assure_workspace::Snapshot, e: &assure_ledger::Entry) -> bool {
    role_allows(role, Action::ReadEvidence)
        && (role != Role::ControlOwner || e.draft.controls.iter().any(|c| snap.owns(user, c)))
}

/// Whether an account with `role` may see a control (owners: their own).
pub fn may_see_control(role: Role, user: &User, snap: &assure_workspace::Snapshot, control: &str) -> bool {
    role_allows(role, Action::ReadControls) && (role != Role::ControlOwner || snap.owns(user, control))
}

/// What an account may provide as an export (`None`: anything its role may upload). A control
/// owner provides rows for the tables their controls read, and cannot replace a file recorded for a
/// control that is not theirs: otherwise one owner's upload could change another control's
/// population.
pub fn upload_scope(
    role: Role,
    user: &User,
    snap: &assure_workspace::Snapshot,
) -> Option<assure_workspace::service::UploadScope> {
    if role != Role::ControlOwner {
        return None;
    }
    let owned: Vec<&assure_project::model::Control> = snap
        .project
        .controls
        .iter()
        .filter(|c| snap.owns(user, c.id.as_str()))
        .collect();
    let tables = owned
        .iter()
        .flat_map(|c| {
            c.evidence
                .iter()
                .filter_map(|e| e.table.as_ref().map(|t| t.to_string()))
        })
        .collect();
    let protected = snap
        .ledger
        .iter()
        .filter(|e| e.draft.action == assure_ledger::Action::Import)
        .filter(|e| e.draft.controls.iter().any(|c| !snap.owns(user, c)))
        .filter_map(|e| Some((e.draft.table.clone()?, e.draft.blob.as_ref()?.name.clone())))
        .collect();
    Some(assure_workspace::service::UploadScope { tables, protected })
}
