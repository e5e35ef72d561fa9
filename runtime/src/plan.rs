//! A plan: what `policyctl run` will attach and how each hook is configured.
//!
//! [`Plan::compile`] turns policies the validator accepted into per-hook
//! [`HookConfig`] records (the data the generic BPF programs evaluate) and
//! the string values of their filters (trie entries). It refuses, with one
//! clear message per cause, what the runtime does not implement yet; it
//! never guesses. Nothing here touches the kernel: the plan is pure data,
//! tested byte by byte.

use crate::layout::{HookConfig, HookKind};
use crate::uregs::Place;
use crate::usdt;

/// How a hook is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attach {
    /// A kprobe on `symbol` (`override_` picks the copy that may call
    /// `bpf_override_return`).
    Kprobe { symbol: String, override_: bool },
    /// A BPF trampoline (fentry) on `symbol`.
    Fentry { symbol: String },
    /// The raw `sys_enter` tracepoint, dispatched on syscall number `nr`.
    RawSyscall { symbol: String, nr: u32 },
    /// A BPF LSM program on `hook` (without `bpf_lsm_`).
    Lsm { hook: String },
    /// A tracepoint.
    Tracepoint { subsystem: String, event: String },
    /// A uprobe on `symbol` in the binary at `path`; `ref_ctr_offset` is the file offset of
    /// its reference counter (uprobe `refCtrOffsets`), 0 when it has none.
    Uprobe {
        path: String,
        symbol: String,
        ref_ctr_offset: u64,
    },
    /// A raw tracepoint (`raw: true`): attached by `event`, reading the TP_PROTO arguments.
    RawTracepoint { subsystem: String, event: String },
    /// A uprobe at the file `offset` of the binary at `path` (uprobe `offsets`);
    /// `ref_ctr_offset` as for [`Attach::Uprobe`].
    UprobeOffset {
        path: String,
        offset: u64,
        ref_ctr_offset: u64,
    },
    /// A USDT probe `provider`:`name` of the binary at `path`: one site of it, or `None`
    /// when the binary is not on this host (attaching then fails, as a uprobe on a missing
    /// binary does).
    Usdt {
        path: String,
        provider: String,
        name: String,
        site: Option<UsdtSite>,
    },
}

/// One site of a USDT probe, from the binary's stapsdt note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtSite {
    /// The file offset the uprobe attaches at.
    pub offset: u64,
    /// The file offset of the probe's semaphore, 0 when it has none.
    pub semaphore: u64,
    /// Where the hook's args are, and the selectors' Set actions (map `usdt`).
    pub spec: layout::UsdtSpec,
}

impl Attach {
    /// The program kind serving this attach.
    pub fn kind(&self) -> HookKind {
        match self {
            Attach::Kprobe { .. } => HookKind::Kprobe,
            Attach::Fentry { .. } => HookKind::Fentry,
            Attach::RawSyscall { .. } => HookKind::RawSyscall,
            Attach::Lsm { .. } => HookKind::Lsm,
            Attach::Tracepoint { .. } => HookKind::Tracepoint,
            Attach::Uprobe { .. } => HookKind::Uprobe,
            Attach::RawTracepoint { .. } => HookKind::RawTracepoint,
            Attach::UprobeOffset { .. } => HookKind::Uprobe,
            // USDT sites take uprobe slots, served by the `usdt_N` copies
            Attach::Usdt { .. } => HookKind::Uprobe,
        }
    }

    /// Where the return program of a `return: true` hook attaches, as printed: `kretprobe`,
    /// `fexit`, or `tracepoint syscalls/sys_exit_<name>` for a syscall served by
    /// `sys_enter_<name>`; `None` where there is no return program.
    pub fn return_method(&self) -> Option<String> {
        match self {
            Attach::Kprobe { .. } => Some("kretprobe".into()),
            Attach::Fentry { .. } => Some("fexit".into()),
            Attach::Uprobe { .. } | Attach::UprobeOffset { .. } => Some("uretprobe".into()),
            Attach::Tracepoint { subsystem, .. } => self
                .exit_tracepoint()
                .map(|exit| format!("tracepoint {subsystem}/{exit}")),
            _ => None,
        }
    }

    /// `sys_exit_<name>` for the tracepoint `syscalls/sys_enter_<name>`.
    pub fn exit_tracepoint(&self) -> Option<String> {
        match self {
            Attach::Tracepoint { subsystem, event } if subsystem == "syscalls" => event
                .strip_prefix("sys_enter_")
                .map(|bare| format!("sys_exit_{bare}")),
            _ => None,
        }
    }

    /// The file offset of the reference counter the kernel counts up while this uprobe is
    /// attached (the kernel's uprobe `ref_ctr_offset`): uprobe `refCtrOffsets`, or a USDT
    /// probe's semaphore; 0 when there is none (and for every other attach).
    pub fn ref_ctr_offset(&self) -> u64 {
        match self {
            Attach::Uprobe { ref_ctr_offset, .. } | Attach::UprobeOffset { ref_ctr_offset, .. } => {
                *ref_ctr_offset
            }
            Attach::Usdt {
                site: Some(site), ..
            } => site.semaphore,
            _ => 0,
        }
    }

    /// The method, as printed: `kprobe`, `fentry`, `tracepoint` (raw syscall), `lsm` ...
    pub fn method(&self) -> &'static str {
        match self {
            Attach::Kprobe { .. } => "kprobe",
            Attach::Fentry { .. } => "fentry",
            Attach::RawSyscall { .. } => "raw tracepoint raw_syscalls/sys_enter",
            Attach::Lsm { .. } => "BPF LSM",
            Attach::Tracepoint { .. } => "tracepoint",
            Attach::Uprobe { .. } => "uprobe",
            Attach::RawTracepoint { .. } => "raw tracepoint",
            Attach::UprobeOffset { .. } => "uprobe",
            Attach::Usdt { .. } => "uprobe (USDT)",
        }
    }
}

/// Which Tetragon event a hook produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `process_kprobe` (kprobes, whatever the attach method).
    Kprobe,
    /// `process_tracepoint`.
    Tracepoint,
    /// `process_uprobe`.
    Uprobe,
    /// `process_lsm`.
    Lsm,
    /// `process_usdt`.
    Usdt,
}

/// One argument as the policy declared it, for rendering events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgPlan {
    /// The policy's `type` (`int`, `string`, `file`, `sock` ...).
    pub ty: String,
    /// The policy's `label`, if any.
    pub label: Option<String>,
    /// For each load of its `resolve` path, the index of that load's step in Tetragon's walk
    /// of the path: what an event names as the depth of a load that failed.
    pub resolve_steps: Vec<u8>,
}

/// A string value of a filter, stored in one of the two tries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringEntry {
    /// The filter id (`struct filter.id`).
    pub filter: u32,
    /// The bytes stored (already reversed for `postfix`), at most STR_LEN.
    pub value: Vec<u8>,
    /// Stored in the postfix trie (reversed) rather than the prefix trie.
    pub postfix: bool,
}

/// One hook of one policy, ready to load.
#[derive(Debug, Clone)]
pub struct HookPlan {
    /// Index into [`Plan::policies`].
    pub policy: usize,
    /// How it attaches.
    pub attach: Attach,
    /// The slot (index into the `hooks` map); assigned by [`Plan::compile`].
    pub slot: u32,
    /// Which event it produces.
    pub event: EventKind,
    /// Tetragon's `function_name`: the kernel symbol (`__x64_sys_openat`,
    /// `do_mkdirat`), the LSM hook (`file_open`), the uprobe symbol.
    pub function_name: String,
    /// The policy's args, in config order (event arg i is args[i]).
    pub args: Vec<ArgPlan>,
    /// `returnArg` of a `return: true` hook.
    pub ret: Option<ArgPlan>,
    /// How many of `args`, at their end, are the hook's `data` (Tetragon's `data` field).
    pub data: usize,
    /// The hook's `message`.
    pub message: Option<String>,
    /// The hook's `tags`.
    pub tags: Vec<String>,
    /// The compiled configuration written to the `hooks` map.
    pub config: HookConfig,
    /// String values of the filters.
    pub strings: Vec<StringEntry>,
    /// Programs of the CelExpr filters.
    pub cel: Vec<crate::cel::CelEntry>,
    /// Per selector, its GetUrl or DnsLookup (run by user space when its event arrives).
    pub net_actions: Vec<Option<NetAction>>,
    /// A uprobe's Override: the register assignments of each selector that Overrides. A
    /// hook with one is served by an `uprobe_override_N` copy.
    pub uprobe_override: Option<UprobeOverride>,
}

/// The Override of a uprobe hook (see [`crate::uregs`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UprobeOverride {
    /// (selector index, its assignments), written to the `uprobe_regs` map under
    /// `slot * MAX_SELECTORS + selector`.
    pub regs: Vec<(u8, layout::UprobeRegs)>,
    /// Why the jump's target could not be found when planning: the binary is not on this
    /// host (a fact of the host; attaching the uprobe fails there too, and the hook is refused
    /// before it is attached).
    pub unresolved: Option<String>,
}

impl HookPlan {
    /// Whether the one `kprobe_multi` program serves this hook: a kprobe in a multi slot
    /// (see `Slots::take_multi`); a raw syscall hook may hold such a slot too, served by the
    /// raw syscall dispatcher.
    pub fn on_kprobe_multi(&self) -> bool {
        is_multi_slot(self.slot) && matches!(self.attach, Attach::Kprobe { .. })
    }

    /// How it attaches, as printed: [`Attach::method`], and `and fmod_ret` when a companion
    /// fmod_ret program Overrides (see [`HookPlan::fmod_ret`]).
    pub fn method(&self) -> String {
        match self.fmod_ret() {
            Some(_) => format!("{} and fmod_ret", self.attach.method()),
            None => self.attach.method().to_string(),
        }
    }

    /// The function whose return value a companion fmod_ret program overrides, when this
    /// hook Overrides a `security_` function as Tetragon does (a kprobe or fentry copy
    /// records the value, [`crate::fmodret`] returns it): a plain kprobe or an fentry
    /// with a selector that Overrides.
    pub fn fmod_ret(&self) -> Option<&str> {
        let symbol = match &self.attach {
            Attach::Kprobe {
                symbol,
                override_: false,
            } => symbol,
            Attach::Fentry { symbol } => symbol,
            _ => return None,
        };
        let n = (self.config.nselectors as usize).min(self.config.selectors.len());
        self.config.selectors[..n]
            .iter()
            .any(|s| s.override_ != 0)
            .then_some(symbol.as_str())
    }
}

/// One policy of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyPlan {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (TracingPolicyNamespaced).
    pub namespace: Option<String>,
    /// The file it came from.
    pub file: String,
}

/// Everything `policyctl run` loads.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The policies, in the order given.
    pub policies: Vec<PolicyPlan>,
    /// Their hooks, each with its own slot.
    pub hooks: Vec<HookPlan>,
    /// Hooks left out on purpose (`ignore.callNotFound` on a call this kernel lacks), one line
    /// each, for the user.
    pub skipped: Vec<String>,
    /// The policies' enforcers (`spec.enforcers`).
    pub enforcers: Vec<EnforcerPlan>,
}

impl Plan {
    /// The hook serving `slot`.
    pub fn hook(&self, slot: u32) -> Option<&HookPlan> {
        self.hooks.iter().find(|h| h.slot == slot)
    }
}

/// A policy's enforcer (`spec.enforcers`) on `security_` functions and syscalls, as Tetragon
/// runs it (`createEnforcerSensor` in pkg/sensors/tracing/enforcer.go, which forces fmod_ret
/// for `security_` calls; on syscalls it prefers bpf_override_return, to the same effect):
/// one fmod_ret program per call ([`crate::fmodret::attach_enforcer`])
/// returns the error, and sends the signal, that a NotifyEnforcer of the policy recorded for
/// the thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnforcerPlan {
    /// Index into [`Plan::policies`].
    pub policy: usize,
    /// The slot of the policy's first hook: the enforcer is attached and detached with it.
    pub slot: u32,
    /// Its key in `override_tasks`: [`layout::ENFORCER_KEY`] | `slot`.
    pub key: u32,
    /// The functions it guards, lists expanded, each once: `security_` functions and
    /// syscall stubs (`__x64_sys_openat`).
    pub calls: Vec<String>,
}

impl Plan {
    /// The enforcer attached with the hook in `slot`, if any.
    pub fn enforcer(&self, slot: u32) -> Option<&EnforcerPlan> {
        self.enforcers.iter().find(|e| e.slot == slot)
    }

    /// Gives the enforcer of policy `index` (its hooks already in the plan) its key, writes
    /// the key into every NotifyEnforcer selector of the policy, and records it. A policy
    /// without hooks has nothing to notify its enforcer: nothing is attached for it.
    fn add_enforcer(&mut self, index: usize, calls: Vec<String>) {
        let Some(slot) = self
            .hooks
            .iter()
            .find(|h| h.policy == index)
            .map(|h| h.slot)
        else {
            return;
        };
        let key = layout::ENFORCER_KEY | slot;
        for h in self.hooks.iter_mut().filter(|h| h.policy == index) {
            for sel in h.config.selectors.iter_mut() {
                if sel.notify_enforcer != 0 {
                    sel.enforcer_key = key;
                }
            }
        }
        self.enforcers.push(EnforcerPlan {
            policy: index,
            slot,
            key,
            calls,
        });
    }
}

/// The functions of the policy's enforcer (its `calls`, `list:NAME` expanded as Tetragon's
/// `createEnforcerSensor` does): `security_` functions as named, syscalls as this kernel's stub
/// (`sys_openat`, `__x64_sys_openat` and a `syscalls` list's `x64/sys_openat` →
/// `__x64_sys_openat`; `check` refuses a list value without `sys_`, P073).
/// `None` without an enforcer. Every call is guarded with fmod_ret: Tetragon forces it for
/// `security_` calls, and for syscalls picks bpf_override_return where the kernel has it and
/// fmod_ret otherwise (`selectOverrideMethod`); both return the recorded error in place of
/// the syscall, and fmod_ret on a syscall needs what bpf_override_return needs, the syscall
/// in the kernel's error-injection list (K020 in `check`). An error for what the runtime
/// cannot run: a call that is neither (Tetragon refuses it), a function or syscall this kernel
/// lacks, a kernel without BPF trampolines, or `override-method: override-return` with a
/// `security_` call (Tetragon: "can't override security function with override-return").
fn enforcer_calls(
    spec: &Spec,
    kernel: &Kernel,
    features: Features,
) -> Result2<Option<Vec<String>>> {
    if spec.enforcers.is_empty() {
        return Ok(None);
    }
    if spec.enforcers.len() > 1 {
        return Err("more than one enforcer: Tetragon runs a single enforcer per policy (createEnforcerSensor in pkg/sensors/tracing/enforcer.go)".into());
    }
    let mut calls: Vec<String> = Vec::new();
    let mut security = false;
    for call in &spec.enforcer_calls {
        let (symbols, syscalls): (Vec<String>, bool) = match call.value.strip_prefix("list:") {
            Some(name) => {
                let list = find_list(&spec.lists, name)
                    .ok_or_else(|| format!("enforcer: there is no list `{name}`"))?;
                match list.ty.as_ref().map(|t| t.value.as_str()) {
                    // Tetragon's getListSymbols reads a list as syscalls only when its type is
                    // written exactly `syscalls`
                    Some("syscalls") => (syscall_list_values(list, name)?, true),
                    _ => (list.values.iter().map(|v| v.value.clone()).collect(), false),
                }
            }
            None => (vec![call.value.clone()], false),
        };
        for sym in symbols {
            let syscall = syscalls
                || sym.starts_with("sys_")
                || facts::SYSCALL_ARCH_PREFIXES
                    .iter()
                    .any(|p| sym.starts_with(p));
            if syscall {
                let bare = bare_syscall(&sym);
                let stub = kernel.syscall(bare).ok_or_else(|| {
                    format!("enforcer call `{sym}`: this kernel has no syscall `{bare}`")
                })?;
                let stub = stub.name().to_string();
                if !calls.contains(&stub) {
                    calls.push(stub);
                }
                continue;
            }
            if !sym.starts_with("security_") {
                return Err(format!(
                    "enforcer call `{sym}` is neither a syscall nor a `security_` function, which Tetragon refuses"
                ));
            }
            if kernel.func(&sym).is_none() {
                return Err(format!(
                    "enforcer call `{sym}` is not a function of this kernel"
                ));
            }
            security = true;
            if !calls.contains(&sym) {
                calls.push(sym);
            }
        }
    }
    if calls.is_empty() {
        return Ok(None);
    }
    if security && spec.option("override-method") == Some("override-return") {
        return Err("the enforcer guards `security_` functions, which Tetragon overrides only with fmod_ret, and `override-method: override-return` asks for bpf_override_return (Tetragon refuses: \"can't override security function with override-return\"); set `override-method: fmod-ret` or drop the option".into());
    }
    if !features.trampolines {
        return Err(
            "the enforcer needs fmod_ret, and this kernel does not load BPF trampolines".into(),
        );
    }
    Ok(Some(calls))
}

/// The command-line flag without which policies with network actions are refused.
pub const ALLOW_NETWORK_ACTIONS: &str = "--allow-network-actions";

impl Plan {
    /// The selector's network action of a hook event (`slot`, `selector`), when the event's
    /// action asks for one.
    pub fn net_action(&self, slot: u32, selector: u32, action: u32) -> Option<&NetAction> {
        if action != layout::action::GETURL && action != layout::action::DNSLOOKUP {
            return None;
        }
        self.hook(slot)?
            .net_actions
            .get(usize::try_from(selector).ok()?)?
            .as_ref()
    }

    /// One refusal per policy whose selectors run GetUrl or DnsLookup, naming them: a policy
    /// file must not make the host send traffic unless the one running it says so
    /// ([`ALLOW_NETWORK_ACTIONS`]).
    pub fn network_action_refusals(&self) -> Vec<PlanError> {
        self.policies
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let actions: Vec<String> = self
                    .hooks
                    .iter()
                    .filter(|h| h.policy == i)
                    .flat_map(|h| h.net_actions.iter().flatten())
                    .map(|a| match a {
                        NetAction::GetUrl(u) => format!("GetUrl `{u}`"),
                        NetAction::DnsLookup(f) => format!("DnsLookup `{f}`"),
                    })
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                (!actions.is_empty()).then(|| PlanError {
                    file: p.file.clone(),
                    policy: p.name.clone(),
                    message: format!(
                        "{} would make this host send traffic when its events arrive; pass {ALLOW_NETWORK_ACTIONS} to run it",
                        actions.join(", ")
                    ),
                })
            })
            .collect()
    }
}

// ---- compiling -------------------------------------------------------------

use policyctl_validator::btf::{Btf, Kind, TypeId};
use policyctl_validator::facts::{self, HookKind as PolicyHook, OpKind};
use policyctl_validator::golang;
use policyctl_validator::kernel::resolve::{self, WalkError, MAX_BTF_ARG_DEPTH};
use policyctl_validator::kernel::{syscalls, FieldLayout, Kernel};
use policyctl_validator::model::{
    Action, Arg, ArgFilter, Hook, List, Selector, SetFilter, Spanned, Spec,
};
use policyctl_validator::Accepted;

use crate::layout::{
    self, arg_source, arg_type, op, ArgConfig, Cidr, Filter, Selector as SelectorConfig,
    ARG_LAST_ADDR, ARG_RETURN_COPY, ARG_USER, FILTER_FOLLOW, FILTER_NOT, FILTER_NSPID, MAX_FILTERS,
    MAX_RESOLVE, MAX_VALUES, SLOTS_PER_KIND, STR_LEN,
};

/// What the running kernel can attach, as the loader found out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// kprobes are configured (the `kprobe` perf PMU exists).
    pub kprobes: bool,
    /// BPF trampolines load (fentry, LSM programs).
    pub trampolines: bool,
    /// BPF LSM is active (`bpf` in the LSM list).
    pub bpf_lsm: bool,
    /// uprobe programs may write the probed thread's registers (Override on uprobes): the
    /// kernel's verifier loads a kprobe-type program that stores into its context (attached
    /// to uprobes only), as Tetragon's `detectUprobeRegsChange` probes it. The BTF member
    /// `bpf_prog_aux.kprobe_write_ctx` is necessary, not sufficient: the 6.18.44 host has it
    /// and its verifier refuses the store.
    pub uprobe_regs: bool,
    /// kprobe programs link to many functions at once (`BPF_TRACE_KPROBE_MULTI`, fprobe), as
    /// Tetragon's `detectKprobeMulti` probes it: kprobe hooks are then served by the one
    /// `kprobe_multi` program first, and the copies only past its slots.
    pub kprobe_multi: bool,
}

/// An attach method asked for with `--attach`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// kprobes.
    Kprobe,
    /// BPF trampolines (fentry).
    Fentry,
    /// The syscall's own tracepoint (`syscalls/sys_enter_<name>`), else the raw syscall
    /// tracepoint (syscall hooks only).
    Tracepoint,
    /// The raw syscall tracepoint (`raw_syscalls/sys_enter`, dispatched by syscall number),
    /// even where the syscall has its own tracepoint.
    RawTracepoint,
}

/// Why a policy cannot run: one line, naming the policy and the hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// The file.
    pub file: String,
    /// The policy.
    pub policy: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: policy `{}`: {}",
            self.file, self.policy, self.message
        )
    }
}

/// Slot counters per program range.
struct Slots {
    /// Slots already serving a hook (of a running set, or taken here).
    taken: std::collections::BTreeSet<u32>,
}

impl Slots {
    fn take(&mut self, kind: HookKind) -> Option<u32> {
        let range = match kind {
            HookKind::RawSyscall => HookKind::Kprobe,
            k => k,
        };
        // the first copy of the range that no hook serves
        let copy = (0..SLOTS_PER_KIND).find(|c| !self.taken.contains(&range.slot(*c)))?;
        let slot = range.slot(copy);
        self.taken.insert(slot);
        Some(slot)
    }

    /// A slot for `hook` past its kind's copies: a kprobe without return probe or Override
    /// (and a raw syscall hook, which has no program of its own) can be served by
    /// `kprobe_multi`, which finds its slot by the function's address; `MULTI_SLOTS` of them.
    fn take_multi(&mut self, hook: &HookPlan) -> Option<u32> {
        let multi = match &hook.attach {
            Attach::Kprobe { override_, .. } => !override_ && hook.config.returns == 0,
            Attach::RawSyscall { .. } => true,
            _ => false,
        };
        if !multi {
            return None;
        }
        let slot = (layout::MULTI_SLOT_BASE..layout::MULTI_SLOT_BASE + layout::MULTI_SLOTS)
            .map(|s| s as u32)
            .find(|s| !self.taken.contains(s))?;
        self.taken.insert(slot);
        Some(slot)
    }
}

/// Whether `slot` is served by the one `kprobe_multi` program (see `Slots::take_multi`).
pub fn is_multi_slot(slot: u32) -> bool {
    (layout::MULTI_SLOT_BASE..layout::MULTI_SLOT_BASE + layout::MULTI_SLOTS)
        .contains(&(slot as usize))
}

impl Plan {
    /// Compile accepted policies for the running kernel.
    pub fn compile(
        policies: &[Accepted<'_>],
        kernel: &Kernel,
        features: Features,
        method: Option<Method>,
    ) -> Result<Plan, Vec<PlanError>> {
        Self::compile_beside(policies, kernel, features, method, &mut Reserved::default())
    }

    /// As [`Plan::compile`], beside a running set: the hooks take slots `reserved` does not
    /// hold and filter ids from its next one; on success `reserved` holds them too.
    pub fn compile_beside(
        policies: &[Accepted<'_>],
        kernel: &Kernel,
        features: Features,
        method: Option<Method>,
        reserved: &mut Reserved,
    ) -> Result<Plan, Vec<PlanError>> {
        let mut plan = Plan::default();
        let mut errors = Vec::new();
        let mut slots = Slots {
            taken: reserved.slots.clone(),
        };
        let mut filter_ids = reserved.next_filter;
        for accepted in policies {
            let policy = accepted.policy();
            let name = policy
                .name
                .as_ref()
                .map(|n| n.value.clone())
                .unwrap_or_default();
            let file = accepted.source().name().to_string();
            let index = plan.policies.len();
            plan.policies.push(PolicyPlan {
                name: name.clone(),
                namespace: policy.namespace.as_ref().map(|n| n.value.clone()),
                file: file.clone(),
            });
            let mut fail = |message: String| {
                errors.push(PlanError {
                    file: file.clone(),
                    policy: name.clone(),
                    message,
                })
            };
            let enforcer_calls = match enforcer_calls(&policy.spec, kernel, features) {
                Ok(calls) => calls,
                Err(message) => {
                    fail(message);
                    continue;
                }
            };
            let mut notes = stack_trace_notes(&policy.spec);
            let expanded = expand_lists(&policy.spec, kernel, &mut notes);
            plan.skipped.extend(
                notes
                    .into_iter()
                    .map(|n| format!("{file}: policy `{name}`: {n}")),
            );
            let hooks = match expanded {
                Ok(hooks) => hooks,
                Err(message) => {
                    fail(message);
                    continue;
                }
            };
            // the policy option Tetragon reads as its --disable-kprobe-multi for this policy
            // (`useMulti` in `pkg/sensors/tracing/generickprobe.go`): its kprobes on copies
            let multi_links = features.kprobe_multi
                && policy.spec.option_bool("disable-kprobe-multi") != Some(true);
            // one refusal per policy for want of slots, not one per hook past the limit
            let mut out_of_slots = false;
            for hook in hooks.iter() {
                if out_of_slots {
                    break;
                }
                let mut ctx = HookCompiler {
                    kernel,
                    features,
                    method,
                    filter_ids: &mut filter_ids,
                    cel: Vec::new(),
                    lists: &policy.spec.lists,
                };
                if hook.ignore_call_not_found && ctx.call_missing(hook) {
                    plan.skipped.push(format!(
                        "{file}: policy `{name}`: {} skipped: not in this kernel (ignore.callNotFound)",
                        hook.describe()
                    ));
                    continue;
                }
                match ctx.hook(hook) {
                    Ok(hooks) => {
                        for mut h in hooks {
                            // kprobe_multi runs the hooks of a function from one entry
                            let full = matches!(h.attach, Attach::Kprobe { .. })
                                && plan
                                    .hooks
                                    .iter()
                                    .filter(|o| {
                                        o.on_kprobe_multi() && o.function_name == h.function_name
                                    })
                                    .count()
                                    >= layout::FUNC_HOOKS;
                            let multi =
                                |slots: &mut Slots| (!full).then(|| slots.take_multi(&h)).flatten();
                            // with kprobe_multi links, kprobes go to the one program first: the
                            // kernel verifies it once, where each copy is verified on its own
                            let slot = if multi_links && matches!(h.attach, Attach::Kprobe { .. }) {
                                multi(&mut slots).or_else(|| slots.take(h.attach.kind()))
                            } else {
                                slots.take(h.attach.kind()).or_else(|| multi(&mut slots))
                            };
                            let Some(slot) = slot else {
                                fail(if full {
                                    format!(
                                        "{}: more than {} hooks on `{}` past the {SLOTS_PER_KIND} kprobe copies; run fewer policies at once",
                                        hook.describe(),
                                        layout::FUNC_HOOKS,
                                        h.function_name
                                    )
                                } else {
                                    slots_exhausted(&h)
                                });
                                out_of_slots = true;
                                break;
                            };
                            if let Attach::RawSyscall { symbol, nr } = &h.attach {
                                let on_nr = plan
                                    .hooks
                                    .iter()
                                    .filter(|o| matches!(&o.attach, Attach::RawSyscall { nr: n, .. } if n == nr))
                                    .count();
                                if on_nr >= layout::SYSCALL_HOOKS {
                                    fail(format!(
                                        "more than {} hooks on `{symbol}` through the raw syscall tracepoint in all policies; run fewer policies at once",
                                        layout::SYSCALL_HOOKS
                                    ));
                                    break;
                                }
                            }
                            h.policy = index;
                            h.slot = slot;
                            h.config.policy = index as u32;
                            plan.hooks.push(h);
                        }
                    }
                    Err(message) => fail(format!("{}: {message}", hook.describe())),
                }
            }
            if let Some(calls) = enforcer_calls {
                plan.add_enforcer(index, calls);
            }
        }
        let cel_progs: std::collections::BTreeSet<u32> = plan
            .hooks
            .iter()
            .flat_map(|h| h.cel.iter().map(|c| c.filter))
            .collect();
        if cel_progs.len() > layout::MAX_CEL_PROGS {
            errors.push(PlanError {
                file: String::new(),
                policy: String::new(),
                message: format!(
                    "more than {} CelExpr filters in all policies; run fewer policies at once",
                    layout::MAX_CEL_PROGS
                ),
            });
        }
        if errors.is_empty() {
            reserved.slots = slots.taken;
            reserved.next_filter = filter_ids;
            Ok(plan)
        } else {
            Err(errors)
        }
    }
}

struct HookCompiler<'a> {
    kernel: &'a Kernel,
    features: Features,
    method: Option<Method>,
    filter_ids: &'a mut u32,
    /// The CelExpr programs of the hook being compiled.
    cel: Vec<crate::cel::CelEntry>,
    /// The policy's `lists`, for InMap values `list:NAME`.
    lists: &'a [List],
}

type Result2<T> = std::result::Result<T, String>;

impl HookCompiler<'_> {
    /// The layout of a `syscalls` event that serves a syscall hook, when the kernel has the
    /// event and its fields are known (on the host, only with tracefs: attaching needs it).
    fn syscall_event_layout(&self, event: &str) -> Option<Vec<FieldLayout>> {
        self.tracepoint_layout("syscalls", event)
            .ok()
            .filter(|layout| layout.len() > syscalls::FIRST_ARG_FIELD)
    }

    /// The fields of a tracepoint with where they lie in its record, from the kernel's index
    /// (its tracefs on the running host; else the syscall table or BTF).
    fn tracepoint_layout(&self, subsystem: &str, event: &str) -> Result2<Vec<FieldLayout>> {
        // On the running host tracepoints attach through tracefs: without it nothing would.
        if self.kernel.host.is_some() && !self.kernel.has_tracefs() {
            return Err("tracefs is not mounted at /sys/kernel/tracing: `mount -t tracefs tracefs /sys/kernel/tracing`".to_string());
        }
        let tp = self
            .kernel
            .tracepoint(subsystem, event)
            .ok_or_else(|| format!("this kernel has no tracepoint `{subsystem}/{event}`"))?;
        tp.layout.ok_or_else(|| {
            format!("the fields of `{subsystem}/{event}` are not known for this kernel (no tracefs, and BTF has no struct trace_event_raw_{event})")
        })
    }

    /// A kprobe's call (or syscall) this kernel does not have.
    fn call_missing(&self, hook: &Hook) -> bool {
        let call = hook.target.as_ref().map(|t| t.value.as_str()).unwrap_or("");
        matches!(hook.kind, PolicyHook::Kprobe | PolicyHook::Fentry)
            && self.kernel_symbol(hook, call).is_err()
    }

    /// The kernel symbol a kprobe's call attaches to (`__x64_sys_openat` for a syscall) and,
    /// for a syscall, its bare name; an error when this kernel lacks it.
    fn kernel_symbol(&self, hook: &Hook, call: &str) -> Result2<(String, Option<String>)> {
        if hook.is_syscall() {
            let bare = bare_syscall(call);
            let stub = self
                .kernel
                .syscall(bare)
                .ok_or_else(|| format!("this kernel has no syscall `{bare}`"))?;
            Ok((stub.name().to_string(), Some(bare.to_string())))
        } else {
            self.kernel
                .func(call)
                .ok_or_else(|| format!("this kernel has no function `{call}`"))?;
            Ok((call.to_string(), None))
        }
    }

    fn hook(&mut self, hook: &Hook) -> Result2<Vec<HookPlan>> {
        if hook.returns() {
            return_supported(hook)?;
        }
        return_copy_supported(hook)?;
        let target = hook
            .target
            .as_ref()
            .map(|t| t.value.clone())
            .unwrap_or_default();
        let overrides = hook
            .selectors
            .iter()
            .any(|s| s.match_actions.iter().any(|a| action_name(a) == "Override"));
        let (attaches, event, function_name, syscall): (Vec<Attach>, EventKind, String, bool) =
            match hook.kind {
                PolicyHook::Kprobe | PolicyHook::Fentry => {
                    let (attach, symbol) = self.kprobe_attach(hook, &target, overrides)?;
                    (vec![attach], EventKind::Kprobe, symbol, hook.is_syscall())
                }
                PolicyHook::Lsm => {
                    if !self.features.bpf_lsm {
                        return Err("BPF LSM is not active on this kernel: boot with `lsm=...,bpf` (see /sys/kernel/security/lsm)".into());
                    }
                    if !self.features.trampolines {
                        return Err("this kernel does not load BPF LSM programs (BPF trampolines are unavailable)".into());
                    }
                    (
                        vec![Attach::Lsm {
                            hook: target.clone(),
                        }],
                        EventKind::Lsm,
                        target.clone(),
                        false,
                    )
                }
                PolicyHook::Tracepoint => {
                    let subsystem = hook
                        .subsystem
                        .as_ref()
                        .map(|s| s.value.clone())
                        .unwrap_or_default();
                    if hook.raw {
                        // Tetragon (buildArgsRaw in pkg/sensors/tracing/generictracepoint.go)
                        // reads arg N as the Nth TP_PROTO argument and resolves through the
                        // BTF prototype of `__bpf_trace_<event>`.
                        return self.hook_with(
                            hook,
                            vec![Attach::RawTracepoint {
                                subsystem: subsystem.clone(),
                                event: target.clone(),
                            }],
                            EventKind::Tracepoint,
                            format!("__bpf_trace_{target}"),
                            false,
                        );
                    }
                    (
                        vec![Attach::Tracepoint {
                            subsystem: subsystem.clone(),
                            event: target.clone(),
                        }],
                        EventKind::Tracepoint,
                        format!("{subsystem}/{target}"),
                        false,
                    )
                }
                PolicyHook::Uprobe => {
                    let ref_ctr = ref_ctr_offsets(hook)?;
                    if hook.symbols.is_empty() && !hook.offsets.is_empty() {
                        // Tetragon attaches at each offset as given (addUprobeEntries in
                        // pkg/sensors/tracing/genericuprobe.go); its event has no symbol.
                        let mut attaches = Vec::new();
                        for (i, o) in hook.offsets.iter().enumerate() {
                            let offset = parse_int(&o.value)
                                .map(|v| v as u64)
                                .ok_or_else(|| format!("offset `{}` is not a number", o.value))?;
                            attaches.push(Attach::UprobeOffset {
                                path: target.clone(),
                                offset,
                                ref_ctr_offset: ref_ctr_at(&ref_ctr, i, "offsets")?,
                            });
                        }
                        return self.hook_with(
                            hook,
                            attaches,
                            EventKind::Uprobe,
                            String::new(),
                            false,
                        );
                    }
                    if hook.symbols.is_empty() && !hook.addrs.is_empty() {
                        return self.uprobe_addrs(hook, &target);
                    }
                    if hook.symbols.is_empty() {
                        return Err("a uprobe needs `symbols`, `offsets` or `addrs`".into());
                    }
                    let attaches = hook
                        .symbols
                        .iter()
                        .enumerate()
                        .map(|(i, s)| {
                            Ok(Attach::Uprobe {
                                path: target.clone(),
                                symbol: s.value.clone(),
                                ref_ctr_offset: ref_ctr_at(&ref_ctr, i, "symbols")?,
                            })
                        })
                        .collect::<Result2<Vec<_>>>()?;
                    (attaches, EventKind::Uprobe, String::new(), false)
                }
                PolicyHook::Usdt => return self.usdt(hook, &target),
            };
        self.hook_with(hook, attaches, event, function_name, syscall)
    }

    /// The hooks of `hook` once its attach points are known.
    fn hook_with(
        &mut self,
        hook: &Hook,
        attaches: Vec<Attach>,
        event: EventKind,
        function_name: String,
        syscall: bool,
    ) -> Result2<Vec<HookPlan>> {
        let mut config = layout::HookConfig {
            enabled: 1,
            syscall: syscall as u8,
            ..Default::default()
        };
        let mut args = Vec::new();
        let tp_fields = match &attaches[0] {
            // A syscall hook served by its syscall's tracepoint: arg N is the Nth field after
            // the common ones and `__syscall_nr`.
            Attach::Tracepoint { event, .. } if syscall => Some(
                self.syscall_event_layout(event)
                    .ok_or_else(|| format!("the fields of `syscalls/{event}` are not known"))?
                    .split_off(syscalls::FIRST_ARG_FIELD),
            ),
            Attach::Tracepoint { subsystem, event } => {
                Some(self.tracepoint_layout(subsystem, event)?)
            }
            _ => None,
        };
        if hook.args.len() > layout::MAX_ARGS {
            return Err(format!("more than {} args", layout::MAX_ARGS));
        }
        let user = syscall
            || matches!(
                &attaches[0],
                Attach::Uprobe { .. } | Attach::UprobeOffset { .. } | Attach::Usdt { .. }
            )
            || matches!(&attaches[0], Attach::Tracepoint { subsystem, .. } if subsystem == "syscalls");
        for (i, arg) in hook.args.iter().enumerate() {
            let (mut cfg, resolve_steps) =
                self.arg(hook, arg, i, user, tp_fields.as_deref(), &function_name)?;
            if returns_copy(arg) {
                cfg.flags |= ARG_RETURN_COPY;
            }
            config.args[i] = cfg;
            let index = arg.index.as_ref().map(|i| i.value).unwrap_or(i as i64);
            args.push(ArgPlan {
                ty: declared_type(arg, own_fields(hook, tp_fields.as_deref()), index)?.to_string(),
                label: arg.label.as_ref().map(|l| l.value.clone()),
                resolve_steps,
            });
        }
        config.nargs = hook.args.len() as u8;
        self.data_args(hook, &attaches[0], &mut config, &mut args)?;

        let mut strings = Vec::new();
        if hook.selectors.len() > layout::MAX_SELECTORS {
            return Err(format!("more than {} selectors", layout::MAX_SELECTORS));
        }
        for (si, sel) in hook.selectors.iter().enumerate() {
            config.selectors[si] = self.selector(hook, sel, &config.args, &mut strings)?;
        }
        config.nselectors = hook.selectors.len() as u8;
        if hook.returns() || hook.args.iter().any(returns_copy) {
            self.return_config(hook, &attaches[0], &mut config, &mut strings)?;
        }
        let uprobe_override = self.uprobe_override(hook, &attaches[0])?;

        let cel = std::mem::take(&mut self.cel);
        Ok(attaches
            .into_iter()
            .map(|attach| {
                let mut config = config;
                config.kind = attach.kind() as u8;
                let function_name = match &attach {
                    Attach::Uprobe { symbol, .. } => symbol.clone(),
                    _ => function_name.clone(),
                };
                HookPlan {
                    policy: 0,
                    attach,
                    slot: 0,
                    event,
                    function_name,
                    args: args.clone(),
                    ret: hook
                        .returns()
                        .then_some(hook.return_arg.as_ref())
                        .flatten()
                        .map(|a| ArgPlan {
                            ty: a.type_name().to_string(),
                            label: a.label.as_ref().map(|l| l.value.clone()),
                            resolve_steps: Vec::new(),
                        }),
                    data: hook.data.len(),
                    message: hook.message.as_ref().map(|m| m.value.clone()),
                    tags: hook.tags.iter().map(|t| t.value.clone()).collect(),
                    config,
                    strings: strings.clone(),
                    cel: cel.clone(),
                    net_actions: hook.selectors.iter().map(selector_net_action).collect(),
                    uprobe_override: uprobe_override.clone(),
                }
            })
            .collect())
    }

    /// How a kprobe (or fentry) hook attaches on this kernel, and its symbol.
    fn kprobe_attach(&self, hook: &Hook, call: &str, overrides: bool) -> Result2<(Attach, String)> {
        let (symbol, bare) = self.kernel_symbol(hook, call)?;
        let f = self.features;
        let want = if hook.kind == PolicyHook::Fentry {
            Some(Method::Fentry)
        } else {
            self.method
        };
        // Tetragon overrides a security_ function with fmod_ret (validateOverride and
        // OverrideFmodRet in pkg/sensors/tracing/generickprobe.go): the hook attaches as
        // usual (kprobe or fentry) and HookPlan::fmod_ret adds the companion program
        let fmod_ret = overrides && symbol.starts_with("security_");
        if fmod_ret {
            if !f.trampolines {
                return Err("Override on a security_ function needs fmod_ret, and this kernel does not load BPF trampolines".into());
            }
            if want.is_some_and(|m| !matches!(m, Method::Kprobe | Method::Fentry)) {
                return Err("Override on a security_ function needs a kprobe or an fentry on it; drop `--attach` or use `--attach kprobe` or `--attach fentry`".into());
            }
        }
        if overrides && !fmod_ret {
            if want.is_some_and(|m| m != Method::Kprobe) {
                return Err("Override needs a kprobe (bpf_override_return); drop `--attach` or use `--attach kprobe`".into());
            }
            if !f.kprobes {
                return Err("Override needs kprobes, and this kernel has none".into());
            }
            if self.kernel.config_enabled("CONFIG_BPF_KPROBE_OVERRIDE") == Some(false) {
                return Err("Override on a kprobe needs bpf_override_return, and this kernel is built without CONFIG_BPF_KPROBE_OVERRIDE; override an LSM hook's return value instead".into());
            }
            return Ok((
                Attach::Kprobe {
                    symbol: symbol.clone(),
                    override_: true,
                },
                symbol,
            ));
        }
        let raw = |bare: &Option<String>| -> Result2<Attach> {
            let bare = bare.as_ref().ok_or_else(|| {
                "the raw syscall tracepoint serves only `syscall: true` hooks".to_string()
            })?;
            let nr = syscalls::number(bare)
                .ok_or_else(|| format!("no syscall number is known for `{bare}`"))?;
            Ok(Attach::RawSyscall {
                symbol: symbol.clone(),
                nr,
            })
        };
        // A syscall's own tracepoint, where the kernel has it with a known layout: only that
        // syscall pays for the hook, where the raw tracepoint makes every syscall enter it.
        let own = |bare: &Option<String>| -> Result2<Attach> {
            if let Some(bare) = bare {
                let event = format!("sys_enter_{bare}");
                if self.syscall_event_layout(&event).is_some() {
                    return Ok(Attach::Tracepoint {
                        subsystem: "syscalls".into(),
                        event,
                    });
                }
            }
            raw(bare)
        };
        let attach = match want {
            Some(Method::Kprobe) if f.kprobes => Attach::Kprobe { symbol: symbol.clone(), override_: false },
            Some(Method::Kprobe) => return Err("`--attach kprobe`: this kernel has no kprobes".into()),
            Some(Method::Fentry) if f.trampolines => Attach::Fentry { symbol: symbol.clone() },
            Some(Method::Fentry) => return Err("fentry: this kernel does not load BPF trampolines".into()),
            Some(Method::Tracepoint) => own(&bare)?,
            Some(Method::RawTracepoint) => raw(&bare)?,
            None if f.kprobes => Attach::Kprobe { symbol: symbol.clone(), override_: false },
            None if f.trampolines => Attach::Fentry { symbol: symbol.clone() },
            None if bare.is_some() => own(&bare)?,
            None => {
                return Err(format!(
                    "cannot attach to `{symbol}`: this kernel has neither kprobes nor BPF trampolines (only `syscall: true` hooks fall back to the raw syscall tracepoint)"
                ))
            }
        };
        Ok((attach, symbol))
    }

    fn arg(
        &self,
        hook: &Hook,
        arg: &Arg,
        position: usize,
        user: bool,
        tp_fields: Option<&[FieldLayout]>,
        function: &str,
    ) -> Result2<(ArgConfig, Vec<u8>)> {
        let index = arg
            .index
            .as_ref()
            .map(|i| i.value)
            .unwrap_or(position as i64);
        let ty = declared_type(arg, own_fields(hook, tp_fields), index)?;
        let mut cfg = ArgConfig::default();
        let mut resolve_steps = Vec::new();
        let (kind, width, signed) = arg_kind(ty).ok_or_else(|| {
            format!("arg {index}: type `{ty}` is not supported by policyctl run yet (it reads integers, string, char_buf, filename, file, path, dentry, fd, linux_binprm, sock, socket, skb, sockaddr, sockaddr_un, cred, bpf_attr, bpf_prog, net_device, char_iovec, iov_iter, kiocb, kernel_cap_t, cap_inheritable, cap_permitted, cap_effective, capability, perf_event, bpf_map, user_namespace, module, load_info, bpf_cmd, data_loc, auto on tracepoints and nop)")
        })?;
        cfg.ty = if kind == arg_type::INT && !signed {
            arg_type::UINT
        } else {
            kind
        };
        cfg.width = width;
        if kind == arg_type::DATA_LOC && tp_fields.is_none() {
            return Err(format!(
                "arg {index}: type `data_loc` reads a tracepoint's `__data_loc` field, and this hook is not a tracepoint"
            ));
        }
        if user
            && matches!(
                kind,
                arg_type::STRING
                    | arg_type::BYTES
                    | arg_type::SOCKADDR
                    | arg_type::SOCKADDR_UN
                    | arg_type::BPF_ATTR
                    | arg_type::IOVEC
            )
        {
            cfg.flags |= ARG_USER;
        }
        if let Some(fields) = tp_fields {
            let field = usize::try_from(index)
                .ok()
                .and_then(|i| fields.get(i))
                .ok_or_else(|| format!("arg {index}: the tracepoint has no field {index}"))?;
            // Tetragon reads a __data_loc field as the data_loc type says, and any other type
            // as what the field is not (a pointer or an integer)
            if field.data_loc != (kind == arg_type::DATA_LOC) {
                return Err(if field.data_loc {
                    format!(
                        "arg {index}: `__data_loc` field `{}` is read with type `data_loc`",
                        field.name
                    )
                } else {
                    format!(
                        "arg {index}: type `data_loc` reads a `__data_loc` field, and field `{}` is not one",
                        field.name
                    )
                });
            }
            cfg.index = position as u8;
            cfg.field_offset = u16::try_from(field.offset)
                .map_err(|_| format!("arg {index}: field `{}` lies past 64 KiB", field.name))?;
            // A syscall hook served by its tracepoint reads the argument as its declared type
            // says, as from the register (every syscall field is an 8-byte `unsigned long`);
            // a tracepoint's own fields are read as they are laid out.
            let served_syscall =
                hook.is_syscall() && matches!(hook.kind, PolicyHook::Kprobe | PolicyHook::Fentry);
            if served_syscall && cfg.width == 0 {
                // a `nop` is read all the same: a sizeArgIndex may name it
                cfg.width = field.size.min(8) as u8;
            }
            if !served_syscall && kind != arg_type::DATA_LOC {
                cfg.width = field.size.min(8) as u8;
                if cfg.ty == arg_type::INT && !field.signed {
                    cfg.ty = arg_type::UINT;
                }
            }
            if kind == arg_type::CONST_BUF {
                // the array's bytes ([`const_buf_array`] bounds them below 256)
                cfg.width = u8::try_from(field.size).map_err(|_| {
                    format!("arg {index}: field `{}` is too large to copy", field.name)
                })?;
                if arg.resolve.is_some() {
                    return Err(format!(
                        "arg {index}: `resolve` on the array field `{}`: an array is copied, not loaded through",
                        field.name
                    ));
                }
            }
        } else {
            if !(0..=5).contains(&index) {
                return Err(format!("arg index {index} is out of range"));
            }
            cfg.index = index as u8;
        }
        // 0 means "not set", as in Tetragon (args_linux.go getMetaValue).
        if let Some(size) = arg.size_arg_index.as_ref().filter(|s| s.value != 0) {
            if !(1..=6).contains(&size.value) {
                return Err(format!(
                    "arg {index}: sizeArgIndex {} is out of range",
                    size.value
                ));
            }
            cfg.size_index = size.value as u8;
            // A hook served by a tracepoint reads only its declared args, each into the raw
            // slot of its position: the size comes from the declared arg of that index.
            if tp_fields.is_some() {
                let wanted = size.value - 1;
                let position = hook
                    .args
                    .iter()
                    .position(|a| a.index.as_ref().is_some_and(|i| i.value == wanted))
                    .ok_or_else(|| {
                        format!(
                            "arg {index}: sizeArgIndex {} names arg {wanted}, which this hook does not declare (a hook served by a tracepoint reads only its declared args; declare it, as `nop` if it should not be shown)",
                            size.value
                        )
                    })?;
                cfg.size_index = position as u8 + 1;
            }
        }
        // btfType without resolve is ignored, as Tetragon's addKprobe resolves only with `resolve`
        if arg.resolve.is_some() {
            // a raw tracepoint's `__bpf_trace_<event>` takes the tracepoint's data pointer first
            let param = if hook.raw && hook.kind == PolicyHook::Tracepoint {
                index + 1
            } else {
                index
            };
            let steps = self.resolve(hook, arg, param, function)?;
            resolve_steps = steps.steps;
            cfg.nresolve = steps.offsets.len() as u8;
            for (i, off) in steps.offsets.iter().enumerate() {
                cfg.resolve[i] = *off;
            }
            if steps.last_addr {
                cfg.flags |= ARG_LAST_ADDR;
            }
            // a uprobe's (or USDT's) argument points into the process: every load of the
            // path is a user read, whatever the arg's type
            if matches!(hook.kind, PolicyHook::Uprobe | PolicyHook::Usdt) {
                cfg.flags |= ARG_USER;
            }
        }
        Ok((cfg, resolve_steps))
    }

    /// The offsets a `resolve:` path loads through.
    fn resolve(&self, hook: &Hook, arg: &Arg, index: i64, function: &str) -> Result2<Resolve> {
        if matches!(hook.kind, PolicyHook::Uprobe | PolicyHook::Usdt) {
            return user_resolve(hook, arg, index);
        }
        let btf = self.kernel.btf();
        let param = if hook.kind == PolicyHook::Lsm {
            self.kernel.lsm_hook(function)
        } else {
            self.kernel.func(function)
        }
        .and_then(|f| f.params().get(index as usize).map(|p| p.1))
        .ok_or_else(|| format!("arg {index}: `resolve` needs the function's prototype in BTF"))?;
        let path = arg.resolve.as_ref().map(|r| r.value.as_str()).unwrap_or("");
        if let Some(cast) = &arg.btf_type {
            if let Some(t) = self.kernel.struct_named(&cast.value) {
                return resolve_loads(btf, t.id, path, false, index);
            }
            // Tetragon's findBTFTypeStruct: then the BTF of btfTypeModule, or of the hooked
            // function's module
            let module = arg
                .btf_type_module
                .as_ref()
                .map(|m| m.value.as_str())
                .or_else(|| self.kernel.module_of(function));
            let (module_btf, id) = module
                .and_then(|m| self.kernel.struct_in_module(m, &cast.value))
                .ok_or_else(|| {
                    format!(
                        "btfType `{}` is not in this kernel's BTF{}",
                        cast.value,
                        match module {
                            Some(m) if self.kernel.has_module(m) => {
                                format!(" nor in module `{m}`'s")
                            }
                            Some(m) => format!(
                                ", and the BTF of module `{m}` is not at hand (load the module)"
                            ),
                            None => String::new(),
                        }
                    )
                })?;
            return resolve_loads(module_btf, id, path, false, index);
        }
        resolve_loads(btf, param, path, true, index)
    }

    fn selector(
        &mut self,
        hook: &Hook,
        sel: &Selector,
        args: &[ArgConfig; layout::MAX_ARGS],
        strings: &mut Vec<StringEntry>,
    ) -> Result2<SelectorConfig> {
        for (key, present) in [
            (
                "matchReturnArgs",
                !hook.returns() && !sel.match_return_args.is_empty(),
            ),
            (
                "matchReturnActions",
                !hook.returns() && !sel.match_return_actions.is_empty(),
            ),
        ] {
            if present {
                return Err(format!("`{key}` is not supported by policyctl run yet"));
            }
        }
        let mut out = SelectorConfig {
            post: 1,
            ..Default::default()
        };
        if sel.match_args.len() > MAX_FILTERS {
            return Err(format!("more than {MAX_FILTERS} matchArgs in one selector"));
        }
        for (i, f) in sel.match_args.iter().enumerate() {
            out.args[i] = self.arg_filter(hook, f, args, strings)?;
        }
        out.nargs = sel.match_args.len() as u8;
        self.match_data(hook, sel, args, strings, &mut out)?;
        match sel.match_binaries.as_slice() {
            [] => {}
            [b] if b.values.is_empty() => {} // Tetragon ignores an empty matchBinaries
            [b] => {
                out.binaries = self.binaries(b, strings)?;
                out.has_binaries = 1;
            }
            _ => return Err("more than one matchBinaries entry in a selector is not supported by policyctl run yet".into()),
        }
        // the parent's binary, from the process table (match_parent_binaries)
        match sel.match_parent_binaries.as_slice() {
            [] => {}
            [b] if b.values.is_empty() => {}
            [b] => {
                let f = self.binaries(b, strings)?;
                if f.flags & FILTER_FOLLOW != 0 {
                    return Err("matchParentBinaries with followChildren is not supported by policyctl run yet".into());
                }
                out.parent_binaries = f;
                out.has_parent_binaries = 1;
            }
            _ => return Err("more than one matchParentBinaries entry in a selector is not supported by policyctl run yet".into()),
        }
        match sel.match_pids.as_slice() {
            [] => {}
            [p] => {
                out.pids = pids(p)?;
                out.has_pids = 1;
            }
            // selector_process_filter reads one pid_filter and takes the next for the
            // matchNamespaces section: what Tetragon then does depends on its bytes (the
            // validator warns). The runtime runs the evident meaning, every entry ANDed, where
            // one filter says it exactly (see `and_pids`).
            many => {
                out.pids = and_pids(many)?;
                out.has_pids = 1;
            }
        }
        self.process_filters(sel, &mut out)?;
        for action in &sel.match_actions {
            self.action(hook, action, &mut out)?;
        }
        out.args_mask = args_mask(&out);
        Ok(out)
    }

    fn next_filter(&mut self) -> u32 {
        let id = *self.filter_ids;
        *self.filter_ids += 1;
        id
    }

    fn arg_filter(
        &mut self,
        hook: &Hook,
        f: &ArgFilter,
        args: &[ArgConfig; layout::MAX_ARGS],
        strings: &mut Vec<StringEntry>,
    ) -> Result2<Filter> {
        let name = f.operator.as_ref().map(|o| o.value.as_str()).unwrap_or("");
        let operator = facts::operator(name).ok_or_else(|| format!("unknown operator `{name}`"))?;
        if operator.kind == OpKind::Cel {
            return self.cel_filter(hook, f);
        }
        let index = f.index.as_ref().map(|i| i.value).unwrap_or(0);
        // the event position of the filtered arg
        let position = hook
            .args
            .iter()
            .position(|a| a.index.as_ref().is_some_and(|i| i.value == index))
            .or_else(|| {
                (hook.kind == PolicyHook::Tracepoint)
                    .then(|| usize::try_from(index).ok().filter(|p| *p < hook.args.len()))
                    .flatten()
            })
            .ok_or_else(|| format!("matchArgs index {index} names no declared arg"));
        let position = match listed_position(hook, f)? {
            Some(p) => p,
            None => position?,
        };
        let ty = args[position].ty;
        if ty == arg_type::CONST_BUF {
            return Err(format!(
                "matchArgs index {index}: a tracepoint array (const_buf) is not filtered by policyctl run"
            ));
        }
        let mut out = Filter {
            id: self.next_filter(),
            arg: position as u8,
            ..Default::default()
        };
        if name.starts_with("Not") {
            out.flags |= FILTER_NOT;
        }
        let values: Vec<&str> = f.values.iter().map(|v| v.value.as_str()).collect();
        // sock, socket, skb and sockaddr are read into one tuple, filtered alike
        // (a socket's sock is read as ARG_SOCK, so its filters are a sock's)
        let net = matches!(
            ty,
            arg_type::SOCK | arg_type::SOCKET | arg_type::SKB | arg_type::SOCKADDR
        );
        let string_arg = !matches!(
            ty,
            arg_type::INT
                | arg_type::UINT
                | arg_type::CAPS
                | arg_type::IOVEC
                | arg_type::CRED
                | arg_type::BPF_ATTR
                | arg_type::BPF_PROG
        ) && !net
            && !no_string_filters(ty);
        match operator.kind {
            OpKind::Equality | OpKind::Prefix | OpKind::Postfix if string_arg => {
                out.op = match operator.kind {
                    OpKind::Equality => op::EQUAL,
                    OpKind::Prefix => op::PREFIX,
                    _ => op::POSTFIX,
                };
                for v in &values {
                    strings.push(string_entry(out.id, v, out.op == op::POSTFIX)?);
                }
                out.set_len_gate(values.iter().map(|v| v.len()), out.op == op::EQUAL);
            }
            OpKind::Equality | OpKind::Compare | OpKind::Mask
                if matches!(ty, arg_type::INT | arg_type::UINT | arg_type::CAPS) =>
            {
                out.op = match name {
                    "GT" | "GreaterThan" => op::GT,
                    "LT" | "LessThan" => op::LT,
                    "Mask" => op::MASK,
                    "Equal" | "NotEqual" => op::EQUAL,
                    other => {
                        return Err(format!(
                        "operator `{other}` on an integer is not supported by policyctl run yet"
                    ))
                    }
                };
                out.set_ints(&ints(&values, parse_int)?);
            }
            OpKind::InMap
                if matches!(ty, arg_type::INT | arg_type::UINT)
                    && values.iter().any(|v| v.starts_with("list:")) =>
            {
                out.op = op::INT_SET;
                let declared = hook
                    .args
                    .get(position)
                    .and_then(|a| a.ty.as_ref())
                    .map(|t| t.value.as_str());
                for v in self.int_set(declared, &values)? {
                    strings.push(StringEntry {
                        filter: out.id,
                        value: v.to_le_bytes().to_vec(),
                        postfix: false,
                    });
                }
            }
            OpKind::SubString if string_arg => {
                // Tetragon's filter_char_buf / filter_file_buf (bpf/process/types/basic.h)
                // search with the bpf_strnstr / bpf_strncasestr kfunc and match nothing on a
                // kernel without it (bpf_ksym_exists): then no value is stored, as nothing
                // can match.
                let nocase = name == "SubStringIgnCase";
                out.op = if nocase {
                    op::SUBSTRING_NOCASE
                } else {
                    op::SUBSTRING
                };
                let kfunc = if nocase {
                    "bpf_strncasestr"
                } else {
                    "bpf_strnstr"
                };
                let shortest = values.iter().map(|v| v.len()).min().unwrap_or(0);
                out.set_ints(&[shortest as u64]);
                if self.kernel.func(kfunc).is_some() {
                    for v in &values {
                        let v = if nocase {
                            v.to_ascii_lowercase()
                        } else {
                            v.to_string()
                        };
                        strings.push(string_entry(out.id, &v, false)?);
                    }
                }
            }
            OpKind::CapGained if ty == arg_type::CAPS => {
                // Tetragon's parseMatchArg (pkg/selectors/kernel.go) writes the position of
                // `args[1]` in the selector; filter_arg_1 (bpf/process/types/basic.h) reads it
                out.op = op::CAPS_GAINED;
                let second = f
                    .args
                    .get(1)
                    .and_then(|a| usize::try_from(a.value).ok())
                    .filter(|p| *p < hook.args.len())
                    .ok_or("CapabilitiesGained needs `args: [first, second]`, both positions in the args list")?;
                if args[second].ty != arg_type::CAPS {
                    return Err("CapabilitiesGained compares two capability-set args".into());
                }
                out.set_ints(&[second as u64]);
            }
            OpKind::InMap | OpKind::Range if matches!(ty, arg_type::INT | arg_type::UINT) => {
                out.op = op::INT_RANGE;
                out.set_ints(&int_ranges(&values)?);
            }
            OpKind::Port if net && values.iter().any(|v| v.contains(':')) => {
                out.op = if operator.destination {
                    op::DPORT_RANGE
                } else {
                    op::SPORT_RANGE
                };
                out.set_ints(&port_ranges(&values)?);
            }
            OpKind::Port if net => {
                out.op = if operator.destination {
                    op::DPORT
                } else {
                    op::SPORT
                };
                out.set_ints(&ints(&values, |v| {
                    parse_int(v).filter(|p| (0..=65535).contains(p))
                })?);
            }
            OpKind::PortPriv if net => {
                out.op = if operator.destination {
                    op::DPORT_PRIV
                } else {
                    op::SPORT_PRIV
                };
            }
            OpKind::Addr if net => {
                out.op = if operator.destination {
                    op::DADDR
                } else {
                    op::SADDR
                };
                if values.len() > MAX_VALUES {
                    return Err(format!("more than {MAX_VALUES} addresses in one filter"));
                }
                let cidrs = values
                    .iter()
                    .map(|v| {
                        parse_cidr(v).ok_or_else(|| format!("`{v}` is not an address or CIDR"))
                    })
                    .collect::<Result2<Vec<_>>>()?;
                out.set_cidrs(&cidrs);
            }
            OpKind::Family if ty == arg_type::SOCKADDR_UN => {
                out.op = op::FAMILY;
                out.set_ints(&ints(&values, |v| {
                    parse_int(v).or_else(|| {
                        facts::FAMILIES
                            .iter()
                            .find(|(n, _)| *n == v)
                            .map(|(_, n)| *n as i64)
                    })
                })?);
            }
            OpKind::FileType if matches!(ty, arg_type::FILE | arg_type::PATH) => {
                out.op = op::FILE_TYPE;
                out.set_ints(&ints(&values, |v| facts::file_type_mode(v).map(i64::from))?);
            }
            OpKind::Protocol | OpKind::Family | OpKind::State if net => {
                let (code, table) = match operator.kind {
                    OpKind::Protocol => (op::PROTOCOL, facts::PROTOCOLS),
                    OpKind::Family => (op::FAMILY, facts::FAMILIES),
                    _ => (op::STATE, facts::TCP_STATES),
                };
                out.op = code;
                out.set_ints(&ints(&values, |v| {
                    parse_int(v)
                        .or_else(|| table.iter().find(|(n, _)| *n == v).map(|(_, n)| *n as i64))
                })?);
            }
            _ => {
                return Err(format!(
                    "operator `{name}` on this arg is not supported by policyctl run yet"
                ))
            }
        }
        Ok(out)
    }

    /// A CelExpr filter: its program, run over the event's arguments by `cel_eval`. For
    /// matchReturnArgs the hook given holds the return argument alone, so arg0 is the return
    /// value, as in Tetragon.
    fn cel_filter(&mut self, hook: &Hook, f: &ArgFilter) -> Result2<Filter> {
        let [value] = f.values.as_slice() else {
            return Err("a CelExpr filter takes exactly one expression".into());
        };
        let mut types = policyctl_validator::celexpr::arg_types(hook, false);
        // arguments past the declared ones (a tracepoint's size fields) are not in the event
        types.truncate(hook.args.len());
        let prog = crate::cel::compile(&value.value, &types)?;
        let id = self.next_filter();
        self.cel.push(crate::cel::CelEntry { filter: id, prog });
        Ok(Filter {
            id,
            op: op::CEL,
            ..Default::default()
        })
    }

    fn binaries(&mut self, b: &SetFilter, strings: &mut Vec<StringEntry>) -> Result2<Filter> {
        let name = b
            .operator
            .as_ref()
            .map(|o| o.value.as_str())
            .unwrap_or("In");
        let mut out = Filter {
            id: self.next_filter(),
            ..Default::default()
        };
        out.op = match name {
            "In" | "NotIn" => op::IN,
            "Prefix" | "NotPrefix" => op::PREFIX,
            "Postfix" | "NotPostfix" => op::POSTFIX,
            other => {
                return Err(format!(
                    "matchBinaries operator `{other}` is not supported by policyctl run yet"
                ))
            }
        };
        if name.starts_with("Not") {
            out.flags |= FILTER_NOT;
        }
        if b.follow.as_ref().is_some_and(|f| f.value) {
            out.flags |= FILTER_FOLLOW;
        }
        for v in &b.values {
            strings.push(string_entry(out.id, &v.value, out.op == op::POSTFIX)?);
        }
        out.set_len_gate(b.values.iter().map(|v| v.value.len()), out.op == op::IN);
        Ok(out)
    }

    fn action(&self, hook: &Hook, action: &Action, out: &mut SelectorConfig) -> Result2<()> {
        let name = action_name(action);
        match name {
            "Post" => {
                match action.param("rateLimitScope").and_then(|n| n.as_str()) {
                    None | Some("thread") => out.rate_scope = layout::rate_scope::THREAD,
                    Some("process") => out.rate_scope = layout::rate_scope::PROCESS,
                    Some("global") => out.rate_scope = layout::rate_scope::GLOBAL,
                    Some(other) => return Err(format!("rateLimitScope `{other}` is not thread, process or global")),
                }
                if let Some(rate) = action.param("rateLimit").and_then(|n| n.as_str()) {
                    out.rate_limit_ms = parse_duration_ms(rate)
                        .ok_or_else(|| format!("rateLimit `{rate}` is not a duration like 30s, 5m or 1h"))?;
                }
                if stacks_shown(hook.kind) {
                    out.kernel_stack = action.flag("kernelStackTrace").is_some() as u8;
                    out.user_stack = action.flag("userStackTrace").is_some() as u8;
                }
            }
            "NoPost" => out.post = 0,
            // a USDT site's Set lives in its `usdt` map entry (HookCompiler::usdt)
            "Set" if hook.kind == PolicyHook::Usdt => {}
            "Sigkill" => out.kill = 1,
            "Signal" => {
                let sig = action
                    .param("argSig")
                    .and_then(|n| n.as_i64())
                    .filter(|s| (1..=64).contains(s))
                    .ok_or("Signal needs `argSig`, a signal number")?;
                out.signal = sig as u8;
            }
            // the registers it writes are the hook's UprobeOverride (HookCompiler::uprobe_override);
            // the event shows the override, as Tetragon's
            "Override" if hook.kind == PolicyHook::Uprobe => {
                out.override_ = 1;
                out.override_value = action
                    .param("argError")
                    .and_then(|n| n.as_i64())
                    .unwrap_or(0) as i32;
            }
            "Override" => {
                let err = action
                    .param("argError")
                    .and_then(|n| n.as_i64())
                    .ok_or("Override needs `argError`")?;
                out.override_ = 1;
                out.override_value = err as i32;
            }
            "TrackSock" | "UntrackSock" => {
                // a uint32 in Tetragon's CRD: 0 when not written
                let index = action
                    .param("argSock")
                    .and_then(|n| n.as_i64())
                    .unwrap_or(0);
                self.sock_action(hook, name, index, out)?;
            }
            "GetUrl" | "DnsLookup" => {
                net_action(action)?;
            }
            "NotifyEnforcer" => {
                // Tetragon writes argError (int32) and argSig (uint32, 0: none) into the
                // selector and its enforcer keeps both in 16 bits (bpf/process/bpf_enforcer.h
                // enforcer_data); the key is written when the plan has the policy's hooks
                let error = action.param("argError").and_then(|n| n.as_i64()).unwrap_or(0);
                let sig = action.param("argSig").and_then(|n| n.as_i64()).unwrap_or(0);
                out.notify_enforcer = 1;
                out.enforcer_error = error as i16 as i32;
                out.enforcer_signal = sig as u16 as u32;
            }
            other => {
                return Err(format!(
                    "action `{other}` is not supported by policyctl run yet (it runs Post, NoPost, Sigkill, Signal, Override, TrackSock, UntrackSock, GetUrl, DnsLookup and NotifyEnforcer)"
                ))
            }
        }
        // Tetragon reports the last action a selector ran as the event's action
        // (bpf/process/generic_calls.h do_action: `e->action = action`)
        out.last_action = match name {
            "TrackSock" => layout::action::TRACKSOCK as u8,
            "UntrackSock" => layout::action::UNTRACKSOCK as u8,
            "GetUrl" => layout::action::GETURL as u8,
            "DnsLookup" => layout::action::DNSLOOKUP as u8,
            "NotifyEnforcer" => layout::action::NOTIFYENFORCER as u8,
            _ => 0,
        };
        Ok(())
    }
}

// ---- selectors on namespaces and capabilities ----------------------------------------------

use crate::layout::{caps_set, CapsFilter, NsFilter, MAX_NS_FILTERS, MAX_NS_VALUES};

impl HookCompiler<'_> {
    /// matchNamespaces, matchCapabilities, matchNamespaceChanges and matchCapabilityChanges, as
    /// Tetragon's `ParseMatchNamespaces`, `ParseMatchCaps`, `ParseMatchNamespaceChanges` and
    /// `ParseMatchCapabilityChanges` (pkg/selectors/kernel.go) write them and
    /// `selector_process_filter` (bpf/process/pfilter.h) reads them.
    fn process_filters(&self, sel: &Selector, out: &mut SelectorConfig) -> Result2<()> {
        if sel.match_namespaces.len() > MAX_NS_FILTERS {
            return Err(format!(
                "more than {MAX_NS_FILTERS} matchNamespaces entries in one selector"
            ));
        }
        for (i, f) in sel.match_namespaces.iter().enumerate() {
            out.namespaces[i] = self.namespace_filter(f)?;
        }
        out.nnamespaces = sel.match_namespaces.len() as u8;
        match sel.match_capabilities.as_slice() {
            [] => {}
            [f] => {
                out.caps = self.caps_filter(f, "matchCapabilities")?;
                out.has_caps = 1;
            }
            // selector_process_filter reads one caps_filter and then takes the second for the
            // matchNamespaceChanges section: what Tetragon does then depends on its bytes.
            _ => return Err("more than one matchCapabilities entry in a selector: Tetragon's BPF side (bpf/process/pfilter.h selector_process_filter) reads only the first and misreads the second as the next section; put the values in one entry".into()),
        }
        match sel.match_namespace_changes.as_slice() {
            [] => {}
            [f] => {
                let (flags, mask) = namespace_changes(f)?;
                out.ns_changes_flags = flags;
                out.ns_changes = mask;
                out.has_ns_changes = 1;
            }
            _ => return Err("more than one matchNamespaceChanges entry in a selector (Tetragon's ParseMatchNamespaceChanges refuses it)".into()),
        }
        match sel.match_capability_changes.as_slice() {
            [] => {}
            [f] => {
                out.cap_changes = self.caps_filter(f, "matchCapabilityChanges")?;
                out.has_cap_changes = 1;
            }
            _ => return Err("more than one matchCapabilityChanges entry in a selector: Tetragon's BPF side (bpf/process/pfilter.h selector_process_filter) reads only the first; put the values in one entry".into()),
        }
        Ok(())
    }

    /// One matchNamespaces entry: the kind, In or NotIn, and up to four inode numbers
    /// (`host_ns`: the namespace of pid 1, as Tetragon's `namespaceSelectorValue`).
    fn namespace_filter(&self, f: &SetFilter) -> Result2<NsFilter> {
        let name = f.namespace.as_ref().map(|n| n.value.as_str()).unwrap_or("");
        let kind = ns_kind(name)
            .ok_or_else(|| format!("matchNamespaces: `{name}` is not a namespace kind"))?;
        let mut out = NsFilter {
            kind,
            flags: set_operator(f, "matchNamespaces")?,
            ..Default::default()
        };
        if f.values.len() > MAX_NS_VALUES {
            return Err(format!(
                "matchNamespaces: more than {MAX_NS_VALUES} values in one entry"
            ));
        }
        for (i, v) in f.values.iter().enumerate() {
            out.values[i] = match golang::parse_uint10(&v.value, 32) {
                Ok(n) => n as u32,
                Err(_) if v.value == "host_ns" => self.host_ns(name)?,
                Err(_) => {
                    return Err(format!(
                        "matchNamespaces: `{}` is neither a namespace inode number nor `host_ns`",
                        v.value
                    ))
                }
            };
        }
        out.nvalues = f.values.len() as u8;
        Ok(out)
    }

    /// A matchCapabilities or matchCapabilityChanges entry.
    fn caps_filter(&self, f: &SetFilter, key: &str) -> Result2<CapsFilter> {
        let set_name = f.cap_set.as_ref().map(|t| t.value.as_str()).unwrap_or("");
        let set = CAPABILITY_SETS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(set_name))
            .map(|(_, s)| *s)
            .ok_or_else(|| {
                format!("{key}: `type: {set_name}` is not Effective, Inheritable or Permitted")
            })?;
        let mut out = CapsFilter {
            set,
            flags: set_operator(f, key)?,
            ..Default::default()
        };
        if f.namespace_capability.as_ref().is_some_and(|b| b.value) {
            // ParseMatchCaps: the user namespace of pid 1.
            out.host_userns = self.host_ns("user")?;
        }
        for v in &f.values {
            let upper = v.value.trim().to_ascii_uppercase();
            let bit = facts::CAPABILITIES
                .iter()
                .position(|c| *c == upper)
                .ok_or_else(|| {
                    format!(
                        "{key}: `{}` is not a capability name Tetragon knows",
                        v.value
                    )
                })?;
            out.mask |= 1u64 << bit;
        }
        Ok(out)
    }

    /// The inode of pid 1's namespace of `kind` (Tetragon's `GetHostNsInode`, which reads the
    /// link `/proc/1/ns/<kind in lower case>`). Off the running host (a plan for a BTF file) the
    /// value is 0: such a plan is never loaded.
    fn host_ns(&self, kind: &str) -> Result2<u32> {
        // PidForChildren and TimeForChildren never get here: Tetragon cannot read those (P022)
        let file = kind.to_ascii_lowercase();
        if self.kernel.host.is_none() {
            return Ok(0);
        }
        let link = std::fs::read_link(format!("/proc/1/ns/{file}")).map_err(|e| {
            format!("reading the host's `{kind}` namespace (/proc/1/ns/{file}) for `host_ns`: {e}")
        })?;
        ns_inode(&link.to_string_lossy()).ok_or_else(|| {
            format!(
                "/proc/1/ns/{file} links to `{}`, not `{file}:[inode]`",
                link.display()
            )
        })
    }
}

/// The position a matchArgs entry names with the `args` list (its first item: Tetragon's
/// `argIndexTypeFromArgs` in pkg/selectors/kernel.go counts positions in the args list, not
/// `index` values); `None` without `args`.
fn listed_position(hook: &Hook, f: &ArgFilter) -> Result2<Option<usize>> {
    let Some(a) = f.args.first() else {
        return Ok(None);
    };
    usize::try_from(a.value)
        .ok()
        .filter(|p| *p < hook.args.len())
        .map(Some)
        .ok_or_else(|| {
            format!(
                "matchArgs `args: [{}]` is past the end of the args list",
                a.value
            )
        })
}

/// The capability sets by their `type` name, numbered as Tetragon's `capabilitiesTypeTable`.
const CAPABILITY_SETS: [(&str, u8); 3] = [
    ("Permitted", caps_set::PERMITTED),
    ("Effective", caps_set::EFFECTIVE),
    ("Inheritable", caps_set::INHERITABLE),
];

/// A namespace kind's number: its position in the validator's table of kinds, which follows
/// Tetragon's `namespaceTypeTable` (uts 0 ... user 9); case-insensitive, as Tetragon lowers it.
fn ns_kind(name: &str) -> Option<u8> {
    facts::NAMESPACE_CHANGE_KINDS
        .iter()
        .position(|k| k.eq_ignore_ascii_case(name))
        .map(|p| p as u8)
}

/// `In` (or nothing: In) and `NotIn`, the only operators of the namespace and capability
/// filters; the FILTER_* flags.
fn set_operator(f: &SetFilter, key: &str) -> Result2<u8> {
    match f
        .operator
        .as_ref()
        .map(|o| o.value.as_str())
        .unwrap_or("In")
    {
        "In" => Ok(0),
        "NotIn" => Ok(FILTER_NOT),
        other => Err(format!("{key}: operator `{other}` is not In or NotIn")),
    }
}

/// matchNamespaceChanges: its flags and the mask of the kinds listed.
fn namespace_changes(f: &SetFilter) -> Result2<(u8, u16)> {
    let flags = set_operator(f, "matchNamespaceChanges")?;
    let mut mask = 0u16;
    for v in &f.values {
        let kind = ns_kind(&v.value).ok_or_else(|| {
            format!(
                "matchNamespaceChanges: `{}` is not a namespace kind",
                v.value
            )
        })?;
        mask |= 1 << kind;
    }
    Ok((flags, mask))
}

/// The inode of a namespace link's target, `net:[4026531840]`.
pub fn ns_inode(target: &str) -> Option<u32> {
    let (_, rest) = target.split_once(":[")?;
    rest.strip_suffix(']')?.parse().ok()
}

// ---- return probes ---------------------------------------------------------

/// What of a `return: true` hook the runtime cannot do, before anything is compiled.
fn return_supported(hook: &Hook) -> Result2<()> {
    if !matches!(
        hook.kind,
        PolicyHook::Kprobe | PolicyHook::Fentry | PolicyHook::Uprobe
    ) {
        return Err(format!(
            "return probes (`return: true`) on {}s are not supported by policyctl run yet (it runs them on kprobes, fentries and uprobes)",
            hook.kind.noun()
        ));
    }
    // Tetragon: pkg/sensors/tracing/generickprobe.go addKprobe() refuses `return: true`
    // without a typed returnArg ("ReturnArg not specified with Return=true").
    if hook
        .return_arg
        .as_ref()
        .and_then(|a| a.ty.as_ref())
        .is_none()
    {
        return Err("`return: true` needs a `returnArg` with a `type`".into());
    }
    if let Some(action) = &hook.return_arg_action {
        sock_action(&action.value).ok_or_else(|| {
            format!(
                "returnArgAction `{}` is not TrackSock or UntrackSock, the two Tetragon takes (addKprobe in pkg/sensors/tracing/generickprobe.go)",
                action.value
            )
        })?;
    }
    Ok(())
}

/// `TrackSock` / `UntrackSock` (any case, as Tetragon's ActionTypeFromString) as the
/// runtime's action number.
fn sock_action(name: &str) -> Option<u8> {
    match name.to_ascii_lowercase().as_str() {
        "tracksock" => Some(layout::action::TRACKSOCK as u8),
        "untracksock" => Some(layout::action::UNTRACKSOCK as u8),
        _ => None,
    }
}

impl HookCompiler<'_> {
    /// The return half of a `return: true` hook: how the return value is read (`returnArg`),
    /// where the return program attaches, and each selector's matchReturnArgs and
    /// matchReturnActions.
    fn return_config(
        &mut self,
        hook: &Hook,
        attach: &Attach,
        config: &mut HookConfig,
        strings: &mut Vec<StringEntry>,
    ) -> Result2<()> {
        // a hook with returnCopy and no `return: true` has a return probe and no return value,
        // as Tetragon's addKprobe sets one up for the copy alone (ArgReturn unset)
        let ret_arg = hook.return_arg.as_ref().filter(|_| hook.returns());
        let uprobe = matches!(attach, Attach::Uprobe { .. } | Attach::UprobeOffset { .. });
        if hook.returns() {
            let ret_arg = ret_arg.ok_or("`return: true` needs a `returnArg`")?;
            let ty = ret_arg.type_name();
            let (kind, width, signed) = match arg_kind(ty) {
                Some((k, w, sg))
                    if matches!(
                        k,
                        arg_type::INT | arg_type::SOCK | arg_type::SOCKET | arg_type::FILE
                    ) =>
                {
                    if uprobe && k != arg_type::INT {
                        return Err(format!(
                            "returnArg type `{ty}` on a uprobe: a user-space function returns no kernel object"
                        ));
                    }
                    (k, w, sg)
                }
                // A uretprobe's returned `char *` lies in the process's memory (Tetragon's
                // getUprobeReturnArg in pkg/sensors/tracing/genericuprobe.go takes any type).
                Some((arg_type::STRING, w, sg)) if uprobe => (arg_type::STRING, w, sg),
                _ => {
                    return Err(format!("returnArg type `{ty}` is not supported by policyctl run yet (it reads integers, file, sock and socket; and string on uprobes)"))
                }
            };
            config.ret.ty = if kind == arg_type::INT && !signed {
                arg_type::UINT
            } else {
                kind
            };
            config.ret.width = width;
            if uprobe {
                config.ret.flags |= ARG_USER;
            }
        }
        // returnArgAction: the returned pointer tracked or forgotten at every return, as
        // Tetragon's generic_retprobe (bpf/process/generic_calls.h) does with socktrack_map
        if let Some(action) = &hook.return_arg_action {
            config.ret_sock_action = sock_action(&action.value).unwrap_or(0);
        }
        match attach {
            Attach::Kprobe { .. } | Attach::Fentry { .. } => {}
            Attach::Uprobe { .. } | Attach::UprobeOffset { .. } => {}
            Attach::Tracepoint { subsystem, event } => {
                let exit = attach
                    .exit_tracepoint()
                    .ok_or_else(|| format!("tracepoint {subsystem}/{event} has no return"))?;
                let layout = self.tracepoint_layout("syscalls", &exit)?;
                let field = layout
                    .iter()
                    .find(|f| f.name == "ret")
                    .ok_or_else(|| format!("`syscalls/{exit}` has no field `ret`"))?;
                config.ret.field_offset = u16::try_from(field.offset)
                    .map_err(|_| format!("`syscalls/{exit}`: field `ret` lies past 64 KiB"))?;
            }
            other => {
                return Err(format!(
                    "return probes through the {} are not supported by policyctl run yet (use `--attach kprobe`, `fentry` or `tracepoint`)",
                    other.method()
                ))
            }
        }
        config.returns = 1;
        // The return value is the return selectors' only argument, as Tetragon's
        // InitKernelReturnSelectorState (pkg/selectors/kernel.go) compiles matchReturnArgs
        // against `[]KProbeArg{*returnArg}`.
        let ret_args = {
            let mut a = [ArgConfig::default(); layout::MAX_ARGS];
            a[0] = config.ret;
            a
        };
        for (si, sel) in hook.selectors.iter().enumerate() {
            let out = &mut config.ret_selectors[si];
            *out = layout::ReturnSelector {
                post: 1,
                ..Default::default()
            };
            if sel.match_return_args.len() > MAX_FILTERS {
                return Err(format!(
                    "more than {MAX_FILTERS} matchReturnArgs in one selector"
                ));
            }
            for (fi, f) in sel.match_return_args.iter().enumerate() {
                let ret_arg =
                    ret_arg.ok_or("matchReturnArgs needs `return: true` and a `returnArg`")?;
                let mut only = hook.clone();
                only.kind = PolicyHook::Kprobe;
                let mut arg = ret_arg.clone();
                // the filter names the return value whatever its index says
                arg.index = Some(f.index.clone().unwrap_or(Spanned {
                    value: 0,
                    span: ret_arg.span,
                }));
                only.args = vec![arg];
                out.args[fi] = self
                    .arg_filter(&only, f, &ret_args, strings)
                    .map_err(|e| format!("matchReturnArgs: {e}"))?;
            }
            out.nargs = sel.match_return_args.len() as u8;
            for action in &sel.match_return_actions {
                match action_name(action) {
                    "Post" if action.param("rateLimit").is_some() => {
                        return Err("rateLimit in matchReturnActions is not supported by policyctl run yet".into())
                    }
                    "Post" => {}
                    "NoPost" => out.post = 0,
                    "Sigkill" => out.kill = 1,
                    "Signal" => {
                        let sig = action
                            .param("argSig")
                            .and_then(|n| n.as_i64())
                            .filter(|s| (1..=64).contains(s))
                            .ok_or("Signal needs `argSig`, a signal number")?;
                        out.signal = sig as u8;
                    }
                    other => {
                        return Err(format!(
                            "action `{other}` in matchReturnActions is not supported by policyctl run (it runs Post, NoPost, Sigkill and Signal when the function returns)"
                        ))
                    }
                }
            }
        }
        Ok(())
    }
}

// ---- sockets and network actions ---------------------------------------------------------

/// A GetUrl or DnsLookup a selector runs: user space does it when the selector's event
/// arrives, as Tetragon's handleMsgGenericKprobe (pkg/sensors/tracing/generickprobe.go:
/// `getUrl`, `dnsLookup`) does for an event whose action is GetUrl or DnsLookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetAction {
    /// `GetUrl`: an HTTP GET of `argUrl` (an `http://` URL).
    GetUrl(String),
    /// `DnsLookup`: an A query for `argFqdn`.
    DnsLookup(String),
}

impl NetAction {
    /// The policy's action name.
    pub fn name(&self) -> &'static str {
        match self {
            NetAction::GetUrl(_) => "GetUrl",
            NetAction::DnsLookup(_) => "DnsLookup",
        }
    }
}

/// The GetUrl or DnsLookup of a matchActions entry (None for other actions). A URL that is
/// not `http://` or `https://` is refused (Go's `http.Get`, which Tetragon calls, knows no
/// other scheme either).
fn net_action(action: &Action) -> Result2<Option<NetAction>> {
    let name = action_name(action);
    let param = |key: &str| {
        action
            .param(key)
            .and_then(|n| n.as_str())
            .map(str::to_string)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("{name} needs `{key}`"))
    };
    match name {
        "GetUrl" => {
            let url = param("argUrl")?;
            if crate::netaction::HttpUrl::parse(&url).is_none() {
                return Err(format!(
                    "GetUrl `{url}`: policyctl run fetches only `http://` and `https://` URLs"
                ));
            }
            Ok(Some(NetAction::GetUrl(url)))
        }
        "DnsLookup" => Ok(Some(NetAction::DnsLookup(param("argFqdn")?))),
        _ => Ok(None),
    }
}

/// The selector's GetUrl or DnsLookup, when it is the selector's last action: Tetragon runs
/// it only for an event whose action (the last one the selector ran) is GetUrl or DnsLookup.
fn selector_net_action(sel: &Selector) -> Option<NetAction> {
    sel.match_actions
        .last()
        .and_then(|a| net_action(a).ok().flatten())
}

impl HookCompiler<'_> {
    /// TrackSock / UntrackSock: `argSock` is the position of a sock or socket arg in `args`
    /// (Tetragon's tracksock() reads the event's arg `argSock`, bpf/process/types/basic.h).
    fn sock_action(
        &self,
        hook: &Hook,
        name: &str,
        index: i64,
        out: &mut SelectorConfig,
    ) -> Result2<()> {
        let ty = usize::try_from(index)
            .ok()
            .and_then(|i| hook.args.get(i))
            .map(|a| a.type_name());
        if !matches!(ty, Some("sock" | "socket")) {
            return Err(format!(
                "{name}: argSock {index} is not a `sock` or `socket` arg of this hook"
            ));
        }
        out.sock_action = sock_action(name).unwrap_or(0);
        out.sock_arg = index as u8;
        Ok(())
    }
}

// ---- InMap values from lists -------------------------------------------------------------

/// Values an InMap set may hold: a list of every syscall plus ranges stay far below the trie's
/// 4096 entries (`str_prefix` in bpf/policyctl.bpf.c), shared by all filters.
const MAX_SET_VALUES: usize = 1024;

impl HookCompiler<'_> {
    /// The values of an InMap filter with `list:NAME` values, as Tetragon writes them into the
    /// filter's value map (pkg/selectors/kernel.go `writeMatchValuesInMap`,
    /// `writeListValuesInMap`): a list gives its syscalls' numbers (`listReader.Read` in
    /// pkg/sensors/tracing/lists_linux.go: only a `syscalls` or `generated_syscalls` list, only
    /// on a `syscall64` arg; `SyscallVal.ID` in syscall_list.go), a range `a:b` each value in
    /// it (`writeRangeInMap`), any other value itself.
    fn int_set(&self, declared: Option<&str>, values: &[&str]) -> Result2<Vec<i64>> {
        let mut out = Vec::new();
        for v in values {
            if let Some(name) = v.strip_prefix("list:") {
                if declared != Some("syscall64") {
                    return Err(format!(
                        "InMap values from lists (`{v}`) need a `syscall64` arg, as Tetragon's listReader.Read requires"
                    ));
                }
                let list = find_list(self.lists, name)
                    .ok_or_else(|| format!("there is no list `{name}`"))?;
                let ty = list.ty.as_ref().map(|t| t.value.to_ascii_lowercase());
                let names: Vec<String> = match ty.as_deref() {
                    Some("syscalls") => list.values.iter().map(|v| v.value.clone()).collect(),
                    Some("generated_syscalls") => self
                        .kernel
                        .syscall_names()
                        .into_iter()
                        .filter(|n| syscalls::number(n).is_some())
                        .map(|n| n.to_string())
                        .collect(),
                    _ => {
                        return Err(format!(
                            "list `{name}` is not a `syscalls` or `generated_syscalls` list, so InMap cannot take its values (Tetragon's listReader.Read refuses it too)"
                        ))
                    }
                };
                for n in names {
                    let native = n.strip_prefix("x64/").unwrap_or(&n);
                    if native.contains('/') || native.starts_with("__ia32_") {
                        return Err(format!(
                            "list `{name}`: `{n}` is not an x86_64 syscall; policyctl run reads a syscall64 value without Tetragon's 32-bit flag, so it matches only the native ABI's syscalls"
                        ));
                    }
                    let nr = syscalls::number(bare_syscall(native))
                        .ok_or_else(|| format!("list `{name}`: `{n}` is not a syscall"))?;
                    out.push(i64::from(nr));
                }
            } else if let Some((a, b)) = v.split_once(':') {
                let int = |t: &str| {
                    parse_int(t.trim()).ok_or_else(|| format!("`{v}` is not a valid value here"))
                };
                let (a, b) = (int(a)?, int(b)?);
                let (lo, hi) = (a.min(b), a.max(b));
                if hi.saturating_sub(lo) as u64 >= MAX_SET_VALUES as u64 {
                    return Err(format!(
                        "the range `{v}` has more than {MAX_SET_VALUES} values"
                    ));
                }
                out.extend(lo..=hi);
            } else {
                out.push(parse_int(v).ok_or_else(|| format!("`{v}` is not a valid value here"))?);
            }
            if out.len() > MAX_SET_VALUES {
                return Err(format!(
                    "more than {MAX_SET_VALUES} values in an InMap filter"
                ));
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

/// Why `hook` found no slot: its kind's copies are all taken, and for a plain kprobe the
/// `kprobe_multi` slots too.
fn slots_exhausted(hook: &HookPlan) -> String {
    let plain_kprobe = matches!(
        &hook.attach,
        Attach::Kprobe {
            override_: false,
            ..
        }
    ) && hook.config.returns == 0;
    if plain_kprobe || matches!(hook.attach, Attach::RawSyscall { .. }) {
        format!(
            "more than {} kprobe hooks in all policies; run fewer policies at once",
            SLOTS_PER_KIND + layout::MULTI_SLOTS
        )
    } else {
        let what = match &hook.attach {
            Attach::Kprobe {
                override_: true, ..
            } => "kprobe hooks with Override".to_string(),
            Attach::Kprobe { .. } => "kprobe hooks with a return probe".to_string(),
            other => format!("{} hooks", other.method()),
        };
        format!("more than {SLOTS_PER_KIND} {what} in all policies; run fewer policies at once")
    }
}

/// `sys_openat`, `__x64_sys_openat` and `openat` → `openat`.
fn bare_syscall(call: &str) -> &str {
    let unprefixed = facts::SYSCALL_ARCH_PREFIXES
        .iter()
        .find_map(|p| call.strip_prefix(p))
        .unwrap_or(call);
    unprefixed.strip_prefix("sys_").unwrap_or(unprefixed)
}

fn action_name(a: &Action) -> &str {
    a.action.as_ref().map(|a| a.value.as_str()).unwrap_or("")
}

fn pids(p: &SetFilter) -> Result2<Filter> {
    let name = p
        .operator
        .as_ref()
        .map(|o| o.value.as_str())
        .unwrap_or("In");
    let mut out = Filter {
        op: op::IN,
        ..Default::default()
    };
    match name {
        "In" => {}
        "NotIn" => out.flags |= FILTER_NOT,
        other => {
            return Err(format!(
                "matchPIDs operator `{other}` is not supported by policyctl run yet"
            ))
        }
    }
    if p.follow.as_ref().is_some_and(|f| f.value) {
        out.flags |= FILTER_FOLLOW;
    }
    if p.namespace_pid.as_ref().is_some_and(|n| n.value) {
        out.flags |= FILTER_NSPID;
    }
    let values: Vec<&str> = p.values.iter().map(|v| v.value.as_str()).collect();
    out.set_ints(&ints(&values, |v| parse_int(v).filter(|p| *p >= 0))?);
    Ok(out)
}

/// Several matchPIDs entries of one selector, ANDed, as one filter where that is exact:
/// NotIn entries with the same flags are NotIn the union of their values (no candidate pid,
/// the process's or with followForks an ancestor's, is in any of them); In entries with the
/// same flags and without followForks (one candidate pid) are In the intersection. Anything
/// else is refused.
fn and_pids(entries: &[SetFilter]) -> Result2<Filter> {
    let filters = entries.iter().map(pids).collect::<Result2<Vec<Filter>>>()?;
    let first = filters[0];
    let refuse = || {
        "more than one matchPIDs entry in a selector whose AND is not one filter (they differ in operator, followForks or isNamespacePID, or are In entries with followForks); Tetragon's BPF side (bpf/process/pfilter.h selector_process_filter) reads only the first and misreads the second as the matchNamespaces section: put the values in one entry".to_string()
    };
    if filters.iter().any(|f| f.flags != first.flags) {
        return Err(refuse());
    }
    let values = |f: &Filter| f.values[..usize::from(f.nvalues).min(MAX_VALUES)].to_vec();
    let mut merged: Vec<u64> = values(&first);
    if first.flags & FILTER_NOT != 0 {
        for f in &filters[1..] {
            for v in values(f) {
                if !merged.contains(&v) {
                    merged.push(v);
                }
            }
        }
    } else {
        if first.flags & FILTER_FOLLOW != 0 {
            return Err(refuse());
        }
        for f in &filters[1..] {
            let other = values(f);
            merged.retain(|v| other.contains(v));
        }
        if merged.is_empty() {
            return Err("matchPIDs entries of a selector ANDed leave no pid (their In values do not overlap): the selector never matches; remove it or fix the values".into());
        }
    }
    if merged.len() > MAX_VALUES {
        return Err(format!(
            "matchPIDs entries of a selector ANDed hold more than {MAX_VALUES} values"
        ));
    }
    let mut out = Filter {
        op: first.op,
        flags: first.flags,
        ..Default::default()
    };
    out.set_ints(&merged);
    Ok(out)
}

/// SPort/DPort values with ranges (`8000:8080`, both ends included) as (low, high) pairs; a
/// single port is the range of itself. Tetragon writes each port of a range into the filter's
/// value map (pkg/selectors/kernel.go writeMatchValuesInMap / writeRangeInMap, which also
/// swaps a reversed range).
fn port_ranges(values: &[&str]) -> Result2<Vec<u64>> {
    if values.len() * 2 > MAX_VALUES {
        return Err(format!(
            "more than {} port values in a filter with ranges",
            MAX_VALUES / 2
        ));
    }
    let port = |v: &str| {
        parse_int(v)
            .filter(|p| (0..=65535).contains(p))
            .map(|p| p as u64)
            .ok_or_else(|| format!("`{v}` is not a valid port"))
    };
    let mut out = Vec::with_capacity(values.len() * 2);
    for v in values {
        let (low, high) = match v.split_once(':') {
            Some((a, b)) => (port(a.trim())?, port(b.trim())?),
            None => (port(v)?, port(v)?),
        };
        // a reversed range is swapped, as writeRangeInMap does
        out.extend([low.min(high), low.max(high)]);
    }
    Ok(out)
}

/// InMap and InRange values on an integer as (low, high) pairs: a range `a:b` (swapped when
/// reversed, as Tetragon's writeRangeInMap does), a single value the range of itself. Tetragon
/// keeps InMap values in a hash map (pkg/selectors/kernel.go writeMatchValuesInMap) and InRange
/// limits inline (writeMatchValuesRange); here both are at most four inline pairs (an InMap
/// with `list:` values is compiled by `HookCompiler::int_set` instead).
fn int_ranges(values: &[&str]) -> Result2<Vec<u64>> {
    if let Some(v) = values.iter().find(|v| v.starts_with("list:")) {
        return Err(format!(
            "InMap values from lists (`{v}`) are not supported by policyctl run yet"
        ));
    }
    if values.len() * 2 > MAX_VALUES {
        return Err(format!(
            "more than {} values or ranges in an InMap or InRange filter",
            MAX_VALUES / 2
        ));
    }
    let int =
        |v: &str| parse_int(v.trim()).ok_or_else(|| format!("`{v}` is not a valid value here"));
    let mut out = Vec::with_capacity(values.len() * 2);
    for v in values {
        let (low, high) = match v.split_once(':') {
            Some((a, b)) => (int(a)?, int(b)?),
            None => (int(v)?, int(v)?),
        };
        out.extend([low.min(high) as u64, low.max(high) as u64]);
    }
    Ok(out)
}

fn ints(values: &[&str], parse: impl Fn(&str) -> Option<i64>) -> Result2<Vec<u64>> {
    if values.len() > MAX_VALUES {
        return Err(format!("more than {MAX_VALUES} values in one filter"));
    }
    values
        .iter()
        .map(|v| {
            parse(v)
                .map(|n| n as u64)
                .ok_or_else(|| format!("`{v}` is not a valid value here"))
        })
        .collect()
}

/// A string value for a trie: at most STR_LEN bytes, reversed for Postfix.
/// The event args a selector's matchArgs entries compare (bit i: arg i), which `handle()`
/// reads once the selector's process filters hold: each entry's own arg, CapabilitiesGained's
/// second one, and every arg for a CEL expression (which may name any).
fn args_mask(sel: &SelectorConfig) -> u8 {
    let all = (1u8 << layout::MAX_ARGS) - 1;
    let mut mask = 0u8;
    for f in &sel.args[..usize::from(sel.nargs).min(MAX_FILTERS)] {
        if f.op == op::CEL {
            return all;
        }
        let positions = [
            Some(u64::from(f.arg)),
            (f.op == op::CAPS_GAINED).then_some(f.values[0]),
        ];
        for p in positions.into_iter().flatten() {
            if p < layout::MAX_ARGS as u64 {
                mask |= 1 << p;
            }
        }
    }
    mask
}

fn string_entry(filter: u32, value: &str, postfix: bool) -> Result2<StringEntry> {
    let mut bytes = value.as_bytes().to_vec();
    if bytes.len() > STR_LEN {
        return Err(format!("value `{value}` is longer than {STR_LEN} bytes"));
    }
    if postfix {
        bytes.reverse();
    }
    Ok(StringEntry {
        filter,
        value: bytes,
        postfix,
    })
}

/// An integer value as Tetragon reads it (Go's `strconv.ParseInt` with base 0: decimal, `0x`,
/// `0o`, `0b` or leading-`0` octal, `_` between digits), the validator's `golang` rules; an
/// unsigned 64-bit value above `i64::MAX` keeps its bits.
pub fn parse_int(text: &str) -> Option<i64> {
    let t = text.trim();
    golang::parse_int(t, 64)
        .ok()
        .or_else(|| golang::parse_uint(t, 64).ok().map(|u| u as i64))
}

/// `10.0.0.0/8`, `127.0.0.1`, `::1`, `fd00::/8`.
pub fn parse_cidr(text: &str) -> Option<Cidr> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u32>().ok()?)),
        None => (text, None),
    };
    let ip: std::net::IpAddr = addr.trim().parse().ok()?;
    let mut out = Cidr::default();
    match ip {
        std::net::IpAddr::V4(v4) => {
            out.family = 2;
            out.prefix = prefix.unwrap_or(32);
            out.addr[..4].copy_from_slice(&v4.octets());
            (out.prefix <= 32).then_some(out)
        }
        std::net::IpAddr::V6(v6) => {
            out.family = 10;
            out.prefix = prefix.unwrap_or(128);
            out.addr = v6.octets();
            (out.prefix <= 128).then_some(out)
        }
    }
}

/// Tetragon's rateLimit: a number with an optional unit s, m or h (seconds by default).
pub fn parse_duration_ms(text: &str) -> Option<u32> {
    let t = text.trim();
    let (num, mult) = match t.chars().last()? {
        'h' => (&t[..t.len() - 1], 3_600_000u64),
        'm' => (&t[..t.len() - 1], 60_000),
        's' => (&t[..t.len() - 1], 1000),
        _ => (t, 1000),
    };
    let n: u64 = num.parse().ok()?;
    u32::try_from(n.checked_mul(mult)?)
        .ok()
        .filter(|ms| *ms > 0)
}

/// Arg types no string operator reads: kernel objects the BPF side reads into structs, and
/// kiocb and iov_iter, on which Tetragon's filter_arg_2 (bpf/process/types/basic.h) filters
/// nothing.
fn no_string_filters(ty: u8) -> bool {
    matches!(
        ty,
        arg_type::PERF_EVENT
            | arg_type::BPF_MAP
            | arg_type::USER_NS
            | arg_type::MODULE
            | arg_type::LOAD_INFO
            | arg_type::KIOCB
            | arg_type::IOV_ITER
    )
}

/// A tracepoint's own fields (not those of a syscall hook a tracepoint serves): where `auto`
/// takes its type from.
fn own_fields<'a>(hook: &Hook, fields: Option<&'a [FieldLayout]>) -> Option<&'a [FieldLayout]> {
    fields.filter(|_| hook.kind == PolicyHook::Tracepoint)
}

/// The arg's type: as declared, or for `auto` (the default) on a tracepoint the type Tetragon's
/// getGenericTypeId (pkg/sensors/tracing/generictracepoint.go) takes from the field's format:
/// a 4- or 8-byte integer by its size and sign, `size_t`, or a `char *` with a sizeArgIndex
/// as char_buf. Anywhere else `auto` is returned as it is (and refused by [`arg_kind`]).
fn declared_type<'a>(
    arg: &'a Arg,
    tp_fields: Option<&[FieldLayout]>,
    index: i64,
) -> Result2<&'a str> {
    let ty = arg.ty.as_ref().map(|t| t.value.as_str()).unwrap_or("auto");
    if ty == "const_buf" {
        return Err(format!(
            "arg {index}: type `const_buf` cannot be written in a policy (Tetragon's getGenericTypeId sets it from a tracepoint's format)"
        ));
    }
    let Some(fields) = tp_fields.filter(|_| ty == "auto") else {
        return Ok(ty);
    };
    let Some(field) = usize::try_from(index).ok().and_then(|i| fields.get(i)) else {
        return Ok(ty); // `arg` reports the missing field
    };
    let words: Vec<&str> = field
        .ctype
        .split_whitespace()
        .filter(|w| *w != "const" && !w.starts_with("__attribute__"))
        .collect();
    let refused = |why: &str| {
        Err(format!(
            "arg {index}: type `auto` on field `{}` ({}): {why}",
            field.name, field.ctype
        ))
    };
    if field.data_loc {
        return refused("a `__data_loc` field is read with type `data_loc`");
    }
    if array_field(field) {
        return const_buf_array(field).map_err(|why| {
            format!(
                "arg {index}: type `auto` on field `{}` ({}): {why}",
                field.name, field.ctype
            )
        });
    }
    if words.last() == Some(&"*") || words.iter().any(|w| w.ends_with('*')) {
        let base = words.first().copied().unwrap_or("");
        let unsigned_char = words.len() >= 2 && base == "unsigned" && words[1] == "char";
        if base != "char" && !unsigned_char {
            return refused("Tetragon resolves `auto` only for pointers to char");
        }
        if arg.size_arg_index.as_ref().is_none_or(|s| s.value == 0) {
            return refused("a `char *` read as `auto` needs a sizeArgIndex (Tetragon: \"no metadata field for buffer\")");
        }
        return Ok("char_buf");
    }
    if words == ["size_t"] {
        return Ok("size_t");
    }
    let integer = matches!(
        words.first().copied(),
        Some("unsigned" | "char" | "short" | "int" | "long" | "u8" | "u16" | "u32" | "u64")
    );
    if !integer {
        return refused("Tetragon resolves `auto` only for integer, size_t and char * fields");
    }
    Ok(match (field.size, field.signed) {
        (4, true) => "int32",
        (4, false) => "uint32",
        (8, true) => "int64",
        (8, false) => "uint64",
        _ => return refused("Tetragon resolves `auto` only for 4- and 8-byte integers"),
    })
}

/// A tracepoint field that is an array: its type says so (`long unsigned int [6]`, from BTF),
/// or, as tracefs prints the type without the `[6]` (`unsigned long`, the size 48), it is
/// larger than any scalar Tetragon's parseTy (pkg/tracepoint/fieldtype.go) knows (8 bytes;
/// not the element size: a syscall tracepoint stores an `unsigned int` in 8 bytes).
fn array_field(field: &FieldLayout) -> bool {
    field.ctype.contains('[') || field.size > 8
}

/// The type of a tracepoint's array field read as `auto`: Tetragon's getGenericTypeId
/// (pkg/sensors/tracing/generictracepoint.go) makes any array a const_buf of the array's
/// bytes, and its event decoder (handleGenericTracepoint there) prints only arrays of `long`
/// (`unsigned long args[6]`), one `size_arg` per element; an array of anything else is
/// copied but left out of the event, and the args after it are misread, so it is refused.
fn const_buf_array(field: &FieldLayout) -> Result2<&'static str> {
    let element = field.ctype.split('[').next().unwrap_or("");
    let words: Vec<&str> = element
        .split_whitespace()
        .filter(|w| !matches!(*w, "const" | "signed" | "unsigned" | "int") && *w != field.name)
        .collect();
    if words != ["long"] {
        return Err(
            "Tetragon reads an array as a const_buf and prints only arrays of `long`".to_string(),
        );
    }
    if field.size == 0 || field.size % 8 != 0 || field.size >= 256 {
        return Err(format!(
            "an array of {} bytes: policyctl run copies arrays of `long` up to 248 bytes",
            field.size
        ));
    }
    Ok("const_buf")
}

/// (arg_type, width, signed) of a policy arg type the runtime reads.
fn arg_kind(ty: &str) -> Option<(u8, u8, bool)> {
    Some(match ty {
        "int" | "sint32" | "int32" => (arg_type::INT, 4, true),
        "uint32" => (arg_type::INT, 4, false),
        "sint8" | "int8" => (arg_type::INT, 1, true),
        "uint8" => (arg_type::INT, 1, false),
        "sint16" | "int16" => (arg_type::INT, 2, true),
        "uint16" => (arg_type::INT, 2, false),
        "long" | "sint64" | "int64" | "syscall64" => (arg_type::INT, 8, true),
        "ulong" | "uint64" | "size_t" => (arg_type::INT, 8, false),
        "string" => (arg_type::STRING, 8, false),
        "char_buf" => (arg_type::BYTES, 8, false),
        "filename" => (arg_type::FILENAME, 8, false),
        "file" => (arg_type::FILE, 8, false),
        "path" => (arg_type::PATH, 8, false),
        "dentry" => (arg_type::DENTRY, 8, false),
        "fd" => (arg_type::FD, 4, true),
        "sock" => (arg_type::SOCK, 8, false),
        "socket" => (arg_type::SOCKET, 8, false),
        "linux_binprm" => (arg_type::BINPRM, 8, false),
        "nop" => (arg_type::NONE, 0, false),
        // only from `auto` on a tracepoint's array ([`const_buf_array`]); its width is the
        // array's size, set from the field
        "const_buf" => (arg_type::CONST_BUF, 0, false),
        "skb" => (arg_type::SKB, 8, false),
        "sockaddr" => (arg_type::SOCKADDR, 8, false),
        "sockaddr_un" => (arg_type::SOCKADDR_UN, 8, false),
        "cred" => (arg_type::CRED, 8, false),
        "bpf_attr" => (arg_type::BPF_ATTR, 8, false),
        "bpf_prog" => (arg_type::BPF_PROG, 8, false),
        "net_device" => (arg_type::NET_DEV, 8, false),
        "char_iovec" => (arg_type::IOVEC, 8, false),
        "kernel_cap_t" | "cap_inheritable" | "cap_permitted" | "cap_effective" => {
            (arg_type::CAPS, 8, false)
        }
        // kernel objects, kiocb and iov_iter (issue 15): Tetragon's copy_* readers in
        // bpf/process/types/basic.h and bpf/process/generic_calls.h
        "perf_event" => (arg_type::PERF_EVENT, 8, false),
        "bpf_map" => (arg_type::BPF_MAP, 8, false),
        "user_namespace" => (arg_type::USER_NS, 8, false),
        "module" => (arg_type::MODULE, 8, false),
        "load_info" => (arg_type::LOAD_INFO, 8, false),
        "kiocb" => (arg_type::KIOCB, 8, false),
        "iov_iter" => (arg_type::IOV_ITER, 8, false),
        // an int the output names (bpf_cmd_arg, capability_arg)
        "bpf_cmd" | "capability" => (arg_type::INT, 4, true),
        // a tracepoint's __data_loc field: a 4-byte (length << 16 | offset)
        "data_loc" => (arg_type::DATA_LOC, 4, false),
        _ => return None,
    })
}

#[derive(Default, Debug)]
struct Resolve {
    offsets: Vec<u16>,
    /// The index in the walk's steps of each load ([`ArgPlan::resolve_steps`]).
    steps: Vec<u8>,
    last_addr: bool,
}

/// The loads of a `resolve:` path walked from `root` (the validator's walk, Tetragon's steps):
/// offsets add up until a step that loads a pointer; what is left after the last load is the
/// address of a struct, union or array (`last_addr`).
fn resolve_loads(
    btf: &Btf,
    root: TypeId,
    path: &str,
    from_param: bool,
    index: i64,
) -> Result2<Resolve> {
    resolve_loads_in(btf, root, path, from_param, index, "this kernel")
}

/// [`resolve_loads`] through the BTF `whose` names in its refusals (`this kernel`, a file).
fn resolve_loads_in(
    btf: &Btf,
    root: TypeId,
    path: &str,
    from_param: bool,
    index: i64,
    whose: &str,
) -> Result2<Resolve> {
    let mut out = Resolve::default();
    if path.is_empty() {
        return Ok(out);
    }
    let walked = resolve::walk(btf, root, path, from_param).map_err(|e| match e {
        WalkError::TooDeep { steps } => format!(
            "arg {index}: `resolve: {path}` takes {steps} steps, more than Tetragon's {MAX_BTF_ARG_DEPTH}"
        ),
        WalkError::NotStruct { .. } => {
            format!("arg {index}: `resolve: {path}` goes through a non-struct")
        }
        WalkError::NoMember { field, .. } => {
            format!("arg {index}: no member `{field}` on {whose}")
        }
        _ => format!("arg {index}: `resolve: {path}` does not walk in {whose}'s BTF"),
    })?;
    if walked.bitfield {
        return Err(format!(
            "arg {index}: `resolve: {path}` goes through a bitfield, which policyctl run does not read"
        ));
    }
    let mut pending: u32 = 0;
    let mut loaded_last = false;
    for (at, step) in walked.steps.iter().enumerate() {
        pending = pending.saturating_add(step.offset);
        loaded_last = step.pointer;
        if step.pointer {
            push_step(&mut out, pending, index)?;
            out.steps.push(at as u8);
            pending = 0;
        }
    }
    if !loaded_last {
        push_step(&mut out, pending, index)?;
        out.last_addr = true;
    }
    Ok(out)
}

fn push_step(out: &mut Resolve, offset: u32, index: i64) -> Result2<()> {
    // never more loads than steps, and the BPF side holds Tetragon's limit of steps
    if out.offsets.len() >= MAX_RESOLVE {
        return Err(format!(
            "arg {index}: `resolve` has more than {MAX_RESOLVE} steps"
        ));
    }
    let off = u16::try_from(offset)
        .map_err(|_| format!("arg {index}: member offset {offset} is too large"))?;
    out.offsets.push(off);
    Ok(())
}

// ---- data, matchData and returnCopy (issue 15) -------------------------------------------

/// Whether an arg has `returnCopy: true`.
fn returns_copy(arg: &Arg) -> bool {
    arg.return_copy.as_ref().is_some_and(|r| r.value)
}

/// Tetragon copies at the return only the buffers its entry saved: `copy_char_buf` and
/// `copy_char_iovec` (bpf/process/generic_calls.h) are the readers that look at returnCopy.
fn return_copy_supported(hook: &Hook) -> Result2<()> {
    for (i, arg) in hook.args.iter().enumerate() {
        let ty = arg.type_name();
        if returns_copy(arg) && !matches!(ty, "char_buf" | "char_iovec") {
            return Err(format!(
                "arg {i}: `returnCopy` on type `{ty}` is not supported by policyctl run (Tetragon copies char_buf and char_iovec at the return)"
            ));
        }
    }
    Ok(())
}

impl HookCompiler<'_> {
    /// The hook's `data` args, after its args: each read from its `source` (a register of the
    /// probe's pt_regs, or the current task) and resolved, as Tetragon's addKprobe and
    /// getUprobeArgConfig (pkg/sensors/tracing/generickprobe.go, genericuprobe.go) append them
    /// to the args of the event config.
    fn data_args(
        &self,
        hook: &Hook,
        attach: &Attach,
        config: &mut HookConfig,
        args: &mut Vec<ArgPlan>,
    ) -> Result2<()> {
        if hook.data.is_empty() {
            return Ok(());
        }
        if hook.args.len() + hook.data.len() > layout::MAX_ARGS {
            return Err(format!(
                "more than {} args and data together",
                layout::MAX_ARGS
            ));
        }
        for (k, d) in hook.data.iter().enumerate() {
            let position = hook.args.len() + k;
            let ty = d.type_name();
            let (kind, width, signed) = arg_kind(ty)
                .filter(|(k, _, _)| *k != arg_type::BYTES && *k != arg_type::IOVEC)
                .ok_or_else(|| {
                    format!("data {k}: type `{ty}` is not supported by policyctl run yet")
                })?;
            let mut cfg = ArgConfig {
                ty: if kind == arg_type::INT && !signed {
                    arg_type::UINT
                } else {
                    kind
                },
                width,
                ..Default::default()
            };
            let mut resolve_steps = Vec::new();
            let source = d.source.as_ref().map(|s| s.value.as_str()).unwrap_or("");
            let path = d.resolve.as_ref().map(|r| r.value.as_str()).unwrap_or("");
            match source {
                "current_task" => {
                    let task = self
                        .kernel
                        .struct_named("task_struct")
                        .ok_or("this kernel's BTF has no task_struct")?;
                    let steps = resolve_loads(self.kernel.btf(), task.id, path, false, k as i64)?;
                    resolve_steps = steps.steps;
                    cfg.source = arg_source::CURRENT_TASK;
                    cfg.nresolve = steps.offsets.len() as u8;
                    cfg.resolve[..steps.offsets.len()].copy_from_slice(&steps.offsets);
                    if steps.last_addr {
                        cfg.flags |= ARG_LAST_ADDR;
                    }
                }
                "pt_regs" => {
                    let (offset, size) = facts::pt_regs_register(path)
                        .ok_or_else(|| format!("data {k}: `{path}` is not an x86_64 register"))?;
                    cfg.reg_offset = offset;
                    cfg.reg_size = size;
                    // a syscall's registers are its user registers (Tetragon's
                    // get_pt_regs_arg_syscall); a uprobe's and a kprobe's, the probe's own
                    cfg.source = match attach {
                        _ if hook.is_syscall() => arg_source::USER_REGS,
                        Attach::Kprobe { .. } | Attach::Uprobe { .. } | Attach::UprobeOffset { .. } => {
                            arg_source::PT_REGS
                        }
                        other => {
                            return Err(format!(
                                "data {k}: registers are read by kprobes and uprobes, not through the {}",
                                other.method()
                            ))
                        }
                    };
                    // a uprobe's registers hold user pointers
                    if cfg.source != arg_source::PT_REGS
                        || matches!(attach, Attach::Uprobe { .. } | Attach::UprobeOffset { .. })
                    {
                        cfg.flags |= ARG_USER;
                    }
                }
                other => {
                    return Err(format!(
                        "data {k}: source `{other}` is not `current_task` or `pt_regs`"
                    ))
                }
            }
            config.args[position] = cfg;
            args.push(ArgPlan {
                ty: ty.to_string(),
                label: d.label.as_ref().map(|l| l.value.clone()),
                resolve_steps,
            });
        }
        config.nargs = (hook.args.len() + hook.data.len()) as u8;
        Ok(())
    }

    /// A selector's matchData filters, after its matchArgs: each names a data arg by its place
    /// in `data` (`index`, or `args: [n]`), which Tetragon's ParseMatchData
    /// (pkg/selectors/kernel.go) moves past the args (`base`).
    fn match_data(
        &mut self,
        hook: &Hook,
        sel: &Selector,
        args: &[ArgConfig; layout::MAX_ARGS],
        strings: &mut Vec<StringEntry>,
        out: &mut SelectorConfig,
    ) -> Result2<()> {
        if sel.match_data.is_empty() {
            return Ok(());
        }
        let first = sel.match_args.len();
        if first + sel.match_data.len() > MAX_FILTERS {
            return Err(format!(
                "more than {MAX_FILTERS} matchArgs and matchData in one selector"
            ));
        }
        let mut all = hook.clone();
        all.args = hook.args.iter().chain(hook.data.iter()).cloned().collect();
        for (k, f) in sel.match_data.iter().enumerate() {
            let place = f
                .args
                .first()
                .map(|a| a.value)
                .or(f.index.as_ref().map(|i| i.value))
                .unwrap_or(0);
            if usize::try_from(place).map_or(true, |p| p >= hook.data.len()) {
                return Err(format!("matchData index {place} names no data arg"));
            }
            let mut moved = f.clone();
            moved.args = vec![Spanned {
                value: hook.args.len() as i64 + place,
                span: f.span,
            }];
            out.args[first + k] = self.arg_filter(&all, &moved, args, strings)?;
        }
        out.nargs = (first + sel.match_data.len()) as u8;
        Ok(())
    }
}

// ---- compiling beside a running set ----------------------------------------

/// What a running set already holds, so that more policies compile beside it
/// ([`Plan::compile_beside`]): the slots its hooks serve and the next filter id. Filter ids are
/// never reused, so a trie entry of a policy being removed can never match a new filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    /// Slots serving a hook.
    pub slots: std::collections::BTreeSet<u32>,
    /// The next free filter id (0 is no filter).
    pub next_filter: u32,
}

impl Default for Reserved {
    fn default() -> Self {
        Reserved {
            slots: Default::default(),
            next_filter: 1,
        }
    }
}

impl Reserved {
    /// `slot` serves no hook any more: a later compile may give it to another.
    pub fn free(&mut self, slot: u32) {
        self.slots.remove(&slot);
    }
}

impl Plan {
    /// The plans of several sets of policies (each compiled beside the others, so their slots
    /// differ) as one: policies in order, each hook's `policy` index moved along.
    pub fn merged<'a>(parts: impl IntoIterator<Item = &'a Plan>) -> Plan {
        let mut out = Plan::default();
        for part in parts {
            let base = out.policies.len();
            out.policies.extend(part.policies.iter().cloned());
            out.hooks.extend(part.hooks.iter().cloned().map(|mut h| {
                h.policy += base;
                h
            }));
            out.skipped.extend(part.skipped.iter().cloned());
            out.enforcers
                .extend(part.enforcers.iter().cloned().map(|mut e| {
                    e.policy += base;
                    e
                }));
        }
        out
    }
}

// ---- calls from `lists` ---------------------------------------------------------------------

/// The list named `name` (the first of that name, as Tetragon's `isList` takes).
fn find_list<'s>(lists: &'s [List], name: &str) -> Option<&'s List> {
    lists
        .iter()
        .find(|l| l.name.as_ref().is_some_and(|n| n.value == name))
}

/// The calls of a `syscalls` list (`name`), read as Tetragon's `SyscallVal` reads them: the
/// native ABI's `x64/` written or not (`x64/sys_openat` → `sys_openat`). Another ABI's value
/// (`i386/...`, `__ia32_...`) is an error: policyctl run hooks only the native ABI's syscalls.
/// Shared by the hooks' lists ([`expand_lists`]) and the enforcer's ([`enforcer_calls`]).
fn syscall_list_values(list: &List, name: &str) -> Result2<Vec<String>> {
    let mut calls = Vec::new();
    for v in &list.values {
        let value = v.value.strip_prefix("x64/").unwrap_or(&v.value);
        if value.contains('/') || value.starts_with("__ia32_") {
            return Err(format!(
                "list `{name}`: `{}` is not an x86_64 syscall; policyctl run hooks only the native ABI's syscalls",
                v.value
            ));
        }
        calls.push(value.to_string());
    }
    Ok(calls)
}

/// The policy's hooks with every `call: "list:NAME"` replaced by one hook per call of the list,
/// as Tetragon does (`preValidateKprobe` in pkg/sensors/tracing/generickprobe.go: `isList`,
/// `getListSymbols` in lists_linux.go): a `syscalls` list holds syscall names (`sys_dup`,
/// `__x64_sys_dup`, `x64/sys_dup`) and makes its hooks syscall hooks; a `generated_syscalls`
/// list is every syscall of the ABI's table that the kernel has (`btf.GetSyscallsList`); a list without a type holds
/// function names, taken as written. The first list of a name counts (`isList`).
///
/// A `generated_ftrace` list is filled as [`ftrace_list`] says; what it matched against is
/// said in `notes`.
fn expand_lists<'s>(
    spec: &'s Spec,
    kernel: &Kernel,
    notes: &mut Vec<String>,
) -> Result2<Vec<std::borrow::Cow<'s, Hook>>> {
    let mut out = Vec::new();
    for hook in &spec.hooks {
        let call = hook.target.as_ref();
        let Some(name) = call.and_then(|c| c.value.strip_prefix("list:")) else {
            out.push(std::borrow::Cow::Borrowed(hook));
            continue;
        };
        let span = call.map(|c| c.span).unwrap_or(hook.span);
        let list = find_list(&spec.lists, name)
            .ok_or_else(|| format!("{}: there is no list `{name}`", hook.describe()))?;
        let ty = list.ty.as_ref().map(|t| t.value.to_ascii_lowercase());
        let (calls, syscall): (Vec<String>, bool) = match ty.as_deref() {
            Some("syscalls") => (syscall_list_values(list, name)?, true),
            Some("generated_syscalls") => (
                kernel
                    .syscall_names()
                    .into_iter()
                    .filter(|n| syscalls::number(n).is_some())
                    .map(|n| format!("sys_{n}"))
                    .collect(),
                true,
            ),
            // Tetragon keeps the hook's `syscall` (true unless written false) for these
            // functions, then reads their arguments as a syscall stub's; here they are hooked as
            // the functions they are (arguments from their own registers)
            Some("generated_ftrace") => (ftrace_list(list, name, kernel, notes)?, false),
            _ => (
                list.values.iter().map(|v| v.value.clone()).collect(),
                hook.is_syscall(),
            ),
        };
        for call in calls {
            let mut one = hook.clone();
            one.target = Some(Spanned { value: call, span });
            if syscall {
                one.syscall = Some(Spanned { value: true, span });
            } else if ty.as_deref() == Some("generated_ftrace") {
                one.syscall = Some(Spanned { value: false, span });
            }
            out.push(std::borrow::Cow::Owned(one));
        }
    }
    Ok(out)
}

// ---- generated_ftrace lists ------------------------------------------------------------------

/// The functions of a `generated_ftrace` list, as Tetragon fills it (`ReadAvailFuncs` in
/// pkg/ftrace/ftrace.go, from `validateList` in pkg/sensors/tracing/lists_linux.go): the
/// kernel's `available_filter_functions` up to the first line of a module (a line with a
/// space), sorted, without duplicates and `__ftrace_invalid_address__` entries, those the
/// `pattern` (a Go regular expression, unanchored) matches; none is an error ("ftrace: '%s' not
/// found").
///
/// On the running kernel that file is read from tracefs. A kernel known only by its BTF (a dry
/// run) has no such file: its BTF functions stand in for it, and a note says so — BTF also
/// lists functions ftrace cannot trace (notrace, inlined everywhere), so there the list may be
/// longer than Tetragon's, and attaching is what finally tells.
fn ftrace_list(
    list: &List,
    name: &str,
    kernel: &Kernel,
    notes: &mut Vec<String>,
) -> Result2<Vec<String>> {
    let pattern = list
        .pattern
        .as_ref()
        .map(|p| p.value.as_str())
        .filter(|p| !p.is_empty())
        .ok_or_else(|| format!("list `{name}`: a `generated_ftrace` list needs a `pattern`"))?;
    let re = regex::Regex::new(pattern).map_err(|e| {
        format!("list `{name}`: `pattern` `{pattern}` is not a regular expression: {e}")
    })?;
    let (mut functions, from): (Vec<String>, String) = if kernel.host.is_some() {
        let path = policyctl_validator::kernel::HOST_TRACEFS
            .iter()
            .map(|d| std::path::Path::new(d).join("available_filter_functions"))
            .find(|p| p.exists())
            .ok_or_else(|| {
                format!("list `{name}`: `generated_ftrace` needs tracefs (available_filter_functions), which is not mounted")
            })?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("list `{name}`: {}: {e}", path.display()))?;
        (
            text.lines()
                .take_while(|l| !l.contains(' '))
                .map(str::to_string)
                .collect(),
            path.display().to_string(),
        )
    } else {
        let functions: Vec<String> = kernel.func_names().map(str::to_string).collect();
        notes.push(format!(
            "list `{name}`: `generated_ftrace` matched `{pattern}` against the {} functions of {}'s BTF, not its available_filter_functions (a dry run has no tracefs of that kernel; BTF also has functions ftrace cannot trace)",
            functions.len(),
            kernel.name
        ));
        (functions, format!("{}'s BTF", kernel.name))
    };
    functions.sort_unstable();
    functions.dedup();
    functions.retain(|f| !f.contains("__ftrace_invalid_address__") && re.is_match(f));
    if functions.is_empty() {
        return Err(format!(
            "list `{name}`: no function of {from} matches `{pattern}` (Tetragon: \"ftrace: '{pattern}' not found\")"
        ));
    }
    Ok(functions)
}

// ---- USDT probes -----------------------------------------------------------

impl HookCompiler<'_> {
    /// A `usdts` entry: one hook per site of the probe in the binary (Tetragon's addUsdt in
    /// pkg/sensors/tracing/genericusdt.go configures every stapsdt note that names the
    /// provider and probe). Arg i of the hook reads the probe argument its `index` names,
    /// where the site's note says; matchArgs name args by that `index`, as for other hooks.
    fn usdt(&mut self, hook: &Hook, path: &str) -> Result2<Vec<HookPlan>> {
        let provider = hook
            .usdt_provider
            .as_ref()
            .map(|p| p.value.clone())
            .unwrap_or_default();
        let name = hook
            .usdt_name
            .as_ref()
            .map(|n| n.value.clone())
            .unwrap_or_default();
        // The hook as the programs see it: arg i in raw slot i, filters on the same args.
        let mut remapped = hook.clone();
        let mut indexes = Vec::new();
        for (i, arg) in remapped.args.iter_mut().enumerate() {
            let index = arg.index.as_ref().map_or(i as i64, |x| x.value);
            indexes.push(index);
            if let Some(x) = arg.index.as_mut() {
                x.value = i as i64;
            } else {
                arg.index = Some(Spanned {
                    value: i as i64,
                    span: arg.span,
                });
            }
        }
        for sel in &mut remapped.selectors {
            for f in &mut sel.match_args {
                if let Some(x) = f.index.as_mut() {
                    x.value = indexes
                        .iter()
                        .position(|i| *i == x.value)
                        .map_or(-1, |p| p as i64);
                }
            }
        }
        // Set (argIndex names the policy's arg by position, argValue the 4 bytes written)
        let mut set_arg = [0u8; layout::MAX_SELECTORS];
        let mut set_value = [0u32; layout::MAX_SELECTORS];
        for (si, sel) in hook
            .selectors
            .iter()
            .enumerate()
            .take(layout::MAX_SELECTORS)
        {
            for action in sel.match_actions.iter().filter(|a| action_name(a) == "Set") {
                let index = action
                    .param("argIndex")
                    .and_then(|n| n.as_i64())
                    .ok_or("Set needs `argIndex`")?;
                let value = action
                    .param("argValue")
                    .and_then(|n| n.as_i64())
                    .ok_or("Set needs `argValue`")?;
                let position = usize::try_from(index)
                    .ok()
                    .filter(|p| *p < hook.args.len())
                    .ok_or_else(|| format!("Set: argIndex {index} names no declared arg"))?;
                set_arg[si] = position as u8 + 1;
                set_value[si] = value as u32;
            }
        }
        let sites = match usdt::read(path) {
            Ok(probes) => {
                let sites: Vec<&usdt::Probe> = probes
                    .iter()
                    .filter(|p| p.provider == provider && p.name == name)
                    .collect();
                if sites.is_empty() {
                    // as Tetragon's addUsdt: "not found in the binary"
                    return Err(format!(
                        "USDT probe `{provider}:{name}` is not in the binary `{path}`"
                    ));
                }
                let mut out = Vec::new();
                for probe in sites {
                    // A semaphore is attached with its file offset as the uprobe's reference
                    // counter, as Tetragon's createUsdtSensorFromEntry (UprobeAttachData
                    // RefCtrOffset = SemaOff, pkg/sensors/tracing/genericusdt.go) does: the
                    // kernel counts it up while attached (see crate::refctr).
                    let mut wanted = Vec::new();
                    for (i, index) in indexes.iter().enumerate() {
                        // Tetragon refuses an index past the note's count (addUsdt); the
                        // index equal to the count reads an empty argument, 0.
                        let idx = usize::try_from(*index)
                            .ok()
                            .filter(|x| *x <= probe.args.len())
                            .ok_or_else(|| {
                                format!(
                                    "USDT probe `{provider}:{name}` (`{}`): arg index {index} is out of bounds",
                                    probe.args_text
                                )
                            })?;
                        if set_arg.contains(&(i as u8 + 1)) {
                            let arg = probe.args.get(idx);
                            if arg.map(|a| a.spec.kind) != Some(layout::usdt_kind::REG_DEREF) {
                                return Err(format!("USDT probe `{provider}:{name}`: Set's argument is not in memory (`{}`): Tetragon's addUsdt writes only 'deref' arguments", arg.map_or("", |a| a.text.as_str())));
                            }
                            if arg.map(|a| a.size) != Some(4) {
                                return Err(format!("USDT probe `{provider}:{name}`: Set's argument must have a size of 4 bytes (Tetragon's addUsdt)"));
                            }
                        }
                        wanted.push(idx);
                    }
                    let mut spec = usdt::spec_for(probe, &wanted);
                    spec.set_arg = set_arg;
                    spec.set_value = set_value;
                    out.push(Some(UsdtSite {
                        offset: probe.offset,
                        semaphore: probe.semaphore,
                        spec,
                    }));
                }
                out
            }
            // A binary this host does not have: a fact of the host, as for uprobes, found
            // when attaching.
            Err(crate::elf::ReadError::Missing(_)) => vec![None],
            Err(crate::elf::ReadError::Bad(e)) => return Err(e),
        };
        let attaches = sites
            .into_iter()
            .map(|site| Attach::Usdt {
                path: path.to_string(),
                provider: provider.clone(),
                name: name.clone(),
                site,
            })
            .collect();
        self.hook_with(&remapped, attaches, EventKind::Usdt, String::new(), false)
    }
}

/// Whether events of a `kind` hook carry Post's `kernelStackTrace` / `userStackTrace`: only
/// Tetragon's `ProcessKprobe` has the fields (tetragon.proto `kernel_stack_trace`,
/// `user_stack_trace`), filled by `kernelStack` / `userStack` in pkg/grpc/tracing/tracing.go
/// from the ids `do_action` (bpf/process/generic_calls.h) stores. Kprobes and fentries (and
/// syscall hooks, whatever serves them) post `process_kprobe`; LSM hooks refuse the flags
/// (P044, pkg/sensors/tracing/genericlsm.go `isValidLsmSelectors`).
fn stacks_shown(kind: PolicyHook) -> bool {
    matches!(kind, PolicyHook::Kprobe | PolicyHook::Fentry)
}

/// Post's `kernelStackTrace` and `userStackTrace` on hooks whose events have no field for
/// them (tracepoints, uprobes, USDTs: `ProcessTracepoint`, `ProcessUprobe` and `ProcessUsdt`
/// in tetragon.proto carry no stack, and Tetragon's `handleGenericTracepoint` /
/// `handleGenericUprobe` read none): nothing is collected, as in Tetragon, and a note says
/// so once per hook.
fn stack_trace_notes(spec: &Spec) -> Vec<String> {
    let mut out = Vec::new();
    for hook in spec.hooks.iter().filter(|h| !stacks_shown(h.kind)) {
        let asked: Vec<&str> = ["kernelStackTrace", "userStackTrace"]
            .into_iter()
            .filter(|key| {
                hook.selectors
                    .iter()
                    .any(|sel| sel.match_actions.iter().any(|a| a.flag(key).is_some()))
            })
            .collect();
        if !asked.is_empty() {
            out.push(format!(
                "{}: `{}` asked, but its events have no stack trace field (only Tetragon's process_kprobe has one): none is collected, as in Tetragon",
                hook.describe(),
                asked.join("` and `")
            ));
        }
    }
    out
}

/// Whether a policy asks for Post's stacks on a hook whose events show them: the loader then
/// sizes the `stack_traces` map ([`crate::loader::Loaded::with_stacks`]).
pub fn asks_for_stacks(spec: &Spec) -> bool {
    spec.hooks.iter().filter(|h| stacks_shown(h.kind)).any(|h| {
        h.selectors.iter().any(|sel| {
            sel.match_actions
                .iter()
                .any(|a| a.flag("kernelStackTrace").is_some() || a.flag("userStackTrace").is_some())
        })
    })
}

// ---- attach without acting (`run --attach-only`) --------------------------------------------

impl Plan {
    /// The plan with every hook's configuration disabled (`hook_config.enabled = 0`): the same
    /// program copies load, pass the verifier and attach as the plan would have them, but
    /// each returns at once. `begin` (every entry copy: kprobe, kprobe_override, fentry, lsm,
    /// tracepoint, uprobe, usdt, usdt_set, raw_tp, the raw syscall dispatcher and
    /// kprobe_multi), `handle` and `handle_return` (kretprobe, fexit, sys_exit tracepoint,
    /// uretprobe) test `enabled` before reading anything, so nothing is matched, posted or
    /// acted on: no Override or Set, no signal, no NotifyEnforcer, no socket tracking, no
    /// GetUrl or DnsLookup (they need an event); the fmod_ret companions and enforcers only
    /// return what those would have recorded in `override_tasks`, so they find nothing and
    /// let every call run.
    pub fn disarmed(mut self) -> Plan {
        for h in &mut self.hooks {
            h.config.enabled = 0;
        }
        self
    }

    /// The part of the plan that is `hook` alone, with the enforcer attached with it if any:
    /// to attach, and so test, one hook of a plan by itself.
    pub fn only_hook(&self, hook: &HookPlan) -> Plan {
        Plan {
            policies: self.policies.clone(),
            hooks: vec![hook.clone()],
            skipped: Vec::new(),
            enforcers: self
                .enforcers
                .iter()
                .filter(|e| e.slot == hook.slot)
                .cloned()
                .collect(),
        }
    }
}

// ---- Override on uprobes ----------------------------------------------------------------

impl HookCompiler<'_> {
    /// A uprobe's Override, as Tetragon compiles it (`parseOverrideRegs` in
    /// pkg/selectors/kernel_regs_amd64.go, `initOverrideSymbolOffset` in
    /// pkg/sensors/tracing/genericuprobe.go): each selector's assignments (see
    /// [`crate::uregs::override_regs`]). The jump is the first Override's (in selector order):
    /// when it names exactly one of `argNewSymbol`, `argNewAddr` and `argNewOffset` (two or
    /// three are refused, as Tetragon refuses them), every Override of the hook jumps to it,
    /// by its distance from the hook's first symbol, address or offset; a later Override's
    /// own target is not read (the validator's P041 says so).
    fn uprobe_override(&self, hook: &Hook, attach: &Attach) -> Result2<Option<UprobeOverride>> {
        let path = match attach {
            Attach::Uprobe { path, .. } | Attach::UprobeOffset { path, .. }
                if hook.kind == PolicyHook::Uprobe =>
            {
                path
            }
            _ => return Ok(None),
        };
        let overrides: Vec<(usize, &Action)> = hook
            .selectors
            .iter()
            .enumerate()
            .flat_map(|(si, s)| {
                s.match_actions
                    .iter()
                    .filter(|a| action_name(a) == "Override")
                    .map(move |a| (si, a))
            })
            .collect();
        let Some(&(_, first)) = overrides.first() else {
            return Ok(None);
        };
        if !self.features.uprobe_regs {
            return Err("Override on a uprobe writes the probed thread's registers, and this kernel does not let uprobe programs write them (it refuses a program that stores into its context; Tetragon refuses the policy too: \"can't use override regs action, no kernel support\")".into());
        }
        if overrides.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err("two Override actions in one selector of a uprobe: Tetragon refuses it (\"only single instance of regs action is allowed\")".into());
        }
        let number = |a: &Action, key: &str| -> Result2<u64> {
            match a.param(key) {
                None => Ok(0),
                Some(n) => n
                    .as_i64()
                    .or_else(|| n.as_str().and_then(parse_int))
                    .map(|v| v as u64)
                    .ok_or_else(|| format!("`{key}` is not a number")),
            }
        };
        let symbol = first
            .param("argNewSymbol")
            .and_then(|n| n.as_str())
            .filter(|s| !s.is_empty());
        let mut targets = Vec::new();
        if let Some(s) = symbol {
            targets.push(Place::Symbol(s.to_string()));
        }
        match number(first, "argNewAddr")? {
            0 => {}
            a => targets.push(Place::Addr(a)),
        }
        match number(first, "argNewOffset")? {
            0 => {}
            o => targets.push(Place::Offset(o)),
        }
        if targets.len() > 1 {
            return Err(format!("an Override on a uprobe with {} of argNewSymbol, argNewAddr and argNewOffset: it takes one (Tetragon refuses the policy)", targets.len()));
        }
        let (mut delta, mut unresolved) = (0, None);
        if let Some(target) = targets.pop() {
            let value = |v: &Spanned<String>, what: &str| {
                parse_int(&v.value)
                    .map(|n| n as u64)
                    .ok_or_else(|| format!("{what} `{}` is not a number", v.value))
            };
            let probed = if let Some(s) = hook.symbols.first() {
                Place::Symbol(s.value.clone())
            } else if let Some(a) = hook.addrs.first() {
                Place::Addr(value(a, "address")?)
            } else if let Some(o) = hook.offsets.first() {
                Place::Offset(value(o, "offset")?)
            } else {
                return Err("a uprobe needs `symbols`, `offsets` or `addrs`".into());
            };
            match crate::uregs::ip_delta(path, &probed, &target) {
                Ok(d) => delta = d,
                Err(crate::elf::ReadError::Missing(e)) => unresolved = Some(e),
                Err(crate::elf::ReadError::Bad(e)) => {
                    return Err(format!("the Override's jump target: {e}"))
                }
            }
        }
        let mut regs = Vec::new();
        for (si, a) in overrides {
            let arg_regs = match a.param("argRegs") {
                None => Vec::new(),
                Some(n) => n
                    .as_seq()
                    .ok_or("`argRegs` is not a list")?
                    .iter()
                    .map(|r| {
                        r.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| "an `argRegs` item is not a string".to_string())
                    })
                    .collect::<Result2<Vec<_>>>()?,
            };
            let arg_error = a.param("argError").and_then(|n| n.as_i64()).unwrap_or(0) as i32;
            regs.push((
                si as u8,
                crate::uregs::override_regs(&arg_regs, arg_error, delta)?,
            ));
        }
        Ok(Some(UprobeOverride { regs, unresolved }))
    }
}

// ---- uprobes through the binary's BTF, and by address (issue 15) ----------------------------

/// The loads of a uprobe or USDT arg's `resolve:` path, walked through the binary's BTF as
/// Tetragon's `resolveUserBTFArg` (pkg/sensors/tracing/generic.go) does for every such arg
/// with `resolve` (`getUprobeArgConfig` in genericuprobe.go, `addUsdt` in genericusdt.go,
/// which resolves from the value the probe's note places): the hook's `btfPath` file is loaded
/// (ELF with `.BTF`, or raw BTF), the root is the struct `btfType` names there (the arg is a
/// pointer to it), and the path is walked from it with the kernel walk's rules. The binary's
/// function prototype is never read. The file is read here, on the host that runs the plan.
fn user_resolve(hook: &Hook, arg: &Arg, index: i64) -> Result2<Resolve> {
    let path = arg.resolve.as_ref().map(|r| r.value.as_str()).unwrap_or("");
    // Tetragon loads the file first (ebtf.LoadSpec(spec.BTFPath)): an empty path fails there
    let file = hook.btf_path.as_ref().map(|p| p.value.as_str()).ok_or_else(|| {
        format!("arg {index}: `resolve` on a user-space probe walks the binary's BTF, and the hook has no `btfPath`")
    })?;
    let btf = Btf::open(std::path::Path::new(file))
        .map_err(|e| format!("arg {index}: btfPath `{file}` cannot be read: {e}"))?;
    // then the struct by name (spec.TypeByName(arg.BTFType, *btf.Struct)): only a struct,
    // and exactly one
    let name = arg.btf_type.as_ref().map(|t| t.value.as_str()).ok_or_else(|| {
        format!("arg {index}: `resolve` on a user-space probe starts from the `btfType` struct, and the arg names none")
    })?;
    let root = match btf.own_named(Kind::Struct, name)[..] {
        [id] => id,
        [] => {
            return Err(format!(
                "arg {index}: btfType `{name}`: no struct of that name in `{file}`"
            ))
        }
        _ => {
            return Err(format!(
                "arg {index}: btfType `{name}`: more than one struct of that name in `{file}`"
            ))
        }
    };
    resolve_loads_in(&btf, root, path, false, index, &format!("`{file}`"))
}

impl HookCompiler<'_> {
    /// A uprobe by `addrs`: Tetragon's addUprobeEntries (pkg/sensors/tracing/genericuprobe.go)
    /// turns each virtual address into a file offset with the binary's program headers
    /// (pkg/elf/file.go `OffsetFromAddr`) and attaches there, as for `offsets`; its event has
    /// no symbol. The binary is read here, so one missing on this host is a refusal naming it
    /// (Tetragon opens it first, in addUprobe, and fails the same way).
    fn uprobe_addrs(&mut self, hook: &Hook, path: &str) -> Result2<Vec<HookPlan>> {
        let refs = ref_ctr_offsets(hook)?;
        let mut attaches = Vec::new();
        for (i, a) in hook.addrs.iter().enumerate() {
            let addr = parse_int(&a.value)
                .map(|v| v as u64)
                .ok_or_else(|| format!("address `{}` is not a number", a.value))?;
            let offset = crate::elf::file_offset_from_addr(path, addr)
                .map_err(|e| format!("uprobe `addrs` {addr:#x}: {e}"))?;
            // Tetragon's addUprobeEntry takes item i of refCtrOffsets for address i too
            attaches.push(Attach::UprobeOffset {
                path: path.to_string(),
                offset,
                ref_ctr_offset: ref_ctr_at(&refs, i, "addrs")?,
            });
        }
        self.hook_with(hook, attaches, EventKind::Uprobe, String::new(), false)
    }
}

// ---- uprobe reference counters (`refCtrOffsets`) --------------------------------------------

/// A uprobe's `refCtrOffsets`, as numbers (empty when it has none). Tetragon passes item i as
/// the `RefCtrOffset` of the uprobe at symbol or offset i (addUprobeEntries in
/// pkg/sensors/tracing/genericuprobe.go), a file offset the kernel counts up while attached.
fn ref_ctr_offsets(hook: &Hook) -> Result2<Vec<u64>> {
    hook.ref_ctr_offsets
        .iter()
        .map(|o| {
            parse_int(&o.value)
                .map(|v| v as u64)
                .ok_or_else(|| format!("refCtrOffsets item `{}` is not a number", o.value))
        })
        .collect()
}

/// The reference counter offset of the `i`th item of `way` (`symbols` or `offsets`): 0 without
/// `refCtrOffsets`; a count that differs is refused, as Tetragon's uprobe sensor does
/// (`RefCtrOffsets(2) has different dimension than Symbols(1)`).
fn ref_ctr_at(offsets: &[u64], i: usize, way: &str) -> Result2<u64> {
    if offsets.is_empty() {
        return Ok(0);
    }
    offsets.get(i).copied().ok_or_else(|| {
        format!(
            "`refCtrOffsets` has {} items, fewer than `{way}`",
            offsets.len()
        )
    })
}
