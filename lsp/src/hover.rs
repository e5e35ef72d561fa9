//! Hover: what the word under the cursor means, in Markdown.
//!
//! - a hooked function (`call`, an LSM `hook`, a tracepoint `event`): its prototype (or fields)
//!   on each configured kernel, identical ones grouped, and the kernels that lack it; for
//!   kprobes, the arg type that reads each parameter;
//! - a key: the schema field's doc, type, default and values;
//! - an `operator`: what it does and the arg types it works on (and whether this filter's arg is
//!   one of them); an `action`: what it does, its parameters, the hook kinds that refuse it;
//! - an arg `type`: what it reads and how it can be filtered, and whether it fits the parameter
//!   at the arg's index;
//! - capability, signal, protocol, family and TCP state names and numbers.
//!
//! Like completion, it reads the text around the cursor ([`Context`]), so it works while the
//! YAML does not parse.

use std::fmt::Write as _;

use policyctl_validator::facts;
use policyctl_validator::kernel::tracepoints::{self, Pair};
use policyctl_validator::kernel::Known;
use policyctl_validator::schema::table::{Field, Obj, Ty};
use tower_lsp_server::ls_types::{Hover, HoverContents, MarkupContent, MarkupKind};

use crate::analysis::Analysis;
use crate::completion::{field_markdown, resolve};
use crate::context::{self, Context, HookText, Seg, Slot};

/// The hover at a byte offset of the document, if the word there means something.
pub fn hover(a: &Analysis, offset: usize) -> Option<Hover> {
    let ctx = Context::at(a.text, offset);
    if ctx.word.is_empty() || ctx.slot == Slot::None {
        return None;
    }
    let word = a.text.get(ctx.word.start..ctx.word.end)?;
    let hook = ctx.hook(a);
    let value = match ctx.slot {
        Slot::Key => key_hover(&ctx.path, word),
        Slot::Item if ctx.has_colon => key_hover(&ctx.path, word),
        Slot::Item | Slot::Value => value_hover(a, &ctx, hook.as_ref(), word),
        Slot::None => None,
    }?;
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: Some(a.lines.range(a.text, ctx.word)),
    })
}

/// A key of the object at `path`.
fn key_hover(path: &[Seg], key: &str) -> Option<String> {
    let obj: &Obj = match resolve(path)?.ty {
        Ty::Obj(o) => o,
        _ => return None,
    };
    let field = obj.field(key)?;
    let mut s = format!(
        "**`{}`** of {}\n\n{}",
        field.name,
        obj.name,
        field_markdown(field)
    );
    if let Ty::Obj(inner) | Ty::Arr(Ty::Obj(inner)) = &field.ty {
        let _ = write!(s, "\n\n{}: {}", inner.name, inner.doc);
    }
    if obj.name == "ActionSelector" {
        let users: Vec<&str> = facts::ACTIONS
            .iter()
            .filter(|a| a.required.contains(&key) || a.optional.contains(&key))
            .map(|a| a.name)
            .collect();
        if !users.is_empty() {
            let _ = write!(s, "\n\nUsed by: {}", users.join(", "));
        }
    }
    Some(s)
}

fn value_hover(a: &Analysis, ctx: &Context, hook: Option<&HookText>, word: &str) -> Option<String> {
    let r = resolve(&ctx.path)?;
    let (owner, field) = (r.owner?, r.field?);
    let text = match (owner.name, field.name) {
        ("KProbeSpec", "call") | ("LsmHookSpec", "hook") | ("TracepointSpec", "event") => {
            let mut hook = hook?.clone();
            hook.target = Some(word.to_string());
            prototypes(a, &hook)
        }
        ("TracepointSpec", "subsystem") => {
            let table = tracepoints::table();
            let n = table.events_of(word).len();
            Some(if n == 0 {
                format!(
                    "Subsystem `{word}`: not in the reference table of {}; its events cannot be checked without the kernel's tracefs",
                    table.provenance()
                )
            } else {
                format!(
                    "Subsystem `{word}`: {n} events in the reference table of {}",
                    table.provenance()
                )
            })
        }
        ("ArgSelector", "operator") => operator_hover(ctx, hook, word),
        ("ActionSelector", "action") => action_hover(word),
        ("ActionSelector", "argSig") => {
            let n: usize = word.parse().ok()?;
            let name = facts::SIGNALS.get(n.checked_sub(1)?)?;
            Some(format!("Signal {n}: **{name}**"))
        }
        ("KProbeArg", "type") => arg_type_hover(a, ctx, hook, word),
        ("CapabilitiesSelector", "values") => {
            let upper = word.trim().to_ascii_uppercase();
            let n = facts::CAPABILITIES.iter().position(|c| *c == upper)?;
            Some(format!("**{upper}**: Linux capability {n}"))
        }
        ("ArgSelector", "values") => named_value(word),
        _ => None,
    };
    text.or_else(|| enum_value(field, word))
}

/// An enum value: the field's doc, the value marked.
fn enum_value(field: &Field, word: &str) -> Option<String> {
    if !field.enum_values.contains(&word) && !matches!(field.ty, Ty::Bool) {
        return None;
    }
    Some(format!(
        "`{word}`: a value of **`{}`**\n\n{}",
        field.name,
        field_markdown(field)
    ))
}

/// Protocol, family and TCP state names with their numbers.
fn named_value(word: &str) -> Option<String> {
    for (table, what) in [
        (facts::PROTOCOLS, "IP protocol"),
        (facts::FAMILIES, "address family"),
        (facts::TCP_STATES, "TCP state"),
    ] {
        if let Some((n, v)) = table.iter().find(|(n, _)| *n == word) {
            return Some(format!("**{n}**: {what} {v}"));
        }
    }
    None
}

/// The hooked function's prototype on each kernel, identical ones grouped.
fn prototypes(a: &Analysis, hook: &HookText) -> Option<String> {
    let target = hook.target.as_deref()?;
    let mut s = String::new();
    let syscall = hook.is_syscall();
    let what = match hook.kind {
        facts::HookKind::Lsm => format!("LSM hook `{target}` (BPF LSM: `bpf_lsm_{target}`)"),
        facts::HookKind::Tracepoint => format!(
            "tracepoint `{}/{target}`",
            hook.subsystem.as_deref().unwrap_or("?")
        ),
        _ if syscall => match context::bare_syscall(target) {
            Some(bare) => format!("syscall `{bare}`"),
            None => format!("`{target}`, hooked as a syscall (`syscall` is true)"),
        },
        _ => format!("kernel function `{target}`"),
    };
    let _ = writeln!(s, "**{what}**\n");
    if hook.kind == facts::HookKind::Tracepoint && !hook.raw {
        if let Some(sub) = hook.subsystem.as_deref() {
            let _ = writeln!(s, "{}\n", subsystem_note(a, sub, target));
        }
    }
    if a.kernels.is_empty() {
        match context::hook_proto(hook, None) {
            Some(p) => {
                let _ = writeln!(s, "```c\n{}\n```\nfrom {}", p.text, p.source);
                params_table(&mut s, &p);
            }
            None => {
                let _ = writeln!(s, "No kernel is configured to show its prototype.");
            }
        }
        return Some(s);
    }
    let name = |i: &usize| a.kernels[*i].name.as_str();
    let protos = a.kernels.each(|k| context::hook_proto(hook, Some(k)));
    let groups = protos.groups_by(|p| p.text.clone());
    for g in &groups {
        let where_ = if g.kernels.len() == a.kernels.len() && a.kernels.len() > 1 {
            "on every kernel".to_string()
        } else {
            let on: Vec<&str> = g.kernels.iter().map(name).collect();
            format!("on {}", on.join(", "))
        };
        let _ = writeln!(s, "```c\n{}\n```\n{where_}\n", g.value.text);
    }
    if let Some(g) = groups.first() {
        if syscall {
            let _ = writeln!(s, "Arguments from {}.\n", g.value.source);
        }
        params_table(&mut s, g.value);
    }
    let missing: Vec<&str> = protos.missing().iter().map(name).collect();
    if !missing.is_empty() {
        let _ = writeln!(s, "\n**Not on** {}", missing.join(", "));
    }
    Some(s)
}

/// Which subsystem a tracepoint event is in, and where that comes from: each kernel's tracefs,
/// else the reference table (for a kernel known by its BTF, or no kernel); or why the pair
/// cannot be checked.
fn subsystem_note(a: &Analysis, sub: &str, event: &str) -> String {
    let table = tracepoints::table();
    let judge = |subs: &[String], from: &str| -> String {
        if subs.iter().any(|s| s == sub) {
            format!("`{sub}/{event}`: checked against {from}")
        } else {
            let list: Vec<String> = subs.iter().map(|s| format!("`{s}`")).collect();
            format!(
                "**`{event}` is in {}, not `{sub}`** (from {from})",
                list.join(" and ")
            )
        }
    };
    if a.kernels.is_empty() {
        return match table.pair(sub, event) {
            Pair::Unknown => format!(
                "The subsystem cannot be checked: no kernel is configured and the reference table of {} does not have `{event}`",
                table.provenance()
            ),
            Pair::Known | Pair::Elsewhere(_) => judge(
                &table
                    .subsystems_of(event)
                    .into_iter()
                    .map(str::to_string)
                    .collect::<Vec<_>>(),
                &format!("the reference table of {}", table.provenance()),
            ),
        };
    }
    let lines = a.kernels.each(|k| {
        Some(match k.event_subsystems(event) {
            Known::Yes(subs, _) if subs.is_empty() => {
                format!("`{sub}/{event}` is not in the kernel's tracefs")
            }
            Known::Yes(subs, from) => judge(&subs, &from),
            Known::Unknown(why) => format!("The subsystem cannot be checked: {why}"),
        })
    });
    let groups = lines.groups_by(String::clone);
    if let [one] = &groups[..] {
        return one.value.clone();
    }
    groups
        .iter()
        .map(|g| {
            let on: Vec<&str> = g
                .kernels
                .iter()
                .map(|&i| a.kernels[i].name.as_str())
                .collect();
            format!("{} (on {})", g.value, on.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// `index · parameter · arg type` for the parameters a hook can read.
fn params_table(s: &mut String, p: &context::ProtoInfo) {
    if p.params.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n| index | parameter | type |\n|---|---|---|");
    for (i, param) in p.params.iter().enumerate() {
        let _ = writeln!(
            s,
            "| {i} | `{}` | {} |",
            param.c,
            param
                .shape
                .best_type()
                .map_or_else(|| "—".to_string(), |t| format!("`{t}`"))
        );
    }
}

fn operator_hover(ctx: &Context, hook: Option<&HookText>, word: &str) -> Option<String> {
    let op = facts::operator(word)?;
    let mut s = format!("**{}**: {}\n\n", op.name, op.doc);
    let fits: Vec<&str> = policyctl_validator::schema::table::ARG_TYPES
        .iter()
        .copied()
        .filter(|t| facts::operator_fits(op, t).is_ok())
        .collect();
    if op.kind != facts::OpKind::Cel {
        let _ = writeln!(s, "Works on: {}", fits.join(", "));
    }
    // This filter's arg.
    let filter = filter_key(&ctx.path);
    let index = ctx
        .sibling("index")
        .and_then(|i| i.trim().parse().ok())
        .or((filter == Some("matchReturnArgs")).then_some(0));
    if let (Some(hook), Some(filter)) = (hook, filter) {
        if let Some(ty) = hook.filtered_type(filter, index).filter(|t| *t != "auto") {
            let _ = match facts::operator_fits(op, ty) {
                Ok(()) => writeln!(s, "\nThis filter's arg is `{ty}`: it fits."),
                Err(why) => writeln!(s, "\nThis filter's arg is `{ty}`: {why}."),
            };
        }
    }
    Some(s)
}

/// The filter list of a path ending in `[..., filter, Index, operator]`.
fn filter_key(path: &[Seg]) -> Option<&str> {
    let last_key = path.iter().rposition(|s| matches!(s, Seg::Key(_)))?;
    match path.get(last_key.checked_sub(2)?)? {
        Seg::Key(k) => Some(k),
        Seg::Index(_) => None,
    }
}

fn action_hover(word: &str) -> Option<String> {
    let spec = facts::action(word)?;
    let mut s = format!("**{}**: {}\n", spec.name, spec.doc);
    if !spec.required.is_empty() {
        let _ = writeln!(s, "\nNeeds: `{}`", spec.required.join("`, `"));
    }
    if !spec.optional.is_empty() {
        let _ = writeln!(s, "\nTakes: `{}`", spec.optional.join("`, `"));
    }
    if !spec.not_on.is_empty() {
        let kinds: Vec<&str> = spec.not_on.iter().map(|k| k.key()).collect();
        let _ = writeln!(s, "\nNot on: {}", kinds.join(", "));
    }
    if spec.enforcement {
        let _ = writeln!(s, "\nAn enforcement action.");
    }
    Some(s)
}

fn arg_type_hover(
    a: &Analysis,
    ctx: &Context,
    hook: Option<&HookText>,
    word: &str,
) -> Option<String> {
    if !policyctl_validator::schema::table::ARG_TYPES.contains(&word) {
        return None;
    }
    let mut s = format!("**{word}**: {}\n", facts::arg_type_doc(word));
    let ops: Vec<&str> = facts::OPERATORS
        .iter()
        .filter(|o| o.kind != facts::OpKind::Cel && facts::operator_fits(o, word).is_ok())
        .map(|o| o.name)
        .collect();
    let _ = if ops.is_empty() {
        writeln!(s, "\nNot filtered in the kernel (only printed in events).")
    } else {
        writeln!(s, "\nOperators: {}", ops.join(", "))
    };
    // The parameter at this arg's index.
    let hook = hook?;
    let list = match ctx.path.get(3) {
        Some(Seg::Key(k)) => k.as_str(),
        _ => return Some(s),
    };
    let Some((proto, kernel)) = context::first_proto(hook, a.kernels) else {
        return Some(s);
    };
    let (c, shape) = match list {
        "returnArg" => match proto.ret {
            Some(r) => r,
            None => return Some(s),
        },
        "args" => {
            let Some(i) = ctx
                .sibling("index")
                .and_then(|i| i.trim().parse::<usize>().ok())
            else {
                return Some(s);
            };
            match proto.params.into_iter().nth(i) {
                Some(p) => (p.c, p.shape),
                None => return Some(s),
            }
        }
        _ => return Some(s),
    };
    let on = kernel.map_or_else(|| "the syscall table".to_string(), |k| k.name.clone());
    let _ = match (shape.fits(word), shape.best_type()) {
        (Some(true), _) => writeln!(s, "\nReads `{c}` (on {on}): it fits."),
        (_, Some(best)) => writeln!(
            s,
            "\nReads `{c}` (on {on}): `{word}` does not fit; `{best}` does."
        ),
        _ => writeln!(s, "\nReads `{c}` (on {on})."),
    };
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::fixtures::{kernels, marked, with};

    fn at(text: &str, k: &[std::sync::Arc<policyctl_validator::kernel::Kernel>]) -> Option<String> {
        let (text, offset) = marked(text);
        with(&text, k, false, None, |a| {
            hover(a, offset).map(|h| match h.contents {
                HoverContents::Markup(m) => m.value,
                _ => String::new(),
            })
        })
    }

    const HEAD: &str =
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: x\nspec:\n";

    #[test]
    fn prototypes_on_each_kernel() {
        let k = kernels();
        let h = at(
            &format!("{HEAD}  kprobes:\n  - call: do_mk‸dirat\n    syscall: false\n"),
            k,
        )
        .unwrap();
        assert_eq!(
            h,
            "**kernel function `do_mkdirat`**\n\n```c\nint do_mkdirat(int dfd, struct filename *name, umode_t mode)\n```\non every kernel\n\n\n| index | parameter | type |\n|---|---|---|\n| 0 | `int dfd` | `int` |\n| 1 | `struct filename *name` | `filename` |\n| 2 | `umode_t mode` | `uint16` |\n"
        );
        // Missing on one kernel.
        let h = at(
            &format!("{HEAD}  lsmhooks:\n  - hook: \"file_post_o‸pen\"\n"),
            k,
        )
        .unwrap();
        assert!(h.contains("```c\nint bpf_lsm_file_post_open(struct file *file, int mask)\n```\non 6.12.117+deb12-amd64, 6.18.44-fc-v769\n"), "{h}");
        assert!(h.ends_with("**Not on** 6.1.0-56-amd64\n"), "{h}");
        // A function whose prototype differs between kernels: one block per prototype.
        let h = at(
            &format!("{HEAD}  kprobes:\n  - call: vfs_m‸kdir\n    syscall: false\n"),
            k,
        )
        .unwrap();
        assert_eq!(h.matches("```c").count(), 3, "{h}");
        assert!(h.contains("```c\nint vfs_mkdir(struct user_namespace *mnt_userns, struct inode *dir, struct dentry *dentry, umode_t mode)\n```\non 6.1.0-56-amd64\n"), "{h}");
        // A syscall, from the syscall table; without kernels too.
        let h = at(
            &format!("{HEAD}  kprobes:\n  - call: \"sys_op‸enat\"\n"),
            &[],
        )
        .unwrap();
        assert!(h.starts_with("**syscall `openat`**\n\n```c\nlong sys_openat(int dfd, const char *filename, int flags, umode_t mode)\n```\nfrom the syscall table"), "{h}");
        assert!(h.contains("| 1 | `const char *filename` | `string` |"));
        // Unknown everywhere.
        let h = at(
            &format!("{HEAD}  kprobes:\n  - call: no_such_f‸unc\n    syscall: false\n"),
            k,
        )
        .unwrap();
        assert!(
            h.ends_with("**Not on** 6.1.0-56-amd64, 6.12.117+deb12-amd64, 6.18.44-fc-v769\n"),
            "{h}"
        );
        // A tracepoint's fields.
        let h = at(
            &format!(
                "{HEAD}  tracepoints:\n  - subsystem: syscalls\n    event: sys_enter_open‸at\n"
            ),
            &k[..1],
        )
        .unwrap();
        assert!(
            h.contains("syscalls/sys_enter_openat: 0: unsigned short common_type"),
            "{h}"
        );
    }

    #[test]
    fn tracepoint_subsystems_say_where_they_come_from() {
        let k = kernels();
        // BTF kernels: the reference table decides, with its provenance.
        let h = at(
            &format!("{HEAD}  tracepoints:\n  - subsystem: net\n    event: sched_process_e‸xec\n"),
            k,
        )
        .unwrap();
        assert!(
            h.contains("**`sched_process_exec` is in `sched`, not `net`** (from the reference table of Linux "),
            "{h}"
        );
        let h = at(
            &format!(
                "{HEAD}  tracepoints:\n  - subsystem: sched\n    event: sched_process_e‸xec\n"
            ),
            k,
        )
        .unwrap();
        assert!(
            h.contains("`sched/sched_process_exec`: checked against the reference table of Linux "),
            "{h}"
        );
        // An event the table lacks: cannot be checked, and why.
        let h = at(
            &format!("{HEAD}  tracepoints:\n  - subsystem: mine\n    event: my_ev‸ent\n"),
            &[],
        )
        .unwrap();
        assert!(h.contains("The subsystem cannot be checked: no kernel is configured and the reference table of Linux "), "{h}");
        let h = at(
            &format!("{HEAD}  tracepoints:\n  - subsystem: sch‸ed\n    event: x\n"),
            &[],
        )
        .unwrap();
        assert!(h.starts_with("Subsystem `sched`: "), "{h}");
    }

    #[test]
    fn keys_operators_actions_types() {
        let k = kernels();
        let h = at(&format!("{HEAD}  kprobes:\n  - ca‸ll: sys_openat\n"), &[]).unwrap();
        assert_eq!(h, "**`call`** of KProbeSpec\n\nThe kernel function (or `sys_<name>` with syscall: true, or `list:NAME`).\n\n*string* · required");
        let h = at(
            &format!("{HEAD}  kprobes:\n  - call: x\n    sysc‸all: false\n"),
            &[],
        )
        .unwrap();
        assert!(h.contains("*boolean* · default `true`"), "{h}");
        let h = at(&format!("{HEAD}  kprobes:\n  - call: x\n    selectors:\n    - matchActions:\n      - action: Signal\n        arg‸Sig: 9\n"), &[]).unwrap();
        assert!(h.ends_with("Used by: Signal, NotifyEnforcer"), "{h}");
        let h = at(&format!("{HEAD}  kprobes:\n  - call: x\n    selectors:\n    - matchActions:\n      - action: Signal\n        argSig: ‸9\n"), &[]).unwrap();
        assert_eq!(h, "Signal 9: **SIGKILL**");
        let sel = format!("{HEAD}  lsmhooks:\n  - hook: file_open\n    args:\n    - index: 0\n      type: file\n    selectors:\n    - matchArgs:\n      - index: 0\n        operator: GT‸\n      matchActions:\n      - action: Overr‸ide\n");
        let h = at(&sel, &[]).unwrap();
        assert!(
            h.starts_with("**GT**: The integer is greater than the value.\n\nWorks on: int,"),
            "{h}"
        );
        // The why is the validator's (P021), in its words.
        assert!(h.contains("\n\nThis filter's arg is `file`"), "{h}");
        let second = sel.replacen('‸', "", 1);
        let h = at(&second, &[]).unwrap();
        assert!(
            h.contains("Needs: `argError`") && h.contains("Not on: fentries, tracepoints"),
            "{h}"
        );
        let h = at(&format!("{HEAD}  kprobes:\n  - call: do_mkdirat\n    syscall: false\n    args:\n    - index: 1\n      type: \"fi‸le\"\n"), k).unwrap();
        assert!(
            h.starts_with("**file**: a `struct file *`, read as its path"),
            "{h}"
        );
        assert!(h.ends_with("Reads `struct filename *name` (on 6.1.0-56-amd64): `file` does not fit; `filename` does.\n"), "{h}");
        let h = at(&format!("{HEAD}  kprobes:\n  - call: x\n    selectors:\n    - matchBinaries:\n      - operator: No‸tIn\n"), &[]).unwrap();
        assert!(h.starts_with("`NotIn`: a value of **`operator`**"), "{h}");
        let h = at(&format!("{HEAD}  kprobes:\n  - call: x\n    selectors:\n    - matchCapabilities:\n      - operator: In\n        values: [CAP_SYS_AD‸MIN]\n"), &[]).unwrap();
        assert_eq!(h, "**CAP_SYS_ADMIN**: Linux capability 21");
        assert_eq!(at(&format!("{HEAD}‸\n"), &[]), None);
        assert_eq!(at("# a comm‸ent\n", &[]), None);
    }

    #[test]
    fn any_offset() {
        let text = std::fs::read_to_string(crate::context::fixtures::testdata(
            "policies/valid/13-kprobe-interpreter-public-egress.yaml",
        ))
        .unwrap();
        for t in [text.as_str(), "é: [😀, {a: \"", "- - :\n\t"] {
            with(t, kernels(), false, None, |a| {
                for i in 0..=t.len() + 1 {
                    let _ = hover(a, i);
                }
            });
        }
    }
}
