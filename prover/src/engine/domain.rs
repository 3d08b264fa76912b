//! The row domain (`n = 2^k`) and the extended coset `ζ·⟨ω_N⟩` on which the quotient is built.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::poly::EvaluationDomain;
use rayon::prelude::*;

use super::fft::Fft;

/// FFT tables and coset powers of one circuit's domains, built once per proving key.
pub(crate) struct Domains {
    /// Rows.
    pub n: usize,
    /// Points of the extended coset.
    pub extended: usize,
    /// Extended points per row: a rotation by one row moves this many points.
    pub scale: usize,
    rows: Fft,
    coset: Fft,
    /// `ζ^i` for `i < n`: moves a polynomial onto the coset before the extended FFT.
    zeta_powers: Vec<Fr>,
    /// `ζ^{-i}` for `i < N`: moves the quotient back.
    zeta_inv_powers: Vec<Fr>,
}

impl Domains {
    pub(crate) fn new(domain: &EvaluationDomain<Fr>) -> Self {
        let n = 1usize << domain.k();
        let extended = 1usize << domain.extended_k();
        let powers = |g: Fr, len: usize| -> Vec<Fr> {
            std::iter::successors(Some(Fr::ONE), |p| Some(*p * g)).take(len).collect()
        };
        Domains {
            n,
            extended,
            scale: extended / n,
            rows: Fft::new(domain.k()),
            coset: Fft::new(domain.extended_k()),
            zeta_powers: powers(domain.g_coset, n),
            zeta_inv_powers: powers(domain.g_coset_inv, extended),
        }
    }

    /// Row values → coefficients.
    pub(crate) fn to_coeff(&self, mut values: Vec<Fr>) -> Vec<Fr> {
        self.rows.inverse(&mut values);
        values
    }

    /// Many columns' row values → coefficients, in parallel.
    pub(crate) fn all_to_coeff(&self, columns: Vec<Vec<Fr>>) -> Vec<Vec<Fr>> {
        columns.into_par_iter().map(|c| self.to_coeff(c)).collect()
    }

    /// Coefficients (`n` of them) → values on the extended coset.
    pub(crate) fn to_extended(&self, coeffs: &[Fr]) -> Vec<Fr> {
        let mut a = vec![Fr::ZERO; self.extended];
        for ((a, c), z) in a.iter_mut().zip(coeffs).zip(&self.zeta_powers) {
            *a = *c * z;
        }
        self.coset.forward(&mut a);
        a
    }

    /// Many polynomials → their extended-coset values, in parallel.
    pub(crate) fn all_to_extended<P: std::ops::Deref<Target = [Fr]> + Sync>(&self, polys: &[P]) -> Vec<Vec<Fr>> {
        polys.par_iter().map(|p| self.to_extended(p)).collect()
    }

    /// Extended-coset values → all `N` coefficients.
    pub(crate) fn extended_to_coeff(&self, mut values: Vec<Fr>) -> Vec<Fr> {
        self.coset.inverse(&mut values);
        for (v, z) in values.iter_mut().zip(&self.zeta_inv_powers) {
            *v *= z;
        }
        values
    }
}
