//! `policyctl run` in a VM: what a hooked syscall costs when the hook is a kprobe or a BPF
//! trampoline (fentry), the attach methods the development host lacks.
//!
//! ```sh
//! cargo bench --bench run_vm      # needs what the VM tests need (tests/support/vm.rs)
//! ```
//!
//! One boot per Debian kernel (6.12, then 6.1) under qemu. Inside, a static C program runs a
//! tight loop of `openat` + `close` on a file of its own, 20k iterations a round in 10 chunks,
//! and prints the median chunk's time per iteration. Each round measures, in turn, with
//! nothing loaded and then with one policy: `sys_mknodat` hooked (the other syscall: with a
//! kprobe or a trampoline only `mknodat` pays) and `sys_openat` hooked with `syscall: true`, a
//! `string` arg 1 and `Equal` on a path never opened, of another length (the selector runs on
//! every `openat`, no event is posted), the same with `Prefix` on a directory never opened, of
//! a length the bench's path passes (the argument gate lets it through to the trie, whose
//! lookup fails), `sys_openat` hooked with a selector whose only filter is a matchBinaries on a
//! binary that never runs, and one whose only filter is a matchPIDs
//! on a pid that never runs (the path up to the first filter, no argument read), each with
//! `--attach kprobe` (served by the one `kprobe_multi` program, linked, where the kernel has
//! kprobe_multi links: 6.12) and with `--attach fentry`, the first two also with `--attach
//! kprobe --disable-kprobe-multi` (`kprobe copy`: a program copy of the hook's own, as on 6.1)
//! and with `--attach tracepoint`
//! (the syscall's own tracepoint, which is how the development host, without kprobes, serves
//! a syscall hook: `cargo bench --bench run` measures it there, with the host's noise);
//! every ratio divides by the unhooked measurement just before it. Three `floor:` rows measure
//! the same loop with an empty BPF program (`benches/floor.c`: `r0 = 0; exit`, loaded with raw
//! system calls) on `__x64_sys_openat` as a kprobe and as an fentry, and on
//! `syscalls/sys_enter_openat`: what any program on that hook costs, under which no policy can
//! go. Three `peer:` rows run the least program that does the unmatched policy's work,
//! hand-assembled in the same file: read the path's pointer from the user registers (the
//! tracepoint's record), read the path (64 bytes at most, as bpftrace's `str()`), compare its length and
//! first 8 bytes; the guest has no bpftrace, so this is the peer there. Three rounds; the
//! table gives each configuration's median ratio.
//!
//! For a quicker look: `POLICYCTL_BENCH_KERNELS=6.12` (only those kernels),
//! `POLICYCTL_BENCH_ROUNDS=1`, `POLICYCTL_BENCH_ONLY=matchPIDs,floor` (only the rows whose label
//! contains one of the words).
//!
//! qemu runs with `-icount shift=0,sleep=off`: guest time advances one nanosecond per guest
//! instruction, so a "ns/iter" is the instructions one `openat` + `close` executes (kernel,
//! BPF programs and all), free of the host's load; the ratios say how many more instructions a
//! hook adds to the syscall's path, not what a real machine's times are (cache and branch
//! behaviour are not modelled). The figures go in the issue notes with this command.
//!
//! After each hooked measurement, a short loop runs with the kernel's BPF statistics on
//! (`kernel.bpf_stats_enabled`), and the `prog ns/call` column gives `run_time_ns / run_cnt`
//! of the busiest program `policyctl run` holds (from `/proc/<pid>/fdinfo`): with icount, the
//! instructions the BPF program itself (and the helpers it calls) executes per call, apart
//! from what the attach mechanism (kprobe, trampoline) costs around it. The statistics are off
//! while the ratios are measured (they add two clock reads per call).

use std::collections::BTreeMap;
use std::time::Duration;

#[path = "../tests/support/skip.rs"]
mod skip;
#[path = "../tests/support/vm.rs"]
mod vm;

const LOOP: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    const char *path = argc > 2 ? argv[2] : "/tmp/bench-file";
    close(open(path, O_CREAT | O_WRONLY, 0600));
    long long chunk[10];
    for (int c = 0; c < 10; c++) {
        long long t0 = now();
        for (int i = 0; i < n / 10; i++)
            close(open(path, O_RDONLY));
        chunk[c] = now() - t0;
    }
    qsort(chunk, 10, sizeof chunk[0], cmp);
    printf("ns/iter %.1f\n", (double)chunk[5] / (n / 10));
    return 0;
}
"#;

/// The path the Equal policies compare with: no open in the bench has it, nor its length.
const NEVER_OPENED: &str = "/nonexistent/never-opened";

/// `call` hooked with `syscall: true`, a `string` arg 1 and one selector, `selector` (its
/// lines, from the first filter's key).
fn policy(name: &str, call: &str, selector: &str) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "{name}"
spec:
  kprobes:
  - call: "{call}"
    syscall: true
    args:
    - index: 1
      type: "string"
    selectors:
{selector}"#
    )
}

/// A selector comparing arg 1 with `operator` to a path no open in the bench has.
fn path_filter(operator: &str, value: &str) -> String {
    format!(
        r#"    - matchArgs:
      - index: 1
        operator: "{operator}"
        values:
        - "{value}"
"#
    )
}

/// A selector whose only filter is a matchPIDs on a pid that never runs: the path every
/// hooked call takes up to its first filter, with no argument read.
const PIDS_ONLY: &str = r#"    - matchPIDs:
      - operator: "In"
        values:
        - 4000000
"#;

/// A selector whose only filter is a matchBinaries In on a binary that never runs (of another
/// length than the loop's): the path of a hook most real policies have (every selector with
/// matchBinaries), refused by the binary gate.
const BINARIES_ONLY: &str = r#"    - matchBinaries:
      - operator: "In"
        values:
        - "/usr/sbin/never-run"
"#;

/// The configurations measured: (row label, how the hook is put in place). A `policyctl`
/// entry is `--attach` and a policy file for `policyctl run`; a `floor` entry is the mode of
/// [`FLOOR`] on `__x64_sys_openat`: an empty program, or (`-str`) the least program that
/// filters on the path as the unmatched policy does, the peer the issue asks for where the
/// guest has no bpftrace.
const CONFIGS: [(&str, Hook); 20] = [
    (
        "other syscall hooked (kprobe)",
        Hook::Policyctl("kprobe", "/etc/bench/other.yaml"),
    ),
    (
        "openat hooked, unmatched (kprobe)",
        Hook::Policyctl("kprobe", "/etc/bench/openat.yaml"),
    ),
    (
        "other syscall hooked (kprobe copy)",
        Hook::Policyctl("kprobe --disable-kprobe-multi", "/etc/bench/other.yaml"),
    ),
    (
        "openat hooked, unmatched (kprobe copy)",
        Hook::Policyctl("kprobe --disable-kprobe-multi", "/etc/bench/openat.yaml"),
    ),
    (
        "other syscall hooked (fentry)",
        Hook::Policyctl("fentry", "/etc/bench/other.yaml"),
    ),
    (
        "openat hooked, unmatched (fentry)",
        Hook::Policyctl("fentry", "/etc/bench/openat.yaml"),
    ),
    (
        "other syscall hooked (tracepoint)",
        Hook::Policyctl("tracepoint", "/etc/bench/other.yaml"),
    ),
    (
        "openat hooked, unmatched (tracepoint)",
        Hook::Policyctl("tracepoint", "/etc/bench/openat.yaml"),
    ),
    (
        "openat hooked, Prefix unmatched (kprobe)",
        Hook::Policyctl("kprobe", "/etc/bench/prefix.yaml"),
    ),
    (
        "openat hooked, Prefix unmatched (fentry)",
        Hook::Policyctl("fentry", "/etc/bench/prefix.yaml"),
    ),
    (
        "openat hooked, matchBinaries only (kprobe)",
        Hook::Policyctl("kprobe", "/etc/bench/binaries.yaml"),
    ),
    (
        "openat hooked, matchBinaries only (fentry)",
        Hook::Policyctl("fentry", "/etc/bench/binaries.yaml"),
    ),
    (
        "openat hooked, matchPIDs only (kprobe)",
        Hook::Policyctl("kprobe", "/etc/bench/pids.yaml"),
    ),
    (
        "openat hooked, matchPIDs only (fentry)",
        Hook::Policyctl("fentry", "/etc/bench/pids.yaml"),
    ),
    (
        "floor: empty kprobe program on openat",
        Hook::Floor("kprobe"),
    ),
    (
        "floor: empty fentry program on openat",
        Hook::Floor("fentry"),
    ),
    (
        "floor: empty tracepoint program on sys_enter_openat",
        Hook::Floor("tracepoint"),
    ),
    (
        "peer: least string filter (kprobe)",
        Hook::Floor("kprobe-str"),
    ),
    (
        "peer: least string filter (fentry)",
        Hook::Floor("fentry-str"),
    ),
    (
        "peer: least string filter (tracepoint)",
        Hook::Floor("tracepoint-str"),
    ),
];

/// How a configuration hooks `openat` (or another syscall).
#[derive(Clone, Copy)]
enum Hook {
    /// `policyctl run --attach METHOD FILE` (METHOD may carry more flags).
    Policyctl(&'static str, &'static str),
    /// [`FLOOR`] with its mode (`kprobe`, `fentry`, `tracepoint`, and each with `-str`).
    Floor(&'static str),
}

impl Hook {
    /// The shell lines that put the hook in place (the process holding it in /tmp/run.pid).
    fn start(self) -> String {
        match self {
            Hook::Policyctl(attach, file) => format!(
                "{}\nstart --policy-events-only --attach {attach} {file} || exit 1",
                vm::RUN_HELPERS
            ),
            Hook::Floor(mode) => format!(
                "/usr/bin/floor {mode} {} >/tmp/floor.out 2>&1 &\n\
                 echo $! >/tmp/run.pid\n\
                 for i in $(seq 1 200); do grep -q attached /tmp/floor.out && break; sleep 0.05; done\n\
                 grep -q attached /tmp/floor.out || {{ cat /tmp/floor.out; exit 1; }}",
                if mode.starts_with("tracepoint") {
                    "syscalls/sys_enter_openat"
                } else {
                    "__x64_sys_openat"
                }
            ),
        }
    }

    /// The shell line that takes it away.
    fn stop(self) -> &'static str {
        match self {
            Hook::Policyctl(..) => "stop >/dev/null",
            Hook::Floor(_) => "kill $(cat /tmp/run.pid); wait",
        }
    }
}

/// The floor under any program on a hook: a BPF program of two instructions (`r0 = 0; exit`)
/// attached to a kernel function as a kprobe (perf_event_open on the kprobe PMU) or as an
/// fentry (its BTF id found in /sys/kernel/btf/vmlinux), or to a tracepoint (perf_event_open
/// of its id), with raw system calls. What a hook costs above it is the program's own work.
/// `floor kprobe|fentry|kprobe-str|fentry-str FUNCTION` or `floor tracepoint|tracepoint-str
/// SUBSYSTEM/EVENT` (`-str`: the peer string filter, on a syscall stub or its sys_enter
/// tracepoint); prints `attached` and waits to be killed.
const FLOOR: &str = include_str!("floor.c");

/// Rounds: 3, or `POLICYCTL_BENCH_ROUNDS`.
fn rounds() -> usize {
    std::env::var("POLICYCTL_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(3)
}

/// The configurations to measure: all, or those whose label contains one of the
/// comma-separated words of `POLICYCTL_BENCH_ONLY` (for a quicker look at a few rows).
fn selected() -> Vec<usize> {
    let only = std::env::var("POLICYCTL_BENCH_ONLY").unwrap_or_default();
    let words: Vec<&str> = only.split(',').filter(|w| !w.is_empty()).collect();
    (0..CONFIGS.len())
        .filter(|&i| words.is_empty() || words.iter().any(|w| CONFIGS[i].0.contains(w)))
        .collect()
}

/// Run after a hooked measurement: prints `prog RUN_TIME_NS RUN_CNT` for each BPF program the
/// running `policyctl run` holds, over a short loop with the BPF statistics on.
const PROG_STATS: &str = "echo 1 > /proc/sys/kernel/bpf_stats_enabled
/usr/bin/openloop 2000 /tmp/bench-file >/dev/null
for f in /proc/$(cat /tmp/run.pid)/fdinfo/*; do
  t=$(sed -n 's/^run_time_ns:[[:space:]]*//p' $f); c=$(sed -n 's/^run_cnt:[[:space:]]*//p' $f)
  [ -n \"$c\" ] && [ \"$c\" != 0 ] && echo \"prog $t $c\"
done
echo 0 > /proc/sys/kernel/bpf_stats_enabled";

/// `run_time_ns / run_cnt` of the program called most often in a [`PROG_STATS`] output, if
/// one ran for the loop's calls.
fn prog_ns_per_call(output: &str) -> Option<f64> {
    output
        .lines()
        .filter_map(|l| {
            let mut f = l.strip_prefix("prog ")?.split_whitespace();
            let t: f64 = f.next()?.parse().ok()?;
            let c: f64 = f.next()?.parse().ok()?;
            // the hooked syscall's program runs 2000 times; exec, fork and exit ones a few
            (c >= 1000.0).then_some((c, t / c))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, per_call)| per_call)
}

fn ns_per_iter(output: &str) -> Option<f64> {
    output
        .lines()
        .find_map(|l| l.strip_prefix("ns/iter "))
        .and_then(|v| v.trim().parse().ok())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn bench(kernel: vm::VmKernel) {
    let name = format!("bench_run_vm_{}", kernel.short().replace('.', "_"));
    let Some(vm) = vm::Vm::builder_on(&name, kernel) else {
        return;
    };
    let mut vm = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .c_program("/usr/bin/openloop", LOOP)
        .c_program("/usr/bin/floor", FLOOR)
        .bytes(
            "/etc/bench/openat.yaml",
            policy(
                "bench-openat",
                "sys_openat",
                &path_filter("Equal", NEVER_OPENED),
            ),
            0o644,
        )
        .bytes(
            "/etc/bench/other.yaml",
            policy(
                "bench-other",
                "sys_mknodat",
                &path_filter("Equal", NEVER_OPENED),
            ),
            0o644,
        )
        .bytes(
            "/etc/bench/prefix.yaml",
            policy(
                "bench-openat-prefix",
                "sys_openat",
                &path_filter("Prefix", "/nonexistent/"),
            ),
            0o644,
        )
        .bytes(
            "/etc/bench/pids.yaml",
            policy("bench-openat-pids", "sys_openat", PIDS_ONLY),
            0o644,
        )
        .bytes(
            "/etc/bench/binaries.yaml",
            policy("bench-openat-binaries", "sys_openat", BINARIES_ONLY),
            0o644,
        )
        // guest time counts instructions (1 ns each), not the host's wall clock: the figures do
        // not move with the load of the host that runs the emulation
        .qemu_args_extra(&["-icount", "shift=0,sleep=off"])
        .timeout(Duration::from_secs(1800))
        .scenario_timeout(Duration::from_secs(300))
        .memory("2G");
    let measure = "/usr/bin/openloop 20000 /tmp/bench-file";
    let rounds = rounds();
    let chosen = selected();
    // for a second or two after boot the guest still works in the background, and with icount
    // that work counts in the loop's time: wait, then one unmeasured round
    vm = vm.scenario("warm-up", &format!("sleep 3\n{measure}"));
    for round in 0..rounds {
        for &i in &chosen {
            let hook = CONFIGS[i].1;
            vm = vm
                .scenario(&format!("r{round}c{i}-base"), measure)
                .scenario(
                    &format!("r{round}c{i}-hooked"),
                    &format!("{}\n{measure}\n{PROG_STATS}\n{}", hook.start(), hook.stop()),
                );
        }
    }
    let run = vm.run();
    eprintln!("{}", run.timings());
    let mut ratios: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    let mut hooked: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    let mut per_call: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    let mut base_all = Vec::new();
    for round in 0..rounds {
        for &i in &chosen {
            let base = ns_per_iter(run.ok(&format!("r{round}c{i}-base")));
            let hooked_out = run.ok(&format!("r{round}c{i}-hooked"));
            let with = ns_per_iter(hooked_out);
            if let Some(p) = prog_ns_per_call(hooked_out) {
                per_call.entry(i).or_default().push(p);
            }
            let (Some(base), Some(with)) = (base, with) else {
                panic!("round {round} config {i}: no figure\n{}", run.timings());
            };
            base_all.push(base);
            hooked.entry(i).or_default().push(with);
            ratios.entry(i).or_default().push(with / base);
        }
    }
    println!(
        "\nDebian {} in qemu (TCG): openat+close, median of {rounds} rounds",
        kernel.short()
    );
    // the label column as wide as the longest label shown
    let w = chosen
        .iter()
        .map(|&i| CONFIGS[i].0.len())
        .max()
        .unwrap_or(0);
    println!(
        "  {:<w$} {:>8} {:>7} {:>15}",
        "configuration", "ns/iter", "ratio", "prog ns/call"
    );
    println!(
        "  {:<w$} {:>8.0} {:>7}",
        "no policy",
        median(base_all),
        "1.00"
    );
    for &i in &chosen {
        let prog = per_call
            .get(&i)
            .map(|v| format!("{:.0}", median(v.clone())))
            .unwrap_or_else(|| "-".into());
        println!(
            "  {:<w$} {:>8.0} {:>7.2} {:>15}",
            CONFIGS[i].0,
            median(hooked[&i].clone()),
            median(ratios[&i].clone()),
            prog
        );
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --benches` runs this without `--bench`: a VM boot is not a test
        println!("SKIPPED: run with `cargo bench --bench run_vm`");
        return;
    }
    // `POLICYCTL_BENCH_KERNELS=6.12` (comma-separated) measures only those kernels
    let kernels = std::env::var("POLICYCTL_BENCH_KERNELS").unwrap_or_default();
    for kernel in vm::VmKernel::ALL {
        if kernels.is_empty() || kernels.split(',').any(|k| k == kernel.short()) {
            bench(kernel);
        }
    }
}
