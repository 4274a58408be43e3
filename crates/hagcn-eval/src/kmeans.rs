//! Seeded, deterministic k-means (k-means++ seeding, then Lloyd iterations), the anchors of
//! [`Agh`](crate::Agh).
//!
//! For points `x_1, …, x_n` (rows of `X`, `n × d`) and `k` centres `c_1, …, c_k`, k-means
//! lowers the **inertia** (within-cluster sum of squares)
//!
//! ```text
//! J(a, C) = Σ_i ‖x_i − c_{a_i}‖²,    a_i ∈ {1, …, k} the cluster of point i.
//! ```
//!
//! **Seeding** (k-means++, Arthur & Vassilvitskii 2007): the first centre is a uniformly
//! drawn point; each further centre is point `i` with probability `D²_i / Σ_l D²_l`, where
//! `D²_i` is the squared distance from `x_i` to the nearest centre chosen so far (one
//! candidate per step, no greedy trials). The draws come from a ChaCha8 stream seeded with
//! the caller's seed: the first centre is `random_range(0..n)`, each later one the first `i`
//! whose running sum `D²_1 + … + D²_i` exceeds `u · Σ_l D²_l`, `u = random::<f64>()`. A
//! point that equals a chosen centre has `D² = 0` exactly and is never drawn again, so the
//! `k` centres are distinct points; with fewer than `k` distinct points (or points apart
//! by no more than rounding in `‖x‖² + ‖c‖² − 2 x·c`) the seeding fails
//! ([`Error::TooFewDistinctEmbeddings`]).
//!
//! Squared distances are computed as the authors' `sqdist` does,
//! `‖x‖² + ‖c‖² − 2 x·c` (clamped at 0), skipping the zero coordinates of `x` in the dot
//! product (fewer multiplications on sparse data such as pixels).
//!
//! **Lloyd iterations**, at most `max_iterations` of them:
//! 1. *assignment*: every point goes to its nearest centre, ties to the lower index;
//! 2. *empty clusters*: a cluster left without points (in index order) takes the point
//!    farthest from its own centre among the clusters that hold two or more (ties to the
//!    lower point index), which is then at distance 0 from the new centre;
//! 3. *update*: every centre becomes the mean of its points.
//!
//! Each step lowers `J` or leaves it as it is, so the inertia recorded after each assignment
//! ([`KMeans::inertia_history`]) is non-increasing (up to rounding in the distances).
//! The iterations stop early when an assignment repeats the previous one: the centres are
//! then already the means of their clusters (a fixed point).
//!
//! **Determinism.** Norms and dot products are sums over the `d` coordinates in a fixed
//! order (index order; in the seeding, four interleaved partial sums), each centre's mean
//! a sum over its points in index order, and the inertia and the seeding's running
//! sums over points in index order. Rayon spreads the points (distances) and the clusters
//! (means) over threads, but every number is computed by one thread in that fixed order,
//! so the result depends on the seed and the data only, not on the number of threads.
//!
//! ```
//! use hagcn_eval::KMeans;
//! use ndarray::array;
//!
//! // Two well separated groups of three points.
//! let x = array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [10.0, 10.0], [10.0, 11.0], [11.0, 10.0]];
//! let km = KMeans::fit(x.view(), 2, 100, 7)?;
//! let a = km.assignments();
//! assert!(a[0] == a[1] && a[1] == a[2] && a[3] == a[4] && a[4] == a[5] && a[0] != a[3]);
//! // The centres are the group means.
//! let c = km.centres();
//! let (low, high) = (c.row(a[0]), c.row(a[3]));
//! assert!((low[0] - 1.0 / 3.0).abs() < 1e-12 && (high[1] - 31.0 / 3.0).abs() < 1e-12);
//! assert!(km.converged());
//! # Ok::<(), hagcn_eval::Error>(())
//! ```

use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::baselines::{check_f64, validate};
use crate::error::{Error, Result};

/// A fitted k-means clustering: centres, each point's cluster and the inertia history.
///
/// See the [module docs](self).
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    centres: Array2<f64>,
    assignments: Vec<usize>,
    inertia: Vec<f64>,
    iterations: usize,
    converged: bool,
}

impl KMeans {
    /// Clusters the rows of `x` into `k` clusters: k-means++ seeding from a ChaCha8 stream
    /// seeded with `seed`, then at most `max_iterations` Lloyd iterations (`0` keeps the
    /// seeded centres).
    ///
    /// # Errors
    ///
    /// [`Error::ZeroClusters`] if `k == 0`, [`Error::EmptyEmbeddings`] /
    /// [`Error::NonFiniteEmbedding`] for empty or non-finite `x`,
    /// [`Error::TooFewEmbeddings`] if `x` has fewer than `k` rows and
    /// [`Error::TooFewDistinctEmbeddings`] if it has fewer than `k` distinct rows.
    pub fn fit(x: ArrayView2<f32>, k: usize, max_iterations: usize, seed: u64) -> Result<KMeans> {
        if k == 0 {
            return Err(Error::ZeroClusters);
        }
        KMeans::fit_f64(validate(x)?.view(), k, max_iterations, seed)
    }

    /// [`KMeans::fit`] on rows already in `f64`, read in place (no copy of `x`).
    ///
    /// # Errors
    ///
    /// As [`KMeans::fit`].
    pub fn fit_f64(x: ArrayView2<f64>, k: usize, max_iterations: usize, seed: u64) -> Result<KMeans> {
        if k == 0 {
            return Err(Error::ZeroClusters);
        }
        check_f64(x)?;
        if x.nrows() < k {
            return Err(Error::TooFewEmbeddings { method: "k-means", min: k, rows: x.nrows() });
        }
        let centres = kmeans_plus_plus(x, k, seed)?;
        Ok(lloyd(x, centres, max_iterations))
    }

    /// The centres, `k × d`, row `j` the centre of cluster `j`.
    pub fn centres(&self) -> ArrayView2<'_, f64> {
        self.centres.view()
    }

    /// The cluster of each point: its nearest final centre, ties to the lower index.
    pub fn assignments(&self) -> &[usize] {
        &self.assignments
    }

    /// The inertia `Σ_i ‖x_i − c_{a_i}‖²` after the seeding's assignment and after each
    /// iteration's (`iterations() + 1` values, non-increasing up to rounding); the last
    /// one is the inertia of the final centres and [`assignments`](Self::assignments).
    pub fn inertia_history(&self) -> &[f64] {
        &self.inertia
    }

    /// The final inertia, the last entry of [`inertia_history`](Self::inertia_history).
    pub fn inertia(&self) -> f64 {
        *self.inertia.last().expect("at least the seeding's inertia is recorded")
    }

    /// The number of centre updates made (at most `max_iterations`).
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Whether the iterations stopped at a fixed point (an assignment repeated) rather
    /// than at `max_iterations`.
    pub fn converged(&self) -> bool {
        self.converged
    }
}

/// Rows per block in the distance kernel: one pass over a coordinate of the centres serves
/// this many points.
const ROW_BLOCK: usize = 4;

/// Squared Euclidean distances between the rows of `x` (`n × d`) and of `c` (`m × d`), as
/// the authors' `sqdist` computes them: `out[i, j] = max(0, (‖x_i‖² + ‖c_j‖²) − 2 x_i·c_j)`.
///
/// Every norm and dot product is one sum over the coordinates in index order (the terms
/// where `x_ik = 0` are skipped, which changes no bit: they add `±0`), so the result does
/// not depend on the blocking or on the number of threads; rows are processed in parallel,
/// [`ROW_BLOCK`] at a time. Skipping zeros makes sparse data such as MNIST's pixels (80 %
/// zeros) about five times cheaper. The expansion loses accuracy only where the distance is
/// tiny next to the norms (absolute error about `10⁻¹⁶ (‖x‖² + ‖c‖²)`); the max with 0
/// removes negative rounding residues (`sqdist` takes the absolute value instead).
pub(crate) fn squared_distances(x: ArrayView2<f64>, c: ArrayView2<f64>) -> Array2<f64> {
    let (n, d) = x.dim();
    let m = c.nrows();
    assert_eq!(c.ncols(), d, "points and centres of the same dimension");
    // Centres transposed, d × m contiguous: row k holds coordinate k of every centre.
    let ct: Vec<f64> = c.t().iter().copied().collect();
    let c_norms = row_norms(c);
    let mut out = Array2::<f64>::zeros((n, m));
    if m == 0 || n == 0 {
        return out;
    }
    let x = x.as_standard_layout();
    let x_rows = x.as_slice().expect("standard layout");
    out.as_slice_mut()
        .expect("fresh array")
        .par_chunks_mut(ROW_BLOCK * m)
        .zip(x_rows.par_chunks(ROW_BLOCK * d.max(1)))
        .for_each(|(out_block, x_block)| {
            let rows = out_block.len() / m;
            // out_block accumulates the dot products x_i·c_j first.
            for k in 0..d {
                let ck = &ct[k * m..(k + 1) * m];
                for r in 0..rows {
                    let v = x_block[r * d + k];
                    if v == 0.0 {
                        continue;
                    }
                    for (a, &cj) in out_block[r * m..(r + 1) * m].iter_mut().zip(ck) {
                        *a += v * cj;
                    }
                }
            }
            for r in 0..rows {
                let x_norm = x_block[r * d..(r + 1) * d].iter().fold(0.0, |s, &v| s + v * v);
                for (a, &cn) in out_block[r * m..(r + 1) * m].iter_mut().zip(&c_norms) {
                    *a = ((x_norm + cn) - 2.0 * *a).max(0.0);
                }
            }
        });
    out
}

/// `‖x_i‖²` for every row of `x`, summed over coordinates in index order.
fn row_norms(x: ArrayView2<f64>) -> Vec<f64> {
    x.rows().into_iter().map(|row| row.iter().fold(0.0, |s, &v| s + v * v)).collect()
}

/// The seeding's view of the rows of `x`: dot products over their non-zero coordinates, read
/// in place (a copy of the non-zeros as `(index, value)` pairs took twice the memory of `x`
/// itself on dense embeddings: 1.2 GB at 100,000 × 768).
struct SparseRows<'a> {
    x: ArrayView2<'a, f64>,
    /// `x_i·x_i` as [`SparseRows::dot`] computes it.
    norms: Vec<f64>,
}

impl<'a> SparseRows<'a> {
    fn new(x: ArrayView2<'a, f64>) -> SparseRows<'a> {
        let mut rows = SparseRows { x, norms: Vec::new() };
        rows.norms = (0..x.nrows()).map(|i| rows.dot(i, x.row(i))).collect();
        rows
    }

    /// `x_i·y` over the non-zeros of row `i`, in four interleaved partial sums (the `e`-th
    /// non-zero into sum `e mod 4`) added as `(s₀ + s₁) + (s₂ + s₃)`: a fixed order.
    fn dot(&self, i: usize, y: ArrayView1<f64>) -> f64 {
        let mut acc = [0.0f64; 4];
        let non_zeros = self.x.row(i).into_iter().zip(y).filter(|(v, _)| **v != 0.0);
        for (e, (&v, &w)) in non_zeros.enumerate() {
            acc[e % 4] += v * w;
        }
        (acc[0] + acc[1]) + (acc[2] + acc[3])
    }

    /// `max(0, (‖x_i‖² + ‖x_j‖²) − 2 x_i·x_j)` for every row `i` and one row `j`: exactly 0
    /// where `x_i` equals `x_j` (the same products summed in the same order).
    fn distances_to_row(&self, j: usize) -> Vec<f64> {
        let y = self.x.row(j);
        (0..self.norms.len())
            .into_par_iter()
            .map(|i| ((self.norms[i] + self.norms[j]) - 2.0 * self.dot(i, y)).max(0.0))
            .collect()
    }
}

/// k-means++ seeding (see the module docs): `k` distinct rows of `x` as centres.
fn kmeans_plus_plus(x: ArrayView2<f64>, k: usize, seed: u64) -> Result<Array2<f64>> {
    let n = x.nrows();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut chosen = Vec::with_capacity(k);
    chosen.push(rng.random_range(0..n));
    let sparse = SparseRows::new(x);
    let mut d2 = sparse.distances_to_row(chosen[0]);
    while chosen.len() < k {
        let total: f64 = d2.iter().fold(0.0, |s, &t| s + t);
        if total <= 0.0 {
            return Err(Error::TooFewDistinctEmbeddings { method: "k-means", k, distinct: chosen.len() });
        }
        let target = rng.random::<f64>() * total;
        let mut running = 0.0;
        let mut pick = None;
        for (i, &t) in d2.iter().enumerate() {
            running += t;
            if running > target && t > 0.0 {
                pick = Some(i);
                break;
            }
        }
        // Rounding can leave the running sum at or below `target` to the end: take the
        // last point with positive weight.
        let pick = pick.unwrap_or_else(|| d2.iter().rposition(|&t| t > 0.0).expect("total > 0"));
        chosen.push(pick);
        let new = sparse.distances_to_row(pick);
        for (old, new) in d2.iter_mut().zip(new) {
            if new < *old {
                *old = new;
            }
        }
    }
    Ok(x.select(Axis(0), &chosen))
}

/// Each row's nearest centre (ties to the lower index) and its squared distance.
fn assign(distances: &Array2<f64>) -> (Vec<usize>, Vec<f64>) {
    distances
        .rows()
        .into_iter()
        .map(|row| {
            let mut best = (0, row[0]);
            for (j, &v) in row.iter().enumerate().skip(1) {
                if v < best.1 {
                    best = (j, v);
                }
            }
            best
        })
        .unzip()
}

/// Lloyd iterations from `centres` (see the module docs).
pub(crate) fn lloyd(x: ArrayView2<f64>, mut centres: Array2<f64>, max_iterations: usize) -> KMeans {
    let k = centres.nrows();
    let mut inertia = Vec::new();
    let mut previous: Option<Vec<usize>> = None;
    let mut iterations = 0;
    loop {
        let (mut assignments, mut cost) = assign(&squared_distances(x, centres.view()));
        inertia.push(cost.iter().fold(0.0, |s, &t| s + t));
        if previous.as_ref() == Some(&assignments) {
            return KMeans { centres, assignments, inertia, iterations, converged: true };
        }
        if iterations == max_iterations {
            return KMeans { centres, assignments, inertia, iterations, converged: false };
        }
        fill_empty_clusters(&mut assignments, &mut cost, k);
        centres = cluster_means(x, &assignments, k);
        previous = Some(assignments);
        iterations += 1;
    }
}

/// Gives each empty cluster, in index order, the point farthest from its centre among the
/// clusters of two or more points (ties to the lower point index); `cost[i]` is point `i`'s
/// squared distance to its centre and becomes 0 for a moved point.
fn fill_empty_clusters(assignments: &mut [usize], cost: &mut [f64], k: usize) {
    let mut sizes = vec![0usize; k];
    for &a in assignments.iter() {
        sizes[a] += 1;
    }
    for empty in 0..k {
        if sizes[empty] > 0 {
            continue;
        }
        // n ≥ k points in fewer than k non-empty clusters: some cluster has two or more.
        let mut best: Option<usize> = None;
        for (i, &a) in assignments.iter().enumerate() {
            if sizes[a] >= 2 && best.is_none_or(|b| cost[i] > cost[b]) {
                best = Some(i);
            }
        }
        let i = best.expect("n ≥ k leaves a cluster with two or more points");
        sizes[assignments[i]] -= 1;
        assignments[i] = empty;
        sizes[empty] = 1;
        cost[i] = 0.0;
    }
}

/// The mean of each cluster's points, summed in point order (every cluster non-empty).
fn cluster_means(x: ArrayView2<f64>, assignments: &[usize], k: usize) -> Array2<f64> {
    let mut members = vec![Vec::new(); k];
    for (i, &a) in assignments.iter().enumerate() {
        members[a].push(i);
    }
    let d = x.ncols();
    let rows: Vec<Vec<f64>> = members
        .par_iter()
        .map(|idx| {
            let mut sum = vec![0.0; d];
            for &i in idx {
                for (s, &v) in sum.iter_mut().zip(x.row(i)) {
                    *s += v;
                }
            }
            let count = idx.len() as f64;
            sum.iter().map(|s| s / count).collect()
        })
        .collect();
    Array2::from_shape_fn((k, d), |(j, l)| rows[j][l])
}

#[cfg(test)]
mod tests {
    use hagcn_openblas as _;
    use ndarray::{Array2, array, s};
    use rand_distr::{Distribution, StandardNormal};

    use super::*;

    /// `centres` points with `per` noisy copies each (`spread` · N(0, 1)), interleaved.
    fn blobs(seed: u64, centres: &[[f64; 2]], per: usize, spread: f64) -> Array2<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_fn((centres.len() * per, 2), |(i, j)| {
            let z: f64 = StandardNormal.sample(&mut rng);
            (centres[i % centres.len()][j] + spread * z) as f32
        })
    }

    fn exact_inertia(x: &Array2<f32>, centres: ArrayView2<f64>, assignments: &[usize]) -> f64 {
        let mut total = 0.0;
        for (i, &a) in assignments.iter().enumerate() {
            for j in 0..x.ncols() {
                total += (f64::from(x[[i, j]]) - centres[[a, j]]).powi(2);
            }
        }
        total
    }

    #[test]
    fn squared_distances_match_the_definition() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for (n, m, d) in [(1, 1, 1), (7, 3, 5), (9, 13, 4), (4, 8, 17), (6, 2, 0)] {
            // About a third of the coordinates are zero, as in pixel data.
            let x = Array2::from_shape_fn((n, d), |_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                if z < -0.4 { 0.0 } else { z }
            });
            let c: Array2<f64> = Array2::from_shape_fn((m, d), |_| StandardNormal.sample(&mut rng));
            let got = squared_distances(x.view(), c.view());
            for i in 0..n {
                for j in 0..m {
                    // The same expansion in the same order, zeros included: bit for bit.
                    let (mut xx, mut cc, mut xc) = (0.0, 0.0, 0.0);
                    let mut direct = 0.0;
                    for l in 0..d {
                        xx += x[[i, l]] * x[[i, l]];
                        cc += c[[j, l]] * c[[j, l]];
                        xc += x[[i, l]] * c[[j, l]];
                        direct += (x[[i, l]] - c[[j, l]]).powi(2);
                    }
                    assert_eq!(got[[i, j]], ((xx + cc) - 2.0 * xc).max(0.0), "({i}, {j})");
                    assert!((got[[i, j]] - direct).abs() <= 1e-13 * (xx + cc), "({i}, {j})");
                }
            }
        }
        // A point equal to a centre is at distance 0, never below.
        let x = array![[0.1, 0.7, 0.3], [1e8, 0.0, -3.0]];
        let d = squared_distances(x.view(), x.view());
        assert!(d.iter().all(|&v| v >= 0.0) && d[[0, 0]] == 0.0 && d[[1, 1]] == 0.0);
        // A non-standard layout view gives the same numbers.
        let x: Array2<f64> = Array2::from_shape_fn((6, 3), |(i, j)| (i * 3 + j) as f64 * 0.37);
        let c = array![[0.5, -1.0, 2.0], [3.0, 0.0, 0.25]];
        let xt = x.t().to_owned();
        assert_eq!(squared_distances(xt.t(), c.view()), squared_distances(x.view(), c.view()));
    }

    /// The slow reference: plain loops, the same rules (ties to the lower index, empty
    /// clusters refilled from the farthest point of a cluster of two or more).
    fn reference_lloyd(x: &Array2<f32>, init: &Array2<f64>, iterations: usize) -> (Array2<f64>, Vec<usize>) {
        let (n, d) = x.dim();
        let k = init.nrows();
        let mut c = init.clone();
        let mut prev: Option<Vec<usize>> = None;
        let mut it = 0;
        loop {
            let mut a = vec![0; n];
            let mut cost = vec![0.0; n];
            for i in 0..n {
                let mut best = f64::INFINITY;
                for j in 0..k {
                    let dist: f64 = (0..d).map(|l| (f64::from(x[[i, l]]) - c[[j, l]]).powi(2)).sum();
                    if dist < best {
                        best = dist;
                        a[i] = j;
                    }
                }
                cost[i] = best;
            }
            if prev.as_ref() == Some(&a) || it == iterations {
                return (c, a);
            }
            for e in 0..k {
                let size = |a: &Vec<usize>, j| a.iter().filter(|&&t| t == j).count();
                if size(&a, e) == 0 {
                    let i = (0..n)
                        .filter(|&i| size(&a, a[i]) >= 2)
                        .fold(None, |b: Option<usize>, i| match b {
                            Some(b) if cost[b] >= cost[i] => Some(b),
                            _ => Some(i),
                        })
                        .unwrap();
                    a[i] = e;
                    cost[i] = 0.0;
                }
            }
            for j in 0..k {
                let idx: Vec<usize> = (0..n).filter(|&i| a[i] == j).collect();
                for l in 0..d {
                    c[[j, l]] = idx.iter().map(|&i| f64::from(x[[i, l]])).sum::<f64>() / idx.len() as f64;
                }
            }
            prev = Some(a);
            it += 1;
        }
    }

    #[test]
    fn lloyd_matches_a_slow_reference() {
        let x = blobs(2, &[[0.0, 0.0], [3.0, 0.0], [0.0, 3.0], [3.0, 3.0]], 25, 1.0);
        let xf = x.mapv(f64::from);
        // Several initialisations, including one with duplicated centres (an empty cluster).
        let inits = [
            x.slice(s![..4, ..]).mapv(f64::from),
            x.slice(s![10..17, ..]).mapv(f64::from),
            array![[0.0, 0.0], [0.0, 0.0], [5.0, 5.0]],
        ];
        for init in &inits {
            for iterations in [0, 1, 3, 100] {
                let km = lloyd(xf.view(), init.clone(), iterations);
                let (c, a) = reference_lloyd(&x, init, iterations);
                assert_eq!(km.assignments(), &a[..], "{iterations} iterations");
                for (u, v) in km.centres().iter().zip(&c) {
                    assert!((u - v).abs() < 1e-12, "{u} vs {v}");
                }
            }
        }
    }

    #[test]
    fn empty_clusters_are_refilled() {
        // Two identical initial centres: one of them gets no point in the first assignment.
        let x = array![[0.0f32], [1.0], [2.0], [10.0], [11.0]];
        let km = lloyd(x.mapv(f64::from).view(), array![[0.0], [0.0], [10.0]], 100);
        let mut sizes = [0; 3];
        km.assignments().iter().for_each(|&a| sizes[a] += 1);
        assert!(sizes.iter().all(|&s| s > 0), "{sizes:?}");
        assert!(km.inertia() < 3.0, "{:?}", km.inertia_history());
    }

    #[test]
    fn inertia_never_increases_and_agrees_with_the_centres() {
        let x = blobs(3, &[[0.0, 0.0], [1.0, 0.5], [0.2, 2.0], [2.0, 2.0], [4.0, 0.0]], 60, 0.8);
        for seed in 0..5 {
            let km = KMeans::fit(x.view(), 12, 200, seed).unwrap();
            let h = km.inertia_history();
            assert_eq!(h.len(), km.iterations() + 1);
            assert!(km.iterations() >= 2, "seed {seed}: {h:?}");
            for (t, pair) in h.windows(2).enumerate() {
                assert!(pair[1] <= pair[0] * (1.0 + 1e-12), "seed {seed}: rose at {t}: {h:?}");
            }
            let exact = exact_inertia(&x, km.centres(), km.assignments());
            assert!((exact - km.inertia()).abs() <= 1e-9 * exact, "{exact} vs {}", km.inertia());
            // Every point's assigned centre is a nearest one.
            let d = squared_distances(x.mapv(f64::from).view(), km.centres());
            for (row, &a) in d.rows().into_iter().zip(km.assignments()) {
                assert!(row.iter().all(|&v| v >= row[a]));
            }
        }
    }

    #[test]
    fn finds_the_brute_force_optimum_on_a_tiny_case() {
        // 9 points in three loose groups; every partition into 3 non-empty clusters is tried.
        let x = array![
            [0.0f32, 0.0],
            [0.9, 0.1],
            [0.2, 1.1],
            [5.0, 5.2],
            [6.1, 4.8],
            [5.4, 6.0],
            [0.3, 6.5],
            [-0.8, 5.6],
            [1.0, 5.0]
        ];
        let n = x.nrows();
        let mut best = f64::INFINITY;
        let mut best_labels = vec![];
        for code in 0..3usize.pow(n as u32) {
            let labels: Vec<usize> = (0..n).map(|i| code / 3usize.pow(i as u32) % 3).collect();
            let mut sse = 0.0;
            let mut ok = true;
            for c in 0..3 {
                let idx: Vec<usize> = (0..n).filter(|&i| labels[i] == c).collect();
                if idx.is_empty() {
                    ok = false;
                    break;
                }
                for j in 0..2 {
                    let mean = idx.iter().map(|&i| f64::from(x[[i, j]])).sum::<f64>() / idx.len() as f64;
                    sse += idx.iter().map(|&i| (f64::from(x[[i, j]]) - mean).powi(2)).sum::<f64>();
                }
            }
            if ok && sse < best - 1e-12 {
                best = sse;
                best_labels = labels;
            }
        }
        // The optimum groups the points in threes.
        let same = |a: &[usize], i: usize, j: usize| a[i] == a[j];
        assert!(same(&best_labels, 0, 2) && same(&best_labels, 3, 5) && same(&best_labels, 6, 8));
        for seed in 0..10 {
            let km = KMeans::fit(x.view(), 3, 100, seed).unwrap();
            assert!(km.converged());
            assert!((km.inertia() - best).abs() < 1e-9, "seed {seed}: {} vs optimum {best}", km.inertia());
            for i in 0..n {
                for j in 0..n {
                    assert_eq!(same(km.assignments(), i, j), same(&best_labels, i, j), "seed {seed}");
                }
            }
        }
    }

    #[test]
    fn deterministic_for_a_seed_and_any_thread_count() {
        let x = blobs(4, &[[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]], 70, 0.9);
        let a = KMeans::fit(x.view(), 9, 50, 11).unwrap();
        let b = KMeans::fit(x.view(), 9, 50, 11).unwrap();
        assert_eq!(a, b);
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            assert_eq!(pool.install(|| KMeans::fit(x.view(), 9, 50, 11).unwrap()), a, "{threads} threads");
        }
        let c = KMeans::fit(x.view(), 9, 0, 12).unwrap();
        assert_ne!(c.centres(), KMeans::fit(x.view(), 9, 0, 11).unwrap().centres());
        // Zero iterations keep k distinct data points as centres.
        assert_eq!(c.iterations(), 0);
        assert_eq!(c.inertia_history().len(), 1);
        for row in c.centres().rows() {
            assert!(x.rows().into_iter().any(|p| p.iter().zip(row).all(|(&u, &v)| f64::from(u) == v)));
        }
    }

    #[test]
    fn errors() {
        let x = array![[0.0f32, 1.0], [0.0, 1.0], [2.0, 3.0], [0.0, 1.0]];
        assert_eq!(KMeans::fit(x.view(), 0, 10, 0).unwrap_err(), Error::ZeroClusters);
        assert_eq!(
            KMeans::fit(x.view(), 5, 10, 0).unwrap_err(),
            Error::TooFewEmbeddings { method: "k-means", min: 5, rows: 4 }
        );
        // Only two distinct rows.
        let err = KMeans::fit(x.view(), 3, 10, 0).unwrap_err();
        assert_eq!(err, Error::TooFewDistinctEmbeddings { method: "k-means", k: 3, distinct: 2 });
        assert_eq!(err.to_string(), "k-means needs at least 3 distinct embeddings, got 2");
        assert_eq!(KMeans::fit(x.view(), 2, 10, 0).unwrap().inertia(), 0.0);
        let empty = Array2::<f32>::zeros((0, 2));
        assert_eq!(KMeans::fit(empty.view(), 1, 10, 0).unwrap_err(), Error::EmptyEmbeddings { rows: 0, cols: 2 });
        let mut bad = x.clone();
        bad[[2, 1]] = f32::NAN;
        assert_eq!(KMeans::fit(bad.view(), 2, 10, 0).unwrap_err(), Error::NonFiniteEmbedding { row: 2, col: 1 });
    }
}
