//! `github`: an organisation's members and its repositories' merged pull requests.
//!
//! - **Members** (`github members ORG`, onto `accounts` through `github-members`): GraphQL
//!   `organization.membersWithRole` with `role` and `hasTwoFactorEnabled`, 100 a page, following
//!   `pageInfo.endCursor`; saved as the JSON array of the pages. Needs `read:org` (and an owner's
//!   token for two-factor status: GitHub hides it from others).
//! - **Pull requests** (`github pulls OWNER/REPO`, onto `changes` through `github-pulls`): REST
//!   `GET /repos/{repo}/pulls?state=closed&sort=updated&direction=desc`, following `Link` pages
//!   until a pull request last updated at or before the stream's cursor (or before the period)
//!   appears; each merged one gets its `reviews` (`GET .../pulls/{n}/reviews`, paged). The
//!   cursor is the newest `updated_at` seen. Needs `repo` (read) on private repositories.
//! - **Branch protection** (`github repositories ORG`, onto `repositories` through
//!   `github-repositories`): per repository `GET /repos/{repo}` (its default branch) and
//!   `GET /repos/{repo}/branches/{branch}/protection` (404 "Branch not protected" is recorded as
//!   no protection); saved as one JSON array, all repositories or none. Needs *Administration:
//!   read* (classic: `repo`): GitHub shows protection only to a token that may administer it.
//! - Repositories are `repos = ["owner/name"]`, or every repository of the organisation that is
//!   not archived (`GET /orgs/{org}/repos`).
//!
//! The token is `GITHUB_TOKEN` (or the name in `token_env`); GitHub Enterprise Server through
//! `endpoint = "https://HOST/api/v3"`.

use std::collections::BTreeMap;

use assure_project::model::CollectorConfig;
use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::http::Http;
use crate::{PATIENCE, Pull, Secrets, base, slug};

/// GitHub's API.
pub const API: &str = "https://api.github.com";

/// The members query: the fields `github-members` reads.
pub const MEMBERS_QUERY: &str = "query($org: String!, $after: String) { organization(login: $org) { membersWithRole(first: 100, after: $after) { pageInfo { hasNextPage endCursor } edges { role hasTwoFactorEnabled node { login email createdAt } } } } }";

/// Pulls of one `github` collector.
pub fn collect(
    c: &CollectorConfig,
    cursors: &BTreeMap<String, String>,
    since: NaiveDate,
    secrets: &Secrets,
) -> Vec<Pull> {
    let endpoint = c.endpoint.clone().unwrap_or_else(|| API.to_string());
    let org = c.org.clone().unwrap_or_default();
    let token = match secrets.get(c.token_env.as_deref().unwrap_or("GITHUB_TOKEN")) {
        Ok(t) => t,
        Err(e) => return vec![Pull::failed("github", format!("github {org}"), &endpoint, e)],
    };
    let mut http = match Http::new(PATIENCE) {
        Ok(h) => h,
        Err(e) => return vec![Pull::failed("github", format!("github {org}"), &endpoint, e)],
    };
    let headers = headers(&token);
    let mut out = Vec::new();
    let stream = format!("github members {org}");
    out.push(Pull {
        collector: "github".into(),
        stream: stream.clone(),
        source: crate::http::redact(&endpoint),
        outcome: members(&mut http, &endpoint, &org, &headers)
            .map(|bytes| Some((format!("github-members-{}.json", slug(&org)), bytes)))
            .map_err(|e| format!("members of {org}: {e}")),
        cursor: None,
    });
    let repos = if c.repos.is_empty() {
        match org_repos(&mut http, &endpoint, &org, &headers) {
            Ok(r) => r,
            Err(e) => {
                out.push(Pull::failed(
                    "github",
                    format!("github repositories {org}"),
                    &endpoint,
                    format!("repositories of {org}: {e}"),
                ));
                return out;
            }
        }
    } else {
        c.repos.clone()
    };
    let protection: Result<Vec<Value>, String> = repos
        .iter()
        .map(|repo| protection(&mut http, &endpoint, repo, &headers))
        .collect();
    out.push(Pull {
        collector: "github".into(),
        stream: format!("github repositories {org}"),
        source: crate::http::redact(&endpoint),
        outcome: protection
            .map(|items| {
                Some((
                    format!("github-repositories-{}.json", slug(&org)),
                    serde_json::to_vec_pretty(&Value::Array(items)).unwrap_or_default(),
                ))
            })
            .map_err(|e| format!("branch protection: {e}")),
        cursor: None,
    });
    for repo in repos {
        let stream = format!("github pulls {repo}");
        let cursor = cursors.get(&stream).cloned();
        let pulled = pulls(&mut http, &endpoint, &repo, &headers, cursor.as_deref(), since);
        let (outcome, next) = match pulled {
            Ok((prs, newest)) if prs.is_empty() => (Ok(None), newest.or(cursor)),
            Ok((prs, newest)) => {
                let stamp = newest.as_deref().map(|n| n.replace([':', '-'], "")).unwrap_or_default();
                let bytes = serde_json::to_vec_pretty(&Value::Array(prs)).unwrap_or_default();
                (
                    Ok(Some((
                        format!("github-pulls-{}-{}.json", slug(&repo), slug(&stamp)),
                        bytes,
                    ))),
                    newest.or(cursor),
                )
            }
            Err(e) => (Err(format!("pull requests of {repo}: {e}")), None),
        };
        out.push(Pull {
            collector: "github".into(),
            stream,
            source: crate::http::redact(&endpoint),
            outcome,
            cursor: next,
        });
    }
    out
}

/// A repository, its default branch and that branch's protection (null when not protected).
fn protection(http: &mut Http, endpoint: &str, repo: &str, headers: &[(&str, String)]) -> Result<Value, String> {
    let base = endpoint.trim_end_matches('/');
    let r = http
        .ok("GET", &format!("{base}/repos/{repo}"), headers, None)?
        .json(&format!("repository {repo}"))?;
    let branch = r
        .get("default_branch")
        .and_then(Value::as_str)
        .unwrap_or("main")
        .to_string();
    let url = format!(
        "{base}/repos/{repo}/branches/{}/protection",
        branch.replace('%', "%25").replace(' ', "%20")
    );
    let a = http.send("GET", &url, headers, None)?;
    let p = match a.status {
        200 => a.json(&format!("protection of {repo}:{branch}"))?,
        404 if a.body.contains("Branch not protected") => Value::Null,
        _ => {
            return Err(format!(
                "{repo}: {} answered HTTP {}{}{}",
                crate::http::redact(&url),
                a.status,
                crate::http::vendor_message(&a.body),
                if a.status == 403 || a.status == 404 {
                    " (GitHub shows branch protection only to a token that may administer the repository: see the README)"
                } else {
                    ""
                }
            ));
        }
    };
    Ok(json!({"repository": r, "branch": branch, "protection": p}))
}

fn headers(token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("accept", "application/vnd.github.v3+json".to_string()),
        ("authorization", format!("token {token}")),
    ]
}

/// GraphQL lives beside the REST root: `https://api.github.com/graphql`, or `/api/graphql` on
/// GitHub Enterprise Server (whose REST root is `/api/v3`).
fn graphql_url(endpoint: &str) -> String {
    let b = base(endpoint);
    match b.strip_suffix("/api/v3") {
        Some(host) => format!("{host}/api/graphql"),
        None => format!("{b}/graphql"),
    }
}

/// Every page of the organisation's members, as the JSON array of GraphQL responses.
pub fn members(http: &mut Http, endpoint: &str, org: &str, headers: &[(&str, String)]) -> Result<Vec<u8>, String> {
    let url = graphql_url(endpoint);
    let mut headers = headers.to_vec();
    headers.push(("content-type", "application/json".to_string()));
    let headers = headers.as_slice();
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let body = json!({"query": MEMBERS_QUERY, "variables": {"org": org, "after": after}}).to_string();
        let a = http.ok("POST", &url, headers, Some(&body))?;
        let v = a.json(&format!("page {} of the members", pages.len() + 1))?;
        if let Some(errors) = v.get("errors").and_then(Value::as_array)
            && !errors.is_empty()
        {
            let m: Vec<&str> = errors
                .iter()
                .filter_map(|e| e.get("message").and_then(Value::as_str))
                .collect();
            return Err(format!(
                "page {} of the members: GitHub answered {}",
                pages.len() + 1,
                m.join("; ")
            ));
        }
        let info = v
            .pointer("/data/organization/membersWithRole/pageInfo")
            .ok_or_else(|| {
                format!(
                    "page {} of the members has no `membersWithRole` (is `{org}` an organisation?)",
                    pages.len() + 1
                )
            })?;
        let next = info
            .get("hasNextPage")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .then(|| info.get("endCursor").and_then(Value::as_str).map(str::to_string))
            .flatten();
        pages.push(v);
        match next {
            Some(n) if pages.len() < 10_000 => after = Some(n),
            _ => break,
        }
    }
    serde_json::to_vec_pretty(&Value::Array(pages)).map_err(|e| e.to_string())
}

fn org_repos(http: &mut Http, endpoint: &str, org: &str, headers: &[(&str, String)]) -> Result<Vec<String>, String> {
    let url = format!("{}/orgs/{org}/repos?type=all&per_page=100", base(endpoint));
    let all = http.paged(&url, headers, "the repositories", |_| false)?;
    Ok(all
        .iter()
        .filter(|r| !r.get("archived").and_then(Value::as_bool).unwrap_or(false))
        .filter_map(|r| r.get("full_name").and_then(Value::as_str).map(str::to_string))
        .collect())
}

/// Merged pull requests updated after the cursor (and not before `since`), each with its reviews;
/// and the newest `updated_at` seen.
pub fn pulls(
    http: &mut Http,
    endpoint: &str,
    repo: &str,
    headers: &[(&str, String)],
    cursor: Option<&str>,
    since: NaiveDate,
) -> Result<(Vec<Value>, Option<String>), String> {
    let url = format!(
        "{}/repos/{repo}/pulls?state=closed&sort=updated&direction=desc&per_page=100",
        base(endpoint)
    );
    let floor = format!("{since}T00:00:00Z");
    let mut newest: Option<String> = None;
    let listed = http.paged(&url, headers, "the pull requests", |pr| {
        let updated = pr
            .get("updated_at")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if newest.as_deref().is_none_or(|n| updated.as_str() > n) {
            newest = Some(updated.clone());
        }
        // Sorted newest first: the first one at or before the cursor ends the stream.
        cursor.is_some_and(|c| updated.as_str() <= c) || updated < floor
    })?;
    // The stop test also saw the one that stopped the walk; only later ones move the cursor.
    let newest = newest.filter(|n| cursor.is_none_or(|c| n.as_str() > c));
    let mut merged = Vec::new();
    for mut pr in listed {
        let merged_at = pr.get("merged_at").and_then(Value::as_str).unwrap_or_default();
        if merged_at.is_empty() || merged_at < floor.as_str() {
            continue;
        }
        let n = pr.get("number").and_then(Value::as_u64).unwrap_or_default();
        let reviews_url = format!("{}/repos/{repo}/pulls/{n}/reviews?per_page=100", base(endpoint));
        let reviews = http.paged(&reviews_url, headers, &format!("the reviews of #{n}"), |_| false)?;
        if let Some(o) = pr.as_object_mut() {
            o.insert("reviews".into(), Value::Array(reviews));
        }
        merged.push(pr);
    }
    Ok((merged, newest))
}
