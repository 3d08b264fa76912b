//! The model owner's one call: import, calibrate, quantize, and check the importer's float
//! graph against tract's own run of the ONNX file on a calibration sample.

use std::path::Path;

use crate::error::{ModelError, Result};
use crate::float_infer::run_float;
use crate::model_file::CompiledModel;
use crate::onnx::{import_onnx_bytes, tract_reference};
use crate::quant::{calibrate, calibration_warnings, quantize, QuantConfig};

/// Relative tolerance between our float graph and tract on the same input.
const TRANSLATION_TOLERANCE: f64 = 1e-3;

/// Imports `onnx_bytes`, calibrates on `samples` and quantizes.
pub fn compile_onnx(
    onnx_bytes: &[u8],
    name: &str,
    samples: &[Vec<Vec<f64>>],
    config: QuantConfig,
) -> Result<CompiledModel> {
    let float = import_onnx_bytes(onnx_bytes, name)?;
    let first = samples.first().ok_or(ModelError::EmptyCalibration)?;
    let ours = run_float(&float, first)?;
    let shapes: Vec<Vec<usize>> = float.inputs.iter().map(|&i| float.tensors[i].shape.clone()).collect();
    let theirs = tract_reference(onnx_bytes, first, &shapes)?;
    for (k, (&out, reference)) in float.outputs.iter().zip(&theirs).enumerate() {
        let scale = reference.iter().fold(1e-6f64, |m, v| m.max(v.abs()));
        let worst = ours[out].iter().zip(reference).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        if ours[out].len() != reference.len() || worst > TRANSLATION_TOLERANCE * scale {
            return Err(ModelError::ImportMismatch(format!(
                "output {k} differs from tract's reference by {worst:.3e} (scale {scale:.3e})"
            )));
        }
    }
    let ranges = calibrate(&float, samples)?;
    let calibration_warnings = calibration_warnings(&float, samples, &ranges);
    let quant = quantize(&float, &ranges, config)?;
    Ok(CompiledModel { quant, float, calibration_warnings })
}

/// [`compile_onnx`] from a file.
pub fn compile_onnx_file(path: &Path, samples: &[Vec<Vec<f64>>], config: QuantConfig) -> Result<CompiledModel> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    compile_onnx(&bytes, &name, samples, config)
}
