//! Loading a [`Plan`] into the kernel with aya, and reading what comes back.
//!
//! One object serves every policy: it is loaded once, the plan's
//! configurations are written into its maps, then every hook's program copy
//! is loaded and attached. Any failure drops the [`Loaded`] value, and aya
//! detaches and unloads everything already attached, so a policy's hooks are
//! all attached or none are. Nothing is pinned: when the process exits, for
//! whatever reason, the kernel releases every program, link and map.

use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use std::time::Duration;

use aya::maps::lpm_trie::{Key, LpmTrie};
use aya::maps::{Array, HashMap as BpfHashMap, MapData, PerCpuArray, RingBuf};
use aya::programs::{
    uprobe::UProbeScope, BtfTracePoint, FEntry, FExit, KProbe, Lsm, RawTracePoint, TracePoint,
    UProbe,
};
use aya::{Btf, Ebpf, EbpfLoader};

use crate::layout::{
    CelProg, FuncHooks, HookConfig, HookGate, HookKind, PendingKey, Process, ReturnEvent,
    StrKeyData, SyscallHooks, UprobeRegs, UsdtSpec, ARG_BUF, FUNC_HOOKS, MAX_SELECTORS,
    SLOTS_PER_KIND, STR_LEN, SYSCALL_HOOKS,
};
use crate::plan::{Attach, Features, HookPlan, Plan};
use crate::refctr::RefCtrLink;

// ---- kprobe hooks on kprobe_multi: one program, one link per plan or a kprobe per function ----

/// The name of the program that serves the kprobe hooks on `kprobe_multi` slots: all plain
/// kprobes where the kernel has kprobe_multi links, else those past the copies.
const MULTI_PROGRAM: &str = "kprobe_multi";

/// A `kprobe_multi` link: closing it detaches it from all its functions.
#[derive(Debug)]
struct MultiLink {
    _link: std::os::fd::OwnedFd,
    /// The addresses it is linked to (each address is in one link at most).
    addresses: Vec<u64>,
}

/// What attached a function `kprobe_multi` serves.
#[derive(Debug)]
enum MultiVia {
    /// A kprobe of its own (aya's link): kernels without `kprobe_multi` links.
    Kprobe(aya::programs::kprobe::KProbeLinkId),
    /// `kprobe_multi` links in `Loaded::multi_batches`: the one made with it, and those that
    /// had some of its addresses already (see [`Loaded::drop_idle_links`]).
    Link,
}

/// The `kprobe_multi` links (by number, with their addresses) none of whose addresses is in
/// `used` (the addresses of the hooks served), sorted.
fn idle_links<'a>(
    links: impl Iterator<Item = (u32, &'a [u64])>,
    used: &std::collections::HashSet<u64>,
) -> Vec<u32> {
    let mut idle: Vec<u32> = links
        .filter(|(_, addrs)| !addrs.iter().any(|a| used.contains(a)))
        .map(|(n, _)| n)
        .collect();
    idle.sort_unstable();
    idle
}

/// The compiled BPF object (`runtime/bpf/policyctl.bpf.o`, built by `runtime/bpf/build.sh`).
pub static OBJECT: &[u8] = include_bytes!("../bpf/policyctl.bpf.o");

/// A failure to run, as one line for the user.
#[derive(Debug)]
pub struct RunError(pub String);

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RunError {}

fn err(message: impl Into<String>) -> RunError {
    RunError(message.into())
}

/// The object's array map `name`, typed (keyed by index), as [`hash_map`] opens a hash.
fn array_map<'a, V: aya::Pod>(
    bpf: &'a mut Ebpf,
    name: &str,
) -> Result<Array<&'a mut MapData, V>, RunError> {
    let map = bpf
        .map_mut(name)
        .ok_or_else(|| err(format!("no {name} map")))?;
    Array::try_from(map).map_err(|e| err(format!("{name} map: {e}")))
}

/// The object's hash map `name`, typed: every configuration map is opened through here, so a
/// missing map and a wrong key or value size say which map.
fn hash_map<'a, K: aya::Pod, V: aya::Pod>(
    bpf: &'a mut Ebpf,
    name: &str,
) -> Result<BpfHashMap<&'a mut MapData, K, V>, RunError> {
    let map = bpf
        .map_mut(name)
        .ok_or_else(|| err(format!("no {name} map")))?;
    BpfHashMap::try_from(map).map_err(|e| err(format!("{name} map: {e}")))
}

/// Removes from the hash map `name`, keyed by [`PendingKey`], every entry whose `slot` is
/// `slot` (what a hook left there and did not take is not for a later hook in its place); a
/// missing map is nothing to remove.
fn forget_pending<V: aya::Pod>(bpf: &mut Ebpf, name: &str, slot: u32) {
    let Ok(mut map) = hash_map::<PendingKey, V>(bpf, name) else {
        return;
    };
    let stale: Vec<PendingKey> = map
        .keys()
        .filter_map(Result::ok)
        .filter(|k| k.slot == slot)
        .collect();
    for k in stale {
        let _ = map.remove(&k);
    }
}

/// Where a uprobe opened by [`crate::refctr`] goes: its binary, the file offset (a symbol's
/// found in the binary's symbol tables) and how messages name it.
fn uprobe_point<'a>(policy: &str, attach: &'a Attach) -> Result<(&'a str, u64, String), RunError> {
    match attach {
        Attach::Uprobe { path, symbol, .. } => {
            let target = format!("{path}:{symbol}");
            let offset = crate::refctr::symbol_offset(path, symbol).map_err(|e| {
                err(format!(
                    "policy `{policy}`: cannot attach uprobe `{target}`: {e}"
                ))
            })?;
            Ok((path, offset, target))
        }
        Attach::UprobeOffset { path, offset, .. } => {
            Ok((path, *offset, format!("{path}+{offset:#x}")))
        }
        other => Err(err(format!(
            "policy `{policy}`: a {} hook is not a uprobe",
            other.method()
        ))),
    }
}

/// The error and every cause aya gives, on one line, without the verifier log.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    // the verifier log is long; keep its last line, which says what failed
    if let Some(at) = out.find("Verifier output:") {
        let log = &out[at..];
        let noise = [
            "processed ",
            "verification time",
            "stack depth",
            "max_states_per_insn",
        ];
        let last = log
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty() && !noise.iter().any(|n| l.contains(n)))
            .unwrap_or("");
        out = format!("{} (verifier: {})", out[..at].trim_end(), last.trim());
    }
    out.replace('\n', " ")
}

/// Checks that need no BPF: privileges, BTF, tracefs. Each failure is one line that says
/// what to do.
pub fn preflight() -> Result<(), RunError> {
    if !has_bpf_privileges() {
        return Err(err(
            "policyctl run loads BPF programs: run it as root (or with CAP_BPF and CAP_PERFMON)",
        ));
    }
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        return Err(err(
            "this kernel has no BTF (/sys/kernel/btf/vmlinux): policyctl run needs a kernel built with CONFIG_DEBUG_INFO_BTF=y",
        ));
    }
    if !Path::new("/sys/kernel/tracing/events").exists() {
        return Err(err(
            "tracefs is not mounted at /sys/kernel/tracing: mount it with `mount -t tracefs tracefs /sys/kernel/tracing`",
        ));
    }
    Ok(())
}

/// Root, or CAP_BPF (39) with CAP_PERFMON (38), or CAP_SYS_ADMIN (21), in the effective set.
fn has_bpf_privileges() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    let has = |bit: u32| caps & (1u64 << bit) != 0;
    has(21) || (has(39) && has(38))
}

/// The loaded object, before any hook is attached.
pub struct Loaded {
    bpf: Ebpf,
    btf: Btf,
    attached: Vec<String>,
    /// Per slot, what serves it now (see [`Loaded::detach`]).
    served: std::collections::BTreeMap<u32, Served>,
    /// /proc/kallsyms's text symbols by name, read when a hook first needs `kprobe_multi`.
    kallsyms: Option<std::collections::HashMap<String, Vec<u64>>>,
    /// The functions `kprobe_multi` serves (keyed by their lowest address): what attached
    /// each, and how many hooks use it.
    multi_links: std::collections::HashMap<u64, (MultiVia, usize)>,
    /// `kprobe_multi` loaded for `BPF_TRACE_KPROBE_MULTI` links ([`crate::kmulti`]), once a
    /// plan first needed it; `Err` says why the kernel has no such links for it, and every
    /// function then gets a kprobe of its own.
    multi_program: Option<Result<std::os::fd::OwnedFd, String>>,
    /// The `kprobe_multi` links by number. A function no hook uses stays in its link, found
    /// in `func_slots` by no call, until no function of the link has a hook
    /// (`multi_links` counts the hooks per function).
    multi_batches: std::collections::HashMap<u32, MultiLink>,
    /// Why the kernel refused the last `kprobe_multi` link, if it did.
    multi_refused: Option<String>,
    /// Whether the kernel has `kprobe_multi` links, once probed.
    multi_supported: Option<Result<(), String>>,
    /// Every map of the object (duplicated file descriptors, taken before the loader takes
    /// the ring buffer and the stacks out of `bpf`), for loading `kprobe_multi` by hand.
    map_fds: Result<Vec<(String, std::os::fd::OwnedFd)>, String>,
    /// The number of the next link in `multi_batches`.
    next_batch: u32,
    /// Enforcers (see [`crate::plan::EnforcerPlan`]) by the slot they are attached with: per
    /// call, its line in [`Loaded::attached`] and its fmod_ret program (detached when dropped).
    enforcers: std::collections::BTreeMap<u32, Vec<(String, crate::fmodret::FmodRet)>>,
}

impl Loaded {
    /// Load the object against the running kernel's BTF (CO-RE relocations), with an event
    /// ring buffer of `ring_mib` MiB (a power of two), and attach the process tracking programs.
    pub fn new(ring_mib: u32) -> Result<Loaded, RunError> {
        Loaded::with_stacks(ring_mib, false)
    }

    /// [`Loaded::new`], with the `stack_traces` map sized for Post's `kernelStackTrace` /
    /// `userStackTrace` when `stacks` ([`STACK_ENTRIES`] stacks), else one entry, as Tetragon
    /// sizes its `stack_trace_map` only when a policy asks (pkg/sensors/tracing/generickprobe.go,
    /// `stackTraceMapMaxEntries`).
    pub fn with_stacks(ring_mib: u32, stacks: bool) -> Result<Loaded, RunError> {
        if !ring_mib.is_power_of_two() || ring_mib > 1024 {
            return Err(err(format!(
                "the ring buffer is {ring_mib} MiB: it must be a power of two from 1 to 1024"
            )));
        }
        let btf = Btf::from_sys_fs()
            .map_err(|e| err(format!("cannot read the kernel's BTF: {}", chain(&e))))?;
        // aya parses the ELF in place; a Vec is suitably aligned where a static may not be
        let object = OBJECT.to_vec();
        let bpf = EbpfLoader::new()
            .btf(Some(&btf))
            .map_max_entries("events", ring_mib << 20)
            .map_max_entries("stack_traces", if stacks { STACK_ENTRIES } else { 1 })
            .load(&object)
            .map_err(|e| err(format!("cannot load the BPF object: {}", chain(&e))))?;
        let map_fds = crate::kmulti::map_fds(&bpf);
        let mut loaded = Loaded {
            map_fds,
            bpf,
            btf,
            attached: Vec::new(),
            served: Default::default(),
            kallsyms: None,
            multi_links: Default::default(),
            multi_program: None,
            multi_batches: Default::default(),
            next_batch: 0,
            multi_refused: None,
            multi_supported: None,
            enforcers: Default::default(),
        };
        for (program, tracepoint) in [
            ("process_exec", "sched_process_exec"),
            ("process_fork", "sched_process_fork"),
            ("process_exit", "sched_process_exit"),
        ] {
            let (p, btf) = loaded.program_btf::<BtfTracePoint>(program)?;
            p.load(tracepoint, btf)
                .and_then(|()| p.attach().map(|_| ()))
                .map_err(|e| {
                    err(format!(
                        "cannot track processes ({tracepoint}): {}",
                        chain(&e)
                    ))
                })?;
        }
        Ok(loaded)
    }

    fn program<'a, T>(&'a mut self, name: &str) -> Result<&'a mut T, RunError>
    where
        &'a mut T: TryFrom<&'a mut aya::programs::Program>,
    {
        Ok(self.program_btf::<T>(name)?.0)
    }

    /// A program and the kernel's BTF (parsed once, shared by every BTF-attached program).
    fn program_btf<'a, T>(&'a mut self, name: &str) -> Result<(&'a mut T, &'a Btf), RunError>
    where
        &'a mut T: TryFrom<&'a mut aya::programs::Program>,
    {
        let Loaded { bpf, btf, .. } = self;
        let p = bpf
            .program_mut(name)
            .ok_or_else(|| err(format!("the BPF object has no program {name}")))?;
        let p = p
            .try_into()
            .map_err(|_| err(format!("program {name} has an unexpected type")))?;
        Ok((p, btf))
    }

    /// What the running kernel can attach. Trampolines are tried for real (some kernels
    /// refuse them at load time, with EPERM), on the last fentry copy, then unloaded.
    pub fn features(&mut self) -> Features {
        let kprobes = Path::new("/sys/bus/event_source/devices/kprobe/type").exists();
        let bpf_lsm = std::fs::read_to_string("/sys/kernel/security/lsm")
            .is_ok_and(|l| l.trim().split(',').any(|m| m == "bpf"));
        let trampolines =
            match self.program_btf::<FEntry>(&HookKind::Fentry.program(SLOTS_PER_KIND - 1)) {
                Ok((p, btf)) => {
                    let ok = p.load("security_file_open", btf).is_ok()
                        || p.load("vfs_read", btf).is_ok();
                    if ok {
                        let _ = p.unload();
                    }
                    ok
                }
                Err(_) => false,
            };
        Features {
            kprobes,
            trampolines,
            bpf_lsm,
            uprobe_regs: crate::uregs::kernel_writes_uprobe_regs(),
            kprobe_multi: kprobes && self.kprobe_multi_links().is_ok(),
        }
    }

    /// No `kprobe_multi` links, whatever the kernel has (`--disable-kprobe-multi`, as
    /// Tetragon's flag): kprobes are served by the copies, and the hooks past them by a
    /// kprobe per function.
    pub fn disable_kprobe_multi(&mut self) {
        self.multi_supported = Some(Err("--disable-kprobe-multi".into()));
    }

    /// Whether the kernel links a kprobe program to many functions at once, probed once (on
    /// `vprintk`, as Tetragon's `detectKprobeMulti` does); `Err` says why not.
    fn kprobe_multi_links(&mut self) -> Result<(), String> {
        self.multi_supported
            .get_or_insert_with(crate::kmulti::supported)
            .clone()
    }

    /// Put the processes already running into the kernel's process table (so matchBinaries
    /// knows them), as (pid, ppid, binary).
    pub fn seed_processes(
        &mut self,
        processes: impl IntoIterator<Item = (u32, u32, String)>,
    ) -> Result<usize, RunError> {
        let mut table = hash_map::<u32, Process>(&mut self.bpf, "processes")?;
        let mut n = 0;
        for (pid, ppid, binary) in processes {
            let mut p = Process {
                ppid,
                binary_len: 0,
                binary: [0; ARG_BUF],
                exec_state: 0,
                ns: [0; crate::layout::NS_KINDS],
                _pad_ns: 0,
                caps: [0; crate::layout::CAPS_SETS],
            };
            // what the *Changes filters compare with; unknown (never matching) when unreadable
            if let Some((ns, caps)) = crate::process::proc_ns_caps(pid) {
                p.ns = ns;
                p.caps = caps;
                p.exec_state = crate::layout::PROCESS_AT_EXEC;
            }
            let bytes = binary.as_bytes();
            let len = bytes.len().min(ARG_BUF - 1);
            p.binary[..len].copy_from_slice(&bytes[..len]);
            p.binary_len = len as u32;
            // BPF_NOEXIST: an exec seen since loading is newer than /proc
            if table.insert(pid, p, 1).is_ok() {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Write every hook's configuration and strings, then load and attach every hook. On
    /// error every hook of `plan` attached so far is detached again and its map entries
    /// removed, so a plan attaches all or none; the hooks attached before (of other plans,
    /// in other slots) keep running.
    pub fn attach(&mut self, plan: &Plan) -> Result<(), RunError> {
        if let Some(h) = plan
            .hooks
            .iter()
            .find(|h| self.served.contains_key(&h.slot))
        {
            return Err(err(format!("slot {} already serves a hook", h.slot)));
        }
        let result = self.attach_all(plan);
        if result.is_err() {
            let hooks: Vec<&HookPlan> = plan
                .hooks
                .iter()
                .filter(|h| self.served.contains_key(&h.slot))
                .collect();
            self.detach(hooks);
            // what was written but never attached
            for h in &plan.hooks {
                self.clear_entries(h);
            }
            // a program copy that loaded but whose attach then failed (the hook is not
            // served, or its return program failed): unloaded, so the slot's copy can load
            // again for a later plan (a reload, `run --attach-only` trying hooks one by one)
            for h in &plan.hooks {
                self.unload_copies(h);
            }
            // enforcers attached before a hook failed
            for e in &plan.enforcers {
                self.drop_enforcer(e.slot);
            }
            // a link made for this plan's functions
            self.drop_idle_links();
        }
        result
    }

    fn attach_all(&mut self, plan: &Plan) -> Result<(), RunError> {
        self.write_maps(plan)?;
        self.link_functions(plan);
        // enforcers first, so no NotifyEnforcer records an error for a program not yet there
        for e in &plan.enforcers {
            self.attach_enforcer(plan, e)?;
        }
        for hook in &plan.hooks {
            let policy = &plan.policies[hook.policy].name;
            let copy = (hook.slot as usize) % crate::layout::SLOTS_PER_KIND;
            let mut multi = None;
            // a uprobe with a reference counter, opened by crate::refctr, and where it went
            let mut ref_ctr = Vec::new();
            let mut ref_ctr_point = None;
            // the link of a copy that stays loaded when the hook is detached (`KeptLink`)
            let mut kept = None;
            // an Override on a security_ function: its fmod_ret first, so no value the
            // kprobe records waits for a program not yet there
            let fmod_ret = match hook.fmod_ret() {
                Some(function) => Some(self.attach_fmod_ret(policy, function, hook.slot)?),
                None => None,
            };
            // an Override whose jump target was not found: never attached without it
            if let Some(why) = hook
                .uprobe_override
                .as_ref()
                .and_then(|o| o.unresolved.as_ref())
            {
                let at = match &hook.attach {
                    Attach::Uprobe { path, symbol, .. } => format!("{path}:{symbol}"),
                    Attach::UprobeOffset { path, offset, .. } => format!("{path}+{offset:#x}"),
                    _ => String::new(),
                };
                return Err(err(format!(
                    "policy `{policy}`: cannot attach uprobe {at}: the Override's jump target: {why}"
                )));
            }
            let uprobe_program = uprobe_program(hook, copy);
            let what = match &hook.attach {
                Attach::Kprobe { symbol, .. } if crate::plan::is_multi_slot(hook.slot) => {
                    let (link, addrs) = self
                        .attach_multi(hook.slot, symbol)
                        .map_err(|e| err(format!("policy `{policy}`: kprobe {symbol}: {}", e.0)))?;
                    multi = Some((link, addrs));
                    format!("kprobe {symbol}")
                }
                Attach::Kprobe { symbol, override_ } => {
                    let name = if *override_ {
                        format!("kprobe_override_{copy}")
                    } else {
                        format!("kprobe_{copy}")
                    };
                    let p: &mut KProbe = self.program(&name)?;
                    let link = kept_or_load(p.load())
                        .and_then(|()| p.attach(symbol, 0))
                        .map_err(|e| attach_error(policy, "kprobe", symbol, &e))?;
                    kept = Some(KeptLink::KProbe(link));
                    format!("kprobe {symbol}")
                }
                Attach::Fentry { symbol } => {
                    let (p, btf) = self.program_btf::<FEntry>(&format!("fentry_{copy}"))?;
                    p.load(symbol, btf)
                        .and_then(|()| p.attach().map(|_| ()))
                        .map_err(|e| attach_error(policy, "fentry", symbol, &e))?;
                    format!("fentry {symbol}")
                }
                Attach::Lsm { hook: name } => {
                    let (p, btf) = self.program_btf::<Lsm>(&format!("lsm_{copy}"))?;
                    p.load(name, btf)
                        .and_then(|()| p.attach().map(|_| ()))
                        .map_err(|e| attach_error(policy, "LSM hook", name, &e))?;
                    format!("lsm {name}")
                }
                Attach::Tracepoint { subsystem, event } => {
                    let p: &mut TracePoint = self.program(&format!("tracepoint_{copy}"))?;
                    let link = kept_or_load(p.load())
                        .and_then(|()| p.attach(subsystem, event))
                        .map_err(|e| {
                            attach_error(policy, "tracepoint", &format!("{subsystem}/{event}"), &e)
                        })?;
                    kept = Some(KeptLink::TracePoint(link));
                    format!("tracepoint {subsystem}/{event}")
                }
                Attach::Uprobe { .. } | Attach::UprobeOffset { .. }
                    if hook.attach.ref_ctr_offset() != 0 =>
                {
                    let (path, offset, target) = uprobe_point(policy, &hook.attach)?;
                    let ref_ctr_offset = hook.attach.ref_ctr_offset();
                    let program = uprobe_program.clone();
                    let point = (path, offset, ref_ctr_offset);
                    ref_ctr.push(
                        self.attach_ref_ctr(policy, "uprobe", &target, &program, point, false)?,
                    );
                    // the uretprobe of `return: true` goes at the same place: not read twice
                    ref_ctr_point = Some((offset, target.clone()));
                    format!("uprobe {target} (reference counter at {ref_ctr_offset:#x})")
                }
                Attach::Uprobe { path, symbol, .. } => {
                    let p: &mut UProbe = self.program(&uprobe_program)?;
                    p.load()
                        .and_then(|()| {
                            p.attach(symbol.as_str(), path, UProbeScope::AllProcesses)
                                .map(|_| ())
                        })
                        .map_err(|e| {
                            attach_error(policy, "uprobe", &format!("{path}:{symbol}"), &e)
                        })?;
                    format!("uprobe {path}:{symbol}")
                }
                Attach::UprobeOffset { path, offset, .. } => {
                    let p: &mut UProbe = self.program(&uprobe_program)?;
                    p.load()
                        .and_then(|()| {
                            p.attach(*offset, path, UProbeScope::AllProcesses)
                                .map(|_| ())
                        })
                        .map_err(|e| {
                            attach_error(policy, "uprobe", &format!("{path}+{offset:#x}"), &e)
                        })?;
                    format!("uprobe {path}+{offset:#x}")
                }
                Attach::Usdt {
                    path,
                    provider,
                    name,
                    site,
                } => {
                    let what = format!("usdt {path}:{provider}:{name}");
                    let site = site.as_ref().ok_or_else(|| {
                        err(format!(
                            "policy `{policy}`: cannot attach {what}: {path}: no such file"
                        ))
                    })?;
                    if site.semaphore != 0 {
                        // Tetragon attaches with the semaphore's offset as the uprobe's
                        // reference counter (createUsdtSensorFromEntry, UprobeAttachData
                        // RefCtrOffset): the kernel counts it up while attached, so the
                        // program's `if (semaphore)` lets the probe fire.
                        let target = format!("{path}+{:#x}", site.offset);
                        let program = usdt_program(site, copy);
                        let point = (path.as_str(), site.offset, site.semaphore);
                        ref_ctr.push(
                            self.attach_ref_ctr(policy, "usdt", &target, &program, point, false)?,
                        );
                        format!(
                            "{what}+{:#x} (semaphore at {:#x})",
                            site.offset, site.semaphore
                        )
                    } else {
                        let p: &mut UProbe = self.program(&usdt_program(site, copy))?;
                        p.load()
                            .and_then(|()| {
                                p.attach(site.offset, path, UProbeScope::AllProcesses)
                                    .map(|_| ())
                            })
                            .map_err(|e| {
                                attach_error(
                                    policy,
                                    "usdt",
                                    &format!("{path}+{:#x}", site.offset),
                                    &e,
                                )
                            })?;
                        format!("{what}+{:#x}", site.offset)
                    }
                }
                Attach::RawTracepoint { subsystem, event } => {
                    let p: &mut RawTracePoint =
                        self.program(&HookKind::RawTracepoint.program(copy))?;
                    p.load()
                        .and_then(|()| p.attach(event).map(|_| ()))
                        .map_err(|e| {
                            attach_error(
                                policy,
                                "raw tracepoint",
                                &format!("{subsystem}/{event}"),
                                &e,
                            )
                        })?;
                    format!("raw tracepoint {subsystem}/{event}")
                }
                Attach::RawSyscall { symbol, .. } => {
                    if !self.attached.iter().any(|a| a == "raw_syscalls/sys_enter") {
                        let p: &mut RawTracePoint = self.program("raw_syscall")?;
                        p.load()
                            .and_then(|()| p.attach("sys_enter").map(|_| ()))
                            .map_err(|e| attach_error(policy, "raw tracepoint", "sys_enter", &e))?;
                        self.attached.push("raw_syscalls/sys_enter".into());
                    }
                    format!("raw_syscalls/sys_enter for {symbol}")
                }
            };
            self.served.insert(
                hook.slot,
                Served {
                    what: what.clone(),
                    program: if multi.is_some() {
                        None
                    } else {
                        program_name(hook, copy)
                    },
                    multi: multi.take(),
                    returns: None,
                    hook: hook.clone(),
                    fmod_ret,
                    ref_ctr,
                    kept,
                    returns_kept: None,
                },
            );
            self.attached.push(what);
            if let Some(function) = hook.fmod_ret() {
                self.attached.push(format!("fmod_ret {function}"));
            }
            if hook.config.returns != 0 {
                let (what, kept) = if let Some((offset, target)) = &ref_ctr_point {
                    (
                        self.attach_return_ref_ctr(policy, hook, copy, *offset, target)?,
                        None,
                    )
                } else {
                    self.attach_return(policy, &hook.attach, copy)?
                };
                self.attached.push(what.clone());
                let program = hook.attach.kind().return_program(copy);
                if let (Some(served), Some(program)) = (self.served.get_mut(&hook.slot), program) {
                    served.returns = Some((program, what));
                    served.returns_kept = kept;
                }
            }
        }
        Ok(())
    }

    /// Loads and attaches the return program of a hook with `return: true`: a kretprobe for
    /// a kprobe, an fexit for an fentry, a uretprobe for a uprobe,
    /// `syscalls/sys_exit_<name>` for a syscall served by
    /// `sys_enter_<name>`. It serves the entry's slot. With the link of a kretprobe
    /// or exit tracepoint copy, which stays loaded when the hook is detached (`KeptLink`).
    fn attach_return(
        &mut self,
        policy: &str,
        attach: &Attach,
        copy: usize,
    ) -> Result<(String, Option<KeptLink>), RunError> {
        let name = attach.kind().return_program(copy).ok_or_else(|| {
            err(format!(
                "policy `{policy}`: {} hooks have no return program",
                attach.method()
            ))
        })?;
        match attach {
            Attach::Kprobe { symbol, .. } => {
                let p: &mut KProbe = self.program(&name)?;
                let link = kept_or_load(p.load())
                    .and_then(|()| p.attach(symbol, 0))
                    .map_err(|e| attach_error(policy, "kretprobe", symbol, &e))?;
                Ok((format!("kretprobe {symbol}"), Some(KeptLink::KProbe(link))))
            }
            Attach::Fentry { symbol } => {
                let (p, btf) = self.program_btf::<FExit>(&name)?;
                p.load(symbol, btf)
                    .and_then(|()| p.attach().map(|_| ()))
                    .map_err(|e| attach_error(policy, "fexit", symbol, &e))?;
                Ok((format!("fexit {symbol}"), None))
            }
            Attach::Tracepoint { subsystem, event } => {
                let exit = attach.exit_tracepoint().ok_or_else(|| {
                    err(format!(
                        "policy `{policy}`: tracepoint {subsystem}/{event} has no return"
                    ))
                })?;
                let p: &mut TracePoint = self.program(&name)?;
                let link = kept_or_load(p.load())
                    .and_then(|()| p.attach(subsystem, &exit))
                    .map_err(|e| {
                        attach_error(policy, "tracepoint", &format!("{subsystem}/{exit}"), &e)
                    })?;
                Ok((
                    format!("tracepoint {subsystem}/{exit}"),
                    Some(KeptLink::TracePoint(link)),
                ))
            }
            Attach::Uprobe { path, symbol, .. } => {
                let p: &mut UProbe = self.program(&name)?;
                p.load()
                    .and_then(|()| {
                        p.attach(symbol.as_str(), path, UProbeScope::AllProcesses)
                            .map(|_| ())
                    })
                    .map_err(|e| {
                        attach_error(policy, "uretprobe", &format!("{path}:{symbol}"), &e)
                    })?;
                Ok((format!("uretprobe {path}:{symbol}"), None))
            }
            Attach::UprobeOffset { path, offset, .. } => {
                let p: &mut UProbe = self.program(&name)?;
                p.load()
                    .and_then(|()| {
                        p.attach(*offset, path, UProbeScope::AllProcesses)
                            .map(|_| ())
                    })
                    .map_err(|e| {
                        attach_error(policy, "uretprobe", &format!("{path}+{offset:#x}"), &e)
                    })?;
                Ok((format!("uretprobe {path}+{offset:#x}"), None))
            }
            other => Err(err(format!(
                "policy `{policy}`: {} hooks have no return program",
                other.method()
            ))),
        }
    }

    /// Loads and attaches the fmod_ret program that returns what the hook in `slot` records
    /// for an Override on the `security_` function `function` (see [`crate::fmodret`]).
    fn attach_fmod_ret(
        &mut self,
        policy: &str,
        function: &str,
        slot: u32,
    ) -> Result<crate::fmodret::FmodRet, RunError> {
        let Loaded { bpf, btf, .. } = self;
        let map = bpf
            .map("override_tasks")
            .ok_or_else(|| err("no override_tasks map"))?;
        let aya::maps::Map::LruHashMap(data) = map else {
            return Err(err("override_tasks map has an unexpected type"));
        };
        crate::fmodret::attach(btf, data.fd().as_fd(), function, slot).map_err(|why| {
            err(format!(
                "policy `{policy}`: cannot Override `{function}`: {why}"
            ))
        })
    }

    fn write_maps(&mut self, plan: &Plan) -> Result<(), RunError> {
        // each slot's gate before its configuration: a call between the two finds no
        // configuration and returns, whatever the gate said
        for h in &plan.hooks {
            self.set_gate(h.slot, HookGate::of(&h.config))?;
        }
        {
            let mut hooks = hash_map::<u32, HookConfig>(&mut self.bpf, "hooks")?;
            for h in &plan.hooks {
                hooks
                    .insert(h.slot, h.config, 0)
                    .map_err(|e| err(format!("hooks map: {e}")))?;
            }
        }
        {
            // USDT sites: where their args are
            let mut usdt = hash_map::<u32, UsdtSpec>(&mut self.bpf, "usdt")?;
            for h in &plan.hooks {
                if let Attach::Usdt {
                    site: Some(site), ..
                } = &h.attach
                {
                    usdt.insert(h.slot, site.spec, 0)
                        .map_err(|e| err(format!("usdt map: {e}")))?;
                }
            }
        }
        {
            // Override on uprobes: each selector's register assignments
            let mut regs = hash_map::<u32, UprobeRegs>(&mut self.bpf, "uprobe_regs")?;
            for h in &plan.hooks {
                for (sel, r) in h.uprobe_override.iter().flat_map(|o| &o.regs) {
                    regs.insert(uprobe_regs_key(h.slot, *sel), *r, 0)
                        .map_err(|e| err(format!("uprobe_regs map: {e}")))?;
                }
            }
        }
        {
            let mut per_nr: std::collections::BTreeMap<u32, SyscallHooks> = Default::default();
            // the hooks already served on a syscall keep their place
            for h in self.served.values().map(|s| &s.hook).chain(&plan.hooks) {
                if let Attach::RawSyscall { nr, .. } = h.attach {
                    let e = per_nr.entry(nr).or_default();
                    if e.count as usize >= SYSCALL_HOOKS {
                        return Err(err(format!(
                            "more than {SYSCALL_HOOKS} hooks on one syscall"
                        )));
                    }
                    e.slots[e.count as usize] = h.slot;
                    e.count += 1;
                }
            }
            self.set_syscalls(per_nr)?;
        }
        {
            let mut progs = hash_map::<u32, CelProg>(&mut self.bpf, "cel_progs")?;
            for c in plan.hooks.iter().flat_map(|h| &h.cel) {
                progs
                    .insert(c.filter, c.prog, 0)
                    .map_err(|e| err(format!("cel_progs map: {e}")))?;
            }
        }
        for (name, postfix) in [("str_prefix", false), ("str_postfix", true)] {
            let map = self
                .bpf
                .map_mut(name)
                .ok_or_else(|| err(format!("no {name} map")))?;
            let mut trie: LpmTrie<&mut MapData, StrKeyData, u32> =
                LpmTrie::try_from(map).map_err(|e| err(format!("{name} map: {e}")))?;
            for h in &plan.hooks {
                for s in h.strings.iter().filter(|s| s.postfix == postfix) {
                    let mut data = StrKeyData {
                        filter: s.filter,
                        data: [0; STR_LEN],
                    };
                    let len = s.value.len().min(STR_LEN);
                    data.data[..len].copy_from_slice(&s.value[..len]);
                    let key = Key::new(32 + 8 * len as u32, data);
                    trie.insert(&key, len as u32, 0)
                        .map_err(|e| err(format!("{name} map: {e}")))?;
                }
            }
        }
        Ok(())
    }

    /// What was attached, one line each.
    pub fn attached(&self) -> &[String] {
        &self.attached
    }

    /// Take the `stack_traces` map (Post's stacks, read by id), for [`StackReader`].
    pub fn stacks(&mut self) -> Result<StackReader, RunError> {
        let map = self
            .bpf
            .take_map("stack_traces")
            .ok_or_else(|| err("no stack_traces map"))?;
        let map = aya::maps::StackTraceMap::try_from(map)
            .map_err(|e| err(format!("stack_traces map: {e}")))?;
        Ok(StackReader {
            map,
            symbolizer: crate::stacks::Symbolizer::new(false),
            failed: 0,
        })
    }

    /// Take the event ring buffer and the lost-event counter, for [`Events`].
    pub fn events(&mut self) -> Result<Events, RunError> {
        let ring = self
            .bpf
            .take_map("events")
            .ok_or_else(|| err("no events map"))?;
        let ring = RingBuf::try_from(ring).map_err(|e| err(format!("events map: {e}")))?;
        let lost = self
            .bpf
            .take_map("lost")
            .ok_or_else(|| err("no lost map"))?;
        let lost = PerCpuArray::try_from(lost).map_err(|e| err(format!("lost map: {e}")))?;
        Ok(Events { ring, lost })
    }
}

// ---- detaching one plan's hooks while the others run ------------------------

/// What serves a slot: the hook, its program copy (none for a raw syscall hook, served by the
/// one shared `raw_syscall` program through the `syscalls` map) and its line in
/// [`Loaded::attached`].
struct Served {
    what: String,
    program: Option<String>,
    /// A `return: true` hook's return program and its line in [`Loaded::attached`].
    returns: Option<(String, String)>,
    hook: HookPlan,
    /// A hook served by `kprobe_multi`: the key of its link in `Loaded::multi_links` and the
    /// function addresses it put in `func_slots`.
    multi: Option<(u64, Vec<u64>)>,
    /// An Override on a `security_` function: its companion fmod_ret program (detached
    /// when dropped).
    fmod_ret: Option<crate::fmodret::FmodRet>,
    /// A uprobe or USDT probe with a reference counter: its perf events (the entry's, and the
    /// uretprobe's with `return: true`), detached when dropped.
    ref_ctr: Vec<RefCtrLink>,
    /// The link of its program copy when the copy stays loaded on detach ([`KeptLink`]).
    kept: Option<KeptLink>,
    /// The same for its return program.
    returns_kept: Option<KeptLink>,
}

// ---- program copies verified once per process --------------------------------

/// The link of a kprobe, kretprobe or tracepoint copy. The kernel verifies these copies when
/// they load, before and apart from any attach target (a kprobe or tracepoint program names no
/// function or event when it loads, unlike fentry, fexit, LSM and tp_btf programs, which are
/// verified against their target's BTF): so when its hook is detached, such a copy only loses
/// its link and stays loaded, and a later hook in its slot (a reload's, or the next file of
/// `run --attach-only`) attaches it again without the kernel verifying it anew, where
/// verifying a copy is most of the time a hook takes to attach. At most one copy per slot and
/// kind stays loaded, attached to nothing and so never run, until the process exits.
enum KeptLink {
    KProbe(aya::programs::kprobe::KProbeLinkId),
    TracePoint(aya::programs::trace_point::TracePointLinkId),
}

/// A load that finds the copy already loaded (kept after an earlier hook of its slot was
/// detached, see [`KeptLink`]) is no error: the copy is attached again as it is.
fn kept_or_load(
    result: Result<(), aya::programs::ProgramError>,
) -> Result<(), aya::programs::ProgramError> {
    match result {
        Err(aya::programs::ProgramError::AlreadyLoaded) => Ok(()),
        other => other,
    }
}

impl Loaded {
    /// Detach the link of the copy `name`, which stays loaded; when that fails, the copy is
    /// unloaded, which detaches every link it has.
    fn detach_kept(&mut self, name: &str, link: KeptLink) -> Result<(), RunError> {
        let detached = match link {
            KeptLink::KProbe(id) => self.program::<KProbe>(name)?.detach(id),
            KeptLink::TracePoint(id) => self.program::<TracePoint>(name)?.detach(id),
        };
        match detached {
            Ok(()) => Ok(()),
            Err(_) => self.unload(name),
        }
    }
}

/// The program copy serving `hook` in copy `copy` (none for a raw syscall hook).
fn program_name(hook: &HookPlan, copy: usize) -> Option<String> {
    Some(match &hook.attach {
        Attach::Kprobe {
            override_: true, ..
        } => format!("kprobe_override_{copy}"),
        Attach::Kprobe { .. } => format!("kprobe_{copy}"),
        Attach::Fentry { .. } => format!("fentry_{copy}"),
        Attach::Lsm { .. } => format!("lsm_{copy}"),
        Attach::Tracepoint { .. } => format!("tracepoint_{copy}"),
        Attach::Uprobe { .. } | Attach::UprobeOffset { .. } => uprobe_program(hook, copy),
        Attach::Usdt {
            site: Some(site), ..
        } => usdt_program(site, copy),
        Attach::Usdt { .. } => format!("usdt_{copy}"),
        Attach::RawTracepoint { .. } => HookKind::RawTracepoint.program(copy),
        Attach::RawSyscall { .. } => return None,
    })
}

impl Loaded {
    /// Unload the program copies of `hook`'s slot (its entry copy and its return copy), which
    /// no hook serves: neither `kprobe_multi` nor the raw syscall dispatcher, which other slots
    /// share. Unloading a copy that is not loaded does nothing.
    fn unload_copies(&mut self, hook: &HookPlan) {
        if crate::plan::is_multi_slot(hook.slot) || self.served.contains_key(&hook.slot) {
            return;
        }
        let copy = (hook.slot as usize) % SLOTS_PER_KIND;
        let names = program_name(hook, copy)
            .into_iter()
            .chain(hook.attach.kind().return_program(copy));
        for name in names.collect::<Vec<_>>() {
            let _ = self.unload(&name);
        }
    }
}

/// The copy serving a uprobe hook: `uprobe_override_N` (which writes the probed thread's
/// registers, so only kernels that allow it load it) only for a hook that Overrides.
fn uprobe_program(hook: &HookPlan, copy: usize) -> String {
    if hook.uprobe_override.is_some() {
        format!("uprobe_override_{copy}")
    } else {
        format!("uprobe_{copy}")
    }
}

/// The key of a uprobe selector's assignments in `uprobe_regs` (see `uprobe_write_regs` in
/// `bpf/policyctl.bpf.c`).
fn uprobe_regs_key(slot: u32, selector: u8) -> u32 {
    slot * MAX_SELECTORS as u32 + u32::from(selector)
}

/// The copy serving a USDT site: `usdt_set_N` (which calls bpf_probe_write_user) only for a
/// site with a Set action.
fn usdt_program(site: &crate::plan::UsdtSite, copy: usize) -> String {
    if site.spec.set_arg.iter().any(|a| *a != 0) {
        format!("usdt_set_{copy}")
    } else {
        format!("usdt_{copy}")
    }
}

impl Loaded {
    /// Detach `hooks` (of plans attached before), leaving every other hook attached: a raw
    /// syscall hook first leaves its syscall's entry, each other hook's program copy is
    /// unloaded (its link detached, the copy free for another hook; a kprobe, kretprobe or
    /// tracepoint copy only loses its link and stays loaded, see [`KeptLink`]), and only then are its
    /// configuration and strings removed from the maps. Hooks not attached are left alone.
    /// Returns what could not be undone, one line each (the hook is no longer served either
    /// way).
    pub fn detach<'a>(&mut self, hooks: impl IntoIterator<Item = &'a HookPlan>) -> Vec<String> {
        let mut problems = Vec::new();
        let mut gone = Vec::new();
        for h in hooks {
            if let Some(served) = self.served.remove(&h.slot) {
                gone.push(served);
            }
        }
        // raw syscall hooks: rewrite the entries of their syscalls without them
        let raw_nrs: std::collections::BTreeSet<u32> = gone
            .iter()
            .filter_map(|s| match s.hook.attach {
                Attach::RawSyscall { nr, .. } => Some(nr),
                _ => None,
            })
            .collect();
        if !raw_nrs.is_empty() {
            if let Err(e) = self.rewrite_syscalls(&raw_nrs) {
                problems.push(e.0);
            }
            let raw_left = self
                .served
                .values()
                .any(|s| matches!(s.hook.attach, Attach::RawSyscall { .. }));
            if !raw_left {
                if let Err(e) = self.unload("raw_syscall") {
                    problems.push(e.0);
                }
                self.attached.retain(|a| a != "raw_syscalls/sys_enter");
            }
        }
        // uprobes with a reference counter: their perf events closed (the kernel counts the
        // counter down) before their program copies are unloaded
        for s in &mut gone {
            s.ref_ctr.clear();
        }
        for s in &mut gone {
            let returns = s.returns.as_ref().map(|(program, _)| program.clone());
            let copies = [
                (s.program.clone(), s.kept.take()),
                (returns, s.returns_kept.take()),
            ];
            for (program, kept) in copies {
                let Some(program) = program else { continue };
                let done = match kept {
                    Some(link) => self.detach_kept(&program, link),
                    None => self.unload(&program),
                };
                if let Err(e) = done {
                    problems.push(e.0);
                }
            }
        }
        for s in &mut gone {
            if let Some((link, addrs)) = s.multi.take() {
                if let Err(e) = self.detach_multi(s.hook.slot, link, &addrs) {
                    problems.push(e.0);
                }
            }
        }
        for s in &mut gone {
            // the fmod_ret after the program copy that feeds it
            if s.fmod_ret.take().is_some() {
                if let Some(function) = s.hook.fmod_ret() {
                    let line = format!("fmod_ret {function}");
                    if let Some(i) = self.attached.iter().position(|a| *a == line) {
                        self.attached.remove(i);
                    }
                }
            }
        }
        // an enforcer after the hooks that notify it
        for s in &gone {
            self.drop_enforcer(s.hook.slot);
        }
        for s in &gone {
            let returns = s.returns.as_ref().map(|(_, what)| what);
            for what in std::iter::once(&s.what).chain(returns) {
                if let Some(i) = self.attached.iter().position(|a| a == what) {
                    self.attached.remove(i);
                }
            }
            self.clear_entries(&s.hook);
        }
        problems
    }

    /// The slots served now.
    pub fn served_slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.served.keys().copied()
    }

    /// Unload the program `name` (its links detach); a program not loaded is no error.
    fn unload(&mut self, name: &str) -> Result<(), RunError> {
        use aya::programs::{Program as P, ProgramError};
        let p = self
            .bpf
            .program_mut(name)
            .ok_or_else(|| err(format!("the BPF object has no program {name}")))?;
        let result = match p {
            P::KProbe(p) => p.unload(),
            P::UProbe(p) => p.unload(),
            P::TracePoint(p) => p.unload(),
            P::RawTracePoint(p) => p.unload(),
            P::Lsm(p) => p.unload(),
            P::FEntry(p) => p.unload(),
            P::FExit(p) => p.unload(),
            P::BtfTracePoint(p) => p.unload(),
            _ => Ok(()),
        };
        match result {
            Ok(()) | Err(ProgramError::NotLoaded) => Ok(()),
            Err(e) => Err(err(format!("cannot detach {name}: {}", chain(&e)))),
        }
    }

    /// The `syscalls` entries of `nrs` from the raw syscall hooks served now.
    fn rewrite_syscalls(&mut self, nrs: &std::collections::BTreeSet<u32>) -> Result<(), RunError> {
        let mut per_nr: std::collections::BTreeMap<u32, SyscallHooks> = nrs
            .iter()
            .map(|nr| (*nr, SyscallHooks::default()))
            .collect();
        for s in self.served.values() {
            if let Attach::RawSyscall { nr, .. } = s.hook.attach {
                if let Some(e) = per_nr.get_mut(&nr) {
                    if (e.count as usize) < SYSCALL_HOOKS {
                        e.slots[e.count as usize] = s.hook.slot;
                        e.count += 1;
                    }
                }
            }
        }
        self.set_syscalls(per_nr)
    }

    /// Writes a slot's entry of `gates` (issue 16: the gates `handle()` tests before it looks
    /// the slot's configuration up).
    fn set_gate(&mut self, slot: u32, gate: HookGate) -> Result<(), RunError> {
        array_map::<HookGate>(&mut self.bpf, "gates")?
            .set(slot, gate, 0)
            .map_err(|e| err(format!("gates map (slot {slot}): {e}")))
    }

    /// Writes the `syscalls` entries of `per_nr`: the hooks each syscall number dispatches to.
    fn set_syscalls(
        &mut self,
        per_nr: impl IntoIterator<Item = (u32, SyscallHooks)>,
    ) -> Result<(), RunError> {
        let mut syscalls = array_map::<SyscallHooks>(&mut self.bpf, "syscalls")?;
        for (nr, e) in per_nr {
            syscalls
                .set(nr, e, 0)
                .map_err(|e| err(format!("syscalls map (syscall {nr}): {e}")))?;
        }
        Ok(())
    }

    /// Remove a hook's configuration (zeroed) and strings from the maps, and its slot from its
    /// syscall's entry; what is already gone is no error.
    fn clear_entries(&mut self, h: &HookPlan) {
        if let Attach::RawSyscall { nr, .. } = h.attach {
            if !self.served.contains_key(&h.slot) {
                let _ = self.rewrite_syscalls(&[nr].into_iter().collect());
            }
        }
        // the hook's configuration (`hooks` is a hash: only the slots in use have an entry)
        // and its gate (an array entry, so zeroed)
        if let Ok(mut hooks) = hash_map::<u32, HookConfig>(&mut self.bpf, "hooks") {
            let _ = hooks.remove(&h.slot);
        }
        let _ = self.set_gate(h.slot, HookGate::default());
        if let Some(o) = &h.uprobe_override {
            if let Ok(mut regs) = hash_map::<u32, UprobeRegs>(&mut self.bpf, "uprobe_regs") {
                for (sel, _) in &o.regs {
                    let _ = regs.remove(&uprobe_regs_key(h.slot, *sel));
                }
            }
        }
        if matches!(h.attach, Attach::Usdt { .. }) {
            if let Ok(mut usdt) = hash_map::<u32, UsdtSpec>(&mut self.bpf, "usdt") {
                let _ = usdt.remove(&h.slot);
            }
        }
        // a return probe's calls entered and not returned: a later hook in this slot must
        // not take them for its own
        if h.config.returns != 0 {
            forget_pending::<ReturnEvent>(&mut self.bpf, "pending", h.slot);
        }
        if let Ok(mut progs) = hash_map::<u32, CelProg>(&mut self.bpf, "cel_progs") {
            for c in &h.cel {
                let _ = progs.remove(&c.filter);
            }
        }
        // Override values recorded and not yet returned: not for a later hook in this slot
        if h.fmod_ret().is_some() {
            forget_pending::<i64>(&mut self.bpf, "override_tasks", h.slot);
        }
        for (name, postfix) in [("str_prefix", false), ("str_postfix", true)] {
            let Some(map) = self.bpf.map_mut(name) else {
                continue;
            };
            let Ok(mut trie) = LpmTrie::<&mut MapData, StrKeyData, u32>::try_from(map) else {
                continue;
            };
            for s in h.strings.iter().filter(|s| s.postfix == postfix) {
                let mut data = StrKeyData {
                    filter: s.filter,
                    data: [0; STR_LEN],
                };
                let len = s.value.len().min(STR_LEN);
                data.data[..len].copy_from_slice(&s.value[..len]);
                let _ = trie.remove(&Key::new(32 + 8 * len as u32, data));
            }
        }
    }
}

fn attach_error(policy: &str, what: &str, target: &str, e: &dyn std::error::Error) -> RunError {
    let why = chain(e);
    if why.contains("bpf_override_return") {
        return err(format!(
            "policy `{policy}`: cannot attach {what} `{target}`: this kernel cannot override return values from kprobes (bpf_override_return needs CONFIG_BPF_KPROBE_OVERRIDE); override an LSM hook's return value instead ({why})"
        ));
    }
    err(format!(
        "policy `{policy}`: cannot attach {what} `{target}`: {why}"
    ))
}

/// Stacks kept in `stack_traces` when a policy asks for them: 8,192 of 127 frames (about
/// 8 MiB of kernel memory), where Tetragon keeps 32,768 (`stackTraceMapMaxEntries`). Ids are
/// hashes of the stack into as many buckets: a different stack landing on a taken bucket gets
/// no id (-EEXIST), and its event comes without that stack, as in Tetragon.
pub const STACK_ENTRIES: u32 = 8192;

/// Reads the stacks a hook event names and symbolizes them ([`crate::stacks`]).
pub struct StackReader {
    map: aya::maps::StackTraceMap<MapData>,
    /// Kernel symbols and binaries' symbols.
    pub symbolizer: crate::stacks::Symbolizer,
    /// Stacks asked but not given: `bpf_get_stackid` failed (the map is full, or a user stack
    /// of a kernel thread) or the id was not found.
    pub failed: u64,
}

impl StackReader {
    /// Fills the frames of `hook`'s stacks from their ids. The entries stay in the map, as in
    /// Tetragon (pkg/sensors/tracing/generickprobe.go only looks them up): an id is a hash of
    /// the stack, so a deleted id could be taken by another stack before a later event naming
    /// the first one is read, and that event would show the wrong stack.
    pub fn fill(&mut self, hook: &mut crate::event::Hook) {
        let tid = hook.header.tid;
        let Some(st) = hook.stacks.as_deref_mut() else {
            return;
        };
        let frames = |id: Option<i32>, failed: &mut u64| -> Option<Vec<u64>> {
            let id = id?;
            let got = u32::try_from(id)
                .ok()
                .and_then(|id| self.map.get(&id, 0).ok());
            if got.is_none() {
                *failed += 1;
            }
            Some(got?.frames().iter().map(|f| f.ip).collect())
        };
        let mut failed = 0;
        let kernel = frames(st.kernel_id, &mut failed);
        let user = frames(st.user_id, &mut failed);
        self.failed += failed;
        if let Some(k) = kernel {
            st.kernel = self.symbolizer.kernel(&k);
        }
        if let Some(u) = user {
            st.user = self.symbolizer.user(tid, &u);
        }
    }
}

/// The event stream: the ring buffer and the count of events it had no room for.
pub struct Events {
    ring: RingBuf<MapData>,
    lost: PerCpuArray<MapData, u64>,
}

impl Events {
    /// Wait up to `timeout` for events, then hand each record to `each`. Returns the number
    /// of records read.
    pub fn poll(&mut self, timeout: Duration, mut each: impl FnMut(&[u8])) -> usize {
        self.poll_while(timeout, |record| {
            each(record);
            true
        })
    }

    /// As [`Events::poll`], stopping when `each` returns false (the rest stays in the ring).
    pub fn poll_while(&mut self, timeout: Duration, mut each: impl FnMut(&[u8]) -> bool) -> usize {
        let mut fds = libc::pollfd {
            fd: self.ring.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; a failed poll (EINTR on a signal) just reads nothing new.
        unsafe {
            libc::poll(
                &mut fds,
                1,
                timeout.as_millis().min(i32::MAX as u128) as i32,
            )
        };
        let mut n = 0;
        while let Some(item) = self.ring.next() {
            n += 1;
            if !each(&item) {
                break;
            }
        }
        n
    }

    /// Events the kernel side could not queue since loading (the ring buffer was full).
    pub fn lost(&self) -> u64 {
        self.lost
            .get(&0, 0)
            .map(|per_cpu| per_cpu.iter().sum())
            .unwrap_or(0)
    }
}

impl Loaded {
    /// Links `kprobe_multi`, by one `BPF_TRACE_KPROBE_MULTI` link, to the functions of
    /// `plan`'s hooks on `kprobe_multi` slots that no link serves yet, so
    /// [`Loaded::attach_multi`] finds them attached. Where the kernel has no such links, or
    /// refuses this one (a function ftrace cannot trace), nothing is linked here and each
    /// function gets a kprobe of its own; the reason is kept for
    /// [`Loaded::multi_link_refused`].
    fn link_functions(&mut self, plan: &Plan) {
        let mut new: std::collections::BTreeMap<u64, Vec<u64>> = Default::default();
        for hook in &plan.hooks {
            let Attach::Kprobe { symbol, .. } = &hook.attach else {
                continue;
            };
            if !crate::plan::is_multi_slot(hook.slot) {
                continue;
            }
            // a symbol without an address fails in attach_multi, which says so
            let Ok(mut addrs) = self.kallsyms_addresses(symbol) else {
                continue;
            };
            addrs.sort_unstable();
            if !self.multi_links.contains_key(&addrs[0]) {
                new.insert(addrs[0], addrs);
            }
        }
        if new.is_empty() {
            return;
        }
        if self.kprobe_multi_links().is_err() || self.load_kprobe_multi().is_err() {
            return;
        }
        let Some(Ok(program)) = &self.multi_program else {
            return;
        };
        // an address in two links would run its hooks twice a call: one that another link has
        // (a name whose addresses overlap another's, not all the same) is left to that link
        let linked: std::collections::HashSet<u64> = self
            .multi_batches
            .values()
            .flat_map(|b| b.addresses.iter().copied())
            .collect();
        // a function all of whose addresses links have already is theirs
        new.retain(|key, addrs| {
            let all = addrs.iter().all(|a| linked.contains(a));
            if all {
                self.multi_links.insert(*key, (MultiVia::Link, 0));
            }
            !all
        });
        let mut addresses: Vec<u64> = new
            .values()
            .flatten()
            .copied()
            .filter(|a| !linked.contains(a))
            .collect();
        addresses.sort_unstable();
        addresses.dedup();
        if addresses.is_empty() {
            return;
        }
        match crate::kmulti::attach(program, &addresses) {
            Ok(link) => {
                let batch = self.next_batch;
                self.next_batch += 1;
                self.multi_batches.insert(
                    batch,
                    MultiLink {
                        _link: link,
                        addresses,
                    },
                );
                for key in new.keys() {
                    self.multi_links.insert(*key, (MultiVia::Link, 0));
                }
                self.attached.push(format!(
                    "kprobe_multi link {batch} on {} functions",
                    new.len()
                ));
                self.multi_refused = None;
            }
            // this link only: a later plan's functions may all be traceable
            Err(e) => self.multi_refused = Some(e),
        }
    }

    /// Loads `kprobe_multi` for `BPF_TRACE_KPROBE_MULTI` links ([`crate::kmulti`]), once: the
    /// kernel verifies it then, whether or not it has such links to attach it with.
    pub fn load_kprobe_multi(&mut self) -> Result<(), RunError> {
        if self.multi_program.is_none() {
            let program = self
                .map_fds
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|maps| {
                    // aya-obj parses the ELF in place: a Vec is suitably aligned
                    let object = OBJECT.to_vec();
                    crate::kmulti::load(&object, maps, &self.btf, MULTI_PROGRAM)
                });
            self.multi_program = Some(program);
        }
        match &self.multi_program {
            Some(Err(e)) => Err(err(e.clone())),
            _ => Ok(()),
        }
    }

    /// Why the kernel refused the last `kprobe_multi` link (each of its functions got a kprobe
    /// of its own), or has no such links; `None` when every link asked for was made.
    pub fn multi_link_refused(&self) -> Option<&str> {
        match (&self.multi_supported, &self.multi_program) {
            (Some(Err(e)), _) | (_, Some(Err(e))) => Some(e),
            _ => self.multi_refused.as_deref(),
        }
    }

    /// Whether the hook in `slot` is served through a `kprobe_multi` link (a kprobe on a
    /// kernel with such links, unless `--disable-kprobe-multi`).
    pub fn served_by_multi_link(&self, slot: u32) -> bool {
        self.served
            .get(&slot)
            .and_then(|s| s.multi.as_ref())
            .and_then(|(key, _)| self.multi_links.get(key))
            .is_some_and(|(via, _)| matches!(via, MultiVia::Link))
    }

    /// Serve the hook in `slot` on `symbol` by `kprobe_multi`: the function's addresses (every
    /// one /proc/kallsyms gives that name) go into `func_slots` first, so its first call finds
    /// its slot; then the function is attached, unless a link or kprobe already serves it.
    /// Returns the function's key in `multi_links` and the addresses written.
    fn attach_multi(&mut self, slot: u32, symbol: &str) -> Result<(u64, Vec<u64>), RunError> {
        let mut addrs = self.kallsyms_addresses(symbol)?;
        addrs.sort_unstable();
        // one probe per function: a second one on an address (another hook on the function,
        // or a name that is an alias of it) would run every hook of the entry twice
        let key = addrs[0];
        {
            let mut slots = hash_map::<u64, FuncHooks>(&mut self.bpf, "func_slots")?;
            // the hooks on one function share its entries: kprobe_multi runs each
            let mut entries = Vec::with_capacity(addrs.len());
            for a in &addrs {
                let mut e: FuncHooks = slots.get(a, 0).unwrap_or_default();
                if e.count as usize >= FUNC_HOOKS {
                    return Err(err(format!(
                        "more than {FUNC_HOOKS} hooks on `{symbol}` past the {SLOTS_PER_KIND} kprobe copies; run fewer policies at once"
                    )));
                }
                e.slots[e.count as usize] = slot;
                e.count += 1;
                entries.push((*a, e));
            }
            for (a, e) in entries {
                slots
                    .insert(a, e, 0)
                    .map_err(|e| err(format!("func_slots map: {e}")))?;
            }
        }
        if let Some((_, users)) = self.multi_links.get_mut(&key) {
            *users += 1;
            return Ok((key, addrs));
        }
        let p: &mut KProbe = self.program(MULTI_PROGRAM)?;
        match p.load() {
            Ok(()) | Err(aya::programs::ProgramError::AlreadyLoaded) => {}
            Err(e) => return Err(err(format!("cannot load {MULTI_PROGRAM}: {}", chain(&e)))),
        }
        match p.attach(symbol, 0) {
            Ok(link) => {
                self.multi_links.insert(key, (MultiVia::Kprobe(link), 1));
                Ok((key, addrs))
            }
            Err(e) => {
                self.forget_addresses(slot, &addrs);
                Err(err(chain(&e)))
            }
        }
    }

    /// Detach one hook of `kprobe_multi` and remove its addresses from `func_slots`. A
    /// function's kprobe goes with its last hook; a link, with the last hook of all its
    /// functions.
    fn detach_multi(&mut self, slot: u32, key: u64, addrs: &[u64]) -> Result<(), RunError> {
        self.forget_addresses(slot, addrs);
        let Some((via, users)) = self.multi_links.get_mut(&key) else {
            return Ok(());
        };
        *users = users.saturating_sub(1);
        if *users > 0 {
            return Ok(());
        }
        if matches!(via, MultiVia::Link) {
            self.drop_idle_links();
            return Ok(());
        }
        let Some((MultiVia::Kprobe(link), _)) = self.multi_links.remove(&key) else {
            return Ok(());
        };
        let p: &mut KProbe = self.program(MULTI_PROGRAM)?;
        p.detach(link).map_err(|e| {
            err(format!(
                "cannot detach a kprobe of {MULTI_PROGRAM}: {}",
                chain(&e)
            ))
        })
    }

    /// Closes the `kprobe_multi` links none of whose addresses a served hook uses (after
    /// their last hook went, or a plan that failed part way): closing a link detaches it from
    /// every function it had. A function may depend on more than one link (a name whose
    /// addresses another name's link partly has: [`Loaded::link_functions`] links only the
    /// rest), so a link is kept while any hook uses one of its addresses, and a function no
    /// hook uses is forgotten, to be linked again when a hook next needs it.
    fn drop_idle_links(&mut self) {
        let used: std::collections::HashSet<u64> = self
            .served
            .values()
            .filter_map(|s| s.multi.as_ref())
            .flat_map(|(_, addrs)| addrs.iter().copied())
            .collect();
        let idle = idle_links(
            self.multi_batches
                .iter()
                .map(|(n, b)| (*n, b.addresses.as_slice())),
            &used,
        );
        if idle.is_empty() {
            return;
        }
        for batch in idle {
            self.multi_batches.remove(&batch);
            let line = format!("kprobe_multi link {batch} on ");
            self.attached.retain(|a| !a.starts_with(&line));
        }
        // a linked function in use keeps every link with one of its addresses; one not in use
        // may have lost some of its addresses with the links just closed
        self.multi_links
            .retain(|_, (via, users)| !matches!(via, MultiVia::Link) || *users > 0);
    }

    /// Takes `slot` out of the `func_slots` entries of `addrs` (an entry left with no hook goes).
    fn forget_addresses(&mut self, slot: u32, addrs: &[u64]) {
        if let Ok(mut slots) = hash_map::<u64, FuncHooks>(&mut self.bpf, "func_slots") {
            for a in addrs {
                let Ok(mut e) = slots.get(a, 0) else {
                    continue;
                };
                let n = (e.count as usize).min(FUNC_HOOKS);
                let kept: Vec<u32> = e.slots[..n]
                    .iter()
                    .copied()
                    .filter(|s| *s != slot)
                    .collect();
                e = FuncHooks::default();
                e.slots[..kept.len()].copy_from_slice(&kept);
                e.count = kept.len() as u32;
                let _ = if kept.is_empty() {
                    slots.remove(a)
                } else {
                    slots.insert(*a, e, 0)
                };
            }
        }
    }

    /// Every address /proc/kallsyms gives `symbol` (a text symbol of the kernel or a module).
    fn kallsyms_addresses(&mut self, symbol: &str) -> Result<Vec<u64>, RunError> {
        if self.kallsyms.is_none() {
            let text = std::fs::read_to_string("/proc/kallsyms")
                .map_err(|e| err(format!("/proc/kallsyms: {e}")))?;
            let mut index: std::collections::HashMap<String, Vec<u64>> = Default::default();
            for line in text.lines() {
                let mut parts = line.split_ascii_whitespace();
                let (Some(addr), Some(kind), Some(name)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                // text symbols, and the weak aliases of a syscall the kernel lacks
                // (COND_SYSCALL: `__x64_sys_ni_syscall`'s address under the syscall's name)
                if !matches!(kind, "t" | "T" | "w" | "W") {
                    continue;
                }
                if let Ok(a) = u64::from_str_radix(addr, 16) {
                    index.entry(name.to_string()).or_default().push(a);
                }
            }
            self.kallsyms = Some(index);
        }
        let addrs: Vec<u64> = self
            .kallsyms
            .as_ref()
            .and_then(|k| k.get(symbol))
            .map(|v| v.iter().copied().filter(|a| *a != 0).collect())
            .unwrap_or_default();
        if addrs.is_empty() {
            return Err(err(format!(
                "/proc/kallsyms gives no address for `{symbol}` (kptr_restrict hides them from a process without CAP_SYSLOG)"
            )));
        }
        Ok(addrs)
    }
}

// ---- enforcers (issue 15) ----------------------------------------------------

impl Loaded {
    /// Loads and attaches the enforcer's fmod_ret program on each of its calls (see
    /// [`crate::fmodret::attach_enforcer`]); they stay with the hook in `e.slot`.
    fn attach_enforcer(
        &mut self,
        plan: &Plan,
        e: &crate::plan::EnforcerPlan,
    ) -> Result<(), RunError> {
        let policy = &plan.policies[e.policy].name;
        for call in &e.calls {
            let Loaded { bpf, btf, .. } = self;
            let map = bpf
                .map("override_tasks")
                .ok_or_else(|| err("no override_tasks map"))?;
            let aya::maps::Map::LruHashMap(data) = map else {
                return Err(err("override_tasks map has an unexpected type"));
            };
            let prog = crate::fmodret::attach_enforcer(btf, data.fd().as_fd(), call, e.key)
                .map_err(|why| err(format!("policy `{policy}`: enforcer on `{call}`: {why}")))?;
            let line = format!("fmod_ret {call} (enforcer)");
            self.attached.push(line.clone());
            self.enforcers.entry(e.slot).or_default().push((line, prog));
        }
        Ok(())
    }

    /// Detaches the enforcer attached with the hook in `slot`, if any, and removes what its
    /// NotifyEnforcers recorded and it did not take.
    fn drop_enforcer(&mut self, slot: u32) {
        let Some(progs) = self.enforcers.remove(&slot) else {
            return;
        };
        for (line, prog) in progs {
            drop(prog);
            if let Some(i) = self.attached.iter().position(|a| *a == line) {
                self.attached.remove(i);
            }
        }
        let key = crate::layout::ENFORCER_KEY | slot;
        forget_pending::<i64>(&mut self.bpf, "override_tasks", key);
    }
}

// ---- uprobes with a reference counter (crate::refctr) ------------------------------------

impl Loaded {
    /// Load the uprobe program copy `program` and attach it at `point` (binary, file offset,
    /// reference counter's file offset) with the kernel counting the counter (a uretprobe when
    /// `ret`); `what` and `target` name it in the error, as [`attach_error`] does.
    fn attach_ref_ctr(
        &mut self,
        policy: &str,
        what: &str,
        target: &str,
        program: &str,
        point: (&str, u64, u64),
        ret: bool,
    ) -> Result<RefCtrLink, RunError> {
        use std::os::fd::AsFd as _;
        let (path, offset, ref_ctr_offset) = point;
        let p: &mut UProbe = self.program(program)?;
        p.load()
            .map_err(|e| attach_error(policy, what, target, &e))?;
        let fd = p.fd().map_err(|e| attach_error(policy, what, target, &e))?;
        RefCtrLink::attach(fd.as_fd(), path, offset, ref_ctr_offset, ret).map_err(|e| {
            err(format!(
                "policy `{policy}`: cannot attach {what} `{target}`: {e}"
            ))
        })
    }

    /// The uretprobe of a `return: true` uprobe with a reference counter: attached with the
    /// same counter, as Tetragon's uprobeAttachSingle passes the same options to its
    /// `Uretprobe` (the kernel keeps one uprobe per file offset, and refuses a second
    /// reference counter offset there), at the entry's file `offset` (`target` names it).
    /// Its perf event goes with the entry's, in the slot's [`Served`].
    fn attach_return_ref_ctr(
        &mut self,
        policy: &str,
        hook: &HookPlan,
        copy: usize,
        offset: u64,
        target: &str,
    ) -> Result<String, RunError> {
        let program = hook.attach.kind().return_program(copy).ok_or_else(|| {
            err(format!(
                "policy `{policy}`: {} hooks have no return program",
                hook.attach.method()
            ))
        })?;
        let (Attach::Uprobe { path, .. } | Attach::UprobeOffset { path, .. }) = &hook.attach else {
            return Err(err(format!(
                "policy `{policy}`: {} hooks have no return program",
                hook.attach.method()
            )));
        };
        let ref_ctr_offset = hook.attach.ref_ctr_offset();
        let link = self.attach_ref_ctr(
            policy,
            "uretprobe",
            target,
            &program,
            (path, offset, ref_ctr_offset),
            true,
        )?;
        if let Some(served) = self.served.get_mut(&hook.slot) {
            served.ref_ctr.push(link);
        }
        Ok(format!(
            "uretprobe {target} (reference counter at {ref_ctr_offset:#x})"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::idle_links;
    use std::collections::HashSet;

    /// Name X has addresses 1 and 2, linked by link 0; name Y, hooked later, has 2 and 3, so
    /// link 1 has only 3. Y's hooks run at 2 through link 0.
    const LINKS: [(u32, &[u64]); 2] = [(0, &[1, 2]), (1, &[3])];

    fn idle(used: &[u64]) -> Vec<u32> {
        idle_links(
            LINKS.into_iter(),
            &used.iter().copied().collect::<HashSet<u64>>(),
        )
    }

    #[test]
    fn a_link_stays_while_a_hook_of_another_name_uses_one_of_its_addresses() {
        // X's hooks gone, Y's kept: link 0 still probes Y's address 2
        assert_eq!(idle(&[2, 3]), Vec::<u32>::new());
        // Y's gone, X's kept: link 1 probes nothing a hook uses
        assert_eq!(idle(&[1, 2]), vec![1]);
        // both gone
        assert_eq!(idle(&[]), vec![0, 1]);
    }
}
