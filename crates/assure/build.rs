//! Link options for the release binary (see README, Build time and binary size).
//!
//! A position-independent executable carries one relocation per pointer in its read-only data
//! (vtables, string tables): 362,000 of them, 8.7 MB of `.rela.dyn` at 24 bytes each. Packed
//! relative relocations (RELR, `-z pack-relative-relocs`) store the same in a bitmap of a few
//! kilobytes; the loader applies them as before. glibc reads them from 2.36 (Debian 12, Ubuntu
//! 22.10), and a binary linked with them does not start on an older one, so they are asked for
//! only when the C library of the machine building is 2.36 or later and the binary is for that
//! same machine. Rust links x86_64 Linux with its own lld, which has the option; GNU ld, which
//! links other Linux targets, has it from 2.38.
//!
//! Identical code folding (`--icf=all`) would save another 6.7 MB, but it also merges C functions
//! whose addresses SQLite compares (its no-op callbacks), so it is not used.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let (profile, target, host) = (var("PROFILE"), var("TARGET"), var("HOST"));
    if profile != "release" || target != host || !target.ends_with("-linux-gnu") {
        return;
    }
    if glibc_version().is_some_and(|v| v >= (2, 36)) {
        println!("cargo::rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The C library's version on the machine building (`getconf GNU_LIBC_VERSION`: "glibc 2.36").
fn glibc_version() -> Option<(u32, u32)> {
    let out = std::process::Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let (major, minor) = text.trim().strip_prefix("glibc ")?.split_once('.')?;
    let minor: String = minor.chars().take_while(char::is_ascii_digit).collect();
    Some((major.parse().ok()?, minor.parse().ok()?))
}
