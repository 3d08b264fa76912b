//! Keys, witness generation from the integer inference trace, proof creation and the MSM
//! backends (CPU, GPU). Filled by the proving work.
