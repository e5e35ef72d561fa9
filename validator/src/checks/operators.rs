//! matchArgs / matchData / matchReturnArgs operators: does Tetragon accept the operator on the
//! argument's type, does the BPF side then compare anything, and are the values in a form
//! Tetragon parses and within its limits? Everything here follows `parseMatchArg` and the
//! functions it calls in Tetragon's `pkg/selectors/kernel.go`, and the filters of
//! `bpf/process/types/basic.h`.

use std::net::IpAddr;

use super::selectors::{self, FilterList, SigArg};
use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::facts::{
    self, sel_type, verdict, HookKind, IntType, OpKind, Operator, SelType, Verdict,
};
use crate::golang::{self, NumError};
use crate::model::{ArgFilter, Hook, Policy, Spanned};

/// `P013`.
pub const P013: CodeInfo = CodeInfo {
    code: "P013",
    name: "too-many-values",
    severity: Severity::Error,
    summary: "More values than a filter holds (4 for integer comparisons, ranges, file types, namespaces; 1 CEL expression).",
    explanation: "Refused (error): Tetragon stores the values of Equal/NotEqual on integers and capability sets, GT, LT, Mask, InRange/NotInRange and FileType inline in the selector, 4 at most, and refuses more when it loads the policy (\"selector does not support more than 4 values: consider using InMap or NotInMap operators\"); InMap takes any number of integers. A matchNamespaces filter holds 4 values. A CelExpr filter takes exactly one expression and a hook at most 8 CelExpr filters, and the SubString values of one hook's selectors share 100 slots.\n\nLoads, but cannot do what it says (error): Tetragon loads any number of matchPIDs values, but the BPF side compares only the first 4 and ignores the rest (from 8 values on it also misreads the selector's other process filters).\n\nWarning: where Tetragon attaches the kprobes (or uprobes) of a policy with kprobe_multi (uprobe_multi), its default when the kernel supports it, they all share the 8 CelExpr filters and Tetragon refuses more; whether it does depends on the kernel and the agent's flags, which policyctl cannot see (the policy option `disable-kprobe-multi` / `disable-uprobe-multi` turns it off, and then nothing is reported).",
    tetragon: "pkg/selectors/kernel.go writeMatchValues, writeMatchValuesRange (\"selector does not support more than %d values\"), namespaceSelectorValue, writeMatchSubString (\"Only %d substrings allowed\"), ParseMatchPid (no limit); pkg/selectors/celexpr.go addMatchCelExpr; bpf/process/pfilter.h selector_match (pids: at most MAX_SELECTOR_VALUES read)",
};

/// `P021`.
pub const P021: CodeInfo = CodeInfo {
    code: "P021",
    name: "operator-arg-type",
    severity: Severity::Error,
    summary: "An operator that cannot filter an argument of this type (Equal on a filename, DPort on a string, ...).",
    explanation: "Refused (error): Tetragon checks some operator/type pairs when it loads the policy and refuses them: Equal, NotEqual, GT, LT and Mask only compare integers, capability sets and (Equal, NotEqual) strings and paths (\"MatchArgs type filename unsupported\"); InMap and InRange need an integer type; a type Tetragon's selectors do not know (filename, cred, bpf_cmd, ...) takes none of these; the socket operators need a sock, skb, socket or sockaddr arg (\"sock/socket/skb/sockaddr operators specified for non-sock... type\"), a sockaddr has no destination, protocol or state, and a sockaddr_un takes Family and the string operators only; FileType needs a file or path arg; CapabilitiesGained needs two capability-set args named by `args: [new, old]`.\n\nLoads, but cannot do what it says (error): Prefix, Postfix and SubString are not type-checked, so Tetragon loads them on any type. On an integer, capability set or socket the BPF filter never matches (nor does Postfix on a sockaddr_un, or State on an skb), so the selector never fires; on a type the BPF side does not filter at all (filename, cred, bpf_attr, ...) the filter lets every call through, so it filters nothing.",
    tetragon: "pkg/selectors/kernel.go parseMatchArg, writeMatchValues (\"MatchArgs type %s unsupported\"), writeMatchValuesInMap, writeMatchValuesRange; bpf/process/types/basic.h filter_arg_1, filter_arg_2, filter_inet, filter_sockaddr_un (what loads but never matches)",
};

/// `P022`.
pub const P022: CodeInfo = CodeInfo {
    code: "P022",
    name: "invalid-value",
    severity: Severity::Error,
    summary: "A filter value in the wrong format (not a number, port, CIDR, capability, namespace, file type...).",
    explanation: "Values are strings in YAML, and Tetragon parses each one for its operator and argument type when it loads the policy, refusing the policy on a value it cannot parse (\"MatchArgs value %s invalid\"):\n\n- Equal, NotEqual, GT, LT and Mask on integers use Go's `strconv.ParseInt` / `ParseUint` with base 0: decimal, `0x` hexadecimal, `0o` or leading-`0` octal, `0b` binary, `_` between digits (`1_000`); 32 bits for int, int32, size_t, int16, int8 (signed) and uint32, uint16, uint8 (unsigned), 64 bits for long, int64, syscall64 (signed) and uint64, ulong (unsigned). No spaces, no sign on unsigned types.\n- InRange takes `min:max`, each side a signed 64-bit integer in the same base-0 syntax; for 32-bit and narrower types neither side may exceed 4294967295 (negative values pass).\n- InMap takes plain decimal integers (base 10: no `0x`, no `_`), ranges `min:max`, or `list:NAME` (tracepoints only, naming a syscalls list, read into a `syscall64` arg).\n- Ports and Protocol/Family/State values are unsigned decimal integers or `min:max` ranges; Protocol, Family and State also take Tetragon's IPPROTO_*, AF_* and TCP_* names. SAddr/DAddr take an IP address or a CIDR. FileType takes Tetragon's file type names. Capability sets take CAP_* names (Tetragon spells one of them `DAC_OVERRIDE`) or a number. matchNamespaces takes decimal inode numbers or `host_ns` (but not `host_ns` for PidForChildren and TimeForChildren: Tetragon reads the host's value from `/proc/1/ns/` under the kind's name in lower case, `pidforchildren`, a file Linux names `pid_for_children`), matchNamespaceChanges namespace kinds, matchPIDs unsigned 32-bit integers. An empty Postfix value (on any type but char_buf) makes Tetragon's agent panic while it loads the policy.\n\nLoads, but cannot do what it says (error): some values parse but can never match, because the BPF side reads fewer bits than Go accepted: ports, protocols and families above 65535 and TCP states above 255; on 8- and 16-bit args, negative or oversized values (Equal and GT with them never match, NotEqual and LT always match, and a Mask with none of the arg's bits never matches); InMap values, or whole InMap ranges, outside 0..255, 0..65535 or 0..4294967295 on 8-, 16- and 32-bit args; a range that is empty as written (`10:5`) or that starts past what a narrow arg can hold.\n\nWarnings: an InMap range only partly outside what the arg can hold (its inside part still matches); a range on a signed 32-bit arg (int, int32) that is empty only because a bound above 2147483647, which Tetragon accepts for every 32-bit type, reads as negative on the BPF side (`0:4294967295` ends at -1). Tetragon's own tests write such a bound (kprobe_process_credentials_test.go, next to ranges that work), so it stays a warning.",
    tetragon: "pkg/selectors/kernel.go writeMatchValues, writeMatchValuesRange, writeMatchValuesInMap, writeRangeInMap, parseAddr, writeMatchFileType, parseCapabilitiesMask, capsStrToUint64, namespaceSelectorValue; pkg/reader/namespace/namespace_linux.go GetHostNsInode; ParseMatchNamespaceChange; pkg/sensors/tracing/lists_linux.go listReader.Read; pkg/reader/network/inet.go; bpf/process/types/basic.h filter_16ty_selector_val, filter_8ty_selector_val, filter_32ty_range (value widths; is_signed_type)",
};

/// `P023`.
pub const P023: CodeInfo = CodeInfo {
    code: "P023",
    name: "value-too-long",
    severity: Severity::Error,
    summary: "A string value longer than the operator can compare.",
    explanation: "Strings are matched through fixed-size BPF map keys, and Tetragon refuses longer values when it loads the policy: Equal and NotEqual compare up to 4096 bytes (510 on kernels 5.4 to 5.10, 144 before 5.4), Prefix up to 256 bytes, Postfix up to 127 bytes, SubString up to 99 bytes, matchBinaries In/NotIn paths up to 255 bytes, matchBinaries Prefix up to 256 bytes and Postfix up to 127 bytes.",
    tetragon: "pkg/selectors/selectors.go ArgStringSelectorValue (\"string is too long\"); pkg/selectors/kernel.go writePrefix, writePostfix (\"string is longer than %d characters\"), writeMatchSubString (\"Substring is bigger than 100 chars\"), ParseMatchBinary (\"Binary names > %d chars not supported\")",
};

/// `P024`.
pub const P024: CodeInfo = CodeInfo {
    code: "P024",
    name: "missing-values",
    severity: Severity::Error,
    summary: "A filter with no values (or values an operator ignores).",
    explanation: "A filter compares the argument with its values.\n\nLoads, but cannot do what it says (error): Tetragon loads a filter with no values, but then Equal, Prefix, InMap, In and the other positive operators never match, so the selector and its actions never fire, and the Not* operators always match, so the filter filters nothing.\n\nWarning: SPortPriv, DPortPriv and their Not forms take no values; values written there are ignored, but the operator still does what its name says (privileged ports 0-1023), so only the values are dead, like an action parameter the action does not read (P041).\n\n(matchNamespaceChanges and matchCapabilityChanges with NotIn and no values mean \"any change\" and are not reported; matchBinaries with no values is P060.)",
    tetragon: "not checked by Tetragon (pkg/selectors/kernel.go writes empty value sets; bpf/process/types/basic.h and pfilter.h then match nothing)",
};

/// `P036`.
pub const P036: CodeInfo = CodeInfo {
    code: "P036",
    name: "path-pattern",
    severity: Severity::Warning,
    summary: "A path compared with Equal/In that ends in `/`, or a path value with wildcards (`*`, `?`, `[...]`), which Tetragon compares literally.",
    explanation: "Tetragon compares string values byte for byte; it has no directory or wildcard matching.\n\n- A directory written with Equal, NotEqual or matchBinaries In/NotIn (`/etc/`): the path Tetragon reads for a `file`, `path`, `fd`, `dentry` or `linux_binprm` arg is built like the kernel's d_path, one `/name` per component, so it never ends in `/`; the exe path matchBinaries compares is built the same way (on kernels 5.3 and later). Equal never matches (not even for the files under the directory) and NotEqual excludes nothing. On a `string` arg (a path as the caller wrote it), Equal matches only that exact text, never the paths under it. To match the files under a directory use Prefix (NotPrefix), which compares the start of the path.\n- A wildcard (`/etc/*.conf`, `*.so`, `/home/*/.ssh/`, `/dev/tty[0-9]`) with Equal, Prefix, Postfix, In or their Not forms: the `*` is compared as a literal character and matches only a path that really contains one. Use Prefix with the part before the wildcard, Postfix with the part after it, or both as two matchArgs filters on the same arg (the filters of a selector are ANDed).\n\nOn args Tetragon reads as plain strings (`string`, `char_buf`, ...) only values that start with `/` are judged: a comm or a name may contain these characters on purpose. `/` itself is not reported. Tetragon loads all of these, so they are warnings.",
    tetragon: "not checked by Tetragon: pkg/selectors/kernel.go writeMatchStrings, writePrefix, writePostfix and ParseMatchBinary store the values as written; bpf/lib/bpf_d_path.h prepend_name and prepend_path (how a path is built), bpf/process/types/basic.h get_path and copy_path (what a file, path, fd, dentry or linux_binprm arg reads), bpf/lib/process.h read_exe (the exe path of matchBinaries)",
};

/// `P077`.
pub const P077: CodeInfo = CodeInfo {
    code: "P077",
    name: "cel-expression",
    severity: Severity::Error,
    summary: "A CelExpr expression Tetragon cannot parse, type-check or compile.",
    explanation: "Tetragon compiles a CelExpr value to BPF when it loads the policy, in an environment of its own: the hook's arguments are `arg0`, `arg1`, ... in the order `args` lists them (for matchReturnArgs, `arg0` is the return value), typed from their `type` (`int`, `int32`, `sint32` are s32; `uint32` is u32; `int64`, `sint64`, `long` are CEL's int; `uint64`, `ulong`, `unsigned long` are CEL's uint; any other type cannot be used), and the only functions are `==` and `!=` on two values of one type, `<` `<=` `>` `>=` `+` `-` and `and()` `or()` `xor()` `not()` on two integers of one type, `&&` `||` `!`, and the casts `int32(int)` and `uint32(uint)`. Literals are bools, ints and uints. CEL converts nothing by itself, so `arg0 == 5` on an `int` argument is a type error: write `arg0 == int32(5)` (and `5u` for a uint). A parse error, a type error, an unknown name or function, or a literal of another kind (double, string) makes the load fail.\n\nArguments of type `auto` are not judged (their type is decided later), nor are tracepoint arguments whose type comes from the tracepoint's format.",
    tetragon: "pkg/selectors/celexpr.go parseMatchCelExpr, addMatchCelExpr; pkg/celbpf/celbpf.go Compile (parse, check, compile); pkg/celbpf/env.go getFnsOpts, checkerAddArguments; pkg/celbpf/types.go typeFromGenTy; pkg/celbpf/compiler.go compileLiteral, compileArg, compile (\"expecting CEL expression to return bool\")",
};

/// Run the checks.
pub fn check(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let multi_disabled = |name: &str| policy.spec.option_bool(name) == Some(true);
    let mut shared = SharedCel {
        kprobe_multi: !multi_disabled("disable-kprobe-multi"),
        uprobe_multi: !multi_disabled("disable-uprobe-multi"),
        kprobes: 0,
        uprobes: 0,
    };
    for hook in &policy.spec.hooks {
        let returns = selectors::compiles_return_selectors(hook);
        // CelExpr filters and SubString slots are counted per compiled selector state: the
        // entry selectors of a hook, and its return selectors.
        let mut entry = Counts::default();
        let mut ret = Counts::default();
        for sel in &hook.selectors {
            let mut lists = vec![
                (&sel.match_args, FilterList::Args),
                (&sel.match_data, FilterList::Data),
            ];
            if returns {
                lists.push((&sel.match_return_args, FilterList::Return));
            }
            for (list, which) in lists {
                for f in list {
                    let Some(op_name) = &f.operator else { continue };
                    let Some(op) = facts::operator(&op_name.value) else {
                        continue;
                    };
                    let counts = if which == FilterList::Return {
                        &mut ret
                    } else {
                        &mut entry
                    };
                    let ty = target_type(hook, f, which);
                    if op.kind == OpKind::Cel && which != FilterList::Data {
                        count_cel(hook, op_name, which, counts, &mut shared, out);
                    }
                    if op.kind == OpKind::SubString
                        && ty.as_ref().is_some_and(|t| t.sel.is_string())
                    {
                        count_substrings(hook, f, counts, out);
                    }
                    check_path_values(hook, f, which, op, ty.as_ref(), out);
                    check_filter(policy, hook, f, which, op_name, op, ty, out);
                }
            }
        }
    }
}

/// Where the wildcard characters of a value are: the byte offset of the first one and the end
/// of the last one (`*`, `?`, or a `[...]` class). None when there is none.
pub(crate) fn glob_bounds(value: &str) -> Option<(usize, usize)> {
    let mut first = None;
    let mut last = 0;
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let end = match bytes[i] {
            b'*' | b'?' => Some(i + 1),
            b'[' => value[i + 1..]
                .find(']')
                .filter(|&n| n > 0)
                .map(|n| i + 1 + n + 1),
            _ => None,
        };
        if let Some(end) = end {
            first.get_or_insert(i);
            last = end;
            i = end;
        } else {
            i += 1;
        }
    }
    first.map(|f| (f, last))
}

/// What a value with wildcards does: Tetragon compares it literally.
pub(crate) fn glob_message(value: &str, op: &str, negated: bool) -> String {
    format!(
        "Tetragon has no wildcards: it compares `{value}` character for character, so this {op} {} only a path that really contains {}",
        if negated { "excludes" } else { "matches" },
        glob_chars(value)
    )
}

/// The wildcard characters a value holds, for messages: "`*`", "`*` and `?`", "`[...]`".
fn glob_chars(value: &str) -> String {
    let mut found = Vec::new();
    if value.contains('*') {
        found.push("`*`");
    }
    if value.contains('?') {
        found.push("`?`");
    }
    if glob_bounds(&value.replace(['*', '?'], "")).is_some() {
        found.push("`[...]`");
    }
    found.join(" and ")
}

/// How to write a value with wildcards with the operators Tetragon has. `op` is the operator
/// the value is written with (Equal and In compare the whole path, Prefix its start, Postfix its
/// end); `list` names the filter list when a selector may hold two filters on the same arg and
/// SubString is there (matchArgs, matchData; not matchBinaries, of which a selector holds one).
pub(crate) fn glob_fix(value: &str, op: &str, list: Option<&str>) -> String {
    let Some((start, end)) = glob_bounds(value) else {
        return String::new();
    };
    let negated = op.starts_with("Not");
    let base = op.strip_prefix("Not").unwrap_or(op);
    let not = if negated { "Not" } else { "" };
    let head = &value[..start];
    let tail = &value[end..];
    let head = if head == "/" { "" } else { head };
    // The part before the wildcard is the start of the path only when the operator anchors
    // the start, and the part after it the end only when the operator anchors the end;
    // elsewhere the part is somewhere in the path (SubString, which has no Not form and which
    // matchBinaries lacks).
    let part = |text: &str, anchored: bool, anchor: &str| -> Option<String> {
        if text.is_empty() {
            None
        } else if anchored {
            Some(format!("`{not}{anchor}` with `{text}`"))
        } else if list.is_some() && !negated {
            Some(format!("`SubString` with `{text}`"))
        } else {
            None
        }
    };
    let first = part(head, matches!(base, "Equal" | "In" | "Prefix"), "Prefix");
    let last = part(tail, matches!(base, "Equal" | "In" | "Postfix"), "Postfix");
    match (first, last) {
        (None, None) if head.is_empty() && tail.is_empty() => {
            "a value that is only a wildcard matches only that text; to match every path, remove the filter".to_string()
        }
        (None, None) => "rewrite the value without wildcards: the operators Tetragon has here cannot express it".to_string(),
        (Some(one), None) | (None, Some(one)) if !head.is_empty() && !tail.is_empty() => {
            format!("use {one} (it matches more than the pattern)")
        }
        (Some(one), None) | (None, Some(one)) => format!("use {one}"),
        (Some(a), Some(b)) => match list.filter(|_| !negated) {
            Some(list) => format!(
                "use two {list} filters on this arg, {a} and {b} (the filters of a selector are ANDed)"
            ),
            None => format!("use {a} or {b} (each matches more than the pattern)"),
        },
    }
}

/// The key of a filter list.
fn list_key(which: FilterList) -> &'static str {
    match which {
        FilterList::Args => "matchArgs",
        FilterList::Data => "matchData",
        FilterList::Return => "matchReturnArgs",
    }
}

/// P036 for the values of one matchArgs / matchData / matchReturnArgs filter: a directory
/// compared with Equal, and wildcards, on an arg Tetragon reads as a path (or a string value
/// that looks like one).
fn check_path_values(
    hook: &Hook,
    f: &ArgFilter,
    which: FilterList,
    op: &Operator,
    ty: Option<&Target>,
    out: &mut Vec<Diagnostic>,
) {
    if !matches!(op.kind, OpKind::Equality | OpKind::Prefix | OpKind::Postfix) {
        return;
    }
    // Paths for path args; values that start with `/` for strings, and for args whose type
    // only the kernel knows (a tracepoint's `auto`).
    let path_arg = match ty {
        Some(t) if verdict(op, t.sel, &t.name) != Verdict::Fits => return,
        Some(t) => match t.sel {
            SelType::Path { .. } => Some(t.name.as_str()),
            SelType::Buf { .. } | SelType::SockaddrUn => None,
            _ => return,
        },
        None => match selectors::filter_target(hook, f, which) {
            Some(SigArg::Declared(_)) => None,
            _ => return,
        },
    };
    let negated = op.name.starts_with("Not");
    for v in &f.values {
        let text = v.value.as_str();
        if path_arg.is_none() && !text.starts_with('/') {
            continue;
        }
        if glob_bounds(text).is_some() {
            out.push(
                Diagnostic::new(Code::P036, v.span, glob_message(text, op.name, negated))
                    .help(glob_fix(text, op.name, Some(list_key(which)))),
            );
            continue;
        }
        if op.kind != OpKind::Equality || text.len() < 2 || !text.ends_with('/') {
            continue;
        }
        let prefix = if negated { "NotPrefix" } else { "Prefix" };
        let message = match path_arg {
            Some(ty) => format!(
                "`{text}` ends in `/`, but the path Tetragon reads for {} `{ty}` arg never does: this {} {} (the files under it included)",
                if ty == "fd" { "an" } else { "a" },
                op.name,
                if negated { "excludes nothing" } else { "never matches" }
            ),
            None => format!(
                "{} compares the whole string: `{text}` {} only the string `{text}` itself, not the paths under it",
                op.name,
                if negated { "excludes" } else { "matches" }
            ),
        };
        out.push(Diagnostic::new(Code::P036, v.span, message).help(format!(
            "to {} the files under `{text}`, use `{prefix}`",
            if negated { "exclude" } else { "match" }
        )));
    }
}

/// CelExpr filters the kprobes (or uprobes) of a policy share when Tetragon attaches them with
/// kprobe_multi (uprobe_multi).
struct SharedCel {
    kprobe_multi: bool,
    uprobe_multi: bool,
    kprobes: usize,
    uprobes: usize,
}

/// P013 for one more CelExpr filter: at most 8 per compiled selector state, and at most 8 for
/// all kprobes (uprobes) of the policy where they share one state's CEL functions.
fn count_cel(
    hook: &Hook,
    op_name: &Spanned<String>,
    which: FilterList,
    counts: &mut Counts,
    shared: &mut SharedCel,
    out: &mut Vec<Diagnostic>,
) {
    let max = facts::MAX_CEL_EXPRS;
    counts.cel += 1;
    if counts.cel == max + 1 {
        out.push(
            Diagnostic::new(
                Code::P013,
                op_name.span,
                format!(
                    "{} has more than {max} CelExpr filters; Tetragon compiles at most {max} per hook",
                    hook.describe()
                ),
            )
            .help("combine expressions with && and || into fewer filters"),
        );
        return;
    }
    if which != FilterList::Args || counts.cel > max {
        return;
    }
    let (total, what, link, option) = match hook.kind {
        HookKind::Kprobe if shared.kprobe_multi => (
            &mut shared.kprobes,
            "kprobes",
            "kprobe_multi",
            "disable-kprobe-multi",
        ),
        HookKind::Uprobe if shared.uprobe_multi => (
            &mut shared.uprobes,
            "uprobes",
            "uprobe_multi",
            "disable-uprobe-multi",
        ),
        _ => return,
    };
    *total += 1;
    if *total == max + 1 {
        out.push(
            Diagnostic::new(
                Code::P013,
                op_name.span,
                format!("the {what} of this policy have more than {max} CelExpr filters together; where Tetragon attaches them with {link} (its default when the kernel supports it) they share {max} slots and the policy is refused"),
            )
            .help(format!("combine expressions into fewer filters, or set the option `{option}: \"true\"`"))
            .severity(Severity::Warning),
        );
    }
}

/// P013 for the SubString values of a filter on a string arg: one compiled selector state
/// holds 100.
fn count_substrings(hook: &Hook, f: &ArgFilter, counts: &mut Counts, out: &mut Vec<Diagnostic>) {
    for v in &f.values {
        counts.substrings += 1;
        if counts.substrings == MAX_SUBSTRING_VALUES + 1 {
            out.push(
                Diagnostic::new(
                    Code::P013,
                    v.span,
                    format!(
                        "the selectors of {} have more than {MAX_SUBSTRING_VALUES} SubString values; Tetragon holds at most {MAX_SUBSTRING_VALUES} per hook",
                        hook.describe()
                    ),
                )
                .help("use fewer substrings, or Prefix/Postfix/Equal where they fit"),
            );
        }
    }
}

/// Most SubString values of one compiled selector state (`SubstringMapEntries`).
const MAX_SUBSTRING_VALUES: usize = 100;

/// CelExpr filters and SubString values of one compiled selector state.
#[derive(Default)]
struct Counts {
    cel: usize,
    substrings: usize,
}

/// The type of the argument a filter reads, as Tetragon's selector compiler sees it.
struct Target {
    sel: SelType,
    /// The `type` as written.
    name: String,
    /// Where it is declared.
    span: crate::source::Span,
}

/// The declared type of the argument a filter reads; None when it refers to nothing (P020),
/// or when only the kernel knows the type (tracepoint `auto` types and size fields, raw
/// tracepoint args read through `resolve`, which take the BTF type), or for `auto` outside
/// tracepoints (another code reports it).
fn target_type(hook: &Hook, f: &ArgFilter, which: FilterList) -> Option<Target> {
    let SigArg::Declared(arg) = selectors::filter_target(hook, f, which)? else {
        return None;
    };
    let name = arg.type_name();
    if name == "auto" || (hook.kind == HookKind::Tracepoint && hook.raw && arg.resolve.is_some()) {
        return None;
    }
    Some(Target {
        sel: sel_type(name),
        name: name.to_string(),
        span: arg.ty.as_ref().map_or(arg.span, |t| t.span),
    })
}

#[allow(clippy::too_many_arguments)]
fn check_filter(
    policy: &Policy,
    hook: &Hook,
    f: &ArgFilter,
    which: FilterList,
    op_name: &Spanned<String>,
    op: &Operator,
    ty: Option<Target>,
    out: &mut Vec<Diagnostic>,
) {
    if op.kind == OpKind::Cel {
        if which == FilterList::Data {
            if f.values_written > 0 {
                out.push(
                    Diagnostic::new(Code::P021, op_name.span, "CelExpr works in matchArgs (and matchReturnArgs), not in matchData: Tetragon compiles a matchData filter's values as plain values and refuses the expression")
                        .help("move the filter to matchArgs; CEL expressions name their arguments arg0, arg1, ..."),
                );
            }
        } else if f.values_written == 1 {
            if let Some(v) = f.values.first() {
                check_cel(hook, v, which, out);
            }
        } else {
            out.push(
                Diagnostic::new(
                    Code::P013,
                    f.values.get(1).map_or(op_name.span, |v| v.span),
                    "a CelExpr filter takes exactly one expression (\"only a single CelExpr value is supported\")",
                )
                .help("combine the expressions with && or || into one"),
            );
        }
        return;
    }
    if let Some(t) = &ty {
        match verdict(op, t.sel, &t.name) {
            Verdict::Fits => {}
            Verdict::Refused {
                why,
                only_with_values,
            } => {
                if !only_with_values || f.values_written > 0 {
                    out.push(
                        Diagnostic::new(
                            Code::P021,
                            op_name.span,
                            format!("`{}` cannot filter the `{}` argument: {why}", op.name, t.name),
                        )
                        .help(type_help(&t.name, t.sel, op))
                        .related(t.span, format!("the argument is declared `{}` here", t.name)),
                    );
                    return;
                }
            }
            Verdict::NeverMatches(why) => out.push(
                Diagnostic::new(
                    Code::P021,
                    op_name.span,
                    format!(
                        "Tetragon loads `{}` on the `{}` argument, but it never matches: {why}",
                        op.name, t.name
                    ),
                )
                .help(type_help(&t.name, t.sel, op))
                .related(t.span, format!("the argument is declared `{}` here", t.name)),
            ),
            Verdict::Ignored => out.push(
                Diagnostic::new(
                    Code::P021,
                    op_name.span,
                    format!(
                        "Tetragon loads `{}` on the `{}` argument, but the BPF side does not filter `{}` args: the filter lets every call through",
                        op.name, t.name, t.name
                    ),
                )
                .help(type_help(&t.name, t.sel, op))
                .related(t.span, format!("the argument is declared `{}` here", t.name)),
            ),
        }
    }
    // Values. A template placeholder (`${PODCIDR}`, `{{ .Values.x }}`) is checked like any
    // value: Tetragon loads the file as written, so one it cannot parse is refused (the help
    // says to substitute it first), and one compared as a string matches only its own text.
    let needs_values = !matches!(op.kind, OpKind::PortPriv | OpKind::CapGained);
    if needs_values && f.values_written == 0 {
        let span = f.values_key.unwrap_or(op_name.span);
        let effect = if op.name.starts_with("Not") {
            "always matches"
        } else {
            "never matches"
        };
        out.push(
            Diagnostic::new(
                Code::P024,
                span,
                format!(
                    "this `{}` filter has no values: Tetragon loads this, but it {effect}",
                    op.name
                ),
            )
            .help("add the values to compare with under `values:`"),
        );
        return;
    }
    if op.kind == OpKind::PortPriv && !f.values.is_empty() {
        out.push(
            Diagnostic::new(
                Code::P024,
                f.values_key.unwrap_or(op_name.span),
                format!(
                    "`{}` takes no values; these are ignored (privileged means ports 0-1023)",
                    op.name
                ),
            )
            .help("remove `values`, or use SPort/DPort with explicit ports")
            .severity(Severity::Warning),
        );
        return;
    }
    let sel = ty.as_ref().map(|t| t.sel);
    let ty_name = ty.as_ref().map_or("", |t| t.name.as_str());
    let limit = |what: &str, out: &mut Vec<Diagnostic>| {
        let n = facts::MAX_MATCH_VALUES;
        if f.values.len() > n {
            out.push(
                Diagnostic::new(
                    Code::P013,
                    f.values[n].span,
                    format!("{what} holds at most {n} values; this is value {}", n + 1),
                )
                .help(if matches!(sel, Some(SelType::Int(_))) {
                    "use InMap (or NotInMap) for more integers"
                } else {
                    "split the values over several selectors"
                }),
            );
        }
    };
    match op.kind {
        OpKind::Equality => match sel {
            Some(SelType::Int(it)) => {
                limit(&format!("`{}` on an integer", op.name), out);
                for v in &f.values {
                    check_int_value(v, it, ty_name, op.name, out);
                }
            }
            Some(SelType::Cap) => {
                limit(&format!("`{}` on a capability set", op.name), out);
                for v in &f.values {
                    check_cap_mask(v, out);
                }
            }
            Some(s) if s.is_string() => {
                let trims_nul = matches!(s, SelType::Buf { string: true, .. });
                for v in &f.values {
                    let len = if trims_nul {
                        v.value.trim_end_matches('\0').len()
                    } else {
                        v.value.len()
                    };
                    string_len(v, len, facts::MAX_EQUAL_LEN, "Equal compares", out);
                }
            }
            _ => {}
        },
        OpKind::Prefix => {
            for v in &f.values {
                string_len(
                    v,
                    v.value.len(),
                    facts::MAX_PREFIX_LEN,
                    "a Prefix value holds",
                    out,
                );
            }
        }
        OpKind::Postfix => {
            // Tetragon drops trailing NULs, except for char_buf args; with nothing left it
            // indexes an empty string and the agent panics.
            let trims_nul = sel.is_some_and(|s| !matches!(s, SelType::Buf { char_buf: true, .. }));
            for v in &f.values {
                let text = if trims_nul {
                    v.value.trim_end_matches('\0')
                } else {
                    v.value.as_str()
                };
                if trims_nul && text.is_empty() {
                    out.push(
                        invalid(
                            v,
                            "an empty Postfix value makes Tetragon's agent panic when it loads the policy (it reads the last byte of an empty string)".to_string(),
                            "remove the empty value; a Postfix that matches everything is no filter".into(),
                        ),
                    );
                    continue;
                }
                string_len(
                    v,
                    text.len(),
                    facts::MAX_POSTFIX_LEN,
                    "a Postfix value holds",
                    out,
                );
            }
        }
        OpKind::SubString => {
            if sel.is_some_and(SelType::is_string) {
                for v in &f.values {
                    if v.value.len() > facts::MAX_SUBSTRING_LEN {
                        out.push(
                            Diagnostic::new(
                                Code::P023,
                                v.span,
                                format!(
                                    "a SubString value holds at most {} bytes; this one has {}",
                                    facts::MAX_SUBSTRING_LEN,
                                    v.value.len()
                                ),
                            )
                            .help("shorten the substring"),
                        );
                    }
                }
            }
        }
        OpKind::Compare | OpKind::Mask => {
            limit(&format!("`{}`", op.name), out);
            match sel {
                Some(SelType::Int(it)) => {
                    for v in &f.values {
                        check_int_value(v, it, ty_name, op.name, out);
                    }
                }
                Some(SelType::Cap) => {
                    for v in &f.values {
                        check_cap_mask(v, out);
                    }
                }
                _ => {}
            }
        }
        OpKind::InMap => {
            let int = match sel {
                Some(SelType::Int(it)) => Some(it),
                _ => None,
            };
            for v in &f.values {
                check_in_map(policy, hook, v, int, ty_name, out);
            }
        }
        OpKind::Range => {
            limit(&format!("`{}`", op.name), out);
            let int = match sel {
                Some(SelType::Int(it)) => Some(it),
                _ => None,
            };
            for v in &f.values {
                check_range(v, int, ty_name, op, out);
            }
        }
        OpKind::Port => {
            for v in &f.values {
                check_unsigned_set(v, None, 0xffff, "a port", out);
            }
        }
        OpKind::Protocol => {
            for v in &f.values {
                check_unsigned_set(v, Some(facts::PROTOCOLS), 0xffff, "an IP protocol", out);
            }
        }
        OpKind::Family => {
            for v in &f.values {
                check_unsigned_set(v, Some(facts::FAMILIES), 0xffff, "an address family", out);
            }
        }
        OpKind::State => {
            for v in &f.values {
                check_unsigned_set(v, Some(facts::TCP_STATES), 0xff, "a TCP state", out);
            }
        }
        OpKind::Addr => {
            for v in &f.values {
                if let Err(why) = parse_cidr(&v.value) {
                    out.push(invalid(v, format!("`{}` is not an IP address or CIDR: {why}", v.value), "write an address like `10.0.0.1` or `2001:db8::1`, or a CIDR like `10.0.0.0/8`".into()));
                }
            }
        }
        OpKind::FileType => {
            for v in &f.values {
                if !facts::FILE_TYPES.contains(&v.value.as_str()) {
                    out.push(invalid(
                        v,
                        format!("`{}` is not a file type Tetragon knows", v.value),
                        format!("use one of: {}", facts::FILE_TYPES.join(", ")),
                    ));
                }
            }
            limit(&format!("`{}`", op.name), out);
        }
        OpKind::PortPriv | OpKind::CapGained | OpKind::Cel => {}
    }
    if op.kind == OpKind::CapGained {
        check_cap_gained(hook, f, which, op_name, out);
    }
}

/// CapabilitiesGained: `args: [new, old]`, both capability sets.
fn check_cap_gained(
    hook: &Hook,
    f: &ArgFilter,
    which: FilterList,
    op_name: &Spanned<String>,
    out: &mut Vec<Diagnostic>,
) {
    let sig = selectors::sig(hook, which);
    let is_cap = |pos: i64| {
        usize::try_from(pos)
            .ok()
            .and_then(|p| sig.get(p))
            .map(|(_, a)| match a {
                SigArg::Declared(arg) => sel_type(arg.type_name()) == SelType::Cap,
                // A tracepoint size field is an integer.
                SigArg::SizeField => false,
            })
    };
    let why = if f.args.len() != 2 {
        Some("it compares two capability-set args, given as `args: [new, old]` (\"CapabilitiesGained operator requires two args\")")
    } else if f.args.iter().any(|a| is_cap(a.value) == Some(false)) {
        Some("both args must be capability sets (\"CapabilitiesGained operator requaries capability type arguments\")")
    } else {
        // Positions past the end are P020.
        None
    };
    if let Some(why) = why {
        out.push(
            Diagnostic::new(Code::P021, op_name.span, format!("CapabilitiesGained cannot filter this: {why}"))
                .help("add `args: [<position of the new set>, <position of the old set>]`, both declared as kernel_cap_t or cap_* types"),
        );
    }
}

/// A value that a templating step (envsubst, Helm) replaces before the policy is loaded.
pub fn is_template(value: &str) -> bool {
    value.contains("${") || value.contains("{{")
}

fn invalid(v: &Spanned<String>, message: String, help: String) -> Diagnostic {
    if is_template(&v.value) {
        return Diagnostic::new(
            Code::P022,
            v.span,
            format!("`{}` is a template placeholder, and Tetragon loads the file as written: {message}", v.value),
        )
        .help("fill in the template (envsubst, Helm, kustomize) before loading, and check the file it produces");
    }
    Diagnostic::new(Code::P022, v.span, message).help(help)
}

fn string_len(v: &Spanned<String>, len: usize, max: usize, what: &str, out: &mut Vec<Diagnostic>) {
    if len > max {
        out.push(
            Diagnostic::new(
                Code::P023,
                v.span,
                format!("{what} at most {max} bytes; this value has {len}"),
            )
            .help("shorten the value"),
        );
    }
}

fn type_help(ty: &str, sel: SelType, op: &Operator) -> String {
    let fits = fitting_operators(ty);
    let list = || {
        let negated: Vec<&str> = facts::OPERATORS
            .iter()
            .filter(|n| {
                n.name
                    .strip_prefix("Not")
                    .is_some_and(|base| fits.iter().any(|f| f.eq_ignore_ascii_case(base)))
                    && facts::operator_fits(n, ty).is_ok()
            })
            .map(|n| n.name)
            .collect();
        let and = if negated.is_empty() {
            String::new()
        } else {
            format!(", and {}", join_and(&negated))
        };
        format!("`{ty}` args take {}{and}", join_or(&fits))
    };
    match (ty, op.kind) {
        ("filename", _) => "Tetragon cannot filter `filename` args; read the name as a string with `type: \"string\"` and `resolve: \"name\"`, or hook a function that takes a `struct path *` or `struct file *`".into(),
        ("bpf_cmd", _) => "`bpf_cmd` only names the command in events; declare the arg as `int` to filter the command number".into(),
        ("skb", OpKind::State) => "the TCP state is read from a `sock` or `socket` arg; hook a function that takes a `struct sock *`".into(),
        _ if fits.is_empty() => format!("the BPF side filters no `{ty}` arg; remove the filter, or declare the argument with a type Tetragon filters"),
        (_, OpKind::Equality | OpKind::Prefix | OpKind::Postfix | OpKind::SubString) if matches!(sel, SelType::Int(_)) => {
            format!("{}; if the argument is a `char *`, declare it as `string`", list())
        }
        (_, OpKind::Port | OpKind::PortPriv | OpKind::Addr | OpKind::Protocol | OpKind::Family | OpKind::State) if !sel.is_net() && sel != SelType::SockaddrUn => {
            format!("socket operators need a `sock`, `skb`, `socket` or `sockaddr` arg; {}", list())
        }
        (_, OpKind::FileType) => format!("FileType needs a `file` or `path` arg; {}", list()),
        (_, OpKind::Compare | OpKind::InMap | OpKind::Range | OpKind::Mask) if !matches!(sel, SelType::Int(_) | SelType::Cap) => {
            format!("{} needs an integer arg; {}", op.name, list())
        }
        _ => list(),
    }
}

/// The operators that do what they say on an arg of type `ty` (`facts::operator_fits`), for
/// helps: positive forms only, without the GreaterThan/LessThan spellings, CapabilitiesGained
/// (which takes two args) and CelExpr (which takes any).
fn fitting_operators(ty: &str) -> Vec<&'static str> {
    facts::OPERATORS
        .iter()
        .filter(|o| {
            !o.name.starts_with("Not")
                && !matches!(
                    o.name,
                    "GreaterThan" | "LessThan" | "CapabilitiesGained" | "CelExpr"
                )
                && facts::operator_fits(o, ty).is_ok()
        })
        .map(|o| o.name)
        .collect()
}

/// "A, B or C".
fn join_or(items: &[&str]) -> String {
    join_with(items, "or")
}

/// "A, B and C".
fn join_and(items: &[&str]) -> String {
    join_with(items, "and")
}

fn join_with(items: &[&str], word: &str) -> String {
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} {word} {last}", rest.join(", ")),
        _ => items.join(""),
    }
}

/// Equal, NotEqual, GT, LT, Mask on an integer: Go's base-0 parse of the arg's width, and the
/// width the BPF side compares. On 8- and 16-bit args the BPF side compares the arg, read as
/// an unsigned number, with the 32-bit value Go stored (`filter_16ty_selector_val`).
fn check_int_value(
    v: &Spanned<String>,
    it: IntType,
    ty: &str,
    op: &str,
    out: &mut Vec<Diagnostic>,
) {
    let parsed: Result<i128, NumError> = if it.signed {
        golang::parse_int(&v.value, it.bits).map(i128::from)
    } else {
        golang::parse_uint(&v.value, it.bits).map(i128::from)
    };
    let n = match parsed {
        Err(e) => {
            out.push(invalid(
                v,
                int_error(&v.value, e, it, ty),
                int_help(&v.value, true),
            ));
            return;
        }
        Ok(n) => n,
    };
    if it.read_bits >= 32 {
        return;
    }
    let max = (1u32 << it.read_bits) - 1;
    // The 32 bits Go wrote (a negative value in two's complement).
    let stored = n as u32;
    if stored <= max {
        return;
    }
    let effect = match op {
        "Equal" | "GT" => "it never matches",
        "NotEqual" | "LT" => "it always matches",
        // Mask tests the bits the arg can have; the others are dead.
        _ if stored & max == 0 => "it never matches",
        _ => return,
    };
    out.push(invalid(
        v,
        format!(
            "`{}` is outside what the `{ty}` arg can hold: Tetragon loads this, but the BPF side reads the arg as an unsigned {}-bit number (0 to {max}), so {effect}",
            v.value, it.read_bits
        ),
        format!("write a value from 0 to {max}"),
    ));
}

/// A capability-set value: a number (base 0) or comma-separated capability names.
fn check_cap_mask(v: &Spanned<String>, out: &mut Vec<Diagnostic>) {
    if golang::parse_uint(&v.value, 64).is_ok() {
        return;
    }
    for name in v.value.split(',') {
        if let Err(help) = tetragon_capability(name) {
            let what = if name.trim().is_empty() {
                "an empty capability name (a stray comma?) is not a capability Tetragon knows"
                    .to_string()
            } else {
                format!("`{}` is not a capability name Tetragon knows", name.trim())
            };
            out.push(invalid(v, what, help));
        }
    }
}

/// Is `name` a capability Tetragon's capability table knows (after trimming spaces and
/// upper-casing, as `capsStrToUint64` does)? The error is a help text.
pub(crate) fn tetragon_capability(name: &str) -> Result<(), String> {
    let upper = name.trim().to_ascii_uppercase();
    if facts::CAPABILITIES.contains(&upper.as_str()) {
        return Ok(());
    }
    if upper == "CAP_DAC_OVERRIDE" {
        return Err("Tetragon's capability table (api/v1/tetragon CapabilitiesType) names this one `DAC_OVERRIDE`, without the CAP_ prefix".into());
    }
    Err(
        match crate::suggest::did_you_mean(&upper, facts::CAPABILITIES) {
            Some(s) => format!("did you mean `{s}`?"),
            None => {
                "use CAP_* names such as CAP_SYS_ADMIN or CAP_NET_RAW (a number is read as a mask)"
                    .into()
            }
        },
    )
}

fn int_error(value: &str, e: NumError, it: IntType, ty: &str) -> String {
    let what = format!(
        "{} {}-bit integer",
        if it.signed { "a signed" } else { "an unsigned" },
        it.bits
    );
    match e {
        NumError::Syntax => {
            format!("`{value}` is not an integer (the argument is `{ty}`, read as {what})")
        }
        NumError::Range => format!("`{value}` does not fit {what} (the argument is `{ty}`)"),
    }
}

fn int_help(value: &str, base0: bool) -> String {
    let lower = value.to_ascii_lowercase();
    let looks_numeric = lower.starts_with("0x")
        || lower.starts_with("-0x")
        || !value.chars().any(|c| c.is_alphabetic());
    if !looks_numeric || value.starts_with('/') {
        "this argument is declared as an integer; to compare a string or a path, declare it with a string type (string, file, path, fd...)".into()
    } else if base0 {
        "write a decimal, 0x hexadecimal, 0o octal or 0b binary integer (digits may be separated by `_`) that fits the argument's type, with no spaces".into()
    } else {
        "InMap reads plain decimal integers: no 0x prefix, no `_`, no spaces".into()
    }
}

/// An InMap / NotInMap value: `list:NAME`, a base-10 integer, or a base-10 range `a:b`.
fn check_in_map(
    policy: &Policy,
    hook: &Hook,
    v: &Spanned<String>,
    int: Option<IntType>,
    ty: &str,
    out: &mut Vec<Diagnostic>,
) {
    if let Some(name) = v.value.strip_prefix("list:") {
        if hook.kind != HookKind::Tracepoint {
            out.push(invalid(
                v,
                format!("Tetragon reads `list:` values only in tracepoint selectors; on a {} it refuses the policy (\"failed list values loading is not supported\")", hook.kind.noun()),
                "list the values themselves, or filter the syscall id of a raw_syscalls tracepoint".into(),
            ));
            return;
        }
        match policy
            .spec
            .lists
            .iter()
            .find(|l| l.name.as_ref().is_some_and(|n| n.value == name))
        {
            None => out.push(
                Diagnostic::new(
                    Code::P072,
                    v.span,
                    format!("there is no list named `{name}` in spec.lists"),
                )
                .help("define it under `spec.lists`, or fix the name"),
            ),
            Some(list) => {
                let syscall_list = list
                    .ty
                    .as_ref()
                    .is_some_and(|t| t.value == "syscalls" || t.value == "generated_syscalls");
                if !syscall_list {
                    out.push(invalid(v, format!("list `{name}` is not a syscall list; Tetragon reads only `syscalls` and `generated_syscalls` lists into InMap (\"error list '{name}' is not syscall type\")"), "set the list's `type: syscalls`".into()));
                } else if ty != "syscall64" {
                    let d = invalid(
                        v,
                        format!("InMap with a syscall list needs the syscall id as a `syscall64` argument; Tetragon refuses any other type (\"error list '{name}' argument type is not syscall64\"), this one is `{}`", if ty.is_empty() { "auto" } else { ty }),
                        "declare the syscall id argument as `type: syscall64`".into(),
                    );
                    // Tetragon's own list-syscalls-tracepoint example reads the id as uint64
                    // (it predates the check, commit e4c554513) and is refused today.
                    out.push(d);
                }
            }
        }
        return;
    }
    let parts: Vec<&str> = v.value.split(':').collect();
    if parts.len() > 2 {
        out.push(invalid(
            v,
            format!("`{}` is not a range: write `min:max`", v.value),
            "InMap takes decimal integers, ranges `min:max`, or `list:NAME`".into(),
        ));
        return;
    }
    let parse = |s: &str| -> Result<i128, NumError> {
        match int {
            Some(it) if it.signed => golang::parse_int10(s, 64).map(i128::from),
            Some(_) => golang::parse_uint10(s, 64).map(i128::from),
            // Type unknown: either parse may be the one Tetragon uses.
            None => golang::parse_int10(s, 64)
                .map(i128::from)
                .or_else(|_| golang::parse_uint10(s, 64).map(i128::from)),
        }
    };
    let mut bounds = Vec::new();
    for p in &parts {
        match parse(p) {
            Ok(n) => bounds.push(n),
            Err(e) => {
                let what = match int {
                    Some(it) if it.signed => "a signed 64-bit decimal integer",
                    Some(_) => "an unsigned 64-bit decimal integer",
                    None => "a decimal integer",
                };
                let problem = match e {
                    NumError::Syntax => "is not",
                    NumError::Range => "does not fit",
                };
                out.push(invalid(
                    v,
                    format!(
                        "`{p}` {problem} {what}, which InMap needs{}",
                        if ty.is_empty() {
                            String::new()
                        } else {
                            format!(" (the argument is `{ty}`)")
                        }
                    ),
                    int_help(p, false),
                ));
                return;
            }
        }
    }
    // The BPF side looks a narrow arg up zero-extended to 64 bits.
    if let Some(it) = int.filter(|it| it.read_bits < 64) {
        let max = (1i128 << it.read_bits) - 1;
        let lo = bounds.iter().copied().min().unwrap_or(0);
        let hi = bounds.iter().copied().max().unwrap_or(0);
        if hi < 0 || lo > max {
            // Nothing of the value can match.
            out.push(invalid(
                v,
                format!("`{}` is outside 0..{max}: Tetragon loads this, but the BPF side looks the `{ty}` arg up as an unsigned {}-bit number, so it never matches", v.value, it.read_bits),
                format!("keep InMap values from 0 to {max}"),
            ));
        } else if lo < 0 || hi > max {
            // The part inside still matches.
            out.push(
                invalid(
                    v,
                    format!("`{}` reaches outside 0..{max}: the BPF side looks the `{ty}` arg up as an unsigned {}-bit number, so the values outside never match", v.value, it.read_bits),
                    format!("keep InMap values from 0 to {max}"),
                )
                .severity(Severity::Warning),
            );
        }
    }
}

/// An InRange / NotInRange value: `min:max`, each side `ParseInt(_, 0, 64)`, and for 32-bit
/// types neither side above 4294967295.
fn check_range(
    v: &Spanned<String>,
    int: Option<IntType>,
    ty: &str,
    op: &Operator,
    out: &mut Vec<Diagnostic>,
) {
    let parts: Vec<&str> = v.value.split(':').collect();
    if parts.len() != 2 {
        out.push(invalid(
            v,
            format!("`{}` is not a range", v.value),
            "write ranges as `min:max`, like `1000:1999`".into(),
        ));
        return;
    }
    let mut bounds = [0i64; 2];
    for (i, p) in parts.iter().enumerate() {
        match golang::parse_int(p, 64) {
            Ok(n) => bounds[i] = n,
            Err(e) => {
                out.push(invalid(
                    v,
                    format!(
                        "`{p}` {} a signed 64-bit integer, which each side of a range must be",
                        match e {
                            NumError::Syntax => "is not",
                            NumError::Range => "does not fit",
                        }
                    ),
                    "write ranges as `min:max` with decimal, 0x, 0o or 0b integers and no spaces"
                        .into(),
                ));
                return;
            }
        }
    }
    let Some(it) = int else { return };
    let [min, max] = bounds;
    if it.bits == 32 && (min > i64::from(u32::MAX) || max > i64::from(u32::MAX)) {
        out.push(invalid(
            v,
            format!(
                "`{}` goes past 4294967295, the largest bound Tetragon takes for a `{ty}` arg (\"range out of range\")",
                v.value
            ),
            "keep both sides at most 4294967295".into(),
        ));
        return;
    }
    // How the BPF side compares: the bounds as it stores and reads them.
    let (start, end, top): (i128, i128, i128) = match (it.read_bits, it.bpf_signed) {
        (64, true) => (min.into(), max.into(), i128::MAX),
        (64, false) => ((min as u64).into(), (max as u64).into(), i128::MAX),
        (32, true) => (
            (min as u32 as i32).into(),
            (max as u32 as i32).into(),
            i128::MAX,
        ),
        (bits, _) => (
            (min as u32).into(),
            (max as u32).into(),
            if bits == 32 {
                i128::MAX
            } else {
                (1i128 << bits) - 1
            },
        ),
    };
    if start > end || start > top {
        let effect = if op.name.starts_with("Not") {
            "it excludes nothing"
        } else {
            "it matches no value"
        };
        let how = if (start, end) != (i128::from(min), i128::from(max)) {
            format!(" (the BPF side compares it as {start}:{end} for the `{ty}` arg)")
        } else {
            String::new()
        };
        // Tetragon takes bounds up to 4294967295 for every 32-bit type, and its own tests write
        // such a bound on a signed `int` (kprobe_process_credentials_test.go): a range that is
        // only empty because the BPF side reads that bound as negative stays a warning.
        let signed_wrap = it.read_bits == 32 && it.bpf_signed && min <= max;
        let d = if signed_wrap {
            invalid(
                v,
                format!("the range `{}` is empty{how}, so {effect}", v.value),
                "a signed 32-bit arg is compared as signed: keep both sides within -2147483648..2147483647, or declare the arg `uint32`".to_string(),
            )
            .severity(Severity::Warning)
        } else {
            invalid(
                v,
                format!(
                    "the range `{}` is empty{how}: Tetragon loads this, but {effect}",
                    v.value
                ),
                "write `min:max` with min ≤ max, within the values the argument can take"
                    .to_string(),
            )
        };
        out.push(d);
    }
}

/// A port, protocol, family or state value: a name of Tetragon's table (single values only),
/// or unsigned base-10 integers, alone or as `min:max`. Values above `top` never match.
/// `names` is Tetragon's table of names (from `facts`).
fn check_unsigned_set(
    v: &Spanned<String>,
    names: Option<&'static [(&'static str, u32)]>,
    top: u64,
    what: &str,
    out: &mut Vec<Diagnostic>,
) {
    let names: Option<Vec<&str>> = names.map(|t| t.iter().map(|(n, _)| *n).collect());
    let names = names.as_deref();
    let parts: Vec<&str> = v.value.split(':').collect();
    if parts.len() == 1 && names.is_some_and(|n| n.contains(&v.value.as_str())) {
        return;
    }
    if parts.len() > 2 {
        out.push(invalid(
            v,
            format!("`{}` is not a range: write `min:max`", v.value),
            "write a value or a range `min:max`".into(),
        ));
        return;
    }
    let mut bounds = Vec::new();
    for p in &parts {
        match golang::parse_uint10(p, 64) {
            Ok(n) => bounds.push(n),
            Err(_) => {
                let d = invalid(
                    v,
                    format!("`{}` is not {what} Tetragon knows", v.value),
                    match names {
                        None => format!(
                            "write a number from 0 to {top}, or a range `min:max` like `8000:8080`"
                        ),
                        Some(_) if parts.len() == 2 => {
                            "a range takes numbers only, not names".to_string()
                        }
                        Some(n) => format!(
                            "use a decimal number or one of Tetragon's names: {}",
                            n.join(", ")
                        ),
                    },
                );
                if let Some((_, n)) = LINUX_ONLY_NAMES.iter().find(|(name, _)| *name == v.value) {
                    out.push(d.help(format!(
                        "Tetragon's table (pkg/reader/network) lacks this name; write its number, {n}"
                    )));
                    return;
                }
                let suggestion = names
                    .filter(|_| parts.len() == 1)
                    .and_then(|n| crate::suggest::did_you_mean(&v.value, n));
                out.push(match suggestion {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d,
                });
                return;
            }
        }
    }
    let lowest = bounds.iter().copied().min().unwrap_or(0);
    if lowest > top {
        out.push(invalid(
            v,
            format!(
                "`{}` is more than {what} can be: Tetragon loads this, but {what} is at most {top} on the BPF side, so it never matches",
                v.value
            ),
            format!("write values from 0 to {top}"),
        ));
    }
}

/// Linux names that Tetragon's tables (`pkg/reader/network`) lack, with their numbers, so the
/// help can say which number to write instead.
const LINUX_ONLY_NAMES: &[(&str, u32)] = &[
    ("IPPROTO_ICMPV6", 58),
    ("IPPROTO_L2TP", 115),
    ("AF_LOCAL", 1),
    ("AF_ROUTE", 16),
];

/// Parse an IP address or CIDR as Tetragon does (`parseAddr`: `netip.ParsePrefix` when there
/// is a `/`, `netip.ParseAddr` otherwise, which takes an IPv6 zone).
pub fn parse_cidr(text: &str) -> Result<(IpAddr, u8), String> {
    match text.rsplit_once('/') {
        Some((addr, bits)) => {
            let ip: IpAddr = addr
                .parse()
                .map_err(|_| format!("`{addr}` is not an IP address"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            // netip refuses a sign and leading zeros in the prefix length.
            let canonical = bits == "0" || bits.starts_with(|c: char| ('1'..='9').contains(&c));
            let n: u8 = bits
                .parse()
                .ok()
                .filter(|n| *n <= max && canonical && bits.bytes().all(|c| c.is_ascii_digit()))
                .ok_or_else(|| format!("the prefix length must be 0 to {max}"))?;
            Ok((ip, n))
        }
        None => {
            // An IPv6 address may carry a zone (`fe80::1%eth0`), ignored for matching.
            let addr = match text.split_once('%') {
                Some((a, zone)) if a.contains(':') && !zone.is_empty() => a,
                _ => text,
            };
            let ip: IpAddr = addr.parse().map_err(|_| "it does not parse".to_string())?;
            Ok((ip, if ip.is_ipv4() { 32 } else { 128 }))
        }
    }
}

/// P077: the expression of a CelExpr filter, parsed and type-checked as Tetragon does.
fn check_cel(hook: &Hook, value: &Spanned<String>, which: FilterList, out: &mut Vec<Diagnostic>) {
    let types = cel_arg_types(hook, which);
    if let Err(e) = crate::celexpr::compile(&value.value, &types) {
        let at = value.value.get(e.at.clone()).unwrap_or("");
        let place = if at.is_empty() || at.len() == value.value.len() {
            String::new()
        } else {
            format!(" (at `{at}`)")
        };
        out.push(
            Diagnostic::new(
                Code::P077,
                value.span,
                format!("Tetragon cannot compile this CelExpr: {}{place}", e.message),
            )
            .help(e.help),
        );
    }
}

/// The CEL types of `arg0`, `arg1`, ... for a filter of `which` (Tetragon's `sig`). On
/// tracepoints Tetragon types the arguments from the tracepoint's format, so a declared type
/// CEL cannot read is not judged there.
pub(crate) fn cel_arg_types(hook: &Hook, which: FilterList) -> Vec<crate::celexpr::Ty> {
    use crate::celexpr::Ty;
    selectors::sig(hook, which)
        .into_iter()
        .map(|(_, a)| match a {
            SigArg::Declared(arg) => match Ty::of_arg_type(arg.type_name()) {
                Ty::Unsupported if hook.kind == HookKind::Tracepoint => Ty::Unknown,
                t => t,
            },
            SigArg::SizeField => Ty::Unknown,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        assert!(parse_cidr("10.0.0.0/8").is_ok());
        assert!(parse_cidr("10.0.0.1/8").is_ok());
        assert!(parse_cidr("0.0.0.0/0").is_ok());
        assert!(parse_cidr("::1").is_ok());
        assert!(parse_cidr("fe80::1%eth0").is_ok());
        assert!(parse_cidr("fe80::1%").is_err());
        assert!(parse_cidr("1.2.3.4%eth0").is_err());
        assert!(parse_cidr("1.2.3.4/33").is_err());
        assert!(parse_cidr("1.2.3.4/08").is_err());
        assert!(parse_cidr("1.2.3.4/+8").is_err());
        assert!(parse_cidr("010.0.0.1").is_err());
        assert!(parse_cidr("a.b.c.d").is_err());
        assert!(parse_cidr("1.2.3.4/16/16").is_err());
    }

    #[test]
    fn globs() {
        assert_eq!(glob_bounds("/etc/passwd"), None);
        assert_eq!(glob_bounds("/etc/*"), Some((5, 6)));
        assert_eq!(glob_bounds("/dev/tty[0-9]"), Some((8, 13)));
        assert_eq!(glob_bounds("/a[]b"), None);
        assert_eq!(glob_bounds("/a[b"), None);
        assert_eq!(glob_bounds("/home/*/.ssh/id_?sa"), Some((6, 17)));
        let args = Some("matchArgs");
        assert_eq!(
            glob_fix("/etc/*", "Equal", args),
            "use `Prefix` with `/etc/`"
        );
        assert_eq!(
            glob_fix("/var/log/**", "NotEqual", args),
            "use `NotPrefix` with `/var/log/`"
        );
        assert_eq!(
            glob_fix("*.pem", "Postfix", args),
            "use `Postfix` with `.pem`"
        );
        assert_eq!(
            glob_fix("/*.pem", "Equal", args),
            "use `Postfix` with `.pem`"
        );
        assert!(glob_fix("/etc/ssh/*.conf", "Equal", args)
            .contains("`Prefix` with `/etc/ssh/` and `Postfix` with `.conf`"));
        assert!(glob_fix("/home/*/.ssh/", "Prefix", args)
            .contains("`Prefix` with `/home/` and `SubString` with `/.ssh/`"));
        assert_eq!(
            glob_fix("*/bin/", "Prefix", args),
            "use `SubString` with `/bin/`"
        );
        assert_eq!(glob_fix("*/bin/", "Prefix", None), "rewrite the value without wildcards: the operators Tetragon has here cannot express it");
        assert_eq!(
            glob_fix("/home/*/bin/", "Prefix", None),
            "use `Prefix` with `/home/` (it matches more than the pattern)"
        );
        assert_eq!(glob_fix("*bash", "In", None), "use `Postfix` with `bash`");
        assert!(glob_fix("*", "Equal", args).contains("remove the filter"));
    }

    #[test]
    fn capabilities() {
        assert!(tetragon_capability("CAP_SYS_ADMIN").is_ok());
        assert!(tetragon_capability(" cap_net_raw ").is_ok());
        assert!(tetragon_capability("DAC_OVERRIDE").is_ok());
        assert!(tetragon_capability("CAP_DAC_OVERRIDE").is_err());
        assert!(tetragon_capability("").is_err());
    }
}
