//! `kprobe_multi` loaded by hand for `BPF_TRACE_KPROBE_MULTI` links (`runtime/src/kmulti.rs`) on
//! this machine's kernel: aya-obj relocates it against the maps aya created and the kernel's
//! BTF, and the kernel's verifier accepts it. This host has no fprobe, so nothing links it here;
//! the links themselves are tested in the VM (`tests/vm/multi_kprobe.rs`, Debian's 6.12).
//!
//! Needs root (or CAP_BPF and CAP_PERFMON), BTF and tracefs: without them the test prints
//! `SKIPPED` and passes, unless `CI` is set (CI runs it as root): then it fails.

#[path = "../../tests/support/skip.rs"]
mod skip;

use policyctl_runtime::loader::{preflight, Loaded};

#[test]
fn kprobe_multi_loads_for_links() {
    if let Err(e) = preflight() {
        skip::skip("kprobe_multi_loads_for_links", &e.0);
        return;
    }
    let mut loaded = Loaded::new(1).expect("the object loads");
    loaded
        .load_kprobe_multi()
        .expect("the kernel verifies kprobe_multi for links");
    // loaded once: a second call does not load it again, and still says it is there
    loaded.load_kprobe_multi().expect("still loaded");
    // the host's kernel (no CONFIG_FPROBE) has no such links, and the features say so
    if !std::path::Path::new("/sys/bus/event_source/devices/kprobe/type").exists() {
        assert!(!loaded.features().kprobe_multi);
    }
}
