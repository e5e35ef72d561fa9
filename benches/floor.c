/* An empty BPF program (r0 = 0; exit) on a kernel function, attached as a
 * kprobe or an fentry: the floor under any program on that hook. */
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

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "kprobe";
	const char *fn = argc > 2 ? argv[2] : "__x64_sys_openat";
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.insns = (uintptr_t)insns;
	a.insn_cnt = 2;
	a.license = (uintptr_t)"GPL";
	if (strcmp(how, "fentry") == 0) {
		int id = btf_func_id(fn);
		if (id < 0) {
			fprintf(stderr, "no BTF for %s\n", fn);
			return 1;
		}
		a.prog_type = BPF_PROG_TYPE_TRACING;
		a.expected_attach_type = BPF_TRACE_FENTRY;
		a.attach_btf_id = id;
	} else {
		a.prog_type = BPF_PROG_TYPE_KPROBE;
	}
	int prog = bpf(BPF_PROG_LOAD, &a);
	if (prog < 0) {
		perror("BPF_PROG_LOAD");
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
		FILE *f = fopen("/sys/bus/event_source/devices/kprobe/type", "r");
		int type = -1;
		if (!f || fscanf(f, "%d", &type) != 1) {
			fprintf(stderr, "no kprobe PMU\n");
			return 1;
		}
		fclose(f);
		struct perf_event_attr pa;
		memset(&pa, 0, sizeof(pa));
		pa.size = sizeof(pa);
		pa.type = type;
		pa.config1 = (uintptr_t)fn;
		int pfd = syscall(SYS_perf_event_open, &pa, -1, 0, -1, 0);
		if (pfd < 0 || ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog) < 0 ||
		    ioctl(pfd, PERF_EVENT_IOC_ENABLE, 0) < 0) {
			perror("kprobe attach");
			return 1;
		}
	}
	printf("attached\n");
	fflush(stdout);
	pause();
	return 0;
}
