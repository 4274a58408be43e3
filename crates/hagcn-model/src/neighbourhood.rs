//! The neighbourhood filter: a low-pass graph filter over the whole training set, applied to
//! every input before the network sees it, in training and in encoding alike.
//!
//! The graph is the anchor graph of Liu et al. (2011, [`hagcn_eval::Anchors`]): `m` k-means
//! anchors `u_j` of the (centred) training rows, each point `x` tied to its `s` nearest
//! anchors with normalised Gaussian weights `z(x)` (`1 × m`, `s` non-zeros). With `Z` the
//! training rows' weights (`n × m`) and `Λ = diag(Zᵀ 1)`, the graph `A = Z Λ^{-1} Zᵀ` joins
//! two points through the anchors they share; its rows sum to 1 (a random walk), and a new
//! point's row of it is `z(x) Λ^{-1} Zᵀ`. The filter is `p` steps of that walk:
//!
//! ```text
//! F(x) = c · z(x) U_p,    U_p = M^{p-1} U,    U = Λ^{-1} Zᵀ X̄  (m × d),    M = Λ^{-1} Zᵀ Z  (m × m),
//! ```
//!
//! i.e. `F(X) = c · A^p X̄` for the training rows: each point is replaced by an average over
//! the training points within `p` anchor-hops of it. `c = 1 / √(mean_i ‖F_i‖²)` scales the
//! training rows to unit mean squared norm, so the loss weights mean the same on every
//! dataset. A new point needs only its distances to the `m` anchors: encoding costs `O(m d)`
//! per point whatever the size of the training set, and the checkpoint holds `2 m d + 2`
//! numbers (the anchors, `c U_p`, `σ`, `c`).
//!
//! Everything is rounded to `f32` when fitted, as a checkpoint stores it, so a reloaded model
//! filters identically; the weights and the product `z(x) U_p` are sums in a fixed order, so
//! the filter gives the same bits on every machine and thread count.

use hagcn_eval::{AnchorWeights, Anchors};
use ndarray::{Array2, ArrayView2};

use crate::{Error, Result};

/// A fitted neighbourhood filter (module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct Neighbourhood {
    anchors: Anchors,
    /// `c U_p`, `m × d`.
    features: Array2<f64>,
    /// `c`.
    scale: f64,
}

fn f32_round(v: f64) -> f64 {
    v as f32 as f64
}

impl Neighbourhood {
    /// Fits the filter on the centred training rows `x` (`n × d`): `anchors` k-means anchors
    /// (k-means++ from `seed`, at most 100 Lloyd iterations), `nearest` anchors per point,
    /// `hops` steps.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for `hops = 0` or fewer training rows than anchors, and the anchor
    /// graph's errors ([`Anchors::fit`]) as [`Error::Anchors`].
    pub fn fit(x: ArrayView2<f64>, anchors: usize, nearest: usize, hops: usize, seed: u64) -> Result<Self> {
        if hops == 0 {
            return Err(Error::Config("the neighbourhood filter needs hops ≥ 1".into()));
        }
        if x.nrows() <= anchors {
            return Err(Error::Config(format!(
                "the neighbourhood filter needs more training rows than its {anchors} anchors, got {}",
                x.nrows()
            )));
        }
        // k-means on the rows rounded to f32 (a copy freed at once; the anchors are then
        // rounded as a checkpoint stores them).
        let (fitted, _) = Anchors::fit_f64(x.mapv(f32_round).view(), anchors, nearest, 100, seed)?;
        // Rounded as a checkpoint stores them, then the training rows' weights from those.
        let fitted = Anchors::from_parts(fitted.anchors().mapv(f32_round), nearest, f32_round(fitted.bandwidth()))?;
        let walk = AnchorWalk::new(&fitted, x);
        let up = walk.steps(walk.pull(x), hops);
        // Σ ‖F_i‖² over the training rows, one row of F at a time (not n × d at once).
        let mut sum_sq = 0.0f64;
        let mut row = vec![0.0f64; up.ncols()];
        for i in 0..x.nrows() {
            row.fill(0.0);
            for (a, w) in walk.z.row(i) {
                row.iter_mut().zip(up.row(a)).for_each(|(o, &v)| *o += w * v);
            }
            row.iter().for_each(|v| sum_sq += v * v);
        }
        let mean_sq = sum_sq / x.nrows() as f64;
        if !(mean_sq > 0.0 && mean_sq.is_finite()) {
            return Err(Error::Config("the neighbourhood filter maps every training row to 0".into()));
        }
        let scale = f32_round(1.0 / mean_sq.sqrt());
        let features = up.mapv(|v| f32_round(v * scale));
        Ok(Neighbourhood { anchors: fitted, features, scale })
    }

    /// A filter saved earlier: the anchors (`m × d`), `c U_p` (`m × d`), `s`, `σ` and `c`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the shapes disagree or a value is not finite, and the anchor
    /// graph's errors ([`Anchors::from_parts`]).
    pub fn from_parts(
        anchors: Array2<f64>,
        features: Array2<f64>,
        nearest: usize,
        bandwidth: f64,
        scale: f64,
    ) -> Result<Self> {
        if anchors.dim() != features.dim() {
            return Err(Error::Config(format!(
                "neighbourhood filter: {:?} anchors but {:?} anchor features",
                anchors.dim(),
                features.dim()
            )));
        }
        if !(scale > 0.0 && scale.is_finite()) || features.iter().any(|v| !v.is_finite()) {
            return Err(Error::Config("neighbourhood filter: non-finite features or scale".into()));
        }
        Ok(Neighbourhood { anchors: Anchors::from_parts(anchors, nearest, bandwidth)?, features, scale })
    }

    /// `F(x)` for the centred rows `x` (`n × d`, finite).
    pub fn propagate(&self, x: ArrayView2<f64>) -> Array2<f64> {
        self.anchors.weights(x).times(&self.features)
    }

    /// `q` steps of the anchor walk over values `v` of the training rows (`n × r`, e.g. the
    /// network's logits): the `m × r` matrix `G_q = M^{q-1} Λ^{-1} Zᵀ v` from which a point's
    /// walked value is `z(x) G_q` ([`Neighbourhood::apply`]), rounded to `f32` as a checkpoint
    /// stores it, and the training rows' own walked values `z(x_i) G_q` (`A^q v`; the same
    /// numbers `apply` gives them, without computing their anchor weights again). `x` are the
    /// centred training rows the filter was fitted on.
    ///
    /// # Panics
    ///
    /// When `x` and `v` have different numbers of rows or `steps = 0` (callers' invariants).
    pub fn walk_values(&self, x: ArrayView2<f64>, v: ArrayView2<f64>, steps: usize) -> (Array2<f64>, Array2<f64>) {
        assert_eq!(x.nrows(), v.nrows(), "one value row per training row");
        assert!(steps >= 1, "at least one step");
        let walk = AnchorWalk::new(&self.anchors, x);
        let g = walk.steps(walk.pull(v), steps).mapv(f32_round);
        let walked = walk.z.times(&g);
        (g, walked)
    }

    /// `z(x) G` for the centred rows `x` (`n × d`) and an `m × r` matrix `G` of anchor values
    /// ([`Neighbourhood::walk_values`]): each point's weighted average of its anchors' rows.
    pub fn apply(&self, x: ArrayView2<f64>, g: &Array2<f64>) -> Array2<f64> {
        self.anchors.weights(x).times(g)
    }

    /// The rows scaled as the filter scales its output, but not propagated (the ablation that
    /// encodes without neighbours).
    pub fn scale_only(&self, x: ArrayView2<f64>) -> Array2<f64> {
        x.mapv(|v| v * self.scale)
    }

    /// The anchors, `m × d`.
    pub fn anchors(&self) -> ArrayView2<'_, f64> {
        self.anchors.anchors()
    }

    /// `c U_p`, `m × d`.
    pub fn features(&self) -> ArrayView2<'_, f64> {
        self.features.view()
    }

    /// The kernel bandwidth `σ`.
    pub fn bandwidth(&self) -> f64 {
        self.anchors.bandwidth()
    }

    /// The output scale `c`.
    pub fn scale(&self) -> f64 {
        self.scale
    }
}

/// The anchor graph's walk on the training rows: their weights `Z`, `Λ^{-1}` and
/// `M = Λ^{-1} Zᵀ Z`.
struct AnchorWalk {
    z: AnchorWeights,
    lambda_inv: Vec<f64>,
    m: Array2<f64>,
}

impl AnchorWalk {
    fn new(anchors: &Anchors, x: ArrayView2<f64>) -> Self {
        let z = anchors.weights(x);
        let count = anchors.anchors().nrows();
        let mut lambda = vec![0.0f64; count];
        let mut m = Array2::<f64>::zeros((count, count));
        for i in 0..x.nrows() {
            for (a, wa) in z.row(i) {
                lambda[a] += wa;
                for (b, wb) in z.row(i) {
                    m[[a, b]] += wa * wb;
                }
            }
        }
        // An anchor no training point is tied to has Λ_jj = 0 and zero rows: keep them zero.
        let lambda_inv: Vec<f64> = lambda.iter().map(|&l| if l > 0.0 { 1.0 / l } else { 0.0 }).collect();
        for (j, &inv) in lambda_inv.iter().enumerate() {
            m.row_mut(j).mapv_inplace(|v| v * inv);
        }
        AnchorWalk { z, lambda_inv, m }
    }

    /// `Λ^{-1} Zᵀ v` (`m × r`) for values `v` of the training rows (`n × r`).
    fn pull(&self, v: ArrayView2<f64>) -> Array2<f64> {
        let mut u = Array2::<f64>::zeros((self.lambda_inv.len(), v.ncols()));
        for i in 0..v.nrows() {
            for (a, wa) in self.z.row(i) {
                u.row_mut(a).scaled_add(wa, &v.row(i));
            }
        }
        for (j, &inv) in self.lambda_inv.iter().enumerate() {
            u.row_mut(j).mapv_inplace(|v| v * inv);
        }
        u
    }

    /// `M^{steps-1} u`.
    fn steps(&self, mut u: Array2<f64>, steps: usize) -> Array2<f64> {
        for _ in 1..steps {
            u = self.m.dot(&u);
        }
        u
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagcn_openblas as _;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn clusters(n: usize, d: usize, seed: u64) -> Array2<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let centres: Vec<Vec<f64>> = (0..4).map(|_| (0..d).map(|_| rng.random_range(-3.0..3.0)).collect()).collect();
        Array2::from_shape_fn((n, d), |(i, j)| centres[i % 4][j] + rng.random_range(-0.5..0.5))
    }

    /// The definition, with dense matrices: `c A^p X̄` for the training rows.
    #[test]
    fn training_rows_are_p_steps_of_the_anchor_walk() {
        let x = clusters(60, 5, 1);
        for hops in [1, 2, 3] {
            let f = Neighbourhood::fit(x.view(), 8, 3, hops, 7).unwrap();
            let z = f.anchors.weights(x.view()).dense(8);
            let lambda: Vec<f64> = (0..8).map(|j| z.column(j).sum()).collect();
            let z_scaled = Array2::from_shape_fn((8, 60), |(j, i)| z[[i, j]] / lambda[j]);
            let a = z.dot(&z_scaled); // Z Λ⁻¹ Zᵀ
            assert!(a.rows().into_iter().all(|r| (r.sum() - 1.0).abs() < 1e-12), "rows sum to 1");
            let mut want = x.clone();
            for _ in 0..hops {
                want = a.dot(&want);
            }
            let got = f.propagate(x.view());
            let c = f.scale();
            for (g, w) in got.iter().zip(&want) {
                assert!((g - c * w).abs() < 1e-5 * (1.0 + (c * w).abs()), "hops {hops}: {g} vs {}", c * w);
            }
            let mean_sq = got.iter().map(|v| v * v).sum::<f64>() / 60.0;
            assert!((mean_sq - 1.0).abs() < 1e-5, "unit mean squared norm, got {mean_sq}");
        }
    }

    /// `walk_values`: for the training rows, `z(x) G_q = A^q v` (dense matrices).
    #[test]
    fn walked_values_of_the_training_rows_are_q_steps_of_the_anchor_walk() {
        let x = clusters(50, 4, 3);
        let f = Neighbourhood::fit(x.view(), 7, 3, 1, 2).unwrap();
        let v = Array2::from_shape_fn((50, 3), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
        let z = f.anchors.weights(x.view()).dense(7);
        let lambda: Vec<f64> = (0..7).map(|j| z.column(j).sum()).collect();
        let a = z.dot(&Array2::from_shape_fn((7, 50), |(j, i)| z[[i, j]] / lambda[j]));
        let mut want = v.clone();
        for q in 1..=3 {
            want = a.dot(&want);
            let (g, walked) = f.walk_values(x.view(), v.view(), q);
            let got = f.apply(x.view(), &g);
            assert_eq!(walked, got, "the training rows' walked values are apply's");
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-5 * (1.0 + w.abs()), "q {q}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn a_new_point_is_filtered_through_its_anchors_and_saved_parts_filter_identically() {
        let x = clusters(80, 6, 2);
        let f = Neighbourhood::fit(x.view(), 10, 3, 2, 3).unwrap();
        let new = clusters(9, 6, 4);
        let out = f.propagate(new.view());
        assert_eq!(out.dim(), (9, 6));
        let again =
            Neighbourhood::from_parts(f.anchors().to_owned(), f.features().to_owned(), 3, f.bandwidth(), f.scale())
                .unwrap();
        assert_eq!(again.propagate(new.view()), out);
        assert_eq!(f.scale_only(new.view()), new.mapv(|v| v * f.scale()));
    }

    #[test]
    fn bad_settings_are_errors() {
        let x = clusters(20, 3, 5);
        assert!(Neighbourhood::fit(x.view(), 30, 3, 2, 0).unwrap_err().to_string().contains("more training rows"));
        assert!(Neighbourhood::fit(x.view(), 5, 3, 0, 0).is_err());
        assert!(Neighbourhood::fit(x.view(), 5, 9, 1, 0).is_err());
        let bad = Neighbourhood::from_parts(Array2::zeros((4, 3)), Array2::zeros((4, 2)), 2, 1.0, 1.0);
        assert!(bad.unwrap_err().to_string().contains("anchor features"));
    }
}
