//! Issue 14, safety: a process missing from the kernel's process cache (the `processes` LRU
//! map, which can evict) never satisfies a negative filter by being unknown. In a VM (Debian
//! 6.12 under qemu, see `tests/support/vm.rs`) one `policyctl run` enforces a Sigkill on
//! `mkdir` under `/tmp/guarded/` for every binary `NotIn` [`/opt/t/spared`]. Four processes,
//! started before `run` (so `run` seeds them from /proc), wait for a go file and then call
//! mkdir: a copy of the program at `/opt/t/spared` and one at `/opt/t/doomed`, each once known
//! and once forgotten (the test deletes its entry from the map with the `bpf(2)` syscall, as an
//! eviction would). The spared binary lives whether known or not; the doomed one is killed
//! whether known or not, since a missing process is read from the task itself. A second boot
//! covers the other negative filters (an unreadable argument and NotPrefix, matchPIDs NotIn
//! followForks under a forgotten process), a third the login uid read at exec. Every policy
//! only matches processes these tests start (their binaries, pids and directories).

use crate::vm;

/// Waits until the file `argv[1]` exists, then calls `mkdir(argv[2])` and reports; with a
/// third argument, first writes its pid into that file.
const WAITER: &str = r#"
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) return 2;
    if (argc == 4) {
        FILE *f = fopen(argv[3], "w");
        if (!f) return 3;
        fprintf(f, "%d\n", getpid());
        fclose(f);
    }
    while (access(argv[1], F_OK) != 0) usleep(20000);
    int rc = mkdir(argv[2], 0755);
    printf("mkdir rc=%d\n", rc);
    fflush(stdout);
    return 0;
}
"#;

/// Deletes pid `argv[1]` from the BPF map named `processes` (the one `policyctl run`
/// loaded), then checks the entry is gone. Exit 1 when no such map or entry exists.
const FORGET: &str = r#"
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static long sys_bpf(int cmd, union bpf_attr *attr) {
    return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}
int main(int argc, char **argv) {
    if (argc != 2) return 2;
    unsigned int pid = strtoul(argv[1], 0, 10);
    unsigned int id = 0;
    for (;;) {
        union bpf_attr a;
        memset(&a, 0, sizeof(a));
        a.start_id = id;
        if (sys_bpf(BPF_MAP_GET_NEXT_ID, &a)) break;
        id = a.next_id;
        memset(&a, 0, sizeof(a));
        a.map_id = id;
        int fd = sys_bpf(BPF_MAP_GET_FD_BY_ID, &a);
        if (fd < 0) continue;
        struct bpf_map_info info;
        memset(&info, 0, sizeof(info));
        memset(&a, 0, sizeof(a));
        a.info.bpf_fd = fd;
        a.info.info_len = sizeof(info);
        a.info.info = (unsigned long)&info;
        if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) == 0 && strcmp(info.name, "processes") == 0) {
            unsigned char value[4096];
            memset(&a, 0, sizeof(a));
            a.map_fd = fd;
            a.key = (unsigned long)&pid;
            if (sys_bpf(BPF_MAP_DELETE_ELEM, &a)) { printf("pid %u was not in the map\n", pid); return 1; }
            a.value = (unsigned long)value;
            if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) == 0) { printf("pid %u still in the map\n", pid); return 1; }
            printf("forgot %u\n", pid);
            return 0;
        }
        close(fd);
    }
    printf("no processes map\n");
    return 1;
}
"#;

const POLICY: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "kill-mkdir-unless-spared"
spec:
  kprobes:
  - call: "do_mkdirat"
    syscall: false
    args:
    - index: 1
      type: "string"
      resolve: "name"
    selectors:
    - matchBinaries:
      - operator: "NotIn"
        values:
        - "/opt/t/spared"
      matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "/tmp/guarded/"
      matchActions:
      - action: Sigkill
"#;

#[test]
fn unknown_process_never_satisfies_not_in() {
    let Some(vm) = vm::Vm::builder("run_unknown") else {
        return;
    };
    // Each waiter: `wait_for NAME BINARY` starts BINARY in the background, waiting for
    // /tmp/go-NAME before it makes /tmp/guarded/NAME; its pid goes to /tmp/NAME.pid. `go NAME`
    // releases it and prints how it ended.
    let helpers = format!(
        "{}\n{}",
        vm::RUN_HELPERS,
        r#"
wait_for() { "$2" /tmp/go-$1 /tmp/guarded/$1 >/tmp/$1.out 2>&1 & echo $! >/tmp/$1.pid; }
go() {
  touch /tmp/go-$1; wait $(cat /tmp/$1.pid) 2>/dev/null; echo "rc=$?"; cat /tmp/$1.out
  if [ -d /tmp/guarded/$1 ]; then echo "$1: directory made"; else echo "$1: no directory"; fi
}
"#
    );
    let run = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .bytes("/etc/policies/unless-spared.yaml", POLICY.as_bytes(), 0o644)
        .c_program("/opt/t/spared", WAITER)
        .c_program("/opt/t/doomed", WAITER)
        .c_program("/usr/bin/forget", FORGET)
        // One scenario: the waiters must be children of the shell that releases them.
        .scenario(
            "unknown",
            &format!(
                "{helpers}
                 mkdir -p /tmp/guarded
                 wait_for spared-known /opt/t/spared; wait_for spared-forgotten /opt/t/spared
                 wait_for doomed-known /opt/t/doomed; wait_for doomed-forgotten /opt/t/doomed
                 start /etc/policies/unless-spared.yaml -o json --policy-events-only --node-name vm || exit 1
                 forget $(cat /tmp/spared-forgotten.pid) || exit 1
                 forget $(cat /tmp/doomed-forgotten.pid) || exit 1
                 for w in spared-known spared-forgotten doomed-known doomed-forgotten; do
                   echo \"== $w\"; go $w
                 done
                 echo '== stop'; stop"
            ),
        )
        .run();
    eprintln!("{}", run.timings());

    let out = run.ok("unknown");
    let section = |name: &str| -> &str {
        let start = out
            .find(&format!("== {name}\n"))
            .unwrap_or_else(|| panic!("no section {name}:\n{out}"));
        let rest = &out[start + name.len() + 4..];
        &rest[..rest.find("== ").unwrap_or(rest.len())]
    };
    assert!(out.contains("forgot "), "{out}");
    // NotIn [/opt/t/spared]: the spared binary lives, known or forgotten
    for name in ["spared-known", "spared-forgotten"] {
        assert_eq!(
            section(name),
            format!("rc=0\nmkdir rc=0\n{name}: directory made\n"),
            "{out}"
        );
    }
    // every other binary is killed, known or forgotten (read from the task itself); a kprobe
    // Sigkill lands when do_mkdirat returns, so the directory exists
    for name in ["doomed-known", "doomed-forgotten"] {
        assert_eq!(
            section(name),
            format!("rc=137\n{name}: directory made\n"),
            "{out}"
        );
    }
    // the rest of the output (the events quote the script, "== " included)
    let stopped = out.split_once("== stop\n").map_or("", |(_, rest)| rest);
    assert!(stopped.contains("everything detached"), "{stopped}");
    let events: Vec<serde_json::Value> = stopped
        .split_once("--- events\n")
        .map(|(_, e)| e)
        .unwrap_or("")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let killed: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            let k = &e["process_kprobe"];
            (
                k["args"][0]["string_arg"].as_str().unwrap_or(""),
                k["action"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        killed,
        [
            ("/tmp/guarded/doomed-known", "KPROBE_ACTION_SIGKILL"),
            ("/tmp/guarded/doomed-forgotten", "KPROBE_ACTION_SIGKILL"),
        ],
        "{stopped}"
    );
}

/// `badptr bad` opens through a pointer that cannot be read (address 1: EFAULT), `badptr NAME`
/// opens the relative path NAME; each reports what openat returned.
const BADPTR: &str = r#"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc != 2) return 2;
    const char *path = strcmp(argv[1], "bad") == 0 ? (const char *)1 : argv[1];
    long rc = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
    printf("openat rc=%ld errno=%d\n", rc, rc < 0 ? errno : 0);
    return 0;
}
"#;

/// Sigkill for `/opt/t/badptr` opening a path that does not start with `/`.
const NOT_PREFIX: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "kill-relative-open"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    args:
    - index: 1
      type: "string"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/t/badptr"
      matchArgs:
      - index: 1
        operator: "NotPrefix"
        values:
        - "/"
      matchActions:
      - action: Sigkill
"#;

/// matchPIDs NotIn (followForks) of the pid given as `$1`: Sigkill on mkdir under
/// /tmp/pidguard/ outside that process tree. A shell function, as the pid is known only in
/// the guest.
const PIDS_POLICY: &str = r#"
pids_policy() {
cat <<POLICY
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "kill-mkdir-outside-tree"
spec:
  kprobes:
  - call: "do_mkdirat"
    syscall: false
    args:
    - index: 1
      type: "string"
      resolve: "name"
    selectors:
    - matchPIDs:
      - operator: "NotIn"
        followForks: true
        values:
        - $1
      matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "/tmp/pidguard/"
      matchActions:
      - action: Sigkill
POLICY
}
"#;

/// The other negative filters: an argument the kernel could not read satisfies no NotPrefix
/// (a string read through a bad pointer is unknown, not empty), and matchPIDs NotIn with
/// followForks sees the parent of a process missing from the cache (read from the task's
/// `real_parent`, not from the cache). Each has a twin that is acted on.
#[test]
fn unknown_values_never_satisfy_not_prefix_or_not_in_pids() {
    let Some(vm) = vm::Vm::builder("run_unknown_values") else {
        return;
    };
    let run = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .bytes("/etc/policies/not-prefix.yaml", NOT_PREFIX.as_bytes(), 0o644)
        .c_program("/opt/t/badptr", BADPTR)
        .c_program("/opt/t/waiter", WAITER)
        .c_program("/usr/bin/forget", FORGET)
        .scenario(
            "values",
            &format!(
                "{}\n{PIDS_POLICY}
                 mkdir -p /tmp/pidguard
                 # a shell whose child waits: the tree under it is spared
                 sh -c '/opt/t/waiter /tmp/go-inside /tmp/pidguard/inside /tmp/inside.pid; echo \"inside rc=$?\"' >/tmp/inside.out 2>&1 &
                 TREE=$!
                 /opt/t/waiter /tmp/go-outside /tmp/pidguard/outside /tmp/outside.pid >/tmp/outside.out 2>&1 &
                 OUTSIDE=$!
                 while [ ! -s /tmp/inside.pid ] || [ ! -s /tmp/outside.pid ]; do sleep 0.05; done
                 pids_policy $TREE >/etc/policies/pids.yaml
                 start /etc/policies/not-prefix.yaml /etc/policies/pids.yaml -o json --policy-events-only --node-name vm || exit 1
                 forget $(cat /tmp/inside.pid) || exit 1
                 forget $(cat /tmp/outside.pid) || exit 1
                 echo '== unreadable'; cd /tmp; /opt/t/badptr bad; echo \"rc=$?\"
                 echo '== relative'; /opt/t/badptr relative-name; echo \"rc=$?\"
                 echo '== inside'; touch /tmp/go-inside; wait $TREE; cat /tmp/inside.out
                 [ -d /tmp/pidguard/inside ] && echo 'inside: directory made'
                 echo '== outside'; touch /tmp/go-outside; wait $OUTSIDE; echo \"rc=$?\"; cat /tmp/outside.out
                 [ -d /tmp/pidguard/outside ] && echo 'outside: directory made'
                 echo '== stop'; stop",
                vm::RUN_HELPERS
            ),
        )
        .run();
    eprintln!("{}", run.timings());

    let out = run.ok("values");
    let section = |name: &str| -> &str {
        let start = out
            .find(&format!("== {name}\n"))
            .unwrap_or_else(|| panic!("no section {name}:\n{out}"));
        let rest = &out[start + name.len() + 4..];
        &rest[..rest.find("== ").unwrap_or(rest.len())]
    };
    // openat through a bad pointer fails with EFAULT and is not killed: its path is unknown
    assert_eq!(
        section("unreadable"),
        "openat rc=-1 errno=14\nrc=0\n",
        "{out}"
    );
    // a relative path that was read does not start with `/`: killed
    assert_eq!(section("relative"), "Killed\nrc=137\n", "{out}");
    // missing from the cache, but its parent is the spared tree's root: not killed
    assert_eq!(
        section("inside"),
        "mkdir rc=0\ninside rc=0\ninside: directory made\n",
        "{out}"
    );
    // missing from the cache and outside the tree: killed (the directory is made first); the
    // shell's own "Killed" notice comes or not depending on when it reaps the job
    assert_eq!(
        section("outside").replace("Killed\n", ""),
        "rc=137\noutside: directory made\n",
        "{out}"
    );
    let stopped = out.split_once("== stop\n").map_or("", |(_, rest)| rest);
    assert!(stopped.contains("everything detached"), "{stopped}");
    let events: Vec<(String, String)> = stopped
        .split_once("--- events\n")
        .map(|(_, e)| e)
        .unwrap_or("")
        .lines()
        .map(|l| {
            let e: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            let k = &e["process_kprobe"];
            (
                k["args"][0]["string_arg"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                k["action"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let sigkill = "KPROBE_ACTION_SIGKILL".to_string();
    assert_eq!(
        events,
        [
            ("relative-name".to_string(), sigkill.clone()),
            ("/tmp/pidguard/outside".to_string(), sigkill),
        ],
        "{stopped}"
    );
}

/// Issue 14, item 4: the login uid of an exec is read in the kernel (task->loginuid), as
/// Tetragon's __get_auid() (bpf/process/bpf_process_event.h) reads it, not only for processes
/// read from /proc: a shell sets its loginuid, then execs a program; the exec event carries it.
#[test]
fn exec_events_carry_the_login_uid_read_in_the_kernel() {
    let Some(vm) = vm::Vm::builder("run_exec_auid") else {
        return;
    };
    let run = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .bytes(
            "/etc/policies/not-prefix.yaml",
            NOT_PREFIX.as_bytes(),
            0o644,
        )
        .c_program("/opt/t/badptr", BADPTR)
        .scenario(
            "auid",
            &format!(
                "{}
                 start /etc/policies/not-prefix.yaml -o json --node-name vm || exit 1
                 sh -c 'echo 1234 >/proc/self/loginuid && exec /opt/t/badptr /absolute'
                 stop",
                vm::RUN_HELPERS
            ),
        )
        .run();
    eprintln!("{}", run.timings());
    let out = run.ok("auid");
    assert!(out.contains("openat rc=-1 errno=2\n"), "not killed: {out}");
    let execs: Vec<serde_json::Value> = out
        .split_once("--- events\n")
        .map_or("", |(_, e)| e)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["process_exec"]["process"]["binary"] == "/opt/t/badptr")
        .collect();
    assert_eq!(execs.len(), 1, "{out}");
    let p = &execs[0]["process_exec"]["process"];
    assert_eq!(p["auid"], 1234, "{p}");
    assert_eq!(p["arguments"], "/absolute", "{p}");
}
