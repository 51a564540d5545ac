//! House rules that no compiler checks: every module says what it is for (a `//!` doc at its top),
//! and every test file is reachable from its crate's one test binary (`tests/it/main.rs`), so no
//! test silently stops running.

use std::path::{Path, PathBuf};

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn crates() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(crates_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    v.sort();
    v
}

/// The problems of one crate's layout: modules without a `//!` doc, test files outside the one
/// test binary or not declared as a module of it.
fn problems_of(krate: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let mut src = Vec::new();
    rust_files(&krate.join("src"), &mut src);
    for f in &src {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        if !first.starts_with("//!") {
            problems.push(format!("{}: the module has no `//!` doc at its top", f.display()));
        }
    }
    let mut tests = Vec::new();
    rust_files(&krate.join("tests"), &mut tests);
    let it = krate.join("tests/it");
    let main = std::fs::read_to_string(it.join("main.rs")).unwrap_or_default();
    for f in &tests {
        let Ok(rel) = f.strip_prefix(&it) else {
            problems.push(format!(
                "{}: a test file outside tests/it/ is a second test binary (one per crate)",
                f.display()
            ));
            continue;
        };
        if rel == Path::new("main.rs") {
            continue;
        }
        let module = rel.with_extension("");
        let name = module.to_string_lossy().replace('/', "::");
        // Files in a folder are declared by that folder's `mod.rs`; top-level ones by main.rs.
        let top = name.split("::").next().unwrap_or_default();
        if !main.lines().any(|l| {
            let l = l.trim();
            l == format!("mod {top};") || l == format!("pub mod {top};")
        }) {
            problems.push(format!(
                "{}: not declared in tests/it/main.rs (`mod {top};`), so its tests never run",
                f.display()
            ));
        }
    }
    problems
}

#[test]
fn every_module_has_a_doc_and_every_test_file_runs() {
    let mut all = Vec::new();
    for k in crates() {
        all.extend(problems_of(&k));
    }
    assert!(all.is_empty(), "{}", all.join("\n"));
}

#[test]
fn the_tidy_check_catches_what_it_is_for() {
    let tmp = tempfile::tempdir().unwrap();
    let k = tmp.path().join("demo-crate");
    std::fs::create_dir_all(k.join("src")).unwrap();
    std::fs::create_dir_all(k.join("tests/it")).unwrap();
    std::fs::write(k.join("src/lib.rs"), "//! Documented.\npub mod a;\n").unwrap();
    std::fs::write(k.join("src/a.rs"), "pub fn f() {}\n").unwrap();
    std::fs::write(k.join("tests/it/main.rs"), "//! Tests.\nmod used;\n").unwrap();
    std::fs::write(k.join("tests/it/used.rs"), "").unwrap();
    std::fs::write(k.join("tests/it/forgotten.rs"), "").unwrap();
    std::fs::write(k.join("tests/second.rs"), "").unwrap();
    let found: Vec<String> = problems_of(&k)
        .into_iter()
        .map(|p| p.replace(&k.display().to_string(), "CRATE"))
        .collect();
    let mut found = found;
    found.sort();
    assert_eq!(
        found,
        [
            "CRATE/src/a.rs: the module has no `//!` doc at its top",
            "CRATE/tests/it/forgotten.rs: not declared in tests/it/main.rs (`mod forgotten;`), so its tests never run",
            "CRATE/tests/second.rs: a test file outside tests/it/ is a second test binary (one per crate)",
        ]
    );
}
