//! BTF types as C: `const char *filename`, `struct filename *`, `int do_mkdirat(int dfd, ...)`.
//!
//! Type names are the ones in BTF, which come from DWARF: `long int`, `long unsigned int`,
//! `short unsigned int` (what bpftool prints too).

use super::{Btf, Kind, TypeId};

/// Deepest chain of pointers, qualifiers and arrays rendered before giving up (`...`).
const MAX_DEPTH: usize = 32;

/// Most types one declaration visits, and most bytes of names it prints, before the rest is
/// rendered as `...`. Depth alone does not bound the work: in a broken (or hostile) file a
/// prototype whose parameters point to that same prototype expands about `vlen^16` times.
const MAX_NODES: usize = 4096;
const MAX_NAME_BYTES: usize = 1 << 16;

/// What is left of the work budget of one declaration.
struct Budget {
    nodes: usize,
    name_bytes: usize,
}

impl Budget {
    fn new() -> Budget {
        Budget {
            nodes: MAX_NODES,
            name_bytes: MAX_NAME_BYTES,
        }
    }

    /// Take one type; false when the budget is spent.
    fn visit(&mut self) -> bool {
        if self.nodes == 0 {
            return false;
        }
        self.nodes -= 1;
        true
    }

    /// Take `len` bytes of names; false when the budget is spent.
    fn print(&mut self, len: usize) -> bool {
        if len > self.name_bytes {
            self.name_bytes = 0;
            return false;
        }
        self.name_bytes -= len;
        true
    }
}

impl Btf {
    /// The C declaration of `name` with type `id`: `decl(ptr_to_char, "p")` is `char *p`; an
    /// empty name gives the type alone (`char *`).
    pub fn c_decl(&self, id: TypeId, name: &str) -> String {
        decl(self, id, name.to_string(), 0, &mut Budget::new())
    }

    /// The C name of a type: `struct filename *`, `umode_t`, `void (*)(void *, long int)`.
    pub fn c_type(&self, id: TypeId) -> String {
        self.c_decl(id, "")
    }

    /// A function's prototype in C, from its `FUNC` type id: `int do_mkdirat(int dfd, struct
    /// filename *name, umode_t mode)`. `None` when `id` is not a function.
    pub fn c_prototype(&self, func: TypeId) -> Option<String> {
        let f = self.ty(func)?;
        if f.kind != Kind::Func {
            return None;
        }
        Some(self.c_decl(f.type_id(), f.name()))
    }
}

/// Parameter list of a function prototype: `(int dfd, const char *filename)`, `(void)`.
fn params(btf: &Btf, proto: TypeId, depth: usize, budget: &mut Budget) -> String {
    let Some(p) = btf.ty(proto) else {
        return "(...)".into();
    };
    let mut list: Vec<String> = Vec::new();
    for param in p.params() {
        if param.type_id == 0 && param.name.is_empty() {
            list.push("...".to_string());
        } else if !budget.print(param.name.len()) {
            list.push("...".to_string());
            break;
        } else {
            list.push(decl(
                btf,
                param.type_id,
                param.name.to_string(),
                depth + 1,
                budget,
            ));
        }
    }
    if list.is_empty() {
        "(void)".into()
    } else {
        format!("({})", list.join(", "))
    }
}

/// `base inner`, or `base` alone when there is no inner part.
fn with(base: &str, inner: &str) -> String {
    if inner.is_empty() {
        base.to_string()
    } else {
        format!("{base} {inner}")
    }
}

/// `prefix` and the type's name (`struct filename`), `prefix{...}` for anonymous types.
fn named(btf: &Btf, id: TypeId, prefix: &str, budget: &mut Budget) -> String {
    let name = btf.ty(id).map_or("", |t| t.name());
    if !budget.print(name.len()) {
        format!("{prefix}...")
    } else if name.is_empty() {
        format!("{prefix}{{...}}")
    } else {
        format!("{prefix}{name}")
    }
}

/// Build the declaration inside out: `inner` is what the type applies to so far (a name,
/// `*name`, `name[4]`, ...).
fn decl(btf: &Btf, id: TypeId, inner: String, depth: usize, budget: &mut Budget) -> String {
    if depth > MAX_DEPTH || !budget.visit() {
        return with("...", &inner);
    }
    let Some(t) = btf.ty(id) else {
        return with(&format!("<bad type {id}>"), &inner);
    };
    match t.kind {
        Kind::Void => with("void", &inner),
        Kind::Int | Kind::Float | Kind::Typedef => with(&named(btf, id, "", budget), &inner),
        Kind::Struct => with(&named(btf, id, "struct ", budget), &inner),
        Kind::Union => with(&named(btf, id, "union ", budget), &inner),
        Kind::Enum | Kind::Enum64 => with(&named(btf, id, "enum ", budget), &inner),
        Kind::Fwd => {
            let prefix = if t.kind_flag() { "union " } else { "struct " };
            with(&named(btf, id, prefix, budget), &inner)
        }
        Kind::Ptr => {
            let target = btf.skip_qualifiers(t.type_id());
            let needs_parens =
                target.is_some_and(|t| matches!(t.kind, Kind::Array | Kind::FuncProto));
            let inner = if needs_parens {
                format!("(*{inner})")
            } else {
                format!("*{inner}")
            };
            decl(btf, t.type_id(), inner, depth + 1, budget)
        }
        Kind::Const | Kind::Volatile | Kind::Restrict => {
            let q = match t.kind {
                Kind::Const => "const",
                Kind::Volatile => "volatile",
                _ => "restrict",
            };
            // A qualified pointer puts the qualifier after the star (`char *const p`); anything
            // else before the type (`const char`).
            let target_is_ptr = btf.ty(t.type_id()).is_some_and(|t| t.kind == Kind::Ptr);
            if target_is_ptr {
                decl(btf, t.type_id(), with(q, &inner), depth + 1, budget)
            } else {
                format!("{q} {}", decl(btf, t.type_id(), inner, depth + 1, budget))
            }
        }
        // Type tags (`__user`, `__rcu`) are attributes; C readers know the type without them.
        Kind::TypeTag => decl(btf, t.type_id(), inner, depth + 1, budget),
        Kind::Array => {
            let (elem, _, n) = t.array();
            decl(btf, elem, format!("{inner}[{n}]"), depth + 1, budget)
        }
        Kind::FuncProto => {
            let inner = format!("{inner}{}", params(btf, id, depth, budget));
            decl(btf, t.type_id(), inner, depth + 1, budget)
        }
        Kind::Func => {
            let name = if budget.print(t.name().len()) {
                t.name()
            } else {
                "..."
            };
            decl(btf, t.type_id(), with(name, &inner), depth + 1, budget)
        }
        Kind::Var | Kind::DeclTag => decl(btf, t.type_id(), inner, depth + 1, budget),
        Kind::Datasec => {
            let name = if budget.print(t.name().len()) {
                t.name()
            } else {
                "..."
            };
            with(&format!("section {name}"), &inner)
        }
    }
}
