//! The signature-policy DSL: a lexer, a recursive-descent parser into a small syntax tree, and a
//! builder that numbers identities the way Fabric's `policydsl.FromString` does.
//!
//! Grammar (whitespace — space, tab, CR, LF — is allowed between tokens):
//!
//! ```text
//! policy    := gate EOF
//! value     := gate | STRING | INT | "true" | "false"
//! gate      := GATE "(" [ value { "," value } ] ")"
//! GATE      := AND | And | and | OR | Or | or | OutOf | OUTOF | outof
//! STRING    := '...' | "..."        (escapes \\ \' \")
//! INT       := [-] digit { digit }
//! ```
//!
//! `AND(x1..xk)` is `OutOf(k, x1..xk)`, `OR(...)` is `OutOf(1, ...)`. An `OutOf` threshold is an
//! `INT` or a `STRING` holding one; every other argument is a principal string
//! `'<MSPID>.<role>'` or a gate.

use arcanum_types::Role;

use crate::error::excerpt;
use crate::{MAX_DEPTH, MAX_POLICY_BYTES, PolicyError, Principal, Rule, SignaturePolicy};

/// The three gate kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gate {
    And,
    Or,
    OutOf,
}

impl Gate {
    /// The spellings Fabric registers: `And`, `and`, `AND` and so on. Nothing else (`aNd`).
    fn from_name(name: &str) -> Option<Gate> {
        match name {
            "AND" | "And" | "and" => Some(Gate::And),
            "OR" | "Or" | "or" => Some(Gate::Or),
            "OutOf" | "OUTOF" | "outof" => Some(Gate::OutOf),
            _ => None,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Tok<'a> {
    LParen,
    RParen,
    Comma,
    Int(i64),
    Str(String),
    Ident(&'a str),
    Eof,
}

/// A parsed value, before identity numbering.
#[derive(Debug)]
enum Node {
    Int(i64),
    Str(String),
    Bool,
    Gate { gate: Gate, args: Vec<Node> },
}

impl Node {
    fn type_name(&self) -> &'static str {
        match self {
            Node::Int(_) => "int",
            Node::Str(_) => "string",
            Node::Bool => "bool",
            Node::Gate { .. } => "policy",
        }
    }
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn skip_ws(&mut self) {
        let bytes = self.src.as_bytes();
        while let Some(b) = bytes.get(self.pos) {
            if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// The next token and its byte offset.
    fn next(&mut self) -> Result<(usize, Tok<'a>), PolicyError> {
        self.skip_ws();
        let start = self.pos;
        let rest = &self.src[start..];
        let Some(c) = rest.chars().next() else {
            return Ok((start, Tok::Eof));
        };
        let tok = match c {
            '(' => {
                self.pos += 1;
                Tok::LParen
            }
            ')' => {
                self.pos += 1;
                Tok::RParen
            }
            ',' => {
                self.pos += 1;
                Tok::Comma
            }
            '\'' | '"' => Tok::Str(self.string(c)?),
            '-' | '0'..='9' => Tok::Int(self.int()?),
            c if c.is_ascii_alphabetic() || c == '_' => {
                let len = rest
                    .bytes()
                    .position(|b| !(b.is_ascii_alphanumeric() || b == b'_'))
                    .unwrap_or(rest.len());
                self.pos += len;
                Tok::Ident(&rest[..len])
            }
            other => {
                return Err(PolicyError::UnexpectedToken {
                    offset: start,
                    found: other.to_string(),
                    expected: "a gate, a principal or a number",
                });
            }
        };
        Ok((start, tok))
    }

    /// A quoted string starting at `self.pos` (on the opening `quote`).
    fn string(&mut self, quote: char) -> Result<String, PolicyError> {
        let start = self.pos;
        let mut out = String::new();
        let mut chars = self.src[start + 1..].char_indices();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                self.pos = start + 1 + i + c.len_utf8();
                return Ok(out);
            }
            if c == '\\' {
                match chars.next() {
                    Some((_, e @ ('\\' | '\'' | '"'))) => out.push(e),
                    Some((j, e)) => {
                        return Err(PolicyError::UnexpectedToken {
                            offset: start + 1 + j,
                            found: format!("\\{e}"),
                            expected: "an escape \\\\, \\' or \\\"",
                        });
                    }
                    None => break,
                }
            } else {
                out.push(c);
            }
        }
        Err(PolicyError::UnexpectedEof {
            expected: "the end of a quoted string",
        })
    }

    /// An integer literal: `[-]digits`, not followed by a name character.
    fn int(&mut self) -> Result<i64, PolicyError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut end = start;
        if bytes.get(end) == Some(&b'-') {
            end += 1;
        }
        let digits_start = end;
        while bytes.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == digits_start {
            return Err(PolicyError::UnexpectedToken {
                offset: start,
                found: "-".into(),
                expected: "a digit after '-'",
            });
        }
        if let Some(&b) = bytes.get(end)
            && (b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        {
            return Err(PolicyError::UnexpectedToken {
                offset: end,
                found: char::from(b).to_string(),
                expected: "an integer",
            });
        }
        let text = &self.src[start..end];
        self.pos = end;
        text.parse::<i64>()
            .map_err(|_| PolicyError::NumberOutOfRange {
                offset: start,
                text: excerpt(text),
            })
    }
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<(usize, Tok<'a>)>,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Parser<'a> {
        Parser {
            lexer: Lexer { src, pos: 0 },
            peeked: None,
        }
    }

    fn next(&mut self) -> Result<(usize, Tok<'a>), PolicyError> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lexer.next(),
        }
    }

    fn peek(&mut self) -> Result<&Tok<'a>, PolicyError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next()?);
        }
        match &self.peeked {
            Some((_, t)) => Ok(t),
            None => Ok(&Tok::Eof),
        }
    }

    /// The whole input: one value and then the end.
    fn top(&mut self) -> Result<Node, PolicyError> {
        let node = self.value(0)?;
        match self.next()? {
            (_, Tok::Eof) => Ok(node),
            (offset, tok) => Err(unexpected(offset, &tok, "the end of the policy")),
        }
    }

    /// One value; `depth` is the number of gates enclosing it.
    fn value(&mut self, depth: usize) -> Result<Node, PolicyError> {
        match self.next()? {
            (_, Tok::Int(i)) => Ok(Node::Int(i)),
            (_, Tok::Str(s)) => Ok(Node::Str(s)),
            (_, Tok::Ident("true" | "false")) => Ok(Node::Bool),
            (offset, Tok::Ident(name)) => {
                // A bare name is the first error, even if what follows does not lex (`A.member`).
                if !matches!(self.peek(), Ok(Tok::LParen)) {
                    return Err(PolicyError::UnknownName {
                        offset,
                        name: excerpt(name),
                    });
                }
                let Some(gate) = Gate::from_name(name) else {
                    return Err(PolicyError::UnknownGate {
                        offset,
                        name: excerpt(name),
                    });
                };
                if depth >= MAX_DEPTH {
                    return Err(PolicyError::TooDeep { max: MAX_DEPTH });
                }
                self.next()?; // the '('
                let mut args = Vec::new();
                if *self.peek()? == Tok::RParen {
                    self.next()?;
                    return Ok(Node::Gate { gate, args });
                }
                loop {
                    args.push(self.value(depth + 1)?);
                    match self.next()? {
                        (_, Tok::Comma) => continue,
                        (_, Tok::RParen) => break,
                        (_, Tok::Eof) => {
                            return Err(PolicyError::UnexpectedEof {
                                expected: "',' or ')'",
                            });
                        }
                        (offset, tok) => return Err(unexpected(offset, &tok, "',' or ')'")),
                    }
                }
                Ok(Node::Gate { gate, args })
            }
            (_, Tok::Eof) => Err(PolicyError::UnexpectedEof {
                expected: "a gate, a principal or a number",
            }),
            (offset, tok) => Err(unexpected(offset, &tok, "a gate, a principal or a number")),
        }
    }
}

fn unexpected(offset: usize, tok: &Tok<'_>, expected: &'static str) -> PolicyError {
    let found = match tok {
        Tok::LParen => "(".to_owned(),
        Tok::RParen => ")".to_owned(),
        Tok::Comma => ",".to_owned(),
        Tok::Int(i) => i.to_string(),
        Tok::Str(s) => format!("'{}'", excerpt(s)),
        Tok::Ident(s) => excerpt(s),
        Tok::Eof => "EOF".to_owned(),
    };
    PolicyError::UnexpectedToken {
        offset,
        found,
        expected,
    }
}

/// Parses `'<MSPID>.<role>'` content as Fabric's regex
/// `^([[:alnum:].-]+)\.(admin|member|client|peer|orderer)$` does: the role is the last
/// dot-separated token, the MSP id is everything before it (ASCII alphanumerics, dots, dashes).
pub(crate) fn parse_principal(text: &str) -> Option<Principal> {
    let (msp, role) = text.rsplit_once('.')?;
    let role = Role::parse(role)?;
    let msp_ok = !msp.is_empty()
        && msp
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    msp_ok.then(|| Principal {
        msp_id: msp.to_owned(),
        role,
    })
}

/// Parses the signature DSL into a policy with Fabric's identity numbering.
pub(crate) fn parse_signature_policy(text: &str) -> Result<SignaturePolicy, PolicyError> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge {
            len: text.len(),
            max: MAX_POLICY_BYTES,
        });
    }
    let mut node = Parser::new(text).top()?;
    // Fabric turns the text into a string and parses that string again, so a policy that is a
    // single quoted string has its *content* parsed. We never accept such a policy, but report
    // the error its content gives, as Fabric does (`''` -> unexpected EOF, `'1'` -> not a
    // policy). Each round strips one quoting level, so the text shrinks and the loop ends.
    let mut unwrapped = false;
    while let Node::Str(content) = node {
        node = Parser::new(&content).top()?;
        unwrapped = true;
    }
    match node {
        Node::Gate { .. } if !unwrapped => {
            let mut identities = Vec::new();
            let rule = build(&node, &mut identities)?;
            Ok(SignaturePolicy { identities, rule })
        }
        other => Err(PolicyError::NotAPolicy {
            found: other.type_name(),
        }),
    }
}

/// Builds the rule of a gate node. Identity numbering follows Fabric: the nested gates are
/// numbered first, left to right (each recursively), then the gate's own principals in order.
/// Principals are not de-duplicated. Recursion depth is bounded by the parser's [`MAX_DEPTH`].
fn build(node: &Node, identities: &mut Vec<Principal>) -> Result<Rule, PolicyError> {
    let Node::Gate { gate, args } = node else {
        return Err(PolicyError::NotAPolicy {
            found: node.type_name(),
        });
    };
    let (threshold, subs): (i64, &[Node]) = match gate {
        Gate::OutOf => match args.split_first() {
            Some((t, subs)) if !subs.is_empty() => (threshold_of(t)?, subs),
            _ => return Err(PolicyError::TooFewArguments { given: args.len() }),
        },
        Gate::And if !args.is_empty() => (args.len() as i64, args),
        Gate::Or if !args.is_empty() => (1, args),
        Gate::And | Gate::Or => return Err(PolicyError::TooFewArguments { given: 1 }),
    };
    let n = subs.len();
    let too_big = usize::try_from(threshold).is_ok_and(|t| t > n + 1);
    let n_rule = i32::try_from(threshold)
        .ok()
        .filter(|_| threshold >= 0 && !too_big);
    let Some(n_rule) = n_rule else {
        return Err(PolicyError::BadThreshold { t: threshold, n });
    };

    // Pass 1: nested gates, in order; remember where the principals go.
    let mut slots: Vec<Result<Rule, Principal>> = Vec::with_capacity(n);
    for sub in subs {
        slots.push(match sub {
            Node::Gate { .. } => Ok(build(sub, identities)?),
            Node::Str(s) => {
                Err(parse_principal(s)
                    .ok_or_else(|| PolicyError::BadPrincipal { text: excerpt(s) })?)
            }
            Node::Int(_) | Node::Bool => {
                return Err(PolicyError::BadArgument {
                    found: sub.type_name(),
                });
            }
        });
    }
    // Pass 2: this gate's own principals get the next identity numbers.
    let rules = slots
        .into_iter()
        .map(|slot| match slot {
            Ok(rule) => rule,
            Err(principal) => {
                // The identity count is bounded by the 64 KiB input, so it fits in u32.
                let index = u32::try_from(identities.len()).unwrap_or(u32::MAX);
                identities.push(principal);
                Rule::SignedBy(index)
            }
        })
        .collect();
    Ok(Rule::NOutOf { n: n_rule, rules })
}

/// The threshold of an `OutOf`: an integer, or a string holding one (Fabric re-parses it).
fn threshold_of(node: &Node) -> Result<i64, PolicyError> {
    match node {
        Node::Int(t) => Ok(*t),
        Node::Str(s) => {
            let s = s.trim_matches([' ', '\t', '\r', '\n']);
            let digits = s.strip_prefix('-').unwrap_or(s);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PolicyError::BadThresholdType { found: "string" });
            }
            s.parse::<i64>().map_err(|_| PolicyError::NumberOutOfRange {
                offset: 0,
                text: excerpt(s),
            })
        }
        other => Err(PolicyError::BadThresholdType {
            found: other.type_name(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(msp: &str, role: Role) -> Principal {
        Principal {
            msp_id: msp.into(),
            role,
        }
    }

    #[test]
    fn principal_regex_semantics() {
        assert_eq!(parse_principal("A.member"), Some(p("A", Role::Member)));
        assert_eq!(
            parse_principal("MSP.WITH.DOTS.peer"),
            Some(p("MSP.WITH.DOTS", Role::Peer))
        );
        assert_eq!(
            parse_principal("a-b.orderer"),
            Some(p("a-b", Role::Orderer))
        );
        assert_eq!(
            parse_principal("A.member.admin"),
            Some(p("A.member", Role::Admin))
        );
        assert_eq!(parse_principal(".member"), None);
        assert_eq!(parse_principal("Bmember"), None);
        assert_eq!(parse_principal("A.Member"), None);
        assert_eq!(parse_principal("A_B.member"), None);
        assert_eq!(parse_principal("A B.member"), None);
        assert_eq!(parse_principal("Ä.member"), None);
    }

    #[test]
    fn lexer_handles_escapes_and_both_quotes() {
        let mut lx = Lexer {
            src: r#" 'a\'b' "c\"d" 'e"f' -12 x_1 "#,
            pos: 0,
        };
        let toks: Vec<_> = std::iter::from_fn(|| match lx.next() {
            Ok((_, Tok::Eof)) | Err(_) => None,
            Ok((_, t)) => Some(t),
        })
        .collect();
        assert_eq!(
            toks,
            vec![
                Tok::Str("a'b".into()),
                Tok::Str("c\"d".into()),
                Tok::Str("e\"f".into()),
                Tok::Int(-12),
                Tok::Ident("x_1"),
            ]
        );
    }

    #[test]
    fn lexer_errors() {
        let err = |s| Parser::new(s).top().err();
        assert!(matches!(
            err("'abc"),
            Some(PolicyError::UnexpectedEof { .. })
        ));
        assert!(matches!(
            err("'a\\x'"),
            Some(PolicyError::UnexpectedToken { .. })
        ));
        assert!(matches!(
            err("-"),
            Some(PolicyError::UnexpectedToken { .. })
        ));
        assert!(matches!(
            err("1.5"),
            Some(PolicyError::UnexpectedToken { offset: 1, .. })
        ));
        assert!(matches!(
            err("12a"),
            Some(PolicyError::UnexpectedToken { .. })
        ));
        assert!(matches!(
            err("99999999999999999999"),
            Some(PolicyError::NumberOutOfRange { .. })
        ));
        assert!(matches!(
            err("`A.member`"),
            Some(PolicyError::UnexpectedToken { offset: 0, .. })
        ));
    }

    #[test]
    fn numbering_is_nested_first_then_own() {
        let sp = parse_signature_policy(
            "OR('A.member', AND('B.member', OR('C.member', 'D.member')), 'E.member', AND('F.member'))",
        )
        .expect("valid");
        let ids: Vec<&str> = sp.identities.iter().map(|p| p.msp_id.as_str()).collect();
        // C, D (innermost), then B (its parent), then F (second nested gate), then A, E.
        assert_eq!(ids, ["C", "D", "B", "F", "A", "E"]);
        assert_eq!(
            sp.rule,
            Rule::NOutOf {
                n: 1,
                rules: vec![
                    Rule::SignedBy(4),
                    Rule::NOutOf {
                        n: 2,
                        rules: vec![
                            Rule::SignedBy(2),
                            Rule::NOutOf {
                                n: 1,
                                rules: vec![Rule::SignedBy(0), Rule::SignedBy(1)]
                            },
                        ],
                    },
                    Rule::SignedBy(5),
                    Rule::NOutOf {
                        n: 1,
                        rules: vec![Rule::SignedBy(3)]
                    },
                ],
            }
        );
    }

    #[test]
    fn syntax_errors_have_precise_classes() {
        let e = |s| parse_signature_policy(s).err();
        assert!(matches!(
            e("NAND('A.member')"),
            Some(PolicyError::UnknownGate { .. })
        ));
        assert!(matches!(
            e("aNd('A.member')"),
            Some(PolicyError::UnknownGate { .. })
        ));
        assert!(matches!(
            e("AND('A.member',)"),
            Some(PolicyError::UnexpectedToken { .. })
        ));
        assert!(matches!(
            e("AND('A.member'"),
            Some(PolicyError::UnexpectedEof { .. })
        ));
        assert!(matches!(
            e("AND('A.member') x"),
            Some(PolicyError::UnexpectedToken { .. })
        ));
        assert!(matches!(
            e("AND()"),
            Some(PolicyError::TooFewArguments { given: 1 })
        ));
        assert!(matches!(
            e("OR()"),
            Some(PolicyError::TooFewArguments { given: 1 })
        ));
        assert!(matches!(
            e("OutOf()"),
            Some(PolicyError::TooFewArguments { given: 0 })
        ));
        // A quoted principal alone: its content `A.member` is read as Fabric reads it.
        assert!(
            matches!(e("'A.member'"), Some(PolicyError::UnknownName { name, .. }) if name == "A")
        );
        assert!(matches!(
            e("'AND(\\'A.member\\')'"),
            Some(PolicyError::NotAPolicy { found: "policy" })
        ));
        assert!(matches!(
            e("OutOf(AND('A.member'), 'B.member')"),
            Some(PolicyError::BadThresholdType { found: "policy" })
        ));
    }

    #[test]
    fn thresholds() {
        let ok = |s| parse_signature_policy(s).map(|sp| sp.rule);
        assert!(matches!(
            ok("OutOf(' 2 ', 'A.member', 'B.member')"),
            Ok(Rule::NOutOf { n: 2, .. })
        ));
        assert!(matches!(
            ok("OutOf('-1', 'A.member')"),
            Err(PolicyError::BadThreshold { t: -1, n: 1 })
        ));
        assert!(matches!(
            ok("OutOf('', 'A.member')"),
            Err(PolicyError::BadThresholdType { .. })
        ));
        assert!(matches!(
            ok("OutOf(9223372036854775807, 'A.member')"),
            Err(PolicyError::BadThreshold { t: i64::MAX, n: 1 })
        ));
        assert!(matches!(
            ok("OutOf(-9223372036854775808, 'A.member')"),
            Err(PolicyError::BadThreshold { t: i64::MIN, n: 1 })
        ));
        assert!(matches!(
            ok("OutOf('99999999999999999999', 'A.member')"),
            Err(PolicyError::NumberOutOfRange { .. })
        ));
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}'A.member'{}", "AND(".repeat(depth), ")".repeat(depth))
    }

    #[test]
    fn depth_limit_is_exact() {
        let sp = parse_signature_policy(&nested(MAX_DEPTH)).expect("64 levels are allowed");
        assert_eq!(sp.identities.len(), 1);
        assert_eq!(
            parse_signature_policy(&nested(MAX_DEPTH + 1)),
            Err(PolicyError::TooDeep { max: MAX_DEPTH })
        );
    }

    #[test]
    fn hostile_nesting_does_not_overflow_the_stack() {
        // ~64 KB of open gates: rejected at depth 65, long before the stack is at risk.
        let text = "AND(".repeat(MAX_POLICY_BYTES / 4);
        assert_eq!(
            parse_signature_policy(&text),
            Err(PolicyError::TooDeep { max: MAX_DEPTH })
        );
        let parens = "(".repeat(MAX_POLICY_BYTES);
        assert!(matches!(
            parse_signature_policy(&parens),
            Err(PolicyError::UnexpectedToken { offset: 0, .. })
        ));
        // Many levels of quoting: each round strips one level, and the content shrinks.
        let mut quoted = "''".to_owned();
        for _ in 0..10 {
            quoted = format!("'{}'", quoted.replace('\\', "\\\\").replace('\'', "\\'"));
        }
        assert_eq!(
            parse_signature_policy(&quoted),
            Err(PolicyError::UnexpectedEof {
                expected: "a gate, a principal or a number"
            })
        );
    }

    #[test]
    fn size_limit_is_exact() {
        let head = "OR('A.member')";
        let at_limit = format!("{head}{}", " ".repeat(MAX_POLICY_BYTES - head.len()));
        assert_eq!(at_limit.len(), MAX_POLICY_BYTES);
        assert!(parse_signature_policy(&at_limit).is_ok());
        let over = format!("{at_limit} ");
        assert_eq!(
            parse_signature_policy(&over),
            Err(PolicyError::TooLarge {
                len: MAX_POLICY_BYTES + 1,
                max: MAX_POLICY_BYTES
            })
        );
    }

    #[test]
    fn widest_policy_within_the_limit_parses() {
        // As many principals as fit in 64 KiB: the identity count stays far below u32::MAX.
        let mut text = String::from("OutOf(1");
        while text.len() + 16 < MAX_POLICY_BYTES {
            text.push_str(", 'A.member'");
        }
        text.push(')');
        let sp = parse_signature_policy(&text).expect("fits");
        assert!(sp.identities.len() > 5000);
    }
}
