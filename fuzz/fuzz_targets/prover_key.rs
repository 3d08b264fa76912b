//! Any bytes read as a proving key (`pk`): a key or an error, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(
    init: {
        // `ProverKey::from_bytes` catches halo2's reader panics and returns an error; keep the
        // fuzzer's aborting hook for panics that escape instead.
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| {
        let _ = zkinfer_prover::ProverKey::from_bytes(data);
    }
);
