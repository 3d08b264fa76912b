//! Fixed-base MSM over precomputed window tables, for the full-width commitments of a proof
//! (grand products, θ-compressed lookup columns, quotient pieces, the opening proofs): at the
//! 2^10 rows of a small model these are most of the prove time, and the small-scalar path
//! cannot shorten them.
//!
//! The SRS points never change, so every point's multiples `2^(c·w) · P` for each window `w`
//! are computed once (at `compile`, stored beside the key). An MSM then needs no doublings and
//! one bucket pass over all `(point, window)` pairs with a single bucket reduction, where
//! Pippenger reduces its buckets once per window. Digits are signed (`|d| ≤ 2^(c-1)`), which
//! halves the buckets; negating an affine point is free.

use halo2_proofs::halo2curves::bn256::{Fq, Fr, G1Affine, G1};
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::{Curve, Group};
use halo2_proofs::halo2curves::serde::SerdeObject;
use rayon::prelude::*;

use super::repr_limbs;

/// Bits of a canonical scalar plus one for the carry of the signed digits.
const SCALAR_BITS: u32 = Fr::NUM_BITS + 1;

/// Bytes of one affine point in the table's raw form.
const POINT_BYTES: usize = 64;

/// `2^(c·w) · P` for every SRS point `P` and window `w`.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowTable {
    c: u32,
    /// `points[i · windows + w] = 2^(c·w) · bases[i]`: one point's windows lie together.
    points: Vec<G1Affine>,
}

/// Why a stored table cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TableError {
    #[error("MSM table: {0}")]
    Malformed(&'static str),
    #[error("MSM table was made for other SRS points")]
    OtherPoints,
}

/// Windows of `c` bits that cover a scalar and the carry of its signed digits.
fn windows_of(c: u32) -> usize {
    SCALAR_BITS.div_ceil(c) as usize
}

impl WindowTable {
    /// The window width that minimises the additions of one MSM over `points` on `threads`
    /// threads: `points / threads · windows` bucket additions plus `2^c` for the reduction.
    pub fn best_window(points: usize, threads: usize) -> u32 {
        let per_thread = points.div_ceil(threads.max(1));
        (4..=16u32).min_by_key(|&c| per_thread * windows_of(c) + (2usize << c)).unwrap_or(8)
    }

    /// The table of `bases` for windows of `c` bits (`2 ≤ c ≤ 16`).
    pub fn build(bases: &[G1Affine], c: u32) -> Self {
        let c = c.clamp(2, 16);
        let windows = windows_of(c);
        let mut points = vec![G1Affine::identity(); bases.len() * windows];
        const CHUNK: usize = 64;
        points.par_chunks_mut(CHUNK * windows).zip(bases.par_chunks(CHUNK)).for_each(|(out, bases)| {
            let mut multiples = Vec::with_capacity(out.len());
            for base in bases {
                let mut q = base.to_curve();
                for _ in 0..windows {
                    multiples.push(q);
                    for _ in 0..c {
                        q = q.double();
                    }
                }
            }
            G1::batch_normalize(&multiples, out);
        });
        WindowTable { c, points }
    }

    /// Windows per point.
    fn windows(&self) -> usize {
        windows_of(self.c)
    }

    /// How many SRS points the table covers.
    pub fn len(&self) -> usize {
        self.points.len() / self.windows()
    }

    /// Whether the table covers no point.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Whether `bases` starts like the table's points (a table of another SRS or domain size
    /// differs in its first point).
    pub fn holds_prefix(&self, bases: &[G1Affine]) -> bool {
        bases.first().is_none_or(|b| self.points.first() == Some(b))
    }

    /// `Σ scalars[i] · bases[i]` over a prefix of the table's points.
    pub fn msm(&self, scalars: &[Fr]) -> G1 {
        let n = scalars.len().min(self.len());
        let chunk = n.div_ceil(rayon::current_num_threads()).max(1);
        scalars[..n]
            .par_chunks(chunk)
            .enumerate()
            .map(|(k, s)| self.accumulate(s.iter().enumerate().map(|(i, s)| (k * chunk + i, s))))
            .reduce(G1::identity, |a, b| a + b)
    }

    /// `Σ s · bases[i]` over `(i, s)` terms (indices below [`WindowTable::len`]).
    pub fn msm_at(&self, terms: &[(usize, Fr)]) -> G1 {
        let chunk = terms.len().div_ceil(rayon::current_num_threads()).max(1);
        terms
            .par_chunks(chunk)
            .map(|t| self.accumulate(t.iter().map(|(i, s)| (*i, s))))
            .reduce(G1::identity, |a, b| a + b)
    }

    /// One bucket pass over every window of every term, then one reduction.
    fn accumulate<'a>(&self, terms: impl Iterator<Item = (usize, &'a Fr)>) -> G1 {
        let (c, windows) = (self.c, self.windows());
        let half = 1u64 << (c - 1);
        let mut buckets = AffineBuckets::new(half as usize);
        for (i, scalar) in terms {
            let limbs = repr_limbs(scalar.to_repr().as_ref());
            let row = &self.points[i * windows..(i + 1) * windows];
            let mut carry = 0;
            for (w, point) in row.iter().enumerate() {
                let digit = window(&limbs, w as u32 * c, c) + carry;
                carry = u64::from(digit > half);
                if digit > half {
                    let magnitude = (1u64 << c) - digit;
                    if magnitude != 0 {
                        buckets.add(magnitude as usize - 1, -*point);
                    }
                } else if digit != 0 {
                    buckets.add(digit as usize - 1, *point);
                }
            }
        }
        buckets.finish();
        let (mut running, mut sum) = (G1::identity(), G1::identity());
        for ((affine, filled), projective) in buckets.affine.iter().zip(&buckets.filled).zip(&buckets.projective).rev()
        {
            if *filled {
                running += affine;
            }
            if !bool::from(projective.is_identity()) {
                running += projective;
            }
            sum += running;
        }
        sum
    }

    /// The table as bytes: window bits, windows, points, then each point's raw coordinates.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.points.len() * POINT_BYTES);
        out.extend_from_slice(&self.c.to_le_bytes());
        out.extend_from_slice(&(self.windows() as u32).to_le_bytes());
        out.extend_from_slice(&(self.len() as u64).to_le_bytes());
        for p in &self.points {
            out.extend_from_slice(&p.to_raw_bytes());
        }
        out
    }

    /// Reads a table written by [`WindowTable::to_bytes`] for `bases`, returning the bytes
    /// after it. A table of other points is refused: its first window must be `bases` itself
    /// and its second the first point doubled `c` times (a stale table would only give
    /// proofs that fail, but that failure would be far from its cause).
    pub fn from_bytes<'a>(bytes: &'a [u8], bases: &[G1Affine]) -> Result<(Self, &'a [u8]), TableError> {
        let header: &[u8; 16] =
            bytes.get(..16).and_then(|h| h.try_into().ok()).ok_or(TableError::Malformed("truncated header"))?;
        let [c0, c1, c2, c3, w0, w1, w2, w3, n @ ..] = *header;
        let (c, windows, n) =
            (u32::from_le_bytes([c0, c1, c2, c3]), u32::from_le_bytes([w0, w1, w2, w3]), u64::from_le_bytes(n));
        if !(2..=16).contains(&c) || windows as usize != windows_of(c) {
            return Err(TableError::Malformed("window width"));
        }
        let (windows, n) = (windows as usize, usize::try_from(n).map_err(|_| TableError::Malformed("length"))?);
        if n > bases.len() {
            return Err(TableError::OtherPoints);
        }
        let body_len = n * windows * POINT_BYTES;
        let body = bytes.get(16..16 + body_len).ok_or(TableError::Malformed("truncated points"))?;
        let points: Vec<G1Affine> =
            body.par_chunks_exact(POINT_BYTES).map(G1Affine::from_raw_bytes_unchecked).collect();
        let table = WindowTable { c, points };
        table.check_against(bases)?;
        Ok((table, &bytes[16 + body_len..]))
    }

    /// Spot checks that the table was made from `bases`.
    fn check_against(&self, bases: &[G1Affine]) -> Result<(), TableError> {
        let n = self.len();
        if n == 0 {
            return Ok(());
        }
        let windows = self.windows();
        let first_windows_match = [0, n / 2, n - 1].iter().all(|&i| self.points[i * windows] == bases[i]);
        let mut doubled = bases[0].to_curve();
        for _ in 0..self.c {
            doubled = doubled.double();
        }
        let second_window_matches = windows < 2 || self.points[1] == doubled.to_affine();
        if first_windows_match && second_window_matches {
            Ok(())
        } else {
            Err(TableError::OtherPoints)
        }
    }
}

/// Window tables of both SRS bases, kept beside a compiled model's key.
#[derive(Clone, Debug, PartialEq)]
pub struct MsmTables {
    pub lagrange: WindowTable,
    pub monomial: WindowTable,
}

impl MsmTables {
    /// Tables at most this tall are built: 2^14 points take 20 MB per basis, and taller SRSs
    /// would add hundreds of MB to a compiled folder.
    pub const MAX_POINTS: usize = 1 << 14;

    /// Tables for the given points of each basis, sized for this machine's thread count; `None`
    /// when the SRS is taller than [`MsmTables::MAX_POINTS`].
    pub fn build(lagrange: &[G1Affine], monomial: &[G1Affine]) -> Option<Self> {
        if lagrange.len().max(monomial.len()) > Self::MAX_POINTS {
            return None;
        }
        let c = WindowTable::best_window(lagrange.len(), rayon::current_num_threads());
        Some(MsmTables { lagrange: WindowTable::build(lagrange, c), monomial: WindowTable::build(monomial, c) })
    }

    /// Both tables as bytes (Lagrange first).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.lagrange.to_bytes();
        out.extend(self.monomial.to_bytes());
        out
    }

    /// Reads tables written by [`MsmTables::to_bytes`], checking them against the SRS points.
    pub fn from_bytes(bytes: &[u8], lagrange: &[G1Affine], monomial: &[G1Affine]) -> Result<Self, TableError> {
        let (lagrange, rest) = WindowTable::from_bytes(bytes, lagrange)?;
        let (monomial, rest) = WindowTable::from_bytes(rest, monomial)?;
        if !rest.is_empty() {
            return Err(TableError::Malformed("trailing bytes"));
        }
        Ok(MsmTables { lagrange, monomial })
    }

    /// The table of `basis`.
    pub fn of(&self, basis: super::Basis) -> &WindowTable {
        match basis {
            super::Basis::Lagrange => &self.lagrange,
            super::Basis::Monomial => &self.monomial,
        }
    }
}

/// Additions sharing one inversion, at most; 256 spreads an inversion's cost thinly.
const BATCH: usize = 256;

/// Fewer additions than this are cheaper as mixed projective additions than under one shared
/// inversion (an inversion costs about 130 multiplications, an affine addition saves ~5).
const MIN_BATCH: usize = 32;

/// Buckets kept in affine form and added to in batches: one field inversion for the whole
/// batch (Montgomery's trick) makes an affine addition about half the cost of the mixed
/// projective one. A bucket takes at most one addition per batch; later ones wait for the
/// next batch. A batch holds at most half the buckets, so that waiting stays short. The rare
/// addition of a point with the bucket's own x (doubling or cancelling) goes to a projective
/// side bucket instead.
struct AffineBuckets {
    affine: Vec<G1Affine>,
    /// Whether `affine[b]` holds a point: a plain flag, because the curve's constant-time
    /// identity test took 4–7 % of an MSM.
    filled: Vec<bool>,
    projective: Vec<G1>,
    in_batch: Vec<bool>,
    batch: Vec<(usize, G1Affine)>,
    batch_size: usize,
    waiting: Vec<(usize, G1Affine)>,
    denominators: Vec<Fq>,
    inverses: Vec<Fq>,
}

impl AffineBuckets {
    fn new(buckets: usize) -> Self {
        let batch_size = (buckets / 2).clamp(1, BATCH);
        AffineBuckets {
            affine: vec![G1Affine::identity(); buckets],
            filled: vec![false; buckets],
            projective: vec![G1::identity(); buckets],
            in_batch: vec![false; buckets],
            batch: Vec::with_capacity(batch_size),
            batch_size,
            waiting: Vec::new(),
            denominators: Vec::with_capacity(batch_size),
            inverses: Vec::with_capacity(batch_size),
        }
    }

    /// Adds `point` to bucket `b`, now or in a coming batch.
    fn add(&mut self, b: usize, point: G1Affine) {
        self.place(b, point);
        while self.batch.len() >= self.batch_size {
            self.run_batch_and_replace_waiting();
        }
    }

    /// Puts an addition in the batch, in the waiting list, or straight into the bucket.
    fn place(&mut self, b: usize, point: G1Affine) {
        if self.in_batch[b] {
            self.waiting.push((b, point));
        } else if !self.filled[b] {
            self.affine[b] = point;
            self.filled[b] = true;
        } else if self.affine[b].x == point.x {
            self.projective[b] += point;
        } else {
            self.in_batch[b] = true;
            self.batch.push((b, point));
        }
    }

    fn run_batch_and_replace_waiting(&mut self) {
        self.run_batch();
        for (b, p) in std::mem::take(&mut self.waiting) {
            self.place(b, p);
        }
    }

    /// `bucket + point` for every addition of the batch, with one inversion.
    fn run_batch(&mut self) {
        // Montgomery's trick: `inverses[j]` first holds the product of the earlier
        // denominators, then (walking back from the one inverted product) `1 / denominator j`.
        self.denominators.clear();
        self.denominators.extend(self.batch.iter().map(|&(b, p)| p.x - self.affine[b].x));
        self.inverses.clear();
        let mut product = Fq::ONE;
        for d in &self.denominators {
            self.inverses.push(product);
            product *= d;
        }
        let Some(mut inverse) = Option::<Fq>::from(product.invert()) else {
            unreachable!("no denominator is zero: a point with the bucket's x never enters a batch")
        };
        for (slot, d) in self.inverses.iter_mut().zip(&self.denominators).rev() {
            *slot *= inverse;
            inverse *= d;
        }
        for (&(b, p), inverse) in self.batch.iter().zip(&self.inverses) {
            let a = self.affine[b];
            let lambda = (p.y - a.y) * inverse;
            let x = lambda.square() - a.x - p.x;
            let y = lambda * (a.x - x) - a.y;
            self.affine[b] = G1Affine { x, y };
            self.in_batch[b] = false;
        }
        self.batch.clear();
    }

    /// Runs every batched and waiting addition. The last ones pile up on a few buckets (the
    /// top window's digits are small), so batches shrink; below [`MIN_BATCH`] additions an
    /// inversion costs more than it saves and they go to the projective side buckets.
    fn finish(&mut self) {
        while self.batch.len() >= MIN_BATCH {
            self.run_batch_and_replace_waiting();
        }
        for (b, p) in self.batch.drain(..).chain(self.waiting.drain(..)) {
            self.projective[b] += p;
            self.in_batch[b] = false;
        }
    }
}

/// Bits `[start, start + c)` of a little-endian 256-bit number.
fn window(limbs: &[u64; 4], start: u32, c: u32) -> u64 {
    let (limb, shift) = ((start / 64) as usize, start % 64);
    let Some(&low) = limbs.get(limb) else { return 0 };
    let mut bits = low >> shift;
    if shift + c > 64 {
        if let Some(&high) = limbs.get(limb + 1) {
            bits |= high << (64 - shift);
        }
    }
    bits & ((1u64 << c) - 1)
}

#[cfg(test)]
mod tests {
    use halo2_proofs::arithmetic::best_multiexp;
    use halo2_proofs::halo2curves::ff::Field;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{RngCore, SeedableRng};

    use super::*;

    fn bases(n: usize, rng: &mut ChaCha20Rng) -> Vec<G1Affine> {
        let points: Vec<G1> = (0..n).map(|_| G1::random(&mut *rng)).collect();
        let mut affine = vec![G1Affine::identity(); n];
        G1::batch_normalize(&points, &mut affine);
        affine
    }

    #[test]
    fn equals_the_stock_msm_for_every_window_width_and_adversarial_scalars() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let n = 300;
        let b = bases(n, &mut rng);
        let cases: Vec<(&str, Vec<Fr>)> = vec![
            ("full width", (0..n).map(|_| Fr::random(&mut rng)).collect()),
            ("p - 1", vec![-Fr::ONE; n]),
            ("zeros and ones", (0..n).map(|i| Fr::from((i % 2) as u64)).collect()),
            ("all-ones windows (carries through every window)", vec![Fr::from(u64::MAX); n]),
            ("small signed", (0..n).map(|_| Fr::from(rng.next_u64() % 512) - Fr::from(256)).collect()),
        ];
        for c in [2, 3, 7, 8, 10, 13, 16] {
            let table = WindowTable::build(&b, c);
            for (what, scalars) in &cases {
                assert_eq!(table.msm(scalars).to_affine(), best_multiexp(scalars, &b).to_affine(), "{what}, c = {c}");
                let prefix = &scalars[..n / 3];
                assert_eq!(table.msm(prefix), best_multiexp(prefix, &b[..n / 3]), "prefix, {what}, c = {c}");
            }
        }
    }

    #[test]
    fn equals_the_stock_msm_when_bucket_additions_double_or_cancel() {
        let mut rng = ChaCha20Rng::seed_from_u64(14);
        // One point repeated (and its negation): bucket additions meet the bucket's own x.
        let p = bases(1, &mut rng)[0];
        let b: Vec<G1Affine> = (0..600).map(|i| if i % 3 == 0 { -p } else { p }).collect();
        let table = WindowTable::build(&b, 6);
        let equal = vec![Fr::from(0xdead_beef_u64); b.len()];
        let random: Vec<Fr> = (0..b.len()).map(|_| Fr::random(&mut rng)).collect();
        let cancelling: Vec<Fr> =
            (0..b.len()).map(|i| if i % 3 == 0 { Fr::from(7) } else { Fr::from(i as u64 % 5) }).collect();
        for scalars in [equal, random, cancelling] {
            assert_eq!(table.msm(&scalars), best_multiexp(&scalars, &b));
        }
    }

    #[test]
    fn indexed_terms_equal_the_stock_msm_of_the_chosen_points() {
        let mut rng = ChaCha20Rng::seed_from_u64(12);
        let b = bases(257, &mut rng);
        let table = WindowTable::build(&b, 9);
        let terms: Vec<(usize, Fr)> = (0..257).step_by(3).map(|i| (i, Fr::random(&mut rng))).collect();
        let (s, p): (Vec<Fr>, Vec<G1Affine>) = terms.iter().map(|(i, s)| (*s, b[*i])).unzip();
        assert_eq!(table.msm_at(&terms), best_multiexp(&s, &p));
        assert_eq!(table.msm_at(&[]), G1::identity());
    }

    #[test]
    fn round_trips_through_bytes_and_refuses_other_points_or_damage() {
        let mut rng = ChaCha20Rng::seed_from_u64(13);
        let b = bases(40, &mut rng);
        let table = WindowTable::build(&b, 10);
        let mut bytes = table.to_bytes();
        bytes.extend_from_slice(b"rest");
        let (read, rest) = WindowTable::from_bytes(&bytes, &b).unwrap();
        assert_eq!((read, rest), (table.clone(), &b"rest"[..]));

        let other = bases(40, &mut rng);
        assert_eq!(WindowTable::from_bytes(&bytes, &other).unwrap_err(), TableError::OtherPoints);
        assert_eq!(WindowTable::from_bytes(&bytes, &b[..39]).unwrap_err(), TableError::OtherPoints);
        assert!(matches!(WindowTable::from_bytes(&bytes[..100], &b), Err(TableError::Malformed(_))));
        let mut bad_width = bytes.clone();
        bad_width[0] = 40;
        assert!(matches!(WindowTable::from_bytes(&bad_width, &b), Err(TableError::Malformed(_))));
        // A damaged second-window point of the first base is caught by the spot check.
        let mut damaged = bytes.clone();
        damaged[16 + POINT_BYTES + 5] ^= 1;
        assert!(WindowTable::from_bytes(&damaged, &b).is_err());
    }
}
