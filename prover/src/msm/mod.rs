//! Multi-scalar multiplication behind a trait: every commitment of keygen and proving goes
//! through one [`MsmBackend`] (see [`crate::scheme`]), so faster backends (small-scalar CPU,
//! CUDA) plug in without touching the proof system, and their proofs stay byte-identical.

mod gpu;
mod select;
mod small;
mod window_table;

pub use gpu::GpuMsm;
pub use select::{Device, SelectedMsm};
use small::small_scalar_msm;
pub use small::SmallScalarMsm;
pub use window_table::{MsmTables, TableError, WindowTable};

use std::sync::Arc;

use halo2_proofs::arithmetic::best_multiexp;
use halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G1};
use halo2_proofs::halo2curves::ff::PrimeField;

/// Which SRS basis an MSM runs over; a device backend keeps each resident once per key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Basis {
    /// Lagrange basis: commitments of columns given by their values (advice, fixed, lookups).
    Lagrange,
    /// Monomial basis: commitments of polynomials in coefficient form (quotient pieces).
    Monomial,
}

/// Computes `Σ scalars[i] · bases[i]`; implementations must agree with the stock MSM exactly.
pub trait MsmBackend: Clone + Send + Sync + std::fmt::Debug {
    /// A short name for reports (`cpu`, `cuda`, …).
    fn name(&self) -> &'static str;

    /// The MSM of equally long `scalars` and `bases` (a prefix of `basis`'s points).
    fn msm(&self, scalars: &[Fr], bases: &[G1Affine], basis: Basis) -> G1;

    /// The same backend, using precomputed window tables of the SRS where it has a use for
    /// them (the CPU's full-width MSMs); others ignore them.
    fn with_tables(self, _tables: Arc<MsmTables>) -> Self
    where
        Self: Sized,
    {
        self
    }
}

/// halo2's own multi-threaded Pippenger: the reference every other backend is checked against.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuMsm;

impl MsmBackend for CpuMsm {
    fn name(&self) -> &'static str {
        "cpu-stock"
    }

    fn msm(&self, scalars: &[Fr], bases: &[G1Affine], _: Basis) -> G1 {
        best_multiexp(scalars, bases)
    }
}

/// Little-endian limbs of a canonical 32-byte representation.
fn repr_limbs(repr: &[u8]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (o, chunk) in out.iter_mut().zip(repr.chunks_exact(8)) {
        *o = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
    }
    out
}

/// A scalar as the smaller of `s` and `-s` in canonical limbs, with the sign (1: negated):
/// quantized values, negative ones included, become magnitudes of a few bits.
pub fn signed_magnitude(s: &Fr) -> ([u64; 4], u32) {
    let pos = repr_limbs(s.to_repr().as_ref());
    if pos[1..] == [0; 3] {
        return (pos, 0);
    }
    let neg = repr_limbs((-*s).to_repr().as_ref());
    if neg.iter().rev().cmp(pos.iter().rev()).is_lt() {
        (neg, 1)
    } else {
        (pos, 0)
    }
}
