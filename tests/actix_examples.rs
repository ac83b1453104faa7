//! The actix-web receiver example as a user runs it: the built binary,
//! listening on loopback.
//!
//! It is checked against the vendor's own signing algorithm in PHP
//! (`tests/php/api2cart_reference.php`, sent by `tests/support/php_sender.php`
//! over real HTTP/1.1 in the vendor's header case): a signed delivery gets
//! 200, the same with one body byte changed, without a signature, with a stale
//! timestamp or signed with another key gets 401.

mod support;

use support::examples::{check_demo_key_fallback, check_php_sender};

#[test]
fn the_vendors_php_sender_is_accepted_by_the_actix_receiver_and_tampering_is_not() {
    check_php_sender("actix_receiver");
}

#[actix_rt::test]
async fn the_actix_receiver_falls_back_to_the_demo_key_and_says_so() {
    check_demo_key_fallback("actix_receiver").await;
}
