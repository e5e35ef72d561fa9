//! `policyctl run`: check policies against the running kernel, then load them with
//! `policyctl-runtime` and print what they see until SIGINT or SIGTERM.
//!
//! The order is the contract: nothing is loaded unless every file checks clean on this
//! kernel (errors print exactly as `policyctl check` prints them) and the plan compiles;
//! every hook of every policy attaches or the run stops with nothing left attached.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::ValueEnum;
use policyctl_runtime::event;
use policyctl_runtime::loader::{self, Loaded};
use policyctl_runtime::output::{Format, Renderer};
use policyctl_runtime::plan::{Method, Plan};
use policyctl_runtime::process::ProcessCache;
use policyctl_validator::facts::HookKind;
use policyctl_validator::kernel::Kernel;
use policyctl_validator::render::{self, TextOptions};
use policyctl_validator::{check_source_with, Code, Diagnostic, FileReport, SourceFile};

/// `--output`.
#[derive(Clone, Copy, ValueEnum)]
pub enum Output {
    /// Tetragon's JSON, one object per line.
    Json,
    /// Tetragon's compact lines.
    Compact,
}

/// `--attach`.
#[derive(Clone, Copy, ValueEnum)]
pub enum AttachArg {
    /// kprobes.
    Kprobe,
    /// BPF trampolines.
    Fentry,
    /// The raw syscall tracepoint (syscall hooks only).
    Tracepoint,
}

/// Arguments of `policyctl run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Policy files to run.
    #[arg(required = true)]
    files: Vec<String>,
    /// Event format.
    #[arg(long, short, value_enum, default_value_t = Output::Json)]
    output: Output,
    /// Force an attach method for kprobes (default: kprobe, else fentry, else the raw
    /// syscall tracepoint for syscalls).
    #[arg(long, value_enum)]
    attach: Option<AttachArg>,
    /// Print only the policies' events, not every process exec and exit.
    #[arg(long)]
    policy_events_only: bool,
    /// The node name in events (default: the host name).
    #[arg(long)]
    node_name: Option<String>,
    /// Stop after this many seconds.
    #[arg(long)]
    duration: Option<f64>,
    /// Size of the event ring buffer in MiB (a power of two): larger absorbs longer bursts
    /// before events are lost (and counted).
    #[arg(long, default_value_t = 4)]
    ring_buffer_mib: u32,
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("policyctl run: {message}");
    ExitCode::from(1)
}

/// Run the command.
pub fn run(args: &RunArgs) -> ExitCode {
    let started = Instant::now();
    let timing = std::env::var_os("POLICYCTL_TIMING").is_some();
    let phase = |what: &str| {
        if timing {
            eprintln!(
                "policyctl run: [{:>7.1} ms] {what}",
                started.elapsed().as_secs_f64() * 1e3
            );
        }
    };
    // From here SIGINT and SIGTERM only ask to stop: the run then detaches everything it
    // attached, even when the signal comes while it is still attaching (a signal right after
    // the "Ctrl-C stops" line must not kill it with its hooks half accounted for).
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    if let Err(e) = loader::preflight() {
        return fail(e);
    }
    let kernel = match Kernel::host() {
        Ok(Some(k)) => Arc::new(k),
        Ok(None) => return fail("this kernel has no BTF (/sys/kernel/btf/vmlinux)"),
        Err(e) => return fail(format!("cannot read the running kernel: {e}")),
    };

    phase("kernel index");
    // check first, against this kernel, exactly as `check` would
    let mut reports = Vec::new();
    for f in &args.files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => return fail(format!("cannot read {f}: {e}")),
        };
        reports.push(check_source_with(
            SourceFile::new(f.clone(), text),
            std::slice::from_ref(&kernel),
        ));
    }
    let errors: usize = reports
        .iter()
        .map(|r| {
            r.accepted_allowing(|d| served_otherwise(r, d))
                .err()
                .unwrap_or(0)
        })
        .sum();
    if errors > 0 {
        // what run tolerates is left out, so the report's counts are the refusal's
        let shown: Vec<FileReport> = reports
            .iter()
            .map(|r| {
                let mut shown = r.clone();
                shown.diagnostics.retain(|d| !served_otherwise(r, d));
                shown
            })
            .collect();
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let text = render::render(&shown, render::Format::Text, &TextOptions { color });
        eprint!("{text}");
        return fail(format!(
            "refusing to load: {errors} error{} (fix them; `policyctl check` shows the same)",
            if errors == 1 { "" } else { "s" }
        ));
    }
    for r in &reports {
        for d in r.diagnostics.iter().filter(|d| served_otherwise(r, d)) {
            let at = r.source.position(d.span.start);
            eprintln!(
                "policyctl run: note: {}:{}:{}: {} ({}); policyctl run attaches these syscall hooks to the raw syscall tracepoint instead, but Tetragon would refuse this policy on this kernel",
                r.source.name(),
                at.line,
                at.column,
                d.message,
                d.code.as_str()
            );
        }
    }
    let accepted: Vec<_> = reports
        .iter()
        .flat_map(|r| {
            r.accepted_allowing(|d| served_otherwise(r, d))
                .unwrap_or_default()
        })
        .collect();
    if accepted.is_empty() {
        return fail("no TracingPolicy in the files given");
    }

    phase("checked");
    let mut loaded = match Loaded::new(args.ring_buffer_mib) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    phase("object loaded, process tracking attached");
    let features = loaded.features();
    phase("features probed");
    let method = args.attach.map(|a| match a {
        AttachArg::Kprobe => Method::Kprobe,
        AttachArg::Fentry => Method::Fentry,
        AttachArg::Tracepoint => Method::Tracepoint,
    });
    let plan = match Plan::compile(&accepted, &kernel, features, method) {
        Ok(p) => p,
        Err(errors) => {
            for e in &errors {
                eprintln!("policyctl run: {e}");
            }
            return ExitCode::from(1);
        }
    };

    for line in &plan.skipped {
        eprintln!("policyctl run: note: {line}");
    }
    if plan.hooks.is_empty() {
        return fail("nothing to attach: every hook was skipped");
    }
    let node_name = args.node_name.clone().unwrap_or_else(hostname);
    let mut cache = ProcessCache::new(node_name);
    cache.seed_from_proc();
    phase("processes read from /proc");
    if let Err(e) = loaded.seed_processes(
        cache
            .iter()
            .map(|(pid, ppid, bin)| (pid, ppid, bin.to_string())),
    ) {
        return fail(e);
    }
    if STOP.load(Ordering::SeqCst) {
        return fail("interrupted before attaching; nothing was attached");
    }
    if let Err(e) = loaded.attach(&plan) {
        return fail(e);
    }
    phase("hooks attached");
    let mut events = match loaded.events() {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    for h in &plan.hooks {
        eprintln!(
            "policyctl run: {}: {} attached with {}",
            plan.policies[h.policy].name,
            describe(&h.attach),
            h.attach.method()
        );
    }
    eprintln!(
        "policyctl run: running {} polic{} ({} hook{}); Ctrl-C stops",
        plan.policies.len(),
        if plan.policies.len() == 1 { "y" } else { "ies" },
        plan.hooks.len(),
        if plan.hooks.len() == 1 { "" } else { "s" }
    );

    let renderer = Renderer::new(match args.output {
        Output::Json => Format::Json,
        Output::Compact => Format::Compact,
    });
    let deadline = args
        .duration
        .map(|d| Instant::now() + Duration::from_secs_f64(d.max(0.0)));
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut printed, mut reported_lost) = (0u64, 0u64);
    while !STOP.load(Ordering::SeqCst) && deadline.is_none_or(|d| Instant::now() < d) {
        let mut broken = false;
        events.poll(Duration::from_millis(100), |record| {
            let Some(ev) = event::decode(record) else {
                return;
            };
            if args.policy_events_only && !matches!(ev, event::Event::Hook(_)) {
                // keep the cache current without printing
                let _ = renderer.render(&plan, &mut cache, &ev);
                return;
            }
            if let Some(line) = renderer.render(&plan, &mut cache, &ev) {
                if writeln!(out, "{line}").is_err() {
                    broken = true;
                }
                printed += 1;
            }
        });
        if broken || out.flush().is_err() {
            break; // stdout closed: stop like any filter would
        }
        let lost = events.lost();
        if lost > reported_lost {
            eprintln!(
                "policyctl run: {} events lost (the ring buffer was full)",
                lost - reported_lost
            );
            reported_lost = lost;
        }
    }
    drop(events);
    drop(loaded); // detaches every program
    eprintln!("policyctl run: stopped; {printed} events printed, {reported_lost} lost; everything detached");
    ExitCode::SUCCESS
}

/// K030 on a `kprobes` or `fentries` section whose hooks are all syscalls: Tetragon cannot
/// load it on this kernel, but the runtime serves it through the raw syscall tracepoint.
fn served_otherwise(report: &FileReport, d: &Diagnostic) -> bool {
    if d.code != Code::K030 {
        return false;
    }
    report.policies.iter().any(|p| {
        p.policy.spec.sections.iter().any(|(kind, span)| {
            *span == d.span
                && matches!(kind, HookKind::Kprobe | HookKind::Fentry)
                && p.policy
                    .spec
                    .hooks
                    .iter()
                    .filter(|h| h.kind == *kind)
                    .all(|h| h.is_syscall())
        })
    })
}

fn describe(attach: &policyctl_runtime::plan::Attach) -> String {
    use policyctl_runtime::plan::Attach::*;
    match attach {
        Kprobe { symbol, .. } | Fentry { symbol } | RawSyscall { symbol, .. } => {
            format!("`{symbol}`")
        }
        Lsm { hook } => format!("LSM hook `{hook}`"),
        Tracepoint { subsystem, event } => format!("tracepoint `{subsystem}/{event}`"),
        Uprobe { path, symbol } => format!("uprobe `{path}:{symbol}`"),
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its length.
    if unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) } != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
