//! One chip per op family.

pub mod requant;
