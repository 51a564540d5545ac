//! `assure serve`: the web application over a project, served by the application layer's
//! [`Service`] (the same calls the commands make).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use assure_web::Settings;
use assure_workspace::Workspace;
use assure_workspace::service::Service;
use chrono::NaiveDate;
use clap::Args;

use crate::error::CliError;

/// Arguments of `assure serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The project directory (the same as `-p DIR`; default `.`)
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The address to listen on
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The database: sqlite://PATH (default: .assure/web.db in the project) or postgres://USER@HOST/DB
    #[arg(long)]
    pub database: Option<String>,
    /// The largest upload accepted, in MiB
    #[arg(long, default_value_t = 64)]
    pub max_upload_mb: usize,
    /// A header a reverse proxy on this machine sets to the client's address (e.g. x-forwarded-for);
    /// read only from loopback connections, for sign-in limits
    #[arg(long, value_name = "HEADER")]
    pub trusted_proxy_header: Option<String>,
    /// Show the project as of this date (YYYY-MM-DD) instead of today, e.g. the end of a past period
    #[arg(long, value_parser = crate::parse_date)]
    pub as_of: Option<NaiveDate>,
    /// Show this examination period, by name (default: the current period)
    #[arg(long)]
    pub period: Option<String>,
}

/// Runs `assure serve`.
/// Runs the command on the project in `dir` (resolved from `-p` or the positional DIR).
pub fn run(args: ServeArgs, dir: PathBuf) -> Result<ExitCode, CliError> {
    // Refuse early, with the usual diagnostics, when the directory is not a readable project.
    let g = crate::report_cmd::gather(&dir, args.as_of.unwrap_or_else(crate::today), args.period.as_deref())?;
    let org = g.project.manifest.organization.name.clone();
    let url = match &args.database {
        Some(u) => u.clone(),
        None => {
            let state = dir.join(".assure");
            std::fs::create_dir_all(&state).map_err(CliError::io("create", &state))?;
            format!("sqlite://{}?mode=rwc", state.join("web.db").display())
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("cannot start the server's runtime: {e}")))?;
    rt.block_on(async move {
        let db = assure_web::db::Db::connect(&url).await?;
        let mut settings = Settings {
            max_upload: args.max_upload_mb * 1024 * 1024,
            trusted_proxy_header: args.trusted_proxy_header.clone(),
            ..Settings::default()
        };
        let mut first_run = None;
        if db.user_count().await? == 0 {
            match (
                std::env::var("ASSURE_ADMIN_EMAIL"),
                std::env::var("ASSURE_ADMIN_PASSWORD"),
            ) {
                (Ok(email), Ok(password)) => {
                    let name = std::env::var("ASSURE_ADMIN_NAME").unwrap_or_else(|_| "Administrator".into());
                    assure_web::create_user(&db, &email, &name, assure_web::authz::Role::Admin, None, &password)
                        .await
                        .map_err(|e| CliError::problems(format!("cannot create the administrator: {e}")))?;
                    eprintln!("created the administrator {email} from ASSURE_ADMIN_EMAIL and ASSURE_ADMIN_PASSWORD");
                }
                _ => {
                    let code = assure_workspace::random_id()?;
                    first_run = Some(format!("http://{}/setup?code={code}", args.listen));
                    settings.setup_code = Some(code);
                }
            }
        }
        let listener = tokio::net::TcpListener::bind(args.listen).await.map_err(|e| {
            CliError::failure(format!("cannot listen on {}: {e}", args.listen))
                .with_hint("choose another address with --listen")
        })?;
        let state = assure_web::AppState::new(
            db.clone(),
            Arc::new(Service::new(
                Workspace::new(&dir).with_period(args.period.clone()),
                args.as_of,
            )),
            settings,
        );
        eprintln!(
            "Assure is serving {org} at http://{} ({} database{}). Ctrl-C stops it.",
            args.listen,
            db.engine,
            if args.database.is_none() {
                " in .assure/web.db"
            } else {
                ""
            }
        );
        match first_run {
            Some(u) => eprintln!("First run: create the administrator at {u}"),
            None => eprintln!("Sign in at http://{}/login", args.listen),
        }
        assure_web::serve(state, listener)
            .await
            .map_err(|e| CliError::failure(format!("the server stopped: {e}")))
    })?;
    Ok(ExitCode::SUCCESS)
}
