//! The node's HTTP API, as JSON on the wire. The OpenAPI description of the same contract is
//! served at `GET /v1/openapi.json`.

use serde::{Deserialize, Serialize};
use zkinfer_verifier::ProofBundle;

/// `POST /v1/jobs`: prove `model_id` on `input` (one array of floats per model input,
/// row-major, as in an input file's `input_data`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    pub model_id: String,
    pub input: Vec<Vec<f64>>,
}

/// The reply to a submission (202, or 200 for a repeated idempotency key).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Submitted {
    pub id: String,
    pub state: JobState,
}

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl JobState {
    /// The name stored in the database and shown in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// The state named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        [JobState::Queued, JobState::Running, JobState::Done, JobState::Failed, JobState::Cancelled]
            .into_iter()
            .find(|state| state.as_str() == s)
    }

    /// Whether the job will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Done | JobState::Failed | JobState::Cancelled)
    }
}

/// What a market prices a job by.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct JobReport {
    /// From acceptance to the start of the proof that finished it, in ms.
    pub queue_ms: f64,
    /// The proof alone (witness, proof, self-check), in ms.
    pub prove_ms: f64,
    /// Plain float inference of the same input on the node, in ms.
    pub inference_ms: f64,
    /// `prove_ms / inference_ms`.
    pub overhead: f64,
    pub proof_bytes: usize,
}

/// `GET /v1/jobs/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobView {
    pub id: String,
    pub model_id: String,
    pub state: JobState,
    /// How many times a worker started the job (more than 1 after a crash or a lost lease).
    pub attempts: u32,
    /// The proof bundle with the output, when done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<ProofBundle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<JobReport>,
    /// Why the job failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every error reply: a machine-readable code and a sentence naming the problem.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}
