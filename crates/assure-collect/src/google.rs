//! `google-workspace`: users with their 2-step verification status, from the Admin SDK Directory
//! API (`GET /admin/directory/v1/users?customer=my_customer`, 500 a page, following
//! `nextPageToken`), onto `accounts` through `google-workspace-users`; saved as the JSON array of
//! the pages.
//!
//! The credential is an OAuth access token in `GOOGLE_ACCESS_TOKEN` (or the name in `token_env`)
//! with the scope `https://www.googleapis.com/auth/admin.directory.user.readonly`, for example from
//! a service account with domain-wide delegation (`gcloud auth print-access-token
//! --impersonate-service-account=...`). `customer` names the account (default `my_customer`).

use assure_project::model::CollectorConfig;
use serde_json::Value;

use crate::http::Http;
use crate::{PATIENCE, Pull, Secrets, base};

/// Google's Admin SDK.
pub const API: &str = "https://admin.googleapis.com";

/// The users pull.
pub fn collect(c: &CollectorConfig, secrets: &Secrets) -> Pull {
    let endpoint = c.endpoint.clone().unwrap_or_else(|| API.to_string());
    let customer = c.customer.clone().unwrap_or_else(|| "my_customer".into());
    let outcome = secrets
        .get(c.token_env.as_deref().unwrap_or("GOOGLE_ACCESS_TOKEN"))
        .and_then(|token| {
            let mut http = Http::new(PATIENCE)?;
            let headers = vec![
                ("accept", "application/json".to_string()),
                ("authorization", format!("Bearer {token}")),
            ];
            users(&mut http, &endpoint, &customer, &headers)
        })
        .map(|bytes| Some(("google-workspace-users.json".to_string(), bytes)))
        .map_err(|e| format!("users: {e}"));
    Pull {
        collector: "google-workspace".into(),
        stream: "google-workspace users".into(),
        source: crate::http::redact(&endpoint),
        outcome,
        cursor: None,
    }
}

/// Every page of users.
pub fn users(http: &mut Http, endpoint: &str, customer: &str, headers: &[(&str, String)]) -> Result<Vec<u8>, String> {
    let first = format!(
        "{}/admin/directory/v1/users?customer={customer}&maxResults=500&orderBy=email",
        base(endpoint)
    );
    let mut pages = Vec::new();
    let mut url = first.clone();
    loop {
        let n = pages.len() + 1;
        let a = http
            .ok("GET", &url, headers, None)
            .map_err(|e| format!("page {n}: {e}"))?;
        let v = a.json(&format!("page {n}"))?;
        if v.get("users").is_some_and(|u| !u.is_array()) {
            return Err(format!("page {n}: `users` is not a list"));
        }
        let token = v.get("nextPageToken").and_then(Value::as_str).map(str::to_string);
        pages.push(v);
        match token {
            Some(t) if !t.is_empty() && pages.len() < 100_000 => url = format!("{first}&pageToken={t}"),
            _ => break,
        }
    }
    serde_json::to_vec_pretty(&Value::Array(pages)).map_err(|e| e.to_string())
}
