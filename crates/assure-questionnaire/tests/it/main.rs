//! The questionnaire crate's behaviour: reading what customers send, finding the questions,
//! answering them by the grounding rules, and writing back only the answer cells.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly on purpose"
)]

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write as _};
use std::path::Path;

use assure_questionnaire::answer::{
    ControlFact, ControlState, EvidenceFact, PeriodFact, PolicyFact, ScopeFact, SubserviceFact, TestFact, answer_all,
};
use assure_questionnaire::detect::{Mapping, detect};
use assure_questionnaire::export::{self, Write};
use assure_questionnaire::{
    Answer, Format, Knowledge, Library, LibraryEntry, Proposal, Questionnaire, read, vsaq, xlsx,
};
use chrono::NaiveDate;
use zip::write::SimpleFileOptions;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

fn files_under(dir: &Path, base: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, base, out);
        } else {
            out.push(p.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/"));
        }
    }
}

/// Zips a directory of parts, `[Content_Types].xml` first, the rest in name order.
fn zip_dir(dir: &Path) -> Vec<u8> {
    let mut names = Vec::new();
    files_under(dir, dir, &mut names);
    names.sort_by_key(|n| (n != "[Content_Types].xml", n.clone()));
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for n in names {
        w.start_file(
            n.as_str(),
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
        w.write_all(&std::fs::read(dir.join(&n)).unwrap()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn hard() -> Vec<u8> {
    zip_dir(&fixtures().join("hard-xlsx"))
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn control(
    id: &str,
    title: &str,
    description: &str,
    criteria: &[&str],
    state: ControlState,
    tests: Vec<TestFact>,
) -> ControlFact {
    ControlFact {
        id: id.into(),
        title: title.into(),
        description: description.into(),
        criteria: criteria.iter().map(|s| s.to_string()).collect(),
        policies: vec![],
        vendors: vec![],
        state,
        tests,
        evidence: vec![EvidenceFact {
            seq: 7,
            blake3: "ab".repeat(32),
            file: "okta-users.csv".into(),
        }],
    }
}

fn test_fact(id: &str, population: u64, exceptions: u64) -> TestFact {
    TestFact {
        id: id.into(),
        run: 42,
        window: "2026-01-01 to 2026-06-30".into(),
        population,
        exceptions,
    }
}

/// A company: MFA enforced and tested clean, access reviews with an exception, changes peer
/// reviewed and tested clean, a current access policy, a SOC 2 Type 2, hosted at AWS.
fn knowledge() -> Knowledge {
    Knowledge {
        organization: "Northwind".into(),
        as_of: date("2026-06-30"),
        period: Some(PeriodFact {
            name: "2026".into(),
            start: date("2026-01-01"),
            end: date("2026-12-31"),
        }),
        controls: vec![
            control(
                "AC-01",
                "Multi-factor authentication",
                "Every user account authenticates with multi-factor authentication through the identity provider. Exceptions are not allowed.",
                &["CC6.1"],
                ControlState::Passing,
                vec![test_fact("mfa-all-human-accounts", 412, 0)],
            ),
            control(
                "AC-07",
                "Quarterly user access reviews",
                "Managers review user access rights to production systems every quarter and revoke what is not needed.",
                &["CC6.2", "CC6.3"],
                ControlState::Exceptions { count: 1 },
                vec![test_fact("access-reviews-quarterly", 4, 1)],
            ),
            control(
                "CHG-01",
                "Peer-reviewed changes",
                "Every change to production is peer reviewed and approved in a pull request before it is deployed.",
                &["CC8.1"],
                ControlState::Passing,
                vec![test_fact("changes-peer-approved", 1893, 0)],
            ),
        ],
        policies: vec![PolicyFact {
            id: "access-control".into(),
            title: "Access control policy".into(),
            version: Some("2.1".into()),
            approved_on: Some(date("2026-01-15")),
            current: true,
            criteria: vec!["CC6.1".into(), "CC6.2".into()],
            summary: "Access to systems is granted on least privilege and removed promptly when no longer needed."
                .into(),
        }],
        scope: ScopeFact {
            reports: vec!["SOC 2 Type 2".into()],
            systems: vec!["Northwind Cloud".into()],
            subservice: vec![SubserviceFact {
                name: "Amazon Web Services".into(),
                services: "hosting".into(),
                method: "carveout".into(),
                report: Some("SOC 2 Type 2".into()),
            }],
        },
    }
}

fn library_entry(question: &str, answer: &str, approved: Option<&str>, expires: Option<&str>) -> LibraryEntry {
    LibraryEntry {
        id: assure_questionnaire::library::entry_id(question),
        question_id: None,
        question: question.into(),
        answer: answer.into(),
        text: "We do not handle health data.".into(),
        ownership: None,
        owner: Some("ciso@northwind.example".into()),
        approved_on: approved.map(date),
        expires_on: expires.map(date),
        source: "earlier.xlsx, Q!C4".into(),
        controls: vec![],
    }
}

fn hard_questionnaire() -> Questionnaire {
    let bytes = hard();
    let (format, grids) = read("vendor.xlsx", &bytes).unwrap();
    detect("vendor.xlsx", format, &grids, None).unwrap()
}

fn answers(q: &Questionnaire, lib: &Library) -> BTreeMap<String, Proposal> {
    let out = answer_all(q, &knowledge(), lib).unwrap();
    q.questions.iter().map(|x| x.id.clone()).zip(out).collect()
}

fn no_phi_library() -> Library {
    Library {
        entries: vec![library_entry(
            "Do you store or process protected health information (PHI)?",
            "No",
            Some("2026-02-01"),
            Some("2027-02-01"),
        )],
    }
}

#[test]
fn reads_every_sheet_with_cached_formula_values_merges_and_validations() {
    let book = xlsx::read("vendor.xlsx", &hard()).unwrap();
    let sheets: Vec<(&str, bool)> = book.sheets.iter().map(|g| (g.name.as_str(), g.hidden)).collect();
    assert_eq!(
        sheets,
        [
            ("Questions", false),
            ("Lookup", true),
            ("Lists", true),
            ("Notes", false)
        ]
    );
    let q = &book.sheets[0];
    // A formula's cached value, a rich-text shared string without its phonetic run, entities.
    assert_eq!(
        q.own(5, 1),
        "Is multi-factor authentication required for all user accounts?"
    );
    assert!(q.cells[&(5, 1)].formula);
    assert_eq!(q.own(6, 1), "Are user access rights reviewed at least quarterly?");
    assert_eq!(q.own(1, 0), "Answer every question & explain any \"No\".");
    // Merged banner: every cell of A5:E5 shows its value.
    assert_eq!(q.value(4, 3), "Access control");
    // The x14 list points into the very hidden sheet; the ownership list goes through a name.
    let answer = q.validation(5, 2).unwrap();
    assert!(answer.ext);
    assert_eq!(answer.choices, ["1) Yes", "2) No", "3) N/A", "4) Partial"]);
    assert_eq!(
        q.validation(5, 3).unwrap().choices,
        ["CSP-owned", "CSC-owned", "Shared CSP and CSC", "3rd-party outsourced"]
    );
    // The whole-sheet list stays one rectangle of 17 billion cells.
    let notes = &book.sheets[3].validations[0];
    assert_eq!(notes.ranges[0].cells(), 17_179_869_184.0);
    assert_eq!(notes.choices, ["x", "y"]);
}

#[test]
fn finds_questions_sections_and_qualifiers() {
    let q = hard_questionnaire();
    let found: Vec<(String, Option<String>, String)> = q
        .questions
        .iter()
        .map(|x| {
            (
                x.id.clone(),
                x.section.clone(),
                x.answer_cell.as_ref().map(|c| c.a1()).unwrap_or_default(),
            )
        })
        .collect();
    insta::assert_debug_snapshot!("hard_questions", found);
    insta::assert_snapshot!("hard_mapping", q.mapping.to_toml());
    let sheets: Vec<(&str, usize, &str)> = q
        .sheets
        .iter()
        .map(|s| (s.name.as_str(), s.questions, s.found_by))
        .collect();
    assert_eq!(
        sheets,
        [
            ("Questions", 7, "header"),
            ("Lookup", 0, "none"),
            ("Lists", 0, "none"),
            ("Notes", 0, "none")
        ]
    );
    // Existing values are kept, for library import.
    assert_eq!(q.questions[2].existing_comment.as_deref(), Some("Kept as written"));
}

#[test]
fn a_saved_mapping_reads_the_same_questions_and_bad_mappings_say_where() {
    let bytes = hard();
    let (format, grids) = read("vendor.xlsx", &bytes).unwrap();
    let detected = detect("vendor.xlsx", format, &grids, None).unwrap();
    let mapping = Mapping::parse("vendor.map.toml", &detected.mapping.to_toml()).unwrap();
    let again = detect("vendor.xlsx", format, &grids, Some(&mapping)).unwrap();
    for (a, b) in again.questions.iter().zip(&detected.questions) {
        assert_eq!(a, b);
    }
    assert_eq!(again.questions.len(), detected.questions.len());

    let bad = Mapping::parse("m.toml", "[[sheet]]\nname = \"Questions\"\nquestion = \"2\"\n").unwrap_err();
    assert_eq!(
        bad.to_string(),
        "m.toml: sheet \"Questions\": question = \"2\" is not a column letter"
    );
    let unknown = Mapping::parse("m.toml", "[[sheet]]\nname = \"Questions\"\nquestoin = \"B\"\n").unwrap_err();
    assert!(unknown.place.starts_with("m.toml, line 3"), "{unknown:?}");
    let missing = detect(
        "vendor.xlsx",
        format,
        &grids,
        Some(&Mapping::parse("m.toml", "[[sheet]]\nname = \"Sheet1\"\nquestion = \"B\"\n").unwrap()),
    )
    .unwrap_err();
    assert_eq!(
        missing.what,
        "the mapping names sheet \"Sheet1\", which the file does not have"
    );
    assert_eq!(
        missing.hint,
        "the file's sheets are: \"Questions\", \"Lookup\", \"Lists\", \"Notes\""
    );
}

#[test]
fn answers_follow_the_grounding_order_and_abstain_when_nothing_grounds_them() {
    let q = hard_questionnaire();
    let a = answers(&q, &no_phi_library());
    let row = |id: &str| {
        let p = &a[id];
        (
            p.answer,
            p.value.clone(),
            p.owner.clone(),
            p.confidence.level,
            p.reason.clone(),
        )
    };
    // 1. The library answers the qualifier, in the sheet's numbered vocabulary.
    assert_eq!(row("QUAL-01"), (Answer::No, Some("2) No".into()), None, "medium", None));
    // 2. A control whose test passed over the whole population: yes, high, with its sources.
    assert_eq!(
        row("IAM-01"),
        (
            Answer::Yes,
            Some("1) Yes".into()),
            Some("CSP-owned".into()),
            "high",
            None
        )
    );
    let kinds: Vec<String> = a["IAM-01"]
        .sources
        .iter()
        .map(|s| serde_json::to_value(s).unwrap()["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["control", "test", "evidence"]);
    assert!(
        a["IAM-01"]
            .text
            .contains("mfa-all-human-accounts checked 412 items with no exceptions (run 42)"),
        "{}",
        a["IAM-01"].text
    );
    // 3. A control with an exception in the period turns the yes into needs review, saying why.
    assert_eq!(
        row("IAM-02"),
        (
            Answer::NeedsReview,
            None,
            None,
            "none",
            Some("control AC-07 has 1 exception(s) in 2026: access-reviews-quarterly (run 42)".into())
        )
    );
    assert_eq!(row("CHG-01").0, Answer::Yes);
    // 4. The qualifier switched the health section off.
    for id in ["HIPAA-01", "HIPAA-02"] {
        assert_eq!(a[id].answer, Answer::NotApplicable);
        assert_eq!(a[id].value.as_deref(), Some("3) N/A"));
        assert_eq!(a[id].text, "Not applicable: QUAL-01 was answered 2) No.");
    }
    // 5. The scope answers the audit question.
    assert_eq!(row("GEN-01").0, Answer::Yes);
    assert!(a["GEN-01"].text.contains("SOC 2 Type 2"));

    // Without the library, the qualifier has no grounding: it abstains and the section stays.
    let bare = answers(&q, &Library::default());
    assert_eq!(bare["QUAL-01"].answer, Answer::NeedsReview);
    assert_ne!(bare["HIPAA-01"].text, a["HIPAA-01"].text);
}

#[test]
fn expired_library_answers_are_not_used_and_say_so() {
    let q = hard_questionnaire();
    let lib = Library {
        entries: vec![library_entry(
            "Do you store or process protected health information (PHI)? If no, skip the Health data section.",
            "No",
            Some("2024-01-01"),
            Some("2025-01-01"),
        )],
    };
    let a = answers(&q, &lib);
    assert_eq!(a["QUAL-01"].answer, Answer::NeedsReview);
    assert!(
        a["QUAL-01"]
            .reason
            .as_deref()
            .unwrap()
            .contains("expired on 2025-01-01")
    );
}

#[test]
fn questions_about_past_events_abstain() {
    let csv = b"ID,Question,Response\nINC-1,Have you experienced a data breach in the past 24 months?,\n";
    let (format, grids) = read("q.csv", csv).unwrap();
    let q = detect("q.csv", format, &grids, None).unwrap();
    let a = answer_all(&q, &knowledge(), &Library::default()).unwrap();
    assert_eq!(a[0].answer, Answer::NeedsReview);
    assert_eq!(
        a[0].reason.as_deref(),
        Some("it asks about past events (incidents, breaches, claims): answer it from your records")
    );
}

/// The raw (compressed) bytes of every part.
fn raw_parts(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..z.len() {
        let mut f = z.by_index_raw(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).unwrap();
        out.insert(name, buf);
    }
    out
}

fn writes_for(q: &Questionnaire, a: &BTreeMap<String, Proposal>) -> Vec<Write> {
    let mut w = Vec::new();
    for x in &q.questions {
        let p = &a[&x.id];
        if let (Some(c), Some(v)) = (&x.answer_cell, &p.value) {
            w.push(Write {
                cell: c.clone(),
                value: v.clone(),
            });
        }
        if let (Some(c), Some(v)) = (&x.owner_cell, &p.owner) {
            w.push(Write {
                cell: c.clone(),
                value: v.clone(),
            });
        }
    }
    w
}

#[test]
fn export_changes_only_the_answer_cells() {
    let original = hard();
    let q = hard_questionnaire();
    let a = answers(&q, &no_phi_library());
    let writes = writes_for(&q, &a);
    let out = export::xlsx("vendor.xlsx", &original, &writes).unwrap();

    // Every part but the answered sheet, the workbook (recalculate on open) and the calculation
    // chain (an answer cell held a formula) is the original compressed bytes.
    let (before, after) = (raw_parts(&original), raw_parts(&out));
    let changed: Vec<&String> = before.keys().filter(|k| after.get(*k) != before.get(*k)).collect();
    assert_eq!(
        changed,
        [
            "[Content_Types].xml",
            "xl/_rels/workbook.xml.rels",
            "xl/calcChain.xml",
            "xl/workbook.xml",
            "xl/worksheets/sheet1.xml"
        ]
    );
    assert!(!after.contains_key("xl/calcChain.xml"));
    let parts = export::parts("out.xlsx", &out).unwrap();
    let wb = String::from_utf8(parts["xl/workbook.xml"].clone()).unwrap();
    assert!(wb.contains("<calcPr calcId=\"191029\" fullCalcOnLoad=\"1\"/>"), "{wb}");
    assert!(!String::from_utf8_lossy(&parts["[Content_Types].xml"]).contains("calcChain"));

    // Read back: every cell, merge and validation as before, except the answer cells.
    let (b1, b2) = (xlsx::read("a", &original).unwrap(), xlsx::read("b", &out).unwrap());
    let answered: BTreeMap<(u32, u32), String> = writes
        .iter()
        .map(|w| ((w.cell.row, w.cell.col), w.value.clone()))
        .collect();
    for (s1, s2) in b1.sheets.iter().zip(&b2.sheets) {
        assert_eq!(s1.merged, s2.merged);
        assert_eq!(s1.validations, s2.validations);
        if s1.name != "Questions" {
            assert_eq!(s1.cells, s2.cells);
            continue;
        }
        for (k, v) in &s2.cells {
            match answered.get(k) {
                Some(want) => assert_eq!(&v.value, want),
                None => assert_eq!(Some(v), s1.cells.get(k), "cell {k:?} changed"),
            }
        }
        for k in s1.cells.keys() {
            assert!(s2.cells.contains_key(k) || answered.contains_key(k), "cell {k:?} lost");
        }
    }
    // The written values are the cells' own list values; styles are kept.
    let sheet = String::from_utf8(parts["xl/worksheets/sheet1.xml"].clone()).unwrap();
    assert!(
        sheet.contains(r#"<c r="C6" s="1" t="inlineStr"><is><t xml:space="preserve">1) Yes</t></is></c>"#),
        "{sheet}"
    );
    assert!(sheet.contains(r#"<c r="D6" s="1" t="inlineStr"><is><t xml:space="preserve">CSP-owned</t></is></c>"#));
    // A row that had no answer cell gets one, in column order.
    assert!(sheet.contains(r#"<c r="B11" t="inlineStr"><is><t>Is protected health information encrypted at rest?</t></is></c><c r="C11" s="1" t="inlineStr">"#));
    // Everything outside the answer cells is the original text, byte for byte.
    let orig = std::fs::read_to_string(fixtures().join("hard-xlsx/xl/worksheets/sheet1.xml")).unwrap();
    let cut = |s: &str| s.split("<sheetData>").next().unwrap().to_string() + s.split("</sheetData>").nth(1).unwrap();
    assert_eq!(cut(&sheet), cut(&orig));
}

#[test]
fn compression_bombs_and_impostors_get_clear_errors() {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("[Content_Types].xml", SimpleFileOptions::default())
        .unwrap();
    w.write_all(b"<Types/>").unwrap();
    w.start_file(
        "xl/workbook.xml",
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated),
    )
    .unwrap();
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..24 {
        w.write_all(&zeros).unwrap();
    }
    let bomb = w.finish().unwrap().into_inner();
    assert!(bomb.len() < 200_000);
    let e = read("bomb.xlsx", &bomb).unwrap_err();
    assert!(e.what.contains("looks like a compression bomb"), "{e:?}");
    assert_eq!(e.hint, "do not open it anywhere; ask the sender for the original file");

    let e = read("q.xlsx", b"Question,Answer\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "q.xlsx: it is not a ZIP archive as a .xlsx file must be (it starts with \"Question\")"
    );
    let e = read("q.xlsx", &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]).unwrap_err();
    assert!(e.what.contains("OLE2 compound file"));
    let e = read("q.pdf", b"%PDF-1.7").unwrap_err();
    assert_eq!(
        e.hint,
        "questionnaires are read from .xlsx, .csv, .docx and VSAQ .json files"
    );
    let e = read("q.xlsx", b"PK\x03\x04garbage").unwrap_err();
    assert!(e.what.starts_with("the ZIP archive cannot be read"), "{e:?}");
}

#[test]
fn vsaq_templates_are_read_with_their_conditions() {
    let bytes = std::fs::read(fixtures().join("vsaq/webapp.json")).unwrap();
    let (format, grids) = read("webapp.json", &bytes).unwrap();
    assert_eq!(format, Format::Vsaq);
    let q = detect("webapp.json", format, &grids, None).unwrap();
    let radios = q.questions.iter().filter(|x| !x.choices.is_empty()).count();
    assert_eq!((q.questions.len(), radios), (73, 37));
    let cipher = q
        .questions
        .iter()
        .find(|x| x.id == "application_ssl_configuration_ciphers")
        .unwrap();
    assert_eq!(
        cipher.condition.as_deref(),
        Some("(application_ssl_mixed || application_ssl_exclusively)")
    );
    assert_eq!(
        cipher.choice_ids,
        [
            "application_ssl_configuration_ciphers_yes",
            "application_ssl_configuration_ciphers_no"
        ]
    );

    // A library answer picks the exact choice; the block it switches off is not asked.
    let lib = Library {
        entries: vec![library_entry(
            "Select the option that best describes your web application:",
            "The web application supports HTTP only, and can't be reached over HTTPS even if you edit the URL.",
            Some("2026-01-01"),
            None,
        )],
    };
    let a = answer_all(&q, &knowledge(), &lib).unwrap();
    let i = q
        .questions
        .iter()
        .position(|x| x.id == "application_ssl_configuration_ciphers")
        .unwrap();
    assert_eq!(a[i].answer, Answer::NotApplicable);
    assert!(a[i].text.starts_with("Not asked: its condition"));

    let infra = std::fs::read(fixtures().join("vsaq/infrastructure.json")).unwrap();
    let (format, grids) = read("infrastructure.json", &infra).unwrap();
    assert!(
        detect("infrastructure.json", format, &grids, None)
            .unwrap()
            .questions
            .len()
            > 80
    );
}

#[test]
fn vsaq_conditions_are_three_valued() {
    let chosen = |id: &str| match id {
        "a" => Some(true),
        "b" => Some(false),
        _ => None,
    };
    assert_eq!(vsaq::evaluate("a && !b", &chosen), Some(true));
    assert_eq!(vsaq::evaluate("b && c", &chosen), Some(false));
    assert_eq!(vsaq::evaluate("b || c", &chosen), None);
    assert_eq!(vsaq::evaluate("(b || a) && !(c && b)", &chosen), Some(true));
}

#[test]
fn numbered_and_worded_choices_are_classified() {
    for (s, want) in [
        ("1) Yes", Answer::Yes),
        ("2. No", Answer::No),
        ("a) N/A", Answer::NotApplicable),
        ("3 - Partially implemented", Answer::Partial),
        ("Yes, we have a published security contact.", Answer::Yes),
        ("No, we do not currently offer a way to report issues.", Answer::No),
        ("Not applicable", Answer::NotApplicable),
        ("Our application enforces these restrictions", Answer::Text),
        ("None of the above", Answer::NotApplicable),
        ("", Answer::NeedsReview),
    ] {
        assert_eq!(Answer::classify(s), want, "{s:?}");
    }
}

#[test]
fn csv_questionnaires_round_trip() {
    let csv = "ID;Question;Response;Notes\nAC-1;Is multi-factor authentication enforced for every user account?;;\nCM-1;Are production changes peer reviewed and approved before deployment?;;\n";
    let (format, grids) = read("q.csv", csv.as_bytes()).unwrap();
    let q = detect("q.csv", format, &grids, None).unwrap();
    let a = answer_all(&q, &knowledge(), &Library::default()).unwrap();
    let map: BTreeMap<String, Proposal> = q.questions.iter().map(|x| x.id.clone()).zip(a).collect();
    let out = export::csv("q.csv", csv.as_bytes(), &writes_for(&q, &map)).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "ID;Question;Response;Notes\nAC-1;Is multi-factor authentication enforced for every user account?;Yes;\nCM-1;Are production changes peer reviewed and approved before deployment?;Yes;\n"
    );
}

fn docx_bytes() -> Vec<u8> {
    let cell = |t: &str| {
        format!(
            "<w:tc><w:tcPr><w:tcW w:w=\"3000\" w:type=\"dxa\"/></w:tcPr><w:p><w:r><w:t>{t}</w:t></w:r></w:p></w:tc>"
        )
    };
    let empty = "<w:tc><w:tcPr><w:tcW w:w=\"3000\" w:type=\"dxa\"/></w:tcPr><w:p/></w:tc>";
    let empty_p = "<w:tc><w:p><w:pPr><w:jc w:val=\"left\"/></w:pPr></w:p></w:tc>";
    let doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>Security review</w:t></w:r></w:p><w:tbl><w:tr>{}{}{}</w:tr><w:tr>{}{}{}</w:tr><w:tr>{}{}{}</w:tr></w:tbl><w:sectPr/></w:body></w:document>",
        cell("No."),
        cell("Question"),
        cell("Answer"),
        cell("1"),
        cell("Is multi-factor authentication enforced for every user account?"),
        empty,
        cell("2"),
        cell("Are production changes peer reviewed &amp; approved before deployment?"),
        empty_p,
    );
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("[Content_Types].xml", SimpleFileOptions::default())
        .unwrap();
    w.write_all(b"<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"xml\" ContentType=\"application/xml\"/><Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>").unwrap();
    w.start_file("word/document.xml", SimpleFileOptions::default()).unwrap();
    w.write_all(doc.as_bytes()).unwrap();
    w.start_file("word/styles.xml", SimpleFileOptions::default()).unwrap();
    w.write_all(b"<w:styles xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"/>")
        .unwrap();
    w.finish().unwrap().into_inner()
}

#[test]
fn docx_tables_are_read_and_answered_in_place() {
    let bytes = docx_bytes();
    let (format, grids) = read("review.docx", &bytes).unwrap();
    assert_eq!(format, Format::Docx);
    let q = detect("review.docx", format, &grids, None).unwrap();
    let ids: Vec<(&str, &str)> = q.questions.iter().map(|x| (x.id.as_str(), x.text.as_str())).collect();
    assert_eq!(
        ids,
        [
            ("1", "Is multi-factor authentication enforced for every user account?"),
            (
                "2",
                "Are production changes peer reviewed & approved before deployment?"
            ),
        ]
    );
    let a = answer_all(&q, &knowledge(), &Library::default()).unwrap();
    let map: BTreeMap<String, Proposal> = q.questions.iter().map(|x| x.id.clone()).zip(a).collect();
    let out = export::docx("review.docx", &bytes, &writes_for(&q, &map)).unwrap();
    let (before, after) = (raw_parts(&bytes), raw_parts(&out));
    assert_eq!(before["word/styles.xml"], after["word/styles.xml"]);
    let (_, grids) = read("out.docx", &out).unwrap();
    assert_eq!(grids[0].own(1, 2), "Yes");
    assert_eq!(grids[0].own(2, 2), "Yes");
    let doc = String::from_utf8(export::parts("o", &out).unwrap()["word/document.xml"].clone()).unwrap();
    assert!(
        doc.contains(
            "<w:p><w:pPr><w:jc w:val=\"left\"/></w:pPr><w:r><w:t xml:space=\"preserve\">Yes</w:t></w:r></w:p>"
        ),
        "{doc}"
    );

    let e = read("empty.docx", &{
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        w.start_file("word/document.xml", SimpleFileOptions::default()).unwrap();
        w.write_all(b"<w:document xmlns:w=\"x\"><w:body><w:p/></w:body></w:document>")
            .unwrap();
        w.finish().unwrap().into_inner()
    })
    .unwrap_err();
    assert_eq!(e.what, "the document has no tables");
}

#[test]
fn the_library_imports_completed_questionnaires_and_lists_conflicts() {
    let csv = "ID,Question,Answer,Comments\nA-1,Is MFA enforced for all users?,Yes,Through Okta.\nA-2,Is MFA enforced for all the users?,No,\nA-3,Do you encrypt backups?,Yes,\nA-4,Do you encrypt backups?,Yes,\nA-5,Is there a bug bounty program?,,\n";
    let (format, grids) = read("done.csv", csv.as_bytes()).unwrap();
    let q = detect("done.csv", format, &grids, None).unwrap();
    let mut lib = Library::default();
    let (added, replaced, skipped) = lib.add_completed(
        &q,
        Some("ciso@northwind.example"),
        date("2026-03-01"),
        Some(date("2027-03-01")),
    );
    assert_eq!((added, replaced, skipped), (4, 0, 1));
    let pairs: Vec<(&str, f64)> = lib.cleanup().iter().map(|p| (p.kind, p.similarity)).collect();
    assert_eq!(pairs, [("conflict", 1.0), ("duplicate", 1.0)]);
    // Importing the same file again replaces its answers.
    let mut again = lib.clone();
    assert_eq!(again.add_completed(&q, None, date("2026-04-01"), None), (0, 4, 1));
    let text = lib.to_toml();
    let back = Library::parse("library.toml", &text).unwrap();
    assert_eq!(back, lib);
    assert_eq!(lib.entries[0].text, "Through Okta.");
    let bad = Library::parse("library.toml", "[[answer]]\nid = \"x\"\nquestion = \"q\"\n").unwrap_err();
    assert_eq!(bad.place, "library.toml, line 1");
}

/// An embedder that knows three ideas: a text's vector counts the words of each idea it uses.
/// Enough to test how meaning is combined with words; the real model is in `assure-embed`.
struct Ideas;

impl assure_questionnaire::Embedder for Ideas {
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, assure_questionnaire::QError> {
        const IDEAS: [&[&str]; 3] = [
            &["two-step", "multi-factor", "second factor", "mfa", "verification"],
            &["encrypt", "cipher", "at rest"],
            &["backup", "restore", "copies"],
        ];
        Ok(texts
            .iter()
            .map(|t| {
                let l = t.to_lowercase();
                let mut v: Vec<f32> = IDEAS
                    .iter()
                    .map(|words| words.iter().filter(|w| l.contains(*w)).count() as f32)
                    .collect();
                v.push(0.1);
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter().map(|x| x / n).collect()
            })
            .collect())
    }
    fn describe(&self) -> String {
        "three ideas".into()
    }
}

#[test]
fn an_embedder_matches_the_library_by_meaning_where_words_differ() {
    let csv = "ID,Question,Answer\nQ1,Is two-step verification required to sign in to your service?,\nQ2,Do you keep restore copies of customer records?,\n";
    let (format, grids) = read("q.csv", csv.as_bytes()).unwrap();
    let q = detect("q.csv", format, &grids, None).unwrap();
    let lib = Library {
        entries: vec![library_entry(
            "Do you enforce multi-factor authentication (MFA) for all users?",
            "Yes",
            Some("2026-01-01"),
            None,
        )],
    };
    let mut k = knowledge();
    k.controls.clear();
    // Words alone: the MFA question shares too few words with the library's.
    let lexical = assure_questionnaire::answer::answer_all(&q, &k, &lib).unwrap();
    assert_eq!(lexical[0].answer, Answer::NeedsReview);
    // With meaning: the same question in other words; the backup question matches nothing.
    let semantic = assure_questionnaire::answer::answer_all_with(&q, &k, &lib, Some(&Ideas)).unwrap();
    assert_eq!(semantic[0].answer, Answer::Yes);
    assert_eq!(semantic[0].confidence.level, "high");
    assert!(matches!(
        semantic[0].sources[0],
        assure_questionnaire::Source::Library { .. }
    ));
    assert_eq!(semantic[1].answer, Answer::NeedsReview);
}

#[test]
fn standard_identifiers_map_to_our_topics() {
    use assure_questionnaire::topics::by_id;
    let ids = |q: &str| by_id(q).iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids("A&A-02.1"), ["audit"]);
    assert_eq!(
        ids("IAM-14.1"),
        ["access", "authentication", "provisioning", "access-review"]
    );
    assert_eq!(ids("HFIH-01"), ["incident"]);
    assert_eq!(
        ids("H.3.2"),
        ["access", "authentication", "provisioning", "access-review"]
    );
    assert_eq!(ids("application_ssl_configuration_ciphers"), ["encryption"]);
    assert_eq!(ids("application_vm_securitycontact"), ["vulnerability"]);
    assert!(ids("Q-0001").is_empty());
}
