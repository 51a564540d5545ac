//! The evidence ledger: an append-only sequence of entries, each hash-chained to the one before and
//! signed with the project's Ed25519 key, so anyone holding the ledger, the blobs and the public key
//! can check offline that nothing was altered, removed, reordered or forged.
//!
//! This crate does no I/O: it builds entries from drafts, encodes them canonically, and verifies a
//! ledger's text against a public key and a callback that checks blobs.
//!
//! **Format (version 2).** One JSON object per line, fields in a fixed order. `hash` is the BLAKE3 of
//! the canonical JSON of every other field; `sig` is the Ed25519 signature of
//! `"assure-ledger-v1:" || hash` (the 32 raw hash bytes). The first entry's `prev` is 64 zeros.
//! Version 2 adds `mapping`, the column mapping a mapped import was read with, as a typed field
//! (version 1 kept it inside the free-text `note`), and `columnar`, the hash of the columnar copy of
//! an imported file's rows. Version 1 entries still read and verify: each
//! entry's hash covers its own `format`, and a version 1 entry never carries `mapping`.
//!
//! **Reading.** [`parse`] is the one reader of a ledger's text: it returns every entry and, for every
//! line that is not one, a [`Finding`] naming the line. Nothing is skipped silently.

#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};

/// The format version written into every new entry.
pub const FORMAT: u32 = 2;
/// The oldest format version still read.
pub const OLDEST_FORMAT: u32 = 1;
const DOMAIN: &[u8] = b"assure-ledger-v1:";
/// The `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A stored file, named by its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobRef {
    /// BLAKE3 of the bytes, hex; the storage address.
    pub blake3: String,
    /// SHA-256 of the bytes, hex; what an auditor re-checks with `sha256sum`.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// The file name it was imported under.
    pub name: String,
}

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// An export read into a canonical table.
    Import,
    /// A file recorded as evidence without being read as a table (a screenshot, a signed report).
    Add,
    /// A recorded test run (its blob is the run's JSON).
    TestRun,
    /// A sample drawn for a control (its blob is the sample's JSON).
    Sample,
    /// The columnar copy of a file imported before copies were written (its blob is that file,
    /// already recorded; `columnar` is the copy's hash). Derived data, never evidence itself.
    Derive,
    /// A report of a period frozen when the period was closed (its blob is the rendered report;
    /// `period_start`/`period_end` are the period's dates, `note` names the period and the report).
    /// What Assure prints for that period from then on, byte for byte.
    Freeze,
    /// The auditor's work on a sample (its blob is the JSON of one item's test result or of a
    /// sign-off; `controls` names the sampled control). Never evidence.
    Workpaper,
    /// A management approval of a project record (its blob is the approval's JSON: a policy
    /// version approved by a named person, bound to the SHA-256 of the text approved). Never
    /// evidence collected from a system; the record of who approved what, and when.
    Approval,
}

impl Action {
    /// The word written in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Import => "import",
            Action::Add => "add",
            Action::TestRun => "test-run",
            Action::Sample => "sample",
            Action::Derive => "derive",
            Action::Freeze => "freeze",
            Action::Workpaper => "workpaper",
            Action::Approval => "approval",
        }
    }

    /// Whether the entry records evidence collected from the company (an import or an added file),
    /// as opposed to something Assure derived from it (a run, a sample).
    pub fn is_evidence(self) -> bool {
        matches!(self, Action::Import | Action::Add)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a mapped export (an HR roster, a Jira export) maps onto a canonical table: the table, each
/// canonical column's header in the export, the formats of dates and times, and how the export's
/// values read as the table's allowed values. Recorded with the import (format 2) so the rows read
/// back are the rows imported, whatever the project's mapping says later.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnMapping {
    /// The canonical table (defaults to `people` for an HR roster, `access_requests` for Jira).
    #[serde(default)]
    pub table: Option<String>,
    /// Canonical column to the export's header.
    pub columns: BTreeMap<String, String>,
    /// The `strftime` format of dates (default `%Y-%m-%d`).
    #[serde(default)]
    pub date_format: Option<String>,
    /// The `strftime` format of times without a zone, such as Jira's `%d/%b/%y %l:%M %p`; RFC 3339 otherwise.
    #[serde(default)]
    pub timestamp_format: Option<String>,
    /// The offset of zone-less times, such as `-05:00` (default `+00:00`).
    #[serde(default)]
    pub utc_offset: Option<String>,
    /// Per column, the export's values (any case) to the table's values.
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
}

/// The columnar copy of an imported file (format 2): the file's validated rows as typed columns,
/// derived from the original and recorded with its own hash so a test run can prove it read exactly
/// what was imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnarRef {
    /// BLAKE3 of the columnar file, hex.
    pub blake3: String,
    /// Its size in bytes.
    pub size: u64,
    /// Rows it holds.
    pub rows: u64,
    /// The earliest and latest day in any date or time column of those rows (`YYYY-MM-DD`):
    /// the days the file covers, by which a run chooses the files of its window. Absent for a
    /// copy written before coverage was recorded, or a file with no dated value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covers: Option<[String; 2]>,
    /// How the copy's columns are encoded (`assure_evidence::columnar::LAYOUT`), so that a rebuild
    /// writes the same bytes again. Absent for layout 1 (every column with a dictionary), the only
    /// layout before this was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<u32>,
}

/// What an entry records, before it is chained and signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// What happened.
    pub action: Action,
    /// When, as an RFC 3339 UTC instant.
    pub at: String,
    /// Who collected it.
    pub by: String,
    /// The file, when the entry records one.
    pub blob: Option<BlobRef>,
    /// The connector that read it (`canonical-csv`, `okta-users`, ...).
    pub connector: Option<String>,
    /// The canonical table it fills.
    pub table: Option<String>,
    /// Rows read.
    pub rows: Option<u64>,
    /// First day of the period the evidence covers.
    pub period_start: Option<String>,
    /// Last day of the period the evidence covers.
    pub period_end: Option<String>,
    /// The controls it supports.
    pub controls: Vec<String>,
    /// A free-text note.
    pub note: Option<String>,
    /// The id shared by the entries of one import, so an auditor sees what arrived together.
    pub batch: Option<String>,
    /// The column mapping a mapped import was read with (format 2; absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<ColumnMapping>,
    /// The columnar copy of an imported file's rows (format 2; absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columnar: Option<ColumnarRef>,
    /// On the last entry of every batch appended together (format 2): how many entries the batch
    /// has. A batch counts only once this entry is on disk; entries after the last one that closes a
    /// batch are an interrupted write that readers ignore and the next append removes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<u64>,
}

impl Draft {
    /// A draft of `action` at `at` by `by`, with every optional field empty.
    pub fn new(action: Action, at: impl Into<String>, by: impl Into<String>) -> Draft {
        Draft {
            action,
            at: at.into(),
            by: by.into(),
            blob: None,
            connector: None,
            table: None,
            rows: None,
            period_start: None,
            period_end: None,
            controls: Vec::new(),
            note: None,
            batch: None,
            mapping: None,
            columnar: None,
            commit: None,
        }
    }
}

impl Entry {
    /// Whether the entry is part of a committed batch on its own account: a format 1 entry (written
    /// one batch per write, before commit records), or the entry that closes a format 2 batch.
    pub fn closes_batch(&self) -> bool {
        self.format < 2 || self.draft.commit.is_some()
    }
}

/// A chained, signed ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The format version.
    pub format: u32,
    /// 1 for the first entry, then consecutive.
    pub seq: u64,
    /// The previous entry's hash.
    pub prev: String,
    /// What it records.
    #[serde(flatten)]
    pub draft: Draft,
    /// BLAKE3 of the canonical body, hex.
    pub hash: String,
    /// Ed25519 signature over the hash, hex.
    pub sig: String,
}

#[derive(Serialize)]
struct Body<'a> {
    format: u32,
    seq: u64,
    prev: &'a str,
    #[serde(flatten)]
    draft: &'a Draft,
}

fn body_hash(format: u32, seq: u64, prev: &str, draft: &Draft) -> blake3::Hash {
    let body = Body {
        format,
        seq,
        prev,
        draft,
    };
    // Serializing plain structs of strings, numbers and vectors cannot fail.
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    blake3::hash(&bytes)
}

fn signed(hash: &blake3::Hash) -> Vec<u8> {
    let mut msg = DOMAIN.to_vec();
    msg.extend_from_slice(hash.as_bytes());
    msg
}

/// Returns the hex public key of a signing key.
pub fn public_key_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().to_bytes())
}

/// Parses a hex public key.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, KeyError> {
    let bytes: [u8; 32] = hex::decode(text.trim().trim_start_matches("ed25519:"))
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(KeyError::Malformed)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::Malformed)
}

/// Parses a hex private key (the 32-byte seed).
pub fn parse_signing_key(text: &str) -> Result<SigningKey, KeyError> {
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(KeyError::Malformed)?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// A key that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not 64 hex digits of a valid key.
    #[error("the key is not 64 hexadecimal digits of an Ed25519 key")]
    Malformed,
}

/// The tip of a ledger: what the next entry chains to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tip {
    /// The last sequence number (0 for an empty ledger).
    pub seq: u64,
    /// The last hash (`GENESIS` for an empty ledger).
    pub hash: String,
}

impl Default for Tip {
    fn default() -> Tip {
        Tip {
            seq: 0,
            hash: GENESIS.to_string(),
        }
    }
}

/// Chains and signs drafts after `tip`; returns the entries and their JSON lines (each ending in `\n`).
pub fn seal(tip: &Tip, drafts: Vec<Draft>, key: &SigningKey) -> (Vec<Entry>, String) {
    seal_as(FORMAT, tip, drafts, key)
}

/// [`seal`] in an older format version: what a ledger written by an earlier Assure holds. For
/// compatibility tests and migration tools; Assure itself writes [`FORMAT`].
pub fn seal_as(format: u32, tip: &Tip, mut drafts: Vec<Draft>, key: &SigningKey) -> (Vec<Entry>, String) {
    let mut prev = tip.hash.clone();
    let mut seq = tip.seq;
    let mut entries = Vec::with_capacity(drafts.len());
    let mut text = String::new();
    // The last entry of the batch commits it (format 2 on): count the batch there.
    let count = drafts.len() as u64;
    if format >= 2
        && let Some(last) = drafts.last_mut()
    {
        last.commit = Some(count);
    }
    for draft in drafts {
        seq += 1;
        let hash = body_hash(format, seq, &prev, &draft);
        let sig: Signature = key.sign(&signed(&hash));
        let entry = Entry {
            format,
            seq,
            prev,
            draft,
            hash: hash.to_hex().to_string(),
            sig: hex::encode(sig.to_bytes()),
        };
        text.push_str(&serde_json::to_string(&entry).unwrap_or_default());
        text.push('\n');
        prev = entry.hash.clone();
        entries.push(entry);
    }
    (entries, text)
}

/// A ledger's text read into entries, with every line that is not an entry named.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The entries that parse, in ledger order.
    pub entries: Vec<Entry>,
    /// Lines that are not entries (`malformed`, `format`) and an incomplete last line (`truncated`).
    pub problems: Vec<Finding>,
}

impl Parsed {
    /// Returns whether every line was an entry.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// Iterates over the entries recording `action`, in ledger order.
    pub fn with_action(&self, action: Action) -> impl DoubleEndedIterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.draft.action == action)
    }

    /// Returns the entry with sequence number `seq`.
    pub fn get(&self, seq: u64) -> Option<&Entry> {
        self.entries.iter().find(|e| e.seq == seq)
    }

    /// One line per problem, for a warning: "ledger line 4: malformed: ...".
    pub fn problem_lines(&self) -> Vec<String> {
        self.problems.iter().map(|f| format!("ledger {f}")).collect()
    }
}

/// Parses one line as an entry; the error says why it is not one.
pub fn parse_line(line: &str) -> Result<Entry, (&'static str, String)> {
    let entry: Entry = serde_json::from_str(line).map_err(|e| ("malformed", format!("not a ledger entry ({e})")))?;
    if entry.format < OLDEST_FORMAT || entry.format > FORMAT {
        return Err((
            "format",
            format!(
                "entry {} is in ledger format {}, which this version of Assure does not read (it reads {OLDEST_FORMAT} to {FORMAT})",
                entry.seq, entry.format
            ),
        ));
    }
    if entry.format < 2 && entry.draft.columnar.is_some() {
        return Err((
            "format",
            format!(
                "entry {} is in format 1 but records a columnar copy, which only format 2 has",
                entry.seq
            ),
        ));
    }
    if entry.format < 2 && entry.draft.mapping.is_some() {
        return Err((
            "format",
            format!(
                "entry {} is in format 1 but carries a column mapping, which only format 2 has",
                entry.seq
            ),
        ));
    }
    Ok(entry)
}

/// Reads a ledger's text: every entry, and every line that is not one as a problem with its line
/// number. The one reader of ledger text; callers report the problems, never drop them.
pub fn parse(text: &str) -> Parsed {
    let mut out = Parsed::default();
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let line_no = i as u64 + 1;
        if i + 1 == lines.len() && !complete {
            out.problems.push(truncated_finding(line_no));
            break;
        }
        match parse_line(line) {
            Ok(e) => out.entries.push(e),
            Err((code, message)) => out.problems.push(Finding {
                line: line_no,
                seq: None,
                code,
                message,
            }),
        }
    }
    // A batch whose closing entry never reached the disk was never recorded: leave it out, say so.
    let committed = out.entries.iter().rposition(Entry::closes_batch).map_or(0, |i| i + 1);
    if committed < out.entries.len() {
        let tail: Vec<Entry> = out.entries.split_off(committed);
        if let (Some(first), Some(last)) = (tail.first(), tail.last()) {
            out.problems.push(uncommitted_finding(first.seq, last.seq, lines.len()));
        }
    }
    out
}

fn uncommitted_finding(first: u64, last: u64, line: usize) -> Finding {
    Finding {
        line: line as u64,
        seq: Some(first),
        code: "uncommitted",
        message: format!(
            "entries {first} to {last} are a batch whose last entry was never written (an interrupted write); they are not part of the ledger and the next recording removes them"
        ),
    }
}

fn truncated_finding(line: u64) -> Finding {
    Finding {
        line,
        seq: None,
        code: "truncated",
        message: "the last line is incomplete (an interrupted write); it was never acknowledged".into(),
    }
}

/// Returns the tip of a ledger from its last complete line, or `None` when that line is not an entry.
pub fn tip_of(last_line: Option<&str>) -> Option<Tip> {
    match last_line {
        None => Some(Tip::default()),
        Some(line) => {
            let e = parse_line(line).ok()?;
            Some(Tip {
                seq: e.seq,
                hash: e.hash,
            })
        }
    }
}

/// What a blob check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobCheck {
    /// Present with the recorded hashes and size.
    Intact,
    /// Not in the store.
    Missing,
    /// Present but different.
    Altered {
        /// BLAKE3 of what is stored.
        blake3: String,
        /// SHA-256 of what is stored.
        sha256: String,
        /// Size of what is stored.
        size: u64,
    },
}

/// One problem found by verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The line of the ledger (1-based).
    pub line: u64,
    /// The entry's sequence number, when it could be read.
    pub seq: Option<u64>,
    /// A stable code: `malformed`, `format`, `noncanonical`, `sequence`, `chain`, `hash`, `signature`, `blob-missing`, `blob-altered`, `truncated`, `uncommitted`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "entry {seq} (line {}): {}: {}", self.line, self.code, self.message),
            None => write!(f, "line {}: {}: {}", self.line, self.code, self.message),
        }
    }
}

/// The result of verifying a ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Entries read.
    pub entries: u64,
    /// Blobs re-hashed.
    pub blobs: u64,
    /// Bytes re-hashed.
    pub bytes: u64,
    /// The hash of the last entry.
    pub head: Option<String>,
    /// Every problem, in ledger order.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Returns whether the ledger verified without findings.
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Verifies a ledger: each line parses, sequence numbers run 1, 2, 3, ..., each entry chains to the
/// previous hash, each hash matches the entry's content, each signature verifies with `key`, and
/// each blob is intact (checked through `check_blob`, which may do I/O on the caller's side).
pub fn verify(text: &str, key: &VerifyingKey, check_blob: &mut dyn FnMut(&BlobRef) -> BlobCheck) -> Report {
    let mut report = Report::default();
    let mut expect_seq = 1u64;
    let mut prev = GENESIS.to_string();
    let truncated = !text.is_empty() && !text.ends_with('\n');
    let count = text.lines().count();
    // Entries since the last one that closed a batch, and the ledger as of that entry.
    let mut pending: Vec<u64> = Vec::new();
    let mut committed: (u64, Option<String>) = (0, None);
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        if truncated && i + 1 == count {
            // Reported once below; an incomplete line is never read as an entry.
            break;
        }
        let mut find = |seq: Option<u64>, code: &'static str, message: String| {
            report.findings.push(Finding {
                line: line_no,
                seq,
                code,
                message,
            });
        };
        let entry: Entry = match parse_line(line) {
            Ok(e) => e,
            Err((code, message)) => {
                find(None, code, message);
                expect_seq += 1;
                continue;
            }
        };
        report.entries += 1;
        let seq = Some(entry.seq);
        if serde_json::to_string(&entry).ok().as_deref() != Some(line) {
            find(
                seq,
                "noncanonical",
                "the line is not in the form Assure wrote (fields added, removed or reformatted)".into(),
            );
        }
        if entry.seq != expect_seq {
            let message = if entry.seq == expect_seq + 1 {
                format!("expected entry {expect_seq} here; entry {expect_seq} is missing or out of order")
            } else if entry.seq > expect_seq {
                format!(
                    "expected entry {expect_seq} here; entries {expect_seq} to {} are missing or out of order",
                    entry.seq - 1
                )
            } else {
                format!(
                    "expected entry {expect_seq} here; entry {} is repeated or out of order",
                    entry.seq
                )
            };
            find(seq, "sequence", message);
        }
        if entry.prev != prev {
            find(
                seq,
                "chain",
                "does not chain to the entry before it (its `prev` is not that entry's hash)".into(),
            );
        }
        let actual = body_hash(entry.format, entry.seq, &entry.prev, &entry.draft);
        if actual.to_hex().as_str() != entry.hash {
            find(
                seq,
                "hash",
                "content was changed after it was recorded (its hash no longer matches)".into(),
            );
        }
        let sig_ok = hex::decode(&entry.sig)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
            .map(|b| Signature::from_bytes(&b))
            .and_then(|sig| {
                let h = blake3::Hash::from_hex(&entry.hash).ok()?;
                key.verify(&signed(&h), &sig).ok()
            })
            .is_some();
        if !sig_ok {
            find(
                seq,
                "signature",
                "the signature does not verify with the project's public key".into(),
            );
        }
        if let Some(blob) = &entry.draft.blob {
            report.blobs += 1;
            report.bytes += blob.size;
            match check_blob(blob) {
                BlobCheck::Intact => {}
                BlobCheck::Missing => find(
                    seq,
                    "blob-missing",
                    format!("file `{}` ({}) is not in the store", blob.name, short(&blob.blake3)),
                ),
                BlobCheck::Altered { blake3, sha256, size } => find(
                    seq,
                    "blob-altered",
                    format!(
                        "file `{}` changed: recorded {} bytes, SHA-256 {}; stored {size} bytes, SHA-256 {} (BLAKE3 {})",
                        blob.name,
                        blob.size,
                        short(&blob.sha256),
                        short(&sha256),
                        short(&blake3)
                    ),
                ),
            }
        }
        prev = entry.hash.clone();
        expect_seq = entry.seq.max(expect_seq) + 1;
        if entry.closes_batch() {
            pending.clear();
            committed = (report.entries, Some(entry.hash.clone()));
        } else {
            pending.push(entry.seq);
        }
        report.head = Some(entry.hash);
    }
    if let (Some(first), Some(last)) = (pending.first(), pending.last()) {
        report.findings.push(uncommitted_finding(*first, *last, count));
        (report.entries, report.head) = committed;
    }
    if truncated {
        report.findings.push(truncated_finding(count as u64));
    }
    report
}

fn short(hex: &str) -> &str {
    hex.get(..12).unwrap_or(hex)
}

/// Hashes bytes the way the store does: BLAKE3 and SHA-256 in one pass.
#[derive(Debug, Default, Clone)]
pub struct Hasher {
    b3: blake3::Hasher,
    sha: sha2::Sha256,
    size: u64,
}

impl Hasher {
    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        use sha2::Digest as _;
        self.b3.update(bytes);
        self.sha.update(bytes);
        self.size += bytes.len() as u64;
    }

    /// Returns `(blake3 hex, sha256 hex, size)`.
    pub fn finish(self) -> (String, String, u64) {
        use sha2::Digest as _;
        (
            self.b3.finalize().to_hex().to_string(),
            hex::encode(self.sha.finalize()),
            self.size,
        )
    }
}

const HEAD_DOMAIN: &[u8] = b"assure-ledger-head-v1:";

/// A signed statement of a ledger's head: how many entries it had and the hash of the last, at a
/// time. Handed to an auditor (or committed with the project), it is what the ledger can be held to
/// later: a ledger that no longer contains that entry, with that hash, at that position, was cut
/// or rewritten. (Whoever holds the signing key can still write a different ledger and sign new
/// heads; a head published to someone else is what such a rewrite cannot match.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// The statement's format.
    pub format: u32,
    /// Entries in the ledger (the last entry's sequence number).
    pub entries: u64,
    /// The last entry's hash.
    pub head: String,
    /// When the statement was made (RFC 3339, UTC).
    pub at: String,
    /// The public key that signs the ledger, hex.
    pub public_key: String,
    /// Ed25519 signature over the statement, hex.
    pub sig: String,
}

fn head_message(entries: u64, head: &str, at: &str) -> Vec<u8> {
    let mut m = HEAD_DOMAIN.to_vec();
    m.extend_from_slice(format!("{entries}\n{head}\n{at}").as_bytes());
    m
}

/// Signs a statement of the head of a ledger: its committed entries as [`parse`] reads them.
pub fn sign_head(parsed: &Parsed, at: &str, key: &SigningKey) -> Head {
    let (entries, head) = parsed
        .entries
        .last()
        .map_or((0, GENESIS.to_string()), |e| (e.seq, e.hash.clone()));
    let sig: Signature = key.sign(&head_message(entries, &head, at));
    Head {
        format: 1,
        entries,
        head,
        at: at.to_string(),
        public_key: public_key_hex(key),
        sig: hex::encode(sig.to_bytes()),
    }
}

/// Checks a head statement against a ledger: the statement is signed by `key`, and the ledger still
/// holds the entry it names, with its hash, at its position. Returns what is wrong, if anything.
pub fn check_head(head: &Head, key: &VerifyingKey, parsed: &Parsed) -> Option<Finding> {
    let find = |code: &'static str, message: String| {
        Some(Finding {
            line: 0,
            seq: Some(head.entries),
            code,
            message,
        })
    };
    let sig_ok = hex::decode(&head.sig)
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .map(|b| Signature::from_bytes(&b))
        .is_some_and(|sig| {
            key.verify(&head_message(head.entries, &head.head, &head.at), &sig)
                .is_ok()
        });
    if !sig_ok {
        return find(
            "head-signature",
            format!("the head statement of {} is not signed by the project's key", head.at),
        );
    }
    if head.entries == 0 {
        return None;
    }
    match parsed.get(head.entries) {
        None => find(
            "head-missing",
            format!(
                "the ledger has {} entries, but on {} it had {}: entries were removed since",
                parsed.entries.last().map_or(0, |e| e.seq),
                head.at,
                head.entries
            ),
        ),
        Some(e) if e.hash != head.head => find(
            "head-rewritten",
            format!(
                "entry {} is not the entry it was on {} (its hash differs): the ledger was rewritten since",
                head.entries, head.at
            ),
        ),
        Some(_) => None,
    }
}
