//! Dot products against fixed weights (dense layers; convolutions reuse it per output pixel),
//! packed so that one row serves `K` outputs with `W` inputs each.
//!
//! Columns: advice `x_0..x_{W-1}` (activations, copied from their producers) and
//! `acc_0..acc_{K-1}` (running sums); fixed `w_{k,i}`, `b_k` and `chain`. Per enabled row:
//! `acc_k = chain · acc_k[prev] + b_k + Σ_i w_{k,i} · x_i`.
//! A block of `ceil(inputs / W)` rows computes `K` outputs: `chain = 0` and the bias on its
//! first row, `chain = 1` after; its last row holds the accumulators. Each activation cell is
//! therefore copied once per block of `K` outputs, not once per output (design lever 1).
//! Weights in fixed columns are committed in the verifying key: a different weight is a
//! different key.

use halo2_proofs::circuit::{Cell, Layouter, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Constraints, Error, Expression, Fixed, Selector};
use halo2_proofs::poly::Rotation;

use crate::field::fe;

/// How many inputs and outputs one row carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DenseShape {
    /// Inputs per row (`W`).
    pub width: usize,
    /// Outputs per row (`K`).
    pub outputs: usize,
}

impl Default for DenseShape {
    /// 8 inputs × 4 outputs per row: a middle point of the prototype's measurements; the planner
    /// will choose per model from a cost model.
    fn default() -> Self {
        DenseShape { width: 8, outputs: 4 }
    }
}

impl DenseShape {
    /// Rows a dot-product job of `inputs → outputs` occupies with this packing.
    pub fn rows(&self, inputs: usize, outputs: usize) -> usize {
        inputs.div_ceil(self.width) * outputs.div_ceil(self.outputs)
    }
}

/// Columns and constraints of the dense chip.
#[derive(Clone, Debug)]
pub struct DenseConfig {
    shape: DenseShape,
    q: Selector,
    x: Vec<Column<Advice>>,
    acc: Vec<Column<Advice>>,
    /// `w[k][i]`.
    w: Vec<Vec<Column<Fixed>>>,
    b: Vec<Column<Fixed>>,
    chain: Column<Fixed>,
}

/// A dot-product job in terms of tensor elements (the model circuit turns it into a
/// [`DenseJob`] over cells): a dense layer's block of outputs, one convolution pixel, one
/// average-pool window.
pub struct DotJob {
    /// Input element read by each tap (`None` in padding).
    pub taps: Vec<Option<usize>>,
    /// Tap values (0 in padding).
    pub values: Vec<i64>,
    /// `[outputs, taps]`, 0 on padding taps.
    pub weight: Vec<i64>,
    pub bias: Vec<i64>,
    /// Output element of each of the job's outputs.
    pub outputs: Vec<usize>,
}

/// One dot-product job: `out[o] = bias[o] + Σ_i weight[o][i] · x[i]`, weights row-major.
/// An input without a cell (a convolution's zero padding) must have weight 0 in every output:
/// its cell is then left free, and the fixed zero weight makes it irrelevant.
pub struct DenseJob<'a> {
    pub inputs: &'a [Option<Cell>],
    pub input_values: &'a [i64],
    pub weight: &'a [i64],
    pub bias: &'a [i64],
}

impl DenseConfig {
    /// Allocates `W + K` advice and `K·W + K + 1` fixed columns.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, shape: DenseShape) -> Self {
        let q = meta.selector();
        let x: Vec<_> = (0..shape.width).map(|_| meta.advice_column()).collect();
        let acc: Vec<_> = (0..shape.outputs).map(|_| meta.advice_column()).collect();
        let w: Vec<Vec<_>> =
            (0..shape.outputs).map(|_| (0..shape.width).map(|_| meta.fixed_column()).collect()).collect();
        let b: Vec<_> = (0..shape.outputs).map(|_| meta.fixed_column()).collect();
        let chain = meta.fixed_column();
        for &c in x.iter().chain(&acc) {
            meta.enable_equality(c);
        }
        meta.create_gate("dense", |meta| {
            let q = meta.query_selector(q);
            let xs: Vec<Expression<Fr>> = x.iter().map(|&c| meta.query_advice(c, Rotation::cur())).collect();
            let chain = meta.query_fixed(chain, Rotation::cur());
            let constraints: Vec<Expression<Fr>> = (0..shape.outputs)
                .map(|k| {
                    let dot = xs.iter().enumerate().fold(meta.query_fixed(b[k], Rotation::cur()), |s, (i, xi)| {
                        s + meta.query_fixed(w[k][i], Rotation::cur()) * xi.clone()
                    });
                    meta.query_advice(acc[k], Rotation::cur())
                        - chain.clone() * meta.query_advice(acc[k], Rotation::prev())
                        - dot
                })
                .collect();
            Constraints::with_selector(q, constraints)
        });
        DenseConfig { shape, q, x, acc, w, b, chain }
    }

    /// Rows a dense layer of `inputs → outputs` occupies.
    pub fn rows(&self, inputs: usize, outputs: usize) -> usize {
        self.shape.rows(inputs, outputs)
    }

    /// The running sums of `job` in layout order (block by block, row by row, `K` per row).
    pub fn witness(&self, job: &DenseJob) -> Vec<i64> {
        let (wd, kd) = (self.shape.width, self.shape.outputs);
        let (n, m) = (job.input_values.len(), job.bias.len());
        let mut sums = Vec::with_capacity(self.rows(n, m) * kd);
        for group in 0..m.div_ceil(kd) {
            let mut acc = vec![0i64; kd];
            for step in 0..n.div_ceil(wd) {
                for (k, a) in acc.iter_mut().enumerate() {
                    let out = group * kd + k;
                    if out < m {
                        *a += if step == 0 { job.bias[out] } else { 0 };
                        for input in step * wd..((step + 1) * wd).min(n) {
                            *a += job.weight[out * n + input] * job.input_values[input];
                        }
                    }
                    sums.push(*a);
                }
            }
        }
        sums
    }

    /// Where output `out` of a job over `inputs` values ends in [`DenseConfig::witness`]'s
    /// running sums: its block's last row.
    pub fn final_sum_index(&self, inputs: usize, out: usize) -> usize {
        let (kd, steps) = (self.shape.outputs, inputs.div_ceil(self.shape.width));
        ((out / kd) * steps + steps - 1) * kd + out % kd
    }

    /// Lays out one dot-product job with its running sums (from [`DenseConfig::witness`]) from
    /// absolute row `start` of the chip's columns (halo2-axiom's planner places every region at
    /// row 0, so callers keep a row cursor per chip); returns one accumulator cell per output.
    /// Occupies [`DenseConfig::rows`] rows.
    pub fn assign(
        &self,
        layouter: &mut impl Layouter<Fr>,
        start: usize,
        job: &DenseJob,
        sums: &[i64],
    ) -> Result<Vec<Cell>, Error> {
        let (wd, kd) = (self.shape.width, self.shape.outputs);
        let n = job.input_values.len();
        let m = job.bias.len();
        let steps = n.div_ceil(wd);
        layouter.assign_region(
            || "dense",
            |mut region| {
                let mut outputs = vec![None; m];
                // A block's first row has `chain = 0`, so whatever precedes it is ignored.
                let mut offset = start;
                let mut sums = sums.iter();
                for group in 0..m.div_ceil(kd) {
                    for step in 0..steps {
                        self.q.enable(&mut region, offset)?;
                        region.assign_fixed(self.chain, offset, Fr::from(u64::from(step > 0)));
                        for i in 0..wd {
                            let input = step * wd + i;
                            let v = job.input_values.get(input).copied().unwrap_or(0);
                            let cell = region.assign_advice(self.x[i], offset, Value::known(fe(v)));
                            if let Some(Some(source)) = job.inputs.get(input) {
                                region.constrain_equal(cell.cell(), *source);
                            }
                        }
                        for k in 0..kd {
                            let out = group * kd + k;
                            let bias = if step == 0 && out < m { job.bias[out] } else { 0 };
                            region.assign_fixed(self.b[k], offset, fe(bias));
                            for i in 0..wd {
                                let input = step * wd + i;
                                let w = if out < m && input < n { job.weight[out * n + input] } else { 0 };
                                region.assign_fixed(self.w[k][i], offset, fe(w));
                            }
                            let sum = *sums.next().ok_or(Error::Synthesis)?;
                            let cell = region.assign_advice(self.acc[k], offset, Value::known(fe(sum)));
                            if step + 1 == steps && out < m {
                                outputs[out] = Some(cell.cell());
                            }
                        }
                        offset += 1;
                    }
                }
                outputs.into_iter().map(|c| c.ok_or(Error::Synthesis)).collect()
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chips::test_support::{verifies, ChipCase};
    use crate::table::TableConfig;

    #[derive(Clone)]
    struct TestCircuit {
        x: Vec<i64>,
        weight: Vec<i64>,
        bias: Vec<i64>,
        /// What the accumulator witness is computed from (differs from `weight` when tampering).
        witness_weight: Vec<i64>,
        /// Added to running sums of the witness.
        sum_delta: Vec<(usize, i64)>,
        /// The values the chip's own input cells hold (differing from the producer's when
        /// tampering).
        chip_x: Option<Vec<i64>>,
    }

    const SHAPE: DenseShape = DenseShape { width: 2, outputs: 2 };

    impl ChipCase for TestCircuit {
        type Chip = DenseConfig;

        fn configure_chip(meta: &mut ConstraintSystem<Fr>, _: TableConfig) -> DenseConfig {
            DenseConfig::configure(meta, SHAPE)
        }

        fn inputs(&self) -> &[i64] {
            &self.x
        }

        fn lay_out(
            &self,
            dense: &DenseConfig,
            _: TableConfig,
            layouter: &mut impl Layouter<Fr>,
            cells: &[Cell],
        ) -> Result<Vec<Cell>, Error> {
            let inputs: Vec<_> = cells.iter().copied().map(Some).collect();
            // The witness comes from `witness_weight`; the fixed columns get `weight`.
            let x = self.chip_x.as_deref().unwrap_or(&self.x);
            let honest = DenseJob { inputs: &inputs, input_values: x, weight: &self.witness_weight, bias: &self.bias };
            let mut sums = dense.witness(&honest);
            for &(at, delta) in &self.sum_delta {
                sums[at] += delta;
            }
            let laid_out = DenseJob { weight: &self.weight, ..honest };
            dense.assign(layouter, 0, &laid_out, &sums)
        }
    }

    impl DenseConfig {
        /// The honest running sums of the test shape, without a constraint system.
        fn witness_of(x: &[i64], weight: &[i64], bias: &[i64]) -> Vec<i64> {
            let mut meta = ConstraintSystem::<Fr>::default();
            let chip = DenseConfig::configure(&mut meta, SHAPE);
            let inputs = vec![None; x.len()];
            chip.witness(&DenseJob { inputs: &inputs, input_values: x, weight, bias })
        }
    }

    fn expected(x: &[i64], weight: &[i64], bias: &[i64]) -> Vec<Fr> {
        bias.iter()
            .enumerate()
            .map(|(o, b)| fe(b + x.iter().enumerate().map(|(i, xi)| weight[o * x.len() + i] * xi).sum::<i64>()))
            .collect()
    }

    fn case() -> TestCircuit {
        let weight = vec![1, -2, 3, 0, 5, -1, 4, 2, -3, 7, 0, 1, 1, 1, -9];
        TestCircuit {
            x: vec![3, -1, 4, 1, -5],
            witness_weight: weight.clone(),
            weight,
            bias: vec![10, -20, 7],
            sum_delta: Vec::new(),
            chip_x: None,
        }
    }

    fn verify(c: &TestCircuit, public: Vec<Fr>) -> bool {
        verifies(7, c, public)
    }

    #[test]
    fn honest_dot_products_verify() {
        let c = case();
        assert_eq!(c.weight.len(), 15);
        assert!(verify(&c, expected(&c.x, &c.weight, &c.bias)));
        // 5 inputs in rows of 2 → 3 steps; 3 outputs in groups of 2 → 2 blocks.
        assert_eq!(SHAPE.rows(5, 3), 6);
    }

    #[test]
    fn tampered_output_is_rejected() {
        let c = case();
        let mut public = expected(&c.x, &c.weight, &c.bias);
        public[2] += Fr::one();
        assert!(!verify(&c, public));
    }

    #[test]
    fn tampered_weight_is_rejected() {
        let mut c = case();
        c.weight[7] += 1;
        assert!(!verify(&c, expected(&c.x, &c.witness_weight, &c.bias)));
    }

    #[test]
    fn tampered_running_sum_is_rejected() {
        // Row 1 of the first block (sums 2 and 3); the final sums stay honest.
        for at in [2, 3] {
            let mut c = case();
            c.sum_delta = vec![(at, 1)];
            assert!(!verify(&c, expected(&c.x, &c.weight, &c.bias)), "sum {at}");
        }
    }

    #[test]
    fn a_block_that_does_not_restart_its_sum_is_rejected() {
        // Block 2 (rows 3–5) carries block 1's last sums (row 2) in both columns instead of
        // starting from its bias: every chained row holds, only the block's reset is broken.
        let mut c = case();
        let honest = DenseConfig::witness_of(&c.x, &c.weight, &c.bias);
        let (s, t) = (honest[4], honest[5]);
        c.sum_delta = [(6, s), (8, s), (10, s), (7, t), (9, t), (11, t)].to_vec();
        let mut public = expected(&c.x, &c.weight, &c.bias);
        public[2] += fe(s);
        assert!(!verify(&c, public));
    }

    #[test]
    fn chip_inputs_not_copied_from_their_producer_are_rejected() {
        // The chip computes honestly on other inputs than the producer's cells hold: only the
        // copy constraints can tell.
        let mut c = case();
        let other = vec![3, -1, 4, 1, -4];
        c.chip_x = Some(other.clone());
        assert!(!verify(&c, expected(&other, &c.weight, &c.bias)));
    }

    #[test]
    fn witness_for_other_input_is_rejected() {
        // The outputs of another input cannot be claimed for this one.
        let c = case();
        let other = [3, -1, 4, 1, -4];
        assert!(!verify(&c, expected(&other, &c.weight, &c.bias)));
    }
}
