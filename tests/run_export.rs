//! `policyctl run --export FILE`: every event also goes, as a JSON line, to a file that rotates
//! by size (Tetragon's `--export-file-max-size-mb`, `--export-file-max-backups`,
//! `--export-file-compress`). The test makes 4,000 events with a copy of `rm` run 200 times
//! (one unlink each), with 1 MiB files, compressed backups and no limit on their number, so
//! the export rotates a few times while events stream; then it counts: every event of the test is in
//! exactly one file, whole, and in the order it was printed; the files are mode 0600.
//!
//! Needs root, BTF and tracefs (as `tests/run_host.rs`); without them it prints `SKIPPED`
//! (and fails when `CI` is set).

#[path = "support/run.rs"]
mod run;
#[path = "support/skip.rs"]
mod skip;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;

use run::{pid_of, run_child, started, TempDir};
use serde_json::Value;

fn policy(binary: &str) -> String {
    run::unlinks_by("export-unlink", binary)
}

#[test]
fn export_rotates_without_losing_events() {
    const TEST: &str = "export_rotates_without_losing_events";
    if !run::ready(TEST) {
        return;
    }
    let dir = TempDir::new("export");
    let rm = dir.copy_binary("/usr/bin/rm", "rm-export");
    let policy = dir.write("policy.yaml", &policy(&rm));
    let export = dir.join("events.json");
    let running = started(&[
        policy.as_str(),
        "--policy-events-only",
        "--ring-buffer-mib",
        "16",
        "--export",
        &export,
        "--export-file-max-size-mb",
        "1",
        "--export-file-max-backups",
        "0",
        "--export-file-compress",
        "--duration",
        "300",
    ]);
    let mut pids = Vec::new();
    let mut made = 0;
    // 200 processes of 20 unlinks each: every event carries its process's arguments (about
    // 3 KiB), so the 4,000 events fill the 1 MiB files a dozen times
    for batch in 0..200 {
        let files: Vec<String> = (0..20)
            .map(|j| dir.write(&format!("f-{batch}-{j}-{}", "p".repeat(100)), ""))
            .collect();
        let args: Vec<&str> = files.iter().map(String::as_str).collect();
        let (status, pid, _) = run_child(&rm, &args);
        assert!(status.success());
        pids.push(pid as u64);
        made += files.len();
    }
    let mine = |e: &Value| pid_of(e, "process_tracepoint").is_some_and(|p| pids.contains(&p));
    running.wait_events(made, mine);
    let finished = running.stop();
    let printed: Vec<Value> = finished.events().into_iter().filter(|e| mine(e)).collect();
    assert_eq!(printed.len(), made, "{finished}");

    // The export: the backups (gzipped) in time order, then the current file.
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with("events-") && n.ends_with(".json.gz")
        })
        .collect();
    files.sort();
    assert!(files.len() >= 2, "at least two rotations: {files:?}");
    files.push(export.clone().into());
    let mut exported = Vec::new();
    for f in &files {
        let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f:?}");
        let mut text = String::new();
        if f.extension().is_some_and(|e| e == "gz") {
            flate2::read::GzDecoder::new(std::fs::File::open(f).unwrap())
                .read_to_string(&mut text)
                .unwrap();
        } else {
            text = std::fs::read_to_string(f).unwrap();
        }
        for line in text.lines() {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{f:?}: a line that is no JSON object ({e}): {line}"));
            if mine(&v) {
                exported.push(v);
            }
        }
    }
    assert_eq!(
        exported.len(),
        made,
        "events lost or doubled across {} files",
        files.len()
    );
    assert!(
        exported == printed,
        "the export holds what was printed, in order"
    );
    eprintln!(
        "{TEST}: {made} events in {} export files ({} rotations)",
        files.len(),
        files.len() - 1
    );
}
