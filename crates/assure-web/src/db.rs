//! The web application's database: SQLite by default, PostgreSQL for shared servers, through one
//! code path (sqlx's `Any` driver, `$n` placeholders, portable TEXT and BIGINT columns) and one
//! versioned migration directory per engine.

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Row};

/// A connection pool and the engine behind it.
#[derive(Debug, Clone)]
pub struct Db {
    /// The pool.
    pub pool: AnyPool,
    /// `sqlite` or `postgres`.
    pub engine: &'static str,
}

/// One API token as its owner sees it (never its secret).
#[derive(Debug, Clone)]
pub struct TokenRow {
    /// Its id.
    pub id: String,
    /// The name its owner gave it.
    pub name: String,
    /// When it was created (microseconds since 1970).
    pub created_at: i64,
    /// When it was last used, 0 for never.
    pub last_used_at: i64,
    /// When it stops working, 0 for never.
    pub expires_at: i64,
    /// `read-write` or `read-only`.
    pub scope: String,
    /// When it was revoked, 0 while in force.
    pub revoked_at: i64,
}

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL names an engine we do not support.
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://USER@HOST/DB")]
    Url(String),
    /// The database refused.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    /// A migration failed.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct User {
    /// Identifier.
    pub id: String,
    /// Sign-in email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role: admin, compliance_manager, control_owner, auditor, viewer.
    pub role: String,
    /// The person in `people.toml` this account is (owners see the controls of that person).
    pub person: Option<String>,
}

/// An auditor's request (PBC item).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Request {
    /// Identifier.
    pub id: String,
    /// Its number, `PBC-<number>` for people.
    pub number: i64,
    /// What is requested.
    pub title: String,
    /// Details.
    pub detail: String,
    /// The control it concerns.
    pub control: Option<String>,
    /// Where it stands.
    pub status: crate::requests::RequestStatus,
    /// The account it is assigned to.
    pub assignee: Option<String>,
    /// Due date, YYYY-MM-DD.
    pub due: Option<String>,
    /// Who raised it.
    pub created_by: String,
    /// When it was raised (microseconds since 1970, UTC).
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// Why it was sent back, when it was rejected.
    pub reason: Option<String>,
    /// The auditor's own identifier, for a request imported from their list.
    pub reference: Option<String>,
    /// The criterion it concerns, for a request that names one rather than a control.
    pub criterion: Option<String>,
}

/// An evidence entry linked to a request as (part of) its answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RequestLink {
    /// The ledger entry.
    pub seq: i64,
    /// The account that linked it.
    pub linked_by: String,
    /// When (microseconds since 1970, UTC).
    pub linked_at: i64,
}

/// A comment on a control, request or test.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Comment {
    /// Identifier.
    pub id: String,
    /// `control:ID`, `request:ID` or `test:ID`.
    pub subject: String,
    /// Author's account.
    pub user_id: String,
    /// Author's name.
    pub author: String,
    /// Text.
    pub body: String,
    /// When (microseconds since 1970, UTC).
    pub created_at: i64,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct AuditLine {
    /// When (microseconds since 1970, UTC).
    pub at: i64,
    /// Who (account email), if signed in.
    pub who: Option<String>,
    /// What was done.
    pub action: String,
    /// To what.
    pub subject: String,
    /// Details.
    pub detail: String,
    /// The HTTP request it came from.
    pub request_id: String,
}

/// A line to append to the audit log.
#[derive(Debug, Clone, Copy)]
pub struct NewAudit<'a> {
    /// Identifier.
    pub id: &'a str,
    /// When (microseconds since 1970, UTC).
    pub at: i64,
    /// The account, if signed in.
    pub user_id: Option<&'a str>,
    /// What was done.
    pub action: &'a str,
    /// To what.
    pub subject: &'a str,
    /// Details.
    pub detail: &'a str,
    /// The HTTP request.
    pub request_id: &'a str,
}

/// The active account an unused, unexpired reset link (`$1`, its token's hash) is for at `$2`.
const RESET_USER: &str = "SELECT u.id, u.email, u.name, u.role, u.person FROM password_resets r JOIN users u ON u.id = r.user_id WHERE r.token_hash = $1 AND r.used_at = 0 AND r.expires_at > $2 AND u.disabled_at = 0";

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Connects and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        install_default_drivers();
        let engine = if url.starts_with("sqlite:") {
            "sqlite"
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            "postgres"
        } else {
            return Err(DbError::Url(url.to_string()));
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if engine == "sqlite" { 4 } else { 16 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if engine == "sqlite" {
                        // WAL lets readers run beside the writer; wait instead of failing when busy.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA busy_timeout = 5000").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        match engine {
            "sqlite" => SQLITE.run(&pool).await?,
            _ => POSTGRES.run(&pool).await?,
        }
        Ok(Db { pool, engine })
    }

    /// Claims a monitoring cycle's slot for `instance`: true when this call inserted it, false
    /// when another instance (or an earlier call) already holds it. The primary key decides, so
    /// instances sharing the database never run the same cycle twice.
    pub async fn claim_cycle(&self, slot: &str, instance: &str, now: i64) -> Result<bool, DbError> {
        let done = sqlx::query(
            "INSERT INTO monitor_cycles (slot, instance, started_at) VALUES ($1, $2, $3) ON CONFLICT (slot) DO NOTHING",
        )
        .bind(slot)
        .bind(instance)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records how a claimed cycle ended (`ok: ...` or `failed: ...`).
    pub async fn finish_cycle(&self, slot: &str, now: i64, outcome: &str) -> Result<(), DbError> {
        sqlx::query("UPDATE monitor_cycles SET finished_at = $1, outcome = $2 WHERE slot = $3")
            .bind(now)
            .bind(outcome)
            .bind(slot)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether a cycle started after `since` is still running (on any instance).
    pub async fn cycle_running(&self, since: i64) -> Result<bool, DbError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM monitor_cycles WHERE finished_at = 0 AND started_at > $1")
            .bind(since)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// The latest claimed cycles, newest first: slot, instance, started, finished, outcome.
    pub async fn cycles(&self, limit: i64) -> Result<Vec<(String, String, i64, i64, String)>, DbError> {
        let rows = sqlx::query(
            "SELECT slot, instance, started_at, finished_at, outcome FROM monitor_cycles ORDER BY started_at DESC, slot DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("slot")?,
                    r.try_get("instance")?,
                    r.try_get("started_at")?,
                    r.try_get("finished_at")?,
                    r.try_get("outcome")?,
                ))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(DbError::from)
    }

    /// How many accounts exist.
    pub async fn user_count(&self) -> Result<i64, DbError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await?
            .try_get::<i64, _>("n")?)
    }

    /// Creates an account.
    pub async fn create_user(&self, u: &User, password_hash: &str, now: i64) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO users (id, email, name, role, person, password_hash, failed_logins, locked_until, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, 0, $7)",
        )
        .bind(&u.id)
        .bind(&u.email)
        .bind(&u.name)
        .bind(&u.role)
        .bind(&u.person)
        .bind(password_hash)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    fn user_of(row: &sqlx::any::AnyRow) -> Result<User, sqlx::Error> {
        Ok(User {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            name: row.try_get("name")?,
            role: row.try_get("role")?,
            person: row.try_get("person")?,
        })
    }

    /// Every account, by email.
    pub async fn users(&self) -> Result<Vec<User>, DbError> {
        let rows = sqlx::query("SELECT id, email, name, role, person FROM users ORDER BY email")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(Db::user_of).collect::<Result<_, _>>()?)
    }

    /// An account with its password hash and lockout state, by email.
    pub async fn login_record(&self, email: &str) -> Result<Option<(User, String, i64, i64)>, DbError> {
        let row = sqlx::query(
            "SELECT id, email, name, role, person, password_hash, failed_logins, locked_until FROM users WHERE email = $1 AND disabled_at = 0",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some((
                Db::user_of(&r)?,
                r.try_get("password_hash")?,
                r.try_get("failed_logins")?,
                r.try_get("locked_until")?,
            ))),
        }
    }

    /// Records a failed sign-in; locks the account for `lock_micros` after `max_failures`.
    pub async fn login_failed(
        &self,
        user_id: &str,
        now: i64,
        max_failures: i64,
        lock_micros: i64,
    ) -> Result<bool, DbError> {
        let row =
            sqlx::query("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?;
        let n: i64 = row.try_get("failed_logins")?;
        if n >= max_failures {
            sqlx::query("UPDATE users SET locked_until = $1, failed_logins = 0 WHERE id = $2")
                .bind(now + lock_micros)
                .bind(user_id)
                .execute(&self.pool)
                .await?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Clears failures after a successful sign-in.
    pub async fn login_succeeded(&self, user_id: &str) -> Result<(), DbError> {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores a session.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        csrf: &str,
        now: i64,
        expires: i64,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf)
        .bind(now)
        .bind(expires)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The account and CSRF token of a live session.
    pub async fn session(&self, token_hash: &str, now: i64) -> Result<Option<(User, String)>, DbError> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.name, u.role, u.person, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at = 0",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some((Db::user_of(&r)?, r.try_get("csrf")?))),
        }
    }

    /// Ends a session.
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), DbError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores an API token: `expires_at` 0 for never, `scope` `read-write` or `read-only`.
    #[allow(clippy::too_many_arguments, reason = "one column each")]
    pub async fn create_token(
        &self,
        id: &str,
        user_id: &str,
        name: &str,
        token_hash: &str,
        now: i64,
        expires_at: i64,
        scope: &str,
    ) -> Result<(), DbError> {
        sqlx::query("INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, last_used_at, expires_at, scope, revoked_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, 0)")
            .bind(id)
            .bind(user_id)
            .bind(name)
            .bind(token_hash)
            .bind(now)
            .bind(expires_at)
            .bind(scope)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The account an API token in force belongs to (not revoked, not expired, its account not
    /// disabled), and whether the token is read-only.
    pub async fn token_user(&self, token_hash: &str, now: i64) -> Result<Option<(User, bool)>, DbError> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.name, u.role, u.person, t.scope FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.revoked_at = 0 AND (t.expires_at = 0 OR t.expires_at > $2) AND u.disabled_at = 0",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(r) => {
                let scope: String = r.try_get("scope")?;
                Ok(Some((Db::user_of(&r)?, scope == "read-only")))
            }
        }
    }

    /// A user's tokens, newest last.
    pub async fn tokens(&self, user_id: &str) -> Result<Vec<TokenRow>, DbError> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, last_used_at, expires_at, scope, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TokenRow {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    created_at: r.try_get("created_at")?,
                    last_used_at: r.try_get("last_used_at")?,
                    expires_at: r.try_get("expires_at")?,
                    scope: r.try_get("scope")?,
                    revoked_at: r.try_get("revoked_at")?,
                })
            })
            .collect()
    }

    /// Revokes one of a user's tokens; false when the user has no such token in force.
    pub async fn revoke_token(&self, user_id: &str, id: &str, now: i64) -> Result<bool, DbError> {
        let r = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at = 0")
            .bind(now)
            .bind(id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Every account with whether it is disabled, by email.
    pub async fn accounts(&self) -> Result<Vec<(User, bool)>, DbError> {
        let rows = sqlx::query(
            "SELECT id, email, name, role, person, disabled_at FROM users WHERE removed_at = 0 ORDER BY email",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let disabled: i64 = r.try_get("disabled_at")?;
                Ok((Db::user_of(r)?, disabled != 0))
            })
            .collect()
    }

    /// Changes an account's name, role and person.
    pub async fn update_user(&self, id: &str, name: &str, role: &str, person: Option<&str>) -> Result<bool, DbError> {
        let r = sqlx::query("UPDATE users SET name = $1, role = $2, person = $3 WHERE id = $4")
            .bind(name)
            .bind(role)
            .bind(person)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Disables (at `now`) or enables an account; disabling also ends its sessions.
    pub async fn set_disabled(&self, id: &str, disabled: bool, now: i64) -> Result<bool, DbError> {
        let r = sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2 AND removed_at = 0")
            .bind(if disabled { now } else { 0 })
            .bind(id)
            .execute(&self.pool)
            .await?;
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        Ok(r.rows_affected() == 1)
    }

    /// Records a one-time password reset for an account (its token's hash), replacing any earlier
    /// one not yet used: only the newest link works.
    pub async fn create_reset(
        &self,
        token_hash: &str,
        user_id: &str,
        created_by: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), DbError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM password_resets WHERE user_id = $1 AND used_at = 0")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO password_resets (token_hash, user_id, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(created_by)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The active account a reset link is for, while the link is unused and unexpired.
    pub async fn reset_user(&self, token_hash: &str, now: i64) -> Result<Option<User>, DbError> {
        let row = sqlx::query(RESET_USER)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(Db::user_of).transpose()?)
    }

    /// Uses a reset link once: sets the new password, clears a lockout and ends the account's
    /// sessions, in one transaction. `None` when the link is used, expired or unknown (so two
    /// tabs submitting the same link change the password once).
    pub async fn use_reset(&self, token_hash: &str, password_hash: &str, now: i64) -> Result<Option<User>, DbError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(RESET_USER)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(user) = row.as_ref().map(Db::user_of).transpose()? else {
            return Ok(None);
        };
        let used = sqlx::query("UPDATE password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at = 0")
            .bind(now)
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        if used.rows_affected() != 1 {
            return Ok(None);
        }
        sqlx::query("UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = 0 WHERE id = $2")
            .bind(password_hash)
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(user))
    }

    /// Removes an account: it keeps its row (the audit log, comments and requests still name who
    /// did what) under `email` rewritten to say it was removed, so the address can be used again;
    /// it is disabled, its sessions end, its tokens are revoked, its unused resets are dropped and
    /// the requests assigned to it that are not yet accepted lose their assignee. Returns how many
    /// requests were unassigned, or `None` when there is no such active account.
    pub async fn remove_user(&self, id: &str, removed_email: &str, now: i64) -> Result<Option<u64>, DbError> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "UPDATE users SET removed_at = $1, disabled_at = $1, email = $2, password_hash = '!' WHERE id = $3 AND removed_at = 0",
        )
        .bind(now)
        .bind(removed_email)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(None);
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM password_resets WHERE user_id = $1 AND used_at = 0")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at = 0")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let unassigned = sqlx::query(
            "UPDATE requests SET assignee = NULL, updated_at = $1 WHERE assignee = $2 AND status <> 'accepted'",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(Some(unassigned))
    }

    /// Creates a request, numbering it after the highest so far.
    pub async fn create_request(&self, r: &Request) -> Result<Request, DbError> {
        for _ in 0..5 {
            let next: i64 = sqlx::query("SELECT COALESCE(MAX(number), 0) + 1 AS n FROM requests")
                .fetch_one(&self.pool)
                .await?
                .try_get("n")?;
            let res = sqlx::query(
                "INSERT INTO requests (id, number, title, detail, control, status, assignee, due, created_by, created_at, updated_at, reason, reference, criterion) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(&r.id)
            .bind(next)
            .bind(&r.title)
            .bind(&r.detail)
            .bind(&r.control)
            .bind(r.status.as_str())
            .bind(&r.assignee)
            .bind(&r.due)
            .bind(&r.created_by)
            .bind(r.created_at)
            .bind(r.updated_at)
            .bind(&r.reason)
            .bind(&r.reference)
            .bind(&r.criterion)
            .execute(&self.pool)
            .await;
            match res {
                Ok(_) => {
                    return Ok(Request {
                        number: next,
                        ..r.clone()
                    });
                }
                // Another request took the number at the same moment: take the next one.
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DbError::Sql(sqlx::Error::Protocol(
            "could not number the request".into(),
        )))
    }

    fn request_of(r: &sqlx::any::AnyRow) -> Result<Request, sqlx::Error> {
        Ok(Request {
            id: r.try_get("id")?,
            number: r.try_get("number")?,
            title: r.try_get("title")?,
            detail: r.try_get("detail")?,
            control: r.try_get("control")?,
            status: {
                let text: String = r.try_get("status")?;
                crate::requests::RequestStatus::parse(&text).ok_or_else(|| {
                    sqlx::Error::Decode(format!("request status `{text}` is not one Assure writes").into())
                })?
            },
            assignee: r.try_get("assignee")?,
            due: r.try_get("due")?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
            reason: r.try_get("reason")?,
            reference: r.try_get("reference")?,
            criterion: r.try_get("criterion")?,
        })
    }

    /// Every request, newest number first.
    pub async fn requests(&self) -> Result<Vec<Request>, DbError> {
        let rows = sqlx::query("SELECT * FROM requests ORDER BY number DESC")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(Db::request_of).collect::<Result<_, _>>()?)
    }

    /// One request.
    pub async fn request(&self, id: &str) -> Result<Option<Request>, DbError> {
        let row = sqlx::query("SELECT * FROM requests WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Db::request_of(&r)).transpose().map_err(DbError::from)
    }

    /// Changes a request's status (with the reason, for a rejection), assignee and due date.
    pub async fn update_request(
        &self,
        id: &str,
        status: crate::requests::RequestStatus,
        reason: Option<&str>,
        assignee: Option<&str>,
        due: Option<&str>,
        now: i64,
    ) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE requests SET status = $1, reason = $2, assignee = $3, due = $4, updated_at = $5 WHERE id = $6",
        )
        .bind(status.as_str())
        .bind(reason)
        .bind(assignee)
        .bind(due)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The request imported earlier under the auditor's reference, if any.
    pub async fn request_by_reference(&self, reference: &str) -> Result<Option<Request>, DbError> {
        let row = sqlx::query("SELECT * FROM requests WHERE reference = $1")
            .bind(reference)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Db::request_of(&r)).transpose().map_err(DbError::from)
    }

    /// Updates what an imported request asks for (a re-import of the auditor's list).
    pub async fn update_request_text(
        &self,
        id: &str,
        title: &str,
        control: Option<&str>,
        criterion: Option<&str>,
        due: Option<&str>,
        now: i64,
    ) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE requests SET title = $1, control = $2, criterion = $3, due = $4, updated_at = $5 WHERE id = $6",
        )
        .bind(title)
        .bind(control)
        .bind(criterion)
        .bind(due)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Links a ledger entry to a request; linking it twice changes nothing.
    pub async fn link_evidence(&self, request: &str, seq: i64, user: &str, now: i64) -> Result<bool, DbError> {
        let res =
            sqlx::query("INSERT INTO request_evidence (request_id, seq, linked_by, linked_at) VALUES ($1, $2, $3, $4)")
                .bind(request)
                .bind(seq)
                .bind(user)
                .bind(now)
                .execute(&self.pool)
                .await;
        match res {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a link.
    pub async fn unlink_evidence(&self, request: &str, seq: i64) -> Result<(), DbError> {
        sqlx::query("DELETE FROM request_evidence WHERE request_id = $1 AND seq = $2")
            .bind(request)
            .bind(seq)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The entries linked to a request, in ledger order.
    pub async fn request_links(&self, request: &str) -> Result<Vec<RequestLink>, DbError> {
        let rows =
            sqlx::query("SELECT seq, linked_by, linked_at FROM request_evidence WHERE request_id = $1 ORDER BY seq")
                .bind(request)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(RequestLink {
                    seq: r.try_get("seq")?,
                    linked_by: r.try_get("linked_by")?,
                    linked_at: r.try_get("linked_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// Adds a comment.
    pub async fn add_comment(
        &self,
        id: &str,
        subject: &str,
        user_id: &str,
        body: &str,
        now: i64,
    ) -> Result<(), DbError> {
        sqlx::query("INSERT INTO comments (id, subject, user_id, body, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(subject)
            .bind(user_id)
            .bind(body)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The comments on a subject, oldest first.
    pub async fn comments(&self, subject: &str) -> Result<Vec<Comment>, DbError> {
        let rows = sqlx::query(
            "SELECT c.id, c.subject, c.user_id, u.name AS author, c.body, c.created_at FROM comments c JOIN users u ON u.id = c.user_id WHERE c.subject = $1 ORDER BY c.created_at, c.id",
        )
        .bind(subject)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Comment {
                    id: r.try_get("id")?,
                    subject: r.try_get("subject")?,
                    user_id: r.try_get("user_id")?,
                    author: r.try_get("author")?,
                    body: r.try_get("body")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Appends to the audit log.
    pub async fn audit(&self, e: &NewAudit<'_>) -> Result<(), DbError> {
        sqlx::query("INSERT INTO audit_log (id, at, user_id, action, subject, detail, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(e.id)
            .bind(e.at)
            .bind(e.user_id)
            .bind(e.action)
            .bind(e.subject)
            .bind(e.detail)
            .bind(e.request_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One page of the audit log, newest first, of the lines whose person, action, subject or
    /// detail contains `text` (any case; `%` and `_` are plain characters), and how many lines
    /// match in all.
    pub async fn audit_search(&self, text: &str, offset: i64, limit: i64) -> Result<(Vec<AuditLine>, i64), DbError> {
        let text = text.trim().to_lowercase();
        let pattern = format!(
            "%{}%",
            text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
        );
        const WHERE: &str = "FROM audit_log a LEFT JOIN users u ON u.id = a.user_id WHERE ($1 = '' OR LOWER(COALESCE(u.email, '')) LIKE $2 ESCAPE '\\' OR LOWER(a.action) LIKE $2 ESCAPE '\\' OR LOWER(a.subject) LIKE $2 ESCAPE '\\' OR LOWER(a.detail) LIKE $2 ESCAPE '\\')";
        let total: i64 = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) AS n {WHERE}")))
            .bind(&text)
            .bind(&pattern)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT a.at, u.email AS who, a.action, a.subject, a.detail, a.request_id {WHERE} ORDER BY a.at DESC, a.id DESC LIMIT $3 OFFSET $4"
        )))
        .bind(&text)
        .bind(&pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let lines = rows.iter().map(Db::audit_line).collect::<Result<Vec<_>, _>>()?;
        Ok((lines, total))
    }

    /// The audit log, newest first, optionally for one subject prefix.
    pub async fn audit_log(&self, subject_prefix: Option<&str>, limit: i64) -> Result<Vec<AuditLine>, DbError> {
        let rows = sqlx::query(
            "SELECT a.at, u.email AS who, a.action, a.subject, a.detail, a.request_id FROM audit_log a LEFT JOIN users u ON u.id = a.user_id WHERE ($1 = '' OR a.subject LIKE $2) ORDER BY a.at DESC, a.id DESC LIMIT $3",
        )
        .bind(subject_prefix.unwrap_or(""))
        .bind(format!("{}%", subject_prefix.unwrap_or("")))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(Db::audit_line).collect::<Result<Vec<_>, _>>()?)
    }

    fn audit_line(r: &sqlx::any::AnyRow) -> Result<AuditLine, sqlx::Error> {
        Ok(AuditLine {
            at: r.try_get("at")?,
            who: r.try_get("who")?,
            action: r.try_get("action")?,
            subject: r.try_get("subject")?,
            detail: r.try_get("detail")?,
            request_id: r.try_get("request_id")?,
        })
    }
}
