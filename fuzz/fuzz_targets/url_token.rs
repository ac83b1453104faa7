//! The AmeriCommerce URL token on arbitrary request targets, against the
//! reference in fuzz/src/lib.rs: `extract` finds the same token (query
//! parameter or path segment, percent-decoded) or the same "twice" refusal,
//! and `redact` replaces exactly that raw token (the whole query when it is
//! there twice), so a token of 4 chars or more that appears nowhere else never
//! survives it. A token appended to the target under the name verifies exactly
//! when the reference reads it back, and matches no other key.
#![no_main]

use std::borrow::Cow;

use bytes::Bytes;
use futures_executor::block_on;
use libfuzzer_sys::fuzz_target;
use webhook_guard::americommerce::UrlToken;
use webhook_guard::{ErrorKind, HeaderSource, KeySet, Verifier};
use webhook_guard_fuzz::UrlInput;
use webhook_guard_fuzz::url_token::{
    must_be_hidden, percent_encode, query_range, redacted, segment_range, token,
};

type Range = Result<Option<std::ops::Range<usize>>, ()>;

fn check(scheme: &UrlToken, target: &str, range: Range) {
    let got = scheme
        .extract(target)
        .map(|t| t.map(Cow::into_owned))
        .map_err(drop);
    let want = range.clone().map(|r| r.map(|r| token(target, r)));
    assert_eq!(got, want, "{scheme:?}.extract({target:?})");
    let hidden = scheme.redact(target);
    assert_eq!(
        hidden,
        redacted(target, range.clone()),
        "{scheme:?}.redact({target:?})"
    );
    // The token as the URL carries it (still percent-encoded) must not survive.
    if let Ok(Some(r)) = range
        && must_be_hidden(&target[r.clone()], &target[..r.start], &target[r.end..])
    {
        let raw = &target[r];
        assert!(
            !hidden.contains(raw),
            "{scheme:?}.redact({target:?}) shows {raw:?}"
        );
    }
}

fuzz_target!(|input: UrlInput| {
    let UrlInput {
        name,
        index,
        token: secret,
        target,
    } = input;
    let index = usize::from(index % 8);
    check(
        &UrlToken::query(name.clone()),
        &target,
        query_range(&target, &name),
    );
    check(
        &UrlToken::path_segment(index),
        &target,
        Ok(segment_range(&target, index)),
    );

    let separator = if target.contains('?') { '&' } else { '?' };
    let url = format!(
        "{target}{separator}{}={}",
        percent_encode(name.as_bytes()),
        percent_encode(secret.as_bytes())
    );
    let range = query_range(&url, &name);
    check(&UrlToken::query(name.clone()), &url, range.clone());
    let want = match range {
        Err(()) => Err(ErrorKind::MalformedHeaders),
        Ok(None) => panic!("{url:?}: the appended {name:?} is not found"),
        Ok(Some(r)) if r.is_empty() => Err(ErrorKind::MissingSignature),
        Ok(Some(r)) if token(&url, r.clone()) == secret.as_bytes() => Ok(()),
        Ok(Some(_)) => Err(ErrorKind::InvalidSignature),
    };
    for (key, want) in [
        (secret.clone(), want),
        (
            format!("{secret}x"),
            want.and(Err(ErrorKind::InvalidSignature)),
        ),
    ] {
        let verifier = Verifier::builder(KeySet::single(key))
            .scheme(UrlToken::query(name.clone()))
            .build();
        let head = Vec::<(&str, &str)>::new().with_target(&url);
        let got = block_on(verifier.verify(head, Bytes::new()));
        assert_eq!(
            got.as_ref().map(drop).map_err(|e| e.kind()),
            want,
            "{url:?}: {got:?}"
        );
    }
});
