//! `github-members`: a GitHub organization's members with their role and two-factor status, as the
//! GraphQL API returns them (`organization.membersWithRole` with `role`, `hasTwoFactorEnabled` and
//! each member's `login`, `email`, `createdAt`; one response, or a JSON array of the pages) onto
//! `accounts`, system `github`.
//!
//! - `account_id` is the login; members rarely publish an email, so `email` is usually empty and
//!   identity resolution names the person from a `github:LOGIN` alias in `people.toml`.
//! - `privileged` for the `ADMIN` role (an organization owner); `mfa_enabled` from
//!   `hasTwoFactorEnabled` (null where GitHub hides it from a token that is not an owner's).
//! - `created_at` is the GitHub account's creation (GraphQL does not give the day a member joined;
//!   the organization audit log's `org.add_member` events do).

use serde_json::Value;

use super::devices::{email, flag};
use super::{Connector, Fixture, Kind, Record, Refusal, has, json, numbered, s};

/// GitHub organization members.
#[derive(Debug, Clone, Copy)]
pub struct GithubMembers;

impl Connector for GithubMembers {
    fn id(&self) -> &'static str {
        "github-members"
    }
    fn about(&self) -> &'static str {
        "GitHub organization members with role and two-factor status (GraphQL `membersWithRole` JSON)"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "accounts" }
    }
    fn detect(&self, text: &str) -> bool {
        has(text, "membersWithRole") || (has(text, "hasTwoFactorEnabled") && has(text, "login"))
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        let v = json(text)?;
        let pages: Vec<&Value> = match &v {
            Value::Array(items) if items.iter().any(|i| i.get("data").is_some()) => items.iter().collect(),
            _ => vec![&v],
        };
        let mut edges: Vec<&Value> = Vec::new();
        for p in pages {
            let list = p
                .pointer("/data/organization/membersWithRole/edges")
                .or_else(|| p.pointer("/organization/membersWithRole/edges"))
                .or_else(|| p.pointer("/membersWithRole/edges"))
                .or(Some(p))
                .and_then(Value::as_array);
            match list {
                Some(l) => edges.extend(l.iter()),
                None => {
                    return Err(Refusal::new(
                        "expected a GraphQL response with `organization.membersWithRole.edges`",
                        "query `organization(login:) { membersWithRole(first: 100) { edges { role hasTwoFactorEnabled node { login email createdAt } } } }` and save each page",
                    ));
                }
            }
        }
        numbered(edges.into_iter().map(member))
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "github-members.json",
            include_bytes!("../../fixtures/connectors/github-members.json"),
        )
    }
}

fn member(e: &Value) -> Record {
    let node = e.get("node").unwrap_or(e);
    let role = s(e, &["role"]).map(|r| r.to_ascii_lowercase());
    let mut m = Record::new();
    m.insert("system", Some("github".into()));
    m.insert("account_id", s(node, &["login"]));
    m.insert("email", email(s(node, &["email"])));
    m.insert("kind", Some("human".into()));
    m.insert("privileged", Some((role.as_deref() == Some("admin")).to_string()));
    m.insert("role", role);
    m.insert("mfa_enabled", flag(e.get("hasTwoFactorEnabled")));
    m.insert("status", Some("active".into()));
    m.insert("created_at", s(node, &["createdAt"]));
    m.insert("deprovisioned_at", None);
    m.insert("last_login_at", None);
    m
}
