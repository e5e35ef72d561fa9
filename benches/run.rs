//! `policyctl run` on the running kernel: what a hooked syscall costs the processes that make
//! it, and how many events per second reach the JSON output without loss.
//!
//! ```sh
//! cargo bench --bench run        # as root; prints SKIPPED: <reason> otherwise
//! ```
//!
//! A custom harness (criterion is not a dependency of this package, and the figures that
//! matter are ratios measured in one process run, alternating with and without a policy so
//! that machine noise affects both). The release binary (`CARGO_BIN_EXE_policyctl`) is started
//! as a child process for each configuration and stopped with SIGINT (SIGKILL after 10 s; a
//! drop guard does it on panic too). Every policy only Posts, and only matches paths under the
//! bench's own temporary directory.
//!
//! **1. Overhead on an unmatched hooked syscall.** A tight loop of `openat` + `close` (libc,
//! from this process, on a file in the temporary directory), 200k iterations a round, 5
//! rounds; each round measures, in turn:
//!
//! - `no policy`: nothing loaded (only the bench itself and the machine's own work);
//! - `other syscall hooked`: a policy hooking `sys_mknodat` only. Where the hook is served by
//!   the raw syscall tracepoint (kernels without kprobes), every syscall of every process now
//!   runs the BPF dispatcher, which reads the syscall number, looks it up in the `syscalls`
//!   array and returns: this is the price of the dispatch alone, paid by both `openat` and
//!   `close`;
//! - `openat hooked, unmatched`: `sys_openat` with `syscall: true`, a `string` arg 1 and
//!   `Equal` on a path never opened, so the selectors run on every `openat` and no event is
//!   posted;
//! - `openat hooked, unmatched + matchBinaries`: the same with a `matchBinaries` `In` on a
//!   binary that never runs: the binary gate looks the process up and refuses the call before
//!   the path is read (unless the bench's binary path has that binary's length; then the trie
//!   lookup refuses it).
//!
//! Each configuration is measured right after a round with no policy loaded (the `no policy`
//! column, so each ratio compares neighbouring measurements and a slow period of the machine
//! hits both). A round is 200k iterations in 10 chunks and counts as its median chunk, so a
//! burst of other work spoils a chunk rather than the round. Figures are the time of one
//! iteration (one `openat` + one `close`), median and minimum of the rounds; `ratio` divides
//! the medians. The summary line on stderr, `openat+close: … without policy, … with policy
//! (<attach method>), ratio …`, is the `openat hooked, unmatched` row. The ratio is the figure
//! to quote: the absolute times depend on the machine.
//!
//! Then a peer doing the same filter, where it is installed: bpftrace with
//! `tracepoint:syscalls:sys_enter_openat /str(args->filename) == "<never opened>"/`, measured
//! the same way (`peer: bpftrace` row), so its ratio stands next to policyctl's. And the floor
//! under both: bpftrace programs that do nothing, on `sys_enter_openat` and on
//! `sys_enter_mknodat` (`floor:` rows). They cost what the kernel's syscall tracepoints cost
//! with no program work; enabling any syscall tracepoint sends every syscall of every task
//! through the kernel's slow syscall-entry path, which is why hooking another syscall is not
//! free there.
//!
//! **2. Events per second delivered to JSON.** A policy posting an event for every `openat`
//! of a path under `<tmp>/ev/` (`Prefix`), run as `policyctl run -o json
//! --policy-events-only` with its stdout piped to this process, which counts lines in a
//! thread. The bench opens N files (`openat` + `close`), then waits for N lines (or for the
//! output to stall for 2 s), then stops `policyctl run` and reads its final stderr line
//! (`stopped; P events printed, L lost`). Reported: the rate the bench generated at, the rate
//! lines were delivered (lines / time from the first `openat` to the last line received), and
//! `lost`. Runs: one thread as fast as it can, one thread paced at fixed rates (the lossless
//! rate), and several threads at once (a burst that overflows the 4 MiB ring buffer). Each
//! asserts that no event is lost silently: lines == printed, printed <= N and
//! printed + lost >= N. `lost` counts every event the ring buffer had no room for, so while it
//! is full it may also count exec/fork/exit events of other processes (not printed with
//! `--policy-events-only`); printed + lost - N shows that excess. `policyctl CPU` is the
//! user + system time `policyctl run` spent from attached to stopped (`/proc/<pid>/stat`, 10 ms
//! ticks), per line printed: rendering JSON is the consumer's cost, and the lossless rate is
//! about one CPU's worth of it, or less when the generator and the rest of the machine share
//! that CPU.
//!
//! `POLICYCTL_BENCH_PART=events` runs part 2 only (`overhead`: part 1 only).
//!
//! `POLICYCTL_BENCH_ATTACH=METHOD` passes `--attach METHOD` to every run (`raw-tracepoint`
//! measures the raw syscall tracepoint where the default is each syscall's own tracepoint).
//!
//! Figures belong in the issue notes, not here (they change with the machine and the code);
//! the notes of `policyctl run` give them with this command and what was changed between runs.

use std::ffi::{CStr, CString};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_policyctl");
const ITERATIONS: u32 = 200_000;
const ROUNDS: usize = 5;
const CHUNKS: u32 = 10;

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "policyctl-bench-run-{}-{nanos:08x}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create the temporary directory");
        // the policies match the path as given to openat: use the canonical one
        TempDir(dir.canonicalize().expect("canonical temporary directory"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cstring(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).expect("no NUL in the path")
}

/// A policy of one `sys_openat`-like syscall hook with a `string` arg 1 and one selector.
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

fn match_path(operator: &str, value: &Path) -> String {
    format!(
        r#"    - matchArgs:
      - index: 1
        operator: "{operator}"
        values:
        - "{}"
"#,
        value.display()
    )
}

const POST: &str = "      matchActions:\n      - action: Post\n";

/// Lines read from `policyctl run`'s stdout, counted in a thread.
#[derive(Default)]
struct LineCounter {
    lines: AtomicU64,
    /// When the last line arrived, in ns since `epoch`.
    last_ns: AtomicU64,
    first: Mutex<Vec<u8>>,
}

/// A running `policyctl run`; stopped (SIGINT, then SIGKILL) on drop.
struct Running {
    child: Option<Child>,
    stderr: Receiver<String>,
    stderr_thread: Option<JoinHandle<()>>,
    stdout_thread: Option<JoinHandle<()>>,
    /// How the hook is attached, from `… attached with <method>`.
    method: String,
}

impl Running {
    /// Start `policyctl run` on `file` and wait until it says its hooks are attached. `Err`
    /// holds its last stderr line when it exits first.
    fn start(
        file: &Path,
        extra: &[&str],
        counter: Option<(Arc<LineCounter>, Instant)>,
    ) -> Result<Running, String> {
        // `POLICYCTL_BENCH_ATTACH=raw-tracepoint` (any `--attach` method) compares methods.
        let attach: Vec<String> = std::env::var("POLICYCTL_BENCH_ATTACH")
            .map(|m| vec!["--attach".to_string(), m])
            .unwrap_or_default();
        let mut child = Command::new(BIN)
            .arg("run")
            .args(&attach)
            .args(extra)
            .arg(file)
            .stdin(Stdio::null())
            .stdout(if counter.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {BIN}: {e}"))?;
        let (tx, stderr) = mpsc::channel();
        let err = child.stderr.take().expect("piped stderr");
        let stderr_thread = std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdout_thread = counter.map(|(counter, epoch)| {
            let mut out = child.stdout.take().expect("piped stdout");
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = match out.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let chunk = &buf[..n];
                    let newlines = chunk.iter().filter(|&&b| b == b'\n').count() as u64;
                    {
                        let mut first = counter.first.lock().unwrap();
                        if counter.lines.load(Ordering::Relaxed) == 0 && first.len() < 1 << 16 {
                            first.extend_from_slice(chunk);
                        }
                    }
                    if newlines > 0 {
                        counter
                            .last_ns
                            .store(epoch.elapsed().as_nanos() as u64, Ordering::Release);
                        counter.lines.fetch_add(newlines, Ordering::AcqRel);
                    }
                }
            })
        });
        let mut running = Running {
            child: Some(child),
            stderr,
            stderr_thread: Some(stderr_thread),
            stdout_thread,
            method: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match running.stderr.recv_timeout(left) {
                Ok(line) => {
                    if let Some((_, method)) = line.split_once(" attached with ") {
                        running.method = method.to_string();
                    }
                    if line.contains("Ctrl-C stops") {
                        return Ok(running);
                    }
                    if !line.contains(": note: ") {
                        last = line;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = running.stop();
                    return Err(if last.is_empty() {
                        "policyctl run exited without a word".into()
                    } else {
                        last
                    });
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = running.stop();
                    return Err("policyctl run did not attach within 60 s".into());
                }
            }
        }
    }

    /// SIGINT, wait (SIGKILL after 10 s), and return (printed, lost) from the last line.
    fn stop(&mut self) -> Result<(u64, u64), String> {
        let Some(mut child) = self.child.take() else {
            return Err("already stopped".into());
        };
        // SAFETY: kill has no memory preconditions; the pid is our child, not yet reaped.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
            }
        }
        if let Some(t) = self.stdout_thread.take() {
            let _ = t.join();
        }
        if let Some(t) = self.stderr_thread.take() {
            let _ = t.join();
        }
        let mut result = Err("no `stopped;` line on stderr".to_string());
        for line in self.stderr.try_iter() {
            if let Some(rest) = line.strip_prefix("policyctl run: stopped; ") {
                // "N events printed, M lost; everything detached"
                let nums: Vec<u64> = rest
                    .split(|c: char| !c.is_ascii_digit())
                    .filter_map(|w| w.parse().ok())
                    .collect();
                if let [printed, lost, ..] = nums[..] {
                    result = Ok((printed, lost));
                }
            }
        }
        result
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = self.stop();
        }
    }
}

/// User + system CPU time of a process so far (`/proc/<pid>/stat`, in clock ticks).
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // fields after the command name, which is in parentheses: state is field 3
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_secs_f64(ticks as f64 / hz as f64))
}

/// `iterations` × (openat + close) of `path`.
fn open_close(path: &CStr, iterations: u32) -> Duration {
    let start = Instant::now();
    for _ in 0..iterations {
        // SAFETY: a valid C string; the fd is ours and closed at once.
        unsafe {
            let fd = libc::openat(
                libc::AT_FDCWD,
                path.as_ptr(),
                libc::O_RDONLY | libc::O_CLOEXEC,
            );
            assert!(fd >= 0, "openat failed");
            libc::close(fd);
        }
    }
    start.elapsed()
}

fn per_iteration_us(d: Duration, iterations: u32) -> f64 {
    d.as_secs_f64() * 1e6 / f64::from(iterations)
}

/// One round: `ITERATIONS` × (openat + close) in `CHUNKS` chunks, as the median chunk's time
/// per iteration in µs (a burst of other work on the machine spoils a chunk, not the round).
fn measure_round(path: &CStr) -> f64 {
    let n = ITERATIONS / CHUNKS;
    median(
        (0..CHUNKS)
            .map(|_| per_iteration_us(open_close(path, n), n))
            .collect(),
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write a policy");
    p
}

/// Part 1: the overhead of an unmatched hooked syscall. Returns false when skipped.
fn overhead(dir: &Path) -> bool {
    let file = dir.join("target-file");
    std::fs::write(&file, b"x").unwrap();
    let target = cstring(&file);
    let never = dir.join("never-opened");
    let configs: Vec<(&str, PathBuf)> = vec![
        (
            "other syscall hooked",
            write(
                dir,
                "other.yaml",
                &policy(
                    "bench-other-syscall",
                    "sys_mknodat",
                    &(match_path("Equal", &never) + POST),
                ),
            ),
        ),
        (
            "openat hooked, unmatched",
            write(
                dir,
                "unmatched.yaml",
                &policy(
                    "bench-openat-unmatched",
                    "sys_openat",
                    &(match_path("Equal", &never) + POST),
                ),
            ),
        ),
        (
            "openat hooked, unmatched + matchBinaries",
            write(
                dir,
                "binaries.yaml",
                &policy(
                    "bench-openat-binaries",
                    "sys_openat",
                    &(match_path("Equal", &never)
                        + &format!(
                            "      matchBinaries:\n      - operator: \"In\"\n        values:\n        - \"{}\"\n",
                            dir.join("no-such-binary").display()
                        )
                        + POST),
                ),
            ),
        ),
    ];
    // times[c] = (no policy just before, with config c) per round
    let mut times: Vec<Vec<(f64, f64)>> = vec![Vec::new(); configs.len()];
    let mut method = String::new();
    open_close(&target, ITERATIONS / 10); // warm the dentry cache and the CPU
    for round in 0..ROUNDS {
        for (i, (name, file)) in configs.iter().enumerate() {
            let before = measure_round(&target);
            let mut running = match Running::start(file, &["--policy-events-only"], None) {
                Ok(r) => r,
                Err(e) if round == 0 && i == 0 => {
                    println!("SKIPPED: {e}");
                    return false;
                }
                Err(e) => panic!("{name}: {e}"),
            };
            if i == 1 {
                method = running.method.clone();
            }
            open_close(&target, ITERATIONS / 20);
            let with = measure_round(&target);
            times[i].push((before, with));
            let (printed, lost) = running.stop().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                (printed, lost),
                (0, 0),
                "{name}: the policy matched nothing"
            );
        }
    }
    println!(
        "openat+close, {ROUNDS} rounds of {ITERATIONS} iterations (a round: the median of {CHUNKS} chunks); each configuration right after a round with no policy"
    );
    println!(
        "  {:<42} {:>20}  {:>20}  {:>5}",
        "configuration (per iteration)", "no policy: med  min", "with: med  min", "ratio"
    );
    let mut summary = (0.0, 0.0);
    for (i, ((name, _), t)) in configs.iter().zip(&times).enumerate() {
        let medians = print_row(name, t);
        if i == 1 {
            summary = medians;
        }
    }
    let (base, with) = summary;
    eprintln!(
        "openat+close: {base:.2} µs without policy, {with:.2} µs with policy ({method}), ratio {:.2}",
        with / base
    );
    bpftrace_peer(&target, &never);
    true
}

/// A peer doing the same filter, and the floor under both: bpftrace on
/// `tracepoint:syscalls:sys_enter_openat` comparing the file name with a path never opened,
/// then bpftrace programs that do nothing on `sys_enter_openat` and on `sys_enter_mknodat`
/// (what the kernel's tracepoint and BPF dispatch cost alone, with no program work: no hook
/// served by a syscall tracepoint can cost less). Measured as the configurations above (a
/// round with nothing loaded, then one with it). Said and left out when `bpftrace` is not
/// installed.
fn bpftrace_peer(target: &CStr, never: &Path) {
    let filtered = format!(
        "tracepoint:syscalls:sys_enter_openat /str(args->filename) == \"{}\"/ {{ printf(\"x\\n\"); }}",
        never.display()
    );
    let rows = [
        (
            "peer: bpftrace, openat filtered, unmatched",
            filtered.as_str(),
        ),
        (
            "floor: empty program, openat tracepoint",
            "tracepoint:syscalls:sys_enter_openat { }",
        ),
        (
            "floor: empty program, mknodat tracepoint",
            "tracepoint:syscalls:sys_enter_mknodat { }",
        ),
    ];
    for (label, program) in rows {
        if !bpftrace_row(target, label, program) {
            return;
        }
    }
}

/// One bpftrace row: `ROUNDS` rounds without and with `program`. False when bpftrace could not
/// be run (said in the output).
fn bpftrace_row(target: &CStr, label: &str, program: &str) -> bool {
    let mut t: Vec<(f64, f64)> = Vec::new();
    for _ in 0..ROUNDS {
        let before = measure_round(target);
        let mut child = match Command::new("bpftrace")
            .args(["-e", program])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                println!("  {label}: not measured ({e}; Debian: apt-get install bpftrace)");
                return false;
            }
        };
        // bpftrace says "Attaching 1 probe..." once its probe is in place.
        let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        let attached = out.read_line(&mut line).is_ok() && line.contains("Attaching");
        if !attached {
            let _ = child.kill();
            let _ = child.wait();
            println!("  {label}: not measured (bpftrace did not attach: {line:?})");
            return false;
        }
        open_close(target, ITERATIONS / 20);
        let with = measure_round(target);
        t.push((before, with));
        // SAFETY: a signal to the child this bench started.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGINT);
        }
        let _ = child.wait();
    }
    print_row(label, &t);
    true
}

/// One row of part 1: the medians and minimums of the rounds without and with, their ratio
/// and every round; returns the two medians.
fn print_row(name: &str, rounds: &[(f64, f64)]) -> (f64, f64) {
    let (a, b): (Vec<f64>, Vec<f64>) = rounds.iter().copied().unzip();
    let (ma, mb) = (median(a.clone()), median(b.clone()));
    println!(
        "  {name:<42} {ma:>7.3} µs {:>6.3} µs  {mb:>7.3} µs {:>6.3} µs  {:>5.2}   rounds (no policy/with): {}",
        min(&a),
        min(&b),
        mb / ma,
        rounds
            .iter()
            .map(|(x, y)| format!("{x:.2}/{y:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    (ma, mb)
}

/// Part 2: `threads` threads each doing `per_thread` openat + close of a file under
/// `<dir>/ev/`, paced at `rate` events/s in total if given.
fn throughput(
    policy_file: &Path,
    ev: &Path,
    label: &str,
    threads: usize,
    per_thread: u64,
    rate: Option<f64>,
) {
    let epoch = Instant::now();
    let counter = Arc::new(LineCounter::default());
    let mut running = Running::start(
        policy_file,
        &["-o", "json", "--policy-events-only"],
        Some((counter.clone(), epoch)),
    )
    .unwrap_or_else(|e| panic!("{label}: {e}"));
    let cpu_at_start = running
        .child
        .as_ref()
        .and_then(|c| cpu_time(c.id()))
        .unwrap_or_default();
    let n = threads as u64 * per_thread;
    let t0 = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|i| {
            let path = cstring(&ev.join(format!("f{i}")));
            let per_thread_rate = rate.map(|r| r / threads as f64);
            std::thread::spawn(move || {
                let start = Instant::now();
                let mut done = 0u64;
                while done < per_thread {
                    let batch = (per_thread - done).min(100);
                    open_close(&path, batch as u32);
                    done += batch;
                    if let Some(r) = per_thread_rate {
                        let due = Duration::from_secs_f64(done as f64 / r);
                        while start.elapsed() < due {
                            std::thread::sleep(Duration::from_micros(200));
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("a generator thread");
    }
    let generated_in = t0.elapsed();
    // wait for every line, or for the output to stall
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut seen, mut since) = (0, Instant::now());
    loop {
        let lines = counter.lines.load(Ordering::Acquire);
        if lines >= n || Instant::now() > deadline {
            break;
        }
        if lines != seen {
            (seen, since) = (lines, Instant::now());
        } else if since.elapsed() > Duration::from_secs(2) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let lines_at_stop = counter.lines.load(Ordering::Acquire);
    let cpu = running
        .child
        .as_ref()
        .and_then(|c| cpu_time(c.id()))
        .unwrap_or_default()
        .saturating_sub(cpu_at_start);
    let last = Duration::from_nanos(counter.last_ns.load(Ordering::Acquire));
    let (printed, lost) = running.stop().unwrap_or_else(|e| panic!("{label}: {e}"));
    let lines = counter.lines.load(Ordering::Acquire);
    let first = counter.first.lock().unwrap().clone();
    let first = first.split(|&b| b == b'\n').next().unwrap_or_default();
    if lines > 0 {
        let v: serde_json::Value = serde_json::from_slice(first).expect("a JSON line");
        let text = v.to_string();
        assert!(
            v.get("process_kprobe").is_some() && text.contains(&ev.display().to_string()),
            "{label}: unexpected first event: {text}"
        );
    }
    let delivered_in = last.saturating_sub(t0 - epoch);
    let kevents = |count: u64, d: Duration| count as f64 / d.as_secs_f64().max(1e-9) / 1e3;
    println!(
        "  {label:<34} N={n:<7} generated {:>6.1} k/s  delivered {:>6.1} k/s ({lines} lines in {:.2} s)  printed {printed}  lost {lost}  printed+lost-N {}  policyctl CPU {:.1} µs/line",
        kevents(n, generated_in),
        kevents(lines, delivered_in),
        delivered_in.as_secs_f64(),
        (printed + lost) as i64 - n as i64,
        cpu.as_secs_f64() * 1e6 / lines.max(1) as f64,
    );
    assert_eq!(lines, printed, "{label}: lines read == `events printed`");
    assert_eq!(lines, lines_at_stop, "{label}: no line after the wait");
    assert!(printed <= n, "{label}: more events than openat calls");
    assert!(
        printed + lost >= n,
        "{label}: {} events lost silently (printed {printed} + lost {lost} < {n})",
        n - printed - lost
    );
}

fn events(dir: &Path) {
    let ev = dir.join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    for i in 0..8 {
        std::fs::write(ev.join(format!("f{i}")), b"x").unwrap();
    }
    let prefix = format!("{}/", ev.display());
    let file = write(
        dir,
        "events.yaml",
        &policy(
            "bench-openat-events",
            "sys_openat",
            &(match_path("Prefix", Path::new(&prefix)) + POST),
        ),
    );
    println!("events posted on openat under {prefix}, `run -o json --policy-events-only` piped to the bench");
    throughput(&file, &ev, "1 thread, as fast as it can", 1, 200_000, None);
    for rate in [
        20_000.0, 50_000.0, 100_000.0, 150_000.0, 200_000.0, 250_000.0,
    ] {
        throughput(
            &file,
            &ev,
            &format!("1 thread, paced at {}k/s", rate / 1e3),
            1,
            (rate * 2.0) as u64,
            Some(rate),
        );
    }
    throughput(&file, &ev, "4 threads burst", 4, 100_000, None);
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --benches` runs this without `--bench`: loading BPF is not a test
        println!("SKIPPED: run with `cargo bench --bench run`");
        return;
    }
    let started = Instant::now();
    let dir = TempDir::new();
    // `POLICYCTL_BENCH_PART=events` (or `overhead`) runs one part only
    let part = std::env::var("POLICYCTL_BENCH_PART").unwrap_or_default();
    if part != "events" && !overhead(&dir.0) {
        return;
    }
    if part != "overhead" {
        events(&dir.0);
    }
    println!("total {:.1} s", started.elapsed().as_secs_f64());
}
