/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Layouts shared by the BPF programs and policyctl's loader.
 *
 * The loader (runtime/src/layout.rs) mirrors every struct here with
 * #[repr(C)] and a test compares both, field by field, against the BTF of
 * the compiled object. Change a struct here and there in the same commit.
 *
 * Vocabulary:
 *   hook    one kprobe/tracepoint/lsm/uprobe entry of a policy; the loader
 *           gives it a slot, the index into `hooks` and the suffix of the
 *           program copy that serves it.
 *   filter  one compiled matchArgs / matchBinaries / matchPIDs entry.
 *   string values live in two LPM tries keyed by filter id, so Equal,
 *   Prefix and Postfix (through the reversed string) are one lookup each.
 */
#ifndef POLICYCTL_COMMON_H
#define POLICYCTL_COMMON_H

#define MAX_HOOKS 2048       /* slots in `hooks`: 16 kinds of SLOTS_PER_KIND, then MULTI_SLOTS */
#define SLOTS_PER_KIND 64    /* program copies per attach kind */
#define MAX_ARGS 5           /* args read per hook */
#define MAX_SELECTORS 5      /* Tetragon's MAX_SELECTORS */
#define MAX_FILTERS 5        /* matchArgs entries per selector (Tetragon: 5) */
#define MAX_VALUES 8         /* inline values per filter (ints, ports, CIDRs) */
#define MAX_RESOLVE 10       /* loads of a `resolve:` path: Tetragon's MAX_BTF_ARG_DEPTH */
#define STR_LEN 248          /* bytes of a string compared by filters */
#define ARG_BUF 256          /* bytes of a string, path or buffer kept in events */
#define ARG_STATUS_BAD 0xffffffffu /* event_arg.status: a string could not be read */
#define ARGV_BUF 512         /* bytes of a process's arguments in the exec event */
#define DATA_CHUNK 32736     /* bytes of one EVENT_DATA record (Tetragon's MSG_DATA_ARG_LEN) */
#define DATA_CHUNKS 10       /* EVENT_DATA records per exec (Tetragon's data_event_bytes: 10 reads) */
#define PATH_DEPTH 24        /* path components walked */
#define CGROUP_NAME 128      /* bytes of a cgroup's name (Tetragon's DOCKER_ID_LENGTH) */
#define ANCESTORS 8          /* parents walked by followForks / followChildren */
#define MAX_SYSCALLS 512     /* syscall numbers dispatched by the raw tracepoint */
#define SYSCALL_HOOKS 4      /* hooks per syscall number on the raw tracepoint */
/* kprobe hooks past the copies (issue 15): one program attached to each, its
 * slot found by the function's address in `func_slots` */
#define MULTI_SLOT_BASE 1024 /* 16 * SLOTS_PER_KIND: the first slot past every kind's copies */
#define MULTI_SLOTS 1024     /* kprobe hooks served by kprobe_multi at most */
/* An enforcer's key in override_tasks: this bit and the slot of its policy's first hook
 * (below 2^31: the fmod_ret program ORs it in as a sign-extended immediate). */
#define ENFORCER_KEY 1073741824 /* 0x40000000 */
#define FUNC_HOOKS 32        /* kprobe_multi hooks on one function at most */

/* Attach kinds, also the slot ranges: slot = kind_base + copy. */
enum hook_kind {
	KIND_KPROBE = 0,
	KIND_FENTRY = 1,
	KIND_LSM = 2,
	KIND_TRACEPOINT = 3,
	KIND_UPROBE = 4,
	KIND_RAW_SYSCALL = 5, /* raw_syscalls/sys_enter, dispatched by number */
	KIND_RAW_TRACEPOINT = 12, /* raw tracepoints (`raw: true`); 12 leaves 6..11 to other kinds */
};

/* What an argument holds, and how it is read. */
enum arg_type {
	ARG_NONE = 0,
	ARG_INT = 1,      /* signed integer, `width` bytes */
	ARG_UINT = 2,     /* unsigned integer, `width` bytes */
	ARG_STRING = 3,   /* NUL-terminated string at the pointer */
	ARG_FILENAME = 4, /* struct filename *: its `name` */
	ARG_FILE = 5,     /* struct file *: path of f_path */
	ARG_PATH = 6,     /* struct path *: its path */
	ARG_DENTRY = 7,   /* struct dentry *: path inside its mount */
	ARG_FD = 8,       /* file descriptor of the current task: its path */
	ARG_SOCK = 9,     /* struct sock *: addresses, ports, protocol */
	ARG_BYTES = 10,    /* bytes at the pointer (char_buf), size from another arg */
	ARG_BINPRM = 11,   /* struct linux_binprm *: path of its file */
	ARG_SOCKET = 12,   /* struct socket *: its sock, read as ARG_SOCK */
	/* arg types and operators (issue 15) */
	ARG_SKB = 13,         /* struct sk_buff *: struct skb_info */
	ARG_SOCKADDR = 14,    /* struct sockaddr *: family, address, port in `sock` */
	ARG_SOCKADDR_UN = 15, /* struct sockaddr_un *: path in `str`; mode = family | abstract << 16 */
	ARG_CRED = 16,        /* struct cred *: struct cred_info */
	ARG_BPF_ATTR = 17,    /* union bpf_attr * (BPF_PROG_LOAD): struct bpf_info */
	ARG_BPF_PROG = 18,    /* struct bpf_prog *: struct bpf_info */
	ARG_NET_DEV = 19,     /* struct net_device *: its name in `str` */
	ARG_CAPS = 20,        /* kernel_cap_t * (and cap_*): its 64 bits in `value` */
	ARG_IOVEC = 21,       /* struct iovec * (char_iovec): bytes in `str`, count: size_index */
	/* kernel objects, kiocb, iov_iter and tracepoint strings (issue 15) */
	ARG_PERF_EVENT = 22,  /* struct perf_event *: struct perf_info */
	ARG_BPF_MAP = 23,     /* struct bpf_map *: struct map_info */
	ARG_USER_NS = 24,     /* struct user_namespace *: struct user_ns_info */
	ARG_MODULE = 25,      /* struct module *: struct module_info */
	ARG_LOAD_INFO = 26,   /* struct load_info *: struct module_info, with sig_ok */
	ARG_KIOCB = 27,       /* struct kiocb *: the path of its ki_filp, as ARG_FILE */
	ARG_IOV_ITER = 28,    /* struct iov_iter *: bytes of its (first) buffer in `str` */
	ARG_DATA_LOC = 29,    /* tracepoint __data_loc string: (length << 16 | offset) in the record */
	/* tracepoint arrays (issue 15); 40 leaves 30..39 to other types */
	ARG_CONST_BUF = 40,   /* a fixed-size array in the record: `width` bytes at field_offset, in `str` */
};

/* Where a hook's raw argument values come from. */
#define ARG_USER 1       /* pointer into user memory (syscall arguments) */
#define ARG_LAST_ADDR 2  /* last resolve step takes the address, not a load */
#define ARG_RETURN_COPY 4 /* returnCopy: char_buf, char_iovec read at the return; the
			   * entry keeps the pointer in `value` (an iovec's count in `mode`) */

struct arg_config {
	__u8 type;      /* enum arg_type */
	__u8 index;     /* raw argument (0..5) */
	__u8 width;     /* integer width in bytes: 1, 2, 4, 8 */
	__u8 flags;     /* ARG_USER | ARG_LAST_ADDR */
	__u8 nresolve;  /* steps in `resolve` */
	__u8 size_index; /* ARG_BYTES: raw index + 1 of the size argument, 0 = none */
	__u16 field_offset; /* tracepoints: offset of the field in the record */
	__u16 resolve[MAX_RESOLVE]; /* byte offset added before each load */
	/* `data` (issue 15): where the value comes from when not a raw argument */
	__u8 source;     /* enum arg_source */
	__u8 reg_size;   /* SOURCE_*_REGS: bytes of the register read (8, 4, 2, 1) */
	__u16 reg_offset; /* SOURCE_*_REGS: the register's offset in struct pt_regs */
};

/* Where an argument's value comes from (Tetragon's `source` of a data arg). */
enum arg_source {
	SOURCE_ARG = 0,          /* the raw argument `index` */
	SOURCE_PT_REGS = 1,      /* a register of the probe's pt_regs (kprobe, uprobe) */
	SOURCE_USER_REGS = 2,    /* a register of the task's user pt_regs (a syscall's) */
	SOURCE_CURRENT_TASK = 3, /* the current task_struct */
};

/* Filter operators, compiled from the policy's names. */
enum filter_op {
	OP_NONE = 0,
	OP_EQUAL = 1,
	OP_PREFIX = 2,
	OP_POSTFIX = 3,
	OP_GT = 4,
	OP_LT = 5,
	OP_MASK = 6,
	OP_SPORT = 7,
	OP_DPORT = 8,
	OP_SPORT_PRIV = 9,
	OP_DPORT_PRIV = 10,
	OP_SADDR = 11,
	OP_DADDR = 12,
	OP_PROTOCOL = 13,
	OP_FAMILY = 14,
	OP_STATE = 15,
	OP_IN = 16,      /* matchBinaries In / matchPIDs In */
	/* arg types and operators (issue 15) */
	OP_FILE_TYPE = 17,  /* FileType: (i_mode & S_IFMT) equals one of `ints` */
	OP_SPORT_RANGE = 18, /* SPort with ranges: ints[2k] <= port <= ints[2k+1] */
	OP_DPORT_RANGE = 19, /* DPort with ranges */
	OP_INT_RANGE = 20,  /* InMap / InRange on integers: ints[2k] <= v <= ints[2k+1] */
	/* sockets, network actions, lists (issue 15); 21..39 left to other kinds */
	OP_INT_SET = 40,    /* InMap with `list:` values: the value's 8 LE bytes, a string in str_prefix */
	OP_CEL = 41,        /* CelExpr: the program in `cel_progs` under the filter's id */
	/* operators on capability sets (issue 15) */
	OP_CAPS_GAINED = 21, /* CapabilitiesGained: ints[0] is the event slot of the second set */
	OP_SUBSTRING = 22,   /* SubString: a stored value is a prefix of some suffix; ints[0]: shortest value */
	OP_SUBSTRING_NOCASE = 23, /* SubStringIgnCase: the same on the lowered string (values stored lowered) */
};

#define FILTER_NOT 1     /* the negated form: NotEqual, NotIn, NotDPort ... */
#define FILTER_FOLLOW 2  /* followForks / followChildren */
#define FILTER_NSPID 4   /* isNamespacePID */
#define FILTER_LEN_GATE 8 /* string filters: ints[0..3] are a bitmap of the lengths that can match */

struct cidr {
	__u32 family; /* AF_INET (2) or AF_INET6 (10) */
	__u32 prefix; /* prefix length in bits */
	__u8 addr[16];
};

struct filter {
	__u32 id;     /* key of this filter's strings in the tries */
	__u8 op;      /* enum filter_op */
	__u8 flags;   /* FILTER_* */
	__u8 arg;     /* arg slot 0..4 in arg_config / event (matchArgs) */
	__u8 nvalues; /* inline values used */
	union {
		__u64 ints[MAX_VALUES];
		struct cidr cidrs[MAX_VALUES];
	};
};

/* Actions, numbered as Tetragon's KprobeAction enum. */
enum action {
	ACTION_UNKNOWN = 0,
	ACTION_POST = 1,
	ACTION_SIGKILL = 3,
	ACTION_OVERRIDE = 5,
	ACTION_NOPOST = 9,
	ACTION_SIGNAL = 10,
	/* sockets and network actions (issue 15) */
	ACTION_GETURL = 7,      /* user space fetches the selector's argUrl */
	ACTION_DNSLOOKUP = 8,   /* user space looks the selector's argFqdn up */
	ACTION_TRACKSOCK = 11,  /* the arg's sock is attributed to this process */
	ACTION_UNTRACKSOCK = 12, /* the arg's sock is no longer attributed */
	ACTION_SET = 15,      /* USDT Set: a value written at an argument's address */
	/* enforcers (issue 15) */
	ACTION_NOTIFYENFORCER = 13, /* the policy's enforcer fails the thread's next call */
};

#define RATE_THREAD 0  /* Tetragon's default */
#define RATE_PROCESS 1
#define RATE_GLOBAL 2

/* ---- process filters: namespaces and capabilities ----------------------
 * matchNamespaces, matchCapabilities, matchNamespaceChanges and
 * matchCapabilityChanges, evaluated as Tetragon's selector_process_filter()
 * (bpf/process/pfilter.h) does.
 */
#define NS_KINDS 10        /* Tetragon's ns_max_types */
#define MAX_NS_FILTERS 10  /* matchNamespaces per selector (large programs) */
#define MAX_NS_VALUES 4    /* Tetragon's MAX_SELECTOR_VALUES */
#define CAPS_SETS 3

/* Namespace kinds, numbered as Tetragon's namespaceTypeTable. */
enum ns_kind {
	NS_UTS = 0,
	NS_IPC = 1,
	NS_MNT = 2,
	NS_PID = 3,
	NS_PID_FOR_CHILDREN = 4,
	NS_NET = 5,
	NS_TIME = 6,
	NS_TIME_FOR_CHILDREN = 7,
	NS_CGROUP = 8,
	NS_USER = 9,
};

/* Capability sets, numbered as Tetragon's capabilitiesTypeTable. */
enum caps_set {
	CAPS_PERMITTED = 0,
	CAPS_EFFECTIVE = 1,
	CAPS_INHERITABLE = 2,
};

/* One matchNamespaces entry: the task's namespace of `kind` In/NotIn values. */
struct ns_filter {
	__u8 kind;    /* enum ns_kind */
	__u8 flags;   /* FILTER_NOT */
	__u8 nvalues;
	__u8 _pad;
	__u32 values[MAX_NS_VALUES]; /* namespace inode numbers */
};

/* A matchCapabilities or matchCapabilityChanges entry. */
struct caps_filter {
	__u8 set;     /* enum caps_set */
	__u8 flags;   /* FILTER_NOT */
	__u8 _pad[2];
	__u32 host_userns; /* isNamespaceCapability: the host's user namespace inode; 0: any */
	__u64 mask;   /* bit n: capability n */
};

struct selector {
	__u8 nargs;     /* matchArgs filters used */
	__u8 has_binaries;
	__u8 has_pids;
	__u8 post;      /* 1: send an event (no NoPost) */
	__u8 kill;      /* 1: Sigkill */
	__u8 signal;    /* Signal's argSig, 0 = none */
	__u8 override;  /* 1: Override with override_value */
	__u8 rate_scope; /* rateLimitScope: RATE_THREAD, RATE_PROCESS, RATE_GLOBAL */
	__s32 override_value;
	__u32 rate_limit_ms; /* Post rateLimit, 0 = none */
	struct filter args[MAX_FILTERS];
	struct filter binaries;
	struct filter pids;	/* matchNamespaces, matchCapabilities and their Changes */
	__u8 nnamespaces;     /* ns_filter entries used */
	__u8 has_caps;
	__u8 has_cap_changes;
	__u8 has_ns_changes;
	__u8 ns_changes_flags; /* FILTER_NOT */
	__u8 _pad_ns;
	__u16 ns_changes;     /* bit n: enum ns_kind n */
	struct ns_filter namespaces[MAX_NS_FILTERS];
	struct caps_filter caps;
	struct caps_filter cap_changes;
	/* sockets and network actions (issue 15) */
	__u8 sock_action; /* ACTION_TRACKSOCK or ACTION_UNTRACKSOCK on args[sock_arg]; 0 = none */
	__u8 sock_arg;    /* argSock: the event arg (slot 0..4) holding the sock */
	__u8 last_action; /* the event's action when the selector's last action is one
			   * of the four above (Tetragon reports the last); 0 = none */
	__u8 _pad_net[5];
	/* matchParentBinaries: the parent's binary, compared as matchBinaries */
	struct filter parent_binaries;
	__u8 has_parent_binaries;
	__u8 _pad_parent[7];	/* NotifyEnforcer (issue 15): what the policy's enforcer returns and sends */
	__u8 notify_enforcer;  /* 1: NotifyEnforcer */
	__u8 _pad_enf[3];
	__s32 enforcer_error;  /* argError, kept in 16 bits as Tetragon's enforcer_data */
	__u32 enforcer_signal; /* argSig, 0 = none */
	__u32 enforcer_key;    /* the enforcer's `slot` in override_tasks: ENFORCER_KEY | a slot */
	/* issue 16: the arguments (bit i: event arg i) this selector's matchArgs
	 * entries compare, read once its process filters hold */
	__u8 args_mask;
	__u8 _pad_lazy[3];
	/* Post's kernelStackTrace / userStackTrace (issue 15): the event carries
	 * the stack ids (stack_traces map), as Tetragon's do_action for
	 * ACTION_POST (bpf/process/generic_calls.h) */
	__u8 kernel_stack; /* 1: kernelStackTrace */
	__u8 user_stack;   /* 1: userStackTrace */
	__u8 _pad_stack[2];
};

/*
 * The return half of a selector (matchReturnArgs, matchReturnActions),
 * evaluated when the hooked function returns, apart from the entry half as
 * Tetragon does (pkg/selectors/kernel.go InitKernelReturnSelectorState()).
 */
struct return_selector {
	__u8 nargs;  /* matchReturnArgs filters used (their `arg` is unused) */
	__u8 post;   /* 1: send the merged event (no NoPost) */
	__u8 kill;   /* 1: Sigkill */
	__u8 signal; /* Signal's argSig, 0 = none */
	__u32 _pad;
	struct filter args[MAX_FILTERS];
};

struct hook_config {
	__u32 policy;     /* index of the policy, for events */
	__u8 kind;        /* enum hook_kind */
	__u8 nargs;       /* arg_config used */
	__u8 nselectors;  /* 0: every call matches and posts */
	__u8 enabled;
	__u8 syscall;     /* arguments are a syscall's: read through its user registers */
	__u8 _pad[3];
	struct arg_config args[MAX_ARGS];
	struct selector selectors[MAX_SELECTORS];
	/* return probes (`return: true`): see struct return_selector */
	struct arg_config ret; /* returnArg: type, width; field_offset of `ret` for sys_exit_ */
	__u8 returns;          /* 1: a return program also serves this slot */
	__u8 _rpad[7];
	struct return_selector ret_selectors[MAX_SELECTORS];
	/* sockets (issue 15) */
	__u8 ret_sock_action; /* returnArgAction: ACTION_TRACKSOCK / ACTION_UNTRACKSOCK on the
			       * returned sock, at every return; 0 = none */
	__u8 _spad[7];
};

/* A hook's gates (`gates`, issue 16), tested by handle() before the hook's
 * configuration is looked up, so that a call no selector can match returns
 * at once. Written by the loader from the hook's configuration (layout.rs
 * HookGate::of).
 * - The binary gate: when every selector has a matchBinaries filter with a
 *   length gate (FILTER_LEN_GATE; not negated, no followChildren), a process
 *   whose binary (from `processes`) has a length in no selector's gate, or,
 *   for a hook of one selector, fails that filter's lookup, matches nothing.
 * - The argument gate: when every selector needs a length-gated string
 *   filter (not negated) to hold on the same argument, handle() reads that
 *   argument first; a length in no selector's gate, or, for a hook of one
 *   selector, a failed lookup of that filter, matches nothing. */
struct hook_gate {
	__u8 active;  /* the argument gate; 0: none */
	__u8 arg;     /* the event argument read (arg_config index) */
	__u8 index;   /* its raw argument (0..5) */
	__u8 flags;   /* its arg_config flags (ARG_USER) */
	__u8 syscall; /* the hook's arguments are a syscall's (hook_config.syscall) */
	__u8 width;   /* tracepoints: the field's width */
	__u16 field_offset; /* tracepoints: the field's offset in the record */
	__u32 filter; /* a hook of one selector: its gated filter's id */
	__u8 op;      /* and operator, looked up in the gate too; 0: the length alone */
	__u8 bin_active; /* the binary gate; 0: none */
	__u8 bin_op;  /* a hook of one selector: its matchBinaries operator; 0: the length alone */
	__u8 _pad;
	__u32 bin_filter; /* and its filter id */
	__u32 _pad2;
	__u64 lens[4]; /* bit n: a string of length n (capped at STR_LEN) can match */
	__u64 bin_lens[4]; /* bit n: a binary path of length n (capped) can match */
};

/* Hooks sharing a syscall number on the raw syscall tracepoint. */
struct syscall_hooks {
	__u32 count;
	__u32 slots[SYSCALL_HOOKS];
};

/* kprobe_multi (issue 15): the hooks on one function, `func_slots`' value. */
struct func_hooks {
	__u32 count;
	__u32 slots[FUNC_HOOKS];
};

/* Keys of the string tries: prefixlen counts the id's 32 bits too. */
struct str_key {
	__u32 prefixlen;
	__u32 filter;
	__u8 data[STR_LEN];
};

/* A process as the kernel side knows it (execve_map). */
struct process {
	__u32 ppid;
	__u32 binary_len;
	__u8 binary[ARG_BUF];
	/* namespaces and capabilities stored for the *Changes filters */
	__u32 exec_state; /* PROCESS_AT_FORK, PROCESS_AT_EXEC; 0: not stored */
	__u32 ns[NS_KINDS];  /* inode numbers, by enum ns_kind */
	__u32 _pad_ns;
	__u64 caps[CAPS_SETS]; /* by enum caps_set */
};

#define PROCESS_AT_FORK 1 /* stored from the new task at fork */
#define PROCESS_AT_EXEC 2 /* stored at the first exec after the fork */

/* Events on the ring buffer. */
enum event_type {
	EVENT_EXEC = 1,
	EVENT_EXIT = 2,
	EVENT_HOOK = 3,
	EVENT_FORK = 4, /* a new process without exec: it inherits its parent's binary */
	EVENT_DATA = 5, /* more of the next exec's arguments (header: that exec's pid and ktime) */
	EVENT_RETURN = 6, /* a return probe: the entry's hook event merged with the return */
};

struct event_header {
	__u32 type; /* enum event_type */
	__u32 pid;  /* thread group id */
	__u32 tid;
	__u32 uid;
	__u64 ktime; /* bpf_ktime_get_boot_ns() */
};

/* ARG_CRED: Tetragon's msg_cred (bpf/lib/process.h) */
struct cred_info {
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u32 suid;
	__u32 sgid;
	__u32 fsuid;
	__u32 fsgid;
	__u32 securebits;
	__u32 _pad;
	__u64 permitted;
	__u64 effective;
	__u64 inheritable;
	__s32 ns_level; /* the cred's user namespace */
	__u32 ns_uid;
	__u32 ns_gid;
	__u32 ns_inum;
};

struct exec_event {
	struct event_header header;
	__u32 ppid;
	__u32 args_len;  /* bytes of args used: NUL-separated argv */
	__u32 binary_len;
	__u32 cwd_len;
	__u64 start_boottime; /* task start, ns since boot */
	__u32 nspid;     /* the pid in the task's own pid namespace */
	__u32 auid;      /* login uid (task->loginuid); 0 on a kernel without it */
	__u32 args_total;   /* bytes of the whole argument area (mm->arg_end - arg_start) */
	__u32 args_data;    /* bytes of it sent before this event in EVENT_DATA records */
	__u32 filename_len; /* strlen(bprm->filename): the name execve was given */
	__u32 _pad2;
	__u8 cgroup[CGROUP_NAME]; /* the name of the task's cgroup (v2), for the container id */
	__u8 binary[ARG_BUF];
	__u8 cwd[ARG_BUF];
	__u8 args[ARGV_BUF];
	struct cred_info cred; /* the task's credentials after the exec */
	__u32 ns[NS_KINDS];    /* its namespaces' inode numbers, by enum ns_kind */
};

struct fork_event {
	struct event_header header; /* pid: the child */
	__u32 ppid;
	__u32 _pad;
	__u64 start_boottime;
};

/* Arguments past the exec event's ARGV_BUF bytes, in order, before the exec event. */
struct data_event {
	struct event_header header; /* type EVENT_DATA; pid and ktime of the exec */
	__u32 len;  /* bytes used in data */
	__u32 _pad;
	__u8 data[DATA_CHUNK];
};

struct exit_event {
	struct event_header header;
	__u32 ppid;
	__u32 exit_code; /* wait status: code << 8 | signal */
};

struct sock_tuple {
	__u16 family;
	__u16 protocol;
	__u16 sport;  /* host order */
	__u16 dport;  /* host order */
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 state;
	__u32 type;
	__u64 cookie; /* the struct sock's address, Tetragon's sock_arg cookie */
};

/* ARG_SKB: Tetragon's skb_type (bpf/process/types/skb.h) */
struct skb_info {
	struct sock_tuple tuple; /* family, protocol, ports, addresses from the headers */
	__u32 hash;
	__u32 len;
	__u32 priority;
	__u32 mark;
	__u32 secpath_len;
	__u32 secpath_olen;
};

/* ARG_BPF_ATTR, ARG_BPF_PROG: Tetragon's bpf_info_type */
struct bpf_info {
	__u32 prog_type;
	__u32 insn_cnt;
	__u8 prog_name[16]; /* BPF_OBJ_NAME_LEN */
};

/* ARG_PERF_EVENT: Tetragon's perf_event_info_type (bpf/process/types/perfevent.h) */
struct perf_info {
	__u64 config;
	__u64 probe_offset;
	__u32 type;
	__u32 _pad;
	__u8 kprobe_func[128]; /* KSYM_NAME_LEN */
};

/* ARG_BPF_MAP: Tetragon's bpf_map_info_type (bpf/process/types/bpfmap.h) */
struct map_info {
	__u32 map_type;
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	__u8 map_name[16]; /* BPF_OBJ_NAME_LEN */
};

/* ARG_USER_NS: Tetragon's msg_user_namespace (bpf/lib/process.h) */
struct user_ns_info {
	__s32 level;
	__u32 uid;
	__u32 gid;
	__u32 inum;
};

/* ARG_MODULE, ARG_LOAD_INFO: Tetragon's tg_kernel_module (bpf/process/types/module.h) */
struct module_info {
	__u64 taints;
	__u32 sig_ok;  /* ARG_LOAD_INFO: load_info->sig_ok */
	__u32 _pad;
	__u8 name[64]; /* MODULE_NAME_LEN */
};

struct event_arg {
	__u32 type; /* enum arg_type of what was read */
	__u32 len;  /* bytes in `str` for strings, paths and buffers */
	__u32 mode; /* paths: the inode's i_mode (type and permission bits) */
	__u32 status; /* 0: read; n: load n of its resolve path failed; ARG_STATUS_BAD */
	union {
		__s64 value;
		struct sock_tuple sock;
		__u8 str[ARG_BUF];
		struct skb_info skb;
		struct cred_info cred;
		struct bpf_info bpf;
		/* kernel objects (issue 15) */
		struct perf_info perf;
		struct map_info map;
		struct user_ns_info user_ns;
		struct module_info module;
	};
};

struct hook_event {
	struct event_header header;
	__u32 slot;
	__u32 selector; /* index of the selector that matched, or 255 */
	__u32 action;   /* enum action taken */
	__s32 action_arg; /* signal number, override value */
	__u64 syscall;  /* raw syscall tracepoint: the syscall number */
	struct event_arg args[MAX_ARGS];
	/* stack traces (issue 15): sent only by a selector asking for them,
	 * with every args slot (the record is then sizeof(struct hook_event)) */
	__s32 kernel_stack_id; /* id in stack_traces, or -errno from bpf_get_stackid */
	__s32 user_stack_id;
	__u32 stack_flags;     /* STACK_KERNEL | STACK_USER: the ids asked (0 is a valid id) */
	__u32 _pad_stack;
};

/* Stack traces (issue 15): the flags of hook_event.stack_flags, as
 * Tetragon's MSG_COMMON_FLAG_KERNEL_STACKTRACE / _USER_STACKTRACE
 * (bpf/lib/common.h), and the frames kept per stack: Tetragon's
 * PERF_MAX_STACK_DEPTH (bpf/process/types/basic.h). */
#define STACK_KERNEL 1
#define STACK_USER 2
#define STACK_DEPTH 127

/* ---- return probes ---------------------------------------------------- */

#define MAX_PENDING 4096 /* calls entered and not yet returned, kept per thread */

/* A call entered and not yet returned, keyed by slot and thread. */
struct pending_key {
	__u32 slot;
	__u32 tid;
};

/*
 * A return probe's event: the entry's hook event (its header type is
 * EVENT_HOOK) with the return value and what the return selectors did.
 * Only the entry's declared arguments are sent, as for hook events.
 */
struct return_event {
	struct event_header header; /* EVENT_RETURN; pid, tid, ktime of the entry */
	__u32 selector;   /* return selector that matched, or 255 */
	__u32 action;     /* enum action taken at the return */
	__s32 action_arg; /* signal number */
	__u32 _pad;
	struct event_arg ret; /* the return value, read as returnArg says */
	struct hook_event enter;
};

/* ---- CelExpr ---------------------------------------------------------- */

/*
 * A CelExpr filter is compiled by the planner (from the validator's typed
 * expression) to a postfix program that `cel_eval` runs over the event's
 * arguments with a small stack. Values are 64 bits, s32 and s64 kept sign
 * extended, u32 and u64 zero extended, bools 0 or 1.
 */
#define CEL_MAX_INSNS 32 /* instructions of one program */
#define CEL_STACK 8      /* values on the stack */
#define MAX_CEL_PROGS 256 /* programs loaded at once */

enum cel_op {
	CEL_PUSH = 1,  /* push imm */
	CEL_ARG = 2,   /* push the value of arg `arg` (0 = the return value in matchReturnArgs) */
	CEL_EQ = 3,
	CEL_NE = 4,
	CEL_LT = 5,
	CEL_LE = 6,
	CEL_GT = 7,
	CEL_GE = 8,
	CEL_ADD = 9,
	CEL_SUB = 10,
	CEL_BAND = 11,
	CEL_BOR = 12,
	CEL_BXOR = 13,
	CEL_BNOT = 14, /* unary */
	CEL_LAND = 15,
	CEL_LOR = 16,
	CEL_LNOT = 17, /* unary */
	CEL_TO_S32 = 18, /* unary: truncate to 32 bits, sign extend */
	CEL_TO_U32 = 19, /* unary: truncate to 32 bits */
};

/* The operand type of an instruction: how it compares and wraps. */
enum cel_ty {
	CEL_S64 = 0,
	CEL_U64 = 1,
	CEL_S32 = 2,
	CEL_U32 = 3,
	CEL_BOOL = 4,
};

struct cel_insn {
	__u8 op;  /* enum cel_op */
	__u8 type; /* enum cel_ty of the operands */
	__u8 arg; /* CEL_ARG: the argument's position */
	__u8 _pad[5];
	__s64 imm; /* CEL_PUSH: the value */
};

struct cel_prog {
	__u32 len; /* instructions used */
	__u32 _pad;
	struct cel_insn insns[CEL_MAX_INSNS];
};

/* ---- USDT probes --------------------------------------------------------
 * A USDT site is served by a uprobe slot's `usdt_N` copy: its arguments are
 * read where the site's stapsdt note says (Tetragon's read_usdt_arg,
 * bpf/process/usdt_arg.h), into the raw arguments the hook's arg_config
 * reads (arg i of the hook is usdt_spec.args[i]).
 */
#define USDT_CONST 1     /* a constant: val_off */
#define USDT_REG 2       /* a register: reg_off */
#define USDT_REG_DEREF 3 /* memory at a register + val_off */
#define USDT_SIB 4       /* memory at base + (index << scale) + val_off */

/* One argument of a USDT site (Tetragon's config_usdt_arg). */
struct usdt_arg {
	__u64 val_off;     /* the constant, or the offset added to the address */
	__u16 reg_off;     /* offsetof(struct pt_regs, the register) */
	__u16 reg_idx_off; /* USDT_SIB: the index register's */
	__u8 shift;        /* 64 - size * 8 */
	__u8 kind;         /* USDT_* (0: no argument) */
	__u8 sig;          /* 1: sign-extended */
	__u8 scale;        /* USDT_SIB: log2 of the index's scale */
};

/* A USDT site's arguments in the hook's arg order, and each selector's Set
 * action (Tetragon's do_set_action, bpf/process/generic_calls.h). */
struct usdt_spec {
	struct usdt_arg args[MAX_ARGS];
	__u8 set_arg[MAX_SELECTORS]; /* Set's argIndex + 1 per selector; 0: no Set */
	__u8 _pad[3];
	__u32 set_value[MAX_SELECTORS]; /* Set's argValue */
	__u32 _pad2;
};

/* ---- Override on uprobes -----------------------------------------------
 * A selector's Override on a uprobe writes the probed thread's registers
 * (Tetragon's uprobe_offload, bpf/process/uprobe_offload.h): the assignments
 * of map `uprobe_regs` under (slot * MAX_SELECTORS + selector), applied in
 * order by the `uprobe_override_N` copies. Registers are named by their byte
 * offset in struct pt_regs, as the plan's parser gives them.
 */
#define REGS_MAX 18       /* Tetragon's REGS_MAX: assignments per selector */
#define PT_REGS_WORDS 21  /* sizeof(struct pt_regs) / 8 on x86_64 */
#define REG_ASS_CONST 1     /* dst = off */
#define REG_ASS_REG 2       /* dst = src */
#define REG_ASS_REG_OFF 3   /* dst = src + off */
#define REG_ASS_REG_DEREF 4 /* dst = *(u64 *)(src + off), user memory */

/* One assignment (Tetragon's reg_assignment): src and dst are offsets in
 * struct pt_regs, their sizes how many low bytes are read or written. */
struct reg_assignment {
	__u64 off;
	__u16 src;
	__u16 dst;
	__u8 src_size;
	__u8 dst_size;
	__u8 type; /* REG_ASS_* */
	__u8 _pad;
};

/* A selector's assignments (Tetragon's uprobe_regs). */
struct uprobe_regs {
	struct reg_assignment ass[REGS_MAX];
	__u32 cnt;
	__u32 _pad;
};

#endif
