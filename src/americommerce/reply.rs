//! Answering an event that expects a reply inside AmeriCommerce's 3 seconds.
//!
//! A handler that misses the deadline leaves the vendor waiting the full 3 s
//! before it falls back (or shows the shopper an error). Answering a failure
//! a little before that, on our own clock, lets the fallback start at once.

use std::future::Future;
use std::time::Duration;

use super::REPLY_DEADLINE;

/// The default budget: the vendor's 3 seconds less a margin for the network
/// and the vendor's own clock.
pub const DEFAULT_REPLY_BUDGET: Duration = Duration::from_millis(2_500);

/// Runs a reply under a time budget a little below [`REPLY_DEADLINE`]; made
/// once, shared by handlers. Use it for events whose
/// [`expects_reply`](super::EventType::expects_reply) is true.
///
/// When the reply is not ready in time, its future is dropped (work that must
/// finish anyway belongs in a spawned task) and the result answers
/// [`overrun_status`](Self::overrun_status) (503 by default): any non-2xx
/// answer is a failure to the vendor, so the subscription's failure type
/// (fallback, error or ignore) applies now instead of at the deadline. The
/// overrun is logged with `tracing` at warn level.
///
/// The budget runs on tokio's clock, so the handler must run on a tokio
/// runtime (axum and actix-web both do).
///
/// ```
/// # #[cfg(feature = "axum")]
/// # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// use std::time::Duration;
/// use axum::{Extension, Router, body::Body, http::{Request, StatusCode}, routing::post};
/// use tower::ServiceExt;
/// use webhook_guard::americommerce::{EventType, Reply, ReplyBudget};
///
/// async fn tax(Extension(budget): Extension<ReplyBudget>) -> Reply<String> {
///     budget.run(async {
///         // Asks a slow tax service.
///         tokio::time::sleep(Duration::from_secs(10)).await;
///         r#"{"tax":1.5}"#.to_owned()
///     }).await
/// }
///
/// assert!(EventType::GetTax.expects_reply());
/// let app = Router::new()
///     .route("/tax", post(tax))
///     .layer(Extension(ReplyBudget::new().budget(Duration::from_millis(50))));
/// let response = app.oneshot(Request::post("/tax").body(Body::empty())?).await?;
/// // Answered at 50 ms, so the vendor falls back at once.
/// assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
/// # Ok(()) }
/// # #[cfg(feature = "axum")]
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run()).unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyBudget {
    budget: Duration,
    status: u16,
}

impl Default for ReplyBudget {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplyBudget {
    /// A budget of [`DEFAULT_REPLY_BUDGET`], answering 503 on overrun.
    pub const fn new() -> Self {
        Self {
            budget: DEFAULT_REPLY_BUDGET,
            status: 503,
        }
    }

    /// How long the reply may take. More than [`REPLY_DEADLINE`] is cut to
    /// it: past that the vendor has stopped listening.
    #[must_use]
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = budget.min(REPLY_DEADLINE);
        self
    }

    /// The status answered on overrun (default 503). A value that is not an
    /// HTTP error status (400 to 599) is refused and 503 kept: a 2xx would
    /// count as a reply, and the point is that the vendor sees a failure.
    #[must_use]
    pub fn overrun_status(mut self, status: u16) -> Self {
        if (400..=599).contains(&status) {
            self.status = status;
        }
        self
    }

    /// The time budget.
    pub fn get(&self) -> Duration {
        self.budget
    }

    /// The status answered on overrun.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Runs `reply` until it is ready or the budget is spent.
    pub async fn run<F: Future>(&self, reply: F) -> Reply<F::Output> {
        match tokio::time::timeout(self.budget, reply).await {
            Ok(reply) => Reply::InTime(reply),
            Err(_) => {
                tracing::warn!(
                    budget_ms = u64::try_from(self.budget.as_millis()).unwrap_or(u64::MAX),
                    status = self.status,
                    "webhook reply overran its budget; answering a failure so the sender fails over now"
                );
                Reply::Overran {
                    budget: self.budget,
                    status: self.status,
                }
            }
        }
    }
}

/// What [`ReplyBudget::run`] gives back; a response in axum (`IntoResponse`)
/// and in actix-web (`Responder`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply<R> {
    /// The reply, ready in time; answered as it is.
    InTime(R),
    /// Not ready in time; answered with `status` and a short text body.
    Overran {
        /// The budget that was spent.
        budget: Duration,
        /// The status answered.
        status: u16,
    },
}

impl<R> Reply<R> {
    /// The reply, when it was ready in time.
    pub fn into_inner(self) -> Option<R> {
        match self {
            Self::InTime(reply) => Some(reply),
            Self::Overran { .. } => None,
        }
    }

    /// True when the budget was spent.
    pub fn is_overrun(&self) -> bool {
        matches!(self, Self::Overran { .. })
    }
}

const OVERRUN_BODY: &str = "reply not ready in time";

#[cfg(feature = "axum")]
impl<R: axum_core::response::IntoResponse> axum_core::response::IntoResponse for Reply<R> {
    fn into_response(self) -> axum_core::response::Response {
        match self {
            Self::InTime(reply) => reply.into_response(),
            Self::Overran { status, .. } => {
                let status = http::StatusCode::from_u16(status)
                    .unwrap_or(http::StatusCode::SERVICE_UNAVAILABLE);
                (status, OVERRUN_BODY).into_response()
            }
        }
    }
}

#[cfg(feature = "actix")]
impl<R: actix_web::Responder> actix_web::Responder for Reply<R> {
    type Body = actix_web::body::EitherBody<R::Body>;

    fn respond_to(self, req: &actix_web::HttpRequest) -> actix_web::HttpResponse<Self::Body> {
        match self {
            Self::InTime(reply) => reply.respond_to(req).map_into_left_body(),
            Self::Overran { status, .. } => {
                let status = actix_web::http::StatusCode::from_u16(status)
                    .unwrap_or(actix_web::http::StatusCode::SERVICE_UNAVAILABLE);
                actix_web::HttpResponse::build(status)
                    .content_type("text/plain; charset=utf-8")
                    .body(OVERRUN_BODY)
                    .map_into_right_body()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_slow_reply_is_cut_at_the_budget() {
        let budget = ReplyBudget::new();
        let started = tokio::time::Instant::now();
        let reply = budget
            .run(async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            })
            .await;
        assert_eq!(
            reply,
            Reply::Overran {
                budget: DEFAULT_REPLY_BUDGET,
                status: 503
            }
        );
        assert_eq!(started.elapsed(), DEFAULT_REPLY_BUDGET);
    }

    #[tokio::test(start_paused = true)]
    async fn a_quick_reply_passes_unchanged() {
        let reply = ReplyBudget::new()
            .run(async {
                tokio::time::sleep(Duration::from_millis(2_499)).await;
                "tax"
            })
            .await;
        assert_eq!(reply.into_inner(), Some("tax"));
    }

    #[cfg(feature = "actix")]
    #[actix_rt::test]
    async fn actix_handlers_answer_in_time_or_with_the_overrun_status() {
        use actix_web::{App, test, web};

        async fn tax(delay: Duration) -> Reply<&'static str> {
            ReplyBudget::new()
                .budget(Duration::from_millis(50))
                .run(async move {
                    tokio::time::sleep(delay).await;
                    "{\"tax\":1}"
                })
                .await
        }
        let app = test::init_service(
            App::new()
                .route("/quick", web::post().to(|| tax(Duration::ZERO)))
                .route("/slow", web::post().to(|| tax(Duration::from_secs(5)))),
        )
        .await;
        let call = |path: &'static str| {
            test::call_service(&app, test::TestRequest::post().uri(path).to_request())
        };
        let quick = call("/quick").await;
        assert_eq!(quick.status().as_u16(), 200);
        assert_eq!(&test::read_body(quick).await[..], b"{\"tax\":1}");
        let slow = call("/slow").await;
        assert_eq!(slow.status().as_u16(), 503);
        assert_eq!(&test::read_body(slow).await[..], OVERRUN_BODY.as_bytes());
    }

    #[test]
    fn the_budget_never_exceeds_the_deadline_and_the_status_stays_a_failure() {
        let budget = ReplyBudget::new()
            .budget(Duration::from_secs(60))
            .overrun_status(200);
        assert_eq!(budget.get(), REPLY_DEADLINE);
        assert_eq!(budget.status(), 503);
        assert_eq!(ReplyBudget::new().overrun_status(504).status(), 504);
    }
}
