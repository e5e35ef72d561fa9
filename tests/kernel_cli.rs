//! `policyctl kernel` end to end, on the BTF fixtures in `testdata/btf/` (never the host's
//! kernel, so the output is the same everywhere): every subcommand, the merged view of several
//! kernels, JSON, exit codes.
//!
//! Each snapshot holds the command line, the exit code, stdout and stderr. Update them with
//! `INSTA_UPDATE=always cargo test --test kernel_cli`, then review them: the prototypes must be
//! what `testdata/btf/README.md` records (vfs_mkdir differs on the three kernels,
//! btf_trace_sched_process_exit gains a `bool` in 6.18, ...).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const K61: &str = "testdata/btf/6.1.0-56-amd64.btf.zst";
const K612: &str = "testdata/btf/6.12.117+deb12-amd64.btf.zst";
const K618: &str = "testdata/btf/6.18.44-fc-v769.btf.zst";

#[path = "support/output.rs"]
mod output;
use output::{code, json, stderr, stdout};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Run `policyctl kernel ARGS` in the workspace root.
fn kernel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_policyctl"))
        .arg("kernel")
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .expect("run policyctl")
}

/// `--btf A --btf B ...`.
fn btf(kernels: &[&'static str]) -> Vec<&'static str> {
    kernels.iter().flat_map(|k| ["--btf", *k]).collect()
}

/// Run and render everything the user sees, for a snapshot.
fn transcript(args: &[&str]) -> (Output, String) {
    let o = kernel(args);
    let mut s = format!("$ policyctl kernel {}\nexit {}\n", args.join(" "), code(&o));
    s.push_str("--- stdout\n");
    s.push_str(&stdout(&o));
    let err = stderr(&o);
    if !err.is_empty() {
        s.push_str("--- stderr\n");
        s.push_str(&err);
    }
    (o, s)
}

/// Snapshot a run; return its output for further checks.
macro_rules! snap {
    ($name:literal, $args:expr) => {{
        let args: Vec<&str> = $args;
        let (o, s) = transcript(&args);
        insta::assert_snapshot!($name, s);
        o
    }};
}

fn with(args: &[&'static str], kernels: &[&'static str]) -> Vec<&'static str> {
    let mut v = args.to_vec();
    v.extend(btf(kernels));
    v
}

// ---------------------------------------------------------------------------------------------
// funcs

#[test]
fn funcs_one_kernel_glob() {
    let o = snap!("funcs_glob", with(&["funcs", "vfs_mk*"], &[K612]));
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains(
        "int vfs_mkdir(struct mnt_idmap *idmap, struct inode *dir, struct dentry *dentry, umode_t mode)\n"
    ));
}

#[test]
fn funcs_limit_says_how_many_more() {
    let o = snap!(
        "funcs_limit",
        with(&["funcs", "tcp_v4_", "--limit", "3"], &[K61])
    );
    assert_eq!(code(&o), 0);
    assert_eq!(stdout(&o).lines().count(), 4);
    assert!(stdout(&o).lines().last().unwrap().starts_with("... and "));
}

#[test]
fn funcs_names_only() {
    // Kernel options after the subcommand work too.
    let o = kernel(&with(
        &["funcs", "--names", "vfs_mk*", "--limit", "1"],
        &[K618],
    ));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "vfs_mkdir\n");
    // The note goes to stderr, so that the names can be piped.
    assert!(
        stderr(&o).starts_with("policyctl: ") && stderr(&o).contains("more functions not shown"),
        "{}",
        stderr(&o)
    );
}

/// The fleet view: one name, three kernels, three prototypes.
#[test]
fn funcs_exact_name_on_three_kernels() {
    let o = snap!(
        "funcs_vfs_mkdir_fleet",
        with(&["funcs", "vfs_mkdir"], &[K61, K612, K618])
    );
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(
        out.starts_with("vfs_mkdir: differs (return type, arg 0)\n"),
        "{out}"
    );
    assert!(out.contains("6.1.0-56-amd64        int vfs_mkdir(struct user_namespace *mnt_userns,"));
    assert!(out.contains("6.18.44-fc-v769       struct dentry *vfs_mkdir(struct mnt_idmap *idmap,"));
}

/// Merged listing: the same, missing on one kernel, and an exact name shown on each kernel.
#[test]
fn funcs_pattern_on_three_kernels() {
    let o = snap!(
        "funcs_security_file_fleet",
        with(&["funcs", "security_file_*"], &[K61, K612, K618])
    );
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains(
        "int security_file_post_open(struct file *file, int mask)  [missing on 6.1.0-56-amd64]"
    ));
    let o = snap!(
        "funcs_do_mkdirat_fleet",
        with(&["funcs", "do_mkdirat"], &[K61, K612, K618])
    );
    assert!(stdout(&o).starts_with("do_mkdirat: the same on all 3 kernels\n"));
}

#[test]
fn funcs_json() {
    let o = kernel(&with(
        &["funcs", "vfs_mkdir", "--format", "json"],
        &[K61, K618],
    ));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    insta::assert_json_snapshot!("funcs_json", v);
    assert_eq!(
        v["kernels"],
        serde_json::json!(["6.1.0-56-amd64", "6.18.44-fc-v769"])
    );
    let f = &v["functions"][0];
    assert_eq!(f["name"], "vfs_mkdir");
    assert_eq!(f["status"], "differs");
    assert_eq!(
        f["differences"],
        serde_json::json!(["return type", "arg 0"])
    );
    assert_eq!(f["kernels"][0]["return"], "int");
    assert_eq!(f["kernels"][1]["return"], "struct dentry *");
    assert_eq!(f["kernels"][1]["params"][0]["type"], "struct mnt_idmap *");
}

// ---------------------------------------------------------------------------------------------
// syscalls, lsm, tracepoints

#[test]
fn syscalls_one_kernel() {
    let o = snap!("syscalls_openat", with(&["syscalls", "openat*"], &[K612]));
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(out.starts_with("openat   __x64_sys_openat   (int dfd, const char *filename, int flags, umode_t mode)\n"), "{out}");
}

#[test]
fn syscalls_on_three_kernels() {
    let o = snap!(
        "syscalls_open_tree_fleet",
        with(&["syscalls", "open_tree"], &[K61, K612, K618])
    );
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("[only on 6.18.44-fc-v769]"));
}

#[test]
fn lsm_on_three_kernels() {
    let o = snap!(
        "lsm_file_fleet",
        with(&["lsm", "file_*"], &[K61, K612, K618])
    );
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("file_open            int bpf_lsm_file_open(struct file *file)\n"));
}

#[test]
fn tracepoints_on_three_kernels() {
    let o = snap!(
        "tracepoints_sched_process_fleet",
        with(&["tracepoints", "sched_process_*"], &[K61, K612, K618])
    );
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    // btf_trace_sched_process_exit gains a bool in 6.18.
    assert!(
        out.contains("sched_process_exit: differs (arg 1)\n"),
        "{out}"
    );
    assert!(
        out.contains("  6.18.44-fc-v769       (struct task_struct *, bool)\n"),
        "{out}"
    );
}

// ---------------------------------------------------------------------------------------------
// tracepoint

#[test]
fn tracepoint_fields_with_indexes() {
    let o = snap!(
        "tracepoint_sched_process_exec",
        with(&["tracepoint", "sched", "sched_process_exec"], &[K612])
    );
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("      5  pid_t           pid\n"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn tracepoint_syscall_event_from_the_table() {
    let o = snap!(
        "tracepoint_sys_enter_openat",
        with(&["tracepoint", "syscalls", "sys_enter_openat"], &[K61])
    );
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("      6  const char *    filename\n"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn tracepoint_on_three_kernels() {
    let o = snap!(
        "tracepoint_sched_process_exit_fleet",
        with(
            &["tracepoint", "sched", "sched_process_exit"],
            &[K61, K612, K618]
        )
    );
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("raw tracepoint arguments: differ (arg 1)"));
}

#[test]
fn tracepoint_json() {
    let o = kernel(&with(
        &[
            "tracepoint",
            "raw_syscalls",
            "sys_enter",
            "--format",
            "json",
        ],
        &[K618],
    ));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    let k = &v["kernels"][0];
    assert_eq!(k["found"], true);
    assert_eq!(k["fields_source"], "BTF struct trace_event_raw_sys_enter");
    // The index a policy uses counts the four common_* fields.
    assert_eq!(
        k["fields"][4],
        serde_json::json!({"index": 4, "name": "id", "type": "long int"})
    );
    assert_eq!(k["raw_args"][1]["type"], "long int");
    assert_eq!(k["raw_args"][1]["name"], Value::Null);
}

// ---------------------------------------------------------------------------------------------
// info

#[test]
fn info_three_kernels() {
    let mut args = with(&["info"], &[K61, K612, K618]);
    args.extend([
        "--kernel-config",
        "testdata/btf/6.1.0-56-amd64.config.gz",
        "--kernel-config",
        "testdata/btf/6.18.44-fc-v769.config.gz",
        "--error-injection",
        "testdata/btf/6.12.117+deb12-amd64.error-injection.from-source.txt",
    ]);
    let o = snap!("info_fleet", args.clone());
    assert_eq!(code(&o), 0);
    args.extend(["--format", "json"]);
    let o = kernel(&args);
    let v = json(&o);
    let ks = v["kernels"].as_array().unwrap();
    assert_eq!(ks.len(), 3);
    assert_eq!(ks[0]["types"], 100_750);
    assert_eq!(ks[0]["bpf_lsm"]["hooks"], 239);
    assert_eq!(ks[0]["kprobes"]["status"], "yes");
    assert_eq!(ks[0]["error_injection"]["status"], "unsupported");
    assert_eq!(ks[1]["kprobes"]["status"], "unknown");
    assert_eq!(ks[1]["error_injection"]["status"], "list");
    assert_eq!(ks[1]["error_injection"]["functions"], 1099);
    assert_eq!(ks[2]["kprobes"]["status"], "no");
    assert_eq!(ks[2]["kprobes"]["config"]["CONFIG_KPROBES"], "n");
    assert_eq!(ks[2]["uprobes"]["status"], "yes");
    assert_eq!(ks[2]["arch"], "x86_64");
    assert_eq!(ks[2]["host"], Value::Null);
}

// ---------------------------------------------------------------------------------------------
// JSON shape of the listings, exit codes.

#[test]
fn listings_share_one_json_shape() {
    for (args, key) in [
        (vec!["syscalls", "openat"], "syscalls"),
        (vec!["lsm", "file_open"], "hooks"),
        (vec!["tracepoints", "sched_switch"], "tracepoints"),
    ] {
        let mut args = with(&args, &[K61]);
        args.extend(["--format", "json"]);
        let o = kernel(&args);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        let v = json(&o);
        for k in ["kernels", "pattern", "total", "shown", key] {
            assert!(v.get(k).is_some(), "{args:?}: no {k}");
        }
        let item = &v[key][0];
        for k in ["name", "status", "differences", "kernels"] {
            assert!(item.get(k).is_some(), "{args:?}: no {k} in {item}");
        }
        assert_eq!(item["kernels"][0]["kernel"], "6.1.0-56-amd64");
        assert_eq!(item["kernels"][0]["present"], true);
    }
}

/// A misspelt syscall event gets the event's name back, not the bare syscall's (which is no
/// tracepoint event).
#[test]
fn misspelt_syscall_event_suggests_the_event() {
    let o = kernel(&with(
        &["tracepoint", "syscalls", "sys_enter_opnat"],
        &[K612],
    ));
    assert_eq!(code(&o), 1);
    assert_eq!(
        stderr(&o),
        "policyctl: no tracepoint syscalls/sys_enter_opnat on 6.12.117+deb12-amd64; did you mean `sys_enter_openat`?\n"
    );
    let o = kernel(&with(
        &["tracepoint", "syscalls", "sys_exit_opnat"],
        &[K61, K612],
    ));
    assert!(
        stderr(&o).ends_with("on any of the 2 kernels; did you mean `sys_exit_openat`?\n"),
        "{}",
        stderr(&o)
    );
    // The suggestion is an event that exists.
    let o = kernel(&with(
        &["tracepoint", "syscalls", "sys_enter_openat"],
        &[K612],
    ));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn nothing_matched_exits_1() {
    let o = snap!("no_match_suggests", with(&["funcs", "vfs_mkdri"], &[K61]));
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).is_empty());
    let o = kernel(&with(&["lsm", "no_such_hook_*"], &[K61]));
    assert_eq!(code(&o), 1);
    assert_eq!(
        stderr(&o),
        "policyctl: no LSM hook matches `no_such_hook_*` on 6.1.0-56-amd64\n"
    );
    let o = kernel(&with(
        &["tracepoint", "sched", "sched_process_exce"],
        &[K61],
    ));
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("did you mean `sched_process_exec`?"),
        "{}",
        stderr(&o)
    );
    // JSON still prints, with nothing in it.
    let o = kernel(&with(
        &["syscalls", "nosuchcall", "--format", "json"],
        &[K61],
    ));
    assert_eq!(code(&o), 1);
    assert_eq!(json(&o)["total"], 0);
}

#[test]
fn usage_and_io_errors_exit_2() {
    let o = kernel(&["funcs", "x", "--btf", "testdata/btf/no-such.btf"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).starts_with("policyctl: cannot read BTF testdata/btf/no-such.btf:"),
        "{}",
        stderr(&o)
    );
    let o = kernel(&["funcs", "x", "--no-btf"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).starts_with("policyctl: "), "{}", stderr(&o));
    // No pattern; no subcommand.
    assert_eq!(code(&kernel(&["funcs", "--btf", K61])), 2);
    assert_eq!(code(&kernel(&[])), 2);
}
