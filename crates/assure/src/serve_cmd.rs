//! `assure serve`: the web application over a project, served by the application layer's
//! [`Service`] (the same calls the commands make).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use assure_project::monitoring::Schedule;
use assure_web::Settings;
use assure_workspace::Workspace;
use assure_workspace::service::{Backend, BackendError, Service, Upload, Verified};
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
    /// Do not run monitoring cycles on `[monitoring] schedule` in this instance (another process
    /// runs them, e.g. `assure monitor` from cron)
    #[arg(long)]
    pub no_monitor: bool,
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
                    match assure_web::create_user(&db, &email, &name, assure_web::authz::Role::Admin, None, &password)
                        .await
                    {
                        Ok(_) => eprintln!(
                            "created the administrator {email} from ASSURE_ADMIN_EMAIL and ASSURE_ADMIN_PASSWORD"
                        ),
                        // Another instance sharing the database created it first.
                        Err(_) if db.user_count().await? > 0 => {
                            eprintln!("the administrator was created by another instance sharing this database")
                        }
                        Err(e) => return Err(CliError::problems(format!("cannot create the administrator: {e}"))),
                    }
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
        let backend: Arc<dyn Backend> = Arc::new(Served {
            service: Service::new(Workspace::new(&dir).with_period(args.period.clone()), args.as_of),
            dir: dir.clone(),
            as_of: args.as_of,
        });
        let state = assure_web::AppState::new(db.clone(), backend.clone(), settings);
        let schedule = g.project.manifest.monitoring.schedule.as_deref().map(Schedule::parse);
        match schedule {
            Some(Ok(schedule)) if !args.no_monitor => {
                let instance = format!(
                    "{} pid {} ({})",
                    std::env::var("HOSTNAME").unwrap_or_else(|_| "this host".into()),
                    std::process::id(),
                    args.listen
                );
                eprintln!(
                    "Monitoring cycles run on `{}`; instances sharing this database take turns",
                    g.project.manifest.monitoring.schedule.as_deref().unwrap_or_default()
                );
                tokio::spawn(assure_web::monitor::run_schedule(
                    db.clone(),
                    backend,
                    schedule,
                    instance,
                ));
            }
            Some(Err(e)) => eprintln!("no monitoring cycles: {e}"),
            _ => {}
        }
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

/// The application layer as the server runs it: every call goes to [`Service`]; monitoring cycles
/// also reach the network (collectors, alert delivery), which only the binary's edges do.
struct Served {
    service: Service,
    dir: PathBuf,
    as_of: Option<NaiveDate>,
}

impl Backend for Served {
    fn snapshot(&self, as_of: NaiveDate) -> Result<assure_workspace::Snapshot, BackendError> {
        self.service.snapshot(as_of)
    }
    fn import(&self, upload: Upload) -> Result<Vec<assure_ledger::Entry>, BackendError> {
        self.service.import(upload)
    }
    fn accept_policy(&self, email: &str, policy: &str, version: &str) -> Result<assure_ledger::Entry, BackendError> {
        self.service.accept_policy(email, policy, version)
    }
    fn verify(&self) -> Result<Verified, BackendError> {
        self.service.verify()
    }
    fn blob(&self, blake3: &str) -> Result<Vec<u8>, BackendError> {
        self.service.blob(blake3)
    }
    fn sample(
        &self,
        control: &str,
        opts: &assure_workspace::sample::SampleOptions,
        by: &str,
        as_of: NaiveDate,
    ) -> Result<assure_schema::results::SampleRecord, BackendError> {
        self.service.sample(control, opts, by, as_of)
    }
    fn record_workpaper(
        &self,
        control: &str,
        input: &assure_workspace::workpaper::WorkpaperInput,
        by: &str,
    ) -> Result<assure_ledger::Entry, BackendError> {
        self.service.record_workpaper(control, input, by)
    }
    fn evidence_package(&self) -> Result<(Vec<u8>, String), BackendError> {
        self.service.evidence_package()
    }
    fn with_evidence_rows(
        &self,
        test: &assure_schema::results::TestOutcome,
        entries: &[assure_ledger::Entry],
    ) -> Result<assure_schema::results::TestOutcome, BackendError> {
        self.service.with_evidence_rows(test, entries)
    }
    fn approve_policy(
        &self,
        input: &assure_workspace::approval::ApproveInput,
        by: &str,
    ) -> Result<assure_ledger::Entry, BackendError> {
        self.service.approve_policy(input, by)
    }
    fn year_over_year(&self, as_of: NaiveDate) -> Result<Vec<assure_workspace::period::PeriodResults>, BackendError> {
        self.service.year_over_year(as_of)
    }
    fn monitoring(&self) -> Result<assure_workspace::monitor::MonitoringView, BackendError> {
        self.service.monitoring()
    }
    fn run_cycle(&self, by: &str) -> Result<String, BackendError> {
        let targets = assure_project::check(&self.dir)
            .map(|c| c.project.manifest.monitoring.alert)
            .map_err(|e| BackendError::Invalid(CliError::from(e).text()))?;
        crate::monitor_cmd::run_cycle(&self.dir, &targets, self.as_of, by)
            .map(|(_, summary)| summary)
            .map_err(|e| BackendError::Failed(e.text()))
    }
    fn questionnaire(
        &self,
        op: assure_workspace::questionnaire::QuestionnaireOp,
    ) -> Result<assure_workspace::questionnaire::QuestionnaireOut, BackendError> {
        self.service.questionnaire(op)
    }
    fn today(&self) -> NaiveDate {
        self.service.today()
    }
}
