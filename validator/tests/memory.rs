//! The memory bound of checking one file: for any input of up to 4 MiB (the largest file
//! policyctl reads), checking it and writing every output format (streamed, with
//! `render::write`) stays under [`BOUND_MB`] of peak resident memory above what the process
//! held before.
//!
//! The worst cases of each limit are measured one after the other in this one test (its own
//! process, so no other test's memory is counted): the peak (`VmHWM`) is reset before each
//! through `/proc/self/clear_refs` and read after. Linux only; elsewhere the test says so and
//! passes.

#[path = "../../tests/support/skip.rs"]
mod skip;
use skip::skip;

use std::io::Write;

use policyctl_validator::render::{self, Format, TextOptions};
use policyctl_validator::yaml::{MAX_FILE_BYTES, MAX_NODES};
use policyctl_validator::{check_source, FileReport, SourceFile};

/// Peak memory, above the baseline, allowed to check and render any 4 MiB file.
const BOUND_MB: usize = 300;

fn status_kb(field: &str) -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reset the peak to the current resident size; false when the kernel does not allow it.
fn reset_peak() -> bool {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/clear_refs")
        .and_then(|mut f| f.write_all(b"5"))
        .is_ok()
}

/// Fill `unit` repeatedly up to 4 MiB (`head` first).
fn fill(head: &str, unit: &str) -> String {
    let mut t = String::from(head);
    while t.len() + unit.len() <= MAX_FILE_BYTES {
        t.push_str(unit);
    }
    t
}

fn cases() -> Vec<(&'static str, String)> {
    let policy_head =
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: m\nspec:\n";
    let big = "x".repeat(1 << 20);
    let mut fan_out = format!("a0: &a0 \"{}\"\n", "y".repeat(1 << 16));
    for i in 1..8 {
        let prev = vec![format!("*a{}", i - 1); 16].join(", ");
        fan_out.push_str(&format!("a{i}: &a{i} [{prev}]\n"));
    }
    let one_line: String = {
        let keys: Vec<String> = (0..30_000).map(|i| format!("u{i}: 1")).collect();
        format!(
            "{{apiVersion: cilium.io/v1alpha1, kind: TracingPolicy, metadata: {{name: x}}, spec: {{{}}}}}\n---\n",
            keys.join(", ")
        )
    };
    // As many unknown fields as the node limit allows: one S001 each.
    let mut unknown = String::from(policy_head);
    for i in 0..(MAX_NODES / 2 - 20) {
        unknown.push_str(&format!("  u{i}: 1\n"));
    }
    vec![
        (
            "1 MiB anchor, 10,000 aliases",
            format!("a: &a \"{big}\"\nb: [{}]\n", vec!["*a"; 10_000].join(", ")),
        ),
        ("alias fan-out 16^7 of 64 KiB", fan_out),
        ("4 MiB flow list at the root", fill("[", "a,")),
        ("4 MiB flow list under a key", fill("v: [", "a,")),
        ("4 MiB block list", fill("", "- a\n")),
        ("4 MiB of one-line documents", fill("", "a\n---\n")),
        ("4 MiB of duplicate keys", fill("", "a: 1\n")),
        ("250,000 unknown fields", unknown),
        ("4 MiB of one-line flow policies", fill("", &one_line)),
    ]
}

/// Run one case in this process and print its peak; the parent runs each case in a child of
/// its own, so that memory freed by one case does not hide the next one's.
fn run_case(index: usize) {
    let (name, text) = cases().swap_remove(index);
    let base = status_kb("VmRSS:").unwrap_or(0);
    assert!(reset_peak());
    let started = std::time::Instant::now();
    let report = check_source(SourceFile::new("m.yaml", text));
    let checked = started.elapsed();
    let diagnostics = report.diagnostics.len();
    // The text format holds one diagnostic's drawing at a time, so its memory does not depend
    // on how many it draws; past 5,000 only the first are drawn (miette is not optimised in
    // test builds: 500,000 take half a minute there, 3 s in a release build).
    let first = FileReport {
        source: report.source.clone(),
        policies: Vec::new(),
        other_documents: 0,
        diagnostics: report.diagnostics.iter().take(5_000).cloned().collect(),
        kernels: Vec::new(),
    };
    let reports = [report];
    let mut times = Vec::new();
    for format in FORMATS {
        let t = std::time::Instant::now();
        let mut sink = std::io::BufWriter::new(std::io::sink());
        let which = if format == Format::Text {
            std::slice::from_ref(&first)
        } else {
            &reports[..]
        };
        render::write(which, format, &TextOptions::default(), &mut sink).unwrap();
        times.push(format!("{format:?} {:?}", t.elapsed()));
    }
    let peak = status_kb("VmHWM:").unwrap_or(0).saturating_sub(base) / 1024;
    println!(
        "PEAK {peak} MB: {name} ({diagnostics} diagnostics; check {checked:?}, {})",
        times.join(", ")
    );
}

const FORMATS: [Format; 4] = [Format::Text, Format::Json, Format::Github, Format::Sarif];

#[test]
fn any_4_mib_file_stays_under_the_bound() {
    if let Ok(i) = std::env::var("POLICYCTL_MEMORY_CASE") {
        run_case(i.parse().unwrap());
        return;
    }
    if !reset_peak() {
        skip(
            "any_4_mib_file_stays_under_the_bound",
            "/proc/self/clear_refs cannot be written here (the peak memory cannot be reset)",
        );
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let mut worst = (0, String::new());
    for i in 0..cases().len() {
        let out = std::process::Command::new(&exe)
            .args([
                "--exact",
                "any_4_mib_file_stays_under_the_bound",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("POLICYCTL_MEMORY_CASE", i.to_string())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "case {i}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find_map(|l| l.find("PEAK ").map(|at| &l[at..]))
            .unwrap_or_else(|| panic!("case {i}: {stdout}"));
        eprintln!("{line}");
        let mb: usize = line[5..].split(' ').next().unwrap().parse().unwrap();
        if mb > worst.0 {
            worst = (mb, line.to_string());
        }
    }
    assert!(worst.0 < BOUND_MB, "more than {BOUND_MB} MB: {}", worst.1);
}
