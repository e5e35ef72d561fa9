//! Tetragon's own event messages for the tests: Google's `protobuf` and `grpcio-tools` for
//! Python, installed once, pinned, into a virtualenv in `target/tetragon-api-venv/`; Tetragon's
//! protos (`../shared/reference/tetragon-api/`) compiled into Python modules with
//! `grpc_tools.protoc`; and [`decode`], which decodes JSON events into
//! `tetragon.GetEventsResponse` with `google.protobuf.json_format.Parse` (unknown fields
//! rejected) and requires each decoded message, written back with the proto field names as
//! Tetragon writes its events (`ProtojsonEncoder.Encode` in `pkg/encoder/encoder.go`, protojson
//! with `UseProtoNames`), to give the very same JSON object.

#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use serde_json::Value;

/// The `protobuf` release that decodes (its `json_format` is the proto3 JSON mapping).
pub const PROTOBUF: &str = "7.36.2";
/// The `grpcio-tools` release whose bundled protoc compiles Tetragon's protos.
pub const GRPCIO_TOOLS: &str = "1.85.4";

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
pub fn python() -> Result<PathBuf, String> {
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
pub fn compiled(test: &str) -> Result<(PathBuf, PathBuf), String> {
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
pub struct Decoded {
    /// Events decoded, by kind (`process_exec`, ...).
    pub kinds: serde_json::Map<String, Value>,
    /// Arguments decoded, by kind (`int_arg`, ...).
    pub args: serde_json::Map<String, Value>,
}

/// Decode every line of `events` into `tetragon.GetEventsResponse`; panics with the decoder's
/// findings when one fails.
pub fn decode(py: &Path, gen: &Path, events: &[String]) -> Decoded {
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

pub fn report(test: &str, what: &str, d: &Decoded, started: Instant) {
    let total: u64 = d.kinds.values().filter_map(Value::as_u64).sum();
    let _ = writeln!(
        std::io::stderr(),
        "{test}: {total} {what} decoded as tetragon.GetEventsResponse in {:.1?}: events {} args {}",
        started.elapsed(),
        Value::Object(d.kinds.clone()),
        Value::Object(d.args.clone()),
    );
}
