//! `cloudtrail`: AWS CloudTrail log files (`{"Records": [...]}`, gzipped or not, as CloudTrail writes
//! them to S3) onto `events`, with the field names AWS documents (`eventName`, `userIdentity`,
//! `additionalEventData.MFAUsed`, `errorCode`, ...). Root sign-ins are `actor = root`.

use serde_json::Value;

use super::{Connector, Fixture, Kind, MAX_RECORDS, Record, Refusal, has, s, snake, too_many_records};

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
        // Checked for size first, then read a record at a time: the records are turned into rows as
        // they are parsed, so the file's JSON tree is never held whole.
        if crate::read::json_values_at_most(text.as_bytes(), crate::read::MAX_JSON_VALUES).is_err() {
            return Err(Refusal::new(
                crate::read::too_many_json_values(),
                "split the export into smaller files (by date, for example) and import them together",
            ));
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let read = serde::Deserializer::deserialize_map(&mut de, LogFile).and_then(|r| de.end().map(|()| r));
        match read {
            Ok(Some(Ok(records))) => Ok(records),
            Ok(Some(Err(refusal))) => Err(refusal),
            Ok(None) => Err(Refusal::new(
                "a CloudTrail log file holds a `Records` array; this one does not",
                "check that it is a CloudTrail log file",
            )),
            Err(e) => Err(Refusal::new(
                format!("not valid JSON: {e}"),
                "export the file again; it may be truncated",
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

/// The top level of a log file: `Records` is read by [`RecordsSeq`]; anything else is skipped.
struct LogFile;

type Read = Option<Result<Vec<(u64, Record)>, Refusal>>;

impl<'de> serde::de::Visitor<'de> for LogFile {
    type Value = Read;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a CloudTrail log file (`{\"Records\": [...]}`)")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Read, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "Records" && found.is_none() {
                found = Some(map.next_value_seed(RecordsSeq)?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The `Records` array, a record at a time.
struct RecordsSeq;

impl<'de> serde::de::DeserializeSeed<'de> for RecordsSeq {
    type Value = Result<Vec<(u64, Record)>, Refusal>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for RecordsSeq {
    type Value = Result<Vec<(u64, Record)>, Refusal>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of CloudTrail records")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(r) = seq.next_element::<Value>()? {
            if out.len() >= MAX_RECORDS {
                // The rest is skipped without being built, so the array still parses to its end.
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                return Ok(Err(too_many_records()));
            }
            out.push((out.len() as u64 + 1, cloudtrail_record(&r)));
        }
        Ok(Ok(out))
    }
}
