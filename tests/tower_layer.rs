//! `VerifyWebhook` as a plain tower service, without a socket: what the inner
//! service receives, how the request body is polled, readiness, and what a
//! refusal looks like.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full, Limited};
use tower::{Layer, Service, ServiceExt};
use webhook_guard::tower::{PathSegment, VerifiedBody, VerifyWebhook, VerifyWebhookLayer};
use webhook_guard::{KeySet, SignedHeaders, Signer, VerifiedWebhook, Verifier, resolver_fn};

const KEY: &str = "store-key-0123456789";
const LIMIT: usize = 64;

fn verifier() -> Verifier {
    Verifier::builder(KeySet::single(KEY))
        .danger_accept_any_timestamp()
        .body_limit(LIMIT)
        .build()
}

const PAIRS: [(&str, &str); 3] = [
    ("X-Webhook-Entity", "order"),
    ("X-Webhook-Action", "add"),
    ("X-Webhook-Store-Id", "1"),
];

fn signature(key: &str, body: &[u8]) -> String {
    Signer::new(key).sign(&SignedHeaders::from_pairs(PAIRS).unwrap(), body)
}

fn request<B>(signature: &str, body: B) -> Request<B> {
    let mut request = Request::post("/webhooks");
    for (name, value) in PAIRS {
        request = request.header(name, value);
    }
    request
        .header("X-Webhook-Signature", signature)
        .body(body)
        .unwrap()
}

/// One request as the inner service saw it: its body, the body's exact size
/// hint, and the event in its extensions.
type Received = (Bytes, Option<u64>, Option<VerifiedWebhook>);

/// What the inner service saw.
#[derive(Clone, Debug, Default)]
struct Seen {
    calls: Arc<AtomicUsize>,
    bodies: Arc<std::sync::Mutex<Vec<Received>>>,
}

/// An inner service that records what it receives, and checks that it is
/// called only after `poll_ready` said yes (each clone starts not ready).
#[derive(Debug, Default)]
struct Recorder {
    seen: Seen,
    ready: bool,
}

impl Clone for Recorder {
    fn clone(&self) -> Self {
        Self {
            seen: self.seen.clone(),
            ready: false,
        }
    }
}

impl Service<Request<VerifiedBody>> for Recorder {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.ready = true;
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<VerifiedBody>) -> Self::Future {
        assert!(self.ready, "called without poll_ready");
        self.ready = false;
        let seen = self.seen.clone();
        Box::pin(async move {
            seen.calls.fetch_add(1, Ordering::SeqCst);
            let event = req.extensions().get::<VerifiedWebhook>().cloned();
            let exact = req.body().size_hint().exact();
            let body = req.into_body().collect().await.unwrap().to_bytes();
            seen.bodies.lock().unwrap().push((body, exact, event));
            Ok(Response::new(Full::new(Bytes::from_static(b"handled"))))
        })
    }
}

/// A request body sent in the given frames, counting how many were polled.
struct Frames {
    frames: std::collections::VecDeque<Result<Frame<Bytes>, std::io::Error>>,
    polled: Arc<AtomicUsize>,
    /// The exact length the body claims, if any.
    exact: Option<u64>,
}

impl Frames {
    fn new(chunks: &[&[u8]], polled: &Arc<AtomicUsize>) -> Self {
        Self {
            frames: chunks
                .iter()
                .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
                .collect(),
            polled: Arc::clone(polled),
            exact: None,
        }
    }

    fn then(mut self, frame: Result<Frame<Bytes>, std::io::Error>) -> Self {
        self.frames.push_back(frame);
        self
    }
}

impl Body for Frames {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.polled.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(self.frames.pop_front())
    }

    fn size_hint(&self) -> SizeHint {
        self.exact.map(SizeHint::with_exact).unwrap_or_default()
    }
}

async fn text<B: Body>(response: Response<B>) -> (StatusCode, String)
where
    B::Error: std::fmt::Debug,
{
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn the_inner_service_gets_the_verified_bytes_in_one_exact_frame_and_the_event() {
    let recorder = Recorder::default();
    let seen = recorder.seen.clone();
    let service = VerifyWebhookLayer::new(verifier()).layer(recorder);

    let body = br#"{"id":"25","total":"10.00"}"#;
    let polled = Arc::new(AtomicUsize::new(0));
    let chunks: Vec<&[u8]> = body.chunks(5).collect();
    let frames = Frames::new(&chunks, &polled).then(Ok(Frame::trailers(HeaderMap::new())));
    let response = service
        .oneshot(request(&signature(KEY, body), frames))
        .await
        .unwrap();
    assert_eq!(text(response).await, (StatusCode::OK, "handled".to_owned()));

    let bodies = seen.bodies.lock().unwrap();
    let (received, exact, event) = &bodies[0];
    assert_eq!(received, &body[..]);
    assert_eq!(*exact, Some(body.len() as u64));
    let event = event.as_ref().expect("event in the extensions");
    assert_eq!(event.body(), &body[..]);
    assert_eq!(event.entity().unwrap().as_str(), "order");
    assert_eq!(event.store_id().unwrap().as_str(), "1");
    // Every data frame, the trailers, and the end.
    assert_eq!(polled.load(Ordering::SeqCst), chunks.len() + 2);
}

/// Outside a Tokio runtime there is no timer for the body deadline: the
/// layer reads the body without one rather than panic.
#[test]
fn without_a_tokio_runtime_the_body_is_read_without_a_deadline() {
    let service = VerifyWebhookLayer::new(verifier()).layer(Recorder::default());
    let body = br#"{"id":"25"}"#;
    let request = request(&signature(KEY, body), Full::new(Bytes::from_static(body)));
    let response = futures_executor::block_on(service.oneshot(request)).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// No copy of the body beyond the one buffer the handler receives: a body in
/// one frame reaches the inner service as the very bytes that arrived, and a
/// body in several frames is gathered once into a buffer that the event and
/// the inner service share.
#[tokio::test]
async fn the_body_is_not_copied_on_the_way_to_the_inner_service() {
    let body = br#"{"id":"25","total":"10.00"}"#;
    let polled = Arc::new(AtomicUsize::new(0));

    let arrived = Bytes::copy_from_slice(body);
    let one_frame = Frames {
        frames: [Ok(Frame::data(arrived.clone()))].into(),
        polled: Arc::clone(&polled),
        exact: Some(body.len() as u64),
    };
    let chunks: Vec<&[u8]> = body.chunks(5).collect();
    let several_frames = Frames::new(&chunks, &polled);

    let mut shared = Vec::new();
    for frames in [one_frame, several_frames] {
        let recorder = Recorder::default();
        let seen = recorder.seen.clone();
        let service = VerifyWebhookLayer::new(verifier()).layer(recorder);
        let response = service
            .oneshot(request(&signature(KEY, body), frames))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let (received, _, event) = seen.bodies.lock().unwrap().pop().unwrap();
        let event = event.expect("event in the extensions");
        assert_eq!(received, &body[..]);
        // The inner service's bytes and the event's are one buffer.
        assert_eq!(received.as_ptr(), event.body().as_ptr());
        shared.push(received);
    }
    // In one frame, that buffer is the one the body arrived in.
    assert_eq!(shared[0].as_ptr(), arrived.as_ptr());
}

#[tokio::test]
async fn an_empty_body_verifies_and_arrives_empty() {
    let recorder = Recorder::default();
    let seen = recorder.seen.clone();
    let service = VerifyWebhook::new(recorder, verifier());
    let response = service
        .oneshot(request(&signature(KEY, b""), Full::new(Bytes::new())))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bodies = seen.bodies.lock().unwrap();
    assert_eq!(bodies[0].0, Bytes::new());
    assert_eq!(bodies[0].1, Some(0));
}

#[tokio::test]
async fn the_ready_service_is_the_one_called_and_clones_wait_for_their_turn() {
    let recorder = Recorder::default();
    let seen = recorder.seen.clone();
    let mut service = VerifyWebhook::new(recorder, verifier());
    let body = br#"{"id":"1"}"#;
    // Two calls on the same service value: each must be preceded by readiness,
    // and the recorder asserts the instance it is called on was made ready.
    for _ in 0..2 {
        let ready = ServiceExt::<Request<Full<Bytes>>>::ready(&mut service)
            .await
            .unwrap();
        let response = ready
            .call(request(
                &signature(KEY, body),
                Full::new(Bytes::from_static(body)),
            ))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(seen.calls.load(Ordering::SeqCst), 2);
    assert!(
        !service.get_ref().ready,
        "the ready instance went with the request"
    );
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_413_without_polling_the_body() {
    let recorder = Recorder::default();
    let seen = recorder.seen.clone();
    let service = VerifyWebhook::new(recorder, verifier());
    let polled = Arc::new(AtomicUsize::new(0));

    let mut req = request(&signature(KEY, b"{}"), Frames::new(&[b"{}"], &polled));
    req.headers_mut()
        .insert(http::header::CONTENT_LENGTH, (LIMIT + 1).into());
    let response = service.clone().oneshot(req).await.unwrap();
    assert_eq!(
        text(response).await,
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "webhook body too large".to_owned()
        )
    );

    // The body's own size hint counts as a declaration too.
    let mut frames = Frames::new(&[b"{}"], &polled);
    frames.exact = Some(LIMIT as u64 + 1);
    let response = service
        .oneshot(request(&signature(KEY, b"{}"), frames))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    assert_eq!(polled.load(Ordering::SeqCst), 0);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn streaming_stops_at_the_frame_that_crosses_the_limit() {
    let recorder = Recorder::default();
    let seen = recorder.seen.clone();
    let service = VerifyWebhook::new(recorder, verifier());
    let polled = Arc::new(AtomicUsize::new(0));
    let chunk = [b'a'; 30];
    // 30 + 30 fit in 64; the third frame crosses; two more are never asked for.
    let frames = Frames::new(&[&chunk, &chunk, &chunk, &chunk, &chunk], &polled);
    let response = service
        .oneshot(request(&signature(KEY, b"irrelevant"), frames))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(polled.load(Ordering::SeqCst), 3);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn header_problems_are_answered_without_polling_the_body() {
    let recorder = Recorder::default();
    let seen = recorder.seen.clone();
    let service = VerifyWebhook::new(recorder, verifier());
    let polled = Arc::new(AtomicUsize::new(0));

    let mut req = request("unused", Frames::new(&[b"{}"], &polled));
    req.headers_mut().remove("x-webhook-signature");
    let response = service.clone().oneshot(req).await.unwrap();
    assert_eq!(
        text(response).await,
        (
            StatusCode::UNAUTHORIZED,
            "missing webhook signature".to_owned()
        )
    );

    let mut req = request(&signature(KEY, b"{}"), Frames::new(&[b"{}"], &polled));
    req.headers_mut()
        .append("x-webhook-entity", http::HeaderValue::from_static("order"));
    let response = service.oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    assert_eq!(polled.load(Ordering::SeqCst), 0);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_body_that_fails_is_400_and_an_outer_limit_is_413() {
    let recorder = Recorder::default();
    let seen = recorder.seen.clone();
    let service = VerifyWebhook::new(recorder, verifier());
    let polled = Arc::new(AtomicUsize::new(0));

    let failing = Frames::new(&[b"{\"id\""], &polled).then(Err(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "peer went away",
    )));
    let response = service
        .clone()
        .oneshot(request(&signature(KEY, b"{}"), failing))
        .await
        .unwrap();
    assert_eq!(
        text(response).await,
        (
            StatusCode::BAD_REQUEST,
            "unreadable webhook body".to_owned()
        )
    );

    // tower-http's RequestBodyLimit and axum's DefaultBodyLimit wrap the body in
    // `Limited`; its error means "too large", not "unreadable".
    let body = br#"{"id":"1234567890"}"#;
    let limited = Limited::new(Full::new(Bytes::from_static(body)), 8);
    let response = service
        .oneshot(request(&signature(KEY, body), limited))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_rejection_hook_gets_the_error_and_its_response_is_sent() {
    let recorder = Recorder::default();
    let seen = recorder.seen.clone();
    let service = VerifyWebhookLayer::new(verifier())
        .on_rejection(|error| {
            let mut response = Response::new(Bytes::from(format!("no: {:?}", error.kind())));
            *response.status_mut() = StatusCode::FORBIDDEN;
            response
        })
        .layer(recorder);
    let body = b"{}";
    let response = service
        .oneshot(request(
            &signature("other-key", body),
            Full::new(Bytes::from_static(body)),
        ))
        .await
        .unwrap();
    assert_eq!(
        text(response).await,
        (StatusCode::FORBIDDEN, "no: InvalidSignature".to_owned())
    );
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_resolver_sees_the_request_parts() {
    let recorder = Recorder::default();
    let seen = recorder.seen.clone();
    let resolver = PathSegment::new(
        1,
        resolver_fn(|tenant: &str| {
            let keys = (tenant == "acme").then(|| KeySet::single(KEY));
            async move { keys.ok_or(webhook_guard::ResolveError::UnknownTenant) }
        }),
    );
    let service = VerifyWebhook::new(
        recorder,
        Verifier::builder(resolver)
            .danger_accept_any_timestamp()
            .build(),
    );
    let body = b"{}";
    for (path, status) in [
        ("/webhooks/acme", StatusCode::OK),
        ("/webhooks/acme/", StatusCode::OK),
        ("/webhooks/globex", StatusCode::UNAUTHORIZED),
        ("/webhooks/", StatusCode::UNAUTHORIZED),
        ("/webhooks", StatusCode::UNAUTHORIZED),
    ] {
        let mut req = request(&signature(KEY, body), Full::new(Bytes::from_static(body)));
        *req.uri_mut() = path.parse().unwrap();
        let response = service.clone().oneshot(req).await.unwrap();
        assert_eq!(response.status(), status, "{path}");
    }
    assert_eq!(seen.calls.load(Ordering::SeqCst), 2);
}

#[test]
fn path_segments_are_counted_after_the_leading_slash() {
    let segment = |index: usize, path: &'static str| PathSegment::new(index, ()).tenant(path);
    assert_eq!(segment(0, "/webhooks/acme"), Some("webhooks"));
    assert_eq!(segment(1, "/webhooks/acme"), Some("acme"));
    assert_eq!(segment(1, "/webhooks/acme%20co/x"), Some("acme%20co"));
    assert_eq!(segment(2, "/webhooks/acme"), None);
    assert_eq!(segment(1, "/webhooks//acme"), None);
    assert_eq!(segment(0, "/"), None);
}

#[test]
fn debug_output_shows_no_key() {
    let layer = VerifyWebhookLayer::new(verifier());
    let service = layer.layer(Recorder::default());
    let shown = format!("{layer:?} {service:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("VerifyWebhook"), "{shown}");
}
