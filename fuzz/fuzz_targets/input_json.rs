//! Any bytes read as an input object or a calibration set (JSON or `.npy`): values or an
//! error, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = zkinfer_quant_models::io::parse_input(data, "fuzz");
    let _ = zkinfer_quant_models::io::parse_calibration(data, "fuzz");
});
