//! Whole-model tests: gradient check of the full loss, training, checkpoints.

use hagcn_autodiff::test_utils::{Tolerance, assert_gradcheck, random_matrix};
use hagcn_autodiff::{AdamConfig, Backend, CpuBackend};
use hagcn_openblas as _;
use ndarray::Array2;

use crate::params::{init_params, param_specs};
use crate::{BatchGraph, Error, Filter, Machine, MachineConfig, load_checkpoint, record_loss, save_checkpoint};

fn small_config() -> MachineConfig {
    let mut c = MachineConfig::new(5, 3, Filter::Gcn);
    c.hidden = 4;
    c.gamma = 0.3; // large enough that the hash term matters in the check
    c
}

#[test]
fn whole_loss_gradcheck_f64_for_every_filter() {
    for &filter in Filter::ALL {
        let mut config = small_config();
        config.filter = filter;
        config.k = 4;
        let specs = param_specs(&config);
        let mut inputs = init_params(&specs, 7);
        // Scale the weights up so every nonlinearity works away from its linear regime.
        for p in &mut inputs {
            p.mapv_inplace(|v| v * 2.0);
        }
        let n_params = inputs.len();
        inputs.push(random_matrix(6, config.in_size, -1.0, 1.0, 8));
        inputs.push(crate::filters::lanczos_start(6, 1, 0));
        assert_gradcheck(
            |g, v| {
                let start = (filter == Filter::Lanczos).then_some(v[n_params + 1]);
                let parts = record_loss(&config, g, v[n_params], &v[..n_params], &BatchGraph::Similarity, start)
                    .map_err(|e| match e {
                        Error::Autodiff(e) => e,
                        other => panic!("{other}"),
                    })?;
                Ok(parts.loss)
            },
            &inputs,
            Tolerance { eps: 1e-6, rtol: 1e-5, atol: 1e-8 },
        );
    }
}

#[test]
fn every_implemented_filter_trains() {
    for &filter in Filter::ALL {
        let mut config = MachineConfig::new(16, 8, filter);
        config.hidden = 32;
        config.k = 4;
        let x = synthetic_batch(24, 16, 1);
        let adam = AdamConfig { lr: 1e-3, ..AdamConfig::default() };
        let mut m = Machine::new(CpuBackend::<f32>::new(), config, adam, 3).unwrap();
        let first = m.train_step(x.view()).unwrap();
        for _ in 0..100 {
            m.train_step(x.view()).unwrap();
        }
        let last = m.loss(x.view()).unwrap();
        assert!(last.loss.is_finite() && last.loss < first.loss, "{filter}: {first:?} → {last:?}");
    }
}

fn synthetic_batch(n: usize, d: usize, seed: u64) -> Array2<f32> {
    random_matrix(n, d, -1.0, 1.0, seed).mapv(|v| v as f32)
}

#[test]
fn training_lowers_the_loss_and_is_reproducible() {
    let mut config = MachineConfig::new(16, 8, Filter::Gcn);
    config.hidden = 32;
    let x = synthetic_batch(24, 16, 1);
    let adam = AdamConfig { lr: 1e-3, ..AdamConfig::default() };
    let run = || {
        let mut m = Machine::new(CpuBackend::<f32>::new(), config.clone(), adam, 3).unwrap();
        let first = m.train_step(x.view()).unwrap();
        for _ in 0..200 {
            m.train_step(x.view()).unwrap();
        }
        (first, m.loss(x.view()).unwrap(), m.hash_logits(x.view()).unwrap())
    };
    let (first, last, logits) = run();
    assert!(last.loss < 0.75 * first.loss, "{first:?} → {last:?}");
    let (first2, last2, logits2) = run();
    assert_eq!((first, last), (first2, last2));
    assert_eq!(logits, logits2);
}

#[test]
fn hash_logits_are_the_affine_map() {
    let mut config = MachineConfig::new(6, 5, Filter::Gcn);
    config.hidden = 4;
    let m = Machine::new(CpuBackend::<f32>::new(), config, AdamConfig::default(), 11).unwrap();
    let x = synthetic_batch(9000, 6, 2); // more rows than one chunk
    let logits = m.hash_logits(x.view()).unwrap();
    let state = m.state_dict().unwrap();
    let w = &state.iter().find(|(n, _)| *n == "w2.weight").unwrap().1;
    let b = &state.iter().find(|(n, _)| *n == "w2.bias").unwrap().1;
    for i in [0, 4095, 4096, 8999] {
        for j in 0..5 {
            let expect: f32 = (0..6).map(|k| x[[i, k]] * w[[j, k]]).sum::<f32>() + b[[0, j]];
            assert!((logits[[i, j]] - expect).abs() < 1e-5);
        }
    }
}

#[test]
fn bad_batches_are_rejected() {
    let mut m = Machine::new(CpuBackend::<f32>::new(), small_config(), AdamConfig::default(), 1).unwrap();
    let err = m.train_step(Array2::zeros((4, 7)).view()).unwrap_err();
    assert!(matches!(err, Error::BatchShape { rows: 4, cols: 7, in_size: 5 }), "{err}");
    let err = m.train_step(Array2::zeros((0, 5)).view()).unwrap_err();
    assert!(matches!(err, Error::BatchShape { rows: 0, .. }), "{err}");
    let mut x = Array2::zeros((3, 5));
    x[[2, 1]] = f32::NAN;
    let err = m.train_step(x.view()).unwrap_err();
    assert!(matches!(err, Error::NonFiniteInput { row: 2, col: 1 }), "{err}");
    assert!(matches!(m.hash_logits(x.view()), Err(Error::NonFiniteInput { .. })));
}

#[test]
fn bad_configs_are_clear_errors() {
    let mut c = small_config();
    c.filter = Filter::Spline;
    c.k = 3;
    let err = Machine::new(CpuBackend::<f32>::new(), c, AdamConfig::default(), 1).err().unwrap();
    assert!(err.to_string().contains("spline filter needs k ≥ 4"), "{err}");
    // fourier with k larger than the batch: a clear error at the step, not a panic
    let mut c = small_config();
    c.filter = Filter::Fourier;
    c.k = 8;
    let mut m = Machine::new(CpuBackend::<f32>::new(), c, AdamConfig::default(), 1).unwrap();
    let err = m.train_step(synthetic_batch(5, 5, 1).view()).unwrap_err();
    assert!(matches!(err, Error::KTooLarge { k: 8, rows: 5 }), "{err}");
    let mut c = small_config();
    c.bits = 0;
    assert!(matches!(Machine::new(CpuBackend::<f32>::new(), c, AdamConfig::default(), 1), Err(Error::Config(_))));
    assert_eq!("gcn".parse::<Filter>().unwrap(), Filter::Gcn);
    // names are exact, as in config files: a wrong one lists the right ones
    let err = "GCN".parse::<Filter>().unwrap_err().to_string();
    assert!(err.contains("`gcn`, `fourier`, `spline`, `cheby`, `lanczos`"), "{err}");
}

#[test]
fn every_filter_round_trips_through_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let x = synthetic_batch(6, 5, 4);
    for &filter in Filter::ALL {
        let mut config = small_config();
        config.filter = filter;
        config.k = 4;
        let mut m = Machine::new(CpuBackend::<f32>::new(), config, AdamConfig::default(), 5).unwrap();
        m.train_step(x.view()).unwrap();
        let path = dir.path().join(format!("{filter}.npz"));
        save_checkpoint(&m, &path, false).unwrap();
        let ck = load_checkpoint(&path).unwrap();
        assert_eq!(ck.config.filter, filter);
        let restored =
            Machine::from_params(CpuBackend::<f32>::new(), ck.config, AdamConfig::default(), ck.params, 5).unwrap();
        assert_eq!(restored.state_dict().unwrap(), m.state_dict().unwrap(), "{filter}");
        assert_eq!(restored.hash_logits(x.view()).unwrap(), m.hash_logits(x.view()).unwrap());
    }
}

#[test]
fn checkpoint_round_trips_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt.npz");
    let mut m = Machine::new(CpuBackend::<f32>::new(), small_config(), AdamConfig::default(), 5).unwrap();
    m.train_step(synthetic_batch(4, 5, 3).view()).unwrap();
    save_checkpoint(&m, &path, false).unwrap();
    let ck = load_checkpoint(&path).unwrap();
    assert_eq!(ck.config, *m.config());
    assert_eq!(ck.steps, 1);
    let restored =
        Machine::from_params(CpuBackend::<f32>::new(), ck.config, AdamConfig::default(), ck.params, 5).unwrap();
    assert_eq!(restored.state_dict().unwrap(), m.state_dict().unwrap());
    // biases are 1-D in the file, as in PyTorch
    let mut npz = ndarray_npy::NpzReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    let bias: ndarray::Array1<f32> = npz.by_name("w1.bias").unwrap();
    assert_eq!(bias.len(), 4);
    // no temporary file is left behind, and an existing file is not overwritten silently
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let err = save_checkpoint(&m, &path, false).unwrap_err();
    assert!(err.to_string().contains("refusing to overwrite"), "{err}");
    save_checkpoint(&m, &path, true).unwrap();
}

#[test]
fn corrupt_checkpoints_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.npz");
    let err = load_checkpoint(&missing).unwrap_err();
    assert!(err.to_string().contains("nope.npz") && err.to_string().contains("cannot open"), "{err}");
    let junk = dir.path().join("junk.npz");
    std::fs::write(&junk, b"not a zip").unwrap();
    let err = load_checkpoint(&junk).unwrap_err();
    assert!(err.to_string().contains("not a valid .npz"), "{err}");
    // a valid checkpoint truncated halfway
    let good = dir.path().join("good.npz");
    let m = Machine::new(CpuBackend::<f32>::new(), small_config(), AdamConfig::default(), 5).unwrap();
    save_checkpoint(&m, &good, false).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.npz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert!(load_checkpoint(&cut).is_err());
    // an npz without the config entry
    let plain = dir.path().join("plain.npz");
    let mut w = ndarray_npy::NpzWriter::new(std::fs::File::create(&plain).unwrap());
    w.add_array("w1.weight", &Array2::<f32>::zeros((2, 2))).unwrap();
    w.finish().unwrap();
    let err = load_checkpoint(&plain).unwrap_err();
    assert!(err.to_string().contains("not a hagcn checkpoint"), "{err}");
}

fn knn_config(filter: Filter) -> MachineConfig {
    let mut c = small_config();
    c.filter = filter;
    c.k = 4;
    c.objective = crate::Objective::Knn;
    c.knn = 2;
    c.gamma = 0.7;
    c.regularization = 0.4;
    c
}

/// Gradient check of the whole knn objective in f64 for every filter and every ablation: the
/// batch graph and target are constants of the batch, computed once outside the check.
#[test]
fn knn_objective_gradcheck_f64_for_every_filter_and_ablation() {
    let mut cases: Vec<MachineConfig> = Filter::ALL.iter().map(|&f| knn_config(f)).collect();
    // The propagation ablations act on the rows before the differentiable graph, not in it.
    let in_graph = crate::Ablation::ALL
        .iter()
        .filter(|a| !matches!(a, crate::Ablation::NoPropagation | crate::Ablation::EncodeWithoutNeighbours));
    for &a in in_graph {
        let mut c = knn_config(Filter::Gcn);
        c.ablate = vec![a];
        cases.push(c);
    }
    for config in cases {
        let specs = param_specs(&config);
        let mut inputs = init_params(&specs, 7);
        for p in &mut inputs {
            p.mapv_inplace(|v| v * 2.0);
        }
        let n_params = inputs.len();
        let x = random_matrix(7, config.in_size, -1.0, 1.0, 8);
        let batch = BatchGraph::new(&config, x.view()).unwrap();
        inputs.push(x);
        inputs.push(crate::filters::lanczos_start(7, 1, 0));
        assert_gradcheck(
            |g, v| {
                let start = (config.filter == Filter::Lanczos).then_some(v[n_params + 1]);
                let parts =
                    record_loss(&config, g, v[n_params], &v[..n_params], &batch, start).map_err(|e| match e {
                        Error::Autodiff(e) => e,
                        other => panic!("{other}"),
                    })?;
                Ok(parts.loss)
            },
            &inputs,
            Tolerance { eps: 1e-6, rtol: 1e-5, atol: 1e-8 },
        );
    }
}

#[test]
fn knn_loss_terms_match_a_direct_computation() {
    // One batch, every term recomputed from the parameters with plain ndarray code.
    let config = knn_config(Filter::Gcn);
    let specs = param_specs(&config);
    let values = init_params(&specs, 3);
    let x = random_matrix(7, config.in_size, -1.0, 1.0, 4);
    let batch = BatchGraph::new(&config, x.view()).unwrap();
    let mut g = hagcn_autodiff::Graph::new(CpuBackend::<f64>::new());
    let vars: Vec<_> = values.iter().map(|v| g.constant(g.backend().upload(v.view()).unwrap())).collect();
    let xv = g.constant(g.backend().upload(x.view()).unwrap());
    let parts = record_loss(&config, &mut g, xv, &vars, &batch, None).unwrap();
    let BatchGraph::Knn(batch) = batch else { panic!("a knn batch graph") };
    let get = |name: &str| &values[specs.iter().position(|s| s.name == name).unwrap()];
    let gelu = |v: f64| 0.5 * v * (1.0 + libm::erf(v / std::f64::consts::SQRT_2));
    let z = (x.dot(&get("w1.weight").t()) + get("w1.bias")).mapv(gelu);
    let c = (z.dot(&get("w2.weight").t()) + get("w2.bias")).mapv(|v| 2.0 / (1.0 + (-v).exp()) - 1.0);
    let (n, b) = (7.0, config.bits as f64);
    let hash = ((c.dot(&c.t()) / b) - &batch.target).mapv(|v| v * v).mean().unwrap();
    let col_mean = c.mean_axis(ndarray::Axis(0)).unwrap();
    let balance = col_mean.mapv(|v| v * v).mean().unwrap();
    let decorrelation = ((c.t().dot(&c) / n) - Array2::<f64>::eye(config.bits)).mapv(|v| v * v).mean().unwrap();
    assert!((g.scalar(parts.hash).unwrap() - hash).abs() < 1e-12);
    assert!((g.scalar(parts.regularization).unwrap() - (balance + decorrelation)).abs() < 1e-12);
    let recon = g.scalar(parts.reconstruction).unwrap();
    let total = recon + config.gamma * (hash + config.regularization * (balance + decorrelation));
    assert!((g.scalar(parts.loss).unwrap() - total).abs() < 1e-12);
    // the target is the kNN graph with self-loops: ones on the diagonal, symmetric, 0/1
    assert!(batch.target.diag().iter().all(|&v| v == 1.0));
    assert_eq!(batch.target, batch.target.t());
    assert!(batch.target.iter().all(|&v| v == 0.0 || v == 1.0));
}

#[test]
fn knn_model_centres_by_the_fitted_mean_and_trains() {
    let mut config = MachineConfig::new(16, 8, Filter::Gcn);
    config.hidden = 32;
    config.objective = crate::Objective::Knn;
    config.knn = 3;
    config.gamma = 1.0;
    let x = synthetic_batch(24, 16, 1).mapv(|v| v + 5.0); // far from zero mean
    let adam = AdamConfig { lr: 1e-3, ..AdamConfig::default() };
    let mut m = Machine::new(CpuBackend::<f32>::new(), config.clone(), adam, 3).unwrap();
    assert!(matches!(m.train_step(x.view()), Err(Error::InputsNotFitted)));
    assert!(matches!(m.hash_logits(x.view()), Err(Error::InputsNotFitted)));
    m.fit_inputs(x.view()).unwrap();
    let first = m.train_step(x.view()).unwrap();
    for _ in 0..100 {
        m.train_step(x.view()).unwrap();
    }
    let last = m.loss(x.view()).unwrap();
    assert!(last.loss < first.loss, "{first:?} → {last:?}");
    // codes are GELU(x̄ W1ᵀ + b1) W2ᵀ + b2 with x̄ = x − mean
    let logits = m.hash_logits(x.view()).unwrap();
    let state = m.state_dict().unwrap();
    let get = |name: &str| state.iter().find(|(n, _)| *n == name).unwrap().1.mapv(f64::from);
    let mean = get("input_mean");
    let xc = x.mapv(f64::from) - &mean;
    let gelu = |v: f64| 0.5 * v * (1.0 + libm::erf(v / std::f64::consts::SQRT_2));
    let z = (xc.dot(&get("w1.weight").t()) + get("w1.bias")).mapv(gelu);
    let expect = z.dot(&get("w2.weight").t()) + get("w2.bias");
    assert_eq!(get("w2.weight").dim(), (8, 32));
    assert!(logits.iter().zip(&expect).all(|(a, b)| (*a as f64 - b).abs() < 1e-4));
    // the stored mean is the column mean, and survives a checkpoint
    assert!((mean[[0, 0]] - x.column(0).iter().map(|&v| v as f64).sum::<f64>() / 24.0).abs() < 1e-6);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("knn.npz");
    save_checkpoint(&m, &path, false).unwrap();
    let ck = load_checkpoint(&path).unwrap();
    assert_eq!(ck.config, config);
    let back = Machine::from_params(CpuBackend::<f32>::new(), ck.config, adam, ck.params, 3).unwrap();
    assert_eq!(back.hash_logits(x.view()).unwrap(), logits);
}

/// A small knn model with the neighbourhood filter (12 anchors, 2 hops), `code_hops` steps of
/// the logits' propagation and the ITQ read-out.
fn neighbourhood_config(code_hops: usize) -> MachineConfig {
    let mut config = MachineConfig::new(10, 8, Filter::Gcn);
    config.hidden = 16;
    config.objective = crate::Objective::Knn;
    config.knn = 3;
    config.gamma = 1.0;
    config.anchors = 12;
    config.hops = 2;
    config.code_hops = code_hops;
    config.readout = crate::Readout::Itq;
    config
}

/// By hand from a model's parameters (`get` by name, in f64): its neighbourhood filter, the
/// centred rows `x̄` and the network's logits `GELU(F(x̄) W1ᵀ + b1) W2ᵀ + b2`, before any read-out.
fn network_logits_by_hand(
    get: impl Fn(&str) -> Array2<f64>,
    x: &Array2<f32>,
) -> (crate::neighbourhood::Neighbourhood, Array2<f64>, Array2<f64>) {
    let centred = x.mapv(f64::from) - get("input_mean");
    let filter = crate::neighbourhood::Neighbourhood::from_parts(
        get("neighbourhood.anchors"),
        get("neighbourhood.features"),
        3,
        get("neighbourhood.bandwidth")[[0, 0]],
        get("neighbourhood.scale")[[0, 0]],
    )
    .unwrap();
    let gelu = |v: f64| 0.5 * v * (1.0 + libm::erf(v / std::f64::consts::SQRT_2));
    let hidden = (filter.propagate(centred.view()).dot(&get("w1.weight").t()) + get("w1.bias")).mapv(gelu);
    let logits = hidden.dot(&get("w2.weight").t()) + get("w2.bias");
    (filter, centred, logits)
}

/// The neighbourhood filter and the ITQ read-out: fitted on the training rows, the codes
/// are the read-out of the network's logits on the propagated rows, and a checkpoint
/// reproduces them bit for bit.
#[test]
fn a_model_with_the_neighbourhood_filter_and_itq_readout_trains_and_round_trips() {
    let config = neighbourhood_config(0);
    let x = synthetic_batch(60, 10, 7);
    let adam = AdamConfig { lr: 1e-3, ..AdamConfig::default() };
    let mut m = Machine::new(CpuBackend::<f32>::new(), config.clone(), adam, 5).unwrap();
    assert!(matches!(m.train_step(x.view()), Err(Error::InputsNotFitted)));
    m.fit_inputs(x.view()).unwrap();
    m.train_step(x.view()).unwrap();
    assert!(matches!(m.hash_logits(x.view()), Err(Error::InputsNotFitted)), "the read-out is not fitted yet");
    m.fit_readout(x.view()).unwrap();
    let logits = m.hash_logits(x.view()).unwrap();
    // by hand: centre, propagate, network, then (L − μ) R
    let state = m.state_dict().unwrap();
    let get = |name: &str| state.iter().find(|(n, _)| *n == name).unwrap().1.mapv(f64::from);
    let (_, _, l) = network_logits_by_hand(get, &x);
    let expect = (l - get("readout.mean")).dot(&get("readout.rotation"));
    assert!(logits.iter().zip(&expect).all(|(a, b)| (*a as f64 - b).abs() < 1e-4));
    let r = get("readout.rotation");
    assert!((r.t().dot(&r) - Array2::<f64>::eye(8)).iter().all(|v| v.abs() < 1e-5), "a rotation");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nbr.npz");
    save_checkpoint(&m, &path, false).unwrap();
    let ck = load_checkpoint(&path).unwrap();
    assert_eq!(ck.config, config);
    let back = Machine::from_params(CpuBackend::<f32>::new(), ck.config, adam, ck.params, 5).unwrap();
    assert_eq!(back.hash_logits(x.view()).unwrap(), logits, "a checkpoint encodes bit for bit");
    // encoding without neighbours differs (the ablation does something)
    let mut ablated = config.clone();
    ablated.ablate = vec![crate::Ablation::EncodeWithoutNeighbours];
    let ck = load_checkpoint(&path).unwrap();
    let ab = Machine::from_params(CpuBackend::<f32>::new(), ablated, adam, ck.params, 5).unwrap();
    assert_ne!(ab.hash_logits(x.view()).unwrap(), logits);
}

/// `code_hops = q`: a point's logits are its anchors' `q`-step walk average of the training
/// rows' network logits, `z(x) M^{q-1} Λ^{-1} Zᵀ L`, i.e. `A^q L` for the training rows; the
/// ITQ read-out is fitted on those, and a checkpoint reproduces the codes bit for bit.
#[test]
fn a_model_that_propagates_its_logits_reads_them_off_its_anchors_and_round_trips() {
    let config = neighbourhood_config(2);
    let x = synthetic_batch(60, 10, 8);
    let adam = AdamConfig { lr: 1e-3, ..AdamConfig::default() };
    let mut m = Machine::new(CpuBackend::<f32>::new(), config.clone(), adam, 5).unwrap();
    m.fit_inputs(x.view()).unwrap();
    m.train_step(x.view()).unwrap();
    assert!(matches!(m.hash_logits(x.view()), Err(Error::InputsNotFitted)), "not fitted yet");
    m.fit_readout(x.view()).unwrap();
    let logits = m.hash_logits(x.view()).unwrap();
    // by hand: the network's logits L of the training rows, A² L with dense matrices, then ITQ
    let state = m.state_dict().unwrap();
    let get = |name: &str| state.iter().find(|(n, _)| *n == name).unwrap().1.mapv(f64::from);
    let (filter, centred, l) = network_logits_by_hand(get, &x);
    let anchors = hagcn_eval::Anchors::from_parts(get("neighbourhood.anchors"), 3, filter.bandwidth()).unwrap();
    let z = anchors.weights(centred.view()).dense(12);
    let lambda: Vec<f64> = (0..12).map(|j| z.column(j).sum()).collect();
    let inv = |j: usize| if lambda[j] > 0.0 { 1.0 / lambda[j] } else { 0.0 };
    let a = z.dot(&Array2::from_shape_fn((12, 60), |(j, i)| z[[i, j]] * inv(j)));
    let walked = a.dot(&a.dot(&l));
    let mean = walked.mean_axis(ndarray::Axis(0)).unwrap();
    assert!(mean.iter().zip(get("readout.mean").iter()).all(|(a, b)| (a - b).abs() < 1e-4), "ITQ of A² L");
    let expect = (walked - get("readout.mean")).dot(&get("readout.rotation"));
    let worst = logits.iter().zip(&expect).map(|(a, b)| (*a as f64 - b).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-4, "off by {worst}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cp.npz");
    save_checkpoint(&m, &path, false).unwrap();
    let ck = load_checkpoint(&path).unwrap();
    assert_eq!(ck.config, config);
    let back = Machine::from_params(CpuBackend::<f32>::new(), ck.config, adam, ck.params, 5).unwrap();
    assert_eq!(back.hash_logits(x.view()).unwrap(), logits, "a checkpoint encodes bit for bit");
    // the ablation reads the network's own logits: different codes, the parameters otherwise alike
    let mut ablated = config.clone();
    ablated.ablate = vec![crate::Ablation::NoCodePropagation];
    let mut ab = Machine::new(CpuBackend::<f32>::new(), ablated, adam, 5).unwrap();
    ab.fit_inputs(x.view()).unwrap();
    ab.train_step(x.view()).unwrap();
    ab.fit_readout(x.view()).unwrap();
    assert_ne!(ab.hash_logits(x.view()).unwrap(), logits);
}

#[test]
fn code_propagation_needs_the_neighbourhood_filter() {
    let mut c = knn_config(Filter::Gcn);
    c.code_hops = 2;
    assert!(c.validate().unwrap_err().to_string().contains("code_hops needs the neighbourhood filter"));
    c.code_hops = 0;
    c.anchors = 10;
    c.ablate = vec![crate::Ablation::NoCodePropagation];
    assert!(c.validate().unwrap_err().to_string().contains("needs code_hops > 0"));
}

#[test]
fn knn_batch_too_small_is_a_clear_error() {
    let mut config = knn_config(Filter::Gcn);
    config.knn = 5;
    let mut m = Machine::new(CpuBackend::<f32>::new(), config, AdamConfig::default(), 1).unwrap();
    let x = synthetic_batch(5, 5, 1);
    m.fit_inputs(x.view()).unwrap();
    let err = m.train_step(x.view()).unwrap_err().to_string();
    assert!(err.contains("knn = 5 for a batch of 5 rows"), "{err}");
}

#[test]
fn faithful_configs_reject_ablations() {
    let mut c = small_config();
    c.ablate = vec![crate::Ablation::ConstantGraph];
    assert!(c.validate().unwrap_err().to_string().contains("knn objective only"));
}
