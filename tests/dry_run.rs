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

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/samples.rs"]
mod samples;
#[path = "support/skip.rs"]
mod skip;
use samples::WARNING_ONLY;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn policyctl() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_policyctl"));
    c.current_dir(root()).env("NO_COLOR", "1");
    c
}

use corpus::{CFG612, K61, K612};

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
    // Every policy runs (one with a return probe, on a kretprobe): exit 0, and every hook says
    // how it attaches.
    assert_eq!(
        out.status.code(),
        Some(0),
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
    assert_eq!(kill["hooks"][0]["return"], Value::Null, "{kill}");
    let ret = policies
        .iter()
        .find(|p| p["policy"] == "mkdir-return-tab")
        .unwrap();
    assert_eq!(ret["hooks"][0]["return"], "kretprobe", "{ret}");
    assert_eq!(k["refused"], 0);
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
    let files = match corpus::files() {
        Ok(files) => files,
        Err(why) => {
            skip::skip("real_policies_tally", &why);
            return;
        }
    };
    // with the network actions allowed: the tally counts what the runtime can run
    let v = corpus::dry_run(&files, &corpus::BOTH);
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

// ---------------------------------------------------------------------------------------------
// The project file: `run --dry-run` and `run` read the `policyctl.toml` that `check` reads.

/// A scratch directory `target/tmp/dry_run/<name>` holding `files` (name, text).
fn scratch(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("dry_run")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    for (file, text) in files {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// `policyctl.toml` naming the 6.12 fixture (with its configuration) `fleet-6.12`, then `extra`.
fn project_toml(extra: &str) -> String {
    let at = |p: &str| root().join(p).display().to_string();
    format!(
        "[[kernel]]\nname = \"fleet-6.12\"\nbtf = \"{}\"\nconfig = \"{}\"\n\n{extra}",
        at("testdata/btf/6.12.117+deb12-amd64.btf.zst"),
        at("testdata/btf/6.12.117+deb12-amd64.config.gz"),
    )
}

fn output(cmd: &mut Command) -> (Option<i32>, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn dry_run_plans_for_the_project_files_kernels() {
    let dir = scratch(
        "kernels",
        &[
            ("policyctl.toml", &project_toml("")),
            (
                "policies/sudo.yaml",
                &std::fs::read_to_string(
                    root().join("testdata/policies/article/fixed-detect-sudo.yaml"),
                )
                .unwrap(),
            ),
        ],
    );
    let policy = dir.join("policies/sudo.yaml");
    // No --btf: the file found by walking up from the policy names the kernel.
    let (code, out, err) = output(policyctl().args(["run", "--dry-run"]).arg(&policy));
    assert_eq!(code, Some(0), "{out}{err}");
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("fleet-6.12 (kprobes: yes, fentry: yes"),
        "{out}"
    );
    assert!(
        !first.contains("assumed"),
        "the file's config is read: {out}"
    );
    assert!(
        out.ends_with("fleet-6.12: 1 of 1 policy would run\n"),
        "{out}"
    );

    // --btf replaces the file's kernels.
    let (code, out, err) = output(
        policyctl()
            .args(["run", "--dry-run", "--btf", K61])
            .arg(&policy),
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("6.1 ("), "{out}");
    assert!(!out.contains("fleet-6.12"), "{out}");

    // --config names the file from elsewhere (the policy copied out of the project).
    let lone = scratch(
        "kernels-lone",
        &[("sudo.yaml", &std::fs::read_to_string(&policy).unwrap())],
    );
    let (code, out, err) = output(
        policyctl()
            .args(["run", "--dry-run", "--format", "json", "--config"])
            .arg(dir.join("policyctl.toml"))
            .arg(lone.join("sudo.yaml")),
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let v: Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(v["kernels"][0]["kernel"], "fleet-6.12", "{v}");
    assert_eq!(v["kernels"].as_array().unwrap().len(), 1, "{v}");

    // --no-config: not the file's kernel (the running kernel's, if it has BTF).
    let (_, out, _) = output(
        policyctl()
            .args(["run", "--dry-run", "--no-config"])
            .arg(&policy),
    );
    assert!(!out.contains("fleet-6.12"), "{out}");

    // A broken project file stops the dry run and the run alike, naming the file.
    std::fs::write(dir.join("policyctl.toml"), "[[kernel]]\nname = \"x\"\n").unwrap();
    for dry in [true, false] {
        let mut cmd = policyctl();
        cmd.arg("run");
        if dry {
            cmd.arg("--dry-run");
        }
        let (code, out, err) = output(cmd.arg(&policy));
        assert_eq!(code, Some(2), "{out}{err}");
        assert!(
            err.contains("policyctl.toml") && err.contains("needs `btf`"),
            "{err}"
        );
    }
}

/// A policy named against Kubernetes' rules: S007, an error of the check that the runtime
/// does not need (it plans the hook all the same).
fn bad_name() -> String {
    WARNING_ONLY
        .replace("warn-only", "Bad_Name")
        .replace("polcy-mode", "policy-mode")
}

/// The refusals of a JSON dry run, by policy name: the first reason, or "" when it would run.
fn refusals(out: &str) -> BTreeMap<String, String> {
    let v: Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"));
    v["kernels"][0]["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["policy"].as_str().unwrap().to_string(),
                p["refused"][0].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn dry_run_refuses_what_the_project_files_severities_make_errors() {
    let bad = bad_name();
    let files = [("warn.yaml", WARNING_ONLY), ("name.yaml", bad.as_str())];
    let run = |dir: &Path, extra: &[&str]| {
        output(
            policyctl()
                .args(["run", "--dry-run", "--format", "json"])
                .args(extra)
                .arg(dir.join("warn.yaml"))
                .arg(dir.join("name.yaml")),
        )
    };
    // Defaults: the warning runs, the error refuses.
    let mut with_toml = files.to_vec();
    let plain = project_toml("");
    with_toml.push(("policyctl.toml", &plain));
    let dir = scratch("severity-default", &with_toml);
    let (code, out, err) = run(&dir, &[]);
    assert_eq!(code, Some(1), "{out}{err}");
    let r = refusals(&out);
    assert_eq!(r["warn-only"], "", "{out}");
    assert!(r["Bad_Name"].contains("S007"), "{out}");

    // The file raises P004 to an error and lowers S007 to a warning: the other way round, as
    // `check` would fail and pass them.
    let swapped = project_toml("[severity]\nP004 = \"error\"\nS007 = \"warning\"\n");
    let mut with_toml = files.to_vec();
    with_toml.push(("policyctl.toml", &swapped));
    let dir = scratch("severity-swapped", &with_toml);
    let (code, out, err) = run(&dir, &[]);
    assert_eq!(code, Some(1), "{out}{err}");
    let r = refusals(&out);
    assert!(r["warn-only"].contains("P004"), "{out}");
    assert_eq!(r["Bad_Name"], "", "{out}");
    let (code, _, _) = output(
        policyctl()
            .args(["check"])
            .arg(dir.join("warn.yaml"))
            .arg(dir.join("name.yaml")),
    );
    assert_eq!(code, Some(1), "check fails on the same P004");

    // Turned off in the file, and ignored on the command line: nothing refuses.
    let off = project_toml("[severity]\nS007 = \"off\"\n");
    let mut with_toml = files.to_vec();
    with_toml.push(("policyctl.toml", &off));
    let dir = scratch("severity-off", &with_toml);
    let (code, out, err) = run(&dir, &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = run(&dir, &["--no-config", "--btf", K612, "--ignore", "S0"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = run(&dir, &["--select", "S007"]);
    assert_eq!(
        code,
        Some(0),
        "the file's S007 = off still holds: {out}{err}"
    );
}

/// Sigkill for every process that makes the call: P075.
const UNFILTERED_KILL: &str = "\
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: \"kill-all-mkdir\"
spec:
  kprobes:
  - call: \"security_path_mkdir\"
    syscall: false
    selectors:
    - matchActions:
      - action: Sigkill
";

#[test]
fn turning_p075_off_does_not_pass_the_unfiltered_enforcement_guard() {
    let off = project_toml("[severity]\nP075 = \"off\"\n");
    let dir = scratch(
        "p075",
        &[("policyctl.toml", &off), ("kill.yaml", UNFILTERED_KILL)],
    );
    let (code, out, err) = output(policyctl().args(["check"]).arg(&dir));
    assert_eq!(code, Some(0), "check reports no P075: {out}{err}");
    assert!(!out.contains("P075"), "{out}");
    let (code, out, err) = output(
        policyctl()
            .args(["run", "--dry-run", "--format", "json"])
            .arg(dir.join("kill.yaml")),
    );
    assert_eq!(code, Some(1), "{out}{err}");
    let r = refusals(&out);
    assert!(
        r["kill-all-mkdir"].contains("without --allow-unfiltered-enforcement"),
        "{out}"
    );
    let (code, out, err) = output(
        policyctl()
            .args(["run", "--dry-run", "--allow-unfiltered-enforcement"])
            .arg(dir.join("kill.yaml")),
    );
    assert_eq!(code, Some(0), "{out}{err}");
}

/// `run` (not dry) checks with the project's severities before it loads anything: a warning the
/// file raises to an error refuses the run. Needs root (the run's first step); nothing loads.
#[test]
fn run_refuses_what_the_project_file_makes_an_error() {
    let raised = "[severity]\nP004 = \"error\"\n";
    // A tracepoint: no kprobes needed on the host (a VM kernel may have none).
    let policy = "\
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: \"warn-only-tracepoint\"
spec:
  options:
  - name: polcy-mode
    value: enforce
  tracepoints:
  - subsystem: \"syscalls\"
    event: \"sys_enter_mkdirat\"
";
    let dir = scratch("run", &[("policyctl.toml", raised), ("warn.yaml", policy)]);
    let (code, out, _) = output(policyctl().args(["check"]).arg(dir.join("warn.yaml")));
    if code == Some(2) || !out.contains("1 error, 0 warnings") {
        skip::skip(
            "run_refuses_what_the_project_file_makes_an_error",
            "this host's kernel does not check the tracepoint clean",
        );
        return;
    }
    let (code, out, err) = output(policyctl().args(["run"]).arg(dir.join("warn.yaml")));
    if err.contains("run it as root") || err.contains("has no BTF") || err.contains("tracefs") {
        skip::skip(
            "run_refuses_what_the_project_file_makes_an_error",
            "policyctl run needs root, BTF and tracefs here",
        );
        return;
    }
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("P004"), "{err}");
    assert!(err.contains("refusing to load: 1 error"), "{err}");
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

// ---------------------------------------------------------------------------------------------
// The corpus's uprobe policies that resolve through `btfPath`, with a BTF file at that path.

/// For each corpus policy with `btfPath`: the C types its `resolve` paths walk (our own small
/// programs, written from the policies' paths), as a binary's BTF would hold them.
const BTF_POLICIES: [(&str, &str); 4] = [
    (
        "pkg_sensors_tracing_uprobe_reg_test_go__L1539.yaml",
        "struct third { long pad; int val; };\nstruct second { int x; struct third *third; };\nstruct first { struct second *second; };\nstruct first g;\n",
    ),
    (
        "pkg_sensors_tracing_uprobe_reg_test_go__L1602.yaml",
        "struct third { long pad; int val; };\nstruct second { int x; struct third *third; };\nstruct first { struct second *second; };\nstruct first g;\n",
    ),
    (
        "tests_policytests_uprobes_go__L226.yaml",
        "struct pair { int first; int second; };\nstruct holder { union { long raw; struct pair ans; }; struct pair *pans; };\nstruct mystruct { int tag; struct holder nested; struct holder *pnested; };\nstruct mystruct g;\n",
    ),
    (
        "tests_policytests_uprobes_go__L440.yaml",
        "struct sub { long v64; char *buff; };\nstruct mystruct { int v8; struct sub *subp; };\nstruct mystruct g;\n",
    ),
];

/// The four corpus policies the tally refuses only because their `btfPath` file is not on this
/// host plan once a BTF file with the types they name is there: their `btfPath` (and
/// `BTFPath`) pointed at a file pahole wrote from a program declaring those types.
#[test]
fn corpus_btf_path_policies_plan_with_their_btf_file() {
    let test = "corpus_btf_path_policies_plan_with_their_btf_file";
    let corpus_dir = root().join("../shared/tetragon-corpus");
    if !corpus_dir.is_dir() {
        skip::skip(test, "../shared/tetragon-corpus is not here");
        return;
    }
    let dir = scratch("btf_path", &[]);
    std::fs::create_dir_all(&dir).unwrap();
    for (i, (name, types)) in BTF_POLICIES.iter().enumerate() {
        let c = dir.join(format!("types{i}.c"));
        std::fs::write(&c, format!("{types}int main(void) {{ return 0; }}\n")).unwrap();
        let bin = dir.join(format!("types{i}"));
        let btf = dir.join(format!("types{i}.btf"));
        match Command::new("gcc")
            .arg("-g")
            .arg("-o")
            .arg(&bin)
            .arg(&c)
            .output()
        {
            Ok(o) => assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr)),
            Err(e) => {
                skip::skip(test, &format!("gcc is not installed ({e})"));
                return;
            }
        }
        match Command::new("pahole")
            .arg(format!("--btf_encode_detached={}", btf.display()))
            .arg(&bin)
            .output()
        {
            Ok(o) => assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr)),
            Err(e) => {
                skip::skip(
                    test,
                    &format!("pahole is not installed (package dwarves): {e}"),
                );
                return;
            }
        }
        let text = std::fs::read_to_string(corpus_dir.join(name)).unwrap();
        let line = text
            .lines()
            .find(|l| l.trim_start().to_ascii_lowercase().starts_with("btfpath:"))
            .unwrap_or_else(|| panic!("{name} has no btfPath"));
        let key = line.split(':').next().unwrap();
        let text = text.replace(line, &format!("{key}: \"{}\"", btf.display()));
        let policy = dir.join(name);
        std::fs::write(&policy, &text).unwrap();
        let out = policyctl()
            .args(["run", "--dry-run", "--btf", K612, "--kernel-config", CFG612])
            .arg(&policy)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("  runs     "),
            "{name}:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A uprobe Override plans where the kernel's BTF says uprobe programs may write registers
/// (6.18: `uprobe_regs` in the features) and is refused by the check elsewhere (6.12: K030).
#[test]
fn uprobe_override_plans_where_uprobe_registers_may_be_written() {
    let dir = std::env::temp_dir().join(format!("policyctl-dry-uo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("uo.yaml");
    std::fs::write(
        &file,
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: uo\nspec:\n  uprobes:\n  - path: /usr/bin/true\n    symbols: [main]\n    selectors:\n    - matchActions:\n      - action: Override\n        argRegs: [\"rax=1\"]\n",
    )
    .unwrap();
    let out = policyctl()
        .args(["run", "--dry-run", "--format", "json"])
        .args(["--btf", "testdata/btf/6.18.44-fc-v769.btf.zst"])
        .args(["--kernel-config", "testdata/btf/6.18.44-fc-v769.config.gz"])
        .args(["--btf", K612])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let (k618, k612) = (&v["kernels"][0], &v["kernels"][1]);
    assert_eq!(k618["features"]["uprobe_regs"], true, "{k618}");
    assert_eq!(k618["refused"], 0, "{k618}");
    assert_eq!(k612["features"]["uprobe_regs"], false, "{k612}");
    assert_eq!(k612["refused"], 1, "{k612}");
    assert_eq!(out.status.code(), Some(1));
}
