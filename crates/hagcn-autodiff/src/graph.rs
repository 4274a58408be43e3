//! The tape: a graph of recorded ops, built forward and differentiated in reverse.
//!
//! Each op appends a node holding its value and an [`Op`] that remembers its inputs and
//! whatever the backward rule needs. [`Graph::backward`] walks the nodes in reverse order
//! of insertion (a valid reverse topological order, since a node's inputs always come
//! before it) and accumulates gradients into a [`crate::Gradients`] store.
//!
//! This file holds the arena and the leaves. Each op's recording method (an inherent
//! `impl<B: Backend> Graph<B>` block), its backward rule and its host math live together in
//! `ops/<op>/`; `backward.rs` dispatches to the rules in one exhaustive `match` over [`Op`].

use std::sync::Arc;

use crate::backend::Backend;
use crate::ops::eigen::gram_graph::GramEigenState;
use crate::ops::layer_norm::host::LayerNormOutput;
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

/// A recorded operation: its inputs and the values its backward rule needs. Each variant
/// names the module under `ops/` that records it and holds its backward rule.
#[derive(Clone)]
pub(crate) enum Op<T> {
    /// A leaf: a constant or a parameter.
    Leaf,
    /// `op(a) · op(b)` (`ops::matmul`).
    MatMul { a: Var, transpose_a: bool, b: Var, transpose_b: bool },
    /// `scale · a aᵀ` (`ops::matmul`).
    Gram { a: Var, scale: f64 },
    /// `x wᵀ + b`, a fully connected layer (`ops::linear`).
    Linear { x: Var, w: Var, b: Var },
    /// `a + b` (`ops::elementwise`).
    Add(Var, Var),
    /// `a − b` (`ops::elementwise`).
    Sub(Var, Var),
    /// `a ⊙ b` (`ops::elementwise`).
    Mul(Var, Var),
    /// `scale · a + shift` (`ops::elementwise`).
    Affine { a: Var, scale: f64 },
    /// Row vector `row` broadcast over the rows of `a` (`ops::elementwise`).
    AddRow { a: Var, row: Var },
    /// The sum of every entry (`ops::elementwise`).
    Sum(Var),
    /// `s · a` for a `1 × 1` variable `s` (`ops::elementwise`).
    ScaleBy { a: Var, s: Var },
    /// `√a`; saves nothing beyond the node's own value (`ops::elementwise`).
    Sqrt(Var),
    /// `1 / a`; saves nothing beyond the node's own value (`ops::elementwise`).
    Recip(Var),
    /// Columns `start ..` of `a` (`ops::slicing`).
    SliceCols { a: Var, start: usize },
    /// Side by side (`ops::slicing`).
    ConcatCols(Vec<Var>),
    /// Rows `start ..` of `a` (`ops::slicing`).
    SliceRows { a: Var, start: usize },
    /// Stacked vertically (`ops::slicing`).
    ConcatRows(Vec<Var>),
    /// The symmetric tridiagonal matrix of `alpha` and `beta` (`ops::tridiagonal`).
    Tridiagonal { alpha: Var, beta: Var },
    /// Packed `(n + 1) × n` eigendecomposition of a symmetric matrix (`ops::eigen`).
    SymmetricEigen(Var),
    /// Packed `(n + 1) × k` smallest eigenpairs of a Gram graph, with the host state
    /// (`ops::eigen`).
    GramGraphEigen { z: Var, state: Arc<GramEigenState> },
    /// The B-spline basis at the points `x` (`ops::bspline`).
    BsplineBasis { x: Var, n_basis: usize, degree: usize },
    /// GELU (`ops::activations`).
    Gelu(Var),
    /// The logistic sigmoid; saves nothing beyond the node's own value `y`
    /// (`ops::activations`).
    Sigmoid(Var),
    /// Layer norm with the forward pass's saved values (`ops::layer_norm`).
    LayerNorm { x: Var, weight: Var, bias: Var, saved: LayerNormOutput<T> },
    /// `Â = D^-1/2 A D^-1/2` with the saved `d` (`ops::adjacency`).
    NormalizedAdjacency { a: Var, d: T },
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
///
/// The methods that record ops are defined next to each op's backward rule and host math,
/// in the modules under `src/ops/`; rustdoc lists them all here.
pub struct Graph<B: Backend> {
    pub(crate) backend: B,
    pub(crate) nodes: Vec<Node<B::Tensor>>,
    pub(crate) arithmetic: Arithmetic,
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

    /// Appends a node computed from `inputs`; it needs a gradient when any input does.
    pub(crate) fn push(&mut self, value: B::Tensor, op: Op<B::Tensor>, inputs: &[Var]) -> Var {
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

    /// `Error::Shape` for `op` unless `a` and `b` have the same shape.
    pub(crate) fn same_shape(&self, op: &'static str, a: Var, b: Var) -> Result<()> {
        let (sa, sb) = (self.shape(a)?, self.shape(b)?);
        if sa != sb {
            return Err(Error::Shape { op, left: sa, right: sb });
        }
        Ok(())
    }
}
