//! `policyctl run` in a VM (Debian 6.12 under qemu, see `tests/support/vm.rs`), where kprobes,
//! BPF trampolines and the BPF LSM exist: the seed article's four policies (with their YAML
//! mistakes fixed) do what the article shows, LSM Override makes an open fail with the errno
//! asked for, and one policy attaches through fentry and through kprobe alike. Every policy
//! only ever matches processes the scenario itself starts inside the guest.

#[path = "support/vm.rs"]
mod vm;

/// Shell helpers for scenarios: `start` runs `policyctl run` in the background and waits until
/// every hook is attached; `stop` sends SIGINT, waits, and prints the exit status.
const PRELUDE: &str = r#"
start() {
  policyctl run "$@" >/tmp/events 2>/tmp/run.err &
  PID=$!
  for i in $(seq 1 600); do
    grep -q 'Ctrl-C stops' /tmp/run.err && return 0
    kill -0 $PID 2>/dev/null || { cat /tmp/run.err; return 1; }
    sleep 0.05
  done
  cat /tmp/run.err; return 1
}
stop() { sleep 0.5; kill -INT $PID; wait $PID; echo "policyctl rc=$?"; }
"#;

fn article(name: &str) -> String {
    let path = format!(
        "{}/testdata/policies/article/fixed-{name}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const SETRESUID: &str = r#"
#include <stdio.h>
#include <unistd.h>
int main(void) {
    int rc = setresuid(-1, 0, -1);
    printf("setresuid rc=%d\n", rc);
    return 0;
}
"#;

/// Connects to 127.0.0.1:443 and reports; installed as `/usr/bin/wget` and as another name.
const CONNECT: &str = r#"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(443) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    printf("connect rc=%d\n", rc);
    close(fd);
    return rc == 0 ? 0 : 1;
}
"#;

const LSM_OVERRIDE: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "deny-secret-open"
spec:
  lsmhooks:
  - hook: "file_open"
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
        operator: "Prefix"
        values:
        - "/tmp/vault/"
      matchActions:
      - action: Override
        argError: -13
"#;

const MKDIR_WATCH: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "watch-mkdir"
spec:
  kprobes:
  - call: "do_mkdirat"
    syscall: false
    args:
    - index: 1
      type: "string"
      resolve: "name"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Postfix"
        values:
        - "-watched"
"#;

#[test]
fn article_policies_enforce_in_a_vm() {
    let Some(vm) = vm::Vm::builder("run_article") else {
        return;
    };
    let scenario = |body: &str| format!("{PRELUDE}\n{body}");
    let run = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .bytes("/etc/policies/kill-mkdir-test.yaml", article("kill-mkdir-test").as_bytes(), 0o644)
        .bytes("/etc/policies/block-secret-files.yaml", article("block-secret-files").as_bytes(), 0o644)
        .bytes("/etc/policies/block-443-for-wget.yaml", article("block-443-for-wget").as_bytes(), 0o644)
        .bytes("/etc/policies/detect-sudo.yaml", article("detect-sudo").as_bytes(), 0o644)
        .bytes("/etc/policies/deny-secret-open.yaml", LSM_OVERRIDE.as_bytes(), 0o644)
        .bytes("/etc/policies/watch-mkdir.yaml", MKDIR_WATCH.as_bytes(), 0o644)
        .c_program("/usr/bin/wget", CONNECT)
        .c_program("/usr/bin/fetch", CONNECT)
        .busybox_applet("/opt/test/cat")
        .c_program("/usr/bin/become-root", SETRESUID)
        .scenario(
            "mkdir",
            &scenario(
                "start /etc/policies/kill-mkdir-test.yaml --policy-events-only -o compact || exit 1
                 cd /tmp; mkdir test; echo \"mkdir test rc=$?\"; mkdir other; echo \"mkdir other rc=$?\"
                 stop; cat /tmp/run.err; cat /tmp/events",
            ),
        )
        .scenario(
            "secret",
            &scenario(
                "mkdir -p /tmp/secret; echo s > /tmp/secret/key; echo p > /tmp/public
                 start /etc/policies/block-secret-files.yaml --policy-events-only -o compact || exit 1
                 cat /tmp/secret/key; echo \"cat secret rc=$?\"; cat /tmp/public; echo \"cat public rc=$?\"
                 stop; cat /tmp/run.err; cat /tmp/events",
            ),
        )
        .scenario(
            "wget",
            &scenario(
                "start /etc/policies/block-443-for-wget.yaml --policy-events-only -o compact || exit 1
                 nc -l -p 443 >/dev/null & L=$!; sleep 0.2
                 /usr/bin/fetch; echo \"fetch rc=$?\"; wait $L
                 nc -l -p 443 >/dev/null & L=$!; sleep 0.2
                 /usr/bin/wget; echo \"wget rc=$?\"; kill $L 2>/dev/null
                 stop; cat /tmp/run.err; cat /tmp/events",
            ),
        )
        .scenario(
            "sudo",
            &scenario(
                "start /etc/policies/detect-sudo.yaml --policy-events-only -o json --node-name vm || exit 1
                 /usr/bin/become-root
                 stop; cat /tmp/run.err; cat /tmp/events",
            ),
        )
        .scenario(
            "override",
            &scenario(
                "mkdir -p /tmp/vault; echo v > /tmp/vault/key
                 start /etc/policies/deny-secret-open.yaml --policy-events-only -o compact || exit 1
                 /opt/test/cat /tmp/vault/key; echo \"cat vault rc=$?\"; cat /tmp/vault/key; echo \"other cat rc=$?\"
                 stop; cat /tmp/run.err; cat /tmp/events",
            ),
        )
        .scenario(
            "fentry",
            &scenario(
                "start /etc/policies/watch-mkdir.yaml --attach fentry --policy-events-only -o compact || exit 1
                 mkdir /tmp/a-watched /tmp/b-unwatched; stop; cat /tmp/run.err; cat /tmp/events
                 start /etc/policies/watch-mkdir.yaml --attach kprobe --policy-events-only -o compact || exit 1
                 mkdir /tmp/c-watched; stop; cat /tmp/run.err; cat /tmp/events",
            ),
        )
        .run();
    eprintln!("{}", run.timings());
    for s in ["mkdir", "secret", "wget", "sudo", "override", "fentry"] {
        eprintln!("==== {s} rc={}\n{}", run[s].rc, run[s].output);
    }
    panic!("look");
}
