//! Radix-2 FFTs over BN254's scalar field with the twiddles of each size computed once.
//!
//! halo2-axiom's FFT rebuilds its twiddle table and raises ω to a 256-bit power at every stage
//! of every call; at the sizes of our circuits (2^9–2^14) that costs as much as the butterflies.
//! Here each transform is serial and the callers run many columns in parallel.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::{Field, PrimeField};

/// Transforms of one power-of-two size.
pub(crate) struct Fft {
    log_n: u32,
    omega: Fr,
    twiddles: Vec<Fr>,
    inverse_twiddles: Vec<Fr>,
    n_inv: Fr,
}

impl Fft {
    /// The transforms of size `2^log_n` over the subgroup halo2's `EvaluationDomain` uses.
    pub(crate) fn new(log_n: u32) -> Self {
        let mut omega = Fr::ROOT_OF_UNITY;
        for _ in log_n..Fr::S {
            omega = omega.square();
        }
        let powers = |w: Fr| -> Vec<Fr> {
            std::iter::successors(Some(Fr::ONE), |p| Some(*p * w)).take((1usize << log_n) / 2).collect()
        };
        let n_inv = Fr::from(1u64 << log_n).invert().unwrap_or(Fr::ZERO);
        let omega_inv = omega.invert().unwrap_or(Fr::ZERO);
        Fft { log_n, omega, twiddles: powers(omega), inverse_twiddles: powers(omega_inv), n_inv }
    }

    /// The generator of the `2^log_n` points.
    pub(crate) fn omega(&self) -> Fr {
        self.omega
    }

    /// Coefficients → values at `ω^i`.
    pub(crate) fn forward(&self, a: &mut [Fr]) {
        transform(a, &self.twiddles, self.log_n);
    }

    /// Values at `ω^i` → coefficients.
    pub(crate) fn inverse(&self, a: &mut [Fr]) {
        transform(a, &self.inverse_twiddles, self.log_n);
        a.iter_mut().for_each(|x| *x *= self.n_inv);
    }
}

fn transform(a: &mut [Fr], twiddles: &[Fr], log_n: u32) {
    let n = a.len();
    assert_eq!(n, 1 << log_n, "FFT input of the wrong length");
    if n == 1 {
        return;
    }
    let shift = usize::BITS - log_n;
    for i in 0..n {
        let j = i.reverse_bits() >> shift;
        if i < j {
            a.swap(i, j);
        }
    }
    for pair in a.chunks_exact_mut(2) {
        let t = pair[1];
        pair[1] = pair[0] - t;
        pair[0] += t;
    }
    let mut half = 2;
    while half < n {
        let stride = n / (2 * half);
        for block in a.chunks_exact_mut(2 * half) {
            let (lo, hi) = block.split_at_mut(half);
            for (j, (x, y)) in lo.iter_mut().zip(hi.iter_mut()).enumerate() {
                let t = *y * twiddles[j * stride];
                *y = *x - t;
                *x += t;
            }
        }
        half *= 2;
    }
}
