//! OSCAL. (being written)
use assure_report::Inputs;
/// Which catalog.
#[derive(Debug, Clone, Copy)]
pub enum Framework { /// SOC 2
 Soc2, /// SOC 1
 Soc1 }
/// Error.
#[derive(Debug)]
pub struct OscalError(pub String);
impl std::fmt::Display for OscalError { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0) } }
/// Documents.
pub fn documents(_inp: &Inputs<'_>, _f: Framework) -> Result<Vec<(String, serde_json::Value)>, OscalError> { Err(OscalError("not yet".into())) }
