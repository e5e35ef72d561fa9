//! `policyctl lsp` end to end: the real binary, spoken to in JSON-RPC over its stdin and stdout
//! with Content-Length framing, as an editor does.
//!
//! Every server is started with `hostKernel: false` and the Debian 6.12 fixture kernel, so no
//! result depends on the machine running the tests. Snapshots are in `tests/snapshots/lsp__*`;
//! update them with `INSTA_UPDATE=always cargo test --test lsp`, then review them.

use std::collections::VecDeque;
use std::io::{BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The fixture kernel every server checks against.
const K612: &str = "testdata/btf/6.12.117+deb12-amd64.btf.zst";
const K61: &str = "testdata/btf/6.1.0-56-amd64.btf.zst";

/// How long any single answer may take (debug builds on a busy CI machine).
const TIMEOUT: Duration = Duration::from_secs(30);

/// A policy with schema, semantic and kernel errors (and a non-ASCII character, so UTF-16
/// columns differ from byte columns on its line).
const BROKEN: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "broken-démo"
spec:
  kprobes:
  - call: "do_mkdirat"
    args:
    - index: 1
      type: "string"
    - index: 1
      type: "int"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Prefx"
        values:
        - 443
      matchActions:
      - action: Sigkill
  - call: "dev_queue_xmit"
    syscall: false
    args:
    - index: 0
      type: "skb"
"#;

/// A clean policy.
const CLEAN: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "kprobe-ssh-session-mkdir"
spec:
  kprobes:
  - call: "do_mkdirat"
    syscall: false
    args:
    - index: 1
      type: "filename"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/usr/sbin/sshd"
        followChildren: true
      matchActions:
      - action: Post
"#;

/// Not a policy: the YAML server's business.
const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: "three"
  template:
    spec:
      containers:
      - name: web
        image: nginx
"#;

// ---------------------------------------------------------------------------------------------
// A small LSP client.

/// A running `policyctl lsp --stdio`.
#[path = "support/jsonrpc.rs"]
mod jsonrpc;

struct Lsp {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    /// Messages read but not yet consumed, in order.
    backlog: VecDeque<Value>,
    next_id: i64,
}

impl Lsp {
    /// Start the server, without initializing it.
    fn spawn() -> Lsp {
        Lsp::spawn_with(&["lsp", "--stdio"])
    }

    /// Start `policyctl` with these arguments, without initializing it.
    fn spawn_with(args: &[&str]) -> Lsp {
        let mut child = Command::new(env!("CARGO_BIN_EXE_policyctl"))
            .args(args)
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start policyctl lsp");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, incoming) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(msg) = jsonrpc::read_message(&mut reader) {
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
        Lsp {
            child,
            stdin,
            incoming,
            backlog: VecDeque::new(),
            next_id: 0,
        }
    }

    /// Start and initialize a server with these initialization options.
    fn start_with(options: Value) -> (Lsp, Value) {
        let mut lsp = Lsp::spawn();
        let init = lsp.request(
            "initialize",
            json!({ "processId": null, "rootUri": null, "capabilities": {},
                    "initializationOptions": options }),
        );
        lsp.notify("initialized", json!({}));
        (lsp, init)
    }

    /// Start a server checking against the 6.12 fixture kernel only.
    fn start() -> Lsp {
        Lsp::start_with(kernels(&[K612])).0
    }

    fn send(&mut self, msg: &Value) {
        jsonrpc::write_message(&mut self.stdin, msg);
    }

    /// Send bytes as they are: frames of our own making, malformed or not.
    fn raw(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).expect("the server reads");
        self.stdin.flush().expect("the server reads");
    }

    /// The server's `Threads` and `VmHWM` (kB), from `/proc/<pid>/status`.
    fn threads_and_peak_kb(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("Threads:"), field("VmHWM:"))
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Send a request; returns its id.
    fn send_request(&mut self, method: &str, params: Value) -> i64 {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        id
    }

    /// The response to request `id` (the whole message: `result` or `error`).
    fn response(&mut self, id: i64) -> Value {
        self.wait(TIMEOUT, |m| m.get("method").is_none() && m["id"] == id)
            .unwrap_or_else(|| panic!("no response to request {id}"))
    }

    /// Send a request and return its result; panics on an error response.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        let resp = self.response(id);
        assert!(resp.get("error").is_none(), "{method} failed: {resp}");
        resp["result"].clone()
    }

    /// The next message, answering the server's own requests on the way (with `null`).
    fn next(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.incoming.recv_timeout(left) {
            Ok(msg) => {
                if msg.get("method").is_some() && msg.get("id").is_some() {
                    let id = msg["id"].clone();
                    self.send(&json!({ "jsonrpc": "2.0", "id": id, "result": null }));
                }
                Some(msg)
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output"),
        }
    }

    /// The first message (read or already in the backlog) that `pred` accepts, within
    /// `timeout`; the others stay in the backlog.
    fn wait(&mut self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        if let Some(i) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(i);
        }
        let deadline = Instant::now() + timeout;
        while let Some(msg) = self.next(deadline) {
            if pred(&msg) {
                return Some(msg);
            }
            self.backlog.push_back(msg);
        }
        None
    }

    /// Read everything that arrives within `time` into the backlog.
    fn drain(&mut self, time: Duration) {
        let deadline = Instant::now() + time;
        while let Some(msg) = self.next(deadline) {
            self.backlog.push_back(msg);
        }
    }

    /// Take every `publishDiagnostics` for `uri` from the backlog, in order.
    fn take_published(&mut self, uri: &str) -> Vec<Value> {
        let (mine, rest): (Vec<Value>, Vec<Value>) = self
            .backlog
            .drain(..)
            .partition(|m| is_diagnostics_for(m, uri));
        self.backlog = rest.into();
        mine.into_iter().map(|m| m["params"].clone()).collect()
    }

    /// The diagnostics published for `uri` at `version` (earlier publications for it are
    /// dropped).
    fn diagnostics(&mut self, uri: &str, version: i64) -> Value {
        let msg = self
            .wait(TIMEOUT, |m| {
                is_diagnostics_for(m, uri) && m["params"]["version"] == version
            })
            .unwrap_or_else(|| panic!("no diagnostics for {uri} at version {version}"));
        msg["params"]["diagnostics"].clone()
    }

    fn open(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "yaml", "version": version,
                                      "text": text } }),
        );
    }

    /// An incremental change: replace `range` (`[[line, character], [line, character]]`).
    fn edit(&mut self, uri: &str, version: i64, range: [[u32; 2]; 2], text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version },
                    "contentChanges": [ { "range": lsp_range(range), "text": text } ] }),
        );
    }

    fn replace_all(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version },
                    "contentChanges": [ { "text": text } ] }),
        );
    }

    fn at(&mut self, method: &str, uri: &str, line: u32, character: u32) -> Value {
        self.request(
            method,
            json!({ "textDocument": { "uri": uri },
                    "position": { "line": line, "character": character } }),
        )
    }

    /// `shutdown`, `exit`, and the process ends with status 0.
    fn shutdown(mut self) {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "policyctl lsp exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "policyctl lsp did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Lsp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_diagnostics_for(m: &Value, uri: &str) -> bool {
    m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
}

fn kernels(btf: &[&str]) -> Value {
    let list: Vec<Value> = btf.iter().map(|b| json!({ "btf": b })).collect();
    json!({ "policyctl": { "kernels": list, "hostKernel": false } })
}

fn lsp_range([[l0, c0], [l1, c1]]: [[u32; 2]; 2]) -> Value {
    json!({ "start": { "line": l0, "character": c0 }, "end": { "line": l1, "character": c1 } })
}

/// The LSP position (line, UTF-16 column) of byte `offset` of `text`.
fn position(text: &str, offset: usize) -> [u32; 2] {
    let before = &text[..offset];
    // LSP's line ends: `\n`, `\r\n` and a lone `\r` (edits can leave one).
    let b = text.as_bytes();
    let (mut line, mut start) = (0, 0);
    for (i, &c) in before.as_bytes().iter().enumerate() {
        if c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')) {
            (line, start) = (line + 1, i + 1);
        }
    }
    [line as u32, before[start..].encode_utf16().count() as u32]
}

/// The position of the end of the first occurrence of `needle` in `text`.
fn after(text: &str, needle: &str) -> [u32; 2] {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the text"));
    position(text, at + needle.len())
}

/// Codes of a diagnostics array, in order.
fn codes(diags: &Value) -> Vec<String> {
    diags
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

/// Diagnostics as they would be for another URI (relatedInformation names its document).
fn with_uri(diags: &Value, from: &str, to: &str) -> Value {
    serde_json::from_str(&diags.to_string().replace(from, to)).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Lifecycle.

#[test]
fn initialize_announces_capabilities_and_shutdown_exits() {
    let (lsp, init) = Lsp::start_with(kernels(&[K612]));
    assert_eq!(init["serverInfo"]["name"], "policyctl");
    insta::assert_json_snapshot!("capabilities", init["capabilities"]);
    lsp.shutdown();
}

/// vscode-languageclient appends `--stdio` to the arguments it is given, and other clients pass
/// it once or not at all: every form starts the server.
#[test]
fn stdio_may_be_given_any_number_of_times() {
    for args in [
        &["lsp"][..],
        &["lsp", "--stdio", "--stdio"],
        &["lsp", "--stdio", "--stdio", "--stdio"],
    ] {
        let mut lsp = Lsp::spawn_with(args);
        let init = lsp.request(
            "initialize",
            json!({ "processId": null, "rootUri": null, "capabilities": {} }),
        );
        assert_eq!(init["serverInfo"]["name"], "policyctl", "{args:?}: {init}");
        lsp.notify("initialized", json!({}));
        lsp.shutdown();
    }
}

#[test]
fn requests_before_initialize_are_refused_not_fatal() {
    let mut lsp = Lsp::spawn();
    let id = lsp.send_request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": "file:///x.yaml" },
                "position": { "line": 0, "character": 0 } }),
    );
    let resp = lsp.response(id);
    assert_eq!(resp["error"]["code"], -32002, "{resp}");
    // A notification before initialize is dropped.
    lsp.open("file:///early.yaml", 1, BROKEN);
    let init = lsp.request(
        "initialize",
        json!({ "capabilities": {}, "initializationOptions": kernels(&[K612]) }),
    );
    assert!(init["capabilities"]["hoverProvider"] == true);
    lsp.shutdown();
}

// ---------------------------------------------------------------------------------------------
// Diagnostics.

#[test]
fn broken_policy_gets_the_validators_diagnostics() {
    let mut lsp = Lsp::start();
    let uri = "file:///policies/broken.yaml";
    lsp.open(uri, 1, BROKEN);
    let diags = lsp.diagnostics(uri, 1);
    insta::assert_json_snapshot!("broken_policy_diagnostics", diags);

    // Exactly what `policyctl check` says about the same text, on the same kernel.
    let mut check = Command::new(env!("CARGO_BIN_EXE_policyctl"))
        .args(["check", "--format", "json", "--btf", K612, "-"])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(BROKEN.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    let from_cli: Vec<(String, u64, String)> = cli["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap() - 1,
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let from_lsp: Vec<(String, u64, String)> = diags
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let message = d["message"].as_str().unwrap();
            (
                d["code"].as_str().unwrap().to_string(),
                d["range"]["start"]["line"].as_u64().unwrap(),
                message.split('\n').next().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(from_lsp, from_cli);

    // The kernel finding names its kernel; the others none.
    let k001 = diags
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "K001")
        .expect("K001 on 6.12");
    assert!(k001["message"]
        .as_str()
        .unwrap()
        .ends_with("\nkernels: 6.12.117+deb12-amd64"));
    let with_kernels = diags
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["message"].as_str().unwrap().contains("\nkernels: "))
        .count();
    assert_eq!(with_kernels, 1);
    lsp.shutdown();
}

#[test]
fn incremental_edits_mid_word_publish_the_latest_version_only() {
    // A debounce long enough that the burst below fits in it even on a loaded machine.
    let mut options = kernels(&[K612]);
    options["policyctl"]["debounceMs"] = json!(150);
    let (mut lsp, _) = Lsp::start_with(options);
    let uri = "file:///policies/mkdir.yaml";
    lsp.open(uri, 1, CLEAN);
    assert_eq!(lsp.diagnostics(uri, 1), json!([]));

    // A burst of edits faster than the debounce: `do_mkdirat` → `do_mkd|irat` typed over, the
    // quote of `"In"` deleted mid-word (invalid YAML) and typed again.
    let mut text = CLEAN.to_string();
    let mut version = 1;
    let mut edit = |lsp: &mut Lsp, text: &mut String, at: usize, del: usize, ins: &str| {
        version += 1;
        let (a, b) = (position(text, at), position(text, at + del));
        lsp.edit(uri, version, [a, b], ins);
        text.replace_range(at..at + del, ins);
        version
    };
    let mid = CLEAN.find("mkdirat").unwrap() + 3;
    edit(&mut lsp, &mut text, mid, 0, "X");
    edit(&mut lsp, &mut text, mid, 1, "");
    let quote = text.find("\"In\"").unwrap() + 3;
    edit(&mut lsp, &mut text, quote, 1, "");
    edit(&mut lsp, &mut text, quote - 1, 0, "é");
    edit(&mut lsp, &mut text, quote - 1, "é".len(), "");
    let last = edit(&mut lsp, &mut text, quote, 0, "\"");
    assert_eq!(text, CLEAN);
    assert_eq!(lsp.diagnostics(uri, last), json!([]));
    lsp.drain(Duration::from_millis(300));
    let stale: Vec<Value> = lsp
        .take_published(uri)
        .into_iter()
        .filter(|p| p["version"] != last)
        .collect();
    assert!(stale.is_empty(), "stale diagnostics published: {stale:?}");

    // Now slowly: the broken text (an unterminated quote mid-word) gets its YAML error...
    let quote = text.find("\"In\"").unwrap() + 3;
    let broken = edit(&mut lsp, &mut text, quote, 1, "");
    let diags = lsp.diagnostics(uri, broken);
    assert!(
        codes(&diags).iter().any(|c| c.starts_with('Y')),
        "{diags:#}"
    );
    insta::assert_json_snapshot!("mid_word_yaml_error", diags);
    // ... the server keeps working on it ...
    let symbols = lsp.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri } }),
    );
    assert!(symbols.is_null() || symbols.is_array(), "{symbols}");
    // ... and the fixed text is clean again.
    let fixed = edit(&mut lsp, &mut text, quote, 0, "\"");
    assert_eq!(lsp.diagnostics(uri, fixed), json!([]));
    lsp.shutdown();
}

#[test]
fn published_versions_never_go_backwards_without_a_debounce() {
    // No debounce: every change starts a validation at once, and they race.
    let mut options = kernels(&[K612]);
    options["policyctl"]["debounceMs"] = json!(0);
    let (mut lsp, _) = Lsp::start_with(options);
    let uri = "file:///policies/race.yaml";
    lsp.open(uri, 1, BROKEN);
    lsp.diagnostics(uri, 1);
    let name = after(BROKEN, "name: \"broken");
    let mut version = 1;
    for i in 0..300 {
        version += 1;
        // Type a letter into the name, or delete it again.
        if i % 2 == 0 {
            lsp.edit(uri, version, [name, name], "x");
        } else {
            lsp.edit(uri, version, [name, [name[0], name[1] + 1]], "");
        }
    }
    // Every publication, in the order they arrive, until the last version's and a while after.
    let mut published = Vec::new();
    while published
        .last()
        .is_none_or(|p: &Value| p["version"] != version)
    {
        let msg = lsp
            .wait(TIMEOUT, |m| is_diagnostics_for(m, uri))
            .expect("diagnostics of the last version");
        published.push(msg["params"].clone());
    }
    lsp.drain(Duration::from_millis(300));
    published.extend(lsp.take_published(uri));
    let versions: Vec<i64> = published
        .iter()
        .map(|p| p["version"].as_i64().unwrap())
        .collect();
    assert!(
        versions.windows(2).all(|w| w[0] < w[1]) && versions.last() == Some(&version),
        "published out of order: {versions:?}"
    );
    let last = published.last().unwrap()["diagnostics"].clone();
    assert_eq!(
        with_uri(&last, uri, "u"),
        with_uri(&lsp.diagnostics_again(uri), uri, "u")
    );
    lsp.shutdown();
}

#[test]
fn other_yaml_documents_are_left_to_other_servers() {
    let mut lsp = Lsp::start();
    let deployment = "file:///k8s/deployment.yaml";
    let policy = "file:///k8s/policy.yaml";
    lsp.open(deployment, 1, DEPLOYMENT);
    lsp.open(policy, 1, BROKEN);
    lsp.diagnostics(policy, 1);
    lsp.edit(deployment, 2, [[4, 0], [4, 0]], "  labels: {}\n");
    lsp.drain(Duration::from_millis(300));
    assert!(lsp.take_published(deployment).is_empty());
    for method in ["textDocument/completion", "textDocument/hover"] {
        assert_eq!(lsp.at(method, deployment, 1, 7), Value::Null, "{method}");
    }
    let symbols = lsp.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": deployment } }),
    );
    assert_eq!(symbols, Value::Null);
    let actions = lsp.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": deployment }, "range": lsp_range([[0, 0], [9, 0]]),
                "context": { "diagnostics": [] } }),
    );
    assert_eq!(actions, Value::Null);

    // Once it becomes a policy, it is claimed.
    lsp.replace_all(deployment, 3, BROKEN);
    let diags = lsp.diagnostics(deployment, 3);
    assert_eq!(
        with_uri(&diags, deployment, policy),
        with_uri(&lsp.diagnostics_again(policy), deployment, policy)
    );
    lsp.shutdown();
}

impl Lsp {
    /// The diagnostics of `uri` once more: close and reopen it.
    fn diagnostics_again(&mut self, uri: &str) -> Value {
        self.notify(
            "textDocument/didClose",
            json!({ "textDocument": { "uri": uri } }),
        );
        self.open(uri, 100, BROKEN);
        self.diagnostics(uri, 100)
    }
}

#[test]
fn closing_a_document_clears_its_diagnostics() {
    let mut lsp = Lsp::start();
    let uri = "file:///policies/closed.yaml";
    lsp.open(uri, 1, BROKEN);
    assert!(!lsp.diagnostics(uri, 1).as_array().unwrap().is_empty());
    lsp.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": uri } }),
    );
    let cleared = lsp
        .wait(TIMEOUT, |m| is_diagnostics_for(m, uri))
        .expect("diagnostics cleared");
    assert_eq!(cleared["params"]["diagnostics"], json!([]));
    lsp.shutdown();
}

#[test]
fn kernels_follow_the_configuration() {
    let mut lsp = Lsp::start();
    let uri = "file:///policies/kernels.yaml";
    lsp.open(uri, 1, BROKEN);
    let on_612 = lsp.diagnostics(uri, 1);
    assert!(codes(&on_612).contains(&"K001".to_string()));

    // Two kernels, one of them missing: a warning names the file, the other kernel is used.
    lsp.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "policyctl": { "hostKernel": false, "kernels": [
            { "btf": K61, "name": "old" }, { "btf": "testdata/btf/missing.btf" } ] } } }),
    );
    let warning = lsp
        .wait(TIMEOUT, |m| m["method"] == "window/showMessage")
        .expect("a warning");
    assert_eq!(warning["params"]["type"], 2, "{warning}");
    let text = warning["params"]["message"].as_str().unwrap();
    assert!(text.contains("testdata/btf/missing.btf"), "{text}");
    let on_61 = lsp.diagnostics(uri, 1);
    // dev_queue_xmit exists on 6.1: no K001 there.
    assert!(!codes(&on_61).contains(&"K001".to_string()), "{on_61:#}");

    // No kernel at all: the kernel-free diagnostics.
    lsp.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "policyctl": { "hostKernel": false, "kernels": [] } } }),
    );
    let none = lsp.diagnostics(uri, 1);
    assert!(codes(&none).iter().all(|c| !c.starts_with('K')), "{none:#}");
    lsp.shutdown();
}

// ---------------------------------------------------------------------------------------------
// Requests.

#[test]
fn document_symbols_outline_the_policy() {
    let mut lsp = Lsp::start();
    let uri = "file:///policies/outline.yaml";
    lsp.open(uri, 1, BROKEN);
    lsp.diagnostics(uri, 1);
    let symbols = lsp.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri } }),
    );
    insta::assert_json_snapshot!("document_symbols", symbols);
    lsp.shutdown();
}

#[test]
fn bad_positions_and_unknown_documents_get_empty_answers() {
    let mut lsp = Lsp::start();
    let uri = "file:///policies/positions.yaml";
    lsp.open(uri, 1, BROKEN);
    lsp.diagnostics(uri, 1);
    for method in ["textDocument/completion", "textDocument/hover"] {
        for (line, character) in [(9999, 0), (0, 9999), (3, 13), (u32::MAX, u32::MAX)] {
            let id = lsp.send_request(
                method,
                json!({ "textDocument": { "uri": uri },
                        "position": { "line": line, "character": character } }),
            );
            let resp = lsp.response(id);
            assert!(
                resp.get("error").is_none(),
                "{method} {line}:{character}: {resp}"
            );
        }
        assert_eq!(lsp.at(method, "file:///nowhere.yaml", 0, 0), Value::Null);
    }
    let id = lsp.send_request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": lsp_range([[30, 2], [1, 0]]),
                "context": { "diagnostics": [] } }),
    );
    assert!(lsp.response(id).get("error").is_none());
    // Malformed messages are refused, never fatal.
    let id = lsp.send_request("textDocument/hover", json!({ "textDocument": 3 }));
    assert_eq!(lsp.response(id)["error"]["code"], -32602);
    lsp.notify("textDocument/didChange", json!({ "textDocument": 3 }));
    lsp.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "policyctl": 3 } }),
    );
    let warning = lsp
        .wait(TIMEOUT, |m| m["method"] == "window/showMessage")
        .expect("a warning about the settings");
    assert!(warning["params"]["message"]
        .as_str()
        .unwrap()
        .contains("settings unchanged"));
    // Changes to unknown documents and out-of-range edits are ignored or clamped.
    lsp.edit("file:///nowhere.yaml", 2, [[0, 0], [0, 0]], "x");
    lsp.edit(uri, 2, [[500, 3], [400, 0]], "");
    assert_eq!(
        with_uri(&lsp.diagnostics(uri, 2), uri, "u"),
        with_uri(&lsp.diagnostics_again(uri), uri, "u")
    );
    lsp.shutdown();
}

#[test]
fn cancelled_requests_leave_the_server_responsive() {
    let mut lsp = Lsp::start();
    let uri = "file:///policies/cancel.yaml";
    lsp.open(uri, 1, BROKEN);
    lsp.diagnostics(uri, 1);
    let pos = after(BROKEN, "call: \"do_mk");
    let ids: Vec<i64> = (0..20)
        .map(|_| {
            let id = lsp.send_request(
                "textDocument/completion",
                json!({ "textDocument": { "uri": uri },
                        "position": { "line": pos[0], "character": pos[1] } }),
            );
            lsp.notify("$/cancelRequest", json!({ "id": id }));
            id
        })
        .collect();
    for id in ids {
        let resp = lsp.response(id);
        // Answered, or cancelled (-32800) if the cancellation came in time.
        if let Some(err) = resp.get("error") {
            assert_eq!(err["code"], -32800, "{resp}");
        }
    }
    lsp.edit(uri, 2, [[0, 0], [0, 0]], "");
    lsp.diagnostics(uri, 2);
    lsp.shutdown();
}

#[test]
fn completion_offers_kernel_functions() {
    let mut lsp = Lsp::start();
    let uri = "file:///policies/complete.yaml";
    let text = BROKEN.replace("call: \"do_mkdirat\"", "call: do_mk");
    lsp.open(uri, 1, &text);
    lsp.diagnostics(uri, 1);
    let [line, character] = after(&text, "call: do_mk");
    let result = lsp.at("textDocument/completion", uri, line, character);
    let items = result
        .get("items")
        .unwrap_or(&result)
        .as_array()
        .cloned()
        .unwrap_or_default();
    let labels: Vec<&str> = items.iter().filter_map(|i| i["label"].as_str()).collect();
    assert!(labels.contains(&"do_mkdirat"), "{labels:?}");
    let top: Vec<Value> = items.iter().take(10).cloned().collect();
    insta::assert_json_snapshot!("completion_do_mk", top);
    lsp.shutdown();
}

#[test]
fn hover_shows_the_kernel_prototype() {
    let mut lsp = Lsp::start();
    let uri = "file:///policies/hover.yaml";
    lsp.open(uri, 1, CLEAN);
    lsp.diagnostics(uri, 1);
    let [line, character] = after(CLEAN, "call: \"do_mk");
    let hover = lsp.at("textDocument/hover", uri, line, character);
    let text = hover["contents"].to_string();
    assert!(text.contains("do_mkdirat(int dfd"), "{hover:#}");
    insta::assert_json_snapshot!("hover_do_mkdirat", hover);
    lsp.shutdown();
}

#[test]
fn code_action_for_p006_sets_syscall_false() {
    let mut lsp = Lsp::start();
    let uri = "file:///policies/actions.yaml";
    lsp.open(uri, 1, BROKEN);
    let diags = lsp.diagnostics(uri, 1);
    let p006 = diags
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "P006")
        .cloned()
        .expect("P006");
    let actions = lsp.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": p006["range"],
                "context": { "diagnostics": [p006], "only": ["quickfix"] } }),
    );
    let fix = actions
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|x| x["edit"].to_string().contains("syscall: false"))
        })
        .cloned()
        .unwrap_or_else(|| panic!("no action adds `syscall: false`: {actions:#}"));
    assert_eq!(fix["kind"], "quickfix");
    insta::assert_json_snapshot!("code_action_p006", fix);

    // Applying it clears P006.
    let edits = fix["edit"]["changes"][uri]
        .as_array()
        .cloned()
        .expect("edits for the document");
    for (i, e) in edits.iter().rev().enumerate() {
        lsp.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": 2 + i },
                    "contentChanges": [ { "range": e["range"], "text": e["newText"] } ] }),
        );
    }
    let after_fix = lsp.diagnostics(uri, 1 + edits.len() as i64);
    assert!(
        !codes(&after_fix).contains(&"P006".to_string()),
        "{after_fix:#}"
    );
    lsp.shutdown();
}

// ---------------------------------------------------------------------------------------------
// Stress.

/// xorshift64*: reproducible randomness without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A random character boundary of `text`, never inside a `\r\n` (no LSP position is there).
fn boundary(rng: &mut Rng, text: &str) -> usize {
    let mut at = rng.below(text.len() + 1);
    while !text.is_char_boundary(at) || inside_crlf(text, at) {
        at -= 1;
    }
    at
}

/// Is `at` between the `\r` and the `\n` of a line break?
fn inside_crlf(text: &str, at: usize) -> bool {
    let b = text.as_bytes();
    at > 0 && b[at - 1] == b'\r' && b.get(at) == Some(&b'\n')
}

#[test]
fn ten_thousand_random_edits_neither_crash_nor_wedge_it() {
    const EDITS: usize = 10_000;
    const TOKENS: &[&str] = &[
        "a",
        "z",
        "_",
        "-",
        ":",
        " ",
        "\n",
        "  ",
        "- ",
        "\"",
        "'",
        "#",
        "{",
        "}",
        "[",
        "]",
        ",",
        "é",
        "😀",
        "\t",
        "call: ",
        "index: 1",
        "operator: \"Prefix\"",
        "values:\n",
        "---\n",
        "&a ",
        "*a",
        "!!str ",
        "|\n",
        "> ",
        "0x1f",
        "true",
        "null",
        "~",
        "selectors:\n    - ",
        "kind: TracingPolicy\n",
        "matchActions:\n      - action: Sigkill\n",
        "\r\n",
        "\\",
    ];
    let started = Instant::now();
    let mut lsp = Lsp::start();
    let uri = "file:///policies/fuzzed.yaml";
    let twin = "file:///policies/twin.yaml";
    let mut text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/policies/valid/19-kprobe-block-container-smtp.yaml"),
    )
    .unwrap();
    lsp.open(uri, 1, &text);
    lsp.diagnostics(uri, 1);
    // The edits leave `apiVersion` and `kind` alone, so that the same text opened afresh is
    // claimed too (the fuzzed document keeps its claim whatever happens to them).
    let header = text.find("kind: TracingPolicy\n").unwrap() + "kind: TracingPolicy\n".len();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut version = 1;
    for i in 0..EDITS {
        version += 1;
        let start = header + boundary(&mut rng, &text[header..]);
        let delete = rng.below(3) == 0 || text.len() > 6000;
        let (end, insert) = if delete {
            let mut end = (start + 1 + rng.below(12)).min(text.len());
            while !text.is_char_boundary(end) || inside_crlf(&text, end) {
                end += 1;
            }
            (end, "")
        } else {
            (start, TOKENS[rng.below(TOKENS.len())])
        };
        let range = [position(&text, start), position(&text, end)];
        lsp.edit(uri, version, range, insert);
        text.replace_range(start..end, insert);
        // Let a validation run now and then, and read the analysis of a broken text.
        if i % 500 == 499 {
            std::thread::sleep(Duration::from_millis(40));
            let at = boundary(&mut rng, &text);
            let [line, character] = position(&text, at);
            for method in ["textDocument/completion", "textDocument/hover"] {
                let id = lsp.send_request(
                    method,
                    json!({ "textDocument": { "uri": uri },
                            "position": { "line": line, "character": character } }),
                );
                let resp = lsp.response(id);
                assert!(
                    resp.get("error").is_none(),
                    "{method} after edit {i}: {resp}"
                );
            }
        }
        if i % 100 == 0 {
            // Keep the backlog small.
            lsp.drain(Duration::ZERO);
            lsp.take_published(uri);
        }
    }
    // The server applied every edit exactly: its diagnostics of the last text are those of the
    // same text opened afresh (but for those kept from its last version that parsed, below a
    // YAML error: the fresh document has no such version).
    let fuzzed = lsp.diagnostics(uri, version);
    let fuzzed: Value = fuzzed
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["data"]["kept"] != true)
        .cloned()
        .collect();
    lsp.open(twin, 1, &text);
    let fresh = lsp.diagnostics(twin, 1);
    assert_eq!(with_uri(&fuzzed, uri, twin), fresh, "text:\n{text}");

    // A final full-text change to a known policy.
    version += 1;
    lsp.replace_all(uri, version, BROKEN);
    let last = lsp.diagnostics(uri, version);
    assert_eq!(
        with_uri(&last, uri, twin),
        with_uri(&lsp.diagnostics_again(twin), uri, twin)
    );
    assert_eq!(
        codes(&last),
        ["S007", "P006", "P025", "S004", "S003", "K001"],
        "{last:#}"
    );
    lsp.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// A client that misbehaves.

/// One hostile message after another, each followed by a request: each gets the JSON-RPC error
/// the specification gives (`-32700` parse error, `-32600` invalid request, `id: null`), the
/// request after it is answered, and the process lives on. (Before the framing filter the first
/// of them ended the server, with exit status 0.)
#[test]
fn malformed_messages_are_answered_and_never_end_the_server() {
    let mut lsp = Lsp::start();
    let uri = "file:///policies/garbage.yaml";
    lsp.open(uri, 1, BROKEN);
    lsp.diagnostics(uri, 1);
    // Over the 64 MiB limit, and sent: skipped as it streams, never stored.
    let over = (64 << 20) + 1;
    let mut oversized = format!("Content-Length: {over}\r\n\r\n").into_bytes();
    oversized.resize(oversized.len() + over, b' ');
    let cases: Vec<(&str, Vec<u8>, i64)> = vec![
        (
            "invalid JSON",
            b"Content-Length: 9\r\n\r\n{invalid}".to_vec(),
            -32700,
        ),
        (
            "a bad Content-Length",
            b"Content-Length: nine\r\n\r\n{}".to_vec(),
            -32700,
        ),
        (
            "no Content-Length",
            b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}".to_vec(),
            -32700,
        ),
        (
            "a JSON array",
            b"Content-Length: 2\r\n\r\n[]".to_vec(),
            -32600,
        ),
        (
            "an id that is an object",
            br#"Content-Length: 45

{"jsonrpc":"2.0","id":{},"method":"shutdown"}"#
                .to_vec(),
            -32600,
        ),
        (
            "a body cut short (the next message follows)",
            br#"Content-Length: 200

{"jsonrpc":"2.0","id":"#
                .to_vec(),
            -32700,
        ),
        (
            "a huge Content-Length",
            b"Content-Length: 99999999999\r\n\r\n{}".to_vec(),
            -32700,
        ),
        (
            "not UTF-8",
            b"Content-Length: 4\r\n\r\n\"\xff\xfe\"".to_vec(),
            -32700,
        ),
        (
            "another charset",
            b"Content-Length: 2\r\nContent-Type: text/plain; charset=latin1\r\n\r\n{}".to_vec(),
            -32700,
        ),
        (
            "garbage between messages",
            b"\x00\x01garbage\r\n".to_vec(),
            -32700,
        ),
        ("a message over 64 MiB", oversized, -32700),
    ];
    for (what, bytes, code) in cases {
        let started = Instant::now();
        let (_, peak_before) = lsp.threads_and_peak_kb();
        lsp.raw(&bytes);
        // The request right after it (a body cut short is only known to be when the next
        // message comes).
        let id = lsp.send_request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": uri }, "position": { "line": 6, "character": 12 } }),
        );
        let refusal = lsp
            .wait(TIMEOUT, |m| m.get("method").is_none() && m["id"].is_null())
            .unwrap_or_else(|| panic!("{what}: no error response"));
        assert_eq!(refusal["error"]["code"], code, "{what}: {refusal}");
        let hover = lsp.response(id);
        assert!(hover["result"]["contents"].is_object(), "{what}: {hover}");
        assert!(
            lsp.child.try_wait().unwrap().is_none(),
            "{what}: the server ended"
        );
        // Nothing of it was stored (a 64 MiB message would be).
        let (_, peak) = lsp.threads_and_peak_kb();
        assert!(
            peak < peak_before + 32_000,
            "{what}: VmHWM {peak_before} → {peak} kB"
        );
        eprintln!("{what}: answered in {:?}", started.elapsed());
    }
    // Its documents still work.
    lsp.edit(uri, 2, [[0, 0], [0, 0]], "");
    assert!(!lsp.diagnostics(uri, 2).as_array().unwrap().is_empty());
    lsp.shutdown();
}

/// Random garbage between requests, into the real binary: after each piece the last of three
/// requests is answered (a piece can end with a header whose body swallows the first). The
/// in-process fuzz target with more kinds of pieces is `lsp/tests/fuzz.rs`.
#[test]
fn random_garbage_never_stops_the_server() {
    const PIECES: &[&[u8]] = &[
        b"Content-Length: 5\r\n\r\n",
        b"Content-Length: 900\r\n\r\n{\"a\":\"",
        b"Content-Length: 99999999999\r\n\r\n",
        b"Content-Length: x\r\n",
        b"Content-Len",
        b"Content-Type: a; charset=latin1\r\n",
        b"\r\n",
        b"{\"jsonrpc\":\"2.0\",\"id\":[],\"method\":\"textDocument/hover\"}",
        b"[1,2]",
        b"\xff\xfe\x00",
    ];
    let mut lsp = Lsp::start();
    let uri = "file:///policies/garbage.yaml";
    lsp.open(uri, 1, CLEAN);
    lsp.diagnostics(uri, 1);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..150 {
        let mut bytes = Vec::new();
        for _ in 0..1 + rng.below(4) {
            if rng.below(3) == 0 {
                bytes.extend((0..rng.below(80)).map(|_| rng.next() as u8));
            } else {
                bytes.extend_from_slice(PIECES[rng.below(PIECES.len())]);
            }
        }
        lsp.raw(&bytes);
        let ids: Vec<i64> = (0..3)
            .map(|_| {
                lsp.send_request(
                    "textDocument/hover",
                    json!({ "textDocument": { "uri": uri },
                            "position": { "line": 6, "character": 12 } }),
                )
            })
            .collect();
        let last = lsp.response(ids[2]);
        assert!(
            last.get("error").is_none(),
            "round {round}, after {:?}: {last}",
            String::from_utf8_lossy(&bytes)
        );
        if round % 20 == 0 {
            lsp.drain(Duration::ZERO);
            lsp.backlog.clear();
        }
    }
    lsp.edit(uri, 2, [[0, 0], [0, 0]], "");
    assert_eq!(lsp.diagnostics(uri, 2), json!([]));
    lsp.shutdown();
}

/// One kprobe hook of [`large_policy`] (clean on the fixture kernel), with a comment that keeps
/// 2 MiB of them under the validator's limit of values per file.
const LARGE_HOOK: &str = r#"  # A hook of the large policy. The validator reads at most 200,000 values per file; this
  # comment halves the values per byte, so that the 2 MiB file stays well under the limit and
  # every validation of it does the whole work. Padding padding padding padding padding pad.
  # Padding padding padding padding padding padding padding padding padding padding padding.
  - call: "security_socket_connect"
    syscall: false
    args:
    - index: 0
      type: "socket"
    - index: 1
      type: "sockaddr"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Protocol"
        values:
        - "IPPROTO_TCP"
      - index: 1
        operator: "SPort"
        values:
        - "25"
        - "465"
      matchActions:
      - action: Override
        argError: -1
"#;

/// How many hooks of [`large_policy`] name functions the kernel lacks: each costs the validator a
/// search for similar names, so that a validation takes longer than the edits' interval.
const LARGE_MISSING: usize = 150;

/// A TracingPolicy of about `size` bytes whose every version has a finding of its own (K001 for
/// `policyctl_missing_<version>`), and [`LARGE_MISSING`] other K001 findings.
fn large_policy(size: usize, version: i64) -> String {
    let mut text = format!(
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: \"large\"\n\
         spec:\n  options:\n  - name: \"disable-kprobe-multi\"\n    value: \"true\"\n  kprobes:\n  \
         - call: \"policyctl_missing_{version}\"\n    syscall: false\n"
    );
    for i in 0..LARGE_MISSING {
        text.push_str(&format!(
            "  - call: \"policyctl_absent_{i}\"\n    syscall: false\n"
        ));
    }
    while text.len() + LARGE_HOOK.len() < size {
        text.push_str(LARGE_HOOK);
    }
    text
}

/// 40 full-text edits of a 2 MiB policy, each coming after the debounce, so that each is due
/// for validation while the one before is still validated: a document has at most one
/// validation running and one queued, so the server's threads and memory stay bounded, and what
/// it publishes last is the diagnostics of the last text. (Before, every edit started a
/// validation of its own: on this test, with the release build of then, 6 → 16 threads and
/// VmHWM 62 → 550 MB, the last diagnostics after 16.7 s.)
#[test]
fn forty_full_text_edits_of_a_large_document_stay_bounded() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    const SIZE: usize = 2 << 20;
    const EDITS: i64 = 40;
    let mut lsp = Lsp::start();
    let uri = "file:///policies/large.yaml";
    lsp.open(uri, 1, &large_policy(SIZE, 1));
    let first = lsp.diagnostics(uri, 1);
    assert_eq!(codes(&first), vec!["K001"; LARGE_MISSING + 1]);
    let (threads_before, peak_before) = lsp.threads_and_peak_kb();

    // Watch the server's threads while the edits come.
    let stop = Arc::new(AtomicBool::new(false));
    let pid = lsp.child.id();
    let watcher = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let threads = status
                    .lines()
                    .find_map(|l| l.strip_prefix("Threads:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                peak = peak.max(threads);
                std::thread::sleep(Duration::from_millis(2));
            }
            peak
        })
    };
    let started = Instant::now();
    for version in 2..=EDITS + 1 {
        lsp.replace_all(uri, version, &large_policy(SIZE, version));
        // Longer than the debounce (30 ms): every edit is due for validation.
        std::thread::sleep(Duration::from_millis(40));
    }
    let last = lsp.diagnostics(uri, EDITS + 1);
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let peak_threads = watcher.join().unwrap();
    let (_, peak_kb) = lsp.threads_and_peak_kb();
    eprintln!(
        "{EDITS} edits of {SIZE} bytes: last diagnostics after {took:?}; threads {threads_before} \
         → peak {peak_threads}; VmHWM {peak_before} kB → {peak_kb} kB"
    );

    // The diagnostics of the last text, and nothing published after them.
    let messages: Vec<&str> = last
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), LARGE_MISSING + 1);
    let own: Vec<&&str> = messages
        .iter()
        .filter(|m| m.contains("`policyctl_missing_"))
        .collect();
    assert_eq!(own.len(), 1, "{own:?}");
    assert!(
        own[0].contains(&format!("`policyctl_missing_{}`", EDITS + 1)),
        "{own:?}"
    );
    lsp.take_published(uri);
    lsp.drain(Duration::from_millis(300));
    assert_eq!(lsp.take_published(uri), Vec::<Value>::new());

    // One validation at a time: a handful of threads more at most (one validation, the output,
    // a request), not one per edit.
    assert!(
        peak_threads <= threads_before + 4,
        "threads {threads_before} → {peak_threads}"
    );
    // One validation of 2 MiB needs about 50 MB; a few copies of the text are in flight.
    assert!(
        peak_kb < peak_before + 200_000,
        "VmHWM {peak_before} kB → {peak_kb} kB"
    );
    lsp.shutdown();
}

// ---------------------------------------------------------------------------------------------
// The project file.

/// A policy with a suppressed kernel finding, a stale suppression and a warning the project
/// file makes an error.
const PROJECT_POLICY: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "bpf-maps"
spec:
  options:
  - name: polcy-mode
    value: enforce
  kprobes:
  - call: "security_bpf_map_create" # policyctl: ignore[K001]
    # policyctl: ignore[P041]
    syscall: false
    args:
    - index: 0
      type: "bpf_map"
"#;

/// (code, severity, 0-based line) of LSP diagnostics.
fn lsp_findings(diags: &Value) -> Vec<(String, String, u64)> {
    let mut out: Vec<_> = diags
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let sev = match d["severity"].as_u64() {
                Some(1) => "error",
                Some(2) => "warning",
                Some(3) => "info",
                _ => "hint",
            };
            (
                d["code"].as_str().unwrap().to_string(),
                sev.to_string(),
                d["range"]["start"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// A project directory `name` under the test's scratch space: `policyctl.toml` (two fixture
/// kernels, P004 an error, K030 off) and `policies/bpf.yaml` ([`PROJECT_POLICY`]).
fn lsp_project(name: &str) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    std::fs::write(
        dir.join("policyctl.toml"),
        format!(
            "[severity]\nP004 = \"error\"\nK030 = \"off\"\n\n\
             [[kernel]]\nname = \"old\"\nbtf = \"{}\"\n\n\
             [[kernel]]\nname = \"new\"\nbtf = \"{}\"\n",
            root.join(K61).display(),
            root.join(K612).display()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("policies/bpf.yaml"), PROJECT_POLICY).unwrap();
    dir
}

#[test]
fn the_editor_gets_what_check_gives_with_the_same_project_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = lsp_project("lsp-project");
    let file = dir.join("policies/bpf.yaml");

    // `policyctl check` in the project.
    let o = Command::new(env!("CARGO_BIN_EXE_policyctl"))
        .args(["check", "--format", "json", file.to_str().unwrap()])
        .current_dir(root)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&o.stdout).expect("JSON report");
    assert_eq!(report["kernels"], json!(["old", "new"]), "{report:#}");
    let mut want: Vec<(String, String, u64)> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["severity"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap() - 1,
            )
        })
        .collect();
    want.sort();
    // The suppressions and the file decide: P004 is an error, K001 (6.1) is suppressed, the
    // P041 suppression is stale.
    assert_eq!(
        want,
        vec![
            ("C001".to_string(), "warning".to_string(), 10),
            ("P004".to_string(), "error".to_string(), 6),
        ],
        "{report:#}"
    );

    // The language server, with the project as its workspace and no settings of its own.
    let mut lsp = Lsp::spawn();
    let root_uri = format!("file://{}", dir.display());
    lsp.request(
        "initialize",
        json!({ "processId": null, "rootUri": root_uri, "capabilities": {} }),
    );
    lsp.notify("initialized", json!({}));
    let uri = format!("file://{}", file.display());
    lsp.open(&uri, 1, PROJECT_POLICY);
    let diags = lsp.diagnostics(&uri, 1);
    assert_eq!(lsp_findings(&diags), want, "{diags:#}");

    // The quick fix removes the stale suppression, and with it the C001.
    let c001 = diags
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "C001")
        .cloned()
        .unwrap();
    let actions = lsp.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": c001["range"],
                "context": { "diagnostics": [c001], "only": ["quickfix"] } }),
    );
    let fix = actions
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|x| x["title"] == "Remove the unused suppression")
        })
        .cloned()
        .unwrap_or_else(|| panic!("no fix: {actions:#}"));
    let edits = fix["edit"]["changes"][&uri].as_array().cloned().unwrap();
    assert_eq!(edits.len(), 1, "{fix:#}");
    lsp.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 2 },
                "contentChanges": [ { "range": edits[0]["range"], "text": edits[0]["newText"] } ] }),
    );
    let after_fix = lsp.diagnostics(&uri, 2);
    assert_eq!(
        lsp_findings(&after_fix),
        vec![("P004".to_string(), "error".to_string(), 6)],
        "{after_fix:#}"
    );
    lsp.shutdown();
}

#[test]
fn without_a_workspace_the_project_file_above_the_document_is_read() {
    let dir = lsp_project("lsp-project-no-root");
    let file = dir.join("policies/bpf.yaml");
    let mut lsp = Lsp::spawn();
    lsp.request(
        "initialize",
        json!({ "processId": null, "rootUri": null, "capabilities": {} }),
    );
    lsp.notify("initialized", json!({}));
    let uri = format!("file://{}", file.display());
    lsp.open(&uri, 1, PROJECT_POLICY);
    // A first result may come before the file is read; the result with it follows.
    let want = vec![
        ("C001".to_string(), "warning".to_string(), 10),
        ("P004".to_string(), "error".to_string(), 6),
    ];
    let got = lsp.wait(TIMEOUT, |m| {
        is_diagnostics_for(m, &uri) && lsp_findings(&m["params"]["diagnostics"]) == want
    });
    assert!(
        got.is_some(),
        "no diagnostics with the project file's severities"
    );
    lsp.shutdown();
}

/// A TOML value as JSON (integers as numbers, everything else by its kind).
fn toml_json(v: &toml::de::DeValue<'_>) -> Value {
    use toml::de::DeValue;
    match v {
        DeValue::String(s) => json!(s.as_ref()),
        DeValue::Integer(i) => json!(i64::from_str_radix(i.as_str(), i.radix()).unwrap()),
        DeValue::Float(f) => json!(f.as_str().parse::<f64>().unwrap()),
        DeValue::Boolean(b) => json!(b),
        DeValue::Datetime(d) => json!(d.to_string()),
        DeValue::Array(items) => {
            Value::Array(items.iter().map(|i| toml_json(i.get_ref())).collect())
        }
        DeValue::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.get_ref().to_string(), toml_json(v.get_ref())))
                .collect(),
        ),
    }
}

/// The Helix setup as Helix uses it: `editors/helix/languages.toml`'s command and args start
/// the server, its `config` table is the `initializationOptions` (with the example's `/fleet/`
/// kernel files swapped for the fixtures of the same names), and the server understands it: no
/// warning about a setting or a kernel, and a broken policy gets its diagnostics, checked
/// against both kernels the example names. YAML files get policyctl beside
/// yaml-language-server. (Helix itself is not installed: Debian 12 has no package of it and the
/// registries reachable here publish no build.)
#[test]
fn helix_configuration_starts_the_server() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("editors/helix/languages.toml")).unwrap();
    let table = toml::de::DeTable::parse(&text).expect("languages.toml is TOML");
    let helix = toml_json(&toml::de::DeValue::Table(table.into_inner()));
    let server = &helix["language-server"]["policyctl"];
    assert_eq!(server["command"], "policyctl", "{server}");
    let args: Vec<&str> = server["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let yaml = helix["language"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "yaml")
        .expect("a [[language]] for yaml");
    assert_eq!(
        yaml["language-servers"],
        json!(["yaml-language-server", "policyctl"])
    );

    // The example's kernel files, as the fixtures of the same kernels.
    let mut options = server["config"].clone();
    let fixture = |path: &str| {
        let name = path.rsplit('/').next().unwrap();
        let name = name.replace(".error-injection.txt", ".error-injection.from-source.txt");
        let p = root.join("testdata/btf").join(&name);
        assert!(p.exists(), "no fixture for {path}: {}", p.display());
        json!(p.to_str().unwrap())
    };
    let kernels = options["kernels"].as_array_mut().expect("kernels");
    assert_eq!(kernels.len(), 2);
    for k in kernels.iter_mut() {
        for key in ["btf", "config", "errorInjection"] {
            if let Some(path) = k[key].as_str().map(str::to_string) {
                k[key] = fixture(&path);
            }
        }
    }

    let mut lsp = Lsp::spawn_with(&args);
    let init = lsp.request(
        "initialize",
        json!({ "processId": null, "rootUri": null, "capabilities": {},
                "initializationOptions": options }),
    );
    assert_eq!(init["serverInfo"]["name"], "policyctl", "{init}");
    lsp.notify("initialized", json!({}));
    let uri = "file:///helix/broken.yaml";
    lsp.open(uri, 1, BROKEN);
    let diagnostics = lsp.diagnostics(uri, 1);
    assert!(
        codes(&diagnostics).contains(&"S004".to_string()),
        "{diagnostics:#}"
    );
    // Kernel findings name the example's kernels: both were loaded from its settings
    // (`dev_queue_xmit` is on 6.1, not on 6.12).
    let k001: Vec<&str> = diagnostics
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "K001")
        .filter_map(|d| d["message"].as_str())
        .collect();
    assert_eq!(k001.len(), 1, "{diagnostics:#}");
    assert!(k001[0].contains("(on prod; not on lts)"), "{}", k001[0]);
    let warnings: Vec<Value> = lsp
        .backlog
        .iter()
        .filter(|m| m["method"] == "window/showMessage")
        .cloned()
        .collect();
    assert!(
        warnings.is_empty(),
        "the server complained about the settings: {warnings:?}"
    );
    lsp.shutdown();
}
