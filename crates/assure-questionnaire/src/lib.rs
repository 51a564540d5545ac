//! Security questionnaires.
//!
//! What a customer sends (an XLSX workbook, a CSV file, tables in a DOCX document, a VSAQ JSON
//! template) is read into a [`Grid`] per sheet or table, its questions and answer cells are found
//! ([`detect`]), each question is answered from what Assure knows about the company ([`answer`]:
//! the answer library, the controls and their tests in the current period, the policies, the
//! scope) and the answers are written back into the customer's own file ([`export`]), changing
//! only the answer cells.
//!
//! Everything here is pure: bytes in, bytes out. Reading files, the project and the ledger is the
//! application layer's job (`assure-workspace`).

pub mod answer;
pub mod detect;
pub mod docx;
pub mod error;
pub mod export;
pub mod grid;
pub mod library;
pub mod retrieve;
pub mod topics;
pub mod vsaq;
pub mod xlsx;
pub mod zipsafe;

pub use answer::{Answer, Confidence, Embedder, Knowledge, Proposal, Source};
pub use detect::{Mapping, Question, Questionnaire};
pub use error::QError;
pub use grid::{CellRef, Grid, Rect};
pub use library::{Library, LibraryEntry};

/// The kinds of file a questionnaire can come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// An Excel workbook (Office Open XML).
    Xlsx,
    /// Comma-separated values.
    Csv,
    /// Tables in a Word document (Office Open XML).
    Docx,
    /// A Google VSAQ JSON template.
    Vsaq,
}

impl Format {
    /// The format a file's name and first bytes say it is.
    pub fn sniff(name: &str, bytes: &[u8]) -> Result<Format, QError> {
        let lower = name.to_ascii_lowercase();
        let ext = lower.rsplit('.').next().unwrap_or("");
        let zip = bytes.starts_with(b"PK\x03\x04");
        let ole = bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]);
        match ext {
            "xlsx" | "xlsm" | "docx" if ole => Err(QError::new(
                name,
                "it is an OLE2 compound file, not Office Open XML: a legacy .xls/.doc or a password-protected workbook",
                "open it in Excel or LibreOffice, remove the password if any, and save it as .xlsx (or .docx)",
            )),
            "xlsx" | "xlsm" if zip => Ok(Format::Xlsx),
            "docx" if zip => Ok(Format::Docx),
            "xlsx" | "xlsm" | "docx" => Err(QError::new(
                name,
                &format!(
                    "it is not a ZIP archive as a .{ext} file must be (it starts with {:?})",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(8)])
                ),
                "check that the file is what its name says; re-export it from the application that made it",
            )),
            "csv" | "txt" => Ok(Format::Csv),
            "json" => Ok(Format::Vsaq),
            "xls" => Err(QError::new(
                name,
                "legacy .xls workbooks are not read",
                "save it as .xlsx in Excel or LibreOffice and answer that",
            )),
            _ if zip => Err(QError::new(
                name,
                "a ZIP archive with an unknown extension",
                "name it .xlsx or .docx after what it is",
            )),
            _ => Err(QError::new(
                name,
                &format!("an unknown kind of file (.{ext})"),
                "questionnaires are read from .xlsx, .csv, .docx and VSAQ .json files",
            )),
        }
    }
}

/// Reads a questionnaire of any supported format into grids (one per sheet or table).
pub fn read(name: &str, bytes: &[u8]) -> Result<(Format, Vec<Grid>), QError> {
    let format = Format::sniff(name, bytes)?;
    let grids = match format {
        Format::Xlsx => xlsx::read(name, bytes)?.sheets,
        Format::Csv => vec![grid::from_csv(name, bytes)?],
        Format::Docx => docx::read(name, bytes)?,
        Format::Vsaq => vec![vsaq::read(name, bytes)?],
    };
    Ok((format, grids))
}
