//! `assure report`: every kind for every `init` template, read back by independent readers
//! (pdftotext from poppler, openpyxl, compliance-trestle). `.ci/run` installs them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::assure;

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts")
}

fn run_tool(program: &str, args: &[&str], hint: &str) -> (i32, String) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{program}` ({e}); {hint}"));
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The text of a PDF as pdftotext extracts it.
pub fn pdf_text(path: &Path) -> String {
    let (code, text) = run_tool(
        "pdftotext",
        &[path.to_str().unwrap(), "-"],
        "install poppler-utils (`.ci/run` does)",
    );
    assert_eq!(code, 0, "pdftotext could not read {}: {text}", path.display());
    // poppler reads the file without a complaint (no "Syntax Error" and no warning on stderr).
    let info = Command::new("pdfinfo")
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `pdfinfo` ({e}); install poppler-utils"));
    let complaint = String::from_utf8_lossy(&info.stderr);
    assert!(
        info.status.success() && complaint.trim().is_empty(),
        "pdfinfo complains about {}: {complaint}",
        path.display()
    );
    // pdftotext breaks lines where the layout does; compare on single spaces.
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What python-docx reads from a Word document.
pub fn docx(path: &Path) -> serde_json::Value {
    let script = scripts().join("check-docx.py");
    let (code, text) = run_tool(
        "python3",
        &[script.to_str().unwrap(), path.to_str().unwrap()],
        "install python3 with python-docx (`scripts/test.sh` does)",
    );
    assert_eq!(code, 0, "python-docx could not read {}: {text}", path.display());
    serde_json::from_str(&text).unwrap()
}

/// What openpyxl reads from a workbook.
pub fn xlsx(path: &Path) -> serde_json::Value {
    let script = scripts().join("check-xlsx.py");
    let (code, text) = run_tool(
        "python3",
        &[script.to_str().unwrap(), path.to_str().unwrap()],
        "install python3 with openpyxl (`.ci/run` does)",
    );
    assert_eq!(code, 0, "openpyxl could not read {}: {text}", path.display());
    serde_json::from_str(&text).unwrap()
}

/// Validates every OSCAL document in a directory with compliance-trestle.
pub fn oscal_valid(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().to_str().unwrap().to_string())
        .collect();
    files.sort();
    let script = scripts().join("check-oscal.py");
    let mut args = vec![script.to_str().unwrap().to_string()];
    args.extend(files.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, text) = run_tool("python3", &args, "install compliance-trestle (`.ci/run` does)");
    assert_eq!(code, 0, "OSCAL documents in {} are not valid:\n{text}", dir.display());
    files
        .iter()
        .map(|f| Path::new(f).file_name().unwrap().to_str().unwrap().to_string())
        .collect()
}

fn report(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--as-of", "2026-11-22"]);
    let r = assure(&all, None, dir);
    assert_eq!(r.code, 0, "assure {all:?}: {}", r.stderr);
    r.stderr
}

#[test]
fn every_report_kind_renders_for_every_template_and_reads_back() {
    for template in ["saas", "payroll", "fintech", "health"] {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        assert_eq!(assure(&["init", "--template", template, "p"], None, d).code, 0);

        report(d, &["soc2", "p", "-o", "soc2.pdf"]);
        let t = pdf_text(&d.join("soc2.pdf"));
        for s in [
            "Section I: Independent service auditor's report",
            "Section II: Assertion of",
            "Section III: Description of the",
            "Section IV: Criteria, controls, tests and results",
            "Section V: Other information provided by management",
            "Reserved for the independent service auditor's report",
            "The kinds of services the organization provides This part answers description criterion DC1.",
            "The applicable criteria and the controls designed to meet them This part answers description criterion DC5.",
            "Significant changes to the system and controls during the period This part answers description criterion DC9.",
            "Contents",
            "Page 2 of",
        ] {
            assert!(t.contains(s), "{template}: SOC 2 PDF lacks `{s}`");
        }
        // The health company's SOC 2+ carries HIPAA in Section IV: the safeguards' requirements
        // with their criteria, controls and results, covered-entity duties marked not applicable,
        // and the controls added for HIPAA with their tests.
        if template == "health" {
            for s in [
                "Additional subject matter: the HIPAA Security and Breach Notification Rules",
                "Administrative safeguards",
                "164.308(a)(1)(ii)(A)",
                "not applicable: binds covered entities",
                "Controls that meet HIPAA requirements directly",
                "HIP-03",
            ] {
                assert!(t.contains(s), "SOC 2+ PDF lacks `{s}`");
            }
        } else {
            assert!(!t.contains("Additional subject matter"), "{template}");
        }
        // No run yet: the draft says so on the cover instead of leaving Section IV silently empty.
        assert!(t.contains("This draft lacks"), "{template}");
        assert!(t.contains("No test run is recorded"), "{template}");

        // The same draft as a Word document, read back by python-docx: Word's heading styles,
        // the sections in order, tables whose header row repeats, the notice in the footer.
        report(d, &["soc2", "p", "-o", "soc2.docx"]);
        let w = docx(&d.join("soc2.docx"));
        let h1: Vec<&str> = w["paragraphs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p[0] == "Heading 1")
            .map(|p| p[1].as_str().unwrap())
            .collect();
        assert_eq!(
            h1.iter().filter(|h| h.starts_with("Section ")).count(),
            5,
            "{template}: the Word draft's sections: {h1:?}"
        );
        assert!(
            h1.contains(&"Section IV: Criteria, controls, tests and results"),
            "{template}"
        );
        assert!(
            w["tables"].as_array().unwrap().iter().any(|t| t["header"] == true),
            "{template}: no repeated header row"
        );
        assert!(
            w["footer"].as_str().unwrap().contains("Not an auditor's report"),
            "{template}"
        );
        assert!(
            w["created"].as_str().unwrap().starts_with("2026-11-22"),
            "{template}: the document's date is not the as-of date"
        );

        report(d, &["soc1", "p", "-o", "soc1.pdf"]);
        let t = pdf_text(&d.join("soc1.pdf"));
        assert!(t.contains("How transactions are initiated, authorized"), "{template}");
        assert!(
            t.contains("Section IV: Control objectives, controls, tests and results"),
            "{template}"
        );
        if template == "saas" {
            assert!(
                t.contains("Missing: SOC1-OBJECTIVES"),
                "the SaaS company states no objectives"
            );
        }

        report(d, &["soc3", "p", "-o", "soc3.pdf"]);
        let t = pdf_text(&d.join("soc3.pdf"));
        assert!(
            t.contains("Attachment B: Principal service commitments and system requirements"),
            "{template}"
        );
        assert!(
            !t.contains("Tests performed"),
            "{template}: a SOC 3 report has no tests"
        );

        report(d, &["readiness", "p", "-o", "readiness.pdf"]);
        let t = pdf_text(&d.join("readiness.pdf"));
        assert!(
            t.contains("Gaps, most blocking first") && t.contains("Plan by owner"),
            "{template}"
        );

        report(d, &["bridge", "p", "--to", "2027-03-31", "-o", "bridge.pdf"]);
        let t = pdf_text(&d.join("bridge.pdf"));
        assert!(t.contains("Bridge letter") && t.contains("31 March 2027"), "{template}");

        report(d, &["matrix", "p", "-o", "matrix.xlsx"]);
        let x = xlsx(&d.join("matrix.xlsx"));
        // The frameworks each template names get a crosswalk sheet; ISO 27001 also a draft
        // Statement of Applicability with every Annex A control.
        let frameworks: &[&str] = match template {
            "saas" => &["Crosswalk iso27001", "Statement of Applicability", "Crosswalk gdpr"],
            "payroll" => &["Crosswalk sox-itgc"],
            "health" => &["Crosswalk hipaa"],
            _ => &["Crosswalk sox-itgc", "Crosswalk ccpa"],
        };
        let mut sheets = vec!["Control matrix", "Criteria map"];
        sheets.extend(frameworks);
        sheets.push("Request list");
        assert_eq!(x["sheets"], serde_json::json!(sheets), "{template}");
        if template == "saas" {
            let soa = &x["detail"]["Statement of Applicability"];
            assert_eq!(soa["rows"], 93, "{soa}");
            assert_eq!(soa["headers"][2], "Applicable");
            let cw = &x["detail"]["Crosswalk iso27001"];
            assert_eq!(cw["rows"], 116, "{cw}");
        }
        let m = &x["detail"]["Control matrix"];
        assert_eq!(m["headers"][0], "Control");
        assert_eq!(m["headers"][13], "Exceptions");
        assert_eq!(m["freeze"], "A8", "header row frozen");
        assert_eq!(m["filter"].as_str().unwrap().split(':').next(), Some("A7"));
        assert_eq!(m["formulas"], false);
        // Printed: landscape, one page wide, the header row on every page.
        for sheet in x["sheets"].as_array().unwrap() {
            let detail = &x["detail"][sheet.as_str().unwrap()];
            let pr = &detail["print"];
            assert_eq!(pr["orientation"], "landscape", "{template} {sheet}");
            assert_eq!(
                (pr["fit_width"].as_i64(), pr["fit_height"].as_i64()),
                (Some(1), Some(0)),
                "{template} {sheet}"
            );
            let h = detail["header_row"].as_i64().unwrap();
            assert_eq!(
                pr["title_rows"],
                format!("${h}:${h}"),
                "{template} {sheet}: the header row repeats on every page"
            );
        }
        let r = &x["detail"]["Request list"];
        assert_eq!(r["first_types"][6], "datetime", "due dates are real dates");
        // Without --format, the extension of -o decides.
        report(d, &["matrix", "p", "-o", "matrix.pdf"]);
        assert!(pdf_text(&d.join("matrix.pdf")).contains("Request list"));

        report(d, &["soc2", "p", "--format", "oscal", "-o", "oscal2"]);
        let files = oscal_valid(&d.join("oscal2"));
        // The SOC 2 documents, and per framework the template names its catalog, a profile and
        // Assure's crosswalk as an OSCAL mapping collection (validated by trestle above).
        let mut expected: Vec<String> = [
            "assessment-plan.json",
            "assessment-results.json",
            "catalog.json",
            "component-definition.json",
            "profile.json",
            "ssp.json",
        ]
        .map(String::from)
        .to_vec();
        let fws: &[&str] = match template {
            "saas" => &["iso27001", "gdpr"],
            "payroll" => &["sox-itgc"],
            "health" => &["hipaa"],
            _ => &["sox-itgc", "ccpa"],
        };
        for fw in fws {
            for kind in ["catalog", "mapping", "profile"] {
                expected.push(format!("{kind}-{fw}.json"));
            }
        }
        expected.sort();
        assert_eq!(files, expected, "{template}");
        if matches!(template, "payroll" | "fintech") {
            report(d, &["soc1", "p", "--format", "oscal", "-o", "oscal1"]);
            oscal_valid(&d.join("oscal1"));
        }
    }
}

#[test]
fn reports_are_byte_identical_for_the_same_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    assert_eq!(assure(&["init", "--template", "payroll", "p"], None, d).code, 0);
    for (args, a, b) in [
        (["soc1", "p", "--format", "pdf"], "a.pdf", "b.pdf"),
        (["matrix", "p", "--format", "xlsx"], "a.xlsx", "b.xlsx"),
    ] {
        report(d, &[args[0], args[1], args[2], args[3], "-o", a]);
        report(d, &[args[0], args[1], args[2], args[3], "-o", b]);
        assert_eq!(
            std::fs::read(d.join(a)).unwrap(),
            std::fs::read(d.join(b)).unwrap(),
            "{a}"
        );
    }
}

#[test]
fn report_refusals_say_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    assert_eq!(assure(&["init", "--template", "saas", "p"], None, d).code, 0);
    let cases = [
        vec!["report", "bridge", "p"],
        vec!["report", "bridge", "p", "--to", "2026-06-30"],
        vec!["report", "soc3", "p", "--format", "xlsx"],
        vec!["report", "readiness", "p", "--format", "oscal"],
        vec!["report", "soc1", "p", "--format", "oscal"],
    ];
    let mut out = String::new();
    for args in cases {
        let r = assure(&args, None, d);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        out.push_str(&format!("$ assure {}\n{}\n", args.join(" "), r.stderr.trim_end()));
    }
    insta::assert_snapshot!(out);
}
