//! `policyctl run` with uprobe features on this machine's kernel, as root: uretprobes
//! (`return: true` on uprobes, with matchReturnArgs) and USDT probes, each on a small C program
//! the test compiles into its own temporary directory, so every probe is scoped to that binary.
//!
//! These tests need root, BTF, tracefs and a C compiler. Without them a test prints `SKIPPED`
//! and passes, unless `CI` is set: then it fails.

#[path = "support/run.rs"]
mod run;
#[path = "support/skip.rs"]
mod skip;

use run::{pid_of, run_child, started, TempDir};
use serde_json::{json, Value};

/// Two functions returning values: `pick` returns one of two strings of the caller's stack
/// (touched before the call: a uretprobe cannot fault a page in), `add_one` an int.
const RETURN_TARGET: &str = r#"
#include <stdio.h>
__attribute__((noinline)) const char *pick(int n, const char *yes, const char *no)
{
    asm volatile("" ::: "memory");
    return n ? yes : no;
}
__attribute__((noinline)) int add_one(int n)
{
    asm volatile("" ::: "memory");
    return n + 1;
}
int main(void)
{
    char yes[] = "sudo ls";
    char no[] = "plain";
    const char *a = pick(1, yes, no);
    const char *b = pick(0, yes, no);
    int c = add_one(41);
    int d = add_one(1);
    printf("%s %s %d %d\n", a, b, c, d);
    return 0;
}
"#;

fn uprobes_of(events: &[Value], pid: u32) -> Vec<Value> {
    events
        .iter()
        .filter(|e| pid_of(e, "process_uprobe") == Some(pid as u64))
        .cloned()
        .collect()
}

/// `return: true` on uprobes attaches a uretprobe; the return value is merged into the entry's
/// event as Tetragon's retprobeMerge does for `process_uprobe` (the last of its args, with no
/// label), and matchReturnArgs (Prefix on a returned string, Equal on an int) decide which calls
/// are printed.
#[test]
fn uretprobe_merges_the_return_value_into_the_args() {
    let test = "uretprobe_merges_the_return_value_into_the_args";
    if !run::ready(test) {
        return;
    }
    let dir = TempDir::new("uretprobe");
    let Some(bin) = dir.compile_c(test, "target", RETURN_TARGET) else {
        return;
    };
    let policy = dir.write(
        "uretprobe.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "host-uretprobe"
spec:
  uprobes:
  - path: "{bin}"
    symbols:
    - "pick"
    args:
    - index: 0
      type: "int"
      label: "which"
    return: true
    returnArg:
      index: 0
      type: "string"
    selectors:
    - matchReturnArgs:
      - index: 0
        operator: "Prefix"
        values:
        - "sudo"
  - path: "{bin}"
    symbols:
    - "add_one"
    return: true
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchReturnArgs:
      - index: 0
        operator: "Equal"
        values:
        - "42"
"#
        ),
    );
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    let stderr = running.stderr().join("\n");
    assert!(
        stderr.contains(&format!(
            "policyctl run: host-uretprobe: uprobe `{bin}:pick` attached with uprobe"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("its return attached with uretprobe"),
        "{stderr}"
    );
    let (status, pid, out) = run_child(&bin, &[]);
    assert!(status.success());
    assert_eq!(out, "sudo ls plain 42 2\n");
    running.wait_events(2, |e| pid_of(e, "process_uprobe") == Some(pid as u64));
    let f = running.stop();
    let mine = uprobes_of(&f.events(), pid);
    assert_eq!(mine.len(), 2, "pick(1) and add_one(41) only:\n{f}");
    let by = |symbol: &str| {
        mine.iter()
            .map(|e| &e["process_uprobe"])
            .find(|u| u["symbol"] == symbol)
            .unwrap_or_else(|| panic!("no event for {symbol}:\n{f}"))
            .clone()
    };
    let pick = by("pick");
    assert_eq!(pick["path"], bin.as_str());
    assert_eq!(pick["policy_name"], "host-uretprobe");
    assert_eq!(
        pick["args"],
        json!([{"int_arg": 1, "label": "which"}, {"string_arg": "sudo ls"}]),
        "{pick}"
    );
    assert_eq!(pick["action"], "KPROBE_ACTION_POST");
    assert!(pick.get("return").is_none(), "{pick}");
    let add = by("add_one");
    assert_eq!(add["args"], json!([{"int_arg": 42}]), "{add}");
}

/// USDT probes of `<sys/sdt.h>` (no semaphores): `test:args` with an int, a long, a string and a
/// constant (`-4@$5`), `tetragon:setme` with a `volatile int` in memory (a `deref` argument),
/// which a Set action may overwrite (`tests/vm/uprobe.rs` probes it in the VM).
const USDT_TARGET: &str = include_str!("../testdata/uprobe/usdt_args.c");

/// `test:args` of [`USDT_TARGET`] as a `usdts:` entry, its path `@PATH@`.
const USDT_ARGS_HOOK: &str = include_str!("../testdata/uprobe/usdt_args_hook.yaml");

/// The `stapsdt` notes our reader finds in a binary gcc built with `<sys/sdt.h>`, checked
/// against binutils' `readelf --notes` (provider, name, argument specs).
#[test]
fn usdt_notes_read_as_readelf_reads_them() {
    let test = "usdt_notes_read_as_readelf_reads_them";
    let dir = TempDir::new("usdt-notes");
    let Some(bin) = dir.compile_c(test, "target", USDT_TARGET) else {
        return;
    };
    let probes = policyctl_runtime::usdt::read(&bin).expect("the notes");
    let readelf = match std::process::Command::new("readelf")
        .args(["--notes", &bin])
        .output()
    {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
        Err(e) => {
            skip::skip(test, &format!("readelf is not installed ({e})"));
            return;
        }
    };
    // readelf prints, per note: "Provider: P", "Name: N", "Location: 0x..", "Arguments: A"
    let mut theirs = Vec::new();
    let mut cur: (String, String, String) = Default::default();
    for line in readelf.lines().map(str::trim) {
        if let Some(p) = line.strip_prefix("Provider: ") {
            cur.0 = p.to_string();
        } else if let Some(n) = line.strip_prefix("Name: ") {
            cur.1 = n.to_string();
        } else if let Some(a) = line.strip_prefix("Arguments: ") {
            cur.2 = a.to_string();
            theirs.push(std::mem::take(&mut cur));
        }
    }
    let ours: Vec<(String, String, String)> = probes
        .iter()
        .map(|p| (p.provider.clone(), p.name.clone(), p.args_text.clone()))
        .collect();
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 3);
    let args = &probes[0].args;
    assert_eq!(args.len(), 4, "{:?}", probes[0]);
    assert_eq!(args[3].text, "-4@$5");
    assert!(probes.iter().all(|p| p.semaphore == 0 && p.offset > 0));
}

/// A USDT policy on `bin`: `test:args` with its four arguments and a matchArgs filter on the
/// first (== 2), and, with `set`, `tetragon:setme` with a Set of 240 on its argument.
fn usdt_policy(bin: &str, set: bool) -> String {
    let mut p = format!(
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: \"host-usdt\"\nspec:\n  usdts:\n{}",
        USDT_ARGS_HOOK.replace("@PATH@", bin)
    );
    if set {
        p.push_str(&format!(
            r#"  - path: "{bin}"
    provider: "tetragon"
    name: "setme"
    args:
    - index: 0
      type: "int32"
    selectors:
    - matchActions:
      - action: Set
        argIndex: 0
        argValue: 240
"#
        ));
    }
    p
}

fn usdts_of(events: &[Value], pid: u32) -> Vec<Value> {
    events
        .iter()
        .filter(|e| pid_of(e, "process_usdt") == Some(pid as u64))
        .map(|e| e["process_usdt"].clone())
        .collect()
}

/// A USDT policy attaches a uprobe at each site of the probe and reads the args where the
/// note says (a register, memory at %rbp, a constant); a matchArgs filter picks the second
/// site's call (a == 2).
#[test]
fn usdt_reads_args_where_the_note_says() {
    let test = "usdt_reads_args_where_the_note_says";
    if !run::ready(test) {
        return;
    }
    let dir = TempDir::new("usdt");
    let Some(bin) = dir.compile_c(test, "target", USDT_TARGET) else {
        return;
    };
    let policy = dir.write("usdt.yaml", &usdt_policy(&bin, false));
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    let stderr = running.stderr().join("\n");
    assert!(
        stderr.contains(&format!("usdt `{bin}:test:args` (at 0x")),
        "{stderr}"
    );
    let (status, pid, out) = run_child(&bin, &[]);
    assert!(status.success());
    assert_eq!(out, "7\n");
    running.wait_events(1, |e| pid_of(e, "process_usdt") == Some(pid as u64));
    let f = running.stop();
    let mine = usdts_of(&f.events(), pid);
    assert_eq!(mine.len(), 1, "the second call only (a == 2):\n{f}");
    let u = &mine[0];
    assert_eq!(u["path"], bin.as_str());
    assert_eq!(u["provider"], "test");
    assert_eq!(u["name"], "args");
    assert_eq!(u["policy_name"], "host-usdt");
    assert_eq!(
        u["args"],
        json!([{"int_arg": 2}, {"long_arg": "42", "label": "b"}, {"string_arg": "hello-usdt"}, {"int_arg": 5}]),
        "{u}"
    );
    assert_eq!(u["action"], "KPROBE_ACTION_POST");
}

/// Set writes 240 into the `deref` argument of `tetragon:setme`, which the program then prints,
/// and the event names the action. A kernel that refuses bpf_probe_write_user to this process
/// (lockdown, no CAP_SYS_ADMIN; Tetragon's Set needs it too) makes the run refuse the policy in
/// one line naming the helper, and nothing else is attached.
#[test]
fn usdt_set_writes_the_argument() {
    let test = "usdt_set_writes_the_argument";
    if !run::ready(test) {
        return;
    }
    let dir = TempDir::new("usdt-set");
    let Some(bin) = dir.compile_c(test, "target", USDT_TARGET) else {
        return;
    };
    let policy = dir.write("usdt.yaml", &usdt_policy(&bin, true));
    let running = match run::start(&[policy.as_str(), "--policy-events-only"]) {
        Ok(r) => r,
        Err(f) => {
            let stderr = f.stderr_text();
            assert!(
                stderr.contains("cannot attach usdt") && stderr.contains("bpf_probe_write_user"),
                "{stderr}"
            );
            eprintln!("note: {test}: this kernel refuses bpf_probe_write_user here; the refusal was checked");
            return;
        }
    };
    let (status, pid, out) = run_child(&bin, &[]);
    assert!(status.success());
    assert_eq!(out, "240\n", "Set wrote the value");
    running.wait_events(2, |e| pid_of(e, "process_usdt") == Some(pid as u64));
    let f = running.stop();
    let mine = usdts_of(&f.events(), pid);
    let set = mine
        .iter()
        .find(|u| u["name"] == "setme")
        .unwrap_or_else(|| panic!("no tetragon:setme event:\n{f}"));
    assert_eq!(set["args"], json!([{"int_arg": 7}]), "{set}");
    assert_eq!(set["action"], "KPROBE_ACTION_SET");
}

// ---- uprobe args resolved through the binary's BTF (`btfPath`), uprobes by `addrs` ----------

/// The program `resolve` tests probe: `probed(n, &o)` with a `struct outer` of nested members,
/// pointers, an anonymous union and a string. The same file is the source of the committed
/// `testdata/btf/user/outer.btf` the plan tests read (testdata/btf/README.md).
const RESOLVE_TARGET: &str = include_str!("../testdata/btf/user/outer.c");

/// The BTF of `bin`, written by pahole from its DWARF into `<bin>.btf` (raw BTF, what
/// Tetragon's `btf.LoadSpec` reads as well as an ELF with `.BTF`); `None` (skipped) without
/// pahole (Debian's `dwarves`).
fn btf_of(test: &str, bin: &str) -> Option<String> {
    let file = format!("{bin}.btf");
    match std::process::Command::new("pahole")
        .arg(format!("--btf_encode_detached={file}"))
        .arg(bin)
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "pahole failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(file)
        }
        Err(e) => {
            skip::skip(
                test,
                &format!("pahole is not installed (package dwarves): {e}"),
            );
            None
        }
    }
}

/// A policy named `name` of one hook of `section` (`uprobes`, `usdts`), which `hook` (its
/// lines after `path:`) places, reading `struct outer` members of arg `index` through `btf`.
fn resolve_policy(
    name: &str,
    section: &str,
    bin: &str,
    hook: &str,
    btf: &str,
    index: u32,
) -> String {
    let mut p = format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "{name}"
spec:
  {section}:
  - path: "{bin}"
    btfPath: "{btf}"
{hook}
    args:
"#
    );
    for (ty, path) in [
        ("int", "m.in.val"),
        ("int", "pm.in.val"),
        ("int", "hi"),
        ("string", "name"),
        ("int", "m.x"),
    ] {
        p.push_str(&format!(
            "    - index: {index}\n      type: \"{ty}\"\n      btfType: \"outer\"\n      resolve: \"{path}\"\n"
        ));
    }
    p
}

/// The args `resolve_policy` reads from `RESOLVE_TARGET`'s call.
fn resolved_args() -> Value {
    json!([{"int_arg": 4242}, {"int_arg": 77}, {"int_arg": -3}, {"string_arg": "nested-name"}, {"int_arg": 5}])
}

/// `resolve` on uprobe args walks the struct `btfType` names in the binary's BTF (`btfPath`),
/// as Tetragon's resolveUserBTFArg does: through an embedded struct, pointers (read from the
/// process's memory), an anonymous struct in an anonymous union, to an int or a string.
#[test]
fn uprobe_resolve_walks_the_binarys_btf() {
    let test = "uprobe_resolve_walks_the_binarys_btf";
    if !run::ready(test) {
        return;
    }
    let dir = TempDir::new("uprobe-btf");
    let Some(bin) = dir.compile_c(test, "target", RESOLVE_TARGET) else {
        return;
    };
    let Some(btf) = btf_of(test, &bin) else {
        return;
    };
    let place = "    symbols:\n    - \"probed\"";
    let policy = dir.write(
        "btf.yaml",
        &resolve_policy("host-uprobe-btf", "uprobes", &bin, place, &btf, 1),
    );
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    let (status, pid, out) = run_child(&bin, &[]);
    assert!(status.success());
    assert_eq!(out, "6\n");
    running.wait_events(1, |e| pid_of(e, "process_uprobe") == Some(pid as u64));
    let f = running.stop();
    let mine = uprobes_of(&f.events(), pid);
    assert_eq!(mine.len(), 1, "one call:\n{f}");
    let u = &mine[0]["process_uprobe"];
    assert_eq!(u["symbol"], "probed");
    assert_eq!(u["args"], resolved_args(), "{u}");
}

/// A `resolve` path through a null pointer reads nothing: the argument is unknown and no
/// filter on it matches, not even `Equal 0`, as Tetragon's extract_arg_depth() marks the arg's
/// status (bpf/process/generic_arg.h) and filter_args() rejects it (is_arg_ok,
/// bpf/process/types/basic.h). The same call with the pointer set matches. A selector on
/// another arg posts the call, and its unread args are Tetragon's `error_arg`s: the null
/// pointer's, and a string's whose pointer points nowhere.
#[test]
fn uprobe_resolve_through_a_null_pointer_matches_no_filter() {
    let test = "uprobe_resolve_through_a_null_pointer_matches_no_filter";
    if !run::ready(test) {
        return;
    }
    let dir = TempDir::new("uprobe-btf-null");
    // the second call's `pm` is null
    let target = RESOLVE_TARGET.replace(
        "    printf(\"%d\\n\", probed(1, &o));",
        "    printf(\"%d\\n\", probed(1, &o));\n    o.pm = 0;\n    o.name = (const char *)1;\n    printf(\"%d\\n\", probed(2, &o));",
    );
    assert_ne!(
        target, RESOLVE_TARGET,
        "the target's main changed: update this test"
    );
    let Some(bin) = dir.compile_c(test, "target", &target) else {
        return;
    };
    let Some(btf) = btf_of(test, &bin) else {
        return;
    };
    let policy = dir.write(
        "null.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "host-uprobe-btf-null"
spec:
  uprobes:
  - path: "{bin}"
    btfPath: "{btf}"
    symbols:
    - "probed"
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "int"
      btfType: "outer"
      resolve: "pm.in.val"
    - index: 1
      type: "string"
      btfType: "outer"
      resolve: "name"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Equal"
        values:
        - "0"
        - "77"
    - matchArgs:
      - index: 0
        operator: "Equal"
        values:
        - "2"
"#
        ),
    );
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    let (status, pid, out) = run_child(&bin, &[]);
    assert!(status.success());
    assert_eq!(out, "6\n7\n");
    running.wait_events(2, |e| pid_of(e, "process_uprobe") == Some(pid as u64));
    let f = running.stop();
    let mine = uprobes_of(&f.events(), pid);
    // the first selector: only the call with `pm` set; the second (on arg 0) posts the other
    assert_eq!(mine.len(), 2, "one event per selector:\n{f}");
    assert_eq!(
        mine[0]["process_uprobe"]["args"],
        json!([{"int_arg": 1}, {"int_arg": 77}, {"string_arg": "nested-name"}]),
        "{f}"
    );
    // its unread args are Tetragon's error_arg (getArgStatus, pkg/sensors/tracing/args_linux.go):
    // the load of `in` through the null `pm` is the path's step 1, and `name` points nowhere
    assert_eq!(
        mine[1]["process_uprobe"]["args"],
        json!([
            {"int_arg": 2},
            {"error_arg": {"Message": "Bad address encountered during resolve dereference at depth 1"}},
            {"error_arg": {"Message": "Bad address for basic type"}}
        ]),
        "{f}"
    );
}

/// `addrs` are virtual addresses: the plan turns each into a file offset with the binary's
/// executable PT_LOAD segment (Tetragon's OffsetFromAddr). A `-no-pie` binary maps `.text` at
/// 0x400000 and more, far from its file offset, so only the conversion attaches at `probed`.
#[test]
fn uprobe_by_addrs_attaches_at_the_address_file_offset() {
    let test = "uprobe_by_addrs_attaches_at_the_address_file_offset";
    if !run::ready(test) {
        return;
    }
    let dir = TempDir::new("uprobe-addrs");
    let Some(bin) = dir.compile_c_with(test, "target", RESOLVE_TARGET, &["-no-pie"]) else {
        return;
    };
    let Some(btf) = btf_of(test, &bin) else {
        return;
    };
    let nm = match std::process::Command::new("nm").arg(&bin).output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
        Err(e) => {
            skip::skip(test, &format!("nm is not installed ({e})"));
            return;
        }
    };
    let addr = nm
        .lines()
        .find_map(|l| l.strip_suffix(" T probed"))
        .map(|a| u64::from_str_radix(a, 16).expect("nm prints hex"))
        .unwrap_or_else(|| panic!("no probed in nm's output:\n{nm}"));
    assert!(addr >= 0x400000, "a -no-pie address: {addr:#x}");
    let place = format!("    addrs:\n    - {addr:#x}");
    let policy = dir.write(
        "addrs.yaml",
        &resolve_policy("host-uprobe-addrs", "uprobes", &bin, &place, &btf, 1),
    );
    let offset = text_offset(test, &bin, addr);
    let Some(offset) = offset else {
        return;
    };
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    let stderr = running.stderr().join("\n");
    assert!(
        stderr.contains(&format!("uprobe `{bin}+{offset:#x}` attached")),
        "{stderr}"
    );
    let (status, pid, out) = run_child(&bin, &[]);
    assert!(status.success());
    assert_eq!(out, "6\n");
    running.wait_events(1, |e| pid_of(e, "process_uprobe") == Some(pid as u64));
    let f = running.stop();
    let mine = uprobes_of(&f.events(), pid);
    assert_eq!(mine.len(), 1, "one call:\n{f}");
    let u = &mine[0]["process_uprobe"];
    assert_eq!(u["offset"], offset.to_string(), "{u}");
    assert_eq!(u["args"], resolved_args(), "{u}");
}

/// The file offset of `addr` by binutils' `readelf -lW`: in the executable LOAD segment that
/// holds it, `addr - VirtAddr + Offset`; `None` (skipped) without readelf.
fn text_offset(test: &str, bin: &str, addr: u64) -> Option<u64> {
    let out = match std::process::Command::new("readelf")
        .args(["-lW", bin])
        .output()
    {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
        Err(e) => {
            skip::skip(test, &format!("readelf is not installed ({e})"));
            return None;
        }
    };
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex");
    // LOAD Offset VirtAddr PhysAddr FileSiz MemSiz Flg... Align
    let found = out.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.first() == Some(&"LOAD") && f.len() >= 8 && f[6..f.len() - 1].concat().contains('E'))
            .then(|| (hex(f[1]), hex(f[2]), hex(f[5])))
            .filter(|&(_, vaddr, memsz)| vaddr <= addr && addr < vaddr + memsz)
            .map(|(off, vaddr, _)| addr - vaddr + off)
    });
    Some(found.unwrap_or_else(|| panic!("no executable LOAD segment holds {addr:#x}:\n{out}")))
}

/// A USDT probe's argument resolved through the binary's BTF, as Tetragon's addUsdt does with
/// resolveUserBTFArg: `test:outer` passes `RESOLVE_TARGET`'s `struct outer *`.
#[test]
fn usdt_resolve_walks_the_binarys_btf() {
    let test = "usdt_resolve_walks_the_binarys_btf";
    if !run::ready(test) {
        return;
    }
    let dir = TempDir::new("usdt-btf");
    let source = format!(
        "#include <sys/sdt.h>\n{}",
        RESOLVE_TARGET.replace(
            "    printf(",
            "    DTRACE_PROBE1(test, outer, &o);\n    printf("
        )
    );
    let Some(bin) = dir.compile_c(test, "target", &source) else {
        return;
    };
    let Some(btf) = btf_of(test, &bin) else {
        return;
    };
    let place = "    provider: \"test\"\n    name: \"outer\"";
    let policy = dir.write(
        "usdt-btf.yaml",
        &resolve_policy("host-usdt-btf", "usdts", &bin, place, &btf, 0),
    );
    let running = started(&[policy.as_str(), "--policy-events-only"]);
    let (status, pid, out) = run_child(&bin, &[]);
    assert!(status.success());
    assert_eq!(out, "6\n");
    running.wait_events(1, |e| pid_of(e, "process_usdt") == Some(pid as u64));
    let f = running.stop();
    let mine = usdts_of(&f.events(), pid);
    assert_eq!(mine.len(), 1, "one probe:\n{f}");
    assert_eq!(mine[0]["args"], resolved_args(), "{}", mine[0]);
}
