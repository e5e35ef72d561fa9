//! The Rust mirrors in `runtime/src/layout.rs` match the C layouts of `runtime/bpf/common.h`,
//! as the compiler laid them out in the committed object `runtime/bpf/policyctl.bpf.o`.
//!
//! The loader writes `HookConfig`s into maps the BPF programs read as `struct hook_config`, and
//! decodes ring-buffer records the programs wrote as `struct hook_event`: a field that moves on
//! one side only corrupts data silently. Everything here reads the object's BTF (its `.BTF`
//! section) with the project's own reader, `policyctl_validator::btf`:
//!
//! - `struct_layouts_match_btf`: for each struct (hook_config, arg_config, filter, selector,
//!   cidr, hook_gate, syscall_hooks, str_key, process, event_header, exec_event, exit_event,
//!   sock_tuple, skb_info, cred_info, bpf_info, perf_info, map_info, user_ns_info, module_info, event_arg,
//!   hook_event) the size, and every member's byte offset and
//!   size, equal the Rust
//!   type's (`size_of`, `offset_of!`), member by member in declaration order. The C anonymous
//!   unions (`filter`'s ints/cidrs, `event_arg`'s value/sock/str) are the Rust fields `values`
//!   and `data`; `str_key` is `StrKeyData` without the leading `prefixlen` (offsets shift by 4).
//! - `field_names_match_c`: the same members carry the same names (Rust `ty` for C `type`,
//!   `override_` for `override`).
//! - `constants_match_common_h_and_btf`: the `#define`s mirrored in layout.rs equal common.h's,
//!   and where an array or a map shows them in BTF (`hook_config.selectors` has MAX_SELECTORS
//!   elements, `hooks` has MAX_HOOKS entries, there are SLOTS_PER_KIND programs per attach kind
//!   named as `HookKind::program` names them, ...) they equal that too.
//! - `enums_match`: every enumerator of hook_kind, arg_type, filter_op, action and event_type
//!   equals its Rust constant, both ways. The enums come from BTF when the object uses them, and
//!   from common.h's text otherwise (clang drops unused enums from BTF).
//! - `map_definitions_match_rust_types`: the maps of the `.maps` section are exactly those
//!   listed here, of the expected map type, and their key and value sizes equal the Rust types
//!   the loader uses (hooks → `HookConfig`, str_prefix key → 4 + `StrKeyData`, ...).
//!
//! clang emits BTF only for types reachable from globals and functions, so a struct the programs
//! use only on the stack (`exit_event`) is not in the object's BTF. Such structs are read from a
//! probe compiled from common.h with clang; without clang that struct is skipped with a
//! `SKIPPED:` notice, except when `CI` is set (CI installs clang): then the test fails.

#[path = "../../tests/support/skip.rs"]
mod skip;
use skip::skip;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use policyctl_runtime::layout::*;
use policyctl_validator::btf::{Btf, Kind, Type, TypeId};

fn bpf_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bpf")
}

/// The BTF of the committed object.
fn object_btf() -> &'static Btf {
    static BTF: OnceLock<Btf> = OnceLock::new();
    BTF.get_or_init(|| {
        let path = bpf_dir().join("policyctl.bpf.o");
        Btf::open(&path).unwrap_or_else(|e| panic!("read the BTF of {}: {e}", path.display()))
    })
}

/// The C structs compared, in common.h's order.
const STRUCTS: &[&str] = &[
    "arg_config",
    "cidr",
    "filter",
    "ns_filter",
    "caps_filter",
    "selector",
    "hook_config",
    "hook_gate",
    "syscall_hooks",
    "func_hooks",
    "str_key",
    "process",
    "event_header",
    "cred_info",
    "exec_event",
    "data_event",
    "exit_event",
    "fork_event",
    "sock_tuple",
    "skb_info",
    "bpf_info",
    // arg types (issue 15)
    "perf_info",
    "map_info",
    "user_ns_info",
    "module_info",
    "event_arg",
    "hook_event",
    // return probes
    "return_selector",
    "pending_key",
    "return_event",
    // CelExpr
    "cel_insn",
    "cel_prog",
    // USDT probes
    "usdt_arg",
    "usdt_spec",
    // Override on uprobes
    "reg_assignment",
    "uprobe_regs",
];

/// BTF of a probe that declares one global of every struct of common.h, compiled with clang;
/// `None` without clang.
fn probe_btf() -> Option<&'static Btf> {
    static BTF: OnceLock<Option<Btf>> = OnceLock::new();
    BTF.get_or_init(|| {
        let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
        let dir =
            std::env::temp_dir().join(format!("policyctl-layout-probe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let mut src = String::from("#include \"kernel.h\"\n#include \"common.h\"\n");
        for s in STRUCTS {
            src.push_str(&format!("struct {s} policyctl_probe_{s};\n"));
        }
        std::fs::write(dir.join("probe.c"), src).expect("write probe.c");
        let built = Command::new(&clang)
            .args(["-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86", "-I"])
            .arg(bpf_dir())
            .args(["-c", "probe.c", "-o", "probe.o"])
            .current_dir(&dir)
            .output();
        let btf = match built {
            Ok(out) if out.status.success() => {
                let bytes = std::fs::read(dir.join("probe.o")).expect("read probe.o");
                Some(Btf::parse(bytes, None).expect("BTF of the probe"))
            }
            Ok(out) => panic!(
                "compiling a probe of common.h failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(_) => None,
        };
        let _ = std::fs::remove_dir_all(&dir);
        btf
    })
    .as_ref()
}

fn find_named<'a>(btf: &'a Btf, kind: Kind, name: &str) -> Option<Type<'a>> {
    btf.own_types().find(|t| t.kind == kind && t.name() == name)
}

/// `struct name`: from the object, else from the probe. `None` (after a skip notice, or a
/// failure under CI) when only the probe could have it and clang is missing.
fn c_struct(name: &str) -> Option<Type<'static>> {
    if let Some(t) = find_named(object_btf(), Kind::Struct, name) {
        return Some(t);
    }
    match probe_btf() {
        Some(probe) => Some(
            find_named(probe, Kind::Struct, name)
                .unwrap_or_else(|| panic!("struct {name} is not in common.h (nor in the object)")),
        ),
        None => {
            skip(
                "layout",
                &format!(
                    "struct {name}: not in the BTF of policyctl.bpf.o, and clang is not \
                     installed to compile it from common.h"
                ),
            );
            None
        }
    }
}

/// Size in bytes of a BTF type.
fn type_size(btf: &Btf, id: TypeId) -> u64 {
    let t = btf
        .skip_aliases(id)
        .unwrap_or_else(|| panic!("type [{id}] not found"));
    match t.kind {
        Kind::Array => {
            let (elem, _, n) = t.array();
            type_size(btf, elem) * u64::from(n)
        }
        Kind::Ptr => 8,
        Kind::Int | Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Float => {
            u64::from(t.size())
        }
        k => panic!("no size for {t:?} ({})", k.name()),
    }
}

/// A C member: name, byte offset, byte size, type.
struct CMember {
    name: String,
    offset: u64,
    size: u64,
}

fn c_members(t: &Type<'_>) -> Vec<CMember> {
    t.members()
        .map(|m| {
            assert!(
                m.offset % 8 == 0 && m.bitfield_size == 0,
                "struct {}: member `{}` is a bitfield; layout.rs cannot mirror it",
                t.name(),
                m.name
            );
            CMember {
                name: m.name.to_string(),
                offset: u64::from(m.offset / 8),
                size: type_size(t.btf(), m.type_id),
            }
        })
        .collect()
}

/// The member `name` of struct or union `t` (`""`: the anonymous one).
fn member<'a>(t: &Type<'a>, name: &str) -> Type<'a> {
    let m = t
        .members()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("{t:?} has no member `{name}`"));
    t.btf().skip_aliases(m.type_id).expect("member type exists")
}

/// Number of elements of the array at `path` (members, `""` for an anonymous union) of `s`.
fn array_len(s: &str, path: &[&str]) -> Option<u64> {
    let mut t = c_struct(s)?;
    for name in path {
        t = member(&t, name);
    }
    assert_eq!(
        t.kind,
        Kind::Array,
        "struct {s}.{} is not an array",
        path.join(".")
    );
    Some(u64::from(t.array().2))
}

/// A Rust field: its name, the C member name it mirrors, byte offset and size.
struct RustField {
    name: &'static str,
    c_name: &'static str,
    offset: u64,
    size: u64,
}

/// A Rust struct of layout.rs with all its fields.
struct RustStruct {
    name: &'static str,
    size: u64,
    fields: Vec<RustField>,
}

/// The C name of a Rust field: `ty` is `type`, `override_` is `override`.
fn c_name(rust: &'static str) -> &'static str {
    match rust {
        "ty" => "type",
        "override_" => "override",
        other => other,
    }
}

fn size_of_pointee<U>(_: *const U) -> u64 {
    std::mem::size_of::<U>() as u64
}

/// `rust_struct!(Type { field, field as "c name", ... })`: every field must be listed (the
/// destructuring pattern below does not compile otherwise).
macro_rules! rust_struct {
    ($ty:ident { $($field:ident $(as $c:literal)?),* $(,)? }) => {{
        #[allow(dead_code)]
        fn every_field_is_listed(v: $ty) {
            let $ty { $($field: _),* } = v;
        }
        let place = std::mem::MaybeUninit::<$ty>::uninit();
        let p = place.as_ptr();
        RustStruct {
            name: stringify!($ty),
            size: std::mem::size_of::<$ty>() as u64,
            fields: vec![$(RustField {
                name: stringify!($field),
                c_name: {
                    #[allow(unused_mut, unused_assignments)]
                    let mut n = c_name(stringify!($field));
                    $(n = $c;)?
                    n
                },
                offset: std::mem::offset_of!($ty, $field) as u64,
                // SAFETY: only the field's address is taken; nothing is read.
                size: size_of_pointee(unsafe { std::ptr::addr_of!((*p).$field) }),
            }),*],
        }
    }};
}

/// (C struct, its Rust mirror, bytes of the C struct the Rust one leaves out at its start).
fn mirrors() -> Vec<(&'static str, RustStruct, u64)> {
    vec![
        (
            "arg_config",
            rust_struct!(ArgConfig {
                ty,
                index,
                width,
                flags,
                nresolve,
                size_index,
                field_offset,
                resolve,
                source,
                reg_size,
                reg_offset
            }),
            0,
        ),
        (
            "cidr",
            rust_struct!(Cidr {
                family,
                prefix,
                addr
            }),
            0,
        ),
        (
            "filter",
            rust_struct!(Filter { id, op, flags, arg, nvalues, values as "" }),
            0,
        ),
        (
            "ns_filter",
            rust_struct!(NsFilter {
                kind,
                flags,
                nvalues,
                _pad,
                values
            }),
            0,
        ),
        (
            "caps_filter",
            rust_struct!(CapsFilter {
                set,
                flags,
                _pad,
                host_userns,
                mask
            }),
            0,
        ),
        (
            "selector",
            rust_struct!(Selector {
                nargs,
                has_binaries,
                has_pids,
                post,
                kill,
                signal,
                override_,
                rate_scope,
                override_value,
                rate_limit_ms,
                args,
                binaries,
                pids,
                nnamespaces,
                has_caps,
                has_cap_changes,
                has_ns_changes,
                ns_changes_flags,
                _pad_ns,
                ns_changes,
                namespaces,
                caps,
                cap_changes,
                sock_action,
                sock_arg,
                last_action,
                _pad_net,
                parent_binaries,
                has_parent_binaries,
                _pad_parent,
                notify_enforcer,
                _pad_enf,
                enforcer_error,
                enforcer_signal,
                enforcer_key,
                args_mask,
                _pad_lazy,
                kernel_stack,
                user_stack,
                _pad_stack,
            }),
            0,
        ),
        (
            "hook_config",
            rust_struct!(HookConfig {
                policy,
                kind,
                nargs,
                nselectors,
                enabled,
                syscall,
                _pad,
                args,
                selectors,
                ret,
                returns,
                _rpad,
                ret_selectors,
                ret_sock_action,
                _spad
            }),
            0,
        ),
        (
            "hook_gate",
            rust_struct!(HookGate {
                active,
                arg,
                index,
                flags,
                syscall,
                width,
                field_offset,
                filter,
                op,
                bin_active,
                bin_op,
                _pad,
                bin_filter,
                _pad2,
                lens,
                bin_lens
            }),
            0,
        ),
        (
            "syscall_hooks",
            rust_struct!(SyscallHooks { count, slots }),
            0,
        ),
        ("func_hooks", rust_struct!(FuncHooks { count, slots }), 0),
        // aya's LPM trie key adds the leading `prefixlen` (a u32) itself.
        ("str_key", rust_struct!(StrKeyData { filter, data }), 4),
        (
            "process",
            rust_struct!(Process {
                ppid,
                binary_len,
                binary,
                exec_state,
                ns,
                _pad_ns,
                caps
            }),
            0,
        ),
        (
            "event_header",
            rust_struct!(EventHeader {
                ty,
                pid,
                tid,
                uid,
                ktime
            }),
            0,
        ),
        (
            "cred_info",
            rust_struct!(CredInfo {
                uid,
                gid,
                euid,
                egid,
                suid,
                sgid,
                fsuid,
                fsgid,
                securebits,
                _pad,
                permitted,
                effective,
                inheritable,
                ns_level,
                ns_uid,
                ns_gid,
                ns_inum
            }),
            0,
        ),
        (
            "exec_event",
            rust_struct!(ExecEvent {
                header,
                ppid,
                args_len,
                binary_len,
                cwd_len,
                start_boottime,
                nspid,
                auid,
                args_total,
                args_data,
                filename_len,
                _pad2,
                cgroup,
                binary,
                cwd,
                args,
                cred,
                ns
            }),
            0,
        ),
        (
            "data_event",
            rust_struct!(DataEvent {
                header,
                len,
                _pad,
                data
            }),
            0,
        ),
        (
            "exit_event",
            rust_struct!(ExitEvent {
                header,
                ppid,
                exit_code
            }),
            0,
        ),
        (
            "fork_event",
            rust_struct!(ForkEvent {
                header,
                ppid,
                _pad,
                start_boottime
            }),
            0,
        ),
        (
            "sock_tuple",
            rust_struct!(SockTuple {
                family,
                protocol,
                sport,
                dport,
                saddr,
                daddr,
                state,
                ty,
                cookie
            }),
            0,
        ),
        (
            "skb_info",
            rust_struct!(SkbInfo {
                tuple,
                hash,
                len,
                priority,
                mark,
                secpath_len,
                secpath_olen
            }),
            0,
        ),
        (
            "bpf_info",
            rust_struct!(BpfInfo {
                prog_type,
                insn_cnt,
                prog_name
            }),
            0,
        ),
        (
            "perf_info",
            rust_struct!(PerfInfo {
                config,
                probe_offset,
                ty,
                _pad,
                kprobe_func
            }),
            0,
        ),
        (
            "map_info",
            rust_struct!(MapInfo {
                map_type,
                key_size,
                value_size,
                max_entries,
                map_name
            }),
            0,
        ),
        (
            "user_ns_info",
            rust_struct!(UserNsInfo {
                level,
                uid,
                gid,
                inum
            }),
            0,
        ),
        (
            "module_info",
            rust_struct!(ModuleInfo {
                taints,
                sig_ok,
                _pad,
                name
            }),
            0,
        ),
        (
            "event_arg",
            rust_struct!(EventArg { ty, len, mode, status, data as "" }),
            0,
        ),
        (
            "hook_event",
            rust_struct!(HookEvent {
                header,
                slot,
                selector,
                action,
                action_arg,
                syscall,
                args,
                kernel_stack_id,
                user_stack_id,
                stack_flags,
                _pad_stack
            }),
            0,
        ),
        (
            "return_selector",
            rust_struct!(ReturnSelector {
                nargs,
                post,
                kill,
                signal,
                _pad,
                args
            }),
            0,
        ),
        ("pending_key", rust_struct!(PendingKey { slot, tid }), 0),
        (
            "return_event",
            rust_struct!(ReturnEvent {
                header,
                selector,
                action,
                action_arg,
                _pad,
                ret,
                enter
            }),
            0,
        ),
        (
            "cel_insn",
            rust_struct!(CelInsn {
                op,
                ty,
                arg,
                _pad,
                imm
            }),
            0,
        ),
        ("cel_prog", rust_struct!(CelProg { len, _pad, insns }), 0),
        (
            "usdt_arg",
            rust_struct!(UsdtArg {
                val_off,
                reg_off,
                reg_idx_off,
                shift,
                kind,
                sig,
                scale
            }),
            0,
        ),
        (
            "usdt_spec",
            rust_struct!(UsdtSpec {
                args,
                set_arg,
                _pad,
                set_value,
                _pad2
            }),
            0,
        ),
        (
            "reg_assignment",
            rust_struct!(RegAssignment {
                off,
                src,
                dst,
                src_size,
                dst_size,
                ty,
                _pad
            }),
            0,
        ),
        (
            "uprobe_regs",
            rust_struct!(UprobeRegs { ass, cnt, _pad }),
            0,
        ),
    ]
}

/// Each compared pair: the C members (after the skipped prefix) and the Rust fields, both in
/// offset order.
fn pairs() -> Vec<(&'static str, Type<'static>, RustStruct, u64, Vec<CMember>)> {
    let list = mirrors();
    let names: Vec<&str> = list.iter().map(|m| m.0).collect();
    assert_eq!(names, STRUCTS, "mirrors() should cover STRUCTS, in order");
    list.into_iter()
        .filter_map(|(c, mut rust, skip)| {
            let t = c_struct(c)?;
            let members = c_members(&t)
                .into_iter()
                .filter(|m| m.offset >= skip)
                .collect();
            rust.fields.sort_by_key(|f| f.offset);
            Some((c, t, rust, skip, members))
        })
        .collect()
}

fn fail_all(what: &str, failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{what}:\n  {}\n\nruntime/src/layout.rs must mirror runtime/bpf/common.h; change both in \
         the same commit (and rebuild the object with runtime/bpf/build.sh)",
        failures.join("\n  ")
    );
}

#[test]
fn struct_layouts_match_btf() {
    let mut failures = Vec::new();
    for (c, t, rust, skip, members) in pairs() {
        let r = rust.name;
        if u64::from(t.size()) != rust.size + skip {
            failures.push(if skip == 0 {
                format!(
                    "struct {c} is {} bytes in C but {r} is {} bytes in Rust",
                    t.size(),
                    rust.size
                )
            } else {
                format!(
                    "struct {c} is {} bytes in C but {skip} + {r} is {} bytes in Rust",
                    t.size(),
                    skip + rust.size
                )
            });
        }
        if members.len() != rust.fields.len() {
            let cn: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
            let rn: Vec<&str> = rust.fields.iter().map(|f| f.name).collect();
            failures.push(format!(
                "struct {c} has {} members {cn:?} (after the first {skip} bytes) but {r} has {} \
                 fields {rn:?}",
                cn.len(),
                rn.len()
            ));
        }
        for (m, f) in members.iter().zip(&rust.fields) {
            let c_off = m.offset - skip;
            if c_off != f.offset || m.size != f.size {
                let shift = if skip > 0 {
                    format!(" (its C offset less the {skip} bytes Rust leaves out)")
                } else {
                    String::new()
                };
                failures.push(format!(
                    "struct {c}: member `{}` is at byte {c_off}{shift}, {} bytes, in C but {r}.{} \
                     is at byte {}, {} bytes, in Rust",
                    if m.name.is_empty() {
                        "(anonymous union)"
                    } else {
                        &m.name
                    },
                    m.size,
                    f.name,
                    f.offset,
                    f.size
                ));
            }
        }
    }
    fail_all("the Rust layouts differ from the C ones", failures);
}

#[test]
fn field_names_match_c() {
    let mut failures = Vec::new();
    for (c, _, rust, _, members) in pairs() {
        for (m, f) in members.iter().zip(&rust.fields) {
            if m.name != f.c_name {
                failures.push(format!(
                    "struct {c}: the member at byte {} is `{}` in C but the Rust field there is \
                     {}.{} (which would mirror `{}`)",
                    m.offset, m.name, rust.name, f.name, f.c_name
                ));
            }
        }
    }
    fail_all("Rust field names differ from the C members", failures);
}

/// `#define NAME <integer>` lines of common.h.
fn common_h_defines() -> BTreeMap<String, i128> {
    let text = std::fs::read_to_string(bpf_dir().join("common.h")).expect("read common.h");
    text.lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("#define")?;
            let rest = rest.split("/*").next()?;
            let mut words = rest.split_whitespace();
            let (name, value) = (words.next()?, words.next()?);
            Some((name.to_string(), value.parse::<i128>().ok()?))
        })
        .collect()
}

/// The `.maps` variables: name → the anonymous struct of the libbpf-style definition.
fn maps() -> BTreeMap<String, Type<'static>> {
    let btf = object_btf();
    let sec = find_named(btf, Kind::Datasec, ".maps").expect("the object has a .maps section");
    sec.datasec_vars()
        .map(|(var, _, _)| {
            let v = btf.ty(var).expect("map variable");
            assert_eq!(v.kind, Kind::Var, "{v:?} in .maps is not a variable");
            let def = btf.skip_aliases(v.type_id()).expect("map definition type");
            assert_eq!(
                def.kind,
                Kind::Struct,
                "map {} is not a struct definition",
                v.name()
            );
            (v.name().to_string(), def)
        })
        .collect()
}

/// A `__uint(name, N)` member of a map definition (`int (*name)[N]`): N.
fn map_uint(def: &Type<'_>, map: &str, name: &str) -> Option<u64> {
    let m = def.members().find(|m| m.name == name)?;
    let btf = def.btf();
    let p = btf.skip_aliases(m.type_id)?;
    assert_eq!(p.kind, Kind::Ptr, "map {map}: `{name}` is not __uint(...)");
    let a = btf.skip_aliases(p.type_id())?;
    assert_eq!(
        a.kind,
        Kind::Array,
        "map {map}: `{name}` is not __uint(...)"
    );
    Some(u64::from(a.array().2))
}

/// A `__type(name, T)` member of a map definition (`T *name`): sizeof(T).
fn map_type_size(def: &Type<'_>, map: &str, name: &str) -> Option<u64> {
    let m = def.members().find(|m| m.name == name)?;
    let btf = def.btf();
    let p = btf.skip_aliases(m.type_id)?;
    assert_eq!(p.kind, Kind::Ptr, "map {map}: `{name}` is not __type(...)");
    Some(type_size(btf, p.type_id()))
}

#[test]
fn constants_match_common_h_and_btf() {
    let defines = common_h_defines();
    let rust: &[(&str, i128)] = &[
        ("MAX_HOOKS", MAX_HOOKS as i128),
        ("SLOTS_PER_KIND", SLOTS_PER_KIND as i128),
        ("MAX_ARGS", MAX_ARGS as i128),
        ("MAX_SELECTORS", MAX_SELECTORS as i128),
        ("MAX_FILTERS", MAX_FILTERS as i128),
        ("MAX_VALUES", MAX_VALUES as i128),
        ("MAX_RESOLVE", MAX_RESOLVE as i128),
        ("STR_LEN", STR_LEN as i128),
        ("ARG_BUF", ARG_BUF as i128),
        ("ARGV_BUF", ARGV_BUF as i128),
        ("DATA_CHUNK", DATA_CHUNK as i128),
        ("CGROUP_NAME", CGROUP_NAME as i128),
        ("DATA_CHUNKS", DATA_CHUNKS as i128),
        ("MAX_SYSCALLS", MAX_SYSCALLS as i128),
        ("SYSCALL_HOOKS", SYSCALL_HOOKS as i128),
        ("ARG_USER", ARG_USER.into()),
        ("ARG_LAST_ADDR", ARG_LAST_ADDR.into()),
        ("ARG_RETURN_COPY", ARG_RETURN_COPY.into()),
        ("FILTER_NOT", FILTER_NOT.into()),
        ("FILTER_FOLLOW", FILTER_FOLLOW.into()),
        ("FILTER_NSPID", FILTER_NSPID.into()),
        ("NS_KINDS", NS_KINDS as i128),
        ("MAX_NS_FILTERS", MAX_NS_FILTERS as i128),
        ("MAX_NS_VALUES", MAX_NS_VALUES as i128),
        ("CAPS_SETS", CAPS_SETS as i128),
        ("PROCESS_AT_FORK", PROCESS_AT_FORK.into()),
        ("PROCESS_AT_EXEC", PROCESS_AT_EXEC.into()),
        ("MAX_PENDING", MAX_PENDING as i128),
        ("CEL_MAX_INSNS", CEL_MAX_INSNS as i128),
        ("CEL_STACK", CEL_STACK as i128),
        ("MAX_CEL_PROGS", MAX_CEL_PROGS as i128),
        ("MULTI_SLOT_BASE", MULTI_SLOT_BASE as i128),
        ("MULTI_SLOTS", MULTI_SLOTS as i128),
        ("FUNC_HOOKS", FUNC_HOOKS as i128),
        ("ENFORCER_KEY", ENFORCER_KEY.into()),
        ("USDT_CONST", usdt_kind::CONST.into()),
        ("USDT_REG", usdt_kind::REG.into()),
        ("USDT_REG_DEREF", usdt_kind::REG_DEREF.into()),
        ("USDT_SIB", usdt_kind::SIB.into()),
        ("REGS_MAX", REGS_MAX as i128),
        ("PT_REGS_WORDS", PT_REGS_WORDS as i128),
        ("REG_ASS_CONST", reg_ass::CONST.into()),
        ("REG_ASS_REG", reg_ass::REG.into()),
        ("REG_ASS_REG_OFF", reg_ass::REG_OFF.into()),
        ("REG_ASS_REG_DEREF", reg_ass::REG_DEREF.into()),
    ];
    let mut failures = Vec::new();
    for &(name, value) in rust {
        match defines.get(name) {
            Some(&c) if c == value => {}
            Some(&c) => failures.push(format!(
                "{name} is {c} in common.h but {value} in layout.rs"
            )),
            None => failures.push(format!(
                "{name} (layout.rs: {value}) is not #defined in common.h"
            )),
        }
    }

    // Where BTF shows a constant: as the length of an array, or a map's max_entries.
    let mut seen: Vec<(&str, String, Option<u64>)> = vec![
        (
            "MAX_ARGS",
            "hook_config.args".into(),
            array_len("hook_config", &["args"]),
        ),
        (
            "MAX_ARGS",
            "hook_event.args".into(),
            array_len("hook_event", &["args"]),
        ),
        (
            "MAX_SELECTORS",
            "hook_config.selectors".into(),
            array_len("hook_config", &["selectors"]),
        ),
        (
            "MAX_FILTERS",
            "selector.args".into(),
            array_len("selector", &["args"]),
        ),
        (
            "MAX_SELECTORS",
            "hook_config.ret_selectors".into(),
            array_len("hook_config", &["ret_selectors"]),
        ),
        (
            "MAX_FILTERS",
            "return_selector.args".into(),
            array_len("return_selector", &["args"]),
        ),
        (
            "MAX_VALUES",
            "filter.ints".into(),
            array_len("filter", &["", "ints"]),
        ),
        (
            "MAX_VALUES",
            "filter.cidrs".into(),
            array_len("filter", &["", "cidrs"]),
        ),
        (
            "MAX_RESOLVE",
            "arg_config.resolve".into(),
            array_len("arg_config", &["resolve"]),
        ),
        (
            "STR_LEN",
            "str_key.data".into(),
            array_len("str_key", &["data"]),
        ),
        (
            "ARG_BUF",
            "process.binary".into(),
            array_len("process", &["binary"]),
        ),
        (
            "ARG_BUF",
            "exec_event.binary".into(),
            array_len("exec_event", &["binary"]),
        ),
        (
            "ARG_BUF",
            "event_arg.str".into(),
            array_len("event_arg", &["", "str"]),
        ),
        (
            "ARGV_BUF",
            "exec_event.args".into(),
            array_len("exec_event", &["args"]),
        ),
        (
            "CGROUP_NAME",
            "exec_event.cgroup".into(),
            array_len("exec_event", &["cgroup"]),
        ),
        (
            "DATA_CHUNK",
            "data_event.data".into(),
            array_len("data_event", &["data"]),
        ),
        (
            "SYSCALL_HOOKS",
            "syscall_hooks.slots".into(),
            array_len("syscall_hooks", &["slots"]),
        ),
        (
            "MAX_NS_VALUES",
            "ns_filter.values".into(),
            array_len("ns_filter", &["values"]),
        ),
        (
            "MAX_NS_FILTERS",
            "selector.namespaces".into(),
            array_len("selector", &["namespaces"]),
        ),
        (
            "NS_KINDS",
            "process.ns".into(),
            array_len("process", &["ns"]),
        ),
        (
            "CAPS_SETS",
            "process.caps".into(),
            array_len("process", &["caps"]),
        ),
    ];
    let maps = maps();
    for (name, map) in [
        ("MAX_HOOKS", "hooks"),
        ("MAX_HOOKS", "gates"),
        ("MAX_SYSCALLS", "syscalls"),
        ("MAX_PENDING", "pending"),
        ("MAX_CEL_PROGS", "cel_progs"),
    ] {
        let def = maps.get(map).unwrap_or_else(|| panic!("no map `{map}`"));
        seen.push((
            name,
            format!("max_entries of map {map}"),
            map_uint(def, map, "max_entries"),
        ));
    }
    for (name, what, len) in seen {
        let value = defines
            .get(name)
            .map_or_else(|| "not #defined".to_string(), i128::to_string);
        match len {
            Some(len) if len.to_string() == value => {}
            Some(len) => failures.push(format!(
                "{name} is {value:?} in common.h but {what} has {len} elements in the object's BTF \
                 (rebuild the object with runtime/bpf/build.sh?)"
            )),
            None => {} // skipped (struct not in BTF, no clang): c_struct said so
        }
    }

    // SLOTS_PER_KIND program copies per attach kind, named as HookKind::program names them.
    let funcs: Vec<&str> = object_btf()
        .own_types()
        .filter(|t| t.kind == Kind::Func)
        .map(|t| t.name())
        .collect();
    for kind in [
        HookKind::Kprobe,
        HookKind::Fentry,
        HookKind::Lsm,
        HookKind::Tracepoint,
        HookKind::Uprobe,
        HookKind::RawTracepoint,
    ] {
        for copy in 0..SLOTS_PER_KIND {
            let prog = kind.program(copy);
            if !funcs.contains(&prog.as_str()) {
                failures.push(format!(
                    "{kind:?} copy {copy}: the object has no program `{prog}` (SLOTS_PER_KIND is \
                     {SLOTS_PER_KIND})"
                ));
            }
        }
        let extra = kind.program(SLOTS_PER_KIND);
        if funcs.contains(&extra.as_str()) {
            failures.push(format!(
                "the object has a program `{extra}` beyond SLOTS_PER_KIND ({SLOTS_PER_KIND})"
            ));
        }
    }
    // The return programs: SLOTS_PER_KIND copies for the kinds that have them.
    for kind in [
        HookKind::Kprobe,
        HookKind::Fentry,
        HookKind::Tracepoint,
        HookKind::Uprobe,
    ] {
        for copy in 0..=SLOTS_PER_KIND {
            let Some(prog) = kind.return_program(copy) else {
                failures.push(format!("{kind:?} has no return program"));
                continue;
            };
            if (copy < SLOTS_PER_KIND) != funcs.contains(&prog.as_str()) {
                failures.push(format!(
                    "{kind:?} return copy {copy}: program `{prog}` is {} the object (SLOTS_PER_KIND is {SLOTS_PER_KIND})",
                    if copy < SLOTS_PER_KIND { "missing from" } else { "unexpectedly in" }
                ));
            }
        }
    }
    // Every slot HookKind hands out indexes the hooks array.
    let last = HookKind::RawTracepoint.slot(SLOTS_PER_KIND - 1) as usize;
    if last >= MAX_HOOKS {
        failures.push(format!(
            "HookKind::RawTracepoint.slot({}) is {last}, past the {MAX_HOOKS} entries of `hooks`",
            SLOTS_PER_KIND - 1
        ));
    }
    // USDT sites take uprobe slots, served by the `usdt_N` copies.
    for copy in 0..=SLOTS_PER_KIND {
        for prog in [format!("usdt_{copy}"), format!("usdt_set_{copy}")] {
            if (copy < SLOTS_PER_KIND) != funcs.contains(&prog.as_str()) {
                failures.push(format!(
                    "usdt copy {copy}: program `{prog}` is {} the object (SLOTS_PER_KIND is {SLOTS_PER_KIND})",
                    if copy < SLOTS_PER_KIND { "missing from" } else { "unexpectedly in" }
                ));
            }
        }
    }
    let raw = HookKind::RawSyscall.program(0);
    if !funcs.contains(&raw.as_str()) {
        failures.push(format!(
            "the object has no program `{raw}` (HookKind::RawSyscall)"
        ));
    }
    fail_all("constants differ", failures);
}

/// `enum name` of common.h from its text: `NAME = N,` lines between `enum name {` and `};`.
fn common_h_enum(name: &str) -> Option<BTreeMap<String, i128>> {
    let text = std::fs::read_to_string(bpf_dir().join("common.h")).expect("read common.h");
    let head = format!("enum {name} {{");
    let mut lines = text.lines().skip_while(|l| l.trim() != head);
    lines.next()?;
    let mut out = BTreeMap::new();
    for line in lines {
        let line = line.split("/*").next().unwrap_or("").trim();
        if line.starts_with('}') {
            return Some(out);
        }
        if line.is_empty() {
            continue;
        }
        let (n, v) = line
            .trim_end_matches(',')
            .split_once('=')
            .unwrap_or_else(|| panic!("enum {name} in common.h: cannot read `{line}` (NAME = N,)"));
        let v = v
            .trim()
            .parse::<i128>()
            .unwrap_or_else(|_| panic!("enum {name} in common.h: `{line}` has no integer value"));
        out.insert(n.trim().to_string(), v);
    }
    None
}

#[test]
fn enums_match() {
    let all_kinds = [
        HookKind::Kprobe,
        HookKind::Fentry,
        HookKind::Lsm,
        HookKind::Tracepoint,
        HookKind::Uprobe,
        HookKind::RawSyscall,
        HookKind::RawTracepoint,
    ];
    // Fails to compile when HookKind gains a variant the list above misses.
    let _: fn(HookKind) = |k| match k {
        HookKind::Kprobe
        | HookKind::Fentry
        | HookKind::Lsm
        | HookKind::Tracepoint
        | HookKind::Uprobe
        | HookKind::RawSyscall
        | HookKind::RawTracepoint => {}
    };
    let kinds: Vec<(String, i128)> = all_kinds
        .iter()
        .map(|k| {
            let snake: String = format!("{k:?}")
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let sep = (i > 0 && c.is_ascii_uppercase()).then_some('_');
                    sep.into_iter()
                        .chain(std::iter::once(c.to_ascii_uppercase()))
                })
                .collect();
            (format!("KIND_{snake}"), *k as i128)
        })
        .collect();
    let u8s = |prefix: &str, list: &[(&str, u8)]| -> Vec<(String, i128)> {
        list.iter()
            .map(|(n, v)| (format!("{prefix}{n}"), i128::from(*v)))
            .collect()
    };
    let u32s = |prefix: &str, list: &[(&str, u32)]| -> Vec<(String, i128)> {
        list.iter()
            .map(|(n, v)| (format!("{prefix}{n}"), i128::from(*v)))
            .collect()
    };
    let enums: Vec<(&str, Vec<(String, i128)>)> = vec![
        ("hook_kind", kinds),
        (
            "arg_type",
            u8s(
                "ARG_",
                &[
                    ("NONE", arg_type::NONE),
                    ("INT", arg_type::INT),
                    ("UINT", arg_type::UINT),
                    ("STRING", arg_type::STRING),
                    ("FILENAME", arg_type::FILENAME),
                    ("FILE", arg_type::FILE),
                    ("PATH", arg_type::PATH),
                    ("DENTRY", arg_type::DENTRY),
                    ("FD", arg_type::FD),
                    ("SOCK", arg_type::SOCK),
                    ("BYTES", arg_type::BYTES),
                    ("BINPRM", arg_type::BINPRM),
                    ("SOCKET", arg_type::SOCKET),
                    ("SKB", arg_type::SKB),
                    ("SOCKADDR", arg_type::SOCKADDR),
                    ("SOCKADDR_UN", arg_type::SOCKADDR_UN),
                    ("CRED", arg_type::CRED),
                    ("BPF_ATTR", arg_type::BPF_ATTR),
                    ("BPF_PROG", arg_type::BPF_PROG),
                    ("NET_DEV", arg_type::NET_DEV),
                    ("CAPS", arg_type::CAPS),
                    ("IOVEC", arg_type::IOVEC),
                    ("PERF_EVENT", arg_type::PERF_EVENT),
                    ("BPF_MAP", arg_type::BPF_MAP),
                    ("USER_NS", arg_type::USER_NS),
                    ("MODULE", arg_type::MODULE),
                    ("LOAD_INFO", arg_type::LOAD_INFO),
                    ("KIOCB", arg_type::KIOCB),
                    ("IOV_ITER", arg_type::IOV_ITER),
                    ("DATA_LOC", arg_type::DATA_LOC),
                    ("CONST_BUF", arg_type::CONST_BUF),
                ],
            ),
        ),
        (
            "arg_source",
            u8s(
                "SOURCE_",
                &[
                    ("ARG", arg_source::ARG),
                    ("PT_REGS", arg_source::PT_REGS),
                    ("USER_REGS", arg_source::USER_REGS),
                    ("CURRENT_TASK", arg_source::CURRENT_TASK),
                ],
            ),
        ),
        (
            "filter_op",
            u8s(
                "OP_",
                &[
                    ("NONE", op::NONE),
                    ("EQUAL", op::EQUAL),
                    ("PREFIX", op::PREFIX),
                    ("POSTFIX", op::POSTFIX),
                    ("GT", op::GT),
                    ("LT", op::LT),
                    ("MASK", op::MASK),
                    ("SPORT", op::SPORT),
                    ("DPORT", op::DPORT),
                    ("SPORT_PRIV", op::SPORT_PRIV),
                    ("DPORT_PRIV", op::DPORT_PRIV),
                    ("SADDR", op::SADDR),
                    ("DADDR", op::DADDR),
                    ("PROTOCOL", op::PROTOCOL),
                    ("FAMILY", op::FAMILY),
                    ("STATE", op::STATE),
                    ("IN", op::IN),
                    ("FILE_TYPE", op::FILE_TYPE),
                    ("SPORT_RANGE", op::SPORT_RANGE),
                    ("DPORT_RANGE", op::DPORT_RANGE),
                    ("INT_RANGE", op::INT_RANGE),
                    ("CEL", op::CEL),
                    ("INT_SET", op::INT_SET),
                    ("CAPS_GAINED", op::CAPS_GAINED),
                    ("SUBSTRING", op::SUBSTRING),
                    ("SUBSTRING_NOCASE", op::SUBSTRING_NOCASE),
                ],
            ),
        ),
        (
            "action",
            u32s(
                "ACTION_",
                &[
                    ("UNKNOWN", action::UNKNOWN),
                    ("POST", action::POST),
                    ("SIGKILL", action::SIGKILL),
                    ("OVERRIDE", action::OVERRIDE),
                    ("NOPOST", action::NOPOST),
                    ("SIGNAL", action::SIGNAL),
                    ("GETURL", action::GETURL),
                    ("DNSLOOKUP", action::DNSLOOKUP),
                    ("TRACKSOCK", action::TRACKSOCK),
                    ("UNTRACKSOCK", action::UNTRACKSOCK),
                    ("SET", action::SET),
                    ("NOTIFYENFORCER", action::NOTIFYENFORCER),
                ],
            ),
        ),
        (
            "event_type",
            u32s(
                "EVENT_",
                &[
                    ("EXEC", event_type::EXEC),
                    ("EXIT", event_type::EXIT),
                    ("HOOK", event_type::HOOK),
                    ("FORK", event_type::FORK),
                    ("DATA", event_type::DATA),
                    ("RETURN", event_type::RETURN),
                ],
            ),
        ),
        (
            "ns_kind",
            u8s(
                "NS_",
                &[
                    ("UTS", ns_kind::UTS),
                    ("IPC", ns_kind::IPC),
                    ("MNT", ns_kind::MNT),
                    ("PID", ns_kind::PID),
                    ("PID_FOR_CHILDREN", ns_kind::PID_FOR_CHILDREN),
                    ("NET", ns_kind::NET),
                    ("TIME", ns_kind::TIME),
                    ("TIME_FOR_CHILDREN", ns_kind::TIME_FOR_CHILDREN),
                    ("CGROUP", ns_kind::CGROUP),
                    ("USER", ns_kind::USER),
                ],
            ),
        ),
        (
            "cel_op",
            u8s(
                "CEL_",
                &[
                    ("PUSH", cel_op::PUSH),
                    ("ARG", cel_op::ARG),
                    ("EQ", cel_op::EQ),
                    ("NE", cel_op::NE),
                    ("LT", cel_op::LT),
                    ("LE", cel_op::LE),
                    ("GT", cel_op::GT),
                    ("GE", cel_op::GE),
                    ("ADD", cel_op::ADD),
                    ("SUB", cel_op::SUB),
                    ("BAND", cel_op::BAND),
                    ("BOR", cel_op::BOR),
                    ("BXOR", cel_op::BXOR),
                    ("BNOT", cel_op::BNOT),
                    ("LAND", cel_op::LAND),
                    ("LOR", cel_op::LOR),
                    ("LNOT", cel_op::LNOT),
                    ("TO_S32", cel_op::TO_S32),
                    ("TO_U32", cel_op::TO_U32),
                ],
            ),
        ),
        (
            "cel_ty",
            u8s(
                "CEL_",
                &[
                    ("S64", cel_ty::S64),
                    ("U64", cel_ty::U64),
                    ("S32", cel_ty::S32),
                    ("U32", cel_ty::U32),
                    ("BOOL", cel_ty::BOOL),
                ],
            ),
        ),
        (
            "caps_set",
            u8s(
                "CAPS_",
                &[
                    ("PERMITTED", caps_set::PERMITTED),
                    ("EFFECTIVE", caps_set::EFFECTIVE),
                    ("INHERITABLE", caps_set::INHERITABLE),
                ],
            ),
        ),
    ];
    let mut failures = Vec::new();
    for (name, rust) in enums {
        let (c, source) = match find_named(object_btf(), Kind::Enum, name)
            .or_else(|| find_named(object_btf(), Kind::Enum64, name))
        {
            Some(t) => (
                t.enumerators()
                    .into_iter()
                    .map(|e| (e.name.to_string(), e.value))
                    .collect::<BTreeMap<_, _>>(),
                "the object's BTF",
            ),
            None => (
                common_h_enum(name).unwrap_or_else(|| panic!("enum {name} is not in common.h")),
                "common.h",
            ),
        };
        let rust: BTreeMap<String, i128> = rust.into_iter().collect();
        for (n, v) in &c {
            match rust.get(n) {
                Some(r) if r == v => {}
                Some(r) => failures.push(format!(
                    "enum {name}: {n} is {v} in {source} but {r} in layout.rs"
                )),
                None => failures.push(format!(
                    "enum {name}: {n} = {v} ({source}) has no Rust constant in layout.rs"
                )),
            }
        }
        for (n, r) in &rust {
            if !c.contains_key(n) {
                failures.push(format!(
                    "enum {name}: layout.rs has {n} = {r}, which {source} does not"
                ));
            }
        }
    }
    fail_all("enums differ", failures);
}

/// A map's (type, key size, value size, max_entries); `None`: nothing to compare.
type MapExpectation = (u64, Option<u64>, Option<u64>, Option<u64>);

#[test]
fn map_definitions_match_rust_types() {
    const HASH: u64 = 1; // BPF_MAP_TYPE_HASH
    const HASH_LRU: u64 = 9; // BPF_MAP_TYPE_LRU_HASH
    const ARRAY: u64 = 2; // BPF_MAP_TYPE_ARRAY
    const PERCPU_ARRAY: u64 = 6; // BPF_MAP_TYPE_PERCPU_ARRAY
    const LPM_TRIE: u64 = 11; // BPF_MAP_TYPE_LPM_TRIE
    const RINGBUF: u64 = 27; // BPF_MAP_TYPE_RINGBUF
    const STACK_TRACE: u64 = 7; // BPF_MAP_TYPE_STACK_TRACE
    let size = |n: usize| Some(n as u64);
    let u32_ = size(std::mem::size_of::<u32>());
    let u64_ = size(std::mem::size_of::<u64>());
    let str_key = size(4 + std::mem::size_of::<StrKeyData>());
    // name → (map type, key size, value size, max_entries); `None`: no Rust type to compare
    // (the map is the programs' own) or no fixed expectation.
    let expected: BTreeMap<&str, MapExpectation> = [
        (
            "hooks",
            (
                HASH,
                u32_,
                size(std::mem::size_of::<HookConfig>()),
                size(MAX_HOOKS),
            ),
        ),
        (
            "syscalls",
            (
                ARRAY,
                u32_,
                size(std::mem::size_of::<SyscallHooks>()),
                size(MAX_SYSCALLS),
            ),
        ),
        ("str_prefix", (LPM_TRIE, str_key, u32_, None)),
        ("str_postfix", (LPM_TRIE, str_key, u32_, None)),
        (
            "processes",
            (HASH_LRU, u32_, size(std::mem::size_of::<Process>()), None),
        ),
        ("rate_limits", (HASH_LRU, None, u64_, None)),
        ("events", (RINGBUF, None, None, None)),
        ("lost", (PERCPU_ARRAY, u32_, u64_, Some(1))),
        ("scratch_map", (PERCPU_ARRAY, u32_, None, Some(1))),
        (
            "data_scratch",
            (
                PERCPU_ARRAY,
                u32_,
                size(std::mem::size_of::<DataEvent>()),
                Some(1),
            ),
        ),
        (
            "pending",
            (
                HASH_LRU,
                size(std::mem::size_of::<PendingKey>()),
                size(std::mem::size_of::<ReturnEvent>()),
                size(MAX_PENDING),
            ),
        ),
        (
            "cel_progs",
            (
                HASH,
                u32_,
                size(std::mem::size_of::<CelProg>()),
                size(MAX_CEL_PROGS),
            ),
        ),
        // the evaluator's own stack
        ("cel_stacks", (PERCPU_ARRAY, u32_, None, Some(1))),
        // sock address → owner (pid, tid): the programs' own
        ("socktrack", (HASH_LRU, u64_, u64_, None)),
        // function address → slot, written by the loader
        (
            "gates",
            (
                ARRAY,
                u32_,
                size(std::mem::size_of::<HookGate>()),
                size(MAX_HOOKS),
            ),
        ),
        (
            "func_slots",
            (
                HASH,
                u64_,
                size(std::mem::size_of::<FuncHooks>()),
                size(MULTI_SLOTS * 4),
            ),
        ),
        (
            "usdt",
            (
                HASH,
                u32_,
                size(std::mem::size_of::<UsdtSpec>()),
                size(SLOTS_PER_KIND),
            ),
        ),
        // (uprobe slot, selector) → its Override's register assignments
        (
            "uprobe_regs",
            (
                HASH,
                u32_,
                size(std::mem::size_of::<UprobeRegs>()),
                size(SLOTS_PER_KIND * MAX_SELECTORS),
            ),
        ),
        // stack id → frames: read by the loader (aya's StackTraceMap), sized when a policy
        // asks for stacks
        ("stack_traces", (STACK_TRACE, u32_, None, None)),
        (
            "override_tasks",
            (
                HASH_LRU,
                size(std::mem::size_of::<PendingKey>()),
                size(std::mem::size_of::<i64>()),
                size(MAX_PENDING),
            ),
        ),
    ]
    .into_iter()
    .collect();
    let maps = maps();
    let mut failures = Vec::new();
    let found: Vec<&str> = maps.keys().map(String::as_str).collect();
    let wanted: Vec<&str> = expected.keys().copied().collect();
    if found != wanted {
        failures.push(format!(
            "the object defines the maps {found:?} but this test knows {wanted:?}: add the new \
             map here with the Rust types the loader uses for it"
        ));
    }
    for (name, def) in &maps {
        let Some(&(ty, key, value, max)) = expected.get(name.as_str()) else {
            continue;
        };
        let got_ty = map_uint(def, name, "type");
        if got_ty != Some(ty) {
            failures.push(format!(
                "map {name}: type is {got_ty:?} in the object, expected {ty}"
            ));
        }
        for (what, want, got) in [
            ("key", key, map_type_size(def, name, "key")),
            ("value", value, map_type_size(def, name, "value")),
        ] {
            if want.is_some() && got != want {
                failures.push(format!(
                    "map {name}: the {what} is {got:?} bytes in C but the loader's Rust {what} is \
                     {want:?} bytes"
                ));
            }
        }
        let entries = map_uint(def, name, "max_entries");
        if max.is_some() && entries != max {
            failures.push(format!(
                "map {name}: max_entries is {entries:?} in C but {max:?} in layout.rs"
            ));
        }
        if ty == RINGBUF {
            match entries {
                Some(n) if n.is_power_of_two() && n % 4096 == 0 => {}
                n => failures.push(format!(
                    "map {name}: a ring buffer's max_entries must be a power of two and a \
                     multiple of the page size, not {n:?}"
                )),
            }
        }
    }
    fail_all("map definitions differ from the loader's types", failures);
}
