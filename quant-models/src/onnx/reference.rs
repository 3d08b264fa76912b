//! Float reference inference through tract, used to measure how far the integer model is from
//! the original float model and to check the importer's translation.

use tract_onnx::prelude::*;

use crate::error::{ModelError, Result};

/// Runs the ONNX model in f32 through tract (batch 1) and returns each output flattened.
pub fn tract_reference(onnx_bytes: &[u8], inputs: &[Vec<f64>], input_shapes: &[Vec<usize>]) -> Result<Vec<Vec<f64>>> {
    let err = |e: TractError| ModelError::MalformedOnnx(format!("tract reference run: {e:#}"));
    let mut model = tract_onnx::onnx().model_for_read(&mut &onnx_bytes[..]).map_err(err)?;
    for (ix, shape) in input_shapes.iter().enumerate() {
        model.set_input_fact(ix, InferenceFact::dt_shape(f32::datum_type(), shape.clone())).map_err(err)?;
    }
    let runnable = model.into_optimized().and_then(|m| m.into_runnable()).map_err(err)?;
    let tensors = inputs
        .iter()
        .zip(input_shapes)
        .map(|(data, shape)| {
            let v: Vec<f32> = data.iter().map(|&x| x as f32).collect();
            Tensor::from_shape(shape, &v).map(|t| t.into_tvalue())
        })
        .collect::<TractResult<TVec<_>>>()
        .map_err(err)?;
    let outputs = runnable.run(tensors).map_err(err)?;
    outputs
        .iter()
        .map(|t| {
            let t = t.cast_to::<f64>().map_err(err)?;
            Ok(t.to_plain_array_view::<f64>().map_err(err)?.iter().copied().collect())
        })
        .collect()
}
