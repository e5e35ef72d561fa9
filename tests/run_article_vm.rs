//! The seed article's four policies, run by `policyctl run` in a VM (Debian 6.12 under qemu,
//! see `tests/support/vm.rs`): each does what the article shows. Every policy only ever
//! touches processes the scenario itself starts inside the guest.

#[path = "support/vm.rs"]
mod vm;

const PRELUDE: &str = r#"
start() { # start policyctl run in the background; wait until it has attached
  policyctl run "$@" >/tmp/events 2>/tmp/run.err &
  PID=$!
  for i in $(seq 1 300); do
    grep -q 'Ctrl-C stops' /tmp/run.err && return 0
    kill -0 $PID 2>/dev/null || { cat /tmp/run.err; return 1; }
    sleep 0.05
  done
  cat /tmp/run.err; return 1
}
stop() { sleep 0.3; kill -INT $PID; wait $PID; echo "policyctl rc=$?"; }
"#;

fn policy(name: &str) -> String {
    let path = format!(
        "{}/testdata/policies/article/fixed-{name}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn article_policies_enforce_in_a_vm() {
    let Some(vm) = vm::Vm::builder("run_article") else {
        return;
    };
    let scenario = |body: &str| format!("{PRELUDE}\n{body}");
    let run = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .bytes("/etc/policies/kill-mkdir-test.yaml", policy("kill-mkdir-test").as_bytes(), 0o644)
        .bytes("/etc/policies/block-secret-files.yaml", policy("block-secret-files").as_bytes(), 0o644)
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
        .run();
    eprintln!("{}", run.timings());
    eprintln!("{}", run["mkdir"].output);
    eprintln!("{}", run["secret"].output);
    panic!("look");
}
