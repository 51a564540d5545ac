//! `jira`: issues found by a JQL search (access requests, change tickets), from Jira Cloud's
//! search API (`GET /rest/api/3/search/jql`, 100 a page, following `nextPageToken`), onto the
//! table `[connectors.jira]` maps them to, through the same column mapping as a CSV export, with
//! the mapping's columns naming the issues' JSON paths (`key`, `fields.created`,
//! `fields.customfield_10050.emailAddress`). Saved as the JSON array of the pages.
//!
//! Incremental: the first search starts at the period's first day (`updated >= "<day>"`); the
//! cursor is the newest `fields.updated` recorded, and the next search adds
//! `AND updated >= "<its day>"` (Jira compares dates in the searching user's time zone, so the
//! whole day is read again and issues seen before are counted once by their key).
//!
//! Credentials: `JIRA_EMAIL` and `JIRA_API_TOKEN` (an Atlassian API token of an account that can
//! browse the projects searched), sent as HTTP basic authentication; or, without `JIRA_EMAIL`, the
//! token as a bearer token (a personal access token of Jira Data Center, whose search lives at the
//! same path when `endpoint` names its `/rest` root's host).

use std::collections::BTreeMap;

use assure_project::model::CollectorConfig;
use base64::Engine as _;
use serde_json::Value;

use crate::http::Http;
use crate::{PATIENCE, Pull, Secrets, base, slug};

/// The pull of one `jira` collector.
pub fn collect(
    c: &CollectorConfig,
    cursors: &BTreeMap<String, String>,
    since: chrono::NaiveDate,
    secrets: &Secrets,
) -> Pull {
    let endpoint = c.endpoint.clone().unwrap_or_default();
    let jql = c.jql.clone().unwrap_or_default();
    let stream = format!("jira {jql}");
    let cursor = cursors.get(&stream).cloned();
    let result = credentials(c, secrets).and_then(|auth| {
        let mut http = Http::new(PATIENCE)?;
        search(&mut http, &endpoint, &jql, cursor.as_deref(), since, &auth)
    });
    let (outcome, next) = match result {
        Ok((pages, 0, newest)) => {
            let _ = pages;
            (Ok(None), newest.or(cursor))
        }
        Ok((pages, _, newest)) => {
            let stamp = newest.as_deref().map(slug).unwrap_or_default();
            let bytes = serde_json::to_vec_pretty(&Value::Array(pages)).unwrap_or_default();
            (Ok(Some((format!("jira-{stamp}.json"), bytes))), newest.or(cursor))
        }
        Err(e) => (Err(format!("search `{jql}`: {e}")), None),
    };
    Pull {
        collector: "jira".into(),
        stream,
        source: crate::http::redact(&endpoint),
        outcome,
        cursor: next,
    }
}

fn credentials(c: &CollectorConfig, secrets: &Secrets) -> Result<String, String> {
    let token = secrets.get(c.token_env.as_deref().unwrap_or("JIRA_API_TOKEN"))?;
    Ok(match secrets.get("JIRA_EMAIL") {
        Ok(email) => format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{email}:{token}"))
        ),
        Err(_) => format!("Bearer {token}"),
    })
}

/// Every page of the search, how many issues, and the newest `updated` among them.
pub fn search(
    http: &mut Http,
    endpoint: &str,
    jql: &str,
    cursor: Option<&str>,
    since: chrono::NaiveDate,
    auth: &str,
) -> Result<(Vec<Value>, usize, Option<String>), String> {
    // The first search starts at the period's first day, later ones at the cursor's day.
    let day = cursor
        .and_then(|c| c.get(..10))
        .map_or_else(|| since.to_string(), str::to_string);
    let query = format!("({jql}) AND updated >= \"{day}\" ORDER BY updated ASC");
    let headers = [
        ("accept", "application/json".to_string()),
        ("authorization", auth.to_string()),
    ];
    let mut pages = Vec::new();
    let mut count = 0;
    let mut newest: Option<String> = cursor.map(str::to_string);
    let mut token: Option<String> = None;
    loop {
        let n = pages.len() + 1;
        let mut params = vec![
            ("jql", query.clone()),
            ("fields", "*navigable".to_string()),
            ("maxResults", "100".to_string()),
        ];
        if let Some(t) = &token {
            params.push(("nextPageToken", t.clone()));
        }
        let url = reqwest::Url::parse_with_params(&format!("{}/rest/api/3/search/jql", base(endpoint)), &params)
            .map_err(|e| format!("`{endpoint}` is not a URL: {e}"))?;
        let a = http
            .ok("GET", url.as_str(), &headers, None)
            .map_err(|e| format!("page {n}: {e}"))?;
        let v = a.json(&format!("page {n}"))?;
        let issues = v
            .get("issues")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("page {n} has no `issues`: not Jira's search answer"))?;
        count += issues.len();
        for i in issues {
            if let Some(u) = i.pointer("/fields/updated").and_then(Value::as_str)
                && newest.as_deref().is_none_or(|x| u > x)
            {
                newest = Some(u.to_string());
            }
        }
        let next = v
            .get("nextPageToken")
            .and_then(Value::as_str)
            .filter(|_| !v.get("isLast").and_then(Value::as_bool).unwrap_or(true))
            .map(str::to_string);
        pages.push(v);
        match next {
            Some(t) if pages.len() < 10_000 => token = Some(t),
            _ => break,
        }
    }
    Ok((pages, count, newest))
}
