//! The examples of every code (`testdata/checks/<CODE>/`) and the policy corpora
//! (`testdata/policies/`), run through `check_source`.
//!
//! - every code has an `invalid.yaml` that reports it and a `valid.yaml` that reports nothing;
//! - every `invalid*.yaml` has a reviewed snapshot of its diagnostics (`snapshots/`);
//! - diagnostics of every fixture and corpus file have sane spans, messages and codes;
//! - the valid corpus and the fixed article policies are clean, the original article policies
//!   get exactly the errors listed in `testdata/policies/article/README.md`.
//!
//! Y006 (file larger than 4 MiB) is special: a 4 MiB fixture is not committed. Its
//! `invalid.yaml` is a small policy that [`fixture_text`] pads with comment lines past the
//! limit before checking it. Y004 (billion laughs) and Y005 (nesting depth) fixtures are small
//! files that really trigger their code.
//!
//! Update the snapshots with `INSTA_UPDATE=always cargo test -p policyctl-validator --test checks`
//! and review every changed `.snap` file like code.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use policyctl_validator::codes::{self, Code};
use policyctl_validator::{check_source, explain, FileReport, Severity, SourceFile};

/// The size limit of Y006 (policyctl reads at most 4 MiB).
const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

fn checks_dir() -> PathBuf {
    testdata().join("checks")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The text to check for a fixture: the file itself, except Y006's, which is padded past 4 MiB.
fn fixture_text(code: &str, path: &Path) -> String {
    let text = read(path);
    let name = path.file_name().unwrap().to_string_lossy();
    if code == "Y006" && name.starts_with("invalid") {
        pad_past_limit(&text)
    } else {
        text
    }
}

/// `text` followed by comment lines until it is larger than 4 MiB.
fn pad_past_limit(text: &str) -> String {
    let line = format!("# {}\n", "padding ".repeat(12));
    let mut big = String::with_capacity(MAX_FILE_BYTES + line.len() * 2);
    big.push_str(text);
    while big.len() <= MAX_FILE_BYTES {
        big.push_str(&line);
    }
    assert!(big.len() > MAX_FILE_BYTES);
    big
}

fn check(name: &str, text: String) -> FileReport {
    check_source(SourceFile::new(name, text))
}

fn codes_of(report: &FileReport) -> Vec<&'static str> {
    report.diagnostics.iter().map(|d| d.code.as_str()).collect()
}

/// Every `testdata/checks/<CODE>/invalid*.yaml`, sorted, with its code.
fn invalid_fixtures() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(checks_dir())
        .expect("testdata/checks exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let code = dir.file_name().unwrap().to_string_lossy().to_string();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy();
                name.starts_with("invalid") && name.ends_with(".yaml")
            })
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|f| (code.clone(), f)));
    }
    out
}

/// Every `*.yaml` under `dir`, recursively, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// One line per diagnostic: `line:col-end_line:end_col severity CODE message`, then its help.
fn render(report: &FileReport) -> String {
    let mut s = String::new();
    for d in &report.diagnostics {
        let start = report.source.position(d.span.start);
        let end = report.source.position(d.span.end);
        let _ = writeln!(
            s,
            "{}:{}-{}:{} {} {} {}",
            start.line,
            start.column,
            end.line,
            end.column,
            d.severity.as_str(),
            d.code,
            d.message
        );
        if let Some(help) = &d.help {
            let _ = writeln!(s, "    help: {help}");
        }
    }
    s
}

#[test]
fn every_code_has_examples() {
    let missing: Vec<&str> = codes::ALL
        .iter()
        .filter(|c| explain::examples(**c).is_none())
        .map(|c| c.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "codes without testdata/checks/<CODE>/{{invalid,valid}}.yaml: {missing:?}"
    );
    for code in codes::ALL {
        let text = explain::explain(*code);
        assert!(
            text.contains("## Example") && text.contains("## Use instead"),
            "{code}: explain shows no example"
        );
    }
}

#[test]
fn invalid_examples_trigger_their_code() {
    for code in codes::ALL {
        let path = checks_dir().join(code.as_str()).join("invalid.yaml");
        let report = check(
            &path.display().to_string(),
            fixture_text(code.as_str(), &path),
        );
        assert!(
            report.diagnostics.iter().any(|d| d.code == *code),
            "{}: expected {code}, got {:?}\n{}",
            path.display(),
            codes_of(&report),
            render(&report)
        );
    }
}

#[test]
fn embedded_examples_match_the_files() {
    for code in codes::ALL {
        let (invalid, valid) = explain::examples(*code).unwrap();
        let dir = checks_dir().join(code.as_str());
        assert_eq!(
            invalid,
            read(&dir.join("invalid.yaml")),
            "{code}: rebuild to embed the current invalid.yaml"
        );
        assert_eq!(
            valid,
            read(&dir.join("valid.yaml")),
            "{code}: rebuild to embed the current valid.yaml"
        );
    }
}

/// Check a file and assert it reports no diagnostic at all.
fn assert_clean(path: &Path) -> FileReport {
    let report = check(&path.display().to_string(), read(path));
    assert!(
        report.diagnostics.is_empty(),
        "{}: expected no diagnostic, got\n{}",
        path.display(),
        render(&report)
    );
    report
}

#[test]
fn valid_examples_are_clean() {
    for code in codes::ALL {
        let path = checks_dir().join(code.as_str()).join("valid.yaml");
        let report = assert_clean(&path);
        assert_eq!(
            report.policies.len(),
            1,
            "{}: expected one policy",
            path.display()
        );
    }
}

#[test]
fn y006_needs_the_size_not_the_content() {
    // The padded Y006 example reports the size and nothing else; the same text unpadded is clean.
    let path = checks_dir().join("Y006/invalid.yaml");
    let small = check("small.yaml", read(&path));
    assert!(small.diagnostics.is_empty(), "{}", render(&small));
    let big = check("big.yaml", fixture_text("Y006", &path));
    assert_eq!(codes_of(&big), ["Y006"], "{}", render(&big));
}

#[test]
fn fixtures_snapshot() {
    let fixtures = invalid_fixtures();
    assert!(
        fixtures.len() >= 86,
        "only {} broken fixtures",
        fixtures.len()
    );
    for (code, path) in fixtures {
        assert!(
            Code::parse(&code).is_some_and(|c| c.as_str() == code),
            "{}: directory is not a code",
            path.display()
        );
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let report = check(&format!("{code}/{stem}.yaml"), fixture_text(&code, &path));
        assert!(
            report.diagnostics.iter().any(|d| d.code.as_str() == code),
            "{}: expected {code}, got {:?}",
            path.display(),
            codes_of(&report)
        );
        let name = format!("{code}__{stem}");
        insta::assert_snapshot!(name, render(&report));
    }
}

/// Spans inside the text and on character boundaries, non-empty messages and helps,
/// registered codes.
fn assert_sane(what: &str, report: &FileReport) {
    let text = report.source.text();
    for d in &report.diagnostics {
        let at = format!("{what}: {} {:?}", d.code, d.span);
        assert!(
            d.span.start <= d.span.end,
            "{at}: span ends before it starts"
        );
        assert!(
            d.span.end <= text.len(),
            "{at}: span past the end of the text ({})",
            text.len()
        );
        assert!(
            text.is_char_boundary(d.span.start) && text.is_char_boundary(d.span.end),
            "{at}: span splits a character"
        );
        assert!(!d.message.trim().is_empty(), "{at}: empty message");
        if let Some(help) = &d.help {
            assert!(!help.trim().is_empty(), "{at}: empty help");
        }
        assert!(codes::ALL.contains(&d.code), "{at}: unregistered code");
        assert_eq!(
            Code::parse(d.code.as_str()),
            Some(d.code),
            "{at}: code does not round-trip"
        );
        for r in &d.related {
            assert!(
                r.span.end <= text.len()
                    && text.is_char_boundary(r.span.start)
                    && text.is_char_boundary(r.span.end),
                "{at}: bad related span"
            );
            assert!(!r.message.trim().is_empty(), "{at}: empty related message");
        }
    }
    let mut sorted = report.diagnostics.clone();
    sorted.sort_by_key(|d| (d.span.start, d.code));
    assert_eq!(
        sorted, report.diagnostics,
        "{what}: diagnostics are not sorted by position"
    );
}

#[test]
fn diagnostics_are_well_formed() {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for code_dir in std::fs::read_dir(checks_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
    {
        let code = code_dir.file_name().unwrap().to_string_lossy().to_string();
        files.extend(yaml_files(&code_dir).into_iter().map(|p| (code.clone(), p)));
    }
    files.extend(
        yaml_files(&testdata().join("policies"))
            .into_iter()
            .map(|p| (String::new(), p)),
    );
    assert!(files.len() > 150, "only {} files", files.len());
    for (code, path) in files {
        let report = check(&path.display().to_string(), fixture_text(&code, &path));
        assert_sane(&path.display().to_string(), &report);
    }
}

#[test]
fn valid_corpus_is_clean() {
    let mut files = yaml_files(&testdata().join("policies/valid"));
    files.extend(
        yaml_files(&testdata().join("policies/article"))
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("fixed-")
            }),
    );
    assert!(files.len() >= 60, "only {} files", files.len());
    for path in files {
        let report = assert_clean(&path);
        assert!(
            !report.policies.is_empty(),
            "{}: no policy found",
            path.display()
        );
    }
}

#[test]
fn article_originals_get_the_right_errors() {
    // (file, [(code, line)]): reviewed against testdata/policies/article/README.md.
    let expected: &[(&str, &[(&str, usize)])] = &[
        // L21 `- 443` is an integer where the CRD wants a string.
        ("original-block-443-for-wget.yaml", &[("S003", 21)]),
        // L4 `Block-screct-files` has a capital letter.
        ("original-block-secret-files.yaml", &[("S007", 4)]),
        // No load-time mistake.
        ("original-detect-sudo.yaml", &[]),
        // L21 FollowFD was removed; L46 `type:` one space deeper than `index:` is a YAML error,
        // which hides the UnfollowFD of L49 (nothing after a syntax error is checked).
        (
            "original-followfd-write.yaml",
            &[("P045", 21), ("Y001", 46)],
        ),
        // L13 declares arg 1 `filename`; L19 applies Equal to it.
        ("original-kill-mkdir-test.yaml", &[("P021", 19)]),
        // L17-19 are indented with tabs; the first one is reported.
        ("original-mkdir-return-tab.yaml", &[("Y003", 17)]),
        // L25 `argSig: ` is empty (null).
        ("original-signal-empty-argsig.yaml", &[("P040", 25)]),
        // No load-time mistake.
        ("original-watch-passwd-openat.yaml", &[]),
    ];
    let dir = testdata().join("policies/article");
    let originals: Vec<String> = yaml_files(&dir)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
        .filter(|n| n.starts_with("original-"))
        .collect();
    let listed: Vec<String> = expected.iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(
        originals, listed,
        "every original-*.yaml needs an entry here"
    );
    for (file, want) in expected {
        let report = check(file, read(&dir.join(file)));
        let got: Vec<(&str, usize)> = report
            .diagnostics
            .iter()
            .map(|d| (d.code.as_str(), report.source.position(d.span.start).line))
            .collect();
        assert_eq!(got, *want, "{file}:\n{}", render(&report));
    }
}

#[test]
fn tetragon_examples_have_no_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/tetragon-examples");
    if !dir.is_dir() {
        println!("skipping: ../shared/tetragon-examples not present");
        return;
    }
    let files = yaml_files(&dir);
    assert!(!files.is_empty(), "{} has no yaml files", dir.display());
    for path in files {
        let report = check(&path.display().to_string(), read(&path));
        assert_sane(&path.display().to_string(), &report);
        let errors: Vec<_> = report
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        assert!(
            errors.is_empty(),
            "{}: expected no error, got\n{}",
            path.display(),
            render(&report)
        );
    }
}
