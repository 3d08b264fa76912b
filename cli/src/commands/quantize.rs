//! `zkinfer quantize`: calibrate and quantize, report per-tensor scales and error, write `.zkq`.

use std::path::Path;

use zkinfer_quant_models::compile::compile_onnx_file;
use zkinfer_quant_models::io::read_calibration;
use zkinfer_quant_models::report::tensor_report;

use super::BitArgs;

pub fn run(model: &Path, calibration: &Path, output: &Path, bits: BitArgs) -> anyhow::Result<()> {
    let samples = read_calibration(calibration)?;
    let compiled = compile_onnx_file(model, &samples, bits.into())?;
    for w in &compiled.calibration_warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "{:<28} {:>16} {:>11} {:>5} {:>5} {:>12}",
        "tensor", "shape", "max |float|", "frac", "bits", "max |error|"
    );
    for t in tensor_report(&compiled, &samples)? {
        println!(
            "{:<28} {:>16} {:>11.4} {:>5} {:>5} {:>12.5}",
            t.name,
            format!("{:?}", t.shape),
            t.float_max_abs,
            t.frac_bits,
            t.bits,
            t.max_abs_error
        );
    }
    compiled.save(output)?;
    println!("wrote {} ({} samples calibrated)", output.display(), samples.len());
    Ok(())
}
