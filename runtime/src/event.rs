//! Decoding the records the BPF programs write to the ring buffer.
//!
//! A record is the raw bytes of one `struct exec_event`, `struct exit_event`,
//! `struct fork_event`, `struct hook_event`, `struct return_event` or `struct data_event` (see
//! `runtime/bpf/common.h`). [`decode`] is total:
//! a short, unknown or garbage record gives `None`, never a panic; lengths the
//! kernel claims are clamped to the buffers they describe.

use crate::layout::{
    arg_type, event_type, read_record, read_record_prefix, BpfInfo, CredInfo, DataEvent, EventArg,
    EventHeader, ExecEvent, ExitEvent, ForkEvent, HookEvent, MapInfo, ModuleInfo, PerfInfo,
    ReturnEvent, SkbInfo, SockTuple, UserNsInfo, ARGV_BUF, ARG_BUF, DATA_CHUNK, DATA_EVENT_FIXED,
    HOOK_EVENT_FIXED, RETURN_EVENT_FIXED, STACK_KERNEL, STACK_USER,
};

/// The fields every event starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// Thread group id (the process id).
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Real uid of the task.
    pub uid: u32,
    /// When the event happened, in ns since boot (`bpf_ktime_get_boot_ns`).
    pub ktime: u64,
}

impl From<EventHeader> for Header {
    fn from(h: EventHeader) -> Self {
        Header {
            pid: h.pid,
            tid: h.tid,
            uid: h.uid,
            ktime: h.ktime,
        }
    }
}

/// A process executed a binary (`execve`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exec {
    /// Common fields.
    pub header: Header,
    /// Parent's thread group id.
    pub ppid: u32,
    /// When the task started, in ns since boot.
    pub start_boottime: u64,
    /// The pid in the task's own pid namespace (1: the namespace's init).
    pub nspid: u32,
    /// The login uid, read in the kernel at the exec.
    pub auid: u32,
    /// The binary's path.
    pub binary: String,
    /// The working directory at exec (empty when the kernel could not tell).
    pub cwd: String,
    /// The argument vector, `argv[0]` included, as far as [`Exec::args`] goes.
    pub argv: Vec<String>,
    /// The argument bytes read (NUL-separated, `argv[0]` first): the event's own, then those of
    /// the [`Event::Data`] records sent before it, once joined ([`Exec::join_data`]).
    pub args: Vec<u8>,
    /// Bytes of the process's whole argument area (`mm->arg_end - arg_start`).
    pub args_total: u32,
    /// Bytes of it the kernel sent in [`Event::Data`] records before this event.
    pub args_data: u32,
    /// Length of the name `execve` was given (`bprm->filename`).
    pub filename_len: u32,
    /// The name of the task's cgroup (empty when unknown).
    pub cgroup: String,
    /// The task's credentials after the exec.
    pub cred: CredInfo,
    /// Its namespaces' inode numbers, by `layout::ns_kind`.
    pub ns: [u32; crate::layout::NS_KINDS],
}

impl Exec {
    /// Appends the bytes of the [`Event::Data`] records that came before this exec.
    pub fn join_data(&mut self, data: &[u8]) {
        self.args.extend_from_slice(data);
        self.argv = split_argv(&self.args);
    }
}

/// More of the next exec's arguments (`EVENT_DATA`): its header is that exec's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
    /// The exec's header (pid and ktime identify it).
    pub header: Header,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// A process forked without exec: it runs its parent's binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fork {
    /// Common fields; `pid` is the child.
    pub header: Header,
    /// The parent's thread group id.
    pub ppid: u32,
    /// The child's start, in ns since boot.
    pub start_boottime: u64,
}

/// A process exited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// Common fields.
    pub header: Header,
    /// Parent's thread group id.
    pub ppid: u32,
    /// The wait status: `code << 8 | signal`.
    pub exit_code: u32,
}

impl Exit {
    /// The signal that killed the process, 0 if it exited normally.
    pub fn signal(&self) -> u32 {
        self.exit_code & 0x7f
    }

    /// The exit status (the low byte of the code passed to `exit`).
    pub fn status(&self) -> u32 {
        (self.exit_code >> 8) & 0xff
    }
}

/// One argument of a hook event, as the kernel read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Nothing was read (`ARG_NONE`), or the slot is unused.
    None,
    /// A signed integer (`ARG_INT`).
    Int(i64),
    /// An unsigned integer (`ARG_UINT`), or a capability set (`ARG_CAPS`).
    Uint(u64),
    /// A string (`ARG_STRING`, `ARG_FILENAME`, `ARG_NET_DEV`), up to its first NUL.
    String(String),
    /// A path (`ARG_FILE`, `ARG_PATH`, `ARG_DENTRY`, `ARG_FD`, `ARG_BINPRM`) and its inode's
    /// mode (file type and permission bits; 0 when not read).
    Path(String, u16),
    /// Raw bytes (`ARG_BYTES`).
    Bytes(Vec<u8>),
    /// A socket (`ARG_SOCK`).
    Sock(SockTuple),
    /// A type this decoder does not know.
    Unknown(u32),
    /// A value that could not be read, with its `event_arg.status`: n when load n of its
    /// `resolve` path failed, [`crate::layout::ARG_STATUS_BAD`] for a string (Tetragon's
    /// arg_status, bpf/process/generic_calls.h `read_arg`).
    Unread(u32),
    /// A packet (`ARG_SKB`).
    Skb(SkbInfo),
    /// An AF_INET or AF_INET6 address (`ARG_SOCKADDR`): family, `saddr` and `sport` are set.
    Sockaddr(SockTuple),
    /// A unix socket address (`ARG_SOCKADDR_UN`).
    SockaddrUn {
        /// `sun_family`.
        family: u16,
        /// The path, or for an abstract name the raw bytes after its leading NUL.
        path: Vec<u8>,
        /// An abstract name (the path started with a NUL).
        abstract_: bool,
    },
    /// Credentials (`ARG_CRED`).
    Cred(CredInfo),
    /// A BPF program (`ARG_BPF_ATTR`, `ARG_BPF_PROG`).
    Bpf(BpfInfo),
    /// A perf event (`ARG_PERF_EVENT`).
    PerfEvent(PerfInfo),
    /// A BPF map (`ARG_BPF_MAP`).
    BpfMap(MapInfo),
    /// A user namespace (`ARG_USER_NS`).
    UserNs(UserNsInfo),
    /// A kernel module (`ARG_MODULE`, `ARG_LOAD_INFO`); `load_info` says which (only a
    /// `load_info` has `sig_ok`).
    Module {
        /// What was read.
        info: ModuleInfo,
        /// Read from a `struct load_info`.
        load_info: bool,
    },
}

impl Arg {
    /// Decodes one `struct event_arg`.
    pub fn from_raw(raw: &EventArg) -> Arg {
        if raw.status != 0 {
            return Arg::Unread(raw.status);
        }
        let ty = raw.ty;
        if ty > u8::MAX as u32 {
            return Arg::Unknown(ty);
        }
        match ty as u8 {
            arg_type::NONE => Arg::None,
            arg_type::INT => Arg::Int(raw.value()),
            arg_type::UINT | arg_type::CAPS => Arg::Uint(raw.value() as u64),
            arg_type::STRING | arg_type::FILENAME | arg_type::NET_DEV => {
                Arg::String(c_string(raw.bytes()))
            }
            arg_type::FILE
            | arg_type::PATH
            | arg_type::DENTRY
            | arg_type::FD
            | arg_type::BINPRM => Arg::Path(c_string(raw.bytes()), raw.mode as u16),
            arg_type::BYTES | arg_type::IOVEC => Arg::Bytes(raw.bytes().to_vec()),
            arg_type::SOCK | arg_type::SOCKET => Arg::Sock(raw.sock()),
            arg_type::SKB => Arg::Skb(raw.skb()),
            arg_type::SOCKADDR => Arg::Sockaddr(raw.sock()),
            arg_type::SOCKADDR_UN => Arg::SockaddrUn {
                family: raw.mode as u16,
                path: raw.bytes().to_vec(),
                abstract_: raw.mode & (1 << 16) != 0,
            },
            arg_type::CRED => Arg::Cred(raw.cred()),
            arg_type::BPF_ATTR | arg_type::BPF_PROG => Arg::Bpf(raw.bpf()),
            arg_type::PERF_EVENT => Arg::PerfEvent(raw.perf()),
            arg_type::BPF_MAP => Arg::BpfMap(raw.map()),
            arg_type::USER_NS => Arg::UserNs(raw.user_ns()),
            arg_type::MODULE | arg_type::LOAD_INFO => Arg::Module {
                info: raw.module(),
                load_info: ty as u8 == arg_type::LOAD_INFO,
            },
            arg_type::KIOCB => Arg::Path(c_string(raw.bytes()), raw.mode as u16),
            arg_type::IOV_ITER => Arg::Bytes(raw.bytes().to_vec()),
            arg_type::DATA_LOC => Arg::String(c_string(raw.bytes())),
            arg_type::CONST_BUF => Arg::Bytes(raw.bytes().to_vec()),
            _ => Arg::Unknown(ty),
        }
    }
}

/// A hook (kprobe, tracepoint, LSM, uprobe) matched and posted an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// Common fields.
    pub header: Header,
    /// The hook's slot: [`crate::plan::Plan::hook`] finds its plan.
    pub slot: u32,
    /// Index of the selector that matched, or 255.
    pub selector: u32,
    /// The action taken (`layout::action::*`).
    pub action: u32,
    /// The action's argument: signal number or override value.
    pub action_arg: i32,
    /// Raw syscall hooks: the syscall number.
    pub syscall: u64,
    /// The arguments, all [`crate::layout::MAX_ARGS`] slots (unused ones are [`Arg::None`]).
    pub args: Vec<Arg>,
    /// A return probe's return half (`EVENT_RETURN`); `None` for an entry's own event.
    pub ret: Option<Return>,
    /// Post's `kernelStackTrace` / `userStackTrace`: the ids the event carries, then the
    /// frames ([`crate::stacks::Symbolizer`] fills them); `None` when none was asked.
    pub stacks: Option<Box<Stacks>>,
}

/// The stacks of a hook event (Post's `kernelStackTrace` / `userStackTrace`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stacks {
    /// The kernel stack's id in `stack_traces` (or -errno); `None` when not asked.
    pub kernel_id: Option<i32>,
    /// The user stack's id (or -errno); `None` when not asked.
    pub user_id: Option<i32>,
    /// The kernel frames, innermost first (Tetragon's `kernel_stack_trace`).
    pub kernel: Vec<crate::stacks::StackEntry>,
    /// The user frames, innermost first (Tetragon's `user_stack_trace`).
    pub user: Vec<crate::stacks::StackEntry>,
}

/// The stack ids a hook event carries, from its `stack_flags`.
fn stacks_of(raw: &HookEvent) -> Option<Box<Stacks>> {
    let kernel = raw.stack_flags & STACK_KERNEL != 0;
    let user = raw.stack_flags & STACK_USER != 0;
    (kernel || user).then(|| {
        Box::new(Stacks {
            kernel_id: kernel.then_some(raw.kernel_stack_id),
            user_id: user.then_some(raw.user_stack_id),
            ..Default::default()
        })
    })
}

/// What a return probe (`return: true`) adds to its entry's event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Return {
    /// The return value, read as `returnArg` says.
    pub value: Arg,
    /// Index of the return selector that matched, or 255.
    pub selector: u32,
    /// The action taken at the return (`layout::action::*`).
    pub action: u32,
    /// The action's argument: the signal number.
    pub action_arg: i32,
}

/// A decoded ring-buffer record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `EVENT_EXEC`.
    Exec(Exec),
    /// `EVENT_EXIT`.
    Exit(Exit),
    /// `EVENT_FORK`: only updates the process cache; Tetragon prints no event for it.
    Fork(Fork),
    /// `EVENT_HOOK`.
    Hook(Hook),
    /// `EVENT_DATA`: joined to the exec that follows it; printed as nothing.
    Data(Data),
}

impl Event {
    /// The common header.
    pub fn header(&self) -> &Header {
        match self {
            Event::Exec(e) => &e.header,
            Event::Exit(e) => &e.header,
            Event::Fork(e) => &e.header,
            Event::Hook(e) => &e.header,
            Event::Data(e) => &e.header,
        }
    }
}

/// Decodes one ring-buffer record; `None` when it is short or of an unknown type.
pub fn decode(bytes: &[u8]) -> Option<Event> {
    let header: EventHeader = read_record(bytes)?;
    match header.ty {
        event_type::EXEC => {
            let raw: ExecEvent = read_record(bytes)?;
            let binary = c_string(&raw.binary[..(raw.binary_len as usize).min(ARG_BUF)]);
            let args = &raw.args[..(raw.args_len as usize).min(ARGV_BUF)];
            Some(Event::Exec(Exec {
                header: raw.header.into(),
                ppid: raw.ppid,
                start_boottime: raw.start_boottime,
                nspid: raw.nspid,
                auid: raw.auid,
                binary,
                cwd: c_string(&raw.cwd[..(raw.cwd_len as usize).min(ARG_BUF)]),
                argv: split_argv(args),
                args: args.to_vec(),
                args_total: raw.args_total,
                args_data: raw.args_data,
                filename_len: raw.filename_len,
                cgroup: c_string(&raw.cgroup),
                cred: raw.cred,
                ns: raw.ns,
            }))
        }
        event_type::DATA => {
            // the record is as long as its data: read the fixed part, then the bytes both the
            // record and its `len` say are there
            let len_at = std::mem::offset_of!(DataEvent, len);
            let len = u32::from_ne_bytes(bytes.get(len_at..len_at + 4)?.try_into().ok()?);
            let data = bytes.get(DATA_EVENT_FIXED..)?;
            let len = (len as usize).min(DATA_CHUNK).min(data.len());
            Some(Event::Data(Data {
                header: header.into(),
                bytes: data[..len].to_vec(),
            }))
        }
        event_type::EXIT => {
            let raw: ExitEvent = read_record(bytes)?;
            Some(Event::Exit(Exit {
                header: raw.header.into(),
                ppid: raw.ppid,
                exit_code: raw.exit_code,
            }))
        }
        event_type::FORK => {
            let raw: ForkEvent = read_record(bytes)?;
            Some(Event::Fork(Fork {
                header: raw.header.into(),
                ppid: raw.ppid,
                start_boottime: raw.start_boottime,
            }))
        }
        event_type::HOOK => {
            let raw: HookEvent = read_record_prefix(bytes, HOOK_EVENT_FIXED)?;
            Some(Event::Hook(Hook {
                header: raw.header.into(),
                slot: raw.slot,
                selector: raw.selector,
                action: raw.action,
                action_arg: raw.action_arg,
                syscall: raw.syscall,
                args: raw.args.iter().map(Arg::from_raw).collect(),
                ret: None,
                stacks: stacks_of(&raw),
            }))
        }
        event_type::RETURN => {
            // the entry's event with the return: its header is the entry's (time, thread)
            let raw: ReturnEvent = read_record_prefix(bytes, RETURN_EVENT_FIXED)?;
            let enter = raw.enter;
            Some(Event::Hook(Hook {
                header: raw.header.into(),
                slot: enter.slot,
                selector: enter.selector,
                action: enter.action,
                action_arg: enter.action_arg,
                syscall: enter.syscall,
                args: enter.args.iter().map(Arg::from_raw).collect(),
                ret: Some(Return {
                    value: Arg::from_raw(&raw.ret),
                    selector: raw.selector,
                    action: raw.action,
                    action_arg: raw.action_arg,
                }),
                stacks: stacks_of(&enter),
            }))
        }
        _ => None,
    }
}

/// The bytes up to the first NUL, as UTF-8 (invalid sequences replaced).
pub fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Splits a NUL-separated argument vector (a trailing NUL ends it, it does not
/// add an empty argument).
pub fn split_argv(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_splitting() {
        assert_eq!(split_argv(b""), Vec::<String>::new());
        assert_eq!(split_argv(b"\0"), Vec::<String>::new());
        assert_eq!(split_argv(b"ls\0-l\0/tmp\0"), vec!["ls", "-l", "/tmp"]);
        assert_eq!(split_argv(b"ls\0-l"), vec!["ls", "-l"]);
        assert_eq!(split_argv(b"a\0\0b\0"), vec!["a", "", "b"]);
    }

    #[test]
    fn c_strings_stop_at_nul() {
        assert_eq!(c_string(b"/bin/ls\0garbage"), "/bin/ls");
        assert_eq!(c_string(b"/bin/ls"), "/bin/ls");
        assert_eq!(c_string(b"\xff/x"), "\u{fffd}/x");
    }

    #[test]
    fn short_and_unknown_records_are_none() {
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[1, 0, 0]), None);
        let mut header = vec![0u8; 24];
        header[0] = 1; // EXEC, but only a header
        assert_eq!(decode(&header), None);
        header[0] = 99;
        assert_eq!(decode(&header), None);
    }
}
