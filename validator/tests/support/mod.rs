//! Helpers shared by the integration tests and the benchmark (included with `#[path]`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use policyctl_validator::kernel::{Kernel, KernelSpec};

/// The `*.yaml` / `*.yml` files of a directory under `testdata/`, sorted.
#[allow(dead_code)]
pub fn testdata_files(sub: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(sub);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no policies in {}", dir.display());
    files
}

/// `testdata/btf/`: the fixture kernels' BTF, configs and error-injection lists (see its README).
#[allow(dead_code)]
pub fn btf_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/btf")
}

/// The fixture kernels, each loaded with a different amount of knowledge so that every K code
/// and the per-kernel merge of diagnostics show up:
///
/// | kernel | loaded from | so |
/// | --- | --- | --- |
/// | `6.1.0-56-amd64` | BTF only | kprobes, uprobes and error injection unknown: Override gives K021 |
/// | `6.12.117+deb12-amd64` | BTF + an error-injection list | a 6.12 built with error injection: a syscall Override is checked against the list; its BTF shows kprobe_multi (`register_fprobe`), so an Override on a `security_*` kprobe is K020 |
/// | `6.18.44-fc-v769` | BTF + its config | no kprobes (K030), no error injection (K020) |
///
/// The 6.12 list (`*.error-injection.from-source.txt`) is derived from the kernel's source and
/// BTF: Debian's real 6.12 has no error injection at all (`CONFIG_FUNCTION_ERROR_INJECTION` is
/// unset), so this stands for "a 6.12 built with error injection" (see `testdata/btf/README.md`
/// and the BTF fixtures' README). 6.1's config and list exist too, and are left out on purpose.
#[allow(dead_code)]
pub const FIXTURE_KERNELS: &[FixtureKernel] = &[
    FixtureKernel {
        name: "6.1.0-56-amd64",
        error_injection: false,
        config: false,
    },
    FixtureKernel {
        name: "6.12.117+deb12-amd64",
        error_injection: true,
        config: false,
    },
    FixtureKernel {
        name: "6.18.44-fc-v769",
        error_injection: false,
        config: true,
    },
];

/// One fixture kernel: its name (the files' stem in `testdata/btf/`) and which files besides
/// the BTF are loaded.
#[allow(dead_code)]
pub struct FixtureKernel {
    /// `6.1.0-56-amd64`: `testdata/btf/<name>.btf.zst` and its other files.
    pub name: &'static str,
    /// Load `<name>.error-injection.from-source.txt`.
    pub error_injection: bool,
    /// Load `<name>.config.gz`.
    pub config: bool,
}

impl FixtureKernel {
    /// What [`Kernel::load`] reads for this kernel.
    #[allow(dead_code)]
    pub fn spec(&self) -> KernelSpec {
        let dir = btf_dir();
        KernelSpec {
            name: Some(self.name.to_string()),
            btf: dir.join(format!("{}.btf.zst", self.name)),
            error_injection: self
                .error_injection
                .then(|| dir.join(format!("{}.error-injection.from-source.txt", self.name))),
            config: self
                .config
                .then(|| dir.join(format!("{}.config.gz", self.name))),
            ..KernelSpec::default()
        }
    }
}

/// The [`FIXTURE_KERNELS`], loaded once per test binary (in parallel, one thread each).
#[allow(dead_code)]
pub fn fixture_kernels() -> &'static [Arc<Kernel>] {
    static KERNELS: OnceLock<Vec<Arc<Kernel>>> = OnceLock::new();
    KERNELS.get_or_init(|| {
        let specs: Vec<KernelSpec> = FIXTURE_KERNELS.iter().map(|k| k.spec()).collect();
        Kernel::load_all(&specs)
            .into_iter()
            .zip(FIXTURE_KERNELS)
            .map(|(k, f)| Arc::new(k.unwrap_or_else(|e| panic!("fixture kernel {}: {e}", f.name))))
            .collect()
    })
}

/// 100 (name, text) pairs, cycling through the valid policies (read once, for benchmarks).
#[allow(dead_code)]
pub fn corpus_100() -> Vec<(String, String)> {
    let texts: Vec<(String, String)> = testdata_files("policies/valid")
        .iter()
        .map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap()))
        .collect();
    texts.iter().cycle().take(100).cloned().collect()
}
