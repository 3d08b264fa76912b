//! The file formats people bring: input JSON (`{"input_data": [[flat floats per model input]]}`,
//! as EZKL's `input.json`), calibration sets (a JSON list of such objects, a labelled set, or an
//! `.npy` array `[N, ...input shape]`) and labelled sets (`{"samples": [[...]], "labels": [...]}`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// One model input object: one flat list of floats per model input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputData {
    pub input_data: Vec<Vec<f64>>,
}

/// Samples of a single-input model with class labels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelledSet {
    pub samples: Vec<Vec<f64>>,
    #[serde(default)]
    pub labels: Vec<usize>,
}

impl LabelledSet {
    /// The samples as model inputs (one input each).
    pub fn inputs(&self) -> Vec<Vec<Vec<f64>>> {
        self.samples.iter().map(|s| vec![s.clone()]).collect()
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| ModelError::io(path, e))
}

fn what(path: &Path) -> String {
    path.display().to_string()
}

/// Reads one input object.
pub fn read_input(path: &Path) -> Result<InputData> {
    parse_input(&read(path)?, &what(path))
}

/// Parses one input object; `name` says where the bytes came from in errors.
pub fn parse_input(bytes: &[u8], name: &str) -> Result<InputData> {
    serde_json::from_slice(bytes)
        .map_err(|e| ModelError::format(name, format!("not an input object {{\"input_data\": [[...]]}}: {e}")))
}

/// Reads a labelled set.
pub fn read_labelled(path: &Path) -> Result<LabelledSet> {
    parse_labelled(&read(path)?, &what(path))
}

/// Parses a labelled set; `name` says where the bytes came from in errors.
pub fn parse_labelled(bytes: &[u8], name: &str) -> Result<LabelledSet> {
    let set: LabelledSet = serde_json::from_slice(bytes).map_err(|e| {
        ModelError::format(name, format!("not a labelled set {{\"samples\": [[...]], \"labels\": [...]}}: {e}"))
    })?;
    if !set.labels.is_empty() && set.labels.len() != set.samples.len() {
        return Err(ModelError::format(name, format!("{} samples but {} labels", set.samples.len(), set.labels.len())));
    }
    Ok(set)
}

/// Reads calibration samples in any of the accepted formats; each sample holds one flat vector
/// per model input.
pub fn read_calibration(path: &Path) -> Result<Vec<Vec<Vec<f64>>>> {
    parse_calibration(&read(path)?, &what(path))
}

/// Parses calibration samples (JSON, or `.npy` recognised by its magic); `name` says where the
/// bytes came from in errors.
pub fn parse_calibration(bytes: &[u8], name: &str) -> Result<Vec<Vec<Vec<f64>>>> {
    let samples =
        if bytes.starts_with(NPY_MAGIC) { parse_npy_samples(bytes, name)? } else { parse_json_samples(bytes, name)? };
    if samples.is_empty() {
        return Err(ModelError::EmptyCalibration);
    }
    Ok(samples)
}

const NPY_MAGIC: &[u8] = b"\x93NUMPY";

fn parse_json_samples(bytes: &[u8], name: &str) -> Result<Vec<Vec<Vec<f64>>>> {
    let json: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| ModelError::format(name, e))?;
    Ok(match json {
        serde_json::Value::Array(_) => {
            let list: Vec<InputData> = serde_json::from_value(json)
                .map_err(|e| ModelError::format(name, format!("not a list of input objects: {e}")))?;
            list.into_iter().map(|i| i.input_data).collect()
        }
        serde_json::Value::Object(ref m) if m.contains_key("samples") => parse_labelled(bytes, name)?.inputs(),
        serde_json::Value::Object(_) => {
            vec![serde_json::from_value::<InputData>(json).map_err(|e| ModelError::format(name, e))?.input_data]
        }
        _ => {
            return Err(ModelError::format(name, "expected a list of input objects, an input object or a labelled set"))
        }
    })
}

fn parse_npy_samples(bytes: &[u8], name: &str) -> Result<Vec<Vec<Vec<f64>>>> {
    use ndarray_npy::ReadNpyExt;
    let array: ndarray::ArrayD<f64> = match ndarray::ArrayD::<f64>::read_npy(bytes) {
        Ok(a) => a,
        Err(_) => ndarray::ArrayD::<f32>::read_npy(bytes)
            .map_err(|e| ModelError::format(name, format!("not a float32/float64 .npy array: {e}")))?
            .mapv(f64::from),
    };
    if array.ndim() < 2 {
        return Err(ModelError::format(name, format!("expected [N, ...input shape], got shape {:?}", array.shape())));
    }
    let n = array.shape()[0];
    let flat: Vec<f64> = array.iter().copied().collect();
    let per = flat.len() / n.max(1);
    Ok(flat.chunks(per.max(1)).take(n).map(|c| vec![c.to_vec()]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, contents: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("zkinfer-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }

    #[test]
    fn calibration_formats_are_all_read() {
        let list = temp("list.json", br#"[{"input_data": [[1, 2]]}, {"input_data": [[3, 4]]}]"#);
        assert_eq!(read_calibration(&list).unwrap(), vec![vec![vec![1.0, 2.0]], vec![vec![3.0, 4.0]]]);
        let set = temp("set.json", br#"{"samples": [[1, 2]], "labels": [0]}"#);
        assert_eq!(read_calibration(&set).unwrap(), vec![vec![vec![1.0, 2.0]]]);
        let mut npy = Vec::new();
        ndarray_npy::WriteNpyExt::write_npy(&ndarray::arr2(&[[1.0f32, 2.0], [3.0, 4.0]]), &mut npy).unwrap();
        let npy = temp("cal.npy", &npy);
        assert_eq!(read_calibration(&npy).unwrap(), vec![vec![vec![1.0, 2.0]], vec![vec![3.0, 4.0]]]);
    }

    #[test]
    fn empty_and_malformed_calibration_are_named() {
        let empty = temp("empty.json", b"[]");
        assert!(matches!(read_calibration(&empty), Err(ModelError::EmptyCalibration)));
        let bad = temp("bad.json", b"{\"input_data\": 3}");
        let err = read_calibration(&bad).unwrap_err().to_string();
        assert!(err.contains("bad.json"), "{err}");
        let mismatch = temp("mismatch.json", br#"{"samples": [[1]], "labels": [0, 1]}"#);
        assert!(read_labelled(&mismatch).unwrap_err().to_string().contains("1 samples but 2 labels"));
    }
}
