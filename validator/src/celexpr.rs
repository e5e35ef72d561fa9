//! Tetragon's `CelExpr` language: one CEL expression over a hook's arguments, which Tetragon
//! compiles to BPF when it loads the policy (pkg/celbpf).
//!
//! [`compile`] parses an expression with CEL's grammar and type-checks it in the environment
//! Tetragon builds (pkg/celbpf/env.go `newCheckerEnv`): the arguments `arg0`, `arg1`, ... in
//! the order the hook lists them, typed from their `type` (`int`/`int32`/`sint32` → s32,
//! `uint32` → u32, `int64`/`sint64`/`long` → s64 (CEL's `int`), `uint64`/`ulong`/
//! `unsigned long` → u64 (CEL's `uint`), pkg/celbpf/types.go `typeFromGenTy`), and only the
//! functions Tetragon declares: `==` and `!=` on two values of one type, `<` `<=` `>` `>=`
//! `+` `-` and `and()` `or()` `xor()` `not()` on two integers of one type, `&&` `||` `!`, and
//! the casts `int32(int)` and `uint32(uint)`. Anything else fails Tetragon's parser, checker
//! or compiler (pkg/celbpf/compiler.go), and the policy does not load.
//!
//! The result, an [`Expr`] tree with every node typed, is what the runtime lowers to its
//! in-kernel evaluator, so the checker and the runtime read the language from one place.

use std::ops::Range;

/// The value types of Tetragon's CEL environment (pkg/celbpf/types.go).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// CEL's `int`: a signed 64-bit integer.
    S64,
    /// CEL's `uint`: an unsigned 64-bit integer.
    U64,
    /// `s32`: a signed 32-bit integer (an `int` or `int32` argument, or `int32(...)`).
    S32,
    /// `u32`: an unsigned 32-bit integer (a `uint32` argument, or `uint32(...)`).
    U32,
    /// `bool`.
    Bool,
    /// An argument whose type Tetragon does not convert (strings, paths, `size_t`, ...):
    /// it type-checks against itself but fails to compile wherever it is used.
    Unsupported,
    /// An `auto` argument, or one whose type policyctl cannot tell: accepted as any integer
    /// type (no false error); the runtime refuses to compile it.
    Unknown,
}

impl Ty {
    /// The name Tetragon's messages use.
    pub fn name(self) -> &'static str {
        match self {
            Ty::S64 => "int",
            Ty::U64 => "uint",
            Ty::S32 => "s32",
            Ty::U32 => "u32",
            Ty::Bool => "bool",
            Ty::Unsupported => "unsupported",
            Ty::Unknown => "auto",
        }
    }

    fn is_int(self) -> bool {
        matches!(self, Ty::S64 | Ty::U64 | Ty::S32 | Ty::U32 | Ty::Unknown)
    }

    /// The CEL type of an argument declared with this `type` (pkg/generictypes
    /// GenericTypeFromString, then pkg/celbpf/types.go typeFromGenTy).
    pub fn of_arg_type(name: &str) -> Ty {
        match name {
            "int" | "int32" | "sint32" => Ty::S32,
            "uint32" => Ty::U32,
            "int64" | "sint64" | "long" => Ty::S64,
            "uint64" | "ulong" | "unsigned long" => Ty::U64,
            "auto" | "" => Ty::Unknown,
            _ => Ty::Unsupported,
        }
    }
}

/// The operations of a typed expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `+` (wraps at the operand type's width).
    Add,
    /// `-` (wraps at the operand type's width).
    Sub,
    /// `and(a, b)`: bitwise and.
    BitAnd,
    /// `or(a, b)`: bitwise or.
    BitOr,
    /// `xor(a, b)`: bitwise exclusive or.
    BitXor,
    /// `not(a)`: bitwise complement.
    BitNot,
    /// `&&`.
    And,
    /// `||`.
    Or,
    /// `!`.
    Not,
    /// `int32(x)`: an int truncated to 32 bits, signed.
    ToS32,
    /// `uint32(x)`: a uint truncated to 32 bits.
    ToU32,
}

/// A type-checked expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A literal: a bool (0 or 1), an int or a uint, as 64 bits.
    Lit {
        /// Its type: [`Ty::Bool`], [`Ty::S64`] or [`Ty::U64`].
        ty: Ty,
        /// Its bits.
        value: u64,
    },
    /// `argN`: the N-th argument the hook lists (0-based).
    Arg {
        /// N.
        position: usize,
        /// Its CEL type.
        ty: Ty,
    },
    /// An operation.
    Call {
        /// What it does.
        op: Op,
        /// The type of its operands (the first operand's, which all share).
        operand: Ty,
        /// The type of its result.
        ty: Ty,
        /// Its operands.
        args: Vec<Expr>,
    },
}

impl Expr {
    /// The expression's type.
    pub fn ty(&self) -> Ty {
        match self {
            Expr::Lit { ty, .. } | Expr::Arg { ty, .. } | Expr::Call { ty, .. } => *ty,
        }
    }
}

/// Why Tetragon would not compile an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CelError {
    /// The bytes of the expression at fault.
    pub at: Range<usize>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

/// The longest expression read (bytes) and the deepest nesting: past them the expression is
/// refused, so no input makes the reader's memory or stack grow without bound.
pub const MAX_LEN: usize = 4096;
/// See [`MAX_LEN`].
pub const MAX_DEPTH: usize = 64;

/// What Tetragon's environment offers, for help lines.
const OFFERED: &str = "Tetragon's CelExpr has ==, !=, <, <=, >, >=, +, -, &&, ||, !, and(), or(), xor(), not(), int32() and uint32(), over arg0, arg1, ... and bool, int and uint literals";

/// Parse and type-check `src` against the argument types `args` (the hook's arguments in the
/// order it lists them; for matchReturnArgs, the return argument alone).
pub fn compile(src: &str, args: &[Ty]) -> Result<Expr, CelError> {
    if src.len() > MAX_LEN {
        return Err(CelError {
            at: 0..src.len(),
            message: format!("the expression is longer than {MAX_LEN} bytes"),
            help: "split the condition over several filters (the filters of a selector are ANDed)"
                .into(),
        });
    }
    let tokens = lex(src)?;
    let mut p = Parser {
        src,
        tokens: &tokens,
        at: 0,
        depth: 0,
    };
    let node = p.expr()?;
    if let Some(t) = p.tokens.get(p.at) {
        return Err(CelError {
            at: t.span.clone(),
            message: format!("unexpected `{}` after the expression", &src[t.span.clone()]),
            help: "a CelExpr value is one expression; join conditions with && or ||".into(),
        });
    }
    let expr = check(&node, args)?;
    if expr.ty() != Ty::Bool {
        return Err(CelError {
            at: node.span.clone(),
            message: format!(
                "the expression is {} {}, and Tetragon needs a bool (\"expecting CEL expression to return bool\")",
                article(expr.ty()),
                expr.ty().name()
            ),
            help: "compare the value with something, e.g. `arg0 != int32(0)`".into(),
        });
    }
    Ok(expr)
}

fn article(ty: Ty) -> &'static str {
    match ty {
        Ty::S64 | Ty::S32 | Ty::Unsupported | Ty::Unknown => "an",
        _ => "a",
    }
}

/// The types of `arg0`, `arg1`, ... of a hook's CelExpr filters: in matchArgs
/// (`return_args` false) or in matchReturnArgs (`arg0` is then the return value).
pub fn arg_types(hook: &crate::model::Hook, return_args: bool) -> Vec<Ty> {
    let which = if return_args {
        crate::checks::selectors::FilterList::Return
    } else {
        crate::checks::selectors::FilterList::Args
    };
    crate::checks::operators::cel_arg_types(hook, which)
}

// ---- lexer -------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Int(i128),
    Uint(u128),
    Double,
    Str,
    Punct(&'static str),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    span: Range<usize>,
}

const PUNCTS: [&str; 24] = [
    "||", "&&", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "!", "?", ":", ".", ",",
    "(", ")", "[", "]", "{", "}",
];

fn lex(src: &str) -> Result<Vec<Token>, CelError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if src[i..].starts_with("//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        // strings and bytes, with an optional r/b prefix
        let prefix = b[i..]
            .iter()
            .take_while(|c| matches!(c, b'r' | b'R' | b'b' | b'B'))
            .count();
        if prefix <= 2 && matches!(b.get(i + prefix), Some(b'"' | b'\'')) {
            let raw = b[i..i + prefix].iter().any(|c| matches!(c, b'r' | b'R'));
            i += prefix;
            let q = b[i];
            let triple = b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q);
            i += if triple { 3 } else { 1 };
            loop {
                match b.get(i) {
                    None => {
                        return Err(CelError {
                            at: start..src.len(),
                            message: "a string that never ends".into(),
                            help: "close the quote".into(),
                        })
                    }
                    Some(b'\\') if !raw => i += 2,
                    Some(&x) if x == q => {
                        if !triple {
                            i += 1;
                            break;
                        }
                        if b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q) {
                            i += 3;
                            break;
                        }
                        i += 1;
                    }
                    Some(b'\n') if !triple => {
                        return Err(CelError {
                            at: start..i,
                            message: "a string that never ends".into(),
                            help: "close the quote on the same line".into(),
                        })
                    }
                    Some(_) => i += 1,
                }
            }
            out.push(Token {
                tok: Tok::Str,
                span: start..i.min(src.len()),
            });
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Ident(src[start..i].to_string()),
                span: start..i,
            });
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            out.push(number(src, &mut i)?);
            continue;
        }
        let Some(p) = PUNCTS.iter().find(|p| src[i..].starts_with(**p)) else {
            let ch = src[i..].chars().next().unwrap_or('?');
            return Err(CelError {
                at: i..i + ch.len_utf8(),
                message: format!("`{ch}` is not part of CEL's syntax"),
                help: OFFERED.into(),
            });
        };
        i += p.len();
        out.push(Token {
            tok: Tok::Punct(p),
            span: start..i,
        });
    }
    Ok(out)
}

fn number(src: &str, i: &mut usize) -> Result<Token, CelError> {
    let b = src.as_bytes();
    let start = *i;
    let bad = |at: Range<usize>, what: &str| CelError {
        at,
        message: format!("`{what}` is not a number CEL reads"),
        help: "write decimal (`1024`) or hex (`0x400`) integers, with `u` for a uint (`1024u`)"
            .into(),
    };
    if src[start..].starts_with("0x") || src[start..].starts_with("0X") {
        *i += 2;
        while *i < b.len() && b[*i].is_ascii_hexdigit() {
            *i += 1;
        }
        let digits = &src[start + 2..*i];
        let uint = matches!(b.get(*i), Some(b'u' | b'U'));
        if uint {
            *i += 1;
        }
        let value =
            u128::from_str_radix(digits, 16).map_err(|_| bad(start..*i, &src[start..*i]))?;
        return Ok(Token {
            tok: if uint {
                Tok::Uint(value)
            } else {
                Tok::Int(value as i128)
            },
            span: start..*i,
        });
    }
    while *i < b.len() && b[*i].is_ascii_digit() {
        *i += 1;
    }
    let mut double = false;
    if b.get(*i) == Some(&b'.') && b.get(*i + 1).is_some_and(u8::is_ascii_digit) {
        double = true;
        *i += 1;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
    }
    if matches!(b.get(*i), Some(b'e' | b'E')) {
        let mut j = *i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            double = true;
            *i = j;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
        }
    }
    if double {
        return Ok(Token {
            tok: Tok::Double,
            span: start..*i,
        });
    }
    let digits = &src[start..*i];
    let uint = matches!(b.get(*i), Some(b'u' | b'U'));
    if uint {
        *i += 1;
    }
    // more digits than any 64-bit value has: out of range, reported at the check
    let value = digits.parse::<u128>().unwrap_or(u128::MAX);
    Ok(Token {
        tok: if uint {
            Tok::Uint(value)
        } else {
            Tok::Int(value.min(i128::MAX as u128) as i128)
        },
        span: start..*i,
    })
}

// ---- parser (CEL's grammar, cel-spec/doc/langdef.md) --------------------------------------

#[derive(Debug, Clone)]
struct Node {
    kind: Kind,
    span: Range<usize>,
}

#[derive(Debug, Clone)]
enum Kind {
    Int(i128),
    Uint(u128),
    Bool(bool),
    /// A literal Tetragon cannot compile (double, string, bytes, null).
    OtherLit(&'static str),
    Ident(String),
    /// A function or operator call; `target` is the receiver of `x.f(...)`.
    Call {
        name: String,
        target: Option<Box<Node>>,
        args: Vec<Node>,
    },
    /// Everything else CEL parses and Tetragon cannot compile: field selection, indexing,
    /// lists, maps, messages.
    Other(&'static str),
}

struct Parser<'a> {
    src: &'a str,
    tokens: &'a [Token],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at).map(|t| &t.tok)
    }

    fn peek_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::Punct(q)) if *q == p)
    }

    fn end(&self) -> usize {
        self.tokens
            .get(self.at.wrapping_sub(1))
            .map_or(0, |t| t.span.end)
    }

    fn here(&self) -> Range<usize> {
        self.tokens
            .get(self.at)
            .map_or(self.src.len()..self.src.len(), |t| t.span.clone())
    }

    fn expect(&mut self, p: &str) -> Result<(), CelError> {
        if self.peek_punct(p) {
            self.at += 1;
            return Ok(());
        }
        let found = self.tokens.get(self.at).map_or("the end".to_string(), |t| {
            format!("`{}`", &self.src[t.span.clone()])
        });
        Err(CelError {
            at: self.here(),
            message: format!("expected `{p}`, found {found}"),
            help: "check the parentheses and operators of the expression".into(),
        })
    }

    fn enter(&mut self) -> Result<(), CelError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CelError {
                at: self.here(),
                message: format!("the expression nests deeper than {MAX_DEPTH} levels"),
                help: "write a flatter expression".into(),
            });
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Node, CelError> {
        self.enter()?;
        let start = self.here().start;
        let cond = self.binary(0)?;
        let out = if self.peek_punct("?") {
            self.at += 1;
            let a = self.binary(0)?;
            self.expect(":")?;
            let b = self.expr()?;
            Node {
                kind: Kind::Call {
                    name: "_?_:_".into(),
                    target: None,
                    args: vec![cond, a, b],
                },
                span: start..self.end(),
            }
        } else {
            cond
        };
        self.depth -= 1;
        Ok(out)
    }

    /// Binary operators by precedence: `||`, `&&`, relations, `+ -`, `* / %`.
    fn binary(&mut self, level: usize) -> Result<Node, CelError> {
        const LEVELS: [&[&str]; 5] = [
            &["||"],
            &["&&"],
            &["==", "!=", "<", "<=", ">", ">=", "in"],
            &["+", "-"],
            &["*", "/", "%"],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        self.enter()?;
        let start = self.here().start;
        let mut left = self.binary(level + 1)?;
        loop {
            let op = match self.peek() {
                Some(Tok::Punct(p)) if LEVELS[level].contains(p) => *p,
                Some(Tok::Ident(w)) if w == "in" && level == 2 => "in",
                _ => break,
            };
            self.at += 1;
            let right = self.binary(level + 1)?;
            left = Node {
                kind: Kind::Call {
                    name: op.to_string(),
                    target: None,
                    args: vec![left, right],
                },
                span: start..self.end(),
            };
        }
        self.depth -= 1;
        Ok(left)
    }

    fn unary(&mut self) -> Result<Node, CelError> {
        self.enter()?;
        let start = self.here().start;
        let out = if self.peek_punct("!") {
            self.at += 1;
            let operand = self.unary()?;
            Node {
                kind: Kind::Call {
                    name: "!".into(),
                    target: None,
                    args: vec![operand],
                },
                span: start..self.end(),
            }
        } else if self.peek_punct("-") {
            self.at += 1;
            // CEL reads `-` before an int or double literal as part of the literal
            match self.peek().cloned() {
                Some(Tok::Int(v)) if !self.followed_by_member() => {
                    self.at += 1;
                    Node {
                        kind: Kind::Int(-v),
                        span: start..self.end(),
                    }
                }
                Some(Tok::Double) if !self.followed_by_member() => {
                    self.at += 1;
                    Node {
                        kind: Kind::OtherLit("double"),
                        span: start..self.end(),
                    }
                }
                _ => {
                    let operand = self.unary()?;
                    Node {
                        kind: Kind::Call {
                            name: "-_".into(),
                            target: None,
                            args: vec![operand],
                        },
                        span: start..self.end(),
                    }
                }
            }
        } else {
            self.member()?
        };
        self.depth -= 1;
        Ok(out)
    }

    fn followed_by_member(&self) -> bool {
        matches!(
            self.tokens.get(self.at + 1).map(|t| &t.tok),
            Some(Tok::Punct("." | "["))
        )
    }

    fn member(&mut self) -> Result<Node, CelError> {
        let start = self.here().start;
        let mut node = self.primary()?;
        loop {
            if self.peek_punct(".") {
                self.at += 1;
                let Some(Tok::Ident(name)) = self.peek().cloned() else {
                    return Err(CelError {
                        at: self.here(),
                        message: "expected a field or method name after `.`".into(),
                        help: OFFERED.into(),
                    });
                };
                self.at += 1;
                if self.peek_punct("(") {
                    let args = self.call_args()?;
                    node = Node {
                        kind: Kind::Call {
                            name,
                            target: Some(Box::new(node)),
                            args,
                        },
                        span: start..self.end(),
                    };
                } else {
                    node = Node {
                        kind: Kind::Other("field selection"),
                        span: start..self.end(),
                    };
                }
            } else if self.peek_punct("[") {
                self.at += 1;
                self.expr()?;
                self.expect("]")?;
                node = Node {
                    kind: Kind::Other("indexing"),
                    span: start..self.end(),
                };
            } else if self.peek_punct("{") && matches!(node.kind, Kind::Ident(_)) {
                self.skip_braces()?;
                node = Node {
                    kind: Kind::Other("a message"),
                    span: start..self.end(),
                };
            } else {
                return Ok(node);
            }
        }
    }

    fn call_args(&mut self) -> Result<Vec<Node>, CelError> {
        self.expect("(")?;
        let mut args = Vec::new();
        if !self.peek_punct(")") {
            loop {
                args.push(self.expr()?);
                if self.peek_punct(",") {
                    self.at += 1;
                    continue;
                }
                break;
            }
        }
        self.expect(")")?;
        Ok(args)
    }

    /// `{...}` of a map or message: parsed for its syntax, not kept.
    fn skip_braces(&mut self) -> Result<(), CelError> {
        self.expect("{")?;
        if !self.peek_punct("}") {
            loop {
                self.expr()?;
                self.expect(":")?;
                self.expr()?;
                if self.peek_punct(",") {
                    self.at += 1;
                    if self.peek_punct("}") {
                        break;
                    }
                    continue;
                }
                break;
            }
        }
        self.expect("}")
    }

    fn primary(&mut self) -> Result<Node, CelError> {
        let span = self.here();
        let Some(tok) = self.peek().cloned() else {
            return Err(CelError {
                at: span,
                message: "the expression ends where a value is expected".into(),
                help: "complete the expression".into(),
            });
        };
        self.at += 1;
        let kind = match tok {
            Tok::Int(v) => Kind::Int(v),
            Tok::Uint(v) => Kind::Uint(v),
            Tok::Double => Kind::OtherLit("double"),
            Tok::Str => Kind::OtherLit(if self.src[span.clone()].starts_with(['b', 'B']) {
                "bytes"
            } else {
                "string"
            }),
            Tok::Ident(w) => match w.as_str() {
                "true" => Kind::Bool(true),
                "false" => Kind::Bool(false),
                "null" => Kind::OtherLit("null"),
                "in" | "as" | "break" | "const" | "continue" | "else" | "for" | "function"
                | "if" | "import" | "let" | "loop" | "package" | "namespace" | "return" | "var"
                | "void" => {
                    return Err(CelError {
                        at: span,
                        message: format!("`{w}` is a reserved word in CEL"),
                        help: OFFERED.into(),
                    })
                }
                _ if self.peek_punct("(") => {
                    let args = self.call_args()?;
                    Kind::Call {
                        name: w,
                        target: None,
                        args,
                    }
                }
                _ => Kind::Ident(w),
            },
            Tok::Punct("(") => {
                let inner = self.expr()?;
                self.expect(")")?;
                return Ok(Node {
                    kind: inner.kind,
                    span: span.start..self.end(),
                });
            }
            Tok::Punct("[") => {
                if !self.peek_punct("]") {
                    loop {
                        self.expr()?;
                        if self.peek_punct(",") {
                            self.at += 1;
                            if self.peek_punct("]") {
                                break;
                            }
                            continue;
                        }
                        break;
                    }
                }
                self.expect("]")?;
                Kind::Other("a list")
            }
            Tok::Punct("{") => {
                self.at -= 1;
                self.skip_braces()?;
                Kind::Other("a map")
            }
            Tok::Punct(".") => {
                // a leading dot names the root namespace: `.arg0`
                let Some(Tok::Ident(w)) = self.peek().cloned() else {
                    return Err(CelError {
                        at: span,
                        message: "expected a name after `.`".into(),
                        help: OFFERED.into(),
                    });
                };
                self.at += 1;
                Kind::Ident(w)
            }
            Tok::Punct(p) => {
                return Err(CelError {
                    at: span,
                    message: format!("`{p}` where a value is expected"),
                    help: OFFERED.into(),
                })
            }
        };
        Ok(Node {
            kind,
            span: span.start..self.end(),
        })
    }
}

// ---- checker (Tetragon's environment) -----------------------------------------------------

fn check(node: &Node, args: &[Ty]) -> Result<Expr, CelError> {
    let err = |message: String, help: &str| CelError {
        at: node.span.clone(),
        message,
        help: help.to_string(),
    };
    match &node.kind {
        Kind::Bool(b) => Ok(Expr::Lit {
            ty: Ty::Bool,
            value: u64::from(*b),
        }),
        Kind::Int(v) => {
            let value = i64::try_from(*v).map_err(|_| {
                err(
                    "the integer does not fit CEL's 64-bit int".into(),
                    "use a smaller value",
                )
            })?;
            Ok(Expr::Lit {
                ty: Ty::S64,
                value: value as u64,
            })
        }
        Kind::Uint(v) => {
            let value = u64::try_from(*v).map_err(|_| {
                err(
                    "the integer does not fit CEL's 64-bit uint".into(),
                    "use a smaller value",
                )
            })?;
            Ok(Expr::Lit { ty: Ty::U64, value })
        }
        Kind::OtherLit(what) => Err(err(
            format!("Tetragon compiles only bool, int and uint literals, not {what}s (pkg/celbpf/compiler.go compileLiteral)"),
            "compare integer arguments with integer literals",
        )),
        Kind::Other(what) => Err(err(
            format!("Tetragon's CelExpr has no {what}"),
            OFFERED,
        )),
        Kind::Ident(name) => {
            let position = name
                .strip_prefix("arg")
                .filter(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
                .and_then(|n| n.parse::<usize>().ok());
            match position {
                Some(p) if p < args.len() => {
                    let ty = args[p];
                    if ty == Ty::Unsupported {
                        return Err(err(
                            format!("`{name}` has a type Tetragon's CelExpr cannot read (\"arg{p} has unsupported type\"): it compiles int, int32, uint32, int64 and uint64 arguments"),
                            "filter this argument with matchArgs operators instead",
                        ));
                    }
                    Ok(Expr::Arg { position: p, ty })
                }
                _ => Err(err(
                    format!(
                        "`{name}` is not declared: {}",
                        match args.len() {
                            0 => "this hook lists no arguments".to_string(),
                            1 => "the only argument is arg0".to_string(),
                            2 => "the arguments are arg0 and arg1".to_string(),
                            n => format!("the arguments are arg0 to arg{}", n - 1),
                        }
                    ),
                    "CelExpr names the hook's arguments arg0, arg1, ... in the order `args` lists them (not by their `index`)",
                )),
            }
        }
        Kind::Call { name, target, args: operands } => {
            if target.is_some() {
                return Err(err(
                    format!("Tetragon's CelExpr has no method `{name}`"),
                    OFFERED,
                ));
            }
            let arity = operands.len();
            let (op, want) = match (name.as_str(), arity) {
                ("==", 2) => (Op::Eq, Want::Same),
                ("!=", 2) => (Op::Ne, Want::Same),
                ("<", 2) => (Op::Lt, Want::Int),
                ("<=", 2) => (Op::Le, Want::Int),
                (">", 2) => (Op::Gt, Want::Int),
                (">=", 2) => (Op::Ge, Want::Int),
                ("+", 2) => (Op::Add, Want::Int),
                ("-", 2) => (Op::Sub, Want::Int),
                ("and", 2) => (Op::BitAnd, Want::Int),
                ("or", 2) => (Op::BitOr, Want::Int),
                ("xor", 2) => (Op::BitXor, Want::Int),
                ("not", 1) => (Op::BitNot, Want::Int),
                ("&&", 2) => (Op::And, Want::Bool),
                ("||", 2) => (Op::Or, Want::Bool),
                ("!", 1) => (Op::Not, Want::Bool),
                ("int32", 1) => (Op::ToS32, Want::Exactly(Ty::S64)),
                ("uint32", 1) => (Op::ToU32, Want::Exactly(Ty::U64)),
                ("and" | "or" | "xor" | "not" | "int32" | "uint32", _) => {
                    return Err(err(
                        format!("`{name}` takes {} argument{}, not {arity}", if name == "and" || name == "or" || name == "xor" { "two" } else { "one" }, if name == "and" || name == "or" || name == "xor" { "s" } else { "" }),
                        OFFERED,
                    ))
                }
                _ => {
                    let shown = match name.as_str() {
                        "-_" => "unary `-` (negation)".to_string(),
                        "_?_:_" => "the conditional `? :`".to_string(),
                        "in" => "`in`".to_string(),
                        "int" | "uint" => format!("`{name}()` (it has `int32()` and `uint32()`)"),
                        op if !op.starts_with(|c: char| c.is_ascii_alphabetic()) => {
                            format!("operator `{op}`")
                        }
                        f => format!("function `{f}()`"),
                    };
                    return Err(err(format!("Tetragon's CelExpr has no {shown}"), OFFERED));
                }
            };
            let typed = operands
                .iter()
                .map(|o| check(o, args))
                .collect::<Result<Vec<_>, _>>()?;
            let types: Vec<Ty> = typed.iter().map(Expr::ty).collect();
            let operand = match want {
                Want::Bool => {
                    if let Some(i) = types.iter().position(|t| *t != Ty::Bool) {
                        return Err(CelError {
                            at: operands[i].span.clone(),
                            message: format!("`{name}` takes bools, and this is {} {}", article(types[i]), types[i].name()),
                            help: "compare the value first, e.g. `arg0 != int32(0)`".into(),
                        });
                    }
                    Ty::Bool
                }
                Want::Exactly(t) => {
                    if types[0] != t && types[0] != Ty::Unknown {
                        let lit = if t == Ty::U64 { "uint literal such as `5u`" } else { "int literal such as `-1`" };
                        return Err(CelError {
                            at: operands[0].span.clone(),
                            message: format!("`{name}()` converts {} {}, and this is {} {}", article(t), t.name(), article(types[0]), types[0].name()),
                            help: format!("give `{name}()` an {lit}"),
                        });
                    }
                    t
                }
                Want::Int | Want::Same => {
                    if want == Want::Int {
                        if let Some(i) = types.iter().position(|t| !t.is_int()) {
                            return Err(CelError {
                                at: operands[i].span.clone(),
                                message: format!("`{name}` takes integers, and this is {} {}", article(types[i]), types[i].name()),
                                help: OFFERED.into(),
                            });
                        }
                    }
                    unify(name, &types, operands)?
                }
            };
            let ty = match op {
                Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::And | Op::Or | Op::Not => {
                    Ty::Bool
                }
                Op::ToS32 => Ty::S32,
                Op::ToU32 => Ty::U32,
                _ => operand,
            };
            Ok(Expr::Call {
                op,
                operand,
                ty,
                args: typed,
            })
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    /// Two operands of one type (any type).
    Same,
    /// Integers of one type.
    Int,
    /// Bools.
    Bool,
    /// One operand of this type.
    Exactly(Ty),
}

/// The one type all operands share; [`Ty::Unknown`] stands for any integer type.
fn unify(name: &str, types: &[Ty], operands: &[Node]) -> Result<Ty, CelError> {
    let mut ty = Ty::Unknown;
    for (i, t) in types.iter().enumerate() {
        if *t == Ty::Unknown {
            continue;
        }
        if ty == Ty::Unknown {
            ty = *t;
            continue;
        }
        if *t != ty {
            let (a, b) = (ty, *t);
            let cast = |t: Ty| match t {
                Ty::S32 => " (write an int literal as `int32(5)`)",
                Ty::U32 => " (write a uint literal as `uint32(5u)`)",
                Ty::U64 => " (write a uint literal as `5u`)",
                _ => "",
            };
            return Err(CelError {
                at: operands[i].span.clone(),
                message: format!(
                    "`{name}` compares or combines values of one type, and these are {} {} and {} {} (CEL converts nothing by itself)",
                    article(a),
                    a.name(),
                    article(b),
                    b.name()
                ),
                help: literal_fix(operands, types).unwrap_or_else(|| {
                    format!(
                        "convert one side so both are {}{}",
                        if a == Ty::S64 || a == Ty::U64 { b.name() } else { a.name() },
                        cast(if a == Ty::S64 || a == Ty::U64 { b } else { a })
                    )
                }),
            });
        }
    }
    Ok(ty)
}

/// For a literal beside a value of another type, the literal written in that type.
fn literal_fix(operands: &[Node], types: &[Ty]) -> Option<String> {
    if operands.len() != 2 || types.len() != 2 {
        return None;
    }
    let (lit, other) = match (&operands[0].kind, &operands[1].kind) {
        (Kind::Int(_) | Kind::Uint(_), _) => (&operands[0], types[1]),
        (_, Kind::Int(_) | Kind::Uint(_)) => (&operands[1], types[0]),
        _ => return None,
    };
    let digits = match lit.kind {
        Kind::Int(v) => v.to_string(),
        Kind::Uint(v) => v.to_string(),
        _ => return None,
    };
    let fixed = match other {
        Ty::S32 => format!("int32({digits})"),
        Ty::U32 if !digits.starts_with('-') => format!("uint32({digits}u)"),
        Ty::U64 if !digits.starts_with('-') => format!("{digits}u"),
        Ty::S64 => digits,
        _ => return None,
    };
    Some(format!(
        "write the literal as {} {}: `{fixed}`",
        article(other),
        other.name()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str, args: &[Ty]) -> Expr {
        compile(src, args).unwrap_or_else(|e| panic!("{src}: {e:?}"))
    }

    fn err(src: &str, args: &[Ty]) -> String {
        compile(src, args).expect_err(src).message
    }

    #[test]
    fn corpus_expressions_compile() {
        // docs/content/en/docs/concepts/tracing-policy/selectors.md: sys_lseek's fd and whence
        ok(
            "arg1 == int32(-1) && arg0 >= int32(1024)",
            &[Ty::S32, Ty::S32],
        );
        ok("true", &[]);
        ok("false", &[]);
        ok("and(arg0, 0x3u) != 0u", &[Ty::U64]);
        ok("!(arg0 + int32(1) < int32(5)) || arg0 == arg0", &[Ty::S32]);
        ok("uint32(7u) == arg0", &[Ty::U32]);
        ok("not(arg0) == -1", &[Ty::S64]);
    }

    #[test]
    fn typed_tree() {
        let e = ok("arg0 >= int32(1024)", &[Ty::S32]);
        let Expr::Call {
            op,
            operand,
            ty,
            args,
        } = e
        else {
            panic!()
        };
        assert_eq!((op, operand, ty), (Op::Ge, Ty::S32, Ty::Bool));
        assert_eq!(
            args[0],
            Expr::Arg {
                position: 0,
                ty: Ty::S32
            }
        );
        assert_eq!(
            args[1],
            Expr::Call {
                op: Op::ToS32,
                operand: Ty::S64,
                ty: Ty::S32,
                args: vec![Expr::Lit {
                    ty: Ty::S64,
                    value: 1024
                }]
            }
        );
        let neg = ok("arg0 == -5", &[Ty::S64]);
        let Expr::Call { args, .. } = neg else {
            panic!()
        };
        assert_eq!(
            args[1],
            Expr::Lit {
                ty: Ty::S64,
                value: (-5i64) as u64
            }
        );
    }

    #[test]
    fn mistakes_tetragon_refuses() {
        assert!(err("arg0 == 5", &[Ty::S32]).contains("an s32 and an int"));
        assert!(err("arg0 == 5", &[Ty::U64]).contains("a uint and an int"));
        assert!(err("arg2 == 1", &[Ty::S64]).contains("not declared"));
        assert!(err("arg0 + 1", &[Ty::S64]).contains("needs a bool"));
        assert!(err("arg0 * 2 == 4", &[Ty::S64]).contains("operator `*`"));
        assert!(err("-arg0 == 4", &[Ty::S64]).contains("negation"));
        assert!(err("arg0 == \"x\"", &[Ty::Unsupported]).contains("cannot read"));
        assert!(err("size(arg0) > 1", &[Ty::S64]).contains("function `size()`"));
        assert!(err("int(arg0) > 1", &[Ty::S32]).contains("`int()`"));
        assert!(err("uint32(5) == arg0", &[Ty::U32]).contains("converts a uint"));
        assert!(err("arg0 == 1.5", &[Ty::S64]).contains("doubles"));
        assert!(err("arg0 > 1 ? true : false", &[Ty::S64]).contains("conditional"));
        assert!(err("arg0 in [1, 2]", &[Ty::S64]).contains("`in`"));
        assert!(err("[1, 2] == [1, 2]", &[]).contains("a list"));
        assert!(err("arg0 ==", &[Ty::S64]).contains("ends where a value"));
        assert!(err("(arg0 == 1", &[Ty::S64]).contains("expected `)`"));
        assert!(err("arg0 == 1 arg0", &[Ty::S64]).contains("unexpected"));
        assert!(err("arg0 == 99999999999999999999", &[Ty::S64]).contains("does not fit"));
        assert!(err("arg0.size() == 1", &[Ty::S64]).contains("method"));
        assert!(err("arg0 && true", &[Ty::S64]).contains("takes bools"));
        assert!(err("arg0 == 1 # x", &[Ty::S64]).contains("`#`"));
    }

    #[test]
    fn unknown_types_give_no_false_error() {
        ok("arg0 == 5", &[Ty::Unknown]);
        ok("arg0 == int32(5)", &[Ty::Unknown]);
        ok("arg0 == 5u", &[Ty::Unknown]);
    }

    #[test]
    fn hostile_input_is_bounded() {
        let deep = format!("{}true{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(err(&deep, &[]).contains("longer than") || err(&deep, &[]).contains("deeper"));
        let nested = format!("{}true{}", "(".repeat(200), ")".repeat(200));
        assert!(err(&nested, &[]).contains("deeper"));
        let bangs = format!("{}true", "!".repeat(500));
        assert!(err(&bangs, &[]).contains("deeper"));
        for s in [
            "\"",
            "'abc",
            "r\"x",
            "0x",
            "0xu",
            "1e",
            "..",
            "b'''x",
            "\u{1F600}",
        ] {
            let _ = compile(s, &[Ty::S64]);
        }
    }
}
