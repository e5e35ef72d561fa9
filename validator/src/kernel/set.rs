//! The kernels a policy is checked against, as one value: [`KernelSet`].
//!
//! Loading: from [`KernelSpec`]s (the project file's `[[kernel]]` tables, or the command line's
//! `--btf`, `--error-injection`, `--kernel-config` and `--btf-module` turned into the same specs by
//! [`KernelFlags::specs`]), or the live host ([`KernelSource::Host`]). The rules that give each
//! `[NAME=]FILE` to its kernel live here, once.
//!
//! Comparing: [`KernelSet::each`] looks one thing up on every kernel ([`Across`]); it says where
//! the thing is absent, groups the kernels where it is equal ([`Across::groups_by`]) and compares
//! labelled signatures ([`Across::compare`]). `policyctl kernel` and the language server's hover
//! both ask it.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::config::KernelConfig;
use super::{name_from_path, ErrorInjection, Kernel, KernelError, KernelSpec, Known};

/// Kernels in a fixed order, their names distinct. Dereferences to the kernels.
#[derive(Clone, Default)]
pub struct KernelSet {
    kernels: Vec<Arc<Kernel>>,
}

impl Deref for KernelSet {
    type Target = [Arc<Kernel>];
    fn deref(&self) -> &[Arc<Kernel>] {
        &self.kernels
    }
}

impl<'a> IntoIterator for &'a KernelSet {
    type Item = &'a Arc<Kernel>;
    type IntoIter = std::slice::Iter<'a, Arc<Kernel>>;
    fn into_iter(self) -> Self::IntoIter {
        self.kernels.iter()
    }
}

/// Kernels in the order given; one whose name is already in the set is left out.
impl FromIterator<Arc<Kernel>> for KernelSet {
    fn from_iter<I: IntoIterator<Item = Arc<Kernel>>>(iter: I) -> Self {
        let mut set = KernelSet::new();
        for k in iter {
            let _ = set.push(k);
        }
        set
    }
}

impl KernelSet {
    /// No kernel.
    pub fn new() -> KernelSet {
        KernelSet::default()
    }

    /// Load every spec, in parallel, in the order given; the first failure is the error.
    pub fn load(specs: &[KernelSpec]) -> Result<KernelSet, KernelError> {
        let mut set = KernelSet::new();
        for k in Kernel::load_all(specs) {
            // Names were made distinct by whoever wrote the specs (`KernelFlags::specs`); a
            // repeated one is kept out rather than shown twice.
            let _ = set.push(Arc::new(k?));
        }
        Ok(set)
    }

    /// Add a kernel at the end. A kernel whose name is already in the set is given back: two
    /// kernels of one name could not be told apart in a diagnostic.
    pub fn push(&mut self, kernel: Arc<Kernel>) -> Result<(), Arc<Kernel>> {
        if self.kernels.iter().any(|k| k.name == kernel.name) {
            return Err(kernel);
        }
        self.kernels.push(kernel);
        Ok(())
    }

    /// The kernels' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.kernels.iter().map(|k| k.name.as_str()).collect()
    }

    /// Look one thing up on every kernel, in order.
    pub fn each<T>(&self, f: impl FnMut(&Arc<Kernel>) -> Option<T>) -> Across<T> {
        Across {
            values: self.kernels.iter().map(f).collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Loading.

/// Where one kernel comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KernelSource {
    /// The running kernel ([`Kernel::host`]).
    Host,
    /// Files.
    Spec(KernelSpec),
}

impl KernelSource {
    /// Load it (blocking). `Ok(None)`: the host has no BTF.
    pub fn load(&self) -> Result<Option<Kernel>, KernelError> {
        match self {
            KernelSource::Host => Kernel::host(),
            KernelSource::Spec(spec) => Kernel::load(spec).map(Some),
        }
    }
}

/// Split `NAME=FILE`; a plain `FILE` (even one with `=` in a directory name) has no name.
pub fn split_named(arg: &str) -> (Option<&str>, PathBuf) {
    match arg.split_once('=') {
        Some((name, file)) if !name.is_empty() && !name.contains('/') => {
            (Some(name), PathBuf::from(file))
        }
        _ => (None, PathBuf::from(arg)),
    }
}

/// Kernels as the command line names them: each option a list of `FILE` or `NAME=FILE`.
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelFlags<'a> {
    /// `--btf`: one kernel each.
    pub btf: &'a [String],
    /// `--error-injection`: at most one per kernel.
    pub error_injection: &'a [String],
    /// `--kernel-config`: at most one per kernel.
    pub kernel_config: &'a [String],
    /// `--btf-module`: any number per kernel.
    pub btf_module: &'a [String],
}

/// The files the flags give one kernel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assigned {
    /// Its error-injection list.
    pub error_injection: Option<PathBuf>,
    /// Its build configuration.
    pub config: Option<PathBuf>,
    /// Its modules' split BTF.
    pub modules: Vec<PathBuf>,
}

impl KernelFlags<'_> {
    /// One spec per `--btf`, named by `NAME=` or the file's name, with the files the other
    /// flags give it. Two kernels of one name, or a file that fits no kernel, is an error.
    pub fn specs(&self) -> Result<Vec<KernelSpec>, String> {
        let mut specs: Vec<KernelSpec> = self
            .btf
            .iter()
            .map(|arg| {
                let (name, path) = split_named(arg);
                KernelSpec {
                    name: Some(name.map_or_else(|| name_from_path(&path), str::to_string)),
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
        for (spec, files) in specs.iter_mut().zip(self.assign(&names)?) {
            spec.error_injection = files.error_injection;
            spec.config = files.config;
            spec.modules = files.modules;
        }
        Ok(specs)
    }

    /// Give each `--error-injection`, `--kernel-config` and `--btf-module` file to one of the
    /// kernels `names`: by `NAME=`, else the only kernel, else the kernel whose name starts the
    /// file's name (the longest such name). One list and one configuration per kernel.
    pub fn assign(&self, names: &[String]) -> Result<Vec<Assigned>, String> {
        let ei = assign_one(self.error_injection, names, "--error-injection")?;
        let cfg = assign_one(self.kernel_config, names, "--kernel-config")?;
        let modules = assign_many(self.btf_module, names, "--btf-module")?;
        Ok(ei
            .into_iter()
            .zip(cfg)
            .zip(modules)
            .map(|((error_injection, config), modules)| Assigned {
                error_injection,
                config,
                modules,
            })
            .collect())
    }

    /// Give the running kernel the configuration and error-injection list the flags name for it
    /// (modules are refused by the caller: the host's come from `/sys/kernel/btf`).
    pub fn apply_to_host(&self, host: &mut Kernel) -> Result<(), String> {
        let files = self.assign(std::slice::from_ref(&host.name))?.remove(0);
        if let Some(path) = files.config {
            let cfg = KernelConfig::read(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            host.config = Some((cfg, path.display().to_string()));
        }
        if let Some(path) = files.error_injection {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            host.error_injection = Known::Yes(
                ErrorInjection::List(super::parse_error_injection(&text)),
                path.display().to_string(),
            );
        }
        Ok(())
    }
}

/// As [`assign_many`], at most one file per kernel.
fn assign_one(
    files: &[String],
    names: &[String],
    what: &str,
) -> Result<Vec<Option<PathBuf>>, String> {
    assign_many(files, names, what)?
        .into_iter()
        .enumerate()
        .map(|(i, mut paths)| {
            if paths.len() > 1 {
                return Err(format!("two {what} files for kernel {}", names[i]));
            }
            Ok(paths.pop())
        })
        .collect()
}

/// The files of one option, per kernel (see [`KernelFlags::assign`]).
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

/// A path of a spec made absolute against `root` (relative paths in settings are relative to
/// the workspace, in the project file to the file's directory).
pub fn spec_relative_to(spec: &KernelSpec, root: Option<&Path>) -> KernelSpec {
    let abs = |p: &PathBuf| match root {
        Some(r) if p.is_relative() => r.join(p),
        _ => p.clone(),
    };
    KernelSpec {
        name: spec.name.clone(),
        btf: abs(&spec.btf),
        error_injection: spec.error_injection.as_ref().map(abs),
        config: spec.config.as_ref().map(abs),
        modules: spec.modules.iter().map(abs).collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Comparing.

/// One thing looked up on each kernel of a set ([`KernelSet::each`]): `None` where it is absent.
/// Kernels are named by their index in the set.
#[derive(Clone, Debug)]
pub struct Across<T> {
    values: Vec<Option<T>>,
}

/// Kernels where a thing is equal ([`Across::groups_by`]).
#[derive(Clone, Debug)]
pub struct Group<'a, T> {
    /// The thing on the first of them.
    pub value: &'a T,
    /// Indexes in the set, in order.
    pub kernels: Vec<usize>,
}

/// How a thing compares across kernels ([`Across::compare`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agreement {
    /// Present everywhere, its signature the same.
    Same,
    /// Its signature differs between kernels that have it.
    Differs,
    /// Absent on some kernel, the same where present.
    Missing,
}

impl Agreement {
    /// `same`, `differs`, `missing`.
    pub fn as_str(self) -> &'static str {
        match self {
            Agreement::Same => "same",
            Agreement::Differs => "differs",
            Agreement::Missing => "missing",
        }
    }
}

/// The result of [`Across::compare`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    /// Same, differs or missing.
    pub agreement: Agreement,
    /// The labels whose values differ (in the order first seen), for [`Agreement::Differs`].
    pub differences: Vec<String>,
    /// The signatures agree, but the texts shown for them do not (parameter names).
    pub text_differs: bool,
}

impl<T> Across<T> {
    /// The thing on each kernel, in the set's order.
    pub fn values(&self) -> &[Option<T>] {
        &self.values
    }

    /// The thing on each kernel, owned.
    pub fn into_values(self) -> Vec<Option<T>> {
        self.values
    }

    /// The kernels (indexes) that lack it.
    pub fn missing(&self) -> Vec<usize> {
        (0..self.values.len())
            .filter(|&i| self.values[i].is_none())
            .collect()
    }

    /// Where it is present, grouped by `key` (equal keys in one group), groups in the order of
    /// their first kernel.
    pub fn groups_by<K: PartialEq>(&self, key: impl Fn(&T) -> K) -> Vec<Group<'_, T>> {
        let mut groups: Vec<(K, Group<'_, T>)> = Vec::new();
        for (i, v) in self.values.iter().enumerate() {
            let Some(v) = v else { continue };
            let k = key(v);
            match groups.iter_mut().find(|(g, _)| *g == k) {
                Some((_, g)) => g.kernels.push(i),
                None => groups.push((
                    k,
                    Group {
                        value: v,
                        kernels: vec![i],
                    },
                )),
            }
        }
        groups.into_iter().map(|(_, g)| g).collect()
    }

    /// Compare where it is present by a signature of labelled values (`return type` → `int`,
    /// `arg 0` → `struct file *`): the labels whose values differ between kernels make it
    /// [`Agreement::Differs`]; else it is the same, or missing where absent. `text` is what is
    /// shown for it: when it differs while the signatures agree, `text_differs` says so.
    pub fn compare<'s>(
        &'s self,
        signature: impl Fn(&'s T) -> &'s [(String, String)],
        text: impl Fn(&T) -> String,
    ) -> Comparison {
        let present: Vec<&T> = self.values.iter().flatten().collect();
        let mut labels: Vec<&str> = Vec::new();
        for v in &present {
            for (l, _) in signature(v) {
                if !labels.contains(&l.as_str()) {
                    labels.push(l);
                }
            }
        }
        let value = |v: &'s T, l: &str| signature(v).iter().find(|(k, _)| k == l).map(|(_, x)| x);
        let differences: Vec<String> = labels
            .into_iter()
            .filter(|l| {
                let first = value(present[0], l);
                present.iter().any(|v| value(v, l) != first)
            })
            .map(str::to_string)
            .collect();
        if !differences.is_empty() {
            return Comparison {
                agreement: Agreement::Differs,
                differences,
                text_differs: false,
            };
        }
        let agreement = if present.len() == self.values.len() {
            Agreement::Same
        } else {
            Agreement::Missing
        };
        Comparison {
            agreement,
            differences,
            text_differs: !present.windows(2).all(|w| text(w[0]) == text(w[1])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/btf")
            .join(name)
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn named_and_plain_files() {
        assert_eq!(split_named("a=b.btf"), (Some("a"), PathBuf::from("b.btf")));
        assert_eq!(split_named("x/a=b.btf"), (None, PathBuf::from("x/a=b.btf")));
        assert_eq!(split_named("=b.btf"), (None, PathBuf::from("=b.btf")));
        assert_eq!(split_named("b.btf"), (None, PathBuf::from("b.btf")));
    }

    #[test]
    fn files_go_to_the_kernel_their_name_starts_with() {
        let names = s(&["6.1.0-56-amd64", "6.12.117+deb12-amd64"]);
        let ei = s(&["d/6.12.117+deb12-amd64.error-injection.txt"]);
        let flags = KernelFlags {
            error_injection: &ei,
            ..KernelFlags::default()
        };
        let got = flags.assign(&names).unwrap();
        assert_eq!(got[0].error_injection, None);
        assert!(got[1].error_injection.is_some());
        let other = s(&["other.txt"]);
        let flags = KernelFlags {
            error_injection: &other,
            ..KernelFlags::default()
        };
        let err = flags.assign(&names).unwrap_err();
        assert!(err.contains("matches none of the kernels"), "{err}");
        // The only kernel takes any plain file.
        let one = flags.assign(&names[..1]).unwrap();
        assert!(one[0].error_injection.is_some());
    }

    #[test]
    fn a_longer_name_wins_and_names_choose() {
        let names = s(&["6.1", "6.12"]);
        let cfg = s(&["6.12.config", "6.1=x.config"]);
        let modules = s(&["6.1=a.ko", "6.1=b.ko"]);
        let flags = KernelFlags {
            kernel_config: &cfg,
            btf_module: &modules,
            ..KernelFlags::default()
        };
        let got = flags.assign(&names).unwrap();
        assert_eq!(got[0].config, Some(PathBuf::from("x.config")));
        assert_eq!(got[1].config, Some(PathBuf::from("6.12.config")));
        assert_eq!(got[0].modules.len(), 2);
        // Two configurations for one kernel: refused, modules may be many.
        let two = s(&["6.1=x", "6.1=y"]);
        let flags = KernelFlags {
            kernel_config: &two,
            ..KernelFlags::default()
        };
        assert_eq!(
            flags.assign(&names).unwrap_err(),
            "two --kernel-config files for kernel 6.1"
        );
    }

    #[test]
    fn specs_from_flags_name_each_kernel_once() {
        let btf = s(&["a/6.1.0-56-amd64.btf.zst", "k=b/6.1.0-56-amd64.btf.zst"]);
        let ei = s(&["k=list.txt"]);
        let specs = KernelFlags {
            btf: &btf,
            error_injection: &ei,
            ..KernelFlags::default()
        }
        .specs()
        .unwrap();
        assert_eq!(specs[0].name.as_deref(), Some("6.1.0-56-amd64"));
        assert_eq!(specs[0].error_injection, None);
        assert_eq!(specs[1].name.as_deref(), Some("k"));
        assert_eq!(specs[1].error_injection, Some(PathBuf::from("list.txt")));
        let twice = s(&["a/x.btf", "b/x.btf"]);
        let err = KernelFlags {
            btf: &twice,
            ..KernelFlags::default()
        }
        .specs()
        .unwrap_err();
        assert_eq!(
            err,
            "two kernels are named x; name them with --btf NAME=FILE"
        );
    }

    #[test]
    fn relative_paths_are_made_absolute() {
        let spec = KernelSpec {
            name: Some("k".into()),
            btf: "k.btf".into(),
            config: Some("/abs/config".into()),
            modules: vec!["m.ko".into()],
            ..KernelSpec::default()
        };
        let got = spec_relative_to(&spec, Some(Path::new("/w")));
        assert_eq!(got.btf, PathBuf::from("/w/k.btf"));
        assert_eq!(got.config, Some(PathBuf::from("/abs/config")));
        assert_eq!(got.modules, vec![PathBuf::from("/w/m.ko")]);
        assert_eq!(spec_relative_to(&spec, None), spec);
    }

    /// Two real kernels: a function on both with the same prototype, one whose prototype
    /// changed, one only on the newer kernel.
    #[test]
    fn compares_real_kernels() {
        let specs = [
            KernelSpec {
                name: Some("6.1".into()),
                btf: fixture("6.1.0-56-amd64.btf.zst"),
                ..KernelSpec::default()
            },
            KernelSpec {
                name: Some("6.12".into()),
                btf: fixture("6.12.117+deb12-amd64.btf.zst"),
                ..KernelSpec::default()
            },
        ];
        let set = KernelSet::load(&specs).unwrap();
        assert_eq!(set.names(), ["6.1", "6.12"]);
        // A kernel of a name already there is given back.
        let again = set[0].clone();
        assert!(set.clone().push(again).is_err());

        let proto = |name: &str| {
            set.each(|k| {
                let f = k.func(name)?;
                let btf = f.func.btf();
                let mut sig = vec![("return type".to_string(), btf.c_type(f.ret()))];
                for (i, (_, t)) in f.params().into_iter().enumerate() {
                    sig.push((format!("arg {i}"), btf.c_type(t)));
                }
                Some((sig, f.c_prototype()))
            })
        };
        let sig = |v: &(Vec<(String, String)>, String)| -> String { v.1.clone() };

        let same = proto("do_unlinkat");
        let groups = same.groups_by(sig);
        assert_eq!(groups.len(), 1, "{groups:?}");
        assert_eq!(groups[0].kernels, [0, 1]);
        assert!(same.missing().is_empty());
        let c = same.compare(|v| &v.0, sig);
        assert_eq!(c.agreement, Agreement::Same);

        // `vfs_mkdir` took a `struct user_namespace *` on 6.1 and a `struct mnt_idmap *` since
        // 6.3: one group per kernel, the first argument differs.
        let changed = proto("vfs_mkdir");
        assert_eq!(changed.groups_by(sig).len(), 2);
        let c = changed.compare(|v| &v.0, sig);
        assert_eq!(c.agreement, Agreement::Differs);
        assert!(c.differences.contains(&"arg 0".to_string()), "{c:?}");

        let absent = proto("policyctl_no_such_function");
        assert_eq!(absent.missing(), [0, 1]);
        assert!(absent.groups_by(sig).is_empty());
        assert_eq!(absent.compare(|v| &v.0, sig).agreement, Agreement::Missing);
    }

    #[test]
    fn compare_labels_that_differ() {
        let sig = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let across = Across {
            values: vec![
                Some((sig(&[("return type", "int"), ("arg 0", "int")]), "a")),
                None,
                Some((sig(&[("return type", "long"), ("arg 0", "int")]), "b")),
            ],
        };
        let c = across.compare(|v| &v.0, |v| v.1.to_string());
        assert_eq!(c.agreement, Agreement::Differs);
        assert_eq!(c.differences, ["return type"]);
        assert_eq!(across.missing(), [1]);
        let groups = across.groups_by(|v| v.0.clone());
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[1].kernels, [2]);

        // Same types, other parameter names: not a difference, but the text differs.
        let across = Across {
            values: vec![
                Some((sig(&[("arg 0", "int")]), "int fd")),
                Some((sig(&[("arg 0", "int")]), "int dfd")),
            ],
        };
        let c = across.compare(|v| &v.0, |v| v.1.to_string());
        assert_eq!(c.agreement, Agreement::Same);
        assert!(c.differences.is_empty());
        assert!(c.text_differs);
        let groups = across.groups_by(|v| v.1);
        assert_eq!(groups.len(), 2);
    }
}
