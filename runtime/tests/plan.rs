//! The plan compiler (`runtime/src/plan.rs`), tested byte by byte against the 6.12 fixture
//! kernel, in the spirit of Tetragon's selector tests.
//!
//! `Plan::compile` produces the `HookConfig` records the generic BPF programs
//! (`runtime/bpf/policyctl.bpf.c`: `handle`, `read_arg`, `match_arg`, `match_key`,
//! `match_binaries`, `match_pids`) evaluate, and the string entries of the two tries. A wrong
//! byte there is a policy that silently matches something else in the kernel, so this file guards:
//!
//! - the seed article's fixed policies: their attach, slot, and every meaningful field of their
//!   `HookConfig` (arg types, widths, indexes, flags, `resolve` offsets checked against the 6.12
//!   BTF independently of plan.rs), selector flags, filter ops/flags/ids/inline values, and their
//!   string entries; two of them also as a byte-level golden (`plan__*_bytes.snap`);
//! - the attach method chosen from the kernel's features and `--attach`, and its refusals;
//! - every refusal of what the runtime does not implement, each naming the policy;
//! - the details of filter compilation (Not*, postfix reversal, matchBinaries, matchPIDs,
//!   matchNamespaces, matchCapabilities and their Changes, matchArgs `args:`, CIDRs, protocol/family names, integer syntaxes, rateLimit durations);
//! - the pure helpers `parse_int`, `parse_cidr` and `parse_duration_ms`.
//!
//! Tracepoint hooks read their fields' layout from the kernel's index (the syscall table or
//! BTF here, with no tracefs; the validator checks those layouts against tracefs). Not covered
//! here: uprobes.
//!
//! Everything runs on the committed BTF of `testdata/btf/`: no host kernel is needed.

#[path = "../../tests/support/skip.rs"]
mod skip;

use std::mem::{offset_of, size_of, MaybeUninit};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use policyctl_runtime::layout::{
    action, arg_source, arg_type, caps_set, ns_kind, op, ArgConfig, CapsFilter, Cidr, Filter,
    HookConfig, HookGate, HookKind, NsFilter, ReturnSelector, Selector, ARG_LAST_ADDR,
    ARG_RETURN_COPY, ARG_USER, ENFORCER_KEY, FILTER_FOLLOW, FILTER_LEN_GATE, FILTER_NOT,
    FILTER_NSPID, MAX_ARGS, MAX_SELECTORS, MULTI_SLOTS, MULTI_SLOT_BASE, SLOTS_PER_KIND, STR_LEN,
};
use policyctl_runtime::plan::{
    is_multi_slot, ns_inode, parse_cidr, parse_duration_ms, parse_int, Attach, EventKind, Features,
    Method, Plan, PlanError, StringEntry,
};
use policyctl_validator::kernel::{Kernel, KernelSpec};
use policyctl_validator::{check_source_with, SourceFile};

// ---- fixtures ----------------------------------------------------------------

const KERNEL_612: &str = "6.12.117+deb12-amd64";

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

/// The 6.12 fixture kernel, loaded as `validator/tests/support` loads it: BTF plus the
/// error-injection list (a 6.12 built with error injection, so Override is checked against it).
fn kernel() -> &'static Arc<Kernel> {
    static KERNEL: OnceLock<Arc<Kernel>> = OnceLock::new();
    KERNEL.get_or_init(|| {
        let dir = testdata().join("btf");
        let spec = KernelSpec {
            name: Some(KERNEL_612.to_string()),
            btf: dir.join(format!("{KERNEL_612}.btf.zst")),
            error_injection: Some(
                dir.join(format!("{KERNEL_612}.error-injection.from-source.txt")),
            ),
            ..KernelSpec::default()
        };
        Arc::new(Kernel::load(&spec).unwrap_or_else(|e| panic!("fixture kernel {KERNEL_612}: {e}")))
    })
}

const ALL: Features = Features {
    kprobes: true,
    trampolines: true,
    bpf_lsm: true,
    uprobe_regs: true,
    kprobe_multi: false,
};
const NONE: Features = Features {
    kprobes: false,
    trampolines: false,
    bpf_lsm: false,
    uprobe_regs: false,
    kprobe_multi: false,
};

/// Check each (name, text) against the 6.12 kernel exactly as `policyctl run` does (no error
/// allowed), then compile every accepted policy together.
fn compile_files(
    files: &[(&str, &str)],
    features: Features,
    method: Option<Method>,
) -> Result<Plan, Vec<PlanError>> {
    let reports: Vec<_> = files
        .iter()
        .map(|(name, text)| {
            check_source_with(
                SourceFile::new(*name, *text),
                std::slice::from_ref(kernel()),
            )
        })
        .collect();
    let mut accepted = Vec::new();
    for r in &reports {
        match r.accepted() {
            Ok(a) => accepted.extend(a),
            Err(n) => panic!(
                "the validator refused {} ({n} errors): {:#?}",
                r.source.name(),
                r.diagnostics
            ),
        }
    }
    Plan::compile(&accepted, kernel(), features, method)
}

fn compile(text: &str, features: Features, method: Option<Method>) -> Result<Plan, Vec<PlanError>> {
    compile_files(&[("test.yaml", text)], features, method)
}

/// Compiles, expecting success.
fn plan(text: &str) -> Plan {
    compile(text, ALL, None).unwrap_or_else(|e| panic!("plan errors: {e:#?}"))
}

/// Compiles, expecting exactly one error; returns its Display form (file, policy, message).
fn refusal(text: &str, features: Features, method: Option<Method>) -> String {
    match compile(text, features, method) {
        Ok(p) => panic!("expected a refusal, got a plan: {:#?}", p.hooks),
        Err(errors) => {
            assert_eq!(errors.len(), 1, "{errors:#?}");
            assert_eq!(errors[0].file, "test.yaml");
            assert_eq!(errors[0].policy, "p");
            let text = errors[0].to_string();
            assert!(text.starts_with("test.yaml: policy `p`: "), "{text}");
            text
        }
    }
}

fn article(name: &str) -> (String, String) {
    let path = testdata().join(format!("policies/article/fixed-{name}.yaml"));
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    (path.display().to_string(), text)
}

fn article_plan(name: &str) -> Plan {
    let (file, text) = article(name);
    compile_files(&[(&file, &text)], ALL, None).unwrap_or_else(|e| panic!("{e:#?}"))
}

/// A TracingPolicy named `p` with the given `spec:` body (indented by two spaces).
fn policy(spec: &str) -> String {
    format!(
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: p\nspec:\n{spec}"
    )
}

/// A `do_mkdirat` kprobe with int, string (resolved `name`) and int args, and one selector.
fn mkdirat(selector: &str) -> String {
    // No selector: no `selectors:` key (a null there is S016, refused by Tetragon's loader).
    let selectors = if selector.is_empty() {
        String::new()
    } else {
        format!("    selectors:\n{selector}")
    };
    policy(&format!(
        r#"  kprobes:
  - call: do_mkdirat
    syscall: false
    args:
    - index: 0
      type: int
    - index: 1
      type: string
      resolve: name
    - index: 2
      type: int
{selectors}"#
    ))
}

/// A `tcp_connect` kprobe with a sock arg and one selector.
fn tcp_connect(selector: &str) -> String {
    // No selector: no `selectors:` key (a null there is S016, refused by Tetragon's loader).
    let selectors = if selector.is_empty() {
        String::new()
    } else {
        format!("    selectors:\n{selector}")
    };
    policy(&format!(
        r#"  kprobes:
  - call: tcp_connect
    syscall: false
    args:
    - index: 0
      type: sock
{selectors}"#
    ))
}

/// A `sys_openat` syscall hook reading the path (a user string), with optional selectors.
fn openat(selectors: &str) -> String {
    policy(&format!(
        r#"  kprobes:
  - call: sys_openat
    syscall: true
    args:
    - index: 1
      type: string
{selectors}"#
    ))
}

/// Byte offset of a member of a struct in the 6.12 BTF, read independently of plan.rs.
fn btf_offset(owner: &str, member: &str) -> u16 {
    let t = kernel()
        .struct_named(owner)
        .unwrap_or_else(|| panic!("no struct {owner}"));
    let m = t
        .members()
        .find(|m| m.name == member)
        .unwrap_or_else(|| panic!("no {owner}.{member}"));
    assert_eq!(m.offset % 8, 0, "{owner}.{member} is a bitfield");
    (m.offset / 8) as u16
}

fn only_hook(p: &Plan) -> &policyctl_runtime::plan::HookPlan {
    assert_eq!(p.hooks.len(), 1, "{:#?}", p.hooks);
    &p.hooks[0]
}

fn arg(ty: u8, index: u8, width: u8) -> ArgConfig {
    ArgConfig {
        ty,
        index,
        width,
        ..Default::default()
    }
}

fn filter(id: u32, op: u8, flags: u8, arg: u8, ints: &[u64]) -> Filter {
    let mut f = Filter {
        id,
        op,
        flags,
        arg,
        ..Default::default()
    };
    f.set_ints(ints);
    f
}

/// A string filter as the plan writes it: `FILTER_LEN_GATE` set and, in its first four values,
/// the bitmap of the string lengths that can match: its values' own lengths for Equal and In,
/// every length from the shortest value's up to `STR_LEN` for Prefix and Postfix.
fn gated(id: u32, op: u8, flags: u8, arg: u8, values: &[&str]) -> Filter {
    let mut f = filter(id, op, flags | FILTER_LEN_GATE, arg, &[]);
    let exact = op == op::EQUAL || op == op::IN;
    let shortest = values.iter().map(|v| v.len()).min();
    for n in 0..=STR_LEN {
        let can = if exact {
            values.iter().any(|v| v.len() == n)
        } else {
            shortest.is_some_and(|s| n >= s)
        };
        if can {
            f.values[n / 64] |= 1 << (n % 64);
        }
    }
    f
}

fn entry(filter: u32, value: &str, postfix: bool) -> StringEntry {
    StringEntry {
        filter,
        value: value.as_bytes().to_vec(),
        postfix,
    }
}

/// The selectors a test did not write stay all zero.
fn assert_unused_selectors(cfg: &HookConfig, used: usize) {
    for (i, s) in cfg.selectors.iter().enumerate().skip(used) {
        assert_eq!(*s, Selector::default(), "selector {i} is not zero");
    }
    assert_eq!(cfg.nselectors as usize, used);
}

fn assert_unused_args(cfg: &HookConfig, used: usize) {
    for (i, a) in cfg.args.iter().enumerate().skip(used) {
        assert_eq!(*a, ArgConfig::default(), "arg {i} is not zero");
    }
    assert_eq!(cfg.nargs as usize, used);
}

/// The bytes of a `HookConfig` as the loader writes them into the `hooks` map, the one padding
/// hole (between `args` and the 8-aligned `selectors`) read as zero.
fn config_bytes(cfg: &HookConfig) -> Vec<u8> {
    let hole = offset_of!(HookConfig, args) + size_of::<[ArgConfig; MAX_ARGS]>()
        ..offset_of!(HookConfig, selectors);
    assert_eq!(
        offset_of!(HookConfig, ret),
        offset_of!(HookConfig, selectors) + MAX_SELECTORS * size_of::<Selector>(),
        "HookConfig has padding after its selectors that this dump does not know"
    );
    assert_eq!(
        offset_of!(HookConfig, ret_sock_action),
        offset_of!(HookConfig, ret_selectors) + MAX_SELECTORS * size_of::<ReturnSelector>(),
        "HookConfig has padding after its return selectors that this dump does not know"
    );
    assert_eq!(
        size_of::<HookConfig>(),
        offset_of!(HookConfig, _spad) + 7,
        "HookConfig has trailing padding this dump does not know"
    );
    // SAFETY: reading a plain value's bytes as MaybeUninit<u8> is always sound; only the
    // padding bytes may be uninitialised and they are replaced by zero without being read.
    let raw: [MaybeUninit<u8>; size_of::<HookConfig>()] =
        unsafe { std::ptr::read(cfg as *const HookConfig as *const _) };
    raw.iter()
        .enumerate()
        .map(|(i, b)| {
            if hole.contains(&i) {
                0
            } else {
                // SAFETY: every byte outside the hole belongs to an initialised field.
                unsafe { b.assume_init() }
            }
        })
        .collect()
}

/// A readable hex dump: 16 bytes a line, only the lines holding a non-zero byte.
fn hex_dump(bytes: &[u8]) -> String {
    let mut out = format!("{} bytes; all-zero lines omitted\n", bytes.len());
    for (n, line) in bytes.chunks(16).enumerate() {
        if line.iter().all(|b| *b == 0) {
            continue;
        }
        let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        out.push_str(&format!("{:#06x}: {}\n", n * 16, hex.join(" ")));
    }
    out
}

// ---- 1. the article's fixed policies ------------------------------------------

/// `struct filename *name` with `resolve: "name"`: one load at the offset of `filename.name`
/// (0 on 6.12; read from BTF here, not assumed), then a kernel string read at that pointer.
#[test]
fn article_kill_mkdir_test() {
    let p = article_plan("kill-mkdir-test");
    assert_eq!(p.policies.len(), 1);
    assert_eq!(p.policies[0].name, "kill-mkdir-test");
    assert_eq!(p.policies[0].namespace, None);
    let h = only_hook(&p);
    assert_eq!(
        h.attach,
        Attach::Kprobe {
            symbol: "do_mkdirat".into(),
            override_: false
        }
    );
    assert_eq!(h.slot, 0);
    assert_eq!(h.event, EventKind::Kprobe);
    assert_eq!(h.function_name, "do_mkdirat");
    let tys: Vec<&str> = h.args.iter().map(|a| a.ty.as_str()).collect();
    assert_eq!(tys, ["int", "string", "int"]);

    let c = &h.config;
    assert_eq!(
        (c.policy, c.kind, c.enabled, c.syscall),
        (0, HookKind::Kprobe as u8, 1, 0)
    );
    let name_off = btf_offset("filename", "name");
    assert_eq!(name_off, 0, "struct filename.name moved in 6.12?");
    assert_eq!(c.args[0], arg(arg_type::INT, 0, 4));
    assert_eq!(
        c.args[1],
        ArgConfig {
            nresolve: 1,
            resolve: [name_off, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ..arg(arg_type::STRING, 1, 8)
        },
        "a kernel string (no ARG_USER), one load, not ARG_LAST_ADDR"
    );
    assert_eq!(c.args[2], arg(arg_type::INT, 2, 4));
    assert_unused_args(c, 3);

    let s = &c.selectors[0];
    assert_eq!(
        (
            s.nargs,
            s.has_binaries,
            s.has_pids,
            s.post,
            s.kill,
            s.signal,
            s.override_
        ),
        (1, 0, 0, 1, 1, 0, 0)
    );
    assert_eq!((s.override_value, s.rate_limit_ms), (0, 0));
    assert_eq!(s.args[0], gated(1, op::EQUAL, 0, 1, &["test"]));
    assert_eq!(s.binaries, Filter::default());
    assert_eq!(s.pids, Filter::default());
    assert_unused_selectors(c, 1);
    assert_eq!(h.strings, [entry(1, "test", false)]);
}

/// The byte-level golden of kill-mkdir-test, reviewed against common.h (offsets also checked by
/// tests/layout.rs against the object's BTF):
///
/// - 0x00 `policy` = 0; 0x04 `kind` = 0 (KIND_KPROBE); 0x05 `nargs` = 3; 0x06 `nselectors` = 1;
///   0x07 `enabled` = 1; 0x08 `syscall` = 0.
/// - `args` at 0x0c, 32 bytes each (type, index, width, flags, nresolve, size_index,
///   field_offset u16, resolve u16[10], source, reg_size, reg_offset u16): 0x0c `01 00 04`
///   (INT, index 0, width 4); 0x2c `03 01 08 00 01` (STRING, index 1, width 8, no flags,
///   nresolve 1, resolve[0] = 0 at 0x34); 0x4c `01 02 04` (INT, index 2, width 4).
/// - `selectors` at 0xb0 (0xac rounded up to the 8-alignment of the u64 values): 0xb0 nargs = 1,
///   0xb3 post = 1, 0xb4 kill = 1; its `args[0]` at 0xb0 + 16 = 0xc0: id = 1, 0xc4 op = 1
///   (OP_EQUAL), 0xc5 flags = 8 (FILTER_LEN_GATE), 0xc6 arg = 1, 0xc7 nvalues = 0 (the string
///   is in the trie); its values at 0xc8 are the length gate: bit 4 (`test` is 4 bytes) = 0x10.
#[test]
fn article_kill_mkdir_test_bytes() {
    let p = article_plan("kill-mkdir-test");
    let bytes = config_bytes(&p.hooks[0].config);
    assert_eq!(&bytes[0x04..0x09], &[0, 3, 1, 1, 0]);
    assert_eq!(&bytes[0x2c..0x31], &[3, 1, 8, 0, 1]);
    assert_eq!(&bytes[0xc0..0xc8], &[1, 0, 0, 0, 1, 8, 1, 0]);
    assert_eq!(&bytes[0xc8..0xd0], &[0x10, 0, 0, 0, 0, 0, 0, 0]);
    insta::assert_snapshot!(hex_dump(&bytes));
}

/// LSM `file_open` with a `file` arg and a Prefix filter: slot 24 (the LSM range starts at
/// 2 * SLOTS_PER_KIND), kind KIND_LSM, the prefix in the prefix trie.
#[test]
fn article_block_secret_files() {
    let p = article_plan("block-secret-files");
    let h = only_hook(&p);
    assert_eq!(
        h.attach,
        Attach::Lsm {
            hook: "file_open".into()
        }
    );
    assert_eq!(h.slot, HookKind::Lsm.slot(0));
    assert_eq!(h.event, EventKind::Lsm);
    assert_eq!(h.function_name, "file_open");
    let c = &h.config;
    assert_eq!(
        (c.policy, c.kind, c.enabled, c.syscall),
        (0, HookKind::Lsm as u8, 1, 0)
    );
    assert_eq!(c.args[0], arg(arg_type::FILE, 0, 8));
    assert_unused_args(c, 1);
    let s = &c.selectors[0];
    assert_eq!(
        (
            s.nargs,
            s.has_binaries,
            s.has_pids,
            s.post,
            s.kill,
            s.signal,
            s.override_
        ),
        (1, 0, 0, 1, 1, 0, 0)
    );
    assert_eq!(s.args[0], gated(1, op::PREFIX, 0, 0, &["/tmp/secret/"]));
    assert_unused_selectors(c, 1);
    assert_eq!(h.strings, [entry(1, "/tmp/secret/", false)]);
}

/// `tcp_connect` with DPort 443 inline and matchBinaries In `/usr/bin/wget` in the trie: the
/// matchArgs filter takes id 1, matchBinaries id 2.
#[test]
fn article_block_443_for_wget() {
    let p = article_plan("block-443-for-wget");
    let h = only_hook(&p);
    assert_eq!(
        h.attach,
        Attach::Kprobe {
            symbol: "tcp_connect".into(),
            override_: false
        }
    );
    assert_eq!(h.slot, 0);
    let c = &h.config;
    assert_eq!(
        (c.kind, c.enabled, c.syscall),
        (HookKind::Kprobe as u8, 1, 0)
    );
    assert_eq!(c.args[0], arg(arg_type::SOCK, 0, 8));
    assert_unused_args(c, 1);
    let s = &c.selectors[0];
    assert_eq!(
        (
            s.nargs,
            s.has_binaries,
            s.has_pids,
            s.post,
            s.kill,
            s.signal,
            s.override_
        ),
        (1, 1, 0, 1, 1, 0, 0)
    );
    assert_eq!(s.args[0], filter(1, op::DPORT, 0, 0, &[443]));
    assert_eq!(s.args[0].ints(), [443]);
    assert_eq!(s.binaries, gated(2, op::IN, 0, 0, &["/usr/bin/wget"]));
    assert_eq!(s.pids, Filter::default());
    assert_unused_selectors(c, 1);
    assert_eq!(h.strings, [entry(2, "/usr/bin/wget", false)]);
}

/// The byte-level golden of block-443-for-wget, reviewed against common.h:
///
/// - 0x04 kind = 0, 0x05 nargs = 1, 0x06 nselectors = 1, 0x07 enabled = 1.
/// - 0x0c args[0] = `09 00 08` (ARG_SOCK, index 0, width 8).
/// - selector 0 at 0xb0: nargs = 1, has_binaries = 1 (0xb1), has_pids = 0, post = 1 (0xb3),
///   kill = 1 (0xb4).
/// - its args[0] at 0xc0: id = 1, op = 8 (OP_DPORT) at 0xc4, arg 0, nvalues = 1 at 0xc7,
///   ints[0] = 443 = 0x01bb little-endian at 0xc8 (`bb 01`).
/// - its `binaries` filter at 0xb0 + 16 + 5 * 200 = 0x4a8: id = 2, op = 0x10 (OP_IN) at
///   0x4ac, nvalues = 0 (the path is in the trie). `pids` at 0x4a8 + 200 = 0x570 stays zero.
#[test]
fn article_block_443_for_wget_bytes() {
    let p = article_plan("block-443-for-wget");
    let bytes = config_bytes(&p.hooks[0].config);
    assert_eq!(offset_of!(HookConfig, selectors), 0xb0);
    assert_eq!(offset_of!(Selector, binaries), 16 + 5 * 200);
    assert_eq!(&bytes[0xb0..0xb5], &[1, 1, 0, 1, 1]);
    assert_eq!(&bytes[0xc0..0xca], &[1, 0, 0, 0, 8, 0, 0, 1, 0xbb, 0x01]);
    assert_eq!(&bytes[0x4a8..0x4ad], &[2, 0, 0, 0, 16]);
    assert_eq!(offset_of!(Selector, pids), 16 + 6 * 200);
    assert!(bytes[0x570..0x570 + 200].iter().all(|b| *b == 0));
    insta::assert_snapshot!(hex_dump(&bytes));
}

/// `__sys_setresuid` with Equal 0 on an int: an inline value (nvalues 1, value 0), no string,
/// and only Post (no kill).
#[test]
fn article_detect_sudo() {
    let p = article_plan("detect-sudo");
    let h = only_hook(&p);
    assert_eq!(
        h.attach,
        Attach::Kprobe {
            symbol: "__sys_setresuid".into(),
            override_: false
        }
    );
    let c = &h.config;
    for i in 0..3 {
        assert_eq!(c.args[i], arg(arg_type::INT, i as u8, 4));
    }
    assert_unused_args(c, 3);
    let s = &c.selectors[0];
    assert_eq!(
        (
            s.nargs,
            s.has_binaries,
            s.has_pids,
            s.post,
            s.kill,
            s.signal,
            s.override_
        ),
        (1, 0, 0, 1, 0, 0, 0)
    );
    assert_eq!(s.args[0], filter(1, op::EQUAL, 0, 1, &[0]));
    assert_eq!(s.args[0].nvalues, 1);
    assert_unused_selectors(c, 1);
    assert!(h.strings.is_empty());
}

/// The four together: kprobes take slots 0, 1, 2 in order, the LSM hook slot 24; filter ids run
/// on across policies; each config carries its policy's index.
#[test]
fn article_policies_together() {
    let files: Vec<(String, String)> = [
        "kill-mkdir-test",
        "block-secret-files",
        "block-443-for-wget",
        "detect-sudo",
    ]
    .iter()
    .map(|n| article(n))
    .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let p = compile_files(&refs, ALL, None).unwrap_or_else(|e| panic!("{e:#?}"));
    let names: Vec<&str> = p.policies.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "kill-mkdir-test",
            "block-secret-files",
            "block-443-for-wget",
            "detect-sudo"
        ]
    );
    assert_eq!(p.policies[2].file, files[2].0);
    let got: Vec<(usize, u32, u32, &str)> = p
        .hooks
        .iter()
        .map(|h| (h.policy, h.slot, h.config.policy, h.function_name.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (0, 0, 0, "do_mkdirat"),
            (1, HookKind::Lsm.slot(0), 1, "file_open"),
            (2, 1, 2, "tcp_connect"),
            (3, 2, 3, "__sys_setresuid"),
        ]
    );
    assert_eq!(
        p.hook(HookKind::Lsm.slot(0)).unwrap().function_name,
        "file_open"
    );
    assert!(p.hook(3).is_none());
    let ids: Vec<(u32, u32)> = p
        .hooks
        .iter()
        .map(|h| {
            let s = &h.config.selectors[0];
            (s.args[0].id, s.binaries.id)
        })
        .collect();
    assert_eq!(ids, [(1, 0), (2, 0), (3, 4), (5, 0)]);
    assert_eq!(p.hooks[2].strings, [entry(4, "/usr/bin/wget", false)]);
}

// ---- 2. attach method selection ---------------------------------------------

#[test]
fn syscall_hook_without_kprobes_or_trampolines_uses_its_syscall_tracepoint() {
    // Only openat pays: `syscalls/sys_enter_openat`, its args read from the record where the
    // syscall table lays them out (filename, arg 1, at 24), with the type the policy declares.
    let p = compile(&openat(""), NONE, None).unwrap();
    let h = only_hook(&p);
    assert_eq!(
        h.attach,
        Attach::Tracepoint {
            subsystem: "syscalls".into(),
            event: "sys_enter_openat".into()
        }
    );
    assert_eq!(h.function_name, "__x64_sys_openat");
    assert_eq!(h.event, EventKind::Kprobe);
    // the tracepoint kind's slot range
    assert_eq!(h.slot, HookKind::Tracepoint.slot(0));
    let c = &h.config;
    assert_eq!(
        (c.kind, c.syscall, c.enabled),
        (HookKind::Tracepoint as u8, 1, 1)
    );
    assert_eq!(
        c.args[0],
        ArgConfig {
            flags: ARG_USER,
            field_offset: 24,
            ..arg(arg_type::STRING, 0, 8)
        }
    );
    // An int argument keeps its declared width and sign (every syscall field is an 8-byte
    // unsigned long in the record).
    let dfd = policy(
        r#"  kprobes:
  - call: sys_openat
    args:
    - index: 0
      type: int
"#,
    );
    let p = compile(&dfd, NONE, None).unwrap();
    let a = &only_hook(&p).config.args[0];
    assert_eq!((a.ty, a.width, a.field_offset), (arg_type::INT, 4, 16));
}

#[test]
fn syscall_hook_on_the_raw_syscall_tracepoint_when_asked() {
    let p = compile(&openat(""), NONE, Some(Method::RawTracepoint)).unwrap();
    let h = only_hook(&p);
    assert_eq!(
        h.attach,
        Attach::RawSyscall {
            symbol: "__x64_sys_openat".into(),
            nr: 257
        }
    );
    assert_eq!(h.function_name, "__x64_sys_openat");
    assert_eq!(h.event, EventKind::Kprobe);
    // the raw syscall kind shares the kprobe slot range
    assert_eq!(h.slot, 0);
    let c = &h.config;
    assert_eq!(
        (c.kind, c.syscall, c.enabled),
        (HookKind::RawSyscall as u8, 1, 1)
    );
    assert_eq!(
        c.args[0],
        ArgConfig {
            flags: ARG_USER,
            ..arg(arg_type::STRING, 1, 8)
        }
    );
    assert_unused_selectors(c, 0);
}

#[test]
fn syscall_hook_with_trampolines_only_uses_fentry() {
    let f = Features {
        trampolines: true,
        ..NONE
    };
    let p = compile(&openat(""), f, None).unwrap();
    let h = only_hook(&p);
    assert_eq!(
        h.attach,
        Attach::Fentry {
            symbol: "__x64_sys_openat".into()
        }
    );
    assert_eq!(h.slot, HookKind::Fentry.slot(0));
    assert_eq!(h.config.kind, HookKind::Fentry as u8);
    assert_eq!(h.config.syscall, 1);
}

#[test]
fn syscall_hook_with_kprobes_uses_a_kprobe_on_the_stub() {
    let p = compile(&openat(""), ALL, None).unwrap();
    assert_eq!(
        only_hook(&p).attach,
        Attach::Kprobe {
            symbol: "__x64_sys_openat".into(),
            override_: false
        }
    );
}

#[test]
fn forced_methods() {
    let p = compile(&openat(""), ALL, Some(Method::Tracepoint)).unwrap();
    assert_eq!(
        only_hook(&p).attach,
        Attach::Tracepoint {
            subsystem: "syscalls".into(),
            event: "sys_enter_openat".into()
        }
    );
    let p = compile(&openat(""), ALL, Some(Method::RawTracepoint)).unwrap();
    assert_eq!(
        only_hook(&p).attach,
        Attach::RawSyscall {
            symbol: "__x64_sys_openat".into(),
            nr: 257
        }
    );
    let p = compile(&openat(""), ALL, Some(Method::Fentry)).unwrap();
    assert_eq!(
        only_hook(&p).attach,
        Attach::Fentry {
            symbol: "__x64_sys_openat".into()
        }
    );
    let e = refusal(&openat(""), ALL.with_kprobes(false), Some(Method::Kprobe));
    assert!(
        e.contains("`--attach kprobe`: this kernel has no kprobes"),
        "{e}"
    );
    let f = Features {
        trampolines: false,
        ..ALL
    };
    let e = refusal(&openat(""), f, Some(Method::Fentry));
    assert!(e.contains("does not load BPF trampolines"), "{e}");
    let e = refusal(&mkdirat(""), ALL, Some(Method::Tracepoint));
    assert!(e.contains("serves only `syscall: true` hooks"), "{e}");
}

#[test]
fn non_syscall_kprobe_without_kprobes_or_trampolines_is_refused() {
    let e = refusal(&mkdirat(""), NONE, None);
    assert!(e.contains("kprobe `do_mkdirat`"), "{e}");
    assert!(e.contains("neither kprobes nor BPF trampolines"), "{e}");
}

const OVERRIDE: &str =
    "    selectors:\n    - matchActions:\n      - action: Override\n        argError: -1\n";

#[test]
fn override_takes_the_override_kprobe() {
    let p = compile(&openat(OVERRIDE), ALL, None).unwrap();
    let h = only_hook(&p);
    assert_eq!(
        h.attach,
        Attach::Kprobe {
            symbol: "__x64_sys_openat".into(),
            override_: true
        }
    );
    let s = &h.config.selectors[0];
    assert_eq!((s.override_, s.override_value, s.post), (1, -1, 1));
    // even when trampolines exist and kprobes are the only way to override
    let p = compile(&openat(OVERRIDE), ALL, Some(Method::Kprobe)).unwrap();
    assert!(matches!(
        only_hook(&p).attach,
        Attach::Kprobe {
            override_: true,
            ..
        }
    ));
}

#[test]
fn override_without_kprobes_is_refused() {
    let e = refusal(&openat(OVERRIDE), ALL.with_kprobes(false), None);
    assert!(e.contains("Override needs kprobes"), "{e}");
    let e = refusal(&openat(OVERRIDE), ALL, Some(Method::Tracepoint));
    assert!(e.contains("Override needs a kprobe"), "{e}");
    let e = refusal(&openat(OVERRIDE), ALL, Some(Method::Fentry));
    assert!(e.contains("Override needs a kprobe"), "{e}");
}

const LSM: &str = "  lsmhooks:\n  - hook: file_open\n    args:\n    - index: 0\n      type: file\n";

#[test]
fn lsm_needs_bpf_lsm_and_trampolines() {
    let e = refusal(
        &policy(LSM),
        Features {
            bpf_lsm: false,
            ..ALL
        },
        None,
    );
    assert!(e.contains("lsmhook `file_open`"), "{e}");
    assert!(e.contains("lsm=...,bpf"), "{e}");
    let e = refusal(
        &policy(LSM),
        Features {
            trampolines: false,
            ..ALL
        },
        None,
    );
    assert!(e.contains("BPF trampolines are unavailable"), "{e}");
    let p = compile(&policy(LSM), ALL, None).unwrap();
    assert_unused_selectors(&only_hook(&p).config, 0);
}

trait WithKprobes {
    fn with_kprobes(self, on: bool) -> Self;
}

impl WithKprobes for Features {
    fn with_kprobes(self, on: bool) -> Self {
        Features {
            kprobes: on,
            ..self
        }
    }
}

// ---- 3. refusals --------------------------------------------------------------

/// What the runtime does not implement: each refused with one line naming the policy, the
/// hook and the missing feature.
#[test]
fn refuses_what_the_runtime_does_not_implement() {
    let cases: [(String, &str); 4] = [
        (
            policy("  kprobes:\n  - call: tcp_close\n    syscall: false\n    args:\n    - index: 1\n      type: int\n    selectors:\n    - matchActions:\n      - action: TrackSock\n        argSock: 0\n"),
            "kprobe `tcp_close`: TrackSock: argSock 0 is not a `sock` or `socket` arg of this hook",
        ),
        (
            mkdirat("    - matchParentBinaries:\n      - operator: In\n        followChildren: true\n        values:\n        - /usr/bin/bash\n"),
            "matchParentBinaries with followChildren is not supported",
        ),
        (
            mkdirat("    - matchActions:\n      - action: GetUrl\n        argUrl: ftp://example.com/canary\n"),
            "GetUrl `ftp://example.com/canary`: policyctl run fetches only `http://` and `https://` URLs",
        ),
        (
            policy("  tracepoints:\n  - subsystem: sched\n    event: sched_switch\n    args:\n    - index: 4\n      type: auto\n"),
            "Tetragon reads an array as a const_buf and prints only arrays of `long`",
        ),
    ];
    for (text, want) in cases {
        let e = refusal(&text, ALL, None);
        assert!(e.contains(want), "{want}: {e}");
    }
}

/// SLOTS_PER_KIND (64) kprobe hooks in all take the copies' slots 0..64; the kprobe hooks past
/// them are served by `kprobe_multi` in slots MULTI_SLOT_BASE.. (MULTI_SLOTS of them), and one
/// more is refused; hooks past the copies may share a function. The hooks come from a
/// `syscalls` list of the fixture's first 64 syscalls, `generated_syscalls` lists (every syscall
/// of the fixture) in one, then two policies, and a `generated_ftrace` list of every BTF
/// function whose name starts with `s`.
#[test]
fn kprobe_hooks_past_the_copies_take_multi_slots() {
    let names: Vec<&str> = kernel()
        .syscall_names()
        .into_iter()
        .filter(|n| policyctl_validator::kernel::syscalls::number(n).is_some())
        .collect();
    let values: String = names[..64]
        .iter()
        .map(|n| format!("    - sys_{n}\n"))
        .collect();
    let sixty_four = policy(&format!(
        "  lists:\n  - name: many\n    type: syscalls\n    values:\n{values}  kprobes:\n  - call: list:many\n"
    ));
    let p = compile(&sixty_four, ALL, None).unwrap();
    let slots: Vec<u32> = p.hooks.iter().map(|h| h.slot).collect();
    assert_eq!(slots, (0..64).collect::<Vec<_>>());
    let symbols: Vec<String> = p
        .hooks
        .iter()
        .map(|h| match &h.attach {
            Attach::Kprobe { symbol, .. } => symbol.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    let want: Vec<String> = names[..64]
        .iter()
        .map(|n| format!("__x64_sys_{n}"))
        .collect();
    assert_eq!(symbols, want);

    let all = |name: &str| {
        format!("apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: {name}\nspec:\n  lists:\n  - name: all\n    type: generated_syscalls\n  kprobes:\n  - call: list:all\n")
    };
    let p = compile(&all("one"), ALL, None).unwrap();
    let n = names.len();
    assert!(n > SLOTS_PER_KIND && n < MULTI_SLOTS, "{n} syscalls");
    let slots: Vec<u32> = p.hooks.iter().map(|h| h.slot).collect();
    let want: Vec<u32> = (0..64)
        .chain(MULTI_SLOT_BASE as u32..(MULTI_SLOT_BASE + n - 64) as u32)
        .collect();
    assert_eq!(slots, want);
    assert!(p
        .hooks
        .iter()
        .all(|h| is_multi_slot(h.slot) == (h.slot >= 64)));

    // a second policy of every syscall: its hooks are all past the copies, on the functions
    // the first's hooks past the copies are on too (kprobe_multi runs every hook of a function)
    let (a, b) = (all("a"), all("b"));
    let p = compile_files(&[("a.yaml", &a), ("b.yaml", &b)], ALL, None).unwrap();
    assert_eq!(p.hooks.len(), 2 * n);
    assert!(p.hooks[n..].iter().all(|h| is_multi_slot(h.slot)));
    let distinct: std::collections::BTreeSet<u32> = p.hooks.iter().map(|h| h.slot).collect();
    assert_eq!(distinct.len(), 2 * n);

    // more functions than the copies and the multi slots together
    let many = policy("  lists:\n  - name: s\n    type: generated_ftrace\n    pattern: \"^s\"\n  kprobes:\n  - call: list:s\n");
    let e = refusal(&many, ALL, None);
    assert!(
        e.contains("more than 1088 kprobe hooks in all policies; run fewer policies at once"),
        "{e}"
    );
}

/// With kprobe_multi links (`Features::kprobe_multi`), kprobe hooks take `kprobe_multi` slots
/// first, so the kernel verifies one program, not a copy per hook; a return probe and an
/// Override by `bpf_override_return` still take copies, which `kprobe_multi` cannot serve; past
/// the multi slots, hooks take the copies.
#[test]
fn with_kprobe_multi_links_kprobes_take_multi_slots_first() {
    let linked = Features {
        kprobe_multi: true,
        ..ALL
    };
    let plain = policy("  kprobes:\n  - call: vfs_read\n    syscall: false\n");
    let p = compile(&plain, linked, None).unwrap();
    assert_eq!(only_hook(&p).slot, MULTI_SLOT_BASE as u32);
    // without links, the first copy
    assert_eq!(only_hook(&compile(&plain, ALL, None).unwrap()).slot, 0);
    // the policy option as Tetragon reads it (strconv.ParseBool): this policy's kprobes on
    // copies, whatever the kernel has
    for value in ["true", "1", "T"] {
        let off = policy(&format!(
            "  options:\n  - name: disable-kprobe-multi\n    value: \"{value}\"\n  kprobes:\n  - call: vfs_read\n    syscall: false\n"
        ));
        assert_eq!(
            only_hook(&compile(&off, linked, None).unwrap()).slot,
            0,
            "{value}"
        );
    }
    let on = policy("  options:\n  - name: disable-kprobe-multi\n    value: \"false\"\n  kprobes:\n  - call: vfs_read\n    syscall: false\n");
    assert_eq!(
        only_hook(&compile(&on, linked, None).unwrap()).slot,
        MULTI_SLOT_BASE as u32
    );
    let returns = policy(
        "  kprobes:\n  - call: vfs_read\n    syscall: false\n    return: true\n    returnArg:\n      index: 0\n      type: int\n",
    );
    let h = only_hook(&compile(&returns, linked, None).unwrap()).slot;
    assert!(!is_multi_slot(h), "a return probe on copy {h}");
    // every syscall: the multi slots hold them all, no copy is used
    let all = policy(
        "  lists:\n  - name: all\n    type: generated_syscalls\n  kprobes:\n  - call: list:all\n",
    );
    let p = compile(&all, linked, None).unwrap();
    assert!(p.hooks.len() > SLOTS_PER_KIND);
    assert!(p.hooks.iter().all(|h| is_multi_slot(h.slot)));
    // more functions than the multi slots: the rest on copies, then refused past both
    let many = policy("  lists:\n  - name: s\n    type: generated_ftrace\n    pattern: \"^s\"\n  kprobes:\n  - call: list:s\n");
    let e = refusal(&many, linked, None);
    assert!(
        e.contains("more than 1088 kprobe hooks in all policies; run fewer policies at once"),
        "{e}"
    );
}

/// A call from a `syscalls` list compiles to the same hook, byte for byte, as the call written
/// out (`syscall: true`), one hook per value in the list's order; a value may carry the arch
/// prefix, as Tetragon's `SyscallVal.Symbol` takes it.
#[test]
fn list_calls_compile_as_the_calls_written_out() {
    let body = "    args:\n    - index: 1\n      type: string\n    selectors:\n    - matchArgs:\n      - index: 1\n        operator: Prefix\n        values:\n        - /tmp/\n";
    let listed = plan(&policy(&format!(
        "  lists:\n  - name: dirs\n    type: syscalls\n    values:\n    - sys_mkdir\n    - __x64_sys_rmdir\n    - sys_chdir\n  kprobes:\n  - call: list:dirs\n    syscall: false\n{body}"
    )));
    assert_eq!(listed.hooks.len(), 3);
    for (h, call) in listed.hooks.iter().zip(["mkdir", "rmdir", "chdir"]) {
        let one = plan(&policy(&format!(
            "  kprobes:\n  - call: sys_{call}\n    syscall: true\n{body}"
        )));
        let one = only_hook(&one);
        assert_eq!(h.attach, one.attach);
        assert_eq!(h.function_name, one.function_name);
        // filter ids differ (each policy numbers its own from 1): compare all else
        let mut a = h.config;
        let mut b = one.config;
        a.selectors[0].args[0].id = 0;
        b.selectors[0].args[0].id = 0;
        assert_eq!(config_bytes(&a), config_bytes(&b), "{call}");
        assert_eq!(h.config.syscall, 1, "a syscalls list makes syscall hooks");
    }
    // a list without a type holds functions, as written
    let funcs = plan(&policy(
        "  lists:\n  - name: fs\n    values:\n    - vfs_read\n    - vfs_write\n  kprobes:\n  - call: list:fs\n    syscall: false\n",
    ));
    let symbols: Vec<&Attach> = funcs.hooks.iter().map(|h| &h.attach).collect();
    assert_eq!(
        symbols,
        [
            &Attach::Kprobe {
                symbol: "vfs_read".into(),
                override_: false
            },
            &Attach::Kprobe {
                symbol: "vfs_write".into(),
                override_: false
            },
        ]
    );
    assert!(funcs.hooks.iter().all(|h| h.config.syscall == 0));
}

/// A `generated_ftrace` list on a kernel known by its BTF only: its functions are the BTF's
/// that the pattern (a regular expression, unanchored at the end, as Go's MatchString) matches,
/// sorted, one hook each, and a note says the BTF stood in for available_filter_functions; a
/// pattern that matches nothing is refused as Tetragon refuses it.
#[test]
fn generated_ftrace_lists_match_the_btf_functions_in_a_dry_run() {
    let p = plan(&policy("  lists:\n  - name: ksys\n    type: generated_ftrace\n    pattern: \"^ksys_(read|write)$\"\n  kprobes:\n  - call: list:ksys\n    syscall: false\n"));
    let symbols: Vec<&str> = p
        .hooks
        .iter()
        .map(|h| match &h.attach {
            Attach::Kprobe { symbol, .. } => symbol.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(symbols, ["ksys_read", "ksys_write"]);
    assert_eq!(p.skipped.len(), 1, "{:?}", p.skipped);
    assert!(
        p.skipped[0]
            .contains("list `ksys`: `generated_ftrace` matched `^ksys_(read|write)$` against the")
            && p.skipped[0].contains(
                "functions of 6.12.117+deb12-amd64's BTF, not its available_filter_functions"
            ),
        "{}",
        p.skipped[0]
    );
    let many = plan(&policy("  lists:\n  - name: ksys\n    type: generated_ftrace\n    pattern: \"^ksys_*\"\n  kprobes:\n  - call: list:ksys\n"));
    assert!(many.hooks.len() > 2, "{}", many.hooks.len());
    let e = refusal(
        &policy("  lists:\n  - name: f\n    type: generated_ftrace\n    pattern: \"^no_such_function_[0-9]+$\"\n  kprobes:\n  - call: list:f\n    syscall: false\n"),
        ALL,
        None,
    );
    assert!(
        e.contains("list `f`: no function of 6.12.117+deb12-amd64's BTF matches `^no_such_function_[0-9]+$`"),
        "{e}"
    );
}

/// A raw tracepoint reads TP_PROTO arguments by index (arg 2 of sched_process_exec is the
/// `struct linux_binprm *`), and `resolve` walks from the BTF prototype of
/// `__bpf_trace_sched_process_exec`, whose first parameter is the tracepoint's data: arg 0
/// (`struct task_struct *p`) resolves `pid` at task_struct's own offset.
#[test]
fn raw_tracepoint_args_by_proto_index() {
    let p = plan(&policy(
        "  tracepoints:\n  - subsystem: sched\n    event: sched_process_exec\n    raw: true\n    args:\n    - index: 0\n      type: int\n      resolve: pid\n    - index: 2\n      type: linux_binprm\n",
    ));
    let h = only_hook(&p);
    assert_eq!(
        h.attach,
        Attach::RawTracepoint {
            subsystem: "sched".into(),
            event: "sched_process_exec".into()
        }
    );
    assert_eq!(h.event, EventKind::Tracepoint);
    assert_eq!(h.slot, HookKind::RawTracepoint.slot(0));
    assert_eq!(h.config.kind, HookKind::RawTracepoint as u8);
    let mut pid = arg(arg_type::INT, 0, 4);
    pid.nresolve = 1;
    pid.resolve[0] = btf_offset("task_struct", "pid");
    assert_eq!(h.config.args[0], pid);
    assert_eq!(h.config.args[1], arg(arg_type::BINPRM, 2, 8));
    assert_eq!(h.config.nargs, 2);
    assert_unused_args(&h.config, 2);
}

#[test]
fn refuses_strings_longer_than_str_len() {
    let at_limit = "a".repeat(STR_LEN);
    let p = plan(&mkdirat(&format!(
        "    - matchArgs:\n      - index: 1\n        operator: Equal\n        values:\n        - \"{at_limit}\"\n"
    )));
    assert_eq!(p.hooks[0].strings[0].value.len(), STR_LEN);
    let long = "a".repeat(STR_LEN + 1);
    let e = refusal(
        &mkdirat(&format!(
            "    - matchArgs:\n      - index: 1\n        operator: Equal\n        values:\n        - \"{long}\"\n"
        )),
        ALL,
        None,
    );
    assert!(
        e.contains(&format!("value `{long}` is longer than 248 bytes")),
        "{e}"
    );
}

// ---- 4. filter compilation ---------------------------------------------------

fn string_filter(operator: &str, values: &[&str]) -> (Filter, Vec<StringEntry>) {
    let vals: String = values
        .iter()
        .map(|v| format!("        - \"{v}\"\n"))
        .collect();
    let p = plan(&mkdirat(&format!(
        "    - matchArgs:\n      - index: 1\n        operator: {operator}\n        values:\n{vals}"
    )));
    let h = only_hook(&p);
    (h.config.selectors[0].args[0], h.strings.clone())
}

#[test]
fn string_operators_and_not_flags() {
    for (operator, code, flags, postfix) in [
        ("Equal", op::EQUAL, 0, false),
        ("NotEqual", op::EQUAL, FILTER_NOT, false),
        ("Prefix", op::PREFIX, 0, false),
        ("NotPrefix", op::PREFIX, FILTER_NOT, false),
        ("Postfix", op::POSTFIX, 0, true),
        ("NotPostfix", op::POSTFIX, FILTER_NOT, true),
    ] {
        let (f, strings) = string_filter(operator, &["/tmp/ab", "/etc/passwd"]);
        assert_eq!(
            f,
            gated(1, code, flags, 1, &["/tmp/ab", "/etc/passwd"]),
            "{operator}"
        );
        let stored = |s: &str| -> Vec<u8> {
            let mut b = s.as_bytes().to_vec();
            if postfix {
                b.reverse();
            }
            b
        };
        assert_eq!(
            strings,
            [
                StringEntry {
                    filter: 1,
                    value: stored("/tmp/ab"),
                    postfix
                },
                StringEntry {
                    filter: 1,
                    value: stored("/etc/passwd"),
                    postfix
                },
            ],
            "{operator}"
        );
    }
    let (_, strings) = string_filter("Postfix", &["abc"]);
    assert_eq!(strings[0].value, b"cba");
}

fn binaries(entry_yaml: &str) -> (Selector, Vec<StringEntry>) {
    let p = plan(&mkdirat(&format!("    - matchBinaries:\n{entry_yaml}")));
    let h = only_hook(&p);
    (h.config.selectors[0], h.strings.clone())
}

#[test]
fn match_binaries() {
    for (operator, code, flags, postfix) in [
        ("In", op::IN, 0, false),
        ("NotIn", op::IN, FILTER_NOT, false),
        ("Prefix", op::PREFIX, 0, false),
        ("NotPrefix", op::PREFIX, FILTER_NOT, false),
        ("Postfix", op::POSTFIX, 0, true),
        ("NotPostfix", op::POSTFIX, FILTER_NOT, true),
    ] {
        let (s, strings) = binaries(&format!(
            "      - operator: {operator}\n        values:\n        - /usr/bin/wget\n        - /bin/sh\n"
        ));
        assert_eq!(
            (s.has_binaries, s.nargs, s.has_pids),
            (1, 0, 0),
            "{operator}"
        );
        assert_eq!(
            s.binaries,
            gated(1, code, flags, 0, &["/usr/bin/wget", "/bin/sh"]),
            "{operator}"
        );
        let mut a = b"/usr/bin/wget".to_vec();
        let mut b = b"/bin/sh".to_vec();
        if postfix {
            a.reverse();
            b.reverse();
        }
        assert_eq!(
            strings,
            [
                StringEntry {
                    filter: 1,
                    value: a,
                    postfix
                },
                StringEntry {
                    filter: 1,
                    value: b,
                    postfix
                },
            ],
            "{operator}"
        );
    }
    let (s, _) = binaries(
        "      - operator: In\n        followChildren: true\n        values:\n        - /usr/bin/bash\n",
    );
    assert_eq!(s.binaries.flags, FILTER_FOLLOW | FILTER_LEN_GATE);
    let (s, _) = binaries(
        "      - operator: NotIn\n        followChildren: true\n        values:\n        - /usr/bin/bash\n",
    );
    assert_eq!(
        s.binaries.flags,
        FILTER_NOT | FILTER_FOLLOW | FILTER_LEN_GATE
    );
}

/// A matchArgs filter and matchBinaries in one selector: ids in order (args first).
#[test]
fn filter_ids_are_unique_across_selectors() {
    let p = plan(&mkdirat(
        "    - matchArgs:\n      - index: 1\n        operator: Equal\n        values:\n        - a\n      - index: 0\n        operator: Equal\n        values:\n        - \"1\"\n      matchBinaries:\n      - operator: In\n        values:\n        - /bin/b\n    - matchArgs:\n      - index: 1\n        operator: Prefix\n        values:\n        - c\n",
    ));
    let c = &only_hook(&p).config;
    assert_unused_selectors(c, 2);
    assert_eq!(c.selectors[0].nargs, 2);
    assert_eq!(c.selectors[0].args[0], gated(1, op::EQUAL, 0, 1, &["a"]));
    assert_eq!(c.selectors[0].args[1], filter(2, op::EQUAL, 0, 0, &[1]));
    assert_eq!(c.selectors[0].binaries.id, 3);
    assert_eq!(c.selectors[1].args[0], gated(4, op::PREFIX, 0, 1, &["c"]));
    assert_eq!(
        only_hook(&p).strings,
        [
            entry(1, "a", false),
            entry(3, "/bin/b", false),
            entry(4, "c", false)
        ]
    );
}

fn pids(entry_yaml: &str) -> Selector {
    let p = plan(&mkdirat(&format!("    - matchPIDs:\n{entry_yaml}")));
    only_hook(&p).config.selectors[0]
}

#[test]
fn match_pids() {
    let s = pids("      - operator: In\n        values:\n        - 1\n        - 0x10\n");
    assert_eq!(s.has_pids, 1);
    assert_eq!(s.pids, filter(0, op::IN, 0, 0, &[1, 16]));
    let s =
        pids("      - operator: NotIn\n        followForks: true\n        values:\n        - 42\n");
    assert_eq!(
        s.pids,
        filter(0, op::IN, FILTER_NOT | FILTER_FOLLOW, 0, &[42])
    );
    assert!(h_no_strings(&mkdirat(
        "    - matchPIDs:\n      - operator: In\n        values:\n        - 1\n"
    )));
}

/// Several matchPIDs entries of a selector run ANDed where one filter says it exactly (Tetragon
/// misreads the second entry; the validator warns): NotIn entries with the same flags become
/// NotIn the union, In entries without followForks In the intersection; others are refused.
#[test]
fn match_pids_entries_anded() {
    let not_in = |v: u32| {
        format!("      - operator: NotIn\n        followForks: true\n        isNamespacePID: true\n        values:\n        - {v}\n")
    };
    // Tetragon's sys_clock_settime and sys_pivot_root examples
    let s = pids(&format!("{}{}", not_in(1), not_in(0)));
    assert_eq!(s.has_pids, 1);
    assert_eq!(
        s.pids,
        filter(
            0,
            op::IN,
            FILTER_NOT | FILTER_FOLLOW | FILTER_NSPID,
            0,
            &[1, 0]
        )
    );
    let s = pids(
        "      - operator: In\n        values:\n        - 1\n        - 2\n        - 3\n      - operator: In\n        values:\n        - 3\n        - 2\n",
    );
    assert_eq!(s.pids, filter(0, op::IN, 0, 0, &[2, 3]));
    // not one filter: refused, never run as something else
    for refused in [
        format!("{}      - operator: In\n        values:\n        - 5\n", not_in(1)),
        "      - operator: In\n        followForks: true\n        values:\n        - 1\n      - operator: In\n        followForks: true\n        values:\n        - 1\n".to_string(),
        "      - operator: In\n        values:\n        - 1\n      - operator: In\n        values:\n        - 2\n".to_string(),
    ] {
        let text = mkdirat(&format!("    - matchPIDs:\n{refused}"));
        let why = refusal(&text, ALL, None);
        assert!(why.contains("matchPIDs"), "{why}");
    }
}

/// matchParentBinaries compiles as matchBinaries does, into the selector's own filter.
#[test]
fn match_parent_binaries() {
    let p = plan(&mkdirat(
        "    - matchParentBinaries:\n      - operator: NotPrefix\n        values:\n        - /usr/bin/\n",
    ));
    let h = only_hook(&p);
    let s = h.config.selectors[0];
    assert_eq!(s.has_parent_binaries, 1);
    assert_eq!(s.has_binaries, 0);
    assert_eq!(
        s.parent_binaries,
        gated(1, op::PREFIX, FILTER_NOT, 0, &["/usr/bin/"])
    );
    assert!(
        h.strings.contains(&entry(1, "/usr/bin/", false)),
        "{:?}",
        h.strings
    );
}

fn h_no_strings(text: &str) -> bool {
    plan(text).hooks[0].strings.is_empty()
}

/// `isNamespacePID: true` sets FILTER_NSPID (match_pids then compares the pid in the task's
/// pid namespace). It once read matchNamespaces' `namespace` key instead and was never set.
#[test]
fn match_pids_is_namespace_pid() {
    let s = pids(
        "      - operator: In\n        followForks: false\n        isNamespacePID: true\n        values:\n        - 1\n",
    );
    assert_eq!(s.pids.flags, FILTER_NSPID);
}

fn sock_filter(operator: &str, values: &[&str]) -> Filter {
    let vals: String = values
        .iter()
        .map(|v| format!("        - \"{v}\"\n"))
        .collect();
    // No values (DPortPriv): no `values:` key, whose null Tetragon's loader refuses (S016).
    let values = if vals.is_empty() {
        String::new()
    } else {
        format!("        values:\n{vals}")
    };
    let p = plan(&tcp_connect(&format!(
        "    - matchArgs:\n      - index: 0\n        operator: {operator}\n{values}"
    )));
    let h = only_hook(&p);
    assert!(h.strings.is_empty());
    h.config.selectors[0].args[0]
}

fn cidr(family: u32, prefix: u32, addr: &[u8]) -> Cidr {
    let mut c = Cidr {
        family,
        prefix,
        ..Default::default()
    };
    c.addr[..addr.len()].copy_from_slice(addr);
    c
}

#[test]
fn addresses_are_cidrs() {
    let f = sock_filter("DAddr", &["10.0.0.0/8", "::1", "127.0.0.1"]);
    let mut want = filter(1, op::DADDR, 0, 0, &[]);
    let mut v6 = [0u8; 16];
    v6[15] = 1;
    want.set_cidrs(&[
        cidr(2, 8, &[10, 0, 0, 0]),
        cidr(10, 128, &v6),
        cidr(2, 32, &[127, 0, 0, 1]),
    ]);
    assert_eq!(f, want);
    assert_eq!(f.nvalues, 3);
    // the union as the C side reads it: cidrs[i] at 8 + 24 * i within the filter
    let raw: Vec<u8> = f.values.iter().flat_map(|v| v.to_ne_bytes()).collect();
    assert_eq!(&raw[0..12], &[2, 0, 0, 0, 8, 0, 0, 0, 10, 0, 0, 0]);
    assert_eq!(&raw[24..32], &[10, 0, 0, 0, 128, 0, 0, 0]);
    assert_eq!(raw[32 + 15], 1);
    assert_eq!(&raw[48..60], &[2, 0, 0, 0, 32, 0, 0, 0, 127, 0, 0, 1]);

    let f = sock_filter("NotSAddr", &["fd00::/8"]);
    assert_eq!((f.op, f.flags, f.nvalues), (op::SADDR, FILTER_NOT, 1));
}

#[test]
fn ports_protocols_families_and_states() {
    assert_eq!(
        sock_filter("DPort", &["443", "8080"]),
        filter(1, op::DPORT, 0, 0, &[443, 8080])
    );
    assert_eq!(
        sock_filter("NotDPort", &["22"]),
        filter(1, op::DPORT, FILTER_NOT, 0, &[22])
    );
    assert_eq!(
        sock_filter("SPort", &["80"]),
        filter(1, op::SPORT, 0, 0, &[80])
    );
    assert_eq!(
        sock_filter("DPortPriv", &[]),
        filter(1, op::DPORT_PRIV, 0, 0, &[])
    );
    assert_eq!(
        sock_filter("SPortPriv", &[]),
        filter(1, op::SPORT_PRIV, 0, 0, &[])
    );
    assert_eq!(
        sock_filter("Protocol", &["IPPROTO_TCP", "17"]),
        filter(1, op::PROTOCOL, 0, 0, &[6, 17])
    );
    assert_eq!(
        sock_filter("Family", &["AF_INET", "AF_INET6", "1"]),
        filter(1, op::FAMILY, 0, 0, &[2, 10, 1])
    );
    assert_eq!(
        sock_filter("State", &["TCP_ESTABLISHED"]),
        filter(1, op::STATE, 0, 0, &[1])
    );
}

fn int_filter(operator: &str, values: &[&str]) -> Filter {
    let vals: String = values
        .iter()
        .map(|v| format!("        - \"{v}\"\n"))
        .collect();
    let p = plan(&mkdirat(&format!(
        "    - matchArgs:\n      - index: 2\n        operator: {operator}\n        values:\n{vals}"
    )));
    let h = only_hook(&p);
    assert!(h.strings.is_empty());
    h.config.selectors[0].args[0]
}

#[test]
fn int_values_in_every_syntax() {
    // the validator allows at most 4 values for Equal on an integer
    let f = int_filter("Equal", &["0x1ff", "0755", "-1", "0"]);
    assert_eq!(f, filter(1, op::EQUAL, 0, 2, &[0x1ff, 0o755, u64::MAX, 0]));
    assert_eq!(f.values[2] as i64, -1);
    assert_eq!(
        int_filter("NotEqual", &["5"]),
        filter(1, op::EQUAL, FILTER_NOT, 2, &[5])
    );
    assert_eq!(
        int_filter("GT", &["-2"]),
        filter(1, op::GT, 0, 2, &[(-2i64) as u64])
    );
    assert_eq!(int_filter("LT", &["010"]), filter(1, op::LT, 0, 2, &[8]));
    assert_eq!(
        int_filter("Mask", &["0x40"]),
        filter(1, op::MASK, 0, 2, &[0x40])
    );
}

fn rate_limit(value: &str) -> u32 {
    let p = plan(&mkdirat(&format!(
        "    - matchActions:\n      - action: Post\n        rateLimit: \"{value}\"\n"
    )));
    let s = only_hook(&p).config.selectors[0];
    assert_eq!(s.post, 1);
    s.rate_limit_ms
}

#[test]
fn rate_limits() {
    assert_eq!(rate_limit("1m"), 60_000);
    assert_eq!(rate_limit("30s"), 30_000);
    assert_eq!(rate_limit("2h"), 7_200_000);
    assert_eq!(rate_limit("5"), 5_000);
}

#[test]
fn actions() {
    let p = plan(&mkdirat(
        "    - matchActions:\n      - action: NoPost\n    - matchActions:\n      - action: Signal\n        argSig: 10\n    - matchActions:\n      - action: Sigkill\n",
    ));
    let c = &only_hook(&p).config;
    assert_unused_selectors(c, 3);
    let flags = |s: &Selector| (s.post, s.kill, s.signal, s.override_);
    assert_eq!(flags(&c.selectors[0]), (0, 0, 0, 0));
    assert_eq!(flags(&c.selectors[1]), (1, 0, 10, 0));
    assert_eq!(flags(&c.selectors[2]), (1, 1, 0, 0));
}

/// `resolve:` through an embedded struct (one load at the summed offset), through pointers
/// (one load per pointer), and ending on a struct (its address: ARG_LAST_ADDR). The offsets are
/// read from the 6.12 BTF here.
#[test]
fn resolve_offsets() {
    let text = policy(
        r#"  kprobes:
  - call: vfs_open
    syscall: false
    args:
    - index: 1
      type: dentry
      resolve: f_path.dentry
    - index: 1
      type: uint32
      resolve: f_inode.i_sb.s_dev
    - index: 1
      type: path
      resolve: f_path
"#,
    );
    let p = plan(&text);
    let c = &only_hook(&p).config;
    let f_path = btf_offset("file", "f_path");
    let dentry = btf_offset("path", "dentry");
    let f_inode = btf_offset("file", "f_inode");
    let i_sb = btf_offset("inode", "i_sb");
    let s_dev = btf_offset("super_block", "s_dev");
    assert_eq!(
        c.args[0],
        ArgConfig {
            nresolve: 1,
            resolve: [f_path + dentry, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ..arg(arg_type::DENTRY, 1, 8)
        }
    );
    assert_eq!(
        c.args[1],
        ArgConfig {
            nresolve: 3,
            resolve: [f_inode, i_sb, s_dev, 0, 0, 0, 0, 0, 0, 0],
            ..arg(arg_type::UINT, 1, 4)
        }
    );
    assert_eq!(
        c.args[2],
        ArgConfig {
            nresolve: 1,
            flags: ARG_LAST_ADDR,
            resolve: [f_path, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ..arg(arg_type::PATH, 1, 8)
        }
    );
}

// ---- 5. pure helpers ----------------------------------------------------------

#[test]
fn parse_int_syntaxes() {
    assert_eq!(parse_int("0"), Some(0));
    assert_eq!(parse_int("42"), Some(42));
    assert_eq!(parse_int(" 42 "), Some(42));
    assert_eq!(parse_int("-42"), Some(-42));
    assert_eq!(parse_int("0x1F"), Some(31));
    assert_eq!(parse_int("0X1f"), Some(31));
    assert_eq!(parse_int("-0x10"), Some(-16));
    assert_eq!(parse_int("0755"), Some(0o755));
    assert_eq!(parse_int("-010"), Some(-8));
    assert_eq!(parse_int("0xffffffffffffffff"), Some(-1));
    assert_eq!(parse_int("9223372036854775807"), Some(i64::MAX));
    assert_eq!(parse_int("08"), None);
    assert_eq!(parse_int("0x"), None);
    assert_eq!(parse_int(""), None);
    assert_eq!(parse_int("-"), None);
    assert_eq!(parse_int("12a"), None);
    assert_eq!(parse_int("AF_INET"), None);
}

#[test]
fn parse_cidr_forms() {
    assert_eq!(parse_cidr("10.0.0.0/8"), Some(cidr(2, 8, &[10, 0, 0, 0])));
    assert_eq!(parse_cidr("127.0.0.1"), Some(cidr(2, 32, &[127, 0, 0, 1])));
    let mut one = [0u8; 16];
    one[15] = 1;
    assert_eq!(parse_cidr("::1"), Some(cidr(10, 128, &one)));
    assert_eq!(parse_cidr("fd00::/8"), Some(cidr(10, 8, &[0xfd])));
    assert_eq!(parse_cidr("0.0.0.0/0"), Some(cidr(2, 0, &[])));
    assert_eq!(parse_cidr("10.0.0.0/33"), None);
    assert_eq!(parse_cidr("::/129"), None);
    assert_eq!(parse_cidr("10.0.0.0/x"), None);
    assert_eq!(parse_cidr("example.com"), None);
    assert_eq!(parse_cidr(""), None);
}

#[test]
fn parse_duration_forms() {
    assert_eq!(parse_duration_ms("1m"), Some(60_000));
    assert_eq!(parse_duration_ms("30s"), Some(30_000));
    assert_eq!(parse_duration_ms("2h"), Some(7_200_000));
    assert_eq!(parse_duration_ms("5"), Some(5_000));
    assert_eq!(parse_duration_ms(" 10s "), Some(10_000));
    assert_eq!(parse_duration_ms("0"), None, "zero is no rate limit");
    assert_eq!(parse_duration_ms("0s"), None);
    assert_eq!(parse_duration_ms("1d"), None);
    assert_eq!(parse_duration_ms("ms"), None);
    assert_eq!(parse_duration_ms(""), None);
    assert_eq!(parse_duration_ms("-1s"), None);
    assert_eq!(
        parse_duration_ms("5000h"),
        None,
        "overflows u32 milliseconds"
    );
}

// ---- found while reviewing plan.rs against the validator's vocabulary ----------

/// Tetragon's long spellings `GreaterThan` and `LessThan` (accepted by the validator) compile
/// like `GT` and `LT`; they once fell through to OP_EQUAL.
#[test]
fn greater_than_and_less_than_long_spellings() {
    assert_eq!(
        int_filter("GreaterThan", &["100"]),
        filter(1, op::GT, 0, 2, &[100])
    );
    assert_eq!(
        int_filter("LessThan", &["100"]),
        filter(1, op::LT, 0, 2, &[100])
    );
}

/// Port ranges (`8000:8080`) compile to (low, high) pairs under OP_DPORT_RANGE, a single port
/// beside them to the range of itself, a reversed range swapped (Tetragon's writeRangeInMap).
#[test]
fn port_ranges_compile_to_pairs() {
    let p = plan(&tcp_connect("    - matchArgs:\n      - index: 0\n        operator: DPort\n        values:\n        - \"8000:8080\"\n        - \"443\"\n        - \"99:90\"\n      - index: 0\n        operator: NotSPort\n        values:\n        - \"1:1023\"\n"));
    let sel = &only_hook(&p).config.selectors[0];
    assert_eq!(sel.nargs, 2);
    assert_eq!(
        sel.args[0],
        filter(1, op::DPORT_RANGE, 0, 0, &[8000, 8080, 443, 443, 90, 99])
    );
    assert_eq!(
        sel.args[1],
        filter(2, op::SPORT_RANGE, FILTER_NOT, 0, &[1, 1023])
    );
    // without a range, ports stay plain values
    let p = plan(&tcp_connect("    - matchArgs:\n      - index: 0\n        operator: DPort\n        values:\n        - \"443\"\n"));
    assert_eq!(
        only_hook(&p).config.selectors[0].args[0],
        filter(1, op::DPORT, 0, 0, &[443])
    );
    // four values with ranges fill the eight inline values; five are refused
    let five = tcp_connect("    - matchArgs:\n      - index: 0\n        operator: DPort\n        values:\n        - \"1:2\"\n        - \"3\"\n        - \"4\"\n        - \"5\"\n        - \"6\"\n");
    let e = refusal(&five, ALL, None);
    assert!(
        e.contains("more than 4 port values in a filter with ranges"),
        "{e}"
    );
}

// ---- arg types and operators (issue 15) ---------------------------------------

/// skb, sockaddr, sockaddr_un, cred, bpf_attr, bpf_prog, net_device and capability sets read as their own ARG_* kinds, pointer-wide; a
/// syscall's sockaddr points into user memory (ARG_USER), a kprobe's into the kernel.
#[test]
fn skb_sockaddr_sockaddr_un_and_cred_args() {
    let kprobe = |call: &str, index: u8, ty: &str| {
        policy(&format!(
            "  kprobes:\n  - call: {call}\n    syscall: false\n    args:\n    - index: {index}\n      type: {ty}\n"
        ))
    };
    let cases = [
        (kprobe("ip_rcv", 0, "skb"), arg_type::SKB, 0),
        (
            kprobe("security_socket_connect", 1, "sockaddr"),
            arg_type::SOCKADDR,
            1,
        ),
        (
            kprobe("security_socket_connect", 1, "sockaddr_un"),
            arg_type::SOCKADDR_UN,
            1,
        ),
        (kprobe("commit_creds", 0, "cred"), arg_type::CRED, 0),
        (kprobe("security_bpf", 1, "bpf_attr"), arg_type::BPF_ATTR, 1),
        (
            kprobe("security_bpf_prog", 0, "bpf_prog"),
            arg_type::BPF_PROG,
            0,
        ),
        (kprobe("dev_set_mtu", 0, "net_device"), arg_type::NET_DEV, 0),
        (kprobe("cap_capset", 2, "cap_effective"), arg_type::CAPS, 2),
    ];
    for (text, ty, index) in cases {
        let p = plan(&text);
        let cfg = &only_hook(&p).config;
        assert_eq!(cfg.args[0], arg(ty, index, 8), "{text}");
        assert_unused_args(cfg, 1);
    }
    // char_iovec: user memory in a syscall, its count from sizeArgIndex (Tetragon's
    // sys-writev test policy, pkg/sensors/tracing/kprobe_test.go)
    let writev = policy("  kprobes:\n  - call: sys_writev\n    syscall: true\n    args:\n    - index: 1\n      type: char_iovec\n      sizeArgIndex: 3\n    - index: 2\n      type: nop\n");
    let p = compile(&writev, ALL, None).unwrap();
    let a = only_hook(&p).config.args[0];
    assert_eq!(
        (a.ty, a.flags & ARG_USER, a.size_index),
        (arg_type::IOVEC, ARG_USER, 3)
    );
    // served by its tracepoint, the count is the declared arg's slot (position 1, so 2), and
    // an undeclared size arg is refused
    let p = compile(&writev, NONE, None).unwrap();
    assert_eq!(only_hook(&p).config.args[0].size_index, 2);
    let undeclared = writev.replace("    - index: 2\n      type: nop\n", "");
    let e = refusal(&undeclared, NONE, None);
    assert!(
        e.contains("sizeArgIndex 3 names arg 2, which this hook does not declare"),
        "{e}"
    );
    let connect = policy("  kprobes:\n  - call: sys_connect\n    syscall: true\n    args:\n    - index: 1\n      type: sockaddr\n");
    let p = compile(&connect, NONE, None).unwrap();
    let a = only_hook(&p).config.args[0];
    assert_eq!((a.ty, a.flags & ARG_USER), (arg_type::SOCKADDR, ARG_USER));
}

/// Socket operators on skb and sockaddr compile as on sock (one tuple, the same ops); Family
/// on sockaddr_un takes family names; Equal on sockaddr_un is a path string.
#[test]
fn socket_operators_on_skb_sockaddr_and_sockaddr_un() {
    let skb = policy("  kprobes:\n  - call: ip_rcv\n    syscall: false\n    args:\n    - index: 0\n      type: skb\n    selectors:\n    - matchArgs:\n      - index: 0\n        operator: DAddr\n        values:\n        - 10.0.0.0/8\n      - index: 0\n        operator: Protocol\n        values:\n        - IPPROTO_UDP\n      - index: 0\n        operator: DPort\n        values:\n        - \"53\"\n");
    let p = plan(&skb);
    let sel = &only_hook(&p).config.selectors[0];
    assert_eq!(sel.nargs, 3);
    assert_eq!(sel.args[0].op, op::DADDR);
    assert_eq!(sel.args[1], filter(2, op::PROTOCOL, 0, 0, &[17]));
    assert_eq!(sel.args[2], filter(3, op::DPORT, 0, 0, &[53]));

    let sa = policy("  kprobes:\n  - call: security_socket_connect\n    syscall: false\n    args:\n    - index: 1\n      type: sockaddr\n    selectors:\n    - matchArgs:\n      - index: 1\n        operator: Family\n        values:\n        - AF_INET\n      - index: 1\n        operator: SPort\n        values:\n        - \"8000:8080\"\n");
    let p = plan(&sa);
    let sel = &only_hook(&p).config.selectors[0];
    assert_eq!(sel.args[0], filter(1, op::FAMILY, 0, 0, &[2]));
    assert_eq!(sel.args[1], filter(2, op::SPORT_RANGE, 0, 0, &[8000, 8080]));

    // Tetragon's security-socket-connect test policy (pkg/sensors/tracing/kprobe_net_test.go):
    // Protocol on the socket, SAddr, SPort and Family on the sockaddr
    let both = policy("  kprobes:\n  - call: security_socket_connect\n    syscall: false\n    args:\n    - index: 0\n      type: socket\n    - index: 1\n      type: sockaddr\n    selectors:\n    - matchArgs:\n      - index: 0\n        operator: Protocol\n        values:\n        - IPPROTO_TCP\n      - index: 1\n        operator: SAddr\n        values:\n        - 127.0.0.1\n      - index: 1\n        operator: SPort\n        values:\n        - \"9939\"\n");
    let p = plan(&both);
    let sel = &only_hook(&p).config.selectors[0];
    assert_eq!(sel.args[0], filter(1, op::PROTOCOL, 0, 0, &[6]));
    assert_eq!((sel.args[1].op, sel.args[1].arg), (op::SADDR, 1));
    assert_eq!(sel.args[2], filter(3, op::SPORT, 0, 1, &[9939]));

    let un = policy("  kprobes:\n  - call: security_socket_connect\n    syscall: false\n    args:\n    - index: 1\n      type: sockaddr_un\n    selectors:\n    - matchArgs:\n      - index: 1\n        operator: Family\n        values:\n        - AF_UNIX\n      - index: 1\n        operator: Prefix\n        values:\n        - /run/\n");
    let p = plan(&un);
    let h = only_hook(&p);
    let sel = &h.config.selectors[0];
    assert_eq!(sel.args[0], filter(1, op::FAMILY, 0, 0, &[1]));
    assert_eq!(sel.args[1], gated(2, op::PREFIX, 0, 0, &["/run/"]));
    assert_eq!(h.strings, vec![entry(2, "/run/", false)]);
}

/// FileType and NotFileType compile to the S_IF* type bits of each name, aliases alike, as
/// Tetragon's fileTypeTable (pkg/selectors/kernel.go) maps them.
#[test]
fn file_type_compiles_to_mode_bits() {
    let text = policy("  kprobes:\n  - call: security_file_open\n    syscall: false\n    args:\n    - index: 0\n      type: file\n    selectors:\n    - matchArgs:\n      - index: 0\n        operator: FileType\n        values:\n        - reg\n        - dir\n        - pipe\n      - index: 0\n        operator: NotFileType\n        values:\n        - socket\n        - lnk\n");
    let p = plan(&text);
    let sel = &only_hook(&p).config.selectors[0];
    assert_eq!(
        sel.args[0],
        filter(1, op::FILE_TYPE, 0, 0, &[0o100000, 0o040000, 0o010000])
    );
    assert_eq!(
        sel.args[1],
        filter(2, op::FILE_TYPE, FILTER_NOT, 0, &[0o140000, 0o120000])
    );
    for name in policyctl_validator::facts::FILE_TYPES {
        let mode = policyctl_validator::facts::file_type_mode(name)
            .unwrap_or_else(|| panic!("{name} has no mode"));
        assert_eq!(mode & !0o170000, 0, "{name}: {mode:o} is not a type");
    }
}

/// The syscall can be named with its arch prefix too (the validator accepts
/// `__x64_sys_openat`): the same stub, event and number.
#[test]
fn syscall_named_with_its_arch_prefix() {
    let text = openat("").replace("call: sys_openat", "call: __x64_sys_openat");
    let p = compile(&text, NONE, None).unwrap();
    let h = only_hook(&p);
    assert_eq!(h.function_name, "__x64_sys_openat");
    assert_eq!(
        h.attach,
        Attach::Tracepoint {
            subsystem: "syscalls".into(),
            event: "sys_enter_openat".into()
        }
    );
    let p = compile(&text, NONE, Some(Method::RawTracepoint)).unwrap();
    assert_eq!(
        only_hook(&p).attach,
        Attach::RawSyscall {
            symbol: "__x64_sys_openat".into(),
            nr: 257
        }
    );
}

/// A rateLimit written as a YAML number: plan.rs reads it with `as_str()` and would drop it
/// silently, so the validator must refuse it before it reaches the plan.
#[test]
fn rate_limit_as_a_number_never_reaches_the_plan() {
    let text = mkdirat("    - matchActions:\n      - action: Post\n        rateLimit: 5\n");
    let report = check_source_with(
        SourceFile::new("test.yaml", text.as_str()),
        std::slice::from_ref(kernel()),
    );
    assert!(report.accepted().is_err(), "{:#?}", report.diagnostics);
}

/// `ignore.callNotFound` on a call the kernel lacks: the hook is skipped with a line saying so,
/// the policy's other hooks still compile.
#[test]
fn ignore_call_not_found_skips_the_hook() {
    let text = policy(
        r#"  kprobes:
  - call: no_such_function_in_any_kernel
    syscall: false
    ignore:
      callNotFound: true
  - call: do_mkdirat
    syscall: false
"#,
    );
    let p = plan(&text);
    assert_eq!(p.hooks.len(), 1);
    assert_eq!(
        p.skipped,
        ["test.yaml: policy `p`: kprobe `no_such_function_in_any_kernel` skipped: not in this kernel (ignore.callNotFound)"]
    );
}

/// The raw syscall tracepoint dispatches at most SYSCALL_HOOKS hooks per syscall number: a
/// fifth hook on openat is refused at planning, naming the policy and what to do.
#[test]
fn at_most_four_raw_syscall_hooks_per_syscall() {
    let texts: Vec<String> = (0..5).map(|_| openat("")).collect();
    let files: Vec<(&str, &str)> = texts.iter().map(|t| ("test.yaml", t.as_str())).collect();
    let errors =
        compile_files(&files, NONE, Some(Method::RawTracepoint)).expect_err("a fifth openat hook");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0]
            .to_string()
            .contains("more than 4 hooks on `__x64_sys_openat` through the raw syscall tracepoint in all policies; run fewer policies at once"),
        "{}",
        errors[0]
    );
    assert!(compile_files(&files[..4], NONE, None).is_ok());
}

/// Override through a kprobe on a kernel whose configuration lacks CONFIG_BPF_KPROBE_OVERRIDE
/// (Debian's 6.12: no function error injection) is refused at planning, with the way out.
#[test]
fn kprobe_override_needs_the_kernel_option() {
    let dir = testdata().join("btf");
    let kernel = Kernel::load(&KernelSpec {
        name: Some(KERNEL_612.to_string()),
        btf: dir.join(format!("{KERNEL_612}.btf.zst")),
        config: Some(dir.join(format!("{KERNEL_612}.config.gz"))),
        ..KernelSpec::default()
    })
    .expect("fixture kernel with its configuration");
    assert_eq!(
        kernel.config_enabled("CONFIG_BPF_KPROBE_OVERRIDE"),
        Some(false)
    );
    let text = openat(OVERRIDE);
    let source = SourceFile::new("test.yaml", text.as_str());
    // the validator needs no configuration to accept it; planning for this kernel does
    let report = check_source_with(source, std::slice::from_ref(self::kernel()));
    let accepted = report.accepted().expect("accepted");
    let errors = Plan::compile(&accepted, &kernel, ALL, None).expect_err("refused");
    assert!(
        errors[0].message.contains(
            "built without CONFIG_BPF_KPROBE_OVERRIDE; override an LSM hook's return value instead"
        ),
        "{}",
        errors[0]
    );
}

/// An arg's `label` reaches the plan, for the events' `label` field.
#[test]
fn arg_labels_reach_the_plan() {
    let text = policy(
        "  kprobes:\n  - call: sys_openat\n    syscall: true\n    args:\n    - index: 1\n      type: string\n      label: \"pathname\"\n    - index: 2\n      type: int\n",
    );
    let p = plan(&text);
    let labels: Vec<Option<&str>> = p.hooks[0].args.iter().map(|a| a.label.as_deref()).collect();
    assert_eq!(labels, [Some("pathname"), None]);
}

/// Every real policy we have (our corpus, and Tetragon's own examples when `../shared` is
/// there) either compiles for the runtime or is refused with one line per cause, naming the
/// file and the policy; nothing panics. The tally of causes is printed (`--nocapture`): it is what `policyctl run` does not
/// do yet, ranked by how often real policies need it.
#[test]
fn real_policies_compile_or_are_refused_with_a_reason() {
    let mut dirs = vec![testdata().join("policies/valid")];
    let shared = testdata().join("../../shared/tetragon-examples");
    if shared.is_dir() {
        dirs.push(shared);
    } else {
        // Said, and a failure under CI: the examples are half of what this test reads.
        skip::skip(
            "real_policies_compile_or_are_refused_with_a_reason (Tetragon's examples)",
            "../shared/tetragon-examples is not beside the repository",
        );
    }
    let (mut compiled, mut refused, mut invalid) = (0, 0, 0);
    let mut causes: std::collections::BTreeMap<String, usize> = Default::default();
    for dir in dirs {
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).expect("readable policy");
            let name = path.display().to_string();
            let report = check_source_with(
                SourceFile::new(name.as_str(), text.as_str()),
                std::slice::from_ref(kernel()),
            );
            let Ok(accepted) = report.accepted() else {
                invalid += 1; // checked against 6.12 only: a K code, not a runtime matter
                continue;
            };
            match Plan::compile(&accepted, kernel(), ALL, None) {
                Ok(_) => compiled += 1,
                Err(errors) => {
                    refused += 1;
                    for e in errors {
                        assert!(!e.message.is_empty() && e.to_string().contains(&name));
                        // the cause without the hook's name nor the arg's index
                        let cause = e
                            .message
                            .split_once(": ")
                            .map_or(e.message.as_str(), |(_, c)| c);
                        let cause = cause
                            .strip_prefix("arg ")
                            .and_then(|c| c.split_once(": "))
                            .map_or(cause, |(_, c)| c);
                        *causes.entry(cause.to_string()).or_default() += 1;
                    }
                }
            }
        }
    }
    println!("compiled {compiled}, refused {refused}, not accepted on 6.12 {invalid}");
    let mut ranked: Vec<_> = causes.into_iter().collect();
    ranked.sort_by_key(|r| std::cmp::Reverse(r.1));
    for (cause, n) in ranked {
        println!("{n:>4}  {cause}");
    }
    assert!(compiled > 0);
}

/// `nop` (an argument declared to be skipped), `linux_binprm` (the path of the program being
/// executed) and `socket` (its sock) compile; string filters apply to a linux_binprm's path.
#[test]
fn nop_linux_binprm_and_socket_args() {
    let text = policy(
        "  lsmhooks:\n  - hook: bprm_check_security\n    args:\n    - index: 0\n      type: linux_binprm\n    selectors:\n    - matchArgs:\n      - index: 0\n        operator: Postfix\n        values:\n        - \"/nc\"\n",
    );
    let p = plan(&text);
    let h = only_hook(&p);
    assert_eq!(h.config.args[0].ty, arg_type::BINPRM);
    assert_eq!(h.config.selectors[0].args[0].op, op::POSTFIX);
    assert_eq!(h.strings[0].value, b"cn/");

    let text = policy(
        "  kprobes:\n  - call: security_socket_connect\n    syscall: false\n    args:\n    - index: 0\n      type: socket\n    - index: 1\n      type: nop\n    - index: 2\n      type: int\n",
    );
    let p = plan(&text);
    let args = &only_hook(&p).config.args;
    assert_eq!(
        (args[0].ty, args[1].ty, args[2].ty),
        (arg_type::SOCKET, arg_type::NONE, arg_type::INT)
    );
}

/// A tracepoint hook planned for a kernel file (no tracefs): its args read the fields where the
/// syscall table and BTF lay them out (tracefs's offsets on 6.18: filename at 24 in
/// `sys_enter_openat`, `args` at 16 in `raw_syscalls/sys_enter`).
#[test]
fn tracepoint_fields_are_laid_out_without_tracefs() {
    let p = plan(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: p
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_openat"
    args:
    - index: 6
      type: "string"
    - index: 7
      type: "int"
  - subsystem: "raw_syscalls"
    event: "sys_enter"
    args:
    - index: 4
      type: "int64"
"#,
    );
    let offsets: Vec<Vec<(u16, u8, u8)>> = p
        .hooks
        .iter()
        .map(|h| {
            h.config.args[..usize::from(h.config.nargs)]
                .iter()
                .map(|a| (a.field_offset, a.width, a.ty))
                .collect()
        })
        .collect();
    assert_eq!(offsets[0][0].0, 24, "{offsets:?}");
    assert_eq!(offsets[0][1].0, 32, "{offsets:?}");
    assert_eq!((offsets[1][0].0, offsets[1][0].1), (8, 8), "{offsets:?}");
}

// ---- namespaces and capabilities -----------------------------------------------------------

fn selector_of(selector_yaml: &str) -> Selector {
    let p = plan(&mkdirat(selector_yaml));
    only_hook(&p).config.selectors[0]
}

/// matchNamespaces: one `ns_filter` per entry, kinds numbered as Tetragon's namespaceTypeTable
/// (pkg/selectors/kernel.go), inode numbers inline, NotIn as FILTER_NOT. Off the running host
/// (the fixture kernel) `host_ns` compiles to 0.
#[test]
fn match_namespaces() {
    let s = selector_of(
        "    - matchNamespaces:\n      - namespace: Pid\n        operator: In\n        values:\n        - \"4026531836\"\n        - \"4026532000\"\n      - namespace: Net\n        operator: NotIn\n        values:\n        - host_ns\n",
    );
    assert_eq!(s.nnamespaces, 2);
    assert_eq!(
        s.namespaces[0],
        NsFilter {
            kind: ns_kind::PID,
            flags: 0,
            nvalues: 2,
            _pad: 0,
            values: [4026531836, 4026532000, 0, 0],
        }
    );
    assert_eq!(
        s.namespaces[1],
        NsFilter {
            kind: ns_kind::NET,
            flags: FILTER_NOT,
            nvalues: 1,
            _pad: 0,
            values: [0; 4],
        }
    );
    assert_eq!(s.namespaces[2], NsFilter::default());
    assert_eq!((s.has_caps, s.has_ns_changes, s.has_cap_changes), (0, 0, 0));
    assert_eq!(s.post, 1, "the default action");
}

/// Every namespace kind has Tetragon's number (uts 0 ... user 9).
#[test]
fn namespace_kinds_are_numbered_as_tetragon() {
    let kinds = [
        ("Uts", ns_kind::UTS),
        ("Ipc", ns_kind::IPC),
        ("Mnt", ns_kind::MNT),
        ("Pid", ns_kind::PID),
        ("PidForChildren", ns_kind::PID_FOR_CHILDREN),
        ("Net", ns_kind::NET),
        ("Time", ns_kind::TIME),
        ("TimeForChildren", ns_kind::TIME_FOR_CHILDREN),
        ("Cgroup", ns_kind::CGROUP),
        ("User", ns_kind::USER),
    ];
    let want = [0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    for ((name, kind), n) in kinds.iter().zip(want) {
        assert_eq!(*kind, n, "{name}");
        let s = selector_of(&format!(
            "    - matchNamespaces:\n      - namespace: {name}\n        operator: In\n        values:\n        - \"1\"\n"
        ));
        assert_eq!(s.namespaces[0].kind, n, "{name}");
    }
}

/// matchCapabilities: the set (Tetragon's capabilitiesTypeTable: permitted 0, effective 1,
/// inheritable 2), the OR of `1 << capability`, and NotIn.
#[test]
fn match_capabilities() {
    let s = selector_of(
        "    - matchCapabilities:\n      - type: Effective\n        operator: In\n        values:\n        - CAP_SYS_ADMIN\n        - cap_net_raw\n",
    );
    assert_eq!(s.has_caps, 1);
    assert_eq!(
        s.caps,
        CapsFilter {
            set: caps_set::EFFECTIVE,
            flags: 0,
            _pad: [0; 2],
            host_userns: 0,
            mask: (1 << 21) | (1 << 13),
        }
    );
    let s = selector_of(
        "    - matchCapabilities:\n      - type: Permitted\n        operator: NotIn\n        values:\n        - DAC_OVERRIDE\n",
    );
    assert_eq!(
        (s.caps.set, s.caps.flags, s.caps.mask),
        (caps_set::PERMITTED, FILTER_NOT, 1 << 1)
    );
    let s = selector_of(
        "    - matchCapabilities:\n      - type: Inheritable\n        operator: In\n        values:\n        - CAP_CHOWN\n",
    );
    assert_eq!((s.caps.set, s.caps.mask), (caps_set::INHERITABLE, 1));
}

/// matchNamespaceChanges: the mask of the kinds listed; matchCapabilityChanges: a caps filter.
#[test]
fn match_changes() {
    let s = selector_of(
        "    - matchNamespaceChanges:\n      - operator: NotIn\n        values:\n        - Mnt\n        - user\n      matchCapabilityChanges:\n      - type: Effective\n        operator: In\n        values:\n        - CAP_SYS_ADMIN\n",
    );
    assert_eq!(s.has_ns_changes, 1);
    assert_eq!(s.ns_changes_flags, FILTER_NOT);
    assert_eq!(s.ns_changes, (1 << ns_kind::MNT) | (1 << ns_kind::USER));
    assert_eq!(s.has_cap_changes, 1);
    assert_eq!(
        (s.cap_changes.set, s.cap_changes.flags, s.cap_changes.mask),
        (caps_set::EFFECTIVE, 0, 1 << 21)
    );
    assert_eq!(s.has_caps, 0);
}

/// A second matchCapabilities entry: Tetragon's BPF side reads the first and misreads the
/// second, so the runtime refuses it rather than guess (the validator warns, P016).
#[test]
fn second_match_capabilities_entry_is_refused() {
    let e = refusal(
        &mkdirat("    - matchCapabilities:\n      - type: Effective\n        operator: In\n        values:\n        - CAP_SYS_ADMIN\n      - type: Permitted\n        operator: In\n        values:\n        - CAP_SYS_ADMIN\n"),
        ALL,
        None,
    );
    assert!(e.contains("more than one matchCapabilities entry"), "{e}");
}

/// matchArgs `args: [n]` names the n-th arg of the args list (Tetragon's
/// argIndexTypeFromArgs), whatever its `index`; only the first item is read.
#[test]
fn match_args_by_args_list() {
    let text = policy(
        r#"  kprobes:
  - call: do_mkdirat
    syscall: false
    args:
    - index: 2
      type: int
    - index: 1
      type: string
      resolve: name
    selectors:
    - matchArgs:
      - args: [1]
        operator: Equal
        values:
        - /tmp/x
      - args: [0, 1]
        operator: Equal
        values:
        - "5"
"#,
    );
    let p = plan(&text);
    let s = only_hook(&p).config.selectors[0];
    assert_eq!(s.nargs, 2);
    assert_eq!(s.args[0].arg, 1);
    assert_eq!(s.args[0].op, op::EQUAL);
    assert_eq!(s.args[1].arg, 0);
    assert_eq!(s.args[1].ints()[..1], [5]);
}

#[test]
fn namespace_link_inodes() {
    assert_eq!(ns_inode("net:[4026531840]"), Some(4026531840));
    assert_eq!(ns_inode("pid_for_children:[4026531836]"), Some(4026531836));
    assert_eq!(ns_inode("net:4026531840"), None);
    assert_eq!(ns_inode("net:[x]"), None);
}

/// InMap and InRange on an integer compile to (low, high) pairs under OP_INT_RANGE (a single
/// InMap value is the range of itself, a reversed range is swapped); Not forms set FILTER_NOT.
#[test]
fn in_map_and_in_range_compile_to_pairs() {
    assert_eq!(
        int_filter("InMap", &["321", "9910:9920", "7"]),
        filter(1, op::INT_RANGE, 0, 2, &[321, 321, 9910, 9920, 7, 7])
    );
    assert_eq!(
        int_filter("NotInMap", &["20:10"]),
        filter(1, op::INT_RANGE, FILTER_NOT, 2, &[10, 20])
    );
    assert_eq!(
        int_filter("InRange", &["-5:5", "100:200"]),
        filter(1, op::INT_RANGE, 0, 2, &[-5i64 as u64, 5, 100, 200])
    );
}

/// A raw_syscalls tracepoint with InMap `list:NAME` on its syscall64 arg (Tetragon's
/// list-syscalls-tracepoint example).
fn listed_in_map(operator: &str, list: &str, extra: &str) -> String {
    policy(&format!("  lists:\n{list}  tracepoints:\n  - subsystem: raw_syscalls\n    event: sys_enter\n    args:\n    - index: 4\n      type: syscall64\n    selectors:\n    - matchArgs:\n      - index: 0\n        operator: {operator}\n        values:\n        - \"list:dups\"\n{extra}"))
}

/// InMap with `list:NAME` values compiles to OP_INT_SET, the set's values being the list's
/// syscall numbers (x86_64: dup 32, dup2 33, dup3 292), plus any other value (a range each of
/// its values), as 8 little-endian bytes in the prefix trie under the filter's id; NotInMap
/// sets FILTER_NOT. A 32-bit syscall is refused (the runtime's syscall64 has no 32-bit flag).
#[test]
fn in_map_lists_compile_to_a_set_of_syscall_numbers() {
    let dups = "  - name: dups\n    type: syscalls\n    values:\n    - sys_dup\n    - x64/sys_dup2\n    - __x64_sys_dup3\n";
    let p = plan(&listed_in_map(
        "InMap",
        dups,
        "        - \"7:8\"\n        - \"0\"\n",
    ));
    let h = only_hook(&p);
    let f = &h.config.selectors[0].args[0];
    assert_eq!(*f, filter(1, op::INT_SET, 0, 0, &[]));
    let mut values: Vec<i64> = h
        .strings
        .iter()
        .map(|e| {
            assert_eq!((e.filter, e.postfix), (1, false));
            i64::from_le_bytes(e.value.as_slice().try_into().expect("8 bytes"))
        })
        .collect();
    values.sort();
    assert_eq!(values, [0, 7, 8, 32, 33, 292]);

    let p = plan(&listed_in_map("NotInMap", dups, ""));
    let f = &only_hook(&p).config.selectors[0].args[0];
    assert_eq!(*f, filter(1, op::INT_SET, FILTER_NOT, 0, &[]));

    // generated_syscalls: every syscall of the fixture's table
    let p = plan(&listed_in_map(
        "InMap",
        "  - name: dups\n    type: generated_syscalls\n",
        "",
    ));
    assert!(
        only_hook(&p).strings.len() > 300,
        "{}",
        only_hook(&p).strings.len()
    );

    let e = refusal(
        &listed_in_map(
            "InMap",
            "  - name: dups\n    type: syscalls\n    values:\n    - i386/sys_dup\n",
            "",
        ),
        ALL,
        None,
    );
    assert!(e.contains("is not an x86_64 syscall"), "{e}");
}

/// Capability sets compare as 64-bit integers (Tetragon's filter_64ty on kernel_cap_ty and
/// cap_*_ty): Mask, Equal.
#[test]
fn capability_sets_take_integer_operators() {
    let text = policy("  kprobes:\n  - call: cap_capset\n    syscall: false\n    args:\n    - index: 2\n      type: cap_effective\n    selectors:\n    - matchArgs:\n      - index: 2\n        operator: Mask\n        values:\n        - \"0x200000\"\n");
    let p = plan(&text);
    let h = only_hook(&p);
    assert_eq!(h.config.args[0], arg(arg_type::CAPS, 2, 8));
    assert_eq!(
        h.config.selectors[0].args[0],
        filter(1, op::MASK, 0, 0, &[0x200000])
    );
}

// ---- return probes -------------------------------------------------------------

/// A `sys_openat` syscall hook with `return: true` (an int return value), the path under
/// /tmp/ at the entry and, at the return, `matchReturnArgs` and `return_actions`.
fn failed_openat(return_actions: &str) -> String {
    policy(&format!(
        r#"  kprobes:
  - call: sys_openat
    syscall: true
    return: true
    args:
    - index: 1
      type: string
    returnArg:
      index: 0
      type: int
    selectors:
    - matchArgs:
      - index: 1
        operator: Prefix
        values:
        - /tmp/
      matchReturnArgs:
      - index: 0
        operator: LT
        values:
        - "0"
{return_actions}"#
    ))
}

/// The return half of a hook: `ret` (the return value read as a 4-byte signed int),
/// `returns`, and the selector's return half (a LT 0 filter on the return value, Post by
/// default), byte by byte; the entry half is what it is without `return: true`.
#[test]
fn return_probe_on_a_kprobe_bytes() {
    let p = compile(&failed_openat(""), ALL, None).unwrap_or_else(|e| panic!("{e:#?}"));
    let h = only_hook(&p);
    assert_eq!(
        h.attach,
        Attach::Kprobe {
            symbol: "__x64_sys_openat".into(),
            override_: false
        }
    );
    assert_eq!(h.attach.return_method().as_deref(), Some("kretprobe"));
    let ret = h.ret.as_ref().expect("the returnArg's plan");
    assert_eq!((ret.ty.as_str(), ret.label.as_deref()), ("int", None));
    let c = &h.config;
    assert_eq!(c.returns, 1);
    assert_eq!(c.ret, arg(arg_type::INT, 0, 4));
    // the entry's selector: the path filter (id 1), Post; the return's: LT 0 (id 2)
    assert_eq!(c.selectors[0].nargs, 1);
    assert_eq!(c.selectors[0].args[0].op, op::PREFIX);
    let r = &c.ret_selectors[0];
    assert_eq!((r.nargs, r.post, r.kill, r.signal), (1, 1, 0, 0));
    assert_eq!(r.args[0], filter(2, op::LT, 0, 0, &[0]));
    assert!(c.ret_selectors[1..]
        .iter()
        .all(|s| *s == ReturnSelector::default()));

    let bytes = config_bytes(c);
    let at = offset_of!(HookConfig, ret);
    // ret: type 1 (ARG_INT), index 0, width 4, no flags; then `returns` = 1
    assert_eq!(&bytes[at..at + 4], &[1, 0, 4, 0]);
    assert_eq!(bytes[offset_of!(HookConfig, returns)], 1);
    let rs = offset_of!(HookConfig, ret_selectors);
    // nargs 1, post 1, kill 0, signal 0; filter 0: id 2, op 5 (OP_LT), flags 0, arg 0,
    // nvalues 1, value 0
    assert_eq!(&bytes[rs..rs + 4], &[1, 1, 0, 0]);
    assert_eq!(&bytes[rs + 8..rs + 16], &[2, 0, 0, 0, 5, 0, 0, 1]);
    assert!(bytes[rs + 16..rs + 24].iter().all(|b| *b == 0));
    insta::assert_snapshot!(hex_dump(&bytes[at..]));
}

/// Where the return program goes with each attach method: a kretprobe, an fexit, or the
/// syscall's `sys_exit_` tracepoint, whose `ret` field offset (from the kernel's index of
/// tracepoints) is where the return value is read; the raw syscall tracepoint has no return.
#[test]
fn return_probe_attach_methods() {
    let text = failed_openat("");
    let tp = compile(&text, NONE, None).unwrap_or_else(|e| panic!("{e:#?}"));
    let h = only_hook(&tp);
    assert_eq!(
        h.attach,
        Attach::Tracepoint {
            subsystem: "syscalls".into(),
            event: "sys_enter_openat".into()
        }
    );
    assert_eq!(
        h.attach.return_method().as_deref(),
        Some("tracepoint syscalls/sys_exit_openat")
    );
    // sys_exit_openat: 8 bytes of common fields, `int __syscall_nr`, then `long ret` at 16
    assert_eq!(h.config.ret.field_offset, 16);
    assert_eq!(h.config.returns, 1);

    let fentry = compile(
        &text,
        Features {
            kprobes: false,
            ..ALL
        },
        None,
    )
    .unwrap_or_else(|e| panic!("{e:#?}"));
    let h = only_hook(&fentry);
    assert!(matches!(h.attach, Attach::Fentry { .. }), "{:?}", h.attach);
    assert_eq!(h.attach.return_method().as_deref(), Some("fexit"));

    let e = refusal(&text, ALL, Some(Method::RawTracepoint));
    assert!(
        e.contains("return probes through the raw tracepoint raw_syscalls/sys_enter are not supported by policyctl run yet"),
        "{e}"
    );
}

/// matchReturnActions: NoPost clears `post`, Sigkill sets `kill`, Signal its number; no
/// selector at all leaves the return selectors empty (every return posts).
#[test]
fn return_actions() {
    let p = plan(&failed_openat(
        "      matchReturnActions:\n      - action: NoPost\n      - action: Signal\n        argSig: 10\n",
    ));
    let r = &only_hook(&p).config.ret_selectors[0];
    assert_eq!((r.post, r.kill, r.signal), (0, 0, 10));
    let p = plan(&failed_openat(
        "      matchReturnActions:\n      - action: Sigkill\n",
    ));
    let r = &only_hook(&p).config.ret_selectors[0];
    assert_eq!((r.post, r.kill, r.signal), (1, 1, 0));

    let bare = plan(&policy(
        "  kprobes:\n  - call: sys_openat\n    syscall: true\n    return: true\n    returnArg:\n      index: 0\n      type: int\n",
    ));
    let c = &only_hook(&bare).config;
    assert_eq!((c.returns, c.nselectors), (1, 0));
}

/// What the return half does not do: a return value read as a string on a kprobe; returnCopy
/// on a type Tetragon does not copy at the return.
#[test]
fn return_probe_refusals() {
    let e = refusal(
        &policy("  kprobes:\n  - call: sys_openat\n    syscall: true\n    return: true\n    returnArg:\n      index: 0\n      type: string\n"),
        ALL,
        None,
    );
    assert!(
        e.contains("returnArg type `string` is not supported by policyctl run yet (it reads integers, file, sock and socket; and string on uprobes)"),
        "{e}"
    );
    let e = refusal(
        &policy("  kprobes:\n  - call: sys_openat\n    syscall: true\n    args:\n    - index: 1\n      type: string\n      returnCopy: true\n"),
        ALL,
        None,
    );
    assert!(
        e.contains("`returnCopy` on type `string` is not supported by policyctl run (Tetragon copies char_buf and char_iovec at the return)"),
        "{e}"
    );
}

/// A uprobe by `offsets` attaches once per offset (decimal or hex, as Tetragon's uint64 takes
/// them), in the uprobe slot range, and reads its string args from user memory.
#[test]
fn uprobe_by_offsets() {
    let p = plan(&policy(
        "  uprobes:\n  - path: /usr/bin/bash\n    offsets:\n    - 4096\n    - 0x2000\n    args:\n    - index: 0\n      type: string\n",
    ));
    let attaches: Vec<&Attach> = p.hooks.iter().map(|h| &h.attach).collect();
    assert_eq!(
        attaches,
        [
            &Attach::UprobeOffset {
                path: "/usr/bin/bash".into(),
                offset: 4096,
                ref_ctr_offset: 0,
            },
            &Attach::UprobeOffset {
                path: "/usr/bin/bash".into(),
                offset: 0x2000,
                ref_ctr_offset: 0,
            },
        ]
    );
    for (i, h) in p.hooks.iter().enumerate() {
        assert_eq!(h.slot, HookKind::Uprobe.slot(i));
        assert_eq!(h.event, EventKind::Uprobe);
        assert_eq!(h.config.kind, HookKind::Uprobe as u8);
        let mut want = arg(arg_type::STRING, 0, 8);
        want.flags = ARG_USER;
        assert_eq!(h.config.args[0], want);
    }
}

// ---- uretprobes and USDT ---------------------------------------------------------

/// `return: true` on a uprobe: the uretprobe reads the returned `char *` in user memory, and
/// matchReturnArgs compile against the return value; a socket cannot be a user function's.
#[test]
fn uprobe_return_probe() {
    let p = plan(&policy(
        "  uprobes:\n  - path: /usr/bin/bash\n    symbols:\n    - readline\n    return: true\n    returnArg:\n      index: 0\n      type: string\n    selectors:\n    - matchReturnArgs:\n      - index: 0\n        operator: Prefix\n        values:\n        - sudo\n",
    ));
    let h = only_hook(&p);
    assert_eq!(h.attach.return_method().as_deref(), Some("uretprobe"));
    let c = &h.config;
    assert_eq!(c.returns, 1);
    assert_eq!(c.ret.ty, arg_type::STRING);
    assert_eq!(c.ret.flags & ARG_USER, ARG_USER);
    assert_eq!(c.ret_selectors[0].nargs, 1);
    assert_eq!(c.ret_selectors[0].args[0].op, op::PREFIX);
    assert_eq!(h.strings.len(), 1);
    let e = refusal(
        &policy("  uprobes:\n  - path: /usr/bin/bash\n    symbols:\n    - readline\n    return: true\n    returnArg:\n      index: 0\n      type: sock\n"),
        ALL,
        None,
    );
    assert!(e.contains("returnArg type `sock` on a uprobe"), "{e}");
}

/// A USDT probe of a binary this host does not have is planned (one hook, no site): attaching
/// fails on such a host, as a uprobe's does; Set compiles for USDT hooks only.
#[test]
fn usdt_of_a_missing_binary_is_planned_without_a_site() {
    let p = plan(&policy(
        "  usdts:\n  - path: /nonexistent/policyctl-usdt\n    provider: test\n    name: args\n    args:\n    - index: 3\n      type: int32\n    selectors:\n    - matchArgs:\n      - index: 3\n        operator: Equal\n        values:\n        - \"2\"\n      matchActions:\n      - action: Set\n        argIndex: 0\n        argValue: 240\n",
    ));
    let h = only_hook(&p);
    match &h.attach {
        Attach::Usdt {
            path,
            provider,
            name,
            site,
        } => {
            assert_eq!(
                (path.as_str(), provider.as_str(), name.as_str()),
                ("/nonexistent/policyctl-usdt", "test", "args")
            );
            assert!(site.is_none());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.attach.kind(), HookKind::Uprobe);
    assert_eq!(h.event, EventKind::Usdt);
    // arg 0 of the hook (probe argument 3) is raw slot 0, and the filter names it
    assert_eq!(h.config.args[0].index, 0);
    assert_eq!(h.config.selectors[0].args[0].arg, 0);
}

// ---- kernel objects, kiocb, iov_iter, auto, data_loc, CapabilitiesGained (issue 15) ----

/// perf_event, bpf_map, user_namespace, module, load_info, kiocb and iov_iter read as their own
/// ARG_* kinds, pointer-wide and from kernel memory; bpf_cmd and capability as 4-byte ints.
#[test]
fn kernel_object_kiocb_and_iov_iter_args() {
    let kprobe = |call: &str, index: u8, ty: &str| {
        policy(&format!(
            "  kprobes:\n  - call: {call}\n    syscall: false\n    args:\n    - index: {index}\n      type: {ty}\n"
        ))
    };
    let cases = [
        (
            kprobe("security_perf_event_alloc", 0, "perf_event"),
            arg(arg_type::PERF_EVENT, 0, 8),
        ),
        (
            kprobe("security_bpf_map", 0, "bpf_map"),
            arg(arg_type::BPF_MAP, 0, 8),
        ),
        (
            kprobe("cap_capable", 1, "user_namespace"),
            arg(arg_type::USER_NS, 1, 8),
        ),
        (
            kprobe("do_init_module", 0, "module"),
            arg(arg_type::MODULE, 0, 8),
        ),
        (
            kprobe("copy_module_elf", 1, "load_info"),
            arg(arg_type::LOAD_INFO, 1, 8),
        ),
        (kprobe("tty_write", 0, "kiocb"), arg(arg_type::KIOCB, 0, 8)),
        (
            kprobe("tty_write", 1, "iov_iter"),
            arg(arg_type::IOV_ITER, 1, 8),
        ),
        (
            kprobe("security_bpf", 0, "bpf_cmd"),
            arg(arg_type::INT, 0, 4),
        ),
        (
            kprobe("cap_capable", 2, "capability"),
            arg(arg_type::INT, 2, 4),
        ),
    ];
    for (text, want) in cases {
        let p = plan(&text);
        let h = only_hook(&p);
        assert_eq!(h.config.args[0], want, "{text}");
        assert_unused_args(&h.config, 1);
    }
    // the output names the arg by its declared type
    let p = plan(&kprobe("security_bpf", 0, "bpf_cmd"));
    assert_eq!(only_hook(&p).args[0].ty, "bpf_cmd");
}

/// No string operator reads a kernel object: on a module Tetragon's filter_arg_2 filters
/// nothing, so the check refuses the policy and the plan never sees it; the plan refuses it too.
#[test]
fn string_operators_on_kernel_objects_are_refused() {
    let text = policy("  kprobes:\n  - call: do_init_module\n    syscall: false\n    args:\n    - index: 0\n      type: module\n    selectors:\n    - matchArgs:\n      - index: 0\n        operator: Prefix\n        values:\n        - evil\n");
    let report = check_source_with(
        SourceFile::new("test.yaml", &text),
        std::slice::from_ref(kernel()),
    );
    match report.accepted() {
        Ok(accepted) => {
            let e = Plan::compile(&accepted, kernel(), ALL, None).unwrap_err();
            assert!(
                e[0].to_string()
                    .contains("operator `Prefix` on this arg is not supported"),
                "{e:?}"
            );
        }
        Err(n) => assert!(n > 0, "{:#?}", report.diagnostics),
    }
}

/// `auto` on a tracepoint takes the field's type as Tetragon's getGenericTypeId does: the
/// corpus' lseek policy (pkg/tracingpolicy/examples/tracepoint-lseek-pid.yaml) reads fd and
/// whence, `unsigned int` fields 8 bytes wide in the syscall tracepoints' format, as uint64.
#[test]
fn auto_on_tracepoints_takes_the_field_type() {
    let text = policy("  tracepoints:\n  - subsystem: syscalls\n    event: sys_enter_lseek\n    args:\n    - index: 7\n      type: auto\n    - index: 5\n");
    let p = plan(&text);
    let h = only_hook(&p);
    let tys: Vec<&str> = h.args.iter().map(|a| a.ty.as_str()).collect();
    assert_eq!(tys, ["uint64", "uint64"]);
    let (a, b) = (h.config.args[0], h.config.args[1]);
    assert_eq!(
        (a.ty, a.width, b.ty, b.width),
        (arg_type::UINT, 8, arg_type::UINT, 8)
    );
    // signal_generate's sig is a 4-byte `int`
    let signal = policy("  tracepoints:\n  - subsystem: signal\n    event: signal_generate\n    args:\n    - index: 4\n");
    let p = plan(&signal);
    let h = only_hook(&p);
    assert_eq!(h.args[0].ty, "int32");
    assert_eq!(
        (h.config.args[0].ty, h.config.args[0].width),
        (arg_type::INT, 4)
    );
}

/// `auto` on an array of `long` is Tetragon's const_buf: the array's bytes, copied from the
/// record (type CONST_BUF, width = the array's size); filters on it are refused.
#[test]
fn auto_on_a_long_array_is_a_const_buf() {
    let text = policy("  tracepoints:\n  - subsystem: raw_syscalls\n    event: sys_enter\n    args:\n    - index: 4\n    - index: 5\n");
    let p = plan(&text);
    let h = only_hook(&p);
    assert_eq!(h.args[0].ty, "int64");
    assert_eq!(h.args[1].ty, "const_buf");
    let a = h.config.args[1];
    assert_eq!(
        (a.ty, a.width, a.field_offset),
        (arg_type::CONST_BUF, 48, 16)
    );
    let filtered = policy("  tracepoints:\n  - subsystem: raw_syscalls\n    event: sys_enter\n    args:\n    - index: 5\n    selectors:\n    - matchArgs:\n      - index: 5\n        operator: Equal\n        values:\n        - \"1\"\n");
    let e = refusal(&filtered, ALL, None);
    assert!(
        e.contains("a tracepoint array (const_buf) is not filtered"),
        "{e}"
    );
}

/// `auto` on an array of anything but `long` is refused (Tetragon copies it but leaves it out
/// of the event); `auto` on a kprobe is no type at all.
#[test]
fn auto_refusals() {
    let text = policy("  tracepoints:\n  - subsystem: sched\n    event: sched_switch\n    args:\n    - index: 4\n");
    let e = refusal(&text, ALL, None);
    assert!(e.contains("arg 4: type `auto` on field `prev_comm`"), "{e}");
    assert!(e.contains("prints only arrays of `long`"), "{e}");
    // Tetragon's parseTy reads pid_t as its own type, which getGenericTypeId does not resolve
    let exec = policy("  tracepoints:\n  - subsystem: sched\n    event: sched_process_exec\n    args:\n    - index: 5\n");
    let e = refusal(&exec, ALL, None);
    assert!(
        e.contains("arg 5: type `auto` on field `pid` (pid_t)"),
        "{e}"
    );
}

/// data_loc reads a `__data_loc` field: 4 bytes at its offset, decoded by the BPF side from
/// the record; any other type on such a field, or data_loc on another field, is refused.
#[test]
fn data_loc_on_tracepoints() {
    let exec = |ty: &str, index: u8| {
        policy(&format!("  tracepoints:\n  - subsystem: sched\n    event: sched_process_exec\n    args:\n    - index: {index}\n      type: {ty}\n"))
    };
    let p = plan(&exec("data_loc", 4));
    let h = only_hook(&p);
    let a = h.config.args[0];
    assert_eq!((a.ty, a.width, a.field_offset), (arg_type::DATA_LOC, 4, 8));
    assert_eq!(h.args[0].ty, "data_loc");
    let e = refusal(&exec("string", 4), ALL, None);
    assert!(e.contains("is read with type `data_loc`"), "{e}");
    let e = refusal(&exec("data_loc", 5), ALL, None);
    assert!(e.contains("field `pid` is not one"), "{e}");
    // string filters read it as a string
    let text = std::fs::read_to_string(
        testdata().join("policies/valid/45-tracepoint-exec-from-devshm.yaml"),
    )
    .unwrap();
    let report = check_source_with(
        SourceFile::new("45.yaml", &text),
        std::slice::from_ref(kernel()),
    );
    let p = Plan::compile(&report.accepted().unwrap(), kernel(), ALL, None).unwrap();
    let sel = &only_hook(&p).config.selectors[0];
    assert_eq!((sel.args[0].op, sel.args[1].op), (op::PREFIX, op::EQUAL));
    assert_eq!(sel.args[1].flags, FILTER_NOT | FILTER_LEN_GATE);
}

/// CapabilitiesGained: the filter sits on `args[0]`'s event slot and holds `args[1]`'s, as
/// Tetragon's parseMatchArg writes index2; both must be capability sets.
#[test]
fn capabilities_gained() {
    let text = std::fs::read_to_string(
        testdata().join("policies/valid/41-kprobe-capset-capabilities-gained.yaml"),
    )
    .unwrap();
    let report = check_source_with(
        SourceFile::new("41.yaml", &text),
        std::slice::from_ref(kernel()),
    );
    let p = Plan::compile(&report.accepted().unwrap(), kernel(), ALL, None).unwrap();
    let sel = &only_hook(&p).config.selectors[0];
    assert_eq!(sel.nargs, 1);
    assert_eq!(sel.args[0], filter(1, op::CAPS_GAINED, 0, 0, &[1]));
    // the other order: filtered slot 1, second slot 0
    let swapped = text.replace("args: [0, 1]", "args: [1, 0]");
    let report = check_source_with(
        SourceFile::new("41.yaml", &swapped),
        std::slice::from_ref(kernel()),
    );
    let p = Plan::compile(&report.accepted().unwrap(), kernel(), ALL, None).unwrap();
    let sel = &only_hook(&p).config.selectors[0];
    assert_eq!(sel.args[0], filter(1, op::CAPS_GAINED, 0, 1, &[0]));
    // both slots are read before the filter runs
    assert_eq!(sel.args_mask, 0b11);
}

/// `args_mask`: the event args a selector's matchArgs compare, which `handle()` reads once the
/// selector's process filters hold (the others only when it matches); none for a selector
/// without matchArgs.
#[test]
fn selectors_name_the_args_they_compare() {
    let p = plan(&mkdirat(
        "    - matchArgs:\n      - index: 1\n        operator: Equal\n        values:\n        - a\n      matchBinaries:\n      - operator: In\n        values:\n        - /bin/b\n    - matchArgs:\n      - index: 2\n        operator: Equal\n        values:\n        - \"1\"\n      - index: 0\n        operator: Equal\n        values:\n        - \"2\"\n    - matchBinaries:\n      - operator: In\n        values:\n        - /bin/c\n",
    ));
    let c = &only_hook(&p).config;
    let masks: Vec<u8> = c.selectors[..3].iter().map(|s| s.args_mask).collect();
    assert_eq!(masks, [0b010, 0b101, 0]);
}

/// SubString and SubStringIgnCase compile to their ops with the shortest value's length; on the
/// 6.12 fixture, which has neither bpf_strnstr nor bpf_strncasestr, no value is stored, so they
/// match nothing, as Tetragon's bpf_ksym_exists() guard makes them (the host test
/// `tests/run_arg_types_host.rs` runs them where the kfunc exists).
#[test]
fn substring_operators() {
    let text =
        std::fs::read_to_string(testdata().join("policies/valid/24-syscall-ssh-key-access.yaml"))
            .unwrap();
    assert!(text.contains("operator: \"SubString\""), "{text}");
    let report = check_source_with(
        SourceFile::new("24.yaml", &text),
        std::slice::from_ref(kernel()),
    );
    let p = Plan::compile(&report.accepted().unwrap(), kernel(), ALL, None).unwrap();
    let h = only_hook(&p);
    let ops: Vec<u8> = h.config.selectors[0].args[..h.config.selectors[0].nargs as usize]
        .iter()
        .map(|f| f.op)
        .collect();
    assert!(ops.contains(&op::SUBSTRING), "{ops:?}");
    let sub = h.config.selectors[0]
        .args
        .iter()
        .find(|f| f.op == op::SUBSTRING)
        .unwrap();
    assert!(sub.nvalues == 1 && sub.ints()[0] > 0, "{sub:?}");
    assert!(
        !h.strings.iter().any(|e| e.filter == sub.id),
        "no kfunc, no values: {:?}",
        h.strings
    );
    let nocase = policy("  kprobes:\n  - call: sys_openat\n    syscall: true\n    args:\n    - index: 1\n      type: string\n    selectors:\n    - matchArgs:\n      - index: 1\n        operator: SubStringIgnCase\n        values:\n        - Id_Rsa\n        - KEY\n");
    let p = plan(&nocase);
    let f = only_hook(&p).config.selectors[0].args[0];
    assert_eq!((f.op, f.nvalues, f.ints()[0]), (op::SUBSTRING_NOCASE, 1, 3));
}

// ---- data, matchData, returnCopy, returnArg file and resolve paths (issue 15) ----------------

/// A member's byte offset, anonymous structs and unions included (the validator's lookup).
fn member_offset(owner: &str, name: &str) -> u16 {
    let k = kernel();
    let t = k.struct_named(owner).expect("the struct");
    let m = policyctl_validator::kernel::members::member(k.btf(), t.id, name).expect("the member");
    (m.bit_offset / 8) as u16
}

/// returnCopy without `return: true`: a return probe (returns = 1) with no return value
/// (ret.ty NONE, no `ret` plan), the buffer flagged ARG_RETURN_COPY (and ARG_USER, a syscall's).
#[test]
fn return_copy_makes_a_return_probe_without_a_return_value() {
    let p = plan(&policy(
        "  kprobes:\n  - call: sys_read\n    syscall: true\n    args:\n    - index: 0\n      type: int\n    - index: 1\n      type: char_buf\n      returnCopy: true\n    - index: 2\n      type: size_t\n",
    ));
    let h = only_hook(&p);
    let c = &h.config;
    assert_eq!(c.returns, 1);
    assert_eq!(c.ret.ty, arg_type::NONE);
    assert!(h.ret.is_none());
    assert_eq!(c.args[1].ty, arg_type::BYTES);
    assert_eq!(c.args[1].flags, ARG_USER | ARG_RETURN_COPY);
    assert_eq!(c.args[0].flags & ARG_RETURN_COPY, 0);
    assert_eq!(c.args[2].flags & ARG_RETURN_COPY, 0);
}

/// returnArg `file` is read as ARG_FILE at the return.
#[test]
fn return_arg_file() {
    let p = plan(&policy(
        "  kprobes:\n  - call: do_filp_open\n    syscall: false\n    return: true\n    returnArg:\n      index: 0\n      type: file\n",
    ));
    let h = only_hook(&p);
    assert_eq!((h.config.returns, h.config.ret.ty), (1, arg_type::FILE));
    assert_eq!(h.ret.as_ref().map(|r| r.ty.as_str()), Some("file"));
}

/// `data` after the args: current_task resolves from task_struct (an array member at the end
/// is its address; a pointer chain loads each pointer), pt_regs of a syscall reads the user
/// registers by Tetragon's register names; matchData names data by place, after the args.
#[test]
fn data_args_and_match_data() {
    let p = plan(&policy(
        "  kprobes:\n  - call: security_task_getscheduler\n    syscall: false\n    args:\n    - index: 0\n      type: int\n      resolve: pid\n    data:\n    - index: 0\n      type: string\n      source: current_task\n      resolve: comm\n    - index: 1\n      type: int\n      source: current_task\n      resolve: mm.owner.pid\n    selectors:\n    - matchData:\n      - index: 0\n        operator: Equal\n        values:\n        - tracing.test\n      - args: [1]\n        operator: Equal\n        values:\n        - \"1234\"\n",
    ));
    let h = only_hook(&p);
    let c = &h.config;
    assert_eq!((c.nargs, h.data, h.args.len()), (3, 2, 3));
    let comm = &c.args[1];
    assert_eq!(comm.source, arg_source::CURRENT_TASK);
    assert_eq!((comm.ty, comm.nresolve), (arg_type::STRING, 1));
    assert_eq!(comm.resolve[0], btf_offset("task_struct", "comm"));
    assert_eq!(comm.flags, ARG_LAST_ADDR, "comm is an array: its address");
    let pid = &c.args[2];
    assert_eq!(pid.source, arg_source::CURRENT_TASK);
    assert_eq!(pid.nresolve, 3);
    assert_eq!(
        pid.resolve[..3],
        [
            btf_offset("task_struct", "mm"),
            member_offset("mm_struct", "owner"),
            btf_offset("task_struct", "pid")
        ]
    );
    assert_eq!(pid.flags, 0);
    let s = &c.selectors[0];
    assert_eq!(s.nargs, 2);
    assert_eq!((s.args[0].op, s.args[0].arg), (op::EQUAL, 1));
    assert_eq!((s.args[1].op, s.args[1].arg), (op::EQUAL, 2));
    assert_eq!(s.args[1].ints(), [1234]);

    let p = plan(&policy(
        "  kprobes:\n  - call: sys_prctl\n    syscall: true\n    data:\n    - index: 0\n      type: uint64\n      source: pt_regs\n      resolve: rdi\n    - index: 1\n      type: int\n      source: pt_regs\n      resolve: esi\n",
    ));
    let c = &only_hook(&p).config;
    assert_eq!(
        (c.args[0].source, c.args[0].reg_offset, c.args[0].reg_size),
        (arg_source::USER_REGS, 112, 8)
    );
    assert_eq!(
        (c.args[1].source, c.args[1].reg_offset, c.args[1].reg_size),
        (arg_source::USER_REGS, 104, 4)
    );
    let e = refusal(
        &policy("  kprobes:\n  - call: sys_prctl\n    syscall: true\n    data:\n    - index: 0\n      type: uint64\n      source: pt_regs\n      resolve: xmm0\n"),
        ALL,
        None,
    );
    assert!(e.contains("`xmm0` is not an x86_64 register"), "{e}");
}

/// Resolve paths as Tetragon walks them: `struct cred **` gets a `[0]` load first, `kuid_t`
/// (a typedef of a struct) is entered without a load; five pointer steps fit Tetragon's ten.
#[test]
fn resolve_through_nested_pointers_typedefs_and_deep_paths() {
    let p = plan(&policy(
        "  kprobes:\n  - call: security_inode_copy_up\n    syscall: false\n    args:\n    - index: 1\n      type: int\n      resolve: user.uid.val\n",
    ));
    let a = &only_hook(&p).config.args[0];
    assert_eq!(a.nresolve, 3);
    assert_eq!(
        a.resolve[..3],
        [
            0,
            btf_offset("cred", "user"),
            btf_offset("user_struct", "uid")
        ]
    );
    assert_eq!(a.flags & ARG_LAST_ADDR, 0);
    let p = plan(&policy(
        "  kprobes:\n  - call: security_task_getscheduler\n    syscall: false\n    args:\n    - index: 0\n      type: int\n      resolve: mm.owner.mm.owner.pid\n",
    ));
    assert_eq!(only_hook(&p).config.args[0].nresolve, 5);
}

/// `btfType` without `resolve` is ignored (Tetragon's addKprobe resolves only with `resolve`),
/// even naming a struct no BTF has: the parameter is read as it is.
#[test]
fn btf_type_without_resolve_is_ignored() {
    let p = plan(&policy(
        "  kprobes:\n  - call: security_socket_bind\n    syscall: false\n    args:\n    - index: 2\n      type: int\n      btfType: no_such_struct\n",
    ));
    let a = &only_hook(&p).config.args[0];
    assert_eq!((a.ty, a.index, a.nresolve), (arg_type::INT, 2, 0));
}

// ---- enforcers (issue 15) -------------------------------------------------------------------

/// A kprobe on `security_file_open` whose selector ends with `actions`, and an enforcer on
/// `calls`.
fn enforcer_policy(calls: &str, actions: &str) -> String {
    policy(&format!(
        "  enforcers:\n  - calls: [{calls}]\n  kprobes:\n  - call: security_file_open\n    syscall: false\n    args:\n    - index: 0\n      type: file\n    selectors:\n    - matchBinaries:\n      - operator: In\n        values: [/opt/x/cat]\n      matchActions:\n{actions}"
    ))
}

#[test]
fn notify_enforcer_records_for_the_enforcer_of_its_policy() {
    let p = plan(&enforcer_policy(
        "security_file_permission, security_file_open, security_file_permission",
        "      - action: Sigkill\n      - action: NotifyEnforcer\n        argError: -1\n        argSig: 9\n",
    ));
    let h = only_hook(&p);
    assert_eq!(p.enforcers.len(), 1);
    let e = &p.enforcers[0];
    assert_eq!(e.policy, 0);
    assert_eq!(e.slot, h.slot);
    assert_eq!(e.key, ENFORCER_KEY | h.slot);
    // each call once, in order
    assert_eq!(e.calls, ["security_file_permission", "security_file_open"]);
    let s = &h.config.selectors[0];
    assert_eq!(s.notify_enforcer, 1);
    assert_eq!(s.enforcer_error, -1);
    assert_eq!(s.enforcer_signal, 9);
    assert_eq!(s.enforcer_key, e.key);
    assert_eq!(s.kill, 1);
    // NotifyEnforcer is the last action: the event's action
    assert_eq!(s.last_action as u32, action::NOTIFYENFORCER);
    // the kprobe itself does not Override: no companion fmod_ret of its own
    assert_eq!(h.fmod_ret(), None);
}

#[test]
fn notify_enforcer_keeps_sixteen_bits_as_tetragon() {
    let p = plan(&enforcer_policy(
        "security_file_open",
        "      - action: NotifyEnforcer\n        argError: -65537\n      - action: Post\n",
    ));
    let s = &only_hook(&p).config.selectors[0];
    // (__s16)-65537 == -1, and the last action (Post) is the event's
    assert_eq!(s.enforcer_error, -1);
    assert_eq!(s.enforcer_signal, 0);
    assert_eq!(s.last_action, 0);
}

#[test]
fn enforcer_calls_from_a_list() {
    let text = policy(
        "  lists:\n  - name: guarded\n    values: [security_file_open, security_inode_mkdir]\n  enforcers:\n  - calls: [\"list:guarded\"]\n  kprobes:\n  - call: security_file_open\n    syscall: false\n    selectors:\n    - matchBinaries:\n      - operator: In\n        values: [/opt/x/cat]\n      matchActions:\n      - action: NotifyEnforcer\n        argError: -1\n",
    );
    let p = plan(&text);
    assert_eq!(
        p.enforcers[0].calls,
        ["security_file_open", "security_inode_mkdir"]
    );
}

/// Syscalls in an enforcer are guarded at their stub, however they are written (`sys_X`,
/// `__x64_sys_X`, a `syscalls` list's `x64/` names), each once; `override-method:
/// override-return` is accepted on syscalls (fmod_ret returns the same error).
#[test]
fn enforcer_calls_on_syscalls() {
    let text = policy(
        "  options:\n  - name: override-method\n    value: override-return\n  lists:\n  - name: guarded\n    type: syscalls\n    values: [sys_openat, x64/sys_mkdirat, __x64_sys_openat]\n  enforcers:\n  - calls: [\"list:guarded\", \"__x64_sys_unlinkat\", \"sys_mkdirat\"]\n  kprobes:\n  - call: security_file_open\n    syscall: false\n    selectors:\n    - matchBinaries:\n      - operator: In\n        values: [/opt/x/cat]\n      matchActions:\n      - action: NotifyEnforcer\n        argError: -1\n",
    );
    let p = plan(&text);
    assert_eq!(
        p.enforcers[0].calls,
        [
            "__x64_sys_openat",
            "__x64_sys_mkdirat",
            "__x64_sys_unlinkat"
        ]
    );
    // another ABI's syscall in the list: refused as in a hook's list (one reading of a
    // `syscalls` list for both)
    let r = refusal(
        &text.replace("x64/sys_mkdirat", "i386/sys_mkdir"),
        ALL,
        None,
    );
    assert!(
        r.contains("list `guarded`: `i386/sys_mkdir` is not an x86_64 syscall"),
        "{r}"
    );
}

#[test]
fn enforcers_refused_where_the_runtime_cannot_run_them() {
    let actions = "      - action: NotifyEnforcer\n        argError: -1\n";
    // a syscall this kernel lacks
    let r = refusal(&enforcer_policy("sys_nosuchcall", actions), ALL, None);
    assert!(
        r.contains("enforcer call `sys_nosuchcall`: this kernel has no syscall `nosuchcall`"),
        "{r}"
    );
    // no BPF trampolines: no fmod_ret
    let no_tramp = Features {
        trampolines: false,
        ..ALL
    };
    let r = refusal(
        &enforcer_policy("security_file_open", actions),
        no_tramp,
        None,
    );
    assert!(r.contains("needs fmod_ret"), "{r}");
    // override-return on security_ functions: Tetragon refuses it
    let text = enforcer_policy("security_file_open", actions).replace(
        "spec:\n",
        "spec:\n  options:\n  - name: override-method\n    value: override-return\n",
    );
    let r = refusal(&text, ALL, None);
    assert!(
        r.contains("can't override security function with override-return"),
        "{r}"
    );
}

#[test]
fn enforcers_of_two_policies_have_their_own_keys() {
    let a = enforcer_policy(
        "security_file_open",
        "      - action: NotifyEnforcer\n        argError: -1\n",
    );
    let b = a.replace("name: p\n", "name: q\n");
    let p = compile_files(&[("a.yaml", &a), ("b.yaml", &b)], ALL, None)
        .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(p.enforcers.len(), 2);
    assert_ne!(p.enforcers[0].key, p.enforcers[1].key);
    for (i, e) in p.enforcers.iter().enumerate() {
        let h = p.hooks.iter().find(|h| h.policy == i).unwrap();
        assert_eq!(h.config.selectors[0].enforcer_key, e.key);
    }
    // plans merged for `run` keep their enforcers, with the policies renumbered
    let m = Plan::merged([&p, &p]);
    let policies: Vec<usize> = m.enforcers.iter().map(|e| e.policy).collect();
    assert_eq!(policies, [0, 1, 2, 3]);
}

/// Post's kernelStackTrace / userStackTrace: on a kprobe (process_kprobe, Tetragon's only
/// event with stack fields) the selector asks the BPF side for each stack; on a tracepoint
/// nothing is collected, as in Tetragon, and a note says so.
#[test]
fn stack_traces_asked_on_kprobes_and_noted_elsewhere() {
    let p = plan(&policy(
        "  kprobes:\n  - call: do_unlinkat\n    syscall: false\n    selectors:\n    - matchActions:\n      - action: Post\n        kernelStackTrace: true\n",
    ));
    assert_eq!(p.hooks.len(), 1);
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    let sel = &p.hooks[0].config.selectors[0];
    assert_eq!((sel.kernel_stack, sel.user_stack), (1, 0));
    let both = plan(&policy(
        "  kprobes:\n  - call: sys_openat\n    syscall: true\n    selectors:\n    - matchActions:\n      - action: Post\n        kernelStackTrace: true\n        userStackTrace: true\n",
    ));
    let sel = &both.hooks[0].config.selectors[0];
    assert_eq!((sel.kernel_stack, sel.user_stack), (1, 1));
    let quiet = plan(&policy(
        "  kprobes:\n  - call: do_unlinkat\n    syscall: false\n    selectors:\n    - matchActions:\n      - action: Post\n        kernelStackTrace: false\n",
    ));
    assert!(quiet.skipped.is_empty(), "{:?}", quiet.skipped);
    let sel = &quiet.hooks[0].config.selectors[0];
    assert_eq!((sel.kernel_stack, sel.user_stack), (0, 0));
    let tp = plan(&policy(
        "  tracepoints:\n  - subsystem: syscalls\n    event: sys_enter_openat\n    selectors:\n    - matchActions:\n      - action: Post\n        userStackTrace: true\n",
    ));
    assert_eq!(tp.hooks.len(), 1);
    assert_eq!(tp.skipped.len(), 1, "{:?}", tp.skipped);
    assert!(
        tp.skipped[0].contains("`userStackTrace` asked, but its events have no stack trace field"),
        "{:?}",
        tp.skipped
    );
    let sel = &tp.hooks[0].config.selectors[0];
    assert_eq!((sel.kernel_stack, sel.user_stack), (0, 0));
}

// ---- run --attach-only: the plan disarmed --------------------------------------------------

#[test]
fn a_disarmed_plan_differs_only_in_every_hook_being_disabled() {
    // an enforcer notified by one kprobe, and a second kprobe with Sigkill: what acts
    let text = enforcer_policy(
        "security_file_open",
        "      - action: NotifyEnforcer\n        argError: -1\n        argSig: 9\n",
    )
    .replace(
        "  kprobes:\n",
        "  kprobes:\n  - call: do_mkdirat\n    syscall: false\n    selectors:\n    - matchBinaries:\n      - operator: In\n        values: [/opt/x/mkdir]\n      matchActions:\n      - action: Sigkill\n",
    );
    let armed = plan(&text);
    assert_eq!(armed.hooks.len(), 2, "{:#?}", armed.hooks);
    assert!(armed.hooks.iter().all(|h| h.config.enabled == 1));
    let disarmed = armed.clone().disarmed();
    assert_eq!(disarmed.hooks.len(), armed.hooks.len());
    for (a, d) in armed.hooks.iter().zip(&disarmed.hooks) {
        assert_eq!(d.config.enabled, 0);
        // the same programs, slots, targets and everything else
        let mut same = d.config;
        same.enabled = 1;
        assert_eq!(config_bytes(&same), config_bytes(&a.config));
        assert_eq!(
            (d.slot, &d.attach, d.method()),
            (a.slot, &a.attach, a.method())
        );
    }
    assert_eq!(disarmed.enforcers, armed.enforcers);

    // one hook alone keeps the enforcer attached with it, and only that one
    let first = &disarmed.hooks[0];
    let alone = disarmed.only_hook(first);
    assert_eq!(alone.hooks.len(), 1);
    assert_eq!(alone.hooks[0].slot, first.slot);
    assert_eq!(
        alone.enforcers.len(),
        usize::from(disarmed.enforcer(first.slot).is_some())
    );
    let second = disarmed.only_hook(&disarmed.hooks[1]);
    assert_eq!(
        second.enforcers.len(),
        usize::from(disarmed.enforcer(disarmed.hooks[1].slot).is_some())
    );
    assert_eq!(alone.enforcers.len() + second.enforcers.len(), 1);
}

// ---- uprobes: resolve through the binary's BTF, addrs (issue 15) ----------------------------

/// A uprobe on `/opt/x/outer`'s `probed` (the binary is not read for `symbols`) with `btfPath`
/// `btf` and the given `args:` items.
fn uprobe_btf(btf: &str, args: &str) -> String {
    policy(&format!(
        "  uprobes:\n  - path: /opt/x/outer\n    btfPath: \"{btf}\"\n    symbols: [probed]\n    args:\n{args}"
    ))
}

fn outer_btf() -> String {
    testdata().join("btf/user/outer.btf").display().to_string()
}

/// `- index: 1, type, btfType: outer, resolve: path` (the `btfType` key as given).
fn outer_arg(ty: &str, key: &str, path: &str) -> String {
    format!("    - index: 1\n      type: {ty}\n      {key}: outer\n      resolve: \"{path}\"\n")
}

/// The offsets of each `resolve` path through `struct outer` of testdata/btf/user/outer.c
/// (pahole's layout: `m` at 8, `mid.in` at 8, `inner.val` at 8, `pm` at 24, the anonymous
/// union at 32 with `hi` at 4 in it, `name` at 40): offsets add up to each pointer loaded, and
/// every load is a user read.
#[test]
fn uprobe_resolve_walks_the_btf_path_file() {
    let args: String = [
        outer_arg("int", "btfType", "m.in.val"),
        outer_arg("int", "btfType", "pm.in.val"),
        outer_arg("int", "btfType", "hi"),
        outer_arg("string", "BTFType", "name"),
        outer_arg("int", "btfType", "tag"),
    ]
    .concat();
    let p = plan(&uprobe_btf(&outer_btf(), &args));
    let h = only_hook(&p);
    let got: Vec<(u8, u8, Vec<u16>, u8)> = h.config.args[..5]
        .iter()
        .map(|a| {
            (
                a.ty,
                a.index,
                a.resolve[..a.nresolve as usize].to_vec(),
                a.flags,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (arg_type::INT, 1, vec![16, 8], ARG_USER),
            (arg_type::INT, 1, vec![24, 8, 8], ARG_USER),
            (arg_type::INT, 1, vec![36], ARG_USER),
            (arg_type::STRING, 1, vec![40], ARG_USER),
            // an array member: its address (the last step takes no load)
            (arg_type::INT, 1, vec![0], ARG_USER | ARG_LAST_ADDR),
        ]
    );
}

/// What the plan refuses, each in one line naming the cause: a btfPath that cannot be read
/// (Tetragon's btf.LoadSpec fails the same way), a struct not in the file, a member not in the
/// struct.
#[test]
fn uprobe_resolve_refusals_name_the_file() {
    let missing = testdata()
        .join("btf/user/missing.btf")
        .display()
        .to_string();
    let text = refusal(
        &uprobe_btf(&missing, &outer_arg("int", "btfType", "m.x")),
        ALL,
        None,
    );
    assert!(
        text.ends_with(&format!(
            "arg 1: btfPath `{missing}` cannot be read: No such file or directory (os error 2)"
        )),
        "{text}"
    );
    // (a `resolve` without `btfType` or without `btfPath` is the check's P078, an error)
    let text = refusal(
        &uprobe_btf(
            &outer_btf(),
            &outer_arg("int", "btfType", "m.x").replace(": outer", ": nowhere"),
        ),
        ALL,
        None,
    );
    assert!(
        text.ends_with(&format!(
            "arg 1: btfType `nowhere`: no struct of that name in `{}`",
            outer_btf()
        )),
        "{text}"
    );
    let text = refusal(
        &uprobe_btf(&outer_btf(), &outer_arg("int", "btfType", "m.nope")),
        ALL,
        None,
    );
    assert!(
        text.ends_with(&format!("arg 1: no member `nope` on `{}`", outer_btf())),
        "{text}"
    );
}

/// `addrs` need the binary's program headers: one missing on this host is a refusal naming it
/// (Tetragon's addUprobe opens the binary before anything else).
#[test]
fn uprobe_addrs_refused_without_the_binary() {
    let text = refusal(
        &policy("  uprobes:\n  - path: /nonexistent/policyctl-test/bin\n    addrs: [0x401136]\n"),
        ALL,
        None,
    );
    assert!(
        text.ends_with("uprobe `addrs` 0x401136: /nonexistent/policyctl-test/bin: no such file"),
        "{text}"
    );
}

// ---- uprobe reference counters (refCtrOffsets) -----------------------------------------

/// `refCtrOffsets` give each uprobe (by symbol or by offset, item i to item i) the file offset
/// of its reference counter, as Tetragon's addUprobeEntries pairs them; without them it is 0.
#[test]
fn uprobe_ref_ctr_offsets_pair_with_symbols_and_offsets() {
    let p = plan(&policy(
        "  uprobes:\n  - path: /usr/bin/bash\n    symbols:\n    - readline\n    - main\n    refCtrOffsets:\n    - 0x1000\n    - 8192\n",
    ));
    let attaches: Vec<&Attach> = p.hooks.iter().map(|h| &h.attach).collect();
    assert_eq!(
        attaches,
        [
            &Attach::Uprobe {
                path: "/usr/bin/bash".into(),
                symbol: "readline".into(),
                ref_ctr_offset: 0x1000,
            },
            &Attach::Uprobe {
                path: "/usr/bin/bash".into(),
                symbol: "main".into(),
                ref_ctr_offset: 8192,
            },
        ]
    );
    assert_eq!(p.hooks[1].attach.ref_ctr_offset(), 8192);
    let p = plan(&policy(
        "  uprobes:\n  - path: /usr/bin/bash\n    offsets:\n    - 4096\n    refCtrOffsets:\n    - 0x2040\n",
    ));
    assert_eq!(
        p.hooks[0].attach,
        Attach::UprobeOffset {
            path: "/usr/bin/bash".into(),
            offset: 4096,
            ref_ctr_offset: 0x2040,
        }
    );
    let p = plan(&policy(
        "  uprobes:\n  - path: /usr/bin/bash\n    symbols:\n    - readline\n",
    ));
    assert_eq!(p.hooks[0].attach.ref_ctr_offset(), 0);
}

// ---- Override on uprobes ----------------------------------------------------------------

/// The 6.18 fixture kernel, whose BTF says uprobe programs may write their registers
/// (`bpf_prog_aux.kprobe_write_ctx`): the validator accepts a uprobe Override there (K030
/// elsewhere).
fn kernel_618() -> &'static Arc<Kernel> {
    static KERNEL: OnceLock<Arc<Kernel>> = OnceLock::new();
    KERNEL.get_or_init(|| {
        let name = "6.18.44-fc-v769";
        let spec = KernelSpec {
            name: Some(name.to_string()),
            btf: testdata().join("btf").join(format!("{name}.btf.zst")),
            ..KernelSpec::default()
        };
        Arc::new(Kernel::load(&spec).unwrap_or_else(|e| panic!("fixture kernel {name}: {e}")))
    })
}

/// Checks `text` against the 6.18 fixture as `run` does, then plans it.
fn compile_618(text: &str, features: Features) -> Result<Plan, Vec<PlanError>> {
    let report = check_source_with(
        SourceFile::new("test.yaml", text),
        std::slice::from_ref(kernel_618()),
    );
    let accepted = report.accepted().unwrap_or_else(|n| {
        panic!(
            "the validator refused it ({n} errors): {:#?}",
            report.diagnostics
        )
    });
    Plan::compile(&accepted, kernel_618(), features, None)
}

/// A uprobe on `path`'s `check` with these selectors.
fn uprobe_override(path: &str, selectors: &str) -> String {
    policy(&format!(
        "  uprobes:\n  - path: \"{path}\"\n    symbols:\n    - \"check\"\n    selectors:\n{selectors}"
    ))
}

/// (type, dst, src, off) of each assignment of selector `sel`'s Override.
fn assignments(h: &policyctl_runtime::plan::HookPlan, sel: u8) -> Vec<(u8, u16, u16, u64)> {
    let o = h.uprobe_override.as_ref().expect("an Override");
    let (_, r) = o
        .regs
        .iter()
        .find(|(s, _)| *s == sel)
        .expect("the selector");
    r.ass[..r.cnt as usize]
        .iter()
        .map(|a| (a.ty, a.dst, a.src, a.off))
        .collect()
}

/// argRegs run as written; without them, the function returns argError to its caller
/// (Tetragon's parseOverrideRegs defaults). The selector's config marks the override, which
/// the event shows.
#[test]
fn uprobe_override_compiles_register_assignments() {
    use policyctl_runtime::layout::reg_ass::*;
    let text = uprobe_override(
        "/nonexistent/policyctl-test/bin",
        "    - matchPIDs:\n      - operator: In\n        values: [1]\n      matchActions:\n      - action: Override\n        argRegs:\n        - \"rax=1\"\n        - \"eip=8%rip\"\n    - matchActions:\n      - action: Override\n        argError: -7\n",
    );
    let p = compile_618(&text, ALL).unwrap_or_else(|e| panic!("{e:#?}"));
    let h = only_hook(&p);
    assert_eq!(
        assignments(h, 0),
        vec![(CONST, 80, 0, 1), (REG_OFF, 128, 128, 8)]
    );
    assert_eq!(
        assignments(h, 1),
        vec![
            (CONST, 80, 0, (-7i64) as u64),
            (REG_DEREF, 128, 152, 0),
            (REG_OFF, 152, 152, 8)
        ]
    );
    let o = h.uprobe_override.as_ref().unwrap();
    assert_eq!(o.unresolved, None);
    assert_eq!(h.config.selectors[0].override_, 1);
    assert_eq!(h.config.selectors[1].override_value, -7);
    // the second selector's assignments are 4 bytes wide where `eip` says so
    let r = &o.regs[0].1;
    assert_eq!((r.ass[1].dst_size, r.ass[1].src_size), (4, 8));
}

/// Where uprobe programs may not write registers (the loader's probe), the hook is refused
/// with the reason, never planned without its Override.
#[test]
fn uprobe_override_refused_where_the_kernel_cannot_write_registers() {
    let text = uprobe_override(
        "/nonexistent/policyctl-test/bin",
        "    - matchActions:\n      - action: Override\n        argRegs: [\"rax=1\"]\n",
    );
    let f = Features {
        uprobe_regs: false,
        kprobe_multi: false,
        ..ALL
    };
    let e = match compile_618(&text, f) {
        Ok(p) => panic!("planned: {:#?}", p.hooks),
        Err(e) => e[0].to_string(),
    };
    assert!(e.contains("does not let uprobe programs write them"), "{e}");
}

/// A jump (argNewSymbol) into a binary this host does not have: planned without its distance,
/// which the loader refuses to attach (as a uprobe on a missing binary fails there).
#[test]
fn uprobe_override_jump_into_a_missing_binary_is_left_unresolved() {
    let text = uprobe_override(
        "/nonexistent/policyctl-test/bin",
        "    - matchActions:\n      - action: Override\n        argNewSymbol: other\n",
    );
    let p = compile_618(&text, ALL).unwrap_or_else(|e| panic!("{e:#?}"));
    let o = only_hook(&p).uprobe_override.as_ref().unwrap();
    let why = o.unresolved.as_deref().expect("unresolved");
    assert!(why.contains("/nonexistent/policyctl-test/bin"), "{why}");
}

/// The real corpus policies with uprobe Overrides plan on 6.18 (their binaries are Tetragon's
/// test machines', so a jump is left for the attach to refuse).
#[test]
fn corpus_uprobe_overrides_plan_on_618() {
    let dir = testdata().join("../../shared/tetragon-corpus");
    if !dir.is_dir() {
        skip::skip(
            "corpus_uprobe_overrides_plan_on_618",
            "../shared/tetragon-corpus is not there",
        );
        return;
    }
    for name in [
        "tests_policytests_uprobes_go__L306.yaml",
        "tests_policytests_uprobes_go__L349.yaml",
        "pkg_sensors_tracing_uprobe_reg_test_go__L217.yaml",
        "pkg_sensors_tracing_uprobe_reg_test_go__L1442.yaml",
    ] {
        let text = std::fs::read_to_string(dir.join(name)).expect(name);
        let p = compile_618(&text, ALL).unwrap_or_else(|e| panic!("{name}: {e:#?}"));
        assert!(
            p.hooks.iter().any(|h| h.uprobe_override.is_some()),
            "{name}"
        );
    }
}

// ---- the argument gate (issue 16) ----------------------------------------------

/// The lengths bitmap of a gate: bit n for each n.
fn lens(ns: impl IntoIterator<Item = usize>) -> [u64; 4] {
    let mut bits = [0u64; 4];
    for n in ns {
        bits[n / 64] |= 1 << (n % 64);
    }
    bits
}

fn gate_of(text: &str, method: Option<Method>) -> HookGate {
    let p = compile(text, ALL, method).unwrap_or_else(|e| panic!("{e:#?}"));
    HookGate::of(&only_hook(&p).config)
}

/// One selector comparing the path with Equal: the gate reads the path (event arg 0, raw
/// arg 1, a user string of a syscall), lets only the values' lengths through, and looks the
/// one selector's filter (id 1) up.
#[test]
fn gate_reads_the_argument_every_selector_filters() {
    let g = gate_of(
        &openat("    selectors:\n    - matchArgs:\n      - index: 1\n        operator: Equal\n        values:\n        - /etc/shadow\n        - /etc/passwd-\n"),
        None,
    );
    assert_eq!(
        g,
        HookGate {
            active: 1,
            arg: 0,
            index: 1,
            flags: ARG_USER,
            syscall: 1,
            width: 8,
            field_offset: 0,
            filter: 1,
            op: op::EQUAL,
            lens: lens([11, 12]),
            ..HookGate::default()
        }
    );
}

/// Two selectors: the gate lets through what either lets through (Equal's length, Prefix's
/// lengths from the shortest value's up to STR_LEN, where `set_key` caps a string), and
/// looks no filter up (that is the selectors' work).
#[test]
fn gate_is_the_union_of_the_selectors_gates() {
    let g = gate_of(
        &openat(
            "    selectors:
    - matchArgs:
      - index: 1
        operator: Equal
        values:
        - /a
    - matchPIDs:
      - operator: In
        values:
        - 1
      matchArgs:
      - index: 1
        operator: Prefix
        values:
        - /etc/
        - /usr/lib/
",
        ),
        None,
    );
    assert_eq!((g.active, g.filter, g.op), (1, 0, 0));
    assert_eq!(g.lens, lens([2].into_iter().chain(5..=STR_LEN)));
}

/// No gate where some call could match without the filtered string's length mattering:
/// a selector without a string filter, a negated filter, no selectors, a return probe
/// (every call's entry is kept for the return), a filter on a non-string argument.
#[test]
fn gate_is_inactive_where_a_call_could_match_past_it() {
    let equal = "    - matchArgs:\n      - index: 1\n        operator: Equal\n        values:\n        - /etc/shadow\n";
    for (what, text) in [
        (
            "a selector with matchPIDs only",
            openat(&format!(
                "    selectors:\n{equal}    - matchPIDs:\n      - operator: In\n        values:\n        - 1\n"
            )),
        ),
        (
            "NotEqual",
            openat("    selectors:\n    - matchArgs:\n      - index: 1\n        operator: NotEqual\n        values:\n        - /etc/shadow\n"),
        ),
        ("no selectors", openat("")),
        (
            "a return probe",
            failed_openat(""),
        ),
    ] {
        let g = gate_of(&text, None);
        assert_eq!(g, HookGate::default(), "{what}");
    }
    // the file of security_file_open is a path built in the kernel, not a string argument
    assert_eq!(
        HookGate::of(&article_plan("block-secret-files").hooks[0].config),
        HookGate::default()
    );
}

/// On a syscall's tracepoint the gate reads the record's field, at the offset and width the
/// hook's configuration gives it.
#[test]
fn gate_on_a_tracepoint_reads_the_field() {
    let text = openat("    selectors:\n    - matchArgs:\n      - index: 1\n        operator: Postfix\n        values:\n        - .so\n");
    let p = compile(&text, ALL, Some(Method::Tracepoint)).unwrap_or_else(|e| panic!("{e:#?}"));
    let h = only_hook(&p);
    let g = HookGate::of(&h.config);
    let a = h.config.args[0];
    assert_eq!(
        (g.active, g.arg, g.index, g.width, g.field_offset),
        (1, 0, a.index, a.width, a.field_offset)
    );
    let f = h.config.selectors[0].args[0];
    assert_eq!((g.filter, g.op), (f.id, op::POSTFIX));
    assert!(a.field_offset > 0, "{a:?}");
    assert_eq!(g.lens, lens(3..=STR_LEN));
}

/// matchBinaries in every selector: the binary gate lets through the binaries' lengths (In:
/// theirs), and, with one selector, looks its filter up; the argument gate is independent.
#[test]
fn binary_gate_from_every_selectors_match_binaries() {
    let one = plan(&openat(
        "    selectors:
    - matchBinaries:
      - operator: In
        values:
        - /usr/bin/cat
        - /bin/sh
      matchArgs:
      - index: 1
        operator: Equal
        values:
        - /etc/shadow
",
    ));
    let c = &only_hook(&one).config;
    let g = HookGate::of(c);
    assert_eq!(
        (g.bin_active, g.bin_filter, g.bin_op, g.bin_lens),
        (1, c.selectors[0].binaries.id, op::IN, lens([12, 7]))
    );
    assert_eq!((g.active, g.op), (1, op::EQUAL));

    let two = plan(&openat(
        "    selectors:
    - matchBinaries:
      - operator: In
        values:
        - /usr/bin/cat
    - matchBinaries:
      - operator: Prefix
        values:
        - /usr/local/
",
    ));
    let g = HookGate::of(&only_hook(&two).config);
    assert_eq!(
        (g.bin_active, g.bin_filter, g.bin_op, g.active),
        (1, 0, 0, 0)
    );
    assert_eq!(g.bin_lens, lens([12].into_iter().chain(11..=STR_LEN)));
}

/// No binary gate where a process could match whatever its binary's length: NotIn, a
/// followChildren filter (an ancestor's binary counts), a selector without matchBinaries.
#[test]
fn binary_gate_is_inactive_where_the_binary_alone_cannot_refuse() {
    for (what, selectors) in [
        (
            "NotIn",
            "    selectors:\n    - matchBinaries:\n      - operator: NotIn\n        values:\n        - /usr/bin/cat\n",
        ),
        (
            "followChildren",
            "    selectors:\n    - matchBinaries:\n      - operator: In\n        followChildren: true\n        values:\n        - /usr/bin/cat\n",
        ),
        (
            "a selector without matchBinaries",
            "    selectors:\n    - matchBinaries:\n      - operator: In\n        values:\n        - /usr/bin/cat\n    - matchPIDs:\n      - operator: In\n        values:\n        - 1\n",
        ),
    ] {
        let g = HookGate::of(&only_hook(&plan(&openat(selectors))).config);
        assert_eq!(g, HookGate::default(), "{what}");
    }
}
