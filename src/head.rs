//! The request head as the verifier reads it: any header map, and the request
//! target for recipes that authenticate the URL.
//!
//! Each [`Scheme`](crate::Scheme) picks what it needs from one pass over the
//! headers, so the verifier takes header maps of any `http` version (actix-web
//! 4 still uses `http` 0.2, axum `http` 1), captured `(name, value)` pairs, or
//! already-collected [`DeliveryHeaders`], without copying the headers first.

use crate::canonical::{DeliveryHeaders, names};

/// Headers a verifier can read: `(name, value)` byte pairs, names in any case.
///
/// Implemented for `http::HeaderMap` (feature `http`), actix-web's header map
/// (feature `actix`), slices, arrays and vectors of pairs, and
/// [`DeliveryHeaders`]. Wrap one in [`WithTarget`] to add the request target.
pub trait HeaderSource {
    /// Calls `visit` once per header line, in the order received.
    fn visit_headers<'a>(&'a self, visit: &mut dyn FnMut(&'a [u8], &'a [u8]));

    /// The request target (path and query, e.g. `/hooks?token=...`), when known.
    fn target(&self) -> Option<&str> {
        None
    }

    /// These headers with the request `target` (path and query) beside them.
    fn with_target(self, target: &str) -> WithTarget<'_, Self>
    where
        Self: Sized,
    {
        WithTarget {
            headers: self,
            target,
        }
    }
}

/// Headers and the request target they came with; made by
/// [`HeaderSource::with_target`].
#[derive(Clone, Copy, Debug)]
pub struct WithTarget<'t, H> {
    headers: H,
    target: &'t str,
}

impl<H: HeaderSource> HeaderSource for WithTarget<'_, H> {
    fn visit_headers<'a>(&'a self, visit: &mut dyn FnMut(&'a [u8], &'a [u8])) {
        self.headers.visit_headers(visit);
    }

    fn target(&self) -> Option<&str> {
        Some(self.target)
    }
}

impl<H: HeaderSource + ?Sized> HeaderSource for &H {
    fn visit_headers<'a>(&'a self, visit: &mut dyn FnMut(&'a [u8], &'a [u8])) {
        (**self).visit_headers(visit);
    }

    fn target(&self) -> Option<&str> {
        (**self).target()
    }
}

impl<N: AsRef<[u8]>, V: AsRef<[u8]>> HeaderSource for [(N, V)] {
    fn visit_headers<'a>(&'a self, visit: &mut dyn FnMut(&'a [u8], &'a [u8])) {
        for (name, value) in self {
            visit(name.as_ref(), value.as_ref());
        }
    }
}

impl<N: AsRef<[u8]>, V: AsRef<[u8]>, const LEN: usize> HeaderSource for [(N, V); LEN] {
    fn visit_headers<'a>(&'a self, visit: &mut dyn FnMut(&'a [u8], &'a [u8])) {
        self.as_slice().visit_headers(visit);
    }
}

impl<N: AsRef<[u8]>, V: AsRef<[u8]>> HeaderSource for Vec<(N, V)> {
    fn visit_headers<'a>(&'a self, visit: &mut dyn FnMut(&'a [u8], &'a [u8])) {
        self.as_slice().visit_headers(visit);
    }
}

#[cfg(feature = "http")]
impl HeaderSource for http::HeaderMap {
    fn visit_headers<'a>(&'a self, visit: &mut dyn FnMut(&'a [u8], &'a [u8])) {
        for (name, value) in self {
            visit(name.as_str().as_bytes(), value.as_bytes());
        }
    }
}

/// The collected `X-Webhook-*` headers, in vendor case, and the signature.
impl HeaderSource for DeliveryHeaders {
    fn visit_headers<'a>(&'a self, visit: &mut dyn FnMut(&'a [u8], &'a [u8])) {
        for (name, value) in self.signed().iter() {
            visit(name.as_bytes(), value.as_bytes());
        }
        if let Some(signature) = self.signature() {
            visit(names::SIGNATURE.as_bytes(), signature);
        }
    }
}

/// What one named header holds in a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Found<'a> {
    /// Not sent.
    Absent,
    /// Sent once, with this value.
    Once(&'a [u8]),
    /// Sent more than once: ambiguous, so every recipe refuses it.
    Repeated,
}

impl<'a> Found<'a> {
    fn add(&mut self, value: &'a [u8]) {
        *self = match self {
            Self::Absent => Self::Once(value),
            Self::Once(_) | Self::Repeated => Self::Repeated,
        };
    }
}

/// The headers called `names` (ASCII case-insensitive), in one pass.
pub(crate) fn find<'a, H, const N: usize>(headers: &'a H, names: [&str; N]) -> [Found<'a>; N]
where
    H: HeaderSource + ?Sized,
{
    let mut found = [Found::Absent; N];
    headers.visit_headers(&mut |name, value| {
        if let Some(i) = names
            .iter()
            .position(|n| n.as_bytes().eq_ignore_ascii_case(name))
        {
            found[i].add(value);
        }
    });
    found
}

/// [`find`] for a list of names known only at run time.
pub(crate) fn find_all<'a, H, N>(headers: &'a H, names: &[N]) -> Vec<Found<'a>>
where
    H: HeaderSource + ?Sized,
    N: AsRef<str>,
{
    let mut found = vec![Found::Absent; names.len()];
    headers.visit_headers(&mut |name, value| {
        for (i, n) in names.iter().enumerate() {
            if n.as_ref().as_bytes().eq_ignore_ascii_case(name) {
                found[i].add(value);
            }
        }
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_names_in_any_case_and_tells_repeats() {
        let pairs = [
            ("Webhook-Id", "a"),
            ("content-type", "x"),
            ("WEBHOOK-ID", "b"),
        ];
        assert_eq!(
            find(&pairs, ["webhook-id", "Content-Type", "webhook"]),
            [Found::Repeated, Found::Once(b"x"), Found::Absent]
        );
        assert_eq!(
            find_all(&pairs[1..], &["content-type"]),
            [Found::Once(b"x")]
        );
        assert_eq!(pairs.target(), None);
        assert_eq!(pairs.with_target("/h?t=1").target(), Some("/h?t=1"));
    }
}
