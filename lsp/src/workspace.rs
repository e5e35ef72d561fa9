//! Which documents are policies, from their first lines, and whether a workspace holds any.
//!
//! A document is claimed ([`claims`]) once one of its documents starts like a TracingPolicy: a
//! top-level `apiVersion: cilium.io/...` whose `kind` is not written yet or is (the start of)
//! `TracingPolicy` or `TracingPolicyNamespaced`. It loses the claim only when it is plainly
//! something else ([`disclaims`]): another `kind` or another `apiVersion` written. A document
//! still empty, or holding only the start of that header ([`header_in_progress`]), is offered
//! the header and the policy skeletons when the workspace already holds a policy
//! ([`holds_policies`]): a bounded scan of the workspace folders, once. Everything here is a
//! cheap line scan, not a parse: it works on half-typed YAML.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The two kinds a policy has.
const POLICY_KINDS: [&str; 2] = ["TracingPolicy", "TracingPolicyNamespaced"];

/// Bounds of [`holds_policies`]: directory entries looked at, YAML files opened, bytes read
/// from each, directory depth, time.
pub const SCAN_ENTRIES: usize = 5_000;
/// YAML files opened at most by [`holds_policies`].
pub const SCAN_FILES: usize = 300;
/// Bytes read at most from each file by [`holds_policies`].
pub const SCAN_BYTES: usize = 16 * 1024;
/// Directory depth below a workspace folder looked at by [`holds_policies`].
pub const SCAN_DEPTH: usize = 6;
/// Time [`holds_policies`] takes at most.
pub const SCAN_TIME: Duration = Duration::from_secs(2);

/// The value of `key: value` written at column 0, without quotes or a trailing comment.
fn top_level_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line
        .strip_prefix(key)
        .or_else(|| line.strip_prefix(&format!("\"{key}\"")))?;
    let rest = rest.trim_start_matches([' ', '\t']).strip_prefix(':')?;
    let rest = rest.split(" #").next().unwrap_or("").trim();
    Some(rest.trim_matches(|c| c == '"' || c == '\''))
}

/// The top-level `apiVersion` and `kind` of each document (between `---` lines).
fn headers(text: &str) -> Vec<(Option<&str>, Option<&str>)> {
    let mut out = vec![(None, None)];
    for line in text.lines() {
        if line.starts_with("---") || line.starts_with("...") {
            out.push((None, None));
            continue;
        }
        let last = out.last_mut().expect("one header at least");
        if let Some(v) = top_level_value(line, "apiVersion") {
            last.0 = Some(v);
        } else if let Some(v) = top_level_value(line, "kind") {
            last.1 = Some(v);
        }
    }
    out
}

/// `kind` is one of the policy kinds or the start of one (empty included).
fn policy_kind_start(kind: &str) -> bool {
    POLICY_KINDS.iter().any(|k| k.starts_with(kind))
}

/// True when some document of `text` starts like a TracingPolicy: a top-level `apiVersion:
/// cilium.io/...`, with no `kind` yet or a `kind` that is (the start of) `TracingPolicy` or
/// `TracingPolicyNamespaced`, between the same `---` separators.
pub fn claims(text: &str) -> bool {
    headers(text).iter().any(|(api, kind)| {
        api.is_some_and(|a| a.starts_with("cilium.io/")) && kind.is_none_or(policy_kind_start)
    })
}

/// True when `text` is plainly not a policy: no document starts like one ([`claims`]) and a
/// document has another `kind`, or an `apiVersion` that cannot become `cilium.io/...`.
pub fn disclaims(text: &str) -> bool {
    !claims(text)
        && headers(text).iter().any(|(api, kind)| {
            api.is_some_and(|a| {
                !a.is_empty() && !a.starts_with("cilium.io/") && !"cilium.io/".starts_with(a)
            }) || kind.is_some_and(|k| !k.is_empty() && !policy_kind_start(k))
        })
}

/// True when `text` is empty (blanks, comments and `---` only) or holds only the start of a
/// policy's first line: `a`, `apiVersion`, `apiVersion: cil`, `kind: Tra`...
pub fn header_in_progress(text: &str) -> bool {
    let mut lines = text.lines().filter(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#') && !t.starts_with("---")
    });
    let Some(line) = lines.next() else {
        return true;
    };
    if lines.next().is_some() || line.starts_with([' ', '\t']) {
        return false;
    }
    let line = line.trim_end();
    if let Some(v) = top_level_value(line, "apiVersion") {
        return "cilium.io/".starts_with(v) || v.starts_with("cilium.io/");
    }
    if let Some(v) = top_level_value(line, "kind") {
        return policy_kind_start(v);
    }
    ["apiVersion", "kind"].iter().any(|k| k.starts_with(line))
}

/// True when a file of one of these folders holds a policy ([`claims`] on its first
/// [`SCAN_BYTES`]). Looks at `.yaml` and `.yml` files breadth first, skipping hidden
/// directories, `node_modules`, `target` and `vendor`, within [`SCAN_ENTRIES`],
/// [`SCAN_FILES`], [`SCAN_DEPTH`] and [`SCAN_TIME`]: a workspace too big to scan is taken as
/// holding none.
pub fn holds_policies(folders: &[PathBuf]) -> bool {
    let started = Instant::now();
    let mut entries = 0usize;
    let mut files = 0usize;
    let mut queue: std::collections::VecDeque<(PathBuf, usize)> =
        folders.iter().map(|f| (f.clone(), 0)).collect();
    let mut buf = Vec::with_capacity(SCAN_BYTES);
    while let Some((dir, depth)) = queue.pop_front() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in read.flatten() {
            entries += 1;
            if entries > SCAN_ENTRIES || files > SCAN_FILES || started.elapsed() > SCAN_TIME {
                return false;
            }
            let Ok(ty) = e.file_type() else { continue };
            let name = e.file_name();
            let name = name.to_string_lossy();
            if ty.is_dir() {
                if depth < SCAN_DEPTH
                    && !name.starts_with('.')
                    && !matches!(name.as_ref(), "node_modules" | "target" | "vendor")
                {
                    queue.push_back((e.path(), depth + 1));
                }
            } else if ty.is_file() && (name.ends_with(".yaml") || name.ends_with(".yml")) {
                files += 1;
                if file_claims(&e.path(), &mut buf) {
                    return true;
                }
            }
        }
    }
    false
}

fn file_claims(path: &Path, buf: &mut Vec<u8>) -> bool {
    buf.clear();
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    if f.take(SCAN_BYTES as u64).read_to_end(buf).is_err() {
        return false;
    }
    claims(&String::from_utf8_lossy(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_documents_that_start_like_policies() {
        let policy = "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: x\n";
        assert!(claims(policy));
        assert!(claims(
            "kind: \"TracingPolicyNamespaced\" # ns\r\napiVersion: 'cilium.io/v1'\r\n"
        ));
        assert!(claims(&format!(
            "apiVersion: v1\nkind: ConfigMap\n---\n{policy}"
        )));
        // Started: the group typed, the kind not yet (or half).
        assert!(claims("apiVersion: cilium.io/"));
        assert!(claims("apiVersion: cilium.io/v1alpha1\nkind: \n"));
        assert!(claims("kind: TracingPol\napiVersion: cilium.io/v1alpha1\n"));
        assert!(!claims("apiVersion: apps/v1\nkind: Deployment\n"));
        assert!(!claims(
            "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n"
        ));
        // Both keys in one document, at the top level.
        assert!(!claims("kind: TracingPolicy\n---\napiVersion: apps/v1\n"));
        assert!(!claims(
            "spec:\n  apiVersion: cilium.io/v1alpha1\n  kind: TracingPolicy\n"
        ));
        assert!(!claims("apiVersion: cilium.i"));
        assert!(!claims(""));
    }

    #[test]
    fn disclaims_other_objects_only() {
        assert!(disclaims("apiVersion: apps/v1\nkind: Deployment\n"));
        assert!(disclaims(
            "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n"
        ));
        assert!(disclaims("kind: C"));
        // Being typed, or a policy: not disclaimed.
        assert!(!disclaims("kind: TracingPolicy\n"));
        assert!(!disclaims("apiVersion: cili"));
        assert!(!disclaims(""));
        assert!(!disclaims("metadata:\n  name: x\n"));
    }

    #[test]
    fn headers_in_progress() {
        for t in [
            "",
            "\n# a comment\n---\n",
            "a",
            "apiVersion",
            "apiVersion:",
            "apiVersion: ",
            "apiVersion: cil",
            "kind: Trac",
        ] {
            assert!(header_in_progress(t), "{t:?}");
        }
        for t in [
            "apiVersion: apps/v1",
            "x",
            "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\n",
            "  apiVersion",
        ] {
            assert!(!header_in_progress(t), "{t:?}");
        }
    }

    /// How long the scan takes: this repository (policies under testdata/), and a big tree
    /// without policies (`/usr/share`, stopped by the bounds). Printed, not asserted.
    #[test]
    fn scan_time() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for (what, dir) in [
            ("this repository", repo),
            ("/usr/share", "/usr/share".into()),
        ] {
            let t = Instant::now();
            let found = holds_policies(&[dir]);
            eprintln!("scan of {what}: {found} in {:?}", t.elapsed());
            assert!(t.elapsed() < SCAN_TIME + Duration::from_secs(1));
        }
    }

    #[test]
    fn scans_workspaces_within_bounds() {
        let dir = std::env::temp_dir().join(format!("policyctl-ws-{}", std::process::id()));
        let deep = dir.join("a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::create_dir_all(dir.join("node_modules")).unwrap();
        std::fs::write(
            dir.join("deploy.yaml"),
            "apiVersion: apps/v1\nkind: Deployment\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("node_modules/p.yaml"),
            "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\n",
        )
        .unwrap();
        assert!(
            !holds_policies(std::slice::from_ref(&dir)),
            "node_modules is skipped"
        );
        std::fs::write(
            deep.join("p.yml"),
            "# a policy\napiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\n",
        )
        .unwrap();
        assert!(holds_policies(std::slice::from_ref(&dir)));
        assert!(!holds_policies(&[dir.join("missing")]));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
