//! CelExpr filters: the validator's typed expression ([`policyctl_validator::celexpr`])
//! lowered to the postfix program the BPF side's `cel_eval` runs (common.h, `struct
//! cel_prog`). The language (what parses, what type-checks) lives in the validator alone; this
//! module only decides how each typed node runs.

use policyctl_validator::celexpr::{self, Expr, Op, Ty};

use crate::layout::{cel_op, cel_ty, CelInsn, CelProg, CEL_MAX_INSNS, CEL_STACK};

/// A CelExpr program and the filter it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CelEntry {
    /// The filter id (`struct filter.id`), the key in `cel_progs`.
    pub filter: u32,
    /// The program.
    pub prog: CelProg,
}

/// Compile `src` for a hook whose event arguments have the CEL types `args` (position i is
/// event argument i; with `ret`, the return value is arg0).
pub fn compile(src: &str, args: &[Ty]) -> Result<CelProg, String> {
    let expr = celexpr::compile(src, args).map_err(|e| {
        format!(
            "CelExpr `{src}`: {} (policyctl check reports this as P077)",
            e.message
        )
    })?;
    let mut prog = CelProg::default();
    let mut depth = 0;
    let mut max_depth = 0;
    lower(&expr, &mut prog, &mut depth, &mut max_depth)?;
    if max_depth > CEL_STACK {
        return Err(format!(
            "CelExpr `{src}` nests deeper than the {CEL_STACK} values the runtime's evaluator holds; split it over several filters (they are ANDed)"
        ));
    }
    Ok(prog)
}

fn ty_code(ty: Ty) -> Result<u8, String> {
    Ok(match ty {
        Ty::S64 => cel_ty::S64,
        Ty::U64 => cel_ty::U64,
        Ty::S32 => cel_ty::S32,
        Ty::U32 => cel_ty::U32,
        Ty::Bool => cel_ty::BOOL,
        Ty::Unknown => {
            return Err(
                "CelExpr over an argument of type `auto`: declare its integer type (int, uint32, int64, uint64) so the runtime knows how to compare it".into(),
            )
        }
        Ty::Unsupported => return Err("CelExpr over an argument of a type it cannot read".into()),
    })
}

fn emit(prog: &mut CelProg, insn: CelInsn) -> Result<(), String> {
    let at = prog.len as usize;
    if at >= CEL_MAX_INSNS {
        return Err(format!(
            "CelExpr longer than the {CEL_MAX_INSNS} steps the runtime's evaluator runs; split it over several filters (they are ANDed)"
        ));
    }
    prog.insns[at] = insn;
    prog.len += 1;
    Ok(())
}

fn lower(e: &Expr, prog: &mut CelProg, depth: &mut usize, max: &mut usize) -> Result<(), String> {
    match e {
        Expr::Lit { ty, value } => {
            emit(
                prog,
                CelInsn {
                    op: cel_op::PUSH,
                    ty: ty_code(*ty)?,
                    imm: *value as i64,
                    ..Default::default()
                },
            )?;
            *depth += 1;
        }
        Expr::Arg { position, ty } => {
            emit(
                prog,
                CelInsn {
                    op: cel_op::ARG,
                    ty: ty_code(*ty)?,
                    arg: u8::try_from(*position).map_err(|_| "CelExpr argument out of range")?,
                    ..Default::default()
                },
            )?;
            *depth += 1;
        }
        Expr::Call {
            op, operand, args, ..
        } => {
            for a in args {
                lower(a, prog, depth, max)?;
            }
            let code = match op {
                Op::Eq => cel_op::EQ,
                Op::Ne => cel_op::NE,
                Op::Lt => cel_op::LT,
                Op::Le => cel_op::LE,
                Op::Gt => cel_op::GT,
                Op::Ge => cel_op::GE,
                Op::Add => cel_op::ADD,
                Op::Sub => cel_op::SUB,
                Op::BitAnd => cel_op::BAND,
                Op::BitOr => cel_op::BOR,
                Op::BitXor => cel_op::BXOR,
                Op::BitNot => cel_op::BNOT,
                Op::And => cel_op::LAND,
                Op::Or => cel_op::LOR,
                Op::Not => cel_op::LNOT,
                Op::ToS32 => cel_op::TO_S32,
                Op::ToU32 => cel_op::TO_U32,
            };
            emit(
                prog,
                CelInsn {
                    op: code,
                    ty: ty_code(*operand)?,
                    ..Default::default()
                },
            )?;
            // a binary operation takes two values and leaves one
            *depth -= args.len().saturating_sub(1);
        }
    }
    *max = (*max).max(*depth);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(p: &CelProg) -> Vec<(u8, u8, u8, i64)> {
        p.insns[..p.len as usize]
            .iter()
            .map(|i| (i.op, i.ty, i.arg, i.imm))
            .collect()
    }

    #[test]
    fn lowers_postfix() {
        let p = compile(
            "arg1 == int32(-1) && arg0 >= int32(1024)",
            &[Ty::S32, Ty::S32],
        )
        .unwrap();
        assert_eq!(
            ops(&p),
            vec![
                (cel_op::ARG, cel_ty::S32, 1, 0),
                (cel_op::PUSH, cel_ty::S64, 0, -1),
                (cel_op::TO_S32, cel_ty::S64, 0, 0),
                (cel_op::EQ, cel_ty::S32, 0, 0),
                (cel_op::ARG, cel_ty::S32, 0, 0),
                (cel_op::PUSH, cel_ty::S64, 0, 1024),
                (cel_op::TO_S32, cel_ty::S64, 0, 0),
                (cel_op::GE, cel_ty::S32, 0, 0),
                (cel_op::LAND, cel_ty::BOOL, 0, 0),
            ]
        );
        assert_eq!(
            ops(&compile("true", &[]).unwrap()),
            vec![(cel_op::PUSH, cel_ty::BOOL, 0, 1)]
        );
    }

    #[test]
    fn limits_and_unknown_types_are_refused() {
        let long = ["arg0 == int32(1)"; 9].join(" || ");
        assert!(compile(&long, &[Ty::S32]).unwrap_err().contains("steps"));
        let deep =
            "arg0 + (arg0 + (arg0 + (arg0 + (arg0 + (arg0 + (arg0 + (arg0 + arg0))))))) == arg0";
        assert!(compile(deep, &[Ty::S64]).unwrap_err().contains("deeper"));
        assert!(compile("arg0 == 1", &[Ty::Unknown])
            .unwrap_err()
            .contains("auto"));
        assert!(compile("arg0 == 1", &[Ty::S32])
            .unwrap_err()
            .contains("P077"));
    }
}
