/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The few kernel types the programs read, declared with only the members
 * they use. preserve_access_index makes every access a CO-RE relocation,
 * resolved by the loader against the running kernel's BTF, so the object
 * does not depend on one kernel's layout (and no generated vmlinux.h is
 * needed to rebuild it byte for byte).
 */
#ifndef POLICYCTL_KERNEL_H
#define POLICYCTL_KERNEL_H

typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
#define true 1
#define false 0

enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_LPM_TRIE = 11,
	BPF_MAP_TYPE_RINGBUF = 27,
};

#define BPF_F_NO_PREALLOC (1U << 0)
#define BPF_ANY 0

/* x86_64's pt_regs is ABI: a plain struct, so a kprobe reads its context at
 * constant offsets as the verifier requires. */
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)

struct qstr {
	__u32 hash;
	__u32 len;
	const unsigned char *name;
};

struct inode {
	unsigned short i_mode;
};

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
	struct inode *d_inode;
};

struct vfsmount {
	struct dentry *mnt_root;
};

struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
};

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};

struct file {
	struct path f_path;
};

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
};

struct files_struct {
	struct fdtable *fdt;
};

struct filename {
	const char *name;
};

struct linux_binprm {
	struct file *file;
	const char *filename;
};

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
	struct file *exe_file;
	struct user_namespace *user_ns;
};

typedef struct {
	__u32 val;
} kuid_t;

typedef struct {
	__u32 val;
} kgid_t;

/* 8 bytes on every kernel (u32 cap[2] before 6.3, u64 val since): read raw */
typedef struct {
	__u64 val;
} kernel_cap_t;

struct ns_common {
	unsigned int inum;
};

struct user_namespace {
	int level;
	kuid_t owner;
	kgid_t group;
	struct ns_common ns;
};

struct cred {
	kuid_t uid;
	kuid_t euid;
	/* read by ARG_CRED (issue 15) */
	kgid_t gid;
	kuid_t suid;
	kgid_t sgid;
	kgid_t egid;
	kuid_t fsuid;
	kgid_t fsgid;
	unsigned int securebits;
	kernel_cap_t cap_inheritable;
	kernel_cap_t cap_permitted;
	kernel_cap_t cap_effective;
	struct user_namespace *user_ns;
};

struct pid_namespace {
	struct ns_common ns;
};
struct upid {
	int nr;
	struct pid_namespace *ns;
};

struct pid {
	unsigned int level;
	struct upid numbers[1];
};

struct uts_namespace {
	struct ns_common ns;
};
struct ipc_namespace {
	struct ns_common ns;
};
struct mnt_namespace {
	struct ns_common ns;
};
struct net {
	struct ns_common ns;
};
struct time_namespace {
	struct ns_common ns;
};
struct cgroup_namespace {
	struct ns_common ns;
};
struct nsproxy {
	struct uts_namespace *uts_ns;
	struct ipc_namespace *ipc_ns;
	struct mnt_namespace *mnt_ns;
	struct pid_namespace *pid_ns_for_children;
	struct net *net_ns;
	struct time_namespace *time_ns;
	struct time_namespace *time_ns_for_children;
	struct cgroup_namespace *cgroup_ns;
};
struct fs_struct {
	struct path pwd;
};

struct css_set;

struct task_struct {
	int pid;
	int tgid;
	int exit_code;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	__u64 start_boottime;
	struct mm_struct *mm;
	struct files_struct *files;
	struct fs_struct *fs;
	const struct cred *real_cred;
	const struct cred *cred;
	struct pid *thread_pid;
	kuid_t loginuid; /* CONFIG_AUDITSYSCALL only: read if bpf_core_field_exists */
	struct css_set *cgroups;
	struct nsproxy *nsproxy;
};

struct kernfs_node {
	const char *name;
};

struct cgroup {
	struct kernfs_node *kn;
};

struct css_set {
	struct cgroup *dfl_cgrp; /* the task's cgroup in the unified (v2) hierarchy */
};

struct in6_addr {
	union {
		__u8 u6_addr8[16];
	} in6_u;
};

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	volatile unsigned char skc_state;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
};

struct sock;

struct socket {
	struct sock *sk;
};

struct sock {
	struct sock_common __sk_common;
	__u16 sk_type;
	__u16 sk_protocol;
};

/* arg types (issue 15): cred, sk_buff, sockaddr */

struct sk_buff {
	__u32 len;
	__u32 priority;
	__u32 mark;
	__u32 hash;
	__u16 transport_header;
	__u16 network_header;
	unsigned char *head;
};

struct net_device {
	char name[16];
};

struct bpf_prog_aux {
	char name[16];
};

enum bpf_prog_type {
	BPF_PROG_TYPE_UNSPEC___policyctl = 0,
};

struct bpf_prog {
	__u32 len;
	enum bpf_prog_type type;
	struct bpf_prog_aux *aux;
};

#pragma clang attribute pop

/* socket addresses are UAPI: plain layouts, read at constant offsets (issue 15) */
struct sockaddr {
	unsigned short sa_family;
};

struct in_addr {
	__be32 s_addr;
};

struct sockaddr_in {
	unsigned short sin_family;
	__be16 sin_port;
	struct in_addr sin_addr;
};

struct sockaddr_in6 {
	unsigned short sin6_family;
	__be16 sin6_port;
	__be32 sin6_flowinfo;
	struct in6_addr sin6_addr;
};

struct sockaddr_un {
	unsigned short sun_family;
	char sun_path[108];
};

/* raw_tp context, read as a plain struct: a CO-RE access to the flexible
 * args[] of bpf_raw_tracepoint_args fails the whole object under aya. */
struct raw_syscall_args {
	struct pt_regs *regs;
	long id;
};

/* ---- kernel objects read by arg types (issue 15) ----------------------
 * Members the kernel keeps in anonymous unions or structs (perf_event_attr's
 * kprobe_func, iov_iter's kvec) are declared here at the top level: CO-RE
 * finds a member by name through the target's anonymous members. */
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)

struct perf_event_attr {
	__u32 type;
	__u64 config;
	__u64 kprobe_func;
	__u64 probe_offset;
};

struct perf_event {
	struct perf_event_attr attr;
};

struct bpf_map {
	enum bpf_map_type map_type;
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	char name[16];
};

struct module {
	char name[56];
	unsigned long taints;
};

struct load_info {
	const char *name;
	struct module *mod;
	bool sig_ok;
};

struct kiocb {
	struct file *ki_filp;
};

struct kvec {
	void *iov_base;
	unsigned long iov_len;
};

/* values differ between kernels (ITER_UBUF came first in 6.4): read by CO-RE */
enum iter_type {
	ITER_IOVEC = 0,
	ITER_UBUF = 6,
};

struct iov_iter {
	__u8 iter_type;
	unsigned long count;
	const struct kvec *kvec;
	void *ubuf;
};

#pragma clang attribute pop

#endif
