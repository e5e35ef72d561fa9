//! A VM harness for the tests that need a real kernel: boots Debian's kernel in qemu (TCG, no
//! KVM needed) with a busybox initramfs holding the files a test adds, runs the test's shell
//! scenarios in order inside that one boot, and returns each scenario's output and exit code.
//!
//! The VM tests are modules of one test binary (`tests/vm/main.rs`, which declares this module
//! and `skip` once); a bench includes it with `#[path]`.
//!
//! ```ignore
//! use crate::vm;
//!
//! let Some(vm) = vm::Vm::builder("my_test") else { return }; // skipped (fails under CI)
//! let run = vm
//!     .binary_with_libs(env!("CARGO_BIN_EXE_policyctl"), "/usr/bin/policyctl")
//!     .scenario("version", "policyctl --version")
//!     .run();
//! assert!(run.ok("version").contains("policyctl"));
//! ```
//!
//! What it needs: `qemu-system-x86_64`, `busybox` (static), `cpio`, `dpkg-deb` and `tar` on PATH,
//! and the kernel package of the chosen [`VmKernel`]: `$POLICYCTL_VM_KERNEL_DEB` (6.12, the
//! default) or `$POLICYCTL_VM_KERNEL_DEB_6_1`, or else that package's file in `target/vm/debs/`
//! (`apt-get download linux-image-6.12.117+deb12-amd64-unsigned
//! linux-image-6.1.0-56-amd64-unsigned` there; `.ci/run` does). Without them a test prints
//! `SKIPPED: ...` and returns, and fails when `CI` is set. Everything is built under
//! `target/vm/`: the kernel is extracted once to `target/vm/kernels/`, and each run stages its
//! initramfs in `target/vm/runs/<name>/`, which is removed after a successful run unless
//! `POLICYCTL_VM_KEEP=1`; then it stays, with `shell.sh` to boot it by hand with a console shell.
//! A failed run always stays.
//!
//! The guest (`tests/vm/init.sh`) mounts proc, sysfs, devtmpfs, tracefs, debugfs, securityfs,
//! bpffs, cgroup2, tmpfs on /tmp and /run, brings `lo` up, and runs each scenario with `sh -c`
//! from `/`, stdin `/dev/null`, under a per-scenario timeout (killed: rc 137). Scenarios share the
//! VM: files and background processes of one are seen by the next. A scenario's output is its
//! stdout and stderr together, as written (a killed one's ends with the shell's `Killed`). The
//! reports travel on the second serial port, apart from the kernel's console messages; both logs
//! are in [`VmRun`] and in the run directory (`channel.log`, `console.log`). The kernel's
//! `/boot/config-*` is extracted next to it, for checking what the kernel was built with.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `/init` template.
const INIT: &str = include_str!("../vm/init.sh");
/// The kernel package `.ci/run` downloads into `target/vm/debs/` for [`VmKernel::Debian6_12`].
pub const KERNEL_PACKAGE: &str = "linux-image-6.12.117+deb12-amd64-unsigned";
/// The kernel package `.ci/run` downloads into `target/vm/debs/` for [`VmKernel::Debian6_1`].
pub const KERNEL_PACKAGE_6_1: &str = "linux-image-6.1.0-56-amd64-unsigned";

/// The kernel package `.ci/run` downloads into `target/vm/debs/` for [`VmKernel::Ubuntu6_8`]
/// (from Ubuntu 24.04's release pocket, checked against its SHA-256).
pub const KERNEL_PACKAGE_UBUNTU: &str = "linux-image-unsigned-6.8.0-31-generic";
/// Ubuntu 26.04's first kernel (7.0, its release pocket, which never changes): its verifier
/// lets a uprobe program write the probed thread's registers, which Override on uprobes needs
/// (this host's 6.18 and Debian's 6.12 and 6.1 refuse it).
pub const KERNEL_PACKAGE_UBUNTU_7_0: &str = "linux-image-unsigned-7.0.0-14-generic";

/// The kernels a VM can boot: the two Debian kernels whose BTF the fixtures hold
/// (`testdata/btf/6.12.117+deb12-amd64`, `testdata/btf/6.1.0-56-amd64`), and Ubuntu's for
/// what Debian's kernels lack: error injection (`CONFIG_FUNCTION_ERROR_INJECTION`) and
/// `bpf_override_return` (`CONFIG_BPF_KPROBE_OVERRIDE`) on 6.8, uprobe programs that may
/// write their registers on 7.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmKernel {
    /// Debian 12's backported 6.12 (`KERNEL_PACKAGE`); the default.
    Debian6_12,
    /// Debian 12's own 6.1 (`KERNEL_PACKAGE_6_1`).
    Debian6_1,
    /// Ubuntu 24.04's 6.8 (`KERNEL_PACKAGE_UBUNTU`).
    Ubuntu6_8,
    /// Ubuntu 26.04's 7.0 (`KERNEL_PACKAGE_UBUNTU_7_0`).
    Ubuntu7_0,
}

impl VmKernel {
    /// Both kernels, for a test that runs its scenarios on each.
    pub const ALL: [VmKernel; 2] = [VmKernel::Debian6_12, VmKernel::Debian6_1];

    /// The package `.ci/run` downloads.
    pub fn package(self) -> &'static str {
        match self {
            VmKernel::Debian6_12 => KERNEL_PACKAGE,
            VmKernel::Debian6_1 => KERNEL_PACKAGE_6_1,
            VmKernel::Ubuntu6_8 => KERNEL_PACKAGE_UBUNTU,
            VmKernel::Ubuntu7_0 => KERNEL_PACKAGE_UBUNTU_7_0,
        }
    }

    /// The variable that names the package file, overriding the search of `target/vm/debs/`.
    pub fn env(self) -> &'static str {
        match self {
            VmKernel::Debian6_12 => "POLICYCTL_VM_KERNEL_DEB",
            VmKernel::Debian6_1 => "POLICYCTL_VM_KERNEL_DEB_6_1",
            VmKernel::Ubuntu6_8 => "POLICYCTL_VM_KERNEL_DEB_UBUNTU",
            VmKernel::Ubuntu7_0 => "POLICYCTL_VM_KERNEL_DEB_UBUNTU_7_0",
        }
    }

    /// A short name for run directories and messages: `6.12`, `6.1`.
    pub fn short(self) -> &'static str {
        match self {
            VmKernel::Debian6_12 => "6.12",
            VmKernel::Debian6_1 => "6.1",
            VmKernel::Ubuntu6_8 => "ubuntu-6.8",
            VmKernel::Ubuntu7_0 => "ubuntu-7.0",
        }
    }
}
/// Kernel command line; `lsm=` enables the BPF LSM.
const APPEND: &str = "console=ttyS0 quiet panic=-1 lsm=lockdown,capability,landlock,bpf";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `target/vm/` of this checkout.
pub fn vm_dir() -> PathBuf {
    root().join("target").join("vm")
}

fn keep() -> bool {
    std::env::var_os("POLICYCTL_VM_KEEP").is_some_and(|v| !v.is_empty() && v != "0")
}

/// A tool's path on PATH.
fn which(tool: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// The kernel package to boot, or why there is none.
pub fn kernel_deb(which: VmKernel) -> Result<PathBuf, String> {
    if let Some(deb) = std::env::var_os(which.env()) {
        let deb = PathBuf::from(deb);
        assert!(
            deb.is_file(),
            "{}={} is not a file",
            which.env(),
            deb.display()
        );
        return Ok(deb);
    }
    let package = which.package();
    let debs = vm_dir().join("debs");
    let mut found: Vec<PathBuf> = fs::read_dir(&debs)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{package}_")) && n.ends_with(".deb"))
        })
        .collect();
    found.sort();
    found.pop().ok_or_else(|| {
        // Ubuntu's come from its archive (the version `.ci/run` pins), Debian's from apt
        let ubuntu = match which {
            VmKernel::Ubuntu6_8 => Some("6.8.0-31.31"),
            VmKernel::Ubuntu7_0 => Some("7.0.0-14.14"),
            VmKernel::Debian6_12 | VmKernel::Debian6_1 => None,
        };
        let how = match ubuntu {
            Some(version) => format!(
                "download http://archive.ubuntu.com/ubuntu/pool/main/l/linux/{package}_{version}_amd64.deb"
            ),
            None => format!("run `apt-get download {package}`"),
        };
        format!(
            "no kernel package: set {}, or {how} into {}",
            which.env(),
            debs.display()
        )
    })
}

/// The kernel image from `deb`, extracted once into `target/vm/kernels/<package file>/`.
fn kernel(deb: &Path) -> PathBuf {
    let stem = deb.file_stem().expect("a file name").to_string_lossy();
    let kernels = vm_dir().join("kernels");
    let dir = kernels.join(&*stem);
    let vmlinuz = |dir: &Path| {
        fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
            })
    };
    if let Some(k) = vmlinuz(&dir) {
        return k;
    }
    let tmp = kernels.join(format!(".{stem}.{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).expect("create target/vm/kernels");
    let out = Command::new("sh")
        .args([
            "-c",
            r#"set -e; dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards './boot/*'"#,
            "sh",
        ])
        .arg(deb)
        .arg(&tmp)
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "extracting /boot from {} failed: {}",
        deb.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    // Another test may have won the race; either copy will do.
    if fs::rename(tmp.join("boot"), &dir).is_err() {
        assert!(
            vmlinuz(&dir).is_some(),
            "no /boot/vmlinuz-* in {}",
            deb.display()
        );
    }
    let _ = fs::remove_dir_all(&tmp);
    vmlinuz(&dir).unwrap_or_else(|| panic!("no /boot/vmlinuz-* in {}", deb.display()))
}

/// Entry point: [`Vm::builder`].
pub struct Vm;

impl Vm {
    /// A VM for the test `name` (also its directory under `target/vm/runs/`; unique per test).
    /// `None`, with a `SKIPPED` notice, when qemu, busybox, cpio or the kernel package is
    /// missing; a panic instead when `CI` is set.
    pub fn builder(name: &str) -> Option<VmBuilder> {
        Self::builder_on(name, VmKernel::Debian6_12)
    }

    /// A VM for the test `name` booting `kernel`; as [`Vm::builder`] otherwise. A test that
    /// runs on both kernels names its runs apart (e.g. `format!("{name}_{}", kernel.short())`).
    pub fn builder_on(name: &str, kernel_choice: VmKernel) -> Option<VmBuilder> {
        let missing = ["qemu-system-x86_64", "busybox", "cpio", "dpkg-deb", "tar"]
            .into_iter()
            .find(|t| which(t).is_none());
        let deb = match missing {
            Some(tool) => Err(format!(
                "`{tool}` is not installed (Debian: qemu-system-x86, busybox-static, cpio)"
            )),
            None => kernel_deb(kernel_choice),
        };
        let deb = match deb {
            Ok(deb) => deb,
            Err(reason) => {
                crate::skip::skip(
                    name,
                    &format!(
                        "{reason} (`.ci/run` installs the packages and downloads {})",
                        kernel_choice.package()
                    ),
                );
                return None;
            }
        };
        Some(VmBuilder::new(name, kernel(&deb)))
    }
}

/// The initramfs and scenarios of one boot. Files are staged as they are added.
pub struct VmBuilder {
    name: String,
    kernel: PathBuf,
    dir: PathBuf,
    stage: PathBuf,
    scenarios: Vec<(String, String, Option<Duration>)>,
    scenario_timeout: Duration,
    timeout: Duration,
    memory: String,
    append: Vec<String>,
    extra: Vec<String>,
}

impl VmBuilder {
    fn new(name: &str, kernel: PathBuf) -> Self {
        assert!(valid_name(name), "bad VM name {name:?}");
        let dir = vm_dir().join("runs").join(name);
        let _ = fs::remove_dir_all(&dir);
        let stage = dir.join("root");
        for d in [
            "bin",
            "sbin",
            "usr/bin",
            "usr/sbin",
            "etc",
            "proc",
            "sys",
            "dev",
            "tmp",
            "run",
            "root",
            "policyctl-vm/scenarios",
        ] {
            fs::create_dir_all(stage.join(d)).expect("create the stage");
        }
        let mut b = VmBuilder {
            name: name.to_owned(),
            kernel,
            dir,
            stage,
            scenarios: Vec::new(),
            scenario_timeout: Duration::from_secs(180),
            timeout: Duration::from_secs(480),
            memory: "1G".to_owned(),
            append: Vec::new(),
            extra: Vec::new(),
        };
        let busybox = which("busybox").expect("checked by Vm::builder");
        b = b.binary_with_libs(&busybox, "/bin/busybox");
        let list = Command::new(&busybox)
            .arg("--list-full")
            .output()
            .expect("run busybox --list-full");
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            let link = b.stage.join(applet);
            if applet.is_empty() || link.symlink_metadata().is_ok() {
                continue;
            }
            fs::create_dir_all(link.parent().unwrap()).expect("create the stage");
            symlink("/bin/busybox", &link).expect("link an applet");
        }
        b.bytes("/init", INIT, 0o755)
            .bytes("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644)
            .bytes("/etc/group", "root:x:0:\n", 0o644)
    }

    /// The host path for `guest` in the stage, its directory created and any old entry removed.
    fn target(&self, guest: &str) -> PathBuf {
        let rel = Path::new(guest)
            .strip_prefix("/")
            .unwrap_or_else(|_| panic!("guest path {guest:?} is not absolute"));
        assert!(
            rel.components().all(|c| matches!(c, Component::Normal(_))),
            "guest path {guest:?} must be plain"
        );
        let path = self.stage.join(rel);
        fs::create_dir_all(path.parent().unwrap()).expect("create the stage");
        if path.symlink_metadata().is_ok() {
            fs::remove_file(&path).unwrap_or_else(|e| panic!("replace {guest}: {e}"));
        }
        path
    }

    /// The host path of `guest` in the stage, as it is now (a file put there before, e.g. by
    /// [`VmBuilder::c_program`], for the test to read).
    pub fn staged(&self, guest: &str) -> PathBuf {
        let rel = Path::new(guest)
            .strip_prefix("/")
            .unwrap_or_else(|_| panic!("guest path {guest:?} is not absolute"));
        self.stage.join(rel)
    }

    /// Copy the host file `host` to `guest`, keeping its mode.
    pub fn file(self, host: impl AsRef<Path>, guest: &str) -> Self {
        let host = host.as_ref();
        fs::copy(host, self.target(guest))
            .unwrap_or_else(|e| panic!("copy {} to the VM: {e}", host.display()));
        self
    }

    /// A file with these contents and mode at `guest`.
    pub fn bytes(self, guest: &str, contents: impl AsRef<[u8]>, mode: u32) -> Self {
        let path = self.target(guest);
        fs::write(&path, contents).expect("write to the stage");
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
        self
    }

    /// A dynamically linked program and the shared libraries `ldd` lists (and the loader), the
    /// libraries at their host paths. The program's debug information is stripped (`strip
    /// --strip-debug`, when `strip` is installed; symbols stay): a debug build of `policyctl` is
    /// 100 MB, a quarter of that without, and the guest unpacks the initramfs slowly under TCG.
    /// [`VmBuilder::file`] copies a program as it is.
    pub fn binary_with_libs(self, host: impl AsRef<Path>, guest: &str) -> Self {
        let host = host.as_ref();
        let out = Command::new("ldd").arg(host).output().expect("run ldd");
        let text = String::from_utf8_lossy(&out.stdout);
        let target = self.target(guest);
        let stripped = which("strip").is_some_and(|strip| {
            Command::new(strip)
                .arg("--strip-debug")
                .arg("-o")
                .arg(&target)
                .arg(host)
                .status()
                .is_ok_and(|s| s.success())
        });
        let mut b = if stripped {
            self
        } else {
            self.file(host, guest)
        };
        // A static program: ldd fails with "not a dynamic executable".
        if !out.status.success() {
            return b;
        }
        for line in text.lines() {
            assert!(!line.contains("not found"), "{}: {line}", host.display());
            let lib = match line.split_once("=>") {
                Some((_, rest)) => rest.split_whitespace().next(),
                None => line.split_whitespace().next(),
            };
            if let Some(lib) = lib.filter(|l| l.starts_with('/')) {
                if !b.stage.join(&lib[1..]).exists() {
                    b = b.file(lib, lib);
                }
            }
        }
        b
    }

    /// A copy of busybox at `guest`: run under that name it is that applet (`/usr/bin/wget` is
    /// wget), with its own path, unlike the applet links to `/bin/busybox`.
    pub fn busybox_applet(self, guest: &str) -> Self {
        let busybox = which("busybox").expect("checked by Vm::builder");
        self.file(busybox, guest)
    }

    /// A C program compiled now with `gcc -static -O2` to `guest`.
    pub fn c_program(self, guest: &str, source: &str) -> Self {
        let src_dir = self.dir.join("src");
        fs::create_dir_all(&src_dir).expect("create the source directory");
        let src = src_dir.join(format!(
            "{}.c",
            guest.trim_start_matches('/').replace('/', "_")
        ));
        fs::write(&src, source).expect("write the C source");
        let out = Command::new("gcc")
            .args(["-static", "-O2", "-o"])
            .arg(self.target(guest))
            .arg(&src)
            .output()
            .expect("run gcc");
        assert!(
            out.status.success(),
            "gcc {} failed:\n{}",
            src.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        self
    }

    /// A scenario: `script` run with `sh -c` after the ones before. `name`: letters, digits and
    /// `._:-`, unique.
    pub fn scenario(self, name: &str, script: &str) -> Self {
        self.push_scenario(name, script, None)
    }

    /// A scenario with its own time limit (whole seconds, at least 1) instead of
    /// [`VmBuilder::scenario_timeout`].
    pub fn scenario_with_timeout(self, name: &str, script: &str, limit: Duration) -> Self {
        self.push_scenario(name, script, Some(limit))
    }

    fn push_scenario(mut self, name: &str, script: &str, limit: Option<Duration>) -> Self {
        assert!(valid_name(name), "bad scenario name {name:?}");
        assert!(
            self.scenarios.iter().all(|(n, ..)| n != name),
            "scenario {name:?} twice"
        );
        self.scenarios
            .push((name.to_owned(), script.to_owned(), limit));
        self
    }

    /// Each scenario's time limit (default 180 s: a scenario that attaches nine hooks took 60 s
    /// and more under TCG on a slow day); one that runs over is killed (rc 137).
    pub fn scenario_timeout(mut self, limit: Duration) -> Self {
        self.scenario_timeout = limit;
        self
    }

    /// The whole boot's time limit (default 480 s); qemu is killed after it and the run panics.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = limit;
        self
    }

    /// Guest memory, qemu's `-m` (default `1G`).
    pub fn memory(mut self, memory: &str) -> Self {
        self.memory = memory.to_owned();
        self
    }

    /// More qemu arguments (e.g. `-icount shift=0,sleep=off`, which makes guest time count
    /// instructions, for benches).
    pub fn qemu_args_extra(mut self, args: &[&str]) -> Self {
        self.extra.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// One more kernel command-line argument.
    pub fn kernel_arg(mut self, arg: &str) -> Self {
        self.append.push(arg.to_owned());
        self
    }

    fn qemu_args(&self, initrd: &Path, append: &str) -> Vec<String> {
        let mut args: Vec<String> = [
            "-accel",
            "tcg",
            "-cpu",
            "max",
            "-smp",
            "1",
            "-m",
            &self.memory,
            "-nodefaults",
            "-no-reboot",
            "-kernel",
        ]
        .map(str::to_owned)
        .into();
        args.push(self.kernel.display().to_string());
        args.push("-initrd".to_owned());
        args.push(initrd.display().to_string());
        args.push("-append".to_owned());
        args.push(append.to_owned());
        args.extend(self.extra.iter().cloned());
        args
    }

    /// Pack the initramfs, boot, run the scenarios. Panics, with the ends of the logs, when qemu
    /// fails or runs over the time limit or a scenario's report is missing.
    pub fn run(self) -> VmRun {
        let started = Instant::now();
        let mut list = String::new();
        for (i, (name, script, limit)) in self.scenarios.iter().enumerate() {
            let limit = limit.unwrap_or(self.scenario_timeout).as_secs().max(1);
            let _ = writeln!(list, "{i:03} {limit} {name}");
            let path = self.stage.join(format!("policyctl-vm/scenarios/{i:03}"));
            fs::write(path, script).expect("write a scenario");
        }
        fs::write(self.stage.join("policyctl-vm/list"), list).expect("write the scenario list");

        let initrd = self.dir.join("initramfs.cpio");
        let out = Command::new("sh")
            .arg(root().join("tests/vm/mkinitramfs.sh"))
            .arg(&self.stage)
            .arg(&initrd)
            .output()
            .expect("run mkinitramfs.sh");
        assert!(
            out.status.success(),
            "mkinitramfs.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let packed = started.elapsed();

        let console = self.dir.join("console.log");
        let channel = self.dir.join("channel.log");
        let mut append = APPEND.to_owned();
        for a in &self.append {
            append.push(' ');
            append.push_str(a);
        }
        let mut args = self.qemu_args(&initrd, &append);
        args.extend(["-display", "none", "-serial"].map(str::to_owned));
        args.push(format!("file:{}", console.display()));
        args.push("-serial".to_owned());
        args.push(format!("file:{}", channel.display()));

        if keep() {
            let mut shell = self.qemu_args(&initrd, &format!("{append} policyctl.shell=1"));
            shell.extend(["-nographic", "-serial", "mon:stdio", "-serial"].map(str::to_owned));
            shell.push(format!(
                "file:{}",
                self.dir.join("shell-channel.log").display()
            ));
            let cmd = format!("qemu-system-x86_64 {}", shell_words(&shell));
            let script = self.dir.join("shell.sh");
            fs::write(
                &script,
                format!("#!/bin/sh\n# Ctrl-A X quits qemu.\nexec {cmd}\n"),
            )
            .expect("write shell.sh");
            fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
            eprintln!(
                "{}: POLICYCTL_VM_KEEP: stage {}, boot it with a shell after the scenarios: {}\n  \
                 (after editing the stage: sh tests/vm/mkinitramfs.sh {} {})",
                self.name,
                self.stage.display(),
                script.display(),
                self.stage.display(),
                initrd.display()
            );
        }

        let booted = Instant::now();
        let mut child = Command::new("qemu-system-x86_64")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(self.dir.join("qemu.stderr")).expect("create qemu.stderr"))
            .spawn()
            .expect("start qemu-system-x86_64");
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for qemu") {
                break Some(status);
            }
            if booted.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let wall = booted.elapsed();
        let read = |p: &Path| {
            String::from_utf8_lossy(&fs::read(p).unwrap_or_default()).replace("\r\n", "\n")
        };
        let run = VmRun {
            name: self.name.clone(),
            dir: self.dir.clone(),
            console: read(&console),
            channel: read(&channel),
            scenarios: BTreeMap::new(),
            order: Vec::new(),
            boot: Duration::ZERO,
            guest: Duration::ZERO,
            packed,
            wall,
        };
        let qemu_err = read(&self.dir.join("qemu.stderr"));
        match status {
            None => run.fail(&format!(
                "qemu ran over the time limit of {:?} and was killed",
                self.timeout
            )),
            Some(s) if !s.success() => run.fail(&format!("qemu failed ({s}): {qemu_err}")),
            Some(_) => {}
        }
        let run = run.parse(&self.scenarios);
        if !keep() {
            let _ = fs::remove_dir_all(&self.dir);
        }
        run
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c))
}

fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What one scenario printed (stdout and stderr together) and its exit code.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub output: String,
    pub rc: i32,
    /// As the guest measured it (10 ms resolution).
    pub duration: Duration,
}

/// The result of [`VmBuilder::run`]: every scenario, and the logs for debugging.
#[derive(Debug)]
pub struct VmRun {
    name: String,
    dir: PathBuf,
    /// The kernel console (`ttyS0`): kernel messages and a line per scenario.
    pub console: String,
    /// The report channel (`ttyS1`): the markers and the scenarios' output.
    pub channel: String,
    pub scenarios: BTreeMap<String, Outcome>,
    /// Scenario names in the order they ran.
    pub order: Vec<String>,
    /// Guest uptime when `/init` started running scenarios.
    pub boot: Duration,
    /// Guest uptime when the last scenario had finished.
    pub guest: Duration,
    /// Host time to stage and pack the initramfs.
    pub packed: Duration,
    /// Host time from starting qemu to its exit.
    pub wall: Duration,
}

impl VmRun {
    /// The scenario `name`.
    pub fn scenario(&self, name: &str) -> &Outcome {
        self.scenarios
            .get(name)
            .unwrap_or_else(|| panic!("{}: no scenario {name:?}", self.name))
    }

    /// The output of the scenario `name`, which must have exited 0.
    pub fn ok(&self, name: &str) -> &str {
        let o = self.scenario(name);
        assert_eq!(
            o.rc, 0,
            "{}: scenario {name} exited {}; it printed:\n{}",
            self.name, o.rc, o.output
        );
        &o.output
    }

    /// The last `n` lines of the console.
    pub fn console_tail(&self, n: usize) -> String {
        tail(&self.console, n)
    }

    /// Timings, for test output.
    pub fn timings(&self) -> String {
        let mut s = format!(
            "{}: pack {:?}, qemu wall {:?}, guest boot {:?}, guest end {:?}",
            self.name, self.packed, self.wall, self.boot, self.guest
        );
        for name in &self.order {
            let _ = write!(s, "\n  {name}: {:?}", self.scenarios[name].duration);
        }
        s
    }

    fn fail(&self, why: &str) -> ! {
        panic!(
            "{}: {why}\n(run directory kept: {})\n--- console (last 60 lines) ---\n{}\n\
             --- report channel (last 60 lines) ---\n{}",
            self.name,
            self.dir.display(),
            tail(&self.console, 60),
            tail(&self.channel, 60)
        )
    }

    fn parse(mut self, scenarios: &[(String, String, Option<Duration>)]) -> Self {
        let uptime = |text: &str, marker: &str| -> Option<Duration> {
            let start = text.find(marker)? + marker.len();
            let ms = text[start..].split("@@").next()?.parse().ok()?;
            Some(Duration::from_millis(ms))
        };
        let Some(boot) = uptime(&self.channel, "@@POLICYCTL-VM-READY uptime_ms=") else {
            self.fail("the guest never reported READY");
        };
        self.boot = boot;
        let mut at = 0;
        for (name, ..) in scenarios {
            let begin = format!("@@POLICYCTL-SCENARIO-BEGIN {name}@@\n");
            let end = format!("\n@@POLICYCTL-SCENARIO-END {name} rc=");
            let Some(b) = self.channel[at..]
                .find(&begin)
                .map(|i| at + i + begin.len())
            else {
                self.fail(&format!("no report from scenario {name}"));
            };
            let Some(e) = self.channel[b..].find(&end).map(|i| b + i) else {
                self.fail(&format!("scenario {name} did not finish"));
            };
            let output = self.channel[b..e].to_owned();
            let rest = &self.channel[e + end.len()..];
            let line = rest.split("@@").next().unwrap_or_default();
            let mut rc = None;
            let mut ms = 0;
            for field in line.split(' ') {
                if let Some(v) = field.strip_prefix("ms=") {
                    ms = v.parse().unwrap_or(0);
                } else if rc.is_none() {
                    rc = field.parse().ok();
                }
            }
            let Some(rc) = rc else {
                self.fail(&format!("scenario {name}: bad END marker {line:?}"));
            };
            at = e + end.len();
            self.order.push(name.clone());
            self.scenarios.insert(
                name.clone(),
                Outcome {
                    output,
                    rc,
                    duration: Duration::from_millis(ms),
                },
            );
        }
        match uptime(&self.channel[at..], "@@POLICYCTL-VM-DONE uptime_ms=") {
            Some(t) => self.guest = t,
            None => self.fail("the guest never reported DONE"),
        }
        self
    }
}

impl std::ops::Index<&str> for VmRun {
    type Output = Outcome;
    fn index(&self, name: &str) -> &Outcome {
        self.scenario(name)
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Shell helpers for scenarios: `start` runs `policyctl run` in the background (its pid in
/// /tmp/run.pid, so it outlives the scenario that started it) and waits until every hook is
/// attached (`wait_attached`, at most `$START_SECS` seconds, ten minutes unless the scenario
/// sets it: under TCG the kernel takes seconds to verify each program copy, and the ~330
/// kprobes of every syscall take minutes to attach); `stop`
/// sends SIGINT, waits for the exit and prints its status, what it said and the events after a
/// `--- events` marker.
///
/// The waits poll with the shell's builtins (`read`, `case`, `kill`, `[`) and `sleep`, every
/// 0.05 s for the first two seconds, then every 0.25 s: the guest has one CPU, and a poll that
/// forked `grep` and `cat` twenty times a second took ~40 % of it from the verifier it waited
/// for (the ~330 kprobes of `vm/multi_kprobe.rs` attached in 271 s so, and in 165 s unpolled).
/// `start` empties /tmp/run.err before it starts the run: the background run's own
/// redirection may come after the first poll, which would then read the previous run's
/// `Ctrl-C stops`.
pub const RUN_HELPERS: &str = r#"
attached() {
  while IFS= read -r l; do case "$l" in *'Ctrl-C stops'*) return 0;; esac; done </tmp/run.err
  return 1
}
nap() { if [ "$1" -lt 40 ]; then sleep 0.05; else sleep 0.25; fi; }
wait_attached() {
  read up _ </proc/uptime; end=$(( ${up%.*} + $2 )); n=0
  until attached; do
    kill -0 "$1" 2>/dev/null || { cat /tmp/run.err; return 1; }
    read up _ </proc/uptime; [ "${up%.*}" -lt "$end" ] || { cat /tmp/run.err; return 1; }
    nap $n; n=$((n + 1))
  done
}
start() {
  : >/tmp/run.err
  policyctl run "$@" >/tmp/events 2>/tmp/run.err &
  echo $! >/tmp/run.pid
  wait_attached $! "${START_SECS:-600}"
}
stop() {
  read PID </tmp/run.pid; sleep 0.5; kill -INT $PID; n=0
  while kill -0 $PID 2>/dev/null; do nap $n; n=$((n + 1)); done
  cat /tmp/run.err; echo '--- events'; cat /tmp/events
}
"#;

/// The `process_kprobe` events of `events` whose action is `action`
/// (`KPROBE_ACTION_OVERRIDE`, `KPROBE_ACTION_NOTIFYENFORCER`, ...), in order.
pub fn kprobe_events_with_action<'e>(
    events: &'e [serde_json::Value],
    action: &str,
) -> Vec<&'e serde_json::Value> {
    events
        .iter()
        .filter_map(|e| e.get("process_kprobe"))
        .filter(|e| e["action"] == action)
        .collect()
}

/// The JSON events a scenario printed after `--- events` (the `stop` helper prints them), parsed.
pub fn json_events(out: &str) -> Vec<serde_json::Value> {
    out.split("--- events\n")
        .nth(1)
        .unwrap_or("")
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}
