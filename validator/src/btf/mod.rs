//! A zero-copy reader of BPF Type Format (BTF), the type information every current kernel ships
//! at `/sys/kernel/btf/vmlinux` (and per module at `/sys/kernel/btf/<module>`).
//!
//! [`Btf::open`] maps a file and reads it in place: raw BTF, zstd-compressed raw BTF (decompressed
//! once into memory), or an ELF object with a `.BTF` section. Opening walks the type section once
//! to record where each type starts; everything else ([`Type`], names, members, parameters) reads
//! the mapped bytes when asked. Split BTF (a module's types on top of vmlinux) is opened with
//! [`Btf::open_split`]: its type ids and string offsets continue those of the base.
//!
//! Every kind of the current format is understood, DECL_TAG, TYPE_TAG and ENUM64 included. A
//! malformed file is an error at open, never a panic later: record bounds are checked at open,
//! and type ids or string offsets that point nowhere read as absent. A string is read up to
//! [`MAX_NAME_LEN`] bytes, so reading costs the same on any file (a string section without NUL
//! bytes would otherwise make each name a scan to the end of the section).
//!
//! [`render`] writes types as C (`Btf::c_prototype`); [`dump`] prints them exactly as
//! `bpftool btf dump file X format raw` does (`Btf::dump_raw`), which is how
//! `validator/tests/btf.rs` checks this reader against bpftool on real kernels and a module.
//!
//! Format: `Documentation/bpf/btf.rst` in the kernel tree (`include/uapi/linux/btf.h`).

pub mod dump;
mod elf;
pub mod render;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// A type id: 0 is `void`, vmlinux types start at 1, a module's continue after vmlinux's.
pub type TypeId = u32;

/// Decompressed input larger than this is refused (vmlinux BTF is about 6 MiB).
pub const MAX_BTF_BYTES: usize = 256 << 20;

/// Longest string read, in bytes without its NUL: the kernel's `KSYM_NAME_LEN`, past which its
/// own BTF loader refuses a name (`__btf_name_valid`). A longer string reads as absent. Real
/// kernels' longest BTF string is about 100 bytes.
pub const MAX_NAME_LEN: usize = 512;

const MAGIC: u16 = 0xeb9f;
const HEADER_LEN: usize = 24;

/// Why a BTF file could not be read.
#[derive(Debug)]
pub enum BtfError {
    /// The file could not be read.
    Io(std::io::Error),
    /// The bytes are not BTF, zstd or ELF.
    NotBtf(String),
    /// The bytes are BTF, but broken.
    Malformed(String),
}

impl fmt::Display for BtfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BtfError::Io(e) => write!(f, "{e}"),
            BtfError::NotBtf(why) | BtfError::Malformed(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for BtfError {}

impl From<std::io::Error> for BtfError {
    fn from(e: std::io::Error) -> BtfError {
        BtfError::Io(e)
    }
}

fn malformed(why: impl Into<String>) -> BtfError {
    BtfError::Malformed(why.into())
}

/// The bytes a [`Btf`] reads: a memory map of the file, or memory of our own when the file was
/// compressed, could not be mapped (sysfs files before Linux 6.16), or came from a caller.
enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Bytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// The kind of a BTF type (`BTF_KIND_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Type id 0.
    Void,
    /// An integer (also `char` and `_Bool`).
    Int,
    /// A pointer.
    Ptr,
    /// An array.
    Array,
    /// A struct.
    Struct,
    /// A union.
    Union,
    /// An enum with 32-bit values.
    Enum,
    /// A forward declaration.
    Fwd,
    /// A typedef.
    Typedef,
    /// `volatile`.
    Volatile,
    /// `const`.
    Const,
    /// `restrict`.
    Restrict,
    /// A function (name and linkage; its type is a `FuncProto`).
    Func,
    /// A function's signature.
    FuncProto,
    /// A variable.
    Var,
    /// A data section.
    Datasec,
    /// A floating-point type.
    Float,
    /// An attribute on a declaration.
    DeclTag,
    /// An attribute on a type.
    TypeTag,
    /// An enum with 64-bit values.
    Enum64,
}

impl Kind {
    fn from_raw(raw: u32) -> Option<Kind> {
        Some(match raw {
            1 => Kind::Int,
            2 => Kind::Ptr,
            3 => Kind::Array,
            4 => Kind::Struct,
            5 => Kind::Union,
            6 => Kind::Enum,
            7 => Kind::Fwd,
            8 => Kind::Typedef,
            9 => Kind::Volatile,
            10 => Kind::Const,
            11 => Kind::Restrict,
            12 => Kind::Func,
            13 => Kind::FuncProto,
            14 => Kind::Var,
            15 => Kind::Datasec,
            16 => Kind::Float,
            17 => Kind::DeclTag,
            18 => Kind::TypeTag,
            19 => Kind::Enum64,
            _ => return None,
        })
    }

    /// The name bpftool prints (`FUNC_PROTO`, `TYPE_TAG`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Void => "VOID",
            Kind::Int => "INT",
            Kind::Ptr => "PTR",
            Kind::Array => "ARRAY",
            Kind::Struct => "STRUCT",
            Kind::Union => "UNION",
            Kind::Enum => "ENUM",
            Kind::Fwd => "FWD",
            Kind::Typedef => "TYPEDEF",
            Kind::Volatile => "VOLATILE",
            Kind::Const => "CONST",
            Kind::Restrict => "RESTRICT",
            Kind::Func => "FUNC",
            Kind::FuncProto => "FUNC_PROTO",
            Kind::Var => "VAR",
            Kind::Datasec => "DATASEC",
            Kind::Float => "FLOAT",
            Kind::DeclTag => "DECL_TAG",
            Kind::TypeTag => "TYPE_TAG",
            Kind::Enum64 => "ENUM64",
        }
    }

    /// Bytes that follow the 12-byte common header, for `vlen` items.
    fn extra_len(self, vlen: usize) -> usize {
        match self {
            Kind::Int | Kind::Var | Kind::DeclTag => 4,
            Kind::Array => 12,
            Kind::Struct | Kind::Union | Kind::Datasec | Kind::Enum64 => 12 * vlen,
            Kind::Enum | Kind::FuncProto => 8 * vlen,
            _ => 0,
        }
    }
}

/// One parsed BTF blob: vmlinux, or a module's split BTF over its base.
pub struct Btf {
    bytes: Bytes,
    base: Option<Arc<Btf>>,
    /// Byte range of the type section.
    types: (usize, usize),
    /// Byte range of the string section.
    strings: (usize, usize),
    /// Start of each of this blob's types, relative to the type section.
    offsets: Vec<u32>,
    /// Id of this blob's first type.
    first_id: TypeId,
    /// String offsets below this belong to the base.
    str_base: u32,
}

impl fmt::Debug for Btf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Btf")
            .field("types", &self.offsets.len())
            .field("first_id", &self.first_id)
            .field("split", &self.base.is_some())
            .finish()
    }
}

impl Btf {
    /// Open a BTF file: raw, zstd-compressed raw, or ELF with a `.BTF` section.
    pub fn open(path: &Path) -> Result<Btf, BtfError> {
        Btf::from_bytes(read_input(path)?, None)
    }

    /// Open a module's split BTF (e.g. `/sys/kernel/btf/btrfs`) on top of its base (vmlinux).
    pub fn open_split(path: &Path, base: Arc<Btf>) -> Result<Btf, BtfError> {
        Btf::from_bytes(read_input(path)?, Some(base))
    }

    /// Parse bytes already in memory (raw, zstd or ELF, as for [`Btf::open`]).
    pub fn parse(bytes: Vec<u8>, base: Option<Arc<Btf>>) -> Result<Btf, BtfError> {
        Btf::from_bytes(Bytes::Owned(bytes), base)
    }

    fn from_bytes(bytes: Bytes, base: Option<Arc<Btf>>) -> Result<Btf, BtfError> {
        let bytes = unwrap_container(bytes)?;
        let data = bytes.as_slice();
        // The BTF blob may sit inside an ELF file: find where it starts.
        let (start, end) = match elf::btf_section(data)? {
            Some(range) => range,
            None => (0, data.len()),
        };
        let blob = &data[start..end];
        if blob.len() < HEADER_LEN {
            return Err(BtfError::NotBtf(format!(
                "{} bytes is too short for a BTF header",
                blob.len()
            )));
        }
        let magic = u16::from_le_bytes([blob[0], blob[1]]);
        if magic != MAGIC {
            if magic.swap_bytes() == MAGIC {
                return Err(BtfError::NotBtf(
                    "big-endian BTF is not supported (only little-endian kernels)".into(),
                ));
            }
            // Modules ship compressed (`.ko.xz`, `.ko.gz`); say so rather than "not BTF".
            let packed = if blob.starts_with(b"\xfd7zXZ\0") {
                Some(("xz", "xz"))
            } else if blob.starts_with(&[0x1f, 0x8b]) {
                Some(("gzip", "gz"))
            } else {
                None
            };
            if let Some((what, ext)) = packed {
                return Err(BtfError::NotBtf(format!(
                    "not BTF: the file is {what}-compressed (a `.ko.{ext}` module?); decompress it first"
                )));
            }
            return Err(BtfError::NotBtf(format!(
                "not BTF: the file starts with {:02x} {:02x}, not the BTF magic 9f eb (nor zstd or ELF)",
                blob[0], blob[1]
            )));
        }
        if blob[2] != 1 {
            return Err(malformed(format!(
                "BTF version {} is not supported (only 1)",
                blob[2]
            )));
        }
        let hdr_len = le32(blob, 4) as usize;
        if hdr_len < HEADER_LEN || hdr_len > blob.len() {
            return Err(malformed(format!("bad BTF header length {hdr_len}")));
        }
        let section = |off: usize, len: usize, what: &str| -> Result<(usize, usize), BtfError> {
            let s = hdr_len
                .checked_add(off)
                .filter(|s| s.checked_add(len).is_some_and(|e| e <= blob.len()))
                .ok_or_else(|| malformed(format!("the {what} section lies outside the file")))?;
            Ok((start + s, start + s + len))
        };
        let types = section(le32(blob, 8) as usize, le32(blob, 12) as usize, "type")?;
        let strings = section(le32(blob, 16) as usize, le32(blob, 20) as usize, "string")?;
        if strings.1 > strings.0 && data[strings.1 - 1] != 0 {
            return Err(malformed("the string section does not end with a NUL byte"));
        }
        let (first_id, str_base) = match &base {
            Some(b) => (b.next_id(), b.strings_len()),
            None => (1, 0),
        };
        let offsets = index_types(&data[types.0..types.1], first_id)?;
        Ok(Btf {
            bytes,
            base,
            types,
            strings,
            offsets,
            first_id,
            str_base,
        })
    }

    fn data(&self) -> &[u8] {
        self.bytes.as_slice()
    }

    fn strings_len(&self) -> u32 {
        self.str_base + (self.strings.1 - self.strings.0) as u32
    }

    /// The id after the last type (base types included).
    pub fn next_id(&self) -> TypeId {
        self.first_id + self.offsets.len() as u32
    }

    /// Id of this blob's first own type (1 for vmlinux).
    pub fn first_id(&self) -> TypeId {
        self.first_id
    }

    /// The base this split BTF sits on.
    pub fn base(&self) -> Option<&Arc<Btf>> {
        self.base.as_ref()
    }

    /// Number of types, `void` not counted, base types included.
    pub fn len(&self) -> usize {
        self.next_id() as usize - 1
    }

    /// True when there are no types at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The string at an offset of the string section (base strings first for split BTF).
    /// Offsets that point nowhere, strings longer than [`MAX_NAME_LEN`], and bytes that are not
    /// UTF-8 read as `""`.
    pub fn str_at(&self, off: u32) -> &str {
        std::str::from_utf8(self.bytes_at(off)).unwrap_or("")
    }

    /// The bytes of the string at an offset, without its NUL; empty when it points nowhere or
    /// is longer than [`MAX_NAME_LEN`].
    pub fn bytes_at(&self, off: u32) -> &[u8] {
        self.str_checked(off).unwrap_or(&[])
    }

    /// The bytes of the string at `off` as libbpf's `btf__name_by_offset` sees it: `None` when
    /// the offset lies outside the string sections (bpftool prints `(invalid)`), or when the
    /// string is longer than [`MAX_NAME_LEN`] (which no kernel loads).
    fn str_checked(&self, off: u32) -> Option<&[u8]> {
        if off < self.str_base {
            return self.base.as_ref()?.str_checked(off);
        }
        let rel = (off - self.str_base) as usize;
        let rest = self.data()[self.strings.0..self.strings.1].get(rel..)?;
        if rest.is_empty() {
            return None;
        }
        // At most MAX_NAME_LEN bytes and the NUL are looked at, whatever the section holds.
        let window = &rest[..rest.len().min(MAX_NAME_LEN + 1)];
        let len = window.iter().position(|&b| b == 0)?;
        Some(&rest[..len])
    }

    /// (kind, name offset, id) of each of this blob's own types, read straight from the
    /// records: the fast path for building indexes.
    pub fn own_kinds(&self) -> impl Iterator<Item = (Kind, u32, TypeId)> + '_ {
        let types = &self.data()[self.types.0..self.types.1];
        self.offsets
            .iter()
            .enumerate()
            .filter_map(move |(i, &off)| {
                let off = off as usize;
                let kind = Kind::from_raw((le32(types, off + 4) >> 24) & 0x1f)?;
                Some((kind, le32(types, off), self.first_id + i as u32))
            })
    }

    /// The type with this id; `None` for ids that do not exist. Id 0 is `void`.
    pub fn ty(&self, id: TypeId) -> Option<Type<'_>> {
        if id == 0 {
            return Some(Type {
                btf: self,
                id,
                kind: Kind::Void,
                raw: &[0; 12],
                extra: &[],
            });
        }
        if id < self.first_id {
            return self.base.as_ref()?.ty(id);
        }
        let off = *self.offsets.get((id - self.first_id) as usize)? as usize;
        let types = &self.data()[self.types.0..self.types.1];
        let info = le32(types, off + 4);
        // Kinds and lengths were checked when the offsets were built.
        let kind = Kind::from_raw((info >> 24) & 0x1f)?;
        let extra_len = kind.extra_len((info & 0xffff) as usize);
        Some(Type {
            btf: self,
            id,
            kind,
            raw: types.get(off..off + 12)?,
            extra: types.get(off + 12..off + 12 + extra_len)?,
        })
    }

    /// Every type of this blob (not the base's), in id order.
    pub fn own_types(&self) -> impl Iterator<Item = Type<'_>> + '_ {
        (self.first_id..self.next_id()).filter_map(move |id| self.ty(id))
    }

    /// Follow typedefs, qualifiers and type tags to the type underneath (at most 32 steps).
    pub fn skip_aliases(&self, mut id: TypeId) -> Option<Type<'_>> {
        for _ in 0..32 {
            let t = self.ty(id)?;
            match t.kind {
                Kind::Typedef | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => {
                    id = t.type_id()
                }
                _ => return Some(t),
            }
        }
        None
    }

    /// The size in bytes of a value of a type: pointers 8 (the 64-bit kernels policyctl reads),
    /// arrays their elements; `None` for functions, `void` and chains deeper than 32.
    pub fn size_of(&self, id: TypeId) -> Option<u32> {
        let mut id = id;
        let mut count = 1u32;
        for _ in 0..32 {
            let t = self.skip_aliases(id)?;
            match t.kind {
                Kind::Ptr => return count.checked_mul(8),
                Kind::Array => {
                    let (elem, _, n) = t.array();
                    count = count.checked_mul(n)?;
                    id = elem;
                }
                Kind::Int
                | Kind::Struct
                | Kind::Union
                | Kind::Enum
                | Kind::Enum64
                | Kind::Float => {
                    return count.checked_mul(t.size());
                }
                _ => return None,
            }
        }
        None
    }

    /// Follow qualifiers and type tags, but not typedefs (at most 32 steps).
    pub fn skip_qualifiers(&self, mut id: TypeId) -> Option<Type<'_>> {
        for _ in 0..32 {
            let t = self.ty(id)?;
            match t.kind {
                Kind::Const | Kind::Volatile | Kind::Restrict | Kind::TypeTag => id = t.type_id(),
                _ => return Some(t),
            }
        }
        None
    }
}

/// Record where every type starts, checking kinds and record bounds.
fn index_types(types: &[u8], first_id: TypeId) -> Result<Vec<u32>, BtfError> {
    let mut offsets = Vec::with_capacity(types.len() / 24);
    let mut off = 0usize;
    while off < types.len() {
        let id = first_id as usize + offsets.len();
        if off + 12 > types.len() {
            return Err(malformed(format!(
                "type [{id}] is cut off at the end of the type section"
            )));
        }
        let info = le32(types, off + 4);
        let raw_kind = (info >> 24) & 0x1f;
        let kind = Kind::from_raw(raw_kind).ok_or_else(|| {
            malformed(format!(
                "type [{id}] has kind {raw_kind}, which this reader does not know"
            ))
        })?;
        let next = off + 12 + kind.extra_len((info & 0xffff) as usize);
        if next > types.len() {
            return Err(malformed(format!(
                "type [{id}] ({}) runs past the end of the type section",
                kind.name()
            )));
        }
        offsets.push(off as u32);
        off = next;
    }
    Ok(offsets)
}

/// Read a file into [`Bytes`]: mapped when possible, read otherwise.
fn read_input(path: &Path) -> Result<Bytes, BtfError> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len > MAX_BTF_BYTES as u64 {
        return Err(BtfError::NotBtf(format!(
            "{len} bytes is more than the {MAX_BTF_BYTES} a BTF file may have"
        )));
    }
    // SAFETY: the map is read-only and private; a file truncated by someone else while mapped
    // would fault, as with any reader of mapped files. Kernel and fixture BTF files do not change.
    if len > 0 {
        // A private mapping: sysfs refuses shared mappings of /sys/kernel/btf/vmlinux.
        if let Ok(map) = unsafe { memmap2::MmapOptions::new().map_copy_read_only(&file) } {
            return Ok(Bytes::Mapped(map));
        }
    }
    // Files that cannot be mapped at all (some report size 0) are read.
    let mut buf = Vec::new();
    use std::io::Read;
    file.take(MAX_BTF_BYTES as u64 + 1).read_to_end(&mut buf)?;
    if buf.len() > MAX_BTF_BYTES {
        return Err(BtfError::NotBtf(format!(
            "more than the {MAX_BTF_BYTES} bytes a BTF file may have"
        )));
    }
    Ok(Bytes::Owned(buf))
}

/// Decompress zstd input; pass everything else through.
fn unwrap_container(bytes: Bytes) -> Result<Bytes, BtfError> {
    let data = bytes.as_slice();
    if !data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Ok(bytes);
    }
    // One frame that records its size (what `zstd` writes): decompress in one call into a
    // buffer of exactly that size; otherwise stream.
    let single_frame = zstd::zstd_safe::find_frame_compressed_size(data) == Ok(data.len());
    if let (true, Ok(Some(n))) = (single_frame, zstd::zstd_safe::get_frame_content_size(data)) {
        if let Ok(n) = usize::try_from(n) {
            if n <= MAX_BTF_BYTES {
                let mut out = Vec::with_capacity(n);
                let got = zstd::bulk::Decompressor::new()
                    .and_then(|mut d| d.decompress_to_buffer(data, &mut out));
                if got.is_ok_and(|got| got == n) {
                    return Ok(Bytes::Owned(out));
                }
            }
        }
    }
    use std::io::Read;
    let decoder = zstd::stream::read::Decoder::with_buffer(data)
        .map_err(|e| BtfError::NotBtf(format!("broken zstd data: {e}")))?;
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(MAX_BTF_BYTES));
    decoder
        .take(MAX_BTF_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| BtfError::NotBtf(format!("broken zstd data: {e}")))?;
    if out.len() > MAX_BTF_BYTES {
        return Err(BtfError::NotBtf(format!(
            "decompresses to more than the {MAX_BTF_BYTES} bytes a BTF file may have"
        )));
    }
    Ok(Bytes::Owned(out))
}

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// A view of one type: reads its record from the BTF bytes.
#[derive(Clone, Copy)]
pub struct Type<'a> {
    btf: &'a Btf,
    /// Its id.
    pub id: TypeId,
    /// Its kind.
    pub kind: Kind,
    raw: &'a [u8],
    extra: &'a [u8],
}

impl fmt::Debug for Type<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {} '{}'", self.id, self.kind.name(), self.name())
    }
}

/// A member of a struct or union.
#[derive(Clone, Copy, Debug)]
pub struct Member<'a> {
    /// Its name (`""` for anonymous members).
    pub name: &'a str,
    /// Its type.
    pub type_id: TypeId,
    /// Offset from the start of the struct, in bits. (When the struct's kind flag is set, the
    /// record holds the bitfield size in its top 8 bits; this is the low 24 bits alone.)
    pub offset: u32,
    /// Width of a bitfield member in bits; 0 when the member is not a bitfield (or the struct's
    /// kind flag is clear, in which case the width lives in the member's `Int` type).
    pub bitfield_size: u32,
}

/// A parameter of a function prototype.
#[derive(Clone, Copy, Debug)]
pub struct Param<'a> {
    /// Its name (`""` in prototypes of function pointers).
    pub name: &'a str,
    /// Its type (0 with an empty name marks varargs `...`).
    pub type_id: TypeId,
}

/// An enumerator.
#[derive(Clone, Copy, Debug)]
pub struct Enumerator<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its value (sign-extended for signed 32-bit enums).
    pub value: i128,
}

impl<'a> Type<'a> {
    /// The BTF this type belongs to.
    pub fn btf(&self) -> &'a Btf {
        self.btf
    }

    /// Its name; `""` for anonymous types.
    pub fn name(&self) -> &'a str {
        self.btf.str_at(le32(self.raw, 0))
    }

    fn info(&self) -> u32 {
        le32(self.raw, 4)
    }

    /// The `vlen` field: number of members, parameters, enumerators or section entries.
    pub fn vlen(&self) -> usize {
        (self.info() & 0xffff) as usize
    }

    /// The kind flag (bitfield members, union/struct forward, enum signedness, ...).
    pub fn kind_flag(&self) -> bool {
        self.info() >> 31 == 1
    }

    /// Size in bytes (ints, floats, structs, unions, enums, data sections).
    pub fn size(&self) -> u32 {
        le32(self.raw, 8)
    }

    /// The type referred to (pointers, typedefs, qualifiers, functions, variables, tags) or the
    /// return type (function prototypes).
    pub fn type_id(&self) -> TypeId {
        le32(self.raw, 8)
    }

    /// For `Int`: (encoding bits: 1 signed, 2 char, 4 bool; bit offset; number of bits).
    pub fn int_info(&self) -> (u32, u32, u32) {
        let v = le32(self.extra, 0);
        ((v >> 24) & 0xf, (v >> 16) & 0xff, v & 0xff)
    }

    /// For `Int`: true when signed; for enums: true when the kind flag says signed.
    pub fn is_signed(&self) -> bool {
        match self.kind {
            Kind::Int => self.int_info().0 & 1 == 1,
            Kind::Enum | Kind::Enum64 => self.kind_flag(),
            _ => false,
        }
    }

    /// For `Array`: (element type, index type, number of elements).
    pub fn array(&self) -> (TypeId, TypeId, u32) {
        (
            le32(self.extra, 0),
            le32(self.extra, 4),
            le32(self.extra, 8),
        )
    }

    /// For `Func`: linkage (0 static, 1 global, 2 extern); for `Var`: linkage.
    pub fn linkage(&self) -> u32 {
        match self.kind {
            Kind::Func => self.vlen() as u32,
            Kind::Var => le32(self.extra, 0),
            _ => 0,
        }
    }

    /// For `DeclTag`: the component index (-1 for the declaration itself).
    pub fn component_idx(&self) -> i32 {
        le32(self.extra, 0) as i32
    }

    /// For `Struct` and `Union`: the members.
    pub fn members(&self) -> impl Iterator<Item = Member<'a>> + 'a {
        let btf = self.btf;
        let on = matches!(self.kind, Kind::Struct | Kind::Union);
        let extra = if on { self.extra } else { &[] };
        let kflag = self.kind_flag();
        extra.chunks_exact(12).map(move |c| {
            let raw = le32(c, 8);
            let (offset, bitfield_size) = if kflag {
                (raw & 0x00ff_ffff, raw >> 24)
            } else {
                (raw, 0)
            };
            Member {
                name: btf.str_at(le32(c, 0)),
                type_id: le32(c, 4),
                offset,
                bitfield_size,
            }
        })
    }

    /// For `FuncProto`: the parameters.
    pub fn params(&self) -> impl Iterator<Item = Param<'a>> + 'a {
        let btf = self.btf;
        let extra = if self.kind == Kind::FuncProto {
            self.extra
        } else {
            &[]
        };
        extra.chunks_exact(8).map(move |c| Param {
            name: btf.str_at(le32(c, 0)),
            type_id: le32(c, 4),
        })
    }

    /// For `Enum` and `Enum64`: the enumerators.
    pub fn enumerators(&self) -> Vec<Enumerator<'a>> {
        let btf = self.btf;
        let signed = self.kind_flag();
        match self.kind {
            Kind::Enum => self
                .extra
                .chunks_exact(8)
                .map(|c| {
                    let raw = le32(c, 4);
                    Enumerator {
                        name: btf.str_at(le32(c, 0)),
                        value: if signed {
                            raw as i32 as i128
                        } else {
                            raw as i128
                        },
                    }
                })
                .collect(),
            Kind::Enum64 => self
                .extra
                .chunks_exact(12)
                .map(|c| {
                    let raw = (le32(c, 8) as u64) << 32 | le32(c, 4) as u64;
                    Enumerator {
                        name: btf.str_at(le32(c, 0)),
                        value: if signed {
                            raw as i64 as i128
                        } else {
                            raw as i128
                        },
                    }
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// For `Datasec`: (variable type, offset, size) of each entry.
    pub fn datasec_vars(&self) -> impl Iterator<Item = (TypeId, u32, u32)> + 'a {
        let extra = if self.kind == Kind::Datasec {
            self.extra
        } else {
            &[]
        };
        extra
            .chunks_exact(12)
            .map(|c| (le32(c, 0), le32(c, 4), le32(c, 8)))
    }
}

// ---- types by name ---------------------------------------------------------

impl Btf {
    /// The ids of this blob's own types of `kind` named `name`, in id order: a scan of the
    /// records (no index), for small BTF such as a user binary's (a kernel's names are
    /// indexed by `kernel::Kernel`).
    pub fn own_named(&self, kind: Kind, name: &str) -> Vec<TypeId> {
        self.own_kinds()
            .filter(|&(k, off, _)| k == kind && self.bytes_at(off) == name.as_bytes())
            .map(|(_, _, id)| id)
            .collect()
    }
}
