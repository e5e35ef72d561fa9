//! What a kernel offers a policy, read from its BTF: functions with their prototypes, syscalls of
//! its architecture, LSM hooks, tracepoints; and, where they can be known, its error-injection
//! list and build configuration.
//!
//! A [`Kernel`] is built once ([`Kernel::load`] for files, [`Kernel::host`] for the running
//! kernel) and then only read: checks, the language server and `policyctl kernel` share it.
//! Loading is the only I/O in the validator besides the host's tracefs format files, read when a
//! tracepoint is looked up, and the host's files under [`HostFacts::root`], which
//! [`crate::checks::host`] resolves.
//!
//! Facts the BTF cannot give are never guessed: [`Known`] says where each one came from, or why
//! it is unknown, and the checks say so in their messages.

pub mod config;
mod index;
pub mod members;
pub mod resolve;
pub mod set;
pub mod syscalls;
pub mod tracepoints;

pub use set::KernelSet;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::btf::{Btf, BtfError, Kind, Type, TypeId};
use config::KernelConfig;
use index::NameIndex;

/// Where the running kernel keeps its BTF.
pub const HOST_BTF: &str = "/sys/kernel/btf/vmlinux";
/// Where the running kernel lists its error-injectable functions (debugfs).
pub const HOST_ERROR_INJECTION: &str = "/sys/kernel/debug/error_injection/list";
/// The running kernel's build configuration (with `CONFIG_IKCONFIG_PROC`).
pub const HOST_CONFIG: &str = "/proc/config.gz";
/// Where tracefs is usually mounted.
pub const HOST_TRACEFS: &[&str] = &["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];
/// The active LSMs of the running kernel (securityfs).
pub const HOST_LSM: &str = "/sys/kernel/security/lsm";

/// `bpf_lsm_*` functions that are BPF LSM's own helpers, not hooks (6.1 to 6.18).
pub const BPF_LSM_HELPERS: &[&str] = &[
    "find_cgroup_shim",
    "func_proto",
    "get_retval_range",
    "has_d_inode_locked",
    "hook_returns_errno",
    "init",
    "is_sleepable_hook",
    "is_trusted",
    "verify_prog",
];

/// A fact about a kernel with its provenance: known (and from where), or unknown (and why).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Known<T> {
    /// Known; the string says where it came from (`/proc/config.gz`, a file name, "BTF").
    Yes(T, String),
    /// Not known; the string says why.
    Unknown(String),
}

impl<T> Known<T> {
    /// The value when known.
    pub fn value(&self) -> Option<&T> {
        match self {
            Known::Yes(v, _) => Some(v),
            Known::Unknown(_) => None,
        }
    }
}

/// Error injection (`bpf_override_return` on kprobes) on a kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorInjection {
    /// The kernel was built without it (`CONFIG_FUNCTION_ERROR_INJECTION` or
    /// `CONFIG_BPF_KPROBE_OVERRIDE` unset).
    Unsupported(String),
    /// These functions may be overridden (sorted).
    List(Vec<String>),
}

/// The CPU architecture, as far as syscall names tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// x86_64 (`__x64_sys_*`).
    X86_64,
    /// arm64 (`__arm64_sys_*`).
    Arm64,
}

impl Arch {
    /// The prefix Tetragon puts before `sys_` names.
    pub fn syscall_prefix(self) -> &'static str {
        match self {
            Arch::X86_64 => "__x64_",
            Arch::Arm64 => "__arm64_",
        }
    }

    /// The architecture's usual name.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }
}

/// Why a kernel could not be loaded.
#[derive(Debug)]
pub enum KernelError {
    /// The BTF file.
    Btf(PathBuf, BtfError),
    /// Another input file (error-injection list, config).
    Read(PathBuf, std::io::Error),
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelError::Btf(p, e) => write!(f, "cannot read BTF {}: {e}", p.display()),
            KernelError::Read(p, e) => write!(f, "cannot read {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for KernelError {}

/// What to load for one kernel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KernelSpec {
    /// The name to show; by default the BTF file's name without `.btf`, `.zst`, `.elf`.
    pub name: Option<String>,
    /// The BTF: raw, zstd or ELF.
    pub btf: PathBuf,
    /// An error-injection list in the format of `/sys/kernel/debug/error_injection/list`.
    pub error_injection: Option<PathBuf>,
    /// A build configuration (`.config`, plain or gzip).
    pub config: Option<PathBuf>,
    /// Split BTF of kernel modules (`/sys/kernel/btf/<module>`), read when a name is not in
    /// vmlinux.
    pub modules: Vec<PathBuf>,
}

/// The name a kernel gets from its BTF file name: `6.1.0-56-amd64.btf.zst` → `6.1.0-56-amd64`;
/// the running kernel's `/sys/kernel/btf/vmlinux` is named by its release.
pub fn name_from_path(path: &Path) -> String {
    if path == Path::new(HOST_BTF) {
        if let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
            return release.trim().to_string();
        }
    }
    let mut name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    for suffix in [".zst", ".btf", ".elf", ".o"] {
        if let Some(s) = name.strip_suffix(suffix) {
            name = s.to_string();
        }
    }
    name
}

/// A tracepoint, from BTF (and, on the host, tracefs).
#[derive(Clone, Debug)]
pub struct Tracepoint {
    /// The event name (`sys_enter`).
    pub event: String,
    /// The raw tracepoint's arguments after the context pointer: (name, C type).
    pub raw_args: Vec<(String, String)>,
    /// Where `layout` came from (`tracefs`, `BTF trace_event_raw_sys_enter`).
    pub fields_source: Option<String>,
    /// The format's fields, the four `common_*` ones first, with where they lie in the event's
    /// record, when known: what a BPF program attached to the tracepoint reads.
    pub layout: Option<Vec<FieldLayout>>,
}

impl Tracepoint {
    /// The format's fields as (name, C type), the four `common_*` ones first, when known.
    pub fn fields(&self) -> Option<Vec<(String, String)>> {
        self.layout.as_deref().map(names_and_types)
    }
}

/// Where a tracepoint field lies in the event's record, as tracefs prints it
/// (`field:const char * filename; offset:24; size:8; signed:0;`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldLayout {
    /// Its name (`filename`; `name` for `__data_loc char[] name`).
    pub name: String,
    /// Its C type (`const char *`, `__data_loc char[]`).
    pub ctype: String,
    /// Byte offset in the record.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
    /// Signed.
    pub signed: bool,
    /// A `__data_loc` field: a 32-bit (length << 16 | offset) of data later in the record.
    pub data_loc: bool,
}

/// Lay fields out one after the other, each at the next offset its size aligns (at most 8), as
/// the compiler lays out the structs that tracepoint records are.
fn lay_out<'a>(fields: impl Iterator<Item = &'a syscalls::TracepointField>) -> Vec<FieldLayout> {
    let mut at = 0u32;
    fields
        .map(|f| {
            let align = f.size.clamp(1, 8);
            at = at.div_ceil(align) * align;
            let field = FieldLayout {
                name: f.name.to_string(),
                ctype: f.ctype.to_string(),
                offset: at,
                size: f.size,
                signed: f.signed,
                data_loc: false,
            };
            at += f.size;
            field
        })
        .collect()
}

/// The running kernel's extras, read when it is loaded.
#[derive(Clone, Debug, Default)]
pub struct HostFacts {
    /// tracefs mount point, when mounted.
    pub tracefs: Option<PathBuf>,
    /// Active LSMs, from securityfs, when mounted.
    pub active_lsms: Option<Vec<String>>,
    /// The root of the filesystem the host's executables live on (`/`), where `matchBinaries`
    /// paths are resolved ([`crate::checks::host`]). `None`: the files are not looked at.
    pub root: Option<PathBuf>,
}

/// One kernel's index. Cheap to share (`Arc`), never changed after loading.
pub struct Kernel {
    /// The name diagnostics use (`6.12.117+deb12-amd64`).
    pub name: String,
    /// Where the BTF came from (a path; empty for BTF parsed from memory).
    pub source: String,
    btf: Arc<Btf>,
    funcs: NameIndex,
    structs: OnceLock<NameIndex>,
    typedefs: OnceLock<NameIndex>,
    sorted_funcs: OnceLock<Vec<u32>>,
    /// The architecture, from which syscall stubs exist; `None` when there are none.
    pub arch: Option<Arch>,
    /// LSM hooks and where the list came from.
    lsm: OnceLock<(Vec<String>, String)>,
    tracepoints: Vec<String>,
    /// Error injection on this kernel.
    pub error_injection: Known<ErrorInjection>,
    /// The build configuration, when given or found.
    pub config: Option<(KernelConfig, String)>,
    /// Present for the running kernel.
    pub host: Option<HostFacts>,
    module_paths: Vec<PathBuf>,
    modules: OnceLock<Vec<Module>>,
    tracefs_events: OnceLock<Option<Vec<(String, String)>>>,
}

/// A kernel module's split BTF and its function names.
struct Module {
    name: String,
    btf: Arc<Btf>,
    funcs: NameIndex,
}

impl fmt::Debug for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kernel")
            .field("name", &self.name)
            .field("funcs", &self.funcs.len())
            .finish()
    }
}

/// A kernel function with its prototype.
#[derive(Clone, Copy, Debug)]
pub struct Func<'k> {
    /// The `FUNC` type.
    pub func: Type<'k>,
    /// Its `FUNC_PROTO`.
    pub proto: Type<'k>,
}

impl<'k> Func<'k> {
    /// The function's name.
    pub fn name(&self) -> &'k str {
        self.func.name()
    }

    /// Parameters: (name, type id).
    pub fn params(&self) -> Vec<(&'k str, TypeId)> {
        self.proto.params().map(|p| (p.name, p.type_id)).collect()
    }

    /// The return type.
    pub fn ret(&self) -> TypeId {
        self.proto.type_id()
    }

    /// The prototype in C.
    pub fn c_prototype(&self) -> String {
        self.func
            .btf()
            .c_prototype(self.func.id)
            .unwrap_or_default()
    }
}

impl Kernel {
    /// Index a parsed BTF (no error-injection list, no config). Functions are indexed now;
    /// structs, typedefs and LSM hooks on first use.
    pub fn from_btf(name: impl Into<String>, btf: Arc<Btf>) -> Kernel {
        let mut funcs = NameIndex::default();
        let mut tracepoints = Vec::new();
        for blob in chain(&btf) {
            for (kind, name_off, id) in blob.own_kinds() {
                match kind {
                    Kind::Func => funcs.push(name_off, id),
                    Kind::Typedef => {
                        let name = blob.bytes_at(name_off);
                        if let Some(event) = name.strip_prefix(b"btf_trace_") {
                            tracepoints.push(String::from_utf8_lossy(event).into_owned());
                        }
                    }
                    _ => {}
                }
            }
        }
        funcs.build(&btf);
        tracepoints.sort();
        tracepoints.dedup();
        let mut k = Kernel {
            name: name.into(),
            source: String::new(),
            btf,
            funcs,
            structs: OnceLock::new(),
            typedefs: OnceLock::new(),
            sorted_funcs: OnceLock::new(),
            arch: None,
            lsm: OnceLock::new(),
            tracepoints,
            error_injection: Known::Unknown(
                "no error-injection list was given and the kernel configuration is unknown".into(),
            ),
            config: None,
            host: None,
            module_paths: Vec::new(),
            modules: OnceLock::new(),
            tracefs_events: OnceLock::new(),
        };
        k.arch = k.detect_arch();
        k
    }

    /// A name index of the types of these kinds (vmlinux and, for split BTF, its base).
    fn index_kinds(&self, kinds: &[Kind]) -> NameIndex {
        let mut index = NameIndex::default();
        for blob in chain(&self.btf) {
            for (kind, name_off, id) in blob.own_kinds() {
                if kinds.contains(&kind) {
                    index.push(name_off, id);
                }
            }
        }
        index.build(&self.btf);
        index
    }

    /// Load a kernel from files.
    pub fn load(spec: &KernelSpec) -> Result<Kernel, KernelError> {
        let btf = Btf::open(&spec.btf).map_err(|e| KernelError::Btf(spec.btf.clone(), e))?;
        let name = spec
            .name
            .clone()
            .unwrap_or_else(|| name_from_path(&spec.btf));
        let mut k = Kernel::from_btf(name, Arc::new(btf));
        k.module_paths = spec.modules.clone();
        k.source = spec.btf.display().to_string();
        if let Some(path) = &spec.config {
            let cfg = KernelConfig::read(path).map_err(|e| KernelError::Read(path.clone(), e))?;
            k.config = Some((cfg, path.display().to_string()));
        }
        match &spec.error_injection {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| KernelError::Read(path.clone(), e))?;
                k.error_injection = Known::Yes(
                    ErrorInjection::List(parse_error_injection(&text)),
                    path.display().to_string(),
                );
            }
            None => k.error_injection = k.error_injection_from_config(),
        }
        Ok(k)
    }

    /// Load several kernels at once, one thread each, in the order given.
    pub fn load_all(specs: &[KernelSpec]) -> Vec<Result<Kernel, KernelError>> {
        std::thread::scope(|s| {
            let handles: Vec<_> = specs
                .iter()
                .map(|spec| s.spawn(move || Kernel::load(spec)))
                .collect();
            handles
                .into_iter()
                .zip(specs)
                .map(|(h, spec)| {
                    h.join().unwrap_or_else(|_| {
                        Err(KernelError::Btf(
                            spec.btf.clone(),
                            BtfError::Malformed("the loader panicked".into()),
                        ))
                    })
                })
                .collect()
        })
    }

    /// The running kernel: its BTF, `/proc/config.gz`, the debugfs error-injection list, tracefs
    /// and securityfs where they can be read. `None` when the host has no BTF.
    pub fn host() -> Result<Option<Kernel>, KernelError> {
        let path = Path::new(HOST_BTF);
        if !path.exists() {
            return Ok(None);
        }
        let release = name_from_path(path);
        let modules = std::fs::read_dir("/sys/kernel/btf")
            .map(|rd| {
                let mut v: Vec<PathBuf> = rd
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.file_name().is_some_and(|n| n != "vmlinux"))
                    .collect();
                v.sort();
                v
            })
            .unwrap_or_default();
        let mut k = Kernel::load(&KernelSpec {
            name: Some(release),
            btf: path.to_path_buf(),
            modules,
            ..KernelSpec::default()
        })?;
        if let Ok(cfg) = KernelConfig::read(Path::new(HOST_CONFIG)) {
            k.config = Some((cfg, HOST_CONFIG.into()));
        }
        k.error_injection = match std::fs::read_to_string(HOST_ERROR_INJECTION) {
            Ok(text) => Known::Yes(
                ErrorInjection::List(parse_error_injection(&text)),
                HOST_ERROR_INJECTION.into(),
            ),
            Err(_) => match k.error_injection_from_config() {
                Known::Unknown(_) => Known::Unknown(format!(
                    "{HOST_ERROR_INJECTION} cannot be read (is debugfs mounted?) and the kernel configuration is unknown"
                )),
                known => known,
            },
        };
        let tracefs = HOST_TRACEFS
            .iter()
            .map(PathBuf::from)
            .find(|p| p.join("events").is_dir());
        let active_lsms = std::fs::read_to_string(HOST_LSM)
            .ok()
            .map(|s| s.trim().split(',').map(str::to_string).collect());
        k.host = Some(HostFacts {
            tracefs,
            active_lsms,
            root: Some(PathBuf::from("/")),
        });
        Ok(Some(k))
    }

    fn error_injection_from_config(&self) -> Known<ErrorInjection> {
        let Some((cfg, source)) = &self.config else {
            return Known::Unknown(
                "no error-injection list was given and the kernel configuration is unknown".into(),
            );
        };
        for option in ["FUNCTION_ERROR_INJECTION", "BPF_KPROBE_OVERRIDE"] {
            if !cfg.enabled(option) {
                return Known::Yes(
                    ErrorInjection::Unsupported(format!("CONFIG_{option} is not set")),
                    source.clone(),
                );
            }
        }
        Known::Unknown(format!(
            "{source} enables error injection, but no error-injection list was given"
        ))
    }

    /// The BTF.
    pub fn btf(&self) -> &Btf {
        &self.btf
    }

    /// Shared handle to the BTF.
    pub fn btf_arc(&self) -> Arc<Btf> {
        self.btf.clone()
    }

    /// Number of distinct function names.
    pub fn func_count(&self) -> usize {
        self.funcs.len()
    }

    /// A function by exact name: in vmlinux, else in the kernel's modules.
    pub fn func(&self, name: &str) -> Option<Func<'_>> {
        if let Some(id) = self.funcs.get(&self.btf, name) {
            return func_at(&self.btf, id);
        }
        self.modules()
            .iter()
            .find_map(|m| func_at(&m.btf, m.funcs.get(&m.btf, name)?))
    }

    /// The module a function is in; `None` for vmlinux's functions and unknown names.
    pub fn module_of(&self, name: &str) -> Option<&str> {
        if self.funcs.get(&self.btf, name).is_some() {
            return None;
        }
        self.modules()
            .iter()
            .find(|m| m.funcs.get(&m.btf, name).is_some())
            .map(|m| m.name.as_str())
    }

    /// Modules whose BTF was given (or found on the host), by name.
    pub fn module_names(&self) -> Vec<&str> {
        self.modules().iter().map(|m| m.name.as_str()).collect()
    }

    /// Modules are read on first use; one that cannot be read is left out.
    fn modules(&self) -> &[Module] {
        self.modules.get_or_init(|| {
            self.module_paths
                .iter()
                .filter_map(|path| {
                    let btf = Arc::new(Btf::open_split(path, self.btf.clone()).ok()?);
                    let mut funcs = NameIndex::default();
                    for (kind, name_off, id) in btf.own_kinds() {
                        if kind == Kind::Func {
                            funcs.push(name_off, id);
                        }
                    }
                    funcs.build(&btf);
                    let name = name_from_path(path);
                    let name = name.strip_suffix(".ko").unwrap_or(&name).to_string();
                    Some(Module { name, btf, funcs })
                })
                .collect()
        })
    }

    /// A struct or union by name.
    pub fn struct_named(&self, name: &str) -> Option<Type<'_>> {
        let index = self
            .structs
            .get_or_init(|| self.index_kinds(&[Kind::Struct, Kind::Union]));
        self.btf.ty(index.get(&self.btf, name)?)
    }

    /// Whether the BTF of module `module` was given (or found on the host).
    pub fn has_module(&self, module: &str) -> bool {
        self.modules().iter().any(|m| m.name == module)
    }

    /// A struct or union by name in the BTF of module `module` (its own types, then
    /// vmlinux's, as a split BTF is read), with that BTF; `None` when the module's BTF is not
    /// known or lacks the name.
    pub fn struct_in_module(&self, module: &str, name: &str) -> Option<(&Btf, TypeId)> {
        let m = self.modules().iter().find(|m| m.name == module)?;
        let id = (1..=m.btf.len() as u32).find(|&id| {
            m.btf
                .ty(id)
                .is_some_and(|t| matches!(t.kind, Kind::Struct | Kind::Union) && t.name() == name)
        })?;
        Some((&m.btf, id))
    }

    /// A typedef by name.
    pub fn typedef_named(&self, name: &str) -> Option<Type<'_>> {
        let index = self
            .typedefs
            .get_or_init(|| self.index_kinds(&[Kind::Typedef]));
        self.btf.ty(index.get(&self.btf, name)?)
    }

    /// Every function name, sorted.
    pub fn func_names(&self) -> impl Iterator<Item = &str> + '_ {
        let sorted = self
            .sorted_funcs
            .get_or_init(|| self.funcs.sorted(&self.btf));
        sorted
            .iter()
            .map(|&i| self.funcs.name(&self.btf, i as usize))
    }

    /// Function names that match a pattern (see [`matches_pattern`]), sorted.
    pub fn search_funcs(&self, pattern: &str) -> Vec<&str> {
        // A glob's literal start narrows the sorted names to one range first.
        let literal = if pattern.contains(['*', '?']) {
            &pattern[..pattern.find(['*', '?']).unwrap_or(pattern.len())]
        } else {
            ""
        };
        self.funcs_with_prefix(literal)
            .filter(|n| matches_pattern(pattern, n))
            .collect()
    }

    /// Function names that start with `prefix`, sorted (a binary search, then a walk).
    pub fn funcs_with_prefix(&self, prefix: &str) -> impl Iterator<Item = &str> + '_ {
        let sorted = self
            .sorted_funcs
            .get_or_init(|| self.funcs.sorted(&self.btf));
        let p = prefix.as_bytes();
        let name = |i: u32| self.funcs.name_bytes(&self.btf, i as usize);
        let start = sorted.partition_point(|&i| name(i) < p);
        let len = sorted[start..].partition_point(|&i| name(i).starts_with(p));
        sorted[start..start + len]
            .iter()
            .map(move |&i| self.funcs.name(&self.btf, i as usize))
    }

    /// The syscall stub of a bare syscall name on this kernel's architecture (`openat` →
    /// `__x64_sys_openat`), when it exists.
    pub fn syscall(&self, bare: &str) -> Option<Func<'_>> {
        let arch = self.arch?;
        self.func(&format!("{}sys_{bare}", arch.syscall_prefix()))
    }

    /// Every syscall name of this kernel's architecture (bare: `openat`), sorted.
    pub fn syscall_names(&self) -> Vec<&str> {
        let Some(arch) = self.arch else {
            return Vec::new();
        };
        let prefix = format!("{}sys_", arch.syscall_prefix());
        self.funcs_with_prefix(&prefix)
            .filter_map(|n| n.strip_prefix(prefix.as_str()))
            .collect()
    }

    fn detect_arch(&self) -> Option<Arch> {
        [Arch::X86_64, Arch::Arm64]
            .into_iter()
            .map(|a| {
                let probe = format!("{}sys_", a.syscall_prefix());
                let n = ["read", "write", "openat", "close", "execve", "exit_group"]
                    .iter()
                    .filter(|s| self.funcs.get(&self.btf, &format!("{probe}{s}")).is_some())
                    .count();
                (a, n)
            })
            .filter(|(_, n)| *n > 0)
            .max_by_key(|(_, n)| *n)
            .map(|(a, _)| a)
    }

    fn find_lsm_hooks(&self) -> (Vec<String>, String) {
        for table in ["lsm_static_calls_table", "security_hook_heads"] {
            if let Some(t) = self.struct_named(table) {
                let mut hooks: Vec<String> = t
                    .members()
                    .map(|m| m.name.to_string())
                    .filter(|m| self.funcs.get(&self.btf, &format!("bpf_lsm_{m}")).is_some())
                    .collect();
                if !hooks.is_empty() {
                    hooks.sort();
                    hooks.dedup();
                    return (hooks, format!("BTF struct {table} and bpf_lsm_* functions"));
                }
            }
        }
        let mut hooks: Vec<String> = self
            .search_funcs("bpf_lsm_*")
            .into_iter()
            .filter_map(|n| n.strip_prefix("bpf_lsm_"))
            .filter(|n| !BPF_LSM_HELPERS.contains(n))
            .map(str::to_string)
            .collect();
        hooks.sort();
        (hooks, "BTF bpf_lsm_* functions".into())
    }

    /// LSM hook names (without `bpf_lsm_`), sorted. Empty on a kernel without BPF LSM.
    pub fn lsm_hooks(&self) -> &[String] {
        &self.lsm.get_or_init(|| self.find_lsm_hooks()).0
    }

    /// Where the LSM hook list came from.
    pub fn lsm_source(&self) -> &str {
        &self.lsm.get_or_init(|| self.find_lsm_hooks()).1
    }

    /// The BPF LSM function of a hook (`file_open` → `bpf_lsm_file_open`), when it is a hook.
    pub fn lsm_hook(&self, hook: &str) -> Option<Func<'_>> {
        self.lsm_hooks()
            .binary_search_by(|h| h.as_str().cmp(hook))
            .ok()?;
        self.func(&format!("bpf_lsm_{hook}"))
    }

    /// Tracepoint event names with BTF (`btf_trace_<event>`), sorted.
    pub fn tracepoint_events(&self) -> &[String] {
        &self.tracepoints
    }

    /// On the running kernel with tracefs: every `subsystem/event`, sorted (read once).
    pub fn tracefs_events(&self) -> Option<&[(String, String)]> {
        self.tracefs_events
            .get_or_init(|| {
                let dir = self.host.as_ref()?.tracefs.as_ref()?.join("events");
                let mut out = Vec::new();
                for sub in std::fs::read_dir(&dir).ok()?.flatten() {
                    if !sub.file_type().is_ok_and(|t| t.is_dir()) {
                        continue;
                    }
                    let subsystem = sub.file_name().to_string_lossy().into_owned();
                    for ev in std::fs::read_dir(sub.path())
                        .into_iter()
                        .flatten()
                        .flatten()
                    {
                        if ev.path().join("format").is_file() {
                            out.push((
                                subsystem.clone(),
                                ev.file_name().to_string_lossy().into_owned(),
                            ));
                        }
                    }
                }
                out.sort();
                Some(out)
            })
            .as_deref()
    }

    /// A tracepoint by subsystem and event. On the running kernel the tracefs format decides and
    /// gives the fields; elsewhere BTF knows the event (not its subsystem) and, when the event
    /// names its own class, the fields. Syscall events (`syscalls/sys_enter_openat`) have no BTF
    /// of their own: they exist when the syscall does, with the fields of the syscall table.
    pub fn tracepoint(&self, subsystem: &str, event: &str) -> Option<Tracepoint> {
        if let Some(tracefs) = self.host.as_ref().and_then(|h| h.tracefs.as_ref()) {
            let format = tracefs
                .join("events")
                .join(subsystem)
                .join(event)
                .join("format");
            let text = std::fs::read_to_string(format).ok()?;
            let layout = parse_tracefs_layout(&text);
            return Some(Tracepoint {
                event: event.to_string(),
                raw_args: self.raw_tracepoint_args(event).unwrap_or_default(),
                fields_source: Some("tracefs".into()),
                layout: Some(layout),
            });
        }
        if subsystem == "syscalls" {
            let sc = syscalls::SyscallEvent::parse(event)?;
            self.syscall(sc.syscall.name)?;
            return Some(Tracepoint {
                event: event.to_string(),
                raw_args: Vec::new(),
                fields_source: Some("the syscall table".into()),
                layout: Some(lay_out(sc.fields().iter())),
            });
        }
        self.tracepoints
            .binary_search_by(|e| e.as_str().cmp(event))
            .ok()?;
        let raw = format!("trace_event_raw_{event}");
        let layout = self.struct_named(&raw).map(|s| {
            let mut fields = Vec::new();
            for m in s.members() {
                let offset = m.offset / 8;
                if m.name == "ent" {
                    fields.extend(lay_out(syscalls::COMMON_FIELDS.iter()).into_iter().map(
                        |mut f| {
                            f.offset += offset;
                            f
                        },
                    ));
                } else if m.name == "__data" {
                    continue;
                } else if let Some(name) = m.name.strip_prefix("__data_loc_") {
                    fields.push(FieldLayout {
                        name: name.to_string(),
                        ctype: "__data_loc".to_string(),
                        offset,
                        size: 4,
                        signed: false,
                        data_loc: true,
                    });
                } else {
                    let signed = self
                        .btf
                        .skip_aliases(m.type_id)
                        .is_some_and(|t| t.is_signed());
                    fields.push(FieldLayout {
                        name: m.name.to_string(),
                        ctype: self.btf.c_type(m.type_id),
                        offset,
                        size: self.btf.size_of(m.type_id).unwrap_or(0),
                        signed,
                        data_loc: false,
                    });
                }
            }
            fields
        });
        Some(Tracepoint {
            event: event.to_string(),
            raw_args: self.raw_tracepoint_args(event).unwrap_or_default(),
            fields_source: layout.as_ref().map(|_| format!("BTF struct {raw}")),
            layout,
        })
    }

    /// True when this kernel's tracefs is read (the live host with tracefs mounted): then
    /// tracefs, not the reference table ([`tracepoints`]), says which tracepoints exist.
    pub fn has_tracefs(&self) -> bool {
        self.host.as_ref().is_some_and(|h| h.tracefs.is_some())
    }

    /// The subsystems of a tracepoint event on this kernel, and where that comes from: its
    /// tracefs on the live host; else, for an event this kernel has (its BTF's
    /// `btf_trace_<event>`, or the syscall of a `sys_enter_`/`sys_exit_` event), the reference
    /// table ([`tracepoints`]). `Known::Unknown` says why neither tells.
    pub fn event_subsystems(&self, event: &str) -> Known<Vec<String>> {
        if let Some(all) = self.tracefs_events() {
            let subs: Vec<String> = all
                .iter()
                .filter(|(_, e)| e == event)
                .map(|(s, _)| s.clone())
                .collect();
            return Known::Yes(subs, "tracefs".into());
        }
        let syscall_event = event
            .strip_prefix("sys_enter_")
            .or_else(|| event.strip_prefix("sys_exit_"))
            .is_some_and(|bare| self.syscall(bare).is_some());
        let in_btf = self
            .tracepoints
            .binary_search_by(|e| e.as_str().cmp(event))
            .is_ok();
        if !in_btf && !syscall_event {
            return Known::Unknown(format!("its BTF has no `btf_trace_{event}`"));
        }
        let table = tracepoints::table();
        let subs = table.subsystems_of(event);
        if subs.is_empty() {
            return Known::Unknown(format!(
                "BTF does not record subsystems, and the reference table of {} does not have `{event}`",
                table.provenance()
            ));
        }
        Known::Yes(
            subs.into_iter().map(str::to_string).collect(),
            format!("the reference table of {}", table.provenance()),
        )
    }

    /// The raw tracepoint's arguments (after the leading context pointer) from
    /// `btf_trace_<event>`: (name, C type); `None` when BTF has no such event.
    pub fn raw_tracepoint_args(&self, event: &str) -> Option<Vec<(String, String)>> {
        let td = self.typedef_named(&format!("btf_trace_{event}"))?;
        let ptr = self.btf.skip_aliases(td.type_id())?;
        let proto = self
            .btf
            .ty(ptr.type_id())
            .filter(|p| p.kind == Kind::FuncProto)?;
        Some(
            proto
                .params()
                .skip(1)
                .map(|p| (p.name.to_string(), self.btf.c_type(p.type_id)))
                .collect(),
        )
    }

    /// The build-configuration value of an option, when the configuration is known.
    pub fn config_enabled(&self, option: &str) -> Option<bool> {
        self.config.as_ref().map(|(c, _)| c.enabled(option))
    }

    /// Why this kernel lacks an attach feature, when what is known of it says so (its BTF, its
    /// configuration, the host's active LSMs); `None` when it has it or nothing says otherwise.
    /// K030 reports these, and `policyctl run --dry-run` plans with them.
    pub fn lacks(&self, feature: Feature) -> Option<String> {
        let config_says = |option: &str| {
            self.config
                .as_ref()
                .filter(|(c, _)| !c.enabled(option))
                .map(|_| format!("CONFIG_{option} is not set in its configuration"))
        };
        match feature {
            Feature::Kprobes => config_says("KPROBES"),
            Feature::Uprobes => config_says("UPROBES"),
            Feature::Trampolines => config_says("DYNAMIC_FTRACE_WITH_DIRECT_CALLS"),
            Feature::BpfLsm => {
                if self.lsm_hooks().is_empty() {
                    Some("its BTF has no bpf_lsm_* hooks".to_string())
                } else {
                    config_says("BPF_LSM")
                }
            }
            Feature::ActiveBpfLsm => self.lsm_inactive(),
            // The verifier lets a uprobe program write its registers since "bpf: Allow uprobe
            // program to change context registers", which added this member.
            Feature::UprobeRegsChange => {
                let aux = self.struct_named("bpf_prog_aux")?;
                members::member(self.btf(), aux.id, "kprobe_write_ctx")
                    .is_none()
                    .then(|| {
                        "its struct bpf_prog_aux has no kprobe_write_ctx: uprobe programs may not write their registers"
                            .to_string()
                    })
            }
        }
    }

    /// Why BPF LSM is built in but not active, when that can be told.
    fn lsm_inactive(&self) -> Option<String> {
        if let Some(active) = self.host.as_ref().and_then(|h| h.active_lsms.as_ref()) {
            return (!active.iter().any(|l| l == "bpf")).then(|| {
                format!(
                    "the active LSMs are {} ({HOST_LSM}), without bpf",
                    active.join(","),
                )
            });
        }
        let (cfg, _) = self.config.as_ref()?;
        let list = cfg.list("LSM");
        (!list.is_empty() && !list.iter().any(|l| l == "bpf")).then(|| {
            format!(
                "its CONFIG_LSM=\"{}\" leaves bpf out unless the boot command line sets `lsm=`",
                list.join(",")
            )
        })
    }
}

/// An attach feature a kernel may lack ([`Kernel::lacks`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// kprobes (`CONFIG_KPROBES`).
    Kprobes,
    /// uprobes (`CONFIG_UPROBES`).
    Uprobes,
    /// BPF trampolines: fentry and BPF LSM programs (`CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS`).
    Trampolines,
    /// BPF LSM built in (`CONFIG_BPF_LSM`, `bpf_lsm_*` hooks in BTF).
    BpfLsm,
    /// BPF LSM active: `bpf` among the host's LSMs, or in the configuration's default
    /// `CONFIG_LSM` list (which the boot command line's `lsm=` can change).
    ActiveBpfLsm,
    /// uprobe programs may write their registers (uprobe Override): BTF's `struct
    /// bpf_prog_aux` has `kprobe_write_ctx`. Tetragon probes it by loading a program that
    /// writes its context (pkg/bpf/detect_linux.go detectUprobeRegsChange).
    UprobeRegsChange,
}

/// A BTF and its bases, the first base first.
fn chain(btf: &Arc<Btf>) -> Vec<Arc<Btf>> {
    let mut chain = vec![btf.clone()];
    while let Some(base) = chain.last().and_then(|b| b.base()).cloned() {
        chain.push(base);
    }
    chain.reverse();
    chain
}

fn func_at(btf: &Btf, id: TypeId) -> Option<Func<'_>> {
    let func = btf.ty(id)?;
    let proto = btf.ty(func.type_id())?;
    (proto.kind == Kind::FuncProto).then_some(Func { func, proto })
}

/// The four fields every tracepoint format starts with.
/// (name, C type) of laid-out fields.
fn names_and_types(layout: &[FieldLayout]) -> Vec<(String, String)> {
    layout
        .iter()
        .map(|f| (f.name.clone(), f.ctype.clone()))
        .collect()
}

/// Fields of a tracefs `format` file: (name, C type), `common_*` included, in order.
pub fn parse_tracefs_format(text: &str) -> Vec<(String, String)> {
    names_and_types(&parse_tracefs_layout(text))
}

/// Fields of a tracefs `format` file with their offsets, sizes and signedness, `common_*`
/// included, in order. A line without offset and size is left out.
pub fn parse_tracefs_layout(text: &str) -> Vec<FieldLayout> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("field:"))
        .filter_map(|line| {
            let mut parts = line.split(';').map(str::trim);
            let decl = parts.next()?;
            let mut offset = None;
            let mut size = None;
            let mut signed = false;
            for p in parts {
                if let Some(v) = p.strip_prefix("offset:") {
                    offset = v.trim().parse::<u32>().ok();
                } else if let Some(v) = p.strip_prefix("size:") {
                    size = v.trim().parse::<u32>().ok();
                } else if let Some(v) = p.strip_prefix("signed:") {
                    signed = v.trim() == "1";
                }
            }
            // `unsigned long args[6]`, `__data_loc char[] name`, `const char * filename`.
            let cut = decl.rfind([' ', '*'])?;
            let (ty, name) = decl.split_at(cut + 1);
            let name = name.split('[').next().unwrap_or(name);
            Some(FieldLayout {
                name: name.trim().to_string(),
                ctype: ty.trim().to_string(),
                offset: offset?,
                size: size?,
                signed,
                data_loc: decl.starts_with("__data_loc"),
            })
        })
        .collect()
}

/// A C declaration from a type's text and a name: `const char *filename`, `int dfd`; the type
/// alone when the name is empty.
pub fn c_decl(ctype: &str, name: &str) -> String {
    if name.is_empty() || ctype.ends_with('*') {
        format!("{ctype}{name}")
    } else {
        format!("{ctype} {name}")
    }
}

/// Parse `/sys/kernel/debug/error_injection/list`: `name<TAB>TYPE` or `name [module]<TAB>TYPE`.
pub fn parse_error_injection(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| !n.starts_with('#'))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Match a name against a pattern: `*` any run, `?` one character; a pattern without either
/// matches names that contain it.
pub fn matches_pattern(pattern: &str, name: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return name.contains(pattern);
    }
    glob(pattern.as_bytes(), name.as_bytes())
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    // Iterative matcher with one backtrack point per `*`: linear in practice, no recursion.
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}
