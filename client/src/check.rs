//! The buyer's check of a bundle a node returned.

use zkinfer_verifier::{
    check_input, verify_with, ModelId, Policy, ProofBundle, Rejection, VerifiedOutput, VerifierKey,
};

/// Verifies `bundle` with `key` for the model id the buyer pinned, under `policy`, and checks
/// that it proves `sent` (the input the buyer submitted). Returns the verified output; any
/// mismatch is a [`Rejection`] naming it.
pub fn check(
    bundle: &ProofBundle,
    key: &VerifierKey,
    pinned: &ModelId,
    policy: Policy,
    sent: &[Vec<f64>],
) -> Result<VerifiedOutput, Rejection> {
    let verified = verify_with(bundle, key, pinned, policy)?;
    check_input(&verified, key, sent)?;
    Ok(verified)
}
