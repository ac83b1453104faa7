//! The REST API's access token, as AmeriCommerce checks it: every request to
//! `/api/v1/...` carries `X-AC-Auth-Token`; a missing or invalid one is
//! answered 401 with the API's standard error body ([`error_body`]; both from
//! `docs/common_usage.md` of `AmeriCommerce/rest-api`).

use std::fmt;

use serde_json::{Value, json};

use crate::{KeySet, SigningKey};

/// The header AmeriCommerce's REST API reads the access token from.
pub const AUTH_TOKEN_HEADER: &str = "X-AC-Auth-Token";

/// The REST API's error body: `{"status_code": 401, "message":
/// "Unauthorized", "details": "..."}`, the message being the status's
/// reason phrase. The docs publish this structure, not the wording of
/// `details`, which is the mock's own.
pub fn error_body(status: u16, details: impl fmt::Display) -> Value {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    json!({
        "status_code": status,
        "message": reason,
        "details": details.to_string(),
    })
}

/// The token the emulated API accepts; compared in constant time, never shown.
#[derive(Clone, Debug)]
pub(super) struct ApiToken(KeySet);

impl ApiToken {
    pub(super) fn new(token: impl AsRef<[u8]>) -> Self {
        Self(KeySet::from_keys([SigningKey::new("api token", token)]))
    }

    /// Checks the values of every `X-AC-Auth-Token` header of one request.
    pub(super) fn check<'a>(
        &self,
        values: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), Unauthorized> {
        let mut values = values.into_iter();
        match (values.next(), values.next()) {
            (None, _) => Err(Unauthorized { missing: true }),
            (Some([]), None) => Err(Unauthorized { missing: true }),
            // Sent twice: which one counts is not the mock's to guess.
            (Some(_), Some(_)) => Err(Unauthorized { missing: false }),
            (Some(token), None) => match self.0.token_match(token) {
                Some(_) => Ok(()),
                None => Err(Unauthorized { missing: false }),
            },
        }
    }
}

/// A request to the REST API without a valid `X-AC-Auth-Token`: the API
/// answers 401.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unauthorized {
    missing: bool,
}

impl Unauthorized {
    /// True when no token was sent (or an empty one); false when it was
    /// wrong or sent twice.
    pub fn is_missing(&self) -> bool {
        self.missing
    }

    /// 401.
    pub fn status(&self) -> u16 {
        401
    }

    /// The body, in the API's error structure ([`error_body`]); `details`
    /// says which of the two causes the docs list it was, and never echoes
    /// the token.
    pub fn to_json(&self) -> Value {
        error_body(self.status(), self)
    }
}

impl fmt::Display for Unauthorized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.missing {
            "no X-AC-Auth-Token header"
        } else {
            "invalid X-AC-Auth-Token header"
        })
    }
}

impl std::error::Error for Unauthorized {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_one_right_token_passes() {
        let token = ApiToken::new("s3cret-token");
        assert_eq!(token.check([&b"s3cret-token"[..]]), Ok(()));
        assert!(token.check([]).unwrap_err().is_missing());
        assert!(token.check([&b""[..]]).unwrap_err().is_missing());
        assert!(!token.check([&b"s3cret-toke"[..]]).unwrap_err().is_missing());
        assert!(
            token
                .check([&b"s3cret-token"[..], &b"s3cret-token"[..]])
                .is_err()
        );
        let shown = format!("{token:?} {:?}", token.check([&b"wrong"[..]]));
        assert!(
            !shown.contains("s3cret") && !shown.contains("wrong"),
            "{shown}"
        );
    }

    #[test]
    fn the_refusal_has_the_apis_error_structure() {
        let refused = Unauthorized { missing: true };
        assert_eq!(refused.status(), 401);
        assert_eq!(
            refused.to_json(),
            json!({"status_code": 401, "message": "Unauthorized", "details": "no X-AC-Auth-Token header"})
        );
    }
}
