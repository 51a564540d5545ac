//! Monitoring cycles inside `assure serve`: on the project's schedule, and on demand from the
//! Monitoring page. Every cycle first claims its slot in the database (a row whose primary key is
//! the slot), so several instances sharing one PostgreSQL database never run the same cycle twice;
//! an instance that finds a cycle still running (on any instance) skips its slot rather than run
//! two cycles over one project at once.

use std::sync::Arc;

use assure_project::monitoring::Schedule;
use assure_workspace::service::Backend;
use chrono::Utc;

use crate::db::{Db, DbError};

/// A cycle that started this long ago and never finished is taken to have died with its server.
pub const STALE_AFTER_SECS: i64 = 30 * 60;

/// What became of a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// This instance ran it: `ok: ...` or `failed: ...`.
    Ran(String),
    /// Another instance claimed it first.
    Taken,
    /// A cycle is still running; this slot is skipped.
    Busy,
}

/// Claims `slot` for `instance` and, when this instance wins it, runs the cycle as `by`.
pub async fn run_slot(
    db: &Db,
    backend: Arc<dyn Backend>,
    slot: &str,
    instance: &str,
    by: &str,
) -> Result<Slot, DbError> {
    let now = Utc::now().timestamp();
    if db.cycle_running(now - STALE_AFTER_SECS).await? {
        return Ok(Slot::Busy);
    }
    if !db.claim_cycle(slot, instance, now).await? {
        return Ok(Slot::Taken);
    }
    let by = by.to_string();
    let outcome = match tokio::task::spawn_blocking(move || backend.run_cycle(&by)).await {
        Ok(Ok(summary)) => format!("ok: {}", summary.trim()),
        Ok(Err(e)) => format!("failed: {e}"),
        Err(e) => format!("failed: the cycle stopped: {e}"),
    };
    db.finish_cycle(slot, Utc::now().timestamp(), &outcome).await?;
    Ok(Slot::Ran(outcome))
}

/// Runs cycles on `schedule` until the process ends; each slot is named by its time.
pub async fn run_schedule(db: Db, backend: Arc<dyn Backend>, schedule: Schedule, instance: String) {
    loop {
        let next = schedule.next_after(Utc::now());
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        let slot = format!("scheduled {}", next.format("%Y-%m-%dT%H:%M:%SZ"));
        match run_slot(&db, backend.clone(), &slot, &instance, "assure serve (scheduled)").await {
            Ok(Slot::Ran(outcome)) => eprintln!("monitoring cycle {slot}: {}", outcome.lines().next().unwrap_or("")),
            Ok(Slot::Taken) => eprintln!("monitoring cycle {slot}: run by another instance"),
            Ok(Slot::Busy) => eprintln!("monitoring cycle {slot}: skipped, the previous cycle is still running"),
            Err(e) => eprintln!("monitoring cycle {slot}: cannot claim it in the database: {e}"),
        }
    }
}
