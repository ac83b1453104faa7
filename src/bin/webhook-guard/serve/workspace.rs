//! The workspace vendor's routes (being built).

use axum::Router;

use super::Context;
use crate::CliError;

/// No routes yet.
pub(super) fn router(_context: &Context) -> Result<Router, CliError> {
    Ok(Router::new())
}
