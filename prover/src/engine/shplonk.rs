//! The SHPLONK multi-opening prover (Bootle et al. / halo2's `ProverSHPLONK`), producing the two
//! commitments halo2-axiom's stock `VerifierSHPLONK` expects. halo2 keeps its query type's fields
//! private, so the opening is written here over plain coefficient slices.
//!
//! Queries are grouped as the verifier groups them: per polynomial (by identity) the set of
//! points it is opened at, in order of first appearance; polynomials with equal point sets form
//! one rotation set, sets ordered by first appearance. Within a set the order of the points does
//! not matter (interpolation and vanishing products are symmetric).

use std::io;

use halo2_proofs::arithmetic::{evaluate_vanishing_polynomial, kate_division, lagrange_interpolate, powers};
use halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::Curve;
use halo2_proofs::transcript::{Challenge255, TranscriptWrite};
use rayon::prelude::*;

use crate::msm::MsmBackend;
use crate::scheme::RoutedParams;

/// One opening: `poly` (coefficients) at `point`, where it evaluates to `eval`.
#[derive(Clone, Copy)]
pub(crate) struct Query<'a> {
    pub poly: &'a [Fr],
    pub point: Fr,
    pub eval: Fr,
}

/// Polynomials opened at the same points; each polynomial's evaluations in the order of `points`.
struct Set<'a> {
    points: Vec<Fr>,
    polys: Vec<(&'a [Fr], Vec<Fr>)>,
}

/// A point a polynomial is opened at, and its value there.
type Opened = (Fr, Fr);

fn rotation_sets<'a>(queries: &[Query<'a>]) -> (Vec<Set<'a>>, Vec<Fr>) {
    let mut per_poly: Vec<(&'a [Fr], Vec<Opened>)> = Vec::new();
    let mut all_points: Vec<Fr> = Vec::new();
    for q in queries {
        if !all_points.contains(&q.point) {
            all_points.push(q.point);
        }
        match per_poly.iter_mut().find(|(p, _)| std::ptr::eq(*p, q.poly)) {
            Some((_, opened)) if opened.iter().any(|(x, _)| *x == q.point) => {}
            Some((_, opened)) => opened.push((q.point, q.eval)),
            None => per_poly.push((q.poly, vec![(q.point, q.eval)])),
        }
    }
    let mut sets: Vec<Set<'a>> = Vec::new();
    for (poly, opened) in per_poly {
        let same = |s: &&mut Set| s.points.len() == opened.len() && opened.iter().all(|(x, _)| s.points.contains(x));
        match sets.iter_mut().find(same) {
            Some(set) => {
                let evals =
                    set.points.iter().filter_map(|x| opened.iter().find(|(y, _)| y == x).map(|o| o.1)).collect();
                set.polys.push((poly, evals));
            }
            None => {
                let (points, evals) = opened.into_iter().unzip();
                sets.push(Set { points, polys: vec![(poly, evals)] });
            }
        }
    }
    (sets, all_points)
}

/// `poly(x)` from coefficients.
pub(crate) fn horner(poly: &[Fr], x: Fr) -> Fr {
    poly.iter().rev().fold(Fr::ZERO, |acc, c| acc * x + c)
}

/// `p(X) − r(X)` where `r` interpolates `p`'s `evals` on `points`, and `r`'s coefficients.
fn minus_interpolant(poly: &[Fr], points: &[Fr], evals: &[Fr]) -> (Vec<Fr>, Vec<Fr>) {
    let r = lagrange_interpolate(points, evals);
    let mut diff = poly.to_vec();
    diff.iter_mut().zip(&r).for_each(|(d, r)| *d -= r);
    (diff, r)
}

fn scaled_sum(terms: impl Iterator<Item = Vec<Fr>>, factor: Fr, len: usize) -> Vec<Fr> {
    let mut acc = vec![Fr::ZERO; len];
    for (term, power) in terms.zip(powers(factor)) {
        acc.iter_mut().zip(term).for_each(|(a, t)| *a += t * power);
    }
    acc
}

/// Writes the opening proof of `queries` (their evaluations are already in the transcript).
pub(crate) fn open<M, T>(params: &RoutedParams<M>, n: usize, queries: &[Query], transcript: &mut T) -> io::Result<()>
where
    M: MsmBackend,
    T: TranscriptWrite<G1Affine, Challenge255<G1Affine>>,
{
    let y = *transcript.squeeze_challenge_scalar::<()>();
    let (sets, all_points) = rotation_sets(queries);
    let v = *transcript.squeeze_challenge_scalar::<()>();

    // Per set: Σ_j y^j (p_j − r_j), and the interpolants r_j kept for the linearisation.
    let parts: Vec<(Vec<Fr>, Vec<Vec<Fr>>)> = sets
        .par_iter()
        .map(|set| {
            let (diffs, rs): (Vec<_>, Vec<_>) =
                set.polys.iter().map(|(p, e)| minus_interpolant(p, &set.points, e)).unzip();
            let numerator = scaled_sum(diffs.into_iter(), y, n);
            let mut quotient = set.points.iter().fold(numerator, |acc, x| kate_division(&acc, *x));
            quotient.resize(n, Fr::ZERO);
            (quotient, rs)
        })
        .collect();
    let (quotients, interpolants): (Vec<_>, Vec<_>) = parts.into_iter().unzip();
    let h = scaled_sum(quotients.into_iter(), v, n);
    transcript.write_point(params.commit_coeffs(&h).to_affine())?;
    let u = *transcript.squeeze_challenge_scalar::<()>();

    let contributions: Vec<(Vec<Fr>, Fr)> = sets
        .par_iter()
        .zip(&interpolants)
        .map(|(set, rs)| {
            let outside: Vec<Fr> = all_points.iter().filter(|p| !set.points.contains(p)).copied().collect();
            let z = evaluate_vanishing_polynomial(&outside, u);
            let terms = set.polys.iter().zip(rs).map(|((p, _), r)| {
                let mut t = p.to_vec();
                t[0] -= horner(r, u);
                t
            });
            let mut l = scaled_sum(terms, y, n);
            l.iter_mut().for_each(|c| *c *= z);
            (l, z)
        })
        .collect();
    let z0 = contributions.first().map_or(Fr::ONE, |c| c.1);
    let mut l = scaled_sum(contributions.into_iter().map(|c| c.0), v, n);
    let zt = evaluate_vanishing_polynomial(&all_points, u);
    l.iter_mut().zip(&h).for_each(|(l, h)| *l -= *h * zt);
    let mut w = kate_division(&l, u);
    let z0_inv = z0.invert().unwrap_or(Fr::ZERO);
    w.iter_mut().for_each(|c| *c *= z0_inv);
    transcript.write_point(params.commit_coeffs(&w).to_affine())
}
