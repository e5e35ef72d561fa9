//! The userspace process cache: what events say about their process and its
//! parent, keyed by pid.
//!
//! It is seeded from `/proc` at start ([`ProcessCache::seed_from_proc`], flag
//! `procFS`), grows with exec events (flag `execve`) and shrinks with exit
//! events. Exec ids follow Tetragon: base64 of `node_name:ktime:pid`, where
//! ktime is the process start time in ns since boot.

use std::collections::HashMap;

use crate::event::{split_argv, Exec, Fork};

/// Which events carry `ancestors`, as Tetragon's `--enable-ancestors` says (pkg/option/flags.go):
/// `base` (process_exec and process_exit) turns them on, and is needed for any other kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ancestors {
    /// process_exec and process_exit (`base`); also the references ancestors hold.
    pub base: bool,
    /// process_kprobe (`kprobe`).
    pub kprobe: bool,
    /// process_tracepoint (`tracepoint`).
    pub tracepoint: bool,
    /// process_uprobe (`uprobe`).
    pub uprobe: bool,
    /// process_lsm (`lsm`).
    pub lsm: bool,
    /// process_usdt (`usdt`).
    pub usdt: bool,
}

impl Ancestors {
    /// The kinds Tetragon's flag accepts; `loader` names events policyctl does not send.
    pub const KINDS: [&'static str; 7] = [
        "base",
        "kprobe",
        "tracepoint",
        "loader",
        "uprobe",
        "lsm",
        "usdt",
    ];

    /// Reads a comma-separated list as Tetragon does: without `base` nothing is on; an empty
    /// list turns ancestors off. Unlike Tetragon, which ignores them, an unknown kind is an
    /// error, so that a typo does not silently leave ancestors out.
    pub fn parse(list: &str) -> Result<Ancestors, String> {
        let kinds: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect();
        if let Some(bad) = kinds.iter().find(|k| !Self::KINDS.contains(k)) {
            return Err(format!(
                "`{bad}` is not an event type of --enable-ancestors (one of {})",
                Self::KINDS.join(", ")
            ));
        }
        let has = |k: &str| kinds.contains(&k);
        if !has("base") {
            return Ok(Ancestors::default());
        }
        Ok(Ancestors {
            base: true,
            kprobe: has("kprobe"),
            tracepoint: has("tracepoint"),
            uprobe: has("uprobe"),
            lsm: has("lsm"),
            usdt: has("usdt"),
        })
    }
}

/// Tetragon's `OLDEST_ANCESTOR_PID` (pkg/constants/constants_linux.go): the walk of ancestors
/// stops at the first process with a pid at or below it, and a process at or below it has none
/// (`NeededAncestors`).
pub const OLDEST_ANCESTOR_PID: u32 = 2;

/// The longest walk of ancestors: a bound against pid reuse making a loop.
const MAX_ANCESTORS: usize = 512;

/// Tetragon's `auid` when the login uid is unknown (`(uid_t)-1`).
pub const AUID_UNKNOWN: u32 = u32::MAX;

/// What the cache knows about one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Thread group id.
    pub pid: u32,
    /// Parent's thread group id.
    pub ppid: u32,
    /// Effective uid: at exec (read in the kernel), or the second `Uid:` field of
    /// `/proc/<pid>/status`, as Tetragon's `process.uid` (bpf/process/bpf_execve_event.h sets
    /// `p->uid = creds.euid`; pkg/sensors/exec/procevents/proc_reader.go takes `uids[1]`).
    pub uid: u32,
    /// Login uid ([`AUID_UNKNOWN`] when unknown).
    pub auid: u32,
    /// Working directory, when known.
    pub cwd: Option<String>,
    /// Path of the executed binary.
    pub binary: String,
    /// Arguments without `argv[0]`, space-joined.
    pub arguments: String,
    /// Tetragon's flags: `execve` or `procFS`, plus `rootcwd` when cwd is `/`.
    pub flags: String,
    /// Start time in ns since boot.
    pub start_boottime: u64,
    /// Tetragon's exec id.
    pub exec_id: String,
    /// The parent's exec id, when the parent is known.
    pub parent_exec_id: Option<String>,
    /// Tetragon's `in_init_tree`: the process is its pid namespace's init (pid 1 there) or
    /// descends from it (bpf/process/bpf_process_event.h `set_in_init_tree()`: nspid 1, or a
    /// parent in the tree at fork; pkg/sensors/exec/procevents/proc_reader_linux.go
    /// `procToKeyValue` for processes read from /proc).
    pub in_init_tree: bool,
    /// Tetragon's live reference count of this process (pkg/process/process.go `refcnt`): 1 for
    /// the process itself until it exits or an exec replaces it, plus 1 for each child (forked
    /// or executed) that names it as its parent, until that child exits or is replaced
    /// (pkg/grpc/exec/exec.go: `RefInc("parent")` in GetProcessExec and AddCloneEvent,
    /// `RefDec` in GetProcessExit and the cleanup of an exec's previous process,
    /// `MsgProcessCleanupEventUnix`). Hook events print it as `process.refcnt`.
    pub refcnt: u32,
    /// Tetragon's `docker`: the container id in the process's cgroup (`crate::container`), or
    /// empty.
    pub docker: String,
    /// Credentials and capabilities (at exec, or from `/proc/<pid>/status`), for Tetragon's
    /// `--enable-process-cred`; `None` when unknown.
    pub cred: Option<crate::layout::CredInfo>,
    /// Namespaces' inode numbers by `layout::ns_kind` (at exec, or from `/proc/<pid>/ns`), for
    /// `--enable-process-ns`; `None` when unknown.
    pub ns: Option<[u32; crate::layout::NS_KINDS]>,
}

/// The raw `/proc/<pid>` files of one process, for [`parse_proc_entry`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcEntry<'a> {
    /// The pid (the directory name).
    pub pid: u32,
    /// `/proc/<pid>/stat`.
    pub stat: &'a str,
    /// `/proc/<pid>/cmdline` (NUL-separated).
    pub cmdline: &'a [u8],
    /// Target of `/proc/<pid>/exe`, if readable.
    pub exe: Option<&'a str>,
    /// `/proc/<pid>/status`.
    pub status: &'a str,
    /// Target of `/proc/<pid>/cwd`, if readable.
    pub cwd: Option<&'a str>,
    /// `/proc/<pid>/loginuid`, if readable.
    pub loginuid: Option<&'a str>,
    /// `/proc/<pid>/cgroup`, if readable.
    pub cgroup: Option<&'a str>,
    /// The inode numbers of `/proc/<pid>/ns/*`, if read.
    pub ns: Option<[u32; crate::layout::NS_KINDS]>,
}

/// Tetragon's exec id: base64 of `node:ktime:pid`.
pub fn exec_id(node_name: &str, ktime: u64, pid: u32) -> String {
    base64(format!("{node_name}:{ktime}:{pid}").as_bytes())
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Nanoseconds per clock tick (`1e9 / sysconf(_SC_CLK_TCK)`), for `/proc/<pid>/stat`.
pub fn ns_per_clock_tick() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        1_000_000_000 / ticks as u64
    } else {
        10_000_000
    }
}

fn flags(base: &str, cwd: Option<&str>) -> String {
    if cwd == Some("/") {
        format!("{base} rootcwd")
    } else {
        base.to_string()
    }
}

/// The flags of a process the cache made from a fork event (no exec seen since).
const FORKED: &str = "clone";

/// True for a process the cache made from a fork event, with no exec seen since.
pub fn forked_without_exec(p: &ProcessInfo) -> bool {
    p.flags.split(' ').next() == Some(FORKED)
}

/// An exec's flags in the order of Tetragon's `flagsOrdered` (pkg/reader/exec/exec.go):
/// execve, truncArgs, rootcwd, clone, dataArgs.
fn exec_flags(cwd: Option<&str>, cloned: bool, args: &ShownArgs) -> String {
    let mut f = String::from("execve");
    if args.truncated {
        f.push_str(" truncArgs");
    }
    if cwd == Some("/") {
        f.push_str(" rootcwd");
    }
    if cloned {
        f.push_str(" clone");
    }
    if args.data {
        f.push_str(" dataArgs");
    }
    f
}

/// Tetragon's `BUFFER` (bpf/lib/process.h): the bytes of an exec message that hold its
/// `struct msg_process`, the filename and, when they fit, the arguments.
const TETRAGON_BUFFER: usize = 1024;
/// `sizeof(struct msg_process)` before its strings (bpf/lib/process.h).
const MSG_PROCESS_HEADER: usize = 64;
/// A filename of this many bytes or more does not fit Tetragon's `MAXARGLENGTH - 1` read
/// (bpf/process/bpf_execve_event.h `read_path()`): it goes as a data event, leaving in the
/// message a descriptor of [`DATA_EVENT_DESC`] bytes.
const FILENAME_INLINE_MAX: u32 = 254;
/// `sizeof(struct data_event_desc)` (bpf/lib/data_msg.h).
const DATA_EVENT_DESC: usize = 32;

/// What Tetragon shows of an exec's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ShownArgs {
    /// `argv[0]`, then the arguments shown.
    argv: Vec<String>,
    /// Tetragon's `dataArgs`: the arguments did not fit its exec message and came as data
    /// events.
    data: bool,
    /// `truncArgs`: fewer arguments are shown than the process has.
    truncated: bool,
}

/// The arguments as Tetragon reads them (bpf/process/bpf_execve_event.h `read_args()`): past
/// `argv[0]`, the argument area goes in the exec message when it is shorter than both
/// [`TETRAGON_BUFFER`] and the room the message has left after its header and the filename,
/// else through data events, up to `DATA_CHUNKS` reads of `DATA_CHUNK` bytes
/// (bpf/process/data_event.h `data_event_bytes()`, flag `dataArgs`); either way the last byte
/// read is not shown (the inline read stops before it; pkg/sensors/exec/exec_linux.go cuts it
/// from the data). Past that cap Tetragon drops the exec message (pkg/observer/data.go
/// `DataGet` finds the size wrong); policyctl shows what the cap holds and sets `truncArgs`
/// (Tetragon's flag for arguments cut, `EVENT_TRUNC_ARGS` in bpf/lib/process.h), as it does
/// when a part of the arguments could not be read or was lost.
fn shown_args(exec: &Exec) -> ShownArgs {
    let area = &exec.args;
    let total = (exec.args_total as usize).max(area.len());
    let argv0_end = area
        .iter()
        .position(|&b| b == 0)
        .map_or(area.len(), |i| i + 1);
    let argv0 = &area[..argv0_end];
    let argv0 = String::from_utf8_lossy(argv0.strip_suffix(&[0]).unwrap_or(argv0)).into_owned();
    let after = total.saturating_sub(argv0_end);
    let path = if exec.filename_len >= FILENAME_INLINE_MAX {
        DATA_EVENT_DESC
    } else {
        exec.filename_len as usize
    };
    let inline = after < TETRAGON_BUFFER
        && after < TETRAGON_BUFFER.saturating_sub(MSG_PROCESS_HEADER + path);
    let want = if inline {
        after
    } else {
        after.min(crate::layout::DATA_CHUNKS * crate::layout::DATA_CHUNK)
    };
    let have = &area[argv0_end..];
    let got = &have[..want.min(have.len())];
    let complete = got.len() == want;
    let shown = if complete {
        &got[..want.saturating_sub(1)]
    } else {
        got
    };
    let mut argv = vec![argv0];
    if !shown.is_empty() {
        argv.extend(
            shown
                .split(|&b| b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned()),
        );
    }
    ShownArgs {
        argv,
        data: !inline,
        truncated: after > want || !complete,
    }
}

/// `process.arguments`: argv after argv[0], joined as Tetragon's `ArgsDecoder`
/// (pkg/process/args.go) joins them: an argument holding a space is put in double quotes
/// (nothing inside it escaped) after a space, even when it comes first; any other
/// argument after a space unless the text so far is empty.
fn join_arguments(argv: &[String]) -> String {
    let mut out = String::new();
    for a in argv.get(1..).unwrap_or(&[]) {
        if a.contains(' ') {
            out.push_str(" \"");
            out.push_str(a);
            out.push('"');
        } else {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(a);
        }
    }
    out
}

/// Builds a process from its `/proc` files; `None` when `stat` does not parse.
///
/// The binary is `exe`, else `argv[0]`, else the command name (kernel
/// threads). `parent_exec_id` is left unset: the cache links parents.
pub fn parse_proc_entry(
    node_name: &str,
    e: &ProcEntry<'_>,
    ns_per_tick: u64,
) -> Option<ProcessInfo> {
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    let open = e.stat.find('(')?;
    let close = e.stat.rfind(')')?;
    let comm = e.stat.get(open + 1..close)?;
    let fields: Vec<&str> = e.stat.get(close + 1..)?.split_whitespace().collect();
    // fields[0] is field 3 (state); ppid is field 4, starttime field 22.
    let ppid: u32 = fields.get(1)?.parse().ok()?;
    let start_ticks: u64 = fields.get(19)?.parse().ok()?;
    let start_boottime = start_ticks.saturating_mul(ns_per_tick);
    let uid = e
        .status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|u| u.parse().ok())
        .unwrap_or(0);
    // the last NSpid field is the pid in the process's own namespace
    let nspid: Option<u32> = e
        .status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .and_then(|rest| rest.split_whitespace().last())
        .and_then(|n| n.parse().ok());
    let auid = e
        .loginuid
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(AUID_UNKNOWN);
    let argv = split_argv(e.cmdline);
    let binary = match (e.exe, argv.first()) {
        (Some(exe), _) if !exe.is_empty() => exe.to_string(),
        (_, Some(a0)) if !a0.is_empty() => a0.clone(),
        _ => comm.to_string(),
    };
    Some(ProcessInfo {
        pid: e.pid,
        ppid,
        uid,
        auid,
        cwd: e.cwd.map(str::to_string),
        binary,
        arguments: join_arguments(&argv),
        flags: flags("procFS", e.cwd),
        start_boottime,
        exec_id: exec_id(node_name, start_boottime, e.pid),
        parent_exec_id: None,
        // a namespace's init; its descendants are marked by `ProcessCache::seed`
        in_init_tree: nspid == Some(1),
        // itself; its children's references are counted by `ProcessCache::seed`
        refcnt: 1,
        docker: e
            .cgroup
            .map(crate::container::proc_container_id)
            .unwrap_or_default(),
        cred: proc_cred(e.status),
        ns: e.ns,
    })
}

fn read_link(path: &str) -> Option<String> {
    std::fs::read_link(path)
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Reads `/proc/<pid>`; `None` when the process is gone or unreadable.
pub fn read_proc_entry(node_name: &str, pid: u32, ns_per_tick: u64) -> Option<ProcessInfo> {
    let dir = format!("/proc/{pid}");
    let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
    let cmdline = std::fs::read(format!("{dir}/cmdline")).unwrap_or_default();
    let status = std::fs::read_to_string(format!("{dir}/status")).unwrap_or_default();
    let loginuid = std::fs::read_to_string(format!("{dir}/loginuid")).ok();
    let cgroup = std::fs::read_to_string(format!("{dir}/cgroup")).ok();
    let ns = proc_namespaces(pid);
    let exe = read_link(&format!("{dir}/exe"));
    let cwd = read_link(&format!("{dir}/cwd"));
    let entry = ProcEntry {
        pid,
        stat: &stat,
        cmdline: &cmdline,
        exe: exe.as_deref(),
        status: &status,
        cwd: cwd.as_deref(),
        loginuid: loginuid.as_deref(),
        cgroup: cgroup.as_deref(),
        ns,
    };
    parse_proc_entry(node_name, &entry, ns_per_tick)
}

/// pid → process, with the node name used in exec ids.
#[derive(Debug, Clone)]
pub struct ProcessCache {
    node_name: String,
    procs: HashMap<u32, ProcessInfo>,
    read_proc: bool,
    ns_per_tick: u64,
    /// With `--enable-ancestors base`: the ancestors (pid, exec id) each process took a
    /// reference on when it started, given back when it goes.
    ancestor_refs: Option<HashMap<u32, Vec<(u32, String)>>>,
    /// Arguments sent ahead of their exec ([`Event::Data`](crate::event::Event::Data)), by
    /// (pid, ktime), oldest first; at most [`PENDING_EXECS`] execs' worth.
    pending: std::collections::VecDeque<(u32, u64, Vec<u8>)>,
}

/// Execs whose arguments may wait for their exec event at once: more means exec events were
/// lost, and the oldest are dropped.
const PENDING_EXECS: usize = 16;

impl ProcessCache {
    /// An empty cache that may read `/proc` (cwd at exec time, processes it misses).
    pub fn new(node_name: impl Into<String>) -> Self {
        ProcessCache {
            node_name: node_name.into(),
            procs: HashMap::new(),
            read_proc: true,
            ns_per_tick: ns_per_clock_tick(),
            ancestor_refs: None,
            pending: std::collections::VecDeque::new(),
        }
    }

    /// Keeps arguments the kernel sent ahead of the exec of (`pid`, `ktime`), up to what the
    /// kernel sends for one exec.
    pub fn stash_args(&mut self, pid: u32, ktime: u64, bytes: &[u8]) {
        let cap = crate::layout::DATA_CHUNKS * crate::layout::DATA_CHUNK;
        if let Some((.., buf)) = self
            .pending
            .iter_mut()
            .find(|(p, k, _)| *p == pid && *k == ktime)
        {
            let room = cap.saturating_sub(buf.len());
            buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
            return;
        }
        if self.pending.len() >= PENDING_EXECS {
            self.pending.pop_front();
        }
        self.pending
            .push_back((pid, ktime, bytes[..bytes.len().min(cap)].to_vec()));
    }

    /// The arguments stashed for the exec of (`pid`, `ktime`), taken out.
    pub fn take_args(&mut self, pid: u32, ktime: u64) -> Option<Vec<u8>> {
        let i = self
            .pending
            .iter()
            .position(|(p, k, _)| *p == pid && *k == ktime)?;
        self.pending.remove(i).map(|(.., buf)| buf)
    }

    /// Counts the references ancestors hold, as Tetragon does with `--enable-ancestors base`
    /// (pkg/grpc/exec/exec.go `RefInc("ancestor")` at exec and clone, `RefDec` at exit and
    /// cleanup).
    pub fn with_ancestor_refs(mut self, on: bool) -> Self {
        self.ancestor_refs = on.then(HashMap::new);
        self
    }

    /// The parent `p` names: the process at `p.ppid` if it is still the one of
    /// `p.parent_exec_id`.
    pub fn parent_of(&self, p: &ProcessInfo) -> Option<&ProcessInfo> {
        let id = p.parent_exec_id.as_deref()?;
        self.procs.get(&p.ppid).filter(|q| q.exec_id == id)
    }

    /// Tetragon's ancestors of `p` beyond its parent (pkg/process/process.go
    /// `GetAncestorProcessesInternal` from the parent's exec id): the parent's parent, and up
    /// while the last one found has a pid above [`OLDEST_ANCESTOR_PID`]; none for a process
    /// at or below it (`NeededAncestors`). The walk stops where the cache no longer holds the
    /// process named (one that has exec'd since, which Tetragon's cache keeps by exec id).
    pub fn ancestors(&self, p: &ProcessInfo) -> Vec<&ProcessInfo> {
        let mut out = Vec::new();
        if p.pid <= OLDEST_ANCESTOR_PID {
            return out;
        }
        let Some(mut at) = self.parent_of(p) else {
            return out;
        };
        while at.pid > OLDEST_ANCESTOR_PID && out.len() < MAX_ANCESTORS {
            match self.parent_of(at) {
                Some(up) => {
                    out.push(up);
                    at = up;
                }
                None => break,
            }
        }
        out
    }

    /// With ancestor references on: `pid` (just added) takes one on each of its ancestors.
    fn hold_ancestors(&mut self, pid: u32) {
        if self.ancestor_refs.is_none() {
            return;
        }
        let Some(p) = self.procs.get(&pid) else {
            return;
        };
        let held: Vec<(u32, String)> = self
            .ancestors(p)
            .into_iter()
            .map(|a| (a.pid, a.exec_id.clone()))
            .collect();
        for (apid, _) in &held {
            if let Some(a) = self.procs.get_mut(apid) {
                a.refcnt += 1;
            }
        }
        if let Some(refs) = &mut self.ancestor_refs {
            refs.insert(pid, held);
        }
    }

    /// Gives back the references `pid`'s process took on its ancestors.
    fn release_ancestors(&mut self, pid: u32) {
        let Some(held) = self.ancestor_refs.as_mut().and_then(|r| r.remove(&pid)) else {
            return;
        };
        for (apid, id) in held {
            if let Some(a) = self.procs.get_mut(&apid) {
                if a.exec_id == id {
                    a.refcnt = a.refcnt.saturating_sub(1);
                }
            }
        }
    }

    /// An empty cache that never reads `/proc` (for tests and replays).
    pub fn without_proc(node_name: impl Into<String>) -> Self {
        ProcessCache {
            read_proc: false,
            ..ProcessCache::new(node_name)
        }
    }

    /// The node name put in exec ids and events.
    pub fn node_name(&self) -> &str {
        &self.node_name
    }

    /// Number of processes known.
    pub fn len(&self) -> usize {
        self.procs.len()
    }

    /// True when no process is known.
    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    /// The process `pid`, if known.
    pub fn get(&self, pid: u32) -> Option<&ProcessInfo> {
        self.procs.get(&pid)
    }

    /// The process `pid`; when unknown and this cache reads `/proc`, read it
    /// from there (best effort) and remember it.
    pub fn lookup(&mut self, pid: u32) -> Option<&ProcessInfo> {
        if !self.procs.contains_key(&pid) && self.read_proc && pid != 0 {
            let mut info = read_proc_entry(&self.node_name, pid, self.ns_per_tick)?;
            let parent = self.procs.get_mut(&info.ppid);
            info.parent_exec_id = parent.as_ref().map(|p| p.exec_id.clone());
            info.in_init_tree |= parent.as_ref().is_some_and(|p| p.in_init_tree);
            if let Some(parent) = parent {
                parent.refcnt += 1;
            }
            self.procs.insert(pid, info);
            self.hold_ancestors(pid);
        }
        self.procs.get(&pid)
    }

    /// Adds or replaces a process.
    pub fn insert(&mut self, info: ProcessInfo) {
        self.procs.insert(info.pid, info);
    }

    /// Forgets a process (on exit), returning what was known; its parent loses the reference
    /// the process held (Tetragon's `RefDec("parent")` in GetProcessExit).
    pub fn remove(&mut self, pid: u32) -> Option<ProcessInfo> {
        let gone = self.procs.remove(&pid)?;
        self.release_parent(&gone);
        self.release_ancestors(pid);
        Some(gone)
    }

    /// Drops the reference `child` holds on its parent: the process at `child.ppid`, if it is
    /// still the one `child.parent_exec_id` names (an exec since made it another process).
    fn release_parent(&mut self, child: &ProcessInfo) {
        let Some(id) = child.parent_exec_id.as_deref() else {
            return;
        };
        if let Some(parent) = self.procs.get_mut(&child.ppid) {
            if parent.exec_id == id {
                parent.refcnt = parent.refcnt.saturating_sub(1);
            }
        }
    }

    /// The reference a new child takes on its parent `ppid` (Tetragon's `RefInc("parent")`).
    fn hold_parent(&mut self, ppid: u32) {
        if let Some(parent) = self.procs.get_mut(&ppid) {
            parent.refcnt += 1;
        }
    }

    /// Every process as (pid, ppid, binary), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32, &str)> + '_ {
        self.procs
            .values()
            .map(|p| (p.pid, p.ppid, p.binary.as_str()))
    }

    /// Records an exec event and returns the new process. The parent is
    /// looked up (from `/proc` if missing and allowed) to link its exec id.
    ///
    /// As Tetragon: the exec's own time (not the task's start) is `start_time` and the ktime in
    /// `exec_id`, so successive execs in one pid get distinct ids (bpf/process/bpf_execve_event.h
    /// `p->ktime = tg_get_ktime()`, pkg/process/process.go `GetExecID`); the first exec after a
    /// fork carries the `clone` flag (bpf_execve_event.h `event_set_clone()` when the pid's
    /// execve_map entry came from a clone; the order of flags is pkg/reader/exec/exec.go
    /// `flagsOrdered`).
    ///
    /// The process the exec replaces is cleaned up as Tetragon's `MsgProcessCleanupEventUnix`
    /// does: the reference it held on its parent is dropped, and the new process takes one on
    /// its own parent.
    pub fn exec(&mut self, exec: &Exec) -> ProcessInfo {
        let pid = exec.header.pid;
        let before = self.procs.remove(&pid);
        if let Some(old) = &before {
            self.release_parent(old);
            self.release_ancestors(pid);
        }
        let before = before.as_ref();
        let cloned = before.is_some_and(forked_without_exec);
        // kept from the fork (or an earlier exec), else the parent's; or a namespace's init
        let inherited = before.map(|p| p.in_init_tree);
        let parent = self.lookup(exec.ppid);
        let parent_exec_id = parent.map(|p| p.exec_id.clone());
        let in_init_tree =
            exec.nspid == 1 || inherited.unwrap_or_else(|| parent.is_some_and(|p| p.in_init_tree));
        let cwd = if !exec.cwd.is_empty() {
            Some(exec.cwd.clone())
        } else if self.read_proc {
            read_link(&format!("/proc/{pid}/cwd"))
        } else {
            None
        };
        let shown = shown_args(exec);
        let info = ProcessInfo {
            pid,
            ppid: exec.ppid,
            uid: exec.header.uid,
            auid: exec.auid,
            flags: exec_flags(cwd.as_deref(), cloned, &shown),
            cwd,
            binary: exec.binary.clone(),
            arguments: join_arguments(&shown.argv),
            start_boottime: exec.header.ktime,
            exec_id: exec_id(&self.node_name, exec.header.ktime, pid),
            parent_exec_id,
            in_init_tree,
            refcnt: 1,
            docker: crate::container::lookup_container_id(&exec.cgroup, true, false),
            cred: Some(exec.cred),
            ns: Some(exec.ns),
        };
        self.hold_parent(exec.ppid);
        self.procs.insert(pid, info.clone());
        self.hold_ancestors(pid);
        info
    }

    /// A fork without exec: the child runs its parent's binary with its parent's arguments,
    /// under its own pid and exec id (Tetragon's `clone` flag). Nothing is added when the
    /// parent is unknown.
    pub fn fork(&mut self, fork: &Fork) {
        let pid = fork.header.pid;
        let Some(parent) = self.lookup(fork.ppid).cloned() else {
            return;
        };
        let info = ProcessInfo {
            pid,
            ppid: fork.ppid,
            flags: flags(FORKED, parent.cwd.as_deref()),
            start_boottime: fork.start_boottime,
            exec_id: exec_id(&self.node_name, fork.start_boottime, pid),
            parent_exec_id: Some(parent.exec_id.clone()),
            refcnt: 1,
            ..parent
        };
        if let Some(old) = self.procs.insert(pid, info) {
            // a pid reused before its exit was seen: that process is gone
            self.release_parent(&old);
            self.release_ancestors(pid);
        }
        self.hold_parent(fork.ppid);
        self.hold_ancestors(pid);
    }

    /// Adds processes read elsewhere (e.g. [`parse_proc_entry`]) and links
    /// every process's `parent_exec_id` to a known parent.
    pub fn seed(&mut self, infos: impl IntoIterator<Item = ProcessInfo>) {
        for info in infos {
            self.procs.insert(info.pid, info);
        }
        let ids: HashMap<u32, String> = self
            .procs
            .iter()
            .map(|(pid, p)| (*pid, p.exec_id.clone()))
            .collect();
        for p in self.procs.values_mut() {
            if p.parent_exec_id.is_none() {
                p.parent_exec_id = ids.get(&p.ppid).cloned();
            }
        }
        // each process read from /proc went through Tetragon's exec path, which takes a
        // reference on its parent (pkg/sensors/exec/procevents, then GetProcessExec)
        let mut children: HashMap<String, u32> = HashMap::new();
        for p in self.procs.values() {
            if let Some(id) = &p.parent_exec_id {
                *children.entry(id.clone()).or_default() += 1;
            }
        }
        for p in self.procs.values_mut() {
            p.refcnt = 1 + children.get(&p.exec_id).copied().unwrap_or(0);
        }
        if let Some(refs) = &mut self.ancestor_refs {
            refs.clear();
            let pids: Vec<u32> = self.procs.keys().copied().collect();
            for pid in pids {
                self.hold_ancestors(pid);
            }
        }
        // in_init_tree: a namespace's init and everything below it (whatever order /proc
        // listed them in); the walk up is bounded, as a pid loop could come from a racy read
        let roots: std::collections::HashSet<u32> = self
            .procs
            .values()
            .filter(|p| p.in_init_tree)
            .map(|p| p.pid)
            .collect();
        let parents: HashMap<u32, u32> = self.procs.values().map(|p| (p.pid, p.ppid)).collect();
        for p in self.procs.values_mut() {
            let mut at = p.ppid;
            for _ in 0..64 {
                if roots.contains(&at) {
                    p.in_init_tree = true;
                    break;
                }
                match parents.get(&at) {
                    Some(&up) if up != at => at = up,
                    _ => break,
                }
            }
        }
    }

    /// Seeds the cache from every `/proc/<pid>`, skipping processes that
    /// vanish while being read. Returns how many were added.
    pub fn seed_from_proc(&mut self) -> usize {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return 0;
        };
        let infos: Vec<ProcessInfo> = dir
            .filter_map(Result::ok)
            .filter_map(|d| d.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| read_proc_entry(&self.node_name, pid, self.ns_per_tick))
            .collect();
        let n = infos.len();
        self.seed(infos);
        n
    }
}

// ---- namespaces and capabilities of processes read from /proc -------------------------------

/// The namespaces (by `enum ns_kind`) and capability sets (by `enum caps_set`) of a process
/// running before `policyctl run` started, read from `/proc/<pid>/ns/*` and the `CapPrm`,
/// `CapEff` and `CapInh` lines of `/proc/<pid>/status`, as Tetragon seeds its execve_map
/// (pkg/sensors/exec/procevents/proc_reader_linux.go `procToKeyValue`). A namespace that cannot
/// be read is 0; `None` when the status cannot be read (the process is gone).
pub fn proc_ns_caps(
    pid: u32,
) -> Option<(
    [u32; crate::layout::NS_KINDS],
    [u64; crate::layout::CAPS_SETS],
)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let caps = parse_caps(&status)?;
    Some((proc_namespaces(pid).unwrap_or_default(), caps))
}

/// The inode numbers of `/proc/<pid>/ns/*` by `layout::ns_kind` (0 for a kind the kernel
/// lacks); `None` when none can be read (a process gone, or links this user may not read).
pub fn proc_namespaces(pid: u32) -> Option<[u32; crate::layout::NS_KINDS]> {
    let mut ns = [0u32; crate::layout::NS_KINDS];
    for (slot, file) in ns.iter_mut().zip(crate::layout::ns_kind::NAMES) {
        if let Ok(link) = std::fs::read_link(format!("/proc/{pid}/ns/{file}")) {
            *slot = crate::plan::ns_inode(&link.to_string_lossy()).unwrap_or(0);
        }
    }
    ns.iter().any(|&n| n != 0).then_some(ns)
}

/// Credentials from a `/proc/<pid>/status` text, as Tetragon's procfs walk takes them
/// (pkg/sensors/exec/procevents/proc_reader.go: `Uid:` and `Gid:` are real, effective, saved
/// and filesystem ids; `CapPrm`, `CapEff`, `CapInh`); securebits are not in /proc.
pub fn proc_cred(status: &str) -> Option<crate::layout::CredInfo> {
    let ids = |name: &str| -> Option<[u32; 4]> {
        let line = status.lines().find_map(|l| l.strip_prefix(name))?;
        let v: Vec<u32> = line
            .split_whitespace()
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        v.try_into().ok()
    };
    let [uid, euid, suid, fsuid] = ids("Uid:")?;
    let [gid, egid, sgid, fsgid] = ids("Gid:")?;
    let [permitted, effective, inheritable] = parse_caps(status)?;
    Some(crate::layout::CredInfo {
        uid,
        gid,
        euid,
        egid,
        suid,
        sgid,
        fsuid,
        fsgid,
        permitted,
        effective,
        inheritable,
        ..Default::default()
    })
}

/// The capability sets of a `/proc/<pid>/status` text: (permitted, effective, inheritable), the
/// order of `enum caps_set`.
pub fn parse_caps(status: &str) -> Option<[u64; crate::layout::CAPS_SETS]> {
    let field = |name: &str| {
        status.lines().find_map(|l| {
            let v = l.strip_prefix(name)?.strip_prefix(':')?;
            u64::from_str_radix(v.trim(), 16).ok()
        })
    };
    Some([field("CapPrm")?, field("CapEff")?, field("CapInh")?])
}

#[cfg(test)]
mod proc_caps_tests {
    use super::*;

    #[test]
    fn caps_from_status() {
        let status = "Name:\tcat\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001fffedfffff\nCapBnd:\t000001ffffffffff\n";
        assert_eq!(
            parse_caps(status),
            Some([0x1ff_ffff_ffff, 0x1ff_fedf_ffff, 0])
        );
        assert_eq!(parse_caps("Name:\tcat\nCapEff:\t0\n"), None);
    }

    #[test]
    fn own_namespaces_and_caps() {
        let (ns, caps) = proc_ns_caps(std::process::id()).expect("our own /proc entry");
        let link = std::fs::read_link("/proc/self/ns/net").expect("own net namespace");
        assert_eq!(
            Some(ns[crate::layout::ns_kind::NET as usize]),
            crate::plan::ns_inode(&link.to_string_lossy())
        );
        let status = std::fs::read_to_string("/proc/self/status").expect("own status");
        assert_eq!(Some(caps), parse_caps(&status));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Header;

    const STAT: &str = "4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                        1 2 0 0 20 0 1 0 12345 1000000 200 18446744073709551615";

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert_eq!(base64(b"fooba"), "Zm9vYmE=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(exec_id("node", 5, 7), base64(b"node:5:7"));
    }

    /// in_init_tree as Tetragon's procToKeyValue (pkg/sensors/exec/procevents/
    /// proc_reader_linux.go) marks it: pid 1 of a namespace (the last NSpid field) and every
    /// descendant, whatever order /proc lists them in.
    #[test]
    fn init_tree_from_proc() {
        let entry = |pid: u32, ppid: u32, nspid: &str| {
            let stat = STAT.replacen(
                "4242 (my (odd) prog) S 1",
                &format!("{pid} (p) S {ppid}"),
                1,
            );
            let status = format!("Uid:\t0\t0\t0\t0\nNSpid:\t{nspid}\n");
            parse_proc_entry(
                "n",
                &ProcEntry {
                    pid,
                    stat: &stat,
                    status: &status,
                    ..ProcEntry::default()
                },
                1,
            )
            .expect("parses")
        };
        let mut cache = ProcessCache::without_proc("n");
        // listed child first, as /proc's lexical order can
        cache.seed([
            entry(300, 20, "300"),
            entry(20, 10, "20"),
            entry(10, 1, "10\t1"), // a container's init, seen from the host
            entry(1, 0, "1"),
            entry(2, 0, "2"),
            entry(40, 2, "40"), // a kernel thread under kthreadd
        ]);
        for (pid, want) in [
            (1, true),
            (10, true),
            (20, true),
            (300, true),
            (2, false),
            (40, false),
        ] {
            assert_eq!(
                cache.get(pid).map(|p| p.in_init_tree),
                Some(want),
                "pid {pid}"
            );
        }
    }

    /// Expected values follow `ArgsDecoder` in Tetragon's pkg/process/args.go line by line.
    #[test]
    fn arguments_joined_as_tetragon_args_decoder() {
        let argv = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(join_arguments(&argv(&["ls"])), "");
        assert_eq!(join_arguments(&argv(&["ls", "-l", "/tmp"])), "-l /tmp");
        assert_eq!(
            join_arguments(&argv(&["sh", "-c", "echo hi"])),
            "-c \"echo hi\""
        );
        // a first argument with a space keeps the leading space Tetragon writes
        assert_eq!(join_arguments(&argv(&["echo", "a b", "c"])), " \"a b\" c");
        // an empty argument first is dropped by the emptiness test; later ones leave two spaces
        assert_eq!(join_arguments(&argv(&["x", "", "b"])), "b");
        assert_eq!(join_arguments(&argv(&["x", "a", "", "b"])), "a  b");
    }

    #[test]
    fn parses_proc_files() {
        let e = ProcEntry {
            pid: 4242,
            stat: STAT,
            cmdline: b"/usr/bin/prog\0--flag\0value\0",
            exe: Some("/usr/bin/prog"),
            status: "Name:\tprog\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\n",
            cwd: Some("/"),
            loginuid: Some("1000"),
            cgroup: Some(
                "0::/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n",
            ),
            ns: None,
        };
        let p = parse_proc_entry("n", &e, 10_000_000).unwrap();
        assert_eq!(p.docker, "0123456789abcdef0123456789abcde");
        assert_eq!(p.pid, 4242);
        assert_eq!(p.ppid, 1);
        assert_eq!(p.uid, 1001, "the effective uid");
        assert_eq!(p.auid, 1000);
        assert_eq!(p.binary, "/usr/bin/prog");
        assert_eq!(p.arguments, "--flag value");
        assert_eq!(p.flags, "procFS rootcwd");
        assert_eq!(p.start_boottime, 12345 * 10_000_000);
        assert_eq!(p.exec_id, exec_id("n", 123_450_000_000, 4242));
        assert_eq!(p.parent_exec_id, None);
    }

    #[test]
    fn kernel_threads_and_missing_files() {
        let e = ProcEntry {
            pid: 2,
            stat: "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0",
            loginuid: Some("4294967295"),
            ..ProcEntry::default()
        };
        let p = parse_proc_entry("n", &e, 10).unwrap();
        assert_eq!(p.binary, "kthreadd");
        assert_eq!(p.arguments, "");
        assert_eq!(p.flags, "procFS");
        assert_eq!(p.auid, AUID_UNKNOWN);
        assert_eq!(p.start_boottime, 30);
    }

    #[test]
    fn garbage_stat_is_none() {
        for stat in [
            "",
            "1 (x",
            "1 x) S",
            "1 (x) S notanumber",
            "1 (x) S 1 2 3",
            ")(",
        ] {
            let e = ProcEntry {
                pid: 1,
                stat,
                ..ProcEntry::default()
            };
            assert_eq!(parse_proc_entry("n", &e, 10), None, "{stat:?}");
        }
    }

    #[test]
    fn exec_links_parent_and_exit_removes() {
        let mut cache = ProcessCache::without_proc("node");
        let parent = parse_proc_entry(
            "node",
            &ProcEntry {
                pid: 1,
                stat: STAT,
                ..ProcEntry::default()
            },
            10,
        )
        .unwrap();
        let parent = ProcessInfo { pid: 100, ..parent };
        cache.seed([parent.clone()]);
        let exec = Exec {
            header: Header {
                pid: 200,
                tid: 200,
                uid: 0,
                ktime: 9,
            },
            ppid: 100,
            start_boottime: 8,
            nspid: 200,
            auid: AUID_UNKNOWN,
            binary: "/bin/ls".into(),
            cwd: String::new(),
            argv: vec!["ls".into(), "-l".into()],
            args: b"ls\0-l\0".to_vec(),
            args_total: 6,
            args_data: 0,
            filename_len: 7,
            cgroup: String::new(),
            cred: Default::default(),
            ns: [0; crate::layout::NS_KINDS],
        };
        let p = cache.exec(&exec);
        assert_eq!(p.parent_exec_id.as_deref(), Some(parent.exec_id.as_str()));
        assert_eq!(p.arguments, "-l");
        assert_eq!(p.flags, "execve");
        let mut seen: Vec<_> = cache
            .iter()
            .map(|(a, b, c)| (a, b, c.to_string()))
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            vec![
                (100, 1, "my (odd) prog".into()),
                (200, 100, "/bin/ls".into())
            ]
        );
        assert!(cache.remove(200).is_some());
        assert_eq!(cache.len(), 1);
    }

    /// The count of pkg/process/process.go `refcnt` through the exec.go paths: a fork and an
    /// exec of a child each take a reference on the parent; the exec drops the one its forked
    /// self held (MsgProcessCleanupEventUnix); an exit drops the process's own and its parent's.
    #[test]
    fn refcnt_follows_tetragon() {
        let header = |pid| Header {
            pid,
            tid: pid,
            uid: 0,
            ktime: 50 + u64::from(pid),
        };
        let exec = |pid, ppid| Exec {
            header: header(pid),
            ppid,
            start_boottime: 1,
            nspid: pid,
            auid: AUID_UNKNOWN,
            binary: "/bin/sh".into(),
            cwd: String::new(),
            argv: vec!["sh".into()],
            args: b"sh\0".to_vec(),
            args_total: 3,
            args_data: 0,
            filename_len: 7,
            cgroup: String::new(),
            cred: Default::default(),
            ns: [0; crate::layout::NS_KINDS],
        };
        let fork = |pid, ppid| Fork {
            header: header(pid),
            ppid,
            start_boottime: 40 + u64::from(pid),
        };
        let mut cache = ProcessCache::without_proc("n");
        let refcnt = |c: &ProcessCache, pid| c.get(pid).map(|p| p.refcnt);
        let shell = cache.exec(&exec(10, 1));
        assert_eq!(shell.refcnt, 1, "the process itself (parent 1 unknown)");
        cache.fork(&fork(11, 10));
        assert_eq!(refcnt(&cache, 10), Some(2), "parent++ for the clone");
        assert_eq!(refcnt(&cache, 11), Some(1));
        cache.exec(&exec(11, 10));
        // parent++ for the exec, parent-- for the clone it replaces
        assert_eq!(refcnt(&cache, 10), Some(2));
        cache.fork(&fork(12, 11));
        assert_eq!(refcnt(&cache, 11), Some(2));
        cache.remove(12);
        assert_eq!(refcnt(&cache, 11), Some(1), "the child's exit: parent--");
        cache.remove(11);
        assert_eq!(refcnt(&cache, 10), Some(1));
        // a child of an earlier process in a pid that has exec'd since does not touch it
        cache.fork(&fork(13, 10));
        let mut again = exec(10, 1);
        again.header.ktime = 99;
        cache.exec(&again);
        assert_eq!(refcnt(&cache, 10), Some(1));
        cache.remove(13);
        assert_eq!(refcnt(&cache, 10), Some(1));
        // from /proc: 1 plus the children found there
        let mut seeded = ProcessCache::without_proc("n");
        let entry = |pid: u32, ppid: u32| {
            let stat = STAT.replacen(
                "4242 (my (odd) prog) S 1",
                &format!("{pid} (p) S {ppid}"),
                1,
            );
            let e = ProcEntry {
                pid,
                stat: &stat,
                ..ProcEntry::default()
            };
            parse_proc_entry("n", &e, 1).expect("parses")
        };
        seeded.seed([entry(1, 0), entry(20, 1), entry(21, 1), entry(30, 20)]);
        assert_eq!(refcnt(&seeded, 1), Some(3));
        assert_eq!(refcnt(&seeded, 20), Some(2));
        assert_eq!(refcnt(&seeded, 30), Some(1));
    }

    #[test]
    fn seeds_from_this_machine() {
        let mut cache = ProcessCache::new("node");
        assert!(cache.seed_from_proc() > 0);
        let me = std::process::id();
        assert!(cache.get(me).is_some());
    }
}
