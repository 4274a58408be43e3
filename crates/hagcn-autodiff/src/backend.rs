//! The tensor backend trait: everything a graph needs a device to compute.
//!
//! A tensor is a row-major matrix (`rows × cols`); vectors are `1 × n` rows and scalars
//! `1 × 1`. The graph checks shapes before calling a backend, so implementations may assume
//! valid shapes. The CPU implementation is [`crate::CpuBackend`]; a CUDA one implements the
//! same trait.
//!
//! Two kinds of methods:
//! * **Basic kernels** (required): transfers, GEMM, elementwise arithmetic, reductions,
//!   slicing, GELU and sigmoid. Each is one kernel (or a few) on the device, with no host
//!   round trip except [`Backend::upload`], [`Backend::download`] and [`Backend::scalar`].
//! * **Fused ops** (provided): the Gram matrix, gradient accumulation, the tridiagonal
//!   assembly, the eigendecomposition, the B-spline basis, layer norm, the normalised
//!   adjacency and Adam. Their default implementations either combine basic kernels or run
//!   the op's one host implementation (`ops/<op>/host.rs`) between a download and an upload,
//!   so a new backend trains end to end as soon as its basic kernels exist, and can replace
//!   fused ops by kernels of its own one at a time (candle's `CustomOp` pattern).
//!
//! The methods are grouped by the op module under `ops/` that documents them.

use ndarray::{Array2, ArrayView2};

use num_traits::Zero;

use crate::ops::adam::host::{self as adam, AdamUpdate};
use crate::ops::adjacency::host as adjacency;
use crate::ops::bspline::host as bspline;
use crate::ops::eigen::host as eigen;
use crate::ops::layer_norm::host::{self as layer_norm, LayerNormGrads, LayerNormOutput};
use crate::ops::linear::reproducible;
use crate::ops::tridiagonal::host as tridiagonal;
use crate::{Element, Result};

/// A device that stores matrices and runs the kernels the autodiff ops are made of.
///
/// Cloning a backend is cheap (a handle), and so is cloning a tensor: tensors are
/// reference-counted and immutable except through [`Backend::adam_update`], which may
/// update in place when it holds the only reference.
pub trait Backend: Clone + Send + Sync + 'static {
    /// The element type of every tensor on this backend.
    type Elem: Element;
    /// A `rows × cols` matrix on the device.
    type Tensor: Clone + Send + Sync;

    // Transfers and storage.

    /// A short human-readable description (for example `cpu (OpenBLAS SkylakeX)`).
    fn name(&self) -> String;
    /// `(rows, cols)` of a tensor.
    fn shape(&self, t: &Self::Tensor) -> (usize, usize);
    /// Copies a host matrix to the device.
    fn upload(&self, a: ArrayView2<Self::Elem>) -> Result<Self::Tensor>;
    /// Copies a tensor back to the host.
    fn download(&self, t: &Self::Tensor) -> Result<Array2<Self::Elem>>;
    /// The single value of a `1 × 1` tensor.
    fn scalar(&self, t: &Self::Tensor) -> Result<Self::Elem> {
        Ok(self.download(t)?[[0, 0]])
    }
    /// A `rows × cols` tensor filled with `value`.
    fn full(&self, rows: usize, cols: usize, value: Self::Elem) -> Result<Self::Tensor>;

    // ops::matmul

    /// `op(a) · op(b)` where `op` transposes when the flag is set (a GEMM).
    fn matmul(&self, a: &Self::Tensor, transpose_a: bool, b: &Self::Tensor, transpose_b: bool) -> Result<Self::Tensor>;
    /// `scale · a aᵀ` (`n × n`, symmetric) for `a` as `n × k`: a Gram matrix (a backend may
    /// use BLAS `?syrk`, half the cost of a general product).
    fn gram(&self, a: &Self::Tensor, scale: Self::Elem) -> Result<Self::Tensor> {
        let product = self.matmul(a, false, a, true)?;
        self.affine(&product, scale, Self::Elem::zero())
    }
    /// Gradient of [`Backend::gram`] with respect to `a`: `scale · (g + gᵀ) a`.
    fn gram_backward(&self, a: &Self::Tensor, g: &Self::Tensor, scale: Self::Elem) -> Result<Self::Tensor> {
        let mut product = self.matmul(g, false, a, false)?;
        self.matmul_acc(&mut product, g, true, a, false)?;
        self.affine(&product, scale, Self::Elem::zero())
    }
    /// `acc ← acc + op(a) · op(b)` (gradient accumulation of a product); a GEMM with β = 1
    /// where the backend can.
    fn matmul_acc(
        &self,
        acc: &mut Self::Tensor,
        a: &Self::Tensor,
        transpose_a: bool,
        b: &Self::Tensor,
        transpose_b: bool,
    ) -> Result<()> {
        let product = self.matmul(a, transpose_a, b, transpose_b)?;
        self.add_assign(acc, &product)
    }

    // ops::linear

    /// `x · wᵀ + b` for `x` as `n × in`, `w` as `out × in` and the `1 × out` row `b`
    /// broadcast over rows (a fully connected layer, as `torch.nn.Linear`).
    fn linear(&self, x: &Self::Tensor, w: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// [`Backend::linear`] with every output summed in `f64` in one fixed order (see
    /// [`crate::reproducible`]): the same bits on every device, BLAS and thread count, so that
    /// a checkpoint encodes to the same codes everywhere. Slower than a GEMM.
    fn linear_reproducible(&self, x: &Self::Tensor, w: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor> {
        let (x, w, b) = (self.download(x)?, self.download(w)?, self.download(b)?);
        self.upload(reproducible::linear(x.view(), w.view(), b.view()).view())
    }

    // ops::elementwise

    /// Elementwise `a + b`.
    fn add(&self, a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// `acc ← acc + b` (gradient accumulation); in place where the backend can.
    fn add_assign(&self, acc: &mut Self::Tensor, b: &Self::Tensor) -> Result<()> {
        *acc = self.add(acc, b)?;
        Ok(())
    }
    /// Elementwise `a − b`.
    fn sub(&self, a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// Elementwise `a ⊙ b`.
    fn mul(&self, a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor>;
    /// Elementwise `scale · a + shift`.
    fn affine(&self, a: &Self::Tensor, scale: Self::Elem, shift: Self::Elem) -> Result<Self::Tensor>;
    /// Adds the `1 × cols` row `row` to every row of `a`.
    fn add_row(&self, a: &Self::Tensor, row: &Self::Tensor) -> Result<Self::Tensor>;
    /// Column sums of `a`, as a `1 × cols` row.
    fn sum_rows(&self, a: &Self::Tensor) -> Result<Self::Tensor>;
    /// The sum of all entries, as `1 × 1`.
    fn sum(&self, a: &Self::Tensor) -> Result<Self::Tensor>;
    /// A `rows × cols` tensor every entry of which is `scale · s` for the `1 × 1` tensor `s`.
    fn broadcast_scalar(&self, s: &Self::Tensor, rows: usize, cols: usize, scale: Self::Elem) -> Result<Self::Tensor>;
    /// `s · a` for the `1 × 1` tensor `s` (a scalar that lives on the device).
    fn scale_by(&self, a: &Self::Tensor, s: &Self::Tensor) -> Result<Self::Tensor>;
    /// Elementwise `√a`.
    fn sqrt(&self, a: &Self::Tensor) -> Result<Self::Tensor>;
    /// Elementwise `1 / a`.
    fn recip(&self, a: &Self::Tensor) -> Result<Self::Tensor>;

    // ops::slicing

    /// Columns `start .. start + len` of `a`.
    fn slice_cols(&self, a: &Self::Tensor, start: usize, len: usize) -> Result<Self::Tensor>;
    /// A `rows × total` tensor of zeros with `a` written into columns `start ..`.
    fn embed_cols(&self, a: &Self::Tensor, total: usize, start: usize) -> Result<Self::Tensor>;
    /// The tensors side by side (same number of rows).
    fn concat_cols(&self, parts: &[&Self::Tensor]) -> Result<Self::Tensor>;
    /// Rows `start .. start + len` of `a`.
    fn slice_rows(&self, a: &Self::Tensor, start: usize, len: usize) -> Result<Self::Tensor>;
    /// The tensors stacked vertically (same number of columns).
    fn concat_rows(&self, parts: &[&Self::Tensor]) -> Result<Self::Tensor>;

    // ops::activations

    /// GELU, exact form `x · Φ(x) = x/2 · (1 + erf(x/√2))`.
    fn gelu(&self, x: &Self::Tensor) -> Result<Self::Tensor>;
    /// `g ⊙ GELU'(x)` with `GELU'(x) = Φ(x) + x φ(x)`.
    fn gelu_backward(&self, x: &Self::Tensor, g: &Self::Tensor) -> Result<Self::Tensor>;
    /// Logistic sigmoid `1 / (1 + e^(-x))`.
    fn sigmoid(&self, x: &Self::Tensor) -> Result<Self::Tensor>;
    /// `g ⊙ y(1 − y)` where `y` is the sigmoid's output.
    fn sigmoid_backward(&self, y: &Self::Tensor, g: &Self::Tensor) -> Result<Self::Tensor>;

    // ops::tridiagonal

    /// The symmetric tridiagonal `m × m` matrix with diagonal `alpha` (`1 × m`) and
    /// off-diagonals `beta` (`1 × (m − 1)`).
    fn tridiagonal(&self, alpha: &Self::Tensor, beta: &Self::Tensor) -> Result<Self::Tensor> {
        self.upload(tridiagonal::tridiagonal(self.download(alpha)?.view(), self.download(beta)?.view()).view())
    }
    /// Gradients of [`Backend::tridiagonal`]: `(diag(G), G_(i,i+1) + G_(i+1,i))`.
    fn tridiagonal_backward(&self, g: &Self::Tensor) -> Result<(Self::Tensor, Self::Tensor)> {
        let (alpha, beta) = tridiagonal::tridiagonal_backward(self.download(g)?.view());
        Ok((self.upload(alpha.view())?, self.upload(beta.view())?))
    }

    // ops::eigen

    /// Eigendecomposition of the symmetric `n × n` matrix `a`, packed as an `(n + 1) × n`
    /// tensor: rows `0..n` hold the eigenvectors as columns, row `n` the eigenvalues,
    /// ascending, with the sign convention of [`hagcn_linalg::symmetric_eigen`] (each
    /// eigenvector's largest-magnitude component is positive).
    fn symmetric_eigen(&self, a: &Self::Tensor) -> Result<Self::Tensor> {
        self.upload(eigen::symmetric_eigen(self.download(a)?.view())?.view())
    }
    /// Gradient with respect to `a` of [`Backend::symmetric_eigen`] given its packed output and
    /// the packed gradient `g` (spec §5.1):
    /// `∂A = U (M_s ⊘ E + diag(gλ)) Uᵀ`, `M = Uᵀ gU`, `M_s = (M − Mᵀ)/2`, `E_ij = λ_j − λ_i`,
    /// as [`hagcn_linalg::symmetric_eigen_backward`] computes it: only pairs whose gap is at
    /// rounding level contribute no term.
    fn symmetric_eigen_backward(&self, packed: &Self::Tensor, g: &Self::Tensor) -> Result<Self::Tensor> {
        let (packed, g) = (self.download(packed)?, self.download(g)?);
        self.upload(eigen::symmetric_eigen_backward(packed.view(), g.view())?.view())
    }

    // ops::bspline

    /// The cubic (or `degree`) B-spline basis at the points of the row `x` (`1 × m`): an
    /// `m × n_basis` tensor (see [`hagcn_linalg::bspline_basis`]).
    fn bspline_basis(&self, x: &Self::Tensor, n_basis: usize, degree: usize) -> Result<Self::Tensor> {
        self.upload(bspline::bspline_basis(self.download(x)?.view(), n_basis, degree)?.view())
    }
    /// Gradient with respect to the points `x` (`1 × m`), through the ratios and the knots.
    fn bspline_basis_backward(
        &self,
        x: &Self::Tensor,
        n_basis: usize,
        degree: usize,
        g: &Self::Tensor,
    ) -> Result<Self::Tensor> {
        let (x, g) = (self.download(x)?, self.download(g)?);
        self.upload(bspline::bspline_basis_backward(x.view(), n_basis, degree, g.view())?.view())
    }

    // ops::layer_norm

    /// Layer norm over each row (biased variance, as PyTorch), then `· weight + bias`.
    fn layer_norm(
        &self,
        x: &Self::Tensor,
        weight: &Self::Tensor,
        bias: &Self::Tensor,
        eps: Self::Elem,
    ) -> Result<LayerNormOutput<Self::Tensor>> {
        let (x, weight, bias) = (self.download(x)?, self.download(weight)?, self.download(bias)?);
        layer_norm::layer_norm(x.view(), weight.view(), bias.view(), eps).try_map(|t| self.upload(t.view()))
    }
    /// Gradients of [`Backend::layer_norm`] given the saved forward values.
    fn layer_norm_backward(
        &self,
        x: &Self::Tensor,
        weight: &Self::Tensor,
        saved: &LayerNormOutput<Self::Tensor>,
        g: &Self::Tensor,
    ) -> Result<LayerNormGrads<Self::Tensor>> {
        let (x, weight, g) = (self.download(x)?, self.download(weight)?, self.download(g)?);
        let (mean, rstd) = (self.download(&saved.mean)?, self.download(&saved.rstd)?);
        layer_norm::layer_norm_backward(x.view(), weight.view(), mean.view(), rstd.view(), g.view())
            .try_map(|t| self.upload(t.view()))
    }

    // ops::adjacency

    /// `(Â, d)` with `Â = D^-1/2 A D^-1/2`, `d` as `n × 1` (see
    /// [`hagcn_linalg::normalized_adjacency`]).
    fn normalized_adjacency(&self, a: &Self::Tensor) -> Result<(Self::Tensor, Self::Tensor)> {
        let (a_hat, d) = adjacency::normalized_adjacency(self.download(a)?.view())?;
        Ok((self.upload(a_hat.view())?, self.upload(d.view())?))
    }
    /// Gradient with respect to `A` given `Â`, `d` and the gradient `g` with respect to `Â`.
    fn normalized_adjacency_backward(
        &self,
        a_hat: &Self::Tensor,
        d: &Self::Tensor,
        g: &Self::Tensor,
    ) -> Result<Self::Tensor> {
        let (a_hat, d, g) = (self.download(a_hat)?, self.download(d)?, self.download(g)?);
        self.upload(adjacency::normalized_adjacency_backward(a_hat.view(), d.view(), g.view())?.view())
    }

    // ops::adam

    /// One Adam update of `param` with gradient `grad` and moments `m`, `v` (PyTorch's
    /// `torch.optim.Adam`, no weight decay):
    /// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
    /// `param ← param − (lr/bc₁) · m / (√v/√bc₂ + ε)`.
    fn adam_update(
        &self,
        param: &mut Self::Tensor,
        grad: &Self::Tensor,
        m: &mut Self::Tensor,
        v: &mut Self::Tensor,
        update: &AdamUpdate<Self::Elem>,
    ) -> Result<()> {
        let (mut p, mut m_host, mut v_host) = (self.download(param)?, self.download(m)?, self.download(v)?);
        let g = self.download(grad)?;
        adam::adam_update(p.view_mut(), g.view(), m_host.view_mut(), v_host.view_mut(), update);
        *param = self.upload(p.view())?;
        *m = self.upload(m_host.view())?;
        *v = self.upload(v_host.view())?;
        Ok(())
    }
}
