//! `policyctl run`: check policies against the running kernel, then load them with
//! `policyctl-runtime` and print what they see until SIGINT or SIGTERM.
//!
//! The order is the contract: nothing is loaded unless every file checks clean on this
//! kernel (errors print exactly as `policyctl check` prints them) and the plan compiles;
//! every hook of every policy attaches or the run stops with nothing left attached.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::ValueEnum;
use policyctl_runtime::event;
use policyctl_runtime::loader::{self, Loaded};
use policyctl_runtime::output::{Format, Renderer};
use policyctl_runtime::plan::{Features, Method, Plan, Reserved};
use policyctl_runtime::process::ProcessCache;
use policyctl_validator::checks::actions;
use policyctl_validator::facts::HookKind;
use policyctl_validator::kernel::Kernel;
use policyctl_validator::render::{self, TextOptions};
use policyctl_validator::{Code, Diagnostic, FileReport, Selection};

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
    /// The syscall's own tracepoint, else the raw syscall tracepoint (syscall hooks only).
    Tracepoint,
    /// The raw syscall tracepoint, dispatched by syscall number (syscall hooks only).
    RawTracepoint,
}

/// Arguments of `policyctl run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Policy files to run.
    #[arg(required_unless_present = "policy_dir")]
    files: Vec<String>,
    /// Run every policy file of DIR too, found as Tetragon's `--tracing-policy-dir` finds them
    /// (every regular file of DIR and of its subdirectories, in lexical order).
    #[arg(long, visible_alias = "tracing-policy-dir", value_name = "DIR")]
    policy_dir: Option<std::path::PathBuf>,
    /// Event format.
    #[arg(long, short, value_enum, default_value_t = Output::Json)]
    output: Output,
    /// Force an attach method for kprobes (default: kprobe, else fentry, else the raw
    /// syscall tracepoint for syscalls).
    #[arg(long, value_enum)]
    attach: Option<AttachArg>,
    /// Serve kprobes by a copy of the program each, as on kernels without kprobe_multi links,
    /// as Tetragon's flag of that name: by default, where the kernel has such links, every
    /// kprobe hook (without return probe or bpf_override_return) is served by one program
    /// linked to all their functions, which the kernel verifies once, however many hooks.
    #[arg(long)]
    disable_kprobe_multi: bool,
    /// Print only the policies' events, not every process exec and exit.
    #[arg(long)]
    policy_events_only: bool,
    /// The node name in events (default: the host name).
    #[arg(long)]
    node_name: Option<String>,
    /// Events that carry the process's ancestors beyond its parent, as Tetragon's flag: a
    /// comma-separated list of base (process_exec and process_exit; needed by the others),
    /// kprobe, tracepoint, uprobe, lsm (loader and usdt are accepted and send nothing here).
    #[arg(long, value_name = "TYPES", value_parser = policyctl_runtime::process::Ancestors::parse, default_value = "")]
    enable_ancestors: policyctl_runtime::process::Ancestors,
    /// Processes in events carry their capabilities and credentials (`cap`,
    /// `process_credentials`), as Tetragon's flag of that name.
    #[arg(long)]
    enable_process_cred: bool,
    /// Processes in events carry their namespaces (`ns`, with `is_host` against pid 1's), as
    /// Tetragon's flag of that name.
    #[arg(long)]
    enable_process_ns: bool,
    /// Stack traces (Post's kernelStackTrace / userStackTrace) show each frame's address, as
    /// Tetragon's flag of that name (without it, frames show offset, symbol and module).
    #[arg(long)]
    expose_stack_addresses: bool,
    /// Stop after this many seconds (from 0 to ten years).
    #[arg(long, value_name = "SECONDS", value_parser = parse_duration)]
    duration: Option<f64>,
    /// Size of the event ring buffer in MiB (a power of two): larger absorbs longer bursts
    /// before events are lost (and counted).
    #[arg(long, default_value_t = 4)]
    ring_buffer_mib: u32,
    /// Load policies whose Sigkill, Signal, Override or NotifyEnforcer acts on every process
    /// (a selector without filters, P075, or a matchBinaries NotIn of paths this host does not
    /// have). Refused without it: such a policy can lock everyone out of the host.
    #[arg(long)]
    allow_unfiltered_enforcement: bool,
    /// Run policies whose selectors end in GetUrl or DnsLookup: on each of their events this
    /// host fetches the URL or looks the name up, as Tetragon does. Refused without it: a
    /// policy file must not make the host send traffic by itself.
    #[arg(long)]
    allow_network_actions: bool,
    /// The DNS server DnsLookup queries (`host:port`); Tetragon's is 1.1.1.1:53.
    #[arg(long, value_name = "ADDR", default_value = policyctl_runtime::netaction::TETRAGON_DNS_SERVER, conflicts_with = "dry_run")]
    dns_server: String,
    /// Load nothing: say, per kernel, how each policy's hooks would attach, or why a policy
    /// would be refused (exit 1 when any would be). Needs no root; plans for the `--btf`
    /// kernels, or the running kernel's BTF.
    #[arg(long)]
    dry_run: bool,
    /// Load and attach every hook of the policies, print how each attached, detach them all
    /// and exit: 0 when every policy attached, 1 naming each policy and hook that could not
    /// be planned, loaded or attached on this kernel (with the kernel's error, or the
    /// verifier's last line). Nothing acts while attached: every hook's configuration is
    /// written disabled, so its programs return at once (no event, Override, signal,
    /// enforcer or network action). For CI on a node: will these policies attach here? Needs
    /// root, as a run does; the checks and refusals are the run's.
    #[arg(long, conflicts_with_all = ["dry_run", "metrics", "duration", "file"])]
    attach_only: bool,
    /// Output of `--dry-run`.
    #[arg(long, value_enum, default_value_t = crate::dry_run::DryFormat::Text, requires = "dry_run")]
    format: crate::dry_run::DryFormat,
    /// The kernels a dry run plans for (with `--dry-run` only: a run uses the running kernel).
    /// Without `--btf`, a dry run plans for the project file's kernels.
    #[command(flatten)]
    kernel: crate::kernels::KernelArgs,
    /// The project file (its kernels for a dry run; its codes and severities for both) and the
    /// codes reported, as for `check`.
    #[command(flatten)]
    project: crate::ConfigArgs,
    /// Serve Prometheus metrics at http://ADDR/metrics (`127.0.0.1:2112`, or `:2112` for every
    /// interface), as Tetragon's --metrics-server.
    #[arg(long, value_name = "ADDR", value_parser = crate::metrics::parse_addr, conflicts_with = "dry_run")]
    metrics: Option<crate::metrics::ListenAddr>,
    /// Export of events to a rotating JSON file.
    #[command(flatten)]
    export: crate::export::ExportArgs,
}

/// Longest `--duration`, in seconds: ten years.
const MAX_DURATION_SECS: f64 = 10.0 * 365.0 * 86_400.0;

/// `--duration`: a finite number of seconds from 0 to [`MAX_DURATION_SECS`], checked when the
/// arguments are parsed, so that a bad value is a usage error before anything loads.
fn parse_duration(text: &str) -> Result<f64, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    // NaN is in no range.
    if !(0.0..=MAX_DURATION_SECS).contains(&secs) {
        return Err(format!(
            "give a number of seconds from 0 to {MAX_DURATION_SECS} (ten years); leave --duration out to run until stopped"
        ));
    }
    Ok(secs)
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// SIGHUP came: read the policy directory again.
static RELOAD: AtomicBool = AtomicBool::new(false);

extern "C" fn on_reload(_: libc::c_int) {
    RELOAD.store(true, Ordering::SeqCst);
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("policyctl run: {message}");
    ExitCode::from(1)
}

/// Run the command.
pub fn run(args: &RunArgs) -> ExitCode {
    let mut files = args.files.clone();
    if let Some(dir) = &args.policy_dir {
        match crate::policy_dir::files(dir) {
            Ok(found) if found.is_empty() && files.is_empty() => {
                return fail(format!("--policy-dir: {} holds no file", dir.display()))
            }
            Ok(found) => files.extend(found.iter().map(|p| p.display().to_string())),
            Err(e) => return fail(e),
        }
    }
    let files = &files;
    let method = args.attach.map(|a| match a {
        AttachArg::Kprobe => Method::Kprobe,
        AttachArg::Fentry => Method::Fentry,
        AttachArg::Tracepoint => Method::Tracepoint,
        AttachArg::RawTracepoint => Method::RawTracepoint,
    });
    let (project, selection) = match crate::configure(files, &args.project) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("policyctl run: {e}");
            return ExitCode::from(2);
        }
    };
    if args.dry_run {
        return crate::dry_run::dry_run(&crate::dry_run::DryRun {
            files,
            kernels: &crate::kernel_args(&args.kernel, project.as_ref()),
            selection: &selection,
            method,
            allow_unfiltered: args.allow_unfiltered_enforcement,
            allow_network: args.allow_network_actions,
            format: args.format,
        });
    }
    let k = &args.kernel;
    if !k.btf.is_empty()
        || k.no_btf
        || !k.error_injection.is_empty()
        || !k.kernel_config.is_empty()
        || !k.btf_module.is_empty()
    {
        return fail("--btf, --no-btf, --error-injection, --kernel-config and --btf-module are for --dry-run: a run loads onto the running kernel");
    }
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
    // SIGHUP asks to reload the policy directory, once running (one that comes while loading
    // is served as soon as the run starts).
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGHUP, on_reload as *const () as libc::sighandler_t);
    }
    if let Err(e) = loader::preflight() {
        return fail(e);
    }
    // bound first: a busy address fails before anything loads
    let metrics_server = match args.metrics.as_ref().map(crate::metrics::Server::bind) {
        Some(Err(e)) => return fail(e),
        Some(Ok(server)) => Some(server),
        None => None,
    };
    // opened first too: a file that cannot be written fails before anything loads
    let mut export = match crate::export::Exporter::open(&args.export) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let kernel = match Kernel::host() {
        Ok(Some(k)) => Arc::new(k),
        Ok(None) => return fail("this kernel has no BTF (/sys/kernel/btf/vmlinux)"),
        Err(e) => return fail(format!("cannot read the running kernel: {e}")),
    };

    phase("kernel index");
    // check first, against this kernel, exactly as `check` would
    let kernels = std::slice::from_ref(&kernel);
    let mut jobs = Vec::new();
    for f in files {
        match crate::read_policy(Some(Path::new(f)), kernels) {
            Ok(job) => jobs.push(job),
            Err(e) => return fail(e),
        }
    }
    let Checked {
        reports,
        unfiltered,
    } = match check_for_run(jobs, kernels, &selection) {
        Ok(c) => c,
        Err(internal) => {
            for e in &internal {
                eprintln!("{e}");
            }
            return ExitCode::from(2);
        }
    };
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let errors = print_findings(&reports, &mut std::io::stderr().lock(), color);
    if errors > 0 {
        return fail(format!(
            "refusing to load: {errors} error{} (fix them; `policyctl check` shows the same)",
            if errors == 1 { "" } else { "s" }
        ));
    }
    if !unfiltered.is_empty() && !args.allow_unfiltered_enforcement {
        for line in &unfiltered {
            eprintln!("policyctl run: {line}");
        }
        return fail(format!(
            "refusing to load: {} selector{} would kill or deny for every process on this host; add a filter that says whom to stop, or pass --allow-unfiltered-enforcement",
            unfiltered.len(),
            if unfiltered.len() == 1 { "" } else { "s" }
        ));
    }
    if reports.iter().all(|r| {
        r.accepted_allowing(|d| served_otherwise(r, d))
            .unwrap_or_default()
            .is_empty()
    }) {
        return fail("no TracingPolicy in the files given");
    }

    phase("checked");
    // the stack map takes memory only when a policy asks for stacks, or may later (a
    // policy directory is read again on SIGHUP)
    let stacks = args.policy_dir.is_some()
        || reports.iter().any(|r| {
            r.accepted_allowing(|d| served_otherwise(r, d))
                .unwrap_or_default()
                .iter()
                .any(|a| policyctl_runtime::plan::asks_for_stacks(&a.policy().spec))
        });
    let mut loaded = match Loaded::with_stacks(args.ring_buffer_mib, stacks) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    phase("object loaded, process tracking attached");
    if args.disable_kprobe_multi {
        loaded.disable_kprobe_multi();
    }
    let features = loaded.features();
    phase("features probed");
    // one plan per file, each beside the others (its own slots), so that a reload can
    // detach one file's hooks and attach another's while the rest keep running
    let mut reserved = Reserved::default();
    let mut units = Vec::new();
    let mut plan_errors = Vec::new();
    for r in &reports {
        let accepted = r
            .accepted_allowing(|d| served_otherwise(r, d))
            .unwrap_or_default();
        if accepted.is_empty() {
            continue;
        }
        if args.attach_only {
            // each file alone, in the slots it would have as the run's only file: it is
            // detached before the next one attaches (see `attach_only`)
            reserved.slots.clear();
        }
        match Plan::compile_beside(&accepted, &kernel, features, method, &mut reserved) {
            Ok(plan)
                if !args.allow_network_actions && !plan.network_action_refusals().is_empty() =>
            {
                plan_errors.extend(plan.network_action_refusals())
            }
            Ok(plan) => units.push(Unit {
                file: r.source.name().to_string(),
                text: r.source.text().to_string(),
                plan,
            }),
            Err(errors) => plan_errors.extend(errors),
        }
    }
    if args.attach_only {
        let (attached, failed) =
            attach_only(&mut loaded, &units, &plan_errors, &mut std::io::stdout());
        drop(loaded); // detaches every program
        let total = attached + failed;
        println!(
            "{attached} of {total} polic{} attached, {failed} failed; everything detached",
            if total == 1 { "y" } else { "ies" },
        );
        return if failed > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        };
    }
    if !plan_errors.is_empty() {
        for e in &plan_errors {
            eprintln!("policyctl run: {e}");
        }
        return ExitCode::from(1);
    }
    let mut plan = Plan::merged(units.iter().map(|u| &u.plan));

    for line in &plan.skipped {
        eprintln!("policyctl run: note: {line}");
    }
    if plan.hooks.is_empty() {
        return fail("nothing to attach: every hook was skipped");
    }
    let node_name = args.node_name.clone().unwrap_or_else(hostname);
    let mut cache = ProcessCache::new(node_name).with_ancestor_refs(args.enable_ancestors.base);
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
    let mut events = match loaded.events() {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    // verifying a hook's program takes a while (seconds where a machine is slow): meanwhile
    // the process tracking programs go on sending, and what waits is read into memory
    let (attached, early) = draining(&mut events, || loaded.attach(&plan));
    if let Err(e) = attached {
        return fail(e);
    }
    phase("hooks attached");
    let metrics = metrics_server.map(|server| {
        let metrics = crate::metrics::Metrics::new();
        metrics.attached(&plan);
        let metrics = Arc::new(metrics);
        if let Some(addr) = server.local_addr() {
            eprintln!("policyctl run: metrics at http://{addr}/metrics");
        }
        server.spawn(metrics.clone());
        metrics
    });
    let stack_reader = match loaded.stacks() {
        Ok(mut r) => {
            r.symbolizer.expose_addresses = args.expose_stack_addresses;
            r
        }
        Err(e) => return fail(e),
    };
    for h in &plan.hooks {
        let link = if loaded.served_by_multi_link(h.slot) {
            " (one kprobe_multi link)"
        } else {
            ""
        };
        eprintln!(
            "policyctl run: {}: {} attached with {}{link}",
            plan.policies[h.policy].name,
            describe(&h.attach),
            h.method()
        );
        if h.config.returns != 0 {
            if let Some(method) = h.attach.return_method() {
                eprintln!(
                    "policyctl run: {}: its return attached with {method}",
                    plan.policies[h.policy].name
                );
            }
        }
    }
    let on_multi = plan.hooks.iter().any(|h| h.on_kprobe_multi());
    if let Some(why) = loaded.multi_link_refused().filter(|_| on_multi) {
        eprintln!("policyctl run: no kprobe_multi link ({why}); a kprobe per function instead");
    }
    for e in &plan.enforcers {
        eprintln!(
            "policyctl run: {}: enforcer on {} attached with fmod_ret",
            plan.policies[e.policy].name,
            e.calls.join(", ")
        );
    }
    eprintln!("policyctl run: running {}; Ctrl-C stops", running_n(&plan));

    let renderer = Renderer::new(match args.output {
        Output::Json => Format::Json,
        Output::Compact => Format::Compact,
    })
    .with_ancestors(args.enable_ancestors)
    .with_process_cred(args.enable_process_cred);
    let renderer = match (
        args.enable_process_ns,
        policyctl_runtime::process::proc_namespaces(1),
    ) {
        (true, Some(host)) => renderer.with_process_ns(host),
        (true, None) => {
            // as Tetragon, whose InitHostNamespace fails the same way and leaves `ns` out
            eprintln!(
                "policyctl run: --enable-process-ns: the host's namespaces (/proc/1/ns) cannot be read; events leave `ns` out"
            );
            renderer
        }
        (false, _) => renderer,
    };
    // `--duration` is finite and at most ten years (checked when parsing); a deadline past
    // what an Instant holds would be no deadline.
    let deadline = args
        .duration
        .and_then(|d| Instant::now().checked_add(Duration::from_secs_f64(d)));
    let stdout = std::io::stdout();
    let mut sink = Sink {
        renderer,
        cache,
        metrics: metrics.clone(),
        policy_events_only: args.policy_events_only,
        export: export.take(),
        out: std::io::BufWriter::with_capacity(64 * 1024, stdout.lock()),
        printed: 0,
        broken: false,
        export_error: None,
        line: String::with_capacity(4096),
        net: args
            .allow_network_actions
            .then(|| policyctl_runtime::netaction::Runner::spawn(args.dns_server.clone())),
        stacks: stack_reader,
    };
    // what came while attaching, first and in order (exec events before the hooks' events of
    // the processes they started)
    let replayed = early.records.len();
    early.replay(&mut sink, |_| &plan);
    phase(&format!(
        "{replayed} records read while attaching, handed to the sink"
    ));
    let mut reported_stacks = 0u64;
    let mut reported_lost = 0u64;
    let mut failed = std::collections::BTreeMap::new();
    loop {
        // A stop (signal or --duration) ends the loop only after one more read, without
        // waiting: what the ring buffer holds then is printed, not dropped. A signal may come
        // at any point of the loop, even before its first read (a run stopped right after its
        // "Ctrl-C stops" line), and the events the hooks sent until then are still read.
        let stopping = STOP.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d);
        if !stopping && RELOAD.swap(false, Ordering::SeqCst) {
            match &args.policy_dir {
                None => eprintln!("policyctl run: SIGHUP: there is no --policy-dir to reload"),
                Some(dir) => {
                    let ctx = Reload {
                        dir,
                        fixed: &args.files,
                        kernel: &kernel,
                        selection: &selection,
                        features,
                        method,
                        allow_unfiltered: args.allow_unfiltered_enforcement,
                        allow_network: args.allow_network_actions,
                        metrics: metrics.as_deref(),
                    };
                    let (gone, early) = draining(&mut events, || {
                        ctx.run(&mut loaded, &mut units, &mut reserved, &mut failed)
                    });
                    for h in &gone {
                        reserved.free(h.slot);
                    }
                    let old =
                        std::mem::replace(&mut plan, Plan::merged(units.iter().map(|u| &u.plan)));
                    // what the detached hooks sent before they went is printed with their
                    // plan, what the added ones sent while the others attached with theirs
                    // (a slot is never both: the gone hooks' slots are freed only now)
                    let of_slot = |slot: Option<u32>| match slot {
                        Some(s) if old.hook(s).is_none() => &plan,
                        _ => &old,
                    };
                    early.replay(&mut sink, of_slot);
                    events.poll(Duration::ZERO, |record| {
                        sink.record(of_slot(hook_slot(record)), record)
                    });
                    if let Some(m) = &metrics {
                        m.attached(&plan);
                        m.load_errors(failed.values().sum());
                    }
                    eprintln!("policyctl run: reload: running {}", running_n(&plan));
                }
            }
        }
        let wait = if stopping {
            Duration::ZERO
        } else {
            Duration::from_millis(100)
        };
        let n = events.poll(wait, |record| sink.record(&plan, record));
        if !stopping && n > 0 && n < BATCH {
            // Events are coming, but fewer than a batch: let them gather for a moment rather
            // than be woken by each one (a wakeup and a poll per event cost more than the
            // event itself); a full batch means the consumer is behind, and it goes on at once.
            std::thread::sleep(GATHER);
        }
        if sink.broken || sink.out.flush().is_err() {
            break; // stdout closed: stop like any filter would
        }
        if let Some(x) = sink.export.as_mut() {
            if let Err(e) = x.flush() {
                sink.export_error.get_or_insert(e);
            }
        }
        if let Some(e) = sink.export_error.take() {
            eprintln!("policyctl run: --export: cannot write: {e}; stopping");
            break;
        }
        let lost = events.lost();
        if let Some(m) = &metrics {
            m.lost(lost);
        }
        if lost > reported_lost {
            eprintln!(
                "policyctl run: {} lost (the ring buffer was full)",
                events_n(lost - reported_lost)
            );
            reported_lost = lost;
        }
        if sink.stacks.failed > reported_stacks {
            eprintln!(
                "policyctl run: {} stack trace{} not collected (bpf_get_stackid failed: the stack map's bucket was taken by another stack, or no user stack); those events come without them",
                sink.stacks.failed - reported_stacks,
                if sink.stacks.failed - reported_stacks == 1 { "" } else { "s" }
            );
            reported_stacks = sink.stacks.failed;
        }
        if stopping {
            break;
        }
    }
    if let Some(x) = sink.export.as_mut() {
        if let Err(e) = x.flush() {
            eprintln!("policyctl run: --export: cannot write: {e}");
        }
    }
    let printed = sink.printed;
    if let Some(net) = &sink.net {
        if net.dropped() > 0 {
            eprintln!(
                "policyctl run: {} GetUrl/DnsLookup actions dropped (more than {} a second or {} waiting)",
                net.dropped(),
                policyctl_runtime::netaction::MAX_PER_SECOND,
                policyctl_runtime::netaction::QUEUE
            );
        }
    }
    drop(sink);
    drop(events);
    drop(loaded); // detaches every program
    eprintln!(
        "policyctl run: stopped; {} printed, {reported_lost} lost; everything detached",
        events_n(printed)
    );
    ExitCode::SUCCESS
}

/// How many events one read of the ring buffer must bring for the next read to start at
/// once, rather than after [`GATHER`].
const BATCH: usize = 1024;

/// How long events are left to gather in the ring buffer after a read that brought fewer than
/// [`BATCH`]: at most this much latency added; at 250k events/s it is 250 events, far below
/// what the ring buffer holds (thousands of events in the default 4 MiB).
const GATHER: Duration = Duration::from_millis(1);

/// `2 policies (3 hooks)`.
fn running_n(plan: &Plan) -> String {
    format!(
        "{} polic{} ({} hook{})",
        plan.policies.len(),
        if plan.policies.len() == 1 { "y" } else { "ies" },
        plan.hooks.len(),
        if plan.hooks.len() == 1 { "" } else { "s" }
    )
}

/// Where the events of the run go: decoded, rendered, counted, printed and exported.
struct Sink {
    renderer: Renderer,
    cache: ProcessCache,
    metrics: Option<Arc<crate::metrics::Metrics>>,
    policy_events_only: bool,
    export: Option<crate::export::Exporter>,
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    printed: u64,
    /// stdout was closed.
    broken: bool,
    export_error: Option<std::io::Error>,
    /// The line being rendered, reused from event to event.
    line: String,
    /// The worker of GetUrl and DnsLookup (`--allow-network-actions`).
    net: Option<policyctl_runtime::netaction::Runner>,
    /// Post's stacks: read by the ids an event carries, then symbolized.
    stacks: policyctl_runtime::loader::StackReader,
}

impl Sink {
    /// One ring buffer record, with `plan` the running set it came from.
    fn record(&mut self, plan: &Plan, record: &[u8]) {
        let Some(mut ev) = event::decode(record) else {
            if let Some(m) = &self.metrics {
                m.record(None, false);
            }
            return;
        };
        if let event::Event::Hook(h) = &mut ev {
            self.stacks.fill(h);
        }
        if let (Some(net), event::Event::Hook(h)) = (self.net.as_mut(), &ev) {
            // queued, never awaited: the event loop goes on at once
            if let Some(action) = plan.net_action(h.slot, h.selector, h.action) {
                net.submit(action);
            }
        }
        if self.policy_events_only && !matches!(ev, event::Event::Hook(_)) {
            // printed nowhere (nor exported): only what it does to the process cache
            let rendered = self.renderer.track(&mut self.cache, &ev);
            if let Some(m) = &self.metrics {
                m.record(Some(&ev), rendered);
            }
            return;
        }
        if self.export.is_none() {
            // the common case: rendered into the reused line, written as bytes
            self.line.clear();
            let rendered = self
                .renderer
                .render_into(plan, &mut self.cache, &ev, &mut self.line);
            if let Some(m) = &self.metrics {
                m.record(Some(&ev), rendered);
            }
            if !rendered {
                return; // the cache is current; nothing printed
            }
            self.line.push('\n');
            if self.out.write_all(self.line.as_bytes()).is_err() {
                self.broken = true;
            }
            self.printed += 1;
            return;
        }
        let (rendered, json) = self
            .renderer
            .render_and_json(plan, &mut self.cache, &ev)
            .map_or((None, None), |(line, json)| (Some(line), Some(json)));
        if let Some(m) = &self.metrics {
            m.record(Some(&ev), rendered.is_some());
        }
        if let (Some(x), Some(json)) = (self.export.as_mut(), json) {
            if let Err(e) = x.write_line(&json) {
                self.export_error = Some(e);
            }
        }
        if let Some(line) = rendered {
            if writeln!(self.out, "{line}").is_err() {
                self.broken = true;
            }
            self.printed += 1;
        }
    }
}

/// What the ring buffer held while hooks attached, read by [`draining`].
struct Early {
    /// The records, in the order read.
    records: Vec<Vec<u8>>,
    /// Records left unread past [`EARLY_BYTES`] (they stay in the ring buffer, which may then
    /// fill: the kernel side counts what it cannot queue, as always).
    over: bool,
}

/// The slot of a hook's event record; `None` for any other record.
fn hook_slot(record: &[u8]) -> Option<u32> {
    match event::decode(record) {
        Some(event::Event::Hook(h)) => Some(h.slot),
        _ => None,
    }
}

/// What [`draining`] keeps in memory at most.
const EARLY_BYTES: usize = 64 << 20;

impl Early {
    /// Give the records to `sink`, each with the plan `plan_of` its hook's slot (`None`: not a
    /// hook's event) says.
    fn replay<'p>(self, sink: &mut Sink, plan_of: impl Fn(Option<u32>) -> &'p Plan) {
        for r in &self.records {
            sink.record(plan_of(hook_slot(r)), r);
        }
        if self.over {
            eprintln!(
                "policyctl run: more than {} MiB of events came while attaching; the rest waited in the ring buffer",
                EARLY_BYTES >> 20
            );
        }
    }
}

/// Run `attach` while a thread reads the ring buffer into memory (at most [`EARLY_BYTES`]):
/// loading a hook's program makes the kernel verify it, which takes seconds where a machine is
/// slow, and the processes started meanwhile must not be lost to a full ring buffer (their exec
/// events are what the process cache knows them by).
fn draining<T>(events: &mut loader::Events, attach: impl FnOnce() -> T) -> (T, Early) {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut early = Early {
                records: Vec::new(),
                over: false,
            };
            let mut bytes = 0;
            while !done.load(Ordering::SeqCst) && !early.over {
                events.poll_while(Duration::from_millis(50), |record| {
                    bytes += record.len();
                    early.records.push(record.to_vec());
                    if bytes >= EARLY_BYTES {
                        early.over = true;
                    }
                    !early.over
                });
            }
            early
        });
        let out = attach();
        done.store(true, Ordering::SeqCst);
        let early = reader.join().unwrap_or_else(|_| Early {
            records: Vec::new(),
            over: false,
        });
        (out, early)
    })
}

/// One policy file of the running set and the plan of its policies (in slots of their own).
struct Unit {
    /// The file, as given or found in the policy directory.
    file: String,
    /// Its text when it was loaded: a reload that reads the same leaves it running untouched.
    text: String,
    plan: Plan,
}

/// What a reload of the policy directory needs.
struct Reload<'a> {
    dir: &'a Path,
    /// The files named on the command line: never reloaded.
    fixed: &'a [String],
    kernel: &'a Arc<Kernel>,
    selection: &'a Selection,
    features: Features,
    method: Option<Method>,
    allow_unfiltered: bool,
    /// `--allow-network-actions`.
    allow_network: bool,
    metrics: Option<&'a crate::metrics::Metrics>,
}

impl Reload<'_> {
    /// Read the directory again: new and changed files are checked, planned beside the running
    /// set and attached (each file on its own: one that fails is left out and said, and a
    /// changed file's previous version keeps running); then the hooks of removed files and of
    /// replaced versions are detached. Nothing else is touched. `units` is the running set
    /// after, `failed` the files whose latest version could not run (with their number of
    /// policies); returns the hooks detached, whose slots the caller frees once their last
    /// events are read.
    fn run(
        &self,
        loaded: &mut Loaded,
        units: &mut Vec<Unit>,
        reserved: &mut Reserved,
        failed: &mut std::collections::BTreeMap<String, usize>,
    ) -> Vec<policyctl_runtime::plan::HookPlan> {
        let say = |line: &str| eprintln!("policyctl run: reload: {line}");
        let error = |kind: &str| {
            if let Some(m) = self.metrics {
                m.reload_error(kind);
            }
        };
        let found = match crate::policy_dir::files(self.dir) {
            Ok(found) => found,
            Err(e) => {
                say(&format!("{e}; the running policies keep running"));
                error("read");
                return Vec::new();
            }
        };
        let found: Vec<String> = found
            .iter()
            .map(|p| p.display().to_string())
            .filter(|f| !self.fixed.contains(f))
            .collect();
        let kernels = std::slice::from_ref(self.kernel);
        let mut gone_units: Vec<Unit> = Vec::new();
        // removed files
        let mut i = 0;
        while i < units.len() {
            let u = &units[i];
            if !self.fixed.contains(&u.file) && !found.contains(&u.file) {
                say(&format!("{}: removed; its policies are detached", u.file));
                gone_units.push(units.remove(i));
            } else {
                i += 1;
            }
        }
        failed.retain(|f, _| found.contains(f));
        // new and changed files, each on its own
        for file in &found {
            let running = units.iter().position(|u| &u.file == file);
            let keeps = if running.is_some() {
                "its previous version keeps running"
            } else {
                "it is not loaded"
            };
            let job = match crate::read_policy(Some(Path::new(file)), kernels) {
                Ok(job) => job,
                Err(e) => {
                    say(&format!("{e}; {keeps}"));
                    error("read");
                    failed.insert(file.clone(), 1);
                    continue;
                }
            };
            if let (Some(at), crate::Job::Check(source)) = (running, &job) {
                if source.text() == units[at].text {
                    continue; // unchanged: left running as it is
                }
            }
            let checked = match check_for_run(vec![job], kernels, self.selection) {
                Ok(c) => c,
                Err(internal) => {
                    for e in &internal {
                        say(&format!("{e}; {keeps}"));
                    }
                    error("check");
                    failed.insert(file.clone(), 1);
                    continue;
                }
            };
            let Some(report) = checked.reports.first() else {
                continue;
            };
            let policies = report.policies.len().max(1);
            let mut err = std::io::stderr().lock();
            let errors = print_findings(std::slice::from_ref(report), &mut err, false);
            drop(err);
            if errors > 0 {
                say(&format!(
                    "{file}: refused: {errors} error{} (`policyctl check {file}` shows the same); {keeps}",
                    if errors == 1 { "" } else { "s" }
                ));
                error("check");
                failed.insert(file.clone(), policies);
                continue;
            }
            if !checked.unfiltered.is_empty() && !self.allow_unfiltered {
                for line in &checked.unfiltered {
                    say(line);
                }
                say(&format!("{file}: refused: it would kill or deny for every process on this host (--allow-unfiltered-enforcement allows it); {keeps}"));
                error("check");
                failed.insert(file.clone(), policies);
                continue;
            }
            let accepted = report
                .accepted_allowing(|d| served_otherwise(report, d))
                .unwrap_or_default();
            let plan = match Plan::compile_beside(
                &accepted,
                self.kernel,
                self.features,
                self.method,
                reserved,
            ) {
                Ok(plan) => plan,
                Err(errors) => {
                    for e in &errors {
                        say(&e.to_string());
                    }
                    say(&format!("{file}: refused; {keeps}"));
                    error("plan");
                    failed.insert(file.clone(), policies);
                    continue;
                }
            };
            let refusals = if self.allow_network {
                Vec::new()
            } else {
                plan.network_action_refusals()
            };
            if !refusals.is_empty() {
                for h in &plan.hooks {
                    reserved.free(h.slot);
                }
                for e in &refusals {
                    say(&e.to_string());
                }
                say(&format!("{file}: refused; {keeps}"));
                error("plan");
                failed.insert(file.clone(), policies);
                continue;
            }
            for line in &plan.skipped {
                say(&format!("note: {line}"));
            }
            if let Err(e) = loaded.attach(&plan) {
                for h in &plan.hooks {
                    reserved.free(h.slot);
                }
                say(&format!("{file}: {e}; {keeps}"));
                error("attach");
                failed.insert(file.clone(), policies);
                continue;
            }
            failed.remove(file);
            for h in &plan.hooks {
                say(&format!(
                    "{}: {}: {} attached with {}",
                    file,
                    plan.policies[h.policy].name,
                    describe(&h.attach),
                    h.method()
                ));
            }
            for e in &plan.enforcers {
                say(&format!(
                    "{}: {}: enforcer on {} attached with fmod_ret",
                    file,
                    plan.policies[e.policy].name,
                    e.calls.join(", ")
                ));
            }
            let unit = Unit {
                file: file.clone(),
                text: report.source.text().to_string(),
                plan,
            };
            match running {
                Some(at) => {
                    say(&format!(
                        "{file}: changed; its previous version is detached"
                    ));
                    gone_units.push(std::mem::replace(&mut units[at], unit));
                }
                None => units.push(unit),
            }
        }
        let gone: Vec<_> = gone_units.into_iter().flat_map(|u| u.plan.hooks).collect();
        for problem in loaded.detach(&gone) {
            say(&problem);
        }
        gone
    }
}

/// `run --attach-only`: each file's plan (compiled alone, in the slots it would have as the
/// run's only file), disarmed ([`Plan::disarmed`]), attached on its own (a file attaches whole
/// or not at all, as on a reload) and detached again before the next file attaches, so any
/// number of files can be tried in one process, and the kprobe, kretprobe and tracepoint
/// copies the kernel verified for one file serve the next without being verified again (see
/// `KeptLink` in `runtime/src/loader.rs`); the hooks of a file that failed are then attached
/// one at a time, so that every hook the kernel refuses is named, not only the first. Prints
/// one `attached` line per hook and one `failed` line per refusal. `plan_errors` are the
/// files' refusals by the planner, printed as failures. Returns how many policies attached
/// and how many failed.
fn attach_only(
    loaded: &mut Loaded,
    units: &[Unit],
    plan_errors: &[policyctl_runtime::plan::PlanError],
    out: &mut dyn Write,
) -> (usize, usize) {
    let mut say = |line: String| {
        let _ = writeln!(out, "{line}");
    };
    // policies are counted by (file, name)
    let mut failed: std::collections::BTreeSet<(String, String)> = Default::default();
    let mut attached = 0usize;
    for e in plan_errors {
        say(format!("failed    {e}"));
        failed.insert((e.file.clone(), e.policy.clone()));
    }
    for unit in units {
        let plan = unit.plan.clone().disarmed();
        for line in &plan.skipped {
            say(format!("note      {line}"));
        }
        match loaded.attach(&plan) {
            Ok(()) => {
                for (i, p) in plan.policies.iter().enumerate() {
                    attached += 1;
                    say(format!("attached  {}: policy `{}`", p.file, p.name));
                    for h in plan.hooks.iter().filter(|h| h.policy == i) {
                        let ret = match h.attach.return_method() {
                            Some(m) if h.config.returns != 0 => {
                                format!(", its return with {m}")
                            }
                            _ => String::new(),
                        };
                        say(format!(
                            "          {} with {}{ret}",
                            describe(&h.attach),
                            h.method()
                        ));
                    }
                    for e in plan.enforcers.iter().filter(|e| e.policy == i) {
                        say(format!(
                            "          enforcer on {} with fmod_ret",
                            e.calls.join(", ")
                        ));
                    }
                }
                // detached before the next file, which may take the same slots
                for problem in loaded.detach(&plan.hooks) {
                    say(format!("note      {}: {problem}", unit.file));
                }
            }
            Err(whole) => {
                // each hook alone, to name every one the kernel refuses, not only the first
                let mut named = std::collections::BTreeSet::new();
                for h in &plan.hooks {
                    let one = plan.only_hook(h);
                    match loaded.attach(&one) {
                        Ok(()) => {
                            let _ = loaded.detach(&one.hooks);
                        }
                        Err(e) => {
                            named.insert(h.policy);
                            say(format!("failed    {}: {e}", unit.file));
                        }
                    }
                }
                for (i, p) in plan.policies.iter().enumerate() {
                    if named.is_empty() {
                        // the hooks attach one by one but not together
                        say(format!("failed    {}: {whole}", unit.file));
                    } else if !named.contains(&i) {
                        say(format!(
                            "failed    {}: policy `{}`: not attached: another policy of its file failed",
                            p.file, p.name
                        ));
                    }
                    failed.insert((p.file.clone(), p.name.clone()));
                }
            }
        }
    }
    (attached, failed.len())
}

/// `1 event`, `2 events`.
fn events_n(n: impl Into<u64>) -> String {
    let n = n.into();
    format!("{n} event{}", if n == 1 { "" } else { "s" })
}

/// Print what checking found on `err`, as `policyctl check` prints it in text: errors, which
/// refuse the run (their number is returned), and warnings and infos, which are printed before
/// anything loads. What `run` serves otherwise (see [`served_otherwise`]) is left out of that
/// and, when nothing refuses the run, printed as a note.
fn print_findings(reports: &[FileReport], err: &mut dyn Write, color: bool) -> usize {
    let errors: usize = reports
        .iter()
        .map(|r| {
            r.accepted_allowing(|d| served_otherwise(r, d))
                .err()
                .unwrap_or(0)
        })
        .sum();
    // what run tolerates is left out, so the report's counts are the refusal's
    let shown: Vec<FileReport> = reports
        .iter()
        .map(|r| {
            let mut shown = r.clone();
            shown.diagnostics.retain(|d| !served_otherwise(r, d));
            shown
        })
        .collect();
    if shown.iter().any(|r| !r.diagnostics.is_empty()) {
        let text = render::render(&shown, render::Format::Text, &TextOptions { color });
        let _ = err.write_all(text.as_bytes());
    }
    if errors > 0 {
        return errors;
    }
    for r in reports {
        for d in r.diagnostics.iter().filter(|d| served_otherwise(r, d)) {
            let at = r.source.position(d.span.start);
            let _ = writeln!(
                err,
                "policyctl run: note: {}:{}:{}: {} ({}); policyctl run attaches these syscall hooks to the syscalls' tracepoints instead, but Tetragon would refuse this policy on this kernel",
                r.source.name(),
                at.line,
                at.column,
                d.message,
                d.code.as_str()
            );
        }
    }
    0
}

/// Selectors whose enforcing actions act on every process of this host, one line each: those
/// the check reported as P075 (no filter at all), and those whose only filter is a matchBinaries
/// NotIn of paths this host does not have (so it excludes nobody).
/// The reports of a `run` or a dry run, and its selectors that enforce on every process.
pub(crate) struct Checked {
    /// One per file, with the project's selection of codes and severities.
    pub reports: Vec<FileReport>,
    /// [`unfiltered_enforcement`] of the files.
    pub unfiltered: Vec<String>,
}

/// Check the files of a `run` or a dry run, as `check` does with the same `selection` (the
/// project file's and the command line's), so a code turned off or down to a warning refuses
/// nothing and a code raised to an error refuses the file. The unfiltered-enforcement guard is
/// no finding to configure: it reads the policies ([`actions::unfiltered`]), whatever the
/// selection or a suppression says; only `--allow-unfiltered-enforcement` lets a run past it.
/// Errors inside policyctl (a panic on a file) come back as they are.
pub(crate) fn check_for_run(
    jobs: Vec<crate::Job>,
    kernels: &[Arc<Kernel>],
    selection: &Selection,
) -> Result<Checked, Vec<crate::InternalError>> {
    let mut reports = Vec::new();
    let mut internal = Vec::new();
    for r in crate::check_all(jobs, kernels, selection) {
        match r {
            Ok(report) => reports.push(report),
            Err(e) => internal.push(e),
        }
    }
    if !internal.is_empty() {
        return Err(internal);
    }
    let unfiltered = unfiltered_enforcement(&reports);
    Ok(Checked {
        reports,
        unfiltered,
    })
}

pub(crate) fn unfiltered_enforcement(reports: &[FileReport]) -> Vec<String> {
    let mut out = Vec::new();
    for r in reports {
        let at = |offset: usize| {
            let p = r.source.position(offset);
            format!("{}:{}:{}", r.source.name(), p.line, p.column)
        };
        for p in &r.policies {
            for d in actions::unfiltered(&p.policy) {
                out.push(format!("{}: {}", at(d.span.start), d.message));
            }
            for hook in &p.policy.spec.hooks {
                if matches!(hook.kind, HookKind::Uprobe | HookKind::Usdt) {
                    continue;
                }
                for sel in &hook.selectors {
                    let Some(action) = sel.match_actions.iter().find_map(|a| {
                        a.action
                            .as_ref()
                            .filter(|n| actions::is_enforcing(&n.value))
                    }) else {
                        continue;
                    };
                    let only_not_in = sel.filters() == ["matchBinaries"]
                        && sel
                            .match_binaries
                            .iter()
                            .all(|f| f.operator.as_ref().is_some_and(|o| o.value == "NotIn"));
                    let values: Vec<&str> = sel
                        .match_binaries
                        .iter()
                        .flat_map(|f| f.values.iter().map(|v| v.value.as_str()))
                        .collect();
                    if only_not_in && values.iter().all(|v| !Path::new(v).exists()) {
                        out.push(format!(
                            "{}: {} acts on every process: its selector's only filter is matchBinaries NotIn {}, and this host has none of these files",
                            at(action.span.start),
                            action.value,
                            values.join(", ")
                        ));
                    }
                }
            }
        }
    }
    out
}

/// K030 on a `kprobes` or `fentries` section whose hooks are all syscalls: Tetragon cannot
/// load it on this kernel, but the runtime serves it through the raw syscall tracepoint.
pub(crate) fn served_otherwise(report: &FileReport, d: &Diagnostic) -> bool {
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

/// What [`describe`] adds for a uprobe with a reference counter: nothing without one.
fn ref_ctr(offset: u64) -> String {
    if offset == 0 {
        String::new()
    } else {
        format!(" (reference counter at {offset:#x})")
    }
}

pub(crate) fn describe(attach: &policyctl_runtime::plan::Attach) -> String {
    use policyctl_runtime::plan::Attach::*;
    match attach {
        Kprobe { symbol, .. } | Fentry { symbol } | RawSyscall { symbol, .. } => {
            format!("`{symbol}`")
        }
        Lsm { hook } => format!("LSM hook `{hook}`"),
        Tracepoint { subsystem, event } => format!("tracepoint `{subsystem}/{event}`"),
        Uprobe {
            path,
            symbol,
            ref_ctr_offset,
        } => format!("uprobe `{path}:{symbol}`{}", ref_ctr(*ref_ctr_offset)),
        RawTracepoint { subsystem, event } => format!("raw tracepoint `{subsystem}/{event}`"),
        UprobeOffset {
            path,
            offset,
            ref_ctr_offset,
        } => format!("uprobe `{path}+{offset:#x}`{}", ref_ctr(*ref_ctr_offset)),
        Usdt {
            path,
            provider,
            name,
            site,
        } => match site {
            Some(site) if site.semaphore != 0 => format!(
                "usdt `{path}:{provider}:{name}` (at {:#x}, semaphore at {:#x})",
                site.offset, site.semaphore
            ),
            Some(site) => format!("usdt `{path}:{provider}:{name}` (at {:#x})", site.offset),
            None => format!("usdt `{path}:{provider}:{name}`"),
        },
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

#[cfg(test)]
mod tests {
    use super::*;
    use policyctl_validator::kernel::KernelSpec;
    use policyctl_validator::{check_source_with, SourceFile};

    #[test]
    fn events_are_counted_in_words() {
        assert_eq!(events_n(0u64), "0 events");
        assert_eq!(events_n(1u64), "1 event");
        assert_eq!(events_n(2u64), "2 events");
    }

    fn fixture_kernel() -> Arc<Kernel> {
        let btf =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/btf/6.12.117+deb12-amd64.btf.zst");
        Arc::new(
            Kernel::load(&KernelSpec {
                btf,
                ..KernelSpec::default()
            })
            .unwrap(),
        )
    }

    fn findings(text: &str) -> (usize, String) {
        let kernel = fixture_kernel();
        let report = check_source_with(
            SourceFile::new("policy.yaml", text),
            std::slice::from_ref(&kernel),
        );
        let mut out = Vec::new();
        let errors = print_findings(&[report], &mut out, false);
        (errors, String::from_utf8(out).unwrap())
    }

    fn unfiltered(text: &str) -> Vec<String> {
        let report = check_source_with(SourceFile::new("policy.yaml", text), &[]);
        unfiltered_enforcement(&[report])
    }

    /// A Sigkill on every mkdirat, with the selector's filter replaced by `filter`.
    fn kill_mkdir(filter: &str) -> String {
        format!(
            "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: kill\nspec:\n  kprobes:\n  - call: sys_mkdirat\n    selectors:\n    - {filter}matchActions:\n      - action: Sigkill\n"
        )
    }

    #[test]
    fn enforcement_on_every_process_is_refused_without_the_flag() {
        // No filter at all (P075).
        let lines = unfiltered(&kill_mkdir(""));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("every process"), "{lines:?}");
        // A NotIn of a path this host does not have excludes nobody.
        let lines = unfiltered(&kill_mkdir(
            "matchBinaries:\n      - operator: NotIn\n        values:\n        - /nonexistent/policyctl-test\n      ",
        ));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains("/nonexistent/policyctl-test"),
            "{lines:?}"
        );
        // An In of one binary, or a NotIn of a file that exists, scopes it.
        let exe = std::env::current_exe().unwrap();
        for filter in [
            "matchBinaries:\n      - operator: In\n        values:\n        - /nonexistent/x\n      ".to_string(),
            format!(
                "matchBinaries:\n      - operator: NotIn\n        values:\n        - {}\n      ",
                exe.display()
            ),
        ] {
            let lines = unfiltered(&kill_mkdir(&filter));
            assert!(lines.is_empty(), "{filter}: {lines:?}");
        }
    }

    #[test]
    fn warnings_are_printed_before_loading() {
        // P004's example: one warning (a misspelt option), no error, on any kernel.
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/checks/P004/invalid.yaml"),
        )
        .unwrap();
        let (errors, out) = findings(&text);
        assert_eq!(errors, 0, "{out}");
        assert!(out.contains("P004"), "{out}");
        assert!(out.contains("0 errors, 1 warning"), "{out}");
    }

    #[test]
    fn errors_refuse_and_a_clean_policy_prints_nothing() {
        let clean = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata/policies/article/fixed-block-443-for-wget.yaml"),
        )
        .unwrap();
        let (errors, out) = findings(&clean);
        assert_eq!((errors, out.as_str()), (0, ""));
        let broken = clean.replace("kprobes:", "kprobess:");
        let (errors, out) = findings(&broken);
        assert!(errors > 0, "{out}");
        assert!(out.contains("error"), "{out}");
    }

    #[test]
    fn durations() {
        for good in ["0", "0.5", "3600", " 10 ", "315360000"] {
            assert!(parse_duration(good).is_ok(), "{good}");
        }
        for bad in ["inf", "-inf", "NaN", "1e20", "-1", "315360001", "", "1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
