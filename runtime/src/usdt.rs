//! USDT probes: the `stapsdt` notes of an ELF binary (what `<sys/sdt.h>` writes into
//! `.note.stapsdt`), read as Tetragon reads them (pkg/elf/usdt_linux.go `UsdtTargets`), and their
//! argument specs (`-4@%eax`, `8@-8(%rbp)`, `4@$5`, `1@-96(%rbp,%rax,8)`) parsed as Tetragon
//! parses them on x86_64 (pkg/elf/usdtargs_linux.go `parseArgs`, usdtargs_linux_amd64.go).
//!
//! The binary is read with [`crate::elf`] (bounded, a malformed file an error, never a panic),
//! the note sections up to [`MAX_NOTES`] bytes each.

use crate::elf::{self, Bytes, Elf, FileBytes, ReadError, PF_X, SHT_NOTE};
use crate::layout::{usdt_kind as kind, UsdtArg, UsdtSpec};

/// Bytes of note sections read per section, at most.
pub const MAX_NOTES: u64 = 16 << 20;
/// Arguments of a probe Tetragon keeps (`UsdtSpec.Args [12]UsdtArg`).
pub const MAX_PROBE_ARGS: usize = 12;

/// One argument of a probe site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeArg {
    /// As it reads in the note (`-4@-8(%rbp)`).
    pub text: String,
    /// Size in bytes (1, 2, 4, 8).
    pub size: u8,
    /// Signed (a negative size in the note).
    pub signed: bool,
    /// Where it is, for the BPF program.
    pub spec: UsdtArg,
}

/// One probe site: a `stapsdt` note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The provider (`python`).
    pub provider: String,
    /// The probe's name (`function__entry`).
    pub name: String,
    /// The argument specs as written.
    pub args_text: String,
    /// The arguments parsed (up to the first that does not parse, as Tetragon).
    pub args: Vec<ProbeArg>,
    /// Where the uprobe attaches: the file offset of the probe's instruction.
    pub offset: u64,
    /// The file offset of the probe's semaphore, 0 when it has none.
    pub semaphore: u64,
}

/// The USDT probes of the binary at `path`.
pub fn read(path: &str) -> Result<Vec<Probe>, ReadError> {
    let file = FileBytes::open(path)?;
    probes(&file).map_err(|e| ReadError::Bad(format!("{path}: {e}")))
}

const NT_STAPSDT: u32 = 3;

/// The probes of an ELF image.
pub fn probes<B: Bytes + ?Sized>(b: &B) -> Result<Vec<Probe>, String> {
    let elf = Elf::parse(b)?;
    let segments = elf.load_segments()?;
    let sections = elf.sections()?;
    let names = elf.section_names(&sections)?;
    // Tetragon's getBase: the address of `.stapsdt.base`, when there is one
    let bases: Vec<&elf::Section> = sections
        .iter()
        .filter(|s| names.get(s.name) == Some(b".stapsdt.base"))
        .collect();
    if bases.len() > 1 {
        return Err("more than 1 .stapsdt.base sections".into());
    }
    let base = bases.first().map_or(0, |s| s.addr);
    // the first PT_LOAD segment that holds `addr`, which must (or must not) be executable
    let file_offset = |addr: u64, exec: bool| -> Result<u64, String> {
        let seg = segments
            .iter()
            .find(|s| s.holds(addr))
            .ok_or_else(|| format!("failed to find elf program header for {addr:x}"))?;
        if (seg.flags & PF_X != 0) != exec {
            let with = if exec { "with" } else { "without" };
            return Err(format!(
                "failed to find elf program header for {addr:x} {with} PF_X"
            ));
        }
        seg.file_offset(addr)
            .ok_or_else(|| format!("the file offset of {addr:x} overflows"))
    };

    let mut out = Vec::new();
    for s in sections.iter().filter(|s| s.sh_type == SHT_NOTE) {
        let data = elf.data(s, MAX_NOTES, "a note section")?;
        for note in elf::notes(&data)? {
            if note.name != b"stapsdt" || note.ty != NT_STAPSDT {
                continue;
            }
            let desc = note.desc;
            if desc.len() < 24 + 3 {
                return Err("failed to read elf note: a stapsdt note too short".into());
            }
            let word = |i: usize| {
                u64::from_le_bytes(desc[i * 8..i * 8 + 8].try_into().unwrap_or_default())
            };
            let (pc, note_base, sema) = (word(0), word(1), word(2));
            let mut strings = desc[24..].split(|c| *c == 0);
            let mut next_str = || -> Result<String, String> {
                strings
                    .next()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .ok_or_else(|| "failed to parse usdt string".to_string())
            };
            let provider = next_str()?;
            let probe_name = next_str()?;
            let args_text = next_str()?;
            let mut ip = pc;
            if base != 0 && note_base != 0 {
                ip = ip.wrapping_add(base.wrapping_sub(note_base));
            }
            let offset = file_offset(ip, true)?;
            let semaphore = if sema != 0 {
                file_offset(sema, false)?
            } else {
                0
            };
            out.push(Probe {
                provider,
                name: probe_name,
                args: parse_args(&args_text),
                args_text,
                offset,
                semaphore,
            });
        }
    }
    Ok(out)
}

/// The arguments of a probe's spec, up to the first that does not parse (Tetragon's
/// parseArgs returns at the first error, and its caller keeps what was parsed).
pub fn parse_args(text: &str) -> Vec<ProbeArg> {
    text.split_whitespace()
        .take(MAX_PROBE_ARGS)
        .map_while(parse_arg)
        .collect()
}

/// The offset of an x86_64 register in `struct pt_regs` by any of its names (Tetragon's
/// pkg/asm/regoffset_linux_amd64.go `RegOffset`).
pub fn reg_offset(name: &str) -> Option<u16> {
    const REGS: [([&str; 4], u16); 17] = [
        (["rip", "eip", "", ""], 128),
        (["rax", "eax", "ax", "al"], 80),
        (["rbx", "ebx", "bx", "bl"], 40),
        (["rcx", "ecx", "cx", "cl"], 88),
        (["rdx", "edx", "dx", "dl"], 96),
        (["rsi", "esi", "si", "sil"], 104),
        (["rdi", "edi", "di", "dil"], 112),
        (["rbp", "ebp", "bp", "bpl"], 32),
        (["rsp", "esp", "sp", "spl"], 152),
        (["r8", "r8d", "r8w", "r8b"], 72),
        (["r9", "r9d", "r9w", "r9b"], 64),
        (["r10", "r10d", "r10w", "r10b"], 56),
        (["r11", "r11d", "r11w", "r11b"], 48),
        (["r12", "r12d", "r12w", "r12b"], 24),
        (["r13", "r13d", "r13w", "r13b"], 16),
        (["r14", "r14d", "r14w", "r14b"], 8),
        (["r15", "r15d", "r15w", "r15b"], 0),
    ];
    if name.is_empty() {
        return None;
    }
    REGS.iter()
        .find(|(names, _)| names.contains(&name))
        .map(|(_, off)| *off)
}

/// A leading signed decimal integer and the rest.
fn int_prefix(s: &str) -> Option<(i64, &str)> {
    let digits_from = usize::from(s.starts_with(['-', '+']));
    let end = s[digits_from..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(s.len(), |e| e + digits_from);
    if end == digits_from {
        return None;
    }
    Some((s[..end].parse().ok()?, &s[end..]))
}

/// `%reg` → its offset.
fn reg(s: &str) -> Option<u16> {
    reg_offset(s.strip_prefix('%')?)
}

/// One argument spec (x86_64): `SIZE@$CONST`, `SIZE@%REG`, `SIZE@[OFF](%REG)`,
/// `SIZE@[OFF](%BASE,%INDEX[,SCALE])`.
pub fn parse_arg(text: &str) -> Option<ProbeArg> {
    let (size, rest) = int_prefix(text)?;
    let loc = rest.strip_prefix('@')?;
    let mut spec = UsdtArg::default();
    if let Some(c) = loc.strip_prefix('$') {
        let (v, tail) = int_prefix(c)?;
        if !tail.is_empty() {
            return None;
        }
        spec.kind = kind::CONST;
        spec.val_off = v as u64;
    } else if loc.starts_with('%') {
        spec.kind = kind::REG;
        spec.reg_off = reg(loc)?;
    } else {
        let (off, paren) = match int_prefix(loc) {
            Some((off, tail)) => (off, tail),
            None => (0, loc),
        };
        let inner = paren.strip_prefix('(')?.strip_suffix(')')?;
        let parts: Vec<&str> = inner.split(',').collect();
        spec.val_off = off as u64;
        match parts.as_slice() {
            [base] => {
                spec.kind = kind::REG_DEREF;
                spec.reg_off = reg(base)?;
            }
            [base, index, more @ ..] if more.len() <= 1 => {
                spec.kind = kind::SIB;
                spec.reg_off = reg(base)?;
                spec.reg_idx_off = reg(index)?;
                spec.scale = match more.first().map(|s| s.parse::<u32>()) {
                    None => 0,
                    Some(Ok(1)) => 0,
                    Some(Ok(2)) => 1,
                    Some(Ok(4)) => 2,
                    Some(Ok(8)) => 3,
                    Some(Ok(_)) => 0,
                    Some(Err(_)) => return None,
                };
            }
            _ => return None,
        }
    }
    let signed = size < 0;
    let bytes = size.unsigned_abs();
    if !matches!(bytes, 1 | 2 | 4 | 8) {
        return None;
    }
    spec.shift = 64 - bytes as u8 * 8;
    spec.sig = signed as u8;
    Some(ProbeArg {
        text: text.to_string(),
        size: bytes as u8,
        signed,
        spec,
    })
}

/// The per-slot spec of a site: its arguments in the policy's order (`args[i]` is the probe
/// argument the policy's i-th arg names).
pub fn spec_for(probe: &Probe, indexes: &[usize]) -> UsdtSpec {
    let mut out = UsdtSpec::default();
    for (i, idx) in indexes.iter().enumerate() {
        if let (Some(slot), Some(arg)) = (out.args.get_mut(i), probe.args.get(*idx)) {
            *slot = arg.spec;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arg_specs_as_tetragon_parses_them() {
        let a = parse_arg("-4@%eax").unwrap();
        assert_eq!(
            (a.spec.kind, a.spec.reg_off, a.size, a.signed),
            (kind::REG, 80, 4, true)
        );
        assert_eq!(a.spec.shift, 32);
        let a = parse_arg("8@-8(%rbp)").unwrap();
        assert_eq!(
            (a.spec.kind, a.spec.reg_off, a.spec.val_off),
            (kind::REG_DEREF, 32, (-8i64) as u64)
        );
        let a = parse_arg("8@(%rdi)").unwrap();
        assert_eq!(
            (a.spec.kind, a.spec.reg_off, a.spec.val_off),
            (kind::REG_DEREF, 112, 0)
        );
        let a = parse_arg("4@$5").unwrap();
        assert_eq!((a.spec.kind, a.spec.val_off), (kind::CONST, 5));
        let a = parse_arg("-4@$-9").unwrap();
        assert_eq!(a.spec.val_off, (-9i64) as u64);
        let a = parse_arg("1@-96(%rbp,%rax,8)").unwrap();
        assert_eq!(
            (
                a.spec.kind,
                a.spec.reg_off,
                a.spec.reg_idx_off,
                a.spec.scale,
                a.spec.shift
            ),
            (kind::SIB, 32, 80, 3, 56)
        );
        let a = parse_arg("2@(%rbp,%rax)").unwrap();
        assert_eq!(
            (a.spec.kind, a.spec.scale, a.spec.val_off),
            (kind::SIB, 0, 0)
        );
        assert!(parse_arg("3@%eax").is_none(), "size 3");
        assert!(parse_arg("4@%xmm0").is_none(), "no such register");
        assert!(parse_arg("4@").is_none());
        assert!(parse_arg("").is_none());
        // parsing stops at the first argument that does not parse
        assert_eq!(parse_args("4@%eax 3@%ebx 8@%rcx").len(), 1);
    }

    #[test]
    fn malformed_images_are_errors_not_panics() {
        assert!(probes(&b""[..]).is_err());
        assert!(probes(&b"\x7fELF"[..]).is_err());
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        assert_eq!(probes(&h[..]).unwrap(), vec![]);
        // section headers past the end
        h[0x28] = 0xff;
        h[0x3a] = 64;
        h[0x3c] = 3;
        assert!(probes(&h[..]).is_err());
        // every byte pattern of a short image
        for n in 0..=255u8 {
            let mut g = h.clone();
            g.iter_mut().skip(0x20).for_each(|b| *b = n);
            let _ = probes(&g[..]);
        }
    }
}
