//! Issue 15: matchCapabilities and matchNamespaces (with `host_ns`) enforcing in a VM (Debian
//! 6.12 and 6.1 under qemu, see `tests/support/vm.rs`), on a kprobe. One `policyctl run` kills, on
//! `do_mkdirat` under `/tmp/guarded/`, the test's own program `/opt/t/mk` when its effective
//! capabilities lack CAP_SYS_ADMIN (first selector) or when its uts namespace is not pid 1's
//! (second selector). The program makes its directory as it was started, after dropping
//! CAP_SYS_ADMIN from its effective set, or after moving to a new uts namespace: the first
//! lives, the other two are killed. The policy matches only that program and directory.

use crate::vm;

/// `mk MODE DIR`: MODE `plain` makes DIR as started, `nocap` first drops CAP_SYS_ADMIN from
/// its effective set, `uts` first moves to a new uts namespace; then reports mkdir's result.
const MK: &str = r#"
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
int main(int argc, char **argv) {
    if (argc != 3) return 2;
    if (strcmp(argv[1], "nocap") == 0) {
        struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct d[2];
        if (syscall(SYS_capget, &h, d)) return 3;
        d[0].effective &= ~(1u << CAP_SYS_ADMIN);
        if (syscall(SYS_capset, &h, d)) return 3;
    } else if (strcmp(argv[1], "uts") == 0) {
        if (unshare(CLONE_NEWUTS)) return 4;
    }
    int rc = mkdir(argv[2], 0755);
    printf("mkdir rc=%d\n", rc);
    fflush(stdout);
    return 0;
}
"#;

const POLICY: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "kill-mkdir-without-sys-admin-or-host-uts"
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
      - operator: "In"
        values:
        - "/opt/t/mk"
      matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "/tmp/guarded/"
      matchCapabilities:
      - type: Effective
        operator: NotIn
        values:
        - "CAP_SYS_ADMIN"
      matchActions:
      - action: Sigkill
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/t/mk"
      matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "/tmp/guarded/"
      matchNamespaces:
      - namespace: Uts
        operator: NotIn
        values:
        - "host_ns"
      matchActions:
      - action: Sigkill
"#;

#[test]
fn capabilities_and_namespaces_enforce_on_a_kprobe() {
    enforce(vm::VmKernel::Debian6_12, "run_process_filters");
}

#[test]
fn capabilities_and_namespaces_enforce_on_a_kprobe_on_debian_6_1() {
    enforce(vm::VmKernel::Debian6_1, "run_process_filters_6_1");
}

fn enforce(kernel: vm::VmKernel, name: &str) {
    let Some(vm) = vm::Vm::builder_on(name, kernel) else {
        return;
    };
    let run = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .bytes(
            "/etc/policies/process-filters.yaml",
            POLICY.as_bytes(),
            0o644,
        )
        .c_program("/opt/t/mk", MK)
        .scenario(
            "filters",
            &format!(
                "{}
                 mkdir -p /tmp/guarded
                 start /etc/policies/process-filters.yaml -o json --policy-events-only \\
                   --enable-process-cred --enable-process-ns || exit 1
                 for m in plain nocap uts; do
                   echo \"== $m\"; /opt/t/mk $m /tmp/guarded/$m; echo \"rc=$?\"
                   if [ -d /tmp/guarded/$m ]; then echo \"$m: directory made\"; fi
                 done
                 echo '== stop'; stop",
                vm::RUN_HELPERS
            ),
        )
        .run();
    eprintln!("{}", run.timings());

    let out = run.ok("filters");
    let section = |name: &str| -> &str {
        let start = out
            .find(&format!("== {name}\n"))
            .unwrap_or_else(|| panic!("no section {name}:\n{out}"));
        let rest = &out[start + name.len() + 4..];
        &rest[..rest.find("== ").unwrap_or(rest.len())]
    };
    // root with every capability, in pid 1's uts namespace: no selector matches
    assert_eq!(
        section("plain"),
        "mkdir rc=0\nrc=0\nplain: directory made\n",
        "{out}"
    );
    // a kprobe Sigkill lands when do_mkdirat returns: killed (137; the shell says `Killed`),
    // the directory made
    for name in ["nocap", "uts"] {
        let lines: Vec<&str> = section(name).lines().filter(|l| *l != "Killed").collect();
        assert_eq!(
            lines,
            ["rc=137".to_string(), format!("{name}: directory made")],
            "{out}"
        );
    }
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
            ("/tmp/guarded/nocap", "KPROBE_ACTION_SIGKILL"),
            ("/tmp/guarded/uts", "KPROBE_ACTION_SIGKILL"),
        ],
        "{stopped}"
    );
    // --enable-process-cred and --enable-process-ns: the process as it was at its exec (root
    // with every capability, in pid 1's namespaces; the unshare and the dropped capability
    // came after), as Tetragon's AnnotateProcess adds what the exec event read
    for e in &events {
        let p = &e["process_kprobe"]["process"];
        assert_eq!(p["process_credentials"]["uid"], 0, "{p}");
        let eff = p["cap"]["effective"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(eff.iter().any(|c| c == "CAP_SYS_ADMIN"), "{p}");
        for ns in ["mnt", "pid", "net", "uts"] {
            assert_eq!(p["ns"][ns]["is_host"], true, "{ns}: {p}");
            assert!(p["ns"][ns]["inum"].as_u64().unwrap_or(0) > 0, "{ns}: {p}");
        }
    }
}
