//! The interface a verifier key records for a model.

use zkinfer_circuits::model::LayoutParams;
use zkinfer_quant_models::QuantModel;
use zkinfer_verifier::{CircuitSpec, IoTensor};

/// The spec of `model`'s circuit at `2^k` rows with `layout`.
pub fn circuit_spec(model: &QuantModel, layout: LayoutParams, k: u32) -> CircuitSpec {
    let io = |ids: &[usize]| {
        ids.iter()
            .map(|&t| {
                let t = &model.tensors[t];
                IoTensor { name: t.name.clone(), shape: t.shape.clone(), frac_bits: t.frac_bits, bits: t.bits }
            })
            .collect()
    };
    CircuitSpec { k, layout, inputs: io(&model.inputs), outputs: io(&model.outputs) }
}
