//! `kprobe_multi` links: the object's `kprobe_multi` program attached to many functions by one
//! `BPF_TRACE_KPROBE_MULTI` link.
//!
//! Tetragon attaches a policy's kprobes by one such link where the kernel has them
//! (`pkg/sensors/tracing/generickprobe.go`: `useMulti` from `bpf.HasKprobeMulti()`, then
//! `createMultiKprobeSensor`), and finds out whether it has them by linking a two-instruction
//! program (`detectKprobeMulti` in `pkg/bpf/detect_linux.go`). A kprobe per function costs the
//! kernel one breakpoint registration per function; a multi link registers them all with one
//! ftrace update (fprobe). Kernels without fprobe (Debian's 6.1: `CONFIG_FPROBE` is not set)
//! refuse the link, and the loader falls back to a kprobe per function.
//!
//! aya 0.14 cannot load a program for that attach type (aya-obj lists `kprobe.multi` among
//! the sections it does not support), so [`load`] loads the object's `kprobe_multi` program a
//! second time: parsed and relocated by aya-obj the way aya loads it (CO-RE against the
//! kernel's BTF, the maps aya already created, the calls to the global functions), then
//! loaded with the `bpf` system call and `expected_attach_type = BPF_TRACE_KPROBE_MULTI`.
//! The program finds its hooks by the function's address in `func_slots`, as the one
//! attached by kprobe does, so both share every map and the BPF code.

use std::collections::HashSet;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use aya::maps::Map;
use aya::Ebpf;

use crate::fmodret::{bpf, last_log_line, put_u32, put_u64, BPF_PROG_LOAD};

const BPF_BTF_LOAD: libc::c_long = 18;
const BPF_LINK_CREATE: libc::c_long = 28;
const BPF_PROG_TYPE_KPROBE: u32 = 2;
/// `enum bpf_attach_type` (include/uapi/linux/bpf.h).
const BPF_TRACE_KPROBE_MULTI: u32 = 42;

/// The `bpf` system call's error, with the last line of the kernel's log when it wrote one.
fn refused(what: &str, e: std::io::Error, log: &[u8]) -> String {
    let last = last_log_line(log);
    if last.is_empty() {
        format!("{what}: {e}")
    } else {
        format!("{what}: {e} ({last})")
    }
}

/// A program's BTF for `BPF_PROG_LOAD`: the object's BTF loaded in the kernel, and the
/// program's function and line records (global functions need them), each with its count and
/// record size.
struct ProgramBtf<'a> {
    fd: &'a OwnedFd,
    funcs: &'a [u8],
    func_count: u32,
    func_size: usize,
    lines: &'a [u8],
    line_count: u32,
    line_size: usize,
}

/// Loads `insns` as a kprobe program for `BPF_TRACE_KPROBE_MULTI` links, with its BTF if any.
fn load_program(
    name: &[u8],
    insns: &[u8],
    license: &std::ffi::CStr,
    btf: Option<ProgramBtf<'_>>,
) -> Result<OwnedFd, String> {
    let attempt = |level: u32, log: &mut [u8]| {
        // union bpf_attr for BPF_PROG_LOAD, up to attach_btf_obj_fd (include/uapi/linux/bpf.h)
        let mut attr = [0u8; 120];
        put_u32(&mut attr, 0, BPF_PROG_TYPE_KPROBE);
        put_u32(&mut attr, 4, (insns.len() / 8) as u32);
        put_u64(&mut attr, 8, insns.as_ptr() as u64);
        put_u64(&mut attr, 16, license.as_ptr() as u64);
        if level > 0 {
            put_u32(&mut attr, 24, level);
            put_u32(&mut attr, 28, log.len() as u32);
            put_u64(&mut attr, 32, log.as_mut_ptr() as u64);
        }
        let n = name.len().min(15);
        attr[48..48 + n].copy_from_slice(&name[..n]);
        put_u32(&mut attr, 68, BPF_TRACE_KPROBE_MULTI); // expected_attach_type
        if let Some(b) = &btf {
            put_u32(&mut attr, 72, b.fd.as_raw_fd() as u32); // prog_btf_fd
            if b.func_size > 0 {
                put_u32(&mut attr, 76, b.func_size as u32);
                put_u64(&mut attr, 80, b.funcs.as_ptr() as u64);
                put_u32(&mut attr, 88, b.func_count);
            }
            if b.line_size > 0 {
                put_u32(&mut attr, 92, b.line_size as u32);
                put_u64(&mut attr, 96, b.lines.as_ptr() as u64);
                put_u32(&mut attr, 104, b.line_count);
            }
        }
        bpf(BPF_PROG_LOAD, &mut attr)
    };
    attempt(0, &mut []).or_else(|_| {
        // again with the verifier's log, to say why: the log of a program this size is large
        let mut log = vec![0u8; 4 << 20];
        attempt(1, &mut log).map_err(|e| refused("the kernel refused kprobe_multi", e, &log))
    })
}

/// Whether the kernel links kprobe programs to many functions at once: a program that only
/// returns, linked to `vprintk` by name (the kernel resolves it: no /proc/kallsyms read) and
/// closed again, as Tetragon's `detectKprobeMulti` does. `Err` says why not.
pub(crate) fn supported() -> Result<(), String> {
    // r0 = 0; exit
    let insns: [u8; 16] = [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
    let prog = load_program(b"policyctl_probe", &insns, c"GPL", None)?;
    link(&prog, Targets::Symbols(&[c"vprintk".as_ptr()])).map(drop)
}

/// Every map of `bpf` by name, its file descriptor duplicated: the loader takes some maps out
/// of `bpf` (the ring buffer, the stacks), and [`load`] needs all of them.
pub(crate) fn map_fds(bpf: &Ebpf) -> Result<Vec<(String, OwnedFd)>, String> {
    bpf.maps()
        .map(|(name, map)| {
            let fd = map_fd(map)?
                .try_clone_to_owned()
                .map_err(|e| format!("map {name}: {e}"))?;
            Ok((name.to_string(), fd))
        })
        .collect()
}

/// The object's program `name`, relocated and loaded for `BPF_TRACE_KPROBE_MULTI` links
/// against `maps` (every map of the [`Ebpf`] that loaded `object`, from [`map_fds`]) and the
/// kernel's `kernel_btf`. A panic of aya-obj's on the way is an error here.
pub(crate) fn load(
    object: &[u8],
    maps: &[(String, OwnedFd)],
    kernel_btf: &aya::Btf,
    name: &str,
) -> Result<OwnedFd, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        relocate_and_load(object, maps, kernel_btf, name)
    }))
    .unwrap_or_else(|_| Err(format!("relocating {name} failed (aya-obj panicked)")))
}

fn relocate_and_load(
    object: &[u8],
    fds: &[(String, OwnedFd)],
    kernel_btf: &aya::Btf,
    name: &str,
) -> Result<OwnedFd, String> {
    let mut obj = aya_obj::Object::parse(object).map_err(|e| format!("the BPF object: {e}"))?;
    // only the one program is linked (every copy would be, otherwise)
    obj.programs.retain(|n, _| n == name);
    let features = aya::features();
    let btf_fd = match features.btf() {
        Some(f) => match obj
            .fixup_and_sanitize_btf(f)
            .map_err(|e| format!("the object's BTF: {e}"))?
        {
            Some(btf) => {
                let raw = btf.to_bytes();
                // union bpf_attr for BPF_BTF_LOAD: btf, btf_log_buf, btf_size,
                // btf_log_size, btf_log_level
                let load_btf = |log: &mut [u8]| {
                    let mut attr = [0u8; 32];
                    put_u64(&mut attr, 0, raw.as_ptr() as u64);
                    put_u32(&mut attr, 16, raw.len() as u32);
                    if !log.is_empty() {
                        put_u64(&mut attr, 8, log.as_mut_ptr() as u64);
                        put_u32(&mut attr, 20, log.len() as u32);
                        put_u32(&mut attr, 24, 1);
                    }
                    bpf(BPF_BTF_LOAD, &mut attr)
                };
                // the log only when refused: it lists every type, so it must be large
                Some(load_btf(&mut []).or_else(|_| {
                    let mut log = vec![0u8; 4 << 20];
                    load_btf(&mut log)
                        .map_err(|e| refused("the kernel refused the object's BTF", e, &log))
                })?)
            }
            None => None,
        },
        None => None,
    };
    obj.relocate_btf(kernel_btf)
        .map_err(|e| format!("CO-RE relocation: {e}"))?;
    let parsed = std::mem::take(&mut obj.maps);
    let text_sections: HashSet<usize> = obj.functions.keys().map(|(s, _)| *s).collect();
    // every map of the object, or aya-obj would relocate a missing one's references to
    // another map of its section
    let mut maps = Vec::new();
    for (map_name, m) in &parsed {
        let (_, fd) = fds
            .iter()
            .find(|(n, _)| n == map_name)
            .ok_or_else(|| format!("no file descriptor for the map {map_name}"))?;
        maps.push((map_name.as_str(), fd.as_raw_fd(), m));
    }
    obj.relocate_maps(maps.into_iter(), &text_sections)
        .map_err(|e| format!("map relocation: {e}"))?;
    obj.relocate_calls(&text_sections)
        .map_err(|e| format!("call relocation: {e}"))?;
    obj.sanitize_functions(features);
    let program = obj
        .programs
        .get(name)
        .ok_or_else(|| format!("the BPF object has no program {name}"))?;
    let function = obj
        .functions
        .get(&program.function_key())
        .ok_or_else(|| format!("the BPF object has no code for {name}"))?;
    let insns: Vec<u8> = function
        .instructions
        .iter()
        .flat_map(|i| {
            // SAFETY: bpf_insn is a plain 8-byte C struct without padding.
            let bytes: [u8; 8] = unsafe { std::mem::transmute_copy(i) };
            bytes
        })
        .collect();
    let funcs = function.func_info.func_info_bytes();
    let lines = function.line_info.line_info_bytes();
    let btf = btf_fd.as_ref().map(|fd| ProgramBtf {
        fd,
        funcs: &funcs,
        func_count: function.func_info.len() as u32,
        func_size: function.func_info_rec_size,
        lines: &lines,
        line_count: function.line_info.len() as u32,
        line_size: function.line_info_rec_size,
    });
    load_program(name.as_bytes(), &insns, &program.license, btf)
}

/// The file descriptor of one of aya's maps.
fn map_fd(map: &Map) -> Result<std::os::fd::BorrowedFd<'_>, String> {
    let data = match map {
        Map::Array(d)
        | Map::HashMap(d)
        | Map::LpmTrie(d)
        | Map::LruHashMap(d)
        | Map::PerCpuArray(d)
        | Map::PerCpuHashMap(d)
        | Map::PerCpuLruHashMap(d)
        | Map::RingBuf(d)
        | Map::StackTraceMap(d)
        | Map::Unsupported(d) => d,
        _ => return Err("the BPF object has a map of a type kprobe_multi does not expect".into()),
    };
    Ok(data.fd().as_fd())
}

/// Links `prog` (loaded for `BPF_TRACE_KPROBE_MULTI`) to the functions at `addresses`; closing
/// the link detaches it from all of them.
pub(crate) fn attach(prog: &OwnedFd, addresses: &[u64]) -> Result<OwnedFd, String> {
    link(prog, Targets::Addresses(addresses))
}

/// The functions of a `kprobe_multi` link: by name (the kernel resolves them) or by address.
enum Targets<'a> {
    Symbols(&'a [*const std::ffi::c_char]),
    Addresses(&'a [u64]),
}

/// `BPF_LINK_CREATE` of `prog` on `targets`.
fn link(prog: &OwnedFd, targets: Targets<'_>) -> Result<OwnedFd, String> {
    // union bpf_attr for BPF_LINK_CREATE: prog_fd, target_fd, attach_type, flags, then
    // kprobe_multi's flags, cnt, syms (at 24), addrs (at 32), cookies
    let (count, at, array) = match targets {
        Targets::Symbols(names) => (names.len(), 24, names.as_ptr() as u64),
        Targets::Addresses(addresses) => (addresses.len(), 32, addresses.as_ptr() as u64),
    };
    let mut attr = [0u8; 48];
    put_u32(&mut attr, 0, prog.as_raw_fd() as u32);
    put_u32(&mut attr, 8, BPF_TRACE_KPROBE_MULTI);
    put_u32(&mut attr, 20, count as u32);
    put_u64(&mut attr, at, array);
    bpf(BPF_LINK_CREATE, &mut attr)
        .map_err(|e| format!("the kernel refused a kprobe_multi link on {count} functions: {e}"))
}
