//! End-to-end tests of the `assure` binary: wiring, exit codes and the text users see.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

mod cli;
mod demo;
mod evidence;
mod monitor;
mod questionnaire;
mod readme;
mod reports;
mod tidy;
mod workflow;
mod year;
