//! The expression language of `derive` and `filter`: lexer, parser and syntax tree.
//!
//! ```text
//! expr    := or
//! or      := and ("or" and)*
//! and     := not ("and" not)*
//! not     := "not" not | compare
//! compare := sum (("==" | "!=" | "<" | "<=" | ">" | ">=") sum)?
//! sum     := product (("+" | "-") product)*
//! product := unary (("*" | "/" | "%") unary)*
//! unary   := "-" unary | atom
//! atom    := number | 'string' | true | false | column | `quoted column` | f(expr, …) | (expr)
//! ```
//! Positions are byte offsets inside the expression text; the checker maps them onto the file.

use serde::{Deserialize, Serialize};

/// A byte range inside the expression text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `and`
    And,
    /// `or`
    Or,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
        }
    }
}

/// An expression node.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// `'text'`.
    Str(String),
    /// `true` / `false`.
    Bool(bool),
    /// A column.
    Column(String),
    /// `-x`.
    Neg(Box<Expr>),
    /// `not x`.
    Not(Box<Expr>),
    /// `a op b`.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `f(a, …)`.
    Call(String, Vec<Expr>),
}

/// An expression with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is.
    pub range: Range,
}

impl Expr {
    /// The columns it reads, each once, in the order they first appear.
    pub fn columns(&self) -> Vec<&str> {
        let mut names = Vec::new();
        let mut pending = vec![self];
        while let Some(expr) = pending.pop() {
            match &expr.kind {
                ExprKind::Column(name) if !names.contains(&name.as_str()) => names.push(name.as_str()),
                ExprKind::Neg(inner) | ExprKind::Not(inner) => pending.push(inner),
                ExprKind::Binary(_, left, right) => pending.extend([right.as_ref(), left.as_ref()]),
                ExprKind::Call(_, args) => pending.extend(args.iter().rev()),
                _ => {}
            }
        }
        names
    }
}

/// Why an expression could not be parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// What went wrong, in the message style of diagnostics.
    pub message: String,
    /// Where.
    pub range: Range,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Int(i64),
    Float(f64),
    Str(String),
    Ident(String),
    Quoted(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

fn lex(text: &str) -> Result<Vec<(Token, Range)>, ParseError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        let start = index;
        let byte = bytes[index];
        let error = |message: String, end: usize| ParseError { message, range: Range { start, end } };
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' => {
                index += 1;
                continue;
            }
            b'0'..=b'9' | b'.' if byte != b'.' || bytes.get(index + 1).is_some_and(u8::is_ascii_digit) => {
                while index < bytes.len() && (bytes[index].is_ascii_digit() || bytes[index] == b'_') {
                    index += 1;
                }
                let mut is_float = false;
                if index < bytes.len() && bytes[index] == b'.' {
                    is_float = true;
                    index += 1;
                    while index < bytes.len() && bytes[index].is_ascii_digit() {
                        index += 1;
                    }
                }
                if index < bytes.len() && (bytes[index] == b'e' || bytes[index] == b'E') {
                    is_float = true;
                    index += 1;
                    if index < bytes.len() && (bytes[index] == b'+' || bytes[index] == b'-') {
                        index += 1;
                    }
                    while index < bytes.len() && bytes[index].is_ascii_digit() {
                        index += 1;
                    }
                }
                let literal: String = text[start..index].chars().filter(|c| *c != '_').collect();
                let token = if is_float {
                    literal
                        .parse()
                        .map(Token::Float)
                        .map_err(|_| error(format!("`{literal}` is not a number"), index))?
                } else {
                    literal.parse().map(Token::Int).map_err(|_| error(format!("`{literal}` is too large"), index))?
                };
                tokens.push((token, Range { start, end: index }));
                continue;
            }
            b'\'' | b'`' => {
                let quote = byte;
                index += 1;
                let content_start = index;
                while index < bytes.len() && bytes[index] != quote {
                    index += 1;
                }
                if index >= bytes.len() {
                    let what = if quote == b'\'' { "string" } else { "quoted column name" };
                    return Err(error(format!("unterminated {what}"), bytes.len()));
                }
                let content = text[content_start..index].to_string();
                index += 1;
                let token = if quote == b'\'' { Token::Str(content) } else { Token::Quoted(content) };
                tokens.push((token, Range { start, end: index }));
                continue;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                while index < bytes.len() && (bytes[index].is_ascii_alphanumeric() || bytes[index] == b'_') {
                    index += 1;
                }
                tokens.push((Token::Ident(text[start..index].to_string()), Range { start, end: index }));
                continue;
            }
            b'(' => tokens.push((Token::LParen, Range { start, end: start + 1 })),
            b')' => tokens.push((Token::RParen, Range { start, end: start + 1 })),
            b',' => tokens.push((Token::Comma, Range { start, end: start + 1 })),
            _ => {
                let two = text.get(index..index + 2).unwrap_or_default();
                let op = match two {
                    "==" | "!=" | "<=" | ">=" => Some(two),
                    _ => None,
                };
                if let Some(op) = op {
                    let op: &'static str = match op {
                        "==" => "==",
                        "!=" => "!=",
                        "<=" => "<=",
                        _ => ">=",
                    };
                    tokens.push((Token::Op(op), Range { start, end: start + 2 }));
                    index += 2;
                    continue;
                }
                let op: &'static str = match byte {
                    b'+' => "+",
                    b'-' => "-",
                    b'*' => "*",
                    b'/' => "/",
                    b'%' => "%",
                    b'<' => "<",
                    b'>' => ">",
                    b'=' => return Err(error("`=` is not an operator; compare with `==`".to_string(), start + 1)),
                    b'"' => {
                        return Err(error(
                            "strings inside expressions use single quotes: 'text'".to_string(),
                            start + 1,
                        ))
                    }
                    _ => {
                        let character = text[start..].chars().next().unwrap_or('?');
                        return Err(error(format!("unexpected character `{character}`"), start + character.len_utf8()));
                    }
                };
                tokens.push((Token::Op(op), Range { start, end: start + 1 }));
            }
        }
        index += 1;
    }
    Ok(tokens)
}

/// The most tokens an expression may have. The parser and the type checker recurse over the
/// tree, whose depth is bounded by its token count; without a bound, a long or deeply nested
/// expression would overflow the stack and abort instead of giving a diagnostic.
pub const MAX_TOKENS: usize = 256;

/// Parses an expression.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let tokens = lex(text)?;
    if let Some((_, range)) = tokens.get(MAX_TOKENS) {
        return Err(ParseError {
            message: format!("the expression is longer than {MAX_TOKENS} tokens; split it into several `derive` lines"),
            range: *range,
        });
    }
    let mut parser = Parser { tokens, position: 0, length: text.len() };
    if parser.tokens.is_empty() {
        return Err(ParseError { message: "empty expression".to_string(), range: Range { start: 0, end: text.len() } });
    }
    let expr = parser.or()?;
    if let Some((_, range)) = parser.tokens.get(parser.position) {
        return Err(ParseError { message: "unexpected text after the expression".to_string(), range: *range });
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<(Token, Range)>,
    position: usize,
    length: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position).map(|(token, _)| token)
    }

    fn end_range(&self) -> Range {
        Range { start: self.length, end: self.length }
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(ident)) if ident == word)
    }

    fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
        let range = Range { start: left.range.start, end: right.range.end };
        Expr { kind: ExprKind::Binary(op, Box::new(left), Box::new(right)), range }
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.position += 1;
            let right = self.and()?;
            left = Self::binary(BinaryOp::Or, left, right);
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.not()?;
        while self.keyword("and") {
            self.position += 1;
            let right = self.not()?;
            left = Self::binary(BinaryOp::And, left, right);
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.keyword("not") {
            let start = self.tokens[self.position].1.start;
            self.position += 1;
            let inner = self.not()?;
            let range = Range { start, end: inner.range.end };
            return Ok(Expr { kind: ExprKind::Not(Box::new(inner)), range });
        }
        self.compare()
    }

    fn compare(&mut self) -> Result<Expr, ParseError> {
        let left = self.sum()?;
        let op = match self.peek() {
            Some(Token::Op("==")) => BinaryOp::Eq,
            Some(Token::Op("!=")) => BinaryOp::Ne,
            Some(Token::Op("<")) => BinaryOp::Lt,
            Some(Token::Op("<=")) => BinaryOp::Le,
            Some(Token::Op(">")) => BinaryOp::Gt,
            Some(Token::Op(">=")) => BinaryOp::Ge,
            _ => return Ok(left),
        };
        self.position += 1;
        let right = self.sum()?;
        Ok(Self::binary(op, left, right))
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.product()?;
        loop {
            let op = match self.peek() {
                Some(Token::Op("+")) => BinaryOp::Add,
                Some(Token::Op("-")) => BinaryOp::Sub,
                _ => return Ok(left),
            };
            self.position += 1;
            let right = self.product()?;
            left = Self::binary(op, left, right);
        }
    }

    fn product(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Token::Op("*")) => BinaryOp::Mul,
                Some(Token::Op("/")) => BinaryOp::Div,
                Some(Token::Op("%")) => BinaryOp::Rem,
                _ => return Ok(left),
            };
            self.position += 1;
            let right = self.unary()?;
            left = Self::binary(op, left, right);
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if let Some(Token::Op("-")) = self.peek() {
            let start = self.tokens[self.position].1.start;
            self.position += 1;
            let inner = self.unary()?;
            let range = Range { start, end: inner.range.end };
            return Ok(Expr { kind: ExprKind::Neg(Box::new(inner)), range });
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, ParseError> {
        let Some((token, range)) = self.tokens.get(self.position).cloned() else {
            return Err(ParseError { message: "the expression ends too early".to_string(), range: self.end_range() });
        };
        self.position += 1;
        let kind = match token {
            Token::Int(int) => ExprKind::Int(int),
            Token::Float(float) => ExprKind::Float(float),
            Token::Str(text) => ExprKind::Str(text),
            Token::Quoted(name) => ExprKind::Column(name),
            Token::Ident(word) if word == "true" => ExprKind::Bool(true),
            Token::Ident(word) if word == "false" => ExprKind::Bool(false),
            Token::Ident(word) if matches!(word.as_str(), "and" | "or" | "not") => {
                return Err(ParseError { message: format!("expected a value, found `{word}`"), range });
            }
            Token::Ident(word) if self.peek() == Some(&Token::LParen) => {
                self.position += 1;
                let mut args = Vec::new();
                if self.peek() != Some(&Token::RParen) {
                    loop {
                        args.push(self.or()?);
                        match self.peek() {
                            Some(Token::Comma) => self.position += 1,
                            _ => break,
                        }
                    }
                }
                let end = self.expect_close(range)?;
                return Ok(Expr { kind: ExprKind::Call(word, args), range: Range { start: range.start, end } });
            }
            Token::Ident(word) => ExprKind::Column(word),
            Token::LParen => {
                let inner = self.or()?;
                let end = self.expect_close(range)?;
                return Ok(Expr { kind: inner.kind, range: Range { start: range.start, end } });
            }
            Token::RParen | Token::Comma | Token::Op(_) => {
                return Err(ParseError { message: "expected a value".to_string(), range });
            }
        };
        Ok(Expr { kind, range })
    }

    fn expect_close(&mut self, open: Range) -> Result<usize, ParseError> {
        match self.tokens.get(self.position) {
            Some((Token::RParen, range)) => {
                self.position += 1;
                Ok(range.end)
            }
            Some((_, range)) => Err(ParseError { message: "expected `)`".to_string(), range: *range }),
            None => Err(ParseError { message: "unclosed `(`".to_string(), range: open }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(expr: &Expr) -> String {
        match &expr.kind {
            ExprKind::Int(int) => int.to_string(),
            ExprKind::Float(float) => float.to_string(),
            ExprKind::Str(text) => format!("'{text}'"),
            ExprKind::Bool(flag) => flag.to_string(),
            ExprKind::Column(name) => name.clone(),
            ExprKind::Neg(inner) => format!("(-{})", shape(inner)),
            ExprKind::Not(inner) => format!("(not {})", shape(inner)),
            ExprKind::Binary(op, left, right) => format!("({} {} {})", shape(left), op.symbol(), shape(right)),
            ExprKind::Call(name, args) => {
                format!("{name}({})", args.iter().map(shape).collect::<Vec<_>>().join(", "))
            }
        }
    }

    #[test]
    fn precedence() {
        let cases = [
            ("monthly_charges / (tenure_months + 1)", "(monthly_charges / (tenure_months + 1))"),
            ("a + b * c - 1", "((a + (b * c)) - 1)"),
            ("age >= 18 and not is_null(x) or y", "(((age >= 18) and (not is_null(x))) or y)"),
            ("-a * 2.5e1", "((-a) * 25)"),
            ("`odd name` == 'pro'", "(odd name == 'pro')"),
        ];
        for (text, expected) in cases {
            assert_eq!(shape(&parse(text).unwrap()), expected, "{text}");
        }
    }

    #[test]
    fn columns_are_listed_once_in_order() {
        let expr = parse("coalesce(b, `odd name`) * -a + b / len(lower(c)) > 2 and not is_null(a)").unwrap();
        assert_eq!(expr.columns(), ["b", "odd name", "a", "c"]);
        assert!(parse("1 + 2").unwrap().columns().is_empty());
    }

    #[test]
    fn errors_point_at_the_problem() {
        let cases = [
            ("a +", "the expression ends too early", 3),
            ("a = 1", "`=` is not an operator; compare with `==`", 2),
            ("(a + 1", "unclosed `(`", 0),
            ("a b", "unexpected text after the expression", 2),
            ("\"x\"", "strings inside expressions use single quotes: 'text'", 0),
            ("'open", "unterminated string", 0),
            (
                &"(".repeat(MAX_TOKENS + 1),
                "the expression is longer than 256 tokens; split it into several `derive` lines",
                MAX_TOKENS,
            ),
        ];
        for (text, message, start) in cases {
            let error = parse(text).unwrap_err();
            assert_eq!((error.message.as_str(), error.range.start), (message, start), "{text}");
        }
    }
}
