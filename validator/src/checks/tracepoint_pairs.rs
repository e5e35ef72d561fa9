//! A tracepoint whose `subsystem` and `event` do not go together (`net/sched_process_exec`)
//! where no tracefs can say so: checked against the reference table of events and subsystems
//! ([`crate::kernel::tracepoints`]).
//!
//! - For each kernel known by its BTF (no tracefs read) that has the event, `K003`: BTF knows
//!   the event but not its subsystem, so `checks::kernel` lets any subsystem pass; the table
//!   says which one the event is in. Only where `checks::kernel` found the tracepoint, so one
//!   mistake gets one `K003`.
//! - With no kernel at all, `P019` (a warning: the table is one reference kernel's, not the
//!   target's).
//! - A live host's tracefs is read by `checks::kernel` (`K003` there), never second-guessed.
//! - An event the table does not have cannot be checked: nothing is said (hover says so).
//! - `raw: true` tracepoints are attached by their event name alone: their subsystem is not
//!   read by Tetragon, nor checked here.

use std::sync::Arc;

use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::facts::HookKind;
use crate::kernel::tracepoints::{self, Pair};
use crate::kernel::{Kernel, Known};
use crate::model::{Hook, Policy};

/// `P019`.
pub const P019: CodeInfo = CodeInfo {
    code: "P019",
    name: "tracepoint-subsystem",
    severity: Severity::Warning,
    summary: "A tracepoint `event` that the reference kernel has in another `subsystem`.",
    explanation: "A tracepoint is its subsystem and its event together: Tetragon reads `events/<subsystem>/<event>/format` from tracefs and refuses the policy when there is none (\"tracepoint %s/%s not supported\"). An event belongs to one subsystem, its `TRACE_SYSTEM` in the kernel source (`sched_process_exec` is in `sched`), so `subsystem: syscalls` with `event: sched_process_exec` names nothing. With a kernel to check against, policyctl reads its tracefs on a live host, and otherwise (a kernel known by its BTF, which names events but not their subsystems) the reference table of events and subsystems that policyctl ships, read from one kernel's tracefs (its release, architecture and date are in the message): that is `K003`. With no kernel at all, this warning says what the same table says. It is a warning because the table is one build's: an event it lacks (a module that was not loaded, an option that build left out, a newer kernel) is not judged, and a kernel could in principle have an event of the same name elsewhere. `raw: true` tracepoints are attached by event name alone and are not checked.",
    tetragon: "pkg/sensors/tracing/generictracepoint.go preValidateTracepoint (\"tracepoint %s/%s not supported\"); raw tracepoints attach by event name",
};

/// Check every non-raw tracepoint's pair against the reference table: `K003` for each kernel
/// known by its BTF that has the event, `P019` when no kernel is given.
pub fn check(policy: &Policy, kernels: &[Arc<Kernel>], out: &mut Vec<Diagnostic>) {
    for hook in &policy.spec.hooks {
        if hook.kind == HookKind::Tracepoint && !hook.raw {
            pair(hook, kernels, out);
        }
    }
}

fn pair(hook: &Hook, kernels: &[Arc<Kernel>], out: &mut Vec<Diagnostic>) {
    let (Some(sub), Some(event)) = (&hook.subsystem, &hook.target) else {
        return;
    };
    if sub.value.is_empty() || event.value.is_empty() {
        return;
    }
    let table = tracepoints::table();
    let help = |subs: &[String]| match subs {
        [one] => format!("write `subsystem: {one}`"),
        _ => format!(
            "write one of the subsystems that have it: {}",
            subs.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    if kernels.is_empty() {
        if let Pair::Elsewhere(subs) = table.pair(&sub.value, &event.value) {
            let subs: Vec<String> = subs.into_iter().map(str::to_string).collect();
            out.push(
                Diagnostic::new(
                    Code::P019,
                    sub.span,
                    format!(
                        "`{}` is {} event, not a `{}` one: Tetragon finds no tracepoint `{}/{}` and refuses the policy (from the reference table of {}; no kernel was given)",
                        event.value,
                        in_subsystems(&subs),
                        sub.value,
                        sub.value,
                        event.value,
                        table.provenance()
                    ),
                )
                .help(help(&subs))
                .related(event.span, "this event"),
            );
        }
        return;
    }
    // The kernels known by their BTF on which `checks::kernel` found the event, and what
    // the table says its subsystems are.
    let mut on: Vec<String> = Vec::new();
    let mut found: Option<(Vec<String>, String)> = None;
    for k in kernels {
        if k.has_tracefs() || k.tracepoint(&sub.value, &event.value).is_none() {
            continue;
        }
        if let Known::Yes(subs, source) = k.event_subsystems(&event.value) {
            if !subs.is_empty() && !subs.contains(&sub.value) {
                on.push(k.name.clone());
                found.get_or_insert((subs, source));
            }
        }
    }
    let Some((subs, source)) = found else { return };
    let mut d = Diagnostic::new(
        Code::K003,
        sub.span,
        format!(
            "tracepoint `{}/{}` does not exist: `{}` is {} event (BTF names events but not their subsystems; from {source})",
            sub.value,
            event.value,
            event.value,
            in_subsystems(&subs),
        ),
    )
    .help(help(&subs))
    .related(event.span, "this event");
    d.kernels = on;
    out.push(d);
}

/// "a `sched`" or "a `net` and `sock`".
fn in_subsystems(subs: &[String]) -> String {
    let names: Vec<String> = subs.iter().map(|s| format!("`{s}`")).collect();
    format!("a {}", names.join(" and "))
}

#[cfg(test)]
mod tests {
    use crate::{check_source, SourceFile};

    fn codes(body: &str) -> Vec<(String, String)> {
        let text = format!("apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: t\nspec:\n  tracepoints:\n{body}");
        check_source(SourceFile::new("t.yaml", text))
            .diagnostics
            .iter()
            .map(|d| (d.code.as_str().to_string(), d.message.clone()))
            .collect()
    }

    #[test]
    fn without_kernels_the_table_judges() {
        let wrong = codes("  - subsystem: syscalls\n    event: sched_process_exec\n");
        assert_eq!(wrong.len(), 1, "{wrong:?}");
        assert_eq!(wrong[0].0, "P019");
        assert!(
            wrong[0]
                .1
                .starts_with("`sched_process_exec` is a `sched` event, not a `syscalls` one"),
            "{wrong:?}"
        );
        assert!(codes("  - subsystem: sched\n    event: sched_process_exec\n").is_empty());
        // Unknown to the table: cannot be checked, nothing said.
        assert!(codes("  - subsystem: mymod\n    event: mymod_event\n").is_empty());
        // Raw tracepoints attach by event name.
        assert!(
            codes("  - subsystem: syscalls\n    event: sched_process_exec\n    raw: true\n")
                .iter()
                .all(|(c, _)| c != "P019")
        );
    }
}
