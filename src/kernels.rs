//! Which kernels a command checks against: `--btf` files (several at once), or the host's own
//! BTF by default, with the error-injection lists and configs that go with them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use policyctl_validator::kernel::{self, Kernel, KernelSpec};

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

/// Split `NAME=FILE`; a plain `FILE` (even one with `=` in a directory name) has no name.
fn split_named(arg: &str) -> (Option<&str>, PathBuf) {
    match arg.split_once('=') {
        Some((name, file)) if !name.is_empty() && !name.contains('/') => {
            (Some(name), PathBuf::from(file))
        }
        _ => (None, PathBuf::from(arg)),
    }
}

/// Give each `--error-injection` / `--kernel-config` file to its kernel: by `NAME=`, else the
/// only kernel, else the kernel whose name starts the file's name. One file per kernel.
fn assign(files: &[String], names: &[String], what: &str) -> Result<Vec<Option<PathBuf>>, String> {
    let many = assign_many(files, names, what)?;
    many.into_iter()
        .enumerate()
        .map(|(i, mut paths)| {
            if paths.len() > 1 {
                return Err(format!("two {what} files for kernel {}", names[i]));
            }
            Ok(paths.pop())
        })
        .collect()
}

/// As [`assign`], with any number of files per kernel.
fn assign_many(
    files: &[String],
    names: &[String],
    what: &str,
) -> Result<Vec<Vec<PathBuf>>, String> {
    let mut out = vec![Vec::new(); names.len()];
    for arg in files {
        let (name, path) = split_named(arg);
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let hit = match name {
            Some(n) => names.iter().position(|k| k == n),
            None if names.len() == 1 => Some(0),
            None => names
                .iter()
                .enumerate()
                .filter(|(_, k)| file_name.starts_with(k.as_str()))
                .max_by_key(|(_, k)| k.len())
                .map(|(i, _)| i),
        };
        let Some(i) = hit else {
            return Err(format!(
                "{what} {} matches none of the kernels ({}); write it as NAME={}",
                path.display(),
                names.join(", "),
                path.display()
            ));
        };
        out[i].push(path);
    }
    Ok(out)
}

/// What was loaded, and a note for the user when no kernel is used.
pub struct Loaded {
    /// The kernels, in the order given.
    pub kernels: Vec<Arc<Kernel>>,
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

/// Read an error-injection list: a regular file of at most [`MAX_LIST_BYTES`], never more.
fn read_error_injection(path: &Path) -> Result<kernel::Known<kernel::ErrorInjection>, String> {
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
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("--error-injection: {} is not UTF-8 text", path.display()))?;
    Ok(kernel::Known::Yes(
        kernel::ErrorInjection::List(kernel::parse_error_injection(&text)),
        path.display().to_string(),
    ))
}

/// Load the kernels the arguments name (in parallel), or the host's.
pub fn load(args: &KernelArgs) -> Result<Loaded, String> {
    if args.no_btf {
        return Ok(Loaded {
            kernels: Vec::new(),
            note: None,
        });
    }
    check_files(args)?;
    if args.btf.is_empty() {
        return load_host(args);
    }
    let mut specs: Vec<KernelSpec> = args
        .btf
        .iter()
        .map(|arg| {
            let (name, path) = split_named(arg);
            KernelSpec {
                name: Some(name.map_or_else(|| kernel::name_from_path(&path), str::to_string)),
                btf: path,
                ..KernelSpec::default()
            }
        })
        .collect();
    let names: Vec<String> = specs.iter().filter_map(|s| s.name.clone()).collect();
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(format!(
                "two kernels are named {n}; name them with --btf NAME=FILE"
            ));
        }
    }
    let ei = assign(&args.error_injection, &names, "--error-injection")?;
    let cfg = assign(&args.kernel_config, &names, "--kernel-config")?;
    let modules = assign_many(&args.btf_module, &names, "--btf-module")?;
    // The lists are read here, bounded (the validator's loader reads them whole), and given
    // to their kernels once loaded.
    let lists = ei
        .iter()
        .map(|p| p.as_deref().map(read_error_injection).transpose())
        .collect::<Result<Vec<_>, _>>()?;
    for ((spec, cfg), modules) in specs.iter_mut().zip(cfg).zip(modules) {
        spec.config = cfg;
        spec.modules = modules;
    }
    let results: Vec<Result<Kernel, String>> = Kernel::load_all(&specs)
        .into_iter()
        .map(|r| r.map_err(|e| e.to_string()))
        .collect();
    let kernels = results
        .into_iter()
        .zip(lists)
        .map(|(r, list)| {
            r.map(|mut k| {
                if let Some(list) = list {
                    k.error_injection = list;
                }
                Arc::new(k)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (k, spec) in kernels.iter().zip(&specs) {
        check_modules(k, &spec.modules)?;
    }
    Ok(Loaded {
        kernels,
        note: None,
    })
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
    let host = match Kernel::host() {
        Ok(host) => host,
        // Nobody asked for this kernel: go on without it, and say why.
        Err(e) if args.error_injection.is_empty() && args.kernel_config.is_empty() => {
            return Ok(Loaded {
                kernels: Vec::new(),
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
            kernels: Vec::new(),
            note: Some(format!(
                "note: no kernel checks: this host has no {} (pass --btf FILE to check against a kernel)",
                kernel::HOST_BTF
            )),
        });
    };
    let names = [host.name.clone()];
    if !args.btf_module.is_empty() {
        return Err(
            "--btf-module goes with --btf: the running kernel's modules are read from /sys/kernel/btf"
                .into(),
        );
    }
    if let Some(path) = assign(&args.kernel_config, &names, "--kernel-config")?.remove(0) {
        let cfg = kernel::config::KernelConfig::read(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        host.config = Some((cfg, path.display().to_string()));
    }
    if let Some(path) = assign(&args.error_injection, &names, "--error-injection")?.remove(0) {
        host.error_injection = read_error_injection(&path)?;
    }
    Ok(Loaded {
        kernels: vec![Arc::new(host)],
        note: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_and_plain_files() {
        assert_eq!(split_named("a=b.btf"), (Some("a"), PathBuf::from("b.btf")));
        assert_eq!(split_named("x/a=b.btf"), (None, PathBuf::from("x/a=b.btf")));
        assert_eq!(split_named("b.btf"), (None, PathBuf::from("b.btf")));
    }

    #[test]
    fn files_go_to_the_kernel_their_name_starts_with() {
        let names = vec![
            "6.1.0-56-amd64".to_string(),
            "6.12.117+deb12-amd64".to_string(),
        ];
        let got = assign(
            &["d/6.12.117+deb12-amd64.error-injection.txt".into()],
            &names,
            "--error-injection",
        )
        .unwrap();
        assert_eq!(got[0], None);
        assert!(got[1].is_some());
        assert!(assign(&["other.txt".into()], &names, "--error-injection").is_err());
        let one = assign(&["other.txt".into()], &names[..1], "--error-injection").unwrap();
        assert!(one[0].is_some());
    }
}
