//! `policyctl run --dry-run`: plans policies for kernel files without root and loads nothing.
//!
//! - The article's fixed policies against the 6.12 fixture: how each hook would attach, the one
//!   refusal and the exit code (text and JSON).
//! - Kernel options belong to the dry run only.
//! - The tally of real policies (`testdata/policies/valid/`, `../shared/tetragon-examples/`,
//!   `../shared/tetragon-corpus/`) against the 6.12 and 6.1 fixtures with their configurations:
//!   how many of the policies that check clean the runtime compiles, and every reason it refuses
//!   the others, counted (a reviewed snapshot: a change in what runs shows in review). Without
//!   `../shared/` that test is skipped, and fails when `CI` is set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

#[path = "support/skip.rs"]
mod skip;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn policyctl() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_policyctl"));
    c.current_dir(root()).env("NO_COLOR", "1");
    c
}

const K612: &str = "6.12=testdata/btf/6.12.117+deb12-amd64.btf.zst";
const CFG612: &str = "6.12=testdata/btf/6.12.117+deb12-amd64.config.gz";
const K61: &str = "6.1=testdata/btf/6.1.0-56-amd64.btf.zst";
const CFG61: &str = "6.1=testdata/btf/6.1.0-56-amd64.config.gz";

fn article() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(root().join("testdata/policies/article"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("fixed-") && n.ends_with(".yaml"))
        .map(|n| format!("testdata/policies/article/{n}"))
        .collect();
    files.sort();
    files
}

#[test]
fn article_policies_planned_for_a_kernel_file() {
    let out = policyctl()
        .args(["run", "--dry-run", "--btf", K612, "--kernel-config", CFG612])
        .args(article())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // One policy is refused (a return probe): exit 1, and every other hook says how it attaches.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    insta::assert_snapshot!("dry_run_article_612", stdout);

    let out = policyctl()
        .args(["run", "--dry-run", "--format", "json", "--btf", K612])
        .args(["--kernel-config", CFG612])
        .args(article())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let k = &v["kernels"][0];
    assert_eq!(k["kernel"], "6.12");
    let policies = k["policies"].as_array().unwrap();
    assert_eq!(policies.len(), article().len());
    let kill = policies
        .iter()
        .find(|p| p["policy"] == "kill-mkdir-test")
        .unwrap();
    assert_eq!(kill["hooks"][0]["attach"], "kprobe", "{kill}");
    assert_eq!(kill["hooks"][0]["args"], 3, "{kill}");
    assert_eq!(k["refused"], 1);
}

#[test]
fn a_kernel_without_kprobes_plans_syscalls_on_their_tracepoints() {
    // 6.18's configuration has no CONFIG_KPROBES: the dry run plans as `run` on that host would,
    // kprobe syscall hooks served by fentry, or by each syscall's own tracepoint when asked.
    let out = policyctl()
        .args([
            "run",
            "--dry-run",
            "--format",
            "json",
            "--attach",
            "tracepoint",
        ])
        .args(["--btf", "testdata/btf/6.18.44-fc-v769.btf.zst"])
        .args(["--kernel-config", "testdata/btf/6.18.44-fc-v769.config.gz"])
        .arg("testdata/policies/article/fixed-watch-passwd-openat.yaml")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let k = &v["kernels"][0];
    assert_eq!(k["features"]["kprobes"], false, "{k}");
    let hook = &k["policies"][0]["hooks"][0];
    assert_eq!(hook["attach"], "tracepoint", "{k}");
    assert_eq!(
        hook["target"], "tracepoint `syscalls/sys_enter_openat`",
        "{k}"
    );
    assert_eq!(out.status.code(), Some(0), "{k}");
}

#[test]
fn kernel_options_belong_to_the_dry_run() {
    let out = policyctl()
        .args([
            "run",
            "--btf",
            K612,
            "testdata/policies/article/fixed-detect-sudo.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("are for --dry-run"), "{err}");
    let out = policyctl()
        .args([
            "run",
            "--format",
            "json",
            "testdata/policies/article/fixed-detect-sudo.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap refuses --format without --dry-run"
    );
}

/// The YAML files of `dir` (relative to the repository), as paths relative to the repository.
fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .flatten()
        .map(|e| Path::new(dir).join(e.file_name()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
}

/// The reason of a refusal without the hook it names: `kprobe `x`: return probes ...` counts
/// with every other return probe.
fn reason(text: &str) -> String {
    let text = match text.split_once("`: ") {
        Some((head, rest)) if !head.contains(' ') || head.split(' ').count() == 2 => rest,
        _ => text,
    };
    // The list of what the runtime reads, after a type it does not, is the same every time.
    text.split(" (it reads").next().unwrap_or(text).to_string()
}

#[test]
fn real_policies_tally() {
    let shared = root().join("../shared");
    if !shared.join("tetragon-examples").is_dir() || !shared.join("tetragon-corpus").is_dir() {
        skip::skip(
            "real_policies_tally",
            "../shared/tetragon-examples and ../shared/tetragon-corpus are not there",
        );
        return;
    }
    let mut files = yaml_files("testdata/policies/valid");
    files.extend(yaml_files("../shared/tetragon-examples"));
    files.extend(yaml_files("../shared/tetragon-corpus"));
    let out = policyctl()
        .args(["run", "--dry-run", "--format", "json"])
        .args([
            "--btf",
            K612,
            "--kernel-config",
            CFG612,
            "--btf",
            K61,
            "--kernel-config",
            CFG61,
        ])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let mut report = String::new();
    for k in v["kernels"].as_array().unwrap() {
        let policies = k["policies"].as_array().unwrap();
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        let (mut runs, mut check_refused) = (0usize, 0usize);
        for p in policies {
            let refused = p["refused"].as_array().unwrap();
            match refused.first().and_then(Value::as_str) {
                None => runs += 1,
                Some(r) if r.contains(" from the check (") => check_refused += 1,
                Some(r) => *reasons.entry(reason(r)).or_default() += 1,
            }
        }
        let checked_clean = policies.len() - check_refused;
        report.push_str(&format!(
            "{}: {} policies; {check_refused} refused by the check; of the {checked_clean} that check clean, {runs} compile ({:.1} %)\n",
            k["kernel"].as_str().unwrap(),
            policies.len(),
            100.0 * runs as f64 / checked_clean.max(1) as f64,
        ));
        let mut by_count: Vec<(usize, String)> = reasons.into_iter().map(|(r, n)| (n, r)).collect();
        by_count.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (n, r) in by_count {
            report.push_str(&format!("  {n:>3}  {r}\n"));
        }
        // All of them at once go past the runtime's shared limits: counted, by reason.
        let mut together: BTreeMap<String, usize> = BTreeMap::new();
        for t in k["together"].as_array().unwrap() {
            let t = t.as_str().unwrap();
            let why = t.rsplit_once("`: ").map_or(t, |(_, why)| why);
            *together.entry(why.to_string()).or_default() += 1;
        }
        for (why, n) in together {
            report.push_str(&format!("  all at once: {n} x {why}\n"));
        }
    }
    insta::assert_snapshot!("dry_run_real_policies_tally", report);
}

#[test]
fn a_policy_directory_is_read_as_tetragon_reads_it() {
    // Every regular file of the directory and of its subdirectories, in lexical order.
    let dir = std::env::temp_dir().join(format!("policyctl-dry-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("more/deeper")).unwrap();
    let copy = |from: &str, to: &str| {
        std::fs::copy(
            root().join("testdata/policies/article").join(from),
            dir.join(to),
        )
        .unwrap();
    };
    copy("fixed-kill-mkdir-test.yaml", "b-kill-mkdir");
    copy("fixed-detect-sudo.yaml", "more/a-sudo.yml");
    copy("fixed-watch-passwd-openat.yaml", "more/deeper/ignored.yaml");
    let out = policyctl()
        .args([
            "run",
            "--dry-run",
            "--format",
            "json",
            "--btf",
            K612,
            "--policy-dir",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let files: Vec<String> = v["kernels"][0]["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            Path::new(p["file"].as_str().unwrap())
                .strip_prefix(&dir)
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(files, ["b-kill-mkdir", "more/a-sudo.yml"]);
    assert_eq!(out.status.code(), Some(0), "{v}");
    let _ = std::fs::remove_dir_all(&dir);
}
