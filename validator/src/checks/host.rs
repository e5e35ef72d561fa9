//! Facts of the host a policy is checked on (the running kernel's machine, as `check` without
//! `--btf` and `run` see it): a `matchBinaries` path that is a symlink here never matches.
//!
//! Tetragon compares `matchBinaries` values with the path of the file the process executes,
//! resolved by the kernel (every symlink followed), so `/bin/sh` never equals a process whose
//! executable is `/usr/bin/dash`. Only files that exist on this host are judged: a path that is
//! missing here may be a real file in a container image or on another machine.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::codes::{Code, CodeInfo};
use crate::diagnostic::{Diagnostic, Severity};
use crate::kernel::Kernel;
use crate::model::{Policy, SetFilter};

/// `K040`.
pub const K040: CodeInfo = CodeInfo {
    code: "K040",
    name: "binary-symlink",
    severity: Severity::Warning,
    summary: "A matchBinaries path that is a symlink on this host, so the executed file has another path.",
    explanation: "Tetragon matches `matchBinaries` and `matchParentBinaries` against the path of the file the process really executes: at exec it reads the path of the task's executable file (its `mm->exe_file`, every symlink resolved by the kernel), not the name given to execve. A value that is a symlink, or that goes through a symlinked directory, never equals that path. On Debian and Ubuntu `/bin` is a symlink to `usr/bin` and `/bin/sh` to `dash`, so `values: [\"/bin/sh\"]` never matches a shell there: `In` selects nothing and `NotIn` excludes nothing, and the policy loads without a word. policyctl resolves each absolute path on the host it runs on (`check` against the running kernel, and `run`) and says what the executed file's path is; write that path (keep the old one too if other hosts have a real file there). A `Prefix` directory is resolved the same way. Paths that do not exist on this host are not judged (a container image may have them), nor are kernels given with `--btf`, whose machines policyctl cannot see. On kernels older than 5.3 (no large BPF programs) Tetragon compares the name given to execve instead.",
    tetragon: "bpf/process/bpf_execve_event.h execve_send_event (read_exe under __LARGE_BPF_PROG) and bpf/lib/process.h read_exe; compared in bpf/process/pfilter.h match_binaries with the paths pkg/selectors/kernel.go ParseMatchBinary writes",
};

/// Symlinks followed before a path is given up as a loop (as Linux's `MAXSYMLINKS`).
const MAX_HOPS: usize = 40;

/// Check the policy against every kernel that is a live host with a filesystem to look at.
pub fn check(policy: &Policy, kernels: &[Arc<Kernel>], out: &mut Vec<Diagnostic>) {
    for kernel in kernels {
        let Some(root) = kernel.host.as_ref().and_then(|h| h.root.as_deref()) else {
            continue;
        };
        for hook in &policy.spec.hooks {
            for sel in &hook.selectors {
                let groups = [
                    ("matchBinaries", &sel.match_binaries),
                    ("matchParentBinaries", &sel.match_parent_binaries),
                ];
                for (field, filters) in groups {
                    for filter in filters {
                        check_filter(root, field, filter, &kernel.name, out);
                    }
                }
            }
        }
    }
}

fn check_filter(
    root: &Path,
    field: &str,
    filter: &SetFilter,
    kernel: &str,
    out: &mut Vec<Diagnostic>,
) {
    let Some(op) = filter.operator.as_ref().map(|o| o.value.as_str()) else {
        return;
    };
    let prefix = match op {
        "In" | "NotIn" => false,
        "Prefix" | "NotPrefix" => true,
        _ => return,
    };
    for value in &filter.values {
        let path = value.value.as_str();
        if !path.starts_with('/') || path.len() > 4096 {
            continue;
        }
        let Some(found) = (if prefix {
            resolve_prefix(root, path)
        } else {
            resolve(root, path)
        }) else {
            continue;
        };
        let Some((link, target)) = &found.first_link else {
            continue;
        };
        let real = &found.path;
        let what = if link == path.trim_end_matches('/') {
            format!("`{link}` is a symlink to `{target}`")
        } else {
            format!("`{link}` is a symlink to `{target}`, so `{path}` is `{real}`")
        };
        let effect = match op {
            "In" => "this value never matches a process here",
            "NotIn" => "this value never excludes a process here",
            "Prefix" => "this prefix never matches a process here",
            _ => "this prefix never excludes a process here",
        };
        let mut d = Diagnostic::new(
            Code::K040,
            value.span,
            format!(
                "on this host {what}; Tetragon compares {field} with the executed file's resolved path, so {effect}"
            ),
        )
        .help(format!(
            "write `{real}` (keep `{path}` too if other hosts have a real {} there)",
            if prefix { "directory" } else { "file" }
        ));
        d.kernels = vec![kernel.to_string()];
        out.push(d);
    }
}

/// A path resolved on the host.
struct Resolved {
    /// The path with every symlink followed.
    path: String,
    /// The first symlink met on the way (its path, and what it points to), if any.
    first_link: Option<(String, String)>,
}

/// `path` with every symlink followed, under `root`; `None` when a part of it does not exist
/// or cannot be read, or the links loop.
fn resolve(root: &Path, path: &str) -> Option<Resolved> {
    let mut done: Vec<String> = Vec::new();
    let mut todo: VecDeque<String> = parts(path).collect();
    let mut first_link = None;
    let mut hops = 0;
    while let Some(part) = todo.pop_front() {
        match part.as_str() {
            "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        let mut here: PathBuf = root.to_path_buf();
        here.extend(&done);
        here.push(&part);
        let meta = std::fs::symlink_metadata(&here).ok()?;
        if !meta.file_type().is_symlink() {
            done.push(part);
            continue;
        }
        hops += 1;
        if hops > MAX_HOPS {
            return None;
        }
        let target = std::fs::read_link(&here).ok()?;
        let target = target.to_str()?.to_string();
        if first_link.is_none() {
            let mut link = done.clone();
            link.push(part.clone());
            first_link = Some((format!("/{}", link.join("/")), target.clone()));
        }
        if target.starts_with('/') {
            done.clear();
        }
        let mut next: VecDeque<String> = parts(&target).collect();
        next.extend(todo.drain(..));
        todo = next;
    }
    Some(Resolved {
        path: format!("/{}", done.join("/")),
        first_link,
    })
}

/// A `Prefix` value resolved: a directory (`/usr/bin/`) whole, a name prefix (`/usr/bin/py`)
/// through its directory, keeping the trailing part as written.
fn resolve_prefix(root: &Path, value: &str) -> Option<Resolved> {
    let (dir, rest) = match value.strip_suffix('/') {
        Some(dir) => (dir, "/"),
        None => {
            let cut = value.rfind('/')?;
            (&value[..cut], &value[cut..])
        }
    };
    if dir.is_empty() {
        return None;
    }
    let mut found = resolve(root, dir)?;
    let sep = if found.path.ends_with('/') {
        &rest[1..]
    } else {
        rest
    };
    found.path.push_str(sep);
    Some(found)
}

fn parts(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempdir::Dir {
        tempdir::Dir::new()
    }

    /// A throwaway directory, removed on drop (the validator has no tempfile dependency).
    mod tempdir {
        use std::path::{Path, PathBuf};

        pub struct Dir(PathBuf);

        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicUsize, Ordering};
                static N: AtomicUsize = AtomicUsize::new(0);
                let p = std::env::temp_dir().join(format!(
                    "policyctl-host-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
            pub fn path(&self) -> &Path {
                &self.0
            }
        }

        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn follows_file_and_directory_links_under_the_root() {
        let t = tree();
        let r = t.path();
        std::fs::create_dir_all(r.join("usr/bin")).unwrap();
        std::fs::write(r.join("usr/bin/dash"), "").unwrap();
        std::os::unix::fs::symlink("usr/bin", r.join("bin")).unwrap();
        std::os::unix::fs::symlink("dash", r.join("usr/bin/sh")).unwrap();
        std::os::unix::fs::symlink("/usr/bin/dash", r.join("usr/bin/abs")).unwrap();
        std::os::unix::fs::symlink("loop", r.join("usr/bin/loop")).unwrap();

        let sh = resolve(r, "/bin/sh").unwrap();
        assert_eq!(sh.path, "/usr/bin/dash");
        assert_eq!(
            sh.first_link,
            Some(("/bin".to_string(), "usr/bin".to_string()))
        );
        let abs = resolve(r, "/usr/bin/abs").unwrap();
        assert_eq!(
            abs.path, "/usr/bin/dash",
            "an absolute target stays under the root"
        );
        let plain = resolve(r, "/usr/bin/dash").unwrap();
        assert!(plain.first_link.is_none());
        assert!(resolve(r, "/usr/bin/missing").is_none());
        assert!(resolve(r, "/usr/bin/loop").is_none(), "a loop ends");
        assert_eq!(resolve_prefix(r, "/bin/").unwrap().path, "/usr/bin/");
        assert_eq!(resolve_prefix(r, "/bin/py").unwrap().path, "/usr/bin/py");
        assert_eq!(resolve(r, "/bin/../bin/sh").unwrap().path, "/usr/bin/dash");
    }
}
