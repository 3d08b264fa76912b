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
    /// `(ζ·ω_N^j)^t` for each `j < scale` and `t < n`: the coset point `ζ·ω_N^(j + scale·m)` is
    /// `ζ·ω_N^j·ω_n^m`, so the extended values are `scale` row-size FFTs of the coefficients
    /// times these powers, interleaved.
    shifted_powers: Vec<Vec<Fr>>,
    /// `ζ^{-i}` for `i < N`: moves the quotient back.
    zeta_inv_powers: Vec<Fr>,
}

impl Domains {
    pub(crate) fn new(domain: &EvaluationDomain<Fr>) -> Self {
        let n = 1usize << domain.k();
        let extended = 1usize << domain.extended_k();
        let scale = extended / n;
        let powers = |g: Fr, len: usize| -> Vec<Fr> {
            std::iter::successors(Some(Fr::ONE), |p| Some(*p * g)).take(len).collect()
        };
        let coset = Fft::new(domain.extended_k());
        let shifts = powers(coset.omega(), scale).into_iter().map(|w| powers(domain.g_coset * w, n)).collect();
        Domains {
            n,
            extended,
            scale,
            rows: Fft::new(domain.k()),
            coset,
            shifted_powers: shifts,
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

    /// Coefficients (at most `n` of them) → values on the extended coset: `scale` transforms
    /// of `n` points, which stay in cache and skip the butterflies one of `N` points would
    /// spend on the zero upper coefficients.
    pub(crate) fn to_extended(&self, coeffs: &[Fr]) -> Vec<Fr> {
        let mut out = vec![Fr::ZERO; self.extended];
        let mut shifted = vec![Fr::ZERO; self.n];
        for (j, powers) in self.shifted_powers.iter().enumerate() {
            for ((s, c), p) in shifted.iter_mut().zip(coeffs).zip(powers) {
                *s = *c * p;
            }
            shifted[coeffs.len().min(self.n)..].fill(Fr::ZERO);
            self.rows.forward(&mut shifted);
            for (m, v) in shifted.iter().enumerate() {
                out[j + self.scale * m] = *v;
            }
        }
        out
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
            let half = coeffs.len() / 2;
            let padded: Vec<Fr> = coeffs[..half].iter().copied().chain(vec![Fr::ZERO; coeffs.len() - half]).collect();
            assert_eq!(d.to_extended(&coeffs[..half]), d.to_extended(&padded), "a shorter polynomial is zero-padded");
            let back = d.extended_to_coeff(extended);
            assert_eq!(back[..coeffs.len()], coeffs[..]);
            assert!(back[coeffs.len()..].iter().all(|c| bool::from(c.is_zero())));
        }
    }
}
