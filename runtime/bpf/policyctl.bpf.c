/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * policyctl's BPF programs: process tracking and one generic hook handler.
 *
 * Nothing here knows a policy. The loader compiles each hook into a
 * `struct hook_config` in the `hooks` array and the string values of its
 * filters into the `str_prefix` / `str_postfix` tries; the handlers below
 * read arguments as configured, evaluate the selectors and act.
 *
 * Every attach kind has SLOTS_PER_KIND copies of its program (kprobe_0,
 * kprobe_1, ...): a copy only differs in the slot it serves, which is how
 * one object serves many hooks and every program shares the same maps.
 */
#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10
#define SIGKILL 9

/* A hash without preallocation: only the slots a plan uses take memory,
 * however many kinds and copies the object has. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_HOOKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct hook_config);
} hooks SEC(".maps");

/* Each slot's gates (struct hook_gate), an array the verifier inlines the
 * lookup of: what handle() tests before the `hooks` lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_HOOKS);
	__type(key, __u32);
	__type(value, struct hook_gate);
} gates SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, struct syscall_hooks);
} syscalls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct str_key);
	__type(value, __u32); /* length of the stored value, in bytes */
} str_prefix SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct str_key);
	__type(value, __u32);
} str_postfix SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct process);
} processes SEC(".maps");

struct rate_key {
	__u32 slot;
	__u32 selector;
	__u64 hash;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct rate_key);
	__type(value, __u64);
} rate_limits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

/* [0]: events the ring buffer had no room for. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* Scratch space: BPF stacks are 512 bytes. */
struct scratch {
	__u64 raw[6];
	__u32 key_len;
	__u32 _pad;
	struct str_key key;
	struct str_key rkey;
	__u8 path[ARG_BUF * 2]; /* room for any offset plus any length */
	const unsigned char *names[PATH_DEPTH];
	__u32 lens[PATH_DEPTH];
	__u32 unread;   /* bit i: argument i could not be read */
	__u32 self_len; /* bytes in self_binary */
	__u8 self_binary[ARG_BUF]; /* the current task's executable, read from the task */
	union {
		struct hook_event hook;
		struct exec_event exec;
	};
	struct return_event ret_event; /* return probes: the merged event */
	__u64 tp_ctx; /* tracepoints: the record, where ARG_DATA_LOC strings lie */
	__u8 lower[ARG_BUF * 2]; /* SubStringIgnCase: the arg lowered (room for any key read) */
	__u64 regs_addr; /* kprobes, uprobes: the probe's struct pt_regs (data from pt_regs) */
	/* stack traces (issue 15): a post handle() left to the program, which
	 * has the context bpf_get_stackid needs (post_stacks) */
	__u32 stack_post;    /* STACK_KERNEL | STACK_USER of the deferred post; 0: none */
	__u32 stack_slot;    /* its hook's slot */
	__u32 stack_returns; /* 1: keep the entry for its return probe instead of posting */
	__u32 args_from; /* ARGS_*: how handle() completes raw */
	__u64 args_ctx;  /* ARGS_TRAMPOLINE: the program's context, the arguments' u64s */
	__u64 uregs[PT_REGS_WORDS]; /* uprobe Override: the registers being assigned */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

/* Return probes: each call not yet returned, its entry's event in `enter`
 * and the selectors active at the entry in `selector` (a bit each). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_PENDING);
	__type(key, struct pending_key);
	__type(value, struct return_event);
} pending SEC(".maps");

/* ---- socket tracking (issue 15) ----------------------------------------
 * TrackSock / UntrackSock (actions and returnArgAction), as Tetragon's
 * socktrack_map (bpf/process/types/basic.h: tracksock(),
 * update_pid_tid_from_sock()): a sock's address maps to the process that
 * owns it, and an event whose sock or socket argument is tracked is
 * attributed to that process.
 */
struct sock_owner {
	__u32 pid;
	__u32 tid;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64); /* the struct sock's address */
	__type(value, struct sock_owner);
} socktrack SEC(".maps");

/* The current task becomes the owner of the sock at `addr` (track), or the
 * sock is forgotten (untrack). */
static __always_inline void track_sock(__u64 addr, bool track)
{
	if (!addr)
		return;
	if (!track) {
		bpf_map_delete_elem(&socktrack, &addr);
		return;
	}
	__u64 id = bpf_get_current_pid_tgid();
	struct sock_owner owner = { .pid = id >> 32, .tid = (__u32)id };
	bpf_map_update_elem(&socktrack, &addr, &owner, BPF_ANY);
}

/* USDT sites: where each uprobe slot served by a `usdt_N` copy finds its
 * arguments, and its selectors' Set actions (struct usdt_spec). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLOTS_PER_KIND);
	__type(key, __u32);
	__type(value, struct usdt_spec);
} usdt SEC(".maps");

/* Override on uprobes: (uprobe slot * MAX_SELECTORS + selector) → the
 * selector's register assignments, applied by its `uprobe_override_N` copy. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLOTS_PER_KIND * MAX_SELECTORS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct uprobe_regs);
} uprobe_regs SEC(".maps");

/*
 * v if v < n, else 0, computed in the register that then indexes: clang
 * otherwise checks one copy and indexes with another, which the verifier
 * cannot follow.
 */
#define BOUNDED(value, limit)                                             \
	({                                                                \
		__u64 __b = (value);                                      \
		asm volatile("if %[b] < %[lim] goto +1; %[b] = 0"         \
			     : [b] "+r"(__b)                              \
			     : [lim] "i"(limit));                         \
		__b;                                                      \
	})

/* One EVENT_DATA record being filled: 32 KiB, the most a per-CPU value holds. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct data_event);
} data_scratch SEC(".maps");

static __always_inline struct scratch *get_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch_map, &zero);
}

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);
	if (n)
		*n += 1;
}

static __always_inline void fill_header(struct event_header *h, __u32 type)
{
	__u64 id = bpf_get_current_pid_tgid();
	h->type = type;
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->uid = (__u32)bpf_get_current_uid_gid();
	h->ktime = bpf_ktime_get_boot_ns();
}

/* ---- paths ------------------------------------------------------------ */

/*
 * The helpers below are global functions: the verifier checks each once,
 * with unknown scalar arguments, instead of once per call site. That keeps
 * every program far below the complexity limit. They take scalars only
 * and find their data in the per-CPU scratch.
 */
#define GLOBAL __attribute__((noinline))

/* Where write_path puts a path: an event argument 0..4, the exec binary or
 * the exec's working directory. */
#define DEST_BINARY MAX_ARGS
#define DEST_CWD (MAX_ARGS + 1)
#define DEST_SELF (MAX_ARGS + 2)
#define DEST_RET (MAX_ARGS + 3) /* a return probe's return value (returnArg file) */

/*
 * Writes the path of (mnt, dentry) into the destination and returns its
 * length. Components are collected walking up, crossing mounts, then
 * written from the root down. mnt may be 0 for a dentry alone.
 */
static __always_inline int write_path(__u64 vmnt, __u64 dentry_addr, __u64 dest)
{
	struct scratch *s = get_scratch();
	if (!s)
		return 0;
	__u8 *buf;
	if (dest == DEST_BINARY) {
		buf = s->exec.binary;
	} else if (dest == DEST_CWD) {
		buf = s->exec.cwd;
	} else if (dest == DEST_SELF) {
		buf = s->self_binary;
	} else if (dest == DEST_RET) {
		buf = s->ret_event.ret.str;
	} else {
		if (dest >= MAX_ARGS)
			return 0;
		buf = s->hook.args[BOUNDED(dest, MAX_ARGS)].str;
	}
	struct dentry *dentry = (struct dentry *)dentry_addr;
	struct mount *mnt = vmnt ? (struct mount *)(vmnt - bpf_core_field_offset(struct mount, mnt)) : 0;

	/* Walk up: names[i] is the component seen at step i, or 0 for a step
	 * that crossed a mount or came after the root. Indexing by step, not
	 * by depth, keeps the verifier's states linear in the steps. */
	for (int i = 0; i < PATH_DEPTH; i++)
		s->names[i] = 0;
	for (int i = 0; i < PATH_DEPTH; i++) {
		if (!dentry)
			break;
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
		if (mnt && dentry == BPF_CORE_READ(mnt, mnt.mnt_root)) {
			struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
			if (up == mnt)
				break;
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			continue;
		}
		if (dentry == parent)
			break;
		s->names[i] = BPF_CORE_READ(dentry, d_name.name);
		s->lens[i] = BPF_CORE_READ(dentry, d_name.len);
		dentry = parent;
	}

	/* Write from the root down; `path` has room for any offset below
	 * ARG_BUF plus any component length below ARG_BUF. */
	__u8 *path = s->path;
	__u32 off = 0;
	for (int i = PATH_DEPTH - 1; i >= 0; i--) {
		const unsigned char *name = s->names[i];
		if (!name)
			continue;
		__u32 len = s->lens[i];
		asm volatile("%[len] &= 0xff" : [len] "+r"(len));
		asm volatile("%[off] &= 0xff" : [off] "+r"(off));
		path[off] = '/';
		bpf_probe_read_kernel(path + off + 1, len, name);
		off += 1 + len;
		if (off >= ARG_BUF - 1) {
			off = ARG_BUF - 1;
			break;
		}
	}
	if (off == 0)
		path[off++] = '/';
	asm volatile("%[off] &= 0xff" : [off] "+r"(off));
	path[off] = 0;
	bpf_probe_read_kernel(buf, ARG_BUF, path);
	return off;
}

/* The path of an executed file, into the exec event. */
GLOBAL int binary_path(__u64 file_addr)
{
	struct file *file = (struct file *)file_addr;
	return write_path((__u64)BPF_CORE_READ(file, f_path.mnt),
			  (__u64)BPF_CORE_READ(file, f_path.dentry), DEST_BINARY);
}

/* The working directory of a task (its fs_struct, read by the caller: a
 * global function takes scalars, not the context's typed pointers), into
 * the exec event. */
GLOBAL int cwd_path(__u64 fs_addr)
{
	struct fs_struct *fs = (struct fs_struct *)fs_addr;
	return write_path((__u64)BPF_CORE_READ(fs, pwd.mnt),
			  (__u64)BPF_CORE_READ(fs, pwd.dentry), DEST_CWD);
}

/*
 * The current task's executable (mm->exe_file), for a process missing from
 * `processes` (evicted, forked from a parent never seen, or started in the
 * gap between reading /proc and seeding). Tetragon does the same when its
 * execve_map misses: bpf/process/bpf_process_event.h event_find_curr_probe()
 * reads the task's exe with read_exe() (bpf/lib/process.h). Returns the
 * length written to self_binary, or 0 when the task has no executable to
 * read (a kernel thread, an mm being torn down): the binary is unknown.
 */
GLOBAL int current_binary(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file *file = BPF_CORE_READ(task, mm, exe_file);
	if (!file)
		return 0;
	struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
	if (!dentry)
		return 0;
	return write_path((__u64)BPF_CORE_READ(file, f_path.mnt), (__u64)dentry, DEST_SELF);
}

/* ---- namespaces and capabilities ---------------------------------------- */

/*
 * The namespaces of `task` as Tetragon's get_namespaces()
 * (bpf/process/bpf_process_event.h) reads them: the inode numbers of its
 * nsproxy's namespaces, of the namespace of its pid, and of the user
 * namespace of its mm (of its cred on a kernel whose mm has none). 0 where
 * the kernel has no such namespace, or the task none (a kernel thread's mm).
 */
static __always_inline void read_namespaces(struct task_struct *task, __u32 *ns)
{
	struct nsproxy *nsp = BPF_CORE_READ(task, nsproxy);
	ns[NS_UTS] = BPF_CORE_READ(nsp, uts_ns, ns.inum);
	ns[NS_IPC] = BPF_CORE_READ(nsp, ipc_ns, ns.inum);
	ns[NS_MNT] = BPF_CORE_READ(nsp, mnt_ns, ns.inum);
	ns[NS_PID_FOR_CHILDREN] = BPF_CORE_READ(nsp, pid_ns_for_children, ns.inum);
	ns[NS_NET] = BPF_CORE_READ(nsp, net_ns, ns.inum);
	ns[NS_TIME] = 0;
	ns[NS_TIME_FOR_CHILDREN] = 0;
	if (bpf_core_field_exists(nsp->time_ns)) {
		ns[NS_TIME] = BPF_CORE_READ(nsp, time_ns, ns.inum);
		ns[NS_TIME_FOR_CHILDREN] = BPF_CORE_READ(nsp, time_ns_for_children, ns.inum);
	}
	ns[NS_CGROUP] = BPF_CORE_READ(nsp, cgroup_ns, ns.inum);

	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct pid_namespace *pid_ns = 0;
	__u64 off = bpf_core_field_offset(struct pid, numbers) +
		    (__u64)level * bpf_core_type_size(struct upid) +
		    bpf_core_field_offset(struct upid, ns);
	bpf_probe_read_kernel(&pid_ns, sizeof(pid_ns), (char *)pid + off);
	ns[NS_PID] = BPF_CORE_READ(pid_ns, ns.inum);

	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	if (bpf_core_field_exists(mm->user_ns))
		ns[NS_USER] = mm ? BPF_CORE_READ(mm, user_ns, ns.inum) : 0;
	else
		ns[NS_USER] = BPF_CORE_READ(task, cred, user_ns, ns.inum);
}

/* The capability sets of `task`'s subjective credentials (task->cred), as
 * Tetragon's get_current_subj_caps() (bpf/process/bpf_process_event.h). */
static __always_inline void read_caps(struct task_struct *task, __u64 *caps)
{
	const struct cred *cred = BPF_CORE_READ(task, cred);
	caps[CAPS_PERMITTED] = 0;
	caps[CAPS_EFFECTIVE] = 0;
	caps[CAPS_INHERITABLE] = 0;
	bpf_core_read(&caps[CAPS_PERMITTED], 8, &cred->cap_permitted);
	bpf_core_read(&caps[CAPS_EFFECTIVE], 8, &cred->cap_effective);
	bpf_core_read(&caps[CAPS_INHERITABLE], 8, &cred->cap_inheritable);
}

/* Stores the namespaces and capabilities the *Changes filters compare with. */
static __always_inline void store_process_state(struct process *p, struct task_struct *task,
						__u32 state)
{
	read_namespaces(task, p->ns);
	read_caps(task, p->caps);
	p->exec_state = state;
}

/* ---- processes -------------------------------------------------------- */

/* The current task's pid in its own pid namespace. */
static __always_inline __u32 ns_pid(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	int nr = 0;
	__u64 off = bpf_core_field_offset(struct pid, numbers) +
		    (__u64)level * bpf_core_type_size(struct upid) +
		    bpf_core_field_offset(struct upid, nr);
	bpf_probe_read_kernel(&nr, sizeof(nr), (char *)pid + off);
	return nr;
}

static __always_inline __u32 task_ppid(struct task_struct *task)
{
	return BPF_CORE_READ(task, real_parent, tgid);
}

/*
 * Arguments past the exec event's ARGV_BUF bytes go out first, as EVENT_DATA
 * records of up to DATA_CHUNK bytes, at most DATA_CHUNKS of them: what
 * Tetragon reads through its data events (bpf/process/bpf_execve_event.h
 * read_args(), bpf/process/data_event.h data_event_bytes()). The records
 * carry the exec's header, so userspace joins them to the exec that follows
 * them on this CPU. Returns the bytes sent.
 */
static __always_inline __u32 exec_args_data(struct event_header *h, unsigned long from, __u64 left)
{
	__u32 zero = 0;
	struct data_event *d = bpf_map_lookup_elem(&data_scratch, &zero);
	if (!d)
		return 0;
	d->header = *h;
	d->header.type = EVENT_DATA;
	__u32 sent = 0;
	for (int i = 0; i < DATA_CHUNKS; i++) {
		if (left == 0)
			break;
		__u64 n = left;
		asm volatile("if %[n] < %[max] goto +1; %[n] = %[max]"
			     : [n] "+r"(n)
			     : [max] "i"(DATA_CHUNK));
		if (bpf_probe_read_user(d->data, n, (void *)from))
			break;
		d->len = n;
		if (bpf_ringbuf_output(&events, d, offsetof(struct data_event, data) + n, 0)) {
			count_lost();
			break;
		}
		sent += n;
		from += n;
		left -= n;
	}
	return sent;
}

static __always_inline void read_cred(const struct cred *c, struct cred_info *o);

SEC("tp_btf/sched_process_exec")
int process_exec(__u64 *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx[0];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx[2];
	struct scratch *s = get_scratch();
	if (!s)
		return 0;
	struct exec_event *e = &s->exec;

	fill_header(&e->header, EVENT_EXEC);
	/* the effective uid after the exec, as Tetragon's process.uid
	 * (bpf/process/bpf_execve_event.h: p->uid = creds.euid) */
	e->header.uid = BPF_CORE_READ(task, cred, euid.val);
	e->ppid = task_ppid(task);
	e->start_boottime = BPF_CORE_READ(task, start_boottime);
	e->nspid = ns_pid(); /* at sched_process_exec, current is the task */
	/* the login uid at every exec, as Tetragon's __get_auid()
	 * (bpf/process/bpf_process_event.h): 0 when the kernel has no loginuid */
	e->auid = 0;
	if (bpf_core_field_exists(task->loginuid))
		e->auid = BPF_CORE_READ(task, loginuid.val);
	e->binary_len = binary_path((__u64)BPF_CORE_READ(bprm, file));
	e->cwd_len = cwd_path((__u64)BPF_CORE_READ(task, fs));

	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	unsigned long start = BPF_CORE_READ(mm, arg_start);
	unsigned long end = BPF_CORE_READ(mm, arg_end);
	__u64 total = end > start ? end - start : 0;
	__u64 len = total;
	if (len > ARGV_BUF)
		len = ARGV_BUF;
	asm volatile("%[len] &= 0x3ff" : [len] "+r"(len));
	e->args_len = 0;
	if (len > 0 && len <= ARGV_BUF && bpf_probe_read_user(e->args, len, (void *)start) == 0)
		e->args_len = len;
	e->args_total = total > 0xffffffff ? 0xffffffff : total;
	e->args_data = 0;
	if (e->args_len == ARGV_BUF && total > ARGV_BUF)
		e->args_data = exec_args_data(&e->header, start + ARGV_BUF, total - ARGV_BUF);
	/* the cgroup's name, where a container runtime puts the container id: as Tetragon's
	 * __event_get_current_cgroup_name() (bpf/process/bpf_process_event.h), in the unified
	 * hierarchy */
	e->cgroup[0] = 0;
	const char *cgroup = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, name);
	if (cgroup)
		bpf_probe_read_kernel_str(e->cgroup, CGROUP_NAME, cgroup);
	/* credentials and namespaces, for Tetragon's --enable-process-cred and
	 * --enable-process-ns (bpf/process/bpf_execve_event.h reads them at every exec) */
	read_cred(BPF_CORE_READ(task, cred), &e->cred);
	read_namespaces(task, e->ns);
	e->filename_len = 0;
	const char *filename = BPF_CORE_READ(bprm, filename);
	if (filename) {
		/* the path scratch is free here: binary_path and cwd_path are done */
		long n = bpf_probe_read_kernel_str(s->path, ARG_BUF, filename);
		e->filename_len = n > 0 ? n - 1 : 0;
	}

	struct process *p = bpf_map_lookup_elem(&processes, &e->header.pid);
	if (!p) {
		struct process fresh = {};
		bpf_map_update_elem(&processes, &e->header.pid, &fresh, BPF_ANY);
		p = bpf_map_lookup_elem(&processes, &e->header.pid);
	}
	if (p) {
		p->ppid = e->ppid;
		p->binary_len = e->binary_len;
		bpf_probe_read_kernel(p->binary, ARG_BUF, e->binary);
		/* the values at the first exec after the fork, as Tetragon's
		 * execve_send() (bpf/process/bpf_execve_event.h: init_curr) */
		if (p->exec_state != PROCESS_AT_EXEC)
			store_process_state(p, task, PROCESS_AT_EXEC);
	}
	if (bpf_ringbuf_output(&events, e, sizeof(*e), 0))
		count_lost();
	return 0;
}

SEC("tp_btf/sched_process_fork")
int process_fork(__u64 *ctx)
{
	struct task_struct *parent = (struct task_struct *)ctx[0];
	struct task_struct *child = (struct task_struct *)ctx[1];
	__u32 ppid = BPF_CORE_READ(parent, tgid);
	__u32 pid = BPF_CORE_READ(child, tgid);
	if (pid == ppid)
		return 0; /* a new thread */
	struct process *pp = bpf_map_lookup_elem(&processes, &ppid);
	if (!pp)
		return 0;
	bpf_map_update_elem(&processes, &pid, pp, BPF_ANY);
	struct process *p = bpf_map_lookup_elem(&processes, &pid);
	if (p) {
		p->ppid = ppid;
		/* the new task's own values, as Tetragon's wake_up_new_task
		 * probe (bpf/process/bpf_fork.c) */
		store_process_state(p, child, PROCESS_AT_FORK);
	}
	struct fork_event e = {};
	fill_header(&e.header, EVENT_FORK);
	e.header.pid = pid;
	e.header.tid = BPF_CORE_READ(child, pid);
	e.ppid = ppid;
	e.start_boottime = BPF_CORE_READ(child, start_boottime);
	if (bpf_ringbuf_output(&events, &e, sizeof(e), 0))
		count_lost();
	return 0;
}

SEC("tp_btf/sched_process_exit")
int process_exit(__u64 *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx[0];
	__u32 pid = BPF_CORE_READ(task, pid);
	__u32 tgid = BPF_CORE_READ(task, tgid);
	if (pid != tgid)
		return 0; /* a thread; the process goes with its leader */
	struct exit_event e = {};
	fill_header(&e.header, EVENT_EXIT);
	e.ppid = task_ppid(task);
	e.exit_code = BPF_CORE_READ(task, exit_code);
	if (bpf_ringbuf_output(&events, &e, sizeof(e), 0))
		count_lost();
	bpf_map_delete_elem(&processes, &tgid);
	return 0;
}

/* ---- arguments -------------------------------------------------------- */

static __always_inline __s64 sign_extend(__u64 v, __u8 width, bool is_signed)
{
	switch (width) {
	case 1:
		return is_signed ? (__s64)(__s8)v : (__s64)(__u8)v;
	case 2:
		return is_signed ? (__s64)(__s16)v : (__s64)(__u16)v;
	case 4:
		return is_signed ? (__s64)(__s32)v : (__s64)(__u32)v;
	}
	return (__s64)v;
}

static __always_inline void read_sock(struct sock *sk, struct sock_tuple *t)
{
	/* Tetragon's cookie is the sock's address (bpf/process/types/sock.h,
	 * set_event_from_sock(): event->sockaddr = sk) */
	t->cookie = (__u64)sk;
	t->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	t->protocol = BPF_CORE_READ(sk, sk_protocol);
	t->type = BPF_CORE_READ(sk, sk_type);
	t->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	t->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	__u16 dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
	t->dport = __builtin_bswap16(dport);
	__builtin_memset(t->saddr, 0, 16);
	__builtin_memset(t->daddr, 0, 16);
	if (t->family == AF_INET) {
		__u32 src = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 dst = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(t->saddr, &src, 4);
		__builtin_memcpy(t->daddr, &dst, 4);
	} else if (t->family == AF_INET6) {
		BPF_CORE_READ_INTO(&t->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&t->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
}

/* A tracked sock's event belongs to its owner (Tetragon's
 * update_pid_tid_from_sock(), called as its sock or socket arg is read). */
static __always_inline void sock_owner_to_event(struct scratch *s, __u64 addr)
{
	struct sock_owner *owner = bpf_map_lookup_elem(&socktrack, &addr);
	if (!owner)
		return;
	s->hook.header.pid = owner->pid;
	s->hook.header.tid = owner->tid;
}

static __always_inline struct file *fd_file(__s64 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if (fd < 0 || fd >= max)
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = 0;
	bpf_probe_read_kernel(&file, sizeof(file), fds + fd);
	return file;
}

/* ---- arg types (issue 15): skb, sockaddr, sockaddr_un, cred ------------ */

#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define S_IFMT 0170000

static __always_inline long read_mem(void *dst, __u32 size, const void *src, bool user)
{
	return user ? bpf_probe_read_user(dst, size, src) : bpf_probe_read_kernel(dst, size, src);
}

/* IPv6 extension headers Tetragon skips to find the transport header
 * (bpf/process/types/skb.h get_ip6_protocol()): hop-by-hop, routing,
 * fragment, authentication, destination options. */
static __always_inline bool ip6_extension(__u8 next)
{
	return next == 0 || next == 43 || next == 44 || next == 51 || next == 60;
}

/* The packet's addresses, protocol and ports, as Tetragon's
 * set_event_from_skb() reads them (bpf/process/types/skb.h): IPv4 or IPv6
 * from the network header, ports for TCP and UDP only, in host order. */
static __always_inline void read_skb(struct sk_buff *skb, struct skb_info *o)
{
	__builtin_memset(o, 0, sizeof(*o));
	o->hash = BPF_CORE_READ(skb, hash);
	o->len = BPF_CORE_READ(skb, len);
	o->priority = BPF_CORE_READ(skb, priority);
	o->mark = BPF_CORE_READ(skb, mark);
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u32 l3 = BPF_CORE_READ(skb, network_header);
	__u32 l4 = BPF_CORE_READ(skb, transport_header);
	__u8 b0 = 0, proto = 0;
	if (bpf_probe_read_kernel(&b0, 1, head + l3))
		return;
	if (b0 >> 4 == 4) {
		o->tuple.family = AF_INET;
		bpf_probe_read_kernel(&proto, 1, head + l3 + 9);
		bpf_probe_read_kernel(o->tuple.saddr, 4, head + l3 + 12);
		bpf_probe_read_kernel(o->tuple.daddr, 4, head + l3 + 16);
	} else if (b0 >> 4 == 6) {
		o->tuple.family = AF_INET6;
		bpf_probe_read_kernel(o->tuple.saddr, 16, head + l3 + 8);
		bpf_probe_read_kernel(o->tuple.daddr, 16, head + l3 + 24);
		__u8 next = 0;
		bpf_probe_read_kernel(&next, 1, head + l3 + 6);
		l4 = l3 + 40;
		for (int k = 0; k < 7; k++) {
			if (!ip6_extension(next))
				break;
			__u8 ext[2] = {};
			if (bpf_probe_read_kernel(ext, 2, head + l4))
				return;
			if (next == 44)
				l4 += 8;
			else if (next == 51)
				l4 += ((__u32)ext[1] + 2) * 4;
			else
				l4 += ((__u32)ext[1] + 1) * 8;
			next = ext[0];
		}
		proto = ip6_extension(next) ? 0 : next;
	} else {
		return;
	}
	o->tuple.protocol = proto;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		__u16 ports[2] = {};
		bpf_probe_read_kernel(ports, 4, head + l4);
		o->tuple.sport = __builtin_bswap16(ports[0]);
		o->tuple.dport = __builtin_bswap16(ports[1]);
	}
}

/* An AF_INET or AF_INET6 address, as Tetragon's set_event_from_sockaddr_in()
 * reads it (bpf/process/types/sockaddr.h): family, source address and port. */
static __always_inline void read_sockaddr(const void *sa, struct sock_tuple *t, bool user)
{
	__builtin_memset(t, 0, sizeof(*t));
	if (read_mem(&t->family, 2, sa, user))
		return;
	__u16 port = 0;
	if (t->family == AF_INET) {
		read_mem(&port, 2, sa + 2, user);
		read_mem(t->saddr, 4, sa + 4, user);
	} else if (t->family == AF_INET6) {
		read_mem(&port, 2, sa + 2, user);
		read_mem(t->saddr, 16, sa + 8, user);
	}
	t->sport = __builtin_bswap16(port);
}

/* A unix socket address, as Tetragon's set_event_from_sockaddr_un() reads it
 * (bpf/process/types/sockaddr_un.h): a path up to its NUL, or an abstract
 * name (leading NUL) as the 107 raw bytes after it. */
static __always_inline void read_sockaddr_un(const __u8 *sa, struct event_arg *out, bool user)
{
	__u16 family = 0;
	__u8 first = 0;
	if (read_mem(&family, 2, sa, user) || read_mem(&first, 1, sa + 2, user))
		return;
	out->mode = family;
	if (first == 0) {
		out->mode |= 1 << 16;
		if (!read_mem(out->str, 107, sa + 3, user))
			out->len = 107;
		return;
	}
	long n = user ? bpf_probe_read_user_str(out->str, 108, sa + 2)
		      : bpf_probe_read_kernel_str(out->str, 108, sa + 2);
	out->len = n > 0 ? n - 1 : 0;
}

/* A cred as Tetragon's copy_cred() reads it (bpf/process/types/basic.h):
 * ids, securebits, capability sets and the user namespace. */
static __always_inline void read_cred(const struct cred *c, struct cred_info *o)
{
	__builtin_memset(o, 0, sizeof(*o));
	o->uid = BPF_CORE_READ(c, uid.val);
	o->gid = BPF_CORE_READ(c, gid.val);
	o->euid = BPF_CORE_READ(c, euid.val);
	o->egid = BPF_CORE_READ(c, egid.val);
	o->suid = BPF_CORE_READ(c, suid.val);
	o->sgid = BPF_CORE_READ(c, sgid.val);
	o->fsuid = BPF_CORE_READ(c, fsuid.val);
	o->fsgid = BPF_CORE_READ(c, fsgid.val);
	o->securebits = BPF_CORE_READ(c, securebits);
	bpf_core_read(&o->permitted, 8, &c->cap_permitted);
	bpf_core_read(&o->effective, 8, &c->cap_effective);
	bpf_core_read(&o->inheritable, 8, &c->cap_inheritable);
	struct user_namespace *ns = BPF_CORE_READ(c, user_ns);
	o->ns_level = BPF_CORE_READ(ns, level);
	o->ns_uid = BPF_CORE_READ(ns, owner.val);
	o->ns_gid = BPF_CORE_READ(ns, group.val);
	o->ns_inum = BPF_CORE_READ(ns, ns.inum);
}

/* union bpf_attr for BPF_PROG_LOAD, as Tetragon's copy_bpf_attr() reads it
 * (bpf/process/types/basic.h): prog_type, insn_cnt and prog_name, at their
 * UAPI offsets (include/uapi/linux/bpf.h). */
static __always_inline void read_bpf_attr(const __u8 *attr, struct bpf_info *o, bool user)
{
	__builtin_memset(o, 0, sizeof(*o));
	read_mem(&o->prog_type, 4, attr, user);
	read_mem(&o->insn_cnt, 4, attr + 4, user);
	read_mem(o->prog_name, 16, attr + 48, user);
}

/* struct bpf_prog, as Tetragon's copy_bpf_prog(): type, len, aux->name. */
static __always_inline void read_bpf_prog(const struct bpf_prog *p, struct bpf_info *o)
{
	__builtin_memset(o, 0, sizeof(*o));
	o->prog_type = BPF_CORE_READ(p, type);
	o->insn_cnt = BPF_CORE_READ(p, len);
	BPF_CORE_READ_STR_INTO(&o->prog_name, p, aux, name);
}

#define IOVEC_MAX 8 /* iovecs read of a char_iovec */

/* char_iovec: the bytes of up to IOVEC_MAX buffers of an iovec array, one
 * after the other, up to ARG_BUF, as Tetragon's __copy_char_iovec()
 * concatenates them (bpf/process/types/basic.h). Assembled in s->path, which
 * has room for any offset below ARG_BUF plus any length up to ARG_BUF. */
static __always_inline void read_iovec(struct scratch *s, struct event_arg *out, __u64 vec,
				       __u64 cnt, bool user)
{
	__u32 off = 0;
	for (int k = 0; k < IOVEC_MAX; k++) {
		if (k >= cnt || off >= ARG_BUF)
			break;
		__u64 iov[2] = {};
		if (read_mem(iov, sizeof(iov), (const void *)(vec + k * sizeof(iov)), user))
			break;
		__u64 len = iov[1];
		if (len > ARG_BUF - off)
			len = ARG_BUF - off;
		asm volatile("%[len] &= 0x1ff" : [len] "+r"(len));
		if (len > ARG_BUF)
			len = ARG_BUF;
		__u32 at = off & (ARG_BUF - 1);
		if (bpf_probe_read_user(&s->path[at], len, (const void *)iov[0]) &&
		    bpf_probe_read_kernel(&s->path[at], len, (const void *)iov[0]))
			break;
		off += len;
	}
	bpf_probe_read_kernel(out->str, ARG_BUF, s->path);
	out->len = off > ARG_BUF ? ARG_BUF : off;
}

/* Reads the arg types above into `out` (the value `v` after resolve). */
static __always_inline void read_arg_more(struct scratch *s, struct event_arg *out, __u8 type,
					  __u64 v, bool user, __u64 i)
{
	if (!v) {
		s->unread |= 1 << i;
		return;
	}
	switch (type) {
	case ARG_SKB:
		read_skb((struct sk_buff *)v, &out->skb);
		break;
	case ARG_SOCKADDR:
		read_sockaddr((const void *)v, &out->sock, user);
		break;
	case ARG_SOCKADDR_UN:
		read_sockaddr_un((const __u8 *)v, out, user);
		break;
	case ARG_CRED:
		read_cred((const struct cred *)v, &out->cred);
		break;
	case ARG_BPF_ATTR:
		read_bpf_attr((const __u8 *)v, &out->bpf, user);
		break;
	case ARG_BPF_PROG:
		read_bpf_prog((const struct bpf_prog *)v, &out->bpf);
		break;
	case ARG_CAPS:
		/* the 8 bytes at the pointer, as Tetragon's read_arg reads
		 * kernel_cap_ty and cap_*_ty (bpf/process/generic_calls.h) */
		if (bpf_probe_read_kernel(&out->value, 8, (const void *)v))
			s->unread |= 1 << i;
		break;
	case ARG_NET_DEV: {
		/* the device's name, as Tetragon's read_arg reads net_dev_ty
		 * (bpf/process/generic_calls.h: dev->name, IFNAMSIZ) */
		long n = bpf_core_read_str(out->str, 16, &((struct net_device *)v)->name);
		out->len = n > 0 ? n - 1 : 0;
		if (n <= 0)
			s->unread |= 1 << i;
		break;
	}
	}
}

/* ---- kernel objects, iov_iter and __data_loc strings (issue 15) -------- */

/* struct perf_event, as Tetragon's copy_perf_event() (bpf/process/types/basic.h):
 * the attr's type, config, probe_offset and the kprobe function's name, which
 * attr.kprobe_func points to (a user address while perf_event_open runs). */
static __always_inline void read_perf_event(struct perf_event *p, struct perf_info *o)
{
	__builtin_memset(o, 0, sizeof(*o));
	o->type = BPF_CORE_READ(p, attr.type);
	o->config = BPF_CORE_READ(p, attr.config);
	o->probe_offset = BPF_CORE_READ(p, attr.probe_offset);
	__u64 func = BPF_CORE_READ(p, attr.kprobe_func);
	if (func && bpf_probe_read_user_str(o->kprobe_func, sizeof(o->kprobe_func), (void *)func) < 0)
		bpf_probe_read_kernel_str(o->kprobe_func, sizeof(o->kprobe_func), (void *)func);
}

/* struct bpf_map, as Tetragon's copy_bpf_map(): type, sizes, entries, name. */
static __always_inline void read_bpf_map(struct bpf_map *m, struct map_info *o)
{
	__builtin_memset(o, 0, sizeof(*o));
	o->map_type = BPF_CORE_READ(m, map_type);
	o->key_size = BPF_CORE_READ(m, key_size);
	o->value_size = BPF_CORE_READ(m, value_size);
	o->max_entries = BPF_CORE_READ(m, max_entries);
	bpf_core_read(o->map_name, sizeof(o->map_name), &m->name);
}

/* struct user_namespace, as Tetragon's copy_user_ns(): level, owner, group, inode. */
static __always_inline void read_user_ns(struct user_namespace *ns, struct user_ns_info *o)
{
	o->level = BPF_CORE_READ(ns, level);
	o->uid = BPF_CORE_READ(ns, owner.val);
	o->gid = BPF_CORE_READ(ns, group.val);
	o->inum = BPF_CORE_READ(ns, ns.inum);
}

/* struct module (Tetragon's copy_kernel_module()) or struct load_info
 * (copy_load_module(): the name load_info points to, its module's taints and
 * sig_ok, which only kernels with CONFIG_MODULE_SIG have). Returns false when
 * the name could not be read. */
static __always_inline bool read_module(__u64 v, bool load_info, struct module_info *o)
{
	__builtin_memset(o, 0, sizeof(*o));
	struct module *m = (struct module *)v;
	long n;
	if (load_info) {
		if (!bpf_core_type_exists(struct load_info))
			return false;
		struct load_info *li = (struct load_info *)v;
		n = bpf_probe_read_kernel_str(o->name, sizeof(o->name) - 1, BPF_CORE_READ(li, name));
		m = BPF_CORE_READ(li, mod);
		if (bpf_core_field_exists(li->sig_ok))
			o->sig_ok = BPF_CORE_READ(li, sig_ok) ? 1 : 0;
	} else {
		n = bpf_core_read_str(o->name, sizeof(o->name) - 1, &m->name);
	}
	if (n < 0)
		return false;
	if (m)
		o->taints = BPF_CORE_READ(m, taints);
	return true;
}

/* struct iov_iter, as Tetragon's copy_iov_iter() (bpf/process/generic_calls.h):
 * for ITER_IOVEC the first iovec's bytes, for ITER_UBUF the user buffer, up
 * to ARG_BUF; nothing for other kinds. */
static __always_inline bool read_iov_iter(struct iov_iter *it, struct event_arg *out)
{
	__u8 kind = BPF_CORE_READ(it, iter_type);
	__u64 buf = 0, len = 0;
	if (bpf_core_enum_value_exists(enum iter_type, ITER_IOVEC) &&
	    kind == bpf_core_enum_value(enum iter_type, ITER_IOVEC)) {
		const struct kvec *k = BPF_CORE_READ(it, kvec);
		buf = (__u64)BPF_CORE_READ(k, iov_base);
		len = BPF_CORE_READ(k, iov_len);
	} else if (bpf_core_enum_value_exists(enum iter_type, ITER_UBUF) &&
		   kind == bpf_core_enum_value(enum iter_type, ITER_UBUF)) {
		buf = (__u64)BPF_CORE_READ(it, ubuf);
		len = BPF_CORE_READ(it, count);
	} else {
		return true; /* a kind Tetragon does not read: no bytes */
	}
	if (len > ARG_BUF)
		len = ARG_BUF;
	asm volatile("%[len] &= 0x1ff" : [len] "+r"(len));
	if (len > ARG_BUF)
		len = ARG_BUF;
	if (bpf_probe_read_user(out->str, len, (void *)buf) &&
	    bpf_probe_read_kernel(out->str, len, (void *)buf))
		return false;
	out->len = len;
	return true;
}

/* A tracepoint's __data_loc string: the field holds its length << 16 | its
 * offset in the record, as Tetragon's read_arg reads data_loc_type
 * (bpf/process/generic_calls.h): up to length bytes, up to a NUL. */
static __always_inline bool read_data_loc(struct scratch *s, __u64 loc, struct event_arg *out)
{
	if (!s->tp_ctx)
		return false;
	__u64 len = ((loc >> 16) & 0xfff) + 1;
	if (len > ARG_BUF)
		len = ARG_BUF;
	asm volatile("%[len] &= 0x1ff" : [len] "+r"(len));
	if (len > ARG_BUF)
		len = ARG_BUF;
	long n = bpf_probe_read_kernel_str(out->str, len, (void *)(s->tp_ctx + (loc & 0xffff)));
	out->len = n > 0 ? n - 1 : 0;
	return n > 0;
}

/* ---- tracepoint arrays (issue 15) ------------------------------------ */

/*
 * A tracepoint's fixed-size array field: its `width` bytes, copied from the
 * record as Tetragon's read_arg() copies a const_buf_type
 * (bpf/process/generic_calls.h; the size is the array's, set by
 * getGenericTypeId in pkg/sensors/tracing/generictracepoint.go).
 */
static __always_inline void read_const_buf(struct scratch *s, struct arg_config *a,
					   struct event_arg *out, __u64 i)
{
	__u64 len = a->width;
	if (!s->tp_ctx || !len) {
		s->unread |= 1 << i;
		return;
	}
	if (len > ARG_BUF)
		len = ARG_BUF;
	asm volatile("%[len] &= 0x1ff" : [len] "+r"(len));
	if (len > ARG_BUF)
		len = ARG_BUF;
	if (bpf_probe_read_kernel(out->str, len, (void *)(s->tp_ctx + a->field_offset))) {
		s->unread |= 1 << i;
		return;
	}
	out->len = len;
}

/* Reads the arg types of this section into `out` (the value `v` after resolve). */
static __always_inline void read_arg_objects(struct scratch *s, struct event_arg *out, __u8 type,
					     __u64 v, __u64 i)
{
	bool ok = true;
	if (!v && type != ARG_DATA_LOC) {
		s->unread |= 1 << i;
		return;
	}
	switch (type) {
	case ARG_PERF_EVENT:
		read_perf_event((struct perf_event *)v, &out->perf);
		break;
	case ARG_BPF_MAP:
		read_bpf_map((struct bpf_map *)v, &out->map);
		break;
	case ARG_USER_NS:
		read_user_ns((struct user_namespace *)v, &out->user_ns);
		break;
	case ARG_MODULE:
		ok = read_module(v, false, &out->module);
		break;
	case ARG_LOAD_INFO:
		ok = read_module(v, true, &out->module);
		break;
	case ARG_IOV_ITER:
		ok = read_iov_iter((struct iov_iter *)v, out);
		break;
	case ARG_DATA_LOC:
		ok = read_data_loc(s, v, out);
		break;
	}
	if (!ok)
		s->unread |= 1 << i;
}

/* ---- data: values from registers and the current task (issue 15) ------ */

/*
 * The value of a `data` arg before its resolve: a register, as Tetragon's
 * get_pt_regs_arg() (bpf/process/generic_calls.h) reads the probe's pt_regs
 * (or, for a syscall, the task's user registers) and keeps reg_size bytes of
 * it, or the current task, as its ARGM_CURRENT_TASK source does.
 */
static __always_inline __u64 arg_source(struct scratch *s, struct arg_config *a)
{
	if (a->source == SOURCE_CURRENT_TASK)
		return bpf_get_current_task();
	__u64 regs = s->regs_addr;
	if (a->source == SOURCE_USER_REGS)
		regs = (__u64)bpf_task_pt_regs(bpf_get_current_task_btf());
	if (!regs || a->reg_offset > 160)
		return 0;
	__u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), (void *)(regs + a->reg_offset));
	__u32 shift = 64 - (a->reg_size & 15) * 8;
	if (shift < 64) {
		v <<= shift;
		v >>= shift;
	}
	return v;
}

/* A `string` argument at `v` into `out` (the event's arg i); false when it
 * could not be read (then unread). read_arg_value's and the gate's. */
static __always_inline bool read_string(struct scratch *s, struct event_arg *out, __u64 v,
					bool user, __u64 i)
{
	long n;
	if (user)
		n = bpf_probe_read_user_str(out->str, ARG_BUF, (void *)v);
	else
		n = bpf_probe_read_kernel_str(out->str, ARG_BUF, (void *)v);
	out->len = n > 0 ? n - 1 : 0;
	if (n <= 0)
		s->unread |= 1 << i;
	return n > 0;
}

/* Reads argument `i`, as `a` configures it, into `out` (the event's arg i). */
static __always_inline int read_arg_value(struct scratch *s, struct arg_config *a,
					  struct event_arg *out, __u64 i)
{
	out->type = a->type;
	out->len = 0;
	out->mode = 0;
	out->status = 0;
	out->value = 0;
	if (a->type == ARG_NONE)
		return 0;

	__u64 index = a->index;
	if (index > 5)
		return 0;
	__u64 v = s->raw[BOUNDED(index, 6)];
	bool user = a->flags & ARG_USER;
	if (a->source != SOURCE_ARG) {
		v = arg_source(s, a);
		/* a register of user registers holds a user pointer */
		if (a->source == SOURCE_USER_REGS)
			user = true;
	}

	for (int r = 0; r < MAX_RESOLVE; r++) {
		if (r >= a->nresolve)
			break;
		__u64 addr = v + a->resolve[r];
		if (r == a->nresolve - 1 && (a->flags & ARG_LAST_ADDR)) {
			v = addr;
			break;
		}
		v = 0;
		long err;
		if (user)
			err = bpf_probe_read_user(&v, sizeof(v), (void *)addr);
		else
			err = bpf_probe_read_kernel(&v, sizeof(v), (void *)addr);
		if (err) {
			/* a load on the path failed (a null or bad pointer): the
			 * argument is unknown, so no filter on it matches, as
			 * Tetragon's extract_arg_depth() sets the arg's status
			 * (bpf/process/generic_arg.h) and filter_args() rejects an
			 * argument whose status is not ok (is_arg_ok) */
			s->unread |= 1 << i;
			out->status = r + 1;
			return 0;
		}
	}

	long n;
	struct file *file = 0;
	struct path *path = 0;
	switch (a->type) {
	case ARG_INT:
		out->value = sign_extend(v, a->width, true);
		return 0;
	case ARG_UINT:
		out->value = sign_extend(v, a->width, false);
		return 0;
	case ARG_STRING:
		read_string(s, out, v, user, i);
		return 0;
	case ARG_FILENAME:
		n = bpf_probe_read_kernel_str(out->str, ARG_BUF, BPF_CORE_READ((struct filename *)v, name));
		out->len = n > 0 ? n - 1 : 0;
		if (n <= 0)
			s->unread |= 1 << i;
		return 0;
	case ARG_SOCK:
		read_sock((struct sock *)v, &out->sock);
		sock_owner_to_event(s, out->sock.cookie);
		return 0;
	case ARG_SOCKET:
		out->type = ARG_SOCK;
		read_sock(BPF_CORE_READ((struct socket *)v, sk), &out->sock);
		sock_owner_to_event(s, out->sock.cookie);
		return 0;
	case ARG_BYTES: {
		if (a->flags & ARG_RETURN_COPY) {
			/* read at the return (return_copy) */
			out->value = v;
			return 0;
		}
		__u64 size = ARG_BUF;
		__u64 si = a->size_index;
		if (si >= 1 && si <= 6)
			size = s->raw[BOUNDED(si - 1, 6)];
		if (size > ARG_BUF)
			size = ARG_BUF;
		asm volatile("%[size] &= 0x1ff" : [size] "+r"(size));
		if (size > ARG_BUF)
			size = ARG_BUF;
		long err = user ? bpf_probe_read_user(out->str, size, (void *)v)
				: bpf_probe_read_kernel(out->str, size, (void *)v);
		out->len = err ? 0 : size;
		if (err)
			s->unread |= 1 << i;
		return 0;
	}
	case ARG_FILE:
		file = (struct file *)v;
		break;
	case ARG_BINPRM:
		file = BPF_CORE_READ((struct linux_binprm *)v, file);
		break;
	case ARG_FD:
		file = fd_file((__s64)(__s32)v);
		if (!file) {
			s->unread |= 1 << i;
			return 0;
		}
		break;
	case ARG_PATH:
		path = (struct path *)v;
		break;
	case ARG_DENTRY:
		break;
	case ARG_SKB:
	case ARG_SOCKADDR:
	case ARG_SOCKADDR_UN:
	case ARG_CRED:
	case ARG_BPF_ATTR:
	case ARG_BPF_PROG:
	case ARG_NET_DEV:
	case ARG_CAPS:
		read_arg_more(s, out, a->type, v, user, i);
		return 0;
	case ARG_PERF_EVENT:
	case ARG_BPF_MAP:
	case ARG_USER_NS:
	case ARG_MODULE:
	case ARG_LOAD_INFO:
	case ARG_IOV_ITER:
	case ARG_DATA_LOC:
		read_arg_objects(s, out, a->type, v, i);
		return 0;
	case ARG_KIOCB:
		/* its file, as Tetragon's get_path() reads kiocb_type */
		file = BPF_CORE_READ((struct kiocb *)v, ki_filp);
		break;
	case ARG_IOVEC: {
		__u64 cnt = 0, si = a->size_index;
		if (si >= 1 && si <= 6)
			cnt = s->raw[BOUNDED(si - 1, 6)];
		if (a->flags & ARG_RETURN_COPY) {
			/* read at the return (return_copy) */
			out->value = v;
			out->mode = cnt;
			return 0;
		}
		read_iovec(s, out, v, cnt, user);
		return 0;
	}
	case ARG_CONST_BUF:
		read_const_buf(s, a, out, i);
		return 0;
	default:
		return 0;
	}
	/* one path walk for the four kinds of file argument */
	__u64 mnt = 0, dentry = v;
	if (file) {
		mnt = (__u64)BPF_CORE_READ(file, f_path.mnt);
		dentry = (__u64)BPF_CORE_READ(file, f_path.dentry);
	} else if (path) {
		mnt = (__u64)BPF_CORE_READ(path, mnt);
		dentry = (__u64)BPF_CORE_READ(path, dentry);
	}
	if (!dentry) {
		s->unread |= 1 << i;
		return 0;
	}
	/* the mode Tetragon reports as `permission` (bpf/process/types/basic.h
	 * store_path(): dentry->d_inode->i_mode) */
	out->mode = BPF_CORE_READ((struct dentry *)dentry, d_inode, i_mode);
	out->len = write_path(mnt, dentry, i);
	return 0;
}

/* Reads argument `i` of the hook in `slot` into the event (read_arg_value),
 * then sets its status in the event, as Tetragon's
 * arg_status (bpf/process/generic_calls.h read_arg, write_arg_status): a
 * failed load on its resolve path says which (set there, any type), and a
 * string that could not be read is ARG_STATUS_BAD, as copy_strings() is
 * the one reader of Tetragon's that fails (bpf/process/types/basic.h; its
 * others return what they read, zeros included); user space prints either
 * as Tetragon's error_arg (runtime/src/output.rs). */
GLOBAL int read_arg(struct hook_config *h, __u64 i)
{
	struct scratch *s = get_scratch();
	if (!h || !s || i >= MAX_ARGS)
		return 0;
	i = BOUNDED(i, MAX_ARGS);
	struct event_arg *out = &s->hook.args[i];
	read_arg_value(s, &h->args[i], out, i);
	__u32 t = out->type;
	bool string = t == ARG_STRING || t == ARG_FILENAME || t == ARG_NET_DEV ||
		      t == ARG_DATA_LOC;
	if ((s->unread & (1 << i)) && !out->status && string)
		out->status = ARG_STATUS_BAD;
	return 0;
}

/* ---- filters ---------------------------------------------------------- */

/* Copies a string into the scratch key used by match_key. */
static __always_inline void set_key(struct scratch *s, const __u8 *str, __u32 len)
{
	/* only the string's bytes: the trie compares prefixlen bits, so the
	 * bytes past them never count */
	__u64 n = len > STR_LEN ? STR_LEN : len;
	asm volatile("%[n] &= 0xff" : [n] "+r"(n));
	if (n > STR_LEN)
		n = STR_LEN;
	bpf_probe_read_kernel(s->key.data, n, str);
	s->key_len = n;
}

/*
 * A string filter's length gate (FILTER_LEN_GATE, issue 16): when the bit of
 * the string's length (as set_key caps it) is clear, no stored value can
 * match (Equal and In: the values' lengths; Prefix and Postfix: every length
 * from the shortest value's up), so the key is neither copied nor looked up.
 */
static __always_inline bool len_in(const __u64 *bits, __u32 len)
{
	if (len > STR_LEN)
		len = STR_LEN;
	__u64 word = bits[BOUNDED(len >> 6, 4)];
	return (word >> (len & 63)) & 1;
}

static __always_inline bool len_possible(struct filter *f, __u32 len)
{
	return !(f->flags & FILTER_LEN_GATE) || len_in(f->ints, len);
}

/*
 * Looks the key's string up in the filter's trie: Equal and In need the
 * longest stored prefix to be the whole string, Prefix any stored prefix,
 * Postfix a stored prefix of the reversed string.
 */
GLOBAL int match_key(__u64 filter, __u64 op)
{
	struct scratch *s = get_scratch();
	if (!s)
		return 0;
	__u32 len = s->key_len;
	if (len > STR_LEN)
		return 0;
	if (op == OP_POSTFIX) {
		for (int i = 0; i < STR_LEN; i++) {
			if (i >= len)
				break;
			__u32 from = len - 1 - i;
			if (from >= STR_LEN)
				break;
			s->rkey.data[i] = s->key.data[from];
		}
		s->rkey.filter = filter;
		s->rkey.prefixlen = 32 + len * 8;
		return bpf_map_lookup_elem(&str_postfix, &s->rkey) != 0;
	}
	s->key.filter = filter;
	s->key.prefixlen = 32 + len * 8;
	__u32 *stored = bpf_map_lookup_elem(&str_prefix, &s->key);
	if (!stored)
		return 0;
	if (op == OP_EQUAL || op == OP_IN)
		return *stored == len;
	return 1;
}

static __always_inline bool match_ints(struct filter *f, __s64 v)
{
	for (int i = 0; i < MAX_VALUES; i++) {
		if (i >= f->nvalues)
			break;
		__s64 want = (__s64)f->ints[i];
		switch (f->op) {
		case OP_GT:
			if (v > want)
				return true;
			break;
		case OP_LT:
			if (v < want)
				return true;
			break;
		case OP_MASK:
			if ((__u64)v & (__u64)want)
				return true;
			break;
		default:
			if (v == want)
				return true;
		}
	}
	return false;
}

static __always_inline bool match_cidrs(struct filter *f, __u16 family, const __u8 *addr)
{
	for (int i = 0; i < MAX_VALUES; i++) {
		if (i >= f->nvalues)
			break;
		struct cidr *c = &f->cidrs[i];
		if (c->family != family)
			continue;
		__u32 bits = c->prefix;
		bool ok = true;
		for (int b = 0; b < 16; b++) {
			if (bits == 0)
				break;
			__u8 mask = bits >= 8 ? 0xff : (__u8)(0xff << (8 - bits));
			if ((addr[b] & mask) != (c->addr[b] & mask)) {
				ok = false;
				break;
			}
			bits = bits >= 8 ? bits - 8 : 0;
		}
		if (ok)
			return true;
	}
	return false;
}

static __always_inline bool match_sock(struct filter *f, struct sock_tuple *t)
{
	switch (f->op) {
	case OP_SPORT:
		return match_ints(f, t->sport);
	case OP_DPORT:
		return match_ints(f, t->dport);
	case OP_SPORT_PRIV:
		return t->sport < 1024;
	case OP_DPORT_PRIV:
		return t->dport < 1024;
	case OP_PROTOCOL:
		return match_ints(f, t->protocol);
	case OP_FAMILY:
		return match_ints(f, t->family);
	case OP_STATE:
		return match_ints(f, t->state);
	case OP_SADDR:
		return match_cidrs(f, t->family, t->saddr);
	case OP_DADDR:
		return match_cidrs(f, t->family, t->daddr);
	}
	return false;
}

static __always_inline struct selector *selector_of(__u64 slot, __u64 sel)
{
	__u32 key = slot;
	struct hook_config *h = bpf_map_lookup_elem(&hooks, &key);
	if (!h || sel >= MAX_SELECTORS)
		return 0;
	return &h->selectors[BOUNDED(sel, MAX_SELECTORS)];
}

/* ---- operators (issue 15): FileType, port ranges ----------------------- */

/* Port ranges: `ints` holds (low, high) pairs, both ends included, as
 * Tetragon's port range filter compares (bpf/process/types/basic.h). */
static __always_inline bool match_port_ranges(struct filter *f, __u16 port)
{
	for (int i = 0; i + 1 < MAX_VALUES; i += 2) {
		if (i >= f->nvalues)
			break;
		if (port >= f->ints[i] && port <= f->ints[i + 1])
			return true;
	}
	return false;
}

/* InMap and InRange on an integer: `ints` holds (low, high) pairs, compared
 * as the arg's signedness says (Tetragon: filter_64ty_map / filter_*ty_range
 * in bpf/process/types/basic.h). */
static __always_inline bool match_int_ranges(struct filter *f, __s64 v, bool is_signed)
{
	for (int i = 0; i + 1 < MAX_VALUES; i += 2) {
		if (i >= f->nvalues)
			break;
		__s64 lo = (__s64)f->ints[i], hi = (__s64)f->ints[i + 1];
		if (is_signed ? (v >= lo && v <= hi)
			      : ((__u64)v >= (__u64)lo && (__u64)v <= (__u64)hi))
			return true;
	}
	return false;
}

/* The operators above on a socket tuple (sock, skb, sockaddr); false when
 * `f` is none of them. */
static __always_inline bool match_sock_more(struct filter *f, struct sock_tuple *t)
{
	switch (f->op) {
	case OP_SPORT_RANGE:
		return match_port_ranges(f, t->sport);
	case OP_DPORT_RANGE:
		return match_port_ranges(f, t->dport);
	}
	return match_sock(f, t);
}

/* FileType: the inode's type bits (i_mode & S_IFMT) against the values, as
 * Tetragon's filter_file_type() (bpf/process/types/basic.h). A path whose
 * mode was not read (0) has no type and matches no value. */
static __always_inline bool match_file_type(struct filter *f, __u32 mode)
{
	__u32 type = mode & S_IFMT;
	if (!type)
		return false;
	for (int i = 0; i < MAX_VALUES; i++) {
		if (i >= f->nvalues)
			break;
		if (type == f->ints[i])
			return true;
	}
	return false;
}

/* ---- CelExpr ---------------------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CEL_PROGS);
	__type(key, __u32); /* the filter's id */
	__type(value, struct cel_prog);
} cel_progs SEC(".maps");

struct cel_stack {
	__s64 v[CEL_STACK];
	__u32 sp;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cel_stack);
} cel_stacks SEC(".maps");

/* A value wrapped to its type's width. */
static __always_inline __s64 cel_wrap(__s64 v, __u8 ty)
{
	if (ty == CEL_S32)
		return (__s32)v;
	if (ty == CEL_U32)
		return (__u32)v;
	return v;
}

static __always_inline bool cel_less(__s64 a, __s64 b, __u8 ty)
{
	if (ty == CEL_U64 || ty == CEL_U32)
		return (__u64)a < (__u64)b;
	return a < b;
}

/*
 * Run the CelExpr program `id` over the event's arguments (or, with `ret`,
 * over the return value as arg0). An argument that could not be read makes
 * the filter fail, as match_arg does; a malformed program (stack over- or
 * underflow, unknown instruction) fails it too. The stack lives in a map so
 * that the verifier sees one state per instruction, whatever the program.
 */
GLOBAL int cel_eval(__u64 id, __u64 ret)
{
	__u32 key = id, zero = 0;
	struct cel_prog *p = bpf_map_lookup_elem(&cel_progs, &key);
	struct cel_stack *st = bpf_map_lookup_elem(&cel_stacks, &zero);
	struct scratch *s = get_scratch();
	if (!p || !st || !s)
		return 0;
	st->sp = 0;
	for (int i = 0; i < CEL_MAX_INSNS; i++) {
		if (i >= p->len)
			break;
		struct cel_insn *in = &p->insns[i];
		__u32 sp = st->sp;
		__u8 op = in->op, ty = in->type;
		__s64 a, b, r;
		if (op == CEL_PUSH || op == CEL_ARG) {
			if (sp >= CEL_STACK)
				return 0;
			if (op == CEL_PUSH) {
				r = in->imm;
			} else {
				__u64 idx = in->arg;
				struct event_arg *ea;
				if (ret) {
					ea = &s->ret_event.ret;
				} else {
					if (idx >= MAX_ARGS || (s->unread & (1 << idx)))
						return 0;
					ea = &s->hook.args[BOUNDED(idx, MAX_ARGS)];
				}
				if (ea->type != ARG_INT && ea->type != ARG_UINT)
					return 0;
				r = ea->value;
			}
			st->v[BOUNDED(sp, CEL_STACK)] = r;
			st->sp = sp + 1;
			continue;
		}
		if (op == CEL_BNOT || op == CEL_LNOT || op == CEL_TO_S32 || op == CEL_TO_U32) {
			if (sp < 1 || sp > CEL_STACK)
				return 0;
			a = st->v[BOUNDED(sp - 1, CEL_STACK)];
			if (op == CEL_BNOT)
				r = cel_wrap(~a, ty);
			else if (op == CEL_LNOT)
				r = !a;
			else if (op == CEL_TO_S32)
				r = (__s32)a;
			else
				r = (__u32)a;
			st->v[BOUNDED(sp - 1, CEL_STACK)] = r;
			continue;
		}
		if (sp < 2 || sp > CEL_STACK)
			return 0;
		a = st->v[BOUNDED(sp - 2, CEL_STACK)];
		b = st->v[BOUNDED(sp - 1, CEL_STACK)];
		switch (op) {
		case CEL_EQ: r = a == b; break;
		case CEL_NE: r = a != b; break;
		case CEL_LT: r = cel_less(a, b, ty); break;
		case CEL_LE: r = !cel_less(b, a, ty); break;
		case CEL_GT: r = cel_less(b, a, ty); break;
		case CEL_GE: r = !cel_less(a, b, ty); break;
		case CEL_ADD: r = cel_wrap((__s64)((__u64)a + (__u64)b), ty); break;
		case CEL_SUB: r = cel_wrap((__s64)((__u64)a - (__u64)b), ty); break;
		case CEL_BAND: r = a & b; break;
		case CEL_BOR: r = a | b; break;
		case CEL_BXOR: r = cel_wrap(a ^ b, ty); break;
		case CEL_LAND: r = a && b; break;
		case CEL_LOR: r = a || b; break;
		default: return 0;
		}
		st->v[BOUNDED(sp - 2, CEL_STACK)] = r;
		st->sp = sp - 1;
	}
	return st->sp == 1 && st->v[0] != 0;
}

/* CapabilitiesGained: the set in event slot ints[0] holds a capability the
 * filtered set lacks, as Tetragon's filter_arg_1() computes it
 * (bpf/process/types/basic.h: (first ^ second) & second, the first being
 * the filtered arg, the second the one `args` names next). */
static __always_inline bool caps_gained(struct scratch *s, struct filter *f, __u64 first)
{
	__u64 j = f->ints[0];
	if (j >= MAX_ARGS || (s->unread & (1 << j)))
		return false;
	__u64 second = s->hook.args[BOUNDED(j, MAX_ARGS)].value;
	return ((first ^ second) & second) != 0;
}

/* SubStringIgnCase: argument `idx`'s string, lowered (ASCII), into s->lower.
 * A function of its own, verified apart from the search: the 6.1 verifier
 * refuses the two loops together ("sequence of 8193 jumps is too complex"). */
GLOBAL int lower_arg(__u64 idx)
{
	struct scratch *s = get_scratch();
	if (!s || idx >= MAX_ARGS)
		return 0;
	struct event_arg *a = &s->hook.args[BOUNDED(idx, MAX_ARGS)];
	for (int k = 0; k < ARG_BUF; k++) {
		__u8 c = a->str[k];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		s->lower[k] = c;
	}
	return 0;
}

/* SubString and SubStringIgnCase of matchArgs entry `fi`: a value (stored in
 * the prefix trie) starts at some offset of the string, as Tetragon's
 * filter_char_substring() asks bpf_strnstr() / bpf_strncasestr()
 * (bpf/process/types/basic.h); the plan stores no value, so nothing matches,
 * on a kernel without that kfunc, as Tetragon's bpf_ksym_exists() guard does. */
GLOBAL int match_substring(struct selector *sp, __u64 fi)
{
	struct scratch *s = get_scratch();
	if (!sp || !s || fi >= MAX_FILTERS)
		return 0;
	struct filter *f = &sp->args[BOUNDED(fi, MAX_FILTERS)];
	__u64 idx = f->arg;
	if (idx >= MAX_ARGS)
		return 0;
	struct event_arg *a = &s->hook.args[BOUNDED(idx, MAX_ARGS)];
	__u32 len = a->len;
	if (len > ARG_BUF)
		len = ARG_BUF;
	__u32 shortest = f->ints[0];
	/* the offsets a value of the shortest length still fits after */
	__u32 starts = len >= shortest ? len - shortest + 1 : 0;
	const __u8 *src = a->str;
	if (f->op == OP_SUBSTRING_NOCASE) {
		lower_arg(idx);
		src = s->lower;
	}
	for (int i = 0; i <= ARG_BUF; i++) {
		if (i >= starts)
			break;
		set_key(s, src + i, len - i);
		if (match_key(f->id, OP_PREFIX))
			return 1;
	}
	return 0;
}

/* matchArgs entry `fi` of the selector `sp` against the event's arguments.
 *
 * The hot filters (read_arg, match_arg, match_pids, match_binaries) take the
 * hook's configuration, or the selector inside it, as a pointer into the
 * `hooks` map value that handle() looked up, where they once took the slot
 * and looked it up again: each lookup of that hash cost ~100 instructions a
 * call (issue 16). A global function's pointer argument is verified as
 * memory of the pointee's size that may be NULL (hence the checks), and the
 * map value passes as such since Linux 5.12. */
GLOBAL int match_arg(struct selector *sp, __u64 fi)
{
	struct scratch *s = get_scratch();
	if (!sp || !s || fi >= MAX_FILTERS)
		return 0;
	struct filter *f = &sp->args[BOUNDED(fi, MAX_FILTERS)];
	if (f->op == OP_CEL)
		return cel_eval(f->id, 0);
	__u64 idx = f->arg;
	if (idx >= MAX_ARGS)
		return 0;
	struct event_arg *a = &s->hook.args[BOUNDED(idx, MAX_ARGS)];
	bool hit;

	/* A value that could not be read is unknown: it satisfies neither a
	 * filter nor its negation (NotEqual "x" must not match a string that
	 * was never read). */
	if (s->unread & (1 << idx))
		return 0;

	switch (a->type) {
	case ARG_CAPS:
	case ARG_INT:
	case ARG_UINT:
		if (f->op == OP_CAPS_GAINED) {
			hit = caps_gained(s, f, a->value);
			break;
		}
		if (f->op == OP_INT_RANGE) {
			hit = match_int_ranges(f, a->value, a->type == ARG_INT);
			break;
		}
		if (f->op == OP_INT_SET) {
			/* the value's 8 bytes looked up as the filter's string */
			set_key(s, (const __u8 *)&a->value, sizeof(a->value));
			hit = match_key(f->id, OP_EQUAL);
			break;
		}
		hit = match_ints(f, a->value);
		break;
	case ARG_SOCK:
	case ARG_SOCKADDR:
		hit = match_sock_more(f, &a->sock);
		break;
	case ARG_SKB:
		hit = match_sock_more(f, &a->skb.tuple);
		break;
	case ARG_CRED:
	case ARG_BPF_ATTR:
	case ARG_BPF_PROG:
		hit = false;
		break;
	case ARG_PERF_EVENT:
	case ARG_BPF_MAP:
	case ARG_USER_NS:
	case ARG_MODULE:
	case ARG_LOAD_INFO:
		hit = false;
		break;
	case ARG_NONE:
		hit = false;
		break;
	default:
		if (f->op == OP_FILE_TYPE) {
			hit = match_file_type(f, a->mode);
			break;
		}
		if (f->op == OP_SUBSTRING || f->op == OP_SUBSTRING_NOCASE) {
			hit = match_substring(sp, fi);
			break;
		}
		if (a->type == ARG_SOCKADDR_UN && f->op == OP_FAMILY) {
			hit = match_ints(f, a->mode & 0xffff);
			break;
		}
		if (!len_possible(f, a->len)) {
			hit = false;
			break;
		}
		set_key(s, a->str, a->len);
		hit = match_key(f->id, f->op);
	}
	return (f->flags & FILTER_NOT) ? !hit : hit;
}

/*
 * matchBinaries: the process's binary, or with followChildren an ancestor's.
 *
 * An unknown binary satisfies neither In nor NotIn: a process missing from
 * `processes` is read from the task itself (current_binary); when even that
 * fails, or an ancestor a negated followChildren filter needs is missing,
 * the selector does not match, so no action is ever taken on "unknown".
 * Tetragon's match_binaries() (bpf/process/types/basic.h) likewise returns
 * no match when the binary could not be read (path_length < 0), whatever the
 * operator.
 */
GLOBAL int match_binaries(struct selector *sp, __u64 tgid)
{
	struct scratch *s = get_scratch();
	if (!sp || !s)
		return 0;
	struct filter *f = &sp->binaries;
	bool follow = f->flags & FILTER_FOLLOW;
	__u32 pid = tgid;
	bool hit = false;
	bool known = false; /* every binary the answer depends on was read */
	for (int depth = 0; depth < ANCESTORS; depth++) {
		struct process *p = bpf_map_lookup_elem(&processes, &pid);
		if (!p) {
			if (depth > 0)
				break; /* an ancestor never seen: unknown */
			int n = current_binary();
			if (n <= 0)
				break; /* no executable to read: unknown */
			if (len_possible(f, n)) {
				set_key(s, s->self_binary, n);
				hit = match_key(f->id, f->op);
			}
			/* the ancestors of a process never seen are unknown */
			known = hit || !follow;
			break;
		}
		bool found = false;
		if (len_possible(f, p->binary_len)) {
			set_key(s, p->binary, p->binary_len);
			found = match_key(f->id, f->op);
		}
		pid = p->ppid;
		if (found) {
			hit = true;
			known = true;
			break;
		}
		if (!follow || pid == 0) {
			known = true; /* no ancestor asked for, or the root reached */
			break;
		}
	}
	if (!known)
		return 0;
	return (f->flags & FILTER_NOT) ? !hit : hit;
}

/*
 * matchPIDs: the pid, or with followForks one of its ancestors. Ancestors
 * are read from the task's own parent links (real_parent), never from the
 * `processes` cache, so a process missing from the cache still has them.
 * A walk cut short by ANCESTORS without reaching the root is unknown and
 * satisfies neither In nor NotIn. (Tetragon's filter_pidset() in
 * bpf/process/pfilter.h walks its execve_map instead, and stops at a miss.)
 */
GLOBAL int match_pids(struct selector *sp, __u64 tgid)
{
	if (!sp)
		return 0;
	struct filter *f = &sp->pids;
	bool hit = false;
	bool known = false;
	if (f->flags & FILTER_NSPID) {
		hit = match_ints(f, ns_pid());
		known = true;
	} else {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		__u32 pid = tgid;
		for (int depth = 0; depth < ANCESTORS; depth++) {
			if (match_ints(f, pid)) {
				hit = true;
				known = true;
				break;
			}
			if (!(f->flags & FILTER_FOLLOW)) {
				known = true;
				break;
			}
			task = BPF_CORE_READ(task, real_parent);
			pid = task ? BPF_CORE_READ(task, tgid) : 0;
			if (pid == 0) {
				known = true; /* past init: every ancestor seen */
				break;
			}
		}
	}
	if (!known)
		return 0;
	return (f->flags & FILTER_NOT) ? !hit : hit;
}

/*
 * Post's rateLimit: one event per key and period, the key being the hook,
 * the selector, the scope's id (thread, process or nothing) and every
 * argument's value (Tetragon keys on the first 40 bytes of each; whole
 * values keep two long paths with a common beginning apart).
 */
static __always_inline bool rate_limited(struct scratch *s, __u32 slot, __u32 selector,
					 struct selector *sel, __u32 nargs)
{
	struct rate_key key = { .slot = slot, .selector = selector };
	__u64 hash = 0;
	if (sel->rate_scope == RATE_THREAD)
		hash = s->hook.header.tid;
	else if (sel->rate_scope == RATE_PROCESS)
		hash = s->hook.header.pid;
	for (int i = 0; i < MAX_ARGS; i++) {
		if (i >= nargs)
			break;
		struct event_arg *a = &s->hook.args[i];
		__u32 n = a->len; /* strings, paths, buffers */
		if (a->type == ARG_INT || a->type == ARG_UINT)
			n = 8;
		else if (a->type == ARG_SOCK)
			/* the tuple, not the cookie: one key per connection's addresses */
			n = __builtin_offsetof(struct sock_tuple, cookie);
		for (int w = 0; w < ARG_BUF / 8; w++) {
			if (w * 8 >= n)
				break;
			__u64 word;
			__builtin_memcpy(&word, &a->str[w * 8], 8);
			if (n - w * 8 < 8) /* bytes past the value are stale */
				word &= (1ULL << ((n - w * 8) * 8)) - 1;
			hash = (hash ^ word) * 0x100000001b3ULL;
		}
	}
	key.hash = hash;
	__u32 ms = sel->rate_limit_ms;
	__u64 now = bpf_ktime_get_boot_ns();
	__u64 *last = bpf_map_lookup_elem(&rate_limits, &key);
	if (last && now - *last < (__u64)ms * 1000000)
		return true;
	bpf_map_update_elem(&rate_limits, &key, &now, BPF_ANY);
	return false;
}

/* Posts the hook event with only the arguments the hook declares: a hook
 * with one argument sends a fifth of the bytes, so the ring buffer holds
 * more events. The reader zero-fills the arguments not sent. */
static __always_inline long post_hook(struct scratch *s, __u32 nargs)
{
	/* the uid and the clock only for events that are posted: a hooked call
	 * that matches nothing skips both helpers */
	s->hook.header.uid = (__u32)bpf_get_current_uid_gid();
	s->hook.header.ktime = bpf_ktime_get_boot_ns();
	__u64 size = __builtin_offsetof(struct hook_event, args) +
		     (__u64)nargs * sizeof(struct event_arg);
	if (size > sizeof(s->hook))
		size = sizeof(s->hook);
	return bpf_ringbuf_output(&events, &s->hook, size, 0);
}

/* ---- selectors on namespaces and capabilities ------------------------- */

/* USDT: whether selector `sel` of a USDT site has a Set action. */
static __always_inline bool usdt_sets(__u32 slot, int sel)
{
	struct usdt_spec *u = bpf_map_lookup_elem(&usdt, &slot);
	if (!u || sel < 0 || sel >= MAX_SELECTORS)
		return false;
	return u->set_arg[sel] != 0;
}

/*
 * matchNamespaces, matchCapabilities, matchNamespaceChanges and
 * matchCapabilityChanges of selector `sel` against the current task, as
 * Tetragon's selector_process_filter() (bpf/process/pfilter.h):
 * - a namespace entry: In matches when the namespace's inode is one of the
 *   values, NotIn when it is none of them (selector_match with
 *   process_filter_namespace); every entry must match;
 * - capabilities: In matches when the set holds any of the capabilities,
 *   NotIn when it holds none; with isNamespaceCapability, never in the host's
 *   user namespace (process_filter_capabilities);
 * - namespace changes: In matches when a listed namespace differs from the
 *   one stored for the process, NotIn when an unlisted one does; a stored 0
 *   is skipped (process_filter_namespace_change);
 * - capability changes: In matches when the listed capabilities of the set
 *   changed, NotIn when only other ones did (process_filter_capability_change).
 * The *Changes filters need the process's stored values: a process never
 * seen does not match, as Tetragon's execve_map_get_noinit() miss.
 */
GLOBAL int match_process(__u64 slot, __u64 sel, __u64 tgid)
{
	struct selector *sp = selector_of(slot, sel);
	if (!sp)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 ns[NS_KINDS] = {};
	__u64 caps[CAPS_SETS] = {};
	read_namespaces(task, ns);
	read_caps(task, caps);

	for (int i = 0; i < MAX_NS_FILTERS; i++) {
		if (i >= sp->nnamespaces)
			break;
		struct ns_filter *f = &sp->namespaces[i];
		if (f->kind >= NS_KINDS)
			return 0;
		__u32 have = ns[BOUNDED(f->kind, NS_KINDS)];
		bool hit = false;
		for (int v = 0; v < MAX_NS_VALUES; v++) {
			if (v >= f->nvalues)
				break;
			if (f->values[v] == have)
				hit = true;
		}
		if ((f->flags & FILTER_NOT) ? hit : !hit)
			return 0;
	}

	if (sp->has_caps) {
		struct caps_filter *f = &sp->caps;
		if (f->host_userns && ns[NS_USER] == f->host_userns)
			return 0;
		if (f->set >= CAPS_SETS)
			return 0;
		bool hit = caps[BOUNDED(f->set, CAPS_SETS)] & f->mask;
		if ((f->flags & FILTER_NOT) ? hit : !hit)
			return 0;
	}

	if (!sp->has_ns_changes && !sp->has_cap_changes)
		return 1;
	__u32 pid = tgid;
	struct process *p = bpf_map_lookup_elem(&processes, &pid);
	if (!p || !p->exec_state)
		return 0;

	if (sp->has_ns_changes) {
		bool changed = false;
		for (int i = 0; i < NS_KINDS; i++) {
			bool listed = (sp->ns_changes >> i) & 1;
			if (sp->ns_changes_flags & FILTER_NOT)
				listed = !listed;
			if (!listed || p->ns[i] == 0)
				continue;
			if (p->ns[i] != ns[i])
				changed = true;
		}
		if (!changed)
			return 0;
	}

	if (sp->has_cap_changes) {
		struct caps_filter *f = &sp->cap_changes;
		if (f->host_userns && ns[NS_USER] == f->host_userns)
			return 0;
		if (f->set >= CAPS_SETS)
			return 0;
		__u64 set = BOUNDED(f->set, CAPS_SETS);
		__u64 stored = p->caps[set];
		__u64 now = caps[set];
		bool not = f->flags & FILTER_NOT;
		bool hit = false;
		if ((stored & f->mask) != (now & f->mask))
			hit = !not;
		else if (stored != now)
			hit = not;
		if (!hit)
			return 0;
	}
	return 1;
}

/*
 * After a selector with a *Changes filter matched: the process's stored
 * namespaces or capabilities become the current ones, so one change is
 * reported once (Tetragon's generic_output() in bpf/process/generic_calls.h
 * refreshes the execve_map entry when match_ns or match_cap is set).
 */
GLOBAL int refresh_process(__u64 slot, __u64 sel, __u64 tgid)
{
	struct selector *sp = selector_of(slot, sel);
	__u32 pid = tgid;
	struct process *p = bpf_map_lookup_elem(&processes, &pid);
	if (!sp || !p)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	if (sp->has_ns_changes)
		read_namespaces(task, p->ns);
	if (sp->has_cap_changes)
		read_caps(task, p->caps);
	return 0;
}

/* A syscall's arguments from its user registers (below). */
static __attribute__((noinline)) void user_regs(struct scratch *s);
static __attribute__((noinline)) __u64 user_reg(__u64 index);

/* How handle() completes the raw arguments a copy left (scratch.args_from):
 * ARGS_READY, the copy read them; ARGS_REGS_IF_SYSCALL, the copy read the
 * function's registers, replaced by the syscall's user registers when the
 * hook is a syscall stub's; ARGS_TRAMPOLINE, the syscall's user registers
 * for a syscall stub, else the u64s at args_ctx (fentry), read only then;
 * ARGS_TRACEPOINT, below. */
#define ARGS_READY 0
#define ARGS_REGS_IF_SYSCALL 1
#define ARGS_TRAMPOLINE 2
/* tracepoints: handle() reads the record's fields (tp_fields) */
#define ARGS_TRACEPOINT 3
/* fentry and lsm: the context is the arguments, one u64 each. The verifier
 * refuses direct reads past the function's arity, so all six slots are
 * copied with one probe read; those past the arity are unused. */
#define TRAMPOLINE_ARGS(s, ctx)                                           \
	bpf_probe_read_kernel((s)->raw, sizeof((s)->raw), (ctx))

/* Return probes: keeps the entry's event until the call returns (below). */
GLOBAL int keep_entry(__u64 slot, __u64 post);
/* matchParentBinaries (below) */
GLOBAL int match_parent_binaries(__u64 slot, __u64 sel, __u64 tgid);
/* NotifyEnforcer (below) */
GLOBAL int notify_enforcer(__u64 slot, __u64 sel);

/* One field of the record, `w` bytes (8 at most) at `offset`, into `to`
 * (0 for a width of 0): tp_fields' read of each field, and the gate's. */
static __always_inline void tp_field(struct scratch *s, __u64 *to, __u32 w, __u32 offset)
{
	*to = 0;
	if (w > 8)
		w = 8;
	if (w)
		bpf_probe_read_kernel(to, w, (char *)s->tp_ctx + offset);
}

/* The raw arguments of a tracepoint hook: argument i is the field of width
 * w at its configured offset in the record. Read here, in handle(), which
 * has the hook's configuration, so the copy needs no lookup of its own
 * (issue 16). (Loading the record directly, at constant offsets, would need
 * no helper, but the kernel refuses to attach a program whose loads reach
 * past the tracepoint's record: perf_event_set_bpf_prog's max_ctx_offset
 * check, -EACCES; a generic copy cannot know its record's size.) */
static __always_inline void tp_fields(struct scratch *s, struct hook_config *h)
{
	for (int i = 0; i < MAX_ARGS; i++)
		tp_field(s, &s->raw[i], h->args[i].width, h->args[i].field_offset);
}

/* TrackSock / UntrackSock of a matched selector, on its argSock's sock. */
static __always_inline void selector_sock_action(struct scratch *s, struct selector *sel)
{
	__u64 i = sel->sock_arg;
	if (i >= MAX_ARGS)
		return;
	struct event_arg *a = &s->hook.args[BOUNDED(i, MAX_ARGS)];
	if (a->type != ARG_SOCK || (s->unread & (1 << i)))
		return;
	track_sock(a->sock.cookie, sel->sock_action == ACTION_TRACKSOCK);
}

#define ALL_ARGS ((1u << MAX_ARGS) - 1)

/* Reads the arguments in `want` (bit i: argument i) not yet in `have`;
 * returns the bits read by now. */
static __always_inline __u32 read_args(struct hook_config *h, __u32 nargs, __u32 want,
					__u32 have)
{
	for (int i = 0; i < MAX_ARGS; i++) {
		if (i >= nargs)
			break;
		if ((want & ~have) & (1u << i))
			read_arg(h, i);
	}
	return have | want;
}

/* ---- stack traces (issue 15) -------------------------------------------
 * Post's kernelStackTrace and userStackTrace, as Tetragon: do_action for
 * ACTION_POST (bpf/process/generic_calls.h) sets a flag per stack asked
 * (an id of 0 is valid) and stores bpf_get_stackid(ctx, &stack_trace_map, 0)
 * for the kernel stack and with BPF_F_USER_STACK for the user stack;
 * stack_trace_map (bpf/process/types/basic.h) is a BPF_MAP_TYPE_STACK_TRACE
 * of PERF_MAX_STACK_DEPTH (127) frames that the agent sizes only when a
 * policy asks (pkg/sensors/tracing/generickprobe.go: stackTraceMapMaxEntries).
 * Here the loader sizes `stack_traces` the same way (max_entries 1 otherwise),
 * and user space reads each stack by its id (runtime/src/stacks.rs).
 *
 * bpf_get_stackid needs the program's context, which handle() (a global
 * function, called with the slot only) does not have: for a selector asking
 * for stacks, handle() records the post in the scratch (defer_for_stacks)
 * and the program, back from handle(), takes the stacks and posts
 * (post_stacks). Hooks and selectors without stacks post as before.
 */
#define STACK_TRACE_MAP 7 /* BPF_MAP_TYPE_STACK_TRACE */
#define BPF_F_USER_STACK (1ULL << 8)

struct {
	__uint(type, STACK_TRACE_MAP);
	__uint(max_entries, 1); /* the loader sets it when a policy asks for stacks */
	__type(key, __u32);
	__uint(value_size, sizeof(__u64) * STACK_DEPTH);
} stack_traces SEC(".maps");

/* At a selector's post: true when it asks for stacks, the post then left to
 * post_stacks; false when handle() posts as usual. */
static __always_inline bool defer_for_stacks(struct scratch *s, struct selector *sel,
					     __u32 slot, bool returns)
{
	__u32 flags = (sel->kernel_stack ? STACK_KERNEL : 0) |
		      (sel->user_stack ? STACK_USER : 0);
	if (!flags)
		return false;
	s->stack_post = flags;
	s->stack_slot = slot;
	s->stack_returns = returns;
	return true;
}

/* Back from handle() in a program: the post handle() deferred, with the
 * stack ids. The record is then the whole hook_event (every args slot; the
 * reader decodes only the hook's declared ones). A static function, not
 * inlined: the verifier checks it in each caller's context (ctx stays the
 * program's context), and the object holds it once. */
static __attribute__((noinline)) void post_stacks(void *ctx, struct scratch *s)
{
	__u32 flags = s->stack_post;
	if (!flags)
		return;
	s->stack_post = 0;
	s->hook.stack_flags = flags;
	s->hook.kernel_stack_id = -1;
	s->hook.user_stack_id = -1;
	if (flags & STACK_KERNEL)
		s->hook.kernel_stack_id = bpf_get_stackid(ctx, &stack_traces, 0);
	if (flags & STACK_USER)
		s->hook.user_stack_id = bpf_get_stackid(ctx, &stack_traces, BPF_F_USER_STACK);
	if (s->stack_returns)
		keep_entry(s->stack_slot, 1);
	else if (post_hook(s, MAX_ARGS + 1)) /* capped at sizeof(struct hook_event) */
		count_lost();
	s->hook.stack_flags = 0;
}

/* Completes the raw arguments a copy left, but a tracepoint's (ARGS_*):
 * `syscall`, the hook's arguments are its syscall's user registers. */
static __always_inline void complete_regs(struct scratch *s, bool syscall)
{
	if (syscall)
		user_regs(s);
	else if (s->args_from == ARGS_TRAMPOLINE)
		TRAMPOLINE_ARGS(s, (void *)s->args_ctx);
	s->args_from = ARGS_READY;
}

/* ---- the gates (struct hook_gate, issue 16) -------------------------------
 * The binary gate, then the argument gate, which reads the gated argument
 * (onto the stack first, into the event as read_arg does once it passes)
 * and tells whether its length lets any selector match (and, for a hook of
 * one selector, whether its filter holds). Returns the arguments read (bit
 * i: argument i; 0 without an argument gate), or GATE_SHUT when no selector
 * can match: the call costs the gates and no lookup in `hooks`. A string that cannot be read shuts
 * the gate too: match_arg holds no filter on it. */
#define GATE_SHUT (-1)
#define GATE_BUF 64 /* bytes of the gated string read on the stack */

/* The binary gate of the hook in `slot` (struct hook_gate): 1 when the
 * current process's binary, as match_binaries reads it from `processes`,
 * lets no selector match. A process missing there is left to
 * match_binaries, which reads the binary from the task. A global function:
 * verified once, its paths do not multiply the states of handle(). */
GLOBAL int binary_shut(__u64 slot)
{
	__u32 key = slot;
	struct hook_gate *g = bpf_map_lookup_elem(&gates, &key);
	struct scratch *s = get_scratch();
	if (!g || !s)
		return 0;
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct process *p = bpf_map_lookup_elem(&processes, &pid);
	if (!p)
		return 0;
	__u32 n = p->binary_len;
	if (!len_in(g->bin_lens, n))
		return 1;
	if (!g->bin_op)
		return 0;
	set_key(s, p->binary, n);
	return !match_key(g->bin_filter, g->bin_op);
}

/* The argument gate `g`'s test of the string at `v`: GATE_SHUT when no
 * selector can match it; when the call passes, the argument's bit, the
 * string read into the event as read_arg reads it; 0 without a gate or
 * scratch. A global function, as binary_shut: inlined, the paths of its two
 * reads took the verifier's work on this host's tracepoint copy from 576k
 * to 832k instructions (of the 1M it allows); the call costs ~40
 * instructions (benches/run_vm.rs). */
GLOBAL int string_gate(struct scratch *s, struct hook_gate *g, __u64 v)
{
	if (!g || !s)
		return 0;
	__u64 i = g->arg;
	if (i >= MAX_ARGS)
		return 0;
	struct event_arg *out = &s->hook.args[BOUNDED(i, MAX_ARGS)];
	out->type = ARG_STRING;
	out->mode = 0;
	out->status = 0;
	out->value = 0;
	/* The string's first GATE_BUF bytes on the stack first: the kernel's
	 * check of a string copy's destination costs ~50 instructions more
	 * for a map value than for the stack (issue 16, benches/run_vm.rs). A
	 * string that fits is copied into the event only when the gate lets
	 * it through; a longer one is read again, whole, as read_arg reads. */
	__u64 buf[GATE_BUF / 8] = {};
	bool user = g->flags & ARG_USER;
	long n = user ? bpf_probe_read_user_str(buf, GATE_BUF, (void *)v)
		      : bpf_probe_read_kernel_str(buf, GATE_BUF, (void *)v);
	if (n <= 0) {
		out->len = 0;
		s->unread |= 1 << i;
		return GATE_SHUT;
	}
	if (n < GATE_BUF) {
		out->len = n - 1;
		if (!len_in(g->lens, out->len))
			return GATE_SHUT;
		/* in words: a memcpy here compiles to byte stores */
		__u64 *to = (__u64 *)out->str;
		for (int k = 0; k < GATE_BUF / 8; k++)
			to[k] = buf[k];
	} else if (!read_string(s, out, v, user, i) || !len_in(g->lens, out->len)) {
		return GATE_SHUT;
	}
	if (g->op) {
		/* the one selector's filter, as match_arg looks it up */
		set_key(s, out->str, out->len);
		if (!match_key(g->filter, g->op))
			return GATE_SHUT;
	}
	return 1 << i;
}

static __always_inline int gate(struct scratch *s, __u32 slot)
{
	struct hook_gate *g = bpf_map_lookup_elem(&gates, &slot);
	if (!g)
		return 0;
	/* the binary first: what a selector tests first (handle) */
	if (g->bin_active && binary_shut(slot))
		return GATE_SHUT;
	if (!g->active)
		return 0;
	__u64 i = g->arg, index = g->index;
	if (i >= MAX_ARGS || index > 5)
		return 0;
	__u64 v = 0;
	if (s->args_from == ARGS_TRACEPOINT) {
		tp_field(s, &v, g->width, g->field_offset);
	} else if (g->syscall && s->args_from != ARGS_READY) {
		/* only the gated register: handle() reads the six if the
		 * call passes */
		v = user_reg(index);
	} else {
		if (s->args_from != ARGS_READY)
			complete_regs(s, false);
		v = s->raw[BOUNDED(index, 6)];
	}
	return string_gate(s, g, v);
}

/*
 * The generic handler, after the caller put the raw arguments in the
 * scratch: reads the arguments, finds the first selector that matches,
 * acts and posts the event. Returns 1 when the caller must override the
 * return value with the event's action_arg.
 */
GLOBAL int handle(__u64 slot)
{
	__u32 key = slot;
	struct scratch *s = get_scratch();
	if (!s)
		return 0;
	int gated = gate(s, key);
	if (gated == GATE_SHUT)
		return 0;
	__u32 have = gated;
	struct hook_config *h = bpf_map_lookup_elem(&hooks, &key);
	if (!h || !h->enabled)
		return 0;
	if (s->args_from == ARGS_TRACEPOINT) {
		tp_fields(s, h);
		s->args_from = ARGS_READY;
	} else if (s->args_from != ARGS_READY) {
		complete_regs(s, h->syscall);
	}

	__u64 id = bpf_get_current_pid_tgid();
	s->hook.header.type = EVENT_HOOK;
	s->hook.header.pid = id >> 32;
	s->hook.header.tid = (__u32)id;
	s->hook.slot = slot;
	s->hook.selector = 255;
	s->hook.action = ACTION_POST;
	s->hook.action_arg = 0;
	s->unread = 0;
	__u32 nargs = h->nargs;
	/* the process filters test the current process, not a tracked sock's owner */
	__u32 pid = id >> 32;
	__u32 nsel = h->nselectors;
	/* Arguments are read when first needed (issue 16): a selector's
	 * matchArgs entries read theirs (args_mask) once its process filters
	 * held, and the rest once a selector matched, so a call the process
	 * filters turn away reads none. A return probe keeps every call's entry
	 * and a hook without selectors posts every call: both read all first. */
	bool lazy = nsel && !h->returns;
	if (!lazy)
		have = read_args(h, nargs, ALL_ARGS, have);
	if (nsel == 0) {
		if (h->returns)
			keep_entry(slot, 1);
		else if (post_hook(s, nargs))
			count_lost();
		return 0;
	}
	int which = -1;
	for (int i = 0; i < MAX_SELECTORS; i++) {
		if (i >= nsel)
			break;
		struct selector *sel = &h->selectors[i];
		if (sel->has_pids && !match_pids(sel, pid))
			continue;
		if (sel->has_binaries && !match_binaries(sel, pid))
			continue;
		if (sel->has_parent_binaries && !match_parent_binaries(slot, i, pid))
			continue;
		if ((sel->nnamespaces || sel->has_caps || sel->has_ns_changes ||
		     sel->has_cap_changes) &&
		    !match_process(slot, i, pid))
			continue;
		if (lazy)
			have = read_args(h, nargs, sel->args_mask, have);
		bool ok = true;
		for (int f = 0; f < MAX_FILTERS; f++) {
			if (f >= sel->nargs)
				break;
			if (!match_arg(sel, f)) {
				ok = false;
				break;
			}
		}
		if (ok) {
			which = i;
			break;
		}
	}
	if (which < 0 || which >= MAX_SELECTORS) {
		if (h->returns)
			keep_entry(slot, 0);
		return 0;
	}

	/* the event carries every argument, and actions (TrackSock, rateLimit) read them */
	if (lazy)
		read_args(h, nargs, ALL_ARGS, have);
	/* match_* reused the scratch; h is still the same map value */
	struct selector *sel = &h->selectors[which];
	s->hook.selector = which;
	if (sel->has_ns_changes || sel->has_cap_changes)
		refresh_process(slot, which, pid);
	int ret = 0;
	if (sel->override) {
		s->hook.action = ACTION_OVERRIDE;
		s->hook.action_arg = sel->override_value;
		ret = 1;
	}
	if (sel->signal) {
		bpf_send_signal(sel->signal);
		if (!ret) {
			s->hook.action = ACTION_SIGNAL;
			s->hook.action_arg = sel->signal;
		}
	}
	if (sel->kill) {
		bpf_send_signal(SIGKILL);
		if (!ret) {
			s->hook.action = ACTION_SIGKILL;
			s->hook.action_arg = SIGKILL;
		}
	}
	if (sel->sock_action)
		selector_sock_action(s, sel);
	if (sel->notify_enforcer)
		notify_enforcer(slot, which);
	if (sel->last_action)
		s->hook.action = sel->last_action;
	if (h->kind == KIND_UPROBE && usdt_sets(slot, which)) {
		/* the usdt copy writes the value once the event is sent */
		s->hook.action = ACTION_SET;
		ret = 1;
	}
	bool post = sel->post && !(sel->rate_limit_ms && rate_limited(s, slot, which, sel, nargs));
	if (post && defer_for_stacks(s, sel, slot, h->returns))
		; /* the program posts with the stacks: post_stacks */
	else if (h->returns)
		keep_entry(slot, post);
	else if (post && post_hook(s, nargs))
		count_lost();
	return ret;
}

/* ---- matchParentBinaries ------------------------------------------------
 * The parent's binary compared as matchBinaries compares the process's, as
 * Tetragon does from its process cache (bpf/process/pfilter.h
 * selector_process_filter, the tg_parents_bin map). A process or parent
 * missing from `processes` is unknown: neither In nor NotIn holds (where
 * Tetragon lets the selector pass).
 */
GLOBAL int match_parent_binaries(__u64 slot, __u64 sel, __u64 tgid)
{
	struct selector *sp = selector_of(slot, sel);
	struct scratch *s = get_scratch();
	if (!sp || !s)
		return 0;
	struct filter *f = &sp->parent_binaries;
	__u32 pid = tgid;
	struct process *p = bpf_map_lookup_elem(&processes, &pid);
	if (!p || !p->ppid)
		return 0;
	__u32 ppid = p->ppid;
	struct process *pp = bpf_map_lookup_elem(&processes, &ppid);
	if (!pp)
		return 0;
	bool hit = false;
	if (len_possible(f, pp->binary_len)) {
		set_key(s, pp->binary, pp->binary_len);
		hit = match_key(f->id, f->op);
	}
	return (f->flags & FILTER_NOT) ? !hit : hit;
}

/* ---- Override of security_ functions through fmod_ret -------------------
 * As Tetragon does (pkg/sensors/tracing/generickprobe.go, OverrideFmodRet;
 * bpf/process/bpf_generic_kprobe.c generic_fmodret_override): the kprobe or
 * fentry copy that runs the selectors only records the value for the thread,
 * and a companion fmod_ret program on the same function (loaded by the
 * loader, runtime/src/fmodret.rs) takes it and returns it in place of the
 * function. The kernel lets fmod_ret modify any security_ function without
 * error injection (kernel/bpf/verifier.c check_attach_modify_return).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_PENDING);
	__type(key, struct pending_key);  /* slot and thread */
	__type(value, __s64);             /* the value to return, sign-extended */
} override_tasks SEC(".maps");

static __always_inline void defer_override(__u32 slot, __s32 value)
{
	struct pending_key key = {
		.slot = slot,
		.tid = (__u32)bpf_get_current_pid_tgid(),
	};
	__s64 v = value;
	bpf_map_update_elem(&override_tasks, &key, &v, BPF_ANY);
}

/* ---- enforcers (issue 15) ----------------------------------------------
 * As Tetragon does for an enforcer on security_ functions
 * (pkg/sensors/tracing/enforcer.go createEnforcerSensor, which forces fmod_ret
 * for them; bpf/process/bpf_enforcer.h do_enforcer_action, bpf_enforcer.c
 * do_enforcer): a NotifyEnforcer action records, for the thread, the error
 * and the signal; a companion fmod_ret program on each of the enforcer's
 * calls (runtime/src/fmodret.rs, enforcer_program) takes them out, sends the
 * signal and returns the error. The record lives in override_tasks under
 * (enforcer_key, thread) where Tetragon keys its enforcer_data by pid_tgid;
 * a later notification replaces an earlier one, as there.
 */
GLOBAL int notify_enforcer(__u64 slot, __u64 sel)
{
	struct selector *sp = selector_of(slot, sel);
	if (!sp)
		return 0;
	struct pending_key key = {
		.slot = sp->enforcer_key,
		.tid = (__u32)bpf_get_current_pid_tgid(),
	};
	/* the error in the low half (16 bits, as enforcer_data's __s16), the
	 * signal in the high half */
	__s16 error = (__s16)sp->enforcer_error;
	__u64 v = ((__u64)(__u16)sp->enforcer_signal << 32) | (__u32)(__s32)error;
	bpf_map_update_elem(&override_tasks, &key, &v, BPF_ANY);
	return 0;
}

/* ---- program copies ---------------------------------------------------- */

/* The scratch of a copy that needs nothing of its hook's configuration
 * before handle(), which looks it up (issue 16: a lookup in `hooks` is ~100
 * instructions, and the copy's own was one more per call). `from` says how
 * handle() completes the raw arguments (ARGS_*). */
static __always_inline struct scratch *begin_copy(__u32 from)
{
	struct scratch *s = get_scratch();
	if (!s)
		return 0;
	s->hook.syscall = 0;
	s->regs_addr = 0;
	s->args_from = from;
	return s;
}

/* The scratch of a program that needs its hook's configuration before
 * handle() (the raw syscall dispatcher, USDT copies): whether the hook is
 * enabled, and in `syscall` whether it is a syscall's. */
static __always_inline struct scratch *begin(__u32 slot, bool *syscall)
{
	struct hook_config *h = bpf_map_lookup_elem(&hooks, &slot);
	struct scratch *s = get_scratch();
	if (!h || !s || !h->enabled)
		return 0;
	*syscall = h->syscall;
	s->hook.syscall = 0;
	s->regs_addr = 0;
	s->args_from = ARGS_READY;
	return s;
}

/* A syscall's arguments, from the user registers its stub receives: the
 * current task's saved user registers (task_pt_regs, which do_syscall_64
 * hands every __x64_sys_ stub and raw_syscalls/sys_enter passes), loaded
 * directly through bpf_task_pt_regs()'s typed pointer. Six direct loads
 * cost a few instructions; one probe read of the 64 bytes cost ~100 a call
 * (issue 16, benches/run_vm.rs). Not inlined: inlined beside a kprobe's
 * ctx->... loads, clang merged these loads with those into one load through
 * a selected pointer, which Linux 6.1's verifier refuses in a kprobe
 * ("dereference of modified ctx ptr"); handle() calls it. */
static __attribute__((noinline)) void user_regs(struct scratch *s)
{
	struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	s->raw[0] = r->di;
	s->raw[1] = r->si;
	s->raw[2] = r->dx;
	s->raw[3] = r->r10;
	s->raw[4] = r->r8;
	s->raw[5] = r->r9;
}

/* One of a syscall's user registers, `index` in user_regs' order: what the
 * argument gate needs of them. A branch per register: clang makes it one
 * load past a constant each branch adds, which the verifier follows branch
 * by branch (an offset it could not know is refused in a typed pointer);
 * not inlined, as user_regs. */
static __attribute__((noinline)) __u64 user_reg(__u64 index)
{
	struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	__u64 v;
	switch (index) {
	case 0: v = r->di; break;
	case 1: v = r->si; break;
	case 2: v = r->dx; break;
	case 3: v = r->r10; break;
	case 4: v = r->r8; break;
	default: v = r->r9; break;
	}
	return v;
}

/* A function's arguments from a kprobe's registers (x86_64 calling
 * convention); a syscall stub's are replaced by handle() (ARGS_REGS_IF_SYSCALL).
 * Direct context reads at constant offsets, as the verifier requires. */
static __always_inline void kprobe_args(struct scratch *s, struct pt_regs *ctx)
{
	s->raw[0] = ctx->di;
	s->raw[1] = ctx->si;
	s->raw[2] = ctx->dx;
	s->raw[3] = ctx->cx;
	s->raw[4] = ctx->r8;
	s->raw[5] = ctx->r9;
}

/* A program copy whose context is registers (kprobe, uprobe): gathers the
 * arguments (`from`: a kprobe's hook may be a syscall stub's, whose
 * arguments are its user registers) and runs the handler for its slot. */
#define REGS_PROGRAM(section, name, kind, n, from)                        \
	SEC(section #n)                                                   \
	int name##_##n(struct pt_regs *ctx)                               \
	{                                                                 \
		__u32 slot = kind * SLOTS_PER_KIND + n;                   \
		struct scratch *s = begin_copy(from);                     \
		if (!s)                                                   \
			return 0;                                         \
		kprobe_args(s, ctx);                                      \
		s->regs_addr = (__u64)ctx;                                \
		if (handle(slot) && kind == KIND_KPROBE)                  \
			defer_override(slot, s->hook.action_arg);         \
		post_stacks(ctx, s);                                      \
		return 0;                                                 \
	}

#define KPROBE(n) REGS_PROGRAM("kprobe/slot", kprobe, KIND_KPROBE, n, ARGS_REGS_IF_SYSCALL)

/* kprobe copies that may override the return value: loaded only for
 * selectors with Override, as kernels without error injection refuse
 * programs calling bpf_override_return. */
#define KPROBE_OVERRIDE(n)                                                \
	SEC("kprobe/override" #n)                                         \
	int kprobe_override_##n(struct pt_regs *ctx)                      \
	{                                                                 \
		__u32 slot = KIND_KPROBE * SLOTS_PER_KIND + n;            \
		struct scratch *s = begin_copy(ARGS_REGS_IF_SYSCALL);     \
		if (!s)                                                   \
			return 0;                                         \
		kprobe_args(s, ctx);                                      \
		s->regs_addr = (__u64)ctx;                                \
		if (handle(slot))                                         \
			bpf_override_return(ctx, (long)s->hook.action_arg); \
		post_stacks(ctx, s);                                      \
		return 0;                                                 \
	}

/* fentry: the context is the arguments, one u64 each; handle() reads them
 * (TRAMPOLINE_ARGS), or the user registers for a syscall stub. */
#define FENTRY(n)                                                         \
	SEC("fentry/slot" #n)                                             \
	int fentry_##n(__u64 *ctx)                                        \
	{                                                                 \
		__u32 slot = KIND_FENTRY * SLOTS_PER_KIND + n;            \
		struct scratch *s = begin_copy(ARGS_TRAMPOLINE);          \
		if (!s)                                                   \
			return 0;                                         \
		s->args_ctx = (__u64)ctx;                                 \
		if (handle(slot))                                         \
			defer_override(slot, s->hook.action_arg);         \
		post_stacks(ctx, s);                                      \
		return 0;                                                 \
	}

/* An LSM program may only return 0 or -errno (-4095..-1), checked on the
 * whole 64-bit register: computed in 64 bits so the sign is extended. */
static __always_inline __s64 lsm_errno(__s32 value)
{
	__s64 v = value;
	if (v < -4095 || v > 0)
		return -1; /* EPERM */
	return v;
}

#define LSM(n)                                                            \
	SEC("lsm/slot" #n)                                                \
	__s64 lsm_##n(__u64 *ctx)                                         \
	{                                                                 \
		__u32 slot = KIND_LSM * SLOTS_PER_KIND + n;               \
		struct scratch *s = begin_copy(ARGS_READY);               \
		if (!s)                                                   \
			return 0;                                         \
		TRAMPOLINE_ARGS(s, ctx);                                  \
		int act = handle(slot);                                   \
		post_stacks(ctx, s);                                      \
		if (act)                                                  \
			return lsm_errno(s->hook.action_arg);             \
		return 0;                                                 \
	}

/* tracepoints: arguments are fields of the record, at configured offsets,
 * which handle() reads (ARGS_TRACEPOINT, tp_fields). */
#define TRACEPOINT(n)                                                     \
	SEC("tracepoint/slot" #n)                                         \
	int tracepoint_##n(void *ctx)                                     \
	{                                                                 \
		__u32 slot = KIND_TRACEPOINT * SLOTS_PER_KIND + n;        \
		struct scratch *s = begin_copy(ARGS_TRACEPOINT);          \
		if (!s)                                                   \
			return 0;                                         \
		s->tp_ctx = (__u64)ctx;                                   \
		handle(slot);                                             \
		post_stacks(ctx, s);                                      \
		return 0;                                                 \
	}

#define UPROBE(n) REGS_PROGRAM("uprobe/slot", uprobe, KIND_UPROBE, n, ARGS_READY)

/* ---- Override on uprobes ------------------------------------------------
 * As Tetragon's uprobe_offload (bpf/process/uprobe_offload.h): a selector
 * that Overrides runs its register assignments in order, each reading the
 * registers as the ones before left them. Tetragon applies them from a
 * second, sleepable program on the same uprobe; here the copy that ran the
 * selectors applies them once it is back from handle(), so a DEREF read
 * (bpf_probe_read_user, which may not fault a page in) fails where the
 * memory is not resident and that assignment is skipped, as Tetragon skips
 * one whose read fails. The kernel resumes the thread at the written ip
 * instead of running the probed instruction (Linux 6.18). */

/* The low `size` bytes (1, 2, 4 or 8) of a register. */
static __always_inline __u64 reg_mask(__u8 size)
{
	if (size >= 8)
		return ~0ULL;
	return (1ULL << ((size & 7) * 8)) - 1;
}

/* The register at byte offset `off` of struct pt_regs in the scratch's
 * copy; 0 when no register is there. */
static __always_inline __u64 *uregs_at(struct scratch *s, __u16 off)
{
	__u32 i = off / 8;
	if (off % 8 || i >= PT_REGS_WORDS)
		return 0;
	return &s->uregs[BOUNDED(i, PT_REGS_WORDS)];
}

/* A register written back into the context at its constant offset, when
 * an assignment changed it. */
#define UREG_BACK(field)                                                  \
	do {                                                              \
		__u64 v = s->uregs[offsetof(struct pt_regs, field) / 8];  \
		if (ctx->field != v)                                      \
			ctx->field = v;                                   \
	} while (0)

/* Runs selector `sel`'s assignments of uprobe slot `slot` on the probed
 * thread's registers (`ctx`). A static subprogram (checked in each caller's
 * context, where ctx is the copy's), so the 64 copies share its code. */
static __attribute__((noinline)) void uprobe_write_regs(struct pt_regs *ctx, __u32 slot,
							 __u32 sel)
{
	__u32 key = slot * MAX_SELECTORS + sel;
	struct uprobe_regs *r = bpf_map_lookup_elem(&uprobe_regs, &key);
	struct scratch *s = get_scratch();
	if (!r || !s)
		return;
	if (bpf_probe_read_kernel(s->uregs, sizeof(s->uregs), ctx))
		return;
	__u32 cnt = r->cnt;
	for (int i = 0; i < REGS_MAX; i++) {
		if (i >= cnt)
			break;
		struct reg_assignment *a = &r->ass[i];
		__u64 val = 0;
		__u64 *src = uregs_at(s, a->src);
		switch (a->type) {
		case REG_ASS_CONST:
			val = a->off;
			break;
		case REG_ASS_REG:
			if (!src)
				continue;
			val = *src & reg_mask(a->src_size);
			break;
		case REG_ASS_REG_OFF:
			if (!src)
				continue;
			val = (*src & reg_mask(a->src_size)) + a->off;
			break;
		case REG_ASS_REG_DEREF:
			if (!src)
				continue;
			val = (*src & reg_mask(a->src_size)) + a->off;
			if (bpf_probe_read_user(&val, sizeof(val), (void *)val))
				continue;
			break;
		default:
			continue;
		}
		__u64 *dst = uregs_at(s, a->dst);
		if (!dst)
			continue;
		__u64 m = reg_mask(a->dst_size);
		*dst = (*dst & ~m) | (val & m);
	}
	UREG_BACK(r15);
	UREG_BACK(r14);
	UREG_BACK(r13);
	UREG_BACK(r12);
	UREG_BACK(bp);
	UREG_BACK(bx);
	UREG_BACK(r11);
	UREG_BACK(r10);
	UREG_BACK(r9);
	UREG_BACK(r8);
	UREG_BACK(ax);
	UREG_BACK(cx);
	UREG_BACK(dx);
	UREG_BACK(si);
	UREG_BACK(di);
	UREG_BACK(ip);
	UREG_BACK(sp);
}

/* uprobe copies whose selectors may Override: loaded only for such hooks,
 * as only kernels that let uprobe programs write their registers load a
 * program that writes its context (and none attaches it to a kprobe). The
 * stacks are taken before the registers change. */
#define UPROBE_OVERRIDE(n)                                                \
	SEC("uprobe/override" #n)                                         \
	int uprobe_override_##n(struct pt_regs *ctx)                      \
	{                                                                 \
		__u32 slot = KIND_UPROBE * SLOTS_PER_KIND + n;            \
		struct scratch *s = begin_copy(ARGS_READY);               \
		if (!s)                                                   \
			return 0;                                         \
		kprobe_args(s, ctx);                                      \
		s->regs_addr = (__u64)ctx;                                \
		int act = handle(slot);                                   \
		__u32 sel = s->hook.selector;                             \
		post_stacks(ctx, s);                                      \
		if (act && sel < MAX_SELECTORS)                           \
			uprobe_write_regs(ctx, slot, sel);                \
		return 0;                                                 \
	}

#define COPIES(X) \
	X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) \
	X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) \
	X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) \
	X(24) X(25) X(26) X(27) X(28) X(29) X(30) X(31) \
	X(32) X(33) X(34) X(35) X(36) X(37) X(38) X(39) \
	X(40) X(41) X(42) X(43) X(44) X(45) X(46) X(47) \
	X(48) X(49) X(50) X(51) X(52) X(53) X(54) X(55) \
	X(56) X(57) X(58) X(59) X(60) X(61) X(62) X(63)

COPIES(KPROBE)
COPIES(KPROBE_OVERRIDE)
COPIES(FENTRY)
COPIES(LSM)
COPIES(TRACEPOINT)
COPIES(UPROBE)
COPIES(UPROBE_OVERRIDE)

/* Syscalls where neither kprobes nor trampolines exist: one raw tracepoint,
 * dispatched by syscall number to the hooks registered for it. */
SEC("raw_tp/sys_enter")
int raw_syscall(struct raw_syscall_args *ctx)
{
	__u32 nr = ctx->id;
	struct syscall_hooks *sh = bpf_map_lookup_elem(&syscalls, &nr);
	if (!sh || !sh->count)
		return 0;
	for (int i = 0; i < SYSCALL_HOOKS; i++) {
		if (i >= sh->count)
			break;
		__u32 slot = sh->slots[i];
		bool syscall;
		struct scratch *s = begin(slot, &syscall);
		if (!s)
			continue;
		user_regs(s);
		s->hook.syscall = nr;
		handle(slot);
		post_stacks(ctx, s);
	}
	return 0;
}

/* ---- return probes ------------------------------------------------------ */

/*
 * As Tetragon: the entry marks every call of a hook with a return probe,
 * before its selectors run (bpf/process/generic_calls.h: retprobe_map_set()
 * when config->argreturn is set), and the return reads the mark back
 * (generic_retprobe(): retprobe_map_get()). Tetragon sends both halves to
 * user space, which merges an entry event with its return event and prints
 * one (pkg/sensors/tracing/retprobe.go retprobeMergeEvents()): a call is
 * printed when the entry posted and the return posted. Here the entry's
 * event waits in `pending` and the return sends the merged event, so only
 * printed calls cross the ring buffer. The key is the thread: a function
 * re-entered by the same thread before it returns keeps the innermost call.
 *
 * The return only runs the selectors whose process filters (matchPIDs,
 * matchBinaries) held at the entry: Tetragon's return filter_args() runs
 * the selectors marked in e->sel.active, which the entry's
 * generic_process_filter() set, so a return action stays as scoped as its
 * selector.
 */

/* Stores the entry's event of `slot` for its return; `post` says whether
 * the entry would have posted it (its header type EVENT_HOOK, else 0). */
GLOBAL int keep_entry(__u64 slot, __u64 post)
{
	__u32 hk = slot;
	struct hook_config *h = bpf_map_lookup_elem(&hooks, &hk);
	struct scratch *s = get_scratch();
	if (!h || !s)
		return 0;
	struct return_event *r = &s->ret_event;
	/* the caller, not a tracked sock's owner (see handle) */
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u32 active = 0;
	__u32 nsel = h->nselectors;
	for (int i = 0; i < MAX_SELECTORS; i++) {
		if (i >= nsel)
			break;
		struct selector *sel = &h->selectors[i];
		if (sel->has_pids && !match_pids(sel, pid))
			continue;
		if (sel->has_binaries && !match_binaries(sel, pid))
			continue;
		if (sel->has_parent_binaries && !match_parent_binaries(slot, i, pid))
			continue;
		if ((sel->nnamespaces || sel->has_caps || sel->has_ns_changes ||
		     sel->has_cap_changes) &&
		    !match_process(slot, i, pid))
			continue;
		active |= 1 << i;
	}
	s->hook.header.type = post ? EVENT_HOOK : 0;
	s->hook.header.uid = (__u32)bpf_get_current_uid_gid();
	s->hook.header.ktime = bpf_ktime_get_boot_ns();
	bpf_probe_read_kernel(&r->enter, sizeof(r->enter), &s->hook);
	r->selector = active;
	struct pending_key key = { .slot = slot, .tid = s->hook.header.tid };
	bpf_map_update_elem(&pending, &key, r, BPF_ANY);
	return 0;
}

static __always_inline struct return_selector *return_selector_of(__u64 slot, __u64 sel)
{
	__u32 key = slot;
	struct hook_config *h = bpf_map_lookup_elem(&hooks, &key);
	if (!h || sel >= MAX_SELECTORS)
		return 0;
	return &h->ret_selectors[BOUNDED(sel, MAX_SELECTORS)];
}

/* matchReturnArgs entry `fi` of return selector `sel` against the return
 * value in the merged event. */
GLOBAL int match_return(__u64 slot, __u64 sel, __u64 fi)
{
	struct return_selector *rs = return_selector_of(slot, sel);
	struct scratch *s = get_scratch();
	if (!rs || !s || fi >= MAX_FILTERS)
		return 0;
	struct filter *f = &rs->args[BOUNDED(fi, MAX_FILTERS)];
	struct event_arg *a = &s->ret_event.ret;
	bool hit;
	if (f->op == OP_CEL)
		return cel_eval(f->id, 1);
	switch (a->type) {
	case ARG_INT:
	case ARG_UINT:
		hit = match_ints(f, a->value);
		break;
	case ARG_SOCK:
		hit = match_sock(f, &a->sock);
		break;
	case ARG_STRING:
		/* a uretprobe's returned string (as the entry's strings) */
		set_key(s, a->str, a->len);
		hit = match_key(f->id, f->op);
		break;
	default:
		return 0;
	}
	return (f->flags & FILTER_NOT) ? !hit : hit;
}

/* ---- returnCopy and returnArg file (issue 15) --------------------------- */

/*
 * An arg with returnCopy, read now from the pointer its entry kept, as
 * Tetragon's generic_retkprobe() (bpf/process/generic_calls.h) copies the
 * buffer saved by copy_char_buf() or copy_char_iovec(): `ret` bytes (the
 * return value, as an unsigned count, so an error reads the most), up to
 * ARG_BUF.
 */
GLOBAL int return_copy(__u64 slot, __u64 i, __u64 ret)
{
	__u32 key = slot;
	struct hook_config *h = bpf_map_lookup_elem(&hooks, &key);
	struct scratch *s = get_scratch();
	if (!h || !s || i >= MAX_ARGS)
		return 0;
	i = BOUNDED(i, MAX_ARGS);
	struct arg_config *a = &h->args[i];
	struct event_arg *out = &s->ret_event.enter.args[i];
	bool user = a->flags & ARG_USER;
	__u64 ptr = out->value;
	__u64 cnt = out->mode;
	out->mode = 0;
	out->len = 0;
	if (!ptr)
		return 0;
	if (a->type == ARG_IOVEC) {
		read_iovec(s, out, ptr, cnt, user);
		if (out->len > ret)
			out->len = ret;
		return 0;
	}
	__u64 size = ret;
	if (size > ARG_BUF)
		size = ARG_BUF;
	asm volatile("%[size] &= 0x1ff" : [size] "+r"(size));
	if (size > ARG_BUF)
		size = ARG_BUF;
	long err = user ? bpf_probe_read_user(out->str, size, (void *)ptr)
			: bpf_probe_read_kernel(out->str, size, (void *)ptr);
	out->len = err ? 0 : size;
	return 0;
}

/* returnArg `file`: the path of the returned struct file *, into the
 * merged event's return value. */
GLOBAL int return_file(__u64 value)
{
	struct scratch *s = get_scratch();
	if (!s)
		return 0;
	struct event_arg *out = &s->ret_event.ret;
	struct file *file = (struct file *)value;
	/* an error pointer (-4095..-1) or NULL is no file */
	if (!file || value >= (__u64)-4095)
		return 0;
	struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
	if (!dentry)
		return 0;
	out->mode = BPF_CORE_READ(dentry, d_inode, i_mode);
	out->len = write_path((__u64)BPF_CORE_READ(file, f_path.mnt), (__u64)dentry, DEST_RET);
	return 0;
}

/*
 * The return half: takes the entry's event of this thread's call, reads
 * the return value as returnArg says, runs the return selectors (the first
 * whose matchReturnArgs all hold), acts, and posts the merged event when
 * both the entry and the return post.
 */
GLOBAL int handle_return(__u64 slot, __u64 value)
{
	__u32 key = slot;
	struct hook_config *h = bpf_map_lookup_elem(&hooks, &key);
	struct scratch *s = get_scratch();
	if (!h || !s || !h->enabled || !h->returns)
		return 0;
	struct pending_key pk = { .slot = slot, .tid = (__u32)bpf_get_current_pid_tgid() };
	struct return_event *kept = bpf_map_lookup_elem(&pending, &pk);
	if (!kept)
		return 0;
	struct return_event *r = &s->ret_event;
	bpf_probe_read_kernel(r, sizeof(*r), kept);
	bpf_map_delete_elem(&pending, &pk);
	__u32 active = r->selector;

	struct event_arg *out = &r->ret;
	out->type = h->ret.type;
	out->len = 0;
	out->mode = 0;
	out->status = 0;
	out->value = 0;
	switch (h->ret.type) {
	case ARG_INT:
		out->value = sign_extend(value, h->ret.width, true);
		break;
	case ARG_UINT:
		out->value = sign_extend(value, h->ret.width, false);
		break;
	case ARG_SOCK:
		read_sock((struct sock *)value, &out->sock);
		break;
	case ARG_SOCKET:
		out->type = ARG_SOCK;
		read_sock(BPF_CORE_READ((struct socket *)value, sk), &out->sock);
		break;
	case ARG_STRING: {
		/* a uretprobe's returned `char *`, in user memory */
		long n = bpf_probe_read_user_str(out->str, ARG_BUF, (const void *)value);
		out->len = n > 0 ? n - 1 : 0;
		break;
	}
	case ARG_NONE: /* no returnArg: a hook with returnCopy only */
		break;
	case ARG_FILE:
		return_file(value);
		break;
	default:
		return 0;
	}
	for (int i = 0; i < MAX_ARGS; i++) {
		if (i >= h->nargs)
			break;
		if (h->args[i].flags & ARG_RETURN_COPY)
			return_copy(slot, i, value);
	}
	/* returnArgAction, at every return the entry kept, before the return
	 * selectors (Tetragon's generic_retprobe(): socktrack_map on `ret`) */
	if (h->ret_sock_action)
		track_sock(value, h->ret_sock_action == ACTION_TRACKSOCK);

	r->selector = 255;
	r->action = ACTION_POST;
	r->action_arg = 0;
	__u32 nsel = h->nselectors;
	bool post = true;
	if (nsel > 0) {
		int which = -1;
		for (int i = 0; i < MAX_SELECTORS; i++) {
			if (i >= nsel)
				break;
			if (!(active & (1 << i)))
				continue;
			struct return_selector *rs = &h->ret_selectors[i];
			bool ok = true;
			for (int f = 0; f < MAX_FILTERS; f++) {
				if (f >= rs->nargs)
					break;
				if (!match_return(slot, i, f)) {
					ok = false;
					break;
				}
			}
			if (ok) {
				which = i;
				break;
			}
		}
		if (which < 0 || which >= MAX_SELECTORS)
			return 0;
		struct return_selector *rs = &h->ret_selectors[which];
		r->selector = which;
		if (rs->signal) {
			bpf_send_signal(rs->signal);
			r->action = ACTION_SIGNAL;
			r->action_arg = rs->signal;
		}
		if (rs->kill) {
			bpf_send_signal(SIGKILL);
			r->action = ACTION_SIGKILL;
			r->action_arg = SIGKILL;
		}
		post = rs->post;
	}
	if (!post || r->enter.header.type != EVENT_HOOK)
		return 0;
	r->header = r->enter.header;
	r->header.type = EVENT_RETURN;
	__u64 size = __builtin_offsetof(struct return_event, enter.args) +
		     (__u64)h->nargs * sizeof(struct event_arg);
	if (size > sizeof(*r) || r->enter.stack_flags) /* stacks: the whole entry */
		size = sizeof(*r);
	if (bpf_ringbuf_output(&events, r, size, 0))
		count_lost();
	return 0;
}

/* kretprobe copies: the return value is in the context's ax. */
#define KRETPROBE(n)                                                      \
	SEC("kretprobe/slot" #n)                                          \
	int kretprobe_##n(struct pt_regs *ctx)                            \
	{                                                                 \
		handle_return(KIND_KPROBE * SLOTS_PER_KIND + n, ctx->ax); \
		return 0;                                                 \
	}

/* fexit copies: the return value through bpf_get_func_ret. */
#define FEXIT(n)                                                          \
	SEC("fexit/slot" #n)                                              \
	int fexit_##n(__u64 *ctx)                                         \
	{                                                                 \
		__u64 ret = 0;                                            \
		bpf_get_func_ret(ctx, &ret);                              \
		handle_return(KIND_FENTRY * SLOTS_PER_KIND + n, ret);     \
		return 0;                                                 \
	}

/* syscalls/sys_exit_<name> copies for hooks served by sys_enter_<name>:
 * the return value is the record's `ret` field. */
#define TRACEPOINT_EXIT(n)                                                \
	SEC("tracepoint/exit" #n)                                         \
	int tracepoint_exit_##n(void *ctx)                                \
	{                                                                 \
		__u32 slot = KIND_TRACEPOINT * SLOTS_PER_KIND + n;        \
		struct hook_config *h = bpf_map_lookup_elem(&hooks, &slot); \
		if (!h)                                                   \
			return 0;                                         \
		__s64 ret = 0;                                            \
		bpf_probe_read_kernel(&ret, sizeof(ret),                  \
				      (char *)ctx + h->ret.field_offset); \
		handle_return(slot, ret);                                 \
		return 0;                                                 \
	}

COPIES(KRETPROBE)
COPIES(FEXIT)
COPIES(TRACEPOINT_EXIT)

/* ---- many kprobes on one program (issues 15, 16) ------------------------
 * Where the kernel has kprobe_multi links, every kprobe hook without return
 * probe or bpf_override_return is served by one program, kprobe_multi, linked
 * to all their functions at once (runtime/src/kmulti.rs), so the kernel
 * verifies one program, not a copy per hook. Elsewhere it serves the kprobe
 * hooks past the SLOTS_PER_KIND copies, attached as a kprobe per function;
 * it finds the hooks on the probed function by its address
 * (bpf_get_func_ip) in `func_slots` and runs each, which the loader fills from
 * /proc/kallsyms, as Tetragon's kprobe_multi programs find their hook by the
 * attach cookie (bpf/process/bpf_generic_kprobe.c). An address 4 bytes past
 * a known one is the same function past its ENDBR instruction (x86 IBT),
 * for kernels whose bpf_get_func_ip does not step back over it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MULTI_SLOTS * 4);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);               /* a function's address */
	__type(value, struct func_hooks); /* the hooks on it */
} func_slots SEC(".maps");

SEC("kprobe/multi")
int kprobe_multi(struct pt_regs *ctx)
{
	__u64 ip = bpf_get_func_ip(ctx);
	struct func_hooks *found = bpf_map_lookup_elem(&func_slots, &ip);
	if (!found) {
		ip -= 4;
		found = bpf_map_lookup_elem(&func_slots, &ip);
	}
	if (!found)
		return 0;
	__u32 n = found->count;
	for (int i = 0; i < FUNC_HOOKS; i++) {
		if (i >= n)
			break;
		__u32 slot = found->slots[i];
		if (slot < MULTI_SLOT_BASE || slot >= MULTI_SLOT_BASE + MULTI_SLOTS)
			continue;
		struct scratch *s = begin_copy(ARGS_REGS_IF_SYSCALL);
		if (!s)
			continue;
		kprobe_args(s, ctx);
		/* as a kprobe copy (REGS_PROGRAM): `data` args read the
		 * probe's registers, an Override on a security_ function is
		 * left for its fmod_ret */
		s->regs_addr = (__u64)ctx;
		if (handle(slot))
			defer_override(slot, s->hook.action_arg);
		post_stacks(ctx, s);
	}
	return 0;
}

/* uretprobe copies (uprobes with `return: true`): the return value is the
 * user registers' ax, the `ret` of Tetragon's BPF_KRETPROBE
 * generic_retuprobe_event (bpf/process/bpf_generic_retuprobe.c). */
#define URETPROBE(n)                                                      \
	SEC("uretprobe/slot" #n)                                          \
	int uretprobe_##n(struct pt_regs *ctx)                            \
	{                                                                 \
		handle_return(KIND_UPROBE * SLOTS_PER_KIND + n, ctx->ax); \
		return 0;                                                 \
	}

COPIES(URETPROBE)

/* ---- raw tracepoints (`raw: true`) -------------------------------------- */

/* The context is the tracepoint's TP_PROTO arguments, one u64 each. They are
 * copied with one probe read, as TRAMPOLINE_ARGS does: a direct read past
 * the tracepoint's arity would make the attach fail (max_ctx_offset). */
#define RAW_TP(n)                                                         \
	SEC("raw_tp/slot" #n)                                             \
	int raw_tp_##n(__u64 *ctx)                                        \
	{                                                                 \
		__u32 slot = KIND_RAW_TRACEPOINT * SLOTS_PER_KIND + n;            \
		struct scratch *s = begin_copy(ARGS_READY);               \
		if (!s)                                                   \
			return 0;                                         \
		TRAMPOLINE_ARGS(s, ctx);                                  \
		handle(slot);                                             \
		post_stacks(ctx, s);                                      \
		return 0;                                                 \
	}

COPIES(RAW_TP)

/* ---- USDT probes -------------------------------------------------------- */

/* A register of the probed thread, by its offset in struct pt_regs. */
static __always_inline __u64 usdt_reg(struct pt_regs *ctx, __u16 off)
{
	__u64 v = 0;
	if (off > sizeof(struct pt_regs) - sizeof(__u64))
		return 0;
	bpf_probe_read_kernel(&v, sizeof(v), (void *)ctx + (off & 0xff8));
	return v;
}

/* One argument of a USDT site, as Tetragon's read_usdt_arg
 * (bpf/process/usdt_arg.h) reads it: a constant, a register, or memory at
 * a register (plus an index register scaled), cut to its size and
 * sign-extended when signed. */
static __always_inline __u64 usdt_arg_value(struct pt_regs *ctx, struct usdt_arg *a)
{
	__u64 val = 0, addr;
	switch (a->kind) {
	case USDT_CONST:
		val = a->val_off;
		break;
	case USDT_REG:
		val = usdt_reg(ctx, a->reg_off);
		break;
	case USDT_REG_DEREF:
		addr = usdt_reg(ctx, a->reg_off) + a->val_off;
		if (bpf_probe_read_user(&val, sizeof(val), (void *)addr))
			return 0;
		break;
	case USDT_SIB:
		addr = usdt_reg(ctx, a->reg_off) +
		       (usdt_reg(ctx, a->reg_idx_off) << (a->scale & 3)) + a->val_off;
		if (bpf_probe_read_user(&val, sizeof(val), (void *)addr))
			return 0;
		break;
	default:
		return 0;
	}
	__u8 shift = a->shift & 63;
	val <<= shift;
	if (a->sig)
		return (__u64)((__s64)val >> shift);
	return val >> shift;
}

/* Set (Tetragon's do_set_action, bpf/process/generic_calls.h): writes the
 * 4-byte value at the argument's address; planned only for a 4-byte
 * argument in memory at a register. */
static __always_inline void usdt_set(struct pt_regs *ctx, __u32 slot, __u32 sel)
{
	struct usdt_spec *u = bpf_map_lookup_elem(&usdt, &slot);
	if (!u || sel >= MAX_SELECTORS)
		return;
	__u32 which = u->set_arg[BOUNDED(sel, MAX_SELECTORS)];
	if (!which || which > MAX_ARGS)
		return;
	struct usdt_arg *a = &u->args[BOUNDED(which - 1, MAX_ARGS)];
	if (a->kind != USDT_REG_DEREF)
		return;
	__u32 value = u->set_value[BOUNDED(sel, MAX_SELECTORS)];
	__u64 addr = usdt_reg(ctx, a->reg_off) + a->val_off;
	bpf_probe_write_user((void *)addr, &value, sizeof(value));
}

/* usdt copies: uprobe slots whose arguments a stapsdt note places. */
static __always_inline struct scratch *usdt_begin(struct pt_regs *ctx, __u32 slot)
{
	bool syscall;
	struct scratch *s = begin(slot, &syscall);
	struct usdt_spec *u = bpf_map_lookup_elem(&usdt, &slot);
	if (!s || !u)
		return 0;
	for (int i = 0; i < MAX_ARGS; i++)
		s->raw[i] = usdt_arg_value(ctx, &u->args[i]);
	return s;
}

#define USDT(n)                                                           \
	SEC("uprobe/usdt" #n)                                             \
	int usdt_##n(struct pt_regs *ctx)                                 \
	{                                                                 \
		__u32 slot = KIND_UPROBE * SLOTS_PER_KIND + n;            \
		struct scratch *s = usdt_begin(ctx, slot);                \
		if (s) {                                                  \
			handle(slot);                                     \
			post_stacks(ctx, s);                              \
		}                                                         \
		return 0;                                                 \
	}

/* usdt copies that may write user memory (Set): loaded only for sites with
 * a Set action, as kernels that refuse bpf_probe_write_user (lockdown, no
 * CAP_SYS_ADMIN) refuse programs calling it. */
#define USDT_SET(n)                                                       \
	SEC("uprobe/usdt_set" #n)                                         \
	int usdt_set_##n(struct pt_regs *ctx)                             \
	{                                                                 \
		__u32 slot = KIND_UPROBE * SLOTS_PER_KIND + n;            \
		struct scratch *s = usdt_begin(ctx, slot);                \
		if (s && handle(slot))                                    \
			usdt_set(ctx, slot, s->hook.selector);            \
		if (s)                                                    \
			post_stacks(ctx, s);                              \
		return 0;                                                 \
	}

COPIES(USDT)
COPIES(USDT_SET)
