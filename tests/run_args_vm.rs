//! Arg types and operators only kprobes reach, on Debian's 6.12 kernel in the VM
//! (`tests/support/vm.rs`): a `cred` on `commit_creds`, an `skb` on `ip_output` filtered by
//! DPort and Protocol, and FileType / NotFileType on the `file` of `security_file_open`. Each
//! policy matches only a program this test installed (matchBinaries), and only posts events.
//! Skipped without qemu or the kernel package; fails when `CI` is set.

#[path = "support/skip.rs"]
mod skip;
#[path = "support/vm.rs"]
mod vm;

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
