//! Rounded division fused with a tabulated function: one row per element. It proves
//! requantization (`divisor = 2^shift`, `half = 2^(shift-1)`) fused with the activation, and the
//! mean of an average pool (`mult = 2`, `half = n`, `divisor = 2n`, identity function).
//!
//! Columns: advice `acc` (copied from the producing op), `t`, `r`, `y`; fixed per row `mult`,
//! `divisor`, `half`, `act_tag`, `range_tag`.
//! - gate: `acc · mult + half = t · divisor + r`;
//! - lookup: `(act_tag, t, y)` is in the table, so `t` lies in the op's domain and `y = act(t)`;
//! - lookup: `(range_tag, r, 0)` is in the table, so `0 ≤ r < divisor`.
//!
//! Together these fix `t = floor((acc · mult + half) / divisor)` exactly (no field wrap-around:
//! every term is far below the field size) and `y` to the tabulated function of `t`.
//! Values that the integer inference clamped (saturated) lie outside the domain and cannot be
//! proven; the prover reports them before proving.

use halo2_proofs::circuit::{Cell, Layouter, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Constraints, Error, Expression, Fixed, Selector};
use halo2_proofs::poly::Rotation;

use crate::field::fe;
use crate::table::TableConfig;

/// Per-op constants of one rounded division.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequantParams {
    pub mult: i64,
    pub half: i64,
    pub divisor: i64,
    pub act_tag: u64,
    /// A table tag holding exactly `[0, divisor)`.
    pub range_tag: u64,
}

/// The witness of one element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequantRow {
    pub acc: i64,
    pub t: i64,
    pub r: i64,
    pub y: i64,
}

impl RequantParams {
    /// The honest witness for accumulator `acc` whose function output is `y` (from the trace).
    pub fn row(&self, acc: i64, y: i64) -> RequantRow {
        let scaled = acc as i128 * self.mult as i128 + self.half as i128;
        let t = scaled.div_euclid(self.divisor as i128);
        RequantRow { acc, t: t as i64, r: (scaled - t * self.divisor as i128) as i64, y }
    }
}

/// Columns and constraints of the requant chip.
#[derive(Clone, Copy, Debug)]
pub struct RequantConfig {
    q: Selector,
    acc: Column<Advice>,
    t: Column<Advice>,
    r: Column<Advice>,
    y: Column<Advice>,
    mult: Column<Fixed>,
    divisor: Column<Fixed>,
    half: Column<Fixed>,
    act_tag: Column<Fixed>,
    range_tag: Column<Fixed>,
}

impl RequantConfig {
    /// Allocates the chip's columns and constraints against the shared table.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, table: TableConfig) -> Self {
        let q = meta.complex_selector();
        let [acc, t, r, y] = [(); 4].map(|_| meta.advice_column());
        let [mult, divisor, half, act_tag, range_tag] = [(); 5].map(|_| meta.fixed_column());
        meta.enable_equality(acc);
        meta.enable_equality(y);
        meta.create_gate("requant", |meta| {
            let q = meta.query_selector(q);
            let cur = |c: Column<Advice>, meta: &mut halo2_proofs::plonk::VirtualCells<Fr>| {
                meta.query_advice(c, Rotation::cur())
            };
            let fix = |c: Column<Fixed>, meta: &mut halo2_proofs::plonk::VirtualCells<Fr>| {
                meta.query_fixed(c, Rotation::cur())
            };
            let lhs = cur(acc, meta) * fix(mult, meta) + fix(half, meta);
            let rhs = cur(t, meta) * fix(divisor, meta) + cur(r, meta);
            Constraints::with_selector(q, [lhs - rhs])
        });
        meta.lookup("requant activation", |meta| {
            let q = meta.query_selector(q);
            vec![
                (q.clone() * meta.query_fixed(act_tag, Rotation::cur()), table.tag),
                (q.clone() * meta.query_advice(t, Rotation::cur()), table.input),
                (q * meta.query_advice(y, Rotation::cur()), table.output),
            ]
        });
        meta.lookup("requant remainder range", |meta| {
            let q = meta.query_selector(q);
            vec![
                (q.clone() * meta.query_fixed(range_tag, Rotation::cur()), table.tag),
                (q * meta.query_advice(r, Rotation::cur()), table.input),
                (Expression::Constant(Fr::zero()), table.output),
            ]
        });
        RequantConfig { q, acc, t, r, y, mult, divisor, half, act_tag, range_tag }
    }

    /// Assigns one row per element from absolute row `start` (callers keep a row cursor per
    /// chip); each `acc` is copied from `inputs[i]`. Returns the output cells.
    pub fn assign(
        &self,
        layouter: &mut impl Layouter<Fr>,
        start: usize,
        params: RequantParams,
        inputs: &[Cell],
        rows: &[RequantRow],
    ) -> Result<Vec<Cell>, Error> {
        layouter.assign_region(
            || "requant",
            |mut region| {
                let mut outputs = Vec::with_capacity(rows.len());
                for (i, (row, &input)) in rows.iter().zip(inputs).enumerate() {
                    let offset = start + i;
                    self.q.enable(&mut region, offset)?;
                    region.assign_fixed(self.mult, offset, fe(params.mult));
                    region.assign_fixed(self.divisor, offset, fe(params.divisor));
                    region.assign_fixed(self.half, offset, fe(params.half));
                    region.assign_fixed(self.act_tag, offset, Fr::from(params.act_tag));
                    region.assign_fixed(self.range_tag, offset, Fr::from(params.range_tag));
                    let acc = region.assign_advice(self.acc, offset, Value::known(fe(row.acc)));
                    region.constrain_equal(acc.cell(), input);
                    region.assign_advice(self.t, offset, Value::known(fe(row.t)));
                    region.assign_advice(self.r, offset, Value::known(fe(row.r)));
                    outputs.push(region.assign_advice(self.y, offset, Value::known(fe(row.y))).cell());
                }
                Ok(outputs)
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use zkinfer_quant_models::quant::{signed_range, Activation};

    use super::*;
    use crate::chips::test_support::{verifies, ChipCase};
    use crate::table::LookupTable;

    /// Free accumulators → requant → outputs in the instance column.
    #[derive(Clone)]
    struct TestCircuit {
        /// Values of the producing region (the accumulators the requant must copy).
        inputs: Vec<i64>,
        params: RequantParams,
        table: LookupTable,
        rows: Vec<RequantRow>,
    }

    impl ChipCase for TestCircuit {
        type Chip = RequantConfig;

        fn configure_chip(meta: &mut ConstraintSystem<Fr>, table: TableConfig) -> RequantConfig {
            RequantConfig::configure(meta, table)
        }

        fn inputs(&self) -> &[i64] {
            &self.inputs
        }

        fn lay_out(
            &self,
            chip: &RequantConfig,
            table: TableConfig,
            layouter: &mut impl Layouter<Fr>,
            inputs: &[Cell],
        ) -> Result<Vec<Cell>, Error> {
            self.table.assign(layouter, table)?;
            chip.assign(layouter, 0, self.params, inputs, &self.rows)
        }
    }

    const K: u32 = 11;

    fn relu_case(accs: &[i64]) -> (TestCircuit, Vec<Fr>) {
        let mut table = LookupTable::default();
        let domain = signed_range(8);
        let act_tag = table.function_tag(domain, &Activation::Relu);
        let params = RequantParams { mult: 1, half: 8, divisor: 16, act_tag, range_tag: table.range_tag(16) };
        let rows: Vec<RequantRow> = accs
            .iter()
            .map(|&acc| {
                let t = ((acc + 8) >> 4).clamp(domain.0, domain.1);
                params.row(acc, t.max(0))
            })
            .collect();
        let public = rows.iter().map(|r| fe(r.y)).collect();
        (TestCircuit { inputs: accs.to_vec(), params, table, rows }, public)
    }

    fn verify(circuit: &TestCircuit, public: Vec<Fr>) -> bool {
        verifies(K, circuit, public)
    }

    const ACCS: [i64; 6] = [-300, -8, 7, 8, 100, 2031];

    #[test]
    fn honest_rows_verify() {
        let (c, public) = relu_case(&ACCS);
        assert_eq!(c.rows[3], RequantRow { acc: 8, t: 1, r: 0, y: 1 });
        assert_eq!(c.rows[1], RequantRow { acc: -8, t: 0, r: 0, y: 0 });
        assert!(verify(&c, public));
    }

    #[test]
    fn tampered_output_is_rejected() {
        let (mut c, mut public) = relu_case(&ACCS);
        c.rows[4].y += 1;
        public[4] += Fr::one();
        assert!(!verify(&c, public), "y ≠ relu(t) must fail the activation lookup");
    }

    #[test]
    fn public_output_differing_from_witness_is_rejected() {
        let (c, mut public) = relu_case(&ACCS);
        public[2] = fe(5);
        assert!(!verify(&c, public));
    }

    #[test]
    fn shifted_quotient_with_negative_remainder_is_rejected() {
        // t + 1 with r - 16 still satisfies the gate; only the remainder range check stops it.
        let (mut c, mut public) = relu_case(&ACCS);
        c.rows[4].t += 1;
        c.rows[4].r -= 16;
        c.rows[4].y = c.rows[4].t.max(0);
        public[4] = fe(c.rows[4].y);
        assert!(!verify(&c, public));
    }

    #[test]
    fn remainder_out_of_range_is_rejected() {
        let (mut c, mut public) = relu_case(&ACCS);
        c.rows[4].t -= 1;
        c.rows[4].r += 16; // gate holds, r = 16 + r is outside [0, 16)
        c.rows[4].y = c.rows[4].t.max(0);
        public[4] = fe(c.rows[4].y);
        assert!(!verify(&c, public));
    }

    #[test]
    fn accumulator_not_copied_from_its_producer_is_rejected() {
        // A fully consistent requant row for another accumulator: only the copy constraint
        // to the producing region can tell.
        let (mut c, mut public) = relu_case(&ACCS);
        c.rows[4] = c.params.row(c.rows[4].acc + 160, ((c.rows[4].acc + 160 + 8) >> 4).max(0));
        public[4] = fe(c.rows[4].y);
        assert!(!verify(&c, public));
    }

    #[test]
    fn saturated_value_cannot_be_proven() {
        // 2031 >> 4 = 127 fits; 2040 → 128 is outside the 8-bit domain.
        let (mut c, mut public) = relu_case(&[2040]);
        c.rows[0] = c.params.row(2040, 128);
        public[0] = fe(128);
        assert!(!verify(&c, public));
    }

    #[test]
    fn wrong_table_tag_is_rejected() {
        let (mut c, public) = relu_case(&ACCS);
        c.params.act_tag = c.params.range_tag; // a range table maps every input to 0
        assert!(!verify(&c, public));
    }
}
