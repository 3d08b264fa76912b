//! One tagged lookup table shared by every chip: rows `(tag, input, output)`.
//!
//! Each function over its domain (an activation, the softmax exponential) gets a tag (`output = f(input)`), and each range
//! check `input ∈ [0, d)` gets a tag (`output = 0`). Tag 0 holds the single row
//! `(0, 0, 0)`, which is what a disabled lookup (selector off) looks up.

use std::collections::HashMap;

use halo2_proofs::circuit::{Layouter, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Error, TableColumn};
use zkinfer_quant_models::quant::Activation;

use crate::field::fe;

/// The three table columns.
#[derive(Clone, Copy, Debug)]
pub struct TableConfig {
    pub tag: TableColumn,
    pub input: TableColumn,
    pub output: TableColumn,
}

impl TableConfig {
    /// Allocates the table columns.
    pub fn configure(meta: &mut ConstraintSystem<Fr>) -> Self {
        TableConfig {
            tag: meta.lookup_table_column(),
            input: meta.lookup_table_column(),
            output: meta.lookup_table_column(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Function { domain: (i64, i64), values: Vec<i64> },
    Range { end: i64 },
}

/// The table's contents, built while the circuit is planned; tags are stable for a given
/// sequence of requests, so keygen and proving agree.
#[derive(Clone, Debug, Default)]
pub struct LookupTable {
    tags: HashMap<Key, u64>,
    rows: Vec<(u64, i64, i64)>,
}

/// The outputs of an activation over `domain`, in domain order.
pub fn activation_values(domain: (i64, i64), activation: &Activation) -> Vec<i64> {
    match activation {
        Activation::Identity => (domain.0..=domain.1).collect(),
        Activation::Relu => (domain.0..=domain.1).map(|t| t.max(0)).collect(),
        Activation::Table { values, .. } => values.clone(),
    }
}

impl LookupTable {
    fn tag_for(&mut self, key: Key, rows: impl FnOnce() -> Vec<(i64, i64)>) -> u64 {
        if let Some(&tag) = self.tags.get(&key) {
            return tag;
        }
        let tag = self.tags.len() as u64 + 1;
        self.rows.extend(rows().into_iter().map(|(i, o)| (tag, i, o)));
        self.tags.insert(key, tag);
        tag
    }

    /// The tag of `output = activation(input)` for `input` in `domain`.
    pub fn function_tag(&mut self, domain: (i64, i64), activation: &Activation) -> u64 {
        self.values_tag(domain, activation_values(domain, activation))
    }

    /// The tag of `output = values[input - domain.0]` for `input` in `domain`.
    pub fn values_tag(&mut self, domain: (i64, i64), values: Vec<i64>) -> u64 {
        let rows = values.iter().enumerate().map(|(k, &v)| (domain.0 + k as i64, v)).collect::<Vec<_>>();
        self.tag_for(Key::Function { domain, values }, || rows)
    }

    /// The tag of `input ∈ [0, end)`.
    pub fn range_tag(&mut self, end: i64) -> u64 {
        self.tag_for(Key::Range { end }, || (0..end).map(|v| (v, 0)).collect())
    }

    /// Rows the table occupies, the zero row included.
    pub fn len(&self) -> usize {
        self.rows.len() + 1
    }

    /// True when only the zero row is present.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Assigns the table.
    pub fn assign(&self, layouter: &mut impl Layouter<Fr>, config: TableConfig) -> Result<(), Error> {
        layouter.assign_table(
            || "lookup table",
            |mut table| {
                let zero = std::iter::once((0u64, 0i64, 0i64));
                for (offset, (tag, input, output)) in zero.chain(self.rows.iter().copied()).enumerate() {
                    table.assign_cell(|| "tag", config.tag, offset, || Value::known(Fr::from(tag)))?;
                    table.assign_cell(|| "input", config.input, offset, || Value::known(fe(input)))?;
                    table.assign_cell(|| "output", config.output, offset, || Value::known(fe(output)))?;
                }
                Ok(())
            },
        )
    }
}
