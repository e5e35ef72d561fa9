//! Where the cursor is in a policy, worked out from the text alone: the features must keep
//! working while the user types, when the YAML does not parse.
//!
//! [`Outline`] reads one YAML document line by line, by indentation, into a loose tree of
//! mappings, sequences and scalars with byte spans: block style with `- ` items, inline
//! `key: value`, comments, quotes, block scalars skipped, and one-line flow collections
//! (`[a, b]`, `{k: v}`). It never fails: a line it cannot place is left out.
//!
//! [`Context::at`] builds the outline of the document under the cursor and says where the cursor
//! is: the path of keys and item indexes from the root ([`Seg`]), whether a key, a value or a
//! fresh `- ` item is being typed ([`Slot`]), the word being typed and its byte range (for a
//! completion's text edit), and the keys already present around it. [`Context::hook`] describes
//! the hook the cursor is in (target, `syscall`, arg types by index) from the text, filled in
//! from the validator's models ([`Analysis::current`], then [`Analysis::last_good`]).

use std::sync::Arc;

use policyctl_validator::checks::kernel::ParamShape;
use policyctl_validator::facts::{self, HookKind};
use policyctl_validator::kernel::{syscalls, Func, Kernel};
use policyctl_validator::model;
use policyctl_validator::Span;

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

    /// Parse the document of `text` that holds `offset` (see the module documentation).
    pub fn parse(text: &str, offset: usize) -> Outline {
        Builder::run(text, offset, None).0
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
        let (outline, cursor) = Builder::run(text, offset, Some(offset));
        let c = cursor.unwrap_or(CursorFound {
            slot: Slot::None,
            path: Vec::new(),
            word: Span::new(offset, offset),
            quote: None,
            in_flow: false,
            column: 0,
            line_start: line_start(text, offset),
        });
        let prefix = text
            .get(c.word.start..offset.max(c.word.start))
            .unwrap_or("")
            .to_string();
        let has_colon = {
            let rest = text.get(c.word.end..).unwrap_or("");
            let rest = rest.trim_start_matches([' ', '\t']);
            let rest = match c.quote {
                Some(q) => rest
                    .strip_prefix(q)
                    .unwrap_or(rest)
                    .trim_start_matches([' ', '\t']),
                None => rest,
            };
            rest.starts_with(':')
        };
        let needs_space = c.slot == Slot::Value
            && !c.in_flow
            && c.quote.is_none()
            && text[..c.word.start].ends_with(':');
        Context {
            offset,
            needs_space,
            slot: c.slot,
            path: c.path,
            prefix,
            word: c.word,
            quote: c.quote,
            has_colon,
            column: c.column,
            in_flow: c.in_flow,
            outline,
            line_start: c.line_start,
        }
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
                (
                    tp.fields.clone()?,
                    tp.fields_source.clone().unwrap_or_default(),
                )
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
// The line-by-line builder.

#[derive(Clone, Copy, Debug)]
struct Frame {
    node: NodeId,
    col: usize,
    seq: bool,
}

struct CursorFound {
    slot: Slot,
    path: Vec<Seg>,
    word: Span,
    quote: Option<char>,
    in_flow: bool,
    column: usize,
    line_start: usize,
}

/// A token of a line.
#[derive(Clone, Debug)]
enum Tok {
    /// `- ` at a column.
    Dash { at: usize, col: usize },
    /// `key:`.
    Key {
        at: usize,
        col: usize,
        name: String,
        span: Span,
    },
    /// A value: scalar, quoted scalar, flow collection or block scalar indicator.
    Value { at: usize, col: usize, end: usize },
}

impl Tok {
    fn at(&self) -> usize {
        match self {
            Tok::Dash { at, .. } | Tok::Key { at, .. } | Tok::Value { at, .. } => *at,
        }
    }
}

struct Builder {
    outline: Outline,
    stack: Vec<Frame>,
    /// Lines indented deeper than this belong to a block scalar.
    block_parent: Option<usize>,
    /// (compact, indented) block lists seen.
    styles: (usize, usize),
    /// The current line dedents to a column no open node has: the rest of it is left out.
    bad_line: bool,
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
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
                if (c == b'"' || c == b'\'')
                    && (i == 0 || matches!(b[i - 1], b' ' | b'\t' | b'[' | b'{' | b',' | b':'))
                {
                    quote = Some(c);
                }
            }
        }
        i += 1;
    }
    None
}

/// The end of a quoted scalar starting at `i` (after its closing quote, or the end).
fn quoted_end(b: &[u8], i: usize) -> usize {
    quoted(b, i).0
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
            let close = quoted_end(b, i);
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

/// Split a line (`line[..end]`, comment already cut) into tokens, offsets absolute.
fn tokenize(line: &str, start: usize, end: usize) -> Vec<Tok> {
    let b = &line.as_bytes()[..end];
    let col = |i: usize| line[..i].chars().count();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    while i < b.len() && b[i] == b'-' && (i + 1 == b.len() || is_ws(b[i + 1])) {
        toks.push(Tok::Dash {
            at: start + i,
            col: col(i),
        });
        i += 1;
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
    }
    if i >= b.len() {
        return toks;
    }
    if let Some((name, key_end, after)) = find_key(line, i, end) {
        toks.push(Tok::Key {
            at: start + i,
            col: col(i),
            name,
            span: Span::new(start + i, start + key_end),
        });
        i = after;
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
    }
    if i < b.len() {
        let mut e = b.len();
        while e > i && is_ws(b[e - 1]) {
            e -= 1;
        }
        toks.push(Tok::Value {
            at: start + i,
            col: col(i),
            end: start + e,
        });
    }
    toks
}

impl Builder {
    fn run(text: &str, offset: usize, cursor: Option<usize>) -> (Outline, Option<CursorFound>) {
        let offset = {
            let mut o = offset.min(text.len());
            while !text.is_char_boundary(o) {
                o -= 1;
            }
            o
        };
        // The document holding the offset.
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
        let mut b = Builder {
            outline: Outline {
                doc: Span::new(doc_start, doc_end.max(doc_start)),
                doc_index,
                crlf: text.contains("\r\n"),
                ..Outline::default()
            },
            stack: Vec::new(),
            block_parent: None,
            styles: (0, 0),
            bad_line: false,
        };
        let mut found = None;
        let mut pos = doc_start;
        let doc = &text[doc_start..doc_end.max(doc_start)];
        for raw in doc.split_inclusive('\n') {
            let start = pos;
            pos += raw.len();
            let line = raw.trim_end_matches(['\n', '\r']);
            let here = cursor.filter(|&c| c >= start && c <= start + line.len());
            let cursor_here = here.is_some() && found.is_none();
            let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
            let blank = line.trim().is_empty() || line.trim_start().starts_with('#');
            if let Some(parent) = b.block_parent {
                let col = match here {
                    // Typing on a blank line: its column is the cursor's.
                    Some(c) if blank => line[..(c - start).min(line.len())].chars().count(),
                    _ => line[..indent].chars().count(),
                };
                if (blank && here.is_none()) || col > parent {
                    if cursor_here {
                        let c = here.unwrap_or(start);
                        found = Some(b.none_at(c, start));
                    }
                    continue;
                }
                b.block_parent = None;
            }
            let end = comment_start(line).unwrap_or(line.len());
            let toks = tokenize(line, start, end);
            b.bad_line = false;
            // Blank and comment lines do not extend the open nodes.
            let content_end = (!toks.is_empty()).then_some(start + end);
            if !cursor_here {
                for t in &toks {
                    b.token(t, line, start);
                }
                b.extend_to(content_end);
                continue;
            }
            let c = here.unwrap_or(start);
            if c - start > end {
                // In a comment.
                for t in &toks {
                    b.token(t, line, start);
                }
                found = Some(b.none_at(c, start));
                b.extend_to(content_end);
                continue;
            }
            let (word_start, word_end) = word_bounds(line, start, end, c);
            let mut done = 0;
            for t in &toks {
                if t.at() < word_start {
                    b.token(t, line, start);
                    done += 1;
                }
            }
            found = Some(b.cursor(line, start, c, word_start, word_end));
            for t in &toks[done..] {
                b.token(t, line, start);
            }
            b.extend_to(content_end);
        }
        if cursor.is_some() && found.is_none() {
            // The cursor is past the document's last line (an empty last line).
            let c = cursor.unwrap_or(offset);
            let ls = line_start(text, c);
            let line = &text[ls..c];
            if line.trim().is_empty() && c >= doc_start {
                let col = line.chars().count();
                found = Some(b.probe_key(col, Span::new(c, c), ls));
            } else {
                found = Some(b.none_at(c, ls));
            }
        }
        let (compact, indented) = b.styles;
        b.outline.compact_lists = (compact + indented > 0).then_some(compact >= indented);
        (b.outline, found)
    }

    fn none_at(&self, c: usize, line_start: usize) -> CursorFound {
        CursorFound {
            slot: Slot::None,
            path: Vec::new(),
            word: Span::new(c, c),
            quote: None,
            in_flow: false,
            column: 0,
            line_start,
        }
    }

    fn new_node(&mut self, kind: NodeKind, col: usize, at: usize, end: usize) -> NodeId {
        self.outline.nodes.push(Node {
            kind,
            col,
            span: Span::new(at, end),
        });
        self.outline.nodes.len() - 1
    }

    /// Make `child` the value of the top frame's current key or item (or the root).
    fn attach(&mut self, child: NodeId) {
        let Some(top) = self.stack.last().copied() else {
            if self.outline.root.is_none() {
                self.outline.root = Some(child);
            }
            return;
        };
        match &mut self.outline.nodes[top.node].kind {
            NodeKind::Map(entries) => {
                if let Some(e) = entries.last_mut() {
                    e.value = Some(child);
                }
            }
            NodeKind::Seq(items) => {
                if let Some(i) = items.last_mut() {
                    i.value = Some(child);
                }
            }
            NodeKind::Scalar { .. } => {}
        }
    }

    fn extend_to(&mut self, end: Option<usize>) {
        let Some(end) = end else { return };
        for f in &self.stack {
            let span = &mut self.outline.nodes[f.node].span;
            if end > span.end {
                span.end = end;
            }
        }
    }

    fn pop_for_dash(&mut self, col: usize) {
        while self.stack.last().is_some_and(|f| f.col > col) {
            self.stack.pop();
        }
    }

    fn pop_for_key(&mut self, col: usize) {
        while self
            .stack
            .last()
            .is_some_and(|f| f.col > col || (f.seq && f.col >= col))
        {
            self.stack.pop();
        }
    }

    fn token(&mut self, t: &Tok, line: &str, line_start: usize) {
        if self.bad_line {
            return;
        }
        match t {
            Tok::Dash { at, col } => {
                let keep = self
                    .stack
                    .iter()
                    .rposition(|f| f.col <= *col)
                    .map_or(0, |i| i + 1);
                // A dedent must land on an open node's column.
                if keep < self.stack.len() && keep > 0 && self.stack[keep - 1].col != *col {
                    self.bad_line = true;
                    return;
                }
                self.pop_for_dash(*col);
                match self.stack.last().copied() {
                    Some(top) if top.seq && top.col == *col => {}
                    top => {
                        if let Some(top) = top {
                            if !top.seq {
                                if let Some(e) = self.entries_of(top.node).last() {
                                    let key_col = top.col;
                                    if e.value.is_none() {
                                        if key_col == *col {
                                            self.styles.0 += 1;
                                        } else {
                                            self.styles.1 += 1;
                                        }
                                    }
                                }
                            }
                        }
                        let id = self.new_node(NodeKind::Seq(Vec::new()), *col, *at, *at + 1);
                        self.attach(id);
                        self.stack.push(Frame {
                            node: id,
                            col: *col,
                            seq: true,
                        });
                    }
                }
                if let Some(top) = self.stack.last() {
                    if let NodeKind::Seq(items) = &mut self.outline.nodes[top.node].kind {
                        items.push(Item {
                            dash: *at,
                            value: None,
                        });
                    }
                }
            }
            Tok::Key {
                at,
                col,
                name,
                span,
            } => {
                let keep = self
                    .stack
                    .iter()
                    .rposition(|f| !(f.col > *col || (f.seq && f.col >= *col)))
                    .map_or(0, |i| i + 1);
                if keep < self.stack.len()
                    && keep > 0
                    && (self.stack[keep - 1].seq || self.stack[keep - 1].col != *col)
                {
                    self.bad_line = true;
                    return;
                }
                self.pop_for_key(*col);
                let entry = Entry {
                    key: name.clone(),
                    key_span: *span,
                    value: None,
                };
                match self.stack.last().copied() {
                    Some(top) if !top.seq && top.col == *col => {
                        if let NodeKind::Map(entries) = &mut self.outline.nodes[top.node].kind {
                            entries.push(entry);
                        }
                    }
                    _ => {
                        let id = self.new_node(NodeKind::Map(vec![entry]), *col, *at, span.end);
                        self.attach(id);
                        self.stack.push(Frame {
                            node: id,
                            col: *col,
                            seq: false,
                        });
                    }
                }
            }
            Tok::Value { at, col, end } => {
                let rel = at - line_start;
                let rel_end = end - line_start;
                let value = &line[rel..rel_end];
                let owner_col = self.stack.last().map(|f| f.col);
                // A bare scalar on its own line is the value of the key above it only when that
                // key has no value yet and the scalar is indented under it.
                let dash_or_key_on_line = self.stack.last().is_some_and(|f| {
                    let n = &self.outline.nodes[f.node];
                    match &n.kind {
                        NodeKind::Map(e) => e
                            .last()
                            .is_some_and(|e| e.key_span.start >= line_start && e.value.is_none()),
                        NodeKind::Seq(items) => items
                            .last()
                            .is_some_and(|i| i.dash >= line_start && i.value.is_none()),
                        NodeKind::Scalar { .. } => false,
                    }
                });
                let continuation = !dash_or_key_on_line
                    && self.stack.last().is_some_and(|f| {
                        !f.seq
                            && *col > f.col
                            && self
                                .entries_of(f.node)
                                .last()
                                .is_some_and(|e| e.value.is_none())
                    });
                if !dash_or_key_on_line && !continuation {
                    return;
                }
                if value.starts_with('|') || value.starts_with('>') {
                    self.block_parent = owner_col;
                    let id = self.new_node(
                        NodeKind::Scalar {
                            text: String::new(),
                            quote: None,
                        },
                        *col,
                        *at,
                        *end,
                    );
                    self.attach(id);
                    return;
                }
                let id = if value.starts_with('[') || value.starts_with('{') {
                    let mut p = FlowParser {
                        b: self,
                        line,
                        line_start,
                        i: rel,
                        end: rel_end,
                        depth: 0,
                    };
                    p.value()
                } else {
                    let (text, quote) = unquote(value);
                    Some(self.new_node(
                        NodeKind::Scalar {
                            text: text.to_string(),
                            quote,
                        },
                        *col,
                        *at,
                        *end,
                    ))
                };
                if let Some(id) = id {
                    self.attach(id);
                }
            }
        }
    }

    fn entries_of(&self, id: NodeId) -> &[Entry] {
        match &self.outline.nodes[id].kind {
            NodeKind::Map(e) => e,
            _ => &[],
        }
    }

    /// The path the stack stands for; `with_top_key` adds the top mapping's current key.
    fn path(&self, frames: &[Frame], with_top_key: bool) -> Vec<Seg> {
        let mut path = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let last = i + 1 == frames.len();
            match &self.outline.nodes[f.node].kind {
                NodeKind::Map(entries) => {
                    if !last || with_top_key {
                        if let Some(e) = entries.last() {
                            path.push(Seg::Key(e.key.clone()));
                        }
                    }
                }
                NodeKind::Seq(items) => {
                    path.push(Seg::Index(items.len().saturating_sub(1)));
                }
                NodeKind::Scalar { .. } => {}
            }
        }
        path
    }

    /// A key typed at `col` on a line of its own: which mapping it goes to, without changing
    /// the stack.
    fn probe_key(&self, col: usize, word: Span, line_start: usize) -> CursorFound {
        let mut frames: &[Frame] = &self.stack;
        while let Some(f) = frames.last() {
            if f.col > col || (f.seq && f.col >= col) {
                frames = &frames[..frames.len() - 1];
            } else {
                break;
            }
        }
        let path = match frames.last() {
            // A key of the mapping at this column.
            Some(f) if !f.seq && f.col == col => self.path(frames, false),
            // The first key of a new mapping under the top's current key or item.
            Some(_) => self.path(frames, true),
            None => Vec::new(),
        };
        CursorFound {
            slot: Slot::Key,
            path,
            word,
            quote: None,
            in_flow: false,
            column: col,
            line_start,
        }
    }

    /// The cursor's slot, once the tokens before its word are in.
    fn cursor(
        &self,
        line: &str,
        start: usize,
        c: usize,
        word_start: usize,
        word_end: usize,
    ) -> CursorFound {
        let word = Span::new(word_start, word_end);
        let rel_ws = word_start - start;
        let before = &line[..rel_ws];
        let b = before.as_bytes();
        let col = before.chars().count();
        let none = || CursorFound {
            slot: Slot::None,
            path: Vec::new(),
            word: Span::new(c, c),
            quote: None,
            in_flow: false,
            column: col,
            line_start: start,
        };
        let mut i = 0;
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        let mut dashes = false;
        while i < b.len() && b[i] == b'-' && (i + 1 == b.len() || is_ws(b[i + 1])) {
            dashes = true;
            i += 1;
            while i < b.len() && is_ws(b[i]) {
                i += 1;
            }
        }
        let rest = &before[i..];
        let found = |slot: Slot, path: Vec<Seg>, quote: Option<char>, in_flow: bool| CursorFound {
            slot,
            path,
            word,
            quote,
            in_flow,
            column: col,
            line_start: start,
        };
        if rest.is_empty() {
            if dashes {
                return found(Slot::Item, self.path(&self.stack, true), None, false);
            }
            return self.probe_key(col, word, start);
        }
        let keyed = find_key(before, i, before.len());
        let (mut path, value, slot) = match &keyed {
            Some((_, _, after)) => (
                self.path(&self.stack, true),
                before[*after..].trim_start_matches([' ', '\t']),
                Slot::Value,
            ),
            None if dashes => (self.path(&self.stack, true), rest, Slot::Item),
            // A flow collection on a line of its own, under a key.
            None if rest.starts_with(['[', '{']) => {
                (self.path(&self.stack, true), rest, Slot::Value)
            }
            None => return none(),
        };
        if value.is_empty() {
            return found(slot, path, None, false);
        }
        if value == "\"" || value == "'" {
            return found(slot, path, value.chars().next(), false);
        }
        if value.starts_with(['[', '{']) {
            let Some((segs, slot, quote)) = flow_cursor(value) else {
                return none();
            };
            path.extend(segs);
            return found(slot, path, quote, true);
        }
        if keyed.is_some() {
            // A value with spaces (`message: some words`): the word is its last one.
            let quote = value
                .chars()
                .next()
                .filter(|q| (*q == '"' || *q == '\'') && !value[1..].contains(*q));
            return found(Slot::Value, path, quote, false);
        }
        none()
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

/// The path inside a flow collection from its opening bracket to the cursor (the end of
/// `text`): segments, slot and the quote the word is in.
fn flow_cursor(text: &str) -> Option<(Vec<Seg>, Slot, Option<char>)> {
    struct Open {
        map: bool,
        items: usize,
        key: Option<String>,
        token_start: usize,
    }
    let b = text.as_bytes();
    let mut stack: Vec<Open> = Vec::new();
    let mut i = 0;
    let mut quote = None;
    while i < b.len() {
        match b[i] {
            b'[' | b'{' => {
                stack.push(Open {
                    map: b[i] == b'{',
                    items: 0,
                    key: None,
                    token_start: i + 1,
                });
                i += 1;
            }
            b']' | b'}' => {
                stack.pop();
                i += 1;
            }
            b',' => {
                if let Some(o) = stack.last_mut() {
                    o.items += 1;
                    o.key = None;
                    o.token_start = i + 1;
                }
                i += 1;
            }
            b'"' | b'\'' => {
                let (e, closed) = quoted(b, i);
                if !closed {
                    quote = Some(b[i] as char);
                }
                i = e;
            }
            b':' if i + 1 >= b.len() || is_ws(b[i + 1]) => {
                if let Some(o) = stack.last_mut() {
                    if o.map {
                        let k = text[o.token_start..i].trim();
                        o.key = Some(unquote(k).0.to_string());
                    }
                }
                i += 1;
            }
            _ => {
                i += 1;
            }
        }
    }
    stack.last()?;
    let mut segs = Vec::new();
    for (n, o) in stack.iter().enumerate() {
        let innermost = n + 1 == stack.len();
        if o.map {
            match &o.key {
                Some(k) => segs.push(Seg::Key(k.clone())),
                None if innermost => {
                    return Some((segs, Slot::Key, quote));
                }
                None => return None,
            }
        } else {
            segs.push(Seg::Index(o.items));
        }
    }
    Some((segs, Slot::Value, quote))
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

/// A one-line flow collection parser that adds nodes to the outline.
struct FlowParser<'a, 'b> {
    b: &'a mut Builder,
    line: &'b str,
    line_start: usize,
    i: usize,
    end: usize,
    depth: usize,
}

impl FlowParser<'_, '_> {
    fn bytes(&self) -> &[u8] {
        &self.line.as_bytes()[..self.end]
    }

    fn skip_ws(&mut self) {
        while self.i < self.end && is_ws(self.bytes()[self.i]) {
            self.i += 1;
        }
    }

    fn col(&self, i: usize) -> usize {
        self.line[..i].chars().count()
    }

    fn value(&mut self) -> Option<NodeId> {
        self.skip_ws();
        if self.i >= self.end || self.depth > 32 {
            return None;
        }
        let at = self.i;
        match self.bytes()[at] {
            b'[' => {
                self.i += 1;
                self.depth += 1;
                let id = self.b.new_node(
                    NodeKind::Seq(Vec::new()),
                    self.col(at),
                    self.line_start + at,
                    self.line_start + at + 1,
                );
                loop {
                    self.skip_ws();
                    if self.i >= self.end {
                        break;
                    }
                    match self.bytes()[self.i] {
                        b']' => {
                            self.i += 1;
                            break;
                        }
                        b',' => {
                            self.i += 1;
                            continue;
                        }
                        _ => {}
                    }
                    let item_at = self.line_start + self.i;
                    let before = self.i;
                    let v = self.value();
                    if let NodeKind::Seq(items) = &mut self.b.outline.nodes[id].kind {
                        items.push(Item {
                            dash: item_at,
                            value: v,
                        });
                    }
                    if self.i == before {
                        self.i += 1;
                    }
                }
                self.depth -= 1;
                self.b.outline.nodes[id].span.end = self.line_start + self.i;
                Some(id)
            }
            b'{' => {
                self.i += 1;
                self.depth += 1;
                let id = self.b.new_node(
                    NodeKind::Map(Vec::new()),
                    self.col(at),
                    self.line_start + at,
                    self.line_start + at + 1,
                );
                loop {
                    self.skip_ws();
                    if self.i >= self.end {
                        break;
                    }
                    match self.bytes()[self.i] {
                        b'}' => {
                            self.i += 1;
                            break;
                        }
                        b',' => {
                            self.i += 1;
                            continue;
                        }
                        _ => {}
                    }
                    let key_at = self.i;
                    let before = self.i;
                    let (key_end, text_end) = self.scalar_end(true);
                    let (key, _) = unquote(&self.line[key_at..text_end]);
                    let key = key.to_string();
                    self.i = key_end;
                    self.skip_ws();
                    let mut value = None;
                    if self.i < self.end && self.bytes()[self.i] == b':' {
                        self.i += 1;
                        value = self.value();
                    }
                    if let NodeKind::Map(entries) = &mut self.b.outline.nodes[id].kind {
                        entries.push(Entry {
                            key,
                            key_span: Span::new(
                                self.line_start + key_at,
                                self.line_start + text_end,
                            ),
                            value,
                        });
                    }
                    if self.i == before {
                        self.i += 1;
                    }
                }
                self.depth -= 1;
                self.b.outline.nodes[id].span.end = self.line_start + self.i;
                Some(id)
            }
            b',' | b']' | b'}' => None,
            _ => {
                let (e, text_end) = self.scalar_end(false);
                self.i = e;
                let (text, quote) = unquote(&self.line[at..text_end]);
                let text = text.to_string();
                Some(self.b.new_node(
                    NodeKind::Scalar { text, quote },
                    self.col(at),
                    self.line_start + at,
                    self.line_start + text_end,
                ))
            }
        }
    }

    /// The end of a flow scalar at `self.i`: (where parsing resumes, end of its text).
    fn scalar_end(&self, key: bool) -> (usize, usize) {
        let b = self.bytes();
        let i = self.i;
        if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
            let e = quoted_end(b, i);
            return (e, e);
        }
        let mut j = i;
        while j < b.len() {
            let x = b[j];
            if matches!(x, b',' | b']' | b'}') {
                break;
            }
            if key
                && x == b':'
                && (j + 1 >= b.len() || is_ws(b[j + 1]) || matches!(b[j + 1], b',' | b'}'))
            {
                break;
            }
            j += 1;
        }
        let mut t = j;
        while t > i && is_ws(b[t - 1]) {
            t -= 1;
        }
        (j, t)
    }
}

/// Fixtures shared by the features' unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::path::PathBuf;
    use std::sync::{Arc, OnceLock};

    use policyctl_validator::kernel::{Kernel, KernelSpec};
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
        f(&Analysis {
            text,
            lines: &lines,
            current: Some(&current),
            last_good: last_good.as_ref(),
            kernels,
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
            kernels: &[],
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
            kernels: &[],
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
