//! The companion fmod_ret program of an Override on a `security_` function.
//!
//! Tetragon overrides a `security_` function without `bpf_override_return`: its kprobe runs
//! the selectors and records the value for the thread, and an fmod_ret program on the same
//! function returns it in place of the function (`OverrideFmodRet` in
//! `pkg/sensors/tracing/generickprobe.go`, `generic_fmodret_override` in
//! `bpf/process/bpf_generic_kprobe.c`). The kernel allows fmod_ret on any `security_`
//! function, error injection or not (`check_attach_modify_return` in `kernel/bpf/verifier.c`).
//!
//! The runtime does the same: the kprobe or fentry copy serving the hook writes the value to
//! the `override_tasks` map under (slot, thread) (`defer_override` in `bpf/policyctl.bpf.c`),
//! and this program takes it out and returns it. aya 0.14 cannot load fmod_ret programs,
//! so the program is these few instructions, loaded and attached with the `bpf` system call.
//! Dropping a [`FmodRet`] closes its link and program: the kernel detaches it.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use aya::Btf;

pub(crate) const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_RAW_TRACEPOINT_OPEN: libc::c_long = 17;
const BPF_PROG_TYPE_TRACING: u32 = 26;
const BPF_MODIFY_RETURN: u32 = 26;
const BPF_PSEUDO_MAP_FD: u8 = 1;
const HELPER_MAP_LOOKUP_ELEM: i32 = 1;
const HELPER_MAP_DELETE_ELEM: i32 = 3;
const HELPER_GET_CURRENT_PID_TGID: i32 = 14;
const HELPER_SEND_SIGNAL: i32 = 109;

/// One BPF instruction.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Insn {
    code: u8,
    regs: u8, // dst in the low nibble, src in the high one
    off: i16,
    imm: i32,
}

pub(crate) const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

/// The program for `slot`: looks up (slot, thread) in the map `map_fd`; when present,
/// deletes it and returns its value (the function does not run), else returns 0 (the
/// function runs as usual).
fn program(slot: u32, map_fd: i32) -> Vec<Insn> {
    let map = |dst: u8| {
        [
            insn(0x18, dst, BPF_PSEUDO_MAP_FD, 0, map_fd), // ld_imm64 map fd
            insn(0, 0, 0, 0, 0),
        ]
    };
    let mut p = vec![
        insn(0x85, 0, 0, 0, HELPER_GET_CURRENT_PID_TGID), // r0 = pid_tgid
        insn(0x67, 0, 0, 0, 32),                          // r0 <<= 32: the thread id on top
        insn(0x47, 0, 0, 0, slot as i32),                 // r0 |= slot: struct pending_key
        insn(0x7b, 10, 0, -8, 0),                         // *(u64 *)(r10 - 8) = r0
    ];
    p.extend(map(1));
    p.extend([
        insn(0xbf, 2, 10, 0, 0),                     // r2 = r10
        insn(0x07, 2, 0, 0, -8),                     // r2 += -8
        insn(0x85, 0, 0, 0, HELPER_MAP_LOOKUP_ELEM), // r0 = lookup(map, key)
        insn(0x15, 0, 0, 8, 0),                      // if r0 == 0 goto run
        insn(0x79, 6, 0, 0, 0),                      // r6 = *(s64 *)r0
    ]);
    p.extend(map(1));
    p.extend([
        insn(0xbf, 2, 10, 0, 0),                     // r2 = r10
        insn(0x07, 2, 0, 0, -8),                     // r2 += -8
        insn(0x85, 0, 0, 0, HELPER_MAP_DELETE_ELEM), // delete(map, key)
        insn(0xbf, 0, 6, 0, 0),                      // r0 = r6
        insn(0x95, 0, 0, 0, 0),                      // exit: the function is skipped
        insn(0xb7, 0, 0, 0, 0),                      // run: r0 = 0
        insn(0x95, 0, 0, 0, 0),                      // exit: the function runs
    ]);
    p
}

/// The program of an enforcer whose key in `override_tasks` is `key` (`ENFORCER_KEY` | a
/// slot; see `notify_enforcer` in `bpf/policyctl.bpf.c`), as Tetragon's `do_enforcer`
/// (`bpf/process/bpf_enforcer.c`) does with its `enforcer_data`: looks up (key, thread);
/// when present, sends the signal in the value's high half (if any), deletes the entry and
/// returns the error in its low half, sign-extended (the function does not run); else
/// returns 0 (the function runs as usual).
fn enforcer_program(key: u32, map_fd: i32) -> Vec<Insn> {
    let map = |dst: u8| {
        [
            insn(0x18, dst, BPF_PSEUDO_MAP_FD, 0, map_fd), // ld_imm64 map fd
            insn(0, 0, 0, 0, 0),
        ]
    };
    let mut p = vec![
        insn(0x85, 0, 0, 0, HELPER_GET_CURRENT_PID_TGID), // r0 = pid_tgid
        insn(0x67, 0, 0, 0, 32),                          // r0 <<= 32: the thread id on top
        insn(0x47, 0, 0, 0, key as i32),                  // r0 |= key: struct pending_key
        insn(0x7b, 10, 0, -8, 0),                         // *(u64 *)(r10 - 8) = r0
    ];
    p.extend(map(1));
    p.extend([
        insn(0xbf, 2, 10, 0, 0),                     // r2 = r10
        insn(0x07, 2, 0, 0, -8),                     // r2 += -8
        insn(0x85, 0, 0, 0, HELPER_MAP_LOOKUP_ELEM), // r0 = lookup(map, key)
        insn(0x15, 0, 0, 14, 0),                     // if r0 == 0 goto run
        insn(0x79, 6, 0, 0, 0),                      // r6 = *(u64 *)r0
        insn(0xbf, 1, 6, 0, 0),                      // r1 = r6
        insn(0x77, 1, 0, 0, 32),                     // r1 >>= 32: the signal
        insn(0x15, 1, 0, 1, 0),                      // if r1 == 0 skip the call
        insn(0x85, 0, 0, 0, HELPER_SEND_SIGNAL),     // send_signal(r1)
    ]);
    p.extend(map(1));
    p.extend([
        insn(0xbf, 2, 10, 0, 0),                     // r2 = r10
        insn(0x07, 2, 0, 0, -8),                     // r2 += -8
        insn(0x85, 0, 0, 0, HELPER_MAP_DELETE_ELEM), // delete(map, key)
        insn(0xbf, 0, 6, 0, 0),                      // r0 = r6
        insn(0x67, 0, 0, 0, 32),                     // r0 <<= 32
        insn(0xc7, 0, 0, 0, 32),                     // r0 s>>= 32: the error, sign-extended
        insn(0x95, 0, 0, 0, 0),                      // exit: the function is skipped
        insn(0xb7, 0, 0, 0, 0),                      // run: r0 = 0
        insn(0x95, 0, 0, 0, 0),                      // exit: the function runs
    ]);
    p
}

/// An attached fmod_ret program; dropping it detaches it.
#[derive(Debug)]
pub struct FmodRet {
    _link: OwnedFd,
    _prog: OwnedFd,
}

pub(crate) fn bpf(cmd: libc::c_long, attr: &mut [u8]) -> Result<OwnedFd, std::io::Error> {
    // SAFETY: attr is a valid buffer of the size passed; the kernel reads (and for some
    // commands writes) within it.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr.as_mut_ptr(),
            attr.len() as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The last line a kernel log buffer (the verifier's, BTF's) holds that is not blank; empty
/// when the kernel wrote nothing.
pub(crate) fn last_log_line(log: &[u8]) -> String {
    String::from_utf8_lossy(log)
        .trim_end_matches('\0')
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_string()
}

pub(crate) fn put_u32(attr: &mut [u8], at: usize, v: u32) {
    attr[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}

pub(crate) fn put_u64(attr: &mut [u8], at: usize, v: u64) {
    attr[at..at + 8].copy_from_slice(&v.to_ne_bytes());
}

/// Loads the program for `slot` against `function` (a `security_` function, found in the
/// kernel's BTF) with the `override_tasks` map `map`, and attaches it. The error is one
/// line, with the kernel's verifier log when it refused the program.
pub fn attach(
    btf: &Btf,
    map: BorrowedFd<'_>,
    function: &str,
    slot: u32,
) -> Result<FmodRet, String> {
    load_attach(btf, function, &program(slot, map.as_raw_fd()))
}

/// Loads the enforcer program for `key` (see [`enforcer_program`]) against `function` (a
/// `security_` function of the kernel's BTF) with the `override_tasks` map `map`, and
/// attaches it. The error is one line, as [`attach`]'s.
pub fn attach_enforcer(
    btf: &Btf,
    map: BorrowedFd<'_>,
    function: &str,
    key: u32,
) -> Result<FmodRet, String> {
    load_attach(btf, function, &enforcer_program(key, map.as_raw_fd()))
}

fn load_attach(btf: &Btf, function: &str, insns: &[Insn]) -> Result<FmodRet, String> {
    let btf_id = btf
        .id_by_type_name_kind(function, aya_obj::btf::BtfKind::Func)
        .map_err(|e| format!("`{function}` is not a function in the kernel's BTF: {e}"))?;
    let license = b"GPL\0";
    let mut log = vec![0u8; 4096];
    // union bpf_attr for BPF_PROG_LOAD, up to attach_btf_obj_fd (include/uapi/linux/bpf.h)
    let mut attr = [0u8; 120];
    put_u32(&mut attr, 0, BPF_PROG_TYPE_TRACING);
    put_u32(&mut attr, 4, insns.len() as u32);
    put_u64(&mut attr, 8, insns.as_ptr() as u64);
    put_u64(&mut attr, 16, license.as_ptr() as u64);
    put_u32(&mut attr, 24, 1); // log_level
    put_u32(&mut attr, 28, log.len() as u32);
    put_u64(&mut attr, 32, log.as_mut_ptr() as u64);
    attr[48..48 + 14].copy_from_slice(b"policyctl_fmod");
    put_u32(&mut attr, 68, BPF_MODIFY_RETURN); // expected_attach_type
    put_u32(&mut attr, 108, btf_id); // attach_btf_id (vmlinux)
    let prog = bpf(BPF_PROG_LOAD, &mut attr).map_err(|e| {
        let last = last_log_line(&log);
        if last.is_empty() {
            format!("the kernel refused an fmod_ret program on `{function}`: {e}")
        } else {
            format!(
                "the kernel refused an fmod_ret program on `{function}`: {e} (verifier: {last})"
            )
        }
    })?;
    // union bpf_attr for BPF_RAW_TRACEPOINT_OPEN: name (none for tracing programs), prog_fd
    let mut attr = [0u8; 16];
    put_u32(&mut attr, 8, prog.as_raw_fd() as u32);
    let link = bpf(BPF_RAW_TRACEPOINT_OPEN, &mut attr)
        .map_err(|e| format!("cannot attach an fmod_ret program to `{function}`: {e}"))?;
    Ok(FmodRet {
        _link: link,
        _prog: prog,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jump_lands_on_the_run_branch() {
        let p = program(7, 3);
        let jump = p.iter().position(|i| i.code == 0x15).unwrap();
        let target = jump + 1 + p[jump].off as usize;
        // r0 = 0, then exit: the function runs
        assert_eq!(p[target].code, 0xb7);
        assert_eq!(p[target + 1].code, 0x95);
        assert_eq!(target + 2, p.len());
        // the key's low half is the slot
        assert!(p.iter().any(|i| i.code == 0x47 && i.imm == 7));
    }

    #[test]
    fn the_enforcer_jumps_land_where_they_say() {
        let key = crate::layout::ENFORCER_KEY | 5;
        let p = enforcer_program(key, 3);
        let jumps: Vec<usize> = (0..p.len()).filter(|&i| p[i].code == 0x15).collect();
        assert_eq!(jumps.len(), 2);
        // no entry: r0 = 0, then exit (the function runs)
        let run = jumps[0] + 1 + p[jumps[0]].off as usize;
        assert_eq!((p[run].code, p[run].imm), (0xb7, 0));
        assert_eq!(p[run + 1].code, 0x95);
        assert_eq!(run + 2, p.len());
        // no signal: the send_signal call is skipped, and only it
        let call = jumps[1] + 1;
        assert_eq!((p[call].code, p[call].imm), (0x85, HELPER_SEND_SIGNAL));
        assert_eq!(p[jumps[1]].off, 1);
        // the key fits a sign-extended immediate: the thread id's half stays clean
        assert!(p
            .iter()
            .any(|i| i.code == 0x47 && i.imm == key as i32 && i.imm > 0));
        // the error is returned sign-extended from the value's low half
        let exit = run - 1;
        assert_eq!((p[exit - 1].code, p[exit - 1].imm), (0xc7, 32));
    }
}
