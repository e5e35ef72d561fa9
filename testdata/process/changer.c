/* A program that changes its own namespaces and capabilities between opens:
 * argv[1] before any change, argv[2] after moving to a new uts namespace,
 * argv[3] with no further change, argv[4] after dropping CAP_SYS_ADMIN from
 * its effective set, argv[5] with no further change. With a sixth argument it
 * first waits for a byte on stdin. Used by tests/run_host.rs and
 * tests/run_features_vm.rs (matchNamespaceChanges, matchCapabilityChanges). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>

static void touch(const char *path) { close(open(path, O_RDONLY)); }

int main(int argc, char **argv) {
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    char go;
    if (argc != 6 && argc != 7)
        return 3;
    if (argc == 7 && read(0, &go, 1) != 1)
        return 5;
    touch(argv[1]);
    if (unshare(CLONE_NEWUTS))
        return 2;
    touch(argv[2]);
    touch(argv[3]);
    if (syscall(SYS_capget, &h, d))
        return 1;
    d[0].effective &= ~(1u << CAP_SYS_ADMIN);
    if (syscall(SYS_capset, &h, d))
        return 1;
    touch(argv[4]);
    touch(argv[5]);
    return 0;
}
