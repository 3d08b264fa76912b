//! Opening the first CUDA device and compiling the kernels for it.

use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaStream, DriverError, LaunchConfig};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions};

/// The CUDA C source of the MSM kernels (also valid host C++).
const MSM_SOURCE: &str = include_str!("../cuda/msm.cu");

/// Why the GPU path is unavailable or failed.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No driver, no NVRTC or no device: the caller falls back to the CPU.
    #[error("no CUDA device: {0}")]
    Unavailable(String),
    #[error("CUDA driver: {0}")]
    Driver(#[from] DriverError),
    #[error("compiling the CUDA kernels: {0}")]
    Compile(String),
    /// Inputs the kernels cannot take (sizes, widths).
    #[error("invalid GPU input: {0}")]
    BadInput(String),
}

/// A CUDA context with the kernels loaded; shared by every MSM of a process.
pub struct Gpu {
    pub(crate) stream: Arc<CudaStream>,
    module: Arc<CudaModule>,
    name: String,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu").field("name", &self.name).finish()
    }
}

impl Gpu {
    /// The first CUDA device with the kernels compiled for it, or why there is none.
    pub fn open() -> Result<Self, GpuError> {
        // Checked first: without them cudarc's lazy loader would panic.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(GpuError::Unavailable("the CUDA driver library (libcuda) is not installed".into()));
        }
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            return Err(GpuError::Unavailable("the NVRTC library (libnvrtc) is not installed".into()));
        }
        let count = CudaContext::device_count().map_err(|e| GpuError::Unavailable(e.to_string()))?;
        if count < 1 {
            return Err(GpuError::Unavailable("the driver reports no device".into()));
        }
        let ctx = CudaContext::new(0)?;
        let name = ctx.name()?;
        let (major, minor) = ctx.compute_capability()?;
        let arch: &'static str = Box::leak(format!("compute_{major}{minor}").into_boxed_str());
        let opts = CompileOptions { arch: Some(arch), options: vec!["-std=c++17".into()], ..Default::default() };
        let ptx = compile_ptx_with_opts(MSM_SOURCE, opts).map_err(|e| GpuError::Compile(e.to_string()))?;
        let module = ctx.load_module(ptx)?;
        Ok(Gpu { stream: ctx.default_stream(), module, name })
    }

    /// The device's name, for reports.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn function(&self, name: &str) -> Result<CudaFunction, GpuError> {
        Ok(self.module.load_function(name)?)
    }
}

/// A grid of 256-thread blocks covering `n` threads (kernels loop over any excess).
pub(crate) fn grid(n: usize) -> LaunchConfig {
    const THREADS: u32 = 256;
    let blocks = (n.div_ceil(THREADS as usize)).clamp(1, 1 << 16) as u32;
    LaunchConfig { grid_dim: (blocks, 1, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 }
}
