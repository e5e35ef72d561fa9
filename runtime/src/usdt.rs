//! USDT probes: the `stapsdt` notes of an ELF binary (what `<sys/sdt.h>` writes into
//! `.note.stapsdt`), read as Tetragon reads them (pkg/elf/usdt_linux.go `UsdtTargets`), and their
//! argument specs (`-4@%eax`, `8@-8(%rbp)`, `4@$5`, `1@-96(%rbp,%rax,8)`) parsed as Tetragon
//! parses them on x86_64 (pkg/elf/usdtargs_linux.go `parseArgs`, usdtargs_linux_amd64.go).
//!
//! The same program headers give the file offset of a virtual address, for uprobe `addrs`
//! (pkg/elf/file.go `OffsetFromAddr`: [`offset_from_addr`]).
//!
//! Our own small reader: 64-bit little-endian ELF only (the runtime's BPF programs are
//! x86_64's), every offset and size checked, the note sections read up to [`MAX_NOTES`] bytes
//! each; a malformed file is an error, never a panic.

use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;

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

/// Why a binary's probes could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The file does not exist (a fact of the host, not of the policy).
    Missing(String),
    /// The file could not be read or is not an ELF binary with well-formed notes.
    Bad(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Missing(s) | ReadError::Bad(s) => f.write_str(s),
        }
    }
}

/// The USDT probes of the binary at `path`.
pub fn read(path: &str) -> Result<Vec<Probe>, ReadError> {
    let file = open(path)?;
    probes(&FileBytes(file)).map_err(|e| ReadError::Bad(format!("{path}: {e}")))
}

fn open(path: &str) -> Result<File, ReadError> {
    File::open(path).map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            ReadError::Missing(format!("{path}: no such file"))
        } else {
            ReadError::Bad(format!("{path}: {e}"))
        }
    })
}

/// Random access to the bytes of a binary.
pub trait Bytes {
    /// `len` bytes at `offset`; an error past the end.
    fn at(&self, offset: u64, len: u64) -> Result<Vec<u8>, String>;
}

struct FileBytes(File);

impl Bytes for FileBytes {
    fn at(&self, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        let len = usize::try_from(len).map_err(|_| "a section too large".to_string())?;
        let mut buf = vec![0; len];
        self.0
            .read_exact_at(&mut buf, offset)
            .map_err(|e| format!("reading {len} bytes at {offset:#x}: {e}"))?;
        Ok(buf)
    }
}

impl Bytes for [u8] {
    fn at(&self, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        let start = usize::try_from(offset).map_err(|_| "offset too large".to_string())?;
        let len = usize::try_from(len).map_err(|_| "size too large".to_string())?;
        start
            .checked_add(len)
            .and_then(|end| self.get(start..end))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| format!("{len} bytes at {offset:#x} lie past the end of the file"))
    }
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    b.get(o..o + 2)
        .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    b.get(o..o + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    b.get(o..o + 8).map_or(0, |s| {
        let mut a = [0; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
}

const SHT_NOTE: u32 = 7;
const PT_LOAD: u32 = 1;
const PF_X: u32 = 1;
const NT_STAPSDT: u32 = 3;

struct Segment {
    flags: u32,
    offset: u64,
    vaddr: u64,
    memsz: u64,
}

/// The probes of an ELF image.
pub fn probes<B: Bytes + ?Sized>(b: &B) -> Result<Vec<Probe>, String> {
    let eh = elf_header(b)?;
    let segments = load_segments(b, &eh)?;
    let shoff = u64_at(&eh, 0x28);
    let shentsize = u64::from(u16_at(&eh, 0x3a));
    let shnum = u64::from(u16_at(&eh, 0x3c));
    let shstrndx = u64::from(u16_at(&eh, 0x3e));
    if shnum > 0 && shentsize < 64 {
        return Err("ELF header sizes too small".into());
    }
    let mut sections = Vec::new();
    for i in 0..shnum {
        sections.push(b.at(shoff + i * shentsize, 64)?);
    }
    let names = match sections.get(shstrndx as usize) {
        Some(s) => b.at(u64_at(s, 24), u64_at(s, 32).min(MAX_NOTES))?,
        None => Vec::new(),
    };
    let name_of = |s: &[u8]| -> &[u8] {
        let from = u32_at(s, 0) as usize;
        let rest = names.get(from..).unwrap_or(&[]);
        let end = rest.iter().position(|c| *c == 0).unwrap_or(rest.len());
        &rest[..end]
    };
    // Tetragon's getBase: the address of `.stapsdt.base`, when there is one
    let bases: Vec<&Vec<u8>> = sections
        .iter()
        .filter(|s| name_of(s) == b".stapsdt.base")
        .collect();
    if bases.len() > 1 {
        return Err("more than 1 .stapsdt.base sections".into());
    }
    let base = bases.first().map_or(0, |s| u64_at(s, 16));
    let segment_of = |addr: u64| {
        segments
            .iter()
            .find(|s| s.vaddr <= addr && addr - s.vaddr < s.memsz)
    };

    let mut out = Vec::new();
    for s in sections.iter().filter(|s| u32_at(s, 4) == SHT_NOTE) {
        let size = u64_at(s, 32);
        if size > MAX_NOTES {
            return Err(format!(
                "a note section of {size} bytes (more than {MAX_NOTES})"
            ));
        }
        let data = b.at(u64_at(s, 24), size)?;
        let mut at = 0usize;
        while at + 12 <= data.len() {
            let namesz = u32_at(&data, at) as usize;
            let descsz = u32_at(&data, at + 4) as usize;
            let ty = u32_at(&data, at + 8);
            let name_at = at + 12;
            let desc_at = name_at
                .checked_add(align4(namesz))
                .ok_or("a note name too long")?;
            let next = desc_at
                .checked_add(align4(descsz))
                .ok_or("a note too long")?;
            if next > data.len() {
                return Err("a note runs past its section".into());
            }
            at = next;
            let name = &data[name_at..name_at + namesz];
            let name = name.split(|c| *c == 0).next().unwrap_or(&[]);
            if name != b"stapsdt" || ty != NT_STAPSDT {
                continue;
            }
            if descsz < 24 + 3 {
                return Err("failed to read elf note: a stapsdt note too short".into());
            }
            let desc = &data[desc_at..desc_at + descsz];
            let pc = u64_at(desc, 0);
            let note_base = u64_at(desc, 8);
            let sema = u64_at(desc, 16);
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
            let seg = segment_of(ip)
                .ok_or_else(|| format!("failed to find elf program header for {ip:x}"))?;
            if seg.flags & PF_X == 0 {
                return Err(format!(
                    "failed to find elf program header for {ip:x} with PF_X"
                ));
            }
            let offset = ip - seg.vaddr + seg.offset;
            let semaphore = if sema != 0 {
                let seg = segment_of(sema)
                    .ok_or_else(|| format!("failed to find elf program header for {sema:x}"))?;
                if seg.flags & PF_X != 0 {
                    return Err(format!(
                        "failed to find elf program header for {sema:x} without PF_X"
                    ));
                }
                sema - seg.vaddr + seg.offset
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

/// The 64 bytes of an ELF header, checked to be a 64-bit little-endian ELF file's.
fn elf_header<B: Bytes + ?Sized>(b: &B) -> Result<Vec<u8>, String> {
    let eh = b.at(0, 64).map_err(|_| "not an ELF file (too short)")?;
    if eh[0..4] != [0x7f, b'E', b'L', b'F'] {
        return Err("not an ELF file".into());
    }
    if eh[4] != 2 || eh[5] != 1 {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    Ok(eh)
}

/// The `PT_LOAD` program headers of an ELF image whose header is `eh`.
fn load_segments<B: Bytes + ?Sized>(b: &B, eh: &[u8]) -> Result<Vec<Segment>, String> {
    let phoff = u64_at(eh, 0x20);
    let phentsize = u64::from(u16_at(eh, 0x36));
    let phnum = u64::from(u16_at(eh, 0x38));
    if phnum > 0 && phentsize < 56 {
        return Err("ELF header sizes too small".into());
    }
    let mut segments = Vec::new();
    for i in 0..phnum {
        let at = i
            .checked_mul(phentsize)
            .and_then(|o| o.checked_add(phoff))
            .ok_or("a program header lies past the end of the file")?;
        let p = b.at(at, 56)?;
        if u32_at(&p, 0) == PT_LOAD {
            segments.push(Segment {
                flags: u32_at(&p, 4),
                offset: u64_at(&p, 8),
                vaddr: u64_at(&p, 16),
                memsz: u64_at(&p, 40),
            });
        }
    }
    Ok(segments)
}

/// The file offset of the virtual address `addr` in an ELF image, as Tetragon's
/// `OffsetFromAddr` (pkg/elf/file.go) finds it for uprobe `addrs`: in the executable
/// (`PF_X`) `PT_LOAD` segment that holds it, `addr - p_vaddr + p_offset`.
pub fn offset_from_addr<B: Bytes + ?Sized>(b: &B, addr: u64) -> Result<u64, String> {
    let eh = elf_header(b)?;
    load_segments(b, &eh)?
        .iter()
        .find(|s| s.flags & PF_X != 0 && s.vaddr <= addr && addr - s.vaddr < s.memsz)
        .map(|s| addr - s.vaddr + s.offset)
        .ok_or_else(|| format!("failed to find offset for address {addr:x}"))
}

/// [`offset_from_addr`] in the binary at `path`.
pub fn file_offset_from_addr(path: &str, addr: u64) -> Result<u64, ReadError> {
    let file = open(path)?;
    offset_from_addr(&FileBytes(file), addr).map_err(|e| ReadError::Bad(format!("{path}: {e}")))
}

fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
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

    /// An ELF header and program headers: (type, flags, offset, vaddr, memsz) each.
    fn image(segments: &[(u32, u32, u64, u64, u64)]) -> Vec<u8> {
        let mut b = vec![0u8; 64];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        b[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        b[0x38..0x3a].copy_from_slice(&(segments.len() as u16).to_le_bytes());
        for &(ty, flags, offset, vaddr, memsz) in segments {
            let mut p = vec![0u8; 56];
            p[0..4].copy_from_slice(&ty.to_le_bytes());
            p[4..8].copy_from_slice(&flags.to_le_bytes());
            p[8..16].copy_from_slice(&offset.to_le_bytes());
            p[16..24].copy_from_slice(&vaddr.to_le_bytes());
            p[40..48].copy_from_slice(&memsz.to_le_bytes());
            b.extend(p);
        }
        b
    }

    #[test]
    fn addresses_map_to_offsets_in_the_executable_load_segment() {
        const PT_NOTE: u32 = 4;
        let img = image(&[
            (PT_LOAD, 4, 0, 0x400000, 0x1000),     // R
            (PT_NOTE, 5, 0x1000, 0x401000, 0x100), // not a load
            (PT_LOAD, 5, 0x1000, 0x401000, 0x200), // R E
            (PT_LOAD, 6, 0x2000, 0x403000, 0x100), // RW
        ]);
        assert_eq!(offset_from_addr(&img[..], 0x401136), Ok(0x1136));
        assert_eq!(offset_from_addr(&img[..], 0x401000), Ok(0x1000));
        // past the segment, in a segment that is not executable, nowhere
        for addr in [0x401200, 0x400100, 0x403010, 0] {
            assert_eq!(
                offset_from_addr(&img[..], addr),
                Err(format!("failed to find offset for address {addr:x}"))
            );
        }
        // a header promising more program headers than the image holds
        let mut cut = img.clone();
        cut[0x38] = 200;
        assert!(offset_from_addr(&cut[..], 0x401136).is_err());
        let mut far = img;
        far[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(offset_from_addr(&far[..], 0x401136).is_err());
        assert!(offset_from_addr(&b"\x7fELF"[..], 0).is_err());
    }
}
