//! A consumer written for Tetragon reads policyctl's JSON events: each event is decoded into
//! Tetragon's own `tetragon.GetEventsResponse` message, compiled in the test from Tetragon's
//! protos (`../shared/reference/tetragon-api/`, `api/v1/tetragon/*.proto` of cilium/tetragon),
//! with the proto3 JSON mapping of Google's `protobuf` package for Python
//! (`google.protobuf.json_format.Parse`, unknown fields rejected: a field name that is not in
//! Tetragon's messages, or a value of the wrong JSON type, fails the test). Each decoded message
//! is then written back with the same mapping and proto field names (as Tetragon writes its
//! events: `ProtojsonEncoder.Encode` in `pkg/encoder/encoder.go`, protojson with
//! `UseProtoNames`) and must give the very same JSON object: no field set to its default value,
//! 64-bit integers as strings, enums by name, timestamps as protojson writes them.
//!
//! Two sources: every JSON event of the runtime's reviewed output snapshots
//! (`runtime/tests/snapshots/output__*.snap`, which hold each event kind and each argument kind
//! the runtime renders), and every event of a live `policyctl run` on this machine (exec and
//! exit of the whole machine, a uprobe, a tracepoint and `syscall: true` kprobes, one with
//! Sigkill, on binaries the test copied or built; root needed).
//!
//! Python's `protobuf` and `grpcio-tools` (whose `grpc_tools.protoc` compiles the protos) are
//! installed once, pinned, into a virtualenv in `target/tetragon-api-venv/`
//! (`support/tetragon_api.rs`, which the VM test `vm/article.rs` shares). Without Python's
//! `venv` and `ensurepip` (Debian: `apt-get install python3-venv`), a reachable PyPI, or the
//! reference protos, the tests are skipped through `support/skip.rs` (and fail under `CI`).

#[path = "support/run.rs"]
mod run;
#[path = "support/skip.rs"]
mod skip;
#[path = "support/tetragon_api.rs"]
mod tetragon_api;

use std::path::Path;
use std::time::Instant;

use run::{pid_of, run_child, started, TempDir};
use tetragon_api::{compiled, decode, report};

/// Every JSON event of the runtime's reviewed output snapshots.
#[test]
fn snapshot_events_decode_as_tetragon_messages() {
    let test = "snapshot_events_decode_as_tetragon_messages";
    let t0 = Instant::now();
    let (py, gen) = match compiled(test) {
        Ok(x) => x,
        Err(reason) => return skip::skip(test, &reason),
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("runtime/tests/snapshots");
    let mut events = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("runtime/tests/snapshots") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("output__") && name.ends_with(".snap")) {
            continue;
        }
        files += 1;
        let snap = std::fs::read_to_string(&path).unwrap();
        // runtime/tests/output.rs writes the architecture's syscall numbers and ABI name as
        // placeholders; put back what policyctl printed on this machine
        let abi = match std::env::consts::ARCH {
            "aarch64" => "arm64",
            "x86" => "i386",
            _ => "x64",
        };
        let snap = snap
            .replace(
                "\"long_arg\":\"<SYS_openat>\"",
                &format!("\"long_arg\":\"{}\"", libc::SYS_openat),
            )
            .replace(
                "\"syscall_id\":{\"id\":\"<SYS_execve>\",\"abi\":\"<abi>\"}",
                &format!(
                    "\"syscall_id\":{{\"id\":{},\"abi\":\"{abi}\"}}",
                    libc::SYS_execve
                ),
            );
        events.extend(
            snap.lines()
                .filter(|l| l.starts_with('{'))
                .map(str::to_string),
        );
    }
    assert!(files >= 10, "only {files} output snapshots in {dir:?}");
    let d = decode(&py, &gen, &events);
    report(test, "snapshot events", &d, t0);
    for kind in [
        "process_exec",
        "process_exit",
        "process_kprobe",
        "process_tracepoint",
        "process_uprobe",
        "process_lsm",
        "process_usdt",
    ] {
        assert!(d.kinds.contains_key(kind), "no {kind} in {:?}", d.kinds);
    }
    for arg in [
        "int_arg",
        "uint_arg",
        "long_arg",
        "size_arg",
        "string_arg",
        "bytes_arg",
        "path_arg",
        "file_arg",
        "linux_binprm_arg",
        "sock_arg",
        "syscall_id",
    ] {
        assert!(d.args.contains_key(arg), "no {arg} in {:?}", d.args);
    }
}

/// The events of a live run: every event it prints (exec and exit events of the whole machine
/// included), with a uprobe, a tracepoint and two kprobe policies (Post, Sigkill) on what the
/// test starts.
#[test]
fn host_run_events_decode_as_tetragon_messages() {
    let test = "host_run_events_decode_as_tetragon_messages";
    if !run::ready(test) {
        return;
    }
    let t0 = Instant::now();
    let (py, gen) = match compiled(test) {
        Ok(x) => x,
        Err(reason) => return skip::skip(test, &reason),
    };
    let dir = TempDir::new("tetragon-api");
    let Some(bin) = dir.compile_c(test, "target", run::UPROBE_TARGET) else {
        return;
    };
    let rm = dir.copy_binary("/usr/bin/rm", "rm-api");
    let cat = dir.copy_binary("/usr/bin/cat", "cat-api");
    // the only binary the Sigkill policy may act on
    let killed = dir.copy_binary("/usr/bin/cat", "cat-killed");
    let secret = dir.write("secret.txt", "secret\n");
    let suffix = format!("-{}.unlinkme", std::process::id());
    let policy = dir.write(
        "policies.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "api-uprobe"
spec:
  uprobes:
  - path: "{bin}"
    symbols:
    - "target_fn"
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "string"
---
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "api-unlinkat"
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_unlinkat"
    args:
    - index: 5
      type: "int"
    - index: 6
      type: "string"
    selectors:
    - matchArgs:
      - index: 6
        operator: "Postfix"
        values:
        - "{suffix}"
---
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "api-openat"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "string"
    - index: 2
      type: "int"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "{cat}"
      matchActions:
      - action: Post
        kernelStackTrace: true
        userStackTrace: true
---
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "api-sigkill"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "string"
    - index: 2
      type: "int"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Equal"
        values:
        - "{secret}"
      matchBinaries:
      - operator: "In"
        values:
        - "{killed}"
      matchActions:
      - action: Sigkill
"#
        ),
    );
    let gone = dir.write(&format!("gone{suffix}"), "");
    let running = started(&[policy.as_str(), "-o", "json"]);
    let (status, upid, out) = run_child(&bin, &[]);
    assert!(status.success());
    assert_eq!(out, "42 hello-uprobe\n");
    let (status, rpid, _) = run_child(&rm, &[&gone]);
    assert!(status.success());
    // a file that is not there: an open, and an exit with status 1
    let (status, cpid, _) = run_child(&cat, &[&dir.join("missing")]);
    assert_eq!(status.code(), Some(1));
    // killed at its open of the secret: a Sigkill event and an exit by SIGKILL
    let (status, kpid, out) = run_child(&killed, &[&secret]);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL),
        "{status:?}"
    );
    assert_eq!(out, "");
    for pid in [upid, rpid, cpid, kpid] {
        running.wait_events(1, |e| pid_of(e, "process_exit") == Some(pid as u64));
    }
    let f = running.stop();
    assert!(f.status.success(), "{f}");
    let events = f.stdout.clone();
    let parsed = f.events();
    let has = |kind: &str, pid: u32| parsed.iter().any(|e| pid_of(e, kind) == Some(pid as u64));
    for (kind, pid) in [
        ("process_exec", upid),
        ("process_uprobe", upid),
        ("process_exit", upid),
        ("process_exec", rpid),
        ("process_tracepoint", rpid),
        ("process_exit", rpid),
        ("process_kprobe", cpid),
        ("process_exit", cpid),
        ("process_kprobe", kpid),
        ("process_exit", kpid),
    ] {
        assert!(has(kind, pid), "no {kind} of pid {pid}:\n{f}");
    }
    assert!(
        parsed
            .iter()
            .any(|e| pid_of(e, "process_kprobe") == Some(kpid as u64)
                && e["process_kprobe"]["action"] == "KPROBE_ACTION_SIGKILL"),
        "no Sigkill event:\n{f}"
    );
    assert!(
        parsed
            .iter()
            .any(|e| pid_of(e, "process_exit") == Some(kpid as u64)
                && e["process_exit"]["signal"] == "SIGKILL"),
        "no exit by SIGKILL:\n{f}"
    );
    // Post's kernelStackTrace on api-openat: decoded as StackTraceEntry below (the user
    // stack may be empty: cat can be gone before its maps are read, as with Tetragon)
    assert!(
        parsed
            .iter()
            .any(|e| pid_of(e, "process_kprobe") == Some(cpid as u64)
                && e["process_kprobe"]["kernel_stack_trace"]
                    .as_array()
                    .is_some_and(|k| !k.is_empty())),
        "no kernel stack:\n{f}"
    );
    let d = decode(&py, &gen, &events);
    report(test, "live events", &d, t0);
}
