//! Calibration: run the float graph over sample inputs and record each tensor's largest
//! magnitude, from which quantization picks the scales.

use rayon::prelude::*;

use crate::error::{ModelError, Result};
use crate::float_infer::run_float;
use crate::graph::FloatGraph;

/// Largest absolute value seen per float tensor (indexed by tensor id).
#[derive(Clone, Debug, PartialEq)]
pub struct Ranges {
    pub max_abs: Vec<f64>,
    /// Number of samples the ranges were measured on.
    pub samples: usize,
}

/// Measures ranges over `samples` (each sample holds one flat vector per model input).
pub fn calibrate(graph: &FloatGraph, samples: &[Vec<Vec<f64>>]) -> Result<Ranges> {
    if samples.is_empty() {
        return Err(ModelError::EmptyCalibration);
    }
    let per_sample = samples.par_iter().map(|s| {
        let values = run_float(graph, s)?;
        Ok(values.iter().map(|v| v.iter().fold(0.0f64, |m, x| m.max(x.abs()))).collect::<Vec<_>>())
    });
    let max_abs = per_sample
        .try_reduce(|| vec![0.0; graph.tensors.len()], |a, b| Ok(a.iter().zip(&b).map(|(x, y)| x.max(*y)).collect()))?;
    Ok(Ranges { max_abs, samples: samples.len() })
}
