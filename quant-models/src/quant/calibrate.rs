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

/// Calibration values beyond this magnitude leave no fraction bits for any usable width.
const HUGE: f64 = 1e12;

/// What looks wrong with a calibration set that still gives ranges (all-zero inputs, a single
/// repeated sample, huge values): the model compiles, but its scales are likely useless.
pub fn calibration_warnings(graph: &FloatGraph, samples: &[Vec<Vec<f64>>], ranges: &Ranges) -> Vec<String> {
    let mut warnings = Vec::new();
    for (k, &input) in graph.inputs.iter().enumerate() {
        let name = &graph.tensors[input].name;
        match ranges.max_abs[input] {
            0.0 => warnings.push(format!("every calibration sample of input `{name}` is zero: its scale is a guess")),
            m if m > HUGE => {
                warnings.push(format!("calibration input `{name}` reaches {m:e}: its scale leaves no precision"))
            }
            _ => {}
        }
        if samples.len() > 1 && samples.iter().all(|s| s.get(k) == samples[0].get(k)) {
            warnings.push(format!("all {} calibration samples of input `{name}` are the same", samples.len()));
        }
    }
    warnings
}

/// Measures ranges over `samples` (each sample holds one flat vector per model input).
pub fn calibrate(graph: &FloatGraph, samples: &[Vec<Vec<f64>>]) -> Result<Ranges> {
    if samples.is_empty() {
        return Err(ModelError::EmptyCalibration);
    }
    for (i, sample) in samples.iter().enumerate() {
        if let Some(v) = sample.iter().flatten().find(|v| !v.is_finite()) {
            return Err(ModelError::bad_input("calibration", format!("sample {i} holds {v}")));
        }
    }
    let per_sample = samples.par_iter().map(|s| {
        let values = run_float(graph, s)?;
        Ok(values.iter().map(|v| v.iter().fold(0.0f64, |m, x| m.max(x.abs()))).collect::<Vec<_>>())
    });
    let mut max_abs = per_sample
        .try_reduce(|| vec![0.0; graph.tensors.len()], |a, b| Ok(a.iter().zip(&b).map(|(x, y)| x.max(*y)).collect()))?;
    for group in &graph.shared_ranges {
        let shared = group.iter().filter_map(|&t| max_abs.get(t)).fold(0.0f64, |m, v| m.max(*v));
        group.iter().for_each(|&t| max_abs[t] = shared);
    }
    if let Some(t) = max_abs.iter().position(|m: &f64| !m.is_finite()) {
        return Err(ModelError::OutOfRange {
            tensor: graph.tensors[t].name.clone(),
            reason: "the calibration set drives it to infinity; calibrate with realistic inputs".into(),
        });
    }
    Ok(Ranges { max_abs, samples: samples.len() })
}
