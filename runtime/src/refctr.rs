//! Uprobes with a reference counter: the kernel's uprobe `ref_ctr_offset`, which a USDT
//! probe's semaphore and a uprobe's `refCtrOffsets` need.
//!
//! While such a uprobe is registered the kernel adds one to the 2-byte counter at
//! `ref_ctr_offset` (a file offset) in every process that maps the file, those started later
//! included, and subtracts it again when the uprobe goes; a program built with `<sys/sdt.h>`
//! semaphores only fires its probe while its semaphore is not 0. Tetragon attaches its uprobes
//! and USDT probes with cilium/ebpf's `UprobeOptions.RefCtrOffset`
//! (pkg/sensors/program/loader_linux.go `uprobeAttachSingle`), which opens the probe on the
//! `uprobe` PMU with the offset in the high bits of `config`.
//!
//! aya 0.14's `UProbe::attach` has no way to pass it, so these uprobes are opened here with
//! `perf_event_open` on the `uprobe` PMU, the program (loaded by aya) attached to the event
//! with `PERF_EVENT_IOC_SET_BPF`. Every other uprobe keeps aya's attach. A [`RefCtrLink`] owns
//! the event: dropping it closes the event, which detaches the program and lets the kernel
//! count the counter down. The bit positions come from the PMU's `format` files (where the
//! kernel says them), never assumed; a kernel without `format/ref_ctr_offset` (before 4.20)
//! cannot count the counter, and the attach says so.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::elf;

/// The `uprobe` PMU's directory in sysfs.
const PMU: &str = "/sys/bus/event_source/devices/uprobe";

/// `PERF_ATTR_SIZE_VER1`: the first `perf_event_attr` with `config2`, all a uprobe needs.
const PERF_ATTR_SIZE_VER1: u32 = 72;
/// `PERF_FLAG_FD_CLOEXEC`.
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
/// `PERF_EVENT_IOC_ENABLE`: `_IO('$', 0)`.
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
/// `PERF_EVENT_IOC_SET_BPF`: `_IOW('$', 8, __u32)`.
const PERF_EVENT_IOC_SET_BPF: libc::c_ulong = 0x4004_2408;

/// The first [`PERF_ATTR_SIZE_VER1`] bytes of the kernel's `struct perf_event_attr`
/// (include/uapi/linux/perf_event.h), as a uprobe PMU event fills them.
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    type_: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    /// The bit fields (`disabled`, `inherit` ...): all 0.
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    /// `uprobe_path`: a pointer to the binary's path.
    config1: u64,
    /// `probe_offset`: the file offset of the probed instruction.
    config2: u64,
}

const _: () = assert!(std::mem::size_of::<PerfEventAttr>() == PERF_ATTR_SIZE_VER1 as usize);

/// A field of a PMU's `format` file (`config:32-63`, `config:0`): its first bit and width, in
/// `config` only (where the uprobe PMU puts both of ours).
fn parse_format(text: &str) -> Option<(u32, u32)> {
    let bits = text.trim().strip_prefix("config:")?;
    let (lo, hi) = match bits.split_once('-') {
        Some((lo, hi)) => (lo.parse::<u32>().ok()?, hi.parse::<u32>().ok()?),
        None => {
            let b = bits.parse::<u32>().ok()?;
            (b, b)
        }
    };
    (lo <= hi && hi < 64).then(|| (lo, hi - lo + 1))
}

/// The `format` field `name` of the uprobe PMU, or why it is not usable.
fn format_field(name: &str) -> Result<(u32, u32), String> {
    let path = format!("{PMU}/format/{name}");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    parse_format(&text).ok_or_else(|| format!("{path}: unexpected format `{}`", text.trim()))
}

/// `config` for a uprobe (`ret`: a uretprobe) whose reference counter is at `ref_ctr_offset`,
/// given the PMU's `ref_ctr_offset` field (first bit, width) and `retprobe` bit.
fn config(
    ref_ctr: (u32, u32),
    retprobe_bit: u32,
    ref_ctr_offset: u64,
    ret: bool,
) -> Result<u64, String> {
    let (shift, width) = ref_ctr;
    if width < 64 && ref_ctr_offset >> width != 0 {
        return Err(format!(
            "the reference counter offset {ref_ctr_offset:#x} does not fit in the {width} bits the kernel's uprobe PMU has for it"
        ));
    }
    let mut config = ref_ctr_offset << shift;
    if ret {
        config |= 1 << retprobe_bit;
    }
    Ok(config)
}

/// A uprobe (or uretprobe) with a reference counter, with a BPF program attached. Dropping it
/// detaches the program and removes the uprobe; the kernel then counts the counter down.
#[derive(Debug)]
pub struct RefCtrLink {
    /// The perf event, held only to be closed on drop.
    _event: OwnedFd,
}

impl RefCtrLink {
    /// Open a uprobe (a uretprobe when `ret`) at the file `offset` of the binary at `path`, for
    /// every process, with its reference counter at the file offset `ref_ctr_offset`, and
    /// attach `program` (a loaded uprobe program) to it. The error says what failed, in one
    /// line.
    pub fn attach(
        program: BorrowedFd<'_>,
        path: &str,
        offset: u64,
        ref_ctr_offset: u64,
        ret: bool,
    ) -> Result<RefCtrLink, String> {
        let ty = std::fs::read_to_string(format!("{PMU}/type"))
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
            .ok_or_else(|| {
                format!(
                    "this kernel has no uprobe PMU ({PMU}/type), which a reference counter needs"
                )
            })?;
        let ref_ctr = format_field("ref_ctr_offset").map_err(|e| {
            format!("this kernel cannot count a uprobe's reference counter (Linux 4.20 and later can): {e}")
        })?;
        let retprobe = if ret { format_field("retprobe")?.0 } else { 0 };
        let c_path =
            CString::new(path).map_err(|_| format!("the path `{path}` contains a NUL byte"))?;
        let attr = PerfEventAttr {
            type_: ty,
            size: PERF_ATTR_SIZE_VER1,
            config: config(ref_ctr, retprobe, ref_ctr_offset, ret)?,
            config1: c_path.as_ptr() as u64,
            config2: offset,
            ..Default::default()
        };
        // every process (pid -1), reported on CPU 0 as any all-process probe event; the BPF
        // program runs wherever the probe is hit
        // SAFETY: attr is a valid perf_event_attr of the size it says, and c_path outlives the
        // call; the kernel copies both.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                &attr as *const PerfEventAttr,
                -1 as libc::pid_t,
                0 as libc::c_int,
                -1 as libc::c_int,
                PERF_FLAG_FD_CLOEXEC,
            )
        };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            let hint = match e.raw_os_error() {
                Some(libc::ENOENT) => ": no such file",
                // the kernel keeps one uprobe per file offset: another uprobe there (another
                // tool's) with another reference counter offset is refused
                Some(libc::EINVAL) => ": (another uprobe at this offset with another reference counter, or an offset the kernel refuses)",
                _ => "",
            };
            return Err(format!(
                "perf_event_open (uprobe PMU, reference counter at {ref_ctr_offset:#x}): {e}{hint}"
            ));
        }
        // SAFETY: the syscall returned a new file descriptor, owned by nobody else.
        let event = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
        // SAFETY: both are plain ioctls on the event's fd; SET_BPF takes the program fd as its
        // argument, ENABLE none.
        if unsafe {
            libc::ioctl(
                event.as_raw_fd(),
                PERF_EVENT_IOC_SET_BPF,
                program.as_raw_fd(),
            )
        } != 0
        {
            return Err(format!(
                "attaching the program to the uprobe (PERF_EVENT_IOC_SET_BPF): {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: as above.
        if unsafe { libc::ioctl(event.as_raw_fd(), PERF_EVENT_IOC_ENABLE, 0) } != 0 {
            return Err(format!(
                "enabling the uprobe (PERF_EVENT_IOC_ENABLE): {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(RefCtrLink { _event: event })
    }
}

/// The file offset of `symbol` in the ELF binary at `path`, found as aya 0.14's
/// `resolve_symbol` finds a uprobe's symbol (the first `.dynsym` symbol of that name, then
/// `.symtab`'s; in an executable or shared object its address turned into a file offset
/// through its section, [`elf::Symbol::file_offset`]), for uprobes by `symbols` with
/// `refCtrOffsets`, which are opened here rather than by aya. Read with [`crate::elf`]:
/// 64-bit little-endian binaries only, the symbol tables at most [`elf::SYMBOL_BYTES`];
/// debug links are not followed.
pub fn symbol_offset(path: &str, symbol: &str) -> Result<u64, String> {
    let file = elf::FileBytes::open(path).map_err(|e| e.to_string())?;
    let in_path = |e: String| format!("{path}: {e}");
    let elf = elf::Elf::parse(&file).map_err(in_path)?;
    let sections = elf.sections().map_err(in_path)?;
    let mut budget = elf::SYMBOL_BYTES;
    for ty in [elf::SHT_DYNSYM, elf::SHT_SYMTAB] {
        let Some(table) = elf.symbols(&sections, ty, budget).map_err(in_path)? else {
            continue;
        };
        budget -= table.bytes();
        let Some(sym) = table.iter().find(|s| s.name == Some(symbol.as_bytes())) else {
            continue;
        };
        if !matches!(elf.header.e_type, elf::ET_EXEC | elf::ET_DYN) {
            return Ok(sym.value);
        }
        return sym
            .file_offset(&sections)
            .map_err(|e| format!("symbol `{symbol}` of {path} {e}"));
    }
    Err(format!(
        "symbol `{symbol}` is not in the symbol tables of {path}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_fields_parse_as_the_kernel_writes_them() {
        assert_eq!(parse_format("config:32-63\n"), Some((32, 32)));
        assert_eq!(parse_format("config:0\n"), Some((0, 1)));
        assert_eq!(parse_format("config1:0-63"), None);
        assert_eq!(parse_format("config:63-32"), None);
        assert_eq!(parse_format("config:64"), None);
    }

    /// A function of this test binary for [`symbol_offset`] to find, by a name of its own.
    #[no_mangle]
    #[inline(never)]
    extern "C" fn policyctl_refctr_test_target() -> u64 {
        std::hint::black_box(7)
    }

    #[test]
    fn symbol_offsets_are_where_the_kernel_maps_the_symbols() {
        // the kernel's mapping of this test binary turns the function's address now into its
        // file offset, which the symbol tables must give
        let here = policyctl_refctr_test_target as extern "C" fn() -> u64 as usize as u64;
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let exe = exe.to_str().unwrap();
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let mapped = maps
            .lines()
            .filter(|l| l.ends_with(exe))
            .find_map(|l| {
                let mut f = l.split_whitespace();
                let (start, end) = f.next()?.split_once('-')?;
                let (start, end) = (
                    u64::from_str_radix(start, 16).ok()?,
                    u64::from_str_radix(end, 16).ok()?,
                );
                let offset = u64::from_str_radix(f.nth(1)?, 16).ok()?;
                (start <= here && here < end).then(|| here - start + offset)
            })
            .expect("the test binary maps its own code");
        assert_eq!(
            symbol_offset(exe, "policyctl_refctr_test_target"),
            Ok(mapped)
        );
        assert_eq!(policyctl_refctr_test_target(), 7);
        assert_eq!(
            symbol_offset(exe, "policyctl_no_such_symbol"),
            Err(format!(
                "symbol `policyctl_no_such_symbol` is not in the symbol tables of {exe}"
            ))
        );
        assert!(symbol_offset("/nonexistent/x", "main")
            .unwrap_err()
            .contains("no such file"));
        assert!(symbol_offset("/proc/self/maps", "main").is_err());
    }

    #[test]
    fn config_puts_the_offset_and_the_return_bit_where_the_format_says() {
        assert_eq!(config((32, 32), 0, 0x1234, false), Ok(0x1234 << 32));
        assert_eq!(config((32, 32), 0, 0x1234, true), Ok((0x1234 << 32) | 1));
        assert!(config((32, 32), 0, 1 << 32, false).is_err());
    }
}
