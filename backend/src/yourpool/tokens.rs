//! A small tokenizer for the call syntaxes pool settings are written in (Python keyword
//! arguments, Rust builder calls, Go field assignments, a JavaScript object's entries), and the
//! one parse they all need: a call's arguments, split at the top-level commas.
//!
//! It knows only what these snippets need: names, numbers, strings, single punctuation, and each
//! language's comments. Every token keeps its line, so an error can name it.

use super::error::TranslateError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ident,
    Number,
    /// A string literal; `text` is its content, escapes resolved.
    Str,
    Punct,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub text: String,
    /// From 1.
    pub line: usize,
    /// Byte offsets of the token in the source (quotes included for strings).
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn is(&self, punct: char) -> bool {
        self.kind == Kind::Punct && self.text.len() == 1 && self.text.starts_with(punct)
    }

    pub fn is_ident(&self, name: &str) -> bool {
        self.kind == Kind::Ident && self.text == name
    }
}

/// Which comments the language has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comments {
    /// `// line` and `/* block */` (JavaScript, Go, Rust).
    Slashes,
    /// `# line` (Python).
    Hash,
}

/// Splits `src` into tokens, dropping whitespace and comments.
pub fn lex(src: &str, comments: Comments) -> Result<Vec<Token>, TranslateError> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < bytes.len() {
        let c = bytes[i];
        let rest = &src[i..];
        if c == b'\n' {
            line += 1;
            i += 1;
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else if (comments == Comments::Hash && c == b'#') || (comments == Comments::Slashes && rest.starts_with("//"))
        {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if comments == Comments::Slashes && rest.starts_with("/*") {
            let Some(end) = rest[2..].find("*/") else {
                return Err(TranslateError::at(line, "a comment is never closed", "`*/`"));
            };
            line += rest[..end + 4].matches('\n').count();
            i += end + 4;
        } else if c == b'"' || c == b'\'' || c == b'`' {
            let (token, len, lines) = string(rest, line)?;
            tokens.push(Token { start: i, end: i + len, ..token });
            line += lines;
            i += len;
        } else if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let len =
                rest.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '.')).unwrap_or(rest.len());
            tokens.push(Token { kind: Kind::Number, text: rest[..len].to_owned(), line, start: i, end: i + len });
            i += len;
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            let len =
                rest.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '$')).unwrap_or(rest.len());
            tokens.push(Token { kind: Kind::Ident, text: rest[..len].to_owned(), line, start: i, end: i + len });
            i += len;
        } else {
            let ch = rest.chars().next().unwrap_or(' ');
            tokens.push(Token { kind: Kind::Punct, text: ch.to_string(), line, start: i, end: i + ch.len_utf8() });
            i += ch.len_utf8();
        }
    }
    Ok(tokens)
}

/// A string literal at the start of `rest`: the token (offsets relative to 0), its length in
/// bytes, and how many line breaks it spans. Python's triple quotes and backquoted strings (Go's
/// raw strings, JavaScript's templates) included.
fn string(rest: &str, line: usize) -> Result<(Token, usize, usize), TranslateError> {
    let quote = &rest[..1];
    let triple = rest.starts_with("\"\"\"") || rest.starts_with("'''");
    let delim = if triple { &rest[..3] } else { quote };
    let raw = quote == "`";
    let mut text = String::new();
    let mut chars = rest[delim.len()..].char_indices();
    while let Some((at, ch)) = chars.next() {
        if rest[delim.len() + at..].starts_with(delim) {
            let len = delim.len() + at + delim.len();
            let lines = rest[..len].matches('\n').count();
            return Ok((Token { kind: Kind::Str, text, line, start: 0, end: len }, len, lines));
        }
        match ch {
            '\n' if !triple && !raw => break,
            '\\' if !raw => match chars.next() {
                Some((_, 'n')) => text.push('\n'),
                Some((_, 't')) => text.push('\t'),
                Some((_, other)) => text.push(other),
                None => break,
            },
            _ => text.push(ch),
        }
    }
    Err(TranslateError::at(line, "a string is never closed", format!("a closing {delim}")))
}

/// The index of the bracket that closes the one at `open` (`(`, `[` or `{`).
pub fn closing(tokens: &[Token], open: usize) -> Result<usize, TranslateError> {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        if t.is('(') || t.is('[') || t.is('{') {
            depth += 1;
        } else if t.is(')') || t.is(']') || t.is('}') {
            depth -= 1;
            if depth == 0 {
                return Ok(i);
            }
        }
    }
    let close = match tokens[open].text.as_str() {
        "(" => ")",
        "[" => "]",
        _ => "}",
    };
    Err(TranslateError::at(
        tokens[open].line,
        format!("this `{}` is never closed", tokens[open].text),
        format!("a closing `{close}`"),
    ))
}

/// Splits the tokens between two brackets at the commas outside any inner bracket. A trailing
/// comma leaves no empty piece.
pub fn split_commas(inner: &[Token]) -> Vec<&[Token]> {
    let mut pieces = Vec::new();
    let (mut depth, mut from) = (0i32, 0);
    for (i, t) in inner.iter().enumerate() {
        if t.is('(') || t.is('[') || t.is('{') {
            depth += 1;
        } else if t.is(')') || t.is(']') || t.is('}') {
            depth -= 1;
        } else if depth == 0 && t.is(',') {
            pieces.push(&inner[from..i]);
            from = i + 1;
        }
    }
    if from < inner.len() {
        pieces.push(&inner[from..]);
    }
    pieces
}

/// One argument of a call: `name=value` (Python's keyword arguments) or a bare value.
#[derive(Debug, Clone)]
pub struct Arg<'t> {
    pub name: Option<&'t Token>,
    pub value: &'t [Token],
}

impl Arg<'_> {
    pub fn line(&self) -> usize {
        self.name.or(self.value.first()).map_or(1, |t| t.line)
    }
}

/// The arguments of the call whose `(` is at `open`.
pub fn call_args(tokens: &[Token], open: usize) -> Result<Vec<Arg<'_>>, TranslateError> {
    let close = closing(tokens, open)?;
    let mut args = Vec::new();
    for piece in split_commas(&tokens[open + 1..close]) {
        let keyword = piece.len() >= 2
            && piece[0].kind == Kind::Ident
            && piece[1].is('=')
            && !piece.get(2).is_some_and(|t| t.is('='));
        if keyword {
            if piece.len() == 2 {
                return Err(TranslateError::at(
                    piece[1].line,
                    format!("`{}=` has no value", piece[0].text),
                    "a value after `=`",
                ));
            }
            args.push(Arg { name: Some(&piece[0]), value: &piece[2..] });
        } else {
            args.push(Arg { name: None, value: piece });
        }
    }
    Ok(args)
}

/// The source text a run of tokens spans.
pub fn source<'s>(src: &'s str, tokens: &[Token]) -> &'s str {
    match (tokens.first(), tokens.last()) {
        (Some(a), Some(b)) => &src[a.start..b.end],
        _ => "",
    }
}

/// A number as written in Python, Rust or Go: underscores between digits, and a Rust type suffix
/// (`10u32`, `2.5f64`) allowed.
pub fn number(text: &str) -> Option<f64> {
    let digits: String = text.chars().filter(|c| *c != '_').collect();
    let trimmed = ["u32", "u64", "usize", "i32", "i64", "f64", "f32", "u16", "u8"]
        .iter()
        .find_map(|suffix| digits.strip_suffix(suffix))
        .unwrap_or(&digits);
    trimmed.parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(tokens: &[Token]) -> Vec<&str> {
        tokens.iter().map(|t| t.text.as_str()).collect()
    }

    #[test]
    fn tokens_keep_their_lines_and_skip_comments() {
        let src = "pool = ConnectionPool(  # the pool\n    'dbname=app',\n    max_size=20,\n)";
        let tokens = lex(src, Comments::Hash).expect("lexes");
        assert_eq!(
            texts(&tokens),
            ["pool", "=", "ConnectionPool", "(", "dbname=app", ",", "max_size", "=", "20", ",", ")"]
        );
        assert_eq!(tokens[4].line, 2);
        assert_eq!(tokens[8].line, 3);
        let rust = "/* a\nblock */ .max_connections(5) // five\n.min_connections(1_000u32)";
        let tokens = lex(rust, Comments::Slashes).expect("lexes");
        assert_eq!(
            texts(&tokens),
            [".", "max_connections", "(", "5", ")", ".", "min_connections", "(", "1_000u32", ")"]
        );
        assert_eq!(tokens[6].line, 3);
        assert_eq!(number("1_000u32"), Some(1000.0));
        assert_eq!(number("30.5"), Some(30.5));
        assert_eq!(number("abc"), None);
    }

    #[test]
    fn strings_resolve_escapes_and_may_be_triple_quoted() {
        let tokens = lex("x = \"a\\\"b\" + '''c\nd''' + `e`", Comments::Hash).expect("lexes");
        assert_eq!(tokens[2].text, "a\"b");
        assert_eq!(tokens[4].text, "c\nd");
        assert_eq!(tokens[6].text, "e");
        let err = lex("x = 1\ny = 'open", Comments::Hash).unwrap_err();
        assert_eq!(err.line(), Some(2));
    }

    #[test]
    fn call_arguments_split_at_top_level_commas() {
        let src = "f(url, pool_size=5, connect_args={'a': 1, 'b': 2}, x==y)";
        let tokens = lex(src, Comments::Hash).expect("lexes");
        let args = call_args(&tokens, 1).expect("parses");
        assert_eq!(args.len(), 4);
        assert!(args[0].name.is_none());
        assert_eq!(args[1].name.map(|t| t.text.as_str()), Some("pool_size"));
        assert_eq!(source(src, args[2].value), "{'a': 1, 'b': 2}");
        assert!(args[3].name.is_none(), "`==` is a comparison, not a keyword");
        let open = lex("x = 1\nf(a,\n b", Comments::Hash).expect("lexes");
        let err = call_args(&open, 4).unwrap_err();
        assert_eq!(err.line(), Some(2), "the line of the bracket left open");
        assert!(err.to_string().contains("never closed"), "{err}");
    }
}
