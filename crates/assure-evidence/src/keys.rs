//! The project's ledger signing key: created once, kept out of git under `.assure/keys`, and its
//! public half pinned in `assure.toml` so a swapped key is noticed.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use assure_ledger::{parse_signing_key, public_key_hex};
use ed25519_dalek::SigningKey;

/// Why the key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
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
    /// The key file does not hold a key.
    #[error("`{0}` does not hold an Ed25519 key")]
    Malformed(PathBuf),
    /// The operating system gave no randomness.
    #[error("no secure randomness available to create a key: {0}")]
    Random(String),
}

/// Returns the private key's path.
pub fn key_path(project_root: &Path) -> PathBuf {
    project_root.join(".assure").join("keys").join("ledger.key")
}

/// Loads the project's signing key, creating it when there is none. Returns the key and whether it
/// was created now.
pub fn load_or_create(project_root: &Path) -> Result<(SigningKey, bool), KeyError> {
    let path = key_path(project_root);
    if path.exists() {
        let text = fs::read_to_string(&path).map_err(|source| KeyError::Io {
            what: "read",
            path: path.clone(),
            source,
        })?;
        let key = parse_signing_key(&text).map_err(|_| KeyError::Malformed(path.clone()))?;
        return Ok((key, false));
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
    let key = SigningKey::from_bytes(&seed);
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    fs::create_dir_all(&dir).map_err(|source| KeyError::Io {
        what: "create",
        path: dir.clone(),
        source,
    })?;
    let tmp = dir.join(format!(
        ".ledger.key.{}.{}",
        std::process::id(),
        hex::encode(seed.get(..8).unwrap_or_default())
    ));
    let write = || -> std::io::Result<()> {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(hex::encode(seed).as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        // A link never replaces an existing file: when two processes create the first key at once,
        // exactly one key becomes the project's and the other process uses it.
        fs::hard_link(&tmp, &path)
    };
    let linked = write();
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok((key, true)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(project_root),
        Err(source) => Err(KeyError::Io {
            what: "write",
            path: path.clone(),
            source,
        }),
    }
}

/// Returns the public key of a signing key as hex.
pub fn public_hex(key: &SigningKey) -> String {
    public_key_hex(key)
}
