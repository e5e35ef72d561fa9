//! Struct and union members by name, the one lookup behind `resolve:` paths: the K012 check
//! (`checks/kernel.rs`) and the runtime's plan (`runtime/src/plan.rs`) both walk with it.
//!
//! Like Tetragon (pkg/btf/btf.go `processMembers`), a name is looked for among the members in
//! order, going into anonymous structs and unions, whose offsets add up.

use crate::btf::{Btf, Kind, TypeId};

/// Deepest nesting of anonymous structs and unions followed.
const MAX_DEPTH: usize = 8;

/// A member found by name ([`member`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberAt {
    /// Its type.
    pub type_id: TypeId,
    /// Its offset from the start of the struct searched, in bits (anonymous members added).
    pub bit_offset: u32,
    /// It is a bitfield: not loadable as a whole number of bytes.
    pub bitfield: bool,
}

impl MemberAt {
    /// Its offset in bytes, when it starts on a byte and is not a bitfield.
    pub fn byte_offset(&self) -> Option<u32> {
        (!self.bitfield && self.bit_offset % 8 == 0).then_some(self.bit_offset / 8)
    }
}

/// The member `name` of the struct or union `owner`, looking into anonymous structs and unions.
pub fn member(btf: &Btf, owner: TypeId, name: &str) -> Option<MemberAt> {
    find(btf, owner, name, 0)
}

fn find(btf: &Btf, owner: TypeId, name: &str, depth: usize) -> Option<MemberAt> {
    let t = btf.ty(owner)?;
    for m in t.members() {
        if m.name == name {
            return Some(MemberAt {
                type_id: m.type_id,
                bit_offset: m.offset,
                bitfield: m.bitfield_size != 0,
            });
        }
        if m.name.is_empty() && depth < MAX_DEPTH {
            if let Some(inner) = btf.skip_aliases(m.type_id) {
                if matches!(inner.kind, Kind::Struct | Kind::Union) {
                    if let Some(found) = find(btf, inner.id, name, depth + 1) {
                        return Some(MemberAt {
                            bit_offset: found.bit_offset + m.offset,
                            ..found
                        });
                    }
                }
            }
        }
    }
    None
}

/// The names a path can take in `owner`: its named members and those of its anonymous structs
/// and unions, in order.
pub fn member_names(btf: &Btf, owner: TypeId) -> Vec<&str> {
    let mut names = Vec::new();
    collect(btf, owner, &mut names, 0);
    names
}

fn collect<'b>(btf: &'b Btf, owner: TypeId, names: &mut Vec<&'b str>, depth: usize) {
    let Some(t) = btf.ty(owner) else { return };
    for m in t.members() {
        if !m.name.is_empty() {
            names.push(m.name);
        } else if depth < MAX_DEPTH {
            if let Some(inner) = btf.skip_aliases(m.type_id) {
                collect(btf, inner.id, names, depth + 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{Kernel, KernelSpec};

    /// Members of real structs: named ones, ones inside anonymous unions (offsets added), and
    /// every listed name is found.
    #[test]
    fn members_of_a_real_struct() {
        let k = Kernel::load(&KernelSpec {
            btf: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../testdata/btf/6.12.117+deb12-amd64.btf.zst"),
            ..KernelSpec::default()
        })
        .unwrap();
        let btf = k.btf();
        let file = k.struct_named("file").unwrap().id;
        let path = member(btf, file, "f_path").unwrap();
        assert!(!path.bitfield);
        assert_eq!(path.bit_offset % 8, 0);
        assert_eq!(path.byte_offset(), Some(path.bit_offset / 8));
        assert!(member(btf, file, "no_such_member").is_none());
        let names = member_names(btf, file);
        assert!(names.contains(&"f_path"));
        for n in &names {
            assert!(member(btf, file, n).is_some(), "{n}");
        }
        // `struct sk_buff` keeps most members in anonymous unions and structs: `len` is found
        // inside, at an offset larger than the union's own start.
        let skb = k.struct_named("sk_buff").unwrap().id;
        let len = member(btf, skb, "len").unwrap();
        assert!(len.bit_offset > 0);
        assert!(member_names(btf, skb).contains(&"len"));
    }
}
