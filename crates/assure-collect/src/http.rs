//! The HTTP client every collector shares: one request at a time, answers read whole, and the
//! vendors' flow control honoured with a bound.
//!
//! - **Rate limits.** HTTP 429, or 403 with a rate-limit header at zero (GitHub's
//!   `x-ratelimit-remaining: 0`, Okta's `x-rate-limit-remaining: 0`): wait as the answer says
//!   (`Retry-After` in seconds or as a date, else the reset time in `x-ratelimit-reset` /
//!   `x-rate-limit-reset`, epoch seconds), else back off; at most [`MAX_THROTTLED`] times.
//! - **Failures.** A connection error or a 5xx answer is retried after 1, 2 and 4 s; then the
//!   request fails with the status and the vendor's own message.
//! - **The bound.** No wait may take the collector past its patience (two minutes by default): a
//!   vendor asking for longer gets a failure that says so, and the next cycle tries again.
//! - **Pages** follow the `Link: <...>; rel="next"` header (GitHub, Okta) or a token in the body
//!   (Google, GraphQL), in the collector.

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

/// Throttled answers waited out per request before giving up.
pub const MAX_THROTTLED: u32 = 5;
/// Retries of a request that failed (connection error or 5xx).
pub const MAX_RETRIES: u32 = 2;
/// The largest answer read for one request.
pub const MAX_BODY: usize = 256 * 1024 * 1024;

/// An answer, read whole.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
}

impl Answer {
    /// The URL of the next page, from a `Link` header's `rel="next"`.
    pub fn next_link(&self) -> Option<String> {
        self.headers
            .get_all("link")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .find_map(|part| {
                let (url, params) = part.split_once(';')?;
                params
                    .split(';')
                    .any(|p| {
                        let p = p.trim().replace(' ', "");
                        p == "rel=\"next\"" || p == "rel=next"
                    })
                    .then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_string())
            })
    }

    /// The body as JSON, or an error naming what was asked.
    pub fn json(&self, what: &str) -> Result<serde_json::Value, String> {
        serde_json::from_str(&self.body).map_err(|e| format!("{what}: the answer is not JSON ({e})"))
    }
}

/// One collector's HTTP client.
#[derive(Debug)]
pub struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    started: Instant,
    patience: Duration,
    /// Requests sent (retries included).
    pub requests: u32,
    /// Seconds spent waiting for rate limits.
    pub throttled_secs: u64,
}

impl Http {
    /// A client whose waits together stay within `patience`.
    pub fn new(patience: Duration) -> Result<Self, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
        let client = {
            // The client's connector needs the runtime's reactor from the moment it is built.
            let _inside = rt.enter();
            reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .user_agent(concat!("assure/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| format!("cannot start the HTTP client: {e}"))?
        };
        Ok(Self {
            rt,
            client,
            started: Instant::now(),
            patience,
            requests: 0,
            throttled_secs: 0,
        })
    }

    /// Sends one request, waiting out rate limits and retrying failures within the bound. Any
    /// answer that is neither throttled nor a server error is returned, whatever its status.
    pub fn send(
        &mut self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: Option<&str>,
    ) -> Result<Answer, String> {
        let mut throttled = 0;
        let mut failed = 0;
        loop {
            let method_v = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| format!("{method}: {e}"))?;
            let mut req = self.client.request(method_v, url);
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            if let Some(b) = body {
                req = req.body(b.to_string());
            }
            self.requests += 1;
            let sent = self.rt.block_on(async {
                let resp = req.send().await?;
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                // Read in chunks up to the bound: an answer larger than any page is refused, not held.
                let mut resp = resp;
                let mut bytes: Vec<u8> = Vec::new();
                while let Some(chunk) = resp.chunk().await? {
                    if bytes.len() + chunk.len() > MAX_BODY {
                        return Ok(Err(format!(
                            "{} answered more than {} MiB in one page; no API page this collector reads is that large",
                            redact(url),
                            MAX_BODY / (1024 * 1024)
                        )));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                let body = String::from_utf8_lossy(&bytes).into_owned();
                Ok::<_, reqwest::Error>(Ok(Answer { status, headers, body }))
            });
            let sent = match sent {
                Ok(Err(too_large)) => return Err(too_large),
                Ok(Ok(a)) => Ok(a),
                Err(e) => Err(e),
            };
            match sent {
                Err(e) => {
                    failed += 1;
                    if failed > MAX_RETRIES {
                        return Err(format!("cannot reach {}: {e} ({failed} attempts)", redact(url)));
                    }
                    self.wait(backoff(failed), url, "did not answer")?;
                }
                Ok(a) if is_throttled(&a) => {
                    throttled += 1;
                    if throttled > MAX_THROTTLED {
                        return Err(format!(
                            "{} kept answering HTTP {} (rate limited) after {MAX_THROTTLED} waits",
                            redact(url),
                            a.status
                        ));
                    }
                    let wait = retry_after(&a.headers).unwrap_or_else(|| backoff(throttled));
                    self.throttled_secs += wait.as_secs();
                    self.wait(wait, url, "is rate limited and asks to wait")?;
                }
                Ok(a) if a.status >= 500 => {
                    failed += 1;
                    if failed > MAX_RETRIES {
                        return Err(format!(
                            "{} answered HTTP {}{} ({failed} attempts)",
                            redact(url),
                            a.status,
                            vendor_message(&a.body)
                        ));
                    }
                    self.wait(backoff(failed), url, "failed and is retried after")?;
                }
                Ok(a) => return Ok(a),
            }
        }
    }

    /// Sends a request that must succeed (2xx); anything else is an error with the vendor's words.
    pub fn ok(
        &mut self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: Option<&str>,
    ) -> Result<Answer, String> {
        let a = self.send(method, url, headers, body)?;
        if (200..300).contains(&a.status) {
            Ok(a)
        } else {
            Err(format!(
                "{} answered HTTP {}{}{}",
                redact(url),
                a.status,
                vendor_message(&a.body),
                match a.status {
                    401 => " (the credential was refused: check the token)",
                    403 => " (the credential lacks a permission this collector needs: see the README)",
                    404 => " (not found: check the organisation, repository or domain)",
                    _ => "",
                }
            ))
        }
    }

    /// One page of a JSON list: its items and the `Link: rel="next"` URL, or an error naming the
    /// page and what was asked.
    pub fn list_page(
        &mut self,
        url: &str,
        headers: &[(&str, String)],
        what: &str,
        page: u32,
    ) -> Result<(Vec<serde_json::Value>, Option<String>), String> {
        let a = self
            .ok("GET", url, headers, None)
            .map_err(|e| format!("page {page} of {what}: {e}"))?;
        match a.json(&format!("page {page} of {what}"))? {
            serde_json::Value::Array(items) => Ok((items, a.next_link())),
            _ => Err(format!("page {page} of {what} is not a JSON list")),
        }
    }

    /// Every item of a paged list, following `Link: rel="next"`; `stop` ends the walk early at
    /// the first item it accepts (not included).
    pub fn paged(
        &mut self,
        first: &str,
        headers: &[(&str, String)],
        what: &str,
        mut stop: impl FnMut(&serde_json::Value) -> bool,
    ) -> Result<Vec<serde_json::Value>, String> {
        let mut items = Vec::new();
        let mut url = first.to_string();
        for page in 1..=100_000u32 {
            let (list, next) = self.list_page(&url, headers, what, page)?;
            for item in list {
                if stop(&item) {
                    return Ok(items);
                }
                items.push(item);
            }
            match next {
                Some(n) => url = n,
                None => break,
            }
        }
        Ok(items)
    }

    fn wait(&self, wait: Duration, url: &str, why: &str) -> Result<(), String> {
        if self.started.elapsed() + wait > self.patience {
            return Err(format!(
                "{} {why} {} s, past this collector's bound of {} s; the next cycle tries again",
                redact(url),
                wait.as_secs(),
                self.patience.as_secs()
            ));
        }
        std::thread::sleep(wait);
        Ok(())
    }
}

fn backoff(n: u32) -> Duration {
    Duration::from_secs(1u64 << n.saturating_sub(1).min(4))
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// A throttled answer: 429, or 403 with the rate-limit budget at zero.
fn is_throttled(a: &Answer) -> bool {
    a.status == 429
        || (a.status == 403
            && (header(&a.headers, "x-ratelimit-remaining") == Some("0")
                || header(&a.headers, "x-rate-limit-remaining") == Some("0")
                || header(&a.headers, "retry-after").is_some()))
}

/// How long a throttled answer asks to wait: `Retry-After` (seconds or an HTTP date), else the
/// reset time (epoch seconds, GitHub's and Okta's headers).
pub fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let now = chrono::Utc::now();
    if let Some(v) = header(h, "retry-after") {
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(at) = chrono::DateTime::parse_from_rfc2822(v) {
            return Some((at.with_timezone(&chrono::Utc) - now).to_std().unwrap_or_default());
        }
    }
    let reset = header(h, "x-ratelimit-reset").or_else(|| header(h, "x-rate-limit-reset"))?;
    let at = reset.parse::<i64>().ok()?;
    Some(Duration::from_secs(
        u64::try_from(at - now.timestamp()).unwrap_or(0) + 1,
    ))
}

/// The vendor's own message from an error body (`message`, `errorSummary`, `error.message`).
pub fn vendor_message(body: &str) -> String {
    let v: serde_json::Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(_) => {
            let t: String = body.trim().chars().take(200).collect();
            return if t.is_empty() { String::new() } else { format!(": {t}") };
        }
    };
    let m = v
        .get("message")
        .or_else(|| v.get("errorSummary"))
        .or_else(|| v.pointer("/error/message"))
        .or_else(|| v.pointer("/errors/0/message"))
        .or_else(|| v.get("error"))
        .and_then(serde_json::Value::as_str);
    m.map(|m| format!(": {m}")).unwrap_or_default()
}

/// A URL as it may be shown: no user-info, no query values that look like credentials.
pub fn redact(url: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let base = match base.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest.get(..authority_end).and_then(|a| a.rfind('@')) {
                Some(at) => format!("{scheme}://{}", rest.get(at + 1..).unwrap_or_default()),
                None => base.to_string(),
            }
        }
        None => base.to_string(),
    };
    if query.is_empty() {
        return base;
    }
    let q: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _))
                if ["token", "access_token", "key", "signature", "x-amz-signature"]
                    .contains(&k.to_ascii_lowercase().as_str()) =>
            {
                format!("{k}=REDACTED")
            }
            _ => kv.to_string(),
        })
        .collect();
    format!("{base}?{}", q.join("&"))
}
