//! Proving workers: each claims a job from the database, proves it on a blocking thread (the
//! proof itself spreads over every core), renews its lease while it runs, and stores the
//! result only if it still holds the job.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use zkinfer_client::api::JobReport;
use zkinfer_pipeline::{prove_input, Silent};
use zkinfer_prover::ProveOptions;
use zkinfer_quant_models::float_infer::run_float;

use crate::store::{now_ms, Claimed};
use crate::{NodeError, NodeState};

/// Runs worker `name` until `stop` turns true (between jobs: a job in hand is finished).
pub async fn run(state: Arc<NodeState>, name: String, mut stop: watch::Receiver<bool>) {
    let lease = state.config.lease;
    let models: Vec<String> = state.models.0.keys().cloned().collect();
    let mut next = 0usize;
    while !*stop.borrow() {
        let mut claimed = None;
        for i in 0..models.len() {
            let model = &models[(next + i) % models.len()];
            match state.store.claim(&name, now_ms() + lease.as_millis() as i64, model).await {
                Ok(Some(job)) => {
                    next = (next + i + 1) % models.len();
                    claimed = Some(job);
                    break;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(worker = %name, error = %e, "claiming a job failed");
                    break;
                }
            }
        }
        match claimed {
            Some(job) => work(&state, &name, job).await,
            None => {
                // Idle: wait for a submission on this node, another node's (polled), or the stop.
                tokio::select! {
                    _ = state.submitted.notified() => {}
                    _ = tokio::time::sleep(state.config.poll) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

async fn work(state: &Arc<NodeState>, worker: &str, job: Claimed) {
    let queue_s = (now_ms() - job.created_ms).max(0) as f64 / 1e3;
    tracing::info!(job = %job.id, worker, model = %job.model_id, "proving");
    let Some(served) = state.models.get(&job.model_id).cloned() else {
        let _ = state.store.finish(&job.id, worker, Err(format!("model {} is not served here", job.model_id))).await;
        return;
    };
    // Keep the lease while the proof runs.
    let renewer = {
        let (store, id, worker, lease) = (state.store.clone(), job.id.clone(), worker.to_string(), state.config.lease);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                match store.renew(&id, &worker, now_ms() + lease.as_millis() as i64).await {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => tracing::warn!(job = %id, error = %e, "renewing the lease failed"),
                }
            }
        })
    };
    let input = job.input.clone();
    let proof = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let plain = run_float(&served.loaded.compiled.float, &input);
        let inference = start.elapsed();
        let start = Instant::now();
        let proven = prove_input(&served.loaded, &input, ProveOptions::default(), &Silent);
        (plain.map(|_| inference), proven, start.elapsed())
    })
    .await;
    renewer.abort();
    let (result, prove_s) = match proof {
        Ok((plain, Ok((bundle, _)), took)) => {
            let inference_ms = plain.map_or(0.0, |d| d.as_secs_f64() * 1e3);
            let prove_ms = took.as_secs_f64() * 1e3;
            let report = JobReport {
                queue_ms: queue_s * 1e3,
                prove_ms,
                inference_ms,
                overhead: if inference_ms > 0.0 { prove_ms / inference_ms } else { 0.0 },
                proof_bytes: bundle.proof.len(),
            };
            (Ok((bundle.to_json(), report)), took.as_secs_f64())
        }
        Ok((_, Err(e), took)) => (Err(e.to_string()), took.as_secs_f64()),
        Err(e) => (Err(format!("the proving thread failed: {e}")), 0.0),
    };
    let outcome = if result.is_ok() { "done" } else { "failed" };
    match state.store.finish(&job.id, worker, result).await {
        Ok(true) => {
            state.metrics.finished(outcome, queue_s, prove_s);
            tracing::info!(job = %job.id, outcome, prove_s, "finished");
        }
        Ok(false) => tracing::info!(job = %job.id, "result dropped: the job was cancelled or taken over"),
        Err(e) => log_lost(&job.id, &e),
    }
}

fn log_lost(id: &str, e: &NodeError) {
    tracing::error!(job = %id, error = %e, "storing the result failed; the job will be proven again after its lease");
}

/// How long a graceful stop waits for running proofs before putting them back in the queue.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);
