//! Convolution as dot products on the dense chip: one job per output pixel and channel group,
//! whose inputs are the pixel's receptive field. Padding taps get weight 0 (and no input cell),
//! so the same fixed-weight dense gate proves the convolution exactly as the integer inference
//! computes it.

use zkinfer_quant_models::window::Window2d;

use crate::chips::dense::DotJob;

/// Sizes of a grouped convolution `[1, C, H, W] → [1, C', H', W']`.
#[derive(Clone, Copy, Debug)]
pub struct DotJobsShape {
    pub h: usize,
    pub w: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub group: usize,
    pub cin_g: usize,
    pub cout_g: usize,
    /// Kernel taps per input channel.
    pub kernel: usize,
}

/// The shape of a convolution node.
pub fn conv_jobs_shape(input: &[usize], output: &[usize], group: usize, window: &Window2d) -> DotJobsShape {
    DotJobsShape {
        h: input[2],
        w: input[3],
        out_h: output[2],
        out_w: output[3],
        group,
        cin_g: input[1] / group,
        cout_g: output[1] / group,
        kernel: window.kernel[0] * window.kernel[1],
    }
}

/// All jobs of a convolution, in output order.
pub fn conv_jobs(s: &DotJobsShape, window: &Window2d, weight: &[i64], bias: &[i64], x: &[i64]) -> Vec<DotJob> {
    let taps_per_out = s.cin_g * s.kernel;
    let mut jobs = Vec::with_capacity(s.group * s.out_h * s.out_w);
    for g in 0..s.group {
        for oy in 0..s.out_h {
            for ox in 0..s.out_w {
                let mut taps = Vec::with_capacity(taps_per_out);
                for ci in 0..s.cin_g {
                    for ky in 0..window.kernel[0] {
                        for kx in 0..window.kernel[1] {
                            let at = window.input_at(oy, ox, ky, kx, s.h, s.w);
                            taps.push(at.map(|(iy, ix)| ((g * s.cin_g + ci) * s.h + iy) * s.w + ix));
                        }
                    }
                }
                let values = taps.iter().map(|t| t.map_or(0, |i| x[i])).collect();
                let channels = g * s.cout_g..(g + 1) * s.cout_g;
                let weight = channels
                    .clone()
                    .flat_map(|co| {
                        let row = &weight[co * taps_per_out..(co + 1) * taps_per_out];
                        row.iter().zip(&taps).map(|(&w, t)| if t.is_some() { w } else { 0 }).collect::<Vec<_>>()
                    })
                    .collect();
                let outputs = channels.clone().map(|co| (co * s.out_h + oy) * s.out_w + ox).collect();
                jobs.push(DotJob { taps, values, weight, bias: bias[channels].to_vec(), outputs });
            }
        }
    }
    jobs
}
