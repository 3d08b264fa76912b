//! The model owner's one call: import, calibrate, quantize, and check the importer's float
//! graph against tract's own run of the ONNX file on a calibration sample.

use std::path::Path;

use crate::error::{ModelError, Result};
use crate::float_infer::run_float;
use crate::model_file::CompiledModel;
use crate::onnx::{import_onnx_batch, tract_reference};
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
    compile_onnx_batch(onnx_bytes, name, samples, config, 1)
}

/// [`compile_onnx`] for `batch` samples per proof (see [`import_onnx_batch`]); `samples` are
/// model inputs of `batch` samples each, as [`pack_samples`] makes them from single samples.
pub fn compile_onnx_batch(
    onnx_bytes: &[u8],
    name: &str,
    samples: &[Vec<Vec<f64>>],
    config: QuantConfig,
    batch: usize,
) -> Result<CompiledModel> {
    let float = import_onnx_batch(onnx_bytes, name, batch)?;
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

/// Model inputs of `batch` samples each: consecutive samples concatenated input by input, the
/// last group completed from the first samples again. Packing a calibration set this way gives
/// a batched model the same scales as the single-sample one.
pub fn pack_samples(samples: &[Vec<Vec<f64>>], batch: usize) -> Vec<Vec<Vec<f64>>> {
    let batch = batch.max(1);
    (0..samples.len().div_ceil(batch))
        .map(|g| {
            let group: Vec<&Vec<Vec<f64>>> = (0..batch).map(|i| &samples[(g * batch + i) % samples.len()]).collect();
            (0..group[0].len())
                .map(|input| group.iter().flat_map(|s| s.get(input).into_iter().flatten().copied()).collect())
                .collect()
        })
        .collect()
}

/// [`compile_onnx`] from a file.
pub fn compile_onnx_file(path: &Path, samples: &[Vec<Vec<f64>>], config: QuantConfig) -> Result<CompiledModel> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    compile_onnx(&bytes, &name, samples, config)
}
