//! `assure monitor`: continuous monitoring cycles, once (for cron or CI) or on the project's
//! schedule. A cycle runs the current period's tests incrementally, compares what fails with the
//! previous cycle and delivers one alert per new condition to every destination in
//! `[[monitoring.alert]]`; this file is the edge that talks to the network and the clock.

use std::path::PathBuf;
use std::process::ExitCode;

use assure_project::model::AlertTarget;
use assure_project::monitoring::Schedule;
use assure_workspace::Workspace;
use assure_workspace::monitor::{Alert, Collected, Cycle, Digest, HistoryLine};
use chrono::NaiveDate;
use clap::Args;
use hmac::{KeyInit, Mac};

use crate::error::CliError;
use crate::{parse_date, print, today};

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// The project directory (the same as `-p DIR`; default `.`)
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Run one cycle and stop (for cron or CI); without it, cycles run on `[monitoring] schedule`
    #[arg(long)]
    once: bool,
    /// Evaluate as of this date (YYYY-MM-DD); default today (or the period's end, if earlier)
    #[arg(long, value_parser = parse_date)]
    as_of: Option<NaiveDate>,
    /// Print the cycle as JSON
    #[arg(long)]
    json: bool,
}

/// Runs the command on the project in `dir`.
pub fn run(args: MonitorArgs, dir: PathBuf) -> Result<ExitCode, CliError> {
    let checked = assure_project::check(&dir)?;
    let monitoring = checked.project.manifest.monitoring.clone();
    if args.once {
        return cycle(&dir, &monitoring.alert, args.as_of, args.json);
    }
    let schedule = monitoring
        .schedule
        .as_deref()
        .ok_or_else(|| {
            CliError::problems("`[monitoring]` sets no schedule").with_hint(
                "add `[monitoring] schedule = \"hourly\"` to assure.toml, or run one cycle with `--once` (from cron)",
            )
        })
        .and_then(|s| Schedule::parse(s).map_err(CliError::problems))?;
    loop {
        let next = schedule.next_after(chrono::Utc::now());
        eprintln!("next cycle at {}", next.format("%Y-%m-%dT%H:%M:%SZ"));
        let wait = (next - chrono::Utc::now()).to_std().unwrap_or_default();
        std::thread::sleep(wait);
        // A failed cycle is reported and the schedule goes on: the next one may succeed.
        let targets = assure_project::check(&dir)
            .map(|c| c.project.manifest.monitoring.alert)
            .unwrap_or_else(|_| monitoring.alert.clone());
        if let Err(e) = cycle(&dir, &targets, args.as_of, args.json) {
            eprintln!("the cycle failed: {}", e.text());
        }
    }
}

fn cycle(
    dir: &std::path::Path,
    targets: &[AlertTarget],
    as_of: Option<NaiveDate>,
    json: bool,
) -> Result<ExitCode, CliError> {
    let (line, summary) = run_cycle(dir, targets, as_of, &crate::evidence_cmd::who(None))?;
    if json {
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&line).unwrap_or_default()
        ))?;
    } else {
        print(&summary)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One monitoring cycle, as `assure monitor --once` and `assure serve` run it: collect, record,
/// test incrementally, compare, alert, record the history. Returns the history line and the
/// summary a person reads.
pub fn run_cycle(
    dir: &std::path::Path,
    targets: &[AlertTarget],
    as_of: Option<NaiveDate>,
    by: &str,
) -> Result<(HistoryLine, String), CliError> {
    let w = Workspace::new(dir);
    let at = Workspace::now();
    let as_of = as_of.unwrap_or_else(today);
    let checked = assure_project::check(dir)?;
    let monitoring = &checked.project.manifest.monitoring;
    let secrets =
        assure_collect::Secrets::load(monitoring.secrets_file.as_deref().map(std::path::Path::new)).map_err(|e| {
            CliError::problems(e).with_hint("the secrets file holds `NAME = \"value\"` lines; see the README")
        })?;
    let since = checked.project.current_period().map_or(as_of, |p| p.start);
    let cursors = w.monitor_state()?.cursors;
    let collected: Vec<Collected> = assure_collect::collect(&monitoring.collect, &cursors, since, &secrets)
        .into_iter()
        .map(|p| Collected {
            collector: p.stream,
            source: p.source,
            outcome: p.outcome,
            cursor: p.cursor,
        })
        .collect();
    let c = w.monitor_cycle(&assure_run::Engine, &at, by, as_of, &collected, &mut |_, _, _| {})?;
    let delivered: Vec<bool> = c
        .alerts
        .iter()
        .map(|a| deliver(targets, &Outgoing::alert(a, &c)))
        .collect();
    let digest_ok = c
        .digest
        .as_ref()
        .is_some_and(|d| deliver(targets, &Outgoing::digest(d, &c)));
    let mut summary = summary(&c, &delivered);
    if let Some(d) = &c.digest {
        summary.push_str(&format!(
            "  daily digest for {}{}\n",
            d.day,
            if digest_ok {
                " sent"
            } else {
                " not delivered; tried again next cycle"
            }
        ));
    }
    let line = w.finish_cycle(c, &delivered, digest_ok)?;
    Ok((line, summary))
}

fn summary(c: &Cycle, delivered: &[bool]) -> String {
    let mut s = format!(
        "Monitoring cycle at {}: run {} for {} to {}, as of {}; {} condition(s) open\n",
        c.at, c.run_seq, c.run.period_start, c.run.period_end, c.run.as_of, c.open
    );
    let reused = c.run.reused.len();
    let extended = c.run.extended.len();
    let ran = c.run.tests.len().saturating_sub(reused + extended);
    s.push_str(&match c.run.reused_from {
        _ if !c.new_run => format!(
            "  no new run: every outcome, input and definition is as in run {}\n",
            c.run_seq
        ),
        Some(from) if ran == 0 => format!(
            "  all {reused} tests reused from run {from}: their inputs, definitions and parameters are unchanged\n"
        ),
        Some(from) if extended > 0 => format!(
            "  {ran} test(s) ran; {reused} reused from run {from} (inputs unchanged); {extended} extended by the rows of new files only\n"
        ),
        Some(from) => format!("  {ran} test(s) ran; {reused} reused from run {from} (inputs unchanged)\n"),
        None => format!("  {ran} test(s) ran\n"),
    });
    for n in &c.collected {
        s.push_str(&format!("  collected {}: {}\n", n.collector, n.what));
    }
    if c.baseline {
        s.push_str(
            "  first cycle of this period: what fails now is recorded as known; later cycles alert what changes\n",
        );
    }
    for (a, ok) in c.alerts.iter().zip(delivered) {
        s.push_str(&format!(
            "  {} {}{}\n",
            if a.kind == "reminder" { "reminder:" } else { "alert:" },
            a.message,
            if *ok {
                ""
            } else {
                " (not delivered; tried again next cycle)"
            }
        ));
    }
    for r in &c.recovered {
        s.push_str(&format!("  recovered: {} {}\n", r.subject, r.item));
    }
    if c.alerts.is_empty() && c.recovered.is_empty() && !c.baseline {
        s.push_str("  nothing changed since the previous cycle\n");
    }
    s
}

/// The JSON body of a webhook alert.
fn webhook_body(a: &Alert, c: &Cycle) -> serde_json::Value {
    serde_json::json!({
        "kind": a.kind,
        "condition": a.condition.kind,
        "test": matches!(a.condition.kind.as_str(), "exception" | "not_run").then_some(&a.condition.subject),
        "control": matches!(a.condition.kind.as_str(), "missed_slot" | "stale_evidence").then_some(&a.condition.subject),
        "policy": (a.condition.kind == "policy_overdue").then_some(&a.condition.subject),
        "collector": (a.condition.kind == "collector_failed").then_some(&a.condition.subject),
        "item": a.condition.item,
        "reason": a.condition.reason,
        "controls": a.condition.controls,
        "newly_failing_controls": a.newly_failing_controls,
        "message": a.message,
        "period": {"start": c.run.period_start, "end": c.run.period_end},
        "as_of": c.run.as_of,
        "run": c.run_seq,
        "at": c.at,
    })
}

/// `sha256=HEX` of the body under the secret: what a receiver recomputes to trust the alert.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length, so this never fails; it stays total all the same.
    match hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

/// One message for every destination: the webhook's JSON, the line a chat shows, and the email's
/// subject and body.
struct Outgoing {
    json: serde_json::Value,
    chat: String,
    subject: String,
    body: String,
}

impl Outgoing {
    fn alert(a: &Alert, c: &Cycle) -> Outgoing {
        Outgoing {
            json: webhook_body(a, c),
            chat: format!("Assure: {}", a.message),
            subject: format!("Assure: {}", a.message.chars().take(120).collect::<String>()),
            body: format!(
                "{}\n\nCondition: {} ({})\nItem: {}\nReason: {}\nControls: {}\nPeriod: {} to {}, as of {}\nRun: ledger entry {}\nAt: {}\n",
                a.message,
                a.condition.kind,
                a.condition.subject,
                a.condition.item,
                a.condition.reason,
                a.condition.controls.join(", "),
                c.run.period_start,
                c.run.period_end,
                c.run.as_of,
                c.run_seq,
                c.at
            ),
        }
    }

    fn digest(d: &Digest, c: &Cycle) -> Outgoing {
        Outgoing {
            json: serde_json::json!({
                "kind": "digest",
                "day": d.day,
                "open": d.open,
                "by_kind": d.by_kind,
                "opened": d.opened,
                "closed": d.closed,
                "failing_controls": d.failing_controls,
                "message": d.text,
                "period": {"start": c.run.period_start, "end": c.run.period_end},
                "as_of": c.run.as_of,
                "run": c.run_seq,
                "at": c.at,
            }),
            chat: d.text.clone(),
            subject: format!("Assure daily digest for {}: {} open", d.day, d.open),
            body: d.text.clone(),
        }
    }
}

/// Posts one message to every destination; true when all accepted it (a 2xx answer).
fn deliver(targets: &[AlertTarget], m: &Outgoing) -> bool {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        return false;
    };
    // The client's connector needs the runtime's reactor from the moment it is built.
    let _inside = rt.enter();
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot deliver alerts: {e}");
            return false;
        }
    };
    let mut all = true;
    for t in targets {
        if t.kind == "email" {
            if let Err(e) = email(t, &m.subject, &m.body) {
                eprintln!("cannot deliver by email: {e}");
                all = false;
            }
            continue;
        }
        let Some(url) = t.url.as_deref() else { continue };
        let (body, secret) = match t.kind.as_str() {
            "slack" => (serde_json::json!({ "text": m.chat }), None),
            _ => (
                m.json.clone(),
                t.secret_env.as_deref().and_then(|v| std::env::var(v).ok()),
            ),
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut req = client
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", concat!("assure/", env!("CARGO_PKG_VERSION")));
        if let Some(s) = secret {
            req = req.header("x-assure-signature", signature(s.as_bytes(), &bytes));
        }
        let sent = rt.block_on(req.body(bytes).send());
        match sent {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => {
                eprintln!("the {} destination {url} answered {}", t.kind, r.status());
                all = false;
            }
            Err(e) => {
                eprintln!("cannot reach the {} destination {url}: {e}", t.kind);
                all = false;
            }
        }
    }
    all
}

/// Sends one message by email: STARTTLS on any port but 465 (TLS from the start there), never in the
/// clear; the server's certificate is checked against the system's roots and, when set, the
/// project's `ca_file`.
fn email(t: &AlertTarget, subject: &str, body: &str) -> Result<(), String> {
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    use lettre::{Message, SmtpTransport, Transport};
    let server = t.server.as_deref().unwrap_or_default();
    let (host, port) = server
        .rsplit_once(':')
        .and_then(|(h, p)| p.parse::<u16>().ok().map(|p| (h, p)))
        .ok_or_else(|| format!("`{server}` is not HOST:PORT"))?;
    let mut tls = TlsParameters::builder(host.to_string());
    if let Some(ca) = &t.ca_file {
        let pem = std::fs::read(ca).map_err(|e| format!("cannot read the certificate `{ca}`: {e}"))?;
        tls = tls.add_root_certificate(
            Certificate::from_pem(&pem).map_err(|e| format!("`{ca}` is not a PEM certificate: {e}"))?,
        );
    }
    let tls = tls
        .build_rustls()
        .map_err(|e| format!("cannot set up TLS for {host}: {e}"))?;
    let mut mailer = SmtpTransport::builder_dangerous(host)
        .port(port)
        .tls(if port == 465 {
            Tls::Wrapper(tls)
        } else {
            Tls::Required(tls)
        })
        .timeout(Some(std::time::Duration::from_secs(30)));
    if let (Some(u), Some(p)) = (&t.username_env, &t.password_env) {
        let user = std::env::var(u).map_err(|_| format!("{u} is not set"))?;
        let pass = std::env::var(p).map_err(|_| format!("{p} is not set"))?;
        mailer = mailer.credentials(Credentials::new(user, pass));
    }
    let from = t.from.as_deref().unwrap_or_default();
    let mut msg = Message::builder()
        .from(from.parse().map_err(|e| format!("`{from}` is not an address: {e}"))?)
        .subject(subject);
    for to in &t.to {
        msg = msg.to(to.parse().map_err(|e| format!("`{to}` is not an address: {e}"))?);
    }
    let msg = msg
        .body(body.to_string())
        .map_err(|e| format!("cannot build the message: {e}"))?;
    mailer.build().send(&msg).map_err(|e| format!("{server}: {e}"))?;
    Ok(())
}
