//! Host side of the BN254 G1 MSM (see `cuda/msm.cu` for the kernels): bases stay resident per
//! key, scalars arrive as signed magnitudes, the window width follows the scalars' bit width.

use cudarc::driver::{CudaSlice, PushKernelArg};

use crate::device::{grid, Gpu, GpuError};

/// Affine bases on the device in Montgomery form, uploaded once per key and basis.
pub struct DeviceBases {
    points: CudaSlice<u64>,
    len: usize,
}

impl DeviceBases {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no point is resident.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A Jacobian point `(X, Y, Z)` in canonical (not Montgomery) limbs; `Z = 0` is infinity.
pub type JacobianLimbs = [u64; 12];

/// Largest MSM the kernels index with 32-bit counters.
const MAX_POINTS: usize = 1 << 26;

/// The window width for `n` points of `bits`-bit scalars, at most `log2(n) - 3` and 16 bits.
/// Each bucket is summed by one thread, so the critical path is the fullest bucket: `n / 2^c`
/// points in a full window but `n / 2^top` in a narrow top window. The width minimises that
/// path plus the segment reduction's `2^c / 256`.
fn window_bits(n: usize, bits: u32) -> u32 {
    let log_n = usize::BITS - n.max(1).leading_zeros();
    let widest = log_n.saturating_sub(3).clamp(4, 16).min(bits.max(1));
    let top = |c: u32| bits - (bits.div_ceil(c) - 1) * c;
    let path = |c: u32| (n >> top(c).min(c)) + (1usize << c) / 256;
    (1..=widest).rev().min_by_key(|&c| path(c)).unwrap_or(widest)
}

impl Gpu {
    /// Uploads affine points given as canonical little-endian limbs, 8 per point (`x` then
    /// `y`; `(0, 0)` is the point at infinity), and converts them to Montgomery form there.
    pub fn upload_bases(&self, affine: &[u64]) -> Result<DeviceBases, GpuError> {
        if !affine.len().is_multiple_of(8) || affine.len() / 8 > MAX_POINTS {
            return Err(GpuError::BadInput(format!("{} limbs are not a list of up to 2^26 points", affine.len())));
        }
        let len = affine.len() / 8;
        let mut points = self.stream.clone_htod(affine)?;
        let n = len as u32;
        let f = self.function("to_montgomery")?;
        let mut launch = self.stream.launch_builder(&f);
        launch.arg(&mut points).arg(&n);
        unsafe { launch.launch(grid(2 * len)) }?;
        Ok(DeviceBases { points, len })
    }

    /// `Σ (-1)^signs[i] · magnitudes[i] · bases[i]` over the first `signs.len()` bases, with
    /// magnitudes as 4 canonical limbs each, all below `2^bits`.
    pub fn msm(
        &self,
        bases: &DeviceBases,
        magnitudes: &[u64],
        signs: &[u32],
        bits: u32,
    ) -> Result<JacobianLimbs, GpuError> {
        let n = signs.len();
        if magnitudes.len() != 4 * n || n > bases.len || bits > 256 {
            return Err(GpuError::BadInput(format!(
                "{n} scalars ({} limbs, {bits} bits) over {} bases",
                magnitudes.len(),
                bases.len
            )));
        }
        if n == 0 || bits == 0 {
            return Ok([0; 12]);
        }
        let c = window_bits(n, bits);
        let windows = bits.div_ceil(c);
        let keys_len = (windows as usize) << c;
        let entries = n * windows as usize;
        let s = &self.stream;
        let mags = s.clone_htod(magnitudes)?;
        let signs = s.clone_htod(signs)?;
        let mut keys = s.alloc_zeros::<u32>(entries)?;
        let mut counts = s.alloc_zeros::<u32>(keys_len)?;
        let n32 = n as u32;
        let f = self.function("digits")?;
        let mut launch = s.launch_builder(&f);
        launch.arg(&mags).arg(&n32).arg(&c).arg(&windows).arg(&mut keys).arg(&mut counts);
        unsafe { launch.launch(grid(entries)) }?;

        let histogram = s.clone_dtoh(&counts)?;
        let mut offsets = Vec::with_capacity(keys_len);
        let mut total = 0u32;
        for &count in &histogram {
            offsets.push(total);
            total += count;
        }
        let offsets = s.clone_htod(&offsets)?;
        let mut cursor = s.clone_dtod(&offsets)?;
        let mut sorted = s.alloc_zeros::<u32>(total.max(1) as usize)?;
        let f = self.function("scatter")?;
        let mut launch = s.launch_builder(&f);
        launch.arg(&keys).arg(&signs).arg(&n32).arg(&windows).arg(&mut cursor).arg(&mut sorted);
        unsafe { launch.launch(grid(entries)) }?;

        let mut buckets = s.alloc_zeros::<u64>(12 * keys_len)?;
        let keys32 = keys_len as u32;
        let f = self.function("bucket_sums")?;
        let mut launch = s.launch_builder(&f);
        launch.arg(&bases.points).arg(&sorted).arg(&offsets).arg(&counts).arg(&keys32).arg(&mut buckets);
        unsafe { launch.launch(grid(keys_len)) }?;

        let segments = (1u32 << c).min(256);
        let mut segment_sums = s.alloc_zeros::<u64>(12 * (windows * segments) as usize)?;
        let f = self.function("segment_sums")?;
        let mut launch = s.launch_builder(&f);
        launch.arg(&buckets).arg(&c).arg(&windows).arg(&segments).arg(&mut segment_sums);
        unsafe { launch.launch(grid((windows * segments) as usize)) }?;

        let mut window_sums = s.alloc_zeros::<u64>(12 * windows as usize)?;
        let f = self.function("window_sums")?;
        let mut launch = s.launch_builder(&f);
        launch.arg(&segment_sums).arg(&windows).arg(&segments).arg(&mut window_sums);
        unsafe { launch.launch(grid(windows as usize)) }?;

        let mut out = s.alloc_zeros::<u64>(12)?;
        let f = self.function("combine")?;
        let mut launch = s.launch_builder(&f);
        launch.arg(&window_sums).arg(&c).arg(&windows).arg(&mut out);
        unsafe { launch.launch(grid(1)) }?;
        let out = s.clone_dtoh(&out)?;
        let mut point = [0u64; 12];
        point.copy_from_slice(&out);
        Ok(point)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_size_and_bit_width() {
        for (n, bits) in [(1 << 20, 254), (1 << 16, 254), (1 << 16, 16), (1 << 10, 254), (1 << 20, 8), (1, 1)] {
            let c = window_bits(n, bits);
            let top = bits - (bits.div_ceil(c) - 1) * c;
            println!("n = {n}, {bits} bits: {c}-bit windows, top window {top} bits");
            assert!((1..=16).contains(&c) && c <= bits);
            assert!(top >= 6.min(bits), "top window of {top} bits for c = {c}");
        }
    }

    #[test]
    fn open_reports_why_without_a_device_and_never_panics() {
        match Gpu::open() {
            Ok(gpu) => {
                println!("CUDA device: {}", gpu.name());
                assert!(!gpu.name().is_empty());
            }
            Err(GpuError::Unavailable(why)) => {
                println!("skipping the device check: {why}");
                assert!(!why.is_empty());
            }
            Err(e) => panic!("a CUDA device was found but could not be used: {e}"),
        }
    }
}
