//! Advice values from a circuit's synthesis, without commitments or a transcript.

use halo2_proofs::circuit::Value;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{
    Advice, Any, Assigned, Assignment, Challenge, Circuit, Column, ConstraintSystem, Error, Fixed, FloorPlanner,
    Instance, Selector,
};
use rayon::prelude::*;

/// Runs `circuit`'s synthesis and returns each advice column's values on the usable rows
/// (`rows` long; rows from `usable` on are left zero for the caller's blinding).
pub(crate) fn advice_values<C: Circuit<Fr>>(
    cs: &ConstraintSystem<Fr>,
    circuit: &C,
    instances: &[&[Fr]],
    rows: usize,
    usable: usize,
) -> Result<Vec<Vec<Fr>>, Error> {
    let mut meta = ConstraintSystem::default();
    let config = C::configure_with_params(&mut meta, circuit.params());
    let mut collection =
        Collection { advice: vec![vec![Assigned::Zero; rows]; cs.num_advice_columns()], instances, usable };
    C::FloorPlanner::synthesize(&mut collection, circuit, config, cs.constants().clone())?;
    Ok(collection.advice.into_par_iter().map(|column| column.into_iter().map(Assigned::evaluate).collect()).collect())
}

struct Collection<'a> {
    advice: Vec<Vec<Assigned<Fr>>>,
    instances: &'a [&'a [Fr]],
    usable: usize,
}

impl Assignment<Fr> for Collection<'_> {
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

    fn get_challenge(&self, _: Challenge) -> Value<Fr> {
        Value::unknown()
    }

    fn push_namespace<NR: Into<String>, N: FnOnce() -> NR>(&mut self, _: N) {}

    fn pop_namespace(&mut self, _: Option<String>) {}
}
