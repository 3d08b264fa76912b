//! Window maximum as a running max, one row per tap inside the input (padding never wins).
//!
//! Columns: advice `x` (the tap, copied from its producer), `m` (running max) and the
//! differences `dp = m - m[prev]`, `dx = m - x`; selectors `q_first` and `q_next`; fixed
//! `range_tag`.
//! - first tap: `m = x`;
//! - next taps: `dp`, `dx` are those differences, `dp · dx = 0` (the max is one of the two), and
//!   both lie in `[0, 2^bits)` (range lookups), so `m ≥` both.
//!
//! The lookups read plain advice columns (degree 1), which keeps the circuit's degree at 4;
//! on rows without a tap the tag and both differences are 0, the table's zero row.
//!
//! The last row of a window holds its maximum.

use halo2_proofs::circuit::{Cell, Layouter, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector};
use halo2_proofs::poly::Rotation;

use crate::field::fe;
use crate::table::TableConfig;

/// Columns and constraints of the max-pool chip.
#[derive(Clone, Copy, Debug)]
pub struct MaxPoolConfig {
    q_first: Selector,
    q_next: Selector,
    x: Column<Advice>,
    m: Column<Advice>,
    dp: Column<Advice>,
    dx: Column<Advice>,
    range_tag: Column<Fixed>,
}

/// One window: its taps' cells and values.
pub type Window = Vec<(Cell, i64)>;

impl MaxPoolConfig {
    /// Allocates the chip's columns and constraints against the shared table.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, table: TableConfig) -> Self {
        let (q_first, q_next) = (meta.selector(), meta.selector());
        let [x, m, dp, dx] = [(); 4].map(|_| meta.advice_column());
        let range_tag = meta.fixed_column();
        meta.enable_equality(x);
        meta.enable_equality(m);
        meta.create_gate("max pool", |meta| {
            let (first, next) = (meta.query_selector(q_first), meta.query_selector(q_next));
            let [x, m_cur, dp, dx] = [x, m, dp, dx].map(|c| meta.query_advice(c, Rotation::cur()));
            let m_prev = meta.query_advice(m, Rotation::prev());
            vec![
                first * (m_cur.clone() - x.clone()),
                next.clone() * (dp.clone() - (m_cur.clone() - m_prev)),
                next.clone() * (dx.clone() - (m_cur - x)),
                next * dp * dx,
            ]
        });
        for (name, diff) in [("max pool ≥ previous", dp), ("max pool ≥ tap", dx)] {
            meta.lookup(name, |meta| {
                vec![
                    (meta.query_fixed(range_tag, Rotation::cur()), table.tag),
                    (meta.query_advice(diff, Rotation::cur()), table.input),
                    (Expression::Constant(Fr::zero()), table.output),
                ]
            });
        }
        MaxPoolConfig { q_first, q_next, x, m, dp, dx, range_tag }
    }

    /// Rows for windows with these tap counts.
    pub fn rows(windows: impl IntoIterator<Item = usize>) -> usize {
        windows.into_iter().sum()
    }

    /// Lays out the windows from absolute row `start`; `maxima` are the claimed maxima (from the
    /// trace), `range_tag` holds `[0, 2^bits)` for differences of `bits`-bit values. Returns one cell per window.
    pub fn assign(
        &self,
        layouter: &mut impl Layouter<Fr>,
        start: usize,
        windows: &[Window],
        maxima: &[i64],
        range_tag: u64,
    ) -> Result<Vec<Cell>, Error> {
        let rows: Vec<Vec<TapRow>> = windows.iter().zip(maxima).map(|(w, &max)| tap_rows(w, max)).collect();
        self.assign_rows(layouter, start, windows, &rows, range_tag)
    }

    /// Lays out windows with the given per-tap witness (honest from [`tap_rows`]; tests hand
    /// in others). Returns each window's last `m` cell.
    fn assign_rows(
        &self,
        layouter: &mut impl Layouter<Fr>,
        start: usize,
        windows: &[Window],
        rows: &[Vec<TapRow>],
        range_tag: u64,
    ) -> Result<Vec<Cell>, Error> {
        layouter.assign_region(
            || "max pool",
            |mut region| {
                let mut offset = start;
                let mut out = Vec::with_capacity(windows.len());
                for (window, rows) in windows.iter().zip(rows) {
                    let mut last = None;
                    for (j, (&(cell, v), row)) in window.iter().zip(rows).enumerate() {
                        if j == 0 {
                            self.q_first.enable(&mut region, offset)?;
                        } else {
                            self.q_next.enable(&mut region, offset)?;
                            region.assign_fixed(self.range_tag, offset, Fr::from(range_tag));
                            region.assign_advice(self.dp, offset, Value::known(fe(row.dp)));
                            region.assign_advice(self.dx, offset, Value::known(fe(row.dx)));
                        }
                        let x = region.assign_advice(self.x, offset, Value::known(fe(v)));
                        region.constrain_equal(x.cell(), cell);
                        last = Some(region.assign_advice(self.m, offset, Value::known(fe(row.m))).cell());
                        offset += 1;
                    }
                    out.push(last.ok_or(Error::Synthesis)?);
                }
                Ok(out)
            },
        )
    }
}

/// The witness of one tap: the running max and its two differences.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TapRow {
    m: i64,
    dp: i64,
    dx: i64,
}

/// The honest rows of a window whose claimed maximum is `max`: the last row carries the claim,
/// so a wrong claim fails there.
fn tap_rows(window: &Window, max: i64) -> Vec<TapRow> {
    let mut running = i64::MIN;
    let mut rows = Vec::with_capacity(window.len());
    for (j, &(_, v)) in window.iter().enumerate() {
        let m = if j + 1 == window.len() { max } else { running.max(v) };
        let (dp, dx) = if j == 0 { (0, 0) } else { (m - running, m - v) };
        rows.push(TapRow { m, dp, dx });
        running = running.max(v);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chips::test_support::{verifies, ChipCase};
    use crate::table::LookupTable;

    #[derive(Clone)]
    struct TestCircuit {
        x: Vec<i64>,
        /// Indices of `x` per window.
        windows: Vec<Vec<usize>>,
        maxima: Vec<i64>,
        /// A hand-written witness `(m, dp, dx)` per tap, instead of the honest one.
        rows: Option<Vec<Vec<(i64, i64, i64)>>>,
    }

    impl ChipCase for TestCircuit {
        type Chip = MaxPoolConfig;

        fn configure_chip(meta: &mut ConstraintSystem<Fr>, table: TableConfig) -> MaxPoolConfig {
            MaxPoolConfig::configure(meta, table)
        }

        fn inputs(&self) -> &[i64] {
            &self.x
        }

        fn lay_out(
            &self,
            pool: &MaxPoolConfig,
            table: TableConfig,
            layouter: &mut impl Layouter<Fr>,
            cells: &[Cell],
        ) -> Result<Vec<Cell>, Error> {
            let mut lookup = LookupTable::default();
            let tag = lookup.range_tag(256);
            lookup.assign(layouter, table)?;
            let windows: Vec<Window> =
                self.windows.iter().map(|w| w.iter().map(|&i| (cells[i], self.x[i])).collect()).collect();
            match &self.rows {
                None => pool.assign(layouter, 0, &windows, &self.maxima, tag),
                Some(rows) => {
                    let rows: Vec<Vec<TapRow>> =
                        rows.iter().map(|w| w.iter().map(|&(m, dp, dx)| TapRow { m, dp, dx }).collect()).collect();
                    pool.assign_rows(layouter, 0, &windows, &rows, tag)
                }
            }
        }
    }

    fn case() -> TestCircuit {
        let x = vec![-5, 3, 3, -128, 127, 0, -1, -7];
        let windows = vec![vec![0, 1, 2, 3], vec![4, 5], vec![6], vec![7, 6, 0]];
        let maxima = windows.iter().map(|w| w.iter().map(|&i| x[i]).max().unwrap()).collect();
        TestCircuit { x, windows, maxima, rows: None }
    }

    fn verify(c: &TestCircuit) -> bool {
        verifies(10, c, c.maxima.iter().map(|&m| fe(m)).collect())
    }

    #[test]
    fn honest_maxima_verify() {
        assert_eq!(case().maxima, vec![3, 127, -1, -1]);
        assert!(verify(&case()));
    }

    #[test]
    fn a_smaller_claim_is_rejected() {
        let mut c = case();
        c.maxima[0] = -5; // one of the taps, but not the largest
        assert!(!verify(&c));
    }

    #[test]
    fn a_larger_claim_is_rejected() {
        let mut c = case();
        c.maxima[1] = 128; // ≥ every tap, but not one of them
        assert!(!verify(&c));
    }

    #[test]
    fn a_single_tap_window_must_equal_its_tap() {
        let mut c = case();
        c.maxima[2] = 0;
        assert!(!verify(&c));
    }

    /// Window `[127, 0]` (taps 4, 5) and `[0, 127]` (taps 5, 4), each claimed to have max 0.
    fn two_tap_case(order: [usize; 2], rows: Vec<(i64, i64, i64)>) -> TestCircuit {
        let x = case().x;
        TestCircuit { x, windows: vec![order.to_vec()], maxima: vec![0], rows: Some(vec![rows]) }
    }

    #[test]
    fn a_running_max_that_drops_is_rejected_by_the_previous_difference() {
        // m: 127 then 0. dx = 0 - 0 = 0 holds and dp · dx = 0; only dp's definition
        // (dp = m - m_prev = -127) is broken by writing dp = 0.
        assert!(!verify(&two_tap_case([4, 5], vec![(127, 0, 0), (0, 0, 0)])));
    }

    #[test]
    fn a_tap_above_the_max_is_rejected_by_the_tap_difference() {
        // m: 0 then 0 while the second tap is 127. dp = 0 holds; only dx's definition
        // (dx = m - x = -127) is broken by writing dx = 0.
        assert!(!verify(&two_tap_case([5, 4], vec![(0, 0, 0), (0, 0, 0)])));
    }

    #[test]
    fn a_first_row_other_than_its_tap_is_rejected() {
        // A one-tap window (the tap is 0) claimed to be 5: only `m = x` on the first row holds
        // the claim down.
        let c = TestCircuit { x: case().x, windows: vec![vec![5]], maxima: vec![5], rows: Some(vec![vec![(5, 0, 0)]]) };
        assert!(!verify(&c));
    }
}
