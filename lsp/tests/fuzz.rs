//! Throws malformed frames and random edits at the language server, in process, through the
//! same framing filter and server `policyctl lsp` runs ([`serve_with`]).
//!
//! Properties, for any bytes a client sends:
//! - the server keeps reading: after the garbage, the last of three requests is answered
//!   (garbage can end with a header whose body swallows at most the first);
//! - every malformed message is answered with a JSON-RPC error (`-32700` or `-32600`) whose id
//!   is a number, a string or null, and nothing else the server writes is malformed (the
//!   client here parses every frame strictly);
//! - random `didChange` edits (any range, any text, including ranges past the end) never end
//!   it, and the document still answers requests.
//!
//! Inputs: random bytes, header fragments (bad, missing, huge or duplicate `Content-Length`,
//! other charsets), JSON fragments (arrays, ids that are objects, wrong `jsonrpc`), frames cut
//! short, and well-formed `didChange` frames with random ranges and texts. Bounded: 48 cases of
//! at most 8 pieces, each case a fresh server (a few ms each).

use std::io::{self, Read};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use policyctl_lsp::server::{serve_with, Options};
use proptest::prelude::*;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt};

/// How long an answer may take (debug build, busy machine).
const TIMEOUT: Duration = Duration::from_secs(10);

const POLICY: &str = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: \"fuzz\"
spec:
  kprobes:
  - call: \"do_mkdirat\"
    syscall: false
    args:
    - index: 1
      type: \"filename\"
";

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// The server's input: what the test sends, as a blocking reader (like a pipe).
struct Pipe {
    rx: mpsc::Receiver<Vec<u8>>,
    data: Vec<u8>,
    at: usize,
}

impl Read for Pipe {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.data.len() {
            match self.rx.recv() {
                Ok(d) => (self.data, self.at) = (d, 0),
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.data.len() - self.at);
        out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A client of an in-process server.
struct Client {
    input: Option<mpsc::Sender<Vec<u8>>>,
    output: mpsc::Receiver<Value>,
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

impl Client {
    /// A server, initialized with no kernel, with `POLICY` open as `file:///f.yaml`.
    fn start() -> Client {
        let (tx, rx) = mpsc::channel();
        let (out_tx, output) = mpsc::channel();
        let (server_out, client_in) = tokio::io::duplex(1 << 16);
        let pipe = Pipe {
            rx,
            data: Vec::new(),
            at: 0,
        };
        let options = Options {
            debounce: Duration::ZERO,
            ..Options::default()
        };
        runtime().spawn(serve_with(pipe, server_out, options));
        runtime().spawn(async move {
            let mut reader = tokio::io::BufReader::new(client_in);
            loop {
                // Strict: exactly `Content-Length: N`, a blank line, N bytes of JSON.
                let mut line = String::new();
                if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                let n: usize = line
                    .strip_prefix("Content-Length: ")
                    .and_then(|v| v.strip_suffix("\r\n"))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("bad header from the server: {line:?}"));
                let mut blank = String::new();
                reader.read_line(&mut blank).await.unwrap();
                assert_eq!(blank, "\r\n");
                let mut body = vec![0; n];
                reader.read_exact(&mut body).await.unwrap();
                let msg: Value = serde_json::from_slice(&body).expect("the server sends JSON");
                if out_tx.send(msg).is_err() {
                    return;
                }
            }
        });
        let mut client = Client {
            input: Some(tx),
            output,
        };
        client.send(&json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": { "capabilities": {},
                        "initializationOptions": { "policyctl": { "hostKernel": false } } } }));
        client.expect_response(0);
        client.send(&json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }));
        client.send(&json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen",
            "params": { "textDocument": { "uri": "file:///f.yaml", "languageId": "yaml",
                                          "version": 1, "text": POLICY } } }));
        client
    }

    fn raw(&mut self, bytes: Vec<u8>) {
        self.input
            .as_ref()
            .unwrap()
            .send(bytes)
            .expect("the server reads");
    }

    fn send(&mut self, msg: &Value) {
        self.raw(frame(msg.to_string().as_bytes()));
    }

    /// Wait for the response to `id`, checking every message on the way; panics after
    /// [`TIMEOUT`].
    fn expect_response(&mut self, id: i64) -> Value {
        self.expect(&format!("a response to {id}"), |m| {
            m.get("method").is_none() && m["id"] == id
        })
    }

    /// Wait for a message `pred` accepts, checking every message on the way; panics after
    /// [`TIMEOUT`].
    fn expect(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = self
                .output
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("no {what}: {e}"));
            check_message(&msg);
            if pred(&msg) {
                return msg;
            }
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // The end of the input ends the server.
        self.input.take();
    }
}

/// Whatever the server writes is a well-formed JSON-RPC message; refusals have the codes and
/// ids of the specification.
fn check_message(msg: &Value) {
    assert_eq!(msg["jsonrpc"], "2.0", "{msg}");
    if let Some(err) = msg.get("error") {
        let code = err["code"].as_i64().expect("an error code");
        assert!(err["message"].is_string(), "{msg}");
        if msg["id"].is_null() {
            assert!(matches!(code, -32700 | -32600), "{msg}");
        }
        assert!(
            msg["id"].is_null() || msg["id"].is_i64() || msg["id"].is_string(),
            "{msg}"
        );
    }
}

/// Pieces of hostile input.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    let headers = prop_oneof![
        (0u64..2000).prop_map(|n| format!("Content-Length: {n}\r\n\r\n")),
        Just("Content-Length: 99999999999\r\n\r\n".to_string()),
        Just("Content-Length: 99999999999999999999999999\r\n\r\n".to_string()),
        Just("Content-Length: abc\r\n\r\n".to_string()),
        Just("Content-Length: -1\r\n\r\n".to_string()),
        Just("Content-Length: 3\r\nContent-Length: 4\r\n\r\n".to_string()),
        Just("Content-Type: application/json; charset=latin1\r\n".to_string()),
        Just("Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n".to_string()),
        Just("X-Other: 1\r\n".to_string()),
        Just("Content-Len".to_string()),
        Just("Content-Length: 12".to_string()),
        Just("\r\n".to_string()),
        Just("\n\n".to_string()),
        Just(" : \r\n".to_string()),
    ]
    .prop_map(String::into_bytes);
    let json_token = prop_oneof![
        Just("{"),
        Just("}"),
        Just("["),
        Just("]"),
        Just(","),
        Just(":"),
        Just("\"jsonrpc\":\"2.0\""),
        Just("\"jsonrpc\":\"1.0\""),
        Just("\"id\":"),
        Just("\"id\":{}"),
        Just("\"id\":[1]"),
        Just("\"id\":1.5"),
        Just("\"method\":\"textDocument/hover\""),
        Just("\"method\":\"textDocument/didChange\""),
        Just("\"method\":5"),
        Just("\"params\":"),
        Just("\"result\":null"),
        Just("\"error\":{}"),
        Just("null"),
        Just("1"),
        Just("\"é\""),
        Just("\"\\ud800\""),
    ];
    let json_soup = prop::collection::vec(json_token, 0..12).prop_map(|t| t.concat().into_bytes());
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..120),
        headers,
        json_soup.clone(),
        json_soup.prop_map(|b| frame(&b)),
        // A frame cut short, or with a length that lies.
        (
            prop::collection::vec(any::<u8>(), 1..60),
            0usize..60,
            -20i64..200
        )
            .prop_map(|(body, cut, lie)| {
                let len = (body.len() as i64 + lie).max(0);
                let mut out = format!("Content-Length: {len}\r\n\r\n").into_bytes();
                out.extend_from_slice(&body[..cut.min(body.len())]);
                out
            }),
        edit(),
    ]
}

/// A well-formed `didChange` of the open document: any range (also past the end, reversed),
/// any text, or the whole text.
fn edit() -> impl Strategy<Value = Vec<u8>> {
    let text = prop_oneof![
        "[ -~\n]{0,20}",
        Just("\t".to_string()),
        Just("😀é\r\n".to_string()),
        Just("&a *a".to_string()),
        Just("---\n".to_string()),
        Just(POLICY.to_string()),
    ];
    let pos = (0u32..15, 0u32..40);
    (pos.clone(), pos, text, any::<bool>(), 2i64..1000).prop_map(
        |((l0, c0), (l1, c1), text, whole, version)| {
            let change = if whole {
                json!({ "text": text })
            } else {
                json!({ "range": { "start": { "line": l0, "character": c0 },
                                   "end": { "line": l1, "character": c1 } },
                        "text": text })
            };
            let msg = json!({ "jsonrpc": "2.0", "method": "textDocument/didChange",
                "params": { "textDocument": { "uri": "file:///f.yaml", "version": version },
                            "contentChanges": [change] } });
            frame(msg.to_string().as_bytes())
        },
    )
}

fn hover(id: i64) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": "textDocument/hover",
            "params": { "textDocument": { "uri": "file:///f.yaml" },
                        "position": { "line": 6, "character": 12 } } })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn garbage_and_random_edits_never_stop_the_server(
        pieces in prop::collection::vec(piece(), 1..8),
    ) {
        let mut client = Client::start();
        for p in pieces {
            client.raw(p);
        }
        // Three requests: the garbage may end with a header whose body swallows the first.
        for id in [1001, 1002, 1003] {
            client.send(&hover(id));
        }
        let answer = client.expect_response(1003);
        prop_assert!(answer.get("error").is_none(), "{}", answer);
        // And the document still works as one: a whole new text is validated, then outlined.
        client.send(&json!({ "jsonrpc": "2.0", "method": "textDocument/didChange",
            "params": { "textDocument": { "uri": "file:///f.yaml", "version": 5000 },
                        "contentChanges": [ { "text": POLICY } ] } }));
        let published = client.expect("diagnostics of the last text", |m| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["version"] == 5000
        });
        prop_assert_eq!(&published["params"]["diagnostics"], &json!([]));
        client.send(&json!({ "jsonrpc": "2.0", "id": 1004, "method": "textDocument/documentSymbol",
            "params": { "textDocument": { "uri": "file:///f.yaml" } } }));
        let symbols = client.expect_response(1004);
        prop_assert!(symbols["result"].is_array(), "{}", symbols);
    }
}

/// Each kind of malformed message gets the error the specification gives, with `id: null`.
#[test]
fn malformed_messages_get_the_specified_errors() {
    let cases: &[(&str, &[u8], i64)] = &[
        (
            "invalid JSON",
            b"Content-Length: 9\r\n\r\n{invalid}",
            -32700,
        ),
        ("bad Content-Length", b"Content-Length: x\r\n\r\n{}", -32700),
        ("no Content-Length", b"X-Other: 1\r\n\r\n{}", -32700),
        ("a JSON array", b"Content-Length: 2\r\n\r\n[]", -32600),
        (
            "an id that is an object",
            br#"Content-Length: 45

{"jsonrpc":"2.0","id":{},"method":"shutdown"}"#,
            -32600,
        ),
        (
            "a body cut short",
            b"Content-Length: 500\r\n\r\n{\"a\":",
            -32700,
        ),
        (
            "a huge Content-Length",
            b"Content-Length: 99999999999\r\n\r\n",
            -32700,
        ),
    ];
    let mut client = Client::start();
    for (i, (what, bytes, code)) in cases.iter().enumerate() {
        client.raw(bytes.to_vec());
        let id = 2000 + i as i64;
        client.send(&hover(id));
        let deadline = Instant::now() + TIMEOUT;
        let mut refusal = None;
        loop {
            let msg = client
                .output
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("{what}: no answer"));
            check_message(&msg);
            if msg["id"].is_null() && msg.get("error").is_some() {
                refusal = Some(msg["error"]["code"].clone());
            } else if msg["id"] == id {
                break;
            }
        }
        assert_eq!(refusal, Some(json!(code)), "{what}");
    }
}
