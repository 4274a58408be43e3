//! The CPU backend: ndarray, with matrix products through BLAS.
//!
//! Which BLAS is linked is the final binary's choice (OpenBLAS in this workspace through
//! `hagcn-openblas`). Elementwise kernels are plain loops over contiguous memory.

use std::marker::PhantomData;
use std::sync::Arc;

use ndarray::{Array2, ArrayView2, Axis, Zip, linalg::general_mat_mul};

use crate::backend::{AdamUpdate, Backend, LayerNormGrads, LayerNormOutput};
use crate::{Element, Result, host};

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

/// Elementwise kernels on at least this many entries run on the rayon thread pool. The
/// kernels vectorise and are memory-bound, so only very large matrices gain from threads
/// (and below this size the pool would compete with OpenBLAS's own threads).
const PAR_MIN_LEN: usize = 1 << 21;

/// `f` applied to every entry of `a`, in parallel for large arrays.
fn map1<E: Element>(a: &Array2<E>, f: impl Fn(E) -> E + Sync + Send) -> Array2<E> {
    let zip = Zip::from(a);
    if a.len() >= PAR_MIN_LEN { zip.par_map_collect(|&x| f(x)) } else { zip.map_collect(|&x| f(x)) }
}

/// `f` applied to every pair of entries of `a` and `b`, in parallel for large arrays.
fn map2<E: Element>(a: &Array2<E>, b: &Array2<E>, f: impl Fn(E, E) -> E + Sync + Send) -> Array2<E> {
    let zip = Zip::from(a).and(b);
    if a.len() >= PAR_MIN_LEN { zip.par_map_collect(|&x, &y| f(x, y)) } else { zip.map_collect(|&x, &y| f(x, y)) }
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

    fn matmul(&self, a: &CpuTensor<E>, ta: bool, b: &CpuTensor<E>, tb: bool) -> Result<CpuTensor<E>> {
        let a = if ta { a.0.t() } else { a.0.view() };
        let b = if tb { b.0.t() } else { b.0.view() };
        let mut c = Array2::zeros((a.nrows(), b.ncols()));
        // beta = 1 on a zeroed C: OpenBLAS skips its own zeroing pass (it runs one for beta = 0).
        general_mat_mul(E::one(), &a, &b, E::one(), &mut c);
        Ok(t(c))
    }

    fn add_assign(&self, acc: &mut CpuTensor<E>, b: &CpuTensor<E>) -> Result<()> {
        let a = acc.make_mut();
        let zip = Zip::from(a).and(b.0.as_ref());
        if b.0.len() >= PAR_MIN_LEN {
            zip.par_for_each(|x, &y| *x = *x + y);
        } else {
            zip.for_each(|x, &y| *x = *x + y);
        }
        Ok(())
    }

    fn matmul_acc(&self, acc: &mut CpuTensor<E>, a: &CpuTensor<E>, ta: bool, b: &CpuTensor<E>, tb: bool) -> Result<()> {
        let a = if ta { a.0.t() } else { a.0.view() };
        let b = if tb { b.0.t() } else { b.0.view() };
        general_mat_mul(E::one(), &a, &b, E::one(), acc.make_mut());
        Ok(())
    }

    fn gram(&self, a: &CpuTensor<E>, scale: E) -> Result<CpuTensor<E>> {
        Ok(t(E::gram(scale, &a.0)))
    }

    fn gram_backward(&self, a: &CpuTensor<E>, g: &CpuTensor<E>, scale: E) -> Result<CpuTensor<E>> {
        let sym = map2(&g.0, &g.0.t().to_owned(), |x, y| x + y);
        let mut out = Array2::zeros(a.0.dim());
        general_mat_mul(scale, &sym.view(), &a.0.view(), E::one(), &mut out);
        Ok(t(out))
    }

    fn linear(&self, x: &CpuTensor<E>, w: &CpuTensor<E>, b: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        // C = 1 (broadcast bias), then C = x wᵀ + 1·C: one GEMM, no separate bias pass.
        let mut c = b.0.broadcast((x.0.nrows(), w.0.nrows())).expect("the graph checked the shapes").to_owned();
        general_mat_mul(E::one(), &x.0.view(), &w.0.t(), E::one(), &mut c);
        Ok(t(c))
    }

    fn linear_reproducible(&self, x: &CpuTensor<E>, w: &CpuTensor<E>, b: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(crate::reproducible::linear(x.view(), w.view(), b.view())))
    }

    fn add(&self, a: &CpuTensor<E>, b: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(map2(&a.0, &b.0, |x, y| x + y)))
    }

    fn sub(&self, a: &CpuTensor<E>, b: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(map2(&a.0, &b.0, |x, y| x - y)))
    }

    fn mul(&self, a: &CpuTensor<E>, b: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(map2(&a.0, &b.0, |x, y| x * y)))
    }

    fn affine(&self, a: &CpuTensor<E>, scale: E, shift: E) -> Result<CpuTensor<E>> {
        Ok(t(map1(&a.0, |x| x * scale + shift)))
    }

    fn add_row(&self, a: &CpuTensor<E>, row: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        let row = row.0.broadcast(a.0.dim()).expect("the graph checked the shapes");
        Ok(t(Zip::from(&*a.0).and(&row).map_collect(|&x, &b| x + b)))
    }

    fn sum_rows(&self, a: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(a.0.sum_axis(Axis(0)).insert_axis(Axis(0))))
    }

    fn sum(&self, a: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(Array2::from_elem((1, 1), a.0.sum())))
    }

    fn broadcast_scalar(&self, s: &CpuTensor<E>, rows: usize, cols: usize, scale: E) -> Result<CpuTensor<E>> {
        Ok(t(Array2::from_elem((rows, cols), s.0[[0, 0]] * scale)))
    }

    fn scale_by(&self, a: &CpuTensor<E>, s: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        let s = s.0[[0, 0]];
        Ok(t(map1(&a.0, |x| x * s)))
    }

    fn sqrt(&self, a: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(map1(&a.0, |x| x.sqrt())))
    }

    fn recip(&self, a: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(map1(&a.0, |x| x.recip())))
    }

    fn slice_cols(&self, a: &CpuTensor<E>, start: usize, len: usize) -> Result<CpuTensor<E>> {
        Ok(t(a.0.slice(ndarray::s![.., start..start + len]).to_owned()))
    }

    fn embed_cols(&self, a: &CpuTensor<E>, total: usize, start: usize) -> Result<CpuTensor<E>> {
        let (rows, cols) = a.0.dim();
        let mut out = Array2::zeros((rows, total));
        out.slice_mut(ndarray::s![.., start..start + cols]).assign(&*a.0);
        Ok(t(out))
    }

    fn concat_cols(&self, parts: &[&CpuTensor<E>]) -> Result<CpuTensor<E>> {
        let views: Vec<_> = parts.iter().map(|p| p.0.view()).collect();
        Ok(t(ndarray::concatenate(Axis(1), &views).expect("the graph checked the shapes")))
    }

    fn tridiagonal(&self, alpha: &CpuTensor<E>, beta: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(host::tridiagonal(alpha.view(), beta.view())))
    }

    fn tridiagonal_backward(&self, g: &CpuTensor<E>) -> Result<(CpuTensor<E>, CpuTensor<E>)> {
        let (alpha, beta) = host::tridiagonal_backward(g.view());
        Ok((t(alpha), t(beta)))
    }

    fn slice_rows(&self, a: &CpuTensor<E>, start: usize, len: usize) -> Result<CpuTensor<E>> {
        Ok(t(a.0.slice(ndarray::s![start..start + len, ..]).to_owned()))
    }

    fn concat_rows(&self, parts: &[&CpuTensor<E>]) -> Result<CpuTensor<E>> {
        let views: Vec<_> = parts.iter().map(|p| p.0.view()).collect();
        Ok(t(ndarray::concatenate(Axis(0), &views).expect("the graph checked the shapes")))
    }

    fn symmetric_eigen(&self, a: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(host::symmetric_eigen(a.view())?))
    }

    fn symmetric_eigen_backward(&self, packed: &CpuTensor<E>, g: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(host::symmetric_eigen_backward(packed.view(), g.view())?))
    }

    fn bspline_basis(&self, x: &CpuTensor<E>, n_basis: usize, degree: usize) -> Result<CpuTensor<E>> {
        Ok(t(host::bspline_basis(x.view(), n_basis, degree)?))
    }

    fn bspline_basis_backward(
        &self,
        x: &CpuTensor<E>,
        n_basis: usize,
        degree: usize,
        g: &CpuTensor<E>,
    ) -> Result<CpuTensor<E>> {
        Ok(t(host::bspline_basis_backward(x.view(), n_basis, degree, g.view())?))
    }

    fn gelu(&self, x: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(map1(&x.0, E::gelu)))
    }

    fn gelu_backward(&self, x: &CpuTensor<E>, g: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(map2(&x.0, &g.0, |v, g| g * v.gelu_grad())))
    }

    fn sigmoid(&self, x: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(map1(&x.0, |v| E::one() / (E::one() + (-v).exp()))))
    }

    fn sigmoid_backward(&self, y: &CpuTensor<E>, g: &CpuTensor<E>) -> Result<CpuTensor<E>> {
        Ok(t(map2(&y.0, &g.0, |y, g| g * y * (E::one() - y))))
    }

    fn layer_norm(
        &self,
        x: &CpuTensor<E>,
        weight: &CpuTensor<E>,
        bias: &CpuTensor<E>,
        eps: E,
    ) -> Result<LayerNormOutput<CpuTensor<E>>> {
        let out = host::layer_norm(x.view(), weight.view(), bias.view(), eps);
        Ok(LayerNormOutput { y: t(out.y), mean: t(out.mean), rstd: t(out.rstd) })
    }

    fn layer_norm_backward(
        &self,
        x: &CpuTensor<E>,
        weight: &CpuTensor<E>,
        saved: &LayerNormOutput<CpuTensor<E>>,
        g: &CpuTensor<E>,
    ) -> Result<LayerNormGrads<CpuTensor<E>>> {
        let out = host::layer_norm_backward(x.view(), weight.view(), saved.mean.view(), saved.rstd.view(), g.view());
        Ok(LayerNormGrads { x: t(out.x), weight: t(out.weight), bias: t(out.bias) })
    }

    fn normalized_adjacency(&self, a: &CpuTensor<E>) -> Result<(CpuTensor<E>, CpuTensor<E>)> {
        let (a_hat, d) = host::normalized_adjacency(a.view())?;
        Ok((t(a_hat), t(d)))
    }

    fn normalized_adjacency_backward(
        &self,
        a_hat: &CpuTensor<E>,
        d: &CpuTensor<E>,
        g: &CpuTensor<E>,
    ) -> Result<CpuTensor<E>> {
        Ok(t(host::normalized_adjacency_backward(a_hat.view(), d.view(), g.view())?))
    }

    fn adam_update(
        &self,
        param: &mut CpuTensor<E>,
        grad: &CpuTensor<E>,
        m: &mut CpuTensor<E>,
        v: &mut CpuTensor<E>,
        u: &AdamUpdate<E>,
    ) -> Result<()> {
        host::adam_update(
            param.make_mut().view_mut(),
            grad.view(),
            m.make_mut().view_mut(),
            v.make_mut().view_mut(),
            u,
        );
        Ok(())
    }
}
