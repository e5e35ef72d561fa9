//! The committed BPF objects are what the C sources build.
//!
//! `runtime/bpf/*.bpf.o` is committed so that `cargo build` needs only Rust; nothing else stops
//! the C in `runtime/bpf/` from drifting away from it. These tests rebuild with the one script
//! that makes the objects, `runtime/bpf/build.sh`, and compare byte for byte:
//!
//! - `committed_objects_match_sources`: `OUT=<temp dir> runtime/bpf/build.sh`, then every
//!   `*.bpf.o` built must equal the committed one (and every `*.bpf.c` must have one). On a
//!   difference the failure names the ELF sections that differ and says how to fix it.
//! - `build_is_independent_of_checkout_path`: `runtime/bpf/` copied to a temp dir of another
//!   name builds the same bytes as the checkout does, so no absolute path leaks into the objects
//!   (the script maps the source dir with `-fdebug-prefix-map`; a checkout elsewhere must not
//!   change the object). It compares two fresh builds, so a stale committed object fails only
//!   the test above.
//!
//! The build needs clang 14 (the compiler the committed objects were built with; another major
//! version emits other code) and llvm-strip. Without them the tests print `SKIPPED: <reason>`
//! and pass, except when the environment variable `CI` is set (CI installs them): then they
//! fail.

#[path = "../../tests/support/skip.rs"]
mod skip;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The clang major version `runtime/bpf/build.sh` is written for.
const CLANG_MAJOR: u32 = 14;

fn bpf_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bpf")
}

/// A directory of our own under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "policyctl-bpf-objects-{}-{nanos}-{tag}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Skip (or, under `CI`, fail) with `reason`.
fn skip(test: &str, reason: &str) {
    skip::skip(
        test,
        &format!(
            "{reason} (needs clang {CLANG_MAJOR} and llvm-strip: `apt-get install clang llvm libbpf-dev`)"
        ),
    );
}

/// Whether the tools `build.sh` runs are here (honouring its `CLANG` / `STRIP` overrides);
/// prints the skip notice, or fails under CI, when they are not.
fn have_tools(test: &str) -> bool {
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
    let strip = std::env::var("STRIP").unwrap_or_else(|_| "llvm-strip".into());
    let version = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let Some(clang_version) = version(&clang) else {
        skip(test, &format!("`{clang}` is not installed"));
        return false;
    };
    if version(&strip).is_none() {
        skip(test, &format!("`{strip}` is not installed"));
        return false;
    }
    // "Debian clang version 14.0.6", "clang version 14.0.0 (...)", "Ubuntu clang version 14..."
    let major = clang_version
        .split_once("clang version ")
        .and_then(|(_, v)| v.split('.').next())
        .and_then(|m| m.trim().parse::<u32>().ok());
    if major != Some(CLANG_MAJOR) {
        let first = clang_version.lines().next().unwrap_or("");
        skip(
            test,
            &format!(
                "`{clang}` is not clang {CLANG_MAJOR} ({first}); the committed objects are \
                 built with clang {CLANG_MAJOR} (set CLANG=clang-{CLANG_MAJOR} if it is installed)"
            ),
        );
        return false;
    }
    true
}

/// Run `script` with `OUT=out` (or in place when `out` is `None`).
fn build(script: &Path, out: Option<&Path>) {
    let mut cmd = Command::new("sh");
    cmd.arg(script);
    if let Some(out) = out {
        cmd.env("OUT", out);
    } else {
        cmd.env_remove("OUT");
    }
    let result = cmd.output().expect("run sh");
    assert!(
        result.status.success(),
        "{} failed ({}):\n{}{}",
        script.display(),
        result.status,
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
}

/// Names of the files in `dir` ending in `suffix`, sorted.
fn files_ending(dir: &Path, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(suffix))
        .collect();
    names.sort();
    names
}

/// Section name → bytes, for a little-endian ELF64 file; empty when it is not one.
fn elf_sections(data: &[u8]) -> BTreeMap<String, &[u8]> {
    let mut out = BTreeMap::new();
    if !data.starts_with(b"\x7fELF") || data.get(4) != Some(&2) || data.get(5) != Some(&1) {
        return out;
    }
    let u16_at = |at: usize| -> Option<usize> {
        Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?) as usize)
    };
    let u32_at = |at: usize| -> Option<usize> {
        Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?) as usize)
    };
    let u64_at = |at: usize| -> Option<usize> {
        usize::try_from(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?)).ok()
    };
    let (Some(shoff), Some(shentsize), Some(shnum), Some(shstrndx)) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e))
    else {
        return out;
    };
    // (name offset, file offset, size, type) of section `i`.
    let header = |i: usize| -> Option<(usize, usize, usize, usize)> {
        let at = shoff.checked_add(i.checked_mul(shentsize)?)?;
        Some((
            u32_at(at)?,
            u64_at(at + 0x18)?,
            u64_at(at + 0x20)?,
            u32_at(at + 4)?,
        ))
    };
    let Some((_, names_off, names_len, _)) = header(shstrndx) else {
        return out;
    };
    let names = data.get(names_off..names_off + names_len).unwrap_or(&[]);
    for i in 0..shnum {
        let Some((name, off, size, kind)) = header(i) else {
            continue;
        };
        let name = names
            .get(name..)
            .and_then(|s| s.split(|&b| b == 0).next())
            .map_or_else(
                || format!("#{i}"),
                |s| String::from_utf8_lossy(s).into_owned(),
            );
        // SHT_NOBITS (8) occupies no bytes in the file.
        let bytes = if kind == 8 {
            &[][..]
        } else {
            data.get(off..off.saturating_add(size)).unwrap_or(&[])
        };
        out.insert(name, bytes);
    }
    out
}

/// Where two objects differ, as far as ELF sections tell.
/// `a` and `b` name the two objects in the description.
fn describe_difference(
    (a_name, a_bytes): (&str, &[u8]),
    (b_name, b_bytes): (&str, &[u8]),
) -> String {
    let a = elf_sections(a_bytes);
    let b = elf_sections(b_bytes);
    let mut lines = Vec::new();
    for (name, bytes) in &a {
        match b.get(name) {
            None => lines.push(format!("  section {name}: only in the {a_name} object")),
            Some(other) if other != bytes => lines.push(format!(
                "  section {name}: differs ({} bytes {a_name}, {} bytes {b_name})",
                bytes.len(),
                other.len()
            )),
            Some(_) => {}
        }
    }
    for name in b.keys().filter(|n| !a.contains_key(*n)) {
        lines.push(format!("  section {name}: only in the {b_name} object"));
    }
    if lines.is_empty() {
        lines.push(format!(
            "  every section is equal; the ELF headers or layout differ ({} bytes {a_name}, {} \
             bytes {b_name})",
            a_bytes.len(),
            b_bytes.len()
        ));
    }
    lines.join("\n")
}

/// Compare every object `build.sh` made in `built_dir` with the committed one.
fn compare_with_committed(built_dir: &Path) {
    let committed_dir = bpf_dir();
    let sources = files_ending(&committed_dir, ".bpf.c");
    assert!(
        !sources.is_empty(),
        "no *.bpf.c in {}",
        committed_dir.display()
    );
    let built = files_ending(built_dir, ".bpf.o");
    let expected: Vec<String> = sources
        .iter()
        .map(|s| format!("{}.o", s.trim_end_matches(".c")))
        .collect();
    assert_eq!(
        built, expected,
        "build.sh should build one object per *.bpf.c"
    );
    let committed = files_ending(&committed_dir, ".bpf.o");
    assert_eq!(
        committed, expected,
        "runtime/bpf/ should hold exactly one committed object per *.bpf.c: run \
         `runtime/bpf/build.sh` and commit runtime/bpf/*.bpf.o (and remove stale objects)"
    );
    let mut failures = Vec::new();
    for name in &expected {
        let old = std::fs::read(committed_dir.join(name)).expect("read committed object");
        let new = std::fs::read(built_dir.join(name)).expect("read built object");
        if old != new {
            failures.push(format!(
                "runtime/bpf/{name} is not what `OUT=<dir> runtime/bpf/build.sh` builds:\n{}",
                describe_difference(("committed", &old), ("rebuilt", &new))
            ));
        }
    }
    assert!(failures.is_empty(), "{}\n\n{STALE}", failures.join("\n"));
}

/// The fix for a committed object that differs from what the sources build.
const STALE: &str = "The committed BPF object is stale: run `runtime/bpf/build.sh` (clang 14 + \
                     llvm-strip) and commit the resulting runtime/bpf/*.bpf.o together with the \
                     C change.";

#[test]
fn committed_objects_match_sources() {
    let test = "committed_objects_match_sources";
    if !have_tools(test) {
        return;
    }
    let out = TempDir::new("out");
    build(&bpf_dir().join("build.sh"), Some(&out.0));
    compare_with_committed(&out.0);
}

#[test]
fn build_is_independent_of_checkout_path() {
    let test = "build_is_independent_of_checkout_path";
    if !have_tools(test) {
        return;
    }
    // A copy of runtime/bpf/ (sources and script, not the objects) under another path.
    let tmp = TempDir::new("elsewhere");
    let copy = tmp.0.join("some-other-checkout").join("bpf");
    std::fs::create_dir_all(&copy).expect("create copy dir");
    for entry in std::fs::read_dir(bpf_dir()).expect("read runtime/bpf") {
        let entry = entry.expect("dir entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().expect("file type").is_file() && !name.ends_with(".o") {
            std::fs::copy(entry.path(), copy.join(&name)).expect("copy source");
        }
    }
    build(&copy.join("build.sh"), None);
    // Compared with a build of the checkout itself, not with the committed objects: a stale
    // object is committed_objects_match_sources's failure, not this test's.
    let here = TempDir::new("here");
    build(&bpf_dir().join("build.sh"), Some(&here.0));
    let mut failures = Vec::new();
    for name in files_ending(&here.0, ".bpf.o") {
        let a = std::fs::read(here.0.join(&name)).expect("read object");
        let b = std::fs::read(copy.join(&name)).unwrap_or_default();
        if a != b {
            failures.push(format!(
                "{name} built in a copy of runtime/bpf/ at another path differs from {name} built \
                 in the checkout:\n{}",
                describe_difference(("checkout's", &a), ("copy's", &b))
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\nThe object depends on where the checkout lives: an absolute path leaks into it. \
         Map it away in runtime/bpf/build.sh (as -fdebug-prefix-map does for the source dir), \
         then run `runtime/bpf/build.sh` and commit runtime/bpf/*.bpf.o.",
        failures.join("\n")
    );
}
