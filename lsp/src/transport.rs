//! The base protocol (`Content-Length` framing) in front of tower-lsp-server, so that nothing a
//! client sends can end the server.
//!
//! tower-lsp-server reads its input with a `FramedRead`, which ends the stream at the first
//! message it cannot decode: one bad message (invalid JSON, a bad header, an id that is an
//! object) ended the server. So the server never lets it see one. A thread reads the real input
//! with [`FrameReader`], which answers each malformed message with the JSON-RPC error the
//! specification gives (`-32700` parse error, `-32600` invalid request, `id: null` when the id
//! cannot be told), finds the next message, and forwards only messages tower-lsp-server decodes,
//! re-framed, through an in-memory pipe. tower-lsp-server writes to another pipe; whole frames
//! from it and the error answers go out through one writer, so they never interleave.
//!
//! ```text
//! stdin ─► FrameReader (thread) ─► pump ─► duplex ─► tower-lsp-server ─► duplex ─► frames ─┐
//!                                   └──────── refusals ───────────────────────────────────► writer ─► stdout
//! ```
//!
//! # Finding the next message
//!
//! After a malformed header the reader skips to the next `Content-Length` (as tower-lsp-server
//! itself did). A body is read for its `Content-Length`, but a body cut short is caught too:
//! `Content-Length: <digits>` followed by a line break cannot occur in JSON (a string holds no
//! raw line break, and the words are no JSON token outside one), so where it appears inside a
//! body, the body ended early and the next message starts there. The reader never waits for
//! bytes a truncated message promised while the next message is already there.
//!
//! # Bounds
//!
//! A message longer than [`MAX_CONTENT_LENGTH`] is refused and skipped as it streams by, without
//! being stored; headers are at most 8 KiB; the pipes and channels between the stages are
//! bounded, so a client that floods the server is slowed down, not buffered.

use std::future::Future;
use std::io::{self, Read};

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc::{Request, Response};

/// The longest message read (64 MiB); a longer one is answered with a parse error and skipped
/// without being stored.
pub const MAX_CONTENT_LENGTH: u64 = 64 << 20;

/// The most bytes of headers one message may have.
const MAX_HEADER_BYTES: usize = 8 << 10;
/// How much is read from the input at a time.
const CHUNK: usize = 64 << 10;
/// The header that frames messages; the reader resynchronises on it.
const NAME: &[u8] = b"Content-Length";
/// The pipes between the stages.
const PIPE_BYTES: usize = 64 << 10;

/// JSON-RPC's "Parse error": the message is not JSON, or not framed.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC's "Invalid Request": JSON, but not a request, notification or response.
pub const INVALID_REQUEST: i64 = -32600;

/// One message from the client, or what to answer instead of it.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    /// A JSON-RPC request, notification or response that tower-lsp-server decodes (its body).
    Message(Vec<u8>),
    /// Something that is not one: the error to answer.
    Refused(Refusal),
}

/// A JSON-RPC error answered for a malformed message.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    /// [`PARSE_ERROR`] or [`INVALID_REQUEST`].
    pub code: i64,
    /// What was wrong, in a sentence.
    pub message: String,
    /// The request's id when it could be read (a number or a string), else `null`.
    pub id: Value,
}

impl Refusal {
    fn parse(why: impl Into<String>) -> Refusal {
        Refusal {
            code: PARSE_ERROR,
            message: format!("Parse error: {}", why.into()),
            id: Value::Null,
        }
    }

    fn invalid(why: impl Into<String>, id: Value) -> Refusal {
        Refusal {
            code: INVALID_REQUEST,
            message: format!("Invalid Request: {}", why.into()),
            id,
        }
    }

    /// The error response, as JSON.
    pub fn to_json(&self) -> Value {
        json!({ "jsonrpc": "2.0", "id": self.id,
                "error": { "code": self.code, "message": self.message } })
    }
}

/// What tower-lsp-server decodes (its own `Message`, which is private): exactly the same types,
/// so a message forwarded is a message it accepts.
#[derive(Deserialize)]
#[serde(untagged)]
#[allow(dead_code)] // Only deserialized, to test.
enum Decodable {
    Response(Response),
    Request(Request),
}

/// The messages of a byte stream, framed by `Content-Length` headers; see the module doc.
pub struct FrameReader<R> {
    input: R,
    /// Read but not consumed: `buf[pos..]`.
    buf: Vec<u8>,
    pos: usize,
    /// Bytes of a refused message still to skip before the next one.
    skip: u64,
    /// Bad headers were answered: skip to the next `Content-Length` before the next message.
    resync: bool,
    eof: bool,
}

/// Whether a header (`Content-Length: <digits>` and a line break) starts at some offset.
#[derive(Debug, PartialEq)]
enum Tri {
    Yes,
    No,
    /// The data ends before it can be told.
    Maybe,
}

/// Whether `data` starts with `Content-Length`, at most 16 blanks, `:`, at most 16 blanks, 1 to
/// 20 digits and `\r\n` or `\n`.
fn header_at(data: &[u8]) -> Tri {
    if data.len() < NAME.len() {
        return if NAME.starts_with(data) {
            Tri::Maybe
        } else {
            Tri::No
        };
    }
    if !data.starts_with(NAME) {
        return Tri::No;
    }
    let mut i = NAME.len();
    let blanks = |i: &mut usize| {
        let start = *i;
        while *i < data.len() && matches!(data[*i], b' ' | b'\t') {
            *i += 1;
        }
        *i - start <= 16
    };
    if !blanks(&mut i) {
        return Tri::No;
    }
    match data.get(i) {
        None => return Tri::Maybe,
        Some(b':') => i += 1,
        Some(_) => return Tri::No,
    }
    if !blanks(&mut i) {
        return Tri::No;
    }
    let digits = i;
    while i < data.len() && data[i].is_ascii_digit() {
        i += 1;
    }
    if i - digits > 20 {
        return Tri::No;
    }
    match data.get(i) {
        None => Tri::Maybe,
        Some(_) if i == digits => Tri::No,
        Some(b'\n') => Tri::Yes,
        Some(b'\r') => match data.get(i + 1) {
            None => Tri::Maybe,
            Some(b'\n') => Tri::Yes,
            Some(_) => Tri::No,
        },
        Some(_) => Tri::No,
    }
}

/// The first offset in `from..upto` of `data` where a header starts ([`Tri::Yes`]) or may start
/// ([`Tri::Maybe`]).
fn scan(data: &[u8], from: usize, upto: usize) -> Option<(usize, Tri)> {
    let mut at = from;
    while at < upto {
        let k = at + memchr::memchr(NAME[0], &data[at..upto])?;
        match header_at(&data[k..]) {
            Tri::No => at = k + 1,
            found => return Some((k, found)),
        }
    }
    None
}

/// What the headers of one message said.
enum Headers {
    /// The body's length, and why it is refused (a charset other than UTF-8) if it is.
    Length(u64, Option<String>),
    /// Not headers: why.
    Bad(String),
    /// The input ended between messages.
    End,
}

impl<R: Read> FrameReader<R> {
    /// Read messages from `input`.
    pub fn new(input: R) -> FrameReader<R> {
        FrameReader {
            input,
            buf: Vec::new(),
            pos: 0,
            skip: 0,
            resync: false,
            eof: false,
        }
    }

    /// The next message, or what to answer instead of it; `None` at the end of the input (or on
    /// a read error, which ends it).
    pub fn next_message(&mut self) -> Option<Incoming> {
        // What a refusal left to do, after it was answered: the client may wait for the answer
        // before it sends more.
        if self.skip > 0 && !self.skip_body() {
            return None;
        }
        if std::mem::take(&mut self.resync) {
            self.resync_now();
        }
        match self.headers() {
            Headers::End => None,
            Headers::Bad(why) => {
                // `pos` is where the bad message starts.
                self.resync = true;
                Some(Incoming::Refused(Refusal::parse(why)))
            }
            Headers::Length(len, Some(why)) => {
                self.skip = len;
                Some(Incoming::Refused(Refusal::parse(why)))
            }
            Headers::Length(len, None) if len > MAX_CONTENT_LENGTH => {
                self.skip = len;
                Some(Incoming::Refused(Refusal::parse(format!(
                    "a message of {len} bytes; the server reads messages of at most \
                     {MAX_CONTENT_LENGTH} bytes"
                ))))
            }
            Headers::Length(len, None) => Some(self.body(len as usize)),
        }
    }

    /// Read more input onto the end of `buf`, first dropping what was consumed; false at the
    /// end of the input.
    fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let n = self.buf.len();
        self.buf.resize(n + CHUNK, 0);
        let read = loop {
            match self.input.read(&mut self.buf[n..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break 0,
                Ok(r) => break r,
            }
        };
        self.buf.truncate(n + read);
        if read == 0 {
            self.eof = true;
        }
        read > 0
    }

    /// Parse one message's headers; consumes them unless they are [`Headers::Bad`] (then
    /// `pos` is where the message started).
    fn headers(&mut self) -> Headers {
        let mut off = 0;
        let mut length: Option<u64> = None;
        let mut charset: Option<String> = None;
        let mut lines = 0;
        loop {
            let nl = loop {
                if let Some(i) = memchr::memchr(b'\n', &self.buf[self.pos + off..]) {
                    break i;
                }
                if self.buf.len() - self.pos > MAX_HEADER_BYTES {
                    return Headers::Bad(format!("headers longer than {MAX_HEADER_BYTES} bytes"));
                }
                if !self.fill() {
                    let rest = &self.buf[self.pos..];
                    if rest.iter().all(u8::is_ascii_whitespace) {
                        self.pos = self.buf.len();
                        return Headers::End;
                    }
                    return Headers::Bad("the input ended inside a message's headers".into());
                }
            };
            let line = &self.buf[self.pos + off..self.pos + off + nl];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            off += nl + 1;
            if off > MAX_HEADER_BYTES {
                return Headers::Bad(format!("headers longer than {MAX_HEADER_BYTES} bytes"));
            }
            if line.is_empty() {
                if lines == 0 {
                    // Blank lines between messages.
                    self.pos += off;
                    off = 0;
                    continue;
                }
                break;
            }
            lines += 1;
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                return Headers::Bad(format!("`{}` is not a header", shown(line)));
            };
            let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
            if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
                return Headers::Bad(format!("`{}` is not a header", shown(line)));
            }
            if name.eq_ignore_ascii_case(NAME) {
                if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
                    return Headers::Bad(format!(
                        "Content-Length `{}` is not a number",
                        shown(value)
                    ));
                }
                // More digits than fit are a length past any limit.
                let n = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(u64::MAX);
                if length.is_some_and(|l| l != n) {
                    return Headers::Bad("two different Content-Length headers".into());
                }
                length = Some(n);
            } else if name.eq_ignore_ascii_case(b"Content-Type") {
                let value = String::from_utf8_lossy(value).to_ascii_lowercase();
                let set = value
                    .split(';')
                    .skip(1)
                    .map(str::trim)
                    .find_map(|p| p.strip_prefix("charset="))
                    .map(|c| c.trim_matches('"'));
                if let Some(c) = set.filter(|c| !matches!(*c, "utf-8" | "utf8")) {
                    charset = Some(format!("charset {c}; the server reads UTF-8 only"));
                }
            }
        }
        let Some(length) = length else {
            return Headers::Bad("a message without a Content-Length header".into());
        };
        self.pos += off;
        Headers::Length(length, charset)
    }

    /// After bad headers: skip to the next `Content-Length` after the start of the bad message.
    fn resync_now(&mut self) {
        let mut from = (self.pos + 1).min(self.buf.len());
        loop {
            if let Some(i) = memchr::memmem::find(&self.buf[from..], NAME) {
                self.pos = from + i;
                return;
            }
            // Keep a tail that may be the start of the name.
            self.pos = self.buf.len() - (self.buf.len() - from).min(NAME.len() - 1);
            if !self.fill() {
                self.pos = self.buf.len();
                return;
            }
            from = self.pos;
        }
    }

    /// Skip the body of a refused message, up to `self.skip` bytes, stopping early where the
    /// next message's header is; false at the end of the input.
    fn skip_body(&mut self) -> bool {
        let mut left = std::mem::take(&mut self.skip);
        loop {
            let avail = self.buf.len() - self.pos;
            let upto = (avail as u64).min(left) as usize;
            match scan(&self.buf[self.pos..], 0, upto) {
                Some((k, Tri::Yes)) => {
                    self.pos += k;
                    return true;
                }
                Some((k, _)) if avail as u64 >= left => {
                    self.pos += k;
                    return true;
                }
                Some((k, _)) => {
                    // Keep the possible header, drop what is before it.
                    self.pos += k;
                    left -= k as u64;
                }
                None => {
                    self.pos += upto;
                    left -= upto as u64;
                    if left == 0 {
                        return true;
                    }
                }
            }
            if !self.fill() {
                self.pos = self.buf.len();
                return false;
            }
        }
    }

    /// Read a body of `len` bytes (at most [`MAX_CONTENT_LENGTH`]) and judge it.
    fn body(&mut self, len: usize) -> Incoming {
        let mut from = 0;
        loop {
            let avail = self.buf.len() - self.pos;
            let upto = avail.min(len);
            match scan(&self.buf[self.pos..], from, upto) {
                Some((k, Tri::Yes)) => return self.cut(k, len),
                // The body is all here and ends inside what may be a header: it is no JSON.
                Some((k, _)) if avail >= len => return self.cut(k, len),
                Some((k, _)) => from = k,
                None if avail >= len => break,
                None => from = upto,
            }
            if !self.fill() {
                let got = self.buf.len() - self.pos;
                self.pos = self.buf.len();
                return Incoming::Refused(Refusal::parse(format!(
                    "the input ended {got} bytes into a message of {len} bytes"
                )));
            }
        }
        let end = self.pos + len;
        let rest = self.buf.split_off(end);
        let mut body = std::mem::replace(&mut self.buf, rest);
        body.drain(..self.pos);
        self.pos = 0;
        judge(body)
    }

    /// A body that ends at `k`, where the next message starts, before its `len` bytes.
    fn cut(&mut self, k: usize, len: usize) -> Incoming {
        self.pos += k;
        Incoming::Refused(Refusal::parse(format!(
            "the message ends after {k} of its {len} bytes (Content-Length), where another \
             message starts"
        )))
    }
}

/// A whole body: a message tower-lsp-server decodes, or why not.
fn judge(body: Vec<u8>) -> Incoming {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Incoming::Refused(Refusal::parse("an empty message"));
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return Incoming::Refused(Refusal::parse("the message is not UTF-8"));
    };
    if serde_json::from_str::<Decodable>(text).is_ok() {
        return Incoming::Message(body);
    }
    Incoming::Refused(match serde_json::from_str::<Value>(text) {
        Err(e) => Refusal::parse(format!("the message is not JSON: {e}")),
        Ok(Value::Object(o)) => {
            let id = match o.get("id") {
                Some(Value::String(s)) => Value::String(s.clone()),
                Some(Value::Number(n)) if n.is_i64() => Value::Number(n.clone()),
                _ => Value::Null,
            };
            let why = match o.get("jsonrpc") {
                Some(Value::String(v)) if v == "2.0" => {
                    "not a JSON-RPC request, notification or response (check `id`, `method`, \
                     `params`, `result` and `error`)"
                }
                _ => "`jsonrpc` must be \"2.0\"",
            };
            Refusal::invalid(why, id)
        }
        Ok(Value::Array(_)) => Refusal::invalid(
            "a batch (an array); LSP sends one message at a time",
            Value::Null,
        ),
        Ok(_) => Refusal::invalid("the message is not a JSON object", Value::Null),
    })
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// At most 40 bytes of a header, printable.
fn shown(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(40)];
    let mut s: String = String::from_utf8_lossy(head)
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if bytes.len() > 40 {
        s.push('…');
    }
    s
}

/// One frame as written to the client.
fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// Run `server` (tower-lsp-server's `Server::serve`, given its input and output) behind the
/// framing filter: the messages of `input` in, its answers and the filter's refusals out to
/// `output`. Returns when the server has finished and everything it wrote is out.
///
/// `input` is read on a thread of its own, which is left blocked in a read when the server ends
/// before the input does (after `exit`): it holds nothing and ends with the process.
pub async fn serve_filtered<R, W, F, Fut>(input: R, mut output: W, server: F)
where
    R: Read + Send + 'static,
    W: AsyncWrite + Unpin,
    F: FnOnce(DuplexStream, DuplexStream) -> Fut,
    Fut: Future<Output = ()>,
{
    let (to_server, server_in) = tokio::io::duplex(PIPE_BYTES);
    let (server_out, from_server) = tokio::io::duplex(PIPE_BYTES);
    // Frames for the output; `None` from `frames` when the server's output ends.
    let (out_tx, mut out_rx) = mpsc::channel::<Option<Vec<u8>>>(64);
    let (in_tx, in_rx) = mpsc::channel::<Incoming>(2);

    let reader = std::thread::Builder::new()
        .name("lsp-input".into())
        .spawn(move || {
            let mut frames = FrameReader::new(input);
            while let Some(item) = frames.next_message() {
                if in_tx.blocking_send(item).is_err() {
                    break;
                }
            }
        });
    if let Err(e) = reader {
        eprintln!("policyctl: cannot start the language server's reader: {e}");
        return;
    }
    let pump = tokio::spawn(pump(in_rx, to_server, out_tx.clone()));

    let write = async {
        let mut ok = true;
        while let Some(Some(bytes)) = out_rx.recv().await {
            // A client that stopped reading our output is gone: keep draining, so that nothing
            // waits on us and the server still ends when its input does.
            if ok {
                ok = output.write_all(&bytes).await.is_ok() && output.flush().await.is_ok();
            }
        }
    };
    tokio::join!(
        server(server_in, server_out),
        frames(from_server, out_tx),
        write
    );
    pump.abort();
}

/// Forward messages to the server, refusals to the output.
async fn pump(
    mut incoming: mpsc::Receiver<Incoming>,
    mut to_server: DuplexStream,
    out: mpsc::Sender<Option<Vec<u8>>>,
) {
    while let Some(item) = incoming.recv().await {
        match item {
            Incoming::Message(body) => {
                let head = format!("Content-Length: {}\r\n\r\n", body.len());
                if to_server.write_all(head.as_bytes()).await.is_err()
                    || to_server.write_all(&body).await.is_err()
                {
                    break;
                }
            }
            Incoming::Refused(r) => {
                let body = serde_json::to_vec(&r.to_json()).unwrap_or_default();
                if out.send(Some(frame(&body))).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to_server.shutdown().await;
}

/// Cut the server's output (well-formed: `Content-Length: N\r\n\r\n` and N bytes) into frames;
/// `None` when it ends.
async fn frames(from_server: DuplexStream, out: mpsc::Sender<Option<Vec<u8>>>) {
    let mut reader = tokio::io::BufReader::new(from_server);
    'frames: loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line).await {
                Ok(0) | Err(_) => break 'frames,
                Ok(_) => {}
            }
            let line = line.trim();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.trim().eq_ignore_ascii_case("Content-Length") {
                    length = value.trim().parse::<usize>().ok();
                }
            }
        }
        let Some(length) = length else { continue };
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            break;
        }
        if out.send(Some(frame(&body))).await.is_err() {
            break;
        }
    }
    let _ = out.send(None).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `data` in pieces of `step` bytes, and panics if read past its end unless `eof`:
    /// proves the reader never waits for bytes it does not need.
    struct Pieces {
        data: Vec<u8>,
        at: usize,
        step: usize,
        eof: bool,
    }

    impl Read for Pieces {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.at == self.data.len() {
                assert!(
                    self.eof,
                    "read past the data: the reader waits for more input"
                );
                return Ok(0);
            }
            let n = self.step.min(out.len()).min(self.data.len() - self.at);
            out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn msg(body: &str) -> Vec<u8> {
        frame(body.as_bytes())
    }

    const PING: &str = r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#;

    /// Everything read from `data`, in pieces of every size from 1 to 9 and whole, with the
    /// same result each time.
    fn read_all(data: &[u8]) -> Vec<Incoming> {
        let mut first: Option<Vec<Incoming>> = None;
        for step in (1..10).chain([usize::MAX]) {
            let mut r = FrameReader::new(Pieces {
                data: data.to_vec(),
                at: 0,
                step,
                eof: true,
            });
            let mut all = Vec::new();
            while let Some(m) = r.next_message() {
                all.push(m);
                assert!(all.len() < 1000);
            }
            match &first {
                None => first = Some(all),
                Some(f) => assert_eq!(f, &all, "pieces of {step}"),
            }
        }
        first.unwrap()
    }

    fn codes(items: &[Incoming]) -> Vec<i64> {
        items
            .iter()
            .map(|i| match i {
                Incoming::Message(_) => 0,
                Incoming::Refused(r) => r.code,
            })
            .collect()
    }

    fn then_ping(bad: &[u8]) -> Vec<Incoming> {
        let mut data = bad.to_vec();
        data.extend(msg(PING));
        read_all(&data)
    }

    #[test]
    fn well_formed_messages_pass_unchanged() {
        let mut data = msg(PING);
        data.extend(b"\r\n");
        let n = PING.len();
        data.extend(
            format!("Content-Length: {n}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n")
                .as_bytes(),
        );
        data.extend(PING.as_bytes());
        data.extend(format!("content-length:\t{n} \n\n").as_bytes());
        data.extend(PING.as_bytes());
        let all = read_all(&data);
        assert_eq!(all.len(), 3);
        for m in all {
            assert_eq!(m, Incoming::Message(PING.as_bytes().to_vec()));
        }
    }

    #[test]
    fn malformed_messages_are_answered_and_the_next_one_is_read() {
        let cases: &[(&[u8], i64)] = &[
            (b"Content-Length: 9\r\n\r\n{invalid}", PARSE_ERROR),
            (b"Content-Length: abc\r\n\r\n{}", PARSE_ERROR),
            (b"Content-Length: -5\r\n\r\n{}", PARSE_ERROR),
            (b"Content-Type: x; charset=utf-8\r\n\r\n{}", PARSE_ERROR),
            (b"Content-Length: 2\r\n\r\n[]", INVALID_REQUEST),
            (b"Content-Length: 3\r\n\r\n[1]", INVALID_REQUEST),
            (b"Content-Length: 1\r\n\r\n5", INVALID_REQUEST),
            (b"Content-Length: 2\r\n\r\n{}", INVALID_REQUEST),
            (
                br#"Content-Length: 45

{"jsonrpc":"2.0","id":{},"method":"shutdown"}"#,
                INVALID_REQUEST,
            ),
            (b"Content-Length: 0\r\n\r\n", PARSE_ERROR),
            (b"Content-Length: 4\r\n\r\n\"\xff\xfe\"", PARSE_ERROR),
            (
                b"Content-Length: 2\r\nContent-Type: text/plain; charset=latin1\r\n\r\n{}",
                PARSE_ERROR,
            ),
            (
                b"Content-Length: 3\r\nContent-Length: 4\r\n\r\n{}",
                PARSE_ERROR,
            ),
            (b"garbage\r\n", PARSE_ERROR),
            (b"\x00\x01\x02 no newline", PARSE_ERROR),
            (
                b"Content-Length: 200\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":",
                PARSE_ERROR,
            ),
            (b"Content-Length: 99999999999\r\n\r\n{}", PARSE_ERROR),
            (
                b"Content-Length: 99999999999999999999999\r\n\r\n",
                PARSE_ERROR,
            ),
            (b"Content-Len", PARSE_ERROR),
            (b"Content-Length: 5\r\n", PARSE_ERROR),
        ];
        for (bad, code) in cases {
            let all = then_ping(bad);
            let shown = String::from_utf8_lossy(bad);
            // One refusal (two for two `Content-Length` headers: the second is read as the
            // start of a message), then the ping.
            let (last, refused) = all.split_last().unwrap();
            assert_eq!(
                last,
                &Incoming::Message(PING.as_bytes().to_vec()),
                "{shown:?}: {all:?}"
            );
            assert!(matches!(refused.len(), 1 | 2), "{shown:?}: {all:?}");
            assert_eq!(codes(&refused[..1]), [*code], "{shown:?}: {all:?}");
            assert!(codes(refused).iter().all(|c| *c != 0), "{shown:?}: {all:?}");
        }
    }

    #[test]
    fn an_id_that_can_be_read_is_answered_to() {
        let all = read_all(&msg(r#"{"jsonrpc":"1.0","id":"a","method":"x"}"#));
        let Incoming::Refused(r) = &all[0] else {
            panic!("{all:?}")
        };
        assert_eq!((r.code, &r.id), (INVALID_REQUEST, &json!("a")));
        let all = read_all(&msg(r#"{"jsonrpc":"2.0","id":3,"method":5}"#));
        let Incoming::Refused(r) = &all[0] else {
            panic!("{all:?}")
        };
        assert_eq!((r.code, &r.id), (INVALID_REQUEST, &json!(3)));
        assert_eq!(
            r.to_json()["error"]["code"],
            json!(INVALID_REQUEST),
            "{}",
            r.to_json()
        );
    }

    #[test]
    fn a_message_cut_short_does_not_wait_for_the_bytes_it_promised() {
        // The input stays open (no EOF): reading past it panics.
        let mut data =
            b"Content-Length: 5000\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":\""
                .to_vec();
        data.extend(msg(PING));
        for step in [1, 3, 64, usize::MAX] {
            let mut r = FrameReader::new(Pieces {
                data: data.clone(),
                at: 0,
                step,
                eof: false,
            });
            assert!(matches!(r.next_message(), Some(Incoming::Refused(_))));
            assert_eq!(
                r.next_message(),
                Some(Incoming::Message(PING.as_bytes().to_vec()))
            );
        }
    }

    #[test]
    fn a_refusal_is_answered_before_the_next_message_comes() {
        // The client waits for the answer before it sends more: the input stays open, and
        // reading past it panics.
        for bad in [
            &b"Content-Length: nine\r\n\r\n{}"[..],
            b"X-Other: 1\r\n\r\n{}",
            b"garbage\r\n",
            b"Content-Length: 99999999999\r\n\r\n",
            b"Content-Length: 2\r\nContent-Type: a; charset=latin1\r\n\r\n",
        ] {
            let mut r = FrameReader::new(Pieces {
                data: bad.to_vec(),
                at: 0,
                step: usize::MAX,
                eof: false,
            });
            assert!(
                matches!(r.next_message(), Some(Incoming::Refused(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn duplicate_keys_are_refused_as_tower_lsp_server_would() {
        // serde_json::Value takes the last of duplicate keys; the derived types refuse them.
        let all = read_all(&msg(r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"x"}"#));
        assert_eq!(codes(&all), [INVALID_REQUEST]);
    }

    #[test]
    fn content_length_inside_a_json_string_is_no_header() {
        let body = r#"{"jsonrpc":"2.0","method":"x","params":"Content-Length: 5\r\n\r\nab"}"#;
        let all = read_all(&msg(body));
        assert_eq!(all, [Incoming::Message(body.as_bytes().to_vec())]);
    }

    /// Reads `len` bytes of `byte` after a prefix, without storing them.
    struct Endless {
        prefix: Vec<u8>,
        left: u64,
        suffix: Vec<u8>,
    }

    impl Read for Endless {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if !self.prefix.is_empty() {
                let n = out.len().min(self.prefix.len());
                out[..n].copy_from_slice(&self.prefix[..n]);
                self.prefix.drain(..n);
                return Ok(n);
            }
            if self.left > 0 {
                let n = (out.len() as u64).min(self.left) as usize;
                out[..n].fill(b' ');
                self.left -= n as u64;
                return Ok(n);
            }
            let n = out.len().min(self.suffix.len());
            out[..n].copy_from_slice(&self.suffix[..n]);
            self.suffix.drain(..n);
            Ok(n)
        }
    }

    #[test]
    fn an_oversized_message_is_skipped_without_being_stored() {
        let len = MAX_CONTENT_LENGTH + 1;
        let mut r = FrameReader::new(Endless {
            prefix: format!("Content-Length: {len}\r\n\r\n").into_bytes(),
            left: len,
            suffix: msg(PING),
        });
        let Some(Incoming::Refused(refusal)) = r.next_message() else {
            panic!("refused")
        };
        assert!(refusal.message.contains("at most"), "{refusal:?}");
        assert_eq!(
            r.next_message(),
            Some(Incoming::Message(PING.as_bytes().to_vec()))
        );
        assert!(r.buf.capacity() <= 4 * CHUNK, "{}", r.buf.capacity());
        assert_eq!(r.next_message(), None);
    }

    #[test]
    fn endless_headers_and_garbage_stay_bounded() {
        let mut r = FrameReader::new(Endless {
            prefix: b"X-Header: ".to_vec(),
            left: 16 << 20,
            suffix: msg(PING),
        });
        let mut refused = 0;
        loop {
            match r.next_message() {
                Some(Incoming::Refused(_)) => refused += 1,
                Some(Incoming::Message(m)) => {
                    assert_eq!(m, PING.as_bytes());
                    break;
                }
                None => panic!("the ping was lost"),
            }
            assert!(r.buf.capacity() <= 4 * CHUNK, "{}", r.buf.capacity());
        }
        assert_eq!(refused, 1);
    }

    #[test]
    fn header_pattern() {
        assert_eq!(header_at(b"Content-Length: 12\r\n"), Tri::Yes);
        assert_eq!(header_at(b"Content-Length:1\n"), Tri::Yes);
        assert_eq!(header_at(b"Content-Length: 12\r"), Tri::Maybe);
        assert_eq!(header_at(b"Content-Len"), Tri::Maybe);
        assert_eq!(header_at(b"Content-Length: \r\n"), Tri::No);
        assert_eq!(header_at(b"Content-Length: 1a\r\n"), Tri::No);
        assert_eq!(header_at(b"Content-Length\""), Tri::No);
        assert_eq!(header_at(b"Contend"), Tri::No);
    }
}
