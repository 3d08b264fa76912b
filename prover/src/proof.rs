//! Key generation, proving and verification of a model circuit.

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{create_proof, keygen_pk, keygen_vk, verify_proof, Error, ProvingKey, VerifyingKey};
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::transcript::{Blake2bRead, Blake2bWrite, Challenge255, TranscriptReadBuffer, TranscriptWriterBuffer};
use rand_core::SeedableRng;
use zkinfer_circuits::model::ModelCircuit;

/// Why keygen, proving or verification failed.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("key generation failed: {0:?}")]
    Keygen(Error),
    #[error("proving failed: {0:?}")]
    Prove(Error),
    /// The proof does not verify against the key and public values.
    #[error("proof invalid: {0:?}")]
    Invalid(Error),
}

/// A model's proving key (which contains the verifying key).
pub struct Keys {
    pub pk: ProvingKey<G1Affine>,
}

impl Keys {
    /// The verifying key: commits to the circuit, its fixed columns and so the weights.
    pub fn vk(&self) -> &VerifyingKey<G1Affine> {
        self.pk.get_vk()
    }
}

/// Generates keys for the circuit's shape and constants (its witness is not used).
pub fn keygen(params: &ParamsKZG<Bn256>, circuit: &ModelCircuit) -> Result<Keys, ProofError> {
    let vk = keygen_vk(params, circuit).map_err(ProofError::Keygen)?;
    let pk = keygen_pk(params, vk, circuit).map_err(ProofError::Keygen)?;
    Ok(Keys { pk })
}

/// Proves `circuit` with its instance; `seed` drives the blinding (fixed seeds give
/// reproducible proofs for tests; a provider uses fresh entropy).
pub fn prove(params: &ParamsKZG<Bn256>, keys: &Keys, circuit: ModelCircuit, seed: u64) -> Result<Vec<u8>, ProofError> {
    let instance = circuit.instance();
    let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
    let rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
        params,
        &keys.pk,
        &[circuit],
        &[&[&instance]],
        rng,
        &mut transcript,
    )
    .map_err(ProofError::Prove)?;
    Ok(transcript.finalize())
}

/// Checks a proof with halo2-axiom's stock SHPLONK verifier.
pub fn verify(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    instance: &[Fr],
    proof: &[u8],
) -> Result<(), ProofError> {
    let verifier_params = params.verifier_params();
    let mut transcript = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(proof);
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, SingleStrategy<'_, Bn256>>(
        verifier_params,
        vk,
        SingleStrategy::new(params),
        &[&[instance]],
        &mut transcript,
    )
    .map(|_| ())
    .map_err(ProofError::Invalid)
}
