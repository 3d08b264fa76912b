//! One chip per op family.

pub mod conv;
pub mod dense;
pub mod maxpool;
pub mod requant;

/// Pieces every chip's MockProver test circuit needs.
#[cfg(test)]
pub(crate) mod test_support {
    use halo2_proofs::circuit::{Cell, Layouter, Value};
    use halo2_proofs::halo2curves::bn256::Fr;
    use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Instance};

    use crate::field::fe;

    /// A free advice column for a chip's inputs and an instance column for its outputs.
    pub fn io_columns(meta: &mut ConstraintSystem<Fr>) -> (Column<Advice>, Column<Instance>) {
        let input = meta.advice_column();
        meta.enable_equality(input);
        let out = meta.instance_column();
        meta.enable_equality(out);
        (input, out)
    }

    /// Assigns `values` as unconstrained witnesses, standing in for a producing op.
    pub fn assign_inputs(
        layouter: &mut impl Layouter<Fr>,
        column: Column<Advice>,
        values: &[i64],
    ) -> Result<Vec<Cell>, Error> {
        layouter.assign_region(
            || "inputs",
            |mut region| {
                Ok(values
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| region.assign_advice(column, i, Value::known(fe(v))).cell())
                    .collect())
            },
        )
    }
}
