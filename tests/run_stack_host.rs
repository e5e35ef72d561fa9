//! Post's `kernelStackTrace` and `userStackTrace` in `policyctl run` on this machine's kernel,
//! as root: a `syscall: true` kprobe on `sys_openat` (served on this host by the
//! `syscalls/sys_enter_openat` tracepoint) scoped to a program the test built (`gcc -O0`, so
//! with frame pointers) in its temporary directory. The program opens one file through libc's
//! `open`, one with the `syscall` instruction in its own `open_direct`, then sleeps so its maps
//! are still there when the events are symbolized (Tetragon, too, reads /proc/PID/maps when it
//! prints an event).
//!
//! What must be there: each kernel stack names the syscall entry (`do_syscall_64` and
//! `entry_SYSCALL_64*`, which every syscall passes), every frame with a symbol and no module
//! (as Tetragon prints kernel frames); the libc open's first user frame is libc's open wrapper
//! (module: libc's file); the direct open's user frames are `open_direct` then `main`, module
//! the test's program. No frame shows an address without `--expose-stack-addresses`; with it,
//! every frame does. A `return: true` hook (served by `syscalls/sys_exit_openat`) shows the
//! entry's stacks beside its `return`.
//!
//! Safety: the policy only posts (no enforcement), and only for the test's own binary.

#[path = "support/run.rs"]
mod run;
#[path = "support/skip.rs"]
mod skip;

use run::{pid_of, run_child, started, TempDir};
use serde_json::Value;

const PROGRAM: &str = r#"
#include <fcntl.h>
#include <unistd.h>
/* through libc's open wrapper */
__attribute__((noinline)) int open_libc(const char *path)
{
    int fd = open(path, O_RDONLY);
    asm volatile("" ::: "memory");
    return fd;
}
/* the syscall instruction itself: the user stack starts in this function */
__attribute__((noinline)) long open_direct(const char *path)
{
    long fd;
    asm volatile("syscall"
                 : "=a"(fd)
                 : "a"(257L /* openat */), "D"(-100L /* AT_FDCWD */), "S"(path), "d"(0L)
                 : "rcx", "r11", "memory");
    return fd;
}
int main(int argc, char **argv)
{
    int a = open_libc(argv[1]);
    long b = open_direct(argv[2]);
    usleep(700000);
    return a >= 0 && b >= 0 ? 0 : 1;
}
"#;

fn policy(bin: &str, dir: &str) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "stacks"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    args:
    - index: 1
      type: "string"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "{dir}/"
      matchBinaries:
      - operator: "In"
        values:
        - "{bin}"
      matchActions:
      - action: Post
        kernelStackTrace: true
        userStackTrace: true
"#
    )
}

fn frames<'a>(event: &'a Value, key: &str) -> &'a [Value] {
    event["process_kprobe"][key]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn text<'a>(frame: &'a Value, key: &str) -> &'a str {
    frame[key].as_str().unwrap_or("")
}

/// Runs the program under the policy and returns its two process_kprobe events: the open
/// through libc, then the direct one.
fn stack_events(test: &str, expose: bool) -> Option<(Value, Value)> {
    if !run::ready(test) {
        return None;
    }
    let dir = TempDir::new(test);
    let bin = dir.compile_c(test, "stacky", PROGRAM)?;
    let via_libc = dir.write("libc.txt", "x\n");
    let direct = dir.write("direct.txt", "x\n");
    let policy = dir.write("policy.yaml", &policy(&bin, dir.str()));
    let mut args = vec![policy.as_str(), "-o", "json", "--policy-events-only"];
    if expose {
        args.push("--expose-stack-addresses");
    }
    let running = started(&args);
    let (status, pid, _) = run_child(&bin, &[&via_libc, &direct]);
    assert!(status.success(), "{status:?}");
    let events = running.wait_events(2, |e| pid_of(e, "process_kprobe") == Some(pid as u64));
    let f = running.stop();
    assert!(f.status.success(), "{f}");
    let of = |path: &str| {
        events
            .iter()
            .find(|e| e["process_kprobe"]["args"][0]["string_arg"].as_str() == Some(path))
            .unwrap_or_else(|| panic!("no event for {path}: {events:?}"))
            .clone()
    };
    Some((of(&via_libc), of(&direct)))
}

fn assert_kernel_stack(event: &Value) {
    let kernel = frames(event, "kernel_stack_trace");
    assert!(!kernel.is_empty(), "no kernel_stack_trace: {event}");
    // every syscall passes through them (arch/x86/entry)
    assert!(
        kernel.iter().any(|f| text(f, "symbol") == "do_syscall_64"),
        "no do_syscall_64 in the kernel stack: {event}"
    );
    assert!(
        kernel
            .iter()
            .any(|f| text(f, "symbol").starts_with("entry_SYSCALL_64")),
        "no entry_SYSCALL_64 in the kernel stack: {event}"
    );
    for f in kernel {
        assert!(
            !text(f, "symbol").is_empty(),
            "a kernel frame without symbol: {f}"
        );
        // Tetragon leaves the module of kernel frames empty (pkg/grpc/tracing/tracing.go)
        assert!(f.get("module").is_none(), "{f}");
        // offsets are uint64: strings in proto3 JSON
        assert!(f.get("offset").is_none_or(Value::is_string), "{f}");
    }
}

#[test]
fn kernel_and_user_stacks_are_symbolized() {
    let test = "kernel_and_user_stacks_are_symbolized";
    let Some((via_libc, direct)) = stack_events(test, false) else {
        return;
    };
    assert_kernel_stack(&via_libc);
    assert_kernel_stack(&direct);
    // through libc: the first frame is libc's open wrapper (`open`, `__open64`, `__libc_open64`
    // name the same code), in libc's file
    let user = frames(&via_libc, "user_stack_trace");
    assert!(!user.is_empty(), "no user_stack_trace: {via_libc}");
    assert!(
        text(&user[0], "module").contains("/libc"),
        "the first user frame is not in libc: {via_libc}"
    );
    assert!(
        text(&user[0], "symbol").contains("open"),
        "the first user frame is not libc's open wrapper: {via_libc}"
    );
    assert!(user[0]["offset"].is_string(), "{via_libc}");
    // direct: the frames are the program's own functions, innermost first
    let user = frames(&direct, "user_stack_trace");
    let named: Vec<(&str, &str)> = user
        .iter()
        .map(|f| (text(f, "symbol"), text(f, "module")))
        .collect();
    assert!(named.len() >= 2, "{direct}");
    assert_eq!(named[0].0, "open_direct", "{direct}");
    assert_eq!(named[1].0, "main", "{direct}");
    for (_, module) in &named[..2] {
        assert!(module.ends_with("/stacky"), "{direct}");
    }
    for f in frames(&via_libc, "kernel_stack_trace")
        .iter()
        .chain(frames(&direct, "user_stack_trace"))
    {
        assert!(
            f.get("address").is_none(),
            "an address without the flag: {f}"
        );
    }
}

#[test]
fn stack_addresses_shown_when_asked() {
    let test = "stack_addresses_shown_when_asked";
    let Some((_, event)) = stack_events(test, true) else {
        return;
    };
    let kernel = frames(&event, "kernel_stack_trace");
    let user = frames(&event, "user_stack_trace");
    assert!(!kernel.is_empty() && !user.is_empty(), "{event}");
    for f in kernel.iter().chain(user) {
        let a: u64 = text(f, "address").parse().unwrap_or(0);
        assert_ne!(a, 0, "a frame without its address: {f}");
    }
    // kernel addresses are in the kernel's half of the address space, user ones below it
    assert!(kernel
        .iter()
        .all(|f| text(f, "address").parse::<u64>().unwrap() >= 1 << 63));
    assert!(user
        .iter()
        .all(|f| text(f, "address").parse::<u64>().unwrap() < 1 << 63));
}

/// A `return: true` hook: the entry takes the stacks and keeps them with its event for the
/// return (`keep_entry`), and the merged event shows them beside `return`.
#[test]
fn return_probe_keeps_the_entry_stacks() {
    let test = "return_probe_keeps_the_entry_stacks";
    if !run::ready(test) {
        return;
    }
    let dir = TempDir::new(test);
    let Some(bin) = dir.compile_c(test, "stacky", PROGRAM) else {
        return;
    };
    let present = dir.write("present.txt", "x\n");
    let missing = dir.join("missing.txt");
    let policy = dir.write(
        "policy.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "stacks-return"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    return: true
    args:
    - index: 1
      type: "string"
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "{dir}/"
      matchBinaries:
      - operator: "In"
        values:
        - "{bin}"
      matchActions:
      - action: Post
        kernelStackTrace: true
        userStackTrace: true
"#,
            dir = dir.str()
        ),
    );
    let running = started(&[policy.as_str(), "-o", "json", "--policy-events-only"]);
    let (status, pid, _) = run_child(&bin, &[&present, &missing]);
    assert_eq!(status.code(), Some(1), "the second open fails: {status:?}");
    let events = running.wait_events(2, |e| pid_of(e, "process_kprobe") == Some(pid as u64));
    let f = running.stop();
    assert!(f.status.success(), "{f}");
    let direct = events
        .iter()
        .find(|e| e["process_kprobe"]["args"][0]["string_arg"].as_str() == Some(missing.as_str()))
        .unwrap_or_else(|| panic!("no event for {missing}: {events:?}"));
    // -ENOENT from the direct open
    assert_eq!(
        direct["process_kprobe"]["return"]["int_arg"], -2,
        "{direct}"
    );
    assert_kernel_stack(direct);
    let user: Vec<&str> = frames(direct, "user_stack_trace")
        .iter()
        .map(|f| text(f, "symbol"))
        .collect();
    assert_eq!(
        user.get(..2),
        Some(&["open_direct", "main"][..]),
        "{direct}"
    );
}
