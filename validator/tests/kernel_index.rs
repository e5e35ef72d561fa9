//! The kernel index against facts recorded about the three fixture kernels when they were made
//! (`testdata/btf/README.md`, `/work/shared/btf/README.md`): counts of functions, syscall stubs,
//! LSM hooks and tracepoints, prototypes that differ between versions, error-injection lists.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use policyctl_validator::btf::Kind;
use policyctl_validator::kernel::{self, ErrorInjection, Kernel, KernelSpec, Known};

const NAMES: [&str; 3] = ["6.1.0-56-amd64", "6.12.117+deb12-amd64", "6.18.44-fc-v769"];

fn fixture(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/btf")
        .join(file)
}

/// The three kernels from BTF alone, loaded once.
fn kernels() -> &'static [Arc<Kernel>] {
    static K: OnceLock<Vec<Arc<Kernel>>> = OnceLock::new();
    K.get_or_init(|| {
        let specs: Vec<KernelSpec> = NAMES
            .iter()
            .map(|n| KernelSpec {
                btf: fixture(&format!("{n}.btf.zst")),
                ..KernelSpec::default()
            })
            .collect();
        Kernel::load_all(&specs)
            .into_iter()
            .map(|k| Arc::new(k.expect("fixture loads")))
            .collect()
    })
}

#[test]
fn names_come_from_the_file_names() {
    for (k, n) in kernels().iter().zip(NAMES) {
        assert_eq!(k.name, n);
    }
}

#[test]
fn counts_match_the_recorded_facts() {
    // (types, FUNC types, __x64_sys_ stubs, LSM hooks, btf_trace_ events, trace_event_raw_ structs)
    let facts = [
        (100_750, 44_546, 432, 239, 639, 411),
        (112_768, 49_766, 444, 266, 772, 491),
        (126_689, 56_327, 452, 271, 1601, 818),
    ];
    for (k, f) in kernels().iter().zip(facts) {
        let btf = k.btf();
        let funcs = btf.own_types().filter(|t| t.kind == Kind::Func).count();
        let raw_structs = btf
            .own_types()
            .filter(|t| t.kind == Kind::Struct && t.name().starts_with("trace_event_raw_"))
            .count();
        let got = (
            btf.len(),
            funcs,
            k.syscall_names().len(),
            k.lsm_hooks().len(),
            k.tracepoint_events().len(),
            raw_structs,
        );
        assert_eq!(got, f, "{}", k.name);
        assert_eq!(k.arch, Some(kernel::Arch::X86_64), "{}", k.name);
        // Distinct names: static functions repeat across compilation units.
        assert!(k.func_count() <= funcs && k.func_count() > funcs * 9 / 10);
    }
}

#[test]
fn lsm_hooks_agree_with_the_bpf_lsm_functions() {
    for k in kernels() {
        let from_funcs: Vec<&str> = k
            .search_funcs("bpf_lsm_*")
            .into_iter()
            .filter_map(|n| n.strip_prefix("bpf_lsm_"))
            .filter(|n| !kernel::BPF_LSM_HELPERS.contains(n))
            .collect();
        let hooks: Vec<&str> = k.lsm_hooks().iter().map(String::as_str).collect();
        assert_eq!(from_funcs, hooks, "{}: {}", k.name, k.lsm_source());
        assert!(k.lsm_hook("file_open").is_some());
        assert!(
            k.lsm_hook("verify_prog").is_none(),
            "a helper is not a hook"
        );
        assert!(k.lsm_hook("no_such_hook").is_none());
    }
    assert!(kernels()[0].lsm_source().contains("security_hook_heads"));
    assert!(kernels()[2].lsm_source().contains("lsm_static_calls_table"));
}

#[test]
fn prototypes_that_changed_between_versions() {
    let first_param = |k: &Kernel, f: &str| {
        let func = k.func(f).unwrap();
        let (_, id) = func.params()[0];
        k.btf().c_type(id)
    };
    let [k61, k612, k618] = kernels() else {
        unreachable!()
    };
    assert_eq!(first_param(k61, "vfs_mkdir"), "struct user_namespace *");
    assert_eq!(first_param(k612, "vfs_mkdir"), "struct mnt_idmap *");
    assert_eq!(first_param(k618, "vfs_mkdir"), "struct mnt_idmap *");
    let ret = |k: &Kernel, f: &str| k.btf().c_type(k.func(f).unwrap().ret());
    assert_eq!(ret(k612, "vfs_mkdir"), "int");
    assert_eq!(ret(k618, "vfs_mkdir"), "struct dentry *");
    assert_eq!(ret(k612, "do_sys_openat2"), "long int");
    assert_eq!(ret(k618, "do_sys_openat2"), "int");
    for k in kernels() {
        assert_eq!(
            k.func("do_mkdirat").unwrap().c_prototype(),
            "int do_mkdirat(int dfd, struct filename *name, umode_t mode)"
        );
        for absent in [
            "sys_openat",
            "__se_sys_openat",
            "__do_sys_openat",
            "do_execveat_common",
        ] {
            assert!(k.func(absent).is_none(), "{}: {absent}", k.name);
        }
        assert_eq!(
            k.syscall("openat").map(|f| f.name()),
            Some("__x64_sys_openat")
        );
        assert!(k.syscall("no_such_call").is_none());
    }
}

#[test]
fn tracepoints() {
    let [k61, _, k618] = kernels() else {
        unreachable!()
    };
    let exit = |k: &Kernel| {
        k.tracepoint("sched", "sched_process_exit")
            .unwrap()
            .raw_args
    };
    assert_eq!(exit(k61).len(), 1);
    assert_eq!(exit(k618).len(), 2);
    assert_eq!(exit(k618)[1].1, "bool");
    for k in kernels() {
        let enter = k.tracepoint("raw_syscalls", "sys_enter").unwrap();
        let fields: Vec<String> = enter
            .fields()
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        // The index Tetragon's `args[].index` uses: `id` is 4.
        assert_eq!(
            fields,
            [
                "common_type",
                "common_flags",
                "common_preempt_count",
                "common_pid",
                "id",
                "args"
            ]
        );
        let openat = k.tracepoint("syscalls", "sys_enter_openat").unwrap();
        let fields: Vec<String> = openat
            .fields()
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            fields[4..],
            ["__syscall_nr", "dfd", "filename", "flags", "mode"]
        );
        assert!(k.tracepoint("syscalls", "sys_enter_no_such_call").is_none());
        assert!(k.tracepoint("sched", "no_such_event").is_none());
    }
}

#[test]
fn error_injection_lists_and_configs() {
    let with = |n: &str, ei: bool, cfg: bool| {
        Kernel::load(&KernelSpec {
            btf: fixture(&format!("{n}.btf.zst")),
            error_injection: ei.then(|| fixture(&format!("{n}.error-injection.from-source.txt"))),
            config: cfg.then(|| fixture(&format!("{n}.config.gz"))),
            ..KernelSpec::default()
        })
        .unwrap()
    };
    let k = with(NAMES[1], true, false);
    let Known::Yes(ErrorInjection::List(list), source) = &k.error_injection else {
        panic!("{:?}", k.error_injection)
    };
    assert_eq!(list.len(), 1099);
    assert!(source.ends_with(".error-injection.from-source.txt"));
    assert!(list.binary_search(&"__x64_sys_openat".to_string()).is_ok());
    assert!(list.binary_search(&"do_mkdirat".to_string()).is_err());
    // Module entries are listed by name: `name [module]`.
    assert!(list.iter().all(|n| !n.contains('[')));

    let k = with(NAMES[0], false, true);
    assert!(matches!(
        &k.error_injection,
        Known::Yes(ErrorInjection::Unsupported(why), _) if why.contains("CONFIG_FUNCTION_ERROR_INJECTION")
    ));
    assert_eq!(k.config_enabled("BPF_LSM"), Some(true));
    assert_eq!(k.config_enabled("KPROBES"), Some(true));
    let k = with(NAMES[2], false, true);
    assert_eq!(k.config_enabled("KPROBES"), Some(false));
    // Nothing known: say so.
    assert!(matches!(kernels()[0].error_injection, Known::Unknown(_)));
    assert_eq!(kernels()[0].config_enabled("KPROBES"), None);
}

#[test]
fn search_by_pattern() {
    let k = &kernels()[2];
    assert_eq!(k.search_funcs("do_mkdir*"), ["do_mkdirat"]);
    let sys = k.search_funcs("__x64_sys_open*");
    assert!(sys.contains(&"__x64_sys_openat") && sys.contains(&"__x64_sys_openat2"));
    assert!(sys.windows(2).all(|w| w[0] < w[1]), "sorted");
    assert!(k.search_funcs("?o_mkdirat").contains(&"do_mkdirat"));
    // No wildcard: substring.
    assert!(k.search_funcs("mkdirat").contains(&"do_mkdirat"));
    assert!(k.search_funcs("zz*no*such").is_empty());
}

#[test]
fn the_host_kernel_when_there_is_one() {
    let Some(host) = Kernel::host().expect("host BTF reads") else {
        eprintln!("no /sys/kernel/btf/vmlinux on this machine: nothing to check");
        return;
    };
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(host.name, release.trim());
    assert!(host.func_count() > 10_000);
    assert!(host.func("do_mkdirat").is_some());
    assert!(host.host.is_some());
}

#[test]
fn module_functions_come_from_their_split_btf() {
    let k = Kernel::load(&KernelSpec {
        btf: fixture("6.1.0-56-amd64.btf.zst"),
        modules: vec![
            fixture("modules/sata_qstor.ko"),
            PathBuf::from("/no/such/module.ko"),
        ],
        ..KernelSpec::default()
    })
    .unwrap();
    // vmlinux first; the module only for names vmlinux lacks; unreadable modules are left out.
    assert!(kernels()[0].func("qs_ata_init_one").is_none());
    let f = k.func("qs_ata_init_one").expect("found in the module");
    assert!(f.func.id > k.btf().len() as u32, "a split BTF id");
    assert!(f
        .c_prototype()
        .starts_with("int qs_ata_init_one(struct pci_dev *"));
    assert_eq!(k.module_of("qs_ata_init_one"), Some("sata_qstor"));
    assert_eq!(k.module_of("do_mkdirat"), None);
    assert_eq!(k.module_names(), ["sata_qstor"]);
    // a struct of the module's own BTF (for btfType with btfTypeModule), walked there
    assert!(k.has_module("sata_qstor") && !k.has_module("af_alg"));
    assert!(k.struct_named("qs_port_priv").is_none(), "not vmlinux's");
    let (btf, id) = k
        .struct_in_module("sata_qstor", "qs_port_priv")
        .expect("the module's struct");
    let w = policyctl_validator::kernel::resolve::walk(btf, id, "state", false).unwrap();
    assert_eq!(w.steps.len(), 1);
    assert!(k.struct_in_module("sata_qstor", "no_such_struct").is_none());
    assert!(k.struct_in_module("af_alg", "sockaddr_alg_new").is_none());
}

#[test]
fn tracepoint_layouts_without_tracefs_match_tracefs() {
    // 6.18's BTF (no tracefs: a kernel file) against the formats its tracefs printed.
    let k618 = &kernels()[2];
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/tracefs/6.18.44-fc-v769");
    let events = [
        ("syscalls", "sys_enter_openat", "the syscall table"),
        ("syscalls", "sys_exit_openat", "the syscall table"),
        ("syscalls", "sys_enter_execve", "the syscall table"),
        (
            "raw_syscalls",
            "sys_enter",
            "BTF struct trace_event_raw_sys_enter",
        ),
        (
            "sched",
            "sched_process_exec",
            "BTF struct trace_event_raw_sched_process_exec",
        ),
        (
            "sched",
            "sched_process_fork",
            "BTF struct trace_event_raw_sched_process_fork",
        ),
    ];
    for (subsystem, event, source) in events {
        let text = std::fs::read_to_string(dir.join(subsystem).join(event).join("format")).unwrap();
        let want = kernel::parse_tracefs_layout(&text);
        assert!(want.len() >= 5, "{event}: {want:?}");
        let tp = k618
            .tracepoint(subsystem, event)
            .unwrap_or_else(|| panic!("{subsystem}/{event} not found"));
        assert_eq!(tp.fields_source.as_deref(), Some(source), "{event}");
        let got = tp.layout.expect("a layout");
        let shape = |l: &[kernel::FieldLayout]| {
            l.iter()
                .map(|f| (f.name.clone(), f.offset, f.size, f.signed, f.data_loc))
                .collect::<Vec<_>>()
        };
        assert_eq!(shape(&got), shape(&want), "{subsystem}/{event}");
    }
}

/// `syscalls/sys_enter_openat` and a `__data_loc` field, as tracefs prints them.
#[test]
fn parse_format_fields() {
    let text = "name: sys_enter_openat
ID: 641
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:char comm[16];\toffset:32;\tsize:16;\tsigned:0;
\tfield:__data_loc char[] name;\toffset:48;\tsize:4;\tsigned:0;
\tfield:long ret;\toffset:56;\tsize:8;\tsigned:1;

print fmt: \"dfd: 0x%08lx\", ((unsigned long)(REC->dfd))
";
    let f = |name: &str, offset, size, signed, data_loc| kernel::FieldLayout {
        name: name.into(),
        ctype: String::new(),
        offset,
        size,
        signed,
        data_loc,
    };
    let mut got = kernel::parse_tracefs_layout(text);
    for f in &mut got {
        f.ctype.clear();
    }
    assert_eq!(
        got,
        [
            f("common_type", 0, 2, false, false),
            f("common_flags", 2, 1, false, false),
            f("common_preempt_count", 3, 1, false, false),
            f("common_pid", 4, 4, true, false),
            f("__syscall_nr", 8, 4, true, false),
            f("dfd", 16, 8, false, false),
            f("filename", 24, 8, false, false),
            f("comm", 32, 16, false, false),
            f("name", 48, 4, false, true),
            f("ret", 56, 8, true, false),
        ]
    );
    assert!(kernel::parse_tracefs_layout("").is_empty());
    assert!(
        kernel::parse_tracefs_layout("field:int x;\tsize:4;").is_empty(),
        "no offset"
    );
}
