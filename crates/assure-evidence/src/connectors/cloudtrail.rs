//! `cloudtrail`: AWS CloudTrail log files (`{"Records": [...]}`, gzipped or not, as CloudTrail writes
//! them to S3) onto `events`, with the field names AWS documents (`eventName`, `userIdentity`,
//! `additionalEventData.MFAUsed`, `errorCode`, ...). Root sign-ins are `actor = root`.

use serde_json::Value;

use super::{Connector, Fixture, Kind, Record, Refusal, has, json, numbered, s, snake};

/// AWS CloudTrail log files.
#[derive(Debug, Clone, Copy)]
pub struct CloudTrail;

impl Connector for CloudTrail {
    fn id(&self) -> &'static str {
        "cloudtrail"
    }
    fn about(&self) -> &'static str {
        "AWS CloudTrail log files (JSON, gzipped or not)"
    }
    fn kind(&self) -> Kind {
        Kind::Vendor { table: "events" }
    }
    fn detect(&self, text: &str) -> bool {
        has(text, "Records") && (has(text, "eventVersion") || has(text, "eventSource"))
    }
    fn records(&self, text: &str) -> Result<Vec<(u64, Record)>, Refusal> {
        let value = json(text)?;
        match value.get("Records").and_then(Value::as_array) {
            Some(rs) => numbered(rs.iter().map(cloudtrail_record)),
            None => Err(Refusal::new(
                "a CloudTrail log file holds a `Records` array; this one does not",
                "check that it is a CloudTrail log file",
            )),
        }
    }
    fn fixture(&self) -> Fixture {
        Fixture::new(
            "cloudtrail.json",
            include_bytes!("../../fixtures/connectors/cloudtrail.json"),
        )
    }
}

fn cloudtrail_action(name: &str) -> String {
    match name {
        "ConsoleLogin" => "console_login".into(),
        "StopLogging" => "stop_logging".into(),
        "DeleteTrail" => "delete_trail".into(),
        "UpdateTrail" => "update_trail".into(),
        "PutEventSelectors" => "update_trail".into(),
        "CreateAccessKey" => "create_access_key".into(),
        other => snake(other),
    }
}

fn cloudtrail_record(r: &Value) -> Record {
    let name = s(r, &["eventName"]).unwrap_or_default();
    let identity_type = s(r, &["userIdentity", "type"]).unwrap_or_default();
    let actor = if identity_type == "Root" {
        Some("root".to_string())
    } else {
        s(r, &["userIdentity", "userName"])
            .or_else(|| s(r, &["userIdentity", "sessionContext", "sessionIssuer", "userName"]))
            .or_else(|| s(r, &["userIdentity", "arn"]))
    };
    let failed = s(r, &["errorCode"]).is_some()
        || s(r, &["responseElements", "ConsoleLogin"]).is_some_and(|x| x.eq_ignore_ascii_case("failure"));
    let mfa = s(r, &["additionalEventData", "MFAUsed"]).map(|m| (m == "Yes").to_string());
    let target = s(r, &["requestParameters", "name"])
        .or_else(|| r.get("resources").and_then(|x| x.get(0)).and_then(|x| s(x, &["ARN"])));
    let mut m = Record::new();
    m.insert("event_id", s(r, &["eventID"]));
    m.insert("occurred_at", s(r, &["eventTime"]));
    m.insert("source", Some("cloudtrail".into()));
    m.insert("actor", actor);
    m.insert("action", Some(cloudtrail_action(&name)));
    m.insert("raw_action", (!name.is_empty()).then_some(name));
    m.insert("target", target);
    m.insert("outcome", Some(if failed { "failure" } else { "success" }.into()));
    m.insert("mfa", mfa);
    m.insert("source_ip", s(r, &["sourceIPAddress"]));
    m
}
