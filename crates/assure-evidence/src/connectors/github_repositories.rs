//! `github-repositories`: repositories with their default branch's protection, as the `github`
//! collector saves them: a JSON array of `{"repository": <GET /repos/{repo}>, "branch": NAME,
//! "protection": <GET /repos/{repo}/branches/{branch}/protection> or null}` (null where GitHub
//! answers 404 "Branch not protected"), onto `repositories`, source `github`.
//!
//! - `protected`: a protection object exists; `required_approvals` from
//!   `required_pull_request_reviews.required_approving_review_count` (0 when pull requests are
//!   not required); `dismiss_stale_reviews`, `require_code_owner_reviews` from the same object;
//!   `enforce_admins.enabled`; `allow_force_pushes.enabled`; `required_checks` from
//!   `required_status_checks.contexts` (or `checks[].context`).

use serde_json::Value;

use super::devices::flag;
use super::{Connector, Fixture, Kind, Record, Refusal, has, json, numbered, s};

/// GitHub repositories and their branch protection.
#[derive(Debug, Clone, Copy)]
pub struct GithubRepositories;

impl Connector for GithubRepositories {
    fn id(&self) -> &'static str {
        "github-repositories"
    }
    fn about(&self) -> &'static str {
        "GitHub repositories with their default branch's protection (the github collector's JSON)"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "repositories" }
    }
    fn detect(&self, text: &str) -> bool {
        has(text, "protection") && has(text, "default_branch") && has(text, "repository")
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        let v = json(text)?;
        let Some(items) = v.as_array() else {
            return Err(Refusal::new(
                "expected a JSON array of {repository, branch, protection}",
                "collect repositories with the `github` collector, which saves them in this shape",
            ));
        };
        numbered(items.iter().map(repository))
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "github-repositories.json",
            include_bytes!("../../fixtures/connectors/github-repositories.json"),
        )
    }
}

fn repository(item: &Value) -> Record {
    let repo = item.get("repository").unwrap_or(item);
    let p = item.get("protection").filter(|p| !p.is_null());
    let reviews = p
        .and_then(|p| p.get("required_pull_request_reviews"))
        .filter(|r| !r.is_null());
    let enabled = |key: &str| p.and_then(|p| p.get(key)).and_then(|x| flag(x.get("enabled")));
    let checks: Option<Vec<String>> = p
        .and_then(|p| p.get("required_status_checks"))
        .filter(|c| !c.is_null())
        .map(|c| {
            let mut v: Vec<String> = c
                .get("contexts")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            if v.is_empty() {
                v = c
                    .get("checks")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.get("context").and_then(Value::as_str).map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
            }
            v
        });
    let mut m = Record::new();
    m.insert("repository", s(repo, &["full_name"]));
    m.insert("source", Some("github".into()));
    m.insert(
        "default_branch",
        s(item, &["branch"]).or_else(|| s(repo, &["default_branch"])),
    );
    m.insert("archived", flag(repo.get("archived")));
    m.insert("protected", Some(p.is_some().to_string()));
    m.insert(
        "required_approvals",
        p.map(|_| {
            reviews
                .and_then(|r| r.get("required_approving_review_count"))
                .and_then(Value::as_u64)
                .unwrap_or(0)
                .to_string()
        }),
    );
    m.insert(
        "dismiss_stale_reviews",
        reviews.and_then(|r| flag(r.get("dismiss_stale_reviews"))),
    );
    m.insert(
        "require_code_owner_reviews",
        reviews.and_then(|r| flag(r.get("require_code_owner_reviews"))),
    );
    m.insert("enforce_admins", enabled("enforce_admins"));
    m.insert("allow_force_pushes", enabled("allow_force_pushes"));
    m.insert("required_checks", checks.map(|c| c.join(";")).filter(|c| !c.is_empty()));
    m
}
