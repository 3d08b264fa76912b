//! halo2's copy-constraint (permutation) argument, prover side: one grand product per chunk of
//! `degree - 2` equality columns, each chunk starting where the previous one ended.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::{BatchInvert, Field, PrimeField};
use rand_core::RngCore;
use rayon::prelude::*;

/// The grand products on the rows, one per chunk of `columns` (each equality column's row values
/// with its permutation σ). `omega` generates the rows; the last `blinding` rows are random.
pub(crate) fn products(
    columns: &[(&[Fr], &[Fr])],
    chunk: usize,
    omega: Fr,
    beta: Fr,
    gamma: Fr,
    blinding: usize,
    rng: &mut impl RngCore,
) -> Vec<Vec<Fr>> {
    let rows = columns.first().map_or(0, |c| c.0.len());
    let domain_points: Vec<Fr> = std::iter::successors(Some(Fr::ONE), |p| Some(*p * omega)).take(rows).collect();
    let mut delta = Fr::ONE;
    let mut last = Fr::ONE;
    let mut sets = Vec::new();
    for columns in columns.chunks(chunk) {
        let mut ratio = vec![Fr::ONE; rows];
        for (values, sigma) in columns {
            ratio.par_iter_mut().zip(values.par_iter()).zip(sigma.par_iter()).for_each(|((r, v), s)| {
                *r *= beta * s + gamma + v;
            });
        }
        ratio.iter_mut().batch_invert();
        for (values, _) in columns {
            let shift = delta * beta;
            ratio.par_iter_mut().zip(values.par_iter()).zip(domain_points.par_iter()).for_each(|((r, v), x)| {
                *r *= shift * x + gamma + v;
            });
            delta *= Fr::DELTA;
        }
        let mut z = Vec::with_capacity(rows);
        z.push(last);
        for r in &ratio[..rows - 1] {
            let next = *z.last().unwrap_or(&Fr::ONE) * r;
            z.push(next);
        }
        for v in &mut z[rows - blinding..] {
            *v = Fr::random(&mut *rng);
        }
        last = z[rows - blinding - 1];
        sets.push(z);
    }
    sets
}
