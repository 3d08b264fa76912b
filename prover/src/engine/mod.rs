//! zkinfer's own halo2 prover loop: the proof halo2-axiom's `create_proof` writes, in the same
//! transcript layout (the stock `VerifierSHPLONK` checks it), built from halo2's public key
//! getters and constraint system.
//!
//! What it changes: the extended-coset values of the fixed columns (the weights), of the
//! Lagrange selectors and of the permutation are computed once per key ([`KeyCosets`]) instead
//! of on every proof; FFTs use twiddle tables built once per size; gates are evaluated column
//! by column; the witness is read from the circuit's synthesis without halo2's commitments;
//! a lookup's permuted columns, random-looking θ-combinations of small values, are committed
//! through the small values.
//! Every random value (blinding rows, the vanishing argument's random polynomial) comes from
//! a ChaCha20 stream seeded from the caller's RNG, so a seeded RNG gives a reproducible proof.
//! KZG ignores commitment blinds, so none are drawn.

mod domain;
mod expression;
mod fft;
mod key_cosets;
mod lookup;
mod permutation;
mod quotient;
mod shplonk;
mod witness;

use std::collections::HashMap;

use halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G1};
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::halo2curves::group::{Curve, Group};
use halo2_proofs::plonk::{Any, Circuit, ProvingKey};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::{Polynomial, Rotation};
use halo2_proofs::transcript::{Challenge255, TranscriptWrite};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use rayon::prelude::*;

use crate::error::ProofError;
use crate::msm::MsmBackend;
use crate::scheme::RoutedParams;
use expression::{columns, View};
pub use key_cosets::{CosetsError, KeyCosets};
use quotient::{Challenges, LookupCosets, Numerator, PermutationCosets, Selectors};
use shplonk::{horner, Query};

fn squeeze<T: TranscriptWrite<G1Affine, Challenge255<G1Affine>>>(transcript: &mut T) -> Fr {
    *transcript.squeeze_challenge_scalar::<()>()
}

fn commit_rows<M: MsmBackend>(params: &RoutedParams<M>, columns: &[&[Fr]]) -> Vec<G1Affine> {
    let projective: Vec<_> = columns.par_iter().map(|c| params.commit_rows(c)).collect();
    let mut affine = vec![G1Affine::default(); projective.len()];
    Curve::batch_normalize(&projective[..], &mut affine);
    affine
}

/// The commitments of every lookup's permuted input and table, in transcript order, each
/// combined from the commitments of its parts (see [`lookup::Permuted::commitment_parts`]).
fn commit_permuted<M: MsmBackend>(params: &RoutedParams<M>, permuted: &[lookup::Permuted], theta: Fr) -> Vec<G1Affine> {
    let sides: Vec<Vec<Vec<Fr>>> = permuted.iter().flat_map(|p| p.commitment_parts()).collect();
    let parts: Vec<&[Fr]> = sides.iter().flatten().map(Vec::as_slice).collect();
    let commitments: Vec<G1> = parts.par_iter().map(|c| params.commit_rows(c)).collect();
    let mut commitments = commitments.into_iter();
    let combined: Vec<G1> = sides
        .iter()
        .map(|side| commitments.by_ref().take(side.len()).fold(G1::identity(), |acc, c| acc * theta + c))
        .collect();
    let mut affine = vec![G1Affine::default(); combined.len()];
    Curve::batch_normalize(&combined[..], &mut affine);
    affine
}

/// Evaluations already computed, by polynomial (its address) and point.
type Evaluated = HashMap<(usize, [u8; 32]), Fr>;

/// The opening of `poly` at `point`, with its evaluation from `evaluated` or computed.
fn query<'a>(evaluated: &Evaluated, poly: &'a [Fr], point: Fr) -> Query<'a> {
    let known = evaluated.get(&(poly.as_ptr() as usize, point.to_repr())).copied();
    Query { poly, point, eval: known.unwrap_or_else(|| horner(poly, point)) }
}

fn write_points<T: TranscriptWrite<G1Affine, Challenge255<G1Affine>>>(
    transcript: &mut T,
    points: &[G1Affine],
) -> Result<(), ProofError> {
    points.iter().try_for_each(|p| transcript.write_point(*p)).map_err(|e| ProofError::Engine(e.to_string()))
}

/// Proves `circuit` with public `instances` under `pk` (whose cosets are `cosets`), writing the
/// proof to `transcript`. Circuits with several phases draw each phase's challenges after
/// its advice commitments, as halo2's own prover does.
pub fn create_proof<M, C, T>(
    params: &RoutedParams<M>,
    pk: &ProvingKey<G1Affine>,
    cosets: &KeyCosets,
    circuit: &C,
    instances: &[&[Fr]],
    mut entropy: impl RngCore,
    transcript: &mut T,
) -> Result<(), ProofError>
where
    M: MsmBackend + Default + 'static,
    C: Circuit<Fr>,
    T: TranscriptWrite<G1Affine, Challenge255<G1Affine>>,
{
    let vk = pk.get_vk();
    let cs = vk.cs();
    let domain = vk.get_domain();
    let d = &cosets.domains;
    let n = d.n;
    let blinding = cs.blinding_factors();
    let usable = n - (blinding + 1);
    let fail = |m: String| ProofError::Engine(m);
    if params.n() as usize != n {
        return Err(fail(format!("the SRS has {} points, the key's domain {n}", params.n())));
    }
    if instances.len() != cs.num_instance_columns() || instances.iter().any(|i| i.len() > usable) {
        return Err(fail("instance columns do not fit the key".into()));
    }

    // A proof draws about `n` random values; one seed from the caller's generator drives them
    // (an OS generator would make a system call for each).
    let mut seed = [0u8; 32];
    entropy.fill_bytes(&mut seed);
    let mut rng = ChaCha20Rng::from_seed(seed);

    vk.hash_into(transcript).map_err(|e| fail(e.to_string()))?;
    for value in instances.iter().flat_map(|i| i.iter()) {
        transcript.common_scalar(*value).map_err(|e| fail(e.to_string()))?;
    }
    let instance_values: Vec<Vec<Fr>> = instances
        .iter()
        .map(|i| {
            let mut column = vec![Fr::ZERO; n];
            column[..i.len()].copy_from_slice(i);
            column
        })
        .collect();

    // Advice: synthesis, then per phase blinding rows, commitments and the phase's challenges.
    let mut commit_phase = |columns: &mut [Vec<Fr>], challenges: usize| -> Result<Vec<Fr>, ProofError> {
        for column in columns.iter_mut() {
            column[usable..].iter_mut().for_each(|v| *v = Fr::random(&mut rng));
        }
        let rows: Vec<&[Fr]> = columns.iter().map(Vec::as_slice).collect();
        write_points(transcript, &commit_rows(params, &rows))?;
        Ok((0..challenges).map(|_| squeeze(transcript)).collect())
    };
    let witness::Witness { advice: advice_values, challenges } =
        witness::synthesize(cs, circuit, instances, n, usable, &mut commit_phase)?;

    // Lookups: permuted columns.
    let theta = squeeze(transcript);
    let fixed_values = columns(pk.fixed_values());
    let rows_view = View {
        fixed: fixed_values.clone(),
        advice: columns(&advice_values),
        instance: columns(&instance_values),
        challenges: &challenges,
        scale: 1,
    };
    let permuted = cs
        .lookups()
        .iter()
        .map(|argument| {
            let input = lookup::Side::on_rows(argument.input_expressions(), &rows_view, n, theta);
            let table = lookup::Side::on_rows(argument.table_expressions(), &rows_view, n, theta);
            lookup::permute(input, table, usable, &mut rng)
                .map_err(|m| fail(format!("lookup `{}`: {m}", argument.name())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    write_points(transcript, &commit_permuted(params, &permuted, theta))?;

    // Copy constraints: grand products.
    let beta = squeeze(transcript);
    let gamma = squeeze(transcript);
    let equality = cs.permutation().get_columns();
    let column_rows = |column: &halo2_proofs::plonk::Column<Any>| -> &[Fr] {
        match column.column_type() {
            Any::Advice(_) => &advice_values[column.index()],
            Any::Fixed => fixed_values[column.index()],
            Any::Instance => &instance_values[column.index()],
        }
    };
    let chunk = cs.degree() - 2;
    let equality_rows: Vec<(&[Fr], &[Fr])> =
        equality.iter().map(column_rows).zip(pk.permutation().permutations().iter().map(|p| &p[..])).collect();
    let permutation_products =
        permutation::products(&equality_rows, chunk, domain.get_omega(), beta, gamma, blinding, &mut rng);
    write_points(transcript, &commit_rows(params, &columns(&permutation_products)))?;

    // Lookups: grand products.
    let lookup_products: Vec<Vec<Fr>> =
        permuted.iter().map(|p| lookup::product(p, beta, gamma, blinding, &mut rng)).collect();
    write_points(transcript, &commit_rows(params, &columns(&lookup_products)))?;

    // Vanishing argument: a random polynomial to blind h(x).
    let random_poly: Vec<Fr> = (0..n).map(|_| Fr::random(&mut rng)).collect();
    write_points(transcript, &[params.commit_coeffs(&random_poly).to_affine()])?;
    let y = squeeze(transcript);

    // Everything to coefficients, then to the extended coset.
    let advice_polys = d.all_to_coeff(advice_values);
    let instance_polys = d.all_to_coeff(instance_values);
    let permutation_polys = d.all_to_coeff(permutation_products);
    let lookup_polys: Vec<[Vec<Fr>; 3]> = permuted
        .into_iter()
        .zip(lookup_products)
        .map(|(p, z)| {
            let mut c = d.all_to_coeff(vec![z, p.permuted_input, p.permuted_table]).into_iter();
            let mut next = || c.next().unwrap_or_default();
            [next(), next(), next()]
        })
        .collect();
    let advice_cosets = d.all_to_extended(&advice_polys);
    let instance_cosets = d.all_to_extended(&instance_polys);
    let column_cosets = |column: &halo2_proofs::plonk::Column<Any>| -> &[Fr] {
        match column.column_type() {
            Any::Advice(_) => &advice_cosets[column.index()],
            Any::Fixed => &cosets.fixed[column.index()],
            Any::Instance => &instance_cosets[column.index()],
        }
    };
    let numerator = Numerator {
        gates: cs.gates().iter().flat_map(|g| g.polynomials()).collect(),
        view: View {
            fixed: columns(&cosets.fixed),
            advice: columns(&advice_cosets),
            instance: columns(&instance_cosets),
            challenges: &challenges,
            scale: d.scale,
        },
        selectors: Selectors {
            l0: &cosets.l0,
            l_last: &cosets.l_last,
            l_active: &cosets.l_active,
            points: &cosets.points,
        },
        permutation: PermutationCosets {
            columns: equality.iter().map(column_cosets).collect(),
            sigmas: cosets.sigmas.iter().map(|s| &s[..]).collect(),
            products: d.all_to_extended(&permutation_polys),
            chunk,
        },
        lookups: cs
            .lookups()
            .iter()
            .zip(&lookup_polys)
            .map(|(argument, polys)| {
                let mut c = d.all_to_extended(polys).into_iter();
                let mut next = || c.next().unwrap_or_default();
                LookupCosets {
                    inputs: argument.input_expressions(),
                    tables: argument.table_expressions(),
                    product: next(),
                    permuted_input: next(),
                    permuted_table: next(),
                }
            })
            .collect(),
        challenges: Challenges { theta, beta, gamma, y },
        blinding,
    };
    let values = numerator.evaluate(d.extended);
    drop(numerator);
    drop(advice_cosets);

    // h = numerator / (X^n − 1), split into `degree − 1` pieces of n coefficients.
    let h = domain.divide_by_vanishing_poly(Polynomial::new(values));
    let mut h = d.extended_to_coeff(h.to_vec());
    // Where the extended domain has room above the quotient's degree, a witness that breaks a
    // constraint shows there (the numerator is not divisible); refuse rather than write a proof
    // no verifier accepts. Without that room the verifier is the check.
    let pieces = domain.get_quotient_poly_degree() * n;
    if h[pieces..].iter().any(|c| !bool::from(c.is_zero())) {
        return Err(fail("the witness does not satisfy the circuit's constraints".into()));
    }
    h.truncate(pieces);
    let h_pieces: Vec<Vec<Fr>> = h.chunks(n).map(<[Fr]>::to_vec).collect();
    let h_commitments: Vec<G1Affine> = h_pieces.par_iter().map(|p| params.commit_coeffs(p).to_affine()).collect();
    write_points(transcript, &h_commitments)?;
    let x = squeeze(transcript);
    let xn = x.pow_vartime([n as u64]);
    let at = |r: i32| domain.rotate_omega(x, Rotation(r));

    // Evaluations, in the verifier's order.
    let fixed_polys: Vec<&[Fr]> = pk.fixed_polys().iter().map(|p| &p[..]).collect();
    let sigma_polys: Vec<&[Fr]> = pk.permutation().polys().iter().map(|p| &p[..]).collect();
    let mut evaluations: Vec<(&[Fr], Fr)> = Vec::new();
    evaluations.extend(cs.advice_queries().iter().map(|(c, r)| (&advice_polys[c.index()][..], at(r.0))));
    evaluations.extend(cs.fixed_queries().iter().map(|(c, r)| (fixed_polys[c.index()], at(r.0))));
    evaluations.push((&random_poly, x));
    evaluations.extend(sigma_polys.iter().map(|p| (*p, x)));
    let last = -(blinding as i32 + 1);
    for (i, z) in permutation_polys.iter().map(Vec::as_slice).enumerate() {
        evaluations.push((z, x));
        evaluations.push((z, at(1)));
        if i + 1 < permutation_polys.len() {
            evaluations.push((z, at(last)));
        }
    }
    for [z, a, s] in lookup_polys.iter().map(|p| p.each_ref().map(Vec::as_slice)) {
        evaluations.extend([(z, x), (z, at(1)), (a, x), (a, at(-1)), (s, x)]);
    }
    let evals: Vec<Fr> = evaluations.par_iter().map(|(poly, x)| horner(poly, *x)).collect();
    for e in &evals {
        transcript.write_scalar(*e).map_err(|e| fail(e.to_string()))?;
    }
    // The openings reuse them (all but h's, which the verifier derives).
    let evaluated: Evaluated =
        evaluations.iter().zip(evals).map(|((poly, x), e)| ((poly.as_ptr() as usize, x.to_repr()), e)).collect();
    let query = |poly, point| query(&evaluated, poly, point);

    // Openings, in the verifier's order of queries.
    let h_poly = h_pieces
        .iter()
        .rev()
        .fold(vec![Fr::ZERO; n], |acc, piece| acc.iter().zip(piece).map(|(a, p)| *a * xn + p).collect());
    let mut openings: Vec<Query> = Vec::new();
    openings.extend(cs.advice_queries().iter().map(|(c, r)| query(&advice_polys[c.index()], at(r.0))));
    for z in &permutation_polys {
        openings.push(query(z, x));
        openings.push(query(z, at(1)));
    }
    for z in permutation_polys.iter().rev().skip(1) {
        openings.push(query(z, at(last)));
    }
    for [z, a, s] in &lookup_polys {
        openings.extend([query(z, x), query(a, x), query(s, x), query(a, at(-1)), query(z, at(1))]);
    }
    openings.extend(cs.fixed_queries().iter().map(|(c, r)| query(fixed_polys[c.index()], at(r.0))));
    openings.extend(sigma_polys.iter().map(|p| query(p, x)));
    openings.push(query(&h_poly, x));
    openings.push(query(&random_poly, x));
    shplonk::open(params, n, &openings, transcript).map_err(|e| fail(e.to_string()))
}
