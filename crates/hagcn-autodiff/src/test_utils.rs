//! Finite-difference gradient checks, for this crate's ops and for ops defined elsewhere.
//!
//! [`gradcheck`] compares the gradients [`Graph::backward`] computes on the `f64` CPU
//! backend with central differences `(f(x + ε) − f(x − ε)) / 2ε`, one input entry at a
//! time. An output that is not a scalar is reduced to `Σ out ⊙ W` with a fixed,
//! seeded random `W`, which checks every entry of the Jacobian through a random
//! vector-Jacobian product.

use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{Backend, CpuBackend, Graph, Result, Var};

/// The `f64` CPU graph gradient checks run on.
pub type CheckGraph = Graph<CpuBackend<f64>>;

/// Tolerances of a gradient check: an entry passes when
/// `|analytic − numeric| ≤ atol + rtol · |numeric|`.
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    /// Finite-difference step.
    pub eps: f64,
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance { eps: 1e-6, rtol: 1e-5, atol: 1e-7 }
    }
}

/// The worst entry a gradient check found.
#[derive(Clone, Debug)]
pub struct Report {
    /// Entries compared.
    pub n_checked: usize,
    /// Which input, row and column had the largest `|analytic − numeric| − rtol·|numeric|`.
    pub worst: (usize, usize, usize),
    /// The analytic gradient there.
    pub analytic: f64,
    /// The numeric gradient there.
    pub numeric: f64,
    /// Whether every entry was within tolerance.
    pub passed: bool,
}

/// Checks the gradients of `f` with respect to every input at `inputs`.
///
/// `f` receives a fresh graph and one [`Graph::param`] per input, and returns the output
/// variable. Errors from `f` or from the backward pass are returned as they are.
pub fn gradcheck<F>(f: F, inputs: &[Array2<f64>], tol: Tolerance) -> Result<Report>
where
    F: Fn(&mut CheckGraph, &[Var]) -> Result<Var>,
{
    let be = CpuBackend::<f64>::new();
    let mut weights: Option<Array2<f64>> = None;
    let mut eval = |xs: &[Array2<f64>], with_grads: bool| -> Result<(f64, Vec<Array2<f64>>)> {
        let mut g = Graph::new(be.clone());
        let vars = xs.iter().map(|x| Ok(g.param(be.upload(x.view())?))).collect::<Result<Vec<_>>>()?;
        let out = f(&mut g, &vars)?;
        let (rows, cols) = g.shape(out)?;
        let scalar = if (rows, cols) == (1, 1) {
            out
        } else {
            let w = weights.get_or_insert_with(|| {
                let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
                Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0..1.0))
            });
            let w = g.constant(be.upload(w.view())?);
            let weighted = g.mul(out, w)?;
            g.sum(weighted)?
        };
        let value = g.scalar(scalar)?;
        let grads = if with_grads {
            let grads = g.backward(scalar)?;
            vars.iter()
                .map(|&v| match grads.get(v) {
                    Some(t) => be.download(t),
                    None => Ok(Array2::zeros(g.shape(v)?)),
                })
                .collect::<Result<_>>()?
        } else {
            Vec::new()
        };
        Ok((value, grads))
    };

    let (_, analytic) = eval(inputs, true)?;
    let mut xs = inputs.to_vec();
    let mut report = Report { n_checked: 0, worst: (0, 0, 0), analytic: 0.0, numeric: 0.0, passed: true };
    let mut worst_excess = f64::NEG_INFINITY;
    for input_idx in 0..xs.len() {
        for ((row, col), &x0) in inputs[input_idx].indexed_iter() {
            xs[input_idx][[row, col]] = x0 + tol.eps;
            let (plus, _) = eval(&xs, false)?;
            xs[input_idx][[row, col]] = x0 - tol.eps;
            let (minus, _) = eval(&xs, false)?;
            xs[input_idx][[row, col]] = x0;
            let numeric = (plus - minus) / (2.0 * tol.eps);
            let a = analytic[input_idx][[row, col]];
            let excess = (a - numeric).abs() - tol.rtol * numeric.abs();
            if excess > tol.atol || !a.is_finite() {
                report.passed = false;
            }
            if excess > worst_excess || !a.is_finite() {
                worst_excess = excess;
                report.worst = (input_idx, row, col);
                report.analytic = a;
                report.numeric = numeric;
            }
            report.n_checked += 1;
        }
    }
    Ok(report)
}

/// [`gradcheck`] that panics with the worst entry when the check fails.
pub fn assert_gradcheck<F>(f: F, inputs: &[Array2<f64>], tol: Tolerance)
where
    F: Fn(&mut CheckGraph, &[Var]) -> Result<Var>,
{
    let report = gradcheck(f, inputs, tol).expect("gradcheck: the function failed");
    assert!(
        report.passed,
        "gradcheck failed at input {} entry ({}, {}): analytic {} vs numeric {} ({} entries checked)",
        report.worst.0, report.worst.1, report.worst.2, report.analytic, report.numeric, report.n_checked
    );
}

/// A seeded `rows × cols` matrix with entries uniform in `[lo, hi)`.
pub fn random_matrix(rows: usize, cols: usize, lo: f64, hi: f64, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(lo..hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradcheck_catches_a_wrong_rule() {
        // The output is 3x, but it is recorded as 0·x plus a constant computed from x, so the
        // recorded backward rule gives 0 where finite differences give 3: the check must fail.
        let report = gradcheck(
            |g, v| {
                let three_x = g.backend().affine(g.value(v[0])?, 3.0, 0.0)?;
                let c = g.constant(three_x);
                let zero = g.scale(v[0], 0.0)?;
                g.add(zero, c)
            },
            &[random_matrix(2, 2, -1.0, 1.0, 17)],
            Tolerance::default(),
        )
        .unwrap();
        assert!(!report.passed);
        assert_eq!(report.analytic, 0.0);
        assert!(report.numeric.abs() > 1e-3, "{report:?}");
    }
}
