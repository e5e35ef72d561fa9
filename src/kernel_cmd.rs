//! `policyctl kernel`: what a kernel offers a policy author: its functions with their
//! prototypes, syscalls, LSM hooks, tracepoints, and which kinds of hooks it supports.
//!
//! Every listing takes an optional pattern (`*` and `?` are wildcards; without them the pattern
//! matches names that contain it). With one kernel each match is one line. With several
//! (`--btf` given more than once) the listings are merged by name, the "will my policy work on my
//! fleet" view: a name whose prototype is the same on every kernel is one line (with the kernels
//! that lack it, if any), a name whose prototype differs gets one line per kernel, with what
//! differs in the terms a policy uses (`return type`, `arg 1`). A pattern that is exactly a
//! name puts that name first and always shows it on each kernel.
//!
//! Exit codes: 0 when something matched (on any kernel), 1 when nothing did, 2 for usage and
//! I/O errors (`policyctl: ...` on stderr).
//!
//! # JSON (`--format json`)
//!
//! One object per run. The listings (`funcs`, `syscalls`, `lsm`, `tracepoints`) share a shape:
//!
//! ```text
//! { "kernels": ["6.1.0-56-amd64", ...],   names, in --btf order
//!   "pattern": "vfs_mkdir" | null,
//!   "total": 3,                           matching names, on any kernel
//!   "shown": 3,                           entries below (after --limit)
//!   "<items>": [                          functions | syscalls | hooks | tracepoints
//!     { "name": "vfs_mkdir",
//!       "status": "same" | "differs" | "missing",   missing: absent on some kernel, the same
//!                                                    where present
//!       "differences": ["return type", "arg 0"],    what differs between the kernels
//!       ...item fields...,
//!       "kernels": [ { "kernel": "6.1.0-56-amd64", "present": true, ...per-kernel fields } ] } ] }
//! ```
//!
//! Per-kernel fields (all keys always present, `null` when the item is absent there):
//! - functions: `prototype`, `return`, `params` (`[{index, name, type}]`), `module` (`null` for
//!   vmlinux; module functions are found by exact name, the pattern search covers vmlinux);
//! - hooks: `function` (`bpf_lsm_<hook>`), `prototype`, `return`, `params`, `module`;
//! - syscalls: `stub` (`__x64_sys_openat`); the item itself has `args` (`[{index, name, type}]`,
//!   `null` when the syscall table does not know it) and `args_source`;
//! - tracepoints: `raw_args` (`[{index, name, type}]`, the raw tracepoint's arguments after the
//!   context, `null` without `btf_trace_<event>`); the item has `subsystem` (`null` when only
//!   BTF is known, which does not record it) and `event`.
//!
//! `tracepoint`: `{subsystem, event, kernels: [{kernel, found, fields, fields_source,
//! fields_unknown, raw_args, raw_args_source}]}`; `fields` are `[{index, name, type}]` with the
//! index a policy's `args[].index` uses (`common_*` fields included).
//!
//! `info`: `{kernels: [{name, btf, types, functions, arch, syscalls, tracepoints, config,
//! bpf_lsm: {hooks, hooks_source, config_bpf_lsm, config_lsm, active_lsms}, kprobes: {status,
//! config, reason}, uprobes: {status, config, reason}, error_injection: {status, functions,
//! source, reason}, host: null | {tracefs, tracefs_events, active_lsms}}]}`; `status` is `yes` / `no` /
//! `unknown` for probes and `list` / `unsupported` / `unknown` for error injection; `config`
//! maps option names (`CONFIG_KPROBES`) to `y` / `m` / `n` / their text.

use std::io::Write;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use policyctl_validator::btf::Btf;
use policyctl_validator::kernel::config::ConfigValue;
use policyctl_validator::kernel::set::{Across, Agreement as Status};
use policyctl_validator::kernel::{self, syscalls, ErrorInjection, Func, Kernel, KernelSet, Known};
use policyctl_validator::suggest::did_you_mean;
use serde_json::{json, Map, Value};

use crate::kernels::KernelArgs;

const JSON_HELP: &str = "\
Patterns: `*` and `?` are wildcards; a pattern without them matches names that contain it.
With several --btf kernels, listings are merged by name and say where an item is missing or
differs.

Exit status: 0 something matched, 1 nothing matched, 2 usage or I/O error.

--format json prints one object. Listings: {kernels, pattern, total, shown, <items>} where
<items> is functions / syscalls / hooks / tracepoints, each {name, status (same | differs |
missing), differences, ..., kernels: [{kernel, present, ...}]}. `tracepoint`: {subsystem,
event, kernels: [{kernel, found, fields: [{index, name, type}], fields_source, fields_unknown,
raw_args, raw_args_source}]}. `info`: {kernels: [{name, btf, types, functions, arch, ...}]}.";

/// `policyctl kernel ...`.
#[derive(clap::Args)]
#[command(
    subcommand_required = true,
    arg_required_else_help = true,
    after_long_help = JSON_HELP,
    // The kernel options may come after the subcommand too (`kernel funcs X --btf F`).
    mut_args(|a| a.global(true))
)]
pub struct KernelCmd {
    /// What to ask.
    #[command(subcommand)]
    what: What,
    /// Output format (`json`: stable keys, see --help).
    #[arg(long, value_enum, default_value_t = OutFormat::Text, global = true)]
    format: OutFormat,
    /// Which kernels.
    #[command(flatten)]
    pub kernels: KernelArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum What {
    /// Functions whose name matches, with their C prototypes (kprobes, fentry).
    Funcs {
        /// Name, substring, or glob (`vfs_*`, `tcp_?_connect`).
        pattern: String,
        /// Show at most N names (0: all).
        #[arg(long, value_name = "N", default_value_t = 50)]
        limit: usize,
        /// Print the names only, one per line (text output).
        #[arg(long)]
        names: bool,
    },
    /// Syscalls of the kernel's architecture, with their arguments and entry stubs.
    Syscalls(ListArgs),
    /// LSM hooks (for `lsmhooks`), with the prototype of `bpf_lsm_<hook>`.
    Lsm(ListArgs),
    /// Tracepoint events, with their raw tracepoint arguments.
    Tracepoints(ListArgs),
    /// One tracepoint's format fields, with the indexes `args[].index` uses.
    Tracepoint {
        /// Subsystem (`sched`, `syscalls`).
        subsystem: String,
        /// Event (`sched_process_exec`, `sys_enter_openat`).
        event: String,
    },
    /// What each kernel supports: BTF, architecture, BPF LSM, kprobes, uprobes, error injection.
    Info,
}

#[derive(clap::Args)]
struct ListArgs {
    /// Name, substring, or glob; all when omitted.
    pattern: Option<String>,
    /// Show at most N names (0: all).
    #[arg(long, value_name = "N", default_value_t = 0)]
    limit: usize,
    /// Print the names only, one per line (text output).
    #[arg(long)]
    names: bool,
}

/// Run it.
pub fn run(cmd: &KernelCmd) -> ExitCode {
    let loaded = match crate::kernels::load(&cmd.kernels) {
        Ok(l) => l,
        Err(e) => return usage_error(&e),
    };
    if loaded.kernels.is_empty() {
        return usage_error(&match &loaded.note {
            Some(_) => format!(
                "this host has no {} to ask; pass --btf FILE",
                kernel::HOST_BTF
            ),
            None => "--no-btf leaves no kernel to ask; pass --btf FILE".to_string(),
        });
    }
    if let Some(note) = &loaded.note {
        eprintln!("policyctl: {note}");
    }
    let ctx = Ctx {
        kernels: &loaded.kernels,
        json: cmd.format == OutFormat::Json,
    };
    let out = match &cmd.what {
        What::Funcs {
            pattern,
            limit,
            names,
        } => ctx.list(&funcs(&ctx, pattern), *limit, *names),
        What::Syscalls(a) => ctx.list(&syscall_list(&ctx, a.pattern.as_deref()), a.limit, a.names),
        What::Lsm(a) => ctx.list(&lsm_list(&ctx, a.pattern.as_deref()), a.limit, a.names),
        What::Tracepoints(a) => ctx.list(
            &tracepoint_list(&ctx, a.pattern.as_deref()),
            a.limit,
            a.names,
        ),
        What::Tracepoint { subsystem, event } => tracepoint(&ctx, subsystem, event),
        What::Info => info(&ctx),
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.stdout.as_bytes());
    let _ = stdout.flush();
    drop(stdout);
    for note in &out.notes {
        eprintln!("policyctl: {note}");
    }
    if out.found {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("policyctl: {msg}");
    ExitCode::from(2)
}

/// What a subcommand produced.
struct Output {
    stdout: String,
    /// Lines for stderr (after `policyctl: `).
    notes: Vec<String>,
    /// Exit 0 (else 1).
    found: bool,
}

struct Ctx<'a> {
    kernels: &'a KernelSet,
    /// The BTF each kernel was read from (the index does not keep it).
    json: bool,
}

// ---------------------------------------------------------------------------------------------
// Listings, merged by name across kernels.

/// One item on one kernel.
struct Side {
    /// Text columns after the name (aligned across lines, the last one free).
    cols: Vec<String>,
    /// What a policy depends on, by label (`return type`, `arg 0`): compared across kernels.
    sig: Vec<(String, String)>,
    /// Per-kernel JSON fields.
    json: Map<String, Value>,
}

/// One name and what each kernel has under it.
struct Entry {
    name: String,
    /// Item-level JSON fields (the same on every kernel).
    json: Map<String, Value>,
    /// The item on each kernel.
    sides: Across<Side>,
}

/// A listing: every matching name, and the entries of those to show.
struct Listing {
    /// `function` / `functions`.
    noun: (&'static str, &'static str),
    /// JSON key of the items.
    key: &'static str,
    /// Print the name before the columns (false when the first column already shows it).
    name_column: bool,
    pattern: Option<String>,
    /// Every matching name, in display order (an exact match first, then sorted).
    names: Vec<String>,
    /// Whether `names[0]` is the pattern itself.
    exact: bool,
    /// Builds the entry of a name.
    entry: Box<dyn Fn(&str) -> Entry + 'static>,
    /// Said when nothing matched (after "no <noun> matches ..."): a hint.
    hint: Option<String>,
    /// A note after the listing (text only).
    footer: Option<String>,
}

impl Entry {
    /// Same, missing somewhere, or differing in what a policy depends on (types, not
    /// parameter names), with the labels that differ; `parameter names` alone when only the
    /// names do (the status is then `same` or `missing`).
    fn status(&self) -> (Status, Vec<String>) {
        let c = self.sides.compare(|s| &s.sig, |s| s.cols.join("  "));
        if c.text_differs {
            (c.agreement, vec!["parameter names".into()])
        } else {
            (c.agreement, c.differences)
        }
    }
}

/// Sort matches, an exact match first.
fn order(mut names: Vec<String>, pattern: Option<&str>) -> (Vec<String>, bool) {
    names.sort();
    names.dedup();
    let Some(p) = pattern.filter(|p| !p.contains(['*', '?'])) else {
        return (names, false);
    };
    match names.iter().position(|n| n == p) {
        Some(i) => {
            let n = names.remove(i);
            names.insert(0, n);
            (names, true)
        }
        None => (names, false),
    }
}

fn matches(pattern: Option<&str>, name: &str) -> bool {
    pattern.is_none_or(|p| kernel::matches_pattern(p, name))
}

/// `did you mean` for a plain name that matched nothing.
fn suggestion<'a>(
    pattern: Option<&str>,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<String> {
    nearest(pattern, candidates).map(|s| format!("did you mean `{s}`?"))
}

/// The candidate closest to a plain name that matched nothing.
fn nearest<'a>(
    pattern: Option<&str>,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let p = pattern.filter(|p| !p.contains(['*', '?']) && p.len() > 2)?;
    // `did_you_mean` accepts at most a third of the length (1 to 3) in edits: names whose
    // length differs by more cannot qualify, and skipping them keeps 50k functions cheap.
    let limit = (p.chars().count() / 3).clamp(1, 3);
    let all: Vec<&str> = candidates
        .filter(|c| c.len().abs_diff(p.len()) <= limit)
        .collect();
    did_you_mean(p, &all)
}

fn params_json(list: &[(String, String)]) -> Value {
    Value::Array(
        list.iter()
            .enumerate()
            .map(|(i, (n, t))| {
                let name = if n.is_empty() {
                    Value::Null
                } else {
                    n.as_str().into()
                };
                json!({"index": i, "name": name, "type": t})
            })
            .collect(),
    )
}

/// A function's parameters as (name, C type); varargs as `...`.
fn func_params(btf: &Btf, f: &Func<'_>) -> Vec<(String, String)> {
    f.params()
        .into_iter()
        .map(|(n, t)| {
            if t == 0 && n.is_empty() {
                (String::new(), "...".to_string())
            } else {
                (n.to_string(), btf.c_type(t))
            }
        })
        .collect()
}

/// A function as a side: its prototype, return and argument types.
fn func_side(k: &Kernel, f: &Func<'_>) -> Side {
    // The function's own BTF: a module's split BTF has type ids vmlinux's does not.
    let btf = f.func.btf();
    let ret = btf.c_type(f.ret());
    let params = func_params(btf, f);
    let proto = f.c_prototype();
    let module = k.module_of(f.name());
    let mut sig = vec![("return type".to_string(), ret.clone())];
    sig.extend(
        params
            .iter()
            .enumerate()
            .map(|(i, (_, t))| (format!("arg {i}"), t.clone())),
    );
    sig.push(("module".into(), module.unwrap_or("vmlinux").into()));
    let mut json = Map::new();
    json.insert("prototype".into(), proto.clone().into());
    json.insert("return".into(), ret.into());
    json.insert("params".into(), params_json(&params));
    json.insert("module".into(), module.map_or(Value::Null, Into::into));
    let text = match module {
        Some(m) => format!("{proto}  [module {m}]"),
        None => proto,
    };
    Side {
        cols: vec![text],
        sig,
        json,
    }
}

fn null_fields(keys: &[&str]) -> Map<String, Value> {
    keys.iter().map(|k| (k.to_string(), Value::Null)).collect()
}

fn funcs(ctx: &Ctx<'_>, pattern: &str) -> Listing {
    let mut all = Vec::new();
    let plain = !pattern.contains(['*', '?']);
    for k in ctx.kernels {
        all.extend(k.search_funcs(pattern).into_iter().map(str::to_string));
        // The search covers vmlinux; an exact name may also be a module's function.
        if plain && k.func(pattern).is_some() {
            all.push(pattern.to_string());
        }
    }
    let (names, exact) = order(all, Some(pattern));
    let kernels = ctx.kernels.clone();
    let hint = names
        .is_empty()
        .then(|| suggestion(Some(pattern), ctx.kernels[0].func_names()))
        .flatten();
    Listing {
        noun: ("function", "functions"),
        key: "functions",
        name_column: false,
        pattern: Some(pattern.to_string()),
        names,
        exact,
        entry: Box::new(move |name| Entry {
            name: name.to_string(),
            json: Map::new(),
            sides: kernels.each(|k| k.func(name).map(|f| func_side(k, &f))),
        }),
        hint,
        footer: None,
    }
}

fn syscall_list(ctx: &Ctx<'_>, pattern: Option<&str>) -> Listing {
    let mut all = Vec::new();
    for k in ctx.kernels {
        all.extend(
            k.syscall_names()
                .into_iter()
                .filter(|n| matches(pattern, n))
                .map(str::to_string),
        );
    }
    let (names, exact) = order(all, pattern);
    let kernels = ctx.kernels.clone();
    let no_arch: Vec<&str> = ctx
        .kernels
        .iter()
        .filter(|k| k.arch.is_none())
        .map(|k| k.name.as_str())
        .collect();
    let hint = if !no_arch.is_empty() && names.is_empty() {
        Some(format!(
            "{} has no __x64_sys_* or __arm64_sys_* functions",
            no_arch.join(", ")
        ))
    } else if names.is_empty() {
        suggestion(pattern, syscalls::all().iter().map(|s| s.name))
    } else {
        None
    };
    Listing {
        noun: ("syscall", "syscalls"),
        key: "syscalls",
        name_column: true,
        pattern: pattern.map(str::to_string),
        names,
        exact,
        entry: Box::new(move |name| {
            let sc = syscalls::lookup(name);
            let args: Option<Vec<(String, String)>> = sc.map(|s| {
                s.args
                    .iter()
                    .map(|a| (a.name.to_string(), a.ctype.to_string()))
                    .collect()
            });
            let args_text = match &args {
                Some(a) if a.is_empty() => "(void)".to_string(),
                Some(a) => format!(
                    "({})",
                    a.iter()
                        .map(|(n, t)| kernel::c_decl(t, n))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => "(arguments unknown: not in the syscall table)".to_string(),
            };
            let mut json = Map::new();
            json.insert(
                "args".into(),
                args.as_deref().map_or(Value::Null, params_json),
            );
            json.insert(
                "args_source".into(),
                sc.map_or(Value::Null, |_| "x86_64 syscall table".into()),
            );
            Entry {
                name: name.to_string(),
                json,
                sides: kernels.each(|k| {
                    let f = k.syscall(name)?;
                    let stub = f.name().to_string();
                    let mut json = Map::new();
                    json.insert("stub".into(), stub.clone().into());
                    Some(Side {
                        cols: vec![stub.clone(), args_text.clone()],
                        sig: vec![("stub".into(), stub)],
                        json,
                    })
                }),
            }
        }),
        hint,
        footer: None,
    }
}

/// `const char *` + `filename` → `const char *filename`; `int` + `fd` → `int fd`.
fn lsm_list(ctx: &Ctx<'_>, pattern: Option<&str>) -> Listing {
    let mut all = Vec::new();
    for k in ctx.kernels {
        all.extend(
            k.lsm_hooks()
                .iter()
                .filter(|n| matches(pattern, n))
                .cloned(),
        );
    }
    let (names, exact) = order(all, pattern);
    let kernels = ctx.kernels.clone();
    let no_lsm: Vec<&str> = ctx
        .kernels
        .iter()
        .filter(|k| k.lsm_hooks().is_empty())
        .map(|k| k.name.as_str())
        .collect();
    let hint = if names.is_empty() && !no_lsm.is_empty() {
        Some(format!(
            "{} has no bpf_lsm_* functions (built without CONFIG_BPF_LSM?)",
            no_lsm.join(", ")
        ))
    } else if names.is_empty() {
        suggestion(
            pattern,
            ctx.kernels[0].lsm_hooks().iter().map(String::as_str),
        )
    } else {
        None
    };
    Listing {
        noun: ("LSM hook", "LSM hooks"),
        key: "hooks",
        name_column: true,
        pattern: pattern.map(str::to_string),
        names,
        exact,
        entry: Box::new(move |name| Entry {
            name: name.to_string(),
            json: Map::new(),
            sides: kernels.each(|k| {
                let f = k.lsm_hook(name)?;
                let mut side = func_side(k, &f);
                side.json
                    .insert("function".into(), f.name().to_string().into());
                Some(side)
            }),
        }),
        hint,
        footer: None,
    }
}

fn raw_args_text(args: &Option<Vec<(String, String)>>) -> String {
    match args {
        None => "(no raw tracepoint in BTF)".to_string(),
        Some(a) if a.is_empty() => "(void)".to_string(),
        Some(a) => format!(
            "({})",
            a.iter()
                .map(|(n, t)| kernel::c_decl(t, n))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn tracepoint_list(ctx: &Ctx<'_>, pattern: Option<&str>) -> Listing {
    // The host with tracefs knows subsystems; elsewhere only BTF events are known.
    let mut all = Vec::new();
    let mut from_tracefs = false;
    // Each kernel's tracefs events, read once (`subsystem/event`, sorted).
    let mut tracefs: Vec<Option<Vec<String>>> = Vec::new();
    for k in ctx.kernels {
        let events = k.tracefs_events().map(|ev| {
            let mut keys: Vec<String> = ev.iter().map(|(s, e)| format!("{s}/{e}")).collect();
            keys.sort();
            keys
        });
        tracefs.push(events.clone());
        match events {
            Some(events) => {
                from_tracefs = true;
                all.extend(events.into_iter().filter(|key| {
                    matches(pattern, key)
                        || matches(pattern, key.split_once('/').map_or("", |(_, e)| e))
                }))
            }
            None => all.extend(
                k.tracepoint_events()
                    .iter()
                    .filter(|n| matches(pattern, n))
                    .cloned(),
            ),
        }
    }
    let (names, exact) = order(all, pattern);
    let kernels = ctx.kernels.clone();
    let hint = names
        .is_empty()
        .then(|| {
            suggestion(
                pattern,
                ctx.kernels[0]
                    .tracepoint_events()
                    .iter()
                    .map(String::as_str),
            )
        })
        .flatten();
    let footer = (!from_tracefs).then(|| {
        "BTF names events, not their subsystems; syscalls/sys_enter_* and sys_exit_* events \
         are not in BTF (see `policyctl kernel syscalls`)"
            .to_string()
    });
    Listing {
        noun: ("tracepoint", "tracepoints"),
        key: "tracepoints",
        name_column: true,
        pattern: pattern.map(str::to_string),
        names,
        exact,
        entry: Box::new(move |name| {
            let (subsystem, event) = match name.split_once('/') {
                Some((s, e)) => (Some(s), e),
                None => (None, name),
            };
            let mut json = Map::new();
            json.insert(
                "subsystem".into(),
                subsystem.map_or(Value::Null, Into::into),
            );
            json.insert("event".into(), event.into());
            // Each kernel's tracefs events, in the set's order.
            let mut tracefs = tracefs.iter();
            Entry {
                name: name.to_string(),
                json,
                sides: kernels.each(|k| {
                    let tracefs = tracefs.next()?;
                    let present = match subsystem {
                        Some(_) => tracefs.as_ref().is_some_and(|ev| {
                            ev.binary_search_by(|e| e.as_str().cmp(name)).is_ok()
                        }),
                        None => k
                            .tracepoint_events()
                            .binary_search_by(|e| e.as_str().cmp(event))
                            .is_ok(),
                    };
                    if !present {
                        return None;
                    }
                    let args = k.raw_tracepoint_args(event);
                    let mut sig: Vec<(String, String)> = Vec::new();
                    if let Some(a) = &args {
                        sig.extend(
                            a.iter()
                                .enumerate()
                                .map(|(i, (_, t))| (format!("arg {i}"), t.clone())),
                        );
                    }
                    let mut json = Map::new();
                    json.insert(
                        "raw_args".into(),
                        args.as_deref().map_or(Value::Null, params_json),
                    );
                    Some(Side {
                        cols: vec![raw_args_text(&args)],
                        sig,
                        json,
                    })
                }),
            }
        }),
        hint,
        footer,
    }
}

impl Ctx<'_> {
    fn names(&self) -> Vec<&str> {
        self.kernels.iter().map(|k| k.name.as_str()).collect()
    }

    fn list(&self, l: &Listing, limit: usize, names_only: bool) -> Output {
        let total = l.names.len();
        let shown_names = if limit == 0 {
            &l.names[..]
        } else {
            &l.names[..total.min(limit)]
        };
        let more = total - shown_names.len();
        let mut notes = Vec::new();
        if total == 0 {
            let what = match &l.pattern {
                Some(p) => format!("no {} matches `{p}`", l.noun.0),
                None => format!("no {}", l.noun.1),
            };
            let on = if self.kernels.len() == 1 {
                format!(" on {}", self.kernels[0].name)
            } else {
                format!(" on any of the {} kernels", self.kernels.len())
            };
            notes.push(match &l.hint {
                Some(h) => format!("{what}{on}; {h}"),
                None => format!("{what}{on}"),
            });
        }
        if names_only && !self.json {
            let mut out = String::new();
            for n in shown_names {
                out.push_str(n);
                out.push('\n');
            }
            if more > 0 {
                notes.push(format!(
                    "{more} more {} not shown (--limit 0 shows all)",
                    l.noun.1
                ));
            }
            return Output {
                stdout: out,
                notes,
                found: total > 0,
            };
        }
        let entries: Vec<Entry> = shown_names.iter().map(|n| (l.entry)(n)).collect();
        let stdout = if self.json {
            self.list_json(l, &entries, total)
        } else {
            self.list_text(l, &entries, more)
        };
        Output {
            stdout,
            notes,
            found: total > 0,
        }
    }

    fn list_json(&self, l: &Listing, entries: &[Entry], total: usize) -> String {
        let items: Vec<Value> = entries
            .iter()
            .map(|e| {
                let (status, diffs) = e.status();
                let mut m = Map::new();
                m.insert("name".into(), e.name.clone().into());
                m.insert("status".into(), status.as_str().into());
                m.insert("differences".into(), diffs.into());
                m.extend(e.json.clone());
                // The keys a missing side still has, from any present side.
                let keys: Vec<String> = e
                    .sides
                    .values()
                    .iter()
                    .flatten()
                    .next()
                    .map(|s| s.json.keys().cloned().collect())
                    .unwrap_or_default();
                let per: Vec<Value> = self
                    .kernels
                    .iter()
                    .zip(e.sides.values())
                    .map(|(k, s)| {
                        let mut o = Map::new();
                        o.insert("kernel".into(), k.name.clone().into());
                        o.insert("present".into(), s.is_some().into());
                        match s {
                            Some(s) => o.extend(s.json.clone()),
                            None => o.extend(null_fields(
                                &keys.iter().map(String::as_str).collect::<Vec<_>>(),
                            )),
                        }
                        Value::Object(o)
                    })
                    .collect();
                m.insert("kernels".into(), per.into());
                Value::Object(m)
            })
            .collect();
        let v = json!({
            "kernels": self.names(),
            "pattern": l.pattern,
            "total": total,
            "shown": entries.len(),
            l.key: items,
        });
        pretty(&v)
    }

    fn list_text(&self, l: &Listing, entries: &[Entry], more: usize) -> String {
        let multi = self.kernels.len() > 1;
        let statuses: Vec<(Status, Vec<String>)> = entries.iter().map(Entry::status).collect();
        // Entries shown on one line; the others get a line per kernel.
        let one_line =
            |i: usize| !(statuses[i].0 == Status::Differs || (multi && l.exact && i == 0));
        // Column widths over one-line entries: the name, then every column but the last.
        let mut widths: Vec<usize> = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            if !one_line(i) {
                continue;
            }
            let Some(side) = e.sides.values().iter().flatten().next() else {
                continue;
            };
            let mut cols: Vec<usize> = Vec::new();
            if l.name_column {
                cols.push(e.name.len());
            }
            cols.extend(side.cols[..side.cols.len() - 1].iter().map(String::len));
            for (j, w) in cols.into_iter().enumerate() {
                if widths.len() <= j {
                    widths.push(0);
                }
                widths[j] = widths[j].max(w.min(40));
            }
        }
        let kw = self.kernels.iter().map(|k| k.name.len()).max().unwrap_or(0);
        let mut out = String::new();
        let line = |name: Option<&str>, side: &Side, widths: &[usize]| {
            let mut cols: Vec<&str> = Vec::new();
            if let Some(n) = name {
                cols.push(n);
            }
            cols.extend(side.cols.iter().map(String::as_str));
            let mut s = String::new();
            for (j, c) in cols.iter().enumerate() {
                if j + 1 == cols.len() {
                    s.push_str(c);
                } else {
                    let w = widths.get(j).copied().unwrap_or(0);
                    s.push_str(&format!("{c:<w$}  "));
                }
            }
            s
        };
        let (mut same, mut differ, mut missing) = (0, 0, 0);
        for (i, e) in entries.iter().enumerate() {
            let (status, diffs) = &statuses[i];
            match status {
                Status::Same => same += 1,
                Status::Differs => differ += 1,
                Status::Missing => missing += 1,
            }
            if one_line(i) {
                let Some(side) = e.sides.values().iter().flatten().next() else {
                    continue;
                };
                out.push_str(&line(
                    l.name_column.then_some(e.name.as_str()),
                    side,
                    &widths,
                ));
                let mut notes = Vec::new();
                if *status == Status::Missing {
                    notes.push(self.where_missing(e));
                }
                if !diffs.is_empty() {
                    notes.push(format!("{} differ", diffs.join(", ")));
                }
                if !notes.is_empty() {
                    out.push_str(&format!("  [{}]", notes.join("; ")));
                }
                out.push('\n');
                continue;
            }
            if i > 0 && one_line(i - 1) {
                out.push('\n');
            }
            let mut head = match status {
                Status::Same => format!("the same on all {} kernels", self.kernels.len()),
                Status::Missing => format!("the same where present; {}", self.where_missing(e)),
                Status::Differs => format!("differs ({})", diffs.join(", ")),
            };
            if *status != Status::Differs && !diffs.is_empty() {
                head.push_str(&format!(" ({} differ)", diffs.join(", ")));
            }
            out.push_str(&format!("{}: {head}\n", e.name));
            let sub_widths: Vec<usize> = (0..4)
                .map(|j| {
                    e.sides
                        .values()
                        .iter()
                        .flatten()
                        .filter_map(|s| s.cols.get(j).filter(|_| j + 1 < s.cols.len()))
                        .map(String::len)
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            for (k, side) in self.kernels.iter().zip(e.sides.values()) {
                let text = match side {
                    Some(s) => line(None, s, &sub_widths),
                    None => "missing".to_string(),
                };
                out.push_str(&format!("  {:<kw$}  {text}\n", k.name));
            }
            if i + 1 < entries.len() {
                out.push('\n');
            }
        }
        if multi && !entries.is_empty() {
            let mut parts = Vec::new();
            if same > 0 {
                parts.push(format!("{same} the same"));
            }
            if differ > 0 {
                parts.push(format!(
                    "{differ} {}",
                    if differ == 1 { "differs" } else { "differ" }
                ));
            }
            if missing > 0 {
                parts.push(format!("{missing} missing on some"));
            }
            let shown = if more > 0 { " shown" } else { "" };
            out.push_str(&format!(
                "{} {}{shown} on {} kernels: {}\n",
                entries.len(),
                if entries.len() == 1 {
                    l.noun.0
                } else {
                    l.noun.1
                },
                self.kernels.len(),
                parts.join(", ")
            ));
        }
        if more > 0 {
            out.push_str(&format!(
                "... and {more} more {} (--limit 0 shows all)\n",
                if more == 1 { l.noun.0 } else { l.noun.1 }
            ));
        }
        if let Some(f) = l.footer.as_ref().filter(|_| !entries.is_empty()) {
            out.push_str(&format!("note: {f}\n"));
        }
        out
    }

    /// `missing on A, B` or, when shorter, `only on C`.
    fn where_missing(&self, e: &Entry) -> String {
        let missing = e.sides.missing();
        let name = |i: usize| self.kernels[i].name.as_str();
        let off: Vec<&str> = missing.iter().map(|&i| name(i)).collect();
        let on: Vec<&str> = (0..self.kernels.len())
            .filter(|i| !missing.contains(i))
            .map(name)
            .collect();
        if on.len() < off.len() {
            format!("only on {}", on.join(", "))
        } else {
            format!("missing on {}", off.join(", "))
        }
    }
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

// ---------------------------------------------------------------------------------------------
// One tracepoint.

/// One kernel's answer for a tracepoint.
struct TpSide {
    found: bool,
    fields: Option<Vec<(String, String)>>,
    raw: Option<Vec<(String, String)>>,
}

fn tracepoint(ctx: &Ctx<'_>, subsystem: &str, event: &str) -> Output {
    let multi = ctx.kernels.len() > 1;
    let unchecked = subsystem != "syscalls"
        && ctx
            .kernels
            .iter()
            .any(|k| k.host.as_ref().is_none_or(|h| h.tracefs.is_none()));
    let mut text = format!("{subsystem}/{event}");
    if !multi {
        text.push_str(&format!(" on {}", ctx.kernels[0].name));
    }
    if unchecked {
        text.push_str(" (subsystem not checked: BTF does not record subsystems)");
    }
    text.push('\n');
    let mut per = Vec::new();
    let mut sides = Vec::new();
    for k in ctx.kernels.iter() {
        let host_tracefs = k.host.as_ref().is_some_and(|h| h.tracefs.is_some());
        if multi {
            text.push_str(&format!("\n== {} ==\n", k.name));
        }
        let Some(tp) = k.tracepoint(subsystem, event) else {
            let why = if host_tracefs {
                "not in tracefs".to_string()
            } else if subsystem == "syscalls" {
                let bare = event
                    .strip_prefix("sys_enter_")
                    .or_else(|| event.strip_prefix("sys_exit_"));
                match bare {
                    Some(b) => format!("no syscall {b}"),
                    None => "syscall events are sys_enter_<name> and sys_exit_<name>".into(),
                }
            } else {
                format!("no btf_trace_{event} in its BTF")
            };
            text.push_str(&format!("not on this kernel: {why}\n"));
            per.push(json!({
                "kernel": k.name, "found": false, "fields": null, "fields_source": null,
                "fields_unknown": why, "raw_args": null, "raw_args_source": null,
            }));
            sides.push(TpSide {
                found: false,
                fields: None,
                raw: None,
            });
            continue;
        };
        let raw = k.raw_tracepoint_args(event);
        let fields = tp.fields();
        let unknown = fields.is_none().then(|| {
            format!(
                "BTF has no struct trace_event_raw_{event} (the event's class has another \
                 name, and BTF does not say which); tracefs on that kernel has them"
            )
        });
        match &fields {
            Some(fields) => {
                text.push_str(&format!(
                    "format fields (from {}), by args[].index:\n",
                    tp.fields_source.as_deref().unwrap_or("?")
                ));
                text.push_str(&table(fields));
            }
            None => text.push_str(&format!(
                "format fields: unknown: {}\n",
                unknown.as_deref().unwrap_or_default()
            )),
        }
        match &raw {
            Some(args) if !args.is_empty() => {
                text.push_str(&format!(
                    "raw tracepoint arguments (from BTF btf_trace_{event}):\n"
                ));
                text.push_str(&table(args));
            }
            Some(_) => text.push_str(&format!(
                "raw tracepoint arguments (from BTF btf_trace_{event}): none\n"
            )),
            None if subsystem == "syscalls" => text.push_str(
                "raw tracepoint arguments: none (per-syscall events are not raw tracepoints; \
                 raw_syscalls/sys_enter is)\n",
            ),
            None => text.push_str(&format!(
                "raw tracepoint arguments: none (no btf_trace_{event} in BTF)\n"
            )),
        }
        per.push(json!({
            "kernel": k.name,
            "found": true,
            "fields": fields.as_deref().map_or(Value::Null, params_json),
            "fields_source": tp.fields_source,
            "fields_unknown": unknown,
            "raw_args": raw.as_deref().map_or(Value::Null, params_json),
            "raw_args_source": raw.as_ref().map(|_| format!("BTF btf_trace_{event}")),
        }));
        sides.push(TpSide {
            found: true,
            fields,
            raw,
        });
    }
    let found_any = sides.iter().any(|s| s.found);
    if multi && found_any {
        text.push('\n');
        let fields: Vec<Option<&Vec<(String, String)>>> =
            sides.iter().map(|s| s.fields.as_ref()).collect();
        text.push_str(&verdict(ctx, "format fields", &sides, &fields, "index"));
        if subsystem != "syscalls" {
            let raw: Vec<Option<&Vec<(String, String)>>> =
                sides.iter().map(|s| s.raw.as_ref()).collect();
            text.push_str(&verdict(
                ctx,
                "raw tracepoint arguments",
                &sides,
                &raw,
                "arg",
            ));
        }
    }
    let mut notes = Vec::new();
    if !found_any {
        let hint = if subsystem == "syscalls" {
            // The event's name, not the bare syscall's: `sys_enter_opnat` → `sys_enter_openat`.
            ["sys_enter_", "sys_exit_"].iter().find_map(|prefix| {
                let bare = event.strip_prefix(prefix)?;
                let names = ctx.kernels[0].syscall_names();
                let near = nearest(Some(bare), names.iter().copied())?;
                Some(format!("did you mean `{prefix}{near}`?"))
            })
        } else {
            suggestion(
                Some(event),
                ctx.kernels[0]
                    .tracepoint_events()
                    .iter()
                    .map(String::as_str),
            )
        };
        let on = if multi {
            format!("any of the {} kernels", ctx.kernels.len())
        } else {
            ctx.kernels[0].name.clone()
        };
        notes.push(match hint {
            Some(h) => format!("no tracepoint {subsystem}/{event} on {on}; {h}"),
            None => format!("no tracepoint {subsystem}/{event} on {on}"),
        });
    }
    let stdout = if ctx.json {
        pretty(&json!({"subsystem": subsystem, "event": event, "kernels": per}))
    } else if found_any {
        text
    } else {
        String::new()
    };
    Output {
        stdout,
        notes,
        found: found_any,
    }
}

/// Whether a list (fields, raw args) is the same on the kernels that have the tracepoint and
/// know the list: one line.
fn verdict(
    ctx: &Ctx<'_>,
    what: &str,
    sides: &[TpSide],
    lists: &[Option<&Vec<(String, String)>>],
    unit: &str,
) -> String {
    let names = |pick: &dyn Fn(usize) -> bool| -> Vec<&str> {
        (0..sides.len())
            .filter(|&i| pick(i))
            .map(|i| ctx.kernels[i].name.as_str())
            .collect()
    };
    let known: Vec<&Vec<(String, String)>> = lists.iter().flatten().copied().collect();
    let unknown = names(&|i| sides[i].found && lists[i].is_none());
    let absent = names(&|i| !sides[i].found);
    let mut tail = String::new();
    if !unknown.is_empty() && !known.is_empty() {
        tail.push_str(&format!("; unknown on {}", unknown.join(", ")));
    }
    if !absent.is_empty() {
        tail.push_str(&format!("; no such tracepoint on {}", absent.join(", ")));
    }
    if known.is_empty() {
        return format!("{what}: unknown on every kernel{tail}\n");
    }
    // Compare by type (the name does not matter to a policy), index by index.
    let mut each = lists.iter();
    let typed = ctx.kernels.each(|_| {
        let list = (*each.next()?)?;
        let typed: Vec<(String, String)> = list
            .iter()
            .enumerate()
            .map(|(j, (_, t))| (j.to_string(), t.clone()))
            .collect();
        Some(typed)
    });
    let differing = typed
        .compare(|l| l.as_slice(), |_| String::new())
        .differences;
    let on = names(&|i| lists[i].is_some());
    if !differing.is_empty() {
        let label = match (unit, differing.len()) {
            (u, 1) => u,
            ("index", _) => "indexes",
            _ => "args",
        };
        return format!(
            "{what}: differ ({label} {}): check the indexes on each kernel{tail}\n",
            differing.join(", ")
        );
    }
    if on.len() == ctx.kernels.len() {
        format!("{what}: the same on all {} kernels\n", ctx.kernels.len())
    } else if on.len() == 1 {
        format!("{what}: known on {} only{tail}\n", on[0])
    } else {
        format!("{what}: the same on {}{tail}\n", on.join(", "))
    }
}

/// `  index  type  name` rows (no name column when nothing has a name).
fn table(rows: &[(String, String)]) -> String {
    let tw = rows.iter().map(|(_, t)| t.len()).max().unwrap_or(0).max(4);
    let named = rows.iter().any(|(n, _)| !n.is_empty());
    let mut s = if named {
        format!("  {:>5}  {:<tw$}  name\n", "index", "type")
    } else {
        format!("  {:>5}  type\n", "index")
    };
    for (i, (n, t)) in rows.iter().enumerate() {
        if named {
            s.push_str(&format!("  {i:>5}  {t:<tw$}  {n}\n"));
        } else {
            s.push_str(&format!("  {i:>5}  {t}\n"));
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// What each kernel supports.

fn config_text(v: &ConfigValue) -> String {
    match v {
        ConfigValue::Yes => "y".into(),
        ConfigValue::Module => "m".into(),
        ConfigValue::No => "n".into(),
        ConfigValue::Text(t) => t.clone(),
    }
}

/// `CONFIG_X=y` or `CONFIG_X is not set`.
fn config_show(opt: &str, v: &ConfigValue) -> String {
    match v {
        ConfigValue::No => format!("CONFIG_{opt} is not set"),
        ConfigValue::Text(t) => format!("CONFIG_{opt}=\"{t}\""),
        v => format!("CONFIG_{opt}={}", config_text(v)),
    }
}

/// A probe kind decided by `main` and described by `extra` options: (text, json).
fn probe(k: &Kernel, main: &str, extra: &[&str]) -> (String, Value) {
    let Some((cfg, _)) = &k.config else {
        let reason = "no kernel config (pass --kernel-config FILE)";
        return (
            format!("unknown: {reason}"),
            json!({"status": "unknown", "config": null, "reason": reason}),
        );
    };
    let opts: Vec<&str> = std::iter::once(main).chain(extra.iter().copied()).collect();
    let mut config = Map::new();
    for o in &opts {
        config.insert(format!("CONFIG_{o}"), config_text(&cfg.value(o)).into());
    }
    let shown: Vec<String> = opts.iter().map(|o| config_show(o, &cfg.value(o))).collect();
    let yes = cfg.enabled(main);
    let status = if yes { "yes" } else { "no" };
    (
        format!("{status} ({})", shown.join(", ")),
        json!({"status": status, "config": config, "reason": null}),
    )
}

fn info(ctx: &Ctx<'_>) -> Output {
    let mut text = String::new();
    let mut all = Vec::new();
    for (i, k) in ctx.kernels.iter().enumerate() {
        let btf_path = &k.source;
        let types = k.btf().len();
        let funcs = k.func_count();
        let syscall_count = k.syscall_names().len();
        let tp_count = k.tracepoint_events().len();
        let cfg_path = k.config.as_ref().map(|(_, p)| p.clone());
        let mut rows: Vec<(&str, String)> = Vec::new();
        rows.push((
            "BTF",
            format!("{btf_path}: {types} types, {funcs} function names"),
        ));
        rows.push((
            "architecture",
            match k.arch {
                Some(a) => format!(
                    "{}: {syscall_count} syscalls ({}sys_*)",
                    a.name(),
                    a.syscall_prefix()
                ),
                None => "unknown: no __x64_sys_* or __arm64_sys_* functions".into(),
            },
        ));

        // BPF LSM.
        let hooks = k.lsm_hooks().len();
        let mut lsm = vec![if hooks == 0 {
            "no bpf_lsm_* hooks in BTF".to_string()
        } else {
            format!("{hooks} hooks (from {})", k.lsm_source())
        }];
        let (cfg_bpf_lsm, cfg_lsm) = match &k.config {
            Some((cfg, _)) => {
                let mut line = config_show("BPF_LSM", &cfg.value("BPF_LSM"));
                let list = cfg.list("LSM");
                if !list.is_empty() {
                    line.push_str(if list.iter().any(|l| l == "bpf") {
                        "; bpf in CONFIG_LSM (the lsm= boot option may override it)"
                    } else {
                        "; bpf not in CONFIG_LSM (unless the lsm= boot option adds it)"
                    });
                }
                lsm.push(line);
                (
                    Value::from(config_text(&cfg.value("BPF_LSM"))),
                    if list.is_empty() {
                        Value::Null
                    } else {
                        list.into()
                    },
                )
            }
            None => {
                lsm.push("CONFIG_BPF_LSM unknown: no kernel config".into());
                (Value::Null, Value::Null)
            }
        };
        let active = k.host.as_ref().and_then(|h| h.active_lsms.clone());
        if let Some(h) = &k.host {
            lsm.push(match &h.active_lsms {
                Some(a) => format!(
                    "active LSMs: {} (bpf {})",
                    a.join(","),
                    if a.iter().any(|l| l == "bpf") {
                        "active"
                    } else {
                        "NOT active"
                    }
                ),
                None => format!("active LSMs unknown: cannot read {}", kernel::HOST_LSM),
            });
        }
        for (j, line) in lsm.into_iter().enumerate() {
            rows.push((if j == 0 { "BPF LSM" } else { "" }, line));
        }

        let (kp_text, kp_json) = probe(k, "KPROBES", &["KPROBE_EVENTS", "FPROBE"]);
        rows.push(("kprobes", kp_text));
        let (up_text, up_json) = probe(k, "UPROBES", &["UPROBE_EVENTS"]);
        rows.push(("uprobes", up_text));

        let (ei_text, ei_json) = match &k.error_injection {
            Known::Yes(ErrorInjection::List(l), src) => (
                format!("{} functions (from {src})", l.len()),
                json!({"status": "list", "functions": l.len(), "source": src, "reason": null}),
            ),
            Known::Yes(ErrorInjection::Unsupported(why), src) => (
                format!("unsupported: {why} (from {src})"),
                json!({"status": "unsupported", "functions": null, "source": src, "reason": why}),
            ),
            Known::Unknown(why) => (
                format!("unknown: {why}"),
                json!({"status": "unknown", "functions": null, "source": null, "reason": why}),
            ),
        };
        rows.push(("error injection", ei_text));
        rows.push(("tracepoints", format!("{tp_count} with BTF (btf_trace_*)")));
        rows.push((
            "kernel config",
            cfg_path
                .clone()
                .unwrap_or_else(|| "none (pass --kernel-config FILE)".into()),
        ));
        let host_json = match &k.host {
            Some(h) => {
                let events = k.tracefs_events().map(|e| e.len());
                rows.push((
                    "tracefs",
                    match (&h.tracefs, events) {
                        (Some(p), Some(n)) => format!("{}: {n} events", p.display()),
                        (Some(p), None) => format!("{}: events unreadable", p.display()),
                        (None, _) => format!(
                            "not mounted (looked at {})",
                            kernel::HOST_TRACEFS.join(", ")
                        ),
                    },
                ));
                json!({
                    "tracefs": h.tracefs.as_ref().map(|p| p.display().to_string()),
                    "tracefs_events": events,
                    "active_lsms": h.active_lsms,
                })
            }
            None => Value::Null,
        };
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&k.name);
        text.push('\n');
        let w = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        for (label, value) in rows {
            text.push_str(&format!("  {label:<w$}  {value}\n"));
        }
        all.push(json!({
            "name": k.name,
            "btf": btf_path,
            "types": types,
            "functions": funcs,
            "arch": k.arch.map(|a| a.name()),
            "syscalls": syscall_count,
            "tracepoints": tp_count,
            "config": cfg_path,
            "bpf_lsm": {
                "hooks": hooks,
                "hooks_source": k.lsm_source(),
                "config_bpf_lsm": cfg_bpf_lsm,
                "config_lsm": cfg_lsm,
                "active_lsms": active,
            },
            "kprobes": kp_json,
            "uprobes": up_json,
            "error_injection": ei_json,
            "host": host_json,
        }));
    }
    let stdout = if ctx.json {
        pretty(&json!({ "kernels": all }))
    } else {
        text
    };
    Output {
        stdout,
        notes: Vec::new(),
        found: true,
    }
}
