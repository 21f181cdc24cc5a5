//! Errors as Flink's REST API reports them: a status code and `{"errors": ["..."]}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// A request the REST API could not serve.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// The request is malformed (a bad id, body or query parameter): 400.
    #[error("{0}")]
    BadRequest(String),
    /// The job, trigger or path does not exist: 404.
    #[error("{0}")]
    NotFound(String),
    /// The cluster could not do it (shut down, refused): 500.
    #[error("{0}")]
    Internal(String),
    /// The server could not start.
    #[error("cannot start the REST endpoint on {address}: {reason} (set rest.port, or rest.port: 0 for a free port)")]
    Bind {
        /// The address it tried.
        address: String,
        /// Why it failed.
        reason: String,
    },
}

impl RestError {
    fn status(&self) -> StatusCode {
        match self {
            RestError::BadRequest(_) => StatusCode::BAD_REQUEST,
            RestError::NotFound(_) => StatusCode::NOT_FOUND,
            RestError::Internal(_) | RestError::Bind { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "errors": [self.to_string()] });
        (self.status(), Json(body)).into_response()
    }
}

impl From<eddy_cluster::ClusterError> for RestError {
    fn from(error: eddy_cluster::ClusterError) -> Self {
        match error {
            eddy_cluster::ClusterError::JobNotFound(id) => {
                RestError::NotFound(format!("Job {id} not found"))
            }
            other => RestError::Internal(other.to_string()),
        }
    }
}
