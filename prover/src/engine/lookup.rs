//! halo2's lookup argument (Plookup-style permuted columns and a grand product), prover side.

use std::collections::BTreeMap;

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::{BatchInvert, Field, PrimeField};
use halo2_proofs::plonk::Expression;
use rand_core::RngCore;
use rayon::prelude::*;

use super::expression::{evaluate, View};

/// One side (input or table) of a lookup on the rows: each expression's values and their
/// θ-compression. The parts are small integers where the compression is a random-looking
/// field element; [`Permuted::commitment_parts`] commits through them.
pub(crate) struct Side {
    pub parts: Vec<Vec<Fr>>,
    pub compressed: Vec<Fr>,
}

impl Side {
    /// `expressions` on every row of `view`, and `θ^{m-1}·e_0 + … + e_{m-1}`.
    pub(crate) fn on_rows(expressions: &[Expression<Fr>], view: &View, rows: usize, theta: Fr) -> Self {
        let parts: Vec<Vec<Fr>> = expressions
            .iter()
            .map(|e| {
                let mut out = vec![Fr::ZERO; rows];
                evaluate(e, view, 0, &mut out);
                out
            })
            .collect();
        let mut compressed = vec![Fr::ZERO; rows];
        for part in &parts {
            compressed.iter_mut().zip(part).for_each(|(a, v)| *a = *a * theta + v);
        }
        Side { parts, compressed }
    }
}

/// The θ-compressed input and table of one lookup on the rows, their permutations, and the
/// rows of the input and table each usable permuted row was taken from.
pub(crate) struct Permuted {
    pub input: Side,
    pub table: Side,
    pub permuted_input: Vec<Fr>,
    pub permuted_table: Vec<Fr>,
    input_sources: Vec<usize>,
    table_sources: Vec<usize>,
}

/// `θ^{m-1}·e_0 + … + e_{m-1}` of `expressions` at points `start .. start + out.len()` of
/// `view`, into `out` (`tmp` is scratch of the same length).
pub(crate) fn compress(
    expressions: &[Expression<Fr>],
    view: &View,
    start: usize,
    theta: Fr,
    out: &mut [Fr],
    tmp: &mut [Fr],
) {
    out.fill(Fr::ZERO);
    for expr in expressions {
        evaluate(expr, view, start, tmp);
        out.iter_mut().zip(tmp.iter()).for_each(|(a, v)| *a = *a * theta + v);
    }
}

/// Sorts the usable rows of the input so equal values are adjacent and puts the same value in
/// the table column at the first row of each run (the other table rows take the unused table
/// values); the blinding rows are random. Fails when an input value is not in the table.
pub(crate) fn permute(input: Side, table: Side, usable: usize, rng: &mut impl RngCore) -> Result<Permuted, String> {
    let rows = input.compressed.len();
    // Each distinct input value: its count and a row holding it.
    let mut counts: BTreeMap<[u8; 32], (usize, usize)> = BTreeMap::new();
    for (row, v) in input.compressed[..usable].iter().enumerate() {
        counts.entry(v.to_repr()).or_insert((0, row)).0 += 1;
    }
    let mut sorted: Vec<([u8; 32], usize)> =
        table.compressed[..usable].iter().enumerate().map(|(row, v)| (v.to_repr(), row)).collect();
    sorted.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut spare = Vec::with_capacity(usable);
    let mut first_rows = BTreeMap::new();
    for (i, (key, row)) in sorted.iter().enumerate() {
        let first = i == 0 || sorted[i - 1].0 != *key;
        if first && counts.contains_key(key) {
            first_rows.insert(*key, *row);
        } else {
            spare.push(*row);
        }
    }
    if first_rows.len() != counts.len() {
        return Err(format!("{} looked-up values are not in their table", counts.len() - first_rows.len()));
    }
    let mut input_sources = Vec::with_capacity(usable);
    let mut table_sources = Vec::with_capacity(usable);
    let mut spare = spare.into_iter();
    for ((key, (count, row)), table_row) in counts.into_iter().zip(first_rows.into_values()) {
        debug_assert!(table.compressed[table_row].to_repr() == key);
        input_sources.extend(std::iter::repeat_n(row, count));
        table_sources.push(table_row);
        table_sources.extend(spare.by_ref().take(count - 1));
    }
    let mut pick = |values: &[Fr], sources: &[usize]| -> Vec<Fr> {
        let mut out: Vec<Fr> = sources.iter().map(|&r| values[r]).collect();
        out.resize_with(rows, || Fr::random(&mut *rng));
        out
    };
    let permuted_input = pick(&input.compressed, &input_sources);
    let permuted_table = pick(&table.compressed, &table_sources);
    Ok(Permuted { input, table, permuted_input, permuted_table, input_sources, table_sources })
}

impl Permuted {
    /// The permuted input and table as parts whose θ-combination they are: each part holds one
    /// expression's value at the permuted row's source, the last part also the random blinding
    /// rows. A commitment is linear, so `C(A') = Σ θ^{m-1-j}·C(part_j)`: `2m` small-scalar
    /// MSMs in place of two full-width ones, which at 2^11 rows cost about ten times more.
    pub(crate) fn commitment_parts(&self) -> [Vec<Vec<Fr>>; 2] {
        let parts = |side: &Side, sources: &[usize], permuted: &[Fr]| -> Vec<Vec<Fr>> {
            let last = side.parts.len().saturating_sub(1);
            side.parts
                .iter()
                .enumerate()
                .map(|(j, part)| {
                    let mut out: Vec<Fr> = sources.iter().map(|&r| part[r]).collect();
                    if j == last {
                        out.extend_from_slice(&permuted[sources.len()..]);
                    } else {
                        out.resize(permuted.len(), Fr::ZERO);
                    }
                    out
                })
                .collect()
        };
        [
            parts(&self.input, &self.input_sources, &self.permuted_input),
            parts(&self.table, &self.table_sources, &self.permuted_table),
        ]
    }
}

/// The grand product `Z` on the rows: `Z_0 = 1`, `Z_{i+1} = Z_i·(A_i+β)(S_i+γ)/((A'_i+β)(S'_i+γ))`
/// up to the last usable row, random on the `blinding` rows after it.
pub(crate) fn product(p: &Permuted, beta: Fr, gamma: Fr, blinding: usize, rng: &mut impl RngCore) -> Vec<Fr> {
    let rows = p.permuted_input.len();
    let mut ratio: Vec<Fr> =
        p.permuted_input.par_iter().zip(&p.permuted_table).map(|(a, s)| (beta + a) * (gamma + s)).collect();
    ratio.iter_mut().batch_invert();
    ratio
        .par_iter_mut()
        .zip(&p.input.compressed)
        .zip(&p.table.compressed)
        .for_each(|((r, a), s)| *r *= (*a + beta) * (*s + gamma));
    let mut z = Vec::with_capacity(rows);
    let mut acc = Fr::ONE;
    z.push(acc);
    for r in &ratio[..rows - blinding - 1] {
        acc *= r;
        z.push(acc);
    }
    z.resize_with(rows, || Fr::random(&mut *rng));
    z
}

#[cfg(test)]
mod tests {
    use halo2_proofs::halo2curves::bn256::Fr;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use halo2_proofs::halo2curves::ff::Field;

    use super::{permute, Side};

    fn fr(v: &[u64]) -> Vec<Fr> {
        v.iter().map(|&v| Fr::from(v)).collect()
    }

    /// A side of one expression.
    fn side(v: &[u64]) -> Side {
        Side { parts: vec![fr(v)], compressed: fr(v) }
    }

    /// A side of two expressions (`θ·a + b`).
    fn pair_side(a: &[u64], b: &[u64], theta: Fr) -> Side {
        let compressed = fr(a).iter().zip(fr(b)).map(|(a, b)| *a * theta + b).collect();
        Side { parts: vec![fr(a), fr(b)], compressed }
    }

    /// On the usable rows the permuted input is the input sorted into runs, each run starting
    /// at a table row with the same value, and the permuted table is a permutation of the table.
    #[test]
    fn permuted_columns_satisfy_the_lookup_rules() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let input = [3, 1, 3, 0, 3, 2, 0, 0, 9, 9];
        let table = [0, 1, 2, 3, 4, 5, 6, 0, 0, 0];
        let usable = 8;
        let p = permute(side(&input), side(&table), usable, &mut rng).unwrap();
        let (input, table) = (fr(&input), fr(&table));
        let (a, s) = (&p.permuted_input[..usable], &p.permuted_table[..usable]);
        assert_eq!(a[0], s[0]);
        for i in 1..usable {
            assert!(a[i] == s[i] || a[i] == a[i - 1], "row {i}");
        }
        let sorted = |v: &[Fr]| {
            let mut v: Vec<[u8; 32]> = v.iter().map(halo2_proofs::halo2curves::ff::PrimeField::to_repr).collect();
            v.sort();
            v
        };
        assert_eq!(sorted(a), sorted(&input[..usable]));
        assert_eq!(sorted(s), sorted(&table[..usable]));
        assert_eq!(p.permuted_input.len(), input.len());
    }

    #[test]
    fn a_value_outside_the_table_is_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let err = permute(side(&[1, 7, 1, 0]), side(&[0, 1, 2, 3]), 4, &mut rng).err().unwrap();
        assert!(err.contains("1 looked-up values are not in their table"), "{err}");
    }

    /// The parts the permuted columns are committed through recombine, row by row, into exactly
    /// those columns, blinding rows included (the commitment's linearity does the rest).
    #[test]
    fn commitment_parts_recombine_into_the_permuted_columns() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let theta = Fr::random(&mut rng);
        let input = pair_side(&[2, 1, 2, 0, 2, 1, 5, 5], &[0, 4, 0, 3, 0, 4, 5, 5], theta);
        let table = pair_side(&[0, 1, 2, 3, 0, 0, 5, 5], &[3, 4, 0, 9, 3, 3, 5, 5], theta);
        let p = permute(input, table, 6, &mut rng).unwrap();
        let [input_parts, table_parts] = p.commitment_parts();
        for (parts, column) in [(input_parts, &p.permuted_input), (table_parts, &p.permuted_table)] {
            assert_eq!(parts.len(), 2);
            for (row, value) in column.iter().enumerate() {
                assert_eq!(parts[0][row] * theta + parts[1][row], *value, "row {row}");
            }
        }
        assert_ne!(p.permuted_input[6], Fr::from(5), "blinding rows are random");
    }
}
