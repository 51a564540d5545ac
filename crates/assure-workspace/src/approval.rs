//! Policy approval as a recorded act. A named approver (one of `[organization] policy_approvers`)
//! approves one version of a policy; the approval is an `approval` entry in the signed ledger,
//! bound to the SHA-256 of the text approved. A policy's `approved_by` and `approved_on` are derived
//! from the latest approval of its current text whenever the project is opened: a value typed into
//! the front matter is only a claim, and a policy edited after its approval is no longer approved.

use std::collections::BTreeMap;

use assure_evidence::store::EvidenceStore as _;
use assure_ledger::{Action, Draft, Entry};
use assure_project::Project;
use assure_project::model::{Date, Ref};
use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use crate::{Workspace, WorkspaceError, records};

/// What an `approval` entry's blob holds (format 1).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalRecord {
    /// The record's format.
    pub format: u32,
    /// What was approved: `policy`.
    pub kind: String,
    /// The policy's id.
    pub policy: String,
    /// The version approved.
    pub version: String,
    /// The policy's title when approved.
    pub title: String,
    /// SHA-256 of the text approved (the policy file without its `approved_by`/`approved_on` lines,
    /// line endings as LF): `assure policy show` prints the current text's.
    pub sha256: String,
    /// The approver's person id.
    pub approver: String,
    /// The approver's name.
    pub approver_name: String,
    /// The day the approver approved it (on or before the day it was recorded).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub approved_on: NaiveDate,
    /// The approver's or recorder's note (a board minute's reference, say).
    #[serde(default)]
    pub note: String,
}

/// An approval read back from the ledger.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approval {
    /// What was recorded.
    #[serde(flatten)]
    pub record: ApprovalRecord,
    /// Its ledger entry.
    pub seq: u64,
    /// When it was recorded (RFC 3339).
    pub recorded_at: String,
    /// Who recorded it (an account's email, or the CLI's user).
    pub recorded_by: String,
}

/// Where a policy's approval stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    /// The current text was approved.
    Approved,
    /// An earlier text was approved; the policy was edited since.
    EditedSinceApproval,
    /// The front matter names an approval that the ledger does not hold.
    NotRecorded,
    /// Never approved.
    NotApproved,
}

impl ApprovalState {
    /// Words for a page or the terminal.
    pub fn as_str(&self) -> &'static str {
        match self {
            ApprovalState::Approved => "approved",
            ApprovalState::EditedSinceApproval => "edited since its approval",
            ApprovalState::NotRecorded => "approval not recorded",
            ApprovalState::NotApproved => "not approved",
        }
    }
}

/// One policy's approval: its current text's hash, where it stands, and every approval recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyApproval {
    /// The policy.
    pub policy: String,
    /// SHA-256 of its current text (as approvals hash it).
    pub sha256: String,
    /// Where it stands.
    pub state: ApprovalState,
    /// The approval of the current text, when there is one.
    pub current: Option<Approval>,
    /// What the front matter claims (`approved_by`, `approved_on`), when it claims something the
    /// ledger does not back.
    pub claimed: Option<String>,
    /// Every approval of this policy, oldest first.
    pub history: Vec<Approval>,
}

/// The hash an approval binds to: SHA-256 of the policy file with line endings as LF and without
/// the front matter's `approved_by` and `approved_on` lines (derived values, not the text).
pub fn digest(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let mut out = String::with_capacity(text.len());
    let mut fences = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t == "+++" {
            fences += 1;
        }
        if fences == 1 {
            let key = t.split('=').next().unwrap_or("").trim();
            if t.contains('=') && (key == "approved_by" || key == "approved_on") {
                continue;
            }
        }
        out.push_str(line);
    }
    hex::encode(Sha256::digest(out.as_bytes()))
}

/// Every policy approval in the ledger, oldest first; records that do not read are reported.
pub fn read(
    entries: &[Entry],
    read: &mut dyn FnMut(&Entry) -> Result<Vec<u8>, String>,
) -> (Vec<Approval>, Vec<String>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for e in entries.iter().filter(|e| e.draft.action == Action::Approval) {
        let rec = read(e).and_then(|b| serde_json::from_slice::<ApprovalRecord>(&b).map_err(|x| x.to_string()));
        match rec {
            Ok(record) if record.kind == "policy" => out.push(Approval {
                record,
                seq: e.seq,
                recorded_at: e.draft.at.clone(),
                recorded_by: e.draft.by.clone(),
            }),
            Ok(_) => {}
            Err(m) => problems.push(format!("approval in ledger entry {} cannot be read: {m}", e.seq)),
        }
    }
    (out, problems)
}

/// Derives each policy's `approved_by`/`approved_on` from the approvals of its current text
/// (`texts`: policy id to file text) and says where each stands. Pure.
pub fn reconcile(
    project: &mut Project,
    texts: &BTreeMap<String, String>,
    approvals: &[Approval],
) -> BTreeMap<String, PolicyApproval> {
    let mut out = BTreeMap::new();
    for p in &mut project.policies {
        let id = p.id.to_string();
        let sha = texts.get(&id).map(|t| digest(t)).unwrap_or_default();
        let history: Vec<Approval> = approvals.iter().filter(|a| a.record.policy == id).cloned().collect();
        let current = history.iter().rev().find(|a| a.record.sha256 == sha).cloned();
        let claimed = match (&p.approved_by, &p.approved_on) {
            (None, None) => None,
            (by, on) => Some(format!(
                "the front matter says approved{}{}",
                by.as_ref().map(|b| format!(" by {b}")).unwrap_or_default(),
                on.as_ref().map(|d| format!(" on {}", d.0)).unwrap_or_default()
            )),
        };
        let state = match (&current, history.is_empty(), &claimed) {
            (Some(_), _, _) => ApprovalState::Approved,
            (None, false, _) => ApprovalState::EditedSinceApproval,
            (None, true, Some(_)) => ApprovalState::NotRecorded,
            (None, true, None) => ApprovalState::NotApproved,
        };
        let backed = current.as_ref().is_some_and(|a| {
            p.approved_on.as_ref().is_none_or(|d| d.0 == a.record.approved_on)
                && p.approved_by.as_ref().is_none_or(|b| b.as_str() == a.record.approver)
        });
        p.approved_by = current.as_ref().map(|a| Ref::new(a.record.approver.clone()));
        p.approved_on = current.as_ref().map(|a| Date(a.record.approved_on));
        out.insert(
            id.clone(),
            PolicyApproval {
                policy: id,
                sha256: sha,
                state,
                claimed: if backed { None } else { claimed },
                current,
                history,
            },
        );
    }
    out
}

/// What approving a policy takes.
#[derive(Debug, Clone)]
pub struct ApproveInput {
    /// The policy's id.
    pub policy: String,
    /// The approver: a person's id, email or alias.
    pub approver: String,
    /// The day they approved it (defaults to the day it is recorded).
    pub on: Option<NaiveDate>,
    /// A note (where the approval is minuted, say).
    pub note: String,
}

impl Workspace {
    /// Reads the policy files' texts, by policy id.
    pub(crate) fn policy_texts(&self, project: &Project) -> BTreeMap<String, String> {
        project
            .policies
            .iter()
            .filter_map(|p| {
                let text = std::fs::read_to_string(self.dir.join(project.sources.path(p.file))).ok()?;
                Some((p.id.to_string(), text))
            })
            .collect()
    }

    /// Derives the policies' approvals from the ledger (no ledger: none is approved).
    pub(crate) fn apply_approvals(
        &self,
        project: &mut Project,
    ) -> Result<(BTreeMap<String, PolicyApproval>, Vec<String>), WorkspaceError> {
        let texts = self.policy_texts(project);
        if !self.has_ledger() {
            return Ok((reconcile(project, &texts, &[]), Vec::new()));
        }
        let store = self.store()?;
        let parsed = assure_ledger::parse(&store.ledger()?);
        let mut read_blob = |e: &Entry| -> Result<Vec<u8>, String> {
            let b = e.draft.blob.as_ref().ok_or("no file")?;
            records::blob_bytes(&store, b).map_err(|x| x.to_string())
        };
        let (approvals, problems) = read(&parsed.entries, &mut read_blob);
        Ok((reconcile(project, &texts, &approvals), problems))
    }

    /// Records that a named approver approved a policy's current text; `at` is now (RFC 3339) and
    /// `by` who records it. Refused: an unknown policy or person, a person who may not approve
    /// policies, a policy without a version, a text already approved, an edited text that keeps an
    /// approved version's number, an approval dated after today.
    pub fn approve_policy(&self, input: &ApproveInput, at: &str, by: &str) -> Result<Entry, WorkspaceError> {
        let w = self.open_write(true)?;
        let project = &w.project;
        let policy = project.policy(&input.policy).ok_or_else(|| {
            WorkspaceError::invalid(
                format!("there is no policy `{}`", input.policy),
                Some("`assure policy list` shows the policies"),
            )
        })?;
        let approvers = &project.manifest.organization.policy_approvers;
        if approvers.is_empty() {
            return Err(WorkspaceError::invalid(
                "nobody may approve policies yet",
                Some(
                    "list the people who may in `policy_approvers` under `[organization]` in assure.toml (usually the chief executive)",
                ),
            ));
        }
        let person = project.person(&input.approver).ok_or_else(|| {
            WorkspaceError::invalid(
                format!("`{}` is not a person in people.toml", input.approver),
                Some("name the approver by id, email or alias"),
            )
        })?;
        if !approvers
            .iter()
            .any(|a| project.person(a).is_some_and(|x| x.id.as_str() == person.id.as_str()))
        {
            let names: Vec<String> = approvers.iter().map(ToString::to_string).collect();
            return Err(WorkspaceError::invalid(
                format!(
                    "{} ({}) may not approve policies: the approvers are {}",
                    person.name,
                    person.id,
                    names.join(", ")
                ),
                Some(
                    "ask one of them, or change `policy_approvers` in assure.toml (a change the auditor will see in its history)",
                ),
            ));
        }
        let version = policy.version.clone().ok_or_else(|| {
            WorkspaceError::invalid(
                format!("policy `{}` has no version", input.policy),
                Some("set `version` in its front matter: an approval is of one version"),
            )
        })?;
        let today = at
            .get(..10)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .ok_or_else(|| WorkspaceError::invalid(format!("`{at}` is not a time"), None))?;
        let on = input.on.unwrap_or(today);
        if on > today {
            return Err(WorkspaceError::invalid(
                format!("an approval dated {on} is in the future (today is {today})"),
                Some("record the approval on or after the day it is given"),
            ));
        }
        let mut p = project.clone();
        let (states, _) = self.apply_approvals(&mut p)?;
        let st = states
            .get(&input.policy)
            .cloned()
            .ok_or_else(|| WorkspaceError::invalid(format!("policy `{}` cannot be read", input.policy), None))?;
        if let Some(cur) = &st.current {
            return Err(WorkspaceError::invalid(
                format!(
                    "version {} of `{}` is already approved: by {} on {} (ledger entry {})",
                    cur.record.version, input.policy, cur.record.approver_name, cur.record.approved_on, cur.seq
                ),
                Some("edit the policy and raise its version to approve a new text"),
            ));
        }
        if let Some(same) = st.history.iter().rev().find(|a| a.record.version == version) {
            return Err(WorkspaceError::invalid(
                format!(
                    "version {version} of `{}` was approved on {} with other text (ledger entry {}); the text changed since",
                    input.policy, same.record.approved_on, same.seq
                ),
                Some("raise `version` in the front matter, so the edited text is a new version, then approve it"),
            ));
        }
        let record = ApprovalRecord {
            format: 1,
            kind: "policy".into(),
            policy: input.policy.clone(),
            version: version.clone(),
            title: policy.title.clone(),
            sha256: st.sha256.clone(),
            approver: person.id.to_string(),
            approver_name: person.name.clone(),
            approved_on: on,
            note: input.note.trim().to_string(),
        };
        let json = serde_json::to_string_pretty(&record).unwrap_or_default();
        let blob = w.store.put_blob(
            &mut json.as_bytes(),
            &format!("approval-{}-{version}.json", input.policy),
        )?;
        let mut draft = Draft::new(Action::Approval, at, by);
        draft.blob = Some(blob);
        draft.controls = project
            .controls
            .iter()
            .filter(|c| c.policies.iter().any(|r| r.as_str() == input.policy))
            .map(|c| c.id.to_string())
            .collect();
        draft.note = Some(format!(
            "policy {} version {version} approved by {} on {on}",
            input.policy, person.name
        ));
        w.append_one(draft)
    }
}
