//! Pippenger for the small scalars of quantized witnesses: a committed column of int8
//! activations, 24-bit accumulators or table indices holds values (or their negations) of a few
//! bits, while the stock MSM always walks all 254 bits. Each scalar is read once as a signed
//! 64-bit magnitude (negative values negate their base instead), windows cover only the bits
//! actually present, and the few full-width scalars of a column (halo2's blinding rows) go
//! to the full-width path. Columns that are nearly all full width (quotient pieces, grand
//! products) go to the full-width path whole. That path is the precomputed window tables
//! ([`MsmTables`]) when the SRS has them, the stock MSM otherwise.

use std::sync::Arc;

use halo2_proofs::arithmetic::best_multiexp;
use halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G1};
use halo2_proofs::halo2curves::group::Group;
use rayon::prelude::*;

use super::window_table::{MsmTables, WindowTable};
use super::{signed_magnitude, Basis, MsmBackend};

/// Below this many points per thread, splitting costs more than it saves.
const MIN_CHUNK: usize = 256;

/// The CPU MSM: small-scalar Pippenger, with full-width scalars on the window tables when
/// given, else on [`best_multiexp`].
#[derive(Clone, Debug, Default)]
pub struct SmallScalarMsm {
    tables: Option<Arc<MsmTables>>,
}

impl MsmBackend for SmallScalarMsm {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn msm(&self, scalars: &[Fr], bases: &[G1Affine], basis: Basis) -> G1 {
        let n = scalars.len().min(bases.len());
        // A table of another domain size has other Lagrange points: its first one tells.
        let table = self.tables.as_deref().map(|t| t.of(basis)).filter(|t| t.len() >= n && t.holds_prefix(bases));
        small_scalar_msm(scalars, bases, table)
    }

    fn with_tables(self, tables: Arc<MsmTables>) -> Self {
        SmallScalarMsm { tables: Some(tables) }
    }
}

/// A scalar as `(magnitude, negative)` when it or its negation is below `2^64`.
pub fn signed_u64(s: &Fr) -> Option<(u64, bool)> {
    let (m, sign) = signed_magnitude(s);
    (m[1..] == [0; 3]).then_some((m[0], sign == 1))
}

/// `Σ scalars[i] · bases[i]`, equal to the stock MSM's result. `table`, when given, holds
/// the multiples of `bases` (the prefix of its SRS basis).
pub fn small_scalar_msm(scalars: &[Fr], bases: &[G1Affine], table: Option<&WindowTable>) -> G1 {
    let n = scalars.len().min(bases.len());
    let chunk = n.div_ceil(rayon::current_num_threads()).max(MIN_CHUNK);
    let digits: Vec<Option<(u64, bool)>> = scalars[..n].par_iter().map(signed_u64).collect();
    let wide = digits.iter().filter(|d| d.is_none()).count();
    // Permuted lookup columns are half full-width (compressed tuples), half zero or small:
    // only a nearly all-wide column (grand products, quotient pieces) goes to the full-width path whole.
    if wide * 10 > n * 9 {
        return match table {
            Some(table) => table.msm(&scalars[..n]),
            None => best_multiexp(&scalars[..n], &bases[..n]),
        };
    }
    let small = digits
        .par_chunks(chunk)
        .zip(bases[..n].par_chunks(chunk))
        .map(|(d, b)| small_serial(d, b))
        .reduce(G1::identity, |a, b| a + b);
    if wide == 0 {
        return small;
    }
    let wide_terms = digits.iter().zip(scalars).enumerate().filter(|(_, (d, _))| d.is_none());
    if let Some(table) = table {
        let terms: Vec<(usize, Fr)> = wide_terms.map(|(i, (_, s))| (i, *s)).collect();
        return small + table.msm_at(&terms);
    }
    let (wide_scalars, wide_bases): (Vec<Fr>, Vec<G1Affine>) = wide_terms.map(|(i, (_, s))| (*s, bases[i])).unzip();
    small + best_multiexp(&wide_scalars, &wide_bases)
}

/// The window width minimising `windows · (points + 2 · buckets)` point additions.
fn window_bits(points: usize, bits: u32) -> u32 {
    (1..=bits.min(16)).min_by_key(|&c| bits.div_ceil(c) as usize * (points + (2usize << c))).unwrap_or(1)
}

/// Bucket method over the small scalars of one chunk (`None` entries are skipped).
fn small_serial(digits: &[Option<(u64, bool)>], bases: &[G1Affine]) -> G1 {
    let max = digits.iter().flatten().map(|&(m, _)| m).max().unwrap_or(0);
    let bits = 64 - max.leading_zeros();
    if bits == 0 {
        return G1::identity();
    }
    let points: Vec<(u64, G1Affine)> = digits
        .iter()
        .zip(bases)
        .filter_map(|(d, b)| match *d {
            Some((0, _)) | None => None,
            Some((m, negative)) => Some((m, if negative { -*b } else { *b })),
        })
        .collect();
    let c = window_bits(points.len(), bits);
    let mask = (1u64 << c) - 1;
    let mut buckets = vec![G1::identity(); mask as usize];
    let mut acc = G1::identity();
    for w in (0..bits.div_ceil(c)).rev() {
        for _ in 0..c {
            acc = acc.double();
        }
        buckets.iter_mut().for_each(|b| *b = G1::identity());
        for (m, base) in &points {
            let digit = (m >> (w * c)) & mask;
            if digit != 0 {
                let bucket = &mut buckets[digit as usize - 1];
                *bucket += base;
            }
        }
        let (mut running, mut sum) = (G1::identity(), G1::identity());
        for bucket in buckets.iter().rev() {
            running += bucket;
            sum += running;
        }
        acc += sum;
    }
    acc
}

#[cfg(test)]
mod tests {
    use halo2_proofs::halo2curves::ff::Field;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};

    use halo2_proofs::halo2curves::group::Curve;

    use super::*;

    fn bases(n: usize, rng: &mut ChaCha20Rng) -> Vec<G1Affine> {
        let g = G1::random(&mut *rng);
        let mut out = vec![G1::identity(); n];
        let mut p = g;
        for o in &mut out {
            *o = p;
            p = p.double() + g;
        }
        let mut affine = vec![G1Affine::default(); n];
        G1::batch_normalize(&out, &mut affine);
        affine
    }

    /// Checks the small-scalar MSM without and with window tables against the stock MSM.
    fn check(scalars: &[Fr], bases: &[G1Affine], what: &str) {
        let stock = best_multiexp(scalars, bases).to_affine();
        assert_eq!(small_scalar_msm(scalars, bases, None).to_affine(), stock, "{what}");
        let table = WindowTable::build(bases, 8);
        assert_eq!(small_scalar_msm(scalars, bases, Some(&table)).to_affine(), stock, "{what}, with tables");
    }

    #[test]
    fn equals_the_stock_msm_on_adversarial_scalars() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let n = 700;
        let b = bases(n, &mut rng);
        let p_minus_1 = -Fr::ONE;
        let cases: Vec<(&str, Vec<Fr>)> = vec![
            ("zeros", vec![Fr::ZERO; n]),
            ("ones", vec![Fr::ONE; n]),
            ("minus ones (p - 1)", vec![p_minus_1; n]),
            ("all equal", vec![Fr::from(77); n]),
            ("small signed", (0..n).map(|_| Fr::from(rng.next_u64() % 256) - Fr::from(128)).collect()),
            (
                "64-bit edge",
                (0..n).map(|i| if i % 2 == 0 { Fr::from(u64::MAX) } else { -Fr::from(u64::MAX) }).collect(),
            ),
            ("full width", (0..n).map(|_| Fr::random(&mut rng)).collect()),
            (
                "small with a few wide (blinding rows)",
                (0..n).map(|i| if i + 6 >= n { Fr::random(&mut rng) } else { Fr::from(i as u64 % 300) }).collect(),
            ),
            (
                "half full width, half small (permuted lookup columns)",
                (0..n).map(|i| if i % 2 == 0 { Fr::random(&mut rng) } else { -Fr::from(i as u64) }).collect(),
            ),
            (
                "mixed 2^24 and 2^-24",
                (0..n).map(|i| if i % 3 == 0 { Fr::from(1 << 24) } else { -Fr::from(i as u64) }).collect(),
            ),
        ];
        for (what, scalars) in cases {
            check(&scalars, &b, what);
        }
    }

    #[test]
    fn equals_the_stock_msm_for_every_size_up_to_a_few_chunks() {
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let b = bases(1100, &mut rng);
        for n in [0, 1, 2, 3, 255, 256, 257, 513, 1100] {
            let scalars: Vec<Fr> = (0..n).map(|_| Fr::from(rng.next_u64() >> (rng.next_u64() % 64))).collect();
            check(&scalars, &b[..n], &format!("n = {n}"));
        }
    }
}
