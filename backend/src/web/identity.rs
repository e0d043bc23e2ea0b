//! Who is asking, as the routes see it: the middleware that gives every browser its learner id,
//! and the extractors that tell the instructor from a learner.
//!
//! The rules (what a learner id looks like, how cookies are signed, what the instructor's token
//! is) are the classroom's, in [`crate::class::identity`]; this file only reads them off a
//! request. A request that shows a token is checked by the [`crate::web::limits::Guard`] first:
//! an address that has shown too many wrong ones is refused (`429`) before its token is even
//! compared, the right one included, so a guesser cannot tell a right guess from a slowed one.
//!
//! A request's address is the client's, as [`crate::web::client`] decided it (behind a trusted
//! proxy, the address the proxy forwarded), and so is whether its cookie must be `Secure`.

use std::net::IpAddr;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::class::identity::{Learner, Who, new_learner_id};
use crate::web::client::{Client, address_of};
use crate::web::error::AppError;
use crate::web::state::AppState;

/// The address a request came from: the client's ([`crate::web::client::client_address`]).
pub fn peer_of(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    address_of(extensions)
}

/// Extracts the address a request came from (none when served without a listener: tests that
/// drive the router directly).
pub struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Peer, Self::Rejection> {
        Ok(Peer(peer_of(&parts.extensions)))
    }
}

/// Middleware: every request leaves knowing its learner, the one its signed cookie names or a new
/// one, whose cookie the response then carries.
pub async fn identify(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let address = peer_of(req.extensions()).map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let https = req.extensions().get::<Client>().is_some_and(|c| c.https);
    let (id, issued) = match state.identity.learner_in(req.headers()) {
        Some(id) => (id, false),
        None => (new_learner_id(), true),
    };
    req.extensions_mut().insert(Learner { id: id.clone(), address });
    let response = next.run(req).await;
    if issued { (state.identity.issue(id, https), response).into_response() } else { response }
}

/// The bearer token a request shows, if it shows one (a header that is not `Bearer ...` is an
/// empty token: wrong).
pub fn bearer(parts: &Parts) -> Option<&str> {
    let auth = parts.headers.get(AUTHORIZATION)?;
    Some(auth.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map_or("", str::trim))
}

/// Who sent a request: the instructor (a right token), a learner (no token), a `401` for a wrong
/// token, or a `429` for an address that has shown too many wrong credentials lately.
fn who(parts: &Parts, state: &AppState) -> Result<Who, AppError> {
    if let Some(given) = bearer(parts) {
        let peer = peer_of(&parts.extensions);
        state.guard.check_credential(peer, state.identity.is_instructor_token(given))?;
        return Ok(Who::Instructor);
    }
    // The `identify` middleware runs before every route that asks who is calling.
    parts.extensions.get::<Learner>().cloned().map(Who::Learner).ok_or(AppError::NoIdentity)
}

/// Extracts who sent a request; a wrong instructor token is a 401.
impl FromRequestParts<AppState> for Who {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Who, AppError> {
        who(parts, state)
    }
}

/// Only the instructor gets past this extractor (403 otherwise).
pub struct Instructor;

impl FromRequestParts<AppState> for Instructor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Instructor, AppError> {
        match who(parts, state)? {
            Who::Instructor => Ok(Instructor),
            Who::Learner(_) if !state.identity.has_instructor() => Err(AppError::Forbidden(
                "this lab has no instructor: start it with --instructor-token (or POOLLAB_INSTRUCTOR_TOKEN)".into(),
            )),
            Who::Learner(_) => Err(AppError::Forbidden("only the instructor can do this".into())),
        }
    }
}
