//! Slicing and concatenation: [`Graph::slice_cols`], [`Graph::concat_cols`],
//! [`Graph::slice_rows`], [`Graph::concat_rows`].
//!
//! ```text
//! y = a[:, start..start+len]     ∂a = G placed at columns start.., zero elsewhere
//! y = [p₁ p₂ …]  (side by side)  ∂pᵢ = the columns of G that pᵢ filled
//! y = a[start..start+len, :]     ∂a = G placed at rows start.., zero elsewhere
//! y = [p₁; p₂; …] (stacked)      ∂pᵢ = the rows of G that pᵢ filled
//! ```
//!
//! PyTorch: `a[:, s:s+n]`, `torch.cat(parts, dim=1)`, `a[s:s+n]`, `torch.cat(parts, dim=0)`.
//!
//! Kernels (required by [`Backend`]): `slice_cols`, `embed_cols` (the gradient of a column
//! slice), `concat_cols`, `slice_rows`, `concat_rows`; a row slice's gradient is a
//! concatenation with zero blocks from `full`. Host: `host.rs`.
//!
//! CUDA: every slice and concatenation is one or a few strided block copies (`copy_block`) of
//! `crates/hagcn-cuda/kernels/elementwise.cu`, launched from `crates/hagcn-cuda/src/ops/elementwise.rs`.

pub(crate) mod host;

use num_traits::Zero;

use crate::backend::Backend;
use crate::gradients::Accumulator;
use crate::graph::{Graph, Op, Var};
use crate::{Error, Result};

impl<B: Backend> Graph<B> {
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
}

/// Backward of [`Graph::slice_cols`]: `G` placed at columns `start..`, zero elsewhere.
pub(crate) fn backward_slice_cols<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    a: Var,
    start: usize,
    g: &B::Tensor,
) -> Result<()> {
    let total = grads.graph().shape(a)?.1;
    let ga = grads.backend().embed_cols(g, total, start)?;
    grads.add(a, ga)
}

/// Backward of [`Graph::concat_cols`]: each part gets its columns of `G`.
pub(crate) fn backward_concat_cols<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    parts: &[Var],
    g: &B::Tensor,
) -> Result<()> {
    let graph = grads.graph();
    let mut offset = 0;
    for &p in parts {
        let width = graph.shape(p)?.1;
        if grads.needs(p) {
            grads.add(p, graph.backend().slice_cols(g, offset, width)?)?;
        }
        offset += width;
    }
    Ok(())
}

/// Backward of [`Graph::slice_rows`]: `G` placed at rows `start..`, zero elsewhere.
pub(crate) fn backward_slice_rows<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    a: Var,
    start: usize,
    g: &B::Tensor,
) -> Result<()> {
    let graph = grads.graph();
    let be = graph.backend();
    let (rows, cols) = graph.shape(a)?;
    let (g_rows, _) = be.shape(g);
    let mut parts = Vec::new();
    if start > 0 {
        parts.push(be.full(start, cols, B::Elem::zero())?);
    }
    parts.push(g.clone());
    if start + g_rows < rows {
        parts.push(be.full(rows - start - g_rows, cols, B::Elem::zero())?);
    }
    let refs: Vec<&B::Tensor> = parts.iter().collect();
    grads.add(a, be.concat_rows(&refs)?)
}

/// Backward of [`Graph::concat_rows`]: each part gets its rows of `G`.
pub(crate) fn backward_concat_rows<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    parts: &[Var],
    g: &B::Tensor,
) -> Result<()> {
    let graph = grads.graph();
    let mut offset = 0;
    for &p in parts {
        let height = graph.shape(p)?.0;
        if grads.needs(p) {
            grads.add(p, graph.backend().slice_rows(g, offset, height)?)?;
        }
        offset += height;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, array};

    use crate::ops::testing::{be, grads_of};
    use crate::test_utils::{Tolerance, assert_gradcheck, random_matrix};
    use crate::{Backend, Error, Graph};

    #[test]
    fn slice_and_concat_literal_and_gradcheck() {
        // L = Σ a[:, 1..3]:  ∂a = [0, 1, 1, 0] per row
        let (y, g) = grads_of(&[array![[1.0, 2.0, 3.0, 4.0]]], |g, v| g.slice_cols(v[0], 1, 2));
        assert_eq!(y, array![[2.0, 3.0]]);
        assert_eq!(g[0], array![[0.0, 1.0, 1.0, 0.0]]);
        let (y, _) =
            grads_of(&[array![[1.0], [2.0]], array![[3.0, 4.0], [5.0, 6.0]]], |g, v| g.concat_cols(&[v[0], v[1]]));
        assert_eq!(y, array![[1.0, 3.0, 4.0], [2.0, 5.0, 6.0]]);
        let (a, b) = (random_matrix(3, 4, -1.0, 1.0, 23), random_matrix(3, 2, -1.0, 1.0, 24));
        assert_gradcheck(|g, v| g.slice_cols(v[0], 1, 3), std::slice::from_ref(&a), Tolerance::default());
        assert_gradcheck(|g, v| g.concat_cols(&[v[1], v[0], v[1]]), &[a, b], Tolerance::default());
        let be = be();
        let mut g = Graph::new(be.clone());
        let a = g.constant(be.upload(Array2::zeros((2, 3)).view()).unwrap());
        let b = g.constant(be.upload(Array2::zeros((3, 3)).view()).unwrap());
        assert!(matches!(g.slice_cols(a, 2, 2), Err(Error::Shape { op: "slice_cols", .. })));
        assert!(matches!(g.concat_cols(&[a, b]), Err(Error::Shape { op: "concat_cols", .. })));
    }

    #[test]
    fn slice_and_concat_rows() {
        // L = Σ a[1..2, :]:  ∂a = [[0, 0], [1, 1], [0, 0]]
        let (y, g) = grads_of(&[array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]], |g, v| g.slice_rows(v[0], 1, 1));
        assert_eq!(y, array![[3.0, 4.0]]);
        assert_eq!(g[0], array![[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]);
        let (a, b) = (random_matrix(2, 3, -1.0, 1.0, 30), random_matrix(1, 3, -1.0, 1.0, 31));
        assert_gradcheck(|g, v| g.slice_rows(v[0], 1, 1), std::slice::from_ref(&a), Tolerance::default());
        assert_gradcheck(|g, v| g.concat_rows(&[v[1], v[0], v[1]]), &[a, b], Tolerance::default());
    }
}
