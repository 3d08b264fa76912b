//! Any bytes given to `srs import` (snarkjs `.ptau` or halo2 params): a checked setup or an
//! error, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = zkinfer_prover::import_setup(data, 3);
});
