//! The one walk of a `resolve:` path through the kernel's BTF, as Tetragon walks it: the K012
//! check (`checks/kernel.rs`) reports where it stops, and the runtime's plan
//! (`runtime/src/plan.rs`) compiles its steps into loads.
//!
//! Tetragon (pkg/sensors/tracing/generic.go `resolveBTFArg`, `formatBTFPath`,
//! `addPaddingOnNestedPtr`; pkg/btf/btf.go `ResolveBTFPath`, `processMembers`, `processArray`)
//! turns the path into at most [`MAX_BTF_ARG_DEPTH`] steps. Each step adds a byte offset to the
//! value and, when it is marked a pointer, loads 8 bytes there (bpf/process/generic_arg.h
//! `extract_arg_depth`). A pointer argument is taken as the address of what it points to; a
//! pointer to a pointer gets a `[0]` step in front for each extra level. Typedefs and
//! qualifiers are looked through at every step (`ResolveNestedTypes`).

use crate::btf::{Btf, Kind, TypeId};
use crate::kernel::members;

/// Tetragon's limit on the steps of a path, padding for nested pointers included
/// (`MaxBTFArgDepth` in pkg/api/tracingapi/client_kprobe.go, `MAX_BTF_ARG_DEPTH` in
/// bpf/process/event_config.h). The runtime's BPF side holds at least this many loads.
pub const MAX_BTF_ARG_DEPTH: usize = 10;

/// One step of a walked path: add `offset` bytes, then load a pointer there when `pointer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Step {
    /// Bytes added to the value.
    pub offset: u32,
    /// The value is then replaced by the 8 bytes at that address.
    pub pointer: bool,
}

/// A path walked to its end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Walked {
    /// Tetragon's steps, in order (never more than [`MAX_BTF_ARG_DEPTH`]).
    pub steps: Vec<Step>,
    /// The declared type of the last member or element reached.
    pub reached: TypeId,
    /// Some member on the way is a bitfield (Tetragon truncates its offset to bytes).
    pub bitfield: bool,
}

/// Where and why a walk stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WalkError {
    /// The path has more steps (padding included) than Tetragon's limit.
    TooDeep {
        /// Its steps.
        steps: usize,
    },
    /// The path is not `name(.name|[n])*`.
    Format,
    /// A step goes into something that is neither a struct, a union, a pointer nor an array.
    NotStruct {
        /// The path up to there (empty: the argument itself).
        walked: String,
        /// The member that cannot be entered.
        field: String,
        /// The type it would go into.
        ty: TypeId,
    },
    /// A struct or union has no member of that name.
    NoMember {
        /// The struct or union.
        owner: TypeId,
        /// The name looked for.
        field: String,
    },
    /// An index past the end of a fixed-size array.
    OutOfBounds {
        /// The index.
        index: u32,
        /// The array's elements.
        len: u32,
    },
    /// The BTF is inconsistent (a type id that does not exist).
    Broken,
}

enum Part<'a> {
    Name(&'a str),
    Index(u32),
}

/// The elements of a path as Tetragon's `formatBTFPath` splits it: names and `[n]` indexes.
fn parts(path: &str) -> Result<Vec<Part<'_>>, WalkError> {
    let mut out = Vec::new();
    for dotted in path.split('.') {
        let (name, mut rest) = match dotted.find('[') {
            Some(at) => (&dotted[..at], &dotted[at..]),
            None => (dotted, ""),
        };
        if name.is_empty() && (rest.is_empty() || !out.is_empty()) {
            return Err(WalkError::Format);
        }
        if !name.is_empty() {
            out.push(Part::Name(name));
        }
        while let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or(WalkError::Format)?;
            let n = after[..end].parse().map_err(|_| WalkError::Format)?;
            out.push(Part::Index(n));
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            return Err(WalkError::Format);
        }
    }
    Ok(out)
}

/// Walks `path` from an argument of type `root`. `param` says the root is a function
/// parameter (a pointer is then taken as the address of its target, as Tetragon's
/// `resolveBTFArg` does); a `btfType` struct or the current task is passed with `param` false.
pub fn walk(btf: &Btf, root: TypeId, path: &str, param: bool) -> Result<Walked, WalkError> {
    let mut elems = parts(path)?;
    let mut ty = root;
    // resolveBTFArg: a pointer parameter stands for its target, unless the path indexes it.
    if param {
        if let Some(t) = btf.ty(root) {
            if t.kind == Kind::Ptr && !matches!(elems.first(), Some(Part::Index(_))) {
                ty = t.type_id();
            }
        }
    }
    // addPaddingOnNestedPtr: a `[0]` per pointer level still left (typedefs are not looked
    // through here, as Tetragon's type switch does not).
    let start = ty;
    let mut padded = 0;
    while let Some(t) = btf.ty(ty) {
        if t.kind != Kind::Ptr || matches!(elems.first(), Some(Part::Index(_))) || padded > 16 {
            break;
        }
        padded += 1;
        ty = t.type_id();
    }
    for _ in 0..padded {
        elems.insert(0, Part::Index(0));
    }
    // the padding stands for the pointers just skipped: the walk goes through them
    ty = start;
    if elems.len() > MAX_BTF_ARG_DEPTH {
        return Err(WalkError::TooDeep { steps: elems.len() });
    }
    let mut steps = vec![Step::default(); elems.len()];
    let mut bitfield = false;
    let mut walked = String::new();
    let mut i = 0;
    let mut guard = 0;
    while i < elems.len() {
        guard += 1;
        if guard > 64 {
            return Err(WalkError::Broken);
        }
        let t = btf.skip_aliases(ty).ok_or(WalkError::Broken)?;
        match (t.kind, &elems[i]) {
            (Kind::Ptr, part) => {
                // ResolveBTFPath: the step before loads the pointer
                if i > 0 {
                    steps[i - 1].pointer = true;
                }
                if let Part::Index(n) = part {
                    steps[i].pointer = true;
                    let elem = t.type_id();
                    steps[i].offset = element_size(btf, elem)?.saturating_mul(*n);
                    ty = elem;
                    i += 1;
                    walked.push_str(&format!("[{n}]"));
                    continue;
                }
                ty = t.type_id();
            }
            (Kind::Array, Part::Index(n)) => {
                let (elem, _, len) = t.array();
                if len != 0 && *n >= len {
                    return Err(WalkError::OutOfBounds { index: *n, len });
                }
                steps[i].offset = element_size(btf, elem)?.saturating_mul(*n);
                ty = elem;
                i += 1;
                walked.push_str(&format!("[{n}]"));
            }
            (Kind::Struct | Kind::Union, Part::Name(name)) => {
                let m = members::member(btf, t.id, name).ok_or_else(|| WalkError::NoMember {
                    owner: t.id,
                    field: name.to_string(),
                })?;
                bitfield |= m.bitfield;
                steps[i].offset = m.bit_offset / 8;
                ty = m.type_id;
                i += 1;
                if !walked.is_empty() {
                    walked.push('.');
                }
                walked.push_str(name);
            }
            (_, part) => {
                return Err(WalkError::NotStruct {
                    walked: walked.clone(),
                    field: match part {
                        Part::Name(n) => n.to_string(),
                        Part::Index(n) => format!("[{n}]"),
                    },
                    ty,
                });
            }
        }
    }
    // processMembers / processArray: the last member is loaded when it is a pointer or a
    // number; a struct, union or array is left as its address.
    if let Some(last) = steps.last_mut() {
        let t = btf.skip_aliases(ty).ok_or(WalkError::Broken)?;
        if matches!(t.kind, Kind::Ptr | Kind::Int | Kind::Enum | Kind::Enum64) {
            last.pointer = true;
        }
    }
    Ok(Walked {
        steps,
        reached: ty,
        bitfield,
    })
}

fn element_size(btf: &Btf, elem: TypeId) -> Result<u32, WalkError> {
    btf.size_of(elem).ok_or(WalkError::Broken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{Kernel, KernelSpec};

    fn kernel() -> Kernel {
        Kernel::load(&KernelSpec {
            btf: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../testdata/btf/6.12.117+deb12-amd64.btf.zst"),
            ..KernelSpec::default()
        })
        .unwrap()
    }

    fn ptr_to(btf: &Btf, target: TypeId) -> TypeId {
        (1..btf.len() as u32)
            .find(|&id| {
                btf.ty(id)
                    .is_some_and(|t| t.kind == Kind::Ptr && t.type_id() == target)
            })
            .unwrap()
    }

    /// `struct cred **` resolved `user.uid.val`: a `[0]` load for the second pointer, a load
    /// of `user`, `uid` (a typedef of a struct) embedded, `val` loaded: Tetragon's steps.
    #[test]
    fn nested_pointer_typedef_struct_and_limit() {
        let k = kernel();
        let btf = k.btf();
        let cred = k.struct_named("cred").unwrap().id;
        let pp = ptr_to(btf, ptr_to(btf, cred));
        let w = walk(btf, pp, "user.uid.val", true).unwrap();
        assert_eq!(w.steps.len(), 4);
        assert_eq!(
            w.steps[0],
            Step {
                offset: 0,
                pointer: true
            }
        );
        let user = members::member(btf, cred, "user").unwrap();
        assert_eq!(
            w.steps[1],
            Step {
                offset: user.bit_offset / 8,
                pointer: true
            }
        );
        assert!(!w.steps[2].pointer);
        assert!(w.steps[3].pointer);
        // task->mm->owner->mm->owner->pid: 5 steps, under Tetragon's 10
        let task = k.struct_named("task_struct").unwrap().id;
        let w = walk(btf, ptr_to(btf, task), "mm.owner.mm.owner.pid", true).unwrap();
        assert_eq!(w.steps.len(), 5);
        assert!(w.steps.iter().all(|s| s.pointer));
        let deep = "mm.owner.mm.owner.mm.owner.mm.owner.mm.owner.pid";
        assert_eq!(
            walk(btf, task, deep, false),
            Err(WalkError::TooDeep { steps: 11 })
        );
        // an array member at the end is its address (comm is read as a string there)
        let w = walk(btf, task, "comm", false).unwrap();
        assert!(!w.steps[0].pointer);
        assert!(matches!(
            walk(btf, task, "pid.x", false),
            Err(WalkError::NotStruct { .. })
        ));
        assert!(matches!(
            walk(btf, task, "no_such", false),
            Err(WalkError::NoMember { .. })
        ));
        assert_eq!(
            walk(btf, task, "comm[16]", false),
            Err(WalkError::OutOfBounds { index: 16, len: 16 })
        );
    }
}
