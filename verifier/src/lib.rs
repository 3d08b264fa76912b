//! The buyer's side: proof bundle + verifying key + expected model id → the proven output, or a
//! precise reason to reject.
//!
//! Light on purpose: it depends on the circuit's `configure` side (to read a verifying key) and
//! halo2's verifier, never on the prover, ONNX import, a GPU or an async runtime. It owns the
//! formats a buyer receives: the verifier key file (spec + SRS points the check needs + halo2
//! verifying key), the model id, and the proof bundle.

mod bundle;
mod ceremony;
mod error;
mod key;
mod model_id;
mod srs;
mod verify;

pub use bundle::{ClampedTensor, ProofBundle, TensorValues, BUNDLE_VERSION};
pub use ceremony::{ceremony_by_file_hash, ceremony_by_srs_id, Ceremony, CEREMONIES};
pub use error::Rejection;
pub use key::{CircuitSpec, IoTensor, VerifierKey};
pub use model_id::ModelId;
pub use srs::{kzg_params, Setup, VerifierSrs, INSECURE_TEST_SRS_ID};
pub use verify::{check_input, verify, verify_with, Policy, VerifiedOutput};
