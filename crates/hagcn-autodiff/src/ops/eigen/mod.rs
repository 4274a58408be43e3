//! Eigendecompositions: the full symmetric one, [`Graph::symmetric_eigen`], and the fused
//! `k` smallest eigenpairs of a batch graph, [`Graph::gram_graph_smallest_eigen`].
//!
//! Both record one node holding the packed result (rows `0..n` the eigenvectors as columns,
//! row `n` the eigenvalues, ascending; each eigenvector's largest-magnitude component
//! positive), then two row slices of it. The backward pass is spec §5.1, exactly:
//!
//! ```text
//! A = U Λ Uᵀ:  ∂A = U (M_s ⊘ E + diag(gλ)) Uᵀ,  M = Uᵀ gU,  M_s = (M − Mᵀ)/2,  E_ij = λ_j − λ_i
//! ```
//!
//! where only pairs whose gap is at rounding level ([`hagcn_linalg::eigen_gap_tolerance`])
//! contribute no rotation term (real batch graphs have gaps near `1e-7`).
//!
//! * [`Graph::symmetric_eigen`] (PyTorch: `torch.linalg.eigh`): kernels
//!   [`Backend::symmetric_eigen`] and [`Backend::symmetric_eigen_backward`], fused ops whose
//!   defaults run the host math (`host.rs`: LAPACK `dsyevd` in `f64` through
//!   [`hagcn_linalg::symmetric_eigen`], and [`hagcn_linalg::symmetric_eigen_backward`]) between
//!   a download and an upload.
//! * [`Graph::gram_graph_smallest_eigen`]: `A = scale · Z Zᵀ + shift`, `Â = D^-1/2 A D^-1/2`
//!   and the `k` smallest eigenpairs of `Â`, all in `f64` on the host from one download of
//!   `Z` (`gram_graph.rs`, which says why), with the gradient back to `Z`. It is not a
//!   [`Backend`] method: every backend runs it on the host.
//!
//! CUDA: `crates/hagcn-cuda/kernels/eigen.cu` (the symmetrisation and packing around cuSOLVER
//! `dsyevd`) and `crates/hagcn-cuda/src/ops/eigen.rs`.

pub(crate) mod gram_graph;
pub(crate) mod host;

use std::sync::Arc;

use crate::backend::Backend;
use crate::gradients::Accumulator;
use crate::graph::{Graph, Op, Var};
use crate::{Error, Result};
use gram_graph::GramEigenState;

impl<B: Backend> Graph<B> {
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
        let (packed, state) = gram_graph::forward(&host, scale, shift, k)?;
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
}

/// Backward of [`Graph::symmetric_eigen`] given its packed output: spec §5.1 through
/// [`Backend::symmetric_eigen_backward`].
pub(crate) fn backward_symmetric_eigen<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    a: Var,
    packed: &B::Tensor,
    g: &B::Tensor,
) -> Result<()> {
    let ga = grads.backend().symmetric_eigen_backward(packed, g)?;
    grads.add(a, ga)
}

/// Backward of [`Graph::gram_graph_smallest_eigen`], on the host in `f64`: `∂Â` by spec §5.1
/// through the resolvent, then `∂A`, then `∂Z = scale (∂A + ∂Aᵀ) Z`.
pub(crate) fn backward_gram_graph_eigen<B: Backend>(
    grads: &mut Accumulator<'_, B>,
    z: Var,
    state: &Arc<GramEigenState>,
    g: &B::Tensor,
) -> Result<()> {
    let be = grads.backend();
    let host = be.download(g)?;
    let g_z = gram_graph::backward(state, &host)?;
    grads.add(z, be.upload(g_z.view())?)
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, array};

    use crate::ops::testing::{be, close, grads_of};
    use crate::test_utils::{Tolerance, assert_gradcheck, random_matrix};
    use crate::{Backend, CpuBackend, Error, Graph, Var};

    /// A symmetric matrix with well-separated eigenvalues 1, 2, …, n in a random basis.
    fn separated_symmetric(n: usize, seed: u64) -> Array2<f64> {
        let q = random_matrix(n, n, -1.0, 1.0, seed);
        let eig = hagcn_linalg::symmetric_eigen((&q + &q.t()).view()).unwrap();
        let basis = eig.vectors;
        let d = Array2::from_diag(&ndarray::Array1::from_iter((1..=n).map(|i| i as f64)));
        basis.dot(&d).dot(&basis.t())
    }

    #[test]
    fn symmetric_eigen_literal() {
        // diag(3, 1): eigenvalues ascending [1, 3], eigenvectors e2, e1 (largest component +).
        let (vals, _) = grads_of(&[array![[3.0, 0.0], [0.0, 1.0]]], |g, v| Ok(g.symmetric_eigen(v[0])?.0));
        assert_eq!(vals, array![[1.0, 3.0]]);
        // L = Σ λ = trace(A):  ∂A = I
        let (_, g) = grads_of(&[separated_symmetric(4, 40)], |g, v| Ok(g.symmetric_eigen(v[0])?.0));
        assert!(close(&g[0], &Array2::eye(4), 1e-10), "{}", g[0]);
    }

    #[test]
    fn symmetric_eigen_gradcheck() {
        // Perturb only through a symmetric parametrisation A = (P + Pᵀ)/2, as the model does.
        let p = separated_symmetric(5, 41);
        for (name, pick_vectors) in [("values", false), ("vectors", true)] {
            let report = crate::test_utils::gradcheck(
                |g, v| {
                    let pt = g.matmul(v[0], true, v[1], false)?; // Pᵀ I
                    let sum = g.add(v[0], pt)?;
                    let a = g.scale(sum, 0.5)?;
                    let (vals, vecs) = g.symmetric_eigen(a)?;
                    Ok(if pick_vectors { vecs } else { vals })
                },
                &[p.clone(), Array2::eye(5)],
                Tolerance { eps: 1e-6, rtol: 1e-5, atol: 1e-7 },
            )
            .unwrap();
            assert!(report.passed, "{name}: {report:?}");
        }
    }

    #[test]
    fn symmetric_eigen_gradient_stays_finite_on_repeated_eigenvalues() {
        // A = I has one eigenvalue of multiplicity 3: the eigenvector term is masked.
        let (_, g) = grads_of(&[Array2::eye(3)], |g, v| Ok(g.symmetric_eigen(v[0])?.1));
        assert!(g[0].iter().all(|x| x.is_finite()));
    }

    /// Features shaped like a real hidden layer (non-negative, a large common part, small
    /// differences between rows), so that the batch graph `Â` of `Z Zᵀ/n + 1` has what real
    /// batches have: one eigenvalue 1 and tiny, tightly clustered smallest eigenvalues.
    fn real_shaped_features(n: usize, h: usize, spread: f64, seed: u64) -> Array2<f64> {
        random_matrix(n, h, 0.0, 1.0, seed).mapv(|x| 0.5 + spread * x)
    }

    /// `Â` of `Z Zᵀ/n + 1`, recorded op by op.
    fn batch_graph(g: &mut Graph<CpuBackend<f64>>, z: Var) -> crate::Result<Var> {
        let n = g.shape(z)?.0;
        let zz = g.matmul(z, false, z, true)?;
        let s = g.scale(zz, 1.0 / n as f64)?;
        let a = g.add_scalar(s, 1.0)?;
        g.normalized_adjacency(a)
    }

    fn smallest_spectrum(z: &Array2<f64>) -> ndarray::Array1<f64> {
        let n = z.nrows() as f64;
        let a = z.dot(&z.t()) / n + 1.0;
        let (a_hat, _) = hagcn_linalg::normalized_adjacency(a.view()).unwrap();
        hagcn_linalg::symmetric_eigen(a_hat.view()).unwrap().values
    }

    #[test]
    fn symmetric_eigen_gradcheck_on_a_real_shaped_batch_graph() {
        // Gaps far below the old absolute cut-off of 1e-6: every pair must contribute.
        let z = real_shaped_features(10, 30, 0.02, 50);
        let lambda = smallest_spectrum(&z);
        let gaps: Vec<f64> = lambda.iter().zip(lambda.iter().skip(1)).map(|(a, b)| b - a).take(5).collect();
        assert!(lambda[5] < 1e-5 && gaps.iter().cloned().fold(1.0, f64::min) < 1e-6, "{lambda} {gaps:?}");
        for pick_vectors in [false, true] {
            assert_gradcheck(
                |g, v| {
                    let a_hat = batch_graph(g, v[0])?;
                    let (vals, vecs) = g.symmetric_eigen(a_hat)?;
                    let out = if pick_vectors { vecs } else { vals };
                    if pick_vectors { g.slice_cols(out, 0, 5) } else { Ok(out) }
                },
                std::slice::from_ref(&z),
                // central differences lose ε/gap to rounding: a step far above that, far below the gaps
                Tolerance { eps: 1e-5, rtol: 1e-4, atol: 1e-6 },
            );
        }
    }

    #[test]
    fn gram_graph_smallest_eigen_matches_the_composite_ops() {
        let be = be();
        let z0 = real_shaped_features(12, 20, 0.05, 51);
        let w_vec = random_matrix(12, 4, -1.0, 1.0, 52);
        let w_val = random_matrix(1, 4, -1.0, 1.0, 53);
        let run = |fused: bool| {
            let mut g = Graph::new(be.clone());
            let z = g.param(be.upload(z0.view()).unwrap());
            let (vals, vecs) = if fused {
                g.gram_graph_smallest_eigen(z, 1.0 / 12.0, 1.0, 4).unwrap()
            } else {
                let a_hat = batch_graph(&mut g, z).unwrap();
                let (vals, vecs) = g.symmetric_eigen(a_hat).unwrap();
                (g.slice_cols(vals, 0, 4).unwrap(), g.slice_cols(vecs, 0, 4).unwrap())
            };
            let wv = g.constant(be.upload(w_vec.view()).unwrap());
            let wl = g.constant(be.upload(w_val.view()).unwrap());
            let a = g.mul(vecs, wv).unwrap();
            let b = g.mul(vals, wl).unwrap();
            let (sa, sb) = (g.sum(a).unwrap(), g.sum(b).unwrap());
            let loss = g.add(sa, sb).unwrap();
            let grads = g.backward(loss).unwrap();
            (
                be.download(g.value(vals).unwrap()).unwrap(),
                be.download(g.value(vecs).unwrap()).unwrap(),
                be.download(grads.get(z).unwrap()).unwrap(),
            )
        };
        let (fused, composite) = (run(true), run(false));
        assert!(close(&fused.0, &composite.0, 1e-15), "{} vs {}", fused.0, composite.0);
        assert!(close(&fused.1, &composite.1, 1e-8));
        let scale = composite.2.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(close(&fused.2, &composite.2, 1e-6 * scale), "{}\n{}", fused.2, composite.2);
    }

    #[test]
    fn gram_graph_smallest_eigen_gradcheck() {
        let z = real_shaped_features(10, 30, 0.05, 54);
        for pick_vectors in [false, true] {
            assert_gradcheck(
                |g, v| {
                    let (vals, vecs) = g.gram_graph_smallest_eigen(v[0], 0.1, 1.0, 5)?;
                    Ok(if pick_vectors { vecs } else { vals })
                },
                std::slice::from_ref(&z),
                Tolerance { eps: 1e-5, rtol: 1e-4, atol: 1e-6 },
            );
        }
    }

    #[test]
    fn gram_graph_smallest_eigen_counts_degenerate_pairs() {
        // n > h + 1: a null space of dimension n − h − 1, whose pairs are skipped (and counted);
        // the gradient stays finite.
        let be = be();
        let mut g = Graph::new(be.clone());
        let z = g.param(be.upload(random_matrix(12, 3, 0.0, 1.0, 55).view()).unwrap());
        let (vals, vecs) = g.gram_graph_smallest_eigen(z, 1.0 / 12.0, 1.0, 4).unwrap();
        assert!(g.degenerate_eigen_pairs(vals).unwrap() > 0);
        assert_eq!(g.degenerate_eigen_pairs(vals), g.degenerate_eigen_pairs(vecs));
        assert_eq!(g.degenerate_eigen_pairs(z), None);
        let s = g.sum(vecs).unwrap();
        let grads = g.backward(s).unwrap();
        assert!(be.download(grads.get(z).unwrap()).unwrap().iter().all(|x| x.is_finite()));
        let mut g = Graph::new(be.clone());
        let z = g.param(be.upload(real_shaped_features(10, 30, 0.05, 56).view()).unwrap());
        let (vals, _) = g.gram_graph_smallest_eigen(z, 0.1, 1.0, 5).unwrap();
        assert_eq!(g.degenerate_eigen_pairs(vals), Some(0));
        assert!(matches!(g.gram_graph_smallest_eigen(z, 0.1, 1.0, 11), Err(Error::Linalg(_))));
    }
}
