use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::layer::{OnRejection, RejectFn};
use super::{ResponseBody, VerifiedBody, default_rejection};
use crate::error::log_refusal;
use crate::{BoxFuture, Error, VerifiedWebhook};

pub(crate) type Verifying = BoxFuture<'static, (Parts, Result<VerifiedWebhook, Error>)>;

pin_project! {
    /// Response future of [`VerifyWebhook`](super::VerifyWebhook).
    pub struct ResponseFuture<S>
    where
        S: Service<Request<VerifiedBody>>,
    {
        #[pin]
        state: State<S>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S>
    where
        S: Service<Request<VerifiedBody>>,
    {
        // Refused: the response is ready.
        Rejected {
            response: Option<Response<Bytes>>,
        },
        // Resolving keys and streaming the body through the MAC.
        Verifying {
            verification: Verifying,
            service: Option<S>,
            on_rejection: OnRejection,
        },
        // Verified: the inner service is answering.
        Calling {
            #[pin]
            future: S::Future,
        },
    }
}

impl<S> ResponseFuture<S>
where
    S: Service<Request<VerifiedBody>>,
{
    pub(crate) fn rejected(error: &Error, on_rejection: Option<&RejectFn>) -> Self {
        Self {
            state: State::Rejected {
                response: Some(reject(error, on_rejection)),
            },
        }
    }

    pub(crate) fn verifying(
        verification: Verifying,
        service: S,
        on_rejection: OnRejection,
    ) -> Self {
        Self {
            state: State::Verifying {
                verification,
                service: Some(service),
                on_rejection,
            },
        }
    }
}

fn reject(error: &Error, on_rejection: Option<&RejectFn>) -> Response<Bytes> {
    log_refusal(error);
    match on_rejection {
        Some(f) => f(error),
        None => default_rejection(error),
    }
}

impl<S, ResBody> Future for ResponseFuture<S>
where
    S: Service<Request<VerifiedBody>, Response = Response<ResBody>>,
{
    type Output = Result<Response<ResponseBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Rejected { response } => {
                    let response = response.take().unwrap_or_else(polled_after_completion);
                    return Poll::Ready(Ok(response.map(ResponseBody::rejection)));
                }
                StateProj::Verifying {
                    verification,
                    service,
                    on_rejection,
                } => {
                    let (parts, result) = ready!(verification.as_mut().poll(cx));
                    let event = match result {
                        Ok(event) => event,
                        Err(error) => {
                            let response = reject(&error, on_rejection.as_deref());
                            state.set(State::Rejected {
                                response: Some(response),
                            });
                            continue;
                        }
                    };
                    let Some(mut service) = service.take() else {
                        // Unreachable: the state changes as soon as the verification ends.
                        state.set(State::Rejected { response: None });
                        continue;
                    };
                    let body = VerifiedBody::new(event.body().clone());
                    let mut request = Request::from_parts(parts, body);
                    request.extensions_mut().insert(event);
                    let future = service.call(request);
                    state.set(State::Calling { future });
                }
                StateProj::Calling { future } => {
                    let response = ready!(future.poll(cx))?;
                    return Poll::Ready(Ok(response.map(ResponseBody::new)));
                }
            }
        }
    }
}

/// What a future polled again after it completed answers, rather than panic.
fn polled_after_completion() -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

impl<S> fmt::Debug for ResponseFuture<S>
where
    S: Service<Request<VerifiedBody>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Rejected { .. } => "Rejected",
            State::Verifying { .. } => "Verifying",
            State::Calling { .. } => "Calling",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
