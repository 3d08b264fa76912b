//! CUDA kernels loaded at run time through `cudarc` (dynamic loading, NVRTC), so the workspace
//! builds and tests on machines without CUDA: [`Gpu::open`] says why no device is usable
//! instead of failing to link.
//!
//! The API speaks plain 64-bit limbs (no curve library), so the kernels' inputs and outputs are
//! exactly what crosses the bus; the prover converts from and to halo2curves types.

mod device;
mod msm;

pub use device::{Gpu, GpuError};
pub use msm::{DeviceBases, JacobianLimbs};
