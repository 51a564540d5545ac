//! `git-log`: a local repository's mainline history onto `changes`, whatever the workflow. `assure
//! evidence import` runs `git log` on a repository directory and records its output (this text, not
//! the repository) as the evidence.
//!
//! A change is a commit on the mainline (`git log --first-parent HEAD`). For a merge commit the
//! change is the merged branch: its author is the author of the branch's last commit (the person
//! who merged is not the author); for squash and rebase workflows, and for Gerrit, each mainline
//! commit is a change. Names and addresses go through the repository's `.mailmap`. People are
//! written `Name <address>` where git or the trailer gives both, so identity resolution can tell that
//! two addresses with one name in one history are one person (its same-name rule).
//!
//! Reviewers come from the trailers people and tools write, in any case and indentation, each a
//! comma-separated list of `Name <email>`, an address or a login: `Reviewed-by`, `Reviewer`,
//! `Reviewers`, `Approved-by`, and Gerrit's `Code-Review+1`/`Code-Review+2` votes. Not reviews:
//! `Co-authored-by` (a co-author wrote the change and is never an independent reviewer, even when
//! also listed as one), `Signed-off-by` (certifies where the code came from), `Acked-by` (agreement
//! by a maintainer, which by the kernel's own definition need not cover the whole change; counting
//! it would hide changes nobody reviewed), `Tested-by`, `Reported-by`, `Suggested-by`.
//!
//! Ticket keys (`ticket_id`): a `KEY-123` issue key in the subject, the merged branch's name, a
//! trailer (`Fixes`, `Closes`, `Resolves`, `Refs`, `Ticket`, `Issue`, `Jira`) or a line of the
//! message that starts with an issue verb (`Fixes #12`, `Updates golang/go#345`); else a `#123` or
//! `owner/repo#123` reference in those places or in the subject, except the pull request number
//! GitHub writes (`Merge pull request #12 from ...`, a squash merge's trailing `(#12)`), which
//! names the review, not a ticket. An issue link (`https://github.com/OWNER/REPO/issues/12`, a GitLab
//! `/-/issues/12` link) is `OWNER/REPO#12`; pull and merge request links (`PR-URL:`) name the review
//! and are not tickets. Several keys are joined with `;`.
//!
//! Phabricator's `Reviewed By: name` is `Reviewed-by`; a WebKit-style line `Reviewed by Name.` (no
//! colon, `and` between several) names reviewers too.
//!
//! Reverts: a commit whose message says `This reverts commit HASH` is a change like any other (it
//! reaches production); when it names no ticket of its own it carries the ticket of the change it
//! reverts, if that change is in the history.
//!
//! Version 1 of the recorded text (merge commits only) still reads back as it was recorded.

use super::{Connector, Fixture, Kind, MAX_RECORDS, Record, Refusal, too_many_records};

/// A local git repository's mainline history.
#[derive(Debug, Clone, Copy)]
pub struct GitLog;

impl Connector for GitLog {
    fn id(&self) -> &'static str {
        "git-log"
    }
    fn about(&self) -> &'static str {
        "a local git repository's mainline history (merge, squash, rebase or Gerrit workflows), with reviewers from trailers and ticket keys"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "changes" }
    }
    fn detect(&self, text: &str) -> bool {
        text.starts_with(GIT_LOG_HEADER) || text.starts_with(GIT_LOG_HEADER_V1)
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        let first = text.lines().next().unwrap_or_default();
        let (v2, repo) = match first.strip_prefix(GIT_LOG_HEADER) {
            Some(r) => (true, r.trim()),
            None => (false, first.strip_prefix(GIT_LOG_HEADER_V1).map_or("", str::trim)),
        };
        let repo = if repo.is_empty() { "git" } else { repo };
        if v2 {
            mainline_records(text, repo)
        } else {
            merge_records_v1(text, repo)
        }
    }
    fn fixture(&self) -> Fixture {
        Fixture::new("api.gitlog", include_bytes!("../../fixtures/connectors/git-log.gitlog"))
    }
}

/// The first line of the text `assure evidence import` records from `git log`.
pub const GIT_LOG_HEADER: &str = "assure-git-log v2";
/// The first line of texts recorded by earlier versions (merge commits only).
const GIT_LOG_HEADER_V1: &str = "assure-git-log v1";

/// The `git log` arguments whose output the `git-log` connector reads: the mainline's commits with
/// parents, mailmapped author and committer, dates and the full message.
pub const GIT_LOG_ARGS: [&str; 4] = [
    "log",
    "--first-parent",
    "--format=%x1e%H%x1f%P%x1f%aN%x1f%aE%x1f%aI%x1f%cN%x1f%cE%x1f%cI%x1f%s%x1f%b",
    "HEAD",
];

/// The arguments that list the authors of merged branches' last commits, read from standard input:
/// written after the mainline, behind a `\x1d` line.
pub const GIT_BRANCH_AUTHOR_ARGS: [&str; 4] = ["log", "--no-walk=unsorted", "--stdin", "--format=%H%x1f%aN%x1f%aE"];

/// The second parents of the merge commits in `git log` output written with [`GIT_LOG_ARGS`].
pub fn merged_branches(mainline: &str) -> Vec<String> {
    mainline
        .split('\u{1e}')
        .skip(1)
        .filter_map(|c| c.split('\u{1f}').nth(1))
        .filter_map(|parents| parents.split_whitespace().nth(1))
        .map(str::to_string)
        .collect()
}

/// One person named in a trailer: `Name <address>` when they gave both (the name feeds identity
/// resolution's same-name rule), else the address or what they wrote.
fn person(who: &str) -> Option<String> {
    let who = who.trim().trim_end_matches(['.', ';']);
    match who
        .split_once('<')
        .and_then(|(n, r)| r.split_once('>').map(|(e, _)| (n.trim(), e.trim())))
    {
        Some((_, "")) => None,
        Some(("", e)) => Some(e.to_string()),
        Some((n, e)) => Some(named(n, e)),
        None => (!who.is_empty()).then(|| who.to_string()),
    }
}

/// `Name <address>`, or the address alone when there is no name.
fn named(name: &str, email: &str) -> String {
    let name = name.trim().trim_matches('"');
    if name.is_empty() || name.contains(['<', '>']) {
        email.to_string()
    } else {
        format!("{name} <{email}>")
    }
}

/// The address in a `Name <address>` value (or the value).
fn address(v: &str) -> &str {
    v.split_once('<')
        .and_then(|(_, r)| r.split_once('>'))
        .map_or(v, |(e, _)| e)
        .trim()
}

/// A trailer line's key (lower-case, words joined by `-`) and value, when the line is one
/// (`Key: value`). Phabricator writes keys with a space (`Reviewed By: name`), read as
/// `reviewed-by`; a key of more than three words is prose, not a trailer.
fn trailer(line: &str) -> Option<(String, &str)> {
    let l = line.trim();
    let (k, v) = l.split_once(':')?;
    let k = k.trim();
    if k.is_empty()
        || k.len() > 40
        || k.split(' ').count() > 3
        || !k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '_' | ' '))
    {
        return None;
    }
    Some((
        k.to_ascii_lowercase().split_whitespace().collect::<Vec<_>>().join("-"),
        v.trim(),
    ))
}

/// The reviewers a WebKit-style line names (`Reviewed by Darin Adler.`, `Reviewed by A and B.`):
/// the form of projects whose commit messages follow a ChangeLog, without a colon.
fn reviewed_by_line(line: &str) -> Option<Vec<String>> {
    let l = line.trim();
    let rest = l.get(..12).filter(|h| h.eq_ignore_ascii_case("reviewed by "))?;
    let names = &l[rest.len()..];
    if names.contains(':') {
        return None;
    }
    Some(
        names
            .trim_end_matches('.')
            .split([',', '&'])
            .flat_map(|p| p.split(" and "))
            .filter_map(person)
            .collect(),
    )
}

/// The commit a revert names (`This reverts commit 1a2b3c...`), as the 12-character change id.
fn reverted_commit(body: &str) -> Option<String> {
    body.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("This reverts commit ")?;
        let hash: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
        (hash.len() >= 7).then(|| hash.chars().take(12).collect())
    })
}

const REVIEW_KEYS: &[&str] = &[
    "reviewed-by",
    "reviewer",
    "reviewers",
    "approved-by",
    "code-review+1",
    "code-review+2",
];
const TICKET_KEYS: &[&str] = &["fixes", "closes", "resolves", "refs", "ref", "ticket", "issue", "jira"];

/// `KEY-123` issue keys in `text`: two or more capitals or digits starting with a capital, a dash
/// and digits, not inside a longer word (`feature/OPS-9-retry` holds `OPS-9`).
fn issue_keys(text: &str, out: &mut Vec<String>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // Word boundaries are characters, not bytes: `ÉQUIPE-7` holds no key.
        let starts = b[i].is_ascii_uppercase() && !text[..i].chars().next_back().is_some_and(char::is_alphanumeric);
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < b.len() && (b[j].is_ascii_uppercase() || b[j].is_ascii_digit()) {
            j += 1;
        }
        let mut k = j + 1;
        while k < b.len() && b[k].is_ascii_digit() {
            k += 1;
        }
        let key_len = j - i;
        let shaped = (2..=15).contains(&key_len) && j < b.len() && b[j] == b'-' && k > j + 1;
        if shaped
            && !text
                .get(k..)
                .and_then(|r| r.chars().next())
                .is_some_and(char::is_alphanumeric)
        {
            let key = &text[i..k];
            if !out.iter().any(|x| x == key) {
                out.push(key.to_string());
            }
            i = k;
        } else {
            i = j.max(i + 1);
        }
    }
}

/// Issue links in `text` as `owner/repo#123`: GitHub's `https://github.com/OWNER/REPO/issues/123`
/// and GitLab's `https://HOST/GROUP/PROJECT/-/issues/123`. Pull and merge request links name the
/// review, not a ticket, and are left out.
fn issue_urls(text: &str, out: &mut Vec<String>) {
    for (i, _) in text.match_indices("://") {
        let rest = &text[i + 3..];
        let url: &str = rest
            .split(|c: char| c.is_whitespace() || matches!(c, ')' | '>' | ',' | ';'))
            .next()
            .unwrap_or("");
        let parts: Vec<&str> = url.trim_end_matches(['.', '/']).split('/').collect();
        let Some(pos) = parts.iter().rposition(|p| *p == "issues") else {
            continue;
        };
        let Some(number) = parts
            .get(pos + 1)
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        else {
            continue;
        };
        // The project is the path between the host and `issues` (GitLab puts a `-` before it).
        let project: Vec<&str> = parts
            .get(1..pos)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|p| *p != "-")
            .collect();
        if project.len() < 2 {
            continue;
        }
        let r = format!("{}#{number}", project.join("/"));
        if !out.contains(&r) {
            out.push(r);
        }
    }
}

/// `#123` and `owner/repo#123` references in `text`, and issue links.
fn hash_refs(text: &str, out: &mut Vec<String>) {
    issue_urls(text, out);
    for (i, _) in text.match_indices('#') {
        let digits: String = text[i + 1..].chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            continue;
        }
        // `owner/repo#123` keeps its repository; a word glued to `#` otherwise is not a reference.
        // (The character before the word may be several bytes long: step over it whole.)
        let word_start = text[..i]
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.')))
            .map_or(0, |(j, c)| j + c.len_utf8());
        let word = &text[word_start..i];
        let r = if word.is_empty() {
            format!("#{digits}")
        } else if word.contains('/') && !word.starts_with('/') && !word.ends_with('/') {
            format!("{word}#{digits}")
        } else {
            continue;
        };
        if !out.contains(&r) {
            out.push(r);
        }
    }
}

/// Words that, at the start of a line of the message, introduce the issues a change resolves or
/// belongs to (`Fixes #12`, `Updates golang/go#345`, `Closes: ENG-9`).
const ISSUE_VERBS: &[&str] = &[
    "fix",
    "fixes",
    "fixed",
    "close",
    "closes",
    "closed",
    "resolve",
    "resolves",
    "resolved",
    "update",
    "updates",
    "ref",
    "refs",
    "references",
    "part of",
];

/// The issue references a line of the message introduces with one of [`ISSUE_VERBS`].
fn issue_line(line: &str, keys: &mut Vec<String>, refs: &mut Vec<String>) {
    let l = line.trim();
    let lower = l.to_ascii_lowercase();
    for verb in ISSUE_VERBS {
        if let Some(rest) = lower.strip_prefix(verb)
            && rest.starts_with([' ', ':'])
        {
            let rest = &l[verb.len()..];
            issue_keys(rest, keys);
            hash_refs(rest, refs);
            return;
        }
    }
}

/// The subject without the pull request number GitHub writes into it.
fn without_pull_request_number(subject: &str) -> &str {
    if subject.starts_with("Merge pull request #") {
        return subject.split_once(" from ").map_or("", |(_, branch)| branch);
    }
    match subject.trim_end().strip_suffix(')').and_then(|s| s.rsplit_once(" (#")) {
        Some((head, n)) if n.chars().all(|c| c.is_ascii_digit()) => head,
        _ => subject,
    }
}

fn mainline_records(text: &str, repo: &str) -> Result<Vec<(u64, Record)>, Refusal> {
    let (commits, branches) = text.split_once("\u{1d}\n").unwrap_or((text, ""));
    let branch_author: std::collections::HashMap<&str, (&str, &str)> = branches
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\u{1f}');
            let hash = f.next()?;
            let name = f.next()?;
            Some((hash, (name.trim(), f.next()?.trim())))
        })
        .collect();
    let mut out = Vec::new();
    let mut reverts: Vec<(usize, String)> = Vec::new();
    for (i, chunk) in commits.split('\u{1e}').skip(1).enumerate() {
        let f: Vec<&str> = chunk.splitn(10, '\u{1f}').collect();
        let field = |n: usize| f.get(n).map(|x| x.trim()).filter(|x| !x.is_empty());
        let parents: Vec<&str> = field(1).map(|p| p.split_whitespace().collect()).unwrap_or_default();
        let subject = field(8).unwrap_or_default();
        let body = f.get(9).copied().unwrap_or("");
        // A merge's change is the merged branch: its last commit's author wrote it.
        // Written `Name <address>`: the name feeds identity resolution's same-name rule.
        let author = match parents.get(1).and_then(|p| branch_author.get(p)) {
            Some((name, a)) if !a.is_empty() => Some(named(name, a)),
            // An author recorded with a name and no address (curl credits some contributors so) is
            // the name, as a trailer without an address is: identity resolution may know it, and
            // reports it when it does not; the change stays in the population.
            _ => field(3)
                .map(|a| named(field(2).unwrap_or_default(), a))
                .or_else(|| field(2).map(str::to_string)),
        };
        let mut approvers = Vec::new();
        let mut coauthors = Vec::new();
        let mut tickets = Vec::new();
        issue_keys(without_pull_request_number(subject), &mut tickets);
        let mut refs = Vec::new();
        hash_refs(without_pull_request_number(subject), &mut refs);
        for line in body.lines() {
            issue_line(line, &mut tickets, &mut refs);
            if let Some(names) = reviewed_by_line(line) {
                approvers.extend(names);
                continue;
            }
            let Some((key, value)) = trailer(line) else { continue };
            if REVIEW_KEYS.contains(&key.as_str()) {
                approvers.extend(value.split(',').filter_map(person));
            } else if key == "co-authored-by" {
                coauthors.extend(value.split(',').filter_map(person));
            } else if TICKET_KEYS.contains(&key.as_str()) {
                issue_keys(value, &mut tickets);
                hash_refs(value, &mut refs);
            }
        }
        if tickets.is_empty() {
            tickets = refs;
        }
        approvers.retain(|a| !coauthors.iter().any(|c| address(c).eq_ignore_ascii_case(address(a))));
        approvers.sort_by_key(|a| address(a).to_ascii_lowercase());
        approvers.dedup_by(|a, b| address(a).eq_ignore_ascii_case(address(b)));
        let mut m = Record::new();
        m.insert("change_id", field(0).map(|h| h.chars().take(12).collect()));
        m.insert("system", Some(repo.to_string()));
        m.insert("title", Some(subject.to_string()).filter(|x| !x.is_empty()));
        m.insert("author_email", author);
        m.insert("approver_emails", Some(approvers.join(";")).filter(|x| !x.is_empty()));
        m.insert("created_at", field(4).map(str::to_string));
        m.insert("approved_at", None);
        m.insert("merged_at", field(7).map(str::to_string));
        m.insert("deployed_at", None);
        m.insert("tests_passed", None);
        m.insert(
            "emergency",
            Some(subject.to_ascii_lowercase().contains("emergency").to_string()),
        );
        m.insert("ticket_id", Some(tickets.join(";")).filter(|x| !x.is_empty()));
        if out.len() >= MAX_RECORDS {
            return Err(too_many_records());
        }
        if let Some(target) = reverted_commit(body) {
            reverts.push((out.len(), target));
        }
        out.push((i as u64 + 1, m));
    }
    // A revert without a ticket of its own carries the ticket of the change it reverts (it undoes
    // that change under the same request), when that change is in the history.
    let index: std::collections::HashMap<String, usize> = out
        .iter()
        .enumerate()
        .filter_map(|(k, (_, m))| m.get("change_id").cloned().flatten().map(|id| (id, k)))
        .collect();
    for (k, target) in reverts {
        let inherited = index
            .get(&target)
            .and_then(|&t| out.get(t))
            .and_then(|(_, m)| m.get("ticket_id").cloned().flatten());
        if let (Some(ticket), Some((_, m))) = (inherited, out.get_mut(k))
            && m.get("ticket_id").is_none_or(Option::is_none)
        {
            m.insert("ticket_id", Some(ticket));
        }
    }
    Ok(out)
}

/// Version 1: merge commits only, read exactly as when they were recorded.
fn merge_records_v1(text: &str, repo: &str) -> Result<Vec<(u64, Record)>, Refusal> {
    let mut out = Vec::new();
    for (i, chunk) in text.split('\u{1e}').skip(1).enumerate() {
        let f: Vec<&str> = chunk.splitn(6, '\u{1f}').collect();
        let field = |n: usize| f.get(n).map(|x| x.trim()).filter(|x| !x.is_empty()).map(str::to_string);
        let body = f.get(5).copied().unwrap_or("");
        let mut approvers = Vec::new();
        let mut coauthors = Vec::new();
        for line in body.lines() {
            let l = line.trim();
            let lower = l.to_ascii_lowercase();
            let (value, list) = match ["reviewed-by:", "approved-by:", "reviewers:"]
                .iter()
                .find_map(|p| lower.starts_with(p).then(|| l.get(p.len()..).unwrap_or("").trim()))
            {
                Some(v) => (Some(v), &mut approvers),
                None => (
                    lower
                        .starts_with("co-authored-by:")
                        .then(|| l.get(15..).unwrap_or("").trim()),
                    &mut coauthors,
                ),
            };
            if let Some(v) = value {
                for who in v.split(',') {
                    // `Name <email>`, a bare email, or a login.
                    let who = who.trim();
                    let email = who
                        .split_once('<')
                        .and_then(|(_, r)| r.split_once('>'))
                        .map_or(who, |(e, _)| e)
                        .trim();
                    if !email.is_empty() {
                        list.push(email.to_string());
                    }
                }
            }
        }
        approvers.retain(|a| !coauthors.iter().any(|c| c.eq_ignore_ascii_case(a)));
        approvers.sort();
        approvers.dedup();
        let subject = field(4).unwrap_or_default();
        let mut m = Record::new();
        m.insert("change_id", field(0).map(|h| h.chars().take(12).collect()));
        m.insert("system", Some(repo.to_string()));
        m.insert("title", Some(subject.clone()).filter(|x| !x.is_empty()));
        m.insert("author_email", field(1));
        m.insert("approver_emails", Some(approvers.join(";")).filter(|x| !x.is_empty()));
        m.insert("created_at", field(2));
        m.insert("approved_at", None);
        m.insert("merged_at", field(3));
        m.insert("deployed_at", None);
        m.insert("tests_passed", None);
        m.insert(
            "emergency",
            Some(subject.to_ascii_lowercase().contains("emergency").to_string()),
        );
        m.insert("ticket_id", None);
        if out.len() >= MAX_RECORDS {
            return Err(too_many_records());
        }
        out.push((i as u64 + 1, m));
    }
    Ok(out)
}
