//! `webhook-guard serve` playing API2Cart, driven over real HTTP: the
//! `/v1.0/webhook.*.json` methods and `account.failed_webhooks.json` with
//! the vendor's envelope and return codes, and store events played to the
//! vendor's PHP reference receiver and to scripted receivers on loopback.
//! Without php on PATH the PHP test prints `SKIPPED: php not found` and
//! passes, unless `CI` is set.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::php::PhpReceiver;
use support::serve::{Answer, Server};
use support::servers::{Scripted, closed_port, serve};
use support::{KEY, NOW};

/// How long to wait for log lines that should (or should not) come.
const SETTLE: Duration = Duration::from_millis(300);

/// `value` percent-encoded for a query string.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `result` of a successful call; panics with the answer otherwise.
#[track_caller]
fn ok(answer: &Answer) -> &Value {
    assert_eq!(answer.status(), 200, "{:?}", answer.raw.text());
    let body = answer.json();
    assert_eq!(body["return_code"], 0, "{body}");
    assert_eq!(body["return_message"], "", "{body}");
    &body["result"]
}

/// A refusal: HTTP 200 (as the vendor answers), `code`, a message
/// containing `says`, and no `result`.
#[track_caller]
fn refused(answer: &Answer, code: u64, says: &str) {
    assert_eq!(answer.status(), 200, "{:?}", answer.raw.text());
    let body = answer.json();
    assert_eq!(body["return_code"], code, "{body}");
    let message = body["return_message"].as_str().expect("a return_message");
    assert!(message.contains(says), "{message:?} should say {says:?}");
    assert!(body.get("result").is_none(), "{body}");
}

/// Creates a webhook with the query string `query`; returns its id.
async fn create(server: &Server, query: &str) -> u64 {
    let answer = server
        .request("GET", &format!("/v1.0/webhook.create.json?{query}"), None)
        .await;
    ok(&answer)["id"].as_u64().expect("a numeric id")
}

/// Plays a store event; returns its deliveries.
async fn play(server: &Server, event: Value) -> Vec<Value> {
    let answer = server
        .request(
            "POST",
            "/v1.0/emulator/event.json",
            Some(&event.to_string()),
        )
        .await;
    ok(&answer)["deliveries"]
        .as_array()
        .expect("deliveries")
        .clone()
}

/// The ids a `webhook.list` query answers, in order.
async fn listed(server: &Server, query: &str) -> Vec<u64> {
    let answer = server
        .request("GET", &format!("/v1.0/webhook.list.json?{query}"), None)
        .await;
    ok(&answer)["webhook"]
        .as_array()
        .expect("webhook")
        .iter()
        .map(|w| w["id"].as_u64().expect("id"))
        .collect()
}

async fn count(server: &Server, query: &str) -> u64 {
    let answer = server
        .request("GET", &format!("/v1.0/webhook.count.json?{query}"), None)
        .await;
    ok(&answer)["webhook_count"]
        .as_u64()
        .expect("webhook_count")
}

/// The issue's done-when: created with `fields=id,name`, a played event
/// reaches the vendor's PHP receiver, which verifies it with the vendor's
/// code, and carries only those fields.
#[tokio::test]
async fn the_vendors_php_receiver_verifies_a_played_event_trimmed_to_its_fields() {
    let Some(php) = PhpReceiver::start(KEY) else {
        return;
    };
    let server = Server::start(KEY, &[]);
    let callback = php.url("/webhooks");
    let id = create(
        &server,
        &format!(
            "api_key=a&store_key={KEY}&entity=product&action=add&callback={}&label=super_webhook&fields=id,name",
            encode(&callback)
        ),
    )
    .await;

    let deliveries = play(
        &server,
        json!({
            "entity": "product",
            "action": "add",
            "store_id": "1",
            "data": {"id": "86", "name": "Cable 3/4\" café ☕", "price": "9.99", "url": "https://shop.example/p/86"},
        }),
    )
    .await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    let delivery = &deliveries[0];
    assert_eq!(delivery["webhook_id"], id);
    assert_eq!(delivery["delivered"], true, "{delivery}");
    assert_eq!(delivery["delivered_on_attempt"], 1);
    assert_eq!(delivery["callback"], callback.as_str());

    let requests = php.requests();
    assert_eq!(requests.len(), 1);
    let got = &requests[0];
    assert!(got.verified, "the vendor's PHP refused the signature");
    assert_eq!(got.uri, "/webhooks");
    assert_eq!(got.header("X-Webhook-Entity"), Some("product"));
    assert_eq!(got.header("X-Webhook-Action"), Some("add"));
    assert_eq!(got.header("X-Webhook-Store-Id"), Some("1"));
    assert_eq!(got.header("X-Webhook-Error-Code"), Some("0"));
    let body: Value = serde_json::from_slice(&got.body).expect("a JSON body");
    assert_eq!(body, json!({"id": "86", "name": "Cable 3/4\" café ☕"}));

    let lines = server.drain_lines(SETTLE);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("api2cart: delivery 1, attempt 1: product/add -> 200"),
        "{lines:?}"
    );
}

/// 201 is not 200: two attempts, then `account.failed_webhooks` lists the
/// event for exactly 24 hours of the virtual clock. One log line per attempt.
#[tokio::test]
async fn a_callback_answering_201_is_a_failed_webhook_for_24_hours() {
    let receiver = Scripted::new(&[201]);
    let addr = serve(receiver.router("/created")).await;
    let server = Server::start(KEY, &["--virtual-clock", &NOW.to_string()]);
    let id = create(
        &server,
        &format!(
            "entity=order&action=add&callback={}",
            encode(&format!("http://{addr}/created"))
        ),
    )
    .await;
    // Another event, and an inactive webhook for this one: neither is delivered.
    create(
        &server,
        &format!(
            "entity=order&action=add&active=false&callback={}",
            encode(&format!("http://{addr}/created"))
        ),
    )
    .await;
    assert!(
        play(&server, json!({"entity": "order", "action": "update"}))
            .await
            .is_empty()
    );

    let deliveries = play(
        &server,
        json!({"entity": "order", "action": "add", "data": {"id": 42, "total": "10.00"}}),
    )
    .await;
    assert_eq!(deliveries.len(), 1);
    let delivery = &deliveries[0];
    assert_eq!(delivery["delivered"], false, "{delivery}");
    let attempts = delivery["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2);
    for attempt in attempts {
        assert_eq!(attempt["response"]["status"], 201, "{attempt}");
        assert_eq!(attempt["outcome"], "wrong-status");
        assert_eq!(attempt["sent_at"], NOW);
    }
    assert_eq!(receiver.count(), 2);

    let lines = server.drain_lines(SETTLE);
    assert_eq!(lines.len(), 2, "{lines:?}");
    for (n, line) in lines.iter().enumerate() {
        let expected = format!("api2cart: delivery 1, attempt {}: order/add -> 201", n + 1);
        assert!(line.starts_with(&expected), "{line:?}");
    }

    let failed = |path: &'static str| {
        let server = &server;
        async move { ok(&server.request("GET", path, None).await).clone() }
    };
    let listed = failed("/v1.0/account.failed_webhooks.json").await;
    assert_eq!(listed["all_failed_webhook"], "1");
    assert_eq!(listed["webhook"][0]["webhook_id"], id);
    assert_eq!(listed["webhook"][0]["entity_id"], "42");
    assert_eq!(
        listed["webhook"][0]["time"]["value"],
        "2025-11-23T12:13:20+0000"
    );
    let other = failed("/v1.0/account.failed_webhooks.json?ids=99").await;
    assert_eq!(other["all_failed_webhook"], "0");

    let advance = |seconds: i64| {
        let server = &server;
        async move {
            let body = json!({"advance": seconds}).to_string();
            let answer = server.request("POST", "/emulator/clock", Some(&body)).await;
            assert_eq!(answer.status(), 200, "{:?}", answer.raw.text());
        }
    };
    advance(24 * 60 * 60 - 1).await;
    let still = failed("/v1.0/account.failed_webhooks.json").await;
    assert_eq!(still["all_failed_webhook"], "1");
    advance(1).await;
    let gone = failed("/v1.0/account.failed_webhooks.json").await;
    assert_eq!(gone["all_failed_webhook"], "0");
    assert_eq!(gone["webhook"], json!([]));
}

#[tokio::test]
async fn list_filters_and_pages_count_update_delete_and_events() {
    let default = format!("http://127.0.0.1:{}/default", closed_port());
    let server = Server::start(KEY, &["--callback", &default]);

    // Three ways to pass parameters: a JSON body, a form body, a query string.
    let json_body = json!({"entity": "product", "action": "add", "fields": ["id", "name"], "label": "new products"});
    let first = server
        .request(
            "POST",
            "/v1.0/webhook.create.json",
            Some(&json_body.to_string()),
        )
        .await;
    assert_eq!(ok(&first)["id"], 1);
    let second = server
        .request_typed(
            "POST",
            "/v1.0/webhook.create.json?entity=order",
            Some("application/x-www-form-urlencoded"),
            "action=update&active=false&callback=http%3A%2F%2F127.0.0.1%3A9%2Forders",
        )
        .await;
    assert_eq!(ok(&second)["id"], 2);
    assert_eq!(create(&server, "entity=product&action=update").await, 3);

    // The vendor's default `params`: id, entity, action, callback.
    let answer = server.request("GET", "/v1.0/webhook.list.json", None).await;
    let webhooks = ok(&answer)["webhook"].as_array().expect("webhook").clone();
    assert_eq!(
        webhooks[0],
        json!({"id": 1, "entity": "product", "action": "add", "callback": default})
    );
    assert_eq!(webhooks[1]["callback"], "http://127.0.0.1:9/orders");
    assert_eq!(webhooks.len(), 3);

    let answer = server
        .request(
            "GET",
            "/v1.0/webhook.list.json?ids=1&params=force_all",
            None,
        )
        .await;
    let all = &ok(&answer)["webhook"][0];
    assert_eq!(all["label"], "new products");
    assert_eq!(all["fields"], "id,name");
    assert_eq!(all["active"], true);
    assert_eq!(all["store_id"], "1");
    assert!(all["created_at"]["value"].is_string(), "{all}");
    let answer = server
        .request("GET", "/v1.0/webhook.list.json?params=id,label", None)
        .await;
    assert_eq!(
        ok(&answer)["webhook"][0],
        json!({"id": 1, "label": "new products"})
    );

    assert_eq!(listed(&server, "entity=product").await, [1, 3]);
    assert_eq!(listed(&server, "action=update").await, [2, 3]);
    assert_eq!(listed(&server, "active=false").await, [2]);
    assert_eq!(listed(&server, "active=1&entity=product").await, [1, 3]);
    assert_eq!(listed(&server, "ids=3,1").await, [1, 3]);
    assert_eq!(listed(&server, "start=1&count=1").await, [2]);
    assert_eq!(listed(&server, "start=5").await, Vec::<u64>::new());
    assert_eq!(count(&server, "").await, 3);
    assert_eq!(count(&server, "entity=product").await, 2);
    assert_eq!(count(&server, "active=true").await, 2);
    assert_eq!(count(&server, "entity=order&action=add").await, 0);

    // Update with PUT and a JSON body, as the vendor's SDKs do.
    let changes = json!({"id": 2, "callback": "http://127.0.0.1:9/v2", "label": "orders", "active": true, "fields": "force_all"});
    let answer = server
        .request(
            "PUT",
            "/v1.0/webhook.update.json",
            Some(&changes.to_string()),
        )
        .await;
    assert_eq!(ok(&answer)["updated"], "true");
    let answer = server
        .request(
            "GET",
            "/v1.0/webhook.list.json?ids=2&params=force_all",
            None,
        )
        .await;
    let updated = &ok(&answer)["webhook"][0];
    assert_eq!(updated["callback"], "http://127.0.0.1:9/v2");
    assert_eq!(updated["label"], "orders");
    assert_eq!(updated["active"], true);
    assert_eq!(updated["entity"], "order");

    // `entity` cannot change, and the webhook is left as it was.
    let answer = server
        .request("GET", "/v1.0/webhook.update.json?id=2&entity=product", None)
        .await;
    refused(&answer, 109, "cannot change `entity`");
    assert_eq!(listed(&server, "entity=order").await, [2]);

    let answer = server
        .request("DELETE", "/v1.0/webhook.delete.json?id=3", None)
        .await;
    assert_eq!(ok(&answer)["deleted"], "true");
    assert_eq!(count(&server, "").await, 2);
    assert_eq!(listed(&server, "").await, [1, 2]);
    let again = server
        .request("GET", "/v1.0/webhook.delete.json?id=3", None)
        .await;
    refused(&again, 112, "no webhook with id 3");

    let answer = server
        .request("GET", "/v1.0/webhook.events.json", None)
        .await;
    let events = ok(&answer)["events"].as_array().expect("events").clone();
    assert!(
        events.contains(
            &json!({"webhook_name": "product.add", "entity": "product", "action": "add"})
        ),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["entity"] == "order" && e["action"] == "update")
    );
    assert!(events.iter().all(|e| e["action"] != "explode"));
}

/// Every method refuses bad input with the vendor's return codes and a
/// message naming what to fix; nothing is created or changed meanwhile.
#[tokio::test]
async fn bad_requests_get_the_vendors_return_codes() {
    let server = Server::start(KEY, &[]);
    let good = encode("http://127.0.0.1:9/hook");
    assert_eq!(
        create(
            &server,
            &format!("entity=product&action=add&callback={good}")
        )
        .await,
        1
    );

    let cases: Vec<(String, u64, &str)> = vec![
        // webhook.create
        (
            format!("webhook.create.json?action=add&callback={good}"),
            114,
            "`entity`",
        ),
        (
            format!("webhook.create.json?entity=product&callback={good}"),
            114,
            "`action`",
        ),
        (
            "webhook.create.json?entity=product&action=add".to_owned(),
            114,
            "`callback`",
        ),
        (
            format!("webhook.create.json?entity=product&action=explode&callback={good}"),
            109,
            "product.explode",
        ),
        (
            "webhook.create.json?entity=product&action=add&callback=ftp%3A%2F%2Fx%2Fy".to_owned(),
            109,
            "`callback`",
        ),
        (
            "webhook.create.json?entity=product&action=add&callback=not%20a%20url".to_owned(),
            109,
            "`callback`",
        ),
        (
            format!("webhook.create.json?entity=product&action=add&callback={good}&active=maybe"),
            109,
            "`active`",
        ),
        (
            format!("webhook.create.json?entity=product&action=add&callback={good}&store_id="),
            109,
            "`store_id`",
        ),
        (
            format!("webhook.create.json?entity=product&action=add&callback={good}&colour=red"),
            109,
            "does not take `colour`",
        ),
        (
            format!(
                "webhook.create.json?entity=product&action=add&callback={good}&store_key=other"
            ),
            4,
            "store_key",
        ),
        // webhook.list
        ("webhook.list.json?count=251".to_owned(), 109, "`count`"),
        ("webhook.list.json?start=-1".to_owned(), 109, "`start`"),
        ("webhook.list.json?ids=1,x".to_owned(), 109, "`ids`"),
        ("webhook.list.json?active=2".to_owned(), 109, "`active`"),
        (
            "webhook.list.json?params=id,colour".to_owned(),
            109,
            "`colour`",
        ),
        (
            "webhook.list.json?id=1".to_owned(),
            109,
            "does not take `id`",
        ),
        // webhook.count
        (
            "webhook.count.json?ids=1".to_owned(),
            109,
            "does not take `ids`",
        ),
        ("webhook.count.json?active=yes".to_owned(), 109, "`active`"),
        // webhook.update
        ("webhook.update.json?label=x".to_owned(), 114, "`id`"),
        ("webhook.update.json?id=abc&label=x".to_owned(), 109, "`id`"),
        ("webhook.update.json?id=99&label=x".to_owned(), 112, "99"),
        (
            "webhook.update.json?id=1&entity=order".to_owned(),
            109,
            "cannot change `entity`",
        ),
        (
            "webhook.update.json?id=1&action=update".to_owned(),
            109,
            "cannot change `action`",
        ),
        (
            "webhook.update.json?id=1&store_id=2".to_owned(),
            109,
            "cannot change `store_id`",
        ),
        (
            "webhook.update.json?id=1&active=maybe".to_owned(),
            109,
            "`active`",
        ),
        (
            "webhook.update.json?id=1&callback=%2Frelative".to_owned(),
            109,
            "`callback`",
        ),
        // webhook.delete
        ("webhook.delete.json".to_owned(), 114, "`id`"),
        ("webhook.delete.json?id=-1".to_owned(), 109, "`id`"),
        ("webhook.delete.json?id=42".to_owned(), 112, "42"),
        // webhook.events
        (
            "webhook.events.json?entity=product".to_owned(),
            109,
            "takes no parameter",
        ),
        // account.failed_webhooks
        (
            "account.failed_webhooks.json?count=300".to_owned(),
            109,
            "`count`",
        ),
        (
            "account.failed_webhooks.json?ids=one".to_owned(),
            109,
            "`ids`",
        ),
        (
            "account.failed_webhooks.json?entity=product".to_owned(),
            109,
            "does not take `entity`",
        ),
    ];
    for (path, code, says) in &cases {
        let answer = server.request("GET", &format!("/v1.0/{path}"), None).await;
        refused(&answer, *code, says);
    }

    // Bodies: a parameter twice, not JSON, not an object, a type not taken.
    let twice = server
        .request_typed(
            "POST",
            "/v1.0/webhook.count.json?entity=product",
            Some("application/x-www-form-urlencoded"),
            "entity=order",
        )
        .await;
    refused(&twice, 109, "`entity` is given more than once");
    let broken = server
        .request("POST", "/v1.0/webhook.count.json", Some("{\"entity\":"))
        .await;
    refused(&broken, 109, "not JSON");
    let array = server
        .request("POST", "/v1.0/webhook.count.json", Some("[1]"))
        .await;
    refused(&array, 109, "object");
    let nested = server
        .request(
            "POST",
            "/v1.0/webhook.count.json",
            Some(r#"{"entity":{"a":1}}"#),
        )
        .await;
    refused(&nested, 109, "`entity`");
    let text = server
        .request_typed(
            "POST",
            "/v1.0/webhook.count.json",
            Some("text/plain"),
            "entity=product",
        )
        .await;
    refused(&text, 109, "text/plain");

    // The emulator calls.
    let emulator = [
        ("event.json", r#"{"action":"add"}"#, 114, "`entity`"),
        ("event.json", r#"{"entity":"product"}"#, 114, "`action`"),
        (
            "event.json",
            r#"{"entity":"product","action":"add","data":[1]}"#,
            109,
            "`data`",
        ),
        (
            "event.json",
            r#"{"entity":"product","action":"add","colour":"red"}"#,
            109,
            "`colour`",
        ),
        ("event.json", "not json", 109, "not JSON"),
        ("store_unreachable.json", r#"{"code":"0"}"#, 109, "`code`"),
        ("store_reachable.json", r#"{"now":true}"#, 109, "`now`"),
    ];
    for (path, body, code, says) in emulator {
        let answer = server
            .request("POST", &format!("/v1.0/emulator/{path}"), Some(body))
            .await;
        refused(&answer, code, says);
    }

    // Nothing changed, nothing was delivered.
    let answer = server
        .request("GET", "/v1.0/webhook.list.json?params=force_all", None)
        .await;
    let webhooks = ok(&answer)["webhook"].as_array().expect("webhook").clone();
    assert_eq!(webhooks.len(), 1);
    assert_eq!(webhooks[0]["entity"], "product");
    assert_eq!(webhooks[0]["active"], true);
    assert_eq!(webhooks[0]["callback"], "http://127.0.0.1:9/hook");
    assert!(server.drain_lines(SETTLE).is_empty());
}

/// Lost-connection notices to every active webhook; the fifth try in a row
/// disables them; the store answering again and `active=true` bring events back.
#[tokio::test]
async fn lost_store_connection_notices_then_disabled_until_reactivated() {
    let receiver = Scripted::new(&[200]);
    let addr = serve(receiver.router("/hook")).await;
    let server = Server::start(KEY, &[]);
    let callback = encode(&format!("http://{addr}/hook"));
    let id = create(
        &server,
        &format!("entity=product&action=update&callback={callback}"),
    )
    .await;

    for try_count in 1..=5 {
        let body = if try_count == 1 {
            r#"{"code":"3","reason":"incorrect store key","message":"Fix the key"}"#
        } else {
            ""
        };
        let answer = server
            .request_typed(
                "POST",
                "/v1.0/emulator/store_unreachable.json",
                Some("application/json"),
                body,
            )
            .await;
        let result = ok(&answer);
        let deliveries = result["deliveries"].as_array().expect("deliveries");
        assert_eq!(deliveries.len(), 1, "{result}");
        assert_eq!(deliveries[0]["delivered"], true);
        let headers = deliveries[0]["attempts"][0]["request"]["headers"]
            .as_array()
            .expect("headers")
            .clone();
        let header = |name: &str| {
            headers
                .iter()
                .find(|pair| pair[0] == name)
                .and_then(|pair| pair[1].as_str())
                .map(str::to_owned)
        };
        assert_eq!(
            header("X-Webhook-Error-Try-Count"),
            Some(try_count.to_string())
        );
        assert_ne!(header("X-Webhook-Error-Code").as_deref(), Some("0"));
        if try_count == 1 {
            assert_eq!(header("X-Webhook-Error-Code").as_deref(), Some("3"));
            assert_eq!(
                header("X-Webhook-Error-Reason").as_deref(),
                Some("incorrect store key")
            );
        }
        let expected_active = if try_count < 5 { 1 } else { 0 };
        assert_eq!(result["active_webhooks"], expected_active, "{result}");
    }
    assert_eq!(server.drain_lines(SETTLE).len(), 5);
    assert!(
        play(&server, json!({"entity": "product", "action": "update"}))
            .await
            .is_empty()
    );

    let answer = server
        .request("POST", "/v1.0/emulator/store_reachable.json", None)
        .await;
    assert_eq!(ok(&answer)["reachable"], true);
    let answer = server
        .request(
            "GET",
            &format!("/v1.0/webhook.update.json?id={id}&active=true"),
            None,
        )
        .await;
    ok(&answer);
    let deliveries = play(
        &server,
        json!({"entity": "product", "action": "update", "data": {"id": "7"}}),
    )
    .await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0]["delivered"], true);
    assert_eq!(receiver.count(), 6);
}

#[test]
fn a_default_callback_that_cannot_be_delivered_to_stops_the_server() {
    let output = Command::new(env!("CARGO_BIN_EXE_webhook-guard"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--store-key",
            KEY,
            "--callback",
            "https://example.test/hook",
        ])
        .output()
        .expect("run webhook-guard serve");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--callback"), "{stderr}");
    assert!(stderr.contains("http://"), "{stderr}");
}

/// The axum example as the receiver: a played event reaches its handler
/// verified; a server signing with another key is refused twice and the
/// event lands in the failed log.
#[tokio::test]
async fn the_axum_example_receives_played_events_and_refuses_a_wrong_key() {
    use support::examples::{SECRET, start};

    let receiver = start("axum_receiver", &[("WEBHOOK_SECRET", SECRET)], &[]);
    let callback = format!("http://{}/webhooks", receiver.addr);
    let event = json!({
        "entity": "order",
        "action": "add",
        "store_id": "1",
        "data": {"id": "25", "total": "10.00"},
    });

    let server = Server::start(SECRET, &["--callback", &callback]);
    create(&server, "entity=order&action=add").await;
    let deliveries = play(&server, event.clone()).await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0]["delivered"], true, "{}", deliveries[0]);
    assert_eq!(receiver.next_line(), "entity=order action=add store_id=1");

    let impostor = Server::start("not-the-store-key", &["--callback", &callback]);
    let id = create(&impostor, "entity=order&action=add").await;
    let deliveries = play(&impostor, event).await;
    assert_eq!(deliveries[0]["delivered"], false, "{}", deliveries[0]);
    let statuses: Vec<&Value> = deliveries[0]["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|attempt| &attempt["response"]["status"])
        .collect();
    assert_eq!(statuses, [&json!(401), &json!(401)]);
    receiver.assert_quiet();
    let failed = impostor
        .request("GET", "/v1.0/account.failed_webhooks.json", None)
        .await;
    let failed = ok(&failed);
    assert_eq!(failed["all_failed_webhook"], "1", "{failed}");
    assert_eq!(failed["webhook"][0]["webhook_id"], id, "{failed}");
}

/// The keys as v1.1 takes them: headers.
const V1_1_KEYS: [(&str, &str); 2] = [("x-api-key", "any-api-key"), ("x-store-key", KEY)];

/// The JSON body of a `webhook.create` with `idempotency_key` `key`.
fn create_params(key: &str, label: &str) -> String {
    json!({
        "entity": "product",
        "action": "add",
        "callback": "http://127.0.0.1:9/hook",
        "label": label,
        "idempotency_key": key,
    })
    .to_string()
}

/// `webhook.create` over v1.1, keys in headers, with `idempotency_key` `key`.
async fn create_v1_1(server: &Server, key: &str, label: &str) -> Answer {
    let body = create_params(key, label);
    server
        .request_with_headers("POST", "/v1.1/webhook.create.json", &V1_1_KEYS, Some(&body))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_1_keys_in_headers_idempotency_keys_and_unknown_methods() {
    let server = Server::start(KEY, &["--virtual-clock", &NOW.to_string()]);
    // v1.1 takes the keys as headers; a wrong store key is refused whatever the verb.
    let keys = V1_1_KEYS;
    let wrong = [("x-api-key", "any-api-key"), ("x-store-key", "not-the-key")];
    let answer = server
        .request_with_headers(
            "POST",
            "/v1.1/webhook.create.json",
            &wrong,
            Some(&create_params("k1", "a")),
        )
        .await;
    refused(&answer, 4, "x-store-key");
    let answer = server
        .request_with_headers("GET", "/v1.1/webhook.count.json", &wrong, None)
        .await;
    refused(&answer, 4, "x-store-key");
    // The header and the parameter must agree.
    let answer = server
        .request_with_headers(
            "GET",
            &format!("/v1.1/webhook.count.json?store_key={KEY}"),
            &wrong,
            None,
        )
        .await;
    refused(&answer, 4, "x-store-key");

    // The same idempotency key: the first answer again, nothing created twice,
    // even with other parameters.
    let first = create_v1_1(&server, "k1", "a").await;
    assert_eq!(ok(&first)["id"], 1);
    let again = create_v1_1(&server, "k1", "b").await;
    assert_eq!(ok(&again)["id"], 1);
    let other = create_v1_1(&server, "k2", "c").await;
    assert_eq!(ok(&other)["id"], 2);
    assert_eq!(count(&server, "").await, 2);
    let labels: Vec<Value> = ok(&server
        .request("GET", "/v1.0/webhook.list.json?params=label", None)
        .await)["webhook"]
        .as_array()
        .expect("webhooks")
        .iter()
        .map(|w| w["label"].clone())
        .collect();
    assert_eq!(labels, [json!("a"), json!("c")]);

    // Update (PUT, as documented) takes a key too; it is another method's key.
    let update = json!({"id": 1, "label": "renamed", "idempotency_key": "k1"}).to_string();
    let answer = server
        .request_with_headers("PUT", "/v1.1/webhook.update.json", &keys, Some(&update))
        .await;
    assert_eq!(ok(&answer)["updated"], "true");

    // Fifteen minutes later the key is forgotten: the call runs again.
    let minutes = |seconds: i64| json!({"advance": seconds}).to_string();
    server
        .request("POST", "/emulator/clock", Some(&minutes(899)))
        .await;
    let answer = create_v1_1(&server, "k1", "d").await;
    assert_eq!(ok(&answer)["id"], 1);
    server
        .request("POST", "/emulator/clock", Some(&minutes(1)))
        .await;
    let answer = create_v1_1(&server, "k1", "d").await;
    assert_eq!(ok(&answer)["id"], 3);

    // A failure is not remembered: the same key works once the call is fixed.
    let broken = json!({"entity": "product", "idempotency_key": "k3"}).to_string();
    let answer = server
        .request_with_headers("POST", "/v1.1/webhook.create.json", &keys, Some(&broken))
        .await;
    refused(&answer, 114, "`action`");
    let answer = create_v1_1(&server, "k3", "e").await;
    assert_eq!(ok(&answer)["id"], 4);

    // Delete as documented: DELETE with the id in the query.
    let answer = server
        .request_with_headers("DELETE", "/v1.1/webhook.delete.json?id=4", &keys, None)
        .await;
    assert_eq!(ok(&answer)["deleted"], "true");

    // A method the vendor does not have: its envelope, not a bare 404.
    for path in [
        "/v1.1/webhook.explode.json",
        "/v1.0/product.list.json",
        "/v1.0/",
    ] {
        let answer = server.request("GET", path, None).await;
        refused(&answer, 3, "method is not specified");
    }
    let answer = server
        .request("GET", "/v1.1/webhook.explode.json", None)
        .await;
    refused(&answer, 3, "`webhook.explode`");
}
