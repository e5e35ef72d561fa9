//! Facts about Tetragon's policy language that more than one check (and later the language
//! server and the runtime) reads: argument type classes, the operator table, the action table,
//! limits, and the names of capabilities, namespaces, signals, protocols, families and states.
//!
//! Each fact lives here once. Sources are Tetragon's `pkg/selectors/kernel.go`,
//! `pkg/generictypes/generictypes.go` and `bpf/process/types/basic.h` (see
//! `../shared/reference/tetragon-policy-facts.md` §3–§6).

/// Most selectors per hook (`MaxSelectors`).
pub const MAX_SELECTORS: usize = 5;
/// Most matchArgs + matchData filters per selector (kernels with large programs).
pub const MAX_ARG_FILTERS: usize = 5;
/// Most actions per selector (`MAX_ACTIONS`).
pub const MAX_ACTIONS: usize = 3;
/// Most values of an integer comparison, InRange or FileType (`MAX_MATCH_VALUES`).
pub const MAX_MATCH_VALUES: usize = 4;
/// Most matchPIDs values the BPF side reads (`MAX_SELECTOR_VALUES`).
pub const MAX_PID_VALUES: usize = 4;
/// Most matchNamespaces values per filter.
pub const MAX_NAMESPACE_VALUES: usize = 4;
/// Most matchNamespaces filters per selector (large programs).
pub const MAX_NAMESPACE_FILTERS: usize = 10;
/// Most args + data per kprobe (`EventConfigMaxArgs`).
pub const MAX_ARGS: usize = 5;
/// Highest arg index of kprobes, uprobes and LSM hooks.
pub const MAX_ARG_INDEX: i64 = 4;
/// Highest arg index of raw tracepoints.
pub const MAX_RAW_TP_INDEX: i64 = 5;
/// Highest `sizeArgIndex` (1-based).
pub const MAX_SIZE_ARG_INDEX: i64 = 15;
/// Longest string compared with Equal (kernels 5.11+), in bytes.
pub const MAX_EQUAL_LEN: usize = 4096;
/// Longest Prefix value, in bytes.
pub const MAX_PREFIX_LEN: usize = 256;
/// Longest Postfix value, in bytes.
pub const MAX_POSTFIX_LEN: usize = 127;
/// Longest SubString value, in characters.
pub const MAX_SUBSTRING_LEN: usize = 99;
/// Longest matchBinaries In/NotIn path, in bytes.
pub const MAX_BINARY_PATH: usize = 255;
/// Most tags per hook, and their length bounds.
pub const MAX_TAGS: usize = 16;
/// Shortest tag.
pub const MIN_TAG_LEN: usize = 2;
/// Longest tag (longer ones are cut).
pub const MAX_TAG_LEN: usize = 128;
/// Shortest message.
pub const MIN_MESSAGE_LEN: usize = 2;
/// Longest message (longer ones are cut).
pub const MAX_MESSAGE_LEN: usize = 256;
/// Most CelExpr filters per policy.
pub const MAX_CEL_EXPRS: usize = 8;

/// How an argument type can be filtered in the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgClass {
    /// Signed integer compared as 32 bits (int, int8, int16, int32, size_t, bpf_cmd).
    Int32,
    /// Unsigned integer compared as 32 bits (uint8, uint16, uint32).
    Uint32,
    /// Signed 64-bit integer (long, int64, sint64, syscall64).
    Int64,
    /// Unsigned 64-bit integer (ulong, uint64).
    Uint64,
    /// Read as a string or a path (fd, file, path, dentry, string, char_buf, linux_binprm,
    /// data_loc, net_device).
    Str,
    /// A socket or packet (sock, skb, socket).
    Net,
    /// `struct sockaddr *`: source address, source port and family only.
    Sockaddr,
    /// `struct sockaddr_un *`: family and Equal/NotEqual/Prefix/NotPrefix on the path.
    SockaddrUn,
    /// A capability set (kernel_cap_t, cap_inheritable, cap_permitted, cap_effective).
    Cap,
    /// Printed in events but never filtered in the kernel.
    Opaque,
}

impl ArgClass {
    /// True for the integer classes.
    pub fn is_int(self) -> bool {
        matches!(
            self,
            ArgClass::Int32 | ArgClass::Uint32 | ArgClass::Int64 | ArgClass::Uint64
        )
    }
}

/// The filter class of an arg `type`.
pub fn arg_class(ty: &str) -> ArgClass {
    match ty {
        "int" | "sint8" | "int8" | "sint16" | "int16" | "sint32" | "int32" | "size_t"
        | "bpf_cmd" => ArgClass::Int32,
        "uint8" | "uint16" | "uint32" => ArgClass::Uint32,
        "long" | "sint64" | "int64" | "syscall64" => ArgClass::Int64,
        "ulong" | "uint64" => ArgClass::Uint64,
        "fd" | "file" | "path" | "dentry" | "string" | "char_buf" | "linux_binprm" | "data_loc"
        | "net_device" => ArgClass::Str,
        "sock" | "skb" | "socket" => ArgClass::Net,
        "sockaddr" => ArgClass::Sockaddr,
        "sockaddr_un" => ArgClass::SockaddrUn,
        "kernel_cap_t" | "cap_inheritable" | "cap_permitted" | "cap_effective" => ArgClass::Cap,
        _ => ArgClass::Opaque,
    }
}

/// What one meaning of an arg type is, for hover and messages.
pub fn arg_type_doc(ty: &str) -> &'static str {
    match ty {
        "int" | "int32" | "sint32" => "a signed 32-bit integer",
        "int8" | "sint8" => "a signed 8-bit integer",
        "int16" | "sint16" => "a signed 16-bit integer",
        "uint8" => "an unsigned 8-bit integer",
        "uint16" => "an unsigned 16-bit integer (umode_t, ...)",
        "uint32" => "an unsigned 32-bit integer",
        "long" | "int64" | "sint64" => "a signed 64-bit integer",
        "ulong" | "uint64" => "an unsigned 64-bit integer or a pointer value",
        "size_t" => "a size (compared as a signed 32-bit integer)",
        "string" => "a NUL-terminated string (`char *`)",
        "char_buf" => "a buffer whose size another argument gives (sizeArgIndex)",
        "char_iovec" => "an iovec array of buffers",
        "fd" => "a file descriptor, resolved to the file's path",
        "file" => "a `struct file *`, read as its path",
        "path" => "a `struct path *`, read as its path",
        "dentry" => "a `struct dentry *`, read as its path",
        "filename" => "a `struct filename *`, read as its name",
        "linux_binprm" => "a `struct linux_binprm *`, read as the executable's path",
        "sock" => "a `struct sock *`: addresses, ports, protocol, family, state",
        "skb" => "a `struct sk_buff *`: addresses, ports, protocol",
        "socket" => "a `struct socket *`: like sock",
        "sockaddr" => "a `struct sockaddr *`: address, port, family",
        "sockaddr_un" => "a `struct sockaddr_un *`: a unix socket path",
        "net_device" => "a `struct net_device *`, read as the device name",
        "cred" => "a `struct cred *`: uids, gids, capabilities",
        "kernel_cap_t" | "cap_inheritable" | "cap_permitted" | "cap_effective" => {
            "a capability set"
        }
        "syscall64" => "a 64-bit syscall number (raw_syscalls tracepoints)",
        "nop" => "read but not printed (for example the size of a buffer)",
        "auto" => "the type the tracepoint's format gives (tracepoints only)",
        "const_buf" => "a fixed-size array of a tracepoint",
        "data_loc" => "a tracepoint's __data_loc string",
        _ => "a kernel object printed in events",
    }
}

/// The operator's family, which decides the value format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// Equal, NotEqual: strings or integers by the arg's class.
    Equality,
    /// Prefix, NotPrefix.
    Prefix,
    /// Postfix, NotPostfix.
    Postfix,
    /// GT, LT.
    Compare,
    /// Mask.
    Mask,
    /// InMap, NotInMap.
    InMap,
    /// InRange, NotInRange.
    Range,
    /// SubString, SubStringIgnCase.
    SubString,
    /// SPort, NotSPort, DPort, NotDPort.
    Port,
    /// SPortPriv, NotSportPriv, DPortPriv, NotDPortPriv.
    PortPriv,
    /// SAddr, NotSAddr, DAddr, NotDAddr.
    Addr,
    /// Protocol.
    Protocol,
    /// Family.
    Family,
    /// State.
    State,
    /// FileType, NotFileType.
    FileType,
    /// CapabilitiesGained.
    CapGained,
    /// CelExpr.
    Cel,
}

/// One `matchArgs` operator.
#[derive(Debug)]
pub struct Operator {
    /// Its CRD spelling.
    pub name: &'static str,
    /// Its family.
    pub kind: OpKind,
    /// True for a destination (DPort, DAddr, DPortPriv ...): not on sockaddr.
    pub destination: bool,
    /// What it does, for hover and completion.
    pub doc: &'static str,
}

const fn op(name: &'static str, kind: OpKind, destination: bool, doc: &'static str) -> Operator {
    Operator {
        name,
        kind,
        destination,
        doc,
    }
}

/// Every `matchArgs` operator (the CRD enum), with its family.
pub static OPERATORS: &[Operator] = &[
    op(
        "Equal",
        OpKind::Equality,
        false,
        "The argument equals one of the values.",
    ),
    op(
        "NotEqual",
        OpKind::Equality,
        false,
        "The argument equals none of the values.",
    ),
    op(
        "Prefix",
        OpKind::Prefix,
        false,
        "The string starts with one of the values.",
    ),
    op(
        "NotPrefix",
        OpKind::Prefix,
        false,
        "The string starts with none of the values.",
    ),
    op(
        "Postfix",
        OpKind::Postfix,
        false,
        "The string ends with one of the values.",
    ),
    op(
        "NotPostfix",
        OpKind::Postfix,
        false,
        "The string ends with none of the values.",
    ),
    op(
        "GreaterThan",
        OpKind::Compare,
        false,
        "The integer is greater than the value.",
    ),
    op(
        "LessThan",
        OpKind::Compare,
        false,
        "The integer is less than the value.",
    ),
    op(
        "GT",
        OpKind::Compare,
        false,
        "The integer is greater than the value.",
    ),
    op(
        "LT",
        OpKind::Compare,
        false,
        "The integer is less than the value.",
    ),
    op(
        "Mask",
        OpKind::Mask,
        false,
        "The integer has any bit of the value set.",
    ),
    op(
        "SPort",
        OpKind::Port,
        false,
        "The source port is one of the values (ports or ranges).",
    ),
    op(
        "NotSPort",
        OpKind::Port,
        false,
        "The source port is none of the values.",
    ),
    op(
        "SPortPriv",
        OpKind::PortPriv,
        false,
        "The source port is privileged (0-1023).",
    ),
    op(
        "NotSportPriv",
        OpKind::PortPriv,
        false,
        "The source port is not privileged.",
    ),
    op(
        "DPort",
        OpKind::Port,
        true,
        "The destination port is one of the values (ports or ranges).",
    ),
    op(
        "NotDPort",
        OpKind::Port,
        true,
        "The destination port is none of the values.",
    ),
    op(
        "DPortPriv",
        OpKind::PortPriv,
        true,
        "The destination port is privileged (0-1023).",
    ),
    op(
        "NotDPortPriv",
        OpKind::PortPriv,
        true,
        "The destination port is not privileged.",
    ),
    op(
        "SAddr",
        OpKind::Addr,
        false,
        "The source address is in one of the addresses or CIDRs.",
    ),
    op(
        "NotSAddr",
        OpKind::Addr,
        false,
        "The source address is in none of them.",
    ),
    op(
        "DAddr",
        OpKind::Addr,
        true,
        "The destination address is in one of the addresses or CIDRs.",
    ),
    op(
        "NotDAddr",
        OpKind::Addr,
        true,
        "The destination address is in none of them.",
    ),
    op(
        "Protocol",
        OpKind::Protocol,
        true,
        "The IP protocol is one of the values (IPPROTO_TCP, 6, ...).",
    ),
    op(
        "Family",
        OpKind::Family,
        false,
        "The address family is one of the values (AF_INET, 2, ...).",
    ),
    op(
        "State",
        OpKind::State,
        true,
        "The TCP state is one of the values (TCP_ESTABLISHED, ...).",
    ),
    op(
        "InMap",
        OpKind::InMap,
        false,
        "The integer is in the set (values, ranges `a:b`, or `list:NAME`).",
    ),
    op(
        "NotInMap",
        OpKind::InMap,
        false,
        "The integer is not in the set.",
    ),
    op(
        "CapabilitiesGained",
        OpKind::CapGained,
        false,
        "The new capability set (args[0]) has capabilities the old one (args[1]) lacks.",
    ),
    op(
        "InRange",
        OpKind::Range,
        false,
        "The integer is in one of the ranges `min:max`.",
    ),
    op(
        "NotInRange",
        OpKind::Range,
        false,
        "The integer is in none of the ranges.",
    ),
    op(
        "SubString",
        OpKind::SubString,
        false,
        "The string contains one of the values.",
    ),
    op(
        "SubStringIgnCase",
        OpKind::SubString,
        false,
        "The string contains one of the values, ignoring case.",
    ),
    op(
        "CelExpr",
        OpKind::Cel,
        false,
        "A CEL expression over arg0, arg1, ... is true.",
    ),
    op(
        "FileType",
        OpKind::FileType,
        false,
        "The file is of one of the types (reg, dir, lnk, ...).",
    ),
    op(
        "NotFileType",
        OpKind::FileType,
        false,
        "The file is of none of the types.",
    ),
];

/// The operator named `name` (CRD spelling).
pub fn operator(name: &str) -> Option<&'static Operator> {
    OPERATORS.iter().find(|o| o.name == name)
}

/// Whether operator `op` does what it says on an arg of type `ty` (its CRD spelling), as
/// [`verdict`] decides: `Err` says why not (refused by Tetragon, or loads and never matches, or
/// not filtered at all). Completion and hover offer and describe operators with it.
pub fn operator_fits(op: &Operator, ty: &str) -> Result<(), String> {
    match verdict(op, sel_type(ty), ty) {
        Verdict::Fits => Ok(()),
        Verdict::Refused { why, .. } => Err(why),
        Verdict::NeverMatches(why) => {
            Err(format!("Tetragon loads it, but it never matches: {why}"))
        }
        Verdict::Ignored => Err(format!(
            "Tetragon loads it, but the BPF side does not filter `{ty}` args, so every call passes"
        )),
    }
}

/// How Tetragon reads an integer argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntType {
    /// Go parses values with `ParseInt` (true) or `ParseUint` (false).
    pub signed: bool,
    /// Bits of Go's parse of Equal/GT/LT/Mask values, and of InRange limits: 32 or 64.
    pub bits: u32,
    /// Bits the BPF side reads from the argument: 8, 16, 32 or 64.
    pub read_bits: u32,
    /// The BPF side compares ranges, GT and LT as signed numbers (int, int32, long, int64).
    pub bpf_signed: bool,
}

/// How Tetragon's selector compiler and BPF filters treat an argument type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelType {
    /// An integer.
    Int(IntType),
    /// Read as a path: fd, file, path, dentry, linux_binprm (`file_type`: file and path, which
    /// FileType takes).
    Path {
        /// FileType works on it.
        file_type: bool,
    },
    /// Read as a string or buffer: string, char_buf, data_loc, net_device.
    Buf {
        /// `char_buf` (Postfix keeps trailing NULs).
        char_buf: bool,
        /// `string` (Equal drops trailing NULs).
        string: bool,
    },
    /// `sockaddr_un`.
    SockaddrUn,
    /// `sock` or `socket`.
    Sock,
    /// `skb`.
    Skb,
    /// `sockaddr`.
    Sockaddr,
    /// A capability set.
    Cap,
    /// Anything else: filename, cred, bpf_attr, bpf_cmd, nop ... Tetragon's selector code
    /// has no case for it, and the BPF side does not filter it.
    Other,
}

impl SelType {
    /// Read as a string or path (the types Equal and SubString compare as strings).
    pub fn is_string(self) -> bool {
        matches!(
            self,
            SelType::Path { .. } | SelType::Buf { .. } | SelType::SockaddrUn
        )
    }

    /// A socket or packet (sock, socket, skb, sockaddr).
    pub fn is_net(self) -> bool {
        matches!(self, SelType::Sock | SelType::Skb | SelType::Sockaddr)
    }
}

/// The selector type of an arg `type` (its spelling in the CRD).
pub fn sel_type(name: &str) -> SelType {
    let int = |signed, bits, read_bits, bpf_signed| {
        SelType::Int(IntType {
            signed,
            bits,
            read_bits,
            bpf_signed,
        })
    };
    match name {
        "int" | "int32" | "sint32" => int(true, 32, 32, true),
        "size_t" => int(true, 32, 32, false),
        "int16" | "sint16" => int(true, 32, 16, false),
        "int8" | "sint8" => int(true, 32, 8, false),
        "uint32" => int(false, 32, 32, false),
        "uint16" => int(false, 32, 16, false),
        "uint8" => int(false, 32, 8, false),
        "long" | "int64" | "sint64" => int(true, 64, 64, true),
        "syscall64" => int(true, 64, 64, false),
        "ulong" | "uint64" => int(false, 64, 64, false),
        "file" | "path" => SelType::Path { file_type: true },
        "fd" | "dentry" | "linux_binprm" => SelType::Path { file_type: false },
        "string" => SelType::Buf {
            char_buf: false,
            string: true,
        },
        "char_buf" => SelType::Buf {
            char_buf: true,
            string: false,
        },
        "data_loc" | "net_device" => SelType::Buf {
            char_buf: false,
            string: false,
        },
        "sockaddr_un" => SelType::SockaddrUn,
        "sock" | "socket" => SelType::Sock,
        "skb" => SelType::Skb,
        "sockaddr" => SelType::Sockaddr,
        "kernel_cap_t" | "cap_inheritable" | "cap_permitted" | "cap_effective" => SelType::Cap,
        _ => SelType::Other,
    }
}

/// What Tetragon does with an operator on an argument type ([`verdict`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It compiles and compares.
    Fits,
    /// Tetragon refuses the policy (always, or only when the filter has values: the check
    /// sits in the loop over the values).
    Refused {
        /// Tetragon's reason, in words.
        why: String,
        /// Refused only when the filter has values (the check sits in the loop over them).
        only_with_values: bool,
    },
    /// It loads, but the BPF filter never matches.
    NeverMatches(String),
    /// It loads, but the BPF side does not filter this type: every call passes.
    Ignored,
}

/// What Tetragon's selector compiler (`pkg/selectors/kernel.go` ParseMatchArg and friends) and
/// its BPF filters (`bpf/process/types/basic.h`) do with operator `op` on an argument of
/// selector type `ty` (written `name`). The one table of operators × arg types: the checks,
/// completion and hover all read it.
pub fn verdict(op: &Operator, ty: SelType, name: &str) -> Verdict {
    use SelType as T;
    let refused = |why: String| Verdict::Refused {
        why,
        only_with_values: false,
    };
    let refused_with_values = |why: String| Verdict::Refused {
        why,
        only_with_values: true,
    };
    let net_only = || {
        refused(format!(
            "Tetragon takes socket operators on sock, skb, socket and sockaddr args only (\"sock/socket/skb/sockaddr operators specified for non-sock/socket/skb/sockaddr type\"), not on `{name}`"
        ))
    };
    let sockaddr_no_dest = || {
        refused("a `sockaddr` arg has only a source address and port, and a family (\"sockaddr only supports [not]saddr, [not]sport[priv], and family\")".to_string())
    };
    let sockaddr_un_only = || {
        refused("a `sockaddr_un` arg takes Family and the string operators only (\"sockaddr_un only supports Family and string operators\")".to_string())
    };
    let no_values = |what: &str| {
        refused_with_values(format!(
            "Tetragon {what} `{name}` args (\"MatchArgs type %s unsupported\")"
        ))
    };
    let never = |why: &str| Verdict::NeverMatches(why.to_string());
    match op.kind {
        OpKind::Equality => match ty {
            T::Int(_) | T::Cap | T::Path { .. } | T::Buf { .. } | T::SockaddrUn => Verdict::Fits,
            T::Sock | T::Skb | T::Sockaddr => refused_with_values(format!(
                "Tetragon refuses Equal and NotEqual on socket args (\"MatchArgs type sock, socket, skb, sockaddr and net_device do not support operator {}\")",
                op.name
            )),
            T::Other => no_values("cannot compare values with"),
        },
        OpKind::Prefix | OpKind::Postfix | OpKind::SubString => match ty {
            T::Path { .. } | T::Buf { .. } => Verdict::Fits,
            T::SockaddrUn if op.kind != OpKind::Postfix => Verdict::Fits,
            T::SockaddrUn => never("the BPF side compares a sockaddr_un path with Equal, Prefix and SubString only"),
            T::Int(_) | T::Cap => never("the BPF side compares integers and capability sets by value, not as strings"),
            T::Sock | T::Skb | T::Sockaddr => never("the BPF side compares sockets by address, port, protocol, family and state only"),
            T::Other => Verdict::Ignored,
        },
        OpKind::Compare | OpKind::Mask => match ty {
            T::Int(_) | T::Cap => Verdict::Fits,
            T::Sock | T::Skb | T::Sockaddr => refused_with_values(format!(
                "Tetragon refuses {} on socket args (\"MatchArgs type sock, socket, skb, sockaddr and net_device do not support operator\")",
                op.name
            )),
            _ => no_values("compares only integers and capability sets with GT, LT and Mask, not"),
        },
        OpKind::InMap => match ty {
            T::Int(_) => Verdict::Fits,
            _ => refused_with_values(format!(
                "InMap and NotInMap take integer args only; Tetragon refuses a value for a `{name}` arg (\"unknown type\")"
            )),
        },
        OpKind::Range => match ty {
            T::Int(_) => Verdict::Fits,
            _ => refused_with_values(format!(
                "InRange and NotInRange take integer args only (\"MatchArgs type {name} unsupported for range operators\")"
            )),
        },
        OpKind::Port | OpKind::PortPriv | OpKind::Addr => match ty {
            T::Sock | T::Skb => Verdict::Fits,
            T::Sockaddr if op.destination => sockaddr_no_dest(),
            T::Sockaddr => Verdict::Fits,
            T::SockaddrUn if op.kind == OpKind::Port => sockaddr_un_only(),
            _ => net_only(),
        },
        OpKind::Protocol | OpKind::State => match ty {
            T::Sock => Verdict::Fits,
            T::Skb if op.kind == OpKind::Protocol => Verdict::Fits,
            T::Skb => never("the BPF side reads the TCP state of sock and socket args only"),
            T::Sockaddr => sockaddr_no_dest(),
            T::SockaddrUn => sockaddr_un_only(),
            _ => net_only(),
        },
        OpKind::Family => match ty {
            T::Sock | T::Skb | T::Sockaddr | T::SockaddrUn => Verdict::Fits,
            _ => net_only(),
        },
        OpKind::FileType => match ty {
            T::Path { file_type: true } => Verdict::Fits,
            _ => refused(format!(
                "FileType and NotFileType take file and path args only (\"FileType operators specified for non-file/path type\"), not `{name}`"
            )),
        },
        OpKind::CapGained | OpKind::Cel => Verdict::Fits,
    }
}

/// Kinds of hook sections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookKind {
    /// `spec.kprobes`.
    Kprobe,
    /// `spec.fentries`.
    Fentry,
    /// `spec.tracepoints`.
    Tracepoint,
    /// `spec.uprobes`.
    Uprobe,
    /// `spec.usdts`.
    Usdt,
    /// `spec.lsmhooks`.
    Lsm,
}

impl HookKind {
    /// Every kind, with its `spec` key.
    pub const ALL: [(HookKind, &'static str); 6] = [
        (HookKind::Kprobe, "kprobes"),
        (HookKind::Fentry, "fentries"),
        (HookKind::Tracepoint, "tracepoints"),
        (HookKind::Uprobe, "uprobes"),
        (HookKind::Usdt, "usdts"),
        (HookKind::Lsm, "lsmhooks"),
    ];

    /// The `spec` key of this kind.
    pub fn key(self) -> &'static str {
        HookKind::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("", |(_, n)| n)
    }

    /// The singular word for messages.
    pub fn noun(self) -> &'static str {
        match self {
            HookKind::Kprobe => "kprobe",
            HookKind::Fentry => "fentry",
            HookKind::Tracepoint => "tracepoint",
            HookKind::Uprobe => "uprobe",
            HookKind::Usdt => "usdt",
            HookKind::Lsm => "lsmhook",
        }
    }
}

/// One action.
#[derive(Debug)]
pub struct ActionSpec {
    /// Its CRD spelling.
    pub name: &'static str,
    /// Parameters it needs.
    pub required: &'static [&'static str],
    /// Parameters it may take (besides the required ones).
    pub optional: &'static [&'static str],
    /// Hook kinds where Tetragon rejects it.
    pub not_on: &'static [HookKind],
    /// An enforcement action (Tetragon runs policies without one in monitor mode).
    pub enforcement: bool,
    /// What it does.
    pub doc: &'static str,
}

/// Every action parameter key.
pub const ACTION_PARAMS: &[&str] = &[
    "argError",
    "argSig",
    "argUrl",
    "argFqdn",
    "argSock",
    "argIndex",
    "argValue",
    "argRegs",
    "argNewSymbol",
    "argNewAddr",
    "argNewOffset",
    "rateLimit",
    "rateLimitScope",
    "kernelStackTrace",
    "userStackTrace",
    "imaHash",
];

/// The action table.
pub static ACTIONS: &[ActionSpec] = &[
    ActionSpec { name: "Post", required: &[], optional: &["rateLimit", "rateLimitScope", "kernelStackTrace", "userStackTrace", "imaHash"], not_on: &[], enforcement: false, doc: "Send an event to user space (the default)." },
    ActionSpec { name: "NoPost", required: &[], optional: &[], not_on: &[], enforcement: false, doc: "Do not send an event." },
    ActionSpec { name: "Sigkill", required: &[], optional: &[], not_on: &[HookKind::Fentry], enforcement: true, doc: "Send SIGKILL to the process that made the call, from the kernel (Tetragon: do_action() in bpf/process/generic_calls.h calls do_action_signal() in bpf/process/types/basic.h, the bpf_send_signal helper). The process dies on its way back to user space, after the hooked function has returned: on a kprobe the call itself completes (a `mkdir` killed this way still makes its directory). To stop the call, use Override on a syscall or an error-injectable function, or an LSM hook with Override." },
    ActionSpec { name: "Signal", required: &["argSig"], optional: &[], not_on: &[HookKind::Fentry], enforcement: true, doc: "Send the signal `argSig` to the process that made the call; like Sigkill it is delivered on the way back to user space, after the hooked function has returned, so it does not stop the call (Override does)." },
    ActionSpec { name: "Override", required: &["argError"], optional: &["argRegs", "argNewSymbol", "argNewAddr", "argNewOffset"], not_on: &[HookKind::Fentry, HookKind::Tracepoint], enforcement: true, doc: "Make the hooked function return `argError` without running it (syscalls, security_ functions, LSM hooks)." },
    ActionSpec { name: "GetUrl", required: &["argUrl"], optional: &[], not_on: &[HookKind::Uprobe, HookKind::Usdt, HookKind::Lsm], enforcement: false, doc: "Fetch `argUrl` (a canary or webhook) from user space." },
    ActionSpec { name: "DnsLookup", required: &["argFqdn"], optional: &[], not_on: &[HookKind::Uprobe, HookKind::Usdt, HookKind::Lsm], enforcement: false, doc: "Resolve `argFqdn` (a DNS canary) from user space." },
    ActionSpec { name: "TrackSock", required: &[], optional: &["argSock"], not_on: &[HookKind::Lsm], enforcement: false, doc: "Remember the sock at `argSock` so later events on it match." },
    ActionSpec { name: "UntrackSock", required: &[], optional: &["argSock"], not_on: &[HookKind::Lsm], enforcement: false, doc: "Forget a sock remembered by TrackSock." },
    ActionSpec { name: "NotifyEnforcer", required: &[], optional: &["argError", "argSig"], not_on: &[HookKind::Lsm], enforcement: true, doc: "Tell the policy's enforcer to fail (argError) or signal (argSig) the current syscall." },
    ActionSpec { name: "CleanupEnforcerNotification", required: &[], optional: &[], not_on: &[HookKind::Lsm], enforcement: false, doc: "Drop a pending NotifyEnforcer notification." },
    ActionSpec { name: "Set", required: &[], optional: &["argIndex", "argValue"], not_on: &[HookKind::Lsm], enforcement: true, doc: "USDT: write `argValue` into the argument at `argIndex`." },
];

/// The action named `name` (CRD spelling).
pub fn action(name: &str) -> Option<&'static ActionSpec> {
    ACTIONS.iter().find(|a| a.name == name)
}

/// Actions Tetragon accepts on LSM hooks.
pub const LSM_ACTIONS: &[&str] = &["Post", "NoPost", "Sigkill", "Signal", "Override"];

/// Actions removed from Tetragon after v1.7 (deprecated since v1.4).
pub const REMOVED_ACTIONS: &[&str] = &["FollowFD", "UnfollowFD", "CopyFD"];

/// Fields that went away with the removed actions.
pub const REMOVED_ACTION_FIELDS: &[&str] = &["argFd", "argName"];

/// True for a field the schema no longer has but a dedicated check explains.
pub fn is_removed_field(object: &str, field: &str) -> bool {
    object == "ActionSelector" && REMOVED_ACTION_FIELDS.contains(&field)
}

/// True for an enum value the schema no longer has but a dedicated check explains.
pub fn is_removed_enum_value(field: &str, value: &str) -> bool {
    field == "action"
        && REMOVED_ACTIONS
            .iter()
            .any(|a| a.eq_ignore_ascii_case(value))
}

/// `rateLimitScope` values.
pub const RATE_LIMIT_SCOPES: &[&str] = &["thread", "process", "global"];

/// Policy option names and what their values must be.
pub const OPTIONS: &[(&str, &[&str])] = &[
    ("disable-kprobe-multi", &["true", "false", "1", "0"]),
    ("disable-uprobe-multi", &["true", "false", "1", "0"]),
    ("override-method", &["fmod-ret", "override-return"]),
    ("policy-mode", &["enforce", "monitor"]),
    ("sleepable-preload-size", &[]),
];

/// LSM hooks whose files IMA can hash.
pub const IMA_HOOKS: &[&str] = &[
    "bprm_check_security",
    "bprm_committed_creds",
    "bprm_committing_creds",
    "bprm_creds_for_exec",
    "bprm_creds_from_file",
    "file_ioctl",
    "file_lock",
    "file_open",
    "file_post_open",
    "file_receive",
    "mmap_file",
];

/// Linux capabilities, by number, spelt as Tetragon's capability table spells them
/// (`api/v1/tetragon/capabilities.proto` CapabilitiesType, read by `pkg/selectors/kernel.go`
/// capsStrToUint64): capability 1 is `DAC_OVERRIDE`, without the `CAP_` prefix, and
/// `CAP_DAC_OVERRIDE` is refused.
pub const CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Secure bits (`cred->securebits`), by bit value, spelt as Tetragon's `SecureBitsType`
/// (`api/v1/tetragon/capabilities.proto`), in the order `GetSecureBitsTypes`
/// (pkg/reader/caps/caps.go) lists them.
pub const SECURE_BITS: &[(&str, u32)] = &[
    ("SecBitNoRoot", 1),
    ("SecBitNoRootLocked", 2),
    ("SecBitNoSetUidFixup", 4),
    ("SecBitNoSetUidFixupLocked", 8),
    ("SecBitKeepCaps", 16),
    ("SecBitKeepCapsLocked", 32),
    ("SecBitNoCapAmbientRaise", 64),
    ("SecBitNoCapAmbientRaiseLocked", 128),
];

/// Namespace kinds matchNamespaceChanges understands (case-insensitive): Tetragon's
/// `namespaceTypeTable` (pkg/selectors/kernel.go), the same kinds as the CRD's enum of
/// `matchNamespaces[].namespace`.
pub const NAMESPACE_CHANGE_KINDS: &[&str] = crate::schema::table::NAMESPACES;

/// Signal names, by number (1-based).
pub const SIGNALS: &[&str] = &[
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// Highest signal number (real-time signals included).
pub const MAX_SIGNAL: i64 = 64;

/// IP protocol names Tetragon accepts for Protocol.
pub const PROTOCOLS: &[(&str, u32)] = &[
    ("IPPROTO_IP", 0),
    ("IPPROTO_ICMP", 1),
    ("IPPROTO_IGMP", 2),
    ("IPPROTO_IPIP", 4),
    ("IPPROTO_TCP", 6),
    ("IPPROTO_EGP", 8),
    ("IPPROTO_PUP", 12),
    ("IPPROTO_UDP", 17),
    ("IPPROTO_IDP", 22),
    ("IPPROTO_TP", 29),
    ("IPPROTO_DCCP", 33),
    ("IPPROTO_IPV6", 41),
    ("IPPROTO_RSVP", 46),
    ("IPPROTO_GRE", 47),
    ("IPPROTO_ESP", 50),
    ("IPPROTO_AH", 51),
    ("IPPROTO_MTP", 92),
    ("IPPROTO_BEETPH", 94),
    ("IPPROTO_ENCAP", 98),
    ("IPPROTO_PIM", 103),
    ("IPPROTO_COMP", 108),
    ("IPPROTO_SCTP", 132),
    ("IPPROTO_UDPLITE", 136),
    ("IPPROTO_MPLS", 137),
    ("IPPROTO_ETHERNET", 143),
    ("IPPROTO_RAW", 255),
    ("IPPROTO_MPTCP", 262),
];

/// Address family names Tetragon accepts for Family.
pub const FAMILIES: &[(&str, u32)] = &[
    ("AF_UNSPEC", 0),
    ("AF_UNIX", 1),
    ("AF_INET", 2),
    ("AF_AX25", 3),
    ("AF_IPX", 4),
    ("AF_APPLETALK", 5),
    ("AF_NETROM", 6),
    ("AF_BRIDGE", 7),
    ("AF_ATMPVC", 8),
    ("AF_X25", 9),
    ("AF_INET6", 10),
    ("AF_ROSE", 11),
    ("AF_DECnet", 12),
    ("AF_NETBEUI", 13),
    ("AF_SECURITY", 14),
    ("AF_KEY", 15),
    ("AF_NETLINK", 16),
    ("AF_PACKET", 17),
    ("AF_ASH", 18),
    ("AF_ECONET", 19),
    ("AF_ATMSVC", 20),
    ("AF_RDS", 21),
    ("AF_SNA", 22),
    ("AF_IRDA", 23),
    ("AF_PPPOX", 24),
    ("AF_WANPIPE", 25),
    ("AF_LLC", 26),
    ("AF_IB", 27),
    ("AF_MPLS", 28),
    ("AF_CAN", 29),
    ("AF_TIPC", 30),
    ("AF_BLUETOOTH", 31),
    ("AF_IUCV", 32),
    ("AF_RXRPC", 33),
    ("AF_ISDN", 34),
    ("AF_PHONET", 35),
    ("AF_IEEE802154", 36),
    ("AF_CAIF", 37),
    ("AF_ALG", 38),
    ("AF_NFC", 39),
    ("AF_VSOCK", 40),
    ("AF_KCM", 41),
    ("AF_QIPCRTR", 42),
    ("AF_SMC", 43),
    ("AF_XDP", 44),
    ("AF_MCTP", 45),
];

/// TCP state names Tetragon accepts for State.
pub const TCP_STATES: &[(&str, u32)] = &[
    ("TCP_ESTABLISHED", 1),
    ("TCP_SYN_SENT", 2),
    ("TCP_SYN_RECV", 3),
    ("TCP_FIN_WAIT1", 4),
    ("TCP_FIN_WAIT2", 5),
    ("TCP_TIME_WAIT", 6),
    ("TCP_CLOSE", 7),
    ("TCP_CLOSE_WAIT", 8),
    ("TCP_LAST_ACK", 9),
    ("TCP_LISTEN", 10),
    ("TCP_CLOSING", 11),
    ("TCP_NEW_SYN_RECV", 12),
];

/// File type names of FileType (aliases share a meaning).
pub const FILE_TYPES: &[&str] = &[
    "sock", "socket", "lnk", "link", "reg", "regular", "blk", "block", "dir", "chr", "char",
    "fifo", "pipe",
];

/// The inode type bits (`S_IF*`, as in `i_mode & S_IFMT`) a FileType name stands for, as
/// Tetragon's `fileTypeTable` (pkg/selectors/kernel.go) maps them; `None` for a name not in
/// [`FILE_TYPES`].
pub fn file_type_mode(name: &str) -> Option<u32> {
    Some(match name {
        "sock" | "socket" => 0o140000,
        "lnk" | "link" => 0o120000,
        "reg" | "regular" => 0o100000,
        "blk" | "block" => 0o060000,
        "dir" => 0o040000,
        "chr" | "char" => 0o020000,
        "fifo" | "pipe" => 0o010000,
        _ => return None,
    })
}

/// Syscall name prefixes of every architecture Tetragon knows.
pub const SYSCALL_ARCH_PREFIXES: &[&str] =
    &["__x64_", "__arm64_", "__ia32_", "__s390x_", "__riscv_"];

/// What Tetragon reads a tracepoint format field as when the arg gives no `type` (`auto`, the
/// CRD default) or when Tetragon adds the field itself for a `sizeArgIndex`: the arg type, or
/// why Tetragon refuses the policy. `ctype` is the field's C type without its name and without
/// an array suffix (arrays are Tetragon's `const_buf`, not handled here), `size` and `signed`
/// are what tracefs prints for it, `sized` whether the arg has a `sizeArgIndex`.
///
/// Tetragon parses the type with pkg/tracepoint/fieldtype.go parseTy, which knows `char`,
/// `short`, `int`, `long` (`unsigned` or not), `u8`..`u64`, `bool`, `pid_t`, `size_t`, `void`,
/// `dma_addr_t` and one `*` after them, and nothing else (no `struct`, no other typedef, no
/// pointer to pointer); pkg/sensors/tracing/generictracepoint.go getGenericTypeId then takes
/// 4- and 8-byte integers, `size_t`, and a `char *` when the arg has a size (a `char_buf`), and
/// refuses the rest: `bool`, `pid_t`, integers of 1 or 2 bytes, other pointers.
pub fn tracepoint_field_type(
    ctype: &str,
    size: u32,
    signed: bool,
    sized: bool,
) -> Result<&'static str, String> {
    /// The base type parseTy recognises.
    #[derive(PartialEq)]
    enum Base {
        Int { char: bool },
        Size,
        Other(&'static str),
    }
    let words: Vec<&str> = ctype.split_whitespace().collect();
    let mut rest = words.as_slice();
    if rest.first() == Some(&"const") {
        rest = &rest[1..];
    }
    let Some((&first, after)) = rest.split_first() else {
        return Err("failed to parse field: expecting at least two fields".into());
    };
    rest = after;
    let mut word = first;
    let unsigned = word == "unsigned";
    if unsigned {
        match rest.split_first() {
            // A lone `unsigned` is an unsigned int.
            None => word = "int",
            Some((&w, after)) => {
                word = w;
                rest = after;
            }
        }
    }
    let base = match word {
        "char" => Base::Int { char: true },
        "short" | "int" => Base::Int { char: false },
        "long" => {
            if rest.first() == Some(&"long") {
                rest = &rest[1..];
            }
            Base::Int { char: false }
        }
        _ if unsigned => return Err("failed to parse field: unexpected unsigned".into()),
        "u8" | "u16" | "u32" | "u64" => Base::Int { char: false },
        "bool" => Base::Other("tracepoint.BoolTy"),
        "pid_t" => Base::Other("tracepoint.PidTy"),
        "size_t" => Base::Size,
        "void" => Base::Other("tracepoint.VoidTy"),
        "dma_addr_t" => Base::Other("tracepoint.DmaAddrTy"),
        other => return Err(format!("failed to parse field: unknown type:{other}")),
    };
    if rest.first().is_some_and(|w| w.starts_with("__attribute__")) {
        rest = &rest[1..];
    }
    let pointer = match rest {
        [] => false,
        ["*"] => true,
        ["*", ..] => return Err("failed to parse field: did not process all fields".into()),
        _ => return Err("failed to parse field: parsing failed".into()),
    };
    match (base, pointer) {
        (Base::Int { .. }, false) => match (size, signed) {
            (4, true) => Ok("int32"),
            (4, false) => Ok("uint32"),
            (8, true) => Ok("int64"),
            (8, false) => Ok("uint64"),
            _ => Err("unknown type: tracepoint.IntTy".into()),
        },
        (Base::Size, false) => Ok("size_t"),
        (Base::Other(name), false) => Err(format!("unknown type: {name}")),
        (Base::Int { char: true }, true) if sized => Ok("char_buf"),
        (Base::Int { char: true }, true) => Err("no metadata field for buffer".into()),
        (Base::Int { char: false }, true) => Err("unknown type: tracepoint.PointerTy".into()),
        (_, true) => Err("cannot handle pointer type to tracepoint.PointerTy".into()),
    }
}

/// The kernel C type an arg `type` reads, for checks against a kernel's BTF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelType {
    /// An integer or enum of this many bytes (0: any width) and signedness (None: either).
    Integer(u32, Option<bool>),
    /// A 64-bit integer or a pointer's value (`ulong`, `uint64`).
    Word,
    /// A pointer to `char` (a C string).
    CharPtr,
    /// A pointer to bytes (`char *`, `u8 *`, `void *`).
    Buffer,
    /// A pointer to one of these structs, unions or typedefs.
    PtrTo(&'static [&'static str]),
    /// Whatever is there (`nop`).
    Any,
}

/// The kernel type each arg `type` reads; `None` for types kprobes cannot use (`auto`,
/// `syscall64`, `const_buf`, `data_loc`). Tetragon's own table is `pkg/btf/validation.go`
/// `typesCompatible`; this one is stricter about pointers (a `file` read from a `struct
/// filename *` prints garbage) and looser about integer aliases (`sint32` is `int`).
pub fn kernel_type(ty: &str) -> Option<KernelType> {
    use KernelType::*;
    Some(match ty {
        "int" | "sint32" | "int32" | "bpf_cmd" | "capability" => Integer(4, None),
        "uint32" => Integer(4, None),
        "sint16" | "int16" | "uint16" => Integer(2, None),
        "sint8" | "int8" | "uint8" => Integer(1, None),
        "long" | "sint64" | "int64" => Integer(8, None),
        "size_t" => Integer(8, None),
        "ulong" | "uint64" => Word,
        "fd" => Integer(0, None),
        "string" => CharPtr,
        "char_buf" => Buffer,
        "char_iovec" => PtrTo(&["iovec"]),
        "skb" => PtrTo(&["sk_buff"]),
        "sock" => PtrTo(&["sock"]),
        "sockaddr" => PtrTo(&["sockaddr"]),
        "socket" => PtrTo(&["socket"]),
        "sockaddr_un" => PtrTo(&["sockaddr_un", "sockaddr"]),
        "filename" => PtrTo(&["filename"]),
        "file" => PtrTo(&["file"]),
        "path" => PtrTo(&["path"]),
        "dentry" => PtrTo(&["dentry"]),
        "linux_binprm" => PtrTo(&["linux_binprm"]),
        "kiocb" => PtrTo(&["kiocb"]),
        "iov_iter" => PtrTo(&["iov_iter"]),
        "cred" => PtrTo(&["cred"]),
        "bpf_attr" => PtrTo(&["bpf_attr"]),
        "bpf_prog" => PtrTo(&["bpf_prog"]),
        "perf_event" => PtrTo(&["perf_event"]),
        "bpf_map" => PtrTo(&["bpf_map"]),
        "user_namespace" => PtrTo(&["user_namespace"]),
        "load_info" => PtrTo(&["load_info"]),
        "module" => PtrTo(&["module"]),
        "kernel_cap_t" | "cap_inheritable" | "cap_permitted" | "cap_effective" => {
            PtrTo(&["kernel_cap_t"])
        }
        "net_device" => PtrTo(&["net_device"]),
        "nop" => Any,
        _ => return None,
    })
}

/// The arg `type` that reads a kernel integer of this size and signedness.
pub fn int_arg_type(bytes: u32, signed: bool) -> &'static str {
    match (bytes, signed) {
        (1, true) => "int8",
        (1, false) => "uint8",
        (2, true) => "int16",
        (2, false) => "uint16",
        (4, true) => "int",
        (4, false) => "uint32",
        (_, true) => "long",
        (_, false) => "uint64",
    }
}

/// The arg `type` that reads a pointer to this struct, union or typedef, if one does.
pub fn pointer_arg_type(name: &str) -> Option<&'static str> {
    // The first in the CRD's order whose kernel type names it (`sockaddr` before `sockaddr_un`).
    crate::schema::table::ARG_TYPES
        .iter()
        .copied()
        .find(|t| matches!(kernel_type(t), Some(KernelType::PtrTo(names)) if names.contains(&name)))
}

/// An x86_64 register by the names Tetragon takes in a `pt_regs` data arg's `resolve`: its
/// byte offset in `struct pt_regs` (the layout of `user_regs_struct`) and how many of its low
/// bytes are read (`rax` 8, `eax` 4, `ax` 2, `al` 1), as Tetragon's RegOffsetSize
/// (pkg/asm/regoffset_linux_amd64.go) gives them.
pub fn pt_regs_register(name: &str) -> Option<(u16, u8)> {
    // (names by size 8, 4, 2, 1; offset in struct pt_regs)
    const REGS: &[([&str; 4], u16)] = &[
        (["r15", "r15d", "r15w", "r15b"], 0),
        (["r14", "r14d", "r14w", "r14b"], 8),
        (["r13", "r13d", "r13w", "r13b"], 16),
        (["r12", "r12d", "r12w", "r12b"], 24),
        (["rbp", "ebp", "bp", "bpl"], 32),
        (["rbx", "ebx", "bx", "bl"], 40),
        (["r11", "r11d", "r11w", "r11b"], 48),
        (["r10", "r10d", "r10w", "r10b"], 56),
        (["r9", "r9d", "r9w", "r9b"], 64),
        (["r8", "r8d", "r8w", "r8b"], 72),
        (["rax", "eax", "ax", "al"], 80),
        (["rcx", "ecx", "cx", "cl"], 88),
        (["rdx", "edx", "dx", "dl"], 96),
        (["rsi", "esi", "si", "sil"], 104),
        (["rdi", "edi", "di", "dil"], 112),
        (["rip", "eip", "", ""], 128),
        (["rsp", "esp", "sp", "spl"], 152),
    ];
    if name.is_empty() {
        return None;
    }
    REGS.iter().find_map(|(names, off)| {
        let i = names.iter().position(|n| *n == name)?;
        Some((*off, [8, 4, 2, 1][i]))
    })
}
