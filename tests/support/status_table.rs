//! The status table of the crate docs, row by row, as raw requests to an
//! actix-web receiver verifying with `tenant_verifier`.

use std::net::SocketAddr;

use super::actix::LIMIT;
use super::client::{Framing, Until, http1_bytes, send_raw};
use super::delivery::{Delivery, json_body};
use super::{KEY, NOW};

/// One row of the status table: a request, and the answer it must get.
#[derive(Debug)]
pub struct Case {
    pub name: &'static str,
    pub request: Vec<u8>,
    pub status: u16,
    pub body: &'static str,
}

/// The status table of the crate docs, as requests to a receiver whose
/// verifier is `tenant_verifier` and whose route is `/webhooks/{tenant}`.
/// Each accepted delivery is a different one (the receiver refuses replays)
/// and is answered `200 ok`.
pub fn status_table() -> Vec<Case> {
    let acme = "/webhooks/acme";
    let body = br#"{"id":"86","name":"test product"}"#;
    let valid = |n: u8| Delivery::product(KEY, NOW, format!(r#"{{"id":"{n}"}}"#).as_bytes());
    let case = |name, path: &str, delivery: &Delivery, framing, status, text| Case {
        name,
        request: http1_bytes(path, delivery, framing),
        status,
        body: text,
    };
    use Framing::*;
    let (ok, malformed, missing, invalid) = (
        "ok",
        "malformed webhook headers",
        "missing webhook signature",
        "invalid webhook signature",
    );
    let (outside, unknown, unavailable, too_large) = (
        "webhook timestamp outside tolerance",
        "unknown webhook tenant",
        "webhook verification unavailable",
        "webhook body too large",
    );
    let signed = Delivery::product(KEY, NOW, body);
    let at_limit = json_body(LIMIT);
    let over_limit = json_body(LIMIT + 1);
    vec![
        case("vendor case", acme, &valid(1), ContentLength, 200, ok),
        case(
            "lowercase names",
            acme,
            &valid(2).lowercase(),
            ContentLength,
            200,
            ok,
        ),
        case(
            "chunked, no Content-Length",
            acme,
            &valid(3),
            Chunked(5),
            200,
            ok,
        ),
        case(
            "body exactly at the limit",
            acme,
            &Delivery::product(KEY, NOW, &at_limit),
            ContentLength,
            200,
            ok,
        ),
        case(
            "chunked body exactly at the limit",
            acme,
            &Delivery::product(KEY, NOW + 1, &at_limit),
            Chunked(7),
            200,
            ok,
        ),
        case(
            "lost-connection notice, empty body",
            acme,
            &Delivery::signed(
                KEY,
                &[
                    ("X-Webhook-Entity", "cart"),
                    ("X-Webhook-Error-Code", "3"),
                    ("X-Webhook-Error-Message", "Store \"shop/1\" is unreachable"),
                ],
                b"",
            ),
            ContentLength,
            200,
            ok,
        ),
        case(
            "duplicate header",
            acme,
            &signed.clone().adding("X-Webhook-Entity", "order"),
            ContentLength,
            400,
            malformed,
        ),
        case(
            "duplicate header in two cases",
            acme,
            &signed.clone().adding("x-webhook-entity", "product"),
            ContentLength,
            400,
            malformed,
        ),
        case(
            "non-UTF-8 header value",
            acme,
            &signed.clone().adding("X-Webhook-Note", b"caf\xe9"),
            ContentLength,
            400,
            malformed,
        ),
        case(
            "timestamp not an integer",
            acme,
            &signed
                .clone()
                .with_header("X-Webhook-Timestamp", "1763900000.5"),
            ContentLength,
            400,
            malformed,
        ),
        case(
            "no signature",
            acme,
            &signed.clone().without("X-Webhook-Signature"),
            ContentLength,
            401,
            missing,
        ),
        case(
            "signature not base64",
            acme,
            &signed
                .clone()
                .with_header("X-Webhook-Signature", "not base64!"),
            ContentLength,
            401,
            invalid,
        ),
        case(
            "signature of the wrong length",
            acme,
            &signed
                .clone()
                .with_header("X-Webhook-Signature", "AAAAAAAAAAAAAAAAAAAAAA=="),
            ContentLength,
            401,
            invalid,
        ),
        case(
            "signed with another key",
            acme,
            &Delivery::product("not-the-store-key", NOW, body),
            ContentLength,
            401,
            invalid,
        ),
        case(
            "body changed after signing",
            acme,
            &signed
                .clone()
                .with_body(br#"{"id":"87","name":"test product"}"#),
            ContentLength,
            401,
            invalid,
        ),
        case(
            "header changed after signing",
            acme,
            &signed.clone().with_header("X-Webhook-Action", "delete"),
            ContentLength,
            401,
            invalid,
        ),
        case(
            "header added after signing",
            acme,
            &signed.clone().adding("X-Webhook-Extra", "1"),
            ContentLength,
            401,
            invalid,
        ),
        case(
            "Content-Length shorter than the body",
            acme,
            &signed,
            DeclaredLength(body.len() as u64 - 1),
            401,
            invalid,
        ),
        case(
            "stale timestamp",
            acme,
            &Delivery::product(KEY, NOW - 301, body),
            ContentLength,
            401,
            outside,
        ),
        case(
            "timestamp from the future",
            acme,
            &Delivery::product(KEY, NOW + 301, body),
            ContentLength,
            401,
            outside,
        ),
        case(
            "unknown tenant",
            "/webhooks/initech",
            &signed,
            ContentLength,
            401,
            unknown,
        ),
        case(
            "key store down",
            "/webhooks/down",
            &signed,
            ContentLength,
            503,
            unavailable,
        ),
        case(
            "Content-Length over the limit, body never sent",
            acme,
            &signed.clone().with_body(b""),
            DeclaredLength(LIMIT as u64 + 1),
            413,
            too_large,
        ),
        case(
            "one byte over the limit",
            acme,
            &Delivery::product(KEY, NOW, &over_limit),
            ContentLength,
            413,
            too_large,
        ),
        case(
            "chunked, one byte over the limit",
            acme,
            &Delivery::product(KEY, NOW, &over_limit),
            Chunked(16),
            413,
            too_large,
        ),
        case(
            "chunked past the limit, body never ends",
            acme,
            &Delivery::product(KEY, NOW, &json_body(4 * LIMIT)),
            ChunkedUnfinished(32),
            413,
            too_large,
        ),
    ]
}

/// Sends every row of the status table to `addr` and checks each answer:
/// status, body and `Content-Type`. Returns how many were accepted.
pub async fn check_status_table(addr: SocketAddr) -> usize {
    let mut failures = Vec::new();
    let mut accepted = 0;
    for case in status_table() {
        let response = send_raw(addr, &case.request, Until::Answered).await;
        if case.status == 200 {
            accepted += 1;
        } else if response.header("content-type") != Some("text/plain; charset=utf-8") {
            failures.push(format!(
                "{}: content-type {:?}",
                case.name,
                response.header("content-type")
            ));
        }
        if (response.status, response.text().as_str()) != (case.status, case.body) {
            failures.push(format!(
                "{}: expected {} {:?}, got {} {:?}",
                case.name,
                case.status,
                case.body,
                response.status,
                response.text()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    accepted
}
