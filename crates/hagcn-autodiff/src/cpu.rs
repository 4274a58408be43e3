//! The CPU backend: ndarray, with matrix products through BLAS.
//!
//! Which BLAS is linked is the final binary's choice (OpenBLAS in this workspace through
//! `hagcn-openblas`). Every method is a call into the op's host math (`ops/<op>/host.rs`),
//! on the tensors' buffers in place of a download and an upload.

use std::marker::PhantomData;
use std::sync::Arc;

use ndarray::{Array2, ArrayView2};

use crate::backend::Backend;
use crate::ops::activations::host as activations;
use crate::ops::adam::host::{self as adam, AdamUpdate};
use crate::ops::adjacency::host as adjacency;
use crate::ops::bspline::host as bspline;
use crate::ops::eigen::host as eigen;
use crate::ops::elementwise::host as elementwise;
use crate::ops::layer_norm::host::{self as layer_norm, LayerNormGrads, LayerNormOutput};
use crate::ops::linear::host as linear;
use crate::ops::linear::reproducible;
use crate::ops::matmul::host as matmul;
use crate::ops::slicing::host as slicing;
use crate::ops::tridiagonal::host as tridiagonal;
use crate::{Element, Result};

/// A reference-counted host matrix: cloning shares the buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct CpuTensor<E>(Arc<Array2<E>>);

impl<E> CpuTensor<E> {
    /// Wraps a host matrix.
    pub fn new(a: Array2<E>) -> Self {
        CpuTensor(Arc::new(a))
    }
    /// A view of the data.
    pub fn view(&self) -> ArrayView2<'_, E> {
        self.0.view()
    }
}

impl<E: Clone> CpuTensor<E> {
    /// Mutable access, copying first when the buffer is shared.
    fn make_mut(&mut self) -> &mut Array2<E> {
        Arc::make_mut(&mut self.0)
    }
}

/// The CPU backend over element type `E` (`f32` for training, `f64` for gradient checks).
#[derive(Debug)]
pub struct CpuBackend<E>(PhantomData<fn() -> E>);

impl<E> CpuBackend<E> {
    /// Creates the backend.
    pub fn new() -> Self {
        CpuBackend(PhantomData)
    }
}

impl<E> Default for CpuBackend<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Clone for CpuBackend<E> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

fn t<E>(a: Array2<E>) -> CpuTensor<E> {
    CpuTensor::new(a)
}

/// Views of the parts of a concatenation.
fn views<'a, E>(parts: &[&'a CpuTensor<E>]) -> Vec<ArrayView2<'a, E>> {
    parts.iter().map(|&p| p.view()).collect()
}

impl<E: Element> Backend for CpuBackend<E> {
    type Elem = E;
    type Tensor = CpuTensor<E>;

    fn name(&self) -> String {
        format!("cpu ({})", std::any::type_name::<E>())
    }

    fn shape(&self, x: &CpuTensor<E>) -> (usize, usize) {
        x.0.dim()
    }

    fn upload(&self, a: ArrayView2<E>) -> Result<CpuTensor<E>> {
        Ok(t(a.as_standard_layout().into_owned()))
    }

    fn download(&self, x: &CpuTensor<E>) -> Result<Array2<E>> {
        Ok(x.0.as_ref().clone())
    }

    fn full(&self, rows: usize, cols: usize, value: E) -> Result<CpuTensor<E>> {
        Ok(t(Array2::from_elem((rows, cols), value)))
    }

    // ops::matmul

    fn matmul(&self, a: &CpuTensor<E>, ta: bool, b: &CpuTensor<E>, tb: bool) -> Result<CpuTensor<E>> {
        Ok(t(matmul::matmul(a.view(), ta, b.view(), tb)))
    }

    fn gram(&self, a: &CpuTensor<E>, scale: E) -> Result<CpuTensor<E>> {
        Ok(t(matmul::gram(&a.0, scale)))
    }

    fn gram_backward(&self, a: &CpuTensor<E>, g: &CpuTensor<E>, scale: E) -> Result<CpuTensor<E>> {
        Ok(t(matmul::gram_backward(a.view(), g.view(), scale)))
    }

    fn matmul_acc(&self, acc: &mut CpuTensor<E>, a: &CpuTensor<E>, ta: bool, b: &CpuTensor<E>, tb: bool) -> Result<()> {
        matmul::matmul_acc(acc.make_mut().view_mut(), a.view(), ta, b.view(), tb);
        Ok(())
    }

    // ops::linear

    fn linear(&self, x: &CpuTensor<E>, w: &CpuTensor<E>, b: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(linear::linear(x.view(), w.view(), b.view())))
    }

    fn linear_reproducible(&self, x: &CpuTensor<E>, w: &CpuTensor<E>, b: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(reproducible::linear(x.view(), w.view(), b.view())))
    }

    // ops::elementwise

    fn add(&self, a: &CpuTensor<E>, b: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(elementwise::add(a.view(), b.view())))
    }

    fn add_assign(&self, acc: &mut CpuTensor<E>, b: &CpuTensor<E>) -> Result<()> {
        elementwise::add_assign(acc.make_mut().view_mut(), b.view());
        Ok(())
    }

    fn sub(&self, a: &CpuTensor<E>, b: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(elementwise::sub(a.view(), b.view())))
    }

    fn mul(&self, a: &CpuTensor<E>, b: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(elementwise::mul(a.view(), b.view())))
    }

    fn affine(&self, a: &CpuTensor<E>, scale: E, shift: E) -> Result<CpuTensor<E>> {
        Ok(t(elementwise::affine(a.view(), scale, shift)))
    }

    fn add_row(&self, a: &CpuTensor<E>, row: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(elementwise::add_row(a.view(), row.view())))
    }

    fn sum_rows(&self, a: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(elementwise::sum_rows(a.view())))
    }

    fn sum(&self, a: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(elementwise::sum(a.view())))
    }

    fn broadcast_scalar(&self, s: &CpuTensor<E>, rows: usize, cols: usize, scale: E) -> Result<CpuTensor<E>> {
        Ok(t(elementwise::broadcast_scalar(s.view(), rows, cols, scale)))
    }

    fn scale_by(&self, a: &CpuTensor<E>, s: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(elementwise::scale_by(a.view(), s.view())))
    }

    fn sqrt(&self, a: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(elementwise::sqrt(a.view())))
    }

    fn recip(&self, a: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(elementwise::recip(a.view())))
    }

    // ops::slicing

    fn slice_cols(&self, a: &CpuTensor<E>, start: usize, len: usize) -> Result<CpuTensor<E>> {
        Ok(t(slicing::slice_cols(a.view(), start, len)))
    }

    fn embed_cols(&self, a: &CpuTensor<E>, total: usize, start: usize) -> Result<CpuTensor<E>> {
        Ok(t(slicing::embed_cols(a.view(), total, start)))
    }

    fn concat_cols(&self, parts: &[&CpuTensor<E>]) -> Result<CpuTensor<E>> {
        Ok(t(slicing::concat_cols(&views(parts))))
    }

    fn slice_rows(&self, a: &CpuTensor<E>, start: usize, len: usize) -> Result<CpuTensor<E>> {
        Ok(t(slicing::slice_rows(a.view(), start, len)))
    }

    fn concat_rows(&self, parts: &[&CpuTensor<E>]) -> Result<CpuTensor<E>> {
        Ok(t(slicing::concat_rows(&views(parts))))
    }

    // ops::activations

    fn gelu(&self, x: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(activations::gelu(x.view())))
    }

    fn gelu_backward(&self, x: &CpuTensor<E>, g: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(activations::gelu_backward(x.view(), g.view())))
    }

    fn sigmoid(&self, x: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(activations::sigmoid(x.view())))
    }

    fn sigmoid_backward(&self, y: &CpuTensor<E>, g: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(activations::sigmoid_backward(y.view(), g.view())))
    }

    // ops::tridiagonal

    fn tridiagonal(&self, alpha: &CpuTensor<E>, beta: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(tridiagonal::tridiagonal(alpha.view(), beta.view())))
    }

    fn tridiagonal_backward(&self, g: &CpuTensor<E>) -> Result<(CpuTensor<E>, CpuTensor<E>)> {
        let (alpha, beta) = tridiagonal::tridiagonal_backward(g.view());
        Ok((t(alpha), t(beta)))
    }

    // ops::eigen

    fn symmetric_eigen(&self, a: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(eigen::symmetric_eigen(a.view())?))
    }

    fn symmetric_eigen_backward(&self, packed: &CpuTensor<E>, g: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(eigen::symmetric_eigen_backward(packed.view(), g.view())?))
    }

    // ops::bspline

    fn bspline_basis(&self, x: &CpuTensor<E>, n_basis: usize, degree: usize) -> Result<CpuTensor<E>> {
        Ok(t(bspline::bspline_basis(x.view(), n_basis, degree)?))
    }

    fn bspline_basis_backward(
        &self,
        x: &CpuTensor<E>,
        n_basis: usize,
        degree: usize,
        g: &CpuTensor<E>,
    ) -> Result<CpuTensor<E>> {
        Ok(t(bspline::bspline_basis_backward(x.view(), n_basis, degree, g.view())?))
    }

    // ops::layer_norm

    fn layer_norm(
        &self,
        x: &CpuTensor<E>,
        weight: &CpuTensor<E>,
        bias: &CpuTensor<E>,
        eps: E,
    ) -> Result<LayerNormOutput<CpuTensor<E>>> {
        layer_norm::layer_norm(x.view(), weight.view(), bias.view(), eps).try_map(|a| Ok(t(a)))
    }

    fn layer_norm_backward(
        &self,
        x: &CpuTensor<E>,
        weight: &CpuTensor<E>,
        saved: &LayerNormOutput<CpuTensor<E>>,
        g: &CpuTensor<E>,
    ) -> Result<LayerNormGrads<CpuTensor<E>>> {
        let (mean, rstd) = (saved.mean.view(), saved.rstd.view());
        layer_norm::layer_norm_backward(x.view(), weight.view(), mean, rstd, g.view()).try_map(|a| Ok(t(a)))
    }

    // ops::adjacency

    fn normalized_adjacency(&self, a: &CpuTensor<E>) -> Result<(CpuTensor<E>, CpuTensor<E>)> {
        let (a_hat, d) = adjacency::normalized_adjacency(a.view())?;
        Ok((t(a_hat), t(d)))
    }

    fn normalized_adjacency_backward(
        &self,
        a_hat: &CpuTensor<E>,
        d: &CpuTensor<E>,
        g: &CpuTensor<E>,
    ) -> Result<CpuTensor<E>> {
        Ok(t(adjacency::normalized_adjacency_backward(a_hat.view(), d.view(), g.view())?))
    }

    // ops::adam

    fn adam_update(
        &self,
        param: &mut CpuTensor<E>,
        grad: &CpuTensor<E>,
        m: &mut CpuTensor<E>,
        v: &mut CpuTensor<E>,
        u: &AdamUpdate<E>,
    ) -> Result<()> {
        adam::adam_update(
            param.make_mut().view_mut(),
            grad.view(),
            m.make_mut().view_mut(),
            v.make_mut().view_mut(),
            u,
        );
        Ok(())
    }
}
