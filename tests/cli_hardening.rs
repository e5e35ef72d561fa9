//! `policyctl` at its edges (issue 13): a failure never looks like a pass, and no input makes it
//! hang or grow without bound. Internal errors exit 2 naming the file; FIFOs, devices and
//! sockets are refused before anything is read; input over 4 MiB is a Y006 without being read
//! whole; symlinks inside directories are followed (with loop detection), and a dangling one is
//! reported; finding no policy at all is said on stderr; bad kernel files and a bad
//! `run --duration` are usage errors.
//!
//! Every run goes through [`run`], which kills the binary after [`TIMEOUT`]: a test that would
//! hang fails instead.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "support/output.rs"]
mod output;
use output::{code, json, stderr, stdout};

/// A clean policy.
const CLEAN: &str = "testdata/policies/article/fixed-block-443-for-wget.yaml";
/// The article's policy with one error.
const ARTICLE: &str = "testdata/policies/article/original-block-443-for-wget.yaml";
/// A fixture kernel, and a module's BTF for 6.1.
const K61: &str = "testdata/btf/6.1.0-56-amd64.btf.zst";
const MODULE: &str = "testdata/btf/modules/sata_qstor.ko";
/// A fixture kernel and its error-injection list.
const K612: &str = "testdata/btf/6.12.117+deb12-amd64.btf.zst";
const EI612: &str = "testdata/btf/6.12.117+deb12-amd64.error-injection.from-source.txt";

/// Longest a run may take before it counts as hung.
const TIMEOUT: Duration = Duration::from_secs(20);

/// What a policy file holds at most (`policyctl_validator::yaml::MAX_FILE_BYTES`).
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli_hardening")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn symlink(target: impl AsRef<Path>, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// A FIFO at `path` (with the `mkfifo` tool: the test crate has no libc).
fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Wait for `child`, killing it after [`TIMEOUT`] (then the test fails: it hung).
fn finish(mut child: Child, what: &str) -> Output {
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let o = child.wait_with_output().expect("output");
            panic!(
                "`policyctl {what}` hung ({}s):\n{}{}",
                TIMEOUT.as_secs(),
                stdout(&o),
                stderr(&o)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run `policyctl args` in the workspace root with `stdin`, `env` set, under the timeout.
fn run_with(args: &[&str], stdin: Stdio, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_policyctl"));
    cmd.args(args)
        .current_dir(root())
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("POLICYCTL_TEST_PANIC_ON");
    for (k, v) in env {
        cmd.env(k, v);
    }
    // Output is small; a pipe filling up cannot block the child before `finish` reads it.
    finish(cmd.spawn().expect("run policyctl"), &args.join(" "))
}

fn run(args: &[&str]) -> Output {
    run_with(args, Stdio::null(), &[])
}

fn run_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_policyctl"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run policyctl");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    finish(child, &args.join(" "))
}

// ---------------------------------------------------------------------------------------------
// A failure never looks like a pass.

#[test]
fn a_panic_while_checking_exits_2_and_names_the_file() {
    let dir = scratch("panic");
    for name in ["a", "b", "c", "d", "e"] {
        write(&dir.join(format!("{name}.yaml")), &read(CLEAN));
    }
    let d = dir.to_str().unwrap();
    let env = [("POLICYCTL_TEST_PANIC_ON", "c.yaml")];
    for format in ["text", "json"] {
        let o = run_with(
            &["check", "--no-btf", "--format", format, d],
            Stdio::null(),
            &env,
        );
        assert_eq!(code(&o), 2, "{format}: {}{}", stdout(&o), stderr(&o));
        let want = format!(
            "policyctl: internal error while checking {}: ",
            dir.join("c.yaml").display()
        );
        assert!(stderr(&o).contains(&want), "{format}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("POLICYCTL_TEST_PANIC_ON"),
            "{}",
            stderr(&o)
        );
        // The other files' results are still printed.
        if format == "json" {
            assert_eq!(json(&o)["summary"]["files"], 4, "{}", stdout(&o));
        } else {
            assert!(
                stdout(&o).contains("in 4 policies (4 files)"),
                "{}",
                stdout(&o)
            );
        }
    }
    // One file (checked without worker threads), and with errors elsewhere: still 2.
    let o = run_with(
        &["check", "--no-btf", dir.join("c.yaml").to_str().unwrap()],
        Stdio::null(),
        &env,
    );
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    write(&dir.join("f.yaml"), &read(ARTICLE));
    let o = run_with(&["check", "--no-btf", d], Stdio::null(), &env);
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    // Without the hook the same directory checks normally.
    let o = run(&["check", "--no-btf", d]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
}

// ---------------------------------------------------------------------------------------------
// Inputs that are not regular files, and inputs that never end.

#[test]
fn a_fifo_is_refused_without_hanging() {
    let dir = scratch("fifo");
    let fifo = dir.join("policy.yaml");
    mkfifo(&fifo);
    let f = fifo.to_str().unwrap();
    let o = run(&["check", "--no-btf", f]);
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains(&format!("{f} is a FIFO (named pipe), not a regular file")),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("`policyctl check -`"),
        "the message says how: {}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));

    // Inside a directory: skipped with a warning, the rest is checked.
    write(&dir.join("clean.yaml"), &read(CLEAN));
    let o = run(&["check", "--no-btf", dir.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "policyctl: warning: {f} is a FIFO (named pipe), not a regular file; skipped"
        )),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).contains("(1 file)"), "{}", stdout(&o));
    let o = run(&[
        "check",
        "--no-btf",
        "--deny-warnings",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));

    // Kernel inputs: every option that names a file.
    for args in [
        vec!["check", "--btf", f, CLEAN],
        vec!["check", "--btf", K612, "--error-injection", f, CLEAN],
        vec!["check", "--btf", K612, "--kernel-config", f, CLEAN],
        vec!["check", "--btf", K612, "--btf-module", f, CLEAN],
        vec!["kernel", "--btf", f, "info"],
    ] {
        let o = run(&args);
        assert_eq!(code(&o), 2, "{args:?}: {}{}", stdout(&o), stderr(&o));
        assert!(
            stderr(&o).contains("is a FIFO (named pipe), not a regular file"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn devices_are_refused_and_endless_stdin_is_bounded() {
    // A device as a policy: refused before reading.
    let o = run(&["check", "--no-btf", "/dev/zero"]);
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("/dev/zero is a character device, not a regular file"),
        "{}",
        stderr(&o)
    );
    // ... as kernel inputs too.
    for args in [
        vec!["check", "--btf", "/dev/zero", CLEAN],
        vec![
            "check",
            "--btf",
            K612,
            "--error-injection",
            "/dev/zero",
            CLEAN,
        ],
        vec![
            "check",
            "--btf",
            K612,
            "--kernel-config",
            "/dev/zero",
            CLEAN,
        ],
    ] {
        let o = run(&args);
        assert_eq!(code(&o), 2, "{args:?}: {}{}", stdout(&o), stderr(&o));
        assert!(
            stderr(&o).contains("/dev/zero is a character device"),
            "{args:?}: {}",
            stderr(&o)
        );
    }

    // Standard input that never ends: read up to the limit, then a Y006 error.
    let zero = File::open("/dev/zero").unwrap();
    let o = run_with(
        &["check", "--no-btf", "--format", "json", "-"],
        Stdio::from(zero),
        &[],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["summary"]["files"], 1, "{v:#}");
    assert_eq!(v["summary"]["errors"], 1, "{v:#}");
    let d = &v["diagnostics"][0];
    assert_eq!(
        (&d["file"], &d["code"]),
        (&"-".into(), &"Y006".into()),
        "{v:#}"
    );
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("more than 4194304 bytes"),
        "{d:#}"
    );
    // Text output renders it too.
    let zero = File::open("/dev/zero").unwrap();
    let o = run_with(&["check", "--no-btf", "-"], Stdio::from(zero), &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stdout(&o).contains("Y006"), "{}", stdout(&o));
}

#[test]
fn a_file_over_the_limit_is_y006_without_being_read() {
    let dir = scratch("large");
    let big = dir.join("big.yaml");
    // Sparse: 5 GiB that take no disk. Reading it whole would take gigabytes of memory.
    let f = File::create(&big).unwrap();
    f.set_len(5 << 30).unwrap();
    drop(f);
    let started = Instant::now();
    let o = run(&[
        "check",
        "--no-btf",
        "--format",
        "json",
        big.to_str().unwrap(),
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "read it whole?"
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v = json(&o);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "Y006", "{v:#}");
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{} bytes", 5u64 << 30)),
        "{d:#}"
    );
    // Exactly at the limit is read (and refused by the parser, which says so the same way);
    // one byte more is refused here.
    let edge = dir.join("edge.yaml");
    std::fs::write(&edge, "#".repeat(MAX_FILE_BYTES as usize + 1)).unwrap();
    let o = run(&[
        "check",
        "--no-btf",
        "--format",
        "json",
        edge.to_str().unwrap(),
    ]);
    assert_eq!(json(&o)["diagnostics"][0]["code"], "Y006");
    std::fs::write(
        &edge,
        format!("{}\n", "#".repeat(MAX_FILE_BYTES as usize - 1)),
    )
    .unwrap();
    let o = run(&[
        "check",
        "--no-btf",
        "--format",
        "json",
        edge.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));

    // An error-injection list over the limit is refused, naming the file.
    let ei = dir.join("ei.txt");
    let f = File::create(&ei).unwrap();
    f.set_len(1 << 30).unwrap();
    drop(f);
    let e = ei.to_str().unwrap();
    let o = run(&["check", "--btf", K612, "--error-injection", e, CLEAN]);
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains(e), "{}", stderr(&o));
    assert!(stderr(&o).contains("larger than"), "{}", stderr(&o));
    // A real one still loads.
    let o = run(&["check", "--btf", K612, "--error-injection", EI612, CLEAN]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn a_socket_is_refused() {
    let dir = scratch("socket");
    let sock = dir.join("policy.yaml");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let o = run(&["check", "--no-btf", sock.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("is a socket, not a regular file"),
        "{}",
        stderr(&o)
    );
}

// ---------------------------------------------------------------------------------------------
// Directories: symlinks and finding nothing.

#[test]
fn symlinks_in_directories_are_followed_once() {
    let dir = scratch("symlinks");
    let tree = dir.join("tree");
    let outside = dir.join("outside");
    write(&tree.join("a.yaml"), &read(CLEAN));
    write(&outside.join("linked-file.yaml"), &read(ARTICLE));
    write(&outside.join("sub/in-linked-dir.yaml"), &read(CLEAN));
    // A link to a file and one to a directory, both outside the tree: followed.
    symlink(outside.join("linked-file.yaml"), &tree.join("b.yaml"));
    symlink(outside.join("sub"), &tree.join("linked-dir"));
    // A loop to the tree's own root and a second way into a directory already seen.
    symlink(".", &tree.join("linked-dir-loop"));
    std::fs::create_dir_all(tree.join("deep")).unwrap();
    symlink("../../tree", &tree.join("deep/up"));
    symlink(outside.join("sub"), &tree.join("deep/same-dir-again"));
    // A second name for a file already seen (Kubernetes ConfigMap mounts look like this).
    symlink("a.yaml", &tree.join("c.yaml"));

    let t = tree.to_str().unwrap();
    let o = run(&["check", "--no-btf", "--format", "json", t]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let v = json(&o);
    // a.yaml, b.yaml (the article's error) and linked-dir/in-linked-dir.yaml; each once.
    assert_eq!(v["summary"]["files"], 3, "{v:#}\n{}", stderr(&o));
    assert_eq!(v["summary"]["errors"], 1, "{v:#}");
    assert_eq!(
        v["diagnostics"][0]["file"].as_str().unwrap(),
        tree.join("b.yaml").to_str().unwrap()
    );
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));

    // A dangling link: a warning naming it, not fatal; fatal under --deny-warnings.
    symlink(dir.join("nowhere.yaml"), &tree.join("gone.yaml"));
    symlink("self.yaml", &tree.join("self.yaml"));
    std::fs::remove_file(tree.join("b.yaml")).unwrap();
    let o = run(&["check", "--no-btf", t]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "policyctl: warning: {} is a symlink to {}, which cannot be read (",
            tree.join("gone.yaml").display(),
            dir.join("nowhere.yaml").display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "policyctl: warning: {} is a symlink to self.yaml, which cannot be read (",
            tree.join("self.yaml").display()
        )),
        "{err}"
    );
    assert!(stdout(&o).contains("(2 files)"), "{}", stdout(&o));
    let o = run(&["check", "--no-btf", "--deny-warnings", t]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn finding_no_policy_is_said() {
    let dir = scratch("nothing");
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = empty.to_str().unwrap();
    let o = run(&["check", "--no-btf", e]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains(&format!("policyctl: no TracingPolicy found in {e}")),
        "{}",
        stderr(&o)
    );
    let o = run(&["check", "--no-btf", "--deny-warnings", e]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));

    // No YAML in a directory.
    let other = dir.join("other");
    write(&other.join("notes.txt"), "not a policy\n");
    let o = run(&["check", "--no-btf", other.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("policyctl: no TracingPolicy found in"),
        "{}",
        stderr(&o)
    );

    // Empty standard input, and YAML that holds other objects.
    let o = run_stdin(&["check", "--no-btf", "-"], "");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("policyctl: no TracingPolicy found in standard input"),
        "{}",
        stderr(&o)
    );
    let o = run_stdin(
        &["check", "--no-btf", "--deny-warnings", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no TracingPolicy found"),
        "{}",
        stderr(&o)
    );

    // An empty directory next to one with policies: said, not fatal.
    let o = run(&["check", "--no-btf", e, CLEAN]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("{e} holds no *.yaml or *.yml file")),
        "{}",
        stderr(&o)
    );
    // Policies found: nothing said.
    let o = run(&["check", "--no-btf", CLEAN]);
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

// ---------------------------------------------------------------------------------------------
// Kernel options and `run`.

#[test]
fn a_missing_btf_module_is_an_error() {
    let o = run(&[
        "check",
        "--btf",
        K612,
        "--btf-module",
        "/no/such/module.ko",
        CLEAN,
    ]);
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("/no/such/module.ko"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    let o = run(&[
        "kernel",
        "--btf",
        K612,
        "--btf-module",
        "/no/such/module.ko",
        "info",
    ]);
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    // A file that is not a module's split BTF: refused too (it used to be left out unsaid).
    let o = run(&["check", "--btf", K61, "--btf-module", "Cargo.toml", CLEAN]);
    assert_eq!(code(&o), 2, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("--btf-module: Cargo.toml is not a module's split BTF"),
        "{}",
        stderr(&o)
    );
    // A real one loads.
    let o = run(&["check", "--btf", K61, "--btf-module", MODULE, CLEAN]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    // The same for the other kernel files.
    for opt in ["--error-injection", "--kernel-config"] {
        let o = run(&["check", "--btf", K612, opt, "/no/such/file", CLEAN]);
        assert_eq!(code(&o), 2, "{opt}: {}{}", stdout(&o), stderr(&o));
        assert!(stderr(&o).contains("/no/such/file"), "{}", stderr(&o));
    }
}

#[test]
fn run_refuses_a_bad_duration_before_anything_loads() {
    for bad in ["inf", "1e20", "NaN", "-1", "-0.5", "soon", ""] {
        let arg = format!("--duration={bad}");
        // A policy file that does not exist: a usage error must come first.
        let o = run(&["run", &arg, "/no/such/policy.yaml"]);
        assert_eq!(code(&o), 2, "{bad}: {}{}", stdout(&o), stderr(&o));
        assert!(stderr(&o).contains("--duration"), "{bad}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{bad}: {}", stderr(&o));
        assert!(
            !stderr(&o).contains("policyctl run:"),
            "{bad}: {}",
            stderr(&o)
        );
    }
    // A good value passes parsing (and the run then stops at what it needs next).
    for good in ["0", "2.5", "3600"] {
        let o = run(&["run", "--duration", good, "/no/such/policy.yaml"]);
        assert!(
            stderr(&o).contains("policyctl run:"),
            "{good}: {}{}",
            stdout(&o),
            stderr(&o)
        );
    }
}

/// Standard input is read no further than the limit: a writer that would send 256 MiB of YAML
/// comments gets a broken pipe after about 4 MiB, and the input is refused with Y006.
#[test]
fn stdin_is_read_no_further_than_the_limit() {
    const SENT: u64 = 256 << 20;
    let line = "# padding padding padding padding padding padding padding padding\n";
    let mut child = Command::new(env!("CARGO_BIN_EXE_policyctl"))
        .args(["check", "--no-btf", "--format", "json", "-"])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = line.repeat(1024);
        let mut written = 0u64;
        while written < SENT {
            if stdin.write_all(chunk.as_bytes()).is_err() {
                break;
            }
            written += chunk.len() as u64;
        }
        written
    });
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let o = finish(child, "check -");
    let written = writer.join().unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["diagnostics"][0]["code"], "Y006", "{v:#}");
    assert!(
        written < MAX_FILE_BYTES + (4 << 20),
        "policyctl read {written} bytes of standard input"
    );
}
