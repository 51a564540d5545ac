//! The evidence store on S3-compatible object storage (through the `object_store` crate), so several
//! servers can share one store. The layout under the store's prefix:
//!
//! - `blobs/ab/cdef…`: originals, named by their BLAKE3 (written once; an existing name is never
//!   replaced, since the same name is the same bytes);
//! - `columnar/<blake3 of the original>.parquet`: the derived columnar copies;
//! - `ledger/<first sequence number, 20 digits>.jsonl`: one object per appended batch.
//!
//! The ledger append stays the commit point. A batch is one PUT, which object storage makes visible
//! whole or not at all, and it is written only if no object has its name yet (`If-None-Match: *`):
//! two servers appending after the same entry race for the same name, one wins, and the other reads
//! the new tip and tries again. An object without a ledger entry naming it is garbage to collect
//! (listed by `orphans`), never evidence.

use std::io::{Read, Write as _};
use std::sync::Arc;
use std::time::Duration;

use assure_ledger::{BlobCheck, BlobRef, ColumnarRef, Draft, Entry, seal, tip_of};
use ed25519_dalek::SigningKey;
use futures::{StreamExt as _, TryStreamExt as _};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload};

use crate::store::{EvidenceStore, StoreError};

/// How many times an append retries after losing a race for the next ledger object.
const APPEND_ATTEMPTS: usize = 50;

/// An evidence store in an S3-compatible bucket.
#[derive(Debug)]
pub struct RemoteStore {
    store: Arc<dyn ObjectStore>,
    prefix: Key,
    url: String,
    rt: tokio::runtime::Runtime,
}

/// How to reach the object store beyond its URL: the settings `object_store` reads from the
/// environment (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
/// `AWS_ALLOW_HTTP`, ...), or given here.
#[derive(Debug, Clone, Default)]
pub struct RemoteOptions {
    /// An endpoint other than AWS's (MinIO, Ceph, a local test server).
    pub endpoint: Option<String>,
    /// Access key id and secret.
    pub credentials: Option<(String, String)>,
    /// The region (default `us-east-1`).
    pub region: Option<String>,
    /// A request timeout, and at most this many retries (object_store's defaults otherwise).
    pub timeout: Option<(Duration, usize)>,
    /// Read the rest from the environment.
    pub from_env: bool,
}

fn remote_err<'a>(what: &'static str, key: &'a Key) -> impl FnOnce(object_store::Error) -> StoreError + 'a {
    move |e| StoreError::Remote {
        what,
        key: key.to_string(),
        message: e.to_string(),
    }
}

impl RemoteStore {
    /// Opens the store at `url` (`s3://bucket/prefix`).
    pub fn open(url: &str, options: &RemoteOptions) -> Result<RemoteStore, StoreError> {
        let bad = |message: String| StoreError::Remote {
            what: "open",
            key: url.to_string(),
            message,
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("the evidence store must be an `s3://bucket/prefix` URL".into()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("the URL names no bucket".into()));
        }
        let mut b = if options.from_env {
            AmazonS3Builder::from_env()
        } else {
            AmazonS3Builder::new()
        }
        .with_bucket_name(bucket);
        // Client options replace one another whole: the timeout first, then what the endpoint needs.
        if let Some((timeout, retries)) = options.timeout {
            b = b
                .with_client_options(object_store::ClientOptions::new().with_timeout(timeout))
                .with_retry(object_store::RetryConfig {
                    max_retries: retries,
                    retry_timeout: timeout * (retries as u32 + 1),
                    ..object_store::RetryConfig::default()
                });
        }
        if let Some(e) = &options.endpoint {
            b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
        }
        if let Some((id, secret)) = &options.credentials {
            b = b.with_access_key_id(id).with_secret_access_key(secret);
        }
        if let Some(region) = &options.region {
            b = b.with_region(region);
        } else if !options.from_env || std::env::var_os("AWS_REGION").is_none() {
            b = b.with_region("us-east-1");
        }
        let store = b.build().map_err(|e| bad(e.to_string()))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| bad(format!("cannot start the I/O runtime: {e}")))?;
        Ok(RemoteStore {
            store: Arc::new(store),
            prefix: Key::from(prefix.trim_matches('/')),
            url: url.trim_end_matches('/').to_string(),
            rt,
        })
    }

    /// The store's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `f` on the store's runtime from any thread, also one inside another runtime (the web
    /// server's blocking threads): a fresh thread has no runtime of its own to collide with.
    fn block<T: Send>(&self, f: impl std::future::Future<Output = T> + Send) -> T {
        std::thread::scope(|s| {
            let worker = s.spawn(|| self.rt.block_on(f));
            match worker.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    fn key(&self, rest: &str) -> Key {
        if self.prefix.as_ref().is_empty() {
            Key::from(rest)
        } else {
            Key::from(format!("{}/{rest}", self.prefix))
        }
    }

    fn blob_key(&self, blake3: &str) -> Key {
        let (a, b) = blake3.split_at(blake3.len().min(2));
        self.key(&format!("blobs/{a}/{b}"))
    }

    fn columnar_key(&self, evidence: &str) -> Key {
        self.key(&format!("columnar/{evidence}.parquet"))
    }

    /// The ledger's batch objects, in order.
    async fn ledger_keys(&self) -> Result<Vec<Key>, StoreError> {
        let dir = self.key("ledger");
        let mut keys: Vec<Key> = self
            .store
            .list(Some(&dir))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(remote_err("list", &dir))?;
        keys.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
        Ok(keys)
    }

    async fn get_text(&self, key: &Key) -> Result<String, StoreError> {
        let bytes = self
            .store
            .get(key)
            .await
            .map_err(remote_err("read", key))?
            .bytes()
            .await
            .map_err(remote_err("read", key))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Stored originals no ledger entry names (an import interrupted between storing a file and
    /// recording it): never evidence, listed by `verify`, safe to delete. `named` are the BLAKE3s
    /// the ledger names.
    pub fn orphans(&self, named: &std::collections::BTreeSet<String>) -> Result<Vec<String>, StoreError> {
        let dir = self.key("blobs");
        let listed: Vec<Key> = self.block(async {
            self.store
                .list(Some(&dir))
                .map_ok(|m| m.location)
                .try_collect()
                .await
                .map_err(remote_err("list", &dir))
        })?;
        let mut out: Vec<String> = listed
            .iter()
            .filter(|k| {
                let parts: Vec<&str> = k.as_ref().rsplitn(3, '/').collect();
                match parts.as_slice() {
                    [b, a, ..] => !named.contains(&format!("{a}{b}")),
                    _ => true,
                }
            })
            .map(|k| {
                format!(
                    "s3://{}/{k}",
                    self.url.trim_start_matches("s3://").split('/').next().unwrap_or("")
                )
            })
            .collect();
        out.sort();
        Ok(out)
    }
}

impl EvidenceStore for RemoteStore {
    fn put_blob(&self, src: &mut dyn Read, name: &str) -> Result<BlobRef, StoreError> {
        // Hash while spooling to a local file: the object's name is its hash, known only at the end.
        let mut spool = Spool::new()?;
        let mut hasher = assure_ledger::Hasher::default();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let k = src.read(&mut buf).map_err(|source| StoreError::Io {
                what: "read the input for",
                path: name.into(),
                source,
            })?;
            if k == 0 {
                break;
            }
            let chunk = buf.get(..k).unwrap_or(&[]);
            hasher.update(chunk);
            spool.write(chunk)?;
        }
        let (blake3, sha256, size) = hasher.finish();
        let key = self.blob_key(&blake3);
        self.block(async {
            if self.store.head(&key).await.is_ok() {
                return Ok(());
            }
            let mut upload = object_store::WriteMultipart::new(
                self.store
                    .put_multipart(&key)
                    .await
                    .map_err(remote_err("store", &key))?,
            );
            let mut file = spool.reopen()?;
            loop {
                let k = file.read(&mut buf).map_err(|source| StoreError::Io {
                    what: "read",
                    path: spool.path.clone(),
                    source,
                })?;
                if k == 0 {
                    break;
                }
                upload.wait_for_capacity(4).await.map_err(remote_err("store", &key))?;
                upload.write(buf.get(..k).unwrap_or(&[]));
            }
            upload.finish().await.map_err(remote_err("store", &key))?;
            Ok(())
        })?;
        Ok(BlobRef {
            blake3,
            sha256,
            size,
            name: name.to_string(),
        })
    }

    fn append(&self, drafts: Vec<Draft>, key: &SigningKey) -> Result<Vec<Entry>, StoreError> {
        self.block(async {
            for _ in 0..APPEND_ATTEMPTS {
                let keys = self.ledger_keys().await?;
                let last = match keys.last() {
                    Some(k) => self.get_text(k).await?.lines().last().map(str::to_string),
                    None => None,
                };
                let tip = tip_of(last.as_deref()).ok_or(StoreError::BrokenTip)?;
                let (entries, text) = seal(&tip, drafts.clone(), key);
                let first = entries.first().map_or(tip.seq + 1, |e| e.seq);
                let name = self.key(&format!("ledger/{first:020}.jsonl"));
                let put = self
                    .store
                    .put_opts(
                        &name,
                        PutPayload::from(text.into_bytes()),
                        PutOptions {
                            mode: PutMode::Create,
                            ..PutOptions::default()
                        },
                    )
                    .await;
                match put {
                    Ok(_) => return Ok(entries),
                    // Another writer recorded a batch after the same entry first: chain after it.
                    Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => return Err(remote_err("append to the ledger at", &name)(e)),
                }
            }
            Err(StoreError::Remote {
                what: "append to the ledger of",
                key: self.url.clone(),
                message: format!("{APPEND_ATTEMPTS} attempts each lost the race to another writer"),
            })
        })
    }

    fn ledger(&self) -> Result<String, StoreError> {
        self.block(async {
            let keys = self.ledger_keys().await?;
            // Up to 16 batch objects are read at once, in order.
            let mut text = String::new();
            for group in keys.chunks(16) {
                let mut reads = Vec::with_capacity(group.len());
                for k in group {
                    reads.push(self.get_text(k));
                }
                for t in futures::future::try_join_all(reads).await? {
                    text.push_str(&t);
                }
            }
            Ok(text)
        })
    }

    fn check_blob(&self, blob: &BlobRef) -> BlobCheck {
        let key = self.blob_key(&blob.blake3);
        let hashed = self.block(async {
            let mut stream = self.store.get(&key).await.ok()?.into_stream();
            let mut hasher = assure_ledger::Hasher::default();
            while let Some(chunk) = stream.next().await {
                hasher.update(&chunk.ok()?);
            }
            Some(hasher.finish())
        });
        match hashed {
            None => BlobCheck::Missing,
            Some((blake3, sha256, size)) if blake3 == blob.blake3 && sha256 == blob.sha256 && size == blob.size => {
                BlobCheck::Intact
            }
            Some((blake3, sha256, size)) => BlobCheck::Altered { blake3, sha256, size },
        }
    }

    fn open_blob(&self, blake3: &str) -> Result<Box<dyn Read>, StoreError> {
        let key = self.blob_key(blake3);
        let bytes = self.block(async {
            self.store
                .get(&key)
                .await
                .map_err(remote_err("read", &key))?
                .bytes()
                .await
                .map_err(remote_err("read", &key))
        })?;
        Ok(Box::new(std::io::Cursor::new(bytes)))
    }

    fn put_columnar(&self, evidence: &str, bytes: &[u8], rows: u64) -> Result<ColumnarRef, StoreError> {
        let key = self.columnar_key(evidence);
        self.block(async {
            self.store
                .put(&key, PutPayload::from(bytes.to_vec()))
                .await
                .map_err(remote_err("store", &key))
        })?;
        Ok(ColumnarRef {
            blake3: blake3::hash(bytes).to_hex().to_string(),
            size: bytes.len() as u64,
            rows,
            covers: None,
            layout: None,
        })
    }

    fn read_columnar(&self, evidence: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.columnar_key(evidence);
        self.block(async {
            match self.store.get(&key).await {
                Ok(r) => Ok(Some(r.bytes().await.map_err(remote_err("read", &key))?.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(remote_err("read", &key)(e)),
            }
        })
    }
}

/// A local file an upload is spooled through, removed when dropped.
struct Spool {
    path: std::path::PathBuf,
    file: std::fs::File,
}

impl Spool {
    fn new() -> Result<Spool, StoreError> {
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|e| StoreError::Io {
            what: "name a spool file in",
            path: std::env::temp_dir(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let path = std::env::temp_dir().join(format!("assure-upload-{}-{}", std::process::id(), hex::encode(id)));
        let file = std::fs::File::create(&path).map_err(|source| StoreError::Io {
            what: "create",
            path: path.clone(),
            source,
        })?;
        Ok(Spool { path, file })
    }

    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        self.file.write_all(chunk).map_err(|source| StoreError::Io {
            what: "write",
            path: self.path.clone(),
            source,
        })
    }

    fn reopen(&self) -> Result<std::fs::File, StoreError> {
        std::fs::File::open(&self.path).map_err(|source| StoreError::Io {
            what: "read",
            path: self.path.clone(),
            source,
        })
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
