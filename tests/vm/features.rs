//! Issue 15, "every policy that check accepts, runs": the runtime features that
//! `tests/run_host.rs` and `tests/run_arg_types_host.rs` show on the host (where syscall hooks are
//! served by tracepoints) shown again in a VM (Debian 6.12 and 6.1 under qemu, see
//! `tests/support/vm.rs`), where `syscall: true` hooks and kernel functions attach as kprobes.
//! One boot per kernel, one `policyctl run` of 10 policies (a hook each: under emulation the
//! kernel verifies a program copy per hook in seconds, so features share hooks as selectors
//! told apart by their binaries and directories), then a scenario per feature:
//!
//! - matchCapabilityChanges and matchNamespaceChanges on `sys_openat` (a program that leaves
//!   its uts namespace, then drops CAP_SYS_ADMIN, opening a file before and after each);
//! - matchParentBinaries In / NotIn, matchBinaries with and without `followChildren`, and
//!   matchPIDs with and without `followForks`, on the kernel function `security_file_open`;
//! - matchPIDs `isNamespacePID` (pid 1 of a new pid namespace) on `sys_openat`;
//! - SubString and SubStringIgnCase on `sys_openat` (a twin selector with Equal in each policy
//!   shows the hook saw the opens);
//! - Post's `rateLimitScope` thread, process and global, and Post with `kernelStackTrace` and
//!   `userStackTrace`, on `sys_openat`;
//! - GetUrl and DnsLookup (`--allow-network-actions`, `--dns-server`) at a local HTTP and UDP
//!   server on the guest's loopback;
//! - `char_iovec` on `sys_writev` and `char_buf` with `sizeArgIndex` on `sys_write` (Tetragon's
//!   write.yaml);
//! - InMap and NotInMap on an int arg of `sys_lseek`, and with `list:` values on the `syscall64`
//!   arg of `raw_syscalls/sys_enter` (Tetragon's list-syscalls-tracepoint example);
//! - a `data_loc` field of `sched/sched_process_exec` with Prefix and NotEqual.
//!
//! Each policy matches only programs this test put in the VM (under /opt/f/) or the pids and
//! files under /tmp/f/ it made, and only posts (GetUrl and DnsLookup go to the test's own
//! server). Every event is decoded as Tetragon's `GetEventsResponse` too
//! (`support/tetragon_api.rs`). Skipped without qemu or the kernel packages; fails when `CI` is
//! set.

use crate::skip;
use crate::tetragon_api;
use crate::vm;

use serde_json::{json, Value};

/// Opens argv[1], leaves its uts namespace, opens argv[2] and argv[3], drops CAP_SYS_ADMIN from
/// its effective set, opens argv[4] and argv[5] (the host tests' program).
const CHANGER: &str = include_str!("../../testdata/process/changer.c");

/// Moves its children to a new pid namespace, forks: the child (pid 1 there) opens argv[1],
/// then the parent opens argv[2]; prints the child's pid as the parent sees it.
const NSPID: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc != 3) return 2;
    if (unshare(CLONE_NEWPID)) return 3;
    pid_t c = fork();
    if (c < 0) return 4;
    if (c == 0) {
        close(open(argv[1], O_RDONLY));
        printf("in the namespace: pid %d\n", getpid());
        return 0;
    }
    int st;
    waitpid(c, &st, 0);
    close(open(argv[2], O_RDONLY));
    printf("child=%d parent=%d\n", c, getpid());
    return 0;
}
"#;

/// Writes its pid to argv[1], waits for the file argv[2], forks a child that opens argv[4],
/// then opens argv[3] itself; prints both pids.
const WAITER: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc != 5) return 2;
    FILE *f = fopen(argv[1], "w");
    if (!f) return 3;
    fprintf(f, "%d\n", getpid());
    fclose(f);
    while (access(argv[2], F_OK) != 0) usleep(20000);
    pid_t c = fork();
    if (c == 0) {
        close(open(argv[4], O_RDONLY));
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    close(open(argv[3], O_RDONLY));
    printf("waiter=%d child=%d\n", getpid(), c);
    return 0;
}
"#;

/// Opens argv[1] in its main thread, then in a second thread (tests/run_host.rs's rate limit
/// scope program).
const THREADS: &str = r#"
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static const char *path;
static void *opener(void *arg) {
    (void)arg;
    int fd = open(path, O_RDONLY);
    if (fd >= 0) close(fd);
    return 0;
}
int main(int argc, char **argv) {
    pthread_t t;
    if (argc != 2) return 2;
    path = argv[1];
    opener(0);
    if (pthread_create(&t, 0, opener, 0) || pthread_join(t, 0)) return 1;
    printf("threads ok\n");
    return 0;
}
"#;

/// An HTTP listener on 127.0.0.1:8080 and a UDP socket on 127.0.0.1:5353: writes the first
/// request's head to /tmp/f/http.req (answering 204) and the first datagram's DNS question to
/// /tmp/f/dns.req (echoed back as a response without answers), then exits.
const NETSERVE: &str = r#"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
    alarm(120);
    int one = 1;
    int t = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(8080) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(t, (struct sockaddr *)&a, sizeof a) || listen(t, 4)) return 2;
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    a.sin_port = htons(5353);
    if (bind(u, (struct sockaddr *)&a, sizeof a)) return 3;
    FILE *ready = fopen("/tmp/f/net.ready", "w");
    fclose(ready);
    int http = 0, dns = 0;
    while (!http || !dns) {
        struct pollfd p[2] = { { t, POLLIN, 0 }, { u, POLLIN, 0 } };
        if (poll(p, 2, -1) < 0) return 4;
        if (!http && (p[0].revents & POLLIN)) {
            int c = accept(t, 0, 0);
            char buf[2048];
            size_t n = 0;
            buf[0] = 0;
            while (n < sizeof buf - 1) {
                ssize_t r = read(c, buf + n, sizeof buf - 1 - n);
                if (r <= 0) break;
                n += r;
                buf[n] = 0;
                if (strstr(buf, "\r\n\r\n")) break;
            }
            const char *resp = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            write(c, resp, strlen(resp));
            close(c);
            FILE *f = fopen("/tmp/f/http.req", "w");
            fwrite(buf, 1, n, f);
            fclose(f);
            http = 1;
        }
        if (!dns && (p[1].revents & POLLIN)) {
            unsigned char q[512];
            struct sockaddr_in from;
            socklen_t fl = sizeof from;
            ssize_t n = recvfrom(u, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
            if (n < 12) continue;
            unsigned char r[512];
            memcpy(r, q, n);
            r[2] |= 0x80;
            sendto(u, r, n, 0, (struct sockaddr *)&from, fl);
            FILE *f = fopen("/tmp/f/dns.req", "w");
            fprintf(f, "qdcount=%d name=", q[4] << 8 | q[5]);
            ssize_t i = 12;
            while (i < n && q[i]) {
                int l = q[i];
                fprintf(f, "%s%.*s", i == 12 ? "" : ".", l, (const char *)q + i + 1);
                i += 1 + l;
            }
            if (i + 4 < n)
                fprintf(f, " type=%d class=%d", q[i + 1] << 8 | q[i + 2], q[i + 3] << 8 | q[i + 4]);
            fprintf(f, "\n");
            fclose(f);
            dns = 1;
        }
    }
    return 0;
}
"#;

/// Opens argv[1] through libc's open and argv[2] with the syscall instruction in its own
/// open_direct (tests/run_stack_host.rs's program; its functions at -O0, so with frame
/// pointers: the test's `gcc -O2` leaves them out), then sleeps so that its maps are there
/// when the user stacks are symbolized.
const STACKY: &str = r#"
#include <fcntl.h>
#include <unistd.h>
#define FP __attribute__((noinline, optimize("O0")))
FP int open_libc(const char *path) {
    int fd = open(path, O_RDONLY);
    asm volatile("" ::: "memory");
    return fd;
}
FP long open_direct(const char *path) {
    long fd;
    asm volatile("syscall"
                 : "=a"(fd)
                 : "a"(257L), "D"(-100L), "S"(path), "d"(0L)
                 : "rcx", "r11", "memory");
    return fd;
}
FP int main(int argc, char **argv) {
    if (argc != 3) return 2;
    int a = open_libc(argv[1]);
    long b = open_direct(argv[2]);
    usleep(1500000);
    return a >= 0 && b >= 0 ? 0 : 1;
}
"#;

/// On /dev/null (fd 3): writev of "hello " and "iovec", then write of 9 of the 14 bytes of
/// "hello buf!!!!!".
const WRITER: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <sys/uio.h>
#include <unistd.h>
int main(void) {
    char a[] = "hello ", b[] = "iovec";
    struct iovec v[2] = { { a, 6 }, { b, 5 } };
    int fd = open("/dev/null", O_WRONLY);
    ssize_t n = writev(fd, v, 2);
    ssize_t m = write(fd, "hello buf!!!!!", 9);
    close(fd);
    printf("fd=%d writev=%zd write=%zd\n", fd, n, m);
    return 0;
}
"#;

/// Opens argv[1] and seeks in it with SEEK_SET, SEEK_CUR, SEEK_END and SEEK_DATA.
const SEEKER: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc != 2) return 2;
    int fd = open(argv[1], O_RDONLY);
    long s = lseek(fd, 1, SEEK_SET);
    long c = lseek(fd, 0, SEEK_CUR);
    long e = lseek(fd, 0, SEEK_END);
    long d = lseek(fd, 0, SEEK_DATA);
    printf("fd=%d set=%ld cur=%ld end=%ld data=%ld\n", fd, s, c, e, d);
    return 0;
}
"#;

/// A TracingPolicy document named `name` with these `spec` lines (indented by two).
fn policy(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: \"{name}\"\nspec:\n{spec}"
    )
}

/// `matchBinaries` In `values` as selector keys (first key of a selector: `- ` prefixed).
fn binaries(values: &[&str], follow_children: bool) -> String {
    let mut out = String::from("    - matchBinaries:\n      - operator: \"In\"\n");
    if follow_children {
        out.push_str("        followChildren: true\n");
    }
    out.push_str("        values:\n");
    for v in values {
        out.push_str(&format!("        - \"{v}\"\n"));
    }
    out
}

/// `matchArgs` with one entry, as selector keys.
fn match_arg(index: u32, operator: &str, values: &[&str]) -> String {
    let mut out = format!(
        "      matchArgs:\n      - index: {index}\n        operator: \"{operator}\"\n        values:\n"
    );
    for v in values {
        out.push_str(&format!("        - \"{v}\"\n"));
    }
    out
}

/// A selector: `bins` (In, with `followChildren` when `follow`), or `pids` keys in their place
/// when `bins` is empty; `arg` on `index` opening under `dir` (Prefix), then `more` keys and
/// `actions` (matchActions entries).
fn selector(
    bins: &[&str],
    follow: bool,
    pids: &str,
    index: u32,
    dir: &str,
    more: &str,
    actions: &str,
) -> String {
    let first = if bins.is_empty() {
        pids.replacen("      matchPIDs", "    - matchPIDs", 1)
    } else {
        binaries(bins, follow)
    };
    let actions = if actions.is_empty() {
        String::new()
    } else {
        format!("      matchActions:\n{actions}")
    };
    format!(
        "{first}{pids}{}{more}{actions}",
        match_arg(index, "Prefix", &[&format!("{dir}/")]),
        pids = if bins.is_empty() { "" } else { pids },
    )
}

/// `sys_openat` (`syscall: true`: `__x64_sys_openat`, a kprobe in the VM) with (dfd int,
/// filename string, flags int) and these selectors.
fn openat(name: &str, selectors: &[String]) -> String {
    policy(
        name,
        &format!(
            "  kprobes:\n  - call: \"sys_openat\"\n    syscall: true\n    args:\n    - index: 0\n      type: \"int\"\n    - index: 1\n      type: \"string\"\n    - index: 2\n      type: \"int\"\n    selectors:\n{}",
            selectors.concat()
        ),
    )
}

/// An opens selector for [`openat`]: `bins` opening under `dir`, `more` keys, `actions`.
fn opens(bins: &[&str], dir: &str, more: &str, actions: &str) -> String {
    selector(bins, false, "", 1, dir, more, actions)
}

/// Post with `rateLimit: "1m"` and this `rateLimitScope`, for a `threads` and a `cat` of its own.
fn rate(scope: &str) -> String {
    opens(
        &[
            &format!("/opt/f/rate/{scope}/threads"),
            &format!("/opt/f/rate/{scope}/cat"),
        ],
        "/tmp/f/rate",
        "",
        &format!("      - action: Post\n        rateLimit: \"1m\"\n        rateLimitScope: \"{scope}\"\n"),
    )
}

/// The policies that need no guest value; [`lineage`] writes the other two.
fn policies() -> String {
    let changer = ["/opt/f/changer"];
    let equal = |bin: &str, operator: &str, value: &str| {
        format!(
            "{}{}",
            binaries(&[bin], false),
            match_arg(1, operator, &[value])
        )
    };
    let docs = [
        // the process filters and the network actions: one selector each, told apart by the
        // directory opened under
        openat(
            "open-filters-and-network",
            &[
                opens(
                    &changer,
                    "/tmp/f/chg",
                    "      matchCapabilityChanges:\n      - type: Effective\n        operator: In\n        values:\n        - \"CAP_SYS_ADMIN\"\n",
                    "",
                ),
                opens(
                    &changer,
                    "/tmp/f/chg",
                    "      matchNamespaceChanges:\n      - operator: In\n        values:\n        - \"Uts\"\n",
                    "",
                ),
                opens(
                    &["/opt/f/nspid"],
                    "/tmp/f/nsp",
                    "      matchPIDs:\n      - operator: In\n        followForks: false\n        isNamespacePID: true\n        values:\n        - 1\n",
                    "",
                ),
                opens(
                    &["/opt/f/net/cat"],
                    "/tmp/f/url",
                    "",
                    "      - action: GetUrl\n        argUrl: \"http://127.0.0.1:8080/canary?file=secret\"\n",
                ),
                opens(
                    &["/opt/f/net/cat"],
                    "/tmp/f/dns",
                    "",
                    "      - action: DnsLookup\n        argFqdn: \"canary.policyctl.test\"\n",
                ),
            ],
        ),
        // rateLimitScope, a selector per scope, each for its own binaries; and the stacks
        openat(
            "open-rate-and-stacks",
            &[
                rate("thread"),
                rate("process"),
                rate("global"),
                opens(
                    &["/opt/f/stacky"],
                    "/tmp/f/stk",
                    "",
                    "      - action: Post\n        kernelStackTrace: true\n        userStackTrace: true\n",
                ),
            ],
        ),
        // SubString for one cat, SubStringIgnCase for another, each with an Equal twin
        openat(
            "open-substring",
            &[
                equal("/opt/f/sub/cat", "SubString", "needle"),
                equal("/opt/f/sub/cat", "Equal", "/tmp/f/sub/haystack"),
                equal("/opt/f/subi/cat", "SubStringIgnCase", "NeEdLe"),
                equal("/opt/f/subi/cat", "Equal", "/tmp/f/sub/haystack"),
            ],
        ),
        // Tetragon's sys-writev test policy and its write.yaml, for the test's writer on fd 3
        policy(
            "writev-iovec",
            &format!(
                "  kprobes:\n  - call: \"sys_writev\"\n    syscall: true\n    args:\n    - index: 0\n      type: \"int\"\n    - index: 1\n      type: \"char_iovec\"\n      sizeArgIndex: 3\n    - index: 2\n      type: \"nop\"\n    selectors:\n{}{}",
                binaries(&["/opt/f/writer"], false),
                match_arg(0, "Equal", &["3"]),
            ),
        ),
        policy(
            "write-sized",
            &format!(
                "  kprobes:\n  - call: \"sys_write\"\n    syscall: true\n    args:\n    - index: 0\n      type: \"int\"\n    - index: 1\n      type: \"char_buf\"\n      sizeArgIndex: 3\n    - index: 2\n      type: \"size_t\"\n    selectors:\n{}{}",
                binaries(&["/opt/f/writer"], false),
                match_arg(0, "Equal", &["3"]),
            ),
        ),
        // InMap and NotInMap on an int of a kprobe
        policy(
            "lseek-maps",
            &format!(
                "  kprobes:\n  - call: \"sys_lseek\"\n    syscall: true\n    args:\n    - index: 0\n      type: \"int\"\n    - index: 1\n      type: \"int\"\n    - index: 2\n      type: \"int\"\n    selectors:\n{}{}{}{}",
                binaries(&["/opt/f/seeker"], false),
                match_arg(2, "InMap", &["0", "2"]),
                binaries(&["/opt/f/seeker"], false),
                match_arg(2, "NotInMap", &["0", "1", "2"]),
            ),
        ),
        // InMap and NotInMap with list values on syscall64, each for its own head
        policy(
            "syscalls-maps",
            &format!(
                "  lists:\n  - name: \"rw\"\n    type: \"syscalls\"\n    values:\n    - \"sys_openat\"\n    - \"sys_read\"\n  tracepoints:\n  - subsystem: \"raw_syscalls\"\n    event: \"sys_enter\"\n    args:\n    - index: 4\n      type: \"syscall64\"\n    selectors:\n{}{}{}{}",
                binaries(&["/opt/f/inmap/head"], false),
                match_arg(0, "InMap", &["list:rw"]),
                binaries(&["/opt/f/notinmap/head"], false),
                match_arg(0, "NotInMap", &["list:rw"]),
            ),
        ),
        policy(
            "exec-data-loc",
            "  tracepoints:\n  - subsystem: \"sched\"\n    event: \"sched_process_exec\"\n    args:\n    - index: 4\n      type: \"data_loc\"\n    selectors:\n    - matchArgs:\n      - index: 4\n        operator: \"Prefix\"\n        values:\n        - \"/opt/f/exec/\"\n      - index: 4\n        operator: \"NotEqual\"\n        values:\n        - \"/opt/f/exec/false\"\n",
        ),
    ];
    docs.join("---\n")
}

/// The lineage filters on the kernel function `security_file_open`, `@PID@` standing for the
/// waiter's pid (known only in the guest): `lineage` has matchParentBinaries In, matchBinaries
/// with followChildren and matchPIDs with followForks; `lineage-not` matchParentBinaries NotIn,
/// matchBinaries and matchPIDs without them. A selector each, told apart by the directory.
fn lineage() -> String {
    let doc = |name: &str, parent_op: &str, follow: bool| {
        let parent = format!(
            "      matchParentBinaries:\n      - operator: \"{parent_op}\"\n        values:\n        - \"/opt/f/parent/sh\"\n"
        );
        let pids = format!(
            "      matchPIDs:\n      - operator: \"In\"\n        followForks: {follow}\n        isNamespacePID: false\n        values:\n        - @PID@\n"
        );
        policy(
            name,
            &format!(
                "  kprobes:\n  - call: \"security_file_open\"\n    syscall: false\n    args:\n    - index: 0\n      type: \"file\"\n    selectors:\n{}{}{}",
                selector(&["/opt/f/parent/cat"], false, "", 0, "/tmp/f/par", &parent, ""),
                selector(&["/opt/f/follow/sh"], follow, "", 0, "/tmp/f/fol", "", ""),
                selector(&[], false, &pids, 0, "/tmp/f/pid", "", ""),
            ),
        )
    };
    [
        doc("lineage", "In", true),
        doc("lineage-not", "NotIn", false),
    ]
    .join("---\n")
}

/// The policies, their hook and how it attaches, as `policyctl run` says.
const HOOKS: [(&str, &str, &str); 10] = [
    ("open-filters-and-network", "`__x64_sys_openat`", "kprobe"),
    ("open-rate-and-stacks", "`__x64_sys_openat`", "kprobe"),
    ("open-substring", "`__x64_sys_openat`", "kprobe"),
    ("writev-iovec", "`__x64_sys_writev`", "kprobe"),
    ("write-sized", "`__x64_sys_write`", "kprobe"),
    ("lseek-maps", "`__x64_sys_lseek`", "kprobe"),
    (
        "syscalls-maps",
        "tracepoint `raw_syscalls/sys_enter`",
        "tracepoint",
    ),
    (
        "exec-data-loc",
        "tracepoint `sched/sched_process_exec`",
        "tracepoint",
    ),
    ("lineage", "`security_file_open`", "kprobe"),
    ("lineage-not", "`security_file_open`", "kprobe"),
];

#[test]
fn runtime_features_in_a_vm_6_12() {
    features(vm::VmKernel::Debian6_12, "run_features");
}

#[test]
fn runtime_features_in_a_vm_6_1() {
    features(vm::VmKernel::Debian6_1, "run_features_6_1");
}

fn features(kernel: vm::VmKernel, name: &str) {
    let Some(vm) = vm::Vm::builder_on(name, kernel) else {
        return;
    };
    let mut vm = vm
        .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
        .bytes("/etc/policies/features.yaml", policies(), 0o644)
        .bytes("/etc/policies/lineage.in", lineage(), 0o644)
        .c_program("/opt/f/changer", CHANGER)
        .c_program("/opt/f/nspid", NSPID)
        .c_program("/opt/f/pids/waiter", WAITER)
        .c_program("/opt/f/rate/thread/threads", THREADS)
        .c_program("/opt/f/netserve", NETSERVE)
        .c_program("/opt/f/stacky", STACKY)
        .c_program("/opt/f/writer", WRITER)
        .c_program("/opt/f/seeker", SEEKER);
    let threads = vm.staged("/opt/f/rate/thread/threads");
    for scope in ["process", "global"] {
        vm = vm.file(&threads, &format!("/opt/f/rate/{scope}/threads"));
    }
    for applet in [
        "/opt/f/parent/sh",
        "/opt/f/parent/cat",
        "/opt/f/follow/sh",
        "/opt/f/follow/cat",
        "/opt/f/sub/cat",
        "/opt/f/subi/cat",
        "/opt/f/rate/thread/cat",
        "/opt/f/rate/process/cat",
        "/opt/f/rate/global/cat",
        "/opt/f/net/cat",
        "/opt/f/inmap/head",
        "/opt/f/notinmap/head",
        "/opt/f/exec/true",
        "/opt/f/exec/false",
    ] {
        vm = vm.busybox_applet(applet);
    }
    let run = vm
        .timeout(std::time::Duration::from_secs(600))
        .scenario_with_timeout(
            "start",
            &[
                vm::RUN_HELPERS,
                "set -e
             for d in chg par fol pid nsp sub rate url dns stk; do mkdir -p /tmp/f/$d; done
             for i in 1 2 3 4 5; do echo data > /tmp/f/chg/f$i; done
             for f in par/a par/b fol/a fol/b fol/c pid/self pid/child pid/other nsp/child \\
               nsp/parent sub/hay-needle-stack sub/hay-NEEDLE-stack sub/haystack rate/same \\
               url/a dns/b stk/libc stk/direct; do echo x > /tmp/f/$f; done
             echo 0123456789 > /tmp/f/seek; echo inmap > /tmp/f/inmap.txt
             /opt/f/pids/waiter /tmp/f/waiter.pid /tmp/f/go /tmp/f/pid/self /tmp/f/pid/child \\
               >/tmp/f/waiter.out 2>&1 &
             i=0; until [ -s /tmp/f/waiter.pid ]; do i=$((i + 1)); [ $i -lt 200 ]; sleep 0.05; done
             sed \"s/@PID@/$(cat /tmp/f/waiter.pid)/\" /etc/policies/lineage.in > /etc/policies/lineage.yaml
             set +e
             t0=$(cut -d' ' -f1 /proc/uptime)
             START_SECS=300
             start /etc/policies/features.yaml /etc/policies/lineage.yaml \\
               -o json --policy-events-only --node-name vm \\
               --allow-network-actions --dns-server 127.0.0.1:5353 || exit 1
             echo \"attached in $(cut -d' ' -f1 /proc/uptime) - $t0 s\"
             cat /tmp/run.err",
            ]
            .concat(),
            std::time::Duration::from_secs(360),
        )
        .scenario(
            "changes",
            "/opt/f/changer /tmp/f/chg/f1 /tmp/f/chg/f2 /tmp/f/chg/f3 /tmp/f/chg/f4 /tmp/f/chg/f5
             echo \"changer rc=$?\"",
        )
        .scenario(
            "parents",
            "/opt/f/parent/cat /tmp/f/par/a; echo \"cat rc=$?\"
             /opt/f/parent/sh -c '/opt/f/parent/cat /tmp/f/par/b; true'; echo \"sh rc=$?\"",
        )
        .scenario(
            "children",
            "/opt/f/follow/sh -c '/opt/f/follow/cat /tmp/f/fol/a; true'
             /opt/f/follow/sh -c 'sh -c \"/opt/f/follow/cat /tmp/f/fol/b; true\"; true'
             /opt/f/follow/cat /tmp/f/fol/c",
        )
        .scenario(
            "pids",
            "touch /tmp/f/go
             W=$(cat /tmp/f/waiter.pid)
             i=0; while kill -0 $W 2>/dev/null && [ $i -lt 200 ]; do i=$((i + 1)); sleep 0.05; done
             cat /tmp/f/waiter.out
             cat /tmp/f/pid/other >/dev/null; echo \"other rc=$?\"",
        )
        .scenario(
            "nspid",
            "/opt/f/nspid /tmp/f/nsp/child /tmp/f/nsp/parent; echo \"nspid rc=$?\"",
        )
        .scenario(
            "substring",
            "# the kfuncs the kernel's BTF names (one pass: 5 MB read under emulation)
             grep -ao 'bpf_strn[a-z]*str' /sys/kernel/btf/vmlinux | sort -u | sed 's/$/=yes/'
             for c in sub subi; do
               /opt/f/$c/cat /tmp/f/sub/hay-needle-stack /tmp/f/sub/hay-NEEDLE-stack /tmp/f/sub/haystack
               echo \"$c rc=$?\"
             done",
        )
        .scenario(
            "rate",
            "for s in thread process global; do
               /opt/f/rate/$s/threads /tmp/f/rate/same; /opt/f/rate/$s/cat /tmp/f/rate/same
             done",
        )
        .scenario(
            "network",
            "/opt/f/netserve >/tmp/f/netserve.out 2>&1 &
             N=$!
             i=0; until [ -e /tmp/f/net.ready ] || [ $i -ge 200 ]; do i=$((i + 1)); sleep 0.05; done
             /opt/f/net/cat /tmp/f/url/a /tmp/f/dns/b; echo \"cat rc=$?\"
             i=0; while kill -0 $N 2>/dev/null && [ $i -lt 300 ]; do i=$((i + 1)); sleep 0.05; done
             echo '== http'; tr -d '\\r' < /tmp/f/http.req
             echo '== dns'; cat /tmp/f/dns.req",
        )
        .scenario(
            "stacks",
            "/opt/f/stacky /tmp/f/stk/libc /tmp/f/stk/direct; echo \"stacky rc=$?\"",
        )
        .scenario("buffers", "/opt/f/writer; echo \"writer rc=$?\"")
        .scenario("lseek", "/opt/f/seeker /tmp/f/seek; echo \"seeker rc=$?\"")
        .scenario(
            "syscalls",
            "for h in inmap notinmap; do /opt/f/$h/head /tmp/f/inmap.txt; echo \"$h rc=$?\"; done",
        )
        .scenario(
            "exec",
            "/opt/f/exec/true; echo \"true rc=$?\"; /opt/f/exec/false; echo \"false rc=$?\"",
        )
        .scenario("stop", &format!("{}\nstop", vm::RUN_HELPERS))
        .run();
    eprintln!("{}", run.timings());

    let started = run.ok("start");
    eprintln!("{kernel:?}: {}", started.lines().next().unwrap_or(""));
    // a kprobe on a kernel with kprobe_multi links (6.12) says it is on the link
    let mut linked = 0;
    for (policy, hook, method) in HOOKS {
        let line = format!("policyctl run: {policy}: {hook} attached with {method}");
        let on_link = format!("{line} (one kprobe_multi link)");
        linked += started.lines().filter(|l| *l == on_link).count();
        assert!(
            started.lines().any(|l| l == line || l == on_link),
            "{line}:\n{started}"
        );
    }
    let kprobes = HOOKS
        .iter()
        .filter(|(_, _, m)| m.starts_with("kprobe"))
        .count();
    match kernel {
        vm::VmKernel::Debian6_1 => assert_eq!(linked, 0, "{started}"),
        _ => assert!(
            linked > 0 && linked <= kprobes,
            "{linked} of {kprobes}:\n{started}"
        ),
    }
    let out = run.ok("stop");
    // nothing lost: every event the scenarios caused is here
    assert!(out.contains(" 0 lost; everything detached"), "{out}");
    let events = vm::json_events(out);
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    let kprobes = |policy: &str| -> Vec<&Value> {
        events
            .iter()
            .map(|e| &e["process_kprobe"])
            .filter(|k| k["policy_name"] == policy)
            .collect()
    };
    let tracepoints = |policy: &str| -> Vec<&Value> {
        events
            .iter()
            .map(|e| &e["process_tracepoint"])
            .filter(|t| t["policy_name"] == policy)
            .collect()
    };
    let opened = |k: &Value| -> String {
        let a = &k["args"];
        a[1]["string_arg"]
            .as_str()
            .or(a[0]["file_arg"]["path"].as_str())
            .unwrap_or("")
            .to_string()
    };
    // a policy's events on files under `dir`
    let under = |policy: &str, dir: &str| -> Vec<&Value> {
        kprobes(policy)
            .into_iter()
            .filter(|k| opened(k).starts_with(dir))
            .collect()
    };
    let paths = |policy: &str, dir: &str| -> Vec<String> {
        under(policy, dir).into_iter().map(opened).collect()
    };
    let with_pids = |policy: &str, dir: &str| -> Vec<(String, u64)> {
        under(policy, dir)
            .into_iter()
            .map(|k| (opened(k), k["process"]["pid"].as_u64().unwrap_or(0)))
            .collect()
    };
    // every event is of a policy here, a kprobe's on the function its policy names; all post
    // but the network actions
    for e in &events {
        let (kind, k) = e
            .as_object()
            .and_then(|o| o.iter().next())
            .unwrap_or_else(|| panic!("{e}"));
        let policy = k["policy_name"].as_str().unwrap_or("");
        let (_, hook, _) = HOOKS
            .iter()
            .find(|(p, ..)| *p == policy)
            .unwrap_or_else(|| panic!("an event of no policy of the test: {e}"));
        if kind == "process_kprobe" {
            assert_eq!(
                format!("`{}`", k["function_name"].as_str().unwrap_or("")),
                *hook,
                "{k}"
            );
            let network = ["/tmp/f/url/", "/tmp/f/dns/"]
                .iter()
                .any(|d| opened(k).starts_with(d));
            if !network {
                assert_eq!(k["action"], "KPROBE_ACTION_POST", "{k}");
            }
        } else {
            assert_eq!(kind, "process_tracepoint", "{e}");
        }
    }
    let filters = "open-filters-and-network";

    // matchNamespaceChanges: the open after leaving the uts namespace, once (the change is
    // then the stored value); matchCapabilityChanges: the open after dropping CAP_SYS_ADMIN
    let changes = run.ok("changes");
    assert!(changes.contains("changer rc=0"), "{changes}");
    assert_eq!(
        paths(filters, "/tmp/f/chg/"),
        ["/tmp/f/chg/f2", "/tmp/f/chg/f4"],
        "{out}"
    );

    // matchParentBinaries: the copied cat under the copied sh (In) and under the scenario's
    // shell (NotIn), each once, with its parent in the event
    let parents = run.ok("parents");
    assert!(
        parents.contains("cat rc=0") && parents.contains("sh rc=0"),
        "{parents}"
    );
    let parent_in = under("lineage", "/tmp/f/par/");
    assert_eq!(
        parent_in.iter().map(|k| opened(k)).collect::<Vec<_>>(),
        ["/tmp/f/par/b"],
        "{out}"
    );
    assert_eq!(
        parent_in[0]["process"]["binary"], "/opt/f/parent/cat",
        "{out}"
    );
    assert_eq!(
        parent_in[0]["parent"]["binary"], "/opt/f/parent/sh",
        "{out}"
    );
    let parent_notin = under("lineage-not", "/tmp/f/par/");
    assert_eq!(
        parent_notin.iter().map(|k| opened(k)).collect::<Vec<_>>(),
        ["/tmp/f/par/a"],
        "{out}"
    );
    assert_eq!(
        parent_notin[0]["process"]["binary"], "/opt/f/parent/cat",
        "{out}"
    );
    assert_ne!(
        parent_notin[0]["parent"]["binary"], "/opt/f/parent/sh",
        "{out}"
    );

    // followChildren: the copied sh's child and grandchild (through another shell) match, the
    // same cat run from elsewhere does not; without followChildren none does (the sh itself
    // opens nothing there)
    run.ok("children");
    assert_eq!(
        paths("lineage", "/tmp/f/fol/"),
        ["/tmp/f/fol/a", "/tmp/f/fol/b"],
        "{out}"
    );
    for k in under("lineage", "/tmp/f/fol/") {
        assert_eq!(k["process"]["binary"], "/opt/f/follow/cat", "{k}");
    }
    assert_eq!(
        paths("lineage-not", "/tmp/f/fol/"),
        Vec::<String>::new(),
        "{out}"
    );

    // matchPIDs: the waiter (started before the run) and, with followForks, its forked child;
    // never the other process
    let pids = run.ok("pids");
    let number = |text: &str, key: &str| -> u64 {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{key}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key}= in:\n{text}"))
    };
    let (waiter, child) = (number(pids, "waiter"), number(pids, "child"));
    assert_eq!(
        with_pids("lineage", "/tmp/f/pid/"),
        [
            ("/tmp/f/pid/child".to_string(), child),
            ("/tmp/f/pid/self".to_string(), waiter)
        ],
        "{out}"
    );
    assert_eq!(
        with_pids("lineage-not", "/tmp/f/pid/"),
        [("/tmp/f/pid/self".to_string(), waiter)],
        "{out}"
    );

    // isNamespacePID: only the child, pid 1 of its pid namespace (the event shows its pid as
    // pid 1's namespace sees it)
    let nspid = run.ok("nspid");
    assert!(nspid.contains("in the namespace: pid 1\n"), "{nspid}");
    assert_eq!(
        with_pids(filters, "/tmp/f/nsp/"),
        [("/tmp/f/nsp/child".to_string(), number(nspid, "child"))],
        "{out}"
    );

    // SubString / SubStringIgnCase: Tetragon searches with the bpf_strnstr / bpf_strncasestr
    // kfunc and matches nothing where the kernel lacks it; the Equal twins show the hook saw
    // each cat's opens
    let sub = run.ok("substring");
    assert!(
        sub.contains("sub rc=0") && sub.contains("subi rc=0"),
        "{sub}"
    );
    let has = |kfunc: &str| sub.contains(&format!("{kfunc}=yes"));
    let of_cat = |bin: &str| -> Vec<String> {
        kprobes("open-substring")
            .into_iter()
            .filter(|k| k["process"]["binary"] == bin)
            .map(opened)
            .collect()
    };
    let mut want = Vec::new();
    if has("bpf_strnstr") {
        want.push("/tmp/f/sub/hay-needle-stack");
    }
    want.push("/tmp/f/sub/haystack");
    assert_eq!(of_cat("/opt/f/sub/cat"), want, "{sub}\n{out}");
    let mut want = Vec::new();
    if has("bpf_strncasestr") {
        want.extend(["/tmp/f/sub/hay-needle-stack", "/tmp/f/sub/hay-NEEDLE-stack"]);
    }
    want.push("/tmp/f/sub/haystack");
    assert_eq!(of_cat("/opt/f/subi/cat"), want, "{sub}\n{out}");

    // rateLimitScope: the same file opened by the two threads of one process, then by a cat;
    // thread: one per thread, process: one per process, global: the first open only
    let rate = run.ok("rate");
    assert_eq!(rate.matches("threads ok").count(), 3, "{rate}");
    let count = |scope: &str| -> (usize, usize) {
        let of = |bin: &str| {
            kprobes("open-rate-and-stacks")
                .iter()
                .filter(|k| k["process"]["binary"] == format!("/opt/f/rate/{scope}/{bin}"))
                .count()
        };
        (of("threads"), of("cat"))
    };
    assert_eq!(count("thread"), (2, 1), "{out}");
    assert_eq!(count("process"), (1, 1), "{out}");
    assert_eq!(count("global"), (1, 0), "{out}");
    let threads: Vec<&Value> = kprobes("open-rate-and-stacks")
        .into_iter()
        .filter(|k| k["process"]["binary"] == "/opt/f/rate/thread/threads")
        .collect();
    assert_eq!(
        threads[0]["process"]["pid"], threads[1]["process"]["pid"],
        "{out}"
    );
    assert_ne!(
        threads[0]["process"]["tid"], threads[1]["process"]["tid"],
        "{out}"
    );

    // GetUrl and DnsLookup: one event each, with its action; the server got the GET and the
    // A query
    let net = run.ok("network");
    assert!(net.contains("cat rc=0"), "{net}");
    let actions: Vec<(String, Value)> = ["/tmp/f/url/", "/tmp/f/dns/"]
        .iter()
        .flat_map(|d| under(filters, d))
        .map(|k| (opened(k), k["action"].clone()))
        .collect();
    assert_eq!(
        actions,
        [
            ("/tmp/f/url/a".to_string(), json!("KPROBE_ACTION_GETURL")),
            ("/tmp/f/dns/b".to_string(), json!("KPROBE_ACTION_DNSLOOKUP"))
        ],
        "{out}"
    );
    let http = net
        .split_once("== http\n")
        .and_then(|(_, r)| r.split_once("== dns\n"))
        .map(|(h, _)| h)
        .unwrap_or("");
    assert_eq!(
        http.lines().next(),
        Some("GET /canary?file=secret HTTP/1.1"),
        "{net}"
    );
    assert!(http.lines().any(|l| l == "Host: 127.0.0.1:8080"), "{net}");
    assert!(
        net.contains("== dns\nqdcount=1 name=canary.policyctl.test type=1 class=1\n"),
        "{net}"
    );

    // kernelStackTrace and userStackTrace on the kprobe: the kernel stack starts at the hooked
    // function and passes the syscall entry; the user stack names libc's open wrapper (linked
    // into the static program) or the program's own functions, innermost first
    let stacked = run.ok("stacks");
    assert!(stacked.contains("stacky rc=0"), "{stacked}");
    let stacks = under("open-rate-and-stacks", "/tmp/f/stk/");
    assert_eq!(
        stacks.iter().map(|k| opened(k)).collect::<Vec<_>>(),
        ["/tmp/f/stk/libc", "/tmp/f/stk/direct"],
        "{out}"
    );
    let symbols = |k: &Value, key: &str| -> Vec<(String, String)> {
        k[key]
            .as_array()
            .unwrap_or_else(|| panic!("no {key}: {k}"))
            .iter()
            .map(|f| {
                (
                    f["symbol"].as_str().unwrap_or("").to_string(),
                    f["module"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    for k in &stacks {
        let kernel_stack = symbols(k, "kernel_stack_trace");
        eprintln!(
            "{kernel:?}: kernel stack of {}: {kernel_stack:?}",
            opened(k)
        );
        assert_eq!(kernel_stack[0].0, "__x64_sys_openat", "{k}");
        assert!(
            kernel_stack.iter().any(|(s, _)| s == "do_syscall_64"),
            "{k}"
        );
        // Tetragon leaves the module of kernel frames empty
        assert!(
            kernel_stack
                .iter()
                .all(|(s, m)| !s.is_empty() && m.is_empty()),
            "{k}"
        );
    }
    let libc = symbols(stacks[0], "user_stack_trace");
    eprintln!("{kernel:?}: user stack of the libc open: {libc:?}");
    assert!(libc[0].0.contains("open"), "{libc:?}");
    assert_eq!(libc[0].1, "/opt/f/stacky", "{libc:?}");
    let direct = symbols(stacks[1], "user_stack_trace");
    eprintln!("{kernel:?}: user stack of the direct open: {direct:?}");
    assert_eq!(
        direct.get(..2),
        Some(
            &[
                ("open_direct".to_string(), "/opt/f/stacky".to_string()),
                ("main".to_string(), "/opt/f/stacky".to_string())
            ][..]
        ),
        "{direct:?}"
    );

    // char_iovec: writev's two buffers, their count from arg 3; char_buf with sizeArgIndex: 9
    // bytes of the 14 the pointer has, as sys_write's count says
    let buffers = run.ok("buffers");
    assert!(buffers.contains("fd=3 writev=11 write=9"), "{buffers}");
    // base64 of "hello iovec" (the nop arg is not shown)
    assert_eq!(
        kprobes("writev-iovec")
            .iter()
            .map(|k| &k["args"])
            .collect::<Vec<_>>(),
        [&json!([{"int_arg": 3}, {"bytes_arg": "aGVsbG8gaW92ZWM="}])],
        "{out}"
    );
    // base64 of "hello buf"
    assert_eq!(
        kprobes("write-sized")
            .iter()
            .map(|k| &k["args"])
            .collect::<Vec<_>>(),
        [&json!([{"int_arg": 3}, {"bytes_arg": "aGVsbG8gYnVm"}, {"size_arg": "9"}])],
        "{out}"
    );

    // InMap / NotInMap on an int: whence 0 (SEEK_SET) and 2 (SEEK_END) by the InMap selector,
    // 3 (SEEK_DATA) by the NotInMap one, never 1 (SEEK_CUR)
    let seeks = run.ok("lseek");
    assert!(seeks.contains("fd=3 set=1 cur=1 end=11 data=0"), "{seeks}");
    assert_eq!(
        kprobes("lseek-maps")
            .iter()
            .map(|k| &k["args"])
            .collect::<Vec<_>>(),
        [
            &json!([{"int_arg": 3}, {"int_arg": 1}, {"int_arg": 0}]),
            &json!([{"int_arg": 3}, {"int_arg": 0}, {"int_arg": 2}]),
            &json!([{"int_arg": 3}, {"int_arg": 0}, {"int_arg": 3}]),
        ],
        "{out}"
    );

    // InMap / NotInMap `list:` values on raw_syscalls' syscall64: the listed syscalls (read 0,
    // openat 257 on x86_64) for one head, only others for the other
    let heads = run.ok("syscalls");
    assert!(
        heads.contains("inmap\ninmap rc=0\ninmap\nnotinmap rc=0"),
        "{heads}"
    );
    let ids = |bin: &str| -> std::collections::BTreeSet<u64> {
        tracepoints("syscalls-maps")
            .iter()
            .filter(|t| t["process"]["binary"] == bin)
            .map(|t| {
                assert_eq!(t["args"][0]["syscall_id"]["abi"], "x64", "{t}");
                // protojson leaves a zero `id` (read) out
                t["args"][0]["syscall_id"]["id"].as_u64().unwrap_or(0)
            })
            .collect()
    };
    assert_eq!(ids("/opt/f/inmap/head"), [0, 257].into(), "{out}");
    let others = ids("/opt/f/notinmap/head");
    assert!(
        others.contains(&1) && !others.contains(&0) && !others.contains(&257),
        "{others:?}"
    );

    // data_loc: sched_process_exec's filename, the copied true (Prefix) and not false
    // (NotEqual)
    let exec = run.ok("exec");
    assert!(
        exec.contains("true rc=0") && exec.contains("false rc=1"),
        "{exec}"
    );
    let execs: Vec<(&Value, &Value)> = tracepoints("exec-data-loc")
        .iter()
        .map(|t| (&t["event"], &t["args"]))
        .collect();
    assert_eq!(
        execs,
        [(
            &json!("sched_process_exec"),
            &json!([{"string_arg": "/opt/f/exec/true"}])
        )],
        "{out}"
    );

    // a consumer written for Tetragon reads each of them
    match tetragon_api::compiled(name) {
        Ok((py, gen)) => {
            let t0 = std::time::Instant::now();
            let d = tetragon_api::decode(&py, &gen, &lines);
            tetragon_api::report(name, "VM feature events", &d, t0);
        }
        Err(reason) => skip::skip(&format!("{name} (Tetragon's messages)"), &reason),
    }
}
