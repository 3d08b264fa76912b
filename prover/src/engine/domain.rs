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

#[cfg(test)]
mod tests {
    use halo2_proofs::halo2curves::bn256::Fr;
    use halo2_proofs::halo2curves::ff::Field;
    use halo2_proofs::poly::EvaluationDomain;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::Domains;

    /// Our transforms give halo2's values bit for bit, for quotient degrees 2–8 (extension 1–8×).
    #[test]
    fn transforms_agree_with_halo2s_domain() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        for (degree, k) in [(3, 1), (3, 5), (4, 6), (5, 4), (9, 3)] {
            let domain = EvaluationDomain::<Fr>::new(degree, k);
            let d = Domains::new(&domain);
            let values: Vec<Fr> = (0..1 << k).map(|_| Fr::random(&mut rng)).collect();
            let coeffs = d.to_coeff(values.clone());
            assert_eq!(coeffs, domain.lagrange_to_coeff(domain.lagrange_from_vec(values)).to_vec());
            let extended = d.to_extended(&coeffs);
            let theirs = domain.coeff_to_extended(&domain.coeff_from_vec(coeffs.clone()));
            assert_eq!(extended, theirs.to_vec());
            let back = d.extended_to_coeff(extended);
            assert_eq!(back[..coeffs.len()], coeffs[..]);
            assert!(back[coeffs.len()..].iter().all(|c| bool::from(c.is_zero())));
        }
    }
}
