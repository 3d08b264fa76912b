//! The shipped example models, embedded so that `demo` and `bench` run from any folder.

use zkinfer_quant_models::io::{InputData, LabelledSet};

use zkinfer_pipeline::Calibration;

/// A model with its calibration set and one sample input.
pub struct Example {
    pub name: String,
    pub onnx: Vec<u8>,
    pub calibration: Calibration,
    pub input: Vec<Vec<f64>>,
}

macro_rules! shipped {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../quant-models/models/", $name, "/model.onnx")).as_slice(),
            include_bytes!(concat!("../../quant-models/models/", $name, "/calibration.json")).as_slice(),
            include_bytes!(concat!("../../quant-models/models/", $name, "/input.json")).as_slice(),
        )
    };
}

/// Name, ONNX bytes, calibration set and sample input of a shipped model.
type Shipped = (&'static str, &'static [u8], &'static [u8], &'static [u8]);

const SHIPPED: [Shipped; 4] =
    [shipped!("digits-mlp"), shipped!("digits-cnn"), shipped!("fashion-cnn"), shipped!("lenet5")];

/// Names of the shipped models.
pub fn names() -> impl Iterator<Item = &'static str> {
    SHIPPED.iter().map(|s| s.0)
}

/// Loads a shipped model by name.
pub fn example(name: &str) -> anyhow::Result<Example> {
    let (name, onnx, calibration, input) = SHIPPED.iter().find(|s| s.0 == name).copied().ok_or_else(|| {
        anyhow::anyhow!("no shipped model `{name}` (have: {})", names().collect::<Vec<_>>().join(", "))
    })?;
    let set: LabelledSet = serde_json::from_slice(calibration)?;
    let input: InputData = serde_json::from_slice(input)?;
    Ok(Example {
        name: name.to_string(),
        onnx: onnx.to_vec(),
        calibration: Calibration { samples: set.inputs(), labels: set.labels },
        input: input.input_data,
    })
}
