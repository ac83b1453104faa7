//! The mock sender against the vendor's PHP reference receiver
//! (`tests/php/receiver.php`, `api2cart_verify` under `php -S`): what the
//! mock signs, the vendor's own algorithm accepts, and what a fault spoils it
//! refuses. Without php on PATH the tests print `SKIPPED: php not found` and
//! pass, unless `CI` is set.

mod support;

use serde_json::json;
use support::KEY;
use support::php::PhpReceiver;
use webhook_guard::mock::{Event, Fault, MockSender};
use webhook_guard::{Action, Entity, ErrorNotice};

#[tokio::test]
async fn the_vendors_php_receiver_accepts_what_the_mock_signs() {
    let Some(php) = PhpReceiver::start(KEY) else {
        return;
    };
    let sender = MockSender::builder(KEY)
        .url(php.url("/webhooks"))
        .build()
        .expect("sender");
    let product = Event::new(Entity::Product, Action::Update)
        .json(
            json!({"id": "86", "name": "Cable 3/4\" café ☕", "url": "https://shop.example/p/86"}),
        )
        .header("X-Webhook-Shop", "https://shop.example/a/b — 日本 😀");
    let notice = Event::error_notice(
        Entity::Cart,
        Action::Update,
        ErrorNotice {
            code: "3".into(),
            reason: Some("connection".into()),
            message: Some("Store \"shop/1\" is unreachable – café".into()),
            try_count: Some(2),
        },
    );

    let accepted = [
        product.clone(),
        notice,
        Event::new(Entity::Order, Action::Add),
        product.clone().fault(Fault::LowercaseNames),
        product.clone().fault(Fault::ReorderedHeaders),
    ];
    for event in accepted {
        let delivery = sender.send(event.clone()).await;
        assert_eq!(delivery.statuses(), [Some(200)], "{event:?}");
    }
    let refused = [
        Fault::TamperedBody,
        Fault::WrongKey,
        Fault::ChangedSignedHeader,
        Fault::GarbledSignature,
    ];
    for fault in refused {
        let delivery = sender.send(product.clone().fault(fault.clone())).await;
        assert_eq!(delivery.statuses(), [Some(401), Some(401)], "{fault}");
    }

    // What PHP got: the names in the case the mock wrote them, the exact bytes.
    let requests = php.requests();
    let journal = sender.journal().attempts();
    assert_eq!(requests.len(), journal.len());
    for (got, sent) in requests.iter().zip(&journal) {
        assert_eq!(got.body, sent.request().body().as_ref());
        assert_eq!(got.uri, "/webhooks");
        for (name, value) in sent.request().headers() {
            assert_eq!(got.header(name), Some(value.as_str()), "{name}");
        }
    }
    let first = &requests[0];
    assert!(first.verified);
    let names: Vec<&str> = first.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"X-Webhook-Store-Id"), "{names:?}");
    assert_eq!(
        first.header("X-Webhook-Shop"),
        Some("https://shop.example/a/b — 日本 😀")
    );
    assert!(requests[1].body.is_empty());
    assert_eq!(requests[1].header("X-Webhook-Error-Try-Count"), Some("2"));
    let lowercase = &requests[3];
    assert!(
        lowercase
            .headers
            .iter()
            .any(|(n, _)| n == "x-webhook-store-id"),
        "{:?}",
        lowercase.headers
    );
    assert!(lowercase.verified);
}

/// A small deterministic generator of JSON values for the differential test.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn string(&mut self) -> String {
        const PIECES: [&str; 14] = [
            "a", "Z", "/", "\\", "\"", "é", "日本", "😀", "\n", "\t", "\u{1}", "\u{7f}", "<&'>",
            " ",
        ];
        (0..self.below(6))
            .map(|_| PIECES[self.below(PIECES.len() as u64) as usize])
            .collect()
    }

    fn number(&mut self) -> serde_json::Value {
        match self.below(4) {
            0 => json!(self.next() as i64),
            1 => json!(self.below(1000) as i64 - 500),
            2 => {
                let float = f64::from_bits(self.next());
                if float.is_finite() {
                    json!(float)
                } else {
                    json!(0.5)
                }
            }
            _ => {
                let scales = [1e-7, 1e-3, 0.1, 1.0, 1e3, 1e15, 1e16, 1e17, 1e21];
                let scale = scales[self.below(scales.len() as u64) as usize];
                json!((self.below(20_000) as f64 - 10_000.0) / 7.0 * scale)
            }
        }
    }

    fn value(&mut self, depth: u32) -> serde_json::Value {
        match self.below(if depth > 2 { 5 } else { 7 }) {
            0 => serde_json::Value::Null,
            1 => json!(self.below(2) == 1),
            2 | 3 => self.number(),
            4 => json!(self.string()),
            5 => (0..self.below(4)).map(|_| self.value(depth + 1)).collect(),
            _ => serde_json::Value::Object(
                (0..self.below(4))
                    .map(|_| (self.string(), self.value(depth + 1)))
                    .collect(),
            ),
        }
    }
}

#[test]
fn json_bodies_are_byte_for_byte_what_php_json_encode_writes() {
    use std::process::Command;

    if !support::php::php_available("the PHP receiver tests") {
        return;
    }
    let mut generator = Gen(0x5eed_cafe_f00d_1234);
    let values: Vec<serde_json::Value> = (0..400)
        .map(|_| match generator.below(3) {
            0 => generator.value(0),
            _ => serde_json::Value::Object(
                (0..generator.below(5))
                    .map(|_| (generator.string(), generator.value(1)))
                    .collect(),
            ),
        })
        .collect();
    // PHP decodes each value (objects as objects, so `{}` stays `{}`) and
    // encodes it with default flags, one per line.
    const CODE: &str = r#"
        $values = json_decode(stream_get_contents(STDIN), false, 64, JSON_THROW_ON_ERROR);
        foreach ($values as $value) {
            echo json_encode($value, JSON_THROW_ON_ERROR), "\n";
        }
    "#;
    let input = serde_json::to_string(&values).expect("JSON");
    let mut child = Command::new("php")
        .arg("-r")
        .arg(CODE)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run php");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), input.as_bytes())
        .expect("write to php");
    let output = child.wait_with_output().expect("php output");
    assert!(
        output.status.success(),
        "php failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let php = String::from_utf8(output.stdout).expect("UTF-8");
    let lines: Vec<&str> = php.lines().collect();
    assert_eq!(lines.len(), values.len());
    for (value, php) in values.iter().zip(lines) {
        let event = Event::new(Entity::Product, Action::Add).json(value.clone());
        assert_eq!(
            std::str::from_utf8(event.body()).expect("UTF-8"),
            php,
            "for {value}"
        );
    }
}
