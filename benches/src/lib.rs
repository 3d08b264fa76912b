//! Criterion benches (`cargo bench -p zkinfer-benches`): the MSM backends, and proofs of small
//! models that each exercise one family of chips. The cost-versus-size study is
//! `zkinfer study`; the comparison with EZKL is `benches/ezkl/side_by_side.py`.
