use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

/// A body of at most one data frame, already in memory.
#[derive(Debug, Default)]
struct Once(Option<Bytes>);

impl Once {
    fn new(bytes: Bytes) -> Self {
        Self((!bytes.is_empty()).then_some(bytes))
    }

    fn poll_frame(&mut self) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.take().map(|bytes| Ok(Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.as_ref().map_or(0, |bytes| bytes.len() as u64))
    }
}

/// The request body the inner service of [`VerifyWebhook`](super::VerifyWebhook)
/// receives: the verified bytes, exactly as the sender sent them, in one frame.
///
/// It shares its buffer with [`VerifiedWebhook::body`](crate::VerifiedWebhook::body)
/// in the request extensions; nothing is copied. Trailers, which the
/// signature does not cover, are not passed on.
#[derive(Debug, Default)]
pub struct VerifiedBody(Once);

impl VerifiedBody {
    pub(crate) fn new(bytes: Bytes) -> Self {
        Self(Once::new(bytes))
    }
}

impl Body for VerifiedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.get_mut().0.poll_frame()
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.0.size_hint()
    }
}

pin_project! {
    /// The response body of [`VerifyWebhook`](super::VerifyWebhook): the inner
    /// service's body, or the short text of a rejection.
    pub struct ResponseBody<B> {
        #[pin]
        inner: Inner<B>,
    }
}

pin_project! {
    #[project = InnerProj]
    enum Inner<B> {
        Rejection { body: Once },
        Body { #[pin] body: B },
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn new(body: B) -> Self {
        Self {
            inner: Inner::Body { body },
        }
    }

    pub(crate) fn rejection(bytes: Bytes) -> Self {
        Self {
            inner: Inner::Rejection {
                body: Once::new(bytes),
            },
        }
    }
}

impl<B: Default> Default for ResponseBody<B> {
    fn default() -> Self {
        Self::new(B::default())
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let variant = match &self.inner {
            Inner::Rejection { .. } => "Rejection",
            Inner::Body { .. } => "Body",
        };
        f.debug_tuple("ResponseBody").field(&variant).finish()
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().inner.project() {
            InnerProj::Rejection { body } => body.poll_frame().map_err(|never| match never {}),
            InnerProj::Body { body } => body.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Rejection { body } => body.is_end_stream(),
            Inner::Body { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Rejection { body } => body.size_hint(),
            Inner::Body { body } => body.size_hint(),
        }
    }
}
