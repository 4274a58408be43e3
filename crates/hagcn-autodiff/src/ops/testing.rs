//! Helpers of the per-op tests: run a small graph on the `f64` CPU backend and read its
//! value and gradients.

use ndarray::Array2;

use crate::{Backend, CpuBackend, Graph, Var};

/// The `f64` CPU backend every op test runs on.
pub(crate) fn be() -> CpuBackend<f64> {
    CpuBackend::new()
}

/// Runs `f` on params made from `inputs`, differentiates `sum(f(..))`, returns
/// (value, gradients).
pub(crate) fn grads_of(
    inputs: &[Array2<f64>],
    f: impl Fn(&mut Graph<CpuBackend<f64>>, &[Var]) -> crate::Result<Var>,
) -> (Array2<f64>, Vec<Array2<f64>>) {
    let be = be();
    let mut g = Graph::new(be.clone());
    let vars: Vec<Var> = inputs.iter().map(|x| g.param(be.upload(x.view()).unwrap())).collect();
    let out = f(&mut g, &vars).unwrap();
    let value = be.download(g.value(out).unwrap()).unwrap();
    let s = g.sum(out).unwrap();
    let grads = g.backward(s).unwrap();
    let gs = vars.iter().map(|&v| be.download(grads.get(v).unwrap()).unwrap()).collect();
    (value, gs)
}

/// Same shape and every entry within `tol`.
pub(crate) fn close(a: &Array2<f64>, b: &Array2<f64>, tol: f64) -> bool {
    a.dim() == b.dim() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}
