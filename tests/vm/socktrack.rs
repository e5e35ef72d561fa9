//! Socket tracking (TrackSock, UntrackSock, `returnArgAction: TrackSock`) in a VM (Debian 6.12
//! and 6.1 under qemu, see `tests/support/vm.rs`), where kprobes and kretprobes exist.
//!
//! Tetragon keeps a map from a sock's address to the process that tracked it
//! (bpf/process/types/basic.h `socktrack_map`, `tracksock()`), filled by the TrackSock action on
//! a sock argument and by `returnArgAction: TrackSock` on a returned sock
//! (bpf/process/generic_calls.h `generic_retprobe`), emptied by UntrackSock; an event whose
//! sock argument is tracked belongs to that process (`update_pid_tid_from_sock`).
//!
//! The scenario: `/opt/sock/owner` listens on 127.0.0.1:40123, connects to itself (tcp_connect:
//! TrackSock on the client sock), accepts (inet_csk_accept's kretprobe: TrackSock on the
//! accepted sock), then runs `/opt/sock/sender` with both sockets. The sender writes on each
//! (tcp_sendmsg events: both belong to the owner, though the sender sends), shuts the client
//! socket's reading side (tcp_shutdown: UntrackSock), and writes on it again: that last event
//! is the sender's own. Every selector names the test's binaries and its port.

use crate::skip;
use crate::tetragon_api;
use crate::vm;

const PORT: u16 = 40123;

const OWNER: &str = r#"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(40123) };
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	int one = 1;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4)) {
		perror("listen");
		return 1;
	}
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&a, sizeof(a))) {
		perror("connect");
		return 1;
	}
	int s = accept(l, 0, 0);
	if (s < 0) {
		perror("accept");
		return 1;
	}
	printf("owner pid=%d\n", getpid());
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		char cs[16], ss[16];
		snprintf(cs, sizeof(cs), "%d", c);
		snprintf(ss, sizeof(ss), "%d", s);
		execl("/opt/sock/sender", "sender", cs, ss, (char *)0);
		_exit(127);
	}
	int st = 0;
	waitpid(p, &st, 0);
	char buf[16];
	/* drain what the sender wrote */
	recv(s, buf, sizeof(buf), MSG_DONTWAIT);
	recv(c, buf, sizeof(buf), MSG_DONTWAIT);
	printf("owner done sender=%d\n", WEXITSTATUS(st));
	return 0;
}
"#;

const SENDER: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int c = atoi(argv[1]), s = atoi(argv[2]);
	printf("sender pid=%d\n", getpid());
	fflush(stdout);
	if (send(c, "x", 1, 0) != 1 || send(s, "y", 1, 0) != 1)
		return 3;
	shutdown(c, SHUT_RD);
	if (send(c, "z", 1, 0) != 1)
		return 4;
	return 0;
}
"#;

fn policy() -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "socktrack"
spec:
  kprobes:
  - call: "tcp_connect"
    syscall: false
    args:
    - index: 0
      type: "sock"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/sock/owner"
      matchArgs:
      - index: 0
        operator: "DPort"
        values:
        - "{PORT}"
      matchActions:
      - action: TrackSock
        argSock: 0
  - call: "inet_csk_accept"
    syscall: false
    return: true
    args:
    - index: 0
      type: "sock"
    returnArg:
      index: 0
      type: "sock"
    returnArgAction: TrackSock
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/sock/owner"
  - call: "tcp_shutdown"
    syscall: false
    args:
    - index: 0
      type: "sock"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/sock/sender"
      matchArgs:
      - index: 0
        operator: "DPort"
        values:
        - "{PORT}"
      matchActions:
      - action: UntrackSock
        argSock: 0
  - call: "tcp_sendmsg"
    syscall: false
    args:
    - index: 0
      type: "sock"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/sock/sender"
      matchArgs:
      - index: 0
        operator: "DPort"
        values:
        - "{PORT}"
    - matchBinaries:
      - operator: "In"
        values:
        - "/opt/sock/sender"
      matchArgs:
      - index: 0
        operator: "SPort"
        values:
        - "{PORT}"
"#
    )
}

fn pid_of(out: &str, who: &str) -> u64 {
    let key = format!("{who} pid=");
    out.lines()
        .find_map(|l| l.strip_prefix(&key))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `{key}` line:\n{out}"))
}

fn socktrack_on(kernel: vm::VmKernel) {
    let Some(vm) = vm::Vm::builder_on(&format!("run_socktrack_{}", kernel.short()), kernel) else {
        return;
    };
    let run = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .bytes("/etc/policies/socktrack.yaml", policy().as_bytes(), 0o644)
        .c_program("/opt/sock/owner", OWNER)
        .c_program("/opt/sock/sender", SENDER)
        // loading under TCG takes most of a minute when the machine is busy
        .scenario_timeout(std::time::Duration::from_secs(240))
        .timeout(std::time::Duration::from_secs(420))
        .scenario(
            "socktrack",
            &format!(
                "{}\nstart /etc/policies/socktrack.yaml --policy-events-only -o json --node-name vm || exit 1
                 /opt/sock/owner
                 stop",
                vm::RUN_HELPERS
            ),
        )
        .run();
    eprintln!("{}", run.timings());
    let k = kernel.short();
    let out = run.ok("socktrack");
    assert!(out.contains("owner done sender=0"), "{k}:\n{out}");
    let owner = pid_of(out, "owner");
    let sender = pid_of(out, "sender");
    let events = vm::json_events(out);
    let of = |function: &str| -> Vec<&serde_json::Value> {
        events
            .iter()
            .map(|e| &e["process_kprobe"])
            .filter(|e| e["function_name"] == function)
            .collect()
    };

    // TrackSock on tcp_connect: reported as the event's action
    let connect = of("tcp_connect");
    assert_eq!(connect.len(), 1, "{k}:\n{out}");
    assert_eq!(connect[0]["action"], "KPROBE_ACTION_TRACKSOCK", "{k}");
    assert_eq!(connect[0]["process"]["pid"], owner, "{k}");
    assert_eq!(connect[0]["args"][0]["sock_arg"]["dport"], PORT, "{k}");

    // the sends: the first two on tracked socks belong to the owner; after UntrackSock the
    // client sock's send is the sender's own
    let sends = of("tcp_sendmsg");
    assert_eq!(sends.len(), 3, "{k}:\n{out}");
    let who: Vec<(u64, &str)> = sends
        .iter()
        .map(|e| {
            (
                e["process"]["pid"].as_u64().unwrap_or(0),
                e["process"]["binary"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            (owner, "/opt/sock/owner"),
            (owner, "/opt/sock/owner"),
            (sender, "/opt/sock/sender")
        ],
        "{k}: the tracked socks' sends are the owner's:\n{out}"
    );
    // the second send is on the accepted sock (tracked by returnArgAction at the kretprobe)
    assert_eq!(sends[1]["args"][0]["sock_arg"]["sport"], PORT, "{k}");
    assert_eq!(sends[0]["args"][0]["sock_arg"]["dport"], PORT, "{k}");
    assert_eq!(sends[2]["args"][0]["sock_arg"]["dport"], PORT, "{k}");

    // UntrackSock on tcp_shutdown, while the sock was still tracked: the owner's event
    let shutdown = of("tcp_shutdown");
    assert_eq!(shutdown.len(), 1, "{k}:\n{out}");
    assert_eq!(shutdown[0]["action"], "KPROBE_ACTION_UNTRACKSOCK", "{k}");
    assert_eq!(shutdown[0]["process"]["pid"], owner, "{k}");

    let lines: Vec<String> = events.iter().map(|e| e.to_string()).collect();
    match tetragon_api::compiled("socktrack_in_a_vm") {
        Ok((py, gen)) => {
            let t0 = std::time::Instant::now();
            let d = tetragon_api::decode(&py, &gen, &lines);
            tetragon_api::report("socktrack_in_a_vm", "VM socket tracking events", &d, t0);
        }
        Err(reason) => skip::skip("socktrack_in_a_vm (Tetragon's messages)", &reason),
    }
}

#[test]
fn socktrack_in_a_vm_6_12() {
    socktrack_on(vm::VmKernel::Debian6_12);
}

#[test]
fn socktrack_in_a_vm_6_1() {
    socktrack_on(vm::VmKernel::Debian6_1);
}
