//! `git-log`: a local repository's merge commits and their review trailers onto `changes`. `assure
//! evidence import` runs `git log` on a repository directory and records its output (this text, not
//! the repository) as the evidence.

use super::{Connector, Fixture, Kind, MAX_RECORDS, Record, Refusal, too_many_records};

/// A local git repository's merge history.
#[derive(Debug, Clone, Copy)]
pub struct GitLog;

impl Connector for GitLog {
    fn id(&self) -> &'static str {
        "git-log"
    }
    fn about(&self) -> &'static str {
        "a local git repository's merge history, with review trailers"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "changes" }
    }
    fn detect(&self, text: &str) -> bool {
        text.starts_with(GIT_LOG_HEADER)
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        let repo = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix(GIT_LOG_HEADER))
            .map_or("", str::trim)
            .to_string();
        git_records(text, if repo.is_empty() { "git" } else { &repo })
    }
    fn fixture(&self) -> Fixture {
        Fixture::new("api.gitlog", include_bytes!("../../fixtures/connectors/git-log.gitlog"))
    }
}

/// The first line of the text `assure evidence import` records from `git log`.
pub const GIT_LOG_HEADER: &str = "assure-git-log v1";

/// The `git log` arguments whose output the `git-log` connector reads: merge commits with author,
/// dates and the full message (for `Reviewed-by:` and similar trailers).
pub const GIT_LOG_ARGS: [&str; 3] = ["log", "--merges", "--format=%x1e%H%x1f%ae%x1f%aI%x1f%cI%x1f%s%x1f%b"];

fn git_records(text: &str, repo: &str) -> Result<Vec<(u64, Record)>, Refusal> {
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
            // A co-author wrote the change too, so their review is not independent; `Signed-off-by`
            // certifies origin, not review, and is not an approval.
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
