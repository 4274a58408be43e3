//! [`CudaBackend`]: `hagcn_autodiff::Backend` for `f32` on any [`KernelDevice`], a GPU
//! ([`crate::Device`]) or the CPU ([`crate::EmulatedDevice`]).
//!
//! Every method is one call into `crate::ops`, whose modules follow the kernel files: every basic
//! op is one kernel, a few of them, or an SGEMM on the device, with no host round trip except
//! upload, download and `scalar`. Of the fused ops it overrides `matmul_acc` (SGEMM with β = 1),
//! `linear_reproducible` (one kernel, the host's bits), layer norm forward and backward, the
//! tridiagonal assembly and its backward, the normalised adjacency and its backward, Adam, the
//! B-spline basis and its backward, and the symmetric eigendecomposition (on the device or the
//! host as its [`EigenPolicy`] says); `gram`, `gram_backward`, `add_assign` and the backward of
//! the eigendecomposition keep the trait's defaults.

use std::sync::Arc;

use hagcn_autodiff::{AdamUpdate, Backend, LayerNormGrads, LayerNormOutput};
use ndarray::{Array2, ArrayView2};

use crate::device::{Buffer, KernelDevice};
use crate::eigen_policy::EigenPolicy;
use crate::ops::eigen::EigenSolver;
use crate::ops::{
    activations, adam, adjacency, bspline, eigen, elementwise, gemm, layer_norm, linear, reduce, tridiagonal,
};
use crate::tensor::{self, AdResult, DeviceTensor, Tensor};

/// The CUDA backend's host code on any [`KernelDevice`] (f32): it implements
/// [`hagcn_autodiff::Backend`] with one kernel of `kernels/*.cu` (or a few, or an SGEMM) per
/// basic op, and its own kernels for layer norm, Adam, the tridiagonal assembly, the
/// normalised adjacency with its gradient, the B-spline basis with its gradient (up to
/// [`crate::BSPLINE_MAX_KNOTS`] knots; more run on the host) and the reproducible linear layer;
/// the eigendecomposition on the device or the host as its [`EigenPolicy`] says
/// ([`CudaBackend::with_eigen_policy`]); its backward uses the trait's host fallback.
///
/// ```
/// use std::sync::Arc;
/// use hagcn_autodiff::Backend;
/// use hagcn_cuda::{CudaBackend, EmulatedDevice};
/// use hagcn_openblas as _;
///
/// let be = CudaBackend::new(Arc::new(EmulatedDevice));
/// let x = be.upload(ndarray::array![[1.0f32, -2.0], [3.0, 4.0]].view())?;
/// let s = be.sum(&be.mul(&x, &x)?)?;
/// assert_eq!(be.scalar(&s)?, 30.0);
/// # Ok::<(), hagcn_autodiff::Error>(())
/// ```
#[derive(Debug)]
pub struct CudaBackend<D> {
    device: Arc<D>,
    eigen: EigenPolicy,
}

impl<D> Clone for CudaBackend<D> {
    fn clone(&self) -> Self {
        CudaBackend { device: Arc::clone(&self.device), eigen: self.eigen }
    }
}

impl<D: KernelDevice> CudaBackend<D> {
    /// The backend on `device`, with the default [`EigenPolicy`].
    pub fn new(device: Arc<D>) -> Self {
        CudaBackend { device, eigen: EigenPolicy::default() }
    }

    /// The backend with `policy` for the eigendecomposition.
    #[must_use]
    pub fn with_eigen_policy(mut self, policy: EigenPolicy) -> Self {
        self.eigen = policy;
        self
    }

    /// The policy [`Backend::symmetric_eigen`] follows.
    pub fn eigen_policy(&self) -> EigenPolicy {
        self.eigen
    }

    /// The device the backend runs on.
    pub fn device(&self) -> &Arc<D> {
        &self.device
    }

    /// [`Backend::symmetric_eigen`] under `policy`, and the path that produced it.
    ///
    /// The result is the packed `(n + 1) × n` decomposition of `(A + Aᵀ)/2` (eigenvectors as
    /// columns, then the eigenvalues, ascending; each eigenvector's first largest-magnitude
    /// entry positive), whichever path computed it. When the policy picks the device and the
    /// device path fails, the host computes it and the reason comes back in
    /// [`EigenSolver::HostFallback`]; an error therefore means that the host failed too (a
    /// NaN in the input, a matrix that is not square), with the CPU backend's error.
    ///
    /// For benchmarks: time `EigenPolicy::Device` against `EigenPolicy::Host` at each size
    /// (n = 128, 1024, 4096), check that the device run returned [`EigenSolver::Device`] (a
    /// fallback times the host), and synchronise the device's stream inside the timed closure
    /// (the device path has read back its status by the time it returns, but the host path's
    /// final upload may still be in flight).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use hagcn_autodiff::Backend;
    /// use hagcn_cuda::{CudaBackend, EigenPolicy, EigenSolver, EmulatedDevice};
    /// use hagcn_openblas as _;
    ///
    /// let be = CudaBackend::new(Arc::new(EmulatedDevice));
    /// let a = be.upload(ndarray::array![[2.0f32, 1.0], [1.0, 2.0]].view())?;
    /// let (packed, solver) = be.symmetric_eigen_with(EigenPolicy::Device, &a)?;
    /// assert_eq!(solver, EigenSolver::Device);
    /// let (host, _) = be.symmetric_eigen_with(EigenPolicy::Host, &a)?;
    /// assert_eq!(be.download(&packed)?, be.download(&host)?);
    /// let packed = be.download(&packed)?; // eigenvalues 1 and 3 in the last row
    /// assert!((packed[[2, 0]] - 1.0).abs() < 1e-6 && (packed[[2, 1]] - 3.0).abs() < 1e-6);
    /// # Ok::<(), hagcn_autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The host path's errors (`hagcn_autodiff::Error::Linalg` for a non-square or non-finite
    /// input), and device errors of the host path's download and upload.
    pub fn symmetric_eigen_with(&self, policy: EigenPolicy, a: &Tensor<D>) -> AdResult<(Tensor<D>, EigenSolver)> {
        eigen::symmetric_eigen_with(&*self.device, policy, a)
    }
}

impl<D: KernelDevice> Backend for CudaBackend<D> {
    type Elem = f32;
    type Tensor = DeviceTensor<Buffer<D, f32>>;

    fn name(&self) -> String {
        self.device.describe()
    }

    fn shape(&self, t: &Tensor<D>) -> (usize, usize) {
        t.shape()
    }

    fn upload(&self, a: ArrayView2<f32>) -> AdResult<Tensor<D>> {
        tensor::upload(&*self.device, a)
    }

    fn download(&self, t: &Tensor<D>) -> AdResult<Array2<f32>> {
        tensor::download(&*self.device, t)
    }

    fn full(&self, rows: usize, cols: usize, value: f32) -> AdResult<Tensor<D>> {
        elementwise::full(&*self.device, rows, cols, value)
    }

    fn matmul(&self, a: &Tensor<D>, transpose_a: bool, b: &Tensor<D>, transpose_b: bool) -> AdResult<Tensor<D>> {
        gemm::matmul(&*self.device, a, transpose_a, b, transpose_b)
    }

    fn matmul_acc(
        &self,
        acc: &mut Tensor<D>,
        a: &Tensor<D>,
        transpose_a: bool,
        b: &Tensor<D>,
        transpose_b: bool,
    ) -> AdResult<()> {
        gemm::matmul_acc(&*self.device, acc, a, transpose_a, b, transpose_b)
    }

    fn linear(&self, x: &Tensor<D>, w: &Tensor<D>, b: &Tensor<D>) -> AdResult<Tensor<D>> {
        gemm::linear(&*self.device, x, w, b)
    }

    fn linear_reproducible(&self, x: &Tensor<D>, w: &Tensor<D>, b: &Tensor<D>) -> AdResult<Tensor<D>> {
        linear::linear_reproducible(&*self.device, x, w, b)
    }

    fn add(&self, a: &Tensor<D>, b: &Tensor<D>) -> AdResult<Tensor<D>> {
        elementwise::add(&*self.device, a, b)
    }

    fn sub(&self, a: &Tensor<D>, b: &Tensor<D>) -> AdResult<Tensor<D>> {
        elementwise::sub(&*self.device, a, b)
    }

    fn mul(&self, a: &Tensor<D>, b: &Tensor<D>) -> AdResult<Tensor<D>> {
        elementwise::mul(&*self.device, a, b)
    }

    fn affine(&self, a: &Tensor<D>, scale: f32, shift: f32) -> AdResult<Tensor<D>> {
        elementwise::affine(&*self.device, a, scale, shift)
    }

    fn add_row(&self, a: &Tensor<D>, row: &Tensor<D>) -> AdResult<Tensor<D>> {
        elementwise::add_row(&*self.device, a, row)
    }

    fn sum_rows(&self, a: &Tensor<D>) -> AdResult<Tensor<D>> {
        elementwise::sum_rows(&*self.device, a)
    }

    fn sum(&self, a: &Tensor<D>) -> AdResult<Tensor<D>> {
        reduce::sum(&*self.device, a)
    }

    fn broadcast_scalar(&self, s: &Tensor<D>, rows: usize, cols: usize, scale: f32) -> AdResult<Tensor<D>> {
        elementwise::broadcast_scalar(&*self.device, s, rows, cols, scale)
    }

    fn scale_by(&self, a: &Tensor<D>, s: &Tensor<D>) -> AdResult<Tensor<D>> {
        elementwise::scale_by(&*self.device, a, s)
    }

    fn sqrt(&self, a: &Tensor<D>) -> AdResult<Tensor<D>> {
        elementwise::sqrt(&*self.device, a)
    }

    fn recip(&self, a: &Tensor<D>) -> AdResult<Tensor<D>> {
        elementwise::recip(&*self.device, a)
    }

    fn slice_cols(&self, a: &Tensor<D>, start: usize, len: usize) -> AdResult<Tensor<D>> {
        elementwise::slice_cols(&*self.device, a, start, len)
    }

    fn embed_cols(&self, a: &Tensor<D>, total: usize, start: usize) -> AdResult<Tensor<D>> {
        elementwise::embed_cols(&*self.device, a, total, start)
    }

    fn concat_cols(&self, parts: &[&Tensor<D>]) -> AdResult<Tensor<D>> {
        elementwise::concat_cols(&*self.device, parts)
    }

    fn slice_rows(&self, a: &Tensor<D>, start: usize, len: usize) -> AdResult<Tensor<D>> {
        elementwise::slice_rows(&*self.device, a, start, len)
    }

    fn concat_rows(&self, parts: &[&Tensor<D>]) -> AdResult<Tensor<D>> {
        elementwise::concat_rows(&*self.device, parts)
    }

    fn bspline_basis(&self, x: &Tensor<D>, n_basis: usize, degree: usize) -> AdResult<Tensor<D>> {
        bspline::bspline_basis(&*self.device, x, n_basis, degree)
    }

    fn bspline_basis_backward(
        &self,
        x: &Tensor<D>,
        n_basis: usize,
        degree: usize,
        g: &Tensor<D>,
    ) -> AdResult<Tensor<D>> {
        bspline::bspline_basis_backward(&*self.device, x, n_basis, degree, g)
    }

    fn gelu(&self, x: &Tensor<D>) -> AdResult<Tensor<D>> {
        activations::gelu(&*self.device, x)
    }

    fn gelu_backward(&self, x: &Tensor<D>, g: &Tensor<D>) -> AdResult<Tensor<D>> {
        activations::gelu_backward(&*self.device, x, g)
    }

    fn sigmoid(&self, x: &Tensor<D>) -> AdResult<Tensor<D>> {
        activations::sigmoid(&*self.device, x)
    }

    fn sigmoid_backward(&self, y: &Tensor<D>, g: &Tensor<D>) -> AdResult<Tensor<D>> {
        activations::sigmoid_backward(&*self.device, y, g)
    }

    fn tridiagonal(&self, alpha: &Tensor<D>, beta: &Tensor<D>) -> AdResult<Tensor<D>> {
        tridiagonal::tridiagonal(&*self.device, alpha, beta)
    }

    fn tridiagonal_backward(&self, g: &Tensor<D>) -> AdResult<(Tensor<D>, Tensor<D>)> {
        tridiagonal::tridiagonal_backward(&*self.device, g)
    }

    fn symmetric_eigen(&self, a: &Tensor<D>) -> AdResult<Tensor<D>> {
        // The device or the host, as the policy says; the host after any device failure.
        Ok(self.symmetric_eigen_with(self.eigen, a)?.0)
    }

    fn layer_norm(
        &self,
        x: &Tensor<D>,
        weight: &Tensor<D>,
        bias: &Tensor<D>,
        eps: f32,
    ) -> AdResult<LayerNormOutput<Tensor<D>>> {
        layer_norm::layer_norm(&*self.device, x, weight, bias, eps)
    }

    fn layer_norm_backward(
        &self,
        x: &Tensor<D>,
        weight: &Tensor<D>,
        saved: &LayerNormOutput<Tensor<D>>,
        g: &Tensor<D>,
    ) -> AdResult<LayerNormGrads<Tensor<D>>> {
        layer_norm::layer_norm_backward(&*self.device, x, weight, saved, g)
    }

    fn normalized_adjacency(&self, a: &Tensor<D>) -> AdResult<(Tensor<D>, Tensor<D>)> {
        adjacency::normalized_adjacency(&*self.device, a)
    }

    fn normalized_adjacency_backward(&self, a_hat: &Tensor<D>, d: &Tensor<D>, g: &Tensor<D>) -> AdResult<Tensor<D>> {
        adjacency::normalized_adjacency_backward(&*self.device, a_hat, d, g)
    }

    fn adam_update(
        &self,
        param: &mut Tensor<D>,
        grad: &Tensor<D>,
        m: &mut Tensor<D>,
        v: &mut Tensor<D>,
        u: &AdamUpdate<f32>,
    ) -> AdResult<()> {
        adam::adam_update(&*self.device, param, grad, m, v, u)
    }
}
