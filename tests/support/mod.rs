//! Shared by the integration tests: deliveries signed as the vendor signs
//! them, raw HTTP clients, receivers on loopback, the vendor's PHP, the
//! examples run as built binaries, and headless Chromium over WebDriver.
#![allow(dead_code)] // each test crate uses its own part of this module

use std::time::Duration;

#[cfg(feature = "actix")]
pub mod actix;
pub mod client;
pub mod compare;
pub mod delivery;
pub mod examples;
pub mod php;
pub mod process;
pub mod python;
pub mod redis_server;
pub mod rng;
#[cfg(feature = "cli")]
pub mod serve;
pub mod servers;
#[cfg(feature = "actix")]
pub mod status_table;
pub mod webdriver;

/// The store key the test receivers trust.
pub const KEY: &str = "store-key-0123456789";
/// "Now" for receivers and senders with a manual clock.
pub const NOW: i64 = 1_763_900_000;
/// How long any single exchange may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// What a test that needs a tool absent here answers: a failure when `CI`
/// is set, since CI must run `what`; otherwise `SKIPPED: ...` on stderr and
/// `false`, so the test returns early.
pub fn unavailable(missing: &str, needed: &str, what: &str) -> bool {
    assert!(
        std::env::var_os("CI").is_none(),
        "{missing}: {needed} is required in CI for {what}"
    );
    // To the real stderr: libtest hides eprintln! output of a passing test.
    let _ = std::io::Write::write_fmt(
        &mut std::io::stderr(),
        format_args!("SKIPPED: {missing}; install {needed} to run {what}\n"),
    );
    false
}
