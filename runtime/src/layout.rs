//! Rust mirrors of `runtime/bpf/common.h`: the configuration the loader
//! writes into maps and the events the programs write to the ring buffer.
//!
//! Every struct is `#[repr(C)]` with the C field order; `tests/layout.rs`
//! compares sizes and offsets with the BTF of the compiled object, so a
//! change on one side without the other fails the tests.

#![allow(missing_docs)] // field docs live in common.h; names match it

/// Slots in the `hooks` map (a hash: only the slots used take memory).
pub const MAX_HOOKS: usize = 2048;
/// The first slot of the kprobe hooks served by `kprobe_multi` (past every kind's copies).
pub const MULTI_SLOT_BASE: usize = 1024;
/// Kprobe hooks served by `kprobe_multi` at most.
pub const MULTI_SLOTS: usize = 1024;
/// An enforcer's key in `override_tasks` (`ENFORCER_KEY`): this bit and the slot of its
/// policy's first hook, below 2^31 (the fmod_ret program ORs it in as a sign-extended
/// immediate) and past every slot.
pub const ENFORCER_KEY: u32 = 0x4000_0000;
/// `kprobe_multi` hooks on one function at most.
pub const FUNC_HOOKS: usize = 32;
/// Program copies per attach kind.
pub const SLOTS_PER_KIND: usize = 64;
/// Arguments read per hook.
pub const MAX_ARGS: usize = 5;
/// Selectors per hook.
pub const MAX_SELECTORS: usize = 5;
/// matchArgs entries per selector.
pub const MAX_FILTERS: usize = 5;
/// Inline values per filter.
pub const MAX_VALUES: usize = 8;
/// Loads of a `resolve:` path: the validator's walk (Tetragon's `MAX_BTF_ARG_DEPTH`) gives
/// at most this many steps, and a load is at most one step.
pub const MAX_RESOLVE: usize = policyctl_validator::kernel::resolve::MAX_BTF_ARG_DEPTH;
/// Bytes of a string compared by filters.
pub const STR_LEN: usize = 248;
/// Bytes of a string, path or buffer kept in events.
pub const ARG_BUF: usize = 256;
/// `ARG_STATUS_BAD`: `event_arg.status` of a string that could not be read.
pub const ARG_STATUS_BAD: u32 = u32::MAX;
/// Bytes of a process's arguments in exec events.
pub const ARGV_BUF: usize = 512;
/// Bytes of a cgroup's name in exec events (Tetragon's `DOCKER_ID_LENGTH`).
pub const CGROUP_NAME: usize = 128;
/// Bytes of one `EVENT_DATA` record (Tetragon's `MSG_DATA_ARG_LEN`).
pub const DATA_CHUNK: usize = 32736;
/// `EVENT_DATA` records per exec (Tetragon's `data_event_bytes` reads 10 times).
pub const DATA_CHUNKS: usize = 10;
/// Syscall numbers the raw syscall tracepoint dispatches.
pub const MAX_SYSCALLS: usize = 512;
/// Hooks per syscall number.
pub const SYSCALL_HOOKS: usize = 4;

/// Namespace kinds (`NS_KINDS`, Tetragon's `ns_max_types`).
pub const NS_KINDS: usize = 10;
/// matchNamespaces entries per selector.
pub const MAX_NS_FILTERS: usize = 10;
/// Values per matchNamespaces entry.
pub const MAX_NS_VALUES: usize = 4;
/// Capability sets (permitted, effective, inheritable).
pub const CAPS_SETS: usize = 3;
/// `PROCESS_AT_FORK`: a process's namespaces and capabilities were stored at fork.
pub const PROCESS_AT_FORK: u32 = 1;
/// `PROCESS_AT_EXEC`: they were stored at the first exec after the fork.
pub const PROCESS_AT_EXEC: u32 = 2;

/// `enum ns_kind`, numbered as Tetragon's `namespaceTypeTable`.
pub mod ns_kind {
    pub const UTS: u8 = 0;
    pub const IPC: u8 = 1;
    pub const MNT: u8 = 2;
    pub const PID: u8 = 3;
    pub const PID_FOR_CHILDREN: u8 = 4;
    pub const NET: u8 = 5;
    pub const TIME: u8 = 6;
    pub const TIME_FOR_CHILDREN: u8 = 7;
    pub const CGROUP: u8 = 8;
    pub const USER: u8 = 9;

    /// The kinds' names, by number: the files of `/proc/<pid>/ns/` and the fields of
    /// `tetragon.Namespaces` alike (Tetragon's pkg/reader/namespace/namespace_linux.go
    /// `listNamespaces`).
    pub const NAMES: [&str; super::NS_KINDS] = [
        "uts",
        "ipc",
        "mnt",
        "pid",
        "pid_for_children",
        "net",
        "time",
        "time_for_children",
        "cgroup",
        "user",
    ];
}

/// `enum caps_set`, numbered as Tetragon's `capabilitiesTypeTable`.
pub mod caps_set {
    pub const PERMITTED: u8 = 0;
    pub const EFFECTIVE: u8 = 1;
    pub const INHERITABLE: u8 = 2;
}

/// `enum hook_kind`: the attach kind, and the slot range it owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum HookKind {
    Kprobe = 0,
    Fentry = 1,
    Lsm = 2,
    Tracepoint = 3,
    Uprobe = 4,
    RawSyscall = 5,
    /// Raw tracepoints (`raw: true`): copies `raw_tp_N`.
    RawTracepoint = 12,
}

impl HookKind {
    /// Name of the program copy `n` of this kind in the object.
    pub fn program(self, copy: usize) -> String {
        match self {
            HookKind::Kprobe => format!("kprobe_{copy}"),
            HookKind::Fentry => format!("fentry_{copy}"),
            HookKind::Lsm => format!("lsm_{copy}"),
            HookKind::Tracepoint => format!("tracepoint_{copy}"),
            HookKind::Uprobe => format!("uprobe_{copy}"),
            HookKind::RawSyscall => "raw_syscall".to_string(),
            HookKind::RawTracepoint => format!("raw_tp_{copy}"),
        }
    }

    /// Name of the return program copy `n` serving the same slot as [`HookKind::program`]
    /// (kretprobe, fexit, `syscalls/sys_exit_*` tracepoint), for kinds that have one.
    pub fn return_program(self, copy: usize) -> Option<String> {
        match self {
            HookKind::Kprobe => Some(format!("kretprobe_{copy}")),
            HookKind::Fentry => Some(format!("fexit_{copy}")),
            HookKind::Tracepoint => Some(format!("tracepoint_exit_{copy}")),
            HookKind::Uprobe => Some(format!("uretprobe_{copy}")),
            _ => None,
        }
    }

    /// Slot of program copy `copy` (the raw syscall kind shares the kprobe range).
    pub fn slot(self, copy: usize) -> u32 {
        let base = match self {
            HookKind::RawSyscall => HookKind::Kprobe as usize,
            k => k as usize,
        };
        (base * SLOTS_PER_KIND + copy) as u32
    }
}

/// `enum arg_type`.
pub mod arg_type {
    pub const NONE: u8 = 0;
    pub const INT: u8 = 1;
    pub const UINT: u8 = 2;
    pub const STRING: u8 = 3;
    pub const FILENAME: u8 = 4;
    pub const FILE: u8 = 5;
    pub const PATH: u8 = 6;
    pub const DENTRY: u8 = 7;
    pub const FD: u8 = 8;
    pub const SOCK: u8 = 9;
    pub const BYTES: u8 = 10;
    pub const BINPRM: u8 = 11;
    pub const SOCKET: u8 = 12;
    pub const SKB: u8 = 13;
    pub const SOCKADDR: u8 = 14;
    pub const SOCKADDR_UN: u8 = 15;
    pub const CRED: u8 = 16;
    pub const BPF_ATTR: u8 = 17;
    pub const BPF_PROG: u8 = 18;
    pub const NET_DEV: u8 = 19;
    pub const CAPS: u8 = 20;
    pub const IOVEC: u8 = 21;
    pub const PERF_EVENT: u8 = 22;
    pub const BPF_MAP: u8 = 23;
    pub const USER_NS: u8 = 24;
    pub const MODULE: u8 = 25;
    pub const LOAD_INFO: u8 = 26;
    pub const KIOCB: u8 = 27;
    pub const IOV_ITER: u8 = 28;
    pub const DATA_LOC: u8 = 29;
    /// A tracepoint's fixed-size array: `width` bytes of the record at `field_offset`.
    pub const CONST_BUF: u8 = 40;
}

/// `ARG_USER`: the argument points into user memory.
pub const ARG_USER: u8 = 1;
/// `ARG_LAST_ADDR`: the last resolve step takes an address.
pub const ARG_LAST_ADDR: u8 = 2;
/// `ARG_RETURN_COPY`: a char_buf or char_iovec read at the return (`returnCopy`).
pub const ARG_RETURN_COPY: u8 = 4;

/// `enum arg_source`: where a `data` arg's value comes from.
pub mod arg_source {
    /// The raw argument `index`.
    pub const ARG: u8 = 0;
    /// A register of the probe's pt_regs (kprobes, uprobes).
    pub const PT_REGS: u8 = 1;
    /// A register of the task's user pt_regs (a syscall's).
    pub const USER_REGS: u8 = 2;
    /// The current task_struct.
    pub const CURRENT_TASK: u8 = 3;
}

/// `enum filter_op`.
pub mod op {
    pub const NONE: u8 = 0;
    pub const EQUAL: u8 = 1;
    pub const PREFIX: u8 = 2;
    pub const POSTFIX: u8 = 3;
    pub const GT: u8 = 4;
    pub const LT: u8 = 5;
    pub const MASK: u8 = 6;
    pub const SPORT: u8 = 7;
    pub const DPORT: u8 = 8;
    pub const SPORT_PRIV: u8 = 9;
    pub const DPORT_PRIV: u8 = 10;
    pub const SADDR: u8 = 11;
    pub const DADDR: u8 = 12;
    pub const PROTOCOL: u8 = 13;
    pub const FAMILY: u8 = 14;
    pub const STATE: u8 = 15;
    pub const IN: u8 = 16;
    pub const FILE_TYPE: u8 = 17;
    pub const SPORT_RANGE: u8 = 18;
    pub const DPORT_RANGE: u8 = 19;
    pub const INT_RANGE: u8 = 20;
    /// InMap with `list:` values: the value's 8 little-endian bytes are a string of the
    /// filter in the prefix trie (Equal lookup).
    pub const INT_SET: u8 = 40;
    /// CelExpr: the program in `cel_progs` under the filter's id.
    pub const CEL: u8 = 41;
    pub const CAPS_GAINED: u8 = 21;
    pub const SUBSTRING: u8 = 22;
    pub const SUBSTRING_NOCASE: u8 = 23;
}

/// `FILTER_NOT`: the negated operator.
pub const FILTER_NOT: u8 = 1;
/// `FILTER_FOLLOW`: followForks / followChildren.
pub const FILTER_FOLLOW: u8 = 2;
/// `FILTER_NSPID`: isNamespacePID.
pub const FILTER_NSPID: u8 = 4;
/// `FILTER_LEN_GATE`: a string filter whose first four values are a bitmap of the string
/// lengths (as `set_key` caps them at [`STR_LEN`]) that a stored value can match.
pub const FILTER_LEN_GATE: u8 = 8;

/// `RATE_*`: a Post rateLimit's scope.
pub mod rate_scope {
    pub const THREAD: u8 = 0;
    pub const PROCESS: u8 = 1;
    pub const GLOBAL: u8 = 2;
}

/// `enum action`, numbered as Tetragon's `KprobeAction`.
pub mod action {
    pub const UNKNOWN: u32 = 0;
    pub const POST: u32 = 1;
    pub const SIGKILL: u32 = 3;
    pub const OVERRIDE: u32 = 5;
    pub const NOPOST: u32 = 9;
    pub const SIGNAL: u32 = 10;
    pub const GETURL: u32 = 7;
    pub const DNSLOOKUP: u32 = 8;
    pub const TRACKSOCK: u32 = 11;
    pub const UNTRACKSOCK: u32 = 12;
    pub const SET: u32 = 15;
    /// NotifyEnforcer (enforcers, issue 15).
    pub const NOTIFYENFORCER: u32 = 13;
}

/// `enum event_type`.
pub mod event_type {
    pub const EXEC: u32 = 1;
    pub const EXIT: u32 = 2;
    pub const HOOK: u32 = 3;
    pub const FORK: u32 = 4;
    pub const DATA: u32 = 5;
    pub const RETURN: u32 = 6;
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ArgConfig {
    pub ty: u8,
    pub index: u8,
    pub width: u8,
    pub flags: u8,
    pub nresolve: u8,
    pub size_index: u8,
    pub field_offset: u16,
    pub resolve: [u16; MAX_RESOLVE],
    /// `enum arg_source`.
    pub source: u8,
    /// Bytes of the register read (`arg_source::*_REGS`).
    pub reg_size: u8,
    /// The register's offset in `struct pt_regs`.
    pub reg_offset: u16,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Cidr {
    pub family: u32,
    pub prefix: u32,
    pub addr: [u8; 16],
}

/// `struct filter`; `values` is the C union of `ints[8]` and `cidrs[8]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Filter {
    pub id: u32,
    pub op: u8,
    pub flags: u8,
    pub arg: u8,
    pub nvalues: u8,
    pub values: [u64; 24],
}

impl Filter {
    /// Sets the inline integer values (at most [`MAX_VALUES`]).
    pub fn set_ints(&mut self, ints: &[u64]) {
        let n = ints.len().min(MAX_VALUES);
        self.values[..n].copy_from_slice(&ints[..n]);
        self.nvalues = n as u8;
    }

    /// Sets the length gate of a string filter ([`FILTER_LEN_GATE`]) from its values' lengths:
    /// with `exact` (Equal, In) only those lengths can match, otherwise (Prefix, Postfix) every
    /// length from the shortest up. Lengths are capped at [`STR_LEN`] as `set_key` caps a key.
    pub fn set_len_gate(&mut self, lengths: impl IntoIterator<Item = usize>, exact: bool) {
        let mut bits = [0u64; 4];
        let mut set = |n: usize| {
            let n = n.min(STR_LEN);
            bits[n / 64] |= 1 << (n % 64);
        };
        if exact {
            lengths.into_iter().for_each(&mut set);
        } else if let Some(shortest) = lengths.into_iter().min() {
            (shortest.min(STR_LEN)..=STR_LEN).for_each(&mut set);
        }
        self.values[..4].copy_from_slice(&bits);
        self.flags |= FILTER_LEN_GATE;
    }

    /// Whether a string that fails this filter's length gate fails the filter: a gate on a
    /// string operator (`match_arg` tests it before the lookup) that is not negated.
    pub fn gates_length(&self) -> bool {
        self.flags & FILTER_LEN_GATE != 0
            && self.flags & FILTER_NOT == 0
            && matches!(self.op, op::EQUAL | op::IN | op::PREFIX | op::POSTFIX)
    }

    /// Whether a process whose binary fails this matchBinaries filter's length gate fails the
    /// filter: a gate, not negated, without followChildren (whose ancestors could match).
    pub fn gates_binary(&self) -> bool {
        self.gates_length() && self.flags & FILTER_FOLLOW == 0
    }

    /// Sets the inline CIDR values (at most [`MAX_VALUES`]).
    pub fn set_cidrs(&mut self, cidrs: &[Cidr]) {
        let n = cidrs.len().min(MAX_VALUES);
        let mut bytes = [0u8; 192];
        for (i, c) in cidrs.iter().take(n).enumerate() {
            let at = i * 24;
            bytes[at..at + 4].copy_from_slice(&c.family.to_ne_bytes());
            bytes[at + 4..at + 8].copy_from_slice(&c.prefix.to_ne_bytes());
            bytes[at + 8..at + 24].copy_from_slice(&c.addr);
        }
        for (i, chunk) in bytes.chunks_exact(8).enumerate() {
            self.values[i] = u64::from_ne_bytes(chunk.try_into().expect("8 bytes"));
        }
        self.nvalues = n as u8;
    }

    /// The inline integer values in use.
    pub fn ints(&self) -> &[u64] {
        &self.values[..self.nvalues as usize]
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct NsFilter {
    pub kind: u8,
    pub flags: u8,
    pub nvalues: u8,
    pub _pad: u8,
    pub values: [u32; MAX_NS_VALUES],
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct CapsFilter {
    pub set: u8,
    pub flags: u8,
    pub _pad: [u8; 2],
    pub host_userns: u32,
    pub mask: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Selector {
    pub nargs: u8,
    pub has_binaries: u8,
    pub has_pids: u8,
    pub post: u8,
    pub kill: u8,
    pub signal: u8,
    pub override_: u8,
    pub rate_scope: u8,
    pub override_value: i32,
    pub rate_limit_ms: u32,
    pub args: [Filter; MAX_FILTERS],
    pub binaries: Filter,
    pub pids: Filter,
    pub nnamespaces: u8,
    pub has_caps: u8,
    pub has_cap_changes: u8,
    pub has_ns_changes: u8,
    pub ns_changes_flags: u8,
    pub _pad_ns: u8,
    pub ns_changes: u16,
    pub namespaces: [NsFilter; MAX_NS_FILTERS],
    pub caps: CapsFilter,
    pub cap_changes: CapsFilter,
    /// TrackSock / UntrackSock (`action::TRACKSOCK`, `action::UNTRACKSOCK`), 0 = none.
    pub sock_action: u8,
    /// argSock: the event arg slot holding the sock.
    pub sock_arg: u8,
    /// The event's action when the selector's last action is GetUrl, DnsLookup, TrackSock or
    /// UntrackSock, 0 = none.
    pub last_action: u8,
    pub _pad_net: [u8; 5],
    pub parent_binaries: Filter,
    pub has_parent_binaries: u8,
    pub _pad_parent: [u8; 7],
    /// 1: NotifyEnforcer (the policy's enforcer fails the thread's next enforced call).
    pub notify_enforcer: u8,
    pub _pad_enf: [u8; 3],
    /// NotifyEnforcer's argError, kept in 16 bits as Tetragon's `enforcer_data` keeps it.
    pub enforcer_error: i32,
    /// NotifyEnforcer's argSig, 0 = none.
    pub enforcer_signal: u32,
    /// The enforcer's key in `override_tasks` (`PendingKey::slot`): [`ENFORCER_KEY`] | the slot
    /// of the policy's first hook.
    pub enforcer_key: u32,
    /// The event args (bit i: arg i) this selector's matchArgs entries compare: read once its
    /// process filters hold, the others only when it matches.
    pub args_mask: u8,
    pub _pad_lazy: [u8; 3],
    /// 1: Post's kernelStackTrace (the event carries the kernel stack's id).
    pub kernel_stack: u8,
    /// 1: Post's userStackTrace (the event carries the user stack's id).
    pub user_stack: u8,
    pub _pad_stack: [u8; 2],
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct HookConfig {
    pub policy: u32,
    pub kind: u8,
    pub nargs: u8,
    pub nselectors: u8,
    pub enabled: u8,
    pub syscall: u8,
    pub _pad: [u8; 3],
    pub args: [ArgConfig; MAX_ARGS],
    pub selectors: [Selector; MAX_SELECTORS],
    pub ret: ArgConfig,
    pub returns: u8,
    pub _rpad: [u8; 7],
    pub ret_selectors: [ReturnSelector; MAX_SELECTORS],
    /// returnArgAction: `action::TRACKSOCK` / `action::UNTRACKSOCK` on the returned sock.
    pub ret_sock_action: u8,
    pub _spad: [u8; 7],
}

/// `struct return_selector`: matchReturnArgs and matchReturnActions of one selector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ReturnSelector {
    pub nargs: u8,
    pub post: u8,
    pub kill: u8,
    pub signal: u8,
    pub _pad: u32,
    pub args: [Filter; MAX_FILTERS],
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct SyscallHooks {
    pub count: u32,
    pub slots: [u32; SYSCALL_HOOKS],
}

/// `struct hook_gate`: a hook's gates (`gates`' value, issue 16), which `handle()` tests before
/// it looks the hook's configuration up, so that a call no selector can match returns at once.
///
/// - The binary gate: when every selector has a matchBinaries filter with a length gate
///   ([`FILTER_LEN_GATE`]; not negated, no followChildren), a process whose binary has a length
///   in no selector's gate, or, for a hook of one selector, fails that filter's lookup.
/// - The argument gate: when every selector needs a length-gated string filter (not negated)
///   to hold on the same `string` argument, `handle()` reads that argument first: a length in
///   no selector's gate, or, for a hook of one selector, a failed lookup of that filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct HookGate {
    /// 1: the argument gate applies; 0: `handle()` goes on as without one.
    pub active: u8,
    /// The event argument read (its [`ArgConfig`]'s position).
    pub arg: u8,
    /// Its raw argument ([`ArgConfig::index`]).
    pub index: u8,
    /// Its [`ArgConfig::flags`] ([`ARG_USER`]).
    pub flags: u8,
    /// [`HookConfig::syscall`].
    pub syscall: u8,
    /// Tracepoints: the field's width ([`ArgConfig::width`]).
    pub width: u8,
    /// Tracepoints: the field's offset ([`ArgConfig::field_offset`]).
    pub field_offset: u16,
    /// A hook of one selector: the id of its gated filter, looked up in the gate too.
    pub filter: u32,
    /// That filter's operator; 0: the gate tests the length alone.
    pub op: u8,
    /// 1: the binary gate applies.
    pub bin_active: u8,
    /// A hook of one selector: its matchBinaries operator, looked up in the gate; 0: the
    /// length alone.
    pub bin_op: u8,
    pub _pad: u8,
    /// And its filter id.
    pub bin_filter: u32,
    pub _pad2: u32,
    /// Bit n: a string of length n (capped at [`STR_LEN`]) can match some selector.
    pub lens: [u64; 4],
    /// Bit n: a binary path of length n (capped at [`STR_LEN`]) can match some selector.
    pub bin_lens: [u64; 4],
}

/// The union of some filters' length gates, with the one filter's id and operator when
/// there is one (a hook of one selector looks its filter up in the gate too).
fn union_of(filters: &[&Filter]) -> ([u64; 4], u32, u8) {
    let mut lens = [0u64; 4];
    for f in filters {
        lens.iter_mut()
            .zip(&f.values[..4])
            .for_each(|(l, v)| *l |= v);
    }
    match filters {
        [f] => (lens, f.id, f.op),
        _ => (lens, 0, 0),
    }
}

impl HookGate {
    /// A hook's gates, from its configuration; both inactive for a hook without selectors or
    /// with a return probe (every call's entry is kept). Sound because a selector's filters
    /// must all hold: `match_binaries` holds no filter the process's binary cannot match, and
    /// `match_arg` no filter on a string it could not read.
    pub fn of(h: &HookConfig) -> HookGate {
        let nsel = (h.nselectors as usize).min(MAX_SELECTORS);
        if nsel == 0 || h.returns != 0 {
            return HookGate::default();
        }
        let selectors = &h.selectors[..nsel];
        let mut gate = HookGate::default();
        // the binary gate: every selector's matchBinaries
        let binaries: Option<Vec<&Filter>> = selectors
            .iter()
            .map(|sel| {
                (sel.has_binaries != 0 && sel.binaries.gates_binary()).then_some(&sel.binaries)
            })
            .collect();
        if let Some(binaries) = binaries {
            let (lens, filter, op) = union_of(&binaries);
            (gate.bin_active, gate.bin_lens, gate.bin_filter, gate.bin_op) = (1, lens, filter, op);
        }
        // the argument gate: the first string argument every selector filters
        for (i, a) in h
            .args
            .iter()
            .enumerate()
            .take((h.nargs as usize).min(MAX_ARGS))
        {
            if a.ty != arg_type::STRING || a.source != arg_source::ARG || a.nresolve != 0 {
                continue;
            }
            let gated: Option<Vec<&Filter>> = selectors
                .iter()
                .map(|sel| {
                    sel.args[..(sel.nargs as usize).min(MAX_FILTERS)]
                        .iter()
                        .find(|f| f.arg as usize == i && f.gates_length())
                })
                .collect();
            let Some(gated) = gated else { continue };
            let (lens, filter, op) = union_of(&gated);
            return HookGate {
                active: 1,
                arg: i as u8,
                index: a.index,
                flags: a.flags,
                syscall: h.syscall,
                width: a.width,
                field_offset: a.field_offset,
                filter,
                op,
                lens,
                ..gate
            };
        }
        gate
    }
}

/// `struct func_hooks`: the `kprobe_multi` hooks on one function (`func_slots`' value).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct FuncHooks {
    pub count: u32,
    pub slots: [u32; FUNC_HOOKS],
}

/// `struct str_key` without its leading `prefixlen`, which aya's `Key` adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct StrKeyData {
    pub filter: u32,
    pub data: [u8; STR_LEN],
}

#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct Process {
    pub ppid: u32,
    pub binary_len: u32,
    pub binary: [u8; ARG_BUF],
    pub exec_state: u32,
    pub ns: [u32; NS_KINDS],
    pub _pad_ns: u32,
    pub caps: [u64; CAPS_SETS],
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct EventHeader {
    pub ty: u32,
    pub pid: u32,
    pub tid: u32,
    pub uid: u32,
    pub ktime: u64,
}

#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct ExecEvent {
    pub header: EventHeader,
    pub ppid: u32,
    pub args_len: u32,
    pub binary_len: u32,
    pub cwd_len: u32,
    pub start_boottime: u64,
    pub nspid: u32,
    pub auid: u32,
    pub args_total: u32,
    pub args_data: u32,
    pub filename_len: u32,
    pub _pad2: u32,
    pub cgroup: [u8; CGROUP_NAME],
    pub binary: [u8; ARG_BUF],
    pub cwd: [u8; ARG_BUF],
    pub args: [u8; ARGV_BUF],
    pub cred: CredInfo,
    pub ns: [u32; NS_KINDS],
}

/// `struct data_event`: more of the next exec's arguments.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct DataEvent {
    pub header: EventHeader,
    pub len: u32,
    pub _pad: u32,
    pub data: [u8; DATA_CHUNK],
}

/// Bytes of a `struct data_event` before its data.
pub const DATA_EVENT_FIXED: usize = std::mem::offset_of!(DataEvent, data);

#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
pub struct ForkEvent {
    pub header: EventHeader,
    pub ppid: u32,
    pub _pad: u32,
    pub start_boottime: u64,
}

#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
pub struct ExitEvent {
    pub header: EventHeader,
    pub ppid: u32,
    pub exit_code: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct SockTuple {
    pub family: u16,
    pub protocol: u16,
    pub sport: u16,
    pub dport: u16,
    pub saddr: [u8; 16],
    pub daddr: [u8; 16],
    pub state: u32,
    pub ty: u32,
    pub cookie: u64,
}

/// `struct skb_info`: a packet's tuple and the sk_buff's own fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct SkbInfo {
    pub tuple: SockTuple,
    pub hash: u32,
    pub len: u32,
    pub priority: u32,
    pub mark: u32,
    pub secpath_len: u32,
    pub secpath_olen: u32,
}

/// `struct cred_info`: a `struct cred`'s ids, capabilities and user namespace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct CredInfo {
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    pub suid: u32,
    pub sgid: u32,
    pub fsuid: u32,
    pub fsgid: u32,
    pub securebits: u32,
    pub _pad: u32,
    pub permitted: u64,
    pub effective: u64,
    pub inheritable: u64,
    pub ns_level: i32,
    pub ns_uid: u32,
    pub ns_gid: u32,
    pub ns_inum: u32,
}

/// `struct bpf_info`: a BPF program being loaded (`union bpf_attr`) or loaded (`struct bpf_prog`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct BpfInfo {
    pub prog_type: u32,
    pub insn_cnt: u32,
    pub prog_name: [u8; 16],
}

/// `struct perf_info`: a perf event (`ARG_PERF_EVENT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct PerfInfo {
    pub config: u64,
    pub probe_offset: u64,
    pub ty: u32,
    pub _pad: u32,
    pub kprobe_func: [u8; 128],
}

impl Default for PerfInfo {
    fn default() -> Self {
        PerfInfo {
            config: 0,
            probe_offset: 0,
            ty: 0,
            _pad: 0,
            kprobe_func: [0; 128],
        }
    }
}

/// `struct map_info`: a BPF map (`ARG_BPF_MAP`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct MapInfo {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_name: [u8; 16],
}

/// `struct user_ns_info`: a user namespace (`ARG_USER_NS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct UserNsInfo {
    pub level: i32,
    pub uid: u32,
    pub gid: u32,
    pub inum: u32,
}

/// `struct module_info`: a kernel module (`ARG_MODULE`, `ARG_LOAD_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct ModuleInfo {
    pub taints: u64,
    pub sig_ok: u32,
    pub _pad: u32,
    pub name: [u8; 64],
}

impl Default for ModuleInfo {
    fn default() -> Self {
        ModuleInfo {
            taints: 0,
            sig_ok: 0,
            _pad: 0,
            name: [0; 64],
        }
    }
}

/// `struct event_arg`; `data` is the C union of `value`, `sock`, `str`, `skb`, `cred` and `bpf`.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct EventArg {
    pub ty: u32,
    pub len: u32,
    pub mode: u32,
    /// 0: read; n: load n of its `resolve` path failed; [`ARG_STATUS_BAD`]: a string not read.
    pub status: u32,
    pub data: [u64; ARG_BUF / 8],
}

impl EventArg {
    /// The integer value.
    pub fn value(&self) -> i64 {
        self.data[0] as i64
    }

    /// The string, path or buffer bytes (`len` of them).
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `data` is 256 initialised bytes; u8 has no alignment.
        let all: &[u8; ARG_BUF] = unsafe { &*(self.data.as_ptr() as *const [u8; ARG_BUF]) };
        &all[..(self.len as usize).min(ARG_BUF)]
    }

    /// The socket tuple.
    pub fn sock(&self) -> SockTuple {
        // SAFETY: SockTuple is plain data no larger than `data`.
        unsafe { std::ptr::read_unaligned(self.data.as_ptr() as *const SockTuple) }
    }

    /// The packet (`ARG_SKB`).
    pub fn skb(&self) -> SkbInfo {
        const _: () = assert!(std::mem::size_of::<SkbInfo>() <= ARG_BUF);
        // SAFETY: SkbInfo is plain data no larger than `data` (checked above).
        unsafe { std::ptr::read_unaligned(self.data.as_ptr() as *const SkbInfo) }
    }

    /// The BPF program (`ARG_BPF_ATTR`, `ARG_BPF_PROG`).
    pub fn bpf(&self) -> BpfInfo {
        const _: () = assert!(std::mem::size_of::<BpfInfo>() <= ARG_BUF);
        // SAFETY: BpfInfo is plain data no larger than `data` (checked above).
        unsafe { std::ptr::read_unaligned(self.data.as_ptr() as *const BpfInfo) }
    }

    /// The credentials (`ARG_CRED`).
    pub fn cred(&self) -> CredInfo {
        const _: () = assert!(std::mem::size_of::<CredInfo>() <= ARG_BUF);
        // SAFETY: CredInfo is plain data no larger than `data` (checked above).
        unsafe { std::ptr::read_unaligned(self.data.as_ptr() as *const CredInfo) }
    }

    /// The perf event (`ARG_PERF_EVENT`).
    pub fn perf(&self) -> PerfInfo {
        const _: () = assert!(std::mem::size_of::<PerfInfo>() <= ARG_BUF);
        // SAFETY: PerfInfo is plain data no larger than `data` (checked above).
        unsafe { std::ptr::read_unaligned(self.data.as_ptr() as *const PerfInfo) }
    }

    /// The BPF map (`ARG_BPF_MAP`).
    pub fn map(&self) -> MapInfo {
        const _: () = assert!(std::mem::size_of::<MapInfo>() <= ARG_BUF);
        // SAFETY: MapInfo is plain data no larger than `data` (checked above).
        unsafe { std::ptr::read_unaligned(self.data.as_ptr() as *const MapInfo) }
    }

    /// The user namespace (`ARG_USER_NS`).
    pub fn user_ns(&self) -> UserNsInfo {
        const _: () = assert!(std::mem::size_of::<UserNsInfo>() <= ARG_BUF);
        // SAFETY: UserNsInfo is plain data no larger than `data` (checked above).
        unsafe { std::ptr::read_unaligned(self.data.as_ptr() as *const UserNsInfo) }
    }

    /// The kernel module (`ARG_MODULE`, `ARG_LOAD_INFO`).
    pub fn module(&self) -> ModuleInfo {
        const _: () = assert!(std::mem::size_of::<ModuleInfo>() <= ARG_BUF);
        // SAFETY: ModuleInfo is plain data no larger than `data` (checked above).
        unsafe { std::ptr::read_unaligned(self.data.as_ptr() as *const ModuleInfo) }
    }
}

#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct HookEvent {
    pub header: EventHeader,
    pub slot: u32,
    pub selector: u32,
    pub action: u32,
    pub action_arg: i32,
    pub syscall: u64,
    pub args: [EventArg; MAX_ARGS],
    /// The kernel stack's id in `stack_traces`, or -errno from `bpf_get_stackid`.
    pub kernel_stack_id: i32,
    /// The user stack's id in `stack_traces`, or -errno.
    pub user_stack_id: i32,
    /// [`STACK_KERNEL`] | [`STACK_USER`]: the ids the selector asked for (0 in a record sent
    /// without them: such a record stops before these fields).
    pub stack_flags: u32,
    pub _pad_stack: u32,
}

/// `STACK_KERNEL`: [`HookEvent::stack_flags`] bit, the kernel stack's id is set (Tetragon's
/// `MSG_COMMON_FLAG_KERNEL_STACKTRACE`).
pub const STACK_KERNEL: u32 = 1;
/// `STACK_USER`: [`HookEvent::stack_flags`] bit, the user stack's id is set.
pub const STACK_USER: u32 = 2;
/// `STACK_DEPTH`: frames kept per stack (Tetragon's `PERF_MAX_STACK_DEPTH`).
pub const STACK_DEPTH: usize = 127;

/// Calls entered and not yet returned that the kernel keeps (`MAX_PENDING`).
pub const MAX_PENDING: usize = 4096;

/// `struct pending_key`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct PendingKey {
    pub slot: u32,
    pub tid: u32,
}

/// `struct return_event`: a return probe's merged event.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct ReturnEvent {
    pub header: EventHeader,
    pub selector: u32,
    pub action: u32,
    pub action_arg: i32,
    pub _pad: u32,
    pub ret: EventArg,
    pub enter: HookEvent,
}

/// Bytes of a return event before the entry's arguments.
pub const RETURN_EVENT_FIXED: usize = std::mem::offset_of!(ReturnEvent, enter) + HOOK_EVENT_FIXED;

// SAFETY: plain #[repr(C)] data without padding holes that matter to the
// kernel (it reads them as bytes) and valid for any bit pattern.
unsafe impl aya::Pod for HookConfig {}
unsafe impl aya::Pod for SyscallHooks {}
unsafe impl aya::Pod for FuncHooks {}
unsafe impl aya::Pod for HookGate {}
unsafe impl aya::Pod for StrKeyData {}
unsafe impl aya::Pod for Process {}
unsafe impl aya::Pod for PendingKey {}
unsafe impl aya::Pod for ReturnEvent {}
unsafe impl aya::Pod for CelProg {}

// ---- USDT probes -------------------------------------------------------------

/// `USDT_*`: where a USDT argument is.
pub mod usdt_kind {
    pub const CONST: u8 = 1;
    pub const REG: u8 = 2;
    pub const REG_DEREF: u8 = 3;
    pub const SIB: u8 = 4;
}

/// `struct usdt_arg`: one argument of a USDT site.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct UsdtArg {
    pub val_off: u64,
    pub reg_off: u16,
    pub reg_idx_off: u16,
    pub shift: u8,
    pub kind: u8,
    pub sig: u8,
    pub scale: u8,
}

/// `struct usdt_spec`: a USDT site's arguments and its selectors' Set actions (map `usdt`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct UsdtSpec {
    pub args: [UsdtArg; MAX_ARGS],
    pub set_arg: [u8; MAX_SELECTORS],
    pub _pad: [u8; 3],
    pub set_value: [u32; MAX_SELECTORS],
    pub _pad2: u32,
}

unsafe impl aya::Pod for UsdtSpec {}

/// Reads a `T` from a record that may stop early (a hook event sends only the arguments its
/// hook declares): at least `min` bytes must be there, the rest reads as zeros.
pub fn read_record_prefix<T: Copy>(bytes: &[u8], min: usize) -> Option<T> {
    let size = std::mem::size_of::<T>();
    if bytes.len() < min.min(size) {
        return None;
    }
    let mut buf = vec![0u8; size];
    let n = bytes.len().min(size);
    buf[..n].copy_from_slice(&bytes[..n]);
    read_record(&buf)
}

/// Bytes of a hook event before its arguments (what a hook without arguments sends).
pub const HOOK_EVENT_FIXED: usize = std::mem::offset_of!(HookEvent, args);

/// Reads a `T` from the start of a ring-buffer record, if it is long enough.
pub fn read_record<T: Copy>(bytes: &[u8]) -> Option<T> {
    if bytes.len() < std::mem::size_of::<T>() {
        return None;
    }
    // SAFETY: length checked; every T used here is plain data valid for any
    // bit pattern, and read_unaligned has no alignment requirement.
    Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const T) })
}

// ---- CelExpr -------------------------------------------------------------------------------

/// `CEL_MAX_INSNS`: instructions of one CelExpr program.
pub const CEL_MAX_INSNS: usize = 32;
/// `CEL_STACK`: values on a CelExpr program's stack.
pub const CEL_STACK: usize = 8;
/// `MAX_CEL_PROGS`: CelExpr programs loaded at once (`cel_progs` entries).
pub const MAX_CEL_PROGS: usize = 256;

/// `enum cel_op`.
pub mod cel_op {
    pub const PUSH: u8 = 1;
    pub const ARG: u8 = 2;
    pub const EQ: u8 = 3;
    pub const NE: u8 = 4;
    pub const LT: u8 = 5;
    pub const LE: u8 = 6;
    pub const GT: u8 = 7;
    pub const GE: u8 = 8;
    pub const ADD: u8 = 9;
    pub const SUB: u8 = 10;
    pub const BAND: u8 = 11;
    pub const BOR: u8 = 12;
    pub const BXOR: u8 = 13;
    pub const BNOT: u8 = 14;
    pub const LAND: u8 = 15;
    pub const LOR: u8 = 16;
    pub const LNOT: u8 = 17;
    pub const TO_S32: u8 = 18;
    pub const TO_U32: u8 = 19;
}

/// `enum cel_ty`.
pub mod cel_ty {
    pub const S64: u8 = 0;
    pub const U64: u8 = 1;
    pub const S32: u8 = 2;
    pub const U32: u8 = 3;
    pub const BOOL: u8 = 4;
}

/// `struct cel_insn`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct CelInsn {
    pub op: u8,
    pub ty: u8,
    pub arg: u8,
    pub _pad: [u8; 5],
    pub imm: i64,
}

/// `struct cel_prog`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct CelProg {
    pub len: u32,
    pub _pad: u32,
    pub insns: [CelInsn; CEL_MAX_INSNS],
}

impl Default for CelProg {
    fn default() -> Self {
        CelProg {
            len: 0,
            _pad: 0,
            insns: [CelInsn::default(); CEL_MAX_INSNS],
        }
    }
}

/// Register assignments per selector of a uprobe Override (`REGS_MAX`, Tetragon's).
pub const REGS_MAX: usize = 18;
/// `struct pt_regs` in 8-byte words on x86_64 (`PT_REGS_WORDS`).
pub const PT_REGS_WORDS: usize = 21;

/// `REG_ASS_*`: what a register assignment of a uprobe Override takes (Tetragon's
/// `ASM_ASSIGNMENT_TYPE_*`).
pub mod reg_ass {
    pub const CONST: u8 = 1;
    pub const REG: u8 = 2;
    pub const REG_OFF: u8 = 3;
    pub const REG_DEREF: u8 = 4;
}

/// `struct reg_assignment`: one register assignment of a uprobe Override.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct RegAssignment {
    pub off: u64,
    pub src: u16,
    pub dst: u16,
    pub src_size: u8,
    pub dst_size: u8,
    pub ty: u8,
    pub _pad: u8,
}

/// `struct uprobe_regs`: a selector's register assignments (map `uprobe_regs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct UprobeRegs {
    pub ass: [RegAssignment; REGS_MAX],
    pub cnt: u32,
    pub _pad: u32,
}

unsafe impl aya::Pod for UprobeRegs {}
