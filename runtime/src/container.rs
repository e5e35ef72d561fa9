//! `process.docker`: the container id found in a process's cgroup, as Tetragon finds it.
//!
//! For an exec the kernel side sends the name of the task's cgroup (the last component of its
//! path, at most [`crate::layout::CGROUP_NAME`] bytes, which may cut it); for a process read
//! from `/proc` the whole `/proc/<pid>/cgroup` is read. Both go through Tetragon's rules
//! (pkg/sensors/exec/procevents/proc.go `LookupContainerId`, `ProcsContainerIdOffset` and
//! `procsFindDockerId`; pkg/sensors/exec/exec_linux.go `msgToExecveKubeUnix` for execs): the id
//! is the last `:`- then `-`-separated part of a cgroup name, kept to its first 31 characters.

/// A container id's full length (Tetragon's `ContainerIdLength`).
const ID_LENGTH: usize = 64;
/// The characters of an id Tetragon keeps, and the fewest it accepts from a name the kernel
/// cut (`BpfContainerIdLength`).
const KEPT: usize = 31;

/// The id candidate in one cgroup name: after the last `:` (the cgroupfs driver's
/// `prefix:runtime:id`), after the last `-` (`docker-<id>.scope`).
fn candidate(name: &str) -> &str {
    let last = name.rsplit(':').next().unwrap_or(name);
    last.rsplit('-').next().unwrap_or(last)
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The first [`KEPT`] characters of `id` (ASCII by the checks before; cut safely otherwise).
fn kept(id: &str) -> String {
    id.chars().take(KEPT).collect()
}

/// The container id in a cgroup path or name, or "" (Tetragon's `LookupContainerId`).
/// `from_kernel`: the name came from the kernel side, which may have cut it at
/// [`crate::layout::CGROUP_NAME`] bytes. `walk_parent`: look at the parent components too (for
/// a service inside a container).
pub fn lookup_container_id(cgroup: &str, from_kernel: bool, walk_parent: bool) -> String {
    let parts: Vec<&str> = cgroup.split('/').collect();
    let mut walk_parent = walk_parent;
    let mut last = parts.last().copied().unwrap_or("");
    // sysbox's nested containers: the outermost one's cgroup
    if last.contains("syscont-cgroup-root") && parts.len() > 4 {
        last = parts[4];
        walk_parent = false;
    }
    let cut = from_kernel && last.len() >= crate::layout::CGROUP_NAME - 1;
    let id = candidate(last);
    if !id.ends_with("service") && (id.len() >= ID_LENGTH || (cut && id.len() >= KEPT)) {
        return kept(id);
    }
    if id.len() >= ID_LENGTH && id.get(..ID_LENGTH).is_some_and(is_hex) {
        return kept(id);
    }
    if cgroup.contains("libpod") && id == "container" {
        walk_parent = true;
    }
    if !walk_parent {
        return String::new();
    }
    // up the parents, below the first two components
    for part in parts
        .iter()
        .rev()
        .skip(1)
        .take(parts.len().saturating_sub(3))
    {
        let id = candidate(part);
        if id.len() == ID_LENGTH || (id.len() > ID_LENGTH && id.ends_with("scope")) {
            return kept(id);
        }
        if id.len() >= ID_LENGTH && id.get(..ID_LENGTH).is_some_and(is_hex) {
            return kept(id);
        }
    }
    String::new()
}

/// The container id of a process from its `/proc/<pid>/cgroup` (Tetragon's
/// `procsFindDockerId`): the first line naming a container runtime (`pods`, `docker`,
/// `libpod`) with an id, else the first line whose last component is a hex id of 31
/// characters or more.
pub fn proc_container_id(cgroup_file: &str) -> String {
    for line in cgroup_file.split('\n') {
        if line.contains("pods") || line.contains("docker") || line.contains("libpod") {
            let id = lookup_container_id(line, false, false);
            if !id.is_empty() {
                return id;
            }
        }
        let last = line.rsplit('/').next().unwrap_or("");
        if last.len() >= KEPT && is_hex(last) {
            return kept(last);
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// The cgroup names of the common runtimes, with what Tetragon's LookupContainerId returns
    /// for them (its rules, case by case).
    #[test]
    fn ids_as_tetragon_finds_them() {
        let short = &ID[..KEPT];
        for (cgroup, from_kernel, want) in [
            // systemd driver: docker-<id>.scope, containerd's cri-containerd-<id>.scope
            (format!("docker-{ID}.scope"), true, short),
            (format!("cri-containerd-{ID}.scope"), true, short),
            // cgroupfs driver: prefix:runtime:id
            (
                format!("kubepods-pod1.slice:cri-containerd:{ID}"),
                true,
                short,
            ),
            // plain docker on cgroup v1 or v2: the bare id
            (format!("/docker/{ID}"), false, short),
            (ID.to_string(), true, short),
            // a service, a user session, the root: none
            ("system.slice/ssh.service".to_string(), false, ""),
            ("session-3.scope".to_string(), true, ""),
            ("/".to_string(), false, ""),
            (String::new(), true, ""),
        ] {
            assert_eq!(
                lookup_container_id(&cgroup, from_kernel, false),
                want,
                "{cgroup}"
            );
        }
        // a name the kernel cut at 127 bytes: an id of 31 characters or more left is taken
        let long = format!("{}-{}", "k".repeat(90), &ID[..36]);
        assert_eq!(long.len(), 127);
        assert_eq!(lookup_container_id(&long, true, false), short);
        assert_eq!(
            lookup_container_id(&long, false, false),
            "",
            "not cut: too short"
        );
        // podman's `container` leaf: the id is its parent's
        let podman = format!("/machine.slice/libpod-{ID}.scope/container");
        assert_eq!(lookup_container_id(&podman, false, false), short);
    }

    #[test]
    fn proc_cgroup_files() {
        let short = &ID[..KEPT];
        assert_eq!(
            proc_container_id(&format!("0::/system.slice/docker-{ID}.scope\n")),
            short
        );
        assert_eq!(
            proc_container_id("0::/user.slice/user-0.slice/session-1.scope\n"),
            ""
        );
        // a runner's cgroup without `docker` in it, ending in a hex id
        assert_eq!(proc_container_id(&format!("0::/actions_job/{ID}\n")), short);
        assert_eq!(proc_container_id(""), "");
    }
}
