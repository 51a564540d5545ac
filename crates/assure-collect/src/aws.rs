//! `aws-iam`: the IAM credential report. `GenerateCredentialReport` asks IAM to build it,
//! `GetCredentialReport` fetches it (base64 CSV); while IAM is still building it the request is
//! repeated with a growing pause, for at most a minute. Requests are signed with AWS's SigV4 signer
//! (`aws-sigv4`) for the `iam` service; credentials `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY` and (optionally) `AWS_SESSION_TOKEN` from [`Secrets`]. A throttled answer (HTTP 429 or
//! `Throttling`) is retried after the `Retry-After` it names, within the same bound.

use std::time::{Duration, Instant, SystemTime};

use assure_project::model::CollectorConfig;
use base64::Engine as _;

use crate::{PATIENCE, Pull, Secrets};

/// The IAM API's own endpoint.
const IAM: &str = "https://iam.amazonaws.com/";

/// Pulls the credential report.
pub fn collect(c: &CollectorConfig, secrets: &Secrets) -> Pull {
    let endpoint = c.endpoint.clone().unwrap_or_else(|| IAM.to_string());
    let outcome = aws_credential_report(&endpoint, c.region.as_deref().unwrap_or("us-east-1"), secrets).map(Some);
    Pull {
        collector: c.kind.clone(),
        stream: "aws-iam credential-report".into(),
        source: crate::http::redact(&endpoint),
        outcome,
        cursor: None,
    }
}

fn aws_credential_report(endpoint: &str, region: &str, secrets: &Secrets) -> Result<(String, Vec<u8>), String> {
    let key = secrets.get("AWS_ACCESS_KEY_ID")?;
    let secret = secrets.get("AWS_SECRET_ACCESS_KEY")?;
    let token = secrets.get("AWS_SESSION_TOKEN").ok();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
    let _inside = rt.enter();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
    let call = |action: &str| -> Result<(u16, Option<u64>, String), String> {
        let body = format!("Action={action}&Version=2010-05-08");
        let identity: aws_smithy_runtime_api::client::identity::Identity =
            aws_credential_types::Credentials::new(&key, &secret, token.clone(), None, "environment").into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name("iam")
            .time(SystemTime::now())
            .settings(aws_sigv4::http_request::SigningSettings::default())
            .build()
            .map_err(|e| format!("cannot sign the request: {e}"))?
            .into();
        let headers = [("content-type", "application/x-www-form-urlencoded; charset=utf-8")];
        let signable = aws_sigv4::http_request::SignableRequest::new(
            "POST",
            endpoint,
            headers.iter().copied(),
            aws_sigv4::http_request::SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| format!("cannot sign the request: {e}"))?;
        let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
            .map_err(|e| format!("cannot sign the request: {e}"))?
            .into_parts();
        let mut req = client.post(endpoint).body(body.clone());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        for (k, v) in instructions.headers() {
            req = req.header(k, v);
        }
        let resp = rt
            .block_on(req.send())
            .map_err(|e| format!("cannot reach {endpoint}: {e}"))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let text = rt
            .block_on(resp.text())
            .map_err(|e| format!("the answer from {endpoint} broke off: {e}"))?;
        Ok((status, retry_after, text))
    };
    let started = Instant::now();
    let mut pause = Duration::from_millis(500);
    let mut generated = false;
    loop {
        if !generated {
            let (status, retry, text) = call("GenerateCredentialReport")?;
            if let Some(wait) = throttled(status, retry, &text) {
                wait_or_give_up(started, wait)?;
                continue;
            }
            if status != 200 {
                return Err(aws_error("GenerateCredentialReport", status, &text));
            }
            generated = true;
        }
        let (status, retry, text) = call("GetCredentialReport")?;
        if let Some(wait) = throttled(status, retry, &text) {
            wait_or_give_up(started, wait)?;
            continue;
        }
        if status == 200 {
            let content = between(&text, "<Content>", "</Content>")
                .ok_or_else(|| "IAM answered without the report's `Content`".to_string())?;
            let csv = base64::engine::general_purpose::STANDARD
                .decode(content.trim())
                .map_err(|e| format!("the report's content is not base64: {e}"))?;
            let day = between(&text, "<GeneratedTime>", "</GeneratedTime>")
                .and_then(|t| t.get(..10))
                .unwrap_or("report")
                .to_string();
            return Ok((format!("aws-credential-report-{day}.csv"), csv));
        }
        // Still being built (`ReportInProgress`, `ReportNotPresent` right after asking): wait.
        if text.contains("ReportInProgress") || text.contains("ReportNotPresent") {
            wait_or_give_up(started, pause)?;
            pause = (pause * 2).min(Duration::from_secs(8));
            continue;
        }
        return Err(aws_error("GetCredentialReport", status, &text));
    }
}

/// How long a throttled answer asks to wait, when it is one.
fn throttled(status: u16, retry_after: Option<u64>, text: &str) -> Option<Duration> {
    (status == 429 || text.contains("<Code>Throttling</Code>"))
        .then(|| Duration::from_secs(retry_after.unwrap_or(2).min(30)))
}

fn wait_or_give_up(started: Instant, wait: Duration) -> Result<(), String> {
    if started.elapsed() + wait > PATIENCE {
        return Err(format!(
            "IAM did not deliver the credential report within {} s (still being built or throttled)",
            PATIENCE.as_secs()
        ));
    }
    std::thread::sleep(wait);
    Ok(())
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text.get(start..)?.find(close)? + start;
    text.get(start..end)
}

fn aws_error(action: &str, status: u16, text: &str) -> String {
    let code = between(text, "<Code>", "</Code>").unwrap_or("unknown");
    let message = between(text, "<Message>", "</Message>").unwrap_or("");
    format!(
        "IAM {action} failed (HTTP {status}, {code}){}",
        if message.is_empty() {
            String::new()
        } else {
            format!(": {message}")
        }
    )
}
