//! Helpers to drive `policyctl run` on this machine's kernel from integration tests: a
//! per-test temporary directory, copies of binaries to scope policies to, and [`Running`], a
//! `policyctl run` process whose stdout and stderr are collected on threads and which is always
//! stopped (SIGINT, or SIGKILL when a test panics).
//!
//! Safety: tests built on these helpers must scope every enforcing policy (Sigkill, Signal) to
//! binaries copied into their own [`TempDir`] or to pids of children they spawned themselves.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long `policyctl run` may take to attach everything, or to exit. `many_tracepoint_hooks_at_once`
/// (tests/run_host.rs) verifies 48 program copies: ~40 s on a quiet 2-core machine, past 60 s
/// on a busy one.
pub const START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long an expected event may take to be printed.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(15);

/// The `policyctl` binary under test.
pub fn policyctl() -> &'static str {
    env!("CARGO_BIN_EXE_policyctl")
}

/// Whether the test can run: root, BPF and tracefs. When it cannot, print `SKIPPED` and return
/// false, or fail when `CI` is set (CI runs these tests as root).
pub fn ready(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let reason = if unsafe { libc::geteuid() } != 0 {
        Some("not root (policyctl run loads BPF programs)".to_string())
    } else if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        Some("this kernel has no BTF (/sys/kernel/btf/vmlinux)".to_string())
    } else {
        mount_tracefs().err()
    };
    match reason {
        None => true,
        Some(reason) => {
            crate::skip::skip(test, &reason);
            false
        }
    }
}

/// Mount tracefs at /sys/kernel/tracing when it is not there.
fn mount_tracefs() -> Result<(), String> {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if Path::new("/sys/kernel/tracing/events").exists() {
        return Ok(());
    }
    let ok = Command::new("mount")
        .args(["-t", "tracefs", "tracefs", "/sys/kernel/tracing"])
        .status()
        .is_ok_and(|s| s.success());
    if ok && Path::new("/sys/kernel/tracing/events").exists() {
        Ok(())
    } else {
        Err("tracefs is not mounted at /sys/kernel/tracing and mounting it failed".into())
    }
}

/// A directory of its own for one test, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// `<temp>/policyctl-run-host-<test>-<pid>-<n>`, created empty.
    pub fn new(test: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "policyctl-run-host-{test}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create the test directory");
        // the canonical path: what the kernel reports for files and binaries in it
        let path = path.canonicalize().expect("canonical test directory");
        TempDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory as a string (it is UTF-8: temp_dir plus ASCII).
    pub fn str(&self) -> &str {
        self.path.to_str().expect("UTF-8 temp path")
    }

    /// `name` in the directory, as a string.
    pub fn join(&self, name: &str) -> String {
        format!("{}/{name}", self.str())
    }

    /// Write `text` to `name` in the directory; its path.
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {path}: {e}"));
        path
    }

    /// Copy the binary `from` to `name` in the directory (executable); its path.
    pub fn copy_binary(&self, from: &str, name: &str) -> String {
        let path = self.join(name);
        std::fs::copy(from, &path).unwrap_or_else(|e| panic!("copy {from} to {path}: {e}"));
        path
    }

    /// Compile the C `source` to the executable `name` in the directory with `gcc -O0 -g`; its
    /// path, or `None` (skipped, failing under CI) without gcc.
    pub fn compile_c(&self, test: &str, name: &str, source: &str) -> Option<String> {
        self.compile_c_with(test, name, source, &[])
    }

    /// [`TempDir::compile_c`] with more `gcc` flags (`-no-pie`, ...).
    pub fn compile_c_with(
        &self,
        test: &str,
        name: &str,
        source: &str,
        flags: &[&str],
    ) -> Option<String> {
        let c = self.write(&format!("{name}.c"), source);
        let path = self.join(name);
        let out = match Command::new("gcc")
            .args(["-O0", "-g", "-o", &path, &c])
            .args(flags)
            .output()
        {
            Ok(out) => out,
            Err(e) => {
                crate::skip::skip(test, &format!("gcc is not installed ({e})"));
                return None;
            }
        };
        assert!(
            out.status.success(),
            "gcc failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A uprobe target for [`TempDir::compile_c`]: `target_fn`, a function with an int and a string
/// argument.
#[allow(dead_code)]
pub const UPROBE_TARGET: &str = r#"
#include <stdio.h>
__attribute__((noinline)) int target_fn(int n, const char *s)
{
    asm volatile("" ::: "memory");
    return printf("%d %s\n", n, s) > 0 ? 0 : 1;
}
int main(void)
{
    /* on the stack: a string in a page not yet touched cannot be read by the probe */
    char s[] = "hello-uprobe";
    return target_fn(42, s);
}
"#;

/// A tracepoint policy named `name` on `syscalls/sys_enter_unlinkat` (its path as a string
/// arg) for the binary at `binary` only: one event per unlink by a copy of `rm` the test made.
#[allow(dead_code)]
pub fn unlinks_by(name: &str, binary: &str) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "{name}"
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_unlinkat"
    args:
    - index: 6
      type: "string"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "{binary}"
"#
    )
}

/// Spawn `cmd`, retrying while the binary is busy (ETXTBSY: another test thread forked while a
/// freshly copied binary was still open for writing in this process).
pub fn spawn(cmd: &mut Command) -> Child {
    for _ in 0..100 {
        match cmd.spawn() {
            Ok(child) => return child,
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("spawn {cmd:?}: {e}"),
        }
    }
    panic!("spawn {cmd:?}: text file busy, again and again")
}

/// Run `program args` to the end, with no input and its output collected; (status, stdout).
pub fn run_child(program: &str, args: &[&str]) -> (ExitStatus, u32, String) {
    let child = spawn(
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let pid = child.id();
    let out = child.wait_with_output().expect("wait for the child");
    (
        out.status,
        pid,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// What `policyctl run` printed and how it ended.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its stdout lines.
    pub stdout: Vec<String>,
    /// Its stderr lines.
    pub stderr: Vec<String>,
}

impl Finished {
    /// stderr as one text.
    pub fn stderr_text(&self) -> String {
        self.stderr.join("\n")
    }

    /// The stdout lines parsed as JSON (each must be).
    pub fn events(&self) -> Vec<Value> {
        parse(&self.stdout)
    }
}

impl std::fmt::Display for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status {}\n--- stderr\n{}\n--- stdout\n{}",
            self.status,
            self.stderr.join("\n"),
            self.stdout.join("\n")
        )
    }
}

fn parse(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON event ({e}): {l}")))
        .collect()
}

type Lines = Arc<Mutex<Vec<String>>>;

fn collect(stream: impl std::io::Read + Send + 'static, lines: Lines) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    })
}

fn snapshot(lines: &Lines) -> Vec<String> {
    lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// A `policyctl run` with every hook attached. Stop it with [`Running::stop`]; dropping it
/// (a panicking test) kills it.
pub struct Running {
    child: Option<Child>,
    stdout: Lines,
    stderr: Lines,
    readers: Vec<JoinHandle<()>>,
}

/// `policyctl run ARGS`, waiting until it says every hook is attached (`Ctrl-C stops`). When it
/// exits before that: `Err` with what it printed.
pub fn start<S: AsRef<OsStr>>(args: &[S]) -> Result<Running, Finished> {
    start_env(args, &[])
}

/// [`start`] with more environment variables.
pub fn start_env<S: AsRef<OsStr>>(args: &[S], env: &[(&str, &str)]) -> Result<Running, Finished> {
    let mut child = spawn(
        Command::new(policyctl())
            .arg("run")
            .args(args)
            .envs(env.iter().copied())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let stdout: Lines = Default::default();
    let stderr: Lines = Default::default();
    let readers = vec![
        collect(child.stdout.take().expect("piped stdout"), stdout.clone()),
        collect(child.stderr.take().expect("piped stderr"), stderr.clone()),
    ];
    let mut running = Running {
        child: Some(child),
        stdout,
        stderr,
        readers,
    };
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if snapshot(&running.stderr)
            .iter()
            .any(|l| l.contains("Ctrl-C stops"))
        {
            return Ok(running);
        }
        let exited = running
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        if let Some(status) = exited {
            running.child = None;
            return Err(running.finish(status));
        }
        if Instant::now() > deadline {
            panic!(
                "policyctl run did not attach within {START_TIMEOUT:?}; stderr:\n{}",
                snapshot(&running.stderr).join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `policyctl run ARGS` that must start; panics with its output when it does not.
pub fn started<S: AsRef<OsStr>>(args: &[S]) -> Running {
    start(args).unwrap_or_else(|f| panic!("policyctl run did not start:\n{f}"))
}

/// `policyctl run ARGS` that must fail before attaching: what it printed.
pub fn refused<S: AsRef<OsStr>>(args: &[S]) -> Finished {
    match start(args) {
        Ok(running) => {
            let f = running.stop();
            panic!("policyctl run started when it should have refused:\n{f}")
        }
        Err(f) => f,
    }
}

impl Running {
    /// The stdout lines so far.
    pub fn lines(&self) -> Vec<String> {
        snapshot(&self.stdout)
    }

    /// The stdout lines so far, as JSON.
    pub fn events(&self) -> Vec<Value> {
        parse(&self.lines())
    }

    /// The stderr lines so far.
    pub fn stderr(&self) -> Vec<String> {
        snapshot(&self.stderr)
    }

    /// Wait until `count` printed events satisfy `want`; those events. Panics after
    /// [`EVENT_TIMEOUT`] with everything printed.
    pub fn wait_events(&self, count: usize, want: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        loop {
            let found: Vec<Value> = self.events().into_iter().filter(|e| want(e)).collect();
            if found.len() >= count {
                return found;
            }
            if Instant::now() > deadline {
                panic!(
                    "expected {count} matching events within {EVENT_TIMEOUT:?}, found {}; stdout:\n{}\nstderr:\n{}",
                    found.len(),
                    self.lines().join("\n"),
                    self.stderr().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until a printed stdout line satisfies `want`; that line.
    pub fn wait_line(&self, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        loop {
            if let Some(l) = self.lines().into_iter().find(|l| want(l)) {
                return l;
            }
            if Instant::now() > deadline {
                panic!(
                    "no matching line within {EVENT_TIMEOUT:?}; stdout:\n{}\nstderr:\n{}",
                    self.lines().join("\n"),
                    self.stderr().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGINT, wait for the exit, and check it stopped cleanly: exit 0 and `everything
    /// detached` last on stderr.
    pub fn stop(mut self) -> Finished {
        let mut child = self.child.take().expect("still running");
        // SAFETY: kill on the pid of our own child, which we have not waited for yet.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        let deadline = Instant::now() + START_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for policyctl run") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "policyctl run did not stop on SIGINT; stderr:\n{}",
                    self.stderr().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let f = self.finish(status);
        assert!(f.status.success(), "policyctl run failed:\n{f}");
        let last = f.stderr.last().map(String::as_str).unwrap_or("");
        assert!(
            last.starts_with("policyctl run: stopped;") && last.ends_with("everything detached"),
            "unexpected last stderr line:\n{f}"
        );
        f
    }

    fn finish(&mut self, status: ExitStatus) -> Finished {
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        Finished {
            status,
            stdout: snapshot(&self.stdout),
            stderr: snapshot(&self.stderr),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `event[key].process.pid`.
pub fn pid_of(event: &Value, key: &str) -> Option<u64> {
    event.get(key)?.get("process")?.get("pid")?.as_u64()
}

impl Running {
    /// The pid of the running `policyctl run`.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("still running").id()
    }

    /// Send `signal` to the running `policyctl run` (SIGHUP: reload its policy directory).
    pub fn signal(&self, signal: libc::c_int) {
        let child = self.child.as_ref().expect("still running");
        // SAFETY: kill on the pid of our own child, which we have not waited for yet.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    }

    /// Wait until a stderr line satisfies `want`, counting from line `from`; its index.
    /// Panics after [`EVENT_TIMEOUT`] with everything printed.
    pub fn wait_stderr(&self, from: usize, want: impl Fn(&str) -> bool) -> usize {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        loop {
            if let Some(i) = self.stderr().iter().skip(from).position(|l| want(l)) {
                return from + i;
            }
            if Instant::now() > deadline {
                panic!(
                    "no matching stderr line within {EVENT_TIMEOUT:?}; stderr:\n{}",
                    self.stderr().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
