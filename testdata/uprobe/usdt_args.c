/* The program tests/run_uprobe_host.rs and tests/run_uprobe_vm.rs probe: USDT probes of
 * <sys/sdt.h> (no semaphores): `test:args` with an int, a long, a string and a constant
 * (`-4@$5`), `tetragon:setme` with a `volatile int` in memory (a `deref` argument), which a Set
 * action may overwrite. Prints the value of that int at the end.
 */
#include <stdio.h>
#include <sys/sdt.h>
int main(void)
{
    volatile int a = 1;
    volatile long b = 42;
    char name[] = "hello-usdt";
    DTRACE_PROBE4(test, args, a, b, name, 5);
    a = 2;
    DTRACE_PROBE4(test, args, a, b, name, 5);
    volatile int v = 7;
    /* in memory, as a Set needs: `-4@-N(%rbp)` */
#undef STAP_SDT_ARG_CONSTRAINT
#define STAP_SDT_ARG_CONSTRAINT m
    DTRACE_PROBE1(tetragon, setme, v);
    printf("%d\n", v);
    return 0;
}
