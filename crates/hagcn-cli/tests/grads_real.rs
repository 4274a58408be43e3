//! `hagcn grads` on real MNIST batches, at the real sizes (d = 784, h = 768, k = 18): its
//! gradients are the library's `record_loss` gradients, which
//! `crates/hagcn-model/tests/real_batches.rs` checks against finite differences for every
//! parameter of every filter. Real batches are the point: their batch graphs have the tiny,
//! tightly clustered eigenvalues that once made the tool's fourier/spline `w1` gradient wrong.

use std::path::Path;
use std::process::Command;

use hagcn_autodiff::{AdamConfig, Backend, CpuBackend, Graph, Var};
use hagcn_model::{
    BatchGraph, Filter, Machine, MachineConfig, load_checkpoint, params::param_specs, record_loss, save_checkpoint,
};
use hagcn_openblas as _;
use ndarray::{Array2, s};
use ndarray_npy::{NpzReader, read_npy, write_npy};

fn mnist_batch() -> Array2<f32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hagcn-model/tests/fixtures/mnist-256.npy");
    let x: Array2<f32> = read_npy(path).unwrap();
    x.slice(s![..128, ..]).to_owned()
}

#[test]
fn tool_gradients_are_the_library_gradients_on_real_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let x = mnist_batch();
    let batch = tmp.path().join("x.npy");
    write_npy(&batch, &x).unwrap();
    for filter in [Filter::Fourier, Filter::Spline, Filter::Gcn] {
        let config = MachineConfig::new(784, 32, filter);
        let mut m = Machine::new(CpuBackend::<f32>::new(), config, AdamConfig { lr: 1e-3, ..AdamConfig::default() }, 5)
            .unwrap();
        for _ in 0..3 {
            m.train_step(x.view()).unwrap();
        }
        let ck_path = tmp.path().join(format!("{filter}.npz"));
        save_checkpoint(&m, &ck_path, false).unwrap();
        let out = tmp.path().join(format!("{filter}-g.npz"));
        let o = Command::new(env!("CARGO_BIN_EXE_hagcn"))
            .args(["grads", "--checkpoint"])
            .arg(&ck_path)
            .arg("--batch")
            .arg(&batch)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

        // The library's gradients of the same checkpoint and batch, in f64.
        let ck = load_checkpoint(&ck_path).unwrap();
        let be = CpuBackend::<f64>::new();
        let mut g = Graph::new(be.clone());
        let xv = g.constant(be.upload(x.mapv(f64::from).view()).unwrap());
        let vars: Vec<Var> = ck.params.iter().map(|p| g.param(be.upload(p.view()).unwrap())).collect();
        let parts = record_loss(&ck.config, &mut g, xv, &vars, &BatchGraph::Similarity, None).unwrap();
        let grads = g.backward(parts.loss).unwrap();
        let mut npz = NpzReader::new(std::fs::File::open(&out).unwrap()).unwrap();
        for (spec, &v) in param_specs(&ck.config).iter().zip(&vars) {
            let want = be.download(grads.get(v).unwrap()).unwrap();
            let got: Vec<f64> = if spec.is_vector {
                npz.by_name::<ndarray::OwnedRepr<f64>, ndarray::Ix1>(spec.name).unwrap().to_vec()
            } else {
                npz.by_name::<ndarray::OwnedRepr<f64>, ndarray::Ix2>(spec.name).unwrap().iter().copied().collect()
            };
            let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let diff = got.iter().zip(want.iter()).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                diff <= 1e-12 * scale.max(1e-30),
                "{filter} {}: tool differs by {diff:e} (scale {scale:e})",
                spec.name
            );
        }
    }
}
