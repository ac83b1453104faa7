//! Where deliveries go and how the bytes get there: real HTTP/1.1 on a socket,
//! written in the vendor's header case, or straight into a `tower::Service`.

use std::collections::VecDeque;
use std::error::Error as StdError;
use std::fmt;
use std::future::{Future as _, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, Uri};
use http_body::{Body, Frame, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tower_service::Service;

use super::journal::{ReceivedResponse, SentRequest, TransportFailure, TransportFailureKind};
use crate::BoxFuture;

type BoxError = Box<dyn StdError + Send + Sync>;

/// How much of a response body the journal keeps; the rest is not read.
pub(crate) const RESPONSE_BODY_CAP: usize = 64 * 1024;

/// The request body the mock sends: the signed bytes in one frame, or (for
/// [`Fault::SlowBody`](super::Fault::SlowBody)) in chunks with a pause before
/// each one after the first.
///
/// Services given to [`MockSenderBuilder::service`](super::MockSenderBuilder::service)
/// take `http::Request<MockBody>`; axum's `Router` and
/// [`VerifyWebhookLayer`](crate::tower::VerifyWebhookLayer) accept it as they
/// accept any body. Pauses use tokio's clock, so they take no real time under
/// `tokio::time::pause`.
pub struct MockBody {
    chunks: VecDeque<Bytes>,
    delay: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    exact_len: Option<u64>,
    started: bool,
}

impl MockBody {
    /// A body of `bytes` in one frame.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        let exact_len = Some(bytes.len() as u64);
        let chunks = if bytes.is_empty() {
            VecDeque::new()
        } else {
            VecDeque::from([bytes])
        };
        Self {
            chunks,
            delay: Duration::ZERO,
            sleep: None,
            exact_len,
            started: false,
        }
    }

    /// `bytes` in chunks of `chunk_size` (at least 1), with a pause of `delay`
    /// before each chunk after the first. Its length is not announced, so over
    /// HTTP/1.1 it goes out chunked.
    pub fn slow(bytes: impl Into<Bytes>, chunk_size: usize, delay: Duration) -> Self {
        let mut bytes: Bytes = bytes.into();
        let chunk_size = chunk_size.max(1);
        let mut chunks = VecDeque::with_capacity(bytes.len() / chunk_size + 1);
        while !bytes.is_empty() {
            chunks.push_back(bytes.split_to(chunk_size.min(bytes.len())));
        }
        Self {
            chunks,
            delay,
            sleep: None,
            exact_len: None,
            started: false,
        }
    }
}

impl fmt::Debug for MockBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockBody")
            .field("chunks_left", &self.chunks.len())
            .field(
                "bytes_left",
                &self.chunks.iter().map(Bytes::len).sum::<usize>(),
            )
            .field("delay", &self.delay)
            .finish()
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.chunks.is_empty() {
            return Poll::Ready(None);
        }
        if this.started && !this.delay.is_zero() {
            let sleep = this
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(this.delay)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.sleep = None;
        }
        this.started = true;
        Poll::Ready(this.chunks.pop_front().map(|chunk| Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        match self.exact_len {
            Some(len) => SizeHint::with_exact(len),
            None => SizeHint::default(),
        }
    }
}

/// One request ready to go: the headers in wire order and case, the body.
#[derive(Clone, Debug)]
pub(crate) struct WireRequest {
    /// Origin-form target: path and query.
    pub(crate) target: String,
    /// Names as they go on the wire (their case matters only over HTTP/1.1).
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Bytes,
    /// `Some((chunk size, pause))` for a slow body.
    pub(crate) slow: Option<(usize, Duration)>,
}

impl WireRequest {
    /// The request of `headers` and `body` to `uri`, ready for the wire: the
    /// framing header appended, names in title case (or lower case), the
    /// target taken from `uri`. Shared by every vendor the mock plays.
    pub(crate) fn new(
        uri: &Uri,
        mut headers: Vec<(String, String)>,
        body: Bytes,
        slow: Option<(usize, Duration)>,
        lowercase: bool,
    ) -> Self {
        headers.push(framing_header(body.len(), slow.is_some()));
        for (name, _) in &mut headers {
            if lowercase {
                name.make_ascii_lowercase();
            } else {
                *name = title_case(&name.to_ascii_lowercase());
            }
        }
        let target = uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned());
        Self {
            target,
            headers,
            body,
            slow,
        }
    }

    /// The `http` request: names lowercased (as `http` stores them), values as
    /// given, in the order given (repeated names grouped at their first place,
    /// as `http::HeaderMap` keeps them).
    pub(crate) fn to_http(&self) -> Result<Request<MockBody>, TransportFailure> {
        let mut headers = HeaderMap::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                invalid_request(format!("header name {name:?} is not an HTTP token"))
            })?;
            let value = HeaderValue::from_bytes(value.as_bytes()).map_err(|_| {
                invalid_request(format!(
                    "the value of {name} holds a byte HTTP does not allow (CR, LF, NUL or another control character)"
                ))
            })?;
            headers.append(name, value);
        }
        let body = match self.slow {
            Some((chunk_size, delay)) => MockBody::slow(self.body.clone(), chunk_size, delay),
            None => MockBody::full(self.body.clone()),
        };
        let mut request = Request::new(body);
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self
            .target
            .parse()
            .map_err(|_| invalid_request(format!("{:?} is not a request target", self.target)))?;
        *request.headers_mut() = headers;
        Ok(request)
    }
}

/// The header lines HTTP/1.1 writes for `headers`: in the map's order, names
/// in title case (or lower case).
pub(crate) fn written_headers(headers: &HeaderMap, lowercase: bool) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let name = if lowercase {
                name.as_str().to_owned()
            } else {
                title_case(name.as_str())
            };
            (name, String::from_utf8_lossy(value.as_bytes()).into_owned())
        })
        .collect()
}

/// The framing headers of a body: `Content-Length`, or `Transfer-Encoding:
/// chunked` for a slow one.
pub(crate) fn framing_header(body_len: usize, slow: bool) -> (String, String) {
    if slow {
        (title_case(TRANSFER_ENCODING.as_str()), "chunked".to_owned())
    } else {
        (title_case(CONTENT_LENGTH.as_str()), body_len.to_string())
    }
}

/// `content-type` -> `Content-Type`, as hyper writes names with title case on.
pub(crate) fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for ch in name.chars() {
        out.push(if upper { ch.to_ascii_uppercase() } else { ch });
        upper = ch == '-';
    }
    out
}

/// How deliveries reach the receiver.
pub(crate) enum Transport {
    /// A TCP connection per attempt, HTTP/1.1, names in title case.
    Http,
    /// Calls into a service in this process.
    Service(Box<dyn ErasedService>),
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http => f.write_str("Http"),
            Self::Service(service) => f.debug_tuple("Service").field(&service.name()).finish(),
        }
    }
}

impl Transport {
    /// The URI a delivery to `url` goes to: over HTTP an absolute `http://`
    /// URL, in process any absolute URL or a path. Refused (nothing sent)
    /// otherwise.
    pub(crate) fn resolve(&self, url: &str) -> Result<Uri, TransportFailure> {
        let rule = match self {
            Self::Http => CallbackRule::AbsoluteHttp,
            Self::Service(_) => CallbackRule::AnyOrPath,
        };
        rule.parse(url)
            .map_err(|reason| invalid_request(format!("{url}: {reason}")))
    }

    /// Sends `wire` to `uri` (`url` as the journal names it) within
    /// `timeout`: the request as written, the answer or why there was none,
    /// and the latency. A request `http` cannot build is a failure with
    /// nothing sent.
    pub(crate) async fn exchange(
        &self,
        uri: &Uri,
        url: &str,
        wire: &WireRequest,
        signed_string: Bytes,
        lowercase: bool,
        timeout: Duration,
    ) -> (
        SentRequest,
        Result<ReceivedResponse, TransportFailure>,
        Duration,
    ) {
        let sent = |headers| SentRequest {
            url: url.to_owned(),
            target: wire.target.clone(),
            headers,
            body: wire.body.clone(),
            signed_string,
        };
        let request = match wire.to_http() {
            Ok(request) => request,
            Err(failure) => return (sent(wire.headers.clone()), Err(failure), Duration::ZERO),
        };
        let headers = written_headers(request.headers(), lowercase);
        let (result, latency) = self.send(uri, request, lowercase, timeout).await;
        (sent(headers), result, latency)
    }

    /// Sends `request` to `callback` and reads the answer, within `timeout`.
    /// `lowercase` writes header names in lower case instead of title case.
    pub(crate) async fn send(
        &self,
        callback: &Uri,
        request: Request<MockBody>,
        lowercase: bool,
        timeout: Duration,
    ) -> (Result<ReceivedResponse, TransportFailure>, Duration) {
        let started = Instant::now();
        let exchange = async {
            match self {
                Self::Http => send_http(callback, request, lowercase).await,
                Self::Service(service) => service.call(request).await,
            }
        };
        let result = match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(TransportFailure::new(
                TransportFailureKind::Timeout,
                format!("no complete answer within {} ms", timeout.as_millis()),
            )),
        };
        (result, started.elapsed())
    }
}

/// One POST of `body` with `headers` (in title case on the wire, `Host` and
/// framing added) to `url` over HTTP/1.1, no retry, within `timeout`: the answer or
/// why there was none, and the latency. For deliveries no vendor emulation
/// here makes (e.g. an unsigned request to a URL carrying a token).
pub async fn post_once(
    url: &str,
    headers: Vec<(String, String)>,
    body: Bytes,
    timeout: Duration,
) -> (Result<ReceivedResponse, TransportFailure>, Duration) {
    let uri: Uri = match url.parse() {
        Ok(uri) => uri,
        Err(e) => {
            return (
                Err(invalid_request(format!("{url:?} is not a URL: {e}"))),
                Duration::ZERO,
            );
        }
    };
    let mut headers = headers;
    if let Some(authority) = uri.authority() {
        // HTTP/1.1 requires it (RFC 9112 §3.2); actix-web answers 400 without it.
        headers.insert(0, ("Host".to_owned(), authority.as_str().to_owned()));
    }
    let wire = WireRequest::new(&uri, headers, body, None, false);
    let request = match wire.to_http() {
        Ok(request) => request,
        Err(failure) => return (Err(failure), Duration::ZERO),
    };
    Transport::Http.send(&uri, request, false, timeout).await
}

async fn send_http(
    callback: &Uri,
    request: Request<MockBody>,
    lowercase: bool,
) -> Result<ReceivedResponse, TransportFailure> {
    let host = callback
        .host()
        .ok_or_else(|| invalid_request("the callback has no host".to_owned()))?;
    // `[::1]` in a URI is `::1` to the resolver.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = callback.port_u16().unwrap_or(80);
    let stream = TcpStream::connect((host, port)).await.map_err(|e| {
        TransportFailure::new(
            TransportFailureKind::Connect,
            format!("cannot connect to {host}:{port}: {e}"),
        )
    })?;
    // Small requests go out at once rather than waiting for Nagle.
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        .title_case_headers(!lowercase)
        .handshake::<_, MockBody>(TokioIo::new(stream))
        .await
        .map_err(io_failure)?;
    let driver = AbortOnDrop(tokio::spawn(async move {
        // Its error, if any, is the one `send_request` reports.
        let _ = connection.await;
    }));
    let response = sender.send_request(request).await.map_err(io_failure)?;
    let response = read_response(response).await;
    drop(driver);
    response
}

/// Aborts the connection task when the exchange is over or abandoned.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn io_failure(error: hyper::Error) -> TransportFailure {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    TransportFailure::new(TransportFailureKind::Io, message)
}

pub(crate) fn invalid_request(message: String) -> TransportFailure {
    TransportFailure::new(TransportFailureKind::InvalidRequest, message)
}

/// Reads status, headers and up to [`RESPONSE_BODY_CAP`] bytes of body.
async fn read_response<B>(response: Response<B>) -> Result<ReceivedResponse, TransportFailure>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let (parts, body) = response.into_parts();
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                title_case(name.as_str()),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = pin!(body);
    let mut bytes = BytesMut::new();
    let mut truncated = false;
    while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|e| {
            let e: BoxError = e.into();
            TransportFailure::new(
                TransportFailureKind::Io,
                format!("the response body broke off: {e}"),
            )
        })?;
        if let Ok(mut data) = frame.into_data() {
            let room = RESPONSE_BODY_CAP - bytes.len();
            let take = data.remaining().min(room);
            bytes.extend_from_slice(&data.copy_to_bytes(take));
            if data.has_remaining() {
                truncated = true;
                break;
            }
        }
    }
    Ok(ReceivedResponse::new(
        parts.status.as_u16(),
        headers,
        bytes.freeze(),
        truncated,
    ))
}

/// A `tower::Service` behind a trait object, cloned for each request.
pub(crate) trait ErasedService: Send + Sync {
    fn call(
        &self,
        request: Request<MockBody>,
    ) -> BoxFuture<'static, Result<ReceivedResponse, TransportFailure>>;

    fn name(&self) -> &'static str;
}

/// Wraps `service` for [`Transport::Service`].
pub(crate) fn erase<S, B>(service: S) -> Box<dyn ErasedService>
where
    S: Service<Request<MockBody>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    Box::new(ServiceTarget {
        service: Mutex::new(service),
    })
}

struct ServiceTarget<S> {
    // Only ever locked to clone it: each request gets its own clone.
    service: Mutex<S>,
}

impl<S, B> ErasedService for ServiceTarget<S>
where
    S: Service<Request<MockBody>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    fn call(
        &self,
        request: Request<MockBody>,
    ) -> BoxFuture<'static, Result<ReceivedResponse, TransportFailure>> {
        let mut service = self
            .service
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        Box::pin(async move {
            let failed = |stage: &str, e: S::Error| {
                let e: BoxError = e.into();
                TransportFailure::new(
                    TransportFailureKind::Io,
                    format!("the service failed {stage}: {e}"),
                )
            };
            poll_fn(|cx| service.poll_ready(cx))
                .await
                .map_err(|e| failed("to become ready", e))?;
            let response = service
                .call(request)
                .await
                .map_err(|e| failed("to answer", e))?;
            read_response(response).await
        })
    }

    fn name(&self) -> &'static str {
        std::any::type_name::<S>()
    }
}

/// How callbacks must look for the sender's transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallbackRule {
    /// Over HTTP: an absolute `http://` URL.
    AbsoluteHttp,
    /// In process: an absolute URL of any scheme, or a path.
    AnyOrPath,
}

impl CallbackRule {
    /// Parses `callback` for this rule.
    pub(crate) fn parse(self, callback: &str) -> Result<Uri, &'static str> {
        let uri: Uri = callback.parse().map_err(|_| "not a URL")?;
        match (self, uri.scheme_str(), uri.authority()) {
            (Self::AbsoluteHttp, Some("http"), Some(_)) => Ok(uri),
            (Self::AbsoluteHttp, Some(_), Some(_)) => {
                Err("the mock delivers over plain HTTP only (http://...)")
            }
            (Self::AbsoluteHttp, _, _) => {
                Err("over HTTP the callback must be an absolute http:// URL")
            }
            (Self::AnyOrPath, Some(_), Some(_)) => Ok(uri),
            (Self::AnyOrPath, None, None) if callback.starts_with('/') => Ok(uri),
            (Self::AnyOrPath, _, _) => Err("expected an absolute URL or a path starting with /"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_case_matches_the_vendor_names() {
        assert_eq!(title_case("x-webhook-store-id"), "X-Webhook-Store-Id");
        assert_eq!(title_case("content-length"), "Content-Length");
        assert_eq!(title_case("host"), "Host");
    }

    #[tokio::test(start_paused = true)]
    async fn slow_body_pauses_between_chunks_in_tokio_time() {
        use http_body_util::BodyExt;
        let started = Instant::now();
        let body = MockBody::slow(Bytes::from_static(b"abcdefghij"), 4, Duration::from_secs(2));
        assert_eq!(body.size_hint().exact(), None);
        let collected = body.collect().await.map(|c| c.to_bytes()).ok();
        assert_eq!(collected.as_deref(), Some(&b"abcdefghij"[..]));
        // Three chunks: two pauses.
        assert_eq!(started.elapsed(), Duration::from_secs(4));
    }

    #[test]
    fn full_body_announces_its_length() {
        assert_eq!(MockBody::full("abc").size_hint().exact(), Some(3));
        assert!(MockBody::full(Bytes::new()).is_end_stream());
    }
}
