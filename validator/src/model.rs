//! The typed model of a TracingPolicy, built from the YAML tree after the schema check.
//!
//! Building is tolerant: a field whose value has the wrong type was already reported by the
//! schema check and is left out here, so semantic checks only see well-typed values. Every
//! value keeps the span of its text, and every optional field keeps the span of its key when
//! it was written with no value (`argSig:`), so checks can say "has no value" precisely.

use crate::facts::HookKind;
use crate::source::Span;
use crate::yaml::{Node, Value};

/// A value and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Its text.
    pub span: Span,
}

/// The two kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Kind {
    /// Cluster-wide `TracingPolicy`.
    TracingPolicy,
    /// `TracingPolicyNamespaced`.
    TracingPolicyNamespaced,
}

/// A policy document.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Its kind.
    pub kind: Kind,
    /// `metadata.name`.
    pub name: Option<Spanned<String>>,
    /// `metadata.namespace`.
    pub namespace: Option<Spanned<String>>,
    /// The whole document.
    pub span: Span,
    /// `spec`.
    pub spec: Spec,
}

/// `spec`.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    /// The span of `spec`'s key (or of the document when it is missing).
    pub span: Span,
    /// Hook sections present, with the span of their key.
    pub sections: Vec<(HookKind, Span)>,
    /// All hooks of all sections, in order.
    pub hooks: Vec<Hook>,
    /// `lists`.
    pub lists: Vec<List>,
    /// `enforcers` (their spans).
    pub enforcers: Vec<Span>,
    /// The span of the `enforcers` key.
    pub enforcers_key: Option<Span>,
    /// The `calls` of every enforcer, in order.
    pub enforcer_calls: Vec<Spanned<String>>,
    /// `options`.
    pub options: Vec<OptionSpec>,
    /// Names defined in `selectorsMacros`.
    pub macros: Vec<Spanned<String>>,
    /// `hostSelector` present: its key span and whether it is empty.
    pub host_selector: Option<(Span, bool)>,
    /// `loader: true`.
    pub loader: bool,
    /// `podSelector` or `containerSelector` is written with something in it: the policy applies
    /// to some workloads only.
    pub workload_selector: bool,
}

/// One hook of any kind.
#[derive(Clone, Debug)]
pub struct Hook {
    /// Its section.
    pub kind: HookKind,
    /// Its position in its section.
    pub index: usize,
    /// The item's span.
    pub span: Span,
    /// kprobe/fentry `call`, lsmhook `hook`, uprobe/usdt `path`, tracepoint `event`.
    pub target: Option<Spanned<String>>,
    /// Tracepoint `subsystem`.
    pub subsystem: Option<Spanned<String>>,
    /// Tracepoint `raw`.
    pub raw: bool,
    /// `syscall` as written (None: the CRD default, true).
    pub syscall: Option<Spanned<bool>>,
    /// `return` as written.
    pub ret: Option<Spanned<bool>>,
    /// `args`.
    pub args: Vec<Arg>,
    /// `data`.
    pub data: Vec<Arg>,
    /// `returnArg`.
    pub return_arg: Option<Arg>,
    /// Key span of `returnArg`.
    pub return_arg_key: Option<Span>,
    /// `returnArgAction`.
    pub return_arg_action: Option<Spanned<String>>,
    /// `selectors`.
    pub selectors: Vec<Selector>,
    /// `message`.
    pub message: Option<Spanned<String>>,
    /// `tags`.
    pub tags: Vec<Spanned<String>>,
    /// uprobe `symbols`.
    pub symbols: Vec<Spanned<String>>,
    /// uprobe `symbols`, `offsets`, `addrs`, `refCtrOffsets`: key span and item count.
    pub uprobe_addressing: Vec<(&'static str, Span, usize)>,
    /// `ignore.callNotFound: true`: a call missing from the kernel is skipped, not fatal.
    pub ignore_call_not_found: bool,
    /// uprobe `offsets` (file offsets in the binary), as written.
    pub offsets: Vec<Spanned<String>>,
    /// usdt `provider`.
    pub usdt_provider: Option<Spanned<String>>,
    /// usdt `name`.
    pub usdt_name: Option<Spanned<String>>,
    /// uprobe and usdt `btfPath` (matched ignoring case, so `BTFPath` too): the binary's BTF
    /// file, which `resolve` with `btfType` walks.
    pub btf_path: Option<Spanned<String>>,
    /// uprobe `addrs` (virtual addresses in the binary), as written.
    pub addrs: Vec<Spanned<String>>,
    /// uprobe `refCtrOffsets` (file offsets of the reference counters, one per symbol or
    /// offset), as written.
    pub ref_ctr_offsets: Vec<Spanned<String>>,
}

impl Hook {
    /// True when `syscall` is true, written or by default (kprobes and fentries only).
    pub fn is_syscall(&self) -> bool {
        matches!(self.kind, HookKind::Kprobe | HookKind::Fentry)
            && self.syscall.as_ref().is_none_or(|s| s.value)
    }

    /// True when `return: true`.
    pub fn returns(&self) -> bool {
        self.ret.as_ref().is_some_and(|r| r.value)
    }

    /// The declared arg with this `index`.
    pub fn arg(&self, index: i64) -> Option<&Arg> {
        self.args
            .iter()
            .find(|a| a.index.as_ref().is_some_and(|i| i.value == index))
    }

    /// The declared arg indexes, as text, for messages.
    pub fn declared_indexes(&self) -> Vec<String> {
        self.args
            .iter()
            .filter_map(|a| a.index.as_ref().map(|i| i.value.to_string()))
            .collect()
    }

    /// The arg a matchArgs `index` refers to. For tracepoints Tetragon's own examples use both
    /// the format field index (`args[].index`) and the position in `args`, so both are accepted,
    /// the field index first.
    pub fn filtered_arg(&self, index: i64) -> Option<&Arg> {
        self.arg(index).or_else(|| {
            if self.kind == HookKind::Tracepoint {
                usize::try_from(index).ok().and_then(|p| self.args.get(p))
            } else {
                None
            }
        })
    }

    /// A description for messages: "kprobe `do_mkdirat`".
    pub fn describe(&self) -> String {
        match &self.target {
            Some(t) => format!("{} `{}`", self.kind.noun(), t.value),
            None => format!("{} #{}", self.kind.noun(), self.index),
        }
    }
}

/// An entry of `args`, `data` or `returnArg`.
#[derive(Clone, Debug)]
pub struct Arg {
    /// The item's span.
    pub span: Span,
    /// `index`.
    pub index: Option<Spanned<i64>>,
    /// `type` (None when not written: the CRD default `auto`).
    pub ty: Option<Spanned<String>>,
    /// `sizeArgIndex`.
    pub size_arg_index: Option<Spanned<i64>>,
    /// `maxData: true`.
    pub max_data: Option<Spanned<bool>>,
    /// `resolve`.
    pub resolve: Option<Spanned<String>>,
    /// `source`.
    pub source: Option<Spanned<String>>,
    /// `btfType`: the struct the argument is cast to before `resolve`.
    pub btf_type: Option<Spanned<String>>,
    /// `label`: the name events give the argument.
    pub label: Option<Spanned<String>>,
    /// `returnCopy`: the argument is read again when the function returns.
    pub return_copy: Option<Spanned<bool>>,
    /// `btfTypeModule`: the module whose BTF holds `btfType`.
    pub btf_type_module: Option<Spanned<String>>,
}

impl Arg {
    /// The type, with the CRD default.
    pub fn type_name(&self) -> &str {
        self.ty.as_ref().map_or("auto", |t| t.value.as_str())
    }
}

/// A selector.
#[derive(Clone, Debug, Default)]
pub struct Selector {
    /// The item's span.
    pub span: Span,
    /// `matchArgs` and its key span.
    pub match_args: Vec<ArgFilter>,
    /// `matchData`.
    pub match_data: Vec<ArgFilter>,
    /// `matchReturnArgs`.
    pub match_return_args: Vec<ArgFilter>,
    /// `matchPIDs`.
    pub match_pids: Vec<SetFilter>,
    /// `matchBinaries`.
    pub match_binaries: Vec<SetFilter>,
    /// `matchParentBinaries`.
    pub match_parent_binaries: Vec<SetFilter>,
    /// `matchNamespaces`.
    pub match_namespaces: Vec<SetFilter>,
    /// `matchNamespaceChanges`.
    pub match_namespace_changes: Vec<SetFilter>,
    /// `matchCapabilities`.
    pub match_capabilities: Vec<SetFilter>,
    /// `matchCapabilityChanges`.
    pub match_capability_changes: Vec<SetFilter>,
    /// `matchActions`.
    pub match_actions: Vec<Action>,
    /// `matchReturnActions`.
    pub match_return_actions: Vec<Action>,
    /// `macros`.
    pub macros: Vec<Spanned<String>>,
    /// Key spans of the filters written, by key.
    pub keys: Vec<(&'static str, Span)>,
}

impl Selector {
    /// The filters written in this selector that limit which calls of the hook it matches,
    /// by key, in a fixed order; `matchReturnArgs` is left out (it limits only the return
    /// actions). A matchBinaries or matchParentBinaries entry without values counts as none:
    /// Tetragon drops it. Macros count as a filter (their contents are not modelled).
    pub fn filters(&self) -> Vec<&'static str> {
        let binaries = |f: &[SetFilter]| f.iter().any(|f| f.values_written > 0);
        [
            ("matchArgs", !self.match_args.is_empty()),
            ("matchData", !self.match_data.is_empty()),
            ("matchPIDs", !self.match_pids.is_empty()),
            ("matchBinaries", binaries(&self.match_binaries)),
            ("matchParentBinaries", binaries(&self.match_parent_binaries)),
            ("matchNamespaces", !self.match_namespaces.is_empty()),
            (
                "matchNamespaceChanges",
                !self.match_namespace_changes.is_empty(),
            ),
            ("matchCapabilities", !self.match_capabilities.is_empty()),
            (
                "matchCapabilityChanges",
                !self.match_capability_changes.is_empty(),
            ),
            ("macros", !self.macros.is_empty()),
        ]
        .into_iter()
        .filter_map(|(k, written)| written.then_some(k))
        .collect()
    }

    /// The key span of a filter list, if written.
    pub fn key(&self, name: &str) -> Option<Span> {
        self.keys.iter().find(|(k, _)| *k == name).map(|(_, s)| *s)
    }
}

/// A `matchArgs`, `matchData` or `matchReturnArgs` entry.
#[derive(Clone, Debug)]
pub struct ArgFilter {
    /// The item's span.
    pub span: Span,
    /// `index`.
    pub index: Option<Spanned<i64>>,
    /// `operator`.
    pub operator: Option<Spanned<String>>,
    /// `values` (strings; non-strings were reported by the schema check).
    pub values: Vec<Spanned<String>>,
    /// Key span of `values`, when written.
    pub values_key: Option<Span>,
    /// Number of items written under `values`, whatever their type.
    pub values_written: usize,
    /// `args`.
    pub args: Vec<Spanned<i64>>,
}

/// An entry of matchPIDs, matchBinaries, matchNamespaces, matchCapabilities and their Changes.
#[derive(Clone, Debug)]
pub struct SetFilter {
    /// The item's span.
    pub span: Span,
    /// `operator`.
    pub operator: Option<Spanned<String>>,
    /// `values` as text (pids are integers in YAML and kept as their text).
    pub values: Vec<Spanned<String>>,
    /// Key span of `values`.
    pub values_key: Option<Span>,
    /// Number of items written under `values`, whatever their type.
    pub values_written: usize,
    /// matchNamespaces `namespace`.
    pub namespace: Option<Spanned<String>>,
    /// matchBinaries `followChildren`, matchPIDs `followForks`.
    pub follow: Option<Spanned<bool>>,
    /// matchPIDs `isNamespacePID`.
    pub namespace_pid: Option<Spanned<bool>>,
    /// matchCapabilities / matchCapabilityChanges `type` (Effective, Inheritable, Permitted).
    pub cap_set: Option<Spanned<String>>,
    /// matchCapabilities / matchCapabilityChanges `isNamespaceCapability`.
    pub namespace_capability: Option<Spanned<bool>>,
}

/// An action.
#[derive(Clone, Debug)]
pub struct Action {
    /// The item's span.
    pub span: Span,
    /// `action`.
    pub action: Option<Spanned<String>>,
    /// Every parameter key written, with its value node (null when written empty).
    pub params: Vec<(String, Span, Node)>,
}

impl Action {
    /// A parameter's value, when written with a value.
    pub fn param(&self, name: &str) -> Option<&Node> {
        self.params
            .iter()
            .find(|(k, _, v)| k == name && !v.is_null())
            .map(|(_, _, v)| v)
    }

    /// The key span of a boolean parameter set to `true`.
    pub fn flag(&self, name: &str) -> Option<Span> {
        self.params
            .iter()
            .find(|(k, _, v)| k == name && v.as_bool() == Some(true))
            .map(|(_, s, _)| *s)
    }

    /// A parameter written with no value.
    pub fn empty_param(&self, name: &str) -> Option<Span> {
        self.params
            .iter()
            .find(|(k, _, v)| k == name && v.is_null())
            .map(|(_, s, _)| *s)
    }
}

/// A `lists` entry.
#[derive(Clone, Debug)]
pub struct List {
    /// The item's span.
    pub span: Span,
    /// `name`.
    pub name: Option<Spanned<String>>,
    /// `type`.
    pub ty: Option<Spanned<String>>,
    /// `values`.
    pub values: Vec<Spanned<String>>,
    /// `pattern`.
    pub pattern: Option<Spanned<String>>,
}

/// An `options` entry.
#[derive(Clone, Debug)]
pub struct OptionSpec {
    /// The item's span.
    pub span: Span,
    /// `name`.
    pub name: Option<Spanned<String>>,
    /// `value`.
    pub value: Option<Spanned<String>>,
}

fn string(node: &Node, key: &str) -> Option<Spanned<String>> {
    let v = node.get(key)?;
    Some(Spanned {
        value: v.as_str()?.to_string(),
        span: v.span,
    })
}

fn int(node: &Node, key: &str) -> Option<Spanned<i64>> {
    let v = node.get(key)?;
    Some(Spanned {
        value: v.as_i64()?,
        span: v.span,
    })
}

fn boolean(node: &Node, key: &str) -> Option<Spanned<bool>> {
    let v = node.get(key)?;
    Some(Spanned {
        value: v.as_bool()?,
        span: v.span,
    })
}

fn items<'a>(node: &'a Node, key: &str) -> &'a [Node] {
    node.get(key).and_then(Node::as_seq).unwrap_or(&[])
}

fn strings(node: &Node, key: &str) -> Vec<Spanned<String>> {
    items(node, key)
        .iter()
        .filter_map(|v| {
            v.as_str().map(|s| Spanned {
                value: s.to_string(),
                span: v.span,
            })
        })
        .collect()
}

fn scalars(node: &Node, key: &str) -> Vec<Spanned<String>> {
    items(node, key)
        .iter()
        .filter(|v| matches!(v.value, Value::Str { .. } | Value::Int(_)))
        .map(|v| Spanned {
            value: v.scalar_text(),
            span: v.span,
        })
        .collect()
}

/// How many values were written, whatever their type (a scalar where a list belongs counts as
/// one, so that "no values" is only said when there are none).
fn written(node: &Node, key: &str) -> usize {
    match node.get(key) {
        None => 0,
        Some(v) if v.is_null() => 0,
        Some(v) => v.as_seq().map_or(1, <[_]>::len),
    }
}

fn key_span(node: &Node, key: &str) -> Option<Span> {
    node.entry(key).map(|e| e.key.span)
}

impl Policy {
    /// Build the model of a policy document whose root is a mapping.
    pub fn from_node(root: &Node, kind: Kind) -> Policy {
        let meta = root.get("metadata");
        Policy {
            kind,
            name: meta.and_then(|m| string(m, "name")),
            namespace: meta.and_then(|m| string(m, "namespace")),
            span: root.span,
            spec: root
                .entry("spec")
                .map(|e| Spec::from_node(&e.value, e.key.span))
                .unwrap_or_default(),
        }
    }
}

impl Spec {
    /// The value of option `name`, as Tetragon applies `options` (in order, so the last one
    /// wins; `pkg/sensors/tracing/options.go` getSpecOptions).
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|o| o.name.as_ref().is_some_and(|n| n.value == name))
            .map(|o| o.value.as_ref().map_or("", |v| v.value.as_str()))
    }

    /// Option `name` read as Go's `strconv.ParseBool` reads it; `None` when the option is
    /// absent or its value does not parse (P005 reports that).
    pub fn option_bool(&self, name: &str) -> Option<bool> {
        self.option(name).and_then(crate::golang::parse_bool)
    }

    fn from_node(node: &Node, key: Span) -> Spec {
        let mut spec = Spec {
            span: key,
            ..Spec::default()
        };
        for (kind, name) in HookKind::ALL {
            let Some(entry) = node.entry(name) else {
                continue;
            };
            spec.sections.push((kind, entry.key.span));
            for (i, item) in entry.value.as_seq().unwrap_or(&[]).iter().enumerate() {
                if item.as_map().is_some() {
                    spec.hooks.push(Hook::from_node(item, kind, i));
                }
            }
        }
        spec.lists = items(node, "lists")
            .iter()
            .map(|l| List {
                span: l.span,
                name: string(l, "name"),
                ty: string(l, "type"),
                values: strings(l, "values"),
                pattern: string(l, "pattern"),
            })
            .collect();
        spec.enforcers = items(node, "enforcers").iter().map(|e| e.span).collect();
        spec.enforcers_key = key_span(node, "enforcers");
        spec.enforcer_calls = items(node, "enforcers")
            .iter()
            .flat_map(|e| strings(e, "calls"))
            .collect();
        spec.options = items(node, "options")
            .iter()
            .map(|o| OptionSpec {
                span: o.span,
                name: string(o, "name"),
                value: string(o, "value"),
            })
            .collect();
        if let Some(m) = node.get("selectorsMacros").and_then(Node::as_map) {
            spec.macros = m
                .iter()
                .map(|e| Spanned {
                    value: e.key.scalar_text(),
                    span: e.key.span,
                })
                .collect();
        }
        if let Some(e) = node.entry("hostSelector") {
            let empty = e.value.is_null() || e.value.as_map().is_some_and(<[_]>::is_empty);
            spec.host_selector = Some((e.key.span, empty));
        }
        spec.loader = node.get("loader").and_then(Node::as_bool).unwrap_or(false);
        spec.workload_selector = ["podSelector", "containerSelector"].iter().any(|k| {
            node.get(k)
                .and_then(Node::as_map)
                .is_some_and(|m| !m.is_empty())
        });
        spec
    }
}

impl Hook {
    fn from_node(node: &Node, kind: HookKind, index: usize) -> Hook {
        let target_key = match kind {
            HookKind::Kprobe | HookKind::Fentry => "call",
            HookKind::Lsm => "hook",
            HookKind::Tracepoint => "event",
            HookKind::Uprobe | HookKind::Usdt => "path",
        };
        let return_arg = node.get("returnArg").filter(|n| n.as_map().is_some());
        Hook {
            kind,
            index,
            span: node.span,
            target: string(node, target_key),
            subsystem: string(node, "subsystem"),
            raw: node.get("raw").and_then(Node::as_bool).unwrap_or(false),
            syscall: boolean(node, "syscall"),
            ret: boolean(node, "return"),
            args: args(node, "args"),
            data: args(node, "data"),
            return_arg: return_arg.map(Arg::from_node),
            return_arg_key: key_span(node, "returnArg"),
            return_arg_action: string(node, "returnArgAction"),
            selectors: items(node, "selectors")
                .iter()
                .filter(|s| s.as_map().is_some())
                .map(Selector::from_node)
                .collect(),
            message: string(node, "message"),
            tags: strings(node, "tags"),
            symbols: strings(node, "symbols"),
            uprobe_addressing: ["symbols", "offsets", "addrs", "refCtrOffsets"]
                .into_iter()
                .filter_map(|k| {
                    let e = node.entry(k)?;
                    Some((k, e.key.span, e.value.as_seq().map_or(0, <[_]>::len)))
                })
                .collect(),
            ignore_call_not_found: node
                .get("ignore")
                .and_then(|i| i.get("callNotFound"))
                .and_then(Node::as_bool)
                .unwrap_or(false),
            offsets: scalars(node, "offsets"),
            usdt_provider: (kind == HookKind::Usdt)
                .then(|| string(node, "provider"))
                .flatten(),
            usdt_name: (kind == HookKind::Usdt)
                .then(|| string(node, "name"))
                .flatten(),
            btf_path: matches!(kind, HookKind::Uprobe | HookKind::Usdt)
                .then(|| string(node, "btfPath"))
                .flatten()
                .filter(|p| !p.value.is_empty()),
            addrs: scalars(node, "addrs"),
            ref_ctr_offsets: scalars(node, "refCtrOffsets"),
        }
    }
}

fn args(node: &Node, key: &str) -> Vec<Arg> {
    items(node, key)
        .iter()
        .filter(|a| a.as_map().is_some())
        .map(Arg::from_node)
        .collect()
}

impl Arg {
    fn from_node(node: &Node) -> Arg {
        Arg {
            span: node.span,
            index: int(node, "index"),
            ty: string(node, "type"),
            size_arg_index: int(node, "sizeArgIndex"),
            max_data: boolean(node, "maxData"),
            resolve: string(node, "resolve").filter(|r| !r.value.is_empty()),
            source: string(node, "source"),
            btf_type: string(node, "btfType").filter(|r| !r.value.is_empty()),
            label: string(node, "label").filter(|l| !l.value.is_empty()),
            return_copy: boolean(node, "returnCopy"),
            btf_type_module: string(node, "btfTypeModule").filter(|m| !m.value.is_empty()),
        }
    }
}

const SELECTOR_KEYS: &[&str] = &[
    "matchArgs",
    "matchData",
    "matchReturnArgs",
    "matchPIDs",
    "matchBinaries",
    "matchParentBinaries",
    "matchNamespaces",
    "matchNamespaceChanges",
    "matchCapabilities",
    "matchCapabilityChanges",
    "matchActions",
    "matchReturnActions",
    "macros",
];

impl Selector {
    fn from_node(node: &Node) -> Selector {
        let arg_filters = |key| {
            items(node, key)
                .iter()
                .filter(|f| f.as_map().is_some())
                .map(|f| ArgFilter {
                    span: f.span,
                    index: int(f, "index"),
                    operator: string(f, "operator"),
                    values: strings(f, "values"),
                    values_key: key_span(f, "values"),
                    values_written: written(f, "values"),
                    args: items(f, "args")
                        .iter()
                        .filter_map(|a| {
                            Some(Spanned {
                                value: a.as_i64()?,
                                span: a.span,
                            })
                        })
                        .collect(),
                })
                .collect::<Vec<_>>()
        };
        let set_filters = |key, follow| {
            items(node, key)
                .iter()
                .filter(|f| f.as_map().is_some())
                .map(|f| SetFilter {
                    span: f.span,
                    operator: string(f, "operator"),
                    values: scalars(f, "values"),
                    values_key: key_span(f, "values"),
                    values_written: written(f, "values"),
                    namespace: string(f, "namespace"),
                    follow: boolean(f, follow),
                    namespace_pid: boolean(f, "isNamespacePID"),
                    cap_set: string(f, "type"),
                    namespace_capability: boolean(f, "isNamespaceCapability"),
                })
                .collect::<Vec<_>>()
        };
        let actions = |key| {
            items(node, key)
                .iter()
                .filter_map(|a| {
                    let entries = a.as_map()?;
                    Some(Action {
                        span: a.span,
                        action: string(a, "action"),
                        params: entries
                            .iter()
                            .filter(|e| e.key.as_str() != Some("action"))
                            .map(|e| (e.key.scalar_text(), e.key.span, e.value.clone()))
                            .collect(),
                    })
                })
                .collect::<Vec<_>>()
        };
        Selector {
            span: node.span,
            match_args: arg_filters("matchArgs"),
            match_data: arg_filters("matchData"),
            match_return_args: arg_filters("matchReturnArgs"),
            match_pids: set_filters("matchPIDs", "followForks"),
            match_binaries: set_filters("matchBinaries", "followChildren"),
            match_parent_binaries: set_filters("matchParentBinaries", "followChildren"),
            match_namespaces: set_filters("matchNamespaces", ""),
            match_namespace_changes: set_filters("matchNamespaceChanges", ""),
            match_capabilities: set_filters("matchCapabilities", ""),
            match_capability_changes: set_filters("matchCapabilityChanges", ""),
            match_actions: actions("matchActions"),
            match_return_actions: actions("matchReturnActions"),
            macros: strings(node, "macros"),
            keys: SELECTOR_KEYS
                .iter()
                .filter_map(|k| Some((*k, key_span(node, k)?)))
                .collect(),
        }
    }
}
