//! `policyctl run` in a VM (Debian 6.12, and the same scenarios on Debian 6.1, under qemu, see
//! `tests/support/vm.rs`), where kprobes, BPF trampolines and the BPF LSM exist. One run holds nine policies at once while each
//! scenario acts (a few hundred ms each after boot): the seed article's four policies (with
//! their YAML mistakes fixed) do what the article shows, LSM Override makes an open fail with
//! the errno asked for, sock filters pick the one policy whose filters all hold, an exec is
//! killed through `bprm_check_security`. Then one policy attaches through fentry and through
//! kprobe alike (compact output). Every policy only ever matches processes the scenarios
//! themselves start inside the guest. The JSON events are also decoded into Tetragon's own
//! messages (`support/tetragon_api.rs`).

use crate::skip;
use crate::tetragon_api;
use crate::vm;

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
    article_policies_enforce(vm::VmKernel::Debian6_12, "run_article");
}

#[test]
fn article_policies_enforce_in_a_vm_on_debian_6_1() {
    article_policies_enforce(vm::VmKernel::Debian6_1, "run_article_6_1");
}

fn article_policies_enforce(kernel: vm::VmKernel, name: &str) {
    let Some(vm) = vm::Vm::builder_on(name, kernel) else {
        return;
    };
    let scenario = |body: &str| format!("{}\n{body}", vm::RUN_HELPERS);
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
        // one run of every policy but the fentry/kprobe pair: each scenario then only acts
        .scenario(
            "start",
            &scenario(
                "mkdir -p /tmp/secret /tmp/vault; echo s > /tmp/secret/key; echo p > /tmp/public; echo v > /tmp/vault/key
                 start /etc/policies/kill-mkdir-test.yaml /etc/policies/block-secret-files.yaml \\
                   /etc/policies/block-443-for-wget.yaml /etc/policies/detect-sudo.yaml \\
                   /etc/policies/deny-secret-open.yaml /etc/policies/block-exec.yaml \\
                   /etc/policies/sock-match.yaml /etc/policies/sock-not-daddr.yaml \\
                   /etc/policies/sock-sport-priv.yaml --policy-events-only -o json --node-name vm || exit 1
                 cat /tmp/run.err",
            ),
        )
        .scenario(
            "mkdir",
            "cd /tmp; mkdir test; echo \"mkdir test rc=$?\"; mkdir other; echo \"mkdir other rc=$?\"",
        )
        .scenario(
            "secret",
            "cat /tmp/secret/key; echo \"cat secret rc=$?\"; cat /tmp/public; echo \"cat public rc=$?\"",
        )
        .scenario(
            "wget",
            "nc -l -p 443 >/dev/null & L=$!; sleep 0.2
             /usr/bin/fetch; echo \"fetch rc=$?\"; wait $L
             nc -l -p 443 >/dev/null & L=$!; sleep 0.2
             /usr/bin/wget; echo \"wget rc=$?\"; kill $L 2>/dev/null; true",
        )
        .scenario("sudo", "/usr/bin/become-root")
        .scenario(
            "override",
            "/opt/test/cat /tmp/vault/key; echo \"cat vault rc=$?\"; cat /tmp/vault/key; echo \"other cat rc=$?\"",
        )
        .scenario(
            "exec",
            "/opt/test/blocked-tool; echo \"blocked rc=$?\"; /opt/test/allowed-tool; echo \"allowed rc=$?\"; true",
        )
        .scenario("stop", &scenario("stop"))
        // two runs, each loading the object and verifying its copy: up to 180 s on a slow
        // day under TCG (CI, 6.1), so twice the default limit
        .scenario_with_timeout(
            "fentry",
            &scenario(
                "start /etc/policies/watch-mkdir.yaml --attach fentry --policy-events-only -o compact --node-name vm || exit 1
                 mkdir /tmp/a-watched /tmp/b-unwatched; stop
                 start /etc/policies/watch-mkdir.yaml --attach kprobe --policy-events-only -o compact --node-name vm || exit 1
                 mkdir /tmp/c-watched; stop",
            ),
            std::time::Duration::from_secs(360),
        )
        .timeout(std::time::Duration::from_secs(720))
        .run();
    eprintln!("{}", run.timings());

    // one run attached all nine policies, each hook with the method this kernel offers
    let out = run.ok("start");
    for line in [
        "kill-mkdir-test: `do_mkdirat` attached with kprobe",
        "block-secret-files: LSM hook `file_open` attached with BPF LSM",
        "block-443-for-wget: `tcp_connect` attached with kprobe",
        "detect-sudo: `__sys_setresuid` attached with kprobe",
        "block-exec: LSM hook `bprm_check_security` attached with BPF LSM",
        "running 9 policies (9 hooks)",
    ] {
        assert!(out.contains(line), "{line}:\n{out}");
    }
    let stopped = run.ok("stop");
    assert!(stopped.contains("everything detached"), "{stopped}");
    let all = json_events(stopped);
    // a consumer written for Tetragon reads each of them (tests/tetragon_api.rs)
    match tetragon_api::compiled(name) {
        Ok((py, gen)) => {
            let t0 = std::time::Instant::now();
            let lines: Vec<String> = events(stopped).into_iter().map(String::from).collect();
            let d = tetragon_api::decode(&py, &gen, &lines);
            tetragon_api::report(name, "VM events", &d, t0);
        }
        Err(reason) => skip::skip(
            "article_policies_enforce_in_a_vm (Tetragon's messages)",
            &reason,
        ),
    }
    let of = |policy: &str| -> Vec<&serde_json::Value> {
        all.iter()
            .filter(|e| {
                e.as_object()
                    .and_then(|o| o.values().next())
                    .is_some_and(|b| b["policy_name"] == policy)
            })
            .collect()
    };

    // mkdir test is killed through do_mkdirat; another mkdir works
    let out = run.ok("mkdir");
    assert_eq!(out, "Killed\nmkdir test rc=137\nmkdir other rc=0\n");
    let mkdir = of("kill-mkdir-test");
    assert_eq!(mkdir.len(), 1, "{stopped}");
    let k = &mkdir[0]["process_kprobe"];
    assert_eq!(k["function_name"], "do_mkdirat");
    assert_eq!(k["args"][1]["string_arg"], "test");
    assert_eq!(k["action"], "KPROBE_ACTION_SIGKILL");

    // reading under /tmp/secret/ is killed through LSM file_open; elsewhere works
    let out = run.ok("secret");
    assert_eq!(out, "Killed\ncat secret rc=137\np\ncat public rc=0\n");
    let secret = of("block-secret-files");
    assert_eq!(secret.len(), 1, "{stopped}");
    let l = &secret[0]["process_lsm"];
    assert_eq!(l["function_name"], "file_open");
    assert_eq!(l["args"][0]["file_arg"]["path"], "/tmp/secret/key");
    assert_eq!(l["action"], "KPROBE_ACTION_SIGKILL");

    // a program named wget is killed connecting to 443; another binary connects fine
    let out = run.ok("wget");
    assert!(out.contains("connect rc=0\nfetch rc=0\n"), "{out}");
    assert!(out.contains("wget rc=137\n"), "{out}");
    let wget = of("block-443-for-wget");
    assert_eq!(wget.len(), 1, "{stopped}");
    let k = &wget[0]["process_kprobe"];
    assert_eq!(k["process"]["binary"], "/usr/bin/wget");
    assert_eq!(k["args"][0]["sock_arg"]["dport"], 443);
    // the sock's address, a uint64 that protojson writes as a string
    let cookie = k["args"][0]["sock_arg"]["cookie"].as_str().unwrap_or("");
    assert!(cookie.parse::<u64>().is_ok_and(|c| c != 0), "{k}");
    assert_eq!(k["action"], "KPROBE_ACTION_SIGKILL");

    // sock filters: of three policies on fetch's connection, only the one whose filters all
    // hold reports it
    let sock = of("sock-match");
    assert_eq!(sock.len(), 1, "{stopped}");
    let s = &sock[0]["process_kprobe"]["args"][0]["sock_arg"];
    assert_eq!(s["family"], "AF_INET", "{stopped}");
    assert_eq!(s["protocol"], "IPPROTO_TCP", "{stopped}");
    assert_eq!(s["daddr"], "127.0.0.1", "{stopped}");
    assert_eq!(s["dport"], 443, "{stopped}");
    assert!(s["sport"].as_u64().is_some_and(|p| p >= 1024), "{stopped}");
    assert!(of("sock-not-daddr").is_empty(), "{stopped}");
    assert!(of("sock-sport-priv").is_empty(), "{stopped}");

    // setresuid(-1, 0, -1) produces an event (JSON, Tetragon's shape)
    assert_eq!(run.ok("sudo"), "setresuid rc=0\n");
    let sudo = of("detect-sudo");
    assert_eq!(sudo.len(), 1, "{stopped}");
    insta::assert_json_snapshot!("article_detect_sudo_json", sudo[0]);

    // LSM Override: the open fails with the errno asked for (-13, EACCES), nothing is killed
    let out = run.ok("override");
    assert_eq!(
        out,
        "cat: can't open '/tmp/vault/key': Permission denied\ncat vault rc=1\nv\nother cat rc=0\n"
    );
    let denied = of("deny-secret-open");
    assert_eq!(denied.len(), 1, "{stopped}");
    insta::assert_json_snapshot!("lsm_override_json", denied[0]);

    // an exec is killed through LSM bprm_check_security on the executed file's path
    let out = run.ok("exec");
    assert!(out.contains("blocked rc=137\n"), "{out}");
    assert!(out.contains("allowed rc="), "{out}");
    assert!(!out.contains("allowed rc=137"), "{out}");
    let exec = of("block-exec");
    assert_eq!(exec.len(), 1, "{stopped}");
    let lsm = &exec[0]["process_lsm"];
    assert_eq!(lsm["function_name"], "bprm_check_security", "{stopped}");
    assert_eq!(lsm["action"], "KPROBE_ACTION_SIGKILL", "{stopped}");
    assert_eq!(
        lsm["args"][0]["linux_binprm_arg"]["path"], "/opt/test/blocked-tool",
        "{stopped}"
    );
    assert_eq!(
        all.len(),
        7,
        "one event per matched action, nothing else:\n{stopped}"
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
