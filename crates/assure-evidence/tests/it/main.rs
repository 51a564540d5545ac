//! The evidence crate's one integration-test binary.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

mod columnar;
mod connectors;
mod periods;
mod remote;
mod runfile;
mod store;
mod vendors;
