/* The program tests/run_refctr_host.rs and tests/run_uprobe_vm.rs probe.
 *
 * A USDT probe `test:sema` with a semaphore, and two functions for uprobes whose reference
 * counters are `tick_ref` and `tock_ref` (in `.probes`, a section of the file, as semaphores
 * are: the kernel counts a counter only where the file is mapped). Each line on stdin: `f`
 * fires whatever is enabled (the probe, `tick`, `tock`, each only when its counter is not 0);
 * `g N WHO` calls `greet(N, WHO)` and prints `greet N WHO = R` (R = N * 100 + the length of
 * WHO); then, for any line, the three counters are printed.
 */
#define _SDT_HAS_SEMAPHORES 1
#include <stdio.h>
#include <string.h>
#include <sys/sdt.h>
__extension__ unsigned short test_sema_semaphore __attribute__((unused)) __attribute__((section(".probes")));
unsigned short tick_ref __attribute__((section(".probes")));
unsigned short tock_ref __attribute__((section(".probes")));
__attribute__((noinline)) int tick(int n)
{
    asm volatile("" ::: "memory");
    return n + 1;
}
__attribute__((noinline)) int tock(int n)
{
    asm volatile("" ::: "memory");
    return n + 2;
}
/* noipa: gcc -O2 keeps its signature and its symbol (no .isra or .constprop clone) */
__attribute__((noipa)) int greet(int n, const char *who)
{
    asm volatile("" ::: "memory");
    return n * 100 + (int)strlen(who);
}
int main(void)
{
    char line[64];
    char who[32];
    int g;
    volatile int n = 7;
    while (fgets(line, sizeof line, stdin)) {
        if (line[0] == 'f') {
            if (test_sema_semaphore)
                DTRACE_PROBE1(test, sema, n);
            if (tick_ref)
                tick(n);
            if (tock_ref)
                tock(n);
        }
        if (line[0] == 'g' && sscanf(line + 1, "%d %31s", &g, who) == 2)
            printf("greet %d %s = %d\n", g, who, greet(g, who));
        printf("%u %u %u\n", test_sema_semaphore, tick_ref, tock_ref);
        fflush(stdout);
    }
    return 0;
}
