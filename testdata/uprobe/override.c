/* The target of Override on uprobes (tests/run_uprobe_override_host.rs and
 * tests/run_uprobe_override_vm.rs): `check` says whether its argument is 42 (never, as main
 * calls it with argc); `yes` always says 1, and is where `argNewSymbol` sends `check`. */
#include <stdio.h>
__attribute__((noinline)) int check(int x)
{
    asm volatile("" ::: "memory");
    return x == 42;
}
__attribute__((noinline)) int yes(int x)
{
    asm volatile("" ::: "memory");
    return 1;
}
int main(int argc, char **argv)
{
    (void)argv;
    printf("%d\n", check(argc));
    return 0;
}
