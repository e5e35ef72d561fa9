//! The examples of every code (`testdata/checks/<CODE>/`) and the policy corpora
//! (`testdata/policies/`), run through `check_source`.
//!
//! - every code has an `invalid.yaml` that reports it and a `valid.yaml` that reports nothing;
//! - every `invalid*.yaml` has a reviewed snapshot of its diagnostics (`snapshots/`);
//! - diagnostics of every fixture and corpus file have sane spans, messages and codes;
//! - the valid corpus and the fixed article policies are clean, the original article policies
//!   get exactly the errors listed in `testdata/policies/article/README.md`;
//! - the corpora checked against the fixture kernels have reviewed snapshots of their kernel
//!   (K) diagnostics.
//!
//! Kernel codes (`K*`) depend on the kernel: their fixtures are checked against the three
//! fixture kernels of [`support::fixture_kernels`] (each loaded with a different amount of
//! knowledge), every other fixture without a kernel, as before. A `K*/valid.yaml` has no
//! diagnostic of its own code on any kernel and no Y/S/P diagnostic at all; another K code it
//! gets on some kernel (K030 for kprobes on 6.18, which has none) is named in its comment.
//!
//! Y006 (file larger than 4 MiB) is special: a 4 MiB fixture is not committed. Its
//! `invalid.yaml` is a small policy that [`fixture_text`] pads with comment lines past the
//! limit before checking it. Y004 (billion laughs) and Y005 (nesting depth) fixtures are small
//! files that really trigger their code.
//!
//! Update the snapshots with `INSTA_UPDATE=always cargo test -p policyctl-validator --test checks`
//! and review every changed `.snap` file like code.

#[path = "../../tests/support/skip.rs"]
mod skip;
use skip::skip;

mod support;

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use policyctl_validator::codes::{self, Code};
use policyctl_validator::kernel::config::KernelConfig;
use policyctl_validator::kernel::{HostFacts, Kernel};
use policyctl_validator::{
    check_source, check_source_with, explain, Diagnostic, FileReport, Severity, SourceFile,
};
use support::fixture_kernels;

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

/// Is this a kernel code (checked against the fixture kernels)?
fn is_kernel_code(code: &str) -> bool {
    code.starts_with('K')
}

/// The kernels a fixture of `code` is checked against: the fixture kernels for K codes, none
/// for the others (whose snapshots predate kernels and stay as they are).
fn kernels_for(code: &str) -> &'static [Arc<Kernel>] {
    if code == "K040" {
        host_kernel()
    } else if is_kernel_code(code) {
        fixture_kernels()
    } else {
        &[]
    }
}

/// K040 judges the host's files: its fixtures are checked against 6.12's BTF loaded as a live
/// host whose filesystem is `testdata/checks/K040/root/` (see its README).
fn host_kernel() -> &'static [Arc<Kernel>] {
    static HOST: std::sync::OnceLock<Vec<Arc<Kernel>>> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let mut k = Kernel::load(&support::FIXTURE_KERNELS[1].spec()).expect("6.12 fixture");
        k.host = Some(HostFacts {
            root: Some(checks_dir().join("K040/root")),
            ..HostFacts::default()
        });
        vec![Arc::new(k)]
    })
}

/// Check a fixture of `code` (see [`kernels_for`]).
fn check_fixture(code: &str, name: &str, text: String) -> FileReport {
    check_source_with(SourceFile::new(name, text), kernels_for(code))
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

/// `[6.1.0-56-amd64, 6.12.117+deb12-amd64] ` for a diagnostic that depends on the kernel,
/// nothing for one that does not.
fn kernels_tag(d: &Diagnostic) -> String {
    if d.kernels.is_empty() {
        String::new()
    } else {
        format!("[{}] ", d.kernels.join(", "))
    }
}

/// One line per diagnostic: `line:col-end_line:end_col severity CODE [kernels] message` (the
/// kernels only for a diagnostic that names them), then its help.
fn render(report: &FileReport) -> String {
    let mut s = String::new();
    for d in &report.diagnostics {
        let start = report.source.position(d.span.start);
        let end = report.source.position(d.span.end);
        let _ = writeln!(
            s,
            "{}:{}-{}:{} {} {} {}{}",
            start.line,
            start.column,
            end.line,
            end.column,
            d.severity.as_str(),
            d.code,
            kernels_tag(d),
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
        let report = check_fixture(
            code.as_str(),
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
        // What `policyctl explain` shows is what the tests check: the embedded invalid example
        // reports its code (on some fixture kernel, for K codes), the valid one does not.
        if code.as_str() != "Y006" {
            let report = check_fixture(code.as_str(), "embedded-invalid.yaml", invalid.to_string());
            assert!(
                report.diagnostics.iter().any(|d| d.code == *code),
                "{code}: the embedded invalid example does not report it\n{}",
                render(&report)
            );
        }
        let report = check_fixture(code.as_str(), "embedded-valid.yaml", valid.to_string());
        assert!(
            !report.diagnostics.iter().any(|d| d.code == *code),
            "{code}: the embedded valid example reports it\n{}",
            render(&report)
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

/// Every code's `valid.yaml`, and every `valid_*.yaml` twin beside it (the cases that look like
/// the mistake but are not one, such as a policy Tetragon loads), reports nothing.
#[test]
fn valid_examples_are_clean() {
    for code in codes::ALL {
        let dir = checks_dir().join(code.as_str());
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy();
                name.starts_with("valid") && name.ends_with(".yaml")
            })
            .collect();
        paths.sort();
        assert!(
            paths.iter().any(|p| p.ends_with("valid.yaml")),
            "{code}: no valid.yaml"
        );
        for path in paths {
            let report = if is_kernel_code(code.as_str()) {
                assert_kernel_valid(*code, &path)
            } else {
                assert_clean(&path)
            };
            assert_eq!(
                report.policies.len(),
                1,
                "{}: expected one policy",
                path.display()
            );
        }
    }
}

/// A K code's valid example, checked against the fixture kernels: no diagnostic of its code
/// on any kernel, no Y/S/P diagnostic, and every other K code it gets named in the file (its
/// comment says why it is there).
fn assert_kernel_valid(code: Code, path: &Path) -> FileReport {
    let text = read(path);
    let report = check_fixture(code.as_str(), &path.display().to_string(), text.clone());
    for d in &report.diagnostics {
        let at = format!("{}: {} {}", path.display(), d.code, d.message);
        assert_ne!(d.code, code, "{at}: the valid example reports its own code");
        assert!(
            is_kernel_code(d.code.as_str()),
            "{at}: a valid example has no schema or semantic diagnostic\n{}",
            render(&report)
        );
        assert!(
            text.contains(d.code.as_str()),
            "{at}: a K code on a valid example must be explained in its comment"
        );
    }
    report
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
        fixtures.len() >= 122,
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
        let report = check_fixture(
            &code,
            &format!("{code}/{stem}.yaml"),
            fixture_text(&code, &path),
        );
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
    for d in &report.diagnostics {
        let at = format!("{what}: {} {:?}", d.code, d.span);
        if is_kernel_code(d.code.as_str()) {
            assert!(
                !d.kernels.is_empty(),
                "{at}: a kernel diagnostic names no kernel"
            );
            // The kernels it names, in the order they were checked, each once.
            let mut order = report.kernels.iter();
            for k in &d.kernels {
                assert!(
                    order.any(|n| n == k),
                    "{at}: kernel {k} not checked, repeated or out of order: {:?} of {:?}",
                    d.kernels,
                    report.kernels
                );
            }
        } else {
            assert!(
                d.kernels.is_empty(),
                "{at}: a diagnostic that does not depend on the kernel names kernels {:?}",
                d.kernels
            );
        }
    }
    assert_eq!(
        report
            .policies
            .iter()
            .filter(|p| p.per_kernel.len() != report.kernels.len())
            .count(),
        0,
        "{what}: per-kernel counts do not match the kernels checked"
    );
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
        let report = check_fixture(
            &code,
            &path.display().to_string(),
            fixture_text(&code, &path),
        );
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

/// Check `files` (named relative to `root`) with and without the fixture kernels; assert what
/// the kernels may and may not change, and render every K diagnostic as
/// `file:line CODE severity [kernels] message`, then how many policies are clean, warned or in
/// error on each kernel.
fn kernel_corpus_report(root: &Path, files: &[PathBuf]) -> String {
    let kernels = fixture_kernels();
    let mut s = String::new();
    // Per kernel: (clean, warn, error) policies.
    let mut status = vec![(0usize, 0usize, 0usize); kernels.len()];
    let mut policies = 0;
    for path in files {
        let name = path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string();
        let text = read(path);
        let without = check(&name, text.clone());
        let with = check_source_with(SourceFile::new(name.as_str(), text), kernels);
        assert_sane(&name, &with);
        assert_eq!(with.kernels.len(), kernels.len());
        // The kernels add K diagnostics and nothing else: no Y/S/P error comes from them.
        let new_errors: Vec<&Diagnostic> = with
            .diagnostics
            .iter()
            .filter(|d| !is_kernel_code(d.code.as_str()) && d.severity == Severity::Error)
            .filter(|d| !without.diagnostics.contains(d))
            .collect();
        assert!(
            new_errors.is_empty(),
            "{name}: errors that appear only with kernels: {new_errors:?}"
        );
        for d in with
            .diagnostics
            .iter()
            .filter(|d| is_kernel_code(d.code.as_str()))
        {
            assert!(!d.kernels.is_empty(), "{name}: {} names no kernel", d.code);
            let _ = writeln!(
                s,
                "{name}:{} {} {} {}{}",
                with.source.position(d.span.start).line,
                d.code,
                d.severity.as_str(),
                kernels_tag(d),
                d.message
            );
        }
        for p in &with.policies {
            policies += 1;
            for (i, &(errors, warnings)) in p.per_kernel.iter().enumerate() {
                match (errors, warnings) {
                    (0, 0) => status[i].0 += 1,
                    (0, _) => status[i].1 += 1,
                    _ => status[i].2 += 1,
                }
            }
        }
    }
    let _ = writeln!(s, "\n{} files, {policies} policies:", files.len());
    for (k, (clean, warn, error)) in kernels.iter().zip(&status) {
        let _ = writeln!(
            s,
            "{}: {clean} clean, {warn} with warnings, {error} with errors",
            k.name
        );
    }
    s
}

#[test]
fn corpus_on_fixture_kernels() {
    let root = testdata().join("policies");
    let mut files = yaml_files(&root.join("valid"));
    files.extend(yaml_files(&root.join("article")).into_iter().filter(|p| {
        p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("fixed-")
    }));
    assert!(files.len() >= 60, "only {} files", files.len());
    insta::assert_snapshot!(
        "corpus_on_fixture_kernels",
        kernel_corpus_report(&root, &files)
    );
}

#[test]
fn tetragon_examples_on_fixture_kernels() {
    // Whether each example loads is `tests/corpus.rs`'s (reviewed verdicts); this shows what the
    // fixture kernels add.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/tetragon-examples");
    if !dir.is_dir() {
        skip(
            "tetragon_examples",
            "../shared/tetragon-examples is not beside the repository",
        );
        return;
    }
    let files = yaml_files(&dir);
    assert!(!files.is_empty(), "{} has no yaml files", dir.display());
    insta::assert_snapshot!(
        "tetragon_examples_on_fixture_kernels",
        kernel_corpus_report(&dir, &files)
    );
}

#[test]
fn k030_bpf_left_out_of_config_lsm() {
    // No fixture kernel lacks BPF LSM (all three have CONFIG_BPF_LSM=y and bpf in CONFIG_LSM),
    // so K030 for `lsmhooks` is shown on 6.18's BTF with its configuration changed in one line:
    // CONFIG_LSM without bpf, as some distributions build it (BPF LSM built in, not active
    // unless `lsm=` adds it). The policy is K030's valid example, which needs BPF LSM.
    let base = &fixture_kernels()[2];
    assert_eq!(base.name, "6.18.44-fc-v769");
    let path = support::btf_dir().join("6.18.44-fc-v769.config.gz");
    let mut config = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_string(&mut config)
        .unwrap();
    let lsm = "CONFIG_LSM=\"landlock,lockdown,yama,loadpin,safesetid,integrity,smack,tomoyo,apparmor,bpf\"";
    assert!(
        config.lines().any(|l| l == lsm),
        "6.18's CONFIG_LSM changed"
    );
    let config = config.replace(lsm, &lsm.replace(",bpf\"", "\""));
    let name = "6.18.44-fc-v769-lsm-without-bpf";
    let mut kernel = Kernel::from_btf(name, base.btf_arc());
    kernel.config = Some((KernelConfig::parse(&config), format!("{name}.config")));
    let policy = read(&checks_dir().join("K030/valid.yaml"));
    let report = check_source_with(
        SourceFile::new("K030/valid.yaml", policy),
        &[Arc::new(kernel)],
    );
    assert_sane(name, &report);
    assert_eq!(codes_of(&report), ["K030"], "{}", render(&report));
    insta::assert_snapshot!("K030__bpf_left_out_of_config_lsm", render(&report));
}

#[test]
fn k003_syscall_events_outside_the_syscall_table() {
    // init_module is a syscall of 6.1 and 6.12 (loadable modules) that the built-in syscall
    // table, read from 6.18's tracefs (no modules there), does not list: its events exist on
    // the Debian kernels, with fields policyctl does not know, so nothing is reported. An event
    // of a syscall the kernel lacks (fchmodat2 on 6.1) is reported.
    let policy = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "tp-watch-module-load"
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_init_module"
    args:
    - index: 7
      type: "string"
  - subsystem: "syscalls"
    event: "sys_exit_finit_module"
  - subsystem: "syscalls"
    event: "sys_exit_fchmodat2"
"#;
    let kernels = &fixture_kernels()[..2];
    let report = check_source_with(SourceFile::new("tp.yaml", policy), kernels);
    assert_sane("tp.yaml", &report);
    insta::assert_snapshot!("K003__syscall_events_outside_the_table", render(&report));
}

#[test]
fn an_index_past_what_a_kprobe_reads_is_one_finding() {
    // Index 5 of a one-parameter function is both past what a kprobe reads (P015, refused) and
    // past the prototype (K010): one mistake, reported once, by the error. An index the kprobe
    // can read but the function does not take stays K010's.
    let policy = |index: u8| {
        format!(
            "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: \"open\"
spec:
  kprobes:
  - call: \"security_file_open\"
    syscall: false
    args:
    - index: {index}
      type: \"file\"
"
        )
    };
    for (index, want) in [(5, "P015"), (3, "K010")] {
        let report = check_source_with(
            SourceFile::new("open.yaml", policy(index)),
            &fixture_kernels()[..2],
        );
        assert_sane("open.yaml", &report);
        let mut codes = codes_of(&report);
        codes.dedup();
        assert_eq!(codes, [want], "index {index}: {}", render(&report));
    }
}

#[test]
fn a_stub_hooked_as_a_function_with_args_is_one_finding() {
    // `__x64_sys_openat` with `syscall: false` takes one parameter (`pt_regs`): index 1 is past
    // it (K010) because the stub is read as a plain function (P006). P006 says why, alone.
    let policy = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "open"
spec:
  kprobes:
  - call: "__x64_sys_openat"
    syscall: false
    args:
    - index: 1
      type: "string"
"#;
    let report = check_source_with(
        SourceFile::new("open.yaml", policy),
        &fixture_kernels()[..2],
    );
    assert_sane("open.yaml", &report);
    assert_eq!(codes_of(&report), ["P006"], "{}", render(&report));
}
