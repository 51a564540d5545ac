//! Shared reading of device-management exports onto `devices`: what the Jamf, Kandji and Intune
//! connectors have in common (finding the list in a response, naming platforms).

use serde_json::Value;

use super::Refusal;

/// The list of objects in an API response: the top-level array, or the array under one of `keys`
/// (`results` for Jamf, `value` for Microsoft Graph, ...).
pub(crate) fn listed<'a>(v: &'a Value, keys: &[&str], what: &'static str) -> Result<&'a [Value], Refusal> {
    if let Some(a) = v.as_array() {
        return Ok(a);
    }
    keys.iter()
        .find_map(|k| v.get(k).and_then(Value::as_array))
        .map(Vec::as_slice)
        .ok_or_else(|| {
            Refusal::new(
                format!("expected a JSON array of {what}, or an API response holding one"),
                "save the API's response as it comes (every page), or a JSON array of its items",
            )
        })
}

/// The canonical platform of an operating-system or platform name as device managers write it.
pub(crate) fn platform(name: Option<&str>) -> &'static str {
    let n = name.unwrap_or_default().to_ascii_lowercase();
    let n = n.trim();
    if n.starts_with("mac") || n == "os x" || n.starts_with("os x") {
        "macos"
    } else if n.starts_with("windows") || n == "desktop" {
        "windows"
    } else if n.starts_with("ipados") || n.starts_with("ipad") {
        "ipados"
    } else if n.starts_with("ios") || n.starts_with("iphone") || n.starts_with("ipod") {
        "ios"
    } else if n.starts_with("android") {
        "android"
    } else if n.starts_with("chrome") {
        "chromeos"
    } else if n.starts_with("linux") || n.starts_with("ubuntu") || n.starts_with("unix") {
        "linux"
    } else {
        "other"
    }
}

/// A JSON boolean (or `"true"`/`"false"` text) as `true`/`false`, or nothing.
pub(crate) fn flag(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Bool(b) => Some(b.to_string()),
        Value::String(t) if t.eq_ignore_ascii_case("true") => Some("true".into()),
        Value::String(t) if t.eq_ignore_ascii_case("false") => Some("false".into()),
        _ => None,
    }
}

/// An email, trimmed and lower-cased, or nothing when the value is empty or not an address.
pub(crate) fn email(v: Option<String>) -> Option<String> {
    v.map(|e| e.trim().to_ascii_lowercase()).filter(|e| e.contains('@'))
}
