//! Override on uprobes: the probed thread's registers written when a selector matches.
//!
//! Tetragon's uprobe Override (`parseOverrideRegs` in pkg/selectors/kernel_regs_amd64.go)
//! is a list of register assignments (`argRegs`, parsed by `ParseAssignment` in
//! pkg/asm/assignment_linux.go) that its `uprobe_offload` (bpf/process/uprobe_offload.h)
//! runs in order on the thread's `pt_regs`. Without `argRegs` the list makes the function
//! return `argError` to its caller at once: `rax=argError`, `rip=(%rsp)` (the return address),
//! `rsp=8%rsp` (popped). `argNewSymbol`, `argNewAddr` and `argNewOffset` add `rip=D%rip`,
//! where D is the distance from the probed place to the target (`computeArgNewOffset` in
//! pkg/sensors/tracing/genericuprobe.go), so the thread goes on at the target instead.
//!
//! Registers are x86_64's by the names Tetragon takes: the one table is the validator's
//! [`facts::pt_regs_register`] (offset in `struct pt_regs`, bytes by name), which also names
//! `data` args' registers. The BPF side (`uprobe_write_regs` in `bpf/policyctl.bpf.c`) knows
//! only offsets.

use policyctl_validator::{facts, golang};

use crate::elf::{self, ReadError};
use crate::layout::{reg_ass, RegAssignment, UprobeRegs, REGS_MAX};

/// How one step of [`parse_assignment`] went: the value is not of its form (the next form is
/// tried), or it is and names no register (an error).
enum Step {
    Next,
    Done(RegAssignment),
    Bad(String),
}

/// A register by name: (offset in `struct pt_regs`, bytes).
fn register(name: &str) -> Result<(u16, u8), String> {
    facts::pt_regs_register(name).ok_or_else(|| format!("`{name}` is not an x86_64 register"))
}

/// The step that reads register `name` as `ty` (with `off` where the form has one).
fn from_register(name: &str, ty: u8, off: u64) -> Step {
    match register(name) {
        Ok((src, src_size)) => Step::Done(RegAssignment {
            ty,
            off,
            src,
            src_size,
            ..Default::default()
        }),
        Err(e) => Step::Bad(e),
    }
}

/// An offset or constant as Tetragon's `parseOffset`: with a leading `-`, Go's
/// `strconv.ParseInt(s, 0, 64)` kept in two's complement, else `strconv.ParseUint(s, 0, 64)`
/// (so `+5` is refused).
fn parse_offset(s: &str) -> Option<u64> {
    if s.starts_with('-') {
        golang::parse_int(s, 64).ok().map(|v| v as u64)
    } else {
        golang::parse_uint(s, 64).ok()
    }
}

/// `OFF(%REG)` or `(%REG)`: memory at the register plus the offset.
fn reg_deref(src: &str) -> Step {
    let s = src.trim();
    let Some(open) = s.find('(') else {
        return Step::Next;
    };
    let off_text = s[..open].trim();
    let off = if off_text.is_empty() {
        0
    } else {
        match parse_offset(off_text) {
            Some(v) => v,
            None => return Step::Next,
        }
    };
    // spaces may come before `%`, not between it and the name
    let Some(rest) = s[open + 1..].trim_start().strip_prefix('%') else {
        return Step::Next;
    };
    let Some(close) = rest.find(')') else {
        return Step::Next;
    };
    let name = rest[..close].trim_end();
    if name.is_empty() || !rest[close + 1..].trim().is_empty() {
        return Step::Next;
    }
    from_register(name, reg_ass::REG_DEREF, off)
}

/// `OFF%REG`: the register plus the offset.
fn reg_off(src: &str) -> Step {
    let Some((off_text, name)) = src.split_once('%') else {
        return Step::Next;
    };
    let off_text = off_text.trim();
    if off_text.is_empty() {
        return Step::Next;
    }
    let Some(off) = parse_offset(off_text) else {
        return Step::Next;
    };
    let name = name.trim_end();
    if name.is_empty() {
        return Step::Next;
    }
    from_register(name, reg_ass::REG_OFF, off)
}

/// `%REG`: the register.
fn reg(src: &str) -> Step {
    let Some(name) = src.trim().strip_prefix('%') else {
        return Step::Next;
    };
    let name = name.trim_end();
    if name.is_empty() {
        return Step::Next;
    }
    from_register(name, reg_ass::REG, 0)
}

/// `CONST`: a number.
fn constant(src: &str) -> Step {
    match parse_offset(src.trim()) {
        Some(off) => Step::Done(RegAssignment {
            ty: reg_ass::CONST,
            off,
            ..Default::default()
        }),
        None => Step::Next,
    }
}

/// One `argRegs` entry, `REG=VALUE`, in the forms Tetragon's `ParseAssignment` takes (spaces
/// around both sides allowed): `rax=1` (a constant: decimal, `0x` hex, `0o`/leading-`0`
/// octal, `0b` binary, negative in two's complement), `rax=%rbx` (a register), `rsp=8%rsp`
/// (a register plus an offset), `rip=(%rsp)` and `rbp=-16(%rsp)` (the 8 bytes of user memory
/// at a register plus an offset). A register named by a smaller form (`eax`, `ax`, `al`)
/// reads or writes only its low 4, 2 or 1 bytes.
pub fn parse_assignment(text: &str) -> Result<RegAssignment, String> {
    let bad = |why: &str| format!("argRegs `{text}`: {why}");
    let (dst, src) = text
        .split_once('=')
        .map(|(d, s)| (d.trim(), s.trim()))
        .filter(|(d, s)| !d.is_empty() && !s.is_empty() && !s.contains('='))
        .ok_or_else(|| bad("not one assignment `REGISTER=VALUE`"))?;
    let (dst_off, dst_size) = register(dst).map_err(|e| bad(&e))?;
    for form in [reg_deref, reg_off, reg, constant] {
        match form(src) {
            Step::Next => continue,
            Step::Bad(e) => return Err(bad(&e)),
            Step::Done(mut a) => {
                a.dst = dst_off;
                a.dst_size = dst_size;
                return Ok(a);
            }
        }
    }
    Err(bad(
        "the value is none of `NUMBER`, `%REG`, `OFFSET%REG`, `(%REG)` and `OFFSET(%REG)`",
    ))
}

/// A selector's Override on a uprobe as Tetragon's `parseOverrideRegs` compiles it: `arg_regs`
/// in order, then `rip=DELTA%rip` when the hook jumps (`ip_delta`, see [`ip_delta`], not 0);
/// with neither, a return to the caller with `arg_error` (Tetragon's `uint64(argError)`:
/// `argError` is an int32, sign-extended). More than [`REGS_MAX`] assignments are refused
/// (Tetragon keeps the first ones and logs a warning).
pub fn override_regs(
    arg_regs: &[String],
    arg_error: i32,
    ip_delta: i64,
) -> Result<UprobeRegs, String> {
    let mut texts: Vec<String> = arg_regs.to_vec();
    if ip_delta != 0 {
        texts.push(format!("rip={ip_delta}%rip"));
    }
    if texts.is_empty() {
        texts = vec![
            format!("rax={}", i64::from(arg_error) as u64),
            "rip=(%rsp)".into(),
            "rsp=8%rsp".into(),
        ];
    }
    if texts.len() > REGS_MAX {
        return Err(format!(
            "Override on a uprobe with {} register assignments: at most {REGS_MAX} run (Tetragon drops the rest)",
            texts.len()
        ));
    }
    let mut regs = UprobeRegs::default();
    for (i, t) in texts.iter().enumerate() {
        regs.ass[i] = parse_assignment(t)?;
    }
    regs.cnt = texts.len() as u32;
    Ok(regs)
}

/// A place in a binary, as a uprobe or an Override's target names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A function of the binary's `.symtab` (uprobe `symbols`, `argNewSymbol`).
    Symbol(String),
    /// A virtual address (uprobe `addrs`, `argNewAddr`).
    Addr(u64),
    /// A file offset (uprobe `offsets`, `argNewOffset`).
    Offset(u64),
}

/// The virtual address of `place` in the parsed binary, as Tetragon's `SafeELFFile.Address`
/// (the first `STT_FUNC` of the name in `.symtab`) and `AddrFromOffset` (through the
/// executable `PT_LOAD` segment holding the offset) find it.
fn address<B: elf::Bytes + ?Sized>(elf: &elf::Elf<'_, B>, place: &Place) -> Result<u64, String> {
    match place {
        Place::Addr(a) => Ok(*a),
        Place::Offset(off) => elf
            .load_segments()?
            .iter()
            .filter(|s| s.flags & elf::PF_X != 0)
            .find(|s| s.offset <= *off && *off < s.offset.saturating_add(s.filesz))
            .map(|s| off - s.offset + s.vaddr)
            .ok_or_else(|| format!("no executable segment holds the file offset {off:#x}")),
        Place::Symbol(name) => {
            let sections = elf.sections()?;
            let table = elf
                .symbols(&sections, elf::SHT_SYMTAB, elf::SYMBOL_BYTES)?
                .ok_or_else(|| format!("no .symtab to find function `{name}` in"))?;
            let found = table
                .iter()
                .find(|s| s.kind() == elf::STT_FUNC && s.name == Some(name.as_bytes()))
                .map(|s| s.value);
            found.ok_or_else(|| format!("function `{name}` is not in its .symtab"))
        }
    }
}

/// How far the thread jumps from the probed place `probed` to the Override's `target`, both
/// in the binary at `path`: the difference of their virtual addresses, which loading the
/// binary anywhere keeps (Tetragon's `computeArgNewOffset`; the BPF side adds it to `rip`).
pub fn ip_delta(path: &str, probed: &Place, target: &Place) -> Result<i64, ReadError> {
    let file = elf::FileBytes::open(path)?;
    let in_path = |e: String| ReadError::Bad(format!("{path}: {e}"));
    let elf = elf::Elf::parse(&file).map_err(in_path)?;
    let from = address(&elf, probed).map_err(in_path)?;
    let to = address(&elf, target).map_err(in_path)?;
    Ok(to.wrapping_sub(from) as i64)
}

/// Whether this kernel lets uprobe programs write the probed thread's registers, found as
/// Tetragon's `detectUprobeRegsChange` (pkg/bpf/detect_linux.go) finds it: a kprobe-type
/// program that stores into its context loads (Linux 6.18; older kernels refuse the store).
/// The program is closed at once, never attached.
pub fn kernel_writes_uprobe_regs() -> bool {
    use crate::fmodret::{bpf, insn, put_u32, put_u64, BPF_PROG_LOAD};
    const BPF_PROG_TYPE_KPROBE: u32 = 2;
    let insns = [
        insn(0x7a, 1, 0, 0, 0xdead), // *(u64 *)(r1 + 0) = 0xdead: the context's first register
        insn(0xb7, 0, 0, 0, 0),      // r0 = 0
        insn(0x95, 0, 0, 0, 0),      // exit
    ];
    let license = b"GPL\0";
    // union bpf_attr for BPF_PROG_LOAD: prog_type, insn_cnt, insns, license
    let mut attr = [0u8; 120];
    put_u32(&mut attr, 0, BPF_PROG_TYPE_KPROBE);
    put_u32(&mut attr, 4, insns.len() as u32);
    put_u64(&mut attr, 8, insns.as_ptr() as u64);
    put_u64(&mut attr, 16, license.as_ptr() as u64);
    attr[48..48 + 15].copy_from_slice(b"policyctl_uregs");
    bpf(BPF_PROG_LOAD, &mut attr).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> RegAssignment {
        parse_assignment(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// (type, dst, src, off) of an assignment.
    type Key = (u8, u16, u16, u64);

    fn a(ty: u8, dst: u16, src: u16, off: u64) -> Key {
        (ty, dst, src, off)
    }

    fn key(r: RegAssignment) -> Key {
        (r.ty, r.dst, r.src, r.off)
    }

    /// Every form of Tetragon's TestAssignment (pkg/asm/assignment_linux_amd64_test.go), with
    /// the offsets and values it expects.
    #[test]
    fn the_forms_tetragon_parses() {
        use reg_ass::*;
        let cases: &[(&str, Key)] = &[
            ("rax=010", a(CONST, 0x50, 0, 8)),
            ("rax=1", a(CONST, 0x50, 0, 1)),
            ("rbx=-1", a(CONST, 0x28, 0, u64::MAX)),
            ("rcx=0x123", a(CONST, 0x58, 0, 0x123)),
            ("rax=0xffffffffffffffff", a(CONST, 0x50, 0, u64::MAX)),
            (
                "rax=0x8000000000000002",
                a(CONST, 0x50, 0, 0x8000000000000002),
            ),
            ("rax=18446744073709551615", a(CONST, 0x50, 0, u64::MAX)),
            ("rax=0b101", a(CONST, 0x50, 0, 5)),
            ("rax=0o17", a(CONST, 0x50, 0, 15)),
            ("rax=1_000", a(CONST, 0x50, 0, 1000)),
            ("rax=-0x10", a(CONST, 0x50, 0, (-16i64) as u64)),
            ("rax=-9223372036854775808", a(CONST, 0x50, 0, 1 << 63)),
            ("rsp=%rax", a(REG, 0x98, 0x50, 0)),
            ("rsp = %rax", a(REG, 0x98, 0x50, 0)),
            ("rbp=128%rax", a(REG_OFF, 0x20, 0x50, 128)),
            ("rbp = 010 %rax", a(REG_OFF, 0x20, 0x50, 8)),
            ("rax=0x80%rax", a(REG_OFF, 0x50, 0x50, 0x80)),
            ("rip=-7%rip", a(REG_OFF, 0x80, 0x80, (-7i64) as u64)),
            ("rbp=(%rsp)", a(REG_DEREF, 0x20, 0x98, 0)),
            (
                "rsp=-1372(%rbp)",
                a(REG_DEREF, 0x98, 0x20, 0xfffffffffffffaa4),
            ),
            ("rbp=0x20(%rsp)", a(REG_DEREF, 0x20, 0x98, 0x20)),
            ("rbp = 0x20 ( %rsp )", a(REG_DEREF, 0x20, 0x98, 0x20)),
            ("rsp=010(%rbp)", a(REG_DEREF, 0x98, 0x20, 8)),
        ];
        for (text, want) in cases {
            assert_eq!(key(ok(text)), *want, "{text}");
        }
    }

    /// The smaller names read and write the low bytes: sizes as Tetragon's RegOffsetSize.
    #[test]
    fn sizes_follow_the_name() {
        let r = ok("eax=%di");
        assert_eq!((r.dst, r.dst_size, r.src, r.src_size), (0x50, 4, 0x70, 2));
        let r = ok("r8b=(%r15)");
        assert_eq!((r.dst, r.dst_size, r.src, r.src_size), (72, 1, 0, 8));
        let r = ok("sil=3");
        assert_eq!((r.dst, r.dst_size, r.src_size), (104, 1, 0));
        let r = ok("eip=8%esp");
        assert_eq!((r.dst, r.dst_size, r.src, r.src_size), (0x80, 4, 0x98, 4));
    }

    /// Tetragon's TestAssignmentInvalid, and a few more.
    #[test]
    fn what_tetragon_refuses() {
        for text in [
            "rax=",
            "=1",
            "rax=1=2",
            "ra x=1",
            "rax=1 2",
            "rax=abc",
            "rbp=0x2 0(%rsp)",
            "rbp=0x20(%rsp",
            "rbp=0x20(%rsp)junk",
            "rbp=0x20(% rsp)",
            "rsp=%rax)",
            "rsp=% rax",
            "rsp=%r ax",
            "rsp=8% rax",
            "rsp=8%rax garbage",
            "rsp=8%r ax",
            "rax=0x20()",
            "rax=0x20(%notareg)",
            // more: no `=`, unknown registers, numbers Go refuses
            "rax",
            "",
            "xmm0=1",
            "rax=%xmm0",
            "rax=+5",
            "rax=18446744073709551616",
            "rax=-9223372036854775809",
            "rax=09",
            "rax=1__0",
            "rax=_1",
            "rax=0x",
            "orig_ax=1",
            "cs=1",
        ] {
            assert!(parse_assignment(text).is_err(), "{text} parsed");
        }
        let e = parse_assignment("rax=0x20(%notareg)").unwrap_err();
        assert!(e.contains("`notareg` is not an x86_64 register"), "{e}");
        let e = parse_assignment("rax=1 2").unwrap_err();
        assert!(e.contains("none of"), "{e}");
    }

    /// Without argRegs or a jump, the function returns argError to its caller
    /// (parseOverrideRegs' defaults); a jump replaces the defaults with `rip=D%rip`, after
    /// argRegs when there are some.
    #[test]
    fn defaults_and_jumps() {
        use reg_ass::*;
        let r = override_regs(&[], -1, 0).unwrap();
        assert_eq!(r.cnt, 3);
        assert_eq!(key(r.ass[0]), a(CONST, 0x50, 0, u64::MAX));
        assert_eq!(key(r.ass[1]), a(REG_DEREF, 0x80, 0x98, 0));
        assert_eq!(key(r.ass[2]), a(REG_OFF, 0x98, 0x98, 8));
        let r = override_regs(&[], 7, -0x40).unwrap();
        assert_eq!(r.cnt, 1);
        assert_eq!(key(r.ass[0]), a(REG_OFF, 0x80, 0x80, (-0x40i64) as u64));
        let r = override_regs(&["rax=1".into()], 7, 0x10).unwrap();
        assert_eq!(r.cnt, 2);
        assert_eq!(key(r.ass[0]), a(CONST, 0x50, 0, 1));
        assert_eq!(key(r.ass[1]), a(REG_OFF, 0x80, 0x80, 0x10));
        let many: Vec<String> = (0..=REGS_MAX).map(|i| format!("rax={i}")).collect();
        assert!(override_regs(&many, 0, 0).is_err());
        assert_eq!(override_regs(&many[..REGS_MAX], 0, 0).unwrap().cnt, 18);
        assert!(override_regs(&["rax=junk".into()], 0, 0).is_err());
    }
}
