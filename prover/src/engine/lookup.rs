//! halo2's lookup argument (Plookup-style permuted columns and a grand product), prover side.

use std::collections::BTreeMap;

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::{BatchInvert, Field, PrimeField};
use halo2_proofs::plonk::Expression;
use rand_core::RngCore;
use rayon::prelude::*;

use super::expression::{evaluate, View};

/// The θ-compressed input and table of one lookup on the rows, and their permutations.
pub(crate) struct Permuted {
    pub compressed_input: Vec<Fr>,
    pub compressed_table: Vec<Fr>,
    pub permuted_input: Vec<Fr>,
    pub permuted_table: Vec<Fr>,
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

/// [`compress`] on every row of `view`.
pub(crate) fn compress_rows(expressions: &[Expression<Fr>], view: &View, rows: usize, theta: Fr) -> Vec<Fr> {
    let mut out = vec![Fr::ZERO; rows];
    compress(expressions, view, 0, theta, &mut out, &mut vec![Fr::ZERO; rows]);
    out
}

/// Sorts the usable rows of the input so equal values are adjacent and puts the same value in
/// the table column at the first row of each run (the other table rows take the unused table
/// values); the blinding rows are random. Fails when an input value is not in the table.
pub(crate) fn permute(
    compressed_input: Vec<Fr>,
    compressed_table: Vec<Fr>,
    usable: usize,
    rng: &mut impl RngCore,
) -> Result<Permuted, String> {
    let rows = compressed_input.len();
    let mut counts: BTreeMap<[u8; 32], (Fr, usize)> = BTreeMap::new();
    for v in &compressed_input[..usable] {
        counts.entry(v.to_repr()).or_insert((*v, 0)).1 += 1;
    }
    let mut table: Vec<([u8; 32], Fr)> = compressed_table[..usable].iter().map(|v| (v.to_repr(), *v)).collect();
    table.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut spare = Vec::with_capacity(usable);
    let mut found = 0;
    for (i, (key, value)) in table.iter().enumerate() {
        let first = i == 0 || table[i - 1].0 != *key;
        if first && counts.contains_key(key) {
            found += 1;
        } else {
            spare.push(*value);
        }
    }
    if found != counts.len() {
        return Err(format!("{} looked-up values are not in their table", counts.len() - found));
    }
    let mut permuted_input = Vec::with_capacity(rows);
    let mut permuted_table = Vec::with_capacity(rows);
    let mut spare = spare.into_iter();
    for (value, count) in counts.into_values() {
        permuted_input.extend(std::iter::repeat_n(value, count));
        permuted_table.push(value);
        permuted_table.extend(spare.by_ref().take(count - 1));
    }
    permuted_input.resize_with(rows, || Fr::random(&mut *rng));
    permuted_table.resize_with(rows, || Fr::random(&mut *rng));
    Ok(Permuted { compressed_input, compressed_table, permuted_input, permuted_table })
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
        .zip(&p.compressed_input)
        .zip(&p.compressed_table)
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

    use super::permute;

    fn fr(v: &[u64]) -> Vec<Fr> {
        v.iter().map(|&v| Fr::from(v)).collect()
    }

    /// On the usable rows the permuted input is the input sorted into runs, each run starting
    /// at a table row with the same value, and the permuted table is a permutation of the table.
    #[test]
    fn permuted_columns_satisfy_the_lookup_rules() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let input = fr(&[3, 1, 3, 0, 3, 2, 0, 0, 9, 9]);
        let table = fr(&[0, 1, 2, 3, 4, 5, 6, 0, 0, 0]);
        let usable = 8;
        let p = permute(input.clone(), table.clone(), usable, &mut rng).unwrap();
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
        let err = permute(fr(&[1, 7, 1, 0]), fr(&[0, 1, 2, 3]), 4, &mut rng).err().unwrap();
        assert!(err.contains("1 looked-up values are not in their table"), "{err}");
    }
}
