//! Just enough ELF to find the `.BTF` section of an object file (vmlinux, a `.ko`, a BPF object).

use super::BtfError;

/// The byte range of the `.BTF` section when `data` is an ELF file; `None` when it is not ELF.
pub(super) fn btf_section(data: &[u8]) -> Result<Option<(usize, usize)>, BtfError> {
    if !data.starts_with(b"\x7fELF") {
        return Ok(None);
    }
    let bad = |why: &str| BtfError::NotBtf(format!("ELF file: {why}"));
    let class64 = match data.get(4) {
        Some(1) => false,
        Some(2) => true,
        _ => return Err(bad("unknown ELF class")),
    };
    if data.get(5) != Some(&1) {
        return Err(bad("big-endian ELF is not supported"));
    }
    let u16_at = |at: usize| {
        data.get(at..at + 2)
            .map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
    };
    let u32_at = |at: usize| {
        data.get(at..at + 4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
    };
    let u64_at = |at: usize| {
        data.get(at..at + 8).and_then(|s| {
            usize::try_from(u64::from_le_bytes([
                s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
            ]))
            .ok()
        })
    };
    let word = |at: usize| if class64 { u64_at(at) } else { u32_at(at) };
    let header = || -> Option<(usize, usize, usize, usize)> {
        if class64 {
            Some((u64_at(0x28)?, u16_at(0x3a)?, u16_at(0x3c)?, u16_at(0x3e)?))
        } else {
            Some((u32_at(0x20)?, u16_at(0x2e)?, u16_at(0x30)?, u16_at(0x32)?))
        }
    };
    let (shoff, shentsize, mut shnum, mut shstrndx) =
        header().ok_or_else(|| bad("truncated header"))?;
    if shentsize < if class64 { 0x28 } else { 0x20 } {
        return Err(bad("section headers too small"));
    }
    // (name offset, file offset, size) of section `i`.
    let section = |i: usize| -> Option<(usize, usize, usize)> {
        let at = shoff.checked_add(i.checked_mul(shentsize)?)?;
        let (off_at, size_at) = if class64 { (0x18, 0x20) } else { (0x10, 0x14) };
        Some((u32_at(at)?, word(at + off_at)?, word(at + size_at)?))
    };
    // Extended numbering (65280 sections or more): the real count is section 0's size, the
    // real name table index its link.
    if shnum == 0 && shoff != 0 {
        shnum = section(0)
            .ok_or_else(|| bad("section header outside the file"))?
            .2;
    }
    if shstrndx == 0xffff {
        let link_at = shoff.checked_add(if class64 { 0x28 } else { 0x18 });
        shstrndx = link_at
            .and_then(u32_at)
            .ok_or_else(|| bad("section header outside the file"))?;
    }
    let (_, str_off, str_size) = section(shstrndx).ok_or_else(|| bad("no section name table"))?;
    let names = str_off
        .checked_add(str_size)
        .and_then(|end| data.get(str_off..end))
        .ok_or_else(|| bad("section name table outside the file"))?;
    for i in 0..shnum {
        let (name, off, size) = section(i).ok_or_else(|| bad("section header outside the file"))?;
        let is_btf = names
            .get(name..)
            .is_some_and(|rest| rest.starts_with(b".BTF\0"));
        if is_btf {
            let end = off
                .checked_add(size)
                .filter(|&e| e <= data.len())
                .ok_or_else(|| bad("the .BTF section lies outside the file"))?;
            return Ok(Some((off, end)));
        }
    }
    Err(bad(
        "no .BTF section (was it built with CONFIG_DEBUG_INFO_BTF or `clang -g`?)",
    ))
}
