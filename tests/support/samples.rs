//! Small policies the CLI tests of several binaries write into their scratch directories.

/// A policy whose only finding is a warning: P004, an option name Tetragon does not know.
#[allow(dead_code)]
pub const WARNING_ONLY: &str = "\
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: \"warn-only\"
spec:
  options:
  - name: polcy-mode
    value: enforce
  kprobes:
  - call: \"tcp_connect\"
    syscall: false
    args:
    - index: 0
      type: \"sock\"
";

/// A kprobe policy whose Sigkill carries an `argSig` it ignores: P041, a warning (and, on a
/// kernel without kprobes, K030 too).
#[allow(dead_code)]
pub const KILL_WITH_ARGSIG: &str = "\
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: \"kill-mkdir\"
spec:
  kprobes:
  - call: \"security_path_mkdir\"
    syscall: false
    selectors:
    - matchBinaries:
      - operator: In
        values: [\"/usr/bin/mkdir\"]
      matchActions:
      - action: Sigkill
        argSig: 9
";
