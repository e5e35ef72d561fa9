//! Which kernels a command checks against: `--btf` files (several at once), or the host's own
//! BTF by default, with the error-injection lists and configs that go with them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use policyctl_validator::kernel::set::{split_named, KernelFlags, KernelSource};
use policyctl_validator::kernel::{self, Kernel, KernelSet};

/// The kernel options shared by `check` and `kernel`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct KernelArgs {
    /// Kernel BTF to check against: raw, zstd or ELF, as `FILE` or `NAME=FILE` (repeatable).
    /// Default: the running kernel's /sys/kernel/btf/vmlinux.
    #[arg(long = "btf", value_name = "[NAME=]FILE")]
    pub btf: Vec<String>,
    /// Do not check against any kernel, not even the host's.
    #[arg(long, conflicts_with_all = ["btf", "error_injection", "kernel_config", "btf_module"])]
    pub no_btf: bool,
    /// Error-injection list of a kernel (the format of
    /// /sys/kernel/debug/error_injection/list), as `FILE` or `NAME=FILE` (repeatable).
    #[arg(long = "error-injection", value_name = "[NAME=]FILE")]
    pub error_injection: Vec<String>,
    /// Build configuration of a kernel (.config, plain or gzip), as `FILE` or `NAME=FILE`
    /// (repeatable). Default for the running kernel: /proc/config.gz.
    #[arg(long = "kernel-config", value_name = "[NAME=]FILE")]
    pub kernel_config: Vec<String>,
    /// Split BTF of a kernel module (a `.ko` or /sys/kernel/btf/<module>), on top of a kernel's
    /// BTF, as `FILE` or `NAME=FILE` (repeatable). The running kernel's modules are found by
    /// themselves.
    #[arg(long = "btf-module", value_name = "[NAME=]FILE")]
    pub btf_module: Vec<String>,
}

/// What was loaded, and a note for the user when no kernel is used.
pub struct Loaded {
    /// The kernels, in the order given.
    pub kernels: KernelSet,
    /// A one-line note (no host BTF, ...).
    pub note: Option<String>,
}

/// Most bytes an `--error-injection` list may have (a real one is tens of KiB).
const MAX_LIST_BYTES: usize = policyctl_validator::yaml::MAX_FILE_BYTES;

/// Every file the options name must be a regular file that exists: a missing one is an error
/// now (a module's BTF is otherwise read only on first use), and a FIFO or a device would
/// block or never end.
fn check_files(args: &KernelArgs) -> Result<(), String> {
    // (option, what its file is called in "cannot read ...")
    let options = [
        ("--btf", "BTF", &args.btf),
        (
            "--error-injection",
            "--error-injection",
            &args.error_injection,
        ),
        ("--kernel-config", "--kernel-config", &args.kernel_config),
        ("--btf-module", "--btf-module", &args.btf_module),
    ];
    for (option, label, values) in options {
        for arg in values {
            let (_, path) = split_named(arg);
            let meta = std::fs::metadata(&path)
                .map_err(|e| format!("cannot read {label} {}: {e}", path.display()))?;
            if !meta.is_file() {
                return Err(format!(
                    "{option}: {}",
                    crate::not_regular(&path, meta.file_type())
                ));
            }
        }
    }
    Ok(())
}

/// Check an error-injection list: a regular file of at most [`MAX_LIST_BYTES`] (never more is
/// read), UTF-8 text.
fn check_error_injection(path: &Path) -> Result<(), String> {
    let (file, len) = crate::open_regular(path).map_err(|e| format!("--error-injection: {e}"))?;
    let too_large = |size: &str| {
        format!(
            "--error-injection: {} is larger than {MAX_LIST_BYTES} bytes{size}, more than any error-injection list",
            path.display()
        )
    };
    if len > MAX_LIST_BYTES as u64 {
        return Err(too_large(&format!(" ({len} bytes)")));
    }
    let bytes = crate::read_at_most(file, MAX_LIST_BYTES)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .ok_or_else(|| too_large(""))?;
    String::from_utf8(bytes)
        .map_err(|_| format!("--error-injection: {} is not UTF-8 text", path.display()))?;
    Ok(())
}

/// Load the kernels the arguments name (in parallel), or the host's.
pub fn load(args: &KernelArgs) -> Result<Loaded, String> {
    if args.no_btf {
        return Ok(Loaded {
            kernels: KernelSet::new(),
            note: None,
        });
    }
    check_files(args)?;
    if args.btf.is_empty() {
        return load_host(args);
    }
    let specs = flags(args).specs()?;
    // The lists are read here first, bounded and checked to be text, for a clear error (the
    // validator's loader reads them again, whole).
    for path in specs.iter().filter_map(|s| s.error_injection.as_deref()) {
        check_error_injection(path)?;
    }
    let kernels = KernelSet::load(&specs).map_err(|e| e.to_string())?;
    for (k, spec) in kernels.iter().zip(&specs) {
        check_modules(k, &spec.modules)?;
    }
    Ok(Loaded {
        kernels,
        note: None,
    })
}

/// The options as the validator's [`KernelFlags`].
fn flags(args: &KernelArgs) -> KernelFlags<'_> {
    KernelFlags {
        btf: &args.btf,
        error_injection: &args.error_injection,
        kernel_config: &args.kernel_config,
        btf_module: &args.btf_module,
    }
}

/// Every `--btf-module` given must be read as split BTF on top of its kernel: the validator
/// reads modules on first use and leaves out one it cannot read, which would make a wrong file
/// pass unnoticed. This reads them now.
fn check_modules(k: &Kernel, paths: &[PathBuf]) -> Result<(), String> {
    if paths.is_empty() {
        return Ok(());
    }
    let loaded = k.module_names();
    for path in paths {
        let name = kernel::name_from_path(path);
        let name = name.strip_suffix(".ko").unwrap_or(&name);
        if !loaded.contains(&name) {
            return Err(format!(
                "--btf-module: {} is not a module's split BTF on top of kernel {}",
                path.display(),
                k.name
            ));
        }
    }
    Ok(())
}

fn load_host(args: &KernelArgs) -> Result<Loaded, String> {
    let host = match KernelSource::Host.load() {
        Ok(host) => host,
        // Nobody asked for this kernel: go on without it, and say why.
        Err(e) if args.error_injection.is_empty() && args.kernel_config.is_empty() => {
            return Ok(Loaded {
                kernels: KernelSet::new(),
                note: Some(format!(
                    "note: no kernel checks: {e} (pass --btf FILE to check against a kernel)"
                )),
            });
        }
        Err(e) => return Err(e.to_string()),
    };
    let Some(mut host) = host else {
        if !args.error_injection.is_empty()
            || !args.kernel_config.is_empty()
            || !args.btf_module.is_empty()
        {
            return Err(format!(
                "--error-injection, --kernel-config and --btf-module need a kernel: this host has no {}; pass --btf FILE",
                kernel::HOST_BTF
            ));
        }
        return Ok(Loaded {
            kernels: KernelSet::new(),
            note: Some(format!(
                "note: no kernel checks: this host has no {} (pass --btf FILE to check against a kernel)",
                kernel::HOST_BTF
            )),
        });
    };
    if !args.btf_module.is_empty() {
        return Err(
            "--btf-module goes with --btf: the running kernel's modules are read from /sys/kernel/btf"
                .into(),
        );
    }
    let flags = flags(args);
    if let Some(path) = flags
        .assign(std::slice::from_ref(&host.name))?
        .remove(0)
        .error_injection
    {
        check_error_injection(&path)?;
    }
    flags.apply_to_host(&mut host)?;
    let mut kernels = KernelSet::new();
    let _ = kernels.push(Arc::new(host));
    Ok(Loaded {
        kernels,
        note: None,
    })
}
