//! One chip per op family.

pub mod conv;
pub mod dense;
pub mod freivalds;
pub mod limbs;
pub mod maxpool;
pub mod product;
pub mod requant;
pub mod softmax;

/// One MockProver harness for every chip: a free input column standing in for the producing
/// op, the shared table columns, the chip, and an instance column for the chip's outputs.
#[cfg(test)]
pub(crate) mod test_support {
    use halo2_proofs::circuit::{Cell, Layouter, SimpleFloorPlanner, Value};
    use halo2_proofs::dev::MockProver;
    use halo2_proofs::halo2curves::bn256::Fr;
    use halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Instance};

    use crate::field::fe;
    use crate::table::TableConfig;

    /// What a chip's test case provides to the harness.
    pub trait ChipCase: Clone {
        /// The chip's config.
        type Chip: Clone;
        /// Allocates the chip against the shared table.
        fn configure_chip(meta: &mut ConstraintSystem<Fr>, table: TableConfig) -> Self::Chip;
        /// Values of the free input column.
        fn inputs(&self) -> &[i64];
        /// Lays out the chip (and the table, if it uses one) over the input cells; returns the
        /// cells bound to the instance column, in order.
        fn lay_out(
            &self,
            chip: &Self::Chip,
            table: TableConfig,
            layouter: &mut impl Layouter<Fr>,
            inputs: &[Cell],
        ) -> Result<Vec<Cell>, Error>;
    }

    #[derive(Clone)]
    struct Harness<T>(T);

    impl<T: ChipCase> Circuit<Fr> for Harness<T> {
        type Config = (Column<Advice>, Column<Instance>, TableConfig, T::Chip);
        type FloorPlanner = SimpleFloorPlanner;
        type Params = ();

        fn without_witnesses(&self) -> Self {
            self.clone()
        }

        fn configure(meta: &mut ConstraintSystem<Fr>) -> Self::Config {
            let table = TableConfig::configure(meta);
            let input = meta.advice_column();
            meta.enable_equality(input);
            let out = meta.instance_column();
            meta.enable_equality(out);
            (input, out, table, T::configure_chip(meta, table))
        }

        fn synthesize(
            &self,
            (input, out, table, chip): Self::Config,
            mut layouter: impl Layouter<Fr>,
        ) -> Result<(), Error> {
            let values = self.0.inputs();
            let cells = layouter.assign_region(
                || "inputs",
                |mut region| {
                    Ok(values
                        .iter()
                        .enumerate()
                        .map(|(i, &v)| region.assign_advice(input, i, Value::known(fe(v))).cell())
                        .collect::<Vec<_>>())
                },
            )?;
            for (i, cell) in self.0.lay_out(&chip, table, &mut layouter, &cells)?.into_iter().enumerate() {
                layouter.constrain_instance(cell, out, i);
            }
            Ok(())
        }
    }

    /// Whether MockProver accepts the case with `public` as the chip's outputs.
    pub fn verifies<T: ChipCase>(k: u32, case: &T, public: Vec<Fr>) -> bool {
        MockProver::run(k, &Harness(case.clone()), vec![public]).unwrap().verify().is_ok()
    }
}
