//! Reading Office Open XML packages without trusting them: every part is read through a bound on
//! its real (not its declared) size, and the whole package through a bound on the total, so a
//! compression bomb is refused with a clear error instead of filling the memory.

use std::io::{Cursor, Read};

use zip::ZipArchive;

use crate::QError;

/// The most one part may inflate to.
pub const MAX_PART: u64 = 256 * 1024 * 1024;
/// The most all parts read from one package may inflate to.
pub const MAX_TOTAL: u64 = 1024 * 1024 * 1024;
/// Above this many bytes, a part that inflates more than [`MAX_RATIO`] times is a bomb.
const RATIO_FLOOR: u64 = 16 * 1024 * 1024;
/// The most a large part may inflate relative to its compressed size (XML compresses ~10-30x).
pub const MAX_RATIO: u64 = 200;

/// An open package.
pub struct Package<'a> {
    name: String,
    zip: ZipArchive<Cursor<&'a [u8]>>,
    read_so_far: u64,
}

impl std::fmt::Debug for Package<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Package").field("name", &self.name).finish()
    }
}

impl<'a> Package<'a> {
    /// Opens a package.
    pub fn open(name: &str, bytes: &'a [u8]) -> Result<Package<'a>, QError> {
        let zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
            QError::new(
                name,
                &format!("the ZIP archive cannot be read ({e})"),
                "the file is damaged or truncated; download or export it again",
            )
        })?;
        Ok(Package {
            name: name.to_string(),
            zip,
            read_so_far: 0,
        })
    }

    /// The names of the package's parts, in archive order.
    pub fn names(&self) -> Vec<String> {
        self.zip
            .file_names()
            .filter_map(|n| n.ok())
            .map(|n| n.to_string())
            .collect()
    }

    /// A part's bytes, or `None` when the package has no such part.
    pub fn part(&mut self, path: &str) -> Result<Option<Vec<u8>>, QError> {
        let name = self.name.clone();
        let mut file = match self.zip.by_name(path) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => {
                return Err(QError::new(
                    &name,
                    &format!("part {path} cannot be read ({e})"),
                    "the file is damaged; export it again",
                ));
            }
        };
        let declared = file.size();
        let compressed = file.compressed_size().max(1);
        let bomb = |size: u64| {
            QError::new(
                &name,
                &format!(
                    "part {path} inflates to more than {size} bytes from {compressed} compressed: this looks like a compression bomb, not a questionnaire"
                ),
                "do not open it anywhere; ask the sender for the original file",
            )
        };
        if declared > MAX_PART || (declared > RATIO_FLOOR && declared / compressed > MAX_RATIO) {
            return Err(bomb(declared));
        }
        let budget = MAX_PART.min(MAX_TOTAL.saturating_sub(self.read_so_far));
        let mut out = Vec::with_capacity(declared.min(budget) as usize);
        (&mut file).take(budget + 1).read_to_end(&mut out).map_err(|e| {
            QError::new(
                &name,
                &format!("part {path} cannot be inflated ({e})"),
                "the file is damaged; export it again",
            )
        })?;
        let got = out.len() as u64;
        if got > budget || (got > RATIO_FLOOR && got / compressed > MAX_RATIO) {
            return Err(bomb(got.min(budget)));
        }
        self.read_so_far += got;
        Ok(Some(out))
    }

    /// A part that must be there.
    pub fn required(&mut self, path: &str, what: &str) -> Result<Vec<u8>, QError> {
        self.part(path)?.ok_or_else(|| {
            QError::new(
                &self.name,
                &format!("the package has no {path} ({what})"),
                "the file is not a complete Office document; save it again from Excel, LibreOffice or Word",
            )
        })
    }
}
