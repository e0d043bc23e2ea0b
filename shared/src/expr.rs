//! The arithmetic a lesson writes with: `(requests / pool.max_connections - 1) * work.sleep_ms`.
//!
//! Lessons never type a measured number. Their texts, models and goals name figures instead (a
//! figure of the step's run spec, of the server, or of the run's summary; see [`crate::figures`])
//! and combine them with `+ - * /`, parentheses, and `min(a, b)`, `max(a, b)`, `ceil(a)`,
//! `floor(a)`. An [`Expr`] is parsed once; it can then be evaluated against any figures and
//! rendered as the sum a learner reads, with the numbers filled in: `(100 ÷ 5 − 1) × 50`.

use std::fmt::Write;

use crate::num::Dec;

/// Why an expression cannot be read or worked out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    #[error("`{text}` is not arithmetic: {why}")]
    Syntax { text: String, why: String },
    #[error("`{0}` is not a figure of the run, its spec or the server")]
    UnknownFigure(String),
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    text: String,
    node: Node,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Number(f64),
    Figure(String),
    Neg(Box<Node>),
    Binary(Box<Node>, Op, Box<Node>),
    Call(Func, Vec<Node>),
    /// Parentheses as the author wrote them, kept so the rendered sum reads the same.
    Group(Box<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Min,
    Max,
    Ceil,
    Floor,
}

impl Func {
    fn named(name: &str) -> Option<(Func, usize)> {
        Some(match name {
            "min" => (Func::Min, 2),
            "max" => (Func::Max, 2),
            "ceil" => (Func::Ceil, 1),
            "floor" => (Func::Floor, 1),
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Func::Min => "min",
            Func::Max => "max",
            Func::Ceil => "ceil",
            Func::Floor => "floor",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    Op(char),
    Open,
    Close,
    Comma,
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '0'..='9' | '.' => {
                let mut end = i;
                while let Some(&(j, d)) = chars.peek()
                    && (d.is_ascii_digit() || d == '.' || d == '_')
                {
                    end = j + d.len_utf8();
                    chars.next();
                }
                let digits = text[i..end].replace('_', "");
                out.push(Token::Number(decimal(&digits).ok_or_else(|| format!("`{digits}` is not a number"))?));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut end = i;
                while let Some(&(j, d)) = chars.peek()
                    && (d.is_ascii_alphanumeric() || d == '_' || d == '.')
                {
                    end = j + d.len_utf8();
                    chars.next();
                }
                out.push(Token::Name(text[i..end].to_owned()));
            }
            '+' | '-' | '*' | '/' | '×' | '÷' | '−' => {
                chars.next();
                out.push(Token::Op(match c {
                    '×' => '*',
                    '÷' => '/',
                    '−' => '-',
                    c => c,
                }));
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            ',' => {
                chars.next();
                out.push(Token::Comma);
            }
            c => return Err(format!("`{c}` is not allowed")),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn expect(&mut self, want: Token, what: &str) -> Result<(), String> {
        match self.next() {
            Some(t) if t == want => Ok(()),
            _ => Err(format!("expected {what}")),
        }
    }

    fn sum(&mut self) -> Result<Node, String> {
        let mut left = self.product()?;
        while let Some(Token::Op(c @ ('+' | '-'))) = self.peek() {
            let op = if *c == '+' { Op::Add } else { Op::Sub };
            self.next();
            left = Node::Binary(Box::new(left), op, Box::new(self.product()?));
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Node, String> {
        let mut left = self.unary()?;
        while let Some(Token::Op(c @ ('*' | '/'))) = self.peek() {
            let op = if *c == '*' { Op::Mul } else { Op::Div };
            self.next();
            left = Node::Binary(Box::new(left), op, Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Node, String> {
        if let Some(Token::Op('-')) = self.peek() {
            self.next();
            return Ok(Node::Neg(Box::new(self.unary()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Node, String> {
        match self.next() {
            Some(Token::Number(n)) => Ok(Node::Number(n)),
            Some(Token::Open) => {
                let inner = self.sum()?;
                self.expect(Token::Close, "`)`")?;
                Ok(Node::Group(Box::new(inner)))
            }
            Some(Token::Name(name)) if self.peek() == Some(&Token::Open) => {
                let (func, arity) = Func::named(&name).ok_or_else(|| format!("`{name}` is not a function"))?;
                self.next();
                let mut args = vec![self.sum()?];
                while self.peek() == Some(&Token::Comma) {
                    self.next();
                    args.push(self.sum()?);
                }
                self.expect(Token::Close, "`)`")?;
                if args.len() != arity {
                    return Err(format!("{name} takes {arity} argument(s)"));
                }
                Ok(Node::Call(func, args))
            }
            Some(Token::Name(name)) => Ok(Node::Figure(name)),
            Some(_) => Err("a number, a figure or `(` is missing".into()),
            None => Err("it ends too soon".into()),
        }
    }
}

impl Expr {
    pub fn parse(text: &str) -> Result<Expr, ExprError> {
        let syntax = |why: String| ExprError::Syntax { text: text.trim().to_owned(), why };
        let mut parser = Parser { tokens: tokens(text).map_err(syntax)?, at: 0 };
        let node = parser.sum().map_err(syntax)?;
        if parser.at < parser.tokens.len() {
            return Err(syntax("something follows the end".into()));
        }
        Ok(Expr { text: text.trim().to_owned(), node })
    }

    /// As the author wrote it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Works the expression out, asking `figure` for every name in it.
    pub fn eval(&self, figure: &dyn Fn(&str) -> Option<f64>) -> Result<f64, ExprError> {
        eval(&self.node, figure, false)
    }

    /// Works out the sum [`Expr::render`] prints, as a reader would: every number in it as
    /// printed ([`shown`]), so `50 × (5.3 + 1.2)` comes to 325 even when the figures were 5.26
    /// and 1.21.
    pub fn eval_shown(&self, figure: &dyn Fn(&str) -> Option<f64>) -> Result<f64, ExprError> {
        eval(&self.node, figure, true)
    }

    /// The names of the figures it uses.
    /// The figure's name when the expression is one figure alone (`{peak_waiters}`).
    pub fn figure_name(&self) -> Option<&str> {
        match &self.node {
            Node::Figure(name) => Some(name),
            _ => None,
        }
    }

    pub fn figures(&self) -> Vec<&str> {
        let mut out = Vec::new();
        collect(&self.node, &mut out);
        out
    }

    /// The sum with every figure replaced by its value, as a learner reads it: `(100 ÷ 5 − 1) × 50`.
    pub fn render(&self, figure: &dyn Fn(&str) -> Option<f64>) -> String {
        let mut out = String::new();
        render(&self.node, figure, &mut out);
        out
    }
}

fn collect<'a>(node: &'a Node, out: &mut Vec<&'a str>) {
    match node {
        Node::Number(_) => {}
        Node::Figure(name) => out.push(name),
        Node::Neg(n) | Node::Group(n) => collect(n, out),
        Node::Binary(a, _, b) => {
            collect(a, out);
            collect(b, out);
        }
        Node::Call(_, args) => args.iter().for_each(|a| collect(a, out)),
    }
}

/// Works `node` out; with `as_shown`, from its numbers as [`render`] prints them.
fn eval(node: &Node, figure: &dyn Fn(&str) -> Option<f64>, as_shown: bool) -> Result<f64, ExprError> {
    let leaf = |v: f64| if as_shown { shown(v) } else { v };
    let eval = |n: &Node| eval(n, figure, as_shown);
    Ok(match node {
        Node::Number(n) => leaf(*n),
        Node::Figure(name) => leaf(figure(name).ok_or_else(|| ExprError::UnknownFigure(name.clone()))?),
        Node::Neg(n) => -eval(n)?,
        Node::Group(n) => eval(n)?,
        Node::Binary(a, op, b) => {
            let (a, b) = (eval(a)?, eval(b)?);
            match op {
                Op::Add => a + b,
                Op::Sub => a - b,
                Op::Mul => a * b,
                // A figure of zero (no run yet, say) gives no answer rather than infinity.
                Op::Div if b == 0.0 => f64::NAN,
                Op::Div => a / b,
            }
        }
        Node::Call(func, args) => {
            let v = args.iter().map(eval).collect::<Result<Vec<_>, _>>()?;
            match func {
                Func::Min => v[0].min(v[1]),
                Func::Max => v[0].max(v[1]),
                Func::Ceil => v[0].ceil(),
                Func::Floor => v[0].floor(),
            }
        }
    })
}

fn render(node: &Node, figure: &dyn Fn(&str) -> Option<f64>, out: &mut String) {
    match node {
        Node::Number(n) => out.push_str(&number(*n)),
        Node::Figure(name) => match figure(name) {
            Some(v) => out.push_str(&number(v)),
            None => out.push('?'),
        },
        Node::Neg(n) => {
            out.push('−');
            render(n, figure, out);
        }
        Node::Group(n) => {
            out.push('(');
            render(n, figure, out);
            out.push(')');
        }
        Node::Binary(a, op, b) => {
            render(a, figure, out);
            out.push_str(match op {
                Op::Add => " + ",
                Op::Sub => " − ",
                Op::Mul => " × ",
                Op::Div => " ÷ ",
            });
            render(b, figure, out);
        }
        Node::Call(func, args) => {
            let _ = write!(out, "{}(", func.name());
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(a, figure, out);
            }
            out.push(')');
        }
    }
}

/// A figure as a person would say it: whole numbers from 100 up, one decimal below (none when it
/// would be `.0`), two significant digits below 1 (`0.043`, never a misleading `0`), thousands
/// grouped with a thin space.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "?".into();
    }
    if v != 0.0 && v.abs() < 1.0 {
        let decimals = (1 - v.abs().log10().floor() as i32).clamp(1, 6) as usize;
        return format!("{:.decimals$}", Dec(v)).replace('-', "−");
    }
    let rounded = if v.abs() >= 100.0 { v.round() } else { (v * 10.0).round() / 10.0 };
    let text = if rounded.fract() == 0.0 { format!("{:.0}", Dec(rounded)) } else { format!("{:.1}", Dec(rounded)) };
    let (sign, digits) = text.strip_prefix('-').map_or(("", text.as_str()), |d| ("−", d));
    let (whole, frac) = digits.split_once('.').map_or((digits, None), |(w, f)| (w, Some(f)));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 && whole.len() > 4 {
            grouped.push('\u{2009}');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// The value [`number`] prints for `v`: what a reader takes it for (`5.26` is `5.3`, `987.34` is
/// `987`). Read back from the printed text itself, so the two cannot disagree.
pub fn shown(v: f64) -> f64 {
    let text = number(v);
    let digits: String = text.chars().filter(|c| c.is_ascii_digit() || *c == '.').collect();
    match decimal(&digits) {
        Some(x) if text.starts_with('−') => -x,
        Some(x) => x,
        None => v,
    }
}

/// A decimal literal of a formula (`12`, `0.25`, `.5`): digits with at most one point. (Written
/// out rather than `str::parse`, whose general float parser the page would otherwise carry.)
fn decimal(digits: &str) -> Option<f64> {
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return None;
    }
    let value = |s: &str| s.bytes().fold(0.0, |v, b| v * 10.0 + f64::from(b - b'0'));
    Some(value(whole) + value(fraction) / 10f64.powi(fraction.len() as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_read_as_numbers() {
        assert_eq!(decimal("12"), Some(12.0));
        assert_eq!(decimal("0.25"), Some(0.25));
        assert_eq!(decimal(".5"), Some(0.5));
        assert_eq!(decimal("1.5.2"), None);
        assert_eq!(decimal("."), None);
    }

    fn figures(name: &str) -> Option<f64> {
        match name {
            "requests" => Some(100.0),
            "pool.max_connections" => Some(5.0),
            "work.sleep_ms" => Some(50.0),
            "zero" => Some(0.0),
            _ => None,
        }
    }

    #[test]
    fn arithmetic_follows_the_usual_rules() {
        let e = Expr::parse("(requests / pool.max_connections - 1) * work.sleep_ms").unwrap();
        assert_eq!(e.eval(&figures), Ok(950.0));
        assert_eq!(Expr::parse("1 + 2 * 3").unwrap().eval(&figures), Ok(7.0));
        assert_eq!(Expr::parse("-2 * -3").unwrap().eval(&figures), Ok(6.0));
        assert_eq!(Expr::parse("min(requests, 80) + max(1, ceil(2.2)) - floor(1.9)").unwrap().eval(&figures), Ok(82.0));
        assert_eq!(Expr::parse("100 × 2 ÷ 4 − 1").unwrap().eval(&figures), Ok(49.0));
        assert!(Expr::parse("requests / zero").unwrap().eval(&figures).unwrap().is_nan());
    }

    #[test]
    fn the_sum_is_rendered_with_the_runs_numbers() {
        let e = Expr::parse("(requests / pool.max_connections - 1) * work.sleep_ms").unwrap();
        assert_eq!(e.render(&figures), "(100 ÷ 5 − 1) × 50");
        assert_eq!(e.figures(), ["requests", "pool.max_connections", "work.sleep_ms"]);
        assert_eq!(Expr::parse("min(requests, 97)").unwrap().render(&figures), "min(100, 97)");
    }

    #[test]
    fn numbers_are_taken_as_printed() {
        let table = [(5.26, 5.3), (1.21, 1.2), (987.34, 987.0), (10.95, 11.0), (0.0432, 0.043), (-3.04, -3.0)];
        for (v, want) in table {
            assert_eq!(shown(v), want, "{v}");
        }
        assert_eq!(shown(12_345.4), 12_345.0);
        assert!(shown(f64::NAN).is_nan());
    }

    /// A sum's printed result is worked out from the numbers it prints, so that a reader who
    /// redoes it with a pencil gets the same: not `50 × (5.3 + 1.2) = 324`.
    #[test]
    fn a_sum_adds_up_as_printed() {
        // (formula, figures, the sum printed, its result as printed)
        type Case = (&'static str, &'static [(&'static str, f64)], &'static str, &'static str);
        let table: [Case; 7] = [
            (
                "requests * (connect + query)",
                &[("requests", 50.0), ("connect", 5.26), ("query", 1.21)],
                "50 × (5.3 + 1.2)",
                "325",
            ),
            ("requests / pool * sleep", &[("requests", 300.0), ("pool", 5.0), ("sleep", 10.95)], "300 ÷ 5 × 11", "660"),
            (
                "(requests / pool - 1) * sleep",
                &[("requests", 100.0), ("pool", 5.0), ("sleep", 50.0)],
                "(100 ÷ 5 − 1) × 50",
                "950",
            ),
            ("a * 1000 / b", &[("a", 2.0), ("b", 20.04)], "2 × 1000 ÷ 20", "100"),
            ("a + b", &[("a", 0.0449), ("b", 0.0449)], "0.045 + 0.045", "0.090"),
            ("min(a, b) * c", &[("a", 3.96), ("b", 7.0), ("c", 2.5)], "min(4, 7) × 2.5", "10"),
            ("ceil(a / b) * c", &[("a", 200.0), ("b", 50.0), ("c", 20.04)], "ceil(200 ÷ 50) × 20", "80"),
        ];
        for (formula, values, sum, result) in table {
            let get = |name: &str| values.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
            let e = Expr::parse(formula).unwrap();
            assert_eq!(e.render(&get), sum, "{formula}");
            let printed = number(e.eval_shown(&get).unwrap());
            assert_eq!(printed, result, "{formula}");
            // Redone from the printed sum alone, it comes to the printed result.
            let redone = Expr::parse(sum).unwrap().eval(&|_| None).unwrap();
            assert_eq!(number(redone), result, "{sum}");
        }
    }

    #[test]
    fn bad_arithmetic_says_why() {
        for bad in ["", "1 +", "(1", "1 2", "requests $ 2", "sqrt(4)", "min(1)"] {
            assert!(matches!(Expr::parse(bad), Err(ExprError::Syntax { .. })), "{bad}");
        }
        let unknown = Expr::parse("peak * 2").unwrap().eval(&figures);
        assert_eq!(unknown, Err(ExprError::UnknownFigure("peak".into())));
    }

    #[test]
    fn numbers_read_as_people_say_them() {
        assert_eq!(number(950.0), "950");
        assert_eq!(number(987.34), "987");
        assert_eq!(number(4.26), "4.3");
        assert_eq!(number(12.0), "12");
        assert_eq!(number(12_345.0), "12\u{2009}345");
        assert_eq!(number(1_000.0), "1000");
        assert_eq!(number(-3.0), "−3");
        assert_eq!(number(f64::NAN), "?");
        assert_eq!(
            (number(0.73), number(0.0432), number(0.0049), number(0.0)),
            ("0.73".into(), "0.043".into(), "0.0049".into(), "0".into())
        );
    }
}
