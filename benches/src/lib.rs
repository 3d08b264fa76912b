//! Criterion benches and the cost-versus-size study. Filled by the performance work.
