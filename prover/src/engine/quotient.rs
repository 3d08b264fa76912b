//! The numerator of the quotient, `Σ y^{M-1-i} c_i(X)` over every constraint `c_i` (gates, then
//! copy constraints, then lookups, in the order halo2's verifier folds them), on the extended
//! coset, block by block in parallel.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::plonk::Expression;
use rayon::prelude::*;

use super::expression::{evaluate, View};
use super::lookup::compress;

const BLOCK: usize = 256;

/// Extended-coset values the copy constraints read.
pub(crate) struct PermutationCosets<'a> {
    /// The equality columns, in the argument's order.
    pub columns: Vec<&'a [Fr]>,
    /// Their permutations σ.
    pub sigmas: Vec<&'a [Fr]>,
    /// One grand product per chunk of columns.
    pub products: Vec<Vec<Fr>>,
    pub chunk: usize,
}

/// Extended-coset values one lookup's constraints read.
pub(crate) struct LookupCosets<'a> {
    pub inputs: &'a [Expression<Fr>],
    pub tables: &'a [Expression<Fr>],
    pub product: Vec<Fr>,
    pub permuted_input: Vec<Fr>,
    pub permuted_table: Vec<Fr>,
}

/// The Lagrange selectors and points of the extended coset.
pub(crate) struct Selectors<'a> {
    pub l0: &'a [Fr],
    pub l_last: &'a [Fr],
    pub l_active: &'a [Fr],
    /// `ζ·ω_N^m`.
    pub points: &'a [Fr],
}

/// Challenges the constraints are combined with.
#[derive(Clone, Copy)]
pub(crate) struct Challenges {
    pub theta: Fr,
    pub beta: Fr,
    pub gamma: Fr,
    pub y: Fr,
}

/// Everything the numerator reads.
pub(crate) struct Numerator<'a> {
    pub gates: Vec<&'a Expression<Fr>>,
    pub view: View<'a>,
    pub selectors: Selectors<'a>,
    pub permutation: PermutationCosets<'a>,
    pub lookups: Vec<LookupCosets<'a>>,
    pub challenges: Challenges,
    /// Blinding rows; the last usable row is `blinding + 1` rows before the end.
    pub blinding: usize,
}

impl Numerator<'_> {
    /// The numerator's values on the whole extended coset.
    pub(crate) fn evaluate(&self, extended: usize) -> Vec<Fr> {
        let mut values = vec![Fr::ZERO; extended];
        values.par_chunks_mut(BLOCK).enumerate().for_each(|(b, out)| self.block(b * BLOCK, out));
        values
    }

    fn block(&self, start: usize, acc: &mut [Fr]) {
        let Challenges { theta, beta, gamma, y } = self.challenges;
        let len = acc.len();
        let mask = self.selectors.points.len() - 1;
        let scale = self.view.scale;
        let at = |column: &[Fr], i: usize, rows: isize| {
            column[(start as isize + i as isize + rows * scale as isize) as usize & mask]
        };
        let mut c = vec![Fr::ZERO; len];
        let fold = |acc: &mut [Fr], c: &[Fr]| acc.iter_mut().zip(c).for_each(|(a, c)| *a = *a * y + c);

        for gate in &self.gates {
            evaluate(gate, &self.view, start, &mut c);
            fold(acc, &c);
        }

        let s = &self.selectors;
        let (l0, l_last, l_active) =
            (&s.l0[start..start + len], &s.l_last[start..start + len], &s.l_active[start..start + len]);
        let p = &self.permutation;
        // A grand product starts at 1 and ends at 0 or 1: `l_0·(1 − z_first)`, `l_last·(z_last² − z_last)`.
        let ends = |first: &[Fr], last: &[Fr], acc: &mut [Fr], c: &mut [Fr]| {
            for i in 0..len {
                c[i] = (Fr::ONE - first[start + i]) * l0[i];
            }
            fold(acc, c);
            for i in 0..len {
                let z = last[start + i];
                c[i] = (z.square() - z) * l_last[i];
            }
            fold(acc, c);
        };
        if let (Some(first), Some(last)) = (p.products.first(), p.products.last()) {
            let last_row = -(self.blinding as isize + 1);
            ends(first, last, acc, &mut c);
            for pair in p.products.windows(2) {
                for i in 0..len {
                    c[i] = (pair[1][start + i] - at(&pair[0], i, last_row)) * l0[i];
                }
                fold(acc, &c);
            }
            let mut delta = Fr::ONE;
            for ((columns, sigmas), z) in p.columns.chunks(p.chunk).zip(p.sigmas.chunks(p.chunk)).zip(&p.products) {
                let mut left: Vec<Fr> = (0..len).map(|i| at(z, i, 1)).collect();
                let mut right: Vec<Fr> = z[start..start + len].to_vec();
                for (column, sigma) in columns.iter().zip(sigmas) {
                    let shift = beta * delta;
                    for i in 0..len {
                        let v = column[start + i] + gamma;
                        left[i] *= v + beta * sigma[start + i];
                        right[i] *= v + shift * s.points[start + i];
                    }
                    delta *= Fr::DELTA;
                }
                for i in 0..len {
                    c[i] = (left[i] - right[i]) * l_active[i];
                }
                fold(acc, &c);
            }
        }

        let mut inputs = vec![Fr::ZERO; len];
        let mut tables = vec![Fr::ZERO; len];
        for lookup in &self.lookups {
            compress(lookup.inputs, &self.view, start, theta, &mut inputs, &mut c);
            compress(lookup.tables, &self.view, start, theta, &mut tables, &mut c);
            let (z, a, s) = (&lookup.product, &lookup.permuted_input, &lookup.permuted_table);
            ends(z, z, acc, &mut c);
            for i in 0..len {
                let j = start + i;
                let left = at(z, i, 1) * (a[j] + beta) * (s[j] + gamma);
                let right = z[j] * (inputs[i] + beta) * (tables[i] + gamma);
                c[i] = (left - right) * l_active[i];
            }
            fold(acc, &c);
            for i in 0..len {
                c[i] = (a[start + i] - s[start + i]) * l0[i];
            }
            fold(acc, &c);
            for i in 0..len {
                let j = start + i;
                c[i] = (a[j] - s[j]) * (a[j] - at(a, i, -1)) * l_active[i];
            }
            fold(acc, &c);
        }
    }
}
