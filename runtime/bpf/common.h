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

#define MAX_HOOKS 1024       /* slots in `hooks`: room for 16 kinds of SLOTS_PER_KIND */
#define SLOTS_PER_KIND 64    /* program copies per attach kind */
#define MAX_ARGS 5           /* args read per hook */
#define MAX_SELECTORS 5      /* Tetragon's MAX_SELECTORS */
#define MAX_FILTERS 5        /* matchArgs entries per selector (Tetragon: 5) */
#define MAX_VALUES 8         /* inline values per filter (ints, ports, CIDRs) */
#define MAX_RESOLVE 4        /* steps of a `resolve:` path */
#define STR_LEN 248          /* bytes of a string compared by filters */
#define ARG_BUF 256          /* bytes of a string, path or buffer kept in events */
#define ARGV_BUF 512         /* bytes of a process's arguments */
#define PATH_DEPTH 24        /* path components walked */
#define ANCESTORS 8          /* parents walked by followForks / followChildren */
#define MAX_SYSCALLS 512     /* syscall numbers dispatched by the raw tracepoint */
#define SYSCALL_HOOKS 4      /* hooks per syscall number on the raw tracepoint */

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
};

/* Where a hook's raw argument values come from. */
#define ARG_USER 1       /* pointer into user memory (syscall arguments) */
#define ARG_LAST_ADDR 2  /* last resolve step takes the address, not a load */

struct arg_config {
	__u8 type;      /* enum arg_type */
	__u8 index;     /* raw argument (0..5) */
	__u8 width;     /* integer width in bytes: 1, 2, 4, 8 */
	__u8 flags;     /* ARG_USER | ARG_LAST_ADDR */
	__u8 nresolve;  /* steps in `resolve` */
	__u8 size_index; /* ARG_BYTES: raw index + 1 of the size argument, 0 = none */
	__u16 field_offset; /* tracepoints: offset of the field in the record */
	__u16 resolve[MAX_RESOLVE]; /* byte offset added before each load */
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
};

#define FILTER_NOT 1     /* the negated form: NotEqual, NotIn, NotDPort ... */
#define FILTER_FOLLOW 2  /* followForks / followChildren */
#define FILTER_NSPID 4   /* isNamespacePID */

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
};

#define RATE_THREAD 0  /* Tetragon's default */
#define RATE_PROCESS 1
#define RATE_GLOBAL 2

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
	struct filter pids;
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
};

/* Hooks sharing a syscall number on the raw syscall tracepoint. */
struct syscall_hooks {
	__u32 count;
	__u32 slots[SYSCALL_HOOKS];
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
};

/* Events on the ring buffer. */
enum event_type {
	EVENT_EXEC = 1,
	EVENT_EXIT = 2,
	EVENT_HOOK = 3,
	EVENT_FORK = 4, /* a new process without exec: it inherits its parent's binary */
};

struct event_header {
	__u32 type; /* enum event_type */
	__u32 pid;  /* thread group id */
	__u32 tid;
	__u32 uid;
	__u64 ktime; /* bpf_ktime_get_boot_ns() */
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
	__u8 binary[ARG_BUF];
	__u8 cwd[ARG_BUF];
	__u8 args[ARGV_BUF];
};

struct fork_event {
	struct event_header header; /* pid: the child */
	__u32 ppid;
	__u32 _pad;
	__u64 start_boottime;
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

struct event_arg {
	__u32 type; /* enum arg_type of what was read */
	__u32 len;  /* bytes in `str` for strings, paths and buffers */
	__u32 mode; /* paths: the inode's i_mode (type and permission bits) */
	__u32 _pad;
	union {
		__s64 value;
		struct sock_tuple sock;
		__u8 str[ARG_BUF];
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
};

#endif
