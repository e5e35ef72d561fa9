//! A pass after the model is built: the schema check reports an operator outside the enum
//! (`S004`) without knowing what the filter reads. Here a matchArgs, matchData or
//! matchReturnArgs operator's diagnostic is written again with the type of the arg the filter
//! reads (resolved as Tetragon resolves it), so the operators it offers are those that fit
//! that type ([`crate::facts::operator_fits`]), not the whole enum.

use super::meant::EnumSet;
use super::table::ARG_OPERATORS;
use crate::checks::selectors::{filter_target, FilterList, SigArg};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::facts::HookKind;
use crate::model::Policy;

/// Rewrite the `S004` diagnostics of matchArgs-like operators in `out` with the arg's type.
pub fn refine(policy: &Policy, out: &mut [Diagnostic]) {
    if !out.iter().any(|d| d.code == Code::S004) {
        return;
    }
    for hook in &policy.spec.hooks {
        for sel in &hook.selectors {
            let lists = [
                (&sel.match_args, FilterList::Args),
                (&sel.match_data, FilterList::Data),
                (&sel.match_return_args, FilterList::Return),
            ];
            for (list, which) in lists {
                for f in list {
                    let Some(op) = &f.operator else { continue };
                    let Some(d) = out
                        .iter_mut()
                        .find(|d| d.code == Code::S004 && d.span == op.span)
                    else {
                        continue;
                    };
                    let Some(SigArg::Declared(arg)) = filter_target(hook, f, which) else {
                        continue;
                    };
                    let ty = arg.type_name();
                    if ty == "auto"
                        || (hook.kind == HookKind::Tracepoint && hook.raw && arg.resolve.is_some())
                    {
                        continue;
                    }
                    let severity = d.severity;
                    *d = super::enum_diagnostic(
                        op.span,
                        &op.value,
                        "operator",
                        ARG_OPERATORS,
                        Some(EnumSet::ArgOperator),
                        "ArgSelector",
                        Some(ty),
                    )
                    .severity(severity);
                }
            }
        }
    }
}
