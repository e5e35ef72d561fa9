//! A policy typed from an empty file, one character at a time, against the language server over
//! JSON-RPC (the server in-process, behind its own framing, as `policyctl lsp` runs it): after
//! every keystroke the client sends the change and asks for completion, as an editor does, and
//! the answer must help at every step — the skeleton in the empty file, `apiVersion`, `kind`,
//! the keys of `metadata` and `spec`, `kprobes`, `call` (a function of the fixture kernel, the
//! open quote closed by the completion), `syscall`, `args` with the parameter index and the
//! type that reads it, `selectors`, `matchArgs`, the operators that fit, `matchActions`. The
//! finished policy must check clean. A Deployment in the same workspace gets nothing, and so
//! does an empty file in a workspace without policies.
//!
//! Latencies are printed (`cargo test -p policyctl-lsp --test typing -- --nocapture`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use policyctl_lsp::server::{serve_with, Options};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::mpsc;

/// What is typed, with the words completion must offer between `⟦` and `⟧`: from the word's
/// first character on, or, with `⟦word|n⟧`, once `n` characters of it are typed (names the
/// server filters from 56,000 kernel functions). Two spaces indent; no editor auto-indent.
const SCRIPT: &str = r#"⟦apiVersion⟧: ⟦cilium.io/v1alpha1⟧
⟦kind⟧: ⟦TracingPolicy⟧
⟦metadata⟧:
  ⟦name⟧: "watch-passwd"
⟦spec⟧:
  ⟦kprobes⟧:
  - ⟦call⟧: "⟦security_file_open|3⟧"
    ⟦syscall⟧: ⟦false⟧
    ⟦args⟧:
    - ⟦index⟧: ⟦0⟧
      ⟦type⟧: "⟦file⟧"
    ⟦selectors⟧:
    - ⟦matchArgs⟧:
      - ⟦index⟧: ⟦0⟧
        ⟦operator⟧: "⟦Equal⟧"
        ⟦values⟧:
        - "/etc/passwd"
      ⟦matchActions⟧:
      - ⟦action⟧: ⟦Post⟧
"#;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One expectation at a cursor position: the label, whether it must be there yet (else only
/// a non-empty list), and whether the word is inside a quote the text has not closed.
#[derive(Clone, Debug)]
struct Expect {
    label: String,
    required: bool,
    open_quote: bool,
}

/// The script's text, and the expectation (if any) at each byte offset of it.
fn script() -> (String, Vec<Option<Expect>>) {
    let mut text = String::new();
    let mut marks: Vec<(usize, String, usize)> = Vec::new();
    let mut rest = SCRIPT;
    while let Some(open) = rest.find('⟦') {
        text.push_str(&rest[..open]);
        let after = &rest[open + '⟦'.len_utf8()..];
        let close = after.find('⟧').expect("closed mark");
        let inner = &after[..close];
        let (word, from) = match inner.split_once('|') {
            Some((w, n)) => (w, n.parse().expect("a count")),
            None => (inner, 0),
        };
        marks.push((text.len(), word.to_string(), from));
        text.push_str(word);
        rest = &after[close + '⟧'.len_utf8()..];
    }
    text.push_str(rest);
    let mut at: Vec<Option<Expect>> = vec![None; text.len() + 1];
    for (start, word, from) in marks {
        let open_quote = text[..start].ends_with('"');
        for typed in 0..=word.len() {
            at[start + typed] = Some(Expect {
                label: word.clone(),
                required: typed >= from,
                open_quote,
            });
        }
    }
    (text, at)
}

/// The server's input: the bytes the client sends, read as a blocking stream.
struct Input {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    buf: Vec<u8>,
    at: usize,
}

impl std::io::Read for Input {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.buf.len() {
            match self.rx.recv() {
                Ok(b) => (self.buf, self.at) = (b, 0),
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A JSON-RPC client of the server running in this process.
struct Client {
    input: std::sync::mpsc::Sender<Vec<u8>>,
    messages: mpsc::UnboundedReceiver<Value>,
    /// Notifications read while waiting for a response.
    pending: Vec<Value>,
    next_id: i64,
}

impl Client {
    fn start(root: &Path, settings: Value) -> Client {
        let (input, rx) = std::sync::mpsc::channel();
        let server_in = Input {
            rx,
            buf: Vec::new(),
            at: 0,
        };
        let (server_out, from_server) = tokio::io::duplex(1 << 22);
        let options = Options {
            debounce: Duration::from_millis(30),
            ..Options::default()
        };
        tokio::spawn(serve_with(server_in, server_out, options));
        let (tx, messages) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut r = BufReader::new(from_server);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        len = v.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; len.expect("a Content-Length")];
                if r.read_exact(&mut body).await.is_err() {
                    return;
                }
                let _ = tx.send(serde_json::from_slice(&body).expect("JSON from the server"));
            }
        });
        let mut c = Client {
            input,
            messages,
            pending: Vec::new(),
            next_id: 1,
        };
        let uri = file_uri(root);
        c.send(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "processId": null,
            "rootUri": uri,
            "workspaceFolders": [{"uri": uri, "name": "ws"}],
            "capabilities": {"textDocument": {"completion": {"completionItem": {"snippetSupport": true}}}},
            "initializationOptions": {"policyctl": settings},
        }}));
        c
    }

    fn send(&mut self, v: Value) {
        let body = v.to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        self.input
            .send(frame.into_bytes())
            .expect("the server reads");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    async fn next(&mut self) -> Value {
        tokio::time::timeout(Duration::from_secs(60), self.messages.recv())
            .await
            .expect("the server answers within 60 s")
            .expect("the server is running")
    }

    /// Wait for the response to `id`, answering the server's own requests with null.
    async fn response(&mut self, id: i64) -> Value {
        loop {
            let m = self.next().await;
            if m.get("id") == Some(&json!(id)) && m.get("method").is_none() {
                assert!(m.get("error").is_none(), "error response: {m}");
                return m["result"].clone();
            }
            if let (Some(sid), Some(_)) = (m.get("id"), m.get("method")) {
                let sid = sid.clone();
                self.send(json!({"jsonrpc": "2.0", "id": sid, "result": null}));
                continue;
            }
            self.pending.push(m);
        }
    }

    async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.response(id).await
    }

    async fn initialized(&mut self) {
        self.response(0).await;
        self.notify("initialized", json!({}));
    }

    /// The diagnostics published for `uri` at `version`.
    async fn diagnostics(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let found = |m: &Value| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && m["params"]["version"] == version
        };
        loop {
            if let Some(i) = self.pending.iter().position(found) {
                let m = self.pending.remove(i);
                return m["params"]["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
            let m = self.next().await;
            self.pending.push(m);
        }
    }

    async fn completion(&mut self, uri: &str, pos: (usize, usize)) -> Vec<(String, String)> {
        let r = self
            .request(
                "textDocument/completion",
                json!({"textDocument": {"uri": uri}, "position": {"line": pos.0, "character": pos.1}}),
            )
            .await;
        let items = match &r {
            Value::Null => return Vec::new(),
            Value::Array(a) => a.clone(),
            v => v["items"].as_array().cloned().unwrap_or_default(),
        };
        items
            .iter()
            .map(|i| {
                (
                    i["label"].as_str().unwrap_or("").to_string(),
                    i["textEdit"]["newText"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }
}

fn file_uri(p: &Path) -> String {
    format!("file://{}", p.display())
}

/// Line and UTF-16 column of the end of an ASCII text.
fn end_of(text: &str) -> (usize, usize) {
    let line = text.matches('\n').count();
    let col = text.len() - text.rfind('\n').map_or(0, |i| i + 1);
    (line, col)
}

/// A fresh workspace folder, with the policy `with` (a file of testdata) when given.
fn workspace(name: &str, with: Option<&str>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("policyctl-typing-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    if let Some(p) = with {
        std::fs::copy(
            repo().join("testdata").join(p),
            dir.join("policies/existing.yaml"),
        )
        .unwrap();
    }
    dir
}

fn settings() -> Value {
    json!({
        "kernels": [{"btf": repo().join("testdata/btf/6.18.44-fc-v769.btf.zst")}],
        "hostKernel": false,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_typed_from_an_empty_file_gets_help_at_every_step() {
    let ws = workspace(
        "policy",
        Some("policies/valid/01-lsm-protect-shadow-files.yaml"),
    );
    let mut c = Client::start(&ws, settings());
    c.initialized().await;
    let uri = file_uri(&ws.join("new.yaml"));
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 0, "text": ""}}),
    );
    let (target, expect) = script();
    let mut text = String::new();
    let mut version = 0;
    let mut times: Vec<(Duration, usize)> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut empty_steps = 0;
    let started = Instant::now();
    // The empty file: the skeletons.
    let first = c.completion(&uri, (0, 0)).await;
    let labels: Vec<&str> = first.iter().map(|(l, _)| l.as_str()).collect();
    assert!(
        labels.contains(&"TracingPolicy with a kprobe") && labels.contains(&"apiVersion"),
        "the empty file: {labels:?}"
    );
    for (i, ch) in target.char_indices() {
        // Ask at this position (what is typed so far), then type the next character.
        let t = Instant::now();
        let items = c.completion(&uri, end_of(&text)).await;
        times.push((t.elapsed(), items.len()));
        if let Some(e) = &expect[i] {
            let line = text.lines().last().unwrap_or("");
            match items.iter().find(|(l, _)| *l == e.label) {
                Some((_, new_text)) if e.open_quote && *new_text != format!("{}\"", e.label) => {
                    failures.push(format!(
                        "at {line:?}: `{}` inserts {new_text:?}, not closing the quote",
                        e.label
                    ));
                }
                Some(_) => {}
                None if e.required => failures.push(format!(
                    "at {line:?}: `{}` not offered ({} items: {:?})",
                    e.label,
                    items.len(),
                    items.iter().take(8).map(|(l, _)| l).collect::<Vec<_>>()
                )),
                None if items.is_empty() => {
                    empty_steps += 1;
                    failures.push(format!(
                        "at {line:?}: no completion while typing `{}`",
                        e.label
                    ));
                }
                None => {}
            }
        }
        let pos = end_of(&text);
        version += 1;
        text.push(ch);
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version},
                   "contentChanges": [{"range": {"start": {"line": pos.0, "character": pos.1},
                                                  "end": {"line": pos.0, "character": pos.1}},
                                       "text": ch.to_string()}]}),
        );
    }
    let typing = started.elapsed();
    assert_eq!(text, target);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(empty_steps, 0);
    // The finished policy checks clean (the 6.18 kernel is known by its BTF alone).
    let diags = c.diagnostics(&uri, version).await;
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d["severity"] == 1)
        .map(|d| format!("{} {}", d["code"], d["message"]))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let mut sorted: Vec<Duration> = times.iter().map(|(t, _)| *t).collect();
    sorted.sort();
    let n = sorted.len();
    eprintln!(
        "typed {} characters, {n} completions in {typing:?}: median {:?}, p90 {:?}, max {:?}",
        target.len(),
        sorted[n / 2],
        sorted[n * 9 / 10],
        sorted[n - 1],
    );
    // A Deployment in the same workspace gets nothing.
    let deploy = file_uri(&ws.join("deploy.yaml"));
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": deploy, "languageId": "yaml", "version": 0,
               "text": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  \n"}}),
    );
    assert!(c.completion(&deploy, (3, 2)).await.is_empty());
    assert!(c.completion(&deploy, (0, 12)).await.is_empty());
    let _ = std::fs::remove_dir_all(&ws);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_file_without_policies_around_gets_nothing() {
    let ws = workspace("empty", None);
    std::fs::write(
        ws.join("deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\n",
    )
    .unwrap();
    let mut c = Client::start(&ws, settings());
    c.initialized().await;
    let uri = file_uri(&ws.join("new.yaml"));
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 0, "text": ""}}),
    );
    assert!(c.completion(&uri, (0, 0)).await.is_empty());
    // Once it starts like a policy, it gets help: the kind values.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 1},
               "contentChanges": [{"text": "apiVersion: cilium.io/v1alpha1\nkind: "}]}),
    );
    let items = c.completion(&uri, (1, 6)).await;
    let labels: Vec<&str> = items.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, ["TracingPolicy", "TracingPolicyNamespaced"]);
    let _ = std::fs::remove_dir_all(&ws);
}
