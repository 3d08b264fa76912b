//! Matrix products of two computed tensors checked with Freivalds' algorithm: instead of
//! proving each of the `m·k·n` multiplications of `C = A·B`, the circuit commits `A`, `B` and the
//! claimed `C`, draws a challenge `r`, and checks `A·(B·r) = C·r` with `r = (r^(n−1), …, r, 1)`.
//! That is `k·n + m·n + m·k` rows instead of `m·k·n`: at `m = k = n = 64`, 12,288 rows instead
//! of 262,144.
//!
//! Soundness: the challenge is squeezed from the transcript after the first phase, whose
//! commitments hold `A`, `B` and `C`. If `C ≠ A·B` (over the field), some row `i` of `C − A·B`
//! is non-zero, and its check `Σ_j (C − A·B)[i, j] · r^(n−1−j) = 0` is a non-zero polynomial of
//! degree `< n` in `r`: it holds for at most `n − 1` of the field's ~2^254 values.
//! The integer products themselves never wrap (the accumulator widths are bounded at import),
//! so the field equality is the integer one.
//!
//! Columns: advice `x` in the first phase (the operands' copies and the claimed product);
//! advice `y` and `acc` in the second phase (they depend on `r`); fixed `chain`. Two gates:
//! - Horner rows: `acc = chain · r · acc[prev] + x`. A block of `n` rows over a row of `B`
//!   (or of `C`) ends with that row's `B·r` entry (or `C·r` entry).
//! - dot rows: `acc = chain · acc[prev] + x · y`. A block of `k` rows over a row of `A`, with
//!   `y` copied from the `B·r` entries, ends with `(A·(B·r))_i`, copied onto `(C·r)_i`.
//!
//! `chain` is 0 on a block's first row and 1 after, as in the product chip.

use halo2_proofs::circuit::{Cell, Layouter, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{
    Advice, Challenge, Column, ConstraintSystem, Constraints, Error, FirstPhase, Fixed, SecondPhase, Selector,
};
use halo2_proofs::poly::Rotation;

use crate::field::fe;

/// Columns, challenge and gates of the Freivalds chip.
#[derive(Clone, Debug)]
pub struct FreivaldsConfig {
    horner: Selector,
    dot: Selector,
    chain: Column<Fixed>,
    x: Column<Advice>,
    y: Column<Advice>,
    acc: Column<Advice>,
    r: Challenge,
}

/// One product `[m, k] × [k, n]`: the operand cells (row-major) with their values, and the
/// claimed product (row-major), which the chip lays out as new cells.
pub struct FreivaldsJob {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub a: Vec<(Cell, i64)>,
    pub b: Vec<(Cell, i64)>,
    pub c: Vec<i64>,
}

impl FreivaldsJob {
    /// Rows of the job: `B·r`, `C·r` and `A·(B·r)`.
    pub fn rows(m: usize, k: usize, n: usize) -> usize {
        k * n + m * n + m * k
    }

    /// Whether the Freivalds check of a `[m, k] × [k, n]` product takes fewer rows than the
    /// direct one (`m·k·n`): for matrices, not for elementwise or matrix-vector products.
    pub fn cheaper_than_direct(m: usize, k: usize, n: usize) -> bool {
        Self::rows(m, k, n) < m * k * n
    }

    /// The honest second-phase values under challenge `r`.
    pub fn witness(&self, r: Fr) -> CheckWitness {
        let horner = |values: &[i64]| -> Vec<Fr> {
            values
                .chunks(self.n)
                .flat_map(|row| {
                    row.iter()
                        .scan(Fr::zero(), |s, &v| {
                            *s = *s * r + fe(v);
                            Some(*s)
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let b_values: Vec<i64> = self.b.iter().map(|&(_, v)| v).collect();
        let mut acc = horner(&b_values);
        let br: Vec<Fr> = (0..self.k).map(|t| acc[(t + 1) * self.n - 1]).collect();
        acc.extend(horner(&self.c));
        let mut y = Vec::with_capacity(self.m * self.k);
        for row in self.a.chunks(self.k.max(1)) {
            let mut s = Fr::zero();
            for (&(_, a), &b) in row.iter().zip(&br) {
                s += fe(a) * b;
                acc.push(s);
                y.push(b);
            }
        }
        CheckWitness { acc, y }
    }
}

/// The second-phase values of a job: `acc` per row, `y` per dot row.
#[derive(Clone, Debug)]
pub struct CheckWitness {
    pub acc: Vec<Fr>,
    pub y: Vec<Fr>,
}

/// A job whose first phase is laid out: where it starts and its product's cells.
pub struct Placed {
    start: usize,
    m: usize,
    k: usize,
    n: usize,
    /// The claimed product's cells, row-major.
    pub outputs: Vec<Cell>,
}

impl FreivaldsConfig {
    /// Allocates one first-phase and two second-phase advice columns (all equality-enabled)
    /// and one fixed column; `r` is a challenge drawn after the first phase (one for all lanes).
    pub fn configure(meta: &mut ConstraintSystem<Fr>, r: Challenge) -> Self {
        let (horner, dot, chain) = (meta.selector(), meta.selector(), meta.fixed_column());
        let x = meta.advice_column_in(FirstPhase);
        let (y, acc) = (meta.advice_column_in(SecondPhase), meta.advice_column_in(SecondPhase));
        for c in [x, y, acc] {
            meta.enable_equality(c);
        }
        meta.create_gate("freivalds horner", |meta| {
            let q = meta.query_selector(horner);
            let chain = meta.query_fixed(chain, Rotation::cur());
            let prev = meta.query_advice(acc, Rotation::prev());
            let [x, acc] = [x, acc].map(|c| meta.query_advice(c, Rotation::cur()));
            let r = meta.query_challenge(r);
            Constraints::with_selector(q, [acc - chain * r * prev - x])
        });
        meta.create_gate("freivalds dot", |meta| {
            let q = meta.query_selector(dot);
            let chain = meta.query_fixed(chain, Rotation::cur());
            let prev = meta.query_advice(acc, Rotation::prev());
            let [x, y, acc] = [x, y, acc].map(|c| meta.query_advice(c, Rotation::cur()));
            Constraints::with_selector(q, [acc - chain * prev - x * y])
        });
        FreivaldsConfig { horner, dot, chain, x, y, acc, r }
    }

    /// The challenge the second phase reads.
    pub fn challenge(&self) -> Challenge {
        self.r
    }

    /// First phase: lays out `job` from absolute row `start`: selectors, `chain`, the copies
    /// of `B` and `A`, and the claimed product.
    pub fn assign_operands(
        &self,
        layouter: &mut impl Layouter<Fr>,
        start: usize,
        job: &FreivaldsJob,
    ) -> Result<Placed, Error> {
        let FreivaldsJob { m, k, n, .. } = *job;
        if job.a.len() != m * k || job.b.len() != k * n || job.c.len() != m * n {
            return Err(Error::Synthesis);
        }
        layouter.assign_region(
            || "freivalds operands",
            |mut region| {
                let mut row = start;
                let mut put = |region: &mut halo2_proofs::circuit::Region<'_, Fr>,
                               q: Selector,
                               first: bool,
                               value: i64|
                 -> Result<Cell, Error> {
                    q.enable(region, row)?;
                    region.assign_fixed(self.chain, row, Fr::from(u64::from(!first)));
                    let cell = region.assign_advice(self.x, row, Value::known(fe(value))).cell();
                    row += 1;
                    Ok(cell)
                };
                for (j, &(cell, v)) in job.b.iter().enumerate() {
                    let here = put(&mut region, self.horner, j % n == 0, v)?;
                    region.constrain_equal(here, cell);
                }
                let mut outputs = Vec::with_capacity(m * n);
                for (j, &v) in job.c.iter().enumerate() {
                    outputs.push(put(&mut region, self.horner, j % n == 0, v)?);
                }
                for (j, &(cell, v)) in job.a.iter().enumerate() {
                    let here = put(&mut region, self.dot, j % k == 0, v)?;
                    region.constrain_equal(here, cell);
                }
                Ok(Placed { start, m, k, n, outputs })
            },
        )
    }

    /// Second phase (after `next_phase`): the accumulators (from [`FreivaldsJob::witness`] when
    /// honest), the copies of `B·r` into the dot rows, and the check `A·(B·r) = C·r`.
    pub fn assign_checks(
        &self,
        layouter: &mut impl Layouter<Fr>,
        placed: &Placed,
        witness: Value<&CheckWitness>,
    ) -> Result<(), Error> {
        let Placed { start, m, k, n, .. } = *placed;
        layouter.assign_region(
            || "freivalds checks",
            |mut region| {
                let acc: Vec<Cell> = (0..FreivaldsJob::rows(m, k, n))
                    .map(|i| region.assign_advice(self.acc, start + i, witness.map(|w| w.acc[i])).cell())
                    .collect();
                let dot = k * n + m * n;
                for i in 0..m {
                    for t in 0..k {
                        let at = i * k + t;
                        let y = region.assign_advice(self.y, start + dot + at, witness.map(|w| w.y[at])).cell();
                        region.constrain_equal(y, acc[(t + 1) * n - 1]);
                    }
                    region.constrain_equal(acc[dot + (i + 1) * k - 1], acc[k * n + (i + 1) * n - 1]);
                }
                Ok(())
            },
        )
    }
}

#[cfg(test)]
mod tests;
