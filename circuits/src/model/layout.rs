//! The layout parameters the planner chooses (chip packing, lanes, limb widths), which are part
//! of a model's identity, and the rows a layout uses.

use crate::chips::dense::DenseShape;
use crate::chips::requant::RequantShape;
use crate::chips::softmax::SoftmaxShape;

use super::CircuitError;

/// Layout parameters chosen by the planner. They decide the circuit's columns and instance,
/// so they are part of the model's identity (hashed into the model id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LayoutParams {
    /// Packing of the dense chip.
    pub dense: DenseShape,
    /// Lanes of each chip (0: the model does not use it).
    pub dense_lanes: usize,
    pub requant_lanes: usize,
    pub maxpool_lanes: usize,
    pub softmax_lanes: usize,
    /// Lanes of the product chip (products of two computed tensors).
    #[serde(default)]
    pub product_lanes: usize,
    /// Lanes of the Freivalds chip, which checks the matrix products it makes cheaper (see
    /// [`crate::chips::freivalds`]); with none, every product is proven directly.
    #[serde(default)]
    pub freivalds_lanes: usize,
    /// Limb columns of the requant chip.
    pub requant: RequantShape,
    /// Limb columns of the softmax chip.
    pub softmax: SoftmaxShape,
    /// Whether a fixed cell holding 0 exists (zero padding copies it).
    pub zero_cell: bool,
    /// Width of range-checked limbs: the table holds `[0, 2^limb_bits)` ranges.
    pub limb_bits: u32,
    /// Whether the model input is part of the public instance. When false the buyer sees only
    /// the output and the model id; the input stays the provider's witness.
    pub public_input: bool,
}

/// The widest packing a layout may ask for (bounds what a key file can make `configure` allocate).
pub const MAX_DENSE_PACKING: usize = 256;
pub(super) const MAX_LANES: usize = 64;

impl LayoutParams {
    /// Rejects layouts no planner produces (a corrupt or hostile key file).
    pub fn check(&self) -> Result<(), CircuitError> {
        let DenseShape { width, outputs } = self.dense;
        let bad = |m: String| Err(CircuitError::BadLayout(m));
        if !(1..=MAX_DENSE_PACKING).contains(&width) || !(1..=MAX_DENSE_PACKING).contains(&outputs) {
            return bad(format!("dense packing {width} x {outputs} is outside 1..={MAX_DENSE_PACKING}"));
        }
        let lanes = [
            self.dense_lanes,
            self.requant_lanes,
            self.maxpool_lanes,
            self.softmax_lanes,
            self.product_lanes,
            self.freivalds_lanes,
        ];
        if lanes.iter().any(|&l| l > MAX_LANES) {
            return bad(format!("more than {MAX_LANES} lanes"));
        }
        let RequantShape { r_limbs, u_limbs, v_limbs, .. } = self.requant;
        if r_limbs > 8 || u_limbs > 8 || v_limbs > 8 || !(1..=20).contains(&self.limb_bits) {
            return bad(format!("requant limbs {:?} of {} bits", self.requant, self.limb_bits));
        }
        if self.softmax.r_limbs > 8 || self.softmax.y_limbs > 8 {
            return bad(format!("softmax limbs {:?}", self.softmax));
        }
        Ok(())
    }
}

impl Default for LayoutParams {
    /// A middle-of-the-road layout (the planner chooses per model).
    fn default() -> Self {
        LayoutParams {
            dense: DenseShape::default(),
            dense_lanes: 1,
            requant_lanes: 1,
            maxpool_lanes: 1,
            softmax_lanes: 0,
            product_lanes: 0,
            freivalds_lanes: 0,
            requant: RequantShape { r_limbs: 2, u_limbs: 1, v_limbs: 1, table: true },
            softmax: SoftmaxShape::default(),
            zero_cell: false,
            limb_bits: 8,
            public_input: true,
        }
    }
}

/// Rows used by the tallest lane of each chip and by the lookup table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowBudget {
    pub input: usize,
    /// Public values (inputs when public, outputs) in the instance column.
    pub instance: usize,
    pub dense: usize,
    pub requant: usize,
    pub maxpool: usize,
    pub softmax: usize,
    pub product: usize,
    pub freivalds: usize,
    pub table: usize,
}

impl RowBudget {
    /// The tallest of them: the circuit's height before blinding rows.
    pub fn max(&self) -> usize {
        let chips =
            self.dense.max(self.requant).max(self.maxpool).max(self.softmax).max(self.product).max(self.freivalds);
        self.input.max(self.instance).max(chips).max(self.table)
    }
}
