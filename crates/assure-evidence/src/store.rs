//! The evidence store on the local file system: blobs by content address, an append-only ledger,
//! and the durability rules (temporary file, fsync, rename; the ledger entry is written last).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use assure_ledger::{BlobCheck, BlobRef, ColumnarRef, Draft, Entry, Hasher, seal, tip_of};
use ed25519_dalek::SigningKey;

/// Something the store could not do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file system operation failed.
    #[error("cannot {what} `{path}`: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// An object-storage operation failed.
    #[error("cannot {what} `{key}`: {message}")]
    Remote {
        /// What was being done.
        what: &'static str,
        /// The object (or the store's URL).
        key: String,
        /// The cause, as the object store reported it.
        message: String,
    },
    /// A file's bytes are not those validation read: it changed on disk during the import.
    #[error("`{path}` changed after it was validated; nothing was imported")]
    Changed {
        /// The file.
        path: PathBuf,
    },
    /// The ledger's last entry cannot be read, so nothing can be chained to it.
    #[error("the ledger's last entry is unreadable; run `assure evidence verify` to see what is wrong")]
    BrokenTip,
}

/// Where evidence lives: the local disk ([`FsStore`]) or S3-compatible object storage
/// ([`crate::remote::RemoteStore`]), chosen per project by [`Store::open`]. Shared by the threads
/// that store an import's files side by side.
pub trait EvidenceStore: Send + Sync {
    /// Stores the bytes of `src` under their content address; returns what was stored.
    fn put_blob(&self, src: &mut dyn Read, name: &str) -> Result<BlobRef, StoreError>;
    /// Stores an original that an import copied to `spooled` while validating it, whose hashes
    /// and size validation computed as `read`: by default the copy is stored like any input, and
    /// refused if its bytes are not those; the local store moves the copy into place instead.
    fn adopt_blob(&self, spooled: &Path, read: BlobRef) -> Result<BlobRef, StoreError> {
        store_checked(self, spooled, read)
    }
    /// Chains, signs and appends the drafts as one write; either all are recorded or none.
    fn append(&self, drafts: Vec<Draft>, key: &SigningKey) -> Result<Vec<Entry>, StoreError>;
    /// Returns the ledger's text.
    fn ledger(&self) -> Result<String, StoreError>;
    /// Re-hashes a stored blob and compares it with what the ledger recorded.
    fn check_blob(&self, blob: &BlobRef) -> BlobCheck;
    /// Opens a stored blob for reading.
    fn open_blob(&self, blake3: &str) -> Result<Box<dyn Read>, StoreError>;
    /// Stores the columnar copy of the original whose BLAKE3 is `evidence` (replacing a previous
    /// one: it is derived data); returns its hash, size and `rows`.
    fn put_columnar(&self, evidence: &str, bytes: &[u8], rows: u64) -> Result<ColumnarRef, StoreError>;
    /// Reads the columnar copy of the original whose BLAKE3 is `evidence`, if there is one.
    fn read_columnar(&self, evidence: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Opens the columnar copy of the original whose BLAKE3 is `evidence` for reading in order, if
    /// there is one: on the local disk the file itself, so a run never holds a large copy whole;
    /// elsewhere its bytes.
    fn open_columnar(&self, evidence: &str) -> Result<Option<Box<dyn crate::columnar::ReadSeek>>, StoreError> {
        Ok(self
            .read_columnar(evidence)?
            .map(|b| Box::new(io::Cursor::new(b)) as Box<dyn crate::columnar::ReadSeek>))
    }
}

/// The store under a project's `.assure/evidence` directory.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Stores `path` through `store.put_blob`, refusing it if its bytes are not those `read` describes.
pub(crate) fn store_checked<S: EvidenceStore + ?Sized>(
    store: &S,
    path: &Path,
    read: BlobRef,
) -> Result<BlobRef, StoreError> {
    let mut f = File::open(path).map_err(io_err("open", path))?;
    let blob = store.put_blob(&mut f, &read.name)?;
    if blob.blake3 == read.blake3 && blob.size == read.size {
        Ok(blob)
    } else {
        Err(StoreError::Changed {
            path: path.to_path_buf(),
        })
    }
}

/// The local directory for work in progress of the project at `project_root`: files being stored,
/// and the copies an import makes of its originals while validating them (see
/// [`crate::import::Options::spool`]). On the same file system as the local store's blobs, so a
/// copy is stored by renaming it.
pub fn spool_dir(project_root: &Path) -> PathBuf {
    project_root.join(".assure").join("evidence").join("tmp")
}

/// Moves a complete, synced file into its content address `dest` (or drops it when that content is
/// stored already), read-only, with the directory entry synced.
fn install(file: &Path, dest: &Path) -> Result<(), StoreError> {
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).map_err(io_err("create", parent))?;
    }
    if dest.exists() {
        fs::remove_file(file).map_err(io_err("remove", file))?;
    } else {
        fs::rename(file, dest).map_err(io_err("store", dest))?;
        // Stored evidence is never modified in place; make that the file system's default too.
        if let Ok(meta) = fs::metadata(dest) {
            let mut perms = meta.permissions();
            perms.set_readonly(true);
            let _ = fs::set_permissions(dest, perms);
        }
        if let Some(parent) = dest.parent() {
            sync_dir(parent);
        }
    }
    Ok(())
}

/// Creates a file in `dir` (a [`spool_dir`]) for an import's copy of an original, named for this
/// process so that the store's sweep removes it if the process dies before storing it.
pub fn spool_file(dir: &Path) -> io::Result<(PathBuf, File)> {
    fs::create_dir_all(dir)?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{}-import-{n}.part", std::process::id()));
    let file = File::create(&path)?;
    Ok((path, file))
}

/// Creates an unnamed file in `dir` (a [`spool_dir`]) for derived bytes a process keeps on disk
/// rather than in memory until it is done with them, such as a test run's encoded rows until the
/// run is recorded (`runfile::encode_population`). It has no name, so it is gone when its last
/// handle closes, even if the process dies: nothing is left to sweep.
pub fn spool_unnamed(dir: &Path) -> io::Result<File> {
    fs::create_dir_all(dir)?;
    tempfile::tempfile_in(dir)
}

fn sync_dir(dir: &Path) {
    // Persist the directory entry of a rename; not supported on every platform, so best effort.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

impl FsStore {
    /// Opens (creating if needed) the store of the project at `project_root`.
    pub fn open(project_root: &Path) -> Result<FsStore, StoreError> {
        let root = project_root.join(".assure").join("evidence");
        for dir in [root.join("blobs"), spool_dir(project_root)] {
            fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        }
        let store = FsStore { root };
        store.sweep();
        Ok(store)
    }

    /// Stored files no ledger entry names (left by an import interrupted between storing a file and
    /// recording it): never evidence; listed by `verify`, safe to delete. `named` are the BLAKE3s
    /// the ledger names.
    pub fn orphans(&self, named: &std::collections::BTreeSet<String>) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let Ok(dirs) = fs::read_dir(self.root.join("blobs")) else {
            return out;
        };
        for d in dirs.flatten() {
            let prefix = d.file_name().to_string_lossy().into_owned();
            let Ok(files) = fs::read_dir(d.path()) else { continue };
            for f in files.flatten() {
                let hash = format!("{prefix}{}", f.file_name().to_string_lossy());
                if !named.contains(&hash) {
                    out.push(f.path());
                }
            }
        }
        out.sort();
        out
    }

    /// Removes temporary files left by processes that died while writing (their names start with
    /// the writer's process id; a file of a live process is another import in progress and stays).
    /// Returns how many were removed.
    pub fn sweep(&self) -> usize {
        let Ok(dir) = fs::read_dir(self.root.join("tmp")) else {
            return 0;
        };
        let mut removed = 0;
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(pid) = name.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            if pid != std::process::id() && !process_alive(pid, &e.path()) && fs::remove_file(e.path()).is_ok() {
                removed += 1;
            }
        }
        removed
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Returns the ledger file's path.
    pub fn ledger_path(&self) -> PathBuf {
        self.root.join("ledger.jsonl")
    }

    /// Returns the path of the columnar copy of a blob.
    pub fn columnar_path(&self, evidence: &str) -> PathBuf {
        let (a, b) = evidence.split_at(evidence.len().min(2));
        self.root.join("columnar").join(a).join(format!("{b}.parquet"))
    }

    /// Returns the path of a blob.
    pub fn blob_path(&self, blake3: &str) -> PathBuf {
        let (a, b) = blake3.split_at(blake3.len().min(2));
        self.root.join("blobs").join(a).join(b)
    }
}

/// Whether the process that wrote a temporary file may still be running: on Linux, whether it
/// exists; elsewhere, whether the file was touched in the last day.
fn process_alive(pid: u32, file: &Path) -> bool {
    if Path::new("/proc/self").exists() {
        return Path::new(&format!("/proc/{pid}")).exists();
    }
    fs::metadata(file)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_none_or(|age| age < std::time::Duration::from_secs(24 * 3600))
}

/// Reads the last complete line of the ledger and cuts off an incomplete one (a write that was
/// interrupted and never acknowledged). Returns the last line.
fn tail(file: &mut File, path: &Path) -> Result<Option<String>, StoreError> {
    let len = file.metadata().map_err(io_err("read", path))?.len();
    if len == 0 {
        return Ok(None);
    }
    let mut window = 64 * 1024u64;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start)).map_err(io_err("read", path))?;
        let mut buf = Vec::new();
        Read::by_ref(file)
            .take(len - start)
            .read_to_end(&mut buf)
            .map_err(io_err("read", path))?;
        let complete_end = buf.iter().rposition(|&b| b == b'\n');
        match complete_end {
            Some(end) => {
                let keep = start + end as u64 + 1;
                if keep < len {
                    file.set_len(keep).map_err(io_err("repair", path))?;
                    file.sync_all().map_err(io_err("repair", path))?;
                }
                let body = buf.get(..end).unwrap_or(&[]);
                match body.iter().rposition(|&b| b == b'\n') {
                    Some(p) => {
                        return Ok(Some(
                            String::from_utf8_lossy(body.get(p + 1..).unwrap_or(&[])).into_owned(),
                        ));
                    }
                    None if start == 0 => return Ok(Some(String::from_utf8_lossy(body).into_owned())),
                    None => window *= 4,
                }
            }
            None if start == 0 => {
                // Only an incomplete first line: nothing was ever acknowledged.
                file.set_len(0).map_err(io_err("repair", path))?;
                return Ok(None);
            }
            None => window *= 4,
        }
    }
}

/// Removes the trailing entries of a batch that was never committed (its closing entry is not on
/// disk) and returns the last committed line. Stops, without cutting, at a line that is not an entry:
/// that is damage for `verify` to report, not an interrupted write to repair.
fn cut_uncommitted(file: &mut File, path: &Path) -> Result<Option<String>, StoreError> {
    file.seek(SeekFrom::Start(0)).map_err(io_err("read", path))?;
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(io_err("read", path))?;
    let mut end = text.len();
    loop {
        let body = text.get(..end).unwrap_or_default();
        let trimmed = body.strip_suffix('\n').unwrap_or(body);
        if trimmed.is_empty() {
            break;
        }
        let start = trimmed.rfind('\n').map_or(0, |p| p + 1);
        let line = trimmed.get(start..).unwrap_or_default();
        match assure_ledger::parse_line(line) {
            Ok(e) if e.closes_batch() => {
                file.set_len(end as u64).map_err(io_err("repair", path))?;
                file.sync_all().map_err(io_err("repair", path))?;
                return Ok(Some(line.to_string()));
            }
            Ok(_) => end = start,
            Err(_) => return Err(StoreError::BrokenTip),
        }
    }
    file.set_len(0).map_err(io_err("repair", path))?;
    file.sync_all().map_err(io_err("repair", path))?;
    Ok(None)
}

impl EvidenceStore for FsStore {
    fn put_blob(&self, src: &mut dyn Read, name: &str) -> Result<BlobRef, StoreError> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = self.root.join("tmp").join(format!("{}-{n}.part", std::process::id()));
        let result = (|| {
            let mut out = File::create(&tmp).map_err(io_err("create", &tmp))?;
            let mut hasher = Hasher::default();
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let k = src
                    .read(&mut buf)
                    .map_err(io_err("read the input for", Path::new(name)))?;
                if k == 0 {
                    break;
                }
                let chunk = buf.get(..k).unwrap_or(&[]);
                hasher.update(chunk);
                out.write_all(chunk).map_err(io_err("write", &tmp))?;
            }
            out.sync_all().map_err(io_err("sync", &tmp))?;
            let (blake3, sha256, size) = hasher.finish();
            install(&tmp, &self.blob_path(&blake3))?;
            Ok(BlobRef {
                blake3,
                sha256,
                size,
                name: name.to_string(),
            })
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn adopt_blob(&self, spooled: &Path, read: BlobRef) -> Result<BlobRef, StoreError> {
        // Only a copy in this store's own directory for work in progress is moved; the import's
        // copier wrote it and hashed the same bytes, so it is not read again.
        let hex = read.blake3.len() == 64 && read.blake3.bytes().all(|b| b.is_ascii_hexdigit());
        if spooled.parent() != Some(self.root.join("tmp").as_path()) || !hex {
            return store_checked(self, spooled, read);
        }
        let file = File::open(spooled).map_err(io_err("open", spooled))?;
        file.sync_all().map_err(io_err("sync", spooled))?;
        drop(file);
        install(spooled, &self.blob_path(&read.blake3))?;
        Ok(read)
    }

    fn append(&self, drafts: Vec<Draft>, key: &SigningKey) -> Result<Vec<Entry>, StoreError> {
        let path = self.ledger_path();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err("open", &path))?;
        file.lock().map_err(io_err("lock", &path))?;
        let result = (|| {
            let mut last = tail(&mut file, &path)?;
            // A batch whose closing entry never reached the disk is removed before anything is
            // chained to the ledger: the next batch follows the last committed entry.
            if let Some(Ok(e)) = last.as_deref().map(assure_ledger::parse_line)
                && !e.closes_batch()
            {
                last = cut_uncommitted(&mut file, &path)?;
            }
            let tip = tip_of(last.as_deref()).ok_or(StoreError::BrokenTip)?;
            let (entries, text) = seal(&tip, drafts, key);
            file.seek(SeekFrom::End(0)).map_err(io_err("write", &path))?;
            file.write_all(text.as_bytes()).map_err(io_err("write", &path))?;
            file.sync_data().map_err(io_err("sync", &path))?;
            Ok(entries)
        })();
        let _ = file.unlock();
        result
    }

    fn ledger(&self) -> Result<String, StoreError> {
        let path = self.ledger_path();
        match fs::read(&path) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(StoreError::Io {
                what: "read",
                path,
                source: e,
            }),
        }
    }

    fn check_blob(&self, blob: &BlobRef) -> BlobCheck {
        let path = self.blob_path(&blob.blake3);
        let Ok(mut f) = File::open(&path) else {
            return BlobCheck::Missing;
        };
        let mut hasher = Hasher::default();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => hasher.update(buf.get(..k).unwrap_or(&[])),
                Err(_) => return BlobCheck::Missing,
            }
        }
        let (blake3, sha256, size) = hasher.finish();
        if blake3 == blob.blake3 && sha256 == blob.sha256 && size == blob.size {
            BlobCheck::Intact
        } else {
            BlobCheck::Altered { blake3, sha256, size }
        }
    }

    fn open_blob(&self, blake3: &str) -> Result<Box<dyn Read>, StoreError> {
        let path = self.blob_path(blake3);
        let f = File::open(&path).map_err(io_err("open", &path))?;
        Ok(Box::new(f))
    }

    fn put_columnar(&self, evidence: &str, bytes: &[u8], rows: u64) -> Result<ColumnarRef, StoreError> {
        let dest = self.columnar_path(evidence);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(io_err("create", parent))?;
        }
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .root
            .join("tmp")
            .join(format!("{}-{n}.parquet.part", std::process::id()));
        let result = (|| {
            let mut out = File::create(&tmp).map_err(io_err("create", &tmp))?;
            out.write_all(bytes).map_err(io_err("write", &tmp))?;
            out.sync_all().map_err(io_err("sync", &tmp))?;
            fs::rename(&tmp, &dest).map_err(io_err("store", &dest))?;
            if let Some(parent) = dest.parent() {
                sync_dir(parent);
            }
            Ok(ColumnarRef {
                blake3: blake3::hash(bytes).to_hex().to_string(),
                size: bytes.len() as u64,
                rows,
                covers: None,
                layout: None,
            })
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn read_columnar(&self, evidence: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.columnar_path(evidence);
        match fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io {
                what: "read",
                path,
                source,
            }),
        }
    }

    fn open_columnar(&self, evidence: &str) -> Result<Option<Box<dyn crate::columnar::ReadSeek>>, StoreError> {
        let path = self.columnar_path(evidence);
        match fs::File::open(&path) {
            Ok(f) => Ok(Some(Box::new(io::BufReader::with_capacity(1 << 16, f)))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io {
                what: "read",
                path,
                source,
            }),
        }
    }
}

/// The environment variable that puts a project's evidence in object storage (`s3://bucket/prefix`);
/// unset, evidence stays on the local disk under `.assure/evidence`.
pub const STORE_VARIABLE: &str = "ASSURE_EVIDENCE_STORE";

/// A project's evidence store: the local disk, or S3-compatible object storage shared by several
/// servers. The signing key stays with each installation (`.assure/keys`).
#[derive(Debug)]
pub enum Store {
    /// Under the project's `.assure/evidence`.
    Local(FsStore),
    /// In a bucket.
    Remote(crate::remote::RemoteStore),
}

impl Store {
    /// Opens the project's store: the object store named by `location` (`s3://bucket/prefix`, with
    /// the connection settings `object_store` reads from the environment), or the local one.
    pub fn open(project_root: &Path, location: Option<&str>) -> Result<Store, StoreError> {
        match location.map(str::trim).filter(|l| !l.is_empty()) {
            Some(url) => Ok(Store::Remote(crate::remote::RemoteStore::open(
                url,
                &crate::remote::RemoteOptions {
                    from_env: true,
                    ..Default::default()
                },
            )?)),
            None => Ok(Store::Local(FsStore::open(project_root)?)),
        }
    }

    /// Opens the project's store as [`STORE_VARIABLE`] says.
    pub fn from_env(project_root: &Path) -> Result<Store, StoreError> {
        Store::open(project_root, std::env::var(STORE_VARIABLE).ok().as_deref())
    }

    /// Where the evidence is, for people.
    pub fn describe(&self) -> String {
        match self {
            Store::Local(s) => s.root().display().to_string(),
            Store::Remote(r) => r.url().to_string(),
        }
    }

    /// Stored originals no ledger entry names; see [`FsStore::orphans`].
    pub fn orphans(&self, named: &std::collections::BTreeSet<String>) -> Result<Vec<String>, StoreError> {
        match self {
            Store::Local(s) => Ok(s.orphans(named).iter().map(|p| p.display().to_string()).collect()),
            Store::Remote(r) => r.orphans(named),
        }
    }

    fn inner(&self) -> &dyn EvidenceStore {
        match self {
            Store::Local(s) => s,
            Store::Remote(r) => r,
        }
    }
}

impl EvidenceStore for Store {
    fn adopt_blob(&self, spooled: &Path, read: BlobRef) -> Result<BlobRef, StoreError> {
        self.inner().adopt_blob(spooled, read)
    }
    fn put_blob(&self, src: &mut dyn Read, name: &str) -> Result<BlobRef, StoreError> {
        self.inner().put_blob(src, name)
    }
    fn append(&self, drafts: Vec<Draft>, key: &SigningKey) -> Result<Vec<Entry>, StoreError> {
        self.inner().append(drafts, key)
    }
    fn ledger(&self) -> Result<String, StoreError> {
        self.inner().ledger()
    }
    fn check_blob(&self, blob: &BlobRef) -> BlobCheck {
        self.inner().check_blob(blob)
    }
    fn open_blob(&self, blake3: &str) -> Result<Box<dyn Read>, StoreError> {
        self.inner().open_blob(blake3)
    }
    fn put_columnar(&self, evidence: &str, bytes: &[u8], rows: u64) -> Result<ColumnarRef, StoreError> {
        self.inner().put_columnar(evidence, bytes, rows)
    }
    fn read_columnar(&self, evidence: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner().read_columnar(evidence)
    }
    fn open_columnar(&self, evidence: &str) -> Result<Option<Box<dyn crate::columnar::ReadSeek>>, StoreError> {
        self.inner().open_columnar(evidence)
    }
}
