//! Where gradients go: the public [`Gradients`] a backward pass returns, and the
//! [`Accumulator`] every backward rule adds into while the pass runs.

use crate::Result;
use crate::backend::Backend;
use crate::graph::{Graph, Var};

/// Gradients of a scalar with respect to the variables of a [`Graph`].
pub struct Gradients<T> {
    grads: Vec<Option<T>>,
}

impl<T> Gradients<T> {
    /// The gradient with respect to `v`, or `None` when `v` does not influence the output
    /// or was recorded with [`Graph::constant`].
    pub fn get(&self, v: Var) -> Option<&T> {
        self.grads.get(v.0).and_then(Option::as_ref)
    }

    /// Takes the gradient with respect to `v` out of the store.
    pub fn take(&mut self, v: Var) -> Option<T> {
        self.grads.get_mut(v.0).and_then(Option::take)
    }
}

/// The gradients of one backward pass while it runs: one slot per node of the graph.
///
/// Backward rules read the graph through [`Accumulator::graph`] and add their results with
/// [`Accumulator::add`] and [`Accumulator::add_matmul`], which skip variables that need no
/// gradient and accumulate in place into a gradient that already exists.
pub(crate) struct Accumulator<'g, B: Backend> {
    graph: &'g Graph<B>,
    grads: Vec<Option<B::Tensor>>,
}

impl<'g, B: Backend> Accumulator<'g, B> {
    /// No gradient yet for any of `graph`'s nodes.
    pub(crate) fn new(graph: &'g Graph<B>) -> Self {
        Accumulator { graph, grads: vec![None; graph.nodes.len()] }
    }

    /// The graph being differentiated.
    pub(crate) fn graph(&self) -> &'g Graph<B> {
        self.graph
    }

    /// The backend of the graph.
    pub(crate) fn backend(&self) -> &'g B {
        &self.graph.backend
    }

    /// Whether `v` needs a gradient (a parameter or something computed from one).
    pub(crate) fn needs(&self, v: Var) -> bool {
        self.graph.nodes[v.0].requires_grad
    }

    /// The gradient accumulated so far for node `idx` (a cheap clone of the handle).
    pub(crate) fn get(&self, idx: usize) -> Option<B::Tensor> {
        self.grads[idx].clone()
    }

    /// Sets the gradient of `v` (the seed of the pass).
    pub(crate) fn set(&mut self, v: Var, g: B::Tensor) {
        self.grads[v.0] = Some(g);
    }

    /// Accumulates `g` into the gradient of `v` when `v` needs one.
    pub(crate) fn add(&mut self, v: Var, g: B::Tensor) -> Result<()> {
        if !self.needs(v) {
            return Ok(());
        }
        self.grads[v.0] = Some(match self.grads[v.0].take() {
            Some(mut prev) => {
                self.graph.backend.add_assign(&mut prev, &g)?;
                prev
            }
            None => g,
        });
        Ok(())
    }

    /// Accumulates `op(a) op(b)` into the gradient of `v`: one GEMM with β = 1 when `v`
    /// already has a gradient (a matrix used by many products, such as Â in the filters).
    pub(crate) fn add_matmul(&mut self, v: Var, a: &B::Tensor, ta: bool, b: &B::Tensor, tb: bool) -> Result<()> {
        if !self.needs(v) {
            return Ok(());
        }
        let be = &self.graph.backend;
        self.grads[v.0] = Some(match self.grads[v.0].take() {
            Some(mut prev) => {
                be.matmul_acc(&mut prev, a, ta, b, tb)?;
                prev
            }
            None => be.matmul(a, ta, b, tb)?,
        });
        Ok(())
    }

    /// The finished store.
    pub(crate) fn finish(self) -> Gradients<B::Tensor> {
        Gradients { grads: self.grads }
    }
}
