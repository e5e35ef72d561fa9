//! The outline (`textDocument/documentSymbol`): each policy, its hook sections and hooks, their
//! selectors, and the filters and actions of each selector.
//!
//! Built from the validator's models of exactly the current text ([`Analysis::current`]); an
//! outline needs positions, so the last good report of an earlier text is never used.

use policyctl_validator::facts::HookKind;
use policyctl_validator::model::{Action, ArgFilter, Hook, Policy, Selector, SetFilter};
use policyctl_validator::{Kind, Span};
use tower_lsp_server::ls_types::{DocumentSymbol, Range, SymbolKind};

use crate::analysis::Analysis;

/// Longest `detail` shown for a filter, in characters.
const MAX_DETAIL: usize = 60;

/// The outline of a document: one symbol per policy, with its hook sections, hooks, selectors,
/// filters and actions as children. Empty when the document has no report of its current text.
pub fn document_symbols(a: &Analysis) -> Vec<DocumentSymbol> {
    let Some(report) = a.current else {
        return Vec::new();
    };
    // The report must be of this very text; anything else would put symbols at wrong places.
    if report.source.text() != a.text {
        return Vec::new();
    }
    let out = Outline { a };
    report
        .policies
        .iter()
        .map(|p| out.policy(&p.policy))
        .collect()
}

struct Outline<'a, 'b> {
    a: &'b Analysis<'a>,
}

impl Outline<'_, '_> {
    fn range(&self, span: Span) -> Range {
        self.a.lines.range(self.a.text, span)
    }

    /// A symbol; the range grows to hold the selection range, as LSP requires.
    #[allow(deprecated)] // `deprecated` must be written: the struct has no Default.
    fn symbol(
        &self,
        name: String,
        detail: Option<String>,
        kind: SymbolKind,
        span: Span,
        selection: Span,
        children: Vec<DocumentSymbol>,
    ) -> DocumentSymbol {
        // The range must contain the selection.
        let span = span.join(selection);
        DocumentSymbol {
            // An empty name is rejected by some clients (VS Code throws).
            name: if name.trim().is_empty() {
                "(empty)".to_string()
            } else {
                name
            },
            detail,
            kind,
            tags: None,
            deprecated: None,
            range: self.range(span),
            selection_range: self.range(selection),
            children: (!children.is_empty()).then_some(children),
        }
    }

    fn policy(&self, p: &Policy) -> DocumentSymbol {
        let kind = match p.kind {
            Kind::TracingPolicy => "TracingPolicy",
            Kind::TracingPolicyNamespaced => "TracingPolicyNamespaced",
        };
        let name = p
            .name
            .as_ref()
            .map_or_else(|| "(unnamed policy)".to_string(), |n| n.value.clone());
        let selection = p
            .name
            .as_ref()
            .map_or(Span::new(p.span.start, p.span.start), |n| n.span);
        let mut children = Vec::new();
        let hooks = &p.spec.hooks;
        let mut placed = vec![false; hooks.len()];
        for &(kind, key) in &p.spec.sections {
            let mut span = key;
            let mut items = Vec::new();
            for (i, h) in hooks.iter().enumerate() {
                if h.kind == kind && !placed[i] {
                    placed[i] = true;
                    span = span.join(h.span);
                    items.push(self.hook(h));
                }
            }
            children.push(self.symbol(
                kind.key().to_string(),
                Some(format!(
                    "{} {}",
                    items.len(),
                    plural(items.len(), kind.noun())
                )),
                SymbolKind::NAMESPACE,
                span,
                key,
                items,
            ));
        }
        // Hooks whose section key was not recorded (never expected): still in the outline.
        for (i, h) in hooks.iter().enumerate() {
            if !placed[i] {
                children.push(self.hook(h));
            }
        }
        self.symbol(
            name,
            Some(kind.to_string()),
            SymbolKind::MODULE,
            p.span,
            selection,
            children,
        )
    }

    fn hook(&self, h: &Hook) -> DocumentSymbol {
        let name = match (&h.subsystem, &h.target) {
            (Some(sub), Some(ev)) => format!("{}/{}", sub.value, ev.value),
            (None, Some(t)) => t.value.clone(),
            (Some(sub), None) => format!("{}/?", sub.value),
            (None, None) => format!("{} #{}", h.kind.noun(), h.index),
        };
        let mut detail = h.kind.noun().to_string();
        if matches!(h.kind, HookKind::Kprobe | HookKind::Fentry) && h.is_syscall() {
            detail.push_str(", syscall");
        }
        if h.kind == HookKind::Tracepoint && h.raw {
            detail.push_str(", raw");
        }
        if h.returns() {
            detail.push_str(", return");
        }
        let kind = match h.kind {
            HookKind::Kprobe | HookKind::Fentry | HookKind::Uprobe | HookKind::Usdt => {
                SymbolKind::FUNCTION
            }
            HookKind::Tracepoint => SymbolKind::EVENT,
            HookKind::Lsm => SymbolKind::INTERFACE,
        };
        let selection = h
            .target
            .as_ref()
            .map(|t| t.span)
            .or(h.subsystem.as_ref().map(|s| s.span))
            .unwrap_or(Span::new(h.span.start, h.span.start));
        let children = h
            .selectors
            .iter()
            .enumerate()
            .map(|(i, s)| self.selector(i, s))
            .collect();
        self.symbol(name, Some(detail), kind, h.span, selection, children)
    }

    fn selector(&self, i: usize, s: &Selector) -> DocumentSymbol {
        let mut items: Vec<(Span, DocumentSymbol)> = Vec::new();
        let arg_lists: [(&str, &[ArgFilter]); 3] = [
            ("matchArgs", &s.match_args),
            ("matchData", &s.match_data),
            ("matchReturnArgs", &s.match_return_args),
        ];
        for (key, filters) in arg_lists {
            for f in filters {
                items.push((f.span, self.arg_filter(key, f)));
            }
        }
        let set_lists: [(&str, &[SetFilter]); 7] = [
            ("matchPIDs", &s.match_pids),
            ("matchBinaries", &s.match_binaries),
            ("matchParentBinaries", &s.match_parent_binaries),
            ("matchNamespaces", &s.match_namespaces),
            ("matchNamespaceChanges", &s.match_namespace_changes),
            ("matchCapabilities", &s.match_capabilities),
            ("matchCapabilityChanges", &s.match_capability_changes),
        ];
        for (key, filters) in set_lists {
            for f in filters {
                items.push((f.span, self.set_filter(key, f)));
            }
        }
        let action_lists: [(&str, &[Action]); 2] = [
            ("matchActions", &s.match_actions),
            ("matchReturnActions", &s.match_return_actions),
        ];
        for (key, actions) in action_lists {
            for act in actions {
                items.push((act.span, self.action(key, act)));
            }
        }
        items.sort_by_key(|(span, _)| span.start);
        let n = items.len();
        self.symbol(
            format!("selector {i}"),
            Some(format!("{n} {}", plural(n, "filter or action"))),
            SymbolKind::OBJECT,
            s.span,
            Span::new(s.span.start, s.span.start),
            items.into_iter().map(|(_, sym)| sym).collect(),
        )
    }

    fn arg_filter(&self, key: &str, f: &ArgFilter) -> DocumentSymbol {
        let mut name = key.to_string();
        if let Some(i) = &f.index {
            name.push_str(&format!(" index {}", i.value));
        } else if !f.args.is_empty() {
            let args: Vec<String> = f.args.iter().map(|a| a.value.to_string()).collect();
            name.push_str(&format!(" args {}", args.join(", ")));
        }
        let detail = filter_detail(f.operator.as_ref().map(|o| o.value.as_str()), &f.values);
        let selection = f
            .operator
            .as_ref()
            .map_or(Span::new(f.span.start, f.span.start), |o| o.span);
        self.symbol(
            name,
            detail,
            SymbolKind::FIELD,
            f.span,
            selection,
            Vec::new(),
        )
    }

    fn set_filter(&self, key: &str, f: &SetFilter) -> DocumentSymbol {
        let mut name = key.to_string();
        if let Some(ns) = &f.namespace {
            name.push(' ');
            name.push_str(&ns.value);
        }
        let detail = filter_detail(f.operator.as_ref().map(|o| o.value.as_str()), &f.values);
        let selection = f
            .operator
            .as_ref()
            .map_or(Span::new(f.span.start, f.span.start), |o| o.span);
        self.symbol(
            name,
            detail,
            SymbolKind::FIELD,
            f.span,
            selection,
            Vec::new(),
        )
    }

    fn action(&self, key: &str, act: &Action) -> DocumentSymbol {
        let name = act
            .action
            .as_ref()
            .map_or_else(|| "(no action)".to_string(), |a| a.value.clone());
        let selection = act
            .action
            .as_ref()
            .map_or(Span::new(act.span.start, act.span.start), |a| a.span);
        self.symbol(
            name,
            Some(key.to_string()),
            SymbolKind::EVENT,
            act.span,
            selection,
            Vec::new(),
        )
    }
}

/// `Operator value, value, ...`, cut to [`MAX_DETAIL`] characters.
fn filter_detail(
    operator: Option<&str>,
    values: &[policyctl_validator::model::Spanned<String>],
) -> Option<String> {
    let values: Vec<&str> = values.iter().map(|v| v.value.as_str()).collect();
    let text = match (operator, values.is_empty()) {
        (None, true) => return None,
        (Some(op), true) => op.to_string(),
        (None, false) => values.join(", "),
        (Some(op), false) => format!("{op} {}", values.join(", ")),
    };
    if text.chars().count() <= MAX_DETAIL {
        return Some(text);
    }
    let cut: String = text.chars().take(MAX_DETAIL - 1).collect();
    Some(format!("{cut}…"))
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        noun.to_string()
    } else if noun == "filter or action" {
        "filters and actions".to_string()
    } else {
        format!("{noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::LineIndex;
    use policyctl_validator::{check_source, SourceFile};

    const POLICY: &str = "\
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: \"outline\"
spec:
  kprobes:
  - call: \"do_mkdirat\"
    syscall: false
    args:
    - index: 1
      type: \"string\"
    selectors:
    - matchArgs:
      - index: 1
        operator: \"Prefix\"
        values:
        - \"/tmp\"
      matchBinaries:
      - operator: \"In\"
        values:
        - \"/usr/bin/mkdir\"
      matchActions:
      - action: Sigkill
  tracepoints:
  - subsystem: \"syscalls\"
    event: \"sys_enter_ptrace\"
";

    fn outline(text: &str) -> Vec<DocumentSymbol> {
        let report = check_source(SourceFile::new("t.yaml", text));
        let lines = LineIndex::new(text);
        document_symbols(&Analysis {
            text,
            lines: &lines,
            current: Some(&report),
            last_good: None,
            kernels: &policyctl_validator::kernel::KernelSet::new(),
        })
    }

    fn names(s: &DocumentSymbol, depth: usize, out: &mut Vec<String>) {
        out.push(format!(
            "{}{} [{}] {}:{}-{}:{}",
            "  ".repeat(depth),
            s.name,
            s.detail.as_deref().unwrap_or(""),
            s.range.start.line,
            s.range.start.character,
            s.range.end.line,
            s.range.end.character
        ));
        assert!(s.range.start <= s.selection_range.start && s.selection_range.end <= s.range.end);
        for c in s.children.iter().flatten() {
            names(c, depth + 1, out);
        }
    }

    #[test]
    fn outline_of_hooks_selectors_filters_and_actions() {
        let mut out = Vec::new();
        for s in outline(POLICY) {
            names(&s, 0, &mut out);
        }
        let text = out.join("\n");
        assert!(text.starts_with("outline [TracingPolicy]"), "{text}");
        assert!(text.contains("\n  kprobes [1 kprobe]"), "{text}");
        assert!(text.contains("\n    do_mkdirat [kprobe] 6:"), "{text}");
        assert!(
            text.contains("\n      selector 0 [3 filters and actions]"),
            "{text}"
        );
        assert!(
            text.contains("\n        matchArgs index 1 [Prefix /tmp]"),
            "{text}"
        );
        assert!(
            text.contains("\n        matchBinaries [In /usr/bin/mkdir]"),
            "{text}"
        );
        assert!(text.contains("\n        Sigkill [matchActions]"), "{text}");
        assert!(
            text.contains("\n    syscalls/sys_enter_ptrace [tracepoint]"),
            "{text}"
        );
    }

    #[test]
    fn nothing_without_a_current_report() {
        let lines = LineIndex::new(POLICY);
        let a = Analysis {
            text: POLICY,
            lines: &lines,
            current: None,
            last_good: None,
            kernels: &policyctl_validator::kernel::KernelSet::new(),
        };
        assert!(document_symbols(&a).is_empty());
    }

    #[test]
    fn half_typed_documents_never_panic() {
        for cut in 0..POLICY.len() {
            if POLICY.is_char_boundary(cut) {
                let mut out = Vec::new();
                for s in outline(&POLICY[..cut]) {
                    names(&s, 0, &mut out);
                }
            }
        }
    }
}
