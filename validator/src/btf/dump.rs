//! Types printed the way `bpftool btf dump file X format raw` prints them.
//!
//! The format is bpftool's (`tools/bpf/bpftool/btf.c`, `dump_btf_type`), as bpftool 7.1 (Linux
//! 6.1 tools) writes it: one header line per type, then one line per member, parameter,
//! enumerator or data-section entry, indented with a tab (shown as four spaces here):
//!
//! ```text
//! [59168] FUNC 'do_mkdirat' type_id=59167 linkage=static
//! [59167] FUNC_PROTO '(anon)' ret_type_id=28 vlen=3
//!     'dfd' type_id=28
//!     'name' type_id=1944
//!     'mode' type_id=73
//! ```
//!
//! Having the same text as bpftool makes the reader checkable against it type by type (the
//! integration tests in `validator/tests/btf.rs` do this on three kernels and a module).

use std::borrow::Cow;
use std::fmt::Write;

use super::{le32, Btf, Kind, TypeId};

impl Btf {
    /// One type as `bpftool btf dump ... format raw` prints it, without the final newline:
    /// `[59168] FUNC 'do_mkdirat' type_id=59167 linkage=static`; structs, unions, enums,
    /// prototypes and data sections add one `\n\t...` line per item.
    ///
    /// Names print as bpftool prints them: `'(anon)'` for string offset 0, `'(invalid)'` for an
    /// offset outside the string section. Id 0 prints as bpftool's `void`
    /// (`[0] UNKNOWN '(anon)'`); an id that does not exist as `[id] <no such type>`.
    pub fn dump_raw(&self, id: TypeId) -> String {
        let mut out = String::new();
        self.write_raw(&mut out, id);
        out
    }

    /// Every type of this blob (not the base's), each as [`Btf::dump_raw`] followed by a
    /// newline: the whole output of `bpftool btf dump file X format raw` (with `--base-btf` for
    /// split BTF).
    pub fn dump_raw_all(&self) -> String {
        let mut out = String::new();
        for id in self.first_id()..self.next_id() {
            self.write_raw(&mut out, id);
            out.push('\n');
        }
        out
    }

    /// A string as bpftool's `btf_str` prints it.
    fn bpftool_str(&self, off: u32) -> Cow<'_, str> {
        if off == 0 {
            return Cow::Borrowed("(anon)");
        }
        match self.str_checked(off) {
            Some(bytes) => String::from_utf8_lossy(bytes),
            None => Cow::Borrowed("(invalid)"),
        }
    }

    fn write_raw(&self, out: &mut String, id: TypeId) {
        let Some(t) = self.ty(id) else {
            let _ = write!(out, "[{id}] <no such type>");
            return;
        };
        if t.kind == Kind::Void {
            let _ = write!(out, "[{id}] UNKNOWN '(anon)'");
            return;
        }
        let vlen = t.vlen();
        let _ = write!(
            out,
            "[{id}] {} '{}'",
            t.kind.name(),
            self.bpftool_str(le32(t.raw, 0))
        );
        match t.kind {
            Kind::Void => {}
            Kind::Int => {
                let (encoding, offset, bits) = t.int_info();
                let encoding = match encoding {
                    0 => "(none)",
                    1 => "SIGNED",
                    2 => "CHAR",
                    4 => "BOOL",
                    _ => "UNKN",
                };
                let _ = write!(
                    out,
                    " size={} bits_offset={offset} nr_bits={bits} encoding={encoding}",
                    t.size()
                );
            }
            Kind::Ptr
            | Kind::Const
            | Kind::Volatile
            | Kind::Restrict
            | Kind::Typedef
            | Kind::TypeTag => {
                let _ = write!(out, " type_id={}", t.type_id());
            }
            Kind::Array => {
                let (elem, index, n) = t.array();
                let _ = write!(out, " type_id={elem} index_type_id={index} nr_elems={n}");
            }
            Kind::Struct | Kind::Union => {
                let _ = write!(out, " size={} vlen={vlen}", t.size());
                for (raw, m) in t.extra.chunks_exact(12).zip(t.members()) {
                    let _ = write!(
                        out,
                        "\n\t'{}' type_id={} bits_offset={}",
                        self.bpftool_str(le32(raw, 0)),
                        m.type_id,
                        m.offset
                    );
                    if m.bitfield_size != 0 {
                        let _ = write!(out, " bitfield_size={}", m.bitfield_size);
                    }
                }
            }
            Kind::Enum | Kind::Enum64 => {
                let signed = t.kind_flag();
                let encoding = if signed { "SIGNED" } else { "UNSIGNED" };
                let _ = write!(out, " encoding={encoding} size={} vlen={vlen}", t.size());
                let step = if t.kind == Kind::Enum { 8 } else { 12 };
                for (raw, e) in t.extra.chunks_exact(step).zip(t.enumerators()) {
                    let name = self.bpftool_str(le32(raw, 0));
                    // `value` is sign-extended only when the kind flag says signed, so it
                    // prints as C's %d / %u (ENUM) and %lld / %llu (ENUM64) would.
                    let suffix = match (t.kind, signed) {
                        (Kind::Enum, _) => "",
                        (_, true) => "LL",
                        (_, false) => "ULL",
                    };
                    let _ = write!(out, "\n\t'{name}' val={}{suffix}", e.value);
                }
            }
            Kind::Fwd => {
                let _ = write!(
                    out,
                    " fwd_kind={}",
                    if t.kind_flag() { "union" } else { "struct" }
                );
            }
            Kind::Func => {
                let _ = write!(
                    out,
                    " type_id={} linkage={}",
                    t.type_id(),
                    linkage_str(t.linkage())
                );
            }
            Kind::FuncProto => {
                let _ = write!(out, " ret_type_id={} vlen={vlen}", t.type_id());
                for (raw, p) in t.extra.chunks_exact(8).zip(t.params()) {
                    let _ = write!(
                        out,
                        "\n\t'{}' type_id={}",
                        self.bpftool_str(le32(raw, 0)),
                        p.type_id
                    );
                }
            }
            Kind::Var => {
                let _ = write!(
                    out,
                    " type_id={}, linkage={}",
                    t.type_id(),
                    linkage_str(t.linkage())
                );
            }
            Kind::Datasec => {
                let _ = write!(out, " size={} vlen={vlen}", t.size());
                for (ty, offset, size) in t.datasec_vars() {
                    let _ = write!(out, "\n\ttype_id={ty} offset={offset} size={size}");
                    // bpftool names the entry's type when the id exists (0 is `void`).
                    if let Some(v) = self.ty(ty) {
                        let kind = if v.kind == Kind::Void {
                            "UNKNOWN"
                        } else {
                            v.kind.name()
                        };
                        let _ = write!(out, " ({kind} '{}')", self.bpftool_str(le32(v.raw, 0)));
                    }
                }
            }
            Kind::Float => {
                let _ = write!(out, " size={}", t.size());
            }
            Kind::DeclTag => {
                let _ = write!(
                    out,
                    " type_id={} component_idx={}",
                    t.type_id(),
                    t.component_idx()
                );
            }
        }
    }
}

/// Linkage of a `FUNC` (its vlen) or a `VAR`, as bpftool names it.
fn linkage_str(linkage: u32) -> &'static str {
    match linkage {
        0 => "static",
        1 => "global",
        2 => "extern",
        _ => "(unknown)",
    }
}
