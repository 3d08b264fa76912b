//! Column-wise evaluation of halo2 expressions over a block of rows.
//!
//! halo2's evaluator interprets a compiled graph row by row; here each node is one tight loop
//! over a block, and a product or sum with a column reads the column in place. The packed dot
//! gates of dense layers (hundreds of `weight · activation` terms) are mostly such nodes.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::Expression;

/// Borrows each column as a slice, for a [`View`].
pub(crate) fn columns<C: std::ops::Deref<Target = [Fr]>>(columns: &[C]) -> Vec<&[Fr]> {
    columns.iter().map(|c| &c[..]).collect()
}

/// The columns an expression reads, all of one length (the rows or the extended coset).
pub(crate) struct View<'a> {
    pub fixed: Vec<&'a [Fr]>,
    pub advice: Vec<&'a [Fr]>,
    pub instance: Vec<&'a [Fr]>,
    pub challenges: &'a [Fr],
    /// Points per row: 1 on the rows, `N / n` on the extended coset.
    pub scale: usize,
}

impl View<'_> {
    fn len(&self) -> usize {
        self.fixed.first().or(self.advice.first()).map_or(0, |c| c.len())
    }

    /// The column an expression leaf reads and its offset, or `None` for non-leaves.
    fn leaf(&self, expr: &Expression<Fr>) -> Option<(&[Fr], usize)> {
        let (column, rotation) = match expr {
            Expression::Fixed(q) => (self.fixed[q.column_index()], q.rotation().0),
            Expression::Advice(q) => (self.advice[q.column_index()], q.rotation().0),
            Expression::Instance(q) => (self.instance[q.column_index()], q.rotation().0),
            _ => return None,
        };
        let len = column.len() as i64;
        Some((column, (rotation as i64 * self.scale as i64).rem_euclid(len) as usize))
    }
}

/// Writes `expr` at points `start .. start + out.len()` (wrapping) into `out`.
pub(crate) fn evaluate(expr: &Expression<Fr>, view: &View, start: usize, out: &mut [Fr]) {
    let mask = view.len() - 1;
    if let Some((column, offset)) = view.leaf(expr) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = column[(start + i + offset) & mask];
        }
        return;
    }
    match expr {
        Expression::Constant(c) => out.fill(*c),
        Expression::Challenge(c) => out.fill(view.challenges[c.index()]),
        Expression::Negated(a) => {
            evaluate(a, view, start, out);
            out.iter_mut().for_each(|o| *o = -*o);
        }
        Expression::Scaled(a, c) => {
            evaluate(a, view, start, out);
            out.iter_mut().for_each(|o| *o *= c);
        }
        Expression::Sum(a, b) => combine(a, b, view, start, out, |o, v| *o += v),
        Expression::Product(a, b) => combine(a, b, view, start, out, |o, v| *o *= v),
        Expression::Selector(_) => {
            unreachable!("keygen replaces selectors by fixed columns in the proving key's constraint system")
        }
        Expression::Fixed(_) | Expression::Advice(_) | Expression::Instance(_) => unreachable!("leaves handled above"),
    }
}

fn combine(
    a: &Expression<Fr>,
    b: &Expression<Fr>,
    view: &View,
    start: usize,
    out: &mut [Fr],
    op: impl Fn(&mut Fr, Fr),
) {
    // Evaluate the deeper side into `out` so the other is more often a leaf read in place.
    let (a, b) = if view.leaf(a).is_some() { (b, a) } else { (a, b) };
    evaluate(a, view, start, out);
    let mask = view.len() - 1;
    match (view.leaf(b), b) {
        (Some((column, offset)), _) => {
            for (i, o) in out.iter_mut().enumerate() {
                op(o, column[(start + i + offset) & mask]);
            }
        }
        (None, Expression::Constant(c)) => out.iter_mut().for_each(|o| op(o, *c)),
        _ => {
            let mut tmp = vec![Fr::default(); out.len()];
            evaluate(b, view, start, &mut tmp);
            out.iter_mut().zip(tmp).for_each(|(o, v)| op(o, v));
        }
    }
}
