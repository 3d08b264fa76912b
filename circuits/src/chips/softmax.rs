//! Softmax along one axis, one row per element; a group (the elements sharing every other
//! index) takes consecutive rows of one lane. The group's maximum `m` comes from the max-pool
//! chip (it is one of the elements and no element exceeds it), copied into every row.
//!
//! Columns: advice `x` (copied from the producer), `m` (copied), `d`, `e`, `acc`, `s`, `y` and
//! range-checked limbs of the remainder `r`, of `2s - 1 - r` and of `y`; fixed `exp_tag` and
//! `scale2 = 2^(frac(y)+1)`; selectors `q` (every row), `q_first`, `q_next`, `q_more`, `q_last`.
//! - `d = m - x` and `(exp_tag, d, e)` is a row of the shared table: `e = exp(-d)` as tabulated
//!   (the lookup also bounds `d` to the table's domain);
//! - `acc` is the running sum of `e` (first row `acc = e`, next rows `acc = acc[prev] + e`), `s`
//!   is the same on every row of the group (`s = s[next]`) and equals the last row's `acc`;
//! - `scale2 · e + s = 2 · y · s + r` with `r ∈ [0, 2s)` (both `r` and `2s - 1 - r` are sums of
//!   range-checked limbs) and `y` a sum of range-checked limbs: `y = floor((2·e·2^f + s) / 2s)`
//!   exactly, the integer inference's rounding. `s ≥ exp(0) > 0` since `d = 0` at the maximum.

use halo2_proofs::circuit::{Cell, Layouter, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector};
use halo2_proofs::poly::Rotation;
use serde::{Deserialize, Serialize};

use crate::chips::limbs::{assign_limbs, limb_columns, limbs, split, weighted, Limb, LimbColumn};
use crate::field::fe;
use crate::table::{LookupTable, TableConfig};

/// Limb columns of the chip, chosen by the planner (part of the layout).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoftmaxShape {
    /// Limb columns of the remainder (and as many of `2s - 1 - r`).
    pub r_limbs: usize,
    /// Limb columns of the output.
    pub y_limbs: usize,
}

/// Widest softmax input: the exponential is tabulated over every difference of two inputs.
pub const MAX_INPUT_BITS: u32 = 16;

/// Per-op constants: the exponential's table tag and values, the output scale, the limbs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoftmaxParams {
    exp_tag: u64,
    /// `exp[d]` for `d` in the table's domain `[0, exp.len())`.
    exp: Vec<i64>,
    /// `2^(frac(y) + 1)`.
    scale2: i64,
    r_limbs: Vec<Limb>,
    y_limbs: Vec<Limb>,
}

/// The witness of one element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoftmaxRow {
    pub x: i64,
    pub m: i64,
    pub d: i64,
    pub e: i64,
    pub acc: i64,
    pub s: i64,
    pub y: i64,
    pub cr: Vec<i64>,
    pub cq: Vec<i64>,
    pub cy: Vec<i64>,
}

impl SoftmaxParams {
    /// Softmax over groups of `n` inputs of `in_bits` bits (so `0 ≤ d < 2^in_bits`), with
    /// `exp_table` as quantized (every larger difference maps to its last entry) and an output
    /// with `out_frac` fractional bits.
    pub fn new(
        table: &mut LookupTable,
        exp_table: &[i64],
        in_bits: u32,
        n: usize,
        out_frac: i32,
        limb_bits: u32,
    ) -> Option<Self> {
        if in_bits > MAX_INPUT_BITS {
            return None;
        }
        let last = exp_table.len().checked_sub(1)?;
        let exp: Vec<i64> = (0..1usize << in_bits).map(|d| exp_table[d.min(last)]).collect();
        let s_max = (n as u64).checked_mul(u64::try_from(*exp.first()?).ok()?)?;
        let r_end = i64::try_from(s_max.checked_mul(2)?.checked_next_power_of_two()?).ok()?;
        let scale2 = 2i64 << out_frac.max(0);
        Some(SoftmaxParams {
            exp_tag: table.values_tag((0, exp.len() as i64 - 1), exp.clone()),
            exp,
            scale2,
            r_limbs: limbs(table, r_end, limb_bits),
            y_limbs: limbs(table, scale2, limb_bits),
        })
    }

    /// The limb columns these constants need.
    pub fn shape(&self) -> SoftmaxShape {
        SoftmaxShape { r_limbs: self.r_limbs.len(), y_limbs: self.y_limbs.len() }
    }

    /// The honest witness of one group with inputs `x` and claimed outputs `y` (from the trace).
    pub fn rows(&self, x: &[i64], y: &[i64]) -> Vec<SoftmaxRow> {
        let m = x.iter().copied().max().unwrap_or(0);
        let last = self.exp.len().saturating_sub(1);
        let e: Vec<i64> = x.iter().map(|&v| self.exp[((m - v).max(0) as usize).min(last)]).collect();
        let s: i64 = e.iter().sum();
        let mut acc = 0;
        x.iter()
            .zip(y)
            .zip(&e)
            .map(|((&x, &y), &e)| {
                acc += e;
                let r = self.scale2 * e + s - 2 * y * s;
                SoftmaxRow {
                    x,
                    m,
                    d: m - x,
                    e,
                    acc,
                    s,
                    y,
                    cr: split(r, &self.r_limbs),
                    cq: split(2 * s - 1 - r, &self.r_limbs),
                    cy: split(y, &self.y_limbs),
                }
            })
            .collect()
    }
}

/// Columns and constraints of the softmax chip.
#[derive(Clone, Debug)]
pub struct SoftmaxConfig {
    q: Selector,
    q_first: Selector,
    q_next: Selector,
    q_more: Selector,
    q_last: Selector,
    x: Column<Advice>,
    m: Column<Advice>,
    d: Column<Advice>,
    e: Column<Advice>,
    acc: Column<Advice>,
    s: Column<Advice>,
    y: Column<Advice>,
    exp_tag: Column<Fixed>,
    scale2: Column<Fixed>,
    cr: Vec<LimbColumn>,
    cq: Vec<LimbColumn>,
    cy: Vec<LimbColumn>,
}

/// One group to lay out: the input cells, the cell holding their maximum, the witness rows.
pub struct SoftmaxGroup<'a> {
    pub inputs: &'a [Cell],
    pub max: Cell,
    pub rows: Vec<SoftmaxRow>,
}

impl SoftmaxConfig {
    /// Allocates the chip's columns and constraints against the shared table.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, table: TableConfig, shape: SoftmaxShape) -> Self {
        let [q, q_first, q_next, q_more, q_last] = [(); 5].map(|_| meta.selector());
        let [x, m, d, e, acc, s, y] = [(); 7].map(|_| meta.advice_column());
        let (exp_tag, scale2) = (meta.fixed_column(), meta.fixed_column());
        for c in [x, m, y] {
            meta.enable_equality(c);
        }
        meta.lookup("softmax exponential", |meta| {
            vec![
                (meta.query_fixed(exp_tag, Rotation::cur()), table.tag),
                (meta.query_advice(d, Rotation::cur()), table.input),
                (meta.query_advice(e, Rotation::cur()), table.output),
            ]
        });
        let cr = limb_columns(meta, table, shape.r_limbs, "softmax remainder limb");
        let cq = limb_columns(meta, table, shape.r_limbs, "softmax remainder bound limb");
        let cy = limb_columns(meta, table, shape.y_limbs, "softmax output limb");
        meta.create_gate("softmax", |meta| {
            let [q, q_first, q_next, q_more, q_last] =
                [q, q_first, q_next, q_more, q_last].map(|c| meta.query_selector(c));
            let acc_prev = meta.query_advice(acc, Rotation::prev());
            let s_next = meta.query_advice(s, Rotation::next());
            let [x, m, d, e, acc, s, y] = [x, m, d, e, acc, s, y].map(|c| meta.query_advice(c, Rotation::cur()));
            let scale2 = meta.query_fixed(scale2, Rotation::cur());
            let (r, r_bound, y_limbs) = (weighted(meta, &cr), weighted(meta, &cq), weighted(meta, &cy));
            let two = Expression::Constant(Fr::from(2));
            vec![
                q.clone() * (d - (m - x)),
                q.clone() * (scale2 * e.clone() + s.clone() - two.clone() * y.clone() * s.clone() - r.clone()),
                q.clone() * (two * s.clone() - Expression::Constant(Fr::one()) - r - r_bound),
                q * (y - y_limbs),
                q_first * (acc.clone() - e.clone()),
                q_next * (acc.clone() - acc_prev - e),
                q_more * (s.clone() - s_next),
                q_last * (s - acc),
            ]
        });
        SoftmaxConfig { q, q_first, q_next, q_more, q_last, x, m, d, e, acc, s, y, exp_tag, scale2, cr, cq, cy }
    }

    /// Rows for groups of these sizes.
    pub fn rows(groups: impl IntoIterator<Item = usize>) -> usize {
        groups.into_iter().sum()
    }

    /// Lays out the groups from absolute row `start`; returns the output cells in group order.
    pub fn assign(
        &self,
        layouter: &mut impl Layouter<Fr>,
        start: usize,
        params: &SoftmaxParams,
        groups: &[SoftmaxGroup<'_>],
    ) -> Result<Vec<Cell>, Error> {
        layouter.assign_region(
            || "softmax",
            |mut region| {
                let mut offset = start;
                let mut out = Vec::new();
                for group in groups {
                    let n = group.rows.len();
                    if n == 0 || group.inputs.len() != n {
                        return Err(Error::Synthesis);
                    }
                    for (j, (row, &input)) in group.rows.iter().zip(group.inputs).enumerate() {
                        self.q.enable(&mut region, offset)?;
                        let position = if j == 0 { self.q_first } else { self.q_next };
                        position.enable(&mut region, offset)?;
                        let end = if j + 1 == n { self.q_last } else { self.q_more };
                        end.enable(&mut region, offset)?;
                        region.assign_fixed(self.exp_tag, offset, Fr::from(params.exp_tag));
                        region.assign_fixed(self.scale2, offset, fe(params.scale2));
                        let x = region.assign_advice(self.x, offset, Value::known(fe(row.x)));
                        region.constrain_equal(x.cell(), input);
                        let m = region.assign_advice(self.m, offset, Value::known(fe(row.m)));
                        region.constrain_equal(m.cell(), group.max);
                        for (c, v) in [(self.d, row.d), (self.e, row.e), (self.acc, row.acc), (self.s, row.s)] {
                            region.assign_advice(c, offset, Value::known(fe(v)));
                        }
                        assign_limbs(&mut region, offset, &self.cr, &params.r_limbs, &row.cr)?;
                        assign_limbs(&mut region, offset, &self.cq, &params.r_limbs, &row.cq)?;
                        assign_limbs(&mut region, offset, &self.cy, &params.y_limbs, &row.cy)?;
                        out.push(region.assign_advice(self.y, offset, Value::known(fe(row.y))).cell());
                        offset += 1;
                    }
                }
                Ok(out)
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use zkinfer_quant_models::quant::exp_table;

    use super::*;
    use crate::chips::maxpool::{MaxPoolConfig, Window};
    use crate::chips::test_support::{verifies, ChipCase};

    /// Free inputs → max pool (group maxima) → softmax → outputs in the instance column.
    #[derive(Clone)]
    struct TestCircuit {
        x: Vec<i64>,
        /// Group sizes, over consecutive inputs.
        sizes: Vec<usize>,
        table: LookupTable,
        params: SoftmaxParams,
        max_tag: u64,
        rows: Vec<SoftmaxRow>,
    }

    impl ChipCase for TestCircuit {
        type Chip = (MaxPoolConfig, SoftmaxConfig);

        fn configure_chip(meta: &mut ConstraintSystem<Fr>, table: TableConfig) -> Self::Chip {
            (MaxPoolConfig::configure(meta, table), SoftmaxConfig::configure(meta, table, SHAPE))
        }

        fn inputs(&self) -> &[i64] {
            &self.x
        }

        fn lay_out(
            &self,
            (pool, softmax): &Self::Chip,
            table: TableConfig,
            layouter: &mut impl Layouter<Fr>,
            cells: &[Cell],
        ) -> Result<Vec<Cell>, Error> {
            self.table.assign(layouter, table)?;
            let (mut windows, mut maxima, mut at) = (Vec::new(), Vec::new(), 0);
            for &n in &self.sizes {
                let w: Window = (at..at + n).map(|i| (cells[i], self.x[i])).collect();
                maxima.push(self.x[at..at + n].iter().copied().max().unwrap_or(0));
                windows.push(w);
                at += n;
            }
            let max_cells = pool.assign(layouter, 0, &windows, &maxima, self.max_tag)?;
            let (mut groups, mut at) = (Vec::new(), 0);
            for (&n, &max) in self.sizes.iter().zip(&max_cells) {
                groups.push(SoftmaxGroup { inputs: &cells[at..at + n], max, rows: self.rows[at..at + n].to_vec() });
                at += n;
            }
            softmax.assign(layouter, 0, &self.params, &groups)
        }
    }

    const SHAPE: SoftmaxShape = SoftmaxShape { r_limbs: 3, y_limbs: 1 };
    const OUT_FRAC: i32 = 6;

    /// The integer inference's rounding, written out independently of the chip.
    fn reference(x: &[i64], table: &[i64]) -> Vec<i64> {
        let m = *x.iter().max().unwrap();
        let e: Vec<i64> = x.iter().map(|&v| table[((m - v) as usize).min(table.len() - 1)]).collect();
        let s: i64 = e.iter().sum();
        e.iter().map(|&e| (2 * e * (1 << OUT_FRAC) + s).div_euclid(2 * s)).collect()
    }

    fn case() -> (TestCircuit, Vec<Fr>) {
        let x = vec![3, -5, 3, 0, 127, -128, 7, 40, 41, 39, 38, 30, 0, -20];
        let sizes = vec![4, 2, 1, 7];
        let exp = exp_table(4, 255);
        let mut table = LookupTable::default();
        let max_tag = table.range_tag(256);
        let params = SoftmaxParams::new(&mut table, &exp, 8, 7, OUT_FRAC, 8).unwrap();
        assert_eq!(params.shape(), SHAPE);
        let (mut rows, mut y, mut at) = (Vec::new(), Vec::new(), 0);
        for &n in &sizes {
            let group_y = reference(&x[at..at + n], &exp);
            rows.extend(params.rows(&x[at..at + n], &group_y));
            y.extend(group_y);
            at += n;
        }
        let public = y.iter().map(|&v| fe(v)).collect();
        (TestCircuit { x, sizes, table, params, max_tag, rows }, public)
    }

    fn verify(c: &TestCircuit, public: Vec<Fr>) -> bool {
        verifies(11, c, public)
    }

    /// Re-derives every row of `c` from its (possibly tampered) outputs.
    fn recompute(c: &mut TestCircuit, y: &[i64]) {
        let (mut rows, mut at) = (Vec::new(), 0);
        for &n in &c.sizes {
            rows.extend(c.params.rows(&c.x[at..at + n], &y[at..at + n]));
            at += n;
        }
        c.rows = rows;
    }

    #[test]
    fn honest_softmax_verifies() {
        let (c, public) = case();
        assert_eq!(c.rows[4].y, 64, "a dominant element takes all the mass");
        assert_eq!(c.rows[6].y, 64, "a one-element group is 1");
        assert!(verify(&c, public));
    }

    #[test]
    fn an_output_off_by_one_is_rejected_either_way() {
        for delta in [1, -1] {
            for at in [0, 1, 9] {
                let (mut c, honest) = case();
                let mut y: Vec<i64> = c.rows.iter().map(|r| r.y).collect();
                y[at] += delta;
                recompute(&mut c, &y);
                // The claimed output in the instance, or the honest one with a changed witness.
                let claimed = y.iter().map(|&v| fe(v)).collect();
                assert!(!verify(&c, claimed), "y[{at}] {delta:+}");
                assert!(!verify(&c, honest), "witness y[{at}] {delta:+}");
            }
        }
    }

    #[test]
    fn a_wrong_exponential_is_rejected() {
        let (mut c, public) = case();
        // Consistent running sum and remainder, but `e` not the table's value for `d`.
        c.rows[1].e += 1;
        let s: i64 = c.rows[..4].iter().map(|r| r.e).sum();
        let mut acc = 0;
        for r in &mut c.rows[..4] {
            acc += r.e;
            r.acc = acc;
            r.s = s;
            let rem = c.params.scale2 * r.e + s - 2 * r.y * s;
            r.cr = split(rem, &c.params.r_limbs);
            r.cq = split(2 * s - 1 - rem, &c.params.r_limbs);
        }
        assert!(!verify(&c, public));
    }

    #[test]
    fn a_wrong_maximum_sum_or_difference_is_rejected() {
        let tamper: [fn(&mut SoftmaxRow); 5] =
            [|r| r.m += 1, |r| r.s += 1, |r| r.acc += 1, |r| r.d += 1, |r| r.cq[0] += 1];
        for (i, f) in tamper.iter().enumerate() {
            let (mut c, public) = case();
            f(&mut c.rows[8]);
            assert!(!verify(&c, public), "tamper {i}");
        }
    }

    #[test]
    fn a_shifted_maximum_is_rejected() {
        // Every row uses m + 1 consistently; the max-pool cell still holds the true maximum.
        let (mut c, public) = case();
        for r in &mut c.rows[..4] {
            r.m += 1;
            r.d += 1;
        }
        assert!(!verify(&c, public));
    }

    #[test]
    fn an_output_that_does_not_divide_is_rejected() {
        // y + 1 with the honest, in-range remainder and y's own limbs updated: only the
        // division `scale2 · e + s = 2 · y · s + r` is broken.
        let (mut c, _) = case();
        let row = &mut c.rows[9];
        row.y += 1;
        row.cy = split(row.y, &c.params.y_limbs);
        let claimed = c.rows.iter().map(|r| fe(r.y)).collect();
        assert!(!verify(&c, claimed));
    }
}
