//! The pre-commit hooks (`.pre-commit-hooks.yaml`) in the real `pre-commit` from PyPI: a sample
//! git repository with a broken policy fails the hook with the finding's code in the output, and
//! passes once the policy is fixed.
//!
//! pre-commit is installed once, pinned, into a virtualenv in `target/precommit-venv/`
//! (`python3 -m venv`, then pip). Without Python's `venv` and `ensurepip` (Debian:
//! `apt-get install python3-venv`), git, or a reachable PyPI, the test is skipped through
//! `support/skip.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use policyctl_validator::{yaml, SourceFile};

#[path = "support/samples.rs"]
mod samples;
#[path = "support/skip.rs"]
mod skip;
use samples::KILL_WITH_ARGSIG;

/// The pre-commit release the test runs.
const PRE_COMMIT: &str = "4.7.0";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `target/precommit-venv/bin/pre-commit` at [`PRE_COMMIT`], installed if needed; `Err` says
/// what is missing. The tests of this file run in parallel: one installs, the others wait for it
/// (two `python3 -m venv --clear` on one directory at once fail with "File exists").
fn pre_commit() -> Result<PathBuf, String> {
    static INSTALLED: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(install_pre_commit).clone()
}

fn install_pre_commit() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .join("precommit-venv");
    let bin = venv.join("bin/pre-commit");
    let version = |bin: &Path| {
        Command::new(bin)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if version(&bin).as_deref() == Some(&format!("pre-commit {PRE_COMMIT}")) {
        return Ok(bin);
    }
    let probe = Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        Ok(_) => {
            return Err(
                "python3 has no venv/ensurepip (Debian: apt-get install python3-venv)".into(),
            )
        }
        Err(_) => return Err("no python3 (Debian: apt-get install python3-venv)".into()),
    }
    let o = run(Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv));
    if !o.status.success() {
        return Err(format!("python3 -m venv failed: {}", text(&o)));
    }
    let o = run(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("pre-commit=={PRE_COMMIT}"),
    ]));
    if !o.status.success() {
        return Err(format!(
            "pip could not install pre-commit {PRE_COMMIT} (is PyPI reachable?): {}",
            text(&o)
        ));
    }
    match version(&bin) {
        Some(v) if v == format!("pre-commit {PRE_COMMIT}") => Ok(bin),
        v => Err(format!("pre-commit installed, but it says {v:?}")),
    }
}

/// `git` in `dir`, with an identity of its own (the machine may have none).
fn git(dir: &Path, args: &[&str]) -> Output {
    let o = run(Command::new("git")
        .args([
            "-c",
            "user.name=policyctl test",
            "-c",
            "user.email=test@invalid",
        ])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir));
    assert!(o.status.success(), "git {args:?}: {}", text(&o));
    o
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("precommit")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The hooks of `.pre-commit-hooks.yaml`: (id, language, entry, types).
fn hooks() -> Vec<(String, String, String, Vec<String>)> {
    let src = SourceFile::new(
        ".pre-commit-hooks.yaml",
        std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap(),
    );
    let parsed = yaml::parse(&src);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let list = parsed.documents[0].root.as_ref().unwrap();
    let field = |h: &yaml::Node, k: &str| {
        h.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    list.as_seq()
        .expect("a list of hooks")
        .iter()
        .map(|h| {
            let types = h
                .get("types")
                .and_then(|t| t.as_seq())
                .unwrap_or_default()
                .iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect();
            (
                field(h, "id"),
                field(h, "language"),
                field(h, "entry"),
                types,
            )
        })
        .collect()
}

#[test]
fn hooks_manifest_names_a_real_command() {
    let hooks = hooks();
    let ids: Vec<&str> = hooks.iter().map(|h| h.0.as_str()).collect();
    assert_eq!(ids, ["policyctl-check", "policyctl-check-system"]);
    let langs: Vec<&str> = hooks.iter().map(|h| h.1.as_str()).collect();
    assert_eq!(langs, ["rust", "system"]);
    for (id, _, entry, types) in &hooks {
        assert_eq!(entry, "policyctl check --force-exclude", "{id}");
        assert_eq!(types, &["yaml"], "{id}");
    }
    // The entry is a command this policyctl has.
    let o = run(Command::new(env!("CARGO_BIN_EXE_policyctl")).args(["check", "--help"]));
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("--force-exclude"), "{}", text(&o));
}

/// The hooks repository: this checkout's manifest, committed in `dir/hooks`, as pre-commit
/// clones a repository. Its path and the commit.
fn hooks_repo(dir: &Path) -> (PathBuf, String) {
    let hooks_repo = dir.join("hooks");
    std::fs::create_dir_all(&hooks_repo).unwrap();
    std::fs::copy(
        root().join(".pre-commit-hooks.yaml"),
        hooks_repo.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    git(&hooks_repo, &["init", "-q"]);
    git(&hooks_repo, &["add", "-A"]);
    git(&hooks_repo, &["commit", "-q", "-m", "hooks"]);
    let rev = String::from_utf8(git(&hooks_repo, &["rev-parse", "HEAD"]).stdout).unwrap();
    (hooks_repo, rev.trim().to_string())
}

/// `pre-commit run --all-files` in `sample`, with the built policyctl first on PATH.
fn pre_commit_run(pre_commit: &Path, sample: &Path, home: &Path) -> Output {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_policyctl")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    run(Command::new(pre_commit)
        .args(["run", "--all-files", "--color", "never"])
        .current_dir(sample)
        .env("PATH", &path)
        .env("PRE_COMMIT_HOME", home)
        .env_remove("PRE_COMMIT_COLOR"))
}

#[test]
fn pre_commit_fails_on_a_broken_policy_and_passes_once_fixed() {
    let test = "pre_commit_fails_on_a_broken_policy_and_passes_once_fixed";
    if Command::new("git").arg("--version").output().is_err() {
        return skip::skip(test, "no git (Debian: apt-get install git)");
    }
    let pre_commit = match pre_commit() {
        Ok(p) => p,
        Err(why) => return skip::skip(test, &why),
    };
    let dir = scratch("flow");
    let home = dir.join("cache");

    // pre-commit's own check of the manifest (both hooks, the `rust` one included).
    let o = run(Command::new(&pre_commit)
        .arg("validate-manifest")
        .arg(root().join(".pre-commit-hooks.yaml"))
        .env("PRE_COMMIT_HOME", &home));
    assert!(o.status.success(), "validate-manifest: {}", text(&o));

    let (hooks_repo, rev) = hooks_repo(&dir);

    // The sample repository: a broken policy, a clean one, a Deployment, and the three lines
    // of configuration the README gives (`policyctl-check-system`: the built binary on PATH).
    let sample = dir.join("sample");
    let policies = sample.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    let article = |name: &str| {
        std::fs::read_to_string(root().join("testdata/policies/article").join(name)).unwrap()
    };
    std::fs::write(
        policies.join("wget.yaml"),
        article("original-block-443-for-wget.yaml"),
    )
    .unwrap();
    std::fs::write(
        policies.join("sudo.yaml"),
        article("fixed-detect-sudo.yaml"),
    )
    .unwrap();
    std::fs::write(
        sample.join("deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
    )
    .unwrap();
    std::fs::write(
        sample.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n- repo: {}\n  rev: {}\n  hooks: [{{ id: policyctl-check-system, args: [--no-btf] }}]\n",
            hooks_repo.display(),
            rev
        ),
    )
    .unwrap();
    git(&sample, &["init", "-q"]);
    git(&sample, &["add", "-A"]);

    let pre_commit_run = || pre_commit_run(&pre_commit, &sample, &home);

    let o = pre_commit_run();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("policyctl check") && out.contains("Failed"),
        "{out}"
    );
    assert!(out.contains("S003"), "the finding's code is shown: {out}");
    assert!(
        out.contains("policies/wget.yaml:21:11"),
        "the finding's place is shown: {out}"
    );

    std::fs::write(
        policies.join("wget.yaml"),
        article("fixed-block-443-for-wget.yaml"),
    )
    .unwrap();
    git(&sample, &["add", "-A"]);
    let o = pre_commit_run();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("Passed"), "{out}");
}

/// A policy with an option name Tetragon does not know (P004), suppressed on its line.
const SUPPRESSED: &str = "\
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: \"connect\"
spec:
  options:
  - name: polcy-mode # policyctl: ignore[P004]
    value: enforce
  kprobes:
  - call: \"tcp_connect\"
    syscall: false
    args:
    - index: 0
      type: \"sock\"
";

/// The end to end flow: a sample git repository with a `policyctl.toml` (a fixture
/// kernel by relative path, a `[severity]` override, an `exclude`), a policy with an inline
/// suppression, and the pre-commit hook. The run names the file's kernel first, leaves the
/// suppressed finding and the excluded file out, reports the raised warning as an error, fails,
/// and passes once the policy is fixed.
#[test]
fn pre_commit_follows_the_project_file() {
    let test = "pre_commit_follows_the_project_file";
    if Command::new("git").arg("--version").output().is_err() {
        return skip::skip(test, "no git (Debian: apt-get install git)");
    }
    let pre_commit = match pre_commit() {
        Ok(p) => p,
        Err(why) => return skip::skip(test, &why),
    };
    let dir = scratch("project");
    let home = dir.join("cache");
    let (hooks_repo, rev) = hooks_repo(&dir);

    let sample = dir.join("sample");
    let write = |rel: &str, text: &str| {
        let path = sample.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    // The fleet's kernel, committed with the policies and named relative to the file.
    std::fs::create_dir_all(sample.join("kernels")).unwrap();
    std::fs::copy(
        root().join("testdata/btf/6.12.117+deb12-amd64.btf.zst"),
        sample.join("kernels/fleet-6.12.btf.zst"),
    )
    .unwrap();
    write(
        "policyctl.toml",
        "exclude = [\"vendor\"]\n\n[severity]\nP041 = \"error\"\n\n\
         [[kernel]]\nname = \"fleet-6.12\"\nbtf = \"kernels/fleet-6.12.btf.zst\"\n",
    );
    write("policies/kill.yaml", KILL_WITH_ARGSIG);
    write("policies/connect.yaml", SUPPRESSED);
    // Broken (S003), but excluded: pre-commit names it, the hook leaves it out.
    write(
        "vendor/wget.yaml",
        &std::fs::read_to_string(
            root().join("testdata/policies/article/original-block-443-for-wget.yaml"),
        )
        .unwrap(),
    );
    write(
        ".pre-commit-config.yaml",
        &format!(
            "repos:\n- repo: {}\n  rev: {rev}\n  hooks: [{{ id: policyctl-check-system }}]\n",
            hooks_repo.display()
        ),
    );
    git(&sample, &["init", "-q"]);
    git(&sample, &["add", "-A"]);

    let o = pre_commit_run(&pre_commit, &sample, &home);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("Failed"), "{out}");
    // The hook's output starts with the kernel of the file.
    let first = out
        .lines()
        .find(|l| l.starts_with("checked against"))
        .unwrap_or_default();
    assert_eq!(first, "checked against fleet-6.12", "{out}");
    // The warning raised to an error, the only finding: the suppressed P004 and the excluded
    // file's S003 are not there.
    assert!(out.contains("P041"), "{out}");
    assert!(out.contains("policies/kill.yaml:15:9"), "{out}");
    assert!(out.contains("1 error, 0 warnings in 2 policies"), "{out}");
    assert!(!out.contains("P004"), "{out}");
    assert!(!out.contains("S003") && !out.contains("vendor/"), "{out}");

    // Fixed: the parameter removed.
    write(
        "policies/kill.yaml",
        &KILL_WITH_ARGSIG.replace("        argSig: 9\n", ""),
    );
    git(&sample, &["add", "-A"]);
    let o = pre_commit_run(&pre_commit, &sample, &home);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("Passed"), "{out}");

    // Without its `exclude`, the same repository fails on the file it left out.
    write(
        "policyctl.toml",
        "[[kernel]]\nname = \"fleet-6.12\"\nbtf = \"kernels/fleet-6.12.btf.zst\"\n",
    );
    git(&sample, &["add", "-A"]);
    let o = pre_commit_run(&pre_commit, &sample, &home);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("S003") && out.contains("vendor/wget.yaml"),
        "{out}"
    );
}
