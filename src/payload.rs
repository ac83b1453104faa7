//! The JSON payload of a verified delivery, decoded alike by every adapter's
//! `Webhook<T>` extractor; each maps a [`PayloadError`] to its own rejection.

use serde::de::DeserializeOwned;
use serde_json::error::Category;

/// The response text for [`PayloadError::Syntax`].
pub(crate) const NOT_JSON: &str = "webhook payload is not valid JSON";
/// The response text for [`PayloadError::Data`].
pub(crate) const WRONG_SHAPE: &str = "webhook payload does not have the expected shape";

/// Why a verified body is not a payload of the wanted type.
pub(crate) enum PayloadError {
    /// Not JSON (bad syntax, cut short): 400.
    Syntax(serde_json::Error),
    /// JSON that does not fit the type: 422, as the frameworks' `Json` answers.
    Data(serde_json::Error),
}

/// `body` as JSON of type `T`, or `None` when it is empty: a lost-connection
/// notice has no payload, and that is not an error.
pub(crate) fn decode_payload<T: DeserializeOwned>(body: &[u8]) -> Result<Option<T>, PayloadError> {
    if body.is_empty() {
        return Ok(None);
    }
    serde_json::from_slice(body).map(Some).map_err(|error| {
        tracing::debug!(%error, "verified webhook payload does not deserialize");
        match error.classify() {
            Category::Data => PayloadError::Data(error),
            Category::Syntax | Category::Eof | Category::Io => PayloadError::Syntax(error),
        }
    })
}
