//! The three SRS points a KZG/SHPLONK verifier uses, and the setup's identity.

use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine, G2Affine};
use halo2_proofs::halo2curves::serde::SerdeObject;
use halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ceremony::{ceremony_by_srs_id, Ceremony};
use crate::error::Rejection;

/// `g`, `g2` and `s·g2` of a KZG setup: all the buyer needs of it (320 bytes instead of the
/// prover's `2^k` points), shipped inside the verifier key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifierSrs {
    /// Uncompressed, checked encodings: `g` (64 bytes), `g2` and `s·g2` (128 bytes each).
    points: Vec<u8>,
}

/// The SRS id of zkinfer's insecure test setup (`zkinfer srs --insecure-test`, and `compile`
/// without `--srs`). Its secret derives from a public seed, so anyone can forge proofs under it;
/// the verifier recognises it from the id alone, whatever the prover's files claim.
pub const INSECURE_TEST_SRS_ID: &str = "587cd2f17f4cf3b86f3b254727d8d6b543b5e8c722b7f14fa1754dc0dff79c80";

/// What a buyer is told about the setup behind a verifier key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Setup {
    /// zkinfer's public-seed test setup: proofs under it prove nothing.
    InsecureTest,
    /// A published ceremony zkinfer knows ([`crate::CEREMONIES`]).
    Ceremony(&'static Ceremony),
    /// Any other setup: the buyer must know where the SRS with this id came from.
    Unknown { id: String },
}

impl std::fmt::Display for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Setup::InsecureTest => f.write_str("INSECURE test setup (public secret: anyone can forge proofs)"),
            Setup::Ceremony(c) => f.write_str(c.name),
            Setup::Unknown { id } => write!(f, "unknown setup {id}"),
        }
    }
}

const G1_BYTES: usize = 64;
const G2_BYTES: usize = 128;

impl VerifierSrs {
    /// The verifier's part of a prover's parameters.
    pub fn from_params(params: &ParamsKZG<Bn256>) -> Self {
        Self::from_points(&params.get_g()[0], &params.g2(), &params.s_g2())
    }

    /// From `g`, `g2` and `s·g2` themselves: a ceremony's `[τ]₂` names its setup before any
    /// params exist.
    pub fn from_points(g: &G1Affine, g2: &G2Affine, s_g2: &G2Affine) -> Self {
        let mut points = g.to_raw_bytes();
        points.extend(g2.to_raw_bytes());
        points.extend(s_g2.to_raw_bytes());
        VerifierSrs { points }
    }

    /// `SHA-256("zkinfer/srs/v1" ‖ g ‖ g2 ‖ s·g2)`: `s·g2` pins the toxic secret, so two setups
    /// with the same id are the same setup as far as soundness goes.
    pub fn id(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"zkinfer/srs/v1");
        h.update(&self.points);
        h.finalize().into()
    }

    /// [`VerifierSrs::id`] in hex, as model cards and tools print it.
    pub fn id_hex(&self) -> String {
        hex::encode(self.id())
    }

    /// Which setup this is, judged from its id alone.
    pub fn setup(&self) -> Setup {
        match self.id_hex() {
            id if id == INSECURE_TEST_SRS_ID => Setup::InsecureTest,
            id => match ceremony_by_srs_id(&id) {
                Some(c) => Setup::Ceremony(c),
                None => Setup::Unknown { id },
            },
        }
    }

    /// Verifier parameters for circuits of size `2^k`, with every point checked to lie on its curve.
    pub fn params(&self, k: u32) -> Result<ParamsKZG<Bn256>, Rejection> {
        let bad = |what: &str| Rejection::malformed("verifier key", format!("SRS point {what} is not on its curve"));
        if self.points.len() != G1_BYTES + 2 * G2_BYTES {
            return Err(Rejection::malformed("verifier key", format!("SRS has {} bytes", self.points.len())));
        }
        let (g, rest) = self.points.split_at(G1_BYTES);
        let (g2, s_g2) = rest.split_at(G2_BYTES);
        let g = G1Affine::from_raw_bytes(g).ok_or_else(|| bad("g"))?;
        let g2 = G2Affine::from_raw_bytes(g2).ok_or_else(|| bad("g2"))?;
        let s_g2 = G2Affine::from_raw_bytes(s_g2).ok_or_else(|| bad("s·g2"))?;
        // The SHPLONK verifier reads `g[0]`, `g2`, `s·g2` and `n`; no Lagrange points (instances
        // are evaluated, not committed).
        kzg_params(k, vec![g], Some(Vec::new()), g2, s_g2)
            .map_err(|e| Rejection::malformed("verifier key", format!("SRS: {e}")))
    }
}

/// KZG parameters of size `2^k` from their parts; the Lagrange points are computed from `g` when
/// not given. halo2-axiom builds parameters only from existing ones, so this starts from a
/// one-point set (`k = 0`) holding `g[0]` and widens it.
pub fn kzg_params(
    k: u32,
    g: Vec<G1Affine>,
    g_lagrange: Option<Vec<G1Affine>>,
    g2: G2Affine,
    s_g2: G2Affine,
) -> std::io::Result<ParamsKZG<Bn256>> {
    let first = g.first().ok_or_else(|| std::io::Error::other("no G1 points"))?.to_raw_bytes();
    let mut seed = 0u32.to_le_bytes().to_vec();
    for bytes in [first.clone(), first, g2.to_raw_bytes(), s_g2.to_raw_bytes()] {
        seed.extend(bytes);
    }
    let base = ParamsKZG::<Bn256>::read_custom(&mut &seed[..], SerdeFormat::RawBytes)?;
    let params = base.from_parts(k, g, g_lagrange, g2, s_g2);
    debug_assert_eq!(params.k(), k);
    Ok(params)
}
