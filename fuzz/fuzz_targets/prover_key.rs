//! Any bytes read as a proving key (`pk`): a key or an error, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = zkinfer_prover::ProverKey::from_bytes(data);
});
