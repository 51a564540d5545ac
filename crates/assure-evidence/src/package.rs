//! The evidence package an auditor takes away: a tar archive of the ledger, every blob it names,
//! the public key and a manifest; verifiable offline with `assure evidence verify PACKAGE`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use assure_ledger::{BlobCheck, Entry, Finding, Hasher, Report, parse_public_key, verify};
use serde::{Deserialize, Serialize};

use crate::store::{EvidenceStore, StoreError};

const PREFIX: &str = "assure-evidence";

/// The manifest at the top of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The package format.
    pub format: u32,
    /// The organization.
    pub organization: String,
    /// The public key that signed the ledger, hex.
    pub public_key: String,
    /// Entries in the ledger.
    pub entries: u64,
    /// The hash of the last entry.
    pub head: Option<String>,
    /// Blobs included.
    pub blobs: u64,
    /// The head of the ledger, signed with the project's key, as of the last entry: what makes
    /// cutting entries off the end and rewriting the manifest detectable (absent in packages
    /// written by earlier versions, which verification reports).
    #[serde(default)]
    pub signed_head: Option<assure_ledger::Head>,
}

/// Why a package could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// File system trouble.
    #[error("cannot {what} `{path}`: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The ledger has lines that are not entries; a package of it would hide them.
    #[error("the ledger has {} line(s) that are not entries ({}); nothing was exported", .0.len(), .0.join("; "))]
    UnreadableLedger(Vec<String>),
    /// The file is not a package.
    #[error("`{path}` is not an evidence package: {reason}")]
    NotAPackage {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

fn add(builder: &mut tar::Builder<File>, name: &str, bytes: &[u8], path: &Path) -> Result<(), PackageError> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    builder
        .append_data(&mut header, format!("{PREFIX}/{name}"), bytes)
        .map_err(|source| PackageError::Io {
            what: "write",
            path: path.to_path_buf(),
            source,
        })
}

/// Writes a package of the whole ledger and its blobs to `out` (through a temporary file).
/// The archive carries no timestamps, so the same ledger gives the same bytes.
pub fn export(
    store: &dyn EvidenceStore,
    organization: &str,
    key: &ed25519_dalek::SigningKey,
    out: &Path,
) -> Result<Manifest, PackageError> {
    let public_key = &assure_ledger::public_key_hex(key);
    let ledger = store.ledger()?;
    let parsed = assure_ledger::parse(&ledger);
    if !parsed.ok() {
        return Err(PackageError::UnreadableLedger(parsed.problem_lines()));
    }
    // Signed as of the last entry, so the same ledger gives the same package bytes.
    let at = parsed.entries.last().map(|e| e.draft.at.clone()).unwrap_or_default();
    let signed_head = assure_ledger::sign_head(&parsed, &at, key);
    let entries: Vec<Entry> = parsed.entries;
    let tmp = out.with_extension("part");
    let io = |what: &'static str| {
        move |source| PackageError::Io {
            what,
            path: out.to_path_buf(),
            source,
        }
    };
    let file = File::create(&tmp).map_err(io("create"))?;
    let mut builder = tar::Builder::new(file);
    let mut seen = std::collections::BTreeSet::new();
    for e in &entries {
        if let Some(b) = &e.draft.blob
            && seen.insert(b.blake3.clone())
        {
            let mut bytes = Vec::new();
            store
                .open_blob(&b.blake3)?
                .read_to_end(&mut bytes)
                .map_err(io("read a blob for"))?;
            add(&mut builder, &format!("blobs/{}", b.blake3), &bytes, out)?;
        }
    }
    let manifest = Manifest {
        format: 1,
        organization: organization.to_string(),
        public_key: public_key.to_string(),
        entries: entries.len() as u64,
        head: entries.last().map(|e| e.hash.clone()),
        blobs: seen.len() as u64,
        signed_head: Some(signed_head),
    };
    add(&mut builder, "ledger.jsonl", ledger.as_bytes(), out)?;
    add(&mut builder, "public.key", format!("{public_key}\n").as_bytes(), out)?;
    add(
        &mut builder,
        "manifest.json",
        serde_json::to_string_pretty(&manifest).unwrap_or_default().as_bytes(),
        out,
    )?;
    let file = builder.into_inner().map_err(io("finish"))?;
    file.sync_all().map_err(io("sync"))?;
    std::fs::rename(&tmp, out).map_err(io("rename"))?;
    Ok(manifest)
}

/// Verifies a package without extracting it: every name is checked, every blob re-hashed, the
/// ledger verified with the package's key, and, when given, the key compared with `pinned`.
pub fn verify_package(path: &Path, pinned: Option<&str>) -> Result<(Manifest, Report), PackageError> {
    let not = |reason: String| PackageError::NotAPackage {
        path: path.to_path_buf(),
        reason,
    };
    let file = File::open(path).map_err(|source| PackageError::Io {
        what: "open",
        path: path.to_path_buf(),
        source,
    })?;
    let mut archive = tar::Archive::new(file);
    let mut ledger = None;
    let mut key = None;
    let mut manifest = None;
    let mut blobs: BTreeMap<String, (String, String, u64)> = BTreeMap::new();
    let mut findings = Vec::new();
    let mut members: std::collections::BTreeSet<PathBuf> = std::collections::BTreeSet::new();
    let entries = archive.entries().map_err(|e| not(format!("not a tar archive ({e})")))?;
    for item in entries {
        let mut item = item.map_err(|e| not(format!("damaged archive ({e})")))?;
        let name = item
            .path()
            .map(|p| p.to_path_buf())
            .map_err(|e| not(format!("bad entry name ({e})")))?;
        // A second member of the same name would silently win over the first: refuse the package.
        if !members.insert(name.clone()) {
            return Err(not(format!(
                "it contains `{}` twice; a package holds each member once",
                name.display()
            )));
        }
        let safe = name.components().all(|c| matches!(c, Component::Normal(_)));
        let rel = name
            .strip_prefix(PREFIX)
            .ok()
            .map(|p| p.to_string_lossy().replace('\\', "/"));
        match (safe, rel.as_deref()) {
            (true, Some("ledger.jsonl")) => {
                let mut s = String::new();
                item.read_to_string(&mut s)
                    .map_err(|e| not(format!("ledger is not text ({e})")))?;
                ledger = Some(s);
            }
            (true, Some("public.key")) => {
                let mut s = String::new();
                item.read_to_string(&mut s)
                    .map_err(|e| not(format!("public key is not text ({e})")))?;
                key = Some(s.trim().to_string());
            }
            (true, Some("manifest.json")) => {
                let mut s = String::new();
                item.read_to_string(&mut s)
                    .map_err(|e| not(format!("manifest is not text ({e})")))?;
                manifest = serde_json::from_str::<Manifest>(&s).ok();
            }
            (true, Some(r)) if r.starts_with("blobs/") => {
                let mut hasher = Hasher::default();
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let k = item.read(&mut buf).map_err(|e| not(format!("damaged blob ({e})")))?;
                    if k == 0 {
                        break;
                    }
                    hasher.update(buf.get(..k).unwrap_or(&[]));
                }
                let (b3, sha, size) = hasher.finish();
                blobs.insert(r.trim_start_matches("blobs/").to_string(), (b3, sha, size));
            }
            _ => findings.push(Finding {
                line: 0,
                seq: None,
                code: "unexpected-file",
                message: format!(
                    "the package contains `{}`, which is not part of the format; it was not read",
                    name.display()
                ),
            }),
        }
    }
    let ledger = ledger.ok_or_else(|| not("it has no ledger.jsonl".into()))?;
    let key_hex = key.ok_or_else(|| not("it has no public.key".into()))?;
    let manifest = manifest.ok_or_else(|| not("it has no readable manifest.json".into()))?;
    let vk = parse_public_key(&key_hex).map_err(|_| not("its public.key is not an Ed25519 key".into()))?;
    let mut check = |b: &assure_ledger::BlobRef| match blobs.get(&b.blake3) {
        None => BlobCheck::Missing,
        Some((b3, sha, size)) if *b3 == b.blake3 && *sha == b.sha256 && *size == b.size => BlobCheck::Intact,
        Some((b3, sha, size)) => BlobCheck::Altered {
            blake3: b3.clone(),
            sha256: sha.clone(),
            size: *size,
        },
    };
    let mut report = verify(&ledger, &vk, &mut check);
    if let Some(p) = pinned
        && p.trim().trim_start_matches("ed25519:") != key_hex
    {
        report.findings.insert(
            0,
            Finding {
                line: 0,
                seq: None,
                code: "key-mismatch",
                message: "the package was signed with a key other than the one pinned for this project".into(),
            },
        );
    }
    match &manifest.signed_head {
        None => report.findings.push(Finding {
            line: 0,
            seq: None,
            code: "manifest-unsigned",
            message: "the manifest carries no signed head (a package from an earlier version), so entries cut off the end would not show".into(),
        }),
        Some(h) => {
            if let Some(f) = assure_ledger::check_head(h, &vk, &assure_ledger::parse(&ledger)) {
                report.findings.push(f);
            } else if Some(&h.head) != manifest.head.as_ref() || h.entries != manifest.entries {
                report.findings.push(Finding {
                    line: 0,
                    seq: None,
                    code: "manifest",
                    message: "the manifest's entry count or head hash is not the head it signs".into(),
                });
            }
        }
    }
    if manifest.head != report.head || manifest.entries != report.entries {
        report.findings.push(Finding {
            line: 0,
            seq: None,
            code: "manifest",
            message: "the manifest's entry count or head hash does not match the ledger".into(),
        });
    }
    report.findings.splice(0..0, findings);
    Ok((manifest, report))
}
