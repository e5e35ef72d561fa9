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

/// An exec of a program whose path ends with `/blocked-tool` is killed through LSM
/// `bprm_check_security` (a `linux_binprm` arg read as the path of the file executed).
const BLOCK_EXEC: &str = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "block-exec"
spec:
  lsmhooks:
  - hook: "bprm_check_security"
    args:
    - index: 0
      type: "linux_binprm"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Postfix"
        values:
        - "/blocked-tool"
      matchActions:
      - action: Sigkill
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

/// Three policies on `tcp_connect` for the same connection of `/usr/bin/fetch` to
/// 127.0.0.1:443: one whose filters all hold (DAddr in 127.0.0.0/8, Family, Protocol,
/// DPortPriv, NotSportPriv, as the CRD spells it) and two whose one filter does not (NotDAddr, SPortPriv).
fn sock_policy(name: &str, args: &str) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "{name}"
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
        - "/usr/bin/fetch"
      matchArgs:
{args}"#
    )
}

fn sock_filter(operator: &str, value: &str) -> String {
    format!(
        "      - index: 0\n        operator: \"{operator}\"\n        values:\n        - \"{value}\"\n"
    )
}

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
        .bytes("/etc/policies/block-exec.yaml", BLOCK_EXEC.as_bytes(), 0o644)
        .busybox_applet("/opt/test/blocked-tool")
        .busybox_applet("/opt/test/allowed-tool")
        .bytes(
            "/etc/policies/sock-match.yaml",
            sock_policy(
                "sock-match",
                &[
                    sock_filter("DAddr", "127.0.0.0/8"),
                    sock_filter("Family", "AF_INET"),
                    sock_filter("Protocol", "IPPROTO_TCP"),
                    "      - index: 0\n        operator: \"DPortPriv\"\n".to_string(),
                    "      - index: 0\n        operator: \"NotSportPriv\"\n".to_string(),
                ]
                .concat(),
            )
            .as_bytes(),
            0o644,
        )
        .bytes(
            "/etc/policies/sock-not-daddr.yaml",
            sock_policy("sock-not-daddr", &sock_filter("NotDAddr", "127.0.0.0/8")).as_bytes(),
            0o644,
        )
        .bytes(
            "/etc/policies/sock-sport-priv.yaml",
            sock_policy(
                "sock-sport-priv",
                "      - index: 0\n        operator: \"SPortPriv\"\n",
            )
            .as_bytes(),
            0o644,
        )
        .c_program("/usr/bin/wget", CONNECT)
        .c_program("/usr/bin/fetch", CONNECT)
        .busybox_applet("/opt/test/cat")
        .c_program("/usr/bin/become-root", SETRESUID)
        .scenario(
            "mkdir",
            &scenario(
                "start /etc/policies/kill-mkdir-test.yaml --policy-events-only -o compact --node-name vm || exit 1
                 cd /tmp; mkdir test; echo \"mkdir test rc=$?\"; mkdir other; echo \"mkdir other rc=$?\"
                 stop; cat /tmp/run.err; echo '--- events'; cat /tmp/events",
            ),
        )
        .scenario(
            "secret",
            &scenario(
                "mkdir -p /tmp/secret; echo s > /tmp/secret/key; echo p > /tmp/public
                 start /etc/policies/block-secret-files.yaml --policy-events-only -o compact --node-name vm || exit 1
                 cat /tmp/secret/key; echo \"cat secret rc=$?\"; cat /tmp/public; echo \"cat public rc=$?\"
                 stop; cat /tmp/run.err; echo '--- events'; cat /tmp/events",
            ),
        )
        .scenario(
            "wget",
            &scenario(
                "start /etc/policies/block-443-for-wget.yaml --policy-events-only -o compact --node-name vm || exit 1
                 nc -l -p 443 >/dev/null & L=$!; sleep 0.2
                 /usr/bin/fetch; echo \"fetch rc=$?\"; wait $L
                 nc -l -p 443 >/dev/null & L=$!; sleep 0.2
                 /usr/bin/wget; echo \"wget rc=$?\"; kill $L 2>/dev/null
                 stop; cat /tmp/run.err; echo '--- events'; cat /tmp/events",
            ),
        )
        .scenario(
            "sock",
            &scenario(
                "start /etc/policies/sock-match.yaml /etc/policies/sock-not-daddr.yaml /etc/policies/sock-sport-priv.yaml --policy-events-only -o json --node-name vm || exit 1
                 nc -l -p 443 >/dev/null & L=$!; sleep 0.2
                 /usr/bin/fetch; echo \"fetch rc=$?\"; wait $L
                 stop; cat /tmp/run.err; echo '--- events'; cat /tmp/events",
            ),
        )
        .scenario(
            "sudo",
            &scenario(
                "start /etc/policies/detect-sudo.yaml --policy-events-only -o json --node-name vm || exit 1
                 /usr/bin/become-root
                 stop; cat /tmp/run.err; echo '--- events'; cat /tmp/events",
            ),
        )
        .scenario(
            "override",
            &scenario(
                "mkdir -p /tmp/vault; echo v > /tmp/vault/key
                 start /etc/policies/deny-secret-open.yaml --policy-events-only -o json --node-name vm || exit 1
                 /opt/test/cat /tmp/vault/key; echo \"cat vault rc=$?\"; cat /tmp/vault/key; echo \"other cat rc=$?\"
                 stop; cat /tmp/run.err; echo '--- events'; cat /tmp/events",
            ),
        )
        .scenario(
            "exec",
            &scenario(
                "start /etc/policies/block-exec.yaml --policy-events-only -o json --node-name vm || exit 1
                 /opt/test/blocked-tool; echo \"blocked rc=$?\"; /opt/test/allowed-tool; echo \"allowed rc=$?\"
                 stop; cat /tmp/run.err; echo '--- events'; cat /tmp/events",
            ),
        )
        .scenario(
            "fentry",
            &scenario(
                "start /etc/policies/watch-mkdir.yaml --attach fentry --policy-events-only -o compact --node-name vm || exit 1
                 mkdir /tmp/a-watched /tmp/b-unwatched; stop; cat /tmp/run.err; echo '--- events'; cat /tmp/events
                 start /etc/policies/watch-mkdir.yaml --attach kprobe --policy-events-only -o compact --node-name vm || exit 1
                 mkdir /tmp/c-watched; stop; cat /tmp/run.err; echo '--- events'; cat /tmp/events",
            ),
        )
        .run();
    eprintln!("{}", run.timings());

    // mkdir test is killed through do_mkdirat; another mkdir works
    let out = run.ok("mkdir");
    assert!(out.contains("mkdir test rc=137\n"), "{out}");
    assert!(out.contains("mkdir other rc=0\n"), "{out}");
    assert!(out.contains("`do_mkdirat` attached with kprobe"), "{out}");
    assert_eq!(
        events(out),
        ["❓ syscall vm /bin/busybox do_mkdirat"],
        "{out}"
    );

    // reading under /tmp/secret/ is killed through LSM file_open; elsewhere works
    let out = run.ok("secret");
    assert!(out.contains("cat secret rc=137\n"), "{out}");
    assert!(out.contains("p\ncat public rc=0\n"), "{out}");
    assert!(
        out.contains("LSM hook `file_open` attached with BPF LSM"),
        "{out}"
    );
    assert_eq!(
        events(out),
        ["🔒 LSM     vm /bin/busybox file_open"],
        "{out}"
    );

    // a program named wget is killed connecting to 443; another binary connects fine
    let out = run.ok("wget");
    assert!(out.contains("connect rc=0\nfetch rc=0\n"), "{out}");
    assert!(out.contains("wget rc=137\n"), "{out}");
    let lines = events(out);
    assert_eq!(lines.len(), 1, "{out}");
    let port = lines[0].rsplit(' ').nth(2).unwrap_or_default();
    assert_eq!(
        lines[0].replace(port, "127.0.0.1:<port>"),
        "🔌 connect vm /usr/bin/wget tcp 127.0.0.1:<port> -> 127.0.0.1:443",
        "{out}"
    );

    // sock filters: only the policy whose filters all hold reports the connection
    let out = run.ok("sock");
    assert!(out.contains("connect rc=0\nfetch rc=0\n"), "{out}");
    let json = json_events(out);
    assert_eq!(json.len(), 1, "{out}");
    let k = &json[0]["process_kprobe"];
    assert_eq!(k["policy_name"], "sock-match", "{out}");
    assert_eq!(k["function_name"], "tcp_connect");
    let sock = &k["args"][0]["sock_arg"];
    assert_eq!(sock["family"], "AF_INET", "{out}");
    assert_eq!(sock["protocol"], "IPPROTO_TCP", "{out}");
    assert_eq!(sock["daddr"], "127.0.0.1", "{out}");
    assert_eq!(sock["dport"], 443, "{out}");
    assert!(sock["sport"].as_u64().is_some_and(|p| p >= 1024), "{out}");

    // setresuid(-1, 0, -1) produces an event (JSON, Tetragon's shape)
    let out = run.ok("sudo");
    assert!(out.contains("setresuid rc=0\n"), "{out}");
    let json = json_events(out);
    assert_eq!(json.len(), 1, "{out}");
    insta::assert_json_snapshot!("article_detect_sudo_json", json[0]);

    // LSM Override: the open fails with the errno asked for (-13, EACCES), nothing is killed
    let out = run.ok("override");
    assert!(
        out.contains("cat: can't open '/tmp/vault/key': Permission denied\ncat vault rc=1\n"),
        "{out}"
    );
    assert!(out.contains("v\nother cat rc=0\n"), "{out}");
    let json = json_events(out);
    assert_eq!(json.len(), 1, "{out}");
    insta::assert_json_snapshot!("lsm_override_json", json[0]);

    // an exec is killed through LSM bprm_check_security on the executed file's path
    let out = run.ok("exec");
    assert!(out.contains("blocked rc=137\n"), "{out}");
    assert!(out.contains("allowed rc="), "{out}");
    assert!(!out.contains("allowed rc=137"), "{out}");
    let json = json_events(out);
    assert_eq!(json.len(), 1, "{out}");
    let lsm = &json[0]["process_lsm"];
    assert_eq!(lsm["function_name"], "bprm_check_security", "{out}");
    assert_eq!(lsm["action"], "KPROBE_ACTION_SIGKILL", "{out}");
    assert_eq!(
        lsm["args"][0]["linux_binprm_arg"]["path"], "/opt/test/blocked-tool",
        "{out}"
    );

    // the same policy through fentry and through kprobe
    let out = run.ok("fentry");
    assert!(out.contains("`do_mkdirat` attached with fentry"), "{out}");
    assert!(out.contains("`do_mkdirat` attached with kprobe"), "{out}");
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("❓")).collect();
    assert_eq!(
        lines,
        [
            "❓ syscall vm /bin/busybox do_mkdirat",
            "❓ syscall vm /bin/busybox do_mkdirat"
        ],
        "{out}"
    );
}

/// The event lines after the last `--- events` marker.
fn events(out: &str) -> Vec<&str> {
    out.rsplit_once("--- events\n")
        .map(|(_, e)| e.lines().filter(|l| !l.is_empty()).collect())
        .unwrap_or_default()
}

/// The JSON events, with what changes from run to run (ids, pids, times, the scenario
/// script that is the parent's command line) replaced by placeholders.
fn json_events(out: &str) -> Vec<serde_json::Value> {
    events(out)
        .into_iter()
        .map(|l| {
            let mut v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            normalize(&mut v, "");
            v
        })
        .collect()
}

fn normalize(v: &mut serde_json::Value, key: &str) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                normalize(child, k);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| normalize(i, key)),
        Value::String(s) if key.ends_with("exec_id") => *s = "<exec_id>".into(),
        Value::String(s) if key == "time" || key == "start_time" => *s = "<time>".into(),
        Value::String(s) if key == "arguments" && s.starts_with("-c ") => {
            *s = "<scenario script>".into()
        }
        Value::Number(_) if key == "pid" || key == "tid" => *v = "<pid>".into(),
        _ => {}
    }
}
