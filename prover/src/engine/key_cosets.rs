//! A proving key's polynomials on the extended coset, and their stored form.
//!
//! Every proof reads the fixed columns (the weights), the permutation's σ polynomials and the
//! Lagrange selectors on the extended coset; halo2's prover recomputes them on every proof. Here
//! they are computed once per key, and `compile` can store them beside the key: a one-shot
//! `prove` of a small model otherwise spends a tenth of its time on these FFTs.
//!
//! File layout: magic `ZKKC`, a little-endian `u16` format version, the model id of the key they
//! belong to, little-endian `u32`s for the extended domain's `log2` size and the fixed and σ
//! column counts, the SHA-256 of every column, then every column's values in raw (Montgomery)
//! form: fixed columns, σs, then `l0`, `l_last`, `l_active`.

use halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_proofs::halo2curves::serde::SerdeObject;
use halo2_proofs::plonk::ProvingKey;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::domain::Domains;

const MAGIC: &[u8; 4] = b"ZKKC";
const VERSION: u16 = 1;
/// Magic, version, model id, three `u32`s.
const HEADER_BYTES: usize = 4 + 2 + 32 + 3 * 4;
const VALUE_BYTES: usize = 32;
/// `l0`, `l_last` and `l_active` follow the fixed and σ columns.
const SELECTORS: usize = 3;

/// A proving key's polynomials on the extended coset: what every proof of the key reads.
pub struct KeyCosets {
    pub(super) domains: Domains,
    pub(super) fixed: Vec<Vec<Fr>>,
    pub(super) sigmas: Vec<Vec<Fr>>,
    pub(super) l0: Vec<Fr>,
    pub(super) l_last: Vec<Fr>,
    pub(super) l_active: Vec<Fr>,
    /// The coset's points `ζ·ω_N^i`.
    pub(super) points: Vec<Fr>,
}

/// Why stored cosets cannot be used (the prover then computes them).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CosetsError {
    #[error("key cosets: {0}")]
    Malformed(&'static str),
    #[error("key cosets belong to another proving key")]
    OtherKey,
    #[error("key cosets: column {0} is corrupt (checksum mismatch)")]
    Corrupt(usize),
}

impl KeyCosets {
    /// Stored cosets larger than this are not written: a model that large proves for seconds,
    /// where the FFTs they save matter little, and its folder would grow by twice the key.
    pub const MAX_STORED_BYTES: usize = 64 << 20;

    /// Computes the cosets of `pk`'s fixed columns, permutation and Lagrange selectors.
    pub fn new(pk: &ProvingKey<G1Affine>) -> Self {
        let domains = Domains::new(pk.get_vk().get_domain());
        let fixed = domains.all_to_extended(pk.fixed_polys());
        let sigmas = domains.all_to_extended(pk.permutation().polys());
        let mut selectors =
            domains.all_to_extended(&[&pk.l0()[..], &pk.l_last()[..], &pk.l_active_row()[..]]).into_iter();
        let mut next = || selectors.next().unwrap_or_default();
        let (l0, l_last, l_active) = (next(), next(), next());
        Self::assemble(pk, domains, fixed, sigmas, [l0, l_last, l_active])
    }

    fn assemble(
        pk: &ProvingKey<G1Affine>,
        domains: Domains,
        fixed: Vec<Vec<Fr>>,
        sigmas: Vec<Vec<Fr>>,
        [l0, l_last, l_active]: [Vec<Fr>; SELECTORS],
    ) -> Self {
        let domain = pk.get_vk().get_domain();
        let points = std::iter::successors(Some(domain.g_coset), |p| Some(*p * domain.extended_omega))
            .take(domains.extended)
            .collect();
        KeyCosets { domains, fixed, sigmas, l0, l_last, l_active, points }
    }

    /// Bytes of `pk`'s stored cosets, known without computing them.
    pub fn stored_size(pk: &ProvingKey<G1Affine>) -> usize {
        let columns = pk.fixed_polys().len() + pk.permutation().polys().len() + SELECTORS;
        let extended = 1usize << pk.get_vk().get_domain().extended_k();
        HEADER_BYTES + columns * (32 + extended * VALUE_BYTES)
    }

    fn columns(&self) -> impl Iterator<Item = &Vec<Fr>> + '_ {
        self.fixed.iter().chain(&self.sigmas).chain([&self.l0, &self.l_last, &self.l_active])
    }

    /// The stored form, bound to the key whose model id is `key_id`. Written in place, column
    /// by column, so that `compile` holds no third copy of the values.
    pub fn to_bytes(&self, key_id: &[u8; 32]) -> Vec<u8> {
        let columns: Vec<&Vec<Fr>> = self.columns().collect();
        let column_bytes = self.domains.extended * VALUE_BYTES;
        let bodies_at = HEADER_BYTES + 32 * columns.len();
        let total = bodies_at + columns.len() * column_bytes;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(key_id);
        for n in [self.domains.extended.trailing_zeros() as usize, self.fixed.len(), self.sigmas.len()] {
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        out.resize(total, 0);
        let (head, bodies) = out.split_at_mut(bodies_at);
        bodies.par_chunks_mut(column_bytes).zip(head[HEADER_BYTES..].par_chunks_mut(32)).zip(columns).for_each(
            |((body, digest), column)| {
                for (slot, value) in body.chunks_exact_mut(VALUE_BYTES).zip(column) {
                    slot.copy_from_slice(&value.to_raw_bytes());
                }
                digest.copy_from_slice(&Sha256::digest(&*body));
            },
        );
        out
    }

    /// Reads cosets written by [`KeyCosets::to_bytes`] for `pk`, whose model id is `key_id`.
    /// Every column's checksum is checked: a damaged value would only give a proof that fails,
    /// far from its cause.
    pub fn from_bytes(bytes: &[u8], pk: &ProvingKey<G1Affine>, key_id: &[u8; 32]) -> Result<Self, CosetsError> {
        let bad = CosetsError::Malformed;
        let header = bytes.get(..HEADER_BYTES).ok_or(bad("truncated header"))?;
        let (magic, rest) = header.split_at(4);
        if magic != MAGIC {
            return Err(bad("not a key cosets file (bad magic)"));
        }
        let (version, rest) = rest.split_at(2);
        if version != VERSION.to_le_bytes() {
            return Err(bad("another format version"));
        }
        let (id, counts) = rest.split_at(32);
        if id != key_id {
            return Err(CosetsError::OtherKey);
        }
        let counts: Vec<usize> =
            counts.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize).collect();
        let domain = pk.get_vk().get_domain();
        let (fixed, sigmas) = (pk.fixed_polys().len(), pk.permutation().polys().len());
        if counts != [domain.extended_k() as usize, fixed, sigmas] {
            return Err(CosetsError::OtherKey);
        }
        if bytes.len() != Self::stored_size(pk) {
            return Err(bad("wrong length (truncated?)"));
        }
        let columns = fixed + sigmas + SELECTORS;
        let (digests, bodies) = bytes[HEADER_BYTES..].split_at(columns * 32);
        let column_bytes = bodies.len() / columns;
        let mut values = bodies
            .par_chunks_exact(column_bytes)
            .zip(digests.par_chunks_exact(32))
            .enumerate()
            .map(|(i, (body, digest))| {
                if Sha256::digest(body)[..] != digest[..] {
                    return Err(CosetsError::Corrupt(i));
                }
                body.chunks_exact(VALUE_BYTES).map(|v| Fr::from_raw_bytes(v).ok_or(CosetsError::Corrupt(i))).collect()
            })
            .collect::<Result<Vec<Vec<Fr>>, _>>()?;
        let selectors: Vec<Vec<Fr>> = values.split_off(fixed + sigmas);
        let sigma_values = values.split_off(fixed);
        let selectors: [Vec<Fr>; SELECTORS] = selectors.try_into().map_err(|_| bad("selector columns"))?;
        Ok(Self::assemble(pk, Domains::new(domain), values, sigma_values, selectors))
    }
}
