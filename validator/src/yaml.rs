//! YAML to a span-carrying tree, with hard bounds on size, depth and alias expansion.
//!
//! The bounds hold for any input: the file's bytes ([`MAX_FILE_BYTES`]), nesting
//! ([`MAX_DEPTH`]), nodes with aliases expanded ([`MAX_NODES`], `Y004` when aliases pass it,
//! `Y006` otherwise), bytes of text copied by aliases ([`MAX_ALIAS_BYTES`], `Y004`), and what
//! saphyr buffers ahead of the next event ([`MAX_LOOKAHEAD`], `Y006`). Every step is linear in
//! the text: spans are converted walking on from the previous one, duplicate keys are found
//! with a hash of the keys seen.
//!
//! saphyr-parser gives events with character positions; this module turns them into [`Node`]s
//! whose spans are byte ranges of the [`SourceFile`]. Plain scalars are typed the way Tetragon and
//! kubectl type them: go-yaml v2's YAML 1.1 rules (`yes` and `on` are booleans, `0755` is octal),
//! seen through the JSON that Kubernetes decodes ([`resolve_plain`]).
//!
//! **Invariant:** parsing never fails and never panics: it returns every document it could read
//! plus diagnostics (codes `Y…`) for what it could not.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span as YSpan, Tag};

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::golang;
use crate::source::{SourceFile, Span};

/// Largest file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
/// Deepest nesting of sequences and mappings accepted.
pub const MAX_DEPTH: usize = 64;
/// Most nodes a file may hold, aliases expanded ("billion laughs" stop here, and so does a
/// 4 MiB flow list of single letters).
pub const MAX_NODES: usize = 500_000;
/// Most token characters (`,[]{}:?"'*&!`) saphyr may read ahead of the event it gives next.
/// saphyr holds every token of a flow collection that could be a key (a document that is one
/// `[...]` or `{...}`, JSON) until it closes, about 100 bytes each; this bounds them.
pub const MAX_LOOKAHEAD: usize = 65_536;
/// Most bytes of scalar text that aliases may add to a file: each alias copies its anchor, so
/// a 1 MiB anchored string used 17 times stops here. With [`MAX_NODES`] and [`MAX_FILE_BYTES`]
/// this bounds the tree of any input.
pub const MAX_ALIAS_BYTES: usize = 16 * 1024 * 1024;

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

    /// The entry for `key` in a mapping: the key written exactly so, else one that differs
    /// only in ASCII case, as Go's `encoding/json` (Tetragon's decoder) matches fields.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|e| e.key.as_str() == Some(key))
                .or_else(|| {
                    entries
                        .iter()
                        .find(|e| e.key.as_str().is_some_and(|k| k.eq_ignore_ascii_case(key)))
                }),
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

impl Document {
    /// A document whose reading stopped at a limit, from `start` to the end of the text: nothing
    /// of it is kept.
    fn cut_short(start: usize, end: usize) -> Document {
        Document {
            root: None,
            span: Span::new(start, end),
            truncated: true,
        }
    }
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
        /// Each key's text, to find duplicates without comparing every pair.
        seen: HashMap<String, usize>,
    },
}

/// Converts saphyr's (line, character column) markers to byte offsets. Markers come in
/// document order, so the conversion walks on from the previous one on the same line: the
/// cost is the distance between markers, not the length of the line (a one-line flow
/// collection of 4 MiB would otherwise be quadratic).
#[derive(Default)]
struct Cursor {
    /// 1-based line of the last conversion (0: none yet).
    line: usize,
    /// Its column in characters, and its byte offset.
    col: usize,
    byte: usize,
}

/// The text as saphyr reads it, a character at a time, stopping it from reading too far ahead.
///
/// saphyr keeps every token of a flow collection (`[...]`, `{...}`, a JSON document) in memory
/// before it gives the collection's first event, about 100 bytes a token: a 4 MiB `[a,a,a,...]`
/// took 750 MB. Each token of a flow collection starts at, or is separated from the next by,
/// one of the characters counted here, so counting them between two events bounds the tokens
/// held. Past [`MAX_LOOKAHEAD`] the input ends for saphyr, and the parse reports `Y006`.
struct Lookahead<'a> {
    chars: std::str::Chars<'a>,
    /// Counted characters read since the last event.
    since_event: Rc<Cell<usize>>,
    /// Set when the input was cut short.
    cut: Rc<Cell<bool>>,
}

impl Iterator for Lookahead<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        if self.cut.get() {
            return None;
        }
        let c = self.chars.next()?;
        if matches!(
            c,
            ',' | '[' | ']' | '{' | '}' | ':' | '?' | '"' | '\'' | '*' | '&' | '!'
        ) {
            let n = self.since_event.get() + 1;
            self.since_event.set(n);
            if n > MAX_LOOKAHEAD {
                self.cut.set(true);
                return None;
            }
        }
        Some(c)
    }
}

/// What one node holds: nodes, and bytes of scalar text.
#[derive(Clone, Copy, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
}

struct Builder<'a> {
    src: &'a SourceFile,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, Size)>,
    nodes: usize,
    /// Bytes of scalar text added by aliases so far.
    alias_bytes: usize,
    cursor: Cursor,
    /// Lines of the text before the one saphyr started reading at (0-based): saphyr's line 1.
    line_base: usize,
    diagnostics: Vec<Diagnostic>,
}

/// How far reading goes past a syntax error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// A document with a syntax error keeps what came before the error ([`Document::truncated`])
    /// and reading goes on at the next `---` line, so one broken document never hides the
    /// others. What the checks read: a document is never checked for text the reader guessed.
    Documents,
    /// As [`Recovery::Documents`], and inside a broken document too: the text from the error to
    /// the end of its line (then, if that is not enough, the whole line; for an inline
    /// collection left open, from its bracket) is read as blank and the document read again,
    /// so the tree holds everything around a line being typed. What an editor reads to know
    /// where the cursor is; only the first error of a document is reported.
    Lines,
}

/// Most bytes read again by [`Recovery::Lines`] over a file, beyond its own length: reading a
/// document again after each broken line costs at most this much, whatever the input.
pub const MAX_RECOVERY_BYTES: usize = 256 * 1024;

/// Parse every document of a file ([`Recovery::Documents`]). Never panics; errors become
/// diagnostics.
pub fn parse(src: &SourceFile) -> Parsed {
    parse_with(src, Recovery::Documents)
}

/// Parse every document of a file, going past syntax errors as far as `recovery` says. Never
/// panics; errors become diagnostics.
pub fn parse_with(src: &SourceFile, recovery: Recovery) -> Parsed {
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
        alias_bytes: 0,
        cursor: Cursor::default(),
        line_base: 0,
        diagnostics: Vec::new(),
    };
    let text = src.text();
    // What saphyr reads: the text, or (`Recovery::Lines`) a copy with broken parts blanked.
    // Blanking replaces every byte from a character boundary to the end of its line with a
    // space, so byte offsets and the columns before the blank stay those of the text.
    let mut patched: Option<Vec<u8>> = None;
    let mut budget = MAX_RECOVERY_BYTES.max(text.len());
    // Where reading (re)starts: the start of a line.
    let mut start = 0usize;
    // The document read again after a recovery has had its error reported.
    let mut retrying = false;
    'segments: loop {
        let input: &str = match &patched {
            Some(p) => std::str::from_utf8(&p[start..]).unwrap_or(""),
            None => &text[start..],
        };
        b.line_base = src.line_of(start);
        b.cursor = Cursor::default();
        b.stack.clear();
        let (nodes_before, alias_before) = (b.nodes, b.alias_bytes);
        let since_event = Rc::new(Cell::new(0));
        let cut = Rc::new(Cell::new(false));
        let mut parser = Parser::new_from_iter(Lookahead {
            chars: input.chars(),
            since_event: since_event.clone(),
            cut: cut.clone(),
        });
        let mut doc_start = start;
        let mut root: Option<Node> = None;
        let mut in_doc = false;
        // Where the last event ended: where reading stopped, when the input is cut.
        let mut last_end = start;
        loop {
            let next = parser.next_event();
            since_event.set(0);
            if cut.get() {
                b.diagnostics.push(
                    Diagnostic::new(
                        Code::Y006,
                        Span::new(last_end, last_end),
                        format!("the inline [list] or {{mapping}} (or string) after this point is too long: policyctl reads at most {MAX_LOOKAHEAD} brackets, commas, colons and quotes of one"),
                    )
                    .help("write it in block style, one `- item` or `key: value` per line, or split the file"),
                );
                out.documents
                    .push(Document::cut_short(doc_start, text.len()));
                break 'segments;
            }
            let Some(next) = next else { break 'segments };
            let (event, yspan) = match next {
                Ok(ev) => ev,
                Err(err) => {
                    let at = b.error_offset(&err);
                    if !retrying {
                        let diag = b.scan_error(&err);
                        b.diagnostics.push(diag);
                    }
                    let restart = if in_doc {
                        src.line_start(src.line_of(doc_start))
                    } else {
                        start
                    };
                    if recovery == Recovery::Lines
                        && budget >= at.saturating_sub(restart)
                        && b.blank(&mut patched, at, err.info())
                    {
                        budget -= at.saturating_sub(restart);
                        b.nodes = nodes_before;
                        b.alias_bytes = alias_before;
                        retrying = in_doc || !b.stack.is_empty();
                        start = restart;
                        continue 'segments;
                    }
                    retrying = false;
                    // Reading goes on at the next `---` line after the error.
                    let resume = next_document(src, at, start);
                    if in_doc || !b.stack.is_empty() {
                        let partial = b.unwind();
                        out.documents.push(Document {
                            root: root.take().or(partial),
                            span: Span::new(doc_start, resume.unwrap_or(text.len())),
                            truncated: true,
                        });
                    }
                    match resume {
                        Some(r) => {
                            start = r;
                            continue 'segments;
                        }
                        None => break 'segments,
                    }
                }
            };
            let span = b.span(yspan);
            last_end = span.end;
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
                        truncated: retrying,
                    });
                    retrying = false;
                }
                Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
                Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                    if !b.enter(span) {
                        out.documents
                            .push(Document::cut_short(doc_start, text.len()));
                        break 'segments;
                    }
                    b.stack.push(if matches!(event, Event::SequenceStart(..)) {
                        Frame::Seq {
                            start: span.start,
                            anchor,
                            items: Vec::new(),
                        }
                    } else {
                        Frame::Map {
                            start: span.start,
                            anchor,
                            entries: Vec::new(),
                            key: None,
                            seen: HashMap::new(),
                        }
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
                Event::Scalar(text, style, anchor, tag) => {
                    if !b.count(span) {
                        out.documents
                            .push(Document::cut_short(doc_start, text.len()));
                        break 'segments;
                    }
                    let node = Node {
                        value: scalar_value(text, style, tag.as_deref()),
                        span,
                    };
                    b.finish(node, anchor, &mut root);
                }
                Event::Alias(id) => {
                    let Some(&(_, size)) = b.anchors.get(&id) else {
                        continue;
                    };
                    // Count before copying: the copy itself is what must stay bounded.
                    b.nodes += size.nodes;
                    b.alias_bytes += size.bytes;
                    let past = if b.nodes > MAX_NODES {
                        Some(format!("{MAX_NODES} values"))
                    } else if b.alias_bytes > MAX_ALIAS_BYTES {
                        Some(format!("{} MiB of text", MAX_ALIAS_BYTES >> 20))
                    } else {
                        None
                    };
                    if let Some(past) = past {
                        b.diagnostics.push(
                            Diagnostic::new(
                                Code::Y004,
                                span,
                                format!("aliases here expand the document past {past}"),
                            )
                            .help("write the values out, or reuse fewer anchors; policies need no deep alias nesting"),
                        );
                        out.documents
                            .push(Document::cut_short(doc_start, text.len()));
                        break 'segments;
                    }
                    let Some((node, _)) = b.anchors.get(&id) else {
                        continue;
                    };
                    let mut node = node.clone();
                    node.span = span;
                    b.finish(node, 0, &mut root);
                }
            }
        }
    }
    out.diagnostics.append(&mut b.diagnostics);
    out
}

/// Is this line a document start marker (`---` alone or followed by a space or tab)?
fn is_document_marker(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t']))
}

/// The start of the first `---` line at or after the line of `at` that starts after `after`:
/// where reading resumes after a syntax error.
fn next_document(src: &SourceFile, at: usize, after: usize) -> Option<usize> {
    (src.line_of(at)..src.line_count())
        .find(|&l| src.line_start(l) > after && is_document_marker(src.line_text(l + 1)))
        .map(|l| src.line_start(l))
}

fn scalar_value(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    let core = tag
        .filter(|t| t.is_yaml_core_schema())
        .map(|t| t.suffix.as_str());
    if style != ScalarStyle::Plain || core == Some("str") {
        return Value::Str {
            text: text.into_owned(),
            plain: false,
        };
    }
    match resolve_plain(&text) {
        Some(v) => v,
        None => Value::Str {
            text: text.into_owned(),
            plain: true,
        },
    }
}

/// How a plain (unquoted) scalar reaches Tetragon: the type go-yaml v2 resolves it to, after
/// sigs.k8s.io/yaml's conversion to JSON and Kubernetes' JSON decoding. `None` means a string.
///
/// Tetragon's file loader (`pkg/tracingpolicy/k8s.go` `FromYAML`, then `pkg/crdutils`
/// `ApplyDefaults`) and kubectl both decode with `sigs.k8s.io/yaml`, which resolves scalars with
/// go-yaml v2's YAML 1.1 rules (`go.yaml.in/yaml/v2` `resolve.go` `resolve`):
/// - `y`, `yes`, `on`, `true` (and `Y`, `Yes`, `YES`, `On`, `ON`, `True`, `TRUE`) are true;
///   the same spellings of `n`, `no`, `off`, `false` are false; `~`, `null` and nothing are null;
/// - integers are `strconv.ParseInt(text, 0, 64)` with every `_` removed first: `0x`, `0o`,
///   `0b` prefixes and a leading `0` for octal (`0755` is 493), then `ParseUint`;
/// - floats match `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, or are `.inf`, `.nan`
///   and their spellings; a text starting with `.` goes through `strconv.ParseFloat`;
/// - a timestamp (`2001-12-14`, `2001-12-14T21:59:43Z`) becomes a string in JSON.
///
/// JSON carries numbers without a type: a whole float such as `1e3` or `1.0` is written `1000`
/// or `1` and read back by Kubernetes as an integer, so it is one here too, and so is an integer
/// above `i64::MAX` a float.
pub fn resolve_plain(text: &str) -> Option<Value> {
    let first = text.bytes().next();
    // go-yaml's first-byte hint: only these starts can resolve to anything but a string.
    match first {
        None => return Some(Value::Null),
        Some(b'+' | b'-' | b'0'..=b'9' | b'.') => {}
        Some(c) if b"yYnNtTfFoO~".contains(&c) => {}
        Some(_) => return None,
    }
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Some(Value::Bool(true))
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Some(Value::Bool(false))
        }
        "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        ".nan" | ".NaN" | ".NAN" => return Some(Value::Float(f64::NAN)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(Value::Float(f64::INFINITY))
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(Value::Float(f64::NEG_INFINITY)),
        _ => {}
    }
    match first {
        Some(b'.') => go_decimal_float(text).map(json_number),
        Some(b'+' | b'-' | b'0'..=b'9') => {
            if is_timestamp(text) {
                return None;
            }
            let plain = text.replace('_', "");
            if let Ok(i) = golang::parse_int(&plain, 64) {
                return Some(Value::Int(i));
            }
            if let Ok(u) = golang::parse_uint(&plain, 64) {
                return Some(json_number(u as f64));
            }
            if is_yaml_style_float(&plain) {
                return plain.parse::<f64>().ok().map(json_number);
            }
            None
        }
        _ => None,
    }
}

/// A number as Kubernetes reads it back from JSON: whole values that fit 64 bits are integers.
fn json_number(f: f64) -> Value {
    // Go's json.Marshal writes floats below 1e21 without an exponent, so a whole value is read
    // back as an integer when it fits int64.
    if f.is_finite()
        && f.fract() == 0.0
        && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f)
    {
        Value::Int(f as i64)
    } else {
        Value::Float(f)
    }
}

/// go-yaml v2's `yamlStyleFloat`: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_yaml_style_float(t: &str) -> bool {
    let b = t.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// `strconv.ParseFloat` for a text starting with `.` (go-yaml's `.` hint): a decimal fraction
/// with an optional exponent; `_` only between digits.
fn go_decimal_float(t: &str) -> Option<f64> {
    let b = t.as_bytes();
    for (i, c) in b.iter().enumerate() {
        if *c == b'_'
            && !(i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            return None;
        }
    }
    let plain = t.replace('_', "");
    if is_yaml_style_float(&plain) {
        plain.parse().ok()
    } else {
        None
    }
}

/// go-yaml v2's timestamp test (`parseTimestamp`): four digits and `-`, then one of the layouts
/// `2006-1-2`, `2006-1-2 15:4:5.999999999`, `2006-1-2T15:4:5.999999999Z07:00` (or `t`).
fn is_timestamp(t: &str) -> bool {
    let b = t.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let num = |s: &str, max_len: usize, lo: u32, hi: u32| {
        !s.is_empty()
            && s.len() <= max_len
            && s.bytes().all(|c| c.is_ascii_digit())
            && s.parse::<u32>().is_ok_and(|n| (lo..=hi).contains(&n))
    };
    let (date, time) = match t.find(['T', 't', ' ']) {
        Some(i) => (&t[..i], Some((&t[i..i + 1], &t[i + 1..]))),
        None => (t, None),
    };
    let mut parts = date.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let (Ok(year), true, true) = (y.parse::<u32>(), num(m, 2, 1, 12), num(d, 2, 1, 31)) else {
        return false;
    };
    let month: u32 = m.parse().unwrap_or(0);
    let day: u32 = d.parse().unwrap_or(0);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day > days {
        return false;
    }
    let Some((sep, rest)) = time else {
        return true;
    };
    // The time: `15:4:5`, optional `.fraction`; with `T`/`t` a zone (`Z` or `±07:00`) is required,
    // with a space none is allowed.
    let (clock, zone_ok) = if sep == " " {
        (rest, true)
    } else if let Some(c) = rest.strip_suffix('Z') {
        (c, true)
    } else {
        match rest.rfind(['+', '-']) {
            Some(i) => {
                let z = &rest[i + 1..];
                let ok = z.len() == 5
                    && num(&z[..2], 2, 0, 23)
                    && &z[2..3] == ":"
                    && num(&z[3..], 2, 0, 59);
                (&rest[..i], ok)
            }
            None => (rest, false),
        }
    };
    if !zone_ok {
        return false;
    }
    let (hms, frac) = match clock.split_once('.') {
        Some((h, f)) => (h, Some(f)),
        None => (clock, None),
    };
    if frac.is_some_and(|f| f.is_empty() || f.len() > 9 || !f.bytes().all(|c| c.is_ascii_digit())) {
        return false;
    }
    let mut hp = hms.splitn(3, ':');
    match (hp.next(), hp.next(), hp.next()) {
        (Some(h), Some(mi), Some(s)) => num(h, 2, 0, 23) && num(mi, 2, 0, 59) && num(s, 2, 0, 59),
        _ => false,
    }
}

fn node_size(node: &Node) -> Size {
    let mut size = Size::default();
    let mut todo = vec![node];
    while let Some(x) = todo.pop() {
        size.nodes += 1;
        match &x.value {
            Value::Seq(items) => todo.extend(items),
            Value::Map(entries) => {
                for e in entries {
                    todo.push(&e.key);
                    todo.push(&e.value);
                }
            }
            Value::Str { text, .. } => size.bytes += text.len(),
            _ => {}
        }
    }
    size
}

/// Length of the UTF-8 sequence a leading byte starts (1 for a stray continuation byte).
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xf0.. => 4,
        0xe0.. => 3,
        0xc0.. => 2,
        _ => 1,
    }
}

impl Builder<'_> {
    fn span(&mut self, s: YSpan) -> Span {
        let start = self.offset(s.start.line(), s.start.col());
        let end = self.offset(s.end.line(), s.end.col());
        Span::new(start, end)
    }

    /// The byte offset of a 1-based line and 0-based character column, clamped to the line's
    /// end, walking from the previous marker when it is on the same line.
    fn offset(&mut self, line: usize, col: usize) -> usize {
        let text = self.src.text();
        let line = line + self.line_base;
        let line0 = line.saturating_sub(1);
        if line0 >= self.src.line_count() {
            return text.len();
        }
        let end = self.src.line_end(line0);
        let c = &mut self.cursor;
        if c.line != line || col < c.col / 2 {
            *c = Cursor {
                line,
                col: 0,
                byte: self.src.line_start(line0),
            };
        }
        let bytes = text.as_bytes();
        while c.col > col {
            c.byte -= 1;
            while !text.is_char_boundary(c.byte) {
                c.byte -= 1;
            }
            c.col -= 1;
        }
        while c.col < col && c.byte < end {
            c.byte += utf8_len(bytes[c.byte]);
            c.col += 1;
        }
        c.byte.min(end)
    }

    /// Count one node read from the text; false (after reporting) past [`MAX_NODES`].
    fn count(&mut self, span: Span) -> bool {
        self.nodes += 1;
        if self.nodes <= MAX_NODES {
            return true;
        }
        self.diagnostics.push(
            Diagnostic::new(
                Code::Y006,
                span,
                format!("the file holds more than {MAX_NODES} values; policyctl reads no further"),
            )
            .help("split the policies into several files; a policy has hundreds of values, not hundreds of thousands"),
        );
        false
    }

    /// Returns false (after reporting) when the nesting or the node limit is reached.
    fn enter(&mut self, span: Span) -> bool {
        if !self.count(span) {
            return false;
        }
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
            Some(Frame::Map {
                entries, key, seen, ..
            }) => match key.take() {
                None => *key = Some(node),
                Some(k) => {
                    let name = k.scalar_text();
                    if let Some(&first) = seen.get(&name) {
                        let first_span = entries[first].key.span;
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
                        seen.insert(name, entries.len());
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

    /// The byte offset where saphyr stopped at an error.
    fn error_offset(&self, err: &ScanError) -> usize {
        let m = err.marker();
        self.src.offset_of(m.line() + self.line_base, m.col())
    }

    /// The outermost inline (flow) collection still open, by the offset of its bracket.
    fn open_flow(&self) -> Option<usize> {
        let bytes = self.src.text().as_bytes();
        self.stack
            .iter()
            .map(|f| match f {
                Frame::Seq { start, .. } | Frame::Map { start, .. } => *start,
            })
            .find(|&s| matches!(bytes.get(s), Some(b'[' | b'{')))
    }

    /// Blank the text that broke reading at `at` ([`Recovery::Lines`]), by what saphyr says
    /// (`info`):
    /// - tabs in a line's indentation become spaces;
    /// - a quote that opens a string never closed becomes a space (the rest is read plain);
    /// - `key: value` on a line whose line above has no `:` (a plain scalar went on to this
    ///   line): the line above is blanked after its `- `;
    /// - an inline collection still open is blanked from its bracket;
    /// - else the line from `at` when something comes before it, else the whole line.
    ///
    /// Each step changes at least one byte that is not a space (false when none is left to
    /// change), so recovery always ends.
    fn blank(&self, patched: &mut Option<Vec<u8>>, at: usize, info: &str) -> bool {
        let src = self.src;
        let p = patched.get_or_insert_with(|| src.text().as_bytes().to_vec());
        let is_blank = |b: u8| matches!(b, b' ' | b'\t');
        let line0 = src.line_of(at);
        let (ls, le) = (src.line_start(line0), src.line_end(line0));
        let indent_end = (ls..le).find(|&i| !is_blank(p[i])).unwrap_or(le);
        if info.contains("tab") && p[ls..indent_end].contains(&b'\t') {
            for b in &mut p[ls..indent_end] {
                *b = b' ';
            }
            return true;
        }
        if info.contains("quoted scalar") && matches!(p.get(at), Some(b'"' | b'\'')) {
            p[at] = b' ';
            return true;
        }
        if info.contains("mapping values are not allowed") && line0 > 0 {
            // The first `:` of its line, after a key: the line above is what lacks one.
            let first_colon = (indent_end..at).all(|i| p[i] != b':');
            let above = (0..line0)
                .rev()
                .take(64)
                .map(|l| (src.line_start(l), src.line_end(l)))
                .find(|&(s, e)| (s..e).any(|i| !is_blank(p[i])));
            if let (true, Some((s, e))) = (first_colon, above) {
                let mut from = s;
                // Past the indentation and the `- ` of list items.
                while from < e
                    && (is_blank(p[from])
                        || (p[from] == b'-' && (from + 1 == e || is_blank(p[from + 1]))))
                {
                    from += 1;
                }
                let line_above = &p[from..e];
                if !line_above.is_empty()
                    && !line_above.contains(&b':')
                    && !line_above.starts_with(b"#")
                {
                    p[from..e].fill(b' ');
                    return true;
                }
            }
        }
        let from = self.open_flow().unwrap_or(at).min(at);
        let line0 = src.line_of(from);
        let (ls, le) = (src.line_start(line0), src.line_end(line0));
        let content = |i: usize| !is_blank(p[i]);
        // Something other than blanks before `from` on its line: keep it.
        let from = if (ls..from.min(le)).any(content) {
            from
        } else {
            ls
        };
        if !(from..le).any(content) {
            // Already blank: blank the whole line, if anything is left of it.
            if !(ls..le).any(content) {
                return false;
            }
            p[ls..le].fill(b' ');
            return true;
        }
        p[from..le].fill(b' ');
        true
    }

    fn scan_error(&self, err: &ScanError) -> Diagnostic {
        let m = err.marker();
        let line = m.line() + self.line_base;
        let at = self.src.offset_of(line, m.col());
        let info = err.info();
        let line_text = self.src.line_text(line);
        // An inline collection left open: the error shows where it ends, the mistake is where
        // it starts.
        if let Some(open) = self.open_flow() {
            let open_line = self.src.line_of(open) + 1;
            if open_line < line || at >= self.src.text().len() {
                let what = if self.src.text().as_bytes()[open] == b'[' {
                    "an inline [list]"
                } else {
                    "an inline {mapping}"
                };
                return Diagnostic::new(
                    Code::Y001,
                    Span::new(open, open + 1),
                    format!("{what} opened on line {open_line} is not closed properly: reading stops at line {line} ({info})"),
                )
                .help("close the brackets on the same line, or write the list or mapping in block style");
            }
        }
        // Tabs first: YAML forbids them in indentation and saphyr's wording does not say so plainly.
        if let Some(tab_line) = self.tab_indented_line_near(line) {
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

    /// How go-yaml v2 resolves plain scalars, the table Tetragon's decoding follows. Cases from
    /// go-yaml v2's own decoder tests (`decode_test.go`, `unmarshalTests` into
    /// `map[string]interface{}`) and its resolver (`resolve.go`), each as the JSON value
    /// Kubernetes then reads (whole floats become integers; timestamps become strings).
    #[test]
    fn plain_scalars_resolve_as_go_yaml_v2() {
        use Value::{Bool, Float, Int, Null};
        let s = |t: &str| Value::Str {
            text: t.to_string(),
            plain: true,
        };
        let cases: Vec<(&str, Value)> = vec![
            // strings
            ("hi", s("hi")),
            ("-b_c", s("-b_c")),
            ("+b_c", s("+b_c")),
            ("50cent_of_dollar", s("50cent_of_dollar")),
            (
                "https://github.com/go-yaml/yaml",
                s("https://github.com/go-yaml/yaml"),
            ),
            ("tRUE", s("tRUE")),
            ("oN", s("oN")),
            ("yeS", s("yeS")),
            ("-inf", s("-inf")),
            (".iNf", s(".iNf")),
            ("0x", s("0x")),
            ("0x-9", s("0x-9")),
            ("1.2.3", s("1.2.3")),
            ("<<", s("<<")),
            // booleans: YAML 1.1
            ("true", Bool(true)),
            ("True", Bool(true)),
            ("TRUE", Bool(true)),
            ("y", Bool(true)),
            ("Y", Bool(true)),
            ("yes", Bool(true)),
            ("Yes", Bool(true)),
            ("YES", Bool(true)),
            ("on", Bool(true)),
            ("On", Bool(true)),
            ("ON", Bool(true)),
            ("false", Bool(false)),
            ("n", Bool(false)),
            ("N", Bool(false)),
            ("no", Bool(false)),
            ("NO", Bool(false)),
            ("off", Bool(false)),
            ("Off", Bool(false)),
            ("OFF", Bool(false)),
            // null
            ("~", Null),
            ("null", Null),
            ("Null", Null),
            ("NULL", Null),
            // integers: strconv.ParseInt(_, 0, 64) with `_` removed
            ("10", Int(10)),
            ("-10", Int(-10)),
            ("0b10", Int(2)),
            ("0xA", Int(10)),
            ("4294967296", Int(4_294_967_296)),
            ("685230", Int(685_230)),
            ("+685_230", Int(685_230)),
            ("02472256", Int(685_230)),
            ("0x_0A_74_AE", Int(685_230)),
            ("0b1010_0111_0100_1010_1110", Int(685_230)),
            ("-0b101010", Int(-42)),
            (
                "-0b1000000000000000000000000000000000000000000000000000000000000000",
                Int(i64::MIN),
            ),
            ("9223372036854775807", Int(i64::MAX)),
            ("-9223372036854775808", Int(i64::MIN)),
            ("0o17", Int(15)),
            ("0755", Int(493)),
            ("1_000", Int(1000)),
            ("0", Int(0)),
            // not octal, so a float, which JSON writes as 8
            ("08", Int(8)),
            // above int64: ParseUint, then a JSON number Kubernetes reads as a float
            ("18446744073709551615", Float(18_446_744_073_709_551_615.0)),
            // floats
            ("0.1", Float(0.1)),
            (".1", Float(0.1)),
            ("-.1", Float(-0.1)),
            ("6.8523e+5", Int(685_230)),
            ("685.230_15e+03", Float(685_230.15)),
            ("685_230.15", Float(685_230.15)),
            ("1.0", Int(1)),
            ("1e3", Int(1000)),
            ("1.", Int(1)),
            (".Inf", Float(f64::INFINITY)),
            ("+.inf", Float(f64::INFINITY)),
            ("-.Inf", Float(f64::NEG_INFINITY)),
            // timestamps: strings in JSON
            ("2015-01-01", s("2015-01-01")),
            (
                "2001-12-14t21:59:43.10-05:00",
                s("2001-12-14t21:59:43.10-05:00"),
            ),
            ("2001-12-14 21:59:43.10", s("2001-12-14 21:59:43.10")),
            ("2015-02-30", s("2015-02-30")),
        ];
        for (text, want) in cases {
            let (out, _) = p(&format!("v: {text}\n"));
            let root = out.documents[0].root.as_ref().unwrap();
            let got = &root.get("v").unwrap().value;
            assert_eq!(got, &want, "`{text}`");
        }
        let (out, _) = p("v: .nan\n");
        let root = out.documents[0].root.as_ref().unwrap();
        assert!(matches!(root.get("v").unwrap().value, Float(f) if f.is_nan()));
        // Quoted or tagged `!!str`: always a string.
        for text in ["\"on\"", "'0755'", "!!str yes"] {
            let (out, _) = p(&format!("v: {text}\n"));
            let root = out.documents[0].root.as_ref().unwrap();
            assert!(root.get("v").unwrap().as_str().is_some(), "{text}");
        }
    }

    #[test]
    fn keys_match_exactly_then_ignoring_case() {
        let (out, _) = p("matchPids: 1\nmatchpids: 2\nother: 3\n");
        let root = out.documents[0].root.as_ref().unwrap();
        assert_eq!(root.get("matchPids").unwrap().as_i64(), Some(1));
        assert_eq!(root.get("matchpids").unwrap().as_i64(), Some(2));
        assert_eq!(root.get("matchPIDs").unwrap().as_i64(), Some(1));
        assert!(root.get("matchArgs").is_none());
    }

    #[test]
    fn a_broken_document_does_not_hide_the_next() {
        let text = "a: 1\nb: \"open\nc: 3\n---\nd: 4\n---\ne: [\nf: 6\n---\ng: 7\n";
        let (out, f) = p(text);
        let roots: Vec<String> = out
            .documents
            .iter()
            .map(|d| {
                d.root
                    .as_ref()
                    .map_or("-".into(), |r| r.to_json().to_string())
            })
            .collect();
        assert_eq!(
            roots,
            [r#"{"a":1}"#, r#"{"d":4}"#, r#"{"e":[]}"#, r#"{"g":7}"#],
            "{:?}",
            out.documents
        );
        let truncated: Vec<bool> = out.documents.iter().map(|d| d.truncated).collect();
        assert_eq!(truncated, [true, false, true, false]);
        // One error per broken document, on the line that broke: the quote, the bracket.
        let at: Vec<(usize, &str)> = out
            .diagnostics
            .iter()
            .map(|d| (f.position(d.span.start).line, d.message.as_str()))
            .collect();
        assert_eq!(at.len(), 2, "{at:?}");
        assert_eq!(at[0].0, 2);
        assert_eq!(at[1].0, 7);
        assert!(
            at[1].1.starts_with("an inline [list] opened on line 7"),
            "{at:?}"
        );
        // The broken document ends where the next one starts.
        assert_eq!(f.slice(out.documents[0].span).lines().last(), Some("c: 3"));
    }

    #[test]
    fn lines_recovery_reads_around_broken_lines() {
        let text = "spec:\n  kprobes:\n  - call: \"security_file_o\n    syscall: false\n  - call: x\n   bad: 1\n    args: [a, b\n  - call: yy\n    syscall: true\n\tz: 1\n  - call: w\n";
        let f = SourceFile::new("t.yaml", text);
        let out = parse_with(&f, Recovery::Lines);
        assert_eq!(out.diagnostics.len(), 1, "{:?}", out.diagnostics);
        assert_eq!(f.position(out.diagnostics[0].span.start).line, 3);
        let doc = &out.documents[0];
        assert!(doc.truncated);
        let root = doc.root.as_ref().unwrap();
        let hooks = root.get("spec").unwrap().get("kprobes").unwrap();
        let calls: Vec<String> = hooks
            .as_seq()
            .unwrap()
            .iter()
            .map(|h| h.get("call").map_or("-".into(), |c| c.scalar_text()))
            .collect();
        // The unclosed quote is read as a plain scalar; the misindented key, the open bracket and
        // the tab are read around.
        assert_eq!(calls, ["security_file_o", "x", "yy", "w"]);
        let first = &hooks.as_seq().unwrap()[0];
        assert_eq!(first.get("syscall").unwrap().as_bool(), Some(false));
        // Spans are the text's.
        let w = hooks.as_seq().unwrap()[3].get("call").unwrap();
        assert_eq!(f.slice(w.span), "w");
        // The same text without recovery inside documents: what came before the error.
        let out = parse(&f);
        let root = out.documents[0].root.as_ref().unwrap();
        assert_eq!(root.to_json().to_string(), r#"{"spec":{"kprobes":[{}]}}"#);
    }

    #[test]
    fn lines_recovery_is_bounded() {
        // Every line broken: each recovery reads the document again, within the budget.
        let text = "a:\n".to_string() + &"  - x\n   y: 1\n".repeat(40_000);
        let f = SourceFile::new("t.yaml", text.as_str());
        let t = std::time::Instant::now();
        let out = parse_with(&f, Recovery::Lines);
        assert!(!out.documents.is_empty());
        assert!(
            t.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            t.elapsed()
        );
        // A line that cannot be blanked further ends recovery.
        let out = parse_with(&SourceFile::new("t.yaml", "a: [\n"), Recovery::Lines);
        assert_eq!(out.diagnostics.len(), 1);
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

    /// A document that is only `---`, only comments, or `null` has a null root (the checker
    /// skips it, as kubectl does), wherever it is in the file.
    #[test]
    fn empty_documents_are_null() {
        for text in [
            "a: 1\n---\n",
            "a: 1\n---\n# nothing here\n",
            "---\na: 1\n---\n---\n",
            "a: 1\n--- ~\n",
            "a: 1\n---\nnull\n...\n",
        ] {
            let (out, _) = p(text);
            assert!(
                out.diagnostics.is_empty(),
                "{text:?}: {:?}",
                out.diagnostics
            );
            let roots: Vec<_> = out
                .documents
                .iter()
                .filter_map(|d| d.root.as_ref())
                .collect();
            assert_eq!(
                roots.iter().filter(|r| r.as_map().is_some()).count(),
                1,
                "{text:?}"
            );
            assert!(
                roots.iter().all(|r| r.as_map().is_some() || r.is_null()),
                "{text:?}"
            );
        }
        let (out, _) = p("# only a comment\n");
        assert!(out
            .documents
            .iter()
            .all(|d| d.root.as_ref().is_none_or(Node::is_null)));
    }

    /// Aliases of a big anchored string are bounded by the bytes they copy, not only by their
    /// number: 1,000 aliases of 1 MiB once took 2 GB, 10,000 took 20 GB.
    #[test]
    fn alias_bombs_are_bounded_by_bytes() {
        let big = "x".repeat(1 << 20);
        for n in [17, 1_000, 10_000] {
            let text = format!("a: &a \"{big}\"\nb: [{}]\n", vec!["*a"; n].join(", "));
            let t = std::time::Instant::now();
            let (out, _) = p(&text);
            assert!(t.elapsed().as_secs() < 2, "{n} aliases: {:?}", t.elapsed());
            assert_eq!(out.diagnostics.len(), 1, "{n}: {:?}", out.diagnostics);
            assert_eq!(out.diagnostics[0].code, Code::Y004, "{n}");
            assert!(out.diagnostics[0].message.contains("16 MiB of text"));
        }
        // 15 aliases copy 15 MiB: under the limit, read whole.
        let text = format!("a: &a \"{big}\"\nb: [{}]\n", vec!["*a"; 15].join(", "));
        let (out, _) = p(&text);
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        let b = out.documents[0].root.as_ref().unwrap().get("b").unwrap();
        assert_eq!(b.as_seq().unwrap().len(), 15);
        // Fan-out: each level 16 aliases of the one before, over a 64 KiB string.
        let mut text = format!("a0: &a0 \"{}\"\n", "y".repeat(1 << 16));
        for i in 1..8 {
            let prev = vec![format!("*a{}", i - 1); 16].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{prev}]\n"));
        }
        let t = std::time::Instant::now();
        let (out, _) = p(&text);
        assert!(t.elapsed().as_secs() < 2, "fan-out: {:?}", t.elapsed());
        assert_eq!(out.diagnostics[0].code, Code::Y004, "{:?}", out.diagnostics);
    }

    /// Without aliases the file is bounded by [`MAX_NODES`] too.
    #[test]
    fn too_many_values_stop_reading() {
        let text = "- a\n".repeat(MAX_NODES + 10);
        let (out, _) = p(&text);
        assert_eq!(out.diagnostics.len(), 1, "{:?}", out.diagnostics);
        assert_eq!(out.diagnostics[0].code, Code::Y006);
        assert!(out.documents.iter().all(|d| d.root.is_none()));
        // Just under the limit: read.
        let text = "- a\n".repeat(MAX_NODES - 10);
        let (out, _) = p(&text);
        assert!(out.diagnostics.is_empty());
    }

    /// saphyr reads a flow collection whole before its first event; past [`MAX_LOOKAHEAD`]
    /// token characters the file is refused instead (a 4 MiB `[a,a,...]` took 750 MB).
    #[test]
    fn flow_collections_are_read_with_bounded_lookahead() {
        for text in [
            format!("[{}]\n", vec!["a"; MAX_LOOKAHEAD + 10].join(",")),
            format!(
                "ok: 1\n---\n- {{{}}}\n",
                vec!["a: b"; MAX_LOOKAHEAD / 2 + 10].join(",")
            ),
        ] {
            let (out, _) = p(&text);
            assert_eq!(
                out.diagnostics.len(),
                1,
                "{:?} {}",
                out.diagnostics,
                &text[..20]
            );
            assert_eq!(out.diagnostics[0].code, Code::Y006);
            assert!(out.documents.last().unwrap().root.is_none());
        }
        // The value of a block key is read as it comes, however long; a JSON document of
        // usual size is read whole.
        let text = format!("v: [{}]\n", vec!["a"; 2 * MAX_LOOKAHEAD].join(","));
        let (out, _) = p(&text);
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        let json = format!(
            "{{\"apiVersion\": \"cilium.io/v1alpha1\", \"spec\": {{\"lists\": [{}]}}}}",
            vec!["{\"name\": \"n\", \"values\": [\"a\", \"b\"]}"; 1000].join(", ")
        );
        let (out, _) = p(&json);
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        // A long plain or quoted string holds no token characters: read whole.
        let text = format!(
            "v: \"{}\"\nw: {}\n",
            "x".repeat(1 << 20),
            "y".repeat(1 << 20)
        );
        let (out, _) = p(&text);
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    }

    /// Duplicate keys are found with a hash of the keys seen: 99,000 keys once took 100 s.
    #[test]
    fn big_mappings_are_linear() {
        let mut text: String = (0..99_000).map(|i| format!("k{i:06}: 1\n")).collect();
        text.push_str("k000007: 2\n");
        let t = std::time::Instant::now();
        let (out, f) = p(&text);
        assert!(t.elapsed().as_secs() < 2, "{:?}", t.elapsed());
        assert_eq!(out.diagnostics.len(), 1);
        assert_eq!(out.diagnostics[0].code, Code::Y002);
        assert_eq!(f.position(out.diagnostics[0].span.start).line, 99_001);
        assert!(out.diagnostics[0].message.contains("(line 8)"));
    }

    /// Spans on one long line cost the distance between them, not the line (a 570 KB line took
    /// 16 s, 73 s with a non-ASCII character in it).
    #[test]
    fn long_lines_are_linear() {
        for first in ["a", "é"] {
            let items = 60_000;
            let text = format!("[{first}, {}, 日本]\n", vec!["b"; items].join(", "));
            let t = std::time::Instant::now();
            let (out, f) = p(&text);
            assert!(t.elapsed().as_secs() < 2, "{first}: {:?}", t.elapsed());
            assert!(out.diagnostics.is_empty());
            let root = out.documents[0].root.as_ref().unwrap();
            let seq = root.as_seq().unwrap();
            assert_eq!(seq.len(), items + 2);
            assert_eq!(f.slice(seq[0].span), first);
            assert_eq!(f.slice(seq[items].span), "b");
            assert_eq!(f.slice(seq[items + 1].span), "日本");
        }
    }

    /// A lone `\r` ends a line for saphyr and for the line index alike: spans are right after it.
    #[test]
    fn lone_carriage_returns_end_lines() {
        for eol in ["\n", "\r\n", "\r"] {
            let text = ["a: 1", "b: é", "c: [x, y]", "a: 2", ""].join(eol);
            let (out, f) = p(&text);
            let root = out.documents[0].root.as_ref().unwrap();
            assert_eq!(f.slice(root.get("b").unwrap().span), "é", "{eol:?}");
            let c = root.get("c").unwrap();
            assert_eq!(f.slice(c.as_seq().unwrap()[1].span), "y", "{eol:?}");
            assert_eq!(f.position(c.span.start).line, 3, "{eol:?}");
            assert_eq!(out.diagnostics.len(), 1, "{eol:?}");
            let dup = &out.diagnostics[0];
            assert_eq!(f.slice(dup.span), "a", "{eol:?}");
            assert_eq!(f.position(dup.span.start).line, 4, "{eol:?}");
        }
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
