//! Tensor kernels written once, generic over the scalar: `f64` for the float reference that
//! calibration uses, `i64` for the exact integer inference that the proofs follow.

pub(crate) mod linear;
mod pool;
pub mod product;

pub use linear::{conv2d, dense};
pub use pool::{max_pool, sum_pool};
pub use product::{product, reduce_groups, reduce_max, reduce_sum, ProductShape};

use std::ops::{Add, Mul};

/// The arithmetic the shared kernels need.
pub trait Scalar: Copy + Send + Sync + Default + PartialOrd + Add<Output = Self> + Mul<Output = Self> {}
impl Scalar for f64 {}
impl Scalar for i64 {}

/// Below this many multiply-accumulates a kernel runs on the calling thread.
const PARALLEL_MACS: usize = 1 << 14;
