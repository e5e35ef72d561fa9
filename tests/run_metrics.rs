//! `policyctl run --metrics` scraped by a real Prometheus (Debian's `prometheus` package): the
//! test runs a tracepoint policy scoped to a copy of `rm` in its own directory, makes a known
//! number of events with it, lets Prometheus scrape `policyctl run` every second, and asks
//! Prometheus's HTTP API (`/api/v1/query`) for the counters: `policyctl_policy_events_total`
//! must equal the events the test caused, and `policyctl_observer_ringbuf_events_lost_total`
//! must exist and be 0.
//!
//! Needs root, BTF and tracefs (as `tests/run_host.rs`) and the `prometheus` binary; without
//! them the test prints `SKIPPED` (and fails when `CI` is set). Both processes are killed when
//! the test ends, also when it fails (their guards' `Drop`).

#[path = "support/run.rs"]
mod run;
#[path = "support/skip.rs"]
mod skip;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use run::{pid_of, run_child, started, TempDir};
use serde_json::Value;

/// How long Prometheus may take to start, and then to see the counter reach its value.
const PROMETHEUS_TIMEOUT: Duration = Duration::from_secs(60);

/// A port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` on `127.0.0.1:port`: (status code, body); `None` when nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

/// Percent-encode a PromQL query for a URL.
fn encode(query: &str) -> String {
    query
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The instant vector Prometheus answers for `query`: (labels, value) per series.
fn query(port: u16, query: &str) -> Vec<(Value, String)> {
    let Some((200, body)) = get(port, &format!("/api/v1/query?query={}", encode(query))) else {
        return Vec::new();
    };
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(v["status"], "success", "{body}");
    v["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("no result: {body}"))
        .iter()
        .map(|r| {
            (
                r["metric"].clone(),
                r["value"][1].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn policy(binary: &str) -> String {
    run::unlinks_by("metrics-unlink", binary)
}

#[test]
fn prometheus_scrapes_policy_events() {
    const TEST: &str = "prometheus_scrapes_policy_events";
    if !run::ready(TEST) {
        return;
    }
    if Command::new("prometheus")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        skip::skip(
            TEST,
            "prometheus is not installed (apt-get install prometheus)",
        );
        return;
    }
    let started_at = Instant::now();
    let dir = TempDir::new("metrics");
    let rm = dir.copy_binary("/usr/bin/rm", "rm-metrics");
    let policy = dir.write("policy.yaml", &policy(&rm));
    let metrics_port = free_port();
    let target = format!("127.0.0.1:{metrics_port}");
    let running = started(&[
        policy.as_str(),
        "--policy-events-only",
        "--metrics",
        &target,
        // a bound, should the test die without killing it
        "--duration",
        "300",
    ]);

    // Prometheus, scraping policyctl every second
    let prom_port = free_port();
    let config = dir.write(
        "prometheus.yml",
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n- job_name: policyctl\n  static_configs:\n  - targets: ['{target}']\n"
        ),
    );
    let log = std::fs::File::create(dir.join("prometheus.log")).expect("prometheus log");
    let prometheus = Killed(
        Command::new("prometheus")
            .arg(format!("--config.file={config}"))
            .arg(format!("--storage.tsdb.path={}", dir.join("tsdb")))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start prometheus"),
    );
    let prometheus_log = || std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();

    // the events: 2 + 3 unlinks by the copy of rm, and one by the real rm (not counted)
    let mut pids = Vec::new();
    for (i, n) in [2, 3].into_iter().enumerate() {
        let files: Vec<String> = (0..n)
            .map(|j| dir.write(&format!("gone-{i}-{j}"), ""))
            .collect();
        let args: Vec<&str> = files.iter().map(String::as_str).collect();
        let (status, pid, _) = run_child(&rm, &args);
        assert!(status.success());
        pids.push(pid as u64);
    }
    let other = dir.write("other", "");
    assert!(run_child("/usr/bin/rm", &[&other]).0.success());
    let expected = 5;
    running.wait_events(expected, |e| {
        pid_of(e, "process_tracepoint").is_some_and(|p| pids.contains(&p))
    });

    // Prometheus sees the counter reach the number of events, and nothing lost
    let deadline = Instant::now() + PROMETHEUS_TIMEOUT;
    let last = loop {
        let last = query(prom_port, "policyctl_policy_events_total");
        if last.len() == 1 && last[0].1 == expected.to_string() {
            break last;
        }
        if Instant::now() > deadline {
            panic!(
                "Prometheus did not see policyctl_policy_events_total = {expected} within {PROMETHEUS_TIMEOUT:?}: {last:?}\nup: {:?}\nprometheus log:\n{}\npolicyctl stderr:\n{}",
                query(prom_port, "up"),
                prometheus_log(),
                running.stderr().join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let labels = &last[0].0;
    assert_eq!(labels["policy"], "metrics-unlink", "{labels}");
    assert_eq!(
        labels["hook"], "tracepoint:syscalls/sys_enter_unlinkat",
        "{labels}"
    );
    assert_eq!(labels["job"], "policyctl", "{labels}");
    let lost = query(prom_port, "policyctl_observer_ringbuf_events_lost_total");
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(lost[0].1, "0", "{lost:?}");
    let tracepoints = query(
        prom_port,
        "policyctl_events_total{type=\"PROCESS_TRACEPOINT\"}",
    );
    assert_eq!(tracepoints.len(), 1, "{tracepoints:?}");
    assert_eq!(tracepoints[0].1, expected.to_string(), "{tracepoints:?}");
    let loaded = query(
        prom_port,
        "policyctl_tracingpolicy_loaded{state=\"enabled\"}",
    );
    assert_eq!(loaded.len(), 1, "{loaded:?}");
    assert_eq!(loaded[0].1, "1", "{loaded:?}");

    drop(prometheus);
    let f = running.stop();
    let mine = f
        .events()
        .iter()
        .filter(|e| pid_of(e, "process_tracepoint").is_some_and(|p| pids.contains(&p)))
        .count();
    assert_eq!(mine, expected, "{f}");
    eprintln!(
        "{TEST}: {expected} events counted by Prometheus in {:.1} s",
        started_at.elapsed().as_secs_f64()
    );
}

#[test]
fn a_busy_metrics_address_refuses_before_loading() {
    if !run::ready("a_busy_metrics_address_refuses_before_loading") {
        return;
    }
    let dir = TempDir::new("metrics-busy");
    let policy = dir.write("policy.yaml", &policy(&dir.join("nothing")));
    let busy = TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = busy.local_addr().expect("its address").to_string();
    let f = run::refused(&[policy.as_str(), "--metrics", &addr]);
    assert_eq!(f.status.code(), Some(1), "{f}");
    assert_eq!(
        f.stderr,
        [format!(
            "policyctl run: cannot listen on {addr} for --metrics: Address already in use (os error 98)"
        )],
        "{f}"
    );
}
