//! `okta`: users with their enrolled factors, and the System Log since the cursor.
//!
//! - **Users** (`okta users`, onto `accounts` through `okta-users`): `GET /api/v1/users?limit=200`,
//!   following `Link` pages; for each user not deprovisioned, `GET /api/v1/users/{id}/factors`,
//!   added to the user as `factors`. Saved as one JSON array.
//! - **System Log** (`okta system-log`, onto `events` through `okta-system-log`):
//!   `GET /api/v1/logs?since=...&sortOrder=ASCENDING&limit=1000` the first time (from the period's
//!   first day, at most the 90 days Okta keeps), then Okta's own polling: follow `rel="next"`
//!   until an empty page; that last `next` link is the cursor the next cycle starts from, so no
//!   event is read twice or skipped. At most 1,000 pages a cycle; the rest comes next cycle.
//!
//! The token is an API token in `OKTA_API_TOKEN` (or the name in `token_env`), sent as
//! `Authorization: SSWS ...`; a read-only administrator's token is enough. `endpoint` is the
//! organisation's URL (`https://acme.okta.com`).

use std::collections::BTreeMap;

use assure_project::model::CollectorConfig;
use chrono::NaiveDate;
use serde_json::Value;

use crate::http::Http;
use crate::{PATIENCE, Pull, Secrets, base};

/// Okta keeps the System Log this many days.
const RETENTION_DAYS: i64 = 90;
/// Pages of the System Log read in one cycle.
const MAX_LOG_PAGES: u32 = 1_000;

/// Pulls of one `okta` collector.
pub fn collect(
    c: &CollectorConfig,
    cursors: &BTreeMap<String, String>,
    since: NaiveDate,
    secrets: &Secrets,
) -> Vec<Pull> {
    let endpoint = c.endpoint.clone().unwrap_or_default();
    let token = match secrets.get(c.token_env.as_deref().unwrap_or("OKTA_API_TOKEN")) {
        Ok(t) => t,
        Err(e) => return vec![Pull::failed("okta", "okta".into(), &endpoint, e)],
    };
    let mut http = match Http::new(PATIENCE) {
        Ok(h) => h,
        Err(e) => return vec![Pull::failed("okta", "okta".into(), &endpoint, e)],
    };
    let headers = vec![
        ("accept", "application/json".to_string()),
        ("authorization", format!("SSWS {token}")),
    ];
    let users = users(&mut http, &endpoint, &headers).map(|bytes| Some(("okta-users.json".to_string(), bytes)));
    let stream = "okta system-log".to_string();
    let (log, cursor) = match system_log(&mut http, &endpoint, &headers, cursors.get(&stream), since) {
        Ok((events, next)) if events.is_empty() => (Ok(None), next),
        Ok((events, next)) => {
            let day = |e: Option<&Value>| {
                e.and_then(|e| e.get("published"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
            };
            let name = format!("okta-system-log-{}-{}.json", day(events.first()), day(events.last()));
            let bytes = serde_json::to_vec_pretty(&Value::Array(events)).unwrap_or_default();
            (Ok(Some((name, bytes))), next)
        }
        Err(e) => (Err(e), None),
    };
    vec![
        Pull {
            collector: "okta".into(),
            stream: "okta users".into(),
            source: crate::http::redact(&endpoint),
            outcome: users.map_err(|e| format!("users: {e}")),
            cursor: None,
        },
        Pull {
            collector: "okta".into(),
            stream,
            source: crate::http::redact(&endpoint),
            outcome: log.map_err(|e| format!("System Log: {e}")),
            cursor,
        },
    ]
}

/// Every user, each with its enrolled factors.
pub fn users(http: &mut Http, endpoint: &str, headers: &[(&str, String)]) -> Result<Vec<u8>, String> {
    let url = format!("{}/api/v1/users?limit=200", base(endpoint));
    let mut users = http.paged(&url, headers, "the users", |_| false)?;
    for u in &mut users {
        if u.get("status").and_then(Value::as_str) == Some("DEPROVISIONED") {
            continue;
        }
        let id = u.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        let f = format!("{}/api/v1/users/{id}/factors", base(endpoint));
        let factors = http.paged(&f, headers, &format!("the factors of user {id}"), |_| false)?;
        if let Some(o) = u.as_object_mut() {
            o.insert("factors".into(), Value::Array(factors));
        }
    }
    serde_json::to_vec_pretty(&Value::Array(users)).map_err(|e| e.to_string())
}

/// The System Log's new events and the link the next cycle starts from.
pub fn system_log(
    http: &mut Http,
    endpoint: &str,
    headers: &[(&str, String)],
    cursor: Option<&String>,
    since: NaiveDate,
) -> Result<(Vec<Value>, Option<String>), String> {
    let oldest = chrono::Utc::now().date_naive() - chrono::Duration::days(RETENTION_DAYS - 1);
    let mut url = match cursor {
        Some(c) => c.clone(),
        None => format!(
            "{}/api/v1/logs?since={}T00:00:00.000Z&sortOrder=ASCENDING&limit=1000",
            base(endpoint),
            since.max(oldest)
        ),
    };
    let mut events = Vec::new();
    for page in 1..=MAX_LOG_PAGES {
        let (list, next) = http.list_page(&url, headers, "the System Log", page)?;
        let empty = list.is_empty();
        events.extend(list);
        match next {
            // Polling: an empty page still carries the link to poll from next time.
            Some(next) => {
                url = next;
                if empty {
                    break;
                }
            }
            None => break,
        }
    }
    Ok((events, Some(url)))
}
