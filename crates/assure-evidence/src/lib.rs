//! Evidence: the canonical tables, connectors that read exports into them, and the evidence store
//! (content-addressed blobs plus the signed, hash-chained ledger of `assure-ledger`).
//!
//! This is an edge crate: it reads input files and writes the store. The ledger's rules live in
//! `assure-ledger`, which does no I/O.

#![warn(missing_docs)]

pub mod columnar;
pub mod connectors;
pub mod import;
pub mod keys;
pub mod load;
pub mod package;
pub mod read;
pub mod remote;
pub mod runfile;
pub mod sniff;
pub mod store;
/// The canonical tables, defined in `assure-schema` (re-exported where they were).
pub use assure_schema::tables;
pub mod vendor;
