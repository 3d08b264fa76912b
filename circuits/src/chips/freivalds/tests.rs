//! Adversarial witnesses for each constraint of the Freivalds chip: every case below satisfies
//! all constraints but the one it names (checked by deleting that constraint and watching the
//! case pass).

use halo2_proofs::circuit::{Cell, Layouter};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Error};

use super::{CheckWitness, FreivaldsConfig, FreivaldsJob};
use crate::chips::test_support::{verifies, ChipCase};
use crate::field::fe;
use crate::table::TableConfig;

const M: usize = 2;
const K: usize = 3;
const N: usize = 4;
const A: [i64; M * K] = [3, -1, 4, 1, -5, 9];
const B: [i64; K * N] = [2, 6, -5, 3, 5, -8, 9, 7, -9, 3, 2, 3];

/// How a case departs from the honest witness.
#[derive(Clone, Copy, Debug)]
enum Tamper {
    None,
    /// Adds 1 to the accumulator of one row.
    Acc(usize),
    /// Moves `y` of row `i`'s first two dot rows against each other so `A·(B·r)` is unchanged:
    /// only the copies of `B·r` into `y` can tell.
    BalancedY(usize),
}

#[derive(Clone)]
struct TestCircuit {
    inputs: Vec<i64>,
    /// The claimed product (the honest one unless a test says otherwise).
    c: Vec<i64>,
    /// Values the chip's own operand cells hold, when they differ from the producer's.
    chip_inputs: Option<Vec<i64>>,
    tamper: Tamper,
}

fn product(a: &[i64], b: &[i64]) -> Vec<i64> {
    (0..M * N).map(|o| (0..K).map(|t| a[(o / N) * K + t] * b[t * N + o % N]).sum()).collect()
}

fn case() -> TestCircuit {
    TestCircuit { inputs: [&A[..], &B[..]].concat(), c: product(&A, &B), chip_inputs: None, tamper: Tamper::None }
}

fn public(c: &[i64]) -> Vec<Fr> {
    c.iter().map(|&v| fe(v)).collect()
}

fn tampered(job: &FreivaldsJob, r: Fr, tamper: Tamper) -> CheckWitness {
    let mut w = job.witness(r);
    match tamper {
        Tamper::None => {}
        Tamper::Acc(row) => w.acc[row] += Fr::one(),
        Tamper::BalancedY(i) => {
            let (a0, a1) = (fe(job.a[i * K].1), fe(job.a[i * K + 1].1));
            w.y[i * K] += a1;
            w.y[i * K + 1] -= a0;
            // The dot rows' running sums follow the moved `y`, so the dot gate holds.
            let dot = K * N + M * N + i * K;
            w.acc[dot] = fe(job.a[i * K].1) * w.y[i * K];
            w.acc[dot + 1] = w.acc[dot] + a1 * w.y[i * K + 1];
        }
    }
    w
}

impl ChipCase for TestCircuit {
    type Chip = FreivaldsConfig;

    fn configure_chip(meta: &mut ConstraintSystem<Fr>, _: TableConfig) -> FreivaldsConfig {
        let r = meta.challenge_usable_after(halo2_proofs::plonk::FirstPhase);
        FreivaldsConfig::configure(meta, r)
    }

    fn inputs(&self) -> &[i64] {
        &self.inputs
    }

    fn lay_out(
        &self,
        chip: &FreivaldsConfig,
        _: TableConfig,
        layouter: &mut impl Layouter<Fr>,
        cells: &[Cell],
    ) -> Result<Vec<Cell>, Error> {
        let values = self.chip_inputs.as_deref().unwrap_or(&self.inputs);
        let operand = |i: usize| (cells[i], values[i]);
        let job = FreivaldsJob {
            m: M,
            k: K,
            n: N,
            a: (0..M * K).map(operand).collect(),
            b: (M * K..M * K + K * N).map(operand).collect(),
            c: self.c.clone(),
        };
        let placed = chip.assign_operands(layouter, 0, &job)?;
        layouter.next_phase();
        let witness = layouter.get_challenge(chip.challenge()).map(|r| tampered(&job, r, self.tamper));
        chip.assign_checks(layouter, &placed, witness.as_ref())?;
        Ok(placed.outputs)
    }
}

#[test]
fn honest_products_verify() {
    assert_eq!(FreivaldsJob::rows(M, K, N), 26);
    assert!(verifies(6, &case(), public(&product(&A, &B))));
}

#[test]
fn a_wrong_product_is_rejected() {
    // One entry of C is off by one, its row's `C·r` and every accumulator are computed honestly
    // from it, and the public value agrees: only the check `A·(B·r) = C·r` can tell.
    for at in [0, 5, M * N - 1] {
        let mut c = case();
        c.c[at] += 1;
        let claimed = c.c.clone();
        assert!(!verifies(6, &c, public(&claimed)), "entry {at}");
    }
}

#[test]
fn a_wrong_product_that_keeps_row_sums_is_rejected() {
    // Two entries of one row moved against each other: `C·1` is unchanged, `C·r` is not.
    let mut c = case();
    c.c[N] += 1;
    c.c[N + 1] -= 1;
    let claimed = c.c.clone();
    assert!(!verifies(6, &c, public(&claimed)));
}

#[test]
fn an_output_other_than_the_proven_one_is_rejected() {
    let mut claimed = product(&A, &B);
    claimed[3] += 1;
    assert!(!verifies(6, &case(), public(&claimed)));
}

#[test]
fn a_broken_horner_step_is_rejected() {
    // A middle accumulator of a `B·r` block (row 1) and of a `C·r` block (row K·N + 1): the
    // block's last value stays honest, so only the Horner gate breaks.
    for row in [1, K * N + 1] {
        let mut c = case();
        c.tamper = Tamper::Acc(row);
        assert!(!verifies(6, &c, public(&product(&A, &B))), "row {row}");
    }
}

#[test]
fn a_broken_dot_step_is_rejected() {
    let mut c = case();
    c.tamper = Tamper::Acc(K * N + M * N);
    assert!(!verifies(6, &c, public(&product(&A, &B))));
}

#[test]
fn a_y_other_than_the_b_r_entry_is_rejected() {
    let mut c = case();
    c.tamper = Tamper::BalancedY(1);
    assert!(!verifies(6, &c, public(&product(&A, &B))));
}

#[test]
fn operands_not_copied_from_their_producer_are_rejected() {
    // The chip multiplies other values than the producer's cells hold, and claims their
    // product: only the copy constraints can tell. Once in `A`, once in `B`.
    for at in [1, M * K + 6] {
        let mut c = case();
        let mut other = c.inputs.clone();
        other[at] += 2;
        c.c = product(&other[..M * K], &other[M * K..]);
        c.chip_inputs = Some(other);
        let claimed = c.c.clone();
        assert!(!verifies(6, &c, public(&claimed)), "element {at}");
    }
}

#[test]
fn the_product_is_committed_before_the_challenge() {
    // Soundness rests on the order: `A`, `B` and `C` (column `x`) in the first phase, the
    // challenge drawn after it, everything that reads it in the second.
    let mut meta = ConstraintSystem::<Fr>::default();
    // halo2 allows a challenge only after a first-phase column exists (the model's input).
    meta.advice_column();
    let r = meta.challenge_usable_after(halo2_proofs::plonk::FirstPhase);
    let chip = FreivaldsConfig::configure(&mut meta, r);
    let phases = meta.advice_column_phase();
    assert_eq!([chip.x, chip.y, chip.acc].map(|c| phases[c.index()]), [0, 1, 1]);
    assert_eq!(meta.challenge_phase(), vec![0]);
}

#[test]
fn freivalds_is_chosen_only_where_it_takes_fewer_rows() {
    // Elementwise and matrix-vector products: direct (1 against 3 rows; m·k against m·k + k + m).
    assert!(!FreivaldsJob::cheaper_than_direct(1, 1, 1));
    assert!(!FreivaldsJob::cheaper_than_direct(8, 8, 1));
    assert!(!FreivaldsJob::cheaper_than_direct(2, 2, 2));
    // A tie (27 rows each way) stays direct: it needs no second phase.
    assert!(!FreivaldsJob::cheaper_than_direct(3, 3, 3));
    assert!(FreivaldsJob::cheaper_than_direct(3, 4, 3));
    assert!(FreivaldsJob::cheaper_than_direct(64, 64, 64));
}
