//! Tetragon's own policies against reviewed verdicts: `testdata/corpus/verdicts.tsv` says, for
//! every file of `../shared/tetragon-corpus/` (302 policies from Tetragon's docs and tests) and
//! `../shared/tetragon-examples/` (its 78 example policies), whether Tetragon loads it or refuses
//! it, and which Tetragon file and function decides that.
//!
//! - `loads`: policyctl reports no error, without a kernel; against the three fixture kernels it
//!   may add only kernel (`K`) errors, each naming its kernels (a kernel that lacks what the
//!   policy needs).
//! - `refused`: Tetragon refuses the policy text at load; policyctl reports at least one error.
//! - `refused-runtime`: Tetragon refuses it for a reason no static check can see (the binary a
//!   uprobe names, the running kernel's features); recorded, not asserted.
//!
//! The `codes` column (error codes without a kernel) and `kernel_codes` (kernel error codes as
//! `CODE@kernel`) are what policyctl gives today, kept so that every change shows in review:
//! `UPDATE_VERDICTS=1 cargo test -p policyctl-validator --test corpus` rewrites those two
//! columns (never a verdict); read the diff like code.
//!
//! Without `../shared/` the test says it was skipped, and fails when `CI` is set.

#[path = "../../tests/support/skip.rs"]
mod skip;
use skip::skip;

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use policyctl_validator::{check_source, check_source_with, FileReport, Severity, SourceFile};
use support::fixture_kernels;

const CORPORA: &[&str] = &["tetragon-corpus", "tetragon-examples"];

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

fn verdicts_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/corpus/verdicts.tsv")
}

/// One row of the verdict table, by column name.
struct Row {
    fields: BTreeMap<String, String>,
}

impl Row {
    fn get(&self, column: &str) -> &str {
        self.fields.get(column).map_or("", String::as_str)
    }
}

fn read_table(path: &Path) -> (Vec<String>, Vec<Row>) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .expect("a header line")
        .split('\t')
        .map(str::to_string)
        .collect();
    let rows = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cells: Vec<&str> = l.split('\t').collect();
            assert!(
                cells.len() <= header.len(),
                "{}: more cells than columns in `{l}`",
                path.display()
            );
            Row {
                fields: header
                    .iter()
                    .cloned()
                    .zip(cells.iter().map(|c| c.to_string()))
                    .collect(),
            }
        })
        .collect();
    (header, rows)
}

fn corpus_files() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for corpus in CORPORA {
        let dir = shared().join(corpus);
        for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".yaml") || name.ends_with(".yml") {
                out.insert(format!("{corpus}/{name}"));
            }
        }
    }
    out
}

/// Error codes of a report, sorted and deduplicated.
fn error_codes(report: &FileReport, kernel: bool) -> BTreeSet<String> {
    report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .filter(|d| d.code.as_str().starts_with('K') == kernel)
        .flat_map(|d| {
            if kernel {
                d.kernels
                    .iter()
                    .map(|k| format!("{}@{}", d.code.as_str(), short_kernel(k)))
                    .collect::<Vec<_>>()
            } else {
                vec![d.code.as_str().to_string()]
            }
        })
        .collect()
}

/// `6.12.117+deb12-amd64` → `6.12`.
fn short_kernel(name: &str) -> String {
    name.split('.').take(2).collect::<Vec<_>>().join(".")
}

fn join(codes: &BTreeSet<String>) -> String {
    codes.iter().cloned().collect::<Vec<_>>().join(",")
}

fn render(report: &FileReport) -> String {
    let mut s = String::new();
    for d in &report.diagnostics {
        let _ = writeln!(
            s,
            "  {}:{} {} {} {}",
            report.source.position(d.span.start).line,
            report.source.position(d.span.start).column,
            d.severity.as_str(),
            d.code.as_str(),
            d.message
        );
    }
    s
}

#[test]
fn tetragon_corpora_match_their_verdicts() {
    if !shared().join(CORPORA[0]).is_dir() {
        skip(
            "tetragon_corpora_match_their_verdicts",
            &format!(
                "../shared/{} is not beside the repository; the corpus verdicts were not checked",
                CORPORA[0]
            ),
        );
        return;
    }
    let (header, rows) = read_table(&verdicts_path());
    for column in [
        "file",
        "verdict",
        "decided_by",
        "note",
        "codes",
        "kernel_codes",
    ] {
        assert!(
            header.iter().any(|h| h == column),
            "verdicts.tsv has no `{column}` column"
        );
    }
    let listed: BTreeSet<String> = rows.iter().map(|r| r.get("file").to_string()).collect();
    assert_eq!(listed.len(), rows.len(), "a file is listed twice");
    let present = corpus_files();
    let missing: Vec<_> = present.difference(&listed).collect();
    let gone: Vec<_> = listed.difference(&present).collect();
    assert!(
        missing.is_empty() && gone.is_empty(),
        "verdicts.tsv is out of step with ../shared: without a verdict {missing:?}; no such file {gone:?}"
    );

    let kernels = fixture_kernels();
    let update = std::env::var("UPDATE_VERDICTS").is_ok_and(|v| v == "1");
    let mut problems = Vec::new();
    let mut changed = Vec::new();
    let mut updated = Vec::new();
    let mut tally: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for row in &rows {
        let file = row.get("file");
        let verdict = row.get("verdict");
        assert!(
            matches!(verdict, "loads" | "refused" | "refused-runtime"),
            "{file}: unknown verdict `{verdict}`"
        );
        assert!(
            !row.get("decided_by").is_empty(),
            "{file}: says nothing of where Tetragon decides"
        );
        let text = std::fs::read_to_string(shared().join(file)).unwrap();
        let without = check_source(SourceFile::new(file, text.clone()));
        let with = check_source_with(SourceFile::new(file, text), kernels);
        let codes = join(&error_codes(&without, false));
        let kernel_codes = join(&error_codes(&with, true));
        let entry = tally.entry(verdict.to_string()).or_default();
        entry.0 += 1;
        match verdict {
            "loads" if !codes.is_empty() => problems.push(format!(
                "{file}: Tetragon loads it ({}), policyctl reports errors:\n{}",
                row.get("decided_by"),
                render(&without)
            )),
            "refused" if codes.is_empty() => problems.push(format!(
                "{file}: Tetragon refuses it ({}: {}), policyctl reports no error:\n{}",
                row.get("decided_by"),
                row.get("note"),
                render(&without)
            )),
            _ => entry.1 += 1,
        }
        // Kernels add kernel errors only.
        let non_kernel_with = join(&error_codes(&with, false));
        if non_kernel_with != codes {
            problems.push(format!(
                "{file}: errors without a kernel `{codes}`, with the fixture kernels `{non_kernel_with}`"
            ));
        }
        if codes != row.get("codes") || kernel_codes != row.get("kernel_codes") {
            changed.push(format!(
                "{file}: codes `{}` → `{codes}`, kernel_codes `{}` → `{kernel_codes}`",
                row.get("codes"),
                row.get("kernel_codes")
            ));
        }
        updated.push((row, codes, kernel_codes));
    }
    for (verdict, (n, agree)) in &tally {
        println!("{verdict}: {n} files, {agree} as policyctl sees them");
    }
    if update {
        let mut out = header.join("\t");
        out.push('\n');
        for (row, codes, kernel_codes) in &updated {
            let cells: Vec<String> = header
                .iter()
                .map(|h| match h.as_str() {
                    "codes" => codes.clone(),
                    "kernel_codes" => kernel_codes.clone(),
                    _ => row.get(h).to_string(),
                })
                .collect();
            out.push_str(&cells.join("\t"));
            out.push('\n');
        }
        std::fs::write(verdicts_path(), out).unwrap();
    }
    assert!(
        problems.is_empty(),
        "{} disagreements with Tetragon:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        update || changed.is_empty(),
        "policyctl's codes changed on {} files (rerun with UPDATE_VERDICTS=1 and review the diff):\n{}",
        changed.len(),
        changed.join("\n")
    );
}
