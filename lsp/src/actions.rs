//! Code actions: write a hook's `args` from its prototype, and quick fixes for the validator's
//! suggestions.
//!
//! - **Write args from the prototype** (`refactor.rewrite`), on a kprobe, fentry or LSM hook
//!   whose `args` do not cover its parameters: an `args:` block with one item per parameter (at
//!   most five), each with its `index`, the arg `type` that reads it and the parameter's name as
//!   `label`; for syscall hooks from the syscall table, otherwise from the first kernel that has
//!   the function. Existing args are kept; missing ones are appended.
//! - **Quick fixes** (`quickfix`), from the diagnostics of the current report that overlap the
//!   range: "did you mean `x`?" (replace the name, keeping its quotes), `syscall: false` /
//!   `syscall: true` / `call: "sys_x"` (P006), `use type: "x"` (K011, K013), a missing action
//!   parameter with a placeholder (P040), quoting or unquoting a scalar (S003), the subsystem
//!   of a tracepoint's event (P019, K003), removing a suppression that suppresses nothing
//!   (C001: the unused code, or the whole comment).

use std::collections::HashMap;

use policyctl_validator::facts::{self, HookKind};
use policyctl_validator::suppress;
use policyctl_validator::{Code, Diagnostic, Span};
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, TextEdit, Uri, WorkspaceEdit,
};

use crate::analysis::Analysis;
use crate::completion::placeholder;
use crate::context::{self, HookText, NodeKind, Outline, Seg};

/// The code actions for a byte range of the document (see the module documentation).
pub fn code_actions(uri: &Uri, a: &Analysis, start: usize, end: usize) -> Vec<CodeActionOrCommand> {
    let start = start.min(a.text.len());
    let end = end.clamp(start, a.text.len());
    let mut out = Vec::new();
    if let Some(report) = a.current {
        for d in report
            .diagnostics
            .iter()
            .filter(|d| d.span.start <= end && start <= d.span.end)
        {
            for (title, edits, preferred) in quick_fixes(a, d) {
                out.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title,
                    kind: Some(CodeActionKind::QUICKFIX),
                    // The diagnostic as the server publishes it.
                    diagnostics: Some(vec![crate::server::to_lsp_diagnostic(
                        uri, a.text, a.lines, d,
                    )]),
                    edit: Some(workspace_edit(uri, a, edits)),
                    is_preferred: preferred.then_some(true),
                    ..CodeAction::default()
                }));
            }
        }
    }
    if let Some((title, edits)) = write_args(a, start) {
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title,
            kind: Some(CodeActionKind::REFACTOR_REWRITE),
            edit: Some(workspace_edit(uri, a, edits)),
            ..CodeAction::default()
        }));
    }
    out
}

/// Byte-range edits → a workspace edit of this document.
fn workspace_edit(uri: &Uri, a: &Analysis, edits: Vec<(Span, String)>) -> WorkspaceEdit {
    let edits = edits
        .into_iter()
        .map(|(span, new_text)| TextEdit {
            range: a.lines.range(a.text, span),
            new_text,
        })
        .collect();
    WorkspaceEdit {
        changes: Some(HashMap::from([(uri.clone(), edits)])),
        ..WorkspaceEdit::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Quick fixes.

/// A fix: title, byte edits, whether it is the preferred fix.
type Fix = (String, Vec<(Span, String)>, bool);

fn quick_fixes(a: &Analysis, d: &Diagnostic) -> Vec<Fix> {
    let text = a.text;
    let Some(written) = text.get(d.span.start..d.span.end) else {
        return Vec::new();
    };
    let help = d.help.as_deref().unwrap_or("");
    let mut out = Vec::new();
    // "did you mean `x`?"
    if let Some(x) = between(help, "did you mean `", "`?") {
        match d.code {
            Code::K003 => {
                let x = x.strip_prefix("event: ").unwrap_or(x);
                match x.split_once('/') {
                    Some((sub, event)) => {
                        let mut edits = vec![replace_scalar(text, d.span, event)];
                        if let Some(s) = subsystem_span(a, d.span) {
                            edits.push(replace_scalar(text, s, sub));
                        }
                        out.push((format!("Change to `{x}`"), edits, true));
                    }
                    None => out.push((
                        format!("Change to `{x}`"),
                        vec![replace_scalar(text, d.span, x)],
                        true,
                    )),
                }
            }
            Code::K012 => {
                // The span is the whole `resolve` path; the message names the member.
                if let Some(member) = between(&d.message, "no member `", "`") {
                    if let Some(at) = segment(written, member) {
                        let s = Span::new(d.span.start + at, d.span.start + at + member.len());
                        out.push((
                            format!("Change `{member}` to `{x}`"),
                            vec![(s, x.to_string())],
                            true,
                        ));
                    }
                }
            }
            _ => out.push((
                format!("Change to `{x}`"),
                vec![replace_scalar(text, d.span, x)],
                true,
            )),
        }
    }
    match d.code {
        // An unused suppression: remove the code from its list, or the whole comment.
        Code::C001 => {
            if let Some(span) = suppress::removal(text, d.span) {
                let title = if written.starts_with('#') {
                    "Remove the unused suppression".to_string()
                } else {
                    format!("Remove `{written}` from the suppression")
                };
                out.push((title, vec![(span, String::new())], true));
            }
        }
        // A tracepoint event in another subsystem (the reference table): the subsystem is on
        // the diagnostic's span.
        Code::P019 | Code::K003 => {
            if let Some(sub) = between(help, "write `subsystem: ", "`") {
                out.push((
                    format!("Write `subsystem: {sub}`"),
                    vec![replace_scalar(text, d.span, sub)],
                    true,
                ));
            }
        }
        Code::P006 => {
            if let Some(call) = between(help, "write `call: \"", "\"`") {
                out.push((
                    format!("Write `call: \"{call}\"`"),
                    vec![replace_scalar(text, d.span, call)],
                    true,
                ));
            } else if help.starts_with("add `syscall: false`") {
                if let Some(edit) =
                    insert_after_line_of(text, d.span.start, "call", "syscall: false")
                {
                    out.push(("Add `syscall: false`".into(), vec![edit], true));
                }
            } else if help.starts_with("set `syscall: false`") {
                out.push((
                    "Set `syscall: false`".into(),
                    vec![(d.span, "false".into())],
                    true,
                ));
            } else if help.starts_with("set `syscall: true`")
                || help.starts_with("remove `syscall: false`")
            {
                out.push((
                    "Set `syscall: true`".into(),
                    vec![(d.span, "true".into())],
                    true,
                ));
            }
        }
        Code::K011 | Code::K013 => {
            if let Some(ty) = between(help, "use `type: \"", "\"`") {
                out.push((
                    format!("Use `type: \"{ty}\"`"),
                    vec![replace_scalar(text, d.span, ty)],
                    true,
                ));
            }
        }
        Code::P040 => {
            // `X needs `param`` (at the action's name) or ``param` has no value` (at the key).
            let example = between(help, "for example `", "`")
                .or_else(|| between(help, "add `", "`"))
                .and_then(|e| e.split_once(": "))
                .map(|(_, v)| v.to_string());
            if let Some(param) = between(&d.message, "needs `", "`") {
                let value = example.unwrap_or_else(|| placeholder(param).to_string());
                let line = format!("{param}: {value}");
                if let Some(edit) = insert_after_line_of(text, d.span.start, "action", &line) {
                    out.push((format!("Add `{line}`"), vec![edit], true));
                }
            } else if let Some(param) = between(&d.message, "`", "` has no value") {
                let value = example.unwrap_or_else(|| placeholder(param).to_string());
                // After the key's colon.
                let colon = text[d.span.end..]
                    .find(':')
                    .map(|i| d.span.end + i + 1)
                    .filter(|&c| !text[d.span.end..c].contains('\n'));
                if let Some(c) = colon {
                    let line_end = text[c..].find(['\n', '\r']).map_or(text.len(), |i| c + i);
                    out.push((
                        format!("Set `{param}: {value}`"),
                        vec![(Span::new(c, line_end), format!(" {value}"))],
                        true,
                    ));
                }
            } else if let Some(line) = between(help, "add `", "`") {
                if line.contains(": ") {
                    if let Some(edit) = insert_after_line_of(text, d.span.start, "action", line) {
                        out.push((format!("Add `{line}`"), vec![edit], true));
                    }
                }
            }
        }
        Code::S003 => {
            if let Some(q) = help
                .strip_prefix("quote it: ")
                .and_then(|r| r.split(" (").next())
            {
                out.push((
                    format!("Quote it: {q}"),
                    vec![(d.span, q.to_string())],
                    true,
                ));
            } else if let Some(v) = help.strip_prefix("write it without quotes: ") {
                out.push((
                    format!("Write it without quotes: {v}"),
                    vec![(d.span, v.to_string())],
                    true,
                ));
            }
        }
        _ => {}
    }
    out
}

/// The text between the first `open` and the next `close` after it.
fn between<'t>(text: &'t str, open: &str, close: &str) -> Option<&'t str> {
    let s = text.find(open)? + open.len();
    let e = text[s..].find(close)? + s;
    Some(&text[s..e])
}

/// Where `member` is a whole segment of a `resolve` path (between `.` and `[`).
fn segment(path: &str, member: &str) -> Option<usize> {
    let mut at = 0;
    for part in path.split('.') {
        let name = part.split('[').next().unwrap_or(part);
        let lead = part.len() - part.trim_start_matches(['"', '\'']).len();
        if name.trim_matches(['"', '\'']) == member {
            return Some(at + lead);
        }
        at += part.len() + 1;
    }
    None
}

/// Replace a scalar's text, keeping its quotes when the span has them.
fn replace_scalar(text: &str, span: Span, new: &str) -> (Span, String) {
    let written = text.get(span.start..span.end).unwrap_or("");
    for q in ['"', '\''] {
        if written.len() >= 2 && written.starts_with(q) && written.ends_with(q) {
            return (Span::new(span.start + 1, span.end - 1), new.to_string());
        }
    }
    (span, new.to_string())
}

/// The span of the `subsystem` of the tracepoint whose `event` is at `event`.
fn subsystem_span(a: &Analysis, event: Span) -> Option<Span> {
    a.current?
        .policies
        .iter()
        .flat_map(|p| &p.policy.spec.hooks)
        .find(|h| h.target.as_ref().is_some_and(|t| t.span == event))?
        .subsystem
        .as_ref()
        .map(|s| s.span)
}

/// Insert `line` after the line holding `at`, at the column of `key` on that line (the key of
/// the mapping the new line joins).
fn insert_after_line_of(text: &str, at: usize, key: &str, line: &str) -> Option<(Span, String)> {
    let at = at.min(text.len());
    let ls = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[ls..at];
    let key_at = before.rfind(key)?;
    let col = before[..key_at].chars().count();
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    Some(match text[at..].find('\n') {
        Some(i) => {
            let next = at + i + 1;
            (
                Span::new(next, next),
                format!("{}{line}{eol}", " ".repeat(col)),
            )
        }
        None => (
            Span::new(text.len(), text.len()),
            format!("{eol}{}{line}", " ".repeat(col)),
        ),
    })
}

// ---------------------------------------------------------------------------------------------
// Write args from the prototype.

/// The hook whose item holds `offset`: its path in the outline.
fn hook_path_at(outline: &Outline, text: &str, offset: usize) -> Option<Vec<Seg>> {
    let spec = outline.get(outline.root?, "spec")?;
    for (kind, section) in HookKind::ALL {
        if !matches!(kind, HookKind::Kprobe | HookKind::Fentry | HookKind::Lsm) {
            continue;
        }
        let Some(seq) = outline.get(spec, section) else {
            continue;
        };
        for (i, item) in outline.items(seq).iter().enumerate() {
            let Some(node) = item.value.and_then(|v| outline.node(v)) else {
                continue;
            };
            let line = text[..item.dash.min(text.len())]
                .rfind('\n')
                .map_or(0, |p| p + 1);
            if line <= offset && offset <= node.span.end {
                return Some(vec![
                    Seg::Key("spec".into()),
                    Seg::Key(section.into()),
                    Seg::Index(i),
                ]);
            }
        }
    }
    None
}

fn write_args(a: &Analysis, offset: usize) -> Option<(String, Vec<(Span, String)>)> {
    let outline = Outline::parse(a.text, offset);
    let path = hook_path_at(&outline, a.text, offset)?;
    let hook: HookText = context::hook_text(&outline, &path, offset, a)?;
    let node = hook.node?;
    let target = hook.target.clone()?;
    let (proto, _) = context::first_proto(&hook, a.kernels)?;
    let declared: Vec<i64> = hook.args.iter().filter_map(|x| x.index).collect();
    let room = facts::MAX_ARGS.saturating_sub(hook.args.len() + hook.data.len());
    let missing: Vec<(usize, &str, &str)> = proto
        .params
        .iter()
        .enumerate()
        .take(facts::MAX_ARG_INDEX as usize + 1)
        .filter(|(i, _)| !declared.contains(&(*i as i64)))
        .filter_map(|(i, p)| Some((i, p.shape.best_type()?, p.name.as_str())))
        .take(room)
        .collect();
    if missing.is_empty() {
        return None;
    }
    let eol = if outline.crlf { "\r\n" } else { "\n" };
    let col = outline.node(node)?.col;
    let compact = outline.compact_lists.unwrap_or(true);
    let items = |dash_col: usize| -> String {
        let mut s = String::new();
        for (i, ty, name) in &missing {
            s.push_str(&format!("{}- index: {i}{eol}", " ".repeat(dash_col)));
            s.push_str(&format!("{}type: \"{ty}\"{eol}", " ".repeat(dash_col + 2)));
            if !name.is_empty() {
                s.push_str(&format!(
                    "{}label: \"{name}\"{eol}",
                    " ".repeat(dash_col + 2)
                ));
            }
        }
        s
    };
    let next_line = |at: usize| -> usize {
        a.text[at.min(a.text.len())..]
            .find('\n')
            .map_or(a.text.len(), |i| at + i + 1)
    };
    let needs_eol = |at: usize| at == a.text.len() && !a.text.is_empty() && !a.text.ends_with('\n');
    let edit = match outline.entry(node, "args") {
        Some(entry) => match entry.value.and_then(|v| outline.node(v)) {
            // A block list: after its last line.
            Some(seq) if matches!(seq.kind, NodeKind::Seq(_)) && !is_flow(a.text, seq.span) => {
                let at = next_line(seq.span.end);
                let lead = if needs_eol(at) { eol } else { "" };
                (Span::new(at, at), format!("{lead}{}", items(seq.col)))
            }
            // `args:` with nothing yet: under it.
            None => {
                let at = next_line(entry.key_span.end);
                let lead = if needs_eol(at) { eol } else { "" };
                let dash_col = if compact { col } else { col + 2 };
                (Span::new(at, at), format!("{lead}{}", items(dash_col)))
            }
            _ => return None,
        },
        None => {
            // After the hook's target, `syscall` and `return` lines.
            let last = outline
                .entries(node)
                .iter()
                .filter(|e| matches!(e.key.as_str(), "call" | "hook" | "syscall" | "return"))
                .map(|e| {
                    e.value
                        .and_then(|v| outline.node(v))
                        .map_or(e.key_span.end, |n| n.span.end)
                })
                .max()?;
            let at = next_line(last);
            let lead = if needs_eol(at) { eol } else { "" };
            let dash_col = if compact { col } else { col + 2 };
            (
                Span::new(at, at),
                format!("{lead}{}args:{eol}{}", " ".repeat(col), items(dash_col)),
            )
        }
    };
    let title = if declared.is_empty() {
        format!("Write args from the prototype of `{target}`")
    } else {
        let list: Vec<String> = missing.iter().map(|(i, _, _)| i.to_string()).collect();
        format!(
            "Add args {} from the prototype of `{target}`",
            list.join(", ")
        )
    };
    Some((title, vec![edit]))
}

fn is_flow(text: &str, span: Span) -> bool {
    text.get(span.start..span.end)
        .is_some_and(|t| t.trim_start().starts_with('['))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    use crate::context::fixtures::{kernels, testdata, with};

    /// Apply a workspace edit to a text.
    fn apply(text: &str, edit: &WorkspaceEdit) -> String {
        let lines = crate::convert::LineIndex::new(text);
        let mut edits: Vec<(usize, usize, String)> = edit
            .changes
            .as_ref()
            .unwrap()
            .values()
            .flatten()
            .map(|e| {
                (
                    lines.offset(text, e.range.start),
                    lines.offset(text, e.range.end),
                    e.new_text.clone(),
                )
            })
            .collect();
        edits.sort_by_key(|e| std::cmp::Reverse(e.0));
        let mut out = text.to_string();
        for (s, e, t) in edits {
            out.replace_range(s..e, &t);
        }
        out
    }

    fn uri() -> Uri {
        Uri::from_str("file:///policy.yaml").unwrap()
    }

    /// (title, kind, text after the edit) of every action over the whole text.
    fn all(
        text: &str,
        k: &[std::sync::Arc<policyctl_validator::kernel::Kernel>],
        checked: bool,
    ) -> Vec<(String, String, String)> {
        with(text, k, checked, None, |a| {
            code_actions(&uri(), a, 0, text.len())
                .into_iter()
                .map(|c| match c {
                    CodeActionOrCommand::CodeAction(c) => (
                        c.title,
                        c.kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
                        apply(text, c.edit.as_ref().unwrap()),
                    ),
                    CodeActionOrCommand::Command(_) => unreachable!(),
                })
                .collect()
        })
    }

    /// The quick fixes of a fixture file (checked against the fixture kernels): (title, the
    /// lines the edit changes).
    fn fixes(file: &str) -> Vec<(String, Vec<String>)> {
        let text = std::fs::read_to_string(testdata(file)).unwrap();
        all(&text, kernels(), true)
            .into_iter()
            .map(|(title, kind, after)| {
                assert_eq!(kind, "quickfix");
                (title, diff_lines(&text, &after))
            })
            .collect()
    }

    fn one(file: &str) -> (String, Vec<String>) {
        let mut f = fixes(file);
        assert_eq!(f.len(), 1, "{file}: {f:?}");
        f.remove(0)
    }

    #[test]
    fn did_you_mean_keeps_quotes() {
        assert_eq!(
            one("checks/K001/invalid.yaml"),
            (
                "Change to `__dev_queue_xmit`".into(),
                vec![
                    "  -  - call: \"dev_queue_xmit\"".into(),
                    "  +  - call: \"__dev_queue_xmit\"".into()
                ]
            )
        );
        assert_eq!(
            one("checks/K002/invalid.yaml").1[1],
            "  +  - hook: \"file_open\""
        );
        assert_eq!(
            one("checks/K003/invalid.yaml").1[1],
            "  +    event: \"sys_enter_fchmodat\""
        );
        assert_eq!(
            one("checks/S001/invalid_selector.yaml").1[1],
            "  +    selectors:"
        );
        assert_eq!(
            one("checks/S004/invalid.yaml").1[1],
            "  +        operator: \"Equal\""
        );
        assert_eq!(
            one("checks/S009/invalid.yaml").1[1],
            "  +kind: TracingPolicy"
        );
        assert_eq!(
            one("checks/P072/invalid.yaml").1[1],
            "  +  - call: \"list:exec-calls\""
        );
        // A member of a resolve path: only that segment changes.
        assert_eq!(
            one("checks/K012/invalid.yaml"),
            (
                "Change `path` to `f_path`".into(),
                vec![
                    "  -      resolve: \"path.dentry.d_name.name\"".into(),
                    "  +      resolve: \"f_path.dentry.d_name.name\"".into()
                ]
            )
        );
    }

    #[test]
    fn unused_suppressions_are_removed() {
        // The whole comment, alone on its line: the line goes.
        assert_eq!(
            one("checks/C001/invalid.yaml"),
            (
                "Remove the unused suppression".into(),
                vec!["  -        # policyctl: ignore[P041]".into()]
            )
        );
        // One code of a list: only that code goes.
        assert_eq!(
            one("checks/C001/invalid_unknown_code.yaml"),
            (
                "Remove `P410` from the suppression".into(),
                vec![
                    "  -        argSig: 19 # policyctl: ignore[P041, P410]".into(),
                    "  +        argSig: 19 # policyctl: ignore[P041]".into()
                ]
            )
        );
    }

    #[test]
    fn syscall_flag_and_types_and_parameters() {
        assert_eq!(
            one("checks/P006/invalid.yaml"),
            (
                "Add `syscall: false`".into(),
                vec!["  +    syscall: false".into()]
            )
        );
        // Without kernels, P019 (with them, K003).
        let text = std::fs::read_to_string(testdata("checks/P019/invalid.yaml")).unwrap();
        let f = all(&text, &[], true);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].0, "Write `subsystem: sched`");
        assert_eq!(
            diff_lines(&text, &f[0].2),
            [
                "  -  - subsystem: \"syscalls\"",
                "  +  - subsystem: \"sched\""
            ]
        );
        assert_eq!(
            one("checks/K003/invalid_subsystem.yaml"),
            (
                "Write `subsystem: sched`".into(),
                vec![
                    "  -  - subsystem: \"net\"".into(),
                    "  +  - subsystem: \"sched\"".into()
                ]
            )
        );
        assert_eq!(
            one("checks/P006/invalid_syscall_false.yaml").1[1],
            "  +    syscall: true"
        );
        let text = "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: x\nspec:\n  kprobes:\n  - call: 'openat'\n";
        let f = all(text, &[], false);
        assert_eq!(f[0].0, "Write `call: \"sys_openat\"`");
        assert!(f[0].2.ends_with("  - call: 'sys_openat'\n"));
        assert_eq!(
            one("checks/K011/invalid.yaml"),
            (
                "Use `type: \"filename\"`".into(),
                vec![
                    "  -      type: \"file\"".into(),
                    "  +      type: \"filename\"".into()
                ]
            )
        );
        assert_eq!(
            one("checks/K013/invalid_per_kernel.yaml").1[1],
            "  +      type: \"dentry\""
        );
        assert_eq!(
            one("checks/P040/invalid.yaml"),
            (
                "Add `argSig: 9`".into(),
                vec!["  +        argSig: 9".into()]
            )
        );
        assert_eq!(
            one("checks/P040/invalid_empty_argsig.yaml").1[1],
            "  +        argSig: 9"
        );
        assert_eq!(
            one("checks/S003/invalid_unquoted_port.yaml").1[1],
            "  +        - \"443\""
        );
        assert_eq!(one("checks/S003/invalid.yaml").1[1], "  +      - index: 0");
    }

    #[test]
    fn quick_fixes_carry_their_diagnostic_and_only_in_range() {
        let text = std::fs::read_to_string(testdata("checks/S001/invalid.yaml")).unwrap();
        let at = text.find("    mesage").unwrap() + 4;
        with(&text, &[], false, None, |a| {
            let actions = code_actions(&uri(), a, at + 2, at + 2);
            let CodeActionOrCommand::CodeAction(c) = &actions[0] else {
                panic!("a code action")
            };
            assert_eq!(c.kind, Some(CodeActionKind::QUICKFIX));
            assert_eq!(c.is_preferred, Some(true));
            let d = &c.diagnostics.as_ref().unwrap()[0];
            assert_eq!(
                d.code,
                Some(tower_lsp_server::ls_types::NumberOrString::String(
                    "S001".into()
                ))
            );
            assert!(d.message.ends_with("help: did you mean `message`?"));
            assert_eq!(d.range, a.lines.range(&text, Span::new(at, at + 6)));
            let edits = &c.edit.as_ref().unwrap().changes.as_ref().unwrap()[&uri()];
            assert_eq!(edits[0].new_text, "message");
            // Elsewhere: nothing.
            assert!(code_actions(&uri(), a, 0, 0).is_empty());
        });
    }

    #[test]
    fn tracefs_suggestions_change_the_subsystem_too() {
        let text = "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: x\nspec:\n  tracepoints:\n  - subsystem: \"sched\"\n    event: \"sys_enter_opnat\"\n";
        let mut report =
            policyctl_validator::check_source(policyctl_validator::SourceFile::new("t.yaml", text));
        let event = text.find("\"sys_enter_opnat\"").unwrap();
        report.diagnostics.push(
            Diagnostic::new(
                Code::K003,
                Span::new(event, event + 17),
                "no such tracepoint",
            )
            .help("did you mean `syscalls/sys_enter_openat`?"),
        );
        let lines = crate::convert::LineIndex::new(text);
        let a = Analysis {
            text,
            lines: &lines,
            current: Some(&report),
            last_good: None,
            kernels: &policyctl_validator::kernel::KernelSet::new(),
        };
        let actions = code_actions(&uri(), &a, event, event);
        let CodeActionOrCommand::CodeAction(c) = &actions[0] else {
            panic!("a code action")
        };
        let after = apply(text, c.edit.as_ref().unwrap());
        assert!(
            after.ends_with("  - subsystem: \"syscalls\"\n    event: \"sys_enter_openat\"\n"),
            "{after}"
        );
    }

    const HEAD: &str =
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: x\nspec:\n";

    type Kernels = [std::sync::Arc<policyctl_validator::kernel::Kernel>];

    /// The args action at the hook's target: (title, the text after `spec:`).
    fn args_action(body: &str, k: &Kernels) -> Option<(String, String)> {
        let text = format!("{HEAD}{body}");
        let at = text.find("call:").or_else(|| text.find("hook:")).unwrap();
        with(&text, k, false, None, |a| {
            code_actions(&uri(), a, at, at)
                .into_iter()
                .find_map(|c| match c {
                    CodeActionOrCommand::CodeAction(c)
                        if c.kind == Some(CodeActionKind::REFACTOR_REWRITE) =>
                    {
                        let after = apply(&text, c.edit.as_ref().unwrap());
                        Some((c.title, after[HEAD.len()..].to_string()))
                    }
                    _ => None,
                })
        })
    }

    #[test]
    fn write_args_from_the_prototype() {
        let k = kernels();
        assert_eq!(
            args_action("  kprobes:\n  - call: \"do_mkdirat\"\n    syscall: false\n    selectors:\n    - matchActions:\n      - action: Post\n", k),
            Some((
                "Write args from the prototype of `do_mkdirat`".into(),
                "  kprobes:\n  - call: \"do_mkdirat\"\n    syscall: false\n    args:\n    - index: 0\n      type: \"int\"\n      label: \"dfd\"\n    - index: 1\n      type: \"filename\"\n      label: \"name\"\n    - index: 2\n      type: \"uint16\"\n      label: \"mode\"\n    selectors:\n    - matchActions:\n      - action: Post\n".into()
            ))
        );
        // A syscall, from the syscall table, with the kernel's typedefs (umode_t); existing args
        // kept, the missing ones appended after the list (not after its comment).
        let (title, text) = args_action(
            "  kprobes:\n  - call: sys_openat\n    args:\n    - index: 1\n      type: string\n    # a comment\n\n  - call: x\n",
            k,
        )
        .unwrap();
        assert_eq!(title, "Add args 0, 2, 3 from the prototype of `sys_openat`");
        assert_eq!(text, "  kprobes:\n  - call: sys_openat\n    args:\n    - index: 1\n      type: string\n    - index: 0\n      type: \"int\"\n      label: \"dfd\"\n    - index: 2\n      type: \"int\"\n      label: \"flags\"\n    - index: 3\n      type: \"uint16\"\n      label: \"mode\"\n    # a comment\n\n  - call: x\n");
        // Without kernels, syscalls still work.
        let (_, text) = args_action("  kprobes:\n  - call: sys_openat\n", &[]).unwrap();
        assert!(
            text.contains("    - index: 1\n      type: \"string\"\n      label: \"filename\"\n"),
            "{text}"
        );
        // An LSM hook in the indented list style, under an empty `args:`, at the end of the
        // file.
        let (_, text) =
            args_action("  lsmhooks:\n    - hook: file_permission\n      args:", k).unwrap();
        assert_eq!(text, "  lsmhooks:\n    - hook: file_permission\n      args:\n        - index: 0\n          type: \"file\"\n          label: \"file\"\n        - index: 1\n          type: \"int\"\n          label: \"mask\"\n");
        // CRLF.
        let (_, text) = args_action("  lsmhooks:\r\n  - hook: file_open\r\n", k).unwrap();
        assert!(
            text.ends_with("  - hook: file_open\r\n    args:\r\n    - index: 0\r\n      type: \"file\"\r\n      label: \"file\"\r\n"),
            "{text:?}"
        );
        // Complete args, unknown functions: no action.
        assert_eq!(
            args_action(
                "  lsmhooks:\n  - hook: file_open\n    args:\n    - index: 0\n      type: file\n",
                k
            ),
            None
        );
        assert_eq!(
            args_action(
                "  kprobes:\n  - call: no_such_function\n    syscall: false\n",
                k
            ),
            None
        );
        // At most five args (args + data).
        let (_, text) = args_action("  kprobes:\n  - call: sys_mmap\n", k).unwrap();
        assert_eq!(text.matches("- index").count(), 5);
    }

    #[test]
    fn any_range() {
        let k = kernels();
        for file in [
            "checks/K011/invalid.yaml",
            "checks/P040/invalid.yaml",
            "policies/valid/16-kprobe-tcp-socket-tracking.yaml",
        ] {
            let text = std::fs::read_to_string(testdata(file)).unwrap();
            with(&text, k, true, None, |a| {
                for i in (0..=text.len() + 1).step_by(3) {
                    let _ = code_actions(&uri(), a, i, i + 7);
                }
                let _ = code_actions(&uri(), a, text.len() + 5, 2);
            });
        }
    }

    fn diff_lines(a: &str, b: &str) -> Vec<String> {
        let al: Vec<&str> = a.lines().collect();
        let bl: Vec<&str> = b.lines().collect();
        let mut p = 0;
        while p < al.len() && p < bl.len() && al[p] == bl[p] {
            p += 1;
        }
        let mut s = 0;
        while s < al.len() - p && s < bl.len() - p && al[al.len() - 1 - s] == bl[bl.len() - 1 - s] {
            s += 1;
        }
        let mut out = vec![];
        for l in &al[p..al.len() - s] {
            out.push(format!("  -{l}"));
        }
        for l in &bl[p..bl.len() - s] {
            out.push(format!("  +{l}"));
        }
        out
    }
}
