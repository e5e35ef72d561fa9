//! Checks, one module per concern. Each module holds the `CodeInfo` of the codes it emits (its
//! explain pages) and a `check` function over the typed model.
//!
//! To add a check: add its code to `codes.rs`, its `CodeInfo` and logic to the module of its
//! concern (or a new module listed in [`run`]), and its examples under `testdata/checks/<CODE>/`
//! (`invalid.yaml` must trigger it, `valid.yaml` must be clean).

pub mod actions;
pub mod args;
pub mod cel;
pub mod document;
pub mod filters;
pub mod hooks;
pub mod host;
pub mod kernel;
pub mod metadata;
pub mod operators;
pub mod selectors;
pub mod syntax;
pub mod syscall_args;
pub mod tracepoint_pairs;

use crate::diagnostic::Diagnostic;
use crate::model::Policy;

/// Run every semantic check on one policy.
pub fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    hooks::check(policy, out);
    args::check(policy, out);
    syscall_args::check(policy, out);
    selectors::check(policy, out);
    operators::check(policy, out);
    filters::check(policy, out);
    actions::check(policy, out);
    metadata::check(policy, out);
}
