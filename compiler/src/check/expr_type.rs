//! Type checking of `derive` and `filter` expressions against the columns at that point.

use miette::SourceSpan;

use super::error::CheckError;
use super::schema::Schema;
use crate::ast::{ColumnType, ExprSource};
use crate::expr::{self, BinaryOp, Expr, ExprKind, Range};
use crate::suggest::{did_you_mean, one_of};

/// The functions of the expression language: name, arity, and what they accept and return.
pub const FUNCTIONS: &[(&str, &str)] = &[
    ("abs", "abs(number) → same type"),
    ("sqrt", "sqrt(number) → float"),
    ("log", "log(number) → float, natural logarithm"),
    ("log1p", "log1p(number) → float, log(1 + x)"),
    ("exp", "exp(number) → float"),
    ("round", "round(number) → same type"),
    ("floor", "floor(number) → same type"),
    ("ceil", "ceil(number) → same type"),
    ("min", "min(number, number) → number"),
    ("max", "max(number, number) → number"),
    ("is_null", "is_null(any) → bool"),
    ("coalesce", "coalesce(a, b) → the first that is not null; `float` when it mixes `int` and `float`"),
    ("lower", "lower(string) → string"),
    ("upper", "upper(string) → string"),
    ("len", "len(string) → int"),
    ("year", "year(date) → int"),
    ("month", "month(date) → int"),
    ("day", "day(date) → int"),
];

const GRAMMAR_HELP: &str = "expressions use column names, numbers, 'strings', true/false, \
+ - * / %, == != < <= > >=, and/or/not, parentheses and functions such as log(x) or is_null(x)";

/// The type of an expression or sub-expression.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprType {
    /// Its column type.
    pub ty: ColumnType,
    /// Whether it may be null.
    pub nullable: bool,
}

/// Checks an expression; returns its type, or `None` after reporting why it has none.
pub(crate) fn check_expression(
    source: &ExprSource,
    schema: &Schema,
    place: &str,
    errors: &mut Vec<CheckError>,
) -> Option<(Expr, ExprType)> {
    let context = Context { source, schema, place };
    match expr::parse(&source.text) {
        Ok(parsed) => {
            let mut found = Vec::new();
            let ty = context.infer(&parsed, &mut found);
            errors.extend(found);
            ty.map(|ty| (parsed, ty))
        }
        Err(error) => {
            errors.push(CheckError::ExpressionSyntax {
                message: error.message,
                span: context.span(error.range),
                help: GRAMMAR_HELP.to_string(),
            });
            None
        }
    }
}

struct Context<'a> {
    source: &'a ExprSource,
    schema: &'a Schema,
    place: &'a str,
}

fn numeric(ty: ColumnType) -> bool {
    ty.is_numeric()
}

fn describe(ty: &ExprType) -> String {
    format!("`{}`", ty.ty.name())
}

impl Context<'_> {
    fn span(&self, range: Range) -> SourceSpan {
        match self.source.text_offset {
            Some(offset) => {
                SourceSpan::new((offset + range.start).into(), range.end.saturating_sub(range.start).max(1))
            }
            None => self.source.span,
        }
    }

    fn type_error(&self, errors: &mut Vec<CheckError>, range: Range, message: String, label: String, help: &str) {
        errors.push(CheckError::ExpressionType { message, span: self.span(range), label, help: help.to_string() });
    }

    fn infer(&self, expr: &Expr, errors: &mut Vec<CheckError>) -> Option<ExprType> {
        let plain = |ty| Some(ExprType { ty, nullable: false });
        match &expr.kind {
            ExprKind::Int(_) => plain(ColumnType::Int),
            ExprKind::Float(_) => plain(ColumnType::Float),
            ExprKind::Str(_) => plain(ColumnType::String),
            ExprKind::Bool(_) => plain(ColumnType::Bool),
            ExprKind::Column(name) => match self.schema.get(name) {
                Some(column) => Some(ExprType { ty: column.ty, nullable: column.nullable }),
                None => {
                    let names = self.schema.names();
                    errors.push(CheckError::UnknownColumn {
                        column: name.clone(),
                        place: self.place.to_string(),
                        span: self.span(expr.range),
                        help: did_you_mean(name, &names)
                            .unwrap_or_else(|| format!("the columns are {}", one_of(&names))),
                    });
                    None
                }
            },
            ExprKind::Neg(inner) => {
                let ty = self.infer(inner, errors)?;
                if !numeric(ty.ty) {
                    self.type_error(
                        errors,
                        expr.range,
                        format!("cannot negate a {} value", describe(&ty)),
                        format!("{} value", describe(&ty)),
                        "`-` applies to numbers",
                    );
                    return None;
                }
                Some(ty)
            }
            ExprKind::Not(inner) => {
                let ty = self.infer(inner, errors)?;
                if ty.ty != ColumnType::Bool {
                    self.type_error(
                        errors,
                        inner.range,
                        format!("`not` needs a `bool`, found {}", describe(&ty)),
                        format!("{} value", describe(&ty)),
                        "compare it first, such as `not (x > 0)`",
                    );
                    return None;
                }
                Some(ty)
            }
            ExprKind::Binary(op, left, right) => {
                let left_ty = self.infer(left, errors);
                let right_ty = self.infer(right, errors);
                let (left_ty, right_ty) = (left_ty?, right_ty?);
                self.binary(*op, expr, left, right, &left_ty, &right_ty, errors)
            }
            ExprKind::Call(name, args) => self.call(name, args, expr.range, errors),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn binary(
        &self,
        op: BinaryOp,
        expr: &Expr,
        left: &Expr,
        right: &Expr,
        left_ty: &ExprType,
        right_ty: &ExprType,
        errors: &mut Vec<CheckError>,
    ) -> Option<ExprType> {
        let nullable = left_ty.nullable || right_ty.nullable;
        let symbol = op.symbol();
        let mismatch = |errors: &mut Vec<CheckError>, help: &str| {
            self.type_error(
                errors,
                expr.range,
                format!("cannot apply `{symbol}` to {} and {}", describe(left_ty), describe(right_ty)),
                format!("{} {symbol} {}", describe(left_ty), describe(right_ty)),
                help,
            );
            None
        };
        match op {
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                if !numeric(left_ty.ty) || !numeric(right_ty.ty) {
                    return mismatch(
                        errors,
                        "arithmetic applies to `int` and `float` columns; `cast` other columns first",
                    );
                }
                let ty = if op == BinaryOp::Div || left_ty.ty == ColumnType::Float || right_ty.ty == ColumnType::Float {
                    ColumnType::Float
                } else {
                    ColumnType::Int
                };
                Some(ExprType { ty, nullable })
            }
            BinaryOp::And | BinaryOp::Or => {
                if left_ty.ty != ColumnType::Bool || right_ty.ty != ColumnType::Bool {
                    return mismatch(
                        errors,
                        "`and` and `or` join `bool` values, such as `age >= 18 and plan == 'pro'`",
                    );
                }
                Some(ExprType { ty: ColumnType::Bool, nullable })
            }
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let comparable = (numeric(left_ty.ty) && numeric(right_ty.ty))
                    || left_ty.ty == right_ty.ty
                    || matches!(
                        (left_ty.ty, right_ty.ty),
                        (ColumnType::Category, ColumnType::String)
                            | (ColumnType::String, ColumnType::Category)
                            | (ColumnType::Date | ColumnType::Datetime, ColumnType::String)
                            | (ColumnType::String, ColumnType::Date | ColumnType::Datetime)
                    );
                if !comparable {
                    return mismatch(errors, "compare values of the same type: numbers with numbers, text with 'text'");
                }
                // Either side may be the unordered one: `'basic' < plan` as much as `plan > 'basic'`.
                let ordering = !matches!(op, BinaryOp::Eq | BinaryOp::Ne);
                let unordered = |ty: &ExprType| matches!(ty.ty, ColumnType::Bool | ColumnType::Category);
                if ordering && (unordered(left_ty) || unordered(right_ty)) {
                    return mismatch(
                        errors,
                        "`<` and `>` order numbers, strings and dates; use `==` for categories and booleans",
                    );
                }
                self.check_level(left, right, errors);
                self.check_level(right, left, errors);
                Some(ExprType { ty: ColumnType::Bool, nullable })
            }
        }
    }

    /// `plan == 'premium'` where `premium` is not a declared level can never hold.
    fn check_level(&self, column: &Expr, literal: &Expr, errors: &mut Vec<CheckError>) {
        let (ExprKind::Column(name), ExprKind::Str(level)) = (&column.kind, &literal.kind) else { return };
        let Some(levels) = self.schema.get(name).and_then(|column| column.levels.as_ref()) else { return };
        if levels.iter().any(|known| known == level) {
            return;
        }
        let names: Vec<&str> = levels.iter().map(String::as_str).collect();
        errors.push(CheckError::UnknownLevel {
            level: level.clone(),
            column: name.clone(),
            span: self.span(literal.range),
            help: did_you_mean(level, &names).unwrap_or_else(|| format!("the levels are {}", one_of(&names))),
        });
    }

    fn call(&self, name: &str, args: &[Expr], range: Range, errors: &mut Vec<CheckError>) -> Option<ExprType> {
        let Some((_, signature)) = FUNCTIONS.iter().find(|(function, _)| *function == name) else {
            let names: Vec<&str> = FUNCTIONS.iter().map(|(function, _)| *function).collect();
            errors.push(CheckError::UnknownFunction {
                function: name.to_string(),
                span: self.span(range),
                help: did_you_mean(name, &names).unwrap_or_else(|| format!("the functions are {}", one_of(&names))),
            });
            return None;
        };
        let types: Vec<Option<ExprType>> = args.iter().map(|arg| self.infer(arg, errors)).collect();
        let arity = match name {
            "min" | "max" | "coalesce" => 2,
            _ => 1,
        };
        let bad = |errors: &mut Vec<CheckError>, message: String| {
            errors.push(CheckError::FunctionArguments {
                function: name.to_string(),
                message,
                span: self.span(range),
                help: signature.to_string(),
            });
            None
        };
        if args.len() != arity {
            let plural = if arity == 1 { "" } else { "s" };
            return bad(errors, format!("takes {arity} argument{plural}, found {}", args.len()));
        }
        let types: Vec<ExprType> = types.into_iter().collect::<Option<_>>()?;
        let first = &types[0];
        let nullable = types.iter().any(|ty| ty.nullable);
        let result = |ty| Some(ExprType { ty, nullable });
        match name {
            "is_null" => Some(ExprType { ty: ColumnType::Bool, nullable: false }),
            "coalesce" => {
                let second = &types[1];
                if first.ty != second.ty && !(numeric(first.ty) && numeric(second.ty)) {
                    return bad(
                        errors,
                        format!("needs two values of one type, found {} and {}", describe(first), describe(second)),
                    );
                }
                // Mixed numbers widen to `float`, as with `min` and `max`.
                let ty = if first.ty == second.ty { first.ty } else { ColumnType::Float };
                Some(ExprType { ty, nullable: first.nullable && second.nullable })
            }
            "lower" | "upper" | "len" => {
                if !matches!(first.ty, ColumnType::String | ColumnType::Category) {
                    return bad(errors, format!("needs a `string`, found {}", describe(first)));
                }
                result(if name == "len" { ColumnType::Int } else { ColumnType::String })
            }
            "year" | "month" | "day" => {
                if !matches!(first.ty, ColumnType::Date | ColumnType::Datetime) {
                    return bad(errors, format!("needs a `date` or `datetime`, found {}", describe(first)));
                }
                result(ColumnType::Int)
            }
            _ => {
                if let Some(wrong) = types.iter().find(|ty| !numeric(ty.ty)) {
                    return bad(errors, format!("needs numbers, found {}", describe(wrong)));
                }
                match name {
                    "abs" | "round" | "floor" | "ceil" => result(first.ty),
                    "min" | "max" if types.iter().all(|ty| ty.ty == ColumnType::Int) => result(ColumnType::Int),
                    _ => result(ColumnType::Float),
                }
            }
        }
    }
}
