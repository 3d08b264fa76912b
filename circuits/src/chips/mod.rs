//! One chip per op family.

pub mod dense;
pub mod requant;
