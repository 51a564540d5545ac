//! `trivy-json`: Trivy JSON reports (`SchemaVersion` 2) onto `vulnerabilities`: one row per finding,
//! with the artifact, package, severity and the report's `CreatedAt` as the time it was found.

use serde_json::Value;

use super::{Connector, Fixture, Kind, MAX_RECORDS, Record, Refusal, has, json, numbered, s, too_many_records};

/// Trivy JSON reports.
#[derive(Debug, Clone, Copy)]
pub struct Trivy;

impl Connector for Trivy {
    fn id(&self) -> &'static str {
        "trivy-json"
    }
    fn about(&self) -> &'static str {
        "Trivy JSON reports"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor {
            table: "vulnerabilities",
        }
    }
    fn detect(&self, text: &str) -> bool {
        has(text, "SchemaVersion") && has(text, "ArtifactName")
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        numbered(trivy_records(&json(text)?)?.into_iter())
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "trivy.json",
            include_bytes!("../../fixtures/connectors/trivy-json.json"),
        )
    }
}

fn trivy_records(report: &Value) -> Result<Vec<Record>, Refusal> {
    let artifact = s(report, &["ArtifactName"]).unwrap_or_default();
    let created = s(report, &["CreatedAt"]);
    let mut out = Vec::new();
    for result in report.get("Results").and_then(Value::as_array).into_iter().flatten() {
        for v in result
            .get("Vulnerabilities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let id = s(v, &["VulnerabilityID"]).unwrap_or_default();
            let pkg = s(v, &["PkgName"]).unwrap_or_default();
            let sev = s(v, &["Severity"]).map(|x| match x.to_ascii_lowercase().as_str() {
                "unknown" => "info".to_string(),
                other => other.to_string(),
            });
            let mut m = Record::new();
            m.insert("finding_id", Some(format!("{artifact}:{id}:{pkg}")));
            m.insert("asset_id", (!artifact.is_empty()).then(|| artifact.clone()));
            m.insert("source", Some("trivy".into()));
            m.insert("cve", (!id.is_empty()).then_some(id));
            m.insert("severity", sev);
            m.insert("detected_at", created.clone());
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
