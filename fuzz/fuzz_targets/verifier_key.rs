//! Any bytes read as a verifier key (`vk`): a key or a rejection, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(key) = zkinfer_verifier::VerifierKey::from_bytes(data) {
        let _ = key.model_id();
    }
});
