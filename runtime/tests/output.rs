//! Ring-buffer records, built from the layout structs byte for byte as the
//! kernel writes them, decoded and rendered in both of Tetragon's formats.

use policyctl_runtime::event::{decode, Event};
use policyctl_runtime::layout::{
    action, arg_type, event_type, EventArg, EventHeader, ExecEvent, ExitEvent, ForkEvent,
    HookConfig, HookEvent, ReturnEvent, SockTuple, ARGV_BUF, ARG_BUF, HOOK_EVENT_FIXED, MAX_ARGS,
    RETURN_EVENT_FIXED,
};
use policyctl_runtime::output::{Format, Renderer};
use policyctl_runtime::plan::{ArgPlan, Attach, EventKind, HookPlan, Plan, PolicyPlan};
use policyctl_runtime::process::{ProcessCache, ProcessInfo};

const NODE: &str = "test-node";
/// Boot time 0 is 2026-01-01T00:00:00Z.
const BOOT_OFFSET: i64 = 1_767_225_600_000_000_000;

fn bytes_of<T: Copy>(v: &T) -> Vec<u8> {
    // SAFETY: T is plain #[repr(C)] data; we only read its bytes.
    unsafe { std::slice::from_raw_parts(v as *const T as *const u8, std::mem::size_of::<T>()) }
        .to_vec()
}

fn header(ty: u32, pid: u32, tid: u32, uid: u32, ktime: u64) -> EventHeader {
    EventHeader {
        ty,
        pid,
        tid,
        uid,
        ktime,
    }
}

fn exec_record(pid: u32, ppid: u32, uid: u32, binary: &str, argv: &[&str]) -> Vec<u8> {
    exec_record_at(5_123_456_789, pid, ppid, uid, binary, argv)
}

/// An exec at boot time `ktime`, in a task started at 5 s.
fn exec_record_at(
    ktime: u64,
    pid: u32,
    ppid: u32,
    uid: u32,
    binary: &str,
    argv: &[&str],
) -> Vec<u8> {
    let mut ev = ExecEvent {
        header: header(event_type::EXEC, pid, pid, uid, ktime),
        ppid,
        args_len: 0,
        binary_len: binary.len() as u32,
        cwd_len: 5,
        start_boottime: 5_000_000_000,
        nspid: pid,
        auid: 1000, // a login session's

        binary: [0; ARG_BUF],
        cwd: [0; ARG_BUF],
        args: [0; ARGV_BUF],
    };
    ev.cwd[..5].copy_from_slice(b"/home");
    ev.binary[..binary.len()].copy_from_slice(binary.as_bytes());
    let mut at = 0;
    for a in argv {
        ev.args[at..at + a.len()].copy_from_slice(a.as_bytes());
        at += a.len() + 1; // NUL separator, already zero
    }
    ev.args_len = at as u32;
    bytes_of(&ev)
}

fn fork_record(pid: u32, ppid: u32, ktime: u64) -> Vec<u8> {
    bytes_of(&ForkEvent {
        header: header(event_type::FORK, pid, pid, 0, ktime),
        ppid,
        _pad: 0,
        start_boottime: ktime,
    })
}

fn exit_record(pid: u32, ppid: u32, exit_code: u32) -> Vec<u8> {
    bytes_of(&ExitEvent {
        header: header(event_type::EXIT, pid, pid, 0, 9_000_000_000),
        ppid,
        exit_code,
    })
}

fn none() -> EventArg {
    EventArg {
        ty: 0,
        len: 0,
        mode: 0,
        _pad: 0,
        data: [0; ARG_BUF / 8],
    }
}

fn int(ty: u8, v: i64) -> EventArg {
    let mut a = EventArg {
        ty: ty.into(),
        ..none()
    };
    a.data[0] = v as u64;
    a
}

fn text(ty: u8, s: &[u8]) -> EventArg {
    let mut bytes = [0u8; ARG_BUF];
    bytes[..s.len()].copy_from_slice(s);
    let mut a = EventArg {
        ty: ty.into(),
        len: s.len() as u32,
        ..none()
    };
    for (i, c) in bytes.chunks_exact(8).enumerate() {
        a.data[i] = u64::from_ne_bytes(c.try_into().unwrap());
    }
    a
}

fn sock(t: SockTuple) -> EventArg {
    let raw = bytes_of(&t);
    let mut a = text(arg_type::SOCK, &raw);
    a.len = 0;
    a
}

fn v4(a: [u8; 4]) -> [u8; 16] {
    let mut b = [0; 16];
    b[..4].copy_from_slice(&a);
    b
}

fn hook_record(slot: u32, pid: u32, tid: u32, act: u32, args: Vec<EventArg>) -> Vec<u8> {
    let mut all = [none(); MAX_ARGS];
    for (i, a) in args.into_iter().enumerate() {
        all[i] = a;
    }
    bytes_of(&HookEvent {
        header: header(event_type::HOOK, pid, tid, 1000, 7_250_000_000),
        slot,
        selector: 0,
        action: act,
        action_arg: 0,
        syscall: 0,
        args: all,
    })
}

fn arg(ty: &str, label: Option<&str>) -> ArgPlan {
    ArgPlan {
        ty: ty.into(),
        label: label.map(Into::into),
    }
}

fn hook(
    slot: u32,
    attach: Attach,
    event: EventKind,
    function_name: &str,
    args: Vec<ArgPlan>,
) -> HookPlan {
    HookPlan {
        policy: 0,
        attach,
        slot,
        event,
        function_name: function_name.into(),
        args,
        ret: None,
        message: None,
        tags: Vec::new(),
        config: HookConfig::default(),
        strings: Vec::new(),
    }
}

fn kprobe(slot: u32, symbol: &str, args: Vec<ArgPlan>) -> HookPlan {
    let attach = Attach::Kprobe {
        symbol: symbol.into(),
        override_: false,
    };
    hook(slot, attach, EventKind::Kprobe, symbol, args)
}

const OPENAT: u32 = 0;
const CONNECT: u32 = 1;
const WRITE: u32 = 2;
const UNLINK: u32 = 3;
const SETUID: u32 = 4;
const RAW_TP: u32 = 36;
const KILL_TP: u32 = 37;
const LSM: u32 = 24;
const LSM_BPRM: u32 = 25;
const RAW_TP_ID: u32 = 38;
const UPROBE: u32 = 48;
const OPENAT_RETURN: u32 = 5;
const ACCEPT_RETURN: u32 = 6;

fn plan() -> Plan {
    let mut lsm = hook(
        LSM,
        Attach::Lsm {
            hook: "file_open".into(),
        },
        EventKind::Lsm,
        "file_open",
        vec![arg("file", None)],
    );
    lsm.message = Some("no shadow for you".into());
    lsm.tags = vec!["files".into(), "MITRE:T1003".into()];
    let mut uprobe = hook(
        UPROBE,
        Attach::Uprobe {
            path: "/usr/bin/bash".into(),
            symbol: "readline".into(),
        },
        EventKind::Uprobe,
        "readline",
        vec![],
    );
    uprobe.message = Some("bash readline".into());
    let mut connect = kprobe(CONNECT, "tcp_connect", vec![arg("sock", Some("socket"))]);
    connect.tags = vec!["network".into()];
    Plan {
        policies: vec![PolicyPlan {
            name: "demo".into(),
            namespace: None,
            file: "demo.yaml".into(),
        }],
        hooks: vec![
            kprobe(
                OPENAT,
                "__x64_sys_openat",
                vec![
                    arg("int", Some("dfd")),
                    arg("string", Some("filename")),
                    arg("int", None),
                ],
            ),
            connect,
            kprobe(
                WRITE,
                "__x64_sys_write",
                vec![arg("fd", None), arg("char_buf", None), arg("size_t", None)],
            ),
            kprobe(
                UNLINK,
                "vfs_unlink",
                vec![
                    arg("dentry", None),
                    arg("uint32", None),
                    arg("long", None),
                    arg("uint64", None),
                ],
            ),
            hook(
                SETUID,
                Attach::RawSyscall {
                    symbol: "__x64_sys_setuid".into(),
                    nr: 105,
                },
                EventKind::Kprobe,
                "__x64_sys_setuid",
                vec![arg("int", None)],
            ),
            hook(
                RAW_TP,
                Attach::Tracepoint {
                    subsystem: "raw_syscalls".into(),
                    event: "sys_enter".into(),
                },
                EventKind::Tracepoint,
                "sys_enter",
                vec![arg("int64", None), arg("uint64", None)],
            ),
            hook(
                KILL_TP,
                Attach::Tracepoint {
                    subsystem: "syscalls".into(),
                    event: "sys_enter_kill".into(),
                },
                EventKind::Tracepoint,
                "sys_enter_kill",
                vec![arg("int", Some("pid")), arg("int", Some("sig"))],
            ),
            lsm,
            hook(
                LSM_BPRM,
                Attach::Lsm {
                    hook: "bprm_check_security".into(),
                },
                EventKind::Lsm,
                "bprm_check_security",
                vec![arg("linux_binprm", None)],
            ),
            hook(
                RAW_TP_ID,
                Attach::Tracepoint {
                    subsystem: "raw_syscalls".into(),
                    event: "sys_enter".into(),
                },
                EventKind::Tracepoint,
                "sys_enter",
                vec![arg("syscall64", None)],
            ),
            uprobe,
            {
                let mut h = kprobe(
                    OPENAT_RETURN,
                    "__x64_sys_openat",
                    vec![arg("int", Some("dfd")), arg("string", Some("filename"))],
                );
                h.ret = Some(arg("int", None));
                h
            },
            {
                let mut h = kprobe(ACCEPT_RETURN, "inet_csk_accept", vec![]);
                h.ret = Some(arg("sock", None));
                h
            },
        ],
        skipped: Vec::new(),
    }
}

/// A cache that knows bash (pid 1000, started from /proc) and its parent init.
fn cache() -> ProcessCache {
    let mut cache = ProcessCache::without_proc(NODE);
    let info = |pid, ppid, binary: &str, arguments: &str, start| ProcessInfo {
        pid,
        ppid,
        uid: 1000,
        auid: 1000,
        cwd: Some("/home/user".into()),
        binary: binary.into(),
        arguments: arguments.into(),
        flags: "procFS".into(),
        start_boottime: start,
        exec_id: policyctl_runtime::process::exec_id(NODE, start, pid),
        parent_exec_id: None,
        // init is pid 1 in its namespace; seed marks bash below it
        in_init_tree: pid == 1,
    };
    cache.seed([
        info(1, 0, "/sbin/init", "splash", 10_000_000),
        info(1000, 1, "/usr/bin/bash", "-i", 2_500_000_000),
    ]);
    cache
}

fn render_all(records: &[Vec<u8>], format: Format) -> String {
    let plan = plan();
    let mut cache = cache();
    let renderer = Renderer::with_boot_offset(format, BOOT_OFFSET);
    records
        .iter()
        .map(|r| {
            let event = decode(r).expect("record decodes");
            renderer
                .render(&plan, &mut cache, &event)
                .unwrap_or_else(|| "<none>".into())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn both(records: &[Vec<u8>]) -> String {
    format!(
        "{}\n\n{}\n",
        render_all(records, Format::Json),
        render_all(records, Format::Compact)
    )
}

#[test]
fn exec_with_parent_in_cache() {
    let r = exec_record(
        2000,
        1000,
        1000,
        "/usr/bin/cat",
        &["cat", "/etc/passwd", "-n"],
    );
    insta::assert_snapshot!(both(&[r]));
}

#[test]
fn exec_without_parent() {
    let r = exec_record(3000, 999, 0, "/usr/bin/true", &["true"]);
    // Tetragon prints "%s %s %s": empty arguments leave a trailing space,
    // which the snapshot below cannot show.
    assert!(render_all(std::slice::from_ref(&r), Format::Compact).ends_with("/usr/bin/true "));
    insta::assert_snapshot!(both(&[r]));
}

#[test]
fn exit_with_status_then_forgotten() {
    let records = [
        exec_record(2000, 1000, 1000, "/usr/bin/false", &["false"]),
        exit_record(2000, 1000, 1 << 8),
        // The process is gone from the cache: its exit is dropped (`<none>`), as Tetragon's
        // bpf/process/bpf_exit.h event_exit_send() sends no exit for a pid missing from its
        // execve_map; never an exit with an empty binary.
        exit_record(2000, 1000, 0),
        // Never seen at all: dropped too.
        exit_record(4242, 1, 0),
    ];
    insta::assert_snapshot!(both(&records));
}

/// A fork of bash, then two execs in the child: the first after the fork carries `clone`
/// (bpf/process/bpf_execve_event.h event_set_clone(), flags in pkg/reader/exec/exec.go
/// `flagsOrdered` order), the second does not; each exec's own ktime is its `start_time` and
/// the ktime of its `exec_id` (bpf_execve_event.h `p->ktime = tg_get_ktime()`), so the two
/// execs in one pid have distinct exec ids, and the second's parent is still bash. Arguments
/// holding a space are quoted as pkg/process/args.go `ArgsDecoder` quotes them, and the compact
/// line quotes the whole arguments string as pkg/encoder/encoder.go `maybeQuote` does. bash
/// descends from init (pid 1 in its namespace), so the child is in the init tree: the flag ends
/// the flags string and `in_init_tree` is true (pkg/process/process.go sets the BoolValue, true
/// or false, from the flag; bpf/process/bpf_fork.c `set_in_init_tree()` inherits it at fork).
#[test]
fn execs_after_a_fork() {
    let records = [
        fork_record(2100, 1000, 6_000_000_000),
        exec_record_at(
            6_100_000_000,
            2100,
            1000,
            1000,
            "/usr/bin/sh",
            &["sh", "-c", "exec env X=1 a b"],
        ),
        exec_record_at(
            6_200_000_000,
            2100,
            1000,
            1000,
            "/usr/bin/env",
            &["env", "X=1", "a", "b"],
        ),
    ];
    insta::assert_snapshot!(both(&records));
}

#[test]
fn exit_with_signal() {
    insta::assert_snapshot!(both(&[exit_record(1000, 1, 9)]));
}

#[test]
fn kprobe_openat_int_and_string() {
    let r = hook_record(
        OPENAT,
        1000,
        1001,
        action::POST,
        vec![
            int(arg_type::INT, -100),
            text(arg_type::STRING, b"/etc/passwd"),
            int(arg_type::INT, 0o2101),
        ],
    );
    insta::assert_snapshot!(both(&[r]));
}

/// `cookie` is the sock's address, a uint64 (a string in protojson), as Tetragon's
/// getKprobeArgument (pkg/grpc/tracing/tracing.go) sets it from the kernel's sockaddr.
#[test]
fn kprobe_tcp_connect_sock_sigkill() {
    let t = SockTuple {
        family: 2,
        protocol: 6,
        sport: 43210,
        dport: 443,
        saddr: v4([127, 0, 0, 1]),
        daddr: v4([10, 0, 0, 7]),
        state: 2,
        ty: 1,
        cookie: 0xffff_8880_0a1b_2c00,
    };
    let r = hook_record(CONNECT, 1000, 1000, action::SIGKILL, vec![sock(t)]);
    insta::assert_snapshot!(both(&[r]));
}

#[test]
fn kprobe_write_file_bytes_size() {
    let r = hook_record(
        WRITE,
        1000,
        1000,
        action::POST,
        vec![
            text(arg_type::FD, b"/tmp/out.txt"),
            text(arg_type::BYTES, b"hi\0\xff"),
            int(arg_type::UINT, 4),
        ],
    );
    insta::assert_snapshot!(both(&[r]));
}

#[test]
fn kprobe_other_with_signal_action() {
    let r = hook_record(
        UNLINK,
        1000,
        1000,
        action::SIGNAL,
        vec![
            text(arg_type::DENTRY, b"/tmp/victim"),
            int(arg_type::UINT, 0o644),
            int(arg_type::INT, -2),
            int(arg_type::UINT, u64::MAX as i64),
        ],
    );
    insta::assert_snapshot!(both(&[r]));
}

#[test]
fn raw_syscall_kprobe_setuid() {
    let r = hook_record(
        SETUID,
        1000,
        1000,
        action::POST,
        vec![int(arg_type::INT, 0)],
    );
    insta::assert_snapshot!(both(&[r]));
}

/// The compact line shows the syscall's prototype with the values read, as Tetragon's
/// rawSyscallEnter (pkg/encoder/raw_syscall_enter.go) does.
#[test]
fn raw_syscalls_sys_enter_tracepoint() {
    let r = hook_record(
        RAW_TP,
        1000,
        1000,
        action::POST,
        vec![
            int(arg_type::INT, libc::SYS_openat),
            int(arg_type::UINT, 0xffff_ff9c),
        ],
    );
    // The syscall number differs between architectures.
    let out = both(&[r]).replace(
        &format!("\"long_arg\":\"{}\"", libc::SYS_openat),
        "\"long_arg\":\"<SYS_openat>\"",
    );
    insta::assert_snapshot!(out);
}

/// The policy labels the arguments (pid, sig) but tracepoint arguments carry none, as
/// MsgGenericTracepointUnix.HandleMessage (pkg/grpc/tracing/tracing.go) builds them.
#[test]
fn tracepoint() {
    let r = hook_record(
        KILL_TP,
        1000,
        1000,
        action::POST,
        vec![int(arg_type::INT, 4242), int(arg_type::INT, 9)],
    );
    insta::assert_snapshot!(both(&[r]));
}

#[test]
fn lsm_with_override() {
    let r = hook_record(
        LSM,
        1000,
        1000,
        action::OVERRIDE,
        // a regular file, rw-r----- (permission as FilePathModeToStr, pkg/reader/path/path.go)
        vec![EventArg {
            mode: 0o100640,
            ..text(arg_type::FILE, b"/etc/shadow")
        }],
    );
    insta::assert_snapshot!(both(&[r]));
}

/// `linux_binprm` comes out as `linux_binprm_arg` with the path and its permission, as
/// getKprobeArgument (pkg/grpc/tracing/tracing.go) builds it for MsgGenericKprobeArgLinuxBinprm.
#[test]
fn lsm_bprm_check_security_linux_binprm() {
    let r = hook_record(
        LSM_BPRM,
        1000,
        1000,
        action::POST,
        // a setuid root binary, rwsr-xr-x
        vec![EventArg {
            mode: 0o104755,
            ..text(arg_type::BINPRM, b"/usr/bin/sudo")
        }],
    );
    insta::assert_snapshot!(both(&[r]));
}

/// `syscall64` comes out as `syscall_id` with the number and this machine's ABI, as
/// MsgGenericTracepointUnix.HandleMessage (pkg/grpc/tracing/tracing.go) builds it for
/// MsgGenericSyscallID.
#[test]
fn raw_syscalls_sys_enter_syscall64() {
    let r = hook_record(
        RAW_TP_ID,
        1000,
        1000,
        action::POST,
        vec![int(arg_type::INT, libc::SYS_execve)],
    );
    // The syscall number and the ABI name differ between architectures.
    let abi = match std::env::consts::ARCH {
        "aarch64" => "arm64",
        "x86" => "i386",
        _ => "x64",
    };
    let out = both(&[r]).replace(
        &format!(
            "\"syscall_id\":{{\"id\":{},\"abi\":\"{abi}\"}}",
            libc::SYS_execve
        ),
        "\"syscall_id\":{\"id\":\"<SYS_execve>\",\"abi\":\"<abi>\"}",
    );
    insta::assert_snapshot!(out);
}

#[test]
fn uprobe() {
    let r = hook_record(UPROBE, 1000, 1000, action::POST, vec![]);
    insta::assert_snapshot!(both(&[r]));
}

#[test]
fn unknown_slot_renders_nothing() {
    let r = hook_record(63, 1000, 1000, action::POST, vec![]);
    let event = decode(&r).unwrap();
    let mut cache = cache();
    for format in [Format::Json, Format::Compact] {
        let renderer = Renderer::with_boot_offset(format, BOOT_OFFSET);
        assert_eq!(renderer.render(&plan(), &mut cache, &event), None);
    }
}

#[test]
fn truncated_and_garbage_records_are_none() {
    let exec = exec_record(1, 0, 0, "/x", &["x"]);
    let exit = exit_record(1, 0, 0);
    let hook = hook_record(OPENAT, 1, 1, action::POST, vec![]);
    for full in [&exec, &exit, &hook] {
        assert!(decode(full).is_some());
        for cut in [0, 1, 4, 23, 24] {
            assert_eq!(decode(&full[..cut]), None, "cut at {cut}");
        }
    }
    for full in [&exec, &exit] {
        assert_eq!(decode(&full[..full.len() - 1]), None);
    }
    // a hook event sends only its declared arguments: shorter than its fixed part is
    // garbage, anything after it decodes with the missing arguments empty
    assert_eq!(decode(&hook[..HOOK_EVENT_FIXED - 1]), None);
    assert!(decode(&hook[..HOOK_EVENT_FIXED]).is_some());
    assert_eq!(decode(&hook[..hook.len() - 1]), decode(&hook));
    // the kernel sends two arguments of a two-argument hook: the same event as all five
    let two = hook_record(
        OPENAT,
        1,
        1,
        action::POST,
        vec![
            int(arg_type::INT, -100),
            text(arg_type::STRING, b"/etc/passwd"),
        ],
    );
    let sent = HOOK_EVENT_FIXED + 2 * std::mem::size_of::<EventArg>();
    assert_eq!(decode(&two[..sent]), decode(&two));
    let mut unknown = exit.clone();
    unknown[0] = 4;
    assert_eq!(decode(&unknown), None);
    unknown[..4].copy_from_slice(&u32::MAX.to_ne_bytes());
    assert_eq!(decode(&unknown), None);
}

#[test]
fn random_records_never_panic() {
    let plan = plan();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let sizes = [
        std::mem::size_of::<ExecEvent>(),
        std::mem::size_of::<ExitEvent>(),
        std::mem::size_of::<HookEvent>(),
    ];
    for round in 0..3000 {
        let len = sizes[round % 3] + (next() % 3) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Valid types and small slots half the time, so decoding goes deep.
        bytes[..4].copy_from_slice(&(1 + (round % 3) as u32).to_ne_bytes());
        if round % 2 == 0 && len >= std::mem::size_of::<HookEvent>() {
            bytes[24..28].copy_from_slice(
                &[OPENAT, CONNECT, WRITE, UNLINK, RAW_TP, LSM, UPROBE][round % 7].to_ne_bytes(),
            );
        }
        if let Some(event) = decode(&bytes) {
            let mut cache = cache();
            for format in [Format::Json, Format::Compact] {
                let r = Renderer::with_boot_offset(format, next() as i64);
                let _ = r.render(&plan, &mut cache, &event);
            }
            if let Event::Exec(e) = &event {
                assert!(e.binary.len() <= ARG_BUF * 3);
            }
        }
    }
}

/// A return probe's record as the kernel sends it: the return half, then the entry's hook event
/// with only its `nargs` declared arguments.
fn return_record(slot: u32, ret: EventArg, ret_action: u32, args: Vec<EventArg>) -> Vec<u8> {
    let nargs = args.len();
    let entry = hook_record(slot, 1000, 1001, action::POST, args);
    let mut enter: HookEvent = policyctl_runtime::layout::read_record(&entry).unwrap();
    enter.header.ty = event_type::HOOK;
    let full = bytes_of(&ReturnEvent {
        header: header(event_type::RETURN, 1000, 1001, 1000, 7_250_000_000),
        selector: 0,
        action: ret_action,
        action_arg: 0,
        _pad: 0,
        ret,
        enter,
    });
    full[..RETURN_EVENT_FIXED + nargs * std::mem::size_of::<EventArg>()].to_vec()
}

/// `return: true` on openat: the entry's args, then `return` (an int, without label, as
/// Tetragon's return printer has none) and `return_action`, in protojson's field order.
#[test]
fn kprobe_return_openat_failed() {
    let r = return_record(
        OPENAT_RETURN,
        int(arg_type::INT, -2),
        action::POST,
        vec![
            int(arg_type::INT, -100),
            text(arg_type::STRING, b"/tmp/missing"),
        ],
    );
    insta::assert_snapshot!(both(&[r]));
}

/// A returned socket, and a Sigkill taken at the return.
#[test]
fn kprobe_return_sock_sigkill() {
    let t = SockTuple {
        family: 2,
        protocol: 6,
        sport: 22,
        dport: 40000,
        saddr: v4([10, 0, 0, 1]),
        daddr: v4([10, 0, 0, 2]),
        state: 1,
        ty: 1,
        cookie: 0xffff_8880_1234_5678,
    };
    let r = return_record(ACCEPT_RETURN, sock(t), action::SIGKILL, vec![]);
    insta::assert_snapshot!(both(&[r]));
}

/// A return record shorter than its fixed part is garbage; the entry's missing arguments read
/// as empty.
#[test]
fn truncated_return_records() {
    let r = return_record(
        OPENAT_RETURN,
        int(arg_type::INT, 3),
        action::POST,
        vec![int(arg_type::INT, -100)],
    );
    assert!(decode(&r).is_some());
    assert_eq!(decode(&r[..RETURN_EVENT_FIXED - 1]), None);
    let Some(Event::Hook(h)) = decode(&r[..RETURN_EVENT_FIXED]) else {
        panic!("a return record with no argument decodes")
    };
    assert_eq!(h.slot, OPENAT_RETURN);
    assert_eq!(
        h.ret.map(|r| (r.value, r.action)),
        Some((policyctl_runtime::event::Arg::Int(3), action::POST))
    );
}
