//! LSP base-protocol framing (`Content-Length` headers) for the tests and the benchmark that
//! speak JSON-RPC to `policyctl lsp`.

use std::io::{BufRead, Write};

use serde_json::Value;

/// Write one framed message.
pub fn write_message(writer: &mut impl Write, msg: &Value) {
    let body = serde_json::to_string(msg).expect("a JSON value serialises");
    write!(writer, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("the server reads");
    writer.flush().expect("the server reads");
}

/// Read one framed message; `None` at the end of the stream.
pub fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length:") {
            length = v.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    Some(serde_json::from_slice(&body).expect("the server sent JSON"))
}
