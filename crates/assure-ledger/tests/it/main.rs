//! The ledger's one integration-test binary: verification catches every kind of tampering.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

use assure_ledger::{
    Action, BlobCheck, BlobRef, ColumnMapping, Draft, Tip, parse, parse_public_key, public_key_hex, seal, seal_as,
    tip_of, verify,
};
use ed25519_dalek::SigningKey;

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn draft(i: u32) -> Draft {
    Draft {
        action: Action::Import,
        at: format!("2026-11-22T10:00:0{i}Z"),
        by: "marcus@northwind.example".into(),
        blob: Some(BlobRef {
            blake3: format!("{i:064}"),
            sha256: format!("{:064}", i + 100),
            size: 100 + u64::from(i),
            name: format!("file{i}.csv"),
        }),
        connector: Some("canonical-csv".into()),
        table: Some("people".into()),
        rows: Some(10),
        period_start: Some("2026-01-01".into()),
        period_end: Some("2026-12-31".into()),
        controls: vec!["AC-06".into()],
        note: None,
        batch: Some("b1".into()),
        mapping: None,
        columnar: None,
        commit: None,
    }
}

fn ledger(n: u32) -> String {
    let (_, text) = seal(&Tip::default(), (1..=n).map(draft).collect(), &key(7));
    text
}

fn run(text: &str, altered: Option<&str>) -> String {
    let pk = key(7).verifying_key();
    let mut check = |b: &BlobRef| match altered {
        Some(name) if b.name == name => BlobCheck::Altered {
            blake3: "ff".repeat(32),
            sha256: "ee".repeat(32),
            size: b.size,
        },
        _ => BlobCheck::Intact,
    };
    let report = verify(text, &pk, &mut check);
    let mut out = format!("{} entries, {} blobs\n", report.entries, report.blobs);
    for f in &report.findings {
        out.push_str(&format!("{f}\n"));
    }
    out
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

fn join(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn an_intact_ledger_verifies() {
    assert_eq!(run(&ledger(4), None), "4 entries, 4 blobs\n");
}

#[test]
fn appending_continues_the_chain() {
    let (first, text1) = seal(&Tip::default(), vec![draft(1), draft(2)], &key(7));
    let tip = tip_of(text1.lines().last()).unwrap();
    assert_eq!(tip.seq, 2);
    assert_eq!(tip.hash, first[1].hash);
    let (_, text2) = seal(&tip, vec![draft(3)], &key(7));
    assert_eq!(run(&format!("{text1}{text2}"), None), "3 entries, 3 blobs\n");
}

#[test]
fn a_flipped_byte_in_a_blob_is_caught() {
    insta::assert_snapshot!(run(&ledger(3), Some("file2.csv")));
}

#[test]
fn an_edited_entry_is_caught() {
    let mut l = lines(&ledger(3));
    l[1] = l[1].replace("\"rows\":10", "\"rows\":11");
    insta::assert_snapshot!(run(&join(&l), None));
}

#[test]
fn an_edited_entry_with_a_recomputed_hash_still_fails_its_signature() {
    // An attacker without the private key re-seals entry 2 with their own key.
    let good = ledger(3);
    let tip = tip_of(good.lines().next()).unwrap();
    let mut d = draft(2);
    d.table = Some("accounts".into());
    let (_, forged) = seal(&tip, vec![d], &key(9));
    let mut l = lines(&good);
    l[1] = forged.trim_end().to_string();
    insta::assert_snapshot!(run(&join(&l), None));
}

#[test]
fn a_removed_entry_is_caught() {
    let mut l = lines(&ledger(4));
    l.remove(1);
    insta::assert_snapshot!(run(&join(&l), None));
}

#[test]
fn reordered_entries_are_caught() {
    let mut l = lines(&ledger(4));
    l.swap(1, 2);
    insta::assert_snapshot!(run(&join(&l), None));
}

#[test]
fn a_forged_signature_is_caught() {
    let mut l = lines(&ledger(2));
    let sig_at = l[1].find("\"sig\":\"").unwrap() + 7;
    let replacement = if &l[1][sig_at..sig_at + 1] == "0" { "1" } else { "0" };
    l[1].replace_range(sig_at..sig_at + 1, replacement);
    insta::assert_snapshot!(run(&join(&l), None));
}

#[test]
fn a_ledger_signed_with_another_key_fails_everywhere() {
    let (_, text) = seal(&Tip::default(), vec![draft(1), draft(2)], &key(3));
    let out = run(&text, None);
    assert_eq!(out.matches(": signature:").count(), 2, "{out}");
}

#[test]
fn an_added_field_a_torn_tail_and_garbage_are_caught() {
    let mut l = lines(&ledger(2));
    l[0] = l[0].replacen('{', "{\"extra\":1,", 1);
    let mut text = join(&l);
    text.push_str("not json\n");
    text.push_str("{\"format\":1,\"seq\":4");
    insta::assert_snapshot!(run(&text, None));
}

#[test]
fn keys_round_trip_through_hex() {
    let k = key(5);
    let pk = parse_public_key(&public_key_hex(&k)).unwrap();
    assert_eq!(pk, k.verifying_key());
    assert!(parse_public_key("abc").is_err());
    assert_eq!(
        assure_ledger::parse_signing_key(&hex::encode([5u8; 32]))
            .unwrap()
            .to_bytes(),
        k.to_bytes()
    );
}

#[test]
fn the_hasher_matches_known_digests() {
    let mut h = assure_ledger::Hasher::default();
    h.update(b"ab");
    h.update(b"c");
    let (b3, sha, size) = h.finish();
    assert_eq!(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(b3, blake3::hash(b"abc").to_hex().to_string());
    assert_eq!(size, 3);
}

#[test]
fn parse_names_every_line_that_is_not_an_entry() {
    let text = ledger(3);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(1, "{\"format\": 1, \"seq\": \"two\"}");
    lines.push("{\"format\":9,\"seq\":5}");
    let broken = lines.join("\n") + "\n" + "{\"format\":2,\"seq";
    let parsed = parse(&broken);
    assert_eq!(parsed.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    let found: Vec<String> = parsed.problems.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!(found.join("\n"), @r#"
    line 2: malformed: not a ledger entry (invalid type: string "two", expected u64 at line 1 column 26)
    line 5: malformed: not a ledger entry (missing field `prev` at line 1 column 20)
    line 6: truncated: the last line is incomplete (an interrupted write); it was never acknowledged
    "#);
    assert!(parse(&text).ok());
}

#[test]
fn verify_fails_on_a_line_that_is_not_an_entry_and_names_it() {
    let text = ledger(3);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(2, "not json at all");
    let broken = lines.join("\n") + "\n";
    let out = run(&broken, None);
    assert!(out.contains("line 3: malformed: not a ledger entry"), "{out}");
    assert!(!verify(&broken, &key(7).verifying_key(), &mut |_| BlobCheck::Intact).ok());
}

#[test]
fn a_format_2_mapping_is_typed_and_format_1_entries_still_verify() {
    // A version 1 ledger, as Assure wrote it before format 2, still reads and verifies, and new
    // format 2 entries chain onto it.
    let (v1_entries, v1) = seal_as(1, &Tip::default(), vec![draft(1), draft(2)], &key(7));
    assert!(v1.starts_with("{\"format\":1,"), "{v1}");
    assert_eq!(run(&v1, None), "2 entries, 2 blobs\n");
    let tip = Tip {
        seq: 2,
        hash: v1_entries[1].hash.clone(),
    };
    let (_, more) = seal(&tip, vec![draft(3)], &key(7));
    assert_eq!(run(&format!("{v1}{more}"), None), "3 entries, 3 blobs\n");
    assert!(parse(&format!("{v1}{more}")).ok());
    let mut mapped = draft(3);
    mapped.mapping = Some(ColumnMapping {
        table: Some("people".into()),
        columns: [("person_id".to_string(), "Employee ID".to_string())]
            .into_iter()
            .collect(),
        ..ColumnMapping::default()
    });
    mapped.note = Some("column mapping: not this".into());
    let (entries, text) = seal(&Tip::default(), vec![draft(1), mapped], &key(7));
    assert_eq!(entries[1].format, 2);
    assert!(text.contains("\"mapping\":{\"table\":\"people\""), "{text}");
    // An entry without a mapping writes no `mapping` field, so its bytes are those of format 1 but for the version.
    assert!(!text.lines().next().unwrap().contains("mapping"));
    let parsed = parse(&text);
    assert!(parsed.ok());
    assert_eq!(
        parsed.entries[1].draft.mapping.as_ref().unwrap().columns["person_id"],
        "Employee ID"
    );
    assert_eq!(run(&text, None), "2 entries, 2 blobs\n");
}

#[test]
fn actions_are_typed_and_an_unknown_action_is_a_problem() {
    let text = ledger(1).replace("\"action\":\"import\"", "\"action\":\"teleport\"");
    let parsed = parse(&text);
    assert!(parsed.entries.is_empty());
    assert!(
        parsed.problems[0].message.contains("unknown variant `teleport`"),
        "{:?}",
        parsed.problems
    );
    let (entries, _) = seal(
        &Tip::default(),
        vec![Draft::new(Action::TestRun, "2026-01-01T00:00:00Z", "x")],
        &key(7),
    );
    assert_eq!(entries[0].draft.action.as_str(), "test-run");
    assert!(!Action::Sample.is_evidence() && Action::Add.is_evidence());
}

#[test]
fn a_batch_counts_only_once_its_closing_entry_is_written() {
    let (first, committed) = seal(&Tip::default(), vec![draft(1), draft(2)], &key(7));
    assert_eq!(first[1].draft.commit, Some(2), "the last entry closes the batch");
    assert_eq!(first[0].draft.commit, None);
    let tip = Tip {
        seq: 2,
        hash: first[1].hash.clone(),
    };
    let (_, batch) = seal(&tip, (3..=7).map(draft).collect(), &key(7));
    // A crash after three of the five lines of the second batch reached the disk.
    let partial: String = batch.lines().take(3).map(|l| format!("{l}\n")).collect();
    let text = format!("{committed}{partial}");
    let parsed = parse(&text);
    assert_eq!(parsed.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
    insta::assert_snapshot!(parsed.problem_lines().join("\n"), @"ledger entry 3 (line 5): uncommitted: entries 3 to 5 are a batch whose last entry was never written (an interrupted write); they are not part of the ledger and the next recording removes them");
    let report = verify(&text, &key(7).verifying_key(), &mut |_| BlobCheck::Intact);
    assert_eq!(report.entries, 2);
    assert_eq!(report.head.as_deref(), Some(first[1].hash.as_str()));
    assert_eq!(
        report.findings.iter().map(|f| f.code).collect::<Vec<_>>(),
        ["uncommitted"]
    );
    // The whole batch on disk is whole.
    assert!(parse(&format!("{committed}{batch}")).ok());
    assert_eq!(run(&format!("{committed}{batch}"), None), "7 entries, 7 blobs\n");
}
