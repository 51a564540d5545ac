//! Writing a new project from the built-in templates.
//!
//! `render` builds every file of a template in memory (pure); `init` writes them to a temporary
//! directory beside the target and renames it into place, so a failure leaves nothing half-written.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use assure_catalog::{Category, criteria, criterion, objective_template};
use serde::Deserialize;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/library.rs"));
}

/// A built-in starting project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Template {
    /// A B2B SaaS company: SOC 2 Type 2, Security + Availability + Confidentiality.
    Saas,
    /// A payroll processor: SOC 1 (ITGC + payroll) and SOC 2 Security.
    Payroll,
    /// A payments company: SOC 1 (ITGC + payments) and SOC 2 with Processing Integrity.
    Fintech,
    /// A health-care SaaS and HIPAA business associate: SOC 2 Type 2 (Security, Availability,
    /// Confidentiality) with the HIPAA Security and Breach Notification Rules as additional
    /// subject matter (SOC 2+).
    Health,
}

impl Template {
    /// Every template.
    pub const ALL: [Template; 4] = [Template::Saas, Template::Payroll, Template::Fintech, Template::Health];

    /// Returns the name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Template::Saas => "saas",
            Template::Payroll => "payroll",
            Template::Fintech => "fintech",
            Template::Health => "health",
        }
    }

    /// Parses a template name.
    pub fn parse(name: &str) -> Option<Template> {
        Template::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a project could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// The target already holds a project or other files.
    #[error("`{0}` already exists and is not empty; Assure never overwrites a project")]
    Exists(PathBuf),
    /// Writing failed.
    #[error("cannot write `{path}`: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The built-in library is inconsistent (a bug in Assure, caught by its tests).
    #[error("the built-in `{template}` template is broken: {message}")]
    Library {
        /// The template.
        template: Template,
        /// What is wrong.
        message: String,
    },
}

/// What `init` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitSummary {
    /// The template.
    pub template: Template,
    /// The company name.
    pub company: String,
    /// Number of controls written.
    pub controls: usize,
    /// Number of policies written.
    pub policies: usize,
    /// Number of tests written.
    pub tests: usize,
    /// Number of SOC 1 objectives adopted.
    pub objectives: usize,
    /// Every file written, relative to the project root.
    pub files: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    description: String,
    tags: Vec<String>,
    categories: Vec<String>,
    objectives: Vec<String>,
    policy_approver: String,
    policy_approved_on: String,
    roles: BTreeMap<String, String>,
    vars: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Library {
    control: Vec<Blueprint>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Blueprint {
    id: String,
    title: String,
    description: String,
    owner: String,
    frequency: String,
    nature: String,
    control_type: String,
    #[serde(default)]
    key: bool,
    #[serde(default)]
    criteria: Vec<String>,
    #[serde(default)]
    objectives: Vec<String>,
    /// Framework requirements the control meets directly (`hipaa:164.410`); a template keeps those
    /// of the frameworks its `assure.toml` names.
    #[serde(default)]
    requirements: Vec<String>,
    #[serde(default)]
    policies: Vec<String>,
    #[serde(default)]
    tests: Vec<String>,
    #[serde(default)]
    evidence: Vec<BlueprintEvidence>,
    when: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlueprintEvidence {
    name: String,
    #[serde(default)]
    table: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PolicyHead {
    id: String,
    title: String,
    owner: String,
    applies_to: String,
    #[serde(default)]
    statements: BTreeMap<String, LibraryLinks>,
}

#[derive(Debug, Deserialize)]
struct LibraryLinks {
    #[serde(default)]
    controls: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct TestHead {
    id: String,
    controls: Vec<String>,
}

fn library_file(path: &str) -> Option<&'static str> {
    embedded::LIBRARY
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, text)| *text)
}

fn library_dir(prefix: &str) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    embedded::LIBRARY
        .iter()
        .filter(move |(p, _)| p.starts_with(prefix))
        .map(|(p, t)| (*p, *t))
}

/// Returns a TOML string literal.
fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", "))
}

struct Ctx {
    template: Template,
    profile: Profile,
}

impl Ctx {
    fn broken(&self, message: impl Into<String>) -> InitError {
        InitError::Library {
            template: self.template,
            message: message.into(),
        }
    }

    fn fill(&self, text: &str) -> Result<String, InitError> {
        let mut out = text.to_string();
        for (k, v) in &self.profile.vars {
            out = out.replace(&format!("{{{{{k}}}}}"), v);
        }
        if let Some(pos) = out.find("{{") {
            let name: String = out.get(pos..).unwrap_or_default().chars().take(40).collect();
            return Err(self.broken(format!("unknown placeholder near `{name}`")));
        }
        Ok(out)
    }

    fn person(&self, role: &str) -> Result<String, InitError> {
        self.profile
            .roles
            .get(role)
            .cloned()
            .ok_or_else(|| self.broken(format!("no person for role `{role}`")))
    }
}

/// The approver and the approval date a template's sample company gives its policies (the demo
/// records these approvals in its ledger; `init` writes no approval into a policy).
pub fn policy_approval(template: Template) -> Result<(String, chrono::NaiveDate), InitError> {
    let broken = |message: String| InitError::Library { template, message };
    let text = library_file(&format!("templates/{}/profile.toml", template.as_str()))
        .ok_or_else(|| broken("no profile.toml".into()))?;
    let profile: Profile = toml::from_str(text).map_err(|e| broken(format!("profile.toml: {e}")))?;
    let on = chrono::NaiveDate::parse_from_str(&profile.policy_approved_on, "%Y-%m-%d")
        .map_err(|e| broken(format!("profile.toml: policy_approved_on: {e}")))?;
    Ok((profile.policy_approver, on))
}

/// Builds every file of a template: relative path and contents, sorted by path.
pub fn render(template: Template) -> Result<Vec<(String, String)>, InitError> {
    let dir = format!("templates/{}/", template.as_str());
    let broken = |message: String| InitError::Library { template, message };
    let profile_text = library_file(&format!("{dir}profile.toml")).ok_or_else(|| broken("no profile.toml".into()))?;
    let profile: Profile = toml::from_str(profile_text).map_err(|e| broken(format!("profile.toml: {e}")))?;
    let ctx = Ctx { template, profile };
    let categories: Vec<Category> = ctx
        .profile
        .categories
        .iter()
        .filter_map(|c| Category::parse(c))
        .collect();
    let tags: BTreeSet<&str> = ctx.profile.tags.iter().map(String::as_str).collect();
    let adopted: BTreeSet<&str> = ctx.profile.objectives.iter().map(String::as_str).collect();

    let mut files: BTreeMap<String, String> = BTreeMap::new();

    // Controls: select by tag, keep only in-scope criteria and adopted objectives.
    let lib_text = library_file("controls.toml").ok_or_else(|| ctx.broken("no controls.toml"))?;
    let lib: Library = toml::from_str(lib_text).map_err(|e| ctx.broken(format!("controls.toml: {e}")))?;
    let mut selected = Vec::new();
    for bp in lib.control {
        if !bp.when.iter().any(|w| w == "all" || tags.contains(w.as_str())) {
            continue;
        }
        let crit: Vec<String> = bp
            .criteria
            .iter()
            .filter(|c| criterion(c).is_some_and(|c| categories.contains(&c.category)))
            .cloned()
            .collect();
        let objs: Vec<String> = bp
            .objectives
            .iter()
            .filter(|o| adopted.contains(o.as_str()))
            .cloned()
            .collect();
        let reqs: Vec<String> = bp
            .requirements
            .iter()
            .filter(|r| r.split_once(':').is_some_and(|(fw, _)| tags.contains(fw)))
            .cloned()
            .collect();
        if crit.is_empty() && objs.is_empty() && reqs.is_empty() {
            continue;
        }
        selected.push((bp, crit, objs, reqs));
    }
    let control_ids: BTreeSet<String> = selected.iter().map(|(bp, _, _, _)| bp.id.clone()).collect();

    // Tests: every library test that tests a selected control.
    let mut test_ids = BTreeSet::new();
    for (path, text) in library_dir("tests/") {
        let head: TestHead = toml::from_str(text).map_err(|e| ctx.broken(format!("{path}: {e}")))?;
        let kept: Vec<String> = head
            .controls
            .iter()
            .filter(|c| control_ids.contains(*c))
            .cloned()
            .collect();
        if kept.is_empty() {
            continue;
        }
        let original = format!("controls = {}", list(&head.controls));
        if !text.contains(&original) {
            return Err(ctx.broken(format!("{path}: write `controls` on one line as `{original}`")));
        }
        let body = text.replacen(&original, &format!("controls = {}", list(&kept)), 1);
        files.insert(format!("tests/{}.toml", head.id), body);
        test_ids.insert(head.id);
    }

    // Which policies each control supports, to derive policy criteria and the control list.
    let mut policy_controls: BTreeMap<String, Vec<(String, String, Vec<String>)>> = BTreeMap::new();
    for (bp, crit, objs, _) in &selected {
        let title = ctx.fill(&bp.title)?;
        for p in &bp.policies {
            let mut refs = crit.clone();
            refs.extend(objs.iter().cloned());
            policy_controls
                .entry(p.clone())
                .or_default()
                .push((bp.id.clone(), title.clone(), refs));
        }
    }

    for (bp, crit, objs, reqs) in &selected {
        let tests: Vec<String> = bp.tests.iter().filter(|t| test_ids.contains(*t)).cloned().collect();
        let mut s = String::new();
        s.push_str(&format!("id = {}\n", q(&bp.id)));
        s.push_str(&format!("title = {}\n", q(&ctx.fill(&bp.title)?)));
        s.push_str(&format!("description = {}\n", q(&ctx.fill(&bp.description)?)));
        s.push_str(&format!("owner = {}\n", q(&ctx.person(&bp.owner)?)));
        s.push_str(&format!("frequency = {}\n", q(&bp.frequency)));
        s.push_str(&format!("nature = {}\n", q(&bp.nature)));
        s.push_str(&format!("control_type = {}\n", q(&bp.control_type)));
        s.push_str(&format!("key = {}\n", bp.key));
        if !crit.is_empty() {
            s.push_str(&format!("criteria = {}\n", list(crit)));
        }
        if !objs.is_empty() {
            s.push_str(&format!("objectives = {}\n", list(objs)));
        }
        if !reqs.is_empty() {
            s.push_str(&format!("requirements = {}\n", list(reqs)));
        }
        s.push_str(&format!("policies = {}\n", list(&bp.policies)));
        if !tests.is_empty() {
            s.push_str(&format!("tests = {}\n", list(&tests)));
        }
        for e in &bp.evidence {
            s.push_str(&format!("\n[[evidence]]\nname = {}\n", q(&ctx.fill(&e.name)?)));
            if let Some(t) = &e.table {
                s.push_str(&format!("table = {}\n", q(t)));
            }
        }
        files.insert(format!("controls/{}.toml", bp.id), s);
    }

    // Policies: every library policy, adapted to the company. Statement links keep only the
    // controls this template has; a statement left with none is a gap the analysis reports.
    let present: BTreeSet<String> = files
        .keys()
        .filter_map(|k| k.strip_prefix("controls/").and_then(|r| r.strip_suffix(".toml")))
        .map(String::from)
        .collect();
    for (path, text) in library_dir("policies/") {
        let rest = text
            .strip_prefix("+++\n")
            .ok_or_else(|| ctx.broken(format!("{path}: no front matter")))?;
        let end = rest
            .find("\n+++\n")
            .ok_or_else(|| ctx.broken(format!("{path}: unclosed front matter")))?;
        let head: PolicyHead =
            toml::from_str(rest.get(..end).unwrap_or_default()).map_err(|e| ctx.broken(format!("{path}: {e}")))?;
        let body = ctx.fill(rest.get(end + 5..).unwrap_or_default())?;
        let supporting = policy_controls.get(&head.id).cloned().unwrap_or_default();
        let refs: BTreeSet<String> = supporting.iter().flat_map(|(_, _, r)| r.iter().cloned()).collect();
        let crit: Vec<String> = criteria()
            .iter()
            .filter(|c| refs.contains(c.id))
            .map(|c| c.id.to_string())
            .collect();
        let objs: Vec<String> = ctx
            .profile
            .objectives
            .iter()
            .filter(|o| refs.contains(o.as_str()))
            .cloned()
            .collect();
        let mut s = String::from("+++\n");
        s.push_str(&format!("id = {}\n", q(&head.id)));
        s.push_str(&format!("title = {}\n", q(&head.title)));
        s.push_str(&format!("owner = {}\n", q(&ctx.person(&head.owner)?)));
        s.push_str("version = \"1.0\"\n");
        s.push_str("review_interval_months = 12\n");
        s.push_str(&format!("applies_to = {}\n", q(&head.applies_to)));
        s.push_str(&format!("criteria = {}\n", list(&crit)));
        let numbered = crate::model::statements(&body);
        if !numbered.is_empty() {
            s.push_str("\n# The controls that enforce each numbered statement below.\n[statements]\n");
            for st in &numbered {
                let links: Vec<String> = head
                    .statements
                    .get(&st.id)
                    .map(|l| l.controls.iter().filter(|c| present.contains(*c)).cloned().collect())
                    .unwrap_or_default();
                s.push_str(&format!("{} = {{ controls = {} }}\n", st.id, list(&links)));
            }
        }
        s.push_str("+++\n");
        s.push_str(&format!("# {}\n\n", head.title));
        s.push_str(body.trim_end());
        s.push_str("\n\n## What this policy supports\n\n");
        if supporting.is_empty() {
            s.push_str("No control in this project carries out this policy yet.\n");
        } else {
            let mut scope = crit.clone();
            scope.extend(objs);
            s.push_str(&format!(
                "Criteria and objectives: {}.\n\nControls:\n\n",
                scope.join(", ")
            ));
            for (id, title, _) in &supporting {
                s.push_str(&format!("- {id}: {title}\n"));
            }
        }
        files.insert(format!("policies/{}.md", head.id), s);
    }

    // Objectives adopted from the library.
    if !ctx.profile.objectives.is_empty() {
        let mut s = String::from(
            "# The company's SOC 1 control objectives. They start from Assure's library (`from`) and are\n# yours to reword: in a SOC 1 the objectives belong to management.\n",
        );
        for id in &ctx.profile.objectives {
            let o = objective_template(id).ok_or_else(|| ctx.broken(format!("unknown objective `{id}`")))?;
            s.push_str(&format!(
                "\n[[objective]]\nid = {}\ntitle = {}\nstatement = {}\nfrom = {}\n",
                q(o.id),
                q(o.title),
                q(o.statement),
                q(o.id)
            ));
        }
        files.insert("objectives.toml".to_string(), s);
    }

    // The company's own files.
    for (path, text) in library_dir(&dir) {
        let rel = path.strip_prefix(&dir).unwrap_or(path);
        match rel {
            "profile.toml" => {}
            "risks.toml" => {
                files.insert("risks/register.toml".to_string(), text.to_string());
            }
            _ => {
                files.insert(rel.to_string(), text.to_string());
            }
        }
    }
    files.insert(
        ".gitignore".to_string(),
        "# Assure's runtime state: evidence store, ledger, database.\n/.assure/\n".to_string(),
    );
    files.insert("README.md".to_string(), project_readme(&ctx));
    Ok(files.into_iter().collect())
}

fn project_readme(ctx: &Ctx) -> String {
    format!(
        "# Compliance project\n\n{}.\n\nCreated by `assure init --template {}`. Everything here is yours to edit; run `assure validate` after each change and `assure gap` to see how ready the project is.\n\n| path | what it holds |\n|---|---|\n| `assure.toml` | organization, services, system description, scope, subservice organizations, user entity controls |\n| `people.toml` | people, their emails and the aliases they use in other systems |\n| `objectives.toml` | SOC 1 control objectives (when SOC 1 is in scope) |\n| `controls/` | one control per file |\n| `policies/` | one policy per file: TOML front matter between `+++` lines, then Markdown |\n| `tests/` | one control test per file: SQL over the evidence tables |\n| `vendors/` | one vendor per file |\n| `risks/` | the risk register |\n| `.assure/` | runtime state (evidence, ledger); not committed |\n",
        ctx.profile.description, ctx.template
    )
}

/// Writes a new project from `template` into `dir`, which must not exist or be empty.
pub fn init(template: Template, dir: &Path) -> Result<InitSummary, InitError> {
    if dir.exists() {
        let empty = dir.is_dir()
            && fs::read_dir(dir)
                .map_err(|source| InitError::Io {
                    path: dir.to_path_buf(),
                    source,
                })?
                .next()
                .is_none();
        if !empty {
            return Err(InitError::Exists(dir.to_path_buf()));
        }
    }
    let files = render(template)?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InitError::Io { path, source }
    };
    fs::create_dir_all(&parent).map_err(io(&parent))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "project".into());
    let staging = parent.join(format!(".{name}.assure-init-{}", std::process::id()));
    let result = (|| {
        for (rel, text) in &files {
            let path = staging.join(rel);
            if let Some(p) = path.parent() {
                fs::create_dir_all(p).map_err(io(p))?;
            }
            fs::write(&path, text).map_err(io(&path))?;
        }
        if dir.exists() {
            fs::remove_dir(dir).map_err(io(dir))?;
        }
        fs::rename(&staging, dir).map_err(io(dir))
    })();
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    let count = |prefix: &str| files.iter().filter(|(p, _)| p.starts_with(prefix)).count();
    let objectives = files
        .iter()
        .find(|(p, _)| p == "objectives.toml")
        .map_or(0, |(_, t)| t.matches("[[objective]]").count());
    let company = files
        .iter()
        .find(|(p, _)| p == "assure.toml")
        .and_then(|(_, t)| {
            t.lines()
                .find_map(|l| l.strip_prefix("name = "))
                .map(|s| s.trim_matches('"').to_string())
        })
        .unwrap_or_default();
    Ok(InitSummary {
        template,
        company,
        controls: count("controls/"),
        policies: count("policies/"),
        tests: count("tests/"),
        objectives,
        files: files.into_iter().map(|(p, _)| p).collect(),
    })
}
