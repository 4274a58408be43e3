//! The tape: a graph of recorded ops, built forward and differentiated in reverse.
//!
//! Each op appends a node holding its value and an [`Op`] that remembers its inputs and
//! whatever the backward rule needs. [`Graph::backward`] walks the nodes in reverse order
//! of insertion (a valid reverse topological order, since a node's inputs always come
//! before it) and accumulates gradients into a [`Gradients`] store. The backward rules are
//! in `backward.rs`, one `match` arm per op.

use hagcn_linalg::Real;

use crate::backend::{Backend, LayerNormOutput};
use crate::{Error, Result};

/// A handle to a value recorded in a [`Graph`]. Cheap to copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Var(pub(crate) usize);

impl Var {
    /// Position of the node in its graph (insertion order).
    pub fn index(self) -> usize {
        self.0
    }
}

/// A recorded operation: its inputs and the values its backward rule needs.
#[derive(Clone)]
pub(crate) enum Op<T> {
    /// A leaf: a constant or a parameter.
    Leaf,
    /// `op(a) · op(b)`.
    MatMul {
        a: Var,
        transpose_a: bool,
        b: Var,
        transpose_b: bool,
    },
    /// `scale · a aᵀ`.
    Gram {
        a: Var,
        scale: f64,
    },
    /// `x wᵀ + b` (a fully connected layer).
    Linear {
        x: Var,
        w: Var,
        b: Var,
    },
    Add(Var, Var),
    Sub(Var, Var),
    Mul(Var, Var),
    /// `scale · a + shift`.
    Affine {
        a: Var,
        scale: f64,
    },
    /// Row vector `row` broadcast over the rows of `a`.
    AddRow {
        a: Var,
        row: Var,
    },
    Sum(Var),
    /// `s · a` for a `1 × 1` variable `s`.
    ScaleBy {
        a: Var,
        s: Var,
    },
    Sqrt(Var),
    Recip(Var),
    SliceCols {
        a: Var,
        start: usize,
    },
    ConcatCols(Vec<Var>),
    Tridiagonal {
        alpha: Var,
        beta: Var,
    },
    SliceRows {
        a: Var,
        start: usize,
    },
    ConcatRows(Vec<Var>),
    /// Packed `(n + 1) × n` eigendecomposition of a symmetric matrix.
    SymmetricEigen(Var),
    /// Packed `(n + 1) × k` smallest eigenpairs of a Gram graph, with the host state.
    GramGraphEigen {
        z: Var,
        state: std::sync::Arc<crate::gram_eigen::GramEigenState>,
    },
    BsplineBasis {
        x: Var,
        n_basis: usize,
        degree: usize,
    },
    Gelu(Var),
    /// Saves nothing beyond the node's own value `y`.
    Sigmoid(Var),
    LayerNorm {
        x: Var,
        weight: Var,
        bias: Var,
        saved: LayerNormOutput<T>,
    },
    NormalizedAdjacency {
        a: Var,
        d: T,
    },
}

pub(crate) struct Node<T> {
    pub(crate) value: T,
    pub(crate) op: Op<T>,
    pub(crate) requires_grad: bool,
}

/// How a graph computes its fully connected layers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Arithmetic {
    /// The backend's GEMM ([`Backend::linear`]): fastest; the last bits may depend on the
    /// device, the BLAS and the thread count. For training.
    #[default]
    Fast,
    /// [`Backend::linear_reproducible`]: the same bits everywhere. For encoding, so that a
    /// checkpoint gives the same codes on every machine.
    Reproducible,
}

/// A computation graph on backend `B`.
pub struct Graph<B: Backend> {
    pub(crate) backend: B,
    pub(crate) nodes: Vec<Node<B::Tensor>>,
    arithmetic: Arithmetic,
}

impl<B: Backend> Graph<B> {
    /// An empty graph on `backend` with [`Arithmetic::Fast`].
    pub fn new(backend: B) -> Self {
        Self::with_arithmetic(backend, Arithmetic::Fast)
    }

    /// An empty graph on `backend` whose [`Graph::linear`] layers compute with `arithmetic`
    /// (gradients are the same either way).
    pub fn with_arithmetic(backend: B, arithmetic: Arithmetic) -> Self {
        Graph { backend, nodes: Vec::new(), arithmetic }
    }

    /// The backend the graph computes on.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Number of recorded nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn node(&self, v: Var) -> Result<&Node<B::Tensor>> {
        self.nodes.get(v.0).ok_or(Error::UnknownVar(v.0))
    }

    /// The value of `v`.
    pub fn value(&self, v: Var) -> Result<&B::Tensor> {
        Ok(&self.node(v)?.value)
    }

    /// `(rows, cols)` of `v`.
    pub fn shape(&self, v: Var) -> Result<(usize, usize)> {
        Ok(self.backend.shape(self.value(v)?))
    }

    /// The single value of the `1 × 1` variable `v`, copied to the host.
    pub fn scalar(&self, v: Var) -> Result<B::Elem> {
        let (rows, cols) = self.shape(v)?;
        if (rows, cols) != (1, 1) {
            return Err(Error::NotScalar { rows, cols });
        }
        self.backend.scalar(self.value(v)?)
    }

    fn push(&mut self, value: B::Tensor, op: Op<B::Tensor>, inputs: &[Var]) -> Var {
        let requires_grad = inputs.iter().any(|v| self.nodes[v.0].requires_grad);
        self.nodes.push(Node { value, op, requires_grad });
        Var(self.nodes.len() - 1)
    }

    /// Records a value that receives no gradient (for example a data batch).
    pub fn constant(&mut self, value: B::Tensor) -> Var {
        self.nodes.push(Node { value, op: Op::Leaf, requires_grad: false });
        Var(self.nodes.len() - 1)
    }

    /// Records a value whose gradient [`Graph::backward`] computes (a parameter).
    pub fn param(&mut self, value: B::Tensor) -> Var {
        self.nodes.push(Node { value, op: Op::Leaf, requires_grad: true });
        Var(self.nodes.len() - 1)
    }

    fn same_shape(&self, op: &'static str, a: Var, b: Var) -> Result<()> {
        let (sa, sb) = (self.shape(a)?, self.shape(b)?);
        if sa != sb {
            return Err(Error::Shape { op, left: sa, right: sb });
        }
        Ok(())
    }

    /// `op(a) · op(b)`, transposing an operand when its flag is set
    /// (PyTorch: `a @ b`, `a.T @ b`, …).
    pub fn matmul(&mut self, a: Var, transpose_a: bool, b: Var, transpose_b: bool) -> Result<Var> {
        let (mut sa, mut sb) = (self.shape(a)?, self.shape(b)?);
        if transpose_a {
            sa = (sa.1, sa.0);
        }
        if transpose_b {
            sb = (sb.1, sb.0);
        }
        if sa.1 != sb.0 {
            return Err(Error::Shape { op: "matmul", left: sa, right: sb });
        }
        let value = self.backend.matmul(self.value(a)?, transpose_a, self.value(b)?, transpose_b)?;
        Ok(self.push(value, Op::MatMul { a, transpose_a, b, transpose_b }, &[a, b]))
    }

    /// `scale · a aᵀ` (PyTorch: `scale * a @ a.T`), the Gram matrix of the rows of `a`: half
    /// the work of [`Graph::matmul`] forward (BLAS `?syrk`) and one product instead of two
    /// backward.
    pub fn gram(&mut self, a: Var, scale: f64) -> Result<Var> {
        let value = self.backend.gram(self.value(a)?, B::Elem::of(scale))?;
        Ok(self.push(value, Op::Gram { a, scale }, &[a]))
    }

    /// Elementwise `a + b` (same shapes).
    pub fn add(&mut self, a: Var, b: Var) -> Result<Var> {
        self.same_shape("add", a, b)?;
        let value = self.backend.add(self.value(a)?, self.value(b)?)?;
        Ok(self.push(value, Op::Add(a, b), &[a, b]))
    }

    /// Elementwise `a − b` (same shapes).
    pub fn sub(&mut self, a: Var, b: Var) -> Result<Var> {
        self.same_shape("sub", a, b)?;
        let value = self.backend.sub(self.value(a)?, self.value(b)?)?;
        Ok(self.push(value, Op::Sub(a, b), &[a, b]))
    }

    /// Elementwise `a ⊙ b` (same shapes).
    pub fn mul(&mut self, a: Var, b: Var) -> Result<Var> {
        self.same_shape("mul", a, b)?;
        let value = self.backend.mul(self.value(a)?, self.value(b)?)?;
        Ok(self.push(value, Op::Mul(a, b), &[a, b]))
    }

    /// Elementwise `a²` (recorded as `a ⊙ a`).
    pub fn square(&mut self, a: Var) -> Result<Var> {
        self.mul(a, a)
    }

    /// Elementwise `scale · a + shift`.
    pub fn affine(&mut self, a: Var, scale: f64, shift: f64) -> Result<Var> {
        let (s, h) = (hagcn_linalg::Real::of(scale), hagcn_linalg::Real::of(shift));
        let value = self.backend.affine(self.value(a)?, s, h)?;
        Ok(self.push(value, Op::Affine { a, scale }, &[a]))
    }

    /// `scale · a`.
    pub fn scale(&mut self, a: Var, scale: f64) -> Result<Var> {
        self.affine(a, scale, 0.0)
    }

    /// `a + shift` on every entry.
    pub fn add_scalar(&mut self, a: Var, shift: f64) -> Result<Var> {
        self.affine(a, 1.0, shift)
    }

    /// Adds the `1 × cols` row vector `row` to every row of `a` (a bias).
    pub fn add_row(&mut self, a: Var, row: Var) -> Result<Var> {
        let (sa, sr) = (self.shape(a)?, self.shape(row)?);
        if sr != (1, sa.1) {
            return Err(Error::Shape { op: "add_row", left: sa, right: sr });
        }
        let value = self.backend.add_row(self.value(a)?, self.value(row)?)?;
        Ok(self.push(value, Op::AddRow { a, row }, &[a, row]))
    }

    /// `x · weightᵀ + bias` with `weight` as `out × in` and `bias` as `1 × out`
    /// (PyTorch: `torch.nn.Linear`), by the graph's [`Arithmetic`].
    pub fn linear(&mut self, x: Var, weight: Var, bias: Var) -> Result<Var> {
        let (sx, sw, sb) = (self.shape(x)?, self.shape(weight)?, self.shape(bias)?);
        if sx.1 != sw.1 {
            return Err(Error::Shape { op: "linear", left: sx, right: sw });
        }
        if sb != (1, sw.0) {
            return Err(Error::Shape { op: "linear (bias)", left: sw, right: sb });
        }
        let (xv, wv, bv) = (self.value(x)?, self.value(weight)?, self.value(bias)?);
        let value = match self.arithmetic {
            Arithmetic::Fast => self.backend.linear(xv, wv, bv)?,
            Arithmetic::Reproducible => self.backend.linear_reproducible(xv, wv, bv)?,
        };
        Ok(self.push(value, Op::Linear { x, w: weight, b: bias }, &[x, weight, bias]))
    }

    /// The sum of every entry, as `1 × 1`.
    pub fn sum(&mut self, a: Var) -> Result<Var> {
        let value = self.backend.sum(self.value(a)?)?;
        Ok(self.push(value, Op::Sum(a), &[a]))
    }

    /// The mean of every entry, as `1 × 1` (PyTorch: `a.mean()`).
    pub fn mean(&mut self, a: Var) -> Result<Var> {
        let (rows, cols) = self.shape(a)?;
        let s = self.sum(a)?;
        self.scale(s, 1.0 / (rows * cols).max(1) as f64)
    }

    /// `mean((a − b)²)` (PyTorch: `torch.nn.functional.mse_loss`).
    pub fn mse(&mut self, a: Var, b: Var) -> Result<Var> {
        let diff = self.sub(a, b)?;
        let sq = self.square(diff)?;
        self.mean(sq)
    }

    /// `s · a` where `s` is a `1 × 1` variable (a scalar computed in the graph).
    pub fn scale_by(&mut self, a: Var, s: Var) -> Result<Var> {
        let ss = self.shape(s)?;
        if ss != (1, 1) {
            return Err(Error::Shape { op: "scale_by", left: self.shape(a)?, right: ss });
        }
        let value = self.backend.scale_by(self.value(a)?, self.value(s)?)?;
        Ok(self.push(value, Op::ScaleBy { a, s }, &[a, s]))
    }

    /// Elementwise `√a` (PyTorch: `torch.sqrt`).
    pub fn sqrt(&mut self, a: Var) -> Result<Var> {
        let value = self.backend.sqrt(self.value(a)?)?;
        Ok(self.push(value, Op::Sqrt(a), &[a]))
    }

    /// Elementwise `1 / a` (PyTorch: `torch.reciprocal`).
    pub fn recip(&mut self, a: Var) -> Result<Var> {
        let value = self.backend.recip(self.value(a)?)?;
        Ok(self.push(value, Op::Recip(a), &[a]))
    }

    /// Columns `start .. start + len` of `a` (PyTorch: `a[:, start:start+len]`).
    pub fn slice_cols(&mut self, a: Var, start: usize, len: usize) -> Result<Var> {
        let sa = self.shape(a)?;
        if start + len > sa.1 || len == 0 {
            return Err(Error::Shape { op: "slice_cols", left: sa, right: (start, len) });
        }
        let value = self.backend.slice_cols(self.value(a)?, start, len)?;
        Ok(self.push(value, Op::SliceCols { a, start }, &[a]))
    }

    /// The variables side by side (PyTorch: `torch.cat(parts, dim=1)`).
    pub fn concat_cols(&mut self, parts: &[Var]) -> Result<Var> {
        let first =
            self.shape(*parts.first().ok_or(Error::Shape { op: "concat_cols", left: (0, 0), right: (0, 0) })?)?;
        for &p in parts {
            let sp = self.shape(p)?;
            if sp.0 != first.0 {
                return Err(Error::Shape { op: "concat_cols", left: first, right: sp });
            }
        }
        let values = parts.iter().map(|&p| self.value(p)).collect::<Result<Vec<_>>>()?;
        let value = self.backend.concat_cols(&values)?;
        Ok(self.push(value, Op::ConcatCols(parts.to_vec()), parts))
    }

    /// The symmetric tridiagonal matrix with diagonal `alpha` (`1 × m`) and off-diagonals
    /// `beta` (`1 × (m − 1)`).
    pub fn tridiagonal(&mut self, alpha: Var, beta: Var) -> Result<Var> {
        let (sa, sb) = (self.shape(alpha)?, self.shape(beta)?);
        if sa.0 != 1 || sa.1 == 0 || sb != (1, sa.1 - 1) {
            return Err(Error::Shape { op: "tridiagonal", left: sa, right: sb });
        }
        let value = self.backend.tridiagonal(self.value(alpha)?, self.value(beta)?)?;
        Ok(self.push(value, Op::Tridiagonal { alpha, beta }, &[alpha, beta]))
    }

    /// Rows `start .. start + len` of `a` (PyTorch: `a[start:start+len]`).
    pub fn slice_rows(&mut self, a: Var, start: usize, len: usize) -> Result<Var> {
        let sa = self.shape(a)?;
        if start + len > sa.0 || len == 0 {
            return Err(Error::Shape { op: "slice_rows", left: sa, right: (start, len) });
        }
        let value = self.backend.slice_rows(self.value(a)?, start, len)?;
        Ok(self.push(value, Op::SliceRows { a, start }, &[a]))
    }

    /// The variables stacked vertically (PyTorch: `torch.cat(parts, dim=0)`).
    pub fn concat_rows(&mut self, parts: &[Var]) -> Result<Var> {
        let first =
            self.shape(*parts.first().ok_or(Error::Shape { op: "concat_rows", left: (0, 0), right: (0, 0) })?)?;
        for &p in parts {
            let sp = self.shape(p)?;
            if sp.1 != first.1 {
                return Err(Error::Shape { op: "concat_rows", left: first, right: sp });
            }
        }
        let values = parts.iter().map(|&p| self.value(p)).collect::<Result<Vec<_>>>()?;
        let value = self.backend.concat_rows(&values)?;
        Ok(self.push(value, Op::ConcatRows(parts.to_vec()), parts))
    }

    /// Eigendecomposition of the symmetric matrix `a` (PyTorch: `torch.linalg.eigh`):
    /// `(values, vectors)` with the eigenvalues ascending as a `1 × n` row and the
    /// eigenvectors as the columns of an `n × n` matrix, each with its largest-magnitude
    /// component positive. Gradients follow spec §5.1 exactly
    /// ([`hagcn_linalg::symmetric_eigen_backward`]): only pairs whose eigenvalues are equal to
    /// rounding level ([`hagcn_linalg::eigen_gap_tolerance`]) contribute no rotation term.
    pub fn symmetric_eigen(&mut self, a: Var) -> Result<(Var, Var)> {
        let (rows, cols) = self.shape(a)?;
        if rows != cols || rows == 0 {
            return Err(Error::Shape { op: "symmetric_eigen", left: (rows, cols), right: (rows, rows) });
        }
        let value = self.backend.symmetric_eigen(self.value(a)?)?;
        let packed = self.push(value, Op::SymmetricEigen(a), &[a]);
        let values = self.slice_rows(packed, rows, 1)?;
        let vectors = self.slice_rows(packed, 0, rows)?;
        Ok((values, vectors))
    }

    /// The `k` smallest eigenpairs of the batch graph built from the rows of `z` (`n × h`):
    /// `Â = D^-1/2 A D^-1/2` with `A = scale · Z Zᵀ + shift` (HAGCN: `scale = 1/n`,
    /// `shift = 1`). Returns `(values, vectors)`: a `1 × k` row, ascending, and `n × k`
    /// eigenvectors with the sign convention of [`hagcn_linalg::symmetric_eigen`].
    ///
    /// Computed on the host in `f64` whatever the element type, with a subset eigensolver and
    /// the exact gradient of spec §5.1 through `Â`, `A` and `Z` (see
    /// [`hagcn_linalg::smallest_eigen()`]); the `f32` rounding of `A ≈ 1` would otherwise turn the
    /// eigenvectors of the tightly clustered small eigenvalues noticeably.
    pub fn gram_graph_smallest_eigen(&mut self, z: Var, scale: f64, shift: f64, k: usize) -> Result<(Var, Var)> {
        let (n, _) = self.shape(z)?;
        if k == 0 || k > n {
            return Err(Error::Linalg(hagcn_linalg::Error::InvalidK { k, n }));
        }
        let host = self.backend.download(self.value(z)?)?;
        let (packed, state) = crate::gram_eigen::forward(&host, scale, shift, k)?;
        let value = self.backend.upload(packed.view())?;
        let packed = self.push(value, Op::GramGraphEigen { z, state }, &[z]);
        let values = self.slice_rows(packed, n, 1)?;
        let vectors = self.slice_rows(packed, 0, n)?;
        Ok((values, vectors))
    }

    /// For the output `values` or `vectors` of [`Graph::gram_graph_smallest_eigen`]: how many
    /// eigenvalue pairs its backward pass skips as numerically degenerate (gap at rounding
    /// level). `None` for any other variable.
    pub fn degenerate_eigen_pairs(&self, v: Var) -> Option<usize> {
        let node = self.nodes.get(v.0)?;
        let source = match node.op {
            Op::SliceRows { a, .. } => a,
            _ => v,
        };
        match &self.nodes.get(source.0)?.op {
            Op::GramGraphEigen { state, .. } => Some(state.degenerate_pairs()),
            _ => None,
        }
    }

    /// The B-spline basis (Cox–de Boor, `n_basis` functions of `degree`) at the points of the
    /// row `x` (`1 × m`), as an `m × n_basis` matrix (see [`hagcn_linalg::bspline_basis`]).
    pub fn bspline_basis(&mut self, x: Var, n_basis: usize, degree: usize) -> Result<Var> {
        let sx = self.shape(x)?;
        if sx.0 != 1 {
            return Err(Error::Shape { op: "bspline_basis", left: sx, right: (1, sx.1) });
        }
        let value = self.backend.bspline_basis(self.value(x)?, n_basis, degree)?;
        Ok(self.push(value, Op::BsplineBasis { x, n_basis, degree }, &[x]))
    }

    /// GELU, exact erf form (PyTorch: `torch.nn.GELU()` with `approximate='none'`).
    pub fn gelu(&mut self, x: Var) -> Result<Var> {
        let value = self.backend.gelu(self.value(x)?)?;
        Ok(self.push(value, Op::Gelu(x), &[x]))
    }

    /// Logistic sigmoid (PyTorch: `torch.sigmoid`).
    pub fn sigmoid(&mut self, x: Var) -> Result<Var> {
        let value = self.backend.sigmoid(self.value(x)?)?;
        Ok(self.push(value, Op::Sigmoid(x), &[x]))
    }

    /// Layer norm over each row with affine `weight`, `bias` (`1 × cols` each)
    /// (PyTorch: `torch.nn.LayerNorm(cols, eps)`).
    pub fn layer_norm(&mut self, x: Var, weight: Var, bias: Var, eps: f64) -> Result<Var> {
        let sx = self.shape(x)?;
        for p in [weight, bias] {
            let sp = self.shape(p)?;
            if sp != (1, sx.1) {
                return Err(Error::Shape { op: "layer_norm", left: sx, right: sp });
            }
        }
        let saved = self.backend.layer_norm(
            self.value(x)?,
            self.value(weight)?,
            self.value(bias)?,
            hagcn_linalg::Real::of(eps),
        )?;
        let value = saved.y.clone();
        Ok(self.push(value, Op::LayerNorm { x, weight, bias, saved }, &[x, weight, bias]))
    }

    /// The normalised adjacency `Â = D^-1/2 A D^-1/2` of a square `A` with positive row sums
    /// (see [`hagcn_linalg::normalized_adjacency`]).
    pub fn normalized_adjacency(&mut self, a: Var) -> Result<Var> {
        let (rows, cols) = self.shape(a)?;
        if rows != cols {
            return Err(Error::Shape { op: "normalized_adjacency", left: (rows, cols), right: (rows, rows) });
        }
        let (value, d) = self.backend.normalized_adjacency(self.value(a)?)?;
        Ok(self.push(value, Op::NormalizedAdjacency { a, d }, &[a]))
    }
}
