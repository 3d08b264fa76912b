//! Range checks by limbs: a value in `[0, 2^bits)` is the weighted sum of `limb_bits`-bit
//! pieces, each looked up in a small range table, so the table never grows with the range.
//!
//! A chip allocates limb columns (advice limb, fixed weight, fixed range tag, one lookup each)
//! and uses [`weighted`] in its gates; rows without limbs leave the tag at 0, the table's zero
//! row, so the lookup is off there.

use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed, VirtualCells};
use halo2_proofs::poly::Rotation;

use crate::field::{fe, fe128};
use crate::table::{LookupTable, TableConfig};

/// A limb `(value >> shift) mod end`, range-checked by `tag` (`[0, end)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limb {
    pub shift: u32,
    pub end: i64,
    pub tag: u64,
}

/// Limbs covering `[0, end)`: `limb_bits`-bit pieces when `end` is a power of two, else one
/// limb with its own range tag. `end ≤ 1` needs none (the value is 0).
pub fn limbs(table: &mut LookupTable, end: i64, limb_bits: u32) -> Vec<Limb> {
    if end <= 1 {
        return Vec::new();
    }
    if end.count_ones() != 1 {
        return vec![Limb { shift: 0, end, tag: table.range_tag(end) }];
    }
    let bits = end.trailing_zeros();
    (0..bits)
        .step_by(limb_bits as usize)
        .map(|shift| {
            let width = limb_bits.min(bits - shift);
            Limb { shift, end: 1 << width, tag: table.range_tag(1 << width) }
        })
        .collect()
}

/// Limbs covering the multiples of `2^base_bits` in `[0, end)`: the limbs of `end >> base_bits`
/// moved up by `base_bits`, so that [`split`] reads their digits straight from a value.
pub fn limbs_above(table: &mut LookupTable, end: i64, base_bits: u32, limb_bits: u32) -> Vec<Limb> {
    let mut out = limbs(table, end >> base_bits, limb_bits);
    for limb in &mut out {
        limb.shift += base_bits;
    }
    out
}

/// The limb values of `value`. The last limb keeps the high bits unreduced, so a value out of
/// range shows up as a last limb outside its table range (and fails the lookup).
pub fn split(value: i64, limbs: &[Limb]) -> Vec<i64> {
    let last = limbs.len().saturating_sub(1);
    limbs
        .iter()
        .enumerate()
        .map(|(i, l)| if i == last { value >> l.shift } else { (value >> l.shift).rem_euclid(l.end) })
        .collect()
}

/// One limb column: the limb, its weight `2^shift` and its range tag.
pub type LimbColumn = (Column<Advice>, Column<Fixed>, Column<Fixed>);

/// Allocates `n` limb columns, each with its range lookup.
pub fn limb_columns(
    meta: &mut ConstraintSystem<Fr>,
    table: TableConfig,
    n: usize,
    name: &'static str,
) -> Vec<LimbColumn> {
    (0..n)
        .map(|_| {
            let (c, weight, tag) = (meta.advice_column(), meta.fixed_column(), meta.fixed_column());
            meta.lookup(name, |meta| {
                vec![
                    (meta.query_fixed(tag, Rotation::cur()), table.tag),
                    (meta.query_advice(c, Rotation::cur()), table.input),
                    (Expression::Constant(Fr::zero()), table.output),
                ]
            });
            (c, weight, tag)
        })
        .collect()
}

/// `Σ weight · limb` over the columns at the current row: the value the limbs stand for.
pub fn weighted(meta: &mut VirtualCells<'_, Fr>, columns: &[LimbColumn]) -> Expression<Fr> {
    columns.iter().fold(Expression::Constant(Fr::zero()), |sum, &(c, w, _)| {
        sum + meta.query_fixed(w, Rotation::cur()) * meta.query_advice(c, Rotation::cur())
    })
}

/// Assigns `value`'s limbs at `offset`; fails when the columns are fewer than the limbs.
pub fn assign_limbs(
    region: &mut Region<'_, Fr>,
    offset: usize,
    columns: &[LimbColumn],
    limbs: &[Limb],
    values: &[i64],
) -> Result<(), Error> {
    if limbs.len() > columns.len() || values.len() != limbs.len() {
        return Err(Error::Synthesis);
    }
    for (&(c, w, tag), (limb, &v)) in columns.iter().zip(limbs.iter().zip(values)) {
        region.assign_fixed(w, offset, fe128(1i128 << limb.shift));
        region.assign_fixed(tag, offset, Fr::from(limb.tag));
        region.assign_advice(c, offset, Value::known(fe(v)));
    }
    Ok(())
}
