//! CUDA kernels (MSM, NTT, integer GEMM) loaded at run time through `cudarc`, so the workspace
//! builds and tests on machines without CUDA. Filled by the GPU work.
