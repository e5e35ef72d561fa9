//! Uprobes, uretprobes and USDT probes in the VM, on Debian's 6.12 and 6.1 (`tests/support/vm.rs`;
//! one boot per kernel, one test each, so both boot at once): the programs of the host tests
//! (`testdata/uprobe/refctr.c`, `testdata/uprobe/usdt_args.c`, built with `gcc -static -O2`)
//! run under one `policyctl run` of three policies:
//! - a uprobe on `greet(int n, const char *who)` with both args and a matchArgs filter (`n` LT
//!   10 and `who` Equal `alice`): exactly the two calls it matches give events, with both values;
//! - a uretprobe (`return: true`, `returnArg`) on the same function, filtered by matchReturnArgs:
//!   the one call whose return matches gives an event, the return value merged into its args as
//!   the last one (`process_uprobe` has no `return`; Tetragon's `retprobeMerge` appends it);
//! - a USDT probe with a semaphore (`test:sema`), which the program fires only while the kernel
//!   has counted its semaphore up: 0 before the run, 1 while attached (the event, with its int
//!   arg), 0 again after, both in a process started before the run and kept running to the end
//!   (the kernel counts it when the probe is registered and when it is removed) and in
//!   processes started at each step (counted when they map the binary); and a USDT probe
//!   without one (`test:args`, four args read where the notes say, a matchArgs filter picking
//!   one of its two sites);
//! - and, in two more policies, uprobes on `greet` placed without its symbol: by `offsets` (its
//!   file offset, from the symbol table on the host) and by `addrs` (its virtual address, 0x400000
//!   and up in a static non-PIE program: only Tetragon's address-to-offset conversion,
//!   `OffsetFromAddr`, attaches it at `greet`), each giving an event at every call, with the
//!   offset.
//!
//! Every hook is placed in the test's own binaries under /opt/up. The events are decoded into
//! Tetragon's own messages too (`support/tetragon_api.rs`). Skipped without qemu, the kernel
//! package or `<sys/sdt.h>` (systemtap-sdt-dev); fails when `CI` is set.

use crate::skip;
use crate::tetragon_api;
use crate::vm;

use serde_json::{json, Value};

/// The program with the uprobe target `greet` and the USDT probe `test:sema` with a semaphore.
const TARGET: &str = include_str!("../../testdata/uprobe/refctr.c");
/// The program with the USDT probe `test:args` (two sites, no semaphore).
const USDT_ARGS: &str = include_str!("../../testdata/uprobe/usdt_args.c");
/// `test:args` of [`USDT_ARGS`] as a `usdts:` entry, its path `@PATH@` (shared with
/// run_uprobe_host.rs).
const USDT_ARGS_HOOK: &str = include_str!("../../testdata/uprobe/usdt_args_hook.yaml");

/// `greet`'s args, events only for `n < 10` and `who == "alice"`.
const GREET: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "vm-uprobe"
spec:
  uprobes:
  - path: "/opt/up/target"
    symbols:
    - "greet"
    args:
    - index: 0
      type: "int"
      label: "n"
    - index: 1
      type: "string"
      label: "who"
    selectors:
    - matchArgs:
      - index: 0
        operator: "LT"
        values:
        - "10"
      - index: 1
        operator: "Equal"
        values:
        - "alice"
"#;

/// `greet`'s args and return value, an event only when it returns 403.
const GREET_RETURN: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "vm-uretprobe"
spec:
  uprobes:
  - path: "/opt/up/target"
    symbols:
    - "greet"
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "string"
    return: true
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchReturnArgs:
      - index: 0
        operator: "Equal"
        values:
        - "403"
"#;

/// `test:sema` (semaphore) of the target, and `test:args` (no semaphore) of the other program,
/// an event only at its site where the first arg is 2.
fn usdts() -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "vm-usdt"
spec:
  usdts:
  - path: "/opt/up/target"
    provider: "test"
    name: "sema"
    args:
    - index: 0
      type: "int32"
{}"#,
        USDT_ARGS_HOOK.replace("@PATH@", "/opt/up/usdt")
    )
}

/// A uprobe on `greet` at `place` (`offsets:` or `addrs:` and its one value), with `greet`'s
/// arg at `index` of type `ty`, no filter: an event at every call.
fn unnamed_greet(name: &str, place: &str, index: u32, ty: &str) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "{name}"
spec:
  uprobes:
  - path: "/opt/up/target"
{place}
    args:
    - index: {index}
      type: "{ty}"
"#
    )
}

/// `greet`'s file offset (by the runtime's symbol lookup, as run_refctr_host.rs takes it) and
/// its virtual address (by binutils' `nm`) in the program at `bin`; `None` (skipped) without nm.
fn greet_place(name: &str, bin: &std::path::Path) -> Option<(u64, u64)> {
    let path = bin.to_str().expect("a UTF-8 stage path");
    let offset = policyctl_runtime::refctr::symbol_offset(path, "greet")
        .unwrap_or_else(|e| panic!("{name}: greet's offset: {e}"));
    let nm = match std::process::Command::new("nm").arg(bin).output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
        Err(e) => {
            skip::skip(name, &format!("nm is not installed ({e})"));
            return None;
        }
    };
    let addr = nm
        .lines()
        .find_map(|l| l.strip_suffix(" T greet"))
        .map(|a| u64::from_str_radix(a, 16).expect("nm prints hex"))
        .unwrap_or_else(|| panic!("{name}: no greet in nm's output"));
    // a static non-PIE program: its address is not its offset, so `addrs` must be converted
    assert!(
        addr >= 0x400000 && addr != offset,
        "{name}: greet at {addr:#x}, offset {offset:#x}"
    );
    Some((offset, addr))
}

/// Shell helper: `early N` sends `f` to the target started in the first scenario (reading the
/// fifo /tmp/up.in, writing /tmp/up.out) and prints `early: ` and its counters once it has
/// printed its Nth line.
const EARLY: &str = r#"
early() {
  echo f >/tmp/up.in
  i=0
  until [ "$(wc -l </tmp/up.out)" -ge "$1" ]; do
    i=$((i + 1)); [ $i -lt 400 ] || break; sleep 0.05
  done
  echo "early: $(sed -n "$1p" /tmp/up.out)"
}
"#;

#[test]
fn uprobes_uretprobes_and_usdts_in_a_vm_6_12() {
    uprobes_on(vm::VmKernel::Debian6_12, "run_uprobe");
}

#[test]
fn uprobes_uretprobes_and_usdts_in_a_vm_6_1() {
    uprobes_on(vm::VmKernel::Debian6_1, "run_uprobe_6_1");
}

fn uprobes_on(kernel: vm::VmKernel, name: &str) {
    let sdt = [
        "/usr/include/x86_64-linux-gnu/sys/sdt.h",
        "/usr/include/sys/sdt.h",
    ];
    if !sdt.iter().any(|h| std::path::Path::new(h).exists()) {
        skip::skip(
            name,
            "<sys/sdt.h> is not installed (Debian: apt-get install systemtap-sdt-dev)",
        );
        return;
    }
    let Some(vm) = vm::Vm::builder_on(name, kernel) else {
        return;
    };
    let scenario = |body: &str| format!("{}\n{body}", vm::RUN_HELPERS);
    let vm = vm
        .c_program("/opt/up/target", TARGET)
        .c_program("/opt/up/usdt", USDT_ARGS);
    let Some((greet_offset, greet_addr)) = greet_place(name, &vm.staged("/opt/up/target")) else {
        return;
    };
    let run = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .bytes("/etc/policies/greet.yaml", GREET, 0o644)
        .bytes("/etc/policies/greet-return.yaml", GREET_RETURN, 0o644)
        .bytes("/etc/policies/usdt.yaml", usdts(), 0o644)
        .bytes(
            "/etc/policies/greet-offsets.yaml",
            unnamed_greet(
                "vm-uprobe-offsets",
                &format!("    offsets:\n    - {greet_offset:#x}"),
                0,
                "int",
            ),
            0o644,
        )
        .bytes(
            "/etc/policies/greet-addrs.yaml",
            unnamed_greet(
                "vm-uprobe-addrs",
                &format!("    addrs:\n    - {greet_addr:#x}"),
                1,
                "string",
            ),
            0o644,
        )
        // the counters as the program sees them with nothing attached (`f` fires nothing): in
        // a process started now and driven through a fifo until the end (`early`), and in one
        // started and ended now
        .scenario(
            "before",
            &format!(
                "{EARLY}
                 mkfifo /tmp/up.in
                 # a writer that outlives this scenario (`sleep`, with the fifo open read-write
                 # on fd 3) keeps the target from reading the end of its input between lines
                 exec 3<>/tmp/up.in
                 sleep 600 >/dev/null 2>&1 &
                 echo $! >/tmp/up.holder
                 /opt/up/target </tmp/up.in >/tmp/up.out 2>/dev/null 3>&- &
                 echo \"early pid=$!\"
                 early 1
                 echo \"fresh: $(printf 'f\\n' | /opt/up/target)\""
            ),
        )
        .scenario_with_timeout(
            "run",
            &scenario(&format!(
                "{EARLY}
                 start /etc/policies/greet.yaml /etc/policies/greet-return.yaml /etc/policies/usdt.yaml \\
                   /etc/policies/greet-offsets.yaml /etc/policies/greet-addrs.yaml \\
                   --policy-events-only -o json --node-name vm || exit 1
                 early 2
                 printf 'g 3 alice\\ng 4 bob\\ng 12 alice\\ng 5 alice\\nf\\n' | /opt/up/target
                 echo \"target rc=$?\"
                 /opt/up/usdt; echo \"usdt rc=$?\"
                 stop"
            )),
            std::time::Duration::from_secs(150),
        )
        // detached: the kernel counted the semaphore down in both the running process and the
        // binary's next one
        .scenario(
            "after",
            &format!(
                "{EARLY}
                 early 3
                 echo \"fresh: $(printf 'f\\n' | /opt/up/target)\"
                 kill $(cat /tmp/up.holder)"
            ),
        )
        .timeout(std::time::Duration::from_secs(360))
        .run();
    eprintln!("{}", run.timings());

    let before = run.ok("before");
    assert!(
        before.contains("early: 0 0 0\n"),
        "nothing counted yet:\n{before}"
    );
    assert!(
        before.contains("fresh: 0 0 0\n"),
        "nothing counted yet:\n{before}"
    );
    let early_pid: u64 = before
        .split_once("early pid=")
        .and_then(|(_, rest)| rest.lines().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{name}: no early pid:\n{before}"));
    let after = run.ok("after");
    assert!(
        after.contains("early: 0 0 0\n"),
        "counted down on detach:\n{after}"
    );
    assert!(
        after.contains("fresh: 0 0 0\n"),
        "counted down on detach:\n{after}"
    );

    let out = run.ok("run");
    for line in [
        "vm-uprobe: uprobe `/opt/up/target:greet` attached with uprobe",
        "vm-uretprobe: uprobe `/opt/up/target:greet` attached with uprobe",
        "vm-uretprobe: its return attached with uretprobe",
        "usdt `/opt/up/target:test:sema` (at 0x",
        "usdt `/opt/up/usdt:test:args` (at 0x",
        // the process started before the attach: its semaphore counted up by the attach
        "early: 1 0 0\n",
        "target rc=0",
        "usdt rc=0",
        // the program's own output: greet's results, and the semaphore counted up (1) while
        // attached, so `f` fired the probe
        "greet 3 alice = 305\n1 0 0\ngreet 4 bob = 403\n1 0 0\ngreet 12 alice = 1205\n1 0 0\n\
         greet 5 alice = 505\n1 0 0\n1 0 0\n",
    ] {
        assert!(out.contains(line), "{name}: no `{line}` in:\n{out}");
    }
    assert!(out.contains("semaphore at 0x"), "{name}:\n{out}");
    // both unnamed uprobes at greet's file offset: the address converted to it
    for policy in ["vm-uprobe-offsets", "vm-uprobe-addrs"] {
        let line = format!("{policy}: uprobe `/opt/up/target+{greet_offset:#x}` attached");
        assert!(out.contains(&line), "{name}: no `{line}` in:\n{out}");
    }
    let events = vm::json_events(out);
    let of = |kind: &str, policy: &str| -> Vec<&Value> {
        events
            .iter()
            .map(|e| &e[kind])
            .filter(|u| u["policy_name"] == policy)
            .collect()
    };

    // 1. the uprobe: the two calls matchArgs holds, in order, with both args and their labels
    let entries = of("process_uprobe", "vm-uprobe");
    let args: Vec<&Value> = entries.iter().map(|u| &u["args"]).collect();
    assert_eq!(
        args,
        [
            &json!([{"int_arg": 3, "label": "n"}, {"string_arg": "alice", "label": "who"}]),
            &json!([{"int_arg": 5, "label": "n"}, {"string_arg": "alice", "label": "who"}]),
        ],
        "{name}: greet(3, alice) and greet(5, alice) only:\n{out}"
    );
    for u in &entries {
        assert_eq!(u["path"], "/opt/up/target", "{u}");
        assert_eq!(u["symbol"], "greet", "{u}");
        assert_eq!(u["action"], "KPROBE_ACTION_POST", "{u}");
        assert_eq!(u["process"]["binary"], "/opt/up/target", "{u}");
    }

    // 2. the uretprobe: only greet(4, bob), whose return (403) is the last arg, with no label
    let returns = of("process_uprobe", "vm-uretprobe");
    assert_eq!(returns.len(), 1, "{name}: greet(4, bob) only:\n{out}");
    let r = returns[0];
    assert_eq!(
        r["args"],
        json!([{"int_arg": 4}, {"string_arg": "bob"}, {"int_arg": 403}]),
        "{r}"
    );
    assert!(r.get("return").is_none(), "{r}");
    assert_eq!(r["symbol"], "greet", "{r}");
    assert_eq!(r["process"]["binary"], "/opt/up/target", "{r}");
    assert_eq!(r["process"]["pid"], entries[0]["process"]["pid"], "{r}");

    // 3. the USDT probes: test:sema fired through its semaphore, once in the process started
    // before the attach and once in the one started after it (its one `f` each), with the int
    // the note places at 12(%rsp); test:args at its second site only (a == 2)
    let usdts = of("process_usdt", "vm-usdt");
    assert_eq!(
        usdts.len(),
        3,
        "{name}: test:sema twice and test:args:\n{out}"
    );
    let sema: Vec<&Value> = usdts
        .iter()
        .copied()
        .filter(|u| u["name"] == "sema")
        .collect();
    let sema_pids: Vec<&Value> = sema.iter().map(|u| &u["process"]["pid"]).collect();
    assert_eq!(
        sema_pids,
        [&json!(early_pid), &entries[0]["process"]["pid"]],
        "{name}: test:sema in the early process, then in the later one:\n{out}"
    );
    for u in &sema {
        assert_eq!(u["provider"], "test", "{u}");
        assert_eq!(u["path"], "/opt/up/target", "{u}");
        assert_eq!(u["args"], json!([{"int_arg": 7}]), "{u}");
    }
    let plain = usdts
        .iter()
        .find(|u| u["name"] == "args")
        .unwrap_or_else(|| panic!("{name}: no test:args event:\n{out}"));
    assert_eq!(plain["path"], "/opt/up/usdt", "{plain}");
    assert_eq!(plain["process"]["binary"], "/opt/up/usdt", "{plain}");
    assert_eq!(
        plain["args"],
        json!([{"int_arg": 2}, {"long_arg": "42", "label": "b"}, {"string_arg": "hello-usdt"}, {"int_arg": 5}]),
        "{plain}"
    );
    assert_eq!(plain["action"], "KPROBE_ACTION_POST", "{plain}");

    // 4. by `offsets` and by `addrs`: greet's four calls each, in order, at greet's file offset
    // (ProcessUprobe's `offset`, a uint64: a string in JSON), with no symbol
    for (policy, want) in [
        (
            "vm-uprobe-offsets",
            [json!(3), json!(4), json!(12), json!(5)].map(|n| json!([{ "int_arg": n }])),
        ),
        (
            "vm-uprobe-addrs",
            ["alice", "bob", "alice", "alice"].map(|w| json!([{ "string_arg": w }])),
        ),
    ] {
        let calls = of("process_uprobe", policy);
        let args: Vec<&Value> = calls.iter().map(|u| &u["args"]).collect();
        assert_eq!(
            args,
            want.iter().collect::<Vec<_>>(),
            "{name} {policy}:\n{out}"
        );
        for u in &calls {
            assert_eq!(u["offset"], greet_offset.to_string(), "{u}");
            assert!(u.get("symbol").is_none_or(|s| s == ""), "{u}");
            assert_eq!(u["path"], "/opt/up/target", "{u}");
            assert_eq!(u["action"], "KPROBE_ACTION_POST", "{u}");
            assert_eq!(u["process"]["pid"], entries[0]["process"]["pid"], "{u}");
        }
    }
    assert_eq!(events.len(), 14, "{name}: nothing else:\n{out}");

    // a consumer written for Tetragon reads each of them
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    match tetragon_api::compiled(name) {
        Ok((py, gen)) => {
            let t0 = std::time::Instant::now();
            let d = tetragon_api::decode(&py, &gen, &lines);
            assert_eq!(
                d.kinds.get("process_uprobe"),
                Some(&json!(11)),
                "{:?}",
                d.kinds
            );
            assert_eq!(
                d.kinds.get("process_usdt"),
                Some(&json!(3)),
                "{:?}",
                d.kinds
            );
            tetragon_api::report(name, "VM uprobe and USDT events", &d, t0);
        }
        Err(reason) => skip::skip(&format!("{name} (Tetragon's messages)"), &reason),
    }
}
