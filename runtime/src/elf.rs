//! The runtime's one ELF reader: the header, program headers (segments), section headers and
//! their names, symbol tables (`.symtab`, `.dynsym`) and notes of a binary, for USDT probes
//! ([`crate::usdt`]), uprobes by address ([`file_offset_from_addr`]) or by symbol
//! ([`crate::refctr::symbol_offset`]) and user stack symbols ([`crate::stacks`]).
//!
//! 64-bit little-endian ELF only (the runtime's BPF programs are x86_64's). Read bounded and
//! panic-free whatever the bytes: only the headers and the tables asked for are read, at their
//! offsets, never the whole file; a read past the end of the file is an error before any
//! buffer is allocated; counts and table sizes are capped ([`MAX_SECTIONS`],
//! [`MAX_HEADER_TABLE`], [`MAX_SECTION_NAMES`], [`SYMBOL_BYTES`]); every offset sum is checked.
//! A malformed image is an error, never a panic.

use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;

/// Section headers read at most (`e_shnum`, or section 0's `sh_size` with extended numbering).
pub const MAX_SECTIONS: u64 = 1 << 16;
/// Bytes of one table of section or program headers read at most.
pub const MAX_HEADER_TABLE: u64 = 8 << 20;
/// Bytes of the section names (`.shstrtab`) read at most.
pub const MAX_SECTION_NAMES: u64 = 1 << 20;
/// Bytes of a binary's symbol tables and their string tables read at most, all tables
/// together (a caller's budget: [`Elf::symbols`] takes what is left of it).
pub const SYMBOL_BYTES: u64 = 64 << 20;

/// `ET_EXEC`: an executable.
pub const ET_EXEC: u16 = 2;
/// `ET_DYN`: a shared object or position-independent executable.
pub const ET_DYN: u16 = 3;
/// `PT_LOAD`: a loadable segment.
pub const PT_LOAD: u32 = 1;
/// `PF_X`: an executable segment.
pub const PF_X: u32 = 1;
/// `SHT_SYMTAB`: the static symbol table (`.symtab`).
pub const SHT_SYMTAB: u32 = 2;
/// `SHT_NOTE`: a note section.
pub const SHT_NOTE: u32 = 7;
/// `SHT_NOBITS`: a section with no bytes in the file (`.bss`).
pub const SHT_NOBITS: u32 = 8;
/// `SHT_DYNSYM`: the dynamic symbol table (`.dynsym`).
pub const SHT_DYNSYM: u32 = 11;
/// `STT_FUNC`: a function symbol.
pub const STT_FUNC: u8 = 2;
/// `STT_GNU_IFUNC`: an indirect function symbol.
pub const STT_GNU_IFUNC: u8 = 10;
/// `SHN_LORESERVE`: section indexes from here on are special (`SHN_ABS`, `SHN_COMMON`,
/// `SHN_XINDEX`), not sections.
pub const SHN_LORESERVE: u16 = 0xff00;
/// `SHN_XINDEX`: the real index is elsewhere (extended section numbering).
const SHN_XINDEX: u16 = 0xffff;

const EHDR_SIZE: u64 = 64;
const PHDR_SIZE: u64 = 56;
const SHDR_SIZE: u64 = 64;
const SYM_SIZE: usize = 24;

/// Why a binary could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The file does not exist (a fact of the host, not of the policy).
    Missing(String),
    /// The file could not be read or is not a well-formed ELF binary.
    Bad(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Missing(s) | ReadError::Bad(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for ReadError {}

/// Random access to the bytes of a binary.
pub trait Bytes {
    /// `len` bytes at `offset`; an error past the end.
    fn at(&self, offset: u64, len: u64) -> Result<Vec<u8>, String>;
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

/// A file read at offsets: what is asked past its length is refused before any buffer is
/// made for it.
#[derive(Debug)]
pub struct FileBytes {
    file: File,
    len: u64,
}

impl FileBytes {
    /// Opens the file at `path`; a missing file is [`ReadError::Missing`]. Messages name the path.
    pub fn open(path: &str) -> Result<FileBytes, ReadError> {
        let bad = |e: std::io::Error| ReadError::Bad(format!("{path}: {e}"));
        let file = File::open(path).map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                ReadError::Missing(format!("{path}: no such file"))
            } else {
                bad(e)
            }
        })?;
        FileBytes::new(file).map_err(bad)
    }

    /// The bytes of an open file (its length as it is now).
    pub fn new(file: File) -> std::io::Result<FileBytes> {
        let len = file.metadata()?.len();
        Ok(FileBytes { file, len })
    }
}

impl Bytes for FileBytes {
    fn at(&self, offset: u64, len: u64) -> Result<Vec<u8>, String> {
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(format!(
                "{len} bytes at {offset:#x} lie past the end of the file ({} bytes)",
                self.len
            ));
        }
        let len = usize::try_from(len).map_err(|_| "a section too large".to_string())?;
        let mut buf = vec![0; len];
        self.file
            .read_exact_at(&mut buf, offset)
            .map_err(|e| format!("reading {len} bytes at {offset:#x}: {e}"))?;
        Ok(buf)
    }
}

/// `N` bytes at `o` in `b`, if it holds them.
fn bytes<const N: usize>(b: &[u8], o: usize) -> Option<[u8; N]> {
    b.get(o..o.checked_add(N)?)?.try_into().ok()
}

/// Little-endian integers at `o` in `b`; 0 past its end (the callers read fixed-size records
/// they have checked the length of, or check `o` first).
fn u16_at(b: &[u8], o: usize) -> u16 {
    bytes(b, o).map_or(0, u16::from_le_bytes)
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    bytes(b, o).map_or(0, u32::from_le_bytes)
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    bytes(b, o).map_or(0, u64::from_le_bytes)
}

/// The ELF header's fields this reader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// `e_type` ([`ET_EXEC`], [`ET_DYN`], ...).
    pub e_type: u16,
    /// `e_phoff`: where the program headers are.
    pub phoff: u64,
    /// `e_phentsize`.
    pub phentsize: u16,
    /// `e_phnum`.
    pub phnum: u16,
    /// `e_shoff`: where the section headers are.
    pub shoff: u64,
    /// `e_shentsize`.
    pub shentsize: u16,
    /// `e_shnum` (0 with extended numbering: the count is section 0's `sh_size`).
    pub shnum: u16,
    /// `e_shstrndx` (`SHN_XINDEX` with extended numbering: it is section 0's `sh_link`).
    pub shstrndx: u16,
}

/// A program header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// `p_type` ([`PT_LOAD`], ...).
    pub p_type: u32,
    /// `p_flags` ([`PF_X`], ...).
    pub flags: u32,
    /// `p_offset`.
    pub offset: u64,
    /// `p_vaddr`.
    pub vaddr: u64,
    /// `p_filesz`.
    pub filesz: u64,
    /// `p_memsz`.
    pub memsz: u64,
}

impl Segment {
    /// Whether the segment's memory holds the virtual address `addr`.
    pub fn holds(&self, addr: u64) -> bool {
        self.vaddr <= addr && addr - self.vaddr < self.memsz
    }

    /// The file offset of the virtual address `addr` it holds: `addr - p_vaddr + p_offset`
    /// (`None` when it does not hold it, or the sum overflows).
    pub fn file_offset(&self, addr: u64) -> Option<u64> {
        if !self.holds(addr) {
            return None;
        }
        (addr - self.vaddr).checked_add(self.offset)
    }
}

/// A section header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Section {
    /// `sh_name`: where its name starts in the section names.
    pub name: u32,
    /// `sh_type` ([`SHT_SYMTAB`], [`SHT_NOTE`], ...).
    pub sh_type: u32,
    /// `sh_addr`: its virtual address.
    pub addr: u64,
    /// `sh_offset`: where its bytes are in the file.
    pub offset: u64,
    /// `sh_size`.
    pub size: u64,
    /// `sh_link` (a symbol table's string table).
    pub link: u32,
    /// `sh_info`.
    pub info: u32,
}

impl Section {
    fn parse(b: &[u8]) -> Section {
        Section {
            name: u32_at(b, 0),
            sh_type: u32_at(b, 4),
            addr: u64_at(b, 0x10),
            offset: u64_at(b, 0x18),
            size: u64_at(b, 0x20),
            link: u32_at(b, 0x28),
            info: u32_at(b, 0x2c),
        }
    }
}

/// A string table: NUL-terminated strings by their start.
#[derive(Debug, Clone, Default)]
pub struct Strings(Vec<u8>);

impl Strings {
    /// The string starting at `at`, without its NUL; `None` when `at` is past the table or
    /// the string is not terminated in it (Go's debug/elf `getString`).
    pub fn get(&self, at: u32) -> Option<&[u8]> {
        let rest = self.0.get(usize::try_from(at).ok()?..)?;
        let end = rest.iter().position(|&c| c == 0)?;
        Some(&rest[..end])
    }
}

/// One symbol of a [`SymbolTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbol<'t> {
    /// Its name; `None` when `st_name` is out of its string table or unterminated.
    pub name: Option<&'t [u8]>,
    /// `st_info`: binding (high 4 bits) and type (low 4 bits).
    pub info: u8,
    /// `st_shndx`: the section it is defined in (0: undefined; from [`SHN_LORESERVE`] on, a
    /// special index).
    pub shndx: u16,
    /// `st_value`: its address (in an executable or shared object).
    pub value: u64,
    /// `st_size`.
    pub size: u64,
}

impl Symbol<'_> {
    /// Its type ([`STT_FUNC`], ...).
    pub fn kind(&self) -> u8 {
        self.info & 0xf
    }

    /// A function: `STT_FUNC` or `STT_GNU_IFUNC`.
    pub fn is_function(&self) -> bool {
        matches!(self.kind(), STT_FUNC | STT_GNU_IFUNC)
    }

    /// Where its address lies in the file: `st_value - sh_addr + sh_offset` of the section it
    /// is defined in, as aya's `resolve_symbol` (for uprobes) and Tetragon's `GetFnSymbol`
    /// (pkg/procsyms, for stack frames) turn a symbol into a file offset. The error completes
    /// "symbol `x` ...".
    pub fn file_offset(&self, sections: &[Section]) -> Result<u64, &'static str> {
        if self.shndx == 0 || self.shndx >= SHN_LORESERVE {
            return Err("is in no section");
        }
        let section = sections
            .get(usize::from(self.shndx))
            .ok_or("is in a section the file does not have")?;
        if section.sh_type == SHT_NOBITS {
            return Err("is in a section with no file data");
        }
        // a malformed file may place the symbol outside its section: refused, not wrapped
        self.value
            .checked_sub(section.addr)
            .and_then(|d| d.checked_add(section.offset))
            .ok_or("lies outside its section")
    }
}

/// A symbol table (`.symtab` or `.dynsym`) and its string table.
#[derive(Debug, Clone, Default)]
pub struct SymbolTable {
    entries: Vec<u8>,
    strings: Strings,
}

impl SymbolTable {
    /// Its symbols in order, the null symbol at index 0 left out (as Go's debug/elf and the
    /// `object` crate leave it out); a partial last entry is ignored.
    pub fn iter(&self) -> impl Iterator<Item = Symbol<'_>> {
        self.entries.chunks_exact(SYM_SIZE).skip(1).map(|e| Symbol {
            name: self.strings.get(u32_at(e, 0)),
            info: e[4],
            shndx: u16_at(e, 6),
            value: u64_at(e, 8),
            size: u64_at(e, 16),
        })
    }

    /// Bytes it holds (symbols and strings), what it took of a [`SYMBOL_BYTES`] budget.
    pub fn bytes(&self) -> u64 {
        (self.entries.len() + self.strings.0.len()) as u64
    }
}

/// One note of a note section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Note<'d> {
    /// Its owner's name, up to its first NUL (`stapsdt`, `GNU`).
    pub name: &'d [u8],
    /// `n_type`.
    pub ty: u32,
    /// Its descriptor.
    pub desc: &'d [u8],
}

fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

/// The notes of a note section's bytes; an error when one runs past them.
pub fn notes(data: &[u8]) -> Result<Vec<Note<'_>>, String> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while data.len().saturating_sub(at) >= 12 {
        let namesz = u32_at(data, at) as usize;
        let descsz = u32_at(data, at + 4) as usize;
        let ty = u32_at(data, at + 8);
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
        let name = &data[name_at..name_at + namesz];
        let desc = &data[desc_at..desc_at + descsz];
        out.push(Note {
            name: name.split(|c| *c == 0).next().unwrap_or(&[]),
            ty,
            desc,
        });
        at = next;
    }
    Ok(out)
}

/// An ELF image: its header read and checked, the rest read when asked.
pub struct Elf<'a, B: Bytes + ?Sized> {
    bytes: &'a B,
    /// The header.
    pub header: Header,
}

impl<'a, B: Bytes + ?Sized> Elf<'a, B> {
    /// Reads and checks the ELF header: a 64-bit little-endian ELF file's.
    pub fn parse(bytes: &'a B) -> Result<Elf<'a, B>, String> {
        let eh = bytes
            .at(0, EHDR_SIZE)
            .map_err(|_| "not an ELF file (too short)")?;
        if eh[0..4] != [0x7f, b'E', b'L', b'F'] {
            return Err("not an ELF file".into());
        }
        if eh[4] != 2 || eh[5] != 1 {
            return Err("not a 64-bit little-endian ELF file".into());
        }
        let header = Header {
            e_type: u16_at(&eh, 0x10),
            phoff: u64_at(&eh, 0x20),
            shoff: u64_at(&eh, 0x28),
            phentsize: u16_at(&eh, 0x36),
            phnum: u16_at(&eh, 0x38),
            shentsize: u16_at(&eh, 0x3a),
            shnum: u16_at(&eh, 0x3c),
            shstrndx: u16_at(&eh, 0x3e),
        };
        Ok(Elf { bytes, header })
    }

    /// `count` headers of `entsize` bytes (at least `size` each) at `offset`, read at once.
    fn table(
        &self,
        what: &str,
        offset: u64,
        entsize: u16,
        count: u64,
        size: u64,
    ) -> Result<Vec<u8>, String> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let entsize = u64::from(entsize);
        if entsize < size {
            return Err(format!(
                "ELF header sizes too small ({what} of {entsize} bytes)"
            ));
        }
        let bytes = entsize.saturating_mul(count);
        if bytes > MAX_HEADER_TABLE {
            return Err(format!(
                "{count} {what}s of {entsize} bytes (more than {MAX_HEADER_TABLE} bytes)"
            ));
        }
        self.bytes
            .at(offset, bytes)
            .map_err(|e| format!("the {what}s: {e}"))
    }

    /// All program headers.
    pub fn segments(&self) -> Result<Vec<Segment>, String> {
        let h = &self.header;
        let size = usize::from(h.phentsize);
        let table = self.table(
            "program header",
            h.phoff,
            h.phentsize,
            u64::from(h.phnum),
            PHDR_SIZE,
        )?;
        Ok(table
            .chunks_exact(size.max(1))
            .map(|p| Segment {
                p_type: u32_at(p, 0),
                flags: u32_at(p, 4),
                offset: u64_at(p, 8),
                vaddr: u64_at(p, 16),
                filesz: u64_at(p, 32),
                memsz: u64_at(p, 40),
            })
            .collect())
    }

    /// The `PT_LOAD` program headers.
    pub fn load_segments(&self) -> Result<Vec<Segment>, String> {
        let mut s = self.segments()?;
        s.retain(|s| s.p_type == PT_LOAD);
        Ok(s)
    }

    /// The file offset of the virtual address `addr`, as Tetragon's `OffsetFromAddr`
    /// (pkg/elf/file.go) finds it for uprobe `addrs`: in the executable (`PF_X`) `PT_LOAD`
    /// segment that holds it, `addr - p_vaddr + p_offset`.
    pub fn offset_from_addr(&self, addr: u64) -> Result<u64, String> {
        self.load_segments()?
            .iter()
            .filter(|s| s.flags & PF_X != 0)
            .find_map(|s| s.file_offset(addr))
            .ok_or_else(|| format!("failed to find offset for address {addr:x}"))
    }

    /// The section headers, index 0 (the null section) included; with extended numbering
    /// (`e_shnum` 0) as many as section 0's `sh_size` says, at most [`MAX_SECTIONS`].
    pub fn sections(&self) -> Result<Vec<Section>, String> {
        let h = &self.header;
        if h.shoff == 0 {
            return Ok(Vec::new());
        }
        let mut count = u64::from(h.shnum);
        if count == 0 {
            let first = self.table("section header", h.shoff, h.shentsize, 1, SHDR_SIZE)?;
            count = Section::parse(&first).size;
        }
        if count > MAX_SECTIONS {
            return Err(format!("{count} sections (more than {MAX_SECTIONS})"));
        }
        let size = usize::from(h.shentsize);
        let table = self.table("section header", h.shoff, h.shentsize, count, SHDR_SIZE)?;
        Ok(table
            .chunks_exact(size.max(1))
            .map(Section::parse)
            .collect())
    }

    /// The section names (`e_shstrndx`'s section, at most [`MAX_SECTION_NAMES`] bytes); none
    /// when the header names no such section.
    pub fn section_names(&self, sections: &[Section]) -> Result<Strings, String> {
        let index = match self.header.shstrndx {
            0 => return Ok(Strings::default()),
            SHN_XINDEX => sections.first().map_or(0, |s| s.link as usize),
            i => usize::from(i),
        };
        let s = sections
            .get(index)
            .ok_or_else(|| format!("the section names' index {index} is out of range"))?;
        self.data(s, MAX_SECTION_NAMES, "section names")
            .map(Strings)
    }

    /// The bytes of `section` (none for `SHT_NOBITS`), refused past `max` bytes; `what` names
    /// it in messages.
    pub fn data(&self, section: &Section, max: u64, what: &str) -> Result<Vec<u8>, String> {
        if section.sh_type == SHT_NOBITS {
            return Ok(Vec::new());
        }
        if section.size > max {
            return Err(format!(
                "{what} of {} bytes (more than {max})",
                section.size
            ));
        }
        self.bytes.at(section.offset, section.size)
    }

    /// The first symbol table of type `sh_type` ([`SHT_SYMTAB`] or [`SHT_DYNSYM`]) and its
    /// string table (`sh_link`; none for 0), refused when both together are more than
    /// `budget` bytes; `None` when the file has no such table. Entries are 24 bytes whatever
    /// `sh_entsize` says, as Go's debug/elf and the `object` crate read them.
    pub fn symbols(
        &self,
        sections: &[Section],
        sh_type: u32,
        budget: u64,
    ) -> Result<Option<SymbolTable>, String> {
        let Some(table) = sections.iter().find(|s| s.sh_type == sh_type) else {
            return Ok(None);
        };
        let strings =
            match table.link {
                0 => None,
                link => Some(sections.get(link as usize).ok_or_else(|| {
                    format!("a symbol table's string table {link} is out of range")
                })?),
            };
        let size = table.size.saturating_add(strings.map_or(0, |s| s.size));
        if size > budget {
            return Err(format!(
                "a symbol table and its strings of {size} bytes (more than {budget})"
            ));
        }
        let entries = self.data(table, budget, "a symbol table")?;
        let strings = match strings {
            Some(s) => self.data(s, budget, "a string table")?,
            None => Vec::new(),
        };
        Ok(Some(SymbolTable {
            entries,
            strings: Strings(strings),
        }))
    }
}

/// [`Elf::offset_from_addr`] in the binary at `path`.
pub fn file_offset_from_addr(path: &str, addr: u64) -> Result<u64, ReadError> {
    let file = FileBytes::open(path)?;
    Elf::parse(&file)
        .and_then(|elf| elf.offset_from_addr(addr))
        .map_err(|e| ReadError::Bad(format!("{path}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHT_STRTAB: u32 = 3;
    const SHN_ABS: u16 = 0xfff1;
    /// `STB_GLOBAL` and `STT_FUNC`.
    const GLOBAL_FUNC: u8 = 0x12;

    /// A section of an [`Image`]: its header (offset filled in when built) and bytes.
    struct Part {
        header: Section,
        bytes: Vec<u8>,
    }

    /// An ELF image to build: program headers and sections (the null section first, then
    /// the section names, added by [`Image::build`]).
    #[derive(Default)]
    struct Image {
        e_type: u16,
        segments: Vec<Segment>,
        sections: Vec<Part>,
        names: Vec<u8>,
    }

    impl Image {
        fn new() -> Image {
            Image {
                e_type: ET_DYN,
                names: vec![0],
                ..Default::default()
            }
        }

        /// Adds a section; its index.
        fn section(&mut self, name: &str, sh_type: u32, addr: u64, bytes: Vec<u8>) -> u32 {
            let at = self.names.len() as u32;
            self.names.extend(name.as_bytes());
            self.names.push(0);
            self.sections.push(Part {
                header: Section {
                    name: at,
                    sh_type,
                    addr,
                    size: bytes.len() as u64,
                    ..Default::default()
                },
                bytes,
            });
            self.sections.len() as u32
        }

        /// Adds a symbol table of `sh_type` and its string table: (name, info, shndx, value,
        /// size) each, after the null symbol.
        fn symbols(&mut self, sh_type: u32, syms: &[(&str, u8, u16, u64, u64)]) {
            let mut strings = vec![0u8];
            let mut table = vec![0u8; SYM_SIZE];
            for &(name, info, shndx, value, size) in syms {
                let mut e = vec![0u8; SYM_SIZE];
                e[0..4].copy_from_slice(&(strings.len() as u32).to_le_bytes());
                e[4] = info;
                e[6..8].copy_from_slice(&shndx.to_le_bytes());
                e[8..16].copy_from_slice(&value.to_le_bytes());
                e[16..24].copy_from_slice(&size.to_le_bytes());
                table.extend(e);
                strings.extend(name.as_bytes());
                strings.push(0);
            }
            let strtab = self.section(".strtab", SHT_STRTAB, 0, strings);
            let symtab = self.section(".symtab", sh_type, 0, table);
            self.sections[symtab as usize - 1].header.link = strtab;
        }

        fn build(&self) -> Vec<u8> {
            let mut b = vec![0u8; 64];
            b[..4].copy_from_slice(b"\x7fELF");
            b[4] = 2;
            b[5] = 1;
            b[0x10..0x12].copy_from_slice(&self.e_type.to_le_bytes());
            b[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
            b[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
            b[0x38..0x3a].copy_from_slice(&(self.segments.len() as u16).to_le_bytes());
            for s in &self.segments {
                let mut p = vec![0u8; 56];
                p[0..4].copy_from_slice(&s.p_type.to_le_bytes());
                p[4..8].copy_from_slice(&s.flags.to_le_bytes());
                p[8..16].copy_from_slice(&s.offset.to_le_bytes());
                p[16..24].copy_from_slice(&s.vaddr.to_le_bytes());
                p[32..40].copy_from_slice(&s.filesz.to_le_bytes());
                p[40..48].copy_from_slice(&s.memsz.to_le_bytes());
                b.extend(p);
            }
            let mut headers = vec![Section::default()];
            let mut bytes = self.names.clone();
            bytes.extend(b".shstrtab\0");
            let names = Part {
                header: Section {
                    name: self.names.len() as u32,
                    sh_type: SHT_STRTAB,
                    size: bytes.len() as u64,
                    ..Default::default()
                },
                bytes,
            };
            for part in self.sections.iter().chain([&names]) {
                let mut h = part.header;
                h.offset = b.len() as u64;
                if h.sh_type != SHT_NOBITS {
                    b.extend(&part.bytes);
                }
                headers.push(h);
            }
            let shoff = b.len() as u64;
            for h in &headers {
                let mut e = vec![0u8; 64];
                e[0..4].copy_from_slice(&h.name.to_le_bytes());
                e[4..8].copy_from_slice(&h.sh_type.to_le_bytes());
                e[0x10..0x18].copy_from_slice(&h.addr.to_le_bytes());
                e[0x18..0x20].copy_from_slice(&h.offset.to_le_bytes());
                e[0x20..0x28].copy_from_slice(&h.size.to_le_bytes());
                e[0x28..0x2c].copy_from_slice(&h.link.to_le_bytes());
                e[0x2c..0x30].copy_from_slice(&h.info.to_le_bytes());
                e[0x38..0x40].copy_from_slice(&24u64.to_le_bytes());
                b.extend(e);
            }
            b[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
            b[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
            b[0x3c..0x3e].copy_from_slice(&(headers.len() as u16).to_le_bytes());
            b[0x3e..0x40].copy_from_slice(&(headers.len() as u16 - 1).to_le_bytes());
            b
        }
    }

    fn load(flags: u32, offset: u64, vaddr: u64, memsz: u64) -> Segment {
        Segment {
            p_type: PT_LOAD,
            flags,
            offset,
            vaddr,
            filesz: memsz,
            memsz,
        }
    }

    fn offset_from_addr(b: &[u8], addr: u64) -> Result<u64, String> {
        Elf::parse(b)?.offset_from_addr(addr)
    }

    #[test]
    fn addresses_map_to_offsets_in_the_executable_load_segment() {
        const PT_NOTE: u32 = 4;
        let mut image = Image::new();
        image.segments = vec![
            load(4, 0, 0x400000, 0x1000), // R
            Segment {
                p_type: PT_NOTE,
                ..load(5, 0x1000, 0x401000, 0x100)
            },
            load(5, 0x1000, 0x401000, 0x200),       // R E
            load(6, 0x2000, 0x403000, 0x100),       // RW
            load(5, u64::MAX - 1, 0x500000, 0x100), // R E, past any file
        ];
        let img = image.build();
        assert_eq!(offset_from_addr(&img, 0x401136), Ok(0x1136));
        assert_eq!(offset_from_addr(&img, 0x401000), Ok(0x1000));
        assert_eq!(offset_from_addr(&img, 0x500001), Ok(u64::MAX));
        // past the segment, in a segment that is not executable, nowhere, an overflow
        for addr in [0x401200, 0x400100, 0x403010, 0, 0x500002] {
            assert_eq!(
                offset_from_addr(&img, addr),
                Err(format!("failed to find offset for address {addr:x}"))
            );
        }
        // a header promising more program headers than the image holds
        let mut cut = img[..64 + 56 * 5].to_vec();
        cut[0x38] = 200;
        assert!(offset_from_addr(&cut, 0x401136).is_err());
        let mut far = img;
        far[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(offset_from_addr(&far, 0x401136).is_err());
        assert!(offset_from_addr(b"\x7fELF", 0).is_err());
    }

    /// .text at 0x1000 (file data), .bss at 0x3000 (none), the tables after them.
    fn with_symbols() -> Image {
        let mut image = Image::new();
        image.section(".text", 1, 0x1000, vec![0xcc; 0x40]);
        image.section(".bss", SHT_NOBITS, 0x3000, vec![0; 0x10]);
        image.symbols(
            SHT_DYNSYM,
            &[
                ("dyn_fn", GLOBAL_FUNC, 1, 0x1010, 8),
                ("shared", GLOBAL_FUNC, 1, 0x1020, 4),
            ],
        );
        image.symbols(
            SHT_SYMTAB,
            &[
                ("shared", GLOBAL_FUNC, 1, 0x1030, 4),
                ("static_fn", 0x02, 1, 0x1000, 0x10),
                ("in_bss", 0x11, 2, 0x3008, 8),
                ("below", GLOBAL_FUNC, 1, 0x10, 8),
                ("absolute", GLOBAL_FUNC, SHN_ABS, 0x1000, 8),
                ("undefined", GLOBAL_FUNC, 0, 0, 0),
                ("nowhere", GLOBAL_FUNC, 77, 0x1000, 8),
            ],
        );
        image
    }

    #[test]
    fn symbols_and_their_file_offsets() {
        let img = with_symbols().build();
        let elf = Elf::parse(&img[..]).unwrap();
        assert_eq!(elf.header.e_type, ET_DYN);
        let sections = elf.sections().unwrap();
        let names = elf.section_names(&sections).unwrap();
        let named: Vec<&[u8]> = sections
            .iter()
            .map(|s| names.get(s.name).unwrap())
            .collect();
        assert_eq!(
            named,
            [
                &b""[..],
                b".text",
                b".bss",
                b".strtab",
                b".symtab",
                b".strtab",
                b".symtab",
                b".shstrtab"
            ]
        );
        let text_offset = sections[1].offset;
        let dynsym = elf
            .symbols(&sections, SHT_DYNSYM, SYMBOL_BYTES)
            .unwrap()
            .unwrap();
        let syms: Vec<Symbol> = dynsym.iter().collect();
        assert_eq!(syms.len(), 2, "the null symbol is left out");
        assert_eq!(syms[0].name, Some(&b"dyn_fn"[..]));
        assert_eq!(syms[0].file_offset(&sections), Ok(text_offset + 0x10));
        assert_eq!(dynsym.bytes(), 3 * 24 + 1 + 7 + 7);

        let symtab = elf
            .symbols(&sections, SHT_SYMTAB, SYMBOL_BYTES)
            .unwrap()
            .unwrap();
        let place = |name: &str| {
            let s = symtab
                .iter()
                .find(|s| s.name == Some(name.as_bytes()))
                .unwrap();
            (s.is_function(), s.file_offset(&sections))
        };
        assert_eq!(place("shared"), (true, Ok(text_offset + 0x30)));
        assert_eq!(place("static_fn"), (true, Ok(text_offset)));
        assert_eq!(
            place("in_bss"),
            (false, Err("is in a section with no file data"))
        );
        assert_eq!(place("below"), (true, Err("lies outside its section")));
        assert_eq!(place("absolute").1, Err("is in no section"));
        assert_eq!(place("undefined").1, Err("is in no section"));
        assert_eq!(
            place("nowhere").1,
            Err("is in a section the file does not have")
        );
        // a table past the budget is refused, not read
        let small = elf.symbols(&sections, SHT_SYMTAB, 10);
        assert!(small.unwrap_err().contains("more than 10"));
        // no table of a type
        let mut no_dyn = Image::new();
        no_dyn.section(".text", 1, 0x1000, vec![0; 4]);
        let img = no_dyn.build();
        let elf = Elf::parse(&img[..]).unwrap();
        assert!(elf
            .symbols(&elf.sections().unwrap(), SHT_DYNSYM, SYMBOL_BYTES)
            .unwrap()
            .is_none());
    }

    #[test]
    fn strings_end_at_their_nul_or_are_none() {
        let s = Strings(b"\0abc\0de".to_vec());
        assert_eq!(s.get(0), Some(&b""[..]));
        assert_eq!(s.get(1), Some(&b"abc"[..]));
        assert_eq!(s.get(3), Some(&b"c"[..]));
        assert_eq!(s.get(5), None, "unterminated");
        assert_eq!(s.get(7), None);
        assert_eq!(s.get(u32::MAX), None);
    }

    #[test]
    fn notes_are_split_and_bounded() {
        let mut data = Vec::new();
        for (name, ty, desc) in [
            (&b"GNU\0"[..], 3u32, &b"0123456"[..]),
            (b"stapsdt\0", 3, b"xy"),
        ] {
            data.extend((name.len() as u32).to_le_bytes());
            data.extend((desc.len() as u32).to_le_bytes());
            data.extend(ty.to_le_bytes());
            data.extend(name);
            data.resize(align4(data.len()), 0);
            data.extend(desc);
            data.resize(align4(data.len()), 0);
        }
        let notes_read = notes(&data).unwrap();
        assert_eq!(notes_read.len(), 2);
        assert_eq!(
            notes_read[1],
            Note {
                name: b"stapsdt",
                ty: 3,
                desc: b"xy"
            }
        );
        assert_eq!(notes_read[0].desc, b"0123456");
        // every cut of the section: the whole notes it holds (less than a note header left
        // over is no note), or an error for the one it cuts
        assert_eq!(data.len(), 48);
        for n in 0..data.len() {
            let want = match n {
                0..12 => Ok(0),
                24..36 => Ok(1),
                _ => Err("a note runs past its section".to_string()),
            };
            assert_eq!(notes(&data[..n]).map(|f| f.len()), want, "{n}");
        }
        // sizes near the top of u32
        let mut huge = data.clone();
        huge[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(notes(&huge).is_err());
        huge[0..4].copy_from_slice(&4u32.to_le_bytes());
        huge[4..8].copy_from_slice(&(u32::MAX - 2).to_le_bytes());
        assert!(notes(&huge).is_err());
    }

    /// Everything the reader offers, on `b`: never a panic, whatever it returns.
    fn read_all(b: &[u8]) -> Result<usize, String> {
        let elf = Elf::parse(b)?;
        let mut n = elf.segments()?.len();
        let _ = elf.offset_from_addr(0x1010);
        let sections = elf.sections()?;
        let names = elf.section_names(&sections)?;
        for s in &sections {
            let _ = names.get(s.name);
            if s.sh_type == SHT_NOTE {
                n += notes(&elf.data(s, 1 << 20, "notes")?)?.len();
            }
        }
        for ty in [SHT_SYMTAB, SHT_DYNSYM] {
            if let Some(t) = elf.symbols(&sections, ty, SYMBOL_BYTES)? {
                for s in t.iter() {
                    let _ = s.file_offset(&sections);
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// The offset of field `at` of section header `i` of `img`.
    fn shdr(img: &[u8], i: usize, at: usize) -> usize {
        u64_at(img, 0x28) as usize + i * 64 + at
    }

    #[test]
    fn malformed_images_are_errors_not_panics() {
        let good = with_symbols().build();
        assert_eq!(read_all(&good), Ok(9));
        // truncated anywhere: what the headers need is cut off, an error
        for n in 0..good.len() {
            let cut = read_all(&good[..n]);
            assert!(cut.is_err(), "cut at {n}: {cut:?}");
        }
        assert!(read_all(b"").is_err());
        assert!(read_all(b"\x7fELF").is_err());
        let mut big_endian = good.clone();
        big_endian[5] = 2;
        assert_eq!(
            read_all(&big_endian).unwrap_err(),
            "not a 64-bit little-endian ELF file"
        );

        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut img = good.clone();
            f(&mut img);
            read_all(&img)
        };
        let put64 = |img: &mut Vec<u8>, at: usize, v: u64| {
            img[at..at + 8].copy_from_slice(&v.to_le_bytes())
        };
        let put32 = |img: &mut Vec<u8>, at: usize, v: u32| {
            img[at..at + 4].copy_from_slice(&v.to_le_bytes())
        };
        let put16 = |img: &mut Vec<u8>, at: usize, v: u16| {
            img[at..at + 2].copy_from_slice(&v.to_le_bytes())
        };
        // section offsets and sizes past the end of the file (.symtab is section 6, its
        // strings 5), and absurd ones
        for (field, value) in [
            (0x18, 1 << 40),
            (0x18, u64::MAX),
            (0x20, 1 << 40),
            (0x20, u64::MAX),
        ] {
            for section in [5, 6, 7] {
                let r = with(&|img| put64(img, shdr(&good, section, field), value));
                assert!(
                    r.is_err(),
                    "section {section} field {field:#x} = {value:#x}: {r:?}"
                );
            }
        }
        // sh_entsize 0 on the symbol tables: entries are 24 bytes whatever it says
        assert_eq!(
            with(&|img| {
                put64(img, shdr(&good, 4, 0x38), 0);
                put64(img, shdr(&good, 6, 0x38), 0);
            }),
            Ok(9)
        );
        // e_shentsize / e_phentsize too small, and 0
        for v in [0, 8, 63] {
            assert!(with(&|img| put16(img, 0x3a, v)).is_err());
        }
        assert!(with(&|img| {
            put16(img, 0x38, 1);
            put16(img, 0x36, 0);
        })
        .is_err());
        // a string table index out of range: the section names', a symbol table's link
        assert!(with(&|img| put16(img, 0x3e, 100))
            .unwrap_err()
            .contains("out of range"));
        assert!(with(&|img| put32(img, shdr(&good, 6, 0x28), 1000))
            .unwrap_err()
            .contains("out of range"));
        // a symbol's name out of its string table: no name, the rest read
        let mut img = good.clone();
        let symtab = u64_at(&good, shdr(&good, 6, 0x18)) as usize;
        put32(&mut img, symtab + 24, 0xffff_fff0);
        let elf = Elf::parse(&img[..]).unwrap();
        let sections = elf.sections().unwrap();
        let table = elf
            .symbols(&sections, SHT_SYMTAB, SYMBOL_BYTES)
            .unwrap()
            .unwrap();
        assert_eq!(table.iter().next().unwrap().name, None);
        assert_eq!(table.iter().count(), 7);
        // huge counts: program headers, extended section numbering
        assert!(with(&|img| {
            put16(img, 0x38, u16::MAX);
            put16(img, 0x36, u16::MAX);
        })
        .unwrap_err()
        .contains("more than"));
        assert!(with(&|img| put16(img, 0x3a, u16::MAX))
            .unwrap_err()
            .contains("past the end"));
        let r = with(&|img| {
            put16(img, 0x3c, 0);
            put64(img, shdr(&good, 0, 0x20), u64::MAX);
        });
        assert_eq!(
            r.unwrap_err(),
            format!("{} sections (more than {MAX_SECTIONS})", u64::MAX)
        );
        // extended numbering, well formed: the count and the names' index from section 0
        assert_eq!(
            with(&|img| {
                put16(img, 0x3c, 0);
                put64(img, shdr(&good, 0, 0x20), 8);
                put16(img, 0x3e, SHN_XINDEX);
                put32(img, shdr(&good, 0, 0x28), 7);
            }),
            Ok(9)
        );
        // every value of every header byte
        for at in 0x10..64 {
            for v in 0..=255u8 {
                let mut img = good.clone();
                img[at] = v;
                let _ = read_all(&img);
            }
        }
        // every value of every byte of the section headers
        let shoff = u64_at(&good, 0x28) as usize;
        for at in shoff..good.len() {
            for v in [0, 1, 0x7f, 0x80, 0xff] {
                let mut img = good.clone();
                img[at] = v;
                let _ = read_all(&img);
            }
        }
    }

    #[test]
    fn files_are_read_at_offsets_never_past_their_end() {
        let img = with_symbols().build();
        let path = std::env::temp_dir().join(format!("policyctl-elf-{}", std::process::id()));
        std::fs::write(&path, &img).unwrap();
        let file = FileBytes::open(path.to_str().unwrap()).unwrap();
        assert_eq!(read_all(&img), read_all_file(&file));
        assert_eq!(file.at(8, 8).unwrap(), img[8..16]);
        assert!(file.at(img.len() as u64 - 4, 8).is_err());
        // refused before a buffer is made for it
        assert!(file.at(0, u64::MAX).is_err());
        assert!(file.at(u64::MAX, 2).is_err());
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            FileBytes::open(path.to_str().unwrap()),
            Err(ReadError::Missing(_))
        ));
        assert!(matches!(
            FileBytes::open("/proc/self/nonexistent/x"),
            Err(ReadError::Missing(_))
        ));
    }

    fn read_all_file(f: &FileBytes) -> Result<usize, String> {
        let elf = Elf::parse(f)?;
        let sections = elf.sections()?;
        let mut n = 0;
        for ty in [SHT_SYMTAB, SHT_DYNSYM] {
            n += elf
                .symbols(&sections, ty, SYMBOL_BYTES)?
                .map_or(0, |t| t.iter().count());
        }
        Ok(n)
    }
}
