//! What the host and VM tests of Override on uprobes share (run_uprobe_override_host.rs,
//! tests/vm/uprobe_override_vm.rs): the target program, the policy, and the three ways to override.

/// `check` says whether its argument is 42 (never, as main calls it with argc); `yes` always
/// says 1, and is where `argNewSymbol` sends `check`.
pub const TARGET: &str = include_str!("../../testdata/uprobe/override.c");

/// The Overrides that make `check(1)` answer 1, as (policy name, the action's parameters as
/// YAML lines at its indentation):
/// - `argRegs` with Tetragon's return-to-caller: `rax=1`, the return address popped into
///   `rip`;
/// - the default Override (no argRegs): `check` returns argError to its caller;
/// - `argNewSymbol`: `check` goes on in `yes`, which returns 1 to check's caller.
pub const CASES: [(&str, &str); 3] = [
    (
        "uo-regs",
        "        argRegs:\n        - \"rax=1\"\n        - \"rip=(%rsp)\"\n        - \"rsp=8%rsp\"",
    ),
    ("uo-default", "        argError: 1"),
    ("uo-jump", "        argNewSymbol: \"yes\""),
];

/// A policy named `name` Overriding `check` in `bin` with the action's parameters `params`;
/// the event carries `check`'s int argument.
pub fn policy(name: &str, bin: &str, params: &str) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "{name}"
spec:
  uprobes:
  - path: "{bin}"
    symbols:
    - "check"
    args:
    - index: 0
      type: "int"
    selectors:
    - matchActions:
      - action: Override
{params}
"#
    )
}
