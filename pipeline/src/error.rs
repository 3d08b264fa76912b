//! Why a pipeline step failed, naming the file or the step.

use std::path::PathBuf;

use zkinfer_circuits::model::CircuitError;
use zkinfer_prover::ProofError;
use zkinfer_quant_models::ModelError;

/// A failure of compile, load or prove.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A file or folder operation failed; `action` says which ("reading", "mapping", …).
    #[error("{action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A compiled folder that cannot be used as it is (not one, damaged, mixed from two
    /// compiles), with what to do about it.
    #[error("{0}")]
    Folder(String),
    /// A JSON file of a compiled folder that does not parse.
    #[error("{} is damaged; compile the model again", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Circuit(#[from] CircuitError),
    #[error(transparent)]
    Proof(#[from] ProofError),
}

impl PipelineError {
    /// An I/O failure of `action` on `path`.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| PipelineError::Io { action, path, source }
    }
}
