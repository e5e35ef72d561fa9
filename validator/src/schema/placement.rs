//! Where a key that is not a field of its object belongs (`S001`): an action written straight
//! in a selector goes under `matchActions`, a selector field written in a hook goes inside a
//! selector, `kprobes` at the top of the policy goes under `spec`, and a field from another
//! tool (`matchPaths`, `matchProcesses`, `podSelector` in the wrong place, ...) is named by
//! what Tetragon uses for that idea. Keys that fit none of these get the ordinary
//! "did you mean" of [`super::unknown_field`].
//!
//! Facts: the objects and their fields are [`super::table`] (the CRD, from
//! pkg/k8s/apis/cilium.io/v1alpha1/types.go and tracing_policy_types.go).

use super::table::{
    Obj, ACTION_SELECTOR, KPROBE, LSMHOOK, METADATA, SELECTOR, SPEC, TRACEPOINT, UPROBE, USDT,
};
use super::{describe, unknown_field};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::suggest::{did_you_mean, singular};
use crate::yaml::{Entry, Node, Value};

/// Where an object sits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Spec,
    Hook,
    Selector,
    /// An item of a selector's list (`matchArgs`, `matchBinaries`, ..., `matchActions`).
    Filter,
    Other,
}

fn level(obj: &Obj) -> Level {
    match obj.name {
        "TracingPolicy" => Level::Root,
        "TracingPolicySpec" => Level::Spec,
        "KProbeSpec" | "TracepointSpec" | "UProbeSpec" | "UsdtSpec" | "LsmHookSpec" => Level::Hook,
        "KProbeSelector" => Level::Selector,
        "ArgSelector"
        | "PIDSelector"
        | "BinarySelector"
        | "NamespaceSelector"
        | "NamespaceChangesSelector"
        | "CapabilitiesSelector"
        | "ActionSelector" => Level::Filter,
        _ => Level::Other,
    }
}

/// The hook objects, with the spec key that lists them.
const HOOKS: &[(&Obj, &str)] = &[
    (&KPROBE, "kprobes"),
    (&TRACEPOINT, "tracepoints"),
    (&UPROBE, "uprobes"),
    (&USDT, "usdts"),
    (&LSMHOOK, "lsmhooks"),
];

/// What a misplaced key is. The first four are grouped: all keys of one class in one object
/// are one mistake, reported once.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// An action field (`action`, `argSig`, ...) outside an action.
    Action,
    /// A selector field (`matchArgs`, ...) in a hook or `spec`.
    SelectorField,
    /// `index`, `operator`, `values` straight in a selector.
    FilterField,
    /// A hook field (`call`, `selectors`, ...) in `spec` or at the top.
    HookField,
    /// A field of `spec` (`kprobes`, `podSelector`, ...) elsewhere.
    SpecField,
    /// A field of `metadata` (`name`, `namespace`) at the top.
    MetadataField,
    /// A field of another kind of hook (`returnArg` in a tracepoint).
    OtherHook,
    /// A field from another tool.
    Foreign(&'static Foreign),
}

/// A key from another tool and what Tetragon uses instead. `{key}` in the texts is the key.
#[derive(PartialEq, Eq)]
pub struct Foreign {
    keys: &'static [&'static str],
    message: &'static str,
    help: &'static str,
}

const FOREIGN: &[Foreign] = &[
    Foreign {
        keys: &["matchprocess", "matchprocesses", "matchprocessname", "matchprocessnames", "matchexecutable", "matchexecutables", "matchexe", "matchexes", "matchname", "matchnames", "matchcomm", "matchcomms", "matchcommand", "matchcommands", "matchprogram", "matchprograms", "matchbinaryname", "matchbinarynames", "matchbinarypaths"],
        message: "Tetragon has no `{key}`: a selector matches the process by its executable's path with `matchBinaries`",
        help: "write `matchBinaries: [{operator: In, values: [\"/usr/bin/curl\"]}]` (full paths; `operator: Postfix` with `/curl` matches by name)",
    },
    Foreign {
        keys: &["matchparent", "matchparents", "matchparentprocess", "matchparentprocesses", "matchparentexecutable", "matchparentexecutables", "matchparentname", "matchparentnames"],
        message: "Tetragon has no `{key}`: a selector matches the parent process by its executable's path with `matchParentBinaries`",
        help: "write `matchParentBinaries: [{operator: In, values: [\"/usr/bin/bash\"]}]`",
    },
    Foreign {
        keys: &["matchpaths", "matchpath", "matchfiles", "matchfile", "matchfilename", "matchfilenames", "matchfilepath", "matchfilepaths"],
        message: "Tetragon has no `{key}`: a file's path is an argument of the hook, filtered with `matchArgs`",
        help: "declare the hook's file or path argument in `args` and write `matchArgs: [{index: 0, operator: Equal, values: [\"/etc/shadow\"]}]` (`operator: Prefix` for everything under a directory)",
    },
    Foreign {
        keys: &["matchdirectories", "matchdirectory", "matchdirs", "matchdir", "matchfolders", "matchfolder"],
        message: "Tetragon has no `{key}`: files under a directory are matched with `matchArgs` and `operator: Prefix` on the hook's file or path argument",
        help: "write `matchArgs: [{index: 0, operator: Prefix, values: [\"/etc/\"]}]`",
    },
    Foreign {
        keys: &["matchpatterns", "matchpattern", "matchregex", "matchregexes", "matchregexp", "matchglob", "matchglobs", "matchwildcards"],
        message: "Tetragon has no `{key}`: selectors have no regular expressions or globs",
        help: "filter the argument with `matchArgs` and `operator: Prefix`, `Postfix` or `SubString`",
    },
    Foreign {
        keys: &["matchpods", "matchpod", "matchpodlabels", "podlabels", "pods", "podselectors", "matchpodselector"],
        message: "Tetragon has no `{key}`: pods are chosen by label with `podSelector`, in `spec` for the whole policy or in a selector's `matchWorkloads`",
        help: "write `podSelector: {matchLabels: {app: web}}` under `spec`",
    },
    Foreign {
        keys: &["matchlabels", "matchexpressions", "labelselector"],
        message: "`{key}` belongs in a label selector: pods are chosen with `podSelector`, in `spec` for the whole policy or in a selector's `matchWorkloads`",
        help: "write `podSelector: {matchLabels: {app: web}}` under `spec`",
    },
    Foreign {
        keys: &["matchcontainers", "matchcontainer", "matchcontainername", "matchcontainernames", "containers", "containernames", "matchimages", "matchimage", "containerselectors"],
        message: "Tetragon has no `{key}`: containers are chosen by `name` (or image `repo`) with `containerSelector`, in `spec` for the whole policy or in a selector's `matchWorkloads`",
        help: "write `containerSelector: {matchLabels: {name: app}}` under `spec`",
    },
    Foreign {
        keys: &["namespaceselector", "matchnamespace", "matchk8snamespace", "matchk8snamespaces", "matchkubernetesnamespace", "matchkubernetesnamespaces", "matchnamespacenames", "k8snamespaces", "kubernetesnamespaces", "namespaces"],
        message: "Tetragon has no `{key}`: a policy for one Kubernetes namespace is a `TracingPolicyNamespaced` (`matchNamespaces` matches Linux namespaces, by inode)",
        help: "write `kind: TracingPolicyNamespaced` and `namespace: <name>` under `metadata`",
    },
    Foreign {
        keys: &["matchsyscalls", "matchsyscall", "matchcalls", "matchcall", "matchfunctions", "matchfunction", "syscalls", "matchevents"],
        message: "Tetragon has no `{key}`: the hook chooses the call (one kprobe per function or syscall)",
        help: "write one hook per call (`kprobes: [{call: sys_openat}]`), or a `lists` entry of `type: syscalls` used as `call: \"list:NAME\"`",
    },
    Foreign {
        keys: &["matchports", "matchport", "matchprotocols", "matchprotocol", "matchaddresses", "matchaddress", "matchips", "matchip", "matchcidrs", "matchcidr", "matchnetwork", "matchnetworks", "matchdestinations", "matchdestination"],
        message: "Tetragon has no `{key}`: ports, addresses and protocols are filtered on the hook's sock, skb or sockaddr argument with `matchArgs`",
        help: "write `matchArgs: [{index: 0, operator: DPort, values: [\"443\"]}]` (also SPort, DAddr, SAddr, Protocol)",
    },
    Foreign {
        keys: &["matchusers", "matchuser", "matchuids", "matchuid", "matchgids", "matchgid", "matchusernames", "matchusername"],
        message: "Tetragon has no `{key}`: selectors do not filter on user ids (`matchPIDs` is process ids)",
        help: "the user ids are in every event (`process.uid`): filter them where the events are read",
    },
];

/// `key` lowercased without `_`, `-` and `.`.
fn normal(key: &str) -> String {
    key.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn foreign(key: &str, value: &Node) -> Option<&'static Foreign> {
    let k = normal(key);
    if k == "matchnamespace" && looks_like_namespace_filters(value) {
        // A typo of matchNamespaces with its own filters: the ordinary did-you-mean.
        return None;
    }
    FOREIGN.iter().find(|f| f.keys.contains(&k.as_str()))
}

/// A list of `{namespace: Pid, operator: In, ...}` items: matchNamespaces' shape.
fn looks_like_namespace_filters(value: &Node) -> bool {
    value.as_seq().is_some_and(|items| {
        items
            .iter()
            .any(|i| i.get("namespace").is_some() || i.get("operator").is_some())
    })
}

/// `key` is a field of `obj` but for case and a plural `s`.
fn own_variant(obj: &Obj, key: &str) -> bool {
    let k = singular(&normal(key));
    obj.fields.iter().any(|f| singular(&normal(f.name)) == k)
}

fn is_field(obj: &Obj, key: &str) -> bool {
    obj.field(key).is_some()
}

fn classify(obj: &Obj, key: &str, value: &Node) -> Option<Class> {
    let lvl = level(obj);
    let hook_field = |k: &str| k != "name" && HOOKS.iter().any(|(h, _)| is_field(h, k));
    match lvl {
        Level::Selector | Level::Hook | Level::Spec | Level::Filter
            if (is_field(&ACTION_SELECTOR, key) || key == "actions")
                && obj.name != "ActionSelector" =>
        {
            Some(Class::Action)
        }
        Level::Hook | Level::Spec | Level::Filter if is_field(&SELECTOR, key) && key != "label" => {
            Some(Class::SelectorField)
        }
        Level::Selector if matches!(key, "index" | "operator" | "values" | "args") => {
            Some(Class::FilterField)
        }
        Level::Root if is_field(&METADATA, key) && !matches!(key, "uid" | "generation") => {
            Some(Class::MetadataField)
        }
        Level::Root | Level::Hook | Level::Selector if is_field(&SPEC, key) => {
            Some(Class::SpecField)
        }
        Level::Spec | Level::Root if hook_field(key) => Some(Class::HookField),
        Level::Hook if hook_field(key) => Some(Class::OtherHook),
        // A plural or singular of the object's own field (`syscalls` for `syscall`) is a typo;
        // `matchNamespace` is one only with matchNamespaces' items (see `foreign`).
        Level::Selector | Level::Hook | Level::Spec
            if !own_variant(obj, key) || normal(key) == "matchnamespace" =>
        {
            foreign(key, value).map(Class::Foreign)
        }
        _ => None,
    }
}

/// A near miss of a selector or action field written in a hook or `spec` (`matchArg`): the
/// class and the field meant. Only when the key is no near miss of the object's own fields.
fn near_miss(obj: &Obj, key: &str) -> Option<(Class, &'static str)> {
    if !matches!(level(obj), Level::Hook | Level::Spec) {
        return None;
    }
    let own: Vec<&str> = obj.fields.iter().map(|f| f.name).collect();
    if did_you_mean(key, &own).is_some() {
        return None;
    }
    let sel: Vec<&'static str> = SELECTOR
        .fields
        .iter()
        .map(|f| f.name)
        .filter(|n| *n != "label")
        .collect();
    if let Some(s) = did_you_mean(key, &sel) {
        return Some((Class::SelectorField, s));
    }
    let act: Vec<&'static str> = ACTION_SELECTOR.fields.iter().map(|f| f.name).collect();
    did_you_mean(key, &act).map(|a| (Class::Action, a))
}

/// One unknown key, with the field it is taken for.
struct Key<'a> {
    entry: &'a Entry,
    written: String,
    meant: String,
}

impl Key<'_> {
    fn name(&self) -> String {
        if self.written == self.meant {
            format!("`{}`", self.written)
        } else {
            format!("`{}` (`{}`)", self.written, self.meant)
        }
    }
}

/// Report the unknown keys of `node` (an object of type `obj`). Returns the required fields of
/// `obj` whose absence is explained by a misplaced key (`kprobes` written above `spec`), so the
/// caller does not report them missing too.
pub(super) fn unknown_fields(
    node: &Node,
    obj: &'static Obj,
    unknown: &[&Entry],
    out: &mut Vec<Diagnostic>,
) -> Vec<&'static str> {
    let mut groups: Vec<(Class, Vec<Key>)> = Vec::new();
    let mut explained = Vec::new();
    for entry in unknown {
        let written = entry.key.scalar_text();
        let (class, meant) = match classify(obj, &written, &entry.value) {
            Some(c) => (c, written.clone()),
            None => match near_miss(obj, &written) {
                Some((c, m)) => (c, m.to_string()),
                None => {
                    out.push(unknown_field(&entry.key, &written, obj));
                    continue;
                }
            },
        };
        let key = Key {
            entry,
            written,
            meant,
        };
        match class {
            Class::OtherHook => out.push(other_hook(&key, obj)),
            Class::Foreign(f) => out.push(foreign_diagnostic(&key, f, obj)),
            _ => match groups.iter_mut().find(|(c, _)| *c == class) {
                Some((_, keys)) => keys.push(key),
                None => groups.push((class, vec![key])),
            },
        }
    }
    // A filter item made only of selector fields or actions (`- matchBinaries:` written as a
    // new item of the list above): its missing operator and values are the same mistake.
    let stray = level(obj) == Level::Filter
        && node.as_map().is_some_and(|entries| {
            !entries.is_empty()
                && entries.len()
                    == groups
                        .iter()
                        .filter(|(c, _)| matches!(c, Class::SelectorField | Class::Action))
                        .map(|(_, keys)| keys.len())
                        .sum::<usize>()
        });
    if stray {
        explained.extend(obj.fields.iter().filter(|f| f.required).map(|f| f.name));
    }
    for (class, keys) in &groups {
        let d = match class {
            Class::Action => actions(node, obj, keys),
            Class::SelectorField => selector_fields(node, obj, keys, stray),
            Class::FilterField => filter_fields(keys),
            Class::HookField => hook_fields(node, obj, keys),
            Class::SpecField => {
                if level(obj) == Level::Root {
                    explained.push("spec");
                }
                spec_fields(node, obj, keys)
            }
            Class::MetadataField => {
                explained.push("metadata");
                metadata_fields(node, keys)
            }
            Class::OtherHook | Class::Foreign(_) => continue,
        };
        out.push(d);
    }
    explained
}

/// "`a`", "`a` and `b`", "`a`, `b` and `c`".
fn names(keys: &[Key]) -> String {
    let n: Vec<String> = keys.iter().map(Key::name).collect();
    match n.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

/// The words that agree with one key or several.
struct Grammar {
    /// "is" / "are".
    is: &'static str,
    /// "it" / "they".
    they: &'static str,
    /// "it" / "them".
    it: &'static str,
    /// "a " / "".
    a: &'static str,
    /// "goes" / "go".
    goes: &'static str,
    /// "field" / "fields".
    fields: &'static str,
}

fn grammar(keys: &[Key]) -> Grammar {
    if keys.len() == 1 {
        Grammar {
            is: "is",
            they: "it",
            it: "it",
            a: "a ",
            goes: "goes",
            fields: "field",
        }
    } else {
        Grammar {
            is: "are",
            they: "they",
            it: "them",
            a: "",
            goes: "go",
            fields: "fields",
        }
    }
}

/// A value as it could be written in a flow mapping: scalars as written, the rest as `[...]`.
fn flow_value(node: &Node) -> String {
    match &node.value {
        Value::Str { text, .. } => {
            if text.is_empty()
                || text.contains(|c: char| ":{}[],#&*!|>'\"%@`".contains(c))
                || text.starts_with(' ')
            {
                format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
            } else {
                text.clone()
            }
        }
        Value::Seq(_) => "[...]".into(),
        Value::Map(_) => "{...}".into(),
        Value::Null => "...".into(),
        _ => node.scalar_text(),
    }
}

/// `{k: v, ...}` of the keys, each under the name meant; `first` (with a value) first.
fn flow_map(keys: &[Key], first: Option<(&str, &str)>) -> String {
    let mut parts = Vec::new();
    if let Some((k, v)) = first {
        if !keys.iter().any(|key| key.meant == k) {
            parts.push(format!("{k}: {v}"));
        }
    }
    let mut ordered: Vec<&Key> = keys.iter().collect();
    if let Some((k, _)) = first {
        ordered.sort_by_key(|key| key.meant != k);
    }
    for key in ordered {
        parts.push(format!("{}: {}", key.meant, flow_value(&key.entry.value)));
    }
    format!("{{{}}}", parts.join(", "))
}

/// The action the parameters belong to, when `action` itself is not among them.
fn action_for(keys: &[Key]) -> &'static str {
    let has = |p: &str| keys.iter().any(|k| k.meant == p);
    crate::facts::ACTIONS
        .iter()
        .find(|a| a.required.iter().any(|p| has(p)))
        .or_else(|| {
            crate::facts::ACTIONS
                .iter()
                .find(|a| a.optional.iter().any(|p| has(p)))
        })
        .map_or("Post", |a| a.name)
}

/// The fix for keys one level too deep, in a filter: `stray` when they make a filter item of
/// their own (a `- ` too many).
fn dedent(it: &str, stray: bool) -> String {
    if stray {
        format!("remove the `- ` before {it} and dedent {it} to the selector's level: as written, {it} starts a new item of this filter list")
    } else {
        format!(
            "dedent {it} to the selector's level (the level of `matchArgs`, `matchActions`, ...)"
        )
    }
}

fn actions(node: &Node, obj: &Obj, keys: &[Key]) -> Diagnostic {
    let it = grammar(keys).it;
    let real: Vec<Key> = keys
        .iter()
        .filter(|k| k.meant != "actions")
        .map(|k| Key {
            entry: k.entry,
            written: k.written.clone(),
            meant: k.meant.clone(),
        })
        .collect();
    // `actions:` holds a list already: it is the list's name that is wrong.
    let item = if real.is_empty() {
        None
    } else {
        Some(flow_map(&real, Some(("action", action_for(&real)))))
    };
    let what = match keys {
        [k] if k.meant == "actions" => format!("{} is not a field", k.name()),
        [_] => format!("{} is an action field", names(keys)),
        _ => format!("{} are action fields", names(keys)),
    };
    let (message, help) = match (level(obj), item) {
        (Level::Selector, None) => (
            format!("{what}: a selector's actions are the list `matchActions`"),
            "rename it `matchActions`".to_string(),
        ),
        (Level::Filter, item) => {
            let item = item.map_or_else(|| "...".to_string(), |i| format!("[{i}]"));
            (
                format!(
                    "{what}, not a field of {}: actions go in a list under `matchActions`, next to this filter's list",
                    describe(obj)
                ),
                format!("write `matchActions: {item}` at the selector's level"),
            )
        }
        (Level::Selector, Some(item)) => (
            format!(
                "{what}: actions go in a list under `matchActions`, not straight in the selector"
            ),
            if node.get("matchActions").is_some() {
                format!("move {it} into `matchActions` as an item: `- {item}`")
            } else {
                format!("write `matchActions: [{item}]`")
            },
        ),
        (Level::Hook, item) => {
            let item = item.map_or_else(|| "...".to_string(), |i| format!("[{i}]"));
            (
                format!(
                    "{what}: actions go in a selector, under `matchActions`, not straight in {}",
                    describe(obj)
                ),
                if node.get("selectors").is_some() {
                    format!("move {it} into a selector: `matchActions: {item}`")
                } else {
                    format!("write `selectors: [{{matchActions: {item}}}]`")
                },
            )
        }
        (_, item) => {
            let item = item.map_or_else(|| "...".to_string(), |i| format!("[{i}]"));
            (
                format!(
                    "{what}: actions go in a hook's selector, under `matchActions`, not in `spec`"
                ),
                format!(
                    "move {it} into a selector of a hook: `selectors: [{{matchActions: {item}}}]`"
                ),
            )
        }
    };
    Diagnostic::new(Code::S001, keys[0].entry.key.span, message).help(help)
}

fn selector_fields(node: &Node, obj: &Obj, keys: &[Key], stray: bool) -> Diagnostic {
    let g = grammar(keys);
    let (it, they) = (g.it, g.they);
    let item = format!(
        "{{{}}}",
        keys.iter()
            .map(|k| format!("{}: [...]", k.meant))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let what = format!("{} {} {}selector {}", names(keys), g.is, g.a, g.fields);
    let (message, help) = if level(obj) == Level::Filter {
        (
            format!(
                "{what}, not {}{} of {}: {they} {} one level up, next to the list this filter is in",
                g.a,
                g.fields,
                describe(obj),
                g.goes
            ),
            dedent(it, stray),
        )
    } else if level(obj) == Level::Hook {
        (
            format!(
                "{what}: {they} {} inside a selector, not straight in {}",
                g.goes,
                describe(obj)
            ),
            if node.get("selectors").is_some() {
                format!("move {it} into an item of `selectors`: `- {item}`")
            } else {
                format!("write `selectors: [{item}]`")
            },
        )
    } else {
        let list = hook_list(node, &[]);
        (
            format!(
                "{what}: {they} {} inside a hook's selector, not in `spec`",
                g.goes
            ),
            format!(
                "move {it} into a hook: `{list}: [{{{}: ..., selectors: [{item}]}}]`",
                first_key(list)
            ),
        )
    };
    Diagnostic::new(Code::S001, keys[0].entry.key.span, message).help(help)
}

fn filter_fields(keys: &[Key]) -> Diagnostic {
    let g = grammar(keys);
    let has = |k: &str| keys.iter().any(|key| key.meant == k);
    let item = flow_map(keys, None);
    let message = format!(
        "{} {} {}filter {}, not {}selector {}: a filter is an item of a list such as `matchArgs` or `matchBinaries`",
        names(keys),
        g.is,
        g.a,
        g.fields,
        g.a,
        g.fields
    );
    let help = if has("index") || has("args") {
        format!("write `matchArgs: [{item}]`")
    } else {
        format!(
            "write {} as an item of the list {} {} to: `matchArgs: [{item}]` for an argument (with its `index`), `matchBinaries: [{item}]` for the executable",
            g.it,
            g.they,
            if keys.len() == 1 { "belongs" } else { "belong" }
        )
    };
    Diagnostic::new(Code::S001, keys[0].entry.key.span, message).help(help)
}

/// The hook list the keys (or the spec) point at: `call` → kprobes, `subsystem` → tracepoints,
/// `hook` → lsmhooks, ...; else the only hook list the spec has; else kprobes.
fn hook_list(spec: &Node, keys: &[Key]) -> &'static str {
    let has = |k: &str| keys.iter().any(|key| key.meant == k);
    if has("call") {
        return "kprobes";
    }
    if has("subsystem") || has("event") || has("raw") {
        return "tracepoints";
    }
    if has("hook") {
        return "lsmhooks";
    }
    if has("provider") {
        return "usdts";
    }
    if has("path") || has("symbols") || has("offsets") || has("addrs") || has("binaryDigests") {
        return "uprobes";
    }
    let present: Vec<&'static str> = HOOKS
        .iter()
        .map(|(_, k)| *k)
        .chain(["fentries"])
        .filter(|k| spec.get(k).is_some())
        .collect();
    match present.as_slice() {
        [only] => only,
        _ => "kprobes",
    }
}

/// The key a hook of `list` starts with.
fn first_key(list: &str) -> &'static str {
    match list {
        "kprobes" | "fentries" => "call",
        "tracepoints" => "subsystem",
        "lsmhooks" => "hook",
        _ => "path",
    }
}

fn hook_fields(node: &Node, obj: &Obj, keys: &[Key]) -> Diagnostic {
    let g = grammar(keys);
    let spec = if level(obj) == Level::Root {
        node.get("spec")
    } else {
        Some(node)
    };
    let list = hook_list(spec.unwrap_or(node), keys);
    let item = flow_map(keys, Some((first_key(list), "...")));
    let message = format!(
        "{} {} {}hook {}: {} {} inside a hook, an item of a list such as `{list}`, not {}",
        names(keys),
        g.is,
        g.a,
        g.fields,
        g.they,
        g.goes,
        if level(obj) == Level::Root {
            "at the top of the policy"
        } else {
            "straight in `spec`"
        }
    );
    let help = match (level(obj), spec.and_then(|s| s.get(list)).is_some()) {
        (Level::Root, _) => format!("write {} under `spec:` as `{list}: [{item}]`", g.it),
        (_, true) => format!("move {} into an item of `{list}`", g.it),
        (_, false) => format!("write `{list}: [{item}]`"),
    };
    Diagnostic::new(Code::S001, keys[0].entry.key.span, message).help(help)
}

fn spec_fields(node: &Node, obj: &Obj, keys: &[Key]) -> Diagnostic {
    let g = grammar(keys);
    let (it, they) = (g.it, g.they);
    let workload = keys.iter().all(|k| {
        matches!(
            k.meant.as_str(),
            "podSelector" | "containerSelector" | "hostSelector"
        )
    });
    let (message, help) = match level(obj) {
        Level::Root => (
            format!(
                "{} {} {}{} of `spec`: {they} {} under `spec:`, not at the top of the policy",
                names(keys),
                g.is,
                g.a,
                g.fields,
                g.goes
            ),
            if node.get("spec").is_some() {
                format!("indent {it} under `spec:`")
            } else {
                format!("add `spec:` and indent {it} under it")
            },
        ),
        Level::Selector if workload => (
            format!(
                "{} {} not {}selector {}: for one selector {they} {} under `matchWorkloads`, for the whole policy in `spec`",
                names(keys),
                g.is,
                g.a,
                g.fields,
                g.goes
            ),
            format!(
                "write `matchWorkloads: {}`, or move {it} to `spec`",
                flow_map(keys, None)
            ),
        ),
        _ => (
            format!(
                "{} {} {}{} of `spec`, not of {}",
                names(keys),
                g.is,
                g.a,
                g.fields,
                describe(obj)
            ),
            format!("move {it} to `spec`, next to the hook lists"),
        ),
    };
    Diagnostic::new(Code::S001, keys[0].entry.key.span, message).help(help)
}

fn metadata_fields(node: &Node, keys: &[Key]) -> Diagnostic {
    let g = grammar(keys);
    let message = format!(
        "{} {} {}{} of `metadata`: {} {} under `metadata:`, not at the top of the policy",
        names(keys),
        g.is,
        g.a,
        g.fields,
        g.they,
        g.goes
    );
    let help = if node.get("metadata").is_some() {
        format!("indent {} under `metadata:`", g.it)
    } else {
        format!("write `metadata: {}`", flow_map(keys, None))
    };
    Diagnostic::new(Code::S001, keys[0].entry.key.span, message).help(help)
}

fn other_hook(key: &Key, obj: &Obj) -> Diagnostic {
    let owners: Vec<&str> = HOOKS
        .iter()
        .filter(|(h, _)| h.name != obj.name && is_field(h, &key.meant))
        .map(|(_, k)| *k)
        .collect();
    let owners = match owners.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => (*last).to_string(),
        None => String::new(),
    };
    let names: Vec<&str> = obj.fields.iter().map(|f| f.name).collect();
    Diagnostic::new(
        Code::S001,
        key.entry.key.span,
        format!(
            "`{}` is a field of {owners}, not of {}",
            key.written,
            describe(obj)
        ),
    )
    .help(format!("the fields here are: {}", names.join(", ")))
}

fn foreign_diagnostic(key: &Key, f: &Foreign, obj: &Obj) -> Diagnostic {
    let mut help = f.help.replace("{key}", &key.written);
    if level(obj) != Level::Selector
        && (help.starts_with("write `match") || help.starts_with("declare"))
    {
        help.push_str(", inside a selector");
    }
    Diagnostic::new(
        Code::S001,
        key.entry.key.span,
        f.message.replace("{key}", &key.written),
    )
    .help(help)
}
