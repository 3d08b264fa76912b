//! Products of two computed tensors (activation × activation: attention scores, gates, a layer
//! norm's scaling): one multiply-accumulate per row.
//!
//! Columns: advice `a`, `b` (both copied from their producers) and `acc` (running sum); fixed
//! `chain`. Per enabled row: `acc = chain · acc[prev] + a · b`. One output of a batched matrix
//! product `Σ_t a_t · b_t` is a block of `k` rows, `chain = 0` on its first row and 1 after;
//! its last row holds the output. An elementwise product is a block of one row.
//!
//! This is the direct method: `m·k·n` rows for an `[m, k] × [k, n]` product, each operand cell
//! copied once per use. Its soundness needs no challenge. Matrix products where it takes more
//! rows than a Freivalds check go to `freivalds.rs` instead (when the layout has lanes for it).

use halo2_proofs::circuit::{Cell, Layouter, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Constraints, Error, Fixed, Selector};
use halo2_proofs::poly::Rotation;

use crate::field::fe;

/// Columns and constraint of the product chip.
#[derive(Clone, Debug)]
pub struct ProductConfig {
    q: Selector,
    a: Column<Advice>,
    b: Column<Advice>,
    acc: Column<Advice>,
    chain: Column<Fixed>,
}

/// One output: the operand cells it multiplies pairwise, with their values.
pub struct ProductJob {
    pub pairs: Vec<((Cell, i64), (Cell, i64))>,
}

impl ProductJob {
    /// The running sums of the block (its last one is the output).
    pub fn witness(&self) -> Vec<i64> {
        self.pairs
            .iter()
            .scan(0i64, |s, ((_, a), (_, b))| {
                *s += a * b;
                Some(*s)
            })
            .collect()
    }
}

impl ProductConfig {
    /// Allocates 3 advice columns (all equality-enabled) and one fixed column.
    pub fn configure(meta: &mut ConstraintSystem<Fr>) -> Self {
        let (q, chain) = (meta.selector(), meta.fixed_column());
        let (a, b, acc) = (meta.advice_column(), meta.advice_column(), meta.advice_column());
        for c in [a, b, acc] {
            meta.enable_equality(c);
        }
        meta.create_gate("product", |meta| {
            let q = meta.query_selector(q);
            let chain = meta.query_fixed(chain, Rotation::cur());
            let prev = meta.query_advice(acc, Rotation::prev());
            let [a, b, acc] = [a, b, acc].map(|c| meta.query_advice(c, Rotation::cur()));
            Constraints::with_selector(q, [acc - chain * prev - a * b])
        });
        ProductConfig { q, a, b, acc, chain }
    }

    /// Rows of a job with `k` pairs.
    pub fn rows(k: usize) -> usize {
        k
    }

    /// Lays out `jobs` from absolute row `start`, each with its running sums (from
    /// [`ProductJob::witness`] when honest); returns one output cell per job.
    pub fn assign(
        &self,
        layouter: &mut impl Layouter<Fr>,
        start: usize,
        jobs: &[ProductJob],
        sums: &[Vec<i64>],
    ) -> Result<Vec<Cell>, Error> {
        layouter.assign_region(
            || "product",
            |mut region| {
                let mut row = start;
                let mut outputs = Vec::with_capacity(jobs.len());
                for (job, sums) in jobs.iter().zip(sums) {
                    let mut last = None;
                    for (t, (((a_cell, a), (b_cell, b)), &sum)) in job.pairs.iter().zip(sums).enumerate() {
                        self.q.enable(&mut region, row)?;
                        region.assign_fixed(self.chain, row, Fr::from(u64::from(t > 0)));
                        let a_here = region.assign_advice(self.a, row, Value::known(fe(*a)));
                        region.constrain_equal(a_here.cell(), *a_cell);
                        let b_here = region.assign_advice(self.b, row, Value::known(fe(*b)));
                        region.constrain_equal(b_here.cell(), *b_cell);
                        last = Some(region.assign_advice(self.acc, row, Value::known(fe(sum))).cell());
                        row += 1;
                    }
                    outputs.push(last.ok_or(Error::Synthesis)?);
                }
                Ok(outputs)
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chips::test_support::{verifies, ChipCase};
    use crate::table::TableConfig;

    /// `[2, 3] × [3, 2]` with inputs `a` then `b` in the free column.
    #[derive(Clone)]
    struct TestCircuit {
        inputs: Vec<i64>,
        /// Added to running sums of the witness, as `(job, row, delta)`.
        sum_delta: Vec<(usize, usize, i64)>,
        /// Values the chip's own operand cells hold, when they differ from the producer's.
        chip_inputs: Option<Vec<i64>>,
    }

    const A: [i64; 6] = [3, -1, 4, 1, -5, 9];
    const B: [i64; 6] = [2, 6, -5, 3, 5, -8];

    fn pairs(values: &[i64], cells: &[Cell]) -> Vec<ProductJob> {
        let (m, k, n) = (2, 3, 2);
        (0..m * n)
            .map(|o| {
                let (i, j) = (o / n, o % n);
                let pair = |t: usize| {
                    let (x, y) = (i * k + t, m * k + t * n + j);
                    ((cells[x], values[x]), (cells[y], values[y]))
                };
                ProductJob { pairs: (0..k).map(pair).collect() }
            })
            .collect()
    }

    impl ChipCase for TestCircuit {
        type Chip = ProductConfig;

        fn configure_chip(meta: &mut ConstraintSystem<Fr>, _: TableConfig) -> ProductConfig {
            ProductConfig::configure(meta)
        }

        fn inputs(&self) -> &[i64] {
            &self.inputs
        }

        fn lay_out(
            &self,
            chip: &ProductConfig,
            _: TableConfig,
            layouter: &mut impl Layouter<Fr>,
            cells: &[Cell],
        ) -> Result<Vec<Cell>, Error> {
            let jobs = pairs(self.chip_inputs.as_deref().unwrap_or(&self.inputs), cells);
            let mut sums: Vec<Vec<i64>> = jobs.iter().map(ProductJob::witness).collect();
            for &(job, row, delta) in &self.sum_delta {
                sums[job][row] += delta;
            }
            chip.assign(layouter, 0, &jobs, &sums)
        }
    }

    fn case() -> TestCircuit {
        TestCircuit { inputs: [A, B].concat(), sum_delta: Vec::new(), chip_inputs: None }
    }

    fn expected(a: &[i64], b: &[i64]) -> Vec<Fr> {
        (0..4).map(|o| fe((0..3).map(|t| a[(o / 2) * 3 + t] * b[t * 2 + o % 2]).sum())).collect()
    }

    #[test]
    fn honest_products_verify() {
        assert!(verifies(6, &case(), expected(&A, &B)));
    }

    #[test]
    fn a_wrong_product_is_rejected() {
        // Job 3's output is one more than its products sum to, and the public value agrees with
        // it: only the product gate of its last row can tell.
        let mut c = case();
        c.sum_delta = vec![(3, 2, 1)];
        let mut public = expected(&A, &B);
        public[3] += Fr::one();
        assert!(!verifies(6, &c, public));
    }

    #[test]
    fn an_output_other_than_the_proven_one_is_rejected() {
        let mut public = expected(&A, &B);
        public[3] += Fr::one();
        assert!(!verifies(6, &case(), public));
    }

    #[test]
    fn a_tampered_running_sum_is_rejected() {
        // The middle row of job 1 is off by one; its final sum stays honest.
        let mut c = case();
        c.sum_delta = vec![(1, 1, 1)];
        assert!(!verifies(6, &c, expected(&A, &B)));
    }

    #[test]
    fn a_block_that_does_not_restart_its_sum_is_rejected() {
        // Job 1 carries job 0's output on every row: each chained row holds, only the reset
        // of job 1's first row (chain = 0) is broken.
        let mut c = case();
        let carried = expected(&A, &B)[0];
        let first = (0..3).map(|t| A[t] * B[t * 2]).sum::<i64>();
        c.sum_delta = vec![(1, 0, first), (1, 1, first), (1, 2, first)];
        let mut public = expected(&A, &B);
        public[1] += carried;
        assert!(!verifies(6, &c, public));
    }

    #[test]
    fn operands_not_copied_from_their_producer_are_rejected() {
        // The chip multiplies other values than the producer's cells hold: only the copy
        // constraints can tell.
        // Once in an element of `a`, once in one of `b`: each operand's copy is needed.
        for at in [1, 7] {
            let mut c = case();
            let mut other = c.inputs.clone();
            other[at] += 2;
            c.chip_inputs = Some(other.clone());
            assert!(!verifies(6, &c, expected(&other[..6], &other[6..])), "element {at}");
        }
    }
}
