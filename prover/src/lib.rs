//! Keys, proofs and the (insecure, test-only) SRS for model circuits: KZG over BN254 with
//! SHPLONK multi-opening, Blake2b transcript. Proofs verify with halo2-axiom's stock verifier.
//!
//! Still to come here: key files with a version header, the witness straight from the trace
//! (`create_proof_from_advice`), the MSM trait with CPU and GPU backends.

mod proof;
mod srs;

pub use proof::{keygen, prove, verify, Keys, ProofError};
pub use srs::insecure_test_srs;
