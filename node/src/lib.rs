//! The provider node: an HTTP service (tokio + axum) that accepts inference jobs for the models
//! it serves, keeps them in SQLite or PostgreSQL so that none is lost, proves them with a
//! bounded number of workers, and returns every result with its proof bundle.
//!
//! - `store`: jobs and tokens in the database, claimed under leases;
//! - `worker`: the proving loop;
//! - `http`: the API;
//! - `auth`: tokens and per-token limits;
//! - `models`: the loaded models and input checks;
//! - `metrics`: Prometheus metrics.

mod auth;
mod error;
mod http;
mod metrics;
mod models;
mod store;
mod worker;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

pub use auth::{hash_secret, new_token};
pub use error::{ApiError, NodeError};
pub use models::{Models, Served};
pub use store::{Store, TokenRecord};

/// How a node runs.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// `sqlite://FILE` or `postgres://…`.
    pub db: String,
    /// Proving workers on this node (each proof already uses every core).
    pub workers: usize,
    /// How long a claimed job stays a worker's without a renewal (renewed every third of it).
    pub lease: Duration,
    /// How often an idle worker looks for jobs submitted to other nodes.
    pub poll: Duration,
    /// Accept requests without a token (a local node).
    pub open: bool,
    /// Largest request body, in bytes (larger: 413).
    pub max_body: usize,
    /// Time allowed for a request body to arrive (slower: 408).
    pub body_timeout: Duration,
    /// How long a stop waits for running proofs before putting them back in the queue.
    pub grace: Duration,
}

impl NodeConfig {
    /// Defaults for a database at `db`.
    pub fn new(db: &str) -> Self {
        NodeConfig {
            db: db.to_string(),
            workers: 1,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(500),
            open: false,
            max_body: 4 << 20,
            body_timeout: Duration::from_secs(10),
            grace: worker::DEFAULT_GRACE,
        }
    }
}

/// What every request handler and worker shares.
pub struct NodeState {
    pub store: Store,
    pub models: Models,
    pub config: NodeConfig,
    metrics: metrics::Metrics,
    limiter: auth::RateLimiter,
    /// Wakes an idle worker when this node accepts a job.
    submitted: Notify,
}

/// Serves `models` on `listener` until `shutdown` completes, then stops gracefully: no new
/// requests, running proofs finished within `config.grace`, the rest put back in the queue.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: NodeConfig,
    models: Models,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    let store = Store::open(&config.db).await?;
    let metrics = metrics::Metrics::new().map_err(|e| NodeError::Internal(format!("metrics: {e}")))?;
    let state = Arc::new(NodeState {
        store: store.clone(),
        models,
        config: config.clone(),
        metrics,
        limiter: auth::RateLimiter::default(),
        submitted: Notify::new(),
    });
    let (stop, stopped) = watch::channel(false);
    let node = random_id(8);
    let names: Vec<String> = (0..config.workers.max(1)).map(|i| format!("{node}-{i}")).collect();
    let workers: Vec<_> =
        names.iter().map(|name| tokio::spawn(worker::run(state.clone(), name.clone(), stopped.clone()))).collect();
    let address = listener.local_addr().ok();
    tracing::info!(?address, workers = names.len(), "serving");
    let app = http::router(state.clone()).layer(tower_http::trace::TraceLayer::new_for_http());
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| NodeError::Internal(format!("serving: {e}")))?;
    tracing::info!("stopping: finishing running proofs");
    let _ = stop.send(true);
    state.submitted.notify_waiters();
    let all = futures_util::future::join_all(workers);
    if tokio::time::timeout(config.grace, all).await.is_err() {
        for name in &names {
            let n = store.requeue(name).await?;
            if n > 0 {
                tracing::info!(worker = %name, jobs = n, "put back in the queue");
            }
        }
    }
    Ok(())
}

/// A random hex id of `bytes` bytes (jobs, nodes).
pub(crate) fn random_id(bytes: usize) -> String {
    use rand_core::{OsRng, RngCore};
    let mut id = vec![0u8; bytes];
    OsRng.fill_bytes(&mut id);
    hex::encode(id)
}
