//! Float inference through tract: the reference the integer model is compared with (error
//! reports, the importer's translation), and the plain inference the proving overhead is
//! measured against.

use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::error::{ModelError, Result};

fn err(e: TractError) -> ModelError {
    ModelError::ReferenceFailed(format!("{e:#}"))
}

/// An ONNX model optimised once by tract (f32, batch 1), to run many times.
pub struct TractModel {
    runnable: Arc<TypedRunnableModel>,
    input_shapes: Vec<Vec<usize>>,
}

impl TractModel {
    /// Parses and optimises `onnx_bytes` with inputs of `input_shapes`.
    pub fn load(onnx_bytes: &[u8], input_shapes: &[Vec<usize>]) -> Result<Self> {
        let mut model = tract_onnx::onnx().model_for_read(&mut &onnx_bytes[..]).map_err(err)?;
        for (ix, shape) in input_shapes.iter().enumerate() {
            model.set_input_fact(ix, InferenceFact::dt_shape(f32::datum_type(), shape.clone())).map_err(err)?;
        }
        let runnable = model.into_optimized().and_then(|m| m.into_runnable()).map_err(err)?;
        Ok(TractModel { runnable, input_shapes: input_shapes.to_vec() })
    }

    /// Runs one inference and returns each output flattened.
    pub fn run(&self, inputs: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        let tensors = inputs
            .iter()
            .zip(&self.input_shapes)
            .map(|(data, shape)| {
                let v: Vec<f32> = data.iter().map(|&x| x as f32).collect();
                Tensor::from_shape(shape, &v).map(|t| t.into_tvalue())
            })
            .collect::<TractResult<TVec<_>>>()
            .map_err(err)?;
        let outputs = self.runnable.run(tensors).map_err(err)?;
        outputs
            .iter()
            .map(|t| {
                let t = t.cast_to::<f64>().map_err(err)?;
                Ok(t.to_plain_array_view::<f64>().map_err(err)?.iter().copied().collect())
            })
            .collect()
    }
}

/// Runs the ONNX model in f32 through tract (batch 1) and returns each output flattened.
pub fn tract_reference(onnx_bytes: &[u8], inputs: &[Vec<f64>], input_shapes: &[Vec<usize>]) -> Result<Vec<Vec<f64>>> {
    TractModel::load(onnx_bytes, input_shapes)?.run(inputs)
}
