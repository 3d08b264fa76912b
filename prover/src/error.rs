//! Why a prover step failed.

use zkinfer_circuits::model::CircuitError;
use zkinfer_verifier::Rejection;

/// Everything that can stop setup or proving, each naming its cause.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// The model or trace cannot be laid out (unsupported op, saturated value).
    #[error(transparent)]
    Circuit(#[from] CircuitError),
    #[error("key generation failed: {0:?}")]
    Keygen(halo2_proofs::plonk::Error),
    #[error("proving failed: {0:?}")]
    Prove(halo2_proofs::plonk::Error),
    /// The SRS file is unusable (format, size, too small for the circuit).
    #[error("SRS: {0}")]
    Srs(String),
    /// The proving-key file is unusable (format, version, corruption, other model).
    #[error("proving key: {0}")]
    KeyFile(String),
    /// The verifier rejected the key just generated (a bug, reported rather than hidden).
    #[error("verifier key: {0}")]
    VerifierKey(#[from] Rejection),
    /// zkinfer's prover loop could not prove (unsatisfied constraints, unsupported circuit).
    #[error("proving failed: {0}")]
    Engine(String),
    /// Values were clamped into range: proving them would attest another computation.
    #[error("{}; refusing to prove a clamped computation (allow it with --allow-saturation, which marks the bundle)", .0.iter().map(|s| s.to_string()).collect::<Vec<_>>().join("; "))]
    Saturated(Vec<zkinfer_quant_models::infer::Saturation>),
    /// The proof just made does not verify under the key's own verifier: nothing is handed out.
    #[error("the proof just made does not verify ({0}); the compiled folder is damaged or inconsistent")]
    SelfCheck(Rejection),
    /// `--device cuda` was asked for and no CUDA device could be used.
    #[error("{0}")]
    Device(String),
}
