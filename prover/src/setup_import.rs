//! Importing a published universal setup: a snarkjs `.ptau` or a halo2 KZG params file, checked
//! with pairings and cut down to the circuit's size.

use halo2_proofs::arithmetic::best_multiexp;
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G2Affine, G2Prepared, Gt};
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::Curve;
use halo2_proofs::halo2curves::pairing::{MillerLoopResult, MultiMillerLoop};
use halo2_proofs::halo2curves::serde::SerdeObject;
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::poly::EvaluationDomain;
use rand_core::{OsRng, RngCore};
use zkinfer_verifier::{ceremony_by_file_hash, kzg_params, Ceremony, VerifierSrs};

use crate::error::ProofError;
use crate::ptau::{is_ptau, read_ptau};
use crate::srs::read_srs;

/// The file format a setup was imported from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupFormat {
    /// snarkjs powers of tau (`.ptau`).
    Ptau,
    /// halo2's KZG params (`k`, `g`, `g_lagrange`, `g2`, `s·g2`).
    Halo2Params,
}

impl SetupFormat {
    /// The name model cards record.
    pub fn name(self) -> &'static str {
        match self {
            SetupFormat::Ptau => "ptau",
            SetupFormat::Halo2Params => "halo2-params",
        }
    }
}

/// A setup read from a file, checked, and cut down to `2^k` points, with what is known of where it
/// came from.
#[derive(Debug)]
pub struct ImportedSetup {
    /// The prover's parameters at the requested `k`.
    pub params: ParamsKZG<Bn256>,
    /// The format of the file read.
    pub format: SetupFormat,
    /// BLAKE2b-512 of the whole file (hex), the hash ceremonies publish.
    pub blake2b: String,
    /// How many powers (`2^file_power`) the file held.
    pub file_power: u32,
    /// The published ceremony the file is, when its hash is a published one.
    pub ceremony: Option<&'static Ceremony>,
}

/// Reads a `.ptau` or halo2 params file, checks with pairings that its first `2^k` G1 points are
/// the powers of the `τ` in its `[τ]₂`, and returns parameters of size `2^k`. A file whose hash is
/// a published ceremony's must also carry that ceremony's `[τ]₂`.
pub fn import_setup(bytes: &[u8], k: u32) -> Result<ImportedSetup, ProofError> {
    if k == 0 {
        return Err(ProofError::Srs("k must be at least 1".into()));
    }
    let blake2b = blake2b_simd::blake2b(bytes).to_hex().to_string();
    let (params, format, file_power) = if is_ptau(bytes) {
        let powers = read_ptau(bytes, k)?;
        check_powers(&powers.g, &powers.g2, &powers.s_g2)?;
        (params_from_powers(k, powers.g, powers.g2, powers.s_g2)?, SetupFormat::Ptau, powers.power)
    } else {
        let file_power = bytes.first_chunk::<4>().map_or(0, |h| u32::from_le_bytes(*h));
        // Read at the file's own size (no downsizing: that would compute Lagrange points only to
        // throw them away), or fail naming the size the circuit needs.
        let read = read_srs(bytes, file_power.max(k))?;
        let g = read.get_g()[..1 << k].to_vec();
        check_powers(&g, &read.g2(), &read.s_g2())?;
        // The file's Lagrange points are not trusted: points with known logarithms would let the
        // key's owner open a fixed (weight) column to another polynomial. At the file's own size
        // they are checked (two MSMs); cut to a smaller size they are recomputed (an FFT over
        // points, minutes at k = 16).
        let params = if file_power == k {
            let n = 1usize << k;
            let lagrange: Vec<G1Affine> =
                bytes[4 + n * 64..4 + 2 * n * 64].chunks_exact(64).map(G1Affine::from_raw_bytes_unchecked).collect();
            if !lagrange_points_match(&g, &lagrange, k) {
                return Err(ProofError::Srs("its Lagrange points are not those of its powers".into()));
            }
            read
        } else {
            params_from_powers(k, g, read.g2(), read.s_g2())?
        };
        (params, SetupFormat::Halo2Params, file_power)
    };
    let ceremony = match ceremony_by_file_hash(&blake2b) {
        None => None,
        Some((c, power)) => {
            let id = VerifierSrs::from_params(&params).id_hex();
            if id != c.srs_id || power != file_power {
                return Err(ProofError::Srs(format!(
                    "the file has the published hash of {} (power {power}) but not its points (SRS id {id}, power {file_power}): the list of known ceremonies is wrong",
                    c.name
                )));
            }
            Some(c)
        }
    };
    Ok(ImportedSetup { params, format, blake2b, file_power, ceremony })
}

/// Checks that `g = ([1]₁, [τ]₁, …, [τ^(n-1)]₁)` for the `τ` of `s_g2 = [τ]₂`, and `g2 = [1]₂`.
///
/// One batched pairing equation instead of `n`: with random `ρ_i`,
/// `e(Σ ρ_i·g_i, [τ]₂) = e(Σ ρ_i·g_(i+1), [1]₂)`. A single wrong point makes the two sides differ
/// except with probability about `1/r` over the choice of `ρ`.
pub fn check_powers(g: &[G1Affine], g2: &G2Affine, s_g2: &G2Affine) -> Result<(), ProofError> {
    let bad = |reason: &str| ProofError::Srs(format!("not a powers-of-tau setup: {reason}"));
    if g.len() < 2 {
        return Err(bad("fewer than two powers"));
    }
    if g[0] != G1Affine::generator() || *g2 != G2Affine::generator() {
        return Err(bad("the first powers are not the standard generators"));
    }
    if bool::from(g[1].is_identity()) || bool::from(s_g2.is_identity()) {
        return Err(bad("τ = 0"));
    }
    let rho: Vec<Fr> = (0..g.len() - 1).map(|_| Fr::from_raw(random_limbs())).collect();
    let lhs = best_multiexp(&rho, &g[..g.len() - 1]).to_affine();
    let rhs = best_multiexp(&rho, &g[1..]).to_affine();
    // e(lhs, [τ]₂) · e(−rhs, [1]₂) = 1
    let result = Bn256::multi_miller_loop(&[(&lhs, &G2Prepared::from(*s_g2)), (&(-rhs), &G2Prepared::from(*g2))])
        .final_exponentiation();
    if result != Gt::identity() {
        return Err(bad("its G1 points are not successive powers of the τ in its [τ]₂ (pairing check failed)"));
    }
    Ok(())
}

/// Whether `lagrange` are the Lagrange points of the powers `g` over halo2's domain of size
/// `2^k`: with random `ρ`, `Σ ρ_i·L_i` must equal `Σ c_j·g_j` for `c` the coefficients of the
/// polynomial taking the values `ρ` on the domain. A wrong point fails except with probability
/// about `1/r`.
fn lagrange_points_match(g: &[G1Affine], lagrange: &[G1Affine], k: u32) -> bool {
    let domain = EvaluationDomain::<Fr>::new(1, k);
    let rho: Vec<Fr> = (0..g.len()).map(|_| Fr::from_raw(random_limbs())).collect();
    let coeffs = domain.lagrange_to_coeff(domain.lagrange_from_vec(rho.clone()));
    lagrange.len() == g.len() && best_multiexp(&rho, lagrange) == best_multiexp(&coeffs[..], g)
}

fn random_limbs() -> [u64; 4] {
    // Below 2^253 < r, so `from_raw` takes it as is.
    [OsRng.next_u64(), OsRng.next_u64(), OsRng.next_u64(), OsRng.next_u64() >> 3]
}

/// halo2 parameters of size `2^k` from checked powers; the Lagrange points are computed from them.
fn params_from_powers(
    k: u32,
    mut g: Vec<G1Affine>,
    g2: G2Affine,
    s_g2: G2Affine,
) -> Result<ParamsKZG<Bn256>, ProofError> {
    g.truncate(1 << k);
    kzg_params(k, g, None, g2, s_g2).map_err(|e| ProofError::Srs(format!("building params: {e}")))
}
