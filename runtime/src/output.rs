//! Rendering decoded events as Tetragon prints them: its JSON (protojson with
//! proto field names, one object per line) or its compact lines
//! (`tetra getevents -o compact`, `pkg/encoder/encoder.go`).
//!
//! Both formats are produced from one intermediate form that mirrors
//! Tetragon's `GetEventsResponse`, so the compact line reads exactly the
//! fields the JSON shows, the way Tetragon's `CompactEncoder` does.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::rc::Rc;

use crate::event::{Arg, Event, Exec, Exit, Hook};
use crate::layout::{
    action, BpfInfo, CredInfo, MapInfo, ModuleInfo, PerfInfo, SkbInfo, SockTuple, UserNsInfo,
};
use crate::plan::{Attach, EventKind, HookPlan, Plan};
use crate::process::{
    base64, forked_without_exec, Ancestors, ProcessCache, ProcessInfo, AUID_UNKNOWN,
};
use policyctl_validator::facts::{
    CAPABILITIES, FAMILIES, PROTOCOLS, SECURE_BITS, SIGNALS, SYSCALL_ARCH_PREFIXES, TCP_STATES,
};

/// The output format of `policyctl run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Tetragon's JSON export: one `GetEventsResponse` object per line.
    Json,
    /// Tetragon's compact lines (`tetra getevents -o compact`, no colours).
    Compact,
}

/// Turns decoded events into lines of one [`Format`].
#[derive(Debug, Clone)]
pub struct Renderer {
    format: Format,
    boot_offset_ns: i128,
    ancestors: Ancestors,
    /// `--enable-process-cred`: processes carry `cap` and `process_credentials`.
    process_cred: bool,
    /// `--enable-process-ns`: processes carry `ns`, compared with these host namespaces.
    host_ns: Option<[u32; crate::layout::NS_KINDS]>,
    /// The JSON of the processes hook events showed last (see [`ProcMemo`]).
    memo: RefCell<HashMap<MemoKey, ProcMemo>>,
}

/// A process object as a hook event shows it: its pid, the thread shown in it, and whether it
/// carries the live refcount (the event's process) or not (its parent).
type MemoKey = (u32, u32, bool);

/// The members of a `process` object rendered once and written again for every hook event of
/// the same process (issue 16: the process and its parent are most of a hook event's line).
/// Valid while the cache's entry is the one it was rendered from: the rendering is a function
/// of that entry, the thread, the refcount role and the renderer's fixed settings only.
#[derive(Debug, Clone)]
struct ProcMemo {
    info: ProcessInfo,
    json: Rc<str>,
}

/// The most processes [`ProcMemo`] keeps (all are forgotten when it is full, so its memory
/// stays bounded; they are rendered again when next shown).
const MEMO_MAX: usize = 4096;

/// `CLOCK_REALTIME - CLOCK_BOOTTIME` now, in ns: adding it to a boot-time
/// stamp gives wall time.
pub fn boot_offset_ns() -> i64 {
    fn now(clock: libc::clockid_t) -> i128 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec.
        if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
            return 0;
        }
        i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
    }
    let offset = now(libc::CLOCK_REALTIME) - now(libc::CLOCK_BOOTTIME);
    offset.clamp(i64::MIN.into(), i64::MAX.into()) as i64
}

impl Renderer {
    /// A renderer whose boot-to-wall offset is measured now.
    pub fn new(format: Format) -> Self {
        Renderer::with_boot_offset(format, boot_offset_ns())
    }

    /// A renderer with a given boot-to-wall offset in ns (stable output for tests).
    pub fn with_boot_offset(format: Format, offset_ns: i64) -> Self {
        Renderer {
            format,
            boot_offset_ns: offset_ns.into(),
            ancestors: Ancestors::default(),
            process_cred: false,
            host_ns: None,
            memo: RefCell::new(HashMap::new()),
        }
    }

    /// Processes carry their capabilities and credentials (`cap`, `process_credentials`), as
    /// Tetragon's `--enable-process-cred` makes `AnnotateProcess` (pkg/process/process.go) add
    /// them to the process it keeps, so every event showing it has them.
    pub fn with_process_cred(mut self, on: bool) -> Self {
        self.process_cred = on;
        self
    }

    /// Processes carry their namespaces (`ns`), each with `is_host` when its inode is the one
    /// of `host` (the namespaces of pid 1, as Tetragon's `InitHostNamespace` reads them in
    /// pkg/reader/namespace/namespace_linux.go): Tetragon's `--enable-process-ns`.
    pub fn with_process_ns(mut self, host: [u32; crate::layout::NS_KINDS]) -> Self {
        self.host_ns = Some(host);
        self
    }

    /// Events of the kinds `ancestors` names carry the process's ancestors beyond its parent
    /// (Tetragon's `--enable-ancestors`). The cache should count their references
    /// ([`ProcessCache::with_ancestor_refs`]) when `ancestors.base` is on.
    pub fn with_ancestors(mut self, ancestors: Ancestors) -> Self {
        self.ancestors = ancestors;
        self
    }

    /// The ancestors of the cache's process `pid` as events show them, when `on`.
    fn ancestors_of(&self, cache: &ProcessCache, pid: u32, on: bool) -> Vec<Proc> {
        if !on {
            return Vec::new();
        }
        let Some(p) = cache.get(pid) else {
            return Vec::new();
        };
        cache
            .ancestors(p)
            .into_iter()
            .map(|a| self.process(a, a.pid))
            .collect()
    }

    /// What rendering a process event (exec, exit, fork, data) does to the cache, without
    /// rendering it: for an event that is not printed (`--policy-events-only`), where building
    /// its line would be all the cost. Returns whether [`Renderer::render`] would have
    /// rendered it (an exec, or the exit of a known process). A hook event is left alone
    /// (false): hook events are always rendered.
    pub fn track(&self, cache: &mut ProcessCache, event: &Event) -> bool {
        let pid = event.header().pid;
        match event {
            Event::Data(data) => {
                cache.stash_args(pid, data.header.ktime, &data.bytes);
                false
            }
            Event::Exec(exec) => {
                exec_cached(cache, exec);
                true
            }
            Event::Fork(fork) => {
                cache.fork(fork);
                false
            }
            Event::Exit(_) => exit_cached(cache, pid, |_| ()).is_some(),
            Event::Hook(_) => false,
        }
    }

    /// The format rendered.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Renders one event as one line (no newline), updating the cache: an exec
    /// adds its process before rendering, an exit removes it after. `None`
    /// for a hook event whose slot is not in the plan.
    pub fn render(&self, plan: &Plan, cache: &mut ProcessCache, event: &Event) -> Option<String> {
        let response = self.response(plan, cache, event, self.format == Format::Json)?;
        Some(match self.format {
            Format::Json => response.to_json(),
            Format::Compact => response.to_compact(),
        })
    }

    /// As [`Renderer::render`], the line appended to `out` (a buffer the caller reuses, so
    /// that rendering a JSON event allocates no line of its own); false when there is none.
    pub fn render_into(
        &self,
        plan: &Plan,
        cache: &mut ProcessCache,
        event: &Event,
        out: &mut String,
    ) -> bool {
        let Some(response) = self.response(plan, cache, event, self.format == Format::Json) else {
            return false;
        };
        match self.format {
            Format::Json => response.write_json(out),
            Format::Compact => out.push_str(&response.to_compact()),
        }
        true
    }

    /// As [`Renderer::render`], and the same event as a JSON line too (for an export file,
    /// which is JSON whatever is printed), the cache updated once.
    pub fn render_and_json(
        &self,
        plan: &Plan,
        cache: &mut ProcessCache,
        event: &Event,
    ) -> Option<(String, String)> {
        let response = self.response(plan, cache, event, self.format == Format::Json)?;
        let json = response.to_json();
        Some(match self.format {
            Format::Json => (json.clone(), json),
            Format::Compact => (response.to_compact(), json),
        })
    }

    fn wall(&self, ktime: u64) -> (i64, u32) {
        let ns = (i128::from(ktime) + self.boot_offset_ns).max(0);
        let secs = (ns / 1_000_000_000).min(i64::MAX as i128) as i64;
        (secs, (ns % 1_000_000_000) as u32)
    }

    fn process(&self, p: &ProcessInfo, tid: u32) -> Proc {
        Proc {
            exec_id: p.exec_id.clone(),
            pid: p.pid,
            uid: p.uid,
            cwd: p.cwd.clone().unwrap_or_default(),
            binary: p.binary.clone(),
            arguments: p.arguments.clone(),
            // Tetragon's flags end with `inInitTree` for such a process (pkg/reader/exec/exec.go
            // `flagsOrdered`, joined by pkg/process/process.go)
            flags: if p.in_init_tree {
                format!("{} inInitTree", p.flags)
            } else {
                p.flags.clone()
            },
            start_time: Some(self.wall(p.start_boottime)),
            auid: p.auid,
            docker: p.docker.clone(),
            parent_exec_id: p.parent_exec_id.clone().unwrap_or_default(),
            // the `refcnt` of the process as Tetragon keeps it in its cache: 1 for a process
            // made by a clone event (pkg/process/process.go AddCloneEvent), unset after an exec
            // or a /proc read (initProcessInternalExec); hook events replace it with the live
            // count (`process_and_parent` with `live_refcnt`)
            refcnt: u32::from(forked_without_exec(p)),
            cred: if self.process_cred { p.cred } else { None },
            ns: self.host_ns.and_then(|host| {
                let ns = p.ns?;
                Some(std::array::from_fn(|i| (ns[i], ns[i] == host[i])))
            }),
            tid,
            in_init_tree: Some(p.in_init_tree),
            json: None,
        }
    }

    /// The event's process (from the cache, else what the header says) and its parent.
    /// `live_refcnt`: the process carries its live reference count, as a hook event's copy does
    /// (pkg/process/process.go GetProcessCopy, used by every pkg/grpc/tracing event); its
    /// parent never does.
    fn process_and_parent(
        &self,
        cache: &mut ProcessCache,
        pid: u32,
        tid: u32,
        uid: u32,
        live_refcnt: bool,
        memo: bool,
    ) -> (Proc, Option<Proc>) {
        // looked up (read from /proc when missing) first, then read in place: no copy of the
        // cache's entries per event
        let bare = || Proc {
            pid,
            uid,
            auid: AUID_UNKNOWN,
            tid,
            ..Proc::default()
        };
        let Some(ppid) = cache.lookup(pid).map(|p| p.ppid) else {
            return (bare(), None);
        };
        let has_parent = cache.lookup(ppid).is_some();
        let Some(p) = cache.get(pid) else {
            return (bare(), None);
        };
        let parent = if has_parent {
            cache
                .get(ppid)
                .map(|pp| self.shown(pp, pp.pid, false, memo))
        } else {
            None
        };
        (self.shown(p, tid, live_refcnt, memo), parent)
    }

    /// The cache's process `p` as an event shows it, with thread `tid` and, with
    /// `live_refcnt`, its live refcount. With `memo` (the line is JSON) its members come from
    /// [`ProcMemo`], rendered only when the entry changed since it was last shown.
    fn shown(&self, p: &ProcessInfo, tid: u32, live_refcnt: bool, memo: bool) -> Proc {
        let full = || {
            let mut process = self.process(p, tid);
            if live_refcnt {
                process.refcnt = p.refcnt;
            }
            process
        };
        if !memo {
            return full();
        }
        let key = (p.pid, tid, live_refcnt);
        let mut memos = self.memo.borrow_mut();
        let json = match memos.get(&key) {
            Some(m) if m.info == *p => m.json.clone(),
            _ => {
                let mut json = String::new();
                proc_json(&mut Obj::members(&mut json), &full());
                let json: Rc<str> = json.into();
                if memos.len() >= MEMO_MAX {
                    memos.clear();
                }
                memos.insert(
                    key,
                    ProcMemo {
                        info: p.clone(),
                        json: json.clone(),
                    },
                );
                json
            }
        };
        Proc {
            pid: p.pid,
            tid,
            json: Some(json),
            ..Proc::default()
        }
    }

    /// The event as Tetragon's `GetEventsResponse`; with `memo` (only JSON is rendered from
    /// it) hook events show processes from [`ProcMemo`].
    fn response(
        &self,
        plan: &Plan,
        cache: &mut ProcessCache,
        event: &Event,
        memo: bool,
    ) -> Option<Response> {
        let node_name = cache.node_name().to_string();
        let header = event.header();
        let time = self.wall(header.ktime);
        let ancestors;
        let body = match event {
            Event::Data(data) => {
                cache.stash_args(data.header.pid, data.header.ktime, &data.bytes);
                return None;
            }
            Event::Exec(exec) => {
                let info = exec_cached(cache, exec);
                ancestors = self.ancestors_of(cache, info.pid, self.ancestors.base);
                // exec_cached looked the parent up (from /proc when missing)
                let parent = cache
                    .get(info.ppid)
                    .cloned()
                    .map(|pp| self.process(&pp, pp.pid));
                Body::Exec {
                    process: self.process(&info, info.pid),
                    parent,
                }
            }
            Event::Fork(fork) => {
                cache.fork(fork);
                return None;
            }
            Event::Exit(exit) => {
                let (process, parent, exit_ancestors) = exit_cached(cache, header.pid, |cache| {
                    let (process, parent) = self.process_and_parent(
                        cache, header.pid, header.pid, header.uid, false, false,
                    );
                    (
                        process,
                        parent,
                        self.ancestors_of(cache, header.pid, self.ancestors.base),
                    )
                })?;
                ancestors = exit_ancestors;
                exit_body(exit, process, parent, time)
            }
            Event::Hook(hook) => {
                let plan_hook = plan.hook(hook.slot)?;
                let (process, parent) =
                    self.process_and_parent(cache, header.pid, header.tid, header.uid, true, memo);
                let a = self.ancestors;
                let on = match plan_hook.event {
                    EventKind::Tracepoint => a.tracepoint,
                    EventKind::Uprobe => a.uprobe,
                    EventKind::Usdt => a.usdt,
                    EventKind::Lsm => a.lsm,
                    _ => a.kprobe,
                };
                ancestors = self.ancestors_of(cache, header.pid, on);
                hook_body(plan, plan_hook, hook, process, parent)
            }
        };
        Some(Response {
            body,
            ancestors,
            node_name,
            time,
        })
    }
}

/// The exec's process added to the cache, its arguments joined with the data event that
/// carried the rest of them (when the exec says there is one), and its parent looked up (read
/// from /proc when missing). What rendering an exec and [`Renderer::track`] both do.
fn exec_cached(cache: &mut ProcessCache, exec: &Exec) -> ProcessInfo {
    let info = if exec.args_data > 0 {
        let mut whole = exec.clone();
        if let Some(more) = cache.take_args(exec.header.pid, exec.header.ktime) {
            whole.join_data(&more);
        }
        cache.exec(&whole)
    } else {
        cache.exec(exec)
    };
    cache.lookup(info.ppid);
    info
}

/// The exit of `pid` applied to the cache, what rendering an exit and [`Renderer::track`]
/// both do: `None` for a process never seen (its exit is dropped, as Tetragon's kernel side
/// drops it: bpf/process/bpf_exit.h event_exit_send() sends nothing for a pid missing from
/// its execve_map); else its parent is looked up (read from /proc when missing), `shown` reads
/// the cache, and the process leaves it.
fn exit_cached<T>(
    cache: &mut ProcessCache,
    pid: u32,
    shown: impl FnOnce(&mut ProcessCache) -> T,
) -> Option<T> {
    let ppid = cache.lookup(pid)?.ppid;
    cache.lookup(ppid);
    let out = shown(cache);
    cache.remove(pid);
    Some(out)
}

fn exit_body(exit: &Exit, process: Proc, parent: Option<Proc>, time: (i64, u32)) -> Body {
    let signal = match exit.signal() {
        0 => String::new(),
        n => signal_name(n),
    };
    Body::Exit {
        process,
        parent,
        signal,
        status: exit.status(),
        time,
    }
}

/// `SIGKILL` for 9; `SIG<n>` for numbers without a name.
fn signal_name(n: u32) -> String {
    (n as usize)
        .checked_sub(1)
        .and_then(|i| SIGNALS.get(i))
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("SIG{n}"))
}

fn hook_body(plan: &Plan, h: &HookPlan, hook: &Hook, process: Proc, parent: Option<Proc>) -> Body {
    // Tracepoint arguments carry no label: Tetragon builds them in
    // MsgGenericTracepointUnix.HandleMessage (pkg/grpc/tracing/tracing.go) without one,
    // while kprobe, LSM and uprobe arguments take theirs in getKprobeArgument.
    let labelled = h.event != EventKind::Tracepoint;
    // the hook's `data` args follow its args: Tetragon prints them apart, in `data`
    // (pkg/sensors/tracing/generickprobe.go handleMsgGenericKprobe: `a.data`)
    let first_data = h.args.len().saturating_sub(h.data);
    let shown = |(i, a): (usize, &crate::plan::ArgPlan)| {
        let label = if labelled {
            a.label.clone().unwrap_or_default()
        } else {
            String::new()
        };
        let raw = hook.args.get(i).unwrap_or(&Arg::None);
        if a.ty == "const_buf" {
            return const_buf_values(raw)
                .map(|value| KArg {
                    value,
                    mode: 0,
                    label: label.clone(),
                })
                .collect::<Vec<_>>();
        }
        if let Arg::Unread(status) = raw {
            return vec![KArg {
                value: ArgValue::Error(unread_message(a, *status)),
                mode: 0,
                label,
            }];
        }
        vec![KArg {
            value: arg_value(&a.ty, raw),
            mode: match raw {
                Arg::Path(_, mode) => *mode,
                _ => 0,
            },
            label,
        }]
    };
    // an arg declared `nop` (to skip an argument) is never shown; a const_buf shows one
    // value per element
    let mut args: Vec<KArg> = Vec::new();
    let mut data: Vec<KArg> = Vec::new();
    for (i, a) in h.args.iter().enumerate().filter(|(_, a)| a.ty != "nop") {
        let values = shown((i, a));
        if i < first_data {
            args.extend(values);
        } else {
            data.extend(values);
        }
    }
    let common = Common {
        process,
        parent,
        args,
        data,
        action: hook.action,
        policy_name: plan
            .policies
            .get(h.policy)
            .map(|p| p.name.clone())
            .unwrap_or_default(),
        message: h.message.clone().unwrap_or_default(),
        tags: h.tags.clone(),
    };
    match (&h.event, &h.attach) {
        (EventKind::Tracepoint, Attach::Tracepoint { subsystem, event }) => Body::Tracepoint {
            common,
            subsys: subsystem.clone(),
            event: event.clone(),
        },
        (EventKind::Tracepoint, Attach::RawTracepoint { subsystem, event }) => Body::Tracepoint {
            common,
            subsys: subsystem.clone(),
            event: event.clone(),
        },
        (
            EventKind::Uprobe,
            Attach::Uprobe {
                path,
                symbol,
                ref_ctr_offset,
            },
        ) => Body::Uprobe {
            common: with_uprobe_return(common, h, hook),
            path: path.clone(),
            symbol: symbol.clone(),
            offset: 0,
            ref_ctr_offset: *ref_ctr_offset,
        },
        (
            EventKind::Uprobe,
            Attach::UprobeOffset {
                path,
                offset,
                ref_ctr_offset,
            },
        ) => Body::Uprobe {
            common: with_uprobe_return(common, h, hook),
            path: path.clone(),
            symbol: String::new(),
            offset: *offset,
            ref_ctr_offset: *ref_ctr_offset,
        },
        (
            EventKind::Usdt,
            Attach::Usdt {
                path,
                provider,
                name,
                ..
            },
        ) => Body::Usdt {
            common,
            path: path.clone(),
            provider: provider.clone(),
            name: name.clone(),
        },
        (EventKind::Lsm, _) => Body::Lsm {
            common,
            function_name: h.function_name.clone(),
        },
        _ => Body::Kprobe {
            common,
            function_name: h.function_name.clone(),
            ret: return_of(h, hook),
            stacks: hook.stacks.clone(),
        },
    }
}

/// A uprobe's merged entry and return: `process_uprobe` has no `return` field, so Tetragon's
/// retprobeMerge (pkg/sensors/tracing/retprobe.go) puts the return value among the args, at
/// its index `api.ReturnArgIndex` (5) or appended when the entry has fewer args, with no
/// label (getUprobeReturnArg in pkg/sensors/tracing/genericuprobe.go gives its printer none).
/// The action stays the entry's.
fn with_uprobe_return(mut common: Common, h: &HookPlan, hook: &Hook) -> Common {
    if let Some((value, _)) = return_of(h, hook) {
        const RETURN_ARG_INDEX: usize = 5;
        if common.args.len() > RETURN_ARG_INDEX {
            common.args[RETURN_ARG_INDEX] = value;
        } else {
            common.args.push(value);
        }
    }
    common
}

/// A return probe's `return` and `return_action`. The return value carries no label: Tetragon
/// prints it with a printer that has none (pkg/sensors/tracing/generickprobe.go addKprobe(),
/// `argPrinter{index: api.ReturnArgIndex, ty: argType}`).
fn return_of(h: &HookPlan, hook: &Hook) -> Option<(KArg, u32)> {
    let (plan, ret) = (h.ret.as_ref()?, hook.ret.as_ref()?);
    Some((
        KArg {
            value: arg_value(&plan.ty, &ret.value),
            mode: match &ret.value {
                Arg::Path(_, mode) => *mode,
                _ => 0,
            },
            label: String::new(),
        },
        ret.action,
    ))
}

/// A `tetragon.Process`, the fields policyctl knows.
#[derive(Debug, Clone, Default)]
struct Proc {
    /// `cap` and `process_credentials` (with `--enable-process-cred`).
    cred: Option<CredInfo>,
    /// `ns`: each namespace's inode and whether it is the host's (with `--enable-process-ns`).
    ns: Option<[(u32, bool); crate::layout::NS_KINDS]>,
    exec_id: String,
    pid: u32,
    uid: u32,
    cwd: String,
    binary: String,
    arguments: String,
    flags: String,
    start_time: Option<(i64, u32)>,
    auid: u32,
    docker: String,
    parent_exec_id: String,
    /// `refcnt`: 0 (left out) unless set.
    refcnt: u32,
    tid: u32,
    /// `in_init_tree`, a BoolValue: absent for a process the cache does not know (Tetragon's
    /// bare `{pid, start_time}` process), else true or false.
    in_init_tree: Option<bool>,
    /// All the members above, already rendered (JSON only): written as they are.
    json: Option<Rc<str>>,
}

/// A `tetragon.KprobeArgument` value (its oneof).
#[derive(Debug, Clone, PartialEq)]
enum ArgValue {
    None,
    String(String),
    Int(i32),
    Size(u64),
    Bytes(Vec<u8>),
    Path(String),
    File(String),
    Binprm(String),
    Sock(SockTuple),
    Long(i64),
    Uint(u32),
    SyscallId(u32),
    Skb(SkbInfo),
    Sockaddr(SockTuple),
    SockaddrUn {
        family: u16,
        path: String,
    },
    Cred(CredInfo),
    BpfAttr(BpfInfo),
    BpfProg(BpfInfo),
    NetDev(String),
    /// A value that could not be read: Tetragon's `error_arg` with its message.
    Error(String),
    /// A capability set, with its oneof member (`kernel_cap_t_arg`, `cap_effective_arg` ...).
    Caps(&'static str, u64),
    /// kernel objects, capabilities and bpf commands (issue 15)
    PerfEvent(PerfInfo),
    BpfMap(MapInfo),
    UserNs(UserNsInfo),
    /// A module; `signature_ok` is written for a `load_info` only.
    Module(ModuleInfo, bool),
    Capability(i32),
    BpfCmd(i32),
}

#[derive(Debug, Clone)]
struct KArg {
    value: ArgValue,
    label: String,
    /// A path's inode mode, for `permission`.
    mode: u16,
}

/// The message of Tetragon's `error_arg` for an argument that could not be read
/// (pkg/sensors/tracing/args_linux.go `getArgStatus`): the depth is the index of the failed
/// load's step in the path's walk (bpf/process/generic_arg.h `extract_arg_depth` sets step
/// i + 1), which the plan kept for each load (`ArgPlan::resolve_steps`).
fn unread_message(a: &crate::plan::ArgPlan, status: u32) -> String {
    let load = (status as usize).checked_sub(1);
    match load.and_then(|l| a.resolve_steps.get(l)) {
        Some(step) if status != crate::layout::ARG_STATUS_BAD => {
            format!("Bad address encountered during resolve dereference at depth {step}")
        }
        _ => "Bad address for basic type".to_string(),
    }
}

fn int_of(arg: &Arg) -> i64 {
    match arg {
        Arg::Int(v) => *v,
        Arg::Uint(v) => *v as i64,
        _ => 0,
    }
}

fn text_of(arg: &Arg) -> String {
    match arg {
        Arg::String(s) | Arg::Path(s, _) => s.clone(),
        Arg::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

/// The argument as Tetragon types it: by the policy's `type`, else by what
/// the kernel read.
fn arg_value(ty: &str, arg: &Arg) -> ArgValue {
    match ty {
        "int" | "sint8" | "int8" | "sint16" | "int16" | "sint32" | "int32" => {
            ArgValue::Int(int_of(arg) as i32)
        }
        "uint8" | "uint16" | "uint32" => ArgValue::Uint(int_of(arg) as u32),
        "size_t" | "uint64" | "ulong" => ArgValue::Size(int_of(arg) as u64),
        "long" | "sint64" | "int64" => ArgValue::Long(int_of(arg)),
        "syscall64" => ArgValue::SyscallId(int_of(arg) as u32),
        "string" | "filename" => ArgValue::String(text_of(arg)),
        "file" | "fd" => ArgValue::File(text_of(arg)),
        "path" | "dentry" => ArgValue::Path(text_of(arg)),
        "linux_binprm" => ArgValue::Binprm(text_of(arg)),
        "char_buf" | "char_iovec" => ArgValue::Bytes(match arg {
            Arg::Bytes(b) => b.clone(),
            other => text_of(other).into_bytes(),
        }),
        "sock" | "socket" => ArgValue::Sock(match arg {
            Arg::Sock(s) => *s,
            _ => SockTuple::default(),
        }),
        "skb" => ArgValue::Skb(match arg {
            Arg::Skb(s) => *s,
            _ => SkbInfo::default(),
        }),
        "sockaddr" => ArgValue::Sockaddr(match arg {
            Arg::Sockaddr(s) => *s,
            _ => SockTuple::default(),
        }),
        "net_device" => ArgValue::NetDev(text_of(arg)),
        "kernel_cap_t" => ArgValue::Caps("kernel_cap_t_arg", int_of(arg) as u64),
        "cap_inheritable" => ArgValue::Caps("cap_inheritable_arg", int_of(arg) as u64),
        "cap_permitted" => ArgValue::Caps("cap_permitted_arg", int_of(arg) as u64),
        "cap_effective" => ArgValue::Caps("cap_effective_arg", int_of(arg) as u64),
        "bpf_attr" | "bpf_prog" => {
            let b = match arg {
                Arg::Bpf(b) => *b,
                _ => BpfInfo::default(),
            };
            if ty == "bpf_prog" {
                ArgValue::BpfProg(b)
            } else {
                ArgValue::BpfAttr(b)
            }
        }
        "cred" => ArgValue::Cred(match arg {
            Arg::Cred(c) => *c,
            _ => CredInfo::default(),
        }),
        "perf_event" => ArgValue::PerfEvent(match arg {
            Arg::PerfEvent(p) => *p,
            _ => PerfInfo::default(),
        }),
        "bpf_map" => ArgValue::BpfMap(match arg {
            Arg::BpfMap(m) => *m,
            _ => MapInfo::default(),
        }),
        "user_namespace" => ArgValue::UserNs(match arg {
            Arg::UserNs(u) => *u,
            _ => UserNsInfo::default(),
        }),
        "module" | "load_info" => ArgValue::Module(
            match arg {
                Arg::Module { info, .. } => *info,
                _ => ModuleInfo::default(),
            },
            ty == "load_info",
        ),
        // kiocb is printed as its file (Tetragon's getArg decodes GenericKiocb as a file)
        "kiocb" => ArgValue::File(text_of(arg)),
        "iov_iter" => ArgValue::Bytes(match arg {
            Arg::Bytes(b) => b.clone(),
            _ => Vec::new(),
        }),
        "data_loc" => ArgValue::String(text_of(arg)),
        "capability" => ArgValue::Capability(int_of(arg) as i32),
        "bpf_cmd" => ArgValue::BpfCmd(int_of(arg) as i32),
        _ => match arg {
            Arg::None | Arg::Unknown(_) | Arg::Unread(_) => ArgValue::None,
            Arg::Int(v) => ArgValue::Long(*v),
            Arg::Uint(v) => ArgValue::Size(*v),
            Arg::String(s) => ArgValue::String(s.clone()),
            Arg::Path(s, _) => ArgValue::Path(s.clone()),
            Arg::Bytes(b) => ArgValue::Bytes(b.clone()),
            Arg::Sock(s) => ArgValue::Sock(*s),
            Arg::Skb(s) => ArgValue::Skb(*s),
            Arg::Sockaddr(s) => ArgValue::Sockaddr(*s),
            Arg::SockaddrUn {
                family,
                path,
                abstract_,
            } => ArgValue::SockaddrUn {
                family: *family,
                path: sockaddr_un_path(path, *abstract_),
            },
            Arg::Cred(c) => ArgValue::Cred(*c),
            Arg::Bpf(b) => ArgValue::BpfAttr(*b),
            Arg::PerfEvent(p) => ArgValue::PerfEvent(*p),
            Arg::BpfMap(m) => ArgValue::BpfMap(*m),
            Arg::UserNs(u) => ArgValue::UserNs(*u),
            Arg::Module { info, load_info } => ArgValue::Module(*info, *load_info),
        },
    }
}

/// A tracepoint's array of `long` (a const_buf), as Tetragon's handleGenericTracepoint
/// (pkg/sensors/tracing/generictracepoint.go) decodes it: each 8-byte element one more
/// argument, a uint64, which MsgGenericTracepointUnix.HandleMessage (pkg/grpc/tracing/
/// tracing.go) prints as a `size_arg`. Nothing when the array was not read.
fn const_buf_values(arg: &Arg) -> impl Iterator<Item = ArgValue> + '_ {
    let bytes: &[u8] = match arg {
        Arg::Bytes(b) => b,
        _ => &[],
    };
    bytes.chunks_exact(8).map(|c| {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        ArgValue::Size(u64::from_le_bytes(word))
    })
}

/// A unix socket path as Tetragon's decodeSockaddrUnPath (pkg/sensors/tracing/args_linux.go)
/// writes it: a path up to its NUL, or an abstract name without its NULs behind an `@`.
fn sockaddr_un_path(raw: &[u8], abstract_: bool) -> String {
    if !abstract_ {
        let end = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
        return String::from_utf8_lossy(&raw[..end]).into_owned();
    }
    let name: Vec<u8> = raw.iter().copied().filter(|b| *b != 0).collect();
    if name.is_empty() {
        return String::new();
    }
    format!("@{}", String::from_utf8_lossy(&name))
}

/// Fields shared by kprobe, tracepoint, uprobe and LSM events.
#[derive(Debug, Clone)]
struct Common {
    process: Proc,
    parent: Option<Proc>,
    args: Vec<KArg>,
    /// The hook's `data` args (Tetragon's `data` of ProcessKprobe and ProcessUprobe).
    data: Vec<KArg>,
    action: u32,
    policy_name: String,
    message: String,
    tags: Vec<String>,
}

#[derive(Debug, Clone)]
enum Body {
    Exec {
        process: Proc,
        parent: Option<Proc>,
    },
    Exit {
        process: Proc,
        parent: Option<Proc>,
        signal: String,
        status: u32,
        time: (i64, u32),
    },
    Kprobe {
        common: Common,
        function_name: String,
        /// A return probe's return value and return action.
        ret: Option<(KArg, u32)>,
        /// Post's stacks (`kernel_stack_trace`, `user_stack_trace`).
        stacks: Option<Box<crate::event::Stacks>>,
    },
    Tracepoint {
        common: Common,
        subsys: String,
        event: String,
    },
    Uprobe {
        common: Common,
        path: String,
        symbol: String,
        /// uprobe `offsets`: the file offset (Tetragon's `offset`, 0 when by symbol).
        offset: u64,
        /// uprobe `refCtrOffsets`: the reference counter's file offset (Tetragon's
        /// `ref_ctr_offset`, from its genericUprobe `refCtrOffset`; 0 when none).
        ref_ctr_offset: u64,
    },
    Lsm {
        common: Common,
        function_name: String,
    },
    Usdt {
        common: Common,
        path: String,
        provider: String,
        name: String,
    },
}

/// A `tetragon.GetEventsResponse`.
#[derive(Debug, Clone)]
struct Response {
    body: Body,
    /// `ancestors` of the event's process, when `--enable-ancestors` asks for them.
    ancestors: Vec<Proc>,
    node_name: String,
    time: (i64, u32),
}

// ---------------------------------------------------------------- JSON

/// protojson's Timestamp: RFC 3339 in UTC, with 0, 3, 6 or 9 fraction digits.
pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let mut out = String::with_capacity(32);
    push_rfc3339(&mut out, secs, nanos);
    out
}

/// [`rfc3339`] appended to `out` (no allocation: events carry three timestamps).
fn push_rfc3339(out: &mut String, secs: i64, nanos: u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) {
        let _ = write!(out, "{year:04}");
    } else {
        push_digits(out, year as u64, 4);
    }
    for (sep, v) in [
        ('-', month),
        ('-', day),
        ('T', rem / 3600),
        (':', rem / 60 % 60),
        (':', rem % 60),
    ] {
        out.push(sep);
        push_digits(out, v as u64, 2);
    }
    if nanos != 0 {
        out.push('.');
        if nanos % 1_000_000 == 0 {
            push_digits(out, u64::from(nanos / 1_000_000), 3);
        } else if nanos % 1_000 == 0 {
            push_digits(out, u64::from(nanos / 1_000), 6);
        } else {
            push_digits(out, u64::from(nanos), 9);
        }
    }
    out.push('Z');
}

/// `v` in decimal, zero-padded to at least `width` digits (`format!("{v:0width$}")` without
/// the formatting machinery: timestamps are written twice per event).
fn push_digits(out: &mut String, mut v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let start = i.min(buf.len().saturating_sub(width));
    for &b in &buf[start..] {
        out.push(char::from(b));
    }
}

/// A JSON object written straight into a string, members in the order written (as
/// protojson orders them), empty strings and zero optional numbers left out as protojson does.
/// Writing directly, rather than through `serde_json::Value` maps, keeps rendering free of
/// per-member allocations: it is what bounds how many events per second reach the output.
struct Obj<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> Obj<'a> {
    fn new(out: &'a mut String) -> Obj<'a> {
        out.push('{');
        Obj { out, empty: true }
    }

    /// An object's members alone, without its braces (for [`ProcMemo`]).
    fn members(out: &'a mut String) -> Obj<'a> {
        Obj { out, empty: true }
    }

    /// Members rendered before by [`Obj::members`], written as they are.
    fn members_json(&mut self, json: &str) {
        if json.is_empty() {
            return;
        }
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        self.out.push_str(json);
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        push_json_str(self.out, key);
        self.out.push(':');
    }

    /// A string member, left out when empty.
    fn str(&mut self, key: &str, v: &str) {
        if !v.is_empty() {
            self.key(key);
            push_json_str(self.out, v);
        }
    }

    /// A number member, always written.
    fn num(&mut self, key: &str, v: impl std::fmt::Display) {
        self.key(key);
        let _ = write!(self.out, "{v}");
    }

    /// A number member, left out when zero.
    fn nonzero(&mut self, key: &str, v: u32) {
        if v != 0 {
            self.num(key, v);
        }
    }

    /// A nested object.
    fn obj(&mut self, key: &str, fill: impl FnOnce(&mut Obj<'_>)) {
        self.key(key);
        let mut inner = Obj::new(self.out);
        fill(&mut inner);
        inner.end();
    }

    /// An array of objects.
    fn array<T>(&mut self, key: &str, items: &[T], each: impl Fn(&mut Obj<'_>, &T)) {
        self.key(key);
        self.out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            let mut inner = Obj::new(self.out);
            each(&mut inner, item);
            inner.end();
        }
        self.out.push(']');
    }

    fn end(self) {
        self.out.push('}');
    }
}

/// A JSON string, escaped as serde_json escapes it (quote, backslash, control characters).
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    // most strings need no escape: checked 16 bytes at a time, without a branch per byte
    let clean = s.as_bytes().chunks(16).all(|chunk| {
        !chunk.iter().fold(false, |bad, &b| {
            bad | (b < 0x20) | (b == b'"') | (b == b'\\')
        })
    });
    if clean {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0x08 => Some("\\b"),
            0x0c => Some("\\f"),
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{b:04x}");
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

fn proc_json(o: &mut Obj<'_>, p: &Proc) {
    if let Some(json) = &p.json {
        o.members_json(json);
        return;
    }
    o.str("exec_id", &p.exec_id);
    o.num("pid", p.pid);
    o.num("uid", p.uid);
    o.str("cwd", &p.cwd);
    o.str("binary", &p.binary);
    o.str("arguments", &p.arguments);
    o.str("flags", &p.flags);
    if let Some((s, n)) = p.start_time {
        o.key("start_time");
        o.out.push('"');
        push_rfc3339(o.out, s, n);
        o.out.push('"');
    }
    o.num("auid", p.auid);
    o.str("docker", &p.docker);
    o.str("parent_exec_id", &p.parent_exec_id);
    o.nonzero("refcnt", p.refcnt);
    if let Some(c) = &p.cred {
        o.obj("cap", |m| capabilities_json(m, c));
    }
    if let Some(ns) = &p.ns {
        o.obj("ns", |m| {
            for ((inum, is_host), name) in ns.iter().zip(crate::layout::ns_kind::NAMES) {
                m.obj(name, |n| {
                    n.nonzero("inum", *inum);
                    if *is_host {
                        n.key("is_host");
                        n.out.push_str("true");
                    }
                });
            }
        });
    }
    o.num("tid", p.tid);
    if let Some(c) = &p.cred {
        // Tetragon's apiCreds (pkg/process/process.go initProcessInternalExec): the ids and
        // securebits, without the caps and user namespace a cred argument has
        o.obj("process_credentials", |m| cred_ids_json(m, c));
    }
    if let Some(b) = p.in_init_tree {
        // a BoolValue: protojson prints `false` too
        o.key("in_init_tree");
        o.out.push_str(if b { "true" } else { "false" });
    }
}

fn name_of(table: &[(&'static str, u32)], n: u32) -> &'static str {
    table
        .iter()
        .find(|(_, v)| *v == n)
        .map(|(k, _)| *k)
        .unwrap_or("")
}

fn sock_type_name(n: u32) -> &'static str {
    match n {
        1 => "SOCK_STREAM",
        2 => "SOCK_DGRAM",
        3 => "SOCK_RAW",
        4 => "SOCK_RDM",
        5 => "SOCK_SEQPACKET",
        6 => "SOCK_DCCP",
        10 => "SOCK_PACKET",
        _ => "",
    }
}

/// An address as text by family: dotted quad for AF_INET, RFC 5952 for AF_INET6.
fn addr(family: u16, bytes: &[u8; 16]) -> String {
    match family {
        2 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        10 => std::net::Ipv6Addr::from(*bytes).to_string(),
        _ => String::new(),
    }
}

/// The syscall ABI name Tetragon uses for this machine.
fn syscall_abi() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        "x86" => "i386",
        _ => "x64",
    }
}

fn sock_json(o: &mut Obj<'_>, s: &SockTuple) {
    o.str("family", name_of(FAMILIES, s.family.into()));
    o.str("type", sock_type_name(s.ty));
    o.str("protocol", name_of(PROTOCOLS, s.protocol.into()));
    o.str("saddr", &addr(s.family, &s.saddr));
    o.str("daddr", &addr(s.family, &s.daddr));
    o.nonzero("sport", s.sport.into());
    o.nonzero("dport", s.dport.into());
    if s.cookie != 0 {
        o.key("cookie");
        push_json_str(o.out, &s.cookie.to_string());
    }
    o.str("state", name_of(TCP_STATES, s.state));
}

fn arg_json(o: &mut Obj<'_>, a: &KArg) {
    match &a.value {
        ArgValue::None => {}
        ArgValue::String(s) => {
            o.key("string_arg");
            push_json_str(o.out, s);
        }
        ArgValue::Int(v) => o.num("int_arg", v),
        // protojson writes 64-bit integers as strings.
        ArgValue::Size(v) => {
            o.key("size_arg");
            push_json_str(o.out, &v.to_string());
        }
        ArgValue::Bytes(b) => {
            o.key("bytes_arg");
            push_json_str(o.out, &base64(b));
        }
        ArgValue::Path(p) => o.obj("path_arg", |m| {
            m.str("path", p);
            m.str("permission", &permission(a.mode));
        }),
        ArgValue::File(p) => o.obj("file_arg", |m| {
            m.str("path", p);
            m.str("permission", &permission(a.mode));
        }),
        ArgValue::Binprm(p) => o.obj("linux_binprm_arg", |m| {
            m.str("path", p);
            m.str("permission", &permission(a.mode));
        }),
        ArgValue::Sock(s) => o.obj("sock_arg", |m| sock_json(m, s)),
        ArgValue::Long(v) => {
            o.key("long_arg");
            push_json_str(o.out, &v.to_string());
        }
        ArgValue::Uint(v) => o.num("uint_arg", v),
        ArgValue::SyscallId(id) => o.obj("syscall_id", |m| {
            m.nonzero("id", *id);
            m.str("abi", syscall_abi());
        }),
        ArgValue::Skb(s) => o.obj("skb_arg", |m| skb_json(m, s)),
        // Tetragon gives sockaddr and sockaddr_un args no label (getKprobeArgument in
        // pkg/sensors/tracing/args_linux.go does not copy it for them).
        ArgValue::Sockaddr(s) => {
            return o.obj("sockaddr_arg", |m| {
                m.str("family", name_of(FAMILIES, s.family.into()));
                m.str("addr", &addr(s.family, &s.saddr));
                m.nonzero("port", s.sport.into());
            })
        }
        ArgValue::SockaddrUn { family, path } => {
            return o.obj("sockaddrun_arg", |m| {
                m.str("family", sockaddr_un_family(*family));
                m.str("path", path);
            })
        }
        ArgValue::Cred(c) => o.obj("process_credentials_arg", |m| cred_json(m, c)),
        ArgValue::BpfAttr(b) => o.obj("bpf_attr_arg", |m| bpf_json(m, b)),
        ArgValue::NetDev(name) => o.obj("net_dev_arg", |m| m.str("name", name)),
        // `KprobeError`'s one field is `Message`, capitalised in the proto (tetragon.proto)
        ArgValue::Error(message) => o.obj("error_arg", |m| m.str("Message", message)),
        // hexadecimal, 16 digits, as Tetragon's GetCapabilitiesHex (pkg/reader/caps/caps.go)
        ArgValue::Caps(key, set) => o.str(key, &format!("{set:016x}")),
        ArgValue::BpfProg(b) => o.obj("bpf_prog_arg", |m| bpf_json(m, b)),
        ArgValue::PerfEvent(p) => o.obj("perf_event_arg", |m| perf_event_json(m, p)),
        ArgValue::BpfMap(b) => o.obj("bpf_map_arg", |m| bpf_map_json(m, b)),
        ArgValue::UserNs(u) => o.obj("user_ns_arg", |m| {
            user_ns_json(m, u.level, u.uid, u.gid, u.inum)
        }),
        ArgValue::Module(info, load_info) => {
            o.obj("module_arg", |m| module_json(m, info, *load_info))
        }
        ArgValue::Capability(v) => o.obj("capability_arg", |m| {
            m.num("value", v);
            if let Some(name) = usize::try_from(*v).ok().and_then(|i| CAPABILITIES.get(i)) {
                m.str("name", name);
            }
        }),
        ArgValue::BpfCmd(v) => match usize::try_from(*v).ok().and_then(|i| BPF_CMDS.get(i)) {
            Some(name) => o.str("bpf_cmd_arg", name),
            // protojson writes an enum value it has no name for as its number
            None => o.num("bpf_cmd_arg", v),
        },
    }
    o.str("label", &a.label);
}

/// A BPF program type's name, as Tetragon's GetProgType (pkg/reader/bpf/bpfattr.go): the
/// number for a type it does not name.
fn prog_type_name(t: u32) -> String {
    const NAMES: [&str; 32] = [
        "UNSPEC",
        "SOCKET_FILTER",
        "KPROBE",
        "SCHED_CLS",
        "SCHED_ACT",
        "TRACEPOINT",
        "XDP",
        "PERF_EVENT",
        "CGROUP_SKB",
        "CGROUP_SOCK",
        "LWT_IN",
        "LWT_OUT",
        "LWT_XMIT",
        "SOCK_OPS",
        "SK_SKB",
        "CGROUP_DEVICE",
        "SK_MSG",
        "RAW_TRACEPOINT",
        "CGROUP_SOCK_ADDR",
        "LWT_SEG6LOCAL",
        "LIRC_MODE2",
        "SK_REUSEPORT",
        "FLOW_DISSECTOR",
        "CGROUP_SYSCTL",
        "RAW_TRACEPOINT_WRITABLE",
        "CGROUP_SOCKOPT",
        "TRACING",
        "STRUCT_OPS",
        "EXT",
        "LSM",
        "SK_LOOKUP",
        "SYSCALL",
    ];
    match NAMES.get(t as usize) {
        Some(n) => format!("BPF_PROG_TYPE_{n}"),
        None => t.to_string(),
    }
}

/// A program's name up to its first NUL, as Tetragon's getKprobeArgument trims it
/// (pkg/sensors/tracing/args_linux.go).
fn prog_name(b: &BpfInfo) -> String {
    let end = b.prog_name.iter().position(|c| *c == 0).unwrap_or(16);
    String::from_utf8_lossy(&b.prog_name[..end]).into_owned()
}

/// A `tetragon.KprobeBpfAttr` / `KprobeBpfProg` (their fields are named alike).
fn bpf_json(o: &mut Obj<'_>, b: &BpfInfo) {
    o.str("ProgType", &prog_type_name(b.prog_type));
    o.nonzero("InsnCnt", b.insn_cnt);
    o.str("ProgName", &prog_name(b));
}

/// Tetragon's `familyString` (pkg/grpc/tracing/tracing.go) for sockaddr_un args.
fn sockaddr_un_family(family: u16) -> &'static str {
    match family {
        1 => "AF_UNIX",
        2 => "AF_INET",
        10 => "AF_INET6",
        _ => "",
    }
}

/// A `tetragon.KprobeSkb`, as Tetragon's getKprobeArgument fills it (pkg/grpc/tracing/tracing.go).
fn skb_json(o: &mut Obj<'_>, s: &SkbInfo) {
    let t = &s.tuple;
    o.nonzero("hash", s.hash);
    o.nonzero("len", s.len);
    o.nonzero("priority", s.priority);
    o.nonzero("mark", s.mark);
    o.str("saddr", &addr(t.family, &t.saddr));
    o.str("daddr", &addr(t.family, &t.daddr));
    o.nonzero("sport", t.sport.into());
    o.nonzero("dport", t.dport.into());
    o.nonzero("proto", t.protocol.into());
    o.nonzero("sec_path_len", s.secpath_len);
    o.nonzero("sec_path_olen", s.secpath_olen);
    o.str("protocol", name_of(PROTOCOLS, t.protocol.into()));
    o.str("family", name_of(FAMILIES, t.family.into()));
}

/// A repeated `CapabilitiesType`: each set bit, by name (protojson prints a number for a
/// capability its enum does not name), as Tetragon's GetCapabilitiesTypes (pkg/reader/caps).
fn caps_json(o: &mut Obj<'_>, key: &str, set: u64) {
    if set == 0 {
        return;
    }
    o.key(key);
    o.out.push('[');
    let mut first = true;
    for bit in 0..64 {
        if set & (1u64 << bit) == 0 {
            continue;
        }
        if !first {
            o.out.push(',');
        }
        first = false;
        match CAPABILITIES.get(bit) {
            Some(name) => push_json_str(o.out, name),
            None => {
                let _ = write!(o.out, "{bit}");
            }
        }
    }
    o.out.push(']');
}

/// A `tetragon.ProcessCredentials`, as Tetragon's getKprobeArgument fills it for a cred arg
/// (pkg/grpc/tracing/tracing.go): the ids are wrappers (written even when 0), the user
/// namespace at level 0 is the host's.
fn cred_json(o: &mut Obj<'_>, c: &CredInfo) {
    cred_ids_json(o, c);
    o.obj("caps", |m| capabilities_json(m, c));
    o.obj("user_ns", |m| {
        user_ns_json(m, c.ns_level, c.ns_uid, c.ns_gid, c.ns_inum)
    });
}

/// A `tetragon.UserNamespace`, as Tetragon's getKprobeArgument fills it for a user_namespace
/// arg and a cred's `user_ns` (pkg/grpc/tracing/tracing.go): wrappers written even when 0, and
/// `is_host` for level 0.
fn user_ns_json(m: &mut Obj<'_>, level: i32, uid: u32, gid: u32, inum: u32) {
    m.num("level", level);
    m.num("uid", uid);
    m.num("gid", gid);
    m.obj("ns", |n| {
        n.nonzero("inum", inum);
        if level == 0 {
            n.key("is_host");
            n.out.push_str("true");
        }
    });
}

/// A `tetragon.KprobePerfEvent`, as Tetragon's getKprobeArgument fills it: the type by
/// GetPerfEventType (pkg/reader/bpf/perfevent.go), 64-bit numbers as protojson strings.
fn perf_event_json(m: &mut Obj<'_>, p: &PerfInfo) {
    m.str("KprobeFunc", &c_str(&p.kprobe_func));
    m.str("Type", &name_or_number(PERF_TYPES, p.ty));
    if p.config != 0 {
        m.key("Config");
        push_json_str(m.out, &p.config.to_string());
    }
    if p.probe_offset != 0 {
        m.key("ProbeOffset");
        push_json_str(m.out, &p.probe_offset.to_string());
    }
}

/// A `tetragon.KprobeBpfMap`: the type by GetBpfMapType (pkg/reader/bpf/bpfmap.go).
fn bpf_map_json(m: &mut Obj<'_>, b: &MapInfo) {
    m.str("MapType", &name_or_number(BPF_MAP_TYPES, b.map_type));
    m.nonzero("KeySize", b.key_size);
    m.nonzero("ValueSize", b.value_size);
    m.nonzero("MaxEntries", b.max_entries);
    m.str("MapName", &c_str(&b.map_name));
}

/// A `tetragon.KernelModule`: `signature_ok` (a BoolValue) only for a load_info, `tainted` by
/// GetTaintedBitsTypes (pkg/reader/kernel/kernel.go), as getKprobeArgument fills it.
fn module_json(m: &mut Obj<'_>, info: &ModuleInfo, load_info: bool) {
    m.str("name", &c_str(&info.name));
    if load_info {
        m.key("signature_ok");
        m.out
            .push_str(if info.sig_ok != 0 { "true" } else { "false" });
    }
    let tainted: Vec<&str> = TAINTS
        .iter()
        .filter(|(_, bit)| info.taints & bit != 0)
        .map(|(name, _)| *name)
        .collect();
    if !tainted.is_empty() {
        m.key("tainted");
        m.out.push('[');
        for (i, name) in tainted.iter().enumerate() {
            if i > 0 {
                m.out.push(',');
            }
            push_json_str(m.out, name);
        }
        m.out.push(']');
    }
}

/// Bytes up to the first NUL, as text.
fn c_str(b: &[u8]) -> String {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// The name of `v` in `table`, else its number (Tetragon's GetPerfEventType, GetBpfMapType).
fn name_or_number(table: &[&str], v: u32) -> String {
    match table.get(v as usize) {
        Some(n) => n.to_string(),
        None => v.to_string(),
    }
}

/// perf event types, as pkg/reader/bpf/perfevent.go names them.
const PERF_TYPES: &[&str] = &[
    "PERF_TYPE_HARDWARE",
    "PERF_TYPE_SOFTWARE",
    "PERF_TYPE_TRACEPOINT",
    "PERF_TYPE_HW_CACHE",
    "PERF_TYPE_RAW",
    "PERF_TYPE_BREAKPOINT",
    "PERF_TYPE_MAX",
];

/// BPF map types, as pkg/reader/bpf/bpfmap.go names them (0 to 30).
const BPF_MAP_TYPES: &[&str] = &[
    "BPF_MAP_TYPE_UNSPEC",
    "BPF_MAP_TYPE_HASH",
    "BPF_MAP_TYPE_ARRAY",
    "BPF_MAP_TYPE_PROG_ARRAY",
    "BPF_MAP_TYPE_PERF_EVENT_ARRAY",
    "BPF_MAP_TYPE_PERCPU_HASH",
    "BPF_MAP_TYPE_PERCPU_ARRAY",
    "BPF_MAP_TYPE_STACK_TRACE",
    "BPF_MAP_TYPE_CGROUP_ARRAY",
    "BPF_MAP_TYPE_LRU_HASH",
    "BPF_MAP_TYPE_LRU_PERCPU_HASH",
    "BPF_MAP_TYPE_LPM_TRIE",
    "BPF_MAP_TYPE_ARRAY_OF_MAPS",
    "BPF_MAP_TYPE_HASH_OF_MAPS",
    "BPF_MAP_TYPE_DEVMAP",
    "BPF_MAP_TYPE_SOCKMAP",
    "BPF_MAP_TYPE_CPUMAP",
    "BPF_MAP_TYPE_XSKMAP",
    "BPF_MAP_TYPE_SOCKHASH",
    "BPF_MAP_TYPE_CGROUP_STORAGE",
    "BPF_MAP_TYPE_REUSEPORT_SOCKARRAY",
    "BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE",
    "BPF_MAP_TYPE_QUEUE",
    "BPF_MAP_TYPE_STACK",
    "BPF_MAP_TYPE_SK_STORAGE",
    "BPF_MAP_TYPE_DEVMAP_HASH",
    "BPF_MAP_TYPE_STRUCT_OPS",
    "BPF_MAP_TYPE_RINGBUF",
    "BPF_MAP_TYPE_INODE_STORAGE",
    "BPF_MAP_TYPE_TASK_STORAGE",
    "BPF_MAP_TYPE_BLOOM_FILTER",
];

/// `tetragon.BpfCmd` (bpf.proto), numbered as the bpf() commands.
const BPF_CMDS: &[&str] = &[
    "BPF_MAP_CREATE",
    "BPF_MAP_LOOKUP_ELEM",
    "BPF_MAP_UPDATE_ELEM",
    "BPF_MAP_DELETE_ELEM",
    "BPF_MAP_GET_NEXT_KEY",
    "BPF_PROG_LOAD",
    "BPF_OBJ_PIN",
    "BPF_OBJ_GET",
    "BPF_PROG_ATTACH",
    "BPF_PROG_DETACH",
    "BPF_PROG_TEST_RUN",
    "BPF_PROG_GET_NEXT_ID",
    "BPF_MAP_GET_NEXT_ID",
    "BPF_PROG_GET_FD_BY_ID",
    "BPF_MAP_GET_FD_BY_ID",
    "BPF_OBJ_GET_INFO_BY_FD",
    "BPF_PROG_QUERY",
    "BPF_RAW_TRACEPOINT_OPEN",
    "BPF_BTF_LOAD",
    "BPF_BTF_GET_FD_BY_ID",
    "BPF_TASK_FD_QUERY",
    "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
    "BPF_MAP_FREEZE",
    "BPF_BTF_GET_NEXT_ID",
    "BPF_MAP_LOOKUP_BATCH",
    "BPF_MAP_LOOKUP_AND_DELETE_BATCH",
    "BPF_MAP_UPDATE_BATCH",
    "BPF_MAP_DELETE_BATCH",
    "BPF_LINK_CREATE",
    "BPF_LINK_UPDATE",
    "BPF_LINK_GET_FD_BY_ID",
    "BPF_LINK_GET_NEXT_ID",
    "BPF_ENABLE_STATS",
    "BPF_ITER_CREATE",
    "BPF_LINK_DETACH",
    "BPF_PROG_BIND_MAP",
    "BPF_TOKEN_CREATE",
];

/// `tetragon.TaintedBitsType` values a module's taints are reported by (GetTaintedBitsTypes).
const TAINTS: &[(&str, u64)] = &[
    ("TAINT_PROPRIETARY_MODULE", 1),
    ("TAINT_FORCED_MODULE", 2),
    ("TAINT_FORCED_UNLOAD_MODULE", 4),
    ("TAINT_STAGED_MODULE", 1024),
    ("TAINT_OUT_OF_TREE_MODULE", 4096),
    ("TAINT_UNSIGNED_MODULE", 8192),
    ("TAINT_KERNEL_LIVE_PATCH_MODULE", 32768),
    ("TAINT_TEST_MODULE", 262144),
];

/// A `tetragon.Capabilities`: the permitted, effective and inheritable sets.
fn capabilities_json(o: &mut Obj<'_>, c: &CredInfo) {
    caps_json(o, "permitted", c.permitted);
    caps_json(o, "effective", c.effective);
    caps_json(o, "inheritable", c.inheritable);
}

/// The ids and securebits of a `tetragon.ProcessCredentials` (wrappers: written even when 0).
fn cred_ids_json(o: &mut Obj<'_>, c: &CredInfo) {
    o.num("uid", c.uid);
    o.num("gid", c.gid);
    o.num("euid", c.euid);
    o.num("egid", c.egid);
    o.num("suid", c.suid);
    o.num("sgid", c.sgid);
    o.num("fsuid", c.fsuid);
    o.num("fsgid", c.fsgid);
    if c.securebits != 0 {
        o.key("securebits");
        o.out.push('[');
        let mut first = true;
        for (name, bit) in SECURE_BITS {
            if c.securebits & bit != 0 {
                if !first {
                    o.out.push(',');
                }
                first = false;
                push_json_str(o.out, name);
            }
        }
        o.out.push(']');
    }
}

/// An inode mode as `ls -l` writes it, as Tetragon's FilePathModeToStr (pkg/reader/path/path.go)
/// does: the file type letter (none for an unknown type), then rwx for owner, group and others,
/// with setuid, setgid and sticky as `s`, `s`, `t` (upper case without the execute bit).
fn permission(mode: u16) -> String {
    let mut s = String::with_capacity(10);
    match mode & 0o170000 {
        0o060000 => s.push('b'),
        0o020000 => s.push('c'),
        0o040000 => s.push('d'),
        0o010000 => s.push('p'),
        0o120000 => s.push('l'),
        0o100000 => s.push('-'),
        0o140000 => s.push('s'),
        _ => {}
    }
    for (shift, special, mark) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        let x = bits & 1 != 0;
        s.push(match (mode & special != 0, x) {
            (true, true) => mark,
            (true, false) => mark.to_ascii_uppercase(),
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// Tetragon's `KprobeAction` names; protojson prints unknown numbers as numbers.
/// One `StackTraceEntry` (tetragon.proto): address (1), offset (2), symbol (3), module (4),
/// each left out when zero or empty, the uint64s as strings (proto3 JSON).
fn stack_entry_json(o: &mut Obj<'_>, e: &crate::stacks::StackEntry) {
    if e.address != 0 {
        o.str("address", &e.address.to_string());
    }
    if e.offset != 0 {
        o.str("offset", &e.offset.to_string());
    }
    o.str("symbol", &e.symbol);
    o.str("module", &e.module);
}

fn action_json(o: &mut Obj<'_>, n: u32) {
    action_key_json(o, "action", n);
}

/// A `KprobeAction` under `key` (`action`, `return_action`).
fn action_key_json(o: &mut Obj<'_>, key: &str, n: u32) {
    let name = match n {
        action::UNKNOWN => return,
        action::POST => "KPROBE_ACTION_POST",
        action::SIGKILL => "KPROBE_ACTION_SIGKILL",
        action::OVERRIDE => "KPROBE_ACTION_OVERRIDE",
        action::NOPOST => "KPROBE_ACTION_NOPOST",
        action::SIGNAL => "KPROBE_ACTION_SIGNAL",
        action::GETURL => "KPROBE_ACTION_GETURL",
        action::DNSLOOKUP => "KPROBE_ACTION_DNSLOOKUP",
        action::TRACKSOCK => "KPROBE_ACTION_TRACKSOCK",
        action::UNTRACKSOCK => "KPROBE_ACTION_UNTRACKSOCK",
        action::SET => "KPROBE_ACTION_SET",
        action::NOTIFYENFORCER => "KPROBE_ACTION_NOTIFYENFORCER",
        other => return o.num(key, other),
    };
    o.str(key, name);
}

impl Common {
    fn head(&self, o: &mut Obj<'_>) {
        o.obj("process", |m| proc_json(m, &self.process));
        if let Some(p) = &self.parent {
            o.obj("parent", |m| proc_json(m, p));
        }
    }

    fn args(&self, o: &mut Obj<'_>) {
        if !self.args.is_empty() {
            o.array("args", &self.args, arg_json);
        }
    }

    fn action(&self, o: &mut Obj<'_>) {
        action_json(o, self.action);
    }

    fn data(&self, o: &mut Obj<'_>) {
        if !self.data.is_empty() {
            o.array("data", &self.data, arg_json);
        }
    }

    fn tags(&self, o: &mut Obj<'_>) {
        if !self.tags.is_empty() {
            o.key("tags");
            o.out.push('[');
            for (i, t) in self.tags.iter().enumerate() {
                if i > 0 {
                    o.out.push(',');
                }
                push_json_str(o.out, t);
            }
            o.out.push(']');
        }
    }
}

impl Response {
    fn to_json(&self) -> String {
        let mut out = String::with_capacity(1024);
        self.write_json(&mut out);
        out
    }

    /// [`Response::to_json`] appended to `out`.
    fn write_json(&self, out: &mut String) {
        let mut top = Obj::new(out);
        let key = match &self.body {
            Body::Exec { .. } => "process_exec",
            Body::Exit { .. } => "process_exit",
            Body::Kprobe { .. } => "process_kprobe",
            Body::Tracepoint { .. } => "process_tracepoint",
            Body::Uprobe { .. } => "process_uprobe",
            Body::Lsm { .. } => "process_lsm",
            Body::Usdt { .. } => "process_usdt",
        };
        // `ancestors` in each message's field order (tetragon.proto)
        let ancestors = |m: &mut Obj<'_>| {
            if !self.ancestors.is_empty() {
                m.array("ancestors", &self.ancestors, proc_json);
            }
        };
        top.obj(key, |m| match &self.body {
            Body::Exec { process, parent } => {
                m.obj("process", |o| proc_json(o, process));
                if let Some(p) = parent {
                    m.obj("parent", |o| proc_json(o, p));
                }
                ancestors(m);
            }
            Body::Exit {
                process,
                parent,
                signal,
                status,
                time,
            } => {
                m.obj("process", |o| proc_json(o, process));
                if let Some(p) = parent {
                    m.obj("parent", |o| proc_json(o, p));
                }
                m.str("signal", signal);
                m.nonzero("status", *status);
                m.str("time", &rfc3339(time.0, time.1));
                ancestors(m);
            }
            Body::Kprobe {
                common: c,
                function_name,
                ret,
                stacks,
            } => {
                c.head(m);
                m.str("function_name", function_name);
                c.args(m);
                // protojson order: return (5), action (6), kernel_stack_trace (7),
                // policy_name (8), return_action (9), message (10), tags (11),
                // user_stack_trace (12), ancestors (13)
                if let Some((value, _)) = ret {
                    m.obj("return", |o| arg_json(o, value));
                }
                c.action(m);
                if let Some(st) = stacks.as_deref().filter(|s| !s.kernel.is_empty()) {
                    m.array("kernel_stack_trace", &st.kernel, stack_entry_json);
                }
                m.str("policy_name", &c.policy_name);
                if let Some((_, action)) = ret {
                    action_key_json(m, "return_action", *action);
                }
                m.str("message", &c.message);
                c.tags(m);
                if let Some(st) = stacks.as_deref().filter(|s| !s.user.is_empty()) {
                    m.array("user_stack_trace", &st.user, stack_entry_json);
                }
                ancestors(m);
                c.data(m);
            }
            Body::Tracepoint {
                common: c,
                subsys,
                event,
            } => {
                c.head(m);
                m.str("subsys", subsys);
                m.str("event", event);
                c.args(m);
                m.str("policy_name", &c.policy_name);
                c.action(m);
                m.str("message", &c.message);
                c.tags(m);
                ancestors(m);
            }
            Body::Uprobe {
                common: c,
                path,
                symbol,
                offset,
                ref_ctr_offset,
            } => {
                c.head(m);
                m.str("path", path);
                m.str("symbol", symbol);
                m.str("policy_name", &c.policy_name);
                m.str("message", &c.message);
                c.args(m);
                c.tags(m);
                ancestors(m);
                if *offset != 0 {
                    // a uint64: a string in proto3 JSON
                    m.str("offset", &offset.to_string());
                }
                if *ref_ctr_offset != 0 {
                    m.str("ref_ctr_offset", &ref_ctr_offset.to_string());
                }
                c.action(m);
                c.data(m);
            }
            Body::Lsm {
                common: c,
                function_name,
            } => {
                c.head(m);
                m.str("function_name", function_name);
                m.str("policy_name", &c.policy_name);
                m.str("message", &c.message);
                c.args(m);
                c.action(m);
                c.tags(m);
                ancestors(m);
            }
            Body::Usdt {
                common: c,
                path,
                provider,
                name,
            } => {
                // tetragon.ProcessUsdt's field order
                c.head(m);
                m.str("path", path);
                m.str("provider", provider);
                m.str("name", name);
                m.str("policy_name", &c.policy_name);
                m.str("message", &c.message);
                c.args(m);
                c.tags(m);
                ancestors(m);
                c.action(m);
            }
        });
        top.str("node_name", &self.node_name);
        top.key("time");
        top.out.push('"');
        push_rfc3339(top.out, self.time.0, self.time.1);
        top.out.push('"');
        top.end();
    }

    // ------------------------------------------------------------ compact

    fn to_compact(&self) -> String {
        // Tetragon's Colorer.ProcessInfo (pkg/encoder/color.go): node and binary quoted
        let info = |p: &Proc| {
            format!(
                "{} {}",
                maybe_quote(&self.node_name),
                maybe_quote(&p.binary)
            )
        };
        match &self.body {
            Body::Exec { process, .. } => {
                format!(
                    "🚀 {:<7} {} {}",
                    "process",
                    info(process),
                    maybe_quote(&process.arguments)
                )
            }
            Body::Exit {
                process,
                signal,
                status,
                ..
            } => {
                let status = if signal.is_empty() {
                    status.to_string()
                } else {
                    signal.clone()
                };
                format!(
                    "💥 {:<7} {} {} {}",
                    "exit",
                    info(process),
                    maybe_quote(&process.arguments),
                    status
                )
            }
            Body::Kprobe {
                common: c,
                function_name,
                stacks,
                ..
            } => {
                let mut line = compact_kprobe(&info(&c.process), function_name, &c.args);
                if let Some(st) = stacks {
                    human_stack_trace(&mut line, st);
                }
                line
            }
            Body::Tracepoint {
                common: c,
                subsys,
                event,
            } => {
                if subsys == "raw_syscalls" && event == "sys_enter" {
                    let name = raw_syscall_name(&c.args);
                    format!("☎  {:<7} {} {}", "syscall", info(&c.process), name)
                } else {
                    format!(
                        "⁉️ {:<7} {} {} {}",
                        "tracepoint",
                        info(&c.process),
                        subsys,
                        event
                    )
                }
            }
            Body::Uprobe {
                common: c,
                path,
                symbol,
                ..
            } => {
                format!(
                    "🕵️ {:<7} {} {} {}",
                    "uprobe",
                    info(&c.process),
                    maybe_quote(path),
                    maybe_quote(symbol)
                )
            }
            Body::Lsm {
                common: c,
                function_name,
            } => {
                format!("🔒 {:<7} {} {}", "LSM", info(&c.process), function_name)
            }
            // Tetragon's compact encoder (pkg/encoder/encoder.go, ProcessUsdt)
            Body::Usdt {
                common: c,
                path,
                provider,
                name,
            } => format!(
                "🕵️ {:<7} {} {} {} {}",
                "usdt",
                info(&c.process),
                maybe_quote(path),
                maybe_quote(provider),
                maybe_quote(name)
            ),
        }
    }
}

/// Tetragon's `maybeQuote` (`pkg/encoder/encoder.go`): a string holding a space or a rune
/// Go's `strconv.IsPrint` rejects is written as Go's `strconv.Quote` writes it, so text from
/// the kernel (binaries, arguments, paths, symbols, the node name) can never put escape
/// sequences on the operator's terminal; any other string is written as it is.
pub fn maybe_quote(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().all(|c| c != ' ' && go_is_print(c)) {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(go_quote(s))
    }
}

/// Go's `unicode.IsPrint` / `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols
/// and the ASCII space; every other category (controls, format characters such as the bidi
/// overrides, separators, private use, unassigned) is not printable.
fn go_is_print(c: char) -> bool {
    use unicode_general_category::{get_general_category, GeneralCategory as G};
    if c == ' ' {
        return true;
    }
    matches!(
        get_general_category(c),
        G::UppercaseLetter
            | G::LowercaseLetter
            | G::TitlecaseLetter
            | G::ModifierLetter
            | G::OtherLetter
            | G::NonspacingMark
            | G::SpacingMark
            | G::EnclosingMark
            | G::DecimalNumber
            | G::LetterNumber
            | G::OtherNumber
            | G::ConnectorPunctuation
            | G::DashPunctuation
            | G::OpenPunctuation
            | G::ClosePunctuation
            | G::InitialPunctuation
            | G::FinalPunctuation
            | G::OtherPunctuation
            | G::MathSymbol
            | G::CurrencySymbol
            | G::ModifierSymbol
            | G::OtherSymbol
    )
}

/// Go's `strconv.Quote` (`appendEscapedRune`): `"` and `\` escaped, printable runes as they
/// are, `\a \b \f \n \r \t \v`, other runes below a space and DEL as `\xNN`, other
/// non-printable runes as `\uNNNN` or `\UNNNNNNNN` (lower-case hexadecimal).
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if go_is_print(c) => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// `function_name` without an architecture's syscall prefix (`__x64_sys_write` → `sys_write`).
fn cut_syscall_prefix(name: &str) -> &str {
    SYSCALL_ARCH_PREFIXES
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
}

/// The path of file argument `i`, quoted as Tetragon's compact lines quote it.
fn file_at(args: &[KArg], i: usize) -> String {
    match args.get(i).map(|a| &a.value) {
        Some(ArgValue::File(p)) => maybe_quote(p).into_owned(),
        _ => String::new(),
    }
}

/// String argument `i`, quoted as Tetragon's compact lines quote it.
fn string_at(args: &[KArg], i: usize) -> String {
    match args.get(i).map(|a| &a.value) {
        Some(ArgValue::String(s)) => maybe_quote(s).into_owned(),
        _ => String::new(),
    }
}

fn int_at(args: &[KArg], i: usize) -> i32 {
    match args.get(i).map(|a| &a.value) {
        Some(ArgValue::Int(v)) => *v,
        _ => 0,
    }
}

fn sock_at(args: &[KArg], i: usize) -> String {
    let s = match args.get(i).map(|a| &a.value) {
        Some(ArgValue::Sock(s)) => *s,
        Some(_) => SockTuple::default(),
        None => return String::new(),
    };
    format!(
        "tcp {}:{} -> {}:{}",
        addr(s.family, &s.saddr),
        s.sport,
        addr(s.family, &s.daddr),
        s.dport
    )
}

fn ns_name(n: i32) -> &'static str {
    match n {
        0 => "any",
        0x2000000 => "cgroup",
        0x8000000 => "ipc",
        0x40000000 => "net",
        0x20000 => "mnt",
        0x20000000 => "pid",
        0x80 => "time",
        0x10000000 => "user",
        0x4000000 => "uts",
        _ => "",
    }
}

/// Tetragon's compact kprobe line: known calls get their own emoji and details.
/// The stacks under a compact kprobe line, as Tetragon's compact encoder prints them
/// (`HumanStackTrace` in pkg/encoder/encoder.go, on by default in `tetra getevents`): a
/// `Kernel:` line then `   0x<address>: <symbol>+0x<offset>` per frame, a `User:` line then
/// `   0x<address>: <symbol> (<module>+0x<offset>)` (no symbol when none); the address is 0
/// unless `--expose-stack-addresses`.
fn human_stack_trace(out: &mut String, st: &crate::event::Stacks) {
    if !st.kernel.is_empty() {
        out.push_str("\nKernel:");
        for f in &st.kernel {
            let _ = write!(
                out,
                "\n   {:#x}: {}+{:#x}",
                f.address,
                maybe_quote(&f.symbol),
                f.offset
            );
        }
    }
    if !st.user.is_empty() {
        out.push_str("\nUser:");
        for f in &st.user {
            let _ = write!(out, "\n   {:#x}:", f.address);
            if !f.symbol.is_empty() {
                let _ = write!(out, " {}", maybe_quote(&f.symbol));
            }
            let _ = write!(out, " ({}+{:#x})", maybe_quote(&f.module), f.offset);
        }
    }
}

fn compact_kprobe(info: &str, function_name: &str, args: &[KArg]) -> String {
    let ev = |emoji: &str, name: &str| format!("{emoji} {name:<7}");
    match cut_syscall_prefix(function_name) {
        "sys_write" | "sys_read" => {
            let e = if function_name.ends_with("write") {
                ev("📝", "write")
            } else {
                ev("📚", "read")
            };
            let bytes = match args.get(2).map(|a| &a.value) {
                Some(ArgValue::Size(n)) => format!("{n} bytes"),
                Some(_) => "0 bytes".to_string(),
                None => String::new(),
            };
            format!("{e} {info} {} {bytes}", file_at(args, 0))
        }
        "fd_install" => format!("{} {info} {}", ev("📬", "open"), file_at(args, 1)),
        "sys_openat" => format!(
            "{} {info} {}",
            ev("📬\u{fe0f}", "openat"),
            string_at(args, 1)
        ),
        "sys_open" => format!("{} {info} {}", ev("📬\u{fe0f}", "open"), string_at(args, 1)),
        "sys_close" => format!("{} {info} {}", ev("📪", "close"), file_at(args, 0)),
        "sys_mount" => format!(
            "{} {info} {} {}",
            ev("💾", "mount"),
            string_at(args, 0),
            string_at(args, 1)
        ),
        "sys_setuid" => {
            let uid = if args.is_empty() {
                String::new()
            } else {
                int_at(args, 0).to_string()
            };
            format!("{} {info} {uid}", ev("🔑", "setuid"))
        }
        "sys_clock_settime" => format!("{} {info}", ev("⏰", "clock_settime")),
        "sys_pivot_root" => format!(
            "{} {info} {} {}",
            ev("💾", "pivot_root"),
            string_at(args, 0),
            string_at(args, 1)
        ),
        "proc_exec_connector" => format!("{} {info}", ev("🔧", "proc_exec_connector")),
        "sys_setns" => {
            let ns = if args.len() > 1 {
                ns_name(int_at(args, 1))
            } else {
                ""
            };
            format!("{} {info} {ns}", ev("🔧", "setns"))
        }
        "tcp_connect" => format!("{} {info} {}", ev("🔌", "connect"), sock_at(args, 0)),
        "tcp_close" => format!("{} {info} {}", ev("🧹", "close"), sock_at(args, 0)),
        "tcp_sendmsg" => format!(
            "{} {info} {} bytes {}",
            ev("📤", "sendmsg"),
            sock_at(args, 0),
            int_at(args, 1)
        ),
        "security_file_permission" => {
            if args.len() > 1 {
                let e = match int_at(args, 1) {
                    0x02 => ev("📝", "write"),
                    0x04 => ev("📚", "read"),
                    _ => ev("❓", "security_file_permission"),
                };
                format!("{e} {info} {}", file_at(args, 0))
            } else {
                format!("{} {info} ", ev("❓", "security_file_permission"))
            }
        }
        "security_mmap_file" => {
            if args.len() > 1 {
                let prot = match args[1].value {
                    ArgValue::Uint(v) => v,
                    _ => 0,
                };
                let mut tag = "mmap-".to_string();
                for (bit, c) in [(1, 'r'), (2, 'w'), (4, 'x')] {
                    if prot & bit != 0 {
                        tag.push(c);
                    }
                }
                format!("{} {info} {}", ev("📝", &tag), file_at(args, 0))
            } else {
                format!("{} {info} ", ev("❓", "security_mmap_file"))
            }
        }
        "security_path_truncate" => match args.first().map(|a| &a.value) {
            Some(v) => {
                let p = if let ArgValue::Path(p) = v {
                    maybe_quote(p)
                } else {
                    "".into()
                };
                format!("{} {info} {p}", ev("📝", "truncate"))
            }
            None => format!("{} {info} ", ev("❓", "security_path_truncate")),
        },
        "security_file_truncate" => match args.first() {
            Some(_) => format!("{} {info} {}", ev("📝", "truncate"), file_at(args, 0)),
            None => format!("{} {info} ", ev("❓", "security_file_truncate")),
        },
        // Tetragon prints the program from a bpf_attr argument (printed as its encoder does);
        // the perf event or map from a perf_event or bpf_map argument, types `policyctl run`
        // does not read (it refuses them), so that detail is left empty as Tetragon leaves it
        // for a hook declared without arguments.
        "bpf_check" => match args.first().map(|a| &a.value) {
            Some(ArgValue::BpfAttr(b)) => format!(
                "{} {info} {} {} instruction count {}",
                ev("🐝", "bpf_load"),
                prog_type_name(b.prog_type),
                prog_name(b),
                b.insn_cnt
            ),
            _ => format!("{} {info} ", ev("🐝", "bpf_load")),
        },
        "security_perf_event_alloc" => format!("{} {info} ", ev("🐝", "perf_event_alloc")),
        "security_bpf_map_alloc" | "security_bpf_map_create" => {
            format!("{} {info} ", ev("🗺", "bpf_map_create"))
        }
        _ => format!("{} {info} {function_name}", ev("❓", "syscall")),
    }
}

/// The syscall named by a `raw_syscalls/sys_enter` event's first argument,
/// as Tetragon's compact output prints it (`unknown` when not known).
fn raw_syscall_name(args: &[KArg]) -> String {
    let id = match args.first().map(|a| &a.value) {
        Some(ArgValue::Long(v)) => *v,
        Some(ArgValue::SyscallId(v)) => i64::from(*v),
        _ => -1,
    };
    let Some(name) = syscall_name(id) else {
        return "unknown".to_string();
    };
    match policyctl_validator::kernel::syscalls::lookup(name) {
        Some(sys) => syscall_prototype(name, &sys.args, args),
        None => name.to_string(),
    }
}

/// `name(type arg=value, ...)` as Tetragon's `rawSyscallEnter` (pkg/encoder/raw_syscall_enter.go)
/// writes it: argument j of the syscall takes event argument j + 1 when that is a `size_arg`
/// (a pointer type in hexadecimal, written `type*name=0x..`, anything else in decimal), else
/// `?`. The types are the kernel's, from the validator's syscall table (tracefs formats);
/// Tetragon's pkg/syscallinfo spells a few of them differently (`struct timespec *` for
/// `struct __kernel_timespec *`, `unsigned long` for `off_t`).
fn syscall_prototype(
    name: &str,
    sys_args: &[policyctl_validator::kernel::syscalls::SyscallArg],
    args: &[KArg],
) -> String {
    let mut out = format!("{name}(");
    for (j, a) in sys_args.iter().enumerate() {
        if j > 0 {
            out.push_str(", ");
        }
        match args.get(j + 1).map(|k| &k.value) {
            Some(ArgValue::Size(v)) if a.ctype.ends_with('*') => {
                let _ = write!(out, "{}{}=0x{v:x}", a.ctype, a.name);
            }
            Some(ArgValue::Size(v)) => {
                let _ = write!(out, "{} {}={v}", a.ctype, a.name);
            }
            _ => {
                let _ = write!(out, "{} {}=?", a.ctype, a.name);
            }
        }
    }
    out.push(')');
    out
}

/// The name of x86_64 syscall `nr` (`openat`), from the validator's syscall table.
pub fn syscall_name(nr: i64) -> Option<&'static str> {
    u32::try_from(nr)
        .ok()
        .and_then(policyctl_validator::kernel::syscalls::name_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_as_serde_json_does() {
        let mut samples: Vec<String> = [
            "",
            "plain /tmp/x",
            "quote \" and backslash \\",
            "tab\tnewline\ncr\r",
            "bell\u{7} nul\u{0} esc\u{1b} del\u{7f}",
            "unicode é 😀 \u{2028}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        samples.push((0u8..=0x7f).map(char::from).collect());
        for s in samples {
            let mut ours = String::new();
            push_json_str(&mut ours, &s);
            assert_eq!(ours, serde_json::to_string(&s).unwrap(), "{s:?}");
        }
    }

    /// Go's `strconv.Quote` output for each input, as `maybeQuote` (pkg/encoder/encoder.go)
    /// returns it; strings with only printable runes and no space come back as they are.
    #[test]
    fn maybe_quote_as_tetragon_compact_encoder() {
        for (input, want) in [
            ("/usr/bin/true", "/usr/bin/true"),
            ("", ""),
            ("é😀/tmp/ü", "é😀/tmp/ü"),
            ("-la /tmp", r#""-la /tmp""#),
            (
                "x\u{1b}]0;title\u{7}\u{1b}[2J",
                r#""x\x1b]0;title\a\x1b[2J""#,
            ),
            ("a\"b\\c d", r#""a\"b\\c d""#),
            (
                "\u{8}\u{c}\n\r\t\u{b}\u{0}\u{7f}",
                r#""\b\f\n\r\t\v\x00\x7f""#,
            ),
            // C1 CSI, no-break space, bidi override, private use, unassigned plane 16
            ("\u{9b}31m", r#""\u009b31m""#),
            ("a\u{a0}b", r#""a\u00a0b""#),
            ("\u{202e}txt", r#""\u202etxt""#),
            ("\u{e000}", r#""\ue000""#),
            ("\u{10ffff}", r#""\U0010ffff""#),
        ] {
            assert_eq!(maybe_quote(input), want, "{input:?}");
        }
    }

    /// pkg/encoder/raw_syscall_enter.go `rawSyscallEnter`: pointers in hexadecimal glued to
    /// their name, integers in decimal, arguments not read as `?` (with a space).
    #[test]
    fn raw_syscall_prototype_as_tetragon() {
        let karg = |value| KArg {
            value,
            label: String::new(),
            mode: 0,
        };
        let args = [
            karg(ArgValue::Long(257)),
            karg(ArgValue::Size(0xffff_ff9c)),
            karg(ArgValue::Size(0x7ffd_1234)),
        ];
        assert_eq!(
            raw_syscall_name(&args),
            "openat(int dfd=4294967196, const char *filename=0x7ffd1234, int flags=?, umode_t mode=?)"
        );
        assert_eq!(raw_syscall_name(&[karg(ArgValue::Long(-1))]), "unknown");
    }

    /// The special cases of pkg/encoder/encoder.go's compact kprobe lines (`EventToString`).
    #[test]
    fn compact_kprobe_special_cases() {
        let file = |p: &str| KArg {
            value: ArgValue::File(p.into()),
            label: String::new(),
            mode: 0,
        };
        let info = "node /bin/x";
        for (function, args, want) in [
            (
                "security_file_truncate",
                vec![file("/tmp/a b")],
                "📝 truncate node /bin/x \"/tmp/a b\"",
            ),
            (
                "security_file_truncate",
                vec![],
                "❓ security_file_truncate node /bin/x ",
            ),
            ("bpf_check", vec![], "🐝 bpf_load node /bin/x "),
            (
                "security_perf_event_alloc",
                vec![],
                "🐝 perf_event_alloc node /bin/x ",
            ),
            (
                "security_bpf_map_create",
                vec![],
                "🗺 bpf_map_create node /bin/x ",
            ),
            (
                "security_bpf_map_alloc",
                vec![],
                "🗺 bpf_map_create node /bin/x ",
            ),
            ("vfs_unlink", vec![], "❓ syscall node /bin/x vfs_unlink"),
        ] {
            assert_eq!(compact_kprobe(info, function, &args), want, "{function}");
        }
    }

    /// FilePathModeToStr (pkg/reader/path/path.go) for common modes.
    #[test]
    fn permission_as_tetragon() {
        for (mode, want) in [
            (0o100644, "-rw-r--r--"),
            (0o100755, "-rwxr-xr-x"),
            (0o104755, "-rwsr-xr-x"),
            (0o102644, "-rw-r-Sr--"),
            (0o041777, "drwxrwxrwt"),
            (0o040755, "drwxr-xr-x"),
            (0o120777, "lrwxrwxrwx"),
            (0o020620, "crw--w----"),
            (0, "---------"),
        ] {
            assert_eq!(permission(mode), want, "{mode:o}");
        }
    }

    #[test]
    fn timestamps_like_protojson() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(1_696_629_837, 700_327_580),
            "2023-10-06T22:03:57.700327580Z"
        );
        assert_eq!(
            rfc3339(1_696_629_837, 700_000_000),
            "2023-10-06T22:03:57.700Z"
        );
        assert_eq!(
            rfc3339(1_696_629_837, 700_327_000),
            "2023-10-06T22:03:57.700327Z"
        );
        assert_eq!(rfc3339(951_782_400, 1), "2000-02-29T00:00:00.000000001Z");
        assert_eq!(rfc3339(4_102_444_799, 0), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn prefixes_and_names() {
        assert_eq!(cut_syscall_prefix("__x64_sys_openat"), "sys_openat");
        assert_eq!(cut_syscall_prefix("__arm64_sys_write"), "sys_write");
        assert_eq!(cut_syscall_prefix("tcp_connect"), "tcp_connect");
        assert_eq!(signal_name(9), "SIGKILL");
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(signal_name(40), "SIG40");
        assert_eq!(syscall_name(257), Some("openat"));
        assert_eq!(syscall_name(-1), None);
        assert_eq!(name_of(FAMILIES, 1), "AF_UNIX");
    }

    #[test]
    fn ipv6_addresses() {
        let mut b = [0u8; 16];
        b[10] = 0xff;
        b[11] = 0xff;
        b[12..].copy_from_slice(&[10, 42, 0, 11]);
        assert_eq!(addr(10, &b), "::ffff:10.42.0.11");
        assert_eq!(
            addr(2, &[127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            "127.0.0.1"
        );
        assert_eq!(addr(99, &b), "");
    }
}
