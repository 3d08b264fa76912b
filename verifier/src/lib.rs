//! The buyer's side: proof bundle + verifying key + model id → accept or a precise reason to
//! reject. Depends on no prover, ONNX, GPU or async code. Filled by the proving work.
