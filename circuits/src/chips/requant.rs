//! Rounded division fused with the activation: one row per element. It proves requantization
//! (`divisor = 2^shift`, `half = 2^(shift-1)`) fused with ReLU, identity or a tabulated
//! function, and the mean of an average pool (`mult = 2`, `half = n`, `divisor = 2n`).
//!
//! Columns: advice `acc` (copied from the producing op), `t`, `y`, `s` and range-checked limbs
//! `cr_*` (of the remainder), `cu_*` (of `t`'s offset below `h`) and `cv_*` (of the multiples
//! of `h` a ReLU's negative side needs); fixed per row `mult`, `half`, `divisor`, `h`, a weight
//! and a range tag per limb; selectors `q_relu`, `q_ident`, `q_table`.
//! - every row: `acc · mult + half = t · divisor + r` with `r = Σ wr_i · cr_i`, each limb in its
//!   tag's range (so `0 ≤ r < divisor`): `t = floor((acc · mult + half) / divisor)` exactly;
//! - identity rows: `t + h = s · h + u` with `u = Σ wu_j · cu_j ∈ [0, h)` and `s ∈ {0, 1}`, so
//!   `t ∈ [-h, h)`; then `y = t`;
//! - ReLU rows (the `h` column holds `L`, a power of two at least `h` that bounds `-t` from the
//!   accumulator's width): `t = u + (1 - s)·(v - L)` with `u ∈ [0, h)` and `v = Σ wv_j · cv_j`
//!   a multiple of `h` below `L`. With `s = 1`, `t = u ∈ [0, h)`; with `s = 0`,
//!   `t = u + v - L ∈ [-L, 0)`. Then `y = s · u`: a ReLU input below the activation range is
//!   proven (its output is exactly 0); only the positive side saturates;
//! - tabulated rows: `(tag, t, y)` is a row of the shared table (domain and function at once).
//!
//! Splitting ranges into limbs keeps the table small (`2^limb_bits` rows per width), so the
//! table never forces the circuit taller than its chips; only tabulated activations need a
//! table over their whole domain. Every lookup reads plain columns, keeping the degree at 4.
//! Values the integer inference clamped (saturated) lie outside the proven ranges and cannot
//! be proven.

use halo2_proofs::circuit::{Cell, Layouter, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector};
use halo2_proofs::poly::Rotation;
use serde::{Deserialize, Serialize};

use crate::chips::limbs::{assign_limbs, limb_columns, split, weighted, Limb, LimbColumn};
use crate::field::fe;
use crate::table::TableConfig;

/// Column shape of the chip, chosen by the planner (part of the layout).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequantShape {
    /// Limb columns of the remainder.
    pub r_limbs: usize,
    /// Limb columns of `t + h - s·h` (below `h`).
    pub u_limbs: usize,
    /// Limb columns of the multiples of `h` on a ReLU's negative side.
    pub v_limbs: usize,
    /// Whether rows with tabulated activations exist (adds two columns and a lookup).
    pub table: bool,
}

/// How the output follows from the quotient `t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Relu,
    Identity,
    /// `y = table(tag, t)`.
    Table(u64),
}

/// Per-op constants of one rounded division.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequantParams {
    pub mult: i64,
    pub half: i64,
    pub divisor: i64,
    pub output: Output,
    /// `t ∈ [-h, h)` for identity, `t < h` for ReLU (a power of two).
    pub h: i64,
    /// A ReLU's `t ≥ -low` (a power of two, at least `h`, from the accumulator's width).
    pub low: i64,
    /// Limbs of the remainder (covering `[0, divisor)`).
    pub r_limbs: Vec<Limb>,
    /// Limbs of `u` (covering `[0, h)`); empty for tabulated outputs.
    pub u_limbs: Vec<Limb>,
    /// Limbs of `v` (multiples of `h` covering `[0, low)`, shifts above `h`'s bits); ReLU only.
    pub v_limbs: Vec<Limb>,
}

/// The witness of one element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequantRow {
    pub acc: i64,
    pub t: i64,
    pub y: i64,
    pub s: i64,
    pub cr: Vec<i64>,
    pub cu: Vec<i64>,
    pub cv: Vec<i64>,
}

impl RequantParams {
    /// `t = floor((acc · mult + half) / divisor)` and its remainder `r`.
    pub fn quotient(&self, acc: i64) -> (i64, i64) {
        let scaled = acc as i128 * self.mult as i128 + self.half as i128;
        let t = scaled.div_euclid(self.divisor as i128);
        (t as i64, (scaled - t * self.divisor as i128) as i64)
    }

    /// The honest witness for accumulator `acc` whose function output is `y` (from the trace).
    pub fn row(&self, acc: i64, y: i64) -> RequantRow {
        let (t, r) = self.quotient(acc);
        let s = i64::from(t >= 0);
        let (s, u, v) = match self.output {
            Output::Table(_) => (0, 0, 0),
            Output::Identity => (s, t + self.h - s * self.h, 0),
            Output::Relu if t >= 0 => (1, t, 0),
            // `t + low` splits into its part below `h` and its multiple of `h`.
            Output::Relu => (0, (t + self.low).rem_euclid(self.h), t + self.low),
        };
        RequantRow {
            acc,
            t,
            y,
            s,
            cr: split(r, &self.r_limbs),
            cu: split(u, &self.u_limbs),
            cv: split(v, &self.v_limbs),
        }
    }
}

/// Selector, `t` and `y` copies and tag column of the tabulated-activation lookup.
type TableLookup = (Selector, Column<Advice>, Column<Advice>, Column<Fixed>);

/// Columns and constraints of the requant chip.
#[derive(Clone, Debug)]
pub struct RequantConfig {
    shape: RequantShape,
    q_relu: Selector,
    q_ident: Selector,
    /// With `(ta, ya, act_tag)` only when the shape has tabulated rows.
    q_table: Option<TableLookup>,
    acc: Column<Advice>,
    t: Column<Advice>,
    y: Column<Advice>,
    s: Column<Advice>,
    cr: Vec<LimbColumn>,
    cu: Vec<LimbColumn>,
    cv: Vec<LimbColumn>,
    mult: Column<Fixed>,
    half: Column<Fixed>,
    divisor: Column<Fixed>,
    h: Column<Fixed>,
}

impl RequantConfig {
    /// Allocates the chip's columns and constraints against the shared table.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, table: TableConfig, shape: RequantShape) -> Self {
        let (q_relu, q_ident) = (meta.complex_selector(), meta.complex_selector());
        let [acc, t, y, s] = [(); 4].map(|_| meta.advice_column());
        let [mult, half, divisor, h] = [(); 4].map(|_| meta.fixed_column());
        meta.enable_equality(acc);
        meta.enable_equality(y);
        let cr = limb_columns(meta, table, shape.r_limbs, "requant remainder limb");
        let cu = limb_columns(meta, table, shape.u_limbs, "requant domain limb");
        let cv = limb_columns(meta, table, shape.v_limbs, "requant negative-side limb");
        let q_table = shape.table.then(|| {
            let (q, ta, ya, tag) =
                (meta.complex_selector(), meta.advice_column(), meta.advice_column(), meta.fixed_column());
            meta.lookup("requant tabulated activation", |meta| {
                vec![
                    (meta.query_fixed(tag, Rotation::cur()), table.tag),
                    (meta.query_advice(ta, Rotation::cur()), table.input),
                    (meta.query_advice(ya, Rotation::cur()), table.output),
                ]
            });
            (q, ta, ya, tag)
        });
        meta.create_gate("requant", |meta| {
            let [acc, t, y, s] = [acc, t, y, s].map(|c| meta.query_advice(c, Rotation::cur()));
            let [mult, half, divisor, h] = [mult, half, divisor, h].map(|c| meta.query_fixed(c, Rotation::cur()));
            let (relu, ident) = (meta.query_selector(q_relu), meta.query_selector(q_ident));
            let (r, u, v) = (weighted(meta, &cr), weighted(meta, &cu), weighted(meta, &cv));
            let mut constraints = Vec::new();
            let mut any = relu.clone() + ident.clone();
            if let Some((q, ta, ya, _)) = q_table {
                let q = meta.query_selector(q);
                any = any + q.clone();
                constraints.push(q.clone() * (meta.query_advice(ta, Rotation::cur()) - t.clone()));
                constraints.push(q * (meta.query_advice(ya, Rotation::cur()) - y.clone()));
            }
            let one = Expression::Constant(Fr::one());
            constraints.push(any.clone() * (acc * mult + half - t.clone() * divisor - r));
            constraints.push(any * s.clone() * (one.clone() - s.clone()));
            constraints.push(ident.clone() * (t.clone() + h.clone() - s.clone() * h.clone() - u.clone()));
            constraints.push(relu.clone() * (t.clone() - u.clone() - (one - s.clone()) * (v - h)));
            constraints.push(relu * (y.clone() - s * u));
            constraints.push(ident * (y - t));
            constraints
        });
        RequantConfig { shape, q_relu, q_ident, q_table, acc, t, y, s, cr, cu, cv, mult, half, divisor, h }
    }

    /// Assigns one row per element from absolute row `start` (callers keep a row cursor per
    /// lane); each `acc` is copied from `inputs[i]`. Returns the output cells.
    pub fn assign(
        &self,
        layouter: &mut impl Layouter<Fr>,
        start: usize,
        params: &RequantParams,
        inputs: &[Cell],
        rows: &[RequantRow],
    ) -> Result<Vec<Cell>, Error> {
        if params.r_limbs.len() > self.shape.r_limbs
            || params.u_limbs.len() > self.shape.u_limbs
            || params.v_limbs.len() > self.shape.v_limbs
        {
            return Err(Error::Synthesis);
        }
        layouter.assign_region(
            || "requant",
            |mut region| {
                let mut outputs = Vec::with_capacity(rows.len());
                for (i, (row, &input)) in rows.iter().zip(inputs).enumerate() {
                    let offset = start + i;
                    match params.output {
                        Output::Relu => self.q_relu.enable(&mut region, offset)?,
                        Output::Identity => self.q_ident.enable(&mut region, offset)?,
                        Output::Table(tag) => {
                            let (q, ta, ya, tag_col) = self.q_table.ok_or(Error::Synthesis)?;
                            q.enable(&mut region, offset)?;
                            region.assign_fixed(tag_col, offset, Fr::from(tag));
                            region.assign_advice(ta, offset, Value::known(fe(row.t)));
                            region.assign_advice(ya, offset, Value::known(fe(row.y)));
                        }
                    }
                    region.assign_fixed(self.mult, offset, fe(params.mult));
                    region.assign_fixed(self.divisor, offset, fe(params.divisor));
                    region.assign_fixed(self.half, offset, fe(params.half));
                    let h = if params.output == Output::Relu { params.low } else { params.h };
                    region.assign_fixed(self.h, offset, fe(h));
                    assign_limbs(&mut region, offset, &self.cr, &params.r_limbs, &row.cr)?;
                    assign_limbs(&mut region, offset, &self.cu, &params.u_limbs, &row.cu)?;
                    assign_limbs(&mut region, offset, &self.cv, &params.v_limbs, &row.cv)?;
                    let acc = region.assign_advice(self.acc, offset, Value::known(fe(row.acc)));
                    region.constrain_equal(acc.cell(), input);
                    region.assign_advice(self.t, offset, Value::known(fe(row.t)));
                    region.assign_advice(self.s, offset, Value::known(fe(row.s)));
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
    use crate::chips::limbs::{limbs, limbs_above};
    use crate::chips::test_support::{verifies, ChipCase};
    use crate::table::LookupTable;

    const SHAPE: RequantShape = RequantShape { r_limbs: 2, u_limbs: 4, v_limbs: 3, table: true };

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
            RequantConfig::configure(meta, table, SHAPE)
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
            chip.assign(layouter, 0, &self.params, inputs, &self.rows)
        }
    }

    const K: u32 = 9;

    /// Requant by 2^-4 (limbs of 2 bits) into int8, with `act` applied to `t`.
    fn case(accs: &[i64], kind: &str) -> (TestCircuit, Vec<Fr>) {
        let mut table = LookupTable::default();
        let domain = signed_range(8);
        let (output, act): (Output, Box<dyn Fn(i64) -> i64>) = match kind {
            "relu" => (Output::Relu, Box::new(|t: i64| t.max(0))),
            "identity" => (Output::Identity, Box::new(|t| t)),
            _ => {
                let values: Vec<i64> = (domain.0..=domain.1).map(|t| t / 3).collect();
                let activation = Activation::Table { func: zkinfer_quant_models::ActFn::Sigmoid, values };
                (Output::Table(table.function_tag(domain, &activation)), Box::new(|t| t / 3))
            }
        };
        let mut params = RequantParams {
            mult: 1,
            half: 8,
            divisor: 16,
            output,
            h: 128,
            low: 128,
            r_limbs: limbs(&mut table, 16, 2),
            u_limbs: Vec::new(),
            v_limbs: Vec::new(),
        };
        if !matches!(output, Output::Table(_)) {
            params.u_limbs = limbs(&mut table, 128, 2);
        }
        if output == Output::Relu {
            // Accumulators down to -2^15 give quotients down to -2^11.
            params.low = 1 << 11;
            params.v_limbs = limbs_above(&mut table, 1 << 11, 7, 2);
        }
        let rows: Vec<RequantRow> = accs
            .iter()
            .map(|&acc| {
                let t = ((acc + 8) >> 4).min(domain.1);
                let t = if kind == "relu" { t } else { t.max(domain.0) };
                params.row(acc, act(t))
            })
            .collect();
        let public = rows.iter().map(|r| fe(r.y)).collect();
        (TestCircuit { inputs: accs.to_vec(), params, table, rows }, public)
    }

    fn verify(circuit: &TestCircuit, public: Vec<Fr>) -> bool {
        verifies(K, circuit, public)
    }

    /// The remainder and `u` a row's limbs stand for.
    fn recompose(params: &RequantParams, row: &RequantRow) -> (i64, i64) {
        let sum = |c: &[i64], l: &[Limb]| c.iter().zip(l).map(|(v, l)| v << l.shift).sum();
        (sum(&row.cr, &params.r_limbs), sum(&row.cu, &params.u_limbs))
    }

    const ACCS: [i64; 6] = [-300, -8, 7, 8, 100, 2031];

    #[test]
    fn honest_rows_verify_for_each_output_kind() {
        for kind in ["relu", "identity", "table"] {
            let (c, public) = case(&ACCS, kind);
            assert!(verify(&c, public), "{kind}");
        }
        let (c, _) = case(&ACCS, "relu");
        assert_eq!(c.params.r_limbs.len(), 2);
        assert_eq!(c.params.u_limbs.iter().map(|l| l.end).collect::<Vec<_>>(), vec![4, 4, 4, 2]);
        assert_eq!((c.rows[3].t, c.rows[3].y, c.rows[3].s), (1, 1, 1));
        assert_eq!(recompose(&c.params, &c.rows[4]), (12, 6));
    }

    #[test]
    fn tampered_output_is_rejected() {
        for kind in ["relu", "identity", "table"] {
            let (mut c, mut public) = case(&ACCS, kind);
            c.rows[4].y += 1;
            public[4] += Fr::one();
            assert!(!verify(&c, public), "{kind}: y ≠ act(t) accepted");
        }
    }

    #[test]
    fn public_output_differing_from_witness_is_rejected() {
        let (c, mut public) = case(&ACCS, "relu");
        public[2] = fe(5);
        assert!(!verify(&c, public));
    }

    #[test]
    fn shifted_quotient_with_negative_remainder_is_rejected() {
        // t + 1 with r - 16 satisfies the division gate; only the limb ranges stop it.
        for kind in ["relu", "table"] {
            let (mut c, mut public) = case(&ACCS, kind);
            let row = &mut c.rows[4];
            row.t += 1;
            row.cr[0] -= 16;
            row.y = if kind == "relu" { row.t.max(0) } else { row.t / 3 };
            if kind == "relu" {
                row.cu = split(row.t + 128 - 128, &c.params.u_limbs);
            }
            public[4] = fe(row.y);
            assert!(!verify(&c, public), "{kind}");
        }
    }

    #[test]
    fn a_quotient_that_does_not_divide_is_rejected() {
        // Row 4 (acc 100 → t = 6) claims t = 11 with the same, in-range remainder; `u`, `v`, `s`
        // and `y` all follow t = 11 consistently. Only the division constraint is broken.
        for kind in ["relu", "identity", "table"] {
            let (mut c, mut public) = case(&ACCS, kind);
            let honest = c.rows[4].clone();
            let t = honest.t + 5;
            let y = if kind == "table" { t / 3 } else { t };
            let forged = c.params.row(c.params.divisor * t - c.params.half, y);
            c.rows[4] = RequantRow { acc: honest.acc, cr: honest.cr, ..forged };
            public[4] = fe(y);
            assert!(!verify(&c, public), "{kind}");
        }
    }

    #[test]
    fn a_sign_bit_that_is_not_a_bit_is_rejected() {
        // acc = 2400: t = 150, saturated (≥ h = 128). With s = 2 the identity row reads
        // t + h = 2h + u: u = 22 is in range and y = t = 150 escapes the domain. Only
        // `s ∈ {0, 1}` is broken.
        let (mut c, _) = case(&[2400], "identity");
        let row = &mut c.rows[0];
        assert_eq!(row.t, 150);
        row.s = 2;
        row.cu = split(22, &c.params.u_limbs);
        row.y = 150;
        assert!(!verify(&c, vec![fe(150)]));
    }

    #[test]
    fn remainder_out_of_range_is_rejected() {
        let (mut c, mut public) = case(&ACCS, "relu");
        let row = &mut c.rows[4];
        row.t -= 1;
        row.cr[1] += 4; // r + 16: the top limb leaves [0, 4)
        row.y = row.t.max(0);
        row.cu = split(row.t, &c.params.u_limbs);
        public[4] = fe(row.y);
        assert!(!verify(&c, public));
    }

    #[test]
    fn wrong_sign_bit_is_rejected() {
        // t = 6 ≥ 0 claimed negative: t + L = 2054 ≥ L, so the top negative-side limb leaves
        // its range (every other constraint holds).
        let (mut c, mut public) = case(&ACCS, "relu");
        let low = c.params.low;
        let row = &mut c.rows[4];
        row.s = 0;
        row.cu = split((row.t + low) % 128, &c.params.u_limbs);
        row.cv = split(row.t + low, &c.params.v_limbs);
        row.y = 0;
        public[4] = fe(0);
        assert!(!verify(&c, public));
        // The identity's sign bit: t = 6 claimed negative needs u = t + h = 134 ≥ h.
        let (mut c, public) = case(&ACCS, "identity");
        let row = &mut c.rows[4];
        row.s = 0;
        row.cu = split(row.t + 128, &c.params.u_limbs);
        assert!(!verify(&c, public));
    }

    #[test]
    fn relu_input_far_below_the_range_is_proven_as_zero() {
        // acc = -30000: t = -1875, far below -128; the honest row proves y = 0.
        let (c, public) = case(&[-30000], "relu");
        assert_eq!((c.rows[0].t, c.rows[0].s, c.rows[0].y), (-1875, 0, 0));
        assert!(verify(&c, public));
        // Claiming it non-negative (s = 1, y = t) needs u = t < 0: out of the limb range.
        let (mut c, mut public) = case(&[-30000], "relu");
        let row = &mut c.rows[0];
        row.s = 1;
        row.y = row.t;
        row.cu = split(row.t, &c.params.u_limbs);
        row.cv = vec![0; c.params.v_limbs.len()];
        public[0] = fe(row.y);
        assert!(!verify(&c, public));
    }

    #[test]
    fn a_negative_relu_row_with_a_non_zero_output_is_rejected() {
        // acc = -300: t = -19, s = 0, u = (t + L) mod h = 109. Claiming y = u = 109 keeps every
        // limb and the decomposition honest; only `y = s · u` is broken.
        let (mut c, mut public) = case(&[-300], "relu");
        let row = &mut c.rows[0];
        assert_eq!((row.t, row.s, row.y), (-19, 0, 0));
        row.y = 109;
        public[0] = fe(109);
        assert!(!verify(&c, public));
    }

    #[test]
    fn accumulator_not_copied_from_its_producer_is_rejected() {
        // A fully consistent row for another accumulator: only the copy constraint can tell.
        let (mut c, mut public) = case(&ACCS, "relu");
        let acc = c.rows[4].acc + 160;
        c.rows[4] = c.params.row(acc, ((acc + 8) >> 4).max(0));
        public[4] = fe(c.rows[4].y);
        assert!(!verify(&c, public));
    }

    #[test]
    fn saturated_value_cannot_be_proven() {
        // 2031 → 127 fits; 2040 → 128 is outside the 8-bit domain (for every output kind).
        for kind in ["relu", "identity", "table"] {
            let (mut c, mut public) = case(&[2040], kind);
            c.rows[0] = c.params.row(2040, if kind == "table" { 128 / 3 } else { 128 });
            public[0] = fe(c.rows[0].y);
            assert!(!verify(&c, public), "{kind}");
        }
    }

    #[test]
    fn wrong_table_tag_is_rejected() {
        let (mut c, public) = case(&ACCS, "table");
        c.params.output = Output::Table(c.params.r_limbs[0].tag); // a range tag maps every input to 0
        assert!(!verify(&c, public));
    }
}
