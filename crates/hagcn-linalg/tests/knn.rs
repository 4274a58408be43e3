//! k-nearest-neighbour graphs and queries against an `f64` brute force: exact ties and
//! duplicates (on data whose `f32` products are exact), random data (swaps allowed only within
//! rounding of the k-th value), identical results on 1 and 2 threads, NN-descent's recall on
//! clustered data, and the error paths.

extern crate openblas_src;

use hagcn_linalg::{
    EXACT_BLOCK_ROWS, EXACT_MAX_ROWS, Error, KnnGraph, Metric, NnDescentOptions, knn_graph, knn_graph_exact,
    knn_graph_gemm_floor, knn_graph_nn_descent, knn_query_exact,
};
use ndarray::{Array2, ArrayView1, ArrayView2, s};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The reported value of a pair, computed as the module docs state (f64 from the input rows).
fn value(metric: Metric, a: ArrayView1<f32>, b: ArrayView1<f32>) -> f32 {
    let norm = |x: ArrayView1<f32>| x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>().sqrt();
    match metric {
        Metric::Cosine => {
            let dot: f64 = a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum();
            (dot / (norm(a) * norm(b))).clamp(-1.0, 1.0) as f32
        }
        Metric::Euclidean => {
            a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum::<f64>().sqrt() as f32
        }
    }
}

/// Best first: larger similarity or smaller distance, then lower index.
fn sort_best_first(metric: Metric, row: &mut [(f32, u32)]) {
    match metric {
        Metric::Cosine => row.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))),
        Metric::Euclidean => row.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))),
    }
}

/// Every candidate of every query, sorted best first (`skip_self`: the graph of a set).
fn brute_force(
    data: ArrayView2<f32>,
    queries: ArrayView2<f32>,
    metric: Metric,
    skip_self: bool,
) -> Vec<Vec<(f32, u32)>> {
    (0..queries.nrows())
        .map(|i| {
            let mut row: Vec<(f32, u32)> = (0..data.nrows())
                .filter(|&j| !(skip_self && i == j))
                .map(|j| (value(metric, queries.row(i), data.row(j)), j as u32))
                .collect();
            sort_best_first(metric, &mut row);
            row
        })
        .collect()
}

/// Checks the invariants every result has: sorted best first with ties by index, distinct
/// indices, no self-loops for a graph, values equal to the brute force's value of the listed
/// pair.
fn check_well_formed(g: &KnnGraph, data: ArrayView2<f32>, queries: ArrayView2<f32>, skip_self: bool) {
    let metric = g.metric();
    for i in 0..g.n_points() {
        let (idx, val) = g.neighbors(i).unwrap();
        let mut row: Vec<(f32, u32)> = val.iter().copied().zip(idx.iter().copied()).collect();
        let listed = row.clone();
        sort_best_first(metric, &mut row);
        assert_eq!(row, listed, "row {i} is not sorted best first");
        let mut ids = idx.to_vec();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), g.k(), "row {i} repeats a neighbour");
        for (&j, &v) in idx.iter().zip(val) {
            assert!(!(skip_self && j as usize == i), "row {i} lists itself");
            assert_eq!(v, value(metric, queries.row(i), data.row(j as usize)), "row {i}, neighbour {j}");
        }
    }
}

/// Exactly the brute force's top k (for data whose `f32` keys are exact).
fn assert_exact(g: &KnnGraph, reference: &[Vec<(f32, u32)>]) {
    for (i, expected) in reference.iter().enumerate() {
        let (idx, val) = g.neighbors(i).unwrap();
        let got: Vec<(f32, u32)> = val.iter().copied().zip(idx.iter().copied()).collect();
        assert_eq!(got, expected[..g.k()], "row {i}");
    }
}

/// The brute force's top k up to `f32` GEMM rounding: the value at each rank within `tol`, and
/// a neighbour the brute force does not list only within `tol` of its k-th value.
fn assert_near_exact(g: &KnnGraph, reference: &[Vec<(f32, u32)>], tol: f32) {
    let k = g.k();
    let mut swapped = 0;
    for (i, expected) in reference.iter().enumerate() {
        let (idx, val) = g.neighbors(i).unwrap();
        for r in 0..k {
            assert!((val[r] - expected[r].0).abs() <= tol, "row {i} rank {r}: {} vs {}", val[r], expected[r].0);
            if !expected[..k].iter().any(|e| e.1 == idx[r]) {
                swapped += 1;
                assert!((val[r] - expected[k - 1].0).abs() <= tol, "row {i}: {} is not a near-tie", idx[r]);
            }
        }
    }
    assert!(swapped * 1000 <= reference.len() * k, "{swapped} swaps");
}

fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = 1.0 - rng.random::<f64>();
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn random_rows(n: usize, d: usize, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, d), |_| gaussian(&mut rng) as f32)
}

/// Embedding-like rows: `n / cluster_size` Gaussian centres, each point a centre plus noise
/// whose scale decays over the coordinates (`spread / √(j + 1)`), as a decaying spectrum.
fn clustered_rows(n: usize, d: usize, cluster_size: usize, spread: f64, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let clusters = n.div_ceil(cluster_size);
    let centres = Array2::from_shape_fn((clusters, d), |_| gaussian(&mut rng));
    Array2::from_shape_fn((n, d), |(i, j)| {
        (centres[[i % clusters, j]] + spread / ((j + 1) as f64).sqrt() * gaussian(&mut rng)) as f32
    })
}

/// Small-integer rows in `{−1, 0, 1}⁴`: 81 distinct points, so many duplicates and exact ties;
/// every `f32` product and key is exact.
fn integer_rows(n: usize, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, 4), |_| rng.random_range(-1i32..=1) as f32)
}

/// Rows with exactly four non-zeros, each `±c` with one `c ∈ {1, 2}` per row, in 8 columns:
/// normalised rows are exactly `±½`, so cosines are exact multiples of ¼ with many ties, and
/// rows that are multiples of one another are duplicates in direction.
fn direction_rows(n: usize, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Array2::zeros((n, 8));
    for mut row in x.rows_mut() {
        let c = if rng.random::<bool>() { 1.0 } else { 2.0 };
        let mut placed = 0;
        while placed < 4 {
            let j = rng.random_range(0..8);
            if row[j] == 0.0 {
                row[j] = if rng.random::<bool>() { c } else { -c };
                placed += 1;
            }
        }
    }
    x
}

#[test]
fn exact_graph_matches_brute_force_with_ties_and_duplicates() {
    // 600 rows: one full block and one partial one, so the diagonal, off-diagonal (both
    // directions) and ragged tiles all take part.
    let n = EXACT_BLOCK_ROWS + 88;
    for (metric, x) in [(Metric::Euclidean, integer_rows(n, 1)), (Metric::Cosine, direction_rows(n, 2))] {
        let reference = brute_force(x.view(), x.view(), metric, true);
        for k in [1, 7, 40] {
            let g = knn_graph_exact(x.view(), k, metric).unwrap();
            assert_eq!(g.indices().dim(), (n, k));
            check_well_formed(&g, x.view(), x.view(), true);
            assert_exact(&g, &reference);
        }
        // Ties really were broken: some row has equal values at ranks 0 and 1.
        let g = knn_graph_exact(x.view(), 2, metric).unwrap();
        assert!(g.values().rows().into_iter().any(|v| v[0] == v[1]), "{metric:?}: no ties in the fixture");
    }
}

#[test]
fn every_row_can_be_a_neighbour_of_every_other() {
    // k = n − 1: each row lists all the others, in brute-force order.
    for (metric, x) in [(Metric::Euclidean, integer_rows(40, 3)), (Metric::Cosine, direction_rows(40, 4))] {
        let g = knn_graph_exact(x.view(), 39, metric).unwrap();
        assert_exact(&g, &brute_force(x.view(), x.view(), metric, true));
    }
    // Two rows: each is the other's only neighbour.
    let two = ndarray::array![[1.0f32, 2.0], [3.0, 5.0]];
    let g = knn_graph_exact(two.view(), 1, Metric::Euclidean).unwrap();
    assert_eq!(g.indices().as_slice().unwrap(), &[1, 0]);
    assert_eq!(g.values()[[0, 0]], 13f32.sqrt());
}

#[test]
fn exact_graph_agrees_with_brute_force_on_random_data() {
    let x = random_rows(1100, 33, 5);
    for metric in [Metric::Cosine, Metric::Euclidean] {
        let reference = brute_force(x.view(), x.view(), metric, true);
        let g = knn_graph_exact(x.view(), 12, metric).unwrap();
        check_well_formed(&g, x.view(), x.view(), true);
        assert_near_exact(&g, &reference, 1e-5);
    }
}

#[test]
fn a_column_major_input_gives_the_same_graph() {
    let x = random_rows(700, 20, 6);
    let fortran = x.t().as_standard_layout().into_owned().reversed_axes();
    assert!(!fortran.is_standard_layout());
    for metric in [Metric::Cosine, Metric::Euclidean] {
        assert_eq!(knn_graph_exact(x.view(), 5, metric).unwrap(), knn_graph_exact(fortran.view(), 5, metric).unwrap());
    }
}

#[test]
fn queries_match_brute_force() {
    let n = EXACT_BLOCK_ROWS + 30;
    for (metric, x) in [(Metric::Euclidean, integer_rows(n, 7)), (Metric::Cosine, direction_rows(n, 8))] {
        // More queries than a block, some of them copies of data rows.
        let mut q = if metric == Metric::Euclidean { integer_rows(530, 9) } else { direction_rows(530, 10) };
        q.slice_mut(s![..20, ..]).assign(&x.slice(s![100..120, ..]));
        let reference = brute_force(x.view(), q.view(), metric, false);
        for k in [1, 9, n] {
            let g = knn_query_exact(x.view(), q.view(), k, metric).unwrap();
            assert_eq!(g.indices().dim(), (530, k));
            check_well_formed(&g, x.view(), q.view(), false);
            assert_exact(&g, &reference);
        }
        // A copy of data row j finds j (or an earlier duplicate of it) first, at distance 0 or
        // similarity 1.
        let g = knn_query_exact(x.view(), q.slice(s![..20, ..]), 1, metric).unwrap();
        for (i, (&j, &v)) in g.indices().iter().zip(g.values()).enumerate() {
            assert!(j as usize <= 100 + i);
            assert_eq!(v, if metric == Metric::Euclidean { 0.0 } else { 1.0 });
        }
    }
    let x = random_rows(900, 24, 11);
    let q = random_rows(3, 24, 12);
    for metric in [Metric::Cosine, Metric::Euclidean] {
        let g = knn_query_exact(x.view(), q.view(), 15, metric).unwrap();
        check_well_formed(&g, x.view(), q.view(), false);
        assert_near_exact(&g, &brute_force(x.view(), q.view(), metric, false), 1e-5);
    }
}

#[test]
fn the_graph_of_a_set_is_its_queries_against_itself_minus_self() {
    // The graph's row i equals the query of row i for k + 1 neighbours, without i (duplicate-
    // free data, so i is its own first hit).
    let x = random_rows(800, 16, 13);
    for metric in [Metric::Cosine, Metric::Euclidean] {
        let g = knn_graph_exact(x.view(), 6, metric).unwrap();
        let q = knn_query_exact(x.view(), x.view(), 7, metric).unwrap();
        for i in 0..800 {
            assert_eq!(q.indices()[[i, 0]] as usize, i);
            assert_eq!(g.indices().row(i), q.indices().slice(s![i, 1..]));
            assert_eq!(g.values().row(i), q.values().slice(s![i, 1..]));
        }
    }
}

fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(f)
}

#[test]
fn results_are_identical_on_one_and_two_threads() {
    let mut x = random_rows(3 * EXACT_BLOCK_ROWS + 77, 40, 14);
    // Duplicates across blocks.
    for i in 0..30 {
        let row = x.row(i).to_owned();
        x.row_mut(600 + 17 * i).assign(&row);
    }
    let q = random_rows(600, 40, 15);
    let options = NnDescentOptions::new(99);
    for metric in [Metric::Cosine, Metric::Euclidean] {
        let run = || {
            (
                knn_graph_exact(x.view(), 10, metric).unwrap(),
                knn_query_exact(x.view(), q.view(), 10, metric).unwrap(),
                knn_graph_nn_descent(x.view(), 10, metric, &options).unwrap(),
            )
        };
        let one = on_threads(1, run);
        let two = on_threads(2, run);
        assert_eq!(one.0, two.0, "{metric:?} exact graph");
        assert_eq!(one.1, two.1, "{metric:?} queries");
        assert_eq!(one.2, two.2, "{metric:?} NN-descent");
        // And run to run.
        assert_eq!(one.2, on_threads(2, || knn_graph_nn_descent(x.view(), 10, metric, &options).unwrap()));
    }
}

unsafe extern "C" {
    fn openblas_set_num_threads(n: std::os::raw::c_int);
    fn openblas_get_num_threads() -> std::os::raw::c_int;
}

#[test]
fn the_blas_thread_count_does_not_change_the_graph() {
    // OpenBLAS splits an sgemm along its rows and columns, never the inner dimension, so every
    // tile entry is the same sum whatever its thread count (the tests link OpenBLAS).
    let x = random_rows(2 * EXACT_BLOCK_ROWS + 40, 96, 24);
    let q = random_rows(700, 96, 25);
    // SAFETY: plain getter and setter of OpenBLAS's thread count.
    let before = unsafe { openblas_get_num_threads() };
    let run = |blas_threads| {
        // SAFETY: as above.
        unsafe { openblas_set_num_threads(blas_threads) };
        on_threads(1, || {
            (
                knn_graph_exact(x.view(), 8, Metric::Euclidean).unwrap(),
                knn_query_exact(x.view(), q.view(), 8, Metric::Cosine).unwrap(),
                knn_graph_gemm_floor(x.view()).unwrap().to_bits(),
            )
        })
    };
    let (one, two) = (run(1), run(2));
    // SAFETY: as above.
    unsafe { openblas_set_num_threads(before) };
    assert_eq!(one, two);
}

#[test]
fn nn_descent_recall_on_clustered_embeddings() {
    // 10,000 embedding-like rows in 64 dimensions, clusters of 500 whose spread (12 / √(j+1)
    // on coordinate j) makes them overlap.
    let x = clustered_rows(10_000, 64, 500, 12.0, 16);
    for metric in [Metric::Cosine, Metric::Euclidean] {
        let exact = knn_graph_exact(x.view(), 10, metric).unwrap();
        let approx = knn_graph_nn_descent(x.view(), 10, metric, &NnDescentOptions::new(1)).unwrap();
        check_well_formed(&approx, x.view(), x.view(), true);
        let recall = approx.recall(&exact).unwrap();
        eprintln!("{metric:?}: NN-descent recall {recall:.4}");
        // Measured 0.9949 (cosine) and 0.9968 (Euclidean); 0.9953 and 0.9971 with seed 2.
        assert!(recall >= 0.985, "{metric:?}: recall {recall}");
        // The pool size buys recall: a pool of k recovers less (measured 0.82–0.83).
        let small = NnDescentOptions { pool: Some(10), ..NnDescentOptions::new(1) };
        let small = knn_graph_nn_descent(x.view(), 10, metric, &small).unwrap().recall(&exact).unwrap();
        eprintln!("{metric:?}: NN-descent recall with a pool of k: {small:.4}");
        assert!(small < recall);
        // Another seed does about as well.
        let other = knn_graph_nn_descent(x.view(), 10, metric, &NnDescentOptions::new(2)).unwrap();
        let other = other.recall(&exact).unwrap();
        eprintln!("{metric:?}: NN-descent recall with seed 2: {other:.4}");
        assert!(other >= 0.985, "{metric:?}: recall {other} with seed 2");
        // Random initial pools only (no trees) take more rounds to about the same recall.
        let random = NnDescentOptions { trees: 0, ..NnDescentOptions::new(1) };
        let random = knn_graph_nn_descent(x.view(), 10, metric, &random).unwrap().recall(&exact).unwrap();
        eprintln!("{metric:?}: NN-descent recall from random pools: {random:.4}");
        assert!(random >= 0.985, "{metric:?}: recall {random} from random pools");
    }
}

#[test]
fn nn_descent_is_exact_when_the_pool_holds_everyone() {
    // With K = n − 1 the initial pools are complete: the brute-force graph.
    let x = integer_rows(30, 17);
    let g = knn_graph_nn_descent(x.view(), 5, Metric::Euclidean, &NnDescentOptions::new(3)).unwrap();
    assert_exact(&g, &brute_force(x.view(), x.view(), Metric::Euclidean, true));
}

#[test]
fn auto_is_exact_up_to_the_threshold_and_nn_descent_above() {
    let options = NnDescentOptions::new(5);
    let x = random_rows(700, 8, 18);
    assert_eq!(
        knn_graph(x.view(), 4, Metric::Cosine, &options).unwrap(),
        knn_graph_exact(x.view(), 4, Metric::Cosine).unwrap()
    );
    // Small pools and few trees keep the NN-descent above the threshold quick.
    let options = NnDescentOptions { pool: Some(6), trees: 2, ..options };
    let big = random_rows(EXACT_MAX_ROWS + 1, 3, 19);
    let auto = knn_graph(big.view(), 4, Metric::Euclidean, &options).unwrap();
    assert_eq!(auto, knn_graph_nn_descent(big.view(), 4, Metric::Euclidean, &options).unwrap());
}

#[test]
fn recall_counts_shared_neighbours() {
    let x = integer_rows(200, 20);
    let g = knn_graph_exact(x.view(), 3, Metric::Euclidean).unwrap();
    assert_eq!(g.recall(&g).unwrap(), 1.0);
    let other = knn_graph_exact(x.view(), 4, Metric::Euclidean).unwrap();
    assert!(matches!(g.recall(&other), Err(Error::ShapeMismatch { .. })));
}

#[test]
fn the_gemm_floor_runs_the_block_products() {
    let x = random_rows(EXACT_BLOCK_ROWS + 5, 7, 21);
    // Tiles (0,0), (0,1), (1,1): their first entries are x0·x0, x0·x512 and x512·x512.
    let dot = |i: usize, j: usize| x.row(i).dot(&x.row(j));
    let expected = f64::from(dot(0, 0)) + f64::from(dot(0, 512)) + f64::from(dot(512, 512));
    let got = knn_graph_gemm_floor(x.view()).unwrap();
    assert!((got - expected).abs() <= 1e-4 * expected.abs(), "{got} vs {expected}");
    assert!(knn_graph_gemm_floor(Array2::<f32>::zeros((0, 3)).view()).is_err());
}

#[test]
fn bad_input_is_an_error() {
    let x = random_rows(10, 3, 22);
    for metric in [Metric::Cosine, Metric::Euclidean] {
        for k in [0, 10, 11] {
            let err = knn_graph_exact(x.view(), k, metric).unwrap_err();
            assert!(matches!(err, Error::InvalidNeighborCount { k: kk, available: 9, .. } if kk == k), "{err}");
            let err = knn_graph_nn_descent(x.view(), k, metric, &NnDescentOptions::default()).unwrap_err();
            assert!(matches!(err, Error::InvalidNeighborCount { available: 9, .. }), "{err}");
        }
        let err = knn_query_exact(x.view(), x.view(), 11, metric).unwrap_err();
        assert!(matches!(err, Error::InvalidNeighborCount { k: 11, available: 10, .. }), "{err}");
        assert!(knn_query_exact(x.view(), x.view(), 10, metric).is_ok());

        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut y = x.clone();
            y[[6, 1]] = bad;
            let err = knn_graph_exact(y.view(), 2, metric).unwrap_err();
            assert!(matches!(err, Error::BadRow { row: 6, .. }), "{err}");
            let err = knn_query_exact(x.view(), y.view(), 2, metric).unwrap_err();
            assert!(matches!(err, Error::BadRow { row: 6, .. }), "{err}");
            let err = knn_graph_nn_descent(y.view(), 2, metric, &NnDescentOptions::default()).unwrap_err();
            assert!(matches!(err, Error::BadRow { row: 6, .. }), "{err}");
        }
        let empty = Array2::<f32>::zeros((0, 3));
        assert!(matches!(knn_graph_exact(empty.view(), 1, metric), Err(Error::InvalidArgument { .. })));
        let no_columns = Array2::<f32>::zeros((5, 0));
        assert!(matches!(knn_graph_exact(no_columns.view(), 1, metric), Err(Error::InvalidArgument { .. })));
        let narrow = random_rows(4, 2, 23);
        assert!(matches!(knn_query_exact(x.view(), narrow.view(), 1, metric), Err(Error::ShapeMismatch { .. })));
        assert!(matches!(knn_query_exact(x.view(), empty.view(), 1, metric), Err(Error::InvalidArgument { .. })));
    }
    // A zero row has no direction: an error for cosine, an ordinary point for Euclidean.
    let mut z = x.clone();
    z.row_mut(4).fill(0.0);
    let err = knn_graph_exact(z.view(), 2, Metric::Cosine).unwrap_err();
    assert!(matches!(err, Error::BadRow { row: 4, .. }), "{err}");
    assert!(err.to_string().contains("row 4 is zero"), "{err}");
    assert!(knn_graph_exact(z.view(), 2, Metric::Euclidean).is_ok());
    // A Euclidean row whose squared norm could overflow f32 keys.
    let mut huge = x.clone();
    huge[[2, 0]] = 1e19;
    assert!(matches!(knn_graph_exact(huge.view(), 2, Metric::Euclidean), Err(Error::BadRow { row: 2, .. })));
    assert!(knn_graph_exact(huge.view(), 2, Metric::Cosine).is_ok());
    // NN-descent's own settings.
    let bad_options = [
        NnDescentOptions { pool: Some(2), ..NnDescentOptions::default() },
        NnDescentOptions { sample_rate: 0.0, ..NnDescentOptions::default() },
        NnDescentOptions { sample_rate: 1.5, ..NnDescentOptions::default() },
        NnDescentOptions { delta: f64::NAN, ..NnDescentOptions::default() },
        NnDescentOptions { delta: -1.0, ..NnDescentOptions::default() },
    ];
    for options in bad_options {
        let err = knn_graph_nn_descent(x.view(), 3, Metric::Euclidean, &options).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{options:?}: {err}");
    }
}
