//! Kernels of ops between computed tensors: batched matrix products (an elementwise product is
//! the case `m = k = n = 1`) and sums over axes.

use super::Scalar;

/// The shape of a batched product `[batch, m, k] × [batch, k, n] → [batch, m, n]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProductShape {
    pub batch: usize,
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

impl ProductShape {
    /// The shape of an elementwise product of two `len`-element tensors.
    pub fn elementwise(len: usize) -> Self {
        ProductShape { batch: len, m: 1, k: 1, n: 1 }
    }

    /// Element counts of the two operands and of the output.
    pub fn lens(&self) -> (usize, usize, usize) {
        let ProductShape { batch, m, k, n } = *self;
        (batch * m * k, batch * k * n, batch * m * n)
    }

    /// The operand elements output `o` multiplies, as `(a index, b index)` pairs in `k` order.
    pub fn taps(&self, o: usize) -> impl Iterator<Item = (usize, usize)> {
        let ProductShape { m, k, n, .. } = *self;
        let (b, i, j) = (o / (m * n), (o / n) % m, o % n);
        (0..k).map(move |t| ((b * m + i) * k + t, (b * k + t) * n + j))
    }
}

/// `y[b, i, j] = Σ_t a[b, i, t] · c[b, t, j]`.
pub fn product<T: Scalar>(a: &[T], c: &[T], shape: ProductShape) -> Vec<T> {
    (0..shape.lens().2).map(|o| shape.taps(o).fold(T::default(), |s, (i, j)| s + a[i] * c[j])).collect()
}

/// For each output element of a sum over `axes` of a tensor of `shape` (output in row-major
/// order of the kept axes), the input elements it adds.
pub fn reduce_groups(shape: &[usize], axes: &[usize]) -> Vec<Vec<usize>> {
    let strides: Vec<usize> = (0..shape.len()).map(|d| shape[d + 1..].iter().product()).collect();
    let (kept, reduced): (Vec<usize>, Vec<usize>) = (0..shape.len()).partition(|d| !axes.contains(d));
    // Offsets of the elements of one group, and of each group's first element.
    let offsets = |dims: &[usize]| {
        dims.iter().fold(vec![0usize], |acc, &d| {
            let stride = strides[d];
            acc.iter().flat_map(|&base| (0..shape[d]).map(move |i| base + i * stride)).collect()
        })
    };
    let inner = offsets(&reduced);
    offsets(&kept).into_iter().map(|base| inner.iter().map(|&o| base + o).collect()).collect()
}

/// `y[g] = Σ x[i]` over each group of [`reduce_groups`].
pub fn reduce_sum<T: Scalar>(x: &[T], shape: &[usize], axes: &[usize]) -> Vec<T> {
    reduce_groups(shape, axes).iter().map(|g| g.iter().fold(T::default(), |s, &i| s + x[i])).collect()
}

/// `y[g] = max x[i]` over each group of [`reduce_groups`].
pub fn reduce_max<T: Scalar>(x: &[T], shape: &[usize], axes: &[usize]) -> Vec<T> {
    reduce_groups(shape, axes)
        .iter()
        .map(|g| g.iter().map(|&i| x[i]).fold(x[g[0]], |m, v| if v > m { v } else { m }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_follow_row_major_order_of_the_kept_axes() {
        // [2, 3, 2]: sum over axis 1.
        assert_eq!(reduce_groups(&[2, 3, 2], &[1]), vec![vec![0, 2, 4], vec![1, 3, 5], vec![6, 8, 10], vec![7, 9, 11]]);
        assert_eq!(reduce_groups(&[2, 2], &[0, 1]), vec![vec![0, 1, 2, 3]]);
        assert_eq!(reduce_groups(&[2, 2], &[]), vec![vec![0], vec![1], vec![2], vec![3]]);
    }

    #[test]
    fn a_batched_product_multiplies_each_batch_by_itself() {
        // Batch 2 of [1, 2] × [2, 1].
        let shape = ProductShape { batch: 2, m: 1, k: 2, n: 1 };
        assert_eq!(product(&[1i64, 2, 3, 4], &[5, 6, 7, 8], shape), vec![17, 53]);
        assert_eq!(product(&[2i64, 3], &[4, 5], ProductShape::elementwise(2)), vec![8, 15]);
    }
}
