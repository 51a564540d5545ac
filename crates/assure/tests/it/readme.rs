//! README.md's commands, read from the file itself and run in order as a new user would: the first
//! hour's block on a new project, then the compliance year's block on the demo company (made by
//! the first command's `assure demo out/demo`). The test follows the document, not a copy of it:
//! a command edited in the README is the command tested.

use std::path::{Path, PathBuf};
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap()
}

/// The first ```sh block after the heading line that starts with `heading`.
fn block_after(text: &str, heading: &str) -> String {
    let start = text
        .lines()
        .position(|l| l.starts_with(heading))
        .unwrap_or_else(|| panic!("README.md has no heading `{heading}`"));
    let mut lines = text.lines().skip(start).skip_while(|l| l.trim() != "```sh").skip(1);
    let mut out = String::new();
    for l in lines.by_ref() {
        if l.trim() == "```" {
            return out;
        }
        out.push_str(l);
        out.push('\n');
    }
    panic!("the block after `{heading}` is not closed");
}

/// Runs a block with bash, stopping at the first failing command, with `assure` on the PATH.
fn run(dir: &Path, script: &str) -> (bool, String) {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_assure"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-x", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_readmes_first_hour_and_compliance_year_run_as_written() {
    let text = readme();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();

    let first_hour = block_after(&text, "## The first hour");
    assert!(first_hour.lines().count() >= 10, "{first_hour}");
    let (ok, out) = run(d, &first_hour);
    assert!(ok, "the first hour's commands failed:\n{out}");
    for expected in [
        "out/acme is valid",
        "CC6.1",
        "Recorded as ledger entry",
        "Statement of Applicability",
        "OK: no entry or file was altered",
    ] {
        assert!(out.contains(expected), "`{expected}` not in:\n{out}");
    }
    for f in [
        "out/acme-gap.md",
        "out/acme-soc2.pdf",
        "out/acme-soa.xlsx",
        "out/acme/.git",
    ] {
        assert!(d.join(f).exists(), "{f}");
    }

    // The first command's demo (without the build and the server), then the compliance year.
    let first = block_after(&text, "## The two commands");
    assert!(first.contains("assure demo out/demo"), "{first}");
    let (ok, out) = run(d, "assure demo out/demo");
    assert!(ok, "{out}");
    let year = block_after(&text, "### The compliance year");
    let (ok, out) = run(d, &year);
    assert!(ok, "the compliance year's commands failed:\n{out}");
    // The closed year's report is the one drafted on closing day, byte for byte.
    assert_eq!(
        std::fs::read(d.join("soc2-2026.pdf")).unwrap(),
        std::fs::read(d.join("again-2026.pdf")).unwrap()
    );
    assert!(d.join("yoy.xlsx").exists(), "{out}");
}
