//! `sarif`: SARIF 2.1.0 results from code scanners onto `vulnerabilities`; severity from the rule's
//! `security-severity` score, else the result's level.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Connector, Fixture, Kind, MAX_RECORDS, Record, Refusal, has, json, numbered, s, too_many_records};

/// SARIF 2.1.0 scanner results.
#[derive(Debug, Clone, Copy)]
pub struct Sarif;

impl Connector for Sarif {
    fn id(&self) -> &'static str {
        "sarif"
    }
    fn about(&self) -> &'static str {
        "SARIF 2.1.0 scanner results"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor {
            table: "vulnerabilities",
        }
    }
    fn detect(&self, text: &str) -> bool {
        (has(text, "$schema") && text.contains("sarif"))
            || (has(text, "runs") && has(text, "tool") && has(text, "results"))
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        numbered(sarif_records(&json(text)?)?.into_iter())
    }
    fn fixture(&self) -> Fixture {
        Fixture::new("scan.sarif", include_bytes!("../../fixtures/connectors/sarif.sarif"))
    }
}

fn sarif_severity(score: Option<f64>, level: Option<&str>) -> &'static str {
    match (score, level) {
        (Some(s), _) if s >= 9.0 => "critical",
        (Some(s), _) if s >= 7.0 => "high",
        (Some(s), _) if s >= 4.0 => "medium",
        (Some(s), _) if s > 0.0 => "low",
        (_, Some("error")) => "high",
        (_, Some("warning")) => "medium",
        (_, Some("note")) => "low",
        _ => "info",
    }
}

fn sarif_records(doc: &Value) -> Result<Vec<Record>, Refusal> {
    let mut out = Vec::new();
    for run in doc.get("runs").and_then(Value::as_array).into_iter().flatten() {
        let tool = s(run, &["tool", "driver", "name"])
            .unwrap_or_else(|| "sarif".into())
            .to_lowercase();
        let when = run
            .get("invocations")
            .and_then(|i| i.get(0))
            .and_then(|i| s(i, &["endTimeUtc"]).or_else(|| s(i, &["startTimeUtc"])));
        let rules: BTreeMap<String, &Value> = run
            .get("tool")
            .and_then(|t| t.get("driver"))
            .and_then(|d| d.get("rules"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| Some((s(r, &["id"])?, r)))
            .collect();
        for r in run.get("results").and_then(Value::as_array).into_iter().flatten() {
            let rule = s(r, &["ruleId"]).unwrap_or_default();
            let loc = r
                .get("locations")
                .and_then(|l| l.get(0))
                .and_then(|l| l.get("physicalLocation"));
            let uri = loc.and_then(|l| s(l, &["artifactLocation", "uri"])).unwrap_or_default();
            let line = loc.and_then(|l| s(l, &["region", "startLine"])).unwrap_or_default();
            // GitHub code scanning's `security-severity` (CVSS-like) when the rule has one, else the level.
            let score = rules
                .get(&rule)
                .and_then(|x| s(x, &["properties", "security-severity"]))
                .and_then(|x| x.parse::<f64>().ok());
            let level =
                s(r, &["level"]).or_else(|| rules.get(&rule).and_then(|x| s(x, &["defaultConfiguration", "level"])));
            let mut m = Record::new();
            m.insert("finding_id", Some(format!("{tool}:{rule}:{uri}:{line}")));
            m.insert("asset_id", (!uri.is_empty()).then(|| uri.clone()));
            m.insert("source", Some(tool.clone()));
            m.insert("cve", Some(rule.clone()).filter(|x| x.starts_with("CVE-")));
            m.insert("severity", Some(sarif_severity(score, level.as_deref()).to_string()));
            m.insert("detected_at", when.clone());
            m.insert("remediated_at", None);
            m.insert("status", Some("open".into()));
            if out.len() >= MAX_RECORDS {
                return Err(too_many_records());
            }
            out.push(m);
        }
    }
    Ok(out)
}
