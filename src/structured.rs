//! Structured Field Values (RFC 8941), the dictionaries that `Signature-Input`
//! and `Content-Digest` are written in: just the parsing algorithm of §4.2,
//! strict (any deviation is an error), linear in the input, no recursion
//! beyond one inner list.

use std::borrow::Cow;

use base64::Engine as _;

use crate::signature::PADDED_OR_NOT;

/// An item's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BareItem<'a> {
    Integer(i64),
    /// Kept as written (`-1.5`); no recipe here reads one.
    Decimal(&'a str),
    /// Borrowed from the input unless it held an escape.
    String(Cow<'a, str>),
    Token(&'a str),
    Bytes(Vec<u8>),
    Boolean(bool),
}

/// `;key=value` pairs after an item or inner list, in order. Keys and most
/// values borrow from the input.
pub(crate) type Parameters<'a> = Vec<(&'a str, BareItem<'a>)>;

/// One dictionary member's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Member<'a> {
    Item(BareItem<'a>, Parameters<'a>),
    InnerList(Vec<(BareItem<'a>, Parameters<'a>)>, Parameters<'a>),
}

/// Parses a dictionary (RFC 8941 §4.2.2). Members are kept in order, repeated
/// keys included: a caller that cares refuses the repeat rather than let the
/// last one silently win.
pub(crate) fn parse_dictionary(input: &[u8]) -> Result<Vec<(&str, Member<'_>)>, &'static str> {
    let mut p = Parser { input, at: 0 };
    p.skip(|b| b == b' ');
    let mut members = Vec::new();
    if p.done() {
        return Ok(members);
    }
    loop {
        let key = p.key()?;
        let member = if p.eat(b'=') {
            if p.peek() == Some(b'(') {
                let list = p.inner_list()?;
                Member::InnerList(list, p.parameters()?)
            } else {
                let item = p.bare_item()?;
                Member::Item(item, p.parameters()?)
            }
        } else {
            Member::Item(BareItem::Boolean(true), p.parameters()?)
        };
        members.push((key, member));
        p.skip(|b| b == b' ' || b == b'\t');
        if p.done() {
            return Ok(members);
        }
        if !p.eat(b',') {
            return Err("expected `,` between dictionary members");
        }
        p.skip(|b| b == b' ' || b == b'\t');
        if p.done() {
            return Err("trailing `,` in a dictionary");
        }
    }
}

struct Parser<'a> {
    input: &'a [u8],
    at: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.at).copied()
    }

    fn done(&self) -> bool {
        self.at >= self.input.len()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.peek() == Some(byte);
        if hit {
            self.at += 1;
        }
        hit
    }

    fn skip(&mut self, keep: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&keep) {
            self.at += 1;
        }
    }

    /// The bytes from `start` to here, which the caller checked are ASCII
    /// (so the conversion cannot fail).
    fn text_from(&self, start: usize) -> &'a str {
        std::str::from_utf8(&self.input[start..self.at]).unwrap_or_default()
    }

    /// `key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )`
    fn key(&mut self) -> Result<&'a str, &'static str> {
        let start = self.at;
        match self.peek() {
            Some(b'a'..=b'z' | b'*') => self.at += 1,
            _ => return Err("a key must start with a lowercase letter or `*`"),
        }
        self.skip(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*'));
        Ok(self.text_from(start))
    }

    fn parameters(&mut self) -> Result<Parameters<'a>, &'static str> {
        let mut params = Vec::new();
        while self.eat(b';') {
            self.skip(|b| b == b' ');
            let key = self.key()?;
            let value = if self.eat(b'=') {
                self.bare_item()?
            } else {
                BareItem::Boolean(true)
            };
            params.push((key, value));
        }
        Ok(params)
    }

    fn inner_list(&mut self) -> Result<Vec<(BareItem<'a>, Parameters<'a>)>, &'static str> {
        if !self.eat(b'(') {
            return Err("expected `(`");
        }
        let mut items = Vec::new();
        loop {
            self.skip(|b| b == b' ');
            if self.eat(b')') {
                return Ok(items);
            }
            let item = self.bare_item()?;
            items.push((item, self.parameters()?));
            match self.peek() {
                Some(b' ' | b')') => {}
                _ => return Err("inner list items must be separated by spaces"),
            }
        }
    }

    fn bare_item(&mut self) -> Result<BareItem<'a>, &'static str> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'"') => self.string().map(BareItem::String),
            Some(b':') => self.bytes().map(BareItem::Bytes),
            Some(b'?') => self.boolean().map(BareItem::Boolean),
            Some(b'A'..=b'Z' | b'a'..=b'z' | b'*') => Ok(BareItem::Token(self.token())),
            _ => Err("not a structured field item"),
        }
    }

    /// §4.2.4: at most 15 integer digits; a decimal has at most 12 before
    /// the point and 1 to 3 after it.
    fn number(&mut self) -> Result<BareItem<'a>, &'static str> {
        let start = self.at;
        let negative = self.eat(b'-');
        let digits_start = self.at;
        self.skip(|b| b.is_ascii_digit());
        let whole = self.at - digits_start;
        if whole == 0 {
            return Err("a number needs a digit");
        }
        if self.eat(b'.') {
            let frac_start = self.at;
            self.skip(|b| b.is_ascii_digit());
            let frac = self.at - frac_start;
            if whole > 12 || !(1..=3).contains(&frac) {
                return Err("decimal out of range");
            }
            return Ok(BareItem::Decimal(self.text_from(start)));
        }
        if whole > 15 {
            return Err("integer out of range");
        }
        let text = std::str::from_utf8(&self.input[digits_start..self.at])
            .map_err(|_| "integer out of range")?;
        let magnitude: i64 = text.parse().map_err(|_| "integer out of range")?;
        Ok(BareItem::Integer(if negative {
            -magnitude
        } else {
            magnitude
        }))
    }

    /// §4.2.5: printable ASCII, with `\"` and `\\` the only escapes.
    /// A string: borrowed from the input when it holds no escape, as
    /// nearly every one does.
    fn string(&mut self) -> Result<Cow<'a, str>, &'static str> {
        self.at += 1; // the opening quote
        let start = self.at;
        loop {
            match self.peek() {
                None => return Err("unterminated string"),
                Some(b'"') => {
                    let text = self.text_from(start);
                    self.at += 1;
                    return Ok(Cow::Borrowed(text));
                }
                Some(b'\\') => break,
                Some(0x20..=0x7e) => self.at += 1,
                Some(_) => return Err("string holds a byte that is not printable ASCII"),
            }
        }
        // An escape: copy what came before it, then go on byte by byte.
        let mut out = self.text_from(start).to_owned();
        loop {
            match self.peek() {
                None => return Err("unterminated string"),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.at += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => out.push(char::from(c)),
                        _ => return Err("bad escape in a string"),
                    }
                    self.at += 1;
                }
                Some(c @ 0x20..=0x7e) => {
                    out.push(char::from(c));
                    self.at += 1;
                }
                Some(_) => return Err("string holds a byte that is not printable ASCII"),
            }
        }
    }

    fn token(&mut self) -> &'a str {
        let start = self.at;
        self.at += 1;
        self.skip(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&b));
        self.text_from(start)
    }

    /// §4.2.7: `:` base64 `:`, with or without the `=` padding.
    fn bytes(&mut self) -> Result<Vec<u8>, &'static str> {
        self.at += 1;
        let start = self.at;
        self.skip(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=');
        let encoded = &self.input[start..self.at];
        if !self.eat(b':') {
            return Err("unterminated byte sequence");
        }
        PADDED_OR_NOT
            .decode(encoded)
            .map_err(|_| "byte sequence is not base64")
    }

    fn boolean(&mut self) -> Result<bool, &'static str> {
        self.at += 1;
        let value = match self.peek() {
            Some(b'0') => false,
            Some(b'1') => true,
            _ => return Err("a boolean is ?0 or ?1"),
        };
        self.at += 1;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(names: &[&'static str]) -> Vec<(BareItem<'static>, Parameters<'static>)> {
        names
            .iter()
            .map(|n| (BareItem::String((*n).into()), vec![]))
            .collect()
    }

    #[test]
    fn reads_an_inner_list_with_parameters() {
        let parsed = parse_dictionary(
            br#"up42-sig=("content-digest" "date");created=1700000000;keyid="k-1";alg=hmac, x=?0"#,
        )
        .unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].0, "up42-sig");
        assert_eq!(
            parsed[0].1,
            Member::InnerList(
                list(&["content-digest", "date"]),
                vec![
                    ("created", BareItem::Integer(1_700_000_000)),
                    ("keyid", BareItem::String("k-1".into())),
                    ("alg", BareItem::Token("hmac")),
                ]
            )
        );
        assert_eq!(
            parsed[1],
            ("x", Member::Item(BareItem::Boolean(false), vec![]))
        );
    }

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        let parsed = parse_dictionary(br#"a="plain", b="q\"uo\\te", c="""#).unwrap();
        assert!(matches!(
            &parsed[0].1,
            Member::Item(BareItem::String(Cow::Borrowed("plain")), _)
        ));
        assert_eq!(
            parsed[1].1,
            Member::Item(BareItem::String("q\"uo\\te".into()), vec![])
        );
        assert!(matches!(
            &parsed[2].1,
            Member::Item(BareItem::String(Cow::Borrowed("")), _)
        ));
    }

    #[test]
    fn reads_byte_sequences_and_bare_keys() {
        let parsed = parse_dictionary(b"sha-256=:AAEC:,  flag;a=1.5").unwrap();
        assert_eq!(
            parsed[0].1,
            Member::Item(BareItem::Bytes(vec![0, 1, 2]), vec![])
        );
        assert_eq!(
            parsed[1].1,
            Member::Item(
                BareItem::Boolean(true),
                vec![("a", BareItem::Decimal("1.5"))]
            )
        );
    }

    #[test]
    fn refuses_what_rfc_8941_refuses() {
        for bad in [
            &b"A=1"[..],
            b"a=1,",
            b"a=1 b=2",
            b"a=(\"x\"\"y\")",
            b"a=\"unterminated",
            b"a=\"bad\\n\"",
            b"a=1234567890123456",
            b"a=:not base64!:",
            b"a=?2",
            b"a=(",
            b"a=\"\xff\"",
        ] {
            assert!(
                parse_dictionary(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(parse_dictionary(b"  ").unwrap(), vec![]);
        assert_eq!(
            parse_dictionary(b"a=:AAEC:, b=:AAE:").unwrap()[1].1,
            Member::Item(BareItem::Bytes(vec![0, 1]), vec![]),
            "unpadded byte sequences are read (RFC 8941 4.2.7)"
        );
        assert_eq!(
            parse_dictionary(b"a=-42").unwrap()[0].1,
            Member::Item(BareItem::Integer(-42), vec![])
        );
    }
}
