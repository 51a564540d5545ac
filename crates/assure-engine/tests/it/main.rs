//! The engine's one integration-test binary: every standard test on a fixture company with planted
//! passes and failures, window edge cases, identity resolution and failure isolation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

mod fixture;
mod row_local;
mod rows;
mod standard;
