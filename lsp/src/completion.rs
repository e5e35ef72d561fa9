//! Completion that knows the schema, the policy language and the kernels.
//!
//! Where the cursor is comes from [`Context::at`] (the text, not the parse, so it works on
//! half-typed YAML). Then:
//!
//! - **keys**: the fields of the object at the cursor that are not written yet, required ones
//!   first, each with its doc; an action's parameters follow its `action`;
//! - **values**: enum values; `call` from the kernels' functions (prefix then fuzzy matches,
//!   ranked, at most [`MAX_ITEMS`]) and, when the hook is a syscall, `sys_<name>` with the
//!   arguments; LSM hooks; tracepoint subsystems and events; arg `type`s that fit the parameter
//!   at the arg's `index` first; `operator`s that fit the filter and the arg's type; actions the
//!   hook kind allows (with their required parameters); signal, capability, namespace, protocol,
//!   family, state and file type names; list and macro names.
//!
//! Kernel function names are searched in a table built once per set of kernels ([`warm_up`]):
//! the names of all kernels merged, sorted and packed into one buffer with the kernels that have
//! each, so a prefix is a binary search, and the fuzzy pass (only when prefix matches are fewer
//! than [`MAX_ITEMS`]) rejects most names with one AND of character masks. Details (prototypes)
//! are rendered only for the items returned. In a release build `call: do_` over the 56k
//! functions of a 6.18 kernel takes about 0.5 ms (p99 under 1 ms); building the table, once,
//! about 15 ms per kernel.

use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use policyctl_validator::facts::{self, HookKind};
use policyctl_validator::kernel::{syscalls, tracepoints, Kernel};
use policyctl_validator::schema::table::{self, Field, Obj, Ty};
use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionItemLabelDetails, CompletionList,
    CompletionTextEdit, Documentation, InsertTextFormat, InsertTextMode, MarkupContent, MarkupKind,
    Range as LspRange, TextEdit,
};

use crate::analysis::Analysis;
use crate::context::{self, Context, HookText, Seg, Slot};

/// Most items returned for a list the server filters (kernel functions, syscalls, LSM hooks,
/// tracepoint events). A list cut at this size is incomplete: the client must ask again as
/// the user types.
pub const MAX_ITEMS: usize = 100;

/// Completion items at a byte offset of the document (see the module documentation). The
/// list may be incomplete; [`complete_list`] says so.
pub fn complete(a: &Analysis, offset: usize) -> Vec<CompletionItem> {
    complete_list(a, offset).items
}

/// Completion at a byte offset, with `is_incomplete` set when the server filtered the items
/// by what is typed (kernel functions, syscalls, LSM hooks, tracepoint events): the client
/// must then ask again as the user types instead of filtering this list itself.
pub fn complete_list(a: &Analysis, offset: usize) -> CompletionList {
    let ctx = Context::at(a.text, offset);
    let mut c = Completer {
        a,
        hook: None,
        ctx,
        items: Vec::new(),
        incomplete: false,
        lead: "",
    };
    c.hook = c.ctx.hook(a);
    c.run();
    CompletionList {
        is_incomplete: c.incomplete,
        items: c.items,
    }
}

/// Completion in a document that is not (yet) a policy but may become one (empty, or holding
/// the start of a policy's first line, in a workspace that holds policies): at the top level,
/// the policy skeletons and the `apiVersion` and `kind` keys; in their values, their values.
/// Nothing anywhere else.
pub fn complete_header(a: &Analysis, offset: usize) -> CompletionList {
    let ctx = Context::at(a.text, offset);
    let wanted = match (ctx.slot, ctx.path.as_slice()) {
        (Slot::Key, []) => ctx.column == 0,
        (Slot::Value, [Seg::Key(k)]) => k == "apiVersion" || k == "kind",
        _ => false,
    };
    if !wanted {
        return CompletionList::default();
    }
    let mut list = complete_list(a, offset);
    list.items.retain(|i| {
        matches!(i.kind, Some(CompletionItemKind::SNIPPET))
            || ctx.slot == Slot::Value
            || matches!(i.label.as_str(), "apiVersion" | "kind")
    });
    // What is typed next changes what fits: ask again.
    list.is_incomplete = true;
    list
}

/// Metadata fields that the API server sets: never written in a policy.
const SERVER_MANAGED: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// Kernel functions that wrap the real one (`__ia32_sys_*`, `__x32_*`, `__se_sys_*`,
/// `__do_sys_*`): ranked after every other name in `call` completion.
pub(crate) fn is_wrapper(name: &str) -> bool {
    ["__ia32_", "__x32_", "__se_", "__do_"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// The policy skeletons offered at the top of a document: (label, what it is, the hook
/// section as a snippet, the section's list written compactly).
const SKELETONS: &[(&str, &str, &str)] = &[
    (
        "TracingPolicy with a kprobe",
        "Hooks a kernel function: its arguments by BTF.",
        "kprobes:\n- call: \"${2:security_file_open}\"\n  syscall: false\n  args:\n  - index: 0\n    type: \"${3:file}\"\n  $0",
    ),
    (
        "TracingPolicy with a tracepoint",
        "Hooks a static tracepoint: its fields by tracefs format.",
        "tracepoints:\n- subsystem: \"${2:syscalls}\"\n  event: \"${3:sys_enter_openat}\"\n  $0",
    ),
    (
        "TracingPolicy with an LSM hook",
        "Hooks a BPF LSM hook (needs the bpf LSM active).",
        "lsmhooks:\n- hook: \"${2:file_open}\"\n  args:\n  - index: 0\n    type: \"${3:file}\"\n  $0",
    ),
];

// ---------------------------------------------------------------------------------------------
// The schema at a path.

static ROOT: Ty = Ty::Obj(&table::POLICY);

/// The schema at a path: the type there, the field whose value it is (for a list item: the
/// list's field) and the object that field belongs to.
#[derive(Clone, Copy)]
pub(crate) struct Resolved {
    pub owner: Option<&'static Obj>,
    pub field: Option<&'static Field>,
    pub ty: &'static Ty,
}

/// Walk the schema along a path; `None` where the path leaves it.
pub(crate) fn resolve(path: &[Seg]) -> Option<Resolved> {
    let mut r = Resolved {
        owner: None,
        field: None,
        ty: &ROOT,
    };
    for seg in path {
        r = match (seg, r.ty) {
            (Seg::Key(k), Ty::Obj(o)) => {
                let f = o.field(k)?;
                Resolved {
                    owner: Some(o),
                    field: Some(f),
                    ty: &f.ty,
                }
            }
            (Seg::Key(_), Ty::Map(inner)) => Resolved { ty: inner, ..r },
            (Seg::Index(_), Ty::Arr(inner)) => Resolved { ty: inner, ..r },
            _ => return None,
        };
    }
    Some(r)
}

/// A type as a user would name it.
pub(crate) fn type_name(ty: &Ty) -> String {
    match ty {
        Ty::Str => "string".into(),
        Ty::Int { .. } => match ty.int_range() {
            Some((lo, hi)) => format!("integer ({lo} to {hi})"),
            None => "integer".into(),
        },
        Ty::Bool => "boolean".into(),
        Ty::Obj(o) => o.name.into(),
        Ty::Arr(inner) => format!("list of {}", type_name(inner)),
        Ty::Map(inner) => format!("map of {}", type_name(inner)),
        Ty::Any => "any".into(),
    }
}

/// A field's documentation in Markdown: its doc, type, whether required, default and values.
pub(crate) fn field_markdown(f: &Field) -> String {
    let mut s = format!("{}\n\n*{}*", f.doc, type_name(&f.ty));
    if f.required {
        s.push_str(" · required");
    }
    if let Some(d) = f.default {
        s.push_str(&format!(
            " · default `{}`",
            if d.is_empty() { "\"\"" } else { d }
        ));
    }
    if let Some(m) = f.max_items {
        s.push_str(&format!(" · at most {m}"));
    }
    if !f.enum_values.is_empty() {
        let values: Vec<String> = f.enum_values.iter().map(|v| format!("`{v}`")).collect();
        s.push_str(&format!("\n\nOne of: {}", values.join(", ")));
    }
    s
}

fn markdown(value: String) -> Documentation {
    Documentation::MarkupContent(MarkupContent {
        kind: MarkupKind::Markdown,
        value,
    })
}

// ---------------------------------------------------------------------------------------------
// Ranking names against what is typed.

/// How well a name matches what is typed: (tier, score), lower is better. Tiers: 0 exact,
/// 1 prefix, 2 prefix ignoring case, 3 substring, 4 subsequence (fuzzy). Scores prefer shorter
/// names, substrings at a `_` boundary and subsequences with fewer gaps.
pub(crate) fn rank(typed: &str, name: &str) -> Option<(u8, u32)> {
    let len = name.len() as u32;
    if typed.is_empty() {
        return Some((1, len));
    }
    if name == typed {
        return Some((0, 0));
    }
    if name.starts_with(typed) {
        return Some((1, len));
    }
    if name.len() < typed.len() {
        return None;
    }
    let nb = name.as_bytes();
    let tb = typed.as_bytes();
    if nb[..tb.len()].eq_ignore_ascii_case(tb) {
        return Some((2, len));
    }
    if let Some(pos) = find_ignore_case(nb, tb) {
        let boundary = pos > 0 && matches!(nb[pos - 1], b'_' | b'/' | b'.');
        return Some((3, if boundary { 0 } else { 1000 } + len));
    }
    let mut gaps = 0u32;
    let mut j = 0;
    let mut last = None;
    for (i, &c) in nb.iter().enumerate() {
        if j < tb.len() && c.eq_ignore_ascii_case(&tb[j]) {
            if last.is_some_and(|l| l + 1 != i) {
                gaps += 1;
            }
            last = Some(i);
            j += 1;
        }
    }
    (j == tb.len()).then_some((4, gaps * 100 + len))
}

fn find_ignore_case(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    let first = needle[0].to_ascii_lowercase();
    (0..=hay.len() - needle.len()).find(|&i| {
        hay[i].to_ascii_lowercase() == first
            && hay[i..i + needle.len()].eq_ignore_ascii_case(needle)
    })
}

// ---------------------------------------------------------------------------------------------
// The kernels' function names, merged and packed.

/// Every function name of a set of kernels, sorted, each with the kernels that have it, packed
/// for searching: a prefix is a binary search; a fuzzy pass first checks a mask of the
/// characters each name has, then the names in lowercase.
struct NameTable {
    blob: String,
    /// (start in `blob`, length, bit mask of the kernels that have it), sorted by name.
    entries: Vec<(u32, u32, u64)>,
    /// The names in lowercase, one after the other.
    lower: String,
    /// Where each entry starts in `lower`.
    lower_starts: Vec<u32>,
    /// The characters each name has ([`char_mask`]).
    masks: Vec<u64>,
    /// Bare syscall names (`openat`) with the kernels that have their stub, sorted.
    syscalls: Vec<(String, u64)>,
}

/// A bit per character class: `a`-`z`, `0`-`9`, `_` and one for anything else (case folded).
fn char_mask(bytes: &[u8]) -> u64 {
    let mut m = 0u64;
    for &b in bytes {
        m |= 1
            << match b.to_ascii_lowercase() {
                c @ b'a'..=b'z' => c - b'a',
                c @ b'0'..=b'9' => 26 + c - b'0',
                b'_' => 36,
                _ => 37,
            };
    }
    m
}

impl NameTable {
    fn build(kernels: &[Arc<Kernel>]) -> NameTable {
        let mut iters: Vec<_> = kernels
            .iter()
            .take(64)
            .map(|k| k.func_names().peekable())
            .collect();
        let mut blob = String::new();
        let mut entries = Vec::new();
        loop {
            let mut least: Option<&str> = None;
            for it in iters.iter_mut() {
                if let Some(&n) = it.peek() {
                    if least.is_none_or(|l| n < l) {
                        least = Some(n);
                    }
                }
            }
            let Some(name) = least else { break };
            let mut mask = 0u64;
            for (i, it) in iters.iter_mut().enumerate() {
                if it.peek() == Some(&name) {
                    mask |= 1 << i;
                    it.next();
                }
            }
            if u32::try_from(blob.len() + name.len()).is_err() {
                break;
            }
            entries.push((blob.len() as u32, name.len() as u32, mask));
            blob.push_str(name);
        }
        let mut lower = String::with_capacity(blob.len());
        let mut lower_starts = Vec::with_capacity(entries.len());
        let mut masks = Vec::with_capacity(entries.len());
        for &(s, l, _) in &entries {
            let name = &blob[s as usize..(s + l) as usize];
            lower_starts.push(lower.len() as u32);
            lower.push_str(&name.to_ascii_lowercase());
            masks.push(char_mask(name.as_bytes()));
        }
        let mut table = NameTable {
            blob,
            entries,
            lower,
            lower_starts,
            masks,
            syscalls: Vec::new(),
        };
        // Syscalls: the stubs of each kernel's architecture (`__x64_sys_openat`).
        let mut syscalls: std::collections::BTreeMap<String, u64> = Default::default();
        for (k, kernel) in kernels.iter().enumerate().take(64) {
            let Some(arch) = kernel.arch else { continue };
            let prefix = format!("{}sys_", arch.syscall_prefix());
            for i in table.prefix_range(&prefix) {
                if table.entries[i].2 & (1 << k) != 0 {
                    let bare = &table.name(i)[prefix.len()..];
                    *syscalls.entry(bare.to_string()).or_default() |= 1 << k;
                }
            }
        }
        table.syscalls = syscalls.into_iter().collect();
        table
    }

    fn name(&self, i: usize) -> &str {
        self.entries.get(i).map_or("", |&(s, l, _)| {
            self.blob.get(s as usize..(s + l) as usize).unwrap_or("")
        })
    }

    fn lower_name(&self, i: usize) -> &[u8] {
        let s = self.lower_starts[i] as usize;
        let l = self.entries[i].1 as usize;
        &self.lower.as_bytes()[s..s + l]
    }

    /// The entries whose names start with `prefix`.
    fn prefix_range(&self, prefix: &str) -> Range<usize> {
        let lo = self.entries.partition_point(|&(s, l, _)| {
            self.blob.as_bytes()[s as usize..(s + l) as usize] < *prefix.as_bytes()
        });
        let hi = lo
            + self.entries[lo..].partition_point(|&(s, l, _)| {
                self.blob.as_bytes()[s as usize..(s + l) as usize].starts_with(prefix.as_bytes())
            });
        lo..hi
    }

    /// The best matches of `typed`, at most `cap`: (entry, tier, score) as [`rank`] ranks
    /// them, wrappers ([`is_wrapper`]) last, and whether more matched. Prefix matches come from a binary search; the fuzzy
    /// pass over every name runs only when they are fewer than `cap`.
    fn search(&self, typed: &str, cap: usize) -> (Vec<(usize, u8, u32)>, bool) {
        let range = self.prefix_range(typed);
        let mut found: Vec<(usize, u8, u32)> = range
            .clone()
            .map(|i| {
                let n = self.name(i);
                (i, if n == typed { 0 } else { 1 }, n.len() as u32)
            })
            .collect();
        if found.len() < cap && !typed.is_empty() {
            let needle = typed.to_ascii_lowercase();
            let nb = needle.as_bytes();
            // Only names that have every character typed can match: one AND rejects most.
            let want = char_mask(nb);
            for (i, &m) in self.masks.iter().enumerate() {
                if m & want != want || range.contains(&i) {
                    continue;
                }
                let name = self.lower_name(i);
                if name.len() < nb.len() || !is_subsequence(nb, name) {
                    continue;
                }
                if let Some((tier, score)) = rank(typed, self.name(i)) {
                    found.push((i, tier, score));
                }
            }
        }
        let more = found.len() > cap;
        // Wrappers after the others, then by tier and score.
        let key = |&(i, tier, score): &(usize, u8, u32)| (is_wrapper(self.name(i)), tier, score, i);
        if more {
            found.select_nth_unstable_by(cap, |a, b| key(a).cmp(&key(b)));
            found.truncate(cap);
        }
        found.sort_unstable_by_key(key);
        (found, more)
    }
}

fn is_subsequence(needle: &[u8], hay: &[u8]) -> bool {
    let mut it = hay.iter();
    needle.iter().all(|c| it.any(|h| h == c))
}

/// The name table of a set of kernels, built on first use and kept while they live.
fn name_table(kernels: &[Arc<Kernel>]) -> Arc<NameTable> {
    type Cache = Mutex<Vec<(Vec<Weak<Kernel>>, Arc<NameTable>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    let same = |held: &[Weak<Kernel>]| {
        held.len() == kernels.len()
            && held
                .iter()
                .zip(kernels)
                .all(|(w, k)| std::ptr::eq(w.as_ptr(), Arc::as_ptr(k)))
    };
    if let Ok(mut held) = cache.lock() {
        held.retain(|(ks, _)| ks.iter().all(|w| w.strong_count() > 0));
        if let Some((_, t)) = held.iter().find(|(ks, _)| same(ks)) {
            return t.clone();
        }
    }
    let table = Arc::new(NameTable::build(kernels));
    if let Ok(mut held) = cache.lock() {
        if held.len() >= 4 {
            held.remove(0);
        }
        held.push((kernels.iter().map(Arc::downgrade).collect(), table.clone()));
    }
    table
}

/// Build the function-name table of these kernels now, so that the first completion of a
/// `call` does not pay for it (about 10 ms per kernel in a release build).
pub fn warm_up(kernels: &[Arc<Kernel>]) {
    if !kernels.is_empty() {
        name_table(kernels);
    }
}

// ---------------------------------------------------------------------------------------------
// The completer.

struct Completer<'a, 'r> {
    a: &'a Analysis<'r>,
    ctx: Context,
    hook: Option<HookText>,
    items: Vec<CompletionItem>,
    incomplete: bool,
    /// Put before each value: `- ` when the value starts a new list item.
    lead: &'static str,
}

/// A name to rank: (name, detail, description).
type Named = (String, Option<String>, Option<String>);

/// One candidate before it becomes an item.
#[derive(Default)]
struct Cand {
    label: String,
    new_text: Option<String>,
    kind: Option<CompletionItemKind>,
    detail: Option<String>,
    description: Option<String>,
    doc: Option<String>,
    filter: Option<String>,
    snippet: bool,
    preselect: bool,
    extra_edits: Vec<TextEdit>,
    /// A syscall's bare name: its detail is the syscall table's prototype.
    syscall: Option<String>,
}

impl Completer<'_, '_> {
    fn run(&mut self) {
        match self.ctx.slot {
            Slot::None => {}
            Slot::Key => self.key_slot(),
            Slot::Item => self.item_slot(),
            Slot::Value => self.value_slot(),
        }
        // Items in the order given: sortText keeps it.
        for (i, item) in self.items.iter_mut().enumerate() {
            item.sort_text = Some(format!("{i:04}"));
        }
    }

    fn range(&self) -> LspRange {
        self.a.lines.range(self.a.text, self.ctx.word)
    }

    fn push(&mut self, c: Cand) {
        let mut new_text = c.new_text.unwrap_or_else(|| c.label.clone());
        // Inside a quote left open (`call: "security_file_o`): the value closes it.
        if let Some(q) = self.ctx.quote {
            if self.ctx.closes_quote
                && self.ctx.slot != Slot::Key
                && !c.snippet
                && !new_text.contains(['\n', '\r'])
            {
                new_text.push(q);
            }
        }
        let item = CompletionItem {
            filter_text: c.filter.or_else(|| {
                // A value after `key:` with no space gets one: filter on the name alone.
                (self.ctx.needs_space).then(|| c.label.clone())
            }),
            label: c.label,
            label_details: c.description.map(|d| CompletionItemLabelDetails {
                detail: None,
                description: Some(d),
            }),
            kind: c.kind,
            detail: c.detail,
            documentation: c.doc.map(markdown),
            preselect: c.preselect.then_some(true),
            insert_text_format: Some(if c.snippet {
                InsertTextFormat::SNIPPET
            } else {
                InsertTextFormat::PLAIN_TEXT
            }),
            insert_text_mode: Some(InsertTextMode::AS_IS),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                range: self.range(),
                new_text,
            })),
            additional_text_edits: (!c.extra_edits.is_empty()).then_some(c.extra_edits),
            ..CompletionItem::default()
        };
        self.items.push(item);
    }

    /// A value's text: after a `key:` with no space, with a space; as a new item, after `- `.
    fn value_text(&self, v: &str) -> String {
        if self.ctx.needs_space {
            format!(" {v}")
        } else {
            format!("{}{v}", self.lead)
        }
    }

    fn indent(&self, col: usize) -> String {
        " ".repeat(col)
    }

    fn eol(&self) -> &'static str {
        if self.ctx.outline.crlf {
            "\r\n"
        } else {
            "\n"
        }
    }

    fn compact(&self) -> bool {
        self.ctx.outline.compact_lists.unwrap_or(true)
    }

    // --- keys ----------------------------------------------------------------------------

    fn key_slot(&mut self) {
        let Some(r) = resolve(&self.ctx.path) else {
            return;
        };
        let here = self.ctx.outline.at(&self.ctx.path);
        if self.ctx.path.is_empty() {
            self.skeletons();
        }
        match r.ty {
            Ty::Obj(o) => self.keys(o, false),
            Ty::Arr(inner)
                if here.is_none_or(|h| {
                    self.ctx
                        .outline
                        .node(h)
                        .is_some_and(|n| matches!(n.kind, context::NodeKind::Seq(_)))
                }) =>
            {
                // Under a list's key, deeper than it: a new item.
                if let Ty::Obj(o) = inner {
                    self.keys(o, true);
                } else {
                    self.values(r, true);
                }
            }
            Ty::Str | Ty::Int { .. } | Ty::Bool if here.is_none() && !self.ctx.has_colon => {
                // A value on the line after its key.
                self.values(r, false);
            }
            _ => {}
        }
    }

    fn item_slot(&mut self) {
        let Some(r) = resolve(&self.ctx.path) else {
            return;
        };
        match r.ty {
            Ty::Obj(o) => self.keys(o, false),
            Ty::Str | Ty::Int { .. } | Ty::Bool => self.values(r, false),
            _ => {}
        }
    }

    /// The policy skeletons, at the top level of a document that has nothing but its
    /// `apiVersion` and `kind` yet: what is missing of the header, `metadata` and a `spec`
    /// with one hook, as a snippet.
    fn skeletons(&mut self) {
        let siblings: Vec<String> = self
            .ctx
            .siblings()
            .into_iter()
            .map(str::to_string)
            .collect();
        if self.ctx.column != 0
            || self.ctx.has_colon
            || siblings.iter().any(|s| s != "apiVersion" && s != "kind")
        {
            return;
        }
        let eol = self.eol();
        let kind = self
            .ctx
            .outline
            .root
            .and_then(|r| self.ctx.outline.get_str(r, "kind"))
            .filter(|k| !k.is_empty())
            .unwrap_or("TracingPolicy")
            .to_string();
        for (label, detail, hook) in SKELETONS {
            let mut t = String::new();
            if !siblings.iter().any(|s| s == "apiVersion") {
                t.push_str(&format!("apiVersion: {}\n", table::API_VERSION));
            }
            if !siblings.iter().any(|s| s == "kind") {
                t.push_str("kind: TracingPolicy\n");
            }
            t.push_str("metadata:\n  name: \"${1:my-policy}\"\n");
            if kind == "TracingPolicyNamespaced" {
                t.push_str("  namespace: \"${4:default}\"\n");
            }
            t.push_str("spec:\n");
            for line in hook.lines() {
                // The hook section, two spaces in, its list in the file's style.
                let line = match line.strip_prefix("- ") {
                    Some(rest) if !self.compact() => format!("  - {rest}"),
                    _ if !self.compact() && line.starts_with("  ") => format!("  {line}"),
                    _ => line.to_string(),
                };
                t.push_str("  ");
                t.push_str(&line);
                t.push('\n');
            }
            let t = t.trim_end_matches('\n').replace('\n', eol);
            self.push(Cand {
                label: label.to_string(),
                new_text: Some(t),
                kind: Some(CompletionItemKind::SNIPPET),
                detail: Some(detail.to_string()),
                doc: Some(format!(
                    "A whole `{kind}`: `metadata.name` and one hook to start from."
                )),
                filter: Some(format!("{label} apiVersion kind {kind}")),
                snippet: true,
                ..Cand::default()
            });
        }
    }

    /// Keys of `obj` not written yet; `new_item`: they start a new list item (`- key: `).
    fn keys(&mut self, obj: &'static Obj, new_item: bool) {
        let siblings: Vec<String> = if new_item {
            Vec::new()
        } else {
            self.ctx
                .siblings()
                .into_iter()
                .map(str::to_string)
                .collect()
        };
        // An action's parameters follow its `action`.
        let action = (obj.name == table::ACTION_SELECTOR.name)
            .then(|| self.ctx.outline.get_str(self.ctx.mapping()?, "action"))
            .flatten()
            .and_then(facts::action);
        let mut cands: Vec<(u8, usize, &'static Field)> = Vec::new();
        for (i, f) in obj.fields.iter().enumerate() {
            if siblings.iter().any(|s| s == f.name) {
                continue;
            }
            if obj.name == table::METADATA.name && SERVER_MANAGED.contains(&f.name) {
                continue;
            }
            let tier = match action {
                Some(spec) if f.name != "action" => {
                    if spec.required.contains(&f.name) {
                        0
                    } else if spec.optional.contains(&f.name) {
                        1
                    } else {
                        continue;
                    }
                }
                _ => {
                    if f.required {
                        0
                    } else {
                        1
                    }
                }
            };
            cands.push((tier, i, f));
        }
        cands.sort_by_key(|&(tier, i, _)| (tier, i));
        let col = self.ctx.column;
        for (tier, _, f) in cands {
            let (body_col, lead) = if new_item { (col + 2, "- ") } else { (col, "") };
            let text = if self.ctx.has_colon {
                f.name.to_string()
            } else {
                format!("{lead}{}", self.key_text(f, body_col))
            };
            let mut detail = type_name(&f.ty);
            if tier == 0 {
                detail.push_str(if action.is_some() {
                    ", needed by this action"
                } else {
                    ", required"
                });
            }
            self.push(Cand {
                label: f.name.to_string(),
                new_text: Some(text),
                kind: Some(CompletionItemKind::PROPERTY),
                detail: Some(detail),
                doc: Some(field_markdown(f)),
                filter: Some(f.name.to_string()),
                ..Cand::default()
            });
        }
    }

    /// What a key inserts: `name: `, or `name:` and the start of its block on the next line.
    fn key_text(&self, f: &Field, col: usize) -> String {
        let eol = self.eol();
        if self.ctx.in_flow {
            return format!("{}: ", f.name);
        }
        match &f.ty {
            Ty::Obj(_) | Ty::Map(_) => format!("{}:{eol}{}", f.name, self.indent(col + 2)),
            Ty::Arr(_) => {
                let dash_col = if self.compact() { col } else { col + 2 };
                format!("{}:{eol}{}- ", f.name, self.indent(dash_col))
            }
            _ if f.name == "apiVersion" => format!("apiVersion: {}", table::API_VERSION),
            _ => format!("{}: ", f.name),
        }
    }

    // --- values --------------------------------------------------------------------------

    fn value_slot(&mut self) {
        let Some(r) = resolve(&self.ctx.path) else {
            return;
        };
        if matches!(r.ty, Ty::Str | Ty::Int { .. } | Ty::Bool) {
            self.values(r, false);
        }
    }

    /// The mapping that holds the key whose value (or list item) is typed.
    fn owner_map(&self) -> Option<context::NodeId> {
        let last_key = self
            .ctx
            .path
            .iter()
            .rposition(|s| matches!(s, Seg::Key(_)))?;
        self.ctx.outline.at(&self.ctx.path[..last_key])
    }

    fn owner_value(&self, key: &str) -> Option<&str> {
        self.ctx.outline.get_str(self.owner_map()?, key)
    }

    /// The filter list the cursor is in (`matchArgs`, `matchCapabilities`...).
    fn filter_key(&self) -> Option<&str> {
        let last_key = self
            .ctx
            .path
            .iter()
            .rposition(|s| matches!(s, Seg::Key(_)))?;
        match self.ctx.path.get(last_key.checked_sub(2)?)? {
            Seg::Key(k) => Some(k),
            Seg::Index(_) => None,
        }
    }

    fn values(&mut self, r: Resolved, new_item: bool) {
        let (Some(owner), Some(field)) = (r.owner, r.field) else {
            return;
        };
        if new_item {
            self.lead = "- ";
        }
        match (owner.name, field.name) {
            ("KProbeSpec", "call") => return self.calls(),
            ("LsmHookSpec", "hook") => return self.lsm_hooks(),
            ("TracepointSpec", "subsystem") => return self.subsystems(),
            ("TracepointSpec", "event") => return self.events(),
            ("KProbeArg", "type") => return self.arg_types(),
            ("KProbeArg", "index") => return self.param_indexes(),
            ("KProbeArg", "source") => {
                return self.simple(&[
                    (
                        "current_task",
                        "Read from the current task_struct (with `resolve`).",
                    ),
                    ("pt_regs", "Read a register (with `resolve`, like `ax`)."),
                ])
            }
            ("ArgSelector", "operator") => return self.operators(field),
            ("ArgSelector", "index") => return self.declared_indexes(),
            ("ArgSelector", "values") => return self.arg_values(),
            ("ActionSelector", "action") => return self.actions(),
            ("ActionSelector", "argSig") => return self.signals(),
            ("ActionSelector", "rateLimitScope") => {
                return self.simple(&[
                    ("thread", "Count per thread (the default)."),
                    ("process", "Count per process."),
                    ("global", "Count across all processes."),
                ])
            }
            ("ActionSelector", "argSock" | "argIndex") => return self.declared_indexes(),
            ("ActionSelector", "argError") => {
                return self.simple(&[
                    ("-1", "EPERM: operation not permitted"),
                    ("-13", "EACCES: permission denied"),
                    ("-2", "ENOENT: no such file or directory"),
                    ("-22", "EINVAL: invalid argument"),
                ])
            }
            ("KProbeSpec", "returnArgAction") => {
                return self.simple(&[
                    ("TrackSock", "Remember the returned sock."),
                    ("UntrackSock", "Forget the returned sock."),
                ])
            }
            ("CapabilitiesSelector", "values") => return self.capabilities(),
            ("NamespaceChangesSelector", "values") => {
                let kinds: Vec<(&str, &str)> = facts::NAMESPACE_CHANGE_KINDS
                    .iter()
                    .map(|k| (*k, "a namespace kind"))
                    .collect();
                return self.simple(&kinds);
            }
            ("NamespaceSelector", "values") => {
                return self.simple(&[("host_ns", "The host's namespace of this kind.")])
            }
            ("KProbeSelector", "macros") => return self.macros(),
            ("OptionSpec", "name") => {
                let names: Vec<(&str, &str)> =
                    facts::OPTIONS.iter().map(|(n, _)| (*n, "option")).collect();
                return self.simple(&names);
            }
            ("OptionSpec", "value") => {
                let name = self.owner_value("name").unwrap_or("").to_string();
                if let Some((_, allowed)) = facts::OPTIONS.iter().find(|(n, _)| *n == name) {
                    let v: Vec<(&str, &str)> = allowed.iter().map(|a| (*a, "")).collect();
                    return self.simple(&v);
                }
                return;
            }
            ("TracingPolicy", "apiVersion") => {
                return self.simple(&[(table::API_VERSION, "The only version.")])
            }
            ("TracingPolicy", "kind") => {
                return self.simple(&[
                    ("TracingPolicy", "Cluster-wide (or host-wide) policy."),
                    (
                        "TracingPolicyNamespaced",
                        "A policy for one Kubernetes namespace.",
                    ),
                ])
            }
            ("EnforcerSpec", "calls") => return self.syscall_values(),
            ("ListSpec", "values") => {
                if matches!(self.owner_value("type"), None | Some("syscalls")) {
                    return self.syscall_values();
                }
                return;
            }
            _ => {}
        }
        if !field.enum_values.is_empty() {
            let v: Vec<(&str, &str)> = field.enum_values.iter().map(|e| (*e, "")).collect();
            self.simple_with_doc(&v, Some(field));
        } else if matches!(field.ty, Ty::Bool) {
            self.booleans(field);
        }
    }

    fn simple(&mut self, values: &[(&str, &str)]) {
        self.simple_with_doc(values, None);
    }

    fn simple_with_doc(&mut self, values: &[(&str, &str)], field: Option<&Field>) {
        for (v, doc) in values {
            let doc = if doc.is_empty() {
                field.map(|f| f.doc.to_string())
            } else {
                Some(doc.to_string())
            };
            self.push(Cand {
                label: v.to_string(),
                new_text: Some(self.value_text(v)),
                kind: Some(CompletionItemKind::ENUM_MEMBER),
                detail: doc.clone(),
                ..Cand::default()
            });
        }
    }

    fn booleans(&mut self, field: &Field) {
        let mut first = field.default.unwrap_or("false") == "true";
        if field.name == "syscall" {
            // `sys_*` calls are syscalls; anything else is a kernel function.
            if let Some(t) = self.hook.as_ref().and_then(|h| h.target.as_deref()) {
                first = context::bare_syscall(t).is_some();
            }
        }
        for v in if first {
            ["true", "false"]
        } else {
            ["false", "true"]
        } {
            self.push(Cand {
                label: v.to_string(),
                new_text: Some(self.value_text(v)),
                kind: Some(CompletionItemKind::VALUE),
                detail: Some(field.doc.to_string()),
                ..Cand::default()
            });
        }
    }

    // --- kernel names --------------------------------------------------------------------

    /// `call`: syscalls and kernel functions, by `syscall`.
    fn calls(&mut self) {
        self.incomplete = true;
        let typed = self.ctx.prefix.clone();
        let hook = self.hook.clone();
        let syscall_flag = hook.as_ref().and_then(|h| h.syscall);
        // `list:NAME`.
        if typed.starts_with("list:") || typed.is_empty() {
            for name in self.list_names() {
                let v = format!("list:{name}");
                if rank(&typed, &v).is_some() {
                    self.push(Cand {
                        new_text: Some(self.value_text(&v)),
                        label: v,
                        kind: Some(CompletionItemKind::REFERENCE),
                        detail: Some("a list of spec.lists".into()),
                        ..Cand::default()
                    });
                }
            }
        }
        // (sort key, item) from both sources, merged.
        let mut cands: Vec<((u8, u8, u32), Cand)> = Vec::new();
        if syscall_flag != Some(false) {
            for (bare, mask) in self.syscall_names() {
                let full = format!("sys_{bare}");
                let best = [
                    rank(&typed, &full),
                    rank(&typed, &bare).map(|(t, s)| (t.max(1), s)),
                ]
                .into_iter()
                .flatten()
                .min();
                let Some((tier, score)) = best else { continue };
                // Syscalls first when `syscall` is true (by default, too).
                cands.push((
                    (tier, 0, score),
                    Cand {
                        new_text: Some(self.value_text(&full)),
                        description: mask.and_then(|m| self.missing_mask(m)),
                        filter: Some(full.clone()),
                        label: full,
                        kind: Some(CompletionItemKind::FUNCTION),
                        syscall: Some(bare),
                        ..Cand::default()
                    },
                ));
            }
        }
        if syscall_flag != Some(true) && !self.a.kernels.is_empty() {
            let table = name_table(self.a.kernels);
            let (found, _) = table.search(&typed, MAX_ITEMS);
            // Choosing a function with `syscall` unset adds `syscall: false`.
            let add_flag = syscall_flag.is_none() && self.syscall_edit().is_some();
            for (i, tier, score) in found {
                let name = table.name(i);
                if name.starts_with("__x64_sys_") || name.starts_with("__arm64_sys_") {
                    continue;
                }
                let mask = table.entries[i].2;
                let mut c = Cand {
                    label: name.to_string(),
                    new_text: Some(self.value_text(name)),
                    kind: Some(CompletionItemKind::FUNCTION),
                    description: self.missing_mask(mask),
                    filter: Some(name.to_string()),
                    ..Cand::default()
                };
                if add_flag {
                    c.extra_edits = self.syscall_edit().into_iter().collect();
                }
                // Wrappers of the real function come last (`__ia32_sys_*`, `__se_sys_*`).
                let tier = if is_wrapper(name) { tier + 10 } else { tier };
                cands.push(((tier, 1, score), c));
            }
        }
        cands.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.label.cmp(&b.1.label)));
        cands.dedup_by(|a, b| a.1.label == b.1.label);
        cands.truncate(MAX_ITEMS);
        let first = self.a.kernels.first().map(|k| &**k);
        for (_, mut c) in cands {
            if let Some(bare) = &c.syscall {
                c.detail = context::syscall_proto(bare, first).map(|p| p.text);
            } else if c.detail.is_none() {
                c.detail = self
                    .a
                    .kernels
                    .iter()
                    .find_map(|k| k.func(&c.label))
                    .map(|f| f.c_prototype());
                if !c.extra_edits.is_empty() {
                    c.detail = Some(format!(
                        "{} (adds `syscall: false`)",
                        c.detail.unwrap_or_default()
                    ));
                }
            }
            self.push(c);
        }
    }

    /// The edit that adds `syscall: false` to the cursor's hook: a line after the `call` line.
    fn syscall_edit(&self) -> Option<TextEdit> {
        let hook = self.hook.as_ref()?;
        let node = hook.node?;
        if self.ctx.outline.entry(node, "syscall").is_some() {
            return None;
        }
        let call = self.ctx.outline.entry(node, "call")?;
        let col = self.ctx.outline.node(node)?.col;
        let text = self.a.text;
        let line_end = text[call.key_span.end..]
            .find('\n')
            .map(|i| call.key_span.end + i + 1)?;
        // After the edit range: the next line's start.
        if line_end <= self.ctx.word.end {
            return None;
        }
        let pos = self.a.lines.position(text, line_end);
        Some(TextEdit {
            range: LspRange::new(pos, pos),
            new_text: format!("{}syscall: false{}", self.indent(col), self.eol()),
        })
    }

    /// "missing on A, B" for names some kernels lack.
    fn missing_on(&self, has: impl Fn(&Kernel) -> bool) -> Option<String> {
        let missing: Vec<&str> = self
            .a
            .kernels
            .iter()
            .filter(|k| !has(k))
            .map(|k| k.name.as_str())
            .collect();
        (!missing.is_empty() && missing.len() < self.a.kernels.len())
            .then(|| format!("not on {}", missing.join(", ")))
    }

    fn missing_mask(&self, mask: u64) -> Option<String> {
        let missing: Vec<&str> = self
            .a
            .kernels
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < 64 && mask & (1 << i) == 0)
            .map(|(_, k)| k.name.as_str())
            .collect();
        (!missing.is_empty()).then(|| format!("not on {}", missing.join(", ")))
    }

    /// Bare syscall names with the kernels that have them (`None` without kernels: the
    /// syscall table's).
    fn syscall_names(&self) -> Vec<(String, Option<u64>)> {
        if self.a.kernels.is_empty() {
            return syscalls::all()
                .iter()
                .map(|s| (s.name.to_string(), None))
                .collect();
        }
        name_table(self.a.kernels)
            .syscalls
            .iter()
            .map(|(n, m)| (n.clone(), Some(*m)))
            .collect()
    }

    /// Rank names against what is typed: the best, at most [`MAX_ITEMS`].
    fn rank_names(&mut self, names: Vec<String>) -> Vec<String> {
        self.incomplete = true;
        let typed = self.ctx.prefix.clone();
        let mut ranked: Vec<((u8, u32), String)> = names
            .into_iter()
            .filter_map(|n| Some((rank(&typed, &n)?, n)))
            .collect();
        ranked.sort_unstable();
        ranked.truncate(MAX_ITEMS);
        ranked.into_iter().map(|(_, n)| n).collect()
    }

    /// Rank names (with their details) against what is typed and push the best.
    fn ranked_names(&mut self, names: Vec<Named>, kind: CompletionItemKind) {
        self.incomplete = true;
        let typed = self.ctx.prefix.clone();
        let mut ranked: Vec<((u8, u32), Named)> = names
            .into_iter()
            .filter_map(|n| Some((rank(&typed, &n.0)?, n)))
            .collect();
        ranked.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1 .0.cmp(&b.1 .0)));
        ranked.truncate(MAX_ITEMS);
        for (_, (name, detail, description)) in ranked {
            self.push(Cand {
                new_text: Some(self.value_text(&name)),
                filter: Some(name.clone()),
                label: name,
                kind: Some(kind),
                detail,
                description,
                ..Cand::default()
            });
        }
    }

    fn lsm_hooks(&mut self) {
        let all = self.union(Kernel::lsm_hooks);
        for n in self.rank_names(all) {
            let detail = self
                .a
                .kernels
                .iter()
                .find_map(|k| k.lsm_hook(&n))
                .map(|f| f.c_prototype());
            let description = self.missing_on(|k| k.lsm_hook(&n).is_some());
            self.push_name(n, CompletionItemKind::FUNCTION, detail, description);
        }
    }

    fn push_name(
        &mut self,
        name: String,
        kind: CompletionItemKind,
        detail: Option<String>,
        description: Option<String>,
    ) {
        self.push(Cand {
            new_text: Some(self.value_text(&name)),
            filter: Some(name.clone()),
            label: name,
            kind: Some(kind),
            detail,
            description,
            ..Cand::default()
        });
    }

    /// The sorted union over the kernels of one of their sorted name lists.
    fn union(&self, names: fn(&Kernel) -> &[String]) -> Vec<String> {
        let mut all: Vec<&str> = self
            .a
            .kernels
            .iter()
            .flat_map(|k| names(k).iter().map(String::as_str))
            .collect();
        all.sort_unstable();
        all.dedup();
        all.into_iter().map(str::to_string).collect()
    }

    fn tracefs(&self) -> Vec<&(String, String)> {
        let mut all: Vec<&(String, String)> = self
            .a
            .kernels
            .iter()
            .filter_map(|k| k.tracefs_events())
            .flatten()
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// `subsystem`: `syscalls` and `raw_syscalls`, the subsystems of a live host's tracefs, and
    /// for kernels known by their BTF (or no kernel) the subsystems the reference table gives
    /// their events.
    fn subsystems(&mut self) {
        let table = tracepoints::table();
        let mut subs: std::collections::BTreeMap<String, String> = Default::default();
        for s in ["syscalls", "raw_syscalls"] {
            subs.insert(s.into(), "syscall tracepoints".into());
        }
        for (s, _) in self.tracefs() {
            subs.entry(s.clone()).or_insert_with(|| "tracefs".into());
        }
        let from_table = format!("reference table of {}", table.provenance());
        if self.a.kernels.is_empty() {
            for s in table.subsystems() {
                subs.entry(s.to_string())
                    .or_insert_with(|| from_table.clone());
            }
        }
        for k in self.a.kernels.iter().filter(|k| !k.has_tracefs()) {
            for e in k.tracepoint_events() {
                for s in table.subsystems_of(e) {
                    subs.entry(s.to_string())
                        .or_insert_with(|| from_table.clone());
                }
            }
        }
        let names = subs
            .into_iter()
            .map(|(s, from)| (s, Some(from), None))
            .collect();
        self.ranked_names(names, CompletionItemKind::MODULE);
    }

    fn events(&mut self) {
        let sub = self
            .hook
            .as_ref()
            .and_then(|h| h.subsystem.clone())
            .unwrap_or_default();
        let from_tracefs: Vec<String> = self
            .tracefs()
            .into_iter()
            .filter(|(s, _)| *s == sub)
            .map(|(_, e)| e.clone())
            .collect();
        let names: Vec<Named> = if !from_tracefs.is_empty() {
            from_tracefs.into_iter().map(|e| (e, None, None)).collect()
        } else if sub == "syscalls" {
            self.syscall_names()
                .into_iter()
                .flat_map(|(b, _)| {
                    let args = syscalls::lookup(&b).map(|s| {
                        let a: Vec<String> = s
                            .args
                            .iter()
                            .map(|a| format!("{} {}", a.ctype, a.name))
                            .collect();
                        format!("fields: {}", a.join(", "))
                    });
                    [
                        (format!("sys_enter_{b}"), args, None),
                        (
                            format!("sys_exit_{b}"),
                            Some("fields: long ret".to_string()),
                            None,
                        ),
                    ]
                })
                .collect()
        } else if sub == "raw_syscalls" {
            vec![
                (
                    "sys_enter".into(),
                    Some("fields: long id, unsigned long args[6]".into()),
                    None,
                ),
                (
                    "sys_exit".into(),
                    Some("fields: long id, long ret".into()),
                    None,
                ),
            ]
        } else {
            return self.table_events(&sub);
        };
        self.ranked_names(names, CompletionItemKind::EVENT);
    }

    /// Events of a subsystem where no tracefs lists them: the reference table's events of
    /// `sub` (those the kernels' BTF has, when there are kernels). A subsystem the table does
    /// not know: every event, each with the subsystem the table gives it, or none.
    fn table_events(&mut self, sub: &str) {
        let table = tracepoints::table();
        let btf = (!self.a.kernels.is_empty()).then(|| self.union(Kernel::tracepoint_events));
        let has = |e: &str| {
            btf.as_ref()
                .is_none_or(|all| all.binary_search_by(|x| x.as_str().cmp(e)).is_ok())
        };
        let in_sub: Vec<String> = table
            .events_of(sub)
            .into_iter()
            .filter(|e| has(e))
            .map(str::to_string)
            .collect();
        let (names, described): (Vec<String>, bool) = if !in_sub.is_empty() {
            (in_sub, false)
        } else {
            let all = match &btf {
                Some(all) => all.clone(),
                None => table
                    .subsystems()
                    .iter()
                    .flat_map(|s| table.events_of(s))
                    .map(str::to_string)
                    .collect(),
            };
            (all, true)
        };
        for e in self.rank_names(names) {
            let detail = if described {
                match table.subsystems_of(&e).as_slice() {
                    [] => Some("subsystem unknown: not in the reference table".to_string()),
                    subs => Some(format!("subsystem: {}", subs.join(", "))),
                }
            } else {
                Some(format!("{sub}/{e}"))
            };
            let description = self.missing_on(|k| {
                k.tracepoint_events()
                    .binary_search_by(|x| x.as_str().cmp(&e))
                    .is_ok()
            });
            self.push_name(e, CompletionItemKind::EVENT, detail, description);
        }
    }

    fn syscall_values(&mut self) {
        let names = self
            .syscall_names()
            .into_iter()
            .map(|(b, _)| format!("sys_{b}"))
            .collect();
        for n in self.rank_names(names) {
            self.push_name(n, CompletionItemKind::FUNCTION, None, None);
        }
    }

    fn list_names(&self) -> Vec<String> {
        let o = &self.ctx.outline;
        let Some(lists) = o.at(&[Seg::Key("spec".into()), Seg::Key("lists".into())]) else {
            return Vec::new();
        };
        o.items(lists)
            .iter()
            .filter_map(|i| o.get_str(i.value?, "name"))
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn macros(&mut self) {
        let o = &self.ctx.outline;
        let names: Vec<String> = o
            .at(&[Seg::Key("spec".into()), Seg::Key("selectorsMacros".into())])
            .map(|m| o.entries(m).iter().map(|e| e.key.clone()).collect())
            .unwrap_or_default();
        let v: Vec<(&str, &str)> = names
            .iter()
            .map(|n| (n.as_str(), "a macro of spec.selectorsMacros"))
            .collect();
        self.simple(&v);
    }

    // --- args and filters ----------------------------------------------------------------

    /// Which arg list the cursor's arg is in: `args`, `data` or `returnArg`.
    fn arg_list(&self) -> Option<&str> {
        match self.ctx.path.get(3) {
            Some(Seg::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// What the arg at the cursor reads on the first kernel that has the hook: (C text, shape).
    fn arg_param(&self) -> Option<(String, policyctl_validator::checks::kernel::ParamShape)> {
        let hook = self.hook.as_ref()?;
        let (proto, _) = context::first_proto(hook, self.a.kernels)?;
        match self.arg_list()? {
            "returnArg" => proto.ret,
            "args" => {
                let index: usize = self.owner_value("index")?.trim().parse().ok()?;
                let p = proto.params.into_iter().nth(index)?;
                Some((p.c, p.shape))
            }
            _ => None,
        }
    }

    fn arg_types(&mut self) {
        let param = self.arg_param();
        let mut order: Vec<(u8, &'static str, String)> = Vec::new();
        for t in table::ARG_TYPES {
            let (tier, detail) = match &param {
                Some((c, shape)) => {
                    if shape.best_type() == Some(t) {
                        (0, format!("reads `{c}`"))
                    } else if shape.fits(t) == Some(true) {
                        (1, format!("fits `{c}`"))
                    } else {
                        (2, format!("does not fit `{c}`"))
                    }
                }
                None => (1, String::new()),
            };
            order.push((tier, t, detail));
        }
        order.sort_by_key(|&(tier, _, _)| tier);
        for (tier, t, detail) in order {
            let doc = facts::arg_type_doc(t);
            self.push(Cand {
                label: t.to_string(),
                new_text: Some(self.value_text(t)),
                kind: Some(CompletionItemKind::TYPE_PARAMETER),
                detail: Some(if detail.is_empty() {
                    doc.to_string()
                } else {
                    detail
                }),
                doc: Some(format!("`{t}`: {doc}")),
                preselect: tier == 0,
                ..Cand::default()
            });
        }
    }

    fn param_indexes(&mut self) {
        let Some(hook) = self.hook.clone() else {
            return;
        };
        if self.arg_list() == Some("returnArg") {
            return self.simple(&[("0", "the return value")]);
        }
        let Some((proto, _)) = context::first_proto(&hook, self.a.kernels) else {
            return;
        };
        let max = match hook.kind {
            HookKind::Tracepoint => usize::MAX,
            _ => facts::MAX_ARG_INDEX as usize,
        };
        let declared: Vec<i64> = hook.args.iter().filter_map(|a| a.index).collect();
        let mut cands: Vec<(bool, usize, String)> = proto
            .params
            .iter()
            .enumerate()
            .take(max.saturating_add(1))
            .map(|(i, p)| (declared.contains(&(i as i64)), i, p.c.clone()))
            .collect();
        cands.sort_by_key(|&(taken, i, _)| (taken, i));
        for (taken, i, c) in cands {
            let best = proto.params[i].shape.best_type();
            self.push(Cand {
                label: i.to_string(),
                new_text: Some(self.value_text(&i.to_string())),
                kind: Some(CompletionItemKind::VALUE),
                detail: Some(c),
                description: taken
                    .then(|| "declared".to_string())
                    .or_else(|| best.map(|b| format!("type: {b}"))),
                ..Cand::default()
            });
        }
    }

    /// Indexes of the declared args (matchArgs `index`, argSock, argIndex).
    fn declared_indexes(&mut self) {
        let Some(hook) = self.hook.clone() else {
            return;
        };
        let list = if self.filter_key() == Some("matchData") {
            &hook.data
        } else {
            &hook.args
        };
        let mut seen = Vec::new();
        for (pos, a) in list.iter().enumerate() {
            let index = if self.filter_key() == Some("matchData") {
                pos as i64
            } else {
                let Some(i) = a.index else { continue };
                i
            };
            if seen.contains(&index) {
                continue;
            }
            seen.push(index);
            let ty = a.ty.as_deref().unwrap_or("auto");
            self.push(Cand {
                label: index.to_string(),
                new_text: Some(self.value_text(&index.to_string())),
                kind: Some(CompletionItemKind::VALUE),
                detail: Some(format!("type: {ty}")),
                doc: Some(facts::arg_type_doc(ty).to_string()),
                ..Cand::default()
            });
        }
    }

    /// The type of the arg the cursor's filter refers to.
    fn filtered_type(&self) -> Option<String> {
        let hook = self.hook.as_ref()?;
        let filter = self.filter_key()?;
        let index = self
            .owner_value("index")
            .and_then(|i| i.trim().parse().ok());
        let index = if filter == "matchReturnArgs" {
            Some(0)
        } else {
            index
        };
        hook.filtered_type(filter, index)
            .filter(|t| *t != "auto")
            .map(str::to_string)
    }

    fn operators(&mut self, field: &Field) {
        let ty = self.filtered_type();
        for op in facts::OPERATORS {
            let fits = ty
                .as_deref()
                .is_none_or(|t| facts::operator_fits(op, t).is_ok());
            if !fits || !field.enum_values.contains(&op.name) {
                continue;
            }
            self.push(Cand {
                label: op.name.to_string(),
                new_text: Some(self.value_text(op.name)),
                kind: Some(CompletionItemKind::OPERATOR),
                detail: Some(op.doc.to_string()),
                description: ty.as_ref().map(|t| format!("on {t}")),
                ..Cand::default()
            });
        }
    }

    fn arg_values(&mut self) {
        let Some(op) = self.owner_value("operator").map(str::to_string) else {
            return;
        };
        let named = |names: &[(&str, u32)]| -> Vec<(String, String)> {
            names
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        let values: Vec<(String, String)> = match op.as_str() {
            "Protocol" => named(facts::PROTOCOLS),
            "Family" => named(facts::FAMILIES),
            "State" => named(facts::TCP_STATES),
            "FileType" | "NotFileType" => facts::FILE_TYPES
                .iter()
                .map(|t| (t.to_string(), "file type".to_string()))
                .collect(),
            "InMap" | "NotInMap" => self
                .list_names()
                .into_iter()
                .map(|n| (format!("list:{n}"), "a list of spec.lists".to_string()))
                .collect(),
            _ => {
                if self
                    .filtered_type()
                    .is_some_and(|t| facts::arg_class(&t) == facts::ArgClass::Cap)
                {
                    return self.capabilities();
                }
                Vec::new()
            }
        };
        for (v, detail) in values {
            self.push(Cand {
                new_text: Some(self.value_text(&v)),
                label: v,
                kind: Some(CompletionItemKind::CONSTANT),
                detail: Some(detail),
                ..Cand::default()
            });
        }
    }

    fn capabilities(&mut self) {
        for (i, cap) in facts::CAPABILITIES.iter().enumerate() {
            self.push(Cand {
                label: cap.to_string(),
                new_text: Some(self.value_text(cap)),
                kind: Some(CompletionItemKind::CONSTANT),
                detail: Some(format!("capability {i}")),
                ..Cand::default()
            });
        }
    }

    fn signals(&mut self) {
        for (i, sig) in facts::SIGNALS.iter().enumerate() {
            let n = (i + 1).to_string();
            self.push(Cand {
                label: sig.to_string(),
                new_text: Some(self.value_text(&n)),
                kind: Some(CompletionItemKind::CONSTANT),
                detail: Some(format!("signal {n}")),
                description: Some(n.clone()),
                filter: Some(format!("{sig} {n}")),
                ..Cand::default()
            });
        }
    }

    fn actions(&mut self) {
        let kind = self.hook.as_ref().map(|h| h.kind);
        let map = self.owner_map();
        let written: Vec<String> = map
            .map(|m| {
                self.ctx
                    .outline
                    .entries(m)
                    .iter()
                    .map(|e| e.key.clone())
                    .collect()
            })
            .unwrap_or_default();
        let col = map
            .and_then(|m| self.ctx.outline.node(m))
            .map(|n| n.col)
            .unwrap_or(self.ctx.column);
        for spec in facts::ACTIONS {
            if let Some(k) = kind {
                if spec.not_on.contains(&k)
                    || (k == HookKind::Lsm && !facts::LSM_ACTIONS.contains(&spec.name))
                {
                    continue;
                }
            }
            // The required parameters come along, as snippet placeholders.
            let missing: Vec<&str> = spec
                .required
                .iter()
                .copied()
                .filter(|p| !written.iter().any(|w| w == p))
                .collect();
            let snippet = !missing.is_empty() && !self.ctx.in_flow && self.ctx.quote.is_none();
            let new_text = if snippet {
                let mut t = escape_snippet(&self.value_text(spec.name));
                for (n, p) in missing.iter().enumerate() {
                    t.push_str(self.eol());
                    t.push_str(&self.indent(col));
                    t.push_str(&format!(
                        "{p}: ${{{}:{}}}",
                        n + 1,
                        escape_snippet(placeholder(p))
                    ));
                }
                t
            } else {
                self.value_text(spec.name)
            };
            let mut doc = spec.doc.to_string();
            if !spec.required.is_empty() {
                doc.push_str(&format!("\n\nNeeds: `{}`", spec.required.join("`, `")));
            }
            if !spec.optional.is_empty() {
                doc.push_str(&format!("\n\nTakes: `{}`", spec.optional.join("`, `")));
            }
            self.push(Cand {
                label: spec.name.to_string(),
                new_text: Some(new_text),
                kind: Some(CompletionItemKind::ENUM_MEMBER),
                detail: Some(spec.doc.to_string()),
                doc: Some(doc),
                snippet,
                filter: Some(spec.name.to_string()),
                ..Cand::default()
            });
        }
    }
}

/// A placeholder value for a required action parameter.
pub(crate) fn placeholder(param: &str) -> &'static str {
    match param {
        "argError" => "-1",
        "argSig" => "9",
        "argUrl" => "https://canary.example.com/hit",
        "argFqdn" => "canary.example.com",
        "argIndex" | "argSock" | "argValue" => "0",
        _ => "",
    }
}

fn escape_snippet(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '$' | '}' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::fixtures::{kernels, marked, with};
    use tower_lsp_server::ls_types::Position;

    /// Completion at the `‸` of a text.
    fn at(text: &str, kernels: &[Arc<Kernel>]) -> CompletionList {
        let (text, offset) = marked(text);
        with(&text, kernels, false, None, |a| complete_list(a, offset))
    }

    fn new_text(item: &CompletionItem) -> &str {
        match &item.text_edit {
            Some(CompletionTextEdit::Edit(e)) => &e.new_text,
            _ => "",
        }
    }

    fn labels(list: &CompletionList) -> Vec<&str> {
        list.items.iter().map(|i| i.label.as_str()).collect()
    }

    fn show(list: &CompletionList, n: usize) -> String {
        list.items
            .iter()
            .take(n)
            .map(|i| {
                format!(
                    "{} | {} | {:?}{}",
                    i.label,
                    i.detail.as_deref().unwrap_or(""),
                    new_text(i),
                    i.label_details
                        .as_ref()
                        .and_then(|d| d.description.as_deref())
                        .map(|d| format!(" [{d}]"))
                        .unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    const HEAD: &str =
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: x\nspec:\n";

    fn doc(item: &CompletionItem) -> &str {
        match &item.documentation {
            Some(Documentation::MarkupContent(m)) => &m.value,
            Some(Documentation::String(s)) => s,
            None => "",
        }
    }

    fn policy(body: &str) -> String {
        format!("{HEAD}{body}")
    }

    #[test]
    fn keys_missing_siblings_required_first() {
        let list = at(&policy("  kprobes:\n  - ‸\n"), &[]);
        assert_eq!(labels(&list)[0], "call", "required first");
        let call = &list.items[0];
        assert_eq!(new_text(call), "call: ");
        assert_eq!(call.detail.as_deref(), Some("string, required"));
        assert!(doc(call).starts_with("The kernel function"));
        // Siblings already written are left out; list keys open a block in the file's style.
        let text = policy(
            "  kprobes:\n  - call: \"do_mkdirat\"\n    syscall: false\n    ‸\n    selectors: []\n",
        );
        let list = at(&text, &[]);
        let l = labels(&list);
        assert!(!l.contains(&"call") && !l.contains(&"syscall") && !l.contains(&"selectors"));
        let args = list.items.iter().find(|i| i.label == "args").unwrap();
        assert_eq!(new_text(args), "args:\n    - ");
        let ret = list.items.iter().find(|i| i.label == "returnArg").unwrap();
        assert_eq!(new_text(ret), "returnArg:\n      ");
        // Indented list style.
        let text = "spec:\n  kprobes:\n    - call: x\n      ‸\n";
        let list = at(text, &[]);
        let args = list.items.iter().find(|i| i.label == "args").unwrap();
        assert_eq!(new_text(args), "args:\n        - ");
        // Editing a key that has its colon: the name alone.
        let list = at(&policy("  kprobes:\n  - cal‸l: x\n"), &[]);
        assert_eq!(new_text(&list.items[0]), "call");
        // The root: apiVersion with its value; CRLF files get CRLF.
        let list = at("‸\r\nspec:\r\n  kprobes: []\r\n", &[]);
        assert_eq!(labels(&list), ["metadata", "apiVersion", "kind"]);
        assert_eq!(new_text(&list.items[0]), "metadata:\r\n  ");
        assert_eq!(new_text(&list.items[1]), "apiVersion: cilium.io/v1alpha1");
    }

    #[test]
    fn a_new_list_item_under_its_key() {
        // Deeper than `args:`, which has no value yet: `- index: `.
        let list = at(
            &policy("  kprobes:\n  - call: x\n    args:\n      ‸\n"),
            &[],
        );
        assert_eq!(labels(&list)[..2], ["index", "type"]);
        assert_eq!(new_text(&list.items[0]), "- index: ");
        // Under an indented list that has items, at the items' column.
        let list = at(
            &policy("  kprobes:\n    - call: x\n      args:\n        - index: 0\n        ‸\n"),
            &[],
        );
        assert_eq!(new_text(&list.items[0]), "- index: ");
        // In a flow mapping: `key: ` alone.
        let list = at(&policy("  kprobes:\n  - call: x\n    selectors:\n    - matchBinaries: [{operator: In, v‸}]\n"), &[]);
        assert_eq!(labels(&list), ["values", "followChildren"]);
        assert_eq!(new_text(&list.items[0]), "values: ");
        // Scalars: `- value`.
        let list = at(
            &policy("  kprobes:\n  - call: x\n    selectors:\n    - matchCapabilities:\n      - operator: In\n        values:\n          ‸\n"),
            &[],
        );
        assert_eq!(new_text(&list.items[0]), "- CAP_CHOWN");
    }

    #[test]
    fn enum_and_boolean_values() {
        let list = at(&policy("  kprobes:\n  - call: x\n    selectors:\n    - matchBinaries:\n      - operator: ‸\n"), &[]);
        assert_eq!(labels(&list), table::BINARY_OPERATORS);
        let list = at(
            &policy("  kprobes:\n  - call: do_mkdirat\n    syscall: ‸\n"),
            &[],
        );
        assert_eq!(
            labels(&list),
            ["false", "true"],
            "a kernel function: false first"
        );
        let list = at(
            &policy("  kprobes:\n  - call: sys_openat\n    syscall: ‸\n"),
            &[],
        );
        assert_eq!(labels(&list), ["true", "false"]);
        let list = at("kind: Tracing‸", &[]);
        assert_eq!(labels(&list), ["TracingPolicy", "TracingPolicyNamespaced"]);
        // `key:` with no space: the value gets one.
        let list = at("kind:‸", &[]);
        assert_eq!(new_text(&list.items[0]), " TracingPolicy");
        let list = at(
            &policy("  selectorsMacros:\n    m1:\n      matchPIDs:\n      - operator: ‸\n"),
            &[],
        );
        assert_eq!(labels(&list), ["In", "NotIn"]);
        let list = at(&policy("  kprobes:\n  - call: x\n    selectors:\n    - matchNamespaces:\n      - namespace: ‸\n"), &[]);
        assert_eq!(labels(&list), table::NAMESPACES);
        assert!(!list.is_incomplete);
    }

    #[test]
    fn calls_prefix_and_fuzzy_across_kernels() {
        let k = kernels();
        let list = at(&policy("  kprobes:\n  - call: do_mkd‸\n"), k);
        assert!(list.is_incomplete);
        assert_eq!(labels(&list)[..2], ["do_mkdirat", "do_mknodat"]);
        let first = &list.items[0];
        assert_eq!(
            first.detail.as_deref(),
            Some("int do_mkdirat(int dfd, struct filename *name, umode_t mode) (adds `syscall: false`)")
        );
        // `syscall` is unset (true): choosing a function adds `syscall: false` after the call.
        let extra = first.additional_text_edits.as_ref().unwrap();
        assert_eq!(extra[0].new_text, "    syscall: false\n");
        assert_eq!(extra[0].range.start, Position::new(7, 0));
        // Fuzzy matches follow, marked with the kernels that lack them.
        let missing = list
            .items
            .iter()
            .find(|i| i.label == "xfs_dqinode_mkdir_parent")
            .unwrap();
        assert_eq!(
            missing
                .label_details
                .as_ref()
                .unwrap()
                .description
                .as_deref(),
            Some("not on 6.1.0-56-amd64, 6.12.117+deb12-amd64")
        );
        assert!(list.items.len() <= MAX_ITEMS);
        // `syscall: false` written: functions only, no extra edit.
        let list = at(
            &policy("  kprobes:\n  - call: \"do_mkd‸\"\n    syscall: false\n"),
            k,
        );
        assert_eq!(labels(&list)[0], "do_mkdirat");
        assert!(list.items[0].additional_text_edits.is_none());
        // Inside quotes the name alone replaces the word.
        assert_eq!(new_text(&list.items[0]), "do_mkdirat");
    }

    #[test]
    fn syscalls_with_their_arguments() {
        let k = kernels();
        let list = at(&policy("  kprobes:\n  - call: sys_op‸\n"), k);
        assert_eq!(
            labels(&list)[..3],
            ["sys_open", "sys_openat", "sys_openat2"]
        );
        assert_eq!(
            list.items[1].detail.as_deref(),
            Some("long sys_openat(int dfd, const char *filename, int flags, umode_t mode)")
        );
        // `syscall: true`: syscalls only, found by their bare names too.
        let list = at(
            &policy("  kprobes:\n  - call: openat‸\n    syscall: true\n"),
            k,
        );
        assert_eq!(labels(&list)[..2], ["sys_openat", "sys_openat2"]);
        assert!(list.items.iter().all(|i| i.label.starts_with("sys_")));
        // Without kernels: the syscall table.
        let list = at(&policy("  kprobes:\n  - call: sys_execve‸\n"), &[]);
        assert_eq!(labels(&list)[..2], ["sys_execve", "sys_execveat"]);
        // A list name.
        let list = at(
            &policy(
                "  lists:\n  - name: \"mine\"\n    type: syscalls\n  kprobes:\n  - call: list:‸\n",
            ),
            &[],
        );
        assert_eq!(labels(&list)[0], "list:mine");
    }

    #[test]
    fn lsm_hooks_and_tracepoints() {
        let k = kernels();
        let list = at(&policy("  lsmhooks:\n  - hook: file_o‸\n"), k);
        assert_eq!(labels(&list)[0], "file_open");
        assert_eq!(
            list.items[0].detail.as_deref(),
            Some("int bpf_lsm_file_open(struct file *file)")
        );
        let post = list
            .items
            .iter()
            .find(|i| i.label == "file_post_open")
            .unwrap();
        assert_eq!(
            post.label_details.as_ref().unwrap().description.as_deref(),
            Some("not on 6.1.0-56-amd64")
        );
        let list = at(&policy("  tracepoints:\n  - subsystem: raw‸\n"), &k[..1]);
        assert_eq!(labels(&list)[0], "raw_syscalls");
        let list = at(
            &policy("  tracepoints:\n  - subsystem: syscalls\n    event: sys_enter_opena‸\n"),
            &k[..1],
        );
        assert_eq!(
            labels(&list)[..2],
            ["sys_enter_openat", "sys_enter_openat2"]
        );
        assert_eq!(
            list.items[0].detail.as_deref(),
            Some("fields: int dfd, const char * filename, int flags, umode_t mode")
        );
        // Other subsystems from BTF (which does not record subsystems).
        let list = at(
            &policy("  tracepoints:\n  - subsystem: sched\n    event: sched_process_ex‸\n"),
            &k[2..],
        );
        assert_eq!(
            labels(&list)[..2],
            ["sched_process_exec", "sched_process_exit"]
        );
    }

    #[test]
    fn arg_types_that_fit_the_parameter_first() {
        let k = kernels();
        let text = policy("  kprobes:\n  - call: do_mkdirat\n    syscall: false\n    args:\n    - index: 1\n      type: ‸\n");
        let list = at(&text, k);
        assert_eq!(labels(&list)[..4], ["filename", "ulong", "uint64", "nop"]);
        assert_eq!(
            list.items[0].detail.as_deref(),
            Some("reads `struct filename *name`")
        );
        assert_eq!(list.items[0].preselect, Some(true));
        assert_eq!(list.items.len(), table::ARG_TYPES.len());
        // A syscall's argument, from the syscall table.
        let text =
            policy("  kprobes:\n  - call: sys_openat\n    args:\n    - type: ‸\n      index: 1\n");
        let list = at(&text, k);
        assert_eq!(labels(&list)[0], "string");
        assert_eq!(
            list.items[0].detail.as_deref(),
            Some("reads `const char *filename`")
        );
        // The return value.
        let text = policy("  kprobes:\n  - call: do_mkdirat\n    syscall: false\n    return: true\n    returnArg:\n      index: 0\n      type: ‸\n");
        assert_eq!(labels(&at(&text, k))[0], "int");
        // Unknown function: every type, in the CRD's order.
        let text = policy("  kprobes:\n  - call: nope\n    syscall: false\n    args:\n    - index: 0\n      type: ‸\n");
        assert_eq!(labels(&at(&text, k))[..2], ["auto", "int"]);
        // `index`: the parameters, with the type that reads each.
        let text = policy("  lsmhooks:\n  - hook: file_permission\n    args:\n    - index: ‸\n");
        let list = at(&text, k);
        assert_eq!(
            show(&list, 2),
            "0 | struct file *file | \"0\" [type: file]\n1 | int mask | \"1\" [type: int]"
        );
    }

    #[test]
    fn operators_for_the_filter_and_the_arg_type() {
        let k = kernels();
        let sel = |ty: &str, filter: &str| {
            policy(&format!("  kprobes:\n  - call: x\n    syscall: false\n    args:\n    - index: 0\n      type: {ty}\n    selectors:\n    - {filter}:\n      - index: 0\n        operator: ‸\n"))
        };
        let file = at(&sel("file", "matchArgs"), k);
        let l = labels(&file);
        assert!(
            l.contains(&"Prefix")
                && l.contains(&"FileType")
                && !l.contains(&"GT")
                && !l.contains(&"DPort")
        );
        let int = at(&sel("int", "matchArgs"), k);
        let l = labels(&int);
        assert!(
            l.contains(&"GT")
                && l.contains(&"Mask")
                && l.contains(&"InMap")
                && !l.contains(&"Prefix")
        );
        let sock = at(&sel("sock", "matchArgs"), k);
        let l = labels(&sock);
        assert!(l.contains(&"DPort") && l.contains(&"Protocol") && !l.contains(&"Equal"));
        assert_eq!(
            sock.items[0]
                .label_details
                .as_ref()
                .unwrap()
                .description
                .as_deref(),
            Some("on sock")
        );
        // matchData counts positions in `data`; no data: every operator.
        assert_eq!(
            at(&sel("sock", "matchData"), k).items.len(),
            table::ARG_OPERATORS.len()
        );
        // A new `- operator: ` line in a document that does not parse (tabs): the arg's type
        // comes from the last good parse, the rest from the text around the cursor.
        let good = sel("int", "matchArgs").replace('‸', "GT");
        let broken = good.replace(
            "    - index: 0\n      type: int\n",
            "\t- index: 0\n\t  type: int\n",
        ) + "      - index: 0\n        operator: ‸\n";
        let (text, offset) = marked(&broken);
        let list = with(&text, k, false, Some(&good), |a| {
            let current = a.current.unwrap();
            assert!(current
                .diagnostics
                .iter()
                .any(|d| d.code.as_str().starts_with('Y')));
            complete_list(a, offset)
        });
        let l = labels(&list);
        assert!(l.contains(&"GT") && !l.contains(&"Prefix"), "{l:?}");
        // Without the last good parse, nothing says the type: every operator.
        let list = with(&text, k, false, None, |a| complete_list(a, offset));
        assert_eq!(list.items.len(), table::ARG_OPERATORS.len());
    }

    #[test]
    fn actions_and_their_parameters() {
        let k = kernels();
        let lsm = policy("  lsmhooks:\n  - hook: file_open\n    selectors:\n    - matchActions:\n      - action: ‸\n");
        let list = at(&lsm, k);
        assert_eq!(labels(&list), facts::LSM_ACTIONS);
        let signal = list.items.iter().find(|i| i.label == "Signal").unwrap();
        assert_eq!(new_text(signal), "Signal\n        argSig: ${1:9}");
        assert_eq!(signal.insert_text_format, Some(InsertTextFormat::SNIPPET));
        let kprobe = policy("  kprobes:\n  - call: sys_openat\n    selectors:\n    - matchActions:\n      - action: ‸\n        argSig: 19\n");
        let list = at(&kprobe, k);
        assert!(labels(&list).contains(&"GetUrl"));
        let signal = list.items.iter().find(|i| i.label == "Signal").unwrap();
        assert_eq!(new_text(signal), "Signal", "argSig is already there");
        // Parameters after the action: the ones it needs, then the ones it takes.
        let params = policy("  kprobes:\n  - call: sys_openat\n    selectors:\n    - matchActions:\n      - action: Post\n        ‸\n");
        assert_eq!(
            labels(&at(&params, k)),
            [
                "rateLimit",
                "rateLimitScope",
                "kernelStackTrace",
                "userStackTrace",
                "imaHash"
            ]
        );
        let params = policy("  kprobes:\n  - call: sys_openat\n    selectors:\n    - matchActions:\n      - action: Override\n        ‸\n");
        let list = at(&params, k);
        assert_eq!(labels(&list)[0], "argError");
        assert_eq!(
            list.items[0].detail.as_deref(),
            Some("integer (-2147483648 to 2147483647), needed by this action")
        );
        // Signal names give their numbers.
        let sig = policy("  kprobes:\n  - call: sys_openat\n    selectors:\n    - matchActions:\n      - action: Signal\n        argSig: ‸\n");
        let list = at(&sig, k);
        assert_eq!(show(&list, 1), "SIGHUP | signal 1 | \"1\" [1]");
    }

    #[test]
    fn filter_values() {
        let caps = policy("  kprobes:\n  - call: x\n    selectors:\n    - matchCapabilities:\n      - operator: In\n        values:\n        - CAP_SYS_‸\n");
        let list = at(&caps, &[]);
        assert_eq!(list.items.len(), facts::CAPABILITIES.len());
        assert_eq!(list.items[21].label, "CAP_SYS_ADMIN");
        let flow = policy("  kprobes:\n  - call: x\n    selectors:\n    - matchNamespaceChanges:\n      - operator: In\n        values: [Mnt, ‸]\n");
        assert_eq!(labels(&at(&flow, &[])), facts::NAMESPACE_CHANGE_KINDS);
        let proto = policy("  kprobes:\n  - call: x\n    args:\n    - index: 0\n      type: sock\n    selectors:\n    - matchArgs:\n      - index: 0\n        operator: Protocol\n        values:\n        - \"IPPROTO_‸\"\n");
        let list = at(&proto, &[]);
        assert_eq!(show(&list, 1), "IPPROTO_IP | 0 | \"IPPROTO_IP\"");
        let macros = policy("  selectorsMacros:\n    deny: {}\n  kprobes:\n  - call: x\n    selectors:\n    - macros: [‸]\n");
        assert_eq!(labels(&at(&macros, &[])), ["deny"]);
    }

    #[test]
    fn an_open_quote_is_closed_by_the_value() {
        let k = kernels();
        let list = at(
            &policy("  kprobes:\n  - call: \"do_mkd‸\n    syscall: false\n"),
            k,
        );
        assert_eq!(labels(&list)[0], "do_mkdirat");
        assert_eq!(new_text(&list.items[0]), "do_mkdirat\"");
        // Closed already: the name alone.
        let list = at(
            &policy("  kprobes:\n  - call: \"do_mkd‸\"\n    syscall: false\n"),
            k,
        );
        assert_eq!(new_text(&list.items[0]), "do_mkdirat");
        // Single quotes, an enum value.
        let list = at("kind: 'Tracing‸", &[]);
        assert_eq!(new_text(&list.items[0]), "TracingPolicy'");
    }

    #[test]
    fn server_managed_metadata_is_left_out() {
        let list = at(
            "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  ‸\n",
            &[],
        );
        let l = labels(&list);
        assert!(l.contains(&"name") && l.contains(&"labels"), "{l:?}");
        for f in SERVER_MANAGED {
            assert!(!l.contains(f), "{f} in {l:?}");
        }
    }

    #[test]
    fn wrappers_come_last_in_calls() {
        let k = kernels();
        let list = at(
            &policy("  kprobes:\n  - call: sys_openat‸\n    syscall: false\n"),
            &k[2..],
        );
        let l = labels(&list);
        let first_wrapper = l.iter().position(|n| is_wrapper(n)).expect("a wrapper");
        assert!(
            l[first_wrapper..].iter().all(|n| is_wrapper(n)),
            "wrappers last: {l:?}"
        );
        assert!(first_wrapper > 0, "{l:?}");
        assert_eq!(l[0], "do_sys_openat2");
        assert!(l.contains(&"__ia32_sys_openat"), "{l:?}");
    }

    #[test]
    fn tracepoint_subsystems_and_events_from_the_reference_table() {
        let k = kernels();
        // BTF kernels: the subsystems of their events, by the table; not only syscalls.
        let list = at(&policy("  tracepoints:\n  - subsystem: ‸\n"), k);
        let l = labels(&list);
        for s in ["sched", "syscalls", "raw_syscalls", "net", "block"] {
            assert!(l.contains(&s), "{s} in {l:?}");
        }
        assert!(list.items.iter().any(|i| i
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("reference table of Linux "))));
        // No kernel: the table's subsystems.
        let l = labels(&at(&policy("  tracepoints:\n  - subsystem: sch‸\n"), &[])).join(" ");
        assert!(l.starts_with("sched"), "{l}");
        // `event:` is filtered by the subsystem written.
        let table = tracepoints::table();
        for kernels in [k, &[][..]] {
            let list = at(
                &policy("  tracepoints:\n  - subsystem: sched\n    event: ‸\n"),
                kernels,
            );
            assert!(!list.items.is_empty());
            let sched = table.events_of("sched");
            assert!(
                list.items.iter().all(|i| sched.contains(&i.label.as_str())),
                "{:?}",
                labels(&list)
            );
        }
        // A subsystem the table does not know: every event, each with its subsystem.
        let list = at(
            &policy("  tracepoints:\n  - subsystem: mymodule\n    event: sched_process_ex‸\n"),
            &k[2..],
        );
        assert_eq!(labels(&list)[0], "sched_process_exec");
        assert_eq!(list.items[0].detail.as_deref(), Some("subsystem: sched"));
    }

    #[test]
    fn skeletons_at_the_top_of_a_document() {
        let list = at("‸", &[]);
        let l = labels(&list);
        assert_eq!(
            l[..3],
            [
                "TracingPolicy with a kprobe",
                "TracingPolicy with a tracepoint",
                "TracingPolicy with an LSM hook"
            ]
        );
        let kprobe = &list.items[0];
        assert_eq!(kprobe.insert_text_format, Some(InsertTextFormat::SNIPPET));
        assert_eq!(
            new_text(kprobe),
            "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: \"${1:my-policy}\"\nspec:\n  kprobes:\n  - call: \"${2:security_file_open}\"\n    syscall: false\n    args:\n    - index: 0\n      type: \"${3:file}\"\n    $0"
        );
        // The header written: the rest of the policy; namespaced gets a namespace.
        let list = at(
            "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicyNamespaced\n‸",
            &[],
        );
        let t = new_text(&list.items[0]);
        assert!(
            t.starts_with("metadata:\n  name: \"${1:my-policy}\"\n  namespace:"),
            "{t}"
        );
        // Not once the policy has more than its header.
        let list = at(
            "apiVersion: cilium.io/v1alpha1\nmetadata:\n  name: x\n‸",
            &[],
        );
        assert!(list
            .items
            .iter()
            .all(|i| i.kind != Some(CompletionItemKind::SNIPPET)));
        // CRLF files get CRLF.
        let list = at("‸\r\n# c\r\n", &[]);
        assert!(new_text(&list.items[0]).contains("\r\nkind: TracingPolicy\r\n"));
    }

    #[test]
    fn a_new_document_gets_the_header_only() {
        let header = |text: &str| {
            let (text, offset) = marked(text);
            with(&text, &[], false, None, |a| complete_header(a, offset))
        };
        let list = header("‸");
        let l = labels(&list);
        assert_eq!(l.len(), 5, "{l:?}");
        assert!(l.contains(&"apiVersion") && l.contains(&"kind"), "{l:?}");
        assert!(list.is_incomplete);
        assert_eq!(labels(&header("apiVersion: ‸")), [table::API_VERSION]);
        assert_eq!(labels(&header("api‸"))[3], "apiVersion");
        assert!(header("metadata:\n  ‸").items.is_empty());
        assert!(header("  ‸").items.is_empty());
    }

    /// Complete at every offset of real policies and of broken texts: nothing panics.
    #[test]
    fn any_offset_of_real_and_broken_policies() {
        let mut texts: Vec<String> = Vec::new();
        for dir in [
            "policies/valid",
            "checks/K011",
            "checks/P006",
            "checks/Y001",
            "checks/S001",
        ] {
            let path = crate::context::fixtures::testdata(dir);
            for e in std::fs::read_dir(path).unwrap().flatten() {
                if e.path().extension().is_some_and(|x| x == "yaml") {
                    texts.push(std::fs::read_to_string(e.path()).unwrap());
                }
            }
        }
        texts.push("é:\n  - 😀: [\"\n\t- {a: b, c".into());
        let k = kernels();
        for (n, text) in texts.iter().enumerate() {
            with(text, &[], false, None, |a| {
                for i in 0..=text.len() + 1 {
                    let _ = complete(a, i);
                }
            });
            // With kernels, at every line end (where values are typed).
            with(text, k, false, None, |a| {
                for (i, _) in text.match_indices('\n').filter(|_| n % 3 == 0) {
                    let _ = complete(a, i);
                }
            });
        }
    }

    /// How long completion of `call: do_` takes over the 6.18 kernel's 56k functions (and over
    /// all three kernels), with `syscall: false` (functions only) and with `syscall` unset
    /// (syscalls and functions); printed, not asserted. For a meaningful figure run it alone in
    /// a release build: `cargo test --release -p policyctl-lsp call_completion_time --
    /// --nocapture`.
    #[test]
    fn call_completion_time() {
        use std::time::{Duration, Instant};
        for set in [&kernels()[2..], kernels()] {
            for (what, body) in [
                (
                    "syscall: false",
                    "  kprobes:\n  - call: do_‸\n    syscall: false\n",
                ),
                ("syscall unset", "  kprobes:\n  - call: do_‸\n"),
                (
                    "fuzzy `dmkdat`",
                    "  kprobes:\n  - call: dmkdat‸\n    syscall: false\n",
                ),
            ] {
                let (text, offset) = marked(&policy(body));
                with(&text, set, false, None, |a| {
                    let t = Instant::now();
                    let first = complete_list(a, offset);
                    let build = t.elapsed();
                    assert!(!first.items.is_empty());
                    let mut times: Vec<Duration> = (0..500)
                        .map(|_| {
                            let t = Instant::now();
                            let list = complete_list(a, offset);
                            assert_eq!(list.items.len(), first.items.len());
                            t.elapsed()
                        })
                        .collect();
                    times.sort();
                    eprintln!(
                        "call: {what} over {} kernel(s), {} items: first call {build:?} (builds the name table once), median {:?}, p99 {:?}",
                        set.len(),
                        first.items.len(),
                        times[250],
                        times[495],
                    );
                });
            }
        }
    }

    /// How long completion takes in big files: one document of 1,000 kprobes (about 170 KB,
    /// the cursor in its last hook and in its first), and 300 policies of one hook each; with
    /// the three fixture kernels. Printed, not asserted; for a meaningful figure: `cargo test
    /// --release -p policyctl-lsp big_file_completion_time -- --nocapture`.
    #[test]
    fn big_file_completion_time() {
        use std::time::{Duration, Instant};
        let hook = |i: usize| {
            format!("  - call: \"security_file_open\"\n    syscall: false\n    args:\n    - index: 0\n      type: \"file\"\n    selectors:\n    - matchArgs:\n      - index: 0\n        operator: \"Prefix\"\n        values:\n        - \"/tmp/{i}\"\n")
        };
        let mut one = policy("  kprobes:\n");
        for i in 0..1000 {
            one.push_str(&hook(i));
        }
        let many: Vec<String> = (0..300)
            .map(|i| policy(&format!("  kprobes:\n{}", hook(i))))
            .collect();
        let many = many.join("---\n");
        let cases = [
            (
                "1 document of 1,000 hooks, last hook",
                &one,
                one.rfind("\"Prefix\"").unwrap() + 1,
            ),
            (
                "1 document of 1,000 hooks, first hook",
                &one,
                one.find("\"Prefix\"").unwrap() + 1,
            ),
            (
                "300 documents, last one",
                &many,
                many.rfind("\"Prefix\"").unwrap() + 1,
            ),
        ];
        for (what, text, offset) in cases {
            with(text, kernels(), false, None, |a| {
                let mut times: Vec<Duration> = (0..20)
                    .map(|_| {
                        let t = Instant::now();
                        let list = complete_list(a, offset);
                        assert!(labels(&list).contains(&"Prefix"), "{what}");
                        t.elapsed()
                    })
                    .collect();
                times.sort();
                eprintln!(
                    "{what} ({} KB): median {:?}, max {:?}",
                    text.len() / 1024,
                    times[10],
                    times[19]
                );
            });
        }
    }

    #[test]
    fn table_search_ranks_as_rank_does() {
        let t = name_table(&kernels()[..1]);
        for q in ["do_", "dmkdat", "mkdir", "x", "Mkdir", "", "zzzzz", "é"] {
            let mut all: Vec<(usize, u8, u32)> = (0..t.entries.len())
                .filter_map(|i| rank(q, t.name(i)).map(|(tier, score)| (i, tier, score)))
                .collect();
            all.sort_unstable_by_key(|&(i, tier, score)| (is_wrapper(t.name(i)), tier, score, i));
            let more = all.len() > MAX_ITEMS;
            all.truncate(MAX_ITEMS);
            assert_eq!(t.search(q, MAX_ITEMS), (all, more), "{q}");
        }
    }

    #[test]
    fn ranking() {
        assert_eq!(rank("do_", "do_"), Some((0, 0)));
        assert_eq!(rank("do_", "do_mkdirat"), Some((1, 10)));
        assert_eq!(rank("DO_", "do_x"), Some((2, 4)));
        assert_eq!(rank("mkdir", "do_mkdirat"), Some((3, 10)));
        assert_eq!(rank("mkdir", "xmkdir"), Some((3, 1006)));
        assert_eq!(rank("dmk", "do_mkdirat"), Some((4, 110)));
        assert_eq!(rank("zz", "do_mkdirat"), None);
    }
}
