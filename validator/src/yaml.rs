//! YAML to a span-carrying tree, with hard bounds on size, depth and alias expansion.
//!
//! saphyr-parser gives events with character positions; this module turns them into [`Node`]s
//! whose spans are byte ranges of the [`SourceFile`]. Plain scalars are typed with the YAML 1.2
//! core schema (null, bool, int, float, string), which is what Kubernetes' JSON conversion sees
//! for the values a TracingPolicy uses.
//!
//! **Invariant:** parsing never fails and never panics: it returns every document it could read
//! plus diagnostics (codes `Y…`) for what it could not.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span as YSpan};

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Span};

/// Largest file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
/// Deepest nesting of sequences and mappings accepted.
pub const MAX_DEPTH: usize = 64;
/// Most nodes a file may expand to, aliases included ("billion laughs" stop here).
pub const MAX_NODES: usize = 200_000;

/// A YAML value with the span of its text.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where its text is (for an empty value, a zero-width span after the key).
    pub span: Span,
}

/// A mapping entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The key node (usually a string).
    pub key: Node,
    /// The value node.
    pub value: Node,
}

/// A typed YAML value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `~`, `null` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string; `plain` is true when it was written without quotes.
    Str {
        /// The text.
        text: String,
        /// Written without quotes.
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, entries in source order (duplicates already reported and dropped).
    Map(Vec<Entry>),
}

impl Node {
    /// The entry value for `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The entry for `key` in a mapping.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key.as_str() == Some(key)),
            _ => None,
        }
    }

    /// The text of a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The integer value.
    pub fn as_i64(&self) -> Option<i64> {
        match self.value {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }

    /// The boolean value.
    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The items of a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The entries of a mapping.
    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// True for `~`, `null` or an empty value.
    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// A short name of the value's type, as a user would say it.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str { .. } => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }

    /// The value as JSON (what Kubernetes would see after its YAML to JSON conversion).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str { text, .. } => J::String(text.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.scalar_text(), e.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// A scalar rendered as text (keys are compared this way).
    pub fn scalar_text(&self) -> String {
        match &self.value {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Str { text, .. } => text.clone(),
            Value::Seq(_) => "[...]".into(),
            Value::Map(_) => "{...}".into(),
        }
    }
}

/// One YAML document of a file.
#[derive(Clone, Debug)]
pub struct Document {
    /// Its root node (`None` for an empty document).
    pub root: Option<Node>,
    /// From its first to its last byte.
    pub span: Span,
    /// True when a syntax error cut the document short; `root` then holds what came before it.
    pub truncated: bool,
}

/// The documents of a file and the YAML-level diagnostics.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    /// Every document, in order.
    pub documents: Vec<Document>,
    /// Syntax and limit errors.
    pub diagnostics: Vec<Diagnostic>,
}

enum Frame {
    Seq {
        start: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: usize,
        anchor: usize,
        entries: Vec<Entry>,
        key: Option<Node>,
    },
}

struct Builder<'a> {
    src: &'a SourceFile,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    diagnostics: Vec<Diagnostic>,
}

/// Parse every document of a file. Never panics; errors become diagnostics.
pub fn parse(src: &SourceFile) -> Parsed {
    let mut out = Parsed::default();
    if src.text().len() > MAX_FILE_BYTES {
        out.diagnostics.push(
            Diagnostic::new(
                Code::Y006,
                Span::new(0, 0),
                format!(
                    "the file is {} bytes; policyctl reads files of at most {} bytes",
                    src.text().len(),
                    MAX_FILE_BYTES
                ),
            )
            .help("split the policies into several files"),
        );
        return out;
    }
    let mut b = Builder {
        src,
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        diagnostics: Vec::new(),
    };
    let mut parser = Parser::new_from_str(src.text());
    let mut doc_start = 0usize;
    let mut root: Option<Node> = None;
    let mut in_doc = false;
    while let Some(next) = parser.next_event() {
        let (event, yspan) = match next {
            Ok(ev) => ev,
            Err(err) => {
                let diag = b.scan_error(&err);
                b.diagnostics.push(diag);
                if in_doc || !b.stack.is_empty() {
                    let partial = b.unwind();
                    out.documents.push(Document {
                        root: root.take().or(partial),
                        span: Span::new(doc_start, src.text().len()),
                        truncated: true,
                    });
                }
                break;
            }
        };
        let span = b.span(yspan);
        match event {
            Event::DocumentStart(_) => {
                in_doc = true;
                doc_start = span.start;
                root = None;
                b.anchors.clear();
            }
            Event::DocumentEnd => {
                in_doc = false;
                out.documents.push(Document {
                    root: root.take(),
                    span: Span::new(doc_start, span.end.max(doc_start)),
                    truncated: false,
                });
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            Event::SequenceStart(anchor, _) => {
                if !b.enter(span) {
                    out.documents.push(Document {
                        root: None,
                        span: Span::new(doc_start, src.text().len()),
                        truncated: true,
                    });
                    break;
                }
                b.stack.push(Frame::Seq {
                    start: span.start,
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, _) => {
                if !b.enter(span) {
                    out.documents.push(Document {
                        root: None,
                        span: Span::new(doc_start, src.text().len()),
                        truncated: true,
                    });
                    break;
                }
                b.stack.push(Frame::Map {
                    start: span.start,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq {
                    start,
                    anchor,
                    items,
                }) = b.stack.pop()
                {
                    let end = items.last().map_or(span.end, |n| n.span.end.max(start));
                    let node = Node {
                        value: Value::Seq(items),
                        span: Span::new(start, end),
                    };
                    b.finish(node, anchor, &mut root);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    start,
                    anchor,
                    entries,
                    ..
                }) = b.stack.pop()
                {
                    let end = entries
                        .last()
                        .map_or(span.end, |e| e.value.span.end.max(e.key.span.end));
                    let node = Node {
                        value: Value::Map(entries),
                        span: Span::new(start, end),
                    };
                    b.finish(node, anchor, &mut root);
                }
            }
            Event::Scalar(text, style, anchor, _tag) => {
                b.nodes += 1;
                let node = Node {
                    value: scalar_value(text, style),
                    span,
                };
                b.finish(node, anchor, &mut root);
            }
            Event::Alias(id) => {
                let Some((node, size)) = b.anchors.get(&id).cloned() else {
                    continue;
                };
                b.nodes += size;
                if b.nodes > MAX_NODES {
                    b.diagnostics.push(
                        Diagnostic::new(
                            Code::Y004,
                            span,
                            format!(
                                "aliases here expand the document past {MAX_NODES} values"
                            ),
                        )
                        .help("write the values out, or reuse fewer anchors; policies need no deep alias nesting"),
                    );
                    out.documents.push(Document {
                        root: None,
                        span: Span::new(doc_start, src.text().len()),
                        truncated: true,
                    });
                    break;
                }
                let mut node = node;
                node.span = span;
                b.finish(node, 0, &mut root);
            }
        }
    }
    out.diagnostics.append(&mut b.diagnostics);
    out
}

fn scalar_value(text: Cow<'_, str>, style: ScalarStyle) -> Value {
    if style != ScalarStyle::Plain {
        return Value::Str {
            text: text.into_owned(),
            plain: false,
        };
    }
    let t: &str = &text;
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(i) = parse_yaml_int(t) {
        return Value::Int(i);
    }
    if looks_like_float(t) {
        if let Ok(f) = t.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str {
        text: text.into_owned(),
        plain: true,
    }
}

/// A YAML 1.2 core-schema integer: decimal with optional sign, `0x…` or `0o…`.
fn parse_yaml_int(t: &str) -> Option<i64> {
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let v = if let Some(hex) = t.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = t.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else {
        if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        digits.parse::<i64>().ok()?
    };
    Some(if neg { -v } else { v })
}

fn looks_like_float(t: &str) -> bool {
    let body = t.trim_start_matches(['-', '+']);
    matches!(body, ".inf" | ".Inf" | ".INF")
        || (body.bytes().any(|c| c.is_ascii_digit())
            && body
                .bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+'))
            && body
                .bytes()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == b'.'))
}

fn node_size(node: &Node) -> usize {
    let mut n = 0;
    let mut todo = vec![node];
    while let Some(x) = todo.pop() {
        n += 1;
        match &x.value {
            Value::Seq(items) => todo.extend(items),
            Value::Map(entries) => {
                for e in entries {
                    todo.push(&e.key);
                    todo.push(&e.value);
                }
            }
            _ => {}
        }
    }
    n
}

impl Builder<'_> {
    fn span(&self, s: YSpan) -> Span {
        let start = self.src.offset_of(s.start.line(), s.start.col());
        let end = self.src.offset_of(s.end.line(), s.end.col());
        Span::new(start, end)
    }

    /// Returns false (after reporting) when the nesting limit is reached.
    fn enter(&mut self, span: Span) -> bool {
        self.nodes += 1;
        if self.stack.len() >= MAX_DEPTH {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::Y005,
                    span,
                    format!("the YAML nests deeper than {MAX_DEPTH} levels"),
                )
                .help(
                    "a TracingPolicy is never this deep; check for runaway brackets or indentation",
                ),
            );
            return false;
        }
        true
    }

    fn finish(&mut self, node: Node, anchor: usize, root: &mut Option<Node>) {
        if anchor != 0 {
            let size = node_size(&node);
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => *root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => {
                    let name = k.scalar_text();
                    if let Some(first) = entries.iter().find(|e| e.key.scalar_text() == name) {
                        let first_span = first.key.span;
                        let line = self.src.position(first_span.start).line;
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::Y002,
                                k.span,
                                format!("the key `{name}` is already set in this mapping (line {line})"),
                            )
                            .help("remove one of the two; Tetragon rejects a policy with duplicate keys")
                            .related(first_span, "first set here"),
                        );
                    } else {
                        entries.push(Entry {
                            key: k,
                            value: node,
                        });
                    }
                }
            },
        }
    }

    /// Close every open collection after an error, returning the partial root.
    fn unwind(&mut self) -> Option<Node> {
        let mut partial: Option<Node> = None;
        while let Some(frame) = self.stack.pop() {
            let node = match frame {
                Frame::Seq {
                    start, mut items, ..
                } => {
                    if let Some(p) = partial.take() {
                        items.push(p);
                    }
                    let end = items.last().map_or(start, |n| n.span.end.max(start));
                    Node {
                        value: Value::Seq(items),
                        span: Span::new(start, end),
                    }
                }
                Frame::Map {
                    start,
                    mut entries,
                    key,
                    ..
                } => {
                    if let (Some(k), Some(p)) = (key, partial.take()) {
                        entries.push(Entry { key: k, value: p });
                    }
                    let end = entries
                        .last()
                        .map_or(start, |e| e.value.span.end.max(start));
                    Node {
                        value: Value::Map(entries),
                        span: Span::new(start, end),
                    }
                }
            };
            partial = Some(node);
        }
        partial
    }

    fn scan_error(&self, err: &ScanError) -> Diagnostic {
        let m = err.marker();
        let at = self.src.offset_of(m.line(), m.col());
        let info = err.info();
        let line_text = self.src.line_text(m.line());
        // Tabs first: YAML forbids them in indentation and saphyr's wording does not say so plainly.
        if let Some(tab_line) = self.tab_indented_line_near(m.line()) {
            let start = self.src.offset_of(tab_line, 0);
            let tabs = self
                .src
                .line_text(tab_line)
                .chars()
                .take_while(|c| c.is_whitespace())
                .count();
            let end = self.src.offset_of(tab_line, tabs);
            return Diagnostic::new(
                Code::Y003,
                Span::new(start, end),
                format!("line {tab_line} is indented with a tab; YAML allows only spaces for indentation"),
            )
            .help("replace the tab characters at the start of the line with spaces, aligned with the sibling keys");
        }
        if info.contains("recursion limit") {
            return Diagnostic::new(
                Code::Y005,
                Span::new(at, at),
                format!("the YAML nests deeper than the parser allows ({info})"),
            )
            .help("a TracingPolicy is never this deep; check for runaway brackets or indentation");
        }
        let (message, help) = humanize(info, line_text);
        // Underline the character where reading stopped (nothing at the end of a line or file).
        let width = self.src.text()[at..]
            .chars()
            .next()
            .filter(|c| *c != '\n' && *c != '\r')
            .map_or(0, char::len_utf8);
        Diagnostic::new(Code::Y001, Span::new(at, at + width), message).help(help)
    }

    fn tab_indented_line_near(&self, line: usize) -> Option<usize> {
        (line.saturating_sub(2).max(1)..=line + 1).find(|&l| {
            let t = self.src.line_text(l);
            let indent: String = t.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
            indent.contains('\t') && t.trim() != ""
        })
    }
}

/// Turn saphyr's scanner wording into a sentence about the policy author's text.
fn humanize(info: &str, line_text: &str) -> (String, String) {
    let lower = info.to_ascii_lowercase();
    if lower.contains("quoted scalar")
        || lower.contains("unexpected end of stream") && line_text.contains('"')
    {
        return (
            "a quoted string is never closed".into(),
            "add the missing closing quote (\" or ') on this line".into(),
        );
    }
    if lower.contains("mapping values are not allowed") {
        return (
            "a `key: value` appears where YAML cannot accept one; the indentation of this line does not match its siblings".into(),
            "indent the key exactly like the other keys of the same mapping (same number of spaces)".into(),
        );
    }
    if lower.contains("did not find expected key") || lower.contains("expected key") {
        return (
            "this line's indentation does not fit the mapping above it".into(),
            "align the key with its sibling keys, or indent it under a key that ends with `:`"
                .into(),
        );
    }
    if lower.contains("did not find expected '-'") || lower.contains("block sequence") {
        return (
            "this list item is not aligned with the items before it".into(),
            "start every `- ` item of a list at the same column".into(),
        );
    }
    if lower.contains("invalid indentation") || lower.contains("indentation") {
        return (
            "the indentation of this line is invalid here".into(),
            "indent with spaces so that the line lines up with its siblings".into(),
        );
    }
    if lower.contains("flow") || lower.contains("']'") || lower.contains("'}'") {
        return (
            format!("a [list] or {{mapping}} written inline is not closed properly ({info})"),
            "check the brackets and commas of the inline list or mapping".into(),
        );
    }
    (
        format!("invalid YAML: {info}"),
        "fix the YAML syntax at this position".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> (Parsed, SourceFile) {
        let f = SourceFile::new("t.yaml", text);
        (parse(&f), f)
    }

    #[test]
    fn scalars_are_typed_and_spanned() {
        let (out, f) = p("a: 443\nb: \"443\"\nc:\nd: true\ne: 0x10\nf: text\n");
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        let root = out.documents[0].root.as_ref().unwrap();
        assert_eq!(root.get("a").unwrap().as_i64(), Some(443));
        assert_eq!(root.get("b").unwrap().as_str(), Some("443"));
        assert!(root.get("c").unwrap().is_null());
        assert_eq!(root.get("d").unwrap().as_bool(), Some(true));
        assert_eq!(root.get("e").unwrap().as_i64(), Some(16));
        let fnode = root.get("f").unwrap();
        assert_eq!(f.slice(fnode.span), "text");
    }

    #[test]
    fn several_documents() {
        let (out, _) = p("a: 1\n---\nb: 2\n");
        assert_eq!(out.documents.len(), 2);
    }

    #[test]
    fn duplicate_keys_are_reported_at_the_second() {
        let (out, f) = p("a: 1\nb: 2\na: 3\n");
        assert_eq!(out.diagnostics.len(), 1);
        assert_eq!(out.diagnostics[0].code, Code::Y002);
        assert_eq!(f.position(out.diagnostics[0].span.start).line, 3);
    }

    #[test]
    fn tabs_are_named() {
        let (out, f) = p("spec:\n  a: 1\n\tb: 2\n");
        assert_eq!(out.diagnostics[0].code, Code::Y003, "{:?}", out.diagnostics);
        assert_eq!(f.position(out.diagnostics[0].span.start).line, 3);
    }

    #[test]
    fn billion_laughs_is_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let t = std::time::Instant::now();
        let (out, _) = p(&text);
        assert!(t.elapsed().as_secs() < 2);
        assert!(out.diagnostics.iter().any(|d| d.code == Code::Y004));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let text = "[".repeat(100_000);
        let (out, _) = p(&text);
        assert!(out
            .diagnostics
            .iter()
            .any(|d| d.code == Code::Y005 || d.code == Code::Y001));
    }
}
