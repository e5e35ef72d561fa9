//! The shape of a TracingPolicy as the CRD (`cilium.io/v1alpha1`) defines it: every object,
//! field, type, enum, default and limit, with a one-line doc for hover and completion.
//!
//! This table is the single description of the schema in policyctl. The schema check walks it,
//! `schema/tracingpolicy.json` is generated from it, and a test compares it field by field with
//! Tetragon's CRD (`testdata/crd/`), so the three cannot drift.

/// A field's value type.
#[derive(Debug)]
pub enum Ty {
    /// A string.
    Str,
    /// An integer, with the Go type Tetragon decodes it into (`uint32`, `int32`, `uint64`,
    /// `int64`): a value outside that type fails the typed decoding in Tetragon's loader.
    Int {
        /// 64 bits (`format: int64` in the CRD) rather than 32.
        wide: bool,
        /// A signed Go type.
        signed: bool,
    },
    /// A boolean.
    Bool,
    /// A nested object.
    Obj(&'static Obj),
    /// A list of items of one type.
    Arr(&'static Ty),
    /// A mapping of arbitrary string keys to one type.
    Map(&'static Ty),
    /// Anything (fields of Kubernetes' own ObjectMeta that policies do not use).
    Any,
}

/// One field of an object.
#[derive(Debug)]
pub struct Field {
    /// The key.
    pub name: &'static str,
    /// Its type.
    pub ty: Ty,
    /// Must be present.
    pub required: bool,
    /// The CRD default, as YAML text.
    pub default: Option<&'static str>,
    /// Allowed values of a string field (empty: any).
    pub enum_values: &'static [&'static str],
    /// `maxItems` of a list.
    pub max_items: Option<usize>,
    /// `minimum` of an integer (or of a list's integer items).
    pub minimum: Option<i64>,
    /// One line for hover and completion.
    pub doc: &'static str,
}

/// An object type.
#[derive(Debug)]
pub struct Obj {
    /// The type's name, as Tetragon's Go code calls it.
    pub name: &'static str,
    /// Its fields, in the order completion offers them.
    pub fields: &'static [Field],
    /// One line for hover.
    pub doc: &'static str,
}

impl Obj {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The field whose name equals `name` ignoring ASCII case, as Go's `encoding/json` matches
    /// keys that have no exact field.
    pub fn field_ignoring_case(&self, name: &str) -> Option<&'static Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

const fn f(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required: false,
        default: None,
        enum_values: &[],
        max_items: None,
        minimum: None,
        doc,
    }
}

const fn req(mut field: Field) -> Field {
    field.required = true;
    field
}

const fn def(mut field: Field, default: &'static str) -> Field {
    field.default = Some(default);
    field
}

const fn en(mut field: Field, values: &'static [&'static str]) -> Field {
    field.enum_values = values;
    field
}

const fn max(mut field: Field, n: usize) -> Field {
    field.max_items = Some(n);
    field
}

const fn min0(mut field: Field) -> Field {
    field.minimum = Some(0);
    field
}

/// Go `uint32` (the CRD says `format: int32`).
const INT: Ty = Ty::Int {
    wide: false,
    signed: false,
};
/// Go `int32`.
const SINT: Ty = Ty::Int {
    wide: false,
    signed: true,
};
/// Go `uint64`.
const INT64: Ty = Ty::Int {
    wide: true,
    signed: false,
};
/// Go `int64`.
const SINT64: Ty = Ty::Int {
    wide: true,
    signed: true,
};

impl Ty {
    /// The range of an integer type: what Tetragon's Go type can hold.
    pub fn int_range(&self) -> Option<(i128, i128)> {
        match self {
            Ty::Int {
                wide: false,
                signed: false,
            } => Some((0, u32::MAX.into())),
            Ty::Int {
                wide: false,
                signed: true,
            } => Some((i32::MIN.into(), i32::MAX.into())),
            Ty::Int {
                wide: true,
                signed: false,
            } => Some((0, u64::MAX.into())),
            Ty::Int {
                wide: true,
                signed: true,
            } => Some((i64::MIN.into(), i64::MAX.into())),
            _ => None,
        }
    }

    /// The Go type name of an integer type.
    pub fn go_int_name(&self) -> Option<&'static str> {
        match self {
            Ty::Int {
                wide: false,
                signed: false,
            } => Some("uint32"),
            Ty::Int {
                wide: false,
                signed: true,
            } => Some("int32"),
            Ty::Int {
                wide: true,
                signed: false,
            } => Some("uint64"),
            Ty::Int {
                wide: true,
                signed: true,
            } => Some("int64"),
            _ => None,
        }
    }
}

/// Argument types (`args[].type`), in the CRD's order.
pub const ARG_TYPES: &[&str] = &[
    "auto",
    "int",
    "sint8",
    "int8",
    "uint8",
    "sint16",
    "int16",
    "uint16",
    "uint32",
    "sint32",
    "int32",
    "ulong",
    "uint64",
    "size_t",
    "long",
    "sint64",
    "int64",
    "char_buf",
    "char_iovec",
    "skb",
    "sock",
    "sockaddr",
    "socket",
    "sockaddr_un",
    "string",
    "fd",
    "file",
    "filename",
    "path",
    "nop",
    "bpf_attr",
    "perf_event",
    "bpf_map",
    "user_namespace",
    "capability",
    "kiocb",
    "iov_iter",
    "cred",
    "const_buf",
    "load_info",
    "module",
    "syscall64",
    "kernel_cap_t",
    "cap_inheritable",
    "cap_permitted",
    "cap_effective",
    "linux_binprm",
    "data_loc",
    "net_device",
    "bpf_cmd",
    "dentry",
    "bpf_prog",
];

/// `matchArgs[].operator` values, in the CRD's order.
pub const ARG_OPERATORS: &[&str] = &[
    "Equal",
    "NotEqual",
    "Prefix",
    "NotPrefix",
    "Postfix",
    "NotPostfix",
    "GreaterThan",
    "LessThan",
    "GT",
    "LT",
    "Mask",
    "SPort",
    "NotSPort",
    "SPortPriv",
    "NotSportPriv",
    "DPort",
    "NotDPort",
    "DPortPriv",
    "NotDPortPriv",
    "SAddr",
    "NotSAddr",
    "DAddr",
    "NotDAddr",
    "Protocol",
    "Family",
    "State",
    "InMap",
    "NotInMap",
    "CapabilitiesGained",
    "InRange",
    "NotInRange",
    "SubString",
    "SubStringIgnCase",
    "CelExpr",
    "FileType",
    "NotFileType",
];

/// `matchActions[].action` values, in the CRD's order.
pub const ACTIONS: &[&str] = &[
    "Post",
    "Sigkill",
    "Override",
    "GetUrl",
    "DnsLookup",
    "NoPost",
    "Signal",
    "TrackSock",
    "UntrackSock",
    "NotifyEnforcer",
    "CleanupEnforcerNotification",
    "Set",
];

/// `matchBinaries[].operator` values.
pub const BINARY_OPERATORS: &[&str] = &[
    "In",
    "NotIn",
    "Prefix",
    "NotPrefix",
    "Postfix",
    "NotPostfix",
];
/// Operators of matchPIDs, matchNamespaces, matchCapabilities and their Changes.
pub const SET_OPERATORS: &[&str] = &["In", "NotIn"];
/// `matchNamespaces[].namespace` values.
pub const NAMESPACES: &[&str] = &[
    "Uts",
    "Ipc",
    "Mnt",
    "Pid",
    "PidForChildren",
    "Net",
    "Time",
    "TimeForChildren",
    "Cgroup",
    "User",
];
/// `matchCapabilities[].type` values.
pub const CAPABILITY_SETS: &[&str] = &["Effective", "Inheritable", "Permitted"];
/// `lists[].type` values.
pub const LIST_TYPES: &[&str] = &["syscalls", "generated_syscalls", "generated_ftrace"];
/// Label selector expression operators.
pub const LABEL_OPERATORS: &[&str] = &["In", "NotIn", "Exists", "DoesNotExist"];

/// `apiVersion` of both kinds.
pub const API_VERSION: &str = "cilium.io/v1alpha1";
/// The two kinds.
pub const KINDS: &[&str] = &["TracingPolicy", "TracingPolicyNamespaced"];

static LABEL_EXPRESSION: Obj = Obj {
    name: "LabelSelectorRequirement",
    doc: "A label key, an operator and the values it is compared with.",
    fields: &[
        req(f("key", Ty::Str, "The label key.")),
        req(en(
            f(
                "operator",
                Ty::Str,
                "How the key's value is compared: In, NotIn, Exists, DoesNotExist.",
            ),
            LABEL_OPERATORS,
        )),
        f(
            "values",
            Ty::Arr(&Ty::Str),
            "Values for In and NotIn; empty for Exists and DoesNotExist.",
        ),
    ],
};

/// A Kubernetes label selector (pods, containers, hosts, nodes).
pub static LABEL_SELECTOR: Obj = Obj {
    name: "LabelSelector",
    doc: "Selects Kubernetes objects by their labels.",
    fields: &[
        f(
            "matchExpressions",
            Ty::Arr(&Ty::Obj(&LABEL_EXPRESSION)),
            "Label requirements, all of which must hold.",
        ),
        f(
            "matchLabels",
            Ty::Map(&Ty::Str),
            "Labels that must be set to exactly these values.",
        ),
    ],
};

/// An argument of a hook (`args[]`, `data[]`, `returnArg`).
pub static ARG: Obj = Obj {
    name: "KProbeArg",
    doc: "Which argument of the hooked function to read, and as what type.",
    fields: &[
        req(min0(f("index", INT, "Position of the argument in the function's parameters, from 0 (for tracepoints: the field of the format)."))),
        req(def(en(f("type", Ty::Str, "How the argument is read and printed (int, string, file, sock, ...)."), ARG_TYPES), "auto")),
        f("label", Ty::Str, "A name for the argument in events."),
        def(f("maxData", Ty::Bool, "Read up to 327360 bytes of a char_buf instead of 4096 (kernel 5.4+)."), "false"),
        def(f("returnCopy", Ty::Bool, "Read the argument again when the function returns (for buffers filled by the call)."), "false"),
        min0(f("sizeArgIndex", INT, "1-based index of the argument that holds this buffer's size (char_buf, char_iovec).")),
        def(f("resolve", Ty::Str, "A path of struct fields to follow from the argument, like `mm.owner.comm`."), ""),
        f("btfType", Ty::Str, "Cast the argument to this BTF struct before `resolve`."),
        f("btfTypeModule", Ty::Str, "The kernel module whose BTF holds `btfType`."),
        f("source", Ty::Str, "For data[] only: where the value comes from (current_task or pt_regs)."),
    ],
};

static ARG_SELECTOR: Obj = Obj {
    name: "ArgSelector",
    doc: "Compares one argument with a list of values.",
    fields: &[
        min0(f("index", INT, "The `index` of a declared arg to compare.")),
        req(en(
            f(
                "operator",
                Ty::Str,
                "How the argument is compared with the values.",
            ),
            ARG_OPERATORS,
        )),
        f(
            "values",
            Ty::Arr(&Ty::Str),
            "Values to compare with, always written as strings.",
        ),
        min0(f(
            "args",
            Ty::Arr(&INT),
            "Positions in the args list (instead of index), for operators on two args.",
        )),
    ],
};

static PID_SELECTOR: Obj = Obj {
    name: "PIDSelector",
    doc: "Matches the process id (at most 4 values).",
    fields: &[
        req(en(f("operator", Ty::Str, "In or NotIn."), SET_OPERATORS)),
        req(f("values", Ty::Arr(&INT), "Process ids, as integers.")),
        def(
            f(
                "isNamespacePID",
                Ty::Bool,
                "Compare the pid as seen in the process's pid namespace.",
            ),
            "false",
        ),
        def(
            f(
                "followForks",
                Ty::Bool,
                "Also match the children the process forks.",
            ),
            "false",
        ),
    ],
};

static BINARY_SELECTOR: Obj = Obj {
    name: "BinarySelector",
    doc: "Matches the path of the process's executable.",
    fields: &[
        req(en(
            f(
                "operator",
                Ty::Str,
                "In, NotIn (full path), Prefix, NotPrefix, Postfix, NotPostfix.",
            ),
            BINARY_OPERATORS,
        )),
        req(f(
            "values",
            Ty::Arr(&Ty::Str),
            "Executable paths (absolute for In and NotIn).",
        )),
        def(
            f(
                "followChildren",
                Ty::Bool,
                "Also match the processes these binaries start (In and NotIn only).",
            ),
            "false",
        ),
    ],
};

static NAMESPACE_SELECTOR: Obj = Obj {
    name: "NamespaceSelector",
    doc: "Matches the process's Linux namespace of one kind.",
    fields: &[
        req(en(
            f("namespace", Ty::Str, "The namespace kind."),
            NAMESPACES,
        )),
        req(en(f("operator", Ty::Str, "In or NotIn."), SET_OPERATORS)),
        req(f(
            "values",
            Ty::Arr(&Ty::Str),
            "Namespace inode numbers, or `host_ns`.",
        )),
    ],
};

static NAMESPACE_CHANGES_SELECTOR: Obj = Obj {
    name: "NamespaceChangesSelector",
    doc: "Matches when the process changed one of these namespaces.",
    fields: &[
        req(en(f("operator", Ty::Str, "In or NotIn."), SET_OPERATORS)),
        req(f(
            "values",
            Ty::Arr(&Ty::Str),
            "Namespace kinds (Uts, Ipc, Mnt, Pid, Net, Time, Cgroup, User, ...).",
        )),
    ],
};

static CAPABILITIES_SELECTOR: Obj = Obj {
    name: "CapabilitiesSelector",
    doc: "Matches the process's Linux capabilities.",
    fields: &[
        def(
            en(
                f(
                    "type",
                    Ty::Str,
                    "Which capability set: Effective, Inheritable or Permitted.",
                ),
                CAPABILITY_SETS,
            ),
            "Effective",
        ),
        req(en(f("operator", Ty::Str, "In or NotIn."), SET_OPERATORS)),
        def(
            f(
                "isNamespaceCapability",
                Ty::Bool,
                "Only count capabilities held in a non-initial user namespace.",
            ),
            "false",
        ),
        req(f(
            "values",
            Ty::Arr(&Ty::Str),
            "Capability names such as CAP_SYS_ADMIN.",
        )),
    ],
};

/// An action (`matchActions[]`, `matchReturnActions[]`).
pub static ACTION_SELECTOR: Obj = Obj {
    name: "ActionSelector",
    doc: "What to do when the selector matches.",
    fields: &[
        req(en(f("action", Ty::Str, "The action: Post, NoPost, Sigkill, Signal, Override, GetUrl, DnsLookup, TrackSock, UntrackSock, NotifyEnforcer, ..."), ACTIONS)),
        f("argError", SINT, "Override, NotifyEnforcer: the error the function returns instead (a negative errno)."),
        f("argSig", INT, "Signal, NotifyEnforcer: the signal number to send."),
        f("argUrl", Ty::Str, "GetUrl: the URL to fetch."),
        f("argFqdn", Ty::Str, "DnsLookup: the name to resolve."),
        f("argSock", INT, "TrackSock, UntrackSock: the index of the sock argument."),
        f("argIndex", INT, "Set: the index of the argument to write."),
        f("argValue", INT, "Set: the value to write."),
        f("argRegs", Ty::Arr(&Ty::Str), "Override on uprobes: register assignments such as `rax=1`."),
        f("argNewSymbol", Ty::Str, "Override on uprobes: jump to this symbol."),
        f("argNewAddr", INT64, "Override on uprobes: jump to this address."),
        f("argNewOffset", SINT64, "Override on uprobes: jump to this offset."),
        f("rateLimit", Ty::Str, "Post: send at most one event per this period, like `30s`, `5m`, `1h`."),
        f("rateLimitScope", Ty::Str, "Post: what the rate limit counts per: thread (default), process or global."),
        f("kernelStackTrace", Ty::Bool, "Post: include the kernel stack."),
        f("userStackTrace", Ty::Bool, "Post: include the user stack."),
        f("imaHash", Ty::Bool, "Post on LSM hooks: include the IMA hash of the file."),
    ],
};

static WORKLOADS: Obj = Obj {
    name: "WorkloadSelector",
    doc: "Limits a selector to some pods, containers or hosts.",
    fields: &[
        f("podSelector", Ty::Obj(&LABEL_SELECTOR), "Pods by label."),
        f(
            "containerSelector",
            Ty::Obj(&LABEL_SELECTOR),
            "Containers by field (only `name`).",
        ),
        f(
            "hostSelector",
            Ty::Obj(&LABEL_SELECTOR),
            "Host processes: null or {} only.",
        ),
    ],
};

/// A selector: in-kernel filters and actions.
pub static SELECTOR: Obj = Obj {
    name: "KProbeSelector",
    doc: "In-kernel filters (all must match) and the actions to take when they do.",
    fields: &[
        f(
            "matchArgs",
            Ty::Arr(&Ty::Obj(&ARG_SELECTOR)),
            "Filters on argument values.",
        ),
        f(
            "matchData",
            Ty::Arr(&Ty::Obj(&ARG_SELECTOR)),
            "Filters on data[] values.",
        ),
        f(
            "matchReturnArgs",
            Ty::Arr(&Ty::Obj(&ARG_SELECTOR)),
            "Filters on the return value.",
        ),
        f(
            "matchPIDs",
            Ty::Arr(&Ty::Obj(&PID_SELECTOR)),
            "Filters on the process id.",
        ),
        max(
            f(
                "matchBinaries",
                Ty::Arr(&Ty::Obj(&BINARY_SELECTOR)),
                "Filter on the executable (one per selector).",
            ),
            1,
        ),
        max(
            f(
                "matchParentBinaries",
                Ty::Arr(&Ty::Obj(&BINARY_SELECTOR)),
                "Filter on the parent's executable (one per selector).",
            ),
            1,
        ),
        f(
            "matchNamespaces",
            Ty::Arr(&Ty::Obj(&NAMESPACE_SELECTOR)),
            "Filters on Linux namespaces.",
        ),
        f(
            "matchCapabilities",
            Ty::Arr(&Ty::Obj(&CAPABILITIES_SELECTOR)),
            "Filters on capabilities.",
        ),
        f(
            "matchNamespaceChanges",
            Ty::Arr(&Ty::Obj(&NAMESPACE_CHANGES_SELECTOR)),
            "Filter on namespace changes.",
        ),
        f(
            "matchCapabilityChanges",
            Ty::Arr(&Ty::Obj(&CAPABILITIES_SELECTOR)),
            "Filters on capability changes.",
        ),
        f(
            "matchActions",
            Ty::Arr(&Ty::Obj(&ACTION_SELECTOR)),
            "Actions when the selector matches (at most 3).",
        ),
        f(
            "matchReturnActions",
            Ty::Arr(&Ty::Obj(&ACTION_SELECTOR)),
            "Actions when the return filters match.",
        ),
        f(
            "matchWorkloads",
            Ty::Obj(&WORKLOADS),
            "Limit the selector to some workloads.",
        ),
        f(
            "macros",
            Ty::Arr(&Ty::Str),
            "Names of spec.selectorsMacros to merge into this selector.",
        ),
        f("label", Ty::Str, "A name for the selector."),
    ],
};

static KPROBE_IGNORE: Obj = Obj {
    name: "KProbeIgnore",
    doc: "Conditions under which the hook is skipped instead of failing the policy.",
    fields: &[f(
        "callNotFound",
        Ty::Bool,
        "Skip the hook when the function does not exist on the kernel.",
    )],
};

static UPROBE_IGNORE: Obj = Obj {
    name: "UProbeIgnore",
    doc: "Conditions under which the hook is skipped instead of failing the policy.",
    fields: &[f(
        "digestVerificationFailure",
        Ty::Bool,
        "Skip the hook when the binary's digest does not match.",
    )],
};

static SELECTOR_TY: Ty = Ty::Obj(&SELECTOR);
static ARG_TY: Ty = Ty::Obj(&ARG);
const SELECTORS: Field = f(
    "selectors",
    Ty::Arr(&SELECTOR_TY),
    "Up to 5 selectors; the first that matches applies.",
);
const ARGS: Field = f(
    "args",
    Ty::Arr(&ARG_TY),
    "The arguments to read (at most 5).",
);
const DATA: Field = f(
    "data",
    Ty::Arr(&ARG_TY),
    "Extra values read from the task or registers.",
);
const TAGS: Field = max(
    f(
        "tags",
        Ty::Arr(&Ty::Str),
        "Tags added to every event (2 to 128 characters each).",
    ),
    16,
);
const MESSAGE: Field = f(
    "message",
    Ty::Str,
    "A message added to every event (2 to 256 characters).",
);
const RETURN_ARG: Field = f(
    "returnArg",
    Ty::Obj(&ARG),
    "How to read the return value (needs `return: true`).",
);

/// A kprobe or fentry hook.
pub static KPROBE: Obj = Obj {
    name: "KProbeSpec",
    doc: "A hook on a kernel function or syscall.",
    fields: &[
        req(f("call", Ty::Str, "The kernel function (or `sys_<name>` with syscall: true, or `list:NAME`).")),
        def(f("syscall", Ty::Bool, "The call is a syscall: its name gets the arch prefix (`sys_openat` → `__x64_sys_openat`). Set false for plain kernel functions."), "true"),
        def(f("return", Ty::Bool, "Also hook the function's return (needs returnArg)."), "false"),
        ARGS,
        RETURN_ARG,
        f("returnArgAction", Ty::Str, "TrackSock or UntrackSock on the returned sock."),
        DATA,
        SELECTORS,
        f("ignore", Ty::Obj(&KPROBE_IGNORE), "When to skip the hook instead of failing."),
        MESSAGE,
        TAGS,
    ],
};

/// A tracepoint hook.
pub static TRACEPOINT: Obj = Obj {
    name: "TracepointSpec",
    doc: "A hook on a kernel tracepoint.",
    fields: &[
        req(f(
            "subsystem",
            Ty::Str,
            "The tracepoint's subsystem, like `syscalls` or `sched`.",
        )),
        req(f(
            "event",
            Ty::Str,
            "The tracepoint's event, like `sys_enter_openat`.",
        )),
        f(
            "raw",
            Ty::Bool,
            "Attach as a raw tracepoint (arguments by position, not format fields).",
        ),
        ARGS,
        SELECTORS,
        MESSAGE,
        TAGS,
    ],
};

/// A uprobe hook.
pub static UPROBE: Obj = Obj {
    name: "UProbeSpec",
    doc: "A hook on a function of a user-space binary.",
    fields: &[
        req(f(
            "path",
            Ty::Str,
            "Absolute path of the binary or library.",
        )),
        f(
            "symbols",
            Ty::Arr(&Ty::Str),
            "Function symbols to hook (`name` or `name+offset`).",
        ),
        f("offsets", Ty::Arr(&INT64), "File offsets to hook."),
        f("addrs", Ty::Arr(&INT64), "Addresses to hook."),
        f(
            "refCtrOffsets",
            Ty::Arr(&INT64),
            "Reference counter offsets, one per symbol or offset.",
        ),
        def(
            f(
                "return",
                Ty::Bool,
                "Also hook the function's return (needs returnArg).",
            ),
            "false",
        ),
        ARGS,
        RETURN_ARG,
        DATA,
        f(
            "btfPath",
            Ty::Str,
            "BTF file describing the binary's types.",
        ),
        f(
            "binaryDigests",
            Ty::Arr(&Ty::Str),
            "Accepted digests of the binary, `<algo>:<hash>`.",
        ),
        SELECTORS,
        f(
            "ignore",
            Ty::Obj(&UPROBE_IGNORE),
            "When to skip the hook instead of failing.",
        ),
        MESSAGE,
        TAGS,
    ],
};

/// A USDT hook.
pub static USDT: Obj = Obj {
    name: "UsdtSpec",
    doc: "A hook on a user-space static tracepoint (USDT).",
    fields: &[
        req(f("path", Ty::Str, "Absolute path of the binary.")),
        req(f("provider", Ty::Str, "The USDT provider.")),
        req(f("name", Ty::Str, "The USDT probe name.")),
        ARGS,
        f(
            "btfPath",
            Ty::Str,
            "BTF file describing the binary's types.",
        ),
        SELECTORS,
        MESSAGE,
        TAGS,
    ],
};

/// An LSM hook.
pub static LSMHOOK: Obj = Obj {
    name: "LsmHookSpec",
    doc: "A hook on a Linux Security Module hook through BPF LSM.",
    fields: &[
        req(f(
            "hook",
            Ty::Str,
            "The LSM hook without prefix, like `file_open` or `bprm_check_security`.",
        )),
        ARGS,
        SELECTORS,
        MESSAGE,
        TAGS,
    ],
};

static LIST: Obj = Obj {
    name: "ListSpec",
    doc: "A named list of functions or syscalls, used as `list:NAME`.",
    fields: &[
        req(f("name", Ty::Str, "The list's name.")),
        en(
            f(
                "type",
                Ty::Str,
                "syscalls, generated_syscalls or generated_ftrace.",
            ),
            LIST_TYPES,
        ),
        f(
            "values",
            Ty::Arr(&Ty::Str),
            "The functions or syscalls (not for generated lists).",
        ),
        f(
            "pattern",
            Ty::Str,
            "generated_ftrace: a regular expression over the kernel's functions.",
        ),
        f(
            "validated",
            Ty::Bool,
            "The list was already checked against the kernel.",
        ),
    ],
};

static ENFORCER: Obj = Obj {
    name: "EnforcerSpec",
    doc: "Syscalls or security_ functions where NotifyEnforcer actions take effect.",
    fields: &[req(f(
        "calls",
        Ty::Arr(&Ty::Str),
        "Syscalls (`sys_*`), `security_*` functions or `list:NAME`.",
    ))],
};

static OPTION: Obj = Obj {
    name: "OptionSpec",
    doc: "A policy option.",
    fields: &[
        req(f("name", Ty::Str, "disable-kprobe-multi, disable-uprobe-multi, override-method, policy-mode or sleepable-preload-size.")),
        f("value", Ty::Str, "The option's value."),
    ],
};

/// `spec` of both kinds.
pub static SPEC: Obj = Obj {
    name: "TracingPolicySpec",
    doc: "What to hook, what to read, how to filter and what to do.",
    fields: &[
        f(
            "kprobes",
            Ty::Arr(&Ty::Obj(&KPROBE)),
            "Hooks on kernel functions and syscalls.",
        ),
        f(
            "tracepoints",
            Ty::Arr(&Ty::Obj(&TRACEPOINT)),
            "Hooks on tracepoints.",
        ),
        f(
            "lsmhooks",
            Ty::Arr(&Ty::Obj(&LSMHOOK)),
            "Hooks on LSM hooks (BPF LSM).",
        ),
        f(
            "uprobes",
            Ty::Arr(&Ty::Obj(&UPROBE)),
            "Hooks on user-space functions.",
        ),
        f(
            "usdts",
            Ty::Arr(&Ty::Obj(&USDT)),
            "Hooks on user-space static tracepoints.",
        ),
        f(
            "fentries",
            Ty::Arr(&Ty::Obj(&KPROBE)),
            "Hooks on kernel functions through BPF trampolines.",
        ),
        f(
            "lists",
            Ty::Arr(&Ty::Obj(&LIST)),
            "Named lists of functions, used as `list:NAME`.",
        ),
        f(
            "enforcers",
            Ty::Arr(&Ty::Obj(&ENFORCER)),
            "Where NotifyEnforcer actions take effect (at most one).",
        ),
        f("options", Ty::Arr(&Ty::Obj(&OPTION)), "Policy options."),
        f(
            "loader",
            Ty::Bool,
            "Report shared-library loads (kernel 5.19+).",
        ),
        f(
            "selectorsMacros",
            Ty::Map(&Ty::Obj(&SELECTOR)),
            "Named selectors merged into selectors that list them in `macros`.",
        ),
        f(
            "podSelector",
            Ty::Obj(&LABEL_SELECTOR),
            "Kubernetes: apply to pods with these labels.",
        ),
        f(
            "containerSelector",
            Ty::Obj(&LABEL_SELECTOR),
            "Kubernetes: apply to containers by name.",
        ),
        f(
            "hostSelector",
            Ty::Obj(&LABEL_SELECTOR),
            "Apply to host processes: null or {} only.",
        ),
        f(
            "nodeSelector",
            Ty::Obj(&LABEL_SELECTOR),
            "Kubernetes: load only on nodes with these labels.",
        ),
    ],
};

/// `metadata` (the fields of Kubernetes' ObjectMeta a manifest may carry).
pub static METADATA: Obj = Obj {
    name: "ObjectMeta",
    doc: "The policy's name and Kubernetes metadata.",
    fields: &[
        f(
            "name",
            Ty::Str,
            "The policy's name: a lowercase DNS subdomain, unique on the node or cluster.",
        ),
        f(
            "namespace",
            Ty::Str,
            "TracingPolicyNamespaced: the Kubernetes namespace.",
        ),
        f("labels", Ty::Map(&Ty::Str), "Kubernetes labels."),
        f("annotations", Ty::Map(&Ty::Str), "Kubernetes annotations."),
        f(
            "generateName",
            Ty::Str,
            "Kubernetes: a prefix for a generated name.",
        ),
        f("uid", Ty::Any, "Set by Kubernetes."),
        f("resourceVersion", Ty::Any, "Set by Kubernetes."),
        f("generation", Ty::Any, "Set by Kubernetes."),
        f("creationTimestamp", Ty::Any, "Set by Kubernetes."),
        f("deletionTimestamp", Ty::Any, "Set by Kubernetes."),
        f("deletionGracePeriodSeconds", Ty::Any, "Set by Kubernetes."),
        f("finalizers", Ty::Any, "Kubernetes finalizers."),
        f("ownerReferences", Ty::Any, "Kubernetes owner references."),
        f("managedFields", Ty::Any, "Set by Kubernetes."),
    ],
};

/// The root of both kinds.
pub static POLICY: Obj = Obj {
    name: "TracingPolicy",
    doc: "A Tetragon TracingPolicy (or TracingPolicyNamespaced).",
    fields: &[
        f("apiVersion", Ty::Str, "Always `cilium.io/v1alpha1`."),
        f(
            "kind",
            Ty::Str,
            "TracingPolicy (cluster-wide) or TracingPolicyNamespaced.",
        ),
        req(f("metadata", Ty::Obj(&METADATA), "The policy's name.")),
        req(f("spec", Ty::Obj(&SPEC), "What the policy hooks and does.")),
    ],
};
