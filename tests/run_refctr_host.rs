//! `policyctl run` with uprobes that have a reference counter, on this machine's kernel, as
//! root: a USDT probe with a semaphore (`<sys/sdt.h>` with `_SDT_HAS_SEMAPHORES`) and a uprobe
//! with `refCtrOffsets`. The program under test fires its probes only while its counters are
//! not 0, so an event proves the kernel counted them up (the uprobe's `ref_ctr_offset`); the
//! program prints its counters, so the test also sees them back at 0 once `policyctl run` has
//! stopped (the kernel counted them down on detach). A process running before the attach and
//! one started after it are both checked (the kernel updates the first when the uprobe is
//! registered, the second when it maps the binary).
//!
//! Every probe is scoped to binaries the test compiled (or copied) into its own temporary
//! directory. These tests need root, BTF, tracefs, gcc and `<sys/sdt.h>` (Debian's
//! systemtap-sdt-dev); without them a test prints `SKIPPED` and passes, unless `CI` is set:
//! then it fails.

#[path = "support/run.rs"]
mod run;
#[path = "support/skip.rs"]
mod skip;
#[path = "support/tetragon_api.rs"]
mod tetragon_api;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use run::{pid_of, started, TempDir};
use serde_json::{json, Value};

/// A USDT probe `test:sema` with a semaphore, and two functions for uprobes whose reference
/// counters are `tick_ref` and `tock_ref`, driven line by line on stdin (the file says how;
/// `tests/vm/uprobe.rs` probes it in the VM).
const TARGET: &str = include_str!("../testdata/uprobe/refctr.c");

/// The target, running, driven line by line.
struct Target {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Target {
    fn start(bin: &str) -> Target {
        let mut child = run::spawn(
            Command::new(bin)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        );
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Target {
            child,
            stdin,
            stdout,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send `line`; the counters the program prints back.
    fn say(&mut self, line: &str) -> String {
        writeln!(self.stdin, "{line}").expect("write to the target");
        self.stdin.flush().expect("flush");
        let mut out = String::new();
        self.stdout.read_line(&mut out).expect("read the target");
        out.trim().to_string()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `<sys/sdt.h>`, or skipped.
fn have_sdt(test: &str) -> bool {
    if std::path::Path::new("/usr/include/x86_64-linux-gnu/sys/sdt.h").exists()
        || std::path::Path::new("/usr/include/sys/sdt.h").exists()
    {
        return true;
    }
    skip::skip(
        test,
        "<sys/sdt.h> is not installed (Debian: apt-get install systemtap-sdt-dev)",
    );
    false
}

fn events_of<'a>(events: &'a [Value], kind: &str, pid: u32) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| pid_of(e, kind) == Some(pid as u64))
        .map(|e| &e[kind])
        .collect()
}

/// The semaphore of a USDT probe and the `refCtrOffsets` of uprobes (by symbol, with a
/// uretprobe, and by offset) are counted up by the kernel while `policyctl run` runs, in a process started before and
/// one started after the attach, so each fires; they are 0 again once it stops.
#[test]
fn reference_counters_are_counted_while_attached() {
    let test = "reference_counters_are_counted_while_attached";
    if !run::ready(test) || !have_sdt(test) {
        return;
    }
    let dir = TempDir::new("refctr");
    let Some(bin) = dir.compile_c(test, "target", TARGET) else {
        return;
    };
    // the file offsets of the counters and of `tock` (what a policy author takes from
    // `readelf`); the probe's semaphore comes from the note
    let offset = |symbol: &str| {
        policyctl_runtime::refctr::symbol_offset(&bin, symbol)
            .unwrap_or_else(|e| panic!("{symbol}: {e}"))
    };
    let (tick_ref, tock_ref, tock) = (offset("tick_ref"), offset("tock_ref"), offset("tock"));
    let probes = policyctl_runtime::usdt::read(&bin).expect("the notes");
    let sema = probes
        .iter()
        .find(|p| p.provider == "test" && p.name == "sema")
        .expect("test:sema")
        .semaphore;
    assert_ne!(sema, 0, "the note names its semaphore: {probes:?}");
    let usdt_policy = dir.write(
        "usdt.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "host-refctr-usdt"
spec:
  usdts:
  - path: "{bin}"
    provider: "test"
    name: "sema"
    args:
    - index: 0
      type: "int32"
"#
        ),
    );
    let uprobe_policy = dir.write(
        "uprobe.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "host-refctr-uprobe"
spec:
  uprobes:
  - path: "{bin}"
    symbols:
    - "tick"
    refCtrOffsets:
    - {tick_ref}
    args:
    - index: 0
      type: "int"
    return: true
    returnArg:
      index: 0
      type: "int"
  - path: "{bin}"
    offsets:
    - {tock}
    refCtrOffsets:
    - {tock_ref:#x}
"#
        ),
    );

    let mut before = Target::start(&bin);
    assert_eq!(before.say("p"), "0 0 0", "nothing counts the counters yet");
    assert_eq!(before.say("f"), "0 0 0");

    let running = started(&[
        usdt_policy.as_str(),
        uprobe_policy.as_str(),
        "--policy-events-only",
    ]);
    let stderr = running.stderr().join("\n");
    for line in [
        format!("usdt `{bin}:test:sema` (at 0x"),
        format!("semaphore at {sema:#x})"),
        format!("uprobe `{bin}:tick` (reference counter at {tick_ref:#x})"),
        format!("uprobe `{bin}+{tock:#x}` (reference counter at {tock_ref:#x})"),
        "its return attached with uretprobe".to_string(),
    ] {
        assert!(stderr.contains(&line), "no `{line}` in:\n{stderr}");
    }
    assert_eq!(
        before.say("f"),
        "1 1 1",
        "the kernel counted the running process's counters"
    );
    let mut after = Target::start(&bin);
    assert_eq!(
        after.say("f"),
        "1 1 1",
        "and those of a process started later"
    );
    let pids = [before.pid(), after.pid()];
    running.wait_events(6, |e| {
        pids.iter().any(|p| {
            pid_of(e, "process_usdt") == Some(*p as u64)
                || pid_of(e, "process_uprobe") == Some(*p as u64)
        })
    });
    let f = running.stop();
    assert!(f.status.success(), "{f}");
    let events = f.events();
    for pid in pids {
        let usdt = events_of(&events, "process_usdt", pid);
        assert_eq!(usdt.len(), 1, "one test:sema event for {pid}:\n{f}");
        assert_eq!(usdt[0]["provider"], "test");
        assert_eq!(usdt[0]["name"], "sema");
        assert_eq!(usdt[0]["args"], json!([{"int_arg": 7}]), "{}", usdt[0]);
        let uprobes = events_of(&events, "process_uprobe", pid);
        assert_eq!(uprobes.len(), 2, "tick and tock for {pid}:\n{f}");
        let tick = uprobes
            .iter()
            .find(|u| u["symbol"] == "tick")
            .unwrap_or_else(|| panic!("no tick event:\n{f}"));
        // the uretprobe, attached with the same counter, merged its return value (n + 1)
        assert_eq!(
            tick["args"],
            json!([{"int_arg": 7}, {"int_arg": 8}]),
            "{tick}"
        );
        // Tetragon's ProcessUprobe `ref_ctr_offset` (a uint64: a string in JSON)
        assert_eq!(tick["ref_ctr_offset"], tick_ref.to_string(), "{tick}");
        let tock_event = uprobes
            .iter()
            .find(|u| u.get("symbol").is_none_or(|s| s == ""))
            .unwrap_or_else(|| panic!("no tock event:\n{f}"));
        assert_eq!(tock_event["offset"], tock.to_string(), "{tock_event}");
        assert_eq!(
            tock_event["ref_ctr_offset"],
            tock_ref.to_string(),
            "{tock_event}"
        );
    }
    // detached: the kernel counted every counter down again
    assert_eq!(before.say("f"), "0 0 0", "counted down on detach");
    assert_eq!(after.say("f"), "0 0 0", "counted down on detach");
    // a Tetragon consumer reads the events (`ref_ctr_offset` is ProcessUprobe's field 11),
    // and writes them back the same (tests/tetragon_api.rs says how)
    match tetragon_api::compiled(test) {
        Ok((py, gen)) => {
            let d = tetragon_api::decode(&py, &gen, &f.stdout);
            assert_eq!(
                d.kinds.get("process_uprobe"),
                Some(&json!(4)),
                "{:?}",
                d.kinds
            );
        }
        Err(reason) => skip::skip(test, &reason),
    }
}

/// A real binary's semaphores: CPython built with `--with-dtrace` (Debian's python3.11) fires
/// `python:import__find__load__start` only while its semaphore is set. A copy of the
/// interpreter in the test's directory imports `json`; the event carries the module's name.
#[test]
fn python_import_probe_fires_through_its_semaphore() {
    let test = "python_import_probe_fires_through_its_semaphore";
    if !run::ready(test) {
        return;
    }
    let python = "/usr/bin/python3.11";
    let has_probe = policyctl_runtime::usdt::read(python).is_ok_and(|probes| {
        probes.iter().any(|p| {
            p.provider == "python" && p.name == "import__find__load__start" && p.semaphore != 0
        })
    });
    if !has_probe {
        skip::skip(
            test,
            "/usr/bin/python3.11 with USDT probes (Debian's python3.11) is not installed",
        );
        return;
    }
    let dir = TempDir::new("refctr-python");
    let bin = dir.copy_binary(python, "python3.11");
    let policy = dir.write(
        "python.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "host-python"
spec:
  usdts:
  - path: "{bin}"
    provider: "python"
    name: "import__find__load__start"
    args:
    - index: 0
      type: "string"
      label: "module"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values:
        - "json"
"#
        ),
    );
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    let stderr = running.stderr().join("\n");
    assert!(stderr.contains("semaphore at 0x"), "{stderr}");
    let (status, pid, out) = run::run_child(&bin, &["-S", "-c", "import json; print(1)"]);
    assert!(status.success(), "python failed: {out}");
    assert_eq!(out, "1\n");
    running.wait_events(1, |e| pid_of(e, "process_usdt") == Some(pid as u64));
    let f = running.stop();
    let events = f.events();
    let mine = events_of(&events, "process_usdt", pid);
    assert_eq!(mine.len(), 1, "one import of json:\n{f}");
    assert_eq!(
        mine[0]["args"],
        json!([{"string_arg": "json", "label": "module"}]),
        "{}",
        mine[0]
    );
}
