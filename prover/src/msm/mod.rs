//! Multi-scalar multiplication behind a trait: every commitment of keygen and proving goes
//! through one [`MsmBackend`] (see [`crate::scheme`]), so faster backends (small-scalar CPU,
//! CUDA) plug in without touching the proof system, and their proofs stay byte-identical.

mod gpu;
mod small;

pub use gpu::GpuMsm;
use small::small_scalar_msm;
pub use small::SmallScalarMsm;

use halo2_proofs::arithmetic::best_multiexp;
use halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G1};

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
