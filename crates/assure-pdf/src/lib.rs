//! PDF rendering with typst used as a library: one template for every document, fonts embedded
//! in the binary (no system fonts, so every machine produces the same bytes), no creation time.
//!
//! Only the faces the template sets are embedded (`fonts/`: Libertinus Serif in its four styles,
//! DejaVu Sans Mono for hashes), not typst's whole bundle: its Computer Modern text and math faces
//! were 6.1 MB of the binary that no document used.
//!
//! The document arrives as the JSON of `assure_report::doc::Document` in `sys.inputs.data`, so
//! user text is never spliced into typst markup. Pure: bytes in, bytes out.

#![warn(missing_docs)]

use std::sync::OnceLock;

use typst::foundations::{Dict, IntoValue, Smart};
use typst_as_lib::TypstEngine;
use typst_layout::PagedDocument;

const TEMPLATE: &str = include_str!("../templates/report.typ");

/// The faces the template sets (`font: "Libertinus Serif"`, `font: "DejaVu Sans Mono"`), copied
/// unmodified from typst-assets 0.15.1 with their licences (`fonts/NOTICE`).
const FONTS: [&[u8]; 5] = [
    include_bytes!("../fonts/LibertinusSerif-Regular.otf"),
    include_bytes!("../fonts/LibertinusSerif-Bold.otf"),
    include_bytes!("../fonts/LibertinusSerif-Italic.otf"),
    include_bytes!("../fonts/LibertinusSerif-BoldItalic.otf"),
    include_bytes!("../fonts/DejaVuSansMono.ttf"),
];

/// Why a document could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The document could not be serialized.
    #[error("cannot encode the document: {0}")]
    Encode(#[from] serde_json::Error),
    /// Typst refused the document (a defect in Assure's template: please report it).
    #[error("layout failed: {0}")]
    Layout(String),
}

/// A rendered PDF and what it took.
#[derive(Debug)]
pub struct Rendered {
    /// The PDF bytes.
    pub bytes: Vec<u8>,
    /// Pages.
    pub pages: usize,
}

fn engine() -> &'static TypstEngine<typst_as_lib::TypstTemplateMainFile> {
    static ENGINE: OnceLock<TypstEngine<typst_as_lib::TypstTemplateMainFile>> = OnceLock::new();
    ENGINE.get_or_init(|| TypstEngine::builder().main_file(TEMPLATE).fonts(FONTS).build())
}

/// Renders any serializable document model (the JSON the template reads) to PDF.
///
/// `ident` names the document stably (for example `soc2/2026-12-31`), so the same inputs give the
/// same bytes.
pub fn render<T: serde::Serialize>(doc: &T, ident: &str) -> Result<Rendered, PdfError> {
    let json = serde_json::to_string(doc)?;
    let mut inputs = Dict::new();
    inputs.insert("data".into(), json.into_value());
    let warned = engine().compile_with_input::<_, PagedDocument>(inputs);
    let compiled = warned.output.map_err(|e| PdfError::Layout(describe(&e)))?;
    let options = typst_pdf::PdfOptions {
        ident: Smart::Custom(ident.to_string()),
        timestamp: None,
        ..Default::default()
    };
    let mut bytes = typst_pdf::pdf(&compiled, &options)
        .map_err(|e| PdfError::Layout(e.iter().map(|d| d.message.to_string()).collect::<Vec<_>>().join("; ")))?;
    quiet_poppler(&mut bytes);
    Ok(Rendered {
        pages: compiled.pages().len(),
        bytes,
    })
}

/// Poppler (22.x, Debian 12's `pdfinfo` and `pdftotext`) reports "Syntax Error: Suspects object
/// is wrong type (boolean)" for the catalog's `/MarkInfo<</Marked true/Suspects false>>` that
/// typst writes, although the PDF specification allows it. `/Suspects false` is the default, so
/// leaving it out says the same; it is overwritten with spaces of the same length, so every byte
/// offset in the cross-reference table stays right. The catalog is written uncompressed, once.
fn quiet_poppler(pdf: &mut [u8]) {
    const FROM: &[u8] = b"/MarkInfo<</Marked true/Suspects false>>";
    const TO: &[u8] = b"/MarkInfo<</Marked true>>               ";
    const _: () = assert!(FROM.len() == TO.len());
    if let Some(i) = pdf.windows(FROM.len()).position(|w| w == FROM) {
        pdf[i..i + FROM.len()].copy_from_slice(TO);
    }
}

fn describe(e: &typst_as_lib::TypstAsLibError) -> String {
    match e {
        typst_as_lib::TypstAsLibError::TypstSource(diags) => diags
            .iter()
            .map(|d| {
                let hints = d.hints.iter().map(|h| h.v.to_string()).collect::<Vec<_>>().join("; ");
                format!(
                    "{}{}",
                    d.message,
                    if hints.is_empty() {
                        String::new()
                    } else {
                        format!(" ({hints})")
                    }
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}
