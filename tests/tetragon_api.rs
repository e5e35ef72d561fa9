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
//! installed once, pinned, into a virtualenv in `target/tetragon-api-venv/`. Without Python's
//! `venv` and `ensurepip` (Debian: `apt-get install python3-venv`), a reachable PyPI, or the
//! reference protos, the tests are skipped through `support/skip.rs` (and fail under `CI`).

#[path = "support/run.rs"]
mod run;
#[path = "support/skip.rs"]
mod skip;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use run::{pid_of, run_child, started, TempDir};
use serde_json::Value;

/// The `protobuf` release that decodes (its `json_format` is the proto3 JSON mapping).
const PROTOBUF: &str = "7.36.2";
/// The `grpcio-tools` release whose bundled protoc compiles Tetragon's protos.
const GRPCIO_TOOLS: &str = "1.85.4";

/// Reads JSON events, one a line, on stdin; decodes each into `tetragon.GetEventsResponse` and
/// writes it back; prints one line per failure and, last, a JSON summary: events decoded by kind,
/// arguments by kind, failures.
const DECODER: &str = r#"
import collections, json, sys
sys.path.insert(0, sys.argv[1])
from google.protobuf import json_format
from tetragon import events_pb2

kinds, args, failed = collections.Counter(), collections.Counter(), 0
for n, line in enumerate(sys.stdin, 1):
    line = line.strip()
    if not line:
        continue
    msg = events_pb2.GetEventsResponse()
    try:
        json_format.Parse(line, msg, ignore_unknown_fields=False)
    except json_format.ParseError as e:
        failed += 1
        print(f"event {n} is not a tetragon.GetEventsResponse: {e}\n  {line}")
        continue
    kind = msg.WhichOneof("event")
    if kind is None:
        failed += 1
        print(f"event {n} holds no event\n  {line}")
        continue
    kinds[kind] += 1
    for arg in getattr(getattr(msg, kind), "args", []):
        args[arg.WhichOneof("arg") or "none"] += 1
    back = json.loads(json_format.MessageToJson(msg, preserving_proto_field_name=True))
    if back != json.loads(line):
        failed += 1
        print(f"event {n} differs from protojson's encoding of what it decodes to\n"
              f"  policyctl: {line}\n  protojson: {json.dumps(back, separators=(',', ':'))}")
print(json.dumps({"kinds": kinds, "args": args, "failed": failed}))
"#;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn output(cmd: &mut Command) -> Result<Output, String> {
    cmd.output().map_err(|e| format!("cannot run {cmd:?}: {e}"))
}

/// The virtualenv's python with [`PROTOBUF`] and [`GRPCIO_TOOLS`], installed if needed; `Err`
/// says what is missing.
fn python() -> Result<PathBuf, String> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .join("tetragon-api-venv");
    let py = venv.join("bin/python");
    let want = format!("{PROTOBUF} {GRPCIO_TOOLS}");
    let versions = |py: &Path| {
        Command::new(py)
            .args([
                "-c",
                "from importlib.metadata import version as v; \
                 print(v('protobuf'), v('grpcio-tools'))",
            ])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if versions(&py).as_deref() == Some(want.as_str()) {
        return Ok(py);
    }
    match Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .output()
    {
        Ok(o) if o.status.success() => {}
        Ok(_) => {
            return Err(
                "python3 has no venv/ensurepip (Debian: apt-get install python3-venv)".into(),
            )
        }
        Err(_) => return Err("no python3 (Debian: apt-get install python3-venv)".into()),
    }
    let o = output(
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
    )?;
    if !o.status.success() {
        return Err(format!("python3 -m venv failed: {}", text(&o)));
    }
    let o = output(Command::new(&py).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("protobuf=={PROTOBUF}"),
        &format!("grpcio-tools=={GRPCIO_TOOLS}"),
    ]))?;
    if !o.status.success() {
        return Err(format!(
            "pip could not install protobuf {PROTOBUF} and grpcio-tools {GRPCIO_TOOLS} \
             (is PyPI reachable?): {}",
            text(&o)
        ));
    }
    match versions(&py) {
        Some(v) if v == want => Ok(py),
        v => Err(format!("installed, but the versions are {v:?}, not {want}")),
    }
}

/// Tetragon's protos, compiled into Python modules in a fresh directory for `test`; the python
/// to run the decoder with and that directory. `Err` says what is missing.
fn compiled(test: &str) -> Result<(PathBuf, PathBuf), String> {
    let api = root().join("../shared/reference/tetragon-api");
    let protos: Vec<PathBuf> = std::fs::read_dir(api.join("tetragon"))
        .map_err(|e| {
            format!(
                "Tetragon's protos are not at {} ({e}); they come with the shared reference",
                api.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "proto"))
        .collect();
    if !protos.iter().any(|p| p.ends_with("tetragon/events.proto")) {
        return Err(format!("no tetragon/events.proto in {}", api.display()));
    }
    let py = python()?;
    let gen = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("tetragon-api")
        .join(test);
    let _ = std::fs::remove_dir_all(&gen);
    std::fs::create_dir_all(&gen).expect("create the output directory");
    // grpc_tools.protoc adds the include path of Google's well-known types (timestamp, wrappers)
    let o = output(
        Command::new(&py)
            .args(["-m", "grpc_tools.protoc"])
            .arg(format!("-I{}", api.display()))
            .arg(format!("--python_out={}", gen.display()))
            .args(&protos),
    )?;
    // the protos are Tetragon's own: protoc must compile them, a failure is a test failure
    assert!(o.status.success(), "protoc failed: {}", text(&o));
    Ok((py, gen))
}

/// What the decoder said about a list of events.
#[derive(Debug)]
struct Decoded {
    /// Events decoded, by kind (`process_exec`, ...).
    kinds: serde_json::Map<String, Value>,
    /// Arguments decoded, by kind (`int_arg`, ...).
    args: serde_json::Map<String, Value>,
}

/// Decode every line of `events` into `tetragon.GetEventsResponse`; panics with the decoder's
/// findings when one fails.
fn decode(py: &Path, gen: &Path, events: &[String]) -> Decoded {
    let mut child = Command::new(py)
        .arg("-c")
        .arg(DECODER)
        .arg(gen)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the decoder");
    let mut stdin = child.stdin.take().unwrap();
    let input = events.join("\n");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let o = child.wait_with_output().expect("the decoder's output");
    writer.join().unwrap().expect("write the events");
    let out = text(&o);
    assert!(o.status.success(), "the decoder failed:\n{out}");
    let (findings, summary) = out.trim_end().rsplit_once('\n').unwrap_or(("", &out));
    let summary: Value = serde_json::from_str(summary.trim())
        .unwrap_or_else(|e| panic!("no summary from the decoder ({e}):\n{out}"));
    assert_eq!(
        summary["failed"], 0,
        "events a Tetragon consumer cannot read:\n{findings}"
    );
    let map = |k: &str| summary[k].as_object().cloned().unwrap_or_default();
    Decoded {
        kinds: map("kinds"),
        args: map("args"),
    }
}

fn report(test: &str, what: &str, d: &Decoded, started: Instant) {
    let total: u64 = d.kinds.values().filter_map(Value::as_u64).sum();
    let _ = writeln!(
        std::io::stderr(),
        "{test}: {total} {what} decoded as tetragon.GetEventsResponse in {:.1?}: events {} args {}",
        started.elapsed(),
        Value::Object(d.kinds.clone()),
        Value::Object(d.args.clone()),
    );
}

/// Every JSON event of the runtime's reviewed output snapshots.
#[test]
fn snapshot_events_decode_as_tetragon_messages() {
    let test = "snapshot_events_decode_as_tetragon_messages";
    let t0 = Instant::now();
    let (py, gen) = match compiled(test) {
        Ok(x) => x,
        Err(reason) => return skip::skip(test, &reason),
    };
    let dir = root().join("runtime/tests/snapshots");
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

/// A uprobe target: a function with an int and a string argument.
const UPROBE_TARGET: &str = r#"
#include <stdio.h>
__attribute__((noinline)) int target_fn(int n, const char *s)
{
    asm volatile("" ::: "memory");
    return printf("%d %s\n", n, s) > 0 ? 0 : 1;
}
int main(void)
{
    char s[] = "hello-uprobe";
    return target_fn(42, s);
}
"#;

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
    let Some(bin) = dir.compile_c(test, "target", UPROBE_TARGET) else {
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
    let d = decode(&py, &gen, &events);
    report(test, "live events", &d, t0);
}
