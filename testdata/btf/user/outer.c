/* The program whose BTF is outer.btf (testdata/btf/README.md), and the one
 * tests/run_uprobe_host.rs compiles and probes (RESOLVE_TARGET). */
#include <stdio.h>
struct inner { long pad; int val; };
struct mid { int x; struct inner *in; };
struct outer {
    char tag[4];
    struct mid m;
    struct mid *pm;
    union { long raw; struct { int lo; int hi; }; };
    const char *name;
};
__attribute__((noinline)) int probed(int n, struct outer *o)
{
    asm volatile("" ::: "memory");
    return o->m.x + n;
}
int main(void)
{
    struct inner i1 = { 1, 4242 };
    struct inner i2 = { 2, 77 };
    struct mid m2 = { 7, &i2 };
    char name[] = "nested-name";
    struct outer o = { "ab", { 5, &i1 }, &m2, { .raw = 0 }, name };
    o.hi = -3;
    printf("%d\n", probed(1, &o));
    return 0;
}
