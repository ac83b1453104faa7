//! Store events and their bodies: JSON written as PHP writes it, and the
//! `fields` trimming of a subscription.

use std::fmt;

use bytes::Bytes;
use serde_json::Value;

use crate::mock::faults::Fault;
use crate::php_json;
use crate::{Action, Entity, ErrorNotice};

/// Something that happened on the store: what the vendor turns into a
/// delivery.
///
/// ```
/// use serde_json::json;
/// use webhook_guard::mock::{Event, Fault};
/// use webhook_guard::{Action, Entity};
///
/// let event = Event::new(Entity::Product, Action::Update)
///     .json(json!({"id": "86", "name": "Café", "url": "https://shop.example/p/86"}))
///     .fault(Fault::TamperedBody);
/// // Written as PHP's json_encode writes it.
/// assert_eq!(
///     event.body(),
///     r#"{"id":"86","name":"Caf\u00e9","url":"https:\/\/shop.example\/p\/86"}"#.as_bytes()
/// );
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Event {
    pub(crate) entity: Entity,
    pub(crate) action: Action,
    pub(crate) store_id: Option<String>,
    pub(crate) body: Bytes,
    pub(crate) entity_id: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) notice: Option<ErrorNotice>,
    pub(crate) faults: Vec<Fault>,
}

impl Event {
    /// An `action` on an `entity`, with an empty body until one is set.
    pub fn new(entity: Entity, action: Action) -> Self {
        Self {
            entity,
            action,
            store_id: None,
            body: Bytes::new(),
            entity_id: None,
            headers: Vec::new(),
            notice: None,
            faults: Vec::new(),
        }
    }

    /// A lost-connection notice: `X-Webhook-Error-Code` and the other error
    /// headers from `notice`, and an empty body.
    pub fn error_notice(entity: Entity, action: Action, notice: ErrorNotice) -> Self {
        Self {
            notice: Some(notice),
            ..Self::new(entity, action)
        }
    }

    /// The body: `value` written as PHP's `json_encode` writes it with default
    /// flags: no spaces, `\/`, every non-ASCII character as `\uXXXX`, floats
    /// as PHP prints them (`1.0` as `1`, `1e25` as `1.0e+25`); object keys in
    /// `serde_json`'s order.
    #[must_use]
    pub fn json(mut self, value: Value) -> Self {
        let mut out = Vec::new();
        write_php_json(&mut out, &value);
        self.body = Bytes::from(out);
        self
    }

    /// The body, byte for byte.
    #[must_use]
    pub fn body_bytes(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// `X-Webhook-Store-Id` (default: the sender's store id).
    #[must_use]
    pub fn store_id(mut self, store_id: impl Into<String>) -> Self {
        self.store_id = Some(store_id.into());
        self
    }

    /// The id the failed log records (default: the body's top-level `"id"`).
    #[must_use]
    pub fn entity_id(mut self, entity_id: impl Into<String>) -> Self {
        self.entity_id = Some(entity_id.into());
        self
    }

    /// One more header. An `X-Webhook-*` name is signed. A name already
    /// present, in any case (one the vendor sends anyway, such as
    /// `X-Webhook-Error-Code`, or one set before), takes this value in its
    /// place. `X-Webhook-Signature`, `Content-Length` and `Transfer-Encoding`
    /// cannot be set: the attempt fails without sending (use a [`Fault`] for
    /// a bad signature).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Spoils the delivery with `fault`; several can be combined.
    #[must_use]
    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// The entity.
    pub fn entity(&self) -> &Entity {
        &self.entity
    }

    /// The action.
    pub fn action(&self) -> &Action {
        &self.action
    }

    /// The body as it will be sent to a subscription that takes every field.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The faults set.
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// The id for the failed log: the one set, or the body's top-level `"id"`
    /// (a string, or a number as written).
    pub(crate) fn resolved_entity_id(&self) -> Option<String> {
        if let Some(id) = &self.entity_id {
            return Some(id.clone());
        }
        match serde_json::from_slice::<Value>(&self.body)
            .ok()?
            .get("id")?
        {
            Value::String(id) => Some(id.clone()),
            Value::Number(id) => Some(id.to_string()),
            _ => None,
        }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("entity", &self.entity)
            .field("action", &self.action)
            .field("store_id", &self.store_id)
            .field("body", &String::from_utf8_lossy(&self.body))
            .field("headers", &self.headers)
            .field("notice", &self.notice)
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}

/// Writes `value` as PHP's `json_encode` does with default flags.
pub(crate) fn write_php_json(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => match n.as_f64().filter(|_| n.is_f64()) {
            Some(float) => out.extend_from_slice(php_float(float).as_bytes()),
            None => out.extend_from_slice(n.to_string().as_bytes()),
        },
        Value::String(s) => php_json::write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_php_json(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                php_json::write_string(out, key);
                out.push(b':');
                write_php_json(out, item);
            }
            out.push(b'}');
        }
    }
}

/// A float as PHP's `json_encode` writes it (`serialize_precision` -1): the
/// shortest digits that read back the same, in fixed notation for decimal
/// exponents from -4 to 16 (no `.0` on whole numbers), else as `1.5e+20`.
fn php_float(value: f64) -> String {
    // Rust's `{:e}` gives the same shortest digits: `-2.5e-7`, `1e25`.
    let shortest = format!("{value:e}");
    let (mantissa, exponent) = shortest.split_once('e').unwrap_or((&shortest, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let (first, rest) = digits.split_at(1.min(digits.len()));
    if !(-4..17).contains(&exponent) {
        let rest = if rest.is_empty() { "0" } else { rest };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}.{rest}e{exp_sign}{}", exponent.unsigned_abs());
    }
    match usize::try_from(exponent) {
        Ok(exponent) => {
            let whole = exponent + 1;
            if digits.len() <= whole {
                format!("{sign}{digits}{}", "0".repeat(whole - digits.len()))
            } else {
                format!("{sign}{}.{}", &digits[..whole], &digits[whole..])
            }
        }
        Err(_) => {
            // -4..=-1 here: up to three zeros after the point.
            let zeros = "0".repeat(
                usize::try_from(exponent.unsigned_abs())
                    .unwrap_or(0)
                    .saturating_sub(1),
            );
            format!("{sign}0.{zeros}{digits}")
        }
    }
}

/// The body cut down to the top-level `fields` of a JSON object, each member
/// kept byte for byte and in its place; `[]` (PHP's empty array) when none is
/// present. `None` when the body is not a JSON object: it is sent as it is.
pub(crate) fn trim_fields(body: &[u8], fields: &[String]) -> Option<Bytes> {
    let members = object_members(body)?;
    let kept: Vec<&[u8]> = members
        .into_iter()
        .filter(|(key, _)| fields.iter().any(|f| f == key))
        .map(|(_, raw)| raw)
        .collect();
    if kept.is_empty() {
        return Some(Bytes::from_static(b"[]"));
    }
    let mut out = Vec::with_capacity(body.len());
    out.push(b'{');
    out.extend_from_slice(&kept.join(&b","[..]));
    out.push(b'}');
    Some(Bytes::from(out))
}

/// The members of a JSON object: each decoded key with its raw `"key":value`
/// bytes. `None` unless `json` is one valid JSON object.
fn object_members(json: &[u8]) -> Option<Vec<(String, &[u8])>> {
    // Validated first, so the scanner below may trust the structure.
    serde_json::from_slice::<serde::de::IgnoredAny>(json).ok()?;
    let mut at = skip_ws(json, 0);
    if json.get(at) != Some(&b'{') {
        return None;
    }
    at += 1;
    let mut members = Vec::new();
    loop {
        at = skip_ws(json, at);
        match json.get(at)? {
            b'}' => return Some(members),
            b',' => {
                at += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let start = at;
        let key_end = string_end(json, at)?;
        let key: String = serde_json::from_slice(json.get(start..key_end)?).ok()?;
        at = skip_ws(json, key_end);
        if json.get(at) != Some(&b':') {
            return None;
        }
        at = value_end(json, at + 1)?;
        members.push((key, json.get(start..at)?));
    }
}

fn skip_ws(json: &[u8], mut at: usize) -> usize {
    while matches!(json.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// The index after the closing quote of the string starting at `at`.
fn string_end(json: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    loop {
        match json.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// The index after the value starting (after whitespace) at `at`.
fn value_end(json: &[u8], at: usize) -> Option<usize> {
    let at = skip_ws(json, at);
    match json.get(at)? {
        b'"' => string_end(json, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            loop {
                match json.get(i)? {
                    b'"' => {
                        i = string_end(json, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let mut i = at;
            while let Some(b) = json.get(i) {
                if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                i += 1;
            }
            Some(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn trimmed(body: &str, fields: &[&str]) -> Option<String> {
        let fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
        trim_fields(body.as_bytes(), &fields).map(|b| String::from_utf8(b.to_vec()).unwrap())
    }

    #[test]
    fn keeps_listed_members_byte_for_byte_in_place() {
        let body = r#"{ "id" : "86", "name":"a\"}b", "nested":{"x":[1,{"y":"}"}]}, "price":9.5 }"#;
        assert_eq!(
            trimmed(body, &["price", "id"]).as_deref(),
            Some(r#"{"id" : "86","price":9.5}"#)
        );
        assert_eq!(
            trimmed(body, &["nested"]).as_deref(),
            Some(r#"{"nested":{"x":[1,{"y":"}"}]}}"#)
        );
        assert_eq!(
            trimmed(body, &["name"]).as_deref(),
            Some(r#"{"name":"a\"}b"}"#)
        );
    }

    #[test]
    fn escaped_keys_are_compared_decoded() {
        assert_eq!(
            trimmed(r#"{"n\u0061me":"x","id":1}"#, &["name"]).as_deref(),
            Some(r#"{"n\u0061me":"x"}"#)
        );
    }

    #[test]
    fn nothing_listed_is_an_empty_php_array_and_non_objects_are_left_alone() {
        assert_eq!(trimmed(r#"{"id":1}"#, &["name"]).as_deref(), Some("[]"));
        assert_eq!(trimmed("[1,2]", &["id"]), None);
        assert_eq!(trimmed("not json", &["id"]), None);
        assert_eq!(trimmed("", &["id"]), None);
        assert_eq!(trimmed(r#"{"id":1} x"#, &["id"]), None);
    }

    #[test]
    fn json_is_written_as_php_writes_it() {
        let event = Event::new(Entity::Order, Action::Add).json(json!({
            "id": 25,
            "note": "a/b \"c\" é 😀",
            "lines": [{"sku": "x"}, null, true, 1.5],
        }));
        assert_eq!(
            std::str::from_utf8(event.body()).unwrap(),
            r#"{"id":25,"lines":[{"sku":"x"},null,true,1.5],"note":"a\/b \"c\" \u00e9 \ud83d\ude00"}"#
        );
        assert_eq!(event.resolved_entity_id().as_deref(), Some("25"));
    }

    #[test]
    fn floats_are_written_as_php_writes_them() {
        // Printed by PHP 8.2: json_encode([1.5, 1.0, 100.0, 0.1, 1e-5, ...]).
        let cases = [
            (1.5, "1.5"),
            (1.0, "1"),
            (100.0, "100"),
            (0.1, "0.1"),
            (1e-5, "1.0e-5"),
            (1e25, "1.0e+25"),
            (1.234_567_890_123_456_8e20, "1.2345678901234568e+20"),
            (0.0001, "0.0001"),
            (-0.0, "-0"),
            (1e16, "10000000000000000"),
            (1e17, "1.0e+17"),
            (123.456e10, "1234560000000"),
            (-2.5e-7, "-2.5e-7"),
            (0.300_000_000_000_000_04, "0.30000000000000004"),
        ];
        for (value, php) in cases {
            assert_eq!(php_float(value), php, "{value:e}");
        }
        let event = Event::new(Entity::Order, Action::Add).json(json!([1, -2, 2.0, 1e-7]));
        assert_eq!(&event.body()[..], b"[1,-2,2,1.0e-7]");
    }

    #[test]
    fn entity_id_from_the_body_or_as_set() {
        let event = Event::new(Entity::Product, Action::Add).body_bytes(r#"{"id":"86"}"#);
        assert_eq!(event.resolved_entity_id().as_deref(), Some("86"));
        assert_eq!(
            event.entity_id("x").resolved_entity_id().as_deref(),
            Some("x")
        );
        let empty = Event::new(Entity::Product, Action::Add);
        assert_eq!(empty.resolved_entity_id(), None);
    }
}
