//! The real policies of the tally (`tests/dry_run.rs`) and of the VM corpus test
//! (`tests/vm/corpus_attach.rs`), gathered and planned in one place, so that both count the same
//! policies: every YAML file of `testdata/policies/valid/`, `../shared/tetragon-examples/` and
//! `../shared/tetragon-corpus/`, planned by `policyctl run --dry-run --format json
//! --allow-network-actions` for the fixtures of the two VM kernels with their configurations.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The 6.12 fixture (Debian's 6.12.117), named `6.12`.
pub const K612: &str = "6.12=testdata/btf/6.12.117+deb12-amd64.btf.zst";
/// Its configuration.
pub const CFG612: &str = "6.12=testdata/btf/6.12.117+deb12-amd64.config.gz";
/// The 6.1 fixture (Debian's 6.1.0-56), named `6.1`.
pub const K61: &str = "6.1=testdata/btf/6.1.0-56-amd64.btf.zst";
/// Its configuration.
pub const CFG61: &str = "6.1=testdata/btf/6.1.0-56-amd64.config.gz";

/// Both fixtures, as `(btf, config)`.
pub const BOTH: [(&str, &str); 2] = [(K612, CFG612), (K61, CFG61)];

/// The checkout's root: file names are relative to it.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The YAML files of `dir` (relative to the root), sorted.
pub fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .flatten()
        .map(|e| Path::new(dir).join(e.file_name()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
}

/// Every file of the three sets, relative to the root; `Err` with the reason when `../shared/`
/// lacks the two Tetragon sets.
pub fn files() -> Result<Vec<PathBuf>, String> {
    let shared = root().join("../shared");
    if !shared.join("tetragon-examples").is_dir() || !shared.join("tetragon-corpus").is_dir() {
        return Err(
            "../shared/tetragon-examples and ../shared/tetragon-corpus are not there".into(),
        );
    }
    let mut files = yaml_files("testdata/policies/valid");
    files.extend(yaml_files("../shared/tetragon-examples"));
    files.extend(yaml_files("../shared/tetragon-corpus"));
    Ok(files)
}

/// `policyctl run --dry-run --format json --allow-network-actions` of `files` for `kernels`
/// (`(btf, config)` flags): the JSON object (`kernels`, each with its `policies` and what they
/// refuse `together`). Panics unless it exits 0 or 1.
pub fn dry_run(files: &[PathBuf], kernels: &[(&str, &str)]) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_policyctl"));
    cmd.current_dir(root()).env("NO_COLOR", "1").args([
        "run",
        "--dry-run",
        "--format",
        "json",
        "--allow-network-actions",
    ]);
    for (btf, config) in kernels {
        cmd.args(["--btf", btf, "--kernel-config", config]);
    }
    let out = cmd.args(files).output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// The policies of one kernel's dry run that compile (nothing refused), as `(file, policy)`.
pub fn compiled(kernel: &Value) -> Vec<(String, String)> {
    kernel["policies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["refused"].as_array().is_some_and(Vec::is_empty))
        .map(|p| {
            (
                p["file"].as_str().unwrap_or_default().to_string(),
                p["policy"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}
