//! Where the cursor is in a policy: the features must keep working while the user types, when
//! the YAML does not parse.
//!
//! There is one YAML reader, the validator's (`policyctl_validator::yaml`). [`Outline`] is its
//! tree of the document under the cursor, read with recovery inside the document
//! ([`yaml::Recovery::Lines`]: a broken line elsewhere is read as blank), as mappings,
//! sequences and scalars with byte spans of the text.
//!
//! [`Context::at`] looks at the cursor's own line first (the word, its quote, the `- ` and
//! `key:` before it, inline brackets left open), then writes a probe — a plain scalar no policy
//! has — in place of the word, as what the line says is being typed: a key (`probe:`), a list
//! item, a value after `key: `, an item or key of an inline collection (brackets closed for
//! reading). The document is read with that line, and where the probe lands in the tree gives
//! the path of keys and item indexes from the root ([`Seg`]) and whether a key, a value or a
//! fresh `- ` item is being typed ([`Slot`]). The outline is that tree with offsets mapped back
//! to the text and the probe taken out (or replaced by the word it stands for). A key typed at
//! a column no mapping has is tried at the columns of the lines above.
//! [`Context::hook`] describes the hook the cursor is in (target, `syscall`, arg types by
//! index) from the text, filled in from the validator's models ([`Analysis::current`], then
//! [`Analysis::last_good`]).

use std::sync::Arc;

use policyctl_validator::checks::kernel::ParamShape;
use policyctl_validator::facts::{self, HookKind};
use policyctl_validator::kernel::{syscalls, Func, Kernel};
use policyctl_validator::model;
use policyctl_validator::{yaml, SourceFile, Span};

use crate::analysis::Analysis;

/// One step of a path from the document's root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    /// The value of a mapping key.
    Key(String),
    /// An item of a sequence, from 0.
    Index(usize),
}

/// What is being typed at the cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// A key of the mapping at [`Context::path`].
    Key,
    /// The scalar at [`Context::path`] (the value of its last key, or an item of a flow list).
    Value,
    /// The first thing after a `- `: the item at [`Context::path`] (which ends with an index),
    /// either a scalar or the first key of a mapping; the schema decides.
    Item,
    /// Nowhere to complete (a comment, a block scalar, a document marker).
    None,
}

/// A node of an [`Outline`].
pub type NodeId = usize;

/// A loosely parsed YAML node.
#[derive(Clone, Debug)]
pub struct Node {
    /// What it is.
    pub kind: NodeKind,
    /// The column (in characters) of its first token: a mapping's keys, a sequence's dashes.
    pub col: usize,
    /// From its first token to the end of its last line's content.
    pub span: Span,
}

/// The kinds of [`Node`].
#[derive(Clone, Debug)]
pub enum NodeKind {
    /// A mapping, entries in text order.
    Map(Vec<Entry>),
    /// A sequence.
    Seq(Vec<Item>),
    /// A scalar: its text without quotes.
    Scalar {
        /// The text, unquoted (escapes are not interpreted).
        text: String,
        /// The quote character, when quoted.
        quote: Option<char>,
    },
}

/// A mapping entry.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The key, without quotes.
    pub key: String,
    /// Where the key is written (with its quotes).
    pub key_span: Span,
    /// Its value, when one was written.
    pub value: Option<NodeId>,
}

/// A sequence item.
#[derive(Clone, Debug)]
pub struct Item {
    /// Where its `-` is (for a flow sequence: where the item starts).
    pub dash: usize,
    /// Its value, when one was written.
    pub value: Option<NodeId>,
}

/// One YAML document, loosely parsed (see the module documentation).
#[derive(Clone, Debug, Default)]
pub struct Outline {
    nodes: Vec<Node>,
    /// The root node.
    pub root: Option<NodeId>,
    /// The document's text range (from after its `---` to before the next one).
    pub doc: Span,
    /// The document's position among the file's documents, from 0.
    pub doc_index: usize,
    /// The file uses `\r\n` line ends.
    pub crlf: bool,
    /// Block sequences under a key are written at the key's column (`args:` / `- index: 0`)
    /// rather than indented (the common style of Tetragon's examples); `None` when the
    /// document has no block sequence under a key.
    pub compact_lists: Option<bool>,
}

impl Outline {
    /// The node with this id.
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id)
    }

    /// The value of `key` in the mapping `map`.
    pub fn get(&self, map: NodeId, key: &str) -> Option<NodeId> {
        self.entry(map, key)?.value
    }

    /// The entry of `key` in the mapping `map`.
    pub fn entry(&self, map: NodeId, key: &str) -> Option<&Entry> {
        self.entries(map).iter().find(|e| e.key == key)
    }

    /// The entries of a mapping (none for another node).
    pub fn entries(&self, map: NodeId) -> &[Entry] {
        match self.nodes.get(map).map(|n| &n.kind) {
            Some(NodeKind::Map(entries)) => entries,
            _ => &[],
        }
    }

    /// The items of a sequence (none for another node).
    pub fn items(&self, seq: NodeId) -> &[Item] {
        match self.nodes.get(seq).map(|n| &n.kind) {
            Some(NodeKind::Seq(items)) => items,
            _ => &[],
        }
    }

    /// The text of a scalar.
    pub fn scalar(&self, id: NodeId) -> Option<&str> {
        match &self.nodes.get(id)?.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The scalar value of `key` in the mapping `map`.
    pub fn get_str(&self, map: NodeId, key: &str) -> Option<&str> {
        self.scalar(self.get(map, key)?)
    }

    /// The node at a path from the root.
    pub fn at(&self, path: &[Seg]) -> Option<NodeId> {
        let mut cur = self.root?;
        for seg in path {
            cur = match seg {
                Seg::Key(k) => self.get(cur, k)?,
                Seg::Index(i) => self.items(cur).get(*i)?.value?,
            };
        }
        Some(cur)
    }

    /// The scalar texts of a sequence's items (a block or flow list of strings).
    pub fn strings(&self, seq: NodeId) -> Vec<&str> {
        self.items(seq)
            .iter()
            .filter_map(|i| self.scalar(i.value?))
            .collect()
    }

    /// Read the document of `text` that holds `offset` (see the module documentation).
    pub fn parse(text: &str, offset: usize) -> Outline {
        let offset = offset.min(text.len());
        read(text, document_at(text, offset), None).0
    }
}

/// Where the cursor is (see the module documentation).
#[derive(Clone, Debug)]
pub struct Context {
    /// The cursor, a byte offset into the text (clamped to it, on a character boundary).
    pub offset: usize,
    /// What is being typed.
    pub slot: Slot,
    /// Keys and indexes from the document's root to the node being typed: the mapping for
    /// [`Slot::Key`], the scalar for [`Slot::Value`], the new item for [`Slot::Item`].
    pub path: Vec<Seg>,
    /// The word from its start to the cursor.
    pub prefix: String,
    /// The whole word under the cursor (it may go on after the cursor): what a completion
    /// replaces. Empty at the cursor when nothing is typed yet.
    pub word: Span,
    /// The quote the word is inside, if any.
    pub quote: Option<char>,
    /// The quote is not closed on the word's line: a value put in its place closes it.
    pub closes_quote: bool,
    /// A `:` already follows the word (a key being edited, not typed anew).
    pub has_colon: bool,
    /// The word starts right after a `key:` with no space: a value inserted here needs one.
    pub needs_space: bool,
    /// The column (in characters) where the word starts: a key typed here sits at it.
    pub column: usize,
    /// The cursor is inside a flow collection (`[a, b]`, `{k: v}`).
    pub in_flow: bool,
    /// The document, parsed loosely.
    pub outline: Outline,
    /// The line of the cursor starts here.
    pub line_start: usize,
}

impl Context {
    /// Where `offset` is in `text`. Never fails: offsets past the end are clamped, offsets
    /// inside a character go to its start.
    pub fn at(text: &str, offset: usize) -> Context {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let doc = document_at(text, offset);
        let ls = line_start(text, offset);
        let le = line_end(text, ls);
        let offset = offset.min(le.max(ls));
        let line = &text[ls..le];
        let none = |outline: Outline| Context {
            offset,
            slot: Slot::None,
            path: Vec::new(),
            prefix: String::new(),
            word: Span::new(offset, offset),
            quote: None,
            closes_quote: false,
            has_colon: false,
            needs_space: false,
            column: 0,
            in_flow: false,
            outline,
            line_start: ls,
        };
        let end = comment_start(line).unwrap_or(line.len());
        if is_marker(line) || ls < doc.0 || offset - ls > end {
            return none(read(text, doc, None).0);
        }
        let (mut ws, we) = word_bounds(line, ls, end, offset);
        let mut shape = line_shape(line, ws - ls, end);
        if let Some(after) = shape.keyed {
            // A value's word goes back over `:` (`list:NAME`, `a:b`) to the last space.
            let run = &line[after..ws - ls];
            let start = run.rfind([' ', '\t']).map_or(0, |i| i + 1);
            let piece = &run[start..];
            if !piece.is_empty() && !piece.contains(['"', '\'', '[', '{', ',']) {
                ws = ls + after + start;
                shape = line_shape(line, ws - ls, end);
            }
        }
        let (rws, rwe) = (ws - ls, we - ls);
        let has_colon = {
            let rest = line[rwe..end].trim_start_matches([' ', '\t']);
            let rest = match shape.quote {
                Some((q, _)) => rest
                    .strip_prefix(q)
                    .unwrap_or(rest)
                    .trim_start_matches([' ', '\t']),
                None => rest,
            };
            rest.starts_with(':')
        };
        let quote = shape.quote.map(|(q, _)| q);
        // The rest of the line after the word.
        let after_word = &line[rwe..end];
        let before = &line[..rws];
        let closing = || quote.map(String::from).unwrap_or_default();
        let attempt = |pre: &str, post: String, rest_kept: bool, key_added: bool| Attempt {
            pre: pre.to_string(),
            post,
            rest_kept,
            key_added,
            new_item: false,
        };
        let mut attempts: Vec<Attempt> = Vec::new();
        if !shape.open_flow.is_empty() {
            let kept = quote.is_none() || shape.quote_closed;
            let after = if kept {
                after_word.to_string()
            } else {
                closing()
            };
            // Close what is still open.
            let mut probe_line = format!("{before}{PROBE}{after}");
            let mut open = Vec::new();
            let b = probe_line.as_bytes();
            let mut i = 0;
            while i < b.len() {
                match b[i] {
                    b'"' | b'\'' if opens_quote(b, i) => {
                        i = quoted(b, i).0;
                        continue;
                    }
                    c @ (b'[' | b'{') => open.push(c),
                    b']' | b'}' => {
                        open.pop();
                    }
                    _ => {}
                }
                i += 1;
            }
            for c in open.iter().rev() {
                probe_line.push(if *c == b'[' { ']' } else { '}' });
            }
            let after = probe_line[before.len() + PROBE.len()..].to_string();
            attempts.push(attempt(before, after, kept && open.is_empty(), false));
        } else if shape.alone {
            if quote.is_some() && !shape.dashes {
                // A quoted word alone on its line: a value continued from the line above.
                return none(read(text, doc, None).0);
            }
            if quote.is_some() {
                let after = if shape.quote_closed {
                    after_word.to_string()
                } else {
                    closing()
                };
                attempts.push(attempt(before, after, shape.quote_closed, false));
            } else if has_colon {
                attempts.push(attempt(before, after_word.to_string(), true, false));
            } else {
                attempts.push(attempt(before, ":".into(), false, true));
                if !shape.dashes {
                    // At the column of a list's dashes: a new item of that list.
                    attempts.push(Attempt {
                        new_item: true,
                        ..attempt(&format!("{before}- "), ":".into(), false, true)
                    });
                    // A key at a column no mapping has: the nearest one above.
                    let col = before.chars().count();
                    for c in other_columns(text, doc.0, ls, col) {
                        attempts.push(attempt(&" ".repeat(c), ":".into(), false, true));
                    }
                }
            }
        } else if let Some(after) = shape.keyed {
            // `key:` right before the word gets its space.
            let sep = if after == rws { " " } else { "" };
            let before = format!("{before}{sep}");
            if quote.is_none() || shape.quote_closed {
                attempts.push(attempt(&before, after_word.to_string(), true, false));
            }
            attempts.push(attempt(&before, closing(), false, false));
        } else {
            return none(read(text, doc, None).0);
        }
        for Attempt {
            pre,
            post,
            rest_kept,
            key_added,
            new_item,
        } in attempts
        {
            let probe_line = format!("{pre}{PROBE}{post}");
            let probe = Probe {
                word: Span::new(ws, we),
                at: ls + pre.len(),
                line_end: le,
                read_line_end: ls + probe_line.len(),
                rest_kept,
                key_added,
            };
            let (outline, hit) = read(text, doc, Some((probe, &probe_line, ls)));
            let Some(mut hit) = hit else { continue };
            if new_item {
                // The probe as the first key of a new item: the list is what the key starts.
                if !hit.key || !matches!(hit.path.pop(), Some(Seg::Index(_))) {
                    continue;
                }
            }
            let needs_space = !hit.key && !hit.flow && quote.is_none() && text[..ws].ends_with(':');
            let slot = if hit.block {
                Slot::None
            } else if shape.dashes
                && !new_item
                && shape.open_flow.is_empty()
                && matches!(hit.path.last(), Some(Seg::Index(_)))
            {
                Slot::Item
            } else if hit.key {
                Slot::Key
            } else {
                Slot::Value
            };
            if slot == Slot::None {
                return none(outline);
            }
            return Context {
                offset,
                slot,
                path: hit.path,
                prefix: text[ws..offset.max(ws)].to_string(),
                word: Span::new(ws, we),
                quote,
                closes_quote: quote.is_some() && !shape.quote_closed,
                has_colon,
                needs_space: needs_space && slot == Slot::Value,
                column: line[..rws].chars().count(),
                in_flow: hit.flow,
                outline,
                line_start: ls,
            };
        }
        none(read(text, doc, None).0)
    }

    /// The path as text: `spec.kprobes[1].selectors[0].matchArgs[0].operator`.
    pub fn path_string(&self) -> String {
        path_string(&self.path)
    }

    /// The last key of the path (the key whose value, or list item, is being typed).
    pub fn key(&self) -> Option<&str> {
        self.path.iter().rev().find_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Index(_) => None,
        })
    }

    /// The mapping that holds the cursor: for [`Slot::Key`] the mapping keys are typed in (or
    /// the item for [`Slot::Item`]); for [`Slot::Value`] the mapping of the value's key. `None`
    /// when it has no entry yet.
    pub fn mapping(&self) -> Option<NodeId> {
        match self.slot {
            Slot::Key | Slot::Item => self.outline.at(&self.path),
            Slot::Value | Slot::None => {
                let last_key = self.path.iter().rposition(|s| matches!(s, Seg::Key(_)))?;
                self.outline.at(&self.path[..last_key])
            }
        }
    }

    /// The path of [`Context::mapping`].
    pub fn mapping_path(&self) -> &[Seg] {
        match self.slot {
            Slot::Key | Slot::Item => &self.path,
            Slot::Value | Slot::None => {
                let last_key = self
                    .path
                    .iter()
                    .rposition(|s| matches!(s, Seg::Key(_)))
                    .unwrap_or(0);
                &self.path[..last_key]
            }
        }
    }

    /// Keys already written in [`Context::mapping`], without the key under the cursor.
    pub fn siblings(&self) -> Vec<&str> {
        let Some(map) = self.mapping() else {
            return Vec::new();
        };
        self.outline
            .entries(map)
            .iter()
            .filter(|e| !(e.key_span.start <= self.word.end && self.word.start <= e.key_span.end))
            .map(|e| e.key.as_str())
            .collect()
    }

    /// The scalar value of another key of [`Context::mapping`] (`index` beside an `operator`).
    pub fn sibling(&self, key: &str) -> Option<&str> {
        self.outline.get_str(self.mapping()?, key)
    }

    /// The hook the cursor is in: what the text says, completed from the validator's models of
    /// this text and then of the last text that parsed.
    pub fn hook(&self, a: &Analysis) -> Option<HookText> {
        hook_text(&self.outline, &self.path, self.offset, a)
    }
}

/// A path as text: `spec.kprobes[1].call`.
pub fn path_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => {
                s.push('[');
                s.push_str(&i.to_string());
                s.push(']');
            }
        }
    }
    s
}

/// An arg (`args[]`, `data[]`, `returnArg`) as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArgText {
    /// `index`.
    pub index: Option<i64>,
    /// `type` (None: not written, the CRD default `auto`).
    pub ty: Option<String>,
}

/// What the cursor's hook says: from the text, completed from the models.
#[derive(Clone, Debug)]
pub struct HookText {
    /// Its section.
    pub kind: HookKind,
    /// Its position in its section.
    pub index: usize,
    /// `call`, `hook`, `event` or `path`.
    pub target: Option<String>,
    /// Tracepoint `subsystem`.
    pub subsystem: Option<String>,
    /// `syscall` as written.
    pub syscall: Option<bool>,
    /// `raw` (tracepoints).
    pub raw: bool,
    /// `args`.
    pub args: Vec<ArgText>,
    /// `data`.
    pub data: Vec<ArgText>,
    /// `returnArg`.
    pub return_arg: Option<ArgText>,
    /// The hook's mapping in the outline, when the text has it.
    pub node: Option<NodeId>,
}

impl HookText {
    /// True when `syscall` is true, written or by default (kprobes and fentries only).
    pub fn is_syscall(&self) -> bool {
        matches!(self.kind, HookKind::Kprobe | HookKind::Fentry) && self.syscall.unwrap_or(true)
    }

    /// The type of the arg a filter `index` refers to: `args` by `index` (for tracepoints also
    /// by position), `data` by position for matchData, `returnArg` for matchReturnArgs.
    pub fn filtered_type(&self, filter: &str, index: Option<i64>) -> Option<&str> {
        fn ty(a: &ArgText) -> &str {
            a.ty.as_deref().unwrap_or("auto")
        }
        match filter {
            "matchReturnArgs" => self.return_arg.as_ref().map(ty),
            "matchData" => self.data.get(usize::try_from(index?).ok()?).map(ty),
            _ => {
                let index = index?;
                self.args
                    .iter()
                    .find(|a| a.index == Some(index))
                    .or_else(|| {
                        (self.kind == HookKind::Tracepoint)
                            .then(|| self.args.get(usize::try_from(index).ok()?))
                            .flatten()
                    })
                    .map(ty)
            }
        }
    }
}

fn hook_kind(section: &str) -> Option<HookKind> {
    HookKind::ALL
        .iter()
        .find(|(_, k)| *k == section)
        .map(|(kind, _)| *kind)
}

/// The hook at `path` (`spec.<section>[i]` and below) of an outline: what the text says,
/// completed from the models of the current report (the policy at `offset`) and of the last
/// good one.
pub fn hook_text(outline: &Outline, path: &[Seg], offset: usize, a: &Analysis) -> Option<HookText> {
    let (Some(Seg::Key(spec)), Some(Seg::Key(section)), Some(Seg::Index(index))) =
        (path.first(), path.get(1), path.get(2))
    else {
        return None;
    };
    if spec != "spec" {
        return None;
    }
    let kind = hook_kind(section)?;
    let node = outline.at(&path[..3]);
    let mut hook = HookText {
        kind,
        index: *index,
        target: None,
        subsystem: None,
        syscall: None,
        raw: false,
        args: Vec::new(),
        data: Vec::new(),
        return_arg: None,
        node,
    };
    let mut args_written = false;
    if let Some(n) = node {
        let key = match kind {
            HookKind::Kprobe | HookKind::Fentry => "call",
            HookKind::Lsm => "hook",
            HookKind::Tracepoint => "event",
            HookKind::Uprobe | HookKind::Usdt => "path",
        };
        hook.target = outline
            .get_str(n, key)
            .map(str::to_string)
            .filter(|t| !t.is_empty());
        hook.subsystem = outline
            .get_str(n, "subsystem")
            .map(str::to_string)
            .filter(|t| !t.is_empty());
        hook.syscall = outline.get_str(n, "syscall").and_then(yaml_bool);
        hook.raw = outline
            .get_str(n, "raw")
            .and_then(yaml_bool)
            .unwrap_or(false);
        let arg_list = |key: &str| {
            outline.get(n, key).map(|seq| {
                outline
                    .items(seq)
                    .iter()
                    .filter_map(|i| i.value)
                    .map(|m| arg_text(outline, m))
                    .collect::<Vec<_>>()
            })
        };
        if let Some(args) = arg_list("args") {
            args_written = true;
            hook.args = args;
        }
        hook.data = arg_list("data").unwrap_or_default();
        hook.return_arg = outline.get(n, "returnArg").map(|m| arg_text(outline, m));
    }
    // Fill what the text lacks from the models: this text's, then the last one that parsed.
    for m in model_hooks(a, offset, outline.doc_index, kind, *index) {
        if hook.target.is_none() {
            hook.target = m.target.as_ref().map(|t| t.value.clone());
        }
        if hook.subsystem.is_none() {
            hook.subsystem = m.subsystem.as_ref().map(|t| t.value.clone());
        }
        if hook.syscall.is_none() && node.is_none() {
            hook.syscall = m.syscall.as_ref().map(|s| s.value);
        }
        if !args_written && hook.args.is_empty() {
            hook.args = m.args.iter().map(model_arg).collect();
        }
        if hook.data.is_empty() {
            hook.data = m.data.iter().map(model_arg).collect();
        }
        if hook.return_arg.is_none() {
            hook.return_arg = m.return_arg.as_ref().map(model_arg);
        }
    }
    Some(hook)
}

fn model_arg(a: &model::Arg) -> ArgText {
    ArgText {
        index: a.index.as_ref().map(|i| i.value),
        ty: a.ty.as_ref().map(|t| t.value.clone()),
    }
}

fn arg_text(outline: &Outline, map: NodeId) -> ArgText {
    ArgText {
        index: outline
            .get_str(map, "index")
            .and_then(|i| i.trim().parse().ok()),
        ty: outline
            .get_str(map, "type")
            .map(str::to_string)
            .filter(|t| !t.is_empty()),
    }
}

/// The models of the hook `kind[index]` of the policy at `offset`: from the report of this
/// text (by span), then from the last good report (by document position).
fn model_hooks<'r>(
    a: &Analysis<'r>,
    offset: usize,
    doc_index: usize,
    kind: HookKind,
    index: usize,
) -> Vec<&'r model::Hook> {
    let find = |p: &'r model::Policy| {
        p.spec
            .hooks
            .iter()
            .find(|h| h.kind == kind && h.index == index)
    };
    let mut out = Vec::new();
    if let Some(r) = a.current {
        if let Some(p) = r
            .policies
            .iter()
            .find(|p| p.policy.span.start <= offset && offset <= p.policy.span.end)
        {
            out.extend(find(&p.policy));
        }
    }
    if let Some(r) = a.last_good {
        let p = match r.policies.len() {
            1 => r.policies.first(),
            _ => r.policies.get(doc_index),
        };
        out.extend(p.and_then(|p| find(&p.policy)));
    }
    out
}

/// A YAML 1.2 boolean.
pub fn yaml_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// What the kernels say about the hook.

/// A parameter (or tracepoint field) of a hooked function as one kernel has it.
#[derive(Clone, Debug)]
pub struct ParamInfo {
    /// Its name (may be empty: BTF leaves some unnamed).
    pub name: String,
    /// Its C declaration: `struct file *file`.
    pub c: String,
    /// What it is, for arg types.
    pub shape: ParamShape,
}

/// A hooked function's prototype (or a tracepoint's fields) on one kernel.
#[derive(Clone, Debug)]
pub struct ProtoInfo {
    /// The prototype in C (`int do_mkdirat(int dfd, ...)`), or a tracepoint's field list.
    pub text: String,
    /// Its parameters (a tracepoint's fields, `common_*` included), by index.
    pub params: Vec<ParamInfo>,
    /// The return value, when there is one to read.
    pub ret: Option<(String, ParamShape)>,
    /// Where it comes from: `the syscall table`, `BTF`, `tracefs`...
    pub source: String,
}

/// A syscall name in a `call` (`sys_openat`, `__x64_sys_openat`) → its bare name.
pub fn bare_syscall(name: &str) -> Option<&str> {
    if let Some(bare) = name.strip_prefix("sys_") {
        return Some(bare);
    }
    facts::SYSCALL_ARCH_PREFIXES
        .iter()
        .find_map(|p| name.strip_prefix(p)?.strip_prefix("sys_"))
}

/// The prototype of a syscall from the syscall table, with types read against a kernel's BTF
/// when one is given.
pub fn syscall_proto(bare: &str, kernel: Option<&Kernel>) -> Option<ProtoInfo> {
    let sc = syscalls::lookup(bare)?;
    let params: Vec<ParamInfo> = sc
        .args
        .iter()
        .map(|a| ParamInfo {
            name: a.name.to_string(),
            c: a.c_decl(),
            shape: ParamShape::from_c(a.ctype, kernel),
        })
        .collect();
    Some(ProtoInfo {
        text: sc.c_prototype(),
        params,
        ret: Some(("long".into(), ParamShape::from_c("long", kernel))),
        source: "the syscall table".into(),
    })
}

/// The prototype of a kernel function from BTF.
pub fn btf_proto(f: Func<'_>) -> ProtoInfo {
    let btf = f.func.btf();
    let params = f
        .params()
        .into_iter()
        .map(|(name, id)| ParamInfo {
            name: name.to_string(),
            c: btf.c_decl(id, name),
            shape: ParamShape::from_btf(btf, id),
        })
        .collect();
    let ret_void = btf
        .skip_aliases(f.ret())
        .is_none_or(|t| t.kind == policyctl_validator::btf::Kind::Void);
    ProtoInfo {
        text: f.c_prototype(),
        params,
        ret: (!ret_void).then(|| (btf.c_type(f.ret()), ParamShape::from_btf(btf, f.ret()))),
        source: "BTF".into(),
    }
}

/// What the hook reads on one kernel (or, for syscalls without a kernel, from the syscall
/// table): kprobes and fentries by `call` (and `syscall`), LSM hooks, tracepoints; `None` when
/// the kernel does not have it or it cannot be known.
pub fn hook_proto(hook: &HookText, kernel: Option<&Kernel>) -> Option<ProtoInfo> {
    let target = hook.target.as_deref()?;
    match hook.kind {
        HookKind::Kprobe | HookKind::Fentry => {
            if hook.is_syscall() {
                let bare = bare_syscall(target)?;
                if let Some(k) = kernel {
                    k.syscall(bare)?;
                }
                syscall_proto(bare, kernel)
            } else {
                Some(btf_proto(kernel?.func(target)?))
            }
        }
        HookKind::Lsm => Some(btf_proto(kernel?.lsm_hook(target)?)),
        HookKind::Tracepoint => {
            let sub = hook.subsystem.as_deref()?;
            let k = kernel?;
            let tp = k.tracepoint(sub, target)?;
            let (fields, source) = if hook.raw {
                (tp.raw_args.clone(), "BTF".to_string())
            } else {
                (tp.fields()?, tp.fields_source.clone().unwrap_or_default())
            };
            let params: Vec<ParamInfo> = fields
                .iter()
                .map(|(n, t)| ParamInfo {
                    name: n.clone(),
                    c: format!("{t} {n}").trim_end().to_string(),
                    shape: ParamShape::from_c(t, Some(k)),
                })
                .collect();
            let list: Vec<String> = params
                .iter()
                .enumerate()
                .map(|(i, p)| format!("{i}: {}", p.c))
                .collect();
            Some(ProtoInfo {
                text: format!("{sub}/{target}: {}", list.join(", ")),
                params,
                ret: None,
                source,
            })
        }
        HookKind::Uprobe | HookKind::Usdt => None,
    }
}

/// The hook's prototype on the first kernel that has it (for syscalls without kernels: the
/// syscall table), with that kernel's name.
pub fn first_proto<'k>(
    hook: &HookText,
    kernels: &'k [Arc<Kernel>],
) -> Option<(ProtoInfo, Option<&'k Kernel>)> {
    if kernels.is_empty() {
        return hook_proto(hook, None).map(|p| (p, None));
    }
    kernels
        .iter()
        .find_map(|k| Some((hook_proto(hook, Some(k))?, Some(&**k))))
}

// ---------------------------------------------------------------------------------------------
// Reading the document: the validator's YAML reader, with a probe at the cursor.

/// What the cursor's line becomes before the document is read: a plain scalar no policy has.
const PROBE: &str = "policyctl_cursor_probe";

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// The end of the line that starts at `start`, before its line break.
fn line_end(text: &str, start: usize) -> usize {
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    if end > start && text.as_bytes()[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

/// Is this line a document marker (`---` or `...`, alone or followed by a space)?
fn is_marker(line: &str) -> bool {
    let rest = line
        .strip_prefix("---")
        .or_else(|| line.strip_prefix("..."));
    rest.is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t']))
}

/// Where a `#` comment starts in a line (a `#` at the start or after whitespace, outside
/// quotes).
fn comment_start(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == b'\\' && q == b'"' {
                    i += 1;
                } else if c == q {
                    if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                        i += 1;
                    } else {
                        quote = None;
                    }
                }
            }
            None => {
                if c == b'#' && (i == 0 || is_ws(b[i - 1])) {
                    return Some(i);
                }
                if opens_quote(b, i) {
                    quote = Some(c);
                }
            }
        }
        i += 1;
    }
    None
}

/// Does a quote at `i` open a quoted scalar (at the start, or after a space or an indicator)?
fn opens_quote(b: &[u8], i: usize) -> bool {
    matches!(b[i], b'"' | b'\'')
        && (i == 0 || matches!(b[i - 1], b' ' | b'\t' | b'[' | b'{' | b',' | b':' | b'-'))
}

/// The end of a quoted scalar starting at `i`, and whether its closing quote was found.
fn quoted(b: &[u8], i: usize) -> (usize, bool) {
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() {
        if b[j] == b'\\' && q == b'"' {
            j += 2;
            continue;
        }
        if b[j] == q {
            if q == b'\'' && b.get(j + 1) == Some(&b'\'') {
                j += 2;
                continue;
            }
            return (j + 1, true);
        }
        j += 1;
    }
    (b.len(), false)
}

/// A key starting at `i` of `line[..end]`: (name, key end, index after the colon).
fn find_key(line: &str, i: usize, end: usize) -> Option<(String, usize, usize)> {
    let b = &line.as_bytes()[..end];
    let colon_after = |j: usize| b.get(j) == Some(&b':') && (j + 1 >= b.len() || is_ws(b[j + 1]));
    match b.get(i)? {
        b'"' | b'\'' => {
            let close = quoted(b, i).0;
            let mut j = close;
            while j < b.len() && is_ws(b[j]) {
                j += 1;
            }
            if close > i + 1 && colon_after(j) {
                let inner = &line[i + 1..close - 1];
                Some((inner.to_string(), close, j + 1))
            } else {
                None
            }
        }
        b'[' | b'{' | b'|' | b'>' => None,
        _ => {
            let mut j = i;
            while j < b.len() {
                if colon_after(j) {
                    let name = line[i..j].trim_end_matches([' ', '\t']);
                    return Some((name.to_string(), i + name.len(), j + 1));
                }
                j += 1;
            }
            None
        }
    }
}

/// The word around `c` on a line: bytes that are not whitespace, quotes, flow indicators, nor
/// a `:` that ends a key. Absolute offsets.
fn word_bounds(line: &str, start: usize, end: usize, c: usize) -> (usize, usize) {
    let b = &line.as_bytes()[..end];
    let rel = (c - start).min(b.len());
    let stop = |i: usize| -> bool {
        let x = b[i];
        matches!(
            x,
            b' ' | b'\t' | b'"' | b'\'' | b',' | b'[' | b']' | b'{' | b'}'
        ) || (x == b':' && (i + 1 >= b.len() || is_ws(b[i + 1])))
    };
    let mut s = rel;
    while s > 0 && !stop(s - 1) {
        s -= 1;
    }
    let mut e = rel;
    while e < b.len() && !stop(e) {
        e += 1;
    }
    // Stay on character boundaries (the stop bytes are ASCII, so they are).
    while s < rel && !line.is_char_boundary(s) {
        s += 1;
    }
    while e > rel && !line.is_char_boundary(e) {
        e -= 1;
    }
    (start + s, start + e)
}

/// Strip the quotes of a scalar: (text, quote).
fn unquote(s: &str) -> (&str, Option<char>) {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q) {
            return (inner.strip_suffix(q).unwrap_or(inner), Some(q));
        }
    }
    (s, None)
}

/// One way to write the cursor's line for reading: `{pre}{PROBE}{post}`.
struct Attempt {
    pre: String,
    post: String,
    /// `post` is the text's own rest of the line.
    rest_kept: bool,
    /// The probe is a key whose `:` is not in the text.
    key_added: bool,
    /// The probe is the first key of a new list item (`- probe:`) the text does not have.
    new_item: bool,
}

/// What the text before the cursor's word says about it, on its own line.
struct LineShape {
    /// The quote the word is in, and where that quote is (absolute).
    quote: Option<(char, usize)>,
    /// The quote is closed after the word, on the line.
    quote_closed: bool,
    /// Brackets of inline collections still open before the word, in order.
    open_flow: Vec<u8>,
    /// One or more `- ` come before the word, and nothing else but indentation.
    dashes: bool,
    /// Nothing but indentation, dashes and the word's opening quote before the word.
    alone: bool,
    /// A `key:` comes before the word (its value is typed): where its `:` ends, on the line.
    keyed: Option<usize>,
}

/// The shape of `line[..end]` (its comment cut) before the word that starts at `word_start`.
fn line_shape(line: &str, word_start: usize, end: usize) -> LineShape {
    let b = &line.as_bytes()[..end];
    let before = &b[..word_start];
    // Quotes and brackets before the word.
    let mut quote = None;
    let mut open_flow = Vec::new();
    let mut i = 0;
    while i < before.len() {
        match before[i] {
            b'"' | b'\'' if opens_quote(before, i) => {
                let (e, closed) = quoted(before, i);
                if !closed {
                    quote = Some((before[i] as char, i));
                    break;
                }
                i = e;
                continue;
            }
            c @ (b'[' | b'{') => open_flow.push(c),
            b']' | b'}' => {
                open_flow.pop();
            }
            _ => {}
        }
        i += 1;
    }
    let quote_closed = quote.is_some_and(|(_, at)| quoted(b, at).1);
    let mut i = 0;
    while i < before.len() && is_ws(before[i]) {
        i += 1;
    }
    let mut dashes = false;
    while i < before.len() && before[i] == b'-' && (i + 1 == before.len() || is_ws(before[i + 1])) {
        dashes = true;
        i += 1;
        while i < before.len() && is_ws(before[i]) {
            i += 1;
        }
    }
    let rest = &before[i..];
    let alone = rest.is_empty() || (quote.is_some_and(|(_, at)| at == i) && rest.len() == 1);
    let keyed = if open_flow.is_empty() {
        find_key(&line[..word_start], i, word_start).map(|(_, _, after)| after)
    } else {
        None
    };
    LineShape {
        quote,
        quote_closed,
        open_flow,
        dashes,
        alone,
        keyed,
    }
}

/// How the cursor's line was rewritten: offsets of the text read map back to the text's.
#[derive(Clone, Copy, Debug)]
struct Probe {
    /// The word's start and end in the text.
    word: Span,
    /// Where the probe starts in the text read.
    at: usize,
    /// The end of the cursor's line in the text, and in the text read.
    line_end: usize,
    read_line_end: usize,
    /// After the probe, the line read is the text's own (else written for reading).
    rest_kept: bool,
    /// The probe was written as a key, with a `:` the text does not have: the outline leaves
    /// that entry out.
    key_added: bool,
}

impl Probe {
    /// An offset of the text read as an offset of the text.
    fn map(&self, p: usize) -> usize {
        let probe_end = self.at + PROBE.len();
        if p < self.at {
            p.min(self.word.start)
        } else if p <= probe_end {
            self.word.start + (p - self.at).min(self.word.len())
        } else if p <= self.read_line_end {
            if self.rest_kept {
                p - probe_end + self.word.end
            } else {
                self.line_end
            }
        } else {
            p - self.read_line_end + self.line_end
        }
    }

    fn contains(&self, read: Span) -> bool {
        read.start <= self.at && self.at + PROBE.len() <= read.end
    }
}

/// Where the probe was found in the tree read.
#[derive(Clone, Debug)]
struct Hit {
    path: Vec<Seg>,
    /// As a mapping key (of the mapping at `path`), else as a scalar (at `path`).
    key: bool,
    /// In an inline collection.
    flow: bool,
    /// In a block scalar (`|`, `>`): nothing to complete.
    block: bool,
}

/// Converts the validator's tree into an [`Outline`], mapping offsets back to the text and
/// taking the probe out.
struct Convert<'a> {
    /// The whole text.
    text: &'a str,
    /// The text read (the document only), and where it starts in the text.
    read: &'a str,
    base: usize,
    probe: Option<Probe>,
    hit: Option<Hit>,
    out: Outline,
    /// (compact, indented) block lists under a key.
    styles: (usize, usize),
}

impl Convert<'_> {
    /// An offset of the tree (relative to the text read) in the text.
    fn map(&self, p: usize) -> usize {
        let abs = self.base + p;
        let m = self.probe.map_or(abs, |pr| pr.map(abs));
        m.min(self.text.len())
    }

    fn span(&self, s: Span) -> Span {
        let (a, b) = (self.map(s.start), self.map(s.end));
        Span::new(a, b.max(a))
    }

    fn has_probe(&self, s: Span) -> bool {
        self.probe
            .is_some_and(|p| p.contains(Span::new(self.base + s.start, self.base + s.end)))
    }

    fn col(&self, at: usize) -> usize {
        let at = at.min(self.text.len());
        self.text[line_start(self.text, at)..at].chars().count()
    }

    /// The `-` before a block list item starting at `at` (in the text), when on its line.
    fn dash_before(&self, at: usize) -> Option<usize> {
        let b = self.text.as_bytes();
        let mut i = at.min(b.len());
        while i > 0 && is_ws(b[i - 1]) {
            i -= 1;
        }
        (i > 0 && b[i - 1] == b'-').then(|| i - 1)
    }

    /// Is the scalar at `at` (in the text read) a block scalar (`|` or `>` before it)?
    fn block_scalar(&self, at: usize) -> bool {
        let before = self.read[..at.min(self.read.len())].trim_end();
        let last = before.rsplit([' ', '\t', '\n', '\r']).next().unwrap_or("");
        last.starts_with(['|', '>'])
    }

    fn push(&mut self, kind: NodeKind, col: usize, span: Span) -> NodeId {
        self.out.nodes.push(Node { kind, col, span });
        self.out.nodes.len() - 1
    }

    fn node(&mut self, n: &yaml::Node, path: &mut Vec<Seg>, flow: bool) -> Option<NodeId> {
        let span = self.span(n.span);
        match &n.value {
            yaml::Value::Map(entries) => {
                let is_flow = self.read.as_bytes().get(n.span.start) == Some(&b'{');
                let flow = flow || is_flow;
                let mut out = Vec::with_capacity(entries.len());
                for e in entries {
                    let key_span = self.span(e.key.span);
                    let mut key = match &e.key.value {
                        yaml::Value::Str { text, .. } => text.clone(),
                        _ => unquote(&self.text[key_span.start..key_span.end])
                            .0
                            .to_string(),
                    };
                    if self.has_probe(e.key.span) {
                        self.hit = Some(Hit {
                            path: path.clone(),
                            key: true,
                            flow,
                            block: false,
                        });
                        if self.probe.is_some_and(|p| p.key_added) {
                            continue;
                        }
                        key = unquote(&self.text[key_span.start..key_span.end])
                            .0
                            .to_string();
                    }
                    path.push(Seg::Key(key.clone()));
                    let value = self.node(&e.value, path, flow);
                    path.pop();
                    if let Some(v) = value {
                        let v = &self.out.nodes[v];
                        if let NodeKind::Seq(_) = v.kind {
                            if !self.text[v.span.start..].starts_with('[') {
                                let key_col = self.col(key_span.start);
                                if key_col == v.col {
                                    self.styles.0 += 1;
                                } else {
                                    self.styles.1 += 1;
                                }
                            }
                        }
                    }
                    out.push(Entry {
                        key,
                        key_span,
                        value,
                    });
                }
                if out.is_empty() && !entries.is_empty() {
                    // Only the probe: as if nothing were written.
                    return None;
                }
                let start = out.first().map_or(span.start, |e| e.key_span.start);
                let end = out
                    .iter()
                    .map(|e| {
                        e.value
                            .and_then(|v| self.out.nodes.get(v))
                            .map_or(e.key_span.end, |v| v.span.end)
                    })
                    .max()
                    .unwrap_or(span.end)
                    .max(start);
                let start = if is_flow { span.start } else { start };
                let end = if is_flow { span.end.max(end) } else { end };
                let col = self.col(start);
                Some(self.push(NodeKind::Map(out), col, Span::new(start, end)))
            }
            yaml::Value::Seq(items) => {
                let is_flow = self.read.as_bytes().get(n.span.start) == Some(&b'[');
                let flow = flow || is_flow;
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    let value = self.node(item, path, flow);
                    path.pop();
                    let at = self.map(item.span.start);
                    let dash = if is_flow {
                        at
                    } else {
                        self.dash_before(at).unwrap_or(at)
                    };
                    out.push(Item { dash, value });
                }
                let start = if is_flow {
                    span.start
                } else {
                    out.first()
                        .map_or(span.start, |i| i.dash)
                        .min(self.dash_before(span.start).unwrap_or(span.start))
                };
                let end = span.end.max(start);
                let col = self.col(start);
                Some(self.push(NodeKind::Seq(out), col, Span::new(start, end)))
            }
            value => {
                if self.has_probe(n.span) {
                    let block = self.block_scalar(n.span.start);
                    self.hit = Some(Hit {
                        path: path.clone(),
                        key: false,
                        flow,
                        block,
                    });
                }
                if span.is_empty() && matches!(value, yaml::Value::Null) {
                    return None;
                }
                let raw = &self.text[span.start..span.end];
                let (text, quote) = match value {
                    yaml::Value::Str { text, plain: false } if !self.has_probe(n.span) => (
                        text.clone(),
                        raw.chars().next().filter(|c| matches!(c, '"' | '\'')),
                    ),
                    _ => {
                        let (t, q) = unquote(raw);
                        (t.to_string(), q)
                    }
                };
                if self.has_probe(n.span) && text.is_empty() {
                    return None;
                }
                let col = self.col(span.start);
                Some(self.push(NodeKind::Scalar { text, quote }, col, span))
            }
        }
    }
}

/// The document of `text` that holds `offset`: (start, end, its position among the documents
/// that have content).
fn document_at(text: &str, offset: usize) -> (usize, usize, usize) {
    let mut doc_start = 0;
    let mut doc_end = text.len();
    let mut doc_index = 0;
    let mut seen_content = false;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let next = pos + line.len();
        if is_marker(body) {
            if pos > offset {
                doc_end = pos;
                break;
            }
            if seen_content {
                doc_index += 1;
            }
            seen_content = false;
            doc_start = next;
        } else if !body.trim().is_empty() && !body.trim_start().starts_with('#') {
            seen_content = true;
        }
        pos = next;
    }
    (
        doc_start.min(text.len()),
        doc_end.max(doc_start).min(text.len()),
        doc_index,
    )
}

/// Read the document `text[start..end]` (with the cursor's line replaced by `line` when
/// probing) into an outline, and where the probe is in it.
fn read(
    text: &str,
    (start, end, index): (usize, usize, usize),
    probe: Option<(Probe, &str, usize)>,
) -> (Outline, Option<Hit>) {
    let read_text: std::borrow::Cow<str> = match probe {
        Some((_, line, ls)) => {
            let le = line_end(text, ls);
            let mut s = String::with_capacity(end - start + line.len() + 8);
            s.push_str(&text[start..ls]);
            s.push_str(line);
            s.push_str(&text[le..end]);
            s.into()
        }
        None => text[start..end].into(),
    };
    let parsed = yaml::parse_with(
        &SourceFile::new("", read_text.as_ref()),
        yaml::Recovery::Lines,
    );
    let mut c = Convert {
        text,
        read: &read_text,
        base: start,
        probe: probe.map(|(p, _, _)| p),
        hit: None,
        out: Outline {
            doc: Span::new(start, end),
            doc_index: index,
            crlf: text.contains("\r\n"),
            ..Outline::default()
        },
        styles: (0, 0),
    };
    for doc in &parsed.documents {
        if let Some(root) = &doc.root {
            if c.out.root.is_some() && c.hit.is_some() {
                break;
            }
            let mut path = Vec::new();
            let id = c.node(root, &mut path, false);
            if c.out.root.is_none() {
                c.out.root = id;
            }
        }
    }
    let (compact, indented) = c.styles;
    c.out.compact_lists = (compact + indented > 0).then_some(compact >= indented);
    (c.out, c.hit)
}

/// The columns where a key typed at `col` may belong instead: the indentation of the lines
/// above (nearest first, each once, below `col`), at most three.
fn other_columns(text: &str, doc_start: usize, ls: usize, col: usize) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for line in text[doc_start..ls].lines().rev().take(200) {
        let t = line.trim_start_matches([' ', '\t']);
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let mut indent = line.len() - t.len();
        // A key after dashes sits after them.
        let mut rest = t;
        while let Some(r) = rest.strip_prefix("- ") {
            indent += 2 + (r.len() - r.trim_start_matches(' ').len());
            rest = r.trim_start_matches(' ');
        }
        for c in [line.len() - t.len(), indent] {
            if c < col && !out.contains(&c) {
                out.push(c);
            }
        }
        if out.len() >= 3 || out.contains(&0) {
            break;
        }
    }
    out.truncate(3);
    out
}

/// Fixtures shared by the features' unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::path::PathBuf;
    use std::sync::{Arc, OnceLock};

    use policyctl_validator::kernel::{Kernel, KernelSet, KernelSpec};
    use policyctl_validator::{check_source, check_source_with, FileReport, SourceFile};

    use crate::analysis::Analysis;
    use crate::convert::LineIndex;

    /// The fixture kernels' names, oldest first.
    pub const NAMES: [&str; 3] = ["6.1.0-56-amd64", "6.12.117+deb12-amd64", "6.18.44-fc-v769"];

    /// A file of the repository's `testdata`.
    pub fn testdata(path: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata")
            .join(path)
    }

    /// The three fixture kernels, loaded once per test binary.
    pub fn kernels() -> &'static [Arc<Kernel>] {
        static K: OnceLock<Vec<Arc<Kernel>>> = OnceLock::new();
        K.get_or_init(|| {
            let specs: Vec<KernelSpec> = NAMES
                .iter()
                .map(|n| KernelSpec {
                    btf: testdata(&format!("btf/{n}.btf.zst")),
                    ..KernelSpec::default()
                })
                .collect();
            Kernel::load_all(&specs)
                .into_iter()
                .map(|k| Arc::new(k.expect("fixture kernel loads")))
                .collect()
        })
    }

    /// Split a text marked with `‸` into the text and the marker's offset.
    pub fn marked(text: &str) -> (String, usize) {
        let at = text.find('‸').expect("a cursor marker");
        (text.replacen('‸', "", 1), at)
    }

    /// Run `f` on an analysis of `text`: `current` is the report of `text` (kernel checks too
    /// when `checked`), `last_good` the report of `good` when given.
    pub fn with<R>(
        text: &str,
        kernels: &[Arc<Kernel>],
        checked: bool,
        good: Option<&str>,
        f: impl FnOnce(&Analysis) -> R,
    ) -> R {
        let source = SourceFile::new("test.yaml", text);
        let current: FileReport = if checked {
            check_source_with(source, kernels)
        } else {
            check_source(source)
        };
        let last_good = good.map(|g| check_source(SourceFile::new("test.yaml", g)));
        let lines = LineIndex::new(text);
        let kernels: KernelSet = kernels.iter().cloned().collect();
        f(&Analysis {
            text,
            lines: &lines,
            current: Some(&current),
            last_good: last_good.as_ref(),
            kernels: &kernels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The context at the `‸` of a text (the marker is removed).
    fn ctx(marked: &str) -> (String, Context) {
        let at = marked.find('‸').expect("a cursor marker");
        let text = marked.replacen('‸', "", 1);
        let c = Context::at(&text, at);
        (text, c)
    }

    fn describe(marked: &str) -> String {
        let (text, c) = ctx(marked);
        format!(
            "{:?} {} prefix={:?} word={:?} quote={:?} colon={} col={} siblings={:?}",
            c.slot,
            c.path_string(),
            c.prefix,
            &text[c.word.start..c.word.end],
            c.quote,
            c.has_colon,
            c.column,
            c.siblings()
        )
    }

    const POLICY: &str = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: \"x\"
spec:
  kprobes:
  - call: \"security_file_permission\"
    syscall: false
    args:
    - index: 0
      type: \"file\"
    - index: 1
      type: \"int\"
  - call: \"do_mkdirat\"
    syscall: false
    args:
      - index: 1
        type: \"filename\"
    selectors:
    - matchArgs:
      - index: 1
        operator: \"Prefix\"
        values:
        - \"/etc/\"
      matchActions:
      - action: Post
";

    /// Put the marker at the `n`th occurrence of `needle`, shifted by `shift` bytes.
    fn mark(text: &str, needle: &str, shift: usize) -> String {
        let at = text.find(needle).expect("needle") + shift;
        format!("{}‸{}", &text[..at], &text[at..])
    }

    #[test]
    fn values_in_a_complete_policy() {
        let m = mark(POLICY, "\"Prefix\"", 3);
        assert_eq!(
            describe(&m),
            "Value spec.kprobes[1].selectors[0].matchArgs[0].operator prefix=\"Pr\" word=\"Prefix\" quote=Some('\"') colon=false col=19 siblings=[\"index\", \"operator\", \"values\"]"
        );
        let m = mark(POLICY, "Post", 2);
        assert_eq!(
            describe(&m),
            "Value spec.kprobes[1].selectors[0].matchActions[0].action prefix=\"Po\" word=\"Post\" quote=None colon=false col=16 siblings=[\"action\"]"
        );
        let m = mark(POLICY, "\"/etc/\"", 1);
        assert_eq!(
            describe(&m),
            "Item spec.kprobes[1].selectors[0].matchArgs[0].values[0] prefix=\"\" word=\"/etc/\" quote=Some('\"') colon=false col=11 siblings=[]"
        );
        let m = mark(POLICY, "do_mkdirat", 5);
        assert!(describe(&m)
            .starts_with("Value spec.kprobes[1].call prefix=\"do_mk\" word=\"do_mkdirat\""));
    }

    #[test]
    fn keys_in_a_complete_policy() {
        let m = mark(POLICY, "operator:", 4);
        assert_eq!(
            describe(&m),
            "Key spec.kprobes[1].selectors[0].matchArgs[0] prefix=\"oper\" word=\"operator\" quote=None colon=true col=8 siblings=[\"index\", \"values\"]"
        );
        // `- matchArgs:`: the item's first key.
        let m = mark(POLICY, "matchArgs", 5);
        assert_eq!(
            describe(&m),
            "Item spec.kprobes[1].selectors[0] prefix=\"match\" word=\"matchArgs\" quote=None colon=true col=6 siblings=[\"matchActions\"]"
        );
        let m = mark(POLICY, "metadata", 0);
        assert_eq!(
            describe(&m),
            "Key  prefix=\"\" word=\"metadata\" quote=None colon=true col=0 siblings=[\"apiVersion\", \"kind\", \"spec\"]"
        );
    }

    #[test]
    fn a_new_line_under_a_mapping() {
        // After `syscall: false` of the first hook, at the hook's column.
        let m = POLICY.replacen("    syscall: false\n", "    syscall: false\n    ‸\n", 1);
        assert_eq!(
            describe(&m),
            "Key spec.kprobes[0] prefix=\"\" word=\"\" quote=None colon=false col=4 siblings=[\"call\", \"syscall\", \"args\"]"
        );
        // Half a key, no colon.
        let m = POLICY.replacen("    syscall: false\n", "    syscall: false\n    sel‸\n", 1);
        assert_eq!(
            describe(&m),
            "Key spec.kprobes[0] prefix=\"sel\" word=\"sel\" quote=None colon=false col=4 siblings=[\"call\", \"syscall\", \"args\"]"
        );
        // Deeper than the last key, which has no value yet: the first key of its value.
        let m = "spec:\n  kprobes:\n  - call: x\n    selectors:\n      ‸\n";
        assert_eq!(
            describe(m),
            "Key spec.kprobes[0].selectors prefix=\"\" word=\"\" quote=None colon=false col=6 siblings=[]"
        );
        // At the column of the items of a list: a sibling of the list's key (compact style).
        let m = "spec:\n  kprobes:\n  - call: x\n    args:\n    - index: 0\n    ‸\n";
        assert_eq!(
            describe(m),
            "Key spec.kprobes[0] prefix=\"\" word=\"\" quote=None colon=false col=4 siblings=[\"call\", \"args\"]"
        );
        // At the column of an item's keys.
        let m = "spec:\n  kprobes:\n  - call: x\n    args:\n    - index: 0\n      ‸\n";
        assert_eq!(
            describe(m),
            "Key spec.kprobes[0].args[0] prefix=\"\" word=\"\" quote=None colon=false col=6 siblings=[\"index\"]"
        );
    }

    #[test]
    fn a_new_item_line() {
        let m = "spec:\n  kprobes:\n  - call: x\n    selectors:\n    - matchArgs:\n      - index: 0\n      - ‸\n";
        assert_eq!(
            describe(m),
            "Item spec.kprobes[0].selectors[0].matchArgs[1] prefix=\"\" word=\"\" quote=None colon=false col=8 siblings=[]"
        );
        let m = "spec:\n  kprobes:\n  - call: x\n    selectors:\n    - matchArgs:\n      - operator: ‸\n";
        assert_eq!(
            describe(m),
            "Value spec.kprobes[0].selectors[0].matchArgs[0].operator prefix=\"\" word=\"\" quote=None colon=false col=18 siblings=[\"operator\"]"
        );
        // The item's later keys count as siblings.
        let m = "x:\n- ‸\n  index: 1\n  type: int\n";
        assert_eq!(
            describe(m),
            "Item x[0] prefix=\"\" word=\"\" quote=None colon=false col=2 siblings=[\"index\", \"type\"]"
        );
    }

    #[test]
    fn broken_documents() {
        // The document does not parse (a tab, an unclosed quote elsewhere): the lines still do.
        let m = "spec:\n  kprobes:\n  - call: \"unclosed\n\tbad: [\n  - call: do_m‸\n";
        assert_eq!(
            describe(m),
            "Value spec.kprobes[1].call prefix=\"do_m\" word=\"do_m\" quote=None colon=false col=10 siblings=[\"call\"]"
        );
        // Missing colon on the line before.
        let m = "spec:\n  kprobes:\n  - call do_mkdirat\n    syscall: ‸";
        assert_eq!(
            describe(m),
            "Value spec.kprobes[0].syscall prefix=\"\" word=\"\" quote=None colon=false col=13 siblings=[\"syscall\"]"
        );
        // `key:` with no space yet.
        let (_, c) = ctx("spec:\n  kprobes:\n  - call:‸");
        assert_eq!(
            (c.slot, c.path_string(), c.needs_space),
            (Slot::Value, "spec.kprobes[0].call".into(), true)
        );
        // In a comment, in a block scalar: nothing.
        assert_eq!(ctx("spec: # kpro‸").1.slot, Slot::None);
        assert_eq!(
            ctx("spec:\n  kprobes:\n  - message: |\n      some te‸xt\n")
                .1
                .slot,
            Slot::None
        );
        // A key after a block scalar is back in the mapping.
        let m = "spec:\n  kprobes:\n  - message: |\n      text: not a key\n    ‸";
        assert_eq!(
            describe(m),
            "Key spec.kprobes[0] prefix=\"\" word=\"\" quote=None colon=false col=4 siblings=[\"message\"]"
        );
    }

    #[test]
    fn tabs_crlf_and_unicode() {
        let m = "spec:\r\n  kprobes:\r\n  - call: \"do_‸\"\r\n    syscall: false\r\n";
        assert_eq!(
            describe(m),
            "Value spec.kprobes[0].call prefix=\"do_\" word=\"do_\" quote=Some('\"') colon=false col=11 siblings=[\"call\", \"syscall\"]"
        );
        let (text, c) = ctx("spec:\r\n  kprobes:\r\n  - call: x\r\n    ‸\r\n");
        assert_eq!(
            (c.slot, c.path_string()),
            (Slot::Key, "spec.kprobes[0]".into())
        );
        assert!(Outline::parse(&text, 0).crlf);
        // Unicode before the cursor: columns count characters.
        let m = "metadata:\n  name: \"é\"\nspec:\n  kprobes:\n  - message: \"😀 ok\"\n    cal‸";
        assert_eq!(
            describe(m),
            "Key spec.kprobes[0] prefix=\"cal\" word=\"cal\" quote=None colon=false col=4 siblings=[\"message\"]"
        );
        let m = "spec:\n  kprobes:\n  - message: \"é‸\"\n";
        let (_, c) = ctx(m);
        assert_eq!(c.slot, Slot::Value);
        assert_eq!(c.prefix, "é");
        // A tab in the indentation counts as one column.
        let m = "spec:\n\tkprobes:\n\t- call: ‸\n";
        assert_eq!(ctx(m).1.path_string(), "spec.kprobes[0].call");
    }

    #[test]
    fn flow_collections() {
        let m = "spec:\n  kprobes:\n  - call: x\n    tags: [\"a\", \"b‸\"]\n";
        assert_eq!(
            describe(m),
            "Value spec.kprobes[0].tags[1] prefix=\"b\" word=\"b\" quote=Some('\"') colon=false col=17 siblings=[\"call\", \"tags\"]"
        );
        let m = "x:\n  matchCapabilities: [{operator: In, values: [CAP_SYS_ADMIN, CAP_N‸]}]\n";
        assert_eq!(ctx(m).1.path_string(), "x.matchCapabilities[0].values[1]");
        let m = "x:\n  matchBinaries: [{operator: In, val‸";
        let (_, c) = ctx(m);
        assert_eq!(
            (c.slot, c.path_string()),
            (Slot::Key, "x.matchBinaries[0]".into())
        );
        // Outline of flow values.
        let text = "tags: [\"a\", b]\nm: {k: v, n: [1, 2]}\n";
        let o = Outline::parse(text, 0);
        let root = o.root.unwrap();
        assert_eq!(o.strings(o.get(root, "tags").unwrap()), ["a", "b"]);
        let m = o.get(root, "m").unwrap();
        assert_eq!(o.get_str(m, "k"), Some("v"));
        assert_eq!(o.strings(o.get(m, "n").unwrap()), ["1", "2"]);
    }

    #[test]
    fn documents() {
        let text = "a: 1\n---\nb: 2\n---\n# comment\nspec:\n  kprobes:\n  - call: x\n";
        let at = text.find("call").unwrap();
        let c = Context::at(text, at);
        assert_eq!(c.outline.doc_index, 2);
        assert_eq!(c.path_string(), "spec.kprobes[0]");
        assert_eq!(Context::at(text, 0).outline.doc_index, 0);
        let c = Context::at(text, text.find("b:").unwrap());
        assert_eq!((c.outline.doc_index, c.siblings()), (1, vec![]));
        // On a marker: nothing.
        assert_eq!(Context::at(text, 6).slot, Slot::None);
        // A leading marker does not count as a document.
        let c = Context::at("---\nspec:\n  ", 12);
        assert_eq!((c.outline.doc_index, c.path_string()), (0, "spec".into()));
    }

    #[test]
    fn list_styles() {
        assert_eq!(Outline::parse(POLICY, 0).compact_lists, Some(true));
        let indented = "a:\n  - x\nb:\n  - y\n";
        assert_eq!(Outline::parse(indented, 0).compact_lists, Some(false));
        assert_eq!(Outline::parse("a: 1\n", 0).compact_lists, None);
    }

    #[test]
    fn any_offset() {
        let text = "metadata:\n  name: \"é😀\"\r\nspec:\n\t- [a, {b: \"c\n  - call: ‸x\n---\n...\n";
        for doc in [
            text,
            POLICY,
            "",
            "-",
            "- - -",
            "a: [",
            "{",
            "\"",
            ":",
            "a:\n  - |\n",
        ] {
            for i in 0..=doc.len() + 2 {
                let c = Context::at(doc, i);
                assert!(c.word.start <= c.word.end && c.word.end <= doc.len());
                assert!(doc.is_char_boundary(c.word.start) && doc.is_char_boundary(c.word.end));
                let _ = c.siblings();
                let _ = c.mapping();
            }
        }
    }

    /// Mutated real policies (bytes cut, repeated, replaced by YAML's special characters) at
    /// random offsets: context, completion, hover and code actions never panic.
    #[test]
    fn mutations_never_panic() {
        let mut texts = Vec::new();
        for dir in ["policies/valid", "checks/K011", "checks/P040"] {
            for e in std::fs::read_dir(fixtures::testdata(dir))
                .unwrap()
                .flatten()
            {
                texts.push(std::fs::read_to_string(e.path()).unwrap());
            }
        }
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n.max(1) as u64) as usize
        };
        let specials = [
            "-", ":", " ", "\t", "\"", "'", "[", "{", "#", "\n", "é", "😀", "\r\n", "- ", ": ", "|",
        ];
        let uri: tower_lsp_server::ls_types::Uri = "file:///x.yaml".parse().unwrap();
        for round in 0..300 {
            let base = &texts[round % texts.len()];
            let mut t = base.clone();
            for _ in 0..1 + next(4) {
                let mut at = next(t.len() + 1);
                while !t.is_char_boundary(at) {
                    at -= 1;
                }
                match next(3) {
                    0 => {
                        let mut end = (at + next(12)).min(t.len());
                        while !t.is_char_boundary(end) {
                            end -= 1;
                        }
                        t.replace_range(at..end, "");
                    }
                    1 => t.insert_str(at, specials[next(specials.len())]),
                    _ => {
                        let mut end = (at + next(30)).min(t.len());
                        while !t.is_char_boundary(end) {
                            end -= 1;
                        }
                        let piece = t[at..end].to_string();
                        t.insert_str(at, &piece);
                    }
                }
            }
            let kernels: &[Arc<Kernel>] = if round % 10 == 0 {
                fixtures::kernels()
            } else {
                &[]
            };
            fixtures::with(&t, kernels, false, Some(base), |a| {
                for _ in 0..20 {
                    let at = next(t.len() + 3);
                    let c = Context::at(&t, at);
                    let _ = (c.siblings(), c.hook(a), c.mapping());
                    let _ = crate::completion::complete(a, at);
                    let _ = crate::hover::hover(a, at);
                    let _ = crate::actions::code_actions(&uri, a, at, at + next(40));
                }
            });
        }
    }

    #[test]
    fn hooks_from_the_text() {
        let report = policyctl_validator::check_source(policyctl_validator::SourceFile::new(
            "p.yaml", POLICY,
        ));
        let lines = crate::convert::LineIndex::new(POLICY);
        let a = Analysis {
            text: POLICY,
            lines: &lines,
            current: Some(&report),
            last_good: None,
            kernels: &policyctl_validator::kernel::KernelSet::new(),
        };
        let (_, c) = ctx(&mark(POLICY, "\"Prefix\"", 1));
        let h = c.hook(&a).unwrap();
        assert_eq!(h.kind, HookKind::Kprobe);
        assert_eq!(h.index, 1);
        assert_eq!(h.target.as_deref(), Some("do_mkdirat"));
        assert_eq!(h.syscall, Some(false));
        assert_eq!(
            h.args,
            [ArgText {
                index: Some(1),
                ty: Some("filename".into())
            }]
        );
        assert_eq!(h.filtered_type("matchArgs", Some(1)), Some("filename"));
        // Broken text: the target comes from the last good report.
        let broken = "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: x\nspec:\n  kprobes:\n  - call: \"do_mkdirat\n    selectors:\n    - matchArgs:\n      - index: 1\n        operator: ‸\n";
        let (text, c) = ctx(broken);
        let lines = crate::convert::LineIndex::new(&text);
        let a = Analysis {
            text: &text,
            lines: &lines,
            current: None,
            last_good: Some(&report),
            kernels: &policyctl_validator::kernel::KernelSet::new(),
        };
        let h = c.hook(&a).unwrap();
        // The text's `call` is cut at the unclosed quote but still read.
        assert_eq!(h.target.as_deref(), Some("do_mkdirat"));
        assert_eq!(h.index, 0);
        assert_eq!(
            h.args[0].ty.as_deref(),
            Some("file"),
            "from the last good report"
        );
    }
}
