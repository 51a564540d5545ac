//! Importing files: detect the connector and table, validate every file completely, and only then
//! store the blobs and append one ledger entry per file in a single write, so an import is recorded
//! whole or not at all.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use assure_ledger::{Action, Draft, Entry};
use ed25519_dalek::SigningKey;
use serde::Serialize;

use crate::connectors::{Connector, Kind};
use crate::read::{Format, Problem, column_names, detect_table};
use crate::sniff::{HEAD_BYTES, sniff};
use crate::store::{EvidenceStore, StoreError};
use crate::tables::{Table, table};

/// A file that passed validation and is ready to store.
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    /// The path.
    #[serde(skip)]
    pub path: PathBuf,
    /// The name shown and recorded.
    pub name: String,
    /// The connector that read it.
    pub connector: &'static str,
    /// How the connector was chosen (`named`, `by content`).
    pub chosen: &'static str,
    /// The table it fills.
    pub table: &'static str,
    /// Data rows.
    pub rows: u64,
    /// Columns kept with an `x_` prefix.
    pub extra_columns: Vec<String>,
    /// For a mapped connector (`hr-roster`), the mapping used, recorded with the entry.
    #[serde(skip)]
    pub mapping: Option<crate::vendor::Mapping>,
    /// The columnar copy of the validated rows, written in the same pass as validation and stored
    /// beside the original at commit.
    #[serde(skip)]
    pub columnar: Option<Vec<u8>>,
    /// The earliest and latest day in the rows' dated columns, recorded with the columnar copy.
    pub covers: Option<[String; 2]>,
    /// The original's bytes as validation read them: their hashes, and the copy made while reading
    /// when the import spools. What is stored is what was checked.
    #[serde(skip)]
    pub original: Option<std::sync::Arc<Original>>,
}

/// What the caller says about an import.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Force a table.
    pub table: Option<String>,
    /// Force a connector (`canonical-csv`, `canonical-json`, `canonical-ndjson`).
    pub connector: Option<String>,
    /// The project's HR roster mapping, when it has one.
    pub hr_roster: Option<crate::vendor::Mapping>,
    /// The project's Jira export mapping, when it has one.
    pub jira: Option<crate::vendor::Mapping>,
    /// A directory (the store's own `tmp` for a local store) where each original is copied as
    /// validation reads it, so that storing moves the copy into place instead of reading the file
    /// again; without one, storing reads the file again and refuses it if it changed.
    pub spool: Option<PathBuf>,
}

static BYTES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Returns how many input bytes this process has read for validation and storage so far; a
/// terminal front end polls it to show progress, rate and time left without a callback.
pub fn bytes_processed() -> u64 {
    BYTES.load(std::sync::atomic::Ordering::Relaxed)
}

/// A reader that adds what it reads to [`bytes_processed`].
struct Counting<R>(R);

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        BYTES.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// An original as validation read it: the BLAKE3, SHA-256 and size of every byte read, and where
/// those bytes were copied as they were read, when the import spools. Dropping it removes a copy
/// that was never stored.
#[derive(Debug)]
pub struct Original {
    /// BLAKE3, hex.
    pub blake3: String,
    /// SHA-256, hex.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
    spooled: Option<PathBuf>,
}

impl Original {
    /// The copy made while validating, if the import spooled.
    pub fn spooled(&self) -> Option<&Path> {
        self.spooled.as_deref()
    }
}

impl Drop for Original {
    fn drop(&mut self) {
        // Stored copies were moved away already; only one never stored is still here.
        if let Some(p) = &self.spooled {
            let _ = fs::remove_file(p);
        }
    }
}

/// Bytes handed to the copier at a time.
const TEE_CHUNK: usize = 1 << 20;

/// What the copier thread ends with: the hashes, and the spool's failure if writing it failed.
type Copied = (assure_ledger::Hasher, Option<std::io::Error>);

/// A reader that hands every byte it reads, in order, to a thread that hashes it and (when
/// spooling) writes it to a file: validation's one read of a file is also the read that stores it,
/// on the core the parser leaves free.
struct Tee<R> {
    inner: R,
    pending: Vec<u8>,
    chunks: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
    /// The copier's answer, until `finish` takes it.
    copied: Option<std::sync::mpsc::Receiver<Copied>>,
    spool: Option<PathBuf>,
}

impl<R: Read> Tee<R> {
    fn new(inner: R, spool_dir: Option<&Path>) -> std::io::Result<Tee<R>> {
        let (spool, mut out) = match spool_dir {
            Some(dir) => {
                let (path, file) = crate::store::spool_file(dir)?;
                (Some(path), Some(file))
            }
            None => (None, None),
        };
        let (chunks, arrive) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let (give_back, spare) = std::sync::mpsc::channel::<Vec<u8>>();
        let (done, copied) = std::sync::mpsc::channel::<Copied>();
        // Detached: it answers once the last byte is written, then flushes the copy to disk while
        // the next file is validated (storing syncs it again, by then with little left to write).
        let copier = std::thread::Builder::new()
            .name("assure-import-copy".into())
            .spawn(move || {
                use std::io::Write as _;
                let mut hasher = assure_ledger::Hasher::default();
                let mut failed = None;
                for mut chunk in arrive {
                    hasher.update(&chunk);
                    if let Some(f) = out.as_mut()
                        && let Err(e) = f.write_all(&chunk)
                    {
                        failed = Some(e);
                        out = None;
                    }
                    chunk.clear();
                    let _ = give_back.send(chunk);
                }
                let _ = done.send((hasher, failed));
                if let Some(f) = out {
                    let _ = f.sync_data();
                }
            });
        if let Err(e) = copier {
            // No thread, no copy: the file just created is removed, not left for the sweep.
            if let Some(p) = &spool {
                let _ = fs::remove_file(p);
            }
            return Err(e);
        }
        Ok(Tee {
            inner,
            pending: Vec::with_capacity(TEE_CHUNK),
            chunks: Some(chunks),
            spare,
            copied: Some(copied),
            spool,
        })
    }

    fn hand_on(&mut self) {
        let next = self.spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(TEE_CHUNK));
        let full = std::mem::replace(&mut self.pending, next);
        if let Some(tx) = &self.chunks {
            // The copier only stops when dropped; a send that fails shows up in `finish`.
            let _ = tx.send(full);
        }
    }

    /// Reads what the connector left unread (a reader may stop at its last record), waits for the
    /// copier and returns what was read, whole.
    fn finish(mut self) -> std::io::Result<Original> {
        let mut rest = vec![0u8; 64 * 1024];
        while self.read(&mut rest)? > 0 {}
        if !self.pending.is_empty() {
            self.hand_on();
        }
        drop(self.chunks.take());
        let (hasher, failed) = self
            .copied
            .take()
            .and_then(|c| c.recv().ok())
            .ok_or_else(|| std::io::Error::other("the copier stopped"))?;
        if let Some(e) = failed {
            return Err(e);
        }
        let (blake3, sha256, size) = hasher.finish();
        Ok(Original {
            blake3,
            sha256,
            size,
            spooled: self.spool.take(),
        })
    }
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(read) = buf.get(..n) {
            self.pending.extend_from_slice(read);
        }
        if self.pending.len() >= TEE_CHUNK {
            self.hand_on();
        }
        Ok(n)
    }
}

impl<R> Drop for Tee<R> {
    fn drop(&mut self) {
        // The copier ends once it has what was sent; its copy is removed, open or not.
        drop(self.chunks.take());
        if let Some(c) = self.copied.take() {
            let _ = c.recv();
        }
        if let Some(p) = self.spool.take() {
            let _ = fs::remove_file(p);
        }
    }
}

/// Opens a file, transparently decompressing gzip.
pub fn open_decoded(path: &Path) -> std::io::Result<Box<dyn Read>> {
    let mut f = File::open(path)?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic)?;
    drop(f);
    let f = File::open(path)?;
    if n == 2 && crate::vendor::is_gzip(&magic) {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(f)))
    } else {
        Ok(Box::new(f))
    }
}

/// Expands directories (recursively, sorted, skipping hidden entries) into files.
pub fn expand(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, Problem> {
    let mut out = Vec::new();
    for input in inputs {
        walk(input, &mut out)?;
    }
    Ok(out)
}

fn walk(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), Problem> {
    let label = path.display().to_string();
    let meta = fs::metadata(path).map_err(|e| Problem {
        file: label.clone(),
        row: None,
        column: None,
        message: format!("cannot read: {e}"),
        hint: None,
    })?;
    if meta.is_dir() && path.join(".git").exists() {
        out.push(git_log(path)?);
    } else if meta.is_dir() {
        let mut entries: Vec<PathBuf> = fs::read_dir(path)
            .map_err(|e| Problem {
                file: label.clone(),
                row: None,
                column: None,
                message: format!("cannot list: {e}"),
                hint: None,
            })?
            .filter_map(Result::ok)
            // Hidden files, and files named `_...` (notes beside the exports, such as the synthetic
            // company's `_planted.json` answer key), are not evidence.
            .filter(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                !n.starts_with('.') && !n.starts_with('_')
            })
            .map(|e| e.path())
            .collect();
        entries.sort();
        for e in entries {
            walk(&e, out)?;
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// Records a git repository's mainline history as a text file the `git-log` connector reads; the file
/// (not the repository) is what the ledger stores.
fn git_log(repo: &Path) -> Result<PathBuf, Problem> {
    let label = repo.display().to_string();
    let fail = |message: String| Problem {
        file: label.clone(),
        row: None,
        column: None,
        message,
        hint: Some("check that `git` is installed and the directory is a repository with commits".into()),
    };
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(crate::vendor::GIT_LOG_ARGS)
        .output()
        .map_err(|e| fail(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        return Err(fail(format!(
            "git log failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    // The authors of merged branches: a merge commit's own author is whoever merged it.
    let branches = crate::vendor::merged_branches(&String::from_utf8_lossy(&out.stdout)).join("\n");
    let authors = if branches.is_empty() {
        Vec::new()
    } else {
        let mut child = std::process::Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(crate::vendor::GIT_BRANCH_AUTHOR_ARGS)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("cannot run git: {e}")))?;
        let mut stdin = child.stdin.take();
        let writer = std::thread::spawn(move || {
            if let Some(s) = stdin.as_mut() {
                let _ = std::io::Write::write_all(s, branches.as_bytes());
            }
        });
        let done = child
            .wait_with_output()
            .map_err(|e| fail(format!("cannot run git: {e}")))?;
        let _ = writer.join();
        if !done.status.success() {
            return Err(fail(format!(
                "git log of merged branches failed: {}",
                String::from_utf8_lossy(&done.stderr).trim()
            )));
        }
        done.stdout
    };
    let name = repo
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "repository".into());
    let dir = std::env::temp_dir().join(format!(
        "assure-git-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    fs::create_dir_all(&dir).map_err(|e| fail(format!("cannot create a temporary file: {e}")))?;
    let path = dir.join(format!("{name}.gitlog"));
    let mut text = format!("{} {name}\n", crate::vendor::GIT_LOG_HEADER);
    push_utf8_or_latin1(&mut text, &out.stdout);
    if !authors.is_empty() {
        text.push('\x1d');
        text.push('\n');
        push_utf8_or_latin1(&mut text, &authors);
    }
    fs::write(&path, text).map_err(|e| fail(format!("cannot write a temporary file: {e}")))?;
    Ok(path)
}

/// Appends git's output as text. Git prints a commit's message as it was written when the commit
/// declares no encoding, and older projects wrote Latin-1 that way (curl's history has 96 such lines:
/// `Storsj\xf6`): a byte sequence that is not UTF-8 is read as Latin-1, one character per byte, so
/// the history is recorded whole instead of refused, and its names read as they were meant.
fn push_utf8_or_latin1(text: &mut String, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        text.extend(chunk.invalid().iter().map(|&b| char::from(b)));
    }
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Removes the temporary files `expand` wrote for git repositories (call once the import is done,
/// recorded or refused).
pub fn cleanup(files: &[PathBuf]) {
    for f in files {
        if recorded_name(f) != f.display().to_string()
            && let Some(dir) = f.parent()
        {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

/// The name a file is recorded under: the path as given, except for the history `expand` records
/// from a git repository, which is named after the repository (`api.gitlog`), not the temporary
/// file it was written to, so a second import of the same repository replaces the first.
fn recorded_name(path: &Path) -> String {
    let in_git_temp = path
        .parent()
        .and_then(|d| d.file_name())
        .is_some_and(|d| d.to_string_lossy().starts_with("assure-git-"))
        && path.parent().and_then(Path::parent) == Some(std::env::temp_dir().as_path());
    match path.file_name() {
        Some(f) if in_git_temp => f.to_string_lossy().into_owned(),
        _ => path.display().to_string(),
    }
}

fn format_of(connector: &str) -> Option<Format> {
    match crate::connectors::get(connector)?.kind() {
        Kind::Canonical(f) => Some(f),
        _ => None,
    }
}

fn vendor_of(connector: &str) -> Option<&'static dyn Connector> {
    crate::connectors::get(connector).filter(|c| matches!(c.kind(), Kind::Vendor { .. }))
}

/// Validates every file; returns the plan, or every problem found in every file.
pub fn plan(files: &[PathBuf], opts: &Options) -> Result<Vec<Planned>, Vec<Problem>> {
    let mut planned = Vec::new();
    let mut problems = Vec::new();
    let forced_table = match &opts.table {
        Some(t) => match table(t) {
            Some(t) => Some(t),
            None => {
                let names: Vec<&str> = crate::tables::TABLES.iter().map(|t| t.name).collect();
                return Err(vec![flag_problem(
                    "--table",
                    format!("unknown table `{t}`"),
                    format!("the tables are: {}", names.join(", ")),
                )]);
            }
        },
        None => None,
    };
    let forced_format = match &opts.connector {
        Some(c)
            if vendor_of(c).is_some()
                || matches!(crate::connectors::get(c).map(|c| c.kind()), Some(Kind::Mapped { .. })) =>
        {
            None
        }
        Some(c) => match format_of(c) {
            Some(f) => Some(f),
            None => {
                return Err(vec![flag_problem(
                    "--connector",
                    format!("unknown connector `{c}`"),
                    format!("this build has: {}", crate::connectors::ids().join(", ")),
                )]);
            }
        },
        None => None,
    };
    let forced_vendor = opts.connector.as_deref().and_then(vendor_of);
    for path in files {
        let name = recorded_name(path);
        let fits = |id: &str, m: &crate::vendor::Mapping| {
            opts.connector.as_deref() == Some(id)
                || (opts.connector.is_none()
                    && opts.table.is_none()
                    && (first_line(path).is_some_and(|l| crate::vendor::mapping_fits(m, &l))
                        // Jira's own JSON (the search API's issues), as the `jira` collector saves it.
                        || (id == "jira" && head(path).is_some_and(|h| crate::vendor::is_jira_json(&h)))))
        };
        let mapped = opts
            .hr_roster
            .as_ref()
            .filter(|m| fits("hr-roster", m))
            .map(|m| (m, "hr-roster"))
            .or_else(|| opts.jira.as_ref().filter(|m| fits("jira", m)).map(|m| (m, "jira")));
        let result = match (mapped, forced_vendor) {
            (Some((m, id)), _) => plan_mapped(
                path,
                &name,
                m,
                id,
                if opts.connector.is_some() {
                    "named"
                } else {
                    "by its columns (the project's mapping)"
                },
                opts.spool.as_deref(),
            ),
            (None, Some(v)) => plan_vendor(path, &name, v, "named", opts.spool.as_deref()),
            (None, None)
                if matches!(
                    opts.connector
                        .as_deref()
                        .and_then(crate::connectors::get)
                        .map(|c| c.kind()),
                    Some(Kind::Mapped { .. })
                ) =>
            {
                Err(vec![Problem {
                    file: name.clone(),
                    row: None,
                    column: None,
                    message: "this connector needs a column mapping".into(),
                    hint: Some(
                        "add `[connectors.hr_roster]` or `[connectors.jira]` to assure.toml (see README)".into(),
                    ),
                }])
            }
            (None, None) => plan_one(path, &name, forced_table, forced_format, opts.spool.as_deref()),
        };
        match result {
            Ok(p) => planned.push(p),
            Err(mut ps) => problems.append(&mut ps),
        }
    }
    if problems.is_empty() {
        Ok(planned)
    } else {
        Err(problems)
    }
}

fn head(path: &Path) -> Option<String> {
    let mut f = File::open(path).ok()?;
    let mut head = vec![0u8; 8192];
    let n = f.read(&mut head).ok()?;
    Some(String::from_utf8_lossy(head.get(..n)?).into_owned())
}

fn first_line(path: &Path) -> Option<String> {
    let mut f = File::open(path).ok()?;
    let mut head = vec![0u8; 8192];
    let n = f.read(&mut head).ok()?;
    let text = String::from_utf8_lossy(head.get(..n)?).into_owned();
    text.lines().next().map(str::to_string)
}

/// Reads a file with its connector, validating every row and writing the valid rows to a columnar
/// copy in the same pass, while the original's bytes are hashed (and copied to `spool`) as they
/// are read.
/// What validation read: the outcome, the columnar copy's bytes, the days the rows cover, and the
/// original as read.
type Validated = (crate::read::Outcome, Vec<u8>, Option<[String; 2]>, Option<Original>);

fn read_validated(
    c: &dyn Connector,
    path: &Path,
    table: &'static Table,
    name: &str,
    mapping: Option<&crate::vendor::Mapping>,
    spool: Option<&Path>,
) -> Result<Validated, Vec<Problem>> {
    let problem = |message: String, hint: &str| {
        vec![Problem {
            file: name.to_string(),
            row: None,
            column: None,
            message,
            hint: Some(hint.into()),
        }]
    };
    let fault = "this is a fault in Assure, not in the file; please report it";
    let file =
        File::open(path).map_err(|e| problem(format!("cannot open: {e}"), "check the path and its permissions"))?;
    let mut tee = Tee::new(Counting(file), spool).map_err(|e| {
        problem(
            format!("cannot copy it aside for storing: {e}"),
            "check that the project's `.assure/evidence/tmp` is writable and the disk has room",
        )
    })?;
    let mut writer = crate::columnar::Writer::new(table)
        .map_err(|e| problem(format!("cannot start the columnar copy: {e}"), fault))?;
    let outcome = crate::connectors::read_into(c, Box::new(&mut tee), table, name, mapping, &mut writer);
    if !outcome.problems.is_empty() {
        return Ok((outcome, Vec::new(), None, None));
    }
    let original = tee.finish().map_err(|e| {
        problem(
            format!("cannot read it to its end or copy it aside: {e}"),
            "check the file and that the disk has room, then import it again",
        )
    })?;
    let covers = writer.covers();
    let bytes = writer
        .finish()
        .map_err(|e| problem(format!("cannot write the columnar copy: {e}"), fault))?;
    Ok((outcome, bytes, covers, Some(original)))
}

fn plan_mapped(
    path: &Path,
    name: &str,
    m: &crate::vendor::Mapping,
    connector: &'static str,
    chosen: &'static str,
    spool: Option<&Path>,
) -> Result<Planned, Vec<Problem>> {
    let one = |message: String, hint: Option<String>| {
        vec![Problem {
            file: name.to_string(),
            row: None,
            column: None,
            message,
            hint,
        }]
    };
    let Some(c) = crate::connectors::get(connector) else {
        return Err(one(format!("unknown connector `{connector}`"), None));
    };
    let Kind::Mapped { default_table } = c.kind() else {
        return Err(one(format!("`{connector}` is not read through a column mapping"), None));
    };
    let table_name = m.table.clone().unwrap_or_else(|| default_table.to_string());
    let Some(table) = crate::tables::table(&table_name) else {
        return Err(one(
            format!("the `{connector}` mapping names unknown table `{table_name}`"),
            Some("use one of the tables `assure evidence tables` lists".into()),
        ));
    };
    let (outcome, columnar, covers, original) = read_validated(c, path, table, name, Some(m), spool)?;
    if !outcome.problems.is_empty() {
        return Err(outcome.problems);
    }
    Ok(Planned {
        path: path.to_path_buf(),
        name: name.to_string(),
        connector: c.id(),
        chosen,
        table: table.name,
        rows: outcome.rows,
        extra_columns: Vec::new(),
        mapping: Some(m.clone()),
        columnar: Some(columnar),
        covers,
        original: original.map(std::sync::Arc::new),
    })
}

fn plan_vendor(
    path: &Path,
    name: &str,
    v: &'static dyn Connector,
    chosen: &'static str,
    spool: Option<&Path>,
) -> Result<Planned, Vec<Problem>> {
    let one = |message: String, hint: Option<String>| {
        vec![Problem {
            file: name.to_string(),
            row: None,
            column: None,
            message,
            hint,
        }]
    };
    let Kind::Vendor { table } = v.kind() else {
        return Err(one(format!("`{}` is not a vendor connector", v.id()), None));
    };
    let Some(def) = crate::tables::table(table) else {
        return Err(one(format!("`{}` names unknown table `{table}`", v.id()), None));
    };
    let (outcome, columnar, covers, original) = read_validated(v, path, def, name, None, spool)?;
    if !outcome.problems.is_empty() {
        return Err(outcome.problems);
    }
    if outcome.rows == 0 {
        return Err(one(
            format!("no {table} records in the file"),
            Some(format!("check that this is one of: {}", v.about())),
        ));
    }
    Ok(Planned {
        path: path.to_path_buf(),
        name: name.to_string(),
        connector: v.id(),
        chosen,
        table,
        rows: outcome.rows,
        extra_columns: Vec::new(),
        mapping: None,
        columnar: Some(columnar),
        covers,
        original: original.map(std::sync::Arc::new),
    })
}

fn plan_one(
    path: &Path,
    name: &str,
    forced_table: Option<&'static Table>,
    forced_format: Option<Format>,
    spool: Option<&Path>,
) -> Result<Planned, Vec<Problem>> {
    let one = |message: String, hint: Option<String>| {
        vec![Problem {
            file: name.to_string(),
            row: None,
            column: None,
            message,
            hint,
        }]
    };
    let mut file = File::open(path).map_err(|e| one(format!("cannot open: {e}"), None))?;
    let mut head = Vec::new();
    (&mut file)
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| one(format!("cannot read: {e}"), None))?;
    if forced_format.is_none() && forced_table.is_none() {
        // A vendor format, possibly gzipped, is recognised from its first bytes.
        let decoded = if crate::vendor::is_gzip(&head) {
            let mut d = Vec::new();
            let _ = open_decoded(path).and_then(|r| r.take(HEAD_BYTES as u64).read_to_end(&mut d));
            d
        } else {
            head.clone()
        };
        if let Some(v) = crate::connectors::detect(&decoded) {
            return plan_vendor(path, name, v, "by content", spool);
        }
    }
    let format = match forced_format {
        Some(f) => f,
        None => sniff(path, &head, name).map_err(|p| vec![p])?,
    };
    let chosen = if forced_format.is_some() { "named" } else { "by content" };
    let table = match forced_table {
        Some(t) => t,
        None => {
            let names = if format == Format::Parquet {
                let bytes = std::fs::read(path).map_err(|e| one(format!("cannot read: {e}"), None))?;
                std::panic::catch_unwind(|| crate::read::parquet_columns(bytes))
                    .map_err(|_| vec![crate::connectors::refused_by_reader(name, "canonical-parquet")])?
                    .map_err(|e| one(e, Some("write the file again; it may be truncated".into())))?
            } else if format == Format::Xlsx {
                let bytes = std::fs::read(path).map_err(|e| one(format!("cannot read: {e}"), None))?;
                std::panic::catch_unwind(|| crate::read::xlsx_rows(&bytes))
                    .map_err(|_| vec![crate::connectors::refused_by_reader(name, "canonical-xlsx")])?
                    .map_err(|e| one(e, Some("save the sheet again as XLSX, or export it as CSV".into())))?
                    .first()
                    .map(|(_, r)| r.iter().map(|h| crate::read::normalise_name(h)).collect())
                    .unwrap_or_default()
            } else {
                column_names(head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&head), format)
            };
            detect_table(&names).map_err(|candidates| {
                if candidates.is_empty() {
                    one(
                        "its columns do not match any evidence table".into(),
                        Some(
                            "name the table with `--table`; `assure evidence tables` lists each table's columns".into(),
                        ),
                    )
                } else {
                    one(
                        format!("its columns fit several tables: {}", candidates.join(", ")),
                        Some("name the table with `--table`".into()),
                    )
                }
            })?
        }
    };
    let connector = crate::connectors::canonical(format);
    let (outcome, columnar, covers, original) = read_validated(connector, path, table, name, None, spool)?;
    if !outcome.problems.is_empty() {
        let mut ps = outcome.problems;
        if outcome.more_problems > 0 {
            ps.push(Problem {
                file: name.to_string(),
                row: None,
                column: None,
                message: format!("and {} more problems", outcome.more_problems),
                hint: None,
            });
        }
        return Err(ps);
    }
    if outcome.rows == 0 {
        return Err(one(
            "the file has a header but no rows".into(),
            Some("an empty population is evidence too; add it with `assure evidence add` and a note".into()),
        ));
    }
    Ok(Planned {
        path: path.to_path_buf(),
        name: name.to_string(),
        connector: connector.id(),
        chosen,
        table: table.name,
        rows: outcome.rows,
        extra_columns: outcome.extra_columns,
        mapping: None,
        columnar: Some(columnar),
        covers,
        original: original.map(std::sync::Arc::new),
    })
}

/// Who, when, for which period and which controls.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// RFC 3339 UTC instant.
    pub at: String,
    /// Who collected it.
    pub by: String,
    /// First day covered.
    pub period_start: Option<String>,
    /// Last day covered.
    pub period_end: Option<String>,
    /// A note.
    pub note: Option<String>,
    /// The import's batch id.
    pub batch: String,
}

/// Extensions of files that are records (documents, images, mail), not exports of a system:
/// imported from a folder, they are recorded as they are, never read as a table.
pub const RECORD_EXTENSIONS: &[&str] = &[
    "pdf", "png", "jpg", "jpeg", "gif", "webp", "svg", "md", "txt", "doc", "docx", "odt", "rtf", "ppt", "pptx", "eml",
    "msg", "html", "htm", "yaml", "yml", "xml",
];

/// Whether a file is a record by its extension.
pub fn is_record(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| RECORD_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// A file recorded as it is (a record: minutes, a screenshot, a signed PDF), with the controls it
/// is for and the days it covers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RecordFile {
    /// The path.
    #[serde(skip)]
    pub path: PathBuf,
    /// The name recorded.
    pub name: String,
    /// The controls it is for.
    pub controls: Vec<String>,
    /// The days it covers, when its name dates it (`GOV-09-2026-03-31.md`).
    pub period: Option<(String, String)>,
}

impl RecordFile {
    /// A record at `path`, for the control its name or folder names (the longest of `controls`
    /// that the file name starts with, or the folder's name), dated by the first `YYYY-MM-DD` in
    /// its name.
    pub fn placed(path: &Path, name: String, controls: &[String]) -> RecordFile {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let folder = path
            .parent()
            .and_then(|p| p.file_name())
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let starts = |id: &str| {
            file.len() >= id.len()
                && file.get(..id.len()).is_some_and(|p| p.eq_ignore_ascii_case(id))
                && file[id.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_ascii_alphanumeric())
        };
        let mut ids: Vec<&String> = controls.iter().collect();
        ids.sort_by_key(|c| std::cmp::Reverse(c.len()));
        let control = ids
            .iter()
            .find(|c| starts(c))
            .or_else(|| ids.iter().find(|c| c.eq_ignore_ascii_case(&folder)))
            .map(|c| (*c).clone());
        let date = (0..file.len().saturating_sub(9)).find_map(|i| {
            let t = file.get(i..i + 10)?;
            chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .map(|d| d.to_string())
        });
        RecordFile {
            path: path.to_path_buf(),
            name,
            controls: control.into_iter().collect(),
            period: date.map(|d| (d.clone(), d)),
        }
    }
}

/// Stores the planned files and appends their entries in one write. `controls_for` names the
/// controls each table supports.
pub fn commit(
    store: &dyn EvidenceStore,
    key: &SigningKey,
    planned: &[Planned],
    meta: &Meta,
    controls_for: &dyn Fn(&str) -> Vec<String>,
) -> Result<Vec<Entry>, StoreError> {
    commit_with_records(store, key, planned, &[], meta, controls_for)
}

/// Stores the planned exports and the records, and appends all their entries in one write: a
/// folder's import is recorded whole or not at all.
pub fn commit_with_records(
    store: &dyn EvidenceStore,
    key: &SigningKey,
    planned: &[Planned],
    records: &[RecordFile],
    meta: &Meta,
    controls_for: &dyn Fn(&str) -> Vec<String>,
) -> Result<Vec<Entry>, StoreError> {
    let mut drafts = Vec::with_capacity(planned.len() + records.len());
    // Each file is stored on one of the cores, side by side (a copy made while validating is moved
    // into place); the entries are drafted in the order given and appended in one write, the
    // commit point.
    let stored = side_by_side(planned, &|p: &Planned| {
        let blob = store_original(store, p)?;
        // The columnar copy is stored before the entry that records its hash: an entry never names
        // a copy that is not there; a copy without an entry is garbage, never evidence.
        let columnar = match &p.columnar {
            Some(bytes) => Some(assure_ledger::ColumnarRef {
                covers: p.covers.clone(),
                layout: crate::columnar::recorded_layout(crate::columnar::LAYOUT),
                ..store.put_columnar(&blob.blake3, bytes, p.rows)?
            }),
            None => None,
        };
        Ok((blob, columnar))
    });
    for (p, stored) in planned.iter().zip(stored) {
        let (blob, columnar) = stored?;
        drafts.push(Draft {
            action: Action::Import,
            at: meta.at.clone(),
            by: meta.by.clone(),
            blob: Some(blob),
            connector: Some(p.connector.to_string()),
            table: Some(p.table.to_string()),
            rows: Some(p.rows),
            period_start: meta.period_start.clone(),
            period_end: meta.period_end.clone(),
            controls: controls_for(p.table),
            note: meta.note.clone(),
            batch: Some(meta.batch.clone()),
            mapping: p.mapping.clone(),
            columnar,
            commit: None,
        });
    }
    for r in records {
        let blob = store.put_blob(&mut Counting(&mut open_input(&r.path)?), &r.name)?;
        let mut d = Draft::new(Action::Add, meta.at.clone(), meta.by.clone());
        d.blob = Some(blob);
        d.period_start = r
            .period
            .as_ref()
            .map(|p| p.0.clone())
            .or_else(|| meta.period_start.clone());
        d.period_end = r
            .period
            .as_ref()
            .map(|p| p.1.clone())
            .or_else(|| meta.period_end.clone());
        d.controls.clone_from(&r.controls);
        d.note = meta.note.clone();
        d.batch = Some(meta.batch.clone());
        drafts.push(d);
    }
    store.append(drafts, key)
}

/// Stores a planned file's original: the copy validation made of it when there is one, otherwise
/// the file read again; either way refused unless its bytes are the ones validation read.
fn store_original(store: &dyn EvidenceStore, p: &Planned) -> Result<assure_ledger::BlobRef, StoreError> {
    let Some(o) = &p.original else {
        return store.put_blob(&mut Counting(&mut open_input(&p.path)?), &p.name);
    };
    let read = assure_ledger::BlobRef {
        blake3: o.blake3.clone(),
        sha256: o.sha256.clone(),
        size: o.size,
        name: p.name.clone(),
    };
    match o.spooled() {
        Some(spooled) => store.adopt_blob(spooled, read),
        None => crate::store::store_checked(store, &p.path, read),
    }
}

/// Opens a file to store.
fn open_input(path: &Path) -> Result<File, StoreError> {
    File::open(path).map_err(|source| StoreError::Io {
        what: "open",
        path: path.to_path_buf(),
        source,
    })
}

/// `f` of each item, on up to one thread per core, in the items' order.
fn side_by_side<I: Sync, T: Send>(items: &[I], f: &(dyn Fn(&I) -> T + Sync)) -> Vec<T> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break mine };
                        mine.push((i, f(item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, t)| t).collect()
}

/// Adds one file as evidence without reading it as a table (a screenshot, a signed report).
pub fn add(
    store: &dyn EvidenceStore,
    key: &SigningKey,
    path: &Path,
    controls: Vec<String>,
    meta: &Meta,
) -> Result<Entry, StoreError> {
    let name = path
        .file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    let record = RecordFile {
        path: path.to_path_buf(),
        name,
        controls,
        period: None,
    };
    let mut entries = commit_with_records(store, key, &[], &[record], meta, &|_| Vec::new())?;
    entries.pop().ok_or(StoreError::BrokenTip)
}

/// A problem with a command-line option rather than a file.
fn flag_problem(flag: &str, message: String, hint: String) -> Problem {
    Problem {
        file: flag.into(),
        row: None,
        column: None,
        message,
        hint: Some(hint),
    }
}
