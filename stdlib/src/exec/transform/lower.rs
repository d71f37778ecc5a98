//! Lowering `derive` and `filter` expressions (parsed by [`crate::expr`]) to polars
//! expressions, with the language's typing rules: `int` op `int` stays `int`, `/` is always
//! float division, mixed numbers become `float`, dates compare with `'YYYY-MM-DD'` strings.
//!
//! Nulls propagate through operators and functions (`min(x, null)` is null), except `is_null`
//! and `coalesce`; `and`/`or` follow Kleene logic, and `filter` drops rows whose condition is
//! null. `%` is the floored remainder (its sign is the divisor's, as in Python) and `x % 0` is
//! null; `round` rounds halves away from zero.

use polars::prelude::*;

use crate::exec::table::{parse_date, parse_datetime};
use crate::expr::{self, BinaryOp, Expr as Ast, ExprKind};

/// The type of a lowered expression: the column types, with `string` and `category` as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ty {
    Int,
    Float,
    Bool,
    Text,
    Date,
    Datetime,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Int => "int",
            Ty::Float => "float",
            Ty::Bool => "bool",
            Ty::Text => "string",
            Ty::Date => "date",
            Ty::Datetime => "datetime",
        }
    }

    fn numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Float)
    }

    /// The dtype a derived column of this type gets.
    pub(super) fn dtype(self) -> DataType {
        match self {
            Ty::Int => DataType::Int64,
            Ty::Float => DataType::Float64,
            Ty::Bool => DataType::Boolean,
            Ty::Text => DataType::String,
            Ty::Date => DataType::Date,
            Ty::Datetime => DataType::Datetime(TimeUnit::Microseconds, None),
        }
    }

    fn of(dtype: &DataType) -> Option<Ty> {
        Some(match dtype {
            dtype if dtype.is_integer() => Ty::Int,
            dtype if dtype.is_float() => Ty::Float,
            DataType::Boolean => Ty::Bool,
            DataType::String | DataType::Categorical(..) | DataType::Enum(..) => Ty::Text,
            DataType::Date => Ty::Date,
            DataType::Datetime(..) => Ty::Datetime,
            _ => return None,
        })
    }
}

/// A lowered expression and its type.
#[derive(Debug, Clone)]
pub(super) struct Lowered {
    pub expr: Expr,
    pub ty: Ty,
}

/// Parses and lowers `text` against the columns of `schema`. The error is one line, in the
/// message style of diagnostics.
pub(super) fn lower(text: &str, schema: &Schema) -> Result<Lowered, String> {
    let ast = expr::parse(text).map_err(|error| format!("cannot parse the expression: {}", error.message))?;
    Lowerer { schema }.lower(&ast)
}

struct Lowerer<'a> {
    schema: &'a Schema,
}

fn float(lowered: Lowered) -> Expr {
    match lowered.ty {
        Ty::Float => lowered.expr,
        _ => lowered.expr.cast(DataType::Float64),
    }
}

impl Lowerer<'_> {
    fn lower(&self, ast: &Ast) -> Result<Lowered, String> {
        let plain = |expr, ty| Ok(Lowered { expr, ty });
        match &ast.kind {
            ExprKind::Int(int) => plain(lit(*int), Ty::Int),
            ExprKind::Float(number) => plain(lit(*number), Ty::Float),
            ExprKind::Str(text) => plain(lit(text.clone()), Ty::Text),
            ExprKind::Bool(flag) => plain(lit(*flag), Ty::Bool),
            ExprKind::Column(name) => {
                let dtype = self.schema.get(name.as_str()).ok_or_else(|| format!("column `{name}` does not exist"))?;
                let ty = Ty::of(dtype)
                    .ok_or_else(|| format!("column `{name}` holds {dtype} values, which expressions cannot use"))?;
                // Every integer is an `Int64` and every text a `String` inside expressions.
                let expr = if dtype == &ty.dtype() { col(name.as_str()) } else { col(name.as_str()).cast(ty.dtype()) };
                plain(expr, ty)
            }
            ExprKind::Neg(inner) => {
                let inner = self.numeric(inner, "`-`")?;
                plain(-inner.expr, inner.ty)
            }
            ExprKind::Not(inner) => {
                let inner = self.lower(inner)?;
                if inner.ty != Ty::Bool {
                    return Err(format!("`not` needs a `bool`, found `{}`", inner.ty.name()));
                }
                plain(inner.expr.not(), Ty::Bool)
            }
            ExprKind::Binary(op, left, right) => self.binary(*op, left, right),
            ExprKind::Call(name, args) => self.call(name, args),
        }
    }

    fn numeric(&self, ast: &Ast, what: &str) -> Result<Lowered, String> {
        let lowered = self.lower(ast)?;
        if !lowered.ty.numeric() {
            return Err(format!("{what} needs numbers, found `{}`", lowered.ty.name()));
        }
        Ok(lowered)
    }

    fn binary(&self, op: BinaryOp, left_ast: &Ast, right_ast: &Ast) -> Result<Lowered, String> {
        let symbol = op.symbol();
        let left = self.lower(left_ast)?;
        let right = self.lower(right_ast)?;
        let mismatch = || format!("cannot apply `{symbol}` to `{}` and `{}`", left.ty.name(), right.ty.name());
        match op {
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                if !left.ty.numeric() || !right.ty.numeric() {
                    return Err(mismatch());
                }
                let both_int = left.ty == Ty::Int && right.ty == Ty::Int && op != BinaryOp::Div;
                let (ty, l, r) =
                    if both_int { (Ty::Int, left.expr, right.expr) } else { (Ty::Float, float(left), float(right)) };
                let expr = match op {
                    BinaryOp::Add => l + r,
                    BinaryOp::Sub => l - r,
                    BinaryOp::Mul => l * r,
                    BinaryOp::Div => l / r,
                    _ => l % r,
                };
                Ok(Lowered { expr, ty })
            }
            BinaryOp::And | BinaryOp::Or => {
                if left.ty != Ty::Bool || right.ty != Ty::Bool {
                    return Err(mismatch());
                }
                let expr = if op == BinaryOp::And { left.expr.and(right.expr) } else { left.expr.or(right.expr) };
                Ok(Lowered { expr, ty: Ty::Bool })
            }
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let (l, r) = match (left.ty, right.ty) {
                    (Ty::Int, Ty::Int) => (left.expr, right.expr),
                    (a, b) if a.numeric() && b.numeric() => (float(left), float(right)),
                    (Ty::Date | Ty::Datetime, Ty::Text) => {
                        let ty = left.ty;
                        (left.expr, temporal(right, right_ast, ty)?)
                    }
                    (Ty::Text, Ty::Date | Ty::Datetime) => {
                        let ty = right.ty;
                        (temporal(left, left_ast, ty)?, right.expr)
                    }
                    (a, b) if a == b => (left.expr, right.expr),
                    _ => return Err(mismatch()),
                };
                let expr = match op {
                    BinaryOp::Eq => l.eq(r),
                    BinaryOp::Ne => l.neq(r),
                    BinaryOp::Lt => l.lt(r),
                    BinaryOp::Le => l.lt_eq(r),
                    BinaryOp::Gt => l.gt(r),
                    _ => l.gt_eq(r),
                };
                Ok(Lowered { expr, ty: Ty::Bool })
            }
        }
    }

    fn call(&self, name: &str, args: &[Ast]) -> Result<Lowered, String> {
        let arity = match name {
            "min" | "max" | "coalesce" => 2,
            _ => 1,
        };
        if args.len() != arity {
            let plural = if arity == 1 { "" } else { "s" };
            return Err(format!("`{name}` takes {arity} argument{plural}, found {}", args.len()));
        }
        let what = format!("`{name}`");
        let first = || self.lower(&args[0]);
        let result = |expr, ty| Ok(Lowered { expr, ty });
        match name {
            "abs" => {
                let x = self.numeric(&args[0], &what)?;
                result(x.expr.abs(), x.ty)
            }
            "sqrt" => result(float(self.numeric(&args[0], &what)?).sqrt(), Ty::Float),
            "log" => result(float(self.numeric(&args[0], &what)?).log(lit(std::f64::consts::E)), Ty::Float),
            "log1p" => result(float(self.numeric(&args[0], &what)?).log1p(), Ty::Float),
            "exp" => result(float(self.numeric(&args[0], &what)?).exp(), Ty::Float),
            "round" | "floor" | "ceil" => {
                let x = self.numeric(&args[0], &what)?;
                if x.ty == Ty::Int {
                    return Ok(x);
                }
                let expr = match name {
                    "round" => x.expr.round(0, RoundMode::HalfAwayFromZero),
                    "floor" => x.expr.floor(),
                    _ => x.expr.ceil(),
                };
                result(expr, Ty::Float)
            }
            "min" | "max" => {
                let a = self.numeric(&args[0], &what)?;
                let b = self.numeric(&args[1], &what)?;
                let (ty, a, b) = if a.ty == Ty::Int && b.ty == Ty::Int {
                    (Ty::Int, a.expr, b.expr)
                } else {
                    (Ty::Float, float(a), float(b))
                };
                let pick_a = if name == "min" { a.clone().lt_eq(b.clone()) } else { a.clone().gt_eq(b.clone()) };
                let either_null = a.clone().is_null().or(b.clone().is_null());
                let expr = when(either_null).then(lit(NULL).cast(ty.dtype())).when(pick_a).then(a).otherwise(b);
                result(expr, ty)
            }
            "is_null" => result(first()?.expr.is_null(), Ty::Bool),
            "coalesce" => {
                let a = first()?;
                let b = self.lower(&args[1])?;
                if a.ty == b.ty {
                    result(coalesce(&[a.expr, b.expr]), a.ty)
                } else if a.ty.numeric() && b.ty.numeric() {
                    result(coalesce(&[float(a), float(b)]), Ty::Float)
                } else {
                    Err(format!(
                        "`coalesce` needs two values of one type, found `{}` and `{}`",
                        a.ty.name(),
                        b.ty.name()
                    ))
                }
            }
            "lower" | "upper" | "len" => {
                let x = first()?;
                if x.ty != Ty::Text {
                    return Err(format!("{what} needs a `string`, found `{}`", x.ty.name()));
                }
                match name {
                    "lower" => result(x.expr.str().to_lowercase(), Ty::Text),
                    "upper" => result(x.expr.str().to_uppercase(), Ty::Text),
                    _ => result(x.expr.str().len_chars().cast(DataType::Int64), Ty::Int),
                }
            }
            "year" | "month" | "day" => {
                let x = first()?;
                if !matches!(x.ty, Ty::Date | Ty::Datetime) {
                    return Err(format!("{what} needs a `date` or `datetime`, found `{}`", x.ty.name()));
                }
                let part = match name {
                    "year" => x.expr.dt().year(),
                    "month" => x.expr.dt().month(),
                    _ => x.expr.dt().day(),
                };
                result(part.cast(DataType::Int64), Ty::Int)
            }
            other => Err(format!("unknown function `{other}`")),
        }
    }
}

/// A text operand compared with a date or datetime: literals are parsed once, here (a bad one
/// is an error); other text is parsed row by row, unparsable values becoming null.
fn temporal(text: Lowered, ast: &Ast, ty: Ty) -> Result<Expr, String> {
    if let ExprKind::Str(literal) = &ast.kind {
        return match ty {
            Ty::Date => parse_date(literal)
                .map(|days| lit(days).cast(DataType::Date))
                .ok_or_else(|| format!("'{literal}' is not a date (YYYY-MM-DD)")),
            _ => parse_datetime(literal)
                .map(|micros| lit(micros).cast(ty.dtype()))
                .ok_or_else(|| format!("'{literal}' is not a datetime (YYYY-MM-DD HH:MM:SS)")),
        };
    }
    let options =
        |format: &str| StrptimeOptions { format: Some(format.into()), strict: false, exact: true, cache: true };
    Ok(match ty {
        Ty::Date => text.expr.str().to_date(options("%Y-%m-%d")),
        _ => {
            text.expr.str().to_datetime(Some(TimeUnit::Microseconds), None, options("%Y-%m-%d %H:%M:%S"), lit("raise"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> DataFrame {
        df!(
            "a" => [Some(7i64), Some(-2), None],
            "b" => [2i64, 4, 5],
            "x" => [1.5f64, -2.25, 4.0],
            "name" => ["Ann", "bob", "Cy"],
            "flag" => [true, false, true],
            "day" => ["2024-03-05", "2023-12-31", "2024-01-01"],
        )
        .unwrap()
        .lazy()
        .with_column(col("day").str().to_date(StrptimeOptions::default()))
        .collect()
        .unwrap()
    }

    fn eval(text: &str) -> (Series, Ty) {
        let table = table();
        let lowered = lower(text, table.schema()).unwrap();
        let out = table.lazy().select([lowered.expr.alias("out")]).collect().unwrap();
        (out.column("out").unwrap().as_materialized_series().clone(), lowered.ty)
    }

    fn ints(text: &str) -> Vec<Option<i64>> {
        let (series, ty) = eval(text);
        assert_eq!(ty, Ty::Int, "{text}");
        series.i64().unwrap().iter().collect()
    }

    fn floats(text: &str) -> Vec<Option<f64>> {
        let (series, ty) = eval(text);
        assert_eq!(ty, Ty::Float, "{text}");
        series.cast(&DataType::Float64).unwrap().f64().unwrap().iter().collect()
    }

    fn flags(text: &str) -> Vec<Option<bool>> {
        let (series, ty) = eval(text);
        assert_eq!(ty, Ty::Bool, "{text}");
        series.bool().unwrap().iter().collect()
    }

    #[test]
    fn arithmetic_keeps_ints_and_divides_as_floats() {
        assert_eq!(ints("a + b * 2 - 1"), [Some(10), Some(5), None]);
        assert_eq!(ints("-b % 3"), [Some(1), Some(2), Some(1)]);
        assert_eq!(ints("b % 0"), [None, None, None]);
        assert_eq!(floats("b / 4"), [Some(0.5), Some(1.0), Some(1.25)]);
        assert_eq!(floats("x * 2 + b"), [Some(5.0), Some(-0.5), Some(13.0)]);
    }

    #[test]
    fn functions_follow_the_signatures() {
        assert_eq!(ints("abs(a)"), [Some(7), Some(2), None]);
        assert_eq!(floats("abs(x)"), [Some(1.5), Some(2.25), Some(4.0)]);
        assert_eq!(floats("sqrt(b)")[1], Some(2.0));
        assert_eq!(floats("log(exp(x))"), [Some(1.5), Some(-2.25), Some(4.0)]);
        assert_eq!(floats("log1p(b - 2)")[0], Some(0.0));
        assert_eq!(floats("round(x)"), [Some(2.0), Some(-2.0), Some(4.0)]);
        assert_eq!(floats("floor(x)"), [Some(1.0), Some(-3.0), Some(4.0)]);
        assert_eq!(floats("ceil(x)"), [Some(2.0), Some(-2.0), Some(4.0)]);
        assert_eq!(ints("round(b)"), [Some(2), Some(4), Some(5)]);
        assert_eq!(ints("min(a, b)"), [Some(2), Some(-2), None]);
        assert_eq!(floats("max(a, x)"), [Some(7.0), Some(-2.0), None]);
        assert_eq!(flags("is_null(a)"), [Some(false), Some(false), Some(true)]);
        assert_eq!(ints("coalesce(a, 0)"), [Some(7), Some(-2), Some(0)]);
        assert_eq!(floats("coalesce(a, 1.5)"), [Some(7.0), Some(-2.0), Some(1.5)]);
        assert_eq!(ints("len(lower(name))"), [Some(3), Some(3), Some(2)]);
        let (upper, _) = eval("upper(name)");
        assert_eq!(upper.str().unwrap().get(1), Some("BOB"));
        assert_eq!(ints("year(day)"), [Some(2024), Some(2023), Some(2024)]);
        assert_eq!(ints("month(day) * 100 + day(day)"), [Some(305), Some(1231), Some(101)]);
    }

    #[test]
    fn comparisons_and_logic() {
        assert_eq!(flags("a >= 0 and flag"), [Some(true), Some(false), None]);
        assert_eq!(flags("a >= 0 or flag"), [Some(true), Some(false), Some(true)]);
        assert_eq!(flags("not flag"), [Some(false), Some(true), Some(false)]);
        assert_eq!(flags("x < b"), [Some(true), Some(true), Some(true)]);
        assert_eq!(flags("name == 'bob'"), [Some(false), Some(true), Some(false)]);
        assert_eq!(flags("day >= '2024-01-01'"), [Some(true), Some(false), Some(true)]);
        assert_eq!(flags("'2024-01-01' == day"), [Some(false), Some(false), Some(true)]);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let table = table();
        let error = |text: &str| lower(text, table.schema()).unwrap_err();
        assert_eq!(error("nope + 1"), "column `nope` does not exist");
        assert_eq!(error("name + 1"), "cannot apply `+` to `string` and `int`");
        assert_eq!(error("a +"), "cannot parse the expression: the expression ends too early");
        assert_eq!(error("day > '2024-13-01'"), "'2024-13-01' is not a date (YYYY-MM-DD)");
        assert_eq!(error("shout(name)"), "unknown function `shout`");
        assert_eq!(error("min(a)"), "`min` takes 2 arguments, found 1");
        assert_eq!(error("not a"), "`not` needs a `bool`, found `int`");
    }
}
