//! The BTF reader (`policyctl_validator::btf`) checked against bpftool, on real kernels.
//!
//! - Every type of three kernels (`testdata/btf/*.btf.zst`) and of a module's split BTF
//!   (`testdata/btf/modules/sata_qstor.{ko,btf}`) is dumped with [`Btf::dump_raw`] and compared
//!   with `bpftool btf dump file X format raw`: the type count, the FUNC count, a sample of a few
//!   hundred FUNCs with every type their prototypes reach, the first and last 2000 types, and
//!   then all of them.
//! - Known prototypes are rendered in C ([`Btf::c_prototype`]) on all three kernels.
//! - Split BTF: ids continue after the base, base types are reachable through the module.
//! - Robustness: a hand-built blob with every kind (also wrapped in ELF64 / ELF32 and zstd), the
//!   module's split BTF and a real vmlinux are mutated and truncated; parsing never panics, and
//!   when it succeeds no accessor, renderer, dump, kernel index or kernel check panics either.
//!   Bad inputs give the expected errors; hostile ones (names that are not UTF-8, a string
//!   section without NUL bytes) are read in linear time.
//!
//! The bpftool tests need `bpftool` on PATH. Without it they print a notice and pass, except
//! when the environment variable `CI` is set (CI installs bpftool): then they fail.

#[path = "../../tests/support/skip.rs"]
mod skip;
use skip::skip;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use policyctl_validator::btf::{Btf, BtfError, Kind, TypeId, MAX_NAME_LEN};
use policyctl_validator::kernel::Kernel;
use policyctl_validator::{check_source_with, SourceFile};
use proptest::prelude::*;

const KERNELS: [&str; 3] = ["6.1.0-56-amd64", "6.12.117+deb12-amd64", "6.18.44-fc-v769"];

/// FUNCs sampled per kernel for the prototype-chain comparison.
const FUNC_SAMPLE: usize = 300;
/// Types compared at each end of the id range.
const EDGE: usize = 2000;

// ---------------------------------------------------------------------------------------------
// Fixtures and helpers

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/btf")
}

fn kernel_fixture(kernel: &str) -> PathBuf {
    testdata().join(format!("{kernel}.btf.zst"))
}

fn module_ko() -> PathBuf {
    testdata().join("modules/sata_qstor.ko")
}

fn module_raw() -> PathBuf {
    testdata().join("modules/sata_qstor.btf")
}

/// The module's base: 6.1.0-56-amd64, parsed once.
fn base_61() -> Arc<Btf> {
    static BASE: OnceLock<Arc<Btf>> = OnceLock::new();
    BASE.get_or_init(|| {
        Arc::new(Btf::open(&kernel_fixture("6.1.0-56-amd64")).expect("open 6.1 BTF"))
    })
    .clone()
}

/// A directory of our own under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "policyctl-btf-test-{}-{}",
            std::process::id(),
            tag.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Decompress a `.btf.zst` fixture into `dir`; returns the raw file's path.
fn decompress(fixture: &Path, dir: &TempDir) -> PathBuf {
    let file = std::fs::File::open(fixture).expect("open fixture");
    let raw = zstd::stream::decode_all(file).expect("decompress fixture");
    let out = dir.path("vmlinux.btf");
    std::fs::write(&out, raw).expect("write raw BTF");
    out
}

/// bpftool's path, when it is on PATH. Without it: `None` and a skip notice, or a failure when
/// `CI` is set.
fn bpftool(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("bpftool"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        skip(
            test,
            "bpftool is not on PATH (Debian: `apt-get install bpftool`, in /usr/sbin)",
        );
    }
    found
}

/// `bpftool btf dump file <file> [--base-btf <base>] format raw`, its stdout.
fn bpftool_dump(bpftool: &Path, file: &Path, base: Option<&Path>) -> String {
    let mut cmd = Command::new(bpftool);
    cmd.args(["btf", "dump", "file"]).arg(file);
    if let Some(base) = base {
        cmd.arg("--base-btf").arg(base);
    }
    cmd.args(["format", "raw"]);
    let out = cmd.output().expect("run bpftool");
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("bpftool output is UTF-8")
}

/// bpftool's raw dump split into one text per type (without the final newline), checking that
/// the ids run consecutively. Returns the first id and the texts.
fn parse_dump(text: &str) -> (TypeId, Vec<String>) {
    let mut first = None;
    let mut blocks: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with('[') {
            let id: TypeId = line[1..line.find(']').expect("`]` after the id")]
                .parse()
                .expect("a numeric id");
            let first = *first.get_or_insert(id);
            assert_eq!(
                id,
                first + blocks.len() as TypeId,
                "bpftool ids are not consecutive"
            );
            blocks.push(line.to_string());
        } else {
            let last = blocks.last_mut().expect("a type line first");
            last.push('\n');
            last.push_str(line);
        }
    }
    (first.unwrap_or(1), blocks)
}

/// The comparison of our dump with bpftool's.
struct Dump {
    first: TypeId,
    blocks: Vec<String>,
}

impl Dump {
    fn new(text: &str) -> Dump {
        let (first, blocks) = parse_dump(text);
        Dump { first, blocks }
    }

    fn get(&self, id: TypeId) -> Option<&str> {
        let i = id.checked_sub(self.first)? as usize;
        self.blocks.get(i).map(String::as_str)
    }

    fn funcs(&self) -> usize {
        self.blocks
            .iter()
            .filter(|b| b.split(' ').nth(1) == Some("FUNC"))
            .count()
    }

    /// Compare `ids`; panics listing (up to 10) mismatches with both texts.
    fn compare(&self, btf: &Btf, ids: impl IntoIterator<Item = TypeId>, what: &str) -> usize {
        let mut n = 0;
        let mut bad = Vec::new();
        for id in ids {
            n += 1;
            let ours = btf.dump_raw(id);
            let theirs = self.get(id).unwrap_or("<not in bpftool's output>");
            if ours != theirs {
                bad.push(id);
                if bad.len() <= 10 {
                    eprintln!("[{id}] differs\n--- bpftool:\n{theirs}\n--- ours:\n{ours}\n");
                }
            }
        }
        assert!(
            bad.is_empty(),
            "{what}: {} of {n} types differ from bpftool, ids {:?}... (texts above)",
            bad.len(),
            &bad[..bad.len().min(20)]
        );
        n
    }
}

/// Every type a FUNC's prototype reaches: FUNC -> FUNC_PROTO -> return and parameter types,
/// through pointers, qualifiers, typedefs, type tags and arrays, down to named structs, unions
/// and enums (kept, whose member lines the dump holds, but not followed further). Anonymous
/// structs and unions are followed into their members' types.
fn reach(btf: &Btf, roots: &[TypeId]) -> BTreeSet<TypeId> {
    let mut seen = BTreeSet::new();
    let mut stack = roots.to_vec();
    while let Some(id) = stack.pop() {
        if id == 0 || !seen.insert(id) {
            continue;
        }
        let Some(t) = btf.ty(id) else { continue };
        match t.kind {
            Kind::Func
            | Kind::Ptr
            | Kind::Const
            | Kind::Volatile
            | Kind::Restrict
            | Kind::Typedef
            | Kind::TypeTag
            | Kind::Var
            | Kind::DeclTag => stack.push(t.type_id()),
            Kind::FuncProto => {
                stack.push(t.type_id());
                stack.extend(t.params().map(|p| p.type_id));
            }
            Kind::Array => {
                let (elem, index, _) = t.array();
                stack.extend([elem, index]);
            }
            Kind::Struct | Kind::Union if t.name().is_empty() => {
                stack.extend(t.members().map(|m| m.type_id));
            }
            _ => {}
        }
    }
    seen
}

fn func_ids(btf: &Btf) -> Vec<TypeId> {
    btf.own_kinds()
        .filter(|&(kind, _, _)| kind == Kind::Func)
        .map(|(_, _, id)| id)
        .collect()
}

fn func_named(btf: &Btf, name: &str) -> Option<TypeId> {
    btf.own_kinds()
        .find(|&(kind, off, _)| kind == Kind::Func && btf.str_at(off) == name)
        .map(|(_, _, id)| id)
}

// ---------------------------------------------------------------------------------------------
// Kernels against bpftool

fn compare_kernel(kernel: &str) {
    let test = format!("kernel {kernel}");
    let Some(bpftool) = bpftool(&test) else {
        return;
    };
    let dir = TempDir::new(kernel);
    let raw = decompress(&kernel_fixture(kernel), &dir);
    let text = bpftool_dump(&bpftool, &raw, None);
    let dump = Dump::new(&text);
    // The reader opens the compressed fixture itself.
    let btf = Btf::open(&kernel_fixture(kernel)).expect("open BTF");

    assert_eq!(dump.first, 1);
    assert_eq!(btf.len(), dump.blocks.len(), "{test}: number of types");
    let funcs = func_ids(&btf);
    assert_eq!(funcs.len(), dump.funcs(), "{test}: number of FUNCs");

    // (a) A sample of FUNCs spread over the id range, and every type their prototypes reach.
    let step = (funcs.len() / FUNC_SAMPLE).max(1);
    let sample: Vec<TypeId> = funcs
        .iter()
        .step_by(step)
        .take(FUNC_SAMPLE)
        .copied()
        .collect();
    let reached = reach(&btf, &sample);
    let chain = dump.compare(
        &btf,
        reached.iter().copied(),
        &format!("{test}: FUNC chains"),
    );

    // (b) The first and last 2000 types.
    let n = btf.len() as TypeId;
    let edges: BTreeSet<TypeId> = (1..=n.min(EDGE as TypeId))
        .chain(n.saturating_sub(EDGE as TypeId - 1).max(1)..=n)
        .collect();
    let edge = dump.compare(&btf, edges, &format!("{test}: first and last {EDGE}"));

    // (c) And, since it is cheap, every type.
    let all = dump.compare(&btf, 1..=n, &format!("{test}: all types"));
    // The whole text too (the newline after each type).
    assert!(btf.dump_raw_all() == text, "{test}: whole dump");

    eprintln!(
        "{test}: {} types ({} FUNC) match bpftool: {} FUNCs sampled reaching {chain} types, \
         {edge} at the ends, {all} in all",
        btf.len(),
        funcs.len(),
        sample.len()
    );
}

#[test]
fn kernel_6_1_matches_bpftool() {
    compare_kernel(KERNELS[0]);
}

#[test]
fn kernel_6_12_matches_bpftool() {
    compare_kernel(KERNELS[1]);
}

#[test]
fn kernel_6_18_matches_bpftool() {
    compare_kernel(KERNELS[2]);
}

// ---------------------------------------------------------------------------------------------
// A module's split BTF

#[test]
fn module_split_btf_matches_bpftool() {
    let test = "module sata_qstor";
    let Some(bpftool) = bpftool(test) else { return };
    let dir = TempDir::new("module");
    let base_raw = decompress(&kernel_fixture("6.1.0-56-amd64"), &dir);
    let base = base_61();
    for file in [module_ko(), module_raw()] {
        let text = bpftool_dump(&bpftool, &file, Some(&base_raw));
        let dump = Dump::new(&text);
        let module = Btf::open_split(&file, base.clone()).expect("open module BTF");
        assert_eq!(dump.first, module.first_id(), "{test}: first id");
        assert_eq!(
            module.next_id() - module.first_id(),
            dump.blocks.len() as TypeId,
            "{test}: number of types"
        );
        assert_eq!(
            func_ids(&module).len(),
            dump.funcs(),
            "{test}: number of FUNCs"
        );
        let n = dump.compare(
            &module,
            module.first_id()..module.next_id(),
            &format!("{test} ({})", file.display()),
        );
        assert_eq!(module.dump_raw_all(), text);
        eprintln!(
            "{test}: {n} types ({} FUNC) of {} match bpftool",
            dump.funcs(),
            file.display()
        );
    }
}

#[test]
fn module_split_ids_continue_after_the_base() {
    let base = base_61();
    let ko = Btf::open_split(&module_ko(), base.clone()).expect("open .ko");
    let raw = Btf::open_split(&module_raw(), base.clone()).expect("open raw split BTF");
    assert_eq!(base.len(), 100_750);
    for module in [&ko, &raw] {
        assert_eq!(module.first_id() as usize, base.len() + 1);
        assert_eq!(module.first_id(), 100_751);
        assert_eq!(module.len(), base.len() + 212);
        assert!(Arc::ptr_eq(module.base().expect("a base"), &base));
        assert_eq!(module.own_types().count(), 212);
        assert_eq!(module.own_types().next().map(|t| t.id), Some(100_751));
        // The first module type and one that refers to a base type.
        assert_eq!(
            module.dump_raw(100_751),
            "[100751] CONST '(anon)' type_id=26593"
        );
        assert_eq!(module.c_type(100_751), "const struct modversion_info");
        // Base types read through the module: same record, same names.
        for id in [1, 28, 26_593, 59_168, 100_750] {
            assert_eq!(module.dump_raw(id), base.dump_raw(id), "base type {id}");
            assert_eq!(module.c_type(id), base.c_type(id));
        }
        assert_eq!(module.ty(28).map(|t| t.name()), Some("int"));
        assert!(module.ty(module.next_id()).is_none());
        // A module function whose prototype uses base types.
        let f = func_named(module, "qs_ata_init_one").expect("qs_ata_init_one");
        assert!(f >= module.first_id());
        assert_eq!(
            module.c_prototype(f).as_deref(),
            Some("int qs_ata_init_one(struct pci_dev *pdev, const struct pci_device_id *ent)")
        );
        // Module-only struct, defined again in the module (SCSI is a module).
        let t = module.ty(100_754).expect("type 100754");
        assert_eq!((t.kind, t.name()), (Kind::Struct, "scsi_host_template"));
        assert_eq!(t.members().count(), 57);
    }
    // The .ko and the raw section read the same.
    assert_eq!(ko.dump_raw_all(), raw.dump_raw_all());
}

// ---------------------------------------------------------------------------------------------
// Known prototypes in C

/// (function, 6.1, 6.12, 6.18); `None` where the 6.1 text holds for the later kernels too.
const PROTOTYPES: &[(&str, &str, Option<&str>, Option<&str>)] = &[
    (
        "do_mkdirat",
        "int do_mkdirat(int dfd, struct filename *name, umode_t mode)",
        None,
        None,
    ),
    (
        "fd_install",
        "void fd_install(unsigned int fd, struct file *file)",
        None,
        None,
    ),
    (
        "tcp_connect",
        "int tcp_connect(struct sock *sk)",
        None,
        None,
    ),
    (
        "__x64_sys_openat",
        "long int __x64_sys_openat(const struct pt_regs *regs)",
        None,
        None,
    ),
    (
        "__sys_setresuid",
        "long int __sys_setresuid(uid_t ruid, uid_t euid, uid_t suid)",
        None,
        None,
    ),
    (
        "security_file_open",
        "int security_file_open(struct file *file)",
        None,
        None,
    ),
    (
        "bpf_lsm_file_open",
        "int bpf_lsm_file_open(struct file *file)",
        None,
        None,
    ),
    (
        "vfs_mkdir",
        "int vfs_mkdir(struct user_namespace *mnt_userns, struct inode *dir, \
         struct dentry *dentry, umode_t mode)",
        Some(
            "int vfs_mkdir(struct mnt_idmap *idmap, struct inode *dir, struct dentry *dentry, \
             umode_t mode)",
        ),
        Some(
            "struct dentry *vfs_mkdir(struct mnt_idmap *idmap, struct inode *dir, \
             struct dentry *dentry, umode_t mode)",
        ),
    ),
    (
        "do_sys_openat2",
        "long int do_sys_openat2(int dfd, const char *filename, struct open_how *how)",
        None,
        Some("int do_sys_openat2(int dfd, const char *filename, struct open_how *how)"),
    ),
];

#[test]
fn known_prototypes_render_in_c() {
    let mut bad = Vec::new();
    for (k, kernel) in KERNELS.iter().enumerate() {
        let btf = Btf::open(&kernel_fixture(kernel)).expect("open BTF");
        for &(name, v61, v612, v618) in PROTOTYPES {
            let want = match k {
                0 => v61,
                1 => v612.unwrap_or(v61),
                _ => v618.or(v612).unwrap_or(v61),
            };
            let id = func_named(&btf, name).unwrap_or_else(|| panic!("{kernel}: no FUNC {name}"));
            let got = btf.c_prototype(id).expect("a FUNC");
            if got != want {
                bad.push(format!("{kernel} {name}:\n  want {want}\n  got  {got}"));
            }
        }
        // Not functions: no prototype.
        assert_eq!(btf.c_prototype(21), None);
        assert_eq!(btf.c_prototype(0), None);
        assert_eq!(btf.c_prototype(btf.next_id()), None);
    }
    assert!(bad.is_empty(), "prototypes differ:\n{}", bad.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// A tiny BTF blob with every kind, built by hand

/// Builds raw BTF: a header, the type records, the strings.
struct Builder {
    types: Vec<u8>,
    strings: Vec<u8>,
    next: TypeId,
}

impl Builder {
    fn new() -> Builder {
        Builder {
            types: Vec::new(),
            strings: vec![0],
            next: 1,
        }
    }

    fn s(&mut self, name: impl AsRef<[u8]>) -> u32 {
        let name = name.as_ref();
        if name.is_empty() {
            return 0;
        }
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(name);
        self.strings.push(0);
        off
    }

    fn u32(&mut self, v: u32) {
        self.types.extend_from_slice(&v.to_le_bytes());
    }

    /// The 12-byte common record; returns the new type's id.
    fn ty(
        &mut self,
        name: impl AsRef<[u8]>,
        kind: u32,
        kflag: bool,
        vlen: u32,
        size_or_type: u32,
    ) -> TypeId {
        let name = self.s(name);
        self.u32(name);
        self.u32((kflag as u32) << 31 | kind << 24 | vlen);
        self.u32(size_or_type);
        self.next += 1;
        self.next - 1
    }

    /// A (name, a, b) item of a member, parameter or enumerator list.
    fn item(&mut self, name: impl AsRef<[u8]>, rest: &[u32]) {
        let name = self.s(name);
        self.u32(name);
        for &v in rest {
            self.u32(v);
        }
    }

    fn build(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xeb9fu16.to_le_bytes());
        out.push(1); // version
        out.push(0); // flags
        for v in [
            24,
            0,
            self.types.len() as u32,
            self.types.len() as u32,
            self.strings.len() as u32,
        ] {
            out.extend_from_slice(&u32::to_le_bytes(v));
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        out
    }
}

/// Raw BTF with at least one type of every kind and the unusual flavours the kernels lack:
/// bitfields with the kind flag, signed ENUM64, CHAR ints, global and extern FUNCs and VARs,
/// varargs, a DECL_TAG on a parameter.
fn tiny_btf() -> Vec<u8> {
    let mut b = Builder::new();
    let int = b.ty("int", 1, false, 0, 4); // [1]
    b.u32(1 << 24 | 32); // signed, 32 bits
    let char_ = b.ty("char", 1, false, 0, 1); // [2]
    b.u32(2 << 24 | 8);
    let bool_ = b.ty("_Bool", 1, false, 0, 1); // [3]
    b.u32(4 << 24 | 8);
    let ptr_char = b.ty("", 2, false, 0, char_); // [4] char *
    let const_char = b.ty("", 10, false, 0, char_); // [5] const char
    let ptr_const_char = b.ty("", 2, false, 0, const_char); // [6] const char *
    let arr = b.ty("", 3, false, 0, 0); // [7] int[4]
    b.u32(int);
    b.u32(int);
    b.u32(4);
    let s = b.ty("s", 4, true, 4, 16); // [8] struct s, bitfields
    b.item("a", &[int, 0]);
    b.item("flag", &[bool_, 1 << 24 | 32]);
    b.item("bits", &[int, 3 << 24 | 33]);
    b.item("", &[arr, 64]);
    let u = b.ty("u", 5, false, 2, 8); // [9] union u
    b.item("p", &[ptr_char, 0]);
    b.item("i", &[int, 0]);
    let e = b.ty("e", 6, true, 2, 4); // [10] signed enum
    b.item("NEG", &[(-5i32) as u32]);
    b.item("POS", &[7]);
    let e64 = b.ty("e64", 19, true, 2, 8); // [11] signed enum64
    b.item("BIG", &[0, 0x8000_0000]);
    b.item("ONE", &[1, 0]);
    let e64u = b.ty("", 19, false, 1, 8); // [12] unsigned enum64
    b.item("MAX", &[u32::MAX, u32::MAX]);
    let fwd = b.ty("fw", 7, true, 0, 0); // [13] union fw;
    let td = b.ty("myint", 8, false, 0, int); // [14] typedef int myint
    let vol = b.ty("", 9, false, 0, td); // [15] volatile myint
    let restrict = b.ty("", 11, false, 0, ptr_char); // [16] char *restrict
    let proto = b.ty("", 13, false, 3, int); // [17] int (const char *, myint, ...)
    b.item("fmt", &[ptr_const_char]);
    b.item("n", &[td]);
    b.item("", &[0]);
    let f_static = b.ty("f", 12, false, 0, proto); // [18]
    let f_global = b.ty("g", 12, false, 1, proto); // [19]
    let f_extern = b.ty("h", 12, false, 2, proto); // [20]
    let v_static = b.ty("vs", 14, false, 0, s); // [21]
    b.u32(0);
    let v_global = b.ty("vg", 14, false, 0, vol); // [22]
    b.u32(1);
    let v_extern = b.ty("ve", 14, false, 0, restrict); // [23]
    b.u32(2);
    let _sec = b.ty(".data", 15, false, 4, 40); // [24]
    for (v, off, size) in [
        (v_static, 0, 16),
        (v_global, 16, 4),
        (v_extern, 24, 8),
        (0, 32, 8),
    ] {
        b.u32(v);
        b.u32(off);
        b.u32(size);
    }
    let _flt = b.ty("double", 16, false, 0, 8); // [25]
    let _tag_decl = b.ty("bpf_kfunc", 17, false, 0, f_global); // [26]
    b.u32(u32::MAX); // component_idx -1
    let _tag_param = b.ty("nonnull", 17, false, 0, f_static); // [27]
    b.u32(1);
    let tt = b.ty("user", 18, false, 0, char_); // [28] char __user
    let ptr_tt = b.ty("", 2, false, 0, tt); // [29]
    let ptr_proto = b.ty("", 2, false, 0, proto); // [30] int (*)(...)
    let ptr_arr = b.ty("", 2, false, 0, arr); // [31] int (*)[4]
    let const_ptr = b.ty("", 10, false, 0, ptr_char); // [32] char *const
    let ptr_fwd = b.ty("", 2, false, 0, fwd); // [33]
    let void_proto = b.ty("", 13, false, 0, 0); // [34] void (void)
    let _f_void = b.ty("v", 12, false, 0, void_proto); // [35]
    let _ = (
        e, e64, e64u, u, f_extern, ptr_tt, ptr_proto, ptr_arr, const_ptr, ptr_fwd,
    );
    b.build()
}

/// The tiny blob's dump, as bpftool 7.1 prints it (checked against bpftool in
/// `tiny_blob_matches_bpftool`).
const TINY_DUMP: &str = "\
[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
[2] INT 'char' size=1 bits_offset=0 nr_bits=8 encoding=CHAR
[3] INT '_Bool' size=1 bits_offset=0 nr_bits=8 encoding=BOOL
[4] PTR '(anon)' type_id=2
[5] CONST '(anon)' type_id=2
[6] PTR '(anon)' type_id=5
[7] ARRAY '(anon)' type_id=1 index_type_id=1 nr_elems=4
[8] STRUCT 's' size=16 vlen=4
\t'a' type_id=1 bits_offset=0
\t'flag' type_id=3 bits_offset=32 bitfield_size=1
\t'bits' type_id=1 bits_offset=33 bitfield_size=3
\t'(anon)' type_id=7 bits_offset=64
[9] UNION 'u' size=8 vlen=2
\t'p' type_id=4 bits_offset=0
\t'i' type_id=1 bits_offset=0
[10] ENUM 'e' encoding=SIGNED size=4 vlen=2
\t'NEG' val=-5
\t'POS' val=7
[11] ENUM64 'e64' encoding=SIGNED size=8 vlen=2
\t'BIG' val=-9223372036854775808LL
\t'ONE' val=1LL
[12] ENUM64 '(anon)' encoding=UNSIGNED size=8 vlen=1
\t'MAX' val=18446744073709551615ULL
[13] FWD 'fw' fwd_kind=union
[14] TYPEDEF 'myint' type_id=1
[15] VOLATILE '(anon)' type_id=14
[16] RESTRICT '(anon)' type_id=4
[17] FUNC_PROTO '(anon)' ret_type_id=1 vlen=3
\t'fmt' type_id=6
\t'n' type_id=14
\t'(anon)' type_id=0
[18] FUNC 'f' type_id=17 linkage=static
[19] FUNC 'g' type_id=17 linkage=global
[20] FUNC 'h' type_id=17 linkage=extern
[21] VAR 'vs' type_id=8, linkage=static
[22] VAR 'vg' type_id=15, linkage=global
[23] VAR 've' type_id=16, linkage=extern
[24] DATASEC '.data' size=40 vlen=4
\ttype_id=21 offset=0 size=16 (VAR 'vs')
\ttype_id=22 offset=16 size=4 (VAR 'vg')
\ttype_id=23 offset=24 size=8 (VAR 've')
\ttype_id=0 offset=32 size=8 (UNKNOWN '(anon)')
[25] FLOAT 'double' size=8
[26] DECL_TAG 'bpf_kfunc' type_id=19 component_idx=-1
[27] DECL_TAG 'nonnull' type_id=18 component_idx=1
[28] TYPE_TAG 'user' type_id=2
[29] PTR '(anon)' type_id=28
[30] PTR '(anon)' type_id=17
[31] PTR '(anon)' type_id=7
[32] CONST '(anon)' type_id=4
[33] PTR '(anon)' type_id=13
[34] FUNC_PROTO '(anon)' ret_type_id=0 vlen=0
[35] FUNC 'v' type_id=34 linkage=static
";

#[test]
fn tiny_blob_dumps_and_renders() {
    let btf = Btf::parse(tiny_btf(), None).expect("parse the tiny blob");
    assert_eq!(btf.len(), 35);
    assert_eq!(btf.dump_raw_all(), TINY_DUMP);
    assert_eq!(btf.dump_raw(0), "[0] UNKNOWN '(anon)'");
    assert_eq!(btf.dump_raw(36), "[36] <no such type>");

    let s = btf.ty(8).expect("struct s");
    let m: Vec<(&str, u32, u32)> = s
        .members()
        .map(|m| (m.name, m.offset, m.bitfield_size))
        .collect();
    assert_eq!(
        m,
        [("a", 0, 0), ("flag", 32, 1), ("bits", 33, 3), ("", 64, 0)]
    );
    let values: Vec<i128> = btf
        .ty(10)
        .expect("e")
        .enumerators()
        .iter()
        .map(|e| e.value)
        .collect();
    assert_eq!(values, [-5, 7]);
    let values: Vec<i128> = btf
        .ty(11)
        .expect("e64")
        .enumerators()
        .iter()
        .map(|e| e.value)
        .collect();
    assert_eq!(values, [i64::MIN as i128, 1]);
    let values: Vec<i128> = btf
        .ty(12)
        .expect("enum64")
        .enumerators()
        .iter()
        .map(|e| e.value)
        .collect();
    assert_eq!(values, [u64::MAX as i128]);
    assert_eq!(btf.ty(27).expect("decl tag").component_idx(), 1);
    assert_eq!(btf.ty(26).expect("decl tag").component_idx(), -1);
    assert_eq!(btf.ty(19).expect("g").linkage(), 1);
    assert_eq!(btf.ty(23).expect("ve").linkage(), 2);
    assert_eq!(btf.skip_aliases(15).map(|t| t.id), Some(1));
    assert_eq!(btf.skip_qualifiers(15).map(|t| t.id), Some(14));

    let c = |id: TypeId| btf.c_type(id);
    assert_eq!(c(4), "char *");
    assert_eq!(c(6), "const char *");
    assert_eq!(c(7), "int [4]");
    assert_eq!(c(13), "union fw");
    assert_eq!(c(15), "volatile myint");
    assert_eq!(c(16), "char *restrict");
    assert_eq!(c(17), "int (const char *fmt, myint n, ...)");
    assert_eq!(c(29), "char *");
    assert_eq!(c(30), "int (*)(const char *fmt, myint n, ...)");
    assert_eq!(c(31), "int (*)[4]");
    assert_eq!(c(32), "char *const");
    assert_eq!(btf.c_decl(31, "p"), "int (*p)[4]");
    assert_eq!(btf.c_decl(32, "p"), "char *const p");
    assert_eq!(btf.c_decl(12, "x"), "enum {...} x");
    assert_eq!(
        btf.c_prototype(18).as_deref(),
        Some("int f(const char *fmt, myint n, ...)")
    );
    assert_eq!(btf.c_prototype(35).as_deref(), Some("void v(void)"));
}

#[test]
fn tiny_blob_matches_bpftool() {
    let Some(bpftool) = bpftool("tiny blob") else {
        return;
    };
    let dir = TempDir::new("tiny");
    let raw = dir.path("tiny.btf");
    std::fs::write(&raw, tiny_btf()).expect("write");
    assert_eq!(bpftool_dump(&bpftool, &raw, None), TINY_DUMP);
    // The same blob inside an ELF object, read by libbpf and by us.
    let elf = dir.path("tiny.o");
    std::fs::write(&elf, elf64(&[(".text", &[0xc3]), (".BTF", &tiny_btf())])).expect("write");
    assert_eq!(bpftool_dump(&bpftool, &elf, None), TINY_DUMP);
    assert_eq!(Btf::open(&elf).expect("open ELF").dump_raw_all(), TINY_DUMP);
}

// ---------------------------------------------------------------------------------------------
// Hand-made ELF objects

/// An ELF64 (little-endian, x86-64, relocatable) file holding `sections`.
fn elf64(sections: &[(&str, &[u8])]) -> Vec<u8> {
    elf(true, sections)
}

/// The same as ELF32 (i386).
fn elf32(sections: &[(&str, &[u8])]) -> Vec<u8> {
    elf(false, sections)
}

fn elf(class64: bool, sections: &[(&str, &[u8])]) -> Vec<u8> {
    let (ehsize, shentsize) = if class64 { (64, 64) } else { (52, 40) };
    let mut names = vec![0u8];
    let mut out = vec![0u8; ehsize];
    // (name offset, type, data offset, size) per section; index 0 is the null section.
    let mut headers = vec![(0usize, 0u32, 0usize, 0usize)];
    for (name, data) in sections {
        let name_off = names.len();
        names.extend_from_slice(name.as_bytes());
        names.push(0);
        headers.push((name_off, 1, out.len(), data.len())); // SHT_PROGBITS
        out.extend_from_slice(data);
    }
    let shstr_name = names.len();
    names.extend_from_slice(b".shstrtab\0");
    headers.push((shstr_name, 3, out.len(), names.len())); // SHT_STRTAB
    out.extend_from_slice(&names);
    while out.len() % 8 != 0 {
        out.push(0);
    }
    let shoff = out.len();
    for &(name, kind, off, size) in &headers {
        let mut h = Vec::new();
        h.extend_from_slice(&(name as u32).to_le_bytes());
        h.extend_from_slice(&kind.to_le_bytes());
        let word = |h: &mut Vec<u8>, v: usize| {
            if class64 {
                h.extend_from_slice(&(v as u64).to_le_bytes());
            } else {
                h.extend_from_slice(&(v as u32).to_le_bytes());
            }
        };
        word(&mut h, 0); // flags
        word(&mut h, 0); // addr
        word(&mut h, off);
        word(&mut h, size);
        h.extend_from_slice(&0u32.to_le_bytes()); // link
        h.extend_from_slice(&0u32.to_le_bytes()); // info
        word(&mut h, 1); // addralign
        word(&mut h, 0); // entsize
        assert_eq!(h.len(), shentsize);
        out.extend_from_slice(&h);
    }
    let e = &mut out[..ehsize];
    e[..4].copy_from_slice(b"\x7fELF");
    e[4] = if class64 { 2 } else { 1 };
    e[5] = 1; // little-endian
    e[6] = 1; // version
    e[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
    let machine: u16 = if class64 { 62 } else { 3 };
    e[18..20].copy_from_slice(&machine.to_le_bytes());
    e[20..24].copy_from_slice(&1u32.to_le_bytes());
    let (shoff_at, rest_at) = if class64 { (0x28, 0x34) } else { (0x20, 0x28) };
    if class64 {
        e[shoff_at..shoff_at + 8].copy_from_slice(&(shoff as u64).to_le_bytes());
    } else {
        e[shoff_at..shoff_at + 4].copy_from_slice(&(shoff as u32).to_le_bytes());
    }
    // e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
    let n = headers.len() as u16;
    for (i, v) in [ehsize as u16, 0, 0, shentsize as u16, n, n - 1]
        .into_iter()
        .enumerate()
    {
        e[rest_at + 2 * i..rest_at + 2 * i + 2].copy_from_slice(&v.to_le_bytes());
    }
    out
}

#[test]
fn elf_input_finds_the_btf_section() {
    let blob = tiny_btf();
    for file in [
        elf64(&[
            (".text", &[0x90; 5]),
            (".BTF", &blob),
            (".BTF.ext", &[0; 8]),
        ]),
        elf32(&[(".BTF.ext", &[0; 8]), (".BTF", &blob)]),
    ] {
        let btf = Btf::parse(file, None).expect("parse ELF");
        assert_eq!(btf.dump_raw_all(), TINY_DUMP);
    }
    // Extended section numbering: e_shnum 0 and e_shstrndx 0xffff, the real values in section
    // 0's sh_size and sh_link.
    let mut ext = elf64(&[(".text", &[0x90; 5]), (".BTF", &blob)]);
    let shoff = u64::from_le_bytes(ext[0x28..0x30].try_into().expect("8 bytes")) as usize;
    let shnum = u16::from_le_bytes([ext[0x3c], ext[0x3d]]);
    ext[0x3c..0x40].copy_from_slice(&[0, 0, 0xff, 0xff]);
    ext[shoff + 0x20..shoff + 0x28].copy_from_slice(&u64::from(shnum).to_le_bytes());
    ext[shoff + 0x28..shoff + 0x2c].copy_from_slice(&u32::from(shnum - 1).to_le_bytes());
    let btf = Btf::parse(ext, None).expect("parse ELF with extended numbering");
    assert_eq!(btf.dump_raw_all(), TINY_DUMP);
    // A .ko from the fixtures: its own BTF, split on vmlinux.
    let ko = std::fs::read(module_ko()).expect("read .ko");
    let btf = Btf::parse(ko, Some(base_61())).expect("parse .ko");
    assert_eq!(btf.first_id(), 100_751);
}

// ---------------------------------------------------------------------------------------------
// Bad input

fn parse_err(bytes: Vec<u8>) -> BtfError {
    Btf::parse(bytes, None).expect_err("an error")
}

#[test]
fn bad_input_gives_errors() {
    // Empty, through a file and from memory.
    let dir = TempDir::new("bad");
    let empty = dir.path("empty");
    std::fs::write(&empty, b"").expect("write");
    let e = Btf::open(&empty).expect_err("empty file");
    assert!(matches!(e, BtfError::NotBtf(_)), "{e:?}");
    assert_eq!(e.to_string(), "0 bytes is too short for a BTF header");
    assert_eq!(
        parse_err(Vec::new()).to_string(),
        "0 bytes is too short for a BTF header"
    );
    // Missing file.
    let e = Btf::open(&dir.path("missing")).expect_err("missing file");
    assert!(matches!(e, BtfError::Io(_)), "{e:?}");

    // Wrong magic.
    let e = parse_err(b"this is not BTF, not even close".to_vec());
    assert!(matches!(e, BtfError::NotBtf(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "not BTF: the file starts with 74 68, not the BTF magic 9f eb (nor zstd or ELF)"
    );

    // Big-endian BTF (the magic byte-swapped).
    let mut be = tiny_btf();
    be[0..2].copy_from_slice(&[0xeb, 0x9f]);
    let e = parse_err(be);
    assert!(matches!(e, BtfError::NotBtf(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "big-endian BTF is not supported (only little-endian kernels)"
    );

    // zstd magic, then garbage; and a valid zstd frame cut short.
    let e = parse_err(vec![0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert!(matches!(e, BtfError::NotBtf(_)), "{e:?}");
    assert!(e.to_string().starts_with("broken zstd data: "), "{e}");
    let mut z = zstd::stream::encode_all(&tiny_btf()[..], 3).expect("compress");
    assert_eq!(
        Btf::parse(z.clone(), None).expect("zstd").dump_raw_all(),
        TINY_DUMP
    );
    z.truncate(z.len() / 2);
    let e = parse_err(z);
    assert!(e.to_string().starts_with("broken zstd data: "), "{e}");

    // ELF without .BTF.
    let e = parse_err(elf64(&[(".text", &[0xc3])]));
    assert!(matches!(e, BtfError::NotBtf(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "ELF file: no .BTF section (was it built with CONFIG_DEBUG_INFO_BTF or `clang -g`?)"
    );
    // Compressed modules.
    let mut xz = b"\xfd7zXZ\0".to_vec();
    xz.resize(64, 0);
    assert_eq!(
        parse_err(xz).to_string(),
        "not BTF: the file is xz-compressed (a `.ko.xz` module?); decompress it first"
    );
    // A truncated ELF header; big-endian ELF.
    let e = parse_err(b"\x7fELF\x02\x01\x01".to_vec());
    assert_eq!(e.to_string(), "ELF file: truncated header");
    let mut elf_be = elf64(&[(".BTF", &tiny_btf())]);
    elf_be[5] = 2;
    assert_eq!(
        parse_err(elf_be).to_string(),
        "ELF file: big-endian ELF is not supported"
    );

    // Broken BTF: version, header length, sections, records, strings.
    let mut v2 = tiny_btf();
    v2[2] = 2;
    let e = parse_err(v2);
    assert!(matches!(e, BtfError::Malformed(_)), "{e:?}");
    assert_eq!(e.to_string(), "BTF version 2 is not supported (only 1)");
    let blob = tiny_btf();
    let e = parse_err(blob[..blob.len() - 10].to_vec());
    assert_eq!(e.to_string(), "the string section lies outside the file");
    let mut cut = blob.clone();
    cut[12..16].copy_from_slice(&(5u32).to_le_bytes()); // type_len: 5 bytes
    let e = parse_err(cut);
    assert_eq!(
        e.to_string(),
        "type [1] is cut off at the end of the type section"
    );
    let mut kind = blob.clone();
    kind[24 + 7] = 20; // kind 20 of type [1]
    assert_eq!(
        parse_err(kind).to_string(),
        "type [1] has kind 20, which this reader does not know"
    );
    let mut nul = blob.clone();
    let last = nul.len() - 1;
    nul[last] = b'x';
    assert_eq!(
        parse_err(nul).to_string(),
        "the string section does not end with a NUL byte"
    );
}

// ---------------------------------------------------------------------------------------------
// Robustness: mutated and truncated input never panics

/// Keep a value alive, so that computing it is not optimized away.
fn keep<T>(value: T) {
    std::hint::black_box(value);
}

/// Exercise everything a caller can do with a parsed Btf.
fn exercise(btf: &Btf) {
    let mut seen = 0usize;
    let last = btf.next_id();
    for id in btf.first_id()..last {
        let Some(t) = btf.ty(id) else { continue };
        seen += 1;
        keep((t.name(), t.vlen(), t.kind_flag(), t.size(), t.type_id()));
        keep((
            t.int_info(),
            t.array(),
            t.linkage(),
            t.is_signed(),
            t.component_idx(),
        ));
        t.members()
            .for_each(|m| keep((m.name, m.type_id, m.offset, m.bitfield_size)));
        t.params().for_each(|p| keep((p.name, p.type_id)));
        keep(t.enumerators());
        keep(t.datasec_vars().count());
        keep((format!("{t:?}"), t.btf().len()));
        keep(btf.dump_raw(id));
        keep((btf.c_decl(id, "x"), btf.c_type(id), btf.c_prototype(id)));
        keep((btf.skip_aliases(id), btf.skip_qualifiers(id)));
        // The id the record refers to, followed.
        keep(btf.c_type(t.type_id()));
    }
    assert_eq!(seen, btf.own_types().count());
    assert_eq!(btf.own_kinds().count(), seen);
    for id in [0, last, last.saturating_add(1), u32::MAX] {
        keep((
            btf.dump_raw(id),
            btf.c_type(id),
            btf.ty(id).map(|t| t.name()),
        ));
    }
    keep((
        btf.str_at(u32::MAX),
        btf.bytes_at(u32::MAX - 1),
        btf.len(),
        btf.is_empty(),
    ));
    keep(btf.dump_raw_all());
}

/// Policies that reach every kernel check: syscall kprobes (one that exists nowhere, so the
/// syscall names are searched for a suggestion), a kprobe with args, an LSM hook, tracepoints.
const KERNEL_POLICY: &str = "\
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: k
spec:
  kprobes:
  - call: sys_close
    syscall: true
  - call: sys_openat
    syscall: true
    args:
    - index: 1
      type: string
  - call: do_sys_openat2
    syscall: false
    args:
    - index: 0
      type: int
    - index: 1
      type: string
      resolve: name
  lsmhooks:
  - hook: file_open
    args:
    - index: 0
      type: file
  tracepoints:
  - subsystem: syscalls
    event: sys_enter_openat
  - subsystem: sched
    event: sched_process_exec
";

/// Index a BTF as a kernel and ask it everything: every accessor, search and derived list, and
/// a policy's kernel checks. Every name it gives back is a real, non-empty name.
fn exercise_kernel(btf: Arc<Btf>) {
    let k = Arc::new(Kernel::from_btf("fuzz", btf));
    keep((k.func_count(), k.arch, k.tracepoint_events().len()));
    let syscalls: Vec<String> = k.syscall_names().iter().map(|s| s.to_string()).collect();
    let funcs: Vec<String> = k.func_names().map(str::to_string).collect();
    assert!(
        funcs.iter().all(|n| !n.is_empty()),
        "an empty function name"
    );
    assert!(funcs.windows(2).all(|w| w[0] <= w[1]), "names not sorted");
    for pattern in [
        "*",
        "__x64_sys_*",
        "?",
        "bpf_lsm_*",
        "do_*",
        "",
        "sys",
        "*a*b*",
    ] {
        keep(k.search_funcs(pattern));
        keep(k.funcs_with_prefix(pattern).count());
    }
    keep((k.lsm_hooks().len(), k.lsm_source().len()));
    for name in funcs.iter().step_by((funcs.len() / 40).max(1)) {
        let f = k.func(name);
        keep(f.map(|f| (f.name(), f.params(), f.ret(), f.c_prototype())));
        keep(k.module_of(name));
    }
    for ev in k.tracepoint_events().iter().take(20) {
        keep((k.tracepoint("sched", ev), k.raw_tracepoint_args(ev)));
    }
    for bare in syscalls.iter().take(20) {
        keep(k.syscall(bare).map(|f| f.c_prototype()));
        keep(k.tracepoint("syscalls", &format!("sys_enter_{bare}")));
    }
    keep((
        k.struct_named("task_struct").map(|t| t.members().count()),
        k.typedef_named("umode_t").map(|t| t.type_id()),
        k.lsm_hook("file_open").map(|f| f.c_prototype()),
        k.module_names(),
    ));
    let report = check_source_with(SourceFile::new("k.yaml", KERNEL_POLICY), &[k]);
    keep(report.diagnostics.len());
}

/// A kernel whose function names are not UTF-8 (one of them a syscall stub): `syscall_names`
/// once sliced the `""` read for such a name by the prefix's length and panicked, which
/// `check_all` then hid as a pass. Such names are not indexed; everything else works.
#[test]
fn names_that_are_not_utf8_are_not_indexed() {
    let mut b = Builder::new();
    let int = b.ty("int", 1, false, 0, 4);
    b.u32(1 << 24 | 32);
    let proto = b.ty("", 13, false, 1, int);
    b.item("fd", &[int]);
    let names: [&[u8]; 7] = [
        b"__x64_sys_read",
        b"__x64_sys_write",
        b"__x64_sys_\xff\xfe",
        b"__x64_sys_op\xc3enat",
        b"bpf_lsm_\xff",
        b"\xff",
        b"do_\xe2\x82",
    ];
    for name in names {
        b.ty(name, 12, false, 1, proto);
    }
    let btf = Arc::new(Btf::parse(b.build(), None).expect("parse"));
    let k = Kernel::from_btf("bad-names", btf.clone());
    assert_eq!(k.func_count(), 2);
    assert_eq!(k.syscall_names(), ["read", "write"]);
    assert_eq!(
        k.func_names().collect::<Vec<_>>(),
        ["__x64_sys_read", "__x64_sys_write"]
    );
    assert_eq!(k.search_funcs("*"), ["__x64_sys_read", "__x64_sys_write"]);
    assert!(k.syscall("read").is_some());
    assert!(k.lsm_hooks().is_empty());
    exercise_kernel(btf);
    // Through the checks: `sys_close` does not exist, so K001 looks for a suggestion among the
    // syscall names.
    let report = check_source_with(SourceFile::new("k.yaml", KERNEL_POLICY), &[Arc::new(k)]);
    assert!(
        report.diagnostics.iter().any(|d| d.code.as_str() == "K001"),
        "{:#?}",
        report.diagnostics
    );
}

/// A string section of 1 MiB with no NUL but the last: each name ran to the end of the section,
/// and indexing 80,000 functions took 91 s. Names are read up to `MAX_NAME_LEN` bytes; a longer
/// one reads as absent.
#[test]
fn strings_without_nul_are_read_in_linear_time() {
    let mut b = Builder::new();
    let int = b.ty("int", 1, false, 0, 4);
    b.u32(1 << 24 | 32);
    let proto = b.ty("", 13, false, 0, int);
    let long_start = b.strings.len() as u32;
    b.strings.extend(std::iter::repeat_n(b'a', 1 << 20));
    b.strings.push(0);
    let n = 80_000u32;
    for i in 0..n {
        // Offsets spread over the long string, the last few within MAX_NAME_LEN of its end.
        let off = long_start + (i * 13) % (1 << 20);
        b.u32(off);
        b.u32(12 << 24);
        b.u32(proto);
        b.next += 1;
    }
    let edge = b.s("x".repeat(MAX_NAME_LEN));
    let too_long = b.s("y".repeat(MAX_NAME_LEN + 1));
    b.ty("", 12, false, 0, proto);
    let start = std::time::Instant::now();
    let btf = Arc::new(Btf::parse(b.build(), None).expect("parse"));
    assert_eq!(btf.bytes_at(edge).len(), MAX_NAME_LEN);
    assert_eq!(btf.str_at(too_long), "");
    assert_eq!(btf.bytes_at(long_start + (1 << 20) - 10), b"aaaaaaaaaa");
    let k = Kernel::from_btf("long-names", btf.clone());
    // Only the names that end within MAX_NAME_LEN bytes of the NUL are names.
    assert!(k.func_count() <= MAX_NAME_LEN, "{}", k.func_count());
    exercise_kernel(btf.clone());
    keep(btf.dump_raw_all().len());
    assert!(
        start.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

/// A change to the input.
#[derive(Clone, Debug)]
enum Mutation {
    /// Set the byte at (index modulo length).
    Byte(usize, u8),
    /// Set the aligned 32-bit word at (index modulo words) to an interesting value.
    Word(usize, u32),
    /// Cut the input at (index modulo length).
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let word = prop_oneof![
        Just(0u32),
        Just(1),
        Just(u32::MAX),
        Just(0x8000_0000),
        0u32..64,
        100_740u32..100_970,
        (0u32..20, 0u32..8, any::<bool>())
            .prop_map(|(kind, vlen, kf)| (kf as u32) << 31 | kind << 24 | vlen),
        any::<u32>(),
    ];
    prop_oneof![
        3 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Byte(i, b)),
        3 => (any::<usize>(), word).prop_map(|(i, w)| Mutation::Word(i, w)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation], skip: usize) -> Vec<u8> {
    for m in mutations {
        if bytes.len() <= skip {
            break;
        }
        let len = bytes.len() - skip;
        match *m {
            Mutation::Byte(i, b) => bytes[skip + i % len] = b,
            Mutation::Word(i, w) if len >= 4 => {
                let at = skip + (i % (len / 4)) * 4;
                bytes[at..at + 4].copy_from_slice(&w.to_le_bytes());
            }
            Mutation::Word(..) => {}
            Mutation::Truncate(i) => bytes.truncate(skip + i % len),
        }
    }
    bytes
}

/// Inputs to mutate: (bytes, bytes at the start left alone, split on the 6.1 base).
fn seeds() -> &'static [(Vec<u8>, usize, bool)] {
    static SEEDS: OnceLock<Vec<(Vec<u8>, usize, bool)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let tiny = tiny_btf();
        let module = std::fs::read(module_raw()).expect("read module BTF");
        let elf = elf64(&[(".text", &[0xc3]), (".BTF", &tiny)]);
        let elf_32 = elf32(&[(".BTF", &tiny)]);
        let zst = zstd::stream::encode_all(&tiny[..], 1).expect("compress");
        vec![
            (tiny.clone(), 0, false),
            // Keep the magic so the BTF parser, not the magic check, sees the mutation.
            (tiny, 4, false),
            (module.clone(), 0, true),
            (module, 4, true),
            (elf.clone(), 0, false),
            (elf, 4, false),
            (elf_32, 4, false),
            (zst, 4, false),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        // PROPTEST_CASES=100000 (with --release) for a longer hunt.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(400),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_btf_never_panics(
        seed in 0usize..8,
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let (bytes, skip, split) = &seeds()[seed];
        let input = mutate(bytes.clone(), &mutations, *skip);
        let base = split.then(base_61);
        if let Ok(btf) = Btf::parse(input, base) {
            exercise(&btf);
            exercise_kernel(Arc::new(btf));
        }
    }

    #[test]
    fn truncated_btf_never_panics(seed in 0usize..8, at in any::<usize>()) {
        let (bytes, _, split) = &seeds()[seed];
        let input = bytes[..at % (bytes.len() + 1)].to_vec();
        let base = split.then(base_61);
        if let Ok(btf) = Btf::parse(input, base) {
            exercise(&btf);
            exercise_kernel(Arc::new(btf));
        }
    }
}

/// The 6.1 vmlinux, decompressed once: the real BTF the kernel index is mutated on.
fn vmlinux_61() -> &'static [u8] {
    static RAW: OnceLock<Vec<u8>> = OnceLock::new();
    RAW.get_or_init(|| {
        let packed = std::fs::read(kernel_fixture("6.1.0-56-amd64")).expect("read 6.1 BTF");
        zstd::stream::decode_all(&packed[..]).expect("decompress")
    })
}

/// Set each of `words` 32-bit words of the string and type sections to an interesting value:
/// names (offsets, UTF-8), kinds, vlens and type ids of a real kernel. Everything the checks
/// read passes through the mutated records.
fn mutate_real(mut bytes: Vec<u8>, words: &[(usize, u32)], bytes_at: &[(usize, u8)]) -> Vec<u8> {
    let len = bytes.len() - 24;
    for &(i, w) in words {
        let at = 24 + (i % (len / 4)) * 4;
        bytes[at..at + 4].copy_from_slice(&w.to_le_bytes());
    }
    for &(i, b) in bytes_at {
        bytes[24 + i % len] = b;
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig {
        // Each case indexes a whole kernel (~0.1 s); PROPTEST_CASES raises it with the others.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(24),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// A real vmlinux with hundreds of words and bytes changed: the index, every kernel
    /// accessor and the kernel checks never panic.
    #[test]
    fn mutated_vmlinux_never_panics(
        words in prop::collection::vec((any::<usize>(), prop_oneof![
            Just(0u32), Just(u32::MAX), 0u32..64, any::<u32>(),
            (0u32..20, 0u32..8).prop_map(|(kind, vlen)| kind << 24 | vlen),
        ]), 1..400),
        bytes in prop::collection::vec((any::<usize>(), prop_oneof![Just(0u8), Just(0xffu8), any::<u8>()]), 0..400),
    ) {
        let input = mutate_real(vmlinux_61().to_vec(), &words, &bytes);
        if let Ok(btf) = Btf::parse(input, None) {
            exercise_kernel(Arc::new(btf));
        }
    }
}

/// A prototype whose parameters are pointers to itself: rendering must stay bounded (it once
/// expanded about vlen^16 times, 8^16 here: a hang).
#[test]
fn self_referencing_prototype_renders_quickly() {
    let mut b = Builder::new();
    b.ty("", 13, false, 8, 2); // [1] a prototype returning [2], with 8 parameters of type [2]
    for i in 0..8 {
        b.item(format!("p{i}"), &[2]);
    }
    b.ty("", 2, false, 0, 1); // [2] a pointer to [1]
    b.ty("f", 12, false, 0, 1); // [3] a function of type [1]
    let btf = Btf::parse(b.build(), None).expect("parse");
    let start = std::time::Instant::now();
    let text = btf.c_prototype(3).expect("a prototype");
    assert!(text.contains("..."), "{text}");
    assert!(text.len() < 1 << 20, "{} bytes", text.len());
    exercise(&btf);
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}
