//! `cloudtrail`: AWS CloudTrail events from the trail's S3 bucket, where CloudTrail delivers them
//! (`AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/<file>.json.gz`, each file
//! `{"Records": [...]}`), onto `events` through the `cloudtrail` connector.
//!
//! The object keys sort by time within an account and region, so the cursor is the last key read
//! in each of them (a small JSON object): each cycle lists the bucket's keys, reads each file past
//! its region's cursor, and records their events as one file (the `Records` of every new file, in
//! key order), the cursor going into the ledger note. The first cycle starts at the period's first
//! day. A file that cannot be read or is not CloudTrail's fails the pull, and the cursor stays.
//! At most 2,000 files or 512 MiB of log a cycle (a week of one region's five-minute files); the
//! rest come next.
//!
//! Credentials: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`) with
//! `s3:ListBucket` on the bucket and `s3:GetObject` on its `AWSLogs/` keys. `bucket` names it;
//! `prefix` narrows it (default `AWSLogs/`); `endpoint` for an S3-compatible server.
//! `LookupEvents` is not used: it gives only management events of the last 90 days, two requests
//! a second, while the bucket holds everything the trail records.

use std::collections::BTreeMap;
use std::io::Read as _;

use assure_project::model::CollectorConfig;
use chrono::NaiveDate;
use futures::TryStreamExt as _;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt as _};
use serde_json::Value;

use crate::{Pull, Secrets};

/// Files read in one cycle.
const MAX_FILES: usize = 2_000;
/// Decompressed bytes read in one cycle; past it the rest waits for the next cycle.
const MAX_BYTES: usize = 512 * 1024 * 1024;

/// The pull of one `cloudtrail` collector.
pub fn collect(c: &CollectorConfig, cursors: &BTreeMap<String, String>, since: NaiveDate, secrets: &Secrets) -> Pull {
    let bucket = c.bucket.clone().unwrap_or_default();
    let prefix = c.prefix.clone().unwrap_or_else(|| "AWSLogs/".into());
    let stream = format!("cloudtrail s3://{bucket}/{prefix}");
    let source = c.endpoint.clone().map_or_else(
        || format!("s3://{bucket}/{prefix}"),
        |e| format!("{e} s3://{bucket}/{prefix}"),
    );
    let cursor = cursors.get(&stream).cloned();
    let outcome = read(c, &bucket, &prefix, cursor.as_deref(), since, secrets);
    let (outcome, next) = match outcome {
        Ok((records, _, next)) if records.is_empty() => (Ok(None), Some(next)),
        Ok((records, last, next)) => {
            let name = format!(
                "cloudtrail-{}.json",
                last.rsplit('/')
                    .next()
                    .unwrap_or("events")
                    .trim_end_matches(".gz")
                    .trim_end_matches(".json")
            );
            let bytes = serde_json::to_vec(&serde_json::json!({ "Records": records })).unwrap_or_default();
            (Ok(Some((name, bytes))), Some(next))
        }
        Err(e) => (Err(e), None),
    };
    Pull {
        collector: "cloudtrail".into(),
        stream,
        source,
        outcome,
        cursor: next,
    }
}

/// The new files' records, the last key read and the next cursor.
fn read(
    c: &CollectorConfig,
    bucket: &str,
    prefix: &str,
    cursor: Option<&str>,
    since: NaiveDate,
    secrets: &Secrets,
) -> Result<(Vec<Value>, String, String), String> {
    let mut b = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_access_key_id(secrets.get("AWS_ACCESS_KEY_ID")?)
        .with_secret_access_key(secrets.get("AWS_SECRET_ACCESS_KEY")?)
        .with_region(c.region.as_deref().unwrap_or("us-east-1"));
    if let Ok(token) = secrets.get("AWS_SESSION_TOKEN") {
        b = b.with_token(token);
    }
    if let Some(e) = &c.endpoint {
        b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
    }
    let store = b
        .build()
        .map_err(|e| format!("cannot reach the bucket {bucket}: {e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the S3 client: {e}"))?;
    rt.block_on(async {
        let mut keys: Vec<(String, u64)> = store
            .list(Some(&Key::from(prefix.trim_end_matches('/'))))
            .map_ok(|m| (m.location.to_string(), m.size))
            .try_collect()
            .await
            .map_err(|e| format!("cannot list s3://{bucket}/{prefix}: {e}"))?;
        keys.sort();
        // Per account and region, the last key read; a region not read yet starts at the period's
        // first day (CloudTrail's keys carry the date).
        let mut seen: BTreeMap<String, String> = cursor.and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default();
        let floor = since.format("/%Y/%m/%d/").to_string();
        let new: Vec<(String, u64)> = keys
            .into_iter()
            .filter(|(k, _)| k.contains("/CloudTrail/") && (k.ends_with(".json.gz") || k.ends_with(".json")))
            .filter(|(k, _)| match seen.get(region_of(k)) {
                Some(c) => k > c,
                None => day_part(k).is_none_or(|d| d >= floor.as_str()),
            })
            .take(MAX_FILES)
            .collect();
        let mut records = Vec::new();
        let mut last = String::new();
        let mut read = 0usize;
        for (key, _) in &new {
            if read >= MAX_BYTES {
                break;
            }
            let bytes = store
                .get(&Key::from(key.as_str()))
                .await
                .map_err(|e| format!("cannot read s3://{bucket}/{key}: {e}"))?
                .bytes()
                .await
                .map_err(|e| format!("cannot read s3://{bucket}/{key}: {e}"))?;
            let text = if key.ends_with(".gz") {
                let mut out = String::new();
                flate2::read::GzDecoder::new(bytes.as_ref())
                    .take(MAX_BYTES as u64 + 1)
                    .read_to_string(&mut out)
                    .map_err(|e| format!("s3://{bucket}/{key} is not a gzipped CloudTrail file: {e}"))?;
                if out.len() > MAX_BYTES {
                    return Err(format!(
                        "s3://{bucket}/{key} is larger than {} MiB decompressed: not a CloudTrail log file (they are a few MiB)",
                        MAX_BYTES / (1024 * 1024)
                    ));
                }
                out
            } else {
                String::from_utf8(bytes.to_vec()).map_err(|_| format!("s3://{bucket}/{key} is not text"))?
            };
            read += text.len();
            let v: Value = serde_json::from_str(&text)
                .map_err(|e| format!("s3://{bucket}/{key} is not a CloudTrail file (JSON: {e})"))?;
            let list = v
                .get("Records")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("s3://{bucket}/{key} has no `Records`: not a CloudTrail log file"))?;
            records.extend(list.iter().cloned());
            seen.insert(region_of(key).to_string(), key.clone());
            last.clone_from(key);
        }
        Ok((records, last, serde_json::to_string(&seen).unwrap_or_default()))
    })
}

/// The part of a key that names its account and region: `.../CloudTrail/<region>/`.
fn region_of(key: &str) -> &str {
    let Some(i) = key.find("/CloudTrail/") else { return key };
    let start = i + "/CloudTrail/".len();
    match key.get(start..).and_then(|r| r.find('/')) {
        Some(end) => key.get(..start + end + 1).unwrap_or(key),
        None => key,
    }
}

/// `/YYYY/MM/DD/` from a CloudTrail key, when it has one.
fn day_part(key: &str) -> Option<&str> {
    let i = key.find("/CloudTrail/")?;
    let rest = key.get(i + "/CloudTrail/".len()..)?;
    let region_end = rest.find('/')?;
    rest.get(region_end..region_end + 12)
}
