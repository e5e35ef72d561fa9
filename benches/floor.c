/* An empty BPF program (r0 = 0; exit) on a kernel function, attached as a
 * kprobe or an fentry, or on a tracepoint (`tracepoint SUBSYSTEM/EVENT`):
 * the floor under any program on that hook. With `kprobe-str` or
 * `fentry-str` on a syscall stub, or `tracepoint-str` on a syscall's
 * sys_enter tracepoint, the least a string filter on the syscall's second
 * argument does: read the pointer from the user registers (the tracepoint's
 * record), read the string (64 bytes at most, as bpftrace's str()), and
 * compare its length and first 8 bytes with "/nonexistent/never-opened". */
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int bpf(int cmd, union bpf_attr *a)
{
	return syscall(SYS_bpf, cmd, a, sizeof(*a));
}

/* The id of function `name` in the kernel's BTF, or -1. */
static int btf_func_id(const char *name)
{
	FILE *f = fopen("/sys/kernel/btf/vmlinux", "rb");
	if (!f)
		return -1;
	static unsigned char buf[64 << 20];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	uint32_t hdr_len = *(uint32_t *)(buf + 4);
	uint32_t type_off = *(uint32_t *)(buf + 8), type_len = *(uint32_t *)(buf + 12);
	uint32_t str_off = *(uint32_t *)(buf + 16);
	unsigned char *t = buf + hdr_len + type_off, *end = t + type_len;
	const char *strs = (const char *)buf + hdr_len + str_off;
	int id = 1;
	if (hdr_len + type_off + type_len > n)
		return -1;
	while (t < end) {
		uint32_t name_off = *(uint32_t *)t, info = *(uint32_t *)(t + 4);
		uint32_t kind = (info >> 24) & 0x1f, vlen = info & 0xffff;
		if (kind == 12 && strcmp(strs + name_off, name) == 0)
			return id;
		t += 12;
		switch (kind) {
		case 1: case 14: case 17: t += 4; break;          /* int, var, decl_tag */
		case 3: t += 12; break;                           /* array */
		case 4: case 5: t += 12 * vlen; break;            /* struct, union */
		case 6: t += 8 * vlen; break;                     /* enum */
		case 13: t += 8 * vlen; break;                    /* func_proto */
		case 15: t += 12 * vlen; break;                   /* datasec */
		case 19: t += 12 * vlen; break;                   /* enum64 */
		default: break;
		}
		id++;
	}
	return -1;
}

/* The integer file `path` holds, or -1. */
static int read_int(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -1;
	if (f && fscanf(f, "%d", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "kprobe";
	const char *fn = argc > 2 ? argv[2] : "__x64_sys_openat";
	int str = strstr(mode, "-str") != NULL;
	const char *how = strncmp(mode, "fentry", 6) == 0       ? "fentry"
			  : strncmp(mode, "tracepoint", 10) == 0 ? "tracepoint"
								 : "kprobe";
	struct bpf_insn empty[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	/* "/nonexis": the value's first 8 bytes, little-endian */
	uint64_t head;
	memcpy(&head, "/nonexistent/never-opened", 8);
	struct bpf_insn filter[] = {
		/* r3 = the user registers: the stub's first argument */
		[0] = { .code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = 3, .src_reg = 1,
			.off = 112 /* kprobe: pt_regs.di; fentry: ctx[0], patched */ },
		/* kprobe: probe read regs->si into fp-8; fentry: a direct load */
		[1] = { .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = 3, .imm = 104 },
		[2] = { .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = 1, .src_reg = 10 },
		[3] = { .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = 1, .imm = -8 },
		[4] = { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 2, .imm = 8 },
		[5] = { .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_probe_read_kernel },
		[6] = { .code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = 3, .src_reg = 10, .off = -8 },
		/* the string into fp-72..fp-9 */
		[7] = { .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = 1, .src_reg = 10 },
		[8] = { .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = 1, .imm = -72 },
		[9] = { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 2, .imm = 64 },
		[10] = { .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_probe_read_user_str },
		/* its length (with the NUL) is the value's, 26 */
		[11] = { .code = BPF_JMP | BPF_JNE | BPF_K, .dst_reg = 0, .off = 5, .imm = 26 },
		[12] = { .code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = 1, .src_reg = 10, .off = -72 },
		[13] = { .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = 2, .imm = (int32_t)head },
		[14] = { .imm = (int32_t)(head >> 32) },
		[15] = { .code = BPF_JMP | BPF_JNE | BPF_X, .dst_reg = 1, .src_reg = 2, .off = 1 },
		[16] = { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 1 },
		[17] = { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		[18] = { .code = BPF_JMP | BPF_EXIT },
	};
	struct bpf_insn fentry_head[] = {
		/* r3 = ctx[0], the stub's struct pt_regs * (a BTF pointer) */
		{ .code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = 3, .src_reg = 1, .off = 0 },
		/* r3 = regs->si, a direct load; then to fp-8 as the kprobe's read */
		{ .code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = 3, .src_reg = 3, .off = 104 },
		{ .code = BPF_STX | BPF_MEM | BPF_DW, .dst_reg = 10, .src_reg = 3, .off = -8 },
		/* in place of the kprobe's probe read (the verifier refuses code
		 * that cannot be reached, so no jump over it) */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 4, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 4, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 4, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 4, .imm = 0 },
	};
	if (str && strcmp(how, "fentry") == 0)
		memcpy(filter, fentry_head, sizeof(fentry_head));
	if (str && strcmp(how, "tracepoint") == 0) {
		/* r3 = the record's args[1] (struct syscall_trace_enter: the
		 * common fields, nr, then args[6] from offset 16), a direct
		 * context load; then to fp-8 as the fentry's */
		memcpy(filter, fentry_head, sizeof(fentry_head));
		filter[0] = (struct bpf_insn){ .code = BPF_LDX | BPF_MEM | BPF_DW,
					       .dst_reg = 3, .src_reg = 1, .off = 24 };
		filter[1] = (struct bpf_insn){ .code = BPF_ALU64 | BPF_MOV | BPF_K,
					       .dst_reg = 4, .imm = 0 };
	}
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.insns = str ? (uintptr_t)filter : (uintptr_t)empty;
	a.insn_cnt = str ? sizeof(filter) / sizeof(filter[0]) : 2;
	a.license = (uintptr_t)"GPL";
	static char log[65536];
	a.log_buf = (uintptr_t)log;
	a.log_size = sizeof(log);
	a.log_level = 1;
	if (strcmp(how, "fentry") == 0) {
		int id = btf_func_id(fn);
		if (id < 0) {
			fprintf(stderr, "no BTF for %s\n", fn);
			return 1;
		}
		a.prog_type = BPF_PROG_TYPE_TRACING;
		a.expected_attach_type = BPF_TRACE_FENTRY;
		a.attach_btf_id = id;
	} else if (strcmp(how, "tracepoint") == 0) {
		a.prog_type = BPF_PROG_TYPE_TRACEPOINT;
	} else {
		a.prog_type = BPF_PROG_TYPE_KPROBE;
	}
	int prog = bpf(BPF_PROG_LOAD, &a);
	if (prog < 0) {
		perror("BPF_PROG_LOAD");
		fprintf(stderr, "%s\n", log);
		return 1;
	}
	if (strcmp(how, "fentry") == 0) {
		memset(&a, 0, sizeof(a));
		a.raw_tracepoint.prog_fd = prog;
		if (bpf(BPF_RAW_TRACEPOINT_OPEN, &a) < 0) {
			perror("BPF_RAW_TRACEPOINT_OPEN");
			return 1;
		}
	} else {
		struct perf_event_attr pa;
		memset(&pa, 0, sizeof(pa));
		pa.size = sizeof(pa);
		if (strcmp(how, "tracepoint") == 0) {
			char path[256];
			snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s/id", fn);
			int id = read_int(path);
			if (id < 0) {
				fprintf(stderr, "no tracepoint %s\n", path);
				return 1;
			}
			pa.type = PERF_TYPE_TRACEPOINT;
			pa.config = id;
			pa.sample_period = 1;
			pa.wakeup_events = 1;
		} else {
			int type = read_int("/sys/bus/event_source/devices/kprobe/type");
			if (type < 0) {
				fprintf(stderr, "no kprobe PMU\n");
				return 1;
			}
			pa.type = type;
			pa.config1 = (uintptr_t)fn;
		}
		int pfd = syscall(SYS_perf_event_open, &pa, -1, 0, -1, 0);
		if (pfd < 0 || ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog) < 0 ||
		    ioctl(pfd, PERF_EVENT_IOC_ENABLE, 0) < 0) {
			perror(how);
			return 1;
		}
	}
	printf("attached\n");
	fflush(stdout);
	pause();
	return 0;
}
