//! `github-pulls`: GitHub pull requests as the REST API lists them (a JSON array), each with its
//! `reviews`, onto `changes`. Only merged pull requests are changes; an `emergency` label marks one.

use serde_json::Value;

use super::{Connector, Fixture, Kind, Record, Refusal, has, json, numbered, s};

/// GitHub pull requests with their reviews.
#[derive(Debug, Clone, Copy)]
pub struct GithubPulls;

impl Connector for GithubPulls {
    fn id(&self) -> &'static str {
        "github-pulls"
    }
    fn about(&self) -> &'static str {
        "GitHub pull requests with their reviews (REST API JSON)"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "changes" }
    }
    fn detect(&self, text: &str) -> bool {
        has(text, "merged_at") && has(text, "user") && (has(text, "number") || has(text, "html_url"))
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        match json(text)?.as_array() {
            Some(prs) => numbered(
                prs.iter()
                    .filter(|pr| s(pr, &["merged_at"]).is_some())
                    .map(github_record),
            ),
            None => Err(Refusal::new(
                "expected a JSON array of pull requests",
                "export with `gh api repos/OWNER/REPO/pulls?state=closed` and add each pull request's `reviews`",
            )),
        }
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "pulls.json",
            include_bytes!("../../fixtures/connectors/github-pulls.json"),
        )
    }
}

fn github_record(pr: &Value) -> Record {
    let merged = s(pr, &["merged_at"]);
    let labels: Vec<String> = pr
        .get("labels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| s(l, &["name"]))
        .collect();
    let emergency = labels.iter().any(|l| l.eq_ignore_ascii_case("emergency"));
    let author = s(pr, &["user", "login"]);
    let mut approvers: Vec<String> = Vec::new();
    let mut approved_at: Option<String> = None;
    for r in pr.get("reviews").and_then(Value::as_array).into_iter().flatten() {
        if s(r, &["state"]).as_deref() != Some("APPROVED") {
            continue;
        }
        let at = s(r, &["submitted_at"]);
        // Only approvals given before the merge count, except for an emergency change, whose
        // approval comes afterwards by design (the emergency-change test checks how long after).
        if let (Some(a), Some(m)) = (&at, &merged)
            && a > m
            && !emergency
        {
            continue;
        }
        if let Some(login) = s(r, &["user", "login"]) {
            approvers.push(format!("github:{login}"));
        }
        if at > approved_at {
            approved_at = at;
        }
    }
    approvers.sort();
    approvers.dedup();
    let mut m = Record::new();
    m.insert("change_id", s(pr, &["number"]));
    m.insert(
        "system",
        s(pr, &["base", "repo", "full_name"]).or_else(|| s(pr, &["head", "repo", "full_name"])),
    );
    m.insert("title", s(pr, &["title"]));
    m.insert("author_email", author.map(|a| format!("github:{a}")));
    m.insert("approver_emails", Some(approvers.join(";")).filter(|x| !x.is_empty()));
    m.insert("created_at", s(pr, &["created_at"]));
    m.insert("approved_at", approved_at);
    m.insert("merged_at", merged);
    m.insert("deployed_at", None);
    m.insert("tests_passed", None);
    m.insert("emergency", Some(emergency.to_string()));
    m.insert("ticket_id", None);
    m
}
