//! Semantic checks over a loaded project: every reference resolves, every in-scope criterion and
//! objective is addressed, the scope is coherent. Pure: takes the model, returns diagnostics.

use std::collections::{BTreeMap, BTreeSet};

use assure_catalog::{criteria, criterion, objective_template};

use crate::diag::Diagnostic;
use crate::model::{ExamType, FileId, MappingConfig, Project, Ref, ReportKind, Treatment};

/// The canonical evidence tables a test or an evidence spec may name (`design/evidence-tables.md`).
pub const CANONICAL_TABLES: &[&str] = &[
    "people",
    "accounts",
    "access_requests",
    "access_reviews",
    "changes",
    "vulnerabilities",
    "assets",
    "devices",
    "backups",
    "restore_tests",
    "trainings",
    "background_checks",
    "policy_acceptances",
    "incidents",
    "vendors",
    "risks",
    "events",
];

const MANIFEST: FileId = FileId(0);

/// Checks a loaded project and returns every problem found.
pub fn validate(p: &Project) -> Vec<Diagnostic> {
    let mut v = Validator { p, out: Vec::new() };
    v.duplicates();
    v.shared_aliases();
    if !p.incomplete.contains("manifest") {
        v.scope();
        v.periods();
    }
    v.controls();
    if !p.incomplete.contains("manifest") && !p.incomplete.contains("controls") {
        v.coverage();
    }
    v.policies();
    v.tests();
    v.others();
    v.responses();
    v.out
}

struct Validator<'a> {
    p: &'a Project,
    out: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn at(&self, file: FileId, r: &Ref) -> (String, Option<u32>) {
        (
            self.p.sources.path(file).to_string(),
            self.p.sources.line(file, &r.span()),
        )
    }

    fn error(&mut self, code: &'static str, file: FileId, r: &Ref, message: String, hint: &str) {
        let (path, line) = self.at(file, r);
        self.out
            .push(Diagnostic::error(code, &path, line, message).with_hint(hint));
    }

    fn warn(&mut self, code: &'static str, file: FileId, r: &Ref, message: String, hint: &str) {
        let (path, line) = self.at(file, r);
        self.out
            .push(Diagnostic::warning(code, &path, line, message).with_hint(hint));
    }

    /// An email or alias listed for two people names neither: identity resolution would have to
    /// guess, so it is an error here and never merged in a run.
    fn shared_aliases(&mut self) {
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for person in &self.p.people {
            let mut mine: BTreeSet<String> = person.aliases.iter().map(|a| a.trim().to_lowercase()).collect();
            mine.insert(person.email.trim().to_lowercase());
            for a in mine {
                if a.is_empty() {
                    continue;
                }
                match seen.get(a.as_str()) {
                    Some(first) if *first != person.id.as_str() => {
                        let msg = format!(
                            "`{a}` is listed for both `{first}` and `{}`; a value two people claim names neither",
                            person.id
                        );
                        self.error(
                            "shared-alias",
                            person.file,
                            &person.id,
                            msg,
                            "keep it on the one person it belongs to; Assure reports a value it cannot place rather than guess",
                        );
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(a, person.id.as_str());
                    }
                }
            }
        }
    }

    fn duplicates(&mut self) {
        let p = self.p;
        let groups: Vec<(&str, Vec<(FileId, &Ref)>)> = vec![
            ("control", p.controls.iter().map(|x| (x.file, &x.id)).collect()),
            ("policy", p.policies.iter().map(|x| (x.file, &x.id)).collect()),
            ("test", p.tests.iter().map(|x| (x.file, &x.id)).collect()),
            ("vendor", p.vendors.iter().map(|x| (x.file, &x.id)).collect()),
            ("risk", p.risks.iter().map(|x| (x.file, &x.id)).collect()),
            ("person", p.people.iter().map(|x| (x.file, &x.id)).collect()),
            ("objective", p.objectives.iter().map(|x| (x.file, &x.id)).collect()),
            (
                "subservice organization",
                p.manifest.subservice.iter().map(|x| (MANIFEST, &x.id)).collect(),
            ),
            (
                "user entity control",
                p.manifest.cuec.iter().map(|x| (MANIFEST, &x.id)).collect(),
            ),
            (
                "commitment",
                p.manifest
                    .system
                    .commitments
                    .iter()
                    .map(|x| (MANIFEST, &x.id))
                    .collect(),
            ),
        ];
        for (kind, items) in groups {
            let mut seen: BTreeMap<&str, (FileId, &Ref)> = BTreeMap::new();
            for (file, id) in items {
                if id.is_empty() {
                    self.error(
                        "empty-id",
                        file,
                        id,
                        format!("a {kind} has an empty id"),
                        "give it a short, stable id",
                    );
                    continue;
                }
                if let Some((first_file, first)) = seen.get(id.as_str()) {
                    let (first_path, first_line) = self.at(*first_file, first);
                    let first_at = first_line.map_or(first_path.clone(), |l| format!("{first_path}:{l}"));
                    self.error(
                        "duplicate-id",
                        file,
                        id,
                        format!("{kind} id `{id}` is already used at {first_at}"),
                        "ids must be unique; rename one of them and update its references",
                    );
                } else {
                    seen.insert(id.as_str(), (file, id));
                }
            }
        }
    }

    fn scope(&mut self) {
        let s = &self.p.manifest.scope;
        let line = self.p.scope_line;
        for f in &s.frameworks {
            if assure_catalog::framework(f.as_str()).is_none() {
                self.out.push(
                    Diagnostic::error(
                        "unknown-framework",
                        "assure.toml",
                        line,
                        format!("`[scope] frameworks` names `{f}`, which Assure does not know"),
                    )
                    .with_hint("use iso27001, hipaa, gdpr, ccpa, sox-itgc or nist-csf".to_string()),
                );
            }
        }
        for f in &s.additional_subject_matter {
            let problem = if f.as_str() != "hipaa" {
                Some((
                    format!("`[scope] additional_subject_matter` names `{f}`; Assure writes additional subject matter for HIPAA only"),
                    "use `additional_subject_matter = [\"hipaa\"]`, or read other frameworks with `assure gap --framework NAME`".to_string(),
                ))
            } else if !s.frameworks.iter().any(|x| x.as_str() == f.as_str()) {
                Some((
                    format!("`[scope] additional_subject_matter` names `{f}`, which `frameworks` does not"),
                    format!("add `\"{f}\"` to `frameworks` in `[scope]`"),
                ))
            } else if !s.reports.iter().any(|r| r.as_str() == "soc2") {
                Some((
                    format!(
                        "`[scope] additional_subject_matter` names `{f}`, but the scope has no SOC 2 report to carry it"
                    ),
                    "add `soc2` to `reports`, or remove `additional_subject_matter`".to_string(),
                ))
            } else {
                None
            };
            if let Some((msg, hint)) = problem {
                self.out
                    .push(Diagnostic::error("additional-subject-matter", "assure.toml", line, msg).with_hint(hint));
            }
        }
        let incomplete = |msg: &str, hint: &str| {
            Diagnostic::error("incomplete-scope", "assure.toml", line, msg.to_string()).with_hint(hint.to_string())
        };
        if s.reports.is_empty() {
            let d = incomplete(
                "the scope names no report",
                "set `reports` in `[scope]` to soc1, soc2 and/or soc3, or run `assure scope`",
            );
            self.out.push(d);
        }
        let Some(exam) = s.exam_type else {
            let d = incomplete(
                "the scope does not say Type 1 or Type 2",
                "set `type = 1` or `type = 2` in `[scope]`",
            );
            self.out.push(d);
            return;
        };
        match exam {
            ExamType::Type2 => match (&s.period_start, &s.period_end) {
                (Some(start), Some(end)) => {
                    let (a, b) = (start.get_ref().0, end.get_ref().0);
                    let line = self.line_of_span(start.span()).or(line);
                    if a >= b {
                        self.out.push(
                            Diagnostic::error(
                                "invalid-period",
                                "assure.toml",
                                line,
                                format!("the period starts on {} but ends on {}", start.get_ref(), end.get_ref()),
                            )
                            .with_hint("`period_start` must come before `period_end`"),
                        );
                    } else {
                        let days = (b - a).num_days() + 1;
                        if !(89..=366).contains(&days) {
                            self.out.push(
                                Diagnostic::warning(
                                    "unusual-period",
                                    "assure.toml",
                                    line,
                                    format!("the period is {days} days long"),
                                )
                                .with_hint(
                                    "Type 2 periods usually run 3 to 12 months; auditors question anything else",
                                ),
                            );
                        }
                    }
                }
                _ => self.out.push(
                    Diagnostic::error(
                        "invalid-period",
                        "assure.toml",
                        line,
                        "a Type 2 examination needs a period",
                    )
                    .with_hint("set `period_start` and `period_end` (YYYY-MM-DD) in `[scope]`"),
                ),
            },
            ExamType::Type1 => {
                if s.as_of.is_none() {
                    self.out.push(
                        Diagnostic::error(
                            "invalid-period",
                            "assure.toml",
                            line,
                            "a Type 1 examination needs a date",
                        )
                        .with_hint("set `as_of` (YYYY-MM-DD) in `[scope]`"),
                    );
                }
            }
        }
        let cats = s.categories();
        for nr in &s.not_relevant {
            match criterion(&nr.criterion) {
                None => self.unknown_criterion(MANIFEST, &nr.criterion, "the scope's not-relevant list"),
                Some(c) if !cats.contains(&c.category) => self.warn(
                    "not-relevant-out-of-scope",
                    MANIFEST,
                    &nr.criterion,
                    format!(
                        "criterion `{}` is declared not relevant but its category is not in scope",
                        c.id
                    ),
                    "remove the entry; only in-scope criteria need a reason",
                ),
                Some(_) => {}
            }
            if nr.reason.trim().is_empty() {
                self.error(
                    "not-relevant-without-reason",
                    MANIFEST,
                    &nr.criterion,
                    format!("criterion `{}` is declared not relevant without a reason", nr.criterion),
                    "the report must disclose why each criterion does not apply; add `reason`",
                );
            }
        }
        for sub in &self.p.manifest.subservice {
            if sub.treatment == Treatment::CarveOut && sub.csocs.is_empty() {
                self.error(
                    "carve-out-without-csocs",
                    MANIFEST,
                    &sub.id,
                    format!(
                        "subservice organization `{}` is carved out but lists no controls expected of it",
                        sub.id
                    ),
                    "add `[[subservice.csocs]]` entries: what the organization relies on it to do",
                );
            }
            if let Some(v) = &sub.vendor
                && !self.p.vendors.iter().any(|x| x.id.as_str() == v.as_str())
            {
                self.unknown(
                    "unknown-vendor",
                    MANIFEST,
                    v,
                    "vendor",
                    &format!("subservice organization `{}`", sub.id),
                );
            }
            for c in sub
                .criteria
                .iter()
                .chain(sub.csocs.iter().flat_map(|c| c.criteria.iter()))
            {
                self.criterion_or_objective(MANIFEST, c, &format!("subservice organization `{}`", sub.id));
            }
        }
        for cuec in &self.p.manifest.cuec {
            for c in &cuec.criteria {
                self.criterion_or_objective(MANIFEST, c, &format!("user entity control `{}`", cuec.id));
            }
        }
        if let Some(lead) = &self.p.manifest.organization.compliance_lead
            && self.p.person(lead).is_none()
        {
            self.unknown(
                "unknown-owner",
                MANIFEST,
                lead,
                "person",
                "the organization's compliance lead",
            );
        }
        for a in &self.p.manifest.organization.policy_approvers {
            if self.p.person(a).is_none() {
                self.unknown(
                    "unknown-owner",
                    MANIFEST,
                    a,
                    "person",
                    "a policy approver (policy_approvers)",
                );
            }
        }
        if let Some(j) = &self.p.manifest.connectors.jira
            && let Some(t) = &j.table
            && !CANONICAL_TABLES.contains(&t.as_str())
        {
            self.out.push(
                Diagnostic::error(
                    "invalid-value",
                    "assure.toml",
                    None,
                    format!("`[connectors.jira]` names unknown table `{t}`"),
                )
                .with_hint(format!("the tables are: {}", CANONICAL_TABLES.join(", "))),
            );
        }
        if let Some(j) = &self.p.manifest.connectors.jira
            && j.preset.is_some()
        {
            self.out.push(
                Diagnostic::error(
                    "invalid-value",
                    "assure.toml",
                    None,
                    "`[connectors.jira]` names a preset; presets are HR roster exports",
                )
                .with_hint("remove `preset` and map the Jira export's headers under `[connectors.jira.columns]`"),
            );
        }
        let hr = match self
            .p
            .manifest
            .connectors
            .hr_roster
            .as_ref()
            .map(MappingConfig::effective)
        {
            Some(Err(e)) => {
                self.out.push(
                    Diagnostic::error(
                        "invalid-value",
                        "assure.toml",
                        None,
                        format!("`[connectors.hr_roster]`: {e}"),
                    )
                    .with_hint("use one of the presets, or remove `preset` and map every column yourself"),
                );
                None
            }
            Some(Ok(m)) => Some(m),
            None => None,
        };
        if let Some(hr) = &hr {
            const PEOPLE: [&str; 9] = [
                "person_id",
                "email",
                "name",
                "title",
                "department",
                "manager_email",
                "worker_type",
                "hire_date",
                "termination_date",
            ];
            for k in hr.columns.keys().filter(|k| !PEOPLE.contains(&k.as_str())) {
                self.out.push(
                    Diagnostic::error(
                        "invalid-value",
                        "assure.toml",
                        None,
                        format!("`[connectors.hr_roster.columns]` maps `{k}`, which is not a column of `people`"),
                    )
                    .with_hint(format!("the columns are: {}", PEOPLE.join(", "))),
                );
            }
            for k in ["person_id", "email", "name", "worker_type", "hire_date"]
                .iter()
                .filter(|k| !hr.columns.contains_key(**k))
            {
                self.out.push(
                    Diagnostic::error(
                        "invalid-value",
                        "assure.toml",
                        None,
                        format!("`[connectors.hr_roster.columns]` does not map the required column `{k}`"),
                    )
                    .with_hint("name the roster export's header for it"),
                );
            }
            for v in hr
                .worker_types
                .values()
                .filter(|v| !["employee", "contractor", "intern"].contains(&v.as_str()))
            {
                self.out.push(
                    Diagnostic::error(
                        "invalid-value",
                        "assure.toml",
                        None,
                        format!("`[connectors.hr_roster.worker_types]` maps to `{v}`"),
                    )
                    .with_hint("map each of the export's types to employee, contractor or intern"),
                );
            }
        }
        self.monitoring();
        if s.has(ReportKind::Soc1) && self.p.objectives.is_empty() && !self.p.incomplete.contains("objectives") {
            self.out.push(
                Diagnostic::error(
                    "soc1-without-objectives",
                    "assure.toml",
                    line,
                    "SOC 1 is in scope but no control objectives are defined",
                )
                .with_hint(
                    "adopt objectives in `objectives.toml`; `assure catalog list --objectives` shows the library",
                ),
            );
        }
    }

    /// `[monitoring]`: a schedule the monitor understands, alert destinations it can deliver to.
    fn monitoring(&mut self) {
        let m = &self.p.manifest.monitoring;
        if let Some(s) = &m.schedule
            && let Err(e) = crate::monitoring::Schedule::parse(s)
        {
            self.out.push(
                Diagnostic::error(
                    "invalid-value",
                    "assure.toml",
                    None,
                    format!("`[monitoring] schedule = \"{s}\"` is not a schedule Assure knows: {e}"),
                )
                .with_hint("use \"hourly\", \"daily\", \"daily at 06:00\", \"every N minutes\" or a cron expression such as \"0 */4 * * *\" (UTC)"),
            );
        }
        if let Some(d) = &m.digest
            && d != "daily"
        {
            self.out.push(
                Diagnostic::error(
                    "invalid-value",
                    "assure.toml",
                    None,
                    format!("`[monitoring] digest = \"{d}\"` is not a digest Assure sends"),
                )
                .with_hint("use `digest = \"daily\"`, or leave it out for alerts only"),
            );
        }
        for (i, c) in m.collect.iter().enumerate() {
            let what = format!("`[[monitoring.collect]]` number {}", i + 1);
            let mut need = |ok: bool, message: String, hint: &str| {
                if !ok {
                    self.out
                        .push(Diagnostic::error("invalid-value", "assure.toml", None, message).with_hint(hint));
                }
            };
            need(
                crate::monitoring::COLLECTORS.contains(&c.kind.as_str()),
                format!("{what} has kind `{}`, which this version cannot collect", c.kind),
                "use github, okta, google-workspace, jira, aws-iam or cloudtrail; other systems' exports are imported with `assure evidence import`",
            );
            if c.kind == "jira" {
                let jql = c.jql.as_deref().unwrap_or("").trim();
                need(
                    !jql.is_empty() && !jql.to_ascii_lowercase().contains("order by"),
                    format!("{what} (jira) needs a `jql` search without ORDER BY"),
                    "e.g. `jql = \"project = IT AND issuetype = 'Access Request'\"`; the collector orders by `updated` itself",
                );
                need(
                    c.endpoint.is_some(),
                    format!("{what} (jira) names no `endpoint`"),
                    "add your site's address, e.g. `endpoint = \"https://acme.atlassian.net\"`",
                );
                need(
                    self.p.manifest.connectors.jira.is_some(),
                    format!("{what} (jira) has no `[connectors.jira]` mapping to read the issues with"),
                    "add `[connectors.jira]` naming, for each column, the issue's JSON path (`key`, `fields.created`, `fields.customfield_10050.emailAddress`)",
                );
            }
            need(
                c.kind != "cloudtrail" || c.bucket.as_deref().is_some_and(|b| !b.trim().is_empty()),
                format!("{what} (cloudtrail) names no `bucket`"),
                "add the bucket the trail delivers its log files to, e.g. `bucket = \"acme-cloudtrail\"`",
            );
            need(
                c.kind != "github" || c.org.as_deref().is_some_and(|o| !o.trim().is_empty()),
                format!("{what} (github) names no `org`"),
                "add `org = \"your-organisation\"`",
            );
            need(
                c.kind != "okta" || c.endpoint.is_some(),
                format!("{what} (okta) names no `endpoint`"),
                "add your Okta organisation's address, e.g. `endpoint = \"https://acme.okta.com\"`",
            );
            need(
                c.repos
                    .iter()
                    .all(|r| r.split('/').count() == 2 && !r.starts_with('/') && !r.ends_with('/')),
                format!("{what}: every entry of `repos` must be `owner/name`"),
                "e.g. `repos = [\"acme/api\"]`, or leave `repos` out for every repository of `org`",
            );
            if c.endpoint
                .as_deref()
                .is_some_and(|u| !(u.starts_with("http://") || u.starts_with("https://")))
            {
                self.out.push(
                    Diagnostic::error(
                        "invalid-value",
                        "assure.toml",
                        None,
                        format!(
                            "`[[monitoring.collect]]` number {}: `endpoint` must start with http:// or https://",
                            i + 1
                        ),
                    )
                    .with_hint("leave it out for the vendor's own endpoint"),
                );
            }
        }
        if let Some(f) = &m.secrets_file {
            let path = std::path::Path::new(f);
            // A relative path is read from the project, which is committed; an absolute one is not.
            if !path.is_absolute() {
                self.out.push(
                    Diagnostic::error(
                        "invalid-value",
                        "assure.toml",
                        None,
                        format!(
                            "`[monitoring] secrets_file = \"{f}\"` is a path inside the project, which is committed"
                        ),
                    )
                    .with_hint(
                        "keep credentials outside the project: give an absolute path such as /etc/assure/secrets.toml",
                    ),
                );
            }
        }
        for (i, a) in m.alert.iter().enumerate() {
            let what = format!("`[[monitoring.alert]]` number {}", i + 1);
            match a.kind.as_str() {
                "webhook" | "slack" => {
                    let ok = a
                        .url
                        .as_deref()
                        .is_some_and(|u| u.starts_with("http://") || u.starts_with("https://"));
                    if !ok {
                        self.out.push(
                            Diagnostic::error(
                                "invalid-value",
                                "assure.toml",
                                None,
                                format!("{what} ({}) needs a `url` starting with http:// or https://", a.kind),
                            )
                            .with_hint("the address the alert is posted to, e.g. https://hooks.slack.com/services/..."),
                        );
                    }
                }
                "email" => {
                    let server_ok = a
                        .server
                        .as_deref()
                        .and_then(|x| x.rsplit_once(':'))
                        .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
                    let addr = |x: &str| x.contains('@') && !x.contains(char::is_whitespace);
                    if !server_ok
                        || !a.from.as_deref().is_some_and(addr)
                        || a.to.is_empty()
                        || !a.to.iter().all(|t| addr(t))
                    {
                        self.out.push(
                            Diagnostic::error(
                                "invalid-value",
                                "assure.toml",
                                None,
                                format!("{what} (email) needs `server = \"HOST:PORT\"`, a `from` address and at least one `to` address"),
                            )
                            .with_hint("e.g. server = \"smtp.example.com:587\", from = \"assure@example.com\", to = [\"security@example.com\"]"),
                        );
                    }
                }
                other => self.out.push(
                    Diagnostic::error(
                        "invalid-value",
                        "assure.toml",
                        None,
                        format!("{what} has kind `{other}`, which this version cannot deliver"),
                    )
                    .with_hint("use `webhook`, `slack` or `email`"),
                ),
            }
            if a.secret_env
                .as_deref()
                .is_some_and(|e| e.trim().is_empty() || e.contains(['=', ' ']))
            {
                self.out.push(
                    Diagnostic::error(
                        "invalid-value",
                        "assure.toml",
                        None,
                        format!("{what}: `secret_env` must name an environment variable"),
                    )
                    .with_hint("put the secret in an environment variable and name it here, e.g. secret_env = \"ASSURE_WEBHOOK_SECRET\""),
                );
            }
        }
    }

    /// The `[[period]]` tables: names unique, dates in order, no overlap, one open period, and the
    /// scope's dates equal to the current period's (the scope is what every command reads).
    fn periods(&mut self) {
        use crate::period::Status;
        let defs = &self.p.manifest.period;
        if defs.is_empty() {
            return;
        }
        let mut seen = std::collections::BTreeSet::new();
        for d in defs {
            let line = self.line_of_span(d.name.span());
            let name = d.name.get_ref().trim();
            if name.is_empty() {
                self.out.push(
                    Diagnostic::error(
                        "invalid-period",
                        "assure.toml",
                        line,
                        "a `[[period]]` has an empty name",
                    )
                    .with_hint("name it, for example `name = \"2026\"`"),
                );
            } else if !seen.insert(name.to_string()) {
                self.out.push(
                    Diagnostic::error(
                        "duplicate-id",
                        "assure.toml",
                        line,
                        format!("period name `{name}` is used twice"),
                    )
                    .with_hint("give each period its own name"),
                );
            }
            if d.start.get_ref() > d.end.get_ref() {
                let line = self.line_of_span(d.start.span()).or(line);
                self.out.push(
                    Diagnostic::error(
                        "invalid-period",
                        "assure.toml",
                        line,
                        format!(
                            "period `{name}` starts on {} but ends on {}",
                            d.start.get_ref(),
                            d.end.get_ref()
                        ),
                    )
                    .with_hint("`start` must not come after `end`"),
                );
            }
            if d.status == Status::Closed && d.closed_on.is_none() {
                self.out.push(
                    Diagnostic::warning(
                        "invalid-period",
                        "assure.toml",
                        line,
                        format!("closed period `{name}` has no `closed_on` date"),
                    )
                    .with_hint(
                        "close periods with `assure period close`, which records the date and freezes the reports",
                    ),
                );
            }
        }
        let periods = self.p.periods();
        for w in periods.windows(2) {
            if w[1].start <= w[0].end {
                let line = defs
                    .iter()
                    .find(|d| d.name.get_ref().trim() == w[1].name)
                    .and_then(|d| self.line_of_span(d.name.span()));
                self.out.push(
                    Diagnostic::error(
                        "overlapping-periods",
                        "assure.toml",
                        line,
                        format!(
                            "period `{}` ({} to {}) overlaps period `{}` ({} to {})",
                            w[1].name, w[1].start, w[1].end, w[0].name, w[0].start, w[0].end
                        ),
                    )
                    .with_hint("a day belongs to one examination period; move one period's dates"),
                );
            }
        }
        let open: Vec<&str> = periods
            .iter()
            .filter(|p| p.status == Status::Open)
            .map(|p| p.name.as_str())
            .collect();
        if open.len() > 1 {
            self.out.push(
                Diagnostic::error(
                    "invalid-period",
                    "assure.toml",
                    self.p.scope_line,
                    format!(
                        "{} periods are open ({}); one period is observed at a time",
                        open.len(),
                        open.join(", ")
                    ),
                )
                .with_hint("set the earlier one to `fieldwork` or close it with `assure period close`"),
            );
        }
        // (A current period whose own dates are backwards is reported above, not twice.)
        if let Some(cur) = self.p.current_period().filter(|c| c.start <= c.end) {
            let s = &self.p.manifest.scope;
            let scope_dates = match cur.exam_type {
                ExamType::Type2 => (s.period_start.as_ref(), s.period_end.as_ref()),
                ExamType::Type1 => (s.as_of.as_ref(), s.as_of.as_ref()),
            };
            let agrees = match scope_dates {
                (Some(a), Some(b)) => a.get_ref().0 == cur.start && b.get_ref().0 == cur.end,
                _ => true,
            };
            if !agrees {
                self.out.push(
                    Diagnostic::error(
                        "scope-not-current-period",
                        "assure.toml",
                        self.p.scope_line,
                        format!(
                            "the scope's dates differ from the current period {}",
                            cur.describe()
                        ),
                    )
                    .with_hint("the scope holds the current period's dates; set them to the period's, or use `assure period open` and `assure period roll`, which keep them in step"),
                );
            }
        }
    }

    fn line_of_span(&self, span: std::ops::Range<usize>) -> Option<u32> {
        self.p.sources.line(MANIFEST, &span)
    }

    fn controls(&mut self) {
        for c in &self.p.controls {
            let what = format!("control `{}`", c.id);
            if c.criteria.is_empty() && c.objectives.is_empty() && c.requirements.is_empty() {
                self.error(
                    "control-addresses-nothing",
                    c.file,
                    &c.id,
                    format!("{what} addresses no criterion, objective or framework requirement"),
                    "list the `criteria` (such as `CC6.1`), SOC 1 `objectives` or framework `requirements` (such as `hipaa:164.410`) it helps meet, or remove the control",
                );
            }
            for r in &c.criteria {
                if criterion(r).is_none() {
                    self.unknown_criterion(c.file, r, &what);
                }
            }
            for r in &c.objectives {
                self.objective(c.file, r, &what);
            }
            for r in &c.requirements {
                let known = r.as_str().split_once(':').is_some_and(|(fw, id)| {
                    assure_catalog::requirement(fw, id).is_some_and(|q| q.kind != assure_catalog::Kind::Group)
                });
                if !known {
                    self.error(
                        "unknown-requirement",
                        c.file,
                        r,
                        format!("{what} names `{r}`, which is no requirement Assure knows"),
                        "write FRAMEWORK:REQUIREMENT, such as `iso27001:A.5.32` or `hipaa:164.308(b)(3)`; `assure catalog list --framework NAME` lists them",
                    );
                }
            }
            match &c.owner {
                Some(o) if self.p.person(o).is_none() => self.unknown("unknown-owner", c.file, o, "person", &what),
                Some(_) => {}
                None => self.warn(
                    "control-without-owner",
                    c.file,
                    &c.id,
                    format!("{what} has no owner"),
                    "set `owner` to a person id from `people.toml`; auditors ask who performs each control",
                ),
            }
            for r in &c.policies {
                if self.p.policy(r).is_none() {
                    self.unknown("unknown-policy", c.file, r, "policy", &what);
                }
            }
            for r in &c.tests {
                if self.p.test(r).is_none() {
                    self.unknown("unknown-test", c.file, r, "test", &what);
                }
            }
            for r in &c.vendors {
                if !self.p.vendors.iter().any(|v| v.id.as_str() == r.as_str()) {
                    self.unknown("unknown-vendor", c.file, r, "vendor", &what);
                }
            }
            for e in &c.evidence {
                if let Some(t) = &e.table {
                    self.table(c.file, t, &what);
                }
            }
        }
    }

    fn coverage(&mut self) {
        let s = &self.p.manifest.scope;
        let line = self.p.scope_line;
        if s.has(ReportKind::Soc2) || s.has(ReportKind::Soc3) {
            let cats = s.categories();
            let not_relevant: BTreeSet<String> = s
                .not_relevant
                .iter()
                .map(|n| n.criterion.to_ascii_uppercase())
                .collect();
            let addressed: BTreeSet<String> = self
                .p
                .controls
                .iter()
                .flat_map(|c| c.criteria.iter().map(|r| r.to_ascii_uppercase()))
                .collect();
            for c in criteria() {
                if cats.contains(&c.category) && !not_relevant.contains(c.id) && !addressed.contains(c.id) {
                    self.out.push(
                        Diagnostic::error(
                            "criterion-without-control",
                            "assure.toml",
                            line,
                            format!("criterion `{}` ({}) is in scope but no control addresses it", c.id, c.title),
                            )
                        .with_hint(format!(
                            "add `{}` to the `criteria` of a control that meets it, or declare it in `[[scope.not_relevant]]` with a reason",
                            c.id
                        )),
                    );
                }
            }
        }
        if s.has(ReportKind::Soc1) && !self.p.incomplete.contains("objectives") {
            let addressed: BTreeSet<&str> = self
                .p
                .controls
                .iter()
                .flat_map(|c| c.objectives.iter().map(|r| r.as_str()))
                .collect();
            for o in &self.p.objectives {
                if !addressed.contains(o.id.as_str()) {
                    self.error(
                        "objective-without-control",
                        o.file,
                        &o.id,
                        format!(
                            "objective `{}` ({}) is in scope but no control addresses it",
                            o.id, o.title
                        ),
                        "add the objective to the `objectives` of the controls that achieve it",
                    );
                }
            }
        }
    }

    fn policies(&mut self) {
        for p in &self.p.policies {
            let what = format!("policy `{}`", p.id);
            match &p.owner {
                None => self.error(
                    "policy-without-owner",
                    p.file,
                    &p.id,
                    format!("{what} has no owner"),
                    "set `owner` in the front matter to the person who keeps it current",
                ),
                Some(o) if self.p.person(o).is_none() => self.unknown("unknown-owner", p.file, o, "person", &what),
                Some(_) => {}
            }
            if let Some(a) = &p.approved_by
                && self.p.person(a).is_none()
            {
                self.unknown("unknown-owner", p.file, a, "person", &format!("{what} (approved_by)"));
            }
            // Approval is a recorded act (`assure policy approve`), not a field: only the review
            // interval belongs in the file.
            if p.review_interval_months.is_none() {
                self.error(
                    "policy-without-review",
                    p.file,
                    &p.id,
                    format!("{what} has no review interval: `review_interval_months` missing"),
                    "auditors check that policies are reviewed and re-approved on a schedule; set `review_interval_months` in the front matter (12 is usual)",
                );
            }
            for r in &p.criteria {
                if criterion(r).is_none() {
                    self.unknown_criterion(p.file, r, &what);
                }
            }
            let numbered: Vec<String> = crate::model::statements(&p.body).into_iter().map(|s| s.id).collect();
            for (id, links) in &p.statements {
                let at = format!("{what}, statement {id}");
                if !numbered.contains(id) {
                    self.error(
                        "unknown-statement",
                        p.file,
                        &p.id,
                        format!("{at}: the policy has no numbered statement `{id}`"),
                        "keys of [statements] are statement ids from the body, written as `1. AC-1. ...`",
                    );
                }
                for c in &links.controls {
                    if self.p.control(c).is_none() {
                        self.unknown("unknown-control", p.file, c, "control", &at);
                    }
                }
                for t in &links.tests {
                    if self.p.test(t).is_none() {
                        self.unknown("unknown-test", p.file, t, "test", &at);
                    }
                }
            }
        }
    }

    fn tests(&mut self) {
        for t in &self.p.tests {
            let what = format!("test `{}`", t.id);
            for r in &t.controls {
                if self.p.control(r).is_none() {
                    self.unknown("unknown-control", t.file, r, "control", &what);
                }
            }
            for r in t.reads() {
                self.table(t.file, r, &what);
            }
            for r in &t.criteria {
                if criterion(r).is_none() {
                    self.unknown_criterion(t.file, r, &what);
                }
            }
            if t.sql.trim().is_empty() {
                self.error(
                    "test-without-query",
                    t.file,
                    &t.id,
                    format!("{what} has no `sql`"),
                    "a test is a query over the evidence tables returning `item`, `status` and `reason`",
                );
            }
        }
    }

    fn others(&mut self) {
        for v in &self.p.vendors {
            if let Some(o) = &v.owner
                && self.p.person(o).is_none()
            {
                self.unknown("unknown-owner", v.file, o, "person", &format!("vendor `{}`", v.id));
            }
            for (i, rep) in v.reports.iter().enumerate() {
                let what = format!(
                    "vendor `{}` report {} ({}, period ending {})",
                    v.id,
                    i + 1,
                    rep.kind,
                    rep.period_end.0
                );
                if !crate::model::OPINIONS.contains(&rep.opinion.as_str()) {
                    self.error(
                        "invalid-value",
                        v.file,
                        &v.id,
                        format!("{what} has opinion `{}`", rep.opinion),
                        "the opinion is one of unmodified, qualified, adverse, disclaimer",
                    );
                }
                if rep.period_start.is_some_and(|a| a.0 > rep.period_end.0) {
                    self.error(
                        "invalid-value",
                        v.file,
                        &v.id,
                        format!("{what} starts after it ends"),
                        "`period_start` is the first day the report covers, `period_end` the last",
                    );
                }
                if let Some(b) = rep
                    .bridge_letters
                    .iter()
                    .find(|b| b.covers_through.0 <= rep.period_end.0)
                {
                    self.error(
                        "invalid-value",
                        v.file,
                        &v.id,
                        format!(
                            "{what} has a bridge letter covering through {}, not after the report's period",
                            b.covers_through.0
                        ),
                        "a bridge letter covers the days after the report's period end",
                    );
                }
                if let Some(r) = &rep.reviewed_by
                    && self.p.person(r).is_none()
                {
                    self.unknown("unknown-owner", v.file, r, "person", &format!("{what} (reviewed_by)"));
                }
                for c in rep.cuecs.iter().flat_map(|c| &c.controls) {
                    if self.p.control(c).is_none() {
                        self.unknown("unknown-control", v.file, c, "control", &format!("{what} (cuecs)"));
                    }
                }
            }
        }
        for r in &self.p.risks {
            let what = format!("risk `{}`", r.id);
            if let Some(o) = &r.owner
                && self.p.person(o).is_none()
            {
                self.unknown("unknown-owner", r.file, o, "person", &what);
            }
            for c in &r.controls {
                if self.p.control(c).is_none() {
                    self.unknown("unknown-control", r.file, c, "control", &what);
                }
            }
            if !(1..=5).contains(&r.likelihood) || !(1..=5).contains(&r.impact) {
                self.error(
                    "invalid-value",
                    r.file,
                    &r.id,
                    format!(
                        "{what} has likelihood {} and impact {}; both must be 1 to 5",
                        r.likelihood, r.impact
                    ),
                    "score likelihood and impact from 1 (lowest) to 5 (highest)",
                );
            }
            match (r.residual_likelihood, r.residual_impact) {
                (None, None) => {}
                (Some(l), Some(i)) if (1..=5).contains(&l) && (1..=5).contains(&i) => {
                    if u16::from(l) * u16::from(i) > u16::from(r.likelihood) * u16::from(r.impact) {
                        self.warn(
                            "residual-above-inherent",
                            r.file,
                            &r.id,
                            format!(
                                "{what}'s residual score {} is above its inherent score {}",
                                u16::from(l) * u16::from(i),
                                u16::from(r.likelihood) * u16::from(r.impact)
                            ),
                            "controls lower a risk; check the residual likelihood and impact",
                        );
                    }
                }
                (Some(_), Some(_)) => self.error(
                    "invalid-value",
                    r.file,
                    &r.id,
                    format!("{what} has a residual likelihood or impact outside 1 to 5"),
                    "score the residual likelihood and impact from 1 (lowest) to 5 (highest)",
                ),
                _ => self.error(
                    "invalid-value",
                    r.file,
                    &r.id,
                    format!("{what} has only one of residual_likelihood and residual_impact"),
                    "give both, or neither",
                ),
            }
        }
    }

    fn responses(&mut self) {
        for r in &self.p.responses {
            let what = format!("response to `{}`", r.subject);
            if let Some(o) = &r.owner
                && self.p.person(o).is_none()
            {
                self.unknown("unknown-owner", r.file, o, "person", &what);
            }
            if self.p.test(r.subject.as_str()).is_none()
                && self.p.control(r.subject.as_str()).is_none()
                && !self.p.incomplete.contains("tests")
                && !self.p.incomplete.contains("controls")
            {
                self.error(
                    "unknown-subject",
                    r.file,
                    &r.subject,
                    format!("{what}: `{}` is neither a test nor a control", r.subject),
                    "`subject` names the test (tests/) or control (controls/) whose exceptions the response answers",
                );
            }
            if r.text.trim().is_empty() {
                self.error(
                    "empty-response",
                    r.file,
                    &r.subject,
                    format!("{what} has no text"),
                    "say what caused the exceptions, what was done about them and when",
                );
            }
        }
    }

    fn unknown(&mut self, code: &'static str, file: FileId, r: &Ref, kind: &str, what: &str) {
        let source = match kind {
            "person" => "people",
            "policy" => "policies",
            "test" => "tests",
            "vendor" => "vendors",
            _ => "controls",
        };
        if self.p.incomplete.contains(source) {
            return;
        }
        let hint = match kind {
            "person" => "owners name a person by id, email or alias from `people.toml`".to_string(),
            "policy" => "policy ids are the `id` in the front matter of a file in `policies/`".to_string(),
            "test" => "test ids are the `id` of a file in `tests/`".to_string(),
            "vendor" => "vendor ids are the `id` of a file in `vendors/`".to_string(),
            _ => "control ids are the `id` of a file in `controls/`".to_string(),
        };
        self.error(code, file, r, format!("{what} refers to unknown {kind} `{r}`"), &hint);
    }

    fn unknown_criterion(&mut self, file: FileId, r: &Ref, what: &str) {
        self.error(
            "unknown-criterion",
            file,
            r,
            format!("{what} refers to unknown criterion `{r}`"),
            "criteria are written like `CC6.1` or `A1.2`; `assure catalog list` shows all 61",
        );
    }

    fn objective(&mut self, file: FileId, r: &Ref, what: &str) {
        if self.p.incomplete.contains("objectives") || self.p.objectives.iter().any(|o| o.id.as_str() == r.as_str()) {
            return;
        }
        let hint = if objective_template(r).is_some() {
            format!("`{r}` is in the objective library but not adopted; add it to `objectives.toml`")
        } else {
            "objectives are defined in `objectives.toml`".to_string()
        };
        self.error(
            "unknown-objective",
            file,
            r,
            format!("{what} refers to unknown objective `{r}`"),
            &hint,
        );
    }

    fn criterion_or_objective(&mut self, file: FileId, r: &Ref, what: &str) {
        if criterion(r).is_some() || self.p.objectives.iter().any(|o| o.id.as_str() == r.as_str()) {
            return;
        }
        self.error(
            "unknown-criterion",
            file,
            r,
            format!("{what} refers to unknown criterion or objective `{r}`"),
            "use a criterion id such as `CC6.4` or the id of an objective in `objectives.toml`",
        );
    }

    fn table(&mut self, file: FileId, r: &Ref, what: &str) {
        if !CANONICAL_TABLES.contains(&r.as_str()) {
            self.error(
                "unknown-table",
                file,
                r,
                format!("{what} names unknown evidence table `{r}`"),
                &format!("the evidence tables are: {}", CANONICAL_TABLES.join(", ")),
            );
        }
    }
}
