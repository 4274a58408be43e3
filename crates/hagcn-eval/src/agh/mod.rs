//! Anchor Graph Hashing (AGH; Liu, Wang, Kumar & Chang, "Hashing with Graphs", ICML 2011),
//! one- and two-layer, following the authors' MATLAB `OneLayerAGH_Train/Test` and
//! `TwoLayerAGH_Train/Test`, and AGH's embedding rotated by ITQ ([`AghItq`]).
//!
//! AGH approximates the neighbourhood graph of `n` points by a graph through `m ≪ n`
//! **anchors** `u_1, …, u_m` (k-means centres of the training data, [`KMeans`](crate::KMeans)) and thresholds
//! the leading eigenfunctions of that graph, which it can evaluate at any new point.
//!
//! **Anchor similarities.** Each point `x` is tied to its `s` nearest anchors `⟨x⟩` (in
//! squared Euclidean distance `D²(x, u_j)`, ties to the lower anchor index) by a Gaussian
//! kernel, normalised to sum 1:
//!
//! ```text
//! z_j(x) = exp(−D²(x, u_j) / σ²) / Σ_{l ∈ ⟨x⟩} exp(−D²(x, u_l) / σ²)   for j ∈ ⟨x⟩,  0 otherwise,
//! ```
//!
//! with the bandwidth of the authors' code: `σ` is the mean over the training points of the
//! distance (not squared) to their `s`-th nearest anchor, `σ = (1/n) Σ_i D(x_i, u_{(s)})`
//! (the paper's `t` is `σ²`). `Z` (`n × m`, row `i` = `z(x_i)`) is the truncated similarity.
//!
//! **Spectral embedding.** The anchor graph `A = Z Λ⁻¹ Zᵀ`, `Λ = diag(Zᵀ 1)`, is doubly
//! stochastic, and its eigenvectors come from the `m × m` problem
//!
//! ```text
//! M = Λ^{-1/2} Zᵀ Z Λ^{-1/2} = V Σ Vᵀ.
//! ```
//!
//! `M` has eigenvalue 1 for `Λ^{1/2} 1` (the constant eigenvector of `A`, no information);
//! as the authors' code does, only eigenvalues `0 < σ_k < 1 − 10⁻³` are kept, in decreasing
//! order, which drops that trivial one (and any other eigenvalue 1, of a disconnected graph).
//! The first `r` of them give the projection (`m × r`)
//!
//! ```text
//! W = √n Λ^{-1/2} V_r Σ_r^{-1/2},        y(x) = z(x) W,
//! ```
//!
//! so that on the training points `Y = Z W` has `1ᵀ Y = 0` and `Yᵀ Y = n I`, and
//! `A Y = Y Σ_r`: the columns of `Y / √n` are orthonormal eigenvectors of `A`. Each eigenvector `v_k` of `M` is normalised to have its
//! entry of largest magnitude positive (as [`Pcah`](crate::Pcah)'s directions), so `W` does
//! not depend on the LAPACK build. The factor `√n` is in the authors' two-layer code only;
//! it does not change any sign.
//!
//! **One layer** ([`AghLayers::One`], `r = b` eigenvectors for `b` bits): bit `k` is
//! `[y_k(x) > 0]`, strictly positive as in `OneLayerAGH_Test` (`Z*W>0`).
//!
//! **Two layers** ([`AghLayers::Two`], `r = b/2` eigenvectors, `b` even): bits `0..r` are
//! the one-layer bits, and bit `r + k` thresholds `y_k` again on each side of zero,
//!
//! ```text
//! bit r + k = [y_k(x) − b⁺_k > 0]   where y_k(x) > 0,
//!             [b⁻_k − y_k(x) > 0]   otherwise,
//! ```
//!
//! with the thresholds of `TwoLayerAGH_Train` (paper §4.2), computed on the training
//! embedding `y = Y[:, k]`: with `P = {i : y_i > 0}`, `n⁺ = |P|`, `n⁻ = n − n⁺`, `1⁺` the
//! indicator of `P`, `|y|` the entrywise absolute value and `A = Z Λ⁻¹ Zᵀ`,
//!
//! ```text
//! s₁ = 1⁺ᵀ A |y|,   s₂ = 1⁺ᵀ (I − A) 1⁺ = n⁺ − 1⁺ᵀ A 1⁺,   s₃ = 1⁺ᵀ y,
//! b⁺ = (2 s₃ + n⁻ (s₃ − s₁) / s₂) / n,   b⁻ = (n⁺ (s₃ − s₁) / s₂ − 2 s₃) / n.
//! ```
//!
//! `s₂` is the weight of the anchor graph's cut between `P` and the rest; where it is zero
//! the thresholds are undefined ([`Error::DegenerateAnchorGraph`](crate::Error::DegenerateAnchorGraph)).
//!
//! **Out of sample.** A new point gets `z(x)` from the same anchors, `s` and `σ`, then
//! `y(x) = z(x) W` and the bits above; training points are encoded the same way.
//!
//! **AGH+ITQ** ([`AghItq`]): the one-layer embedding `Y = Z W` of the training data rotated
//! by ITQ (Gong & Lazebnik; the rotation loop of [`Itq`](crate::Itq)) instead of the plain
//! sign: bit `k` is `[(y(x) R)_k ≥ 0]` (the crate's linear convention, as ITQ). `Y` is
//! already centred and white (`1ᵀ Y = 0`, `Yᵀ Y = n I`), so ITQ's centring and PCA steps are
//! identities and are skipped: `R` is learned on `Y` itself.
//!
//! **Differences from the authors' code**, none of which changes a code beyond rounding:
//! squared distances are `sqdist`'s `‖x‖² + ‖u‖² − 2 xᵀu` with negative rounding residues
//! clamped to 0 rather than made positive by `abs`; the kernel is evaluated relative to the nearest anchor,
//! `exp(−(D²_j − D²_min) / σ²)`, before normalising, which gives the same `z` without
//! underflow for points far from every anchor; an anchor that is none of the training
//! points' `s` nearest (`Λ_jj = 0`, where MATLAB divides by zero) is left out of `M` and
//! gets a zero row in `W`; the anchors come from this crate's [`KMeans`](crate::KMeans) (k-means++
//! seeding and at most [`AghOptions::kmeans_iterations`] Lloyd iterations), where the
//! authors used k-means without saying how it was started.
//!
//! Computation is in `f64`; embeddings come in as `f32`. Distances, `Z` and the embedding
//! are computed per point in a fixed order (in parallel over points), and every sum over
//! points runs in point order, so results do not depend on the number of threads. The
//! eigendecomposition needs a LAPACK backend linked into the final binary (see
//! [`crate::baselines`]).
//!
//! ```
//! # use hagcn_openblas as _;
//! use hagcn_eval::{Agh, AghLayers, AghOptions, Hasher};
//! use ndarray::Array2;
//!
//! // 400 points on four separated blobs in 5 dimensions.
//! let x = Array2::from_shape_fn((400, 5), |(i, j)| {
//!     let centre = if (i % 4) == j { 6.0 } else { 0.0 };
//!     centre + ((i * 31 + j * 17) % 23) as f32 / 23.0
//! });
//! let options = AghOptions { n_anchors: 20, ..AghOptions::default() };
//! let agh = Agh::fit(x.view(), 8, AghLayers::Two, &options, 42)?;
//! assert_eq!((agh.n_bits(), agh.projection().dim()), (8, (20, 4)));
//! let codes = agh.encode(x.view())?;
//! assert_eq!((codes.n_codes(), codes.n_bytes()), (400, 1));
//! // The training embedding is centred and white: Yᵀ Y = n I.
//! let y = agh.embedding(x.view())?;
//! let gram = y.t().dot(&y) / 400.0;
//! assert!(gram.indexed_iter().all(|((i, j), &v)| (v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-8));
//! # Ok::<(), hagcn_eval::Error>(())
//! ```

mod graph;
mod hasher;
mod itq;
mod options;
#[cfg(test)]
mod testing;
mod two_layer;

pub use hasher::Agh;
pub use itq::AghItq;
pub use options::{AghLayers, AghOptions};
