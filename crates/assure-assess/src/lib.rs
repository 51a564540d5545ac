//! The assessment: deciding which examinations a company needs (`scope`) and how far its project is
//! from passing them (`gap`).
//!
//! **Architecture Invariant:** nothing in this crate reads files, the network or the clock. Every
//! function takes the project model, the answers or the signals, and an explicit as-of date, and
//! returns data; the renderers return strings.

#![warn(missing_docs)]

pub mod coverage;
pub mod framework;
pub mod gap;
pub mod occurrences;
pub mod render;
pub mod sampling;
pub mod scope;

/// The records a run and a sample persist, defined in `assure-schema` (re-exported where they were).
pub use assure_schema::results;
