//! The vocabulary every other crate speaks: the canonical evidence tables (`design/evidence-tables.md`),
//! the audit window a test runs for, and the records a test run and a sample persist in the ledger
//! (with enums, never strings, for item statuses, conclusions and risks).
//!
//! **Architecture Invariant:** plain data with serde, no I/O, and no dependency on any other Assure
//! crate, so the engine, the evidence crate and the assessment all stand on it without standing on
//! each other. An edit here rebuilds everything; an edit elsewhere never rebuilds this.

#![warn(missing_docs)]

pub mod results;
pub mod tables;
pub mod window;

pub use window::Window;
