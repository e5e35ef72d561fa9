//! Arg types and operators only kprobes reach, on Debian's 6.12 kernel in the VM
//! (`tests/support/vm.rs`): a `cred` on `commit_creds`, an `skb` on `ip_output` filtered by
//! DPort and Protocol, and FileType / NotFileType on the `file` of `security_file_open`; and on
//! both VM kernels (6.12 and 6.1) the kernel objects of issue 15: perf_event, bpf_cmd, bpf_map,
//! kiocb and iov_iter (a write to a pseudo-terminal), user_namespace and capability, module and
//! load_info (crc7 from the kernel's own package, loaded with finit_module), and Post's
//! `rateLimit` (enforced in BPF, as Tetragon's `rate_limit` in bpf/process/types/basic.h, called
//! by generic_calls.h) on a `sys_openat` kprobe: one event per distinct args in the minute. Each
//! policy matches only a program this test installed (matchBinaries), and only posts events.
//! Skipped without qemu or the kernel package; fails when `CI` is set.

use crate::vm;

use serde_json::{json, Value};

/// Drops its privileges to uid/gid 1000 (commit_creds with the new cred), then connects to
/// 127.0.0.1:9 (the SYN goes through ip_output in its context; refused, which is fine).
const CRED_AND_CONNECT: &str = r#"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
    int rc = setresgid(1000, 1000, 1000);
    rc |= setresuid(1000, 1000, 1000);
    printf("setres rc=%d\n", rc);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    connect(fd, (struct sockaddr *)&a, sizeof(a));
    close(fd);
    return 0;
}
"#;

const CRED: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "cred"
spec:
  kprobes:
  - call: "commit_creds"
    syscall: false
    args:
    - index: 0
      type: "cred"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/usr/bin/drop-and-connect"
"#;

const SKB: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "skb"
spec:
  kprobes:
  - call: "ip_output"
    syscall: false
    args:
    - index: 2
      type: "skb"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/usr/bin/drop-and-connect"
      matchArgs:
      - index: 2
        operator: "DPort"
        values:
        - "1:100"
      - index: 2
        operator: "Protocol"
        values:
        - "IPPROTO_TCP"
"#;

/// FileType dir in one selector, NotFileType reg plus a Prefix in the other: `cat /tmp/dir`
/// matches the first, `cat /tmp/fifo`'s open the second, `cat /tmp/file` neither.
const FILE_TYPE: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "file-type"
spec:
  kprobes:
  - call: "security_file_open"
    syscall: false
    args:
    - index: 0
      type: "file"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/test/cat"
      matchArgs:
      - index: 0
        operator: "FileType"
        values:
        - "dir"
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/test/cat"
      matchArgs:
      - index: 0
        operator: "NotFileType"
        values:
        - "reg"
        - "dir"
      - index: 0
        operator: "Prefix"
        values:
        - "/tmp/"
"#;

#[test]
fn cred_skb_and_file_type_in_a_vm() {
    let Some(vm) = vm::Vm::builder("run_args") else {
        return;
    };
    let scenario = |body: &str| format!("{}\n{body}", vm::RUN_HELPERS);
    let run = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .bytes("/etc/policies/cred.yaml", CRED, 0o644)
        .bytes("/etc/policies/skb.yaml", SKB, 0o644)
        .bytes("/etc/policies/file-type.yaml", FILE_TYPE, 0o644)
        .c_program("/usr/bin/drop-and-connect", CRED_AND_CONNECT)
        .busybox_applet("/opt/test/cat")
        .scenario(
            "run",
            &scenario(
                "mkdir -p /tmp/dir; echo f > /tmp/file; mkfifo /tmp/fifo
                 start /etc/policies/cred.yaml /etc/policies/skb.yaml /etc/policies/file-type.yaml \\
                   --policy-events-only -o json --node-name vm || exit 1
                 /usr/bin/drop-and-connect
                 /opt/test/cat /tmp/file >/dev/null; /opt/test/cat /tmp/dir 2>/dev/null
                 (echo x > /tmp/fifo &) ; /opt/test/cat /tmp/fifo >/dev/null
                 stop",
            ),
        )
        .run();
    eprintln!("{}", run.timings());
    let out = run.ok("run");
    let events: Vec<Value> = out
        .rsplit_once("--- events\n")
        .map(|(_, e)| e.lines().filter(|l| !l.is_empty()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let of = |policy: &str| -> Vec<&Value> {
        events
            .iter()
            .map(|e| &e["process_kprobe"])
            .filter(|k| k["policy_name"] == policy)
            .collect()
    };

    // commit_creds: setresgid, then setresuid; the last cred is all 1000, no capabilities left
    let creds = of("cred");
    assert_eq!(creds.len(), 2, "{out}");
    let last = &creds[1]["args"][0]["process_credentials_arg"];
    for id in [
        "uid", "gid", "euid", "egid", "suid", "sgid", "fsuid", "fsgid",
    ] {
        assert_eq!(last[id], 1000, "{id}: {out}");
    }
    assert_eq!(last["caps"], json!({}), "{out}");
    assert_eq!(
        last["user_ns"],
        json!({"level": 0, "uid": 0, "gid": 0, "ns": {"inum": 4026531837u32, "is_host": true}}),
        "{out}"
    );
    // the first (gid changed, uid still root) keeps root's full capability sets
    let first = &creds[0]["args"][0]["process_credentials_arg"];
    assert_eq!(
        (first["uid"].clone(), first["gid"].clone()),
        (json!(0), json!(1000)),
        "{out}"
    );
    assert!(
        first["caps"]["effective"]
            .as_array()
            .is_some_and(|c| c.contains(&json!("CAP_SYS_ADMIN"))),
        "{out}"
    );

    // ip_output: the SYN to 127.0.0.1:9, read from the packet's headers
    let skbs = of("skb");
    assert!(!skbs.is_empty(), "{out}");
    let skb = &skbs[0]["args"][0]["skb_arg"];
    assert_eq!(skb["saddr"], "127.0.0.1", "{out}");
    assert_eq!(skb["daddr"], "127.0.0.1", "{out}");
    assert_eq!(skb["dport"], 9, "{out}");
    assert_eq!(skb["protocol"], "IPPROTO_TCP", "{out}");
    assert_eq!(skb["family"], "AF_INET", "{out}");
    assert!(skb["len"].as_u64().is_some_and(|l| l >= 40), "{out}");

    // FileType: the directory by the first selector, the fifo by the second, not the file
    let paths: Vec<&str> = of("file-type")
        .iter()
        .map(|k| k["args"][0]["file_arg"]["path"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(paths, ["/tmp/dir", "/tmp/fifo"], "{out}");
}

// ---- kernel objects, kiocb and iov_iter (issue 15) ------------------------------------------

/// As root: a perf event (a software page-fault counter whose config1, the union member Tetragon reads as
/// attr.kprobe_func, points to a name), a BPF array map named `pctl_map`, a write to a
/// pseudo-terminal, the kernel module given as argv[1] (finit_module; flags in argv[2]), then a
/// capability check in a new user namespace (unshare, sethostname).
const KOBJECTS: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    struct perf_event_attr pa;
    memset(&pa, 0, sizeof(pa));
    pa.size = sizeof(pa);
    pa.type = PERF_TYPE_SOFTWARE;
    pa.config = PERF_COUNT_SW_PAGE_FAULTS;
    pa.config1 = (unsigned long)"policyctl_probe";
    pa.disabled = 1;
    printf("perf=%ld\n", syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0));
    union bpf_attr ba;
    memset(&ba, 0, sizeof(ba));
    ba.map_type = BPF_MAP_TYPE_ARRAY;
    ba.key_size = 4;
    ba.value_size = 8;
    ba.max_entries = 3;
    strcpy(ba.map_name, "pctl_map");
    printf("map=%ld\n", syscall(SYS_bpf, BPF_MAP_CREATE, &ba, sizeof(ba)));
    mkdir("/dev/pts", 0755);
    mount("devpts", "/dev/pts", "devpts", 0, "");
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(m);
    unlockpt(m);
    char msg[] = "hello-tty\n";
    struct iovec iov = { msg, sizeof(msg) - 1 };
    printf("tty=%zd\n", writev(m, &iov, 1));
    if (argc > 2) {
        int fd = open(argv[1], O_RDONLY);
        printf("module=%ld\n", syscall(SYS_finit_module, fd, "", atoi(argv[2])));
    }
    if (unshare(CLONE_NEWUSER | CLONE_NEWUTS) == 0)
        printf("sethostname=%d\n", sethostname("inner", 5));
    return 0;
}
"#;

/// The policy of the kernel objects on `kernel`: perf_event, bpf_cmd and bpf_map (the map hook
/// is security_bpf_map_create on 6.12, security_bpf_map_alloc on 6.1), kiocb and iov_iter on
/// tty_write, user_namespace and capability on cap_capable, module on do_init_module and
/// load_info on layout_symtab (which load_module reaches through layout_and_allocate, after
/// the signature check and with the name read); each only for /usr/bin/kobjects.
fn kobjects_policy(kernel: vm::VmKernel) -> String {
    let map_hook = match kernel {
        vm::VmKernel::Debian6_12 => "security_bpf_map_create",
        vm::VmKernel::Debian6_1 => "security_bpf_map_alloc",
        vm::VmKernel::Ubuntu6_8 | vm::VmKernel::Ubuntu7_0 => {
            unreachable!("run on Debian's kernels")
        }
    };
    let hook = |call: &str, args: &[(u32, &str)]| {
        let mut out = format!("  - call: \"{call}\"\n    syscall: false\n    args:\n");
        for (index, ty) in args {
            out.push_str(&format!("    - index: {index}\n      type: \"{ty}\"\n"));
        }
        out.push_str("    selectors:\n    - matchBinaries:\n      - operator: \"In\"\n        values:\n        - \"/usr/bin/kobjects\"\n");
        out
    };
    let hooks = [
        hook("security_perf_event_alloc", &[(0, "perf_event")]),
        hook("security_bpf", &[(0, "bpf_cmd")]),
        hook(map_hook, &[(0, "bpf_map")]),
        hook("tty_write", &[(0, "kiocb"), (1, "iov_iter")]),
        hook("cap_capable", &[(1, "user_namespace"), (2, "capability")]),
        // Post's kernelStackTrace (issue 15): the kernel stack of the module's init
        hook("do_init_module", &[(0, "module")])
            + "      matchActions:\n      - action: Post\n        kernelStackTrace: true\n",
        hook("layout_symtab", &[(1, "load_info")]),
    ];
    format!(
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: \"kobjects\"\nspec:\n  kprobes:\n{}",
        hooks.concat()
    )
}

/// Post with `rateLimit: "1m"` on `sys_openat` (a kprobe in the VM), for /opt/test/cat opening
/// under /tmp/rate/ only, with the args of tests/run_host.rs's rate limit tests: Tetragon keys
/// the limit on the args, so repeated opens of one file post once and another file once more.
const RATE: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "vm-rate"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "string"
    - index: 2
      type: "int"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/test/cat"
      matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "/tmp/rate/"
      matchActions:
      - action: Post
        rateLimit: "1m"
"#;

/// crc7 (a module without dependencies) from the kernel's own package, into `dir`: its path
/// and the finit_module flags it needs (MODULE_INIT_COMPRESSED_FILE for 6.12's `.ko.xz`).
fn crc7_module(kernel: vm::VmKernel, dir: &std::path::Path) -> Option<(std::path::PathBuf, u32)> {
    let deb = vm::kernel_deb(kernel).ok()?;
    std::fs::create_dir_all(dir).expect("create the module directory");
    let sh = format!(
        "dpkg-deb --fsys-tarfile '{}' | tar -x -C '{}' --wildcards '*/kernel/lib/crc7.ko*'",
        deb.display(),
        dir.display()
    );
    let ok = std::process::Command::new("sh")
        .args(["-c", &sh])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "extract crc7 from {}", deb.display());
    let found = walk(dir)
        .into_iter()
        .find(|p| p.to_string_lossy().contains("crc7.ko"))?;
    let flags = u32::from(found.extension().is_some_and(|e| e == "xz")) * 4;
    Some((found, flags))
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn kernel_objects_kiocb_and_iov_iter_in_a_vm_6_12() {
    kernel_objects(vm::VmKernel::Debian6_12, "run_args_kobjects");
}

#[test]
fn kernel_objects_kiocb_and_iov_iter_in_a_vm_6_1() {
    kernel_objects(vm::VmKernel::Debian6_1, "run_args_kobjects_6_1");
}

fn kernel_objects(kernel: vm::VmKernel, name: &str) {
    let Some(vm) = vm::Vm::builder_on(name, kernel) else {
        return;
    };
    let modules = std::env::temp_dir().join(format!("policyctl-{name}-{}", std::process::id()));
    let (module, flags) = crc7_module(kernel, &modules).expect("crc7 in the kernel package");
    let guest_module = format!("/opt/{}", module.file_name().unwrap().to_string_lossy());
    let scenario = |body: &str| format!("{}\n{body}", vm::RUN_HELPERS);
    let run = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .bytes("/etc/policies/kobjects.yaml", kobjects_policy(kernel), 0o644)
        .bytes("/etc/policies/rate.yaml", RATE, 0o644)
        .busybox_applet("/opt/test/cat")
        .file(&module, &guest_module)
        .c_program("/usr/bin/kobjects", KOBJECTS)
        // seven kprobes verified under emulation take longer than the default minute
        .timeout(std::time::Duration::from_secs(600))
        .scenario_with_timeout(
            "run",
            &scenario(&format!(
                "echo \"up $(cut -d' ' -f1 /proc/uptime)\"
                 START_SECS=300
                 start /etc/policies/kobjects.yaml /etc/policies/rate.yaml --policy-events-only -o json --node-name vm || exit 1
                 echo \"started $(cut -d' ' -f1 /proc/uptime)\"
                 /usr/bin/kobjects {guest_module} {flags}
                 echo \"ran $(cut -d' ' -f1 /proc/uptime)\"
                 echo \"taint=$(cat /sys/module/crc7/taint)\"
                 mkdir -p /tmp/rate; echo a >/tmp/rate/a; echo b >/tmp/rate/b
                 # five opens of a, then two of b, in one process: one event each
                 echo \"cat: $(/opt/test/cat /tmp/rate/a /tmp/rate/a /tmp/rate/a /tmp/rate/a \\
                   /tmp/rate/a /tmp/rate/b /tmp/rate/b | tr -d '\\n')\"
                 stop"
            )),
            std::time::Duration::from_secs(420),
        )
        .run();
    let _ = std::fs::remove_dir_all(&modules);
    eprintln!("{}", run.timings());
    let out = run.ok("run");
    let events: Vec<Value> = out
        .rsplit_once("--- events\n")
        .map(|(_, e)| e.lines().filter(|l| !l.is_empty()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let of = |function: &str| -> Vec<&Value> {
        events
            .iter()
            .map(|e| &e["process_kprobe"])
            .filter(|k| k["function_name"] == function)
            .collect()
    };
    assert!(out.contains("module=0"), "crc7 loaded:\n{out}");

    // rateLimit: cat opened a five times and b twice; one event per file, in order, posted
    assert!(out.contains("cat: aaaaabb\n"), "cat read them all:\n{out}");
    let rated: Vec<&Value> = events
        .iter()
        .map(|e| &e["process_kprobe"])
        .filter(|k| k["policy_name"] == "vm-rate")
        .collect();
    let files: Vec<&Value> = rated.iter().map(|k| &k["args"][1]["string_arg"]).collect();
    assert_eq!(
        files,
        [&json!("/tmp/rate/a"), &json!("/tmp/rate/b")],
        "one event per file:\n{out}"
    );
    for k in &rated {
        assert_eq!(k["action"], "KPROBE_ACTION_POST", "{k}");
        assert_eq!(k["process"]["binary"], "/opt/test/cat", "{k}");
    }
    assert_eq!(
        rated[0]["process"]["pid"], rated[1]["process"]["pid"],
        "{out}"
    );

    // perf_event: the software page-fault counter, config1 read as Tetragon reads kprobe_func
    let perf = of("security_perf_event_alloc");
    assert_eq!(perf.len(), 1, "{out}");
    assert_eq!(
        perf[0]["args"][0]["perf_event_arg"],
        json!({"KprobeFunc": "policyctl_probe", "Type": "PERF_TYPE_SOFTWARE", "Config": "2"}),
        "{out}"
    );

    // bpf_cmd and bpf_map: BPF_MAP_CREATE of the array map
    let cmds: Vec<&Value> = of("security_bpf")
        .iter()
        .map(|k| &k["args"][0]["bpf_cmd_arg"])
        .collect();
    assert!(cmds.contains(&&json!("BPF_MAP_CREATE")), "{out}");
    let maps: Vec<&Value> = events
        .iter()
        .map(|e| &e["process_kprobe"]["args"][0]["bpf_map_arg"])
        .filter(|m| !m.is_null())
        .collect();
    assert_eq!(
        maps,
        [
            &json!({"MapType": "BPF_MAP_TYPE_ARRAY", "KeySize": 4, "ValueSize": 8, "MaxEntries": 3, "MapName": "pctl_map"})
        ],
        "{out}"
    );

    // kiocb and iov_iter: the write to the pseudo-terminal's master
    let tty = of("tty_write");
    assert_eq!(tty.len(), 1, "{out}");
    assert_eq!(tty[0]["args"][0]["file_arg"]["path"], "/dev/ptmx", "{out}");
    assert_eq!(
        tty[0]["args"][1]["bytes_arg"], "aGVsbG8tdHR5Cg==",
        "hello-tty\\n: {out}"
    );

    // user_namespace and capability: CAP_SYS_ADMIN checked in the new user namespace (level 1,
    // owned by root) and checks in the host's (level 0)
    let caps = of("cap_capable");
    let inner = caps.iter().find(|k| {
        k["args"][0]["user_ns_arg"]["level"] == 1
            && k["args"][1]["capability_arg"] == json!({"value": 21, "name": "CAP_SYS_ADMIN"})
    });
    let inner = inner.unwrap_or_else(|| panic!("CAP_SYS_ADMIN in the new user namespace: {out}"));
    let ns = &inner["args"][0]["user_ns_arg"];
    assert_eq!(
        (ns["uid"].clone(), ns["gid"].clone()),
        (json!(0), json!(0)),
        "{out}"
    );
    assert!(
        ns["ns"]["inum"].as_u64().is_some_and(|i| i != 4026531837),
        "{out}"
    );
    assert!(ns["ns"].get("is_host").is_none(), "{out}");
    assert!(
        caps.iter().any(|k| k["args"][0]["user_ns_arg"]
            == json!({"level": 0, "uid": 0, "gid": 0, "ns": {"inum": 4026531837u32, "is_host": true}})),
        "{out}"
    );

    // module and load_info: crc7, its taints as the kernel shows them in /sys/module/crc7/taint
    // (E: TAINT_UNSIGNED_MODULE, O: TAINT_OUT_OF_TREE_MODULE ...), and the load_info's
    // signature_ok false exactly when the kernel tainted it unsigned (CONFIG_MODULE_SIG)
    let letters = out
        .lines()
        .find_map(|l| l.strip_prefix("taint="))
        .unwrap_or_else(|| panic!("no taint line: {out}"));
    let names: Vec<&str> = [
        ('P', "TAINT_PROPRIETARY_MODULE"),
        ('F', "TAINT_FORCED_MODULE"),
        ('R', "TAINT_FORCED_UNLOAD_MODULE"),
        ('C', "TAINT_STAGED_MODULE"),
        ('O', "TAINT_OUT_OF_TREE_MODULE"),
        ('E', "TAINT_UNSIGNED_MODULE"),
        ('K', "TAINT_KERNEL_LIVE_PATCH_MODULE"),
        ('N', "TAINT_TEST_MODULE"),
    ]
    .into_iter()
    .filter(|(c, _)| letters.contains(*c))
    .map(|(_, n)| n)
    .collect();
    let mut want = json!({"name": "crc7"});
    if !names.is_empty() {
        want["tainted"] = json!(names);
    }
    let init = of("do_init_module");
    assert_eq!(init.len(), 1, "{out}");
    assert_eq!(init[0]["args"][0]["module_arg"], want, "{out}");
    // its kernel stack: the hooked function first, then its caller, up to the syscall entry
    let stack: Vec<&str> = init[0]["kernel_stack_trace"]
        .as_array()
        .unwrap_or_else(|| panic!("no kernel_stack_trace: {out}"))
        .iter()
        .map(|f| f["symbol"].as_str().unwrap_or(""))
        .collect();
    eprintln!("do_init_module's kernel stack on {kernel:?}: {stack:?}");
    assert_eq!(stack.first(), Some(&"do_init_module"), "{stack:?}");
    // its caller: load_module ends in `return do_init_module(mod)`, compiled as a jump, so the
    // frame above is load_module's own caller (the module syscall's path on each kernel)
    let caller = match kernel {
        vm::VmKernel::Debian6_12 => "init_module_from_file",
        vm::VmKernel::Debian6_1 => "__do_sys_finit_module",
        vm::VmKernel::Ubuntu6_8 | vm::VmKernel::Ubuntu7_0 => {
            unreachable!("run on Debian's kernels")
        }
    };
    assert_eq!(stack.get(1), Some(&caller), "{stack:?}");
    assert!(stack.contains(&"do_syscall_64"), "{stack:?}");
    let load = of("layout_symtab");
    assert_eq!(load.len(), 1, "{out}");
    let m = &load[0]["args"][0]["module_arg"];
    assert_eq!(
        (m["name"].clone(), m["signature_ok"].clone()),
        (json!("crc7"), json!(!letters.contains('E'))),
        "{out}"
    );
}
