//! Typed events: `Entity`/`Action` parse and print back any text; the accessors
//! of a verified delivery carrying arbitrary vendor headers never panic and say
//! what the headers say.
#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use webhook_guard::{
    Action, DeliveryHeaders, Entity, ErrorKind, ErrorNotice, KeySet, SignedHeaders, Signer,
    Verifier,
};
use webhook_guard_fuzz::{KNOWN_NAMES, mix_case};

#[derive(Arbitrary, Debug)]
struct Input {
    entity: String,
    action: String,
    /// (which vendor name but the signature, case mask, value)
    headers: Vec<(u8, u32, String)>,
    body: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let entity = Entity::parse(&input.entity);
    assert_eq!(entity.as_str(), input.entity);
    assert_eq!(entity.to_string(), input.entity);
    assert_eq!(Entity::parse(entity.as_str()), entity);
    let action = Action::parse(&input.action);
    assert_eq!(action.as_str(), input.action);
    assert_eq!(action.to_string(), input.action);
    assert_eq!(Action::parse(action.as_str()), action);

    let mut map: BTreeMap<&str, String> = BTreeMap::new();
    let mut wire: Vec<(String, String)> = Vec::new();
    for (which, case, value) in input.headers {
        let name = KNOWN_NAMES[1 + usize::from(which) % (KNOWN_NAMES.len() - 1)];
        if let std::collections::btree_map::Entry::Vacant(slot) = map.entry(name) {
            slot.insert(value.clone());
            wire.push((mix_case(name, case), value));
        }
    }
    let signed = SignedHeaders::from_pairs(wire.iter().map(|(n, v)| (n, v))).unwrap();
    let signature = Signer::new("k").sign(&signed, &input.body);
    wire.push(("x-webhook-signature".into(), signature));
    let headers = DeliveryHeaders::from_pairs(wire.iter().map(|(n, v)| (n, v))).unwrap();
    let verifier = Verifier::builder(KeySet::single("k"))
        .danger_accept_any_timestamp()
        .build();
    let result =
        futures_executor::block_on(verifier.verify(headers, Bytes::from(input.body.clone())));

    let get = |name: &str| map.get(name).map(String::as_str);
    let timestamp = get("X-Webhook-Timestamp").map(|t| {
        if t.bytes().all(|b| b.is_ascii_digit()) {
            t.parse::<i64>().ok()
        } else {
            None
        }
    });
    if timestamp == Some(None) {
        let err = result.expect_err("malformed timestamp accepted");
        assert_eq!(err.kind(), ErrorKind::MalformedHeaders);
        return;
    }
    let event = result.expect("signed delivery refused");
    assert_eq!(event.timestamp(), timestamp.flatten());
    assert_eq!(event.entity(), get("X-Webhook-Entity").map(Entity::parse));
    assert_eq!(event.action(), get("X-Webhook-Action").map(Action::parse));
    let store_id = event.store_id();
    assert_eq!(
        store_id.as_ref().map(|s| s.as_str()),
        get("X-Webhook-Store-Id")
    );
    assert_eq!(
        store_id.map(|s| s.to_string()).as_deref(),
        get("X-Webhook-Store-Id")
    );
    let notice = match get("X-Webhook-Error-Code") {
        None | Some("0") => None,
        Some(code) => Some(ErrorNotice {
            code: code.to_owned(),
            reason: get("X-Webhook-Error-Reason").map(str::to_owned),
            message: get("X-Webhook-Error-Message").map(str::to_owned),
            try_count: get("X-Webhook-Error-Try-Count").and_then(|n| n.parse().ok()),
        }),
    };
    assert_eq!(event.error_notice(), notice);
    assert_eq!(event.key_id().as_str(), "default");
    assert_eq!(event.body().as_ref(), &input.body[..]);
    let payload = event.payload::<serde_json::Value>();
    assert_eq!(payload.ok(), serde_json::from_slice(&input.body).ok());
    assert_eq!(event.headers().len(), map.len());
});
