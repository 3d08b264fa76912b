//! zkinfer's own prover loop against halo2's stock verifier, on a small circuit that has every
//! argument the model circuits use: a custom gate, a lookup into a fixed table, copy constraints
//! between advice cells and to the public instance. Honest proofs verify and are reproducible
//! from a seed; a witness that breaks any one argument gives no proof that verifies, and proofs
//! of one statement do not verify for another.

use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{
    keygen_pk, keygen_vk, verify_proof, Advice, Circuit, Column, ConstraintSystem, Error, Instance, ProvingKey,
    Selector, TableColumn,
};
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::VerifierSHPLONK;
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::poly::Rotation;
use halo2_proofs::transcript::{Blake2bRead, Blake2bWrite, Challenge255, TranscriptReadBuffer, TranscriptWriterBuffer};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use zkinfer_prover::{create_proof, CosetsError, KeyCosets, ProofError, RoutedParams, SmallScalarMsm};

const TABLE: u64 = 16;

/// Rows `(a, b)`: the gate checks `c = a·b`, the lookup `a < 16`; `b` of each row is a copy of
/// the previous row's `a`, and the last `c` is the public output.
#[derive(Clone, Default)]
struct Products {
    rows: Vec<(u64, u64)>,
    /// Tampering: a product off by one at this row; a `b` one more than the copied `a` (with
    /// `c` following it, so only the copy constraint breaks).
    wrong_c: Option<usize>,
    wrong_copy: Option<usize>,
}

#[derive(Clone)]
struct Config {
    a: Column<Advice>,
    b: Column<Advice>,
    c: Column<Advice>,
    q: Selector,
    table: TableColumn,
    output: Column<Instance>,
}

impl Circuit<Fr> for Products {
    type Config = Config;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> Config {
        let [a, b, c] = [(); 3].map(|_| meta.advice_column());
        [a, b, c].iter().for_each(|col| meta.enable_equality(*col));
        let output = meta.instance_column();
        meta.enable_equality(output);
        let q = meta.complex_selector();
        let table = meta.lookup_table_column();
        meta.create_gate("c = a·b", |m| {
            let (q, a, b, c) = (
                m.query_selector(q),
                m.query_advice(a, Rotation::cur()),
                m.query_advice(b, Rotation::cur()),
                m.query_advice(c, Rotation::cur()),
            );
            vec![q * (a * b - c)]
        });
        meta.lookup("a < 16", |m| vec![(m.query_selector(q) * m.query_advice(a, Rotation::cur()), table)]);
        Config { a, b, c, q, table, output }
    }

    fn synthesize(&self, config: Config, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        layouter.assign_table(
            || "table",
            |mut t| {
                for v in 0..TABLE {
                    t.assign_cell(|| "v", config.table, v as usize, || Value::known(Fr::from(v)))?;
                }
                Ok(())
            },
        )?;
        let last = layouter.assign_region(
            || "rows",
            |mut region| {
                let mut previous_a = None;
                let mut last_c = None;
                for (i, &(a, b)) in self.rows.iter().enumerate() {
                    config.q.enable(&mut region, i)?;
                    let a_cell = region.assign_advice(config.a, i, Value::known(Fr::from(a)));
                    let b = if self.wrong_copy == Some(i) { b + 1 } else { b };
                    let b_cell = region.assign_advice(config.b, i, Value::known(Fr::from(b)));
                    if let Some(p) = previous_a {
                        region.constrain_equal(p, b_cell.cell());
                    }
                    let c = a * b + u64::from(self.wrong_c == Some(i));
                    last_c = Some(region.assign_advice(config.c, i, Value::known(Fr::from(c))).cell());
                    previous_a = Some(a_cell.cell());
                }
                Ok(last_c)
            },
        )?;
        if let Some(cell) = last {
            layouter.constrain_instance(cell, config.output, 0);
        }
        Ok(())
    }
}

fn honest(values: &[u64]) -> (Products, Fr) {
    let mut rows = vec![(values[0], 1)];
    for w in values.windows(2) {
        rows.push((w[1], w[0]));
    }
    let (a, b) = *rows.last().unwrap_or(&(0, 0));
    (Products { rows, ..Products::default() }, Fr::from(a * b))
}

struct Keys {
    params: RoutedParams<SmallScalarMsm>,
    pk: ProvingKey<G1Affine>,
    cosets: KeyCosets,
}

fn keys() -> Keys {
    let params =
        RoutedParams::new(ParamsKZG::<Bn256>::setup(6, ChaCha20Rng::seed_from_u64(1)), SmallScalarMsm::default());
    let shape = honest(&[1, 2, 3, 4, 5]).0;
    let vk = keygen_vk(&params, &shape).unwrap();
    let pk = keygen_pk(&params, vk, &shape).unwrap();
    let cosets = KeyCosets::new(&pk);
    Keys { params, pk, cosets }
}

fn prove(keys: &Keys, circuit: &Products, output: Fr, seed: u64) -> Result<Vec<u8>, ProofError> {
    let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
    let rng = ChaCha20Rng::seed_from_u64(seed);
    create_proof(&keys.params, &keys.pk, &keys.cosets, circuit, &[&[output]], rng, &mut transcript)?;
    Ok(transcript.finalize())
}

fn verifies(keys: &Keys, proof: &[u8], output: Fr) -> bool {
    let params = keys.params.inner();
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, SingleStrategy<'_, Bn256>>(
        params,
        keys.pk.get_vk(),
        SingleStrategy::new(params),
        &[&[&[output]]],
        &mut Blake2bRead::<_, G1Affine, Challenge255<_>>::init(proof),
    )
    .is_ok()
}

#[test]
fn honest_proofs_verify_with_the_stock_verifier_and_are_reproducible() {
    let keys = keys();
    let (circuit, output) = honest(&[3, 7, 2, 15, 9]);
    let proof = prove(&keys, &circuit, output, 5).unwrap();
    assert!(verifies(&keys, &proof, output));
    assert_eq!(proof, prove(&keys, &circuit, output, 5).unwrap(), "same seed, same proof");
    let other = prove(&keys, &circuit, output, 6).unwrap();
    assert_ne!(proof, other, "the blinding comes from the RNG");
    assert!(verifies(&keys, &other, output));
    // Another statement (output) or changed bytes do not verify.
    assert!(!verifies(&keys, &proof, output + Fr::from(1)));
    let mut flipped = proof.clone();
    flipped[proof.len() / 2] ^= 1;
    assert!(!verifies(&keys, &flipped, output));
    // A second witness of the same shape proves with the same key.
    let (second, second_output) = honest(&[0, 15, 15, 1, 4]);
    assert!(verifies(&keys, &prove(&keys, &second, second_output, 9).unwrap(), second_output));
}

#[test]
fn a_witness_that_breaks_any_argument_gives_no_valid_proof() {
    let keys = keys();
    let (circuit, output) = honest(&[3, 7, 2, 15, 9]);
    // The prover refuses when it can tell (room above the quotient's degree in the extended
    // domain); otherwise the proof it writes must not verify.
    let rejected = |r: Result<Vec<u8>, ProofError>, output: Fr| match r {
        Err(e) => e.to_string().contains("does not satisfy"),
        Ok(proof) => !verifies(&keys, &proof, output),
    };
    // Gate: one product off by one.
    assert!(rejected(prove(&keys, &Products { wrong_c: Some(2), ..circuit.clone() }, output, 1), output));
    // Copy constraint: a `b` that is not the previous `a` (the gate still holds on that row).
    assert!(rejected(prove(&keys, &Products { wrong_copy: Some(3), ..circuit.clone() }, output, 1), output));
    // Public instance: a claimed output that is not the last product.
    let wrong = output + Fr::from(1);
    assert!(rejected(prove(&keys, &circuit, wrong, 1), wrong));
    // Lookup: a value outside the table (the gate and copies are consistent).
    let (outside, outside_output) = honest(&[3, 7, 16, 15, 9]);
    let err = prove(&keys, &outside, outside_output, 1).unwrap_err();
    assert!(err.to_string().contains("not in their table"), "{err}");
}

/// Stored cosets give the same proof as computed ones (same seed, same bytes), and a file of
/// another key, a damaged column or a cut file is refused with its reason.
#[test]
fn stored_cosets_prove_like_computed_ones_and_damage_is_refused() {
    let keys = keys();
    let id = [7u8; 32];
    let bytes = keys.cosets.to_bytes(&id);
    assert_eq!(bytes.len(), KeyCosets::stored_size(&keys.pk));
    let loaded = Keys { cosets: KeyCosets::from_bytes(&bytes, &keys.pk, &id).unwrap(), ..keys };
    let (circuit, output) = honest(&[3, 7, 2, 15, 9]);
    let proof = prove(&loaded, &circuit, output, 5).unwrap();
    let computed = Keys { cosets: KeyCosets::new(&loaded.pk), ..loaded };
    assert_eq!(proof, prove(&computed, &circuit, output, 5).unwrap());
    assert!(verifies(&computed, &proof, output));

    let read = |b: &[u8], id: &[u8; 32]| KeyCosets::from_bytes(b, &computed.pk, id).err();
    assert_eq!(read(&bytes, &[8u8; 32]), Some(CosetsError::OtherKey));
    let mut damaged = bytes.clone();
    *damaged.last_mut().unwrap() ^= 1;
    let columns = computed.pk.fixed_polys().len() + computed.pk.permutation().polys().len() + 3;
    assert_eq!(read(&damaged, &id), Some(CosetsError::Corrupt(columns - 1)));
    assert!(matches!(read(&bytes[..bytes.len() - 32], &id), Some(CosetsError::Malformed(_))));
    assert!(matches!(read(&bytes[..10], &id), Some(CosetsError::Malformed(_))));
    assert!(matches!(
        read(b"ZKPK and more bytes than a header needs, ...........", &id),
        Some(CosetsError::Malformed(_))
    ));
}
