//! Advice values from a circuit's synthesis, committed phase by phase, without halo2's own
//! witness collection.
//!
//! A multi-phase circuit (one that draws a challenge, as the Freivalds product check does)
//! lays out its first-phase cells, calls `next_phase`, then lays out cells that depend on the
//! challenge. Each `next_phase` hands the finished phase's columns to the caller, who blinds,
//! commits and writes them and squeezes that phase's challenges; the circuit then reads them
//! through `get_challenge`.

use halo2_proofs::circuit::Value;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{
    Advice, Any, Assigned, Assignment, Challenge, Circuit, Column, ConstraintSystem, Error, Fixed, FloorPlanner,
    Instance, Selector,
};
use rayon::prelude::*;

use crate::error::ProofError;

/// Blinds, commits and writes one phase's advice columns (in column order) and returns that
/// phase's challenges, `count` of them, squeezed after the commitments.
pub(crate) type CommitPhase<'c> = dyn FnMut(&mut [Vec<Fr>], usize) -> Result<Vec<Fr>, ProofError> + 'c;

/// What synthesis produced: every advice column's values (blinded by `commit`) and the
/// challenges in index order.
pub(crate) struct Witness {
    pub advice: Vec<Vec<Fr>>,
    pub challenges: Vec<Fr>,
}

/// Runs `circuit`'s synthesis, committing each phase's advice through `commit` as the circuit
/// finishes it. Columns are `rows` long; rows from `usable` on are left to `commit`'s blinding.
pub(crate) fn synthesize<C: Circuit<Fr>>(
    cs: &ConstraintSystem<Fr>,
    circuit: &C,
    instances: &[&[Fr]],
    rows: usize,
    usable: usize,
    commit: &mut CommitPhase<'_>,
) -> Result<Witness, ProofError> {
    let mut meta = ConstraintSystem::default();
    let config = C::configure_with_params(&mut meta, circuit.params());
    let phases = usize::from(cs.advice_column_phase().into_iter().max().unwrap_or(0)) + 1;
    let mut collection = Collection {
        advice: vec![vec![Assigned::Zero; rows]; cs.num_advice_columns()],
        evaluated: vec![None; cs.num_advice_columns()],
        column_phase: cs.advice_column_phase(),
        challenge_phase: cs.challenge_phase(),
        challenges: vec![None; cs.num_challenges()],
        phase: 0,
        commit,
        failure: None,
        instances,
        usable,
    };
    C::FloorPlanner::synthesize(&mut collection, circuit, config, cs.constants().clone()).map_err(ProofError::Prove)?;
    if let Some(failure) = collection.failure.take() {
        return Err(failure);
    }
    if usize::from(collection.phase) + 1 != phases {
        return Err(ProofError::Engine(format!(
            "the circuit has {phases} phases but its synthesis moved on {} times",
            collection.phase
        )));
    }
    collection.finish_phase()?;
    let advice = collection.evaluated.into_iter().map(Option::unwrap_or_default).collect();
    let challenges = collection.challenges.into_iter().map(Option::unwrap_or_default).collect();
    Ok(Witness { advice, challenges })
}

struct Collection<'a, 'c> {
    advice: Vec<Vec<Assigned<Fr>>>,
    /// Columns of finished phases, blinded as committed.
    evaluated: Vec<Option<Vec<Fr>>>,
    column_phase: Vec<u8>,
    challenge_phase: Vec<u8>,
    challenges: Vec<Option<Fr>>,
    phase: u8,
    commit: &'c mut CommitPhase<'c>,
    /// The first commit error (`next_phase` cannot return one).
    failure: Option<ProofError>,
    instances: &'a [&'a [Fr]],
    usable: usize,
}

impl Collection<'_, '_> {
    /// Commits the current phase's columns and draws its challenges.
    fn finish_phase(&mut self) -> Result<(), ProofError> {
        let phase = self.phase;
        let indices: Vec<usize> = (0..self.advice.len()).filter(|&c| self.column_phase[c] == phase).collect();
        let mut values: Vec<Vec<Fr>> =
            indices.par_iter().map(|&c| self.advice[c].iter().copied().map(Assigned::evaluate).collect()).collect();
        let count = self.challenge_phase.iter().filter(|&&p| p == phase).count();
        let drawn = (self.commit)(&mut values, count)?;
        let slots = self.challenges.iter_mut().zip(&self.challenge_phase).filter(|(_, &p)| p == phase);
        for ((slot, _), value) in slots.zip(drawn) {
            *slot = Some(value);
        }
        for (c, v) in indices.into_iter().zip(values) {
            self.evaluated[c] = Some(v);
        }
        self.phase += 1;
        Ok(())
    }
}

impl Assignment<Fr> for Collection<'_, '_> {
    fn next_phase(&mut self) {
        if self.failure.is_none() {
            self.failure = self.finish_phase().err();
        }
    }

    fn get_challenge(&self, challenge: Challenge) -> Value<Fr> {
        self.challenges.get(challenge.index()).copied().flatten().map_or_else(Value::unknown, Value::known)
    }

    fn enter_region<NR: Into<String>, N: FnOnce() -> NR>(&mut self, _: N) {}

    fn annotate_column<A: FnOnce() -> AR, AR: Into<String>>(&mut self, _: A, _: Column<Any>) {}

    fn exit_region(&mut self) {}

    fn enable_selector<A: FnOnce() -> AR, AR: Into<String>>(
        &mut self,
        _: A,
        _: &Selector,
        _: usize,
    ) -> Result<(), Error> {
        Ok(())
    }

    fn query_instance(&self, column: Column<Instance>, row: usize) -> Result<Value<Fr>, Error> {
        if row >= self.usable {
            return Err(Error::NotEnoughRowsAvailable {
                current_k: self.advice.first().map_or(0, |c| c.len().ilog2()),
            });
        }
        self.instances
            .get(column.index())
            .and_then(|c| c.get(row))
            .map(|v| Value::known(*v))
            .ok_or(Error::BoundsFailure)
    }

    fn assign_advice<'v>(
        &mut self,
        column: Column<Advice>,
        row: usize,
        to: Value<Assigned<Fr>>,
    ) -> Value<&'v Assigned<Fr>> {
        let Some(cell) = self.advice.get_mut(column.index()).and_then(|c| c.get_mut(row)) else {
            return Value::unknown();
        };
        let mut known = false;
        to.map(|v| {
            *cell = v;
            known = true;
        });
        if !known {
            return Value::unknown();
        }
        let cell: *const Assigned<Fr> = cell;
        // SAFETY: the columns are allocated once, before synthesis, and never resized, so the
        // cell stays where it is until the collection is dropped after synthesis returns; the
        // circuit's assigned cells (which hold this reference) do not outlive synthesis. This is
        // the contract halo2's own witness collection relies on for the same trait method.
        Value::known(unsafe { &*cell })
    }

    fn assign_fixed(&mut self, _: Column<Fixed>, _: usize, _: Assigned<Fr>) {}

    fn copy(&mut self, _: Column<Any>, _: usize, _: Column<Any>, _: usize) {}

    fn fill_from_row(&mut self, _: Column<Fixed>, _: usize, _: Value<Assigned<Fr>>) -> Result<(), Error> {
        Ok(())
    }

    fn push_namespace<NR: Into<String>, N: FnOnce() -> NR>(&mut self, _: N) {}

    fn pop_namespace(&mut self, _: Option<String>) {}
}
