//! `hagcn grads`: names, shapes, and agreement with finite differences of its own loss.

use std::path::Path;
use std::process::Command;

use hagcn_autodiff::{AdamConfig, CpuBackend};
use hagcn_model::{Filter, Machine, MachineConfig, load_checkpoint, save_checkpoint};
use ndarray::{Array0, Array1, Array2};
use ndarray_npy::{NpzReader, write_npy};

fn grads(checkpoint: &Path, batch: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hagcn"))
        .arg("grads")
        .arg("--checkpoint")
        .arg(checkpoint)
        .arg("--batch")
        .arg(batch)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("hagcn runs")
}

fn loss_of(path: &Path) -> f64 {
    let mut npz = NpzReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let loss: Array0<f64> = npz.by_name("loss").unwrap();
    loss[()]
}

#[test]
fn gradients_match_finite_differences_of_the_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = MachineConfig::new(5, 4, Filter::Lanczos);
    config.hidden = 6;
    config.k = 3;
    config.gamma = 0.5;
    let m = Machine::new(CpuBackend::<f32>::new(), config, AdamConfig::default(), 3).unwrap();
    let ck_path = tmp.path().join("ck.npz");
    save_checkpoint(&m, &ck_path, false).unwrap();
    let batch = tmp.path().join("x.npy");
    write_npy(&batch, &Array2::from_shape_fn((7, 5), |(i, j)| ((i * 5 + j) as f64 * 0.37).sin())).unwrap();
    let start = tmp.path().join("v.npy");
    write_npy(&start, &Array1::from_shape_fn(7, |i| 1.0 + i as f32)).unwrap();
    let start_arg = ["--start-vector", start.to_str().unwrap()];

    // Without a start vector the lanczos checkpoint is refused.
    let o = grads(&ck_path, &batch, &tmp.path().join("none.npz"), &[]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--start-vector"));

    let out = tmp.path().join("g.npz");
    let o = grads(&ck_path, &batch, &out, &start_arg);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut npz = NpzReader::new(std::fs::File::open(&out).unwrap()).unwrap();
    let g_w1: Array2<f64> = npz.by_name("w1.weight").unwrap();
    let g_b5: Array1<f64> = npz.by_name("w5.2.bias").unwrap();
    assert_eq!(g_w1.dim(), (6, 5));
    assert_eq!(g_b5.len(), 5);
    assert!(npz.by_name::<ndarray::OwnedRepr<f64>, ndarray::Ix2>("w.weight").is_err(), "lanczos has no filter weight");

    // Central difference on one entry of w1.weight, through the tool's own loss.
    let ck = load_checkpoint(&ck_path).unwrap();
    let eps = 1e-3; // checkpoints are float32, so a small step would drown in rounding
    let loss_at = |delta: f64, name: &str| {
        let mut params = ck.params.clone();
        params[0][[2, 3]] += delta;
        let moved = Machine::from_params(CpuBackend::<f32>::new(), ck.config.clone(), AdamConfig::default(), params, 3)
            .unwrap();
        let p = tmp.path().join(format!("{name}.npz"));
        save_checkpoint(&moved, &p, true).unwrap();
        let o = tmp.path().join(format!("{name}-g.npz"));
        assert!(grads(&p, &batch, &o, &start_arg).status.success());
        // the perturbed weight as actually stored (float32)
        let stored = load_checkpoint(&p).unwrap().params[0][[2, 3]];
        (loss_of(&o), stored)
    };
    let ((plus, wp), (minus, wm)) = (loss_at(eps, "plus"), loss_at(-eps, "minus"));
    let numeric = (plus - minus) / (wp - wm);
    assert!(
        (numeric - g_w1[[2, 3]]).abs() < 1e-4 * (1.0 + numeric.abs()),
        "numeric {numeric} vs analytic {}",
        g_w1[[2, 3]]
    );

    // An existing output is not replaced without --force.
    let o = grads(&ck_path, &batch, &out, &start_arg);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    // A batch of the wrong width is a clear error.
    let wide = tmp.path().join("wide.npy");
    write_npy(&wide, &Array2::<f32>::zeros((3, 9))).unwrap();
    let o = grads(&ck_path, &wide, &tmp.path().join("w.npz"), &start_arg);
    assert!(String::from_utf8_lossy(&o.stderr).contains("expects n×5"));
}
