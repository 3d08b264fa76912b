//! KZG parameters whose commitments go through an [`MsmBackend`].
//!
//! They wrap halo2's `ParamsKZG` and override only `commit` and `commit_lagrange`, so keygen
//! (halo2's) and our prover loop commit through the chosen backend while keys and proofs stay
//! those of stock KZG, checked by the stock `VerifierSHPLONK`.

use std::fmt::Debug;
use std::io;
use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G1};
use halo2_proofs::halo2curves::serde::SerdeObject;
use halo2_proofs::poly::commitment::{Blind, Params, ParamsProver};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::poly::kzg::msm::MSMKZG;
use halo2_proofs::poly::{Coeff, LagrangeCoeff, Polynomial};
use halo2_proofs::SerdeFormat;

use crate::msm::{Basis, MsmBackend, MsmTables, TableError};

/// `ParamsKZG` plus its Lagrange points (private in halo2) and the MSM backend.
#[derive(Clone, Debug)]
pub struct RoutedParams<M> {
    inner: ParamsKZG<Bn256>,
    lagrange: Vec<G1Affine>,
    backend: M,
}

impl<M: MsmBackend> RoutedParams<M> {
    /// Wraps `inner`. The Lagrange points are read back from the params' own raw serialization
    /// (a copy; recomputing them would be an inverse FFT over the curve).
    pub fn new(inner: ParamsKZG<Bn256>, backend: M) -> Self {
        let mut raw = Vec::new();
        inner.write_custom(&mut raw, SerdeFormat::RawBytesUnchecked).unwrap_or_default();
        let n = inner.n() as usize;
        let point = G1Affine::default().to_raw_bytes().len();
        let start = 4 + n * point;
        let lagrange =
            raw[start..start + n * point].chunks_exact(point).map(G1Affine::from_raw_bytes_unchecked).collect();
        RoutedParams { inner, lagrange, backend }
    }

    /// The wrapped stock parameters (for the verifier side and the SRS id).
    pub fn inner(&self) -> &ParamsKZG<Bn256> {
        &self.inner
    }

    /// Builds window tables of this SRS's points for the CPU's full-width MSMs and uses them;
    /// returns them for storing beside the key (building costs a few MSMs, so it is done once,
    /// at compile). `None` when the SRS is too tall for them to pay.
    pub fn build_msm_tables(&mut self) -> Option<Arc<MsmTables>> {
        let tables = Arc::new(MsmTables::build(&self.lagrange, self.inner.get_g())?);
        self.backend = self.backend.clone().with_tables(tables.clone());
        Some(tables)
    }

    /// Uses tables written by [`MsmTables::to_bytes`], refusing tables of another SRS.
    pub fn attach_msm_tables(&mut self, bytes: &[u8]) -> Result<(), TableError> {
        let tables = MsmTables::from_bytes(bytes, &self.lagrange, self.inner.get_g())?;
        self.backend = self.backend.clone().with_tables(Arc::new(tables));
        Ok(())
    }

    /// The MSM backend in use.
    pub fn backend(&self) -> &M {
        &self.backend
    }

    /// The commitment to a column given by its row values (Lagrange basis), read in place.
    pub fn commit_rows(&self, values: &[Fr]) -> G1 {
        self.backend.msm(values, &self.lagrange[..values.len()], Basis::Lagrange)
    }

    /// The commitment to a polynomial given by its coefficients (monomial basis).
    pub fn commit_coeffs(&self, coeffs: &[Fr]) -> G1 {
        self.backend.msm(coeffs, &self.inner.get_g()[..coeffs.len()], Basis::Monomial)
    }
}

impl<'params, M: MsmBackend + Default + 'params> Params<'params, G1Affine> for RoutedParams<M> {
    type MSM = MSMKZG<Bn256>;

    fn k(&self) -> u32 {
        self.inner.k()
    }

    fn n(&self) -> u64 {
        self.inner.n()
    }

    fn downsize(&mut self, k: u32) {
        let mut inner = self.inner.clone();
        inner.downsize(k);
        *self = RoutedParams::new(inner, self.backend.clone());
    }

    fn empty_msm(&'params self) -> MSMKZG<Bn256> {
        MSMKZG::new()
    }

    fn commit_lagrange(&self, poly: &Polynomial<Fr, LagrangeCoeff>, _: Blind<Fr>) -> G1 {
        self.commit_rows(poly)
    }

    fn write<W: io::Write>(&self, writer: &mut W) -> io::Result<()> {
        self.inner.write(writer)
    }

    fn read<R: io::Read>(reader: &mut R) -> io::Result<Self> {
        Ok(RoutedParams::new(ParamsKZG::read(reader)?, M::default()))
    }
}

impl<'params, M: MsmBackend + Default + 'params> ParamsProver<'params, G1Affine> for RoutedParams<M> {
    type ParamsVerifier = ParamsKZG<Bn256>;

    fn new(k: u32) -> Self {
        RoutedParams::new(ParamsKZG::new(k), M::default())
    }

    fn commit(&self, poly: &Polynomial<Fr, Coeff>, _: Blind<Fr>) -> G1 {
        self.commit_coeffs(poly)
    }

    fn get_g(&self) -> &[G1Affine] {
        self.inner.get_g()
    }

    fn verifier_params(&'params self) -> &'params ParamsKZG<Bn256> {
        &self.inner
    }
}
