//! Any path under `/api/` that no route serves: a JSON 404 naming the method and path, so a
//! script that misspells a route hears so instead of getting the page with a 200.

use axum::http::{Method, Uri};

use crate::web::error::AppError;

pub async fn api(method: Method, uri: Uri) -> AppError {
    AppError::NoRoute(format!("{method} {}", uri.path()))
}
