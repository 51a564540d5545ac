//! `assure serve`: the web application over a project. This file is the server's [`Backend`]: the
//! same library calls the commands make (gather, import, add, verify, sample), run for the server.

use std::io::Read as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use assure_evidence::import::{self, Meta};
use assure_evidence::load;
use assure_evidence::store::EvidenceStore;
use assure_ledger::{Entry, parse_public_key, verify};
use assure_web::{Acceptance, Backend, BackendError, Settings, Snapshot, Upload, UploadKind, Verified};
use chrono::NaiveDate;
use clap::Args;

use crate::error::CliError;
use crate::evidence_cmd::{mapped_options, now, open};

/// Arguments of `assure serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The project directory
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The address to listen on
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The database: sqlite://PATH (default: .assure/web.db in the project) or postgres://USER@HOST/DB
    #[arg(long)]
    pub database: Option<String>,
    /// The largest upload accepted, in MiB
    #[arg(long, default_value_t = 64)]
    pub max_upload_mb: usize,
    /// Show the project as of this date (YYYY-MM-DD) instead of today, e.g. the end of a past period
    #[arg(long, value_parser = crate::parse_date)]
    pub as_of: Option<NaiveDate>,
}

/// The project side of the server.
#[derive(Debug)]
pub struct ProjectBackend {
    dir: PathBuf,
    as_of: Option<NaiveDate>,
}

fn failed(e: CliError) -> BackendError {
    if e.is_problem() {
        BackendError::Invalid(e.text())
    } else {
        BackendError::Failed(e.text())
    }
}

fn io(e: impl std::fmt::Display) -> BackendError {
    BackendError::Failed(e.to_string())
}

impl ProjectBackend {
    /// A backend for the project in `dir`.
    pub fn new(dir: &Path, as_of: Option<NaiveDate>) -> ProjectBackend {
        ProjectBackend {
            dir: dir.to_path_buf(),
            as_of,
        }
    }

    /// Writes an uploaded file into a private temporary directory inside the project's state.
    fn stage(&self, name: &str, bytes: &[u8]) -> Result<(PathBuf, PathBuf), BackendError> {
        let safe: String = name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or("upload")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let safe = if safe.trim_matches('.').is_empty() {
            "upload".to_string()
        } else {
            safe
        };
        let dir = self.dir.join(".assure/tmp").join(assure_web::new_id());
        std::fs::create_dir_all(&dir).map_err(io)?;
        let path = dir.join(safe);
        std::fs::write(&path, bytes).map_err(io)?;
        Ok((dir, path))
    }

    fn meta(&self, by: &str, note: &str) -> Meta {
        Meta {
            at: now(),
            by: by.to_string(),
            period_start: None,
            period_end: None,
            note: Some(note.to_string()),
            batch: format!("web-{}", assure_web::new_id()),
        }
    }
}

fn problems_text(ps: &[assure_evidence::read::Problem]) -> String {
    let mut s: Vec<String> = ps.iter().take(5).map(ToString::to_string).collect();
    if ps.len() > 5 {
        s.push(format!("and {} more", ps.len() - 5));
    }
    s.join("; ")
}

impl Backend for ProjectBackend {
    fn snapshot(&self, as_of: NaiveDate) -> Result<Snapshot, BackendError> {
        let g = crate::report_cmd::gather_with(&self.dir, as_of, true).map_err(failed)?;
        let mut acceptances = Vec::new();
        if self.dir.join(".assure/evidence/ledger.jsonl").exists() {
            let store = assure_evidence::store::FsStore::open(&self.dir).map_err(io)?;
            let wanted: std::collections::BTreeSet<&str> = ["policy_acceptances"].into_iter().collect();
            let loaded = load::load_only(&store, Some(&wanted)).map_err(io)?;
            if let Some(t) = loaded.tables.get("policy_acceptances") {
                let col = |n: &str| t.table.columns.iter().position(|c| c.name == n);
                let (e, p, v, a) = (
                    col("email"),
                    col("policy_id"),
                    col("policy_version"),
                    col("accepted_at"),
                );
                for r in &t.rows {
                    let get = |i: Option<usize>| i.and_then(|i| r.values.get(i).cloned().flatten()).unwrap_or_default();
                    acceptances.push(Acceptance {
                        email: get(e),
                        policy_id: get(p),
                        policy_version: get(v),
                        accepted_at: get(a),
                    });
                }
            }
        }
        Ok(Snapshot {
            project: g.project,
            assessment: g.assessment,
            run: g.run,
            samples: g.samples,
            ledger: g.ledger,
            acceptances,
            as_of,
        })
    }

    fn import(&self, upload: Upload) -> Result<Vec<Entry>, BackendError> {
        let ctx = open(&self.dir, true).map_err(failed)?;
        let (tmp, path) = self.stage(&upload.file_name, &upload.bytes)?;
        let meta = self.meta(&upload.by, "uploaded through the web application");
        let result = match upload.kind {
            UploadKind::Export => match import::plan(std::slice::from_ref(&path), &mapped_options(&ctx.project)) {
                Err(ps) => Err(BackendError::Invalid(problems_text(&ps))),
                Ok(mut planned) => {
                    // Recorded under the uploaded name, so a new upload of the same export replaces it.
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    planned.iter_mut().for_each(|p| p.name = name.clone());
                    let controls = upload.controls.clone();
                    import::commit(&ctx.store, &ctx.key, &planned, &meta, &|_| controls.clone()).map_err(io)
                }
            },
            UploadKind::Record => import::add(&ctx.store, &ctx.key, &path, upload.controls.clone(), &meta)
                .map(|e| vec![e])
                .map_err(io),
        };
        let _ = std::fs::remove_dir_all(&tmp);
        result
    }

    fn accept_policy(&self, email: &str, policy: &str, version: &str) -> Result<Entry, BackendError> {
        let ctx = open(&self.dir, true).map_err(failed)?;
        let at = now();
        let csv = format!("email,policy_id,policy_version,accepted_at\n{email},{policy},{version},{at}\n");
        let stamp: String = at.chars().filter(char::is_ascii_digit).collect();
        let who: String = email
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let (tmp, path) = self.stage(&format!("web-acceptance-{policy}-{who}-{stamp}.csv"), csv.as_bytes())?;
        let opts = assure_evidence::import::Options {
            table: Some("policy_acceptances".into()),
            ..mapped_options(&ctx.project)
        };
        let controls: Vec<String> = ctx
            .project
            .controls
            .iter()
            .filter(|c| {
                c.evidence
                    .iter()
                    .any(|e| e.table.as_ref().is_some_and(|t| t.as_str() == "policy_acceptances"))
            })
            .map(|c| c.id.to_string())
            .collect();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let result = match import::plan(std::slice::from_ref(&path), &opts) {
            Err(ps) => Err(BackendError::Invalid(problems_text(&ps))),
            Ok(mut planned) => {
                planned.iter_mut().for_each(|p| p.name = name.clone());
                import::commit(
                    &ctx.store,
                    &ctx.key,
                    &planned,
                    &self.meta(email, "policy accepted in the web application"),
                    &|_| controls.clone(),
                )
                .map_err(io)
                .and_then(|mut v| {
                    v.pop()
                        .ok_or_else(|| BackendError::Failed("nothing was recorded".into()))
                })
            }
        };
        let _ = std::fs::remove_dir_all(&tmp);
        result
    }

    fn verify(&self) -> Result<Verified, BackendError> {
        let checked = assure_project::check(&self.dir).map_err(io)?;
        let Some(pinned) = checked.project.manifest.evidence.public_key else {
            return Ok(Verified {
                ok: true,
                entries: 0,
                message: "No evidence has been recorded yet, so there is nothing to verify.".into(),
            });
        };
        let vk = parse_public_key(&pinned)
            .map_err(|e| BackendError::Invalid(format!("the pinned key in assure.toml: {e}")))?;
        let store = assure_evidence::store::FsStore::open(&self.dir).map_err(io)?;
        let text = store.ledger().map_err(io)?;
        let report = verify(&text, &vk, &mut |b| store.check_blob(b));
        let message = if report.ok() {
            format!(
                "{} entries and {} files ({} bytes) re-hashed; every signature checks out against the key pinned in assure.toml.",
                report.entries, report.blobs, report.bytes
            )
        } else {
            report
                .findings
                .iter()
                .map(|f| {
                    format!(
                        "line {} (entry {}): {} — {}",
                        f.line,
                        f.seq.map_or("?".into(), |s| s.to_string()),
                        f.code,
                        f.message
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        Ok(Verified {
            ok: report.ok(),
            entries: usize::try_from(report.entries).unwrap_or(usize::MAX),
            message,
        })
    }

    fn blob(&self, blake3: &str) -> Result<Vec<u8>, BackendError> {
        let store = assure_evidence::store::FsStore::open(&self.dir).map_err(io)?;
        let mut bytes = Vec::new();
        store
            .open_blob(blake3)
            .map_err(io)?
            .read_to_end(&mut bytes)
            .map_err(io)?;
        Ok(bytes)
    }

    fn sample(
        &self,
        control: &str,
        by: &str,
        _as_of: NaiveDate,
    ) -> Result<assure_assess::results::SampleRecord, BackendError> {
        let ctx = open(&self.dir, true).map_err(failed)?;
        assure_run::sample(
            &ctx.project,
            &ctx.store,
            &ctx.key,
            control,
            None,
            None,
            None,
            &[],
            &now(),
            by,
        )
        .map(|(r, _)| r)
        .map_err(|e| BackendError::Invalid(e.to_string()))
    }

    fn today(&self) -> NaiveDate {
        self.as_of.unwrap_or_else(crate::today)
    }
}

/// Runs `assure serve`.
pub fn run(args: ServeArgs) -> Result<ExitCode, CliError> {
    // Refuse early, with the usual diagnostics, when the directory is not a readable project.
    let g = crate::report_cmd::gather(&args.dir, args.as_of.unwrap_or_else(crate::today))?;
    let org = g.project.manifest.organization.name.clone();
    let url = match &args.database {
        Some(u) => u.clone(),
        None => {
            let state = args.dir.join(".assure");
            std::fs::create_dir_all(&state)
                .map_err(|e| CliError::failure(format!("cannot create `{}`: {e}", state.display())))?;
            format!("sqlite://{}?mode=rwc", state.join("web.db").display())
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("cannot start the server's runtime: {e}")))?;
    rt.block_on(async move {
        let db = assure_web::db::Db::connect(&url).await.map_err(|e| {
            CliError::failure(e.to_string())
                .with_hint("check --database; PostgreSQL URLs look like postgres://USER@HOST:5432/DB")
        })?;
        let mut settings = Settings {
            max_upload: args.max_upload_mb * 1024 * 1024,
            ..Settings::default()
        };
        let mut first_run = None;
        if db.user_count().await.map_err(|e| CliError::failure(e.to_string()))? == 0 {
            match (
                std::env::var("ASSURE_ADMIN_EMAIL"),
                std::env::var("ASSURE_ADMIN_PASSWORD"),
            ) {
                (Ok(email), Ok(password)) => {
                    let name = std::env::var("ASSURE_ADMIN_NAME").unwrap_or_else(|_| "Administrator".into());
                    assure_web::create_user(&db, &email, &name, assure_web::authz::Role::Admin, None, &password)
                        .await
                        .map_err(|e| CliError::problems(format!("cannot create the administrator: {e:?}")))?;
                    eprintln!("created the administrator {email} from ASSURE_ADMIN_EMAIL and ASSURE_ADMIN_PASSWORD");
                }
                _ => {
                    let code = assure_web::new_id();
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
            Arc::new(ProjectBackend::new(&args.dir, args.as_of)),
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
