//! Buyers' bearer tokens (stored as SHA-256 hashes) and their limits: submissions per minute
//! (counted on this node) and jobs queued or running at once (counted in the database).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{HeaderMap, StatusCode};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::store::{now_ms, Store, TokenRecord};

/// The SHA-256 of a token's secret, as stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new token: its record and its secret (shown once, never stored).
pub fn new_token(name: &str, per_minute: u32, concurrent: u32) -> (TokenRecord, String) {
    let secret = format!("zki_{}", crate::random_id(24));
    let record = TokenRecord {
        id: crate::random_id(6),
        name: name.to_string(),
        created_ms: now_ms(),
        revoked_ms: None,
        per_minute,
        concurrent,
    };
    (record, secret)
}

/// Who is asking: a token's record, or nobody on an open node.
pub enum Caller {
    Open,
    Token(TokenRecord),
}

impl Caller {
    /// The id jobs are filed under (empty on an open node).
    pub fn id(&self) -> &str {
        match self {
            Caller::Open => "",
            Caller::Token(t) => &t.id,
        }
    }
}

/// Resolves the `Authorization: Bearer …` header; `open` nodes accept anyone.
pub async fn authenticate(headers: &HeaderMap, store: &Store, open: bool) -> Result<Caller, ApiError> {
    if open {
        return Ok(Caller::Open);
    }
    let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m);
    let value =
        headers.get(axum::http::header::AUTHORIZATION).ok_or_else(|| unauthorized("a bearer token is required"))?;
    let secret = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("the Authorization header is not `Bearer TOKEN`"))?;
    match store.token_by_hash(&hash_secret(secret.trim())).await? {
        Some(record) => Ok(Caller::Token(record)),
        None => Err(unauthorized("unknown or revoked token")),
    }
}

/// Submissions per token in the current minute, on this node.
#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateLimiter {
    /// Counts one submission of `token`; refuses it (429, with the seconds until the next
    /// minute) when the token already used `per_minute`.
    pub fn admit(&self, token: &TokenRecord) -> Result<(), ApiError> {
        let now = now_ms();
        let minute = now / 60_000;
        let mut windows =
            self.windows.lock().map_err(|_| ApiError::from(crate::NodeError::Internal("rate limiter".into())))?;
        let entry = windows.entry(token.id.clone()).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        if entry.1 >= token.per_minute {
            let wait = ((minute + 1) * 60_000 - now).max(1000) / 1000;
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("token `{}` may submit {} jobs per minute", token.name, token.per_minute),
            );
            e.retry_after = Some(wait as u64);
            return Err(e);
        }
        entry.1 += 1;
        Ok(())
    }
}
