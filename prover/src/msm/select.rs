//! Run-time choice of the MSM backend (`zkinfer prove --device`): the same binary proves on a
//! provider's GPU node and on a laptop, and says which path it took.

use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G1};

use super::{Basis, GpuMsm, MsmBackend, MsmTables, SmallScalarMsm};
use crate::error::ProofError;

/// Where the prover's MSMs should run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// The CPU's small-scalar MSM.
    Cpu,
    /// A CUDA device; failing to open one is an error.
    Cuda,
    /// A CUDA device when one opens, the CPU otherwise.
    Auto,
}

/// The backend a [`Device`] choice resolved to. The CPU is the default so that key files and
/// parameters read without a choice stay usable.
#[derive(Clone, Debug)]
pub enum SelectedMsm {
    Cpu(SmallScalarMsm),
    Cuda(Arc<GpuMsm>),
}

impl Default for SelectedMsm {
    fn default() -> Self {
        SelectedMsm::Cpu(SmallScalarMsm::default())
    }
}

impl SelectedMsm {
    /// Resolves `device`, with a line saying which backend was picked and why.
    pub fn select(device: Device) -> Result<(Self, String), ProofError> {
        match device {
            Device::Cpu => Ok((Self::default(), "MSMs on the CPU (--device cpu)".into())),
            Device::Cuda => {
                let gpu = GpuMsm::open().map_err(|e| ProofError::Device(e.to_string()))?;
                let line = format!("MSMs on {} (--device cuda)", gpu.device_name());
                Ok((SelectedMsm::Cuda(Arc::new(gpu)), line))
            }
            Device::Auto => match GpuMsm::open() {
                Ok(gpu) => {
                    let line = format!("MSMs on {} (a CUDA device was found)", gpu.device_name());
                    Ok((SelectedMsm::Cuda(Arc::new(gpu)), line))
                }
                Err(e) => Ok((Self::default(), format!("MSMs on the CPU ({e})"))),
            },
        }
    }
}

impl MsmBackend for SelectedMsm {
    fn name(&self) -> &'static str {
        match self {
            SelectedMsm::Cpu(m) => m.name(),
            SelectedMsm::Cuda(m) => m.name(),
        }
    }

    fn msm(&self, scalars: &[Fr], bases: &[G1Affine], basis: Basis) -> G1 {
        match self {
            SelectedMsm::Cpu(m) => m.msm(scalars, bases, basis),
            SelectedMsm::Cuda(m) => m.msm(scalars, bases, basis),
        }
    }

    fn with_tables(self, tables: Arc<MsmTables>) -> Self {
        match self {
            SelectedMsm::Cpu(m) => SelectedMsm::Cpu(m.with_tables(tables)),
            cuda => cuda,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_chosen_when_asked_and_auto_never_fails() {
        let (cpu, line) = SelectedMsm::select(Device::Cpu).unwrap();
        assert!(matches!(cpu, SelectedMsm::Cpu(_)), "{line}");
        let (auto, line) = SelectedMsm::select(Device::Auto).unwrap();
        match auto {
            SelectedMsm::Cuda(_) => assert!(line.contains("found"), "{line}"),
            SelectedMsm::Cpu(_) => assert!(line.starts_with("MSMs on the CPU (") && line.len() > 20, "{line}"),
        }
    }

    #[test]
    fn cuda_is_an_error_exactly_when_no_device_opens() {
        match (SelectedMsm::select(Device::Cuda), GpuMsm::open()) {
            (Ok((SelectedMsm::Cuda(_), _)), Ok(_)) => {}
            (Err(ProofError::Device(why)), Err(e)) => assert_eq!(why, e.to_string()),
            (got, opened) => panic!("--device cuda gave {got:?} while opening a device gave {opened:?}"),
        }
    }
}
