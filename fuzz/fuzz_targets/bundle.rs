//! Any bytes read as a proof bundle, JSON or binary: a bundle or a rejection, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = zkinfer_verifier::ProofBundle::from_bytes(data) {
        let _ = (bundle.to_json(), bundle.to_binary());
    }
});
