//! Structured reference strings: the insecure seeded one for tests, and published universal
//! setups in halo2's KZG params format.

use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine, G2Affine};
use halo2_proofs::halo2curves::serde::SerdeObject;
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use rand_core::SeedableRng;
use rayon::prelude::*;

use crate::error::ProofError;

/// Seed of the one insecure test SRS zkinfer makes. Public on purpose: such a setup protects
/// nothing. Its secret is the same at every `k`, so every test SRS has the SRS id
/// [`zkinfer_verifier::INSECURE_TEST_SRS_ID`], which the verifier refuses by default.
pub const INSECURE_SRS_SEED: u64 = 0x007a_6b69_6e66_6572;

/// An SRS whose toxic waste comes from a public seed: anyone can forge proofs against it. For
/// tests, benchmarks and demos only; production loads a published universal setup with
/// [`read_srs`]. The verifier recognises it by its SRS id.
pub fn insecure_test_srs(k: u32) -> ParamsKZG<Bn256> {
    ParamsKZG::setup(k, rand_chacha::ChaCha20Rng::seed_from_u64(INSECURE_SRS_SEED))
}

/// Writes `params` in halo2's params format (`k`, `g`, `g_lagrange`, `g2`, `s·g2`, raw points).
pub fn write_srs(params: &ParamsKZG<Bn256>) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    params.write_custom(&mut out, SerdeFormat::RawBytes).unwrap_or_default();
    out
}

/// Reads a setup in halo2's params format, checking its size and every point, and downsizes it
/// to `2^k` points when it is larger (a universal setup serves every smaller circuit).
pub fn read_srs(bytes: &[u8], k: u32) -> Result<ParamsKZG<Bn256>, ProofError> {
    let header = bytes.first_chunk::<4>().ok_or_else(|| ProofError::Srs("file shorter than its header".into()))?;
    let file_k = u32::from_le_bytes(*header);
    if file_k > 28 {
        return Err(ProofError::Srs(format!("declares k = {file_k}; not a halo2 KZG params file?")));
    }
    // k, then 2·2^k G1 points (64 bytes raw) and two G2 points (128 bytes raw).
    let expected = 4 + 2 * (1usize << file_k) * 64 + 2 * 128;
    if bytes.len() != expected {
        return Err(ProofError::Srs(format!(
            "{} bytes, but a k = {file_k} params file has {expected} (truncated or another format)",
            bytes.len()
        )));
    }
    if file_k < k {
        return Err(ProofError::Srs(format!("has 2^{file_k} points, the circuit needs 2^{k}")));
    }
    // halo2's raw reader does not check points: check each one lies on its curve first.
    let (g1, g2) = bytes[4..].split_at(2 * (1usize << file_k) * 64);
    let g1_ok = g1.par_chunks_exact(64).all(|p| G1Affine::from_raw_bytes(p).is_some());
    if !g1_ok || !g2.chunks_exact(128).all(|p| G2Affine::from_raw_bytes(p).is_some()) {
        return Err(ProofError::Srs("invalid point: not on the curve".into()));
    }
    let mut params = ParamsKZG::<Bn256>::read_custom(&mut &bytes[..], SerdeFormat::RawBytesUnchecked)
        .map_err(|e| ProofError::Srs(format!("invalid point: {e}")))?;
    if file_k > k {
        params.downsize(k);
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkinfer_verifier::{Setup, VerifierSrs, INSECURE_TEST_SRS_ID};

    #[test]
    fn every_test_srs_has_the_id_the_verifier_refuses() {
        for k in [4, 7] {
            let srs = VerifierSrs::from_params(&insecure_test_srs(k));
            assert_eq!(srs.id_hex(), INSECURE_TEST_SRS_ID, "k = {k}");
            assert_eq!(srs.setup(), Setup::InsecureTest);
        }
        let other = VerifierSrs::from_params(&ParamsKZG::setup(4, rand_chacha::ChaCha20Rng::seed_from_u64(1)));
        assert!(matches!(other.setup(), Setup::Unknown { .. }));
    }

    #[test]
    fn written_srs_reads_back_and_downsizes_to_the_same_setup() {
        let seeded = |k, seed| ParamsKZG::<Bn256>::setup(k, rand_chacha::ChaCha20Rng::seed_from_u64(seed));
        let params = seeded(5, 3);
        let bytes = write_srs(&params);
        let same = read_srs(&bytes, 5).unwrap();
        assert_eq!(VerifierSrs::from_params(&same), VerifierSrs::from_params(&params));
        let small = read_srs(&bytes, 4).unwrap();
        assert_eq!(small.k(), 4);
        // Same toxic secret, so the same SRS id.
        assert_eq!(VerifierSrs::from_params(&small).id(), VerifierSrs::from_params(&params).id());
        assert_ne!(VerifierSrs::from_params(&seeded(5, 4)).id(), VerifierSrs::from_params(&params).id());
    }

    #[test]
    fn bad_files_are_reported() {
        let bytes = write_srs(&insecure_test_srs(4));
        for (bad, what) in [
            (bytes[..100].to_vec(), "truncated or another format"),
            (vec![1, 2], "shorter than its header"),
            (vec![99, 0, 0, 0], "declares k = 99"),
        ] {
            let err = read_srs(&bad, 4).unwrap_err().to_string();
            assert!(err.contains(what), "{err}");
        }
        assert!(read_srs(&bytes, 5).unwrap_err().to_string().contains("needs 2^5"));
        let mut flipped = bytes.clone();
        flipped[4 + 10] ^= 0x40;
        assert!(read_srs(&flipped, 4).unwrap_err().to_string().contains("invalid point"));
    }
}
