//! CelExpr filters run by `policyctl run` on this machine's kernel (uprobes work on the host):
//! a program the test compiles calls one function with chosen values, and policies whose
//! CelExpr filters pick some of the calls report exactly those. The expressions cover the
//! value types (s32 from `int`, CEL's int from `int64`, u32 from `uint32`), the casts, the
//! bitwise functions, u32 wrap-around, `&&`, `!` and the constants `true` and `false`.
//!
//! Needs root, BTF and tracefs, and gcc; without them the test prints `SKIPPED` and passes,
//! unless `CI` is set. Nothing enforces: the policies only post.

#[path = "support/run.rs"]
mod run;
#[path = "support/skip.rs"]
mod skip;

use run::{pid_of, run_child, started, TempDir};
use serde_json::Value;

const TARGET: &str = r#"
#include <stdio.h>
__attribute__((noinline)) int cel_fn(int a, long b, unsigned int c)
{
    asm volatile("" ::: "memory");
    return a + (int)b + (int)c;
}
int main(void)
{
    long s = 0;
    s += cel_fn(-1, 2000, 7);                 /* call 1 */
    s += cel_fn(5, 2000, 7);                  /* call 2 */
    s += cel_fn(-1, 10, 7);                   /* call 3 */
    s += cel_fn(-1, 5000000000L, 4294967295u); /* call 4 */
    printf("%ld\n", s);
    return 0;
}
"#;

fn policy(name: &str, bin: &str, expression: &str) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "{name}"
spec:
  uprobes:
  - path: "{bin}"
    symbols:
    - "cel_fn"
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "int64"
    - index: 2
      type: "uint32"
    selectors:
    - matchArgs:
      - operator: "CelExpr"
        values:
        - "{expression}"
"#
    )
}

#[test]
fn cel_expressions_pick_the_calls_they_describe() {
    if !run::ready("cel_expressions_pick_the_calls_they_describe") {
        return;
    }
    let dir = TempDir::new("cel");
    let Some(bin) = dir.compile_c(
        "cel_expressions_pick_the_calls_they_describe",
        "target",
        TARGET,
    ) else {
        return;
    };
    // (policy, expression, the calls it must report by their `a`, `b`)
    type Case<'a> = (&'a str, &'a str, &'a [(i64, i64)]);
    let cases: &[Case] = &[
        (
            "cel-and",
            "arg0 == int32(-1) && arg1 >= 1024 && and(arg2, uint32(7u)) == uint32(7u)",
            &[(-1, 2000), (-1, 5_000_000_000)],
        ),
        // u32 arithmetic wraps at 32 bits: only 4294967295 + 1 is 0
        (
            "cel-wrap",
            "arg2 + uint32(1u) == uint32(0u)",
            &[(-1, 5_000_000_000)],
        ),
        // s32 comparisons are signed; `!` negates
        (
            "cel-signed",
            "!(arg0 < int32(0)) || arg1 - 10 == 0",
            &[(5, 2000), (-1, 10)],
        ),
        (
            "cel-true",
            "true",
            &[(-1, 2000), (5, 2000), (-1, 10), (-1, 5_000_000_000)],
        ),
        ("cel-false", "false", &[]),
    ];
    let files: Vec<String> = cases
        .iter()
        .map(|(name, expr, _)| dir.write(&format!("{name}.yaml"), &policy(name, &bin, expr)))
        .collect();
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    args.push("--policy-events-only");
    let running = started(&args);
    let (status, pid, out) = run_child(&bin, &[]);
    assert!(status.success());
    assert!(out.ends_with('\n'), "the target prints its sum: {out:?}");
    let expected: usize = cases.iter().map(|c| c.2.len()).sum();
    running.wait_events(expected, |e| {
        pid_of(e, "process_uprobe") == Some(pid as u64)
    });
    let f = running.stop();
    let mine: Vec<Value> = f
        .events()
        .into_iter()
        .filter(|e| pid_of(e, "process_uprobe") == Some(pid as u64))
        .collect();
    for (name, expr, calls) in cases {
        let mut got: Vec<(i64, i64)> = mine
            .iter()
            .map(|e| &e["process_uprobe"])
            .filter(|u| u["policy_name"] == *name)
            .map(|u| {
                (
                    u["args"][0]["int_arg"].as_i64().unwrap_or(i64::MIN),
                    u["args"][1]["long_arg"]
                        .as_i64()
                        .or_else(|| {
                            u["args"][1]["long_arg"]
                                .as_str()
                                .and_then(|s| s.parse().ok())
                        })
                        .unwrap_or(i64::MIN),
                )
            })
            .collect();
        got.sort();
        let mut want = calls.to_vec();
        want.sort();
        assert_eq!(got, want, "policy {name} (`{expr}`):\n{f}");
    }
}
