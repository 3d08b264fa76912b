//! The HTTP API (see `openapi.json`, served at `/v1/openapi.json`). Requests never wait on a
//! proof: a submission is checked and queued, and the buyer polls the job or follows its
//! events.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::stream::{self, Stream};
use zkinfer_client::api::{JobState, SubmitRequest, Submitted};

use crate::auth::{authenticate, Caller};
use crate::error::ApiError;
use crate::store::NewJob;
use crate::NodeState;

type Shared = State<Arc<NodeState>>;

/// The API's routes.
pub fn router(state: Arc<NodeState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/models", get(models))
        .route("/v1/models/{id}/vk", get(verifier_key))
        .route("/v1/jobs", axum::routing::post(submit))
        .route("/v1/jobs/{id}", get(job).delete(cancel))
        .route("/v1/jobs/{id}/events", get(events))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .with_state(state)
}

async fn healthz(State(s): Shared) -> Response {
    Json(serde_json::json!({ "status": "ok", "models": s.models.0.len() })).into_response()
}

async fn metrics(State(s): Shared) -> Result<Response, ApiError> {
    let counts = s.store.counts().await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render(&counts)).into_response())
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], include_str!("../openapi.json")).into_response()
}

async fn models(State(s): Shared) -> Response {
    let cards: Vec<_> = s.models.0.values().map(|m| &m.card).collect();
    Json(cards).into_response()
}

async fn verifier_key(State(s): Shared, Path(id): Path<String>) -> Result<Response, ApiError> {
    let served = s.models.get(&id).ok_or_else(|| unknown_model(&id))?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], served.vk.clone()).into_response())
}

fn unknown_model(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "unknown_model", format!("this node serves no model `{id}` (see /v1/models)"))
}

/// Reads the whole body within the node's size and time limits.
async fn read_body(s: &NodeState, body: Body) -> Result<axum::body::Bytes, ApiError> {
    match tokio::time::timeout(s.config.body_timeout, axum::body::to_bytes(body, s.config.max_body)).await {
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!("the request body did not arrive within {:?}", s.config.body_timeout),
        )),
        Ok(Err(e)) if is_length_limit(&e) => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is over {} bytes", s.config.max_body),
        )),
        Ok(Err(e)) => Err(ApiError::bad_request("bad_body", format!("reading the request body: {e}"))),
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

async fn submit(State(s): Shared, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let caller = authenticate(&headers, &s.store, s.config.open).await?;
    let bytes = read_body(&s, body).await?;
    let request: SubmitRequest = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request("bad_json", format!("the body is not a job request: {e}")))?;
    let served = s.models.get(&request.model_id).ok_or_else(|| unknown_model(&request.model_id))?;
    served.check_input(&request.input)?;
    let idempotency_key = match headers.get("idempotency-key") {
        Some(v) => Some(v.to_str().ok().filter(|k| !k.is_empty() && k.len() <= 200).ok_or_else(|| {
            ApiError::bad_request("bad_idempotency_key", "Idempotency-Key must be 1 to 200 visible characters")
        })?),
        None => None,
    };
    if let Caller::Token(token) = &caller {
        if s.store.active_for(&token.id).await? >= i64::from(token.concurrent) {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_jobs",
                format!("token `{}` may have {} jobs queued or running at once", token.name, token.concurrent),
            );
            e.retry_after = Some(1);
            return Err(e);
        }
        s.limiter.admit(token)?;
    }
    let id = crate::random_id(16);
    let job =
        NewJob { id: &id, model_id: &request.model_id, token_id: caller.id(), idempotency_key, input: &request.input };
    let (id, state, created) = s.store.insert(job).await?;
    if created {
        s.submitted.notify_one();
        tracing::info!(job = %id, model = %request.model_id, "accepted");
    }
    let status = if created { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok((status, [(header::LOCATION, format!("/v1/jobs/{id}"))], Json(Submitted { id, state })).into_response())
}

/// The job `id` if `caller` may see it (its own, or any on an open node).
async fn owned(s: &NodeState, caller: &Caller, id: &str) -> Result<zkinfer_client::api::JobView, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "unknown_job", format!("no job `{id}`"));
    let (view, owner) = s.store.job(id).await?.ok_or_else(not_found)?;
    if !s.config.open && owner != caller.id() {
        return Err(not_found());
    }
    Ok(view)
}

async fn job(State(s): Shared, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    let caller = authenticate(&headers, &s.store, s.config.open).await?;
    Ok(Json(owned(&s, &caller, &id).await?).into_response())
}

async fn cancel(State(s): Shared, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    let caller = authenticate(&headers, &s.store, s.config.open).await?;
    owned(&s, &caller, &id).await?;
    let state = s.store.cancel(&id).await?.unwrap_or(JobState::Cancelled);
    Ok(Json(Submitted { id, state }).into_response())
}

async fn events(
    State(s): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let caller = authenticate(&headers, &s.store, s.config.open).await?;
    owned(&s, &caller, &id).await?;
    // One event per change of state (or of attempt), the last one final; the job is read from
    // the database, so events follow it whichever node proves it.
    let stream = stream::unfold((s, id, None, false), |(s, id, last, ended)| async move {
        if ended {
            return None;
        }
        loop {
            let view = match s.store.job(&id).await {
                Ok(Some((view, _))) => view,
                _ => return None,
            };
            let now = Some((view.state, view.attempts));
            if now != last {
                let event = Event::default().event(view.state.as_str()).json_data(&view).unwrap_or_default();
                let ended = view.state.is_final();
                return Some((Ok(event), (s, id, now, ended)));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
