//! `policyctl run --policy-dir DIR` reloads DIR on SIGHUP, on this machine's kernel (root):
//! a policy file added, changed or removed takes effect while the other policies stay attached,
//! and a file that fails (errors when checked, a hook that cannot attach) is left out with the
//! reason on stderr and in the metrics while the running set keeps going.
//!
//! A program the test compiled into its own temporary directory loops throughout: iteration `i`
//! creates `DIR/a/<i>` (openat) and removes it (unlinkat), a millisecond apart. Policy A
//! (tracepoint `syscalls/sys_enter_openat`) and policy B (`sys_enter_unlinkat`) match only that
//! binary, so the file names in their events number the iterations: A's numbers must run
//! without a gap across every reload until A is removed. bpftool reads the kernel's `hooks`
//! map: it holds the running hooks' configurations, no more (a removed hook leaves nothing).
//!
//! Safety: nothing enforces; every policy matches only the binary the test compiled.

#[path = "support/run.rs"]
mod run;
#[path = "support/skip.rs"]
mod skip;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use run::{started, Running, TempDir, EVENT_TIMEOUT};
use serde_json::Value;

/// The looping program: `looper DIR` until `DIR/stop` exists.
const LOOPER: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    char path[4096], stop[4096];
    if (argc < 2)
        return 2;
    snprintf(stop, sizeof stop, "%s/stop", argv[1]);
    for (long i = 0;; i++) {
        if (access(stop, F_OK) == 0)
            return 0;
        snprintf(path, sizeof path, "%s/a/%ld", argv[1], i);
        int fd = open(path, O_CREAT | O_WRONLY, 0600);
        if (fd >= 0)
            close(fd);
        unlinkat(AT_FDCWD, path, 0);
        usleep(1000);
    }
}
"#;

/// A tracepoint policy `name` on `syscalls/<event>` (its path, field 6, as a string arg) for
/// `binary` only; `more` adds selector keys.
fn policy(name: &str, event: &str, binary: &str, more: &str) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "{name}"
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "{event}"
    args:
    - index: 6
      type: "string"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "{binary}"
{more}"#
    )
}

/// The iteration numbers in the events of `policy_name` so far, in order printed.
fn iterations(running: &Running, policy_name: &str) -> Vec<u64> {
    let marker = format!("\"policy_name\":\"{policy_name}\"");
    running
        .lines()
        .iter()
        .filter(|l| l.contains(&marker))
        .filter_map(|l| {
            let v: Value = serde_json::from_str(l).ok()?;
            let path = v["process_tracepoint"]["args"][0]["string_arg"].as_str()?;
            path.rsplit('/').next()?.parse().ok()
        })
        .collect()
}

/// Wait until `policy_name` has an event of an iteration past `after`; the highest seen.
fn wait_past(running: &Running, policy_name: &str, after: u64) -> u64 {
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let max = iterations(running, policy_name).into_iter().max();
        if let Some(max) = max.filter(|m| *m > after) {
            return max;
        }
        if Instant::now() > deadline {
            panic!(
                "no event of {policy_name} past iteration {after} within {EVENT_TIMEOUT:?}; stderr:\n{}",
                running.stderr().join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGHUP, then wait for the reload to finish (`reload: running ...`); the stderr lines it
/// printed.
fn reload(running: &Running) -> Vec<String> {
    let from = running.stderr().len();
    running.signal(libc::SIGHUP);
    let end = running.wait_stderr(from, |l| l.starts_with("policyctl run: reload: running"));
    running.stderr()[from..=end].to_vec()
}

/// The metrics exposition at `addr`.
/// Entries of the `hooks` map of the `policyctl run` with `pid`, read with bpftool (the kernel's
/// own view: what a detach left behind shows here).
fn hook_entries(pid: u32) -> usize {
    let json = |args: &[&str]| -> serde_json::Value {
        let out = std::process::Command::new("bpftool")
            .arg("-j")
            .args(args)
            .output()
            .expect("bpftool (apt-get install bpftool)");
        assert!(out.status.success(), "bpftool {args:?}: {out:?}");
        serde_json::from_slice(&out.stdout).expect("bpftool's JSON")
    };
    let maps = json(&["map", "show"]);
    let mine: Vec<u64> = maps
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["name"] == "hooks")
        .filter(|m| {
            // bpftool names the processes holding a map where the kernel lets it
            m["pids"]
                .as_array()
                .is_none_or(|p| p.iter().any(|p| p["pid"] == pid))
        })
        .filter_map(|m| m["id"].as_u64())
        .collect();
    assert_eq!(mine.len(), 1, "one `hooks` map of policyctl {pid}: {maps}");
    let entries = json(&["map", "dump", "id", &mine[0].to_string()]);
    entries.as_array().map_or(0, Vec::len)
}

fn scrape(addr: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the metrics server");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// The value of the series `series` (name and labels, as printed).
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

#[test]
fn sighup_reloads_the_policy_directory_without_detaching_the_others() {
    let test = "sighup_reloads_the_policy_directory_without_detaching_the_others";
    if !run::ready(test) {
        return;
    }
    let tmp = TempDir::new("reload");
    let Some(looper) = tmp.compile_c(test, "looper", LOOPER) else {
        return;
    };
    std::fs::create_dir(tmp.join("a")).unwrap();
    let dir = tmp.join("tp.d");
    std::fs::create_dir(&dir).unwrap();
    let write = |name: &str, text: &str| std::fs::write(format!("{dir}/{name}"), text).unwrap();
    write(
        "a.yaml",
        &policy("reload-a", "sys_enter_openat", &looper, ""),
    );
    let running = started(&[
        "--policy-dir",
        &dir,
        "--policy-events-only",
        "--metrics",
        "127.0.0.1:0",
    ]);
    let addr = running
        .stderr()
        .iter()
        .find_map(|l| {
            l.strip_prefix("policyctl run: metrics at http://")?
                .strip_suffix("/metrics")
                .map(str::to_string)
        })
        .expect("the metrics address");
    let mut child = run::spawn(
        std::process::Command::new(&looper)
            .arg(tmp.str())
            .stdout(std::process::Stdio::null()),
    );
    struct Stop<'a>(&'a TempDir, &'a mut std::process::Child);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            let _ = std::fs::write(self.0.join("stop"), "");
            let _ = self.1.wait();
        }
    }
    let stop = Stop(&tmp, &mut child);
    let a0 = wait_past(&running, "reload-a", 0);

    // added: B's events appear
    write(
        "b.yaml",
        &policy("reload-b", "sys_enter_unlinkat", &looper, ""),
    );
    let said = reload(&running);
    assert!(
        said.iter()
            .any(|l| l
                .contains("b.yaml: reload-b: tracepoint `syscalls/sys_enter_unlinkat` attached")),
        "{said:#?}"
    );
    assert!(
        said.last().unwrap().contains("2 policies (2 hooks)"),
        "{said:#?}"
    );
    assert_eq!(
        hook_entries(running.pid()),
        2,
        "the `hooks` map holds the hooks running"
    );
    let b0 = wait_past(&running, "reload-b", 0);

    // changed: B now reports only iterations ending in 0
    write(
        "b.yaml",
        &policy(
            "reload-b",
            "sys_enter_unlinkat",
            &looper,
            "      matchArgs:\n      - index: 6\n        operator: \"Postfix\"\n        values:\n        - \"0\"\n",
        ),
    );
    let said = reload(&running);
    assert!(
        said.iter().any(|l| l.contains("b.yaml: changed")),
        "{said:#?}"
    );
    // past what the old version may still have reported before it was detached
    let changed_at = iterations(&running, "reload-b")
        .into_iter()
        .max()
        .unwrap_or(b0);
    let b1 = wait_past(&running, "reload-b", changed_at + 50);
    let after: Vec<u64> = iterations(&running, "reload-b")
        .into_iter()
        .filter(|i| *i > changed_at + 1)
        .collect();
    assert!(!after.is_empty());
    assert!(
        after.iter().all(|i| i % 10 == 0),
        "the changed B reports only names ending in 0: {after:?}"
    );

    // broken: refused with the reason; A and B keep going
    write(
        "c.yaml",
        &policy("reload-c", "sys_enter_openat", &looper, "")
            .replace("tracepoints:", "tracepointss:"),
    );
    let said = reload(&running);
    assert!(
        said.iter()
            .any(|l| l.contains("c.yaml: refused:") && l.contains("error")),
        "{said:#?}"
    );
    assert!(
        said.last().unwrap().contains("2 policies (2 hooks)"),
        "{said:#?}"
    );
    // one that cannot attach: its file is rolled back whole (its tracepoint policy too)
    write(
        "d.yaml",
        &format!(
            "{}---\napiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: \"reload-d-missing\"\nspec:\n  uprobes:\n  - path: \"{looper}\"\n    symbols:\n    - \"no_such_function_here\"\n",
            policy("reload-d", "sys_enter_openat", &looper, "")
        ),
    );
    let said = reload(&running);
    assert!(
        said.iter().any(
            |l| l.contains("policy `reload-d-missing`: cannot attach uprobe")
                && l.contains("it is not loaded")
        ),
        "{said:#?}"
    );
    assert!(
        said.last().unwrap().contains("2 policies (2 hooks)"),
        "{said:#?}"
    );
    let b2 = wait_past(&running, "reload-b", b1 + 50);
    let metrics = scrape(&addr);
    assert_eq!(
        metric(
            &metrics,
            "policyctl_tracingpolicy_loaded{state=\"load_error\"}"
        ),
        Some(3.0),
        "c.yaml (1 policy) and d.yaml (2):\n{metrics}"
    );
    assert_eq!(
        metric(
            &metrics,
            "policyctl_tracingpolicy_loaded{state=\"enabled\"}"
        ),
        Some(2.0),
        "{metrics}"
    );
    assert_eq!(
        metric(
            &metrics,
            "policyctl_policy_reload_errors_total{error=\"check\"}"
        ),
        Some(2.0),
        "c.yaml, tried again by the second reload:\n{metrics}"
    );
    assert_eq!(
        metric(
            &metrics,
            "policyctl_policy_reload_errors_total{error=\"attach\"}"
        ),
        Some(1.0),
        "{metrics}"
    );

    // removed: A's events stop, B's go on
    std::fs::remove_file(format!("{dir}/a.yaml")).unwrap();
    std::fs::remove_file(format!("{dir}/c.yaml")).unwrap();
    std::fs::remove_file(format!("{dir}/d.yaml")).unwrap();
    let said = reload(&running);
    assert!(
        said.iter().any(|l| l.contains("a.yaml: removed")),
        "{said:#?}"
    );
    assert!(
        said.last().unwrap().contains("1 policy (1 hook)"),
        "{said:#?}"
    );
    // the removed hooks' configurations left the kernel with them
    assert_eq!(
        hook_entries(running.pid()),
        1,
        "the `hooks` map holds the hooks running"
    );
    let removed_at = iterations(&running, "reload-b")
        .into_iter()
        .max()
        .unwrap_or(b2);
    let last_b = wait_past(&running, "reload-b", removed_at + 300);
    let a = iterations(&running, "reload-a");
    let last_a = *a.iter().max().unwrap();
    assert!(
        last_a + 200 < last_b,
        "A stopped (last iteration {last_a}) while B went on to {last_b}"
    );
    // and until then, A saw every iteration: no gap across four reloads
    let mut sorted = a.clone();
    sorted.sort_unstable();
    sorted.dedup();
    let first = sorted[0];
    assert!(first <= a0);
    let missing: Vec<u64> = (first..=last_a)
        .filter(|i| sorted.binary_search(i).is_err())
        .collect();
    assert!(
        missing.is_empty(),
        "A missed iterations {missing:?} of {first}..={last_a}"
    );
    assert!(
        iterations(&running, "reload-d").is_empty() && iterations(&running, "reload-c").is_empty(),
        "the refused files never ran"
    );
    let metrics = scrape(&addr);
    assert_eq!(
        metric(
            &metrics,
            "policyctl_tracingpolicy_loaded{state=\"load_error\"}"
        ),
        Some(0.0),
        "{metrics}"
    );
    drop(stop);
    let f = running.stop();
    eprintln!("{}", f.stderr_text());
    assert!(f.stderr_text().contains("0 lost"), "{f}");
}
