//! Reading a project directory from disk into the model.
//!
//! Problems inside files become diagnostics and the file is skipped, so that one run reports every
//! problem at once. Only a project that cannot be read at all is an error.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::diag::Diagnostic;
use crate::model::{Control, FileId, Manifest, Objective, Person, Policy, Project, Response, Risk, TestDef, Vendor};

/// The largest project file Assure reads: project files are hand-edited text, never bulk data.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// The deepest nesting of arrays and tables accepted in a project file.
pub const MAX_NESTING: usize = 32;

/// A project that could not be read at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The directory has no `assure.toml`.
    #[error("no project at `{0}`: `assure.toml` not found")]
    NotAProject(PathBuf),
    /// A directory or file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Reads the project rooted at `root`; returns the model and the problems found while reading.
pub fn load(root: &Path) -> Result<(Project, Vec<Diagnostic>), LoadError> {
    let manifest_path = root.join("assure.toml");
    if !manifest_path.is_file() {
        return Err(LoadError::NotAProject(root.to_path_buf()));
    }
    let mut project = Project::default();
    let mut diags = Vec::new();

    let before = diags.len();
    if let Some((file, text)) = read_text(root, "assure.toml", &mut project, &mut diags)? {
        project.scope_line = text
            .lines()
            .position(|l| l.trim() == "[scope]")
            .and_then(|i| u32::try_from(i + 1).ok());
        if let Some(manifest) = parse_toml::<Manifest>(&text, "assure.toml", &mut diags) {
            project.manifest = manifest;
        }
        debug_assert_eq!(file, FileId(0));
    }
    mark(&mut project, &diags, before, "manifest");

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct PeopleFile {
        #[serde(default)]
        person: Vec<Person>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ObjectivesFile {
        #[serde(default)]
        objective: Vec<Objective>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ResponsesFile {
        #[serde(default)]
        response: Vec<Response>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RisksFile {
        #[serde(default)]
        risk: Vec<Risk>,
    }

    let before = diags.len();
    if root.join("people.toml").is_file()
        && let Some((file, text)) = read_text(root, "people.toml", &mut project, &mut diags)?
        && let Some(parsed) = parse_toml::<PeopleFile>(&text, "people.toml", &mut diags)
    {
        project.people.extend(parsed.person.into_iter().map(|mut p| {
            p.file = file;
            p
        }));
    }
    mark(&mut project, &diags, before, "people");
    let before = diags.len();
    if root.join("objectives.toml").is_file()
        && let Some((file, text)) = read_text(root, "objectives.toml", &mut project, &mut diags)?
        && let Some(parsed) = parse_toml::<ObjectivesFile>(&text, "objectives.toml", &mut diags)
    {
        project.objectives.extend(parsed.objective.into_iter().map(|mut o| {
            o.file = file;
            o
        }));
    }
    mark(&mut project, &diags, before, "objectives");
    let before = diags.len();
    if root.join("responses.toml").is_file()
        && let Some((file, text)) = read_text(root, "responses.toml", &mut project, &mut diags)?
        && let Some(parsed) = parse_toml::<ResponsesFile>(&text, "responses.toml", &mut diags)
    {
        project.responses.extend(parsed.response.into_iter().map(|mut r| {
            r.file = file;
            r
        }));
    }
    mark(&mut project, &diags, before, "responses");
    let before = diags.len();
    for rel in list(root, "controls", "toml", &mut diags)? {
        if let Some((file, text)) = read_text(root, &rel, &mut project, &mut diags)?
            && let Some(mut c) = parse_toml::<Control>(&text, &rel, &mut diags)
        {
            c.file = file;
            project.controls.push(c);
        }
    }
    mark(&mut project, &diags, before, "controls");
    let before = diags.len();
    for rel in list(root, "tests", "toml", &mut diags)? {
        if let Some((file, text)) = read_text(root, &rel, &mut project, &mut diags)?
            && let Some(mut t) = parse_toml::<TestDef>(&text, &rel, &mut diags)
        {
            t.file = file;
            project.tests.push(t);
        }
    }
    mark(&mut project, &diags, before, "tests");
    let before = diags.len();
    for rel in list(root, "vendors", "toml", &mut diags)? {
        if let Some((file, text)) = read_text(root, &rel, &mut project, &mut diags)?
            && let Some(mut v) = parse_toml::<Vendor>(&text, &rel, &mut diags)
        {
            v.file = file;
            project.vendors.push(v);
        }
    }
    mark(&mut project, &diags, before, "vendors");
    let before = diags.len();
    for rel in list(root, "risks", "toml", &mut diags)? {
        if let Some((file, text)) = read_text(root, &rel, &mut project, &mut diags)?
            && let Some(parsed) = parse_toml::<RisksFile>(&text, &rel, &mut diags)
        {
            project.risks.extend(parsed.risk.into_iter().map(|mut r| {
                r.file = file;
                r
            }));
        }
    }
    mark(&mut project, &diags, before, "risks");
    let before = diags.len();
    for rel in list(root, "policies", "md", &mut diags)? {
        if let Some((file, text)) = read_text(root, &rel, &mut project, &mut diags)?
            && let Some(p) = parse_policy(&text, &rel, file, &mut diags)
        {
            project.policies.push(p);
        }
    }
    mark(&mut project, &diags, before, "policies");
    Ok((project, diags))
}

/// Records `kind` as incomplete when an error was reported while loading it.
fn mark(project: &mut Project, diags: &[Diagnostic], before: usize, kind: &'static str) {
    if diags
        .iter()
        .skip(before)
        .any(|d| d.severity == crate::diag::Severity::Error)
    {
        project.incomplete.insert(kind);
    }
}

/// Lists the files with extension `ext` in `root/dir`, sorted, as relative paths; warns about others.
fn list(root: &Path, dir: &str, ext: &str, diags: &mut Vec<Diagnostic>) -> Result<Vec<String>, LoadError> {
    let path = root.join(dir);
    if !path.is_dir() {
        return Ok(Vec::new());
    }
    let io = |source| LoadError::Io {
        path: path.clone(),
        source,
    };
    let mut names = Vec::new();
    for entry in fs::read_dir(&path).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.to_ascii_lowercase().starts_with("readme") {
            continue;
        }
        let is_file = entry.file_type().map_err(io)?.is_file();
        if is_file && name.ends_with(&format!(".{ext}")) {
            names.push(format!("{dir}/{name}"));
        } else {
            diags.push(
                Diagnostic::warning(
                    "ignored-file",
                    &format!("{dir}/{name}"),
                    None,
                    format!("`{dir}/` holds only `.{ext}` files; this entry is ignored"),
                )
                .with_hint(format!("rename it to end in `.{ext}` or move it out of `{dir}/`")),
            );
        }
    }
    names.sort();
    Ok(names)
}

/// Reads a project file as UTF-8 text with the size, binary and nesting guards; records it in the
/// source map. Returns `None` (with a diagnostic) for a file that is not readable project text.
fn read_text(
    root: &Path,
    rel: &str,
    project: &mut Project,
    diags: &mut Vec<Diagnostic>,
) -> Result<Option<(FileId, String)>, LoadError> {
    let path = root.join(rel);
    let io = |source| LoadError::Io {
        path: path.clone(),
        source,
    };
    let file = fs::File::open(&path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        diags.push(
            Diagnostic::error(
                "unreadable-file",
                rel,
                None,
                format!("file is larger than {} MiB", MAX_FILE_BYTES / (1024 * 1024)),
            )
            .with_hint("project files are hand-written definitions; import bulk data with `assure evidence import`"),
        );
        return Ok(None);
    }
    if let Some(pos) = bytes.iter().position(|&b| b == 0) {
        diags.push(
            Diagnostic::error(
                "unreadable-file",
                rel,
                Some(line_of(&bytes, pos)),
                format!("binary content (a NUL byte at offset {pos})"),
            )
            .with_hint("project files are UTF-8 text; remove the file or restore it from git"),
        );
        return Ok(None);
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let pos = e.utf8_error().valid_up_to();
            let line = line_of(e.as_bytes(), pos);
            diags.push(
                Diagnostic::error(
                    "unreadable-file",
                    rel,
                    Some(line),
                    format!("not valid UTF-8 (at byte offset {pos})"),
                )
                .with_hint("save the file as UTF-8"),
            );
            return Ok(None);
        }
    };
    let text = text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text);
    if let Some(pos) = too_deep(&text) {
        diags.push(
            Diagnostic::error(
                "unreadable-file",
                rel,
                Some(line_of(text.as_bytes(), pos)),
                format!("arrays or tables nested deeper than {MAX_NESTING} levels"),
            )
            .with_hint("project files never need this much nesting; the file is probably not a project file"),
        );
        return Ok(None);
    }
    let id = project.sources.add(rel, &text);
    Ok(Some((id, text)))
}

fn line_of(bytes: &[u8], pos: usize) -> u32 {
    let newlines = bytes.iter().take(pos).filter(|&&b| b == b'\n').count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

/// Returns the offset where bracket nesting first exceeds the limit, skipping strings and comments.
fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'#' => {
                while bytes.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            b'"' | b'\'' => {
                let triple = bytes.get(i + 1) == Some(&b) && bytes.get(i + 2) == Some(&b);
                let quote_len = if triple { 3 } else { 1 };
                i += quote_len;
                while let Some(&c) = bytes.get(i) {
                    if c == b'\\' && b == b'"' {
                        i += 2;
                        continue;
                    }
                    if c == b && (!triple || (bytes.get(i + 1) == Some(&b) && bytes.get(i + 2) == Some(&b))) {
                        i += quote_len - 1;
                        break;
                    }
                    if c == b'\n' && !triple {
                        break;
                    }
                    i += 1;
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

fn parse_toml<T: DeserializeOwned>(text: &str, rel: &str, diags: &mut Vec<Diagnostic>) -> Option<T> {
    match toml::from_str::<T>(text) {
        Ok(v) => Some(v),
        Err(e) => {
            diags.push(toml_error(&e, text, rel, 0));
            None
        }
    }
}

fn toml_error(e: &toml::de::Error, text: &str, rel: &str, offset: usize) -> Diagnostic {
    let line = e
        .span()
        .map(|s| line_of(text.as_bytes(), s.start) + u32::try_from(offset).unwrap_or(0));
    let message = e.message().trim().trim_end_matches('.').to_string();
    let hint = if message.starts_with("unknown field") {
        "check the spelling against the project format in README.md"
    } else if message.starts_with("missing field") {
        "add the field; every entry of this kind needs it"
    } else {
        "fix the TOML at this line; checks that depend on this file are skipped until it loads"
    };
    Diagnostic::error("invalid-file", rel, line, message).with_hint(hint)
}

/// Splits a policy into its `+++` TOML front matter and Markdown body.
fn parse_policy(text: &str, rel: &str, file: FileId, diags: &mut Vec<Diagnostic>) -> Option<Policy> {
    let no_front_matter = || {
        Diagnostic::error("invalid-file", rel, Some(1), "policy has no front matter")
            .with_hint("start the file with a `+++` line, the TOML front matter (id, title, owner, version, ...), and a closing `+++` line")
    };
    let Some(rest) = text.strip_prefix("+++\n").or_else(|| text.strip_prefix("+++\r\n")) else {
        diags.push(no_front_matter());
        return None;
    };
    let Some(end) = rest.find("\n+++") else {
        diags.push(no_front_matter());
        return None;
    };
    let front = rest.get(..=end).unwrap_or_default();
    let body = rest
        .get(end + 4..)
        .unwrap_or_default()
        .trim_start_matches(['\r', '\n'])
        .to_string();
    // Spans in the front matter are relative to `front`; pad so they line up with the whole file.
    let padded = format!("{}{front}", " ".repeat(4));
    match toml::from_str::<Policy>(&padded) {
        Ok(mut p) => {
            p.body = body;
            p.file = file;
            Some(p)
        }
        Err(e) => {
            diags.push(toml_error(&e, text, rel, 0));
            None
        }
    }
}
