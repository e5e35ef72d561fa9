//! matchArgs / matchData / matchReturnArgs operators: does the operator fit the argument's type,
//! and are its values well-formed and within limits? The operator table is `facts::OPERATORS`.

use std::net::IpAddr;

use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::facts::{self, ArgClass, OpKind, Operator};
use crate::model::{ArgFilter, Hook, Policy, Spanned};

/// `P013`.
pub const P013: CodeInfo = CodeInfo {
    code: "P013",
    name: "too-many-values",
    severity: Severity::Error,
    summary: "More values than a filter holds (4 for integer comparisons, ranges, file types, pids, namespaces).",
    explanation: "Integer comparisons (Equal, NotEqual, GT, LT, Mask), InRange, FileType and matchNamespaces store their values inline in the selector, 4 at most (\"selector does not support more than 4 values: consider using InMap or NotInMap operators\"). matchPIDs is worse: Tetragon accepts more than 4 pids but the BPF side reads only the first 4, silently ignoring the rest. Use InMap for many integers.",
    tetragon: "pkg/selectors/kernel.go writeMatchValues; bpf/process/pfilter.h (pids: not checked)",
};

/// `P021`.
pub const P021: CodeInfo = CodeInfo {
    code: "P021",
    name: "operator-arg-type",
    severity: Severity::Error,
    summary: "An operator that cannot filter an argument of this type (Prefix on an int, DPort on a string, ...).",
    explanation: "Each operator works on a family of argument types: string operators (Equal, Prefix, Postfix, SubString) on strings and paths (string, char_buf, fd, file, path, dentry, linux_binprm, ...); integer operators (GT, LT, Mask, InMap, InRange) on integers; network operators (SPort, DPort, SAddr, DAddr, Protocol, Family, State) on sock, skb and socket; FileType on file and path. Some mismatches make Tetragon refuse the policy (\"MatchArgs type filename unsupported\", \"sock/socket/skb/sockaddr operators specified for non-sock... type\"); others load and then never match, because the kernel compares bytes of a different shape. `filename` args cannot be string-filtered at all.",
    tetragon: "pkg/selectors/kernel.go parseMatchArg (partly; Prefix, Postfix and SubString are not type-checked)",
};

/// `P022`.
pub const P022: CodeInfo = CodeInfo {
    code: "P022",
    name: "invalid-value",
    severity: Severity::Error,
    summary: "A filter value in the wrong format (not a number, port, CIDR, capability, namespace, signal...).",
    explanation: "Values are strings in YAML, but each operator parses them: integers for integer args (decimal, 0x hex or 0 octal, within the arg's width), ports 0-65535 or ranges `min:max`, IP addresses or CIDRs for SAddr/DAddr, IPPROTO_*, AF_* and TCP_* names, file types, CAP_* capability names, namespace inode numbers or `host_ns`, namespace kinds. Tetragon fails the policy on a value it cannot parse (\"MatchArgs value %s invalid\").",
    tetragon: "pkg/selectors/kernel.go (writeMatchValues, parseAddr, ParseMatch*)",
};

/// `P023`.
pub const P023: CodeInfo = CodeInfo {
    code: "P023",
    name: "value-too-long",
    severity: Severity::Error,
    summary: "A string value longer than the operator can compare.",
    explanation: "Strings are matched through fixed-size BPF map keys: Equal compares up to 4096 bytes (510 on kernels before 5.11), Prefix up to 256 bytes, Postfix up to 127 bytes, SubString up to 99 characters, and matchBinaries In/NotIn paths up to 255 bytes. Longer values are refused when the policy loads.",
    tetragon: "pkg/selectors/selectors.go, kernel.go (`string is longer than ...`)",
};

/// `P024`.
pub const P024: CodeInfo = CodeInfo {
    code: "P024",
    name: "missing-values",
    severity: Severity::Error,
    summary: "A filter with no values (or values an operator ignores).",
    explanation: "A filter compares the argument with its values. With no values, Equal, Prefix and the other positive operators never match, so the selector and its actions never fire, and the Not* operators always match; either way the policy loads and does not do what it says. SPortPriv, DPortPriv and their Not forms take no values; values written there are ignored.",
    tetragon: "not checked by Tetragon",
};

/// Run the checks.
pub fn check(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let mut cel = 0usize;
    for hook in &policy.spec.hooks {
        for sel in &hook.selectors {
            let mut substrings = 0usize;
            for (list, which) in [
                (&sel.match_args, Which::Args),
                (&sel.match_data, Which::Data),
                (&sel.match_return_args, Which::Return),
            ] {
                for f in list {
                    let Some(op_name) = &f.operator else { continue };
                    let Some(op) = facts::operator(&op_name.value) else {
                        continue;
                    };
                    if op.kind == OpKind::SubString {
                        substrings += f.values.len();
                    }
                    if op.kind == OpKind::Cel {
                        cel += 1;
                        if cel == facts::MAX_CEL_EXPRS + 1 {
                            out.push(
                                Diagnostic::new(
                                    Code::P013,
                                    op_name.span,
                                    format!(
                                        "a policy holds at most {} CelExpr filters",
                                        facts::MAX_CEL_EXPRS
                                    ),
                                )
                                .help("combine expressions with && and || into fewer filters"),
                            );
                        }
                    }
                    let ty = arg_type(hook, f, which);
                    check_filter(policy, hook, f, op_name, op, ty, out);
                }
            }
            if substrings > 100 {
                out.push(
                    Diagnostic::new(
                        Code::P013,
                        sel.span,
                        format!("this selector has {substrings} SubString values; at most 100 fit"),
                    )
                    .help("use fewer, shorter substrings"),
                );
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Which {
    Args,
    Data,
    Return,
}

/// The declared type of the argument a filter looks at (None when it refers to nothing).
fn arg_type(hook: &Hook, f: &ArgFilter, which: Which) -> Option<Spanned<String>> {
    let arg = match which {
        Which::Args => match f.args.first() {
            Some(pos) => usize::try_from(pos.value)
                .ok()
                .and_then(|p| hook.args.get(p)),
            None => hook.filtered_arg(f.index.as_ref().map_or(0, |i| i.value)),
        },
        Which::Data => usize::try_from(f.index.as_ref().map_or(0, |i| i.value))
            .ok()
            .and_then(|p| hook.data.get(p)),
        Which::Return => hook.return_arg.as_ref(),
    }?;
    Some(Spanned {
        value: arg.type_name().to_string(),
        span: arg.ty.as_ref().map_or(arg.span, |t| t.span),
    })
}

fn check_filter(
    policy: &Policy,
    hook: &Hook,
    f: &ArgFilter,
    op_name: &Spanned<String>,
    op: &Operator,
    ty: Option<Spanned<String>>,
    out: &mut Vec<Diagnostic>,
) {
    let class = ty.as_ref().map(|t| facts::arg_class(&t.value));
    if let (Some(ty), Some(class)) = (&ty, class) {
        // Tracepoint `auto` types come from the format; nothing to compare without a kernel.
        if ty.value != "auto" {
            let fits =
                facts::operator_fits(op, class).and_then(|()| match facts::string_operator_detail(
                    &ty.value, op,
                ) {
                    Some(why) => Err(why),
                    None => Ok(()),
                });
            if let Err(why) = fits {
                out.push(
                    Diagnostic::new(
                        Code::P021,
                        op_name.span,
                        format!(
                            "`{}` cannot filter the `{}` argument: it {why}",
                            op.name, ty.value
                        ),
                    )
                    .help(type_help(&ty.value, op))
                    .related(
                        ty.span,
                        format!("the argument is declared `{}` here", ty.value),
                    ),
                );
                return;
            }
        }
    }
    // Values. Templates (`${PODCIDR}`, `{{ .Values.x }}`) are filled in before loading.
    if f.values.iter().any(|v| is_template(&v.value)) {
        return;
    }
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
                format!("this `{}` filter has no values, so it {effect}", op.name),
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
    let class = class.unwrap_or(ArgClass::Opaque);
    let ty_name = ty.as_ref().map_or("", |t| t.value.as_str());
    let limit = |n: usize, what: &str, out: &mut Vec<Diagnostic>| {
        if f.values.len() > n {
            out.push(
                Diagnostic::new(
                    Code::P013,
                    f.values[n].span,
                    format!("{what} holds at most {n} values; this is value {}", n + 1),
                )
                .help(if class.is_int() {
                    "use InMap (or NotInMap) for more integers"
                } else {
                    "split the values over several selectors"
                }),
            );
        }
    };
    match op.kind {
        OpKind::Equality | OpKind::Compare | OpKind::Mask if class.is_int() => {
            limit(
                facts::MAX_MATCH_VALUES,
                &format!("`{}` on an integer", op.name),
                out,
            );
            for v in &f.values {
                if let Err(e) = parse_int_for(&v.value, class) {
                    out.push(invalid(
                        v,
                        format!("`{}` is not {e} (the argument is `{ty_name}`)", v.value),
                        int_help(&v.value),
                    ));
                }
            }
        }
        OpKind::Equality | OpKind::Mask if class == ArgClass::Cap => {
            limit(
                facts::MAX_MATCH_VALUES,
                &format!("`{}` on a capability set", op.name),
                out,
            );
            for v in &f.values {
                if parse_go_int(&v.value).is_none() {
                    for name in v.value.split(',') {
                        if !facts::CAPABILITIES.contains(&name.trim().to_ascii_uppercase().as_str())
                        {
                            out.push(invalid(v, format!("`{}` is not a capability", name.trim()), "use CAP_* names (CAP_SYS_ADMIN, ...) separated by commas, or a number".into()));
                        }
                    }
                }
            }
        }
        OpKind::Equality => {
            for v in &f.values {
                string_len(v, facts::MAX_EQUAL_LEN, "Equal compares", out);
            }
        }
        OpKind::Prefix => {
            for v in &f.values {
                string_len(v, facts::MAX_PREFIX_LEN, "a Prefix value holds", out);
            }
        }
        OpKind::Postfix => {
            for v in &f.values {
                string_len(v, facts::MAX_POSTFIX_LEN, "a Postfix value holds", out);
            }
        }
        OpKind::SubString => {
            for v in &f.values {
                if v.value.chars().count() > facts::MAX_SUBSTRING_LEN {
                    out.push(
                        Diagnostic::new(
                            Code::P023,
                            v.span,
                            format!(
                                "a SubString value holds at most {} characters; this one has {}",
                                facts::MAX_SUBSTRING_LEN,
                                v.value.chars().count()
                            ),
                        )
                        .help("shorten the substring"),
                    );
                }
            }
        }
        OpKind::Compare | OpKind::Mask => {}
        OpKind::InMap => {
            for v in &f.values {
                check_in_map(policy, v, class, ty_name, out);
            }
        }
        OpKind::Range => {
            limit(facts::MAX_MATCH_VALUES, "`InRange`", out);
            for v in &f.values {
                let Some((a, b)) = v.value.split_once(':') else {
                    out.push(invalid(
                        v,
                        format!("`{}` is not a range", v.value),
                        "write ranges as `min:max`, like `1000:1999`".into(),
                    ));
                    continue;
                };
                match (
                    parse_int_for(a.trim(), class),
                    parse_int_for(b.trim(), class),
                ) {
                    (Ok(lo), Ok(hi)) if lo <= hi => {}
                    (Ok(_), Ok(_)) => out.push(invalid(
                        v,
                        format!("the range `{}` starts after it ends", v.value),
                        "write `min:max` with min ≤ max".into(),
                    )),
                    (Err(e), _) | (_, Err(e)) => out.push(invalid(
                        v,
                        format!("`{}` is not a range of {e}", v.value),
                        "write ranges as `min:max` with integers".into(),
                    )),
                }
            }
        }
        OpKind::Port => {
            for v in &f.values {
                if !valid_port_or_range(&v.value) {
                    out.push(invalid(
                        v,
                        format!("`{}` is not a port", v.value),
                        "write a port from 0 to 65535, or a range `min:max` like `8000:8080`"
                            .into(),
                    ));
                }
            }
        }
        OpKind::PortPriv | OpKind::CapGained => {}
        OpKind::Addr => {
            for v in &f.values {
                if let Err(why) = parse_cidr(&v.value) {
                    out.push(invalid(v, format!("`{}` is not an IP address or CIDR: {why}", v.value), "write an address like `10.0.0.1` or `2001:db8::1`, or a CIDR like `10.0.0.0/8`".into()));
                }
            }
        }
        OpKind::Protocol => named_numbers(
            f,
            facts::PROTOCOLS,
            "an IP protocol",
            "IPPROTO_TCP, IPPROTO_UDP, 6, 17, ...",
            out,
        ),
        OpKind::Family => named_numbers(
            f,
            facts::FAMILIES,
            "an address family",
            "AF_INET, AF_INET6, AF_UNIX, 2, 10, ...",
            out,
        ),
        OpKind::State => named_numbers(
            f,
            facts::TCP_STATES,
            "a TCP state",
            "TCP_ESTABLISHED, TCP_SYN_SENT, TCP_CLOSE, ...",
            out,
        ),
        OpKind::FileType => {
            limit(facts::MAX_MATCH_VALUES, "`FileType`", out);
            for v in &f.values {
                if !facts::FILE_TYPES.contains(&v.value.as_str()) {
                    out.push(invalid(
                        v,
                        format!("`{}` is not a file type", v.value),
                        format!("use one of: {}", facts::FILE_TYPES.join(", ")),
                    ));
                }
            }
        }
        OpKind::Cel => {
            if f.values.len() != 1 {
                out.push(
                    Diagnostic::new(
                        Code::P013,
                        f.values.get(1).map_or(op_name.span, |v| v.span),
                        "a CelExpr filter takes exactly one expression",
                    )
                    .help("combine the expressions with && or || into one"),
                );
            }
        }
    }
    if op.kind == OpKind::CapGained {
        let ok = f.args.len() == 2
            && f.args.iter().all(|a| {
                usize::try_from(a.value)
                    .ok()
                    .and_then(|p| hook.args.get(p))
                    .is_some_and(|arg| facts::arg_class(arg.type_name()) == ArgClass::Cap)
            });
        if !ok {
            out.push(
                Diagnostic::new(Code::P021, op_name.span, "CapabilitiesGained compares two capability-set args, given as `args: [new, old]`")
                    .help("add `args: [<position of the new set>, <position of the old set>]`, both declared as kernel_cap_t or cap_* types"),
            );
        }
    }
}

/// A value that a templating step (envsubst, Helm) replaces before the policy is loaded.
pub fn is_template(value: &str) -> bool {
    value.contains("${") || value.contains("{{")
}

fn invalid(v: &Spanned<String>, message: String, help: String) -> Diagnostic {
    Diagnostic::new(Code::P022, v.span, message).help(help)
}

fn string_len(v: &Spanned<String>, max: usize, what: &str, out: &mut Vec<Diagnostic>) {
    if v.value.len() > max {
        out.push(
            Diagnostic::new(
                Code::P023,
                v.span,
                format!(
                    "{what} at most {max} bytes; this value has {}",
                    v.value.len()
                ),
            )
            .help("shorten the value"),
        );
    }
}

fn type_help(ty: &str, op: &Operator) -> String {
    let class = facts::arg_class(ty);
    match (ty, op.kind) {
        ("filename", _) => "Tetragon cannot filter `filename` args; read the name as a string with `type: \"string\"` and `resolve: \"name\"`, or hook a function that takes a `struct path *` or `struct file *`".into(),
        (_, OpKind::Equality | OpKind::Prefix | OpKind::Postfix | OpKind::SubString) if class.is_int() => {
            "for integers use Equal, NotEqual, GT, LT, Mask, InMap or InRange; if the argument is a `char *`, declare it as `string`".into()
        }
        (_, OpKind::Port | OpKind::PortPriv | OpKind::Addr | OpKind::Protocol | OpKind::Family | OpKind::State) => {
            "declare the argument as `sock`, `skb` or `socket` (a `struct sock *` ...), or use a string or integer operator".into()
        }
        (_, OpKind::FileType) => "declare the argument as `file` or `path`".into(),
        (_, OpKind::Compare | OpKind::InMap | OpKind::Range | OpKind::Mask) => {
            "use Equal, Prefix or Postfix on strings and paths; integer operators need an integer type".into()
        }
        _ => format!("pick an operator that fits `{ty}` args, or fix the argument's type"),
    }
}

fn int_help(value: &str) -> String {
    if value.starts_with('/')
        || value.chars().any(|c| c.is_alphabetic()) && !value.starts_with("0x")
    {
        "this argument is declared as an integer; to compare a string or a path, declare it with a string type (string, file, path, fd...)".into()
    } else {
        "write a decimal, 0x hexadecimal or 0 octal integer that fits the argument's type".into()
    }
}

/// Parse an integer the way Go's `strconv.ParseInt(v, 0, 64)` does: optional sign, then `0x`,
/// `0o`/`0`, `0b` prefixes or decimal; underscores only after a prefix.
pub fn parse_go_int(text: &str) -> Option<i128> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.replace('_', ""))
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.replace('_', ""))
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.replace('_', ""))
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].replace('_', ""))
    } else {
        if lower.contains('_') {
            return None;
        }
        (10, lower)
    };
    if digits.is_empty() || digits.len() > 40 {
        return None;
    }
    let v = i128::from_str_radix(&digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

fn parse_int_for(text: &str, class: ArgClass) -> Result<i128, &'static str> {
    let (lo, hi, what): (i128, i128, &'static str) = match class {
        ArgClass::Int32 => (i32::MIN.into(), i32::MAX.into(), "a signed 32-bit integer"),
        ArgClass::Uint32 => (0, u32::MAX.into(), "an unsigned 32-bit integer"),
        ArgClass::Int64 => (i64::MIN.into(), i64::MAX.into(), "a signed 64-bit integer"),
        ArgClass::Uint64 => (0, u64::MAX.into(), "an unsigned 64-bit integer"),
        _ => (i64::MIN.into(), u64::MAX.into(), "an integer"),
    };
    match parse_go_int(text) {
        Some(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(what),
    }
}

fn valid_port_or_range(text: &str) -> bool {
    let port = |p: &str| {
        p.parse::<u32>().is_ok_and(|n| n <= 65535) && p.bytes().all(|c| c.is_ascii_digit())
    };
    match text.split_once(':') {
        Some((a, b)) => port(a) && port(b) && a.parse::<u32>().ok() <= b.parse::<u32>().ok(),
        None => port(text),
    }
}

/// Parse an IP address or CIDR as Tetragon does (netip / net.ParseCIDR).
pub fn parse_cidr(text: &str) -> Result<(IpAddr, u8), String> {
    match text.split_once('/') {
        Some((addr, bits)) => {
            let ip: IpAddr = addr
                .parse()
                .map_err(|_| format!("`{addr}` is not an IP address"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let n: u8 = bits
                .parse()
                .ok()
                .filter(|n| *n <= max && bits.bytes().all(|c| c.is_ascii_digit()))
                .ok_or_else(|| format!("the prefix length must be 0 to {max}"))?;
            Ok((ip, n))
        }
        None => {
            let ip: IpAddr = text.parse().map_err(|_| "it does not parse".to_string())?;
            Ok((ip, if ip.is_ipv4() { 32 } else { 128 }))
        }
    }
}

fn named_numbers(
    f: &ArgFilter,
    names: &[(&str, u32)],
    what: &str,
    examples: &str,
    out: &mut Vec<Diagnostic>,
) {
    for v in &f.values {
        let known = names.iter().any(|(n, _)| *n == v.value)
            || v.value.parse::<u32>().is_ok_and(|n| n < 65536);
        if !known {
            let d = invalid(
                v,
                format!("`{}` is not {what}", v.value),
                format!("use a number or a name: {examples}"),
            );
            let candidates: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
            out.push(match crate::suggest::did_you_mean(&v.value, &candidates) {
                Some(s) => Diagnostic {
                    help: Some(format!("did you mean `{s}`?")),
                    ..d
                },
                None => d,
            });
        }
    }
}

fn check_in_map(
    policy: &Policy,
    v: &Spanned<String>,
    class: ArgClass,
    ty: &str,
    out: &mut Vec<Diagnostic>,
) {
    if let Some(name) = v.value.strip_prefix("list:") {
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
                    out.push(invalid(v, format!("list `{name}` is not a syscall list; InMap can only use `syscalls` or `generated_syscalls` lists"), "set the list's `type: syscalls`".into()));
                } else if !matches!(ty, "syscall64" | "uint64" | "auto") {
                    // Tetragon's own list-syscalls-tracepoint example reads the id as uint64.
                    out.push(invalid(v, format!("InMap with a syscall list needs the syscall id as a `syscall64` argument; this one is `{ty}`"), "declare the syscall id argument as `type: syscall64`".into()));
                }
            }
        }
        return;
    }
    let decimal = |s: &str| {
        let s = s.trim();
        let digits = s.strip_prefix('-').unwrap_or(s);
        !digits.is_empty()
            && digits.bytes().all(|c| c.is_ascii_digit())
            && parse_int_for(s, class).is_ok()
    };
    let ok = match v.value.split_once(':') {
        Some((a, b)) => decimal(a) && decimal(b),
        None => decimal(&v.value),
    };
    if !ok {
        out.push(invalid(
            v,
            format!(
                "`{}` is not a decimal integer, range or list for InMap (the argument is `{ty}`)",
                v.value
            ),
            "InMap takes decimal integers (no 0x), ranges `min:max`, or `list:NAME`".into(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_integers() {
        assert_eq!(parse_go_int("0x10"), Some(16));
        assert_eq!(parse_go_int("010"), Some(8));
        assert_eq!(parse_go_int("-5"), Some(-5));
        assert_eq!(parse_go_int("1_000"), None);
        assert_eq!(parse_go_int("0x1_0"), Some(16));
        assert_eq!(parse_go_int("abc"), None);
        assert_eq!(parse_go_int(""), None);
    }

    #[test]
    fn cidrs() {
        assert!(parse_cidr("10.0.0.0/8").is_ok());
        assert!(parse_cidr("::1").is_ok());
        assert!(parse_cidr("1.2.3.4/33").is_err());
        assert!(parse_cidr("a.b.c.d").is_err());
        assert!(parse_cidr("1.2.3.4/16/16").is_err());
    }
}
