//! The axum examples as a user runs them: built binaries listening on loopback.
//!
//! The receiver is checked against the vendor's own signing algorithm in PHP
//! (`tests/php/api2cart_reference.php`, sent by `tests/support/php_sender.php`
//! over real HTTP/1.1 in the vendor's header case): a signed delivery gets
//! 200, the same with one body byte changed, without a signature, with a
//! stale timestamp or signed with another key gets 401.

mod support;

use support::client::send_h1;
use support::delivery::Delivery;
use support::examples::{check_demo_key_fallback, check_php_sender, now, start};

#[test]
fn the_vendors_php_sender_is_accepted_by_the_receiver_example_and_tampering_is_not() {
    check_php_sender("axum_receiver");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiver_example_falls_back_to_the_demo_key_and_says_so() {
    check_demo_key_fallback("axum_receiver").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_multi_tenant_example_picks_the_key_by_path() {
    let tenants = [("TENANT_KEYS", "acme=acme-store-key,globex=globex-store-key")];
    let receiver = tokio::task::spawn_blocking(move || start("axum_multi_tenant", &tenants, &[]))
        .await
        .expect("start");
    let body = br#"{"id":"7"}"#;
    let for_acme = Delivery::product("acme-store-key", now(), body);

    let response = send_h1(receiver.addr, "/webhooks/acme", &for_acme).await;
    assert_eq!((response.status, response.text().as_str()), (200, "ok"));
    let line = tokio::task::spawn_blocking(move || {
        let line = receiver.next_line();
        (receiver, line)
    })
    .await
    .expect("read stdout");
    let (receiver, line) = line;
    assert_eq!(line, "tenant=acme entity=product action=update store_id=1");

    // Another tenant's key, an unknown tenant, a path that is no route.
    let response = send_h1(receiver.addr, "/webhooks/globex", &for_acme).await;
    assert_eq!(
        (response.status, response.text().as_str()),
        (401, "invalid webhook signature")
    );
    let response = send_h1(receiver.addr, "/webhooks/initech", &for_acme).await;
    assert_eq!(
        (response.status, response.text().as_str()),
        (401, "unknown webhook tenant")
    );
    let response = send_h1(receiver.addr, "/hooks/acme", &for_acme).await;
    assert_eq!(response.status, 404);

    let globex = Delivery::product("globex-store-key", now(), body).lowercase();
    let response = send_h1(receiver.addr, "/webhooks/globex", &globex).await;
    assert_eq!(response.status, 200);
}
