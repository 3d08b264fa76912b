//! The async HTTP client of a node.

use std::time::Duration;

use zkinfer_verifier::{ModelId, VerifierKey};

use crate::api::{ErrorBody, JobView, SubmitRequest, Submitted};

/// Why a call to the node failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node could not be reached, or its reply could not be read.
    #[error("talking to the node: {0}")]
    Transport(#[from] reqwest::Error),
    /// The node answered with an error status.
    #[error("the node refused ({status}): {message}")]
    Refused { status: u16, code: String, message: String },
    /// The node's verifier key is not the key of the pinned model.
    #[error("the node's verifier key is for model {got}, not the pinned {pinned}")]
    WrongKey { pinned: ModelId, got: ModelId },
    /// A verifier key that does not parse.
    #[error("the node's verifier key is unreadable: {0}")]
    BadKey(zkinfer_verifier::Rejection),
    /// The job did not finish in time.
    #[error("job {0} did not finish within the time allowed")]
    TimedOut(String),
}

/// A node at `base` (`http://host:port`), with the buyer's bearer token if the node wants one.
#[derive(Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// A client of the node at `base`.
    pub fn new(base: &str, token: Option<String>) -> Self {
        Client { base: base.trim_end_matches('/').to_string(), token, http: reqwest::Client::new() }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    async fn read<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T, ClientError> {
        if response.status().is_success() {
            return Ok(response.json().await?);
        }
        Err(Self::refused(response).await)
    }

    /// The node's error reply as a [`ClientError::Refused`].
    async fn refused(response: reqwest::Response) -> ClientError {
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        let (code, message) = match serde_json::from_str::<ErrorBody>(&body) {
            Ok(e) => (e.code, e.message),
            Err(_) => ("unknown".into(), body),
        };
        ClientError::Refused { status, code, message }
    }

    /// Submits `input` for `model_id`; a repeated `idempotency_key` returns the first job.
    pub async fn submit(
        &self,
        model_id: &str,
        input: &[Vec<f64>],
        idempotency_key: Option<&str>,
    ) -> Result<Submitted, ClientError> {
        let body = SubmitRequest { model_id: model_id.to_string(), input: input.to_vec() };
        let mut builder = self.request(reqwest::Method::POST, "/v1/jobs").json(&body);
        if let Some(key) = idempotency_key {
            builder = builder.header("Idempotency-Key", key);
        }
        Self::read(builder.send().await?).await
    }

    /// The job's current view.
    pub async fn job(&self, id: &str) -> Result<JobView, ClientError> {
        Self::read(self.request(reqwest::Method::GET, &format!("/v1/jobs/{id}")).send().await?).await
    }

    /// Polls the job every `every` until it is final or `limit` has passed; `progress` sees each
    /// view that differs from the one before.
    pub async fn wait(
        &self,
        id: &str,
        every: Duration,
        limit: Duration,
        mut progress: impl FnMut(&JobView),
    ) -> Result<JobView, ClientError> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut last = None;
        loop {
            let view = self.job(id).await?;
            if last != Some((view.state, view.attempts)) {
                progress(&view);
                last = Some((view.state, view.attempts));
            }
            if view.state.is_final() {
                return Ok(view);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClientError::TimedOut(id.to_string()));
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Fetches the verifier key of `pinned` from the node and checks that it is that model's
    /// key: the id is a hash of the key, so the node cannot substitute another.
    pub async fn verifier_key(&self, pinned: &ModelId) -> Result<VerifierKey, ClientError> {
        let response = self.request(reqwest::Method::GET, &format!("/v1/models/{pinned}/vk")).send().await?;
        if !response.status().is_success() {
            return Err(Self::refused(response).await);
        }
        let key = VerifierKey::from_bytes(&response.bytes().await?).map_err(ClientError::BadKey)?;
        let got = key.model_id();
        if got != *pinned {
            return Err(ClientError::WrongKey { pinned: *pinned, got });
        }
        Ok(key)
    }
}
