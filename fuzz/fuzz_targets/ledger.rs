//! The ledger reader, its verification and a head statement on arbitrary text: `parse` must read
//! any text into entries and problems, `verify` must report (never panic), and a head statement
//! that is not JSON of the right shape is refused.
#![no_main]

use assure_ledger::{BlobCheck, Head, check_head, parse, parse_public_key, parse_signing_key, public_key_hex, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse(text);
    // A ledger with a line in it never reads as nothing without saying why.
    if text.lines().any(|l| !l.trim().is_empty()) {
        assert!(
            !parsed.entries.is_empty() || !parsed.problems.is_empty(),
            "a non-empty ledger read as no entries and no problems"
        );
    }
    let key = parse_signing_key(&"07".repeat(32)).expect("a fixed key");
    let public = parse_public_key(&public_key_hex(&key)).expect("its public half");
    let report = verify(text, &public, &mut |_| BlobCheck::Intact);
    let _ = report.ok();
    // The same text as a head statement (the tail after the first line, when there is one).
    let statement = text.split_once('\n').map_or(text, |(_, rest)| rest);
    if let Ok(head) = serde_json::from_str::<Head>(statement) {
        let _ = check_head(&head, &public, &parsed);
    }
});
