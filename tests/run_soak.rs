//! A soak of `policyctl run` on this machine's kernel (root): a hooked syscall made at a steady
//! rate for a while, every event counted against what was made, and the resident memory of
//! `policyctl run` (`VmRSS` of `/proc/PID/status`) sampled throughout.
//!
//! 60 s by default; `POLICYCTL_SOAK_SECS` sets another length, `POLICYCTL_SOAK_RATE` the rate
//! (events per second, default 5,000: far below what one consumer thread renders, even in the
//! debug build tests run, so nothing may be lost). The test thread opens files under its own
//! temporary directory (`openat` + `close`); the policy (tracepoint `syscalls/sys_enter_openat`)
//! matches only paths there.
//!
//! Checked: every open made is one event printed, none lost; memory is flat: the highest
//! `VmRSS` of the second half of the run is within 8 MiB of the highest of the first half (after
//! a warm-up of a tenth of the run). The figures are printed (`--nocapture` shows them).

#[path = "support/run.rs"]
mod run;
#[path = "support/skip.rs"]
mod skip;

use std::ffi::CString;
use std::time::{Duration, Instant};

use run::{started, TempDir};

fn env_number(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v: &f64| *v > 0.0)
        .unwrap_or(default)
}

/// `VmRSS` of `pid`, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[test]
fn steady_load_loses_nothing_and_memory_stays_flat() {
    let test = "steady_load_loses_nothing_and_memory_stays_flat";
    if !run::ready(test) {
        return;
    }
    let secs = env_number("POLICYCTL_SOAK_SECS", 60.0);
    let rate = env_number("POLICYCTL_SOAK_RATE", 5_000.0);
    let dir = TempDir::new("soak");
    let target = dir.write("target", "x");
    let policy = dir.write(
        "soak.yaml",
        &format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "soak"
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_openat"
    args:
    - index: 6
      type: "string"
    selectors:
    - matchArgs:
      - index: 6
        operator: "Equal"
        values:
        - "{target}"
"#
        ),
    );
    let running = started(&["--policy-events-only", policy.as_str()]);
    let pid = running.pid();
    let path = CString::new(target.as_str()).unwrap();
    let start = Instant::now();
    let total = Duration::from_secs_f64(secs);
    let mut made = 0u64;
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let mut next_sample = Duration::ZERO;
    while start.elapsed() < total {
        // paced: catch up to `rate` in batches of at most 100
        let due = (start.elapsed().as_secs_f64() * rate) as u64;
        let batch = due.saturating_sub(made).min(100);
        for _ in 0..batch {
            // SAFETY: a valid NUL-terminated path; the descriptor is closed at once.
            let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
            assert!(fd >= 0, "open {target}");
            unsafe { libc::close(fd) };
        }
        made += batch;
        if start.elapsed() >= next_sample {
            if let Some(kib) = rss_kib(pid) {
                samples.push((start.elapsed().as_secs_f64(), kib));
            }
            next_sample += total / 60;
        }
        if batch == 0 {
            std::thread::sleep(Duration::from_micros(500));
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    // every event printed, or 15 s passed
    let deadline = Instant::now() + Duration::from_secs(15);
    let marker = "\"policy_name\":\"soak\"";
    let count = || {
        running
            .lines()
            .iter()
            .filter(|l| l.contains(marker))
            .count() as u64
    };
    while count() < made && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let f = running.stop();
    let printed = f.stdout.iter().filter(|l| l.contains(marker)).count() as u64;
    let warm = secs / 10.0;
    let half = secs / 2.0;
    let first = samples
        .iter()
        .filter(|(t, _)| *t >= warm && *t < half)
        .map(|(_, k)| *k)
        .max()
        .unwrap_or(0);
    let second = samples
        .iter()
        .filter(|(t, _)| *t >= half)
        .map(|(_, k)| *k)
        .max()
        .unwrap_or(0);
    let min = samples.iter().map(|(_, k)| *k).min().unwrap_or(0);
    eprintln!(
        "soak: {made} opens in {elapsed:.1} s ({:.0}/s), {printed} events printed; VmRSS KiB: min {min}, max of first half {first}, max of second half {second} ({} samples)",
        made as f64 / elapsed,
        samples.len()
    );
    assert_eq!(
        printed,
        made,
        "every open is one event:\n{}",
        f.stderr_text()
    );
    assert!(f.stderr_text().contains(" 0 lost"), "{}", f.stderr_text());
    assert!(samples.len() >= 10, "{samples:?}");
    assert!(
        second <= first + 8 * 1024,
        "resident memory grew from {first} KiB to {second} KiB: {samples:?}"
    );
}
