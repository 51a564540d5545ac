//! Garbage in project files gets a clear diagnostic, never a panic.

use assure_project::{LoadError, check};

fn project_with(file: &str, bytes: &[u8]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    crate::write(
        tmp.path(),
        &[(
            "assure.toml",
            "[organization]\nname = \"G\"\n[scope]\nreports = [\"soc1\"]\ntype = 1\nas_of = 2026-06-30\n",
        )],
    );
    let path = tmp.path().join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let checked = check(tmp.path()).unwrap();
    checked
        .diagnostics
        .iter()
        .filter(|d| d.file == file)
        .map(|d| format!("{d}\n"))
        .collect()
}

#[test]
fn binary_file() {
    insta::assert_snapshot!(project_with("controls/blob.toml", b"id = \"x\"\n\x00\x01\x02\xff"));
}

#[test]
fn invalid_utf8() {
    insta::assert_snapshot!(project_with(
        "controls/latin1.toml",
        b"id = \"C-1\"\ntitle = \"Caf\xe9\"\n"
    ));
}

#[test]
fn huge_file() {
    let big = vec![b'#'; 5 * 1024 * 1024];
    insta::assert_snapshot!(project_with("controls/huge.toml", &big));
}

#[test]
fn deeply_nested_file() {
    let mut text = String::from("id = ");
    text.push_str(&"[".repeat(100_000));
    text.push_str(&"]".repeat(100_000));
    insta::assert_snapshot!(project_with("controls/deep.toml", text.as_bytes()));
}

#[test]
fn deeply_nested_inline_tables() {
    let mut text = String::from("id = ");
    text.push_str(&"{a = ".repeat(5_000));
    insta::assert_snapshot!(project_with("controls/deep.toml", text.as_bytes()));
}

#[test]
fn brackets_inside_strings_do_not_count_as_nesting() {
    let text = format!("id = \"{}\"\ntitle = '''{}'''\n", "[".repeat(100), "{".repeat(100));
    let out = project_with("controls/ok.toml", text.as_bytes());
    assert!(!out.contains("nested"), "{out}");
}

#[test]
fn bom_and_crlf_are_accepted() {
    let text = "\u{feff}id = \"C-1\"\r\ntitle = \"T\"\r\nowner = \"nobody\"\r\ncriteria = [\"CC1.1\"]\r\n";
    let out = project_with("controls/C-1.toml", text.as_bytes());
    assert!(
        out.contains("unknown-owner") && out.contains("controls/C-1.toml:3"),
        "{out}"
    );
}

#[test]
fn a_file_that_is_not_toml() {
    insta::assert_snapshot!(project_with(
        "controls/page.toml",
        b"<html><body>not toml</body></html>\n"
    ));
}

#[test]
fn directory_without_a_project() {
    let tmp = tempfile::tempdir().unwrap();
    let err = check(tmp.path()).unwrap_err();
    assert!(matches!(err, LoadError::NotAProject(_)));
    assert!(err.to_string().contains("`assure.toml` not found"));
}

#[test]
fn random_bytes_never_panic() {
    // A small deterministic fuzz: xorshift bytes into every kind of project file.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..200 {
        let mut bytes = Vec::new();
        for _ in 0..(round * 7 % 300) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let alphabet = b"[]{}=\"'\n #abcCC6.1,0123456789tf.-_";
            bytes.push(alphabet[(state % alphabet.len() as u64) as usize]);
        }
        for file in [
            "controls/f.toml",
            "policies/f.md",
            "tests/f.toml",
            "people.toml",
            "risks/r.toml",
        ] {
            let _ = project_with(file, &bytes);
        }
    }
}
