//! Structured reference strings.

use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand_core::SeedableRng;

/// An SRS whose toxic waste comes from a public seed: anyone can forge proofs against it. For
/// tests and benchmarks only; production loads a published universal setup.
pub fn insecure_test_srs(k: u32, seed: u64) -> ParamsKZG<Bn256> {
    ParamsKZG::setup(k, rand_chacha::ChaCha20Rng::seed_from_u64(seed))
}
